import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { haversineM } from '../geo.js';
import { geoJsonPropertyClashes, zonesFromGeoJson, zonesToGeoJson } from './geojson.js';
import { areaM2, distanceToBoundaryM, placement, pointInPolygon, shapesApart, type Polygon, type Zone } from './geometry.js';
import { ZoneIndex } from './zone-index.js';
import { continuedRenamed, tracksUnconfigured } from './tracking.js';
import { currentZones, placeInZone, stepZones, type ZoneTrackState } from './zone-tracker.js';
import { mulberry32 } from '../../../../simulators/random.js';
import { square } from '../../../../test/helpers/geo.js';


const yard: Zone = { name: 'yard', locationCode: '1000/0001', priority: 0, shape: { type: 'polygon', polygons: [square(52.5, 13.4, 200)] } };

/** Shift a point east by `m` metres. */
const east = (lat: number, lng: number, m: number) => lng + m / (111_320 * Math.cos((lat * Math.PI) / 180));

describe('geometry', () => {
  it('tests points against polygons with holes', () => {
    const outer = square(0.5, 0.5, 100_000)[0] ?? [];
    const hole = square(0.5, 0.5, 20_000)[0] ?? [];
    const withHole: Polygon = [outer, hole];
    expect(pointInPolygon(0.2, 0.5, withHole)).toBe(true);
    expect(pointInPolygon(0.5, 0.5, withHole)).toBe(false);
    expect(pointInPolygon(2, 2, withHole)).toBe(false);
  });

  it('places points inside, in the hysteresis band and outside', () => {
    const edgeLng = east(52.5, 13.4, 100); // the square's east edge
    expect(placement(yard.shape, 52.5, east(52.5, 13.4, 90), 20)).toBe('inside');
    expect(placement(yard.shape, 52.5, east(52.5, edgeLng, 10), 20)).toBe('band');
    expect(placement(yard.shape, 52.5, east(52.5, edgeLng, 30), 20)).toBe('outside');
    expect(distanceToBoundaryM(east(52.5, edgeLng, 15), 52.5, yard.shape.type === 'polygon' ? yard.shape.polygons : [])).toBeCloseTo(15, 0);
    const circle = { type: 'circle' as const, lat: 52.5, lng: 13.4, radiusM: 50 };
    expect(placement(circle, 52.5, east(52.5, 13.4, 45), 10)).toBe('inside');
    expect(placement(circle, 52.5, east(52.5, 13.4, 55), 10)).toBe('band');
    expect(placement(circle, 52.5, east(52.5, 13.4, 65), 10)).toBe('outside');
  });

  it('computes areas close to the true value', () => {
    expect(areaM2(yard.shape) / 40_000).toBeCloseTo(1, 2);
    expect(areaM2({ type: 'circle', lat: 0, lng: 0, radiusM: 10 }) / (Math.PI * 100)).toBeCloseTo(1, 2);
    // The whole Earth at most: a circle of half its circumference covers all of it.
    expect(areaM2({ type: 'circle', lat: 0, lng: 0, radiusM: Math.PI * 6_371_008.8 }) / (4 * Math.PI * ((111_320 * 180) / Math.PI) ** 2)).toBeCloseTo(1, 9);
  });

  it('ranks a large circle by the spherical cap it covers, not a flat disc', () => {
    // 2,000 km around (0, 0): a flat πr² (1.2566e13 m²) is 0.8% more than the cap it covers.
    const circle: Zone = { name: 'region', locationCode: 'C', priority: 0, shape: { type: 'circle', lat: 0, lng: 0, radiusM: 2_000_000 } };
    // 10° by 101.2° across the equator: 1.2541e13 m² measured, 1.2525e13 m² on the sphere: larger than the cap, smaller than the disc.
    const band: Zone = { name: 'band', locationCode: 'P', priority: 0, shape: { type: 'polygon', polygons: [[[[-50.6, -5], [50.6, -5], [50.6, 5], [-50.6, 5], [-50.6, -5]]]] } };
    expect(areaM2(circle.shape)).toBeLessThan(areaM2(band.shape));
    expect(areaM2(band.shape)).toBeLessThan(Math.PI * 2_000_000 ** 2);
    // The smaller zone wins where both hold a position, in either configured order.
    for (const zones of [[circle, band], [band, circle]]) {
      const index = new ZoneIndex(zones, { hysteresisM: 0 });
      expect(index.locate(0, 0).inside.slice().sort()).toEqual(['band', 'region']);
      expect(index.best(['band', 'region'])?.name).toBe('region');
    }
  });

  it('ranks a polygon traced inside a circle as the smaller zone (both measured on one sphere)', () => {
    // 64 positions 100 m from the centre (on the sphere circles are tested on): inside the circle, 0.16% less area.
    const [lat0, lng0] = [52.5, 13.4];
    const d = 100 / haversineM({ lat: 0, lng: 0 }, { lat: 1, lng: 0 });
    const ring = Array.from({ length: 65 }, (_, k): [number, number] => {
      const a = (2 * Math.PI * (k % 64)) / 64;
      return [lng0 + (d * Math.cos(a)) / Math.cos((lat0 * Math.PI) / 180), lat0 + d * Math.sin(a)];
    });
    for (const [lng, lat] of ring) expect(haversineM({ lat: lat0, lng: lng0 }, { lat, lng })).toBeLessThan(100.5);
    const circle: Zone = { name: 'bay', locationCode: 'C', priority: 0, shape: { type: 'circle', lat: lat0, lng: lng0, radiusM: 100 } };
    const traced: Zone = { name: 'bay-drawn', locationCode: 'P', priority: 0, shape: { type: 'polygon', polygons: [[ring]] } };
    expect(areaM2(traced.shape)).toBeLessThan(areaM2(circle.shape));
    expect(new ZoneIndex([circle, traced], { hysteresisM: 0 }).best(['bay', 'bay-drawn'])?.name).toBe('bay-drawn');
  });
});

describe('GeoJSON import', () => {
  it('reads polygons, multipolygons and circles with their ERP codes', () => {
    const doc = {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: { name: 'yard', locationCode: '1000/0001', site: 'BER' }, geometry: { type: 'Polygon', coordinates: square(52.5, 13.4, 200) } },
        { type: 'Feature', properties: { name: 'docks', locationCode: 'WH1-D', priority: 2 }, geometry: { type: 'MultiPolygon', coordinates: [square(52.6, 13.4, 50), square(52.61, 13.4, 50)] } },
        { type: 'Feature', properties: { name: 'gate', locationCode: 'G1', radiusM: 25 }, geometry: { type: 'Point', coordinates: [13.41, 52.51] } },
      ],
    };
    const { zones, problems } = zonesFromGeoJson(doc);
    expect(problems).toEqual([]);
    expect(zones.map((z) => [z.name, z.locationCode, z.shape.type, z.priority, z.site])).toEqual([
      ['yard', '1000/0001', 'polygon', 0, 'BER'],
      ['docks', 'WH1-D', 'polygon', 2, undefined],
      ['gate', 'G1', 'circle', 0, undefined],
    ]);
  });

  it('names a feature without a usable name by its index and its GeoJSON id, when it has one', () => {
    const feature = (properties: Record<string, unknown>, id?: unknown) => ({ type: 'Feature', ...(id !== undefined ? { id } : {}), properties, geometry: { type: 'Polygon', coordinates: square(1, 1, 10) } });
    const { problems } = zonesFromGeoJson({
      type: 'FeatureCollection',
      features: [feature({ locationCode: 'X' }, 'bay-17'), feature({ NAME: '' }, 42), feature({ name: 'constructor', locationCode: 'C' }, 7), feature({ locationCode: 'Y' }, { nested: true }), feature({ name: 'a' }, 'a-id')],
    });
    expect(problems).toEqual([
      'feature 0 (id "bay-17"): property "name" (the zone name) is missing or empty (its properties: locationCode); if another property holds it, name that one in rules.zones.properties.name',
      'feature 1 (id 42): property "name" (the zone name) is missing or empty (its properties: NAME); "NAME" differs only in case (property names are case-sensitive): name it in rules.zones.properties.name',
      expect.stringMatching(/^feature 2 \(id 7\): "constructor" cannot name a zone/) as unknown as string,
      // An id that is neither a string nor a number (not GeoJSON) is not quoted; a named feature is named by its name.
      'feature 3: property "name" (the zone name) is missing or empty (its properties: locationCode); if another property holds it, name that one in rules.zones.properties.name',
      'feature 4 ("a"): property "locationCode" (the ERP location code) is missing or empty (its properties: name); if another property holds it, name that one in rules.zones.properties.locationCode',
    ]);
  });

  it('reports every problem with the feature it concerns', () => {
    const doc = {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: { locationCode: 'X' }, geometry: { type: 'Polygon', coordinates: square(1, 1, 10) } },
        { type: 'Feature', properties: { name: 'a' }, geometry: { type: 'Polygon', coordinates: square(1, 1, 10) } },
        { type: 'Feature', properties: { name: 'b', locationCode: 'B' }, geometry: { type: 'Point', coordinates: [1, 1] } },
        { type: 'Feature', properties: { name: 'c', locationCode: 'C' }, geometry: { type: 'Polygon', coordinates: [[[200, 1], [1, 2], [2, 2]]] } },
        { type: 'Feature', properties: { name: 'd', locationCode: 'D' }, geometry: { type: 'LineString', coordinates: [[1, 1], [2, 2]] } },
      ],
    };
    const { zones, problems } = zonesFromGeoJson(doc);
    expect(zones).toEqual([]);
    expect(problems).toEqual([
      // What the feature has instead, and the config key that says which property to read (a GIS export's SLOC).
      'feature 0: property "name" (the zone name) is missing or empty (its properties: locationCode); if another property holds it, name that one in rules.zones.properties.name',
      'feature 1 ("a"): property "locationCode" (the ERP location code) is missing or empty (its properties: name); if another property holds it, name that one in rules.zones.properties.locationCode',
      'feature 2 ("b"): property "radiusM" (a Point zone\'s radius in metres) is missing or empty (its properties: name, locationCode); if another property holds it, name that one in rules.zones.properties.radiusM',
      'feature 3 ("c"): position [200, 1] has longitude 200, beyond ±180: it is longitude -160 (a web map drawing across the antimeridian writes it so); give every longitude within ±180, and split a zone across the antimeridian in two at ±180 (a MultiPolygon, or two zones with the same locationCode)',
      'feature 4 ("d"): geometry type "LineString" is not supported; use Polygon, MultiPolygon, or Point with "radiusM" (a line has no inside: if it is a closed outline, as CAD drawings give, make it a polygon: QGIS Vector > Geometry Tools > Lines to Polygons, or ogr2ogr -nlt POLYGON)',
    ]);
    expect(zonesFromGeoJson({ type: 'Point' }).problems[0]).toMatch(/^a bare Point geometry, not a FeatureCollection/);
  });

  it('closes unclosed rings and honours custom property names', () => {
    const ring = (square(1, 1, 100)[0] ?? []).slice(0, 4);
    const { zones, problems } = zonesFromGeoJson(
      { type: 'Feature', properties: { NAME: 'z', SLOC: '0001' }, geometry: { type: 'Polygon', coordinates: [ring] } },
      { name: 'NAME', locationCode: 'SLOC' },
    );
    expect(problems).toEqual([]);
    const shape = zones[0]?.shape;
    expect(shape?.type === 'polygon' ? shape.polygons[0]?.[0]?.length : 0).toBe(5);
  });
});

describe('GeoJSON export', () => {
  it('writes zones that read back the same, with the configured property names', () => {
    const doc = {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: { NAME: 'yard', SLOC: '1000/0001', site: 'BER' }, geometry: { type: 'Polygon', coordinates: square(52.5, 13.4, 200) } },
        { type: 'Feature', properties: { NAME: 'docks', SLOC: 'WH1-D', priority: 2 }, geometry: { type: 'MultiPolygon', coordinates: [square(52.6, 13.4, 50), square(52.61, 13.4, 50)] } },
        { type: 'Feature', properties: { NAME: 'gate', SLOC: 'G1', radiusM: 25 }, geometry: { type: 'Point', coordinates: [13.41, 52.51] } },
      ],
    };
    const props = { name: 'NAME', locationCode: 'SLOC' };
    const zones = zonesFromGeoJson(doc, props).zones;
    const written = zonesToGeoJson(zones, props);
    expect(written.features.map((f) => [f.properties, (f.geometry as { type: string }).type])).toEqual([
      [{ NAME: 'yard', SLOC: '1000/0001', site: 'BER' }, 'Polygon'],
      [{ NAME: 'docks', SLOC: 'WH1-D', priority: 2 }, 'MultiPolygon'],
      [{ NAME: 'gate', SLOC: 'G1', radiusM: 25 }, 'Point'],
    ]);
    const back = zonesFromGeoJson(JSON.parse(JSON.stringify(written)), props);
    expect(back.problems).toEqual([]);
    expect(back.zones).toEqual(zones);
  });
});

describe('GeoJSON export property clashes', () => {
  it('names a zone whose fields one property would hold with different values; the same value is no clash', () => {
    const zone = (name: string, locationCode: string, radiusM?: number) => ({ name, locationCode, priority: 0, shape: radiusM !== undefined ? { type: 'circle' as const, lat: 52.5, lng: 13.4, radiusM } : { type: 'polygon' as const, polygons: [square(52.5, 13.4, 50)] } });
    const zones = [zone('1000', '1000'), zone('C1', '3000')];
    expect(geoJsonPropertyClashes(zones, { name: 'SLOC', locationCode: 'SLOC' })).toEqual(['zone "C1": its name (C1) and locationCode (3000) would both be property "SLOC"']);
    expect(geoJsonPropertyClashes(zones, { name: 'SLOC' })).toEqual([]);
    expect(geoJsonPropertyClashes([zone('gate', 'G1', 25)], { radiusM: 'size', site: 'size' })).toEqual([]); // no site: nothing written there
    expect(geoJsonPropertyClashes([zone('gate', 'G1', 25)], { radiusM: 'name' })).toEqual(['zone "gate": its name (gate) and radiusM (25) would both be property "name"']);
  });
});

/**
 * What ZoneIndex.locate finds, by testing every zone: the zones a position is inside, and those
 * whose band it is in, but for those apart from a zone it is inside (a bay beside the one it is in).
 */
function bruteForce(list: readonly Zone[], lat: number, lng: number, marginM: number): { inside: string[]; band: string[] } {
  const inside = list.filter((z) => placement(z.shape, lat, lng, marginM) === 'inside');
  const band = list.filter((z) => placement(z.shape, lat, lng, marginM) === 'band' && !inside.some((i) => shapesApart(i.shape, z.shape)));
  return { inside: inside.map((z) => z.name), band: band.map((z) => z.name) };
}

describe('zone index', () => {
  it('finds exactly what a brute-force scan finds, for 1,000 zones', () => {
    const rnd = mulberry32(42);
    const zones: Zone[] = [];
    for (let i = 0; i < 1000; i++) {
      const lat = 50 + rnd() * 2;
      const lng = 10 + rnd() * 2;
      const shape =
        i % 3 === 0
          ? ({ type: 'circle', lat, lng, radiusM: 50 + rnd() * 2000 } as const)
          : ({ type: 'polygon', polygons: [square(lat, lng, 100 + rnd() * 4000)] } as const);
      zones.push({ name: `z${i}`, locationCode: `L${i}`, priority: 0, shape });
    }
    // One zone much larger than the grid, tested on every lookup.
    zones.push({ name: 'region', locationCode: 'R', priority: 0, shape: { type: 'polygon', polygons: [square(51, 11, 300_000)] } });
    const index = new ZoneIndex(zones, { hysteresisM: 30 });
    fc.assert(
      fc.property(fc.double({ min: 49.9, max: 52.1, noNaN: true }), fc.double({ min: 9.9, max: 12.1, noNaN: true }), (lat, lng) => {
        const hit = index.locate(lat, lng);
        const { inside, band } = bruteForce(zones, lat, lng, 30);
        expect(hit.inside).toEqual(inside);
        expect(hit.band).toEqual(band);
      }),
      { numRuns: 500 },
    );
  });

  it('finds what a brute-force scan finds on a grid spanning the world (cells keyed by packed coordinates) and off a regional one', () => {
    // Mutations: a packed key that loses a coordinate (the worldwide grid); the regional grid's
    // extent missing its last row, or its rows counted one short. Positions all over the world
    // fall outside the regional grid's extent, where no cell may be found.
    const rnd = mulberry32(7);
    const sites = [[52.5, 13.4], [-33.9, 18.4], [40.7, -74], [-37.8, 145], [0.1, -0.1], [-0.1, 0.1]] as const;
    const zones: Zone[] = [];
    for (let i = 0; i < 300; i++) {
      const [lat0, lng0] = sites[i % sites.length] as readonly [number, number];
      const lat = lat0 + (rnd() - 0.5) * 0.02;
      const lng = lng0 + (rnd() - 0.5) * 0.02;
      const shape = i % 2 ? ({ type: 'circle', lat, lng, radiusM: 50 + rnd() * 500 } as const) : ({ type: 'polygon', polygons: [square(lat, lng, 100 + rnd() * 1000)] } as const);
      zones.push({ name: `z${i}`, locationCode: `L${i}`, priority: 0, shape });
    }
    const world = new ZoneIndex(zones, { hysteresisM: 30, cellDeg: 0.0005 });
    const regional = zones.filter((_, i) => i % sites.length === 0); // Berlin's
    const berlin = new ZoneIndex(regional, { hysteresisM: 30 });
    const near = fc.tuple(fc.constantFrom(...sites), fc.double({ min: -0.02, max: 0.02, noNaN: true }), fc.double({ min: -0.02, max: 0.02, noNaN: true })).map(([[la, ln], dLat, dLng]) => [la + dLat, ln + dLng] as const);
    const anywhere = fc.tuple(fc.double({ min: -90, max: 90, noNaN: true }), fc.double({ min: -180, max: 180, noNaN: true }));
    const brute = (list: readonly Zone[], lat: number, lng: number) => bruteForce(list, lat, lng, 30);
    let hits = 0;
    let berlinHits = 0;
    fc.assert(
      fc.property(fc.oneof(near, anywhere), ([lat, lng]) => {
        const hit = world.locate(lat, lng);
        expect(hit).toEqual(brute(zones, lat, lng));
        const regionalHit = berlin.locate(lat, lng);
        expect(regionalHit).toEqual(brute(regional, lat, lng));
        hits += hit.inside.length + hit.band.length;
        berlinHits += regionalHit.inside.length + regionalHit.band.length;
      }),
      { numRuns: 3000 },
    );
    // And the regional grid over a lattice of positions covering it and its edges.
    for (let i = 0; i <= 120; i++)
      for (let j = 0; j <= 120; j++) {
        const lat = 52.5 - 0.015 + (i * 0.03) / 120;
        const lng = 13.4 - 0.015 + (j * 0.03) / 120;
        const regionalHit = berlin.locate(lat, lng);
        expect(regionalHit).toEqual(brute(regional, lat, lng));
        berlinHits += regionalHit.inside.length + regionalHit.band.length;
      }
    // The positions near the sites found zones (the comparison is not only of empty results).
    expect(hits).toBeGreaterThan(100);
    expect(berlinHits).toBeGreaterThan(1000);
  });

  it('prefers the higher priority, then the smaller zone', () => {
    const big: Zone = { name: 'site', locationCode: 'S', priority: 0, shape: { type: 'circle', lat: 1, lng: 1, radiusM: 1000 } };
    const small: Zone = { name: 'bay', locationCode: 'B', priority: 0, shape: { type: 'circle', lat: 1, lng: 1, radiusM: 10 } };
    const vip: Zone = { name: 'vip', locationCode: 'V', priority: 5, shape: { type: 'circle', lat: 1, lng: 1, radiusM: 500 } };
    expect(new ZoneIndex([big, small], { hysteresisM: 0 }).best(['site', 'bay'])?.name).toBe('bay');
    expect(new ZoneIndex([big, small, vip], { hysteresisM: 0 }).best(['site', 'bay', 'vip'])?.name).toBe('vip');
  });
});

describe('dwell and hysteresis', () => {
  const index = new ZoneIndex([yard], { hysteresisM: 20 });
  const dwell = { enterDwellMs: 30_000, exitDwellMs: 60_000 };
  const edgeLng = east(52.5, 13.4, 100);
  /** Run fixes `[seconds, metres east of the east edge]` and collect enter/exit events. */
  function run(fixes: readonly (readonly [number, number])[], start?: ZoneTrackState) {
    let state = start;
    const log: string[] = [];
    for (const [s, m] of fixes) {
      const step = stepZones(state, s * 1000, index.locate(52.5, east(52.5, edgeLng, m)), dwell);
      state = step.state;
      for (const z of step.entered) log.push(`enter ${z} @${s}`);
      for (const z of step.exited) log.push(`exit ${z} @${s}`);
    }
    return { log, state };
  }

  it('enters only after the dwell time inside', () => {
    expect(run([[0, -50], [10, -50], [20, -50]]).log).toEqual([]);
    expect(run([[0, -50], [10, -50], [30, -50]]).log).toEqual(['enter yard @30']);
  });

  it('a fix outside during the enter dwell cancels the entry', () => {
    expect(run([[0, -50], [20, 5], [30, -50], [50, -50]]).log).toEqual([]);
    expect(run([[0, -50], [20, 5], [30, -50], [60, -50]]).log).toEqual(['enter yard @60']);
  });

  it('GPS jitter across the border does not flap', () => {
    const inside = run([[0, -50], [40, -50]]);
    expect(inside.log).toEqual(['enter yard @40']);
    // Jitter ±15 m around the edge for 10 minutes: always inside or within the 20 m band.
    const jitter = Array.from({ length: 60 }, (_, i) => [50 + i * 10, i % 2 === 0 ? 15 : -15] as const);
    expect(run(jitter, inside.state).log).toEqual([]);
  });

  it('a single wild fix does not exit; staying beyond the band for the exit dwell does', () => {
    const inside = run([[0, -50], [40, -50]]).state;
    expect(run([[100, 500], [110, -50], [200, 500], [250, 500]], inside).log).toEqual([]);
    expect(run([[100, 500], [130, 500], [160, 500]], inside).log).toEqual(['exit yard @160']);
  });

  it('with zero dwell, enters and leaves on the first fix', () => {
    const z = stepZones(undefined, 0, index.locate(52.5, 13.4), { enterDwellMs: 0, exitDwellMs: 0 });
    expect(z.entered).toEqual(['yard']);
    expect(currentZones(z.state)).toEqual(['yard']);
    const out = stepZones(z.state, 1, index.locate(52.5, east(52.5, edgeLng, 100)), { enterDwellMs: 0, exitDwellMs: 0 });
    expect(out.exited).toEqual(['yard']);
    expect(currentZones(out.state)).toEqual([]);
    expect(haversineM({ lat: 52.5, lng: 13.4 }, { lat: 52.5, lng: edgeLng })).toBeCloseTo(100, -1);
  });
});

describe('a fixed reader\'s sighting (placeInZone)', () => {
  it('puts the asset inside the zone at once and takes it out of every other', () => {
    const state: ZoneTrackState = { yard: { phase: 'inside', since: 100 }, hall: { phase: 'entering', since: 150 }, gate: { phase: 'leaving', since: 160 } };
    expect(placeInZone(state, 200, 'dock')).toEqual({ state: { dock: { phase: 'inside', since: 200 } }, entered: ['dock'], exited: ['gate', 'yard'] });
  });

  it('keeps the arrival time of a zone it was entering or inside; a return from leaving is inside from now', () => {
    expect(placeInZone({ dock: { phase: 'entering', since: 150 } }, 200, 'dock')).toEqual({ state: { dock: { phase: 'inside', since: 150 } }, entered: ['dock'], exited: [] });
    expect(placeInZone({ dock: { phase: 'inside', since: 150 } }, 200, 'dock')).toEqual({ state: { dock: { phase: 'inside', since: 150 } }, entered: [], exited: [] });
    expect(placeInZone({ dock: { phase: 'leaving', since: 190 } }, 200, 'dock')).toEqual({ state: { dock: { phase: 'inside', since: 200 } }, entered: [], exited: [] });
    expect(placeInZone(undefined, 200, 'dock').state).toEqual({ dock: { phase: 'inside', since: 200 } });
  });
});

describe('zone index fingerprint', () => {
  const round = (radiusM: number): Zone['shape'] => ({ type: 'circle', lat: 52.5, lng: 13.4, radiusM });
  const bay: Zone = { name: 'bay', locationCode: '1000/0002', priority: 0, shape: round(50) };
  const of = (zones: readonly Zone[], hysteresisM = 10) => new ZoneIndex(zones, { hysteresisM }).fingerprint;

  it('is the same for zones that locate every position alike, and differs when a zone is renamed, reshaped, added or removed', () => {
    expect(of([yard, bay])).toBe(of([{ ...yard }, { ...bay }]));
    // Codes, priorities and sites place no position.
    expect(of([{ ...yard, locationCode: 'X' }, { ...bay, priority: 3, site: 'S1' }])).toBe(of([yard, bay]));
    const others = [of([{ ...yard, name: 'yard-north' }, bay]), of([yard, { ...bay, shape: round(51) }]), of([yard]), of([yard, bay], 20)];
    for (const fp of others) expect(fp).not.toBe(of([yard, bay]));
    expect(new Set(others).size).toBe(others.length);
  });

  it('is the same for the zones in another configuration order, which ranks ties only when a position is processed', () => {
    const hall: Zone = { name: 'hall', locationCode: '1000/0003', priority: 0, shape: round(50) };
    expect(of([bay, yard, hall])).toBe(of([yard, bay, hall]));
    expect(of([hall, bay, yard])).toBe(of([yard, bay, hall]));
    // The order still ranks the bay and the hall (one priority, one shape) where both place a position.
    expect(new ZoneIndex([bay, hall], { hysteresisM: 10 }).best(['bay', 'hall'])?.name).toBe('bay');
    expect(new ZoneIndex([hall, bay], { hysteresisM: 10 }).best(['bay', 'hall'])?.name).toBe('hall');
  });
});

describe('zones renamed in place across a restart (continuedRenamed)', () => {
  const round = (name: string, locationCode: string, radiusM: number, priority = 0): Zone => ({ name, locationCode, priority, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM } });
  const at = { lat: 52.5, lng: 13.4 };
  const far = { lat: 52.6, lng: 13.4 };
  const inside = (since: number) => ({ phase: 'inside' as const, since });
  const index = (...zones: Zone[]) => new ZoneIndex(zones, { hysteresisM: 10 });
  // Stored in the yard (code Y) and the bay in it (code B), the bay placing the asset.
  const stored: ZoneTrackState = { yard: inside(1), bay: inside(2) };

  it('takes the zones at the position it was placed in for the old names, in their places, inside since the sighting', () => {
    const renamed = index(round('yard-2', 'Y', 200), round('bay-2', 'B', 100));
    expect(tracksUnconfigured(renamed, stored)).toBe(true);
    const next = continuedRenamed(renamed, stored, at, 'B', 9);
    expect(next).toEqual({ 'yard-2': inside(9), 'bay-2': inside(9) });
    expect(Object.keys(next ?? {})).toEqual(['yard-2', 'bay-2']);
    // The yard renamed alone: the bay as it was.
    expect(continuedRenamed(index(round('yard-2', 'Y', 200), round('bay', 'B', 100)), stored, at, 'B', 9)).toEqual({ 'yard-2': inside(9), bay: inside(2) });
  });

  it('one old name: the zone of its code there, when more zones are there than old names (one added)', () => {
    const one: ZoneTrackState = { bay: inside(2) };
    const more = index(round('hall', 'H', 300), round('bay-2', 'B', 100), round('spot', 'S', 50));
    expect(continuedRenamed(more, one, at, 'B', 9)).toEqual({ 'bay-2': inside(9) });
    // No zone of its code there: none is taken.
    expect(continuedRenamed(more, one, at, 'X', 9)).toBe(one);
  });

  it('leaves the state as it is when nothing says the old zones were renamed where the asset is', () => {
    const renamed = index(round('yard-2', 'Y', 200), round('bay-2', 'B', 100));
    // Nothing renamed.
    expect(continuedRenamed(index(round('yard', 'Y', 200), round('bay', 'B', 100)), stored, at, 'B', 9)).toBe(stored);
    // The position in no zone now.
    expect(continuedRenamed(renamed, stored, far, 'B', 9)).toBe(stored);
    // An old zone it was leaving.
    expect(continuedRenamed(renamed, { yard: inside(1), bay: { phase: 'leaving', since: 5 } }, at, 'B', 9)).toEqual({ yard: inside(1), bay: { phase: 'leaving', since: 5 } });
    // Fewer zones there than old names (the yard removed), and more (a zone added besides both).
    expect(continuedRenamed(index(round('bay-2', 'B', 100)), stored, at, 'B', 9)).toBe(stored);
    expect(continuedRenamed(index(round('hall', 'H', 300), round('yard-2', 'Y', 200), round('bay-2', 'B', 100)), stored, at, 'B', 9)).toBe(stored);
    // A location code it does not have: renamed and recoded, the location changes after the dwells.
    expect(continuedRenamed(renamed, stored, at, 'X', 9)).toBe(stored);
    // A zone taken for an old name would place it, with another code: no dwell would have run.
    expect(continuedRenamed(index(round('area', 'A', 200, 1), round('bay-2', 'B', 100)), stored, at, 'B', 9)).toBe(stored);
  });

  it('keeps an old zone it was entering (a fix drops it) and the configured zones as they are', () => {
    const renamed = index(round('bay-2', 'B', 100), round('dock', 'D', 300));
    const state: ZoneTrackState = { bay: inside(2), gate: { phase: 'entering', since: 3 }, dock: { phase: 'leaving', since: 4 } };
    expect(continuedRenamed(renamed, state, at, 'B', 9)).toEqual({ 'bay-2': inside(9), gate: { phase: 'entering', since: 3 }, dock: { phase: 'leaving', since: 4 } });
    expect(tracksUnconfigured(renamed, { dock: inside(1) })).toBe(false);
    expect(tracksUnconfigured(renamed, undefined)).toBe(false);
  });
});
