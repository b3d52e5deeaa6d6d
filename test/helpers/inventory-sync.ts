/**
 * The inventory run's test fixtures: a clock origin, the options most tests run it with, and an
 * item's stored inventory state (seen at a location some minutes after the origin).
 */
import type { InventoryItemState } from '../../src/core/rules/inventory/inventory-rule.js';
import type { InventorySyncOptions } from '../../src/engine/tasks/inventory-sync.js';
import type { AssetStateDoc } from '../../src/ports/store.js';

export const T0 = Date.UTC(2026, 9, 1, 8);
export const MIN = 60_000;
/** Counts by SKU attribute `sku`, changes every minute, a full snapshot at 02:00 UTC, to `erp`. */
export const inventoryOptions: InventorySyncOptions = { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 60 * MIN, changesEveryMs: MIN, fullSnapshotCron: '0 2 * * *', timeZone: 'UTC', defaultDestination: 'erp' };
/** An item's inventory state: at `location`, seen `min` minutes after T0, there since T0. */
export const seenAt = (location: string, min: number): AssetStateDoc => ({ inventory: { location, seenAt: T0 + min * MIN, since: T0 } satisfies InventoryItemState });
