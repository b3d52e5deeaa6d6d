/**
 * Sensor readings against the unit their threshold rules are written in (`unit` on a threshold
 * rule). A sensor value's unit is otherwise only a label: a reading sent in °F to a rule in °C
 * would be compared as if it were °C. Here a reading in another unit is converted when both are
 * temperatures (°C, °F, K) or pressures (kPa, bar, psi, Pa, mbar), exactly as defined; a reading
 * in any other unit is refused (quarantined with a reason naming the rule and both units), never
 * compared. A reading without a unit is taken to be in the rule's unit, as before.
 *
 * Only the rules that apply to the reading's asset (their `appliesTo`) count: a reading is judged
 * once its asset is known (the ingestor does it after identity), so a unit no rule on that asset
 * compares in refuses nothing, and nothing is converted for an asset no such rule applies to. Rules
 * on one sensor may give different units for different assets (°C for the EU fleet, °F for the US
 * one): each asset's reading is converted to the unit of the rules that apply to it. Rules that
 * can apply to one asset give one unit (config validation refuses others).
 * @module
 */
import type { AssetRecord } from '../model/assets.js';
import type { CanonicalEvent, SensorEvent, SensorValue } from '../model/events.js';
import { matchesFilter, type AssetFilter } from '../rules/maintenance/types.js';
import { normalizeUnitName } from './units.js';

/** A threshold rule that gives its sensor a unit: its name (for the reason) and the assets it applies to. */
export interface SensorUnitRule {
  readonly name: string;
  /** Absent: every asset. */
  readonly appliesTo?: AssetFilter;
}

/** What the threshold rules on one sensor that give one unit expect. */
export interface SensorUnitExpectation {
  /** The unit the rules compare in, as the first of them spells it (`°C`, `bar`, ...). */
  readonly unit: string;
  /** The rules on this sensor that gave it (however spelled). */
  readonly rules: readonly SensorUnitRule[];
}

/**
 * Sensor → what its threshold rules expect, one entry per unit they give (the common case: one).
 * The rules of two entries apply to no asset in common (config validation); an asset the rules of
 * more than one did apply to would be judged by the first.
 */
export type SensorUnits = ReadonlyMap<string, readonly SensorUnitExpectation[]>;

type Quantity = 'temperature' | 'pressure';

/** A known unit: its quantity, and how to take a value to (and from) that quantity's base unit (°C, kPa). */
interface KnownUnit {
  readonly quantity: Quantity;
  readonly symbol: string;
  readonly toBase: (v: number) => number;
  readonly fromBase: (v: number) => number;
}

const CELSIUS: KnownUnit = { quantity: 'temperature', symbol: '°C', toBase: (v) => v, fromBase: (v) => v };
const FAHRENHEIT: KnownUnit = { quantity: 'temperature', symbol: '°F', toBase: (v) => ((v - 32) * 5) / 9, fromBase: (v) => (v * 9) / 5 + 32 };
const KELVIN: KnownUnit = { quantity: 'temperature', symbol: 'K', toBase: (v) => v - 273.15, fromBase: (v) => v + 273.15 };
const linear = (symbol: string, kPa: number): KnownUnit => ({ quantity: 'pressure', symbol, toBase: (v) => v * kPa, fromBase: (v) => v / kPa });
/** 1 psi = 1 lbf/in² = 0.45359237 kg × 9.80665 m/s² / (0.0254 m)², exactly by definition. */
const PSI_KPA = (0.45359237 * 9.80665) / (0.0254 * 0.0254) / 1000;

/** Keyed by the normalised spelling ({@link normalizeUnitName}): lower case, no spaces, dots, `_` or `-`. */
const KNOWN: Readonly<Record<string, KnownUnit>> = {
  c: CELSIUS, '°c': CELSIUS, '℃': CELSIUS, degc: CELSIUS, cel: CELSIUS, celsius: CELSIUS, degreec: CELSIUS, degreesc: CELSIUS, degreecelsius: CELSIUS, degreescelsius: CELSIUS,
  // UCUM (as `Cel` is): `[degF]` and `[psi]`.
  f: FAHRENHEIT, '[degf]': FAHRENHEIT, '°f': FAHRENHEIT, '℉': FAHRENHEIT, degf: FAHRENHEIT, fahrenheit: FAHRENHEIT, degreef: FAHRENHEIT, degreesf: FAHRENHEIT, degreefahrenheit: FAHRENHEIT, degreesfahrenheit: FAHRENHEIT,
  k: KELVIN, kelvin: KELVIN, kelvins: KELVIN,
  kpa: linear('kPa', 1), kilopascal: linear('kPa', 1), kilopascals: linear('kPa', 1),
  pa: linear('Pa', 0.001), pascal: linear('Pa', 0.001), pascals: linear('Pa', 0.001),
  bar: linear('bar', 100), bars: linear('bar', 100),
  mbar: linear('mbar', 0.1), millibar: linear('mbar', 0.1), millibars: linear('mbar', 0.1),
  psi: linear('psi', PSI_KPA), '[psi]': linear('psi', PSI_KPA),
};

function known(unit: string): KnownUnit | undefined {
  return KNOWN[normalizeUnitName(unit)];
}

/** The same unit, however spelled (`Cel`, `°C`, `degC`), or the same text when the unit is not one of those known. */
export function sameUnit(a: string, b: string): boolean {
  const ka = known(a);
  const kb = known(b);
  if (ka !== undefined || kb !== undefined) return ka !== undefined && kb !== undefined && ka.quantity === kb.quantity && ka.toBase(1) === kb.toBase(1) && ka.toBase(0) === kb.toBase(0);
  return normalizeUnitName(a) === normalizeUnitName(b);
}

/** The units a reading may come in for a rule in `unit` (for the reason), or undefined when it is not a known one. */
function convertibleFrom(unit: string): string | undefined {
  const k = known(unit);
  if (k === undefined) return undefined;
  const others = [...new Set(Object.values(KNOWN).filter((o) => o.quantity === k.quantity && !sameUnit(o.symbol, unit)).map((o) => o.symbol))];
  return others.length > 0 ? others.join(', ') : undefined;
}

/** 9 decimals, far below any sensor's resolution: (212 − 32) × 5 / 9 is 100, not 99.99999999999999. */
const round = (v: number): number => Math.round(v * 1e9) / 1e9;

export type SensorUnitCheck = { readonly ok: true; readonly event: CanonicalEvent } | { readonly ok: false; readonly reason: string };

/** Whether a reading in `from` is compared by a rule in `to`: the same unit, or one that converts to it (for config check). */
export function convertsTo(from: string, to: string): boolean {
  if (sameUnit(from, to)) return true;
  const a = known(from);
  const b = known(to);
  return a !== undefined && b !== undefined && a.quantity === b.quantity;
}

/**
 * `event` with each sensor value a threshold rule that applies to `asset` reads in that rule's
 * unit: the same event when nothing needed converting, a copy with the values converted, or the
 * reason the event cannot be compared (its unit is neither the rule's nor convertible to it). The
 * ingestor asks this once the asset is known; such an event is quarantined (`invalid`) with the
 * reason, counted, and can be replayed once the source or the rule is fixed.
 */
export function alignSensorUnits(event: CanonicalEvent, units: SensorUnits | undefined, asset: AssetRecord): SensorUnitCheck {
  if (units === undefined || units.size === 0 || event.kind !== 'sensor') return { ok: true, event };
  let values: Record<string, SensorValue> | undefined;
  for (const name in event.values) {
    if (!Object.hasOwn(event.values, name)) continue;
    const expectations = units.get(name);
    const v = event.values[name] as SensorValue;
    if (expectations === undefined || v.unit === undefined || v.unit === null) continue;
    const isText = typeof v.unit === 'string';
    if (isText && v.unit.trim() === '') continue;
    let expected = expectations.length === 1 ? expectations[0] : undefined;
    if (expected !== undefined) {
      // One unit on this sensor (the common case): a reading in it needs no asset's rules.
      if (isText && sameUnit(v.unit, expected.unit)) continue;
      if (!appliesToAsset(expected, asset)) continue;
    } else {
      // Units by asset: those of the rules that apply to this one (none: nothing to judge).
      expected = expectationFor(expectations, asset);
      if (expected === undefined || (isText && sameUnit(v.unit, expected.unit))) continue;
    }
    // Unchecked JSON: a unit sent as a number says nothing of what the value is in.
    if (!isText) return { ok: false, reason: `sensor ${name} unit must be text such as ${JSON.stringify(expected.unit)} (threshold rule ${rulesOf(expected, asset).join(', ')} compares it in that unit), got ${JSON.stringify(v.unit)}` };
    const from = known(v.unit);
    const to = known(expected.unit);
    if (from === undefined || to === undefined || from.quantity !== to.quantity) {
      const rules = rulesOf(expected, asset);
      const which = rules.length === 1 ? `threshold rule ${rules[0] ?? ''} compares` : `threshold rules ${rules.join(', ')} compare`;
      const alternatives = convertibleFrom(expected.unit);
      return {
        ok: false,
        reason:
          `sensor ${name} is in ${JSON.stringify(v.unit)} but ${which} it in ${JSON.stringify(expected.unit)} (the rule's unit), ` +
          `which ${JSON.stringify(v.unit)} does not convert to, so it is not compared: send ${name} in ${expected.unit}` +
          `${alternatives !== undefined ? ` (or in ${alternatives}: converted)` : ''}, or correct the rule's unit, then replay the message`,
      };
    }
    values ??= { ...event.values };
    values[name] = { value: round(to.fromBase(from.toBase(v.value))), unit: expected.unit };
  }
  return values === undefined ? { ok: true, event } : { ok: true, event: { ...event, values } satisfies SensorEvent };
}

/** The names of `expected`'s rules that apply to `asset`, for a reason (only when refusing). */
function rulesOf(expected: SensorUnitExpectation, asset: AssetRecord): string[] {
  return expected.rules.filter((r) => matchesFilter(asset, r.appliesTo)).map((r) => r.name);
}

/** Whether one of `expected`'s rules applies to `asset` (a plain loop: asked per reading). */
function appliesToAsset(expected: SensorUnitExpectation, asset: AssetRecord): boolean {
  const rules = expected.rules;
  for (let i = 0; i < rules.length; i++) if (matchesFilter(asset, (rules[i] as SensorUnitRule).appliesTo)) return true;
  return false;
}

/** The first of `expectations` with a rule that applies to `asset` (config validation leaves at most one). */
function expectationFor(expectations: readonly SensorUnitExpectation[], asset: AssetRecord): SensorUnitExpectation | undefined {
  for (let i = 0; i < expectations.length; i++) {
    const e = expectations[i] as SensorUnitExpectation;
    if (appliesToAsset(e, asset)) return e;
  }
  return undefined;
}

/**
 * Whether the unit of one of `event`'s sensor values may be refused for some asset (any rule with a
 * unit counts, whatever its `appliesTo`, in each unit the rules on that sensor give): for a source
 * that groups events before their asset is known (an AEMP snapshot's blocks), so such a reading
 * goes in a message of its own. Only grouping: {@link alignSensorUnits} decides.
 */
export function mayRefuseSensorUnits(event: CanonicalEvent, units: SensorUnits | undefined): boolean {
  if (units === undefined || units.size === 0 || event.kind !== 'sensor') return false;
  for (const name in event.values) {
    if (!Object.hasOwn(event.values, name)) continue;
    const expectations = units.get(name);
    const v = event.values[name] as SensorValue;
    if (expectations === undefined || v.unit === undefined || v.unit === null) continue;
    if (typeof v.unit !== 'string') return true;
    if (v.unit.trim() === '') continue;
    for (const expected of expectations) if (!convertsTo(v.unit, expected.unit)) return true;
  }
  return false;
}

/** Whether `unit` is one the threshold rules convert readings to and from (for config check). */
export function isConvertibleUnit(unit: string): boolean {
  return known(unit) !== undefined;
}
