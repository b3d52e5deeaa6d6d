/**
 * Calendar-interval details calendar-interval.test.ts leaves open: a service-date attribute that is
 * not a date next to a reported completion, a service date in the future, and a completion on the
 * same day as the registry's service date in a whichever-first rule.
 */
import { describe, expect, it } from 'vitest';
import { rulesSchema } from '../../../config/rules-schema.js';
import { calendarBaseline, calendarMeterBaseline, DAY_MS, nextCalendarDue } from './calendar-interval.js';
import type { CalendarIntervalRule } from './types.js';

const ruleOf = (input: object): CalendarIntervalRule => rulesSchema.parse({ maintenance: { calendarIntervals: [{ name: 'pm', ...input }] } }).maintenance!.calendarIntervals[0]!;
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const asset = (attributes: Record<string, string>) => ({ erpAssetId: 'A', erpModule: 'maintenance', attributes });

describe('the calendar baseline', () => {
  const rule = ruleOf({ everyDays: 180 });

  it('with a service date that is not a date, is the reported completion, or none: never NaN', () => {
    // Kills dropping the "attribute is not a date" branch: Math.max with NaN gives NaN, and status
    // then throws on the invalid date.
    const completed = { base: day('2026-05-01'), baseAt: day('2026-05-01') + 3_600_000 };
    const typo = asset({ [rule.baselineAttribute]: '03/07/2026' });
    expect(calendarBaseline(rule, typo, completed, day('2026-01-10'))).toBe(day('2026-05-01'));
    expect(calendarBaseline(rule, typo, undefined, day('2026-01-10'))).toBeUndefined();
    // A good date and a completion: the later one.
    expect(calendarBaseline(rule, asset({ [rule.baselineAttribute]: '2026-06-01' }), completed, undefined)).toBe(day('2026-06-01'));
  });

  it('the next due date after a service date still in the future is one period after it, not the service day itself', () => {
    // Kills `Math.max(1, …)` → `Math.max(0, …)`: a baseline ahead of now (registry filled in
    // ahead, clocks apart) would show the service day itself as due.
    const base = day('2026-12-01');
    expect(nextCalendarDue(rule, base, day('2026-10-01'))).toBe(base + 180 * DAY_MS);
    expect(nextCalendarDue(rule, base, day('2025-01-01'))).toBe(base + 180 * DAY_MS);
    // Once past it, the usual next period.
    expect(nextCalendarDue(rule, base, base + 200 * DAY_MS)).toBe(base + 360 * DAY_MS);
  });
});

describe('whichever comes first: the meter baseline', () => {
  const rule = ruleOf({ everyDays: 180, everyHours: 250 });

  it('a completion on the same day as the registry’s service date counts with the meter the ERP reported', () => {
    // Kills `completed.base >= attrDay` → `>`: on a tie the registry's (rounder, older) hours would win.
    const completed = { base: day('2026-05-01'), baseAt: day('2026-05-01') + 9 * 3_600_000, hours: 1400 };
    const attrs = asset({ [rule.baselineAttribute]: '2026-05-01', [rule.orMeter!.baselineAttribute]: '1390' });
    expect(calendarMeterBaseline(rule, attrs, completed)).toBe(1400);
    // The registry a day later is the later service.
    const later = asset({ [rule.baselineAttribute]: '2026-05-02', [rule.orMeter!.baselineAttribute]: '1410' });
    expect(calendarMeterBaseline(rule, later, completed)).toBe(1410);
  });
});
