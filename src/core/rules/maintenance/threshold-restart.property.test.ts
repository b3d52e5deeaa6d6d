/**
 * Threshold rules across a restart (invariant 3): the state checkpointed after any event, then the
 * ingest log replayed over it from a little before that point (what a restart does), asks for
 * exactly the work orders one uninterrupted run asks for, with ERP completions among the samples.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { CanonicalEvent, SensorEvent, WorkOrderStatusEvent } from '../../model/events.js';
import { flushRules, simulateRules, type StateDoc } from '../simulate.js';
import { createMaintenanceRule } from './maintenance-rule.js';
import type { MaintenanceOptions, ThresholdRule } from './types.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;
const asset: AssetRecord = { erpAssetId: 'EQ-7', erpModule: 'maintenance', attributes: {} };
const hot: ThresholdRule = { name: 'hot', sensor: 'temp', direction: 'above', threshold: 95, clearAt: 90, durationMs: 3 * MIN, maxGapMs: 10 * MIN, cooldownMs: 20 * MIN, severity: 'critical' };
const spikes: ThresholdRule = { ...hot, name: 'spikes', durationMs: 0, cooldownMs: 30 * MIN, repeat: { count: 2, withinMs: 60 * MIN } };
const options: MaintenanceOptions = { thresholds: [hot, spikes], serviceIntervals: [], allowedLatenessMs: 2 * MIN, siteAttribute: 'site', windows: {} };

/** `now`: the processing time (a restart replays the ingest log later than it was first processed); absent, each event's arrival. */
function run(events: readonly CanonicalEvent[], initial: StateDoc | undefined, flush: boolean, now?: number) {
  const rule = createMaintenanceRule(options);
  const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })), {
    batchSizes: [3, 5, 7],
    ...(initial ? { initial: new Map([['EQ-7', initial]]) } : {}),
    ...(now !== undefined ? { now } : {}),
  });
  const keys = r.perStep.flat().map((d) => d.businessKey);
  if (!flush) return { keys, doc: r.states.get('EQ-7') ?? {} };
  const f = flushRules([rule], r.states, new Map([['EQ-7', { asset, destination: 'erp' }]]), 0);
  return { keys: [...keys, ...f.deliveries.map((d) => d.businessKey)], doc: f.states.get('EQ-7') ?? {} };
}

describe('threshold rules across a restart', () => {
  it('a checkpoint and the ingest log replayed over it from before it ask for the same work orders, each once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(80, 92, 96, 99, 101), fc.integer({ min: 0, max: 4 }), fc.double({ min: 0, max: 1.9, noNaN: true })), { minLength: 1, maxLength: 60 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 30 })), { maxLength: 3 }),
        fc.nat(),
        fc.nat(),
        (samples, completions, cutAt, overlap) => {
          let t = T0;
          const timed: [number, number, CanonicalEvent][] = samples.map(([value, dt, delay], i) => {
            t += dt * MIN;
            const e: SensorEvent = { kind: 'sensor', source: 'mqtt', ids: [{ type: 'tag', value: 'x' }], eventTime: t, receivedAt: t, values: { temp: { value } } };
            return [t + delay * MIN, i, e];
          });
          let order = timed.sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
          // The ERP completes work orders the first run opened, some minutes after, among the samples.
          const first = run(order, undefined, true).keys;
          for (const [which, after] of completions) {
            const key = first[which % Math.max(1, first.length)];
            if (key === undefined) continue;
            const at = Date.parse(key.split('@').pop() as string) + after * MIN;
            const done: WorkOrderStatusEvent = { kind: 'workorder', source: 'erp-feedback', ids: [{ type: 'erp', value: 'EQ-7' }], eventTime: at, receivedAt: at, businessKey: key, status: 'completed', erpWorkOrderId: 'WO-1' };
            const i = order.findIndex((e) => e.eventTime > at + 2 * MIN);
            order = i < 0 ? [...order, done] : [...order.slice(0, i), done, ...order.slice(i)];
          }
          const whole = run(order, undefined, true);
          expect(new Set(whole.keys).size).toBe(whole.keys.length);
          const cut = cutAt % (order.length + 1);
          const before = run(order.slice(0, cut), undefined, false);
          // The restart replays the log later than it was first processed: the keys never depend on when.
          const after = run(order.slice(Math.max(0, cut - (overlap % 5))), before.doc, true, t + 3 * 24 * 60 * MIN);
          expect([...new Set([...before.keys, ...after.keys])].sort()).toEqual([...whole.keys].sort());
          expect(run(order, whole.doc, true, t + 7 * 24 * 60 * MIN).keys).toEqual([]);
        },
      ),
      { numRuns: 400 },
    );
  });
});
