import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTime } from './iso-format.js';

describe('isoTime', () => {
  it('writes what toISOString writes, for any time', () => {
    // Mutations: a leap day off by one, a month or hour boundary, the millisecond padding.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), (ms) => {
        expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 20_000 },
    );
    // Every day of four centuries' leap rules (1900 not, 2000 yes), at its first and last millisecond.
    for (let day = 0; day < 365 * 500; day += 1) {
      for (const ms of [day * 86_400_000, day * 86_400_000 + 86_399_999]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it('leaves times it does not write to the Date: before 1970, from 10000 on, fractions of a millisecond', () => {
    for (const ms of [-1, -86_400_001, 253_402_300_800_000, 8.64e15, 1_790_841_710_000.5, 0, 253_402_300_799_999]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});
