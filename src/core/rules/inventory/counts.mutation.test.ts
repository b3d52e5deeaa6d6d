/**
 * Behaviours of inventory counting and count planning that mutation testing found unpinned: what
 * a tag stands for, how SKUs and keys are written, and what each `inventory.count` says.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import { EMPTY_SENT, cellKey, countInventory, inventoryItemRows, planInventoryCounts, withCurrentZoneCode, type CountCell, type InventoryItem } from './counts.js';
import { ZoneIndex, type Zone } from '../zones/index.js';
import type { InventoryItemState } from './inventory-rule.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;
const now = T0 + 60 * MIN;
const opts = { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 60 * MIN };
const item = (id: string, attributes: Record<string, string>, state: InventoryItemState | undefined): InventoryItem => ({
  asset: { erpAssetId: id, erpModule: 'inventory', attributes } satisfies AssetRecord,
  destination: 'erp',
  state,
});
const at = (location: string | null, min: number): InventoryItemState => ({ location, seenAt: T0 + min * MIN, since: T0 + (min - 5) * MIN });
const cells = (...list: CountCell[]): Map<string, CountCell> => new Map(list.map((c) => [cellKey(c.location, c.sku), c]));

describe('inventory counts: what a tag stands for', () => {
  it('a blank quantity attribute counts the tag as one, as a missing one does', () => {
    // Kills: dropping the blank check (Number(' ') is 0, so the tag would count for nothing).
    const items = [item('P-1', { sku: 'S1', quantity: ' ' }, at('WH-A', 50)), item('P-2', { sku: 'S1', quantity: '' }, at('WH-A', 50)), item('P-3', { sku: 'S1' }, at('WH-A', 50))];
    expect([...(countInventory(items, now, opts).get('erp')?.values() ?? [])]).toEqual([{ location: 'WH-A', sku: 'S1', quantity: 3, items: 3 }]);
    expect(inventoryItemRows(items, now, opts).map((r) => r.quantity)).toEqual([1, 1, 1]);
  });

  it('a SKU written with blanks around it counts in the same cell as the plain SKU', () => {
    // Kills: counting under the untrimmed SKU (a second cell " S1 " the ERP does not know).
    const items = [item('P-1', { sku: ' S1 ' }, at('WH-A', 50)), item('P-2', { sku: 'S1' }, at('WH-A', 55))];
    expect([...(countInventory(items, now, opts).get('erp')?.values() ?? [])]).toEqual([{ location: 'WH-A', sku: 'S1', quantity: 2, items: 2 }]);
  });
});

describe('inventory counts: the items list', () => {
  it('an item last seen outside every location shows when it was seen, but no "there since"', () => {
    // Kills: showing `since` for an item that has no location.
    const rows = inventoryItemRows([item('P-1', { sku: 'S1' }, at(null, 50)), item('P-2', { sku: 'S1' }, at('WH-A', 50))], now, opts);
    expect(rows.map((r) => [r.erpAssetId, r.standing, r.seenAt, r.since])).toEqual([
      ['P-2', 'counted', T0 + 50 * MIN, T0 + 45 * MIN],
      ['P-1', 'unplaced', T0 + 50 * MIN, undefined],
    ]);
  });
});

describe('inventory count deliveries', () => {
  it('location codes holding "%" and "|" never share a business key or a sequence', () => {
    // Kills: escaping only "|" ("A|B" would be written "A%7CB", the key of the location "A%7CB").
    const plan = planInventoryCounts('erp', cells({ location: 'A|B', sku: 'S', quantity: 1, items: 1 }, { location: 'A%7CB', sku: 'S', quantity: 2, items: 1 }), EMPTY_SENT, 'changes', now);
    expect(plan.deliveries).toHaveLength(2);
    expect(new Set(plan.deliveries.map((d) => d.businessKey)).size).toBe(2);
    expect(new Set(plan.deliveries.map((d) => d.sequence)).size).toBe(2);
  });

  it('says whether it is part of a full snapshot, how many tags are behind the total, and when it was counted', () => {
    // Kills: `snapshot` always true, `items` set to the quantity, and an eventTime other than the count time.
    const counted = cells({ location: 'WH-A', sku: 'PAL', quantity: 40, items: 1 });
    const changes = planInventoryCounts('erp', counted, EMPTY_SENT, 'changes', now);
    expect(changes.deliveries.map((d) => [d.payload.snapshot, d.payload.countedQuantity, d.payload.items, d.eventTime, d.payload.countedAt])).toEqual([[false, 40, 1, now, new Date(now).toISOString()]]);
    const full = planInventoryCounts('erp', counted, changes.next, 'full', now + MIN);
    expect(full.deliveries.map((d) => [d.payload.snapshot, d.payload.items, d.eventTime])).toEqual([[true, 1, now + MIN]]);
    const emptied = planInventoryCounts('erp', new Map(), full.next, 'changes', now + 2 * MIN);
    expect(emptied.deliveries.map((d) => [d.payload.countedQuantity, d.payload.items, d.payload.delta])).toEqual([[0, 0, -40]]);
  });
});

describe('items located by the zones configured now', () => {
  const bay = (name: string, code: string, lat: number): Zone => ({ name, locationCode: code, priority: 0, shape: { type: 'circle', lat, lng: 10, radiusM: 30 } });
  const inBayA: InventoryItemState = { ...at('WH1-A', 50), zones: { 'bay-a': { phase: 'inside', since: T0 } } };

  it('a zone whose location code changed counts its items under the new code, without a new sighting', () => {
    const changed = new ZoneIndex([bay('bay-a', 'WH1-A2', 50), bay('bay-b', 'WH1-B', 50.01)], { hysteresisM: 5 });
    expect(withCurrentZoneCode(inBayA, changed)?.location).toBe('WH1-A2');
    expect(countInventory([item('P-1', { sku: 'S', quantity: '4' }, withCurrentZoneCode(inBayA, changed))], now, opts).get('erp')).toEqual(cells({ location: 'WH1-A2', sku: 'S', quantity: 4, items: 1 }));
  });

  it('keeps the stored code for a zone it does not know (renamed or removed), for an item in no zone, and without zones', () => {
    const renamed = new ZoneIndex([bay('bay-a-new', 'WH1-A2', 50)], { hysteresisM: 5 });
    expect(withCurrentZoneCode(inBayA, renamed)).toBe(inBayA);
    const same = new ZoneIndex([bay('bay-a', 'WH1-A', 50)], { hysteresisM: 5 });
    expect(withCurrentZoneCode(inBayA, same)).toBe(inBayA);
    // Seen by a reader outside every zone: its reported location stays.
    const reader = at('DOCK-3', 50);
    expect(withCurrentZoneCode(reader, renamed)).toBe(reader);
    expect(withCurrentZoneCode(inBayA, undefined)).toBe(inBayA);
    // Still entering (not yet counted there): the stored location stays.
    const entering: InventoryItemState = { ...at('WH1-B', 50), zones: { 'bay-a': { phase: 'entering', since: T0 } } };
    expect(withCurrentZoneCode(entering, same)).toBe(entering);
  });
});
