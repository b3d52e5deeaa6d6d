import { describe, expect, it } from 'vitest';
import { zonesFromGeoJson } from './geojson.js';

const ring = [[13.4, 52.5], [13.41, 52.5], [13.41, 52.51], [13.4, 52.51], [13.4, 52.5]];
/** One feature named "yard" with the given extra properties and geometry. */
const read = (geometry: unknown, properties: Record<string, unknown> = {}) =>
  zonesFromGeoJson({ type: 'Feature', properties: { name: 'yard', locationCode: 'Y', ...properties }, geometry });

describe('GeoJSON import refuses zones nobody could ever be in', () => {
  it('a Point with radius 0 is refused (a zone of no area)', () => {
    // Mutation: `radius <= 0` -> `radius < 0`.
    expect(read({ type: 'Point', coordinates: [13.4, 52.5] }, { radiusM: 0 })).toEqual({
      zones: [],
      problems: ['feature 0 ("yard"): property "radiusM" (the radius in metres) must be above 0: 0 was given'],
    });
  });

  it('a ring of two distinct positions is refused', () => {
    // Mutation: `points.length < 4` -> `< 3` (accepts [a, b, a]).
    const line = [[13.4, 52.5], [13.41, 52.5], [13.4, 52.5]];
    const message = 'feature 0 ("yard"): outer ring needs at least 3 distinct positions, in order around the zone (it has 2)';
    expect(read({ type: 'Polygon', coordinates: [line] })).toEqual({ zones: [], problems: [message] });
    expect(read({ type: 'Polygon', coordinates: [line.slice(0, 2)] }).problems).toEqual([message]);
  });

  it('a zone around a pole (longitude -180 to 180) is told to split at longitude 0, not at ±180 where it is split already; so split, it is read', () => {
    const cap = [[-180, 89], [180, 89], [180, 90], [-180, 90], [-180, 89]];
    expect(read({ type: 'Polygon', coordinates: [cap] }).problems).toEqual([
      'feature 0 ("yard"): reaches from longitude -180 to 180 (a zone around a pole, or across the whole map); edges are straight in longitude and latitude, so no part of a zone may span more than 180° of longitude: split it at longitude 0 into two polygons of a MultiPolygon, one from -180 to 0 and one from 0 to 180',
    ]);
    const west = [[-180, 89], [0, 89], [0, 90], [-180, 90], [-180, 89]];
    const east = [[0, 89], [180, 89], [180, 90], [0, 90], [0, 89]];
    expect(read({ type: 'MultiPolygon', coordinates: [[west], [east]] })).toMatchObject({ zones: [{ name: 'yard' }], problems: [] });
    // One across the antimeridian is still told to split there.
    expect(read({ type: 'Polygon', coordinates: [[[179, 0], [-179, 0], [-179, 1], [179, 1], [179, 0]]] }).problems).toEqual([
      'feature 0 ("yard"): spans more than 180° of longitude; a zone across the antimeridian must be split in two at ±180 (a MultiPolygon)',
    ]);
  });

  it('a MultiPolygon without polygons is refused', () => {
    // Mutation: the empty-list check dropped (an empty MultiPolygon read as a zone with no area).
    expect(read({ type: 'MultiPolygon', coordinates: [] })).toEqual({ zones: [], problems: ['feature 0 ("yard"): MultiPolygon has no polygons'] });
  });
});

describe('GeoJSON import catches swapped coordinates', () => {
  it('a latitude beyond ±90 is out of range (a position written [lat, lng] east of 90° E)', () => {
    // Mutation: latitude allowed up to 180. Shanghai written [lat, lng]:
    expect(read({ type: 'Point', coordinates: [31.23, 121.47] }, { radiusM: 50 })).toEqual({
      zones: [],
      problems: ['feature 0 ("yard"): position [31.23, 121.47] is out of range (GeoJSON order is [longitude, latitude])'],
    });
    expect(read({ type: 'Point', coordinates: [31.23, -90.5] }, { radiusM: 50 }).zones).toEqual([]);
  });
});

describe('GeoJSON import of bad properties', () => {
  it('refuses a zone name with "|" (it is a key separator)', () => {
    // Mutation: the "|" check weakened.
    expect(read({ type: 'Polygon', coordinates: [ring] }, { name: 'yard|north' })).toEqual({ zones: [], problems: ['feature 0 ("yard|north"): zone names must not contain "|"'] });
  });

  it('refuses the zone names "__proto__", "constructor", … (an object would take them as its prototype, or find them inherited)', () => {
    expect(read({ type: 'Polygon', coordinates: [ring] }, { name: '__proto__' })).toEqual({
      zones: [],
      problems: ['feature 0: "__proto__" cannot name a zone: the names of JavaScript\'s object properties (__proto__, constructor, toString, …) are reserved, as state keyed by them would be lost or misread; choose another name'],
    });
    expect(read({ type: 'Polygon', coordinates: [ring] }, { name: 'constructor' }).zones).toEqual([]);
    expect(read({ type: 'Polygon', coordinates: [ring] }, { name: '__proto__x' }).zones).toHaveLength(1);
  });

  it('a feature whose priority is not a number is reported and not read as a zone', () => {
    // Mutation: the zone pushed although its priority is not a number.
    expect(read({ type: 'Polygon', coordinates: [ring] }, { priority: 'high' })).toEqual({ zones: [], problems: ['feature 0 ("yard"): property "priority" must be a number: "high" was given'] });
    // An unset text field of a GIS export: no priority, as null or no property is.
    expect(read({ type: 'Polygon', coordinates: [ring] }, { priority: '' }).zones[0]?.priority).toBe(0);
    expect(read({ type: 'Polygon', coordinates: [ring] }, { priority: '' }).problems).toEqual([]);
    expect(read({ type: 'Polygon', coordinates: [ring] }, { priority: '2' }).problems).toEqual(['feature 0 ("yard"): property "priority" must be a number: "2" is text (write 2 without quotes)']);
  });

  it('a radius given as text is reported as text, with its value (not as a missing radius)', () => {
    expect(read({ type: 'Point', coordinates: [13.4, 52.5] }, { radiusM: '40' })).toEqual({
      zones: [],
      problems: ['feature 0 ("yard"): property "radiusM" (the radius in metres) must be a number: "40" is text (write 40 without quotes)'],
    });
    expect(read({ type: 'Point', coordinates: [13.4, 52.5] }, { radiusM: 'wide' }).problems).toEqual(['feature 0 ("yard"): property "radiusM" (the radius in metres) must be a number: "wide" was given']);
    // With its unit, as a GIS attribute table may hold it: the number alone is what to write.
    expect(read({ type: 'Point', coordinates: [13.4, 52.5] }, { radiusM: '150m' }).problems).toEqual(['feature 0 ("yard"): property "radiusM" (the radius in metres) must be a number: "150m" is text with a unit (write the number alone, without quotes or unit)']);
    expect(read({ type: 'Point', coordinates: [13.4, 52.5] }, { radiusM: '40 metres' }).problems).toEqual(['feature 0 ("yard"): property "radiusM" (the radius in metres) must be a number: "40 metres" is text with a unit (write the number alone, without quotes or unit)']);
  });

  it('features sharing a name are none of them a good zone; an empty collection is a problem', () => {
    const yard = { type: 'Feature', properties: { name: 'yard', locationCode: 'Y' }, geometry: { type: 'Polygon', coordinates: [ring] } };
    const hall = { ...yard, properties: { name: 'hall', locationCode: 'H' } };
    expect(zonesFromGeoJson({ type: 'FeatureCollection', features: [yard, hall, yard] })).toEqual({
      zones: [expect.objectContaining({ name: 'hall' })],
      problems: ['zone name "yard" is used by features 0 and 2; names must be unique: they have one location code, so if they are parts of one zone, make them one feature with a MultiPolygon geometry (QGIS: Vector > Geometry Tools > Collect Geometries, or Dissolve by "name"); else give each its own "name" (zones may share a location code)'],
    });
    expect(zonesFromGeoJson({ type: 'FeatureCollection', features: [] })).toEqual({
      zones: [],
      problems: ['the FeatureCollection has no features: a zones file needs at least one zone (was the wrong layer exported?)'],
    });
  });
});

describe('GeoJSON import of a layer in another coordinate system, or in [lat, lng] order', () => {
  const square = (x: number, y: number, d: number) => [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]];
  const feature = (name: string, coordinates: unknown) => ({ type: 'Feature', properties: { name, locationCode: name }, geometry: { type: 'Polygon', coordinates } });

  it('a QGIS export in a projected system (Dutch RD New, metres) is one problem for the file, naming its crs and how to reproject', () => {
    const doc = {
      type: 'FeatureCollection',
      crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::28992' } },
      features: [feature('a', square(65000, 444000, 500)), feature('b', square(66000, 444000, 500))],
    };
    const { zones, problems } = zonesFromGeoJson(doc);
    expect(zones).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('the coordinates are not longitude/latitude in degrees (feature 0\'s first position is [65000, 444000], and the file\'s "crs" is urn:ogc:def:crs:EPSG::28992)');
    expect(problems[0]).toContain('ogr2ogr -t_srs EPSG:4326');
    expect(problems[0]).not.toContain('GeoJSON order');
  });

  describe('a crs that puts latitude first (GeoServer WFS 1.1/2.0 GeoJSON under urn:ogc:def:crs:EPSG::4326)', () => {
    const named = (name: string | undefined, ...features: unknown[]) => ({ type: 'FeatureCollection', ...(name !== undefined ? { crs: { type: 'name', properties: { name } } } : {}), features });
    // Rotterdam's port written [lat, lng]: both numbers within ±90, so only the crs tells.
    const rotterdam = feature('rotterdam', square(51.95, 4.04, 0.01));
    it.each([
      ['urn:ogc:def:crs:EPSG::4326', 'EPSG:4326'],
      ['urn:x-ogc:def:crs:EPSG:6.6:4326', 'EPSG:4326'],
      ['http://www.opengis.net/def/crs/EPSG/0/4326', 'EPSG:4326'],
      ['urn:ogc:def:crs:EPSG::4258', 'EPSG:4258'],
    ])('%s: one problem for the file, naming it and what to do', (name, code) => {
      const { zones, problems } = zonesFromGeoJson(named(name, rotterdam, feature('b', square(51.9, 4.1, 0.01))));
      expect(zones).toEqual([]);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(`the file's "crs" is ${name}, which puts latitude first (${code} axis order`);
      expect(problems[0]).toContain("feature 0's first position is [51.95, 4.04], which would be read as longitude first");
      expect(problems[0]).toContain('export the layer again as longitude/latitude (CRS84, or EPSG:4326');
      expect(problems[0]).toContain('or swap the two numbers of every position and remove the "crs" member');
      expect(problems[0]).toContain('remove the "crs" member or name urn:ogc:def:crs:OGC:1.3:CRS84');
    });
    it('a latitude beyond ±90 in second place confirms the swap', () => {
      const { problems } = zonesFromGeoJson(named('urn:ogc:def:crs:EPSG::4326', feature('denver', square(39.7, -105.0, 0.1))));
      expect(problems).toEqual([expect.stringContaining("feature 0's first position is [39.7, -105], and its second number is beyond ±90, so the file is [latitude, longitude]")]);
      expect(problems[0]).not.toContain('mislabelled');
    });
    it.each([['urn:ogc:def:crs:OGC:1.3:CRS84'], ['EPSG:4326'], [undefined]])('%s (longitude first) reads as before', (name) => {
      const { zones, problems } = zonesFromGeoJson(named(name, feature('port', square(4.04, 51.95, 0.01))));
      expect(problems).toEqual([]);
      expect(zones.map((z) => z.name)).toEqual(['port']);
    });
    it('positions with a longitude beyond ±90 first are longitude first whatever the crs says (a mislabelled export)', () => {
      const { zones, problems } = zonesFromGeoJson(named('urn:ogc:def:crs:EPSG::4326', feature('denver', square(-105.0, 39.7, 0.1))));
      expect(problems).toEqual([]);
      expect(zones).toHaveLength(1);
    });
  });

  it('without a crs member, metres are still told apart from swapped degrees, per position when only some are', () => {
    const good = feature('good', square(4.04, 51.95, 0.01));
    const { zones, problems } = zonesFromGeoJson({ type: 'FeatureCollection', features: [good, feature('typo', square(4045, 51.95, 1))] });
    expect(zones.map((z) => z.name)).toEqual(['good']);
    expect(problems).toEqual([expect.stringMatching(/^feature 1 \("typo"\): position \[4045, 51\.95\] is not longitude\/latitude in degrees .*EPSG:4326/)]);
  });

  it('every feature written [lat, lng] is said once, not once per feature', () => {
    const denver = feature('denver', square(39.7, -105.0, 0.1));
    const boulder = feature('boulder', square(40.0, -105.3, 0.1));
    expect(zonesFromGeoJson({ type: 'FeatureCollection', features: [denver, boulder] })).toEqual({
      zones: [],
      problems: ["every feature's positions are [latitude, longitude] (feature 0's first position is [39.7, -105], a latitude beyond ±90): GeoJSON order is [longitude, latitude]; swap the two numbers of every position"],
    });
  });
});

describe('GeoJSON import of a Point zone without its radius', () => {
  it('names the properties the feature has and the config key that picks the radius property (a GIS export calls it "radius")', () => {
    expect(read({ type: 'Point', coordinates: [13.4, 52.5] }, { radius: 40 }).problems).toEqual([
      'feature 0 ("yard"): property "radiusM" (a Point zone\'s radius in metres) is missing or empty (its properties: name, locationCode, radius); if another property holds it, name that one in rules.zones.properties.radiusM',
    ]);
    // An empty attribute of a QGIS export is null: missing, not "must be a number: null was given".
    expect(read({ type: 'Point', coordinates: [13.4, 52.5] }, { radiusM: null }).problems[0]).toContain('is missing or empty');
    expect(read({ type: 'Point', coordinates: [13.4, 52.5] }, { radiusM: -5 }).problems).toEqual(['feature 0 ("yard"): property "radiusM" (the radius in metres) must be above 0: -5 was given']);
  });
});

describe('GeoJSON import of a document that is no FeatureCollection says what it is instead', () => {
  const first = (doc: unknown, props = {}) => zonesFromGeoJson(doc, props).problems;
  it('a bare geometry, TopoJSON, a list of features, a collection without features, a type in the wrong case', () => {
    expect(first({ type: 'Polygon', coordinates: [ring] }, { name: 'NAME', locationCode: 'SLOC' })).toEqual([
      'a bare Polygon geometry, not a FeatureCollection: a zone needs properties (its "NAME" and "SLOC"), so put the geometry in a Feature with them, in a FeatureCollection (expected {"type":"FeatureCollection","features":[...]})',
    ]);
    expect(first({ type: 'Topology', objects: {} })).toEqual(['TopoJSON, not GeoJSON: convert it to a GeoJSON FeatureCollection (mapshaper: -o format=geojson; topojson-client: topo2geo)']);
    expect(first([{ type: 'Feature' }])[0]).toMatch(/^a JSON list, not a GeoJSON FeatureCollection/);
    expect(first({ type: 'FeatureCollection' })[0]).toMatch(/^a FeatureCollection without a "features" list/);
    expect(first({ type: 'featurecollection', features: [] })).toEqual(['"type" is "featurecollection": GeoJSON types are written exactly, "FeatureCollection"']);
    expect(first({ kind: 'zones' })[0]).toBe('not a GeoJSON FeatureCollection or Feature (it has no "type"; expected {"type":"FeatureCollection","features":[...]})');
  });
});

describe('GeoJSON import of a GeometryCollection', () => {
  const square = (x: number, y: number, d: number) => [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]];
  const read = (geometry: unknown) => zonesFromGeoJson({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'plant', locationCode: 'PL' }, geometry }] });

  it('of Polygons and MultiPolygons only is one MultiPolygon zone, its polygons in order', () => {
    const geometry = {
      type: 'GeometryCollection',
      geometries: [
        { type: 'Polygon', coordinates: square(4.0, 52.0, 0.001) },
        { type: 'MultiPolygon', coordinates: [square(4.01, 52.0, 0.001), square(4.02, 52.0, 0.001)] },
      ],
    };
    const { zones, problems } = read(geometry);
    expect(problems).toEqual([]);
    expect(zones).toHaveLength(1);
    expect(zones[0]?.shape).toEqual(read({ type: 'MultiPolygon', coordinates: [square(4.0, 52.0, 0.001), square(4.01, 52.0, 0.001), square(4.02, 52.0, 0.001)] }).zones[0]?.shape);
  });

  it('a problem in one of its polygons, or two overlapping, names the geometry (and polygon) of the collection', () => {
    const bad = { type: 'GeometryCollection', geometries: [{ type: 'Polygon', coordinates: square(4.0, 52.0, 0.001) }, { type: 'MultiPolygon', coordinates: [square(4.01, 52.0, 0.001), [[[4.02, 52.0], [4.02, 52.0]]]] }] };
    expect(read(bad).problems).toEqual([expect.stringMatching(/^feature 0 \("plant"\): polygon 1 of geometry 1 of the GeometryCollection: outer ring /)]);
    const twice = { type: 'GeometryCollection', geometries: [{ type: 'Polygon', coordinates: square(4.0, 52.0, 0.001) }, { type: 'Polygon', coordinates: square(4.0, 52.0, 0.001) }] };
    expect(read(twice)).toEqual({ zones: [], problems: ['feature 0 ("plant"): geometry 1 of the GeometryCollection is geometry 0 again (the same outer ring); leave one of them out'] });
  });

  it.each([
    [{ type: 'GeometryCollection', geometries: [{ type: 'Polygon', coordinates: square(4.0, 52.0, 0.001) }, { type: 'LineString', coordinates: [[4.0, 52.0], [4.1, 52.1]] }] }, 'geometry 1 is a LineString'],
    [{ type: 'GeometryCollection', geometries: [{ type: 'Point', coordinates: [4.0, 52.0] }] }, 'geometry 0 is a Point'],
    [{ type: 'GeometryCollection', geometries: [{ type: 'GeometryCollection', geometries: [] }] }, 'geometry 0 is a GeometryCollection'],
    [{ type: 'GeometryCollection', geometries: [{ type: 'MultiPolygon', coordinates: [] }] }, 'geometry 0 is a MultiPolygon with no polygons'],
  ])('with another geometry in it is refused, saying which: %#', (geometry, which) => {
    const { zones, problems } = read(geometry);
    expect(zones).toEqual([]);
    expect(problems).toEqual([`feature 0 ("plant"): a GeometryCollection is read as one MultiPolygon only when all its geometries are Polygons or MultiPolygons, and ${which}; use Polygon, MultiPolygon, or Point with "radiusM" (a zone is one area: give each other shape its own feature)`]);
  });

  it('without geometries is refused', () => {
    expect(read({ type: 'GeometryCollection', geometries: [] }).problems).toEqual([expect.stringContaining('GeometryCollection has no geometries')]);
  });
});
