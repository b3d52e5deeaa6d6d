/**
 * Location sync (touchpoint 1): keep the ERP's location of record current, without a write per
 * GPS fix. A location update is produced when the zone changes, when the asset has moved more than
 * `minDistanceM` since the last synced position, or when `heartbeatMs` has passed since then.
 * Never from an event older than the newest position already processed, or than an entry or exit
 * an idle watermark decided (invariant 8).
 *
 * With zones configured, the zone is the one the asset has *entered* (dwell and hysteresis, see
 * zones/zone-tracker.ts) and `warehouseLocation` carries that zone's ERP location code; without
 * zones it is the zone the source reported. With zones, the zone a source reports beside an
 * accurate GPS fix (a tracker's own geofence, no ERP location) is taken only for a fix outside
 * every configured zone and its hysteresis band: one inside or in the band of a configured zone is
 * processed as if the source had reported none (see bufferedFix), so while its enter dwell runs the
 * asset keeps what it had (no tracker label is sent in between, then the zone's code). Zones renamed
 * since its state was stored, the asset parked in them with the location code it has kept (the zone
 * it is in; nested zones renamed together; an enclosing zone renamed alone), are continued under
 * their new names at the first fix (see continuedRenamed in zones/tracking.ts). Otherwise, while the asset is still in a zone no longer configured
 * (renamed or removed since its state was stored), the location sent last stands until it has left
 * that zone (exit dwell): see zoneOfState. Its fixes send nothing meanwhile (see heldAgainstFix:
 * nothing can tell their coordinates agree with the code kept); the fix or idle watermark that ends
 * that dwell sends where the zones now configured place it. A fix waiting in the reorder window
 * when the zones were changed is located again by the ones configured now (see configuredHit).
 * One in a zone whose `locationCode` was changed, or in
 * zones ranked otherwise since (the code sent last no longer the best one's), is sent the code of
 * the zone that places it now at its next idle watermark (see recode), when that zone holds the
 * position sent last (else the best zone entered that does; its next fix sends the rest). An asset `appliesTo` does not match is
 * left alone by its fixes and by idle watermarks alike (its state as it was: see flush and holds).
 * With `allowedLatenessMs` > 0, positions wait that long
 * (in event time) to be put in order first, so out-of-order arrival changes nothing.
 *
 * The coordinates sent never contradict the zone sent with them: while a dwell holds the zone
 * against a fix (beyond the band of the zone the asset is placed in, its exit dwell running; or
 * inside a zone while placed in none, its enter dwell running), the fix sends nothing, however far
 * it moved or however long since the heartbeat. The fix or idle watermark that ends the dwell by
 * an exit or an entry sends the new zone with its position; a return is compared with what was
 * sent. An idle watermark that ends an exit dwell while the asset is entering another zone (its
 * enter dwell still running) sends nothing either: the entry's end does. So one stray fix at a border is never written to the ERP, nor the return from it, in any
 * batching of the events (an ingest batch would coalesce the two, split batches would not). Only an
 * asset's first fix, and the first accurate one after an inaccurate first, are sent regardless.
 *
 * A fix less accurate than `zones.maxAccuracyM` (zones configured or not) changes nothing the ERP is sent: not zone
 * membership, not the zone its source reported (outside configured zones that is the zone sent, and
 * a tracker decides it on the same bad fix), not the position, not the heartbeat. An idle watermark
 * settles a dwell where the last fix that placed the asset was, as if the inaccurate ones after it
 * had not come (see settleDwell). The ERP keeps the last accurate fix until the next one. Only an
 * asset's first fix is sent whatever its accuracy, there being nothing to keep (the first accurate
 * one replaces it). Of fixes with the same event time, the accurate one counts, in whatever order
 * they arrive and with any lateness (two sources reporting one asset).
 *
 * A zone sighting (a fixed RFID/BLE reader's: a configured zone's name and no coordinates) puts
 * the asset in that zone at once, with no dwell or hysteresis (the reader is authoritative), and
 * its update carries the zone's location code with `coordinates: null`. Event time still rules: a
 * sighting older than the newest one processed is late, as a GPS fix would be.
 * @module
 */
import { isZoneSighting, type PositionEvent, type PositionFix } from '../model/events.js';
import type { DeliveryIntent } from '../model/delivery.js';
import { admit, advance, byKey, drain, holdsAny, releasedUpTo, type FlushableRule, type ReorderState } from './event-time.js';
import { haversineM } from './geo.js';
import { duplicateResult, lateResult, NO_DELIVERIES, type RuleContext, type RuleResult } from './rule.js';
import { ownedLocationSync } from './location-sync-owned.js';
import { LOCATION_UPDATE, recodedZone, roundCoordinate, type BufferedFix, type Fix, type LocationSyncOptions, type LocationSyncState } from './location-sync-state.js';
import type { ZoneHit, ZoneIndex } from './zones/zone-index.js';
import { dwellDueAt, hasPendingDwell, placeInZone, stepZones, type ZoneTrackState } from './zones/zone-tracker.js';
import { configuredHit, continuedRenamed, HELD, heldAgainstFix, tracksUnconfigured, zoneOfState, type ZoneTracking } from './zones/tracking.js';
import { matchesFilter } from './maintenance/types.js';

export { LOCATION_UPDATE, roundCoordinate, type LocationSyncOptions, type LocationSyncState };

const NO_NAMES: readonly string[] = [];
const NO_ZONE: ZoneHit = { inside: NO_NAMES, band: NO_NAMES };

export function createLocationSyncRule(options: LocationSyncOptions): FlushableRule<LocationSyncState> {
  const lateness = options.allowedLatenessMs ?? 0;
  // `zones.maxAccuracyM` set without any zone (a fleet synced by position alone) still keeps a
  // cell-tower fix kilometres off from being sent as where the asset is.
  const maxAccuracyM = options.zones?.maxAccuracyM ?? options.maxAccuracyM ?? 0;
  const appliesTo = options.appliesTo;
  /** What the zones now configured locate positions by (see LocationSyncState.located); none without zones. */
  const fingerprint = options.zones?.index.fingerprint;
  /** apply for a position, on a state whose waiting fixes are located by the zones now configured. */
  function applyPosition(s: LocationSyncState, event: PositionEvent, ctx: RuleContext): RuleResult<LocationSyncState> {
    const item = bufferedFix(event, options.zones, maxAccuracyM);
    // The newest fix processed sent again (an MQTT redelivery after a reconnect, a device
    // repeating itself): a duplicate, not late. `last` holds it, so no state is added for this;
    // an older released fix sent again cannot be told from a late one, and counts as late.
    if (s.last !== undefined && isSameFix(s.last, item)) return duplicateResult(s);
    if (replacesInaccurate(s, item)) {
      // Decided on an inaccurate fix, and nothing newer since: the accurate one of that time counts instead.
      const r = processFix(options, lateness === 0 && s.order !== undefined && s.order.pending.length === 0 ? withoutOrder(s) : s, item, ctx);
      return { state: r.state, deliveries: r.delivery ? [r.delivery] : [] };
    }
    if (lateness === 0 && (s.order === undefined || s.order.pending.length === 0)) {
      // Nothing to reorder (the common case, and the ingest hot path): a position at or before
      // the newest one processed is late; any other is processed at once.
      const released = s.order?.released ?? s.last?.eventTime;
      if (released !== undefined && item.t <= released) return lateResult(s);
      const r = processFix(options, s.order === undefined ? s : withoutOrder(s), item, ctx);
      return { state: r.state, deliveries: r.delivery ? [r.delivery] : [] };
    }
    // States written before reordering existed carry only `last`: it is the release mark.
    const stored = s.order ?? (s.last ? { released: s.last.eventTime, newest: s.last.eventTime, pending: [] } : undefined);
    const twin = stored?.pending.find((p) => p.t === item.t && p.inaccurate !== item.inaccurate);
    // An accurate fix waiting with this one's time counts instead of it; this one, accurate, instead of those waiting.
    if (twin !== undefined && item.inaccurate) return { state: s, deliveries: NO_DELIVERIES };
    const order = twin !== undefined && stored ? { ...stored, pending: stored.pending.filter((p) => p.t !== item.t || p.inaccurate !== true) } : stored;
    const a = admit(order, item, lateness, tiebreakOf);
    if (a.late) return lateResult(s);
    if (a.duplicate) return duplicateResult(s);
    return processAll(options, locationState(s.last, s.synced, s.zones, a.state, s.located), a.released, ctx);
  }
  const rule: FlushableRule<LocationSyncState> = {
    name: 'location',
    kinds: ['position'],
    apply(state, event, ctx) {
      if (event.kind !== 'position') return { state: state ?? {}, deliveries: [] };
      if (appliesTo !== undefined && !matchesFilter(ctx.asset, appliesTo)) return { state: state as LocationSyncState, deliveries: NO_DELIVERIES };
      const s = state ?? {};
      // Fixes waiting since before the zones were changed are located again first (see relocated).
      return withLocated(fingerprint, s, applyPosition(relocated(options.zones, fingerprint, s), event, ctx));
    },
    flush(state, ctx, upTo) {
      // Nothing held and no zone dwell: nothing to decide (and no state made for an asset without one).
      // Nor for an asset `appliesTo` leaves out (the config changed since its state was stored): no
      // dwell settled, no fix released, no new zone code sent; its state stays as it is, as on an event.
      if ((state?.order === undefined && state?.zones === undefined) || (appliesTo !== undefined && !matchesFilter(ctx.asset, appliesTo))) return { state: state as LocationSyncState, deliveries: NO_DELIVERIES };
      const s = relocated(options.zones, fingerprint, state);
      const d = upTo === undefined ? drain(s.order) : advance(s.order, upTo, lateness);
      const r = d.released.length === 0 ? { state: s, deliveries: NO_DELIVERIES } : processAll(options, locationState(s.last, s.synced, s.zones, d.state, s.located), d.released, ctx);
      // A watermark also says the asset stayed where it was last seen until then (trackers go
      // quiet when parked): an entry or exit whose dwell has run its course by then counts. And
      // the zone it is in may have a new location code since its state was stored (see recode).
      return withLocated(fingerprint, state, upTo === undefined ? r : recode(options, settleDwell(options, r, upTo - lateness, ctx), ctx));
    },
    // A dwell only a watermark can settle: where the last fix that placed the asset was (an
    // inaccurate last fix of a state stored without that position settles nothing: the idle asset
    // would else be named again and again for a watermark that changes nothing).
    // And a location sent under a zone's old code (see recode): so the service's start names the
    // assets in a zone whose code was changed, and their watermark sends the new one.
    // Nothing for an asset `appliesTo` leaves out (its watermark decides nothing: see flush).
    holds: (state, asset) =>
      (asset === undefined || appliesTo === undefined || matchesFilter(asset, appliesTo)) &&
      (holdsAny(state?.order) ||
        (options.zones !== undefined && ((state?.last !== undefined && placedAt(state.last) !== undefined && hasPendingDwell(state.zones)) || recodedZone(options.zones, state) !== undefined))),
    // The same decisions with every asset's state in columns (location-sync-owned.ts).
    owned: () => ownedLocationSync(rule, options),
  };
  return rule;
}

function bufferedFix(event: PositionEvent, zones: ZoneTracking | undefined, maxAccuracyM: number): BufferedFix {
  // A reader's sighting: its zone is all there is to it, and never too inaccurate (no fix to judge).
  if (isZoneSighting(event)) return { t: event.eventTime, lat: undefined, lng: undefined, zone: event.zone, in: undefined, near: undefined, inaccurate: undefined };
  const fix = event as PositionFix;
  const usable = maxAccuracyM <= 0 || event.accuracyM === undefined || event.accuracyM <= maxAccuracyM;
  const hit = zones && usable ? zones.index.locateEvent(fix) : undefined;
  const inside = hit && hit.inside.length > 0 ? hit.inside : undefined;
  const near = hit && hit.band.length > 0 ? hit.band : undefined;
  // Every field, undefined when absent (one object shape: see locationState).
  return {
    t: event.eventTime,
    lat: roundCoordinate(fix.lat),
    lng: roundCoordinate(fix.lng),
    // Inside or near a configured zone, that zone (once entered) or what the asset had (while its
    // dwell runs) is the location, never the source's own label: dropped here, it is no part of the
    // fix (not sent, not kept, not in the duplicate check or the reorder tiebreak).
    zone: inside === undefined && near === undefined ? event.zone : undefined,
    in: inside,
    near,
    inaccurate: usable ? undefined : true,
  };
}

/**
 * The zone the source reported with `f` that may be sent: none for a fix inside or near a
 * configured zone (bufferedFix drops it; a fix waiting in a state stored before it did may still
 * carry one).
 */
const labelOf = (f: BufferedFix): string | undefined => (f.in === undefined && f.near === undefined ? f.zone : undefined);

// Fixes of one time waiting together are all accurate or all inaccurate (an accurate one replaces
// inaccurate ones of its time: see replacesInaccurate), so accuracy is no part of it.
const tiebreakOf = byKey((f: BufferedFix): string => `${f.lat},${f.lng},${f.zone ?? ''}`);

/**
 * Of fixes with the same event time, an inaccurate one never counts beside an accurate one, in
 * whatever order they arrive and with any lateness (two sources reporting one asset): an accurate
 * fix of the time of the inaccurate one last decided on, with nothing newer decided since, is
 * decided on as well (an inaccurate fix changed nothing it would have to undo, but `last`, and an
 * asset's first fix, which the accurate one then replaces at the ERP: see processFix).
 */
function replacesInaccurate(s: LocationSyncState, item: BufferedFix): boolean {
  return item.inaccurate !== true && s.last?.inaccurate === true && s.last.eventTime === item.t && (s.order?.released === undefined || s.order.released === item.t);
}

/** The zone the source reported with a processed fix (a configured zone's code may stand in `zone`). */
const reportedZone = (fix: Fix): string | undefined => (fix.zoneName === undefined ? fix.zone : fix.sourceZone);

/** Whether `f` is the processed fix `last` again: the same time, coordinates, reported zone and accuracy. */
function isSameFix(last: Fix, f: BufferedFix): boolean {
  return f.t === last.eventTime && f.lat === last.lat && f.lng === last.lng && f.zone === reportedZone(last) && (f.inaccurate === true) === (last.inaccurate === true);
}

function processAll(
  options: LocationSyncOptions,
  start: LocationSyncState,
  fixes: readonly BufferedFix[],
  ctx: RuleContext,
): RuleResult<LocationSyncState> {
  let state = start;
  let deliveries: DeliveryIntent[] | undefined;
  for (const f of fixes) {
    const r = processFix(options, state, f, ctx);
    state = r.state;
    if (r.delivery) (deliveries ??= []).push(r.delivery);
  }
  // Keep the state compact: drop an empty reorder buffer when no lateness is configured.
  if ((options.allowedLatenessMs ?? 0) === 0 && state.order && state.order.pending.length === 0) state = withoutOrder(state);
  return { state, deliveries: deliveries ?? NO_DELIVERIES };
}

const withoutOrder = (s: LocationSyncState): LocationSyncState => locationState(s.last, s.synced, s.zones, undefined, undefined);

/**
 * Every state this rule makes has all four fields, `undefined` when absent (JSON.stringify drops
 * them: the stored document is the same). V8 then sees one object shape, where building states
 * field by field made one per combination and per order of additions, and every access to a state
 * megamorphic (slow) on the ingest hot path. The same holds for {@link fixOf} and bufferedFix.
 */
function locationState(last: Fix | undefined, synced: Fix | undefined, zones: ZoneTrackState | undefined, order: ReorderState<BufferedFix> | undefined, located?: string): LocationSyncState {
  return { last, synced, zones, order, located };
}

/**
 * `s` with the fixes waiting in it located by the zones now configured (`fingerprint`, of
 * `zones.index`): as they are when they were located by these (`located`), or when none waits;
 * else each GPS fix located again by its position, as bufferedFix locates one arriving now (a zone
 * renamed, reshaped, added or removed since a restart: its old `in` and `near` would enter a zone
 * by a shape it no longer has, or miss one it has now). One comparison per state, not per fix.
 * A state stored before `located` was kept says nothing of the zones that located its waiting
 * fixes (the zones may have been changed since as well): they are located again, once; the state
 * then says what located them.
 */
function relocated(zones: ZoneTracking | undefined, fingerprint: string | undefined, s: LocationSyncState): LocationSyncState {
  const order = s.order;
  if (zones === undefined || order === undefined || order.pending.length === 0 || s.located === fingerprint) return s;
  const pending = order.pending.map((f) => relocatedFix(zones.index, f));
  return locationState(s.last, s.synced, s.zones, { ...order, pending }, fingerprint);
}

/** A waiting fix located again by `index` (a reader's sighting, or an inaccurate fix, has nothing to locate). */
function relocatedFix(index: ZoneIndex, f: BufferedFix): BufferedFix {
  if (f.lat === undefined || f.lng === undefined || f.inaccurate) return f;
  const hit = index.locate(f.lat, f.lng);
  const inside = hit.inside.length > 0 ? hit.inside : undefined;
  const near = hit.band.length > 0 ? hit.band : undefined;
  // The source's own label only outside every configured zone and its band (see bufferedFix); one
  // dropped on arrival, inside or near a zone then, stays dropped.
  return { t: f.t, lat: f.lat, lng: f.lng, zone: inside === undefined && near === undefined ? f.zone : undefined, in: inside, near, inaccurate: undefined };
}

/**
 * `r` with its state's `located` as the fixes waiting in it say, when it is not the state `before`
 * (a late or duplicate fix changes nothing, nor this): `fingerprint` while one waits (they are
 * located by the zones now configured: see relocated), absent when none does.
 */
function withLocated(fingerprint: string | undefined, before: LocationSyncState | undefined, r: RuleResult<LocationSyncState>): RuleResult<LocationSyncState> {
  const s = r.state;
  if (s === before) return r;
  const located = fingerprint !== undefined && s.order !== undefined && s.order.pending.length > 0 ? fingerprint : undefined;
  return s.located === located ? r : { ...r, state: locationState(s.last, s.synced, s.zones, s.order, located) };
}

function processFix(
  options: LocationSyncOptions,
  state: LocationSyncState,
  given: BufferedFix,
  ctx: RuleContext,
): { state: LocationSyncState; delivery?: DeliveryIntent } {
  // A reader's sighting of a zone no longer configured (it waited for the lateness over a restart
  // that removed the zone): the asset was seen, but it places nothing, as an inaccurate fix (its
  // zone's name is no location code to send).
  const f = options.zones && given.lat === undefined && given.zone !== undefined && !options.zones.index.has(given.zone) ? { ...given, zone: undefined, inaccurate: true as const } : given;
  let zones = state.zones;
  const label = labelOf(f);
  let zone = label;
  let zoneName: string | undefined;
  // A dwell holds the zone against this fix's coordinates (see heldAgainstFix): nothing new is sent.
  let held = false;
  if (options.zones) {
    // A reader's zone (validated as configured) is entered at once, and every other one left.
    if (f.lat === undefined && f.zone !== undefined) zones = placeInZone(zones, f.t, f.zone).state;
    else if (!f.inaccurate) {
      // The zones it is in renamed since (a restart): continued under their new names, not held (see continuedRenamed).
      if (state.last?.zoneName !== undefined && state.last.zone !== undefined && tracksUnconfigured(options.zones.index, zones)) {
        const placed = placedAt(state.last);
        if (placed !== undefined) zones = continuedRenamed(options.zones.index, zones, placed, state.last.zone, f.t);
      }
      zones = stepZones(zones, f.t, f.in || f.near ? configuredHit(options.zones.index, f.in, f.near, f) : NO_ZONE, options.zones.dwell, locatedAt(state.last), options.zones.index.has).state;
    }
    const best = zoneOfState(options.zones.index, zones);
    held = !f.inaccurate && heldAgainstFix(zones, best);
    if (best === HELD && state.last?.zoneName !== undefined) {
      // Still in a zone no longer configured (renamed or removed): the ERP keeps the location sent
      // last until the asset leaves it.
      zone = state.last.zone;
      zoneName = state.last.zoneName;
    } else if (best !== undefined && best !== HELD) {
      zone = best.locationCode;
      zoneName = best.name;
    }
  }
  // The source's zone is kept for an idle watermark, which may decide an exit with no further fix (see settleDwell).
  // An inaccurate fix keeps where the fix before it that placed the asset was, for an idle watermark (see settleDwell).
  const placed = f.inaccurate ? placedAt(state.last) : undefined;
  const fix = fixOf(
    f.lat,
    f.lng,
    f.t,
    zone,
    zoneName,
    zoneName !== undefined ? label : undefined,
    f.inaccurate ? true : undefined,
    f.inaccurate ? locatedAt(state.last) : undefined,
    placed?.lat,
    placed?.lng,
    placed?.zone,
  );
  const synced = state.synced;
  // A fix less accurate than `zones.maxAccuracyM` sends nothing once the asset has a location: a
  // cell-tower fallback 2 km off would otherwise be sent as where the asset is. Not even a change
  // of the zone its source reports: a tracker's own geofence is decided on that same fix.
  // An inaccurate first fix (sent, there being nothing to keep) is replaced by the first accurate one.
  // Nor a fix a dwell holds the zone against (beyond the band of the zone sent while its exit dwell
  // runs, or inside a zone not yet entered while its enter dwell runs): its coordinates would say
  // one place and the zone another (a single stray fix would be written, then the return from it).
  // The ERP keeps what it had until the dwell is over: the fix that decides it (or the idle
  // watermark: see settleDwell) sends the new zone, a return is compared with what was sent.
  const due =
    synced === undefined ||
    (f.inaccurate !== true &&
      (synced.inaccurate === true ||
        (!held && (synced.zone !== fix.zone || movedFar(synced, fix, options.minDistanceM) || fix.eventTime - synced.eventTime >= options.heartbeatMs))));
  if (!due) return { state: locationState(fix, state.synced, zones, state.order, state.located) };
  return { state: locationState(fix, fix, zones, state.order, state.located), delivery: locationUpdate(fix, ctx) };
}

/**
 * Moved further than `minDistanceM` since `synced`. A zone sighting has no position to compare: it
 * moves the asset only by its zone (or the heartbeat); a fix after a sighting sent without
 * coordinates gives the ERP a position again.
 */
function movedFar(synced: Fix, fix: Fix, minDistanceM: number): boolean {
  if (fix.lat === undefined || fix.lng === undefined) return false;
  if (synced.lat === undefined || synced.lng === undefined) return true;
  // Both have coordinates (checked above): no copies of them on the ingest hot path.
  return haversineM(synced as { lat: number; lng: number }, fix as { lat: number; lng: number }) > minDistanceM;
}

/** A processed fix, every field present (undefined when absent: one object shape, see locationState). */
function fixOf(
  lat: number | undefined,
  lng: number | undefined,
  eventTime: number,
  zone: string | undefined,
  zoneName?: string,
  sourceZone?: string,
  inaccurate?: true,
  locatedAt?: number,
  locatedLat?: number,
  locatedLng?: number,
  locatedZone?: string,
): Fix {
  return { lat, lng, eventTime, zone, zoneName, sourceZone, inaccurate, locatedAt, locatedLat, locatedLng, locatedZone };
}

/**
 * When the newest fix up to `last` that placed the asset was (an inaccurate one places nothing), for
 * the zone tracker's silence rule: the same whichever of two fixes of one time arrived first.
 */
const locatedAt = (last: Fix | undefined): number | undefined => (last?.inaccurate ? last.locatedAt : last?.eventTime);

/**
 * The newest GPS fix up to `last` that placed the asset (an inaccurate one places nothing): its
 * time, position and the zone its source reported. Undefined when a reader's sighting placed it
 * (no position), when nothing has, or for an inaccurate fix stored before its position was kept.
 */
function placedAt(last: Fix | undefined): { t: number; lat: number; lng: number; zone: string | undefined } | undefined {
  if (last === undefined) return undefined;
  if (last.inaccurate) {
    return last.locatedAt === undefined || last.locatedLat === undefined || last.locatedLng === undefined ? undefined : { t: last.locatedAt, lat: last.locatedLat, lng: last.locatedLng, zone: last.locatedZone };
  }
  return last.lat === undefined || last.lng === undefined ? undefined : { t: last.eventTime, lat: last.lat, lng: last.lng, zone: reportedZone(last) };
}

/** `asOf`: the event time the update holds for (a watermark's), when later than the sighting. */
function locationUpdate(fix: Fix, ctx: RuleContext, asOf = fix.eventTime): DeliveryIntent {
  return {
    destination: ctx.destination,
    operation: LOCATION_UPDATE,
    kind: 'state',
    businessKey: ctx.asset.erpAssetId,
    erpAssetId: ctx.asset.erpAssetId,
    eventTime: asOf,
    payload: {
      erpAssetId: ctx.asset.erpAssetId,
      erpModule: ctx.asset.erpModule,
      warehouseLocation: fix.zone ?? null,
      // A zone sighting: the reader says which zone, not where in it.
      coordinates: fix.lat === undefined || fix.lng === undefined ? null : { lat: fix.lat, lng: fix.lng },
      lastSeen: new Date(fix.eventTime).toISOString(),
      ...(fix.zoneName !== undefined ? { zone: fix.zoneName } : {}),
    },
  };
}

/**
 * An idle asset at event time `at`: as if it were seen again where it was last placed (and only the
 * zone can change: no heartbeat, `lastSeen` stays the real sighting). An entry or exit whose dwell
 * is over by then is confirmed, and a changed zone goes to the ERP as of the end of that dwell.
 * Inaccurate fixes since the one that placed it changed nothing, so it is settled there, with that
 * fix's position and time, exactly as if they had not come; the inaccurate last fix stays `last`
 * (the release mark, a resend of it a duplicate), with the zone now decided.
 */
function settleDwell(options: LocationSyncOptions, r: RuleResult<LocationSyncState>, at: number, ctx: RuleContext): RuleResult<LocationSyncState> {
  const z = options.zones;
  const s = r.state;
  const last = s.last;
  // After a zone sighting no dwell is pending (the reader placed the asset), nor is there a fix to repeat.
  const placed = placedAt(last);
  if (!z || !last || !placed || at <= last.eventTime || !hasPendingDwell(s.zones)) return r;
  const step = stepZones(s.zones, at, z.index.locate(placed.lat, placed.lng), z.dwell);
  const zones = step.state;
  const best = zoneOfState(z.index, zones);
  // A fix at `t` with the source's zone `reported`, placed as the zones now say: what processFix makes of it.
  const zoned = (lat: number | undefined, lng: number | undefined, t: number, reported: string | undefined): Fix =>
    best === HELD && last.zoneName !== undefined
      ? fixOf(lat, lng, t, last.zone, last.zoneName, reported) // in a zone no longer configured: as before
      : best !== undefined && best !== HELD
        ? fixOf(lat, lng, t, best.locationCode, best.name, reported)
        : fixOf(lat, lng, t, reported);
  // The zone the source reported with the placing fix: what a fix there would send outside configured zones.
  const fix = zoned(placed.lat, placed.lng, placed.t, placed.zone);
  const newest = last.inaccurate ? keepPlaced(zoned(last.lat, last.lng, last.eventTime, reportedZone(last)), last) : fix;
  const next: { -readonly [K in keyof LocationSyncState]: LocationSyncState[K] } = locationState(newest, s.synced, zones, s.order, s.located);
  // An entry or exit decided at `at` is a sighting then: a fix not newer is late from now on, as
  // after any released fix (invariant 8), so it cannot rewrite the decision the ERP was sent.
  if (step.entered.length > 0 || step.exited.length > 0) next.order = releasedUpTo(s.order, at);
  // Nothing new while a dwell still holds the zone against where the asset is (see heldAgainstFix):
  // an exit settled while it is entering another zone, not yet entered, places it in none with
  // coordinates in that zone (a null code from inside it); the fix or watermark that ends that dwell sends.
  if ((s.synced !== undefined && s.synced.zone === fix.zone) || (s.synced !== undefined && s.synced.inaccurate !== true && heldAgainstFix(zones, best))) return { state: next, deliveries: r.deliveries };
  next.synced = fix;
  // It supersedes an update the released fixes made (the outbox would coalesce them anyway). Dated
  // to when the dwell was over (after the sighting, never later than the watermark): the outbox
  // replaces a pending update only with a newer one, and the sighting's may still be waiting.
  return { state: next, deliveries: [...r.deliveries.filter((d) => d.operation !== LOCATION_UPDATE), locationUpdate(fix, ctx, dwellDueAt(s.zones, step, z.dwell) ?? at)] };
}

/** `fix` as the inaccurate fix `was` (which placed nothing), keeping where the one before it that did was. */
function keepPlaced(fix: Fix, was: Fix): Fix {
  return fixOf(fix.lat, fix.lng, fix.eventTime, fix.zone, fix.zoneName, fix.sourceZone, true, was.locatedAt, was.locatedLat, was.locatedLng, was.locatedZone);
}

/**
 * A zone's `locationCode` changed in the config, or the zones an asset is in ranked otherwise (a
 * restart with the new config): the ERP holds a code location sync would not send now, and would
 * until each asset's next fix. A watermark (the service's start names these assets: see `holds`)
 * sends the location sent last again with the code of the zone that places the asset now, of one
 * that holds that position (see recodedZone in location-sync-state.ts), dated as it was (event time: it replaces a pending update of the old code, never a
 * newer location, invariant 8), so its idempotency key is the same on every replay and restart;
 * once stored, the state has the new code and nothing is sent again.
 */
function recode(options: LocationSyncOptions, r: RuleResult<LocationSyncState>, ctx: RuleContext): RuleResult<LocationSyncState> {
  const zone = options.zones === undefined ? undefined : recodedZone(options.zones, r.state);
  const s = r.state;
  const synced = s.synced;
  if (zone === undefined || synced === undefined) return r;
  const fix = fixOf(synced.lat, synced.lng, synced.eventTime, zone.locationCode, zone.name, synced.sourceZone);
  const last = s.last;
  // The newest fix too, placed in that zone as a fix now would be (what the next one is compared with, and the owned form's columns check).
  const newest =
    last === undefined || last.zoneName === undefined
      ? last
      : fixOf(last.lat, last.lng, last.eventTime, zone.locationCode, zone.name, last.sourceZone, last.inaccurate, last.locatedAt, last.locatedLat, last.locatedLng, last.locatedZone);
  return { state: locationState(newest, fix, s.zones, s.order, s.located), deliveries: [...r.deliveries, locationUpdate(fix, ctx)] };
}
