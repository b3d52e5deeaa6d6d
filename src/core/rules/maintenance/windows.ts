/**
 * Maintenance windows: weekly wall-clock slots per site (e.g. Saturdays 06:00–14:00 plant time)
 * into which new work orders are scheduled. A window may cross midnight (22:00–04:00). Closed
 * days (public holidays, a shutdown) take out the windows that start on them.
 * @module
 */
import { zonedParts, zonedTimeToUtc } from '../time-zone.js';

export interface WeeklyWindow {
  /** Days the window starts on, 0 = Sunday … 6 = Saturday. */
  readonly days: readonly number[];
  /** Start, minutes after local midnight. */
  readonly startMinute: number;
  /** Length in minutes (up to a week). */
  readonly durationMinutes: number;
}

/** Closed local days, `YYYY-MM-DD` in the calendar's time zone, both ends included. */
export interface ClosedDays {
  readonly from: string;
  readonly to: string;
}

const commonZones = new WeakMap<object, string>();

/**
 * Notes the common `windows.timeZone` of compiled calendars (the config schema does): the calendars
 * keep only the zones they run in, and with no `default` slots there is no `*` calendar to hold it.
 */
export function noteCommonTimeZone(windows: Readonly<Record<string, WindowCalendar>>, timeZone: string): void {
  commonZones.set(windows, timeZone);
}

/** The common zone of the calendars: as the config wrote it, else the `*` calendar's; undefined with neither. */
export function commonTimeZone(windows: Readonly<Record<string, WindowCalendar>>): string | undefined {
  return commonZones.get(windows) ?? windows['*']?.timeZone;
}

/**
 * The calendar a work order for an asset at `site` is planned by: the site's own, else the default
 * (`*`); undefined with neither. A site name that is no calendar's (`constructor` included) is none.
 */
export function calendarForSite(windows: Readonly<Record<string, WindowCalendar>>, site: unknown): WindowCalendar | undefined {
  return (typeof site === 'string' && Object.hasOwn(windows, site) ? windows[site] : undefined) ?? (Object.hasOwn(windows, '*') ? windows['*'] : undefined);
}

export interface WindowCalendar {
  readonly timeZone: string;
  readonly windows: readonly WeeklyWindow[];
  /** No window starts on these days. @default none */
  readonly closed?: readonly ClosedDays[];
}

/** How far ahead a window is looked for when closures take out the next ones (a long shutdown). */
export const MAX_DAYS_AHEAD = 400;

export interface Slot {
  readonly start: number;
  readonly end: number;
}

/**
 * The window to schedule work found at `t` into: the one in progress at `t` (starting at `t`) while
 * at least half of it is left, else the next one to start. Undefined when the calendar has no windows.
 */
export function nextWindow(calendar: WindowCalendar, t: number): Slot | undefined {
  if (calendar.windows.length === 0) return undefined;
  const today = zonedParts(t, calendar.timeZone);
  const closed = calendar.closed ?? [];
  let best: Slot | undefined;
  // A window that started up to a week ago may still be open; scan one week back and two ahead
  // (every weekly window occurs in that span), further only while closures leave none.
  for (let offset = -7; offset <= 14 || (best === undefined && offset <= MAX_DAYS_AHEAD); offset++) {
    const weekday = (((today.weekday + offset) % 7) + 7) % 7;
    if (closed.length > 0) {
      const day = new Date(Date.UTC(today.year, today.month - 1, today.day + offset)).toISOString().slice(0, 10);
      if (closed.some((c) => c.from <= day && day <= c.to)) continue;
    }
    for (const w of calendar.windows) {
      if (!w.days.includes(weekday)) continue;
      const startMin = w.startMinute;
      const start = zonedTimeToUtc(today.year, today.month, today.day + offset, Math.floor(startMin / 60), startMin % 60, calendar.timeZone);
      const endMin = startMin + w.durationMinutes;
      const end = zonedTimeToUtc(today.year, today.month, today.day + offset, Math.floor(endMin / 60), endMin % 60, calendar.timeZone);
      // A start or end inside the hour a spring DST change skips moves forward by the jump (02:30 is
      // 03:30): a window no longer than the jump that starts there (02:30–03:30) does not happen that
      // day (its start reaches its end: not clipped to the part after the jump); one ending there ends later.
      if (end <= t || end <= start) continue;
      // One under way with less than half of it left is too little to plan work into: the next one.
      if (start < t && end - t < (end - start) / 2) continue;
      const slot = { start: Math.max(start, t), end };
      if (!best || slot.start < best.start || (slot.start === best.start && slot.end > best.end)) best = slot;
    }
    if (best && best.start === t) break;
  }
  return best;
}

/** `HH:MM` → minutes after midnight; undefined when malformed. */
export function parseClock(text: string): number | undefined {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

export const WEEKDAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
