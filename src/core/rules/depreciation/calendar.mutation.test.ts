/**
 * Period calendar behaviours that mutation testing found unpinned: instants exactly on a boundary
 * (a period is `[start, end)`), and the custom calendars a config may not declare.
 */
import { describe, expect, it } from 'vitest';
import { customCalendar, monthlyCalendar, type Period } from './calendar.js';

const ids = ['P01', 'P02', 'P03', 'P04', 'P05'];
const fiscal = () =>
  customCalendar(
    'Europe/Berlin',
    ids.map((id, i) => ({ id, start: ['2026-09-28', '2026-10-26', '2026-11-23', '2026-12-28', '2027-01-25'][i] as string })),
    '2027-02-22',
  );

describe('monthly calendar: boundaries', () => {
  it('an instant at a month’s end is in the next month, also right after a lookup inside the month', () => {
    // Kills: the last-month shortcut taking `t <= end` (the boundary instant answered as the month before).
    const cal = monthlyCalendar('Europe/Berlin');
    const october = cal.periodAt(Date.parse('2026-10-15T12:00:00Z')) as Period;
    expect(october.id).toBe('2026-10');
    expect(cal.periodAt(october.end)?.id).toBe('2026-11'); // 2026-10-31T23:00Z, local midnight
    expect(cal.periodAt(october.end - 1)?.id).toBe('2026-10');
    expect(cal.periodFrom(october.end)?.id).toBe('2026-11');
  });
});

describe('custom calendar: boundaries', () => {
  it('the instant a period ends is in the next one, and the calendar’s end is outside it', () => {
    // Kills: the binary search taking `t > end` (a period would hold its own end instant).
    const cal = fiscal();
    for (const [i, id] of ids.entries()) {
      const p = cal.period(id) as Period;
      expect(cal.periodAt(p.start)?.id).toBe(id);
      expect(cal.periodAt(p.end - 1)?.id).toBe(id);
      expect(cal.periodAt(p.end)?.id).toBe(ids[i + 1]); // undefined after the last
    }
    expect(cal.periodAt((cal.period('P01') as Period).start - 1)).toBeUndefined();
  });

  it('refuses two periods starting the same day and an id used twice', () => {
    // Kills: accepting an empty period (a start only not before the previous), and dropping the duplicate-id check.
    expect(() => customCalendar('UTC', [{ id: 'a', start: '2026-01-01' }, { id: 'b', start: '2026-01-01' }, { id: 'c', start: '2026-02-01' }], '2026-03-01')).toThrow('periods.1.start: "2026-01-01" is not after the start of the period before it (a, 2026-01-01): list the periods in order, each starting after the one before');
    expect(() => customCalendar('UTC', [{ id: 'a', start: '2026-01-01' }, { id: 'a', start: '2026-02-01' }], '2026-03-01')).toThrow('periods.1.id: "a" is the id of periods.0 too: give each period its own id');
  });
});
