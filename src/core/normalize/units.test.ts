import { describe, expect, it } from 'vitest';
import { toCanonical } from './units.js';

describe('toCanonical', () => {
  it.each([
    [100, 'kilometre', 'distance', 100, false],
    [100, 'KILOMETRE', 'distance', 100, false],
    [100, 'Kilometers', 'distance', 100, false],
    [100, 'mile', 'distance', 160.9344, true],
    [100, 'Miles', 'distance', 160.9344, true],
    [10, 'litre', 'volume', 10, false],
    [10, 'l', 'volume', 10, false],
    [10, 'gallons', 'volume', 37.85411784, true],
    [10, 'Imperial Gallons', 'volume', 45.4609, true],
    [90, 'minutes', 'duration', 1.5, true],
    [2, 'hours', 'duration', 2, false],
    [1000, 'feet', 'altitude', 304.8, true],
    [42, 'metres', 'altitude', 42, false],
    [3, 'ton', 'mass', 3000, true],
    [3, 'lbs', 'mass', 1.36077711, true],
    [50, 'kilometres per hour', 'speed', 50, false],
    [50, 'km/h', 'speed', 50, false],
    [50, 'mph', 'speed', 80.4672, true],
  ] as const)('%d %s (%s) → %d', (value, unit, dimension, expected, converted) => {
    const r = toCanonical(value, unit, dimension);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value).toBeCloseTo(expected, 9);
      expect(r.converted).toBe(converted);
    }
  });

  it('a missing unit means the metric unit of the standard', () => {
    expect(toCanonical(7, undefined, 'volume')).toEqual({ ok: true, value: 7, unit: 'L', converted: false });
    expect(toCanonical(7, '  ', 'distance')).toEqual({ ok: true, value: 7, unit: 'km', converted: false });
  });

  it('refuses unknown spellings instead of guessing', () => {
    const r = toCanonical(7, 'furlong', 'distance');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/unknown distance unit "furlong"; expected one of km/);
  });

  it('rounds away binary noise from conversions', () => {
    expect(toCanonical(3, 'mile', 'distance')).toEqual({ ok: true, value: 4.828032, unit: 'km', converted: true });
  });
});
