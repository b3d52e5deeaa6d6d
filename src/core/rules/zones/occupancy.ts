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

/** Zone name → the assets tracked in it (configured or not), from each asset's zone tracking state. */
function assetsByZone(tracking: ReadonlyMap<string, ZoneTrackState | undefined>): Map<string, ZoneAsset[]> {
  const byZone = new Map<string, ZoneAsset[]>();
  for (const [erpAssetId, state] of tracking) {
    for (const [zone, s] of Object.entries(state ?? {})) {
      let list = byZone.get(zone);
      if (!list) byZone.set(zone, (list = []));
      list.push({ erpAssetId, phase: s.phase, since: s.since });
    }
  }
  return byZone;
}

function counted(zone: string, found: readonly ZoneAsset[] | undefined): Omit<ZoneOccupancy, 'locationCode'> {
  const assets = [...(found ?? [])].sort((a, b) => ORDER[a.phase] - ORDER[b.phase] || (a.erpAssetId < b.erpAssetId ? -1 : a.erpAssetId > b.erpAssetId ? 1 : 0));
  const count = (p: ZonePhase) => assets.filter((a) => a.phase === p).length;
  return { zone, inside: count('inside') + count('leaving'), entering: count('entering'), leaving: count('leaving'), assets };
}

/** Occupancy of every configured zone (in config order), from each asset's zone tracking state. */
export function zoneOccupancy(zones: readonly Pick<Zone, 'name' | 'locationCode'>[], tracking: ReadonlyMap<string, ZoneTrackState | undefined>): ZoneOccupancy[] {
  const byZone = assetsByZone(tracking);
  return zones.map((z) => ({ ...counted(z.name, byZone.get(z.name)), locationCode: z.locationCode }));
}

/**
 * Zones the stored tracking names that no configured zone is (renamed or removed since the state
 * was stored), by name, with the assets still tracked in them. An asset leaves such a zone at its
 * next fixes (the exit dwell); until then location sync keeps the location it sent last, and an
 * item stays counted under the location code stored with its sighting (unless its sighting is
 * older than the inventory freshness): see zoneOfState in tracking.ts.
 */
export function unconfiguredZoneOccupancy(zones: readonly Pick<Zone, 'name'>[], tracking: ReadonlyMap<string, ZoneTrackState | undefined>): Omit<ZoneOccupancy, 'locationCode'>[] {
  const configured = new Set(zones.map((z) => z.name));
  return [...assetsByZone(tracking)]
    .filter(([zone]) => !configured.has(zone))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([zone, assets]) => counted(zone, assets));
}
