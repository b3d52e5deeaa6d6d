/**
 * Meter sync: keeps the ERP's latest operating-hours reading current from `meter` events, through
 * {@link classifyMeterReading}. Vehicles that report an odometer but no hour meter get their
 * odometer synced the same way (odometer hygiene, `unit: km`, a key of its own:
 * `<asset>|km`); an odometer sent beside the hours passes the same odometer hygiene (one state) and
 * goes with the hours only when trusted, with `odometerResetAt` after a declared replacement. Only accepted readings are sent, never a late one (invariant 8);
 * flagged readings (backwards, too fast, stalled, out of order) are kept in the rule state with
 * their reason so `status` can show them. A declared reset (`MeterEvent.declaredReset`) sets a new
 * baseline that later readings continue from; it reaches the ERP as a reading carrying
 * `meterResetAt`, and every later reading carries it too, so a coalesced outbox cannot hide it.
 * A reading ahead of the wall clock since the meter last showed its value, though possible since
 * it first showed it (a frozen feed catching up, or a spike after a live idle stretch), is held
 * (flagged as such) and sent only when the next reading continues from it; any other sets it
 * aside, so a spike is never sent nor makes the readings after it look backwards (`holdCatchUp`).
 * @module
 */
import type { AssetRecord } from '../model/assets.js';
import type { MeterEvent } from '../model/events.js';
import { matchesFilter, type AssetFilter } from './maintenance/types.js';
import type { DeliveryIntent } from '../model/delivery.js';
import {
  HELD_METER_HYGIENE,
  HELD_ODOMETER_HYGIENE,
  adviceFor,
  classifyMeterReading,
  declareMeterReset,
  isFlagged,
  resetRebases,
  type MeterFlagStatus,
  type MeterReading,
  type MeterHygieneOptions,
  type MeterHygieneResult,
  type MeterHygieneState,
  type MeterVerdict,
} from './meter-hygiene.js';
import { METER_HELD_HOURS, METER_HELD_KM, METER_SET_ASIDE_HOURS, METER_SET_ASIDE_KM } from './owned.js';
import type { Rule, RuleContext, RuleResult } from './rule.js';

export const METER_RECORD = 'meter.record';

export interface MeterSyncOptions {
  /** Hygiene thresholds; unset fields use {@link HELD_METER_HYGIENE}. @default HELD_METER_HYGIENE */
  readonly hygiene?: Partial<MeterHygieneOptions>;
  /** Recent flags kept in the rule state for `status` (older ones only count). @default 20 */
  readonly maxFlags?: number;
  /**
   * Whether readings are sent (`rules.meters.enabled`); false: none is. Hygiene and the state are
   * the same either way (the stored state, what the reports and other rules read). @default true
   */
  readonly enabled?: boolean;
  /** Only the readings of these assets are sent (`rules.meters.appliesTo`); the others' are judged and kept alike. @default all assets */
  readonly appliesTo?: AssetFilter;
}

/**
 * Whether meter sync sends `asset`'s readings as `meter.record` under `options` (`rules.meters`):
 * enabled, and `appliesTo` (if any) matches it. The rule judges and keeps every asset's readings.
 */
export function meterSyncSends(options: Pick<MeterSyncOptions, 'enabled' | 'appliesTo'>, asset: AssetRecord): boolean {
  return options.enabled !== false && matchesFilter(asset, options.appliesTo);
}

/** A reading hygiene refused, as `status` shows it. */
export interface MeterFlag {
  readonly status: MeterFlagStatus;
  readonly value: number;
  readonly eventTime: number;
  readonly previousValue: number;
  readonly previousEventTime: number;
  readonly detail: string;
  readonly source: string;
  /** Processing time when the flag was raised. */
  readonly flaggedAt: number;
  /**
   * The reading was held (`holdCatchUp`: ahead of the wall clock since the meter last showed its
   * value, possible since it first showed it) until the next reading told.
   */
  readonly held?: true;
  /**
   * Event time of the reading that continued from this held one, so confirmed it (a frozen feed
   * catching up): it was counted and sent after all, not set aside (no longer in `flagCounts`).
   */
  readonly confirmedAt?: number;
}

/**
 * The last reading handed to the outbox; for an asset meter sync sends nothing for
 * (`rules.meters`), the one that would have been: the state is the same whether readings are sent.
 */
export interface SyncedMeterReading {
  readonly operatingHours: number;
  readonly idleHours?: number;
  readonly odometerKm?: number;
  readonly eventTime: number;
}

export interface MeterSyncState {
  readonly hygiene: MeterHygieneState;
  readonly synced?: SyncedMeterReading;
  /** Newest flags last, at most `maxFlags`. */
  readonly flags: readonly MeterFlag[];
  /** Every flag ever raised, by status (new stalls only, not each unchanged reading of one). */
  readonly flagCounts: Readonly<Partial<Record<MeterFlagStatus, number>>>;
  /** Sum of accepted usage deltas since the first reading, hours (resets add nothing). */
  readonly acceptedUsageH: number;
  /** Event time of the newest declared reset. */
  readonly lastResetAt?: number;
  /** Odometer-only readings (no hour meter in the event). */
  readonly odometer?: OdometerSyncState;
}

export interface OdometerSyncState {
  readonly hygiene: MeterHygieneState;
  readonly synced?: { readonly odometerKm: number; readonly eventTime: number };
  /** When a replaced odometer was declared (`odometerReset`): every later record carries it. */
  readonly lastResetAt?: number;
}

const EMPTY: MeterSyncState = { hygiene: {}, flags: [], flagCounts: {}, acceptedUsageH: 0 };

/** The meter rule's name: the key of its sub-state in an asset's state document. */
export const METER_RULE = 'meter';

/**
 * The flags a reading raised (hour meter, odometer), from the meter rule's sub-state before and
 * after it. None for a reading hygiene accepted, a repeat of a stall already flagged, or a duplicate.
 */
export function newMeterFlags(before: unknown, after: unknown): MeterFlag[] {
  const was = (before as MeterSyncState | undefined)?.flags ?? [];
  const now = (after as MeterSyncState | undefined)?.flags ?? [];
  if (now === was || now.length === 0) return [];
  const key = (f: MeterFlag) => `${f.status}\u001f${f.eventTime}\u001f${f.value}\u001f${f.detail}`;
  const known = new Set(was.map(key));
  // A held flag the reading confirmed is marked so (an object anew): no new flag.
  return now.filter((f) => f.confirmedAt === undefined && !known.has(key(f)));
}

/**
 * What meter hygiene did with a reading, as `rules test` says it on the reading's line (which
 * otherwise shows it as one without deliveries, not saying why): `held` for a reading held until
 * the next one tells, else `set aside as <status>` (`flagged as stalled` for a stall: the same value
 * again, nothing new to send), with the flag's reason; without its advice to declare a replacement,
 * which a replacement declared later in the input would contradict (`rules test` says it once at
 * the end, for the readings none answered: see {@link advisesReplacement}).
 */
export function meterHygieneNote(f: MeterFlag, erpAssetId: string): string {
  const what = f.held === true ? 'held' : f.status === 'stalled' ? 'flagged as stalled' : `set aside as ${f.status}`;
  return `meter hygiene ${what}: ${adviceFor(f.detail.replace(DECLARE_ADVICE, ''), erpAssetId)}`;
}

/** {@link meterHygieneNote} for each of {@link newMeterFlags}. */
export function meterHygieneNotes(before: unknown, after: unknown, erpAssetId: string): string[] {
  return newMeterFlags(before, after).map((f) => meterHygieneNote(f, erpAssetId));
}

/** The meter a flag is of: the odometer's carry its prefix (they share the list with the hour meter's). */
export function flagMeter(f: MeterFlag): 'hours' | 'km' {
  return f.detail.startsWith(ODOMETER_FLAG) ? 'km' : 'hours';
}

/**
 * When `f`'s reason advises declaring a meter replacement: the time from which a replacement
 * declared answers it, so that the advice is out of date once the meter rule's newest replacement of
 * {@link flagMeter} (its `lastResetAt`) is later. Such a replacement is either after the reading
 * (it was the old meter's, and stays set aside: {@link replacedAfter}) or between the reading it was
 * judged against and it (it was the new meter's, judged against the old one), as `assets meters` says.
 * Undefined when the reason advises none.
 */
export function advisesReplacement(f: MeterFlag): number | undefined {
  return DECLARE_ADVICE.test(f.detail) ? Math.min(f.eventTime, f.previousEventTime) : undefined;
}

/** The event time of the newest replacement of `meter` the meter rule's state `m` records. */
export function lastReplacementAt(m: MeterSyncState | undefined, meter: 'hours' | 'km'): number | undefined {
  return meter === 'km' ? m?.odometer?.lastResetAt : m?.lastResetAt;
}

/** The advice in a hygiene reason to declare a replacement (meter-hygiene.ts), and what holds only until one is declared. */
const DECLARE_ADVICE = /; if the meter or ECU was replaced, declare it: .*$/;
const UNTIL_DECLARED = /, as is every reading below [^;]* or a replacement is declared/;

/** A hygiene reason without its advice to declare a replacement, nor what holds only until one is declared. */
export function withoutDeclareAdvice(detail: string): string {
  return detail.replace(UNTIL_DECLARED, '').replace(DECLARE_ADVICE, '');
}

/**
 * When the replacement of `meter` the meter rule's state `m` records (`assets reset-meter`, the
 * newest) was declared after a reading at `at` whose reason `detail` advises declaring one: the
 * reading was the old meter's and stays set aside, and the advice is out of date. Undefined when
 * none was declared since, or the reason advises none. For every report of a reading set aside
 * (`assets meters`, `maintenance status`, `depreciation preview`): one decision.
 */
export function replacedAfter(m: MeterSyncState | undefined, meter: 'hours' | 'km', at: number, detail: string): number | undefined {
  const reset = lastReplacementAt(m, meter);
  return reset !== undefined && at < reset && DECLARE_ADVICE.test(detail) ? reset : undefined;
}

/** What a report adds to a reading set aside before a replacement declared since ({@link replacedAfter}). */
export function beforeReplacementNote(resetAt: number): string {
  return `(before the replacement declared at ${new Date(resetAt).toISOString()}: stays set aside, the readings since count on the new meter)`;
}

/** {@link replacedAfter} for a rule's record of the latest reading set aside (`<time>: <why>`; see {@link meterIssueText}). */
function issueReplacedAfter(issue: string, meter: 'hours' | 'km', m: MeterSyncState | undefined): number | undefined {
  const colon = issue.indexOf(': ');
  const at = colon > 0 ? Date.parse(issue.slice(0, colon)) : NaN;
  return Number.isNaN(at) ? undefined : replacedAfter(m, meter, at, issue);
}

/**
 * A rule's record of the latest reading set aside (`<time>: <why>`, the maintenance rule's
 * `meterIssue`/`odometerIssue`, the depreciation rule's `meterIssue`) as a report says it, with
 * the `reset-meter` advice naming `erpAssetId`; without it when the meter rule `m` records a
 * replacement of `meter` declared since ({@link replacedAfter}; the other rules may not have
 * taken it in yet: they hold it until `rules.allowedLateness` has passed).
 */
export function meterIssueText(issue: string, erpAssetId: string, meter: 'hours' | 'km', m: MeterSyncState | undefined): string {
  const reset = issueReplacedAfter(issue, meter, m);
  return reset === undefined ? adviceFor(issue, erpAssetId) : `${withoutDeclareAdvice(issue)} ${beforeReplacementNote(reset)}`;
}

/** The meter rule (`name: 'meter'`) for the engine's rule set. */
export function createMeterSyncRule(options: MeterSyncOptions = {}): Rule<MeterSyncState> {
  const hygiene: MeterHygieneOptions = { ...HELD_METER_HYGIENE, ...options.hygiene };
  const maxFlags = options.maxFlags ?? 20;
  return {
    name: METER_RULE,
    kinds: ['meter'],
    apply(state, event, ctx) {
      if (event.kind !== 'meter') return { state: state ?? EMPTY, deliveries: [] };
      judged = 0;
      let r = applyMeter(state ?? EMPTY, event, ctx, hygiene, maxFlags);
      // Off for this asset (rules.meters): judged and kept all the same, only nothing is sent.
      if (r.deliveries.length > 0 && !meterSyncSends(options, ctx.asset)) r = { state: r.state, deliveries: [] };
      // Rare (a reading held or set aside): only then a result of its own.
      return judged === 0 ? r : { ...r, meterReadings: judged };
    },
  };
}

/**
 * The owned.ts `METER_*` bits of the {@link createMeterSyncRule} apply call at hand: readings held,
 * or held ones set aside (it never re-enters; reset at its start, as maintenance-rule.ts's
 * `collected` is): no object per reading for what is rare.
 */
let judged = 0;

/**
 * The bits of one hygiene step from `prior` to `result` for `reading`: held (hygiene holds it now,
 * newly), and set aside (the reading held before is no longer, and was not confirmed), as
 * {@link classifyMeterReading} says them. A declared reset holds and sets aside nothing.
 */
function heldBits(prior: MeterHygieneState, result: MeterHygieneResult, reading: MeterReading, heldBit: number, setAsideBit: number): number {
  const v = result.verdict;
  if (v.status === 'reset') return 0;
  let bits = isFlagged(v) && v.newFlag && heldNow(result.state, reading) ? heldBit : 0;
  const held = prior.jumpHeld === true ? prior.jump : undefined;
  if (held !== undefined && result.state.jump !== held && !(v.status === 'accepted' && v.confirmed !== undefined)) bits |= setAsideBit;
  return bits;
}

function applyMeter(prior: MeterSyncState, event: MeterEvent, ctx: RuleContext, hygiene: MeterHygieneOptions, maxFlags: number): RuleResult<MeterSyncState> {
  // Hygiene judges the hour meter; readings without one do not move it (an odometer has its own).
  if (event.operatingHours === undefined) return event.odometerKm === undefined ? { state: prior, deliveries: [] } : applyOdometer(prior, event, event.odometerKm, ctx, maxFlags);
  // An odometer beside the hours goes through the same odometer hygiene as one sent alone: a jump
  // or a drop is not sent with the hours, and a declared replacement reaches the ERP as such.
  const km = event.odometerKm === undefined ? undefined : judgeOdometer(prior, event, event.odometerKm, ctx, maxFlags);
  const state = km?.state ?? prior;
  const odometerKm = km?.send === true ? event.odometerKm : undefined;
  const reading = { value: event.operatingHours, eventTime: event.eventTime };
  const result = event.declaredReset === true ? declareMeterReset(state.hygiene, reading, hygiene) : classifyMeterReading(state.hygiene, reading, hygiene);
  const verdict: MeterVerdict = result.verdict;
  judged |= heldBits(state.hygiene, result, reading, METER_HELD_HOURS, METER_SET_ASIDE_HOURS);
  let next: MeterSyncState = { ...state, hygiene: result.state };

  if (isFlagged(verdict)) {
    // A redelivered reading older than the accepted one was most likely taken before the crash or
    // lost PUBACK that made the broker send it again: set aside as before, but not flagged anew.
    if (redeliveredAgain(verdict, ctx)) return { state: km === undefined ? prior : next, deliveries: [] };
    if (!verdict.newFlag) return { state: next, deliveries: [] };
    return { state: withFlag(next, verdict, '', event, ctx, maxFlags, heldNow(result.state, reading)), deliveries: [] };
  }
  if (verdict.status === 'duplicate') return { state: next, deliveries: [] };
  // The held reading this one continued from was a frozen feed catching up: no longer a flag.
  if (verdict.status === 'accepted' && verdict.confirmed !== undefined) next = withConfirmed(next, verdict.confirmed, reading.eventTime, false);
  // What goes to the ERP: this reading, or the newest the new meter showed since a reset declared late.
  let sent: MeterReading = reading;
  if (verdict.status === 'reset') {
    next = { ...next, lastResetAt: reading.eventTime };
    // Declared after the new meter's readings came (set aside as backwards against the old one):
    // the newest of them counts on the new meter now, as in order, and is what the ERP is sent
    // (with `meterResetAt`), not the reset's value until the next reading.
    const shown = resetRebases(state.hygiene, reading.eventTime) ? setAsideSince(state.flags, reading.eventTime, false) : undefined;
    const judged = shown && classifyMeterReading(next.hygiene, shown, hygiene);
    if (judged && judged.verdict.status === 'accepted') {
      next = { ...next, hygiene: judged.state, acceptedUsageH: round(next.acceptedUsageH + judged.verdict.usage) };
      sent = shown;
    }
  } else next = { ...next, acceptedUsageH: round(state.acceptedUsageH + verdict.usage) };

  const synced = state.synced;
  // Never from a late reading (invariant 8). Hygiene already refuses late readings; a reset declared
  // back in time is applied but not sent: the next reading carries its `meterResetAt`. One at the
  // very time of the reading sent is sent: the meter was replaced after that reading (the outbox
  // takes a state update of the same time), else the ERP shows the old meter until the next one.
  if (synced && notAfter(sent.eventTime, synced.eventTime, sent === reading && verdict.status === 'reset')) return { state: next, deliveries: [] };
  const candidate: SyncedMeterReading = {
    operatingHours: sent.value,
    eventTime: sent.eventTime,
    // Idle hours and the odometer came with this event, not with a reading set aside before.
    ...(sent === reading && event.idleHours !== undefined ? { idleHours: event.idleHours } : {}),
    ...(sent === reading && odometerKm !== undefined ? { odometerKm } : {}),
  };
  const changed =
    verdict.status === 'reset' ||
    km?.status === 'reset' ||
    synced === undefined ||
    candidate.operatingHours !== synced.operatingHours ||
    (candidate.idleHours !== undefined && candidate.idleHours !== synced.idleHours) ||
    (candidate.odometerKm !== undefined && candidate.odometerKm !== synced.odometerKm);
  if (!changed) return { state: next, deliveries: [] };
  return { state: { ...next, synced: candidate }, deliveries: [meterRecord(candidate, next.lastResetAt, candidate.odometerKm !== undefined ? next.odometer?.lastResetAt : undefined, ctx)] };
}

/**
 * The newest reading set aside as backwards or too fast after `t` (of the odometer, or the hour
 * meter), from the flags kept: what a meter replaced at `t` and declared only afterwards showed last.
 */
function setAsideSince(flags: readonly MeterFlag[], t: number, odometer: boolean): MeterReading | undefined {
  let newest: MeterFlag | undefined;
  for (const f of flags)
    if ((f.status === 'backwards' || f.status === 'too-fast') && f.eventTime > t && f.detail.startsWith(ODOMETER_FLAG) === odometer && (newest === undefined || f.eventTime > newest.eventTime)) newest = f;
  return newest && { value: newest.value, eventTime: newest.eventTime };
}

/** Prefix of the odometer's flags (they share the list with the hour meter's). */
export const ODOMETER_FLAG = 'odometer: ';

/** An out-of-order reading of a redelivered message: most likely one already taken (see {@link RuleContext.redelivered}). */
function redeliveredAgain(verdict: MeterVerdict, ctx: RuleContext): boolean {
  return ctx.redelivered === true && verdict.status === 'out-of-order';
}

/** Whether hygiene now holds `reading` itself (`holdCatchUp`), awaiting the next reading. */
function heldNow(hygiene: MeterHygieneState, reading: MeterReading): boolean {
  return hygiene.jumpHeld === true && hygiene.jump?.eventTime === reading.eventTime && hygiene.jump.value === reading.value;
}

/**
 * `state` with the flag of the held reading `held` (of the odometer, or the hour meter) marked
 * confirmed by the reading at `at`, and no longer counted as too fast: it was counted and sent.
 */
function withConfirmed(state: MeterSyncState, held: MeterReading, at: number, odometer: boolean): MeterSyncState {
  const i = state.flags.findIndex((f) => f.status === 'too-fast' && f.confirmedAt === undefined && f.eventTime === held.eventTime && f.value === held.value && f.detail.startsWith(ODOMETER_FLAG) === odometer);
  if (i === -1) return state;
  const flags = [...state.flags];
  flags[i] = { ...(flags[i] as MeterFlag), confirmedAt: at };
  const counts: Partial<Record<MeterFlagStatus, number>> = { ...state.flagCounts };
  const n = (counts['too-fast'] ?? 0) - 1;
  if (n > 0) counts['too-fast'] = n;
  else delete counts['too-fast'];
  return { ...state, flags, flagCounts: counts };
}

/** `state` with a new flag for a reading hygiene refused (newest last, at most `maxFlags`), counted by status. */
function withFlag(state: MeterSyncState, verdict: Extract<MeterVerdict, { status: MeterFlagStatus }>, prefix: string, event: MeterEvent, ctx: RuleContext, maxFlags: number, held = false): MeterSyncState {
  const flag: MeterFlag = {
    status: verdict.status,
    value: verdict.reading.value,
    eventTime: verdict.reading.eventTime,
    previousValue: verdict.previous.value,
    previousEventTime: verdict.previous.eventTime,
    detail: `${prefix}${verdict.detail}`,
    source: event.source,
    flaggedAt: ctx.now,
    ...(held ? { held: true as const } : {}),
  };
  return { ...state, flags: [...state.flags, flag].slice(-maxFlags), flagCounts: { ...state.flagCounts, [verdict.status]: (state.flagCounts[verdict.status] ?? 0) + 1 } };
}

/**
 * Odometer hygiene for `km` (the `odometer` sub-state, a flag for a refused reading): the state
 * after it, its verdict, and whether the reading may be sent. A stall may: the odometer does show
 * that value (a vehicle working in place, its hours running).
 */
function judgeOdometer(state: MeterSyncState, event: MeterEvent, km: number, ctx: RuleContext, maxFlags: number): { state: MeterSyncState; status: MeterVerdict['status']; send: boolean } {
  const od = state.odometer ?? { hygiene: {} };
  const reading = { value: km, eventTime: event.eventTime };
  const result = event.odometerReset === true ? declareMeterReset(od.hygiene, reading, HELD_ODOMETER_HYGIENE) : classifyMeterReading(od.hygiene, reading, HELD_ODOMETER_HYGIENE);
  const verdict = result.verdict;
  judged |= heldBits(od.hygiene, result, reading, METER_HELD_KM, METER_SET_ASIDE_KM);
  let odometer: OdometerSyncState = { ...od, hygiene: result.state };
  if (verdict.status === 'reset') odometer = { ...odometer, lastResetAt: reading.eventTime };
  const next = { ...state, odometer };
  if (!isFlagged(verdict)) return { state: verdict.status === 'accepted' && verdict.confirmed !== undefined ? withConfirmed(next, verdict.confirmed, reading.eventTime, true) : next, status: verdict.status, send: true };
  const flagged = verdict.newFlag && !redeliveredAgain(verdict, ctx);
  return { state: flagged ? withFlag(next, verdict, ODOMETER_FLAG, event, ctx, maxFlags, heldNow(result.state, reading)) : next, status: verdict.status, send: verdict.status === 'stalled' };
}

/** The same for an odometer-only reading: hygiene for km, sent as `{odometerKm, unit: km}` under `<asset>|km`. */
function applyOdometer(prior: MeterSyncState, event: MeterEvent, km: number, ctx: RuleContext, maxFlags: number): RuleResult<MeterSyncState> {
  const judged = judgeOdometer(prior, event, km, ctx, maxFlags);
  let state = judged.state;
  let odometer = state.odometer as OdometerSyncState;
  if (judged.status !== 'accepted' && judged.status !== 'reset' && judged.status !== 'duplicate') return { state, deliveries: [] };
  // A replaced odometer declared after its readings came: the newest of them is sent (see applyMeter).
  let sent: MeterReading = { value: km, eventTime: event.eventTime };
  const shown = judged.status === 'reset' && resetRebases(prior.odometer?.hygiene, event.eventTime) ? setAsideSince(prior.flags, event.eventTime, true) : undefined;
  const rejudged = shown && classifyMeterReading(odometer.hygiene, shown, HELD_ODOMETER_HYGIENE);
  if (rejudged && rejudged.verdict.status === 'accepted') {
    odometer = { ...odometer, hygiene: rejudged.state };
    state = { ...state, odometer };
    sent = shown;
  }
  const reset = judged.status === 'reset' && sent.eventTime === event.eventTime;
  const synced = prior.odometer?.synced;
  // Unchanged, or not newer than what was sent (invariant 8): nothing to send.
  if (judged.status === 'duplicate' || (synced && (notAfter(sent.eventTime, synced.eventTime, reset) || (sent.value === synced.odometerKm && judged.status !== 'reset')))) return { state, deliveries: [] };
  const erpAssetId = ctx.asset.erpAssetId;
  return {
    state: { ...state, odometer: { ...odometer, synced: { odometerKm: sent.value, eventTime: sent.eventTime } } },
    deliveries: [
      {
        destination: ctx.destination,
        operation: METER_RECORD,
        kind: 'state',
        businessKey: `${erpAssetId}|km`,
        erpAssetId,
        eventTime: sent.eventTime,
        payload: {
          erpAssetId,
          odometerKm: sent.value,
          readingTime: new Date(sent.eventTime).toISOString(),
          unit: 'km',
          // As `meterResetAt` for hours: the connector records a replaced counter, not a drop.
          ...(odometer.lastResetAt !== undefined ? { meterResetAt: new Date(odometer.lastResetAt).toISOString() } : {}),
        },
      },
    ],
  };
}

function meterRecord(reading: SyncedMeterReading, lastResetAt: number | undefined, odometerResetAt: number | undefined, ctx: RuleContext): DeliveryIntent {
  const erpAssetId = ctx.asset.erpAssetId;
  return {
    destination: ctx.destination,
    operation: METER_RECORD,
    kind: 'state',
    businessKey: erpAssetId,
    erpAssetId,
    eventTime: reading.eventTime,
    payload: {
      erpAssetId,
      operatingHours: reading.operatingHours,
      ...(reading.idleHours !== undefined ? { idleHours: reading.idleHours } : {}),
      ...(reading.odometerKm !== undefined ? { odometerKm: reading.odometerKm } : {}),
      readingTime: new Date(reading.eventTime).toISOString(),
      unit: 'h',
      // Tells the connector the counter was replaced at this time (SAP: counter overflow/replacement).
      ...(lastResetAt !== undefined ? { meterResetAt: new Date(lastResetAt).toISOString() } : {}),
      // The same for the odometer sent beside the hours.
      ...(odometerResetAt !== undefined ? { odometerResetAt: new Date(odometerResetAt).toISOString() } : {}),
    },
  };
}

/** Whether a reading at `t` is not newer than the one sent at `sentAt`; a declared reset of that very time is (it follows the reading). */
function notAfter(t: number, sentAt: number, reset: boolean): boolean {
  return reset ? t < sentAt : t <= sentAt;
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
