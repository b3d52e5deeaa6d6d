/**
 * A simulated fleet of tagged assets moving between named zones and reporting JSON telemetry on
 * `fleet/<tagId>/telemetry`:
 *
 * ```json
 * {"tagId":"tag-0001","ts":"2026-03-01T12:00:00.000Z","pos":{"lat":51.95,"lng":4.05},"zone":"YARD-A",
 *  "sensors":{"engineTempC":84.2,"batteryV":13.6},"hours":1234.56}
 * ```
 *
 * Each asset dwells in a zone (small moves inside it, `zone` reported), then drives to another
 * zone (no `zone` while in transit) and dwells there. Engine hours only grow. Now and then a
 * driving engine runs hot (97–105 °C; {@link FleetOptions.overheatShare}). A configurable share
 * of messages is bad the way real devices are bad: garbage bytes, wrong types, a literal NaN,
 * out-of-range latitude, or a tag nobody registered. A bad message is sent instead of a report,
 * so the asset does not move and {@link Fleet.lastReported} stays what a correct pipeline must end
 * up with. Deterministic: the same seed and the same `now` values give the same bytes.
 * @module
 */
import { seededRandom, type Random } from './random.js';
import { DEFAULT_ZONES, distanceM, offsetM, type Zone } from './zones.js';

export const BAD_MESSAGE_KINDS = ['garbage', 'wrong-type', 'nan', 'out-of-range', 'unknown-tag'] as const;
/** How a bad message is bad. */
export type BadMessageKind = (typeof BAD_MESSAGE_KINDS)[number];

export interface FleetOptions {
  /** Number of assets; tag ids are `tag-0001` ... */
  readonly assets: number;
  /** How many of {@link DEFAULT_ZONES} to use, or your own zones. @default all default zones */
  readonly zones?: number | readonly Zone[];
  /** @default 1 */
  readonly seed?: number;
  /** Share of messages that are bad, 0..1. @default 0 */
  readonly badShare?: number;
  /** Which kinds of bad message to inject. @default all of {@link BAD_MESSAGE_KINDS} */
  readonly badKinds?: readonly BadMessageKind[];
  /** First topic level. @default fleet */
  readonly topicPrefix?: string;
  /** Share of driving reports with an overheating engine (97–105 °C; otherwise at most 96), 0..1. @default 0.004 */
  readonly overheatShare?: number;
}

/** Engine temperatures above this come only from overheating (normal driving stays below 96.1 °C). */
export const OVERHEAT_ABOVE_C = 96.5;

export interface FleetMessage {
  readonly topic: string;
  readonly payload: Buffer;
  /** The asset this message claims to be from. */
  readonly tagId: string;
  /** Set when the message was made bad on purpose. */
  readonly bad?: BadMessageKind;
}

/** An asset's last correctly reported state. */
export interface ReportedState {
  readonly tagId: string;
  readonly lat: number;
  readonly lng: number;
  /** Zone name; absent while in transit. */
  readonly zone?: string;
  readonly hours: number;
  /** Event time of that report (epoch ms). */
  readonly eventTime: number;
  /** The hottest engine temperature of all its good reports. */
  readonly peakEngineTempC: number;
}

export interface FleetCounts {
  readonly total: number;
  readonly good: number;
  readonly bad: Readonly<Record<BadMessageKind, number>>;
}

export interface Fleet {
  readonly tagIds: readonly string[];
  readonly zones: readonly Zone[];
  /** The next message, stamped `now` (epoch ms; kept strictly increasing per asset). Assets report in turn. */
  next(now: number): FleetMessage;
  /** Each asset's last good report: what the ERP's location of record must end up matching. */
  lastReported(): ReadonlyMap<string, ReportedState>;
  counts(): FleetCounts;
}

/** Report-to-report distance while driving, metres. */
const DRIVE_STEP_M = 250;

interface AssetState {
  readonly tagId: string;
  zoneIndex: number;
  /** Zone being driven to; undefined while dwelling. */
  targetIndex: number | undefined;
  lat: number;
  lng: number;
  dwellLeft: number;
  hours: number;
  lastTs: number;
}

/** Tag id for asset number `n` (1-based): `tag-0001`. */
export function tagId(n: number): string {
  return `tag-${String(n).padStart(4, '0')}`;
}

export function createFleet(options: FleetOptions): Fleet {
  if (!Number.isInteger(options.assets) || options.assets < 1) throw new Error(`assets must be a positive integer, got ${options.assets}`);
  const zones = typeof options.zones === 'object' ? options.zones : DEFAULT_ZONES.slice(0, options.zones ?? DEFAULT_ZONES.length);
  if (zones.length < 2) throw new Error('a fleet needs at least 2 zones to move between');
  const badShare = options.badShare ?? 0;
  if (!(badShare >= 0 && badShare <= 1)) throw new Error(`badShare must be between 0 and 1, got ${badShare}`);
  const badKinds = options.badKinds ?? BAD_MESSAGE_KINDS;
  if (badShare > 0 && badKinds.length === 0) throw new Error('badKinds is empty but badShare > 0');
  const prefix = options.topicPrefix ?? 'fleet';
  const overheatShare = options.overheatShare ?? 0.004;
  if (!(overheatShare >= 0 && overheatShare <= 1)) throw new Error(`overheatShare must be between 0 and 1, got ${overheatShare}`);
  const rng = seededRandom(options.seed ?? 1);

  const assets: AssetState[] = Array.from({ length: options.assets }, (_, i) => {
    const zoneIndex = rng.int(zones.length);
    const spot = pointIn(zones[zoneIndex] as Zone, rng);
    return { tagId: tagId(i + 1), zoneIndex, targetIndex: undefined, ...spot, dwellLeft: 1 + rng.int(20), hours: round(rng.between(50, 6000), 2), lastTs: 0 };
  });
  const reported = new Map<string, ReportedState>();
  const badCounts = Object.fromEntries(BAD_MESSAGE_KINDS.map((k) => [k, 0])) as Record<BadMessageKind, number>;
  let total = 0;
  let cursor = 0;

  function advance(a: AssetState): void {
    if (a.targetIndex === undefined) {
      a.hours = round(a.hours + rng.between(0, 0.01), 3); // idling or working on site
      if (--a.dwellLeft > 0) {
        // Small moves inside the zone.
        const zone = zones[a.zoneIndex] as Zone;
        const moved = offsetM(a.lat, a.lng, rng.between(0, zone.radiusM / 5), rng.between(0, 2 * Math.PI));
        if (distanceM(moved, zone) < zone.radiusM * 0.8) Object.assign(a, moved);
        return;
      }
      let target = rng.int(zones.length - 1);
      if (target >= a.zoneIndex) target++;
      a.targetIndex = target;
    }
    const target = zones[a.targetIndex] as Zone;
    a.hours = round(a.hours + 0.02, 3);
    const remaining = distanceM(a, target);
    if (remaining <= DRIVE_STEP_M + target.radiusM * 0.5) {
      Object.assign(a, pointIn(target, rng));
      a.zoneIndex = a.targetIndex;
      a.targetIndex = undefined;
      a.dwellLeft = 5 + rng.int(40);
      return;
    }
    const f = DRIVE_STEP_M / remaining;
    a.lat += (target.lat - a.lat) * f;
    a.lng += (target.lng - a.lng) * f;
  }

  function payloadOf(a: AssetState, ts: number, tag: string): Record<string, unknown> {
    const driving = a.targetIndex !== undefined;
    return {
      tagId: tag,
      ts: new Date(ts).toISOString(),
      pos: { lat: round(a.lat, 6), lng: round(a.lng, 6) },
      ...(driving ? {} : { zone: (zones[a.zoneIndex] as Zone).name }),
      sensors: { engineTempC: round(!driving ? rng.between(55, 80) : rng.next() < overheatShare ? rng.between(97, 105) : rng.between(82, 96), 1), batteryV: round(rng.between(12.3, 14.3), 2) },
      hours: a.hours,
    };
  }

  return {
    tagIds: assets.map((a) => a.tagId),
    zones,

    next(now: number): FleetMessage {
      const a = assets[cursor] as AssetState;
      cursor = (cursor + 1) % assets.length;
      total++;
      const ts = Math.max(Math.floor(now), a.lastTs + 1);
      const bad = badShare > 0 && rng.next() < badShare ? rng.pick(badKinds) : undefined;

      if (bad === undefined) {
        a.lastTs = ts;
        advance(a);
        const body = payloadOf(a, ts, a.tagId);
        const temp = (body.sensors as { engineTempC: number }).engineTempC;
        const peakEngineTempC = Math.max(temp, reported.get(a.tagId)?.peakEngineTempC ?? -Infinity);
        reported.set(a.tagId, { tagId: a.tagId, lat: round(a.lat, 6), lng: round(a.lng, 6), ...(typeof body.zone === 'string' ? { zone: body.zone } : {}), hours: a.hours, eventTime: ts, peakEngineTempC });
        return { topic: `${prefix}/${a.tagId}/telemetry`, payload: Buffer.from(JSON.stringify(body)), tagId: a.tagId };
      }

      badCounts[bad]++;
      return badMessage(bad, a, ts);
    },

    lastReported: () => new Map(reported),

    counts: () => ({ total, good: total - Object.values(badCounts).reduce((s, n) => s + n, 0), bad: { ...badCounts } }),
  };

  /** A bad report instead of a good one: the asset does not move and its last good report stands. */
  function badMessage(kind: BadMessageKind, a: AssetState, ts: number): FleetMessage {
    const topic = `${prefix}/${a.tagId}/telemetry`;
    const body = payloadOf(a, ts, a.tagId);
    switch (kind) {
      case 'garbage': {
        // A corrupted frame: starts with a byte that is never valid UTF-8.
        const bytes = Buffer.alloc(8 + rng.int(56));
        for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
        bytes[0] = 0xff;
        return { topic, payload: bytes, tagId: a.tagId, bad: kind };
      }
      case 'wrong-type':
        // Firmware that sends the latitude as a DMS string.
        body.pos = { lat: `${Math.floor(a.lat)}°${Math.round((a.lat % 1) * 60)}'N`, lng: round(a.lng, 6) };
        return { topic, payload: Buffer.from(JSON.stringify(body)), tagId: a.tagId, bad: kind };
      case 'nan':
        // JavaScript-style NaN is not JSON; some device SDKs emit it anyway.
        return { topic, payload: Buffer.from(JSON.stringify(body).replace(/"engineTempC":[^,}]+/, '"engineTempC":NaN')), tagId: a.tagId, bad: kind };
      case 'out-of-range':
        // Past a pole wherever the zones are (tripling a latitude stays in range within 30° of the equator).
        body.pos = { lat: round(a.lat + (a.lat < 0 ? -100 : 100), 6), lng: round(a.lng, 6) };
        return { topic, payload: Buffer.from(JSON.stringify(body)), tagId: a.tagId, bad: kind };
      case 'unknown-tag': {
        const stranger = tagId(assets.length + 1 + rng.int(1000)); // beyond the fleet: never registered
        return { topic: `${prefix}/${stranger}/telemetry`, payload: Buffer.from(JSON.stringify({ ...body, tagId: stranger })), tagId: stranger, bad: kind };
      }
    }
  }
}

function pointIn(zone: Zone, rng: Random): { lat: number; lng: number } {
  return offsetM(zone.lat, zone.lng, rng.between(0, zone.radiusM * 0.6), rng.between(0, 2 * Math.PI));
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
