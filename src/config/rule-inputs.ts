/**
 * Config that runs but cannot do what was meant, said as warnings:
 * - rules nothing configured feeds: a threshold on a sensor no MQTT decoder maps, a service
 *   interval on a meter none reads (only decidable when the MQTT decoders are the only inputs: the
 *   HTTP intake and telematics feeds can carry any sensor, and a config with no source at all is
 *   one for offline commands);
 * - a listed fiscal calendar that has ended or is about to;
 * - a time zone key in a legacy fixed-offset zone (EST, MST, HST): the fiscal calendar, the
 *   maintenance windows (common and per site), the inventory snapshot's cron, a telematics feed's
 *   schedule. Accepted, but it keeps no daylight saving time, so it is rarely the local time that
 *   was meant;
 * - an asset id read from a topic level the filter fixes, or does not have;
 * - a decoder that maps `zone` alone (a fixed reader's zone sightings) with no zones configured:
 *   every sighting would be quarantined;
 * - a decoder's sensor `unit` that does not convert to the unit of the threshold rules on that
 *   sensor: every message of that topic carrying it would be quarantined;
 * - `rules.idleAfter` below `rules.allowedLateness`, which runs as the lateness; and 0 (no idle
 *   watermarks) with zones configured, where a silent asset's zone dwell and a changed zone code wait
 *   for its next fix;
 * - `rules.idleAfter: 0` with inventory configured (and a lateness): a tag read once is decided
 *   only at its next read, so it may never count;
 * - `rules.inventory.freshness` no longer than `rules.idleAfter`: a tag read once has its sighting
 *   held until its asset is idle, by when it is already too old to count;
 * - settings that select assets by attributes and match none of the assets known (a site
 *   attribute none has, windows for a site no asset is at, an `appliesTo` filter that selects
 *   nothing: a typo, most likely);
 * - a service or calendar interval without `appliesTo` with inventory configured and inventory items
 *   among the assets known: it applies to the tagged items too, which send no meter (a service
 *   interval never comes due for them; a calendar interval opens a work order for each of them
 *   every N days);
 * - assets whose depreciation attributes are invalid (not a number, negative, salvage above cost,
 *   zero expected units, a useful life under one period): the service runs, the preview notes them.
 * `config check` prints these and the service logs them at start; neither refuses the config (a
 * decoder may be added later, or events come from a source not configured yet).
 * @module
 */
import { stripSharePrefix } from '../core/normalize/topic-match.js';
import { convertsTo } from '../core/normalize/sensor-units.js';
import { sensorUnitsOf } from '../core/rules/index.js';
import { formatDuration } from '../core/rules/maintenance/maintenance-rule.js';
import type { AssetRecord } from '../core/model/assets.js';
import { depreciationInputProblems, POSTED_INPUTS } from '../core/rules/depreciation/inputs.js';
import { matchesFilter, type AssetFilter, type CalendarIntervalRule, type ServiceIntervalRule, type ServiceMeter } from '../core/rules/maintenance/types.js';
import { isInventoryItem } from '../core/rules/inventory/inventory-rule.js';
import { MAX_DAYS_AHEAD, nextWindow } from '../core/rules/maintenance/windows.js';
import { windowsTimeZones, type DepreciationConfig, type RulesConfig } from './rules-schema.js';
import { resolveVendorProfile } from '../adapters/telematics/vendor-profiles.js';
import type { Config } from './schema.js';

export interface RuleInputWarning {
  /** The key of the rule's setting that names what is never sent. */
  readonly key: string;
  readonly message: string;
}

export function ruleInputWarnings(config: Config, now = Date.now()): RuleInputWarning[] {
  return [...fixedOffsetZoneWarnings(config), ...calendarEndWarnings(config, now), ...unfedRuleWarnings(config), ...topicSegmentWarnings(config), ...zoneSightingWarnings(config), ...sensorUnitWarnings(config), ...idleAfterWarnings(config), ...heartbeatWarnings(config), ...inventoryFreshnessWarnings(config), ...windowWarnings(config, now), ...reserveWarnings(config)];
}

/**
 * A telematics feed that keeps back as many of its provider's reserve requests per URL as there
 * are (`reserve.keep` at or above the reserve's size): `aemp pull --use-reserve` could never spend
 * one. Not with `policy: never`, which says that on purpose, nor for a provider with no reserve.
 */
function reserveWarnings(config: Config): RuleInputWarning[] {
  const out: RuleInputWarning[] = [];
  config.telematics.forEach((t, i) => {
    const size = resolveVendorProfile(t.vendor, t.profile).reserve.size;
    if (size === 0 || t.reserve.policy === 'never' || t.reserve.keep < size) return;
    out.push({
      key: `telematics.${i}.reserve.keep`,
      message: `${t.reserve.keep} keeps back every one of the provider's ${size} reserve requests per URL, so 'aemp pull --use-reserve' can never spend one; keep fewer than ${size} (the default keeps 5), or set telematics.${i}.reserve.policy: never to say the reserve is not to be used`,
    });
  });
  return out;
}

/**
 * Maintenance window calendars that plan nothing: a site listed with no slots (its work orders
 * get no planned dates, not the default windows), and a calendar whose closed days leave no
 * window in the lookahead (about 400 days from `now`).
 */
function windowWarnings(config: Config, now: number): RuleInputWarning[] {
  const windows = (config as unknown as { rules: RulesConfig }).rules.maintenance?.windows ?? {};
  const out: RuleInputWarning[] = [];
  for (const [site, calendar] of Object.entries(windows)) {
    const key = site === '*' ? 'rules.maintenance.windows.default' : `rules.maintenance.windows.sites.${site}`;
    const whose = site === '*' ? 'assets at sites without windows of their own' : `assets at site "${site}"`;
    if (calendar.windows.length === 0) {
      out.push({ key, message: `site "${site}" has no slots, so work orders of ${whose} get no planned dates (plannedStart: null), not the default windows; give it slots, or remove it to use rules.maintenance.windows.default` });
      continue;
    }
    if (nextWindow(calendar, now) === undefined)
      out.push({
        key: site === '*' ? 'rules.maintenance.windows.closed' : `rules.maintenance.windows.sites.${site}.closed`,
        message: `the closed days leave no window of ${key} in the next ${MAX_DAYS_AHEAD} days, so work orders of ${whose} get no planned dates (plannedStart: null); check rules.maintenance.windows.closed${site === '*' ? '' : ` and sites.${site}.closed`}`,
      });
  }
  return out;
}

/**
 * The tz database's legacy zones of a fixed offset (no daylight saving time), which `Intl`
 * accepts: with the IANA zone of the local time most likely meant, and one that keeps the offset.
 */
const FIXED_OFFSET_ZONES: Readonly<Record<string, { readonly offset: string; readonly local: string; readonly region?: string; readonly fixed?: string }>> = {
  EST: { offset: 'UTC-05:00', local: 'America/New_York', region: 'the US East', fixed: 'America/Panama' },
  MST: { offset: 'UTC-07:00', local: 'America/Denver', region: 'the US Mountain states', fixed: 'America/Phoenix' },
  HST: { offset: 'UTC-10:00', local: 'Pacific/Honolulu' },
};

/**
 * A time zone key naming a fixed-offset legacy zone, with what it does to the key's local times in
 * summer where daylight saving time is kept (`inSummer`, after "so in summer"): said, not refused.
 * The one wording for every time zone key.
 */
function fixedOffsetZoneWarning(key: string, zone: string | undefined, inSummer: string): RuleInputWarning[] {
  const z = zone === undefined ? undefined : FIXED_OFFSET_ZONES[zone.toUpperCase()];
  if (zone === undefined || !z) return [];
  const fixed = `"${zone}" is accepted but is a fixed offset, ${z.offset} all year with no daylight saving time`;
  const message =
    z.region === undefined
      ? `${fixed} (as Hawaii keeps none); name it by its IANA zone, ${z.local}`
      : `${fixed}, so in summer ${inSummer}; for the local time of ${z.region}, use ${z.local} (or ${z.fixed} to keep the fixed offset)`;
  return [{ key, message }];
}

/**
 * Every time zone key in a fixed-offset legacy zone: the fiscal calendar (period boundaries an hour
 * off local midnight), the maintenance windows, the inventory snapshot's cron, the telematics pulls.
 */
function fixedOffsetZoneWarnings(config: Config): RuleInputWarning[] {
  const r = (config as unknown as { rules: RulesConfig }).rules;
  const windows = r.maintenance ? windowsTimeZones(r.maintenance.windows) : [];
  return [
    ...fixedOffsetZoneWarning('rules.depreciation.timeZone', r.depreciation?.timeZone, 'periods start at 01:00 local time, not at midnight'),
    ...windows.flatMap((w) => fixedOffsetZoneWarning(`rules.maintenance.windows.${w.key}`, w.timeZone, 'the windows open and close an hour later by the local clock (a 06:00 slot at 07:00)')),
    ...fixedOffsetZoneWarning('rules.inventory.timeZone', r.inventory?.timeZone, 'the full snapshot runs an hour later by the local clock than fullSnapshotCron says'),
    ...config.telematics.flatMap((t, i) => fixedOffsetZoneWarning(`telematics.${i}.schedule.timeZone`, t.schedule.timeZone, 'the scheduled pulls run an hour later by the local clock than the cron says')),
  ];
}

/**
 * `idleAfter` below `allowedLateness` runs as the lateness (held events are not decided sooner):
 * said, not refused. And `idleAfter: 0` (no idle watermarks, as documented: "only its next event
 * decides them") with zones configured: what only a watermark decides for a silent asset waits for
 * its next fix (an entry or exit whose dwell is running; after a restart, a zone's changed
 * `locationCode`), which a tracker that goes quiet when parked may never send: said, not refused
 * (0 is right where every tracker reports while parked). Likewise with inventory and a lateness:
 * a tag's sighting is held for reads after it, so a tag read once is decided only at its next
 * read, which may never come, and is not counted.
 */
function idleAfterWarnings(config: Config): RuleInputWarning[] {
  const r = (config as unknown as { rules: RulesConfig }).rules;
  if (r.idleAfter <= 0) {
    const out: RuleInputWarning[] = [];
    if ((r.zones?.zones.length ?? 0) > 0)
      out.push({
        key: 'rules.idleAfter',
        message:
          "0 sends no idle watermarks: with rules.zones, an asset that falls silent (a tracker that stops reporting when parked) has a zone entry or exit whose dwell is running, and after a restart a zone's changed locationCode or ranking, decided only at its next fix; set idleAfter (the default is 2m) to have them decided after that much silence, or keep 0 if every tracker reports while parked",
      });
    // A sighting waits the lateness for reads after it; without watermarks only the tag's next read ends the wait.
    if (r.inventory && r.allowedLateness > 0) {
      const lateness = formatDuration(r.allowedLateness);
      out.push({
        key: 'rules.idleAfter',
        message:
          `0 sends no idle watermarks: with rules.inventory, a tag's sighting waits rules.allowedLateness (${lateness}) for reads after it and is decided only at the tag's next read, so a tag read once (a pallet scanned at the gate) may never be counted; ` +
          `set idleAfter (the default is 2m, and keep it below rules.inventory.freshness) to have it decided after that much silence, or keep 0 only if every tag is read again and again`,
      });
    }
    return out;
  }
  if (r.idleAfter >= r.allowedLateness) return [];
  const lateness = formatDuration(r.allowedLateness);
  return [
    {
      key: 'rules.idleAfter',
      message: `${formatDuration(r.idleAfter)} is below rules.allowedLateness (${lateness}): a silent asset has what its rules hold decided after ${lateness}; set idleAfter to at least the lateness, or lower the lateness`,
    },
  ];
}

/**
 * A location heartbeat of 0: not "no heartbeat" (as idleAfter 0 is no watermarks) but every fix a
 * heartbeat, so each fix of each asset goes to the ERP as a location.update, whatever minDistanceM.
 * Said, not refused: sending every fix can be meant.
 */
function heartbeatWarnings(config: Config): RuleInputWarning[] {
  const l = (config as unknown as { rules: RulesConfig }).rules.location;
  if (!l.enabled || l.heartbeatMs > 0) return [];
  return [
    {
      key: 'rules.location.heartbeatMs',
      message:
        '0 does not turn the heartbeat off: every fix is then due one, so each fix of each asset is sent as a location.update whatever minDistanceM (a tracker reporting every 10 s: 8,640 a day at the ERP); give the longest an asset that reports may go without its position sent (the default is 1h; e.g. 24h to send little but moves), or keep 0 only if every fix is meant to reach the ERP',
    },
  ];
}

/**
 * An inventory `freshness` no longer than `idleAfter`: a tag read once (a pallet scanned at the
 * gate) has its sighting held until its asset has been silent for idleAfter (the last event of an
 * asset is decided only by an idle watermark or a later event), so it is at least that old when
 * decided and never counts; only items read again and again do. Said, not refused as a freshness
 * within the lateness is: with readers that see every item all the time, the counts are right.
 * With idleAfter 0 nothing is held for idleness (only the next read decides the last one).
 */
function inventoryFreshnessWarnings(config: Config): RuleInputWarning[] {
  const r = (config as unknown as { rules: RulesConfig }).rules;
  if (!r.inventory || r.idleAfter <= 0 || r.inventory.freshness > r.idleAfter) return [];
  const idle = formatDuration(r.idleAfter);
  return [
    {
      key: 'rules.inventory.freshness',
      message:
        `${formatDuration(r.inventory.freshness)} is not longer than rules.idleAfter (${idle}): a tag read once has its sighting held until its asset has been silent for ${idle}, ` +
        `by when it is older than the freshness, so it is never counted (only items read again and again are); set freshness well above idleAfter (the longest an item may go unseen and still count, e.g. 24h), or lower rules.idleAfter`,
    },
  ];
}

/**
 * An asset id taken from a topic level that the filter fixes (`fleet/+/telemetry` with
 * `topicSegment: 0` is "fleet" for every message) or that it does not have: almost surely the
 * wrong number. Said, not refused (a filter per device is a fixed level on purpose).
 */
function topicSegmentWarnings(config: Config): RuleInputWarning[] {
  const out: RuleInputWarning[] = [];
  config.sources.mqtt.forEach((s, i) =>
    s.topics.forEach((t, j) => {
      const id = t.decoder.assetId;
      if (!('topicSegment' in id)) return;
      const levels = stripSharePrefix(t.filter).split('/');
      const level = levels[id.topicSegment];
      const key = `sources.mqtt.${i}.topics.${j}.decoder.assetId.topicSegment`;
      const wild = levels.map((l, n) => (l === '+' ? n : -1)).filter((n) => n >= 0);
      const hint = wild.length ? `; the + level is ${wild.join(' or ')}` : '';
      if (level === undefined && !levels.includes('#')) out.push({ key, message: `"${t.filter}" has ${levels.length} level(s) (counted from 0), so level ${id.topicSegment} never holds an asset id${hint}` });
      else if (level !== undefined && level !== '+' && level !== '#') out.push({ key, message: `level ${id.topicSegment} of "${t.filter}" is the fixed word "${level}": every message would be asset "${level}"${hint}` });
    }),
  );
  return out;
}

/**
 * A decoder that maps `zone` and no `lat`/`lng` reads zone sightings (a fixed RFID/BLE reader),
 * whose zone must be a configured one: with no zones configured, every message on its filter would
 * be quarantined. Said, not refused (the zones may be added with the readers).
 */
function zoneSightingWarnings(config: Config): RuleInputWarning[] {
  const zones = (config as unknown as { rules: RulesConfig }).rules.zones?.zones ?? [];
  if (zones.length > 0) return [];
  const out: RuleInputWarning[] = [];
  config.sources.mqtt.forEach((s, i) =>
    s.topics.forEach((t, j) => {
      const d = t.decoder;
      if (d.zone === undefined || d.lat !== undefined || d.lng !== undefined) return;
      out.push({
        key: `sources.mqtt.${i}.topics.${j}.decoder.zone`,
        message: `maps zone alone, so each message on "${t.filter}" is a zone sighting of a fixed reader, but no zones are configured: every one would be quarantined; add the readers' zones to rules.zones (inline or files), or map lat and lng too if these are GPS fixes`,
      });
    }),
  );
  return out;
}

const DAY_MS = 86_400_000;
/** How long before a listed fiscal calendar ends that `config check` and the service start say so. */
export const CALENDAR_END_WARNING_DAYS = 45;

/**
 * A listed fiscal calendar (`depreciation.periods` as a list) that has ended or soon will: usage
 * after its last period falls in no period, so nothing is posted for it until the next year's
 * periods are listed. (Monthly calendars never end.)
 */
function calendarEndWarnings(config: Config, now: number): RuleInputWarning[] {
  const d = (config as unknown as { rules: RulesConfig }).rules.depreciation;
  if (!d || !Array.isArray(d.periods) || d.periodsEnd === undefined) return [];
  const end = Date.parse(`${d.periodsEnd}T00:00:00Z`);
  const days = Math.ceil((end - now) / DAY_MS);
  if (Number.isNaN(end) || days > CALENDAR_END_WARNING_DAYS) return [];
  const what = 'usage after it falls in no period and is not posted until the next periods are listed in rules.depreciation.periods (and periodsEnd moved)';
  return [{ key: 'rules.depreciation.periodsEnd', message: days <= 0 ? `the fiscal calendar ended on ${d.periodsEnd}: ${what}` : `the fiscal calendar ends on ${d.periodsEnd}, in ${days} day(s): ${what}` }];
}

/**
 * An MQTT decoder labels a sensor with a unit that does not convert to a unit its threshold rules
 * are in (`V` for a rule in °C): each of its messages with that sensor would be quarantined, those
 * of an asset the rules apply to when each of them has an `appliesTo` (the ingestor judges the unit
 * against the rules of the message's asset). Rules in different units for different assets: one
 * warning per unit it does not convert to.
 */
function sensorUnitWarnings(config: Config): RuleInputWarning[] {
  const units = sensorUnitsOf((config as unknown as { rules: RulesConfig }).rules);
  if (units === undefined) return [];
  const out: RuleInputWarning[] = [];
  config.sources.mqtt.forEach((source, s) =>
    source.topics.forEach((topic, t) => {
      for (const [name, sensor] of Object.entries(topic.decoder.sensors)) {
        if (sensor.unit === undefined) continue;
        // Each unit the rules on this sensor give (for different assets, by their appliesTo).
        for (const expected of units.get(name) ?? []) {
          if (convertsTo(sensor.unit, expected.unit)) continue;
          // A rule without appliesTo applies to every asset: then every such message.
          const filtered = expected.rules.every((r) => r.appliesTo !== undefined);
          out.push({
            key: `sources.mqtt.${s}.topics.${t}.decoder.sensors.${name}.unit`,
            message: `"${sensor.unit}" does not convert to ${JSON.stringify(expected.unit)}, the unit threshold rule(s) ${expected.rules.map((r) => r.name).join(', ')} compare ${name} in, so every message of this topic with ${name}${filtered ? ' from an asset those rules apply to (their appliesTo)' : ''} would be quarantined; give the unit the device sends (°C, °F and K convert to each other, as do kPa, bar, psi, Pa and mbar), or correct the rule's unit`,
          });
        }
      }
    }),
  );
  return out;
}

function unfedRuleWarnings(config: Config): RuleInputWarning[] {
  if (config.sources.mqtt.length === 0 || config.sources.http !== undefined || config.telematics.length > 0) return [];
  const decoders = config.sources.mqtt.flatMap((s) => s.topics.map((t) => t.decoder));
  const sensors = new Set(decoders.flatMap((d) => Object.keys(d.sensors)));
  const meters = new Set(decoders.flatMap((d) => Object.entries(d.meters).flatMap(([k, v]) => (v !== undefined ? [k] : []))));
  const m = (config as unknown as { rules: RulesConfig }).rules.maintenance;
  const out: RuleInputWarning[] = [];
  const listed = (names: Set<string>) => (names.size ? [...names].sort().join(', ') : 'none');
  m?.thresholds.forEach((t, i) => {
    if (!sensors.has(t.sensor))
      out.push({ key: `rules.maintenance.thresholds.${i}.sensor`, message: `no MQTT decoder maps a sensor "${t.sensor}" (their sensors: ${listed(sensors)}), so rule ${t.name} can never fire; map it in sources.mqtt[].topics[].decoder.sensors or fix the name` });
  });
  const meterOf = { hours: 'operatingHours', km: 'odometerKm' } as const;
  m?.serviceIntervals.forEach((r, i) => {
    const field = meterOf[r.meter];
    if (!meters.has(field))
      out.push({ key: `rules.maintenance.serviceIntervals.${i}.${r.meter === 'km' ? 'everyKm' : 'everyHours'}`, message: `no MQTT decoder reads meters.${field}, so service interval ${r.name} can never come due; add it to sources.mqtt[].topics[].decoder.meters` });
  });
  return out;
}

/**
 * Settings that select assets and select none of `assets` (the registry, or the assets the config
 * lists): said, not refused, and only when there are assets to judge by.
 */
export function assetMatchWarnings(rules: RulesConfig, assets: readonly AssetRecord[], where: string): RuleInputWarning[] {
  if (assets.length === 0) return [];
  const out: RuleInputWarning[] = [];
  const of = `none of the ${assets.length} asset(s) ${where}`;
  const m = rules.maintenance;
  if (m) {
    const sites = Object.keys(m.windows).filter((site) => site !== '*');
    if (Object.keys(m.windows).length > 0 && !assets.some((a) => a.attributes[m.siteAttribute] !== undefined)) {
      out.push({ key: 'rules.maintenance.siteAttribute', message: `${of} has an attribute "${m.siteAttribute}", so work orders are planned into the default windows only (or none); name the attribute that holds each asset's site` });
    } else {
      const present = new Set(assets.map((a) => a.attributes[m.siteAttribute]).filter((v): v is string => v !== undefined));
      for (const site of sites) {
        if (present.has(site)) continue;
        const known = [...present].slice(0, 5).join(', ');
        out.push({ key: `rules.maintenance.windows.sites.${site}`, message: `${of} is at site "${site}" (attribute ${m.siteAttribute}${known ? `; sites: ${known}${present.size > 5 ? ', …' : ''}` : ''}), so these windows plan nothing; check the name` });
      }
      // Windows for some sites and no default: the assets at the others get no planned dates.
      if (sites.length > 0 && m.windows['*'] === undefined) {
        const unplanned = assets.filter((a) => {
          const site = a.attributes[m.siteAttribute];
          return site === undefined || m.windows[site] === undefined;
        });
        if (unplanned.length > 0) {
          const without = [...new Set(unplanned.map((a) => a.attributes[m.siteAttribute] ?? `(no ${m.siteAttribute} attribute)`))];
          out.push({
            key: 'rules.maintenance.windows.default',
            message: `${unplanned.length} of the ${assets.length} asset(s) ${where} are at sites with no maintenance windows (${without.slice(0, 5).join(', ')}${without.length > 5 ? ', …' : ''}) and there is no default, so their work orders get no planned dates (plannedStart: null); add rules.maintenance.windows.default, or slots under rules.maintenance.windows.sites.<site>`,
          });
        }
      }
    }
    const lists: [string, readonly { readonly name: string; readonly appliesTo?: AssetFilter | undefined }[]][] = [
      ['thresholds', m.thresholds],
      ['serviceIntervals', m.serviceIntervals],
      ['calendarIntervals', m.calendarIntervals ?? []],
      ['alerts', m.alerts ?? []],
    ];
    for (const [list, rulesOfList] of lists) rulesOfList.forEach((r, i) => filterWarning(out, `rules.maintenance.${list}.${i}.appliesTo`, `rule ${r.name}`, r.appliesTo, assets, of));
    if (rules.inventory) out.push(...inventoryIntervalWarnings({ service: m.serviceIntervals, calendar: m.calendarIntervals ?? [] }, rules.inventory.skuAttribute, assets, where));
  }
  if (rules.location.enabled) filterWarning(out, 'rules.location.appliesTo', 'location sync', rules.location.appliesTo, assets, of);
  // Off, it sends no asset's readings whatever it picks.
  if (rules.meters.enabled) filterWarning(out, 'rules.meters.appliesTo', 'meter sync', rules.meters.appliesTo, assets, of);
  filterWarning(out, 'rules.depreciation.appliesTo', 'depreciation', rules.depreciation?.appliesTo, assets, of);
  const bare = rules.depreciation ? depreciatedWithoutAttributes(rules.depreciation, assets) : [];
  if (bare.length > 0 && rules.depreciation) {
    const names = [...new Set(Object.values(rules.depreciation.attributes))].join(', ');
    const ids = bare.slice(0, 5).map((a) => `${a.erpAssetId} (${a.erpModule})`).join(', ');
    out.push({
      key: 'rules.depreciation.appliesTo',
      message:
        `depreciation applies to ${bare.length} of the ${assets.length} asset(s) ${where} that have none of its attributes (${names}): ${ids}${bare.length > 5 ? ', …' : ''}; ` +
        `'depreciation preview' lists them with "attribute … missing" and their usage is posted all the same. Limit depreciation to the assets it is for with rules.depreciation.appliesTo (erpModules or attributes)`,
    });
  }
  return out;
}

/**
 * Intervals without an `appliesTo`, which apply to every asset, the inventory items too (the
 * assets with the inventory's SKU attribute: tagged pallets and items, which send sightings and
 * no meter), said per interval under its `appliesTo` key, naming the items, with a filter that
 * leaves them out when the assets' `erpModule` tells them apart:
 * - a service interval can never come due for them, and `maintenance status` lists each of them
 *   with "no readings";
 * - a calendar interval counts days whether an asset reports or not, so it opens a real work order
 *   for each of them every `everyDays` (counted from their service date, or without one from the
 *   first check); a whichever-first one's meter side never counts for them, its date side does.
 * Not for an interval with an appliesTo, which selects what it was given to (one that selects
 * nothing is said by {@link filterWarning}; one that selects the items too means them: tagged
 * cylinders or cages due for inspection). Thresholds and alerts are not said: they look at sensor
 * values and fault reports, which sightings do not carry (a tag that reports a sensor too, a BLE
 * tag's temperature, is judged by the thresholds on it, as is likely meant).
 */
function inventoryIntervalWarnings(intervals: { readonly service: readonly ServiceIntervalRule[]; readonly calendar: readonly CalendarIntervalRule[] }, skuAttribute: string, assets: readonly AssetRecord[], where: string): RuleInputWarning[] {
  const items = assets.filter((a) => isInventoryItem(a, skuAttribute));
  if (items.length === 0) return [];
  const itemModules = new Set(items.map((a) => a.erpModule));
  const others = [...new Set(assets.filter((a) => !isInventoryItem(a, skuAttribute)).map((a) => a.erpModule))].sort();
  const filter = others.length > 0 && others.every((m) => !itemModules.has(m)) ? `, e.g. appliesTo: { erpModules: [${others.join(', ')}] }` : ' (erpModules or attributes the inventory items do not have)';
  const ids = `${items.slice(0, 5).map((a) => a.erpAssetId).join(', ')}${items.length > 5 ? ', …' : ''}`;
  const appliesToItems = (what: string) => `${what} has no appliesTo, so it applies to every asset, ${items.length} of the ${assets.length} asset(s) ${where} being inventory items (attribute ${skuAttribute}, counted by rules.inventory): ${ids}; `;
  const meterOf = (meter: ServiceMeter) => (meter === 'km' ? 'an odometer' : 'operating hours');
  const out: RuleInputWarning[] = [];
  intervals.service.forEach((r, i) => {
    if (r.appliesTo !== undefined) return;
    out.push({
      key: `rules.maintenance.serviceIntervals.${i}.appliesTo`,
      message: `${appliesToItems(`service interval ${r.name}`)}tagged items send sightings, not ${meterOf(r.meter)}, so it never comes due for them and 'maintenance status' lists each with "no readings". Limit it to the machines it is for with appliesTo${filter}`,
    });
  });
  intervals.calendar.forEach((r, i) => {
    if (r.appliesTo !== undefined) return;
    // The date side counts whether the asset reports or not; the meter side of a whichever-first rule never comes due for them.
    const meter = r.orMeter ? `; its ${r.orMeter.meter === 'km' ? 'km' : 'hours'} side never comes due for them (tagged items send sightings, not ${meterOf(r.orMeter.meter)}), its date side does` : '';
    out.push({
      key: `rules.maintenance.calendarIntervals.${i}.appliesTo`,
      message:
        `${appliesToItems(`calendar interval ${r.name}`)}it counts days whether an asset reports or not, so it will open a work order for each of them every ${r.everyDays} days, ` +
        `counted from their ${r.baselineAttribute} or, without one, from the day the service first checks them${meter}. ` +
        `Limit it to the machines it is for with appliesTo${filter}; if the items are to be inspected too (tagged cylinders or cages), an appliesTo that selects them says so`,
    });
  });
  return out;
}

/** The assets depreciation applies to (its `appliesTo`, or every asset) that have none of its attributes: inventory, vehicles not on the asset register. */
function depreciatedWithoutAttributes(d: DepreciationConfig, assets: readonly AssetRecord[]): AssetRecord[] {
  const names = Object.values(d.attributes);
  return assets.filter((a) => matchesFilter(a, d.appliesTo) && !names.some((n) => a.attributes[n] !== undefined));
}

function filterWarning(out: RuleInputWarning[], key: string, what: string, filter: AssetFilter | undefined, assets: readonly AssetRecord[], of: string): void {
  if (!filter || assets.some((a) => matchesFilter(a, filter))) return;
  out.push({ key, message: `${of} matches it, so ${what} applies to no asset; ${filterMiss(filter, assets)}` });
}

/** At most five of `values`, sorted, with how many more there are. */
const someOf = (values: Iterable<string>): string => {
  const all = [...new Set(values)].sort();
  return `${all.slice(0, 5).join(', ')}${all.length > 5 ? `, … (${all.length} in all)` : ''}`;
};

/**
 * Which condition of a filter that selects none of `assets` is at fault, with the values the
 * assets have: its `erpModules`, an attribute no asset has (a name mistyped: `group` for
 * `fleetGroup`) or has with none of the values given (`EU` for `eu`), or, when each alone
 * selects some asset, their combination.
 */
function filterMiss(filter: AssetFilter, assets: readonly AssetRecord[]): string {
  const misses: string[] = [];
  if (filter.erpModules && !assets.some((a) => filter.erpModules?.includes(a.erpModule))) misses.push(`check the values (erpModules known: ${someOf(assets.map((a) => a.erpModule))})`);
  for (const [name, values] of Object.entries(filter.attributes ?? {})) {
    const held = assets.flatMap((a) => { const v = Object.hasOwn(a.attributes, name) ? a.attributes[name] : undefined; return v !== undefined ? [v] : []; });
    if (held.length === 0) misses.push(`no asset has attribute "${name}" (attributes the assets have: ${someOf(assets.flatMap((a) => Object.keys(a.attributes)))})`);
    else if (!held.some((v) => values.includes(v))) misses.push(`no asset has attribute ${name} ${values.map((v) => JSON.stringify(v)).join(' or ')} (values it has: ${someOf(held)}; values compare exactly, case included)`);
  }
  return misses.length > 0 ? misses.join('; ') : 'each of its conditions selects some asset, but none selects the same one: check the combination';
}

/** An asset as a source lists it: under which key, and where in it each attribute was given. */
export interface ListedAsset {
  readonly asset: AssetRecord;
  /** The key of the attribute in the config (`assets.inline.0.attributes.cost`) or of the file (`assets.files.0`). */
  readonly key: (attribute: string) => string;
  /** Where the attribute's value was read (`fleet.csv line 3`); undefined when the key says it. */
  readonly where?: (attribute: string) => string | undefined;
}

/**
 * Depreciation attributes of `assets` (those the depreciation rule applies to) that are not
 * valid inputs, one warning per attribute, naming the asset, the attribute, its value and what to
 * write instead. None without `rules.depreciation`.
 */
export function depreciationInputWarnings(rules: RulesConfig, assets: readonly ListedAsset[]): RuleInputWarning[] {
  const d = rules.depreciation;
  if (!d) return [];
  return assets.flatMap(({ asset, key, where }) => {
    if (!matchesFilter(asset, d.appliesTo)) return [];
    return depreciationInputProblems(asset.attributes, d.attributes).map((p) => {
      const at = where?.(p.attribute);
      return { key: key(p.attribute), message: `${at !== undefined ? `${at}: ` : ''}asset ${asset.erpAssetId}: ${p.message}` };
    });
  });
}

/**
 * One warning for the service's start: the assets in the registry (the store) whose depreciation
 * inputs are invalid, counted, the first few named with what is wrong; undefined when none (or no
 * `rules.depreciation`). Their postings are held back (or, with `holdBack: false`, sent as they are).
 */
export function storedDepreciationInputWarning(rules: RulesConfig, assets: readonly AssetRecord[], shown = 5): RuleInputWarning | undefined {
  const d = rules.depreciation;
  if (!d) return undefined;
  const bad = assets.flatMap((asset) => {
    if (!matchesFilter(asset, d.appliesTo)) return [];
    const problems = depreciationInputProblems(asset.attributes, d.attributes);
    // An input a posting carries (total expected units, units at acquisition) holds its postings back.
    const held = d.holdBack && problems.some((p) => POSTED_INPUTS.includes(p.input));
    return problems.length ? [`${asset.erpAssetId}: ${problems.map((p) => p.message).join('; ')}${held ? ' (its usage postings are held back)' : ''}`] : [];
  });
  if (!bad.length) return undefined;
  const more = bad.length > shown ? `; and ${bad.length - shown} more` : '';
  const sent = d.holdBack ? '' : '; rules.depreciation.holdBack is false, so usage postings carrying them are sent as they are';
  return {
    key: 'rules.depreciation.attributes',
    message: `${bad.length} asset(s) in the registry have invalid depreciation inputs: ${bad.slice(0, shown).join('; ')}${more}${sent}; fix the attributes (assets import, or the config's assets); 'assetbridge depreciation preview' lists every one`,
  };
}
