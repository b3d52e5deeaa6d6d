import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { AlertEvent, CanonicalEvent, MeterEvent, SensorEvent, Severity, WorkOrderStatusEvent } from '../../model/events.js';
import { flushRules, simulateRules, type StateDoc } from '../simulate.js';
import { createMaintenanceRule, latestHours, latestKm, shortValue, type MaintenanceState } from './maintenance-rule.js';
import { maintenanceStatus } from './status.js';
import type { AlertRule, MaintenanceOptions, ServiceIntervalRule, ThresholdRule } from './types.js';
import { nextWindow } from './windows.js';
import { rulesSchema } from '../../../config/rules-schema.js';
import { parseWorkOrderKey } from './work-order.js';

const T0 = Date.UTC(2026, 9, 1, 8); // Thursday 2026-10-01 08:00Z
const MIN = 60_000;
const asset: AssetRecord = { erpAssetId: 'EQ-7', erpModule: 'maintenance', attributes: { site: 'BER', lastServiceHours: '100' } };

const overheat: ThresholdRule = {
  name: 'engine-overheat',
  sensor: 'coolantTemp',
  direction: 'above',
  threshold: 95,
  clearAt: 90,
  durationMs: 5 * MIN,
  maxGapMs: 10 * MIN,
  cooldownMs: 60 * MIN,
  severity: 'critical',
};
const lowOil: ThresholdRule = { ...overheat, name: 'low-oil', sensor: 'oilPressure', direction: 'below', threshold: 1.5, clearAt: 2, durationMs: 0, cooldownMs: 0, severity: 'warning' };
const service250: ServiceIntervalRule = { name: 'service-250h', meter: 'hours', every: 250, dueSoon: 0, defaultBaseline: 'zero', severity: 'warning' };
const oil15k: ServiceIntervalRule = { name: 'oil-15000km', meter: 'km', every: 15_000, dueSoon: 0, baselineAttribute: 'lastServiceKm', defaultBaseline: 'zero', severity: 'warning' };

function options(over: Partial<MaintenanceOptions> = {}): MaintenanceOptions {
  return { thresholds: [overheat, lowOil], serviceIntervals: [service250], allowedLatenessMs: 0, siteAttribute: 'site', windows: {}, ...over };
}

const sensor = (min: number, values: Record<string, number>): SensorEvent => ({
  kind: 'sensor',
  source: 'test',
  ids: [{ type: 'tag', value: 'x' }],
  eventTime: T0 + min * MIN,
  receivedAt: T0 + min * MIN,
  values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, unit: k === 'coolantTemp' ? '°C' : 'bar' }])),
});
const HOUR = 60 * MIN;
/** Meter values read `at` hours after T0. */
const reading = (at: number, values: Pick<MeterEvent, 'operatingHours' | 'odometerKm' | 'declaredReset'>): MeterEvent => ({
  kind: 'meter',
  source: 'test',
  ids: [{ type: 'tag', value: 'x' }],
  eventTime: T0 + at * HOUR,
  receivedAt: T0 + at * HOUR,
  ...values,
});
/** A meter reading `at` hours after T0. */
const meter = (at: number, hours: number, declaredReset?: boolean): MeterEvent => reading(at, { operatingHours: hours, ...(declaredReset ? { declaredReset } : {}) });
/** Odometer (and optionally hour meter) readings `at` hours after T0. */
const odometer = (at: number, km: number, hours?: number): MeterEvent => reading(at, { odometerKm: km, ...(hours !== undefined ? { operatingHours: hours } : {}) });
/** ERP feedback `at` hours after T0. */
const feedback = (at: number, businessKey: string, status: WorkOrderStatusEvent['status'], hours?: number): WorkOrderStatusEvent => ({
  kind: 'workorder',
  source: 'erp-feedback',
  ids: [{ type: 'erp', value: asset.erpAssetId }],
  eventTime: T0 + at * HOUR,
  receivedAt: T0 + at * HOUR,
  businessKey,
  status,
  erpWorkOrderId: 'WO-1',
  ...(hours !== undefined ? { operatingHoursAtCompletion: hours } : {}),
});

function run(events: readonly CanonicalEvent[], opts = options(), initial?: StateDoc, batchSizes?: number[]) {
  const rule = createMaintenanceRule(opts);
  const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })), {
    ...(initial ? { initial: new Map([[asset.erpAssetId, initial]]) } : {}),
    ...(batchSizes ? { batchSizes } : {}),
  });
  const f = flushRules([rule], r.states, new Map([[asset.erpAssetId, { asset, destination: 'erp' }]]), 0);
  const doc = f.states.get(asset.erpAssetId) ?? {};
  return { deliveries: [...r.perStep.flat(), ...f.deliveries], doc, state: doc.maintenance as MaintenanceState | undefined };
}

const temps = (pairs: readonly [number, number][]) => pairs.map(([m, v]) => sensor(m, { coolantTemp: v }));
const keys = (ds: readonly DeliveryIntent[]) => ds.map((d) => d.businessKey);

describe('threshold rules', () => {
  it('opens one HIGH-priority work order when the breach holds for the duration', () => {
    const { deliveries } = run(temps([[0, 90], [1, 96], [2, 97], [4, 99], [6, 98], [7, 97], [8, 99]]));
    expect(keys(deliveries)).toEqual(['EQ-7|engine-overheat|2026-10-01T08:01:00.000Z']);
    const d = deliveries[0] as DeliveryIntent;
    expect(d).toMatchObject({ operation: 'workorder.create', kind: 'fact', destination: 'erp', erpAssetId: 'EQ-7', eventTime: T0 + 6 * MIN });
    expect(d.payload).toMatchObject({
      priority: 'HIGH',
      severity: 'critical',
      rule: 'engine-overheat',
      trigger: { type: 'threshold', sensor: 'coolantTemp', condition: 'above', threshold: 95, clearAt: 90, peak: 99, value: 98, firstBreachAt: '2026-10-01T08:01:00.000Z' },
      sensorSnapshot: { at: '2026-10-01T08:06:00.000Z', values: { coolantTemp: { value: 98, unit: '°C' } } },
      plannedStart: null,
    });
    expect(String(d.payload.title).length).toBeLessThanOrEqual(40);
    expect(d.payload.description).toMatch(/coolantTemp above 95 °C for 5 min/);
  });

  it("a reading sent without a unit: the trigger's threshold, peak and value are in the rule's unit, and say so", () => {
    const plain = (min: number, v: number): SensorEvent => ({ ...sensor(min, {}), values: { coolantTemp: { value: v } } });
    const [d] = run([plain(0, 96), plain(5, 97)], options({ thresholds: [{ ...overheat, unit: '°C' }] })).deliveries;
    expect(d?.payload.trigger).toMatchObject({ threshold: 95, peak: 97, value: 97, unit: '°C' });
    // Without a unit on the rule either, there is none to give.
    const [n] = run([plain(0, 96), plain(5, 97)]).deliveries;
    expect(n?.payload.trigger).not.toHaveProperty('unit');
  });

  it('the title shows a converted reading to 4 significant digits (2 decimals at least), so the unit is not cut off (the trigger keeps it whole)', () => {
    const hot = (min: number, v: number): SensorEvent => ({ ...sensor(min, {}), values: { coolantTemp: { value: v, unit: '°C' } } });
    const [d] = run([hot(0, 98.888888889)], options({ thresholds: [{ ...overheat, title: 'Engine overheating', durationMs: 0 }] })).deliveries;
    expect(d?.payload.title).toBe('Engine overheating: coolantTemp 98.89 °C');
    expect(d?.payload.trigger).toMatchObject({ value: 98.888888889 });
    expect([shortValue(98), shortValue(6.894757293), shortValue(0.0012346), shortValue(12345.678), shortValue(-40.55555), shortValue(1234.5)]).toEqual(['98', '6.895', '0.001235', '12345.68', '-40.56', '1234.5']);
  });

  it('a breach that does not hold for the duration opens nothing', () => {
    expect(run(temps([[0, 96], [2, 97], [4, 94], [6, 96], [8, 97], [10, 98]])).deliveries).toEqual([]);
    // A gap longer than maxGap is not a continuous breach either.
    expect(run(temps([[0, 96], [2, 97], [20, 97], [24, 97]])).deliveries).toEqual([]);
  });

  it('hysteresis: hovering around the threshold after triggering opens no second work order', () => {
    const hover = Array.from({ length: 40 }, (_, i) => [10 + i, i % 2 ? 93 : 97] as [number, number]);
    expect(keys(run(temps([[0, 96], [5, 97], ...hover])).deliveries)).toHaveLength(1);
  });

  it('cooldown: a new episode soon after the last work order waits, then opens one', () => {
    // Episode 1 fires at 5 min; clears at 10; episode 2 from 20 holds; cooldown ends at 65.
    const pts: [number, number][] = [[0, 96], [5, 97], [10, 80], [20, 96], [25, 96], [30, 97]];
    for (let m = 35; m <= 70; m += 5) pts.push([m, 97]);
    const ds = run(temps(pts)).deliveries;
    // Status says why episode 2 waits: held, but in the cooldown; before that, how long it has held.
    const row = (upTo: number) => maintenanceStatus(asset, run(temps(pts.filter(([m]) => m <= upTo))).state, options(), { now: T0 + upTo * MIN, marks: () => ({}) }).due.find((d) => d.rule === 'engine-overheat')?.state;
    expect(row(22)).toBe('pending since 2026-10-01T08:20:00.000Z, held 0 s of 5 min');
    expect(row(40)).toBe('pending since 2026-10-01T08:20:00.000Z, held long enough: waits for the cooldown after the last work order (2026-10-01T08:05:00.000Z) to end 2026-10-01T09:05:00.000Z');
    // Taken after the cooldown ended, before the next sample: it waits for that sample, not for a cooldown in the past.
    const upTo60 = run(temps(pts.filter(([m]) => m <= 60))).state;
    expect(maintenanceStatus(asset, upTo60, options(), { now: T0 + 66 * MIN, marks: () => ({}) }).due.find((d) => d.rule === 'engine-overheat')?.state).toBe(
      'pending since 2026-10-01T08:20:00.000Z, held long enough; the cooldown after the last work order (2026-10-01T08:05:00.000Z) ended 2026-10-01T09:05:00.000Z: the next breaching sample opens the work order',
    );
    expect(ds.map((d) => [d.businessKey, (d.eventTime - T0) / MIN])).toEqual([
      ['EQ-7|engine-overheat|2026-10-01T08:00:00.000Z', 5],
      ['EQ-7|engine-overheat|2026-10-01T08:20:00.000Z', 65],
    ]);
  });

  it('status: a breach or episode with no sample for longer than maxGap says it is broken, not still under way', () => {
    // Every 15 minutes (maxGap 10 min): each sample starts the breach again, so it never holds 5 min.
    const slow = temps([[0, 97], [15, 97], [30, 97]]);
    expect(run(slow).deliveries).toEqual([]);
    const row = (events: CanonicalEvent[], at: number) => maintenanceStatus(asset, run(events).state, options(), { now: T0 + at * MIN, marks: () => ({}) }).due.find((d) => d.rule === 'engine-overheat')?.state;
    expect(row(slow, 35)).toBe('pending since 2026-10-01T08:30:00.000Z, held 0 s of 5 min');
    expect(row(slow, 41)).toBe(
      'pending since 2026-10-01T08:30:00.000Z, held 0 s of 5 min; no sample since 2026-10-01T08:30:00.000Z, more than maxGap (10 min): this breach is broken, and the next breaching sample starts one anew (a sensor that reports less often than maxGap never holds one: raise maxGap)',
    );
    // An episode under way (its work order opened) whose sensor fell silent: the next sample ends it.
    const hot = temps([[0, 96], [5, 97]]);
    expect(row(hot, 15)).toBe('active');
    expect(row(hot, 16)).toBe('active; no sample since 2026-10-01T08:05:00.000Z, more than maxGap (10 min): the next sample ends this episode (a breaching one starts a new one)');
  });

  it('closed loop: a condition that outlasts the repair opens a new work order after the ERP reports the first completed', () => {
    const first = 'EQ-7|engine-overheat|2026-10-01T08:00:00.000Z';
    const hot = (from: number, to: number) => temps(Array.from({ length: (to - from) / 5 + 1 }, (_, i) => [from + i * 5, 97] as [number, number]));
    // Hot from 08:00 on, never below the clear value. Without feedback: one work order, however long it stays hot.
    expect(keys(run(hot(0, 120)).deliveries)).toEqual([first]);
    // Completed at 08:40 while still hot: a new episode from the next sample (08:45), held 5 min,
    // opens once the hour of cooldown since 08:05 is over.
    const waiting = run([...hot(0, 40), feedback(40 / 60, first, 'completed')]);
    expect(maintenanceStatus(asset, waiting.state, options(), { now: T0 + 41 * MIN, marks: () => ({}) }).due.find((d) => d.rule === 'engine-overheat')?.state).toBe(
      'active, work order completed 2026-10-01T08:40:00.000Z: the next breach starts a new episode',
    );
    const repaired = run([...hot(0, 40), feedback(40 / 60, first, 'completed'), ...hot(45, 120)]);
    expect(repaired.deliveries.map((d) => [d.businessKey, (d.eventTime - T0) / MIN])).toEqual([
      [first, 5],
      ['EQ-7|engine-overheat|2026-10-01T08:45:00.000Z', 65],
    ]);
    // Samples before the completion time (held back, or arriving late) still belong to the old episode.
    const early = run([...hot(0, 30), feedback(40 / 60, first, 'completed'), ...temps([[35, 97]]), ...hot(45, 120)]);
    expect(keys(early.deliveries)).toEqual([first, 'EQ-7|engine-overheat|2026-10-01T08:45:00.000Z']);
    // A cancelled work order, or the completion of an older episode's, re-arms nothing.
    expect(keys(run([...hot(0, 40), feedback(40 / 60, first, 'cancelled'), ...hot(45, 120)]).deliveries)).toEqual([first]);
    const twoEpisodes = [...hot(0, 10), ...temps([[15, 80]]), ...hot(20, 70)]; // a second work order (08:20) at 65 min
    const old = run([...twoEpisodes, feedback(75 / 60, first, 'completed'), ...hot(80, 200)]);
    expect(keys(old.deliveries)).toEqual([first, 'EQ-7|engine-overheat|2026-10-01T08:20:00.000Z']);
  });

  it('closed loop: after the repair, a value between the clear value and the threshold is no breach and starts no episode', () => {
    const first = 'EQ-7|engine-overheat|2026-10-01T08:00:00.000Z';
    const hot = (from: number, to: number) => temps(Array.from({ length: (to - from) / 5 + 1 }, (_, i) => [from + i * 5, 97] as [number, number]));
    // Completed at 08:40; 08:45 reads 93 (not above 95, not below 90): the new episode starts at 08:50, its first breach.
    const r = run([...hot(0, 40), feedback(40 / 60, first, 'completed'), ...temps([[45, 93]]), ...hot(50, 120)]);
    expect(r.deliveries.map((d) => [d.businessKey, (d.eventTime - T0) / MIN])).toEqual([
      [first, 5],
      ['EQ-7|engine-overheat|2026-10-01T08:50:00.000Z', 65],
    ]);
    // A rule without a duration opens nothing for a value in the band: it is no breach.
    const instant = options({ thresholds: [{ ...overheat, durationMs: 0, cooldownMs: 0 }] });
    const banded = run([...temps([[0, 97]]), feedback(1 / 60, first, 'completed'), ...temps([[2, 93], [3, 92]])], instant);
    expect(keys(banded.deliveries)).toEqual([first]);
    // Still waiting for the next breach; a breach then opens the next work order.
    const next = run([...temps([[4, 96]])], instant, banded.doc);
    expect(keys(next.deliveries)).toEqual(['EQ-7|engine-overheat|2026-10-01T08:04:00.000Z']);
  });

  it('below-threshold rules with zero duration trigger at once, MEDIUM priority', () => {
    const ds = run([sensor(0, { oilPressure: 3 }), sensor(1, { oilPressure: 1.2 }), sensor(2, { oilPressure: 1.8 }), sensor(3, { oilPressure: 2.5 }), sensor(4, { oilPressure: 1.0 })]).deliveries;
    expect(ds.map((d) => [parseWorkOrderKey(d.businessKey)?.occurrence, d.payload.priority])).toEqual([
      ['2026-10-01T08:01:00.000Z', 'MEDIUM'],
      ['2026-10-01T08:04:00.000Z', 'MEDIUM'],
    ]);
  });

  it('rules apply only to the assets their filter selects', () => {
    const only = { ...overheat, appliesTo: { attributes: { site: ['HAM'] } } };
    expect(run(temps([[0, 96], [5, 97]]), options({ thresholds: [only] })).deliveries).toEqual([]);
  });

  it('one rule object keeps each asset to the rules its filters select, whichever asset comes first', () => {
    // Assets the same rules apply to share their rule lists: an asset of another site, seen
    // before or after them, must still get its own.
    const hamOnly = { ...overheat, appliesTo: { attributes: { site: ['HAM'] } } };
    const km = { ...oil15k, appliesTo: { attributes: { site: ['BER'] } } };
    const rule = createMaintenanceRule(options({ thresholds: [hamOnly, lowOil], serviceIntervals: [service250, km] }));
    const at = (site: string, id: string): AssetRecord => ({ erpAssetId: id, erpModule: 'maintenance', attributes: { site } });
    const assets = [at('BER', 'B1'), at('HAM', 'H1'), at('BER', 'B2'), at('HAM', 'H2')];
    const steps = [
      ...[0, 5].flatMap((m) => assets.map((a) => ({ event: sensor(m, { coolantTemp: 96 + m, oilPressure: 1 }), asset: a, destination: 'erp' }))),
      ...assets.map((a) => ({ event: odometer(1, 16_000, 260), asset: a, destination: 'erp' })),
    ];
    const r = simulateRules([rule], steps);
    const opened = r.perStep.flat().map((d) => `${d.erpAssetId} ${parseWorkOrderKey(d.businessKey)?.rule}`);
    expect(opened.sort()).toEqual(
      ['B1 low-oil', 'B2 low-oil', 'H1 low-oil', 'H2 low-oil', 'H1 engine-overheat', 'H2 engine-overheat', 'B1 service-250h', 'B2 service-250h', 'H1 service-250h', 'H2 service-250h', 'B1 oil-15000km', 'B2 oil-15000km'].sort(),
    );
  });

  it('schedules work into the site’s next maintenance window, in plant time', () => {
    const windows = {
      BER: { timeZone: 'Europe/Berlin', windows: [{ days: [6], startMinute: 6 * 60, durationMinutes: 8 * 60 }] },
      '*': { timeZone: 'UTC', windows: [{ days: [0, 1, 2, 3, 4, 5, 6], startMinute: 0, durationMinutes: 60 }] },
    };
    const d = run(temps([[0, 96], [5, 97]]), options({ windows })).deliveries[0];
    // Saturday 2026-10-03 06:00–14:00 CEST = 04:00–12:00Z.
    expect(d?.payload).toMatchObject({ site: 'BER', plannedStart: '2026-10-03T04:00:00.000Z', plannedEnd: '2026-10-03T12:00:00.000Z' });
  });
});

describe('exactly once', () => {
  const stream = [
    ...temps([[0, 96], [2, 97], [5, 99], [6, 85], [30, 96], [40, 99], [45, 70]]),
    sensor(50, { oilPressure: 1.0 }),
    sensor(51, { oilPressure: 2.5 }),
    sensor(100, { oilPressure: 1.1 }),
    ...[0, 20, 40, 60, 80].map((h, i) => meter(h, 200 + i * 20)),
  ].sort((a, b) => a.eventTime - b.eventTime);

  it('a replay of everything (any order) adds no work order, even with fresh state it repeats the same keys', () => {
    const first = run(stream);
    expect(keys(first.deliveries).sort()).toEqual([
      'EQ-7|engine-overheat|2026-10-01T08:00:00.000Z', // the second breach (08:30) falls in the cooldown
      'EQ-7|low-oil|2026-10-01T08:50:00.000Z',
      'EQ-7|low-oil|2026-10-01T09:40:00.000Z',
      'EQ-7|service-250h|250h@b0',
    ]);
    const replay = run([...stream].reverse(), options(), first.doc);
    expect(replay.deliveries).toEqual([]);
    const fresh = run(stream);
    expect(keys(fresh.deliveries)).toEqual(keys(first.deliveries));
  });

  it('duplicate events add nothing', () => {
    const doubled = stream.flatMap((e) => [e, { ...e }]);
    expect(keys(run(doubled).deliveries)).toEqual(keys(run(stream).deliveries));
  });

  it('property: any batching and any arrival order within the allowed lateness gives the same deliveries', () => {
    // With a repeating rule beside the duration rules: its count must not depend on arrival order either.
    const hotSpikes: ThresholdRule = { ...overheat, name: 'hot-spikes', threshold: 100, clearAt: 98, durationMs: 0, cooldownMs: 0, repeat: { count: 2, withinMs: 20 * MIN } };
    const opts = options({ allowedLatenessMs: 3 * MIN, thresholds: [overheat, lowOil, hotSpikes] });
    const event = fc.oneof(
      fc.record({ kind: fc.constant('t' as const), v: fc.integer({ min: 80, max: 105 }) }),
      fc.record({ kind: fc.constant('o' as const), v: fc.double({ min: 0.5, max: 3, noNaN: true }) }),
      fc.record({ kind: fc.constant('h' as const), v: fc.double({ min: 0, max: 0.9, noNaN: true }) }),
    );
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 80 }),
        fc.array(fc.integer({ min: 0, max: 3 * MIN - 1 }), { minLength: 80, maxLength: 80 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 20 }),
        (specs, delays, batches) => {
          let hours = 230;
          const events: CanonicalEvent[] = specs.map((s, i) => {
            if (s.kind === 't') return sensor(i, { coolantTemp: s.v });
            if (s.kind === 'o') return sensor(i, { oilPressure: s.v });
            hours += s.v;
            return meter(i, hours);
          });
          events.sort((a, b) => a.eventTime - b.eventTime);
          const inOrder = run(events, opts);
          const arrival = events
            .map((e, i) => ({ e, at: e.eventTime + (delays[i] ?? 0), i }))
            .sort((a, b) => a.at - b.at || a.i - b.i)
            .map((x) => x.e);
          const shuffled = run(arrival, opts, undefined, batches);
          expect(shuffled.deliveries).toEqual(inOrder.deliveries);
          // Replaying the same events again, in yet another order, adds nothing.
          const replay = run([...arrival].reverse(), opts, shuffled.doc);
          expect(replay.deliveries).toEqual([]);
          const unique = new Set(keys(inOrder.deliveries));
          expect(unique.size).toBe(inOrder.deliveries.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('one message’s sensor values, meter reading and fault (separate events of one time) all count, also with no allowed lateness', () => {
    const opts = options({ alerts: [{ name: 'faults', minSeverity: 'critical', cooldownMs: HOUR }] });
    const fault: CanonicalEvent = { kind: 'alert', source: 'test', ids: [{ type: 'tag', value: 'x' }], eventTime: T0 + HOUR, receivedAt: T0 + HOUR, severity: 'critical', code: 'E-1', reason: 'ECU' };
    // The decoder emits a message's events in this order: sensor, meter, alert.
    const message = [sensor(60, { coolantTemp: 80 }), meter(1, 250.3), fault];
    const expected = ['EQ-7|service-250h|250h@b0', 'EQ-7|faults|E-1@2026-10-01T09:00:00.000Z'];
    for (const order of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]) {
      const r = run([meter(0, 249.5), ...order.map((i) => message[i] as CanonicalEvent)], opts);
      expect(keys(r.deliveries).sort()).toEqual([...expected].sort());
      // The same message again (a client's retry) is a duplicate, not late (its events were the last taken), and adds nothing.
      const rule = createMaintenanceRule(opts);
      const replay = simulateRules([rule], message.map((event) => ({ event, asset, destination: 'erp' })), { initial: new Map([[asset.erpAssetId, r.doc]]) });
      expect(replay.perStep.flat()).toEqual([]);
      expect(replay.lateByStep).toEqual([[], [], []]);
      // Another reading of that time is still late.
      const other = simulateRules([rule], [{ event: meter(1, 250.4), asset, destination: 'erp' }], { initial: new Map([[asset.erpAssetId, r.doc]]) });
      expect(other.lateByStep).toEqual([['maintenance']]);
    }
  });

  it('late samples beyond the allowed lateness never duplicate a work order', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(stream, { minLength: stream.length, maxLength: stream.length }), (arrival) => {
        const ds = run(arrival).deliveries;
        expect(new Set(keys(ds)).size).toBe(ds.length);
      }),
      { numRuns: 200 },
    );
  });
});

describe('repeating threshold rules ("3 times within an hour")', () => {
  const spikes: ThresholdRule = { ...overheat, name: 'pressure-spikes', sensor: 'hydPressure', threshold: 110, clearAt: 105, durationMs: 0, cooldownMs: 0, severity: 'warning', repeat: { count: 3, withinMs: 60 * MIN } };
  const pressure = (pairs: readonly [number, number][]) => pairs.map(([m, v]) => sensor(m, { hydPressure: v }));
  const opts = (rule: ThresholdRule = spikes) => options({ thresholds: [rule], serviceIntervals: [] });

  it('opens one work order when the count of breaches falls within the window, keyed by the first of them', () => {
    const { deliveries, state } = run(pressure([[0, 100], [1, 112], [2, 100], [10, 115], [11, 100], [30, 100], [50, 113], [51, 100]]), opts());
    expect(keys(deliveries)).toEqual(['EQ-7|pressure-spikes|2026-10-01T08:01:00.000Z']);
    expect(deliveries[0]?.payload).toMatchObject({
      priority: 'MEDIUM',
      trigger: { type: 'threshold', sensor: 'hydPressure', firstBreachAt: '2026-10-01T08:01:00.000Z', peak: 113, repeat: { count: 3, withinMs: 60 * MIN, breachesAt: ['2026-10-01T08:01:00.000Z', '2026-10-01T08:10:00.000Z', '2026-10-01T08:50:00.000Z'] } },
    });
    expect(deliveries[0]?.payload.description).toMatch(/^hydPressure above 110 bar 3 times within 1 h \(starting 2026-10-01T08:01:00.000Z, 2026-10-01T08:10:00.000Z, 2026-10-01T08:50:00.000Z/);
    expect(deliveries[0]?.payload.title).toBe('pressure-spikes (3× in 1 h)'); // the count, not the last value, in the short text
    expect(state?.thresholds?.['pressure-spikes']?.hits).toBeUndefined(); // the count starts again
  });

  it('breaches further apart than the window do not add up; the window slides', () => {
    const spread = pressure([[1, 112], [2, 100], [40, 112], [41, 100], [70, 112], [71, 100]]);
    expect(run(spread, opts()).deliveries).toEqual([]); // 08:01 fell out of the window by 09:10
    const more = [...spread, ...pressure([[90, 111], [91, 100]])];
    expect(keys(run(more, opts()).deliveries)).toEqual(['EQ-7|pressure-spikes|2026-10-01T08:40:00.000Z']);
  });

  it('one long breach hovering inside the hysteresis band counts once', () => {
    expect(run(pressure([[0, 112], [1, 108], [2, 112], [3, 107], [4, 113], [5, 108], [6, 112]]), opts()).deliveries).toEqual([]);
  });

  it('each breach must hold for `for`; after a work order the count starts again, and the cooldown holds the next one back', () => {
    const held = { ...spikes, durationMs: 2 * MIN, maxGapMs: 5 * MIN };
    // Three spikes, one of them too short to count.
    expect(run(pressure([[0, 112], [2, 112], [3, 100], [10, 112], [11, 100], [20, 112], [22, 112], [23, 100]]), opts(held)).deliveries).toEqual([]);
    const cooling = { ...spikes, cooldownMs: 120 * MIN };
    const first = pressure([[0, 112], [1, 100], [5, 112], [6, 100], [9, 112], [10, 100]]);
    const again = pressure([[30, 112], [31, 100], [35, 112], [36, 100], [40, 112], [41, 100]]); // within the cooldown
    const later = pressure([[130, 112], [131, 100]]); // past the cooldown, but the three held back have left the window: one is not three
    const r = run([...first, ...again, ...later], opts(cooling));
    expect(keys(r.deliveries)).toEqual(['EQ-7|pressure-spikes|2026-10-01T08:00:00.000Z']);
    const afterCooldown = pressure([[130, 112], [131, 100], [140, 112], [141, 100], [150, 112], [151, 100]]);
    expect(keys(run([...first, ...again, ...afterCooldown], opts(cooling)).deliveries)).toEqual(['EQ-7|pressure-spikes|2026-10-01T08:00:00.000Z', 'EQ-7|pressure-spikes|2026-10-01T10:10:00.000Z']);
  });

  it('property: the count does not depend on arrival order or batching within the allowed lateness; a replay adds nothing', () => {
    const rule = { ...spikes, cooldownMs: 15 * MIN, repeat: { count: 3, withinMs: 30 * MIN } };
    const o = options({ thresholds: [rule], serviceIntervals: [], allowedLatenessMs: 3 * MIN });
    let fired = 0;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 95, max: 120 }), { minLength: 20, maxLength: 80, size: 'max' }),
        fc.array(fc.integer({ min: 0, max: 3 * MIN - 1 }), { minLength: 80, maxLength: 80 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 20 }),
        (values, delays, batches) => {
          const events = values.map((v, i) => sensor(i, { hydPressure: v }));
          const inOrder = run(events, o);
          fired += inOrder.deliveries.length;
          const arrival = events
            .map((e, i) => ({ e, at: e.eventTime + (delays[i] ?? 0), i }))
            .sort((a, b) => a.at - b.at || a.i - b.i)
            .map((x) => x.e);
          const shuffled = run(arrival, o, undefined, batches);
          expect(keys(shuffled.deliveries)).toEqual(keys(inOrder.deliveries));
          expect(run([...arrival].reverse(), o, shuffled.doc).deliveries).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
    expect(fired).toBeGreaterThan(100); // the runs did exercise the count
  });

  it('status says how many breaches are counted towards the next work order', () => {
    const { state } = run(pressure([[0, 112], [1, 100], [20, 114], [21, 100]]), opts());
    const row = (now: number) => maintenanceStatus(asset, state, opts(), { now, marks: () => ({}) }).due.find((d) => d.rule === 'pressure-spikes')?.state;
    expect(row(T0 + 30 * MIN)).toBe('normal, 2 of 3 breaches counted since 2026-10-01T08:00:00.000Z');
    expect(row(T0 + 70 * MIN)).toBe('normal, 1 of 3 breaches counted since 2026-10-01T08:20:00.000Z'); // the first left the window
    expect(row(T0 + 200 * MIN)).toBe('normal');
    // A quiet reading after the window drops the count from the state, and with it the rule's state.
    const later = run(pressure([[0, 112], [1, 100], [20, 114], [21, 100], [90, 100]]), opts());
    expect(later.state?.thresholds?.['pressure-spikes']).toBeUndefined();
    const within = run(pressure([[0, 112], [1, 100], [20, 114], [21, 100], [70, 100]]), opts());
    expect(within.state?.thresholds?.['pressure-spikes']?.hits).toEqual([T0 + 20 * MIN]);
  });

  it('the config takes `repeat: { count, within }` and says what is wrong with it', () => {
    const base = { name: 'spikes', sensor: 'hydPressure', above: 110 };
    const parsed = rulesSchema.parse({ maintenance: { thresholds: [{ ...base, repeat: { count: 3, within: '1h' } }] } });
    expect(parsed.maintenance?.thresholds[0]?.repeat).toEqual({ count: 3, withinMs: 3_600_000 });
    const problems = (repeat: unknown, extra: object = {}) => {
      const r = rulesSchema.safeParse({ maintenance: { thresholds: [{ ...base, ...extra, repeat }] } });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(problems({ count: 1, within: '1h' })).toEqual(['maintenance.thresholds.0.repeat.count: 1 is too few: count at least 2 breaches (1 is the rule without repeat)']);
    expect(problems({ count: 3 })[0]).toMatch(/^maintenance\.thresholds\.0\.repeat\.within: give the window/);
    expect(problems({ count: 3, within: '5m' }, { for: '5m' })[0]).toMatch(/^maintenance\.thresholds\.0\.repeat\.within: the window \(300 s\) must be longer than `for` \(300 s\)/);
  });
});

describe('service intervals', () => {
  const svc = (over: Partial<ServiceIntervalRule> = {}) => options({ thresholds: [], serviceIntervals: [{ ...service250, ...over }] });

  it('opens one work order per due point from the baseline', () => {
    const ds = run([meter(0, 240), meter(9, 249), meter(11, 251), meter(20, 260), meter(300, 499), meter(302, 500.2)], svc()).deliveries;
    expect(keys(ds)).toEqual(['EQ-7|service-250h|250h@b0', 'EQ-7|service-250h|500h@b0']);
    expect(ds[0]?.payload).toMatchObject({ priority: 'MEDIUM', trigger: { type: 'service-interval', dueAtHours: 250, readingHours: 251, baselineHours: 0, dueSoon: false } });
  });

  it('opens ahead of time within the due-soon lead, from the asset’s baseline attribute', () => {
    const ds = run([meter(0, 320), meter(1, 321), meter(6, 326)], svc({ dueSoon: 25, baselineAttribute: 'lastServiceHours' })).deliveries;
    expect(keys(ds)).toEqual(['EQ-7|service-250h|350h@b100']);
    expect(ds[0]?.payload.trigger).toMatchObject({ dueSoon: true, dueAtHours: 350, readingHours: 326 });
  });

  it('a jump over several due points opens one work order, for the latest', () => {
    expect(keys(run([meter(0, 100), meter(24 * 60, 990)], svc()).deliveries)).toEqual(['EQ-7|service-250h|750h@b0']);
  });

  it('status after the interval was changed shows the due point the next reading opens, not one interval too far', () => {
    // 250h@b0 opened at 251 h and cancelled (not done after all); then the rule became every 300 h.
    const opened = run([meter(0, 240), meter(11, 251), feedback(12, 'EQ-7|service-250h|250h@b0', 'cancelled')], svc());
    const changed = svc({ every: 300 });
    const row = maintenanceStatus(asset, opened.state, changed).due.find((d) => d.rule === 'service-250h');
    expect(row).toMatchObject({ state: 'ok', hours: 251, baselineHours: 0, nextDueHours: 300, remainingHours: 49 });
    // Which is where the work order opens.
    expect(keys(run([meter(59, 299)], changed, opened.doc).deliveries)).toEqual([]);
    expect(keys(run([meter(60, 300)], changed, opened.doc).deliveries)).toEqual(['EQ-7|service-250h|300h@b0']);
  });

  it('an interval crossed by a late reading opens it once, whatever the arrival order', () => {
    const inOrder = [meter(0, 240), meter(9, 249), meter(11, 251), meter(12, 252)];
    const lateCrossing = [meter(0, 240), meter(9, 249), meter(12, 252), meter(11, 251)];
    expect(keys(run(inOrder, svc()).deliveries)).toEqual(['EQ-7|service-250h|250h@b0']);
    expect(keys(run(lateCrossing, svc()).deliveries)).toEqual(['EQ-7|service-250h|250h@b0']);
    // Within the allowed lateness, even the delivery itself is the same.
    const late = options({ thresholds: [], serviceIntervals: [service250], allowedLatenessMs: 2 * HOUR });
    expect(run(lateCrossing, late).deliveries).toEqual(run(inOrder, late).deliveries);
  });

  it('an hour reading behind newer sensor samples counts when it is newer than every reading (hours pulled from a feed arrive behind live sensors)', () => {
    const opts = options({ serviceIntervals: [service250] });
    // Live temperatures up to 10:10; the pulled reading of 09:55 arrives after them (no allowed lateness).
    const r = run([meter(-26, 230), sensor(130, { coolantTemp: 70 }), meter(1.9, 251)], opts);
    expect(keys(r.deliveries)).toEqual(['EQ-7|service-250h|250h@b0']);
    expect(latestHours(r.state)?.[1]).toBe(251);
    const step = simulateRules([createMaintenanceRule(opts)], [meter(-26, 230), sensor(130, { coolantTemp: 70 }), meter(1.9, 251)].map((event) => ({ event, asset, destination: 'erp' })));
    expect(step.lateByStep).toEqual([[], [], []]);
    // A reading older than the newest reading already counted is late, as before (meter order is kept).
    const older = simulateRules([createMaintenanceRule(opts)], [meter(0, 249), sensor(130, { coolantTemp: 70 }), meter(1.5, 250.5), meter(1, 250)].map((event) => ({ event, asset, destination: 'erp' })));
    expect(older.lateByStep).toEqual([[], [], [], ['maintenance']]);
    expect(keys(older.perStep.flat())).toEqual(['EQ-7|service-250h|250h@b0']);
  });

  it('completion in the ERP resets the baseline to the hours at completion', () => {
    const opened = run([meter(0, 240), meter(11, 251)], svc());
    const key = 'EQ-7|service-250h|250h@b0';
    expect(keys(opened.deliveries)).toEqual([key]);
    const after = run([feedback(11.5, key, 'in-progress'), feedback(12, key, 'completed', 252), meter(13, 253), meter(300, 499), meter(305, 503)], svc(), opened.doc);
    expect(keys(after.deliveries)).toEqual(['EQ-7|service-250h|502h@b252']);
    expect(after.state?.workOrders?.[key]).toMatchObject({ status: 'completed', erpWorkOrderId: 'WO-1', hoursAtCompletion: 252 });
    // The same completion polled again, or an older one, changes nothing.
    const again = run([feedback(12, key, 'completed', 252), feedback(11.8, key, 'completed', 251)], svc(), after.doc);
    expect(again.doc).toEqual(after.doc);
    // Feedback on another asset's work order (its key names EQ-8) changes nothing here.
    const other = run([feedback(14, 'EQ-8|service-250h|250h@b0', 'completed', 260)], svc(), after.doc);
    expect(other.doc).toEqual(after.doc);
  });

  it('a completion of a key whose occurrence is no due point the interval keys its work orders by resets nothing; a forgotten one of ours still counts', () => {
    const opened = run([meter(0, 240), meter(11, 251)], svc());
    // `garbage`, or a time (a threshold's form), is no work order this interval opened.
    for (const stray of ['EQ-7|service-250h|garbage', 'EQ-7|service-250h|2026-10-01T08:00:00.000Z', 'EQ-7|service-250h|250h@bx']) {
      const r = run([feedback(12, stray, 'completed', 252), meter(13, 253), meter(300, 499), meter(305, 503)], svc(), opened.doc);
      expect(r.state?.services?.['service-250h']).toEqual(run([meter(13, 253), meter(300, 499), meter(305, 503)], svc(), opened.doc).state?.services?.['service-250h']);
      expect(r.state?.workOrders?.[stray]).toBeUndefined();
      expect(r.state?.completed).toBeUndefined();
    }
    // One of ours the rule no longer remembers (forgotten, or state lost): re-learnt, and the baseline reset.
    const forgotten = run([feedback(12, 'EQ-7|service-250h|250h@b0', 'completed', 252), meter(13, 253), meter(300, 499), meter(305, 503)], svc());
    expect(keys(forgotten.deliveries)).toEqual(['EQ-7|service-250h|502h@b252']);
    expect(forgotten.state?.workOrders?.['EQ-7|service-250h|250h@b0']).toMatchObject({ status: 'completed', hoursAtCompletion: 252 });
  });

  it('an earlier service closed late in the ERP (less on the meter than the baseline in force) does not move the schedule back', () => {
    const opened = run([meter(0, 241), meter(24 * 30, 492)], svc());
    expect(keys(opened.deliveries)).toEqual(['EQ-7|service-250h|250h@b0']);
    // The 500 h service is completed at 498 h; a day later someone closes the 250 h work order, done at 245 h.
    const after = run([feedback(24 * 31, 'EQ-7|service-250h|500h@b0', 'completed', 498), feedback(24 * 32, 'EQ-7|service-250h|250h@b0', 'completed', 245), meter(24 * 33, 505)], svc(), opened.doc);
    expect(after.state?.services?.['service-250h']?.base).toBe(498);
    expect(keys(after.deliveries)).toEqual([]);
    // Its work order is still recorded as completed.
    expect(after.state?.workOrders?.['EQ-7|service-250h|250h@b0']).toMatchObject({ status: 'completed', hoursAtCompletion: 245 });
  });

  it('a cancellation does not override a completion, later or earlier, in either arrival order: the work order stays completed with the baseline it set', () => {
    const opened = run([meter(0, 240), meter(11, 251)], svc());
    const key = 'EQ-7|service-250h|250h@b0';
    for (const order of [
      // Cancelled (archived) in the ERP after the completion, pushed in order or late.
      [feedback(12, key, 'completed', 252), feedback(13, key, 'cancelled')],
      [feedback(13, key, 'cancelled'), feedback(12, key, 'completed', 252)],
      // In the same second.
      [feedback(12, key, 'completed', 252), feedback(12, key, 'cancelled')],
      [feedback(12, key, 'cancelled'), feedback(12, key, 'completed', 252)],
    ]) {
      const after = run([...order, meter(13.5, 253), meter(300, 499), meter(305, 503)], svc(), opened.doc);
      expect(after.state?.workOrders?.[key]).toMatchObject({ status: 'completed', hoursAtCompletion: 252, changedAt: T0 + 12 * HOUR });
      expect(after.state?.services?.['service-250h']?.base).toBe(252);
      expect(keys(after.deliveries)).toEqual(['EQ-7|service-250h|502h@b252']);
    }
    // A work order cancelled and later completed after all (reactivated in the ERP) is completed too.
    const reactivated = run([feedback(12, key, 'cancelled'), feedback(14, key, 'completed', 254)], svc(), opened.doc);
    expect(reactivated.state?.workOrders?.[key]).toMatchObject({ status: 'completed', hoursAtCompletion: 254 });
  });

  it("a fault's work order dates its meter snapshot by the readings in it, not by the fault (reported two days after the last reading)", () => {
    const opts = options({ thresholds: [], alerts: [{ name: 'faults', minSeverity: 'warning', cooldownMs: 24 * HOUR }], serviceIntervals: [service250, oil15k] });
    const fault: AlertEvent = { kind: 'alert', source: 'telematics', ids: [{ type: 'erp', value: asset.erpAssetId }], eventTime: T0 + 50 * HOUR, receivedAt: T0 + 50 * HOUR, severity: 'critical', reason: 'hydraulic pressure', code: 'HYD-1' };
    const [d, ...more] = run([odometer(1, 10_000), meter(2, 120), fault], opts).deliveries;
    expect(more).toEqual([]);
    expect(d?.payload).toMatchObject({
      detectedAt: '2026-10-03T10:00:00.000Z',
      sensorSnapshot: { at: '2026-10-01T10:00:00.000Z', values: { operatingHours: { value: 120, unit: 'h' }, odometerKm: { value: 10_000, unit: 'km' } } },
    });
    // With no reading before it, the snapshot is empty and dated by the fault.
    const [alone] = run([fault], opts).deliveries;
    expect(alone?.payload.sensorSnapshot).toEqual({ at: '2026-10-03T10:00:00.000Z', values: {} });
  });

  it('a fault episode keeps its work order completed when a cancellation comes after the completion, or before it with a later time', () => {
    const opts = options({ thresholds: [], alerts: [{ name: 'faults', minSeverity: 'warning', cooldownMs: 24 * HOUR, severity: 'warning' }], serviceIntervals: [] });
    const fault: AlertEvent = { kind: 'alert', source: 'telematics', ids: [{ type: 'erp', value: asset.erpAssetId }], eventTime: T0, receivedAt: T0, severity: 'critical', reason: 'hydraulic pressure', code: 'HYD-1' };
    const opened = run([fault], opts);
    const [key] = keys(opened.deliveries);
    expect(key).toBeDefined();
    const occurrence = parseWorkOrderKey(key as string)?.occurrence as string;
    const faultKey = occurrence.slice(0, occurrence.lastIndexOf('@'));
    for (const order of [
      [feedback(2, key as string, 'completed'), feedback(3, key as string, 'cancelled')],
      [feedback(3, key as string, 'cancelled'), feedback(2, key as string, 'completed')],
    ]) {
      const after = run(order, opts, opened.doc);
      expect(after.state?.workOrders?.[key as string]?.status).toBe('completed');
      expect(after.state?.alerts?.['faults']?.[faultKey]?.w?.[0]).toBe('completed');
    }
  });

  it('a completion stamped in the same second as "in progress" still completes, in either arrival order', () => {
    const opened = run([meter(0, 240), meter(11, 251)], svc());
    const key = 'EQ-7|service-250h|250h@b0';
    for (const order of [
      [feedback(12, key, 'in-progress'), feedback(12, key, 'completed', 252)],
      [feedback(12, key, 'completed', 252), feedback(12, key, 'in-progress')],
    ]) {
      const after = run([...order, feedback(12, key, 'completed', 252), meter(13, 253), meter(300, 499), meter(305, 503)], svc(), opened.doc);
      expect(after.state?.workOrders?.[key]).toMatchObject({ status: 'completed', hoursAtCompletion: 252 });
      expect(keys(after.deliveries)).toEqual(['EQ-7|service-250h|502h@b252']);
    }
  });

  it('without hours in the completion, uses the meter reading at the completion time', () => {
    const opened = run([meter(0, 240), meter(11, 251), meter(12, 252), meter(13, 253)], svc());
    const after = run([feedback(12.5, 'EQ-7|service-250h|250h@b0', 'completed')], svc(), opened.doc);
    expect(after.state?.services?.['service-250h']).toEqual({ base: 252.5, baseAt: T0 + 12.5 * HOUR });
  });

  it('a completion dated before the readings kept, without hours, is not counted at a later reading: flagged in status, and counted once recorded with the hours', () => {
    const key = 'EQ-7|service-250h|250h@b0';
    // Hourly readings from 240 h; the rule keeps the last twelve (hours 19 to 30).
    const opened = run(Array.from({ length: 31 }, (_, h) => meter(h, 240 + h * 0.9)), svc({ dueSoon: 10 }));
    expect(keys(opened.deliveries)).toEqual([key]);
    // The ERP reports it done at hour 1 (the meter then: 240.9 h), without the hours, a day late.
    const late = run([feedback(1, key, 'completed')], svc({ dueSoon: 10 }), opened.doc);
    expect(late.state?.services?.['service-250h']).toEqual(opened.state?.services?.['service-250h']);
    expect(late.state?.workOrders?.[key]).toMatchObject({ status: 'completed', uncounted: true });
    expect(late.state?.workOrders?.[key]?.hoursAtCompletion).toBeUndefined();
    const row = maintenanceStatus(asset, late.state, svc({ dueSoon: 10 }), { now: T0 + 31 * HOUR, marks: () => ({}) }).due[0];
    expect(row?.state).toBe(
      `ok; completion of ${key} at 2026-10-01T09:00:00.000Z not counted: no h reading at completion was reported, and the meter readings kept start 2026-10-02T03:00:00.000Z, after it; ` +
        `the schedule was not restarted: record the hour meter at the service with assetbridge maintenance complete '${key}' --hours <reading> --at 2026-10-01T09:00:00.000Z`,
    );
    // Recorded again with the hours (as maintenance complete --hours does): it counts, and the note goes.
    const fixed = run([feedback(1, key, 'completed', 240.9)], svc({ dueSoon: 10 }), late.doc);
    expect(fixed.state?.services?.['service-250h']).toMatchObject({ base: 240.9, baseAt: T0 + HOUR });
    expect(fixed.state?.workOrders?.[key]).toEqual({ status: 'completed', openedAt: T0, dueHours: 250, destination: 'erp', changedAt: T0 + HOUR, erpWorkOrderId: 'WO-1', hoursAtCompletion: 240.9 });
  });

  it('completion hours the meter cannot have shown (a typo: 2410 for 241) are not taken: the readings then count, and status says so', () => {
    const key = 'EQ-7|service-250h|250h@b0';
    const r = run([meter(0, 100), meter(141, 241), feedback(142, key, 'completed', 2410), meter(143, 242)], svc({ dueSoon: 10 }));
    expect(r.state?.services?.['service-250h']).toMatchObject({ base: 241 });
    const row = maintenanceStatus(asset, r.state, svc({ dueSoon: 10 }), { now: T0 + 143 * HOUR, marks: () => ({}) }).due[0];
    expect(row).toMatchObject({ baselineHours: 241, nextDueHours: 491 });
    expect(row?.state).toBe(
      `ok; completion of ${key} at 2026-10-07T06:00:00.000Z: 2410 h is more than the meter can have shown at 2026-10-07T06:00:00.000Z, at most 242.15 h: it read 241 h at 2026-10-07T05:00:00.000Z, and can advance 1 h per hour at most; counted at 241 h, from the readings then`,
    );
    // Within what the meter can have done since the latest reading, the ERP's hours count.
    const ok = run([meter(0, 100), meter(141, 241), feedback(142, key, 'completed', 242)], svc({ dueSoon: 10 }));
    expect(ok.state?.services?.['service-250h']).toMatchObject({ base: 242 });
    expect(ok.state?.workOrders?.[key]?.meterNote).toBeUndefined();
  });

  it('a late completion of an older due point opens no second work order for the service the open one of the old schedule stands for', () => {
    const o = svc({ dueSoon: 10 });
    // 250h@b0 stays open; the machine runs on and 500h@b0 opens too.
    const opened = run([meter(0, 0), meter(241, 241), meter(491, 491)], o);
    expect(keys(opened.deliveries)).toEqual(['EQ-7|service-250h|250h@b0', 'EQ-7|service-250h|500h@b0']);
    // The ERP reports 250h@b0 done at 255 h: the schedule counts from 255, next due 505 h, which 500h@b0 stands for.
    const late = run([feedback(492, 'EQ-7|service-250h|250h@b0', 'completed', 255), meter(493, 493), meter(500, 500)], o, opened.doc);
    expect(late.state?.services?.['service-250h']).toMatchObject({ base: 255 });
    expect(keys(late.deliveries)).toEqual([]);
    const status = maintenanceStatus(asset, late.state, o, { now: T0 + 500 * HOUR, marks: () => ({}) });
    expect(status.open.map((w) => w.businessKey)).toEqual(['EQ-7|service-250h|500h@b0']);
    expect(status.due[0]?.state).toBe('due soon, work order requested under the earlier schedule: EQ-7|service-250h|500h@b0 (this due point opens none while it is open)');
    // Completed: the schedule restarts there, and nothing is open twice.
    const done = run([feedback(501, 'EQ-7|service-250h|500h@b0', 'completed', 501), meter(502, 502)], o, late.doc);
    expect(done.state?.services?.['service-250h']).toMatchObject({ base: 501 });
    expect(keys(done.deliveries)).toEqual([]);
    // Cancelled instead (not done after all): the due point of the new schedule opens.
    const cancelled = run([feedback(501, 'EQ-7|service-250h|500h@b0', 'cancelled'), meter(502, 502)], o, late.doc);
    expect(keys(cancelled.deliveries)).toEqual(['EQ-7|service-250h|505h@b255']);
  });

  it('an everyHours lengthened while the work order for the due point is open opens no second one for the same service; cancelled, the new due point opens', () => {
    // 250h@b0 opened at 251 h, not done yet; the rule becomes every 300 h.
    const opened = run([meter(0, 240), meter(11, 251)], svc());
    expect(keys(opened.deliveries)).toEqual(['EQ-7|service-250h|250h@b0']);
    const longer = svc({ every: 300 });
    const after = run([meter(59, 299), meter(61, 301), meter(70, 310)], longer, opened.doc);
    expect(keys(after.deliveries)).toEqual([]);
    // Status: the open work order is what is due.
    expect(maintenanceStatus(asset, after.state, longer).due[0]).toMatchObject({ state: 'due, work order requested', nextDueHours: 250 });
    expect(maintenanceStatus(asset, after.state, longer).open.map((w) => w.businessKey)).toEqual(['EQ-7|service-250h|250h@b0']);
    // Cancelled (not done after all): the due point of the new interval opens at the next reading.
    const cancelled = run([feedback(71, 'EQ-7|service-250h|250h@b0', 'cancelled'), meter(72, 312)], longer, after.doc);
    expect(keys(cancelled.deliveries)).toEqual(['EQ-7|service-250h|300h@b0']);
    // Still open when the next service of the new interval comes due (600 h): that one opens.
    expect(keys(run([meter(360, 600)], longer, after.doc).deliveries)).toEqual(['EQ-7|service-250h|600h@b0']);
  });

  it('with every unchanged, an open work order never stands for the next due point of its baseline, also when the keys round the baseline (252.555 h)', () => {
    // Completed at 252.555 h: due points 502.555 and 752.555, keyed 502.56h@b252.56 and 752.56h@b252.56.
    const done = run([meter(0, 240), meter(11, 251), feedback(13, 'EQ-7|service-250h|250h@b0', 'completed', 252.555), meter(14, 253)], svc());
    expect(done.state?.services?.['service-250h']?.base).toBe(252.555);
    // The first stays open; the second is a service of its own and opens.
    const r = run([meter(263, 502.6), meter(513, 752.6)], svc(), done.doc);
    expect(keys(r.deliveries)).toEqual(['EQ-7|service-250h|502.56h@b252.56', 'EQ-7|service-250h|752.56h@b252.56']);
  });

  it('a work order the ERP reopens after its completion counted does not stand for the next due point: that one opens', () => {
    const o = svc({ dueSoon: 10 });
    const key = 'EQ-7|service-250h|250h@b0';
    // Opened due soon at 241 h, done early at 245 h: the schedule counts from 245, next due 495 h.
    const done = run([meter(0, 0), meter(241, 241), feedback(245, key, 'completed', 245), meter(246, 246)], o);
    expect(done.state?.services?.['service-250h']).toMatchObject({ base: 245 });
    // The ERP reopens it (a note added, a part booked): its completion stays counted.
    const reopened = run([feedback(247, key, 'open'), meter(486, 486)], o, done.doc);
    expect(reopened.state?.workOrders?.[key]?.status).toBe('open');
    expect(reopened.state?.services?.['service-250h']).toMatchObject({ base: 245 });
    expect(keys(reopened.deliveries)).toEqual(['EQ-7|service-250h|495h@b245']);
    expect(maintenanceStatus(asset, reopened.state, o, { now: T0 + 486 * HOUR, marks: () => ({}) }).due[0]?.state).toBe('due soon, work order requested');
  });

  it('a work order completed again after the ERP reopened it, without the meter, says nothing of a schedule not restarted: its first completion restarted it', () => {
    const o = svc({ dueSoon: 10 });
    const key = 'EQ-7|service-250h|250h@b0';
    const done = run([meter(0, 0), meter(241, 241), feedback(245, key, 'completed', 245), meter(246, 246)], o);
    // Reopened, and closed again days later without the meter (no reading kept from then): already counted at 245 h.
    const later = Array.from({ length: 13 }, (_, i) => meter(300 + i, 300 + i));
    const again = run([feedback(247, key, 'open'), ...later, feedback(290, key, 'completed')], o, done.doc);
    expect(again.state?.services?.['service-250h']).toMatchObject({ base: 245 });
    expect(again.state?.workOrders?.[key]).toMatchObject({ status: 'completed' });
    expect(again.state?.workOrders?.[key]?.uncounted).toBeUndefined();
    expect(again.state?.workOrders?.[key]?.meterNote).toBeUndefined();
    expect(maintenanceStatus(asset, again.state, o, { now: T0 + 312 * HOUR, marks: () => ({}) }).due[0]?.state).toBe('ok');
  });

  it('a declared meter reset continues the schedule; an undeclared drop is set aside', () => {
    const withReset = run([meter(0, 240), meter(5, 245), meter(6, 3, true), meter(20, 10)], svc()).deliveries;
    // 245 + (10 - 3) = 252 continuous hours: the 250 h service is due.
    expect(keys(withReset)).toEqual(['EQ-7|service-250h|250h@b0']);
    const dropped = run([meter(0, 240), meter(5, 245), meter(6, 3), meter(20, 10)], svc());
    expect(dropped.deliveries).toEqual([]);
    expect(dropped.state?.meterIssue).toMatch(/went backwards from 245 .* to 10 /);
  });

  it("a completion dated before a meter replacement counts at the hours of that time, not the old meter's reading shifted by the new meter's offset", () => {
    // The 250 h service is done at 20:00 (old meter 252); the meter is replaced at 22:00 and reads 0, then 2.
    const opened = run([meter(0, 240), meter(11, 251), meter(12, 252), meter(14, 0, true), meter(16, 2)], svc());
    expect(keys(opened.deliveries)).toEqual(['EQ-7|service-250h|250h@b0']);
    const after = run([feedback(12, 'EQ-7|service-250h|250h@b0', 'completed', 252)], svc(), opened.doc);
    // Continuous hours at 20:00 were 252 (the new meter's offset would have made it 252 + 252 = 504).
    expect(after.state?.services?.['service-250h']?.base).toBeCloseTo(252, 6);
    // Dated after the replacement, the reading is the new meter's and is converted.
    const later = run([feedback(17, 'EQ-7|service-250h|250h@b0', 'completed', 3)], svc(), opened.doc);
    expect(later.state?.services?.['service-250h']?.base).toBeCloseTo(255, 6);
  });

  it('a completed work order the ERP reports again after its record was forgotten (keepClosed) does not restart the schedule', () => {
    const keep1 = options({ serviceIntervals: [service250], keepClosed: 1 });
    const key = 'EQ-7|service-250h|250h@b0';
    const done = run([meter(0, 240), meter(11, 251), feedback(12, key, 'completed', 252)], keep1);
    // A threshold work order completed later pushes the service's record out (one closed kept).
    const hot = 'EQ-7|engine-overheat|2026-10-01T20:00:00.000Z';
    const pruned = run([...temps([[720, 99], [726, 99], [730, 80]]), feedback(13, hot, 'completed'), meter(200, 400)], keep1, done.doc);
    expect(Object.keys(pruned.state?.workOrders ?? {})).toEqual([hot]);
    expect(pruned.state?.services?.['service-250h']).toMatchObject({ base: 252 });
    // Edited in the ERP weeks later (no hours on the record, or the meter then): the schedule stays at 252 h, 502 h stays due.
    for (const again of [feedback(201, key, 'completed'), feedback(201, key, 'completed', 400)]) {
      const r = run([again, meter(390, 503)], keep1, pruned.doc);
      expect(r.state?.services?.['service-250h']).toMatchObject({ base: 252, baseAt: T0 + 12 * HOUR });
      expect(keys(r.deliveries)).toEqual(['EQ-7|service-250h|502h@b252']);
    }
    // A later work order of the old baseline (500h@b0, opened before 250h@b0 was completed late) still counts.
    const both = run([meter(0, 240), meter(11, 251), meter(300, 501), feedback(301, key, 'completed', 255), feedback(302, 'EQ-7|service-250h|500h@b0', 'completed', 502)], svc());
    expect(both.state?.services?.['service-250h']).toMatchObject({ base: 502 });
  });

  it('a calendar interval completion the ERP reports again after its record was forgotten keeps the baseline day', () => {
    const annual = { name: 'annual', everyDays: 365, dueSoonDays: 30, baselineAttribute: 'lastServiceDate', severity: 'warning' as const };
    const keep1 = options({ serviceIntervals: [], calendarIntervals: [annual], keepClosed: 1 });
    const key = 'EQ-7|annual|2026-10-01@b2025-10-01';
    const done = run([feedback(0, key, 'completed')], keep1);
    const hot = 'EQ-7|engine-overheat|2026-10-01T10:00:00.000Z';
    const pruned = run([...temps([[120, 99], [126, 99], [130, 80]]), feedback(3, hot, 'completed')], keep1, done.doc);
    expect(Object.keys(pruned.state?.workOrders ?? {})).toEqual([hot]);
    const again = run([feedback(24 * 200, key, 'completed')], keep1, pruned.doc);
    expect(again.state?.calendars?.annual).toEqual({ base: Date.UTC(2026, 9, 1), baseAt: T0 });
  });
});

describe('service intervals: a spike after a live idle stretch is held until the next reading tells it from a frozen feed catching up', () => {
  const svc = options({ thresholds: [], serviceIntervals: [service250] });
  // 240 h live for 100 h (the machine idle), then 260 h an hour later, past the 250 h service:
  // possible since the meter first showed 240 (101 h), not since it last showed it (1 h).
  const idle = [meter(0, 240), meter(100, 240), meter(101, 260)];
  // The same readings without the idle repeat: 260 h is possible since 240 was last shown, taken at once.
  const live = [meter(0, 240), meter(101, 260)];

  it('opens nothing for it: it is held (in the hour counter’s hygiene), and maintenance status says why', () => {
    const r = run(idle, svc);
    expect(r.deliveries).toEqual([]);
    expect(r.state?.hours?.hygiene).toMatchObject({ jump: { value: 260, eventTime: T0 + 101 * HOUR }, jumpHeld: true });
    expect(r.state?.meterIssue).toMatch(/advanced 20 h in 1 h since it last showed 240 .*held until the next reading/);
    expect(latestHours(r.state)).toEqual([T0 + 100 * HOUR, 240]);
    const row = maintenanceStatus(asset, r.state, svc, { now: T0 + 101 * HOUR, marks: () => ({}) }).due.find((d) => d.rule === 'service-250h');
    // Held, not set aside (yet): the next reading decides.
    expect(row?.state).toMatch(/^ok; latest reading held, awaiting the next reading: 2026-10-05T13:00:00.000Z: meter advanced 20 h .*held until the next reading/);
    // A reading set aside while it is held (gone backwards) is said as set aside.
    const between = run([...idle, meter(101.5, 230)], svc);
    expect(between.state?.hours?.hygiene.jumpHeld).toBe(true);
    const status = (st: typeof r.state) => maintenanceStatus(asset, st, svc, { now: T0 + 102 * HOUR, marks: () => ({}) }).due.find((d) => d.rule === 'service-250h')?.state;
    expect(status(between.state)).toMatch(/^ok; latest reading set aside: 2026-10-05T13:30:00.000Z: meter went backwards/);
    // Refuted by the next reading: set aside.
    expect(status(run([...idle, meter(102, 240)], svc).state)).toMatch(/^ok; latest reading set aside: 2026-10-05T14:00:00.000Z: reading 260 at .* set aside: the next reading, 240/);
  });

  it('a next reading not continuing from it sets it aside: no work order, the readings after it counted on from 240 h, not as going backwards', () => {
    const r = run([...idle, meter(102, 240)], svc);
    expect(r.deliveries).toEqual([]);
    expect(r.state?.meterIssue).toMatch(/reading 260 at .*, held .* set aside: the next reading, 240 at .* does not continue from it/);
    const on = run([...idle, meter(102, 240), meter(103, 240.9), meter(104, 241.8)], svc);
    expect(on.deliveries).toEqual([]);
    expect(on.state?.meterIssue).toBeUndefined();
    expect(on.state?.hours).toMatchObject({ total: 241.8, hygiene: { last: { value: 241.8 } } });
    // The service opens when the meter really gets there.
    expect(keys(run([...idle, meter(102, 240), meter(112, 250)], svc).deliveries)).toEqual(['EQ-7|service-250h|250h@b0']);
  });

  it('a next reading continuing from it confirms it: the work order opens then, as it would have at once (the held reading’s time and meter, the same key)', () => {
    const atOnce = run([...live, meter(102, 261)], svc);
    expect(keys(atOnce.deliveries)).toEqual(['EQ-7|service-250h|250h@b0']);
    expect(atOnce.deliveries[0]).toMatchObject({ eventTime: T0 + 101 * HOUR, payload: { trigger: { readingHours: 260, dueAtHours: 250 } } });
    const confirmed = run([...idle, meter(102, 261)], svc);
    expect(confirmed.deliveries).toEqual(atOnce.deliveries);
    expect(confirmed.state?.meterIssue).toBeUndefined();
    expect(confirmed.state?.history?.slice(-2)).toEqual([[T0 + 101 * HOUR, 260], [T0 + 102 * HOUR, 261]]);
    // Confirmed by the same value later (the machine stopped after catching up): the same work order.
    expect(run([...idle, meter(150, 260)], svc).deliveries).toEqual(atOnce.deliveries);
    // A backwards reading between leaves it held; the next one decides.
    expect(run([...idle, meter(101.5, 230), meter(102, 261)], svc).deliveries).toEqual(atOnce.deliveries);
  });

  it('a completion after the held reading, arriving before the reading that confirms it, is applied after the held reading (event time wins)', () => {
    const key = 'EQ-7|service-250h|250h@b0';
    // The service done at 101.5 h (the meter at 260): in event-time order the held reading (101 h)
    // opened its work order and the completion then restarted the schedule at 260 h.
    const done = feedback(101.5, key, 'completed', 260);
    const atOnce = run([...live, done, meter(102, 261)], svc);
    expect(keys(atOnce.deliveries)).toEqual([key]);
    expect(atOnce.state?.services?.['service-250h']).toMatchObject({ base: 260, baseAt: T0 + 101.5 * HOUR });
    const held = run([...idle, done, meter(102, 261)], svc);
    expect(held.deliveries).toEqual(atOnce.deliveries);
    expect(held.state?.services).toEqual(atOnce.state?.services);
    expect(held.state?.workOrders).toEqual(atOnce.state?.workOrders);
    expect(held.state?.completed).toEqual(atOnce.state?.completed);
    // Until then it waits with the held reading (not lost, not applied against the meter without it).
    const waiting = run([...idle, done], svc);
    expect(waiting.state?.workOrders).toBeUndefined();
    // And maintenance status says so, and what it waits for.
    const row = maintenanceStatus(asset, waiting.state, svc, { now: T0 + 102 * HOUR, marks: () => ({}) }).due.find((d) => d.rule === 'service-250h');
    expect(row?.state).toContain(
      `; ERP completion of ${key} at 2026-10-05T13:30:00.000Z not applied yet: waits for the hour-meter reading of 2026-10-05T13:00:00.000Z held as a possible catch-up, until the asset's next reading confirms it or sets it aside`,
    );
    // Without its meter (the readings tell it): the same.
    const bare = feedback(101.5, key, 'completed');
    expect(run([...idle, bare, meter(102, 261)], svc).state?.services).toEqual(run([...live, bare, meter(102, 261)], svc).state?.services);
    // The held reading set aside instead: the completion is applied before the reading that set it aside, as in order.
    const refuted = run([...idle, done, meter(102, 240)], svc);
    expect(refuted.deliveries).toEqual([]);
    expect(refuted.state?.workOrders?.[key]).toMatchObject({ status: 'completed', changedAt: T0 + 101.5 * HOUR });
    // A completion older than the held reading is applied at once.
    expect(run([...idle, feedback(100.5, key, 'completed', 240)], svc).state?.workOrders?.[key]).toMatchObject({ status: 'completed' });
  });

  it('the same work order under replay, reordering within the lateness and any batching', () => {
    const late = options({ thresholds: [], serviceIntervals: [service250], allowedLatenessMs: 2 * HOUR });
    const inOrder = [...idle, meter(102, 261), meter(105, 263)];
    const expected = run(inOrder, late).deliveries;
    expect(keys(expected)).toEqual(['EQ-7|service-250h|250h@b0']);
    const reordered = [meter(0, 240), meter(100, 240), meter(102, 261), meter(101, 260), meter(105, 263)];
    const replayed = [meter(0, 240), meter(100, 240), meter(101, 260), meter(101, 260), meter(102, 261), meter(101, 260), meter(102, 261), meter(105, 263)];
    for (const events of [inOrder, reordered, replayed]) {
      expect(run(events, late).deliveries).toEqual(expected);
      expect(run(events, late, undefined, [1, 3, 2, 5]).deliveries).toEqual(expected);
    }
    // And nothing for the spike, however it arrives.
    const spike = [meter(0, 240), meter(100, 240), meter(102, 240.5), meter(101, 260), meter(101, 260), meter(105, 243)];
    expect(run(spike, late).deliveries).toEqual([]);
    expect(run(spike, late, undefined, [2, 4]).deliveries).toEqual([]);
  });

  it('the odometer the same: a parked vehicle’s jump is held, then set aside or confirmed', () => {
    const km = options({ thresholds: [], serviceIntervals: [oil15k] });
    // 600 km in an hour after 100 h parked at 14 900 km: possible since 14 900 was first shown, not since it was last.
    const parked = [odometer(0, 14_900), odometer(100, 14_900), odometer(101, 15_500)];
    expect(run(parked, km).deliveries).toEqual([]);
    expect(run(parked, km).state?.odometerIssue).toMatch(/held until the next reading/);
    expect(run([...parked, odometer(102, 14_950)], km).deliveries).toEqual([]);
    const confirmed = run([...parked, odometer(102, 15_550)], km).deliveries;
    expect(keys(confirmed)).toEqual(['EQ-7|oil-15000km|15000km@b0']);
    expect(confirmed[0]).toMatchObject({ eventTime: T0 + 101 * HOUR, payload: { trigger: { readingKm: 15_500 } } });
  });
});

describe('service intervals: a later baseline attribute (a service done outside the ERP loop)', () => {
  const svc = options({ thresholds: [], serviceIntervals: [{ ...service250, baselineAttribute: 'lastServiceHours' }] });
  const at = (lastServiceHours: string | undefined): AssetRecord => ({ ...asset, attributes: { site: 'BER', ...(lastServiceHours !== undefined ? { lastServiceHours } : {}) } });
  /** Each event with the asset as the registry had it then. */
  function runAs(steps: readonly (readonly [AssetRecord, CanonicalEvent])[], opts = svc, initial?: StateDoc) {
    const rule = createMaintenanceRule(opts);
    const r = simulateRules([rule], steps.map(([a, event]) => ({ event, asset: a, destination: 'erp' })), initial ? { initial: new Map([[asset.erpAssetId, initial]]) } : {});
    const doc = r.states.get(asset.erpAssetId) ?? {};
    return { deliveries: r.perStep.flat(), doc, state: doc.maintenance as MaintenanceState | undefined };
  }
  const serviceRow = (a: AssetRecord, state: MaintenanceState | undefined, opts = svc) => maintenanceStatus(a, state, opts, { now: T0, marks: () => ({}) }).due.find((d) => d.type === 'service');

  it('restarts the schedule from the attribute when it is a later service than the baseline in force', () => {
    // Serviced at 340 h outside the ERP loop: the 350 h service is not due, the next one is at 590 h.
    const r = runAs([[at('100'), meter(0, 320)], [at('100'), meter(1, 321)], [at('340'), meter(30, 351)], [at('340'), meter(268, 589)], [at('340'), meter(270, 591)]]);
    expect(keys(r.deliveries)).toEqual(['EQ-7|service-250h|590h@b340']);
    expect(r.deliveries[0]?.payload.trigger).toMatchObject({ baselineHours: 340, dueAtHours: 590 });
  });

  it('status shows the baseline in use as soon as the attribute changes, before the next reading', () => {
    const r = runAs([[at('100'), meter(0, 320)]]);
    expect(serviceRow(at('100'), r.state)).toMatchObject({ state: 'ok', hours: 320, baselineHours: 100, nextDueHours: 350, remainingHours: 30 });
    expect(serviceRow(at('340'), r.state)).toMatchObject({ state: 'ok', hours: 320, baselineHours: 340, nextDueHours: 590, remainingHours: 270 });
  });

  it('a lower attribute never moves the baseline back, nor does one equal to it as keys show it', () => {
    const completed = runAs([[at('100'), meter(0, 349)], [at('100'), meter(2, 351)], [at('100'), feedback(3, 'EQ-7|service-250h|350h@b100', 'completed', 352)]]);
    expect(completed.state?.services?.['service-250h']).toEqual({ base: 352, baseAt: T0 + 3 * HOUR });
    // The registry still says 100, or was corrected to a service before the last one.
    const r = runAs([[at('100'), meter(250, 601)], [at('300'), meter(252, 603)], [at('352.001'), meter(253, 604)]], svc, completed.doc);
    expect(keys(r.deliveries)).toEqual(['EQ-7|service-250h|602h@b352']);
    expect(serviceRow(at('300'), r.state)).toMatchObject({ baselineHours: 352 });
    // The default baseline (first reading) is not moved back by an attribute added later either.
    const first = options({ thresholds: [], serviceIntervals: [{ ...service250, baselineAttribute: 'lastServiceHours', defaultBaseline: 'first-reading' }] });
    const f = runAs([[at(undefined), meter(0, 120)], [at('50'), meter(250, 369)], [at('50'), meter(252, 371)]], first);
    expect(keys(f.deliveries)).toEqual(['EQ-7|service-250h|370h@b120']);
  });

  it('a work order opened for the old schedule is not opened again, by later readings, its completion or a replay', () => {
    const old = 'EQ-7|service-250h|350h@b100';
    const steps: [AssetRecord, CanonicalEvent][] = [
      [at('100'), meter(0, 349)],
      [at('100'), meter(2, 351)], // opens the 350 h service
      [at('352'), meter(3, 352.5)], // done outside the loop at 352 h; the ERP's work order stays open
      [at('352'), meter(250, 600)],
      [at('352'), meter(252, 602.5)], // the new schedule's first service
      [at('352'), meter(253, 603)],
    ];
    const r = runAs(steps);
    expect(keys(r.deliveries)).toEqual([old, 'EQ-7|service-250h|602h@b352']);
    // The old work order is still listed as open (cancel it in the ERP); the due row follows the new schedule.
    const status = maintenanceStatus(at('352'), r.state, svc, { now: T0 + 253 * HOUR, marks: () => ({}) });
    expect(status.open.map((w) => w.businessKey)).toEqual([old, 'EQ-7|service-250h|602h@b352']);
    expect(status.due[0]).toMatchObject({ state: 'due, work order requested', baselineHours: 352, nextDueHours: 602 });
    // The ERP completes the old work order late, with the hours of that service: the schedule stays.
    const done = runAs([[at('352'), feedback(254, old, 'completed', 352)], [at('352'), meter(254, 604)]], svc, r.doc);
    expect(done.deliveries).toEqual([]);
    expect(done.state?.services?.['service-250h']).toMatchObject({ base: 352, firedDue: 602 });
    // A replay over the state, in any order, and a replay from scratch with today's registry add no duplicate.
    expect(runAs([...steps].reverse(), svc, r.doc).deliveries).toEqual([]);
    const fresh = runAs(steps.map(([, e]) => [at('352'), e] as const));
    expect(keys(fresh.deliveries)).toEqual(['EQ-7|service-250h|602h@b352']);
    expect(runAs(steps, svc, fresh.doc).deliveries).toEqual([]);
  });

  it('a completion reported after the attribute moved the baseline counts when it is the later service', () => {
    const moved = runAs([[at('100'), meter(0, 320)], [at('340'), meter(1, 321)]]);
    const key = 'EQ-7|service-250h|590h@b340';
    const opened = runAs([[at('340'), meter(268, 589)], [at('340'), meter(270, 591)]], svc, moved.doc);
    expect(keys(opened.deliveries)).toEqual([key]);
    const done = runAs([[at('340'), feedback(271, key, 'completed', 592)]], svc, opened.doc);
    expect(done.state?.services?.['service-250h']).toEqual({ base: 592, baseAt: T0 + 271 * HOUR });
    // Completed with hours below the attribute (a typo in the ERP): the attribute's service is the later one.
    const typo = runAs([[at('600'), feedback(271, key, 'completed', 59.2)], [at('600'), meter(272, 592)]], svc, opened.doc);
    expect(typo.state?.services?.['service-250h']).toEqual({ base: 600, baseAt: T0 + 271 * HOUR });
    expect(serviceRow(at('600'), typo.state)).toMatchObject({ baselineHours: 600, nextDueHours: 850 });
  });

  it('property: registry changes at any point never ask for a work order twice; a replay adds nothing', () => {
    const dueSoon = options({ thresholds: [], serviceIntervals: [{ ...service250, baselineAttribute: 'lastServiceHours', dueSoon: 20 }] });
    fc.assert(
      fc.property(
        fc.array(fc.record({ dh: fc.double({ min: 0, max: 0.9, noNaN: true }), attr: fc.option(fc.integer({ min: 0, max: 2000 }), { freq: 8 }) }), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 0, max: 1500 }),
        (specs, start) => {
          let hours = start;
          let attr: string | undefined;
          const steps = specs.map((x, i) => {
            hours += x.dh * 10; // up to 9 h of use in each 10 h
            if (x.attr !== null) attr = String(x.attr);
            return [at(attr), meter(i * 10, hours)] as const;
          });
          const r = runAs(steps, dueSoon);
          const ks = keys(r.deliveries);
          expect(new Set(ks).size).toBe(ks.length);
          // Every work order counts from a baseline no lower than the one before it.
          const bases = ks.map((k) => Number(k.split('@b')[1]));
          expect([...bases].sort((x, y) => x - y)).toEqual(bases);
          expect(runAs(steps, dueSoon, r.doc).deliveries).toEqual([]);
          expect(runAs([...steps].reverse(), dueSoon, r.doc).deliveries).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the odometer’s baseline attribute counts the same way', () => {
    const truck = (lastServiceKm: string): AssetRecord => ({ ...asset, attributes: { site: 'BER', lastServiceKm } });
    const km = options({ thresholds: [], serviceIntervals: [oil15k] });
    const r = runAs([[truck('15000'), odometer(0, 29_500)], [truck('29600'), odometer(2, 29_660)], [truck('29600'), odometer(4, 30_050)]], km);
    expect(r.deliveries).toEqual([]);
    expect(serviceRow(truck('29600'), r.state, km)).toMatchObject({ km: 30_050, baselineKm: 29_600, nextDueKm: 44_600 });
  });
});

describe('service intervals on the odometer', () => {
  const truck: AssetRecord = { ...asset, erpAssetId: 'TRUCK-7', attributes: { site: 'BER', lastServiceKm: '15000' } };
  const km = (over: Partial<MaintenanceOptions> = {}) => options({ thresholds: [], serviceIntervals: [oil15k], ...over });
  function drive(events: readonly CanonicalEvent[], opts = km(), initial?: StateDoc) {
    const rule = createMaintenanceRule(opts);
    const r = simulateRules([rule], events.map((event) => ({ event, asset: truck, destination: 'erp' })), initial ? { initial: new Map([[truck.erpAssetId, initial]]) } : {});
    const doc = r.states.get(truck.erpAssetId) ?? {};
    return { deliveries: r.perStep.flat(), doc, state: doc.maintenance as MaintenanceState | undefined };
  }

  it('opens one work order per due point in km, from the asset’s last service km', () => {
    // 80 km/h on the road: 29,900 km at hour 0, 30,060 two hours later.
    const r = drive([odometer(0, 29_900), odometer(1, 29_980), odometer(2, 30_060), odometer(3, 30_140)]);
    expect(keys(r.deliveries)).toEqual(['TRUCK-7|oil-15000km|30000km@b15000']);
    expect(r.deliveries[0]?.payload).toMatchObject({
      title: 'oil-15000km: 30000 km service',
      trigger: { type: 'service-interval', meter: 'odometerKm', everyKm: 15_000, baselineKm: 15_000, dueAtKm: 30_000, readingKm: 30_060, dueSoon: false },
      sensorSnapshot: { values: { odometerKm: { value: 30_060, unit: 'km' } } },
    });
    expect(r.deliveries[0]?.payload.description).toMatch(/^service every 15000 km due: due at 30000 km, odometer at 30060 km/);
  });

  it('a replaced odometer (odometerReset) continues the km count; undeclared, its readings are set aside', () => {
    const replaced = (at: number, km: number): MeterEvent => ({ ...odometer(at, km), odometerReset: true });
    // 29,900 km on the old odometer, a new one from 0: 100 km more reaches 30,000.
    const declared = drive([odometer(0, 29_900), replaced(1, 0), odometer(2, 60), odometer(3, 140)]);
    expect(keys(declared.deliveries)).toEqual(['TRUCK-7|oil-15000km|30000km@b15000']);
    expect(declared.deliveries[0]?.payload.trigger).toMatchObject({ readingKm: 30_040 });
    const undeclared = drive([odometer(0, 29_900), odometer(1, 0), odometer(2, 60), odometer(3, 140)]);
    expect(undeclared.deliveries).toEqual([]);
    expect(undeclared.state?.odometerIssue).toMatch(/went backwards/);
  });

  it('counts hours and km side by side from one meter event; a bad odometer reading does not hold up the hours', () => {
    const both = km({ serviceIntervals: [oil15k, service250] });
    // The odometer jumps 5,000 km in an hour (a swapped unit, a glitch): set aside, flagged.
    const r = drive([odometer(0, 29_900, 240), odometer(1, 34_900, 241), odometer(10, 29_990, 250.2), odometer(11, 30_070, 251)], both);
    expect(keys(r.deliveries)).toEqual(['TRUCK-7|service-250h|250h@b0', 'TRUCK-7|oil-15000km|30000km@b15000']);
    expect(r.deliveries[1]?.payload.trigger).toMatchObject({ readingKm: 30_070 });
    const flagged = drive([odometer(0, 29_900, 240), odometer(1, 34_900, 241)], both);
    expect(flagged.state?.odometerIssue).toMatch(/34900/);
    expect(flagged.state?.meterIssue).toBeUndefined();
    expect(latestHours(flagged.state)).toEqual([T0 + HOUR, 241]);
    expect(latestKm(flagged.state)).toEqual([T0, 29_900]);
  });

  it('completion resets the km baseline (reported km, else the odometer at that time) and leaves the hours alone', () => {
    const both = km({ serviceIntervals: [oil15k, service250] });
    const opened = drive([odometer(0, 29_900, 240), odometer(2, 30_060, 242), odometer(4, 30_220, 244)], both);
    const key = 'TRUCK-7|oil-15000km|30000km@b15000';
    expect(keys(opened.deliveries)).toEqual([key]);
    const reported = drive([{ ...feedback(5, key, 'completed'), odometerKmAtCompletion: 30_250 }], both, opened.doc);
    expect(reported.state?.services?.['oil-15000km']).toEqual({ base: 30_250, baseAt: T0 + 5 * HOUR });
    expect(reported.state?.services?.['service-250h']).toEqual(opened.state?.services?.['service-250h']);
    expect(reported.state?.workOrders?.[key]).toMatchObject({ status: 'completed', kmAtCompletion: 30_250, hoursAtCompletion: 244 });
    const interpolated = drive([feedback(3, key, 'completed')], both, opened.doc);
    expect(interpolated.state?.services?.['oil-15000km']).toEqual({ base: 30_140, baseAt: T0 + 3 * HOUR });
    // The next one counts from the completion.
    const next = drive([odometer(200, 45_100, 400), odometer(202, 45_260, 402)], both, reported.doc);
    expect(keys(next.deliveries)).toEqual(['TRUCK-7|service-250h|250h@b0', 'TRUCK-7|oil-15000km|45250km@b30250']);
  });

  it('the same readings in any arrival order within the allowed lateness give the same work orders', () => {
    const late = km({ allowedLatenessMs: 3 * HOUR });
    const events = [odometer(0, 29_900), odometer(1, 29_980), odometer(2, 30_060), odometer(3, 30_140), odometer(4, 30_220)];
    const inOrder = drive(events, late);
    fc.assert(
      fc.property(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), (shuffled) => {
        const r = drive(shuffled, late);
        const rule = createMaintenanceRule(late);
        const f = flushRules([rule], new Map([[truck.erpAssetId, r.doc]]), new Map([[truck.erpAssetId, { asset: truck, destination: 'erp' }]]), 0);
        const g = flushRules([rule], new Map([[truck.erpAssetId, inOrder.doc]]), new Map([[truck.erpAssetId, { asset: truck, destination: 'erp' }]]), 0);
        expect(keys([...r.deliveries, ...f.deliveries]).sort()).toEqual(keys([...inOrder.deliveries, ...g.deliveries]).sort());
      }),
      { numRuns: 50 },
    );
  });
});

describe('maintenance windows', () => {
  const sat = { timeZone: 'Europe/Berlin', windows: [{ days: [6], startMinute: 22 * 60, durationMinutes: 8 * 60 }] };
  it('finds the next window, or the one in progress, across midnight and DST', () => {
    // Saturday 2026-10-24 22:00 CEST → Sunday 06:00 CET (DST ends that night): 20:00Z → 05:00Z.
    expect(nextWindow(sat, Date.UTC(2026, 9, 20))).toEqual({ start: Date.UTC(2026, 9, 24, 20), end: Date.UTC(2026, 9, 25, 5) });
    const inside = Date.UTC(2026, 9, 24, 23);
    expect(nextWindow(sat, inside)).toEqual({ start: inside, end: Date.UTC(2026, 9, 25, 5) });
    // With less than half of it left (4 of 9 hours), the next Saturday's (CET: 21:00Z → 05:00Z).
    expect(nextWindow(sat, Date.UTC(2026, 9, 25, 1))).toEqual({ start: Date.UTC(2026, 9, 31, 21), end: Date.UTC(2026, 10, 1, 5) });
    expect(nextWindow({ timeZone: 'UTC', windows: [] }, inside)).toBeUndefined();
  });

  it('a window the spring DST change skips entirely is no window that day: never a planned end before its start', () => {
    // Sundays 02:30–03:00 Berlin: on 2026-03-29 the clocks jump from 02:00 to 03:00, so that window does not happen.
    const night = { timeZone: 'Europe/Berlin', windows: [{ days: [0], startMinute: 150, durationMinutes: 30 }] };
    expect(nextWindow(night, Date.UTC(2026, 2, 28))).toEqual({ start: Date.UTC(2026, 3, 5, 0, 30), end: Date.UTC(2026, 3, 5, 1) });
    // 02:00–03:00 would be empty too; 02:30–04:00 keeps what is left of it, ending at 04:00 CEST.
    expect(nextWindow({ ...night, windows: [{ days: [0], startMinute: 120, durationMinutes: 60 }] }, Date.UTC(2026, 2, 28))).toEqual({ start: Date.UTC(2026, 3, 5, 0), end: Date.UTC(2026, 3, 5, 1) });
    const longer = nextWindow({ ...night, windows: [{ days: [0], startMinute: 150, durationMinutes: 90 }] }, Date.UTC(2026, 2, 28));
    expect(longer?.end).toBe(Date.UTC(2026, 2, 29, 2));
    expect((longer?.start ?? Infinity) < (longer?.end ?? 0)).toBe(true);
  });

  it('skips windows that start on closed days, in the calendar’s time zone, through a long shutdown', () => {
    // Saturday 2026-12-26 is closed: the next window is Saturday 2027-01-02 (CET: 22:00 = 21:00Z).
    const holidays = { ...sat, closed: [{ from: '2026-12-24', to: '2026-12-26' }] };
    expect(nextWindow(holidays, Date.UTC(2026, 11, 21))).toEqual({ start: Date.UTC(2027, 0, 2, 21), end: Date.UTC(2027, 0, 3, 5) });
    // A closed day is local: Friday 23:30Z is already Saturday in Berlin, and that Saturday is closed.
    const fridayNight = { timeZone: 'Europe/Berlin', windows: [{ days: [6], startMinute: 30, durationMinutes: 60 }], closed: [{ from: '2026-12-26', to: '2026-12-26' }] };
    expect(nextWindow(fridayNight, Date.UTC(2026, 11, 25, 12))).toEqual({ start: Date.UTC(2027, 0, 1, 23, 30), end: Date.UTC(2027, 0, 2, 0, 30) });
    // A six-week shutdown, further than the usual two-week look-ahead.
    const shutdown = { ...sat, closed: [{ from: '2026-07-01', to: '2026-08-12' }] };
    expect(nextWindow(shutdown, Date.UTC(2026, 6, 1))).toEqual({ start: Date.UTC(2026, 7, 15, 20), end: Date.UTC(2026, 7, 16, 4) });
    // Everything closed: no planned date rather than a wrong one.
    expect(nextWindow({ ...sat, closed: [{ from: '2026-01-01', to: '2028-12-31' }] }, Date.UTC(2026, 6, 1))).toBeUndefined();
  });

  it('a site written as {slots, closed} without its own timeZone keeps the windows\' timeZone (not UTC)', () => {
    const w =
      rulesSchema.parse({
        maintenance: { windows: { timeZone: 'Europe/Berlin', default: [{ days: ['sat'], from: '06:00', to: '14:00' }], sites: { MUC: { slots: [{ days: ['wed'], from: '06:00', to: '10:00' }], closed: ['2026-11-04'] } } } },
      }).maintenance?.windows ?? {};
    expect(w.MUC?.timeZone).toBe('Europe/Berlin');
    // Wednesday 2026-11-04 is closed: the next Wednesday, 06:00 in Berlin (05:00 UTC).
    expect(nextWindow(w.MUC!, Date.parse('2026-11-02T12:00:00Z'))?.start).toBe(Date.parse('2026-11-11T05:00:00Z'));
  });

  it('takes closed days from the config, for all sites and per site, and says what is wrong with one', () => {
    const parsed = rulesSchema.parse({
      maintenance: {
        windows: {
          timeZone: 'Europe/Berlin',
          default: [{ days: ['sat'], from: '22:00', to: '06:00' }],
          closed: ['2026-12-25', { from: '2026-12-31', to: '2027-01-01' }],
          sites: { ROT: { timeZone: 'Europe/Amsterdam', slots: [{ days: ['sat'], from: '06:00', to: '14:00' }], closed: ['2026-12-05'] }, HAM: [{ days: ['sun'], from: '06:00', to: '10:00' }] },
        },
      },
    });
    const w = parsed.maintenance?.windows ?? {};
    expect(w['*']?.closed).toEqual([{ from: '2026-12-25', to: '2026-12-25' }, { from: '2026-12-31', to: '2027-01-01' }]);
    expect(w.ROT?.closed).toEqual([{ from: '2026-12-25', to: '2026-12-25' }, { from: '2026-12-31', to: '2027-01-01' }, { from: '2026-12-05', to: '2026-12-05' }]);
    expect(w.HAM?.closed).toEqual(w['*']?.closed);
    const bad = rulesSchema.safeParse({ maintenance: { windows: { closed: ['2026-02-30', { from: '2027-01-02', to: '2027-01-01' }, { from: '2027-01-01', until: '2027-01-02' }, 5, '2026-13-03'] } } });
    expect(bad.success ? [] : bad.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'maintenance.windows.closed.0: "2026-02-30" is not a day; write YYYY-MM-DD, e.g. 2026-12-25',
      'maintenance.windows.closed.1.to: 2027-01-02 is after 2027-01-01: from is the first closed day, to the last',
      'maintenance.windows.closed.2: unknown key(s) until: a range has only from and to',
      'maintenance.windows.closed.3: 5 is neither a day nor a range: give a day (2026-12-25) or a range ({from: 2026-12-24, to: 2027-01-01})',
      'maintenance.windows.closed.4: "2026-13-03" is not a day; write YYYY-MM-DD, e.g. 2026-12-25',
    ]);
  });
});

describe('alert rules (fault codes)', () => {
  const faults: AlertRule = { name: 'faults', minSeverity: 'critical', cooldownMs: 6 * HOUR };
  const hydraulic: AlertRule = { name: 'hydraulics', minSeverity: 'warning', codes: ['HYD-*', 'SPN 1638'], cooldownMs: 6 * HOUR, severity: 'critical', title: 'Hydraulic fault' };
  const alerts = (over: Partial<MaintenanceOptions> = {}) => options({ thresholds: [], serviceIntervals: [], alerts: [faults, hydraulic], ...over });
  /** A fault reported `min` minutes after T0. */
  const fault = (min: number, severity: Severity, code?: string, reason = 'fault'): AlertEvent => ({
    kind: 'alert',
    source: 'test',
    ids: [{ type: 'tag', value: 'x' }],
    eventTime: T0 + min * MIN,
    receivedAt: T0 + min * MIN,
    severity,
    reason,
    ...(code !== undefined ? { code } : {}),
  });

  it('opens one work order per fault episode: repeats within the cooldown of the last report add none', () => {
    // E-17 reported every 15 minutes for 10 hours (one episode), quiet, then back after 7 hours (a second).
    const reports = [...Array.from({ length: 40 }, (_, i) => fault(i * 15, 'critical', 'E-17', 'Engine ECU fault')), fault(585 + 7 * 60, 'critical', 'E-17', 'Engine ECU fault')];
    const { deliveries, state } = run(reports, alerts());
    expect(keys(deliveries)).toEqual(['EQ-7|faults|E-17@2026-10-01T08:00:00.000Z', 'EQ-7|faults|E-17@2026-10-02T00:45:00.000Z']);
    expect(deliveries[0]?.payload).toMatchObject({
      priority: 'HIGH',
      title: 'E-17: Engine ECU fault',
      trigger: { type: 'alert', code: 'E-17', reason: 'Engine ECU fault', severity: 'critical', firstReportedAt: '2026-10-01T08:00:00.000Z' },
    });
    // Only the current episode is kept.
    expect(state?.alerts?.faults).toEqual({ 'E-17': { start: T0 + 1005 * MIN, last: T0 + 1005 * MIN } });
  });

  // Was: a blank code (a feed's empty field) was no code for the work order's key but was shown as
  // one: the title read ': Door open' (or 'Hydraulic fault: ' with the rule's title), the trigger
  // carried code ''. It is no code everywhere now.
  it('a blank code is no code in the work order: its title and trigger show the fault text', () => {
    const { deliveries } = run([fault(0, 'critical', '', 'Door open'), fault(1, 'critical', '  ', 'Coolant high')], alerts({ alerts: [faults, { ...hydraulic, codes: undefined, minSeverity: 'critical' }] }));
    const shown = deliveries.map((d) => d.payload as { title: string; trigger: Record<string, unknown>; description: string });
    expect(shown.map((p) => p.title).sort()).toEqual(['Coolant high', 'Door open', 'Hydraulic fault: Coolant high', 'Hydraulic fault: Door open']);
    for (const p of shown) {
      expect(p.trigger).not.toHaveProperty('code');
      expect(p.description).toMatch(/^critical fault reported at /);
    }
  });

  it('takes only what a rule asks for: severity, codes by prefix, and sets the priority when told', () => {
    const { deliveries, state } = run(
      [fault(0, 'warning', 'E-3'), fault(1, 'info'), fault(2, 'warning', 'HYD-22', 'Hydraulic oil temperature'), fault(3, 'warning', 'SPN 1638'), fault(4, 'critical', 'HYD-22'), fault(5, 'critical', undefined, 'Engine | stop now')],
      alerts(),
    );
    expect(deliveries.map((d) => [d.businessKey, (d.payload as { priority: string }).priority])).toEqual([
      ['EQ-7|hydraulics|HYD-22@2026-10-01T08:02:00.000Z', 'HIGH'], // a warning, raised by the rule's severity
      [expect.stringMatching(/^EQ-7\|hydraulics\|SPN_1638-[0-9a-f]{12}@2026-10-01T08:03:00\.000Z$/), 'HIGH'], // made safe for keys, with its hash
      ['EQ-7|faults|HYD-22@2026-10-01T08:04:00.000Z', 'HIGH'], // critical: the general rule takes it too, once
      [expect.stringMatching(/^EQ-7\|faults\|engine___stop_now-[0-9a-f]{12}@2026-10-01T08:05:00\.000Z$/), 'HIGH'], // no code: its text as compared (in lower case), made safe for keys, with its hash
    ]);
    expect(deliveries.every((d) => parseWorkOrderKey(d.businessKey) !== undefined)).toBe(true);
    expect((deliveries[0]?.payload as { title: string }).title).toBe('Hydraulic fault: HYD-22');
    // An asset with no alert rule for it keeps no alert state; other kinds of rules keep theirs.
    expect(run([fault(0, 'warning', 'E-3')], alerts()).state).toBeUndefined();
    expect(state?.alerts?.hydraulics && Object.keys(state.alerts.hydraulics).sort()).toEqual(['HYD-22', expect.stringMatching(/^SPN_1638-[0-9a-f]{12}$/)]);
    expect(createMaintenanceRule(options()).kinds).not.toContain('alert');
    expect(createMaintenanceRule(alerts()).kinds).toContain('alert');
  });

  it('any arrival order and batching within the allowed lateness gives the same work orders; a replay adds none', () => {
    const late = alerts({ allowedLatenessMs: 30 * MIN });
    const events = [0, 10, 20, 30, 400, 410, 1000].map((m) => fault(m, 'critical', 'E-17'));
    const inOrder = run(events, late);
    expect(keys(inOrder.deliveries)).toEqual(['EQ-7|faults|E-17@2026-10-01T08:00:00.000Z', 'EQ-7|faults|E-17@2026-10-01T14:40:00.000Z', 'EQ-7|faults|E-17@2026-10-02T00:40:00.000Z']);
    fc.assert(
      fc.property(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 7 }), (shuffled, batches) => {
        // Shuffled only within the lateness: sort, then swap neighbours less than 30 min apart.
        const arrival = [...shuffled].sort((x, y) => x.eventTime - y.eventTime);
        for (let i = 1; i < arrival.length; i++) {
          const [x, y] = [arrival[i - 1] as AlertEvent, arrival[i] as AlertEvent];
          if (y.eventTime - x.eventTime < 30 * MIN && shuffled.indexOf(y) < shuffled.indexOf(x)) [arrival[i - 1], arrival[i]] = [y, x];
        }
        expect(keys(run(arrival, late, undefined, batches).deliveries)).toEqual(keys(inOrder.deliveries));
      }),
      { numRuns: 100 },
    );
    // The same reports again over the state they left: nothing new.
    expect(run(events, late, inOrder.doc).deliveries).toEqual([]);
  });

  it('validates its config and lists in status what is active', () => {
    const parsed = rulesSchema.parse({ maintenance: { alerts: [{ name: 'faults' }, { name: 'hyd', minSeverity: 'warning', codes: ['HYD-*'], cooldown: '2h', severity: 'critical' }] } });
    expect(parsed.maintenance?.alerts).toEqual([
      { name: 'faults', minSeverity: 'critical', cooldownMs: 24 * HOUR },
      { name: 'hyd', minSeverity: 'warning', codes: ['HYD-*'], cooldownMs: 2 * HOUR, severity: 'critical' },
    ]);
    const bad = rulesSchema.safeParse({ maintenance: { thresholds: [{ name: 'x', sensor: 's', above: 1 }], alerts: [{ name: 'x', minSeverity: 'fatal', codes: [] }] } });
    expect(bad.success ? [] : bad.error.issues.map((i) => i.path.join('.'))).toEqual(['maintenance.alerts.0.minSeverity', 'maintenance.alerts.0.codes']);
    const { state } = run([fault(0, 'critical', 'E-17'), fault(60, 'critical', 'E-9')], alerts());
    const status = (now: number) => maintenanceStatus(asset, state, alerts(), { now, marks: () => ({}) }).due.map((d) => [d.rule, d.type, d.state]);
    expect(status(T0 + 2 * HOUR)).toEqual([
      ['faults', 'alert', 'active: E-17 since 2026-10-01T08:00:00.000Z, E-9 since 2026-10-01T09:00:00.000Z'],
      ['hydraulics', 'alert', 'quiet'],
    ]);
    expect(status(T0 + 6.5 * HOUR)[0]).toEqual(['faults', 'alert', 'active: E-9 since 2026-10-01T09:00:00.000Z']);
    expect(status(T0 + 8 * HOUR)[0]).toEqual(['faults', 'alert', 'quiet']);
    // The priority the work order went out with: the alert's own, as the rule sets none.
    const warned = run([fault(0, 'warning', 'E-1')], alerts({ alerts: [{ ...faults, minSeverity: 'warning' }] })).state;
    expect(maintenanceStatus(asset, warned, alerts(), { now: T0, marks: () => ({}) }).open.map((w) => [w.businessKey, w.priority])).toEqual([['EQ-7|faults|E-1@2026-10-01T08:00:00.000Z', 'MEDIUM']]);
    expect(maintenanceStatus(asset, state, alerts(), { now: T0, marks: () => ({}) }).open.map((w) => w.priority)).toEqual(['HIGH', 'HIGH']);
  });
});

describe('work-order feedback and the reorder buffer: event time wins', () => {
  const svc = options({ thresholds: [], serviceIntervals: [service250] });

  it('a completion dated after a reading still in the reorder buffer waits for it: the baseline is the meter at completion, as in event-time order', () => {
    const late = options({ thresholds: [], serviceIntervals: [service250], allowedLatenessMs: 2 * HOUR });
    const inTime = { ...svc, allowedLatenessMs: 0 };
    const key = 'EQ-7|service-250h|250h@b0';
    // The reading at 11 h (251 h) waits in the buffer (2 h) when the completion at 11.5 h arrives.
    const events = [meter(0, 240), meter(10, 250), meter(11, 251), feedback(11.5, key, 'completed'), meter(14, 254), meter(15, 255)];
    const inOrder = run(events, inTime);
    expect(inOrder.state?.services?.['service-250h']).toMatchObject({ base: 251, baseAt: T0 + 11.5 * HOUR });
    for (const batches of [undefined, [1, 1, 1, 1, 1, 1], [3, 3], [6]]) {
      const buffered = run(events, late, undefined, batches);
      expect(buffered.state?.services).toEqual(inOrder.state?.services);
      expect(buffered.state?.workOrders?.[key]).toEqual(inOrder.state?.workOrders?.[key]);
      expect(buffered.deliveries).toEqual(inOrder.deliveries);
    }
    // With the hours at completion reported: taken (not refused as more than the meter can have shown without the buffered reading).
    const reported = [meter(0, 240), meter(10, 250), meter(11, 251), feedback(11.5, key, 'completed', 251.4), meter(14, 254)];
    expect(run(reported, late).state?.services?.['service-250h']).toMatchObject({ base: 251.4 });
    expect(run(reported, late).state?.workOrders?.[key]?.meterNote).toBeUndefined();
    // Until the buffer releases the reading, the completion waits (not applied against the readings without it).
    const rule = createMaintenanceRule(late);
    const sim = simulateRules([rule], events.slice(0, 4).map((event) => ({ event, asset, destination: 'erp' })));
    const waiting = sim.states.get(asset.erpAssetId)?.maintenance as MaintenanceState;
    expect(waiting.feedbackHeld?.map((e) => e.businessKey)).toEqual([key]);
    expect(waiting.workOrders?.[key]).toBeUndefined();
    // maintenance status says so, and what it waits for.
    const row = maintenanceStatus(asset, waiting, late, { now: T0 + 12 * HOUR, marks: () => ({}) }).due.find((d) => d.rule === 'service-250h');
    expect(row?.state).toContain(`; ERP completion of ${key} at 2026-10-01T19:30:00.000Z not applied yet: waits for the hour-meter reading of 2026-10-01T18:00:00.000Z still in the reorder buffer, until it is released`);
    // An idle watermark releasing the reading applies it (the rule holds events until then).
    expect(rule.holds(waiting)).toBe(true);
    const idle = flushRules([rule], sim.states, new Map([[asset.erpAssetId, { asset, destination: 'erp' }]]), T0 + 20 * HOUR, T0 + 20 * HOUR);
    expect((idle.states.get(asset.erpAssetId)?.maintenance as MaintenanceState).services).toEqual(run(events.slice(0, 4), inTime).state?.services);
  });

  it('a completion dated after the watermark waits for a reading dated before it that may still arrive: a replaced meter declared late counts before it', () => {
    const late = options({ thresholds: [], serviceIntervals: [service250], allowedLatenessMs: 2 * HOUR });
    const inTime = { ...svc, allowedLatenessMs: 0 };
    const key = 'EQ-7|service-250h|250h@b0';
    // 251 h at 11 h opens the service; the meter is replaced at 12.5 h (reads 1 h) and the ERP
    // completes the service at 13 h with the new meter's 1.5 h. The new meter's 2 h at 14 h has
    // arrived (it releases the readings up to 12 h: the buffer holds nothing dated before the
    // completion), and the replacement's declaration arrives after the completion, within the 2 h allowed.
    const before = [meter(0, 240), meter(10, 250), meter(11, 251)];
    const reset = meter(12.5, 1, true);
    const done = feedback(13, key, 'completed', 1.5);
    const inOrder = run([...before, reset, done, meter(14, 2), meter(16, 4), meter(17, 5)], inTime);
    expect(keys(inOrder.deliveries)).toEqual([key]);
    const arrived = [...before, meter(14, 2), done, reset, meter(16, 4), meter(17, 5)];
    for (const batches of [undefined, [1, 1, 1, 1, 1, 1, 1, 1], [5, 3]]) {
      const live = run(arrived, late, undefined, batches);
      // Not a second service work order counted from 1.5 h as if the old meter still ran.
      expect(keys(live.deliveries)).toEqual(keys(inOrder.deliveries));
      expect(live.state?.services).toEqual(inOrder.state?.services);
    }
    // Until an event 2 h after it (or the idle watermark), the completion waits, and status says for what.
    const rule = createMaintenanceRule(late);
    const where = new Map([[asset.erpAssetId, { asset, destination: 'erp' }]]);
    const sim = simulateRules([rule], arrived.slice(0, 5).map((event) => ({ event, asset, destination: 'erp' })));
    const waiting = sim.states.get(asset.erpAssetId)?.maintenance as MaintenanceState;
    expect(waiting.feedbackHeld?.map((e) => e.businessKey)).toEqual([key]);
    expect(waiting.order?.pending.map((x) => x.t)).toEqual([T0 + 14 * HOUR]);
    const row = maintenanceStatus(asset, waiting, late, { now: T0 + 14 * HOUR, marks: () => ({}) }).due.find((d) => d.rule === 'service-250h');
    expect(row?.state).toContain(`; ERP completion of ${key} at 2026-10-01T21:00:00.000Z not applied yet: waits for an event of the asset dated after 2026-10-01T23:00:00.000Z`);
    // After an idle watermark released every reading, a completion dated after its watermark waits
    // with nothing in the buffer: the rule holds it, and the next idle watermark past it applies it.
    const flushed = flushRules([rule], simulateRules([rule], arrived.slice(0, 4).map((event) => ({ event, asset, destination: 'erp' }))).states, where, T0 + 16 * HOUR, T0 + 16 * HOUR).states;
    const alone = simulateRules([rule], [{ event: feedback(14.5, key, 'completed', 2.5), asset, destination: 'erp' }], { initial: flushed }).states;
    const held = alone.get(asset.erpAssetId)?.maintenance as MaintenanceState;
    expect(held.order?.pending).toEqual([]);
    expect(held.feedbackHeld?.map((e) => e.businessKey)).toEqual([key]);
    expect(rule.holds(held)).toBe(true);
    const decide = (h: number) => flushRules([rule], alone, where, T0 + h * HOUR, T0 + h * HOUR).states.get(asset.erpAssetId)?.maintenance as MaintenanceState;
    expect(decide(16.4).feedbackHeld).toEqual(held.feedbackHeld);
    const idle = decide(16.5);
    expect(idle.feedbackHeld).toBeUndefined();
    expect(idle.workOrders?.[key]).toMatchObject({ status: 'completed', changedAt: T0 + 14.5 * HOUR });
    expect(rule.holds(idle)).toBe(false);
    // With no lateness allowed, a reading dated before the completion that arrives after it is late: it applies at once.
    const prompt = simulateRules([createMaintenanceRule(inTime)], arrived.slice(0, 5).map((event) => ({ event, asset, destination: 'erp' })));
    expect((prompt.states.get(asset.erpAssetId)?.maintenance as MaintenanceState).feedbackHeld).toBeUndefined();
  });
});

describe('work-order feedback of rules that count no meter waits for no meter reading', () => {
  // Hours are tracked (a service interval counts them): 240 h live for 100 h, then 260 h an hour
  // later, held as a possible catch-up until the asset's next hour reading, which never comes (the
  // meter feed is silent while the sensors keep reporting).
  const idle = [meter(0, 240), meter(100, 240), meter(101, 260)];
  const first = 'EQ-7|engine-overheat|2026-10-05T13:05:00.000Z';
  const hot = (from: number, to: number) => temps(Array.from({ length: (to - from) / 5 + 1 }, (_, i) => [6060 + from + i * 5, 97] as [number, number]));
  /** The threshold's work order completed at 101 h 15 min (after the held reading), while it is still hot. */
  const done = { ...feedback(101.25, first, 'completed'), erpWorkOrderId: 'WO-2' };
  const service = 'EQ-7|service-250h|250h@b0';

  it('a threshold completion after a held hour reading, with only sensor samples after it, is applied at once: re-armed, its hours the latest reading applied', () => {
    const r = run([...idle, ...hot(5, 10), done, ...hot(20, 80)]);
    // Applied: the completion re-armed the rule, and the breach going on opens the next work order once the cooldown (60 min from 13:10) is over.
    expect(r.state?.feedbackHeld).toBeUndefined();
    expect(r.state?.workOrders?.[first]).toMatchObject({ status: 'completed', changedAt: T0 + 101.25 * HOUR, hoursAtCompletion: 240 });
    expect(keys(r.deliveries)).toEqual([first, 'EQ-7|engine-overheat|2026-10-05T13:20:00.000Z']);
    // The hour reading is still held (nothing decided it), and the threshold's row says nothing waits.
    expect(r.state?.hours?.hygiene.jumpHeld).toBe(true);
    const rows = maintenanceStatus(asset, r.state, options(), { now: T0 + 102.5 * HOUR, marks: () => ({}) }).due;
    expect(rows.find((d) => d.rule === 'engine-overheat')?.state).not.toContain('not applied yet');
  });

  it('nor behind a service completion of the same asset that waits for the held reading; feedback of that service waits behind it, and status says what each waits for', () => {
    const serviceDone = feedback(101.2, service, 'completed');
    const serviceStarted = feedback(101.3, service, 'in-progress');
    const r = run([...idle, ...hot(5, 10), serviceDone, done, serviceStarted, ...hot(20, 80)]);
    expect(r.state?.workOrders?.[first]).toMatchObject({ status: 'completed', hoursAtCompletion: 240 });
    expect(keys(r.deliveries)).toEqual([first, 'EQ-7|engine-overheat|2026-10-05T13:20:00.000Z']);
    // The service's completion waits for the held reading (its baseline is the meter then), and its later feedback behind it.
    expect(r.state?.feedbackHeld?.map((e) => [e.businessKey, e.status])).toEqual([
      [service, 'completed'],
      [service, 'in-progress'],
    ]);
    const rows = maintenanceStatus(asset, r.state, options(), { now: T0 + 102.5 * HOUR, marks: () => ({}) }).due;
    expect(rows.find((d) => d.rule === 'engine-overheat')?.state).not.toContain('not applied yet');
    const svc = rows.find((d) => d.rule === 'service-250h')?.state;
    expect(svc).toContain(
      `; ERP completion of ${service} at 2026-10-05T13:12:00.000Z not applied yet: waits for the hour-meter reading of 2026-10-05T13:00:00.000Z held as a possible catch-up, until the asset's next reading confirms it or sets it aside`,
    );
    expect(svc).toContain(`; ERP feedback (in-progress) of ${service} at 2026-10-05T13:18:00.000Z not applied yet: waits for the completion of ${service} at 2026-10-05T13:12:00.000Z before it`);
    // The next hour reading confirms the held one: the service's feedback applies then, in event-time order.
    const confirmed = run([...idle, ...hot(5, 10), serviceDone, done, serviceStarted, ...hot(20, 80), meter(102.5, 261.5)]);
    expect(confirmed.state?.feedbackHeld).toBeUndefined();
    expect(confirmed.state?.services?.['service-250h']).toMatchObject({ base: 260, baseAt: T0 + 101.2 * HOUR });
  });

  it('an alert completion after an hour reading still in the reorder buffer is applied at once; a service completion waits for it', () => {
    const faults: AlertRule = { name: 'faults', minSeverity: 'warning', cooldownMs: 60 * MIN, severity: 'critical' };
    const late = options({ thresholds: [], alerts: [faults], allowedLatenessMs: 2 * HOUR });
    const fault = (at: number): AlertEvent => ({ kind: 'alert', source: 'test', ids: [{ type: 'tag', value: 'x' }], eventTime: T0 + at * HOUR, receivedAt: T0 + at * HOUR, severity: 'warning', reason: 'overheat', code: 'SPN1' });
    const rule = createMaintenanceRule(late);
    const events = [meter(0, 240), fault(5), meter(10, 250), meter(11, 251)];
    const opened = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })));
    const key = opened.perStep.flat()[0]?.businessKey as string;
    expect(parseWorkOrderKey(key)?.rule).toBe('faults');
    // The readings at 10 h and 11 h are in the buffer (2 h) when both completions at 11.5 h arrive.
    const sim = simulateRules([rule], [feedback(11.5, service, 'completed'), feedback(11.5, key, 'completed')].map((event) => ({ event, asset, destination: 'erp' })), { initial: opened.states });
    const state = sim.states.get(asset.erpAssetId)?.maintenance as MaintenanceState;
    expect(state.workOrders?.[key]).toMatchObject({ status: 'completed', hoursAtCompletion: 240 });
    expect(state.feedbackHeld?.map((e) => e.businessKey)).toEqual([service]);
    const rows = maintenanceStatus(asset, state, late, { now: T0 + 12 * HOUR, marks: () => ({}) }).due;
    expect(rows.find((d) => d.rule === 'faults')?.state).not.toContain('not applied yet');
    expect(rows.find((d) => d.rule === 'service-250h')?.state).toContain(`waits for the hour-meter reading of 2026-10-01T18:00:00.000Z still in the reorder buffer`);
  });

  it('an odometer service completion waits for no held hour reading', () => {
    const both = options({ thresholds: [], serviceIntervals: [service250, oil15k] });
    const oil = 'EQ-7|oil-15000km|15000km@b0';
    const r = run([odometer(0, 1000, 240), odometer(100, 1100, 240), meter(101, 260), feedback(101.5, oil, 'completed'), odometer(102, 1150)], both);
    expect(r.state?.hours?.hygiene.jumpHeld).toBe(true);
    expect(r.state?.feedbackHeld).toBeUndefined();
    expect(r.state?.services?.['oil-15000km']).toMatchObject({ base: 1100, baseAt: T0 + 101.5 * HOUR });
    // An hour-meter service's completion then still waits for it.
    const svc = run([odometer(0, 1000, 240), odometer(100, 1100, 240), meter(101, 260), feedback(101.5, service, 'completed'), odometer(102, 1150)], both);
    expect(svc.state?.feedbackHeld?.map((e) => e.businessKey)).toEqual([service]);
  });
});

describe('work-order feedback is held to the destination the work order was opened at', () => {
  const svc = options({ thresholds: [], serviceIntervals: [service250] });
  const key = 'EQ-7|service-250h|250h@b0';
  /** Feedback with its source: `erp-feedback:<destination>` (a push or a poll), or another. */
  const from = (source: string, at: number, status: WorkOrderStatusEvent['status'], hours?: number): WorkOrderStatusEvent => ({ ...feedback(at, key, status, hours), source });
  // The asset's deliveries route to erp (run's destination): the work order is opened there.
  const opened = run([meter(0, 240), meter(11, 251)], svc);

  it('records the destination a work order was opened at', () => {
    expect(keys(opened.deliveries)).toEqual([key]);
    expect(opened.deliveries[0]?.destination).toBe('erp');
    expect(opened.state?.workOrders?.[key]).toMatchObject({ status: 'requested', destination: 'erp' });
  });

  it('an update from another destination (pushed to erp2, or polled from it) is not applied: status and baseline stay', () => {
    for (const status of ['completed', 'cancelled', 'in-progress'] as const) {
      const r = run([from('erp-feedback:erp2', 12, status, 252)], svc, opened.doc);
      expect(r.state).toEqual(opened.state);
    }
  });

  it('the same update from the destination it was opened at is applied', () => {
    const r = run([from('erp-feedback:erp', 12, 'completed', 252)], svc, opened.doc);
    expect(r.state?.workOrders?.[key]).toMatchObject({ status: 'completed', destination: 'erp', hoursAtCompletion: 252 });
    expect(r.state?.services?.['service-250h']).toMatchObject({ base: 252, baseAt: T0 + 12 * HOUR });
  });

  it('an ignored update moves no change time: an older update from the right destination still applies (event time wins among its own)', () => {
    const r = run([from('erp-feedback:erp2', 20, 'cancelled'), from('erp-feedback:erp', 12, 'completed', 252), from('erp-feedback:erp2', 30, 'open')], svc, opened.doc);
    expect(r.state?.workOrders?.[key]).toMatchObject({ status: 'completed', changedAt: T0 + 12 * HOUR });
    expect(r.state?.services?.['service-250h']).toMatchObject({ base: 252 });
    // Whatever the batching.
    for (const batchSizes of [[1, 1, 1], [3], [2, 1]]) expect(run([from('erp-feedback:erp2', 20, 'cancelled'), from('erp-feedback:erp', 12, 'completed', 252), from('erp-feedback:erp2', 30, 'open')], svc, opened.doc, batchSizes).doc).toEqual(r.doc);
  });

  it('a work order first known by its feedback (opened by the calendar task, or its record forgotten) is held to where the asset routes', () => {
    const done = (source: string) => run([meter(0, 240), { ...feedback(1, key, 'completed', 241), source }], svc);
    expect(done('erp-feedback:erp2').state?.workOrders).toBeUndefined();
    expect(done('erp-feedback:erp2').state?.services?.['service-250h']?.base).toBe(0);
    expect(done('erp-feedback:erp').state?.workOrders?.[key]).toMatchObject({ status: 'completed', destination: 'erp' });
    expect(done('erp-feedback:erp').state?.services?.['service-250h']?.base).toBe(241);
  });

  it('a work order it has no record of is held to where the outbox says it was opened (carried by the push or poll), not to where the asset routes now', () => {
    // The asset routes to erp now; the work order (the calendar task's, or one forgotten) was opened at erp2 before it moved.
    const done = (source: string, openedAtDestination?: string) => run([meter(0, 240), { ...feedback(1, key, 'completed', 241), source, ...(openedAtDestination !== undefined ? { openedAtDestination } : {}) }], svc);
    const moved = done('erp-feedback:erp2', 'erp2');
    expect(moved.state?.workOrders?.[key]).toMatchObject({ status: 'completed', destination: 'erp2', hoursAtCompletion: 241 });
    expect(moved.state?.services?.['service-250h']?.base).toBe(241);
    // The destination it routes to now does not change it: only the one the outbox names.
    expect(done('erp-feedback:erp', 'erp2').state?.workOrders).toBeUndefined();
    expect(done('erp-feedback:erp', 'erp2').state?.services?.['service-250h']?.base).toBe(0);
    // Feedback naming no destination is taken as before, held to where the asset routes, whatever the event says.
    expect(done('http', 'erp2').state?.workOrders?.[key]).toMatchObject({ status: 'completed', destination: 'erp' });
  });

  it('an asset moved to another destination while its work order is open does not open that work order again there: one business key, one destination', () => {
    const rule = createMaintenanceRule(svc);
    // Opened at erp; the asset then routes to erp2 while it is open, its readings going on past the due point (and a sensor sample, which flushes).
    const steps = [...[meter(0, 240), meter(11, 251)].map((event) => ({ event, asset, destination: 'erp' })), ...[meter(12, 252), meter(20, 260), meter(30, 300)].map((event) => ({ event, asset, destination: 'erp2' }))];
    const r = simulateRules([rule], steps, {});
    const f = flushRules([rule], r.states, new Map([[asset.erpAssetId, { asset, destination: 'erp2' }]]), 0);
    const creates = [...r.perStep.flat(), ...f.deliveries].filter((d) => d.businessKey === key);
    expect(creates.map((d) => d.destination)).toEqual(['erp']);
    expect((f.states.get(asset.erpAssetId)?.maintenance as MaintenanceState | undefined)?.workOrders?.[key]).toMatchObject({ status: 'requested', destination: 'erp' });
  });

  it('where the outbox says it was opened decides over a record that says otherwise (rebuilt by a replay after a crash, the asset moved in the new configuration)', () => {
    // The record says erp (run's destination); the outbox, as the push found it, erp2.
    const vouched = (source: string, status: WorkOrderStatusEvent['status']) => ({ ...from(source, 12, status, 252), openedAtDestination: 'erp2' });
    const own = run([vouched('erp-feedback:erp2', 'completed')], svc, opened.doc);
    expect(own.state?.workOrders?.[key]).toMatchObject({ status: 'completed', destination: 'erp2', hoursAtCompletion: 252 });
    expect(own.state?.services?.['service-250h']).toMatchObject({ base: 252 });
    expect(run([vouched('erp-feedback:erp', 'completed')], svc, opened.doc).state).toEqual(opened.state);
  });

  it('feedback naming no destination (a poll logged before polls named theirs, the intake, a hand completion) is taken as before', () => {
    for (const source of ['erp-feedback', 'http', 'cli']) {
      const r = run([from(source, 12, 'completed', 252)], svc, opened.doc);
      expect(r.state?.workOrders?.[key]).toMatchObject({ status: 'completed' });
      expect(r.state?.services?.['service-250h']).toMatchObject({ base: 252 });
    }
  });

  it('a work order in state stored before destinations were kept takes feedback from any destination, as before', () => {
    const { destination: _d, ...record } = opened.state?.workOrders?.[key] ?? { status: 'requested', openedAt: 0 };
    const old: StateDoc = { ...opened.doc, maintenance: { ...opened.state, workOrders: { [key]: record } } };
    const r = run([from('erp-feedback:erp2', 12, 'completed', 252)], svc, old);
    expect(r.state?.workOrders?.[key]).toMatchObject({ status: 'completed', hoursAtCompletion: 252 });
    expect(r.state?.workOrders?.[key]?.destination).toBeUndefined();
    expect(r.state?.services?.['service-250h']).toMatchObject({ base: 252 });
  });
});

describe('maintenance state in the store', () => {
  it('is stored as JSON as before, and a state read back (fields absent, not undefined) goes on exactly as the one in memory', () => {
    const rule = createMaintenanceRule(options({ allowedLatenessMs: 2 * MIN }));
    const ctx = { asset, destination: 'erp', now: T0 };
    const at = (min: number, hours: number): MeterEvent => meter(min / 60, hours);
    const events: CanonicalEvent[] = [
      at(0, 240),
      sensor(1, { coolantTemp: 96, oilPressure: 3 }),
      sensor(3, { coolantTemp: 97, oilPressure: 1 }),
      at(4, 251), // set aside by meter hygiene (a meter issue), cleared by the next good reading
      sensor(5, { coolantTemp: 98, oilPressure: 3 }),
      sensor(7, { coolantTemp: 99, oilPressure: 3 }),
      at(8, 240),
      sensor(10, { coolantTemp: 80, oilPressure: 3 }),
      at(13, 252),
    ];
    let live: MaintenanceState | undefined;
    let stored: string | undefined;
    const fired: number[] = [];
    for (const e of events) {
      const a = rule.apply(live, e, ctx);
      const b = rule.apply(stored === undefined ? undefined : (JSON.parse(stored) as MaintenanceState), e, ctx);
      expect(JSON.stringify(a.state)).toBe(JSON.stringify(b.state));
      expect(a.deliveries).toEqual(b.deliveries);
      fired.push(a.deliveries.length);
      live = a.state;
      stored = JSON.stringify(b.state);
    }
    expect(fired).toEqual([0, 0, 0, 0, 1, 0, 0, 1, 0]);
    // The document the earlier code stored for this input, byte for byte (with each work order's destination since it is kept, and every sensor's latest value for the snapshots).
    expect(stored).toBe(
      '{"order":{"released":1790842200000,"newest":1790842380000,"pending":[{"t":1790842380000,"k":"m","h":252}],"last":[{"t":1790842200000,"k":"s","v":{"coolantTemp":[80,"°C"],"oilPressure":[3,"bar"]}}]},"releasedKinds":"s","hours":{"hygiene":{"last":{"value":240,"eventTime":1790841600000},"confirmedAt":1790842080000,"stallFlagged":false},"total":240},"history":[[1790841600000,240],[1790842080000,240]],"thresholds":{"engine-overheat":{"phase":"normal","firedAt":1790842020000},"low-oil":{"phase":"normal","firedAt":1790841780000}},"services":{"service-250h":{"base":0}},"workOrders":{"EQ-7|low-oil|2026-10-01T08:03:00.000Z":{"status":"requested","openedAt":1790841780000,"destination":"erp"},"EQ-7|engine-overheat|2026-10-01T08:01:00.000Z":{"status":"requested","openedAt":1790842020000,"destination":"erp"}},"latest":{"coolantTemp":[1790842200000,80,"°C"],"oilPressure":[1790842200000,3,"bar"]}}',
    );
  });
});
