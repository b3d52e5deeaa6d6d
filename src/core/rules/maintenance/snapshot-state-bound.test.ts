/**
 * An asset only a service interval (or a calendar interval) applies to keeps every sensor's latest
 * value for its work orders' snapshots, and so puts its sensor samples through the reorder buffer.
 * What it keeps stays bounded however many samples come: the samples still within the allowed
 * lateness (`order.pending`, those a late meter reading can still be ordered among), the ones of the
 * last released time (`order.last`, for duplicates), and one value per sensor before them
 * (`latest`). The due services' snapshots are those of keeping every sample (each sensor's latest
 * value read before the reading, within the snapshot's reach), and the owned form saves the same
 * state, to the character (the oracle checks saveJson), through checkpoints and evictions.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { CanonicalEvent, MeterEvent, SensorEvent } from '../../model/events.js';
import type { OwnedRule } from '../owned.js';
import type { RuleContext } from '../rule.js';
import { compareOwned, type OracleStep } from '../../../../test/helpers/owned-oracle.js';
import { ALERT_SNAPSHOT_MAX_AGE_MS } from './latest-sensors.js';
import { calendarSnapshot, createMaintenanceRule, type MaintenanceState } from './maintenance-rule.js';
import type { MaintenanceOptions } from './types.js';
import type { SnapshotValue } from './work-order.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const SEC = 1000;
const HOUR = 3_600_000;
const asset: AssetRecord = { erpAssetId: 'EQ-snap', erpModule: 'maintenance', attributes: { site: 'S1', lastInspection: '2026-01-01' } };
const ids = [{ type: 'tag' as const, value: 'snap' }];

/** Eight sensors, one per message (an MQTT topic per tag), each every 10 s; `quiet` only in the first 45 minutes (then too old for a snapshot). */
const SENSORS = ['coolantTemp', 'oilPressure', 'fuelLevel', 'rpm', 'hydraulicTemp', 'vibration', 'battery', 'quiet'] as const;
const UNITS: Readonly<Record<string, string>> = { coolantTemp: '°C', oilPressure: 'bar', fuelLevel: '%', hydraulicTemp: '°C' };
const SENSOR_PERIOD = 10 * SEC;
const untilOf = (name: string, hours: number) => T0 + (name === 'quiet' ? 0.75 : hours) * HOUR;
/** Hour-meter readings every 30 s. */
const METER_PERIOD = 30 * SEC;

interface Sample {
  readonly t: number;
  readonly name: string;
  readonly value: number;
}

const sensorEvent = (x: Sample, receivedAt: number): SensorEvent => {
  const unit = UNITS[x.name];
  return { kind: 'sensor', source: 'test', ids, eventTime: x.t, receivedAt, values: { [x.name]: unit !== undefined ? { value: x.value, unit } : { value: x.value } } };
};

/**
 * `hours` of samples: each sensor's at its own offsets (no two samples of one time), and the hour
 * meter counting one hour per hour from 100 h, at offsets no sample has; each event arriving up to
 * just under `latenessMs` after its time (in order, with a lateness of 0), shuffled by `seed`.
 */
function stream(hours: number, latenessMs: number, seed: number): { samples: Sample[]; readings: MeterEvent[]; events: CanonicalEvent[] } {
  let s = seed;
  const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
  const samples: Sample[] = [];
  SENSORS.forEach((name, k) => {
    for (let t = T0 + 1 * SEC + k * 700; t < untilOf(name, hours); t += SENSOR_PERIOD) samples.push({ t, name, value: Math.round(rnd() * 1000) / 10 });
  });
  const readings: MeterEvent[] = [];
  for (let t = T0 + 250; t < T0 + hours * HOUR; t += METER_PERIOD) readings.push({ kind: 'meter', source: 'test', ids, eventTime: t, receivedAt: t, operatingHours: 100 + (t - T0) / HOUR });
  const timed: { t: number; event: () => CanonicalEvent }[] = [...samples.map((x) => ({ t: x.t, event: () => sensorEvent(x, x.t) })), ...readings.map((m) => ({ t: m.eventTime, event: () => m }))];
  const arrival = timed.map((x, i) => ({ x, at: x.t + (latenessMs > 0 ? rnd() * (latenessMs - 1) : 0), i }));
  arrival.sort((a, b) => a.at - b.at || a.i - b.i);
  return { samples, readings, events: arrival.map((a) => a.x.event()) };
}

/** The sensors of a service's snapshot at `t` as keeping every sample gives them: each sensor's latest sample before it, within the reach. */
function expectedSensors(samples: readonly Sample[], t: number, reachMs: number): Record<string, SnapshotValue> {
  const out: Record<string, SnapshotValue> = {};
  for (const name of SENSORS) {
    let best: Sample | undefined;
    for (const x of samples) if (x.name === name && x.t < t && (best === undefined || x.t > best.t)) best = x;
    if (best === undefined || best.t < t - reachMs) continue;
    const unit = UNITS[name];
    out[name] = { value: best.value, ...(unit !== undefined ? { unit } : {}), at: new Date(best.t).toISOString() };
  }
  return out;
}

/** What the state keeps of the samples: the buffered ones (pending and last) and the sensors' latest values. */
interface Kept {
  readonly samples: number;
  readonly sensors: number;
  readonly json: number;
}

/**
 * Folds `events` through the pure rule, checking after each that every sample buffered is one that
 * can still matter (pending: newer than the watermark, the newest time less the lateness; last:
 * of the last released time) and that `latest` holds one value per sensor; returns the most kept.
 */
function foldKept(options: MaintenanceOptions, events: readonly CanonicalEvent[], every: (state: MaintenanceState | undefined, at: number) => void = () => {}): { max: Kept; deliveries: DeliveryIntent[]; state: MaintenanceState | undefined } {
  const rule = createMaintenanceRule(options);
  const ctx: RuleContext = { asset, destination: 'erp', now: T0 };
  const deliveries: DeliveryIntent[] = [];
  let state: MaintenanceState | undefined;
  const max = { samples: 0, sensors: 0, json: 0 };
  events.forEach((event, i) => {
    const r = rule.apply(state, event, ctx);
    state = r.state;
    deliveries.push(...r.deliveries);
    const order = state?.order;
    const newest = order?.newest ?? -Infinity;
    // (Counted, not an expect per sample: this runs per event.)
    let stale = 0;
    for (const x of order?.pending ?? []) if (!(x.t > newest - options.allowedLatenessMs)) stale++;
    for (const x of order?.last ?? []) if (x.t !== order?.released) stale++;
    if (stale > 0) expect({ event: i, stale, order }).toBeUndefined();
    // The JSON of what the snapshot needs kept (the buffer and the latest values): the rest is the meter's and the work orders'.
    const kept = { samples: (order?.pending.length ?? 0) + (order?.last?.length ?? 0), sensors: Object.keys(state?.latest ?? {}).length, json: JSON.stringify({ order, latest: state?.latest }).length };
    expect(kept.sensors).toBeLessThanOrEqual(SENSORS.length);
    for (const k of ['samples', 'sensors', 'json'] as const) max[k] = Math.max(max[k], kept[k]);
    every(state, i);
  });
  const f = rule.flush(state, ctx);
  deliveries.push(...f.deliveries);
  return { max, deliveries, state: f.state };
}

/** The oracle's steps for `events`, with a checkpoint, an eviction and an idle watermark now and then, and a final flush. */
function steps(events: readonly CanonicalEvent[]): OracleStep[] {
  const out: OracleStep[] = [];
  events.forEach((event, n) => {
    out.push({ event, asset, now: event.receivedAt });
    if (n % 97 === 96) out.push({ roundTrip: asset });
    if (n % 211 === 100) out.push({ evict: asset });
    if (n % 307 === 150) out.push({ flush: event.eventTime + 5 * SEC, asset });
  });
  out.push({ flush: undefined, asset });
  return out;
}

const service = { name: 'half-hourly', meter: 'hours' as const, every: 0.5, dueSoon: 0, defaultBaseline: 'zero' as const, severity: 'warning' as const };
const serviceOnly = (allowedLatenessMs: number): MaintenanceOptions => ({ thresholds: [], serviceIntervals: [service], allowedLatenessMs, siteAttribute: 'site', windows: {} });

describe('an asset only a service or calendar interval applies to: the snapshot state stays bounded', () => {
  // Three minutes holds more than the owned form's ring (its pure mode): fewer hours, as each step then writes the buffer whole.
  for (const [allowedLatenessMs, hours] of [
    [0, 3],
    [60 * SEC, 3],
    [3 * 60 * SEC, 1.5],
  ] as const) {
    it(`a service interval alone, eight sensors one per message, ${hours} h of samples (lateness ${allowedLatenessMs / SEC} s): bounded state, every due service's snapshot as keeping every sample, the owned form saving the same`, () => {
      const options = serviceOnly(allowedLatenessMs);
      const { samples, readings, events } = stream(hours, allowedLatenessMs, 7 + allowedLatenessMs);
      expect(samples.length).toBeGreaterThan(hours * 2500);
      const { max, deliveries } = foldKept(options, events);

      // Per sensor at most its samples within the lateness (one every 10 s) and one of the last
      // released time; the meter's likewise: a bound of the lateness, not of the stream's length
      // (hours of samples, thousands per sensor), at every step.
      const perWindow = (period: number) => Math.floor(allowedLatenessMs / period) + 1;
      const bound = SENSORS.length * perWindow(SENSOR_PERIOD) + perWindow(METER_PERIOD) + 1;
      expect(max.samples).toBeLessThanOrEqual(bound);
      expect(max.sensors).toBe(SENSORS.length);
      expect(max.json).toBeLessThan(SENSORS.length * 60 + bound * 70 + 100);

      // One work order per half hour of the meter (the first reading's due point included).
      expect(deliveries.map((d) => d.businessKey)).toEqual(['EQ-snap|half-hourly|100h@b0', ...Array.from({ length: hours * 2 - 1 }, (_, i) => `EQ-snap|half-hourly|${100.5 + i * 0.5}h@b0`)]);
      const reach = ALERT_SNAPSHOT_MAX_AGE_MS + allowedLatenessMs;
      let withoutQuiet = 0;
      for (const d of deliveries) {
        const payload = d.payload as { detectedAt: string; sensorSnapshot: { at: string; values: Record<string, SnapshotValue> } };
        const t = Date.parse(payload.detectedAt);
        expect(readings.some((m) => m.eventTime === t)).toBe(true);
        expect(payload.sensorSnapshot.at).toBe(payload.detectedAt);
        // The reading itself (as the hour counter has it), then each sensor's latest value before it.
        const { operatingHours, ...sensors } = payload.sensorSnapshot.values;
        expect(operatingHours).toEqual({ value: expect.any(Number), unit: 'h' });
        expect(sensors).toEqual(expectedSensors(samples, t, reach));
        if (sensors.quiet === undefined) withoutQuiet++;
      }
      // The sensor gone quiet is in the snapshot at 30 minutes, and too old for those from an hour on.
      expect(deliveries[1]?.payload).toMatchObject({ sensorSnapshot: { values: { quiet: {} } } });
      expect(withoutQuiet).toBe(deliveries.length - 1);

      // The owned form decides and saves as the pure rule, to saveJson's character.
      const r = compareOwned(createMaintenanceRule(options), createMaintenanceRule(options).owned?.() as OwnedRule, steps(events));
      expect(r.deliveries).toBe(deliveries.length);
      expect(r.late).toBe(0);
    });
  }

  it("a calendar interval alone: bounded state, and the task's snapshot as keeping every sample released", () => {
    const allowedLatenessMs = 60 * SEC;
    const options: MaintenanceOptions = {
      thresholds: [],
      serviceIntervals: [],
      calendarIntervals: [{ name: 'inspection', everyDays: 365, dueSoonDays: 0, baselineAttribute: 'lastInspection', severity: 'warning' }],
      allowedLatenessMs,
      siteAttribute: 'site',
      windows: {},
    };
    const { samples, events } = stream(2, allowedLatenessMs, 11);
    const sensorEvents = events.filter((e) => e.kind === 'sensor');
    let checked = 0;
    const { max } = foldKept(options, sensorEvents, (state, i) => {
      if (i % 500 !== 499) return;
      // What the calendar task would show now: each sensor's latest value released, within the reach of the newest.
      const released = state?.order?.released as number;
      const upTo = samples.filter((x) => x.t <= released);
      const newest = Math.max(...upTo.map((x) => x.t));
      const expected: Record<string, SnapshotValue> = {};
      for (const name of SENSORS) {
        const mine = upTo.filter((x) => x.name === name);
        const best = mine[mine.length - 1];
        if (best === undefined || best.t < newest - ALERT_SNAPSHOT_MAX_AGE_MS - allowedLatenessMs) continue;
        const unit = UNITS[name];
        expected[name] = { value: best.value, ...(unit !== undefined ? { unit } : {}), ...(best.t !== newest ? { at: new Date(best.t).toISOString() } : {}) };
      }
      expect(calendarSnapshot(state, options)).toEqual({ snapshot: expected, snapshotAt: newest });
      checked++;
    });
    expect(checked).toBeGreaterThan(5);
    expect(max.samples).toBeLessThanOrEqual(SENSORS.length * 7 + 1);
    expect(max.json).toBeLessThan(SENSORS.length * 60 + max.samples * 70 + 100);
    const r = compareOwned(createMaintenanceRule(options), createMaintenanceRule(options).owned?.() as OwnedRule, steps(sensorEvents));
    expect(r.late).toBe(0);
  });
});
