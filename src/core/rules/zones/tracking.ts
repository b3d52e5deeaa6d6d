/**
 * What a rule needs to track zone membership: the index of configured zones and the dwell
 * settings. Built once from config (see ../index.ts) and shared by the location and inventory rules.
 * @module
 */
import type { Zone } from './geometry.js';
import type { ZoneHit, ZoneIndex } from './zone-index.js';
import { enteredZones, type DwellOptions, type ZoneTrackState } from './zone-tracker.js';

export interface ZoneTracking {
  readonly index: ZoneIndex;
  readonly dwell: DwellOptions;
  /** Fixes less accurate than this (reported `accuracyM`) leave zone membership alone; 0 = use all. @default 0 */
  readonly maxAccuracyM: number;
}

/** See {@link zoneOfState}: the asset is still in a zone no longer configured. */
export const HELD = 'held';

/**
 * The zone that places an asset with tracker state `state`: the best configured one it has entered
 * (see {@link ZoneIndex.best}), undefined when it has entered none. {@link HELD} while it has
 * entered (and not yet left, exit dwell included) a zone no longer configured, renamed or removed
 * since the state was stored: no configured zone can be ranked against it, so the caller keeps
 * the location it had (the ERP keeps the location sent last, an item the code it was counted
 * under) until the asset leaves that zone. A zone renamed in place is then entered again under its
 * new name before the old one is left (the enter dwell is shorter than the exit dwell by default),
 * with no change of location in between. (Location sync and inventory continue an asset in zones
 * renamed in place under their new names at once, the location it had kept: see {@link continuedRenamed}.)
 */
export function zoneOfState(index: ZoneIndex, state: ZoneTrackState | undefined): Zone | typeof HELD | undefined {
  const entered = enteredZones(state);
  if (entered.length === 0) return undefined;
  for (const name of entered) if (index.zone(name) === undefined) return HELD;
  return index.best(entered);
}

/**
 * Whether a dwell holds the zone `placed` (zoneOfState's answer for `state`) against the position
 * `state` was just stepped to: the asset is `leaving` the zone that places it (the position is
 * beyond its hysteresis band, the exit dwell running), or it is placed in no zone and `entering`
 * one (the position is inside it, the enter dwell running). Its coordinates then say one place and
 * the zone held another: location sync sends them only once the dwell is over (a stray fix then
 * never reaches the ERP, in any batching). Always true while the asset is placed in a zone no longer
 * configured (HELD: renamed or removed since its state was stored): no fix can be inside a zone that
 * has no shape now, so after a fix the asset is leaving it (its exit dwell running), and the code
 * kept is one nothing can tell its coordinates agree with. The fix or idle watermark that ends that
 * exit dwell sends where the zones now configured place the asset.
 */
export function heldAgainstFix(state: ZoneTrackState | undefined, placed: Zone | typeof HELD | undefined): boolean {
  if (placed === HELD) return true;
  if (placed !== undefined) return state?.[placed.name]?.phase === 'leaving';
  for (const name in state) if ((state[name] as ZoneTrackState[string]).phase === 'entering') return true;
  return false;
}

const NO_NAMES: readonly string[] = [];

/**
 * A fix's zones as located on its arrival (`inside`, `band`), less those no longer configured: a
 * fix waiting in the reorder window when the zones were changed (a restart with a renamed or
 * removed zone) was located by the old ones, and must not enter a zone that is gone (the asset
 * would be held at its old location until it left it again). The same arrays when all are configured.
 * Given the fix's position (`at`), such a fix is located again by the zones configured now instead:
 * one inside a zone renamed since is inside it under its new name (else it would count as in no
 * zone, and could be sent with no location code from the middle of the renamed zone).
 */
export function configuredHit(index: ZoneIndex, inside: readonly string[] | undefined, band: readonly string[] | undefined, at?: { readonly lat?: number; readonly lng?: number }): ZoneHit {
  const all = (names: readonly string[] | undefined) => names === undefined || names.every(index.has);
  if (all(inside) && all(band)) return { inside: inside ?? NO_NAMES, band: band ?? NO_NAMES };
  if (at?.lat !== undefined && at.lng !== undefined) return index.locate(at.lat, at.lng);
  const keep = (names: readonly string[] | undefined) => (names === undefined ? NO_NAMES : names.filter(index.has));
  return { inside: keep(inside), band: keep(band) };
}

/** Whether the tracker state `zones` has a zone no longer configured in `index` (renamed or removed since it was stored). */
export function tracksUnconfigured(index: ZoneIndex, zones: ZoneTrackState | undefined): boolean {
  for (const name in zones) if (!index.has(name)) return true;
  return false;
}

/**
 * The tracker state `zones` with the zones no longer configured that the asset is inside (a restart
 * renamed them) continued under their new names, as of `t` (the sighting that first meets them):
 * the configured zones the asset was not tracking that position `at` (where the asset was placed)
 * is inside, taken as the old ones renamed in place, each inside since `t`, with no enter dwell
 * and no exit dwell of an old name holding the location (see zoneOfState), when
 * - there are as many of them as old zones (nested zones renamed together: the yard and the bay in
 *   it; or the one enclosing zone renamed alone), or, for one old zone, the best of them with the
 *   location code `code` (the one the asset has: sent to the ERP, or counted under) when there are
 *   more (a zone added there too); and
 * - the location stays `code`: the best zone the asset is then in has that code, or is one it was
 *   tracking already with one of the zones taken having that code (the zone it was placed by
 *   renamed with its code kept; a priority changed since is then the recode's, as for any zone).
 *   A zone taken without its code being the asset's is never the one that places it: nothing says
 *   which old zone it is, so it would place the asset in a new location with no dwell.
 * Otherwise (an old zone it was leaving, none at `at`, too few or too many there, the location
 * changing) `zones` as it is: the old names are left after their exit dwell, the new ones entered
 * as any zone. An old zone it was entering is kept as it is (no fix can be inside it: it is dropped).
 * Location sync's `at` is the position of its fix that placed the asset last (as stored); inventory
 * keeps no position of the sightings it processed, and gives the sighting's own.
 */
export function continuedRenamed(index: ZoneIndex, zones: ZoneTrackState | undefined, at: { readonly lat: number; readonly lng: number }, code: string, t: number): ZoneTrackState | undefined {
  if (zones === undefined) return zones;
  let gone: string[] | undefined;
  for (const name in zones) {
    if (index.has(name)) continue;
    const phase = (zones[name] as ZoneTrackState[string]).phase;
    if (phase === 'leaving') return zones;
    if (phase === 'inside') (gone ??= []).push(name);
  }
  if (gone === undefined) return zones;
  const here = index.locate(at.lat, at.lng).inside.filter((n) => zones[n] === undefined);
  let to: readonly string[];
  if (here.length === gone.length) to = here;
  else {
    const same = gone.length === 1 ? index.best(here.filter((n) => index.zone(n)?.locationCode === code)) : undefined;
    if (same === undefined) return zones;
    to = [same.name];
  }
  // Each old name's entry replaced by a new one's, in its place.
  const next: Record<string, ZoneTrackState[string]> = {};
  let k = 0;
  for (const name in zones) {
    if (gone.includes(name)) next[to[k++] as string] = { phase: 'inside', since: t };
    else next[name] = zones[name] as ZoneTrackState[string];
  }
  const best = index.best(enteredZones(next));
  if (best === undefined || (best.locationCode !== code && (to.includes(best.name) || !to.some((n) => index.zone(n)?.locationCode === code)))) return zones;
  return next;
}
