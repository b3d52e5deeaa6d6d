import { describe, expect, it } from 'vitest';
import { areaM2, placement, type LngLat, type Zone } from './geometry.js';
import { ZoneIndex } from './zone-index.js';
import { square } from '../../../../test/helpers/geo.js';

const east = (lat: number, lng: number, m: number) => lng + m / (111_320 * Math.cos((lat * Math.PI) / 180));

describe('zone index: MultiPolygon zones', () => {
  // Two yards of one plant 10 km apart, one zone (a GeoJSON MultiPolygon).
  const docks: Zone = { name: 'docks', locationCode: 'WH1-D', priority: 0, shape: { type: 'polygon', polygons: [square(52.5, 13.4, 200), square(52.5, east(52.5, 13.4, 10_000), 200)] } };

  it('finds a position inside any of the polygons, not only the first', () => {
    // Mutations: the bounding box from the first polygon only; placement testing the first polygon only.
    const index = new ZoneIndex([docks], { hysteresisM: 25 });
    expect(index.locate(52.5, 13.4)).toEqual({ inside: ['docks'], band: [] });
    expect(index.locate(52.5, east(52.5, 13.4, 10_000))).toEqual({ inside: ['docks'], band: [] });
    expect(placement(docks.shape, 52.5, east(52.5, 13.4, 10_000), 25)).toBe('inside');
    // Between the two: in neither.
    expect(index.locate(52.5, east(52.5, 13.4, 5_000))).toEqual({ inside: [], band: [] });
  });
});

describe('zone index: the hysteresis band of a polygon far from the equator', () => {
  it('reports a position just east of the edge as in the band, as placement does', () => {
    // Mutation: the search box grown by the margin in degrees of latitude on both axes (no cos(lat)),
    // too narrow east-west at 60° N: an asset in the band would be seen as outside and start leaving.
    const yard: Zone = { name: 'yard', locationCode: 'Y', priority: 0, shape: { type: 'polygon', polygons: [square(60, 10, 200)] } };
    const index = new ZoneIndex([yard], { hysteresisM: 25 });
    for (const m of [105, 115, 120, 124]) {
      const lng = east(60, 10, m);
      expect(placement(yard.shape, 60, lng, 25)).toBe('band');
      expect(index.locate(60, lng)).toEqual({ inside: [], band: ['yard'] });
      const west = 10 - (lng - 10);
      expect(index.locate(60, west)).toEqual({ inside: [], band: ['yard'] });
    }
  });
});

describe('zone index: the hysteresis band of a polygon within a degree of a pole', () => {
  it('reports a position east or west of the edge in the band, as placement does, as for a circle', () => {
    // Was: the search box grown east-west by the degrees the margin spans at 89° at most, too
    // narrow nearer the pole (half as wide at 89.5°): a band position there was seen as outside.
    for (const lat of [89.5, 89.9, 89.99, -89.99, 89.9995]) {
      const yard: Zone = { name: 'yard', locationCode: 'Y', priority: 0, shape: { type: 'polygon', polygons: [square(lat, 10, 100)] } };
      const index = new ZoneIndex([yard], { hysteresisM: 25 });
      for (const m of [55, 65, 74]) {
        const lng = east(lat, 10, m);
        expect(placement(yard.shape, lat, lng, 25)).toBe('band');
        expect(index.locate(lat, lng)).toEqual({ inside: [], band: ['yard'] });
        expect(index.locate(lat, 10 - (lng - 10))).toEqual({ inside: [], band: ['yard'] });
      }
    }
  });
});

describe('zone index: order and ties', () => {
  it('lists the zones a position is in in configuration order, a zone too large for the grid included', () => {
    // Mutation: the names not sorted by configuration order (large zones come after the grid's).
    const region: Zone = { name: 'region', locationCode: 'R', priority: 0, shape: { type: 'polygon', polygons: [square(52.5, 13.4, 300_000)] } };
    const yard: Zone = { name: 'yard', locationCode: 'Y', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } };
    const index = new ZoneIndex([region, yard], { hysteresisM: 25, cellDeg: 0.001 });
    expect(index.locate(52.5, 13.4).inside).toEqual(['region', 'yard']);
  });

  it('of zones with equal priority and equal area, the one configured first wins', () => {
    // Mutation: the last tiebreak reversed (the later zone wins).
    const a: Zone = { name: 'bay-a', locationCode: 'A', priority: 1, shape: { type: 'circle', lat: 1, lng: 1, radiusM: 50 } };
    const b: Zone = { name: 'bay-b', locationCode: 'B', priority: 1, shape: { type: 'circle', lat: 1, lng: 1, radiusM: 50 } };
    const index = new ZoneIndex([a, b], { hysteresisM: 0 });
    expect(index.best(['bay-a', 'bay-b'])?.name).toBe('bay-a');
    expect(index.best(['bay-b', 'bay-a'])?.name).toBe('bay-a');
    expect(new ZoneIndex([b, a], { hysteresisM: 0 }).best(['bay-a', 'bay-b'])?.name).toBe('bay-b');
  });

  it('of one square drawn from another corner (or the other way round), the one configured first wins', () => {
    // Was: the area projected at each ring's first vertex's latitude, so the square started at a
    // north corner came out smaller and won wherever it was listed.
    const rotations = (ring: readonly LngLat[]): LngLat[][] => {
      const open = ring.slice(0, -1);
      const out: LngLat[][] = [];
      for (const r of [open, [...open].reverse()])
        for (let k = 0; k < r.length; k++) {
          const turned = [...r.slice(k), ...r.slice(0, k)];
          out.push([...turned, turned[0] as LngLat]);
        }
      return out;
    };
    for (const [lat, lng, side] of [[52.5, 13.4, 40], [60.1234567, -3.21, 25], [-33.87, 151.2, 1000], [0.001, 179.99, 50]] as const) {
      const [outer] = square(lat, lng, side);
      const drawn = rotations(outer as LngLat[]).map((ring, k): Zone => ({ name: `bay-${k}`, locationCode: `B${k}`, priority: 0, shape: { type: 'polygon', polygons: [[ring]] } }));
      expect(new Set(drawn.map((z) => areaM2(z.shape))).size).toBe(1);
      const names = drawn.map((z) => z.name);
      for (const zone of drawn) {
        const others = drawn.filter((z) => z !== zone);
        expect(new ZoneIndex([zone, ...others], { hysteresisM: 0 }).best(names)?.name).toBe(zone.name);
      }
    }
  });
});
