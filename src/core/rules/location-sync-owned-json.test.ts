/**
 * The JSON text of location sync's state, written without JSON.stringify: coordinates of seven
 * decimals (coordinateJson) as JSON.stringify writes them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { coordinateJson, roundCoordinate } from './location-sync-state.js';

const T0 = Date.UTC(2026, 9, 1, 8);

/** Coordinates roundCoordinate gives in [-180, 180]: near the ends, with trailing zeros, tiny, -0. */
const coordinate = fc.oneof(
  fc.integer({ min: -1_800_000_000, max: 1_800_000_000 }).map((k) => k / 1e7),
  fc.double({ min: -180, max: 180, noNaN: true }).map(roundCoordinate),
  fc.integer({ min: 0, max: 100_000 }).map((k) => (1_800_000_000 - k) / 1e7),
  fc.integer({ min: 0, max: 100_000 }).map((k) => (k - 1_800_000_000) / 1e7),
  fc.tuple(fc.integer({ min: -18_000, max: 18_000 }), fc.constantFrom(1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)).map(([k, p]) => ((k * p) % 1_800_000_000) / 1e7),
  fc.integer({ min: -1_000, max: 1_000 }).map((k) => k / 1e7),
  fc.constantFrom(-0, 0, 180, -180, 179.9999999, -179.9999999, 1e-6, -1e-6, 9e-7, -1e-7, 0.0000012, 99.9999999, 100.0000001, 9.9999999, 10.0000001),
);

describe('location sync, owned form: saveJson writes JSON.stringify(save) to the character', () => {
  it('writes every coordinate roundCoordinate gives as JSON.stringify does, and other numbers too', () => {
    const numbers = fc.oneof(
      { weight: 6, arbitrary: coordinate },
      { weight: 1, arbitrary: fc.double() },
      { weight: 1, arbitrary: fc.double({ min: -250, max: 250, noNaN: true }) },
      { weight: 1, arbitrary: fc.oneof(fc.maxSafeInteger(), fc.integer({ min: 0, max: 2 ** 30 }).map((k) => T0 + k * 1000), fc.constantFrom(2 ** 53, -(2 ** 53), 2 ** 53 - 1, 1e21, -1e21, 1e16, 999_999_999_999_999)) },
    );
    fc.assert(
      fc.property(numbers, (x) => {
        expect(coordinateJson(x)).toBe(JSON.stringify(x));
      }),
      { numRuns: 300_000 },
    );
    // Every coordinate around the ends, zero, each power of ten and the limit of the integer path (2^31 ten-millionths).
    for (const centre of [0, 1e6, 1e7, 1e8, 1e9, 1_800_000_000, 2_147_483_647]) {
      for (const sign of [1, -1]) {
        for (let k = centre - 20_000; k <= centre + 20_000; k++) {
          const x = (sign * k) / 1e7;
          if (coordinateJson(x) !== JSON.stringify(x)) expect(coordinateJson(x), `${k} ten-millionths`).toBe(JSON.stringify(x));
        }
      }
    }
    expect([50, 50.1, -10.0000001, 179.9999999, 0.000001, -0.0000123, 9e-7, -0, 0.1 + 0.2, NaN, T0, 1e21].map(coordinateJson)).toEqual(['50', '50.1', '-10.0000001', '179.9999999', '0.000001', '-0.0000123', '9e-7', '0', '0.30000000000000004', 'null', `${T0}`, '1e+21']);
  });
});
