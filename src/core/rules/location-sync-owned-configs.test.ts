/**
 * Location sync's owned form against its pure form (the oracle, test/helpers/owned-oracle.ts) over
 * configurations drawn at random, where location-sync-owned.test.ts runs a fixed few: dwell and
 * hysteresis values (0 included), minDistanceM 0 and heartbeats shorter than a dwell, an accuracy
 * limit or none, lateness 0 or not, `appliesTo` with the asset's attributes changing under it; zones
 * nested with priorities, overlapping of equal rank (the first listed wins), a multipolygon with a
 * hole, one too large for the index's grid, five stacked (more than the columns hold). Fixes at
 * zone borders and bands, several of one time (a reader's sighting among them), duplicates, late
 * ones, idle watermarks at and around the times a dwell ends. And restarts with a configuration near
 * the first: a zone renamed, recoded, reshaped, reprioritised, removed or added, the zones
 * reordered, lateness, dwell, hysteresis, accuracy or `appliesTo` changed. Beside the oracle's
 * checks, every update naming a zone has coordinates in it or its band (or none).
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { compareOwned, type OracleStep } from '../../../test/helpers/owned-oracle.js';
import { square, squareRing } from '../../../test/helpers/geo.js';
import type { AssetRecord } from '../model/assets.js';
import type { DeliveryIntent } from '../model/delivery.js';
import type { PositionEvent } from '../model/events.js';
import { createLocationSyncRule, type LocationSyncOptions, type LocationSyncState } from './location-sync.js';
import { ownedLocationSync } from './location-sync-owned.js';
import { ZoneIndex, type Zone } from './zones/index.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const LAT = 50;
const M_LNG = 111_320 * Math.cos((LAT * Math.PI) / 180);
/** Longitude `m` metres east of 10°E at 50°N: every zone and fix is on that line (or a few metres off it). */
const east = (m: number): number => 10 + m / M_LNG;
const circle = (m: number, radiusM: number) => ({ type: 'circle' as const, lat: LAT, lng: east(m), radiusM });

const POOL: readonly Zone[] = [
  { name: 'yard', locationCode: 'Y1', priority: 0, shape: circle(0, 300) },
  { name: 'bay', locationCode: 'B1', priority: 1, shape: circle(0, 60) },
  { name: 'bay2', locationCode: 'B2', priority: 0, shape: circle(180, 60) },
  // Of one size and priority, overlapping: the one listed first ranks first.
  { name: 'twinA', locationCode: 'TA', priority: 0, shape: circle(600, 100) },
  { name: 'twinB', locationCode: 'TB', priority: 0, shape: circle(650, 100) },
  { name: 'depot', locationCode: 'D1', priority: 0, shape: { type: 'polygon', polygons: [square(LAT, east(1200), 200), [squareRing(LAT, east(1500), 300), squareRing(LAT, east(1500), 100)]] } },
  // The yard's code, overlapping its east edge.
  { name: 'annex', locationCode: 'Y1', priority: 0, shape: circle(320, 80) },
  { name: 'hi', locationCode: 'H1', priority: 5, shape: circle(1500, 250) },
  // Too large for the grid, under everything.
  { name: 'region', locationCode: 'R0', priority: -1, shape: circle(0, 40_000) },
  // Five in a row 50 m apart: a fix is in up to five (the columns hold four); two share a code.
  ...Array.from({ length: 5 }, (_, i): Zone => ({ name: `st${i}`, locationCode: i === 3 ? 'S1' : `S${i}`, priority: 0, shape: circle(3000 + i * 50, 120 + i) })),
];
/** Where fixes are: at and around the zones' borders and bands, inside, far. */
const XS = [-500, -340, -325, -310, -300, -290, -250, -60, -40, 0, 30, 55, 65, 75, 90, 120, 150, 180, 230, 245, 260, 290, 300, 310, 320, 330, 395, 405, 420, 500, 560, 600, 625, 650, 700, 760];
const XS_FAR = [1000, 1090, 1110, 1200, 1300, 1340, 1360, 1420, 1440, 1500, 1560, 1700, 1760, 2500, 2880, 2950, 3000, 3100, 3150, 3250, 3300, 3400, 3450];
const SIGHTED = ['yard', 'bay', 'bay2', 'twinA', 'depot', 'hi', 'annex', 'gate-9'];
const REPORTED = ['gate-7', 'gate-8', 'yard', 'Y1', 'B1', ''];

interface Config {
  /** Zones of POOL by index, in the order listed. */
  readonly zones: readonly number[];
  /** Per zone (by POOL index): a new name, code, radius change (circles), priority. */
  readonly renamed: Readonly<Record<string, string>>;
  readonly recoded: Readonly<Record<string, string>>;
  readonly grown: Readonly<Record<string, number>>;
  readonly ranked: Readonly<Record<string, number>>;
  readonly enterDwellMs: number;
  readonly exitDwellMs: number;
  readonly hysteresisM: number;
  readonly maxAccuracyM: number;
  readonly allowedLatenessMs: number;
  readonly minDistanceM: number;
  readonly heartbeatMs: number;
  readonly fleetA: boolean;
  readonly noZones: boolean;
}

function zonesOf(c: Config): Zone[] {
  return c.zones.map((k) => {
    const z = POOL[k] as Zone;
    const grow = c.grown[k];
    return {
      ...z,
      name: c.renamed[k] ?? z.name,
      locationCode: c.recoded[k] ?? z.locationCode,
      priority: c.ranked[k] ?? z.priority,
      shape: grow !== undefined && z.shape.type === 'circle' ? { ...z.shape, radiusM: z.shape.radiusM + grow } : z.shape,
    };
  });
}

function optionsOf(c: Config): LocationSyncOptions {
  return {
    minDistanceM: c.minDistanceM,
    heartbeatMs: c.heartbeatMs,
    allowedLatenessMs: c.allowedLatenessMs,
    ...(c.noZones
      ? { maxAccuracyM: c.maxAccuracyM }
      : { zones: { index: new ZoneIndex(zonesOf(c), { hysteresisM: c.hysteresisM }), dwell: { enterDwellMs: c.enterDwellMs, exitDwellMs: c.exitDwellMs }, maxAccuracyM: c.maxAccuracyM } }),
    ...(c.fleetA ? { appliesTo: { attributes: { fleet: ['a'] } } } : {}),
  };
}

const zoneNo = fc.nat(POOL.length - 1).map(String);
const config: fc.Arbitrary<Config> = fc.record({
  zones: fc.uniqueArray(fc.nat(POOL.length - 1), { minLength: 1, maxLength: POOL.length }),
  renamed: fc.dictionary(zoneNo, fc.constantFrom('yard-n', 'bay-x', 'zz'), { maxKeys: 2 }),
  recoded: fc.dictionary(zoneNo, fc.constantFrom('Y1', 'B1', 'NEW', 'TA'), { maxKeys: 2 }),
  grown: fc.dictionary(zoneNo, fc.constantFrom(-30, 20, 60), { maxKeys: 2 }),
  ranked: fc.dictionary(zoneNo, fc.constantFrom(-1, 0, 1, 3, 9), { maxKeys: 2 }),
  enterDwellMs: fc.constantFrom(0, 10_000, 30_000),
  exitDwellMs: fc.constantFrom(0, 20_000, 60_000),
  hysteresisM: fc.constantFrom(0, 20, 50),
  maxAccuracyM: fc.constantFrom(0, 50),
  allowedLatenessMs: fc.constantFrom(0, 0, 10_000, 30_000),
  minDistanceM: fc.constantFrom(0, 50, 100, 500),
  heartbeatMs: fc.constantFrom(30_000, 600_000, 3_600_000),
  fleetA: fc.boolean(),
  noZones: fc.constantFrom(false, false, false, false, true),
});

/** A change of `c` a restart may bring (`k`: which zone, `v`: which value). */
const change = fc.record({ kind: fc.nat(10), k: fc.nat(POOL.length - 1), v: fc.nat(3) });
function changed(c: Config, changes: readonly { kind: number; k: number; v: number }[]): Config {
  let d: Config = c;
  for (const { kind, k, v } of changes) {
    const z = d.zones[k % d.zones.length] as number;
    const pick = <T,>(values: readonly T[]): T => values[v % values.length] as T;
    if (kind === 0) d = { ...d, renamed: { ...d.renamed, [z]: pick(['yard-n', 'bay-x', 'zz', 'qq']) } };
    else if (kind === 1) d = { ...d, recoded: { ...d.recoded, [z]: pick(['Y1', 'B1', 'NEW', 'TA']) } };
    else if (kind === 2) d = { ...d, grown: { ...d.grown, [z]: pick([-30, 20, 60, 5]) } };
    else if (kind === 3) d = { ...d, ranked: { ...d.ranked, [z]: pick([-1, 0, 3, 9]) } };
    else if (kind === 4) d = { ...d, zones: [...d.zones.slice(1), d.zones[0] as number] };
    else if (kind === 5) d = d.zones.length > 1 ? { ...d, zones: d.zones.filter((n) => n !== z) } : d;
    else if (kind === 6) d = d.zones.includes(k) ? d : { ...d, zones: [...d.zones, k] };
    else if (kind === 7) d = { ...d, allowedLatenessMs: pick([0, 10_000, 30_000]) };
    else if (kind === 8) d = { ...d, enterDwellMs: pick([0, 10_000, 30_000, 5_000]), exitDwellMs: pick([20_000, 60_000, 90_000, 0]) };
    else if (kind === 9) d = { ...d, hysteresisM: pick([0, 20, 50, 25]) };
    else d = { ...d, fleetA: !d.fleetA, maxAccuracyM: d.maxAccuracyM === 0 ? 50 : 0 };
  }
  return d;
}

const ASSETS: readonly AssetRecord[] = [
  { erpAssetId: 'EQ-0', erpModule: 'maintenance', attributes: { fleet: 'a' } },
  { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: { fleet: 'b' } },
];
/** EQ-0's record with its fleet changed (master data updated): `appliesTo` no longer takes it. */
const MOVED: AssetRecord = { erpAssetId: 'EQ-0', erpModule: 'maintenance', attributes: { fleet: 'b' } };

type Op = (
  | { op: 'fix'; asset: number; dt: number; x: number; y: number; accuracyM?: number; zone?: string }
  | { op: 'stay'; asset: number; dt: number; d: number; zone?: string }
  | { op: 'sighting'; asset: number; dt: number; zone: string }
  | { op: 'late'; asset: number; back: number; x: number; accuracyM?: number; zone?: string }
  | { op: 'sameTime'; asset: number; x: number; accuracyM?: number; zone?: string; sighted?: string }
  | { op: 'resend'; asset: number; back: number }
  | { op: 'flush'; asset: number; ahead: number | undefined }
  | { op: 'roundTrip' | 'evict'; asset: number }
) & { moved?: boolean };

const asset = fc.constantFrom(0, 0, 0, 1);
const dt = fc.constantFrom(0, 1, 1_000, 5_000, 9_999, 10_000, 10_001, 20_000, 29_999, 30_000, 30_001, 60_000, 60_001, 90_000, 600_000);
const x = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...XS) }, { weight: 1, arbitrary: fc.constantFrom(...XS_FAR) });
const accuracyM = fc.option(fc.constantFrom(5, 50, 51, 500), { nil: undefined, freq: 3 });
const reported = fc.option(fc.constantFrom(...REPORTED), { nil: undefined, freq: 2 });
const ahead = fc.option(fc.constantFrom(-30_000, -10_000, -1, 0, 1, 9_999, 10_000, 10_001, 20_000, 29_999, 30_000, 30_001, 40_000, 59_999, 60_000, 60_001, 70_000, 90_000, 90_001, 120_000, 3_600_000), { nil: undefined, freq: 6 });
const op: fc.Arbitrary<Op> = fc.tuple(
  fc.oneof(
    { weight: 10, arbitrary: fc.record({ op: fc.constant('fix' as const), asset, dt, x, y: fc.constantFrom(0, 0, 0, 15, -40, 55, 70), accuracyM, zone: reported }, { requiredKeys: ['op', 'asset', 'dt', 'x', 'y'] }) },
    { weight: 8, arbitrary: fc.record({ op: fc.constant('stay' as const), asset, dt, d: fc.constantFrom(0, 3, -3, 12), zone: reported }, { requiredKeys: ['op', 'asset', 'dt', 'd'] }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('sighting' as const), asset, dt, zone: fc.constantFrom(...SIGHTED) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('late' as const), asset, back: fc.constantFrom(1, 5_000, 10_000, 10_001, 29_999, 30_000, 30_001, 60_000), x, accuracyM, zone: reported }, { requiredKeys: ['op', 'asset', 'back', 'x'] }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('sameTime' as const), asset, x, accuracyM, zone: reported, sighted: fc.option(fc.constantFrom(...SIGHTED), { nil: undefined, freq: 4 }) }, { requiredKeys: ['op', 'asset', 'x'] }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('resend' as const), asset, back: fc.nat(3) }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant('flush' as const), asset, ahead }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('roundTrip' as const, 'evict' as const), asset }) },
  ),
  fc.nat(30),
).map(([o, k]): Op => (k === 0 ? { ...o, moved: true } : o));

/** Each asset's clock, where it was last placed, and what it was sent, carried across a restart. */
interface Walk {
  readonly clock: number[];
  readonly place: [number, number][];
  readonly sent: PositionEvent[][];
}
const newWalk = (): Walk => ({ clock: ASSETS.map(() => T0), place: ASSETS.map((): [number, number] => [0, 0]), sent: ASSETS.map((): PositionEvent[] => []) });

function position(a: number, t: number, m: number, northM: number, o: { accuracyM?: number; zone?: string }): PositionEvent {
  return {
    kind: 'position',
    source: 'test',
    ids: [{ type: 'tag', value: `tag-${a}` }],
    eventTime: t,
    receivedAt: t,
    lat: LAT + northM / 111_320,
    lng: east(m),
    ...(o.accuracyM !== undefined ? { accuracyM: o.accuracyM } : {}),
    ...(o.zone !== undefined ? { zone: o.zone } : {}),
  };
}
const sighting = (a: number, t: number, zone: string): PositionEvent => ({ kind: 'position', source: 'reader', ids: [{ type: 'tag', value: `tag-${a}` }], eventTime: t, receivedAt: t, zone });

/** The oracle's steps for `ops` (with a final flush of every asset when `end`), each asset's clock moving on by its events' `dt`. */
function stepsOf(ops: readonly Op[], w: Walk, end: boolean): OracleStep[] {
  const steps: OracleStep[] = [];
  for (const o of ops) {
    const a = o.asset;
    const record = a === 0 && o.moved === true ? MOVED : (ASSETS[a] as AssetRecord);
    const send = (e: PositionEvent): void => {
      (w.sent[a] as PositionEvent[]).push(e);
      steps.push({ event: e, asset: record, now: e.receivedAt });
    };
    const now = w.clock[a] as number;
    if (o.op === 'fix') {
      w.clock[a] = now + o.dt;
      w.place[a] = [o.x, o.y];
      send(position(a, now + o.dt, o.x, o.y, o));
    } else if (o.op === 'stay') {
      w.clock[a] = now + o.dt;
      const [m, northM] = w.place[a] as [number, number];
      send(position(a, now + o.dt, m + o.d, northM, o));
    } else if (o.op === 'sighting') {
      w.clock[a] = now + o.dt;
      send(sighting(a, now + o.dt, o.zone));
    } else if (o.op === 'late') send(position(a, now - o.back, o.x, 0, o));
    else if (o.op === 'sameTime') send(o.sighted !== undefined ? sighting(a, now, o.sighted) : position(a, now, o.x, 0, o));
    else if (o.op === 'resend') {
      const list = w.sent[a] as PositionEvent[];
      const again = list[list.length - 1 - o.back];
      if (again) send({ ...again });
    } else if (o.op === 'flush') steps.push({ flush: o.ahead === undefined ? undefined : now + o.ahead, asset: record });
    else steps.push(o.op === 'roundTrip' ? { roundTrip: record } : { evict: record });
  }
  if (end) for (const record of ASSETS) steps.push({ flush: undefined, asset: record });
  return steps;
}

/** Every update naming a zone configured in `c` has no coordinates, or coordinates inside it or its band (1 m more, for their rounding). */
function expectCoordinatesInZone(c: Config, delivered: readonly DeliveryIntent[]): void {
  const zones = zonesOf(c);
  // Two zones of one name (a configuration refuses it): which one an update names cannot be told.
  if (c.noZones || new Set(zones.map((z) => z.name)).size < zones.length) return;
  const index = new ZoneIndex(zones, { hysteresisM: c.hysteresisM + 1 });
  for (const d of delivered) {
    const name = d.payload.zone as string | undefined;
    const at = d.payload.coordinates as { lat: number; lng: number } | null;
    // A zone no longer configured (the location sent last, kept until the asset leaves it) has no shape to check.
    if (name === undefined || at === null || index.zone(name) === undefined) continue;
    const hit = index.locate(at.lat, at.lng);
    if (!hit.inside.includes(name) && !hit.band.includes(name)) throw new Error(`an update names ${name} with coordinates beyond it and its band: ${JSON.stringify(d.payload)}`);
  }
}

describe('location sync, owned form: the pure rule’s decisions under configurations drawn at random', () => {
  it('in one configuration', () => {
    fc.assert(
      fc.property(config, fc.array(op, { minLength: 1, maxLength: 80, size: 'max' }), (c, ops) => {
        const options = optionsOf(c);
        const pure = createLocationSyncRule(options);
        expectCoordinatesInZone(c, compareOwned(pure, ownedLocationSync(pure, options), stepsOf(ops, newWalk(), true)).delivered);
      }),
      { numRuns: 60 },
    );
  });

  it('over a restart with a configuration changed a little (the states stored under the first read under the second)', () => {
    fc.assert(
      fc.property(
        config.filter((c) => !c.noZones),
        fc.array(change, { minLength: 1, maxLength: 3 }),
        fc.array(op, { minLength: 1, maxLength: 50, size: 'max' }),
        fc.array(op, { minLength: 1, maxLength: 50, size: 'max' }),
        (before, changes, first, then) => {
          const after = changed(before, changes);
          const previous = createLocationSyncRule(optionsOf(before));
          const walk = newWalk();
          // The states the first steps leave under the first configuration, as stored (JSON)...
          const stored = new Map<string, LocationSyncState | undefined>();
          for (const step of stepsOf(first, walk, false)) {
            if (!('asset' in step)) continue;
            const id = step.asset.erpAssetId;
            const ctx = { asset: step.asset, destination: 'erp', now: 0 };
            const r = 'event' in step ? previous.apply(stored.get(id), step.event, ctx) : previous.flush(stored.get(id), ctx, step.flush);
            stored.set(id, r.state);
          }
          const loads = ASSETS.filter((a) => stored.get(a.erpAssetId) !== undefined).map((a): OracleStep => ({ load: a, state: JSON.parse(JSON.stringify(stored.get(a.erpAssetId))) as unknown }));
          // ...read by both forms under the second, the walk going on.
          const options = optionsOf(after);
          const pure = createLocationSyncRule(options);
          expectCoordinatesInZone(after, compareOwned(pure, ownedLocationSync(pure, options), [...loads, ...stepsOf(then, walk, true)]).delivered);
        },
      ),
      { numRuns: 60 },
    );
  });
});
