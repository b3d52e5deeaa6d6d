import { describe, expect, it } from 'vitest';
import { zonesFromGeoJson } from './geojson.js';
import { areaM2, holeProblem, holesProblem, ringProblem, type LngLat } from './geometry.js';

const a: LngLat = [4, 52];
const b: LngLat = [4.01, 52];
const c: LngLat = [4.01, 52.01];
const d: LngLat = [4, 52.01];

/** One Polygon feature named "yard" with this outer ring. */
const read = (ring: readonly LngLat[]) => zonesFromGeoJson({ type: 'Feature', properties: { name: 'yard', locationCode: 'Y' }, geometry: { type: 'Polygon', coordinates: [ring] } });

/** A closed ring of n positions on a circle of radius r degrees around [4, 52]. */
function circleRing(n: number, r = 0.01): LngLat[] {
  const ring: LngLat[] = Array.from({ length: n }, (_, k) => [4 + r * Math.cos((2 * Math.PI * k) / n), 52 + r * Math.sin((2 * Math.PI * k) / n)] as const);
  return [...ring, ring[0] as LngLat];
}

describe('ring checks: rings that are no zone are refused', () => {
  it('refuses a bowtie (its shoelace area cancels to 0, so it would win every overlap), saying where it crosses', () => {
    expect(read([a, c, b, d, a])).toEqual({
      zones: [],
      problems: [
        'feature 0 ("yard"): outer ring crosses itself: its edge from [4, 52] to [4.01, 52.01] meets the edge from [4.01, 52] to [4, 52.01]; list the positions in order around the zone (a figure of eight must be two zones, or a MultiPolygon)',
      ],
    });
  });

  it('counts distinct positions, not positions: [a, b, b, a], [a, b, a] and one point repeated are refused', () => {
    expect(read([a, b, b, a]).problems).toEqual(['feature 0 ("yard"): outer ring needs at least 3 distinct positions, in order around the zone (it has 2)']);
    expect(ringProblem([a, b, a])).toBe('needs at least 3 distinct positions, in order around the zone (it has 2)');
    expect(ringProblem([a, a, a, a])).toBe('needs at least 3 distinct positions, in order around the zone (it has 1)');
  });

  it('refuses three or more positions on one line (no area)', () => {
    expect(ringProblem([a, b, [4.02, 52], a])).toBe('has no area (its positions lie on one line); give the positions around the zone');
    // A spike out and back along itself passes its base twice.
    expect(ringProblem([a, b, c, [4.01, 52.02], c, d, a])).toMatch(/^touches itself at \[4\.01, 52\.01\], a position it passes twice/);
  });

  it('refuses a ring that touches itself at a vertex, and a hole that crosses itself', () => {
    // Two squares sharing the corner c, drawn as one ring.
    expect(ringProblem([a, b, c, [4.02, 52.01], [4.02, 52.02], [4.01, 52.02], c, d, a])).toMatch(/^touches itself at \[4\.01, 52\.01\], a position it passes twice/);
    // A ring closing around a hole at one point, as ArcGIS writes one: said as the touch it is, with the hole to give instead.
    const around: LngLat[] = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0], [1, 1], [1, 2], [2, 2], [2, 1], [0, 0]];
    expect(ringProblem(around)).toBe(
      'touches itself at [0, 0], a position it passes twice (not allowed in GeoJSON, though some GIS tools write a ring around a hole so); give the part it closes off as a hole (a second ring of the Polygon) or as its own polygon of a MultiPolygon, or list the positions in order around the zone',
    );
    const hole: LngLat[] = [[4.002, 52.002], [4.008, 52.008], [4.008, 52.002], [4.002, 52.008], [4.002, 52.002]];
    expect(zonesFromGeoJson({ type: 'Feature', properties: { name: 'yard', locationCode: 'Y' }, geometry: { type: 'Polygon', coordinates: [[a, b, c, d, a], hole] } }).problems).toEqual([
      expect.stringMatching(/^feature 0 \("yard"\): hole 1 crosses itself/),
    ]);
  });

  it('accepts good rings: unclosed, with a repeated position, concave, and large ones (checked by the sweep)', () => {
    expect(ringProblem([a, b, c, d])).toBeUndefined();
    expect(ringProblem([a, b, b, c, d, a, a])).toBeUndefined();
    expect(ringProblem([a, b, [4.005, 52.005], c, d, a])).toBeUndefined();
    expect(ringProblem(circleRing(5000))).toBeUndefined();
  });

  it('finds a crossing in a large ring as the pairwise check does', () => {
    const ring = circleRing(5000);
    // Swap two positions far apart: their edges now cross the ring.
    const swapped = [...ring];
    [swapped[100], swapped[2600]] = [ring[2600] as LngLat, ring[100] as LngLat];
    expect(ringProblem(swapped)).toMatch(/^crosses itself/);
    // Neighbouring positions swapped: a small bowtie in the outline.
    const twisted = [...ring];
    [twisted[1000], twisted[1001]] = [ring[1001] as LngLat, ring[1000] as LngLat];
    expect(ringProblem(twisted)).toMatch(/^crosses itself/);
    expect(ringProblem(twisted.slice(990, 1010).concat([twisted[990] as LngLat]))).toMatch(/^crosses itself/);
  });
});

describe('hole checks: a hole must lie within its outer ring', () => {
  const yard = (...holes: LngLat[][]) => ({ type: 'Feature', properties: { name: 'yard', locationCode: 'Y' }, geometry: { type: 'Polygon', coordinates: [[a, b, c, d, a], ...holes] } });
  const inside: LngLat[] = [[4.002, 52.002], [4.008, 52.002], [4.008, 52.008], [4.002, 52.008], [4.002, 52.002]];
  // Mostly east of the yard: a digitising slip. Before, the yard came out with an area of 0 and won every overlap.
  const slipped: LngLat[] = [[4.009, 51.99], [4.03, 51.99], [4.03, 52.02], [4.009, 52.02], [4.009, 51.99]];

  it('refuses a hole partly or wholly outside, or the outer ring again, naming the feature and the hole', () => {
    expect(zonesFromGeoJson(yard(slipped))).toEqual({
      zones: [],
      problems: ['feature 0 ("yard"): hole 1 is not inside the outer ring: its position [4.009, 51.99] lies outside it; draw the hole within the outer ring, or leave it out'],
    });
    expect(zonesFromGeoJson(yard(inside, [[5, 52], [5.01, 52], [5.01, 52.01], [5, 52]])).problems).toEqual([expect.stringMatching(/^feature 0 \("yard"\): hole 2 is not inside the outer ring/)]);
    expect(zonesFromGeoJson(yard([a, b, c, d, a])).problems).toEqual(['feature 0 ("yard"): hole 1 covers the whole outer ring, leaving the zone no area; leave the hole out (or give the outer ring of the zone around it)']);
    expect(zonesFromGeoJson(yard([d, c, b, a, d])).problems).toEqual([expect.stringMatching(/hole 1 covers the whole outer ring/)]); // drawn the other way round
  });

  it('refuses a hole whose edge crosses a concave outer ring though its positions are all inside', () => {
    // A U-shaped yard (notch from the north down to 52.005), and a hole spanning the notch.
    const u: LngLat[] = [a, b, c, [4.006, 52.01], [4.006, 52.005], [4.004, 52.005], [4.004, 52.01], d, a];
    const across: LngLat[] = [[4.002, 52.006], [4.008, 52.006], [4.008, 52.007], [4.002, 52.007], [4.002, 52.006]];
    expect(holeProblem(u, across)).toMatch(/^crosses the outer ring: its edge from \[4.002, 52.006\] to \[4.008, 52.006\] meets the edge from/);
  });

  it('accepts a hole inside, or touching the outer ring, and says which polygon of a MultiPolygon is wrong', () => {
    const r = zonesFromGeoJson(yard(inside));
    expect(r.problems).toEqual([]);
    expect(areaM2(r.zones[0]?.shape as never)).toBeGreaterThan(0);
    expect(holeProblem([a, b, c, d, a], [a, [4.005, 52], [4.005, 52.005], a])).toBeUndefined(); // on the outer ring's corner and edge
    const multi = { type: 'Feature', properties: { name: 'plant', locationCode: 'P' }, geometry: { type: 'MultiPolygon', coordinates: [[[a, b, c, d, a], inside], [[a, b, c, d, a], slipped]] } };
    expect(zonesFromGeoJson(multi).problems).toEqual([expect.stringMatching(/^feature 0 \("plant"\): polygon 1 of the MultiPolygon: hole 1 is not inside the outer ring/)]);
  });
});

describe('ring checks: holes of one polygon that overlap each other are refused', () => {
  const square = (x: number, y: number, size: number): LngLat[] => [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]];
  const yard = (...holes: LngLat[][]) => ({ type: 'Feature', properties: { name: 'yard', locationCode: 'Y' }, geometry: { type: 'Polygon', coordinates: [[a, b, c, d, a], ...holes] } });
  const big = square(4.001, 52.001, 0.008); // 64% of the yard

  it('refuses the same hole given twice (an export slip), which took it off the area twice: a yard of no area, winning every overlap', () => {
    expect(zonesFromGeoJson(yard(big, big))).toEqual({ zones: [], problems: ['feature 0 ("yard"): hole 2 is hole 1 again; leave one of them out'] });
    // From another position, or the other way round, it is the same ring.
    const reversed = [...big.slice(2, -1), ...big.slice(0, 2), big[2] as LngLat].reverse();
    expect(zonesFromGeoJson(yard(big, reversed)).problems).toEqual(['feature 0 ("yard"): hole 2 is hole 1 again; leave one of them out']);
    // What it did: the yard's area came out 0 (1 - 2 × 0.64 of it, floored), so a workshop inside it lost to the yard.
    const once = zonesFromGeoJson(yard(big)).zones[0];
    expect(areaM2(once?.shape as never)).toBeGreaterThan(0);
    expect(areaM2({ type: 'polygon', polygons: [[[a, b, c, d, a], big, big]] })).toBe(0);
  });

  it('refuses holes that cross, or one inside the other, naming the first it overlaps', () => {
    const crossing = square(4.005, 52.005, 0.002);
    const apart = square(4.0005, 52.0005, 0.0003);
    expect(zonesFromGeoJson(yard(apart, square(4.004, 52.004, 0.002), crossing)).problems).toEqual([
      "feature 0 (\"yard\"): hole 3 overlaps hole 2: the holes of a polygon must not overlap (the overlap would be taken off the zone's area twice, and the area ranks overlapping zones); merge them into one hole",
    ]);
    expect(zonesFromGeoJson(yard(big, square(4.002, 52.002, 0.001))).problems).toEqual([expect.stringMatching(/^feature 0 \("yard"\): hole 2 overlaps hole 1: /)]); // inside it
    expect(zonesFromGeoJson(yard(square(4.002, 52.002, 0.001), big)).problems).toEqual([expect.stringMatching(/^feature 0 \("yard"\): hole 2 overlaps hole 1: /)]); // around it
    // A triangle on three corners of a square hole: no position strictly inside, its long edge is.
    const triangle: LngLat[] = [[4.001, 52.001], [4.009, 52.001], [4.009, 52.009], [4.001, 52.001]];
    expect(holesProblem(big, triangle)).toMatch(/^overlaps the other hole/);
  });

  it('accepts holes apart, touching at a corner, or side by side along an edge', () => {
    expect(zonesFromGeoJson(yard(square(4.001, 52.001, 0.002), square(4.005, 52.005, 0.002))).problems).toEqual([]);
    expect(zonesFromGeoJson(yard(square(4.001, 52.001, 0.002), square(4.003, 52.003, 0.002))).problems).toEqual([]);
    expect(zonesFromGeoJson(yard(square(4.001, 52.001, 0.002), square(4.003, 52.001, 0.002))).problems).toEqual([]);
  });
});

describe('ring checks: polygons of one MultiPolygon that overlap each other are refused', () => {
  const square = (x: number, y: number, size: number): LngLat[] => [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]];
  const plant = (...polygons: LngLat[][][]) => ({ type: 'Feature', properties: { name: 'plant', locationCode: 'P' }, geometry: { type: 'MultiPolygon', coordinates: polygons } });
  const yard = square(4, 52, 0.01);

  it('refuses the same polygon given twice, which counted its area twice: a yard twice its size, losing overlaps it should win', () => {
    expect(zonesFromGeoJson(plant([yard], [yard]))).toEqual({ zones: [], problems: ['feature 0 ("plant"): polygon 1 of the MultiPolygon is polygon 0 again (the same outer ring); leave one of them out'] });
    const reversed = [...yard].reverse();
    expect(zonesFromGeoJson(plant([yard], [reversed])).problems).toEqual([expect.stringMatching(/^feature 0 \("plant"\): polygon 1 of the MultiPolygon is polygon 0 again/)]);
    // What it did: the area twice the yard's.
    expect(areaM2({ type: 'polygon', polygons: [[yard], [yard]] }) / areaM2({ type: 'polygon', polygons: [[yard]] })).toBeCloseTo(2, 6);
  });

  it('refuses polygons that cross, or one inside the other, naming the first it overlaps', () => {
    const apart = square(4.02, 52, 0.01);
    expect(zonesFromGeoJson(plant([yard], [apart], [square(4.005, 52.005, 0.01)])).problems).toEqual([
      "feature 0 (\"plant\"): polygon 2 of the MultiPolygon overlaps polygon 0: the polygons of a MultiPolygon must not overlap (the overlap would be counted twice in the zone's area, and the area ranks overlapping zones); merge them into one polygon",
    ]);
    expect(zonesFromGeoJson(plant([yard], [square(4.002, 52.002, 0.001)])).problems).toEqual([expect.stringMatching(/^feature 0 \("plant"\): polygon 1 of the MultiPolygon overlaps polygon 0: /)]); // inside it
    expect(zonesFromGeoJson(plant([square(4.002, 52.002, 0.001)], [yard])).problems).toEqual([expect.stringMatching(/^feature 0 \("plant"\): polygon 1 of the MultiPolygon overlaps polygon 0: /)]); // around it
    // In a hole of the other, but larger than the hole.
    expect(zonesFromGeoJson(plant([yard, square(4.004, 52.004, 0.002)], [square(4.003, 52.003, 0.004)])).problems).toEqual([expect.stringMatching(/polygon 1 of the MultiPolygon overlaps polygon 0/)]);
  });

  it('accepts polygons apart, side by side (a zone split at ±180°), or one in a hole of the other (an island)', () => {
    expect(zonesFromGeoJson(plant([yard], [square(4.02, 52, 0.01)])).problems).toEqual([]);
    expect(zonesFromGeoJson(plant([yard], [square(4.01, 52, 0.01)])).problems).toEqual([]);
    expect(zonesFromGeoJson(plant([[[179.99, 0], [180, 0], [180, 0.01], [179.99, 0.01], [179.99, 0]]], [[[-180, 0], [-179.99, 0], [-179.99, 0.01], [-180, 0.01], [-180, 0]]])).problems).toEqual([]);
    const hole = square(4.002, 52.002, 0.006);
    expect(zonesFromGeoJson(plant([yard, hole], [square(4.003, 52.003, 0.004)])).problems).toEqual([]);
    expect(zonesFromGeoJson(plant([square(4.003, 52.003, 0.004)], [yard, hole])).problems).toEqual([]);
    expect(zonesFromGeoJson(plant([yard, hole], [hole])).problems).toEqual([]); // filling the hole
  });
});
