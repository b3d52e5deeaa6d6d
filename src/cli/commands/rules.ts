/**
 * `assetbridge rules`: see what the configured rules would do.
 *
 * - `rules test --events events.jsonl` runs a stream of canonical JSON events (one per line, the
 *   HTTP intake's format; a directory of such files, such as the event capture's, is read in name
 *   order) through validation, identity and the rules, starting from the stored
 *   state (or empty with `--fresh`), and prints the deliveries each event would produce. Nothing is
 *   stored or sent. Events still held for the allowed lateness at the end of the input are decided
 *   then (`--no-flush` shows only what the engine would have decided by that point). The file is
 *   read as a stream, with progress on stderr; `--brief` keeps only the lines that matter.
 * - `rules list` prints the compiled rules.
 * @module
 */
import { createReadStream, existsSync, readdirSync, statSync, type ReadStream } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { buildRules, configuredAssets } from '../../app.js';
import { defaultDestinationOf, type Config } from '../../config/schema.js';
import type { RulesConfig } from '../../config/rules-schema.js';
import { ConfigError, UsageError } from '../../core/errors/errors.js';
import { IdentityIndex } from '../../core/identity/resolver.js';
import type { AssetRecord } from '../../core/model/assets.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import { createCanonicalDecoder } from '../../core/normalize/canonical-decoder.js';
import { validateEvent } from '../../core/normalize/validate.js';
import { flushRules, simulateRules, type SimulationStep, type StateDoc } from '../../core/rules/simulate.js';
import { compareTallies, differingFields, emptyTally, stableJson, tallyDeliveries, type DeliveryComparison } from '../../core/rules/compare.js';
import { heldEvents, stateChanges } from '../../core/rules/trace.js';
import type { AssetFilter } from '../../core/rules/maintenance/types.js';
import type { Rule } from '../../core/rules/rule.js';
import type { AssetWithIdentifiers, Store } from '../../ports/store.js';
import { action, addConfigOption, resolveConfig, table, withContext, toJson } from '../context.js';

/** The compiled `rules` section (the root schema embeds config/rules-schema.ts). */
export function rulesConfigOf(config: Config): RulesConfig {
  return (config as unknown as { rules: RulesConfig }).rules;
}

/** In a stream of lines: the lines after it are those of this file (numbered from 1 again). */
export interface FileStart {
  readonly file: string;
}

export interface RulesTestInput {
  /**
   * JSONL lines: one canonical event (or an array of them) per line; blank lines and `#` comments
   * skipped. Several files in one stream are told apart by a {@link FileStart} before each.
   */
  readonly lines: Iterable<string | FileStart> | AsyncIterable<string | FileStart>;
  readonly rules: readonly Rule[];
  readonly assets: readonly AssetWithIdentifiers[];
  readonly defaultDestination: string;
  /** Stored state documents by asset, to start from; empty for `--fresh`. */
  readonly states: ReadonlyMap<string, StateDoc>;
  /** Decide on events still held for the allowed lateness at the end. @default true */
  readonly flush?: boolean;
  /** Processing time for validation and rules. @default now */
  readonly now?: number;
  /**
   * Keep only the lines that deliver, were rejected or had an event dropped as late (`--brief`);
   * the others are counted. For long inputs, whose quiet lines would fill memory and the screen.
   */
  readonly brief?: boolean;
  /** Called after each chunk of lines is decided, with the number of input lines read so far. */
  readonly onProgress?: (linesRead: number) => void;
  /**
   * A second rule set (`--compare`): the same events, assets and starting state run through it as
   * well, and the report says how its deliveries differ from those of `rules`.
   */
  readonly compare?: readonly Rule[];
  /** An asset (ERP id or any of its identifiers) whose rule state changes each line shows (`--trace`). */
  readonly trace?: string;
}

export interface RulesTestLine {
  readonly line: number;
  /** The file the line is in, when the input is several files. */
  readonly file?: string;
  readonly accepted: boolean;
  readonly reason?: string;
  readonly events: readonly { kind: string; erpAssetId: string; eventTime: string }[];
  readonly deliveries: readonly DeliveryIntent[];
  /** Rules that dropped an event of this line as late (older than `rules.allowedLateness` allows). */
  readonly late?: readonly string[];
  /** With `--trace`: what the line's events changed in the traced asset's rule state, and what its rules hold. */
  readonly trace?: readonly string[];
}

export interface RulesTestReport {
  /** Every event line, or with `brief` only those that deliver, were rejected or were late. */
  readonly lines: readonly RulesTestLine[];
  /** Deliveries decided at the end of the input (events held for the allowed lateness; zone dwell under way, as for a silent asset). */
  readonly flushed: readonly DeliveryIntent[];
  /** Deliveries by operation and kind. */
  readonly totals: Readonly<Record<string, number>>;
  /** Event lines read (not blank, not comments), accepted and rejected. */
  readonly counts: { readonly lines: number; readonly accepted: number; readonly rejected: number };
  /** With {@link RulesTestInput.compare}: how the second rule set's deliveries differ. */
  readonly comparison?: DeliveryComparison;
  /** With `--trace`: the traced asset, and what deciding the end of the input changed in its state. */
  readonly traced?: { readonly erpAssetId: string; readonly atEnd: readonly string[] };
}

/** Where an input line is: its number, in its file when the input is several. */
type Where = { readonly line: number; readonly file?: string };

/** `line 12`, or `events-2026-11-30.jsonl:12` for input of several files. */
const whereOf = (l: Where): string => (l.file !== undefined ? `${l.file}:${l.line}` : `line ${l.line}`);

/** Lines decided together: the rules run once per chunk, not once per line (state is copied per run). */
const CHUNK_LINES = 1000;

/** Run a JSONL event stream through the rules without storing or sending anything. */
export async function runRulesTest(input: RulesTestInput): Promise<RulesTestReport> {
  const now = input.now ?? Date.now();
  const identity = new IdentityIndex(input.assets);
  const decode = createCanonicalDecoder();
  const policy = { maxFutureSkewMs: Number.POSITIVE_INFINITY, maxAgeMs: 0 };
  const lines: RulesTestLine[] = [];
  const totals: Record<string, number> = {};
  const counts = { lines: 0, accepted: 0, rejected: 0 };
  const count = (ds: readonly DeliveryIntent[]) => {
    for (const d of ds) totals[`${d.operation} (${d.kind})`] = (totals[`${d.operation} (${d.kind})`] ?? 0) + 1;
  };
  const keep = (l: RulesTestLine) => {
    count(l.deliveries);
    if (!input.brief || !l.accepted || l.deliveries.length > 0 || l.late || l.trace) lines.push(l);
  };
  const traced = input.trace === undefined ? undefined : tracedAsset(input.assets, input.trace);
  let states = new Map(input.states);
  const seen = new Map<string, { asset: AssetRecord; destination: string }>();
  // With --compare: the second rule set's state, and a tally of both sets' deliveries (kept whether brief or not).
  const other = input.compare;
  let otherStates = new Map(input.states);
  const tallies = { current: emptyTally(), proposed: emptyTally() };

  // A chunk: per line, its rejection or its steps; the rules then run over all the chunk's steps.
  type Pending = { readonly at: Where; readonly reason: string } | { readonly at: Where; readonly steps: SimulationStep[] };
  let chunk: Pending[] = [];
  const decide = () => {
    const steps = chunk.flatMap((p) => ('steps' in p ? p.steps : []));
    // The traced asset's changes, by step.
    const changes = new Map<number, string[]>();
    const onStep = (i: number, id: string, before: StateDoc, after: StateDoc) => {
      if (id !== traced) return;
      const c = stateChanges(before, after);
      // What the rules hold for the allowed lateness, when that changed.
      const held = heldEvents(after);
      const line = Object.keys(held).length ? `held for the lateness: ${Object.entries(held).map(([r, n]) => `${r} ${n}`).join(', ')}` : 'held for the lateness: nothing';
      const heldBefore = heldEvents(before);
      changes.set(i, stableJson(held) === stableJson(heldBefore) ? c : [...c, line]);
    };
    const result = simulateRules(input.rules, steps, { initial: states, now, ...(traced !== undefined ? { onStep } : {}) });
    states = result.states;
    if (other) {
      const o = simulateRules(other, steps, { initial: otherStates, now });
      otherStates = o.states;
      for (const ds of result.perStep) tallyDeliveries(tallies.current, ds);
      for (const ds of o.perStep) tallyDeliveries(tallies.proposed, ds);
    }
    let k = 0;
    for (const p of chunk) {
      if (!('steps' in p)) {
        keep({ ...p.at, accepted: false, reason: p.reason, events: [], deliveries: [] });
        continue;
      }
      const n = p.steps.length;
      const late = [...new Set(result.lateByStep.slice(k, k + n).flat())];
      const trace = p.steps.flatMap((_, j) => changes.get(k + j) ?? []);
      keep({
        ...p.at,
        accepted: true,
        events: p.steps.map((s) => ({ kind: s.event.kind, erpAssetId: s.asset.erpAssetId, eventTime: new Date(s.event.eventTime).toISOString() })),
        deliveries: result.perStep.slice(k, k + n).flat(),
        ...(late.length ? { late } : {}),
        ...(trace.length ? { trace } : {}),
      });
      k += n;
    }
    chunk = [];
  };

  let lineNo = 0;
  let read = 0;
  let file: string | undefined;
  for await (const raw of input.lines) {
    if (typeof raw !== 'string') {
      file = raw.file;
      lineNo = 0;
      continue;
    }
    lineNo++;
    read++;
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) continue;
    counts.lines++;
    chunk.push(parseLine(text, file === undefined ? { line: lineNo } : { line: lineNo, file }));
    if (chunk.length >= CHUNK_LINES) {
      decide();
      input.onProgress?.(read);
    }
  }
  decide();
  input.onProgress?.(read);

  function parseLine(text: string, at: Where): Pending {
    const rejected = (reason: string): Pending => {
      counts.rejected++;
      return { at, reason };
    };
    const decoded = decode({ source: 'cli', channel: 'rules-test', payload: text, receivedAt: now });
    if (!decoded.ok) return rejected(decoded.reason);
    const steps: SimulationStep[] = [];
    for (const event of decoded.events) {
      const v = validateEvent(event, now, policy);
      if (!v.ok) return rejected(v.reason);
      const r = identity.resolve(event.ids);
      if (!r.ok) return rejected(r.reason);
      const destination = r.asset.destination ?? input.defaultDestination;
      steps.push({ event, asset: r.asset, destination });
    }
    for (const s of steps) seen.set(s.asset.erpAssetId, { asset: s.asset, destination: s.destination });
    counts.accepted++;
    return { at, steps };
  }

  // As the service does once an asset falls silent (idle watermarks): what is held is decided, and
  // each asset counts as staying where it was last seen, so a zone dwell under way completes.
  const flushAll = (rules: readonly Rule[], from: ReadonlyMap<string, StateDoc>) =>
    input.flush === false ? { deliveries: [], states: from } : flushRules(rules, new Map([...from].filter(([id]) => seen.has(id))), seen, now, Number.MAX_SAFE_INTEGER);
  const end = flushAll(input.rules, states);
  const flushed = end.deliveries;
  count(flushed);
  const tracedReport = traced === undefined ? {} : { traced: { erpAssetId: traced, atEnd: stateChanges(states.get(traced) ?? {}, end.states.get(traced) ?? states.get(traced) ?? {}) } };
  if (!other) return { lines, flushed, totals, counts, ...tracedReport };
  tallyDeliveries(tallies.current, flushed);
  tallyDeliveries(tallies.proposed, flushAll(other, otherStates).deliveries);
  return { lines, flushed, totals, counts, comparison: compareTallies(tallies.current, tallies.proposed), ...tracedReport };
}

/** The ERP asset `--trace` names: by its ERP id, or by any of its identifiers. */
function tracedAsset(assets: readonly AssetWithIdentifiers[], name: string): string {
  const key = name.trim().toUpperCase();
  const found = assets.find((a) => a.asset.erpAssetId.toUpperCase() === key) ?? assets.find((a) => a.identifiers.some((i) => i.value.trim().toUpperCase() === key));
  if (!found) throw new UsageError(`--trace ${name}: no asset has that ERP id or identifier; see 'assetbridge assets list'`);
  return found.asset.erpAssetId;
}

/** How the rules treat time, for `rules list`: the reorder window and when a silent asset's held events are decided. */
export function describeTiming(r: RulesConfig): string {
  const secs = (ms: number) => `${ms / 1000} s`;
  if (r.allowedLateness === 0 && (r.zones?.zones.length ?? 0) === 0) return 'events are decided as they arrive (rules.allowedLateness 0)';
  const held = r.allowedLateness > 0 ? `events wait ${secs(r.allowedLateness)} of event time for late ones (rules.allowedLateness)` : 'events are decided as they arrive';
  const idle = r.idleAfter > 0 ? `; an asset silent for ${secs(Math.max(r.idleAfter, r.allowedLateness))} has what they hold decided, zone dwell included (rules.idleAfter)` : '; a silent asset\'s held events wait for its next one (rules.idleAfter 0)';
  return `${held}${idle}`;
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
      out.push(`${whereOf(l)}: rejected: ${l.reason ?? ''}`);
      continue;
    }
    const e = l.events.map((x) => `${x.kind} ${x.erpAssetId} @ ${x.eventTime}`).join(', ');
    out.push(`${whereOf(l)}: ${e}${l.deliveries.length ? '' : ' (no deliveries)'}`);
    if (l.late) out.push(`  late: dropped by ${l.late.join(', ')} (older than what it already decided on; rules.allowedLateness)`);
    for (const d of l.deliveries) out.push(`  ${describeDelivery(d)}`);
    for (const t of l.trace ?? []) out.push(`  · ${t}`);
  }
  if (report.flushed.length) {
    out.push('', 'decided at the end of the input, as the service does once an asset falls silent (events held for the allowed lateness; zone dwell under way):');
    for (const d of report.flushed) out.push(`  ${describeDelivery(d)}`);
  }
  if (report.traced?.atEnd.length) out.push('', `${report.traced.erpAssetId} at the end of the input:`, ...report.traced.atEnd.map((t) => `  · ${t}`));
  const totals = Object.entries(report.totals);
  const c = report.counts;
  const quiet = c.lines - report.lines.length;
  out.push(
    '',
    `${c.lines} event line(s): ${c.accepted} accepted, ${c.rejected} rejected${quiet > 0 ? ` (${quiet} line(s) without deliveries not shown)` : ''}`,
    totals.length ? `would deliver: ${totals.map(([k, n]) => `${n} × ${k}`).join(', ')}` : 'would deliver nothing',
    'nothing was stored or sent',
  );
  return `${out.join('\n')}\n`;
}

/** A payload field's value for a one-line comparison: short, `(none)` when absent. */
const shortValue = (v: unknown): string => {
  const t = v === undefined || v === null ? '(none)' : typeof v === 'string' ? JSON.stringify(v) : txt(v);
  return t.length > 60 ? `${t.slice(0, 59)}…` : t;
};

/** `field a → b; …` for the fields that differ between two payloads. */
function fieldChanges(a: Readonly<Record<string, unknown>> | undefined, b: Readonly<Record<string, unknown>> | undefined): string {
  return differingFields(a, b)
    .map((k) => `${k} ${shortValue(a?.[k])} → ${shortValue(b?.[k])}`)
    .join('; ');
}

/** `rules test --compare`: the deliveries of two rule sets over the same events, side by side. */
export function formatComparison(report: RulesTestReport, names: { readonly current: string; readonly proposed: string }): string {
  const c = report.comparison;
  if (!c) return formatRulesTest(report);
  const out: string[] = [
    `the same ${report.counts.accepted} accepted event line(s), assets and starting state, through the rules of ${names.current} (current) and of ${names.proposed} (proposed):`,
    '',
  ];
  const rows: (string | number)[][] = [['DELIVERIES', 'CURRENT', 'PROPOSED', 'CHANGE']];
  for (const [op, t] of Object.entries(c.totals).sort(([a], [b]) => a.localeCompare(b))) rows.push([op, t.current, t.proposed, t.proposed === t.current ? '' : `${t.proposed > t.current ? '+' : ''}${t.proposed - t.current}`]);
  out.push(rows.length > 1 ? table(rows).trimEnd() : 'neither would deliver anything');
  const section = (title: string, items: readonly string[]) => {
    if (items.length === 0) return;
    out.push('', `${title} (${items.length}):`, ...items.map((i) => `  ${i}`));
  };
  section(`facts only with ${names.proposed}`, c.onlyProposed.map(describeDelivery));
  section(`facts only with ${names.current}`, c.onlyCurrent.map(describeDelivery));
  section('facts both would send, with another payload', c.changed.map((f) => `${f.current.operation} → ${f.current.destination} ${f.current.businessKey}: ${fieldChanges(f.current.payload, f.proposed.payload)}`));
  section('state updates that would end on another value', c.states.map((st) => `${st.operation} → ${st.destination} ${st.businessKey}: ${fieldChanges(st.current, st.proposed)}`));
  const same = c.onlyCurrent.length + c.onlyProposed.length + c.changed.length + c.states.length === 0;
  out.push(
    '',
    same ? `no difference: both would deliver the same (${c.sameFacts} fact(s) alike)` : `${c.sameFacts} fact(s) alike under both`,
    `${report.counts.lines} event line(s): ${report.counts.accepted} accepted, ${report.counts.rejected} rejected`,
    'nothing was stored or sent',
  );
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
  const only = (f: AssetFilter | undefined) => (f ? ` (${describeFilter(f)})` : '');
  const action = (severity: string) => `workorder.create ${severity === 'critical' ? 'HIGH' : 'MEDIUM'}`;
  for (const t of rules.maintenance?.thresholds ?? []) {
    const clear = t.clearAt !== t.threshold ? `, clears ${t.direction === 'above' ? 'below' : 'above'} ${t.clearAt}` : '';
    const repeat = t.repeat ? `, ${t.repeat.count} times within ${t.repeat.withinMs / 1000} s` : '';
    rows.push([t.name, 'threshold', `${t.sensor} ${t.direction} ${t.threshold} for ${t.durationMs / 1000} s${repeat}${clear}, cooldown ${t.cooldownMs / 1000} s${only(t.appliesTo)}`, action(t.severity)]);
  }
  for (const s of rules.maintenance?.serviceIntervals ?? []) {
    const unit = s.meter === 'km' ? 'km' : 'h';
    rows.push([s.name, 'service interval', `every ${s.every} ${unit}${s.meter === 'km' ? ' (odometer)' : ''}${s.dueSoon ? `, ${s.dueSoon} ${unit} ahead` : ''}${only(s.appliesTo)}`, action(s.severity)]);
  }
  for (const c of rules.maintenance?.calendarIntervals ?? []) {
    const m = c.orMeter;
    const unit = m?.meter === 'km' ? 'km' : 'h';
    const orMeter = m ? ` or every ${m.every} ${unit} from ${m.baselineAttribute}${m.dueSoon ? ` (${m.dueSoon} ${unit} ahead)` : ''}, whichever comes first` : '';
    rows.push([c.name, 'calendar interval', `every ${c.everyDays} days from ${c.baselineAttribute}${c.dueSoonDays ? `, ${c.dueSoonDays} days ahead` : ''}${orMeter}${only(c.appliesTo)}`, action(c.severity)]);
  }
  for (const r of rules.maintenance?.alerts ?? []) {
    const codes = r.codes ? `codes ${r.codes.join(', ')}` : 'any code';
    rows.push([r.name, 'alert', `${r.minSeverity === 'info' ? 'any' : `${r.minSeverity}${r.minSeverity === 'critical' ? '' : ' or critical'}`} alert, ${codes}; again after ${r.cooldownMs / 1000} s quiet${only(r.appliesTo)}`, r.severity ? action(r.severity) : 'workorder.create (priority from the alert)']);
  }
  if (rules.inventory) rows.push(['inventory', 'inventory', `items with "${rules.inventory.skuAttribute}", seen within ${rules.inventory.freshness / 3_600_000} h`, 'inventory.count']);
  if (rules.depreciation) rows.push(['depreciation', 'usage per period', `${rules.depreciation.meter === 'odometerKm' ? 'km on the odometer' : 'operating hours'} (per asset: "${rules.depreciation.meterAttribute}"), ${rules.depreciation.periods === 'monthly' ? 'monthly' : 'custom'} periods in ${rules.depreciation.timeZone}, posted ${rules.depreciation.postAfter / 3_600_000} h after period end`, 'usage.post']);
  return rows;
}

/**
 * Progress through the input on stderr: a bar on a terminal, else (or for standard input) a line
 * every `everyMs` (nothing for input read faster than that).
 */
function fileProgress(name: string, size: number | undefined, bytesRead: () => number, everyMs = 10_000): { update: (lines: number) => void; stop: () => void } {
  const started = Date.now();
  let last = started;
  let bar: cliProgress.SingleBar | undefined;
  const mib = (b: number) => (b / 1_048_576).toFixed(1);
  return {
    update: (lines) => {
      const now = Date.now();
      if (process.stderr.isTTY && size !== undefined) {
        if (!bar && now - started >= 1000) {
          bar = new cliProgress.SingleBar({ format: `${name} [{bar}] {percentage}% | {lines} lines | {duration_formatted}`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
          bar.start(size, 0, { lines: 0 });
        }
        bar?.update(bytesRead(), { lines });
      } else if (now - last >= everyMs) {
        // Not a terminal, or no size to show a share of (standard input): a line now and then.
        last = now;
        process.stderr.write(`${name}: ${lines} lines${size !== undefined ? `, ${mib(bytesRead())} of ${mib(size)} MiB` : ''}\n`);
      }
    },
    stop: () => {
      bar?.stop();
      bar = undefined;
    },
  };
}

/**
 * The files `--events` names: the file itself, or a directory's `*.jsonl` files in name order (the
 * event capture's daily files, oldest first).
 */
function eventFiles(path: string): { path: string; size: number }[] {
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (stat.isFile()) return [{ path, size: stat.size }];
  if (!stat.isDirectory()) throw new UsageError(`${path} is not a file; give a JSONL file, a directory of them, or - for standard input`);
  const names = readdirSync(path).filter((n) => n.endsWith('.jsonl')).sort();
  if (names.length === 0) throw new UsageError(`${path} holds no .jsonl files; give a JSONL file, a directory of them (such as capture.dir), or - for standard input`);
  return names.map((n) => ({ path: join(path, n), size: statSync(join(path, n)).size }));
}

/** The lines of several files as one stream, each file's after a {@link FileStart} when there are several. */
function readFiles(files: readonly { path: string; size: number }[]): { lines: AsyncIterable<string | FileStart>; bytesRead: () => number; close: () => void } {
  let done = 0;
  let current: ReadStream | undefined;
  async function* lines(): AsyncGenerator<string | FileStart> {
    for (const f of files) {
      if (files.length > 1) yield { file: basename(f.path) };
      current = createReadStream(f.path, 'utf8');
      try {
        for await (const line of createInterface({ input: current, crlfDelay: Infinity })) yield line;
      } finally {
        current.destroy();
        current = undefined;
      }
      done += f.size;
    }
  }
  return { lines: lines(), bytesRead: () => done + (current?.bytesRead ?? 0), close: () => current?.destroy() };
}

/** The rules of the config file given to `--compare`; its problems are reported as that file's. */
function comparedRules(path: string): Rule[] {
  if (!existsSync(path)) throw new UsageError(`--compare ${path}: no such file; give a config file whose rules to compare (a changed copy of --config)`);
  try {
    return buildRules(resolveConfig(path).config);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`--compare ${path}: ${err.message}`);
    throw err;
  }
}

export function registerRulesCommand(program: Command): Command {
  const rules = program.command('rules').description('see what the configured rules would do: dry runs and the compiled rule list');

  addConfigOption(
    rules
      .command('test')
      .description('run events through the rules and show the deliveries they would produce; stores and sends nothing')
      .requiredOption('--events <file>', 'JSONL file, a directory of them (such as capture.dir: its files in name order), or - for standard input: one canonical event per line, e.g. {"kind":"sensor","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","values":{"coolantTemp":{"value":97}}}')
      .option('--fresh', 'start from empty rule state instead of the stored state')
      .option('--no-flush', 'do not decide on events still held for the allowed lateness at the end of the input')
      .option('--brief', 'show only the lines that would deliver, were rejected or were late (for long inputs); the rest are counted')
      .option('--trace <asset>', 'show, line by line, what the events changed in one asset\'s rule state (ERP id or any identifier): why a rule fired, or has not yet')
      .option('--compare <file>', 'also run the events through the rules of this config file (a changed copy of the config) and show what would change: facts gained, lost or changed, state updates ending elsewhere')
      .option('--json', 'print JSON')
      .addHelpText(
        'after',
        '\nExamples:\n  assetbridge rules test --events yesterday.jsonl --fresh --brief\n  zcat events.jsonl.gz | assetbridge rules test --events - --brief\n  assetbridge rules test --events capture/events-2026-11-30.jsonl --fresh --compare proposed.yaml\n\nWith capture.dir set, the running service writes every accepted event to capture/events-YYYY-MM-DD.jsonl: a day of real input to try changed rules on.',
      ),
  ).action(
    action(async (opts: { config: string; events: string; fresh?: boolean; flush: boolean; brief?: boolean; compare?: string; trace?: string; json?: boolean }) => {
      const stdin = opts.events === '-';
      const files = stdin ? [] : eventFiles(opts.events);
      const size = stdin ? undefined : files.reduce((n, f) => n + f.size, 0);
      const compare = opts.compare === undefined ? undefined : comparedRules(opts.compare);
      await withContext(opts.config, async ({ config, configPath, store }) => {
        const assets = await allAssets(config, store);
        const states = opts.fresh ? new Map<string, StateDoc>() : await store.loadStates(assets.map((a) => a.asset.erpAssetId));
        const defaultDestination = defaultDestinationOf(config);
        const reading = stdin ? undefined : readFiles(files);
        const progress = fileProgress(stdin ? 'standard input' : opts.events, size, () => reading?.bytesRead() ?? 0);
        try {
          const report = await runRulesTest({
            lines: reading ? reading.lines : createInterface({ input: process.stdin.setEncoding('utf8'), crlfDelay: Infinity }),
            rules: buildRules(config),
            assets,
            defaultDestination,
            states,
            flush: opts.flush,
            ...(opts.brief || compare ? { brief: true } : {}),
            ...(compare ? { compare } : {}),
            ...(opts.trace !== undefined ? { trace: opts.trace } : {}),
            onProgress: progress.update,
          });
          progress.stop();
          if (compare) {
            process.stdout.write(opts.json ? `${toJson({ counts: report.counts, comparison: report.comparison })}\n` : formatComparison(report, { current: configPath, proposed: opts.compare ?? '' }));
            return;
          }
          process.stdout.write(opts.json ? `${toJson(report)}\n` : formatRulesTest(report));
          const calendars = rulesConfigOf(config).maintenance?.calendarIntervals ?? [];
          if (calendars.length && !opts.json) {
            const meters = calendars.some((c) => c.orMeter) ? ' (and the meter side of those that count hours or km too)' : '';
            process.stdout.write(`(calendar intervals — ${calendars.map((c) => c.name).join(', ')} — come due on the wall clock, not on events: the running service checks them${meters}; see 'assetbridge maintenance status')\n`);
          }
        } finally {
          progress.stop();
          reading?.close();
        }
      });
    }),
  );

  addConfigOption(rules.command('list').description('list the configured rules as compiled from the config').option('--json', 'print JSON')).action(
    action(async (opts: { config: string; json?: boolean }) => {
      await withContext(opts.config, ({ config }) => {
        const r = rulesConfigOf(config);
        process.stdout.write(opts.json ? `${toJson(r)}\n` : `${table(describeRules(r))}${describeTiming(r)}\n`);
        return Promise.resolve();
      });
    }),
  );
  return rules;
}
