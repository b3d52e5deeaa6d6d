/**
 * Location sync of zone sightings: a fixed RFID/BLE reader says which configured zone a tag is in,
 * with no coordinates. The reader is authoritative (no dwell, no hysteresis), event time still rules.
 */
import { describe, expect, it } from 'vitest';
import { foldLocationSync } from '../../../test/helpers/fold-location-sync.js';
import type { AssetRecord } from '../model/assets.js';
import type { DeliveryIntent } from '../model/delivery.js';
import type { PositionEvent } from '../model/events.js';
import { createLocationSyncRule, type LocationSyncState } from './location-sync.js';
import { ZoneIndex, type Zone } from './zones/index.js';

const asset: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} };
const ctx = { asset, destination: 'erp', now: 0 };
const T0 = Date.UTC(2026, 9, 1, 8);
/** Longitude `m` metres east of 13.4 at latitude 52.5. */
const eastM = (m: number) => 13.4 + m / (111_320 * Math.cos((52.5 * Math.PI) / 180));

const yard: Zone = { name: 'yard', locationCode: '1000/0001', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } };
const dock: Zone = { name: 'dock', locationCode: '1000/0009', priority: 0, shape: { type: 'circle', lat: 52.5, lng: eastM(3000), radiusM: 50 } };
const zones = { index: new ZoneIndex([yard, dock], { hysteresisM: 25 }), dwell: { enterDwellMs: 60_000, exitDwellMs: 60_000 }, maxAccuracyM: 100 };

const base = { kind: 'position', source: 'test', ids: [{ type: 'tag', value: 't1' }] } as const;
const fix = (sec: number, lat: number, lng: number): PositionEvent => ({ ...base, eventTime: T0 + sec * 1000, receivedAt: T0 + sec * 1000, lat, lng });
const sighting = (sec: number, zone: string): PositionEvent => ({ ...base, eventTime: T0 + sec * 1000, receivedAt: T0 + sec * 1000, zone });

function run(events: readonly PositionEvent[], lateness = 0, start?: LocationSyncState) {
  const { out, late, state, rule } = foldLocationSync({ minDistanceM: 100, heartbeatMs: 3_600_000, zones, allowedLatenessMs: lateness }, events, ctx, start);
  return { out, late: late.map((e) => e.eventTime - T0), state, rule };
}

const where = (ds: readonly DeliveryIntent[]) => ds.map((d) => [(d.eventTime - T0) / 1000, d.payload.warehouseLocation, d.payload.coordinates]);

describe('location sync: zone sightings from fixed readers', () => {
  it('puts the asset in the reader\'s zone at once: its location code, the zone, and coordinates null', () => {
    const { out, state } = run([sighting(0, 'dock')]);
    expect(out).toEqual([
      {
        destination: 'erp',
        operation: 'location.update',
        kind: 'state',
        businessKey: 'EQ-1',
        erpAssetId: 'EQ-1',
        eventTime: T0,
        payload: { erpAssetId: 'EQ-1', erpModule: 'maintenance', warehouseLocation: '1000/0009', coordinates: null, lastSeen: new Date(T0).toISOString(), zone: 'dock' },
      },
    ]);
    expect(state?.zones).toEqual({ dock: { phase: 'inside', since: T0 } });
  });

  it('moves an asset a GPS fix placed elsewhere without waiting for a dwell, and leaves the zone it was in', () => {
    // In the yard by GPS (entered after its minute), then read at the dock gate a second later.
    const { out, state } = run([fix(0, 52.5, 13.4), fix(70, 52.5, 13.4), sighting(71, 'dock')]);
    expect(where(out)).toEqual([
      [0, null, { lat: 52.5, lng: 13.4 }],
      [70, '1000/0001', { lat: 52.5, lng: 13.4 }],
      [71, '1000/0009', null],
    ]);
    expect(state?.zones).toEqual({ dock: { phase: 'inside', since: T0 + 71_000 } });
  });

  it('sends nothing for the same zone read again, until the heartbeat; the same sighting again is a duplicate, not late', () => {
    const { out, late } = run([sighting(0, 'dock'), sighting(60, 'dock'), sighting(60, 'dock'), sighting(3600, 'dock')]);
    expect(where(out)).toEqual([
      [0, '1000/0009', null],
      [3600, '1000/0009', null],
    ]);
    expect(late).toEqual([]);
  });

  it('never moves the asset back for a sighting older than the newest one processed (flagged late)', () => {
    const { out, late } = run([sighting(100, 'dock'), sighting(50, 'yard'), fix(60, 52.5, 13.4)]);
    expect(where(out)).toEqual([[100, '1000/0009', null]]);
    expect(late).toEqual([50_000, 60_000]);
  });

  it('puts sightings in event-time order within the allowed lateness: the newest one wins whatever the arrival order', () => {
    const inOrder = run([sighting(0, 'yard'), sighting(20, 'dock')], 30_000);
    const reversed = run([sighting(20, 'dock'), sighting(0, 'yard')], 30_000);
    expect(where(reversed.out)).toEqual(where(inOrder.out));
    expect(where(reversed.out)).toEqual([
      [0, '1000/0001', null],
      [20, '1000/0009', null],
    ]);
    // Older than a sighting already decided on (100 s, released by the one at 200 s): late, and changes nothing.
    const tooLate = run([sighting(100, 'dock'), sighting(200, 'dock'), sighting(20, 'yard')], 30_000);
    expect(tooLate.late).toEqual([20_000]);
    expect(where(tooLate.out)).toEqual([[100, '1000/0009', null]]);
  });

  it('a GPS fix after a sighting sends its coordinates (in the same zone) and leaves the zone by the usual dwell', () => {
    const inDock = fix(0, 52.5, eastM(3000));
    const { out } = run([sighting(0, 'dock'), { ...inDock, eventTime: T0 + 10_000 }, fix(20, 52.5, eastM(2000)), fix(50, 52.5, eastM(2000)), fix(90, 52.5, eastM(2000))]);
    expect(where(out).map(([t, code, coords]) => [t, code, coords === null ? null : 'fix'])).toEqual([
      [0, '1000/0009', null],
      [10, '1000/0009', 'fix'], // the position is known again
      // 20 s, 50 s: moved 1 km, still in the dock until the exit dwell is over: nothing sent (its
      // coordinates would contradict the dock's code).
      [90, null, 'fix'], // a minute beyond the band: left
    ]);
  });

  it('leaves nothing for an idle watermark to settle after a sighting', () => {
    const { state, rule } = run([fix(0, 52.5, 13.4), sighting(10, 'dock')]);
    expect(rule.holds(state)).toBe(false);
    expect(rule.flush(state, ctx, T0 + 3_600_000).deliveries).toEqual([]);
  });

  it('decides the same on its state read back from JSON (as stored at a checkpoint)', () => {
    const events = [sighting(0, 'dock'), fix(10, 52.5, 13.4), sighting(20, 'dock'), sighting(20, 'dock'), sighting(3700, 'yard')];
    const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 3_600_000, zones, allowedLatenessMs: 0 });
    let direct: LocationSyncState | undefined;
    let stored: LocationSyncState | undefined;
    for (const e of events) {
      const a = rule.apply(direct, e, ctx);
      const b = rule.apply(stored, e, ctx);
      expect(b.deliveries).toEqual(a.deliveries);
      expect(b.late).toEqual(a.late);
      direct = a.state;
      stored = JSON.parse(JSON.stringify(b.state)) as LocationSyncState;
    }
  });
});
