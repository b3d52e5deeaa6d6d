/**
 * Zones ranked by their true area on the sphere: a polygon's area is the region its edges (straight
 * in longitude and latitude, as containment tests them) enclose on the sphere, measured as a
 * circle's spherical cap is, so the two rank by area alike far from the equator too.
 */
import { describe, expect, it } from 'vitest';
import { haversineM } from '../geo.js';
import { areaM2, type Zone } from './geometry.js';
import { ZoneIndex } from './zone-index.js';

/** The sphere areas are measured on (a degree of it is 111,320 m). */
const R = (111_320 * 180) / Math.PI;
const rad = (deg: number): number => (deg * Math.PI) / 180;
/** Metres of the sphere circles are tested on, per radian. */
const R_CIRCLE = haversineM({ lat: 0, lng: 0 }, { lat: 1, lng: 0 }) / rad(1);

/** A box from `west` to `east` and `south` to `north`: its true area is R²·Δλ·(sin north − sin south). */
const box = (west: number, south: number, east: number, north: number): [number, number][] => [
  [west, south],
  [east, south],
  [east, north],
  [west, north],
  [west, south],
];
const boxArea = (west: number, south: number, east: number, north: number): number => R * R * rad(east - west) * (Math.sin(rad(north)) - Math.sin(rad(south)));
/** A circle at (lat, lng) whose spherical cap is `area` m². */
const circleOfArea = (lat: number, lng: number, area: number) => ({ type: 'circle' as const, lat, lng, radiusM: Math.acos(1 - area / (2 * Math.PI * R * R)) * R_CIRCLE });

describe('zone areas on the sphere', () => {
  it('measures a polygon far from the equator at its true area, as a circle is', () => {
    // 55–65°N: a projection flat about 60°N makes it 0.13% larger than it is.
    const truth = boxArea(10, 55, 30, 65);
    expect(areaM2({ type: 'polygon', polygons: [[box(10, 55, 30, 65)]] }) / truth).toBeCloseTo(1, 8);
    expect(areaM2(circleOfArea(60, 20, truth)) / truth).toBeCloseTo(1, 8);
    // A yard-sized box at 60°N too (200 m by 200 m or so), and a triangle: half a box, split on its diagonal.
    const [w, s, e, n] = [13.4, 60, 13.4 + 200 / (111_320 * Math.cos(rad(60))), 60 + 200 / 111_320];
    expect(areaM2({ type: 'polygon', polygons: [[box(w, s, e, n)]] }) / boxArea(w, s, e, n)).toBeCloseTo(1, 8);
    const halves = [
      [[w, s], [e, s], [e, n], [w, s]],
      [[w, s], [e, n], [w, n], [w, s]],
    ].map((ring) => areaM2({ type: 'polygon', polygons: [[ring as [number, number][]]] }));
    expect(((halves[0] ?? 0) + (halves[1] ?? 0)) / boxArea(w, s, e, n)).toBeCloseTo(1, 8);
  });

  it('ranks a polygon and a circle at 60°N by their true areas', () => {
    const truth = boxArea(10, 55, 30, 65);
    const region: Zone = { name: 'region', locationCode: 'P', priority: 0, shape: { type: 'polygon', polygons: [[box(10, 55, 30, 65)]] } };
    // A circle 0.06% larger than the polygon, and one 0.06% smaller, both around a point of it.
    const larger: Zone = { name: 'larger', locationCode: 'C1', priority: 0, shape: circleOfArea(60, 20, truth * 1.0006) };
    const smaller: Zone = { name: 'smaller', locationCode: 'C2', priority: 0, shape: circleOfArea(60, 20, truth * 0.9994) };
    for (const [circle, best] of [[larger, 'region'], [smaller, 'smaller']] as const)
      for (const zones of [[region, circle], [circle, region]]) {
        const index = new ZoneIndex(zones, { hysteresisM: 0 });
        expect(index.locate(60, 20).inside.slice().sort()).toEqual([circle.name, 'region'].sort());
        expect(index.best([region.name, circle.name])?.name).toBe(best);
      }
  });

  it('measures a zone split at ±180° as the same zone elsewhere', () => {
    const split = areaM2({ type: 'polygon', polygons: [[box(170, 60, 180, 62)], [box(-180, 60, -170, 62)]] });
    expect(split / boxArea(0, 60, 20, 62)).toBeCloseTo(1, 8);
  });
});
