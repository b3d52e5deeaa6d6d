/**
 * Location sync after a restart with a zone renamed or removed in the config, the asset's state
 * stored under the old zones (JSON). The coordinates sent never contradict the code sent with
 * them: while the asset is still in a zone no longer configured (its exit dwell running: no fix
 * can be inside a zone that has no shape now) its fixes send nothing, and the ERP keeps what it
 * had. A rename never makes a machine flap out and back in; a removed zone's machines move
 * to whatever zone (or none) their position says, after the usual dwell. Both forms alike, in any
 * batching.
 */
import { describe, expect, it } from 'vitest';
import { compareOwned, type OracleStep } from '../../../test/helpers/owned-oracle.js';
import type { AssetRecord } from '../model/assets.js';
import type { DeliveryIntent } from '../model/delivery.js';
import type { PositionEvent } from '../model/events.js';
import { haversineM } from './geo.js';
import { createLocationSyncRule, type LocationSyncOptions, type LocationSyncState } from './location-sync.js';
import { ownedLocationSync } from './location-sync-owned.js';
import { simulateRules } from './simulate.js';
import { ZoneIndex, type Zone } from './zones/index.js';

const asset: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} };
const ctx = { asset, destination: 'erp', now: 0 };
const T0 = Date.UTC(2026, 9, 1, 8);
/** Longitude `m` metres east of 13.4 at latitude 52.5. */
const eastM = (m: number) => 13.4 + m / (111_320 * Math.cos((52.5 * Math.PI) / 180));
const CENTRE = { lat: 52.5, lng: 13.4 };
const RADIUS_M = 200;
const BAND_M = 25;

const yard = (name = 'yard', locationCode = '1000/0001'): Zone => ({ name, locationCode, priority: 0, shape: { type: 'circle', ...CENTRE, radiusM: RADIUS_M } });
/** Far away from the yard (10 km east): a zone set is never empty. */
const depot: Zone = { name: 'depot', locationCode: '2000/0001', priority: 0, shape: { type: 'circle', lat: 52.5, lng: eastM(10_000), radiusM: 200 } };
const options = (zones: readonly Zone[], allowedLatenessMs = 0): LocationSyncOptions => ({
  minDistanceM: 100,
  heartbeatMs: 3_600_000,
  allowedLatenessMs,
  zones: { index: new ZoneIndex(zones, { hysteresisM: BAND_M }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 100 },
});

const BEFORE = [yard(), depot];
const CONFIGS = {
  removed: [depot],
  renamed: [yard('yard-north'), depot],
  'renamed and recoded': [yard('yard-north', '1000/0002'), depot],
} as const;

/** A fix `m` metres east of the yard's centre, `sec` seconds after T0 (received then, or at `receivedSec`). */
const fix = (sec: number, m: number, receivedSec = sec): PositionEvent => ({
  kind: 'position',
  source: 'test',
  ids: [{ type: 'tag', value: 't1' }],
  eventTime: T0 + sec * 1000,
  receivedAt: T0 + receivedSec * 1000,
  lat: 52.5,
  lng: eastM(m),
});

const where = (d: DeliveryIntent) => {
  const c = d.payload.coordinates as { lat: number; lng: number } | null;
  return [(d.eventTime - T0) / 1000, d.payload.warehouseLocation, c === null ? null : Math.round(haversineM(CENTRE, c) / 10) * 10];
};

/** The state `events` leave under the old zones, stored as JSON (what the restart loads). */
function storedAfter(events: readonly PositionEvent[], lateness = 0): { state: LocationSyncState; sent: DeliveryIntent[] } {
  const rule = createLocationSyncRule(options(BEFORE, lateness));
  let state: LocationSyncState | undefined;
  const sent: DeliveryIntent[] = [];
  for (const e of events) {
    const r = rule.apply(state, e, ctx);
    state = r.state;
    sent.push(...r.deliveries);
  }
  return { state: JSON.parse(JSON.stringify(state)) as LocationSyncState, sent };
}

/** Each batch's deliveries as the ingestor writes them: the newest location update per batch. */
function written(perStep: readonly (readonly DeliveryIntent[])[], sizes: readonly number[]): DeliveryIntent[] {
  const out: DeliveryIntent[] = [];
  let at = 0;
  for (const size of sizes) {
    let newest: DeliveryIntent | undefined;
    for (const d of perStep.slice(at, at + size).flat()) if (newest === undefined || newest.eventTime <= d.eventTime) newest = d;
    if (newest !== undefined) out.push(newest);
    at += size;
  }
  return out;
}

/** What the ERP is sent after the restart under `zones` for `events` in batches of `sizes` (state through JSON between them). */
function erpWrites(stored: LocationSyncState, zones: readonly Zone[], events: readonly PositionEvent[], sizes: readonly number[], lateness = 0) {
  const r = simulateRules(
    [createLocationSyncRule(options(zones, lateness))],
    events.map((event) => ({ event, asset, destination: 'erp' })),
    { batchSizes: sizes, initial: new Map([[asset.erpAssetId, { location: stored }]]) },
  );
  return written(r.perStep, sizes).map(where);
}

/** Both forms from `stored` under `zones`, the state through JSON after each event, then the end of the input. */
function bothForms(stored: LocationSyncState, zones: readonly Zone[], events: readonly PositionEvent[], lateness = 0, flushAt?: number) {
  const pure = createLocationSyncRule(options(zones, lateness));
  const steps: OracleStep[] = [{ load: asset, state: stored }, ...events.flatMap((event): OracleStep[] => [{ event, asset }, { roundTrip: asset }])];
  if (flushAt !== undefined) steps.push({ flush: T0 + flushAt * 1000, asset });
  steps.push({ flush: undefined, asset });
  return compareOwned(pure, ownedLocationSync(pure, options(zones, lateness)), steps).delivered.map(where);
}
const ones = (n: number) => Array.from({ length: n }, () => 1);

describe('location sync: an asset in a zone no longer configured (renamed or removed) after a restart', () => {
  // Parked in the yard (entered at 40 s, sent with the yard's code), stored; the service restarts.
  const parked = () => storedAfter([fix(0, 0), fix(40, 0)]);

  it('sends nothing while it is still in the old zone (the exit dwell), then where its position says: no old code with coordinates outside it', () => {
    const { state, sent } = parked();
    expect(sent.map(where)).toEqual([
      [0, null, 0],
      [40, '1000/0001', 0],
    ]);
    // Driving away after the restart: 600 m off at 610 s, still in the old zone until its exit dwell (60 s from 600 s) is over.
    const away = [fix(600, 0), fix(610, 600), fix(640, 900), fix(670, 1200), fix(700, 1300)];
    for (const zones of Object.values(CONFIGS)) {
      // Was [610, '1000/0001', 600]: the old zone's code 600 m outside it.
      const expected = [[670, null, 1200]];
      expect(erpWrites(state, zones, away, ones(away.length))).toEqual(expected);
      expect(erpWrites(state, zones, away, [2, 3])).toEqual(expected);
      expect(erpWrites(state, zones, away, [away.length])).toEqual(expected);
      expect(bothForms(state, zones, away)).toEqual(expected);
      expect(bothForms(state, zones, away, 30_000)).toEqual(expected);
      // Parked at 900 m with no further fix: the idle watermark decides the exit, dated to the end of the dwell.
      expect(bothForms(state, zones, away.slice(0, 3), 0, 1200)).toEqual([[660, null, 900]]);
    }
  });

  it('renamed in place: a machine moving about in it is never sent out and back in; the code it has stands', () => {
    const { state } = parked();
    const about = [fix(600, 0), fix(610, 150), fix(640, 150), fix(670, 20), fix(700, 150)];
    // Was [610, '1000/0001', 150] under the old name (sent while the old name was being left).
    // The old name is left at 660 s: the renamed zone places it, with the code sent (at 670 s, 20 m
    // from the fix sent: nothing new); moved 150 m at 700 s.
    const expected = [[700, '1000/0001', 150]];
    expect(erpWrites(state, CONFIGS.renamed, about, ones(about.length))).toEqual(expected);
    expect(bothForms(state, CONFIGS.renamed, about)).toEqual(expected);
    expect(bothForms(state, CONFIGS.renamed, about, 30_000)).toEqual(expected);
    // Renamed with a new code: that code once the old name is left, never a null in between.
    expect(bothForms(state, CONFIGS['renamed and recoded'], about)).toEqual([
      [670, '1000/0002', 20],
      [700, '1000/0002', 150],
    ]);
  });

  it('a state stored by a version that sent a stray fix under the old zone loads as it is', () => {
    const { state } = parked();
    const stray: LocationSyncState = { ...state, synced: { ...(state.synced as NonNullable<LocationSyncState['synced']>), eventTime: T0 + 600_000, lng: eastM(600) } };
    expect(bothForms(stray, CONFIGS.removed, [fix(610, 650), fix(640, 700), fix(670, 700)])).toEqual([[670, null, 700]]);
  });
});
