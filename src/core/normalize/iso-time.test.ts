import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCalendarDay, parseIsoTime } from './iso-time.js';

describe('parseIsoTime', () => {
  it('reads every instant back from its UTC and offset forms (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }), fc.integer({ min: -14 * 60, max: 14 * 60 }), (ms, offsetMin) => {
        expect(parseIsoTime(new Date(ms).toISOString())).toBe(ms);
        // The same instant as local time at an offset of whole minutes, e.g. 2026-03-01T14:00:00.500+02:00.
        const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, -1);
        const abs = Math.abs(offsetMin);
        const zone = `${offsetMin < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        expect(parseIsoTime(`${local}${zone}`)).toBe(ms);
        expect(parseIsoTime(`${local}${zone.replace(':', '')}`)).toBe(ms);
      }),
    );
  });

  it('tells days that do not exist, missing zones and other text apart', () => {
    expect(parseIsoTime('2026-02-29T00:00:00Z')).toBe('invalid');
    expect(parseIsoTime('2100-02-29T00:00:00Z')).toBe('invalid');
    expect(parseIsoTime('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29));
    expect(parseIsoTime('2026-09-31T00:00:00+01:00')).toBe('invalid');
    expect(parseIsoTime('2026-12-31T23:59:59.999Z')).toBe(Date.UTC(2026, 11, 31, 23, 59, 59, 999));
    expect(parseIsoTime('2026-03-01T10:00:00')).toBe('zoneless');
    expect(parseIsoTime('2026-03-01 10:00')).toBe('zoneless');
    for (const t of ['1', '2026', 'March 1 2026', '2026-03-01', '']) expect(parseIsoTime(t)).toBe('not-iso');
  });
});

describe('isCalendarDay', () => {
  it('takes a YYYY-MM-DD day that exists, and nothing else', () => {
    expect(['2026-02-28', '2024-02-29', '2000-02-29', '2026-12-31'].map(isCalendarDay)).toEqual([true, true, true, true]);
    expect(['2026-02-29', '1900-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '2026-01-00', '2026-1-01', '2026-01-01T00:00:00Z', ''].map(isCalendarDay)).toEqual(Array(9).fill(false));
  });
});
