/**
 * Who is in which zone now, from the location rule's zone tracking (dwell and hysteresis already
 * applied): an asset counts in a zone from its confirmed entry until its confirmed exit, so one
 * that is `leaving` still counts and one that is `entering` does not yet.
 *
 * An asset counts once, in the zone that places it: where zones overlap, the one whose location
 * code location sync sends and inventory counts it under (see zoneOfState in tracking.ts: the
 * highest priority, then the smallest). So a zone's count is what the ERP holds at its location
 * code. The other zones it has entered list it apart (`elsewhere`), not counted.
 * @module
 */
import type { ZoneIndex } from './zone-index.js';
import { enteredZones, type ZonePhase, type ZoneTrackState } from './zone-tracker.js';
import { HELD, zoneOfState } from './tracking.js';

export interface ZoneAsset {
  readonly erpAssetId: string;
  readonly phase: ZonePhase;
  /** Event time the phase began. */
  readonly since: number;
}

/** An asset that has entered a zone too, but is placed in another (overlapping) one, `locatedIn`. */
export interface ZoneAssetElsewhere extends ZoneAsset {
  readonly locatedIn: string;
}

export interface ZoneOccupancy {
  readonly zone: string;
  readonly locationCode: string;
  /** Placed here (entered and not yet left, including those `leaving`). */
  readonly inside: number;
  /** Inside but not yet for the enter dwell, and to be placed here once it is. */
  readonly entering: number;
  /** Beyond the hysteresis band but not yet for the exit dwell. */
  readonly leaving: number;
  /** Every asset placed or arriving in the zone, by phase (entering last) then asset id. */
  readonly assets: readonly ZoneAsset[];
  /** Assets that have entered the zone but are placed in another one that ranks above it: not counted here. */
  readonly elsewhere: readonly ZoneAssetElsewhere[];
}

const ORDER: Record<ZonePhase, number> = { inside: 0, leaving: 1, entering: 2 };
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The zone an asset with tracker state `state` is placed in, as the location and inventory rules
 * place it; undefined when it has entered none. Still in a zone no longer configured (HELD), it
 * stays where its rule placed it last, `lastZone` when given and still entered, else in the first
 * such zone by name.
 */
function placedIn(index: ZoneIndex, state: ZoneTrackState | undefined, lastZone: string | undefined): string | undefined {
  const placed = zoneOfState(index, state);
  if (placed !== HELD) return placed?.name;
  const entered = enteredZones(state);
  if (lastZone !== undefined && entered.includes(lastZone)) return lastZone;
  return [...entered].filter((n) => !index.has(n)).sort(byName)[0];
}

/**
 * The zone an asset is arriving in: the one it will be placed in once its enter dwell is over, when
 * that is a zone it is still `entering` (an asset arriving in overlapping zones arrives in one).
 */
function arrivingIn(index: ZoneIndex, state: ZoneTrackState | undefined): string | undefined {
  const staying = Object.keys(state ?? {}).filter((n) => state?.[n]?.phase !== 'leaving');
  const next = index.best(staying);
  return next !== undefined && state?.[next.name]?.phase === 'entering' ? next.name : undefined;
}

interface ByZone {
  readonly assets: Map<string, ZoneAsset[]>;
  readonly elsewhere: Map<string, ZoneAssetElsewhere[]>;
}

/** Zone name → the assets placed or arriving in it, and those that entered it but are placed elsewhere. */
function assetsByZone(index: ZoneIndex, tracking: ReadonlyMap<string, ZoneTrackState | undefined>, lastZone: ReadonlyMap<string, string>): ByZone {
  const out: ByZone = { assets: new Map(), elsewhere: new Map() };
  const add = <T>(map: Map<string, T[]>, zone: string, item: T) => {
    const list = map.get(zone);
    if (list) list.push(item);
    else map.set(zone, [item]);
  };
  for (const [erpAssetId, state] of tracking) {
    if (state === undefined) continue;
    const placed = placedIn(index, state, lastZone.get(erpAssetId));
    const arriving = arrivingIn(index, state);
    for (const [zone, s] of Object.entries(state)) {
      const asset = { erpAssetId, phase: s.phase, since: s.since };
      if (zone === placed || zone === arriving) add(out.assets, zone, asset);
      else if (s.phase !== 'entering' && placed !== undefined) add(out.elsewhere, zone, { ...asset, locatedIn: placed });
    }
  }
  return out;
}

function counted(zone: string, found: readonly ZoneAsset[] | undefined, elsewhere: readonly ZoneAssetElsewhere[] | undefined): Omit<ZoneOccupancy, 'locationCode'> {
  const assets = [...(found ?? [])].sort((a, b) => ORDER[a.phase] - ORDER[b.phase] || byName(a.erpAssetId, b.erpAssetId));
  const count = (p: ZonePhase) => assets.filter((a) => a.phase === p).length;
  return {
    zone,
    inside: count('inside') + count('leaving'),
    entering: count('entering'),
    leaving: count('leaving'),
    assets,
    elsewhere: [...(elsewhere ?? [])].sort((a, b) => byName(a.erpAssetId, b.erpAssetId)),
  };
}

/**
 * Occupancy of every configured zone (in config order), from each asset's zone tracking state;
 * `lastZone`: the zone each asset's rule placed it in last, where known (see {@link placedIn}).
 */
export function zoneOccupancy(index: ZoneIndex, tracking: ReadonlyMap<string, ZoneTrackState | undefined>, lastZone: ReadonlyMap<string, string> = new Map()): ZoneOccupancy[] {
  const by = assetsByZone(index, tracking, lastZone);
  return index.zones.map((z) => ({ ...counted(z.name, by.assets.get(z.name), by.elsewhere.get(z.name)), locationCode: z.locationCode }));
}

/**
 * Zones the stored tracking names that no configured zone is (renamed or removed since the state
 * was stored), by name, with the assets still in them. An asset leaves such a zone at its next
 * fixes (the exit dwell); until then location sync keeps the location it sent last, and an item
 * stays counted under the location code stored with its sighting (unless its sighting is older
 * than the inventory freshness): see zoneOfState in tracking.ts. An entry into such a zone that
 * was still waiting for its dwell never completes: it is not listed.
 */
export function unconfiguredZoneOccupancy(index: ZoneIndex, tracking: ReadonlyMap<string, ZoneTrackState | undefined>, lastZone: ReadonlyMap<string, string> = new Map()): Omit<ZoneOccupancy, 'locationCode'>[] {
  const by = assetsByZone(index, tracking, lastZone);
  const names = new Set([...by.assets.keys(), ...by.elsewhere.keys()].filter((n) => !index.has(n)));
  return [...names].sort(byName).map((zone) => counted(zone, by.assets.get(zone), by.elsewhere.get(zone)));
}
