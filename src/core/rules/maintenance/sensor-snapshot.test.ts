/**
 * A work order's sensor snapshot holds the latest value of every sensor of the asset, not only the
 * triggering sample's (a device that publishes one sensor per message), each with its unit and
 * when it was read; stale values are left out, event time wins, and the state it is kept in
 * survives a checkpoint (and loads from a state stored before it).
 */
import { describe, expect, it } from 'vitest';
import { lowOil } from '../../../../test/helpers/maintenance-rules.js';
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { AlertEvent, CanonicalEvent, MeterEvent, SensorEvent } from '../../model/events.js';
import { flushRules, simulateRules, type StateDoc } from '../simulate.js';
import { createMaintenanceRule, type MaintenanceState } from './maintenance-rule.js';
import type { MaintenanceOptions, ThresholdRule } from './types.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;
const asset: AssetRecord = { erpAssetId: 'EQ-7', erpModule: 'maintenance', attributes: {} };
const ids = [{ type: 'tag' as const, value: 'x' }];
const UNITS: Readonly<Record<string, string>> = { coolantTemp: '°C', oilPressure: 'bar', fuelLevel: '%' };

const overheat: ThresholdRule = { ...lowOil, name: 'overheat', sensor: 'coolantTemp', direction: 'above', threshold: 95, clearAt: 90, severity: 'critical' };

const options = (over: Partial<MaintenanceOptions> = {}): MaintenanceOptions => ({ thresholds: [lowOil, overheat], serviceIntervals: [], allowedLatenessMs: 0, siteAttribute: 'site', windows: {}, ...over });

/** One message of sensor values `min` minutes after T0 (with units; `rpm` has none). */
const sensor = (min: number, values: Record<string, number>): SensorEvent => ({
  kind: 'sensor',
  source: 'test',
  ids,
  eventTime: T0 + min * MIN,
  receivedAt: T0 + min * MIN,
  values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, UNITS[k] !== undefined ? { value: v, unit: UNITS[k] } : { value: v }])),
});
const meter = (min: number, hours: number): MeterEvent => ({ kind: 'meter', source: 'test', ids, eventTime: T0 + min * MIN, receivedAt: T0 + min * MIN, operatingHours: hours });
const fault = (min: number): AlertEvent => ({ kind: 'alert', source: 'test', ids, eventTime: T0 + min * MIN, receivedAt: T0 + min * MIN, severity: 'critical', code: 'E-1', reason: 'ECU' });
const iso = (min: number) => new Date(T0 + min * MIN).toISOString();

function run(events: readonly CanonicalEvent[], opts = options(), initial?: StateDoc) {
  const rule = createMaintenanceRule(opts);
  const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })), initial ? { initial: new Map([[asset.erpAssetId, initial]]) } : {});
  const f = flushRules([rule], r.states, new Map([[asset.erpAssetId, { asset, destination: 'erp' }]]), 0);
  const doc = f.states.get(asset.erpAssetId) ?? {};
  return { deliveries: [...r.perStep.flat(), ...f.deliveries], doc, state: doc.maintenance as MaintenanceState | undefined };
}
const snapshotOf = (d: DeliveryIntent | undefined) => (d?.payload as { sensorSnapshot?: unknown } | undefined)?.sensorSnapshot;

describe('work-order sensor snapshot', () => {
  for (const allowedLatenessMs of [0, 2 * MIN]) {
    it(`a device sending one sensor per message: the threshold's work order shows every sensor, with its unit and when it was read (lateness ${allowedLatenessMs} ms)`, () => {
      const r = run([sensor(0, { coolantTemp: 80 }), sensor(1, { fuelLevel: 40 }), sensor(1.5, { rpm: 900 }), sensor(2, { oilPressure: 1 })], options({ allowedLatenessMs }));
      expect(r.deliveries).toHaveLength(1);
      expect(snapshotOf(r.deliveries[0])).toEqual({
        at: iso(2),
        values: {
          oilPressure: { value: 1, unit: 'bar' },
          coolantTemp: { value: 80, unit: '°C', at: iso(0) },
          fuelLevel: { value: 40, unit: '%', at: iso(1) },
          rpm: { value: 900, at: iso(1.5) },
        },
      });
    });
  }

  it("the triggering sample's values win for its sensors; values read after it (still in the reorder buffer when it opened the work order) are not in it", () => {
    // Arrival: 08:01 fuel, 08:03 fuel (buffered), 08:02 low oil with its own fuel level, all within the lateness.
    const r = run([sensor(1, { fuelLevel: 40 }), sensor(3, { fuelLevel: 10 }), sensor(2, { oilPressure: 1, fuelLevel: 30 }), sensor(9, { coolantTemp: 80 })], options({ allowedLatenessMs: 2 * MIN }));
    expect(snapshotOf(r.deliveries[0])).toEqual({ at: iso(2), values: { oilPressure: { value: 1, unit: 'bar' }, fuelLevel: { value: 30, unit: '%' } } });
  });

  it('a value read longer than maxGap (plus the lateness) before the snapshot is left out, not shown as current', () => {
    const at = (gap: number) => snapshotOf(run([sensor(0, { coolantTemp: 80 }), sensor(gap, { oilPressure: 1 })]).deliveries[0]) as { values: Record<string, unknown> };
    expect(Object.keys(at(10).values)).toEqual(['oilPressure', 'coolantTemp']);
    expect(Object.keys(at(10.5).values)).toEqual(['oilPressure']);
    const late = snapshotOf(run([sensor(0, { coolantTemp: 80 }), sensor(10.5, { oilPressure: 1 })], options({ allowedLatenessMs: MIN })).deliveries[0]) as { values: Record<string, unknown> };
    expect(Object.keys(late.values)).toEqual(['oilPressure', 'coolantTemp']);
  });

  it('one sensor per message, all of one time, no allowed lateness: each is taken (none dropped as late) and the snapshot holds those before it', () => {
    const rule = createMaintenanceRule(options());
    const ctx = { asset, destination: 'erp', now: T0 };
    let s: MaintenanceState | undefined;
    const out: DeliveryIntent[] = [];
    for (const e of [sensor(1, { fuelLevel: 40 }), sensor(1, { coolantTemp: 96 }), sensor(1, { oilPressure: 1 })]) {
      const r = rule.apply(s, e, ctx);
      expect(r.late).toBeUndefined();
      out.push(...r.deliveries);
      s = r.state;
    }
    expect(out.map((d) => d.businessKey)).toEqual([`EQ-7|overheat|${iso(1)}`, `EQ-7|low-oil|${iso(1)}`]);
    expect(snapshotOf(out[1])).toEqual({ at: iso(1), values: { oilPressure: { value: 1, unit: 'bar' }, fuelLevel: { value: 40, unit: '%' }, coolantTemp: { value: 96, unit: '°C' } } });
  });

  it('event time wins: a late sample does not overwrite a newer value (one only the snapshot reads is not counted late)', () => {
    const rule = createMaintenanceRule(options());
    const ctx = { asset, destination: 'erp', now: T0 };
    let s: MaintenanceState | undefined;
    const flags: (boolean | undefined)[] = [];
    const out: DeliveryIntent[] = [];
    for (const e of [sensor(5, { fuelLevel: 50, coolantTemp: 80 }), sensor(6, { rpm: 1 }), sensor(3, { fuelLevel: 30 }), sensor(4, { coolantTemp: 70 }), sensor(2, { rpm: 2 }), sensor(7, { oilPressure: 1 })]) {
      const r = rule.apply(s, e, ctx);
      flags.push(r.late);
      out.push(...r.deliveries);
      s = r.state;
    }
    // The late coolant temperature is a threshold's sample: late, as before.
    expect(flags).toEqual([undefined, undefined, undefined, true, undefined, undefined]);
    expect(s?.latest).toEqual({ fuelLevel: [T0 + 5 * MIN, 50, '%'], coolantTemp: [T0 + 5 * MIN, 80, '°C'], rpm: [T0 + 6 * MIN, 1], oilPressure: [T0 + 7 * MIN, 1, 'bar'] });
    expect(snapshotOf(out[0])).toEqual({
      at: iso(7),
      values: { oilPressure: { value: 1, unit: 'bar' }, fuelLevel: { value: 50, unit: '%', at: iso(5) }, coolantTemp: { value: 80, unit: '°C', at: iso(5) }, rpm: { value: 1, at: iso(6) } },
    });
    // A late sample newer than the value kept for its sensor is taken (an older one of the same sensor there before it).
    const later = rule.apply(s, sensor(6.5, { fuelLevel: 45 }), ctx);
    expect(later.late).toBeUndefined();
    expect(later.state?.latest?.fuelLevel).toEqual([T0 + 6.5 * MIN, 45, '%']);
  });

  it("a fault's work order shows the meters and every sensor's recent value, dated by the newest", () => {
    const opts = options({ thresholds: [], serviceIntervals: [{ name: 's', meter: 'hours', every: 250, dueSoon: 0, defaultBaseline: 'first-reading', severity: 'warning' }], alerts: [{ name: 'faults', minSeverity: 'critical', cooldownMs: 60 * MIN }] });
    const r = run([meter(0, 240), sensor(1, { coolantTemp: 90 }), sensor(2, { fuelLevel: 40 }), fault(3)], opts);
    expect(r.deliveries.map((d) => d.operation)).toEqual(['workorder.create']);
    expect(snapshotOf(r.deliveries[0])).toEqual({
      at: iso(2),
      values: { operatingHours: { value: 240, unit: 'h', at: iso(0) }, coolantTemp: { value: 90, unit: '°C', at: iso(1) }, fuelLevel: { value: 40, unit: '%' } },
    });
    // A sensor value older than 10 minutes (plus the lateness) before the fault is left out; the meter stays.
    const old = run([meter(0, 240), sensor(1, { coolantTemp: 90 }), fault(12)], opts);
    expect(snapshotOf(old.deliveries[0])).toEqual({ at: iso(0), values: { operatingHours: { value: 240, unit: 'h' } } });
  });

  it("a due service's work order shows the meters and every sensor's recent value, as a fault's (a service interval alone applying)", () => {
    const service = { name: 's', meter: 'hours' as const, every: 250, dueSoon: 0, defaultBaseline: 'zero' as const, severity: 'warning' as const };
    const opts = options({ thresholds: [], serviceIntervals: [service] });
    const km = { ...service, name: 'k', meter: 'km' as const, every: 10_000 };
    const odometer = (min: number, odometerKm: number): MeterEvent => ({ kind: 'meter', source: 'test', ids, eventTime: T0 + min * MIN, receivedAt: T0 + min * MIN, odometerKm });
    const r = run([meter(0, 249.96), sensor(1, { coolantTemp: 90 }), sensor(2, { fuelLevel: 40, rpm: 900 }), meter(3, 250)], opts);
    expect(r.deliveries.map((d) => d.businessKey)).toEqual(['EQ-7|s|250h@b0']);
    expect(snapshotOf(r.deliveries[0])).toEqual({
      at: iso(3),
      values: { operatingHours: { value: 250, unit: 'h' }, coolantTemp: { value: 90, unit: '°C', at: iso(1) }, fuelLevel: { value: 40, unit: '%', at: iso(2) }, rpm: { value: 900, at: iso(2) } },
    });
    // An odometer service: the hour meter's latest too (however old), the sensors as for a fault.
    const byKm = run([meter(0, 240), sensor(20, { coolantTemp: 90 }), odometer(25, 9_999.5), odometer(26, 10_000)], options({ thresholds: [], serviceIntervals: [service, km] }));
    expect(byKm.deliveries.map((d) => d.businessKey)).toEqual(['EQ-7|k|10000km@b0']);
    expect(snapshotOf(byKm.deliveries[0])).toEqual({
      at: iso(26),
      values: { operatingHours: { value: 240, unit: 'h', at: iso(0) }, odometerKm: { value: 10_000, unit: 'km' }, coolantTemp: { value: 90, unit: '°C', at: iso(20) } },
    });
    // A sensor value older than 10 minutes (plus the lateness) before the reading is left out.
    const old = run([meter(0, 249.9), sensor(1, { coolantTemp: 90 }), meter(12, 250)], opts);
    expect(snapshotOf(old.deliveries[0])).toEqual({ at: iso(12), values: { operatingHours: { value: 250, unit: 'h' } } });
    // In event-time order within the lateness: a value read before the reading is in it, one read after it is not.
    const late = run([meter(0, 249.96), sensor(4, { rpm: 1200 }), meter(3, 250), sensor(2.5, { coolantTemp: 91 }), sensor(9, { fuelLevel: 1 })], options({ thresholds: [], serviceIntervals: [service], allowedLatenessMs: 2 * MIN }));
    expect(snapshotOf(late.deliveries[0])).toEqual({ at: iso(3), values: { operatingHours: { value: 250, unit: 'h' }, coolantTemp: { value: 91, unit: '°C', at: iso(2.5) } } });
  });

  it('snapshotMaxAgeMs sets how old a sensor value a fault\'s or a due service\'s work order shows', () => {
    const service = { name: 's', meter: 'hours' as const, every: 250, dueSoon: 0, defaultBaseline: 'zero' as const, severity: 'warning' as const };
    const opts = (snapshotMaxAgeMs?: number) => options({ thresholds: [], serviceIntervals: [service], alerts: [{ name: 'faults', minSeverity: 'critical', cooldownMs: 60 * MIN }], ...(snapshotMaxAgeMs !== undefined ? { snapshotMaxAgeMs } : {}) });
    const events = [meter(0, 249.8), sensor(1, { coolantTemp: 90 }), sensor(5, { fuelLevel: 40 }), fault(20), meter(21, 250)];
    const keys = (o: MaintenanceOptions) => run(events, o).deliveries.map((d) => Object.keys((snapshotOf(d) as { values: object }).values));
    // 10 minutes by default: neither sensor (read 15 and 19 minutes before the fault).
    expect(keys(opts())).toEqual([['operatingHours'], ['operatingHours']]);
    expect(keys(opts(16 * MIN))).toEqual([['operatingHours', 'fuelLevel'], ['operatingHours', 'fuelLevel']]);
    expect(keys(opts(60 * MIN))).toEqual([
      ['operatingHours', 'coolantTemp', 'fuelLevel'],
      ['operatingHours', 'coolantTemp', 'fuelLevel'],
    ]);
  });

  it("a service rule's asset stored before its sensors were kept goes on, its due service's snapshot holding the sensors seen since", () => {
    const service = { name: 's', meter: 'hours' as const, every: 250, dueSoon: 0, defaultBaseline: 'zero' as const, severity: 'warning' as const };
    const opts = options({ thresholds: [], serviceIntervals: [service] });
    // Only the meter was kept then: no buffered sensor sample, no `latest`.
    const stored = JSON.parse(JSON.stringify(run([meter(0, 249.9), meter(1, 249.91)], opts).doc)) as StateDoc;
    expect((stored.maintenance as MaintenanceState).latest).toBeUndefined();
    const resumed = run([sensor(2, { coolantTemp: 90 }), meter(3, 250)], opts, stored);
    expect(snapshotOf(resumed.deliveries[0])).toEqual({ at: iso(3), values: { operatingHours: { value: 250, unit: 'h' }, coolantTemp: { value: 90, unit: '°C', at: iso(2) } } });
    expect(resumed.state?.latest).toEqual({ coolantTemp: [T0 + 2 * MIN, 90, '°C'] });
  });

  it('survives a checkpoint (a JSON round trip) and loads from a state stored before it was kept', () => {
    const first = [sensor(0, { coolantTemp: 80 }), sensor(1, { fuelLevel: 40 })];
    const rest = [sensor(2, { rpm: 900 }), sensor(3, { oilPressure: 1 })];
    const straight = run([...first, ...rest]);
    const checkpoint = JSON.parse(JSON.stringify(run(first).doc)) as StateDoc;
    expect((checkpoint.maintenance as MaintenanceState).latest).toEqual({ coolantTemp: [T0, 80, '°C'], fuelLevel: [T0 + MIN, 40, '%'] });
    const resumed = run(rest, options(), checkpoint);
    expect(resumed.deliveries).toEqual(straight.deliveries);
    expect(resumed.state).toEqual(straight.state);
    // Stored before `latest` was kept: it goes on, the snapshot holding what it has seen since.
    const { latest: _latest, ...old } = checkpoint.maintenance as MaintenanceState;
    const fromOld = run(rest, options(), { ...checkpoint, maintenance: old });
    expect(fromOld.deliveries.map((d) => d.businessKey)).toEqual(straight.deliveries.map((d) => d.businessKey));
    expect(snapshotOf(fromOld.deliveries[0])).toEqual({ at: iso(3), values: { oilPressure: { value: 1, unit: 'bar' }, rpm: { value: 900, at: iso(2) } } });
  });
});
