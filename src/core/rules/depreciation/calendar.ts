/**
 * Fiscal period calendars: which period an instant falls in, and where periods start and end, in
 * the company's time zone (a machine running at 00:30 on 1 November in Berlin is working in
 * November, although it is still October in UTC). Monthly periods are named `YYYY-MM`; a custom
 * calendar (4-4-5, fiscal years not starting in January, …) lists its periods.
 * @module
 */
import { isCalendarDay } from '../../normalize/iso-time.js';
import { canonicalTimeZone, zonedParts, zonedTimeToUtc } from '../time-zone.js';

/** A fiscal period: `[start, end)` in epoch ms. */
export interface Period {
  readonly id: string;
  readonly start: number;
  readonly end: number;
}

export interface PeriodCalendar {
  readonly timeZone: string;
  /**
   * What the calendar is (its kind, time zone and period definitions), as a short text: usage
   * state records the one its periods were filed under, so a changed calendar is noticed.
   * `monthly Europe/Berlin`, or `custom UTC <hash of the periods and end>`.
   */
  readonly fingerprint: string;
  /** The period containing instant `t`; undefined outside a custom calendar's range. */
  periodAt(t: number): Period | undefined;
  /** The period containing `t`, else the first one starting after it; undefined after the last. */
  periodFrom(t: number): Period | undefined;
  /** The period with this id; undefined when unknown. */
  period(id: string): Period | undefined;
  /** The period after `p`; undefined at the end of a custom calendar. */
  next(p: Period): Period | undefined;
}

/**
 * The stamp of periods filed under `calendar`: its kind and time zone, and a hash of the periods'
 * ids and boundaries there (`monthly Europe/Berlin 1a2b3c4d`). The same periods give the same
 * stamp under a calendar that only lists more periods; another time zone, a moved start or a
 * period the calendar no longer has gives another.
 */
export function periodStamp(calendar: PeriodCalendar, ids: readonly string[]): string {
  const bounds = [...ids].sort().map((id) => {
    const p = calendar.period(id);
    return p ? [id, p.start, p.end] : [id];
  });
  return `${calendar.fingerprint.split(' ', 2).join(' ')} ${hashText(JSON.stringify(bounds))}`;
}

/**
 * Whether two stamps stand for the same periods: equal, or differing only in how the time zone is
 * spelt (`monthly europe/berlin …`, written before config load canonicalised zone names, is
 * `monthly Europe/Berlin …`; `Etc/UTC` is `UTC`). The hash is of the periods' instants, which a
 * zone's other names share.
 */
export function sameStamp(a: string, b: string): boolean {
  if (a === b) return true;
  const x = a.split(' ');
  const y = b.split(' ');
  if (x.length !== y.length || x.length < 3 || x.slice(2).join(' ') !== y.slice(2).join(' ')) return false;
  return sameCalendarName(stampCalendar(a), stampCalendar(b));
}

/** Whether two {@link stampCalendar} texts (`monthly Europe/Berlin`) are the same kind in the same zone, however it is spelt. */
export function sameCalendarName(a: string, b: string): boolean {
  if (a === b) return true;
  const [kindA, zoneA] = a.split(' ');
  const [kindB, zoneB] = b.split(' ');
  return kindA === kindB && zoneA !== undefined && zoneB !== undefined && canonicalTimeZone(zoneA) === canonicalTimeZone(zoneB);
}

/** `monthly Europe/Berlin` of a stamp or fingerprint: what a person can read of it. */
export function stampCalendar(stamp: string): string {
  return stamp.split(' ', 2).join(' ');
}

// Years 1000 and on: an id is its month's own (`0026-10` would be built as `26-10`, of 1926, by Date.UTC's two-digit years).
const MONTH_ID = /^([1-9]\d{3})-(0[1-9]|1[0-2])$/;

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
    const local = zonedParts(t, timeZone);
    let year = local.year;
    let month = local.month;
    let p = make(year, month);
    // Periods tile time from each month's first local instant. Where the clocks went back just
    // after a month's first midnight (St. John's, until 2011, at 00:01), the repeated minutes show
    // the old month's date after the new month began: they are the new month's.
    while (t >= p.end) {
      [year, month] = month === 12 ? [year + 1, 1] : [year, month + 1];
      p = make(year, month);
    }
    while (t < p.start) {
      [year, month] = month === 1 ? [year - 1, 12] : [year, month - 1];
      p = make(year, month);
    }
    recent = p;
    return recent;
  };
  return {
    timeZone,
    fingerprint: `monthly ${timeZone}`,
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

/** What is wrong with a listed calendar, under the key of the failing part (`periods.3.start`, `periodsEnd`). */
export interface CalendarProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

const DAY_FORM = /^\d{4}-\d{2}-\d{2}$/;
const isPeriodInput = (p: unknown): p is CustomPeriodInput =>
  p !== null && typeof p === 'object' && typeof (p as CustomPeriodInput).id === 'string' && typeof (p as CustomPeriodInput).start === 'string' && DAY_FORM.test((p as CustomPeriodInput).start);
const notADay = (date: string) => `"${date}" is not a day of the calendar: write a real date (YYYY-MM-DD)`;

/**
 * The problems of a period list ending at `end`, each under its key and saying what to do: a start
 * or end that is no real day (2026-02-30 would roll into March), a start not after the one before,
 * an id used twice, an end not after the last start. Items not of the form `{id, start: YYYY-MM-DD}`
 * (and an end not of the form) are left to the config schema, which names them. Empty: a calendar.
 */
export function customCalendarProblems(periods: readonly unknown[], end: unknown): CalendarProblem[] {
  const out: CalendarProblem[] = [];
  const ids = new Map<string, number>();
  // The item before, when it is well formed and a real day: the one the next start must follow.
  let before: CustomPeriodInput | undefined;
  periods.forEach((p, i) => {
    const previous = before;
    before = undefined;
    if (!isPeriodInput(p)) return;
    const first = ids.get(p.id);
    if (first === undefined) ids.set(p.id, i);
    else out.push({ path: ['periods', i, 'id'], message: `"${p.id}" is the id of periods.${first} too: give each period its own id` });
    if (!isCalendarDay(p.start)) return void out.push({ path: ['periods', i, 'start'], message: notADay(p.start) });
    if (previous && p.start <= previous.start)
      out.push({ path: ['periods', i, 'start'], message: `"${p.start}" is not after the start of the period before it (${previous.id}, ${previous.start}): list the periods in order, each starting after the one before` });
    before = p;
  });
  if (typeof end === 'string' && DAY_FORM.test(end)) {
    const last = periods.at(-1);
    if (!isCalendarDay(end)) out.push({ path: ['periodsEnd'], message: notADay(end) });
    else if (isPeriodInput(last) && isCalendarDay(last.start) && end <= last.start)
      out.push({ path: ['periodsEnd'], message: `"${end}" is not after the start of the last period (${last.id}, ${last.start}): give the day after the last period ends (exclusive)` });
  }
  return out;
}

/**
 * Periods listed explicitly; each ends where the next starts, the last at `end` (`YYYY-MM-DD`,
 * exclusive). Throws, naming the key, when {@link customCalendarProblems} finds any.
 */
export function customCalendar(timeZone: string, periods: readonly CustomPeriodInput[], end: string): PeriodCalendar {
  const problem = customCalendarProblems(periods, end)[0];
  if (problem) throw new Error(`${problem.path.join('.')}: ${problem.message}`);
  const startOf = (date: string, key: string) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
    if (!m) throw new Error(`${key}: "${date}" is not a date: use YYYY-MM-DD`);
    return zonedTimeToUtc(Number(m[1]), Number(m[2]), Number(m[3]), 0, 0, timeZone);
  };
  const starts = periods.map((p, i) => startOf(p.start, `periods.${i}.start`));
  const list: Period[] = periods.map((p, i) => ({ id: p.id, start: starts[i] as number, end: starts[i + 1] ?? startOf(end, 'periodsEnd') }));
  list.forEach((p, i) => {
    // Days in order can still meet at one instant where a zone skipped a whole day (Pacific/Apia, 2011-12-30).
    if (p.end <= p.start) throw new Error(`periods.${i}: period ${p.id} does not end after it starts in ${timeZone}; list the periods in order, each starting after the one before`);
  });
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
    fingerprint: `custom ${timeZone} ${hashText(JSON.stringify([periods.map((p) => [p.id, p.start]), end]))}`,
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

/** FNV-1a (32 bit) of a text, as 8 hex digits: a fingerprint, not a security measure. */
function hashText(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
