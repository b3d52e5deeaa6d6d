/** Threshold rules the maintenance tests share, in the rule's parsed form (durations in ms). */
import type { ThresholdRule } from '../../src/core/rules/maintenance/types.js';

/** Oil pressure below 1.5 bar, cleared at 2; fires on the first sample, no cooldown; samples 10 min apart at most. */
export const lowOil: ThresholdRule = {
  name: 'low-oil',
  sensor: 'oilPressure',
  direction: 'below',
  threshold: 1.5,
  clearAt: 2,
  durationMs: 0,
  maxGapMs: 10 * 60_000,
  cooldownMs: 0,
  severity: 'warning',
};
