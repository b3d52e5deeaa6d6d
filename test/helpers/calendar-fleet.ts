/**
 * The calendar-interval tests' fleet: CR-1 (serviced 10 Jan 2026), CR-2 (no service date), both
 * `maintenance`, and the pallet PAL-1 (`inventory`).
 */
import type { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';

export async function withCalendarFleet(store: SqliteStore): Promise<SqliteStore> {
  await store.upsertAssets([
    { asset: { erpAssetId: 'CR-1', erpModule: 'maintenance', attributes: { lastServiceDate: '2026-01-10' } }, identifiers: [{ type: 'tag', value: 't1', erpAssetId: 'CR-1' }] },
    { asset: { erpAssetId: 'CR-2', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 't2', erpAssetId: 'CR-2' }] },
    { asset: { erpAssetId: 'PAL-1', erpModule: 'inventory', attributes: {} }, identifiers: [{ type: 'tag', value: 't3', erpAssetId: 'PAL-1' }] },
  ]);
  return store;
}
