/**
 * Fiscal period calendars: which period an instant falls in, and where periods start and end, in
 * the company's time zone (a machine running at 00:30 on 1 November in Berlin is working in
 * November, although it is still October in UTC). Monthly periods are named `YYYY-MM`; a custom
 * calendar (4-4-5, fiscal years not starting in January, …) lists its periods.
 * @module
 */
import { isCalendarDay } from '../../normalize/iso-time.js';
import { zonedParts, zonedTimeToUtc } from '../time-zone.js';

/** A fiscal period: `[start, end)` in epoch ms. */
export interface Period {
  readonly id: string;
  readonly start: number;
  readonly end: number;
}

export interface PeriodCalendar {
  readonly timeZone: string;
  /** The period containing instant `t`; undefined outside a custom calendar's range. */
  periodAt(t: number): Period | undefined;
  /** The period containing `t`, else the first one starting after it; undefined after the last. */
  periodFrom(t: number): Period | undefined;
  /** The period with this id; undefined when unknown. */
  period(id: string): Period | undefined;
  /** The period after `p`; undefined at the end of a custom calendar. */
  next(p: Period): Period | undefined;
}

const MONTH_ID = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** Calendar months in `timeZone`, ids `YYYY-MM`. */
export function monthlyCalendar(timeZone: string): PeriodCalendar {
  // Boundaries cost several Intl calls each: compute each month once, and answer lookups that
  // fall in the month asked for last (the common case: consecutive readings) without Intl at all.
  const months = new Map<number, Period>();
  const make = (year: number, month: number): Period => {
    const key = year * 12 + month;
    let p = months.get(key);
    if (!p) {
      p = {
        id: `${year}-${String(month).padStart(2, '0')}`,
        start: zonedTimeToUtc(year, month, 1, 0, 0, timeZone),
        end: zonedTimeToUtc(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, 1, 0, 0, timeZone),
      };
      if (months.size > 1000) months.clear();
      months.set(key, p);
    }
    return p;
  };
  let recent: Period | undefined;
  const periodAt = (t: number): Period => {
    if (recent && t >= recent.start && t < recent.end) return recent;
    const p = zonedParts(t, timeZone);
    recent = make(p.year, p.month);
    return recent;
  };
  return {
    timeZone,
    periodAt,
    periodFrom: periodAt,
    period(id) {
      const m = MONTH_ID.exec(id);
      return m ? make(Number(m[1]), Number(m[2])) : undefined;
    },
    next(p) {
      const m = MONTH_ID.exec(p.id);
      if (!m) return undefined;
      const year = Number(m[1]);
      const month = Number(m[2]);
      return make(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1);
    },
  };
}

export interface CustomPeriodInput {
  readonly id: string;
  /** First day, `YYYY-MM-DD`, local midnight in the calendar's zone. */
  readonly start: string;
}

/**
 * Periods listed explicitly; each ends where the next starts, the last at `end` (`YYYY-MM-DD`,
 * exclusive). Throws when the list is not strictly increasing or ids repeat.
 */
export function customCalendar(timeZone: string, periods: readonly CustomPeriodInput[], end: string): PeriodCalendar {
  const startOf = (date: string) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
    // A day that does not exist (2026-02-30) would roll into the next month: refuse it.
    if (!m || !isCalendarDay(date)) throw new Error(`"${date}" is not a date (YYYY-MM-DD)`);
    return zonedTimeToUtc(Number(m[1]), Number(m[2]), Number(m[3]), 0, 0, timeZone);
  };
  const starts = periods.map((p) => startOf(p.start));
  const list: Period[] = periods.map((p, i) => ({ id: p.id, start: starts[i] as number, end: starts[i + 1] ?? startOf(end) }));
  const ids = new Set<string>();
  for (const p of list) {
    if (p.end <= p.start) throw new Error(`period ${p.id} does not end after it starts; list periods in order, each starting after the previous`);
    if (ids.has(p.id)) throw new Error(`period id ${p.id} is used twice`);
    ids.add(p.id);
  }
  const byId = new Map(list.map((p, i) => [p.id, i]));
  const periodAt = (t: number): Period | undefined => {
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const p = list[mid] as Period;
      if (t < p.start) hi = mid - 1;
      else if (t >= p.end) lo = mid + 1;
      else return p;
    }
    return undefined;
  };
  return {
    timeZone,
    periodAt,
    periodFrom: (t) => (list[0] !== undefined && t < list[0].start ? list[0] : periodAt(t)),
    period(id) {
      const i = byId.get(id);
      return i === undefined ? undefined : list[i];
    },
    next(p) {
      const i = byId.get(p.id);
      return i === undefined ? undefined : list[i + 1];
    },
  };
}
