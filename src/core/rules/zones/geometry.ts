/**
 * Zone shapes and the geometry on them: point-in-polygon by ray casting, distance to a boundary
 * for hysteresis, and areas for "most specific zone wins" (on the sphere: see areaM2). Coordinates
 * follow GeoJSON: `[lng, lat]`. Zones are site-sized, so a local equirectangular projection around
 * the point is accurate to well under a metre at the scale that matters for hysteresis. Polygons crossing the antimeridian are
 * not supported (split them in two); circles are measured on the sphere, so they may.
 * @module
 */
import { haversineM } from '../geo.js';

export type LngLat = readonly [number, number];
/** A linear ring, first point equal to the last (closed). */
export type Ring = readonly LngLat[];
/** Outer ring first, then holes. */
export type Polygon = readonly Ring[];

export interface PolygonShape {
  readonly type: 'polygon';
  /** One or more polygons (a GeoJSON MultiPolygon has several). */
  readonly polygons: readonly Polygon[];
}

export interface CircleShape {
  readonly type: 'circle';
  readonly lat: number;
  readonly lng: number;
  readonly radiusM: number;
}

export type ZoneShape = PolygonShape | CircleShape;

/** A named zone mapped to the ERP location it stands for. */
export interface Zone {
  /** Unique name; zone state is kept by name. */
  readonly name: string;
  /** The ERP's location code (plant/storage location, warehouse zone, site id, ...). */
  readonly locationCode: string;
  /** Site the zone belongs to (maintenance windows are per site). */
  readonly site?: string;
  /** Higher wins when an asset is in several zones; equal priority: the smaller zone wins. @default 0 */
  readonly priority: number;
  readonly shape: ZoneShape;
}

/**
 * The largest circle radius accepted, metres: 20,000 km, just under half the circumference of the
 * sphere {@link haversineM} measures on (about 20,015 km), beyond which a circle is the whole Earth.
 * Circles are tested on the sphere (haversine), so containment is right up to this radius.
 */
export const MAX_CIRCLE_RADIUS_M = 20_000_000;

/** Bounding box in degrees. */
export interface BBox {
  readonly minLng: number;
  readonly minLat: number;
  readonly maxLng: number;
  readonly maxLat: number;
}

/** Metres per degree of latitude (and of longitude at the equator). */
export const M_PER_DEG = 111_320;
const toRad = (deg: number): number => (deg * Math.PI) / 180;

/** Metres per degree of a great circle on the sphere {@link haversineM} measures on (circles are tested with it). */
const M_PER_DEG_SPHERE = haversineM({ lat: 0, lng: 0 }, { lat: 1, lng: 0 });

/**
 * The box of a circle: exact for a spherical cap (a flat-earth box misses points near its edge,
 * far more so near a pole), every longitude when the circle reaches a pole.
 */
function circleBBox(lat: number, lng: number, radiusM: number): BBox {
  // A hair wider, so float rounding never puts a point placement() calls inside outside the box.
  const d = (radiusM / M_PER_DEG_SPHERE) * (1 + 1e-9);
  const minLat = lat - d;
  const maxLat = lat + d;
  if (minLat <= -90 || maxLat >= 90) return { minLng: -180, minLat: Math.max(-90, minLat), maxLng: 180, maxLat: Math.min(90, maxLat) };
  const dLng = (Math.asin(Math.min(1, Math.sin(toRad(d)) / Math.cos(toRad(lat)))) * 180) / Math.PI;
  return { minLng: lng - dLng, minLat, maxLng: lng + dLng, maxLat };
}

export function bboxOf(shape: ZoneShape): BBox {
  if (shape.type === 'circle') return circleBBox(shape.lat, shape.lng, shape.radiusM);
  let minLng = Infinity;
  let minLat = Infinity;
  let maxLng = -Infinity;
  let maxLat = -Infinity;
  for (const polygon of shape.polygons) {
    const outer = polygon[0] ?? [];
    for (const [lng, lat] of outer) {
      if (lng < minLng) minLng = lng;
      if (lng > maxLng) maxLng = lng;
      if (lat < minLat) minLat = lat;
      if (lat > maxLat) maxLat = lat;
    }
  }
  return { minLng, minLat, maxLng, maxLat };
}

/** The box holding every point `placement` puts inside a shape or in its `marginM` band. */
export function searchBBox(shape: ZoneShape, marginM: number): BBox {
  // A circle's band is a larger circle: its box is exact, where growing the box is not.
  return shape.type === 'circle' ? circleBBox(shape.lat, shape.lng, shape.radiusM + Math.max(0, marginM)) : expandBBox(bboxOf(shape), marginM);
}

/**
 * The box as boxes within ±180° of longitude: a circle near the antimeridian reaches past it
 * (179.999° E, 1 km: to 180.008°), and the part past it is at the other end (-179.992°).
 */
export function wrapBBox(b: BBox): BBox[] {
  if (b.maxLng - b.minLng >= 360) return [{ ...b, minLng: -180, maxLng: 180 }];
  if (b.minLng < -180) return [{ ...b, minLng: -180 }, { ...b, minLng: b.minLng + 360, maxLng: 180 }];
  if (b.maxLng > 180) return [{ ...b, maxLng: 180 }, { ...b, minLng: -180, maxLng: b.maxLng - 360 }];
  return [b];
}

/**
 * Grow a box by `marginM` metres on every side, as {@link placement} measures a polygon's band:
 * east–west in metres at the position's own latitude, so by the degrees `marginM` spans at the
 * latitude farthest from the equator the grown box reaches (a hair more, for rounding). A box
 * reaching a pole, or so near one that this spans half the world, takes every longitude.
 */
export function expandBBox(b: BBox, marginM: number): BBox {
  if (marginM <= 0) return b;
  const dLat = (marginM / M_PER_DEG) * (1 + 1e-9);
  const minLat = b.minLat - dLat;
  const maxLat = b.maxLat + dLat;
  const far = Math.max(Math.abs(minLat), Math.abs(maxLat));
  const dLng = far >= 90 ? Infinity : (marginM / (M_PER_DEG * Math.cos(toRad(far)))) * (1 + 1e-9);
  if (!(dLng < 180)) return { minLng: -180, minLat: Math.max(-90, minLat), maxLng: 180, maxLat: Math.min(90, maxLat) };
  return { minLng: b.minLng - dLng, minLat, maxLng: b.maxLng + dLng, maxLat };
}

/** Even-odd ray casting; points exactly on an edge may fall either way (hysteresis absorbs that). */
export function pointInRing(lng: number, lat: number, ring: Ring): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i] as LngLat;
    const [xj, yj] = ring[j] as LngLat;
    if (yi > lat !== yj > lat && lng < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function pointInPolygon(lng: number, lat: number, polygon: Polygon): boolean {
  const [outer, ...holes] = polygon;
  if (!outer || !pointInRing(lng, lat, outer)) return false;
  for (const hole of holes) if (pointInRing(lng, lat, hole)) return false;
  return true;
}

/**
 * Shortest distance in metres from a point to any edge of any ring of the shape's polygons. A
 * vertex's longitude is taken the short way round from the point's (a polygon ending at 180° is a
 * few metres from a point at -179.9999°, not 360° away), and each edge runs from its first vertex
 * as drawn (no ring crosses ±180°: zones across it are split there).
 */
export function distanceToBoundaryM(lng: number, lat: number, polygons: readonly Polygon[]): number {
  const kx = M_PER_DEG * Math.cos(toRad(lat));
  const ky = M_PER_DEG;
  let best = Infinity;
  for (const polygon of polygons)
    for (const ring of polygon)
      for (let i = 1; i < ring.length; i++) {
        const a = ring[i - 1] as LngLat;
        const b = ring[i] as LngLat;
        const d = segmentDistance2(a[0], a[1], b[0], b[1], lng, lat, kx, ky);
        if (d < best) best = d;
      }
  return Math.sqrt(best);
}

/**
 * The square of the distance in metres from (lng, lat) to the edge from vertex a to vertex b, in a
 * plane of `kx` and `ky` metres per degree of longitude and latitude there: a's longitude is taken
 * the short way round from the point's, and the edge runs from a as drawn.
 */
export function segmentDistance2(aLng: number, aLat: number, bLng: number, bLat: number, lng: number, lat: number, kx: number, ky: number): number {
  const da = shortWay(aLng - lng);
  const ax = da * kx;
  const ay = (aLat - lat) * ky;
  const bx = (da + bLng - aLng) * kx;
  const by = (bLat - lat) * ky;
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2));
  const px = ax + t * dx;
  const py = ay + t * dy;
  return px * px + py * py;
}

/** A difference of longitudes, in degrees, as the shorter way round: within ±180. */
const shortWay = (d: number): number => (d > 180 ? d - 360 : d < -180 ? d + 360 : d);

/**
 * Where a point is relative to a zone: `inside`; `band` = outside but within `marginM` of the
 * boundary (the hysteresis band, where a zone already entered is not yet left); `outside`.
 */
export type Placement = 'inside' | 'band' | 'outside';

export function placement(shape: ZoneShape, lat: number, lng0: number, marginM: number): Placement {
  // +180 is -180 (the same meridian): a zone split at ±180° has its west part start at -180, and
  // ray casting counts a polygon's west edge as inside but its east edge (180) as outside.
  const lng = lng0 === 180 ? -180 : lng0;
  if (shape.type === 'circle') {
    const d = haversineM({ lat, lng }, shape);
    if (d <= shape.radiusM) return 'inside';
    return d <= shape.radiusM + marginM ? 'band' : 'outside';
  }
  for (const polygon of shape.polygons) if (pointInPolygon(lng, lat, polygon)) return 'inside';
  if (marginM > 0 && distanceToBoundaryM(lng, lat, shape.polygons) <= marginM) return 'band';
  return 'outside';
}

/**
 * Whether two zones' shapes share no inside: they are apart, or touch (two bays side by side along
 * one wall). A position inside one of them is then in the other only by its hysteresis band, which
 * does not hold the asset in it (see ZoneIndex.locate). Conservative: shapes that may overlap
 * (one inside the other, crossing, an island in a hole) are not apart.
 */
export function shapesApart(a: ZoneShape, b: ZoneShape): boolean {
  if (a.type === 'circle' && b.type === 'circle') return haversineM(a, b) >= a.radiusM + b.radiusM;
  if (a.type === 'circle' || b.type === 'circle') {
    const [c, p] = (a.type === 'circle' ? [a, b] : [b, a]) as [CircleShape, PolygonShape];
    // The disk misses the polygon's boundary and its centre is outside it (or in a hole).
    return placement(p, c.lat, c.lng, 0) !== 'inside' && distanceToBoundaryM(c.lng, c.lat, p.polygons) >= c.radiusM;
  }
  for (const pa of a.polygons)
    for (const pb of b.polygons) {
      const [ra, rb] = [pa[0], pb[0]];
      if (ra && rb && ringsOverlap(ra, rb) !== undefined) return false;
    }
  return true;
}

/** Radius of the sphere a polygon's area is measured on: the one whose degree is {@link M_PER_DEG} metres. */
const R_AREA = (M_PER_DEG * 180) / Math.PI;

/**
 * Area in m² on the sphere, for ranking overlapping zones. A polygon's edges are the straight
 * lines in longitude and latitude that containment tests (ray casting), so its area is the exact
 * one of that region on the sphere: by Green's theorem R²·∮ sin φ dλ, which along an edge from
 * (λ1, φ1) to (λ2, φ2) is R²·Δλ·sin φm·sinc(Δφ/2), φm the middle latitude (Chamberlain &
 * Duquette's spherical excess, turf's `area`, with the edge integrated exactly rather than by its
 * midpoint). Measured on the sphere, a polygon and a circle of the same area rank alike at any
 * latitude: a flat projection about the middle of a polygon weighs its poleward part as much as
 * its equatorward one (a box 55–65°N came out 0.13% larger than it is, and lost to a circle
 * smaller than it). Each ring is summed relative to the middle latitude of its polygon's outer
 * ring's box (the integral of a constant round a closed ring is 0), so a yard's area keeps its
 * digits; a polygon's longitudes run as drawn (no ring crosses ±180°: a zone across it is split
 * there, each part measured alone). The area is rounded to 9 significant digits: the same shape
 * with its rings started at another vertex, or run the other way round, has the same area, so
 * zones of equal size rank by the order they are configured in, not by rounding.
 *
 * A circle is the spherical cap it covers, 2πR²(1 − cos θ): its angular radius θ is `radiusM` on
 * the sphere its points are tested on (haversineM's), and R is the sphere polygons are measured
 * on, so a circle and a polygon tracing it come out the same. A flat πr² is larger than the cap
 * (by 0.8% at 2,000 km), and ranked a large circle behind a polygon larger than it.
 */
export function areaM2(shape: ZoneShape): number {
  if (shape.type === 'circle') {
    // 1 − cos θ as 2 sin²(θ/2): exact for a yard's circle too (cos θ would round to 1).
    const half = Math.sin(toRad(shape.radiusM / M_PER_DEG_SPHERE) / 2);
    return Number((4 * Math.PI * R_AREA * R_AREA * half * half).toPrecision(9));
  }
  let total = 0;
  for (const polygon of shape.polygons) {
    const box = boxOfRing(polygon[0] ?? []);
    const lat0 = (box.minLat + box.maxLat) / 2;
    polygon.forEach((ring, i) => {
      total += (i === 0 ? 1 : -1) * Math.abs(ringExcess(ring, lat0));
    });
  }
  return total > 0 ? Number((total * R_AREA * R_AREA).toPrecision(9)) : 0;
}

/**
 * ∮ (sin φ − sin φ0) dλ round a closed ring (its area on the unit sphere, signed by its direction),
 * each edge straight in longitude and latitude and integrated exactly. Differences of latitude
 * from φ0 are taken in degrees first (exact for nearby values), so a ring of a few metres keeps
 * its digits.
 */
function ringExcess(ring: Ring, lat0: number): number {
  const phi0 = toRad(lat0);
  let s = 0;
  for (let k = 1; k < ring.length; k++) {
    const [lng1, lat1] = ring[k - 1] as LngLat;
    const [lng2, lat2] = ring[k] as LngLat;
    const dLng = toRad(lng2 - lng1);
    if (dLng === 0) continue;
    // Middle latitude less φ0, and half the latitude the edge spans, in radians.
    const m = toRad((lat1 - lat0 + (lat2 - lat0)) / 2);
    const x = toRad(lat2 - lat1) / 2;
    // sin φm − sin φ0, without the cancellation of subtracting the sines.
    const dSin = 2 * Math.cos(phi0 + m / 2) * Math.sin(m / 2);
    // sin φm · (sinc x − 1): the edge's curve against its midpoint's latitude (a series where sin x / x − 1 would cancel).
    const x2 = x * x;
    const sincLess1 = Math.abs(x) < 1e-2 ? -x2 / 6 + (x2 * x2) / 120 - (x2 * x2 * x2) / 5040 : Math.sin(x) / x - 1;
    s += dLng * (dSin + sincLess1 * Math.sin(phi0 + m));
  }
  return s;
}

/**
 * Rings with more vertices than this are checked for crossings by a sweep over their edges'
 * longitude spans instead of every pair: exact either way, the sweep only skips pairs that cannot meet.
 */
const PAIRWISE_MAX = 64;
/**
 * Edge pairs a sweep may test before it gives up on a ring: about a second of work. Only a ring of
 * many long edges stacked on each other gets near it (site outlines have short edges); such a
 * ring is accepted unchecked rather than stall the start.
 */
const SWEEP_BUDGET = 50_000_000;

/**
 * What makes a ring unusable as a zone boundary, or undefined: fewer than 3 distinct positions, no
 * area, or edges that cross or touch (other than neighbours at their shared vertex). Such rings
 * are not zones: a bowtie's shoelace area cancels to about 0, so it would win every overlap as
 * "the smallest zone". The text says what to do; callers add which zone and ring.
 */
export function ringProblem(ring: readonly LngLat[]): string | undefined {
  // Repeated consecutive positions are harmless (a closing point given twice); drop them so the
  // edges around them are neighbours.
  const pts: LngLat[] = [];
  for (const p of ring) {
    const last = pts[pts.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) pts.push(p);
  }
  const first = pts[0];
  if (first && pts.length > 1 && samePoint(first, pts[pts.length - 1] as LngLat)) pts.pop();
  const distinct = distinctUpTo3(pts);
  if (distinct < 3) return `needs at least 3 distinct positions, in order around the zone (it has ${distinct})`;
  // Before the crossing check: positions on one line always fold back over each other, and "on one line" says more.
  if (onOneLine(pts)) return NO_AREA;
  const crossing = firstCrossing(pts);
  if (crossing) {
    const [i, j] = crossing;
    const a = [pts[i], pts[(i + 1) % pts.length]] as [LngLat, LngLat];
    const b = [pts[j], pts[(j + 1) % pts.length]] as [LngLat, LngLat];
    // Meeting at a position both pass through (not crossing): an ArcGIS-style ring that closes
    // around a hole at one point, which GeoJSON (OGC simple features) gives as a second ring.
    const touch = a.find((p) => samePoint(p, b[0]) || samePoint(p, b[1]));
    if (touch)
      return `touches itself at ${fmt(touch)}, a position it passes twice (not allowed in GeoJSON, though some GIS tools write a ring around a hole so); give the part it closes off as a hole (a second ring of the Polygon) or as its own polygon of a MultiPolygon, or list the positions in order around the zone`;
    return `crosses itself: its edge from ${fmt(pts[i])} to ${fmt(pts[(i + 1) % pts.length])} meets the edge from ${fmt(pts[j])} to ${fmt(pts[(j + 1) % pts.length])}; list the positions in order around the zone (a figure of eight must be two zones, or a MultiPolygon)`;
  }
  if (!hasArea(pts)) return NO_AREA;
  return undefined;
}

/**
 * What makes `hole` unusable as a hole of the polygon with outer ring `outer`, or undefined: a
 * position outside the outer ring, an edge crossing it, or no area left (the hole as large as the
 * outer ring, or the same ring). The polygon's area would come out 0 or less, so it would win every
 * overlap as "the smallest zone". Both rings are checked alone first ({@link ringProblem}); a hole
 * may touch the outer ring. The text says what to do; callers add which zone and hole.
 */
export function holeProblem(outer: readonly LngLat[], hole: readonly LngLat[]): string | undefined {
  for (const p of hole) {
    if (!pointInRing(p[0], p[1], outer) && !onRing(p, outer)) return `is not inside the outer ring: its position ${fmt(p)} lies outside it; draw the hole within the outer ring, or leave it out`;
  }
  for (let i = 0; i + 1 < hole.length; i++)
    for (let j = 0; j + 1 < outer.length; j++) {
      const [a, b, c, d] = [hole[i], hole[i + 1], outer[j], outer[j + 1]] as [LngLat, LngLat, LngLat, LngLat];
      if (orient(a, b, c) * orient(a, b, d) < 0 && orient(c, d, a) * orient(c, d, b) < 0)
        return `crosses the outer ring: its edge from ${fmt(a)} to ${fmt(b)} meets the edge from ${fmt(c)} to ${fmt(d)}; draw the hole within the outer ring, or leave it out`;
    }
  if (Math.abs(shoelace(hole)) >= Math.abs(shoelace(outer)) * (1 - 1e-9)) return 'covers the whole outer ring, leaving the zone no area; leave the hole out (or give the outer ring of the zone around it)';
  return undefined;
}

/**
 * What makes two holes of one polygon unusable together, or undefined: the same ring twice, or
 * holes whose insides overlap (an edge crossing the other's, a position or an edge's midpoint
 * inside the other). A point in either is outside the zone, but the area subtracts both, so the
 * overlap is taken off twice: the zone comes out smaller than it is, down to no area at all, and
 * would win overlaps as "the smaller zone" (as a hole covering its outer ring would). Holes may
 * touch. Both are checked alone first ({@link ringProblem}); the text names `first` as `firstName`
 * and says what to do; callers add which hole `second` is.
 */
export function holesProblem(first: readonly LngLat[], second: readonly LngLat[], firstName = 'the other hole'): string | undefined {
  const meet = ringsOverlap(first, second);
  if (meet === 'same') return `is ${firstName} again; leave one of them out`;
  if (meet === 'overlap') return `overlaps ${firstName}: the holes of a polygon must not overlap (the overlap would be taken off the zone's area twice, and the area ranks overlapping zones); merge them into one hole`;
  return undefined;
}

/**
 * Whether the insides of two closed rings overlap: `same` (the same ring, from any position,
 * either way round), `overlap` (an edge crossing the other's, a position or an edge's midpoint
 * strictly inside the other), else undefined (apart, or touching).
 */
export function ringsOverlap(first: readonly LngLat[], second: readonly LngLat[]): 'same' | 'overlap' | undefined {
  if (sameRing(first, second)) return 'same';
  const a = boxOfRing(first);
  const b = boxOfRing(second);
  if (a.maxLng < b.minLng || b.maxLng < a.minLng || a.maxLat < b.minLat || b.maxLat < a.minLat) return undefined;
  for (let i = 0; i + 1 < second.length; i++)
    for (let j = 0; j + 1 < first.length; j++) {
      const [p, q, r, t] = [second[i], second[i + 1], first[j], first[j + 1]] as [LngLat, LngLat, LngLat, LngLat];
      if (orient(p, q, r) * orient(p, q, t) < 0 && orient(r, t, p) * orient(r, t, q) < 0) return 'overlap';
    }
  // No edges crossing: one is inside the other where a position or an edge's midpoint of it is strictly inside the other.
  const strictlyIn = (x: LngLat, ring: readonly LngLat[]) => pointInRing(x[0], x[1], ring) && !onRing(x, ring);
  const anyIn = (ring: readonly LngLat[], other: readonly LngLat[]) =>
    ring.some((x, k) => strictlyIn(x, other) || (k + 1 < ring.length && strictlyIn([(x[0] + (ring[k + 1] as LngLat)[0]) / 2, (x[1] + (ring[k + 1] as LngLat)[1]) / 2], other)));
  return anyIn(second, first) || anyIn(first, second) ? 'overlap' : undefined;
}

/**
 * What makes two polygons of one MultiPolygon unusable together, or undefined: the same outer ring
 * twice, or outer rings that overlap (as {@link ringsOverlap} says) where neither lies in a hole of
 * the other (an island in a lake is fine). A point in either is in the zone, but the area adds
 * both, so the overlap is counted twice: the zone comes out larger than it is and loses overlaps it
 * should win as the smaller zone. Parts may touch (a zone split at ±180°). The text names `first`
 * as `firstName` and says what to do; callers add which polygon `second` is.
 */
export function partsProblem(first: Polygon, second: Polygon, firstName: string): string | undefined {
  const [a, ...aHoles] = first;
  const [b, ...bHoles] = second;
  if (!a || !b) return undefined;
  const meet = ringsOverlap(a, b);
  if (meet === undefined) return undefined;
  if (meet === 'same') return `is ${firstName} again (the same outer ring); leave one of them out`;
  if (aHoles.some((h) => ringWithin(h, b)) || bHoles.some((h) => ringWithin(h, a))) return undefined;
  return `overlaps ${firstName}: the polygons of a MultiPolygon must not overlap (the overlap would be counted twice in the zone's area, and the area ranks overlapping zones); merge them into one polygon`;
}

/** Whether `ring` lies within `outer` (every position inside or on it, no edge crossing it, every edge's midpoint inside or on it); it may touch it. */
function ringWithin(outer: readonly LngLat[], ring: readonly LngLat[]): boolean {
  const inOrOn = (p: LngLat) => pointInRing(p[0], p[1], outer) || onRing(p, outer);
  for (let i = 0; i + 1 < ring.length; i++) {
    const [p, q] = [ring[i], ring[i + 1]] as [LngLat, LngLat];
    if (!inOrOn(p) || !inOrOn([(p[0] + q[0]) / 2, (p[1] + q[1]) / 2])) return false;
    for (let j = 0; j + 1 < outer.length; j++) {
      const [r, t] = [outer[j], outer[j + 1]] as [LngLat, LngLat];
      if (orient(p, q, r) * orient(p, q, t) < 0 && orient(r, t, p) * orient(r, t, q) < 0) return false;
    }
  }
  return true;
}

/** Whether two closed rings have the same positions in the same cyclic order, either way round. */
function sameRing(a: readonly LngLat[], b: readonly LngLat[]): boolean {
  const x = a.slice(0, -1);
  const y = b.slice(0, -1);
  if (x.length !== y.length || x.length === 0) return false;
  const start = y.findIndex((p) => samePoint(p, x[0] as LngLat));
  if (start < 0) return false;
  const n = x.length;
  const forward = x.every((p, k) => samePoint(p, y[(start + k) % n] as LngLat));
  return forward || x.every((p, k) => samePoint(p, y[(start - k + n) % n] as LngLat));
}

function boxOfRing(ring: readonly LngLat[]): BBox {
  let minLng = Infinity;
  let minLat = Infinity;
  let maxLng = -Infinity;
  let maxLat = -Infinity;
  for (const [lng, lat] of ring) {
    minLng = Math.min(minLng, lng);
    maxLng = Math.max(maxLng, lng);
    minLat = Math.min(minLat, lat);
    maxLat = Math.max(maxLat, lat);
  }
  return { minLng, minLat, maxLng, maxLat };
}

/** Whether `p` lies on an edge of `ring` (to rounding: exactly on one line, within the edge's box). */
function onRing(p: LngLat, ring: readonly LngLat[]): boolean {
  for (let k = 0; k + 1 < ring.length; k++) if (orient(ring[k] as LngLat, ring[k + 1] as LngLat, p) === 0 && within(ring[k] as LngLat, ring[k + 1] as LngLat, p)) return true;
  return false;
}

/** Twice the signed area of a closed ring in degrees², relative to its first position (rounding). */
function shoelace(ring: readonly LngLat[]): number {
  const [x0, y0] = ring[0] as LngLat;
  let s = 0;
  for (let k = 0; k + 1 < ring.length; k++) {
    const [ax, ay] = ring[k] as LngLat;
    const [bx, by] = ring[k + 1] as LngLat;
    s += (ax - x0) * (by - y0) - (bx - x0) * (ay - y0);
  }
  return s;
}

/** How many distinct positions, counted up to 3 (all that matters; a string per position was most of a big file's check). */
function distinctUpTo3(pts: readonly LngLat[]): number {
  const seen: LngLat[] = [];
  for (const p of pts) {
    if (!seen.some((q) => samePoint(p, q))) seen.push(p);
    if (seen.length === 3) break;
  }
  return seen.length;
}

const NO_AREA = 'has no area (its positions lie on one line); give the positions around the zone';
const samePoint = (a: LngLat, b: LngLat): boolean => a[0] === b[0] && a[1] === b[1];
const fmt = (p: LngLat | undefined): string => (p ? `[${p[0]}, ${p[1]}]` : '?');

/** Whether every position is on the line through the first one and the one farthest from it (to rounding). */
function onOneLine(pts: readonly LngLat[]): boolean {
  const [x0, y0] = pts[0] as LngLat;
  let far = pts[0] as LngLat;
  let len2 = 0;
  for (const p of pts) {
    const d2 = (p[0] - x0) ** 2 + (p[1] - y0) ** 2;
    if (d2 > len2) [far, len2] = [p, d2];
  }
  const dx = far[0] - x0;
  const dy = far[1] - y0;
  // |cross| / length is the distance from the line; compare it with the length.
  return pts.every(([x, y]) => Math.abs(dx * (y - y0) - dy * (x - x0)) <= 1e-9 * len2);
}

/** Whether the shoelace area is more than rounding noise against the ring's size. */
function hasArea(pts: readonly LngLat[]): boolean {
  const [x0, y0] = pts[0] as LngLat;
  let s = 0;
  let size = 0;
  for (let k = 0; k < pts.length; k++) {
    // Relative to the first point, so far-from-0 coordinates do not drown the area in rounding.
    const [ax, ay] = pts[k] as LngLat;
    const [bx, by] = pts[(k + 1) % pts.length] as LngLat;
    s += (ax - x0) * (by - y0) - (bx - x0) * (ay - y0);
    size = Math.max(size, Math.abs(ax - x0), Math.abs(ay - y0));
  }
  return Math.abs(s) > 1e-9 * size * size;
}

/** Sign of the turn a → b → c: 1 left, -1 right, 0 on one line. */
function orient(a: LngLat, b: LngLat, c: LngLat): number {
  const v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

/** Whether c (on the line through a and b) lies within their box. */
const within = (a: LngLat, b: LngLat, c: LngLat): boolean =>
  Math.min(a[0], b[0]) <= c[0] && c[0] <= Math.max(a[0], b[0]) && Math.min(a[1], b[1]) <= c[1] && c[1] <= Math.max(a[1], b[1]);

/** Whether segments ab and cd share any point (crossing, touching, or overlapping). */
function segmentsMeet(a: LngLat, b: LngLat, c: LngLat, d: LngLat): boolean {
  const o1 = orient(a, b, c);
  const o2 = orient(a, b, d);
  const o3 = orient(c, d, a);
  const o4 = orient(c, d, b);
  if (o1 * o2 < 0 && o3 * o4 < 0) return true;
  return (o1 === 0 && within(a, b, c)) || (o2 === 0 && within(a, b, d)) || (o3 === 0 && within(c, d, a)) || (o4 === 0 && within(c, d, b));
}

/**
 * Edges i and j (edge k runs from pts[k] to pts[k+1], the last back to pts[0]) that meet, i < j,
 * or undefined. Neighbouring edges share a vertex and meet only if they fold back over each other.
 * Runs for every ring of every zone file at each start: edges' boxes are compared first, on flat
 * arrays, so the exact test runs only for edges that come close.
 */
function firstCrossing(pts: readonly LngLat[]): [number, number] | undefined {
  const n = pts.length;
  const x0 = new Float64Array(n);
  const x1 = new Float64Array(n);
  const y0 = new Float64Array(n);
  const y1 = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const [ax, ay] = pts[k] as LngLat;
    const [bx, by] = pts[(k + 1) % n] as LngLat;
    x0[k] = Math.min(ax, bx);
    x1[k] = Math.max(ax, bx);
    y0[k] = Math.min(ay, by);
    y1[k] = Math.max(ay, by);
  }
  const apart = (i: number, j: number): boolean => (x1[i] as number) < (x0[j] as number) || (x1[j] as number) < (x0[i] as number) || (y1[i] as number) < (y0[j] as number) || (y1[j] as number) < (y0[i] as number);
  const meet = (i: number, j: number): boolean => {
    const a = pts[i] as LngLat;
    const b = pts[(i + 1) % n] as LngLat;
    const c = pts[j] as LngLat;
    const d = pts[(j + 1) % n] as LngLat;
    if (j === i + 1 || (i === 0 && j === n - 1)) {
      // Neighbours: they share a vertex; they meet elsewhere only when one folds back along the other.
      const [shared, p, q] = j === i + 1 ? [b, a, d] : [a, b, c];
      return orient(p, shared, q) === 0 && (p[0] - shared[0]) * (q[0] - shared[0]) + (p[1] - shared[1]) * (q[1] - shared[1]) > 0;
    }
    return segmentsMeet(a, b, c, d);
  };
  if (n <= PAIRWISE_MAX) {
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (!apart(i, j) && meet(i, j)) return [i, j];
    return undefined;
  }
  // Sweep west to east: edges sorted by their west end; an edge is tested against those still open
  // (whose east end is not west of its west end).
  const order = Array.from({ length: n }, (_, k) => k).sort((a, b) => (x0[a] as number) - (x0[b] as number));
  let open: number[] = [];
  let tests = 0;
  for (const k of order) {
    const west = x0[k] as number;
    open = open.filter((o) => (x1[o] as number) >= west);
    for (const o of open) {
      if (++tests > SWEEP_BUDGET) return undefined;
      const [i, j] = o < k ? [o, k] : [k, o];
      if (!apart(i, j) && meet(i, j)) return [i, j];
    }
    open.push(k);
  }
  return undefined;
}
