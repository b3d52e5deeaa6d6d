/**
 * Maintenance-window edges the tests in maintenance.test.ts leave open: work found exactly when a
 * window ends, and two windows that start together.
 */
import { describe, expect, it } from 'vitest';
import { nextWindow, type WindowCalendar } from './windows.js';

const saturday: WindowCalendar = { timeZone: 'UTC', windows: [{ days: [6], startMinute: 6 * 60, durationMinutes: 8 * 60 }] };

describe('nextWindow', () => {
  it('work found exactly when a window ends goes to the next window, never into an empty slot', () => {
    // Kills `end <= t` → `end < t`: the ended window would give plannedStart = plannedEnd = t.
    expect(nextWindow(saturday, Date.UTC(2026, 9, 3, 14))).toEqual({ start: Date.UTC(2026, 9, 10, 6), end: Date.UTC(2026, 9, 10, 14) });
    // A minute before its end, no 1-minute slot either: the next window.
    expect(nextWindow(saturday, Date.UTC(2026, 9, 3, 13, 59))).toEqual({ start: Date.UTC(2026, 9, 10, 6), end: Date.UTC(2026, 9, 10, 14) });
  });

  it('a window under way is planned into while at least half of it is left', () => {
    // 06:00–14:00: at 10:00 half is left (the rest of it); a minute later, the next Saturday's.
    expect(nextWindow(saturday, Date.UTC(2026, 9, 3, 10))).toEqual({ start: Date.UTC(2026, 9, 3, 10), end: Date.UTC(2026, 9, 3, 14) });
    expect(nextWindow(saturday, Date.UTC(2026, 9, 3, 10, 1))).toEqual({ start: Date.UTC(2026, 9, 10, 6), end: Date.UTC(2026, 9, 10, 14) });
  });

  it('of two windows starting at the same time, takes the longer one, in whichever order they are configured', () => {
    // Kills preferring the shorter (`slot.end > best.end` → `<`) on a tie of starts.
    const short = { days: [6], startMinute: 6 * 60, durationMinutes: 4 * 60 };
    const long = { days: [6], startMinute: 6 * 60, durationMinutes: 8 * 60 };
    const expected = { start: Date.UTC(2026, 9, 3, 6), end: Date.UTC(2026, 9, 3, 14) };
    expect(nextWindow({ timeZone: 'UTC', windows: [short, long] }, Date.UTC(2026, 9, 1))).toEqual(expected);
    expect(nextWindow({ timeZone: 'UTC', windows: [long, short] }, Date.UTC(2026, 9, 1))).toEqual(expected);
  });
});
