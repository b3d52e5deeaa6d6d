/**
 * A bounding-box grid over the zones, so locating a position among thousands of zones costs a
 * hash lookup and a few precise tests instead of a scan. Each zone is registered in every grid
 * cell its bounding box (grown by the hysteresis margin) touches; zones too large for the grid
 * are tested on every lookup. The last event's result is kept, so the location and inventory
 * rules share one computation per event.
 * @module
 */
import { createHash } from 'node:crypto';
import type { PositionFix } from '../../model/events.js';
import { haversineCoordsM } from '../geo.js';
import { areaM2, M_PER_DEG, placement, searchBBox, segmentDistance2, shapesApart, wrapBBox, type BBox, type Zone } from './geometry.js';

/** Where a position is: zones it is inside, and zones whose hysteresis band it is in. */
export interface ZoneHit {
  /** Zone names, in configuration order. */
  readonly inside: readonly string[];
  /**
   * Outside these zones but within the hysteresis margin of their boundary; not a zone apart from
   * one the position is inside (the bay beside the one it is in: see ZoneIndex's `apart`).
   */
  readonly band: readonly string[];
}

export interface ZoneIndexOptions {
  /** Hysteresis margin: how far outside its boundary a zone still counts as "not left", metres. */
  readonly hysteresisM: number;
  /** Grid cell size in degrees. @default derived from the zones' sizes */
  readonly cellDeg?: number;
}

const EMPTY_HIT: ZoneHit = { inside: [], band: [] };
/** A zone spanning more cells than this is kept out of the grid and tested on every lookup. */
const MAX_CELLS_PER_ZONE = 4096;
/** Cell coordinates are offset to be non-negative and packed into one safe integer (a grid too wide for a small key). */
const CELL_OFFSET = 1 << 22;
const CELL_SPAN = 2 ** 24;
/**
 * The largest cell key kept small: V8 holds integers below 2^30 unboxed (Smis), hashed and
 * compared without a heap number per lookup. A grid over a region (the usual case) numbers its
 * cells from its corner and stays below this; a worldwide one packs the coordinates as above.
 */
const SMALL_KEYS = 2 ** 30;

interface Entry {
  readonly zone: Zone;
  readonly order: number;
  readonly box: BBox;
}

export class ZoneIndex {
  readonly zones: readonly Zone[];
  readonly hysteresisM: number;
  private readonly entries: Entry[];
  private readonly cells = new Map<number, Entry[]>();
  private readonly large: Entry[] = [];
  private readonly cell: number;
  /**
   * Cell keys: with `span` > 0, `(x - x0) * span + (y - y0)` within the grid's extent (small
   * integers), and no cell outside it; with `span` 0, the packed key of {@link cellKey}.
   */
  private readonly x0: number = 0;
  private readonly y0: number = 0;
  private readonly x1: number = -1;
  private readonly y1: number = -1;
  private readonly span: number = 0;
  private readonly byNameMap = new Map<string, Zone>();
  /** name → [priority, -area] for choosing among overlapping zones. */
  private readonly rankOf = new Map<string, readonly [number, number, number]>();
  /** The last event located: the location and inventory rules ask about the same event in turn. */
  private lastEvent: PositionFix | undefined;
  private lastHit: ZoneHit = EMPTY_HIT;
  /** The index in typed arrays, for {@link locateNumbers}; built on its first use. */
  private compiled: Compiled | undefined;

  constructor(zones: readonly Zone[], options: ZoneIndexOptions) {
    this.zones = zones;
    this.hysteresisM = options.hysteresisM;
    // A zone whose box reaches past ±180° (a circle near the antimeridian) has an entry per side of it.
    this.entries = zones.flatMap((zone, order) => wrapBBox(searchBBox(zone.shape, options.hysteresisM)).map((box) => ({ zone, order, box })));
    this.cell = options.cellDeg ?? pickCellSize(this.entries.map((e) => e.box));
    const gridded: [Entry, number, number, number, number][] = [];
    for (const e of this.entries) {
      this.byNameMap.set(e.zone.name, e.zone);
      this.rankOf.set(e.zone.name, [e.zone.priority, -areaM2(e.zone.shape), -e.order]);
      const x0 = Math.floor(e.box.minLng / this.cell);
      const x1 = Math.floor(e.box.maxLng / this.cell);
      const y0 = Math.floor(e.box.minLat / this.cell);
      const y1 = Math.floor(e.box.maxLat / this.cell);
      if ((x1 - x0 + 1) * (y1 - y0 + 1) > MAX_CELLS_PER_ZONE) {
        this.large.push(e);
        continue;
      }
      gridded.push([e, x0, x1, y0, y1]);
    }
    if (gridded.length > 0) {
      let gx0 = Infinity;
      let gx1 = -Infinity;
      let gy0 = Infinity;
      let gy1 = -Infinity;
      for (const [, x0, x1, y0, y1] of gridded) {
        gx0 = Math.min(gx0, x0);
        gx1 = Math.max(gx1, x1);
        gy0 = Math.min(gy0, y0);
        gy1 = Math.max(gy1, y1);
      }
      this.x0 = gx0;
      this.x1 = gx1;
      this.y0 = gy0;
      this.y1 = gy1;
      const span = gy1 - gy0 + 1;
      if ((gx1 - gx0 + 1) * span <= SMALL_KEYS) this.span = span;
    }
    for (const [e, x0, x1, y0, y1] of gridded)
      for (let x = x0; x <= x1; x++)
        for (let y = y0; y <= y1; y++) {
          const key = this.keyOf(x, y);
          const list = this.cells.get(key);
          if (list) list.push(e);
          else this.cells.set(key, [e]);
        }
  }

  /** The key of cell (x, y), or -1 for a cell outside the grid (no zone there). */
  private keyOf(x: number, y: number): number {
    if (this.span === 0) return cellKey(x, y);
    if (x < this.x0 || x > this.x1 || y < this.y0 || y > this.y1) return -1;
    return (x - this.x0) * this.span + (y - this.y0);
  }

  get size(): number {
    return this.zones.length;
  }

  private fingerprintText: string | undefined;

  /**
   * What {@link locate} answers, in a short text: a hash of the zones' names and shapes, by name,
   * and the hysteresis margin (not location codes, priorities or sites, which place no position).
   * Two indexes with the same fingerprint put every position in the same zones and bands. Rules
   * keep it beside positions located on arrival (waiting for the allowed lateness), to tell after a
   * restart whether the zones were changed since: renamed, reshaped, added or removed. Computed
   * once, on first use.
   *
   * Not the zones' configuration order: it ranks overlapping zones of one priority and one area
   * (see {@link best}) and orders locate's names, but a waiting position keeps only the names of
   * the zones it is in and near, which zones are ranked by only when it is processed (by the zones
   * configured then), and the order of those names decides nothing. So zones reordered in the
   * config locate nothing again; ranked otherwise since (a tie broken the other way), the assets
   * they place are sent the code of the zone first now at their next fix or idle watermark, as for
   * a priority changed (see recodedZone in ../location-sync-state.ts). Names are unique, so
   * sorting them by code unit gives one order for any configuration order.
   */
  get fingerprint(): string {
    if (this.fingerprintText === undefined) {
      const byName = this.zones.map((z): [string, Zone['shape']] => [z.name, z.shape]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      this.fingerprintText = createHash('sha256').update(JSON.stringify([this.hysteresisM, byName])).digest('base64url').slice(0, 16);
    }
    return this.fingerprintText;
  }

  zone(name: string): Zone | undefined {
    return this.byNameMap.get(name);
  }

  /** Whether a zone of this name is configured (bound: pass it as a function). */
  readonly has = (name: string): boolean => this.byNameMap.has(name);

  /** Zones containing the point, and zones whose hysteresis band holds it. */
  locate(lat: number, lng0: number): ZoneHit {
    const lng = sameSide(lng0);
    const list = this.cells.get(this.keyOf(Math.floor(lng / this.cell), Math.floor(lat / this.cell)));
    if (!list && this.large.length === 0) return EMPTY_HIT;
    let inside: Entry[] | undefined;
    let band: Entry[] | undefined;
    // Grid cell first, then the zones too large for the grid (no closure: this runs per position).
    const n = list ? list.length : 0;
    for (let k = 0; k < n + this.large.length; k++) {
      const e = (k < n ? (list as Entry[])[k] : this.large[k - n]) as Entry;
      const b = e.box;
      if (lng < b.minLng || lng > b.maxLng || lat < b.minLat || lat > b.maxLat) continue;
      const p = placement(e.zone.shape, lat, lng, this.hysteresisM);
      if (p === 'inside') (inside ??= []).push(e);
      else if (p === 'band') (band ??= []).push(e);
    }
    if (!inside && !band) return EMPTY_HIT;
    if (inside && band) {
      const within = inside;
      band = band.filter((e) => !within.some((f) => this.apart(e.order, f.order)));
    }
    return { inside: namesInOrder(inside), band: namesInOrder(band) };
  }

  /** Zone number pairs (a * size + b, a < b) → whether their shapes are apart, as asked (see {@link apart}). */
  private readonly apartPairs = new Map<number, boolean>();

  /**
   * Whether zones number `a` and `b` (configuration order) share no inside: side by side along a
   * wall, or apart (see shapesApart). A position inside one is not in the other's hysteresis band:
   * the band keeps an asset in a zone it has entered against GPS error at its edge, but an asset
   * inside the bay next to it is there, not still in the one it drove out of (with that one
   * listed first, smaller or of higher priority, it would be sent as in it for as long as it stays
   * within the band, however long). Nested and overlapping zones keep their bands: the yard a bay
   * is in does not take the bay's band away. Worked out once per pair, when first asked.
   */
  private apart(a: number, b: number): boolean {
    const key = a < b ? a * this.zones.length + b : b * this.zones.length + a;
    let v = this.apartPairs.get(key);
    if (v === undefined) {
      v = shapesApart((this.zones[a] as Zone).shape, (this.zones[b] as Zone).shape);
      this.apartPairs.set(key, v);
    }
    return v;
  }

  /** {@link locate} for a fix, computed once per event object however many rules ask. */
  locateEvent(event: PositionFix): ZoneHit {
    if (event !== this.lastEvent) {
      this.lastHit = this.locate(event.lat, event.lng);
      this.lastEvent = event;
    }
    return this.lastHit;
  }

  /**
   * {@link locate} as zone numbers (indexes in {@link zones}), written into `inside` and `band`
   * (configuration order, as far as they have room), without allocating: for owned rules that keep
   * zones as numbers. Returns the counts, `nInside + nBand * 65536`; a count larger than its array
   * means the array holds only the first ones (by grid order, unsorted): the caller must use
   * {@link locate} instead. The same zones as {@link locate} to the last bit: the same arithmetic
   * on the same numbers, kept in typed arrays.
   */
  locateNumbers(lat: number, lng0: number, inside: Int32Array, band: Int32Array): number {
    const lng = sameSide(lng0);
    const c = (this.compiled ??= compile(this));
    const x = Math.floor(lng / this.cell);
    const y = Math.floor(lat / this.cell);
    let from = 0;
    let to = 0;
    let list: Int32Array | undefined;
    if (c.cellStart !== undefined) {
      if (x >= this.x0 && x <= this.x1 && y >= this.y0 && y <= this.y1) {
        const k = (x - this.x0) * this.span + (y - this.y0);
        from = c.cellStart[k] as number;
        to = c.cellStart[k + 1] as number;
        list = c.cellEntries;
      }
    } else {
      list = c.cellMap.get(this.keyOf(x, y));
      to = list ? list.length : 0;
    }
    const large = c.large;
    if (to === from && large.length === 0) return 0;
    let nIn = 0;
    let nBand = 0;
    const box = c.box;
    const n = to - from;
    for (let k = 0; k < n + large.length; k++) {
      const e = (k < n ? (list as Int32Array)[from + k] : large[k - n]) as number;
      const b = e * 4;
      if (lng < (box[b] as number) || lng > (box[b + 2] as number) || lat < (box[b + 1] as number) || lat > (box[b + 3] as number)) continue;
      const p = placeEntry(c, e, lat, lng, this.hysteresisM);
      if (p === 0) continue;
      const zone = c.zone[e] as number;
      if (p === 1) {
        if (nIn < inside.length) inside[nIn] = zone;
        nIn++;
      } else {
        if (nBand < band.length) band[nBand] = zone;
        nBand++;
      }
    }
    // A band beside a zone the position is inside counts only for zones not apart from it (see apart).
    if (nIn > 0 && nBand > 0 && nIn <= inside.length && nBand <= band.length) {
      let kept = 0;
      for (let i = 0; i < nBand; i++) {
        const z = band[i] as number;
        let drop = false;
        for (let j = 0; j < nIn && !drop; j++) drop = this.apart(z, inside[j] as number);
        if (!drop) band[kept++] = z;
      }
      nBand = kept;
    }
    // Grid cells list their zones in configuration order; the large ones come after them.
    if (large.length > 0) {
      sortPrefix(inside, Math.min(nIn, inside.length));
      sortPrefix(band, Math.min(nBand, band.length));
    }
    return nIn + nBand * 65536;
  }

  /** The zone that represents an asset in all of `names`: highest priority, then the smallest. */
  best(names: readonly string[]): Zone | undefined {
    let best: string | undefined;
    let bestRank: readonly [number, number, number] | undefined;
    for (const n of names) {
      const r = this.rankOf.get(n);
      if (!r) continue;
      if (!bestRank || r[0] > bestRank[0] || (r[0] === bestRank[0] && (r[1] > bestRank[1] || (r[1] === bestRank[1] && r[2] > bestRank[2])))) {
        best = n;
        bestRank = r;
      }
    }
    return best === undefined ? undefined : this.byNameMap.get(best);
  }
}

/**
 * The index's entries in typed arrays: each entry's box, zone number and shape (a circle, or a
 * polygon of one ring without holes, in numbers; any other shape is placed by {@link placement}),
 * and the grid's cells as runs of entry numbers.
 */
interface Compiled {
  /** Per entry: minLng, minLat, maxLng, maxLat. */
  readonly box: Float64Array;
  /** Per entry: its zone's number (configuration order). */
  readonly zone: Int32Array;
  /** Per entry: 1 circle, 2 one ring, 0 other (placed by {@link placement}). */
  readonly kind: Uint8Array;
  /** Per circle: lat, lng, radius, radius + margin. Per ring: its start and end in `rings`. */
  readonly shape: Float64Array;
  /** Rings' vertices: lng, lat, … */
  readonly rings: Float64Array;
  readonly shapes: readonly Zone['shape'][];
  /** A regional grid's cells: entries of cell k are cellEntries[cellStart[k] .. cellStart[k + 1]). */
  readonly cellStart: Int32Array | undefined;
  readonly cellEntries: Int32Array;
  /** A worldwide grid's (or one too sparse for an array): cell key → entries. */
  readonly cellMap: Map<number, Int32Array>;
  readonly large: Int32Array;
}

/** Cells of a regional grid kept in an array (beyond that, or for a worldwide grid, the map's). */
const MAX_ARRAY_CELLS = 1 << 22;

function compile(index: ZoneIndex): Compiled {
  // The private fields, read once: the compiled form mirrors the grid built by the constructor.
  const self = index as unknown as { entries: Entry[]; cells: Map<number, Entry[]>; large: Entry[]; x0: number; x1: number; y0: number; y1: number; span: number };
  const entries = self.entries;
  const number = new Map<Entry, number>();
  const box = new Float64Array(entries.length * 4);
  const zone = new Int32Array(entries.length);
  const kind = new Uint8Array(entries.length);
  const shape = new Float64Array(entries.length * 4);
  const coords: number[] = [];
  entries.forEach((e, i) => {
    number.set(e, i);
    box[i * 4] = e.box.minLng;
    box[i * 4 + 1] = e.box.minLat;
    box[i * 4 + 2] = e.box.maxLng;
    box[i * 4 + 3] = e.box.maxLat;
    zone[i] = e.order;
    const s = e.zone.shape;
    if (s.type === 'circle') {
      kind[i] = 1;
      shape.set([s.lat, s.lng, s.radiusM, s.radiusM + index.hysteresisM], i * 4);
    } else if (s.polygons.length === 1 && s.polygons[0]?.length === 1) {
      kind[i] = 2;
      const ring = s.polygons[0][0] ?? [];
      shape[i * 4] = coords.length;
      for (const [x, y] of ring) coords.push(x, y);
      shape[i * 4 + 1] = coords.length;
    }
  });
  const numbers = (list: readonly Entry[]): Int32Array => Int32Array.from(list, (e) => number.get(e) as number);
  const cells = (self.x1 - self.x0 + 1) * self.span;
  let cellStart: Int32Array | undefined;
  let cellEntries = new Int32Array(0);
  const cellMap = new Map<number, Int32Array>();
  if (self.span > 0 && cells <= MAX_ARRAY_CELLS) {
    cellStart = new Int32Array(cells + 1);
    for (const [key, list] of self.cells) cellStart[key + 1] = list.length;
    for (let k = 0; k < cells; k++) cellStart[k + 1] = (cellStart[k + 1] as number) + (cellStart[k] as number);
    cellEntries = new Int32Array(cellStart[cells] as number);
    for (const [key, list] of self.cells) cellEntries.set(numbers(list), cellStart[key]);
  } else for (const [key, list] of self.cells) cellMap.set(key, numbers(list));
  return { box, zone, kind, shape, rings: Float64Array.from(coords), shapes: entries.map((e) => e.zone.shape), cellStart, cellEntries, cellMap, large: numbers(self.large) };
}

/**
 * {@link placement} of entry `e` as a number (0 outside, 1 inside, 2 band): for circles and rings
 * the same arithmetic as placement's (haversineM; pointInRing and distanceToBoundaryM for a
 * polygon of one ring), on the compiled numbers.
 */
function placeEntry(c: Compiled, e: number, lat: number, lng: number, marginM: number): number {
  const kind = c.kind[e] as number;
  const s = e * 4;
  if (kind === 1) {
    const d = haversineCoordsM(lat, lng, c.shape[s] as number, c.shape[s + 1] as number);
    if (d <= (c.shape[s + 2] as number)) return 1;
    return d <= (c.shape[s + 3] as number) ? 2 : 0;
  }
  if (kind === 0) {
    const p = placement(c.shapes[e] as Zone['shape'], lat, lng, marginM);
    return p === 'inside' ? 1 : p === 'band' ? 2 : 0;
  }
  const r = c.rings;
  const start = c.shape[s] as number;
  const end = c.shape[s + 1] as number;
  // pointInRing: even-odd ray casting over the edges (i, j), j the vertex before i.
  let inside = false;
  for (let i = start, j = end - 2; i < end; j = i, i += 2) {
    const xi = r[i] as number;
    const yi = r[i + 1] as number;
    const xj = r[j] as number;
    const yj = r[j + 1] as number;
    if (yi > lat !== yj > lat && lng < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  if (inside && end > start) return 1;
  if (!(marginM > 0)) return 0;
  // distanceToBoundaryM over the one ring.
  const kx = M_PER_DEG * Math.cos((lat * Math.PI) / 180);
  const ky = M_PER_DEG;
  let best = Infinity;
  for (let i = start + 2; i < end; i += 2) {
    const ax0 = r[i - 2] as number;
    const ay0 = r[i - 1] as number;
    const bx0 = r[i] as number;
    const by0 = r[i + 1] as number;
    const d = segmentDistance2(ax0, ay0, bx0, by0, lng, lat, kx, ky);
    if (d < best) best = d;
  }
  return Math.sqrt(best) <= marginM ? 2 : 0;
}

/**
 * Longitude +180 as -180: the same meridian. A zone split at ±180° has its east part end at 180
 * and its west part start at -180; ray casting counts a point on a polygon's west edge as inside
 * and one on its east edge as outside, so +180 would be in neither part (only in their bands).
 */
const sameSide = (lng: number): number => (lng === 180 ? -180 : lng);

/** Sorts `a[0 .. n)` ascending (insertion sort: a position is in a handful of zones). */
function sortPrefix(a: Int32Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const v = a[i] as number;
    let j = i - 1;
    while (j >= 0 && (a[j] as number) > v) {
      a[j + 1] = a[j] as number;
      j--;
    }
    a[j + 1] = v;
  }
}

/** Zone names in configuration order. */
function namesInOrder(entries: Entry[] | undefined): readonly string[] {
  if (!entries) return [];
  if (entries.length > 1) entries.sort((a, b) => a.order - b.order);
  return entries.map((e) => e.zone.name);
}

function cellKey(x: number, y: number): number {
  return (x + CELL_OFFSET) * CELL_SPAN + (y + CELL_OFFSET);
}

/** About the median zone extent, so a typical zone touches a handful of cells. */
function pickCellSize(boxes: readonly BBox[]): number {
  if (boxes.length === 0) return 0.01;
  const extents = boxes.map((b) => Math.max(b.maxLng - b.minLng, b.maxLat - b.minLat)).sort((a, b) => a - b);
  const median = extents[Math.floor(extents.length / 2)] ?? 0.01;
  return Math.min(1, Math.max(0.0005, median));
}
