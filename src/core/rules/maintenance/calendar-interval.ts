/**
 * Calendar service intervals: due every N days from the last service, used or idle. Days are UTC
 * days; the baseline is the latest known service — a completion the ERP reported (kept in the
 * maintenance rule's state), or the date in the asset's baseline attribute — and, with neither,
 * the day the service first checked the asset. A work order opens `dueSoonDays` before the due
 * date, one per due date: the occurrence is the due date and its baseline (`2027-03-15@b2026-03-15`),
 * so a completion, which moves the baseline, starts a new series of keys.
 * @module
 */
import type { AssetRecord } from '../../model/assets.js';
import type { CalendarIntervalRule } from './types.js';

export const DAY_MS = 86_400_000;

/** Start of the UTC day of `t`. */
export const dayOf = (t: number): number => Math.floor(t / DAY_MS) * DAY_MS;
/** `YYYY-MM-DD` (UTC). */
export const isoDay = (t: number): string => new Date(t).toISOString().slice(0, 10);

/** Completions the ERP reported, per calendar rule: the day of the latest, and its event time. */
export interface CalendarState {
  readonly base: number;
  readonly baseAt: number;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * A date attribute as the start of its UTC day: `YYYY-MM-DD`, or an ISO time with its zone.
 * Undefined when absent or blank; `NaN` when it is there but not such a date (nothing else is
 * guessed at: `03/07/2026` means different days in different places).
 */
export function parseServiceDate(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const t = ISO_DATE.test(text.trim()) ? Date.parse(text.trim()) : NaN;
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

export interface CalendarDue {
  /** The due date (a UTC day). */
  readonly due: number;
  readonly occurrence: string;
  /** True while the due date is still ahead (opened within the lead). */
  readonly dueSoon: boolean;
}

/** The latest due date whose lead has begun at `now`; undefined before the first one's lead. */
export function calendarDueAt(rule: CalendarIntervalRule, base: number, now: number): CalendarDue | undefined {
  const period = rule.everyDays * DAY_MS;
  const k = Math.floor((now + rule.dueSoonDays * DAY_MS - base) / period);
  if (k < 1) return undefined;
  const due = base + k * period;
  return { due, occurrence: calendarOccurrence(due, base), dueSoon: now < due };
}

/** The next due date after the one at `now` (or the first): what status shows as coming. */
export function nextCalendarDue(rule: CalendarIntervalRule, base: number, now: number): number {
  const period = rule.everyDays * DAY_MS;
  return base + Math.max(1, Math.floor((now + rule.dueSoonDays * DAY_MS - base) / period) + 1) * period;
}
