/**
 * The maintenance rule's shortcut for quiet sensor samples (no value breaching any threshold, no
 * threshold in an episode) decides exactly what putting every sample to every threshold decides:
 * the same deliveries and the same state, event by event, over arbitrary streams with hysteresis,
 * durations, gaps, cooldowns, repeats, late and repeated samples, meter readings and completions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { CanonicalEvent } from '../../model/events.js';
import type { RuleContext } from '../rule.js';
import { createMaintenanceRule, type MaintenanceState } from './maintenance-rule.js';
import type { MaintenanceOptions } from './types.js';
import { thresholdRule } from '../../../../test/helpers/threshold-arbitrary.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const asset: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} };
const ctx: RuleContext = { asset, destination: 'erp', now: T0 };
const ids = [{ type: 'tag' as const, value: 'x' }];

const threshold = thresholdRule(['a', 'b']);

/** Values around the thresholds (20–80): mostly between them, some on them exactly, some far out. */
const value = fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constantFrom(20, 50, 80), fc.double({ min: -10, max: 110, noNaN: true }));

const item = fc.record({
  kind: fc.constantFrom('sensor', 'sensor', 'sensor', 'sensor', 'meter', 'complete'),
  step: fc.integer({ min: -3, max: 8 }),
  a: fc.option(value, { nil: undefined }),
  b: fc.option(value, { nil: undefined }),
  /** The values of the sample before again (a condition that holds). */
  hold: fc.boolean(),
  unit: fc.boolean(),
  other: fc.boolean(),
});

type Item = typeof item extends fc.Arbitrary<infer T> ? T : never;

function run(options: MaintenanceOptions, items: readonly Item[], quietSamples: boolean): { deliveries: string[]; states: string[] } {
  const rule = createMaintenanceRule(options, { quietSamples });
  let state: MaintenanceState | undefined;
  let t = T0;
  let hours = 100;
  const deliveries: string[] = [];
  const states: string[] = [];
  const opened: string[] = [];
  let before: { a?: number | undefined; b?: number | undefined } = {};
  for (const item of items) {
    const r = item.hold && item.kind === 'sensor' ? { ...item, ...before } : item;
    if (r.kind === 'sensor') before = { a: r.a, b: r.b };
    t += Math.max(0, r.step) * 10_000;
    const eventTime = t + Math.min(0, r.step) * 10_000;
    let event: CanonicalEvent | undefined;
    if (r.kind === 'sensor') {
      const values: Record<string, { value: number; unit?: string }> = {};
      if (r.a !== undefined) values.a = r.unit ? { value: r.a, unit: '°C' } : { value: r.a };
      if (r.b !== undefined) values.b = { value: r.b };
      if (r.other) values.c = { value: 1 }; // a sensor no threshold reads
      event = { kind: 'sensor', source: 's', ids, eventTime, receivedAt: t, values };
    } else if (r.kind === 'meter') {
      hours += 0.01;
      event = { kind: 'meter', source: 's', ids, eventTime, receivedAt: t, operatingHours: Math.round(hours * 100) / 100 };
    } else {
      // The ERP completes the latest work order opened (a threshold's, re-arming it while it holds).
      const key = opened[opened.length - 1];
      if (key !== undefined) event = { kind: 'workorder', source: 'erp', ids, eventTime, receivedAt: t, businessKey: key, status: 'completed' };
    }
    if (!event) continue;
    const result = rule.apply(state, event, ctx);
    state = result.state;
    for (const d of result.deliveries) opened.push(d.businessKey);
    deliveries.push(JSON.stringify(result.deliveries));
    states.push(JSON.stringify(state) ?? 'undefined');
  }
  const end = rule.flush(state, ctx);
  deliveries.push(JSON.stringify(end.deliveries));
  states.push(JSON.stringify(end.state) ?? 'undefined');
  return { deliveries, states };
}

describe('maintenance: quiet sensor samples', () => {
  it('decide the same deliveries and state with the shortcut as put to every threshold', () => {
    let delivered = 0;
    let episodes = 0;
    fc.assert(
      fc.property(fc.array(threshold, { minLength: 1, maxLength: 4 }), fc.constantFrom(0, 30_000), fc.array(item, { minLength: 20, maxLength: 80 }), (rules, lateness, items) => {
        const options: MaintenanceOptions = {
          thresholds: rules.map((r, i) => ({ ...r, name: `t${i}` })),
          serviceIntervals: [],
          allowedLatenessMs: lateness,
          siteAttribute: 'site',
          windows: {},
        };
        const fast = run(options, items, true);
        const slow = run(options, items, false);
        expect(fast.deliveries).toEqual(slow.deliveries);
        expect(fast.states).toEqual(slow.states);
        delivered += slow.deliveries.filter((d) => d !== '[]').length;
        episodes += slow.states.filter((s) => s.includes('"phase"')).length;
      }),
      { numRuns: 500 },
    );
    // The streams opened work orders and held thresholds in episodes (not only quiet samples).
    expect(delivered).toBeGreaterThan(200);
    expect(episodes).toBeGreaterThan(5000);
  });
});
