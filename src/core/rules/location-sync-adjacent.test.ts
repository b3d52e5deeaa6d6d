/**
 * Location sync with zones side by side (two bays along one wall, a gate's circle beside a yard):
 * the hysteresis band of the zone an asset drove out of reaches into the one beside it. An asset
 * parked inside the next bay, within the band of the one it left, is in the next bay: that one is
 * entered, and the one left is left after its exit dwell, whichever ranks first where they
 * overlap. Nested zones (a bay in its yard) keep their bands: an asset just outside the bay, in the
 * yard, stays in the bay. The pure rule and its owned form agree.
 */
import { describe, expect, it } from 'vitest';
import { compareOwned, type OracleStep } from '../../../test/helpers/owned-oracle.js';
import { asset, eastM, fix, where } from '../../../test/helpers/yard-line.js';
import type { PositionEvent } from '../model/events.js';
import { createLocationSyncRule, type LocationSyncOptions } from './location-sync.js';
import { ownedLocationSync } from './location-sync-owned.js';
import { ZoneIndex, type LngLat, type Zone } from './zones/index.js';

const north = (m: number): number => 52.5 + m / 111_320;
/** A box from `west` to `east` metres east of 13.4, 50 m either side of latitude 52.5. */
const box = (west: number, east: number): LngLat[] => [
  [eastM(west), north(-50)],
  [eastM(east), north(-50)],
  [eastM(east), north(50)],
  [eastM(west), north(50)],
  [eastM(west), north(-50)],
];
const polygon = (name: string, locationCode: string, west: number, east: number): Zone => ({ name, locationCode, priority: 0, shape: { type: 'polygon', polygons: [[box(west, east)]] } });
// Two bays of one size along the wall at 0 m: bay 1 listed first, so it ranks first where both place an asset.
const bay1 = polygon('BAY-1', 'B1', -100, 0);
const bay2 = polygon('BAY-2', 'B2', 0, 100);
const yard = polygon('YARD', 'Y', -300, 300);

const options = (zoneList: readonly Zone[], allowedLatenessMs: number): LocationSyncOptions => ({
  minDistanceM: 100,
  heartbeatMs: 3_600_000,
  allowedLatenessMs,
  zones: { index: new ZoneIndex(zoneList, { hysteresisM: 25 }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 0 },
});

/** What the pure rule and its owned form send for `events` (state through JSON after each), then at the end of the input. */
function bothForms(zoneList: readonly Zone[], events: readonly PositionEvent[], lateness: number) {
  const pure = createLocationSyncRule(options(zoneList, lateness));
  const steps: OracleStep[] = events.flatMap((event): OracleStep[] => [{ event, asset }, { roundTrip: asset }]);
  steps.push({ flush: undefined, asset });
  return compareOwned(pure, ownedLocationSync(pure, options(zoneList, lateness)), steps).delivered.map(where);
}

describe('location sync: zones side by side', () => {
  for (const lateness of [0, 30_000]) {
    it(`an asset parked inside the next bay, within the band of the one it left, is sent in the next bay (lateness ${lateness} ms)`, () => {
      // In bay 1 (entered at 30 s), then 10 m past the wall into bay 2 from 60 s on, and parked there.
      const events = [fix(0, -50), fix(30, -50), fix(60, 10), fix(90, 10), fix(120, 10), fix(150, 10), fix(600, 10)];
      // Was [0, null, 50], [30, 'B1', 50] and nothing more: bay 1's band held it there for as long as it stayed.
      expect(bothForms([bay1, bay2], events, lateness)).toEqual([
        [0, null, 50],
        [30, 'B1', 50],
        [120, 'B2', 10],
      ]);
      // The same with the yard around both bays: the bays' bands reach into each other, not the yard's.
      expect(bothForms([yard, bay1, bay2], events, lateness)).toEqual([
        [0, null, 50],
        [30, 'B1', 50],
        [120, 'B2', 10],
      ]);
    });
  }

  it('border jitter across the wall still moves nothing: each fix back in bay 1 keeps it there', () => {
    const events = [fix(0, -50), fix(30, -50), fix(60, 5), fix(80, -5), fix(100, 5), fix(120, -5), fix(140, 5), fix(160, -5)];
    expect(bothForms([bay1, bay2], events, 0)).toEqual([
      [0, null, 50],
      [30, 'B1', 50],
    ]);
  });

  it('a bay in its yard keeps its band: an asset just outside the bay, in the yard, stays in the bay', () => {
    const events = [fix(0, -50), fix(30, -50), fix(60, 10), fix(120, 10), fix(600, 10)];
    expect(bothForms([yard, bay1], events, 0)).toEqual([
      [0, null, 50],
      [30, 'B1', 50],
    ]);
  });
});

describe('zone index: the band of a zone beside the one a position is inside', () => {
  const circleAt = (name: string, m: number, radiusM: number): Zone => ({ name, locationCode: name, priority: 0, shape: { type: 'circle', lat: 52.5, lng: eastM(m), radiusM } });
  const cases: [string, Zone[], number, { inside: string[]; band: string[] }][] = [
    ['bays side by side', [bay1, bay2], 10, { inside: ['BAY-2'], band: [] }],
    ['bays side by side, the other way', [bay1, bay2], -10, { inside: ['BAY-1'], band: [] }],
    ['a bay in its yard', [yard, bay1], 10, { inside: ['YARD'], band: ['BAY-1'] }],
    ['bays in their yard', [yard, bay1, bay2], 10, { inside: ['YARD', 'BAY-2'], band: [] }],
    ['a gate beside a bay', [bay2, circleAt('GATE', -40, 40)], 10, { inside: ['BAY-2'], band: [] }],
    ['a gate overlapping a bay', [bay2, circleAt('GATE', -30, 40)], 20, { inside: ['BAY-2'], band: ['GATE'] }],
    ['two gates apart by a metre', [circleAt('G1', -40, 39.5), circleAt('G2', 40, 39.5)], 10, { inside: ['G2'], band: [] }],
    ['outside both bays, in both bands', [bay1, bay2], 110, { inside: [], band: ['BAY-2'] }],
  ];
  for (const [what, zoneList, m, expected] of cases) {
    it(`${what}: locate and locateNumbers alike`, () => {
      const index = new ZoneIndex(zoneList, { hysteresisM: 25 });
      expect(index.locate(52.5, eastM(m))).toEqual(expected);
      const inside = new Int32Array(8);
      const band = new Int32Array(8);
      const n = index.locateNumbers(52.5, eastM(m), inside, band);
      const names = (a: Int32Array, k: number) => Array.from(a.subarray(0, k), (z) => (zoneList[z] as Zone).name);
      expect({ inside: names(inside, n & 0xffff), band: names(band, n >>> 16) }).toEqual(expected);
    });
  }
});
