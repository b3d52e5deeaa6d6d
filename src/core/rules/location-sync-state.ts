/**
 * What location sync's two forms share (location-sync.ts, the pure rule, and location-sync-owned.ts,
 * its owned form): the options, the stored state and its parts, and the arithmetic both must do
 * alike. Kept apart so that the owned form does not import the pure rule that makes it.
 * @module
 */
import type { ReorderState } from './event-time.js';
import type { ZoneTrackState } from './zones/zone-tracker.js';
import type { ZoneTracking } from './zones/tracking.js';
import type { AssetFilter } from './maintenance/types.js';

export interface LocationSyncOptions {
  /** Movement that triggers a sync, metres. @default 100 */
  readonly minDistanceM: number;
  /** Sync at least this often while an asset reports, ms. @default 1 hour */
  readonly heartbeatMs: number;
  /** Configured zones with their dwell settings; absent: the zone the source reported is used. */
  readonly zones?: ZoneTracking;
  /** Event-time reorder window, ms; 0 processes each position at once. @default 0 */
  readonly allowedLatenessMs?: number;
  /**
   * Without configured zones: fixes less accurate than this change nothing sent (with zones,
   * `zones.maxAccuracyM` rules); 0 = use all. @default 0
   */
  readonly maxAccuracyM?: number;
  /** Only assets matching this filter are synced; others keep no location state. @default all */
  readonly appliesTo?: AssetFilter;
}

export interface Fix {
  /** Absent (both) for a zone sighting: the reader knows the zone, not where in it. */
  readonly lat?: number;
  readonly lng?: number;
  /** What goes to the ERP as `warehouseLocation`: the zone's location code (or source zone). */
  readonly zone?: string;
  /** Name of the configured zone, when zones are configured and the asset is in one. */
  readonly zoneName?: string;
  /** The zone the source reported, when a configured zone's code stands in `zone` instead. */
  readonly sourceZone?: string;
  readonly eventTime: number;
  /** Too inaccurate to change zone membership (so an idle watermark does not settle dwell on it). */
  readonly inaccurate?: true;
  /** An inaccurate fix's: the event time of the newest fix before it that placed the asset (accurate, or a reader's). */
  readonly locatedAt?: number;
}

/** A position waiting in the reorder buffer (plain JSON). */
export interface BufferedFix {
  readonly t: number;
  /** Absent (both) for a zone sighting. */
  readonly lat?: number;
  readonly lng?: number;
  /** Zone reported by the source. */
  readonly zone?: string;
  /** Zones the fix is inside, computed on arrival (absent: none). */
  readonly in?: readonly string[];
  /** Zones whose hysteresis band holds the fix (absent: none). */
  readonly near?: readonly string[];
  /** Too inaccurate to change zone membership. */
  readonly inaccurate?: true;
}

export interface LocationSyncState {
  /** Newest position processed (by event time). */
  readonly last?: Fix;
  /** Position last handed to the outbox. */
  readonly synced?: Fix;
  /** Zone membership (zones configured only). */
  readonly zones?: ZoneTrackState;
  /** Positions waiting for the allowed lateness (lateness > 0 only). */
  readonly order?: ReorderState<BufferedFix>;
}

export const LOCATION_UPDATE = 'location.update';

/**
 * Coordinates are kept to 7 decimals (about 1 cm), far below GPS accuracy: the state document is
 * serialised at every commit, and a full-precision double costs several times more to print.
 */
export const roundCoordinate = (v: number): number => Math.round(v * 1e7) / 1e7;
