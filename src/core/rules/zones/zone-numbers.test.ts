import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Zone } from './geometry.js';
import { ZoneIndex } from './zone-index.js';
import { mulberry32 } from '../../../../simulators/random.js';
import { square, squareRing } from '../../../../test/helpers/geo.js';

/** locateNumbers' answer as names, in the shape locate gives (undefined: it asks for locate instead). */
function numbersAsHit(index: ZoneIndex, lat: number, lng: number, room = 4): { inside: string[]; band: string[] } | undefined {
  const inside = new Int32Array(room);
  const band = new Int32Array(room);
  const n = index.locateNumbers(lat, lng, inside, band);
  const nIn = n % 65536;
  const nBand = Math.floor(n / 65536);
  if (nIn > room || nBand > room) return undefined;
  const name = (k: number) => (index.zones[k] as Zone).name;
  return { inside: Array.from(inside.subarray(0, nIn), name), band: Array.from(band.subarray(0, nBand), name) };
}

/** Zones of every kind the compiled index handles apart: circles, one-ring squares, holes, multipolygons, a zone too large for the grid. */
function mixedZones(seed: number, sites: readonly (readonly [number, number])[], count: number): Zone[] {
  const rnd = mulberry32(seed);
  const zones: Zone[] = [];
  for (let i = 0; i < count; i++) {
    const [lat0, lng0] = sites[i % sites.length] as readonly [number, number];
    const lat = lat0 + (rnd() - 0.5) * 0.02;
    const lng = lng0 + (rnd() - 0.5) * 0.02;
    const size = 50 + rnd() * 600;
    const kind = i % 5;
    const shape: Zone['shape'] =
      kind === 0 || kind === 1
        ? { type: 'circle', lat, lng, radiusM: size }
        : kind === 2 || kind === 3
          ? { type: 'polygon', polygons: [square(lat, lng, size)] }
          : i % 2
            ? { type: 'polygon', polygons: [[squareRing(lat, lng, size), squareRing(lat, lng, size / 3)]] } // a hole
            : { type: 'polygon', polygons: [square(lat, lng, size), square(lat + 0.003, lng, size / 2)] };
    zones.push({ name: `z${i}`, locationCode: `L${i}`, priority: 0, shape });
  }
  return zones;
}

describe('ZoneIndex.locateNumbers', () => {
  it('finds the zones locate finds, in the same order, on a regional grid, a worldwide one and one with large zones', () => {
    // Mutations: a box side or a ring edge skipped, the band test of a ring or circle off by the
    // margin, the large zones not sorted in, a cell's run off by one.
    const berlin: readonly (readonly [number, number])[] = [[52.5, 13.4]];
    const sites = [[52.5, 13.4], [-33.9, 18.4], [40.7, -74], [0.1, 179.999], [0.1, -179.999]] as const;
    const regionalZones = mixedZones(3, berlin, 200);
    const worldZones = mixedZones(5, sites, 300);
    // Zones too large for the grid, first in configuration order (they are tested after a cell's).
    const large: Zone[] = [
      { name: 'region', locationCode: 'R', priority: 0, shape: { type: 'polygon', polygons: [square(52.5, 13.4, 300_000)] } },
      { name: 'disc', locationCode: 'D', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200_000 } },
    ];
    const withLarge = [...large, ...regionalZones];
    const indexes = [
      new ZoneIndex(regionalZones, { hysteresisM: 25 }),
      new ZoneIndex(worldZones, { hysteresisM: 30, cellDeg: 0.0005 }),
      new ZoneIndex(withLarge, { hysteresisM: 20 }),
      new ZoneIndex(regionalZones, { hysteresisM: 0 }),
    ];
    const near = fc.tuple(fc.constantFrom(...sites), fc.double({ min: -0.012, max: 0.012, noNaN: true }), fc.double({ min: -0.012, max: 0.012, noNaN: true })).map(([[la, ln], dLat, dLng]) => [la + dLat, ln + dLng] as const);
    const anywhere = fc.tuple(fc.double({ min: -90, max: 90, noNaN: true }), fc.double({ min: -180, max: 180, noNaN: true }));
    let found = 0;
    fc.assert(
      fc.property(fc.oneof(near, near, anywhere), ([lat, lng]) => {
        for (const index of indexes) {
          const expected = index.locate(lat, lng);
          const got = numbersAsHit(index, lat, lng, 64);
          expect(got).toEqual({ inside: [...expected.inside], band: [...expected.band] });
          found += expected.inside.length + expected.band.length;
        }
      }),
      { numRuns: 4000 },
    );
    // Positions on a lattice over Berlin's zones and their edges.
    for (let i = 0; i <= 80; i++)
      for (let j = 0; j <= 80; j++) {
        const lat = 52.5 - 0.012 + (i * 0.024) / 80;
        const lng = 13.4 - 0.012 + (j * 0.024) / 80;
        for (const index of [indexes[0], indexes[2], indexes[3]] as ZoneIndex[]) {
          const expected = index.locate(lat, lng);
          expect(numbersAsHit(index, lat, lng, 64)).toEqual({ inside: [...expected.inside], band: [...expected.band] });
          found += expected.inside.length + expected.band.length;
        }
      }
    expect(found).toBeGreaterThan(5000);
  });

  it('counts zones beyond the room it was given, so the caller can tell', () => {
    const stack: Zone[] = Array.from({ length: 6 }, (_, i) => ({ name: `s${i}`, locationCode: `S${i}`, priority: 0, shape: { type: 'circle', lat: 1, lng: 1, radiusM: 100 + i * 10 } }));
    const index = new ZoneIndex(stack, { hysteresisM: 20 });
    const inside = new Int32Array(2);
    const band = new Int32Array(2);
    expect(index.locateNumbers(1, 1, inside, band)).toBe(6);
    expect(numbersAsHit(index, 1, 1, 2)).toBeUndefined();
    expect(numbersAsHit(index, 1, 1, 6)).toEqual({ inside: ['s0', 's1', 's2', 's3', 's4', 's5'], band: [] });
    expect(index.locateNumbers(40, 40, inside, band)).toBe(0);
  });
});
