/**
 * The owned form (owned.ts) of location sync (location-sync.ts): every asset's state in typed
 * arrays, changed in place, so the ingest hot path (a GPS fix that changes no zone and sends
 * nothing) builds no objects. Columns per asset hold the last and the synced fix (time, rounded
 * coordinates, zone as a number), the zones tracked with their phase and since, and the release
 * mark and newest time of the reorder buffer; the fixes waiting for the allowed lateness are a
 * linked list per asset in a pool of slots (time, coordinates, the zones they are inside and near
 * as numbers, from {@link ZoneIndex.locateNumbers}).
 *
 * The zone a source reports with a fix (a tracker's own geofence: the location sent for a fix
 * outside every configured zone and its band) is a number too, in one numbering with the location
 * codes (the ERP is sent either, and the two are compared as the strings they are). Beside a fix
 * inside or near a configured zone it is no part of the fix (NO_NAME, see srcOf), and not numbered.
 *
 * The fast path covers accurate GPS fixes, with or without a source-reported zone, on states of
 * that kind (configured zones only, a handful per fix and per asset). Anything else — a zone
 * sighting, an inaccurate fix, a state with a zone no longer configured, fixes waiting that were
 * located by other zones (a restart changed them: see `located`), two fixes of one time
 * waiting together, a watermark that has something to decide — is the pure rule's: the
 * asset's state is built as the pure form stores it, the pure rule applied to it, and the result
 * kept as it is (the asset in "pure mode") until it is again one the columns hold exactly. So the
 * rare cases are the pure rule's by construction, and the property tests (location-sync-owned.test.ts)
 * hold the fast path to it: the same deliveries, late events and saved state.
 * @module
 */
import type { AssetRecord } from '../model/assets.js';
import type { CanonicalEvent, PositionEvent } from '../model/events.js';
import type { DeliveryIntent } from '../model/delivery.js';
import type { FlushableRule } from './event-time.js';
import { fartherThanM } from './geo.js';
import { isoTime } from './iso-format.js';
import { coordinateJson, LOCATION_UPDATE, recodedZone, roundCoordinate, type LocationSyncOptions, type LocationSyncState } from './location-sync-state.js';
import { matchesFilter } from './maintenance/types.js';
import { CHANGED, DUPLICATE, grown, LATE, type OwnedRule } from './owned.js';
import type { RuleContext } from './rule.js';
import { jsonNumber, jsonString, jsonValue, plainKey } from './state-json.js';
import { areaM2, type Zone } from './zones/geometry.js';
import type { ZonePhase } from './zones/zone-tracker.js';

/** Asset mode: state in the columns (or none), or the pure form's object in `pureStates`. */
const COLUMNS = 0;
const PURE = 1;

/** Which parts of the pure state an asset in the columns has (bits of `has`). */
const STATE = 1;
const LAST = 2;
const SYNCED = 4;
const ZONES = 8;
const ORDER = 16;
const RELEASED = 32;
const NEWEST = 64;
/** `located`: the fixes waiting were located by the zones now configured (set whenever a fix waits with zones configured). */
const LOCATED = 128;

/** Tracked zone phases. */
const ENTERING = 0;
const INSIDE = 1;
const LEAVING = 2;
const PHASES: readonly ZonePhase[] = ['entering', 'inside', 'leaving'];

/** Zones tracked per asset in the columns (more: pure mode). */
const TRACKED = 4;
/** Zones a waiting fix is inside, and near, in the columns (more: pure mode). */
const HITS = 4;
const NO_ZONE = -1;
/** No reported zone (and no location code). */
const NO_NAME = -1;
/** Distinct reported zone names numbered (more: those fixes are the pure rule's). */
const MAX_NAMES = 1 << 16;
/** nameOf's answer when MAX_NAMES are numbered already. */
const NO_ROOM = -2;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
interface FixJson {
  lat: number;
  lng: number;
  eventTime: number;
  zone?: string;
  zoneName?: string;
  sourceZone?: string;
}
interface PendingJson {
  t: number;
  lat: number;
  lng: number;
  zone?: string;
  in?: string[];
  near?: string[];
}

/** The owned location sync rule; `fallbacks` counts the events and watermarks it gave to the pure rule (for tests and measurements). */
export interface OwnedLocationSyncRule extends OwnedRule {
  readonly fallbacks: number;
  /** Always there: the state's JSON text written from the columns. */
  saveJson(a: number): string | undefined;
}

/** The owned form of `pure`, a location sync rule made with `options` (createLocationSyncRule's). */
export function ownedLocationSync(pure: FlushableRule<LocationSyncState>, options: LocationSyncOptions): OwnedLocationSyncRule {
  return new OwnedLocationSync(pure, options);
}

class OwnedLocationSync implements OwnedLocationSyncRule {
  readonly name: string;
  fallbacks = 0;
  readonly kinds: readonly CanonicalEvent['kind'][];
  private readonly pure: FlushableRule<LocationSyncState>;
  private readonly options: LocationSyncOptions;
  private readonly lateness: number;
  private readonly maxAccuracyM: number;
  private readonly minDistanceM: number;
  private readonly heartbeatMs: number;
  private readonly enterDwellMs: number;
  private readonly exitDwellMs: number;
  /** Whether zones are configured (their tracking, the zone sent). */
  private readonly tracking: boolean;
  /** Whether the columns are used at all (not with zone names the index cannot tell apart). */
  private readonly fast: boolean;
  private readonly zoneList: readonly Zone[];
  private readonly zoneNumber = new Map<string, number>();
  /** Per zone: the number of its location code (the ERP is sent codes: two zones may share one). */
  private readonly codeOf: Int32Array;
  /** Location codes and reported zone names, numbered as they come (one numbering: see the module's comment). */
  private readonly nameNumber = new Map<string, number>();
  private readonly nameList: string[] = [];
  /** Per name number: its JSON text (written when first saved). */
  private readonly nameText: (string | undefined)[] = [];
  /** Per zone: its name's JSON text. */
  private readonly zoneText: string[];
  /**
   * Per zone: the start of its entry in the saved `zones` object (`"name":{"phase":"`), undefined
   * when its name is a key JSON.stringify does not write in insertion order (an array index: those
   * come first) or at all (`__proto__`, which sets the object's prototype): see zonesJson.
   */
  private readonly zoneKey: (string | undefined)[];
  /** Per zone: the rank ZoneIndex.best chooses by (priority, then the smaller area). */
  private readonly priority: Float64Array;
  private readonly negArea: Float64Array;
  private readonly locateNumbers: ((lat: number, lng: number, inside: Int32Array, band: Int32Array) => number) | undefined;
  /**
   * The zones' fingerprint (ZoneIndex.fingerprint), the state's `located` while a fix waits (the
   * LOCATED bit): the columns hold no state whose waiting fixes other zones located (the pure
   * rule's, which locates them again).
   */
  private readonly fingerprint: string | undefined;
  private readonly fingerprintJson: string;

  // Per asset.
  private cap = 0;
  private mode: Uint8Array = new Uint8Array(0);
  private has: Uint8Array = new Uint8Array(0);
  private lastT: Float64Array = new Float64Array(0);
  private lastLat: Float64Array = new Float64Array(0);
  private lastLng: Float64Array = new Float64Array(0);
  private lastZone: Int32Array = new Int32Array(0);
  /** The zone the source reported with the fix (NO_NAME: none). */
  private lastSrc: Int32Array = new Int32Array(0);
  private syncT: Float64Array = new Float64Array(0);
  private syncLat: Float64Array = new Float64Array(0);
  private syncLng: Float64Array = new Float64Array(0);
  private syncZone: Int32Array = new Int32Array(0);
  private syncSrc: Int32Array = new Int32Array(0);
  private released: Float64Array = new Float64Array(0);
  private newest: Float64Array = new Float64Array(0);
  /** The waiting fixes: first and last slot (-1: none). */
  private head: Int32Array = new Int32Array(0);
  private tail: Int32Array = new Int32Array(0);
  private trCount: Uint8Array = new Uint8Array(0);
  private trZone: Int32Array = new Int32Array(0);
  private trPhase: Uint8Array = new Uint8Array(0);
  private trSince: Float64Array = new Float64Array(0);
  private pureStates: (LocationSyncState | undefined)[] = [];

  // The pool of slots for waiting fixes (a free list through `sNext`).
  private sCap = 0;
  private free = -1;
  private sT: Float64Array = new Float64Array(0);
  private sLat: Float64Array = new Float64Array(0);
  private sLng: Float64Array = new Float64Array(0);
  private sSrc: Int32Array = new Int32Array(0);
  private sNext: Int32Array = new Int32Array(0);
  private sPrev: Int32Array = new Int32Array(0);
  private sNIn: Uint8Array = new Uint8Array(0);
  private sNNear: Uint8Array = new Uint8Array(0);
  /** Per slot: HITS zones inside, then HITS near. */
  private sHits: Int32Array = new Int32Array(0);

  /** Scratch for the zones of the fix being applied. */
  private readonly hitIn = new Int32Array(HITS);
  private readonly hitNear = new Int32Array(HITS);
  /** Scratch for the zones an asset could track while fixes are processed. */
  private readonly zoneSet = new Int32Array(TRACKED);

  constructor(pure: FlushableRule<LocationSyncState>, options: LocationSyncOptions) {
    this.pure = pure;
    this.options = options;
    this.name = pure.name;
    this.kinds = pure.kinds;
    this.lateness = options.allowedLatenessMs ?? 0;
    this.maxAccuracyM = options.zones?.maxAccuracyM ?? options.maxAccuracyM ?? 0;
    this.minDistanceM = options.minDistanceM;
    this.heartbeatMs = options.heartbeatMs;
    const z = options.zones;
    this.tracking = z !== undefined;
    this.enterDwellMs = z?.dwell.enterDwellMs ?? 0;
    this.exitDwellMs = z?.dwell.exitDwellMs ?? 0;
    this.zoneList = z?.index.zones ?? [];
    this.codeOf = new Int32Array(this.zoneList.length);
    this.priority = new Float64Array(this.zoneList.length);
    this.negArea = new Float64Array(this.zoneList.length);
    this.zoneList.forEach((zone, k) => {
      this.zoneNumber.set(zone.name, k);
      // However many zones there are: the cap is on reported names (see nameOf).
      let code = this.nameNumber.get(zone.locationCode);
      if (code === undefined) {
        code = this.nameList.length;
        this.nameNumber.set(zone.locationCode, code);
        this.nameList.push(zone.locationCode);
      }
      this.codeOf[k] = code;
      this.priority[k] = zone.priority;
      this.negArea[k] = -areaM2(zone.shape);
    });
    this.fast = this.zoneNumber.size === this.zoneList.length;
    this.zoneText = this.zoneList.map((zone) => jsonString(zone.name));
    this.zoneKey = this.zoneList.map((zone, k) => (plainKey(zone.name) ? `${this.zoneText[k] as string}:{"phase":"` : undefined));
    this.locateNumbers = z ? z.index.locateNumbers.bind(z.index) : undefined;
    this.fingerprint = z?.index.fingerprint;
    this.fingerprintJson = this.fingerprint === undefined ? '' : jsonString(this.fingerprint);
  }

  load(a: number, stored: unknown): void {
    this.reset(a);
    if (stored !== undefined) this.keep(a, stored as LocationSyncState);
  }

  save(a: number): unknown {
    if (a >= this.cap) return undefined;
    if (this.mode[a] === PURE) return this.pureStates[a];
    const h = this.has[a] as number;
    if ((h & STATE) === 0) return undefined;
    const s: Mutable<LocationSyncState> = {};
    if ((h & LAST) !== 0) s.last = this.fixJson(this.lastLat[a] as number, this.lastLng[a] as number, this.lastT[a] as number, this.lastZone[a] as number, this.lastSrc[a] as number);
    if ((h & SYNCED) !== 0) s.synced = this.fixJson(this.syncLat[a] as number, this.syncLng[a] as number, this.syncT[a] as number, this.syncZone[a] as number, this.syncSrc[a] as number);
    if ((h & ZONES) !== 0) s.zones = this.zonesOf(a);
    if ((h & ORDER) !== 0) {
      const pending: PendingJson[] = [];
      for (let k = this.head[a] as number; k !== -1; k = this.sNext[k] as number) {
        const p: PendingJson = { t: this.sT[k] as number, lat: this.sLat[k] as number, lng: this.sLng[k] as number };
        const src = this.sSrc[k] as number;
        if (src !== NO_NAME) p.zone = this.nameList[src];
        const nIn = this.sNIn[k] as number;
        const nNear = this.sNNear[k] as number;
        if (nIn > 0) p.in = this.names(k * 2 * HITS, nIn);
        if (nNear > 0) p.near = this.names(k * 2 * HITS + HITS, nNear);
        pending.push(p);
      }
      // Keys in the pure form's order (released, newest, pending): the stored JSON reads the same.
      const order: { released?: number; newest?: number; pending?: PendingJson[] } = {};
      if ((h & RELEASED) !== 0) order.released = this.released[a];
      if ((h & NEWEST) !== 0) order.newest = this.newest[a];
      order.pending = pending;
      s.order = order as LocationSyncState['order'];
      // The zones the waiting fixes were located by (the pure form's key order: after `order`).
      if ((h & LOCATED) !== 0) s.located = this.fingerprint;
    }
    return s;
  }

  /** save's JSON text, written from the columns (the pure form's state, in pure mode, by JSON.stringify). */
  saveJson(a: number): string | undefined {
    if (a >= this.cap) return undefined;
    if (this.mode[a] === PURE) return JSON.stringify(this.pureStates[a]);
    const h = this.has[a] as number;
    if ((h & STATE) === 0) return undefined;
    // Each part after the one before it (save's key order); `sep` opens the object, then separates.
    let json = '';
    let sep = '{';
    if ((h & LAST) !== 0) {
      json += `${sep}"last":${this.fixText(this.lastLat[a] as number, this.lastLng[a] as number, this.lastT[a] as number, this.lastZone[a] as number, this.lastSrc[a] as number)}`;
      sep = ',';
    }
    if ((h & SYNCED) !== 0) {
      json += `${sep}"synced":${this.fixText(this.syncLat[a] as number, this.syncLng[a] as number, this.syncT[a] as number, this.syncZone[a] as number, this.syncSrc[a] as number)}`;
      sep = ',';
    }
    if ((h & ZONES) !== 0) {
      json += `${sep}"zones":${this.zonesJson(a)}`;
      sep = ',';
    }
    if ((h & ORDER) !== 0) {
      json += `${sep}"order":{`;
      if ((h & RELEASED) !== 0) json += `"released":${jsonNumber(this.released[a] as number)},`;
      if ((h & NEWEST) !== 0) json += `"newest":${jsonNumber(this.newest[a] as number)},`;
      json += '"pending":[';
      for (let k = this.head[a] as number; k !== -1; k = this.sNext[k] as number) {
        json += `${k === this.head[a] ? '' : ','}{"t":${jsonNumber(this.sT[k] as number)},"lat":${coordinateJson(this.sLat[k] as number)},"lng":${coordinateJson(this.sLng[k] as number)}`;
        const src = this.sSrc[k] as number;
        if (src !== NO_NAME) json += `,"zone":${this.nameJson(src)}`;
        const nIn = this.sNIn[k] as number;
        const nNear = this.sNNear[k] as number;
        if (nIn > 0) json += `,"in":${this.namesJson(k * 2 * HITS, nIn)}`;
        if (nNear > 0) json += `,"near":${this.namesJson(k * 2 * HITS + HITS, nNear)}`;
        json += '}';
      }
      json += ']}';
      if ((h & LOCATED) !== 0) json += `,"located":${this.fingerprintJson}`;
      sep = ',';
    }
    return sep === '{' ? '{}' : `${json}}`;
  }

  drop(a: number): void {
    this.reset(a);
  }

  holds(a: number, asset?: AssetRecord): boolean {
    if (a >= this.cap) return false;
    // Not synced for this asset: its watermark decides nothing (see flush), so nothing is held.
    if (asset !== undefined && !this.applies(asset)) return false;
    if (this.mode[a] === PURE) return this.pure.holds(this.pureStates[a]);
    if ((this.head[a] as number) !== -1) return true;
    return this.tracking && ((this.has[a] as number) & LAST) !== 0 && this.pendingDwell(a);
  }

  apply(a: number, event: CanonicalEvent, ctx: RuleContext, out: DeliveryIntent[]): number {
    if (a >= this.cap) this.grow(a);
    if (this.mode[a] !== COLUMNS || event.kind !== 'position' || !this.fast) return this.applyPure(a, event, ctx, out);
    const e: PositionEvent = event;
    const rawLat = e.lat;
    const rawLng = e.lng;
    if (rawLat === undefined || rawLng === undefined) return this.applyPure(a, event, ctx, out);
    const label = e.zone;
    const accuracy = e.accuracyM;
    if (!(this.maxAccuracyM <= 0 || accuracy === undefined || accuracy <= this.maxAccuracyM)) return this.applyPure(a, event, ctx, out);
    // Not synced for this asset: its state stays as it is (the pure form's answer).
    if (!this.applies(ctx.asset)) return 0;
    const t = e.eventTime;
    const lat = roundCoordinate(rawLat);
    const lng = roundCoordinate(rawLng);
    const h = this.has[a] as number;
    // The newest fix processed sent again: a duplicate (the last one is accurate, as this one). Its
    // reported zone counts only outside configured zones and their bands (see srcOf): located here,
    // only when there is one (rare: the same time and place).
    if ((h & LAST) !== 0 && this.lastT[a] === t && this.lastLat[a] === lat && this.lastLng[a] === lng && this.lastSrc[a] === (label === undefined ? NO_NAME : this.srcOf(label, this.hitsOf(rawLat, rawLng)))) return DUPLICATE;
    const L = this.lateness;
    const waiting = (this.head[a] as number) !== -1;
    if (L === 0) {
      if ((h & ORDER) !== 0 && waiting) return this.applyPure(a, event, ctx, out);
      // Nothing to reorder: at or before the newest processed is late, any other is processed at once.
      const released = (h & ORDER) !== 0 && (h & RELEASED) !== 0 ? (this.released[a] as number) : (h & LAST) !== 0 ? (this.lastT[a] as number) : undefined;
      if (released !== undefined && t <= released) return LATE;
      const hits = this.hitsOf(rawLat, rawLng);
      if (hits < 0 || this.union(this.trackedInto(a), this.hitIn, 0, hits & 0xffff) < 0) return this.applyPure(a, event, ctx, out);
      const src = label === undefined ? NO_NAME : this.srcOf(label, hits);
      if (src === NO_ROOM) return this.applyPure(a, event, ctx, out);
      this.processFix(a, t, lat, lng, src, this.hitIn, 0, hits & 0xffff, this.hitNear, 0, hits >>> 16, ctx, out);
      // Without lateness an empty reorder buffer is not kept.
      this.has[a] = ((this.has[a] as number) & ~(ORDER | RELEASED | NEWEST | LOCATED)) | STATE;
      return CHANGED;
    }
    // The reorder buffer; a state written before reordering existed has only `last`, its release mark.
    let hasReleased: boolean;
    let releasedAt: number;
    let newest: number | undefined;
    if ((h & ORDER) !== 0) {
      hasReleased = (h & RELEASED) !== 0;
      releasedAt = this.released[a] as number;
      newest = (h & NEWEST) !== 0 ? (this.newest[a]) : undefined;
    } else {
      hasReleased = (h & LAST) !== 0;
      releasedAt = this.lastT[a] as number;
      newest = hasReleased ? releasedAt : undefined;
    }
    if (hasReleased && t <= releasedAt) return LATE;
    // Where it goes among the waiting fixes (after `at`); one of the same time: the pure form's tiebreak.
    let at = this.tail[a] as number;
    while (at !== -1) {
      const pt = this.sT[at] as number;
      if (pt < t) break;
      if (pt === t) return this.applyPure(a, event, ctx, out);
      at = this.sPrev[at] as number;
    }
    const hits = this.hitsOf(rawLat, rawLng);
    if (hits < 0) return this.applyPure(a, event, ctx, out);
    const src = label === undefined ? NO_NAME : this.srcOf(label, hits);
    if (src === NO_ROOM) return this.applyPure(a, event, ctx, out);
    const nw = newest === undefined || t > newest ? t : newest;
    const watermark = nw - L;
    // The zones tracked while the fixes released now are processed are among those tracked now and
    // those the fixes are inside: within the columns' room?
    let zones = this.trackedInto(a);
    if (t <= watermark) zones = this.union(zones, this.hitIn, 0, hits & 0xffff);
    for (let k = this.head[a] as number; k !== -1 && zones >= 0 && (this.sT[k] as number) <= watermark; k = this.sNext[k] as number) zones = this.union(zones, this.sHits, k * 2 * HITS, this.sNIn[k] as number);
    if (zones < 0) return this.applyPure(a, event, ctx, out);
    // Decided: from here on the state changes.
    const slot = this.slot(t, lat, lng, src, hits);
    this.insertAfter(a, at, slot);
    let bits = h | STATE | ORDER | NEWEST;
    this.newest[a] = nw;
    if ((h & ORDER) === 0 && hasReleased) {
      this.released[a] = releasedAt;
      bits |= RELEASED;
    }
    this.has[a] = bits;
    for (let k = this.head[a] as number; k !== -1 && (this.sT[k] as number) <= watermark; k = this.head[a]) {
      this.head[a] = this.sNext[k] as number;
      if (this.head[a] === -1) this.tail[a] = -1;
      else this.sPrev[this.head[a]] = -1;
      const base = k * 2 * HITS;
      const nIn = this.sNIn[k] as number;
      const nNear = this.sNNear[k] as number;
      // A fix stored waiting before reported zones inside configured ones were dropped may carry one: not sent (srcOf).
      const src = nIn + nNear === 0 ? (this.sSrc[k] as number) : NO_NAME;
      this.processFix(a, this.sT[k] as number, this.sLat[k] as number, this.sLng[k] as number, src, this.sHits, base, nIn, this.sHits, base + HITS, nNear, ctx, out);
      this.released[a] = this.sT[k] as number;
      this.has[a] = (this.has[a]) | RELEASED;
      this.sNext[k] = this.free;
      this.free = k;
    }
    // The fixes still waiting were located by the zones now configured (as the pure form's withLocated says).
    if (this.tracking && (this.head[a] as number) !== -1) this.has[a] = this.has[a] | LOCATED;
    else this.has[a] = this.has[a] & ~LOCATED;
    return CHANGED;
  }

  flush(a: number, ctx: RuleContext, upTo: number | undefined, out: DeliveryIntent[]): number {
    if (a >= this.cap) this.grow(a);
    // Not synced for this asset: a watermark decides nothing either (the pure form's answer).
    if (!this.applies(ctx.asset)) return 0;
    if (this.mode[a] === COLUMNS && this.flushDecidesNothing(a, upTo)) return 0;
    this.fallbacks++;
    const before = this.mode[a] === PURE ? this.pureStates[a] : (this.save(a) as LocationSyncState | undefined);
    const r = this.pure.flush(before, ctx, upTo);
    for (let k = 0; k < r.deliveries.length; k++) out.push(r.deliveries[k] as DeliveryIntent);
    if (r.state === before) return 0;
    this.reset(a);
    if (r.state !== undefined) this.keep(a, r.state);
    return CHANGED;
  }

  /** Whether location sync applies to `asset` (`appliesTo`, absent: every asset). */
  private applies(asset: AssetRecord): boolean {
    return this.options.appliesTo === undefined || matchesFilter(asset, this.options.appliesTo);
  }

  /** Whether the pure flush would return the state it was given (nothing released, no dwell settled). */
  private flushDecidesNothing(a: number, upTo: number | undefined): boolean {
    const h = this.has[a] as number;
    if ((h & ORDER) === 0 && (h & ZONES) === 0) return true;
    const first = this.head[a] as number;
    if (first !== -1) {
      if (upTo === undefined) return false;
      const watermark = Math.max((h & ORDER) !== 0 && (h & NEWEST) !== 0 ? (this.newest[a] as number) : upTo, upTo) - this.lateness;
      if ((this.sT[first] as number) <= watermark) return false;
    }
    if (upTo === undefined || !this.tracking || (h & LAST) === 0) return true;
    return upTo - this.lateness <= (this.lastT[a] as number) || !this.pendingDwell(a);
  }

  /** The pure rule's apply on the asset's state as the pure form holds it. */
  private applyPure(a: number, event: CanonicalEvent, ctx: RuleContext, out: DeliveryIntent[]): number {
    this.fallbacks++;
    const before = this.mode[a] === PURE ? this.pureStates[a] : (this.save(a) as LocationSyncState | undefined);
    const r = this.pure.apply(before, event, ctx);
    for (let k = 0; k < r.deliveries.length; k++) out.push(r.deliveries[k] as DeliveryIntent);
    let flags = r.late === true ? LATE : r.duplicate === true ? DUPLICATE : 0;
    if (r.state !== before) {
      flags |= CHANGED;
      this.reset(a);
      if (r.state !== undefined) this.keep(a, r.state);
    }
    return flags;
  }

  /**
   * The number of the zone a source reported beside a fix whose zones are `hits` (hitsOf's
   * answer): NO_NAME when the fix is inside or near a configured zone (or more than the columns
   * hold), where that zone, or what the asset had, is the location and never the source's label
   * (location-sync.ts's bufferedFix); NO_ROOM when no more names can be numbered.
   */
  private srcOf(label: string, hits: number): number {
    return hits !== 0 ? NO_NAME : this.nameOf(label);
  }

  /**
   * The zones the fix is in (into hitIn) and near (into hitNear), as nIn + nNear * 65536; -1 when
   * more than the columns hold. None without configured zones.
   */
  private hitsOf(lat: number, lng: number): number {
    if (this.locateNumbers === undefined) return 0;
    const n = this.locateNumbers(lat, lng, this.hitIn, this.hitNear);
    return (n & 0xffff) > HITS || n >>> 16 > HITS ? -1 : n;
  }

  /** processFix of location-sync.ts on the columns: one released accurate fix (`src`: the zone its source reported, or NO_NAME). */
  private processFix(
    a: number,
    t: number,
    lat: number,
    lng: number,
    src: number,
    inArr: Int32Array,
    inAt: number,
    nIn: number,
    nearArr: Int32Array,
    nearAt: number,
    nNear: number,
    ctx: RuleContext,
    out: DeliveryIntent[],
  ): void {
    const h = this.has[a] as number;
    let zone = NO_ZONE;
    let held = false;
    if (this.tracking) {
      this.stepZones(a, t, inArr, inAt, nIn, nearArr, nearAt, nNear, (h & LAST) !== 0, this.lastT[a] as number);
      zone = this.bestZone(a);
      held = this.heldAgainstFix(a, zone);
    }
    let bits = h | LAST | ZONES * (this.tracking ? 1 : 0);
    this.lastT[a] = t;
    this.lastLat[a] = lat;
    this.lastLng[a] = lng;
    this.lastZone[a] = zone;
    this.lastSrc[a] = src;
    // What goes to the ERP as warehouseLocation (numbered): the zone's code, else the reported zone.
    const sz = this.syncZone[a] as number;
    const sent = sz === NO_ZONE ? (this.syncSrc[a] as number) : (this.codeOf[sz] as number);
    const here = zone === NO_ZONE ? src : (this.codeOf[zone] as number);
    // Nothing new while a dwell holds the zone against the fix's coordinates (heldAgainstFix).
    const due =
      (h & SYNCED) === 0 ||
      (!held &&
        (sent !== here || fartherThanM(this.syncLat[a] as number, this.syncLng[a] as number, lat, lng, this.minDistanceM) || t - (this.syncT[a] as number) >= this.heartbeatMs));
    if (due) {
      bits |= SYNCED;
      this.syncT[a] = t;
      this.syncLat[a] = lat;
      this.syncLng[a] = lng;
      this.syncZone[a] = zone;
      this.syncSrc[a] = src;
      out.push(this.locationUpdate(t, lat, lng, zone, src, ctx));
    }
    this.has[a] = bits;
  }

  /**
   * stepZones of zones/zone-tracker.ts on the asset's tracked zones, in place (their order kept:
   * the ones still tracked, then the ones entered now). All of them are configured zones.
   */
  private stepZones(a: number, t: number, inArr: Int32Array, inAt: number, nIn: number, nearArr: Int32Array, nearAt: number, nNear: number, hasPrevious: boolean, previousAt: number): void {
    const base = a * TRACKED;
    const n = this.trCount[a] as number;
    if (n === 0 && nIn === 0) return;
    const silence = hasPrevious && t - previousAt > this.exitDwellMs;
    let w = 0;
    for (let j = 0; j < n; j++) {
      const z = this.trZone[base + j] as number;
      const phase = this.trPhase[base + j] as number;
      const since = this.trSince[base + j] as number;
      const inside = contains(inArr, inAt, nIn, z);
      let keep = true;
      let nextPhase = phase;
      let nextSince = since;
      if (phase === ENTERING) {
        if (!inside) keep = false;
        else if (t - since >= this.enterDwellMs) nextPhase = INSIDE;
      } else if (phase === INSIDE) {
        if (inside || contains(nearArr, nearAt, nNear, z)) {
          // stays inside
        } else if (this.exitDwellMs <= 0 || silence) keep = false;
        else {
          nextPhase = LEAVING;
          nextSince = t;
        }
      } else if (inside || contains(nearArr, nearAt, nNear, z)) {
        nextPhase = INSIDE;
        nextSince = t;
      } else if (t - since >= this.exitDwellMs) keep = false;
      if (!keep) continue;
      this.trZone[base + w] = z;
      this.trPhase[base + w] = nextPhase;
      this.trSince[base + w] = nextSince;
      w++;
    }
    for (let k = 0; k < nIn; k++) {
      const z = inArr[inAt + k] as number;
      if (contains(this.trZone, base, w, z)) continue;
      this.trZone[base + w] = z;
      this.trPhase[base + w] = this.enterDwellMs <= 0 ? INSIDE : ENTERING;
      this.trSince[base + w] = t;
      w++;
    }
    this.trCount[a] = w;
  }

  /** The asset's tracked zones copied into `zoneSet`: their count. */
  private trackedInto(a: number): number {
    const n = this.trCount[a] as number;
    for (let j = 0; j < n; j++) this.zoneSet[j] = this.trZone[a * TRACKED + j] as number;
    return n;
  }

  /** Adds the zones arr[at .. at + n) to the first `count` of `zoneSet`: the new count, or -1 beyond TRACKED (and for -1). */
  private union(count: number, arr: Int32Array, at: number, n: number): number {
    let c = count;
    for (let k = 0; k < n && c >= 0; k++) {
      const z = arr[at + k] as number;
      if (contains(this.zoneSet, 0, c, z)) continue;
      if (c === TRACKED) return -1;
      this.zoneSet[c++] = z;
    }
    return c;
  }

  /** zoneOfState: the best zone entered (ZoneIndex.best's rank), NO_ZONE when none. */
  private bestZone(a: number): number {
    const base = a * TRACKED;
    let best = NO_ZONE;
    for (let j = 0; j < (this.trCount[a] as number); j++) {
      if (this.trPhase[base + j] === ENTERING) continue;
      const z = this.trZone[base + j] as number;
      if (best === NO_ZONE) {
        best = z;
        continue;
      }
      const p = this.priority[z] as number;
      const bp = this.priority[best] as number;
      const r = this.negArea[z] as number;
      const br = this.negArea[best] as number;
      if (p > bp || (p === bp && (r > br || (r === br && -z > -best)))) best = z;
    }
    return best;
  }

  /**
   * heldAgainstFix of zones/tracking.ts: the asset leaving `zone`, the best one entered (the fix
   * beyond its band), or, placed in none (NO_ZONE), entering one (the fix inside it).
   */
  private heldAgainstFix(a: number, zone: number): boolean {
    const base = a * TRACKED;
    for (let j = 0; j < (this.trCount[a] as number); j++) {
      const phase = this.trPhase[base + j] as number;
      if (zone === NO_ZONE ? phase === ENTERING : this.trZone[base + j] === zone && phase === LEAVING) return true;
    }
    return false;
  }

  /** Whether an entry or exit waits for its dwell (hasPendingDwell). */
  private pendingDwell(a: number): boolean {
    const base = a * TRACKED;
    for (let j = 0; j < (this.trCount[a] as number); j++) if (this.trPhase[base + j] !== INSIDE) return true;
    return false;
  }

  /** location-sync.ts's locationUpdate for a fix with coordinates (its payload's keys in the same order, without a spread). */
  private locationUpdate(t: number, lat: number, lng: number, zone: number, src: number, ctx: RuleContext): DeliveryIntent {
    const z = zone === NO_ZONE ? undefined : this.zoneList[zone];
    const id = ctx.asset.erpAssetId;
    const payload =
      z === undefined
        ? { erpAssetId: id, erpModule: ctx.asset.erpModule, warehouseLocation: src === NO_NAME ? null : (this.nameList[src] as string), coordinates: { lat, lng }, lastSeen: isoTime(t) }
        : { erpAssetId: id, erpModule: ctx.asset.erpModule, warehouseLocation: z.locationCode, coordinates: { lat, lng }, lastSeen: isoTime(t), zone: z.name };
    return { destination: ctx.destination, operation: LOCATION_UPDATE, kind: 'state', businessKey: id, erpAssetId: id, eventTime: t, payload };
  }

  /** The pure form's Fix: outside configured zones the reported zone is `zone`; inside one, `sourceZone`. */
  private fixJson(lat: number, lng: number, eventTime: number, zone: number, src: number): FixJson {
    if (zone === NO_ZONE) return src === NO_NAME ? { lat, lng, eventTime } : { lat, lng, eventTime, zone: this.nameList[src] };
    const z = this.zoneList[zone] as Zone;
    if (src === NO_NAME) return { lat, lng, eventTime, zone: z.locationCode, zoneName: z.name };
    return { lat, lng, eventTime, zone: z.locationCode, zoneName: z.name, sourceZone: this.nameList[src] };
  }

  /** fixJson's JSON text. */
  private fixText(lat: number, lng: number, eventTime: number, zone: number, src: number): string {
    let json = `{"lat":${coordinateJson(lat)},"lng":${coordinateJson(lng)},"eventTime":${jsonNumber(eventTime)}`;
    if (zone === NO_ZONE) {
      if (src !== NO_NAME) json += `,"zone":${this.nameJson(src)}`;
    } else {
      json += `,"zone":${this.nameJson(this.codeOf[zone] as number)},"zoneName":${this.zoneText[zone] as string}`;
      if (src !== NO_NAME) json += `,"sourceZone":${this.nameJson(src)}`;
    }
    return `${json}}`;
  }

  /** The asset's tracked zones as the pure form's ZoneTrackState (name → phase and since), in the order tracked. */
  private zonesOf(a: number): Record<string, { phase: ZonePhase; since: number }> {
    const zones: Record<string, { phase: ZonePhase; since: number }> = {};
    const base = a * TRACKED;
    for (let j = 0; j < (this.trCount[a] as number); j++) {
      zones[(this.zoneList[this.trZone[base + j] as number] as Zone).name] = { phase: PHASES[this.trPhase[base + j] as number] as ZonePhase, since: this.trSince[base + j] as number };
    }
    return zones;
  }

  /** zonesOf's JSON text; by JSON.stringify when a zone tracked has a name without a zoneKey (JSON's key order, or `__proto__`, is then the object's to say). */
  private zonesJson(a: number): string {
    const base = a * TRACKED;
    const n = this.trCount[a] as number;
    let json = '{';
    for (let j = 0; j < n; j++) {
      const key = this.zoneKey[this.trZone[base + j] as number];
      if (key === undefined) return jsonValue(this.zonesOf(a));
      json += `${j === 0 ? '' : ','}${key}${PHASES[this.trPhase[base + j] as number] as ZonePhase}","since":${jsonNumber(this.trSince[base + j] as number)}}`;
    }
    return `${json}}`;
  }

  /** The JSON text of a location code or reported zone name (by its number). */
  private nameJson(n: number): string {
    return (this.nameText[n] ??= jsonString(this.nameList[n] as string));
  }

  /** names' JSON text. */
  private namesJson(at: number, n: number): string {
    let json = '[';
    for (let k = 0; k < n; k++) json += `${k === 0 ? '' : ','}${this.zoneText[this.sHits[at + k] as number] as string}`;
    return `${json}]`;
  }

  /** The number of a location code or reported zone name (numbered now if new), NO_ROOM when there are MAX_NAMES already. */
  private nameOf(name: string): number {
    const k = this.nameNumber.get(name);
    if (k !== undefined) return k;
    const n = this.nameList.length;
    if (n - this.zoneList.length >= MAX_NAMES) return NO_ROOM;
    this.nameNumber.set(name, n);
    this.nameList.push(name);
    return n;
  }

  private names(at: number, n: number): string[] {
    const out: string[] = [];
    for (let k = 0; k < n; k++) out.push((this.zoneList[this.sHits[at + k] as number] as Zone).name);
    return out;
  }

  /**
   * Takes `s` (a state the pure form holds, not undefined) into the columns when they hold it
   * exactly, else keeps it as it is. Nor into the columns a state whose zone code sent last is not
   * the one location sync would send now (a zone's code changed, or the zones it is in ranked
   * otherwise, since it was stored): the columns have no recode, and the pure form's `holds` and
   * watermark send the new code (see recodedZone); the state it stores after is taken in.
   */
  private keep(a: number, s: LocationSyncState): void {
    if (this.fast && (this.options.zones === undefined || recodedZone(this.options.zones, s) === undefined) && this.toColumns(a, s)) return;
    this.reset(a);
    this.mode[a] = PURE;
    this.pureStates[a] = s;
  }

  /**
   * Fills the (reset) columns of `a` from `s`; false (the columns half filled: the caller resets
   * them) when a part of it is not one they hold exactly: any field the fast path does not make.
   */
  private toColumns(a: number, s: LocationSyncState): boolean {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return false;
    let bits = STATE;
    for (const key in s) {
      const v = (s as Record<string, unknown>)[key];
      if (v === undefined) continue;
      if (key === 'last') {
        if (!this.fixToColumns(v, a, false)) return false;
        bits |= LAST;
      } else if (key === 'synced') {
        if (!this.fixToColumns(v, a, true)) return false;
        bits |= SYNCED;
      } else if (key === 'zones') {
        if (!this.zonesToColumns(v, a)) return false;
        bits |= ZONES;
      } else if (key === 'order') {
        const o = this.orderToColumns(v, a);
        if (o < 0) return false;
        bits |= ORDER | o;
      } else if (key === 'located') {
        // Located by other zones (changed since), or with no zones configured now: the pure rule's.
        if (v !== this.fingerprint) return false;
        bits |= LOCATED;
      } else return false;
    }
    // `located` only while a fix waits (as the pure form writes it). With zones configured, fixes
    // waiting without it (a state stored before it was kept) are the pure rule's, which locates them again.
    const waiting = (this.head[a] as number) !== -1;
    if ((bits & LOCATED) !== 0 && !waiting) return false;
    if (this.tracking && waiting && (bits & LOCATED) === 0) return false;
    this.has[a] = bits;
    return true;
  }

  private fixToColumns(v: unknown, a: number, synced: boolean): boolean {
    if (!isRecord(v)) return false;
    let lat: unknown;
    let lng: unknown;
    let eventTime: unknown;
    let zone: unknown;
    let zoneName: unknown;
    let sourceZone: unknown;
    for (const key in v) {
      const x = v[key];
      if (x === undefined) continue;
      if (key === 'lat') lat = x;
      else if (key === 'lng') lng = x;
      else if (key === 'eventTime') eventTime = x;
      else if (key === 'zone') zone = x;
      else if (key === 'zoneName') zoneName = x;
      else if (key === 'sourceZone') sourceZone = x;
      else return false; // inaccurate, locatedAt, anything else
    }
    if (typeof lat !== 'number' || typeof lng !== 'number' || typeof eventTime !== 'number') return false;
    let number = NO_ZONE;
    let src = NO_NAME;
    if (zoneName !== undefined) {
      const k = typeof zoneName === 'string' ? this.zoneNumber.get(zoneName) : undefined;
      if (k === undefined || zone !== (this.zoneList[k] as Zone).locationCode) return false;
      number = k;
      if (sourceZone !== undefined) {
        if (typeof sourceZone !== 'string') return false;
        src = this.nameOf(sourceZone);
      }
    } else if (sourceZone !== undefined) return false;
    else if (zone !== undefined) {
      // Outside configured zones (or with none): the zone the source reported.
      if (typeof zone !== 'string') return false;
      src = this.nameOf(zone);
    }
    if (src === NO_ROOM) return false;
    (synced ? this.syncT : this.lastT)[a] = eventTime;
    (synced ? this.syncLat : this.lastLat)[a] = lat;
    (synced ? this.syncLng : this.lastLng)[a] = lng;
    (synced ? this.syncZone : this.lastZone)[a] = number;
    (synced ? this.syncSrc : this.lastSrc)[a] = src;
    return true;
  }

  private zonesToColumns(v: unknown, a: number): boolean {
    if (!isRecord(v)) return false;
    const base = a * TRACKED;
    let n = 0;
    for (const name in v) {
      const z = v[name];
      if (z === undefined) continue;
      const k = this.zoneNumber.get(name);
      if (k === undefined || n === TRACKED || !isRecord(z)) return false;
      let phase = -1;
      let since: unknown;
      for (const key in z) {
        const x = z[key];
        if (x === undefined) continue;
        if (key === 'phase') phase = PHASES.indexOf(x as ZonePhase);
        else if (key === 'since') since = x;
        else return false;
      }
      if (phase < 0 || typeof since !== 'number') return false;
      this.trZone[base + n] = k;
      this.trPhase[base + n] = phase;
      this.trSince[base + n] = since;
      n++;
    }
    this.trCount[a] = n;
    return true;
  }

  /** The RELEASED and NEWEST bits of a reorder buffer filled into the columns, or -1. */
  private orderToColumns(v: unknown, a: number): number {
    if (!isRecord(v)) return -1;
    let bits = 0;
    let pending: unknown;
    for (const key in v) {
      const x = v[key];
      if (x === undefined) continue;
      if (key === 'released' && typeof x === 'number') {
        this.released[a] = x;
        bits |= RELEASED;
      } else if (key === 'newest' && typeof x === 'number') {
        this.newest[a] = x;
        bits |= NEWEST;
      } else if (key === 'pending') pending = x;
      else return -1; // `last` (kept only with keepLast), anything else
    }
    if (!Array.isArray(pending)) return -1;
    for (const p of pending as unknown[]) {
      if (!isRecord(p)) return -1;
      let t: unknown;
      let lat: unknown;
      let lng: unknown;
      let zone: unknown;
      let inside: unknown;
      let near: unknown;
      for (const key in p) {
        const x = p[key];
        if (x === undefined) continue;
        if (key === 't') t = x;
        else if (key === 'lat') lat = x;
        else if (key === 'lng') lng = x;
        else if (key === 'zone') zone = x;
        else if (key === 'in') inside = x;
        else if (key === 'near') near = x;
        else return -1; // an inaccurate fix, anything else
      }
      if (typeof t !== 'number' || typeof lat !== 'number' || typeof lng !== 'number') return -1;
      if (zone !== undefined && typeof zone !== 'string') return -1;
      const src = zone === undefined ? NO_NAME : this.nameOf(zone);
      const nIn = this.zoneNumbers(inside, this.hitIn);
      const nNear = this.zoneNumbers(near, this.hitNear);
      if (nIn < 0 || nNear < 0 || src === NO_ROOM) return -1;
      this.insertAfter(a, this.tail[a] as number, this.slot(t, lat, lng, src, nIn + nNear * 65536));
    }
    return bits;
  }

  /** Zone names (absent, or 1 to HITS configured zones) as numbers into `out`: their count, or -1. */
  private zoneNumbers(v: unknown, out: Int32Array): number {
    if (v === undefined) return 0;
    if (!Array.isArray(v) || v.length === 0 || v.length > HITS) return -1;
    for (let k = 0; k < v.length; k++) {
      const name: unknown = v[k];
      const z = typeof name === 'string' ? this.zoneNumber.get(name) : undefined;
      if (z === undefined) return -1;
      out[k] = z;
    }
    return v.length;
  }

  /** A slot holding a waiting fix, its zones taken from hitIn and hitNear (`hits`: their counts as from hitsOf). */
  private slot(t: number, lat: number, lng: number, src: number, hits: number): number {
    if (this.free === -1) this.growSlots();
    const k = this.free;
    this.free = this.sNext[k] as number;
    this.sT[k] = t;
    this.sLat[k] = lat;
    this.sLng[k] = lng;
    this.sSrc[k] = src;
    const nIn = hits & 0xffff;
    const nNear = hits >>> 16;
    this.sNIn[k] = nIn;
    this.sNNear[k] = nNear;
    const base = k * 2 * HITS;
    for (let j = 0; j < nIn; j++) this.sHits[base + j] = this.hitIn[j] as number;
    for (let j = 0; j < nNear; j++) this.sHits[base + HITS + j] = this.hitNear[j] as number;
    return k;
  }

  /** Links slot `k` into asset a's list after slot `at` (-1: first). */
  private insertAfter(a: number, at: number, k: number): void {
    const next = at === -1 ? (this.head[a] as number) : (this.sNext[at] as number);
    this.sPrev[k] = at;
    this.sNext[k] = next;
    if (at === -1) this.head[a] = k;
    else this.sNext[at] = k;
    if (next === -1) this.tail[a] = k;
    else this.sPrev[next] = k;
  }

  /** Asset `a` with no state, in the columns (its waiting fixes' slots freed). */
  private reset(a: number): void {
    if (a >= this.cap) this.grow(a);
    for (let k = this.head[a] as number; k !== -1; ) {
      const next = this.sNext[k] as number;
      this.sNext[k] = this.free;
      this.free = k;
      k = next;
    }
    this.head[a] = -1;
    this.tail[a] = -1;
    this.mode[a] = COLUMNS;
    this.has[a] = 0;
    this.trCount[a] = 0;
    this.pureStates[a] = undefined;
  }

  private grow(a: number): void {
    const cap = Math.max(a + 1, this.cap * 2, 64);
    const f64 = (old: Float64Array, per = 1): Float64Array => grown(old, cap * per);
    const i32 = (old: Int32Array, per = 1, fill = 0): Int32Array => grown(old, cap * per, fill);
    const u8 = (old: Uint8Array, per = 1): Uint8Array => grown(old, cap * per);
    this.mode = u8(this.mode);
    this.has = u8(this.has);
    this.lastT = f64(this.lastT);
    this.lastLat = f64(this.lastLat);
    this.lastLng = f64(this.lastLng);
    this.lastZone = i32(this.lastZone, 1, NO_ZONE);
    this.lastSrc = i32(this.lastSrc, 1, NO_NAME);
    this.syncT = f64(this.syncT);
    this.syncLat = f64(this.syncLat);
    this.syncLng = f64(this.syncLng);
    this.syncZone = i32(this.syncZone, 1, NO_ZONE);
    this.syncSrc = i32(this.syncSrc, 1, NO_NAME);
    this.released = f64(this.released);
    this.newest = f64(this.newest);
    this.head = i32(this.head, 1, -1);
    this.tail = i32(this.tail, 1, -1);
    this.trCount = u8(this.trCount);
    this.trZone = i32(this.trZone, TRACKED);
    this.trPhase = u8(this.trPhase, TRACKED);
    this.trSince = f64(this.trSince, TRACKED);
    this.cap = cap;
  }

  private growSlots(): void {
    const old = this.sCap;
    const cap = Math.max(64, old * 2);
    const f64 = (a: Float64Array, per = 1): Float64Array => grown(a, cap * per);
    const i32 = (a: Int32Array, per = 1): Int32Array => grown(a, cap * per);
    const u8 = (a: Uint8Array): Uint8Array => grown(a, cap);
    this.sT = f64(this.sT);
    this.sLat = f64(this.sLat);
    this.sLng = f64(this.sLng);
    this.sSrc = i32(this.sSrc);
    this.sNext = i32(this.sNext);
    this.sPrev = i32(this.sPrev);
    this.sNIn = u8(this.sNIn);
    this.sNNear = u8(this.sNNear);
    this.sHits = i32(this.sHits, 2 * HITS);
    // The new slots, free (the free list is empty when the pool grows).
    for (let k = cap - 1; k >= old; k--) {
      this.sNext[k] = this.free;
      this.free = k;
    }
    this.sCap = cap;
  }
}

function contains(arr: Int32Array, at: number, n: number, z: number): boolean {
  for (let k = 0; k < n; k++) if (arr[at + k] === z) return true;
  return false;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
