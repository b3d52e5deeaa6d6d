/**
 * What location sync's two forms share (location-sync.ts, the pure rule, and location-sync-owned.ts,
 * its owned form): the options, the stored state and its parts, and the arithmetic both must do
 * alike. Kept apart so that the owned form does not import the pure rule that makes it.
 * @module
 */
import type { ReorderState } from './event-time.js';
import { enteredZones, type ZoneTrackState } from './zones/zone-tracker.js';
import { HELD, zoneOfState, type ZoneTracking } from './zones/tracking.js';
import type { Zone } from './zones/geometry.js';
import type { AssetFilter } from './maintenance/types.js';
import { jsonNumber } from './state-json.js';

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
  /**
   * An inaccurate fix's: where that fix (at `locatedAt`) was, when it was a GPS fix, and the zone
   * its source reported with it. An idle watermark settles a dwell there, as if the inaccurate fix
   * had not come (states stored before these were kept settle nothing until the next accurate fix).
   */
  readonly locatedLat?: number;
  readonly locatedLng?: number;
  readonly locatedZone?: string;
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
  /**
   * The zones the positions waiting in `order` were located by on arrival (their `in` and `near`):
   * the zone index's `fingerprint` (zones/zone-index.ts). Present only with zones configured and a
   * position waiting. When it is not the fingerprint of the zones configured now (a restart
   * changed them: a zone renamed, reshaped, added or removed), every position waiting is located
   * again by the zones now configured before any is processed (see relocated in location-sync.ts).
   * Absent with positions waiting in a state stored before it was kept: nothing says which zones
   * located them, so they are located again too (once: the state then has it).
   */
  readonly located?: string;
}

export const LOCATION_UPDATE = 'location.update';

/**
 * Coordinates are kept to 7 decimals (about 1 cm), far below GPS accuracy: the state document is
 * serialised at every commit, and a full-precision double costs several times more to print.
 */
export const roundCoordinate = (v: number): number => Math.round(v * 1e7) / 1e7;

/** Zeros to pad the decimals of a coordinate (after its leading zeros' count). */
const ZEROS = ['', '0', '00', '000', '0000', '00000', '000000'];

/**
 * `JSON.stringify(x)` for a coordinate: a number {@link roundCoordinate} gives (k / 1e7 for an
 * integer k, |k| below 2^31: to about ±214°) by integer formatting, anything else by `jsonNumber`.
 * Such an x is the double nearest the decimal k·10⁻⁷, and near it the doubles are some 10⁻¹⁴
 * apart while other decimals of no more digits are at least 10⁻⁸ away: the shortest text that
 * reads back as x (JSON's) is k's digits with the point seven places in, trailing zeros dropped.
 * Below 10⁻⁶ (|k| < 10, -0 included) JSON writes an exponent or `0`: left to `jsonNumber`.
 */
export function coordinateJson(x: number): string {
  const k = Math.round(x * 1e7);
  if (k / 1e7 !== x || k >= 2_147_483_648 || k <= -2_147_483_648 || (k < 10 && k > -10)) return jsonNumber(x);
  // Below 2^31: int32 arithmetic.
  const m = (k < 0 ? -k : k) | 0;
  const whole = (m / 10_000_000) | 0;
  let f = m - whole * 10_000_000;
  const sign = k < 0 ? '-' : '';
  if (f === 0) return `${sign}${whole}`;
  let places = 7;
  while (f % 10 === 0) {
    f = (f / 10) | 0;
    places--;
  }
  const digits = `${f}`;
  return `${sign}${whole}.${ZEROS[places - digits.length] as string}${digits}`;
}

/**
 * The zone whose location code location sync would send now for where the asset is, when the ERP
 * was last sent another code from a zone: `synced` names a zone (configured or not) and the best
 * configured zone the asset has entered, ranked as configured now, has a code other than the one
 * sent. So after a restart either its zone's `locationCode` was changed in the config (same name,
 * new ERP code), or another zone it is in ranks first now (a `priority` changed, or the areas that
 * rank zones of equal priority): what its next fix would send, sent by its idle watermark instead.
 * Both need the zone sent still entered. Undefined otherwise: in no zone entered (never an exit:
 * only a fix decides that), the zone sent left since (its exit settled while the zone that places
 * the asset now is being left too, or another entered: a dwell holds that move, which the fix or
 * watermark ending it sends), in a zone no longer configured (HELD: see zoneOfState), or with the
 * code sent still the best zone's. The zone returned holds the position sent (it is inside the
 * zone or its band, as configured now; any zone, for a reader's sighting): the coordinates sent
 * again never contradict it. So when the best zone does not (one ranking first now that the asset
 * entered after that update, elsewhere; one reshaped since), it is the best of the zones entered
 * that do, undefined when there is none or its code is the one sent: the asset's next fix decides,
 * from where it is (the best zone's code, or an exit dwell beyond a zone shrunk). A zone
 * added since (a smaller one where the asset is parked) is not one it has entered: its next fixes
 * enter it, after the enter dwell, as any arrival.
 */
export function recodedZone(zones: ZoneTracking, s: LocationSyncState | undefined): Zone | undefined {
  const synced = s?.synced;
  if (synced?.zoneName === undefined || synced.inaccurate) return undefined;
  // The zone sent left since (its exit settled while a dwell held the zone against the fix: see
  // heldAgainstFix): no new code, a move the fix or watermark that ends that dwell sends.
  const sent = s?.zones !== undefined && Object.hasOwn(s.zones, synced.zoneName) ? s.zones[synced.zoneName] : undefined;
  if (sent === undefined || sent.phase === 'entering') return undefined;
  const best = zoneOfState(zones.index, s?.zones);
  if (best === undefined || best === HELD || best.locationCode === synced.zone) return undefined;
  // The update is sent again with its own coordinates and time (none: a reader's sighting), so in a
  // zone that holds them (inside it or its band, as configured now). Another that ranks first now,
  // entered after that update and elsewhere, would be sent with a position outside it, from before
  // the asset was there (its next fix sends it): then the best of those entered that holds them.
  if (synced.lat === undefined || synced.lng === undefined) return best;
  const hit = zones.index.locate(synced.lat, synced.lng);
  const holds = (name: string): boolean => hit.inside.includes(name) || hit.band.includes(name);
  const zone = holds(best.name) ? best : zones.index.best(enteredZones(s?.zones).filter(holds));
  return zone !== undefined && zone.locationCode !== synced.zone ? zone : undefined;
}
