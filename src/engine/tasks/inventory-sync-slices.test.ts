/**
 * The inventory run walks every item and cell in slices, pausing between them (the event loop is
 * not held for a whole walk at 100,000 cells): a sighting committed during a pause is not half in
 * the run; the run sends what an unpaused run over the items as read sends, the next run the rest.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { taskContext } from '../../../test/helpers/task-context.js';
import { tempStore } from '../../../test/helpers/temp-store.js';
import type { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { createSlicer } from '../../core/slices.js';
import type { InventoryItemState } from '../../core/rules/inventory/inventory-rule.js';
import type { AssetStateDoc } from '../../ports/store.js';
import { COMMIT_CHUNK, INVENTORY_NS, runInventorySync, type InventorySyncOptions } from './inventory-sync.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';

const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;
const options: InventorySyncOptions = { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 60 * MIN, changesEveryMs: MIN, fullSnapshotCron: '0 2 * * *', timeZone: 'UTC', defaultDestination: 'erp' };
const ITEMS = 40;
const at = (location: string, min: number): AssetStateDoc => ({ inventory: { location, seenAt: T0 + min * MIN, since: T0 } satisfies InventoryItemState });

async function fleet(): Promise<SqliteStore> {
  const store = tempStore();
  stores.push(store);
  await store.upsertAssets(
    Array.from({ length: ITEMS }, (_, i) => ({
      asset: { erpAssetId: `P-${i}`, erpModule: 'inventory', attributes: { sku: `S-${i % 5}`, ...(i % 7 === 0 ? { quantity: '12' } : {}) } },
      identifiers: [{ type: 'tag' as const, value: `tag-${i}`, erpAssetId: `P-${i}` }],
    })),
  );
  await store.commitIngest({ states: Array.from({ length: ITEMS }, (_, i) => ({ erpAssetId: `P-${i}`, doc: at(`WH-${i % 3}`, 0) })), deliveries: [], quarantine: [], accepted: 0 });
  return store;
}

/** A sighting moving `id` to `location` (committed as the ingestor commits one). */
const move = (store: SqliteStore, id: string, location: string, min: number) => store.commitIngest({ states: [{ erpAssetId: id, doc: at(location, min) }], deliveries: [], quarantine: [], accepted: 0 });

const counts = async (store: SqliteStore) =>
  (await store.listDeliveries({ status: 'pending', limit: 10_000 }))
    .map((d) => ({ destination: d.destination, businessKey: d.businessKey, payload: d.payload }))
    .sort((a, b) => (a.businessKey < b.businessKey ? -1 : 1));

describe('inventory run in slices', () => {
  it('sightings committed while the run pauses between slices count from the next run; the run sends what an unpaused one sends', async () => {
    const paused = await fleet();
    const whole = await fleet();
    const clock = { t: T0 + 5 * MIN };
    await runInventorySync(taskContext(paused, clock), options);
    await runInventorySync(taskContext(whole, clock), options);
    // Some items move before the run (both stores): the run has changes to plan.
    for (const s of [paused, whole]) for (const i of [1, 2, 3]) await move(s, `P-${i}`, 'WH-9', 2);
    clock.t += MIN;

    // Once the items are read, every pause commits a sighting moving another item (to a new cell, or away from one).
    let loaded = false;
    const read = paused.loadRuleStates.bind(paused);
    paused.loadRuleStates = async (...args) => {
      const states = await read(...args);
      loaded = true;
      return states;
    };
    const movedDuring: string[] = [];
    let pauses = 0;
    const slicer = createSlicer({
      sliceMs: 0,
      checkEvery: 1,
      pause: async () => {
        pauses++;
        if (!loaded || movedDuring.length >= ITEMS - 10) return;
        const id = `P-${10 + movedDuring.length}`;
        movedDuring.push(id);
        await move(paused, id, 'WH-NEW', 3);
      },
    });
    const summary = await runInventorySync(taskContext(paused, clock), options, { slicer });
    const unpaused = await runInventorySync(taskContext(whole, clock, {}), options, { slicer: createSlicer({ sliceMs: Number.POSITIVE_INFINITY }) });
    expect(pauses).toBeGreaterThan(ITEMS);
    expect(movedDuring.length).toBeGreaterThan(5);
    expect(summary).toEqual(unpaused);
    expect(await counts(paused)).toEqual(await counts(whole));

    // The next run sends the moves made during the pauses, as one made after an unpaused run.
    for (const id of movedDuring) await move(whole, id, 'WH-NEW', 3);
    clock.t += MIN;
    const next = await runInventorySync(taskContext(paused, clock), options);
    expect(next).toEqual(await runInventorySync(taskContext(whole, clock), options));
    expect(next.deliveries.erp).toBeGreaterThan(0);
    expect(await counts(paused)).toEqual(await counts(whole));
    const newCell = (await counts(paused)).filter((d) => d.businessKey.startsWith('WH-NEW|')).map((d) => d.payload.items as number);
    expect(newCell.reduce((a, b) => a + b, 0)).toBe(movedDuring.length);
  });

  it('commits a run of many counts in parts, turns between them; stopped after a part, the next run commits the rest, each count once', async () => {
    // Every item moves from WH-A to WH-B: a count leaving each cell and one arriving, 2,400 in all.
    const items = 1200;
    const planned = 2 * items;
    const make = async () => {
      const store = tempStore();
      stores.push(store);
      await store.upsertAssets(Array.from({ length: items }, (_, i) => ({ asset: { erpAssetId: `Q-${i}`, erpModule: 'inventory', attributes: { sku: `SKU-${i}` } }, identifiers: [{ type: 'tag' as const, value: `q-${i}`, erpAssetId: `Q-${i}` }] })));
      await store.commitIngest({ states: Array.from({ length: items }, (_, i) => ({ erpAssetId: `Q-${i}`, doc: at('WH-A', 0) })), deliveries: [], quarantine: [], accepted: 0 });
      await runInventorySync(taskContext(store, clock), options);
      await store.commitIngest({ states: Array.from({ length: items }, (_, i) => ({ erpAssetId: `Q-${i}`, doc: at('WH-B', 1) })), deliveries: [], quarantine: [], accepted: 0 });
      return store;
    };
    const clock = { t: T0 + 5 * MIN };
    const stopped = await make();
    const clean = await make();
    clock.t += MIN;
    const parts: number[] = [];
    let turns = 0;
    let running = true;
    const tick = () => {
      turns++;
      if (running) setImmediate(tick);
    };
    const commit = async (deliveries: readonly DeliveryIntent[]) => {
      parts.push(deliveries.length);
      const before = turns;
      await stopped.commitIngest({ deliveries, states: [], quarantine: [], accepted: 0 });
      if (parts.length === 2) throw new Error(`stopped after the second part (${turns - before} turns)`);
    };
    setImmediate(tick);
    const turnsAtStart = turns;
    await expect(runInventorySync(taskContext(stopped, clock, { commit }), options)).rejects.toThrow(/stopped after the second part/);
    running = false;
    expect(parts).toEqual([COMMIT_CHUNK, COMMIT_CHUNK]);
    expect(turns - turnsAtStart).toBeGreaterThan(2);
    expect((await counts(stopped)).length).toBe(items + 2 * COMMIT_CHUNK); // the first run's and two parts
    expect(JSON.parse((await stopped.kvGet(INVENTORY_NS, 'sent:erp')) as string)).toHaveProperty('pending');
    // The next run commits the planned counts again (those in the outbox dropped) and plans nothing new.
    const next = await runInventorySync(taskContext(stopped, clock), options);
    expect(next.deliveries).toEqual({ erp: planned });
    await runInventorySync(taskContext(clean, clock), options);
    expect(await counts(stopped)).toEqual(await counts(clean));
    expect((await counts(stopped)).length).toBe(items + planned);
    expect(await stopped.kvGet(INVENTORY_NS, 'sent:erp')).toBe(await clean.kvGet(INVENTORY_NS, 'sent:erp'));
  });
});
