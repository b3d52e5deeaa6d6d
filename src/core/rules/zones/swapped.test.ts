import { describe, expect, it } from 'vitest';
import type { Zone } from './geometry.js';
import { ZoneIndex } from './zone-index.js';
import { swappedPositions, swappedZonesWarning } from './swapped.js';

// Rotterdam's port (lat 51.95, lng 4.05) and Hamburg's (53.54, 9.98), as circles.
const circle = (name: string, lat: number, lng: number): Zone => ({ name, locationCode: name.toUpperCase(), priority: 0, shape: { type: 'circle', lat, lng, radiusM: 500 } });
const right = [circle('rot', 51.95, 4.05), circle('ham', 53.54, 9.98)];
/** The same zones written latitude-first: read as GeoJSON, they lie off the Horn of Africa. */
const swappedZones = [circle('rot', 4.05, 51.95), circle('ham', 9.98, 53.54)];
const positions = [
  { lat: 51.9501, lng: 4.0502 },
  { lat: 51.9499, lng: 4.0498 },
  { lat: 53.5402, lng: 9.9801 },
  // On the road between the two: in no zone either way.
  { lat: 52.7, lng: 7.1 },
];
const FIX = 'swap the two numbers of every position in the zones file';

describe('stored positions against zones written latitude-first', () => {
  it('says so when none is in or near a zone, but read swapped several are inside zones', () => {
    const s = swappedPositions(new ZoneIndex(swappedZones, { hysteresisM: 20 }), positions);
    expect(s).toEqual({ positions: 4, located: 0, swapped: 3, zones: ['rot', 'ham'] });
    expect(swappedZonesWarning(s, 'a configured zone', FIX)).toBe(
      "none of the 4 stored asset position(s) (each asset's last) is in or near a configured zone, but read with latitude and longitude swapped 3 of them are inside 2 zone(s) (rot, ham): " +
        'the zones are likely written latitude-first, where GeoJSON positions are [longitude, latitude]; swap the two numbers of every position in the zones file',
    );
  });

  it('says nothing of zones the positions are in, of positions in no zone either way, or of too few swapped', () => {
    const ok = swappedPositions(new ZoneIndex(right, { hysteresisM: 20 }), positions);
    expect(ok).toEqual({ positions: 4, located: 3, swapped: 0, zones: [] });
    expect(swappedZonesWarning(ok, 'a configured zone', FIX)).toBeUndefined();
    // One position in a zone as given: the zones are where they should be, whatever the others.
    const one = swappedPositions(new ZoneIndex([...swappedZones, circle('road', 52.7, 7.1)], { hysteresisM: 20 }), positions);
    expect(one.located).toBe(1);
    expect(swappedZonesWarning(one, 'a configured zone', FIX)).toBeUndefined();
    // Elsewhere altogether (zones in another region than the fleet): nothing to go by.
    const elsewhere = swappedPositions(new ZoneIndex([circle('lyon', 45.76, 4.84)], { hysteresisM: 20 }), positions);
    expect(swappedZonesWarning(elsewhere, 'a configured zone', FIX)).toBeUndefined();
    // Two of many: not enough to say.
    expect(swappedZonesWarning({ positions: 40, located: 0, swapped: 2, zones: ['rot'] }, 'a configured zone', FIX)).toBeUndefined();
    expect(swappedZonesWarning({ positions: 0, located: 0, swapped: 0, zones: [] }, 'a configured zone', FIX)).toBeUndefined();
  });

  it('with fewer positions stored than it asks for, every one of them swapped is enough', () => {
    const s = swappedPositions(new ZoneIndex(swappedZones, { hysteresisM: 20 }), positions.slice(0, 2));
    expect(s).toMatchObject({ positions: 2, located: 0, swapped: 2 });
    expect(swappedZonesWarning(s, 'a configured zone', FIX)).toContain('swapped 2 of them are inside 1 zone(s) (rot)');
  });

  it('reads no longitude beyond ±90 as a latitude', () => {
    // Sydney (-33.87, 151.21): swapped, 151.21 is no latitude.
    expect(swappedPositions(new ZoneIndex(swappedZones, { hysteresisM: 20 }), [{ lat: -33.87, lng: 151.21 }])).toEqual({ positions: 1, located: 0, swapped: 0, zones: [] });
  });
});
