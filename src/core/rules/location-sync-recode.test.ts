/**
 * A zone's `locationCode` changed in the config (same name, a new ERP code): the assets in it are
 * sent the new code after the restart, by the idle watermark their stored state asks for, not at
 * each one's next fix; once, with the update the ERP had dated as it was.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../model/assets.js';
import type { PositionEvent } from '../model/events.js';
import { idempotencyKeyFor } from '../delivery/idempotency.js';
import { compareOwned } from '../../../test/helpers/owned-oracle.js';
import { createLocationSyncRule, type LocationSyncOptions, type LocationSyncState } from './location-sync.js';
import { ownedLocationSync } from './location-sync-owned.js';
import { ZoneIndex, type Zone } from './zones/index.js';

const asset: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} };
const ctx = { asset, destination: 'erp', now: 0 };
const T0 = Date.UTC(2026, 9, 1, 8);
const eastM = (m: number) => 13.4 + m / (111_320 * Math.cos((52.5 * Math.PI) / 180));
const pos = (sec: number, m: number, extra: Partial<PositionEvent> = {}): PositionEvent => ({ kind: 'position', source: 'test', ids: [{ type: 'tag', value: 't1' }], eventTime: T0 + sec * 1000, receivedAt: T0 + sec * 1000, lat: 52.5, lng: eastM(m), ...extra });

const yard = (locationCode: string): Zone => ({ name: 'yard', locationCode, priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } });
const depot: Zone = { name: 'depot', locationCode: '2000/0001', priority: 0, shape: { type: 'circle', lat: 52.5, lng: eastM(3000), radiusM: 200 } };
const options = (zones: readonly Zone[], allowedLatenessMs = 0): LocationSyncOptions => ({
  minDistanceM: 100,
  heartbeatMs: 86_400_000,
  allowedLatenessMs,
  zones: { index: new ZoneIndex(zones, { hysteresisM: 25 }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 100 },
});

/** The state `events` leave under `before`, as stored (JSON), with the fixes held for the lateness decided (the asset idle before the stop). */
function storedAfter(before: LocationSyncOptions, events: readonly PositionEvent[]): LocationSyncState {
  const rule = createLocationSyncRule(before);
  let state: LocationSyncState | undefined;
  for (const e of events) state = rule.apply(state, e, ctx).state;
  const newest = Math.max(...events.map((e) => e.eventTime));
  if ((before.allowedLatenessMs ?? 0) > 0) state = rule.flush(state, ctx, newest + (before.allowedLatenessMs ?? 0) + 1).state;
  return JSON.parse(JSON.stringify(state)) as LocationSyncState;
}

describe('location sync: a zone whose location code was changed in the config', () => {
  for (const allowedLatenessMs of [0, 30_000]) {
    it(`sends the assets in it the new code at the watermark the restart asks for, once, dated as the update the ERP has (lateness ${allowedLatenessMs} ms)`, () => {
      // Parked in the yard (entered 08:01), then a fix in it that sent nothing (08:10), stored under code 1000/0001.
      const stored = storedAfter(options([yard('1000/0001'), depot], allowedLatenessMs), [pos(0, 2000), pos(60, 50), pos(100, 55), pos(600, 60), pos(700, 60)]);
      expect(stored.synced).toMatchObject({ zone: '1000/0001', zoneName: 'yard', eventTime: T0 + 100_000 });
      const after = options([yard('1000/0002'), depot], allowedLatenessMs);
      const rule = createLocationSyncRule(after);
      // The start names the asset idle (it has no event to wait for, nor a dwell)...
      expect(rule.holds(stored)).toBe(true);
      // ...and its watermark sends where the ERP has it, under the new code.
      const r = rule.flush(stored, ctx, T0 + 3_600_000);
      expect(r.deliveries).toHaveLength(1);
      const d = r.deliveries[0];
      expect(d?.payload).toEqual({ erpAssetId: 'EQ-1', erpModule: 'maintenance', warehouseLocation: '1000/0002', coordinates: { lat: stored.synced?.lat, lng: stored.synced?.lng }, lastSeen: '2026-10-01T08:01:40.000Z', zone: 'yard' });
      // Dated as the update it corrects: it replaces that one still pending, never a newer location (invariant 8).
      expect(d?.eventTime).toBe(T0 + 100_000);
      // The same stored state and watermark again (a replay after a crash): the same idempotency key.
      const again = rule.flush(JSON.parse(JSON.stringify(stored)) as LocationSyncState, ctx, T0 + 3_600_000 + 5_000);
      expect(again.deliveries.map(idempotencyKeyFor)).toEqual(r.deliveries.map(idempotencyKeyFor));
      // Stored after it: a second restart asks for nothing, and sends nothing.
      const next = JSON.parse(JSON.stringify(r.state)) as LocationSyncState;
      expect(rule.holds(next)).toBe(false);
      expect(rule.flush(next, ctx, T0 + 7_200_000).deliveries).toEqual([]);
      expect(next.last).toMatchObject({ zone: '1000/0002', zoneName: 'yard', eventTime: T0 + 700_000 });
      // The next fix there is no change: nothing sent.
      expect(rule.apply(next, pos(800, 55), ctx).deliveries).toEqual([]);
      // Moving on, the asset is sent from where it is, as usual.
      const first = rule.apply(next, pos(900, 3000), ctx);
      const second = rule.apply(first.state, pos(960, 3000), ctx);
      const moved = [...first.deliveries, ...second.deliveries, ...rule.flush(second.state, ctx).deliveries];
      expect(moved.at(-1)?.payload.warehouseLocation).toBe('2000/0001');
    });
  }

  it('leaves alone the assets in other zones, outside every zone, in a zone only being entered, or in one no longer configured', () => {
    const before = options([yard('1000/0001'), depot]);
    const after = createLocationSyncRule(options([yard('1000/0002'), depot]));
    const elsewhere = [
      storedAfter(before, [pos(0, 3000), pos(60, 3000)]), // in the depot
      storedAfter(before, [pos(0, 2000)]), // in no zone
      storedAfter(before, [pos(0, 2000), pos(60, 50)]), // arriving in the yard: its dwell, not the code, is what a watermark decides
    ];
    for (const s of elsewhere.slice(0, 2)) {
      expect(after.holds(s)).toBe(false);
      expect(after.flush(s, ctx, T0 + 3_600_000).deliveries).toEqual([]);
    }
    // The arrival is entered by the watermark under the new code (nothing was sent under the old one).
    expect(after.flush(elsewhere[2], ctx, T0 + 3_600_000).deliveries.map((d) => d.payload.warehouseLocation)).toEqual(['1000/0002']);
    // Renamed (no zone "yard" now, one of the same place under another name): held at the location sent last until it leaves.
    const renamed = createLocationSyncRule(options([{ ...yard('1000/0002'), name: 'yard-north' }, depot]));
    const inYard = storedAfter(before, [pos(0, 2000), pos(60, 50), pos(100, 55)]);
    expect(renamed.flush(inYard, ctx, T0 + 3_600_000).deliveries.map((d) => d.payload.warehouseLocation)).not.toContain('1000/0002');
  });

  it('after a zone sighting, sends the new code without coordinates, as the sighting was sent', () => {
    const before = options([yard('1000/0001'), depot]);
    const stored = storedAfter(before, [{ kind: 'position', source: 'reader', ids: [{ type: 'tag', value: 't1' }], eventTime: T0, receivedAt: T0, zone: 'yard' }]);
    const r = createLocationSyncRule(options([yard('1000/0002'), depot])).flush(stored, ctx, T0 + 3_600_000);
    expect(r.deliveries.map((d) => [d.payload.warehouseLocation, d.payload.coordinates, d.eventTime])).toEqual([['1000/0002', null, T0]]);
  });

  it('under the same config, sends nothing for the zone sent left while the one placing the asset now is being left too: no recode, the dwell decides', () => {
    // Parked in a bay (ranked first) in the yard, then out of the bay (08:01:40) and beyond the yard's band (08:02:10):
    // the bay's exit settles at 08:02:40 while the yard's still runs. The yard places the asset, held against its fix.
    const bay: Zone = { name: 'bay', locationCode: '1000/0009', priority: 1, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 50 } };
    for (const allowedLatenessMs of [0, 30_000]) {
      const o = options([yard('1000/0001'), bay, depot], allowedLatenessMs);
      const rule = createLocationSyncRule(o);
      const events = [pos(0, 5), pos(60, 5), pos(100, 100), pos(130, 300), pos(160, 300)];
      let state: LocationSyncState | undefined;
      const sent: (string | null)[] = [];
      for (const e of events) {
        const r = rule.apply(state, e, ctx);
        state = r.state;
        sent.push(...r.deliveries.map((d) => d.payload.warehouseLocation as string | null));
      }
      const settled = rule.flush(state, ctx, T0 + 165_000 + allowedLatenessMs);
      sent.push(...settled.deliveries.map((d) => d.payload.warehouseLocation as string | null));
      expect(settled.state.synced, `lateness ${allowedLatenessMs}`).toMatchObject({ zoneName: 'bay' });
      expect(settled.state.zones?.bay, `lateness ${allowedLatenessMs}`).toBeUndefined();
      // Its idle watermark before the yard's exit sends no code: the yard was never sent, nor is where the bay's fix was only the yard's.
      const idle = rule.flush(settled.state, ctx, T0 + 170_000 + allowedLatenessMs);
      expect(idle.deliveries, `lateness ${allowedLatenessMs}`).toEqual([]);
      // The one that ends the yard's exit sends it: in no zone, where it is (after the first fix, sent at once, and the bay's entry).
      const left = rule.flush(idle.state, ctx, T0 + 200_000 + allowedLatenessMs);
      expect([...sent, ...left.deliveries.map((d) => d.payload.warehouseLocation)], `lateness ${allowedLatenessMs}`).toEqual([null, '1000/0009', null]);
      // The owned form decides the same, through a checkpoint and restart in between.
      const steps = [
        ...events.map((event) => ({ event, asset })),
        { flush: T0 + 165_000 + allowedLatenessMs, asset },
        { roundTrip: asset },
        { flush: T0 + 170_000 + allowedLatenessMs, asset },
        { flush: T0 + 200_000 + allowedLatenessMs, asset },
      ];
      expect(compareOwned(rule, ownedLocationSync(rule, o), steps).deliveries).toBe(3);
    }
  });

  describe('the position sent outside the zone that ranks first now (entered after that update)', () => {
    // Two overlapping zones of one size and priority (the first listed ranks first): the yard, and
    // one 250 m east of it. Sent the yard 10 m east of its centre (beyond the east zone's band), then
    // into the overlap, 90 m on (within minDistanceM: nothing sent), where the east zone is entered too.
    const east = (locationCode: string, priority = 0): Zone => ({ name: 'east', locationCode, priority, shape: { type: 'circle', lat: 52.5, lng: eastM(250), radiusM: 200 } });
    const walk = [pos(0, 10), pos(40, 10), pos(60, 100), pos(100, 100), pos(600, 100)];
    const sentFrom = (d: { payload: Record<string, unknown> }) => Math.round((((d.payload.coordinates as { lng: number }).lng - 13.4) * 111_320 * Math.cos((52.5 * Math.PI) / 180)) / 10) * 10;
    for (const allowedLatenessMs of [0, 30_000]) {
      it(`sends no zone the position sent is outside of: reordered, the next fix sends the east zone from where it is (lateness ${allowedLatenessMs} ms)`, () => {
        const stored = storedAfter(options([yard('1000/0001'), east('3000/0001')], allowedLatenessMs), walk);
        expect(stored.synced).toMatchObject({ zone: '1000/0001', zoneName: 'yard', eventTime: T0 + 40_000 });
        expect(stored.zones).toMatchObject({ yard: { phase: 'inside' }, east: { phase: 'inside' } });
        // Listed first now, the east zone ranks first: the watermark sends nothing (it would say the
        // asset was in the east zone at 08:00:40, 240 m from its centre, before it got there)...
        const o = options([east('3000/0001'), yard('1000/0001')], allowedLatenessMs);
        const rule = createLocationSyncRule(o);
        expect(rule.holds(stored)).toBe(false);
        expect(rule.flush(stored, ctx, T0 + 3_600_000).deliveries).toEqual([]);
        // ...its next fix sends the east zone, from the overlap.
        const next = rule.apply(stored, pos(3_700, 100), ctx);
        const sent = [...next.deliveries, ...rule.flush(next.state, ctx).deliveries];
        expect(sent.map((d) => [d.payload.warehouseLocation, sentFrom(d)])).toEqual([['3000/0001', 100]]);
        // The owned form decides the same (the columns take the stored state).
        const steps = [{ load: asset, state: stored }, { flush: T0 + 3_600_000, asset }, { event: pos(3_700, 100), asset }, { flush: undefined, asset }];
        expect(compareOwned(rule, ownedLocationSync(rule, o), steps).delivered.map((d) => d.payload.warehouseLocation)).toEqual(['3000/0001']);
      });
    }

    it('sends the code of the zone that holds the position sent, when it changed too', () => {
      // The east zone ranks first (its priority) and had the yard's code: entering it sent nothing.
      const stored = storedAfter(options([yard('1000/0001'), east('1000/0001', 1)]), walk);
      expect(stored.synced).toMatchObject({ zone: '1000/0001', zoneName: 'yard', eventTime: T0 + 40_000 });
      // Both codes changed: the update is sent again with the yard's new code (where it was then, in the yard), not the east zone's.
      const o = options([yard('1000/0002'), east('3000/0001', 1)]);
      const rule = createLocationSyncRule(o);
      expect(rule.holds(stored)).toBe(true);
      const r = rule.flush(stored, ctx, T0 + 3_600_000);
      expect(r.deliveries.map((d) => [d.payload.warehouseLocation, d.payload.zone, sentFrom(d), d.eventTime])).toEqual([['1000/0002', 'yard', 10, T0 + 40_000]]);
      // Once: stored after it, nothing asked for; the next fix sends the east zone.
      const after = JSON.parse(JSON.stringify(r.state)) as LocationSyncState;
      expect(rule.holds(after)).toBe(false);
      expect(rule.apply(after, pos(3_700, 100), ctx).deliveries.map((d) => [d.payload.warehouseLocation, sentFrom(d)])).toEqual([['3000/0001', 100]]);
      // Only the east zone's code changed: the code sent is the yard's still, nothing to send.
      expect(createLocationSyncRule(options([yard('1000/0001'), east('3000/0001', 1)])).holds(stored)).toBe(false);
      // The yard moved since (the position sent beyond it and its band) with its new code: no zone holds that position, nothing is sent (the next fix decides).
      const moved = createLocationSyncRule(options([{ ...yard('1000/0002'), shape: { type: 'circle', lat: 52.5, lng: 13.41, radiusM: 100 } }, east('3000/0001', 1)]));
      expect(moved.holds(stored)).toBe(false);
      expect(moved.flush(stored, ctx, T0 + 3_600_000).deliveries).toEqual([]);
      const steps = [{ load: asset, state: stored }, { flush: T0 + 3_600_000, asset }, { roundTrip: asset }, { flush: T0 + 7_200_000, asset }, { event: pos(7_300, 100), asset }, { flush: undefined, asset }];
      expect(compareOwned(rule, ownedLocationSync(rule, o), steps).delivered.map((d) => d.payload.warehouseLocation)).toEqual(['1000/0002', '3000/0001']);
    });
  });

  describe('zones ranked otherwise since the state was stored', () => {
    // A 50 m bay in the middle of the yard; parked there, the asset has entered both.
    const bay = (locationCode = '1000/0009'): Zone => ({ name: 'bay', locationCode, priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 50 } });
    const parked = [pos(0, 2000), pos(60, 5), pos(100, 6), pos(600, 5), pos(700, 5)];
    for (const allowedLatenessMs of [0, 30_000]) {
      it(`sends the code of the zone that ranks first now, at the watermark, once, never an exit (lateness ${allowedLatenessMs} ms)`, () => {
        // Stored with the yard first (its priority), then restarted with the bay first (the smaller, at equal priority).
        const stored = storedAfter(options([{ ...yard('1000/0001'), priority: 1 }, bay(), depot], allowedLatenessMs), [...parked]);
        expect(stored.synced).toMatchObject({ zone: '1000/0001', zoneName: 'yard', eventTime: T0 + 100_000 });
        const rule = createLocationSyncRule(options([yard('1000/0001'), bay(), depot], allowedLatenessMs));
        expect(rule.holds(stored)).toBe(true);
        const r = rule.flush(stored, ctx, T0 + 3_600_000);
        expect(r.deliveries.map((d) => [d.payload.warehouseLocation, d.payload.zone, d.eventTime, d.payload.lastSeen])).toEqual([['1000/0009', 'bay', T0 + 100_000, '2026-10-01T08:01:40.000Z']]);
        // The same on a replay; then decided: a second restart asks for nothing, and the next fix there sends nothing.
        expect(rule.flush(JSON.parse(JSON.stringify(stored)) as LocationSyncState, ctx, T0 + 3_600_000 + 5_000).deliveries.map(idempotencyKeyFor)).toEqual(r.deliveries.map(idempotencyKeyFor));
        const next = JSON.parse(JSON.stringify(r.state)) as LocationSyncState;
        expect(rule.holds(next)).toBe(false);
        expect(rule.flush(next, ctx, T0 + 7_200_000).deliveries).toEqual([]);
        expect(next.last).toMatchObject({ zone: '1000/0009', zoneName: 'bay', eventTime: T0 + 700_000 });
        const again = rule.apply(next, pos(800, 5), ctx);
        expect([...again.deliveries, ...rule.flush(again.state, ctx, T0 + 800_000 + allowedLatenessMs + 1).deliveries]).toEqual([]);
      });
    }

    it('sends nothing when the zone ranked first now has the code sent, and waits for the fixes for a zone added since', () => {
      // The bay has the yard's code: location sync would send the same code.
      const sameCode = storedAfter(options([{ ...yard('1000/0001'), priority: 1 }, bay('1000/0001'), depot]), [...parked]);
      const ranked = createLocationSyncRule(options([yard('1000/0001'), bay('1000/0001'), depot]));
      expect(ranked.holds(sameCode)).toBe(false);
      expect(ranked.flush(sameCode, ctx, T0 + 3_600_000).deliveries).toEqual([]);
      // The bay added since: the asset has not entered it (a watermark enters no zone), so the yard still places it...
      const before = storedAfter(options([yard('1000/0001'), depot]), [...parked]);
      const added = createLocationSyncRule(options([yard('1000/0001'), bay(), depot]));
      expect(added.holds(before)).toBe(false);
      expect(added.flush(before, ctx, T0 + 3_600_000).deliveries).toEqual([]);
      // ...until its next fixes there enter it, after the enter dwell.
      const a = added.apply(before, pos(800, 5), ctx);
      const b = added.apply(a.state, pos(840, 5), ctx);
      expect([...a.deliveries, ...b.deliveries].map((d) => d.payload.warehouseLocation)).toEqual(['1000/0009']);
    });

    it('never sends an exit: a state placing the asset in no zone it has entered is left as it is', () => {
      const stored = storedAfter(options([yard('1000/0001'), depot]), [...parked]);
      const none: LocationSyncState = { ...stored, zones: {} };
      const rule = createLocationSyncRule(options([yard('1000/0002'), depot]));
      expect(rule.holds(none)).toBe(false);
      expect(rule.flush(none, ctx, T0 + 3_600_000).deliveries).toEqual([]);
    });
  });
});
