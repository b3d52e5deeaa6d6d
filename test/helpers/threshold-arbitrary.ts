/** Generated threshold rules for the maintenance rule's property tests. */
import fc from 'fast-check';
import type { ThresholdRule } from '../../src/core/rules/maintenance/types.js';

/**
 * A threshold rule on one of `sensors` (threshold 20–80, hysteresis, duration, gap, cooldown, a
 * repeat window longer than the duration as the schema asks), without its name; with `filtered`,
 * some apply only to assets of fleet `x`.
 */
export function thresholdRule(sensors: readonly string[], options: { readonly filtered?: boolean } = {}): fc.Arbitrary<Omit<ThresholdRule, 'name'>> {
  return fc
    .record({
      sensor: fc.constantFrom(...sensors),
      above: fc.boolean(),
      at: fc.integer({ min: 20, max: 80 }),
      band: fc.constantFrom(0, 3, 10),
      durationMs: fc.constantFrom(0, 20_000, 60_000),
      maxGapMs: fc.constantFrom(30_000, 600_000),
      cooldownMs: fc.constantFrom(0, 60_000, 600_000),
      repeat: fc.option(fc.record({ count: fc.integer({ min: 2, max: 3 }), withinMs: fc.constantFrom(120_000, 900_000) })),
      filtered: options.filtered === true ? fc.boolean() : fc.constant(false),
    })
    .map(
      (r): Omit<ThresholdRule, 'name'> => ({
        sensor: r.sensor,
        direction: r.above ? 'above' : 'below',
        threshold: r.at,
        clearAt: r.above ? r.at - r.band : r.at + r.band,
        durationMs: r.durationMs,
        maxGapMs: r.maxGapMs,
        cooldownMs: r.cooldownMs,
        // The schema asks for a window longer than the duration.
        ...(r.repeat && r.repeat.withinMs > r.durationMs ? { repeat: r.repeat } : {}),
        severity: 'warning',
        ...(r.filtered ? { appliesTo: { attributes: { fleet: ['x'] } } } : {}),
      }),
    );
}
