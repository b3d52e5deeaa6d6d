import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { MeterEvent } from '../../model/events.js';
import { flushRules, simulateRules } from '../simulate.js';
import { customCalendar, monthlyCalendar, type Period } from './calendar.js';
import { DEFAULT_DEPRECIATION_ATTRIBUTES, meterFor, usageCsv, usageFor, usagePostDelivery } from './usage.js';
import { createUsageRule, type UsageState } from './usage-rule.js';

const iso = (t: number) => new Date(t).toISOString();
const asset: AssetRecord = {
  erpAssetId: 'FA-1',
  erpModule: 'fixed-assets',
  attributes: { cost: '100000', salvage: '10000', expectedUnits: '10000', usefulLifeMonths: '60' },
};

const meter = (at: string, hours: number, declaredReset?: boolean): MeterEvent => ({
  kind: 'meter',
  source: 'test',
  ids: [{ type: 'erp', value: 'FA-1' }],
  eventTime: Date.parse(at),
  receivedAt: Date.parse(at),
  operatingHours: hours,
  ...(declaredReset ? { declaredReset } : {}),
});

function run(timeZone: string, events: MeterEvent[], lateness = 0, batchSizes?: number[]): UsageState {
  const rule = createUsageRule({ calendar: monthlyCalendar(timeZone), allowedLatenessMs: lateness });
  const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })), batchSizes ? { batchSizes } : {});
  const f = flushRules([rule], r.states, new Map([['FA-1', { asset, destination: 'erp' }]]), 0);
  return f.states.get('FA-1')?.depreciation as UsageState;
}

describe('period calendars', () => {
  it('puts month boundaries at local midnight, across DST and in every zone', () => {
    const p = (tz: string, id: string) => {
      const x = monthlyCalendar(tz).period(id) as Period;
      return [iso(x.start), iso(x.end)];
    };
    // Berlin: CEST (+2) at the start of October, CET (+1) at its end.
    expect(p('Europe/Berlin', '2026-10')).toEqual(['2026-09-30T22:00:00.000Z', '2026-10-31T23:00:00.000Z']);
    expect(p('America/New_York', '2026-11')).toEqual(['2026-11-01T04:00:00.000Z', '2026-12-01T05:00:00.000Z']);
    expect(p('Asia/Kolkata', '2026-10')).toEqual(['2026-09-30T18:30:00.000Z', '2026-10-31T18:30:00.000Z']);
    // Southern hemisphere: NZ summer time (+13) in October and November.
    expect(p('Pacific/Auckland', '2026-11')).toEqual(['2026-10-31T11:00:00.000Z', '2026-11-30T11:00:00.000Z']);
    expect(p('UTC', '2026-12')).toEqual(['2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
    expect(monthlyCalendar('UTC').period('2026-13')).toBeUndefined();
  });

  it('finds the period of an instant in local time', () => {
    const t = Date.parse('2026-10-31T23:30:00Z');
    expect(monthlyCalendar('Europe/Berlin').periodAt(t)?.id).toBe('2026-11');
    expect(monthlyCalendar('UTC').periodAt(t)?.id).toBe('2026-10');
    expect(monthlyCalendar('America/Los_Angeles').periodAt(t)?.id).toBe('2026-10');
  });

  it('custom calendars list their periods (4-4-5 weeks, fiscal ids)', () => {
    const cal = customCalendar('Europe/Berlin', [
      { id: 'FY27-P01', start: '2026-10-01' },
      { id: 'FY27-P02', start: '2026-10-29' },
      { id: 'FY27-P03', start: '2026-11-26' },
    ], '2026-12-31');
    expect(cal.periodAt(Date.parse('2026-10-28T22:59:00Z'))?.id).toBe('FY27-P01');
    expect(cal.periodAt(Date.parse('2026-10-28T23:00:00Z'))?.id).toBe('FY27-P02');
    expect(cal.periodAt(Date.parse('2027-01-01T00:00:00Z'))).toBeUndefined();
    expect(cal.next(cal.period('FY27-P02') as Period)?.id).toBe('FY27-P03');
    expect(() => customCalendar('UTC', [{ id: 'a', start: '2026-02-01' }, { id: 'b', start: '2026-01-01' }], '2026-03-01')).toThrow(/^periods\.1\.start: "2026-01-01" is not after the start of the period before it \(a, 2026-02-01\)/);
  });
});

describe('usage per period', () => {
  it('splits the hours between two readings at the period boundary, in the calendar’s zone', () => {
    const events = [meter('2026-10-31T22:00:00Z', 100), meter('2026-11-01T00:00:00Z', 102)];
    // Berlin: the boundary is 23:00Z, one hour on each side.
    expect(run('Europe/Berlin', events).periods).toEqual({ '2026-10': { units: 1, meterAtEnd: 101 }, '2026-11': { units: 1, meterAtEnd: 102 } });
    // UTC: the boundary is at the second reading: both hours are October's.
    expect(run('UTC', events).periods).toEqual({ '2026-10': { units: 2, meterAtEnd: 102 } });
  });

  it('a declared meter reset neither loses nor doubles usage; a backwards reading is set aside', () => {
    const s = run('UTC', [meter('2026-10-01T00:00:00Z', 500), meter('2026-10-10T00:00:00Z', 600), meter('2026-10-10T01:00:00Z', 2, true), meter('2026-10-20T00:00:00Z', 52)]);
    expect(s.periods?.['2026-10']).toEqual({ units: 150, meterAtEnd: 650 });
    const bad = run('UTC', [meter('2026-10-01T00:00:00Z', 500), meter('2026-10-10T00:00:00Z', 600), meter('2026-10-11T00:00:00Z', 20), meter('2026-10-20T00:00:00Z', 700)]);
    expect(bad.periods?.['2026-10']?.units).toBe(200);
  });

  it('counts km on the odometer for vehicles depreciated by distance, with odometer hygiene', () => {
    const rule = createUsageRule({ calendar: monthlyCalendar('UTC'), allowedLatenessMs: 0, meterOf: () => 'km' });
    const odo = (at: string, km: number, hours?: number): MeterEvent => ({ ...meter(at, hours ?? 0), odometerKm: km, ...(hours === undefined ? { operatingHours: undefined } : {}) });
    const events = [
      odo('2026-10-31T20:00:00Z', 50_000, 900),
      odo('2026-10-31T22:00:00Z', 50_160), // 80 km/h
      odo('2026-10-31T23:00:00Z', 58_000), // 7,840 km in an hour: set aside
      odo('2026-11-01T02:00:00Z', 50_400, 905), // across the month end, split in proportion to time
    ];
    const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })));
    const s = r.states.get('FA-1')?.depreciation as UsageState;
    expect(s.periods).toEqual({ '2026-10': { units: 280, meterAtEnd: 50_280 }, '2026-11': { units: 120, meterAtEnd: 50_400 } });
    // The hour meter in the same events does not count.
    expect(s.last).toEqual([Date.parse('2026-11-01T02:00:00Z'), 50_400]);
    // A meter event without an odometer reading leaves the state alone.
    expect(rule.apply(s, meter('2026-11-02T00:00:00Z', 910), { asset, destination: 'erp', now: 0 }).state).toBe(s);
    // Usage counted on hours (before the config changed to the odometer) is not km: it starts afresh.
    const hoursState = run('UTC', [meter('2026-10-01T00:00:00Z', 100), meter('2026-10-02T00:00:00Z', 110)]);
    const fresh = rule.apply(hoursState, odo('2026-10-03T00:00:00Z', 50_000), { asset, destination: 'erp', now: 0 }).state;
    expect(fresh).toMatchObject({ km: true, last: [Date.parse('2026-10-03T00:00:00Z'), 50_000] });
    expect(fresh.periods).toEqual({ '2026-10': { units: 0, meterAtEnd: 50_000 } });
  });

  it('a mixed fleet: each asset counted on the meter its attribute names, else the default', () => {
    const truck: AssetRecord = { ...asset, erpAssetId: 'TR-1', attributes: { ...asset.attributes, depreciationMeter: 'km' } };
    const odd: AssetRecord = { ...asset, erpAssetId: 'X-1', attributes: { depreciationMeter: 'miles' } };
    expect(meterFor(truck, 'depreciationMeter', 'hours')).toEqual({ meter: 'km' });
    expect(meterFor(asset, 'depreciationMeter', 'hours')).toEqual({ meter: 'hours' });
    expect(meterFor({ ...asset, attributes: { depreciationMeter: 'operatingHours' } }, 'depreciationMeter', 'km')).toEqual({ meter: 'hours' });
    expect(meterFor(odd, 'depreciationMeter', 'hours')).toEqual({ meter: 'hours', problem: 'attribute "depreciationMeter" is "miles", not hours or km: counted on hours' });
    const rule = createUsageRule({ calendar: monthlyCalendar('UTC'), allowedLatenessMs: 0, meterOf: (a) => meterFor(a, 'depreciationMeter', 'hours').meter });
    const both = (at: string, hours: number, km: number): MeterEvent => ({ ...meter(at, hours), odometerKm: km });
    const events = [both('2026-10-01T00:00:00Z', 100, 20_000), both('2026-10-01T10:00:00Z', 108, 20_700)];
    const r = simulateRules([rule], [...events.map((event) => ({ event, asset, destination: 'erp' })), ...events.map((event) => ({ event, asset: truck, destination: 'erp' }))]);
    const october = monthlyCalendar('UTC').period('2026-10') as Period;
    const now = Date.parse('2026-11-05T00:00:00Z');
    const machine = usageFor(asset, r.states.get('FA-1')?.depreciation as UsageState, october, DEFAULT_DEPRECIATION_ATTRIBUTES, now);
    const vehicle = usageFor(truck, r.states.get('TR-1')?.depreciation as UsageState, october, DEFAULT_DEPRECIATION_ATTRIBUTES, now);
    expect([machine.meter, machine.periodUnits, vehicle.meter, vehicle.periodUnits]).toEqual(['hours', 8, 'km', 700]);
    expect(usagePostDelivery(vehicle, 'erp', 'UTC', { hours: 'H', km: 'KM' }).payload).toMatchObject({ unit: 'KM', periodUnits: 700 });
    expect(usagePostDelivery(machine, 'erp', 'UTC', { hours: 'H', km: 'KM' }).payload).toMatchObject({ unit: 'H', periodUnits: 8 });
    // An asset without readings yet reports the meter it will be counted on, and an attribute it could not read.
    expect(usageFor(odd, undefined, october, DEFAULT_DEPRECIATION_ATTRIBUTES, now, meterFor(odd, 'depreciationMeter', 'km'))).toMatchObject({ meter: 'km', notes: expect.arrayContaining([expect.stringMatching(/"miles", not hours or km/)]) });
  });

  it('property: any batching and arrival order within the lateness gives the same usage', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 30 * 3600 }), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 2, maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 3_599_999 }), { minLength: 60, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 10 }),
        (steps, delays, batches) => {
          let t = Date.parse('2026-10-25T00:00:00Z');
          let h = 1000;
          const events = steps.map(([dt, rate]) => {
            t += dt * 1000;
            h += (rate * dt) / 3600;
            return meter(iso(t), Math.round(h * 1000) / 1000);
          });
          const inOrder = run('Europe/Berlin', events, 3_600_000);
          const arrival = events
            .map((e, i) => ({ e, at: e.eventTime + (delays[i] ?? 0), i }))
            .sort((a, b) => a.at - b.at || a.i - b.i)
            .map((x) => x.e);
          expect(run('Europe/Berlin', arrival, 3_600_000, batches).periods).toEqual(inOrder.periods);
        },
      ),
      { numRuns: 200 },
    );
  });
});

const money = (v: number) => Math.round(v * 100) / 100;

describe('units-of-production inputs', () => {
  const cal = monthlyCalendar('Europe/Berlin');
  const october = cal.period('2026-10') as Period;
  const state = run('Europe/Berlin', [meter('2026-09-30T22:00:00Z', 1000), meter('2026-10-15T12:00:00Z', 1100), meter('2026-11-02T00:00:00Z', 1160)]);

  it('computes (cost − salvage) × period units ÷ expected units beside straight line', () => {
    const line = usageFor(asset, state, october, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.parse('2026-11-05T00:00:00Z'));
    // 100 h to 15 Oct; then 60 h over 16.5 days (15 Oct 12:00 → 2 Nov 00:00), 16 days (15.5 h + …) to 31 Oct 23:00Z.
    const octShare = (60 * (Date.parse('2026-10-31T23:00:00Z') - Date.parse('2026-10-15T12:00:00Z'))) / (Date.parse('2026-11-02T00:00:00Z') - Date.parse('2026-10-15T12:00:00Z'));
    expect(line.periodUnits).toBeCloseTo(100 + octShare, 3);
    expect(line.lifeToDateUnits).toBeCloseTo(1100 + octShare, 3);
    expect(line.unitsOfProduction).toBeCloseTo((90_000 * (100 + octShare)) / 10_000, 2);
    expect(line.straightLine).toBe(1500);
    expect(line.notes).toEqual([]);
    const d = usagePostDelivery(line, 'erp', 'Europe/Berlin');
    expect(d).toMatchObject({ operation: 'usage.post', kind: 'fact', businessKey: 'FA-1|usage|2026-10', eventTime: october.end });
    expect(d.payload).toMatchObject({ period: '2026-10', unit: 'h', totalExpectedUnits: 10_000, periodStart: '2026-09-30T22:00:00.000Z' });
  });

  it('says what is missing or uncertain', () => {
    const bare: AssetRecord = { erpAssetId: 'FA-2', erpModule: 'fixed-assets', attributes: {} };
    const line = usageFor(bare, undefined, october, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.parse('2026-10-20T00:00:00Z'));
    expect(line).toMatchObject({ periodUnits: 0, lifeToDateUnits: null, unitsOfProduction: null, straightLine: null, tracked: false });
    expect(line.notes).toEqual([
      'no meter readings counted in or before this period (usage counts readings from when rules.depreciation is configured; `assetbridge assets meters` shows earlier ones)',
      'period still open: usage so far',
      'attribute "cost" missing',
      'attribute "expectedUnits" missing',
      'attribute "usefulLifeMonths" missing',
    ]);
    const csv = usageCsv([line]);
    expect(csv.split('\r\n')[1]).toBe(
      'FA-2,2026-10,hours,0,,,,,,,,"no meter readings counted in or before this period (usage counts readings from when rules.depreciation is configured; `assetbridge assets meters` shows earlier ones)|period still open: usage so far|attribute ""cost"" missing|attribute ""expectedUnits"" missing|attribute ""usefulLifeMonths"" missing",0,,,,',
    );
    // The prior-period adjustment columns come after the notes, and the held usage (of an asset held by a calendar change) last.
    expect(csv.split('\r\n')[0]).toMatch(/,notes,adjustmentUnits,adjustmentPeriods,heldUnits,heldLifeToDateUnits,heldUnitsOfProduction$/);
  });

  it('charges nothing beyond the expected total: the crossing period for the units left, later ones nothing', () => {
    // An asset expected to work 1,050 h in all: its meter passes that in October.
    const short: AssetRecord = { ...asset, attributes: { ...asset.attributes, expectedUnits: '1050' } };
    const oct = usageFor(short, state, october, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.parse('2026-11-05T00:00:00Z'));
    // October used ~157 h from 1,000 h: only the 50 h up to 1,050 count.
    expect(oct.unitsOfProduction).toBe(money((90_000 * 50) / 1050));
    expect(oct.notes).toEqual(['units-of-production charge for the 50 units left before the expected total (1,050); the asset is now fully depreciated']);
    const nov = usageFor(short, state, cal.period('2026-11') as Period, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.parse('2026-12-05T00:00:00Z'));
    expect(nov.periodUnits).toBeGreaterThan(0);
    expect(nov.unitsOfProduction).toBe(0);
    expect(nov.notes).toContain('fully depreciated: life-to-date units passed the expected total (1,050) before this period, so no units-of-production charge');
    // The posting still carries the raw units: the ERP's asset register keeps the usage.
    expect(usagePostDelivery(nov, 'erp', 'Europe/Berlin').payload).toMatchObject({ periodUnits: nov.periodUnits, totalExpectedUnits: 1050 });
  });

  it('an idle asset posts zero units with its life-to-date', () => {
    const idle = run('UTC', [meter('2026-08-01T00:00:00Z', 700)]);
    const line = usageFor(asset, idle, monthlyCalendar('UTC').period('2026-10') as Period, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.parse('2026-11-05T00:00:00Z'));
    expect(line).toMatchObject({ periodUnits: 0, lifeToDateUnits: 700, unitsOfProduction: 0, tracked: true });
  });
});

describe('straight line with an in-service date (full-period convention)', () => {
  const berlin = monthlyCalendar('Europe/Berlin');
  /** Cost 1,000 over 3 periods, in service from `day`: the straight-line charge and notes of each period. */
  const line = (day: string | undefined, id: string, calendar = berlin, attrs: Record<string, string> = {}) => {
    const a: AssetRecord = { erpAssetId: 'FA-9', erpModule: 'fixed-assets', attributes: { cost: '1000', salvage: '0', usefulLifeMonths: '3', ...(day !== undefined ? { inServiceDate: day } : {}), ...attrs } };
    const l = usageFor(a, undefined, calendar.period(id) as Period, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.parse('2027-06-01T00:00:00Z'), undefined, { calendar });
    return { charge: l.straightLine, notes: l.notes.filter((n) => /straight|service|invalid/.test(n)) };
  };

  it('charges nothing before the in-service period, a full period in it, and stops after the useful life, adding up to cost less salvage', () => {
    const charges = ['2026-02', '2026-03', '2026-04', '2026-05', '2026-06', '2027-01'].map((id) => line('2026-03-15', id).charge);
    expect(charges).toEqual([0, 333.33, 333.34, 333.33, 0, 0]);
    expect(line('2026-02-28', '2026-02').notes).toEqual(['in service since 2026-02-28: a full straight-line charge in its first period (full-period convention)']);
    expect(line('2026-03-15', '2026-02').notes).toEqual(['not in service before 2026-03-15: no straight-line charge']);
    expect(line('2026-03-15', '2026-06').notes).toEqual(['fully depreciated on straight line: its useful life (3 periods from 2026-03) has run']);
  });

  it('reads the date as a local day in the calendar time zone: the 1st is in that month in Berlin though still the month before in UTC', () => {
    // 2026-04-01 00:00 in Berlin is 2026-03-31T22:00Z: March is not in service, April is its first period.
    expect([line('2026-04-01', '2026-03').charge, line('2026-04-01', '2026-04').charge]).toEqual([0, 333.33]);
    const utc = monthlyCalendar('UTC');
    expect([line('2026-04-01', '2026-03', utc).charge, line('2026-04-01', '2026-04', utc).charge]).toEqual([0, 333.33]);
  });

  it('salvage and a fractional life: the life periods add up to cost less salvage; without a date every period is charged as before', () => {
    const attrs = { cost: '1000.10', salvage: '100', usefulLifeMonths: '2.5' };
    const charges = ['2026-01', '2026-02', '2026-03', '2026-04'].map((id) => line('2026-01-31', id, berlin, attrs).charge as number);
    expect(charges).toEqual([360.04, 360.04, 180.02, 0]);
    expect(Math.round(charges.reduce((a, b) => a + b, 0) * 100) / 100).toBe(900.1);
    expect(['2020-01', '2026-03'].map((id) => line(undefined, id).charge)).toEqual([333.33, 333.33]);
  });

  it('a listed calendar counts its periods; a date before its first period gives no charge, an invalid date none either, named', () => {
    const cal = customCalendar('UTC', [
      { id: 'P1', start: '2026-01-01' },
      { id: 'P2', start: '2026-01-29' },
      { id: 'P3', start: '2026-02-26' },
      { id: 'P4', start: '2026-04-02' },
      { id: 'P5', start: '2026-04-30' },
    ], '2026-05-28');
    expect(['P1', 'P2', 'P3', 'P4', 'P5'].map((id) => line('2026-02-10', id, cal).charge)).toEqual([0, 333.33, 333.34, 333.33, 0]);
    expect(line('2025-12-01', 'P2', cal)).toEqual({ charge: null, notes: ["in service since 2025-12-01, before the calendar's first period: the periods in service before it are not known, so no straight-line charge"] });
    expect(line('15/03/2026', '2026-03')).toEqual({
      charge: null,
      notes: ['invalid attribute "inServiceDate" ("15/03/2026") is not a day: write the first day the asset was in service as YYYY-MM-DD (e.g. 2026-03-15), or leave it empty'],
    });
  });
});
