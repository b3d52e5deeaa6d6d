import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonNumber, jsonString, jsonValue } from './state-json.js';

describe('state JSON text', () => {
  it('writes every number as JSON.stringify does', () => {
    const numbers = fc.oneof(
      fc.double(),
      fc.double({ min: -1e7, max: 1e7, noNaN: true }),
      // Readings and coordinates: a few decimals.
      fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }).map((k) => k / 1000),
      fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }).map((k) => k / 100),
      fc.integer({ min: -200_000_000, max: 200_000_000 }).map((k) => k / 10),
      fc.integer({ min: -2_147_483_648, max: 2_147_483_647 }),
      // Times in milliseconds and other large integers, up to and past 2^53.
      fc.integer({ min: 0, max: 2 ** 30 }).map((k) => 1_796_205_680_256 + k * 1000 + (k % 7)),
      fc.maxSafeInteger().map((k) => k),
      fc.constantFrom(-0, 0.1 + 0.2, 1e21, -1e21, 2 ** 53, -(2 ** 53), 2 ** 31, -(2 ** 31), 2 ** 31 - 1, 2_147_483.647, 2_147_483.648, 0.001, -0.001, 0.0005, 5e-7, NaN, Infinity, -Infinity),
    );
    fc.assert(
      fc.property(numbers, (x) => {
        expect(jsonNumber(x)).toBe(JSON.stringify(x));
      }),
      { numRuns: 200_000 },
    );
  });

  it('writes the decimal forms exactly', () => {
    expect([0.05, -0.05, 1.5, 1114.986, 27.6, -3.02, 0.001].map(jsonNumber)).toEqual(['0.05', '-0.05', '1.5', '1114.986', '27.6', '-3.02', '0.001']);
    expect([1_796_205_680_256, -1_796_205_680_256, 10_000_000, 12_000_000_001].map(jsonNumber)).toEqual(['1796205680256', '-1796205680256', '10000000', '12000000001']);
  });

  it('writes every string as JSON.stringify does', () => {
    const strings = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.constantFrom('EQ-7|service-250h|1000h@b0', 'a"b', 'a\\b', '\n', '\u2028', '\ud800', 'x'.repeat(65)));
    fc.assert(
      fc.property(strings, (s) => {
        expect(jsonString(s)).toBe(JSON.stringify(s));
      }),
      { numRuns: 20_000 },
    );
  });

  it('writes other values as JSON.stringify does, and nothing as null', () => {
    expect(jsonValue({ a: [1, 'x', null], b: undefined })).toBe('{"a":[1,"x",null]}');
    expect(jsonValue(undefined)).toBe('null');
  });
});
