/**
 * Inventory from zone sightings: a fixed RFID/BLE reader says which configured zone a tagged item
 * is in, with no coordinates. The item counts there at once, as after a GPS fix's dwell.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { PositionEvent } from '../../model/events.js';
import { flushRules, simulateRules } from '../simulate.js';
import { ZoneIndex, type Zone } from '../zones/index.js';
import { countInventory, withCurrentZoneCode } from './counts.js';
import { createInventoryRule, type InventoryItemState } from './inventory-rule.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;
const bay = (name: string, code: string, lat: number): Zone => ({ name, locationCode: code, priority: 0, shape: { type: 'circle', lat, lng: 10, radiusM: 30 } });
const index = new ZoneIndex([bay('bay-a', 'WH1-A', 50), bay('bay-b', 'WH1-B', 50.01)], { hysteresisM: 5 });
const zones = { index, dwell: { enterDwellMs: MIN, exitDwellMs: MIN }, maxAccuracyM: 0 };

const item = (id: string, sku: string): AssetRecord => ({ erpAssetId: id, erpModule: 'inventory', attributes: { sku } });
const base = { kind: 'position', source: 'test', ids: [{ type: 'tag', value: 'x' }] } as const;
const read = (min: number, zone: string): PositionEvent => ({ ...base, eventTime: T0 + min * MIN, receivedAt: T0 + min * MIN, zone });
const seen = (min: number, lat: number): PositionEvent => ({ ...base, eventTime: T0 + min * MIN, receivedAt: T0 + min * MIN, lat, lng: 10 });

function track(asset: AssetRecord, events: PositionEvent[], lateness = 0): { state: InventoryItemState | undefined; late: number } {
  const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: lateness, zones });
  const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })));
  const f = flushRules([rule], r.states, new Map([[asset.erpAssetId, { asset, destination: 'erp' }]]), 0);
  return { state: f.states.get(asset.erpAssetId)?.inventory as InventoryItemState | undefined, late: r.lateByStep.filter((rules) => rules.length > 0).length };
}

describe('inventory: zone sightings from fixed readers', () => {
  it('counts an item in the reader\'s zone at once, under the zone\'s location code', () => {
    const { state } = track(item('P-1', 'SKU-1'), [read(0, 'bay-b')]);
    expect(state).toMatchObject({ location: 'WH1-B', seenAt: T0, since: T0, zones: { 'bay-b': { phase: 'inside', since: T0 } } });
    expect(state).not.toHaveProperty('reported');
    const counts = countInventory([{ asset: item('P-1', 'SKU-1'), destination: 'erp', state }], T0 + MIN, { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 86_400_000 });
    expect([...(counts.get('erp')?.values() ?? [])]).toEqual([{ location: 'WH1-B', sku: 'SKU-1', quantity: 1, items: 1 }]);
  });

  it('counts it where a GPS fix inside the zone would, once that fix\'s dwell is over', () => {
    const byReader = track(item('P-2', 'SKU-1'), [read(0, 'bay-a')]).state;
    const byGps = track(item('P-2', 'SKU-1'), [seen(0, 50), seen(1, 50)]).state;
    expect(byReader?.location).toBe(byGps?.location);
  });

  it('moves an item a GPS fix placed in another zone, without a dwell', () => {
    const { state } = track(item('P-3', 'SKU-1'), [seen(0, 50), seen(2, 50), read(3, 'bay-b')]);
    expect(state).toMatchObject({ location: 'WH1-B', since: T0 + 3 * MIN, zones: { 'bay-b': { phase: 'inside' } } });
    expect(state?.zones).not.toHaveProperty('bay-a');
  });

  it('never moves it back for an older sighting (late), with or without lateness', () => {
    for (const lateness of [0, MIN]) {
      const { state, late } = track(item('P-4', 'SKU-1'), [read(10, 'bay-a'), read(20, 'bay-a'), read(5, 'bay-b')], lateness);
      expect(state).toMatchObject({ location: 'WH1-A', seenAt: T0 + 20 * MIN, since: T0 + 10 * MIN });
      expect(late).toBe(1);
    }
  });

  it('counts under the zone\'s current code after a config change, as GPS items do', () => {
    const { state } = track(item('P-5', 'SKU-1'), [read(0, 'bay-a')]);
    const recoded = new ZoneIndex([bay('bay-a', 'WH1-A-NEW', 50)], { hysteresisM: 5 });
    expect(withCurrentZoneCode(state, recoded)?.location).toBe('WH1-A-NEW');
  });

  it('leaves nothing for an idle watermark to settle', () => {
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones });
    const ctx = { asset: item('P-6', 'SKU-1'), destination: 'erp', now: 0 };
    let s = rule.apply(undefined, seen(0, 50), ctx).state; // entering bay A by GPS
    expect(rule.holds(s)).toBe(true);
    s = rule.apply(s, read(0.5, 'bay-b'), ctx).state;
    expect(rule.holds(s)).toBe(false);
    expect(rule.flush(s, ctx, T0 + 30 * MIN).state).toEqual(s);
  });
});

describe('inventory: a tracker\'s own zone label beside a GPS sighting in a configured zone', () => {
  const tagged = (min: number, lat: number, zone?: string): PositionEvent => ({ ...seen(min, lat), ...(zone !== undefined ? { zone } : {}) });
  const counted = (state: InventoryItemState | undefined, at: number) =>
    [...(countInventory([{ asset: item('P-1', 'SKU-1'), destination: 'erp', state }], at, { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 86_400_000 }).get('erp')?.values() ?? [])];

  it('is never where the item is counted: during the enter dwell it is counted as with no label, then under the zone\'s code', () => {
    // 50: inside bay A (30 m round), 50.0003 (33 m off): in its 5 m band only; the tag's reader calls it "BAY-A".
    for (const lat of [50, 50.0003]) {
      const during = track(item('P-1', 'SKU-1'), [tagged(0, 50.5), tagged(1, lat, 'BAY-A')]).state;
      expect(during, `at ${lat}`).toMatchObject({ location: null });
      expect(during).not.toHaveProperty('reported');
      expect(counted(during, T0 + 1.5 * MIN).map((c) => c.location)).not.toContain('BAY-A');
    }
    const after = track(item('P-1', 'SKU-1'), [tagged(0, 50.5), tagged(1, 50, 'BAY-A'), tagged(2.5, 50, 'BAY-A')]).state;
    expect(after).toMatchObject({ location: 'WH1-A' });
    expect(after).not.toHaveProperty('reported');
    // Outside every bay and band, the reported zone is where it is (a reader's location).
    expect(track(item('P-1', 'SKU-1'), [tagged(0, 50.5, 'DOCK-1')]).state).toMatchObject({ location: 'DOCK-1' });
  });

  it('the same sighting again with another label is a duplicate, not late (the label is no part of it inside a bay)', () => {
    const r = track(item('P-1', 'SKU-1'), [tagged(0, 50, 'BAY-A'), tagged(0, 50, 'OTHER'), tagged(0, 50)]);
    expect(r.late).toBe(0);
    expect(r.state).toMatchObject({ location: null, zones: { 'bay-a': { phase: 'entering' } } });
  });
});
