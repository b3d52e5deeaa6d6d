/**
 * A bounding-box grid over the zones, so locating a position among thousands of zones costs a
 * hash lookup and a few precise tests instead of a scan. Each zone is registered in every grid
 * cell its bounding box (grown by the hysteresis margin) touches; zones too large for the grid
 * are tested on every lookup. The last event's result is kept, so the location and inventory
 * rules share one computation per event.
 * @module
 */
import type { PositionFix } from '../../model/events.js';
import { areaM2, placement, searchBBox, wrapBBox, type BBox, type Zone } from './geometry.js';

/** Where a position is: zones it is inside, and zones whose hysteresis band it is in. */
export interface ZoneHit {
  /** Zone names, in configuration order. */
  readonly inside: readonly string[];
  /** Outside these zones but within the hysteresis margin of their boundary. */
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

  zone(name: string): Zone | undefined {
    return this.byNameMap.get(name);
  }

  /** Whether a zone of this name is configured (bound: pass it as a function). */
  readonly has = (name: string): boolean => this.byNameMap.has(name);

  /** Zones containing the point, and zones whose hysteresis band holds it. */
  locate(lat: number, lng: number): ZoneHit {
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
    return { inside: namesInOrder(inside), band: namesInOrder(band) };
  }

  /** {@link locate} for a fix, computed once per event object however many rules ask. */
  locateEvent(event: PositionFix): ZoneHit {
    if (event !== this.lastEvent) {
      this.lastHit = this.locate(event.lat, event.lng);
      this.lastEvent = event;
    }
    return this.lastHit;
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
