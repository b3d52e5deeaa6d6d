/**
 * Zone shapes and the geometry on them: point-in-polygon by ray casting, distance to a boundary
 * for hysteresis, and areas for "most specific zone wins". Coordinates follow GeoJSON: `[lng, lat]`.
 * Zones are site-sized, so a local equirectangular projection around the point is accurate to well
 * under a metre at the scale that matters for hysteresis. Zones crossing the antimeridian are not
 * supported (split them in two).
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

/** Grow a box by `marginM` metres on every side. */
export function expandBBox(b: BBox, marginM: number): BBox {
  if (marginM <= 0) return b;
  const dLat = marginM / M_PER_DEG;
  const lat = Math.max(Math.abs(b.minLat), Math.abs(b.maxLat));
  const dLng = marginM / (M_PER_DEG * Math.max(0.01, Math.cos(toRad(Math.min(89, lat)))));
  return { minLng: b.minLng - dLng, minLat: b.minLat - dLat, maxLng: b.maxLng + dLng, maxLat: b.maxLat + dLat };
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

/** Shortest distance in metres from a point to any edge of any ring of the shape's polygons. */
export function distanceToBoundaryM(lng: number, lat: number, polygons: readonly Polygon[]): number {
  const kx = M_PER_DEG * Math.cos(toRad(lat));
  const ky = M_PER_DEG;
  let best = Infinity;
  for (const polygon of polygons)
    for (const ring of polygon)
      for (let i = 1; i < ring.length; i++) {
        const a = ring[i - 1] as LngLat;
        const b = ring[i] as LngLat;
        const ax = (a[0] - lng) * kx;
        const ay = (a[1] - lat) * ky;
        const bx = (b[0] - lng) * kx;
        const by = (b[1] - lat) * ky;
        const dx = bx - ax;
        const dy = by - ay;
        const len2 = dx * dx + dy * dy;
        const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2));
        const px = ax + t * dx;
        const py = ay + t * dy;
        const d = px * px + py * py;
        if (d < best) best = d;
      }
  return Math.sqrt(best);
}

/**
 * Where a point is relative to a zone: `inside`; `band` = outside but within `marginM` of the
 * boundary (the hysteresis band, where a zone already entered is not yet left); `outside`.
 */
export type Placement = 'inside' | 'band' | 'outside';

export function placement(shape: ZoneShape, lat: number, lng: number, marginM: number): Placement {
  if (shape.type === 'circle') {
    const d = haversineM({ lat, lng }, shape);
    if (d <= shape.radiusM) return 'inside';
    return d <= shape.radiusM + marginM ? 'band' : 'outside';
  }
  for (const polygon of shape.polygons) if (pointInPolygon(lng, lat, polygon)) return 'inside';
  if (marginM > 0 && distanceToBoundaryM(lng, lat, shape.polygons) <= marginM) return 'band';
  return 'outside';
}

/** Approximate area in m² (shoelace on a local projection), for ranking overlapping zones. */
export function areaM2(shape: ZoneShape): number {
  if (shape.type === 'circle') return Math.PI * shape.radiusM * shape.radiusM;
  let total = 0;
  for (const polygon of shape.polygons) {
    polygon.forEach((ring, i) => {
      const lat0 = ring[0]?.[1] ?? 0;
      const kx = M_PER_DEG * Math.cos(toRad(lat0));
      let s = 0;
      for (let k = 1; k < ring.length; k++) {
        const [x1, y1] = ring[k - 1] as LngLat;
        const [x2, y2] = ring[k] as LngLat;
        s += x1 * kx * (y2 * M_PER_DEG) - x2 * kx * (y1 * M_PER_DEG);
      }
      total += (i === 0 ? 1 : -1) * Math.abs(s / 2);
    });
  }
  return Math.max(0, total);
}
