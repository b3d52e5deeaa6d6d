/**
 * What a rule needs to track zone membership: the index of configured zones and the dwell
 * settings. Built once from config (see ../index.ts) and shared by the location and inventory rules.
 * @module
 */
import type { ZoneIndex } from './zone-index.js';
import type { DwellOptions } from './zone-tracker.js';

export interface ZoneTracking {
  readonly index: ZoneIndex;
  readonly dwell: DwellOptions;
  /** Fixes less accurate than this (reported `accuracyM`) leave zone membership alone; 0 = use all. @default 0 */
  readonly maxAccuracyM: number;
}
