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
