import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../model/assets.js';
import type { DeliveryIntent } from '../model/delivery.js';
import type { PositionEvent } from '../model/events.js';
import { createLocationSyncRule, type LocationSyncState } from './location-sync.js';
import { ZoneIndex, type Zone } from './zones/index.js';

const asset: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} };
const ctx = { asset, destination: 'erp', now: 0 };
const T0 = Date.UTC(2026, 9, 1, 8);
const eastM = (m: number) => 13.4 + m / (111_320 * Math.cos((52.5 * Math.PI) / 180));
function pos(sec: number, m: number, extra: Partial<PositionEvent> = {}): PositionEvent {
  return { kind: 'position', source: 'test', ids: [{ type: 'tag', value: 't1' }], eventTime: T0 + sec * 1000, receivedAt: T0 + sec * 1000, lat: 52.5, lng: eastM(m), ...extra };
}

const yard: Zone = { name: 'yard', locationCode: '1000/0001', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } };
const zones = { index: new ZoneIndex([yard], { hysteresisM: 25 }), dwell: { enterDwellMs: 300_000, exitDwellMs: 300_000 }, maxAccuracyM: 100 };

/**
 * What a lagging destination ends up with: the outbox keeps one pending state update per key and
 * replaces it only with a strictly newer event time (sqlite-ingest.ts, invariant 8).
 */
function outboxAfter(deliveries: readonly DeliveryIntent[]): DeliveryIntent | undefined {
  let pending: DeliveryIntent | undefined;
  for (const d of deliveries) if (pending === undefined || d.eventTime > pending.eventTime) pending = d;
  return pending;
}

describe('location sync: zone changes decided by an idle watermark', () => {
  it('the end of a dry run (a watermark at the end of time) dates the change to its dwell end, a real time', () => {
    const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 86_400_000, zones });
    const state = rule.apply(undefined, pos(600, 50), ctx).state;
    const r = rule.flush(state, ctx, Number.MAX_SAFE_INTEGER);
    expect(r.deliveries.map((d) => [new Date(d.eventTime).toISOString(), d.payload.warehouseLocation])).toEqual([['2026-10-01T08:15:00.000Z', '1000/0001']]);
  });

  for (const allowedLatenessMs of [0, 30_000]) {
    it(`reach a lagging ERP: they are newer than the update the parked fix made (lateness ${allowedLatenessMs} ms)`, () => {
      const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 86_400_000, zones, allowedLatenessMs });
      let state: LocationSyncState | undefined;
      const all: DeliveryIntent[] = [];
      const take = (r: { state: LocationSyncState; deliveries: readonly DeliveryIntent[] }) => {
        state = r.state;
        all.push(...r.deliveries);
      };
      take(rule.apply(state, pos(0, 2000), ctx));
      take(rule.apply(state, pos(600, 50), ctx)); // drives into the yard at 08:10 and parks
      // Idle: the fix is final, the entry not yet. Inside the yard while placed in none, it sends
      // nothing (its coordinates would contradict the location sent: see heldAgainstFix).
      take(rule.flush(state, ctx, T0 + 660_000));
      expect(all.map((d) => d.payload.warehouseLocation)).toEqual([null]);
      take(rule.flush(state, ctx, T0 + 1_260_000)); // the entry's dwell is over
      expect(all.map((d) => d.payload.warehouseLocation)).toEqual([null, '1000/0001']);
      // The entry still says when the asset was last seen...
      expect(all[1]?.payload.lastSeen).toBe('2026-10-01T08:10:00.000Z');
      // ...and is what the ERP gets when the earlier update was still waiting for it.
      expect(outboxAfter(all)?.payload.warehouseLocation).toBe('1000/0001');
      // Dated to when its 5-minute dwell was over (08:15), not to the sighting nor to the watermark.
      expect(all[1]?.eventTime).toBe(T0 + 900_000);

      // Leaving and parking beyond the band: the exit is not lost either.
      take(rule.apply(state, pos(3000, 1000), ctx));
      take(rule.apply(state, pos(3040, 1000), ctx));
      take(rule.flush(state, ctx, T0 + 3_700_000));
      expect(all.at(-1)?.payload.warehouseLocation).toBeNull();
      expect(outboxAfter(all)?.payload.warehouseLocation).toBeNull();
    });
  }

  it('a fix older than the watermark that decided a zone change is late: the rule never thinks it sent what the outbox keeps out', () => {
    const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 86_400_000, zones, allowedLatenessMs: 30_000 });
    let state: LocationSyncState | undefined;
    const all: DeliveryIntent[] = [];
    for (const e of [pos(0, 2000), pos(600, 50)]) state = rule.apply(state, e, ctx).state;
    const decided = rule.flush(state, ctx, T0 + 1_260_000); // the entry counts as of 08:20:30
    state = decided.state;
    all.push(...decided.deliveries);
    expect(all.map((d) => d.payload.warehouseLocation)).toEqual(['1000/0001']);
    // A gateway's backlog, minutes late: older than the decision, it may not rewrite it.
    for (const e of [pos(650, 2000), pos(760, 2000)]) {
      const r = rule.apply(state, e, ctx);
      expect(r.late).toBe(true);
      expect(r.state).toBe(state);
    }
    // Newer fixes decide as usual: it left.
    for (const e of [pos(1300, 2000), pos(1700, 2000), pos(1740, 2000)]) {
      const r = rule.apply(state, e, ctx);
      state = r.state;
      all.push(...r.deliveries);
    }
    all.push(...rule.flush(state, ctx).deliveries);
    expect(outboxAfter(all)?.payload.warehouseLocation).toBeNull();
    expect(state?.synced?.zone).toBeUndefined();
  });

  /** Deliveries as the ERP sees them: when, where, and the position and sighting they carry. */
  const sent = (ds: readonly DeliveryIntent[]) => ds.map((d) => [d.eventTime - T0, d.payload.warehouseLocation, d.payload.coordinates, d.payload.lastSeen]);

  for (const allowedLatenessMs of [0, 30_000]) {
    it(`an inaccurate fix during an entry's dwell changes nothing: the watermark completes it as if the fix had not come (lateness ${allowedLatenessMs} ms)`, () => {
      const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 86_400_000, zones, allowedLatenessMs });
      const run = (events: PositionEvent[], watermarks: number[]) => {
        let state: LocationSyncState | undefined;
        const all: DeliveryIntent[] = [];
        for (const e of events) {
          const r = rule.apply(state, e, ctx);
          state = r.state;
          all.push(...r.deliveries);
        }
        const held = rule.holds(state);
        for (const w of watermarks) {
          const r = rule.flush(state, ctx, w);
          state = r.state;
          all.push(...r.deliveries);
        }
        return { all, held, state };
      };
      // Into the yard at 08:10 with accurate fixes; a cell-tower fix 2 km off at 08:11, then silence.
      const entering = [pos(0, 2000), pos(600, 50)];
      const marks = [T0 + 720_000, T0 + 1_260_000];
      for (const inaccurate of [pos(660, 2000, { accuracyM: 500 }), pos(660, 60, { accuracyM: 500, zone: 'gate-7' })]) {
        const withIt = run([...entering, inaccurate], marks);
        const without = run(entering, marks);
        // The asset is named idle (its dwell waits for a watermark)...
        expect(withIt.held).toBe(true);
        // ...and the entry reaches the ERP with the last accurate fix's position and time, dated to the dwell's end.
        expect(sent(withIt.all)).toEqual(sent(without.all));
        expect(withIt.all.at(-1)?.payload).toMatchObject({ warehouseLocation: '1000/0001', lastSeen: '2026-10-01T08:10:00.000Z' });
        expect(withIt.all.at(-1)?.eventTime).toBe(T0 + 900_000);
        expect(withIt.state?.synced).toEqual(without.state?.synced);
        expect(withIt.state?.zones).toEqual(without.state?.zones);
        // Settled: nothing is held any more, and the inaccurate fix is still the newest seen (sent again, a duplicate).
        expect(rule.holds(withIt.state)).toBe(false);
        expect(withIt.state?.last).toMatchObject({ eventTime: T0 + 660_000, inaccurate: true, zone: '1000/0001' });
        const again = rule.apply(withIt.state, inaccurate, ctx);
        expect(again.state).toBe(withIt.state);
        expect(again.deliveries).toEqual([]);
        // A later accurate fix moves on from the position sent, as without the inaccurate one.
        const next = pos(1500, 50);
        expect(sent(rule.apply(withIt.state, next, ctx).deliveries)).toEqual(sent(rule.apply(without.state, next, ctx).deliveries));
      }
    });
  }

  it('an inaccurate last fix stored without where the asset was placed settles nothing, and asks for no watermark', () => {
    const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 86_400_000, zones });
    const placed = { lat: 52.5, lng: eastM(50), eventTime: T0 + 600_000 };
    // As an older version stored it: the inaccurate fix with only the time of the one before it.
    const stored: LocationSyncState = { last: { lat: 52.5, lng: eastM(60), eventTime: T0 + 620_000, inaccurate: true, locatedAt: placed.eventTime }, synced: placed, zones: { yard: { phase: 'entering', since: placed.eventTime } } };
    expect(rule.flush(stored, ctx, T0 + 3_600_000).state).toBe(stored);
    // ...so the asset must not be named idle again and again for ever.
    expect(rule.holds(stored)).toBe(false);
    // An accurate fix settles it as usual.
    const state = rule.apply(stored, pos(900, 50), ctx).state;
    expect(rule.holds(state)).toBe(false);
    expect(state.synced?.zone).toBe('1000/0001');
  });

  it('inaccurate fixes among accurate ones change nothing an idle watermark decides (property)', () => {
    const step = fc.record({
      dt: fc.integer({ min: 5, max: 400 }),
      metres: fc.constantFrom(0, 150, 190, 215, 240, 2000),
      inaccurate: fc.option(fc.record({ after: fc.integer({ min: 1, max: 4 }), metres: fc.constantFrom(0, 190, 240, 2000, 5000), zone: fc.option(fc.constantFrom('gate-7', 'yard'), { nil: undefined }) }), { nil: undefined }),
      watermark: fc.option(fc.integer({ min: 1, max: 900 }), { nil: undefined }),
    });
    const dwell = { enterDwellMs: 30_000, exitDwellMs: 60_000 };
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), fc.constantFrom(0, 30_000), (steps, allowedLatenessMs) => {
        const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 600_000, zones: { ...zones, dwell }, allowedLatenessMs });
        type Step = { e: PositionEvent } | { upTo: number };
        const arrived: Step[] = [];
        const reference: Step[] = [];
        let t = 0;
        for (const s of steps) {
          t += s.dt;
          const accurate = { e: pos(t, s.metres, { accuracyM: 5 }) };
          arrived.push(accurate);
          reference.push(accurate);
          if (s.inaccurate !== undefined) {
            t += s.inaccurate.after;
            arrived.push({ e: pos(t, s.inaccurate.metres, { accuracyM: 500, ...(s.inaccurate.zone !== undefined ? { zone: s.inaccurate.zone } : {}) }) });
          }
          if (s.watermark !== undefined) {
            // Silent for a while (in event time, the lateness passed too), then reporting again after it.
            t += s.watermark;
            const w = { upTo: T0 + t * 1000 + allowedLatenessMs + 500 };
            arrived.push(w);
            reference.push(w);
            t += 1;
          }
        }
        const end = { upTo: T0 + (t + 3600) * 1000 };
        arrived.push(end);
        reference.push(end);
        const run = (input: readonly Step[]) => {
          let state: LocationSyncState | undefined;
          const all: DeliveryIntent[] = [];
          for (const x of input) {
            const r = 'e' in x ? rule.apply(state, x.e, ctx) : rule.flush(state, ctx, x.upTo);
            expect(r.late).toBeFalsy();
            state = r.state;
            all.push(...r.deliveries);
          }
          return { erp: outboxAfter(all)?.payload, synced: state?.synced, zones: state?.zones, held: rule.holds(state), ...(allowedLatenessMs === 0 ? { all: sent(all) } : {}) };
        };
        expect(run(arrived)).toEqual(run(reference));
      }),
      { numRuns: 300 },
    );
  });
});

describe('location sync: fixes with equal event times', () => {
  it('give the same result in either arrival order when only their accuracy differs', () => {
    const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 86_400_000, zones: { ...zones, dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 } }, allowedLatenessMs: 60_000 });
    const run = (events: PositionEvent[]) => {
      let state: LocationSyncState | undefined;
      const out: DeliveryIntent[] = [];
      for (const e of events) {
        const r = rule.apply(state, e, ctx);
        state = r.state;
        out.push(...r.deliveries);
      }
      out.push(...rule.flush(state, ctx).deliveries);
      return out.map((d) => [d.eventTime - T0, d.payload.warehouseLocation]);
    };
    // The same fix from the tracker (accurate) and relayed by a second source (reporting it inaccurate).
    const accurate = pos(10, 50, { accuracyM: 5 });
    const inaccurate = pos(10, 50, { accuracyM: 500 });
    const later = [50, 90, 130].map((s) => pos(s, 50, { accuracyM: 5 }));
    expect(run([pos(0, 2000), inaccurate, accurate, ...later])).toEqual(run([pos(0, 2000), accurate, inaccurate, ...later]));
  });
});
