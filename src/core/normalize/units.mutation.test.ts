/** Unit factors pinned by a mutation audit. */
import { describe, expect, it } from 'vitest';
import { toCanonical } from './units.js';

describe('toCanonical: the metric tonne', () => {
  it('reads "t" as a metric tonne, like "ton" in AEMP feeds', () => {
    // Mutation: the factor of "t" changed.
    expect(toCanonical(2.5, 't', 'mass')).toEqual({ ok: true, value: 2500, unit: 'kg', converted: true });
    expect(toCanonical(2.5, 'tonne', 'mass')).toEqual({ ok: true, value: 2500, unit: 'kg', converted: true });
  });
});
