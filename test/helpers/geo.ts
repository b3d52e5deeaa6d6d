/**
 * Shapes for zone tests: squares of a size in metres, as GeoJSON rings and polygons.
 * @module
 */
import type { Polygon, Ring } from '../../src/core/rules/zones/geometry.js';

/** A square ring of `sideM` metres centred on (lat, lng), closed as GeoJSON wants it. */
export function squareRing(lat: number, lng: number, sideM: number): Ring {
  const dLat = sideM / 2 / 111_320;
  const dLng = sideM / 2 / (111_320 * Math.cos((lat * Math.PI) / 180));
  return [
    [lng - dLng, lat - dLat],
    [lng + dLng, lat - dLat],
    [lng + dLng, lat + dLat],
    [lng - dLng, lat + dLat],
    [lng - dLng, lat - dLat],
  ];
}

/** The same square as a polygon without holes. */
export function square(lat: number, lng: number, sideM: number): Polygon {
  return [squareRing(lat, lng, sideM)];
}
