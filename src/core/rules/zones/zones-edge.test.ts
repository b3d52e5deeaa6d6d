import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zonesFromGeoJson } from './geojson.js';
import { placement, type Zone } from './geometry.js';
import { ZoneIndex } from './zone-index.js';

/** The index must agree with a brute-force `placement` for every point (what the grid only speeds up). */
function agrees(zone: Zone, hysteresisM: number, lat: number, lng: number): void {
  const hit = new ZoneIndex([zone], { hysteresisM }).locate(lat, lng);
  const p = placement(zone.shape, lat, lng, hysteresisM);
  expect(hit).toEqual({ inside: p === 'inside' ? [zone.name] : [], band: p === 'band' ? [zone.name] : [] });
}

describe('zone index for circles', () => {
  it('finds points near the north and south edge of a large circle (the band keeps its full width)', () => {
    const site: Zone = { name: 'quarry', locationCode: 'Q', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 10_000 } };
    // 1° of latitude is 111.195 km on the sphere haversine measures on.
    for (const d of [9_995, 10_010, 10_020, 10_024]) {
      agrees(site, 25, 52.5 + d / 111_195.08, 13.4);
      agrees(site, 25, 52.5 - d / 111_195.08, 13.4);
    }
    agrees(site, 0, 52.5 + 9_995 / 111_195.08, 13.4);
  });

  it('finds every point of a circle around a pole, at any longitude', () => {
    const station: Zone = { name: 'station', locationCode: 'S', priority: 0, shape: { type: 'circle', lat: -89.995, lng: 0, radiusM: 1_000 } };
    const near: Zone = { name: 'camp', locationCode: 'C', priority: 0, shape: { type: 'circle', lat: 89.9, lng: 30, radiusM: 5_000 } };
    fc.assert(
      fc.property(fc.double({ min: -90, max: -89.98, noNaN: true }), fc.double({ min: -180, max: 180, noNaN: true }), (lat, lng) => agrees(station, 25, lat, lng)),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.double({ min: 89.8, max: 90, noNaN: true }), fc.double({ min: -180, max: 180, noNaN: true }), (lat, lng) => agrees(near, 25, lat, lng)),
      { numRuns: 300 },
    );
  });

  it('finds points of a circle across the antimeridian on the other side of it', () => {
    // Taveuni (Fiji): a 1 km circle 100 m west of 180°; -179.9995 is 160 m from its centre.
    const yard: Zone = { name: 'yard', locationCode: 'Y', priority: 0, shape: { type: 'circle', lat: -16.8, lng: 179.999, radiusM: 1_000 } };
    expect(new ZoneIndex([yard], { hysteresisM: 25 }).locate(-16.8, -179.9995)).toEqual({ inside: ['yard'], band: [] });
    const east: Zone = { name: 'east', locationCode: 'E', priority: 0, shape: { type: 'circle', lat: 65, lng: -179.995, radiusM: 2_000 } };
    expect(new ZoneIndex([east], { hysteresisM: 25 }).locate(65, 179.99)).toEqual({ inside: ['east'], band: [] });
    fc.assert(
      fc.property(fc.double({ min: -16.83, max: -16.77, noNaN: true }), fc.oneof(fc.double({ min: 179.95, max: 180, noNaN: true }), fc.double({ min: -180, max: -179.95, noNaN: true })), (lat, lng) => agrees(yard, 25, lat, lng)),
      { numRuns: 300 },
    );
  });

  it('agrees with placement around circles of any size and latitude', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -85, max: 85, noNaN: true }),
        fc.integer({ min: 10, max: 50_000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
        fc.double({ min: 0.98, max: 1.02, noNaN: true }),
        (lat, radiusM, hysteresisM, bearing, f) => {
          const zone: Zone = { name: 'c', locationCode: 'C', priority: 0, shape: { type: 'circle', lat, lng: 10, radiusM } };
          // A point about f × (radius + margin) away in direction `bearing`.
          const d = f * (radiusM + hysteresisM);
          const pLat = lat + (d * Math.cos(bearing)) / 111_195.08;
          const pLng = 10 + (d * Math.sin(bearing)) / (111_195.08 * Math.cos((pLat * Math.PI) / 180));
          agrees(zone, hysteresisM, pLat, pLng);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('GeoJSON import of numeric properties', () => {
  it('reads a numeric site (SAP plants are numbers like 1000) as it reads a numeric name or location code', () => {
    const ring = [[13.4, 52.5], [13.41, 52.5], [13.41, 52.51], [13.4, 52.51], [13.4, 52.5]];
    const { zones, problems } = zonesFromGeoJson({
      type: 'Feature',
      properties: { name: 7, locationCode: 1, site: 1000 },
      geometry: { type: 'Polygon', coordinates: [ring] },
    });
    expect(problems).toEqual([]);
    expect(zones.map((z) => [z.name, z.locationCode, z.site])).toEqual([['7', '1', '1000']]);
  });
});

describe('GeoJSON import of common mistakes', () => {
  const ring = [[13.4, 52.5], [13.41, 52.5], [13.41, 52.51], [13.4, 52.51], [13.4, 52.5]];
  const problems = (geometry: unknown) => zonesFromGeoJson({ type: 'Feature', properties: { name: 'yard', locationCode: 'Y' }, geometry }).problems;

  it('a Polygon given one ring without the list of rings around it says so', () => {
    expect(problems({ type: 'Polygon', coordinates: ring })).toEqual([
      'feature 0 ("yard"): Polygon coordinates must be a list of rings ([[[lng, lat], ...]]); this is a single ring: put it in [ ]',
    ]);
    expect(problems({ type: 'MultiPolygon', coordinates: [ring] })).toEqual([
      'feature 0 ("yard"): polygon 0 of the MultiPolygon: Polygon coordinates must be a list of rings ([[[lng, lat], ...]]); this is a single ring: put it in [ ]',
    ]);
  });

  it('a Polygon given a MultiPolygon\'s coordinates (one [ ] too many) says so, not that its first ring is no position', () => {
    expect(problems({ type: 'Polygon', coordinates: [[ring]] })).toEqual([
      'feature 0 ("yard"): Polygon coordinates are nested one level too deep: they are a list of polygons, as a MultiPolygon has; make the geometry "type": "MultiPolygon", or take out one [ ]',
    ]);
    expect(problems({ type: 'MultiPolygon', coordinates: [[[ring]]] })).toEqual([
      'feature 0 ("yard"): polygon 0 of the MultiPolygon: its coordinates are nested one level too deep (a list of polygons where the list of rings belongs, [[[lng, lat], ...]]): take out one [ ]',
    ]);
    // A position that is no pair is quoted cut short, not a ring of hundreds of positions on one line.
    const long = Array.from({ length: 500 }, (_, k) => [13.4 + k / 1e5, 52.5]);
    const [wrong] = problems({ type: 'Polygon', coordinates: [[ring[0], long, ...ring.slice(1)]] });
    expect(wrong).toMatch(/^feature 0 \("yard"\): position \[\[13\.4,52\.5\],.{30,50}\.\.\. is not \[longitude, latitude\]$/);
  });

  it('a polygon drawn across the antimeridian with longitudes past 180 (as web maps write it) is told to wrap and split, not to swap', () => {
    const unwrapped = [[179.99, -16.8], [180.01, -16.8], [180.01, -16.79], [179.99, -16.79], [179.99, -16.8]];
    expect(problems({ type: 'Polygon', coordinates: [unwrapped] })).toEqual([
      'feature 0 ("yard"): position [180.01, -16.8] has longitude 180.01, beyond ±180: it is longitude -179.99 (a web map drawing across the antimeridian writes it so); give every longitude within ±180, and split a zone across the antimeridian in two at ±180 (a MultiPolygon, or two zones with the same locationCode)',
    ]);
    // West of -180 likewise; a latitude out of range is still the order's slip.
    expect(problems({ type: 'Point', coordinates: [-190.5, 10] })[0]).toMatch(/^feature 0 \("yard"\): position \[-190\.5, 10\] has longitude -190\.5, beyond ±180: it is longitude 169\.5 /);
    expect(problems({ type: 'Polygon', coordinates: [[[10, 95], [10.1, 95], [10.1, 95.1], [10, 95]]] })[0]).toBe('feature 0 ("yard"): position [10, 95] is out of range (GeoJSON order is [longitude, latitude])');
  });

  it('the hysteresis band of a polygon that ends at the antimeridian reaches across it', () => {
    // A yard on Taveuni (Fiji) drawn west of 180° only; a fix 11 m east of 180° (-179.9999°) is in its 25 m band, one 107 m east is not.
    const yard: Zone = { name: 'yard', locationCode: 'Y', priority: 0, shape: { type: 'polygon', polygons: [[[[179.99, -16.8], [180, -16.8], [180, -16.79], [179.99, -16.79], [179.99, -16.8]]]] } };
    expect(placement(yard.shape, -16.795, -179.9999, 25)).toBe('band');
    expect(placement(yard.shape, -16.795, -179.999, 25)).toBe('outside');
    expect(placement(yard.shape, -16.795, 179.9999, 25)).toBe('inside');
    expect(new ZoneIndex([yard], { hysteresisM: 25 }).locate(-16.795, -179.9999)).toEqual({ inside: [], band: ['yard'] });
    // The other way: a yard east of -180°, a fix just west of 180°.
    const east: Zone = { name: 'east', locationCode: 'E', priority: 0, shape: { type: 'polygon', polygons: [[[[-180, 65], [-179.99, 65], [-179.99, 65.01], [-180, 65.01], [-180, 65]]]] } };
    expect(placement(east.shape, 65.005, 179.9998, 25)).toBe('band');
    // A vertex more than 180° away along the ring (a far edge) is not folded onto the point.
    const wide: Zone = { name: 'wide', locationCode: 'W', priority: 0, shape: { type: 'polygon', polygons: [[[[0, 0], [10, 0], [10, 1], [0, 1], [0, 0]]]] } };
    expect(placement(wide.shape, 0, -175, 25)).toBe('outside'); // on the line of its southern edge, 5° (556 km) from its corner
    fc.assert(
      fc.property(fc.double({ min: -16.81, max: -16.78, noNaN: true }), fc.oneof(fc.double({ min: 179.98, max: 180, noNaN: true }), fc.double({ min: -180, max: -179.98, noNaN: true })), (lat, lng) => agrees(yard, 25, lat, lng)),
      { numRuns: 300 },
    );
  });

  it('a polygon drawn across the antimeridian is rejected, not read as the strip around the rest of the world', () => {
    // A yard on Taveuni (Fiji) across 180°: read as GeoJSON says, it would cover every longitude but its own.
    const fiji = [[[179.99, -16.8], [-179.99, -16.8], [-179.99, -16.79], [179.99, -16.79], [179.99, -16.8]]];
    expect(problems({ type: 'Polygon', coordinates: fiji })).toEqual([
      'feature 0 ("yard"): spans more than 180° of longitude; a zone across the antimeridian must be split in two at ±180 (a MultiPolygon)',
    ]);
    // Split, as RFC 7946 asks, it is read fine.
    const split = [
      [[[179.99, -16.8], [180, -16.8], [180, -16.79], [179.99, -16.79], [179.99, -16.8]]],
      [[[-180, -16.8], [-179.99, -16.8], [-179.99, -16.79], [-180, -16.79], [-180, -16.8]]],
    ];
    expect(problems({ type: 'MultiPolygon', coordinates: split })).toEqual([]);
  });
});

describe('GeoJSON import of a feature without a shape', () => {
  it('names the feature and says what to do, the others still read', () => {
    const yard = { type: 'Feature', properties: { name: 'yard', locationCode: 'Y', radiusM: 20 }, geometry: { type: 'Point', coordinates: [13.4, 52.5] } };
    const { zones, problems } = zonesFromGeoJson({
      type: 'FeatureCollection',
      features: [yard, { ...yard, properties: { name: 'gate', locationCode: 'G' }, geometry: null }, { type: 'Feature', properties: { name: 'hall', locationCode: 'H' } }, { ...yard, properties: { name: 'shed', locationCode: 'S' }, geometry: 'POLYGON((1 1, 2 2, 1 2, 1 1))' }],
    });
    expect(zones.map((z) => z.name)).toEqual(['yard']);
    expect(problems).toEqual([
      'feature 1 ("gate"): has no geometry ("geometry": null, a feature with no shape drawn): draw the zone\'s shape, or remove the feature if it is no zone',
      'feature 2 ("hall"): has no geometry (no "geometry" member): draw the zone\'s shape, or remove the feature if it is no zone',
      'feature 3 ("shed"): "geometry" is not a GeoJSON geometry object ("POLYGON((1 1, 2 2, 1 2, 1 1))" was given): give {"type": "Polygon", "coordinates": [...]} or the like',
    ]);
  });
});

describe('GeoJSON import of a layer whose properties are named otherwise', () => {
  // An ArcGIS export of a site's bays: NAME, LOC_CODE and RADIUS, not name, locationCode and radiusM.
  const bay = (i: number, geometry: unknown = { type: 'Point', coordinates: [13.4 + i / 1000, 52.5] }) => ({ type: 'Feature', properties: { OBJECTID: i, NAME: `bay-${i}`, LOC_CODE: `B${i}`, RADIUS: 20 }, geometry });
  const layer = (n: number) => ({ type: 'FeatureCollection', features: Array.from({ length: n }, (_, i) => bay(i)) });

  it('says a property no feature has once for the file, not once per feature', () => {
    expect(zonesFromGeoJson(layer(3000)).problems).toEqual([
      'property "name" (the zone name) is missing or empty in all 3000 features (their properties: OBJECTID, NAME, LOC_CODE, RADIUS); "NAME" differs only in case (property names are case-sensitive): name it in rules.zones.properties.name',
      'property "locationCode" (the ERP location code) is missing or empty in all 3000 features (their properties: OBJECTID, NAME, LOC_CODE, RADIUS); if another property holds it, name that one in rules.zones.properties.locationCode',
      'property "radiusM" (a Point zone\'s radius in metres) is missing or empty in all 3000 Point features (their properties: OBJECTID, NAME, LOC_CODE, RADIUS); if another property holds it, name that one in rules.zones.properties.radiusM',
    ]);
    // Named, every zone reads.
    expect(zonesFromGeoJson(layer(3000), { name: 'NAME', locationCode: 'LOC_CODE', radiusM: 'RADIUS' })).toMatchObject({ problems: [] });
    expect(zonesFromGeoJson(layer(3000), { name: 'NAME', locationCode: 'LOC_CODE', radiusM: 'RADIUS' }).zones).toHaveLength(3000);
  });

  it('names a property differing only in case for one feature too', () => {
    expect(zonesFromGeoJson({ type: 'FeatureCollection', features: [bay(0)] }, { locationCode: 'LOC_CODE', radiusM: 'RADIUS' }).problems).toEqual([
      'feature 0: property "name" (the zone name) is missing or empty (its properties: OBJECTID, NAME, LOC_CODE, RADIUS); "NAME" differs only in case (property names are case-sensitive): name it in rules.zones.properties.name',
    ]);
  });

  it('still names the features with other problems, and a property missing from some features per feature', () => {
    const doc = layer(3);
    doc.features[1] = bay(1, { type: 'LineString', coordinates: [[13.4, 52.5], [13.5, 52.5]] });
    delete (doc.features[2]?.properties as Record<string, unknown>).LOC_CODE;
    expect(zonesFromGeoJson(doc, { locationCode: 'LOC_CODE', radiusM: 'RADIUS' }).problems).toEqual([
      'property "name" (the zone name) is missing or empty in all 3 features (their properties: OBJECTID, NAME, LOC_CODE, RADIUS); "NAME" differs only in case (property names are case-sensitive): name it in rules.zones.properties.name',
      'feature 1: geometry type "LineString" is not supported; use Polygon, MultiPolygon, or Point with "RADIUS" (a line has no inside: if it is a closed outline, as CAD drawings give, make it a polygon: QGIS Vector > Geometry Tools > Lines to Polygons, or ogr2ogr -nlt POLYGON)',
      'feature 2: property "LOC_CODE" (the ERP location code) is missing or empty (its properties: OBJECTID, NAME, RADIUS); if another property holds it, name that one in rules.zones.properties.locationCode',
    ]);
  });
});

describe('GeoJSON import of a layer of lines', () => {
  it('says a geometry type every feature has once for the file, with how to make polygons of closed lines', () => {
    const outline = (i: number) => ({ type: 'Feature', properties: { name: `bay-${i}`, locationCode: `B${i}` }, geometry: { type: 'LineString', coordinates: [[i, 0], [i + 0.5, 0], [i + 0.5, 0.5], [i, 0]] } });
    expect(zonesFromGeoJson({ type: 'FeatureCollection', features: Array.from({ length: 500 }, (_, i) => outline(i)) })).toEqual({
      zones: [],
      problems: [
        'every feature\'s geometry is a LineString (all 500), which is not supported; use Polygon, MultiPolygon, or Point with "radiusM" (a line has no inside: if it is a closed outline, as CAD drawings give, make it a polygon: QGIS Vector > Geometry Tools > Lines to Polygons, or ogr2ogr -nlt POLYGON)',
      ],
    });
  });
});

describe('GeoJSON import of duplicate zone names', () => {
  const feature = (name: string, lng: number) => ({ type: 'Feature', properties: { name, locationCode: name.toUpperCase(), radiusM: 20 }, geometry: { type: 'Point', coordinates: [lng, 52.5] } });

  it('reports a name used by several features once, naming them all', () => {
    const { problems } = zonesFromGeoJson({ type: 'FeatureCollection', features: [feature('yard', 13.4), feature('yard', 13.5), feature('gate', 13.6), feature('yard', 13.7)] });
    expect(problems).toEqual(['zone name "yard" is used by features 0, 1 and 3; names must be unique: they have one location code, so if they are parts of one zone, make them one feature with a MultiPolygon geometry (QGIS: Vector > Geometry Tools > Collect Geometries, or Dissolve by "name"); else give each its own "name" (zones may share a location code)']);
  });

  it('says what to do: one location code is one zone in parts (a MultiPolygon), different ones are zones to name apart', () => {
    const part = (name: string, code: string, lng: number) => ({ ...feature(name, lng), properties: { NAME: name, SLOC: code, radiusM: 20 } });
    const props = { name: 'NAME', locationCode: 'SLOC' };
    expect(zonesFromGeoJson({ type: 'FeatureCollection', features: [part('yard', 'Y', 13.4), part('yard', 'Y', 13.5)] }, props).problems).toEqual([
      'zone name "yard" is used by features 0 and 1; names must be unique: they have one location code, so if they are parts of one zone, make them one feature with a MultiPolygon geometry (QGIS: Vector > Geometry Tools > Collect Geometries, or Dissolve by "NAME"); else give each its own "NAME" (zones may share a location code)',
    ]);
    expect(zonesFromGeoJson({ type: 'FeatureCollection', features: [part('yard', 'Y1', 13.4), part('yard', 'Y2', 13.5)] }, props).problems).toEqual([
      'zone name "yard" is used by features 0 and 1; names must be unique: give each its own "NAME" (zones may share a location code)',
    ]);
  });

  it('reads names differing only in case as one name, naming each spelling with its feature, and returns none of them', () => {
    const r = zonesFromGeoJson({ type: 'FeatureCollection', features: [feature('yard-walk', 13.4), feature('gate', 13.5), feature('YARD-WALK', 13.6)] });
    expect(r.problems).toEqual([
      'zone names "yard-walk" (feature 0) and "YARD-WALK" (feature 2) differ only in case; names must differ in more than case (ERP users, \'zones locate\' and a sighting naming its zone could not tell them apart): they have one location code, so if they are parts of one zone, make them one feature with a MultiPolygon geometry (QGIS: Vector > Geometry Tools > Collect Geometries, or Dissolve by "name"); else give each its own "name" (zones may share a location code)',
    ]);
    expect(r.zones.map((z) => z.name)).toEqual(['gate']);
  });

  it('counts a feature whose shape is wrong too, so one pass finds both problems', () => {
    const bad = { ...feature('yard', 13.5), geometry: { type: 'LineString', coordinates: [[13.5, 52.5], [13.6, 52.5]] } };
    expect(zonesFromGeoJson({ type: 'FeatureCollection', features: [feature('yard', 13.4), bad] }).problems).toEqual([
      'feature 1 ("yard"): geometry type "LineString" is not supported; use Polygon, MultiPolygon, or Point with "radiusM" (a line has no inside: if it is a closed outline, as CAD drawings give, make it a polygon: QGIS Vector > Geometry Tools > Lines to Polygons, or ogr2ogr -nlt POLYGON)',
      'zone name "yard" is used by features 0 and 1; names must be unique: they have one location code, so if they are parts of one zone, make them one feature with a MultiPolygon geometry (QGIS: Vector > Geometry Tools > Collect Geometries, or Dissolve by "name"); else give each its own "name" (zones may share a location code)',
    ]);
  });
});

describe('a zone split at ±180°', () => {
  // Taveuni (Fiji) split at the antimeridian: a MultiPolygon of an east part ending at 180 and a west part starting at -180.
  const east = [[179.99, -16.81], [180, -16.81], [180, -16.79], [179.99, -16.79], [179.99, -16.81]];
  const west = [[-180, -16.81], [-179.99, -16.81], [-179.99, -16.79], [-180, -16.79], [-180, -16.81]];
  const { zones } = zonesFromGeoJson({ type: 'Feature', properties: { name: 'yard', locationCode: 'Y' }, geometry: { type: 'MultiPolygon', coordinates: [[east], [west]] } });
  const zone = zones[0] as Zone;

  it('holds a point at longitude +180 as it holds one at -180 (the same meridian)', () => {
    expect(placement(zone.shape, -16.8, 180, 25)).toBe('inside');
    expect(placement(zone.shape, -16.8, -180, 25)).toBe('inside');
    for (const hysteresisM of [0, 25]) {
      const index = new ZoneIndex([zone], { hysteresisM });
      expect(index.locate(-16.8, 180)).toEqual({ inside: ['yard'], band: [] });
      expect(index.locate(-16.8, -180)).toEqual({ inside: ['yard'], band: [] });
      const inside = new Int32Array(4);
      const band = new Int32Array(4);
      expect(index.locateNumbers(-16.8, 180, inside, band)).toBe(1);
      expect(inside[0]).toBe(0);
    }
  });

  it('holds a point at longitude +180 in the west part of a zone split into two zones (as inline zones must be)', () => {
    const part = (name: string, ring: number[][]): Zone => ({ name, locationCode: 'Y', priority: 0, shape: { type: 'polygon', polygons: [[ring as [number, number][]]] } });
    const index = new ZoneIndex([part('yard-east', east), part('yard-west', west)], { hysteresisM: 25 });
    // Not in the band of the east part: the parts are side by side (apart), and a position inside one is not held by the other's band.
    expect(index.locate(-16.8, 180)).toEqual({ inside: ['yard-west'], band: [] });
    expect(index.locate(-16.8, -180)).toEqual({ inside: ['yard-west'], band: [] });
    const inside = new Int32Array(4);
    const band = new Int32Array(4);
    expect(index.locateNumbers(-16.8, 180, inside, band)).toBe(1);
    expect(inside[0]).toBe(1);
  });
});
