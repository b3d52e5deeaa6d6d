/**
 * Depreciation and lifecycle (touchpoint 4), per asset: operating hours (or km, for vehicles
 * depreciated by distance) used in each fiscal period, from the cumulative meter after hygiene
 * (hours.ts → meter-hygiene.ts), in event-time order. The usage between two readings is spread
 * over the periods they span in proportion to time, so a reading on 3 November still gives
 * October its share. A state counted on the other meter (the config changed) starts afresh.
 * The meter is the asset's (its attribute, else the config), not an event: the rule learns of a
 * change at the asset's next reading or watermark and has no event time for it. A reading waiting
 * in the buffer holds the value of the meter in force when it came, and the state holding it says
 * which (`km`): a watermark counts it on that meter; the new meter's first reading drops it with
 * the old count. None is ever taken as the other meter's (usage-edges.test.ts).
 *
 * Postings (`usage.post`) are made by the period-end task (engine/tasks/usage-posting.ts) and the
 * `depreciation post` command from this state with {@link usageFor}; this rule makes no deliveries.
 *
 * Only the newest `keepPeriods` periods are kept in full; of an older one its units stay (one
 * number), so a posting made late for it still knows its usage and life-to-date (see
 * `periodUsage` in usage.ts).
 *
 * The state records the calendar its periods were filed under (`cal`): when the configured one
 * gives them other boundaries, the state is held (no reading is filed into its periods, nothing is
 * posted from it) until the calendar is set back or the usage is re-filed under the new one
 * (`depreciation refile`, refile.ts). A reading that comes while it is held is still counted: the
 * meter, hygiene (a declared replacement too), the latest reading; the usage it would have spread
 * over periods is kept as spreads (`heldUsage`), filed at the release under the calendar then in
 * force ({@link fileHeldUsage}). So nothing read while held is lost, and each hour goes to the
 * period it was used in, as if the calendar had been the new one all along.
 * @module
 */
import type { AssetRecord } from '../../model/assets.js';
import type { MeterEvent } from '../../model/events.js';
import { admit, advance, byKey, drain, holdsAny, type FlushableRule, type ReorderState } from '../event-time.js';
import { stepHours, type HoursState, type HoursStep } from '../hours.js';
import { beyondWallClock, HELD_METER_HYGIENE, HELD_ODOMETER_HYGIENE, resetRebases, type MeterHygieneOptions } from '../meter-hygiene.js';
import { duplicateResult, lateResult, NO_DELIVERIES, type RuleResult } from '../rule.js';
import { matchesFilter, type AssetFilter } from '../maintenance/types.js';
import { periodStamp, sameStamp, type PeriodCalendar } from './calendar.js';
import type { UsageMeterKind } from './usage.js';
import { ownedUsageRule } from './usage-rule-owned.js';

export const DEPRECIATION_RULE = 'depreciation';

export interface UsageRuleOptions {
  readonly calendar: PeriodCalendar;
  /** Event-time reorder window, ms. @default 0 */
  readonly allowedLatenessMs: number;
  /** Periods kept in full per asset (of older ones only their units are kept). @default 36 */
  readonly keepPeriods?: number;
  readonly appliesTo?: AssetFilter;
  /** The meter that measures an asset's usage. @default every asset on operating hours */
  readonly meterOf?: (asset: AssetRecord) => UsageMeterKind;
}

interface Reading {
  readonly t: number;
  readonly h: number;
  readonly reset?: true;
}

/** Usage in one period. */
export interface PeriodUsage {
  /** Hours used in the period. */
  readonly units: number;
  /** Continuous meter at the period's end, or at the latest reading while it is open. */
  readonly meterAtEnd: number;
}

export interface UsageState {
  readonly order?: ReorderState<Reading>;
  /** The continuous meter (hours, or km with `meter: odometerKm`). */
  readonly hours?: HoursState;
  /** First accepted reading `[eventTime, hours]`. */
  readonly first?: readonly [number, number];
  /** Latest accepted reading `[eventTime, hours]`. */
  readonly last?: readonly [number, number];
  readonly periods?: Readonly<Record<string, PeriodUsage>>;
  /**
   * Units of the periods dropped from `periods` (beyond `keepPeriods`), by period. Absent in states
   * written before it was kept: those periods' usage is not known.
   */
  readonly pruned?: Readonly<Record<string, number>>;
  /** The last reading hygiene set aside, with its reason. */
  readonly meterIssue?: string;
  /** Counted on the odometer (`meter: odometerKm`); absent: operating hours. */
  readonly km?: true;
  /**
   * The calendar `periods` were filed under ({@link periodStamp} of them). Absent in states written
   * before it was kept: those count as filed under the configured calendar.
   */
  readonly cal?: string;
  /**
   * Held by a calendar change (`cal` is another calendar than the configured one): the latest
   * reading filed into `periods` before the hold, `[eventTime, meter]`; present only while usage
   * read since waits in `heldUsage`.
   */
  readonly heldFrom?: readonly [number, number];
  /**
   * The usage read while held, not yet filed: spreads `[t0, meter0, t1, meter1]` in the order the
   * rule decided them (as it would have spread them over periods), filed at the release by
   * {@link fileHeldUsage}. At most {@link MAX_HELD_SPREADS}: beyond, two adjacent spreads are
   * joined, within one period of the configured calendar where they can be (the usage between is
   * spread in proportion to time, none is lost).
   */
  readonly heldUsage?: readonly HeldSpread[];
}

/** Usage read while held, to spread over periods at the release: `[t0, meter0, t1, meter1]`. */
export type HeldSpread = readonly [number, number, number, number];

/** Spreads kept per held asset; beyond, two adjacent ones are joined (see `withSpread`). */
export const MAX_HELD_SPREADS = 64;

/**
 * `state` with the usage read while it was held ({@link UsageState.heldUsage}) filed into its
 * periods under `calendar` (the configured one, no longer another than the periods'), as the rule
 * would have filed it reading by reading; the same state when there is none. `keepPeriods`
 * prunes as the rule does (`Infinity`: a view for a posting, nothing dropped).
 */
export function fileHeldUsage(state: UsageState, calendar: PeriodCalendar, keepPeriods: number): UsageState {
  if (state.heldUsage === undefined && state.heldFrom === undefined) return state;
  const periods: Record<string, PeriodUsage> = {};
  for (const id in state.periods) periods[id] = state.periods[id] as PeriodUsage;
  let added = false;
  for (const x of state.heldUsage ?? []) added = spread(periods, [x[0], x[1]], [x[2], x[3]], calendar) || added;
  const kept = keepPeriods === Infinity ? periods : prune(periods, keepPeriods, calendar);
  const { heldFrom: _from, heldUsage: _usage, ...rest } = state;
  const next: { -readonly [K in keyof UsageState]: UsageState[K] } = { ...rest, periods: kept };
  const pruned = kept === periods ? state.pruned : keepUnits(state.pruned, periods, kept);
  if (pruned !== undefined) next.pruned = pruned;
  if (added || kept !== periods || state.cal === undefined) next.cal = periodStamp(calendar, Object.keys(kept));
  return next;
}

/**
 * `spreads` and `x` after them, adjacent ones joined while more than {@link MAX_HELD_SPREADS}: two
 * that meet (one ends where the other starts) and lie in one period of `calendar` (the configured
 * one, which a re-file files them under) first, which changes no period's units under it; else the
 * two spanning the least time.
 */
function withSpread(spreads: readonly HeldSpread[] | undefined, x: HeldSpread, calendar: PeriodCalendar): HeldSpread[] {
  const out = spreads ? [...spreads, x] : [x];
  while (out.length > MAX_HELD_SPREADS) {
    let best = -1;
    let span = Infinity;
    let inOne = false;
    for (let i = 0; i + 1 < out.length; i++) {
      const a = out[i] as HeldSpread;
      const b = out[i + 1] as HeldSpread;
      if (a[2] !== b[0] || a[3] !== b[1]) continue;
      const p = calendar.periodAt(a[0]);
      const one = p !== undefined && b[2] <= p.end;
      if (inOne && !one) continue;
      if ((one && !inOne) || b[2] - a[0] < span) {
        span = b[2] - a[0];
        best = i;
        inOne = one;
      }
    }
    if (best < 0) break;
    const a = out[best] as HeldSpread;
    const b = out[best + 1] as HeldSpread;
    out.splice(best, 2, [a[0], a[1], b[2], b[3]]);
  }
  return out;
}

/**
 * Whether `state`'s periods were filed under another calendar than `calendar` (the configured one
 * changed): then they are held, neither added to nor posted, until the calendar is restored or they are
 * re-filed under it (readings are counted meanwhile: see {@link UsageState.heldUsage}).
 * `cache`: stamps already judged against this calendar (a stamp stands for its periods' boundaries).
 */
export function filedUnderOtherCalendar(state: UsageState | undefined, calendar: PeriodCalendar, cache?: Map<string, boolean>): boolean {
  const cal = state?.cal;
  // No periods filed: nothing to hold (the first reading's period is filed under the calendar in force).
  if (cal === undefined || state?.periods === undefined || isEmpty(state.periods)) return false;
  let other = cache?.get(cal);
  if (other === undefined) {
    other = !sameStamp(periodStamp(calendar, Object.keys(state?.periods ?? {})), cal);
    if (cache && cache.size < 10_000) cache.set(cal, other);
  }
  return other;
}

const KM_START: UsageState = { km: true };

/**
 * Hygiene for usage: a reading ahead of the wall clock since the meter last showed its value,
 * though possible since it first showed it, is held until the next reading confirms it (a frozen
 * feed catching up) or sets it aside (a spike after a live idle stretch), so what is counted never
 * runs ahead of the wall clock since the last trusted reading unless confirmed. The same hygiene
 * as service intervals and meter sync.
 */
export const USAGE_HOURS_HYGIENE: MeterHygieneOptions = HELD_METER_HYGIENE;
export const USAGE_KM_HYGIENE: MeterHygieneOptions = HELD_ODOMETER_HYGIENE;

export function createUsageRule(options: UsageRuleOptions): FlushableRule<UsageState> {
  const meterOf = options.meterOf;
  const judged = new Map<string, boolean>();
  // The stamp judged last to be this calendar's: consecutive readings of an asset share it (no lookup).
  let current: string | undefined;
  const held = (s: UsageState | undefined): boolean => {
    const cal = s?.cal;
    if (cal === undefined || cal === current) return false;
    const other = filedUnderOtherCalendar(s, options.calendar, judged);
    if (!other) current = cal;
    return other;
  };
  const cache = new WeakMap<AssetRecord, UsageMeterKind>();
  const kmFor = (asset: AssetRecord): boolean => {
    if (!meterOf) return false;
    let m = cache.get(asset);
    if (m === undefined) cache.set(asset, (m = meterOf(asset)));
    return m === 'km';
  };
  const rule: FlushableRule<UsageState> = {
    name: DEPRECIATION_RULE,
    kinds: ['meter'],
    apply(state, event, ctx) {
      if (event.kind !== 'meter' || !matchesFilter(ctx.asset, options.appliesTo)) return { state: state as UsageState, deliveries: [] };
      const km = kmFor(ctx.asset);
      const meter = km ? 'odometerKm' : 'operatingHours';
      if (event[meter] === undefined) return { state: state as UsageState, deliveries: [] };
      // Usage counted on the other meter is not this one's history: start afresh.
      const was = state !== undefined && (state.km === true) === km ? state : km ? KM_START : {};
      // Periods filed under another calendar: nothing is filed over them with other boundaries, but
      // the reading is counted (hygiene, the meter, the latest reading) and its usage kept to file at
      // the release. Released (the calendar set back, or re-filed): what was read meanwhile is filed first.
      const holding = held(was);
      const s = holding ? was : fileHeldUsage(was, options.calendar, options.keepPeriods ?? 36);
      const r = readingOf(event, meter);
      // The newest readings kept (`keepLast`): one sent again (a client's retry) is a duplicate, not late.
      const a = admit(s.order, r, options.allowedLatenessMs, readingOrder, true);
      // A declared reset comes after the readings that showed the new meter (set aside as
      // backwards): taken now, never dropped as late, so the readings after it count again.
      if (a.late) return r.reset === true ? lateReset(s, r, options, holding) : lateResult(s);
      if (a.duplicate) return duplicateResult(s);
      // Field by field (no spread): this runs for every meter reading.
      const next: { -readonly [K in keyof UsageState]: UsageState[K] } = { order: a.state };
      if (s.km) next.km = true;
      if (s.hours !== undefined) next.hours = s.hours;
      if (s.first !== undefined) next.first = s.first;
      if (s.last !== undefined) next.last = s.last;
      if (s.periods !== undefined) next.periods = s.periods;
      if (s.pruned !== undefined) next.pruned = s.pruned;
      if (s.meterIssue !== undefined) next.meterIssue = s.meterIssue;
      if (s.cal !== undefined) next.cal = s.cal;
      if (s.heldFrom !== undefined) next.heldFrom = s.heldFrom;
      if (s.heldUsage !== undefined) next.heldUsage = s.heldUsage;
      return processAll(next, a.released, options, holding);
    },
    flush(state, ctx, upTo) {
      // Nothing held. Nor for an asset `appliesTo` leaves out (the config changed since its readings
      // were buffered): none of them is counted, its state stays as it is, as on an event.
      if (state === undefined || !matchesFilter(ctx.asset, options.appliesTo)) return { state: state as UsageState, deliveries: [] };
      // Periods filed under another calendar: what the watermark releases is counted into the held state, as on an event.
      const holding = held(state);
      const s = holding ? state : fileHeldUsage(state, options.calendar, options.keepPeriods ?? 36);
      if (!s.order) return { state: s, deliveries: [] };
      const d = upTo === undefined ? drain(s.order, true) : advance(s.order, upTo, options.allowedLatenessMs, true);
      if (d.released.length === 0) return { state: s, deliveries: [] };
      return processAll({ ...s, order: d.state }, d.released, options, holding);
    },
    // Nothing for an asset `appliesTo` leaves out (a watermark decides nothing for it: see flush;
    // the engine would name the asset idle again and again until it reports). Usage read while held
    // by a calendar change, once released (the calendar set back), is filed by a watermark too.
    holds: (state, asset) => (asset === undefined || matchesFilter(asset, options.appliesTo)) && (holdsAny(state?.order) || (state?.heldUsage !== undefined && !held(state))),
    // The same decisions with every asset's state in columns (usage-rule-owned.ts); this rule for the rest.
    owned: () => ownedUsageRule({ rule, options, held, kmFor }),
  };
  return rule;
}

/**
 * Readings with equal times: plain readings before a reset (the old meter's final reading, then the
 * new meter's start), then by value; equal ones are duplicates.
 */
const readingOrder = byKey((x: Reading) => `${x.reset ? 'r' : 'p'}${x.h}`);

function readingOf(event: MeterEvent, meter: 'operatingHours' | 'odometerKm'): Reading {
  const h = event[meter] as number;
  // A declared reset is about the hour meter.
  const reset = meter === 'operatingHours' ? event.declaredReset === true : event.odometerReset === true;
  return reset ? { t: event.eventTime, h, reset: true } : { t: event.eventTime, h };
}

function processAll(start: UsageState, readings: readonly Reading[], options: UsageRuleOptions, holding: boolean): RuleResult<UsageState> {
  if (readings.length === 0) return { state: start, deliveries: NO_DELIVERIES };
  let s = start;
  for (const r of readings) s = onReading(s, r, options, holding);
  return { state: s, deliveries: NO_DELIVERIES };
}

/**
 * A declared reset older than readings already decided. When it becomes the base (the readings
 * after it were set aside, as a new meter's low readings are), the newest of them, still kept
 * (`order.last`), are counted now on the new meter, as they would have been in order: its usage
 * so far is filed without waiting for its next reading (those in between are covered by the
 * newest's delta). When a reading after it was accepted, the reset changes no base (see
 * `declareMeterReset`), and nothing already counted is counted again.
 */
function lateReset(s: UsageState, r: Reading, options: UsageRuleOptions, holding: boolean): RuleResult<UsageState> {
  const rebases = resetRebases(s.hours?.hygiene, r.t);
  let next = onReading(s, r, options, holding);
  if (rebases) for (const x of s.order?.last ?? NO_READINGS) if (x.t > r.t && x.reset !== true) next = onReading(next, x, options, holding);
  return { state: next, deliveries: NO_DELIVERIES };
}

const NO_READINGS: readonly Reading[] = [];

/**
 * One reading, final. `holding`: the periods are held by a calendar change (see
 * {@link UsageState.heldUsage}): the reading is counted, but what it would spread over periods is
 * kept as spreads to file at the release, the periods and their calendar stamp left as they are.
 */
function onReading(s: UsageState, r: Reading, options: UsageRuleOptions, holding = false): UsageState {
  const step = stepHours(s.hours, r.t, r.h, r.reset === true, s.km ? USAGE_KM_HYGIENE : USAGE_HOURS_HYGIENE);
  if (!step.ok && step.unchangedHours === undefined) return { ...s, hours: step.state, meterIssue: `${new Date(r.t).toISOString()}: ${step.reason}` };
  // A stall is flagged for review, but the meter still showed its value then: no usage up to this
  // reading, so a period ending during the stall has its end reading, and the advance the meter
  // shows later is spread from here, not back across the stall (unless it is more than the wall
  // clock allows since: see `spreadFrom`).
  const hours = step.ok ? step.hours : (step.unchangedHours as number);
  const prev = s.last;
  // One pair for the new `last`, for spreading and for a first `first`: an array per reading fewer.
  // Older than `last` (a reset declared late, which adds no usage): `last` stays, unless no reading
  // after the reset counted usage (they were set aside; stalled ones filed none), so that the new
  // meter's next reading is spread from the reset.
  const last = prev !== undefined && r.t < prev[0] && !resetRebases(s.hours?.hygiene, r.t) ? prev : ([r.t, hours] as const);
  if (holding && prev !== undefined) return onHeldReading(s, r, step, prev, last, options.calendar);
  // Copied key by key, not as `{ ...s.periods }`: the records that spread makes get several hidden
  // classes in V8 (the first reading's, copies of copies), so the spread goes megamorphic and copies
  // each record through the runtime's generic path (measured: a tenth of a reading's instructions).
  const periods: Record<string, PeriodUsage> = {};
  for (const id in s.periods) periods[id] = s.periods[id] as PeriodUsage;
  // Whether a period was added: the calendar they are filed under is then stamped again.
  let added = false;
  if (!prev) {
    const p = options.calendar.periodAt(r.t);
    if (p) {
      added = periods[p.id] === undefined;
      periods[p.id] = { units: periods[p.id]?.units ?? 0, meterAtEnd: hours };
    }
  } else if (r.t > prev[0]) {
    // Usage up to `prev` that was filed in no period (read after a listed calendar's end, before
    // the next periods were listed): filed now, from the newest period's end, before what follows.
    const unfiled = unfiledBefore(periods, prev, s.first, options.calendar);
    if (unfiled) added = spread(periods, unfiled, prev, options.calendar);
    // A held reading this one confirmed (a frozen feed caught up): its advance spread from the
    // first showing of the frozen value, then this reading's from it.
    const held = confirmedBetween(step, prev, r.t);
    if (held) added = spread(periods, spreadFrom(s, prev, held), held, options.calendar) || added;
    added = spread(periods, held ?? spreadFrom(s, prev, last), last, options.calendar) || added;
  }
  // Field by field (no rest or spread): this runs for every meter reading. `meterIssue` is cleared.
  const next: { -readonly [K in keyof UsageState]: UsageState[K] } = {};
  if (s.km) next.km = true;
  if (s.order !== undefined) next.order = s.order;
  next.hours = step.state;
  next.first = s.first ?? last;
  next.last = last;
  next.periods = prune(periods, options.keepPeriods ?? 36, options.calendar);
  const pruned = next.periods === periods ? s.pruned : keepUnits(s.pruned, periods, next.periods);
  if (pruned !== undefined) next.pruned = pruned;
  const issue = meterIssueOf(step, r.t);
  if (issue !== undefined) next.meterIssue = issue;
  // The calendar the periods are filed under: stamped again only when the periods held change.
  next.cal = s.cal !== undefined && !added && next.periods === periods ? s.cal : periodStamp(options.calendar, Object.keys(next.periods));
  return next;
}

/**
 * {@link onReading} of a held state (with a reading before): the same hygiene, meter and latest
 * reading, and the same spreads, kept in `heldUsage` instead of filed (unfiled usage after a listed
 * calendar's end is found again at the release, by the next reading: see `unfiledBefore`).
 */
function onHeldReading(s: UsageState, r: Reading, step: HoursStep, prev: readonly [number, number], last: readonly [number, number], calendar: PeriodCalendar): UsageState {
  let spreads = s.heldUsage;
  if (r.t > prev[0]) {
    const held = confirmedBetween(step, prev, r.t);
    if (held) {
      const from = spreadFrom(s, prev, held);
      spreads = withSpread(spreads, [from[0], from[1], held[0], held[1]], calendar);
    }
    const from = held ?? spreadFrom(s, prev, last);
    spreads = withSpread(spreads, [from[0], from[1], last[0], last[1]], calendar);
  }
  const next: { -readonly [K in keyof UsageState]: UsageState[K] } = { ...s, hours: step.state, last, heldFrom: s.heldFrom ?? prev };
  if (spreads !== undefined) next.heldUsage = spreads;
  delete next.meterIssue;
  const issue = meterIssueOf(step, r.t);
  if (issue !== undefined) next.meterIssue = issue;
  return next;
}

/** A held reading the step at `t` confirmed after `prev` (a frozen feed caught up): its advance is spread first. */
function confirmedBetween(step: HoursStep, prev: readonly [number, number], t: number): readonly [number, number] | undefined {
  return step.ok && step.confirmed !== undefined && step.confirmed[0] > prev[0] && step.confirmed[0] < t ? step.confirmed : undefined;
}

/** What the state says of a reading the step at `t` flagged (a stall) or set aside; undefined for neither. */
function meterIssueOf(step: HoursStep, t: number): string | undefined {
  if (!step.ok) return `${new Date(t).toISOString()}: ${step.reason}`;
  return step.setAside !== undefined ? `${new Date(t).toISOString()}: ${step.setAside}` : undefined;
}

/**
 * Where the usage up to reading `to` is spread from: the latest reading `prev`, unless the meter
 * advanced more since it than the wall clock allows (to the millionth: see `beyondWallClock`; a held reading hygiene confirmed as a frozen
 * feed catching up, judged from when the meter first showed `prev`'s value): then the unchanged readings since
 * that first showing were stale, not "no usage", and the advance is spread from the first showing,
 * so no period gets more usage than its time allows (60 h caught up an hour after a month's end
 * is not 30 h in that hour of the new month).
 */
function spreadFrom(s: UsageState, prev: readonly [number, number], to: readonly [number, number]): readonly [number, number] {
  const shown = s.hours?.hygiene.last?.eventTime;
  if (shown === undefined || shown >= prev[0] || (s.first !== undefined && shown < s.first[0])) return prev;
  // The owned form (usage-rule-owned.ts `release`) asks the same of the same numbers.
  return beyondWallClock(to[1] - prev[1], to[0] - prev[0], s.km ? USAGE_KM_HYGIENE : USAGE_HOURS_HYGIENE) ? [shown, prev[1]] : prev;
}

/** Add the hours between readings `a` and `b` to the periods they span, in proportion to time (in place); whether a period was added. */
function spread(periods: Record<string, PeriodUsage>, a: readonly [number, number], b: readonly [number, number], calendar: PeriodCalendar): boolean {
  let added = false;
  // Read by index: destructuring a pair goes through the array iterator protocol (measured: about
  // 40% of this function's instructions).
  const t0 = a[0];
  const h0 = a[1];
  const t1 = b[0];
  const h1 = b[1];
  const delta = h1 - h0;
  // From before a custom calendar's first period: its share starts at that period.
  let p = calendar.periodFrom(t0);
  // A reading exactly at a boundary belongs to the period it starts; the interval (t0, t1] is split.
  let meter = h0;
  let guard = 0;
  while (p && p.start < t1 && guard++ < 10_000) {
    const from = Math.max(t0, p.start);
    const to = Math.min(t1, p.end);
    if (to > from) {
      const share = (delta * (to - from)) / (t1 - t0);
      meter += share;
      const prev = periods[p.id];
      if (prev === undefined) added = true;
      periods[p.id] = { units: round((prev?.units ?? 0) + share), meterAtEnd: round(to === t1 ? h1 : meter) };
    }
    if (p.end >= t1) break;
    p = calendar.next(p);
  }
  return added;
}

/**
 * Where the usage up to reading `prev` starts when the calendar now has a period for it that was
 * not filed: `[end, meter at end]` of the newest period filed before it. Readings after a listed
 * calendar's `periodsEnd` fall in no period and file nothing; once the next periods are listed,
 * the meter's advance from the last filed period's end to `prev` belongs to them (spread in
 * proportion to time, as between any two readings), not lost from the first new period. An asset
 * with no period filed before it (all its readings came after the listed calendar's end) has its
 * advance since its `first` reading filed so. Undefined in every other case (the period of `prev`
 * is filed, or no period and no earlier reading is before it).
 */
function unfiledBefore(
  periods: Readonly<Record<string, PeriodUsage>>,
  prev: readonly [number, number],
  first: readonly [number, number] | undefined,
  calendar: PeriodCalendar,
): readonly [number, number] | undefined {
  // The period the usage up to `prev` is filed in: a reading at a period's first instant ends the one before.
  const own = calendar.periodAt(prev[0] - 1);
  if (own === undefined || periods[own.id] !== undefined) return undefined;
  let end = -Infinity;
  let meter = 0;
  for (const id in periods) {
    const q = calendar.period(id);
    const record = periods[id] as PeriodUsage;
    if (q !== undefined && q.end <= own.start && q.end > end) {
      end = q.end;
      meter = record.meterAtEnd;
    }
  }
  if (end > -Infinity) return end < prev[0] && meter <= prev[1] ? [end, meter] : undefined;
  // Nothing filed before: every reading up to `prev` fell in no period (read after the calendar's end).
  return first !== undefined && first[0] < prev[0] && first[1] <= prev[1] ? first : undefined;
}

/**
 * Keep the newest `keep` periods, by where the calendar starts them: not by meter (idle periods
 * share one) nor by id as text (`P10` sorts before `P7`). Ids the calendar does not know count as
 * the oldest, among themselves by meter at their end, then id.
 */
function prune(periods: Record<string, PeriodUsage>, keep: number, calendar: PeriodCalendar): Record<string, PeriodUsage> {
  let count = 0;
  for (const _ in periods) count++;
  if (count <= keep) return periods;
  const ids = Object.keys(periods);
  const start = new Map(ids.map((id) => [id, calendar.period(id)?.start]));
  const byStart = ids.sort((x, y) => {
    const a = start.get(x);
    const b = start.get(y);
    if (a !== undefined && b !== undefined) return a - b || (x < y ? -1 : 1);
    if (a !== undefined || b !== undefined) return a === undefined ? -1 : 1;
    return (periods[x]?.meterAtEnd ?? 0) - (periods[y]?.meterAtEnd ?? 0) || (x < y ? -1 : 1);
  });
  const out: Record<string, PeriodUsage> = {};
  for (const id of byStart.slice(ids.length - keep)) out[id] = periods[id] as PeriodUsage;
  return out;
}

/** `pruned` with the units of the periods in `all` that are not in `kept` (a period dropped again overwrites). */
function keepUnits(pruned: Readonly<Record<string, number>> | undefined, all: Record<string, PeriodUsage>, kept: Record<string, PeriodUsage>): Record<string, number> {
  const out: Record<string, number> = { ...pruned };
  for (const id in all) if (!Object.hasOwn(kept, id)) out[id] = (all[id] as PeriodUsage).units;
  return out;
}

const round = (v: number): number => Math.round(v * 1e6) / 1e6;

function isEmpty(o: Readonly<Record<string, unknown>>): boolean {
  for (const _ in o) return false;
  return true;
}
