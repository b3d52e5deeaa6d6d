/**
 * Mutation-audit tests for reading times: the Gregorian leap-year rule for centuries.
 */
import { describe, expect, it } from 'vitest';
import { readTime } from './aemp-dialect.js';

describe('readTime (mutation audit)', () => {
  // Kills: `year % 4 === 0` alone as the leap-year rule (29 February 2100 rolled over to 1 March).
  it('refuses 29 February of a century year that is not a leap year, and reads it in 2000', () => {
    expect(readTime('2100-02-29T00:00:00Z')).toEqual({ kind: 'invalid', raw: '2100-02-29T00:00:00Z' });
    expect(readTime('2000-02-29T12:00:00Z')).toEqual({ kind: 'value', time: Date.UTC(2000, 1, 29, 12) });
    expect(readTime('2028-02-29')).toEqual({ kind: 'value', time: Date.UTC(2028, 1, 29) });
  });
});
