/**
 * Zones written latitude-first (or positions decoded so): GeoJSON positions are [longitude,
 * latitude], and a file written the other way round with both numbers within ±90 (all of Europe,
 * Africa, most of Asia) reads as valid zones elsewhere on Earth, which no check of the file alone
 * can tell. The assets' stored positions can: none of them is in or near a zone as written, but
 * read with latitude and longitude swapped several are inside one. A position chances into a zone
 * that way only when the zones are indeed the wrong way round.
 * @module
 */
import type { ZoneIndex } from './zone-index.js';

/** How the positions lie against the zones, as given and read the other way round. */
export interface SwappedPositions {
  /** Positions looked at. */
  readonly positions: number;
  /** Those inside a zone or within its hysteresis band, as given. */
  readonly located: number;
  /** Those inside a zone read with latitude and longitude swapped (a longitude beyond ±90 is no latitude: never). */
  readonly swapped: number;
  /** The zones those are inside, in the order first met. */
  readonly zones: readonly string[];
}

/** The fewest positions inside a zone when swapped (or all of them, when fewer are stored) for {@link swappedZonesWarning} to speak. */
export const SWAPPED_POSITIONS_NEEDED = 3;

/** How `positions` lie against the zones of `index`, as given and swapped. */
export function swappedPositions(index: ZoneIndex, positions: Iterable<{ readonly lat: number; readonly lng: number }>): SwappedPositions {
  let count = 0;
  let located = 0;
  let swapped = 0;
  const zones = new Set<string>();
  for (const { lat, lng } of positions) {
    if (!Number.isFinite(lat) || !Number.isFinite(lng)) continue;
    count++;
    const hit = index.locate(lat, lng);
    if (hit.inside.length > 0 || hit.band.length > 0) {
      located++;
      continue;
    }
    if (Math.abs(lng) > 90) continue;
    const other = index.locate(lng, lat).inside;
    if (other.length === 0) continue;
    swapped++;
    for (const z of other) zones.add(z);
  }
  return { positions: count, located, swapped, zones: [...zones] };
}

/**
 * What to say when no position is in or near a zone as given but at least
 * {@link SWAPPED_POSITIONS_NEEDED} (or every one, when fewer are stored) are inside zones read
 * swapped; undefined otherwise. `zones` names the zones (`the configured zones`, `the zones of
 * sites.geojson`), `fix` what to do about them.
 */
export function swappedZonesWarning(s: SwappedPositions, zones: string, fix: string): string | undefined {
  if (s.positions === 0 || s.located > 0 || s.swapped < Math.min(SWAPPED_POSITIONS_NEEDED, s.positions)) return undefined;
  const named = `${s.zones.slice(0, 5).join(', ')}${s.zones.length > 5 ? `, … (${s.zones.length} in all)` : ''}`;
  return (
    `none of the ${s.positions} stored asset position(s) (each asset's last) is in or near ${zones}, but read with latitude and longitude swapped ${s.swapped} of them are inside ${s.zones.length} zone(s) (${named}): ` +
    `the zones are likely written latitude-first, where GeoJSON positions are [longitude, latitude]; ${fix}`
  );
}
