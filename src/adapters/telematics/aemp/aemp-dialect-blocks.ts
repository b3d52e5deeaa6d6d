/**
 * The data blocks of an ISO 15143-3 Equipment element (telematics.md §2.4) and how each becomes
 * canonical fragments. Every block is read on its own, with its own `datetime`: a block without a
 * usable time is skipped with a warning, never stamped with the Location or snapshot time.
 * Unknown blocks that carry a datetime and numbers (Trackunit `addExtendedData`, vendor additions)
 * become sensor values named after the element; everything else stays only in `raw`.
 * @module
 */
import type { MeterEvent, SensorValue, Severity } from '../../../core/model/events.js';
import {
  aliases,
  asArray,
  findKey,
  get,
  isAmbiguousComma,
  isNode,
  lowerCamel,
  normKey,
  normalizedKeys,
  readBoolean,
  readNumber,
  readText,
  readTime,
  type AempNode,
  type NumberRead,
} from './aemp-dialect.js';
import { CANONICAL_UNIT, isUnitName, toCanonical, type UnitDimension } from '../../../core/normalize/units.js';

/** Cumulative meter fields of {@link MeterEvent} the parser fills. */
export type MeterField = keyof Pick<MeterEvent, 'operatingHours' | 'idleHours' | 'odometerKm' | 'fuelUsedL'>;

interface FragmentBase {
  /** The key the block had in the feed (e.g. `CumulativeOperatingHours`), for `raw`. */
  readonly rawKey: string;
  readonly raw: unknown;
}

/** One reading taken from one block; the parser groups fragments with equal time into events. */
export type Fragment =
  | (FragmentBase & { readonly kind: 'position'; readonly eventTime: number; readonly lat: number; readonly lng: number; readonly altM?: number })
  | (FragmentBase & { readonly kind: 'accuracy'; readonly eventTime?: number; readonly accuracyM: number })
  | (FragmentBase & { readonly kind: 'meter'; readonly eventTime: number; readonly field: MeterField; readonly value: number; readonly originalUnit?: string })
  | (FragmentBase & { readonly kind: 'sensor'; readonly eventTime: number; readonly name: string; readonly value: SensorValue })
  | (FragmentBase & { readonly kind: 'alert'; readonly eventTime: number; readonly reason: string; readonly severity: Severity; readonly code?: string });

/**
 * What a parser warning means, beside its text (the text is for people and may be reworded; code
 * that acts on warnings reads the kind):
 * - `reading-left-out`: a reading the feed sent could not be used (no usable time, not a number,
 *   an unknown unit, out of range, no value) and is not among the events;
 * - `value-absent`: an empty, placeholder or "unknown" value (a tank capacity or altitude of 0) was
 *   treated as absent: nothing usable was lost;
 * - `value-assumed`: the parser assumed something (a unit, what an identifier is, the later of two values);
 * - `no-identifier`: the element or series names no identifier its events could be matched by;
 * - `entry-skipped`: a document entry that is no element or link was skipped;
 * - `no-equipment`: a fleet document holds no Equipment elements.
 */
export type AempWarningKind = 'reading-left-out' | 'value-absent' | 'value-assumed' | 'no-identifier' | 'entry-skipped' | 'no-equipment';

/**
 * `replayable: false` on a `reading-left-out`: the feed's way of saying there is no reading (a fix
 * at 0,0), which no parser or configuration fix would make usable: the block is not set aside.
 */
export type Warn = (kind: AempWarningKind, message: string, replayable?: false) => void;

/** A known block: canonical name, accepted spellings (normalised) and its reader. */
export interface BlockSpec {
  readonly name: string;
  readonly aliases: readonly string[];
  read(block: AempNode, key: string, warn: Warn): Fragment[];
}

const DATETIME = aliases('datetime', 'datetimeutc', 'timestamp');

/** The block's own time, or undefined with a warning that says why the reading is skipped. */
function blockTime(block: AempNode, key: string, warn: Warn): number | undefined {
  const t = readTime(get(block, DATETIME));
  switch (t.kind) {
    case 'value':
      return t.time;
    case 'absent':
      warn('reading-left-out', `${key}: no datetime; reading skipped (a block never borrows another block's time)`);
      return undefined;
    case 'placeholder':
      warn('reading-left-out', `${key}: datetime ${JSON.stringify(t.raw)} is a placeholder; reading skipped`);
      return undefined;
    case 'invalid':
      warn('reading-left-out', `${key}: datetime ${JSON.stringify(t.raw)} is not an ISO-8601 time; reading skipped`);
      return undefined;
  }
}

interface QuantitySpec {
  /** Normalised keys of the value child, in preference order. */
  readonly valueKeys: readonly string[];
  /** Normalised keys of the unit child. */
  readonly unitKeys: readonly string[];
  readonly dimension: UnitDimension;
  /** Unit implied by the value key itself (`Minutes` children), overriding unit children. */
  readonly impliedUnit?: string;
}

interface Quantity {
  readonly value: number;
  /** The unit as the feed wrote it, when converting changed the number. */
  readonly originalUnit?: string;
}

/**
 * Reads a number and its unit from a block. Handles `<X>` + `<XUnits>` children, a `unit`
 * attribute on the value element, and unit-suffixed keys (`OdometerKilometre`, `FuelConsumedLitres`,
 * as in MiX). Returns undefined when the value is absent (no warning) or unusable (warned).
 */
function readQuantity(block: AempNode, key: string, spec: QuantitySpec, warn: Warn): Quantity | undefined {
  let found = findKey(block, spec.valueKeys);
  let unit: string | undefined = spec.impliedUnit;
  if (!found) {
    const suffixed = findUnitSuffixedKey(block, spec);
    if (!suffixed) return undefined;
    found = { key: suffixed.key, value: block[suffixed.key] };
    unit = suffixed.unit;
  }
  const label = `${key}.${found.key}`;
  if (readBoolean(get(block, aliases(`${found.key}Specified`))) === false) return undefined; // .NET `*Specified: false`: not sent
  const n = readNumber(found.value);
  if (n.kind === 'absent') {
    warn('value-absent', `${label} is empty; treated as absent`);
    return undefined;
  }
  if (n.kind === 'invalid') {
    warn('reading-left-out', `${label} ${JSON.stringify(n.raw)} ${isAmbiguousComma(n.raw) ? 'is ambiguous (a thousands separator or a decimal comma)' : 'is not a number'}; treated as absent`);
    return undefined;
  }
  if (unit === undefined) unit = readUnit(block, found, spec, label, warn);
  const converted = toCanonical(n.value, unit, spec.dimension);
  if (!converted.ok) {
    warn('reading-left-out', `${label}: ${converted.reason}; reading dropped`);
    return undefined;
  }
  return converted.converted && unit !== undefined ? { value: converted.value, originalUnit: unit.trim() } : { value: converted.value };
}

function readUnit(block: AempNode, found: { key: string; value: unknown }, spec: QuantitySpec, label: string, warn: Warn): string | undefined {
  const attr = isNode(found.value) ? get(found.value, aliases('unit', 'units', 'uom')) : undefined;
  const raw = attr ?? get(block, spec.unitKeys);
  if (typeof raw === 'number') {
    // CanTrack types unit fields as enum ordinals; the standard is metric, so assume the canonical unit.
    warn('value-assumed', `${label}: unit given as the number ${raw} (an enum ordinal?); assumed ${CANONICAL_UNIT[spec.dimension]}`);
    return undefined;
  }
  const text = readText(raw);
  return text.kind === 'value' ? text.text : undefined;
}

function findUnitSuffixedKey(block: AempNode, spec: QuantitySpec): { key: string; unit: string } | undefined {
  for (const [normalized, original] of normalizedKeys(block)) {
    for (const base of spec.valueKeys) {
      if (normalized.length > base.length && normalized.startsWith(base)) {
        const suffix = normalized.slice(base.length);
        if (isUnitName(suffix, spec.dimension)) return { key: original, unit: suffix };
      }
    }
  }
  return undefined;
}

/** A percentage in [0, 100], warned and dropped otherwise. */
function readPercent(block: AempNode, key: string, valueKeys: readonly string[], warn: Warn): number | undefined {
  const found = findKey(block, valueKeys);
  if (!found) return undefined;
  const n = readNumber(found.value);
  if (n.kind === 'absent') {
    warn('value-absent', `${key}.${found.key} is empty; treated as absent`);
    return undefined;
  }
  if (n.kind === 'invalid' || n.value < 0 || n.value > 100) {
    warn('reading-left-out', `${key}.${found.key} ${n.kind === 'invalid' ? JSON.stringify(n.raw) : n.value} is not a percentage in [0, 100]; treated as absent`);
    return undefined;
  }
  return n.value;
}

/** Capacities of 0 mean "unknown" in these feeds, not an empty tank. */
function readCapacity(block: AempNode, key: string, spec: QuantitySpec, warn: Warn): number | undefined {
  const q = readQuantity(block, key, spec, warn);
  if (q === undefined) return undefined;
  if (q.value <= 0) {
    warn('value-absent', `${key}: tank capacity ${q.value} means unknown; treated as absent`);
    return undefined;
  }
  return q.value;
}

const HOURS: QuantitySpec = { valueKeys: aliases('Hour', 'Hours', 'Value', '#text'), unitKeys: aliases('HourUnits', 'Units', 'Unit'), dimension: 'duration' };
const MINUTES: QuantitySpec = { valueKeys: aliases('Minute', 'Minutes'), unitKeys: [], dimension: 'duration', impliedUnit: 'minute' };

type Target = { readonly meter: MeterField } | { readonly sensor: string; readonly unit: string };

function emit(target: Target, eventTime: number, q: Quantity, rawKey: string, raw: unknown, scale = 1): Fragment {
  if ('meter' in target)
    return { kind: 'meter', eventTime, field: target.meter, value: q.value, rawKey, raw, ...(q.originalUnit ? { originalUnit: q.originalUnit } : {}) };
  const value = scale === 1 ? q.value : Math.round(q.value * scale * 1e9) / 1e9;
  return { kind: 'sensor', eventTime, name: target.sensor, value: { value, unit: target.unit }, rawKey, raw };
}

/** A cumulative-hours block (`<Hour>`; Develon's minutes variant as `<Minute>`). */
function hoursBlock(name: string, names: readonly string[], target: Target): BlockSpec {
  return {
    name,
    aliases: aliases(name, ...names),
    read(block, key, warn) {
      const eventTime = blockTime(block, key, warn);
      if (eventTime === undefined) return [];
      const q = readQuantity(block, key, HOURS, warn) ?? readQuantity(block, key, MINUTES, warn);
      if (q === undefined) {
        if (!findKey(block, [...HOURS.valueKeys, ...MINUTES.valueKeys])) warn('reading-left-out', `${key}: no Hour value; reading skipped`);
        return [];
      }
      return [emit(target, eventTime, q, key, block)];
    },
  };
}

/** A block holding one quantity with a unit (FuelUsed, Distance, payload, speed); `scale` from canonical to the sensor's unit. */
function quantityBlock(name: string, names: readonly string[], spec: QuantitySpec, target: Target, scale = 1): BlockSpec {
  return {
    name,
    aliases: aliases(name, ...names),
    read(block, key, warn) {
      const eventTime = blockTime(block, key, warn);
      if (eventTime === undefined) return [];
      const q = readQuantity(block, key, spec, warn);
      if (q === undefined) {
        if (!findKey(block, spec.valueKeys) && !findUnitSuffixedKey(block, spec)) warn('reading-left-out', `${key}: no value; reading skipped`);
        return [];
      }
      return [emit(target, eventTime, q, key, block, scale)];
    },
  };
}

/** FuelRemaining / DEFRemaining: a level percentage and an optional tank capacity. */
function levelBlock(name: string, names: readonly string[], prefix: 'fuel' | 'def', capacityKey: string): BlockSpec {
  const capacity: QuantitySpec = { valueKeys: aliases(capacityKey), unitKeys: aliases(`${capacityKey}Units`, `${capacityKey}Unit`), dimension: 'volume' };
  return {
    name,
    aliases: aliases(name, ...names),
    read(block, key, warn) {
      const eventTime = blockTime(block, key, warn);
      if (eventTime === undefined) return [];
      const out: Fragment[] = [];
      const percent = readPercent(block, key, aliases('Percent', 'Ratio', 'Value', '#text'), warn);
      if (percent !== undefined) out.push({ kind: 'sensor', eventTime, name: `${prefix}RemainingPercent`, value: { value: percent, unit: '%' }, rawKey: key, raw: block });
      const cap = readCapacity(block, key, capacity, warn);
      if (cap !== undefined) out.push({ kind: 'sensor', eventTime, name: `${prefix}TankCapacityL`, value: { value: cap, unit: 'L' }, rawKey: key, raw: block });
      if (out.length === 0 && percent === undefined && !findKey(block, aliases('Percent', 'Ratio', 'Value'))) warn('reading-left-out', `${key}: no Percent value; reading skipped`);
      return out;
    },
  };
}

const LOCATION: BlockSpec = {
  name: 'Location',
  aliases: aliases('Location', 'Locations'),
  read(block, key, warn) {
    const eventTime = blockTime(block, key, warn);
    if (eventTime === undefined) return [];
    const lat = readNumber(get(block, aliases('Latitude', 'Lat')));
    const lng = readNumber(get(block, aliases('Longitude', 'Lng', 'Lon', 'Long')));
    if (lat.kind !== 'value' || lng.kind !== 'value') {
      // Named with the value as sent: the reason a set-aside block carries says what to fix.
      const what = (name: string, n: NumberRead): string[] => (n.kind === 'absent' ? [`${name} missing`] : n.kind === 'invalid' ? [`${name} ${JSON.stringify(n.raw)} is not a number`] : []);
      warn('reading-left-out', `${key}: ${[...what('latitude', lat), ...what('longitude', lng)].join(', ')}; position skipped`);
      return [];
    }
    if (lat.value === 0 && lng.value === 0) {
      warn('reading-left-out', `${key}: position 0,0 means no fix; position skipped`, false);
      return [];
    }
    const alt = readQuantity(block, key, { valueKeys: aliases('Altitude'), unitKeys: aliases('AltitudeUnits', 'AltitudeUnit'), dimension: 'altitude' }, warn);
    let altM = alt?.value;
    if (altM === 0) {
      warn('value-absent', `${key}: altitude 0 means unknown; treated as absent`);
      altM = undefined;
    }
    return [{ kind: 'position', eventTime, lat: lat.value, lng: lng.value, rawKey: key, raw: block, ...(altM !== undefined ? { altM } : {}) }];
  },
};

/** Trackunit extended `LocationMetadata{HighAccuracy, AccuracyRadius}`: the accuracy of the fix. */
const LOCATION_METADATA: BlockSpec = {
  name: 'LocationMetadata',
  aliases: aliases('LocationMetadata'),
  read(block, key, warn) {
    const t = readTime(get(block, DATETIME));
    const q = readQuantity(block, key, { valueKeys: aliases('AccuracyRadius'), unitKeys: aliases('AccuracyRadiusUnits'), dimension: 'altitude' }, warn);
    if (q === undefined || q.value < 0) return [];
    return [{ kind: 'accuracy', accuracyM: q.value, rawKey: key, raw: block, ...(t.kind === 'value' ? { eventTime: t.time } : {}) }];
  },
};

const ENGINE_STATUS: BlockSpec = {
  name: 'EngineStatus',
  aliases: aliases('EngineStatus', 'EngineCondition'),
  read(block, key, warn) {
    const eventTime = blockTime(block, key, warn);
    if (eventTime === undefined) return [];
    const running = readBoolean(get(block, aliases('Running', 'EngineRunning', 'Status')));
    if (running === undefined) {
      warn('reading-left-out', `${key}: Running is missing or not a boolean; reading skipped`);
      return [];
    }
    return [{ kind: 'sensor', eventTime, name: 'engineRunning', value: { value: running ? 1 : 0, unit: 'bool' }, rawKey: key, raw: block }];
  },
};

const COUNT_BLOCK: BlockSpec = {
  name: 'CumulativeLoadCount',
  aliases: aliases('CumulativeLoadCount'),
  read(block, key, warn) {
    const eventTime = blockTime(block, key, warn);
    if (eventTime === undefined) return [];
    const n = readNumber(get(block, aliases('Count', 'Value', '#text')));
    if (n.kind !== 'value' || n.value < 0) {
      warn('reading-left-out', `${key}: Count missing or not a non-negative number; reading skipped`);
      return [];
    }
    return [{ kind: 'sensor', eventTime, name: 'loadCount', value: { value: n.value, unit: 'count' }, rawKey: key, raw: block }];
  },
};

const LOAD_FACTOR: BlockSpec = {
  name: 'AverageLoadFactorLast24',
  aliases: aliases('AverageLoadFactorLast24', 'AverageDailyLoadFactorLast24'),
  read(block, key, warn) {
    const eventTime = blockTime(block, key, warn);
    if (eventTime === undefined) return [];
    const percent = readPercent(block, key, aliases('Percent', 'LoadFactor', 'Value', '#text'), warn);
    if (percent === undefined) return [];
    return [{ kind: 'sensor', eventTime, name: 'averageLoadFactorLast24Percent', value: { value: percent, unit: '%' }, rawKey: key, raw: block }];
  },
};

const SEVERITY_WORDS: Readonly<Record<string, Severity>> = {
  critical: 'critical', high: 'critical', red: 'critical', severe: 'critical', stop: 'critical', error: 'critical',
  medium: 'warning', moderate: 'warning', warning: 'warning', amber: 'warning', yellow: 'warning',
  low: 'info', info: 'info', information: 'info', green: 'info',
};

function severityOf(v: unknown): Severity {
  const n = readNumber(v);
  if (n.kind === 'value') return n.value >= 3 ? 'critical' : n.value >= 2 ? 'warning' : 'info';
  const t = readText(v);
  return t.kind === 'value' ? (SEVERITY_WORDS[t.text.toLowerCase()] ?? 'warning') : 'warning';
}

/** Fault codes (time series; some vendors also put them in snapshots) become alerts. */
const FAULT: BlockSpec = {
  name: 'FaultCode',
  aliases: aliases('FaultCode', 'FaultCodes', 'Faults', 'Fault'),
  read(block, key, warn) {
    const eventTime = blockTime(block, key, warn);
    if (eventTime === undefined) return [];
    const code = readText(get(block, aliases('CodeIdentifier', 'Code', 'Identifier', 'FaultCodeIdentifier')));
    const description = readText(get(block, aliases('CodeDescription', 'Description')));
    if (code.kind !== 'value' && description.kind !== 'value') {
      warn('reading-left-out', `${key}: fault has neither CodeIdentifier nor CodeDescription; skipped`);
      return [];
    }
    const reason = description.kind === 'value' ? description.text : `fault code ${code.kind === 'value' ? code.text : ''}`;
    return [
      {
        kind: 'alert',
        eventTime,
        reason,
        severity: severityOf(get(block, aliases('CodeSeverity', 'Severity'))),
        rawKey: key,
        raw: block,
        ...(code.kind === 'value' ? { code: code.text } : {}),
      },
    ];
  },
};

const FUEL: QuantitySpec = { valueKeys: aliases('FuelConsumed', 'FuelUsed', 'Value'), unitKeys: aliases('FuelUnits', 'FuelUnit', 'Units'), dimension: 'volume' };

/** Every block the parser understands, in the order of telematics.md §2.4. */
export const BLOCK_SPECS: readonly BlockSpec[] = [
  LOCATION,
  LOCATION_METADATA,
  hoursBlock('CumulativeOperatingHours', [], { meter: 'operatingHours' }),
  hoursBlock('CumulativeIdleHours', ['CumulativeIdleOperatingHours'], { meter: 'idleHours' }),
  hoursBlock('CumulativeIdleNonOperatingHours', [], { sensor: 'idleNonOperatingHours', unit: 'h' }),
  hoursBlock('CumulativeNonProductiveIdleHours', [], { sensor: 'nonProductiveIdleHours', unit: 'h' }),
  hoursBlock('CumulativePowerTakeOffHours', ['CumulativePTOHours'], { sensor: 'powerTakeOffHours', unit: 'h' }),
  hoursBlock('CumulativeActiveRegenerationHours', [], { sensor: 'activeRegenerationHours', unit: 'h' }),
  hoursBlock('CumulativeMovingHours', [], { sensor: 'movingHours', unit: 'h' }),
  quantityBlock('FuelUsed', ['CumulativeFuelUsed'], FUEL, { meter: 'fuelUsedL' }),
  quantityBlock('FuelUsedLast24', [], FUEL, { sensor: 'fuelUsedLast24L', unit: 'L' }),
  levelBlock('FuelRemaining', ['FuelRemainingRatio'], 'fuel', 'FuelTankCapacity'),
  levelBlock('DEFRemaining', ['DEFRemainingRatio'], 'def', 'DEFTankCapacity'),
  quantityBlock(
    'Distance',
    [],
    { valueKeys: aliases('Odometer', 'Value'), unitKeys: aliases('OdometerUnits', 'OdometerUnit', 'Units'), dimension: 'distance' },
    { meter: 'odometerKm' },
  ),
  ENGINE_STATUS,
  COUNT_BLOCK,
  // In tonnes: a hauler's lifetime payload in kg can exceed the validator's sensor range (1e9).
  quantityBlock(
    'CumulativePayloadTotals',
    [],
    { valueKeys: aliases('Payload', 'Value'), unitKeys: aliases('PayloadUnits', 'WeightUnit', 'WeightUnits'), dimension: 'mass' },
    { sensor: 'payloadTotalT', unit: 't' },
    1 / 1000,
  ),
  LOAD_FACTOR,
  quantityBlock(
    'MaximumSpeedLast24',
    [],
    { valueKeys: aliases('Speed', 'SpeedValue', 'MaximumSpeed', 'Value'), unitKeys: aliases('SpeedUnits', 'SpeedUnit'), dimension: 'speed' },
    { sensor: 'maximumSpeedLast24Kmh', unit: 'km/h' },
  ),
  FAULT,
];

const SPEC_BY_ALIAS = new Map<string, BlockSpec>(BLOCK_SPECS.flatMap((spec) => spec.aliases.map((a) => [a, spec] as const)));

/** The spec for a key as the feed spelled it (`cumulativeOperatingHours`, `Locations`, ...). */
export function blockSpecFor(key: string): BlockSpec | undefined {
  return SPEC_BY_ALIAS.get(normKey(key));
}

/**
 * The entries of a block value: one object, an array, or a wrapper without a datetime that holds
 * the real entries under a same-named key (`Locations: { Location: [...] }`, `Faults: { FaultCode: [...] }`).
 */
export function blockEntries(spec: BlockSpec, value: unknown, depth = 0): { key: string; block: AempNode }[] {
  const out: { key: string; block: AempNode }[] = [];
  for (const entry of asArray(value)) {
    if (!isNode(entry)) continue;
    if (depth < 2 && findKey(entry, DATETIME) === undefined) {
      const inner = [...normalizedKeys(entry)].find(([normalized]) => spec.aliases.includes(normalized));
      if (inner) {
        out.push(...blockEntries(spec, entry[inner[1]], depth + 1).map((e) => ({ key: e.key === '' ? inner[1] : e.key, block: e.block })));
        continue;
      }
    }
    out.push({ key: '', block: entry });
  }
  return out;
}

const NOT_A_VALUE = /(units?|specified|datetime|datetimeutc|timestamp)$/;
const CHILD_UNIT: Readonly<Record<string, string>> = { hour: 'h', hours: 'h', percent: '%', count: 'count' };

/**
 * Extension blocks (Trackunit `addExtendedData`: `BatteryPotential`, `EngineCoolantTemperature`, ...):
 * each numeric child of a dated block becomes a sensor value named after the element. Blocks without
 * a datetime or without numbers are left alone (they stay in `raw`), silently: extensions are normal.
 */
export function readExtensionBlock(block: AempNode, key: string): Fragment[] {
  const t = readTime(get(block, DATETIME));
  if (t.kind !== 'value') return [];
  const numbers: { child: string; value: number }[] = [];
  for (const [normalized, original] of normalizedKeys(block)) {
    if (NOT_A_VALUE.test(normalized)) continue;
    const n = readNumber(block[original]);
    if (n.kind === 'value') numbers.push({ child: original, value: n.value });
  }
  const sharedUnit = readText(get(block, aliases('Units', 'Unit')));
  const base = lowerCamel(key);
  return numbers.map(({ child, value }) => {
    const name = numbers.length === 1 || child === '#text' ? base : `${base}${upperFirst(lowerCamel(child))}`;
    const ownUnit = readText(get(block, aliases(`${child}Units`, `${child}Unit`)));
    const unit = ownUnit.kind === 'value' ? ownUnit.text : sharedUnit.kind === 'value' ? sharedUnit.text : CHILD_UNIT[child.toLowerCase()];
    return { kind: 'sensor', eventTime: t.time, name, value: unit !== undefined ? { value, unit } : { value }, rawKey: key, raw: block } satisfies Fragment;
  });
}

function upperFirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
