/**
 * Inventory sync (touchpoint 3), per item: where each tracked item (an asset with a SKU) was last
 * seen. Tag sightings are position events; the item's location is the ERP location code of the
 * zone it has entered (dwell and hysteresis, as for location sync), else the zone the source
 * reported (an RFID/BLE reader's location) when the sighting is outside every configured zone and
 * its band (inside or near one, that zone is the item's location once entered: the source's own
 * label never is, as in location sync), else none; while it is still in a zone no longer
 * configured (renamed or removed), the location it had, until it has left that zone. Zones renamed
 * in place (the item seen in them under their new names, its location code kept) are continued
 * under their new names at that sighting, as location sync does (see continuedRenamed). A sighting less accurate than
 * `zones.maxAccuracyM` only says the item was seen: it changes neither of them (after the first).
 * A zone sighting (a fixed reader's: a configured zone's name, no coordinates) puts the item in
 * that zone at once, as a GPS fix inside it would once its dwell is over.
 *
 * Counts per (location, SKU) are an aggregate over many assets, which one asset's rule state cannot
 * hold: the inventory task (engine/tasks/inventory-sync.ts) computes them from every item's state
 * with {@link countInventory} and sends the changes. This rule makes no deliveries itself.
 * @module
 */
import type { AssetRecord } from '../../model/assets.js';
import { isZoneSighting, type PositionEvent, type PositionFix } from '../../model/events.js';
import { admit, advance, byKey, drain, holdsAny, releasedUpTo, type FlushableRule, type ReorderState } from '../event-time.js';
import { duplicateResult, lateResult, type RuleResult } from '../rule.js';
import type { ZoneHit } from '../zones/zone-index.js';
import { dwellDueAt, hasPendingDwell, placeInZone, stepZones, type ZoneTrackState } from '../zones/zone-tracker.js';
import { configuredHit, continuedRenamed, HELD, tracksUnconfigured, zoneOfState, type ZoneTracking } from '../zones/tracking.js';
import { roundCoordinate } from '../location-sync-state.js';

export const INVENTORY_RULE = 'inventory';

export interface InventoryRuleOptions {
  /** Asset attribute holding the item's SKU; assets without it are not inventory. @default sku */
  readonly skuAttribute: string;
  readonly zones?: ZoneTracking;
  /** Event-time reorder window, ms. @default 0 */
  readonly allowedLatenessMs: number;
  /** `rules.inventory.freshness`: an item not seen for longer was stale, and is there anew when seen again. @default never */
  readonly freshnessMs?: number;
  /**
   * `zones.maxAccuracyM` when no zone is configured (with zones, `zones.maxAccuracyM` of the
   * tracking is used): a less accurate sighting only says the item was seen. @default 0 (all count)
   */
  readonly maxAccuracyM?: number;
}

interface Sighting {
  readonly t: number;
  readonly zone?: string;
  /** Zones the sighting is inside, computed on arrival (absent: none). */
  readonly in?: readonly string[];
  /** Zones whose hysteresis band holds it (absent: none). */
  readonly near?: readonly string[];
  /**
   * Where an accurate GPS sighting was (rounded as location sync's fixes), with zones configured: a
   * sighting waiting for the lateness over a restart that changed the zones is located again by
   * the zones configured then (see relocated). Absent for a reader's or an inaccurate sighting,
   * and in states stored before it was kept (those keep the zones located on arrival that are
   * still configured: see configuredHit).
   */
  readonly lat?: number;
  readonly lng?: number;
  /** Too inaccurate to change zone membership. */
  readonly inaccurate?: true;
  /** A zone sighting: `zone` is the configured zone a fixed reader saw the item in (no coordinates). */
  readonly reader?: true;
}

const NO_ZONE: ZoneHit = { inside: [], band: [] };

export interface InventoryItemState {
  readonly order?: ReorderState<Sighting>;
  readonly zones?: ZoneTrackState;
  /** ERP location code where the item is; null when it was last seen outside every location. */
  readonly location?: string | null;
  /** Event time of the newest sighting processed. */
  readonly seenAt?: number;
  /**
   * Since when the item has been at `location` (event time); from a sighting after it was stale
   * (not seen for longer than `freshnessMs`) when it is seen again where it was.
   */
  readonly since?: number;
  /**
   * Event time of the newest sighting that placed it (accurate, or a reader's), when inaccurate
   * sightings came since (`seenAt` is theirs): the zone tracker's silence is measured from it.
   */
  readonly locatedAt?: number;
  /**
   * The zone the newest accurate sighting's source reported, kept when a configured zone's location
   * was taken instead: once that zone is left by a watermark, the item is where the reader saw it.
   */
  readonly reported?: string;
  /**
   * The zones the sightings waiting in `order` were located by on arrival (their `in` and `near`):
   * the zone index's fingerprint, present only with zones configured and a sighting waiting. When
   * it is not the fingerprint of the zones configured now (a restart changed them, or a state
   * stored before it was kept), each waiting sighting with a position is located again by the zones
   * now configured before any is processed (see relocated).
   */
  readonly located?: string;
}

export function isInventoryItem(asset: AssetRecord, skuAttribute: string): boolean {
  const sku = asset.attributes[skuAttribute];
  return sku !== undefined && sku.trim() !== '';
}

export function createInventoryRule(options: InventoryRuleOptions): FlushableRule<InventoryItemState> {
  /** What the zones now configured locate sightings by (see InventoryItemState.located); none without zones. */
  const fingerprint = options.zones?.index.fingerprint;
  return {
    name: INVENTORY_RULE,
    kinds: ['position'],
    apply(state, event, ctx) {
      // Not inventory: leave the sub-state absent rather than store an empty one for every asset.
      if (event.kind !== 'position' || !isInventoryItem(ctx.asset, options.skuAttribute)) return { state: state as InventoryItemState, deliveries: [] };
      // Sightings waiting since before the zones were changed are located again first (see relocated).
      return withLocated(fingerprint, applySighting(relocated(options.zones, fingerprint, state ?? {}), event, options));
    },
    flush(state, ctx, upTo) {
      // Nothing held and no dwell: nothing to decide. Nor for an asset that is not inventory (its SKU
      // gone from its record, or `skuAttribute` changed, since its state was stored): no sighting
      // released, no dwell settled; its state stays as it is, as on an event.
      if ((!state?.order && !state?.zones) || !isInventoryItem(ctx.asset, options.skuAttribute)) return { state: state as InventoryItemState, deliveries: [] };
      const s = relocated(options.zones, fingerprint, state);
      const d = upTo === undefined ? drain(s.order, true) : advance(s.order, upTo, options.allowedLatenessMs, true);
      const r = d.released.length === 0 ? { state: s, deliveries: [] } : processAll({ ...s, order: d.state }, d.released, options);
      // A watermark: the item stayed where it was last seen (a pallet put down), so dwell under way completes.
      return withLocated(fingerprint, upTo === undefined ? r : { state: settleDwell(r.state, upTo - options.allowedLatenessMs, options), deliveries: r.deliveries });
    },
    // Settling reads the tracker's phases, not the last sighting, so an inaccurate last sighting
    // does not stop a watermark from deciding: a pending dwell is always one it can settle.
    // Nothing for an asset that is not inventory (its watermark decides nothing: see flush).
    holds: (state, asset) => (asset === undefined || isInventoryItem(asset, options.skuAttribute)) && (holdsAny(state?.order) || (options.zones !== undefined && hasPendingDwell(state?.zones))),
  };
}

/**
 * `s` with the sightings waiting in it located by the zones now configured (`fingerprint`, of
 * `zones.index`): as they are when they were located by these (`located`), or when none waits;
 * else each one with a position located again by it, as sightingOf locates one arriving now (a
 * zone renamed, reshaped, added or removed since a restart). One comparison per state, not per sighting.
 */
function relocated(zones: ZoneTracking | undefined, fingerprint: string | undefined, s: InventoryItemState): InventoryItemState {
  const order = s.order;
  if (zones === undefined || order === undefined || order.pending.length === 0 || s.located === fingerprint) return s;
  const pending = order.pending.map((x) => (x.lat === undefined || x.lng === undefined || x.reader || x.inaccurate ? x : located(x.t, x.lat, x.lng, zones.index.locate(x.lat, x.lng), x.zone)));
  return { ...s, order: { ...order, pending }, located: fingerprint };
}

/** `r` with its state's `located` as the sightings waiting in it say: `fingerprint` while one waits, absent when none does. */
function withLocated(fingerprint: string | undefined, r: RuleResult<InventoryItemState>): RuleResult<InventoryItemState> {
  const s = r.state;
  if (s === undefined) return r;
  const want = fingerprint !== undefined && s.order !== undefined && s.order.pending.length > 0 ? fingerprint : undefined;
  if (s.located === want) return r;
  const next: { -readonly [K in keyof InventoryItemState]: InventoryItemState[K] } = { ...s, located: want };
  if (want === undefined) delete next.located;
  return { ...r, state: next };
}

function applySighting(s: InventoryItemState, event: PositionEvent, options: InventoryRuleOptions): RuleResult<InventoryItemState> {
  const item = sightingOf(event, options.zones, options.zones?.maxAccuracyM ?? options.maxAccuracyM ?? 0);
  // The newest sightings kept (`keepLast`): one sent again (a client's retry) is a duplicate, not late.
  const a = admit(s.order, item, options.allowedLatenessMs, sightingOrder, true);
  if (a.late) {
    // Decided on inaccurate sightings of this time alone, and nothing newer since: the accurate
    // one of that time counts too, as it would have arriving first (they changed nothing it
    // would have to undo), with no lateness as with any (as location sync's replacesInaccurate).
    if (!replacesInaccurate(s.order, item)) return lateResult(s);
    const order = s.order as ReorderState<Sighting>;
    return processAll({ ...s, order: { ...order, last: [...(order.last ?? []), item] } }, [item], options);
  }
  if (a.duplicate) return duplicateResult(s);
  return processAll({ ...s, order: a.state }, a.released, options);
}

/** Whether `item` (late to `order`) is an accurate sighting of the time of the last released ones, all of them inaccurate. */
function replacesInaccurate(order: ReorderState<Sighting> | undefined, item: Sighting): boolean {
  const last = order?.last;
  return item.inaccurate !== true && order?.released === item.t && last !== undefined && last.length > 0 && last.every((x) => x.inaccurate === true && x.t === item.t);
}

/**
 * Sightings with equal times: by reported zone, zones inside and near, then accuracy; equal ones
 * are duplicates. Every field that changes what a sighting does is in the key: the same sighting
 * reported accurate and inaccurate is not a duplicate (which one arrived first must not decide).
 */
const sightingOrder = byKey((x: Sighting) => `${x.zone ?? ''}|${x.in?.join(',') ?? ''}|${x.near?.join(',') ?? ''}|${x.inaccurate ? 1 : 0}${x.reader ? '|r' : ''}`);

function sightingOf(event: PositionEvent, zones: ZoneTracking | undefined, maxAccuracyM: number): Sighting {
  if (isZoneSighting(event)) return { t: event.eventTime, zone: event.zone, reader: true };
  // With no zone configured too: the zone a tracker reports with a fix 2 km off is decided on that fix.
  const usable = maxAccuracyM <= 0 || event.accuracyM === undefined || event.accuracyM <= maxAccuracyM;
  const hit = zones && usable ? zones.index.locateEvent(event as PositionFix) : undefined;
  if (hit !== undefined) return located(event.eventTime, roundCoordinate((event as PositionFix).lat), roundCoordinate((event as PositionFix).lng), hit, event.zone);
  return {
    t: event.eventTime,
    ...(event.zone !== undefined ? { zone: event.zone } : {}),
    ...(usable ? {} : { inaccurate: true as const }),
  };
}

/** An accurate GPS sighting at `t` (`lat`, `lng`) with zones configured, located as `hit`, its source reporting `zone`. */
function located(t: number, lat: number, lng: number, hit: ZoneHit, zone: string | undefined): Sighting {
  // Inside or near a configured zone, the source's own label is no location (see the module's
  // comment): dropped, as if none was reported (so no part of the duplicate key either).
  if (hit.inside.length > 0 || hit.band.length > 0) return { t, ...(hit.inside.length > 0 ? { in: hit.inside } : {}), ...(hit.band.length > 0 ? { near: hit.band } : {}), lat, lng };
  return { t, ...(zone !== undefined ? { zone } : {}), lat, lng };
}

/**
 * An idle item at event time `at`: as if seen again where it was last seen. Zones it was inside
 * stay (an entry whose dwell is over counts), zones it was leaving are left once their dwell is
 * over; `seenAt` stays the real sighting (freshness), and a location change is dated to the end of its dwell.
 */
function settleDwell(s: InventoryItemState, at: number, options: InventoryRuleOptions): InventoryItemState {
  const z = options.zones;
  if (!z || s.seenAt === undefined || at <= s.seenAt || !hasPendingDwell(s.zones)) return s;
  // Only zones configured now, as location sync locates the last fix among them: a zone removed
  // since (a changed zones file) is not entered on a watermark (the item would stay counted where
  // it was, HELD, though it has left), and one it was in is left after the exit dwell.
  const inside = Object.keys(s.zones ?? {}).filter((n) => s.zones?.[n]?.phase !== 'leaving' && z.index.has(n));
  const step = stepZones(s.zones, at, { inside, band: [] }, z.dwell);
  const zones = step.state;
  const best = zoneOfState(z.index, zones);
  // Without a zone now: the code of the zone it left goes with it; the zone the last sighting's
  // reader reported stays, as if that sighting came again. Still in a zone no longer configured:
  // where it was counted.
  const before = zoneOfState(z.index, s.zones);
  const location = best === HELD ? (s.location ?? null) : best ? best.locationCode : before !== undefined ? (s.reported ?? null) : (s.location ?? null);
  // There since its dwell was over (the counts had it elsewhere until the watermark decided it).
  const decidedAt = dwellDueAt(s.zones, step, z.dwell) ?? at;
  const next: { -readonly [K in keyof InventoryItemState]: InventoryItemState[K] } = { ...s, zones, location, since: location === s.location && s.since !== undefined ? s.since : decidedAt };
  // An entry or exit decided at `at` is a sighting then: one not newer is late from now on, as
  // after any released sighting (invariant 8), so a straggler cannot rewrite what was counted.
  if (step.entered.length > 0 || step.exited.length > 0) next.order = releasedUpTo(s.order, at);
  return next;
}


/** Whether an item last seen as `s` says was stale at `t` (no longer counted: `freshnessMs` without a sighting). */
const wasStale = (s: InventoryItemState, t: number, options: InventoryRuleOptions): boolean => options.freshnessMs !== undefined && s.seenAt !== undefined && t - s.seenAt > options.freshnessMs;

function processAll(start: InventoryItemState, sightings: readonly Sighting[], options: InventoryRuleOptions): RuleResult<InventoryItemState> {
  let s = start;
  for (const given of sightings) {
    // A reader's sighting of a zone no longer configured (it waited for the lateness over a restart
    // that removed the zone): the item was seen, but it places nothing, as an inaccurate sighting
    // (its zone's name is no location code to count it under, now or once a watermark falls back to it).
    const g: Sighting = options.zones && given.reader && given.zone !== undefined && !options.zones.index.has(given.zone) ? { t: given.t, inaccurate: true } : given;
    // Too inaccurate to place the item (zones.maxAccuracyM): it was seen, but it stays where the
    // last accurate sighting put it, reader zone included (the one a watermark falls back to).
    // Only a first sighting places it, having nothing better to keep.
    if (g.inaccurate && s.seenAt !== undefined) {
      s = { ...s, seenAt: g.t, locatedAt: s.locatedAt ?? s.seenAt, since: wasStale(s, g.t, options) ? g.t : s.since };
      continue;
    }
    let zones = s.zones;
    // The reported zone of a sighting inside or near a configured zone is not taken (sightingOf drops
    // it; one waiting in a state stored before it did may still carry it).
    const label = g.in === undefined && g.near === undefined ? g.zone : undefined;
    let location: string | null = label ?? null;
    let reported: string | undefined;
    if (options.zones) {
      // A reader's zone is entered at once (no dwell), every other one left.
      if (g.reader && g.zone !== undefined) zones = placeInZone(zones, g.t, g.zone).state;
      else if (!g.inaccurate) {
        // The zones it is in renamed since (a restart), its location kept: continued under their new
        // names, not held until the old ones are left (see continuedRenamed), as location sync does.
        if (typeof s.location === 'string' && g.lat !== undefined && g.lng !== undefined && tracksUnconfigured(options.zones.index, zones)) zones = continuedRenamed(options.zones.index, zones, { lat: g.lat, lng: g.lng }, s.location, g.t);
        zones = stepZones(zones, g.t, g.in || g.near ? configuredHit(options.zones.index, g.in, g.near, g) : NO_ZONE, options.zones.dwell, s.locatedAt ?? s.seenAt, options.zones.index.has).state;
      }
      const best = zoneOfState(options.zones.index, zones);
      if (best === HELD) {
        // Still in a zone no longer configured (renamed or removed): it stays counted where it was
        // until it leaves that zone (exit dwell), not unplaced in between.
        // The zone this sighting's source reported is still what a watermark falls back to once
        // that zone is left (as location sync keeps it), not the one an older sighting reported.
        location = s.location ?? null;
        reported = label;
      } else if (best) {
        // A reader's zone is no code to fall back to once the zone is left.
        if (!g.reader) reported = label;
        location = best.locationCode;
      }
    }
    const since = s.location === location && s.since !== undefined && !wasStale(s, g.t, options) ? s.since : g.t;
    const next: { -readonly [K in keyof InventoryItemState]: InventoryItemState[K] } = { ...s, location, seenAt: g.t, since, ...(zones !== undefined ? { zones } : {}) };
    if (reported !== undefined) next.reported = reported;
    else if (next.reported !== undefined) delete next.reported; // only on leaving a configured zone: no delete per sighting
    if (next.locatedAt !== undefined) delete next.locatedAt; // only after inaccurate sightings
    s = next;
  }
  return { state: s, deliveries: [] };
}
