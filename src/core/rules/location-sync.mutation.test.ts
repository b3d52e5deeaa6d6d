import { describe, expect, it } from 'vitest';
import { foldLocationSync } from '../../../test/helpers/fold-location-sync.js';
import type { AssetRecord } from '../model/assets.js';
import type { DeliveryIntent } from '../model/delivery.js';
import type { PositionEvent } from '../model/events.js';
import type { LocationSyncOptions, LocationSyncState } from './location-sync.js';
import { ZoneIndex, type Zone } from './zones/index.js';

const asset: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} };
const ctx = { asset, destination: 'erp', now: 0 };
const T0 = Date.UTC(2026, 9, 1, 8);
/** Longitude `m` metres east of 13.4 at latitude 52.5. */
const eastM = (m: number) => 13.4 + m / (111_320 * Math.cos((52.5 * Math.PI) / 180));
/** A fix `m` metres east of the yard's centre, `sec` seconds after T0. */
function pos(sec: number, m: number, extra: Partial<PositionEvent> = {}): PositionEvent {
  return { kind: 'position', source: 'test', ids: [{ type: 'tag', value: 't1' }], eventTime: T0 + sec * 1000, receivedAt: T0 + sec * 1000, lat: 52.5, lng: eastM(m), ...extra };
}

const yard: Zone = { name: 'yard', locationCode: '1000/0001', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } };
const zonesWith = (list: Zone[], over: { enterDwellMs?: number; exitDwellMs?: number; maxAccuracyM?: number } = {}) => ({
  index: new ZoneIndex(list, { hysteresisM: 25 }),
  dwell: { enterDwellMs: over.enterDwellMs ?? 30_000, exitDwellMs: over.exitDwellMs ?? 60_000 },
  maxAccuracyM: over.maxAccuracyM ?? 100,
});

/** Apply events in turn (then an optional full flush); every delivery and whether each event was late. */
function run(options: LocationSyncOptions, events: readonly PositionEvent[], opts: { start?: LocationSyncState; flush?: boolean } = {}) {
  const { out, lateFlags, state, rule } = foldLocationSync(options, events, ctx, opts.start, opts.flush === true);
  return { out, late: lateFlags, state, rule };
}
const codes = (ds: readonly DeliveryIntent[]) => ds.map((d) => [(d.eventTime - T0) / 1000, d.payload.warehouseLocation]);

describe('location sync: late positions are flagged (invariant 8), without a reorder window too', () => {
  it('a position older than the newest processed is late; one at the same time is a duplicate, not late', () => {
    // Mutation: the no-lateness fast path drops an older position without saying it was late.
    const { out, late } = run({ minDistanceM: 100, heartbeatMs: 3_600_000 }, [pos(100, 0), pos(50, 5000), pos(100, 0)]);
    expect(late).toEqual([false, true, false]);
    expect(codes(out)).toEqual([[100, null]]);
  });

  it('state stored before reordering existed: with a reorder window, a position older than its last one is late too', () => {
    // Mutation: legacy state (only `last`) given no release mark, so the old fix is buffered and processed.
    const legacy: LocationSyncState = { last: { lat: 52.5, lng: 13.4, eventTime: T0 + 100_000 }, synced: { lat: 52.5, lng: 13.4, eventTime: T0 + 100_000 } };
    const { out, late } = run({ minDistanceM: 100, heartbeatMs: 3_600_000, allowedLatenessMs: 30_000 }, [pos(50, 5000)], { start: legacy, flush: true });
    expect(late).toEqual([true]);
    expect(out).toEqual([]);
  });
});

describe('location sync: accuracy filter', () => {
  it('maxAccuracyM 0 (the default) uses every fix, whatever accuracy it reports', () => {
    // Mutation: `maxAccuracyM <= 0` -> `< 0`: with the default every fix reporting an accuracy would be ignored.
    const zones = zonesWith([yard], { maxAccuracyM: 0 });
    const { out } = run({ minDistanceM: 10_000, heartbeatMs: 86_400_000, zones }, [pos(0, 2000, { accuracyM: 8 }), pos(10, 0, { accuracyM: 500 }), pos(40, 0, { accuracyM: 500 })]);
    expect(codes(out)).toEqual([[0, null], [40, '1000/0001']]);
  });

  it('a fix exactly as accurate as maxAccuracyM counts (only less accurate ones are left out)', () => {
    // Mutation: `accuracyM <= maxAccuracyM` -> `<`.
    const zones = zonesWith([yard], { maxAccuracyM: 100 });
    const { out } = run({ minDistanceM: 10_000, heartbeatMs: 86_400_000, zones }, [pos(0, 2000, { accuracyM: 100 }), pos(10, 0, { accuracyM: 100 }), pos(40, 0, { accuracyM: 100 })]);
    expect(codes(out)).toEqual([[0, null], [40, '1000/0001']]);
  });
});

describe('location sync: the hysteresis band', () => {
  it('an asset parked in the band of a zone it entered stays in it, however long', () => {
    // Mutation: the band zones of a fix not kept in the buffered fix (a band fix read as "nowhere").
    const zones = zonesWith([yard]);
    const parked = Array.from({ length: 10 }, (_, i) => pos(100 + i * 60, 215)); // 15 m outside the 200 m circle, within the 25 m band
    const { out, state, rule } = run({ minDistanceM: 10_000, heartbeatMs: 86_400_000, zones }, [pos(0, 0), pos(40, 0), ...parked]);
    expect(codes(out)).toEqual([[0, null], [40, '1000/0001']]);
    expect(state?.zones?.yard?.phase).toBe('inside');
    // An idle watermark long after changes nothing either.
    expect(rule.flush(state, ctx, T0 + 7_200_000).deliveries).toEqual([]);
  });
});

describe('location sync: overlapping zones', () => {
  it('sends the location code of the most specific zone entered: higher priority, then the smaller', () => {
    // Mutation: the first entered zone sent instead of ZoneIndex.best.
    const bay: Zone = { name: 'bay', locationCode: '1000/0002', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 30 } };
    const events = [pos(0, 2000), pos(10, 0), pos(40, 0)];
    expect(codes(run({ minDistanceM: 10_000, heartbeatMs: 86_400_000, zones: zonesWith([yard, bay]) }, events).out)).toEqual([[0, null], [40, '1000/0002']]);
    const vip: Zone = { ...yard, name: 'vip-yard', locationCode: '1000/0009', priority: 5 };
    const r = run({ minDistanceM: 10_000, heartbeatMs: 86_400_000, zones: zonesWith([bay, vip]) }, events);
    expect(r.out.map((d) => [d.payload.warehouseLocation, d.payload.zone])).toEqual([[null, undefined], ['1000/0009', 'vip-yard']]);
  });
});

describe('location sync: coordinates sent', () => {
  it('keeps the position to about a centimetre (7 decimals)', () => {
    // Mutation: coordinates rounded to 4 decimals (about 10 m).
    const { out } = run({ minDistanceM: 100, heartbeatMs: 3_600_000 }, [{ ...pos(0, 0), lat: 52.5123456, lng: 13.4123456 }]);
    const c = out[0]?.payload.coordinates as { lat: number; lng: number };
    expect(c.lat).toBeCloseTo(52.5123456, 6);
    expect(c.lng).toBeCloseTo(13.4123456, 6);
  });
});

describe('location sync: idle watermarks', () => {
  const zones = zonesWith([yard], { enterDwellMs: 300_000, exitDwellMs: 300_000 });

  it('an entry decided by a watermark names the zone as well as its location code', () => {
    // Mutation: the watermark-settled update without `zone`.
    const { state, rule } = run({ minDistanceM: 100, heartbeatMs: 86_400_000, zones }, [pos(600, 50)]);
    const r = rule.flush(state, ctx, T0 + 2_000_000);
    expect(r.deliveries.map((d) => [d.payload.warehouseLocation, d.payload.zone])).toEqual([['1000/0001', 'yard']]);
  });

  it('a watermark that decides nothing keeps the zone the source reported for the exit a later one decides', () => {
    // Mutation: the settled fix drops the source-reported zone, so the exit a later watermark decides sends warehouseLocation null.
    const { out, state, rule } = run({ minDistanceM: 100_000, heartbeatMs: 86_400_000, zones }, [pos(0, 0), pos(400, 0), pos(500, 1000, { zone: 'DOCK-7' })]);
    expect(codes(out)).toEqual([[0, null], [400, '1000/0001']]); // leaving the yard from 500 s (its label is outside every zone)
    const r = rule.flush(state, ctx, T0 + 600_000); // the exit's five minutes are not over
    expect(r.deliveries).toEqual([]);
    expect(r.state.synced?.zone).toBe('1000/0001');
    expect(codes(rule.flush(r.state, ctx, T0 + 900_000).deliveries)).toEqual([[800, 'DOCK-7']]);
  });

  it('a watermark does not settle a dwell before the allowed lateness has passed: a fix within it still counts', () => {
    // Mutation: settled at the watermark's time instead of `upTo - allowedLatenessMs`.
    const options = { minDistanceM: 100, heartbeatMs: 86_400_000, zones, allowedLatenessMs: 30_000 };
    const { out, state, rule } = run(options, [pos(0, 2000), pos(600, 50)]);
    // 910 s: the entry (inside since 600 s, 300 s dwell) is due at 900 s, but fixes after 880 s may still come.
    const w = rule.flush(state, ctx, T0 + 910_000);
    expect(w.deliveries.map((d) => d.payload.warehouseLocation)).not.toContain('1000/0001');
    // It had left at 895 s: within the lateness, so not late, and the entry never counts.
    const r = rule.apply(w.state, pos(895, 2000), ctx);
    expect(r.late).toBeUndefined();
    const end = rule.flush(r.state, ctx);
    expect([...out, ...w.deliveries, ...r.deliveries, ...end.deliveries].map((d) => d.payload.warehouseLocation)).not.toContain('1000/0001');
  });

  it('a watermark releases only what is older than the allowed lateness: a fix within it still counts', () => {
    // Mutation: flush with a watermark drains the whole buffer.
    const options = { minDistanceM: 100, heartbeatMs: 86_400_000, allowedLatenessMs: 30_000 };
    const { state, rule } = run(options, [pos(0, 0), pos(600, 1000)]);
    const w = rule.flush(state, ctx, T0 + 610_000);
    expect(w.deliveries.map((d) => d.eventTime - T0)).toEqual([]);
    const r = rule.apply(w.state, pos(590, 500), ctx);
    expect(r.late).toBeUndefined();
    const end = rule.flush(r.state, ctx);
    expect([...w.deliveries, ...r.deliveries, ...end.deliveries].map((d) => (d.eventTime - T0) / 1000)).toEqual([590, 600]);
  });
});

describe('location sync: an exit decided by an idle watermark, with a source that reports zones', () => {
  it('sends the zone the source reported where the asset parked, as a repeated fix there would (not "no location")', () => {
    // Found while mutating: the settled fix kept the source's zone only when no configured zone had
    // been entered, so leaving one by watermark sent warehouseLocation null until the tracker spoke again.
    const options = { minDistanceM: 100_000, heartbeatMs: 86_400_000, zones: zonesWith([yard]) };
    const events = [pos(0, 0, { zone: 'A' }), pos(40, 0, { zone: 'A' }), pos(100, 1000, { zone: 'ROAD' })];
    // Seen again where it parked, a minute later: the exit counts and the source's zone is sent
    // (outside every configured zone: inside the yard its label "A" never is).
    const byFix = run(options, [...events, pos(200, 1000, { zone: 'ROAD' })]);
    expect(codes(byFix.out)).toEqual([[0, null], [40, '1000/0001'], [200, 'ROAD']]);
    // The tracker falls quiet instead: the watermark settles the same exit, dated to its dwell end.
    const quiet = run(options, events);
    const w = quiet.rule.flush(quiet.state, ctx, T0 + 200_000);
    expect(codes(w.deliveries)).toEqual([[160, 'ROAD']]);
    // And a later fix at the same place changes nothing.
    expect(quiet.rule.apply(w.state, pos(300, 1000, { zone: 'ROAD' }), ctx).deliveries).toEqual([]);
  });
});
