/**
 * The configurable JSON decoder for MQTT (and other topic/channel based) sources. Each configured
 * topic filter has a {@link JsonDecoderConfig} that says where the asset id, event time, position,
 * sensors, meters and alert live in the payload; one message may yield several canonical events
 * (position + sensor reading + meters + alert) that share the asset ids and event time.
 *
 * A mapping with `zone` and neither `lat` nor `lng` is a fixed RFID/BLE reader's: each payload
 * with a zone is a zone sighting (a position with the zone and no coordinates), whose zone
 * validation checks against the configured ones. With coordinates mapped, the zone is the one the
 * source reports beside a fix, and a payload without the fix has no position.
 *
 * Values are not type-checked here: numeric strings become numbers, anything else is passed on
 * unchanged so that `validateEvent` reports the exact problem ("lat must be a number, got string
 * "north""). What cannot become an event at all (not UTF-8, not JSON, no matching topic, no asset
 * id, no usable time) is returned as `{ ok: false, reason }`. Pure; never throws.
 * @module
 */
import { unitFactor, type UnitDimension } from './units.js';
import type { JsonDecoderConfig } from '../../config/schema.js';
import type { AlertEvent, CanonicalEvent, PositionEvent, SensorEvent, SensorValue, SourceIdentifier } from '../model/events.js';
import type { RawMessage } from '../model/messages.js';
import { notJsonReason, utf8Text, type DecodeResult, type Decoder } from './decoder.js';
import { parseIsoTime } from './iso-time.js';
import { compileTopicFilter, type TopicMatcher } from './topic-match.js';
import { editDistance } from '../edit-distance.js';

/** One topic filter and how its payloads decode. */
export interface JsonTopicDecoder {
  readonly filter: string;
  readonly decoder: JsonDecoderConfig;
}

type Path = readonly string[];
type Json = unknown;

interface CompiledTopic {
  readonly filter: string;
  readonly matches: TopicMatcher;
  readonly decode: (root: Record<string, Json>, message: RawMessage) => DecodeResult;
}

const METER_FIELDS = ['operatingHours', 'idleHours', 'odometerKm', 'fuelUsedL'] as const;
/** Severity words devices use, to the three the rules know (any case); others go on to validation, which names them. */
const SEVERITY_WORDS: Readonly<Record<string, AlertEvent['severity']>> = {
  critical: 'critical', high: 'critical', major: 'critical', severe: 'critical', alarm: 'critical', fatal: 'critical', emergency: 'critical',
  warning: 'warning', warn: 'warning', medium: 'warning', minor: 'warning', moderate: 'warning',
  info: 'info', information: 'info', informational: 'info', low: 'info', notice: 'info',
};
const NUMERIC = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;
/**
 * Epoch times at or above this many seconds (year 5138) are milliseconds or finer read as seconds;
 * epoch milliseconds from 2000 to below it (1973 as ms) are seconds read as milliseconds.
 */
const EPOCH_UNIT_SPLIT = 1e11;
const EPOCH_2000_S = Date.UTC(2000, 0, 1) / 1000;
const BLANK = /^\s*$/;

/**
 * Builds a decoder for `source` (e.g. `mqtt:fleet`). The first topic filter that matches the
 * message's channel (its MQTT topic) is used; `$share/<group>/` prefixes are ignored.
 */
export function createJsonDecoder(source: string, topics: readonly JsonTopicDecoder[]): Decoder {
  const compiled: CompiledTopic[] = topics.map((t) => ({
    filter: t.filter,
    matches: compileTopicFilter(t.filter),
    decode: compileDecoder(source, t.decoder),
  }));
  const filterList = topics.map((t) => t.filter).join(', ') || '(none)';

  return (message: RawMessage): DecodeResult => {
    try {
      const topic = compiled.find((t) => t.matches(message.channel));
      // We subscribe only to configured filters, so the broker sent it for a subscription that an
      // earlier config made that the store has no record of (the persistent session keeps it).
      if (!topic)
        return fail(
          `no decoder for topic "${message.channel}"; configured topic filters: ${filterList}. It came for a subscription of an earlier config, which the broker keeps in the session of this source's clientId: add a filter for the topic (then replay), or unsubscribe the old filter on the broker under that clientId`,
        );

      // Zero bytes: what a broker forwards when a retained message is cleared (an empty retained
      // publish), as well as a sender's empty message. Either way there is nothing to take.
      if (message.payload.length === 0)
        return fail(
          `payload is empty (zero bytes): nothing to take; an MQTT publish that clears a retained message on "${message.channel}" looks so: discard it (assetbridge quarantine discard ID), or have the sender stop publishing empty messages`,
        );
      const read = utf8Text(message.payload);
      if (!read.ok) return fail(read.reason);
      const text = read.text;
      let root: Json;
      try {
        root = JSON.parse(text);
      } catch (err) {
        return fail(notJsonReason(text, err));
      }
      if (root === null || typeof root !== 'object' || Array.isArray(root))
        return fail(`payload must be a JSON object, got ${root === null ? 'null' : Array.isArray(root) ? 'an array' : typeof root}`);
      return topic.decode(root as Record<string, Json>, message);
    } catch (err) {
      // Defensive: the code above is written not to throw, but a decoder must never take the pipeline down.
      return fail(`decoder error: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
}

function compileDecoder(source: string, config: JsonDecoderConfig): CompiledTopic['decode'] {
  const assetIdLabel = 'path' in config.assetId ? config.assetId.path : undefined;
  const assetIdPath = assetIdLabel === undefined ? undefined : parsePath(assetIdLabel);
  const assetIdSegment = 'topicSegment' in config.assetId ? config.assetId.topicSegment : undefined;
  const time = config.time ? { path: parsePath(config.time.path), label: config.time.path, format: config.time.format } : undefined;
  const lat = optionalPath(config.lat);
  const lng = optionalPath(config.lng);
  const alt = optionalPath(config.alt);
  const accuracy = optionalPath(config.accuracy);
  const zone = optionalPath(config.zone);
  // A reader's mapping: the zone is the sighting (config check refuses lat without lng and the reverse).
  const zoneOnly = zone !== undefined && lat === undefined && lng === undefined;
  const sensors = Object.entries(config.sensors).map(([name, s]) => ({ name, path: parsePath(s.path), unit: s.unit }));
  const meters = METER_FIELDS.flatMap((field) => {
    const p = config.meters[field];
    if (p === undefined) return [];
    // A device counting in another unit: its factor to the canonical one (validated with the config).
    const unit = typeof p === 'string' ? undefined : p.unit;
    const factor = unit === undefined ? 1 : (unitFactor(unit, METER_DIMENSION[field]) ?? 1);
    return [{ field, path: parsePath(typeof p === 'string' ? p : p.path), unit, factor }];
  });
  const alert = config.alert
    ? { reason: parsePath(config.alert.reason), severity: optionalPath(config.alert.severity), code: optionalPath(config.alert.code), spn: optionalPath(config.alert.spn), fmi: optionalPath(config.alert.fmi) }
    : undefined;

  return (root, message) => {
    // Asset id.
    let assetId: unknown;
    if (assetIdPath) {
      assetId = read(root, assetIdPath);
      if (assetId === undefined || assetId === null || assetId === '')
        return fail(`no asset id at path ${assetIdLabel}${nearMiss(root, assetIdPath)}`);
    } else {
      const segments = message.channel.split('/');
      assetId = segments[assetIdSegment ?? 0];
      if (assetId === undefined || assetId === '')
        return fail(`no asset id in topic segment ${assetIdSegment ?? 0} of "${message.channel}" (segments are counted from 0)`);
    }
    // Numbers are fine as ids (some trackers send numeric serials); other types go on to validation.
    const ids: readonly SourceIdentifier[] = [{ type: config.idType, value: typeof assetId === 'number' ? String(assetId) : (assetId as string) }];

    // Event time.
    let eventTime = message.receivedAt;
    if (time) {
      const raw = read(root, time.path);
      const parsed = parseTime(raw, time.label, time.format);
      if (typeof parsed === 'string') return fail(raw === undefined ? `${parsed}${nearMiss(root, time.path)}` : parsed);
      eventTime = parsed;
    }

    // Built field by field (no spreads): this runs for every message on the ingest hot path.
    const receivedAt = message.receivedAt;
    const events: CanonicalEvent[] = [];

    const latValue = value(root, lat);
    const lngValue = value(root, lng);
    // Half a position: say which path came up empty (validation could only say "got undefined").
    if ((latValue === undefined) !== (lngValue === undefined))
      return fail(latValue === undefined ? `no lat at path ${config.lat ?? '(lat not configured)'} (lng is at ${config.lng ?? ''})` : `no lng at path ${config.lng ?? '(lng not configured)'} (lat is at ${config.lat ?? ''})`);
    if (latValue !== undefined || lngValue !== undefined) {
      const position: Record<string, unknown> = { kind: 'position', source, ids, eventTime, receivedAt, raw: root, lat: latValue, lng: lngValue };
      const altValue = value(root, alt);
      if (altValue !== undefined) position.altM = altValue;
      const accuracyValue = value(root, accuracy);
      if (accuracyValue !== undefined) position.accuracyM = accuracyValue;
      const zoneValue = zone ? nonNull(read(root, zone)) : undefined;
      // Numeric zone ids are fine; a blank zone is "in no zone", like a missing one; other non-strings go on to validation.
      if (zoneValue !== undefined && !(typeof zoneValue === 'string' && BLANK.test(zoneValue))) position.zone = typeof zoneValue === 'number' ? String(zoneValue) : zoneValue;
      events.push(position as unknown as PositionEvent);
    } else if (zoneOnly) {
      const zoneValue = nonNull(read(root, zone));
      // Numeric zone ids are fine; a blank zone is no sighting; other non-strings go on to validation.
      if (zoneValue !== undefined && !(typeof zoneValue === 'string' && BLANK.test(zoneValue)))
        events.push({ kind: 'position', source, ids, eventTime, receivedAt, raw: root, zone: (typeof zoneValue === 'number' ? String(zoneValue) : zoneValue) as string } satisfies PositionEvent);
    }

    let values: Record<string, SensorValue> | undefined;
    for (const s of sensors) {
      const raw = value(root, s.path);
      if (raw === undefined) continue;
      // On/off signals (ignition, PTO, door) are as common as numbers: 1 and 0, so rules can compare them.
      const v = raw === true ? 1 : raw === false ? 0 : raw;
      values ??= {};
      values[s.name] = s.unit === undefined ? { value: v as number } : { value: v as number, unit: s.unit };
    }
    if (values) events.push({ kind: 'sensor', source, ids, eventTime, receivedAt, raw: root, values } satisfies SensorEvent);

    let meter: Record<string, unknown> | undefined;
    for (const m of meters) {
      const v = value(root, m.path);
      if (v === undefined) continue;
      meter ??= { kind: 'meter', source, ids, eventTime, receivedAt, raw: root };
      if (m.factor !== 1 && typeof v === 'number') {
        meter[m.field] = Math.round(v * m.factor * 1e9) / 1e9;
        ((meter.originalUnits ??= {}) as Record<string, string>)[m.field] = m.unit as string;
      } else meter[m.field] = v;
    }
    if (meter) events.push(meter as unknown as CanonicalEvent);

    if (alert) {
      const base = { source, ids, eventTime, receivedAt, raw: root };
      const reason = nonNull(read(root, alert.reason));
      if (reason !== undefined && reason !== '') {
        const severity = alert.severity ? nonNull(read(root, alert.severity)) : undefined;
        const joined = alert.code ? nonNull(read(root, alert.code)) : undefined;
        // A J1939 fault sent as its SPN and FMI apart: the code a feed sending them joined sends (SPN110-FMI0), so both are one fault.
        // A blank joined code (a feed's empty field) is no code, as the alert rules read it: the SPN and FMI then tell the fault.
        const code = (typeof joined === 'string' && joined.trim() !== '') || typeof joined === 'number' ? joined : (j1939Code(alert.spn && nonNull(read(root, alert.spn)), alert.fmi && nonNull(read(root, alert.fmi))) ?? joined);
        events.push({
          ...base,
          kind: 'alert',
          reason: (typeof reason === 'number' ? String(reason) : reason) as string,
          severity: (typeof severity === 'string' ? (SEVERITY_WORDS[severity.trim().toLowerCase()] ?? severity) : (severity ?? 'warning')) as AlertEvent['severity'],
          ...(typeof code === 'string' || typeof code === 'number' ? { code: String(code) } : {}),
        });
      }
    }

    if (events.length === 0) return fail(`payload has none of the configured values (${configuredPaths(config).join(', ')})`);
    return { ok: true, events };
  };
}

/** `SPN<spn>-FMI<fmi>` from the two values, each a number or text of digits (leading zeros dropped); else undefined (no code). */
function j1939Code(spn: unknown, fmi: unknown): string | undefined {
  const n = (v: unknown): string | undefined => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : typeof v === 'string' && /^\s*\d{1,9}\s*$/.test(v) ? String(Number(v.trim())) : undefined);
  const s = n(spn);
  const f = n(fmi);
  return s !== undefined && f !== undefined ? `SPN${s}-FMI${f}` : undefined;
}

function fail(reason: string): DecodeResult {
  return { ok: false, reason };
}

/** The dimension of each meter field (its canonical unit: h, km, L). */
const METER_DIMENSION: Readonly<Record<(typeof METER_FIELDS)[number], UnitDimension>> = { operatingHours: 'duration', idleHours: 'duration', odometerKm: 'distance', fuelUsedL: 'volume' };

/** `pos.lat`, `sensors.0.value` and `sensors[0].value` all address the same way. */
function parsePath(path: string): Path {
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((p) => p !== '');
}

function optionalPath(path: string | undefined): Path | undefined {
  return path === undefined ? undefined : parsePath(path);
}

/** Reads a path through objects and arrays; own properties only, so `__proto__` reads nothing. */
function read(root: Json, path: Path): Json {
  let current: Json = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(key)) return undefined;
      current = current[Number(key)];
    } else {
      if (!Object.hasOwn(current, key)) return undefined;
      current = (current as Record<string, Json>)[key];
    }
  }
  return current;
}

/**
 * Where `path` breaks off in `root` at a key the payload has under another spelling (`tagID` for
 * `tagId`, `timestamp` for `timestamps`): ` (the payload has tagID there: a path matches its key
 * exactly)`, else ''. Paths compare case and spelling exactly, which a sender's `ID` easily misses.
 */
function nearMiss(root: Json, path: Path): string {
  let current: Json = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return '';
    if (!Object.hasOwn(current, key)) {
      const lower = key.toLowerCase();
      const near = Object.keys(current).find((k) => k.toLowerCase() === lower) ?? Object.keys(current).find((k) => key.length > 3 && editDistance(k.toLowerCase(), lower) <= 1);
      return near === undefined ? '' : ` (the payload has ${JSON.stringify(near)} there: a path matches its key exactly; fix the path in the decoder, or the sender)`;
    }
    current = (current as Record<string, Json>)[key];
  }
  return '';
}

/** JSON null means "no reading" in device payloads; treat it as absent. */
function nonNull(v: Json): Json {
  return v === null ? undefined : v;
}

/** A numeric value: numeric strings become numbers, anything else is passed on unchanged. */
function value(root: Json, path: Path | undefined): Json {
  if (!path) return undefined;
  const v = nonNull(read(root, path));
  return typeof v === 'string' && NUMERIC.test(v) ? Number(v) : v;
}

/** Event time in epoch ms, or the reason it cannot be read. */
function parseTime(raw: Json, label: string, format: 'iso' | 'epoch-ms' | 'epoch-s'): number | string {
  if (raw === undefined || raw === null || raw === '') return `no event time at path ${label}`;
  if (format === 'iso') {
    if (typeof raw !== 'string')
      return `event time at path ${label} must be an ISO 8601 string, got ${describe(raw)}${typeof raw === 'number' ? ' (set time.format to epoch-ms or epoch-s for numeric times)' : ''}`;
    const ms = parseIsoTime(raw);
    if (typeof ms === 'number') return ms;
    if (ms === 'zoneless') return `event time at path ${label} has no time zone: ${describe(raw)}; the sender must add Z or an offset such as +02:00`;
    return ms === 'invalid' ? `event time at path ${label} is not a valid date: ${describe(raw)}` : `event time at path ${label} is not an ISO 8601 date-time: ${describe(raw)}`;
  }
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && NUMERIC.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(n))
    return `event time at path ${label} must be a number of ${format === 'epoch-ms' ? 'milliseconds' : 'seconds'} since 1970, got ${describe(raw)}`;
  // The two epoch units a thousandfold apart: a mix-up is told apart by size, and said plainly.
  if (format === 'epoch-s' && n >= EPOCH_UNIT_SPLIT)
    return `event time at path ${label} is ${String(n)}, which is not seconds since 1970 (milliseconds or finer?): set time.format to epoch-ms`;
  if (format === 'epoch-ms' && n >= EPOCH_2000_S && n < EPOCH_UNIT_SPLIT)
    return `event time at path ${label} is ${String(n)}, which is seconds since 1970, not milliseconds: set time.format to epoch-s`;
  return format === 'epoch-s' ? Math.round(n * 1000) : Math.round(n);
}

function describe(v: Json): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (v === null) return 'null';
  return Array.isArray(v) ? 'an array' : typeof v;
}

function configuredPaths(config: JsonDecoderConfig): string[] {
  const meterPaths = METER_FIELDS.map((f) => config.meters[f]).map((m) => (typeof m === 'object' ? m.path : m));
  // A reader's zone is a value of its own (beside coordinates it only labels them).
  const zoneOnly = config.zone !== undefined && config.lat === undefined && config.lng === undefined;
  const paths = [config.lat, config.lng, zoneOnly ? config.zone : undefined, ...Object.values(config.sensors).map((s) => s.path), ...meterPaths, config.alert?.reason];
  return paths.filter((p): p is string => p !== undefined);
}
