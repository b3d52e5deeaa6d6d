import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { MeterEvent } from '../../model/events.js';
import { compareOwned } from '../../../../test/helpers/owned-oracle.js';
import type { OwnedRule } from '../owned.js';
import { flushRules, simulateRules } from '../simulate.js';
import { customCalendar, monthlyCalendar, type Period, type PeriodCalendar } from './calendar.js';
import { createUsageRule, type UsageState } from './usage-rule.js';
import { DEFAULT_DEPRECIATION_ATTRIBUTES, usageFor } from './usage.js';

const asset: AssetRecord = { erpAssetId: 'FA-1', erpModule: 'fixed-assets', attributes: {} };
const meter = (t: number, hours: number, declaredReset?: boolean): MeterEvent => ({
  kind: 'meter',
  source: 'test',
  ids: [{ type: 'erp', value: 'FA-1' }],
  eventTime: t,
  receivedAt: t,
  operatingHours: hours,
  ...(declaredReset ? { declaredReset } : {}),
});

function run(calendar: PeriodCalendar, events: MeterEvent[], lateness = 0): UsageState {
  const rule = createUsageRule({ calendar, allowedLatenessMs: lateness, keepPeriods: 1000 });
  const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })));
  const f = flushRules([rule], r.states, new Map([['FA-1', { asset, destination: 'erp' }]]), 0);
  return f.states.get('FA-1')?.depreciation as UsageState;
}
const sum = (s: UsageState) => Object.values(s.periods ?? {}).reduce((n, p) => n + p.units, 0);

describe('usage per period: conservation', () => {
  it('property: the period units add up to the continuous meter’s advance (monthly, Berlin)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 40 * 86400 }), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 2, maxLength: 40 }), (steps) => {
        let t = Date.UTC(2026, 0, 1);
        let h = 1000;
        const events = steps.map(([dt, rate]) => {
          t += dt * 1000;
          h += (rate * dt) / 3600;
          return meter(t, Math.round(h * 1000) / 1000);
        });
        const s = run(monthlyCalendar('Europe/Berlin'), events);
        expect(sum(s)).toBeCloseTo((s.last?.[1] ?? 0) - (s.first?.[1] ?? 0), 3);
      }),
      { numRuns: 300 },
    );
  });
});

describe('usage per period: conservation on a 4-4-5 calendar', () => {
  // FY27 in Berlin: 4-4-5 weeks from Monday 28 Sep 2026, across the October DST change.
  const weeks = [4, 4, 5, 4, 4, 5];
  const starts: string[] = [];
  let day = Date.UTC(2026, 8, 28);
  for (const w of [...weeks, 0]) {
    starts.push(new Date(day).toISOString().slice(0, 10));
    day += w * 7 * 86_400_000;
  }
  const cal = customCalendar('Europe/Berlin', weeks.map((_, i) => ({ id: `FY27-P${String(i + 1).padStart(2, '0')}`, start: starts[i] as string })), starts[weeks.length] as string);
  const boundaries = weeks.map((_, i) => cal.period(`FY27-P${String(i + 1).padStart(2, '0')}`)?.start as number);

  it('property: readings on and between boundaries: units add up, a boundary reading counts once, and ends its period', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 1, max: 20 * 86400 }).map((s) => ({ dt: s * 1000 })), fc.constantFrom(...boundaries).map((b) => ({ at: b }))), { minLength: 2, maxLength: 30 }),
        (steps) => {
          let t = boundaries[0] as number;
          const times = [t];
          for (const st of steps) {
            const next = 'at' in st ? st.at : t + st.dt;
            if (next > t && next < (boundaries[boundaries.length - 1] as number) + 20 * 86_400_000) times.push((t = next));
          }
          fc.pre(times.length >= 2);
          const events = times.map((x) => meter(x, 1000 + (x - (times[0] as number)) / 3_600_000 / 2));
          const s = run(cal, events.map((e) => ({ ...e, operatingHours: Math.round((e.operatingHours as number) * 1000) / 1000 })));
          expect(sum(s)).toBeCloseTo((s.last?.[1] ?? 0) - (s.first?.[1] ?? 0), 3);
          for (const x of times) {
            const p = cal.periodAt(x - 1);
            if (boundaries.includes(x) && p && x > (times[0] as number)) expect(s.periods?.[p.id]?.meterAtEnd).toBeCloseTo(Math.round((1000 + (x - (times[0] as number)) / 7_200_000) * 1000) / 1000, 3);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('usage per period: edges', () => {
  const H = 3_600_000;

  it('a custom calendar that starts after the first reading still gets the usage inside its first period', () => {
    // Fiscal periods from 1 Oct (UTC); the asset already reported on 30 Sep.
    const cal = customCalendar('UTC', [{ id: 'P01', start: '2026-10-01' }, { id: 'P02', start: '2026-10-29' }], '2026-11-26');
    const s = run(cal, [meter(Date.parse('2026-09-30T12:00:00Z'), 100), meter(Date.parse('2026-10-01T12:00:00Z'), 112)]);
    // 12 h over 24 h: half on 30 Sep (no period), half on 1 Oct (P01).
    expect(s.periods).toEqual({ P01: { units: 6, meterAtEnd: 112 } });
  });

  it('a meter replacement declared at the same instant as the old meter’s final reading keeps the final usage', () => {
    const t0 = Date.parse('2026-10-01T00:00:00Z');
    const t1 = t0 + 200 * H;
    // Final reading of the old meter (600) and the new meter's start (0) share a timestamp.
    const events = [meter(t0, 500), meter(t1, 600), meter(t1, 0, true), meter(t1 + 10 * H, 10)];
    for (const order of [events, [events[0], events[2], events[1], events[3]] as MeterEvent[]]) {
      const s = run(monthlyCalendar('UTC'), order, H);
      expect(s.periods?.['2026-10']).toEqual({ units: 110, meterAtEnd: 610 });
    }
  });
});

describe('usage by the odometer', () => {
  it('a replaced odometer (odometerReset) continues the km count; undeclared, its first reading is set aside', () => {
    const H = 3_600_000;
    const t0 = Date.parse('2026-10-01T00:00:00Z');
    const km = (t: number, value: number, odometerReset?: boolean): MeterEvent => ({ ...meter(t, 0), operatingHours: undefined, odometerKm: value, ...(odometerReset ? { odometerReset } : {}) });
    const rule = createUsageRule({ calendar: monthlyCalendar('UTC'), allowedLatenessMs: 0, keepPeriods: 1000, meterOf: () => 'km' });
    const units = (events: MeterEvent[]) => {
      const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })));
      return (r.states.get('FA-1')?.depreciation as UsageState).periods?.['2026-10']?.units;
    };
    expect(units([km(t0, 182_000), km(t0 + 10 * H, 182_500), km(t0 + 11 * H, 0, true), km(t0 + 20 * H, 300)])).toBe(800);
    expect(units([km(t0, 182_000), km(t0 + 10 * H, 182_500), km(t0 + 11 * H, 0), km(t0 + 20 * H, 300)])).toBe(500);
  });
});

describe('usage per period: the asset\'s meter changed (hours → km) while readings wait for the lateness', () => {
  // The meter is the asset's attribute (rules.depreciation.meterAttribute), not an event: the rule
  // learns of a change at the asset's next reading or watermark, and has no event time for it. A
  // waiting reading holds the value of the meter in force when it came (its hours), and the state
  // holding it says which meter that was (`km`): it is counted on that meter or not at all, never
  // as the other's.
  const H = 3_600_000;
  const M = 60_000;
  const t0 = Date.parse('2026-10-10T00:00:00Z');
  const october = monthlyCalendar('UTC').period('2026-10') as Period;
  const meterOf = (a: AssetRecord) => (a.attributes.depreciationMeter === 'km' ? 'km' : 'hours');
  const onKm: AssetRecord = { ...asset, attributes: { depreciationMeter: 'km' } };
  const both = (min: number, hours: number, km: number): MeterEvent => ({ ...meter(t0 + min * M, hours), odometerKm: km });
  const ctx = (a: AssetRecord) => ({ asset: a, destination: 'erp', now: 0 });
  const rule = () => createUsageRule({ calendar: monthlyCalendar('UTC'), allowedLatenessMs: H, keepPeriods: 1000, meterOf });
  /** Five readings 20 min apart counted on hours: with a lateness of an hour, the last three still wait. */
  const onHours = (r: ReturnType<typeof rule>): UsageState => {
    let s: UsageState | undefined;
    for (const e of [both(0, 100, 5000), both(20, 100.3, 5010), both(40, 100.6, 5020), both(60, 101, 5030), both(80, 101.3, 5040)]) s = r.apply(s, e, ctx(asset)).state;
    return s as UsageState;
  };

  it('a watermark after the change counts the waiting readings on hours, the meter they were read from; the next reading starts the km count without them', () => {
    const r = rule();
    const s = onHours(r);
    expect(s.order?.pending.map((x) => x.h)).toEqual([100.6, 101, 101.3]);
    const flushed = r.flush(s, ctx(onKm), t0 + 4 * H).state;
    // Still the hours count (no `km`), hours hygiene, all five readings once: 1.3 h.
    expect(flushed.km).toBeUndefined();
    expect(flushed.periods).toEqual({ '2026-10': { units: 1.3, meterAtEnd: 101.3 } });
    expect(flushed.meterIssue).toBeUndefined();
    // `depreciation preview` says what the state counts: hours, until the asset's next reading.
    expect(usageFor(onKm, flushed, october, DEFAULT_DEPRECIATION_ATTRIBUTES, t0 + 4 * H, { meter: 'km' })).toMatchObject({ meter: 'hours', periodUnits: 1.3 });
    // The next reading is counted on the odometer, afresh: no hour value in the km count.
    const km = r.flush(r.apply(flushed, both(100, 101.6, 5050), ctx(onKm)).state, ctx(onKm)).state;
    expect(km).toMatchObject({ km: true, first: [t0 + 100 * M, 5050], last: [t0 + 100 * M, 5050], periods: { '2026-10': { units: 0, meterAtEnd: 5050 } } });
    expect(km.meterIssue).toBeUndefined();
  });

  it('a km reading older than the waiting hour readings starts the km count; none of them is taken as km (they would have gone backwards)', () => {
    const r = rule();
    const s = r.apply(onHours(r), both(30, 100.5, 5015), ctx(onKm)).state;
    expect(s).toEqual({ km: true, order: { newest: t0 + 30 * M, pending: [{ t: t0 + 30 * M, h: 5015 }] } });
    const later = r.flush(r.apply(s, both(120, 102, 5060), ctx(onKm)).state, ctx(onKm)).state;
    expect(later).toMatchObject({ km: true, first: [t0 + 30 * M, 5015], last: [t0 + 120 * M, 5060], periods: { '2026-10': { units: 45, meterAtEnd: 5060 } } });
    expect(later.meterIssue).toBeUndefined();
  });

  it('the meter set back to hours before a km reading came: the hours count goes on as if never changed', () => {
    const r = rule();
    const changed = r.flush(onHours(r), ctx(onKm), t0 + 4 * H).state;
    const back = r.flush(r.apply(changed, both(300, 103, 5100), ctx(asset)).state, ctx(asset)).state;
    const unchanged = r.flush(r.apply(r.flush(onHours(r), ctx(asset), t0 + 4 * H).state, both(300, 103, 5100), ctx(asset)).state, ctx(asset)).state;
    expect(back).toEqual(unchanged);
    expect(back.periods).toEqual({ '2026-10': { units: 3, meterAtEnd: 103 } });
  });
});

describe('units-of-production preview: salvage', () => {
  it('a salvage value above cost depreciates nothing (never a negative charge) and says so', () => {
    const cal = monthlyCalendar('UTC');
    const october = cal.period('2026-10');
    if (!october) throw new Error('no October');
    const s = run(cal, [meter(Date.parse('2026-10-01T00:00:00Z'), 100), meter(Date.parse('2026-10-20T00:00:00Z'), 200)]);
    const odd: AssetRecord = { ...asset, attributes: { cost: '5000', salvage: '8000', expectedUnits: '1000', usefulLifeMonths: '60' } };
    const line = usageFor(odd, s, october, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.parse('2026-11-05T00:00:00Z'));
    expect([line.unitsOfProduction, line.straightLine]).toEqual([0, 0]);
    expect(line.notes).toContain('invalid attribute "salvage" (8000) is more than cost (5000): nothing would be depreciated; lower the salvage value or correct "cost"');
  });
});

describe('custom calendars: start dates', () => {
  it('a start date that is not a real day is refused, not rolled into the next month', () => {
    expect(() => customCalendar('UTC', [{ id: 'P01', start: '2026-01-01' }, { id: 'P02', start: '2026-02-30' }], '2026-04-01')).toThrow(/2026-02-30/);
    expect(() => customCalendar('UTC', [{ id: 'P01', start: '2026-01-01' }], '2026-13-01')).toThrow(/2026-13-01/);
  });
});

describe('usage per period: a meter reset declared after the readings that showed it', () => {
  for (const lateness of [0, 120_000]) {
    it(`is applied, not dropped as late: the new meter's usage counts (lateness ${lateness} ms)`, () => {
      const h = 3_600_000;
      const t0 = Date.UTC(2026, 9, 5);
      const s = run(monthlyCalendar('UTC'), [meter(t0, 240), meter(t0 + 11 * h, 251), meter(t0 + 30 * h, 3), meter(t0 + 34 * h, 6), meter(t0 + 30 * h, 3, true), meter(t0 + 40 * h, 12)], lateness);
      expect(s.last?.[1]).toBe(260);
      expect(sum(s)).toBe(20);
      expect(s.meterIssue).toBeUndefined();
    });
  }
});

describe('usage per period: a late reading that declares no reset', () => {
  // Kills: every late reading taken (the declared-reset exception applied to all).
  it('is dropped as late, the state left as it was', () => {
    const h = 3_600_000;
    const t0 = Date.UTC(2026, 9, 5);
    const rule = createUsageRule({ calendar: monthlyCalendar('UTC'), allowedLatenessMs: 0, keepPeriods: 1000 });
    const ctx = { asset, destination: 'erp', now: 0 };
    let state = rule.apply(undefined, meter(t0, 240), ctx).state;
    state = rule.apply(state, meter(t0 + 2 * h, 242), ctx).state;
    expect(rule.apply(state, meter(t0 + h, 241), ctx)).toEqual({ state, deliveries: [], late: true });
    expect(rule.apply(state, meter(t0 + h, 3), ctx).late).toBe(true); // backwards too: only a declared reset is taken
  });
});

describe('usage per period: a meter unchanged over a stall longer than hygiene trusts (7 days)', () => {
  const day = 86_400_000;
  const t0 = Date.UTC(2026, 0, 20);
  // 1000 h from 20 January to 10 February, reported daily; then it moves again on 15 February.
  const stall = Array.from({ length: 22 }, (_, i) => meter(t0 + i * day, 1000));

  it('knows usage was zero up to the latest unchanged reading: a period ending in the stall gets no share of the later advance', () => {
    const s = run(monthlyCalendar('UTC'), [...stall, meter(Date.UTC(2026, 1, 15), 1050)]);
    expect(s.periods?.['2026-01']).toEqual({ units: 0, meterAtEnd: 1000 });
    expect(s.periods?.['2026-02']?.units).toBe(50);
    expect(sum(s)).toBe(50);
  });

  it('has the end reading of a period that ended during the stall, while the meter still shows it', () => {
    const s = run(monthlyCalendar('UTC'), stall);
    expect(s.last).toEqual([t0 + 21 * day, 1000]);
    expect(s.meterIssue).toMatch(/meter has shown 1000 since 2026-01-20/);
    const line = usageFor({ ...asset, attributes: { cost: '1000', expectedUnits: '100', usefulLifeMonths: '10' } }, s, monthlyCalendar('UTC').period('2026-01')!, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.UTC(2026, 1, 11));
    expect(line.meterAtEnd).toBe(1000);
    expect(line.periodUnits).toBe(0);
    expect(line.notes.join('; ')).not.toMatch(/later usage is not yet known/);
  });
});

describe('usage per period: a frozen feed catching up across a period boundary', () => {
  const h = 3_600_000;
  // 100 h from 29 January on, the feed repeating it (stale: the machine ran); at 02:00 on 1 February
  // it catches up to 160 h. Possible since the first 100 h (74 h before), so hygiene counts all 60 h;
  // not since the last repeat two hours before, so the repeats did not show "no usage".
  const t0 = Date.UTC(2026, 0, 29);
  const frozen = [meter(t0, 100), meter(t0 + 24 * h, 100), meter(t0 + 70 * h, 100), meter(t0 + 74 * h, 160)];

  it('spreads the advance from the first showing of the frozen value once the next reading confirms it, so no period gets more than its time allows', () => {
    // Held until the next reading continues from it (see 'a spike after a live idle stretch').
    const s = run(monthlyCalendar('UTC'), [...frozen, meter(t0 + 75 * h, 160.5)]);
    // 2 of the 74 h are in February: at most ~2 h of the 60 can have been used in it (not 30).
    expect(s.periods?.['2026-02']?.units).toBeCloseTo((60 * 2) / 74 + 0.5, 5);
    expect(s.periods?.['2026-01']).toEqual({ units: expect.closeTo((60 * 72) / 74, 5), meterAtEnd: expect.closeTo(100 + (60 * 72) / 74, 5) });
    expect(sum(s)).toBeCloseTo(60.5, 6);
  });

  it('the same on the owned (column) form, which leaves such a reading to the pure rule', () => {
    const options = { calendar: monthlyCalendar('UTC'), allowedLatenessMs: 0, keepPeriods: 1000 };
    const owned = createUsageRule(options).owned?.() as OwnedRule;
    // The catch-up in the same period as the latest repeat (the form's fast path), the first showing in January.
    const inFebruary = [meter(t0, 100), meter(t0 + 73 * h, 100), meter(t0 + 75 * h, 160), meter(t0 + 76 * h, 160.5)];
    compareOwned(createUsageRule(options), owned, [...inFebruary.map((event) => ({ event, asset })), { flush: undefined, asset }]);
    expect((owned.save(0) as UsageState).periods?.['2026-02']?.units).toBeCloseTo((60 * 3) / 75 + 0.5, 5);
  });

  it('an advance possible since the latest unchanged reading is still spread from it (a stopped machine, a live feed)', () => {
    const s = run(monthlyCalendar('UTC'), [meter(t0, 100), meter(t0 + 70 * h, 100), meter(t0 + 74 * h, 103)]);
    expect(s.periods?.['2026-01']).toEqual({ units: 1.5, meterAtEnd: 101.5 });
    expect(s.periods?.['2026-02']?.units).toBe(1.5);
  });

  it('an advance exactly as much as the wall clock allows since the latest reading is spread from it, whatever float noise the continuous count carries (a meter replaced), in both forms', () => {
    // A new meter from 0 continues the count from 4321.987; it shows 9.359 from 31 October 12:00,
    // again at midnight on 2 November, then 9.466 24 s later: 0.107 h, the most 24 s allow
    // (×1.05, +0.1). The continuous count's difference is 4331.453 − 4331.346 = 0.10700000000088:
    // not more, so nothing of it goes back to October.
    const events = [
      meter(Date.parse('2026-10-20T00:00:00Z'), 4321.987),
      meter(Date.parse('2026-10-20T00:00:10Z'), 0, true),
      meter(Date.parse('2026-10-31T12:00:00Z'), 9.359),
      meter(Date.parse('2026-11-02T00:00:00Z'), 9.359),
      meter(Date.parse('2026-11-02T00:00:24Z'), 9.466),
    ];
    const s = run(monthlyCalendar('UTC'), events);
    expect(s.periods).toEqual({ '2026-10': { units: 9.359, meterAtEnd: 4331.346 }, '2026-11': { units: 0.107, meterAtEnd: 4331.453 } });
    // The owned form takes the last reading on its fast path (the periods as it left them, the same as the pure rule's).
    const options = { calendar: monthlyCalendar('UTC'), allowedLatenessMs: 0, keepPeriods: 1000 };
    const owned = createUsageRule(options).owned?.() as OwnedRule;
    compareOwned(createUsageRule(options), owned, events.map((event) => ({ event, asset })));
    expect((owned.save(0) as UsageState).periods).toEqual(s.periods);
  });
});

describe('usage per period: a spike after a live idle stretch is held, not taken as a frozen feed catching up', () => {
  const h = 3_600_000;
  const t0 = Date.UTC(2026, 2, 1);
  // The machine sat idle, reporting 1000 live for 100 h; then 1100 an hour later: possible since
  // the meter first showed 1000 (101 h), not since it last showed it (1 h).
  const idle = [meter(t0, 1000), meter(t0 + 100 * h, 1000), meter(t0 + 101 * h, 1100)];
  const held = (s: UsageState) => ({ jump: s.hours?.hygiene.jump, jumpHeld: s.hours?.hygiene.jumpHeld });

  it('counts nothing of the suspect reading: it is held in the rule state, visible, until the next reading tells', () => {
    const s = run(monthlyCalendar('UTC'), idle);
    expect(sum(s)).toBe(0);
    expect(s.last).toEqual([t0 + 100 * h, 1000]);
    expect(held(s)).toEqual({ jump: { value: 1100, eventTime: t0 + 101 * h }, jumpHeld: true });
    // Survives the store (JSON) as it is.
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(s.meterIssue).toMatch(/advanced 100 h in 1 h since it last showed 1000 .*held until the next reading/);
    const line = usageFor({ ...asset, attributes: {} }, s, monthlyCalendar('UTC').period('2026-03')!, DEFAULT_DEPRECIATION_ATTRIBUTES, t0 + 102 * h);
    expect(line.periodUnits).toBe(0);
    expect(line.notes.join('; ')).toMatch(/meter: .*held until the next reading/);
  });

  it('a next reading continuing from it confirms it: a frozen feed caught up, counted from the first showing', () => {
    const s = run(monthlyCalendar('UTC'), [...idle, meter(t0 + 102 * h, 1101)]);
    expect(sum(s)).toBeCloseTo(101, 6);
    expect(s.last).toEqual([t0 + 102 * h, 1101]);
    expect(held(s)).toEqual({ jump: undefined, jumpHeld: undefined });
    expect(s.meterIssue).toBeUndefined();
    // The same value again confirms it too (the machine stopped after catching up).
    expect(sum(run(monthlyCalendar('UTC'), [...idle, meter(t0 + 102 * h, 1100)]))).toBeCloseTo(100, 6);
  });

  it('spread from the first showing across a period end: no period gets more than its time allows', () => {
    const t = Date.UTC(2026, 2, 31, 20);
    // 1000 first shown 100 h before 1 April, last shown at 20:00 on 31 March; 1100 at 01:00 on 1 April, confirmed at 02:00.
    const s = run(monthlyCalendar('UTC'), [meter(t - 96 * h, 1000), meter(t, 1000), meter(t + 5 * h, 1100), meter(t + 6 * h, 1101)]);
    expect(s.periods?.['2026-04']?.units).toBeCloseTo((100 * 1) / 101 + 1, 5);
    expect(sum(s)).toBeCloseTo(101, 6);
  });

  for (const [back, counted] of [[1000, 0], [1001, 1]] as const) {
    it(`a next reading that does not continue from it (${back}) sets it aside with the reason; only that reading's own advance counts`, () => {
      const s = run(monthlyCalendar('UTC'), [...idle, meter(t0 + 102 * h, back)]);
      expect(sum(s)).toBeCloseTo(counted, 6);
      expect(held(s)).toEqual({ jump: undefined, jumpHeld: undefined });
      expect(s.meterIssue).toMatch(/reading 1100 at 2026-03-05T05:00:00.000Z, held .* set aside: the next reading, 100\d at .* does not continue from it \(a spike/);
    });
  }

  it('an idle watermark or a flush decides nothing: the reading stays held (silence confirms nothing), and is decided by the next reading when it comes', () => {
    const rule = createUsageRule({ calendar: monthlyCalendar('UTC'), allowedLatenessMs: h, keepPeriods: 1000 });
    const assets = new Map([['FA-1', { asset, destination: 'erp' }]]);
    let states = simulateRules([rule], idle.map((event) => ({ event, asset, destination: 'erp' }))).states;
    states = flushRules([rule], states, assets, 0, t0 + 500 * h).states;
    states = flushRules([rule], states, assets, 0).states;
    const s = states.get('FA-1')?.depreciation as UsageState;
    expect(sum(s)).toBe(0);
    expect(held(s).jumpHeld).toBe(true);
    // A month later, the meter still shows 1100: it was real.
    const later = simulateRules([rule], [{ event: meter(t0 + 800 * h, 1100), asset, destination: 'erp' }], { initial: states });
    const after = flushRules([rule], later.states, assets, 0).states.get('FA-1')?.depreciation as UsageState;
    expect(sum(after)).toBeCloseTo(100, 6);
  });

  it('the same decisions on the owned (column) form', () => {
    const options = { calendar: monthlyCalendar('UTC'), allowedLatenessMs: 0, keepPeriods: 1000 };
    for (const next of [1101, 1100, 1000, 1001, 1050]) {
      const owned = createUsageRule(options).owned?.() as OwnedRule;
      const events = [...idle, meter(t0 + 102 * h, next), meter(t0 + 103 * h, next + 0.5)];
      compareOwned(createUsageRule(options), owned, [...events.map((event) => ({ event, asset })), { flush: undefined, asset }]);
    }
  });

  it('property: what is counted never runs ahead of the wall clock (×1.05, +0.1) since the last trusted reading, unless a reading continued from a held one', () => {
    const step = fc.record({ dtH: fc.double({ min: 0.05, max: 120, noNaN: true }), rate: fc.double({ min: 0, max: 1, noNaN: true }), mode: fc.constantFrom('live', 'idle', 'idle', 'frozen', 'spike', 'back') });
    fc.assert(
      fc.property(fc.array(step, { minLength: 2, maxLength: 40 }), (steps) => {
        const rule = createUsageRule({ calendar: monthlyCalendar('UTC'), allowedLatenessMs: 0, keepPeriods: 1000 });
        const ctx = { asset, destination: 'erp', now: 0 };
        let t = t0;
        let real = 1000;
        let shown = 1000;
        let s = rule.apply(undefined, meter(t, shown), ctx).state;
        for (const st of steps) {
          t += Math.round(st.dtH * h);
          if (st.mode !== 'idle') real += st.rate * st.dtH;
          if (st.mode === 'live' || st.mode === 'idle') shown = Math.round(real * 100) / 100;
          const e = meter(t, st.mode === 'spike' ? Math.round(real + 20 + st.rate * 200) : st.mode === 'back' ? Math.max(0, Math.round(real - 30)) : shown);
          const before = s;
          s = rule.apply(before, e, ctx).state;
          const added = sum(s) - sum(before);
          const trusted = before.last?.[0] ?? t;
          const h0 = before.hours?.hygiene;
          const confirmed = h0?.jumpHeld === true && h0.jump !== undefined && e.operatingHours! >= h0.jump.value;
          if (!confirmed) expect(added).toBeLessThanOrEqual(((t - trusted) / h) * 1.05 + 0.1 + 1e-6);
        }
        expect(sum(s)).toBeCloseTo((s.last?.[1] ?? 0) - (s.first?.[1] ?? 0), 3);
      }),
      { numRuns: 300 },
    );
  });
});

describe('depreciation preview: a meter that went backwards, undeclared', () => {
  const h = 3_600_000;
  const t0 = Date.UTC(2026, 2, 1);
  const attributes = { cost: '1000', expectedUnits: '100', usefulLifeMonths: '10' };

  it('says the asset\'s meter went backwards at what time, that its readings are set aside (not counted), and the command to run for it', () => {
    const s = run(monthlyCalendar('UTC'), [meter(t0, 1000), meter(t0 + 10 * h, 1010), meter(t0 + 11 * h, 5), meter(t0 + 12 * h, 6)]);
    const line = usageFor({ ...asset, attributes }, s, monthlyCalendar('UTC').period('2026-03')!, DEFAULT_DEPRECIATION_ATTRIBUTES, t0 + 13 * h);
    expect(line.periodUnits).toBe(10);
    expect(line.notes).toContain(
      'meter: 2026-03-01T12:00:00.000Z: meter went backwards from 1010 (2026-03-01T10:00:00.000Z) to 6 (2026-03-01T12:00:00.000Z): set aside, not counted, as is every reading below 1010 until the meter shows it again or a replacement is declared; if the meter or ECU was replaced, declare it: assetbridge assets reset-meter FA-1 --hours <new reading> --at <when>',
    );
    // An id a shell would split is quoted.
    const odd = usageFor({ ...asset, erpAssetId: "FA 1's", attributes }, s, monthlyCalendar('UTC').period('2026-03')!, DEFAULT_DEPRECIATION_ATTRIBUTES, t0 + 13 * h);
    expect(odd.notes.join('; ')).toContain("assetbridge assets reset-meter 'FA 1'\\''s' --hours");
  });
});

describe('usage per period: never more than the wall clock allows', () => {
  it('property: a feed live, frozen (repeating a stale value) or spiking: no day gets more usage than its hours (×1.05, +0.1 per reading)', () => {
    const day = 86_400_000;
    const start = Date.UTC(2026, 2, 1);
    const ids = Array.from({ length: 40 }, (_, i) => new Date(start + i * day).toISOString().slice(0, 10));
    const cal = customCalendar('UTC', ids.map((id) => ({ id, start: id })), new Date(start + 40 * day).toISOString().slice(0, 10));
    const step = fc.record({ dtH: fc.double({ min: 0.05, max: 30, noNaN: true }), rate: fc.double({ min: 0, max: 1, noNaN: true }), mode: fc.constantFrom('live', 'live', 'frozen', 'frozen', 'spike') });
    fc.assert(
      fc.property(fc.array(step, { minLength: 2, maxLength: 60 }), (steps) => {
        let t = start;
        let real = 1000;
        let shown = 1000;
        const events = [meter(t, shown)];
        for (const st of steps) {
          t += Math.round(st.dtH * 3_600_000);
          if (t >= start + 39 * day) break;
          real += (st.rate * st.dtH);
          if (st.mode === 'live') shown = Math.round(real * 100) / 100;
          events.push(meter(t, st.mode === 'spike' ? Math.round(real + 50) : shown));
        }
        const s = run(cal, events);
        const from = s.first?.[0] ?? start;
        const to = s.last?.[0] ?? start;
        for (const id of ids) {
          const p = cal.period(id);
          const units = s.periods?.[id]?.units ?? 0;
          if (!p) continue;
          const overlapH = Math.max(0, Math.min(p.end, to) - Math.max(p.start, from)) / 3_600_000;
          expect(units).toBeLessThanOrEqual(overlapH * 1.05 + 0.1 * events.length + 1e-6);
        }
        expect(sum(s)).toBeCloseTo((s.last?.[1] ?? 0) - (s.first?.[1] ?? 0), 3);
      }),
      { numRuns: 300 },
    );
  });
});

describe('usage per period: a messy feed replayed or reordered', () => {
  // A feed live, frozen, spiking, going back, jumping (a meter swapped for one showing more) and
  // declared replaced: readings sent again, or arriving in another order the window accepts.
  const H = 3_600_000;
  const step = fc.record({
    dtH: fc.double({ min: 0.05, max: 60, noNaN: true }),
    rate: fc.double({ min: 0, max: 1, noNaN: true }),
    mode: fc.constantFrom('live', 'live', 'idle', 'frozen', 'spike', 'back', 'jump', 'reset'),
  });
  const feed = (steps: readonly { dtH: number; rate: number; mode: string }[]): MeterEvent[] => {
    let t = Date.UTC(2026, 0, 25);
    let real = 1000;
    let shown = 1000;
    const events = [meter(t, shown)];
    for (const st of steps) {
      t += Math.round(st.dtH * H);
      real += st.rate * st.dtH;
      if (st.mode === 'reset') {
        real = shown = Math.round(st.rate * 10);
        events.push(meter(t, real, true));
        continue;
      }
      if (st.mode === 'jump') real += 300;
      // Idle, reporting live: the meter shows the same value (a spike after it is held).
      if (st.mode === 'idle') real = shown;
      if (st.mode === 'live' || st.mode === 'jump') shown = Math.round(real * 100) / 100;
      events.push(meter(t, st.mode === 'spike' ? Math.round(real + 50) : st.mode === 'back' ? Math.max(0, Math.round(real - 30)) : shown));
    }
    return events;
  };
  const shuffled = <T>(list: readonly T[], picks: readonly number[]): T[] => {
    const out = [...list];
    for (let i = out.length - 1; i > 0; i--) {
      const j = (picks[i % picks.length] ?? 0) % (i + 1);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  };

  it('property: the whole stream sent again, in any order, counts nothing more (any lateness)', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 2, maxLength: 30 }), fc.array(fc.nat(), { minLength: 1, maxLength: 30 }), fc.constantFrom(0, H, 1000 * H), (steps, picks, lateness) => {
        const events = feed(steps);
        const once = run(monthlyCalendar('UTC'), events, lateness);
        const twice = run(monthlyCalendar('UTC'), [...events, ...shuffled(events, picks)], lateness);
        expect({ periods: twice.periods, total: twice.hours?.total }).toEqual({ periods: once.periods, total: once.hours?.total });
      }),
      { numRuns: 200 },
    );
  });

  it('property: any arrival order within the window counts as in order', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 2, maxLength: 30 }), fc.array(fc.nat(), { minLength: 1, maxLength: 30 }), (steps, picks) => {
        const events = feed(steps);
        const inOrder = run(monthlyCalendar('UTC'), events, 10_000 * H);
        const arrived = run(monthlyCalendar('UTC'), shuffled(events, picks), 10_000 * H);
        expect({ periods: arrived.periods, total: arrived.hours?.total }).toEqual({ periods: inOrder.periods, total: inOrder.hours?.total });
      }),
      { numRuns: 200 },
    );
  });
});

describe('usage per period: the newest periods kept (keepPeriods)', () => {
  it('are the newest by the calendar, not by meter (idle periods share one) nor by id as text (P10 before P7)', () => {
    const cal = customCalendar('UTC', [7, 8, 9, 10, 11].map((n, i) => ({ id: `P${n}`, start: `2026-0${i + 1}-01` })), '2026-06-01');
    const rule = createUsageRule({ calendar: cal, allowedLatenessMs: 0, keepPeriods: 3 });
    // Used in P7 only, then idle through P10.
    const events = [meter(Date.parse('2026-01-05T00:00:00Z'), 100), meter(Date.parse('2026-01-06T00:00:00Z'), 110), meter(Date.parse('2026-04-20T00:00:00Z'), 110)];
    const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })));
    const s = r.states.get('FA-1')?.depreciation as UsageState;
    expect(Object.keys(s.periods ?? {}).sort()).toEqual(['P10', 'P8', 'P9']);
    expect(s.pruned).toEqual({ P7: 10 });
    const line = usageFor(asset, s, cal.period('P10') as NonNullable<ReturnType<typeof cal.period>>, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.parse('2026-06-10T00:00:00Z'), undefined, { calendar: cal });
    expect([line.periodUnits, line.meterAtEnd, line.incomplete]).toEqual([0, 110, undefined]);
  });
});

describe('usage per period: readings after a listed calendar ended, then the next periods listed', () => {
  const listed = (ids: string[]) => customCalendar('UTC', ids.map((id, i) => ({ id, start: `2026-0${i + 1}-01` })), `2026-0${ids.length + 1}-01`);
  const old = listed(['P1', 'P2']);
  const extended = listed(['P1', 'P2', 'P3', 'P4']);
  const at = (d: string, h: number) => meter(Date.parse(`${d}T00:00:00Z`), h);

  it('files the usage read while no period held it into the periods listed since: none is lost, they add up to the meter', () => {
    // Read under the old list: 10 March and 20 March fall after its end (1 March), in no period.
    let s = run(old, [at('2026-01-10', 100), at('2026-02-10', 200), at('2026-03-10', 300), at('2026-03-20', 400)]);
    expect(Object.keys(s.periods ?? {}).sort()).toEqual(['P1', 'P2']);
    const p2End = s.periods?.P2?.meterAtEnd as number;
    // The next periods are listed (P3 from 1 March); the next reading comes on 10 April.
    const rule = createUsageRule({ calendar: extended, allowedLatenessMs: 0, keepPeriods: 1000 });
    s = rule.apply(s, at('2026-04-10', 500), { asset, now: 0 } as Parameters<typeof rule.apply>[2]).state;
    // P3 holds all of March: from P2's end to 20 March, and its share of 20 March to 10 April (12 of 21 days).
    expect(s.periods?.P3?.units).toBeCloseTo(400 - p2End + (100 * 12) / 21, 5);
    expect(s.periods?.P4?.units).toBeCloseTo((100 * 9) / 21, 5);
    expect(s.periods?.P3?.meterAtEnd).toBeCloseTo((s.periods?.P3?.units ?? 0) + p2End, 5);
    expect(sum(s)).toBeCloseTo(500 - 100, 5);
  });

  it('an asset whose readings all came after the list’s end (none filed) has them filed from its first reading once the periods are listed', () => {
    // A new asset reporting only after 1 March: no period held any of its usage under the old list.
    let s = run(old, [at('2026-03-05', 100), at('2026-03-10', 110), at('2026-03-20', 130)]);
    expect(s.periods).toEqual({});
    const rule = createUsageRule({ calendar: extended, allowedLatenessMs: 0, keepPeriods: 1000 });
    s = rule.apply(s, at('2026-04-05', 150), { asset, now: 0 } as Parameters<typeof rule.apply>[2]).state;
    // P3 holds 5 to 20 March (30 h) and its share of 20 March to 5 April (12 of 16 days of 20 h).
    expect(s.periods?.P3?.units).toBeCloseTo(30 + (20 * 12) / 16, 5);
    expect(s.periods?.P4?.units).toBeCloseTo((20 * 4) / 16, 5);
    expect(sum(s)).toBeCloseTo(150 - 100, 5);
  });

  it('files a stretch that spans several new periods in proportion to time, and one ending on a period start', () => {
    let s = run(old, [at('2026-01-10', 100), at('2026-02-10', 200), at('2026-04-01', 300)]);
    const p2End = s.periods?.P2?.meterAtEnd as number;
    const rule = createUsageRule({ calendar: extended, allowedLatenessMs: 0, keepPeriods: 1000 });
    s = rule.apply(s, at('2026-04-11', 310), { asset, now: 0 } as Parameters<typeof rule.apply>[2]).state;
    // The reading on 1 April (P4's first instant) ends March: P3 gets all of 1 March to 1 April.
    expect(s.periods?.P3?.units).toBeCloseTo(300 - p2End, 5);
    expect(s.periods?.P4?.units).toBeCloseTo(10, 5);
    expect(sum(s)).toBeCloseTo(210, 5);
  });
});
