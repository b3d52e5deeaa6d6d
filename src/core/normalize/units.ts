/**
 * Unit normalisation, for ISO 15143-3 (AEMP 2.0) feeds and the MQTT decoders' `meters.*.unit`.
 * AEMP is metric, but feeds spell units many ways (`litre`, `liter`, `l`, `KILOMETRE`, `kilometres
 * per hour`, ...) and a few send imperial units or minutes; devices on MQTT send miles, minutes or
 * seconds just as often. Every quantity is converted to the canonical unit of its dimension
 * (hours, kilometres, litres, metres, kilograms, km/h); the caller keeps the original string when a
 * conversion actually changed the number.
 * @module
 */

/** The physical dimensions AEMP quantities come in, each with one canonical unit. */
export type UnitDimension = 'duration' | 'distance' | 'altitude' | 'volume' | 'mass' | 'speed';

/** Canonical unit per dimension (as written on canonical events and sensor values). */
export const CANONICAL_UNIT: Readonly<Record<UnitDimension, string>> = {
  duration: 'h',
  distance: 'km',
  altitude: 'm',
  volume: 'L',
  mass: 'kg',
  speed: 'km/h',
};

const HOUR = 1;
const MILE_KM = 1.609344;
const FOOT_M = 0.3048;
const US_GALLON_L = 3.785411784;
const IMPERIAL_GALLON_L = 4.54609;
const POUND_KG = 0.45359237;

/** Factor to the canonical unit, keyed by the normalised spelling (see {@link normalizeUnitName}). */
const FACTORS: Readonly<Record<UnitDimension, Readonly<Record<string, number>>>> = {
  duration: {
    h: HOUR, hr: HOUR, hrs: HOUR, hour: HOUR, hours: HOUR,
    min: 1 / 60, mins: 1 / 60, minute: 1 / 60, minutes: 1 / 60,
    s: 1 / 3600, sec: 1 / 3600, second: 1 / 3600, seconds: 1 / 3600,
  },
  distance: {
    km: 1, kms: 1, kilometre: 1, kilometres: 1, kilometer: 1, kilometers: 1,
    mi: MILE_KM, mile: MILE_KM, miles: MILE_KM,
    m: 0.001, metre: 0.001, metres: 0.001, meter: 0.001, meters: 0.001,
  },
  altitude: {
    m: 1, metre: 1, metres: 1, meter: 1, meters: 1,
    ft: FOOT_M, foot: FOOT_M, feet: FOOT_M,
    km: 1000, kilometre: 1000, kilometres: 1000, kilometer: 1000, kilometers: 1000,
  },
  volume: {
    l: 1, lt: 1, ltr: 1, litre: 1, litres: 1, liter: 1, liters: 1,
    gal: US_GALLON_L, gallon: US_GALLON_L, gallons: US_GALLON_L, usgallon: US_GALLON_L, usgallons: US_GALLON_L,
    impgal: IMPERIAL_GALLON_L, imperialgallon: IMPERIAL_GALLON_L, imperialgallons: IMPERIAL_GALLON_L,
    ml: 0.001, millilitre: 0.001, millilitres: 0.001, milliliter: 0.001, milliliters: 0.001,
  },
  mass: {
    kg: 1, kgs: 1, kilogram: 1, kilograms: 1, kilogramme: 1, kilogrammes: 1,
    // AEMP 2.0 is metric: a bare "ton" in these feeds is the metric tonne.
    t: 1000, ton: 1000, tons: 1000, tonne: 1000, tonnes: 1000, metricton: 1000, metrictons: 1000,
    lb: POUND_KG, lbs: POUND_KG, pound: POUND_KG, pounds: POUND_KG,
    g: 0.001, gram: 0.001, grams: 0.001,
  },
  speed: {
    kmh: 1, kmph: 1, kph: 1, 'km/h': 1, kilometresperhour: 1, kilometersperhour: 1, kilometreperhour: 1, kilometerperhour: 1,
    mph: MILE_KM, milesperhour: MILE_KM, mileperhour: MILE_KM, 'mi/h': MILE_KM,
    'm/s': 3.6, mps: 3.6, metrespersecond: 3.6, meterspersecond: 3.6,
  },
};

/** Lower-case, drop spaces, dots, underscores and hyphens: `Kilometres per hour` → `kilometresperhour`. */
export function normalizeUnitName(unit: string): string {
  return unit.trim().toLowerCase().replace(/[\s._-]+/g, '');
}

/** Result of converting one quantity. `converted` is true when the number changed. */
export type UnitConversion =
  | { readonly ok: true; readonly value: number; readonly unit: string; readonly converted: boolean }
  | { readonly ok: false; readonly reason: string };

/**
 * Converts `value` given in `unit` to the canonical unit of `dimension`. A missing unit means the
 * canonical one (the standard is metric). Unknown spellings are refused rather than guessed.
 */
export function toCanonical(value: number, unit: string | undefined, dimension: UnitDimension): UnitConversion {
  const canonical = CANONICAL_UNIT[dimension];
  if (unit === undefined || unit.trim() === '') return { ok: true, value, unit: canonical, converted: false };
  const factor = unitFactor(unit, dimension);
  if (factor === undefined)
    return { ok: false, reason: `unknown ${dimension} unit ${JSON.stringify(unit)}; expected one of ${knownUnits(dimension)}` };
  return { ok: true, value: factor === 1 ? value : roundConverted(value * factor), unit: canonical, converted: factor !== 1 };
}

/** Factor from `unit` to the canonical unit of `dimension`, or undefined when the spelling is unknown. */
export function unitFactor(unit: string, dimension: UnitDimension): number | undefined {
  return FACTORS[dimension][normalizeUnitName(unit)];
}

/** True when `unitName` (already normalised) is a known spelling in `dimension`; used for unit-suffixed keys. */
export function isUnitName(unitName: string, dimension: UnitDimension): boolean {
  return FACTORS[dimension][unitName] !== undefined;
}

function knownUnits(dimension: UnitDimension): string {
  return Object.keys(FACTORS[dimension]).slice(0, 8).join(', ');
}

/** Conversions produce binary noise (1.609344 × 3 = 4.828032000000001); 9 decimals is far below any meter's resolution. */
function roundConverted(v: number): number {
  return Math.round(v * 1e9) / 1e9;
}
