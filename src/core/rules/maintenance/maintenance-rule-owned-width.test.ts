/**
 * The maintenance rule's owned form keeps a sensor sample of more values than its ring items first
 * hold (the thresholds' sensors, at least 4) in its columns: with a service or calendar interval
 * every sensor sample is buffered for the work orders' snapshots, and a device sends all its sensors
 * in one message. The items grow wider for every asset (up to 16 values at once, beyond within the
 * buffer budget, back to 16 when more assets would take it past), deciding as the pure rule.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { CanonicalEvent, SensorValue } from '../../model/events.js';
import { compareOwned, type OracleStep } from '../../../../test/helpers/owned-oracle.js';
import { lowOil } from '../../../../test/helpers/maintenance-rules.js';
import { createMaintenanceRule } from './maintenance-rule.js';
import { createOwnedMaintenanceRule, type OwnedMaintenanceRule } from './maintenance-rule-owned.js';
import type { MaintenanceOptions } from './types.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const SEC = 1000;
const HOUR = 3_600_000;

const service = { name: 'half-hourly', meter: 'hours' as const, every: 0.5, dueSoon: 0, defaultBaseline: 'zero' as const, severity: 'warning' as const };
const serviceOnly: MaintenanceOptions = { thresholds: [], serviceIntervals: [service], allowedLatenessMs: 60 * SEC, siteAttribute: 'site', windows: {} };

const assetOf = (i: number): AssetRecord => ({ erpAssetId: `EQ-${i}`, erpModule: 'maintenance', attributes: { site: 'S1' } });

/** `n` values, every other with a unit (oilPressure among them, in bar, far from a low-oil breach). */
function values(n: number, t: number): Record<string, SensorValue> {
  const v: Record<string, SensorValue> = {};
  for (let j = 0; j < n; j++) {
    const value = 10 + ((t / SEC + j * 7) % 50);
    if (j === 1) v.oilPressure = { value: 3 + (value % 2), unit: 'bar' };
    else v[`s${j}`] = j % 2 === 0 ? { value } : { value, unit: 'u' };
  }
  return v;
}

/**
 * Samples for asset `i` of `width` values every 10 s and an hour-meter reading every 30 s (counting
 * an hour per hour from 100 h), at offsets no sample has, from `from` to `hours` after T0.
 */
function assetEvents(i: number, width: number, hours: number, from = T0): CanonicalEvent[] {
  const ids = [{ type: 'tag' as const, value: `t${i}` }];
  const events: CanonicalEvent[] = [];
  for (let t = from + 1 * SEC + i * 37; t < T0 + hours * HOUR; t += 10 * SEC) events.push({ kind: 'sensor', source: 'test', ids, eventTime: t, receivedAt: t, values: values(width, t) });
  for (let t = from + 250 + i * 37; t < T0 + hours * HOUR; t += 30 * SEC) events.push({ kind: 'meter', source: 'test', ids, eventTime: t, receivedAt: t, operatingHours: 100 + (t - T0) / HOUR });
  return events;
}

/**
 * The oracle's steps for the assets' events (asset `i` of `widths[i]` values, from `from(i)`), each
 * arriving up to just under `latenessMs` after its time (by `seed`), with a round trip, an eviction and an idle
 * watermark now and then, and a final flush of every asset.
 */
function steps(widths: readonly number[], hours: number, seed: number, from: (i: number) => number = () => T0, latenessMs = serviceOnly.allowedLatenessMs): OracleStep[] {
  let s = seed;
  const rnd = (): number => (s = (s * 48271) % 2147483647) / 2147483647;
  const timed = widths.flatMap((w, i) => assetEvents(i, w, hours, from(i)).map((event) => ({ event, asset: assetOf(i) })));
  const arrival = timed.map((x, k) => ({ x, at: x.event.eventTime + rnd() * (latenessMs - 1), k }));
  arrival.sort((a, b) => a.at - b.at || a.k - b.k);
  const out: OracleStep[] = [];
  arrival.forEach(({ x }, n) => {
    out.push({ event: x.event, asset: x.asset, now: x.event.receivedAt });
    if (n % 97 === 96) out.push({ roundTrip: x.asset });
    if (n % 211 === 100) out.push({ evict: x.asset });
    if (n % 307 === 150) out.push({ flush: x.event.eventTime + 5 * SEC, asset: x.asset });
  });
  widths.forEach((_, i) => out.push({ flush: undefined, asset: assetOf(i) }));
  return out;
}

/** The owned form of the rule `options` make, counting the events and flushes it hands to the pure rule. */
function counted(options: MaintenanceOptions, bufferBudgetBytes?: number): { pure: ReturnType<typeof createMaintenanceRule>; owned: OwnedMaintenanceRule; pureRuns: () => number } {
  const pure = createMaintenanceRule(options);
  let runs = 0;
  const spy = {
    ...pure,
    apply: (...args: Parameters<typeof pure.apply>) => {
      runs++;
      return pure.apply(...args);
    },
    flush: (...args: Parameters<typeof pure.flush>) => {
      runs++;
      return pure.flush(...args);
    },
  };
  return { pure: createMaintenanceRule(options), owned: createOwnedMaintenanceRule(spy, options, { spacingMs: 20 * 60_000, max: 12 }, bufferBudgetBytes), pureRuns: () => runs };
}

describe('maintenance owned form: sensor samples of more values than the ring items first hold', () => {
  it('a service interval alone, eight values a message: every event in columns (none to the pure rule), deciding and saving as the pure rule', () => {
    const run = steps(Array.from({ length: 8 }, () => 8), 1.5, 3);
    const { pure, owned, pureRuns } = counted(serviceOnly);
    const r = compareOwned(pure, owned, run);
    // Three work orders per asset (100 h, 100.5 h, 101 h), each with a snapshot of the eight sensors.
    expect(r.deliveries).toBe(8 * 3);
    const snapshot = (r.delivered[r.delivered.length - 1]?.payload as { sensorSnapshot: { values: Record<string, unknown> } }).sensorSnapshot.values;
    expect(Object.keys(snapshot)).toHaveLength(9);
    expect(pureRuns()).toBe(0);
  });

  it('a stored state holding samples of eight values, loaded by a fresh form (a restart): in columns, deciding as the pure rule', () => {
    const run = steps([8, 8], 1, 9);
    // The pure form's states halfway through.
    const half = Math.floor(run.length / 2);
    const pureRule = createMaintenanceRule(serviceOnly);
    const stored = new Map<string, ReturnType<typeof pureRule.apply>['state']>();
    for (const step of run.slice(0, half)) {
      if (!('asset' in step)) continue;
      const ctx = { asset: step.asset, destination: 'erp', now: step.now ?? 0 };
      const before = stored.get(step.asset.erpAssetId);
      stored.set(step.asset.erpAssetId, 'event' in step ? pureRule.apply(before, step.event, ctx).state : pureRule.flush(before, ctx, step.flush).state);
    }
    expect(stored.get('EQ-0')?.order?.pending.some((x) => x.k === 's' && Object.keys(x.v).length === 8)).toBe(true);
    const { pure, owned, pureRuns } = counted(serviceOnly);
    const first = owned.bufferBytes;
    const loads: OracleStep[] = [0, 1].map((i) => ({ load: assetOf(i), state: stored.get(`EQ-${i}`) }));
    compareOwned(pure, owned, [...loads, ...run.slice(half)]);
    expect(owned.bufferBytes).toBeGreaterThan(first);
    expect(pureRuns()).toBe(0);
  });

  it('a threshold on one sensor, samples of 3 to 64 values: in columns, those of more than 64 values (the most `latest` keeps) in the pure form', () => {
    const options: MaintenanceOptions = { ...serviceOnly, thresholds: [lowOil] };
    const { pure, owned, pureRuns } = counted(options);
    // 64 rows of 8 items of 4 values (and each row's header, service and history: 47 numbers).
    expect(owned.bufferBytes).toBe(64 * (47 + 8 * 6) * 8);
    compareOwned(pure, owned, steps([3, 5, 8, 12, 16, 20, 40, 64], 0.5, 5));
    expect(pureRuns()).toBe(0);
    // Items of 64 values (16 of them: some assets hold more than 8 samples within the lateness): within the budget for 64 rows.
    expect(owned.bufferBytes).toBe(64 * (47 + 16 * 66) * 8);

    const beyond = counted(options);
    const run = steps([8, 70], 0.5, 7);
    compareOwned(beyond.pure, beyond.owned, run);
    const wide = run.filter((s) => ('event' in s || 'flush' in s) && s.asset.erpAssetId === 'EQ-1').length;
    expect(beyond.pureRuns()).toBeGreaterThan(wide * 0.9);
    expect(beyond.pureRuns()).toBeLessThanOrEqual(wide);
  });

  it('within a small buffer budget: items wider than 16 values while few assets are held, back to 16 when more come (the asset with wider samples taking the pure form)', () => {
    // A budget of 64 rows of 8 items of 48 values; a lateness holding fewer than 8 samples.
    const budget = 64 * (47 + 8 * 50) * 8;
    const options = { ...serviceOnly, allowedLatenessMs: 20 * SEC };
    // The wide asset alone for five minutes, then 100 more.
    const run = steps([40, ...Array.from({ length: 100 }, () => 6)], 0.25, 11, (i) => (i === 0 ? T0 : T0 + 5 * 60 * SEC), options.allowedLatenessMs);
    const alone = run.findIndex((s) => 'event' in s && s.asset.erpAssetId !== 'EQ-0');
    expect(alone).toBeGreaterThan(30);
    const { pure, owned, pureRuns } = counted(options, budget);
    compareOwned(pure, owned, run.slice(0, alone));
    expect(owned.bufferBytes).toBe(budget);
    expect(pureRuns()).toBe(0);
    compareOwned(createMaintenanceRule(options), owned, run);
    // 128 rows of 8 items of 16 values; the wide asset in the pure form from then on.
    expect(owned.bufferBytes).toBe(128 * (47 + 8 * 18) * 8);
    const wide = run.filter((s) => ('event' in s || 'flush' in s) && s.asset.erpAssetId === 'EQ-0').length;
    expect(pureRuns()).toBeGreaterThan(wide / 2);
    expect(pureRuns()).toBeLessThanOrEqual(wide);
  });
});
