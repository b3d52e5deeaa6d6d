/**
 * The `rules` section of the configuration: location sync, meter sync, zones, maintenance (thresholds,
 * service intervals, windows, ERP feedback), inventory and depreciation. Validated at startup with
 * every problem named by its key; zone GeoJSON files are read and checked here too, so a bad file
 * stops the start with the feature at fault. The output is the compiled rules config that
 * `createRules` (core/rules/index.ts) and `createRuleTasks` (engine/tasks) consume.
 *
 * Durations accept `30s`, `5m`, `1h`, `2d` or a number of milliseconds. Zone files named in a
 * config file are relative to its directory (config/load.ts resolves them before this schema reads them).
 * @module
 */
import { isCalendarDay } from '../core/normalize/iso-time.js';
import { sameUnit } from '../core/normalize/sensor-units.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { customCalendar, customCalendarProblems } from '../core/rules/depreciation/calendar.js';
import { commonFilter, type AlertRule, type AssetFilter, type CalendarIntervalRule, type ServiceIntervalRule, type ThresholdRule } from '../core/rules/maintenance/types.js';
import { builtInRuleNameProblem, isBuiltInRuleName, isReservedName, reservedNameProblem } from '../core/rules/rule.js';
import { WORK_ORDER_FIELDS } from '../core/rules/maintenance/work-order.js';
import { canonicalCode } from '../core/rules/maintenance/alert.js';
import { noteCommonTimeZone, parseClock, WEEKDAY_NAMES, type ClosedDays, type WeeklyWindow, type WindowCalendar } from '../core/rules/maintenance/windows.js';
import { configTimeZone, isValidTimeZone } from '../core/rules/time-zone.js';
import { decodeJsonFile, JsonFileEncodingError, parseJsonText } from '../core/json-text.js';
import { ANTIMERIDIAN_PROBLEM, DEFAULT_GEOJSON_PROPERTIES, POLE_PROBLEM, reachesBothEnds, pastAntimeridian, pastAntimeridianHint, spansAntimeridian, zonesFromGeoJson } from '../core/rules/zones/geojson.js';
import { MAX_CIRCLE_RADIUS_M, ringProblem, type Zone } from '../core/rules/zones/geometry.js';
import { duration, durationText, ruleDuration } from './duration.js';
import { accepted, BESIDE_VALUE_PROBLEMS, untouched } from './entry-checks.js';
import { configIssueMessage, echo, echoed, timeZoneProblem } from './issue-messages.js';
import { unreadableConfigFile } from './unreadable-file.js';

const dur = duration;
/** How often a scheduled task runs: at least 100 ms (0 would run it without pause). */
const every = (fallback: string) =>
  duration(fallback).pipe(z.number().min(100, { error: (iss) => `${durationText(Number(iss.input))} is too short: use at least 100ms; 0 would run the task without pause (e.g. 1m)` }));

/** An IANA zone, kept by its canonical name (`europe/berlin` is `Europe/Berlin`): the fiscal calendar's stamp names it. */
const timeZoneName = z
  .string()
  .refine(isValidTimeZone, { error: (iss) => timeZoneProblem(iss.input, iss.path ?? []) })
  .transform(configTimeZone);
const timeZone = timeZoneName.default('UTC');

/** Rule names end up in work-order business keys (`asset|rule|occurrence`). */
const ruleName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, { error: echoed('is not a rule name: use letters, digits, _ . - only (the name is part of the work-order key)') })
  // `location`, `meter`, …: a built-in rule's, whose counts by rule a maintenance rule's would share.
  .refine((name) => !isBuiltInRuleName(name), { error: (iss) => builtInRuleNameProblem(String(iss.input)) })
  // `__proto__`, `constructor`, `toString`, …: an asset's maintenance state keys each rule's by its
  // name (services, thresholds, calendars, completions), where such a name reads the inherited
  // property or sets the prototype: its state is lost at every checkpoint, or read as a function.
  .refine((name) => !isReservedName(name), { error: (iss) => reservedNameProblem(String(iss.input), 'maintenance rule') });

const assetFilterSchema = z
  .strictObject({
    /** The asset's `erpModule` is one of these. */
    erpModules: z.array(z.string().min(1)).min(1).optional(),
    /** Attribute → allowed value(s); every listed attribute must match. */
    attributes: z.record(z.string(), z.union([z.string(), z.array(z.string()).min(1)])).optional(),
  })
  .transform(
    (f): AssetFilter => ({
      ...(f.erpModules ? { erpModules: f.erpModules } : {}),
      ...(f.attributes ? { attributes: Object.fromEntries(Object.entries(f.attributes).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])) } : {}),
    }),
  );

const workOrderExtras = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).superRefine((extras, ctx) => {
  for (const name of Object.keys(extras)) {
    if (!WORK_ORDER_FIELDS.includes(name)) continue;
    const hint = name === 'title' ? ": set the rule's own `title` instead" : name === 'priority' || name === 'severity' ? ": the rule's `severity` decides it (critical: HIGH, else MEDIUM); a middleware can map it to the ERP's codes" : ': pick another field name';
    ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is a field assetbridge writes on every work order, so this value would be replaced${hint}` });
  }
}, BESIDE_VALUE_PROBLEMS); // Its names are wrong whatever their values: said beside a value refused.

/** A value as written in a YAML flow mapping: a plain word bare, other text quoted, a list of them in brackets. */
function flowValue(v: unknown): string | undefined {
  if (typeof v === 'string') return /^[A-Za-z0-9_./-]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' || typeof x === 'number')) return `[${v.map(flowValue).join(', ')}]`;
  return undefined;
}

/**
 * Why a key of an `appliesTo` that is none of its own (`appliesTo: { site: BER }`) is refused:
 * the filter picks assets by ERP module and by attributes, so an asset attribute goes under
 * `attributes`; says how to write the one given (`value` as given, when known).
 */
export function unknownFilterKey(key: string, value: unknown): string {
  const written = flowValue(value) ?? '<value>';
  const name = /^[A-Za-z0-9_.-]+$/.test(key) ? key : JSON.stringify(key);
  const values = Array.isArray(value) && written !== '<value>' ? value.map(flowValue).join(' or ') : written;
  return `unknown key: appliesTo picks assets by erpModules (a list of ERP modules) and attributes (asset attribute: a value or a list of them); for the assets whose attribute ${name} is ${values}, write appliesTo: { attributes: { ${name}: ${written} } }`;
}

/**
 * An interval's baseline attribute: an empty or blank name would name no attribute, so every asset
 * would count from its default baseline. `what` is what the attribute holds.
 */
const baselineAttributeName = (what: string, fallback: string) =>
  z.string().regex(/\S/, { error: `is empty or blank: name the asset attribute that holds ${what}, or leave the key out for the default (${fallback})` });

/** The optional work-order fields every maintenance rule takes, only where given (exact optional types). */
function workOrderOptions(r: { title?: string | undefined; workOrder?: Record<string, string | number | boolean> | undefined; appliesTo?: AssetFilter | undefined }): {
  title?: string;
  workOrder?: Record<string, string | number | boolean>;
  appliesTo?: AssetFilter;
} {
  return { ...(r.title ? { title: r.title } : {}), ...(r.workOrder ? { workOrder: r.workOrder } : {}), ...(r.appliesTo ? { appliesTo: r.appliesTo } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Zones

const lngLat = z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)]);

/**
 * An inline polygon is one ring. Pasted from GeoJSON it comes as a list of rings, one level too
 * deep: said once, as a zone file says the opposite slip, not as an error per position.
 */
const inlinePolygon = z
  .unknown()
  .superRefine((v, ctx) => {
    if (Array.isArray(v) && Array.isArray(v[0]) && Array.isArray(v[0][0]))
      ctx.addIssue({
        code: 'custom',
        message: `this is a list of ${v.length === 1 ? 'one ring' : `${v.length} rings`} (GeoJSON Polygon coordinates, [[[lng, lat], ...]]); an inline polygon is its outer ring alone: drop one level of brackets, [[lng, lat], ...]${v.length > 1 ? ' (for holes use a zones file)' : ''}`,
      });
    const order = Array.isArray(v) ? positionOrderProblem(v) : undefined;
    if (order !== undefined) ctx.addIssue({ code: 'custom', message: order });
  })
  // A position pasted from a GeoJSON file with its altitude: read as a zones file reads it, without.
  .transform((v) => (Array.isArray(v) ? v.map((p: unknown) => (Array.isArray(p) && p.length === 3 && p.every((n) => typeof n === 'number') ? p.slice(0, 2) : p)) : v))
  .pipe(z.array(lngLat).min(3));

/**
 * Positions written the other way round, said once for the polygon rather than once per
 * position: `{lat, lng}` mappings (as a circle's centre is written), or `[lat, lng]` pairs (a
 * latitude beyond ±90 whose longitude would be one).
 */
function positionOrderProblem(positions: readonly unknown[]): string | undefined {
  const mapping = positions.find((p): p is { lat: unknown; lng: unknown } => p !== null && typeof p === 'object' && !Array.isArray(p) && 'lat' in p && 'lng' in p);
  if (mapping !== undefined)
    return `positions are [longitude, latitude] pairs (GeoJSON order), not mappings: write {lat: ${String(mapping.lat)}, lng: ${String(mapping.lng)}} as [${String(mapping.lng)}, ${String(mapping.lat)}]`;
  // Drawn across the antimeridian on a web map, which writes 180.05 for -179.95: no swap (the latitude is in range).
  const past = positions.find((p): p is [number, number] => Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number' && pastAntimeridian(p[0], p[1]));
  if (past !== undefined)
    return `[${past[0]}, ${past[1]}] has longitude ${past[0]}, beyond ±180: ${pastAntimeridianHint(past[0])}`;
  const swapped = positions.find((p): p is [number, number] => Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number' && Math.abs(p[1]) > 90 && Math.abs(p[1]) <= 180 && Math.abs(p[0]) <= 90);
  if (swapped !== undefined)
    return `[${swapped[0]}, ${swapped[1]}] has latitude ${swapped[1]}, beyond ±90: positions are [longitude, latitude] (GeoJSON order); if the polygon is written [latitude, longitude], swap the two numbers of every position`;
  return undefined;
}

const inlineZoneSchema = z
  .strictObject({
    // Trimmed, as a zone file's are: a blank one (" ") is refused there, so it is here too.
    name: z
      .string()
      .trim()
      .min(1, { error: 'is empty or blank: give the zone a name (it is what zones occupancy, zone sightings and location updates name it by)' })
      .regex(/^[^|]*$/, { error: echoed('must not contain "|"') }) // empty: said by min
      .refine((name) => !isReservedName(name), { error: (iss) => reservedNameProblem(String(iss.input), 'zone') }),
    /** The ERP location code the zone stands for (plant/storage location, warehouse zone, site). */
    locationCode: z.string().trim().min(1, { error: 'is empty or blank: give the ERP location code the zone stands for (the warehouseLocation sent for it, and where its inventory is counted)' }),
    /** Shown by `zones list` and kept in its GeoJSON; maintenance windows follow the asset's site attribute, not its zone. */
    site: z.string().min(1).optional(),
    /** Higher wins where zones overlap; equal: the smaller zone. @default 0 */
    priority: z.number().default(0),
    /** Outer ring as `[longitude, latitude]` pairs (GeoJSON order). */
    polygon: inlinePolygon.optional(),
    circle: z.strictObject({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180), radiusM: z.number().positive() }).optional(),
  })
  .superRefine((z_, ctx) => {
    // Beside the zone's other refused values (a priority given as text), each check on values not refused themselves.
    const zone = accepted(ctx, ['name']) ? `zone "${z_.name}"` : 'this zone';
    if (accepted(ctx, ['polygon'], ['circle']) && (z_.polygon === undefined) === (z_.circle === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of `polygon` or `circle`' });
    // Beyond half the circumference a circle is the whole Earth (and its area, which ranks overlaps, is nonsense).
    if (accepted(ctx, ['circle', 'radiusM']) && z_.circle !== undefined && z_.circle.radiusM > MAX_CIRCLE_RADIUS_M)
      ctx.addIssue({
        code: 'custom',
        path: ['circle', 'radiusM'],
        message: `${zone}: the circle's radiusM must be above 0 and at most ${MAX_CIRCLE_RADIUS_M} metres (20,000 km, half the Earth's circumference): ${z_.circle.radiusM} was given`,
      });
    // Only for a list of positions: this refinement runs after the polygon's own problems too.
    const positions = accepted(ctx, ['polygon']) && z_.polygon?.every((p: unknown) => Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number') === true;
    // The same check as a zone file's polygons; an inline zone is one ring, so no MultiPolygon here.
    if (z_.polygon !== undefined && positions && spansAntimeridian(z_.polygon))
      ctx.addIssue({
        code: 'custom',
        path: ['polygon'],
        message: reachesBothEnds(z_.polygon)
          ? POLE_PROBLEM('two inline zones with the same locationCode (or two polygons of a MultiPolygon in a zones file)')
          : `${ANTIMERIDIAN_PROBLEM}: put it in a zones file as a MultiPolygon, or make it two inline zones with the same locationCode`,
      });
    // As in a zone file: a bowtie or a line has (about) no area and would win every overlap.
    const wrong = z_.polygon !== undefined && positions ? ringProblem(z_.polygon) : undefined;
    if (wrong !== undefined) ctx.addIssue({ code: 'custom', path: ['polygon'], message: `${zone}: the polygon ${wrong}` });
  }, BESIDE_VALUE_PROBLEMS)
  .transform((z_): Zone => {
    const common = { name: z_.name, locationCode: z_.locationCode, priority: z_.priority, ...(z_.site ? { site: z_.site } : {}) };
    if (z_.circle) return { ...common, shape: { type: 'circle', ...z_.circle } };
    const ring = [...(z_.polygon ?? [])] as [number, number][];
    const first = ring[0] as [number, number];
    const last = ring[ring.length - 1] as [number, number];
    if (first[0] !== last[0] || first[1] !== last[1]) ring.push(first);
    return { ...common, shape: { type: 'polygon', polygons: [[ring]] } };
  });

/** Feature property names one zones file has its own way (a GIS export's `NAME`, `SLOC`); the rest are `rules.zones.properties`. */
const filePropertiesSchema = z.strictObject({
  name: z.string().min(1).optional(),
  locationCode: z.string().min(1).optional(),
  site: z.string().min(1).optional(),
  priority: z.string().min(1).optional(),
  radiusM: z.string().min(1).optional(),
});

/** A zones file: its path, or `{path, properties}` for a file whose features name their fields their own way. */
const zonesFileSchema = z.union([z.string().min(1), z.strictObject({ path: z.string().min(1), properties: filePropertiesSchema.optional() })], {
  error: (iss) => `${echo(iss.input)} is not a zones file: give its path, or {path, properties: {name, locationCode, …}} for a file whose features name their fields their own way`,
});

/** The feature property names a zones file's zone fields are read from (`rules.zones.properties`). */
const geoJsonPropertiesSchema = z.strictObject({
  name: z.string().default(DEFAULT_GEOJSON_PROPERTIES.name),
  locationCode: z.string().default(DEFAULT_GEOJSON_PROPERTIES.locationCode),
  site: z.string().default(DEFAULT_GEOJSON_PROPERTIES.site),
  priority: z.string().default(DEFAULT_GEOJSON_PROPERTIES.priority),
  radiusM: z.string().default(DEFAULT_GEOJSON_PROPERTIES.radiusM),
});
type GeoJsonPropertyNames = z.output<typeof geoJsonPropertiesSchema>;
type ZonesFileEntry = z.output<typeof zonesFileSchema>;

export const zonesSchema = z
  .strictObject({
    /** GeoJSON files (FeatureCollection of Polygon, MultiPolygon, or Point with a radius property). */
    files: z.array(zonesFileSchema).default([]),
    /** Feature property names for the zone fields. */
    properties: geoJsonPropertiesSchema.prefault({}),
    inline: z.array(inlineZoneSchema).default([]),
    /** Time inside a zone before the asset counts as entered. @default 30s */
    enterDwellMs: dur('30s'),
    /** Time beyond the hysteresis band before the asset counts as left. @default 60s */
    exitDwellMs: dur('60s'),
    /** Hysteresis: an entered zone is not left while within this distance outside it, metres. @default 25 */
    hysteresisM: z.number().min(0).default(25),
    /** Ignore fixes reporting worse accuracy than this for zone changes, metres; 0 = use all. @default 0 */
    maxAccuracyM: z.number().min(0).default(0),
  })
  // The zones files too beside the section's refused values (a mistyped enterDwellMs), for those of
  // its values that are not refused themselves; when none is, the transform reads them (once).
  .superRefine(
    (cfg, ctx) => {
      // Only on values with no problem at all (an empty path would be 'read' too): this never ran beside one before.
      if (!untouched(ctx, ['properties'])) return;
      const files = (Array.isArray(cfg.files) ? cfg.files : []).flatMap((entry, i) => (untouched(ctx, ['files', i]) ? [[i, entry] as const] : []));
      const inline = (Array.isArray(cfg.inline) ? cfg.inline : []).flatMap((zone: unknown, i) => {
        const name = zone !== null && typeof zone === 'object' ? (zone as { name?: unknown }).name : undefined;
        return untouched(ctx, ['inline', i, 'name']) && typeof name === 'string' ? [[i, name.trim()] as const] : [];
      });
      const addIssue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
      zonesDefinedAgain(inline, readZoneFiles(files, cfg.properties, addIssue), addIssue);
    },
    { when: (payload) => payload.issues.length > 0 && BESIDE_VALUE_PROBLEMS.when?.(payload) === true },
  )
  .transform((cfg, ctx) => {
    const addIssue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const read = readZoneFiles(
      cfg.files.map((entry, i) => [i, entry] as const),
      cfg.properties,
      addIssue,
    );
    // An inline zone's name used by an earlier one: the check the config's load also makes on what was given.
    for (const p of inlineZoneNameProblems(cfg.inline)) addIssue([...p.path], p.message);
    zonesDefinedAgain(
      cfg.inline.map((zone, i) => [i, zone.name] as const),
      read,
      addIssue,
    );
    return { ...cfg, zones: [...cfg.inline, ...read.map((r) => r.zone)] };
  });

/** A zone read from a zones file: the file's index in `rules.zones.files`, and its path. */
interface FileZone {
  readonly zone: Zone;
  readonly index: number;
  readonly file: string;
}

/**
 * The zones files' zones, read in order, and their problems, each said by `addIssue` at its key
 * below `rules.zones`: a file listed twice, one that cannot be read or is not GeoJSON of zones.
 * `files` are the entries by their index (one the schema refused is left out).
 */
function readZoneFiles(files: readonly (readonly [number, ZonesFileEntry])[], properties: GeoJsonPropertyNames, addIssue: (path: (string | number)[], message: string) => void): FileZone[] {
  const zones: FileZone[] = [];
  const listed = new Map<string, number>();
  for (const [i, entry] of files) {
    const file = typeof entry === 'string' ? entry : entry.path;
    const own = typeof entry === 'string' ? undefined : entry.properties;
    // The same file twice (a copied line): said once, not once for each of its zones.
    const before = listed.get(resolve(file));
    if (before !== undefined) {
      addIssue(['files', i], `${file} is listed already, as rules.zones.files.${before}: list each zones file once`);
      continue;
    }
    listed.set(resolve(file), i);
    let bytes: Uint8Array;
    let doc: unknown;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      addIssue(['files', i], unreadableConfigFile('GeoJSON zones file', file, err));
      continue;
    }
    try {
      doc = parseJsonText(decodeJsonFile(bytes, 'zones file'));
    } catch (err) {
      if (err instanceof JsonFileEncodingError) addIssue(['files', i], `${file}: ${err.message}`);
      else addIssue(['files', i], `${file} is not valid JSON: ${(err as Error).message}; fix it there (a GeoJSON file is JSON: no trailing commas, no comments)`);
      continue;
    }
    // A file's own property names before the common ones; a missing one is named where it is set.
    const result = zonesFromGeoJson(doc, { ...properties, ...own }, own !== undefined ? `rules.zones.files.${i}.properties` : 'rules.zones.properties');
    for (const p of result.problems) addIssue(['files', i], `${file}: ${p}`);
    for (const zone of result.zones) zones.push({ zone, index: i, file });
  }
  return zones;
}

/**
 * A zone name a zones file defines again that an inline zone (`inline`: its index and name) or an
 * earlier file defines, said by `addIssue` at the file, once per file (a name repeated within one
 * file is said by zonesFromGeoJson already, with its features).
 */
function zonesDefinedAgain(inline: readonly (readonly [number, string])[], fromFiles: readonly FileZone[], addIssue: (path: (string | number)[], message: string) => void): void {
  // Where each source is, for naming the one that defined a zone name first.
  const labels = new Map<string, string>(inline.map(([i]) => [`inline.${i}`, `rules.zones.inline.${i}`]));
  for (const { index, file } of fromFiles) labels.set(`files.${index}`, `rules.zones.files.${index} (${file})`);
  const found = [...inline.map(([i, name]) => ({ name, key: ['inline', i, 'name'] })), ...fromFiles.map((f) => ({ name: f.zone.name, key: ['files', f.index] }))];
  // Zone name, read ignoring case → its first spelling, and the inline zones and files defining it.
  const sources = new Map<string, { name: string; seen: Set<string> }>();
  for (const { name, key } of found) {
    const source = key.slice(0, 2).join('.');
    const known = sources.get(name.toLowerCase());
    if (known === undefined) {
      sources.set(name.toLowerCase(), { name, seen: new Set([source]) });
      continue;
    }
    const [first = source] = known.seen;
    if (key[0] === 'files' && !known.seen.has(source)) addIssue(key, zoneDefinedTwice(name, labels.get(first) ?? first, known.name, labels.get(source)));
    known.seen.add(source);
  }
}

// ---------------------------------------------------------------------------------------------
// Maintenance

const SEVERITIES = ['info', 'warning', 'critical'] as const;

/** Words for a severity that is none of the three (a priority, a log level), with the one most likely meant. */
const SEVERITY_MEANT: Readonly<Record<string, (typeof SEVERITIES)[number]>> = {
  high: 'critical',
  highest: 'critical',
  urgent: 'critical',
  error: 'critical',
  fatal: 'critical',
  severe: 'critical',
  major: 'critical',
  alarm: 'critical',
  emergency: 'critical',
  crit: 'critical',
  medium: 'warning',
  moderate: 'warning',
  minor: 'warning',
  warn: 'warning',
  low: 'info',
  lowest: 'info',
  information: 'info',
  informational: 'info',
  notice: 'info',
};

/**
 * Why a severity is refused, saying the three there are and the one most likely meant: a
 * priority or log level (`high`, `error`, `low`) is not one, and case counts (`Critical`). Of a
 * rule's own severity (`ofWorkOrder`), also what it decides: the work order's priority.
 */
function severityProblem(input: unknown, ofWorkOrder: boolean): string | undefined {
  if (typeof input !== 'string') return undefined;
  const word = input.trim().toLowerCase();
  if ((SEVERITIES as readonly string[]).includes(word)) return `${echo(input)} is not a severity as written: write it in lower case, ${word}`;
  const meant = SEVERITY_MEANT[word];
  const decides = ofWorkOrder ? '; critical gives the rule\'s work orders priority HIGH, info and warning MEDIUM' : '';
  return `${echo(input)} is not a severity: use info, warning or critical${meant !== undefined ? ` (did you mean ${meant}?)` : ''}${decides}`;
}

/** A rule's severity, which decides its work orders' priority. */
const severity = z.enum(SEVERITIES, { error: (iss) => (iss.code === 'invalid_value' ? severityProblem(iss.input, true) : undefined) });
/** The least severity of an alert that opens a work order. */
const alertSeverity = z.enum(SEVERITIES, { error: (iss) => (iss.code === 'invalid_value' ? severityProblem(iss.input, false) : undefined) });

export const thresholdSchema = z
  .strictObject({
    name: ruleName,
    /** Sensor name as the decoder reports it (`values.<sensor>`). */
    sensor: z.string().min(1),
    /**
     * The unit `above`/`below` are in (`°C`, `bar`, …). A reading in another unit is converted when
     * both are temperatures (°C, °F, K) or pressures (kPa, bar, psi, Pa, mbar), else quarantined,
     * not compared; judged only for the assets the rule applies to (`appliesTo`), once identity has
     * named the reading's asset. Rules on one sensor may give different units for different assets;
     * two that can apply to one asset give the same. @default none (every reading is compared as it comes)
     */
    unit: z.string().trim().min(1, 'give the unit the threshold is in, e.g. °C or bar, or leave unit out').optional(),
    /** Breach when the value is strictly above this. Give `above` or `below`. */
    above: z.number().optional(),
    below: z.number().optional(),
    /** Hysteresis for `above` rules: the episode ends only below this. @default the `above` value */
    clearBelow: z.number().optional(),
    /** Hysteresis for `below` rules: the episode ends only above this. @default the `below` value */
    clearAbove: z.number().optional(),
    /** How long the breach must hold. @default 0s (the first breaching sample) */
    for: ruleDuration('0s'),
    /** Samples further apart than this break a breach. @default 10m */
    maxGap: ruleDuration('10m').pipe(
      // 0 would break every breach at its next sample (and end every episode): a rule with a `for` could never fire.
      z.number().positive('0 would break every breach at its next sample and end every episode, so no breach could hold `for`: leave maxGap out (10m) or give the longest a sensor may go between two samples, e.g. 30m'),
    ),
    /** Least time between two work orders of this rule for one asset. @default 1h */
    cooldown: ruleDuration('1h'),
    /**
     * "3 times within 1 h": breaches (each holding `for`) that must start within `within` before
     * one work order opens. Absent: every breach opens one.
     */
    repeat: z.strictObject({ count: z.number().int().min(2, { error: echoed('is too few: count at least 2 breaches (1 is the rule without repeat)') }), within: ruleDuration('0ms').pipe(z.number().positive('give the window the breaches must fall in, e.g. 1h')) }).optional(),
    /** `critical` → HIGH priority, otherwise MEDIUM. @default warning */
    severity: severity.default('warning'),
    /** Work-order short text (40 characters). @default the rule name */
    title: z.string().min(1).optional(),
    /** Extra fields for the work order (order type, planner group, work centre, …). */
    workOrder: workOrderExtras.optional(),
    appliesTo: assetFilterSchema.optional(),
  })
  .superRefine((r, ctx) => {
    // Beside the entry's refused values (a mistyped `for`), each check on the values it reads that were accepted.
    const ok = (...keys: string[]) => accepted(ctx, ...keys.map((k) => [k]));
    if (accepted(ctx, ['repeat', 'within'], ['for']) && r.repeat && r.repeat.within <= r.for)
      ctx.addIssue({ code: 'custom', path: ['repeat', 'within'], message: `the window (${r.repeat.within / 1000} s) must be longer than \`for\` (${r.for / 1000} s), or no second breach could start within it` });
    if (ok('above', 'below') && (r.above === undefined) === (r.below === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of `above` or `below`' });
    if (ok('above', 'clearAbove') && r.above !== undefined && r.clearAbove !== undefined) ctx.addIssue({ code: 'custom', path: ['clearAbove'], message: 'an `above` rule clears below a value: use `clearBelow`' });
    if (ok('below', 'clearBelow') && r.below !== undefined && r.clearBelow !== undefined) ctx.addIssue({ code: 'custom', path: ['clearBelow'], message: 'a `below` rule clears above a value: use `clearAbove`' });
    if (ok('above', 'clearBelow') && r.above !== undefined && r.clearBelow !== undefined && r.clearBelow > r.above)
      ctx.addIssue({ code: 'custom', path: ['clearBelow'], message: `clearBelow (${r.clearBelow}) must not be above the trigger (${r.above})` });
    if (ok('below', 'clearAbove') && r.below !== undefined && r.clearAbove !== undefined && r.clearAbove < r.below)
      ctx.addIssue({ code: 'custom', path: ['clearAbove'], message: `clearAbove (${r.clearAbove}) must not be below the trigger (${r.below})` });
  }, BESIDE_VALUE_PROBLEMS)
  .transform((r): ThresholdRule => {
    const above = r.above !== undefined;
    const threshold = (above ? r.above : r.below) as number;
    return {
      name: r.name,
      sensor: r.sensor,
      ...(r.unit !== undefined ? { unit: r.unit } : {}),
      direction: above ? 'above' : 'below',
      threshold,
      clearAt: (above ? r.clearBelow : r.clearAbove) ?? threshold,
      durationMs: r.for,
      maxGapMs: r.maxGap,
      cooldownMs: r.cooldown,
      ...(r.repeat ? { repeat: { count: r.repeat.count, withinMs: r.repeat.within } } : {}),
      severity: r.severity,
      ...workOrderOptions(r),
    };
  });

/**
 * An alert rule's `codeMap`: each spelling to the code it is. Compared as codes are (trimmed, in
 * any case), so two spellings of one key must map to the same code, and a code mapped to is not
 * itself mapped (the map is applied once: a chain would key the fault by where it stops).
 */
const codeMapSchema = z.record(z.string(), z.string()).superRefine((m, ctx) => {
  const to = new Map<string, [string, string]>();
  for (const [from, code] of Object.entries(m)) {
    const f = canonicalCode(from);
    const c = canonicalCode(code);
    if (f === undefined || c === undefined) {
      ctx.addIssue({ code: 'custom', path: [from], message: `${f === undefined ? 'a blank code' : `a blank code for ${JSON.stringify(from)}`}: write each spelling a feed sends and the code it is, e.g. P0217: SPN110-FMI0` });
      continue;
    }
    const before = to.get(f);
    if (before !== undefined && before[1] !== c) ctx.addIssue({ code: 'custom', path: [from], message: `${JSON.stringify(from)} and ${JSON.stringify(before[0])} are one spelling (codes are compared trimmed, in any case and in Unicode NFKC form, full-width as ASCII) mapped to different codes, ${JSON.stringify(code)} and ${JSON.stringify(m[before[0]])}: keep one` });
    else to.set(f, [from, c]);
  }
  for (const [f, [from, c]] of to) {
    const next = to.get(c);
    if (next !== undefined && c !== f && next[1] !== c) ctx.addIssue({ code: 'custom', path: [from], message: `${JSON.stringify(from)} is mapped to ${JSON.stringify(m[from])}, which is mapped to ${JSON.stringify(m[next[0]])} in turn; the map is applied once: map ${JSON.stringify(from)} to ${JSON.stringify(m[next[0]])}` });
  }
});

export const alertRuleSchema = z
  .strictObject({
    name: ruleName,
    /** Alerts at least this severe open work orders. @default critical */
    minSeverity: alertSeverity.default('critical'),
    /** Only these fault codes; a trailing `*` matches a prefix (`SPN 100*`). @default every code */
    codes: z.array(z.string().min(1)).min(1).optional(),
    /** Other spellings of a fault code, each to the code it is (`P0217: SPN110-FMI0`); codes are compared trimmed and in any case anyway. @default none */
    codeMap: codeMapSchema.optional(),
    /** The same code reported again within this time of its previous report is the same fault (no new work order). @default 24h */
    cooldown: ruleDuration('24h'),
    /** The work order's severity. @default the alert's own */
    severity: severity.optional(),
    title: z.string().min(1).optional(),
    workOrder: workOrderExtras.optional(),
    appliesTo: assetFilterSchema.optional(),
  })
  .transform(
    (r): AlertRule => ({
      name: r.name,
      minSeverity: r.minSeverity,
      ...(r.codes ? { codes: r.codes } : {}),
      ...(r.codeMap ? { codeMap: r.codeMap } : {}),
      cooldownMs: r.cooldown,
      ...(r.severity ? { severity: r.severity } : {}),
      ...workOrderOptions(r),
    }),
  );

export const serviceIntervalSchema = z
  .strictObject({
    name: ruleName,
    /** Service every N operating hours (or give everyKm). */
    everyHours: z.number().positive().optional(),
    /** Open the work order this many hours before it is due. @default 0 */
    dueSoonHours: z.number().min(0).optional(),
    /** Service every N km on the odometer (trucks, vans; instead of everyHours). */
    everyKm: z.number().positive().optional(),
    /** Open the work order this many km before it is due. @default 0 */
    dueSoonKm: z.number().min(0).optional(),
    /** Asset attribute with the meter at the last service (the first baseline). @default lastServiceHours, or lastServiceKm */
    baselineAttribute: baselineAttributeName("the meter at the last service", 'lastServiceHours, or lastServiceKm with everyKm').optional(),
    /** Without that attribute: count from 0 (due at multiples of N) or from the first reading seen. @default zero */
    defaultBaseline: z.enum(['zero', 'first-reading']).default('zero'),
    /** Not taken here: "N hours or N days, whichever comes first" is a calendar interval (see the error). */
    everyDays: z.unknown().optional(),
    severity: severity.default('warning'),
    title: z.string().min(1).optional(),
    workOrder: workOrderExtras.optional(),
    appliesTo: assetFilterSchema.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.everyDays !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['everyDays'],
        message: `a service interval counts a meter; for "every N hours or N days, whichever comes first" move ${accepted(ctx, ['name']) ? `"${r.name}"` : 'the rule'} to maintenance.calendarIntervals with everyDays and everyHours (or everyKm)`,
      });
      return;
    }
    // Beside the entry's other refused values; not on a meter value that is refused itself.
    if (!accepted(ctx, ['everyHours'], ['dueSoonHours'], ['everyKm'], ['dueSoonKm'])) return;
    const hours = r.everyHours !== undefined || r.dueSoonHours !== undefined;
    const km = r.everyKm !== undefined || r.dueSoonKm !== undefined;
    if (hours && km) {
      ctx.addIssue({ code: 'custom', path: [r.everyKm !== undefined ? 'everyKm' : 'dueSoonKm'], message: 'an interval counts one meter: give everyHours (operating hours) or everyKm (odometer), not both; make two intervals for both' });
      return;
    }
    const [every, dueSoon, unit] = km ? (['everyKm', 'dueSoonKm', 'km'] as const) : (['everyHours', 'dueSoonHours', 'hours'] as const);
    const n = r[every];
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', path: [every], message: `say how often: ${every}: N (every N ${unit}${km ? '' : ', or everyKm for the odometer'})` });
      return;
    }
    if (n > 0 && (r[dueSoon] ?? 0) >= n) ctx.addIssue({ code: 'custom', path: [dueSoon], message: `${r[dueSoon] ?? 0} must be less than ${every} (${n})` });
  }, BESIDE_VALUE_PROBLEMS)
  .transform((r): ServiceIntervalRule => {
    const km = r.everyKm !== undefined;
    return {
      name: r.name,
      meter: km ? 'km' : 'hours',
      every: (km ? r.everyKm : r.everyHours) as number,
      dueSoon: (km ? r.dueSoonKm : r.dueSoonHours) ?? 0,
      baselineAttribute: r.baselineAttribute ?? (km ? 'lastServiceKm' : 'lastServiceHours'),
      defaultBaseline: r.defaultBaseline,
      severity: r.severity,
      ...workOrderOptions(r),
    };
  });

export const calendarIntervalSchema = z
  .strictObject({
    name: ruleName,
    /** Service every N days from the last one, used or idle (inspections, certifications). */
    everyDays: z
      .number({
        error: (iss) =>
          iss.input === undefined
            ? 'missing: a calendar interval counts days: give everyDays: N (e.g. 365 for a yearly inspection), with everyHours or everyKm for "whichever comes first"; an interval on operating hours or km alone goes in maintenance.serviceIntervals'
            : undefined,
      })
      .int()
      .positive(),
    /** Open the work order this many days before the due date. @default 0 */
    dueSoonDays: z.number().int().min(0).default(0),
    /** Asset attribute with the date of the last service (YYYY-MM-DD). @default lastServiceDate */
    baselineAttribute: baselineAttributeName('the date of the last service (YYYY-MM-DD)', 'lastServiceDate').default('lastServiceDate'),
    /** Also due every N operating hours, whichever comes first (PM schedules: "250 h or 6 months"). */
    everyHours: z.number().positive().optional(),
    /** Open the work order this many hours before the hours are due. @default 0 */
    dueSoonHours: z.number().min(0).optional(),
    /** Also due every N km on the odometer, whichever comes first (instead of everyHours). */
    everyKm: z.number().positive().optional(),
    /** Open the work order this many km before the km are due. @default 0 */
    dueSoonKm: z.number().min(0).optional(),
    /** Asset attribute with the meter at the last service, until the ERP reports a completion. @default lastServiceHours, or lastServiceKm */
    meterBaselineAttribute: baselineAttributeName('the meter at the last service', 'lastServiceHours, or lastServiceKm with everyKm').optional(),
    severity: severity.default('warning'),
    title: z.string().min(1).optional(),
    workOrder: workOrderExtras.optional(),
    appliesTo: assetFilterSchema.optional(),
  })
  .superRefine((r, ctx) => {
    // Beside the entry's other refused values, each check on values that are not refused themselves.
    const days = accepted(ctx, ['everyDays']);
    if (days && accepted(ctx, ['dueSoonDays']) && r.everyDays > 0 && r.dueSoonDays >= r.everyDays)
      ctx.addIssue({ code: 'custom', path: ['dueSoonDays'], message: `${r.dueSoonDays} must be less than everyDays (${r.everyDays})` });
    if (!accepted(ctx, ['everyHours'], ['dueSoonHours'], ['everyKm'], ['dueSoonKm'])) return;
    const hours = r.everyHours !== undefined || r.dueSoonHours !== undefined;
    const km = r.everyKm !== undefined || r.dueSoonKm !== undefined;
    if (hours && km) {
      ctx.addIssue({ code: 'custom', path: [r.everyKm !== undefined ? 'everyKm' : 'dueSoonKm'], message: 'a calendar interval counts days and at most one meter: give everyHours or everyKm, not both; make two rules for both' });
      return;
    }
    const [every, dueSoon] = km ? (['everyKm', 'dueSoonKm'] as const) : (['everyHours', 'dueSoonHours'] as const);
    const n = r[every];
    if (n === undefined) {
      if (r[dueSoon] !== undefined) ctx.addIssue({ code: 'custom', path: [dueSoon], message: `${dueSoon} needs ${every}: the meter side of "every ${days ? r.everyDays : 'N'} days or N ${km ? 'km' : 'hours'}, whichever comes first"` });
      else if (r.meterBaselineAttribute !== undefined && accepted(ctx, ['meterBaselineAttribute'])) ctx.addIssue({
          code: 'custom',
          path: ['meterBaselineAttribute'],
          message: `meterBaselineAttribute needs everyHours or everyKm: it is the meter side's baseline in "every ${days ? r.everyDays : 'N'} days or N hours, whichever comes first"; add everyHours: N (or everyKm: N), or remove it`,
        });
      return;
    }
    if (n > 0 && (r[dueSoon] ?? 0) >= n) ctx.addIssue({ code: 'custom', path: [dueSoon], message: `${r[dueSoon] ?? 0} must be less than ${every} (${n})` });
  }, BESIDE_VALUE_PROBLEMS)
  .transform((r): CalendarIntervalRule => {
    const km = r.everyKm !== undefined;
    const every = km ? r.everyKm : r.everyHours;
    return {
      name: r.name,
      everyDays: r.everyDays,
      dueSoonDays: r.dueSoonDays,
      baselineAttribute: r.baselineAttribute,
      ...(every !== undefined
        ? {
            orMeter: {
              meter: km ? 'km' : 'hours',
              every,
              dueSoon: (km ? r.dueSoonKm : r.dueSoonHours) ?? 0,
              baselineAttribute: r.meterBaselineAttribute ?? (km ? 'lastServiceKm' : 'lastServiceHours'),
            },
          }
        : {}),
      severity: r.severity,
      ...workOrderOptions(r),
    };
  });

const FULL_WEEKDAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
/**
 * A day of the week as written: `sun`, `Sun`, `SUN` or `Sunday`, read as its canonical `sun`. Any
 * other value is left as given, so the error echoes it and lists the valid names.
 */
function canonicalWeekday(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const d = v.trim().toLowerCase();
  const i = FULL_WEEKDAY_NAMES.indexOf(d as (typeof FULL_WEEKDAY_NAMES)[number]);
  if (i >= 0) return WEEKDAY_NAMES[i];
  return (WEEKDAY_NAMES as readonly string[]).includes(d) ? d : v;
}
const weekday = z.preprocess(canonicalWeekday, z.enum(WEEKDAY_NAMES));
const notAClock = echoed('is not a time of day: use HH:MM (24-hour), e.g. 06:00');
/** `24:00`, as a window to the end of the day is often written: midnight is `00:00`, and a `to` at or before `from` ends the next day. */
const clock = z.string().refine((s) => parseClock(s) !== undefined, {
  error: (iss) => `${notAClock(iss)}${typeof iss.input === 'string' && /^24:00$/.test(iss.input.trim()) ? '; for a window to midnight write to: "00:00" (a to at or before from ends the next day)' : ''}`,
});

/** One weekly slot: `{days: [sat, sun], from: "06:00", to: "14:00"}`; `to` ≤ `from` crosses midnight. */
const slotSchema = z.strictObject({ days: z.array(weekday).min(1), from: clock, to: clock }).transform(
  (s): WeeklyWindow => {
    const from = parseClock(s.from) as number;
    const to = parseClock(s.to) as number;
    return { days: s.days.map((d) => WEEKDAY_NAMES.indexOf(d)), startMinute: from, durationMinutes: to > from ? to - from : to + 1440 - from };
  },
);

/** A local calendar day, `YYYY-MM-DD`, that exists. */
const isLocalDay = (d: unknown): boolean => typeof d === 'string' && isCalendarDay(d);

/**
 * Closed days: `2026-12-25`, or `{from: 2026-12-24, to: 2027-01-01}` (both ends included). One
 * check with its own messages: a union would only say that neither form matched.
 */
const closedSchema = z
  .array(
    z.unknown().transform((v, ctx): ClosedDays => {
      const fail = (message: string, path: string[] = []): never => {
        ctx.addIssue({ code: 'custom', message, path });
        return z.NEVER;
      };
      if (typeof v === 'string') return isLocalDay(v) ? { from: v, to: v } : fail(`"${v}" is not a day; write YYYY-MM-DD, e.g. 2026-12-25`);
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(`${echo(v)} is neither a day nor a range: give a day (2026-12-25) or a range ({from: 2026-12-24, to: 2027-01-01})`);
      const { from, to, ...rest } = v as Record<string, unknown>;
      const extra = Object.keys(rest);
      if (extra.length) return fail(`unknown key(s) ${extra.join(', ')}: a range has only from and to`);
      if (!isLocalDay(from)) return fail(`${echo(from)} is not a day: write the first closed day as YYYY-MM-DD`, ['from']);
      if (!isLocalDay(to)) return fail(`${echo(to)} is not a day: write the last closed day as YYYY-MM-DD`, ['to']);
      const [first, last] = [from as string, to as string];
      return first <= last ? { from: first, to: last } : fail(`${first} is after ${last}: from is the first closed day, to the last`, ['to']);
    }),
  )
  .default([]);

/** The zones a `maintenance.windows` section names, by its compiled calendars (see {@link windowsTimeZones}). */
const windowsZoneKeys = new WeakMap<object, readonly WindowsTimeZone[]>();

/** A time zone written in `maintenance.windows`: its key under the section (`timeZone`, `sites.NYC.timeZone`). */
export interface WindowsTimeZone {
  readonly key: string;
  readonly timeZone: string;
}

/**
 * The time zones `maintenance.windows` names, each with its key (for warnings that name it): the
 * compiled calendars keep only the zone each one runs in, not whether a site's is its own or the
 * common one, nor a common one no calendar uses, so the schema notes them aside. Calendars not
 * compiled by it (built by hand): the common calendar's zone under `timeZone`, and each site's
 * that differs from it under its site.
 */
export function windowsTimeZones(windows: Readonly<Record<string, WindowCalendar>>): readonly WindowsTimeZone[] {
  const known = windowsZoneKeys.get(windows);
  if (known) return known;
  const common = windows['*']?.timeZone;
  return [
    ...(common === undefined ? [] : [{ key: 'timeZone', timeZone: common }]),
    ...Object.entries(windows).flatMap(([site, c]) => (site === '*' || c.timeZone === common ? [] : [{ key: `sites.${site}.timeZone`, timeZone: c.timeZone }])),
  ];
}

const windowsSchema = z
  .strictObject({
    /** Time zone of the slots. @default UTC */
    timeZone,
    /** Slots for sites without their own. */
    default: z.array(slotSchema).default([]),
    /** Days no window starts on, at every site (public holidays, a shutdown). @default none */
    closed: closedSchema,
    /** Per site (the asset attribute named by `siteAttribute`): slots, or `{timeZone, slots, closed}` (time zone by default the common one; closed days added to the common ones). */
    sites: z
      .record(z.string(), z.union([z.array(slotSchema), z.strictObject({ timeZone: timeZoneName.optional(), slots: z.array(slotSchema), closed: closedSchema })], { error: echoed('is neither form: give the site a list of slots, or { timeZone, slots, closed }') }))
      .default({}),
  })
  .superRefine((w, ctx) => {
    // The compiled calendars keep the default under `*`: a site of that name would replace it.
    // Said beside the section's refused values, its slots' own too: it is the name that is wrong.
    const sites: unknown = w.sites;
    if (sites !== null && typeof sites === 'object' && !Array.isArray(sites) && Object.hasOwn(sites, '*'))
      ctx.addIssue({ code: 'custom', path: ['sites', '*'], message: '"*" is no site name: the windows of every site without its own go in rules.maintenance.windows.default; move these slots there' });
  }, BESIDE_VALUE_PROBLEMS)
  .transform((w): Record<string, WindowCalendar> => {
    const out: Record<string, WindowCalendar> = {};
    const closed = (own: readonly ClosedDays[] = []) => {
      const all = [...w.closed, ...own];
      return all.length ? { closed: all } : {};
    };
    if (w.default.length) out['*'] = { timeZone: w.timeZone, windows: w.default, ...closed() };
    for (const [site, v] of Object.entries(w.sites))
      out[site] = Array.isArray(v) ? { timeZone: w.timeZone, windows: v, ...closed() } : { timeZone: v.timeZone ?? w.timeZone, windows: v.slots, ...closed(v.closed) };
    const own = Object.entries(w.sites).flatMap(([site, v]) => (!Array.isArray(v) && v.timeZone !== undefined ? [{ key: `sites.${site}.timeZone`, timeZone: v.timeZone }] : []));
    windowsZoneKeys.set(out, [{ key: 'timeZone', timeZone: w.timeZone }, ...own]);
    noteCommonTimeZone(out, w.timeZone);
    return out;
  });

export const maintenanceSchema = z
  .strictObject({
    thresholds: z.array(thresholdSchema).default([]),
    serviceIntervals: z.array(serviceIntervalSchema).default([]),
    calendarIntervals: z.array(calendarIntervalSchema).default([]),
    /** Fault codes and other alerts the machines report → work orders. */
    alerts: z.array(alertRuleSchema).default([]),
    /** How often the service checks calendar intervals for work orders coming due. @default 1h */
    calendarCheckEvery: every('1h'),
    /** Asset attribute naming the asset's site (for maintenance windows). @default site */
    siteAttribute: z.string().min(1).default('site'),
    /** Maintenance windows work orders are scheduled into. @default none (no planned dates) */
    windows: windowsSchema.prefault({}),
    /** Closed loop: poll destinations that can list work orders. */
    feedback: z
      .strictObject({
        /** How often to ask the ERP for changed work orders; 0 disables polling (webhooks only). @default 5m */
        pollEvery: ruleDuration('5m'),
        /** Look back this far on the first poll. @default 1d */
        initialLookback: ruleDuration('1d'),
        /**
         * Each poll asks for the changes since its cursor less this much, so a change the ERP lists
         * only some time after the update time it stamps (a long transaction, a lagging read
         * replica, a batching middleware) is still read; changes read again are skipped. 0: none. @default 2m
         */
        pollOverlap: ruleDuration('2m'),
      })
      .prefault({}),
    /** Closed work orders remembered per asset for status. @default 20 */
    keepClosed: z.number().int().min(1).default(20),
    /**
     * A fault's, a due service's and a calendar interval's work order shows a sensor value read at
     * most this long (plus `allowedLateness`) before it: an older one is left out as no longer
     * current. @default 10m
     */
    snapshotMaxAge: ruleDuration('10m'),
  })
  .superRefine((m, ctx) => {
    for (const p of maintenanceCrossProblems(m)) ctx.addIssue({ code: 'custom', path: [...p.path], message: p.message });
  });

/** The assets a filter takes, in words: `every asset`, or `every asset with erpModule maintenance and group EU or US`. */
function describeAssets(filter: AssetFilter): string {
  const parts = [
    ...(filter.erpModules !== undefined ? [`erpModule ${filter.erpModules.join(' or ')}`] : []),
    ...Object.entries(filter.attributes ?? {}).map(([k, values]) => `${k} ${values.join(' or ')}`),
  ];
  return parts.length > 0 ? `every asset with ${parts.join(' and ')}` : 'every asset';
}

// ---------------------------------------------------------------------------------------------
// Inventory

export const inventorySchema = z.strictObject({
  /** Asset attribute with the item's SKU; assets without it are not inventory. @default sku */
  skuAttribute: z.string().min(1).default('sku'),
  /** Asset attribute with how many units one tag stands for. @default quantity (1 when absent) */
  quantityAttribute: z.string().min(1).default('quantity'),
  /** An item counts where it was last seen only if seen within this window. @default 24h */
  freshness: ruleDuration('24h'),
  /** How often changed counts are sent. @default 1m */
  changesEvery: every('1m'),
  /** When a full snapshot of every count is sent (cron, 5 fields). @default 0 2 * * * (02:00 daily) */
  fullSnapshotCron: z
    .string()
    .default('0 2 * * *')
    .refine(
      (c) => {
        try {
          CronExpressionParser.parse(c);
          return c.trim().split(/\s+/).length === 5;
        } catch {
          return false;
        }
      },
      { error: echoed('is not a 5-field cron expression (e.g. "0 2 * * *" for 02:00 daily)') },
    ),
  /** Time zone of the cron expression. @default UTC */
  timeZone,
});

// ---------------------------------------------------------------------------------------------
// Depreciation

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: echoed('is not a date: use YYYY-MM-DD') });

const periodItem = z.strictObject({
  id: z
    .string()
    .regex(/^[^|]+$/, { error: echoed('must not contain "|"') })
    .refine((id) => !isReservedName(id), { error: (iss) => reservedNameProblem(String(iss.input), 'period') }),
  start: date,
});
const PERIOD_KEY_MISSING: Readonly<Record<string, string>> = {
  id: 'missing: give the period an id, e.g. FY27-P01',
  start: 'missing: give the first day of the period, YYYY-MM-DD',
};

/**
 * A listed calendar, each item checked on its own: a wrong item is reported under its key
 * (`periods.3.start`), not the whole list as "neither form" (issues of a refinement do not end
 * the union's branch, as a wrong item's type would; a transform would, so the type is stated).
 */
const periodList = z
  .array(z.unknown())
  .min(1)
  .superRefine((items, ctx) => {
    items.forEach((item, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) return ctx.addIssue({ code: 'custom', path: [i], message: `${echo(item)} is not a period: write { id, start: YYYY-MM-DD }` });
      const r = periodItem.safeParse(item, { error: configIssueMessage() });
      for (const iss of r.error?.issues ?? []) {
        const key = String(iss.path[0] ?? '');
        if (iss.code === 'unrecognized_keys')
          for (const k of iss.keys) ctx.addIssue({ code: 'custom', path: [i, k], message: 'unknown key: a period has only id and start (it ends where the next starts, the last at periodsEnd)' });
        else ctx.addIssue({ code: 'custom', path: [i, key], message: (item as Record<string, unknown>)[key] === undefined ? (PERIOD_KEY_MISSING[key] ?? iss.message) : iss.message });
      }
    });
  }) as unknown as z.ZodType<z.output<typeof periodItem>[], unknown[]>;

/** An asset attribute name: an empty one would name no attribute, so the input would always be missing. */
const attributeName = (fallback: string) =>
  z
    .string()
    .regex(/\S/, { error: `is empty or blank: name the asset attribute that holds this input, or leave the key out for the default (${fallback})` })
    .default(fallback);

export const depreciationSchema = z
  .strictObject({
    /** Time zone of period boundaries. @default UTC */
    timeZone,
    /** `monthly` (ids YYYY-MM) or a list of `{id, start: YYYY-MM-DD}` (4-4-5, fiscal ids). @default monthly */
    periods: z
      .union([z.literal('monthly'), periodList], {
        error: echoed('is neither form: use monthly, or a list of periods [{ id, start: YYYY-MM-DD }] with periodsEnd'),
      })
      .default('monthly'),
    /** End (exclusive) of the last listed period; needed with a period list. */
    periodsEnd: date.optional(),
    /** Asset attribute names for the financial inputs. */
    attributes: z
      .strictObject({
        cost: attributeName('cost'),
        salvage: attributeName('salvage'),
        totalExpectedUnits: attributeName('expectedUnits'),
        usefulLifePeriods: attributeName('usefulLifeMonths'),
        unitsAtAcquisition: attributeName('unitsAtAcquisition'),
        inServiceDate: attributeName('inServiceDate'),
      })
      .prefault({}),
    /** The meter usage is counted on: operating hours, or the odometer for vehicles depreciated by distance. @default operatingHours */
    meter: z.enum(['operatingHours', 'odometerKm']).default('operatingHours'),
    /** Asset attribute that picks the meter per asset (`hours` or `km`), for mixed fleets. @default depreciationMeter */
    meterAttribute: z.string().min(1).default('depreciationMeter'),
    /** Unit sent with usage counted in hours. @default h */
    unit: z.string().min(1).default('h'),
    /** Unit sent with usage counted in km. @default km */
    kmUnit: z.string().min(1).default('km'),
    /** Post a period's usage this long after it ends (late readings still count). @default 2d */
    postAfter: ruleDuration('2d'),
    /** How often the period-end task looks for periods to post. @default 1h */
    checkEvery: every('1h'),
    /** Periods of usage kept per asset. @default 36 */
    keepPeriods: z.number().int().min(2).default(36),
    /**
     * Hold back (not send) the postings of an asset whose posted inputs (total expected units,
     * units at acquisition) are invalid, until they are fixed; `depreciation post --force` sends
     * them anyway. @default true
     */
    holdBack: z.boolean().default(true),
    appliesTo: assetFilterSchema.optional(),
  })
  .superRefine((d, ctx) => {
    // Beside the section's other refused values (a mistyped postAfter), not on periods or an end refused themselves.
    if (d.periods === 'monthly') {
      if (d.periodsEnd !== undefined && accepted(ctx, ['periods'], ['periodsEnd']))
        ctx.addIssue({
          code: 'custom',
          path: ['periodsEnd'],
          message: `is only for a list of periods; with periods: ${d.periods} it is not used: remove it, or list the periods [{ id, start: YYYY-MM-DD }] it ends`,
        });
      return;
    }
    // A list (its items as given when one is refused): not one refused as neither form.
    if (!Array.isArray(d.periods)) return;
    const endRead = accepted(ctx, ['periodsEnd']);
    if (endRead && d.periodsEnd === undefined) ctx.addIssue({ code: 'custom', path: ['periodsEnd'], message: 'give the end (YYYY-MM-DD, exclusive) of the last listed period' });
    // The checks across the items (an id used twice, a day not of the calendar, starts out of order) on
    // the items read, beside an item or an end refused (said there, not again): not in a second round.
    const problems = customCalendarProblems(d.periods, endRead ? d.periodsEnd : undefined).filter((p) => untouched(ctx, p.path));
    for (const p of problems) ctx.addIssue({ code: 'custom', path: [...p.path], message: p.message });
    // Items or an end the schema refused are named there already.
    if (problems.length > 0 || d.periodsEnd === undefined || !accepted(ctx, ['periods'], ['periodsEnd']) || !d.periods.every((p) => periodItem.safeParse(p).success) || !date.safeParse(d.periodsEnd).success || !accepted(ctx, ['timeZone'])) return;
    try {
      customCalendar(d.timeZone, d.periods, d.periodsEnd);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['periods'], message: (err as Error).message });
    }
  }, BESIDE_VALUE_PROBLEMS);

// ---------------------------------------------------------------------------------------------
// The section

export const locationRuleSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Movement that triggers a sync, metres. @default 100 */
  minDistanceM: z.number().min(0).default(100),
  /** Sync at least this often while an asset reports. @default 1h */
  heartbeatMs: dur('1h'),
  /** Only these assets (e.g. not the tagged pallets counted by `inventory`). @default all assets */
  appliesTo: assetFilterSchema.optional(),
});

/**
 * Meter sync (meter-sync.ts): the accepted hour-meter and odometer readings sent to the ERP as
 * `meter.record`. Turning it off, or limiting it, suppresses only those deliveries: meter hygiene
 * still judges every reading (service intervals, usage, `assets meters`, `maintenance status` read
 * what it kept), so the rule's stored state is kept either way.
 */
export const meterRuleSchema = z.strictObject(
  {
    /** Send `meter.record`; false: no meter readings go to the ERP. @default true */
    enabled: z.boolean().default(true),
    /** Only these assets' readings are sent (e.g. not the rented-in machines). @default all assets */
    appliesTo: assetFilterSchema.optional(),
  },
  // `meters: false` (or true), as if the section were a switch: say the key that is.
  { error: (iss) => (typeof iss.input === 'boolean' ? `${iss.input} is a boolean: rules.meters is a mapping; write meters: { enabled: ${iss.input} }` : undefined) },
);

export const rulesSchema = z.strictObject({
  /**
   * Event-time reorder window for zones, maintenance, inventory and depreciation: events wait this
   * long (in event time) so that out-of-order arrival changes nothing; older ones are dropped as
   * late. Location sync without zones always decides at once. @default 30s
   */
  allowedLateness: ruleDuration('30s'),
  /**
   * An asset silent this long (wall clock; at least `allowedLateness`) has the events its rules
   * still hold decided, so the last reading before it goes quiet (parked, switched off, broken
   * down) is not kept back until it reports again; zone dwell and, after a restart, a zone's changed
   * `locationCode` too. 0 turns idle watermarks off (not "at once"): only its next event decides
   * them; with zones, `config check` warns of it. @default 2m
   */
  idleAfter: ruleDuration('2m'),
  location: locationRuleSchema.prefault({}),
  /** Meter sync (`meter.record`): on for every asset unless said otherwise. */
  meters: meterRuleSchema.prefault({}),
  /** Named zones mapped to ERP location codes; location sync and inventory use them when present. */
  zones: zonesSchema.optional(),
  maintenance: maintenanceSchema.optional(),
  inventory: inventorySchema.optional(),
  depreciation: depreciationSchema.optional(),
}).superRefine((r, ctx) => {
  const fresh = r.inventory ? freshnessProblem(r.inventory.freshness, r.allowedLateness) : undefined;
  if (fresh !== undefined) ctx.addIssue({ code: 'custom', path: ['inventory', 'freshness'], message: fresh });
});

// ---------------------------------------------------------------------------------------------
// Checks across entries: refinements of a section, which the schema makes only once none of that
// section's values is refused. {@link rulesCrossProblems} makes them on what was given, so that a
// config the schema refuses has them said with its other problems (a rule name used twice beside a
// typo in another rule), not only once those are fixed.

/** A problem of a check across entries: its path below the section checked, and what is wrong. */
export interface SectionProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

const fieldOf = (value: unknown, key: string): unknown => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined);
const itemsOf = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : []);

const MAINTENANCE_LISTS = ['thresholds', 'serviceIntervals', 'calendarIntervals', 'alerts'] as const;

/**
 * An `appliesTo` as given or parsed, as a filter: undefined when absent (every asset), null when it
 * is not one (the schema says what is wrong with it).
 */
function filterOf(given: unknown): AssetFilter | undefined | null {
  if (given === undefined) return undefined;
  if (given === null || typeof given !== 'object' || Array.isArray(given)) return null;
  const texts = (v: unknown): string[] | null => (typeof v === 'string' ? [v] : Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string') ? v : null);
  const erp = fieldOf(given, 'erpModules');
  const erpModules = erp === undefined ? undefined : texts(erp);
  if (erpModules === null) return null;
  const attrs = fieldOf(given, 'attributes');
  let attributes: Record<string, readonly string[]> | undefined;
  if (attrs !== undefined) {
    if (attrs === null || typeof attrs !== 'object' || Array.isArray(attrs)) return null;
    attributes = {};
    for (const [k, v] of Object.entries(attrs)) {
      const values = texts(v);
      if (values === null) return null;
      attributes[k] = values;
    }
  }
  return { ...(erpModules !== undefined ? { erpModules } : {}), ...(attributes !== undefined ? { attributes } : {}) };
}

/**
 * A rule name used twice (across thresholds, service and calendar intervals and alerts: names
 * identify work orders), and one sensor compared in two units by its threshold rules. On the parsed
 * `maintenance` section, or on what was given: an entry whose name, sensor or unit is not text is
 * passed over (the schema says what is wrong with it).
 */
function maintenanceCrossProblems(maintenance: unknown): SectionProblem[] {
  const problems: SectionProblem[] = [];
  /** rule name → the first entry that has it (its key below `rules.maintenance`). */
  const names = new Map<string, string>();
  for (const list of MAINTENANCE_LISTS)
    itemsOf(fieldOf(maintenance, list)).forEach((r, i) => {
      const name = fieldOf(r, 'name');
      if (typeof name !== 'string') return;
      const first = names.get(name);
      if (first === undefined) names.set(name, `${list}.${i}`);
      else
        problems.push({
          path: [list, i, 'name'],
          message: `rule name "${name}" is used twice (rules.maintenance.${first} has it too): give each rule its own name; it identifies the rule's work orders (in their business keys), so the work orders of two rules of one name would be taken for each other's`,
        });
    });
  // One unit per sensor per asset: each asset's reading is converted to (or refused for) the unit
  // of the rules on that sensor that apply to it, so two that can apply to one asset give one unit.
  // Rules in different units for different assets (°C for group EU, °F for group US) are fine.
  const bySensor = new Map<string, { index: number; unit: string; rule: string; appliesTo: AssetFilter | undefined }[]>();
  itemsOf(fieldOf(maintenance, 'thresholds')).forEach((r, i) => {
    const sensor = fieldOf(r, 'sensor');
    const given = fieldOf(r, 'unit');
    // Read without spaces at either end, as the schema reads it.
    const unit = typeof given === 'string' ? given.trim() : '';
    const appliesTo = filterOf(fieldOf(r, 'appliesTo'));
    if (typeof sensor !== 'string' || unit === '' || appliesTo === null) return;
    const name = fieldOf(r, 'name');
    const rule = typeof name === 'string' ? name : `maintenance.thresholds.${i}`;
    const earlier = bySensor.get(sensor) ?? [];
    bySensor.set(sensor, [...earlier, { index: i, unit, rule, appliesTo }]);
    for (const other of earlier) {
      if (sameUnit(other.unit, unit)) continue;
      const common = commonFilter(other.appliesTo, appliesTo);
      if (common === undefined) continue;
      problems.push({
        path: ['thresholds', i, 'unit'],
        message:
          `sensor ${sensor} is compared in ${JSON.stringify(other.unit)} by rule ${other.rule} (rules.maintenance.thresholds.${other.index}.unit) but in ${JSON.stringify(unit)} by rule ${rule} here, ` +
          `and both apply to ${describeAssets(common)}: a reading is converted to one unit per asset, so give these rules the same unit (convert this rule's above/below), ` +
          `or appliesTo that no asset matches both of (rules on one sensor may give different units for different assets)`,
      });
      break;
    }
  });
  return problems;
}

/**
 * A zone name defined again, with where it was defined first; `firstName`: the name as written
 * there, when it differs only in case (zone names are compared ignoring case: ERP users, `zones
 * locate` and a reader's "did you mean" could not tell `yard` from `YARD`), and `at` where the
 * name defined again is.
 */
const zoneDefinedTwice = (name: string, first: string, firstName = name, at?: string): string =>
  firstName === name
    ? `zone "${name}" is defined more than once (inline or in files), first in ${first}; names must be unique across files and inline: rename one (zones may share a location code)`
    : `zone "${name}"${at !== undefined ? ` in ${at}` : ''} differs only in case from zone "${firstName}" in ${first}; names must differ in more than case across files and inline (ERP users, 'zones locate' and a sighting naming its zone could not tell them apart): rename one (zones may share a location code)`;

/**
 * An inline zone whose name an earlier one has (read without spaces at either end, as the schema
 * reads it, and ignoring case), at its name. On the parsed `zones` section's `inline`, or on what was given. A name
 * an inline zone shares with a zones file's zone is said by the section's own check, which reads
 * the files.
 */
function inlineZoneNameProblems(inline: unknown): SectionProblem[] {
  const problems: SectionProblem[] = [];
  // Name, read ignoring case → the first inline zone of it, and its name as written there.
  const seen = new Map<string, { index: number; name: string }>();
  itemsOf(inline).forEach((zone, i) => {
    const given = fieldOf(zone, 'name');
    const name = typeof given === 'string' ? given.trim() : '';
    if (name === '') return;
    const first = seen.get(name.toLowerCase());
    if (first !== undefined) problems.push({ path: ['inline', i, 'name'], message: zoneDefinedTwice(name, `rules.zones.inline.${first.index}`, first.name, `rules.zones.inline.${i}`) });
    else seen.set(name.toLowerCase(), { index: i, name });
  });
  return problems;
}

/**
 * Why an inventory `freshness` no longer than `rules.allowedLateness` is refused: a sighting is
 * decided only once the lateness has passed, so it is at least that old when the inventory task
 * looks, and no item would ever count (a full snapshot would send every count as 0).
 */
function freshnessProblem(freshness: number, allowedLateness: number): string | undefined {
  if (freshness > allowedLateness) return undefined;
  return `${durationText(freshness)} is not longer than rules.allowedLateness (${durationText(allowedLateness)}): a sighting is decided only after the lateness, so no item would ever count; give the longest an item may go unseen and still count, e.g. 24h`;
}

/**
 * The checks across entries of the `rules` section as given (before the schema: call it when the
 * schema refused the config): rule names used twice, a sensor in two units, inline zone names used
 * twice, an inventory freshness not longer than the lateness. Paths are below `rules`.
 */
export function rulesCrossProblems(rules: unknown): SectionProblem[] {
  const problems: SectionProblem[] = [];
  for (const p of maintenanceCrossProblems(fieldOf(rules, 'maintenance'))) problems.push({ path: ['maintenance', ...p.path], message: p.message });
  for (const p of inlineZoneNameProblems(fieldOf(fieldOf(rules, 'zones'), 'inline'))) problems.push({ path: ['zones', ...p.path], message: p.message });
  const inventory = fieldOf(rules, 'inventory');
  if (inventory !== null && typeof inventory === 'object' && !Array.isArray(inventory)) {
    const freshness = inventorySchema.shape.freshness.safeParse(fieldOf(inventory, 'freshness'));
    const lateness = rulesSchema.shape.allowedLateness.safeParse(fieldOf(rules, 'allowedLateness'));
    const fresh = freshness.success && lateness.success ? freshnessProblem(freshness.data, lateness.data) : undefined;
    if (fresh !== undefined) problems.push({ path: ['inventory', 'freshness'], message: fresh });
  }
  return problems;
}

/** How the depreciation block picks each asset's meter (its attribute, else `meter`); lives in the core, re-exported here. */
export { depreciationMeterOf } from '../core/rules/depreciation/usage.js';

/** The compiled `rules` section. */
export type RulesConfig = z.output<typeof rulesSchema>;
/** The `rules` section as written in YAML. */
export type RulesConfigInput = z.input<typeof rulesSchema>;
export type ZonesConfig = z.output<typeof zonesSchema>;
export type MaintenanceConfig = z.output<typeof maintenanceSchema>;
export type InventoryConfig = z.output<typeof inventorySchema>;
export type DepreciationConfig = z.output<typeof depreciationSchema>;
