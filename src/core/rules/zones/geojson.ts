/**
 * Zones from GeoJSON (RFC 7946): a FeatureCollection (or a single Feature) whose features are
 * Polygons, MultiPolygons, or Points with a radius property (GeoJSON has no circle). Every problem
 * is reported with the feature it concerns, all at once, so a bad file is fixed in one pass.
 * @module
 */
import { MAX_CIRCLE_RADIUS_M, holeProblem, holesProblem, partsProblem, ringProblem, type LngLat, type Polygon, type Ring, type Zone, type ZoneShape } from './geometry.js';
import { isReservedName, reservedNameProblem } from '../rule.js';

/** Which feature properties carry the zone's fields. */
export interface GeoJsonZoneProperties {
  /** @default name */
  readonly name: string;
  /** @default locationCode */
  readonly locationCode: string;
  /** @default site */
  readonly site: string;
  /** @default priority */
  readonly priority: string;
  /** Radius in metres, for Point features. @default radiusM */
  readonly radiusM: string;
}

export const DEFAULT_GEOJSON_PROPERTIES: GeoJsonZoneProperties = {
  name: 'name',
  locationCode: 'locationCode',
  site: 'site',
  priority: 'priority',
  radiusM: 'radiusM',
};

export interface GeoJsonImport {
  readonly zones: Zone[];
  /** What is wrong, one line per problem, naming the feature (index and name when known). */
  readonly problems: string[];
}

type Json = Record<string, unknown>;

/** `: "40" is text (write 40 without quotes)` and the like, to follow "must be a number". */
function notANumber(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  const shown = text.length > 40 ? `${text.slice(0, 37)}...` : text;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return `: ${shown} is text (write ${value.trim()} without quotes)`;
  // A number with its unit (`"150m"`, `"40 metres"`): the unit is the property's own, so the number alone.
  if (typeof value === 'string' && /^\s*[-+]?\d+(\.\d+)?\s*[a-z]+\s*$/i.test(value)) return `: ${shown} is text with a unit (write the number alone, without quotes or unit)`;
  return `: ${shown} was given`;
}
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * After "property X is missing or empty": the properties the feature has (a GIS export names its
 * fields its own way: `SLOC`, `NAME`), and the config key that says which one to read.
 */
function missingHint(properties: Json, key: keyof GeoJsonZoneProperties, wanted: string, propertiesKey: string): string {
  const names = Object.keys(properties);
  const has = names.length === 0 ? 'it has no properties' : `its properties: ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''}`;
  return ` (${has}); ${nameItHint(names, key, wanted, propertiesKey)}`;
}

/** Which config key names the property read for `key`, with the property that differs from `wanted` only in case when there is one (KML's `Name`, ArcGIS's `NAME`). */
function nameItHint(names: readonly string[], key: keyof GeoJsonZoneProperties, wanted: string, propertiesKey: string): string {
  const sameButCase = names.find((n) => n !== wanted && n.toLowerCase() === wanted.toLowerCase());
  return sameButCase !== undefined
    ? `"${sameButCase}" differs only in case (property names are case-sensitive): name it in ${propertiesKey}.${key}`
    : `if another property holds it, name that one in ${propertiesKey}.${key}`;
}

/**
 * Read zones from a parsed GeoJSON document. `propertiesKey`: the config key whose entries name
 * the properties read, for the hint after a missing one (a file's own, `rules.zones.files.1.properties`).
 */
export function zonesFromGeoJson(doc: unknown, props: Partial<GeoJsonZoneProperties> = {}, propertiesKey = 'rules.zones.properties'): GeoJsonImport {
  const p = { ...DEFAULT_GEOJSON_PROPERTIES, ...props };
  const missingPropertyHint = (properties: Json, key: keyof GeoJsonZoneProperties) => missingHint(properties, key, p[key], propertiesKey);
  const problems: string[] = [];
  let features: unknown[];
  if (isObject(doc) && doc.type === 'FeatureCollection' && Array.isArray(doc.features)) features = doc.features;
  else if (isObject(doc) && doc.type === 'Feature') features = [doc];
  else return { zones: [], problems: [notACollection(doc, p)] };
  // A zones file without zones is almost certainly a mistake (an empty export, the wrong layer).
  if (features.length === 0) return { zones: [], problems: ['the FeatureCollection has no features: a zones file needs at least one zone (was the wrong layer exported?)'] };
  // A layer exported in another coordinate system, or written [lat, lng]: said once for the file,
  // not once per feature (a site plan has hundreds), with what to do about it.
  const wholeFile = coordinateSystemProblem(doc, features);
  if (wholeFile !== undefined) return { zones: [], problems: [wholeFile] };

  // A property every feature lacks (a GIS export names its fields its own way: NAME, SLOC): said
  // once for the file, not once for each of its thousand features.
  const everywhere = missingEverywhere(features, p, propertiesKey);
  problems.push(...everywhere.problems);
  // A layer of lines (a CAD drawing's outlines): said once for the file too.
  const lines = sameUnsupportedType(features);
  if (lines !== undefined) problems.push(`every feature's geometry is a ${lines.type} (all ${lines.count}), which is not supported; use Polygon, MultiPolygon, or Point with "${p.radiusM}"${unsupportedHint(lines.type)}`);
  const zones: Zone[] = [];
  // Zone name, read ignoring case (`yard` and `YARD` are one name to an ERP user and a reader's
  // "did you mean"), → the features that use it (invalid ones too, so one pass finds every problem).
  const byName = new Map<string, number[]>();
  // Feature index → its zone name as written, to name the spellings of a name used with two.
  const spelled = new Map<number, string>();
  // Feature index → its location code, to tell the parts of one zone split into features from two zones.
  const codes = new Map<number, string>();
  const codeOf = (i: number) => codes.get(i) ?? '';
  features.forEach((f, i) => {
    // Without a usable name, the feature's own "id" (RFC 7946 §3.2: a GIS export's fid, which its
    // tools show where they do not show the index) says which one it is too.
    const id = isObject(f) && (typeof f.id === 'string' || typeof f.id === 'number') ? ` (id ${JSON.stringify(f.id)})` : '';
    const where = (name?: string) => `feature ${i}${name ? ` ("${name}")` : id}`;
    if (!isObject(f) || f.type !== 'Feature') {
      problems.push(`${where()}: not a GeoJSON Feature`);
      return;
    }
    const properties = isObject(f.properties) ? f.properties : {};
    const name = properties[p.name];
    const nameText = typeof name === 'string' || typeof name === 'number' ? String(name).trim() : '';
    if (nameText === '') {
      if (!everywhere.keys.has('name')) {
        problems.push(`${where()}: property "${p.name}" (the zone name) is missing or empty${missingPropertyHint(properties, 'name')}`);
        return;
      }
      // Said for the file: the feature's other problems still, so the next check finds no new ones.
      if (!everywhere.keys.has('locationCode') && noText(properties[p.locationCode]))
        problems.push(`${where()}: property "${p.locationCode}" (the ERP location code) is missing or empty${missingPropertyHint(properties, 'locationCode')}`);
      shapeOf(f.geometry, properties, (msg) => problems.push(`${where()}: ${msg}`), p.radiusM, propertiesKey, everywhere.keys.has('radiusM'), lines !== undefined);
      return;
    }
    byName.set(nameText.toLowerCase(), [...(byName.get(nameText.toLowerCase()) ?? []), i]);
    spelled.set(i, nameText);
    if (nameText.includes('|')) problems.push(`${where(nameText)}: zone names must not contain "|"`);
    if (isReservedName(nameText)) problems.push(`${where()}: ${reservedNameProblem(nameText, 'zone')}`);
    const code = properties[p.locationCode];
    const codeText = typeof code === 'string' || typeof code === 'number' ? String(code).trim() : '';
    codes.set(i, codeText);
    if (codeText === '' && !everywhere.keys.has('locationCode')) problems.push(`${where(nameText)}: property "${p.locationCode}" (the ERP location code) is missing or empty${missingPropertyHint(properties, 'locationCode')}`);
    // An empty value (a GIS export's unset text field) is no priority, as null is: 0.
    const rawPriority = properties[p.priority];
    const priority = rawPriority === undefined || rawPriority === null || rawPriority === '' ? 0 : rawPriority;
    if (typeof priority !== 'number' || !Number.isFinite(priority)) problems.push(`${where(nameText)}: property "${p.priority}" must be a number${notANumber(priority)}`);
    const site = properties[p.site];
    // Read like the name and code: numeric plant codes (SAP's 1000) are common, and must not vanish.
    const siteText = typeof site === 'string' || typeof site === 'number' ? String(site).trim() : '';
    const shape = shapeOf(f.geometry, properties, (msg) => problems.push(`${where(nameText)}: ${msg}`), p.radiusM, propertiesKey, everywhere.keys.has('radiusM'), lines !== undefined);
    // A refused zone is not returned: `zones check` counts what is returned as good.
    if (!shape || codeText === '' || typeof priority !== 'number' || nameText.includes('|') || isReservedName(nameText)) return;
    zones.push({
      name: nameText,
      locationCode: codeText,
      priority,
      shape,
      ...(siteText !== '' ? { site: siteText } : {}),
    });
  });
  // Once per name, not once per repeat.
  for (const at of byName.values()) {
    if (at.length < 2) continue;
    const names = at.map((i) => spelled.get(i) ?? '');
    const hint = repeatedNameHint(at.map((i) => codeOf(i)), p.name);
    if (names.every((n) => n === names[0])) problems.push(`zone name "${names[0]}" is used by features ${listed(at.map(String))}; names must be unique: ${hint}`);
    else problems.push(`zone names ${listed(at.map((i, k) => `"${names[k]}" (feature ${i})`))} differ only in case; names must differ in more than case (ERP users, 'zones locate' and a sighting naming its zone could not tell them apart): ${hint}`);
  }
  // No zone of a repeated name is good: which one was meant is for the file's owner to say.
  const good = zones.filter((z) => (byName.get(z.name.toLowerCase())?.length ?? 0) < 2);
  return { zones: good, problems };
}

/** `a`, `a and b`, `a, b and c`. */
const listed = (items: readonly string[]): string => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`);

/**
 * What to do about features sharing a zone name, by their location codes: one code is one zone in
 * parts (a multipart layer split into single parts, QGIS "Multipart to Singleparts"), to be one
 * MultiPolygon feature; different codes are different zones, each wanting its own name.
 */
function repeatedNameHint(codes: readonly string[], nameProperty: string): string {
  const oneZone = codes.every((c) => c !== '' && c === codes[0]);
  if (oneZone)
    return `they have one location code, so if they are parts of one zone, make them one feature with a MultiPolygon geometry (QGIS: Vector > Geometry Tools > Collect Geometries, or Dissolve by "${nameProperty}"); else give each its own "${nameProperty}" (zones may share a location code)`;
  return `give each its own "${nameProperty}" (zones may share a location code)`;
}

/** A property value that gives nothing: absent, null (an empty attribute of a GIS export), or blank text. */
const isBlank = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
/** A zone name or location code that gives nothing: not text or a number, or blank text. */
const noText = (v: unknown): boolean => !(typeof v === 'string' || typeof v === 'number') || String(v).trim() === '';

/**
 * Zone fields whose property is missing or empty in every feature it applies to (at least two:
 * one feature's problem is said for it): one line for the file each, naming the properties the
 * features have, one differing only in case first, and the config key to set.
 */
function missingEverywhere(features: readonly unknown[], p: GeoJsonZoneProperties, propertiesKey: string): { problems: string[]; keys: ReadonlySet<keyof GeoJsonZoneProperties> } {
  const keys = new Set<keyof GeoJsonZoneProperties>();
  const problems: string[] = [];
  const checks: [keyof GeoJsonZoneProperties, string, (f: Json) => boolean, (v: unknown) => boolean][] = [
    ['name', 'the zone name', () => true, noText],
    ['locationCode', 'the ERP location code', () => true, noText],
    ['radiusM', "a Point zone's radius in metres", (f) => isObject(f.geometry) && f.geometry.type === 'Point', isBlank],
  ];
  const all = features.filter((f): f is Json => isObject(f) && f.type === 'Feature');
  for (const [key, text, applies, blank] of checks) {
    const of = all.filter(applies);
    if (of.length < 2 || !of.every((f) => blank(isObject(f.properties) ? f.properties[p[key]] : undefined))) continue;
    keys.add(key);
    // The properties the features have, in the order first seen.
    const names = new Set<string>();
    for (const f of of) if (isObject(f.properties)) for (const n of Object.keys(f.properties)) names.add(n);
    const list = [...names];
    const has = list.length === 0 ? 'they have no properties' : `their properties: ${list.slice(0, 12).join(', ')}${list.length > 12 ? ', …' : ''}`;
    problems.push(`property "${p[key]}" (${text}) is missing or empty in all ${of.length}${key === 'radiusM' ? ' Point' : ''} features (${has}); ${nameItHint(list, key, p[key], propertiesKey)}`);
  }
  return { problems, keys };
}

/** The one geometry type of every feature (at least two), when it is one a zone cannot be; else undefined. */
function sameUnsupportedType(features: readonly unknown[]): { type: string; count: number } | undefined {
  // A GeometryCollection of polygons is one MultiPolygon zone; another is said per feature, as what is wrong in each differs.
  const types = features.map((f) => (isObject(f) && f.type === 'Feature' && isObject(f.geometry) ? (f.geometry.type === 'GeometryCollection' ? 'MultiPolygon' : f.geometry.type) : undefined));
  const [type] = types;
  if (types.length < 2 || typeof type !== 'string' || ['Polygon', 'MultiPolygon', 'Point'].includes(type) || !types.every((t) => t === type)) return undefined;
  return { type, count: types.length };
}

/** What to do with a geometry type a zone cannot be, after "use Polygon, …". */
function unsupportedHint(type: unknown): string {
  if (type === 'LineString' || type === 'MultiLineString')
    return ' (a line has no inside: if it is a closed outline, as CAD drawings give, make it a polygon: QGIS Vector > Geometry Tools > Lines to Polygons, or ogr2ogr -nlt POLYGON)';
  if (type === 'MultiPoint') return ' (give each point its own feature, with its radius)';
  return '';
}

const GEOMETRY_TYPES = ['Point', 'MultiPoint', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon', 'GeometryCollection'];

/** What a document that is no FeatureCollection or Feature is instead, and what to make of it. */
function notACollection(doc: unknown, p: GeoJsonZoneProperties): string {
  const expected = 'expected {"type":"FeatureCollection","features":[...]}';
  if (Array.isArray(doc)) return `a JSON list, not a GeoJSON FeatureCollection: put the features in {"type":"FeatureCollection","features":[...]}`;
  const type = isObject(doc) ? doc.type : undefined;
  if (type === 'FeatureCollection') return `a FeatureCollection without a "features" list (${expected})`;
  if (type === 'Topology') return 'TopoJSON, not GeoJSON: convert it to a GeoJSON FeatureCollection (mapshaper: -o format=geojson; topojson-client: topo2geo)';
  if (typeof type === 'string' && GEOMETRY_TYPES.includes(type))
    return `a bare ${type} geometry, not a FeatureCollection: a zone needs properties (its "${p.name}" and "${p.locationCode}"), so put the geometry in a Feature with them, in a FeatureCollection (${expected})`;
  if (typeof type === 'string' && ['featurecollection', 'feature'].includes(type.toLowerCase()))
    return `"type" is ${JSON.stringify(type)}: GeoJSON types are written exactly, "${type.toLowerCase() === 'feature' ? 'Feature' : 'FeatureCollection'}"`;
  return `not a GeoJSON FeatureCollection or Feature (${type === undefined ? 'it has no "type"' : `its "type" is ${JSON.stringify(type).slice(0, 60)}`}; ${expected})`;
}

/**
 * `radiusSaid`: a missing radius is said for the whole file already (see {@link missingEverywhere});
 * `typeSaid`: an unsupported geometry type is (see {@link sameUnsupportedType}).
 */
function shapeOf(geometry: unknown, properties: Json, problem: (m: string) => void, radiusProperty: string, propertiesKey: string, radiusSaid = false, typeSaid = false): ZoneShape | undefined {
  if (!isObject(geometry)) {
    // null is valid GeoJSON: a row of the layer with no shape drawn (QGIS and ArcGIS export it so).
    problem(
      geometry === null || geometry === undefined
        ? `has no geometry (${geometry === null ? '"geometry": null, a feature with no shape drawn' : 'no "geometry" member'}): draw the zone's shape, or remove the feature if it is no zone`
        : `"geometry" is not a GeoJSON geometry object (${JSON.stringify(geometry).slice(0, 40)} was given): give {"type": "Polygon", "coordinates": [...]} or the like`,
    );
    return undefined;
  }
  switch (geometry.type) {
    case 'Polygon': {
      const polygon = polygonOf(geometry.coordinates, problem);
      return polygon ? { type: 'polygon', polygons: [polygon] } : undefined;
    }
    case 'MultiPolygon': {
      if (!Array.isArray(geometry.coordinates) || geometry.coordinates.length === 0) {
        problem('MultiPolygon has no polygons');
        return undefined;
      }
      return partsOf(geometry.coordinates, problem, (k) => ({ full: `polygon ${k} of the MultiPolygon`, short: `polygon ${k}` }));
    }
    case 'GeometryCollection': {
      // Polygons and MultiPolygons only (as some exports group a zone's parts): one MultiPolygon.
      const collected = polygonCollection(geometry);
      if (collected === undefined) {
        if (!typeSaid) problem(collectionProblem(geometry, radiusProperty));
        return undefined;
      }
      return partsOf(
        collected.map((c) => c.coordinates),
        problem,
        (k) => {
          const { geometry: g, polygon } = collected[k] as CollectedPolygon;
          const short = polygon === undefined ? `geometry ${g}` : `polygon ${polygon} of geometry ${g}`;
          return { full: `${short} of the GeometryCollection`, short };
        },
      );
    }
    case 'Point': {
      const pos = positionOf(geometry.coordinates, problem);
      const radius = properties[radiusProperty];
      // An empty attribute of a GIS export is null: as missing, with the properties the feature has.
      if (isBlank(radius)) {
        if (radiusSaid) return undefined;
        problem(`property "${radiusProperty}" (a Point zone's radius in metres) is missing or empty${missingHint(properties, 'radiusM', radiusProperty, propertiesKey)}`);
        return undefined;
      }
      if (typeof radius !== 'number') {
        problem(`property "${radiusProperty}" (the radius in metres) must be a number${notANumber(radius)}`);
        return undefined;
      }
      if (!Number.isFinite(radius) || radius <= 0) {
        problem(`property "${radiusProperty}" (the radius in metres) must be above 0: ${radius} was given`);
        return undefined;
      }
      if (radius > MAX_CIRCLE_RADIUS_M) {
        problem(`property "${radiusProperty}" (the radius in metres) must be above 0 and at most ${MAX_CIRCLE_RADIUS_M} (20,000 km, half the Earth's circumference): ${radius} was given`);
        return undefined;
      }
      return pos ? { type: 'circle', lng: pos[0], lat: pos[1], radiusM: radius } : undefined;
    }
    default:
      if (!typeSaid) problem(`geometry type ${JSON.stringify(geometry.type)} is not supported; use Polygon, MultiPolygon, or Point with "${radiusProperty}"${unsupportedHint(geometry.type)}`);
      return undefined;
  }
}

/**
 * The polygons of one zone (a MultiPolygon's, or a GeometryCollection's read as one), each
 * checked, and none overlapping another; `name`: a part in words, in full and beside another.
 */
function partsOf(parts: readonly unknown[], problem: (m: string) => void, name: (k: number) => { full: string; short: string }): ZoneShape | undefined {
  // Which polygon a problem is in: a MultiPolygon of many parts is hard to search otherwise.
  const polygons = parts.map((c, k) => polygonOf(c, (m) => problem(`${name(k).full}: ${m}`), true));
  if (!polygons.every((x): x is Polygon => x !== undefined)) return undefined;
  // Polygons overlapping each other (the same part given twice): the overlap would count twice
  // in the zone's area, which ranks overlapping zones. Once per polygon, naming the first it overlaps.
  let good = true;
  for (let j = 1; j < polygons.length; j++)
    for (let i = 0; i < j; i++) {
      const wrong = partsProblem(polygons[i] as Polygon, polygons[j] as Polygon, name(i).short);
      if (wrong) {
        problem(`${name(j).full} ${wrong}`);
        good = false;
        break;
      }
    }
  return good ? { type: 'polygon', polygons } : undefined;
}

/** A polygon of a GeometryCollection: its coordinates, the geometry it is (index), and its place in that geometry when a MultiPolygon. */
interface CollectedPolygon {
  readonly coordinates: unknown;
  readonly geometry: number;
  readonly polygon?: number;
}

/** A GeometryCollection's polygons, when it has some and every geometry is a Polygon or a MultiPolygon with polygons; else undefined. */
function polygonCollection(geometry: Json): CollectedPolygon[] | undefined {
  const { geometries } = geometry;
  if (!Array.isArray(geometries) || geometries.length === 0) return undefined;
  const out: CollectedPolygon[] = [];
  for (const [g, member] of geometries.entries()) {
    if (!isObject(member)) return undefined;
    if (member.type === 'Polygon') out.push({ coordinates: member.coordinates, geometry: g });
    else if (member.type === 'MultiPolygon' && Array.isArray(member.coordinates) && member.coordinates.length > 0) out.push(...member.coordinates.map((coordinates, polygon) => ({ coordinates, geometry: g, polygon })));
    else return undefined;
  }
  return out;
}

/** Why a GeometryCollection is no zone: empty, or a geometry in it that is no Polygon or MultiPolygon. */
function collectionProblem(geometry: Json, radiusProperty: string): string {
  const { geometries } = geometry;
  if (!Array.isArray(geometries) || geometries.length === 0) return 'GeometryCollection has no geometries: draw the zone\'s shape (a Polygon or MultiPolygon), or remove the feature if it is no zone';
  const g = geometries.findIndex((m) => !isObject(m) || (m.type !== 'Polygon' && (m.type !== 'MultiPolygon' || !Array.isArray(m.coordinates) || m.coordinates.length === 0)));
  const member: unknown = geometries[g];
  const what = isObject(member) ? (member.type === 'MultiPolygon' ? 'a MultiPolygon with no polygons' : `a ${typeof member.type === 'string' ? member.type : 'geometry without a "type"'}`) : 'not a geometry object';
  return `a GeometryCollection is read as one MultiPolygon only when all its geometries are Polygons or MultiPolygons, and geometry ${g} is ${what}; use Polygon, MultiPolygon, or Point with "${radiusProperty}" (a zone is one area: give each other shape its own feature)`;
}

function polygonOf(coords: unknown, problem: (m: string) => void, inMultiPolygon = false): Polygon | undefined {
  if (!Array.isArray(coords) || coords.length === 0) {
    problem('Polygon has no rings');
    return undefined;
  }
  // A common slip: the ring itself where the list of rings belongs.
  if (Array.isArray(coords[0]) && typeof coords[0][0] === 'number') {
    problem('Polygon coordinates must be a list of rings ([[[lng, lat], ...]]); this is a single ring: put it in [ ]');
    return undefined;
  }
  // The other way: a MultiPolygon's list of polygons under "type": "Polygon" (or one [ ] too many),
  // which would otherwise be reported as its whole first ring "is not [longitude, latitude]".
  if (Array.isArray(coords[0]) && Array.isArray(coords[0][0]) && Array.isArray(coords[0][0][0])) {
    problem(
      inMultiPolygon
        ? 'its coordinates are nested one level too deep (a list of polygons where the list of rings belongs, [[[lng, lat], ...]]): take out one [ ]'
        : 'Polygon coordinates are nested one level too deep: they are a list of polygons, as a MultiPolygon has; make the geometry "type": "MultiPolygon", or take out one [ ]',
    );
    return undefined;
  }
  const rings: Ring[] = [];
  for (const [i, c] of coords.entries()) {
    const ring = ringOf(c, i === 0 ? 'outer ring' : `hole ${i}`, problem);
    if (!ring) return undefined;
    rings.push(ring);
  }
  if (spansAntimeridian(rings[0] ?? [])) {
    problem(reachesBothEnds(rings[0] ?? []) ? POLE_PROBLEM('two polygons of a MultiPolygon') : `${ANTIMERIDIAN_PROBLEM} (a MultiPolygon)`);
    return undefined;
  }
  // A hole outside its outer ring (a digitising slip), or the outer ring again, leaves the zone no
  // area: it would win every overlap as "the smallest zone".
  const [outer, ...holes] = rings as [Ring, ...Ring[]];
  let good = true;
  for (const [i, hole] of holes.entries()) {
    const wrong = holeProblem(outer, hole);
    if (wrong) {
      problem(`hole ${i + 1} ${wrong}`);
      good = false;
    }
  }
  // Holes overlapping each other (the same hole given twice): the zone's area would come out too
  // small, down to none, for the same reason. Once per hole, naming the first one it overlaps.
  if (good)
    for (let j = 1; j < holes.length; j++)
      for (let i = 0; i < j; i++) {
        const wrong = holesProblem(holes[i] as Ring, holes[j] as Ring, `hole ${i + 1}`);
        if (wrong) {
          problem(`hole ${j + 1} ${wrong}`);
          good = false;
          break;
        }
      }
  return good ? rings : undefined;
}

/**
 * A longitude past ±180 with a latitude in range: not the two numbers swapped (a latitude is never
 * past ±90), but a zone drawn across the antimeridian on a web map (Leaflet, geojson.io), which
 * writes the longitudes east of 180° as 180.05 rather than -179.95.
 */
export const pastAntimeridian = (lng: number, lat: number): boolean => Number.isFinite(lng) && Math.abs(lng) > 180 && Math.abs(lng) < 540 && Number.isFinite(lat) && Math.abs(lat) <= 90;

/** What to do with a longitude {@link pastAntimeridian} says is past ±180: the same meridian within ±180, and a zone across it split. */
export function pastAntimeridianHint(lng: number): string {
  const wrapped = Number((lng > 0 ? lng - 360 : lng + 360).toFixed(9));
  return `it is longitude ${wrapped} (a web map drawing across the antimeridian writes it so); give every longitude within ±180, and split a zone across the antimeridian in two at ±180 (a MultiPolygon, or two zones with the same locationCode)`;
}

/** What is wrong with a ring {@link spansAntimeridian} refuses; callers add how to split it where they are. */
export const ANTIMERIDIAN_PROBLEM = 'spans more than 180° of longitude; a zone across the antimeridian must be split in two at ±180';

/** Whether a ring reaches from longitude -180 to 180: a zone around a pole, or across the whole map (split at ±180 already). */
export const reachesBothEnds = (ring: readonly LngLat[]): boolean => ring.some(([lng]) => lng <= -180) && ring.some(([lng]) => lng >= 180);

/**
 * What is wrong with a ring {@link spansAntimeridian} refuses that {@link reachesBothEnds}: it is
 * split at ±180 already, and needs parts of at most 180° instead. `parts`: what the parts are where
 * the caller is (a MultiPolygon's polygons, inline zones).
 */
export const POLE_PROBLEM = (parts: string): string =>
  `reaches from longitude -180 to 180 (a zone around a pole, or across the whole map); edges are straight in longitude and latitude, so no part of a zone may span more than 180° of longitude: split it at longitude 0 into ${parts}, one from -180 to 0 and one from 0 to 180`;

/**
 * Whether an outer ring spans more than 180° of longitude. Edges are straight in [lng, lat], so a
 * ring across 180° would be read as the long way round: a site-sized zone turned into a strip
 * around the world (RFC 7946 §3.1.9 asks for a split). Shared by GeoJSON files and inline zones.
 */
export function spansAntimeridian(ring: readonly LngLat[]): boolean {
  let min = Infinity;
  let max = -Infinity;
  for (const [lng] of ring) {
    if (lng < min) min = lng;
    if (lng > max) max = lng;
  }
  return max - min > 180;
}

function ringOf(coords: unknown, label: string, problem: (m: string) => void): Ring | undefined {
  if (!Array.isArray(coords)) {
    problem(`${label} is not a list of positions`);
    return undefined;
  }
  const points: LngLat[] = [];
  for (const c of coords) {
    const pos = positionOf(c, problem);
    if (!pos) return undefined;
    points.push(pos);
  }
  const first = points[0];
  const last = points[points.length - 1];
  // Be lenient about unclosed rings (common in hand-written files): close them.
  if (first && last && (first[0] !== last[0] || first[1] !== last[1])) points.push(first);
  const wrong = ringProblem(points);
  if (wrong) {
    problem(`${label} ${wrong}`);
    return undefined;
  }
  return points;
}

function positionOf(c: unknown, problem: (m: string) => void): LngLat | undefined {
  if (!Array.isArray(c) || c.length < 2 || typeof c[0] !== 'number' || typeof c[1] !== 'number') {
    // Cut short: a misplaced ring of hundreds of positions would be one line of kilobytes.
    const text = JSON.stringify(c) ?? String(c);
    problem(`position ${text.length > 60 ? `${text.slice(0, 57)}...` : text} is not [longitude, latitude]`);
    return undefined;
  }
  const [lng, lat] = c as [number, number];
  if (!Number.isFinite(lng) || lng < -180 || lng > 180 || !Number.isFinite(lat) || lat < -90 || lat > 90) {
    problem(
      looksProjected(lng, lat)
        ? `position [${lng}, ${lat}] is not longitude/latitude in degrees (metres of a projected coordinate system?): ${REPROJECT}`
        : pastAntimeridian(lng, lat)
          ? `position [${lng}, ${lat}] has longitude ${lng}, beyond ±180: ${pastAntimeridianHint(lng)}`
          : `position [${lng}, ${lat}] is out of range (GeoJSON order is [longitude, latitude])`,
    );
    return undefined;
  }
  return [lng, lat];
}

/** What to do with a layer in another coordinate system. */
const REPROJECT = 'zones files are WGS 84 longitude/latitude (EPSG:4326, as RFC 7946 GeoJSON is); export the layer again in EPSG:4326 (QGIS: Export > Save Features As…, CRS EPSG:4326; GDAL: ogr2ogr -t_srs EPSG:4326 out.geojson in.geojson)';

/** Coordinates no mistake of order or sign makes degrees: a projected system's metres (RD New, UTM, Web Mercator). */
const looksProjected = (x: number, y: number): boolean => Math.abs(x) > 1000 || Math.abs(y) > 1000;

/** The `crs` member's name (GeoJSON 2008; GDAL and QGIS still write it), when the file has one. */
function crsName(doc: Json): string | undefined {
  const crs = doc.crs;
  if (!isObject(crs) || !isObject(crs.properties)) return undefined;
  const { name, href, code } = crs.properties;
  if (typeof name === 'string') return name;
  if (typeof href === 'string') return href;
  if (typeof code === 'number' || typeof code === 'string') return `EPSG:${code}`;
  return undefined;
}

/**
 * Geographic systems whose EPSG definition puts latitude first, by code: WGS 84, ETRS89, NAD83.
 * Named as an OGC URN or URI (`urn:ogc:def:crs:EPSG::4326`, `http://www.opengis.net/def/crs/EPSG/0/4326`),
 * they mean that axis order, and GeoServer's WFS (1.1, 2.0) writes positions [latitude, longitude]
 * under them; `EPSG:4326` alone and CRS84 (`urn:ogc:def:crs:OGC:1.3:CRS84`) are longitude first.
 */
const LATITUDE_FIRST_EPSG = new Set(['4326', '4258', '4269']);

/** `EPSG:4326` when the crs name is an OGC URN or URI of a latitude-first geographic system, else undefined. */
function latitudeFirstCrs(name: string): string | undefined {
  const m = /^(?:urn:(?:x-)?ogc:def:crs:EPSG:[\d.]*:|https?:\/\/www\.opengis\.net\/def\/crs\/EPSG\/[^/]+\/)(\d+)$/i.exec(name.trim());
  return m?.[1] !== undefined && LATITUDE_FIRST_EPSG.has(m[1]) ? `EPSG:${m[1]}` : undefined;
}

/**
 * A file whose `crs` says latitude first: its positions cannot be read as [longitude, latitude].
 * Within ±90 a swap does not show in the numbers, so the file is refused rather than read with
 * every zone in the wrong place. `swapped`: a position shows it (a latitude beyond ±90 second).
 */
function latitudeFirstProblem(crs: string, code: string, where: string, swapped: boolean): string {
  return (
    `the file's "crs" is ${crs}, which puts latitude first (${code} axis order, as GeoServer's WFS writes it), but zones files are [longitude, latitude] (RFC 7946 GeoJSON)` +
    `: ${where}${swapped ? ', and its second number is beyond ±90, so the file is [latitude, longitude]' : ', which would be read as longitude first'}; ` +
    `export the layer again as longitude/latitude (CRS84, or EPSG:4326 in longitude/latitude order: GeoServer WFS with srsName=EPSG:4326 or WFS version 1.0.0), or swap the two numbers of every position and remove the "crs" member` +
    (swapped ? '' : `; if the positions are longitude first already (a mislabelled export), remove the "crs" member or name urn:ogc:def:crs:OGC:1.3:CRS84 in it`)
  );
}

/** The first position of a feature's geometry, at any depth (Point, Polygon, MultiPolygon, …). */
function firstPosition(feature: unknown): [number, number] | undefined {
  let g: unknown = isObject(feature) ? feature.geometry : undefined;
  // A GeometryCollection's first geometry (a collection of polygons is read as one MultiPolygon).
  while (isObject(g) && g.type === 'GeometryCollection' && Array.isArray(g.geometries)) g = g.geometries[0];
  let c: unknown = isObject(g) ? g.coordinates : undefined;
  while (Array.isArray(c) && Array.isArray(c[0])) c = c[0];
  return Array.isArray(c) && typeof c[0] === 'number' && typeof c[1] === 'number' ? [c[0], c[1]] : undefined;
}

/**
 * A problem with the whole file's coordinates, or undefined: every feature's first position in
 * metres (a layer exported in a projected system, named by the file's `crs` when it has one), or
 * every one in [latitude, longitude] order (a latitude beyond ±90 whose longitude would be one).
 */
function coordinateSystemProblem(doc: Json, features: readonly unknown[]): string | undefined {
  const firsts = features.map((f, i) => [i, firstPosition(f)] as const).filter((x): x is readonly [number, [number, number]] => x[1] !== undefined);
  const [first] = firsts;
  if (first === undefined) return undefined;
  const [i, [x, y]] = first;
  const where = `feature ${i}'s first position is [${x}, ${y}]`;
  const crs = crsName(doc);
  if (firsts.every(([, [a, b]]) => looksProjected(a, b)))
    return `the coordinates are not longitude/latitude in degrees (${where}${crs !== undefined ? `, and the file's "crs" is ${crs}` : ''}): ${REPROJECT}`;
  const latFirst = crs !== undefined ? latitudeFirstCrs(crs) : undefined;
  // A longitude beyond ±90 in first place: the file is [longitude, latitude] whatever its crs says (a mislabelled export).
  if (latFirst !== undefined && !firsts.some(([, [a]]) => Math.abs(a) > 90)) return latitudeFirstProblem(crs as string, latFirst, where, firsts.some(([, [a, b]]) => Math.abs(b) > 90 && Math.abs(a) <= 90));
  if (firsts.length > 1 && firsts.every(([, [a, b]]) => Math.abs(b) > 90 && Math.abs(b) <= 180 && Math.abs(a) <= 90))
    return `every feature's positions are [latitude, longitude] (${where}, a latitude beyond ±90): GeoJSON order is [longitude, latitude]; swap the two numbers of every position`;
  return undefined;
}

/**
 * Zones {@link zonesToGeoJson} cannot write so that they read back the same: `props` names one
 * feature property for two of a zone's fields (`name` and `locationCode` both `SLOC`, as for a
 * file whose zones are named by their code) and this zone gives them different values. One line
 * per zone, or none.
 */
export function geoJsonPropertyClashes(zones: readonly Zone[], props: Partial<GeoJsonZoneProperties> = {}): string[] {
  const p = { ...DEFAULT_GEOJSON_PROPERTIES, ...props };
  const out: string[] = [];
  for (const z of zones) {
    const fields: [keyof GeoJsonZoneProperties, unknown][] = [
      ['name', z.name],
      ['locationCode', z.locationCode],
      ...(z.site !== undefined ? [['site', z.site] as [keyof GeoJsonZoneProperties, unknown]] : []),
      ...(z.priority !== 0 ? [['priority', z.priority] as [keyof GeoJsonZoneProperties, unknown]] : []),
      ...(z.shape.type === 'circle' ? [['radiusM', z.shape.radiusM] as [keyof GeoJsonZoneProperties, unknown]] : []),
    ];
    const clash = fields.flatMap(([a, va], i) => fields.slice(i + 1).filter(([b, vb]) => p[a] === p[b] && va !== vb).map(([b, vb]) => `zone "${z.name}": its ${a} (${String(va)}) and ${b} (${String(vb)}) would both be property "${p[a]}"`));
    if (clash[0] !== undefined) out.push(clash[0]);
  }
  return out;
}

/**
 * Zones as a GeoJSON FeatureCollection that {@link zonesFromGeoJson} reads back to the same zones
 * (with the same property names): to see them on a map, or to move inline zones into a file.
 * Circles become Points with a radius property, as GeoJSON has no circle.
 */
export function zonesToGeoJson(zones: readonly Zone[], props: Partial<GeoJsonZoneProperties> = {}): { type: 'FeatureCollection'; features: Json[] } {
  const p = { ...DEFAULT_GEOJSON_PROPERTIES, ...props };
  return {
    type: 'FeatureCollection',
    features: zones.map((z) => {
      const properties: Json = { [p.name]: z.name, [p.locationCode]: z.locationCode };
      if (z.site !== undefined) properties[p.site] = z.site;
      if (z.priority !== 0) properties[p.priority] = z.priority;
      const s = z.shape;
      let geometry: Json;
      if (s.type === 'circle') {
        properties[p.radiusM] = s.radiusM;
        geometry = { type: 'Point', coordinates: [s.lng, s.lat] };
      } else geometry = s.polygons.length === 1 ? { type: 'Polygon', coordinates: s.polygons[0] } : { type: 'MultiPolygon', coordinates: s.polygons };
      return { type: 'Feature', properties, geometry };
    }),
  };
}
