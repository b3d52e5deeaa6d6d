/**
 * Event time wins, with the ERP in the loop (invariants 3 and 6): sensor samples, hour-meter and
 * odometer readings (declared replacements among them) and faults arriving in any order within the
 * allowed lateness and in any batching, with ERP completions (some cancellations) of the work orders
 * they opened arriving once those are open, ask for the same work orders as the same events taken one at a time in
 * event-time order with no lateness at all. That oracle is what "event time wins" means: a rule
 * that let a completion act on samples dated before it that were still in the reorder buffer
 * (re-arming a threshold from the buffered samples on) would pass a comparison with another
 * arrival order under the same lateness, and fails this one. A replay of everything adds nothing,
 * and the owned form decides as the pure one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { CanonicalEvent, MeterEvent, WorkOrderStatusEvent } from '../../model/events.js';
import type { OwnedRule } from '../owned.js';
import { flushRules, simulateRules, type StateDoc } from '../simulate.js';
import { compareOwned } from '../../../../test/helpers/owned-oracle.js';
import { createMaintenanceRule } from './maintenance-rule.js';
import type { AlertRule, MaintenanceOptions, ServiceIntervalRule, ThresholdRule } from './types.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;
const LATENESS = 3 * MIN;
const asset: AssetRecord = { erpAssetId: 'EQ-7', erpModule: 'maintenance', attributes: {} };

const overheat: ThresholdRule = { name: 'overheat', sensor: 'coolantTemp', direction: 'above', threshold: 95, clearAt: 90, durationMs: 2 * MIN, maxGapMs: 10 * MIN, cooldownMs: 5 * MIN, severity: 'critical' };
const lowOil: ThresholdRule = { ...overheat, name: 'low-oil', sensor: 'oilPressure', direction: 'below', threshold: 1.5, clearAt: 2, durationMs: 0, cooldownMs: 0, severity: 'warning' };
const hotSpikes: ThresholdRule = { ...overheat, name: 'hot-spikes', threshold: 100, clearAt: 98, durationMs: 0, cooldownMs: 0, repeat: { count: 2, withinMs: 20 * MIN } };
const service: ServiceIntervalRule = { name: 'service-250h', meter: 'hours', every: 250, dueSoon: 0, defaultBaseline: 'zero', severity: 'warning' };
const faults: AlertRule = { name: 'faults', minSeverity: 'warning', cooldownMs: 5 * MIN };
const oil: ServiceIntervalRule = { name: 'oil-500km', meter: 'km', every: 500, dueSoon: 0, defaultBaseline: 'zero', severity: 'warning' };
const options: MaintenanceOptions = { thresholds: [overheat, lowOil, hotSpikes], serviceIntervals: [service, oil], alerts: [faults], allowedLatenessMs: LATENESS, siteAttribute: 'site', windows: {} };

function run(events: readonly CanonicalEvent[], opts: MaintenanceOptions, initial?: StateDoc, batchSizes?: number[]) {
  const rule = createMaintenanceRule(opts);
  const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })), {
    ...(initial ? { initial: new Map([[asset.erpAssetId, initial]]) } : {}),
    ...(batchSizes ? { batchSizes } : {}),
  });
  const f = flushRules([rule], r.states, new Map([[asset.erpAssetId, { asset, destination: 'erp' }]]), 0);
  return { perStep: r.perStep, keys: [...r.perStep.flat(), ...f.deliveries].map((d) => d.businessKey), doc: f.states.get(asset.erpAssetId) ?? {} };
}

const at = (min: number) => ({ eventTime: T0 + min * MIN, receivedAt: T0 + min * MIN });
const ids = [{ type: 'tag' as const, value: 'x' }];

const spec = fc.oneof(
  fc.record({ kind: fc.constant('temp' as const), v: fc.integer({ min: 85, max: 105 }) }),
  fc.record({ kind: fc.constant('oil' as const), v: fc.double({ min: 0.5, max: 3, noNaN: true }) }),
  fc.record({ kind: fc.constant('hours' as const), v: fc.double({ min: 0, max: 150, noNaN: true }) }),
  fc.record({ kind: fc.constant('reset' as const), v: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ kind: fc.constant('km' as const), v: fc.double({ min: 0, max: 300, noNaN: true }) }),
  fc.record({ kind: fc.constant('kmreset' as const), v: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ kind: fc.constant('fault' as const), v: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('complete' as const), v: fc.nat() }),
);

describe('ERP completions among events in any arrival order (event time wins)', () => {
  it('ask for the work orders of the same events in event-time order with no lateness; a replay adds none', () => {
    fc.assert(
      fc.property(
        fc.array(spec, { minLength: 1, maxLength: 80 }),
        fc.array(fc.integer({ min: 0, max: LATENESS - 1 }), { minLength: 80, maxLength: 80 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 20 }),
        (specs, delays, batches) => {
          let hours = 240;
          let km = 400;
          const samples: CanonicalEvent[] = [];
          /** The meter as shown, by event time: what the ERP reports at a completion. */
          const shown: [number, number][] = [];
          specs.forEach((s, i) => {
            if (s.kind === 'temp') samples.push({ kind: 'sensor', source: 'mqtt', ids, ...at(i), values: { coolantTemp: { value: s.v } } });
            else if (s.kind === 'oil') samples.push({ kind: 'sensor', source: 'mqtt', ids, ...at(i), values: { oilPressure: { value: s.v } } });
            else if (s.kind === 'fault') samples.push({ kind: 'alert', source: 'aemp', ids, ...at(i), severity: 'critical', code: `E-${s.v}`, reason: 'ECU' });
            else if (s.kind === 'km' || s.kind === 'kmreset') {
              km = s.kind === 'kmreset' ? s.v : km + s.v;
              samples.push({ kind: 'meter', source: 'aemp', ids, ...at(i), odometerKm: km, ...(s.kind === 'kmreset' ? { odometerReset: true } : {}) });
            } else if (s.kind === 'hours' || s.kind === 'reset') {
              hours = s.kind === 'reset' ? s.v : hours + s.v;
              const m: MeterEvent = { kind: 'meter', source: 'aemp', ids, ...at(i), operatingHours: hours, ...(s.kind === 'reset' ? { declaredReset: true } : {}) };
              samples.push(m);
              shown.push([m.eventTime, hours]);
            }
          });
          // Samples arrive up to the lateness after their time.
          const arrival = samples
            .map((e, i) => ({ e, at: e.eventTime + (delays[i] ?? 0), i }))
            .sort((a, b) => a.at - b.at || a.i - b.i)
            .map((x) => x.e);
          // The ERP completes a work order once it has it: after the event that opened it arrived, dated after every event that had arrived by then.
          const opened = simulateRules([createMaintenanceRule(options)], arrival.map((event) => ({ event, asset, destination: 'erp' }))).perStep.flatMap((ds, step) => ds.map((d) => [step, d] as const));
          const completions: [number, WorkOrderStatusEvent][] = [];
          specs.forEach((s, i) => {
            if (s.kind !== 'complete' || opened.length === 0) return;
            // Every other one a service's, if one is open: its completion moves the baseline, which the next due point's key names.
            const services = opened.filter(([, d]) => (d.businessKey.includes(`|${service.name}|`) || d.businessKey.includes(`|${oil.name}|`)));
            const from = s.v % 4 < 2 && services.length > 0 ? services : opened;
            const [step, d] = from[s.v % from.length] as readonly [number, DeliveryIntent];
            const t = Math.max(d.eventTime, ...arrival.slice(0, step + 1).map((e) => e.eventTime)) + 30_000 + i;
            const meter = [...shown].reverse().find(([mt]) => mt <= t)?.[1];
            completions.push([
              step,
              { kind: 'workorder', source: 'erp-feedback', ids: [{ type: 'erp', value: 'EQ-7' }], eventTime: t, receivedAt: t, businessKey: d.businessKey, status: s.v % 8 >= 6 ? 'cancelled' : 'completed', erpWorkOrderId: `WO-${i}`, ...(s.v % 2 === 1 && meter !== undefined ? { operatingHoursAtCompletion: meter } : {}) },
            ]);
          });
          const arrived = [...arrival];
          for (const [step, c] of [...completions].sort((a, b) => b[0] - a[0])) arrived.splice(step + 1, 0, c);
          const inEventTime = [...samples, ...completions.map(([, c]) => c)].sort((a, b) => a.eventTime - b.eventTime);
          const oracle = run(inEventTime, { ...options, allowedLatenessMs: 0 });
          const live = run(arrived, options, undefined, batches);
          expect([...live.keys].sort()).toEqual([...oracle.keys].sort());
          expect(new Set(live.keys).size).toBe(live.keys.length);
          // The owned form (the service's) decides the same, step by step, the end of the input included.
          const pure = createMaintenanceRule(options);
          compareOwned(pure, pure.owned?.() as OwnedRule, [...arrived.map((event) => ({ event, asset })), { flush: undefined, asset }]);
          // Replayed over the state it left (the ingest log after a crash, in another batching): nothing more.
          expect(run(arrived, options, live.doc, [...batches].reverse()).keys).toEqual([]);
        },
      ),
      { numRuns: 1500 },
    );
  });
});
