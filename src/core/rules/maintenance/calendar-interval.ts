/**
 * Calendar service intervals: due every N days from the last service, used or idle. Days are the
 * calendar days of the asset's site (the time zone of its maintenance-window calendar, else the
 * common `windows.timeZone`, else UTC): a completion at 20:00 in New York counts from that day, a
 * due date begins at local midnight, and a day is a calendar day, not 24 h (a DST week is 7 days).
 * A day is held as the UTC midnight of its local date, so day arithmetic is plain and `isoDay`
 * prints the local date. The baseline is the latest known service — a completion the ERP reported (kept in the
 * maintenance rule's state), or the date in the asset's baseline attribute — and, with neither,
 * the day the service first checked the asset. A work order opens `dueSoonDays` before the due
 * date, one per due date: the occurrence is the due date and its baseline (`2027-03-15@b2026-03-15`),
 * so a completion, which moves the baseline, starts a new series of keys.
 *
 * With a meter as well (`everyHours` or `everyKm`: "every 180 days or 250 h, whichever comes
 * first"), the k-th due point is reached when either side reaches it: k days-periods since the
 * baseline day, or k meter-intervals since the meter at that service. One work order per k and
 * baseline (`1@b2026-03-15+1200h`), whichever side gets there first; the other side reaching the
 * same k adds nothing. A completion resets both.
 * @module
 */
import { isCalendarDay } from '../../normalize/iso-time.js';
import type { AssetRecord } from '../../model/assets.js';
import { offsetAt, zonedParts } from '../time-zone.js';
import { commonTimeZone, type WindowCalendar } from './windows.js';
import { formatReading, UNIT } from './service-interval.js';
import type { CalendarIntervalRule, ServiceMeter } from './types.js';
import { parseWorkOrderKey, scheduleOrder } from './work-order.js';

export const DAY_MS = 86_400_000;

/** Start of the UTC day of `t`. */
export const dayOf = (t: number): number => Math.floor(t / DAY_MS) * DAY_MS;
/** `YYYY-MM-DD` of a day (as {@link dayIn} gives it: the UTC midnight of the local date). */
export const isoDay = (t: number): string => new Date(t).toISOString().slice(0, 10);

/** The local date of instant `t` in `timeZone`, as the UTC midnight of that date (UTC: {@link dayOf}). */
export function dayIn(t: number, timeZone: string): number {
  if (timeZone === 'UTC') return dayOf(t);
  const p = zonedParts(t, timeZone);
  return Date.UTC(p.year, p.month - 1, p.day);
}

/** Instant `t` as the wall clock in `timeZone` shows it, on the same scale as {@link dayIn} (for fractions of days left). */
export const wallClockIn = (t: number, timeZone: string): number => (timeZone === 'UTC' ? t : t + offsetAt(t, timeZone));

/** Where an asset's site and its zone are configured: the maintenance windows by site. */
export interface SiteZones {
  readonly siteAttribute: string;
  readonly windows: Readonly<Record<string, WindowCalendar>>;
}

/**
 * The zone an asset's calendar days are counted in: its site's window calendar's (the calendar its
 * work orders are planned in), else the common one, else UTC.
 */
export function calendarTimeZone(asset: AssetRecord, zones: SiteZones): string {
  const site = asset.attributes[zones.siteAttribute];
  return (site !== undefined ? zones.windows[site]?.timeZone : undefined) ?? commonTimeZone(zones.windows) ?? 'UTC';
}

/** Completions the ERP reported, per calendar rule: the day of the latest, and its event time. */
export interface CalendarState {
  readonly base: number;
  readonly baseAt: number;
  /** The meters at that completion, when known (the meter baseline of a whichever-first rule). */
  readonly hours?: number;
  readonly km?: number;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * A date attribute as a day: `YYYY-MM-DD` is that date; an ISO time with its zone is the date it
 * falls on in `timeZone` (the site's).
 * Undefined when absent or blank; `NaN` when it is there but not such a date (nothing else is
 * guessed at: `03/07/2026` means different days in different places).
 */
export function parseServiceDate(text: string | undefined, timeZone = 'UTC'): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const s = text.trim();
  // A day that does not exist (`2026-02-29` would be 1 March) is a typo, not a date.
  const t = ISO_DATE.test(s) && isCalendarDay(s.slice(0, 10)) ? Date.parse(s) : NaN;
  return Number.isNaN(t) ? NaN : s.length === 10 ? t : dayIn(t, timeZone);
}

/** Why an asset's service-date attribute cannot be used, or undefined when it can (or is absent). */
export function baselineProblem(rule: CalendarIntervalRule, asset: AssetRecord): string | undefined {
  const text = asset.attributes[rule.baselineAttribute];
  return Number.isNaN(parseServiceDate(text)) ? `${rule.baselineAttribute} "${text ?? ''}" is not a date; write YYYY-MM-DD` : undefined;
}

/**
 * The baseline (a day in `timeZone`) for one asset and rule: the later of the reported completion
 * (its day as recorded then) and the attribute's date; else the first check's day; undefined when
 * there is none of these yet (or the attribute is not a date: see {@link baselineProblem}).
 */
export function calendarBaseline(rule: CalendarIntervalRule, asset: AssetRecord, completed: CalendarState | undefined, firstChecked: number | undefined, timeZone = 'UTC'): number | undefined {
  const attr = parseServiceDate(asset.attributes[rule.baselineAttribute], timeZone);
  if (attr !== undefined && Number.isNaN(attr)) return completed?.base;
  if (completed !== undefined || attr !== undefined) return Math.max(completed?.base ?? Number.NEGATIVE_INFINITY, attr ?? Number.NEGATIVE_INFINITY);
  return firstChecked === undefined ? undefined : dayIn(firstChecked, timeZone);
}

/** The baseline day in an occurrence (`2027-03-15@b2026-03-15`, `1@b2026-03-15+1200h`), from a business key or an occurrence. */
function occurrenceBaseline(keyOrOccurrence: string): string | undefined {
  return /@b(\d{4}-\d{2}-\d{2})(?:\+[^|]*)?$/.exec(keyOrOccurrence)?.[1];
}

/** The westernmost and easternmost zones (UTC-12, UTC+14; `Etc/` signs are inverted): the days an instant falls on anywhere. */
const WESTMOST = 'Etc/GMT+12';
const EASTMOST = 'Etc/GMT-14';

/**
 * The baseline a check counts from: {@link calendarBaseline} in the site's zone, unless the work
 * order last opened for this asset and rule (`openedKey`) counts from another day the same facts
 * give in another zone (the first check's time or an attribute's ISO time, on its day in UTC before
 * days were counted at the site, or before the site's zone was changed): that series keeps its
 * baseline, so the occurrence already opened keeps its key and is not opened again under another
 * (exactly once). A completion the ERP reports starts the next series, in the site's days.
 */
export function checkedBaseline(rule: CalendarIntervalRule, asset: AssetRecord, completed: CalendarState | undefined, firstChecked: number | undefined, timeZone: string, openedKey: string | undefined): number | undefined {
  const base = calendarBaseline(rule, asset, completed, firstChecked, timeZone);
  const opened = openedKey === undefined ? undefined : occurrenceBaseline(openedKey);
  if (base === undefined || opened === undefined || opened === isoDay(base)) return base;
  // The baseline only moves later eastwards: the days it is in some zone lie between these two.
  const west = calendarBaseline(rule, asset, completed, firstChecked, WESTMOST);
  const east = calendarBaseline(rule, asset, completed, firstChecked, EASTMOST);
  const day = Date.parse(opened);
  return west !== undefined && east !== undefined && day >= west && day <= east ? day : base;
}

export function calendarOccurrence(due: number, base: number): string {
  return `${isoDay(due)}@b${isoDay(base)}`;
}

/** A whichever-first due point: its number since the baseline, the baseline day and the meter there. */
export function cycleOccurrence(k: number, base: number, meterBase: number, meter: ServiceMeter): string {
  return `${k}@b${isoDay(base)}+${formatReading(meterBase)}${UNIT[meter]}`;
}

/**
 * The meter a whichever-first rule counts from: the meter at the service its baseline day comes
 * from (the completion the ERP reported, or the asset's attributes, whichever is later), else the
 * other one's, else 0 (due at multiples of N, as a service interval without a baseline).
 */
export function calendarMeterBaseline(rule: CalendarIntervalRule, asset: AssetRecord, completed: CalendarState | undefined, timeZone = 'UTC'): number {
  const m = rule.orMeter;
  if (!m) return 0;
  const text = asset.attributes[m.baselineAttribute];
  const parsed = text !== undefined && text.trim() !== '' ? Number(text) : NaN;
  const attr = Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
  const fromCompletion = completed?.[m.meter];
  const attrDay = parseServiceDate(asset.attributes[rule.baselineAttribute], timeZone);
  const completionWins = completed !== undefined && (attrDay === undefined || Number.isNaN(attrDay) || completed.base >= attrDay);
  return (completionWins ? (fromCompletion ?? attr) : (attr ?? fromCompletion)) ?? 0;
}

/** The meter side of a whichever-first due point. */
export interface MeterDue {
  readonly meter: ServiceMeter;
  /** The meter the rule counts from. */
  readonly base: number;
  /** The latest reading (undefined: none yet; only the date counts). */
  readonly reading: number | undefined;
  /** The meter at which this due point is due. */
  readonly due: number;
}

export interface CalendarDue {
  /** The due date (a UTC day). */
  readonly due: number;
  readonly occurrence: string;
  /** True while the due point is still ahead on every side (opened within the lead). */
  readonly dueSoon: boolean;
  /** Whichever-first rules: the meter side of this due point. */
  readonly meter?: MeterDue;
  /** Whichever-first rules: the side that reached the due point (or its lead) first. */
  readonly by?: 'date' | ServiceMeter;
  /** Whichever-first rules: the sides that have reached the due point (or its lead), one or both. */
  readonly reached?: { readonly date: boolean; readonly meter: boolean };
}

/**
 * The latest due point whose lead has begun at `now`; undefined before the first one's lead.
 * A whichever-first rule also takes its meter: the baseline and the latest reading.
 */
export function calendarDueAt(rule: CalendarIntervalRule, base: number, now: number, meter?: { readonly base: number; readonly reading: number | undefined }, timeZone = 'UTC'): CalendarDue | undefined {
  const period = rule.everyDays * DAY_MS;
  // Counted on the site's calendar: today's date, not the instant (a day is a date, not 24 h).
  const today = dayIn(now, timeZone);
  const kDays = Math.floor((today + rule.dueSoonDays * DAY_MS - base) / period);
  const m = rule.orMeter;
  if (!m || !meter) {
    if (kDays < 1) return undefined;
    const due = base + kDays * period;
    return { due, occurrence: calendarOccurrence(due, base), dueSoon: today < due };
  }
  const kMeter = meter.reading === undefined ? 0 : Math.floor((meter.reading + m.dueSoon - meter.base) / m.every + 1e-9);
  const k = Math.max(kDays, kMeter);
  if (k < 1) return undefined;
  const due = base + k * period;
  const dueMeter = meter.base + k * m.every;
  const meterPast = meter.reading !== undefined && meter.reading >= dueMeter - 1e-9;
  const by = kMeter > kDays ? m.meter : kDays > kMeter ? 'date' : meterPast ? m.meter : 'date';
  return {
    due,
    occurrence: cycleOccurrence(k, base, meter.base, m.meter),
    dueSoon: today < due && !meterPast,
    meter: { meter: m.meter, base: meter.base, reading: meter.reading, due: dueMeter },
    by,
    reached: { date: kDays >= k, meter: kMeter >= k },
  };
}

/** The next due date after the one at `now` (or the first): what status shows as coming. */
export function nextCalendarDue(rule: CalendarIntervalRule, base: number, now: number, timeZone = 'UTC'): number {
  const period = rule.everyDays * DAY_MS;
  return base + Math.max(1, Math.floor((dayIn(now, timeZone) + rule.dueSoonDays * DAY_MS - base) / period) + 1) * period;
}

/**
 * Where the work order last opened for a whichever-first rule was due when it was opened: its due
 * date and the meter it was due at (the task keeps them with its mark). A numbered key
 * (`2@b2026-03-15+1200h`) does not hold them, and an interval changed since moves every number's.
 */
export interface OpenedPoint {
  readonly due: number;
  readonly dueMeter?: number;
}

/**
 * Whether the work order last opened for an asset and rule (`openedKey`) stands for the due point
 * `key` of the same asset and rule, counted from the same baseline (and, whichever-first, the same
 * meter baseline). It does when it is that one or a later due point: the next one, opened under UTC
 * days hours before the site's day turned (a check then finds the earlier one); or the one an
 * interval since shortened (`everyDays` 365 to 360) puts before the due date already opened, which
 * is the same service, as a service interval opens nothing at or below the due point it last opened.
 * While it is open (`openedClosed` false) it also stands for a due date less than one interval
 * (`periodMs`, the rule's `everyDays`) after its own: the same service, with `everyDays` lengthened
 * since (365 to 370), as coveringWorkOrder has an open service work order stand for it; cancelled,
 * that due date opens. A completion the ERP reports moves the baseline, and the next series opens.
 *
 * A whichever-first point is numbered, and its number moves with the intervals: shortened while
 * point k is open (`everyHours` 250 to 100, or `everyDays` 180 to 90), a later number comes due at
 * once or soon. While open, the work order stands for a later point too when, on each side that
 * has reached that point (`cycle.due.reached`), the point is less than one interval (`periodMs`,
 * `cycle.meterEvery`) past where the open one was due (`cycle.opened`, kept since it was opened):
 * the same service. Without `cycle.opened` (a mark written before it was kept) a later point opens.
 */
export function openedStandsFor(
  openedKey: string | undefined,
  key: string,
  periodMs = 0,
  openedClosed = false,
  cycle?: { readonly opened: OpenedPoint | undefined; readonly due: CalendarDue; readonly meterEvery: number },
): boolean {
  if (openedKey === undefined) return false;
  if (openedKey === key) return true;
  const opened = parseWorkOrderKey(openedKey);
  const due = parseWorkOrderKey(key);
  if (!opened || !due || opened.erpAssetId !== due.erpAssetId || opened.rule !== due.rule) return false;
  const a = scheduleOrder(opened.occurrence);
  const b = scheduleOrder(due.occurrence);
  if (!a || !b || a.form !== b.form || a.at[0] !== b.at[0] || a.at[1] !== b.at[1]) return false;
  if (a.at[2] >= b.at[2]) return true;
  if (openedClosed) return false;
  // A due date.
  if (a.form === 'day') return a.at[2] > b.at[2] - periodMs;
  // A numbered point: by where the open one was due, on the sides that reached this one.
  if (cycle === undefined) return false;
  const { opened: o, due: d, meterEvery } = cycle;
  if (o?.dueMeter === undefined || d.meter === undefined || d.reached === undefined) return false;
  return (!d.reached.date || d.due < o.due + periodMs) && (!d.reached.meter || d.meter.due < o.dueMeter + meterEvery - 1e-6);
}

/** What {@link openedStandsFor} weighs a whichever-first rule's numbered points by: where the open one was due (as its mark keeps it), the point now due, the meter interval. */
export function openedCycle(rule: CalendarIntervalRule, fired: Partial<OpenedPoint> | undefined, due: CalendarDue): Parameters<typeof openedStandsFor>[4] {
  if (!rule.orMeter) return undefined;
  const opened = fired?.due !== undefined ? { due: fired.due, ...(fired.dueMeter !== undefined ? { dueMeter: fired.dueMeter } : {}) } : undefined;
  return { opened, due, meterEvery: rule.orMeter.every };
}
