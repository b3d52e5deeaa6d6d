/**
 * `assetbridge rules`: see what the configured rules would do.
 *
 * - `rules test --events events.jsonl` runs a stream of canonical JSON events (one per line, the
 *   HTTP intake's format; a directory of such files, such as the event capture's, is read in name
 *   order) through validation, identity and the rules (rules-test.ts), starting from the stored
 *   state (or empty with `--fresh`), and prints the deliveries each event would produce. Nothing is
 *   stored or sent. Events still held for the allowed lateness at the end of the input are decided
 *   then (`--no-flush` shows only what the engine would have decided by that point); captured
 *   lines, which say when the service received them, also get the idle watermarks the service
 *   sent in the silences between them (`rules.idleAfter`). The file is
 *   read as a stream, with progress on stderr; `--brief` keeps only the lines that matter;
 *   `--compare` and `--trace` say what a changed config would change, and why a rule fired;
 *   `--json` prints one document at the end, `--jsonl` JSON Lines as each line is decided.
 * - `rules list` prints the compiled rules.
 * @module
 */
import { idleMsOf } from '../../engine/tasks/index.js';
import { createReadStream, existsSync, readdirSync, statSync, type ReadStream } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { buildRules, configuredAssets } from '../../app.js';
import { stableJson } from '../../core/rules/compare.js';
import { defaultDestinationOf, type Config } from '../../config/schema.js';
import { maintenanceSchema, type RulesConfig } from '../../config/rules-schema.js';
import { ConfigError, UsageError } from '../../core/errors/errors.js';
import type { StateDoc } from '../../core/rules/simulate.js';
import type { AssetFilter } from '../../core/rules/maintenance/types.js';
import { WEEKDAY_NAMES, type WindowCalendar } from '../../core/rules/maintenance/windows.js';
import { formatDuration } from '../../core/rules/maintenance/maintenance-rule.js';
import type { Rule } from '../../core/rules/rule.js';
import { calendarOf, sensorUnitsOf, zoneNamesOf, zoneTrackingOf } from '../../core/rules/index.js';
import type { PeriodCalendar } from '../../core/rules/depreciation/calendar.js';
import type { SensorUnits } from '../../core/normalize/sensor-units.js';
import type { ThresholdSensor } from '../../core/rules/maintenance/unseen-sensors.js';
import type { AssetWithIdentifiers, Store } from '../../ports/store.js';
import { normalizeIdentifier } from '../../core/model/assets.js';
import { action, addConfigOption, resolveConfig, storeExists, table, withConfigContext, toJson, whyUnreadable } from '../context.js';
import { formatComparison, formatLine, formatSummary, jsonlReportWriter, jsonReportWriter, plannedZoneOf, runRulesTest, sameOutcome, type DeliveringRule, type FileStart, type InventoryAtEndOptions, type RulesTestLine } from './rules-test.js';

/** The compiled `rules` section (the root schema embeds config/rules-schema.ts). */
export function rulesConfigOf(config: Config): RulesConfig {
  return (config as unknown as { rules: RulesConfig }).rules;
}

/** How the rules treat time, for `rules list`: the reorder window and when a silent asset's held events are decided. */
export function describeTiming(r: RulesConfig): string {
  if (r.allowedLateness === 0 && (r.zones?.zones.length ?? 0) === 0) return 'events are decided as they arrive (rules.allowedLateness 0)';
  const held = r.allowedLateness > 0 ? `events wait ${formatDuration(r.allowedLateness)} of event time for late ones (rules.allowedLateness)` : 'events are decided as they arrive';
  const idle = r.idleAfter > 0 ? `; an asset silent for ${formatDuration(Math.max(r.idleAfter, r.allowedLateness))} has what they hold decided, zone dwell included (rules.idleAfter)` : '; a silent asset\'s held events wait for its next one (rules.idleAfter 0)';
  return `${held}${idle}`;
}

/** An asset filter in words, for `rules list`. */
function describeFilter(f: AssetFilter): string {
  const parts = [...(f.erpModules ? [`erpModule ${f.erpModules.join(' or ')}`] : []), ...Object.entries(f.attributes ?? {}).map(([k, v]) => `${k} ${v.join(' or ')}`)];
  return `only ${parts.join(', ') || 'all assets'}`;
}

/**
 * The registry the service would run these rules with: the store's (when there is one) with the
 * config's assets applied over it, as the service's start applies them (`upsertAssets`): each asset
 * the config lists as the config has it (what it leaves out as stored), its identifiers taken from
 * any other asset that held them. So a changed attribute of a listed asset (a site, a baseline such
 * as lastServiceHours, an erpModule an appliesTo selects on) is tested as the config has it, with a
 * store or without one.
 */
export function registryWithConfig(stored: readonly AssetWithIdentifiers[], configured: readonly AssetWithIdentifiers[]): AssetWithIdentifiers[] {
  const key = (id: { readonly type: string; readonly value: string }) => `${id.type}\u001f${normalizeIdentifier(id.value)}`;
  const moved = new Set(configured.flatMap((r) => r.identifiers.map(key)));
  const byId = new Map(stored.map((r) => [r.asset.erpAssetId, { asset: r.asset, identifiers: r.identifiers.filter((id) => !moved.has(key(id))) }]));
  for (const r of configured) {
    const kept = byId.get(r.asset.erpAssetId)?.identifiers ?? [];
    byId.set(r.asset.erpAssetId, { asset: r.asset, identifiers: [...kept, ...r.identifiers.map((id) => ({ ...id, erpAssetId: r.asset.erpAssetId }))] });
  }
  return [...byId.values()];
}

/** Assets from the store (when there is one) with the config's applied over them, as the service's start does. */
async function allAssets(config: Config, store: Store | undefined): Promise<AssetWithIdentifiers[]> {
  const stored = store ? await store.listAssets() : [];
  return registryWithConfig(stored, configuredAssets(config, stored));
}

/** A site's weekly maintenance windows and closed days, for `rules list`. */
function describeWindows(c: WindowCalendar): string {
  const clock = (minute: number) => `${String(Math.floor(minute / 60) % 24).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
  // A whole day (from = to) reads as its start and length: "22:00–22:00" could be no time at all.
  const span = (w: WindowCalendar['windows'][number]) =>
    w.durationMinutes >= 1440 ? `${clock(w.startMinute)} for ${formatDuration(w.durationMinutes * 60_000)}` : `${clock(w.startMinute)}–${clock(w.startMinute + w.durationMinutes)}`;
  const slots = c.windows.map((w) => `${w.days.map((d) => WEEKDAY_NAMES[d]).join(', ')} ${span(w)}`);
  const closed = (c.closed ?? []).map((d) => (d.from === d.to ? d.from : `${d.from} to ${d.to} inclusive`));
  const shown = closed.length > 5 ? [...closed.slice(0, 5), `and ${closed.length - 5} more`] : closed;
  return `${slots.join('; ')} (${c.timeZone})${shown.length ? `; closed ${shown.join(', ')}` : ''}`;
}

/** The compiled rules, as rows for `rules list`. */
export function describeRules(rules: RulesConfig): (string | number)[][] {
  const rows: (string | number)[][] = [['RULE', 'TYPE', 'CONDITION', 'ACTION']];
  if (rules.location.enabled) rows.push(['location', 'location sync', `${rules.location.heartbeatMs === 0 ? 'every fix (rules.location.heartbeatMs 0)' : `moved > ${rules.location.minDistanceM} m, zone change, or every ${formatDuration(rules.location.heartbeatMs)}`}${rules.location.appliesTo ? ` (${describeFilter(rules.location.appliesTo)})` : ''}`, 'location.update']);
  if (rules.zones) rows.push(['zones', 'zones', `${rules.zones.zones.length} zone(s), enter after ${formatDuration(rules.zones.enterDwellMs)}, leave after ${formatDuration(rules.zones.exitDwellMs)} beyond ${rules.zones.hysteresisM} m`, 'location code']);
  const only = (f: AssetFilter | undefined) => (f ? ` (${describeFilter(f)})` : '');
  const action = (severity: string) => `workorder.create ${severity === 'critical' ? 'HIGH' : 'MEDIUM'}`;
  for (const t of rules.maintenance?.thresholds ?? []) {
    const unit = t.unit !== undefined ? ` ${t.unit}` : '';
    const clear = t.clearAt !== t.threshold ? `, clears ${t.direction === 'above' ? 'below' : 'above'} ${t.clearAt}${unit}` : '';
    const repeat = t.repeat ? `, ${t.repeat.count} times within ${formatDuration(t.repeat.withinMs)}` : '';
    rows.push([t.name, 'threshold', `${t.sensor} ${t.direction} ${t.threshold}${unit} for ${formatDuration(t.durationMs)}${repeat}${clear}, cooldown ${formatDuration(t.cooldownMs)}${only(t.appliesTo)}`, action(t.severity)]);
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
    const mapped = r.codeMap ? Object.entries(r.codeMap).map(([from, to]) => `${from} as ${to}`) : [];
    const codes = `${r.codes ? `codes ${r.codes.join(', ')}` : 'any code'}${mapped.length ? ` (${mapped.join(', ')})` : ''}`;
    rows.push([r.name, 'alert', `${r.minSeverity === 'info' ? 'any' : `${r.minSeverity}${r.minSeverity === 'critical' ? '' : ' or critical'}`} alert, ${codes}; again after ${formatDuration(r.cooldownMs)} quiet${only(r.appliesTo)}`, r.severity ? action(r.severity) : r.minSeverity === 'critical' ? 'workorder.create (priority from the alert)' : 'workorder.create (priority from the alert; workorder.update HIGH when it turns critical)']);
  }
  for (const [site, calendar] of Object.entries(rules.maintenance?.windows ?? {}).sort(([a], [b]) => (a === '*' ? -1 : b === '*' ? 1 : a < b ? -1 : 1)))
    rows.push(['windows', 'maintenance windows', `${site === '*' ? 'other sites' : `site ${site}`}: ${describeWindows(calendar)}`, 'planned dates']);
  if (rules.inventory) rows.push(['inventory', 'inventory', `items with "${rules.inventory.skuAttribute}", seen within ${formatDuration(rules.inventory.freshness)}`, 'inventory.count']);
  if (rules.depreciation) rows.push(['depreciation', 'usage per period', `${rules.depreciation.meter === 'odometerKm' ? 'km on the odometer' : 'operating hours'} (per asset: "${rules.depreciation.meterAttribute}"), ${rules.depreciation.periods === 'monthly' ? 'monthly' : 'custom'} periods in ${rules.depreciation.timeZone}, posted ${formatDuration(rules.depreciation.postAfter)} after period end`, 'usage.post']);
  // Built in: it runs whenever meters arrive (meter hygiene for every asset); `rules.meters` decides what is sent.
  rows.push(
    rules.meters.enabled
      ? ['meter', 'meter sync', `hour meter or odometer reading changed, past meter hygiene${only(rules.meters.appliesTo)}`, 'meter.record']
      : ['meter', 'meter sync', 'off (rules.meters.enabled: false): meter hygiene still judges the readings, none is sent', '-'],
  );
  return rows;
}

/**
 * The configured rules that make deliveries of events, in the order `rules list` lists them, for
 * `rules test`'s counts by rule: location sync, each maintenance rule (whose name its work orders'
 * business keys hold), and meter sync, which the service always runs (`meter sync, off` when
 * `rules.meters.enabled` is false: it sends nothing then). Inventory and depreciation
 * make none (their tasks send the counts and post the usage).
 */
export function deliveringRulesOf(rules: RulesConfig): DeliveringRule[] {
  const out: DeliveringRule[] = [];
  if (rules.location.enabled) out.push({ name: 'location', type: rules.zones ? 'location sync, zones' : 'location sync', settings: { ...rules.location, heartbeatMs: formatDuration(rules.location.heartbeatMs) } });
  const m = rules.maintenance;
  for (const t of m?.thresholds ?? []) out.push({ name: t.name, type: 'threshold', settings: thresholdSettings(t) });
  for (const s of m?.serviceIntervals ?? []) out.push({ name: s.name, type: 'service interval', settings: serviceIntervalSettings(s) });
  for (const c of m?.calendarIntervals ?? []) out.push({ name: c.name, type: 'calendar interval', settings: { ...c } });
  for (const a of m?.alerts ?? []) out.push({ name: a.name, type: 'alert', settings: { ...a, cooldownMs: formatDuration(a.cooldownMs) } });
  // Off, it still judges the readings (meter hygiene) but sends none: listed so, not left out.
  out.push({ name: 'meter', type: rules.meters.enabled ? 'meter sync' : 'meter sync, off', settings: { ...rules.meters } });
  return out;
}

type ThresholdEntry = NonNullable<RulesConfig['maintenance']>['thresholds'][number];
type ServiceIntervalEntry = NonNullable<RulesConfig['maintenance']>['serviceIntervals'][number];

/** A threshold rule's validated entry under the config's key names (`above: 97`, `cooldown: 1 h`), for `--compare`'s changed settings. */
function thresholdSettings(t: ThresholdEntry): Record<string, unknown> {
  const { direction, threshold, clearAt, durationMs, maxGapMs, cooldownMs, repeat, ...rest } = t;
  return {
    ...rest,
    [direction]: threshold,
    [direction === 'above' ? 'clearBelow' : 'clearAbove']: clearAt,
    for: formatDuration(durationMs),
    maxGap: formatDuration(maxGapMs),
    cooldown: formatDuration(cooldownMs),
    ...(repeat ? { repeat: { count: repeat.count, within: formatDuration(repeat.withinMs) } } : {}),
  };
}

/** A service interval's validated entry under the config's key names (`everyHours: 500`), for `--compare`'s changed settings. */
function serviceIntervalSettings(s: ServiceIntervalEntry): Record<string, unknown> {
  const { meter, every, dueSoon, ...rest } = s;
  return meter === 'km' ? { ...rest, everyKm: every, dueSoonKm: dueSoon } : { ...rest, everyHours: every, dueSoonHours: dueSoon };
}

/**
 * The settings of `rules` outside the delivering rules' own entries in which two configs differ,
 * by section (`rules.zones`, `rules.inventory`, …), for `--compare`: a change there may deliver
 * nothing otherwise on the input and would pass for no difference. `rules.location` is named here
 * only when the location rule is not enabled in both (else its settings are the location rule's).
 */
export function changedRulesSections(current: RulesConfig, proposed: RulesConfig): string[] {
  const differ = (a: unknown, b: unknown) => stableJson(a) !== stableJson(b);
  const out: string[] = [];
  for (const key of ['allowedLateness', 'idleAfter'] as const) if (current[key] !== proposed[key]) out.push(`rules.${key}`);
  if (!(current.location.enabled && proposed.location.enabled) && differ(current.location, proposed.location)) out.push('rules.location');
  if (differ(current.zones, proposed.zones)) out.push('rules.zones');
  // A config without maintenance has no maintenance rule: its settings beside the rules (windows, …) count as the defaults.
  const { thresholds: _t, serviceIntervals: _s, calendarIntervals: _c, alerts: _a, ...mc } = current.maintenance ?? maintenanceSchema.parse({});
  const { thresholds: _t2, serviceIntervals: _s2, calendarIntervals: _c2, alerts: _a2, ...mp } = proposed.maintenance ?? maintenanceSchema.parse({});
  for (const key of [...new Set([...Object.keys(mc), ...Object.keys(mp)])].sort()) if (differ((mc as Record<string, unknown>)[key], (mp as Record<string, unknown>)[key])) out.push(`rules.maintenance.${key}`);
  if (differ(current.inventory, proposed.inventory)) out.push('rules.inventory');
  if (differ(current.depreciation, proposed.depreciation)) out.push('rules.depreciation');
  return out;
}

/** The configured threshold rules and the sensor each watches, for `rules test`'s list of those whose sensor no event carried. */
export function thresholdSensorsOf(rules: RulesConfig): ThresholdSensor[] {
  return (rules.maintenance?.thresholds ?? []).map((t) => ({ rule: t.name, sensor: t.sensor }));
}

/** How long a pause in the input `rules test` waits before it decides and prints the lines read so far (text and --jsonl). */
const DECIDE_AFTER_PAUSE_MS = 100;

/** How `rules test` shows its progress through the input on stderr. */
export type ProgressMode = 'none' | 'bar' | 'lines';

/**
 * The progress `rules test` shows: none while every line it reads is printed to a terminal as it is
 * decided (those lines are the progress); a line now and then while it prints lines to a terminal
 * but keeps most back (`--brief`: a long input would show nothing for minutes, and a bar would tear
 * the lines it does print); else a bar on a terminal, or a line now and then (not a terminal, or
 * standard input, which has no size to show a share of).
 */
export function progressMode(o: { readonly streaming: boolean; readonly brief: boolean; readonly stdoutTTY: boolean; readonly stderrTTY: boolean; readonly sized: boolean }): ProgressMode {
  if (o.streaming && o.stdoutTTY) return o.brief ? 'lines' : 'none';
  return o.stderrTTY && o.sized ? 'bar' : 'lines';
}

/**
 * Progress through the input on stderr: a bar, or a line every `everyMs` (nothing for input read
 * faster than that).
 */
function fileProgress(mode: 'bar' | 'lines', name: string, size: number | undefined, bytesRead: () => number, everyMs = 10_000): { update: (lines: number) => void; stop: () => void } {
  const started = Date.now();
  let last = started;
  let bar: cliProgress.SingleBar | undefined;
  const mib = (b: number) => (b / 1_048_576).toFixed(1);
  return {
    update: (lines) => {
      const now = Date.now();
      if (mode === 'bar' && size !== undefined) {
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
 * event capture's daily files, oldest first). A pipe (bash's `<(zcat a.gz b.gz)`, a named pipe) is
 * read as standard input is, with no size.
 */
function eventFiles(path: string): { path: string; size: number | undefined }[] {
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    throw new UsageError(`--events ${path}: cannot read it (${whyUnreadable(err)}); give a JSONL file, a directory of them (such as capture.dir), or - for standard input`);
  }
  if (stat.isFile()) return [{ path, size: stat.size }];
  if (stat.isFIFO()) return [{ path, size: undefined }];
  if (!stat.isDirectory()) throw new UsageError(`--events ${path}: not a file; give a JSONL file, a directory of them, or - for standard input`);
  const files: { path: string; size: number | undefined }[] = [];
  for (const name of readdirSync(path).filter((n) => n.endsWith('.jsonl') || n.endsWith('.jsonl.gz')).sort()) {
    const file = join(path, name);
    let s;
    try {
      s = statSync(file);
    } catch (err) {
      throw new UsageError(`--events ${path}: cannot read ${file} in it (${whyUnreadable(err)}); fix or remove that file, or give the files to test one by one`);
    }
    if (s.isFile()) files.push({ path: file, size: s.size }); // not a directory that happens to be named *.jsonl
  }
  if (files.length === 0) throw new UsageError(`--events ${path}: holds no .jsonl (or .jsonl.gz) files; give a JSONL file, a directory of them (such as capture.dir), or - for standard input`);
  // A day compressed beside its original (gzip -k): read both, each of its events would run twice.
  const names = new Set(files.map((f) => basename(f.path)));
  const twice = [...names].filter((n) => n.endsWith('.jsonl') && names.has(`${n}.gz`));
  if (twice.length)
    throw new UsageError(`--events ${path}: holds ${twice[0] ?? ''} and ${twice[0] ?? ''}.gz${twice.length > 1 ? ` (and ${twice.length - 1} more such pair(s))` : ''}, the same events twice, so each would run twice; move one of each pair out of the directory, or give the files to test one by one`);
  return files;
}

/**
 * The bytes of an input, decompressed when they start as gzip does (`1f 8b`): an `events.jsonl.gz`,
 * a capture file compressed by logrotate, `gzip -c` piped in. Read as they are, they were rejected
 * line by line as "not JSON … UTF-16 text". A gzip stream that breaks off is a {@link UsageError}
 * naming the input (`name`), after the lines before the break have run.
 */
export async function* gunzipIfGzip(input: AsyncIterable<Buffer | string>, name: string): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]();
  const next = async (): Promise<Buffer | undefined> => {
    const r = await it.next();
    return r.done === true ? undefined : typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
  };
  let head = Buffer.alloc(0);
  for (let chunk = await next(); chunk !== undefined; chunk = head.length < 2 ? await next() : undefined) head = Buffer.concat([head, chunk]);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    for (let chunk = await next(); chunk !== undefined; chunk = await next()) yield chunk;
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) return yield* all();
  try {
    for await (const chunk of Readable.from(all()).pipe(createGunzip())) yield chunk as Buffer;
  } catch (err) {
    throw new UsageError(`--events ${name}: it is gzip-compressed and breaks off (${err instanceof Error ? err.message : String(err)}): a file still being written, or cut short? nothing after the break was read; give a whole .gz file, or the events uncompressed`);
  }
}

/** The lines of several files as one stream, each file's after a {@link FileStart} when there are several; a gzip-compressed file is read decompressed. */
export function readFiles(files: readonly { path: string; size: number | undefined }[]): { lines: AsyncIterable<string | FileStart>; bytesRead: () => number; close: () => void } {
  let done = 0;
  let current: ReadStream | undefined;
  let input: Readable | undefined;
  // The text read from the file first: destroyed after it, a file stream's premature close would be
  // an unhandled error of the reader no one reads any more (the run stopped before the file's end).
  const destroy = () => {
    input?.destroy();
    current?.destroy();
  };
  async function* lines(): AsyncGenerator<string | FileStart> {
    for (const f of files) {
      if (files.length > 1) yield { file: basename(f.path) };
      current = createReadStream(f.path);
      input = Readable.from(gunzipIfGzip(current, f.path));
      try {
        for await (const line of createInterface({ input, crlfDelay: Infinity })) yield line;
      } finally {
        destroy();
        current = undefined;
        input = undefined;
      }
      done += f.size ?? 0;
    }
  }
  return { lines: lines(), bytesRead: () => done + (current?.bytesRead ?? 0), close: destroy };
}

/** How a config's inventory task counts (undefined: no inventory), by its zones as configured: `rules test` shows the counts the events leave. */
function inventoryCountOptionsOf(rules: RulesConfig): InventoryAtEndOptions | undefined {
  const inv = rules.inventory;
  const zones = zoneTrackingOf(rules)?.index;
  return inv && { skuAttribute: inv.skuAttribute, quantityAttribute: inv.quantityAttribute, freshnessMs: inv.freshness, ...(zones ? { zones } : {}) };
}

/**
 * The settings outside `rules` that `--compare` takes from the current config alone and in which the
 * compared config differs: both rule sets run on the current config's assets and ingest limits, so
 * a change there would otherwise pass for no difference.
 */
export function settingsNotCompared(current: Config, proposed: Config): string[] {
  const out: string[] = [];
  const assets = (c: Config) => {
    try {
      return stableJson(configuredAssets(c));
    } catch {
      return undefined; // a list the service would refuse: config check says why
    }
  };
  if (assets(current) !== assets(proposed)) out.push('assets');
  for (const key of ['maxFutureSkewMs', 'maxAgeMs', 'maxPayloadBytes'] as const) if (current.ingest[key] !== proposed.ingest[key]) out.push(`ingest.${key}`);
  return out;
}

/** The rules of the config file given to `--compare`, and its idle watermarks; its problems are reported as that file's. */
function comparedRules(path: string): { config: Config; rules: Rule[]; idleMs: number; inventory: InventoryAtEndOptions | undefined; zoneNames: ReadonlySet<string>; sensorUnits: SensorUnits | undefined } {
  if (!existsSync(path)) throw new UsageError(`--compare ${path}: no such file; give a config file whose rules to compare (a changed copy of --config)`);
  try {
    const config = resolveConfig(path).config;
    // Its own zones: a sighting of a reader zone it adds is judged by it, not by the current config.
    return { config, rules: buildRules(config), idleMs: idleMsOf(rulesConfigOf(config)), inventory: inventoryCountOptionsOf(rulesConfigOf(config)), zoneNames: zoneNamesOf(rulesConfigOf(config)) ?? new Set(), sensorUnits: sensorUnitsOf(rulesConfigOf(config)) };
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`--compare ${path}: ${err.message}`);
    throw err;
  }
}

/** The configured depreciation calendar, under `key`, for `rules test` to show the usage read while held by a calendar change as a re-file would file it; nothing without `rules.depreciation`. */
function usageCalendarOf<K extends string>(config: Config, key: K): Partial<Record<K, PeriodCalendar>> {
  const d = rulesConfigOf(config).depreciation;
  return d ? ({ [key]: calendarOf(d) } as Record<K, PeriodCalendar>) : {};
}

export function registerRulesCommand(program: Command): Command {
  const rules = program.command('rules').description('see what the configured rules would do: dry runs and the compiled rule list');

  addConfigOption(
    rules
      .command('test')
      .description('run events through the rules and show the deliveries they would produce; stores and sends nothing')
      .requiredOption('--events <file>', '(required) JSONL file (gzip-compressed too), a directory of them (such as capture.dir: its *.jsonl and *.jsonl.gz files in name order), or - for standard input: one canonical event per line, e.g. {"kind":"sensor","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","values":{"coolantTemp":{"value":97}}}; a line holding a JSON array is taken as POST /v1/events takes one: each item its own message ("line 3 item 1" when one is rejected); device payloads are not decoded through the mappings of the sources: give the events as capture.dir writes them (decoded)')
      .option('--fresh', 'start from empty rule state instead of the stored state')
      .option('--no-flush', 'do not decide on events still held for the allowed lateness at the end of the input')
      .option('--brief', 'show only the lines that would deliver, were rejected, were late or had a meter reading set aside or held by meter hygiene (for long inputs); the rest are counted')
      .option('--trace <asset>', 'show, line by line, what the events changed in one asset\'s rule state (ERP id or any identifier): why a rule fired, or has not yet')
      .option('--compare <file>', 'also run the events through the rules of this config file (a changed copy of the config) and show what would change: facts gained, lost or changed, state updates ending elsewhere, deliveries by rule, and the rules and rules sections whose settings differ')
      .option('--exit-code', 'with --compare: exit with 1 when the deliveries, the inventory counts or the usage per period differ, or a line is rejected under one config alone (for a review check of config changes), 0 when they are the same, 2 when no event line was accepted (nothing was compared)')
      .option('--json', 'print JSON: one document, whole only at the end of the input')
      .option(
        '--jsonl',
        'print JSON Lines as the input is read: a {"type":"line",…} object for each line once it is decided (its deliveries, or why it was rejected, or the rules that dropped it as late; with --brief only those), a {"type":"flushed",…} object for each delivery decided at the end of the input, and last a {"type":"summary",…} object (totals, byRule, counts, as --json has them); for long inputs and pipes (jq, a dashboard)',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  assetbridge rules test --events yesterday.jsonl --fresh --brief\n  zcat events.jsonl.gz | assetbridge rules test --events - --brief\n  zcat events.jsonl.gz | assetbridge rules test --events - --fresh --brief --jsonl | jq -c \'select(.type == "line")\'\n  assetbridge rules test --events capture/events-2026-11-30.jsonl --fresh --compare proposed.yaml\n  assetbridge rules test --events capture/ --fresh --compare proposed.yaml --exit-code   # in CI: fails when the change changes deliveries\n\nWith capture.dir set, the running service writes every accepted event to capture/events-YYYY-MM-DD.jsonl: a day of real input to try changed rules on.' +
          '\n\nInput: one canonical event, or a JSON list of them, per line; blank lines and lines starting with # are skipped. A captured line also says when the service received it (receivedAt): the idle watermarks of rules.idleAfter fall between such lines, and ingest.maxFutureSkewMs / maxAgeMs are judged against it. A line that cannot be used is reported with its number (and file) and why, and the lines after it still run. Progress goes to stderr.' +
          '\n\nExit status: 0 when the events ran (rejected lines are in the report); 2 when no line was accepted (the rules were tested on nothing: an empty input, or every line rejected), and on a usage or configuration error; 1 when a rule failed (a bug: the report says on which line, idle watermark or asset; the run goes on past it, as the service quarantines what a rule throws on), with --compare --exit-code when the two configs differ, and when --trace names no asset.',
      ),
  ).action(
    action(async (opts: { config: string; events: string; fresh?: boolean; flush: boolean; brief?: boolean; compare?: string; trace?: string; exitCode?: boolean; json?: boolean; jsonl?: boolean }) => {
      if (opts.json && opts.jsonl) throw new UsageError('--json and --jsonl: pick one (--json prints one JSON document, whole only at the end of the input; --jsonl a JSON object a line as each line is decided)');
      if (opts.jsonl && opts.compare !== undefined)
        throw new UsageError('--jsonl streams each line\'s deliveries as it is decided, and --compare shows only how two configs differ, at the end of the input: use --compare with --json for that as JSON, or --jsonl without --compare (-c on each config in turn) for the lines');
      const stdin = opts.events === '-';
      const files = stdin ? [] : eventFiles(opts.events);
      const size = stdin || files.some((f) => f.size === undefined) ? undefined : files.reduce((n, f) => n + (f.size ?? 0), 0);
      if (opts.exitCode && opts.compare === undefined) throw new UsageError('--exit-code goes with --compare: it says whether the two configs deliver the same');
      if (opts.trace !== undefined && opts.compare !== undefined) throw new UsageError('--trace shows one rule set at work: run it without --compare (and with -c on the other config to trace that one)');
      const compare = opts.compare === undefined ? undefined : comparedRules(opts.compare);
      const { config, configPath } = resolveConfig(opts.config);
      const notCompared = compare ? settingsNotCompared(config, compare.config) : [];
      if (notCompared.length)
        process.stderr.write(
          `note: --compare ${opts.compare ?? ''} differs from ${configPath} in ${notCompared.join(', ')}, which --compare does not compare: only the rules are, and both run on the assets and ingest limits of ${configPath}; to see what ${opts.compare ?? ''} does with its own, run rules test -c ${opts.compare ?? ''} without --compare\n`,
        );
      // A dry run: a store that does not exist yet is not created (an empty one would then pass for
      // what ran); the assets come from the config and the state is empty, as with --fresh.
      const dryRun = async (store: Store | undefined) => {
        const assets = await allAssets(config, store);
        const states = opts.fresh || !store ? new Map<string, StateDoc>() : await store.loadStates(assets.map((a) => a.asset.erpAssetId));
        // Rule state the service has not stored yet (its ingest log): the start is older than what ran, and says so.
        const behind = opts.fresh || !store ? 0 : (await store.counters()).ingestLog;
        if (behind > 0)
          process.stderr.write(
            `note: the stored rule state this starts from is ${behind} message(s) behind: their changes are in the ingest log, not yet stored (a running service stores them every ingest.checkpointMs; one that did not stop cleanly, at its next start), so events among them may decide again here; use --fresh to start from empty state\n`,
          );
        const defaultDestination = defaultDestinationOf(config);
        const inventory = inventoryCountOptionsOf(rulesConfigOf(config));
        const zoneNames = zoneNamesOf(rulesConfigOf(config));
        const sensorUnits = sensorUnitsOf(rulesConfigOf(config));
        // A work order's planned start is shown in its site's time too, as its maintenance calendar reads it.
        const zoneOf = plannedZoneOf(rulesConfigOf(config).maintenance?.windows);
        const traceZones = opts.trace !== undefined ? zoneTrackingOf(rulesConfigOf(config))?.index : undefined;
        const reading = stdin ? undefined : readFiles(files);
        // Typed at a terminal, not piped: say what it waits for, rather than seeming to hang.
        if (stdin && process.stdin.isTTY === true) process.stderr.write('reading events from standard input, one JSON object a line; end with Ctrl-D\n');
        // Each line is printed once decided (as text, or into the JSON), so memory stays flat however long the input.
        const streaming = !opts.json && !opts.jsonl && !compare;
        const json = opts.json && !compare ? jsonReportWriter((t) => void process.stdout.write(t)) : undefined;
        const jsonl = opts.jsonl ? jsonlReportWriter((t) => void process.stdout.write(t)) : undefined;
        const mode = progressMode({ streaming: streaming || json !== undefined || jsonl !== undefined, brief: opts.brief === true, stdoutTTY: process.stdout.isTTY === true, stderrTTY: process.stderr.isTTY === true, sized: size !== undefined });
        const progress = mode === 'none' ? { update: () => undefined, stop: () => undefined } : fileProgress(mode, stdin ? 'standard input' : opts.events, size, () => reading?.bytesRead() ?? 0);
        try {
          const report = await runRulesTest({
            lines: reading ? reading.lines : createInterface({ input: Readable.from(gunzipIfGzip(process.stdin, 'standard input')), crlfDelay: Infinity }),
            rules: buildRules(config),
            deliveringRules: deliveringRulesOf(rulesConfigOf(config)),
            thresholdSensors: thresholdSensorsOf(rulesConfigOf(config)),
            ...(zoneNames ? { zoneNames } : {}),
            ...(sensorUnits ? { sensorUnits } : {}),
            assets,
            defaultDestination,
            states,
            flush: opts.flush,
            idleMs: idleMsOf(rulesConfigOf(config)),
            maxFutureSkewMs: config.ingest.maxFutureSkewMs,
            maxAgeMs: config.ingest.maxAgeMs,
            maxPayloadBytes: config.ingest.maxPayloadBytes,
            ...(opts.brief ? { brief: true } : {}),
            ...(inventory ? { inventory } : {}),
            ...usageCalendarOf(config, 'usageCalendar'),
            ...(compare ? { ...usageCalendarOf(compare.config, 'compareUsageCalendar'), compare: compare.rules, compareDeliveringRules: deliveringRulesOf(rulesConfigOf(compare.config)), changedSections: changedRulesSections(rulesConfigOf(config), rulesConfigOf(compare.config)), compareThresholdSensors: thresholdSensorsOf(rulesConfigOf(compare.config)), compareIdleMs: compare.idleMs, compareZoneNames: compare.zoneNames, ...(compare.sensorUnits ? { compareSensorUnits: compare.sensorUnits } : {}), ...(compare.inventory ? { compareInventory: compare.inventory } : {}) } : {}),
            ...(opts.trace !== undefined ? { trace: opts.trace } : {}),
            ...(traceZones ? { traceZones } : {}),
            ...(opts.trace !== undefined && rulesConfigOf(config).maintenance?.thresholds.length ? { traceThresholds: rulesConfigOf(config).maintenance?.thresholds } : {}),
            ...(rulesConfigOf(config).maintenance?.alerts.length ? { alertRules: rulesConfigOf(config).maintenance?.alerts } : {}),
            ...(streaming ? { onLine: (l: RulesTestLine) => void process.stdout.write(formatLine(l, zoneOf)) } : json ? { onLine: json.line } : jsonl ? { onLine: jsonl.line } : {}),
            // Lines printed as decided: a pause in the input (a slow producer, events typed in) prints those read so far.
            ...(streaming || jsonl ? { decideAfterPauseMs: DECIDE_AFTER_PAUSE_MS } : {}),
            onProgress: (linesRead: number) => {
              progress.update(linesRead);
              jsonl?.flush();
            },
          });
          progress.stop();
          // A rule threw (a bug): what it threw on was set aside as the service would, and the run went
          // on; the exit status says so, as a dry run that could not decide everything is no pass.
          const failed = [report.ruleFailures, report.compareRuleFailures].filter((f) => f !== undefined);
          if (failed.length) {
            process.stderr.write(`a rule failed (a bug: please report it, with the lines concerned); the first, ${failed[0]?.first ?? ''}\n`);
            process.exitCode = 1;
          }
          if (compare) {
            process.stdout.write(
              opts.json
                ? `${toJson({ counts: report.counts, comparison: report.comparison, ...(report.rejectedByOne ? { rejectedByOne: report.rejectedByOne } : {}), ...(report.inventoryComparison ? { inventoryComparison: report.inventoryComparison } : {}), ...(report.usageComparison ? { usageComparison: report.usageComparison } : {}), ...(report.ruleFailures ? { ruleFailures: report.ruleFailures } : {}), ...(report.compareRuleFailures ? { compareRuleFailures: report.compareRuleFailures } : {}), ...(report.unseenSensors ? { unseenSensors: report.unseenSensors } : {}), ...(report.compareUnseenSensors ? { compareUnseenSensors: report.compareUnseenSensors } : {}) })}\n`
                : formatComparison(report, { current: configPath, proposed: opts.compare ?? '' }, { current: zoneOf, proposed: plannedZoneOf(rulesConfigOf(compare.config).maintenance?.windows) }, { fromStoredState: states.size > 0 }),
            );
            if (opts.exitCode && report.comparison && !sameOutcome(report)) process.exitCode = 1;
            // Nothing compared is no "no difference": a review check would pass on input the rules never saw
            // (assets only in a store this run has not got, a file of something else).
            if (opts.exitCode && report.counts.accepted === 0)
              throw new UsageError(
                `--exit-code: no event line of ${opts.events} was accepted (${report.counts.lines} read, ${report.counts.rejected} rejected), so the two configs were not compared on anything; ${report.inputHint !== undefined ? report.inputHint : 'run without --compare to see why each line is rejected (an asset unknown here: import the assets, or run where the store is)'}`,
              );
            return;
          }
          if (json) json.end(report);
          else if (jsonl) jsonl.end(report);
          else process.stdout.write(formatSummary(report, zoneOf, { fromStoredState: states.size > 0 }));
          // No line accepted: nothing was tested, which a script must not take for a pass (a file of
          // something else, assets only in a store this run has not got, a capture or redirect that
          // wrote nothing).
          if (report.counts.lines === 0) {
            process.stderr.write(`${opts.events === '-' ? 'standard input' : opts.events} held no event line (it is empty, or blank lines only), so the rules were tested on nothing; check what wrote it (a capture, a redirect) and run again\n`);
            process.exitCode = 2;
          } else if (report.counts.accepted === 0) {
            process.stderr.write(
              `no event line of ${opts.events} was accepted (${report.counts.lines} read, ${report.counts.rejected} rejected), so the rules were tested on nothing; ${report.inputHint !== undefined ? 'the summary says what the input is and what to do' : 'the report says why each line was rejected (an asset unknown here: import the assets, or run where the store is)'}\n`,
            );
            process.exitCode = 2;
          }
          const calendars = rulesConfigOf(config).maintenance?.calendarIntervals ?? [];
          if (calendars.length && !opts.json && !opts.jsonl) {
            const meters = calendars.some((c) => c.orMeter) ? ' (and the meter side of those that count hours or km too)' : '';
            process.stdout.write(`(calendar intervals — ${calendars.map((c) => c.name).join(', ')} — come due on the wall clock, not on events: the running service checks them${meters}; see 'assetbridge maintenance status')\n`);
          }
        } finally {
          progress.stop();
          reading?.close();
        }
      };
      if (storeExists(config)) await withConfigContext(config, configPath, ({ store }) => dryRun(store), { readOnly: true });
      else await dryRun(undefined);
    }),
  );

  addConfigOption(
    rules
      .command('list')
      .description('list the configured rules as compiled from the config')
      .option('--json', 'print JSON')
      .addHelpText('after', '\nExamples:\n  assetbridge rules list -c assetbridge.yaml\n  assetbridge rules list -c examples/rules/assetbridge.yaml --json'),
  ).action(
    // The config alone: opening the store would create an empty one where nothing has run yet.
    action((opts: { config: string; json?: boolean }) => {
      const r = rulesConfigOf(resolveConfig(opts.config).config);
      process.stdout.write(opts.json ? `${toJson(r)}\n` : `${table(describeRules(r))}${describeTiming(r)}\n`);
      return Promise.resolve();
    }),
  );
  return rules;
}
