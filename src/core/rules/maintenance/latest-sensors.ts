/**
 * The latest value of every sensor of an asset, for a work order's sensor snapshot: a device that
 * publishes one sensor per message (an MQTT topic per tag) would otherwise give a work order the
 * triggering sensor alone. Taken from the samples as the reorder buffer releases them (event-time
 * order, so a work order's snapshot does not depend on arrival order within the allowed lateness),
 * and from a sample no threshold reads that arrives after its time was released (a sample that
 * only feeds the snapshot is never late), each per sensor with its event time: event time wins (a
 * late sample does not overwrite a newer value). A value older than the snapshot's bound is left
 * out rather than shown as current.
 * @module
 */
import { isoTime } from '../iso-format.js';
import type { AssetRecord } from '../../model/assets.js';
import { matchesFilter, type AssetFilter, type MaintenanceOptions } from './types.js';
import type { SnapshotValue } from './work-order.js';

/** Per sensor, `[eventTime, value]` or `[eventTime, value, unit]` (compact JSON). */
export type LatestSensors = Readonly<Record<string, readonly [number, number] | readonly [number, number, string]>>;

/** Sensors kept per asset at most (the first ones seen): the state stays bounded whatever a device sends. */
export const MAX_LATEST_SENSORS = 64;

/**
 * A fault's, a due service's or a calendar interval's work order shows a sensor value read at most
 * this long before the work order (plus the rule's `allowedLatenessMs`), unless
 * `rules.maintenance.snapshotMaxAge` says otherwise (`snapshotMaxAgeMs`): the default `maxGap` of
 * a threshold, the longest a sensor is expected to go between two samples.
 */
export const ALERT_SNAPSHOT_MAX_AGE_MS = 10 * 60_000;

/** How far before a work order's time its snapshot reaches for sensor values: the bound plus the lateness. */
export function snapshotReachMs(options: Pick<MaintenanceOptions, 'snapshotMaxAgeMs' | 'allowedLatenessMs'>): number {
  return (options.snapshotMaxAgeMs ?? ALERT_SNAPSHOT_MAX_AGE_MS) + options.allowedLatenessMs;
}

/** A meter reading `[eventTime, value]` (continuous hours or km), as the history keeps it. */
export type MeterReading = readonly [number, number];

/** A work order's snapshot: its values, and when they were read (the newest of them; absent with none). */
export interface WorkOrderSnapshot {
  readonly snapshot: Record<string, SnapshotValue>;
  readonly snapshotAt?: number;
}

/**
 * The snapshot of a work order not opened by a sensor sample (a fault, a due service, a calendar
 * interval) at `t`: the hour meter and odometer given (however old: they count up), and every
 * sensor's latest value read no more than `maxAgeMs` (the bound plus the lateness) before `t`;
 * dated by the newest of them (`snapshotAt`), each other one with its own `at`. Empty, and
 * undated (the work order's time stands), with none.
 */
export function readingsSnapshot(latest: LatestSensors | undefined, hours: MeterReading | undefined, km: MeterReading | undefined, t: number, maxAgeMs: number): WorkOrderSnapshot {
  const from = t - maxAgeMs;
  let at = -Infinity;
  if (hours !== undefined) at = hours[0];
  if (km !== undefined) at = Math.max(at, km[0]);
  for (const k in latest) {
    const e = latest[k] as LatestSensors[string];
    if (e[0] >= from) at = Math.max(at, e[0]);
  }
  if (at === -Infinity) return { snapshot: {} };
  const meters: Record<string, SnapshotValue> = {};
  if (hours !== undefined) meters.operatingHours = valueAt(hours[1], 'h', hours[0], at);
  if (km !== undefined) meters.odometerKm = valueAt(km[1], 'km', km[0], at);
  return { snapshot: sensorSnapshot(latest, from, at, undefined, meters), snapshotAt: at };
}

/** The newest event time among `latest` and the meter readings given; undefined with none. */
export function newestReading(latest: LatestSensors | undefined, hours: MeterReading | undefined, km: MeterReading | undefined): number | undefined {
  let at = -Infinity;
  if (hours !== undefined) at = hours[0];
  if (km !== undefined) at = Math.max(at, km[0]);
  for (const k in latest) at = Math.max(at, (latest[k] as LatestSensors[string])[0]);
  return at === -Infinity ? undefined : at;
}

/**
 * Whether every sensor's latest value is kept for `asset` (`latest`): some rule applies whose work
 * orders show it (every kind: a threshold, an alert, a service or a calendar interval). Its owned
 * form asks the same.
 */
export function keepsLatestFor(options: MaintenanceOptions, asset: AssetRecord): boolean {
  const applies = (rules: readonly { readonly appliesTo?: AssetFilter | undefined }[] | undefined) => (rules ?? []).some((r) => matchesFilter(asset, r.appliesTo));
  return applies(options.thresholds) || applies(options.alerts) || applies(options.serviceIntervals) || applies(options.calendarIntervals);
}

/** Whether a sensor value can be kept (a finite value, a name that is no prototype key, at a finite time). */
export function keepable(name: string, value: number): boolean {
  return Number.isFinite(value) && name !== '__proto__';
}

/**
 * `latest` with the sensor values of a sample at `t` (each replacing one not newer; a new sensor
 * while fewer than {@link MAX_LATEST_SENSORS} are kept), or `latest` itself when nothing changes.
 */
export function withLatest(latest: LatestSensors | undefined, t: number, values: Readonly<Record<string, number | readonly [number, string]>>): LatestSensors | undefined {
  if (!Number.isFinite(t)) return latest;
  let next: Record<string, readonly [number, number] | readonly [number, number, string]> | undefined;
  let count = -1;
  for (const name in values) {
    const cv = values[name] as number | readonly [number, string];
    const value = typeof cv === 'number' ? cv : cv[0];
    const unit = typeof cv === 'number' ? undefined : cv[1];
    if (!keepable(name, value)) continue;
    const cur = (next ?? latest)?.[name];
    if (cur === undefined) {
      if (count < 0) count = latest === undefined ? 0 : Object.keys(latest).length;
      if (count >= MAX_LATEST_SENSORS) continue;
      count++;
    } else if (t < cur[0] || (t === cur[0] && cur[1] === value && cur[2] === unit)) continue;
    next ??= { ...latest };
    next[name] = unit !== undefined ? [t, value, unit] : [t, value];
  }
  return next ?? latest;
}

/** A snapshot value, with when it was read where that is not the snapshot's time. */
export function valueAt(value: number, unit: string | undefined, t: number, snapshotAt: number): SnapshotValue {
  if (t === snapshotAt) return unit !== undefined ? { value, unit } : { value };
  return unit !== undefined ? { value, unit, at: isoTime(t) } : { value, at: isoTime(t) };
}

/**
 * The sensor part of a work order's snapshot at `snapshotAt`: `own` (the triggering sample's
 * values, read at `snapshotAt`: they win for their sensors), then every other sensor of `latest`
 * read at or after `from` (older ones are not shown as current; nor one of a name `out` already holds), each with `at` where it was read
 * at another time than `snapshotAt`.
 */
export function sensorSnapshot(
  latest: LatestSensors | undefined,
  from: number,
  snapshotAt: number,
  own?: Readonly<Record<string, number | readonly [number, string]>>,
  /** Values already in the snapshot (a fault's meters): they stand. */
  out: Record<string, SnapshotValue> = {},
): Record<string, SnapshotValue> {
  for (const k in own) {
    if (Object.hasOwn(out, k)) continue;
    const v = own[k] as number | readonly [number, string];
    out[k] = typeof v === 'number' ? { value: v } : { value: v[0], unit: v[1] };
  }
  for (const k in latest) {
    if (Object.hasOwn(out, k)) continue;
    const e = latest[k] as readonly [number, number] | readonly [number, number, string];
    if (e[0] < from) continue;
    out[k] = valueAt(e[1], e[2], e[0], snapshotAt);
  }
  return out;
}
