/**
 * `assetbridge assets meters`: per asset, the meter readings the ERP was last sent (hours, idle
 * hours, odometer; the newest accepted, marked not sent, for an asset `rules.meters` leaves out) and the readings meter hygiene set aside (went backwards, ran too fast,
 * stalled, came out of order) with the reason, so "why does the ERP not show the new hours?"
 * has an answer.
 * @module
 */
import type { Command } from 'commander';
import { NotFoundError, UsageError } from '../../core/errors/errors.js';
import { readAmount } from '../../core/rules/depreciation/inputs.js';
import type { RulesConfig } from '../../config/rules-schema.js';
import { beforeReplacementNote, flagMeter, lastReplacementAt, meterSyncSends, ODOMETER_FLAG, replacedAfter, withoutDeclareAdvice, type MeterFlag, type MeterSyncState } from '../../core/rules/meter-sync.js';
import { adviceFor } from '../../core/rules/meter-hygiene.js';
import type { Store } from '../../ports/store.js';
import { action, isoTime, addConfigOption, resolveConfig, table, toJson, withConfigContext, withContext } from '../context.js';
import { recordOperatorEvent, storedRuleStateAsOf, warnOfLeftIngestLog } from './submit-event.js';
import { parseIsoTime } from '../../core/normalize/iso-time.js';
import { NO_SUCH_ASSET, resolveAssetArg } from './asset-name.js';

export interface MeterRow {
  readonly erpAssetId: string;
  /**
   * Why meter sync sends none of this asset's readings now (`rules.meters.enabled: false`, or its
   * `appliesTo` leaves the asset out): `hours` and `odometer` are then the newest readings meter
   * hygiene accepted, which the ERP may not have. Absent: they are sent.
   */
  readonly notSent?: string;
  /** The last hour-meter reading sent (with what came with it). */
  readonly hours?: { readonly value: number; readonly idleHours?: number; readonly odometerKm?: number; readonly at: number };
  /** The last odometer-only reading sent (vehicles without an hour meter). */
  readonly odometer?: { readonly value: number; readonly at: number };
  /** Readings set aside, all time, by reason (not one still held: see `recent`). */
  readonly setAside: Readonly<Record<string, number>>;
  /**
   * The newest ones, newest last; with them a reading held as a catch-up (ahead of the wall clock
   * since the meter last showed its value): `held` while it awaits the next reading, `confirmed
   * catch-up` once the next reading continued from it (counted and sent); neither is set aside
   * (not in `setAside`). One the next reading refuted is `too-fast`, set aside.
   */
  readonly recent: readonly {
    readonly status: string;
    readonly detail: string;
    readonly at: number;
    readonly source: string;
    /**
     * The meter replacement (its time) that explains this reading: set aside as against the old
     * meter (a replacement declared late, `reset-meter --at` in the past), taken on the new one since.
     */
    readonly explainedByResetAt?: number;
    /**
     * The meter replacement (its time) declared since, after this reading: the reading was the old
     * meter's and stays set aside, readings from then on count on the new meter; the advice to
     * declare a replacement is left out of `detail` (it was declared).
     */
    readonly replacedAfterAt?: number;
  }[];
}

/**
 * When a replacement declared later explains `f`: a reading after the replacement judged against
 * one before it (the old meter), so set aside before the replacement was declared.
 */
function explainingReset(f: MeterFlag, m: MeterSyncState): number | undefined {
  if (f.status !== 'backwards' && f.status !== 'too-fast') return undefined;
  const reset = lastReplacementAt(m, flagMeter(f));
  return reset !== undefined && f.previousEventTime < reset && f.eventTime >= reset ? reset : undefined;
}

/**
 * When a replacement declared since was after `f`, whose reason advises declaring one: `f` was set
 * aside on the old meter and stays so; the advice is out of date.
 */
function laterReset(f: MeterFlag, m: MeterSyncState): number | undefined {
  return replacedAfter(m, flagMeter(f), f.eventTime, f.detail);
}

/** The status of a held reading the next reading confirmed (a frozen feed catching up): counted, not set aside. */
export const CONFIRMED = 'confirmed catch-up';

/** The status of a reading hygiene holds as a possible catch-up, awaiting the next reading: not set aside (yet). */
export const HELD = 'held';

/** What the report says of a held reading, as `maintenance status` does. */
const HELD_NOTE = 'held, awaiting the next reading';

/**
 * Whether hygiene still holds the reading of `f` (`holdCatchUp`), awaiting the next reading: not
 * confirmed, and the meter's (or odometer's) hygiene holds that very reading.
 */
function stillHeld(f: MeterFlag, m: MeterSyncState): boolean {
  if (f.held !== true || f.confirmedAt !== undefined) return false;
  const hygiene = flagMeter(f) === 'km' ? m.odometer?.hygiene : m.hygiene;
  const jump = hygiene?.jumpHeld === true ? hygiene.jump : undefined;
  return jump !== undefined && jump.eventTime === f.eventTime && jump.value === f.value;
}

/** What a confirmed catch-up says: what was held, and that it counted. */
function confirmedDetail(f: MeterFlag): string {
  const odometer = flagMeter(f) === 'km';
  const unit = odometer ? 'km' : 'h';
  return `${odometer ? ODOMETER_FLAG : ''}reading ${f.value} ${unit}, ahead of the wall clock since ${f.previousValue} ${unit} was last shown, held until the next reading, which continued from it (${isoTime(f.confirmedAt as number)}): a feed that froze and caught up, counted and sent from ${f.previousValue} ${unit} (${isoTime(f.previousEventTime)}), not set aside`;
}

/** The meter report from the `meter` rule's state of each asset (or one). */
export async function loadMeterReport(
  store: Pick<Store, 'listAssetRecords' | 'listAssets' | 'loadRuleStates'>,
  opts: { asset?: string; flagged?: boolean; meters?: RulesConfig['meters'] } = {},
): Promise<MeterRow[]> {
  const records = await store.listAssetRecords();
  let ids = records.map((a) => a.erpAssetId);
  const meters = opts.meters;
  // What `rules.meters` leaves out now: the state is kept alike, only nothing is sent (meter-sync.ts).
  const notSentOf = (id: string): string | undefined => {
    if (meters === undefined) return undefined;
    if (!meters.enabled) return 'rules.meters.enabled is false';
    const asset = records.find((a) => a.erpAssetId === id);
    return asset !== undefined && !meterSyncSends(meters, asset) ? 'rules.meters.appliesTo leaves it out' : undefined;
  };
  if (opts.asset !== undefined) {
    // Named by its ERP id or any identifier the registry maps to it.
    const asset = await resolveAssetArg(store, opts.asset);
    if (asset === undefined || !ids.includes(asset)) throw new NotFoundError(`no asset "${opts.asset}" in the registry ${NO_SUCH_ASSET}`);
    ids = [asset];
  }
  const states = await store.loadRuleStates(ids, ['meter']);
  const rows: MeterRow[] = [];
  for (const id of [...ids].sort()) {
    const m = states.get(id)?.meter as MeterSyncState | undefined;
    if (!m) continue;
    const s = m.synced;
    const od = m.odometer?.synced;
    // A held reading is counted among the flags (as too fast) until the next reading tells: not set aside yet.
    const setAside: Record<string, number> = { ...m.flagCounts };
    const held = m.flags.filter((f) => stillHeld(f, m));
    for (const f of held) {
      const n = (setAside[f.status] ?? 0) - 1;
      if (n > 0) setAside[f.status] = n;
      else delete setAside[f.status];
    }
    const notSent = notSentOf(id);
    const row: MeterRow = {
      erpAssetId: id,
      ...(notSent !== undefined ? { notSent } : {}),
      ...(s ? { hours: { value: s.operatingHours, ...(s.idleHours !== undefined ? { idleHours: s.idleHours } : {}), ...(s.odometerKm !== undefined ? { odometerKm: s.odometerKm } : {}), at: s.eventTime } } : {}),
      ...(od ? { odometer: { value: od.odometerKm, at: od.eventTime } } : {}),
      setAside,
      recent: m.flags.map((f: MeterFlag) => {
        if (f.confirmedAt !== undefined) return { status: CONFIRMED, detail: confirmedDetail(f), at: f.eventTime, source: f.source };
        if (held.includes(f)) return { status: HELD, detail: adviceFor(f.detail, id), at: f.eventTime, source: f.source };
        const reset = explainingReset(f, m);
        if (reset !== undefined) return { status: f.status, detail: withoutDeclareAdvice(f.detail), at: f.eventTime, source: f.source, explainedByResetAt: reset };
        // Declared since (after this reading): not to be declared again.
        const since = laterReset(f, m);
        if (since !== undefined) return { status: f.status, detail: withoutDeclareAdvice(f.detail), at: f.eventTime, source: f.source, replacedAfterAt: since };
        return { status: f.status, detail: adviceFor(f.detail, id), at: f.eventTime, source: f.source };
      }),
    };
    // A held reading is listed too (an operator may want to see it), as held, not as set aside.
    if (opts.flagged && Object.keys(row.setAside).length === 0 && held.length === 0) continue;
    rows.push(row);
  }
  return rows;
}

/** A replacement declared this soon after another of the same meter is refused without --again (a command run twice). */
const RECENT_RESET_H = 24;

/**
 * A reading set aside, as the report's last column says it; one a declared replacement explains, or
 * one taken before a replacement declared since, says so (its detail is without the advice to declare one).
 */
function latestSetAside(f: MeterRow['recent'][number]): string {
  if (f.replacedAfterAt !== undefined) return `${f.detail} ${beforeReplacementNote(f.replacedAfterAt)}`;
  if (f.explainedByResetAt === undefined) return f.detail;
  const what = f.detail.replace(/: set aside, not counted$/, '');
  return `${what} (set aside before the replacement at ${isoTime(f.explainedByResetAt)} was declared: the replacement explains it)`;
}

export function formatMeterReport(rows: readonly MeterRow[], flagged = false): string {
  if (rows.length === 0) return flagged ? 'no meter reading was set aside or is held\n' : 'no meter readings yet\n';
  const lines: (string | number)[][] = [['ASSET', 'HOURS', 'ODOMETER', 'LAST READING', 'SET ASIDE', 'LATEST SET ASIDE']];
  const notSent = new Map<string, string[]>();
  for (const r of rows) {
    if (r.notSent !== undefined) notSent.set(r.notSent, [...(notSent.get(r.notSent) ?? []), r.erpAssetId]);
    const mark = r.notSent !== undefined ? ' (not sent)' : '';
    // The newer of the odometer sent alone and the one sent with the hours (a vehicle may send both ways: a declared replacement goes alone).
    const km = r.hours?.odometerKm !== undefined && (r.odometer === undefined || r.hours.at > r.odometer.at) ? r.hours.odometerKm : r.odometer?.value;
    const last = Math.max(r.hours?.at ?? -Infinity, r.odometer?.at ?? -Infinity);
    const counts = Object.entries(r.setAside);
    const total = counts.reduce((n, [, c]) => n + c, 0);
    // A confirmed catch-up was not set aside, nor (yet) one still held: not shown as such; a held one is said apart.
    const latest = r.recent.findLast((f) => f.status !== CONFIRMED && f.status !== HELD);
    const held = r.recent.filter((f) => f.status === HELD);
    const notes = [...(latest ? [`${isoTime(latest.at)} ${latestSetAside(latest)}`] : []), ...held.map((f) => `${HELD_NOTE}: ${isoTime(f.at)} ${f.detail}`)];
    lines.push([
      r.erpAssetId,
      r.hours ? `${r.hours.value} h${mark}` : '-',
      km !== undefined ? `${km} km${mark}` : '-',
      Number.isFinite(last) ? isoTime(last) : '-',
      `${total ? `${total} (${counts.map(([k, c]) => `${k} ${c}`).join(', ')})` : '0'}${held.length ? `, ${held.length} held` : ''}`,
      notes.length ? notes.join('; ') : '-',
    ]);
  }
  const notes = [...notSent].map(([why, ids]) => {
    const which = why.startsWith('rules.meters.enabled') ? 'any asset' : `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? `, … (${ids.length} in all)` : ''}`;
    return `(not sent): meter sync sends no readings of ${which} now (${why}): these are the newest readings meter hygiene accepted, which the ERP may not have\n`;
  });
  return table(lines) + notes.join('');
}

export function registerMetersCommand(program: Command): void {
  const assets = program.commands.find((c) => c.name() === 'assets') ?? program.command('assets').description('the identity registry: tracking identifiers → ERP assets');
  addConfigOption(
    assets
      .command('meters')
      .description('per asset: the meter readings last sent to the ERP (hours, odometer; "not sent" where rules.meters sends none) and the readings meter hygiene set aside, with why')
      .option('--asset <asset>', 'one asset only: its ERP asset id, or any identifier of it (tag, PIN, ...)')
      .option('--flagged', 'only assets with readings set aside, or with one held as a possible catch-up (awaiting the next reading)')
      .option('--json', 'print JSON (with the newest readings set aside or held, up to 20 per asset)')
      .addHelpText(
        'after',
        `\nSET ASIDE counts the readings set aside (not counted, not sent), by reason; a reading ahead of the wall clock that could be a frozen feed catching up is held until the next reading tells: "N held" there and "${HELD_NOTE}: ..." in the last column, not set aside (the next reading confirms it, counted and sent, or sets it aside as too fast). LATEST SET ASIDE is the newest reading set aside, with why.\n\nExamples:\n  assetbridge assets meters --flagged\n  assetbridge assets meters --asset EQ-1 --json`,
      ),
  ).action(
    action(async (opts: { config: string; asset?: string; flagged?: boolean; json?: boolean }) => {
      await withContext(opts.config, async ({ config, store }) => {
        const rows = await loadMeterReport(store, { ...(opts.asset !== undefined ? { asset: opts.asset } : {}), ...(opts.flagged ? { flagged: true } : {}), meters: config.rules.meters });
        await warnOfLeftIngestLog(store, 'their readings are not in the stored meter state yet, so the meters shown may be behind');
        // The meter rule's stored state: as of a running service's last checkpoint, as the other rule-state reports say.
        process.stdout.write(opts.json ? `${toJson(rows)}\n` : formatMeterReport(rows, opts.flagged === true) + (await storedRuleStateAsOf(store)));
      }, { readOnly: true });
    }),
  );

  addConfigOption(
    assets
      .command('reset-meter <asset>')
      .description('declare a replaced (or reset) hour meter or odometer: its first reading, from which hours and km count on (service intervals, usage, the ERP\'s meter records); readings that went backwards are no longer set aside')
      .option('--hours <h>', 'the new hour meter\'s reading')
      .option('--km <km>', 'the new odometer\'s reading')
      .option('--at <iso>', 'when it was replaced (default: now)')
      .option('--again', `declare it although a replacement of that meter was declared less than ${RECENT_RESET_H} h before (it was replaced a second time)`)
      .addHelpText('after', '\nThe asset is named by its ERP asset id, or by any identifier of it (tag, PIN, ...) the registry maps to it alone.\n\nExamples:\n  assetbridge assets reset-meter EQ-1 --hours 0 --at 2026-11-30T08:00:00Z\n  assetbridge assets reset-meter TRUCK-7 --km 12'),
  ).action(
    action(async (name: string, opts: { config: string; hours?: string; km?: string; at?: string; again?: boolean }) => {
      meterResetEvent(name, opts); // the options checked before the store is opened
      const { config, configPath } = resolveConfig(opts.config);
      const { erpAssetId, lastReset } = await withConfigContext(config, configPath, ({ store }) => meterResetTarget(store, name, opts.hours !== undefined ? 'hours' : 'km'), { existingStore: true });
      const event = meterResetEvent(erpAssetId, opts);
      // Run twice by mistake (each run declares a new meter "now"), the hours read between the two would count on both meters.
      const t = Date.parse(event.eventTime as string);
      if (lastReset !== undefined && !opts.again && Math.abs(t - lastReset) < RECENT_RESET_H * 3_600_000) {
        const meter = opts.hours !== undefined ? 'hour meter' : 'odometer';
        throw new UsageError(
          `a replaced ${meter} of ${erpAssetId} was already declared at ${isoTime(lastReset)}; declaring another at ${isoTime(t)} counts what was read in between on both (service intervals and usage would run ahead). ` +
            `If it was replaced a second time, add --again; 'assetbridge assets meters --asset ${erpAssetId}' shows the readings since`,
        );
      }
      const what = opts.hours !== undefined ? `hour meter at ${opts.hours} h` : `odometer at ${opts.km ?? ''} km`;
      await recordOperatorEvent(config, configPath, event, 'assetbridge assets reset-meter', (via) => `recorded a new ${what} for ${erpAssetId} from ${String(event.eventTime)}${via}; 'assetbridge assets meters --asset ${erpAssetId}' shows the result`);
    }),
  );
}

/** The canonical meter event that declares a replaced meter (`declaredReset`) or odometer (`odometerReset`). */
/**
 * The asset `reset-meter` names (its ERP id, or any identifier the registry maps to it alone: which
 * asset is said on stderr) and when a replacement of that meter was last declared.
 */
export async function meterResetTarget(store: Pick<Store, 'listAssets' | 'loadRuleStates'>, name: string, meter: 'hours' | 'km'): Promise<{ erpAssetId: string; lastReset?: number }> {
  const erpAssetId = await resolveAssetArg(store, name);
  if (erpAssetId === undefined) throw new NotFoundError(`no asset "${name}" in the registry ${NO_SUCH_ASSET}`);
  const m = (await store.loadRuleStates([erpAssetId], ['meter'])).get(erpAssetId)?.meter as MeterSyncState | undefined;
  const lastReset = lastReplacementAt(m, meter);
  return { erpAssetId, ...(lastReset !== undefined ? { lastReset } : {}) };
}

export function meterResetEvent(erpAssetId: string, opts: { hours?: string; km?: string; at?: string }): Record<string, unknown> {
  if ((opts.hours === undefined) === (opts.km === undefined)) throw new UsageError('give the new meter\'s first reading: --hours for an hour meter or --km for an odometer (one of them)');
  const option = opts.hours !== undefined ? '--hours' : '--km';
  const raw = opts.hours ?? opts.km ?? '';
  // A plain decimal only: Number() reads "" as 0 and "0x10" as 16.
  const value = readAmount(raw);
  if (value === undefined) throw new UsageError(`${option} is empty: give the new meter's first reading, a number, 0 or more (e.g. ${option} 0)`);
  if (!Number.isFinite(value) || value < 0) throw new UsageError(`${option} "${raw}" is not a reading: give a plain decimal number, 0 or more (e.g. ${option} 12.5)`);
  const at = opts.at === undefined ? Date.now() : parseIsoTime(opts.at);
  if (typeof at !== 'number') throw new UsageError(`--at "${opts.at ?? ''}" is not a date and time with a zone; give ISO 8601 such as 2026-11-30T08:00:00Z`);
  if (at > Date.now() + 300_000) throw new UsageError(`--at ${opts.at ?? ''} is in the future; give when the meter was replaced`);
  const eventTime = new Date(at).toISOString();
  return opts.hours !== undefined
    ? { kind: 'meter', erpAssetId, eventTime, operatingHours: value, declaredReset: true }
    : { kind: 'meter', erpAssetId, eventTime, odometerKm: value, odometerReset: true };
}
