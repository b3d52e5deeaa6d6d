/**
 * Inventory counts after the store is restored from an older copy (stop, replace the store file by
 * hand, start), through the real app and the ERP simulator: the counts sent after the copy was
 * taken are at the ERP but not in the restored store, so a cell's revisions must not start again
 * where the copy left them. An ERP that keeps each count's idempotency key (or the connector's
 * lookup by `externalKey` before a create) takes a reused key as a count it already has, and the
 * new count is never applied.
 */
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { requestFullSnapshot, type InventoryRunSummary } from '../../src/engine/tasks/inventory-sync.js';
import { appInventoryRun } from '../helpers/app-inventory.js';
import { startErpSimulator, type ErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import { startErpApp } from '../helpers/erp-app.js';
import { tempStorePath } from '../helpers/temp-store.js';
import { waitFor } from '../helpers/wait.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const PALLETS = Array.from({ length: 4 }, (_, i) => ({ erpAssetId: `P-${i}`, erpModule: 'inventory', attributes: { sku: 'PAL' }, identifiers: [{ type: 'tag', value: `p${i}` }] }));

/** The app on the store at `storePath` against `erp`: the pallets, inventory counted (its runs by hand: an hour apart), no location sync. */
async function start(storePath: string, erp: ErpSimulator, idempotency: boolean, paths?: Record<string, string>): Promise<App> {
  const rules = { inventory: { changesEvery: '1h', freshness: '30d' }, location: { enabled: false } };
  return (await startErpApp(cleanup, { storePath, erp, idempotency, assets: PALLETS, rules, ...(paths ? { paths } : {}) })).app;
}

const T0 = Date.now() - 3_600_000;

/** A pallet seen at `zone` (its location code), `s` seconds after T0. */
const seen = (tag: string, s: number, zone: string) => ({
  source: 'http',
  channel: '/v1/events',
  receivedAt: Date.now(),
  payload: JSON.stringify({ kind: 'position', assetId: tag, eventTime: T0 + s * 1000, lat: 50, lng: 8, zone }),
});

async function drained(app: App): Promise<void> {
  await waitFor(async () => {
    const [s] = await app.store.outboxStats(Date.now());
    return s !== undefined && s.pending === 0 && s.inflight === 0;
  }, 'outbox drained');
}

/** One inventory run of changes (or a snapshot asked for before it), as the scheduled task makes it (the service's own runs are an hour apart here). */
async function inventoryRun(app: App, snapshotAsked = false): Promise<InventoryRunSummary> {
  if (!snapshotAsked) await app.store.kvSet('inventory', 'lastFullAt', String(Date.now())); // no cron snapshot in between
  return appInventoryRun(app);
}

/** The store file and its `-wal` and `-shm`, as a restore replaces them. */
const storeFiles = (path: string): string[] => [path, `${path}-wal`, `${path}-shm`];

/**
 * Two pallets at WH-1 counted and applied; a copy of the store taken by hand (the service stopped);
 * a third pallet counted and applied; then the copy restored (stop, replace the store file and its
 * `-wal` and `-shm`): the app started on it.
 */
async function restoredBeforeThirdPallet(erp: ErpSimulator, idempotency: boolean, paths?: Record<string, string>): Promise<App> {
  const storePath = tempStorePath();
  const onHand = () => erp.state().inventory['WH-1|PAL']?.quantity;
  let app = await start(storePath, erp, idempotency, paths);
  expect((await app.ingestor.submit([seen('p0', 1, 'WH-1'), seen('p1', 2, 'WH-1')])).accepted).toBe(2);
  await inventoryRun(app);
  await drained(app);
  expect(onHand()).toBe(2);
  await app.stop();
  const copy = `${storePath}.copy`;
  copyStore(storePath, copy);
  app = await start(storePath, erp, idempotency, paths);
  expect((await app.ingestor.submit([seen('p2', 3, 'WH-1')])).accepted).toBe(1);
  await inventoryRun(app);
  await drained(app);
  expect(onHand()).toBe(3);
  await app.stop();
  restoreStore(copy, storePath);
  return start(storePath, erp, idempotency, paths);
}

/** A copy of the store at `path` (the service stopped), as an operator takes one by hand. */
function copyStore(path: string, copy: string): void {
  for (const [i, file] of storeFiles(path).entries()) if (existsSync(file)) copyFileSync(file, storeFiles(copy)[i] as string);
}

/** The copy put back at `path`: the store file and its `-wal` and `-shm` deleted, the copy's files in their place. */
function restoreStore(copy: string, path: string): void {
  for (const file of storeFiles(path)) rmSync(file, { force: true });
  copyStore(copy, path);
}

describe('inventory counts after a restore of an older store', () => {
  for (const idempotency of [true, false])
    it(`a count after the restore reaches the ERP, though the restored store's revisions were sent since (${idempotency ? 'an ERP that keeps idempotency keys' : "the connector's lookup before a create"})`, async () => {
      const erp = await startErpSimulator({ token: 'erp-token', idempotency, seed: 3 });
      cleanup.push(() => erp.close());
      const onHand = () => erp.state().inventory['WH-1|PAL']?.quantity;
      const app = await restoredBeforeThirdPallet(erp, idempotency);

      // Two more pallets arrive (the restored store knows of two at WH-1, not of the third): four there now.
      expect((await app.ingestor.submit([seen('p2', 4, 'WH-1'), seen('p3', 5, 'WH-1')])).accepted).toBe(2);
      expect((await inventoryRun(app)).deliveries).toEqual({ erp: 1 });
      await drained(app);
      // The ERP applied the new count: under the key of the count sent before the restore, it
      // would take it as one it holds (refused as a key reused, or found by its externalKey).
      expect(onHand()).toBe(4);
      const applied = erp.state().inventoryCounts.filter((c) => c.location === 'WH-1' && c.sku === 'PAL');
      expect(applied.map((c) => c.countedQuantity)).toEqual([2, 3, 4]);
      expect(new Set(applied.map((c) => c.revision)).size).toBe(3);
      const [stats] = await app.store.outboxStats(Date.now());
      expect(stats?.dead).toBe(0);
    }, 30_000);

  // An ERP that takes deltas holds the changes sent since the copy, which the restored record does
  // not: its next deltas would be against the older totals. A snapshot asked for before the start
  // (`assetbridge inventory snapshot`) reads the on-hand quantity and sends counted − on hand, under
  // keys not used before.
  it('an ERP that takes deltas ends at the count with a snapshot asked for after the restore, reading its on-hand quantity', async () => {
    const erp = await startErpSimulator({ token: 'erp-token', idempotency: true, seed: 3, inventoryTakes: 'delta' });
    cleanup.push(() => erp.close());
    const paths = { inventoryOnHand: '/api/v1/inventory/on-hand?location={location}&sku={sku}' };
    const onHand = () => erp.state().inventory['WH-1|PAL']?.quantity;
    const app = await restoredBeforeThirdPallet(erp, true, paths);
    await requestFullSnapshot(app.store, Date.now());
    expect((await app.ingestor.submit([seen('p2', 4, 'WH-1'), seen('p3', 5, 'WH-1')])).accepted).toBe(2);
    expect(await inventoryRun(app, true)).toMatchObject({ mode: 'full', reconciled: { erp: 1 }, deliveries: { erp: 1 } });
    await drained(app);
    // Against the 3 on hand: +1 (against the restored record's 2 it would have been +2, and 5 on hand).
    expect(erp.state().inventoryCounts.filter((c) => c.location === 'WH-1' && c.sku === 'PAL').at(-1)).toMatchObject({ countedQuantity: 4, delta: 1, previousQuantity: 3, snapshot: true });
    expect(onHand()).toBe(4);
  }, 30_000);
});
