/**
 * `assetbridge depreciation`: units-of-production inputs per asset and fiscal period.
 *
 * - `preview --period 2026-10` shows, per asset, period units, life-to-date units, expected units,
 *   (cost − salvage) × period units ÷ total expected units, and straight line beside it; as a
 *   table, or as CSV with `--csv` (to a file with `--out`). An asset held by a calendar change
 *   also shows the usage read since the hold began as a re-file would file it (held units,
 *   life-to-date and their units-of-production charge: three more columns, last in the CSV), never posted.
 * - `post --period 2026-10` posts the period's `usage.post` facts now instead of waiting for the
 *   period-end task (same business keys: posting twice, or after the task, adds nothing). Usage
 *   found after an earlier period was posted is included as a prior-period adjustment, and said so.
 *   Assets whose posted inputs are invalid are held back and named (`--force` posts them anyway).
 * - `refile` re-files the usage of assets held by a calendar change under the configured calendar
 *   (depreciation-refile.ts).
 * @module
 */
import type { Command } from 'commander';
import { durationText } from '../../config/duration.js';
import { NotFoundError, UsageError } from '../../core/errors/errors.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import { calendarOf } from '../../core/rules/index.js';
import { monthlyCalendar, type Period } from '../../core/rules/depreciation/calendar.js';
import { localDate } from '../../core/rules/time-zone.js';
import { formatAmount, formatMoney, usageCsv, type UsageUnits } from '../../core/rules/depreciation/usage.js';
import { CSV_FILE_BOM } from '../../core/csv.js';
import { depreciationMeterOf, type RulesConfig, type DepreciationConfig } from '../../config/rules-schema.js';
import { defaultDestinationOf, type Config } from '../../config/schema.js';
import {
  calendarChangeWarning,
  decidedMeanwhile,
  heldBackAssets,
  latestPostable,
  loadUsageLines,
  postUsage,
  recordOnDemandPosting,
  usageDeliveries,
  USAGE_NS,
  type AssetUsageLine,
  type UsageLoadOptions,
} from '../../engine/tasks/usage-posting.js';
import type { Store } from '../../ports/store.js';
import { checkpointRunningService, leftIngestLogWarning, replayLeftIngestLog, storedRuleStateAsOf } from './submit-event.js';
import type { AssetRecord } from '../../core/model/assets.js';
import { action, isoTime, addConfigOption, checkOutputOptions, CSV_OUTPUT, refuseStoreAsOut, resolveConfig, table, toJson, withConfigContext, writeOut, OUT_FILE_HELP } from '../context.js';
import { rulesConfigOf } from './rules.js';
import { registerRefileCommand } from './depreciation-refile.js';
import { assetNameNote, NO_SUCH_ASSET, resolveAssetName } from './asset-name.js';
import { matchesFilter } from '../../core/rules/maintenance/types.js';

function depreciationOf(rules: RulesConfig): DepreciationConfig {
  if (!rules.depreciation) throw new UsageError('depreciation is not configured (add a rules.depreciation section to the config)');
  return rules.depreciation;
}

/** What `--period` takes, for --help (the config is not read there): a period id of either calendar kind. */
export const PERIOD_HELP =
  'a fiscal period id of the configured calendar (rules.depreciation.periods): with periods: monthly, a month YYYY-MM in rules.depreciation.timeZone (e.g. 2026-10); with a list of periods, one of the listed ids as written (e.g. FY27-P01)';

/** Listed periods an unknown id's error names all of; a longer list is shown around the current period. */
const PERIODS_SHOWN = 12;

export function resolvePeriod(d: DepreciationConfig, id: string, now = Date.now()): Period {
  const calendar = calendarOf(d);
  const period = calendar.period(id);
  if (period) return period;
  // Not a month at all: written wrong (2). A listed calendar's id it does not list: a name that names nothing (1).
  if (d.periods === 'monthly') throw new UsageError(unknownPeriodText(d, id, now));
  throw new NotFoundError(unknownPeriodText(d, id, now));
}

/**
 * Why `--period` names no period, with what the configured calendar's ids look like and the ones
 * near now: the current period and the last one ended (a monthly calendar), or the listed ids (around
 * the current one for a long list) and one that differs from the id given only in case, spaces or
 * punctuation. Pure.
 */
export function unknownPeriodText(d: DepreciationConfig, id: string, now: number): string {
  const calendar = calendarOf(d);
  const current = calendar.periodAt(now);
  const ended = latestPostable(calendar, now, 0);
  const near = [current ? `the current period is ${current.id}` : '', ended ? `the last ended is ${ended.id}` : ''].filter(Boolean).join(', ');
  if (d.periods === 'monthly') return `--period "${id}" is not a month; the calendar is monthly (rules.depreciation.periods) in ${d.timeZone}: write YYYY-MM, e.g. ${ended?.id ?? current?.id ?? '2026-10'}${near ? ` (${near})` : ''}`;
  const ids = d.periods.map((p) => p.id);
  const squash = (t: string) => t.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
  const like = ids.find((p) => squash(p) === squash(id));
  let shown = ids;
  if (ids.length > PERIODS_SHOWN) {
    const at = Math.max(0, ids.indexOf((current ?? ended)?.id ?? ids[0] ?? ''));
    const from = Math.max(0, Math.min(at - PERIODS_SHOWN / 2, ids.length - PERIODS_SHOWN));
    shown = [...(from > 0 ? ['…'] : []), ...ids.slice(from, from + PERIODS_SHOWN), ...(from + PERIODS_SHOWN < ids.length ? ['…'] : [])];
  }
  return (
    `--period "${id}" is not in the configured calendar (rules.depreciation.periods: a list of ${ids.length} period(s), named by their ids as written)` +
    `${like !== undefined ? `; did you mean "${like}"?` : (monthHint(d, id) ?? '')}; periods: ${shown.join(', ')}${ids.length > PERIODS_SHOWN ? ` (${ids[0]} to ${ids.at(-1)})` : ''}${near ? `; ${near}` : ''}`
  );
}

/**
 * A month (`2026-10`) given to a calendar of listed periods: the listed periods that overlap it, with
 * their local days, as a fiscal period rarely is a month (a 4-4-5 period starts on its own day).
 * Undefined when `id` is no month, or none of the listed periods overlaps it.
 */
function monthHint(d: DepreciationConfig, id: string): string | undefined {
  const month = monthlyCalendar(d.timeZone).period(id);
  if (!month) return undefined;
  const calendar = calendarOf(d);
  const overlap = (d.periods === 'monthly' ? [] : d.periods)
    .map((p) => calendar.period(p.id))
    .filter((p): p is Period => p !== undefined && p.start < month.end && p.end > month.start);
  if (overlap.length === 0) return undefined;
  const days = (p: Period) => `${p.id} (${localDate(p.start, d.timeZone)} to ${localDate(p.end - 1, d.timeZone)})`;
  return `; ${id} is a month, and the calendar's periods are not months: ${overlap.length === 1 ? 'the period in it is' : 'the periods in it are'} ${overlap.map(days).join(', ')}`;
}

/**
 * The period `depreciation preview` shows without `--period`: the most recent period of the
 * configured calendar that has ended at `now` (after a listed calendar's end, its last period).
 */
export function defaultPreviewPeriod(d: DepreciationConfig, now: number): Period {
  const period = latestPostable(calendarOf(d), now, 0);
  if (!period) throw new UsageError('no period of the configured calendar (rules.depreciation.periods) has ended yet: give the one to preview with --period');
  return period;
}

/**
 * The store context for a command on one `--period`: depreciation configured and the period one of
 * its calendar are checked first, so a mistyped period is said before a missing store is. `before`
 * runs after those checks, before the store is opened (`post` replays a crash's ingest log there).
 */
async function withDepreciationPeriod(
  configPath: string,
  periodId: string | undefined,
  fn: (ctx: Parameters<Parameters<typeof withConfigContext<void>>[2]>[0], period: Period) => Promise<void>,
  access: { readOnly?: boolean } = {},
  before?: (config: Config, path: string, period: Period) => Promise<void>,
): Promise<void> {
  const { config, configPath: path } = resolveConfig(configPath);
  const d = depreciationOf(rulesConfigOf(config));
  // No --period (preview only): the most recent closed period (said by the preview).
  const period = periodId !== undefined ? resolvePeriod(d, periodId) : defaultPreviewPeriod(d, Date.now());
  await before?.(config, path, period);
  // A store that does not exist yet is a wrong --config (or nothing has run): creating it empty
  // would preview or post nothing and say so as if all were well.
  return withConfigContext(config, path, (ctx) => fn(ctx, period), { existingStore: true, ...access });
}

/**
 * The asset `depreciation preview --asset NAME` names (see {@link resolveAssetName}), by its ERP
 * asset id; refused when the registry has no asset of that name, or depreciation does not apply to
 * it (`rules.depreciation.appliesTo`): it would have no line.
 */
export async function previewedAsset(store: Pick<Store, 'listAssets'>, d: DepreciationConfig, name: string): Promise<string> {
  const assets = await store.listAssets();
  const match = resolveAssetName(assets, name);
  if (match === undefined) throw new NotFoundError(`no asset "${name}" in the registry ${NO_SUCH_ASSET}`);
  const note = assetNameNote(name, match);
  if (note) process.stderr.write(note);
  const record = assets.find((a) => a.asset.erpAssetId === match.erpAssetId)?.asset;
  if (record === undefined || !matchesFilter(record, d.appliesTo)) throw new NotFoundError(`depreciation does not apply to asset ${match.erpAssetId} (rules.depreciation.appliesTo)`);
  return match.erpAssetId;
}

/** What {@link leftIngestLogWarning} says replays the log for `preview` and `post --dry-run`. */
const POST_REPLAYS = "'depreciation post' replays them into it before it posts (its posting includes them)";

/**
 * `name`: one asset only, named by its ERP id or any identifier the registry maps to it, or as
 * {@link previewedAsset} resolved it already. `force`: plan the postings of assets with invalid
 * inputs as well (`depreciation post --force`), instead of holding them back as
 * `rules.depreciation.holdBack` says.
 */
export async function previewDepreciation(store: Store, rules: RulesConfig, periodId: string, defaultDestination: string, now: number, name?: string | { readonly erpAssetId: string }, force = false): Promise<AssetUsageLine[]> {
  const d = depreciationOf(rules);
  const period = resolvePeriod(d, periodId, now);
  const asset = name === undefined ? undefined : typeof name === 'string' ? await previewedAsset(store, d, name) : name.erpAssetId;
  const lines = await loadUsageLines(store, usageLoadOptionsOf(d, defaultDestination, force), period, now, { deliveries: true, ...(asset ? { only: (a: AssetRecord) => a.erpAssetId === asset } : {}) });
  const calendarChange = await calendarChangeWarning(store, calendarOf(d), d.appliesTo);
  if (calendarChange) process.stderr.write(`warning: ${calendarChange.key}: ${calendarChange.message}\n`);
  const first = await firstPostingNote(store, d, period, now);
  return first === undefined ? lines : lines.map((l) => (l.plan.kind === 'new' && l.ledgerRaw === undefined && l.line.tracked ? { ...l, line: { ...l.line, notes: [...l.line.notes, first] } } : l));
}

/** How `preview` and `post` read usage lines (`force`: not holding back assets with invalid inputs). */
function usageLoadOptionsOf(d: DepreciationConfig, defaultDestination: string, force: boolean): UsageLoadOptions {
  return {
    calendar: calendarOf(d),
    attributes: d.attributes,
    units: { hours: d.unit, km: d.kmUnit },
    defaultDestination,
    meterOf: depreciationMeterOf(d),
    holdBack: d.holdBack && !force,
    ...(d.appliesTo ? { appliesTo: d.appliesTo } : {}),
  };
}

/**
 * On a store the service has not posted from yet, of a period before the one its first check posts
 * (the latest whose rules.depreciation.postAfter has passed; not older history): that it will not be
 * posted as its own period unless posted on demand first, and the command that does, for the lines of
 * assets with no posting yet. Undefined otherwise.
 */
async function firstPostingNote(store: Store, d: DepreciationConfig, period: Period, now: number): Promise<string | undefined> {
  if ((await store.kvGet(USAGE_NS, 'lastPosted')) !== undefined) return undefined;
  const first = latestPostable(calendarOf(d), now, d.postAfter);
  if (first === undefined || period.start >= first.start) return undefined;
  return `not posted yet, and the service's first posting is of ${first.id}, not earlier periods: this period's units would then be in the life-to-date of later postings only; to post it as its own period, run 'assetbridge depreciation post --period ${period.id}' before then (each earlier period first, oldest first)`;
}

/**
 * The preview as JSON. `periodStart` and `periodEnd` are no `…At` fields, so they are written as
 * times here, as toJson writes those (a blanket `…End` rule would take `meterAtEnd` for a time).
 */
export function previewJson(lines: readonly AssetUsageLine[]): string {
  return toJson(lines.map(({ line }) => ({ ...line, periodStart: isoTime(line.periodStart), periodEnd: isoTime(line.periodEnd) })));
}

const fmt = (v: number | null, digits = 2) => (v === null ? '-' : formatAmount(v, digits));
/** An amount of money in the table: always 2 decimals (`2,324.40`, `800.00`), so a column reads as currency and lines up. */
const money = (v: number | null) => (v === null ? '-' : formatMoney(v));

export function formatPreview(lines: readonly AssetUsageLine[], units: UsageUnits): string {
  if (lines.length === 0) return 'no assets\n';
  // Usage read while an asset is held by a calendar change, as a re-file would file it: columns of
  // their own (only when a line has some), so UNITS and LIFE TO DATE stay what is filed and posted.
  const anyHeld = lines.some((l) => l.line.held !== undefined);
  const heldHead = anyHeld ? ['HELD UNITS', 'HELD LIFE TO DATE'] : [];
  // What the held units would charge once re-filed, beside the line's own charge (0.00 while held).
  const heldUopHead = anyHeld ? ['HELD UOP'] : [];
  const rows: (string | number)[][] = [['ASSET', 'PERIOD', 'UNITS', 'LIFE TO DATE', ...heldHead, 'EXPECTED', 'COST', 'SALVAGE', 'UNITS OF PRODUCTION', ...heldUopHead, 'STRAIGHT LINE', 'NOTES']];
  // A total of the lines that have a figure; none has one (no inputs, no straight line before the
  // calendar): '-' as in each line, not 0.00, which reads as a charge of nothing.
  let uop: number | null = null;
  let sl: number | null = null;
  // And of what the held usage would charge once re-filed: beside the total posted, what a re-file adds.
  let heldUopTotal: number | null = null;
  const sum = (total: number | null, v: number | null) => (v === null ? total : (total ?? 0) + v);
  for (const { line: l } of lines) {
    uop = sum(uop, l.unitsOfProduction);
    sl = sum(sl, l.straightLine);
    if (l.held !== undefined) heldUopTotal = sum(heldUopTotal, l.held.unitsOfProduction);
    const u = ` ${units[l.meter]}`;
    const held = !anyHeld ? [] : l.held === undefined ? ['', ''] : [fmt(l.held.units, 3) + u, l.held.lifeToDateUnits === null ? '-' : fmt(l.held.lifeToDateUnits, 3) + u];
    const heldUop = !anyHeld ? [] : l.held === undefined ? [''] : [money(l.held.unitsOfProduction)];
    rows.push([l.erpAssetId, l.period, fmt(l.periodUnits, 3) + u, l.lifeToDateUnits === null ? '-' : fmt(l.lifeToDateUnits, 3) + u, ...held, l.totalExpectedUnits === null ? '-' : fmt(l.totalExpectedUnits, 3) + u, money(l.cost), money(l.salvage), money(l.unitsOfProduction), ...heldUop, money(l.straightLine), l.notes.join('; ')]);
  }
  const cents = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
  rows.push(['TOTAL', '', '', '', ...heldHead.map(() => ''), '', '', '', money(cents(uop)), ...heldUopHead.map(() => money(cents(heldUopTotal))), money(cents(sl)), '']);
  return table(rows);
}

/**
 * What the preview says when it has no line: the registry is empty, or `rules.depreciation.appliesTo`
 * selects none of its `registered` assets (a filter that names a module or attribute value no asset has).
 */
export function noAssetsText(registered: number): string {
  return registered === 0
    ? "no assets: the registry has none yet (the config's assets.inline or assets.files, or 'assetbridge assets import')\n"
    : `no assets: rules.depreciation.appliesTo selects none of the ${registered} asset(s) in the registry ('assetbridge assets list' shows their modules and attributes)\n`;
}

/** One line per asset whose posting includes units of earlier, already-posted periods. */
export function formatAdjustments(lines: readonly AssetUsageLine[], units: UsageUnits): string {
  return lines
    .filter((l) => l.plan.kind !== 'covered' && l.plan.kind !== 'held' && l.line.adjustmentUnits > 0)
    .map(({ line: l }) => `  ${l.erpAssetId}: ${l.period} includes ${fmt(l.adjustmentUnits, 3)} ${units[l.meter]} found after posting, from ${l.adjustmentPeriods.map((p) => `${p.period} (${fmt(p.units, 3)})`).join(', ')}\n`)
    .join('');
}

/** The assets whose postings are held back (invalid inputs, another calendar), each with why and what to do. */
export function formatHeldBack(lines: readonly AssetUsageLine[]): string {
  const held = heldBackAssets(lines);
  if (!held.length) return '';
  return (
    `${held.length} asset(s) held back, not posted: fix what each says and post again (an invalid attribute: with assets import or in the config's assets; or send those as they are with --force, see rules.depreciation.holdBack):\n` +
    held.map((h) => `  ${h}\n`).join('')
  );
}

/**
 * The assets `post` has nothing to post for, as they have no meter reading in or before the period:
 * said, so an asset missing from the postings is not taken for one lost (a few named, then counted).
 */
export function formatWithoutReadings(lines: readonly AssetUsageLine[], periodId: string): string {
  const ids = lines.filter((l) => l.plan.kind === 'new' && !l.line.tracked).map((l) => l.asset.erpAssetId);
  if (ids.length === 0) return '';
  const shown = ids.slice(0, 10).join(', ');
  return `${ids.length} asset(s) without meter readings in or before ${periodId}, so nothing to post for them: ${shown}${ids.length > 10 ? `, … (${ids.length - 10} more; 'depreciation preview --csv' lists them)` : ''}\n`;
}

/**
 * Of the periods posted already, those the ERP does not have (yet): queued, or a dead letter (the
 * ERP refused it). Said, so "posted already" is not taken for "in the ERP".
 */
export function formatUndelivered(decided: readonly AssetUsageLine[], periodId: string): string {
  const open = decided.filter((l) => l.delivery && l.delivery.status !== 'delivered');
  if (open.length === 0) return '';
  const stand = (l: AssetUsageLine) => {
    const d = l.delivery as NonNullable<AssetUsageLine['delivery']>;
    return d.status === 'dead' ? `dead letter ${d.id}` : d.status === 'discarded' ? `dead letter ${d.id}, discarded` : 'queued';
  };
  const shown = open.slice(0, 10).map((l) => `${l.asset.erpAssetId} (${stand(l)})`).join(', ');
  const dead = open.filter((l) => l.delivery?.status === 'dead');
  return (
    `  of those, ${open.length} not delivered to the ERP: ${shown}${open.length > 10 ? `, … (${open.length - 10} more)` : ''}; 'depreciation preview --period ${periodId}' says why` +
    `${dead.length ? `; fix the cause, then 'assetbridge dlq replay ${dead.slice(0, 10).map((l) => l.delivery?.id).join(' ')}'` : ''}\n`
  );
}

/** The ingest settings {@link latenessWarning} reads. */
export interface IngestTiming {
  readonly checkpointMs: number;
}

/**
 * A period that ended so lately that a running service may still hold readings of it: rules hold an
 * asset's newest events for `rules.allowedLateness` (event time), or until it has been silent for
 * `rules.idleAfter` (at least the lateness; 0: until its next reading), and the rule state they make
 * is stored at the ingestor's next checkpoint (`ingest.checkpointMs`, a spread one within twice
 * that). What `post` reads now misses those; they go into the asset's next posting. The warning
 * names the keys and until when; undefined once that time has passed (or nothing is held).
 */
export function latenessWarning(period: Period, now: number, rules: Pick<RulesConfig, 'allowedLateness' | 'idleAfter'>, ingest: IngestTiming, dryRun: boolean): { key: string; message: string } | undefined {
  const lateness = rules.allowedLateness;
  const idle = lateness > 0 && rules.idleAfter > 0 ? Math.max(rules.idleAfter, lateness) : 0;
  const until = period.end + Math.max(lateness, idle) + 2 * ingest.checkpointMs;
  if (now >= until) return undefined;
  const held =
    lateness === 0
      ? `the rule state a running service holds in memory is stored at its next checkpoint (ingest.checkpointMs ${durationText(ingest.checkpointMs)})`
      : `a running service holds each asset's newest readings for rules.allowedLateness (${durationText(lateness)} of event time)` +
        (idle > 0 ? ` or until the asset has been silent for rules.idleAfter (${durationText(idle)})` : ' (rules.idleAfter 0: an asset silent since keeps them until its next reading)') +
        `, then stores them at its next checkpoint (ingest.checkpointMs ${durationText(ingest.checkpointMs)})`;
  return {
    key: lateness === 0 ? 'ingest.checkpointMs' : idle > 0 ? 'rules.allowedLateness, rules.idleAfter' : 'rules.allowedLateness',
    message:
      `${period.id} ended at ${isoTime(period.end)}, ${durationText(Math.max(0, Math.round((now - period.end) / 1000)) * 1000)} ago, and readings of it may still arrive until about ${isoTime(until)}: ${held}. ` +
      `Those are not in ${dryRun ? 'what this would post' : 'this posting'}: they go into each asset's next posting as a prior-period adjustment. ` +
      `To have them in ${period.id}'s posting, post after ${isoTime(until)} (the service posts it itself rules.depreciation.postAfter after the period ends)`,
  };
}

/** What `depreciation post --json` prints: what the text says, one entry per asset. */
export function postJson(r: {
  readonly period: string;
  readonly dryRun: boolean;
  readonly deliveries: readonly DeliveryIntent[];
  readonly decided: readonly AssetUsageLine[];
  readonly meanwhile: number;
  readonly covered: readonly AssetUsageLine[];
  readonly lines: readonly AssetUsageLine[];
  readonly units: UsageUnits;
}): string {
  const postings = r.deliveries.map((x) => ({ erpAssetId: x.erpAssetId, destination: x.destination, businessKey: x.businessKey, ...x.payload }));
  return toJson({
    period: r.period,
    dryRun: r.dryRun,
    [r.dryRun ? 'wouldQueue' : 'queued']: postings,
    postedAlready: r.decided.map((l) => ({ erpAssetId: l.asset.erpAssetId, ...(l.delivery ? { delivery: { id: l.delivery.id, status: l.delivery.status } } : {}) })),
    postedMeanwhile: r.meanwhile,
    postedForLaterPeriod: r.covered.map((l) => ({ erpAssetId: l.asset.erpAssetId, through: l.plan.kind === 'covered' ? l.plan.through : null })),
    heldBack: r.lines.flatMap((l) => (l.plan.kind === 'held' ? [{ erpAssetId: l.asset.erpAssetId, reason: l.plan.reason }] : [])),
    withoutReadings: r.lines.filter((l) => l.plan.kind === 'new' && !l.line.tracked).map((l) => l.asset.erpAssetId),
    adjustments: r.lines
      .filter((l) => l.plan.kind !== 'covered' && l.plan.kind !== 'held' && l.line.adjustmentUnits > 0)
      .map(({ line: l }) => ({ erpAssetId: l.erpAssetId, period: l.period, units: l.adjustmentUnits, unit: r.units[l.meter], from: l.adjustmentPeriods })),
  });
}

/** The usage postings `post` queued (or would queue), one row each. */
function postingRows(deliveries: readonly DeliveryIntent[]): string {
  const num = (v: unknown, unit: unknown) => (typeof v === 'number' ? `${fmt(v, 3)} ${String(unit)}` : '-');
  return table([
    ['ASSET', 'PERIOD', 'UNITS', 'LIFE TO DATE', 'EXPECTED'],
    ...deliveries.map((x) => [x.erpAssetId, String(x.payload.period), num(x.payload.periodUnits, x.payload.unit), num(x.payload.lifeToDateUnits, x.payload.unit), num(x.payload.totalExpectedUnits, x.payload.unit)]),
  ]);
}

export function registerDepreciationCommand(program: Command): Command {
  const dep = program.command('depreciation').description('usage-based depreciation: units per fiscal period for the ERP asset register');
  addConfigOption(
    dep
      .command('preview')
      .description('per asset: (cost − salvage) × period units ÷ total expected units, beside straight line')
      .option('--period <id>', `${PERIOD_HELP} (default: the most recent closed period of the configured calendar)`)
      .option('--asset <asset>', 'one asset only: its ERP asset id, or any identifier of it (tag, PIN, ...)')
      .option('--csv', 'print CSV instead of a table')
      .option('--out <file>', `write the CSV to a file (${OUT_FILE_HELP})`)
      .option('--json', 'print JSON')
      .addHelpText(
        'after',
        '\nUsage comes from the stored rule state: a running service stores it at its checkpoints (ingest.checkpointMs), so right after intake it can be behind the latest reading that assets meters and maintenance status show; the table ends saying as of when.\n\n' +
          'Examples:\n  assetbridge depreciation preview\n  assetbridge depreciation preview --period 2026-10 --csv --out usage-2026-10.csv',
      ),
  ).action(
    action(async (opts: { config: string; period?: string; asset?: string; csv?: boolean; out?: string; json?: boolean }) => {
      checkOutputOptions(opts, CSV_OUTPUT);
      await withDepreciationPeriod(opts.config, opts.period, async ({ config, store }, period) => {
        const rules = rulesConfigOf(config);
        // The arguments first: a refused one is said alone, not after the note on the period.
        if (opts.out !== undefined) refuseStoreAsOut(opts.out, config.store.path);
        const asset = opts.asset !== undefined ? { erpAssetId: await previewedAsset(store, depreciationOf(rules), opts.asset) } : undefined;
        // Without --period, which period this is, on stderr so the output is not taken for another's.
        if (opts.period === undefined) process.stderr.write(`period ${period.id}: the most recent closed period of the configured calendar (--period for another)\n`);
        const defaultDestination = defaultDestinationOf(config);
        const lines = await previewDepreciation(store, rules, period.id, defaultDestination, Date.now(), asset);
        const left = await leftIngestLogWarning(store, POST_REPLAYS);
        if (left) process.stderr.write(`${left}\n`);
        if (opts.json) return void process.stdout.write(`${previewJson(lines)}\n`);
        if (opts.csv || opts.out) {
          const csv = usageCsv(lines.map((l) => l.line));
          if (opts.out) {
            writeOut(opts.out, CSV_FILE_BOM + csv, config.store.path);
            process.stdout.write(`wrote ${lines.length} row(s) to ${opts.out}\n`);
          } else process.stdout.write(csv);
          return;
        }
        const dep = depreciationOf(rules);
        if (lines.length === 0) return void process.stdout.write(noAssetsText((await store.listAssetRecords()).length));
        process.stdout.write(formatPreview(lines, { hours: dep.unit, km: dep.kmUnit }));
        // Usage comes from the stored rule state, as of the last checkpoint: it may be behind the latest reading.
        process.stdout.write(await storedRuleStateAsOf(store));
      }, { readOnly: true });
    }),
  );
  addConfigOption(
    dep
      .command('post')
      .description('post the period’s usage to the ERP now (exactly once per asset and period, whoever posts first)')
      .requiredOption('--period <id>', `a fiscal period that has ended (required): ${PERIOD_HELP}`)
      .option('--dry-run', 'show what would be posted')
      .option('--force', 'also post assets whose inputs are invalid (expected units, units at acquisition), which are held back by default (rules.depreciation.holdBack)')
      .option('--json', 'print JSON: the postings queued (with --dry-run, that would be), the assets that posted it already, held back (with why), posted for a later period or without readings, and the adjustments carried; warnings stay on stderr')
      .addHelpText('after', '\nExamples:\n  assetbridge depreciation post --period 2026-10 --dry-run\n  assetbridge depreciation post --period 2026-10'),
  ).action(
    action(async (opts: { config: string; period: string; dryRun?: boolean; force?: boolean; json?: boolean }) => {
      const ended = (period: Period, now: number): void => {
        if (now < period.end) throw new UsageError(`period ${period.id} has not ended (it ends ${isoTime(period.end)}); usage is posted once per period, after it ends`);
      };
      // With no service running, readings a crash left in the ingest log are replayed into the
      // stored state first (under the store lease, as a start does): they belong to this period by
      // event time, and a period posted without them is not posted again. A dry run changes
      // nothing: it says they are left out instead.
      const replayFirst = async (config: Config, path: string, period: Period): Promise<void> => {
        ended(period, Date.now());
        if (!opts.dryRun) await replayLeftIngestLog(config, path, 'assetbridge depreciation post', `${period.id} is posted`, { existingStore: true });
      };
      await withDepreciationPeriod(opts.config, opts.period, async ({ config, store }) => {
        const rules = rulesConfigOf(config);
        const d = depreciationOf(rules);
        const period = resolvePeriod(d, opts.period);
        const now = Date.now();
        ended(period, now);
        // A running service stores the readings it holds in memory first, as its own posting does.
        if (!opts.dryRun) await checkpointRunningService(store, 'depreciation post');
        const defaultDestination = defaultDestinationOf(config);
        const lines = await previewDepreciation(store, rules, opts.period, defaultDestination, now, undefined, opts.force === true);
        const left = opts.dryRun ? await leftIngestLogWarning(store, POST_REPLAYS) : undefined;
        if (left) process.stderr.write(`${left}\n`);
        const late = latenessWarning(period, now, rules, config.ingest, opts.dryRun === true);
        // Periods decided before (by the service or an earlier post, also before a later posting):
        // their facts are committed again, which adds nothing, so they are reported as posted
        // already, not as queued.
        const decided = lines.filter((l) => l.plan.kind === 'decided' || (l.plan.kind === 'covered' && l.delivery));
        const before = new Set(usageDeliveries(decided).map((x) => x.businessKey));
        const all = opts.dryRun
          ? usageDeliveries(lines.filter((l) => l.plan.kind === 'new'))
          : await postUsage(
              store,
              (list) => store.commitIngest({ states: [], deliveries: list, quarantine: [], accepted: 0 }),
              lines,
              period,
              // Assets the running service posted an earlier period of meanwhile: planned again from that posting.
              (ids) => loadUsageLines(store, usageLoadOptionsOf(d, defaultDestination, opts.force === true), period, now, { deliveries: true, only: (a) => ids.has(a.erpAssetId) }),
            );
        const deliveries = all.filter((x) => !before.has(x.businessKey));
        // Assets the running service's period-end check posted between our read and our commit.
        const meanwhile = opts.dryRun ? 0 : decidedMeanwhile(lines, all);
        const postedMeanwhile = meanwhile ? `${meanwhile} asset(s) posted it meanwhile, by the running service (not sent again)\n` : '';
        const assets = new Set(deliveries.filter((x) => x.payload.period === period.id).map((x) => x.erpAssetId)).size;
        // Said only when this run posts (or would post) the period for some asset: a period posted
        // before is not changed by readings that arrive now, whoever posted it.
        if (late && assets > 0) process.stderr.write(`warning: ${late.key}: ${late.message}\n`);
        const earlier = deliveries.length - assets;
        if (!opts.dryRun && deliveries.length > 0) await recordOnDemandPosting(store, { at: now, period: period.id, postings: deliveries.length });
        // Posted for a later period, with no posting of this one (the service's first check posts only the latest
        // closed period, not older history): said as not posted, not as posted before. Those without readings had nothing to post.
        const covered = lines.filter((l) => l.plan.kind === 'covered' && !l.delivery && l.line.tracked);
        const coveredThrough = [...new Set(covered.map((l) => (l.plan.kind === 'covered' ? l.plan.through : '')))];
        if (opts.json) return void process.stdout.write(`${postJson({ period: period.id, dryRun: opts.dryRun === true, deliveries, decided, meanwhile, covered, lines, units: { hours: d.unit, km: d.kmUnit } })}\n`);
        const already = decided.length ? `${decided.length} asset(s) posted it already (not sent again)\n` + formatUndelivered(decided, period.id) : '';
        process.stdout.write(
          (deliveries.length === 0 && (decided.length > 0 || meanwhile > 0)
            ? `nothing new to post for ${period.id}: ${already}${postedMeanwhile}`
            : deliveries.length === 0
              ? `${opts.dryRun ? 'would post nothing' : 'queued nothing'} for ${period.id}\n`
              : `${opts.dryRun ? 'would post' : 'queued'} usage for ${assets} asset(s) for ${period.id}` +
              `${earlier ? `, and ${earlier} posting(s) of earlier periods not posted yet` : ''}` +
              `${opts.dryRun ? '' : '; a running service delivers them'}\n` +
              (deliveries.length ? postingRows(deliveries) : '') +
              already +
              postedMeanwhile) +
            (covered.length
              ? `${covered.length} asset(s) have no posting of ${period.id} but one of a later period (${coveredThrough.length === 1 ? coveredThrough[0] : 'see depreciation preview'}): ${period.id} is not posted for them, as postings are made in period order, once each (its units are in the life-to-date of their later postings)\n`
              : '') +
            formatAdjustments(lines, { hours: d.unit, km: d.kmUnit }) +
            formatHeldBack(lines) +
            formatWithoutReadings(lines, period.id),
        );
      }, {}, replayFirst);
    }),
  );
  registerRefileCommand(dep, depreciationOf);
  return dep;
}
