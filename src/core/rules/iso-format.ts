/**
 * `new Date(ms).toISOString()` without the Date: what a delivery's `lastSeen` and the like are
 * written with. The Date object and V8's formatting cost about half a microsecond per call, as
 * much as an owned rule's whole decision on a fix; this takes a fraction of that. The same text for
 * every time from 1970 to 9999 (integer milliseconds); any other goes to the Date.
 *
 * The text is made in one piece from its character codes. Joined from its parts (a template
 * literal), it was a tree of a dozen string pieces: cheap to make, but a delivery keeps its text
 * until the outbox has it, and every young-generation collection until then copies the tree, so a
 * kept one cost more than the Date's (about 0.5 µs against 0.15 µs made in one piece).
 * @module
 */

/** 10000-01-01T00:00:00Z: the first time toISOString writes with six digits of year. */
const YEAR_10000 = 253_402_300_800_000;
const DAY_MS = 86_400_000;
/** Character code of the digit 0. */
const D0 = 48;
const DASH = 45;
const COLON = 58;
const DOT = 46;
const T = 84;
const Z = 90;

/** `new Date(ms).toISOString()`, to the character. */
export function isoTime(ms: number): string {
  if (!(ms >= 0 && ms < YEAR_10000) || ms % 1 !== 0) return new Date(ms).toISOString();
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  // The civil date of a day number (H. Hinnant's days_from_civil inverted), in 400-year eras from 0000-03-01.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  rest -= second * 1000;
  const yh = Math.floor(year / 100);
  const yl = year - yh * 100;
  const ms100 = Math.floor(rest / 100);
  const ms1 = rest % 10;
  return String.fromCharCode(
    D0 + Math.floor(yh / 10), D0 + (yh % 10), D0 + Math.floor(yl / 10), D0 + (yl % 10), DASH,
    D0 + Math.floor(month / 10), D0 + (month % 10), DASH,
    D0 + Math.floor(day / 10), D0 + (day % 10), T,
    D0 + Math.floor(hour / 10), D0 + (hour % 10), COLON,
    D0 + Math.floor(minute / 10), D0 + (minute % 10), COLON,
    D0 + Math.floor(second / 10), D0 + (second % 10), DOT,
    D0 + ms100, D0 + Math.floor((rest - ms100 * 100) / 10), D0 + ms1, Z,
  );
}
