/**
 * Wall-clock time in IANA time zones with `Intl` only (Temporal is not in Node 20): the local
 * parts of an instant, and the instant of a local wall-clock time. Used for fiscal period
 * boundaries and maintenance windows, which are defined in plant-local time.
 * @module
 */

export interface ZonedParts {
  readonly year: number;
  /** 1–12 */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** 0 = Sunday … 6 = Saturday */
  readonly weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Readonly<Record<string, number>> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when the runtime knows the IANA zone (e.g. `Europe/Berlin`, `UTC`). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

const canonical = new Map<string, string>();

/**
 * The runtime's canonical name of a zone: `europe/berlin` is `Europe/Berlin`, `Etc/UTC` is `UTC`,
 * `US/Eastern` is `America/New_York`. A name the runtime does not know is returned as given.
 */
export function canonicalTimeZone(timeZone: string): string {
  let c = canonical.get(timeZone);
  if (c === undefined) {
    try {
      c = formatter(timeZone).resolvedOptions().timeZone;
    } catch {
      c = timeZone;
    }
    if (canonical.size > 1000) canonical.clear();
    canonical.set(timeZone, c);
  }
  return c;
}

/** The legacy zones of a fixed offset (no daylight saving time) a config may name; see config/rule-inputs.ts. */
const LEGACY_FIXED_OFFSET = new Set(['EST', 'MST', 'HST']);

/**
 * A time zone key's value as the config keeps it: the canonical name ({@link canonicalTimeZone}),
 * so another spelling of the same zone is the same calendar. A legacy fixed-offset zone (EST, MST,
 * HST) is kept as written: the runtime may resolve it to a city of that offset (America/Panama),
 * and `config check` warns about it by the name written (calendar stamps compare zones by their
 * canonical names, see `sameStamp` in depreciation/calendar.ts).
 */
export function configTimeZone(timeZone: string): string {
  return LEGACY_FIXED_OFFSET.has(timeZone.toUpperCase()) ? timeZone : canonicalTimeZone(timeZone);
}

/** The wall-clock parts of instant `t` (epoch ms) in `timeZone`. */
export function zonedParts(t: number, timeZone: string): ZonedParts {
  const out: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(t))) out[p.type] = p.value;
  return {
    year: Number(out.year),
    month: Number(out.month),
    day: Number(out.day),
    hour: Number(out.hour),
    minute: Number(out.minute),
    second: Number(out.second),
    weekday: WEEKDAYS[out.weekday ?? ''] ?? 0,
  };
}

/** Offset of `timeZone` from UTC at instant `t`, ms (positive east of Greenwich). */
export function offsetAt(t: number, timeZone: string): number {
  const p = zonedParts(t, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(t / 1000) * 1000;
}

/**
 * The instant at which the wall clock in `timeZone` shows the given local time. Out-of-range
 * parts roll over (day 32 is the 1st of the next month). A time repeated by a DST change maps to
 * its first occurrence; a time skipped by one is shifted forward by the length of the gap.
 */
export function zonedTimeToUtc(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const before = offsetAt(wall - 86_400_000, timeZone);
  const after = offsetAt(wall + 86_400_000, timeZone);
  const a = wall - before;
  if (before === after) return a;
  const b = wall - after;
  const shows = (t: number) => Date.UTC(...wallOf(t, timeZone)) === wall;
  const matches = [a, b].filter(shows);
  return matches.length ? Math.min(...matches) : a;
}

function wallOf(t: number, timeZone: string): [number, number, number, number, number] {
  const p = zonedParts(t, timeZone);
  return [p.year, p.month - 1, p.day, p.hour, p.minute];
}

/** `YYYY-MM-DD` of an instant in a zone. */
export function localDate(t: number, timeZone: string): string {
  const p = zonedParts(t, timeZone);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}
