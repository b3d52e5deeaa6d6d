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
        expect(p.id).toBe(`${local.year}-${String(local.month).padStart(2, '0')}`);
        const n = cal.next(p);
        expect(n?.start).toBe(p.end);
        // the instant before the start is in the previous month
        const before = zonedParts(p.start - 1, tz);
        expect(before.month === local.month && before.year === local.year).toBe(false);
        const startParts = zonedParts(p.start, tz);
        expect([startParts.year, startParts.month, startParts.day]).toEqual([local.year, local.month, 1]);
      }),
      { numRuns: 5000 },
    );
  });
});
