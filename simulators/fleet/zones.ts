/**
 * Named zones the simulated fleet moves between: yards, depots and sites around the Port of
 * Rotterdam (a realistic spread of 2–40 km), each a centre and a radius.
 * @module
 */

export interface Zone {
  readonly name: string;
  readonly lat: number;
  readonly lng: number;
  readonly radiusM: number;
}

export const DEFAULT_ZONES: readonly Zone[] = [
  { name: 'YARD-A', lat: 51.9522, lng: 4.0453, radiusM: 300 },
  { name: 'YARD-B', lat: 51.9468, lng: 4.0621, radiusM: 250 },
  { name: 'DEPOT-BOTLEK', lat: 51.8743, lng: 4.2931, radiusM: 400 },
  { name: 'SITE-MAASVLAKTE', lat: 51.9640, lng: 4.0120, radiusM: 600 },
  { name: 'WORKSHOP-VONDELINGENPLAAT', lat: 51.8865, lng: 4.3561, radiusM: 150 },
  { name: 'SITE-EUROPOORT', lat: 51.9340, lng: 4.1450, radiusM: 500 },
  { name: 'DEPOT-WAALHAVEN', lat: 51.8863, lng: 4.4379, radiusM: 350 },
  { name: 'SITE-SPIJKENISSE', lat: 51.8450, lng: 4.3300, radiusM: 450 },
];

const EARTH_RADIUS_M = 6_371_000;

/** Moves a point `distanceM` metres at `bearingRad` (flat-earth approximation, fine at zone scale). */
export function offsetM(lat: number, lng: number, distanceM: number, bearingRad: number): { lat: number; lng: number } {
  const dLat = (distanceM * Math.cos(bearingRad)) / EARTH_RADIUS_M;
  const dLng = (distanceM * Math.sin(bearingRad)) / (EARTH_RADIUS_M * Math.cos((lat * Math.PI) / 180));
  return { lat: lat + (dLat * 180) / Math.PI, lng: lng + (dLng * 180) / Math.PI };
}

/** Great-circle distance in metres. */
export function distanceM(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const toRad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * toRad;
  const dLng = (b.lng - a.lng) * toRad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * toRad) * Math.cos(b.lat * toRad) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(h));
}
