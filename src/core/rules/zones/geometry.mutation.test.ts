import { describe, expect, it } from 'vitest';
import { areaM2, placement, type Polygon } from './geometry.js';
import { ZoneIndex } from './zone-index.js';
import { squareRing } from '../../../../test/helpers/geo.js';


describe('geometry: areas of polygons with holes', () => {
  it('subtracts a hole from the area', () => {
    // Mutation: holes added to the area instead of subtracted.
    const withHole: Polygon = [squareRing(52.5, 13.4, 1000), squareRing(52.5, 13.4, 600)];
    expect(areaM2({ type: 'polygon', polygons: [withHole] }) / (1_000_000 - 360_000)).toBeCloseTo(1, 2);
  });

  it('so a ring-shaped zone loses "the smaller zone wins" to a solid zone of less area', () => {
    // A 1 km yard around a 950 m hole (97,500 m²) and a 400 m square bay (160,000 m²) on its edge.
    const annulus = { name: 'perimeter', locationCode: 'P', priority: 0, shape: { type: 'polygon' as const, polygons: [[squareRing(52.5, 13.4, 1000), squareRing(52.5, 13.4, 950)]] } };
    const bay = { name: 'bay', locationCode: 'B', priority: 0, shape: { type: 'polygon' as const, polygons: [[squareRing(52.5, 13.4, 400)]] } };
    expect(new ZoneIndex([annulus, bay], { hysteresisM: 0 }).best(['perimeter', 'bay'])?.name).toBe('perimeter');
  });
});

describe('geometry: placement in a MultiPolygon', () => {
  it('is inside when the point is in any of the polygons', () => {
    // Mutation: only the first polygon tested.
    const shape = { type: 'polygon' as const, polygons: [[squareRing(52.5, 13.4, 100)], [squareRing(52.6, 13.4, 100)]] };
    expect(placement(shape, 52.6, 13.4, 10)).toBe('inside');
    expect(placement(shape, 52.5, 13.4, 10)).toBe('inside');
    expect(placement(shape, 52.55, 13.4, 10)).toBe('outside');
  });
});
