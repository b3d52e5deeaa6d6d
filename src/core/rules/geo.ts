/** Small geodesy helpers; haversine is accurate to ~0.5% which is plenty for sync thresholds. */

const EARTH_RADIUS_M = 6_371_008.8;
const toRad = (deg: number): number => (deg * Math.PI) / 180;

/** Great-circle distance in metres. */
export function haversineM(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  return haversineCoordsM(a.lat, a.lng, b.lat, b.lng);
}

/** {@link haversineM} of coordinates passed as numbers (for code that keeps them in typed arrays). */
export function haversineCoordsM(aLat: number, aLng: number, bLat: number, bLng: number): number {
  const dLat = toRad(bLat - aLat);
  const dLng = toRad(bLng - aLng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(toRad(aLat)) * Math.cos(toRad(bLat)) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** (0.999 / (R · π/180))²: see {@link fartherThanM}. */
const PLAINLY_NEARER = (0.999 / (EARTH_RADIUS_M * (Math.PI / 180))) ** 2;

/**
 * `haversineCoordsM(a, b) > m`, deciding the pairs plainly nearer than `m` without trigonometry.
 * The great circle is the shortest way on the sphere, so no longer than the way along the straight
 * line between the two in latitude and longitude, which is at most R · √(Δφ² + Δλ²) long (a
 * degree of longitude is never longer than one of latitude): a pair with that under 0.999 m is
 * nearer, rounding included. The others are measured.
 */
export function fartherThanM(aLat: number, aLng: number, bLat: number, bLng: number, m: number): boolean {
  const dLat = bLat - aLat;
  const dLng = bLng - aLng;
  if (dLat * dLat + dLng * dLng < m * m * PLAINLY_NEARER) return false;
  return haversineCoordsM(aLat, aLng, bLat, bLng) > m;
}
