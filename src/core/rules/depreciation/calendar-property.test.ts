import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zonedParts } from '../time-zone.js';
import { monthlyCalendar } from './calendar.js';

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'America/Santiago', 'America/Havana', 'Asia/Beirut', 'Pacific/Auckland', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/St_Johns', 'Africa/Cairo', 'America/Sao_Paulo', 'Asia/Tehran', 'Pacific/Chatham', 'America/Asuncion', 'Europe/Chisinau'];

describe('monthly calendar (property)', () => {
  it('every instant lies in its period; periods tile; each starts at the first local instant of the month', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.oneof(fc.integer({ min: Date.UTC(1995, 0, 1), max: Date.UTC(2040, 0, 1) }), fc.tuple(fc.integer({ min: 1995, max: 2039 }), fc.integer({ min: 0, max: 11 }), fc.integer({ min: -48 * 3600, max: 48 * 3600 })).map(([y, m, s]) => Date.UTC(y, m, 1) + s * 1000)), (tz, t) => {
        const cal = monthlyCalendar(tz);
        const p = cal.periodAt(t);
        expect(p).toBeDefined();
        if (!p) return;
        expect(p.start <= t && t < p.end).toBe(true);
        const local = zonedParts(t, tz);
        const localId = `${local.year}-${String(local.month).padStart(2, '0')}`;
        if (p.id !== localId) {
          // Only where the clocks went back just after a month's first midnight: the repeated
          // minutes show the old month's date, after the new month (the next one) began.
          const old = cal.period(localId);
          expect(old && cal.next(old)?.id).toBe(p.id);
          expect(t - p.start).toBeLessThan(3_600_000);
        }
        const [year, month] = p.id.split('-').map(Number) as [number, number];
        const n = cal.next(p);
        expect(n?.start).toBe(p.end);
        // the instant before the start is in the previous month
        const before = zonedParts(p.start - 1, tz);
        expect(before.month === month && before.year === year).toBe(false);
        const startParts = zonedParts(p.start, tz);
        expect([startParts.year, startParts.month, startParts.day]).toEqual([year, month, 1]);
      }),
      { numRuns: 5000 },
    );
  });

  it("in St. John's, whose clocks went back at 00:01 until 2011, the repeated minutes after November began are November's", () => {
    const cal = monthlyCalendar('America/St_Johns');
    const t = Date.UTC(2009, 10, 1, 2, 31); // 00:01 NDT became 23:01 NST on 31 October
    expect(zonedParts(t, 'America/St_Johns')).toMatchObject({ month: 10, day: 31 });
    const p = cal.periodAt(t);
    expect(p?.id).toBe('2009-11');
    expect(p && p.start <= t && t < p.end).toBe(true);
    expect(cal.period('2009-10')?.end).toBe(p?.start);
  });
});
