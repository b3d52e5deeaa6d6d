import { describe, expect, it } from 'vitest';
import { zonesFromGeoJson } from './geojson.js';
import { areaM2, holeProblem, ringProblem, type LngLat } from './geometry.js';

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
    // A spike out and back along itself is a crossing (neighbouring edges that overlap).
    expect(ringProblem([a, b, c, [4.01, 52.02], c, d, a])).toMatch(/^crosses itself/);
  });

  it('refuses a ring that touches itself at a vertex, and a hole that crosses itself', () => {
    // Two squares sharing the corner c, drawn as one ring.
    expect(ringProblem([a, b, c, [4.02, 52.01], [4.02, 52.02], [4.01, 52.02], c, d, a])).toMatch(/^crosses itself/);
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
