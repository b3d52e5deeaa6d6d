/**
 * Calendar service intervals: due every N days from the last service, used or idle. Days are UTC
 * days; the baseline is the latest known service — a completion the ERP reported (kept in the
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
import { formatReading, UNIT } from './service-interval.js';
import type { CalendarIntervalRule, ServiceMeter } from './types.js';

export const DAY_MS = 86_400_000;

/** Start of the UTC day of `t`. */
export const dayOf = (t: number): number => Math.floor(t / DAY_MS) * DAY_MS;
/** `YYYY-MM-DD` (UTC). */
export const isoDay = (t: number): string => new Date(t).toISOString().slice(0, 10);

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
 * A date attribute as the start of its UTC day: `YYYY-MM-DD`, or an ISO time with its zone.
 * Undefined when absent or blank; `NaN` when it is there but not such a date (nothing else is
 * guessed at: `03/07/2026` means different days in different places).
 */
export function parseServiceDate(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const s = text.trim();
  // A day that does not exist (`2026-02-29` would be 1 March) is a typo, not a date.
  const t = ISO_DATE.test(s) && isCalendarDay(s.slice(0, 10)) ? Date.parse(s) : NaN;
  return Number.isNaN(t) ? NaN : dayOf(t);
}

/** Why an asset's service-date attribute cannot be used, or undefined when it can (or is absent). */
export function baselineProblem(rule: CalendarIntervalRule, asset: AssetRecord): string | undefined {
  const text = asset.attributes[rule.baselineAttribute];
  return Number.isNaN(parseServiceDate(text)) ? `${rule.baselineAttribute} "${text ?? ''}" is not a date; write YYYY-MM-DD` : undefined;
}

/**
 * The baseline (a UTC day) for one asset and rule: the later of the reported completion and the
 * attribute's date; else the first check's day; undefined when there is none of these yet (or the
 * attribute is not a date: see {@link baselineProblem}).
 */
export function calendarBaseline(rule: CalendarIntervalRule, asset: AssetRecord, completed: CalendarState | undefined, firstChecked: number | undefined): number | undefined {
  const attr = parseServiceDate(asset.attributes[rule.baselineAttribute]);
  if (attr !== undefined && Number.isNaN(attr)) return completed?.base;
  if (completed !== undefined || attr !== undefined) return Math.max(completed?.base ?? Number.NEGATIVE_INFINITY, attr ?? Number.NEGATIVE_INFINITY);
  return firstChecked === undefined ? undefined : dayOf(firstChecked);
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
export function calendarMeterBaseline(rule: CalendarIntervalRule, asset: AssetRecord, completed: CalendarState | undefined): number {
  const m = rule.orMeter;
  if (!m) return 0;
  const text = asset.attributes[m.baselineAttribute];
  const parsed = text !== undefined && text.trim() !== '' ? Number(text) : NaN;
  const attr = Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
  const fromCompletion = completed?.[m.meter];
  const attrDay = parseServiceDate(asset.attributes[rule.baselineAttribute]);
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
}

/**
 * The latest due point whose lead has begun at `now`; undefined before the first one's lead.
 * A whichever-first rule also takes its meter: the baseline and the latest reading.
 */
export function calendarDueAt(rule: CalendarIntervalRule, base: number, now: number, meter?: { readonly base: number; readonly reading: number | undefined }): CalendarDue | undefined {
  const period = rule.everyDays * DAY_MS;
  const kDays = Math.floor((now + rule.dueSoonDays * DAY_MS - base) / period);
  const m = rule.orMeter;
  if (!m || !meter) {
    if (kDays < 1) return undefined;
    const due = base + kDays * period;
    return { due, occurrence: calendarOccurrence(due, base), dueSoon: now < due };
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
    dueSoon: now < due && !meterPast,
    meter: { meter: m.meter, base: meter.base, reading: meter.reading, due: dueMeter },
    by,
  };
}

/** The next due date after the one at `now` (or the first): what status shows as coming. */
export function nextCalendarDue(rule: CalendarIntervalRule, base: number, now: number): number {
  const period = rule.everyDays * DAY_MS;
  return base + Math.max(1, Math.floor((now + rule.dueSoonDays * DAY_MS - base) / period) + 1) * period;
}
