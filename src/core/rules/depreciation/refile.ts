/**
 * Re-filing an asset's usage under a new depreciation calendar (`depreciation refile`), after the
 * configured one was changed on purpose: the state's periods, filed under the old calendar, are
 * held until then (usage-rule.ts).
 *
 * The cumulative meter is known at points: the first reading, the end of each period filed under
 * the old calendar that ended before the last reading filed (the meter at its end), and that last
 * reading. Between them it is taken as linear in time, as the rule spreads usage between two
 * readings; each new period's units are the meter's advance across it. Usage read while the state
 * was held (usage-rule.ts `heldUsage`) is then filed under the new calendar as the rule files it,
 * reading by reading.
 *
 * Postings already made covered time under the old boundaries, up to the end of the last posted
 * period. New periods ending by then are covered (the asset's posting ledger is moved to the last
 * of them, so the posting side treats them as posted); a new period straddling that end counts
 * only the units after it. With the ledger's meter basis (posting.ts) this posts no hour twice.
 * @module
 */
import { periodStamp, sameStamp, type Period, type PeriodCalendar } from './calendar.js';
import type { UsageLedger } from './posting.js';
import { formatAmount, periodUsage } from './usage.js';
import { fileHeldUsage, type HeldSpread, type PeriodUsage, type UsageState } from './usage-rule.js';
import { isoTime } from '../iso-format.js';

/** A period of the re-filed state. */
export interface RefiledPeriod extends PeriodUsage {
  readonly id: string;
  readonly start: number;
  readonly end: number;
  /**
   * `covered`: it ends by the end of the last posted period, whose postings cover its time (not posted
   * again); `straddles`: that end falls inside it, and only its units after that end are counted.
   */
  readonly posted?: 'covered' | 'straddles';
}

/** What the asset's postings under the old calendar covered: up to `end`, the end of `period` (its id under the old calendar). */
export interface PostedThrough {
  readonly period: string;
  readonly end: number;
}

export interface RefileResult {
  /** The state re-filed under the new calendar (stamped with it). */
  readonly state: UsageState;
  /** The periods as they were filed under the old calendar, oldest first (of dropped ones only units; meter null when not known). */
  readonly old: readonly { readonly id: string; readonly units: number | null; readonly meterAtEnd: number | null }[];
  /** The new periods, oldest first (those beyond `keepPeriods` are kept as units only in the state). */
  readonly periods: readonly RefiledPeriod[];
  /** The new period through which postings are covered: the ledger's period from now on; undefined when none ends by the last posted end. */
  readonly coveredThrough?: string;
  /** What the reader should know. */
  readonly notes: readonly string[];
}

export interface RefileOptions {
  /** Periods kept in full (rules.depreciation.keepPeriods). @default 36 */
  readonly keepPeriods?: number;
  /** What the asset's postings covered; absent when it has none. */
  readonly posted?: PostedThrough;
}

/**
 * Which of `candidates` `state` was filed under: the one whose stamp of the state's periods is the
 * state's `cal`. Undefined when none is.
 */
export function filedCalendar(state: UsageState, candidates: readonly PeriodCalendar[]): PeriodCalendar | undefined {
  const ids = Object.keys(state.periods ?? {});
  return candidates.find((c) => state.cal !== undefined && sameStamp(periodStamp(c, ids), state.cal));
}

const round = (v: number): number => Math.round(v * 1e6) / 1e6;

/**
 * The usage read while `state` was held by a calendar change ({@link UsageState.heldUsage}), as it
 * would file in `period` under `calendar` (the configured one) at a re-file: what `depreciation
 * preview` shows of a held asset, whose filed periods say nothing of it. Undefined when the state
 * holds no usage read since the hold began (`heldFrom`), or `period` ends by then.
 */
export interface HeldPeriodUsage {
  /**
   * Units read while held that file in `period`: in the period the hold began in, only those after
   * `since` (the units before it are in the periods filed under the old calendar).
   */
  readonly units: number;
  /** The continuous meter at the period's end (at the latest reading while it is open), as those readings give it. */
  readonly meterAtEnd: number;
  /** When the hold began: the time of the latest reading filed before it. */
  readonly since: number;
}

/** See {@link HeldPeriodUsage}. Pure. */
export function heldUsageIn(state: UsageState | undefined, period: Period, calendar: PeriodCalendar): HeldPeriodUsage | undefined {
  const from = state?.heldFrom;
  const spreads = state?.heldUsage;
  if (from === undefined || spreads === undefined || spreads.length === 0 || period.end <= from[0]) return undefined;
  // Filed as the rule files them at a release (and a re-file after the old periods), into no other period.
  const filed = fileHeldUsage({ heldFrom: from, heldUsage: spreads }, calendar, Infinity).periods?.[period.id];
  if (filed) return { units: round(filed.units), meterAtEnd: round(filed.meterAtEnd), since: from[0] };
  // None of it in the period (it starts after the latest reading, or in a gap between two spreads):
  // the meter at its end is that of the latest reading by then.
  let meter = from[1];
  for (const x of spreads) if (x[2] <= period.end) meter = x[3];
  return { units: 0, meterAtEnd: round(meter), since: from[0] };
}

/** Re-file `state` (filed under `from`) under `to`. Pure. */
export function refileUsage(state: UsageState, from: PeriodCalendar, to: PeriodCalendar, options: RefileOptions = {}): RefileResult {
  const first = state.first;
  // The old periods are filed up to the latest reading before the hold (`heldFrom`); the usage read
  // since (`heldUsage`) is filed under the new calendar after them, spread by its readings' times.
  const last = state.heldFrom ?? state.last;
  const oldIds = [...new Set([...Object.keys(state.periods ?? {}), ...Object.keys(state.pruned ?? {})])];
  const oldPeriods = oldIds
    .map((id) => {
      const p = from.period(id);
      const kept = state.periods?.[id];
      return { id, p, u: p ? periodUsage(state, p, from) : { units: kept?.units ?? state.pruned?.[id] ?? null, meterAtEnd: kept?.meterAtEnd ?? null } };
    })
    .sort((a, b) => (a.p?.start ?? 0) - (b.p?.start ?? 0) || (a.id < b.id ? -1 : 1));
  const old = oldPeriods.map(({ id, u }) => ({ id, units: u?.units ?? null, meterAtEnd: u?.meterAtEnd ?? null }));
  const notes: string[] = [];
  if (!first || !last) return { state: { ...state, periods: {}, cal: periodStamp(to, []) }, old, periods: [], notes: ['no meter reading: nothing to file'] };

  // The meter at known instants: the first reading, each old period's end between the readings, the last reading.
  const known = new Map<number, number>([[first[0], first[1]]]);
  for (const { p, u } of oldPeriods) if (p && u?.meterAtEnd != null && p.end > first[0] && p.end < last[0]) known.set(p.end, u.meterAtEnd);
  known.set(last[0], last[1]);
  const points = [...known].sort((a, b) => a[0] - b[0]);
  const meterAt = (t: number): number => {
    if (t <= points[0]![0]) return points[0]![1];
    for (let i = 1; i < points.length; i++) {
      const [t1, h1] = points[i]!;
      if (t <= t1) {
        const [t0, h0] = points[i - 1]!;
        return h0 + ((h1 - h0) * (t - t0)) / (t1 - t0);
      }
    }
    return last[1];
  };

  const posted = options.posted;
  const periods: RefiledPeriod[] = [];
  let guard = 0;
  // The first reading's period, then each one starting before the last reading (as the rule files them).
  for (let p: Period | undefined = to.periodFrom(first[0]); p && guard++ < 10_000; p = to.next(p)) {
    if (p.start >= last[0] && !(p.start <= first[0] && first[0] < p.end)) break;
    const from0 = Math.max(p.start, first[0]);
    const to0 = Math.min(p.end, last[0]);
    const meterAtEnd = round(meterAt(to0));
    let start = meterAt(from0);
    const straddles = posted !== undefined && p.start < posted.end && posted.end < p.end;
    if (straddles) start = Math.max(start, meterAt(posted.end));
    // A period with the id of one posted under the old calendar cannot be posted again (one fact per asset and period, ever).
    const idPosted = posted !== undefined && (from.period(p.id)?.end ?? Infinity) <= posted.end;
    const mark: RefiledPeriod['posted'] = posted && (p.end <= posted.end || idPosted) ? 'covered' : straddles ? 'straddles' : undefined;
    periods.push({ id: p.id, start: p.start, end: p.end, units: round(Math.max(0, meterAtEnd - start)), meterAtEnd, ...(mark ? { posted: mark } : {}) });
  }
  if (state.heldUsage !== undefined) withHeldUsage(periods, state.heldUsage, to, from, posted);

  const coveredList = periods.filter((p) => p.posted === 'covered');
  const covered = coveredList.at(-1);
  if (posted) {
    const end = `the end of ${posted.period} (${isoTime(posted.end)}), the last period posted`;
    const before = coveredList.filter((p) => p.end <= posted.end);
    if (before.length) notes.push(`${before.map((p) => p.id).join(', ')} end by ${end}: covered by the postings made, not posted again`);
    for (const p of periods) {
      if (p.end <= posted.end || p.start >= posted.end) continue;
      if (p.posted === 'covered') notes.push(`${p.id} straddles ${end}, and a period of that id was posted under the old calendar: its ${formatAmount(p.units)} units after that are carried into the next posting`);
      else notes.push(`${p.id} straddles ${end}: only its ${formatAmount(p.units)} units after that are counted`);
    }
  }

  // The newest keepPeriods in full, the older ones' units kept (as the rule prunes).
  const keep = options.keepPeriods ?? 36;
  const kept = periods.slice(Math.max(0, periods.length - keep));
  const dropped = periods.slice(0, Math.max(0, periods.length - keep));
  const filed: Record<string, PeriodUsage> = {};
  for (const p of kept) filed[p.id] = { units: p.units, meterAtEnd: p.meterAtEnd };
  const next: { -readonly [K in keyof UsageState]: UsageState[K] } = { ...state, periods: filed, cal: periodStamp(to, Object.keys(filed)) };
  delete next.pruned;
  delete next.heldFrom;
  delete next.heldUsage;
  if (dropped.length) next.pruned = Object.fromEntries(dropped.map((p) => [p.id, p.units]));
  return { state: next, old, periods, ...(covered ? { coveredThrough: covered.id } : {}), notes };
}

/**
 * `periods` (the re-filed ones, oldest first; changed in place) with the usage read while the
 * state was held filed into them under `to`, as the rule files it at a release: new periods added
 * in order, marked as covered or straddling the last posting as the others are.
 */
function withHeldUsage(periods: RefiledPeriod[], spreads: readonly HeldSpread[], to: PeriodCalendar, from: PeriodCalendar, posted: PostedThrough | undefined): void {
  const records: Record<string, PeriodUsage> = {};
  for (const p of periods) records[p.id] = { units: p.units, meterAtEnd: p.meterAtEnd };
  const filed = fileHeldUsage({ periods: records, heldUsage: spreads, cal: '' }, to, Infinity).periods ?? {};
  const byId = new Map(periods.map((p) => [p.id, p]));
  const out: RefiledPeriod[] = [];
  for (const id in filed) {
    const record = filed[id] as PeriodUsage;
    const was = byId.get(id);
    const p = was ?? to.period(id);
    if (p === undefined) continue;
    let mark = was?.posted;
    if (was === undefined && posted !== undefined) {
      const idPosted = (from.period(id)?.end ?? Infinity) <= posted.end;
      mark = p.end <= posted.end || idPosted ? 'covered' : p.start < posted.end && posted.end < p.end ? 'straddles' : undefined;
    }
    out.push({ id, start: p.start, end: p.end, units: record.units, meterAtEnd: record.meterAtEnd, ...(mark ? { posted: mark } : {}) });
  }
  out.sort((a, b) => a.start - b.start);
  periods.splice(0, periods.length, ...out);
}

/**
 * The asset's posting ledger after a re-file: its period is the new one through which postings are
 * covered, so the posting side neither posts a covered period nor catches up on one; what it posted
 * (the meter basis, its facts) stays. Unchanged when no new period is covered.
 */
export function refiledLedger(ledger: UsageLedger, result: RefileResult): UsageLedger {
  return result.coveredThrough === undefined ? ledger : { ...ledger, period: result.coveredThrough };
}

/**
 * The end of the period an asset's ledger last posted: as its posting said (`periodEnd` of the
 * ledger's last fact, which is that period's), else as the old calendar has it; undefined when
 * neither knows. A ledger already moved by a re-file still names its last fact: a re-file run again
 * finds the same end.
 */
export function postedThrough(ledger: UsageLedger, from: PeriodCalendar): PostedThrough | undefined {
  const fact = ledger.deliveries.find((d) => d.payload.period === ledger.period) ?? ledger.deliveries.at(-1);
  const said = typeof fact?.payload.periodEnd === 'string' ? Date.parse(fact.payload.periodEnd) : NaN;
  const end = Number.isFinite(said) ? said : from.period(ledger.period)?.end;
  return end === undefined ? undefined : { period: typeof fact?.payload.period === 'string' ? fact.payload.period : ledger.period, end };
}
