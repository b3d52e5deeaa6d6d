/**
 * Two sources reporting an asset at the same event time, one of them too inaccurate to count
 * (`zones.maxAccuracyM`): which one arrived first must not decide what the ERP gets, with any
 * `allowedLateness`, 0 included. The accurate fix counts, as if the inaccurate one had not come.
 */
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
const pos = (t: number, m: number, accuracyM: number): PositionEvent => ({ kind: 'position', source: 'test', ids: [{ type: 'tag', value: 't1' }], eventTime: t, receivedAt: t, lat: 52.5, lng: eastM(m), accuracyM });

const yard: Zone = { name: 'yard', locationCode: '1000/0001', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } };
const zones = { index: new ZoneIndex([yard], { hysteresisM: 25 }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 50 };
const ACCURATE = 5;
const INACCURATE = 500;

/** What the ERP ends up with: the outbox replaces a pending state update with one not older (sqlite-ingest.ts). */
function erpAfter(deliveries: readonly DeliveryIntent[]): unknown {
  let pending: DeliveryIntent | undefined;
  for (const d of deliveries) if (pending === undefined || d.eventTime >= pending.eventTime) pending = d;
  return pending?.payload;
}

function run(events: readonly PositionEvent[], allowedLatenessMs: number) {
  const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 600_000, zones, allowedLatenessMs });
  let state: LocationSyncState | undefined;
  const out: DeliveryIntent[] = [];
  for (const e of events) {
    const r = rule.apply(state, e, ctx);
    state = r.state;
    out.push(...r.deliveries);
  }
  const end = rule.flush(state, ctx);
  out.push(...end.deliveries);
  // Everything but the reorder buffer's bookkeeping.
  const { last, synced, zones: membership } = end.state;
  return { erp: erpAfter(out), last, synced, zones: membership };
}

describe('location sync: an accurate and an inaccurate fix of the same time', () => {
  /** Per step: seconds after the previous one, where the accurate fix is, and an inaccurate twin (where, and whether it arrives first). */
  const step = fc.record({
    dt: fc.integer({ min: 5, max: 90 }),
    metres: fc.constantFrom(0, 150, 190, 215, 240, 2000),
    twin: fc.option(fc.record({ metres: fc.constantFrom(0, 190, 240, 2000, 5000), first: fc.boolean() }), { nil: undefined }),
    alone: fc.boolean(), // an inaccurate fix without a twin (changes nothing but is not dropped either)
  });

  it('the accurate one counts, whichever arrives first, with and without a reorder window (property)', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 15 }), fc.constantFrom(0, 30_000), (steps, allowedLatenessMs) => {
        let t = T0;
        const arrived: PositionEvent[] = [];
        const reference: PositionEvent[] = [];
        for (const s of steps) {
          t += s.dt * 1000;
          const accurate = pos(t, s.metres, ACCURATE);
          if (s.alone && s.twin === undefined) {
            const lone = pos(t, s.metres, INACCURATE);
            arrived.push(lone);
            reference.push(lone);
            continue;
          }
          reference.push(accurate);
          if (s.twin === undefined) arrived.push(accurate);
          else {
            const twin = pos(t, s.twin.metres, INACCURATE);
            arrived.push(...(s.twin.first ? [twin, accurate] : [accurate, twin]));
          }
        }
        expect(run(arrived, allowedLatenessMs)).toEqual(run(reference, 0));
      }),
      { numRuns: 400 },
    );
  });

  // Kills: replacesInaccurate only without a release mark (the inaccurate fix released by a newer one, then its accurate twin).
  it('with a reorder window, an accurate fix arriving after its inaccurate twin was released still counts, even beyond the window', () => {
    const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 600_000, zones, allowedLatenessMs: 30_000 });
    let state: LocationSyncState | undefined;
    for (const e of [pos(T0, 2000, ACCURATE), pos(T0 + 60_000, 0, INACCURATE), pos(T0 + 100_000, 0, ACCURATE)]) state = rule.apply(state, e, ctx).state;
    expect(state?.last).toMatchObject({ eventTime: T0 + 60_000, inaccurate: true }); // released by the newer fix
    const twin = rule.apply(state, pos(T0 + 60_000, 0, ACCURATE), ctx);
    expect(twin.late).toBeUndefined();
    expect(twin.state.last?.eventTime).toBe(T0 + 60_000);
    expect(twin.state.last?.inaccurate).toBeUndefined();
  });

  // Kills: replacesInaccurate taking a later accurate fix too (it would skip the reorder window).
  it('a later accurate fix after an inaccurate one is held in the reorder window like any other, from a state written before reordering', () => {
    const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 600_000, zones, allowedLatenessMs: 30_000 });
    const inaccurate = { lat: 52.5, lng: eastM(2000), eventTime: T0, inaccurate: true as const };
    const legacy: LocationSyncState = { last: inaccurate, synced: inaccurate };
    const r = rule.apply(legacy, pos(T0 + 10_000, 0, ACCURATE), ctx);
    expect(r.deliveries).toEqual([]);
    expect(r.state.last).toBe(inaccurate);
    expect(r.state.order?.pending).toHaveLength(1);
  });

  it('with allowedLateness 0, an accurate fix arriving after an inaccurate one of its time still moves the zone', () => {
    // Parked in the yard long enough to enter; the inaccurate twin (2 km off) is first, then the accurate one.
    const events = [pos(T0, 2000, ACCURATE), pos(T0 + 60_000, 0, INACCURATE), pos(T0 + 60_000, 0, ACCURATE), pos(T0 + 100_000, 0, ACCURATE)];
    const r = run(events, 0);
    expect(r.zones).toEqual({ yard: { phase: 'inside', since: T0 + 60_000 } });
    expect(r.synced?.zone).toBe('1000/0001');
  });
});
