import { describe, expect, it } from 'vitest';
import { rulesSchema } from '../../../config/rules-schema.js';
import { calendarDueAt, calendarMeterBaseline, DAY_MS } from './calendar-interval.js';
import type { CalendarIntervalRule } from './types.js';

const ruleOf = (input: object): CalendarIntervalRule => rulesSchema.parse({ maintenance: { calendarIntervals: [{ name: 'pm', ...input }] } }).maintenance!.calendarIntervals[0]!;
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

describe('whichever comes first: the due point', () => {
  const rule = ruleOf({ everyDays: 100, dueSoonDays: 10, everyKm: 15000, dueSoonKm: 500 });
  const base = day('2026-01-01');

  it('is the furthest point either side has reached, named by its number and both baselines', () => {
    // Day 50, 14,600 km from a 20,000 km baseline: the km lead has begun, the date's has not.
    expect(calendarDueAt(rule, base, base + 50 * DAY_MS, { base: 20000, reading: 34600 })).toEqual({
      due: base + 100 * DAY_MS,
      occurrence: '1@b2026-01-01+20000km',
      dueSoon: true,
      meter: { meter: 'km', base: 20000, reading: 34600, due: 35000 },
      by: 'km',
    });
    // Day 95 with few km: the date's lead.
    expect(calendarDueAt(rule, base, base + 95 * DAY_MS, { base: 20000, reading: 21000 })).toMatchObject({ occurrence: '1@b2026-01-01+20000km', dueSoon: true, by: 'date' });
    // Both in their lead: the one past its due point decides, else the date.
    expect(calendarDueAt(rule, base, base + 95 * DAY_MS, { base: 20000, reading: 35000 })).toMatchObject({ dueSoon: false, by: 'km' });
    // Two km intervals on day 95: the second point, though the date has reached only the first.
    expect(calendarDueAt(rule, base, base + 95 * DAY_MS, { base: 20000, reading: 50000 })).toMatchObject({ occurrence: '2@b2026-01-01+20000km', due: base + 200 * DAY_MS, by: 'km', dueSoon: false });
    // Neither lead yet, or no reading yet: the date alone.
    expect(calendarDueAt(rule, base, base + 50 * DAY_MS, { base: 20000, reading: 30000 })).toBeUndefined();
    expect(calendarDueAt(rule, base, base + 91 * DAY_MS, { base: 20000, reading: undefined })).toMatchObject({ occurrence: '1@b2026-01-01+20000km', by: 'date' });
  });

  it('leaves a rule without a meter as it was: the due date in the key', () => {
    const plain = ruleOf({ everyDays: 100, dueSoonDays: 10 });
    expect(calendarDueAt(plain, base, base + 95 * DAY_MS)).toEqual({ due: base + 100 * DAY_MS, occurrence: '2026-04-11@b2026-01-01', dueSoon: true });
  });
});

describe('whichever comes first: the meter baseline', () => {
  const rule = ruleOf({ everyDays: 180, everyHours: 250 });
  const asset = (attributes: Record<string, string>) => ({ erpAssetId: 'A', erpModule: 'maintenance', attributes });

  it('is the meter at the service the date counts from: the later of the completion and the attributes', () => {
    const completed = { base: day('2026-05-01'), baseAt: day('2026-05-01') + 3_600_000, hours: 1400 };
    expect(calendarMeterBaseline(rule, asset({ lastServiceDate: '2026-01-01', lastServiceHours: '1000' }), completed)).toBe(1400);
    // The ERP's record was updated after that completion (a service done outside the loop).
    expect(calendarMeterBaseline(rule, asset({ lastServiceDate: '2026-06-01', lastServiceHours: '1500' }), completed)).toBe(1500);
    expect(calendarMeterBaseline(rule, asset({ lastServiceHours: '1000' }), undefined)).toBe(1000);
    // A completion whose meter was not known falls back to the attribute; nothing at all counts from 0.
    expect(calendarMeterBaseline(rule, asset({ lastServiceHours: '1000' }), { base: completed.base, baseAt: completed.baseAt })).toBe(1000);
    expect(calendarMeterBaseline(rule, asset({ lastServiceHours: 'n/a' }), undefined)).toBe(0);
  });
});
