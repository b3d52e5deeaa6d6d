/**
 * Who is in which zone now, from the location rule's zone tracking (dwell and hysteresis already
 * applied): an asset counts in a zone from its confirmed entry until its confirmed exit, so one
 * that is `leaving` still counts and one that is `entering` does not yet.
 * @module
 */
import type { Zone } from './geometry.js';
import type { ZonePhase, ZoneTrackState } from './zone-tracker.js';

export interface ZoneAsset {
  readonly erpAssetId: string;
  readonly phase: ZonePhase;
  /** Event time the phase began. */
  readonly since: number;
}

export interface ZoneOccupancy {
  readonly zone: string;
  readonly locationCode: string;
  /** Entered and not yet left (including those `leaving`). */
  readonly inside: number;
  /** Inside but not yet for the enter dwell. */
  readonly entering: number;
  /** Beyond the hysteresis band but not yet for the exit dwell. */
  readonly leaving: number;
  /** Every asset tracked in the zone, by phase (entering last) then asset id. */
  readonly assets: readonly ZoneAsset[];
}

const ORDER: Record<ZonePhase, number> = { inside: 0, leaving: 1, entering: 2 };

/** Occupancy of every configured zone (in config order), from each asset's zone tracking state. */
export function zoneOccupancy(zones: readonly Pick<Zone, 'name' | 'locationCode'>[], tracking: ReadonlyMap<string, ZoneTrackState | undefined>): ZoneOccupancy[] {
  const byZone = new Map<string, ZoneAsset[]>(zones.map((z) => [z.name, []]));
  for (const [erpAssetId, state] of tracking) {
    for (const [zone, s] of Object.entries(state ?? {})) byZone.get(zone)?.push({ erpAssetId, phase: s.phase, since: s.since });
  }
  return zones.map((z) => {
    const assets = (byZone.get(z.name) ?? []).sort((a, b) => ORDER[a.phase] - ORDER[b.phase] || (a.erpAssetId < b.erpAssetId ? -1 : a.erpAssetId > b.erpAssetId ? 1 : 0));
    const count = (p: ZonePhase) => assets.filter((a) => a.phase === p).length;
    return { zone: z.name, locationCode: z.locationCode, inside: count('inside') + count('leaving'), entering: count('entering'), leaving: count('leaving'), assets };
  });
}
