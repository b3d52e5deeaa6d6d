import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fartherThanM, haversineCoordsM, haversineM } from './geo.js';

describe('geo', () => {
  it('haversineCoordsM is haversineM to the last bit', () => {
    fc.assert(
      fc.property(fc.double({ min: -90, max: 90, noNaN: true }), fc.double({ min: -180, max: 180, noNaN: true }), fc.double({ min: -0.01, max: 0.01, noNaN: true }), fc.double({ min: -0.01, max: 0.01, noNaN: true }), (lat, lng, dLat, dLng) => {
        expect(Object.is(haversineCoordsM(lat, lng, lat + dLat, lng + dLng), haversineM({ lat, lng }, { lat: lat + dLat, lng: lng + dLng }))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('fartherThanM decides as haversine does, around the distance and far from it, at any latitude', () => {
    // Mutations: a bound too tight (a degree of longitude taken for more than one of latitude).
    const deg = 180 / Math.PI / 6_371_008.8;
    let near = 0;
    fc.assert(
      fc.property(
        fc.double({ min: -89.9, max: 89.9, noNaN: true }),
        fc.double({ min: -180, max: 180, noNaN: true }),
        fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
        fc.constantFrom(1, 50, 100, 500, 20_000, 3_000_000, 12_000_000),
        fc.double({ min: 0.9, max: 1.1, noNaN: true }),
        (lat, lng, bearing, m, f) => {
          // A point about f · m away, in any direction (longitude scaled by the latitude).
          const d = m * f * deg;
          const lat2 = lat + d * Math.cos(bearing);
          const lng2 = lng + (d * Math.sin(bearing)) / Math.max(0.01, Math.cos((lat * Math.PI) / 180));
          const exact = haversineCoordsM(lat, lng, lat2, lng2) > m;
          expect(fartherThanM(lat, lng, lat2, lng2, m)).toBe(exact);
          if (!exact) near++;
        },
      ),
      { numRuns: 5000 },
    );
    expect(near).toBeGreaterThan(500);
    // Exactly at the distance, and a hair either side.
    for (const m of [100, 1000]) {
      const lat2 = 50 + m * deg;
      const d = haversineCoordsM(50, 10, lat2, 10);
      expect(fartherThanM(50, 10, lat2, 10, d)).toBe(false);
      expect(fartherThanM(50, 10, lat2, 10, d * (1 - 1e-15))).toBe(d > d * (1 - 1e-15));
    }
  });
});
