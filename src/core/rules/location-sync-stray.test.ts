/**
 * Location sync with zones: one stray GPS fix while a dwell runs (beyond the band of the zone the
 * asset is in, or inside a zone it is not in). The dwell keeps the zone, and the update must not
 * carry coordinates that contradict it: the stray fix sends nothing, nor does the return from it,
 * so the ERP is written the same in any batching of the events (an ingest batch coalesces the
 * stray update with the return's; split batches would write both). Late and out-of-order strays
 * alike. The pure rule and its owned form agree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { writtenPerBatch } from '../../../test/helpers/fold-location-sync.js';
import { compareOwned, type OracleStep } from '../../../test/helpers/owned-oracle.js';
import { asset, BAND_M, CENTRE, eastM, fix, RADIUS_M, T0, walkStep, where } from '../../../test/helpers/yard-line.js';
import type { DeliveryIntent } from '../model/delivery.js';
import type { PositionEvent } from '../model/events.js';
import { haversineM } from './geo.js';
import { createLocationSyncRule, roundCoordinate, type LocationSyncOptions, type LocationSyncState } from './location-sync.js';
import { ownedLocationSync } from './location-sync-owned.js';
import { simulateRules } from './simulate.js';
import { ZoneIndex, type Zone } from './zones/index.js';

const yard: Zone = { name: 'yard', locationCode: '1000/0001', priority: 0, shape: { type: 'circle', ...CENTRE, radiusM: RADIUS_M } };
const zones = { index: new ZoneIndex([yard], { hysteresisM: BAND_M }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 100 };
const options = (allowedLatenessMs = 0): LocationSyncOptions => ({ minDistanceM: 100, heartbeatMs: 3_600_000, zones, allowedLatenessMs });

/** What the ERP is sent for `events` in batches of `sizes` (state through JSON between them), the dispatcher draining after each. */
function erpWrites(events: readonly PositionEvent[], sizes: readonly number[], lateness = 0) {
  const r = simulateRules([createLocationSyncRule(options(lateness))], events.map((event) => ({ event, asset, destination: 'erp' })), { batchSizes: sizes });
  return writtenPerBatch(r.perStep, sizes).map(where);
}
const ones = (n: number) => Array.from({ length: n }, () => 1);

/**
 * The events through the pure rule and the owned form, the state through JSON after each (a batch
 * each), an idle watermark at `flushAt` if given, then the end of the input: what they sent, or a throw.
 */
function bothForms(events: readonly PositionEvent[], lateness = 0, flushAt?: number) {
  const pure = createLocationSyncRule(options(lateness));
  const steps: OracleStep[] = events.flatMap((event): OracleStep[] => [{ event, asset }, { roundTrip: asset }]);
  if (flushAt !== undefined) steps.push({ flush: T0 + flushAt * 1000, asset });
  steps.push({ flush: undefined, asset }); // the end of the input: every fix waiting is released
  return compareOwned(pure, ownedLocationSync(pure, options(lateness)), steps).delivered.map(where);
}

/**
 * Whether an update's coordinates agree with its zone: the yard's code within the yard and its
 * band, no code outside the yard (a fix in the band of a zone not entered is outside it).
 */
function agrees(d: DeliveryIntent): boolean {
  const c = d.payload.coordinates as { lat: number; lng: number } | null;
  if (c === null) return true;
  const m = haversineM(CENTRE, c);
  return d.payload.warehouseLocation === yard.locationCode ? m <= RADIUS_M + BAND_M + 1 : m > RADIUS_M - 1;
}

describe('location sync: a stray fix during an exit dwell', () => {
  // Parked in the yard (entered at 40 s), one fix 600 m off at 100 s, then back where it was.
  const events = [fix(0, 0), fix(40, 0), fix(70, 0), fix(100, 600), fix(110, 0), fix(140, 0)];

  it('keeps the zone and sends nothing for the stray fix nor the return from it, in one batch or many', () => {
    const expected = [
      [0, null, 0],
      [40, '1000/0001', 0],
    ];
    // Was [100, '1000/0001', 600] (the yard's code 600 m outside it), then [110, '1000/0001', 0], written across batches.
    expect(erpWrites(events, ones(events.length))).toEqual(expected);
    expect(erpWrites(events, [2, 4])).toEqual(expected.slice(1));
    expect(erpWrites(events, [events.length])).toEqual(expected.slice(1));
    expect(bothForms(events)).toEqual(expected);
  });

  it('a real departure: the fixes beyond the band send nothing until the exit dwell is over, then the new place (by fix or idle watermark)', () => {
    const leaves = [fix(0, 0), fix(40, 0), fix(100, 600), fix(130, 900), fix(160, 1200), fix(170, 1300)];
    const expected = [
      [0, null, 0],
      [40, '1000/0001', 0],
      [160, null, 1200], // 60 s beyond the band since 100 s
    ];
    expect(erpWrites(leaves, ones(leaves.length))).toEqual(expected);
    expect(bothForms(leaves)).toEqual(expected);
    // Parked at 900 m with no further fix: the idle watermark decides the exit, at the fix that placed it.
    expect(bothForms(leaves.slice(0, 4), 0, 400)).toEqual([
      [0, null, 0],
      [40, '1000/0001', 0],
      [160, null, 900], // dated to the end of the dwell
    ]);
  });

  it('a stray fix arriving late is late, and one out of order within the lateness is put in its place: the same writes', () => {
    // Lateness 0: the stray (100 s) arrives after the 110 s fix: late, nothing sent for it.
    const lateStray = [fix(0, 0), fix(40, 0), fix(70, 0), fix(110, 0), fix(100, 600, 115), fix(140, 0)];
    const r = simulateRules([createLocationSyncRule(options())], lateStray.map((event) => ({ event, asset, destination: 'erp' })));
    expect(r.lateByStep[4]).toEqual(['location']);
    expect(erpWrites(lateStray, ones(lateStray.length))).toEqual([
      [0, null, 0],
      [40, '1000/0001', 0],
    ]);
    // Lateness 30 s: put in order, it is the stray of the first case, released with the return from
    // it (the end of the input): nothing sent for either, as in order, in any batching.
    const expected = [
      [0, null, 0],
      [40, '1000/0001', 0],
    ];
    expect(bothForms(lateStray, 30_000)).toEqual(expected);
    expect(bothForms(events, 30_000)).toEqual(expected);
    expect(erpWrites(lateStray, ones(lateStray.length), 30_000)).toEqual(erpWrites(events, ones(events.length), 30_000));
  });
});

describe('location sync: a state stored by a version that sent the stray fix', () => {
  it('loads as it is; the return from the stray fix sends where the asset is, in the zone', () => {
    const at = (sec: number, m: number) => ({ lat: 52.5, lng: roundCoordinate(eastM(m)), eventTime: T0 + sec * 1000 });
    // Written after the stray fix of 100 s was sent with the yard's code (the exit dwell running).
    const stored: LocationSyncState = {
      last: { ...at(100, 600), zone: '1000/0001', zoneName: 'yard' },
      synced: { ...at(100, 600), zone: '1000/0001', zoneName: 'yard' },
      zones: { yard: { phase: 'leaving', since: T0 + 100_000 } },
    };
    const pure = createLocationSyncRule(options());
    const steps: OracleStep[] = [{ load: asset, state: stored }, { event: fix(110, 0), asset }, { event: fix(120, 600), asset }, { event: fix(130, 0), asset }];
    expect(compareOwned(pure, ownedLocationSync(pure, options()), steps).delivered.map(where)).toEqual([[110, '1000/0001', 0]]);
  });
});

describe('location sync: a stray fix during an enter dwell (the mirror case)', () => {
  // Outside the yard (1 km east), one fix inside it at 100 s, then back.
  const events = [fix(0, 1000), fix(40, 1000), fix(100, 50), fix(110, 1000), fix(140, 1000)];

  it('sends nothing for the stray fix nor the return from it, in one batch or many', () => {
    // Was [100, null, 50] (inside the yard with no location code), then [110, null, 1000], written across batches.
    expect(erpWrites(events, ones(events.length))).toEqual([[0, null, 1000]]);
    expect(erpWrites(events, [events.length])).toEqual([[0, null, 1000]]);
    expect(bothForms(events)).toEqual([[0, null, 1000]]);
  });

  it('a real arrival: the fixes inside send nothing until the enter dwell is over, then the zone (by fix or idle watermark)', () => {
    const arrives = [fix(0, 1000), fix(100, 50), fix(110, 40), fix(130, 40), fix(140, 40)];
    const expected = [
      [0, null, 1000],
      [130, '1000/0001', 40], // inside since 100 s: the 30 s dwell is over
    ];
    expect(erpWrites(arrives, ones(arrives.length))).toEqual(expected);
    expect(bothForms(arrives)).toEqual(expected);
    expect(bothForms(arrives.slice(0, 2), 0, 400)).toEqual([
      [0, null, 1000],
      [130, '1000/0001', 50], // dated to the end of the dwell, where it parked
    ]);
  });

  it('an asset\'s first fix is sent wherever it is: the ERP has no location to keep', () => {
    expect(bothForms([fix(0, 50), fix(40, 50)])).toEqual([
      [0, null, 50],
      [40, '1000/0001', 50],
    ]);
  });
});

describe('location sync: an exit an idle watermark settles while the asset is entering another zone', () => {
  // Two yards side by side: west (the yard) and east, 500 m further east.
  const east: Zone = { name: 'east', locationCode: '1000/0005', priority: 0, shape: { type: 'circle', lat: 52.5, lng: eastM(500), radiusM: 200 } };
  it('sends nothing while the entry runs (no null code from inside the zone being entered), then the new zone', () => {
    // In the yard, out beyond its band at 100 s, into the east yard at 140 s, parked there: the
    // watermark of 165 s settles the exit (due at 160 s, 60 s from 100 s); the east yard is entered
    // only at 170 s (30 s from 140 s).
    const events = [fix(0, 0), fix(40, 0), fix(100, 260), fix(140, 500)];
    const two = { ...options(), zones: { ...zones, index: new ZoneIndex([yard, east], { hysteresisM: BAND_M }) } };
    const pure = createLocationSyncRule(two);
    const run = (flushAt: readonly number[]) =>
      compareOwned(pure, ownedLocationSync(pure, two), [
        ...events.flatMap((event): OracleStep[] => [{ event, asset }, { roundTrip: asset }]),
        ...flushAt.map((at): OracleStep => ({ flush: T0 + at * 1000, asset })),
      ]).delivered.map(where);
    // Was [160, null, 500] at the watermark of 165 s: in no zone, its coordinates in the east yard's middle.
    expect(run([165])).toEqual([
      [0, null, 0],
      [40, '1000/0001', 0],
    ]);
    expect(run([165, 200])).toEqual([
      [0, null, 0],
      [40, '1000/0001', 0],
      [170, '1000/0005', 500], // the east yard entered (30 s from 140 s)
    ]);
  });
});

describe('location sync: coordinates never contradict the zone sent (property)', () => {
  it('after the first fix, for any walk with strays, lateness, arrival order within it, batching and watermarks; both forms alike', () => {
    const step = walkStep;
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), fc.constantFrom(0, 30_000), (walk, lateness) => {
        let t = 0;
        const timed = walk.map((s) => ({ s, e: fix((t += s.dt), s.m, t + (lateness > 0 ? s.delay : 0)) }));
        const arrived = [...timed].sort((x, y) => x.e.receivedAt - y.e.receivedAt);
        const steps: OracleStep[] = [];
        for (const { s, e } of arrived) {
          steps.push({ event: e, asset });
          if (s.cut) steps.push({ roundTrip: asset }); // a batch ends: the state through JSON
          if (s.watermark !== undefined) steps.push({ flush: e.receivedAt + s.watermark * 1000, asset });
        }
        steps.push({ flush: undefined, asset });
        const pure = createLocationSyncRule(options(lateness));
        const delivered = compareOwned(pure, ownedLocationSync(pure, options(lateness)), steps).delivered;
        for (const d of delivered.slice(1)) expect(agrees(d), JSON.stringify(where(d))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

