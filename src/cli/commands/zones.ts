/**
 * `assetbridge zones`: check a GeoJSON zones file before putting it in the config (with a config
 * whose service has run, against the assets' last stored positions), list the configured zones,
 * find which zone a position is in, and show which assets are in each zone now.
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, NotFoundError, UsageError } from '../../core/errors/errors.js';
import { editDistance } from '../../core/edit-distance.js';
import { CSV_FILE_BOM, toCsv } from '../../core/csv.js';
import { decodeJsonFile, JsonFileEncodingError, parseJsonText } from '../../core/json-text.js';
import { zoneTrackingOf } from '../../core/rules/index.js';
import { readConfigYaml } from '../../config/load.js';
import { DEFAULT_GEOJSON_PROPERTIES, geoJsonPropertyClashes, zonesFromGeoJson, zonesToGeoJson, type GeoJsonImport, type GeoJsonZoneProperties } from '../../core/rules/zones/geojson.js';
import { areaM2, bboxOf, type Zone } from '../../core/rules/zones/geometry.js';
import { ZoneIndex } from '../../core/rules/zones/zone-index.js';
import { swappedPositions, swappedZonesWarning, type SwappedPositions } from '../../core/rules/zones/swapped.js';
import { INVENTORY_RULE, isInventoryItem, type InventoryItemState } from '../../core/rules/inventory/inventory-rule.js';
import { matchesFilter } from '../../core/rules/maintenance/types.js';
import type { LocationSyncState } from '../../core/rules/location-sync.js';
import { unconfiguredZoneOccupancy, zoneOccupancy, type ZoneOccupancy } from '../../core/rules/zones/occupancy.js';
import type { ZoneTrackState } from '../../core/rules/zones/zone-tracker.js';
import type { RulesConfig } from '../../config/rules-schema.js';
import type { Store } from '../../ports/store.js';
import { action, isoTime, addConfigOption, checkOutputOptions, CSV_OUTPUT, resolveConfig, storeExists, table, withConfigContext, withContext, toJson, whyUnreadable, writeOut, OUT_FILE_HELP } from '../context.js';
import { storedRuleStateAsOf, warnOfLeftIngestLog } from './submit-event.js';
import { rulesConfigOf } from './rules.js';

/** Read and check a GeoJSON zones file. `propertiesKey`: the config key that names the properties read, for the hint after a missing one. */
export function checkZonesFile(file: string, properties: Partial<GeoJsonZoneProperties> = {}, propertiesKey?: string): GeoJsonImport {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file} (${whyUnreadable(err)}): give the path of a GeoJSON zones file (a FeatureCollection)`);
  }
  let doc: unknown;
  try {
    doc = parseJsonText(decodeJsonFile(bytes, 'zones file'));
  } catch (err) {
    if (err instanceof JsonFileEncodingError) throw new UsageError(`${file}: ${err.message}`);
    throw new UsageError(`${file} is not valid JSON: ${(err as Error).message}; fix it there (a GeoJSON file is JSON: no trailing commas, no comments)`);
  }
  return zonesFromGeoJson(doc, properties, propertiesKey);
}

/**
 * The feature property names a config file gives in `rules.zones.properties`, read from its YAML
 * alone: the file being checked may be one of the config's zone files, which must not stop the check.
 * `key`: the config key that names them, the file's own entry's when the config lists it with properties.
 */
export function configuredZoneProperties(configPath: string, file?: string): { properties: Partial<GeoJsonZoneProperties>; key: string } {
  let doc: unknown;
  try {
    doc = readConfigYaml(configPath);
  } catch (err) {
    // As every command says a config it cannot read: why, and no line that may hold a credential.
    if (!(err instanceof ConfigError)) throw err;
    throw new UsageError(
      `-c ${configPath}: ${err.problems.map((p) => p.message.trimEnd()).join('; ')}\n-c names the config whose rules.zones.properties give the feature property names: fix it, or leave -c out to read them by their default names (or name them with the --…-property options)`,
    );
  }
  const zones = (doc as { rules?: { zones?: { properties?: unknown; files?: unknown } } } | null)?.rules?.zones;
  const out = namedProperties(zones?.properties, `${configPath}: rules.zones.properties`);
  // The file's own entry, `{path, properties}`, when the config lists it so (its path relative to the config's directory).
  const files = Array.isArray(zones?.files) ? (zones.files as unknown[]) : [];
  const i = file === undefined ? -1 : files.findIndex((f) => isEntry(f) && typeof f.path === 'string' && resolve(dirname(configPath), f.path) === resolve(file));
  const own = files[i];
  if (!isEntry(own) || own.properties === undefined || own.properties === null) return { properties: out, key: 'rules.zones.properties' };
  const key = `rules.zones.files.${i}.properties`;
  return { properties: { ...out, ...namedProperties(own.properties, `${configPath}: ${key}`) }, key };
}

const isEntry = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function namedProperties(props: unknown, key: string): Record<string, string> {
  if (props === undefined || props === null) return {};
  if (!isEntry(props)) throw new UsageError(`${key} is not a mapping`);
  const out: Record<string, string> = {};
  for (const name of Object.keys(DEFAULT_GEOJSON_PROPERTIES)) {
    const v = props[name];
    if (typeof v === 'string' && v !== '') out[name] = v;
  }
  return out;
}

/**
 * Where the zones are, latitude first (as `zones locate` takes a position), and, when the file
 * could as well be written [latitude, longitude], where they would be read so: a file written that
 * way with both numbers within ±90 (all of Europe, Africa, most of Asia) reads as valid zones
 * elsewhere on Earth, which no check can tell, and where they lie shows it at once. Not said when
 * it cannot be so (a longitude beyond ±90 would be no latitude), nor when read the other way
 * every zone would be where it is (on the diagonal, latitude equal to longitude).
 */
export function whereZonesLie(zones: readonly Zone[]): string {
  let minLat = Infinity;
  let maxLat = -Infinity;
  let minLng = Infinity;
  let maxLng = -Infinity;
  // Whether read [latitude, longitude] some zone's centre would be outside that zone.
  let moves = false;
  for (const z of zones) {
    const b = bboxOf(z.shape);
    minLat = Math.min(minLat, b.minLat);
    maxLat = Math.max(maxLat, b.maxLat);
    minLng = Math.min(minLng, b.minLng);
    maxLng = Math.max(maxLng, b.maxLng);
    const [lat, lng] = [(b.minLng + b.maxLng) / 2, (b.minLat + b.maxLat) / 2];
    if (lat < b.minLat || lat > b.maxLat || lng < b.minLng || lng > b.maxLng) moves = true;
  }
  const deg = (n: number) => String(Number(n.toFixed(4)));
  const span = (from: number, to: number) => (deg(from) === deg(to) ? deg(from) : `${deg(from)} to ${deg(to)}`);
  const lie = `the zones lie within latitude ${span(minLat, maxLat)}, longitude ${span(minLng, maxLng)}`;
  if (!moves || minLng < -90 || maxLng > 90) return lie;
  return `${lie}\nif these zones should be near latitude ${span(minLng, maxLng)}, longitude ${span(minLat, maxLat)}, the file may be latitude-first: GeoJSON positions are [longitude, latitude], so swap the two numbers of every position`;
}

export function zoneRows(zones: readonly Zone[]): (string | number)[][] {
  return [
    ['ZONE', 'LOCATION CODE', 'SITE', 'SHAPE', 'AREA (m²)', 'PRIORITY'],
    ...zones.map((z) => [
      z.name,
      z.locationCode,
      z.site ?? '-',
      z.shape.type === 'circle' ? `circle r=${z.shape.radiusM} m` : `polygon ×${z.shape.polygons.length}`,
      Math.round(areaM2(z.shape)).toLocaleString('en-US'),
      z.priority,
    ]),
  ];
}

export interface LocateResult {
  readonly inside: readonly string[];
  readonly band: readonly string[];
  /** The zone an asset standing here (after dwell) would be reported in, with its location code. */
  readonly zone?: { readonly name: string; readonly locationCode: string };
  /**
   * Near no zone, but the position read the other way round (the arguments are LAT LNG, a map
   * tool or GeoJSON gives LNG, LAT) is in this zone.
   */
  readonly swapped?: { readonly name: string; readonly locationCode: string };
}

/** What the zone commands say with no zones configured: where they go in the config. */
const NO_ZONES = 'no zones are configured (add rules.zones.files or rules.zones.inline to the config)';
/** `zones list` with none: said as the other zone commands say it, with what to do, and 'zones check' for a file to be. */
const NO_ZONES_LISTED = `${NO_ZONES}; 'assetbridge zones check FILE' checks a zones file before the config names it`;

export function locate(rules: RulesConfig, lat: number, lng: number): LocateResult {
  const tracking = zoneTrackingOf(rules);
  if (!tracking) throw new UsageError(NO_ZONES);
  const hit = tracking.index.locate(lat, lng);
  const best = tracking.index.best(hit.inside);
  if (best) return { ...hit, zone: { name: best.name, locationCode: best.locationCode } };
  const other = hit.band.length === 0 && Math.abs(lng) <= 90 ? tracking.index.best(tracking.index.locate(lng, lat).inside) : undefined;
  return { ...hit, ...(other ? { swapped: { name: other.name, locationCode: other.locationCode } } : {}) };
}

/** A zone the stored rule state names that is not configured (renamed or removed since), with who is still tracked in it. */
export type UnconfiguredZone = ReturnType<typeof unconfiguredZoneOccupancy>[number];

/**
 * Occupancy of the configured zones from the stored rule state (location sync's tracking, else
 * inventory's, each where that rule applies to the asset now), and of the zones that state names
 * that are no longer configured.
 */
export async function loadOccupancy(store: Store, rules: RulesConfig): Promise<{ zones: ZoneOccupancy[]; unconfigured: UnconfiguredZone[] }> {
  const index = zoneTrackingOf(rules)?.index;
  if (!index) throw new UsageError(NO_ZONES);
  const assets = await store.listAssetRecords();
  const states = await store.loadRuleStates(assets.map((a) => a.erpAssetId), ['location', INVENTORY_RULE]);
  const tracking = new Map<string, ZoneTrackState | undefined>();
  // The zone location sync placed each asset in last: where one still in a zone no longer configured stays.
  const lastZone = new Map<string, string>();
  for (const asset of assets) {
    const id = asset.erpAssetId;
    const doc = states.get(id);
    // Only the state of a rule that tracks the asset now: one turned off since (location.enabled,
    // appliesTo, inventory removed) left its state as it was then, no longer updated.
    const location = rules.location.enabled && matchesFilter(asset, rules.location.appliesTo) ? (doc?.location as LocationSyncState | undefined) : undefined;
    const inventory = rules.inventory && isInventoryItem(asset, rules.inventory.skuAttribute) ? (doc?.[INVENTORY_RULE] as InventoryItemState | undefined) : undefined;
    tracking.set(id, location?.zones ?? inventory?.zones);
    if (location?.zones !== undefined && location.last?.zoneName !== undefined) lastZone.set(id, location.last.zoneName);
  }
  return { zones: zoneOccupancy(index, tracking, lastZone), unconfigured: unconfiguredZoneOccupancy(index, tracking, lastZone) };
}

/** Each asset's last position location sync stored (a fixed reader's sighting has none). */
export async function storedPositions(store: Store): Promise<{ lat: number; lng: number }[]> {
  const assets = await store.listAssetRecords();
  const states = await store.loadRuleStates(assets.map((a) => a.erpAssetId), ['location']);
  const out: { lat: number; lng: number }[] = [];
  for (const doc of states.values()) {
    const last = (doc.location as LocationSyncState | undefined)?.last;
    if (last?.lat !== undefined && last.lng !== undefined) out.push({ lat: last.lat, lng: last.lng });
  }
  return out;
}

/** What to do about configured zones the stored positions say are latitude-first. */
const SWAP_CONFIGURED =
  "swap the two numbers of every position in the zones file (rules.zones.files; 'assetbridge zones check FILE' shows where its zones lie), or lat and lng of the inline zones; location sync sends no zone until then";

/**
 * A zones file checked against the stored positions of a config's service (`zones check FILE -c
 * CONFIG`): undefined when the config does not load (it may name the very file being checked)
 * or nothing has run with it yet. Read only.
 */
async function fileAgainstStore(configPath: string, zones: readonly Zone[], file: string): Promise<(SwappedPositions & { warning?: string }) | undefined> {
  let loaded: ReturnType<typeof resolveConfig>;
  try {
    loaded = resolveConfig(configPath);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UsageError) return undefined;
    throw err;
  }
  if (!storeExists(loaded.config)) return undefined;
  const positions = await withConfigContext(loaded.config, loaded.configPath, ({ store }) => storedPositions(store), { readOnly: true });
  const index = new ZoneIndex(zones, { hysteresisM: rulesConfigOf(loaded.config).zones?.hysteresisM ?? 0 });
  const s = swappedPositions(index, positions);
  const warning = swappedZonesWarning(s, `a zone of ${file}`, 'swap the two numbers of every position in the file before the config names it');
  return { ...s, ...(warning !== undefined ? { warning } : {}) };
}

const PHASE_TEXT = { inside: 'inside', leaving: 'leaving (exit dwell)', entering: 'arriving (enter dwell)' } as const;

export function formatOccupancy(occupancy: readonly ZoneOccupancy[], zone?: string, unconfigured: readonly UnconfiguredZone[] = []): string {
  if (zone === undefined) {
    let rows = table([['ZONE', 'LOCATION CODE', 'INSIDE', 'ARRIVING', 'LEAVING'], ...occupancy.map((o) => [o.zone, o.locationCode, o.inside, o.entering, o.leaving])]);
    if ([...occupancy, ...unconfigured].some((o) => o.elsewhere.length > 0)) rows += `${OVERLAP_NOTE}; 'zones occupancy --zone NAME' lists those also inside NAME\n`;
    if (unconfigured.length === 0) return rows;
    const named = unconfigured.map((u) => `${u.zone} (${[`${u.inside} inside`, ...(u.entering ? [`${u.entering} arriving`] : []), ...(u.leaving ? [`${u.leaving} leaving`] : [])].join(', ')})`).join(', ');
    return (
      `${rows}zones no longer configured (renamed or removed), still named in the stored state: ${named}. ` +
      "Each asset leaves them at its next fixes (after rules.zones.exitDwellMs) and location sync then sends where it is; until then the ERP has the location sent last. 'zones occupancy --zone NAME' lists them\n"
    );
  }
  const o = occupancy.find((x) => x.zone === zone);
  const gone = o ? undefined : unconfigured.find((x) => x.zone === zone);
  if (gone) return `${gone.zone} (no longer configured): ${gone.inside} inside, ${gone.entering} arriving; they leave it at their next fixes\n${gone.assets.length ? assetTable(gone.assets) : ''}${elsewhereLine(gone)}`;
  if (!o) throw new NotFoundError(unknownZoneMessage(zone, occupancy.map((x) => x.zone)));
  if (o.assets.length === 0) return `no assets in ${o.zone} (${o.locationCode})\n${elsewhereLine(o)}`;
  return `${o.zone} (${o.locationCode}): ${o.inside} inside, ${o.entering} arriving\n${assetTable(o.assets)}${elsewhereLine(o)}`;
}

/** Zones listed by name in the refusal of an unknown one; past this many, `zones list` is named instead. */
const ZONES_LISTED = 20;

/**
 * `--zone NAME` names no configured zone: the likely ones meant (names compare exactly, so `yard`
 * is not `YARD`; a typo within two letters), and the zones, or with many (a site of a thousand
 * bays) where to see them, rather than every name on one line.
 */
export function unknownZoneMessage(zone: string, names: readonly string[]): string {
  const lower = zone.toLowerCase();
  const near = names
    .map((n) => ({ n, d: n.toLowerCase() === lower ? 0 : editDistance(lower, n.toLowerCase()) }))
    .filter((x) => x.d <= 2)
    .sort((a, b) => a.d - b.d || (a.n < b.n ? -1 : 1))
    .slice(0, 3)
    .map((x) => x.n);
  const caseOnly = near.some((n) => n.toLowerCase() === lower) ? ' zone names are case-sensitive' : '';
  const hint = near.length ? ` (did you mean ${near.join(' or ')}?${caseOnly})` : '';
  const list = names.length <= ZONES_LISTED ? `; zones: ${names.join(', ')}` : `; ${names.length} zones are configured: 'assetbridge zones list' names them`;
  return `no zone "${zone}" is configured${hint}${list}`;
}

/** Why an asset inside overlapping zones counts in one of them. */
const OVERLAP_NOTE = 'an asset inside overlapping zones counts once, in the zone whose location code location sync sends (the higher priority, then the smaller)';

/** The assets also inside a zone that are counted in another (overlapping) one, with it. */
function elsewhereLine(o: Pick<ZoneOccupancy, 'zone' | 'elsewhere'>): string {
  if (o.elsewhere.length === 0) return '';
  return `also inside ${o.zone} (counted in the overlapping zone whose location code location sync sends): ${o.elsewhere.map((a) => `${a.erpAssetId} in ${a.locatedIn}`).join(', ')}\n`;
}

const assetTable = (assets: ZoneOccupancy['assets']): string => table([['ASSET', 'STATE', 'SINCE'], ...assets.map((a) => [a.erpAssetId, PHASE_TEXT[a.phase], isoTime(a.since)])]);

/** One row per asset in a zone (arriving and leaving ones too, with their state); zones no longer configured after, with no location code. */
export function occupancyCsv(occupancy: readonly ZoneOccupancy[], unconfigured: readonly UnconfiguredZone[] = []): string {
  const rows = [...occupancy, ...unconfigured.map((o) => ({ ...o, locationCode: '' }))].flatMap((o) => o.assets.map((a) => [o.zone, o.locationCode, a.erpAssetId, a.phase, isoTime(a.since)]));
  return toCsv([['zone', 'locationCode', 'erpAssetId', 'state', 'since'], ...rows]);
}

/** A decimal number (not `''`, which Number() reads as 0, nor hex). */
const DECIMAL = /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i;

export function coordinate(text: string, what: 'latitude' | 'longitude'): number {
  const n = DECIMAL.test(text) ? Number(text) : NaN;
  const max = what === 'latitude' ? 90 : 180;
  if (!Number.isFinite(n) || Math.abs(n) > max) throw new UsageError(`${what} "${text}" is not a number between -${max} and ${max}`);
  return n;
}

/**
 * `zones locate`'s position as typed: `LAT LNG`, or as a map copies it, `LAT, LNG` (the latitude
 * then ends in a comma) or `LAT,LNG` in one argument. A decimal comma (`52,085 5,11`) is left to
 * {@link coordinate} to refuse.
 */
export function positionArgs(latText: string, lngText: string | undefined): [lat: string, lng: string] {
  if (lngText !== undefined) return [latText.replace(/,\s*$/, ''), lngText];
  const parts = latText.split(',');
  if (parts.length === 2) return [(parts[0] ?? '').trim(), (parts[1] ?? '').trim()];
  throw new UsageError(`give the position as latitude then longitude, e.g. 'assetbridge zones locate 51.952 4.045' (or "51.952, 4.045" as a map copies it); got only "${latText}"`);
}

export function registerZonesCommand(program: Command): Command {
  const zones = program.command('zones').description('zones: named polygons and circles mapped to ERP location codes');
  zones
    .command('check <file>')
    .description('check a GeoJSON zones file (FeatureCollection of Polygon, MultiPolygon, or Point with a radius)')
    .option('-c, --config <file>', 'read the property names from this config’s rules.zones.properties (the options below still win), and compare the zones with the asset positions its service stored')
    .option('--name-property <p>', 'feature property with the zone name (default: "name")')
    .option('--code-property <p>', 'feature property with the ERP location code (default: "locationCode")')
    .option('--radius-property <p>', 'feature property with a Point zone’s radius in metres (default: "radiusM")')
    .option('--site-property <p>', 'feature property with the zone’s site, shown by zones list (maintenance windows follow the asset’s site attribute, not its zone) (default: "site")')
    .option('--priority-property <p>', 'feature property with the zone’s priority (the higher wins where zones overlap) (default: "priority")')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nThe property options are rules.zones.properties of the config (name, locationCode, site, priority, radiusM).\n\n' +
        'Exit codes: 0 every zone OK, 2 the file has problems (each named on stderr) or cannot be read, or bad usage.\n\n' +
        'Examples:\n  assetbridge zones check zones.geojson\n  assetbridge zones check sites.geojson --name-property NAME --code-property LGORT\n  assetbridge zones check zones.geojson -c assetbridge.yaml',
    )
    .action(
      action(async (file: string, opts: { config?: string; nameProperty?: string; codeProperty?: string; radiusProperty?: string; siteProperty?: string; priorityProperty?: string; json?: boolean }) => {
        const fromConfig = opts.config !== undefined ? configuredZoneProperties(opts.config, file) : { properties: {}, key: 'rules.zones.properties' };
        const given: Partial<GeoJsonZoneProperties> = {
          ...(opts.nameProperty !== undefined ? { name: opts.nameProperty } : {}),
          ...(opts.codeProperty !== undefined ? { locationCode: opts.codeProperty } : {}),
          ...(opts.radiusProperty !== undefined ? { radiusM: opts.radiusProperty } : {}),
          ...(opts.siteProperty !== undefined ? { site: opts.siteProperty } : {}),
          ...(opts.priorityProperty !== undefined ? { priority: opts.priorityProperty } : {}),
        };
        const result = checkZonesFile(file, { ...fromConfig.properties, ...given }, fromConfig.key);
        // With a config its service has run with: where the file's zones are against where the assets were last.
        const stored = opts.config !== undefined && result.zones.length > 0 ? await fileAgainstStore(opts.config, result.zones, file) : undefined;
        if (opts.json) process.stdout.write(`${toJson(stored ? { ...result, storedPositions: stored } : result)}\n`);
        else {
          if (result.zones.length) process.stdout.write(`${table(zoneRows(result.zones))}${whereZonesLie(result.zones)}\n`);
          if (stored && stored.positions > 0) process.stdout.write(`${stored.located} of the ${stored.positions} asset position(s) stored by ${opts.config}'s service (each asset's last) are in or near these zones\n`);
          if (stored?.warning !== undefined) process.stderr.write(`warning: ${stored.warning}\n`);
          for (const p of result.problems) process.stderr.write(`problem: ${p}\n`);
          if (result.problems.some((p) => p.includes(' is missing or empty'))) {
            process.stderr.write(
              `the feature properties read are named by --name-property, --code-property, --radius-property, --site-property and --priority-property, or with -c <config> by its ${fromConfig.key}\n`,
            );
          }
          process.stdout.write(`${file}: ${result.zones.length} zone(s) OK, ${result.problems.length} problem(s)\n`);
        }
        if (result.problems.length) process.exitCode = 2;
      }),
    );
  addConfigOption(
    zones
      .command('list')
      .description('list the configured zones (inline and from files)')
      .option('--geojson', 'print them as one GeoJSON FeatureCollection (to see them on a map, or to move inline zones into a file)')
      .option('--out <file>', `write that GeoJSON to a file (${OUT_FILE_HELP})`)
      .option('--json', 'print JSON')
      .addHelpText('after', '\nExamples:\n  assetbridge zones list\n  assetbridge zones list --geojson --out all-zones.geojson'),
  ).action(
    action((opts: { config: string; geojson?: boolean; out?: string; json?: boolean }) => {
      checkOutputOptions(opts, { name: 'GeoJSON', option: '--geojson' });
      const { config } = resolveConfig(opts.config);
      const configured = rulesConfigOf(config).zones;
      const list = configured?.zones ?? [];
      if (opts.geojson || opts.out !== undefined) {
        // With the configured property names, so the file reads back into this config as it is.
        const clashes = geoJsonPropertyClashes(list, configured?.properties);
        if (clashes.length > 0) {
          const more = clashes.length > 3 ? ` (and ${clashes.length - 3} more zones)` : '';
          throw new UsageError(
            `cannot write the zones as GeoJSON that reads back the same: rules.zones.properties names one property for two fields: ${clashes.slice(0, 3).join('; ')}${more}. ` +
              'Give each field its own property in rules.zones.properties (a zones file that names them otherwise keeps its names in its own {path, properties} entry)',
          );
        }
        // An empty FeatureCollection is valid GeoJSON, but no zones file: `zones check` and the config refuse it.
        if (list.length === 0) process.stderr.write('note: no zones are configured (rules.zones), so the FeatureCollection is empty; a zones file needs at least one zone before the config can name it\n');
        const doc = zonesToGeoJson(list, configured?.properties);
        const text = `{"type":"FeatureCollection","features":[\n${doc.features.map((f) => JSON.stringify(f)).join(',\n')}\n]}\n`; // a feature per line
        if (opts.out === undefined) process.stdout.write(text);
        else {
          writeOut(opts.out, text, config.store.path);
          process.stdout.write(`wrote ${list.length} zone(s) to ${opts.out}\n`);
        }
        return Promise.resolve();
      }
      process.stdout.write(opts.json ? `${toJson(list)}\n` : list.length ? table(zoneRows(list)) : `${NO_ZONES_LISTED}\n`);
      return Promise.resolve();
    }),
  );
  addConfigOption(
    zones
      .command('locate <lat> [lng]')
      .description('which configured zone a position is in (latitude first, then longitude; "LAT, LNG" as a map copies it is taken too)')
      .option('--json', 'print JSON')
      .addHelpText('after', "\nExamples:\n  assetbridge zones locate 51.952 4.045 -c examples/rules/assetbridge.yaml\n  assetbridge zones locate '51.952, 4.045'"),
  ).action(
    action((latArg: string, lngArg: string | undefined, opts: { config: string; json?: boolean }) => {
      const [latText, lngText] = positionArgs(latArg, lngArg);
      const r = locate(rulesConfigOf(resolveConfig(opts.config).config), coordinate(latText, 'latitude'), coordinate(lngText, 'longitude'));
      if (opts.json) process.stdout.write(`${toJson(r)}\n`);
      else {
        process.stdout.write(r.zone ? `in zone ${r.zone.name} (location code ${r.zone.locationCode})\n` : 'in no zone\n');
        if (r.swapped) process.stdout.write(`read the other way round (latitude ${lngText}, longitude ${latText}) it is in zone ${r.swapped.name}: the arguments are LAT LNG, where GeoJSON and many map tools give longitude first\n`);
        if (r.inside.length > 1) process.stdout.write(`inside: ${r.inside.join(', ')}\n`);
        if (r.band.length) process.stdout.write(`within the hysteresis margin of: ${r.band.join(', ')}\n`);
      }
      return Promise.resolve();
    }),
  );
  addConfigOption(
    zones
      .command('occupancy')
      .description('which assets are in each zone now (entries and exits after dwell), from the stored rule state')
      .option('--zone <name>', 'list the assets in one zone')
      .option('--csv', 'print one row per asset in a zone (zone, location code, asset, state, since) as CSV')
      .option('--out <file>', `write that CSV to a file (${OUT_FILE_HELP})`)
      .option('--json', 'print JSON')
      .addHelpText('after', '\nExamples:\n  assetbridge zones occupancy\n  assetbridge zones occupancy --zone YARD-A --csv --out yard-a.csv'),
  ).action(
    action(async (opts: { config: string; zone?: string; csv?: boolean; out?: string; json?: boolean }) => {
      checkOutputOptions(opts, CSV_OUTPUT);
      await withContext(opts.config, async ({ config, store }) => {
        const rules = rulesConfigOf(config);
        const { zones: occupancy, unconfigured } = await loadOccupancy(store, rules);
        await warnOfLeftIngestLog(store, 'their positions are not in the stored zone state yet, so who is in which zone may be behind');
        // No asset in any zone, and the positions say why: the zones are latitude-first.
        const index = zoneTrackingOf(rules)?.index;
        const swapped = index && occupancy.every((o) => o.assets.length === 0) ? swappedZonesWarning(swappedPositions(index, await storedPositions(store)), 'a configured zone', SWAP_CONFIGURED) : undefined;
        if (swapped !== undefined) process.stderr.write(`warning: ${swapped}\n`);
        const known = (z: string) => occupancy.some((o) => o.zone === z) || unconfigured.some((o) => o.zone === z);
        if (opts.zone !== undefined && !known(opts.zone)) throw new NotFoundError(unknownZoneMessage(opts.zone, occupancy.map((x) => x.zone)));
        const shown = opts.zone === undefined ? occupancy : occupancy.filter((o) => o.zone === opts.zone);
        // Zones no longer configured: after the configured ones, with no location code (in JSON `configured: false`).
        const gone = opts.zone === undefined ? unconfigured : unconfigured.filter((o) => o.zone === opts.zone);
        if (opts.json) return void process.stdout.write(`${toJson([...shown, ...gone.map((o) => ({ ...o, locationCode: null, configured: false }))])}\n`);
        if (opts.csv || opts.out) {
          const csv = occupancyCsv(shown, gone);
          if (opts.out) {
            writeOut(opts.out, CSV_FILE_BOM + csv, config.store.path);
            // Every row written, those of zones no longer configured too.
            process.stdout.write(`wrote ${[...shown, ...gone].reduce((n, o) => n + o.assets.length, 0)} row(s) to ${opts.out}\n`);
          } else process.stdout.write(csv);
          return;
        }
        process.stdout.write(formatOccupancy(occupancy, opts.zone, unconfigured));
        process.stdout.write(await storedRuleStateAsOf(store));
      }, { readOnly: true });
    }),
  );
  return zones;
}
