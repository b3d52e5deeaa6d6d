import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { rulesSchema } from '../../../config/rules-schema.js';
import { calendarDueAt, calendarMeterBaseline, DAY_MS, openedStandsFor, parseServiceDate } from './calendar-interval.js';
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
      reached: { date: false, meter: true },
    });
    // Day 95 with few km: the date's lead.
    expect(calendarDueAt(rule, base, base + 95 * DAY_MS, { base: 20000, reading: 21000 })).toMatchObject({ occurrence: '1@b2026-01-01+20000km', dueSoon: true, by: 'date' });
    // Both in their lead: the one past its due point decides, else the date.
    expect(calendarDueAt(rule, base, base + 95 * DAY_MS, { base: 20000, reading: 35000 })).toMatchObject({ dueSoon: false, by: 'km', reached: { date: true, meter: true } });
    // Two km intervals on day 95: the second point, though the date has reached only the first.
    expect(calendarDueAt(rule, base, base + 95 * DAY_MS, { base: 20000, reading: 50000 })).toMatchObject({ occurrence: '2@b2026-01-01+20000km', due: base + 200 * DAY_MS, by: 'km', dueSoon: false, reached: { date: false, meter: true } });
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

describe('the service date attribute', () => {
  it('refuses a day that does not exist instead of rolling it over (2026 has no 29 February)', () => {
    // Date.parse takes 2026-02-29 as 1 March: a guess the docs promise not to make.
    expect(parseServiceDate('2026-02-29')).toBeNaN();
    expect(parseServiceDate('2026-04-31')).toBeNaN();
    expect(parseServiceDate('2026-02-30T10:00:00Z')).toBeNaN();
    expect(parseServiceDate('2024-02-29')).toBe(day('2024-02-29'));
    expect(parseServiceDate('2026-03-15T23:30:00Z')).toBe(day('2026-03-15'));
    expect(parseServiceDate(' 2026-03-15 ')).toBe(day('2026-03-15'));
  });
});

describe('due points (property)', () => {
  it('move only forward with time and meter, open within the lead, and are past due once the date is', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 400 }),
        fc.integer({ min: 0, max: 399 }),
        fc.integer({ min: 0, max: 3000 }).map((d) => day('2024-01-01') + d * DAY_MS),
        fc.array(fc.integer({ min: 0, max: 5000 * 3_600_000 }), { minLength: 2, maxLength: 8 }),
        fc.array(fc.double({ min: 0, max: 300, noNaN: true }), { minLength: 2, maxLength: 8 }),
        (everyDays, lead, base, offsets, steps) => {
          const dueSoonDays = lead % everyDays;
          const rule = ruleOf({ everyDays, dueSoonDays, everyHours: 250, dueSoonHours: 10 });
          const plain = ruleOf({ everyDays, dueSoonDays });
          const times = [...offsets].sort((a, b) => a - b).map((o) => base + o);
          let reading = 1000;
          let lastK = 0;
          for (const [i, now] of times.entries()) {
            reading += steps[i % steps.length] ?? 0;
            const d = calendarDueAt(rule, base, now, { base: 1000, reading });
            const k = d ? Number(d.occurrence.split('@')[0]) : 0;
            expect(k).toBeGreaterThanOrEqual(lastK);
            lastK = k;
            const p = calendarDueAt(plain, base, now);
            if (now >= base + everyDays * DAY_MS - dueSoonDays * DAY_MS) expect(p).toBeDefined();
            if (p) {
              expect(p.due - dueSoonDays * DAY_MS).toBeLessThanOrEqual(now);
              expect(p.dueSoon).toBe(now < p.due);
              expect(p.due % DAY_MS).toBe(0);
            }
          }
        },
      ),
    );
  });
});

describe('the work order last opened', () => {
  it('stands for its own due point and an earlier one of its baseline, never for a later one nor another baseline', () => {
    const k = 'CR-1|inspection|2027-01-10@b2026-01-10';
    expect(openedStandsFor(undefined, k)).toBe(false);
    expect(openedStandsFor(k, k)).toBe(true);
    // everyDays shortened from 365 to 360: the due date moved before the one opened.
    expect(openedStandsFor(k, 'CR-1|inspection|2027-01-05@b2026-01-10')).toBe(true);
    // The next service, or one from a completion since, opens.
    expect(openedStandsFor(k, 'CR-1|inspection|2028-01-10@b2026-01-10')).toBe(false);
    expect(openedStandsFor(k, 'CR-1|inspection|2027-06-01@b2026-06-01')).toBe(false);
    // Another asset's or rule's never.
    expect(openedStandsFor(k, 'CR-2|inspection|2027-01-05@b2026-01-10')).toBe(false);
    expect(openedStandsFor(k, 'CR-1|other|2027-01-05@b2026-01-10')).toBe(false);
    // Open, it also stands for a due date less than one interval after its own (everyDays lengthened
    // from 365 to 370); closed (cancelled), or a whole interval on (unchanged), it does not.
    expect(openedStandsFor(k, 'CR-1|inspection|2027-01-15@b2026-01-10', 370 * DAY_MS)).toBe(true);
    expect(openedStandsFor(k, 'CR-1|inspection|2027-01-15@b2026-01-10', 370 * DAY_MS, true)).toBe(false);
    expect(openedStandsFor(k, 'CR-1|inspection|2028-01-10@b2026-01-10', 365 * DAY_MS)).toBe(false);
    // Whichever-first: by number, with both baselines the same.
    const w = 'EX-1|pm|2@b2026-01-10+1200h';
    expect(openedStandsFor(w, 'EX-1|pm|1@b2026-01-10+1200h')).toBe(true);
    expect(openedStandsFor(w, 'EX-1|pm|3@b2026-01-10+1200h', 365 * DAY_MS)).toBe(false);
    expect(openedStandsFor(w, 'EX-1|pm|1@b2026-01-10+1250h')).toBe(false);
    expect(openedStandsFor(w, 'EX-1|pm|1@b2026-01-10+1200km')).toBe(false);
    // Open, and where it was due known (day 360, 1,700 h): a later point (everyHours shortened from
    // 250 to 100) stands while each side that reached it is less than an interval past that.
    const opened = { due: day('2026-01-10') + 360 * DAY_MS, dueMeter: 1700 };
    const point = (k: number, date: boolean, meter: boolean) => ({ due: day('2026-01-10') + k * 180 * DAY_MS, occurrence: `${k}@b2026-01-10+1200h`, dueSoon: false, meter: { meter: 'hours' as const, base: 1200, reading: 1200 + k * 100, due: 1200 + k * 100 }, reached: { date, meter } });
    const cycle = (k: number, date: boolean, meter: boolean, known = true) => ({ opened: known ? opened : undefined, due: point(k, date, meter), meterEvery: 100 });
    expect(openedStandsFor(w, 'EX-1|pm|5@b2026-01-10+1200h', 180 * DAY_MS, false, cycle(5, false, true))).toBe(true);
    expect(openedStandsFor(w, 'EX-1|pm|6@b2026-01-10+1200h', 180 * DAY_MS, false, cycle(6, false, true))).toBe(false);
    // Reached by date too, a whole interval past day 360 (point 3, day 540): the next service.
    expect(openedStandsFor(w, 'EX-1|pm|3@b2026-01-10+1200h', 180 * DAY_MS, false, cycle(3, true, true))).toBe(false);
    // Cancelled, or opened before where it was due was kept: the later point opens.
    expect(openedStandsFor(w, 'EX-1|pm|5@b2026-01-10+1200h', 180 * DAY_MS, true, cycle(5, false, true))).toBe(false);
    expect(openedStandsFor(w, 'EX-1|pm|5@b2026-01-10+1200h', 180 * DAY_MS, false, cycle(5, false, true, false))).toBe(false);
  });
});
