/**
 * `assetbridge rules`: see what the configured rules would do.
 *
 * - `rules test --events events.jsonl` runs a stream of canonical JSON events (one per line, the
 *   HTTP intake's format) through validation, identity and the rules, starting from the stored
 *   state (or empty with `--fresh`), and prints the deliveries each event would produce. Nothing is
 *   stored or sent. Events still held for the allowed lateness at the end of the input are decided
 *   then (`--no-flush` shows only what the engine would have decided by that point).
 * - `rules list` prints the compiled rules.
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { buildRules, configuredAssets } from '../../app.js';
import { defaultDestinationOf, type Config } from '../../config/schema.js';
import type { RulesConfig } from '../../config/rules-schema.js';
import { UsageError } from '../../core/errors/errors.js';
import { IdentityIndex } from '../../core/identity/resolver.js';
import type { AssetRecord } from '../../core/model/assets.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import type { CanonicalEvent } from '../../core/model/events.js';
import { createCanonicalDecoder } from '../../core/normalize/canonical-decoder.js';
import { validateEvent } from '../../core/normalize/validate.js';
import { flushRules, simulateRules, type StateDoc } from '../../core/rules/simulate.js';
import type { AssetFilter } from '../../core/rules/maintenance/types.js';
import type { Rule } from '../../core/rules/rule.js';
import type { AssetWithIdentifiers, Store } from '../../ports/store.js';
import { action, addConfigOption, table, withContext } from '../context.js';

/** The compiled `rules` section (the root schema embeds config/rules-schema.ts). */
export function rulesConfigOf(config: Config): RulesConfig {
  return (config as unknown as { rules: RulesConfig }).rules;
}

export interface RulesTestInput {
  /** JSONL text: one canonical event (or an array of them) per line; blank lines and `#` comments skipped. */
  readonly text: string;
  readonly rules: readonly Rule[];
  readonly assets: readonly AssetWithIdentifiers[];
  readonly defaultDestination: string;
  /** Stored state documents by asset, to start from; empty for `--fresh`. */
  readonly states: ReadonlyMap<string, StateDoc>;
  /** Decide on events still held for the allowed lateness at the end. @default true */
  readonly flush?: boolean;
  /** Processing time for validation and rules. @default now */
  readonly now?: number;
}

export interface RulesTestLine {
  readonly line: number;
  readonly accepted: boolean;
  readonly reason?: string;
  readonly events: readonly { kind: string; erpAssetId: string; eventTime: string }[];
  readonly deliveries: readonly DeliveryIntent[];
  /** Rules that dropped an event of this line as late (older than `rules.allowedLateness` allows). */
  readonly late?: readonly string[];
}

export interface RulesTestReport {
  readonly lines: readonly RulesTestLine[];
  /** Deliveries decided at the end of the input (events that were held for the allowed lateness). */
  readonly flushed: readonly DeliveryIntent[];
  /** Deliveries by operation and kind. */
  readonly totals: Readonly<Record<string, number>>;
}

/** Run a JSONL event stream through the rules without storing or sending anything. */
export function runRulesTest(input: RulesTestInput): RulesTestReport {
  const now = input.now ?? Date.now();
  const identity = new IdentityIndex(input.assets);
  const decode = createCanonicalDecoder();
  const policy = { maxFutureSkewMs: Number.POSITIVE_INFINITY, maxAgeMs: 0 };
  const lines: RulesTestLine[] = [];
  let states = new Map(input.states);
  const seen = new Map<string, { asset: AssetRecord; destination: string }>();

  input.text.split(/\r?\n/).forEach((raw, i) => {
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) return;
    const decoded = decode({ source: 'cli', channel: 'rules-test', payload: text, receivedAt: now });
    if (!decoded.ok) return void lines.push({ line: i + 1, accepted: false, reason: decoded.reason, events: [], deliveries: [] });
    const steps: { event: CanonicalEvent; asset: AssetRecord; destination: string }[] = [];
    for (const event of decoded.events) {
      const v = validateEvent(event, now, policy);
      if (!v.ok) return void lines.push({ line: i + 1, accepted: false, reason: v.reason, events: [], deliveries: [] });
      const r = identity.resolve(event.ids);
      if (!r.ok) return void lines.push({ line: i + 1, accepted: false, reason: r.reason, events: [], deliveries: [] });
      const destination = r.asset.destination ?? input.defaultDestination;
      steps.push({ event, asset: r.asset, destination });
      seen.set(r.asset.erpAssetId, { asset: r.asset, destination });
    }
    const result = simulateRules(input.rules, steps, { initial: states, now });
    states = result.states;
    lines.push({
      line: i + 1,
      accepted: true,
      events: steps.map((s) => ({ kind: s.event.kind, erpAssetId: s.asset.erpAssetId, eventTime: new Date(s.event.eventTime).toISOString() })),
      deliveries: result.perStep.flat(),
      ...(result.lateByStep.some((l) => l.length > 0) ? { late: [...new Set(result.lateByStep.flat())] } : {}),
    });
  });
  const flushed = input.flush === false ? [] : flushRules(input.rules, new Map([...states].filter(([id]) => seen.has(id))), seen, now).deliveries;
  const totals: Record<string, number> = {};
  for (const d of [...lines.flatMap((l) => l.deliveries), ...flushed]) totals[`${d.operation} (${d.kind})`] = (totals[`${d.operation} (${d.kind})`] ?? 0) + 1;
  return { lines, flushed, totals };
}

/** An asset filter in words, for `rules list`. */
function describeFilter(f: AssetFilter): string {
  const parts = [...(f.erpModules ? [`erpModule ${f.erpModules.join(' or ')}`] : []), ...Object.entries(f.attributes ?? {}).map(([k, v]) => `${k} ${v.join(' or ')}`)];
  return `only ${parts.join(', ') || 'all assets'}`;
}

/** A payload value as text: strings and numbers as they are, anything else as JSON. */
const txt = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v) ?? '');

/** One line per delivery: operation, destination, business key and the essentials of the payload. */
export function describeDelivery(d: DeliveryIntent): string {
  const p = d.payload;
  const detail =
    d.operation === 'location.update'
      ? `location ${txt(p.warehouseLocation ?? '(none)')} at ${JSON.stringify(p.coordinates)}`
      : d.operation === 'workorder.create'
        ? `${txt(p.priority)} "${txt(p.title)}"${p.plannedStart ? ` planned ${txt(p.plannedStart)}` : ''}`
        : d.operation === 'inventory.count'
          ? `${txt(p.location)} ${txt(p.sku)} = ${txt(p.countedQuantity)} (${Number(p.delta) >= 0 ? '+' : ''}${txt(p.delta)})`
          : d.operation === 'usage.post'
            ? `${txt(p.period)}: ${txt(p.periodUnits)} ${txt(p.unit)}`
            : JSON.stringify(p).slice(0, 120);
  return `${d.operation} → ${d.destination} [${d.kind}] ${d.businessKey}: ${detail}`;
}

export function formatRulesTest(report: RulesTestReport): string {
  const out: string[] = [];
  for (const l of report.lines) {
    if (!l.accepted) {
      out.push(`line ${l.line}: rejected: ${l.reason ?? ''}`);
      continue;
    }
    const e = l.events.map((x) => `${x.kind} ${x.erpAssetId} @ ${x.eventTime}`).join(', ');
    out.push(`line ${l.line}: ${e}${l.deliveries.length ? '' : ' (no deliveries)'}`);
    if (l.late) out.push(`  late: dropped by ${l.late.join(', ')} (older than what it already decided on; rules.allowedLateness)`);
    for (const d of l.deliveries) out.push(`  ${describeDelivery(d)}`);
  }
  if (report.flushed.length) {
    out.push('', 'decided at the end of the input (events held for the allowed lateness):');
    for (const d of report.flushed) out.push(`  ${describeDelivery(d)}`);
  }
  const totals = Object.entries(report.totals);
  out.push('', totals.length ? `would deliver: ${totals.map(([k, n]) => `${n} × ${k}`).join(', ')}` : 'would deliver nothing', 'nothing was stored or sent');
  return `${out.join('\n')}\n`;
}

/** Assets from the store and from the config (which may not have been imported yet). */
async function allAssets(config: Config, store: Store): Promise<AssetWithIdentifiers[]> {
  const byId = new Map((await store.listAssets()).map((a) => [a.asset.erpAssetId, a]));
  for (const a of configuredAssets(config)) if (!byId.has(a.asset.erpAssetId)) byId.set(a.asset.erpAssetId, a);
  return [...byId.values()];
}

/** The compiled rules, as rows for `rules list`. */
export function describeRules(rules: RulesConfig): (string | number)[][] {
  const rows: (string | number)[][] = [['RULE', 'TYPE', 'CONDITION', 'ACTION']];
  if (rules.location.enabled) rows.push(['location', 'location sync', `moved > ${rules.location.minDistanceM} m, zone change, or every ${rules.location.heartbeatMs / 1000} s${rules.location.appliesTo ? ` (${describeFilter(rules.location.appliesTo)})` : ''}`, 'location.update']);
  if (rules.zones) rows.push(['zones', 'zones', `${rules.zones.zones.length} zone(s), enter after ${rules.zones.enterDwellMs / 1000} s, leave after ${rules.zones.exitDwellMs / 1000} s beyond ${rules.zones.hysteresisM} m`, 'location code']);
  for (const t of rules.maintenance?.thresholds ?? []) {
    const clear = t.clearAt !== t.threshold ? `, clears ${t.direction === 'above' ? 'below' : 'above'} ${t.clearAt}` : '';
    rows.push([t.name, 'threshold', `${t.sensor} ${t.direction} ${t.threshold} for ${t.durationMs / 1000} s${clear}, cooldown ${t.cooldownMs / 1000} s`, `workorder.create ${t.severity === 'critical' ? 'HIGH' : 'MEDIUM'}`]);
  }
  for (const s of rules.maintenance?.serviceIntervals ?? []) rows.push([s.name, 'service interval', `every ${s.everyHours} h${s.dueSoonHours ? `, ${s.dueSoonHours} h ahead` : ''}`, `workorder.create ${s.severity === 'critical' ? 'HIGH' : 'MEDIUM'}`]);
  if (rules.inventory) rows.push(['inventory', 'inventory', `items with "${rules.inventory.skuAttribute}", seen within ${rules.inventory.freshness / 3_600_000} h`, 'inventory.count']);
  if (rules.depreciation) rows.push(['depreciation', 'usage per period', `${rules.depreciation.periods === 'monthly' ? 'monthly' : 'custom'} periods in ${rules.depreciation.timeZone}, posted ${rules.depreciation.postAfter / 3_600_000} h after period end`, 'usage.post']);
  return rows;
}

export function registerRulesCommand(program: Command): Command {
  const rules = program.command('rules').description('see what the configured rules would do: dry runs and the compiled rule list');

  addConfigOption(
    rules
      .command('test')
      .description('run events through the rules and show the deliveries they would produce; stores and sends nothing')
      .requiredOption('--events <file>', 'JSONL file: one canonical event per line, e.g. {"kind":"sensor","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","values":{"coolantTemp":{"value":97}}}')
      .option('--fresh', 'start from empty rule state instead of the stored state')
      .option('--no-flush', 'do not decide on events still held for the allowed lateness at the end of the input')
      .option('--json', 'print JSON'),
  ).action(
    action(async (opts: { config: string; events: string; fresh?: boolean; flush: boolean; json?: boolean }) => {
      let text: string;
      try {
        text = readFileSync(opts.events, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${opts.events}: ${(err as Error).message}`);
      }
      await withContext(opts.config, async ({ config, store }) => {
        const assets = await allAssets(config, store);
        const states = opts.fresh ? new Map<string, StateDoc>() : await store.loadStates(assets.map((a) => a.asset.erpAssetId));
        const defaultDestination = defaultDestinationOf(config);
        const report = runRulesTest({ text, rules: buildRules(config), assets, defaultDestination, states, flush: opts.flush });
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatRulesTest(report));
      });
    }),
  );

  addConfigOption(rules.command('list').description('list the configured rules as compiled from the config').option('--json', 'print JSON')).action(
    action(async (opts: { config: string; json?: boolean }) => {
      await withContext(opts.config, ({ config }) => {
        const r = rulesConfigOf(config);
        process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : table(describeRules(r)));
        return Promise.resolve();
      });
    }),
  );
  return rules;
}
