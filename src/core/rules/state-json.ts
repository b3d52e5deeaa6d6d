/**
 * JSON text written straight from the owned forms' columns (core/rules/owned.ts `saveJson`), the
 * same text `JSON.stringify` gives for the sub-state the form's `save` builds, at a fraction of
 * its cost: a checkpoint stores every changed asset's sub-states, and there the objects `save`
 * builds and V8's number formatting (about 100 ns per double, most of a state's serialisation)
 * were the larger part of the work.
 *
 * `jsonNumber` formats the doubles these states hold (integral times in milliseconds, meter
 * readings and coordinates with a few decimals) by integer arithmetic, and hands anything else to
 * `JSON.stringify`, so its text is always `JSON.stringify`'s.
 * @module
 */

/** Zeros to pad the low seven digits of a large integer. */
const PAD = ['', '0', '00', '000', '0000', '00000', '000000'];

/** The decimals of n/1000 (n = 1…999) as JSON writes them: `FRACTION[50]` is "05", `FRACTION[500]` is "5". */
const FRACTION = Array.from({ length: 1000 }, (_, n) => `${1000 + n}`.slice(1).replace(/0+$/, ''));

/** Integers below this (2^53) are exact: split in two parts each formatted as a small integer. */
const SAFE = 9_007_199_254_740_992;

/**
 * `JSON.stringify(x)` for a number: integers, and numbers of at most three decimals below about
 * two million, by integer formatting; others (more decimals, exponents, NaN and infinities, which
 * JSON writes as null) by `JSON.stringify`.
 */
export function jsonNumber(x: number): string {
  if (Number.isInteger(x)) {
    // -0 included: `(-0 | 0)` is 0, as JSON writes it.
    if (x <= 2_147_483_647 && x >= -2_147_483_648) return `${x | 0}`;
    if (x < SAFE && x > -SAFE) {
      const y = x < 0 ? -x : x;
      const hi = Math.floor(y / 1e7);
      const lo = `${y - hi * 1e7}`;
      return `${x < 0 ? '-' : ''}${hi}${PAD[7 - lo.length] as string}${lo}`;
    }
    return JSON.stringify(x);
  }
  // x = k/1000 exactly as doubles go (k/1000 is the double nearest that decimal): its shortest
  // decimal text is k's digits with the point three places in, trailing zeros dropped. Below
  // 2^31 thousandths the doubles are far closer together than 0.001, so no shorter text rounds to x.
  const k = Math.round(x * 1000);
  if (k / 1000 === x && k < 2_147_483_647 && k > -2_147_483_647) {
    const m = k < 0 ? -k : k;
    const whole = Math.floor(m / 1000);
    return `${k < 0 ? '-' : ''}${whole}.${FRACTION[m - whole * 1000] as string}`;
  }
  return JSON.stringify(x);
}

/** Characters a JSON string holds as they are (no quote, backslash, control character or surrogate). */
// eslint-disable-next-line no-control-regex -- the control characters are what this class excludes: JSON escapes them
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/** `JSON.stringify(s)` for a string: short plain strings quoted as they are. */
export function jsonString(s: string): string {
  return s.length <= 64 && PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** `JSON.stringify(v)` for a value a form keeps as it was given (stored objects it does not hold in columns). */
export function jsonValue(v: unknown): string {
  return JSON.stringify(v) ?? 'null';
}

/**
 * Whether JSON.stringify writes an object's key `k` where it was set, as assigning it sets it: not
 * `__proto__` (assigning it sets the object's prototype instead), nor an array index (JSON writes
 * those first, in numeric order; here any digits, to be safe). A form writing an object's keys in
 * its own order leaves one with another key to JSON.stringify.
 */
export const plainKey = (k: string): boolean => k !== '__proto__' && !/^\d+$/.test(k);
