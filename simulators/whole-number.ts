/**
 * The simulators' command lines take numbers as whole numbers in a range: one reading for both.
 * @module
 */

/** `value` as a whole number from `min` to `max` (digits only: not `''`, `1.5`, `-1`, `1e3` or `0x10`), or undefined. */
export function readWholeNumber(value: string, min: number, max: number = Number.MAX_SAFE_INTEGER): number | undefined {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

/** The range `min`..`max` as a refusal says it (`1 or more`, `from 0 to 65535`). */
export function rangeText(min: number, max: number = Number.MAX_SAFE_INTEGER): string {
  return max === Number.MAX_SAFE_INTEGER ? `${min} or more` : min === max ? `${min}` : `from ${min} to ${max}`;
}

/**
 * An in-process option (`tokenTtlSeconds` of `startErpSimulator`) read as its command-line option
 * is ({@link readWholeNumber}): nothing when it is not given, else it when it is a whole number from
 * `min` to `max`; anything else is a RangeError naming the option and the range, `meaning` saying
 * what a special value does.
 */
export function checkWholeNumber(name: string, value: number | undefined, min: number, max: number = Number.MAX_SAFE_INTEGER, meaning = ''): void {
  if (value === undefined) return;
  if (typeof value === 'number' && readWholeNumber(String(value), min, max) !== undefined) return;
  throw new RangeError(`${name} takes a whole number, ${rangeText(min, max)}${meaning}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
}
