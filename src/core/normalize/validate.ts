/**
 * Validation of canonical events (after decoding, before identity). Anything out of range, not
 * finite, of the wrong type, far in the future or before 2000 is rejected with a reason that says
 * what was wrong; the engine sends it to quarantine. Never throws.
 * @module
 */
import { ENGINE_SOURCE, IDENTIFIER_TYPES, type CanonicalEvent } from '../model/events.js';
import { ZONELESS_ISO } from './iso-time.js';
import { parseWorkOrderKey } from '../rules/maintenance/work-order.js';
import { editDistance } from '../edit-distance.js';
import { mayRefuseSensorUnits, type SensorUnits } from './sensor-units.js';
import { isReservedName, reservedNameProblem } from '../rules/rule.js';

export interface ValidationPolicy {
  /** How far in the future an event time may be (clock skew), ms. @default 5 minutes */
  readonly maxFutureSkewMs: number;
  /** Events older than this relative to now are stale, ms; 0 disables. @default 0 */
  readonly maxAgeMs: number;
  /**
   * Names of the configured zones (`rules.zones`): a zone sighting (a position with a zone and no
   * coordinates) must name one. Absent: no zones are configured, and every zone sighting is refused.
   */
  readonly zoneNames?: ReadonlySet<string>;
  /**
   * The unit each sensor's threshold rules compare in (`unit` on a threshold rule), and the assets
   * each rule applies to. Not judged here (the asset is not known yet): the ingestor converts a
   * reading, or refuses one that does not convert, once identity has named its asset (see
   * normalize/sensor-units). Absent: none given.
   */
  readonly sensorUnits?: SensorUnits;
}

export const DEFAULT_VALIDATION: ValidationPolicy = { maxFutureSkewMs: 5 * 60_000, maxAgeMs: 0 };

/** 2000-01-01T00:00:00Z: earlier timestamps are placeholders or unset device clocks. */
export const EARLIEST_EVENT_TIME = Date.UTC(2000, 0, 1);

export type Validation = { readonly ok: true } | { readonly ok: false; readonly code: 'invalid' | 'stale'; readonly reason: string };

const fail = (reason: string): Validation => ({ ok: false, code: 'invalid', reason });
/** Shared: a valid event allocates nothing. */
const VALID: Validation = Object.freeze({ ok: true });
const isNum = (v: unknown): v is number => typeof v === 'number';
const BLANK = /^\s*$/;
/** A C0 control character or DEL: no location code holds one (inventory keys its cells with the unit separator). */
// eslint-disable-next-line no-control-regex -- the control characters are what this class finds
const CONTROL = /[\u0000-\u001f\u007f]/;
const METER_FIELDS = ['operatingHours', 'idleHours', 'odometerKm', 'fuelUsedL'] as const;

/** A finite number within [min, max]: what {@link checkNumber} accepts of a value that is required. */
const inRange = (v: unknown, min: number, max: number): boolean => isNum(v) && Number.isFinite(v) && v >= min && v <= max;

function checkNumber(name: string, v: unknown, min: number, max: number, optional: boolean): string | undefined {
  if (v === undefined && optional) return undefined;
  if (!isNum(v)) return `${name} must be a number, got ${describe(v)}`;
  if (!Number.isFinite(v)) return `${name} must be finite, got ${String(v)}`;
  if (v < min || v > max) return `${name} ${v} is out of range [${min}, ${max}]`;
  return undefined;
}

/** Largest magnitude a Date holds (ms); beyond it toISOString throws. */
const MAX_DATE_MS = 8.64e15;

/** An epoch-ms time for a reason: ISO when a Date can hold it, else the number. */
function timeText(t: number): string {
  return Math.abs(t) <= MAX_DATE_MS ? new Date(t).toISOString() : `${t} ms`;
}

/**
 * A time out of range whose number, read in the unit next to epoch milliseconds (`as`), is a time
 * this event could have (from 2000 to now): the sender counts in that unit, which the reason says,
 * with what to send instead (`fix`). '' when it is no such time.
 */
function epochUnitHint(t: number, now: number, policy: ValidationPolicy, as: string, fix: string): string {
  if (!(t >= EARLIEST_EVENT_TIME && t <= now + policy.maxFutureSkewMs)) return '';
  return `; read as ${as} it is ${new Date(Math.round(t)).toISOString()}: ${fix}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v;
}

/** A value as JSON for a reason, cut short. */
function shortJson(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * Whether ingest may set `event` aside, judged before its asset is known: it fails validation, or
 * a sensor value's unit does not convert to that of a threshold rule on it (for some asset). For a
 * source that groups an element's events by this so a bad one does not take the good ones into
 * quarantine; the ingestor still decides (a rule that does not apply to the asset refuses nothing).
 */
export function mayBeSetAside(event: CanonicalEvent, now: number, policy: ValidationPolicy = DEFAULT_VALIDATION): boolean {
  return !validateEvent(event, now, policy).ok || mayRefuseSensorUnits(event, policy.sensorUnits);
}

export function validateEvent(event: CanonicalEvent, now: number, policy: ValidationPolicy = DEFAULT_VALIDATION): Validation {
  const e = event as unknown as Record<string, unknown>;
  if (!Array.isArray(e.ids) || e.ids.length === 0) return fail('no asset identifier');
  const ids = e.ids as unknown[];
  // Index loops in this function: it runs for every event, and iterators allocate.
  for (let k = 0; k < ids.length; k++) {
    const rec = ids[k] as Record<string, unknown> | null;
    if (!rec || typeof rec.value !== 'string' || BLANK.test(rec.value)) return fail(`asset identifier must be a non-empty string, got ${describe(rec?.value)}`);
    if (!IDENTIFIER_TYPES.includes(rec.type as never)) return fail(`unknown identifier type ${describe(rec.type)}; use one of ${IDENTIFIER_TYPES.join(', ')}`);
  }
  if (e.eventTime === undefined) return fail('event has no eventTime: give an ISO 8601 time with a zone, e.g. 2026-10-01T08:00:00Z, or epoch milliseconds');
  if (!isNum(e.eventTime) || !Number.isFinite(e.eventTime))
    return fail(
      `event time must be a valid timestamp, got ${describe(e.eventTime)}${typeof e.eventTime === 'string' && ZONELESS_ISO.test(e.eventTime.trim()) ? '; it has no time zone: add Z or an offset such as +02:00' : `; give an ISO 8601 time with a zone, e.g. 2026-10-01T08:00:00Z, or epoch milliseconds`}`,
    );
  if (e.eventTime < EARLIEST_EVENT_TIME) return fail(`event time ${timeText(e.eventTime)} is before 2000-01-01${epochUnitHint(e.eventTime * 1000, now, policy, 'seconds since 1970', 'eventTime is read as epoch milliseconds: send them (seconds × 1000) or ISO 8601 text')}`);
  if (e.eventTime > now + policy.maxFutureSkewMs)
    return fail(
      `event time ${timeText(e.eventTime)} is more than ${Math.round(policy.maxFutureSkewMs / 1000)} s in the future (ingest.maxFutureSkewMs)${epochUnitHint(e.eventTime / 1000, now, policy, 'microseconds since 1970', 'eventTime is read as epoch milliseconds: send them (microseconds ÷ 1000) or ISO 8601 text') || "; check the sender's clock, or raise the limit if such a skew is expected"}`,
    );
  if (policy.maxAgeMs > 0 && e.eventTime < now - policy.maxAgeMs)
    return { ok: false, code: 'stale', reason: `event time ${new Date(e.eventTime).toISOString()} is older than the ${Math.round(policy.maxAgeMs / 1000)} s freshness limit (ingest.maxAgeMs); if such events are wanted, raise it, restart, then replay` };

  let problem: string | undefined;
  switch (event.kind) {
    case 'position':
      problem =
        (e.zone !== undefined && typeof e.zone !== 'string'
          ? `zone must be a string, got ${describe(e.zone)}`
          : typeof e.zone === 'string' && BLANK.test(e.zone)
            ? 'zone must not be blank; leave zone out when the asset is in no zone'
            : typeof e.zone === 'string' && CONTROL.test(e.zone)
              ? `zone must not contain a control character, got ${JSON.stringify(e.zone.length > 60 ? `${e.zone.slice(0, 60)}…` : e.zone)}; send the location code as printable text`
              : undefined) ?? coordinatesProblem(e, policy);
      if (!problem && e.lat === 0 && e.lng === 0) problem = 'position 0,0 (null island) is a missing fix, not a location';
      break;
    case 'meter': {
      let any = false;
      // Lifetime fuel of a large mining truck passes ten million litres; hours and km do not.
      for (let k = 0; k < METER_FIELDS.length; k++) {
        const f = METER_FIELDS[k] as (typeof METER_FIELDS)[number];
        if (e[f] !== undefined) any = true;
        problem ??= checkNumber(f, e[f], 0, f === 'fuelUsedL' ? 1e10 : 10_000_000, true);
      }
      if (!any) problem = `meter reading has none of ${METER_FIELDS.join(', ')}${aliasHint(e, ['operatingHours', 'odometerKm'])}`;
      // Every rule must read it alike: a string "false" would count as a reset for some.
      else if (e.declaredReset !== undefined && typeof e.declaredReset !== 'boolean') problem ??= `declaredReset must be true or false, got ${describe(e.declaredReset)}`;
      else if (e.odometerReset !== undefined && typeof e.odometerReset !== 'boolean') problem ??= `odometerReset must be true or false, got ${describe(e.odometerReset)}`;
      else if (e.declaredReset === true && e.operatingHours === undefined) problem ??= 'declaredReset declares a new hour meter: send its first reading as operatingHours (odometerReset for an odometer)';
      else if (e.odometerReset === true && e.odometerKm === undefined) problem ??= 'odometerReset declares a new odometer: send its first reading as odometerKm';
      break;
    }
    case 'sensor': {
      const values = e.values as Record<string, unknown> | null | undefined;
      let count = 0;
      if (values !== null && typeof values === 'object')
        for (const name in values) {
          if (!Object.hasOwn(values, name)) continue;
          count++;
          // A sample keyed by it would lose it (and its rules would see a prototype's keys).
          if (isReservedName(name)) problem ??= `${reservedNameProblem(name, 'sensor')} (at the source, or in the topic's decoder mapping)`;
          const entry = values[name] as Record<string, unknown> | null;
          // A bare 97 is a number: name the shape wanted rather than "must be a number, got undefined".
          if (entry === null || typeof entry !== 'object' || entry.value === undefined) problem ??= `sensor ${name} must be {"value": <number>, "unit": <text, optional>}, got ${shortJson(entry)}`;
          // The label is built only for a value that fails (not for every value of every sample).
          else if (problem === undefined && !inRange(entry.value, -1e9, 1e9)) problem = checkNumber(`sensor ${name}`, entry.value, -1e9, 1e9, false);
        }
      if (count === 0) problem = 'sensor reading has no values';
      break;
    }
    case 'alert':
      if (typeof e.reason !== 'string' || e.reason === '') problem = 'alert needs a reason';
      else if (!['info', 'warning', 'critical'].includes(e.severity as string)) problem = `alert severity must be info, warning or critical, got ${describe(e.severity)}`;
      // Alert rules match codes as text (prefixes, work-order keys).
      else if (e.code !== undefined && typeof e.code !== 'string') problem = `alert code must be text such as "SPN110-FMI0", got ${describe(e.code)}`;
      break;
    case 'workorder':
      if (typeof e.businessKey !== 'string' || e.businessKey === '') problem = 'work-order update needs its businessKey';
      else if (!['open', 'in-progress', 'completed', 'cancelled'].includes(e.status as string))
        problem = `work-order status must be open, in-progress, completed or cancelled, got ${describe(e.status)}`;
      else problem = checkNumber('operatingHoursAtCompletion', e.operatingHoursAtCompletion, 0, 10_000_000, true) ?? checkNumber('odometerKmAtCompletion', e.odometerKmAtCompletion, 0, 100_000_000, true) ?? keyAssetMismatch(event);
      break;
    case 'watermark':
      // The engine's own note about an idle asset: from anywhere else it could close what rules hold early.
      if (event.source !== ENGINE_SOURCE) problem = 'event kind "watermark" is assetbridge\'s own; use position, meter, sensor, alert or workorder';
      break;
    default:
      problem =
        e.kind === undefined
          ? 'event has no "kind": give one of position, meter, sensor, alert or workorder'
          : typeof e.kind === 'string'
            ? `unknown event kind ${JSON.stringify(e.kind.length > 40 ? `${e.kind.slice(0, 40)}…` : e.kind)}${kindHint(e.kind)}; use position, meter, sensor, alert or workorder`
            : `event kind must be text, got ${describe(e.kind)}; use position, meter, sensor, alert or workorder`;
  }
  return problem ? fail(problem) : VALID;
}

/**
 * Names other senders give a field (`lon`, `latitude`, `hours`): the event model reads only its
 * own, and ignores the rest, so an event with one of these instead is told which field to send.
 */
const FIELD_ALIASES: Readonly<Record<string, readonly string[]>> = {
  lat: ['latitude', 'Latitude', 'LAT', 'Lat'],
  lng: ['lon', 'long', 'longitude', 'Longitude', 'LON', 'Lon', 'LNG', 'Lng'],
  operatingHours: ['hours', 'engineHours', 'operating_hours', 'hourMeter', 'OperatingHours'],
  odometerKm: ['odometer', 'km', 'mileage', 'odometer_km', 'Odometer'],
};

/** `; "lon" is not read: send it as lng` for each of `fields` the event lacks but gives under another name. */
function aliasHint(e: Record<string, unknown>, fields: readonly string[]): string {
  const hints: string[] = [];
  for (const field of fields) {
    if (e[field] !== undefined) continue;
    const alias = FIELD_ALIASES[field]?.find((a) => Object.hasOwn(e, a));
    if (alias !== undefined) hints.push(`"${alias}" is not read: send it as ${field}`);
  }
  return hints.length === 0 ? '' : `; ${hints.join('; ')}`;
}

/**
 * A position's coordinates: both, or neither in a zone sighting, which must name a configured
 * zone (a fixed reader's: the zone is all it says, so one not configured would place the asset
 * nowhere). A zone given beside coordinates is the source's own and may be any name.
 */
function coordinatesProblem(e: Record<string, unknown>, policy: ValidationPolicy): string | undefined {
  if (e.lat === undefined && e.lng === undefined) {
    if (e.zone === undefined) return `position needs lat and lng, or a zone (a configured zone name) for a sighting by a fixed reader${aliasHint(e, ['lat', 'lng'])}`;
    const zone = e.zone as string;
    const names = policy.zoneNames;
    if (names === undefined || names.size === 0)
      return `zone sighting in "${zone}" (a zone and no lat/lng), but no zones are configured: add the reader's zone to rules.zones, or send lat and lng`;
    if (!names.has(zone)) return `zone sighting in unknown zone "${zone}": a sighting without lat/lng must name a configured zone (${zoneList(names)})${didYouMean(zone, names)}`;
    return checkNumber('altM', e.altM, -500, 100_000, true) ?? checkNumber('accuracyM', e.accuracyM, 0, 1_000_000, true);
  }
  if (e.lng === undefined) return `position has lat but no lng: send both, or neither with a zone for a sighting by a fixed reader${aliasHint(e, ['lng'])}`;
  if (e.lat === undefined) return `position has lng but no lat: send both, or neither with a zone for a sighting by a fixed reader${aliasHint(e, ['lat'])}`;
  return (
    checkNumber('lat', e.lat, -90, 90, false) ??
    checkNumber('lng', e.lng, -180, 180, false) ??
    checkNumber('altM', e.altM, -500, 100_000, true) ??
    checkNumber('accuracyM', e.accuracyM, 0, 1_000_000, true)
  );
}

/** A configured zone a reader's name is a slip of (case, a character or two), as a hint. */
function didYouMean(zone: string, names: ReadonlySet<string>): string {
  const best = nearest(zone, names);
  return best !== undefined ? `; did you mean "${best}"?` : '';
}

/** The one of `names` that `name` is a slip of (case, a character or two), if any. */
function nearest(name: string, names: ReadonlySet<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = name.toLowerCase();
  for (const n of names) {
    const d = n.toLowerCase() === lower ? 0 : editDistance(lower, n.toLowerCase());
    if (d < bestDistance) {
      best = n;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(name.length / 4)) ? best : undefined;
}

/** What other senders call the event kinds: a kind given so is told which one to send. */
const KIND_ALIASES: Readonly<Record<string, string>> = {
  location: 'position',
  gps: 'position',
  fix: 'position',
  sighting: 'position',
  meters: 'meter',
  reading: 'meter',
  hours: 'meter',
  odometer: 'meter',
  sensors: 'sensor',
  measurement: 'sensor',
  telemetry: 'sensor',
  alerts: 'alert',
  alarm: 'alert',
  fault: 'alert',
  dtc: 'alert',
  'work-order': 'workorder',
  work_order: 'workorder',
  workorders: 'workorder',
};
const KINDS: ReadonlySet<string> = new Set(['position', 'meter', 'sensor', 'alert', 'workorder']);

/** ` (did you mean "position"?)` for a kind another sender's name or a typo of one (`Position`, `positon`, `location`), else ''. */
function kindHint(kind: string): string {
  const name = kind.trim().toLowerCase();
  const meant = Object.hasOwn(KIND_ALIASES, name) ? KIND_ALIASES[name] : nearest(kind.trim(), KINDS);
  return meant !== undefined ? ` (did you mean "${meant}"?)` : '';
}

/** Configured zone names for a reason: the first few, sorted, and how many more. */
function zoneList(names: ReadonlySet<string>): string {
  const sorted = [...names].sort();
  const shown = sorted.slice(0, 10).map((n) => JSON.stringify(n)).join(', ');
  return `configured zones: ${shown}${sorted.length > 10 ? ` and ${sorted.length - 10} more` : ''}`;
}

/**
 * One of our work-order keys names the asset it was opened for: feedback that names another asset
 * (erpAssetId) would reset that asset's baseline, so it is refused rather than guessed at.
 */
function keyAssetMismatch(event: CanonicalEvent): string | undefined {
  if (event.kind !== 'workorder') return undefined;
  const keyAsset = parseWorkOrderKey(event.businessKey)?.erpAssetId;
  const named = event.ids.find((i) => i.type === 'erp')?.value;
  if (keyAsset === undefined || named === undefined || named === keyAsset) return undefined;
  return `work-order update for ${event.businessKey} names asset ${named} (erpAssetId), but that work order is asset ${keyAsset}'s: send ${keyAsset}, or leave erpAssetId out (the key names the asset)`;
}
