/**
 * `location.appliesTo` on the watermark path: an asset the filter leaves out gets no location
 * update from an idle watermark either (the config changed since its state was stored), neither a
 * zone dwell completed nor a zone's changed location code sent again; its rule holds nothing, so
 * the engine does not name it idle. The pure rule and its owned form alike.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../model/assets.js';
import type { DeliveryIntent } from '../model/delivery.js';
import type { PositionEvent } from '../model/events.js';
import { createLocationSyncRule, type LocationSyncOptions, type LocationSyncState } from './location-sync.js';
import type { OwnedRule } from './owned.js';
import { IdleWatermarks, simulateRules } from './simulate.js';
import { ZoneIndex, type Zone } from './zones/index.js';

const pallet: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: { class: 'pallet' } };
const truck: AssetRecord = { erpAssetId: 'EQ-2', erpModule: 'maintenance', attributes: { class: 'truck' } };
const ctxOf = (asset: AssetRecord) => ({ asset, destination: 'erp', now: 0 });
const T0 = Date.UTC(2026, 9, 1, 8);
const eastM = (m: number) => 13.4 + m / (111_320 * Math.cos((52.5 * Math.PI) / 180));
const pos = (sec: number, m: number): PositionEvent => ({ kind: 'position', source: 'test', ids: [{ type: 'tag', value: 't1' }], eventTime: T0 + sec * 1000, receivedAt: T0 + sec * 1000, lat: 52.5, lng: eastM(m) });

const yard = (locationCode: string): Zone => ({ name: 'yard', locationCode, priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } });
const options = (code: string, allowedLatenessMs: number, appliesTo?: LocationSyncOptions['appliesTo']): LocationSyncOptions => ({
  minDistanceM: 100,
  heartbeatMs: 86_400_000,
  allowedLatenessMs,
  zones: { index: new ZoneIndex([yard(code)], { hysteresisM: 25 }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 100 },
  ...(appliesTo ? { appliesTo } : {}),
});
/** After the change: trucks only (the pallets are counted by inventory). */
const TRUCKS = { attributes: { class: ['truck'] } };

/** The state `events` leave for `asset` under `before` (every asset synced), as stored (JSON). */
function storedAfter(before: LocationSyncOptions, asset: AssetRecord, events: readonly PositionEvent[]): LocationSyncState {
  const rule = createLocationSyncRule(before);
  let state: LocationSyncState | undefined;
  for (const e of events) state = rule.apply(state, e, ctxOf(asset)).state;
  return JSON.parse(JSON.stringify(state)) as LocationSyncState;
}

/** What each form makes of `stored` for `asset` at a watermark at `upTo` (undefined: the end of a dry run): holds (with the record) before it, the codes sent, whether the state changed and the state after it (as stored). */
function watermark(after: LocationSyncOptions, asset: AssetRecord, stored: LocationSyncState, upTo: number | undefined) {
  const rule = createLocationSyncRule(after);
  const pure = rule.flush(stored, ctxOf(asset), upTo);
  const owned = rule.owned?.() as OwnedRule;
  owned.load(0, JSON.parse(JSON.stringify(stored)));
  const holds = owned.holds(0, asset);
  const out: DeliveryIntent[] = [];
  const flags = owned.flush(0, ctxOf(asset), upTo, out);
  const asStored = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;
  return {
    pure: { holds: rule.holds(stored, asset), sent: pure.deliveries.map((d) => d.payload.warehouseLocation), changed: pure.state !== stored, state: asStored(pure.state) },
    owned: { holds, sent: out.map((d) => d.payload.warehouseLocation), changed: flags !== 0, state: asStored(owned.save(0)) },
  };
}

describe('location sync: an asset location.appliesTo leaves out, at an idle watermark', () => {
  for (const allowedLatenessMs of [0, 30_000]) {
    it(`completes no zone dwell that was pending when the config changed to leave it out (lateness ${allowedLatenessMs} ms)`, () => {
      // Both sent "no zone" 2 km off, then a fix in the yard at 08:01: the entry's 30 s dwell is pending (and, with lateness, the fix itself held).
      const fixes = [pos(0, 2000), pos(60, 50)];
      const before = options('1000/0001', allowedLatenessMs);
      const after = options('1000/0001', allowedLatenessMs, TRUCKS);
      for (const upTo of [T0 + 3_600_000, undefined]) {
        // The truck still synced: its watermark enters the yard (what the pallet's would do without the filter).
        const kept = watermark(after, truck, storedAfter(before, truck, fixes), upTo);
        if (upTo !== undefined) expect(kept.pure.sent.at(-1)).toBe('1000/0001');
        expect(kept.owned).toEqual(kept.pure);
        // The pallet left out: held for nothing, nothing sent, its state as stored.
        const stored = storedAfter(before, pallet, fixes);
        expect(createLocationSyncRule(after).holds(stored)).toBe(true); // a dwell is pending: only the record tells
        const left = watermark(after, pallet, stored, upTo);
        expect(left.pure).toEqual({ holds: false, sent: [], changed: false, state: stored });
        expect(left.owned).toEqual(left.pure);
      }
    });
  }

  it('does not send a zone’s changed location code again to an asset it leaves out (a restart with both changed)', () => {
    // Parked in the yard under code 1000/0001 (entered at the third fix).
    const fixes = [pos(0, 2000), pos(60, 50), pos(100, 55), pos(600, 60)];
    const before = options('1000/0001', 0);
    const after = options('1000/0002', 0, TRUCKS);
    const kept = watermark(after, truck, storedAfter(before, truck, fixes), T0 + 3_600_000);
    expect(kept.pure).toMatchObject({ holds: true, sent: ['1000/0002'], changed: true });
    expect(kept.owned).toEqual(kept.pure);
    const stored = storedAfter(before, pallet, fixes);
    expect(stored.synced).toMatchObject({ zone: '1000/0001', zoneName: 'yard' });
    const left = watermark(after, pallet, stored, T0 + 3_600_000);
    expect(left.pure).toEqual({ holds: false, sent: [], changed: false, state: stored });
    expect(left.owned).toEqual(left.pure);
  });

  it('`rules test` sends it no idle watermark for the dwell pending in its stored state, as the service does not', () => {
    const stored = storedAfter(options('1000/0001', 0), pallet, [pos(0, 2000), pos(60, 50)]);
    const rules = [createLocationSyncRule(options('1000/0001', 0, TRUCKS))];
    const idle = new IdleWatermarks(120_000);
    const watermarks: string[] = [];
    // The pallet reports again in the yard (not synced), then an hour passes until the truck's fix.
    const steps = [
      { event: pos(120, 50), asset: pallet, destination: 'erp', receivedAt: T0 + 120_000 },
      { event: pos(3720, 2000), asset: truck, destination: 'erp', receivedAt: T0 + 3_720_000 },
    ];
    const r = simulateRules(rules, steps, { initial: new Map([['EQ-1', { location: stored }]]), idle, onStep: (_i, id, _b, _a, at) => at !== undefined && watermarks.push(id) });
    expect(watermarks).toEqual([]);
    expect(r.perStep.flat().map((d) => [d.erpAssetId, d.payload.warehouseLocation])).toEqual([['EQ-2', null]]);
    expect(r.states.get('EQ-1')).toEqual({ location: stored });
  });
});
