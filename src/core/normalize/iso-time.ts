/**
 * Strict ISO 8601 date-time reading, shared by the decoders. `Date.parse` alone is too forgiving
 * for event times: it reads a time without a zone as the server's local time, rolls 30 February
 * over to 2 March, and takes text such as "1" or "March 1 2026". Pure.
 * @module
 */

/** The common shape (UTC, "Z", up to milliseconds): read by `Date.parse` as it is, after a day check. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;
const ISO_DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)(Z|z|[+-]\d{2}(?::?\d{2})?)$/;
/** A date-time that would be ISO 8601 but for its missing zone. */
export const ZONELESS_ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?$/;

/** Why a text is not an event time: not ISO 8601 at all, no zone, or a date that does not exist. */
export type IsoTimeProblem = 'not-iso' | 'zoneless' | 'invalid';

/** Epoch ms of an ISO 8601 date-time with a zone (`Z`, `+02:00`, `+0200`, `+02`), or why it is not one. */
export function parseIsoTime(text: string): number | IsoTimeProblem {
  if (ISO_UTC.test(text)) {
    const ms = Date.parse(text);
    return Number.isFinite(ms) && dayExists(text) ? ms : 'invalid';
  }
  const trimmed = text.trim();
  const m = ISO_DATE_TIME.exec(trimmed);
  if (!m) return ZONELESS_ISO.test(trimmed) ? 'zoneless' : 'not-iso';
  const zoneText = m[3] ?? 'Z';
  const zone = /^[zZ]$/.test(zoneText) ? 'Z' : zoneText.length === 3 ? `${zoneText}:00` : zoneText.includes(':') ? zoneText : `${zoneText.slice(0, 3)}:${zoneText.slice(3)}`;
  const date = m[1] ?? '';
  const ms = Date.parse(`${date}T${(m[2] ?? '').replace(',', '.')}${zone}`);
  return Number.isFinite(ms) && dayExists(date) ? ms : 'invalid';
}

/**
 * Whether `text` is a `YYYY-MM-DD` day that exists: `Date.parse` takes 31 for any month and rolls
 * `2026-02-30` over to 2 March, so config dates, CLI dates and meter attributes check with this.
 */
export function isCalendarDay(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const month = Number(text.slice(5, 7));
  return month >= 1 && month <= 12 && Number(text.slice(8, 10)) >= 1 && dayExists(text);
}

/** Whether the `YYYY-MM-DD` that `text` starts with is a real day (month and day already in range). */
function dayExists(text: string): boolean {
  const day = Number(text.slice(8, 10));
  if (day <= 28) return true; // every month has these: the hot path's answer
  const year = Number(text.slice(0, 4));
  const month = Number(text.slice(5, 7));
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31);
}
