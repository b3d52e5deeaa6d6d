/**
 * The inventory run walks every item and cell in slices, pausing between them (the event loop is
 * not held for a whole walk at 100,000 cells): a sighting committed during a pause is not half in
 * the run; the run sends what an unpaused run over the items as read sends, the next run the rest.
 */
import { describe, expect, it } from 'vitest';
import { taskContext } from '../../../test/helpers/task-context.js';
import { useTempStores } from '../../../test/helpers/temp-stores.js';
import { turnCounter } from '../../../test/helpers/turns.js';
import type { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { createSlicer } from '../../core/slices.js';
import { COMMIT_CHUNK, INVENTORY_NS, inventoryReport, runInventorySync } from './inventory-sync.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import { MIN, T0, inventoryOptions as options, seenAt as at } from '../../../test/helpers/inventory-sync.js';

const newStore = useTempStores();

const ITEMS = 40;

async function fleet(): Promise<SqliteStore> {
  const store = newStore();
  await store.upsertAssets(
    Array.from({ length: ITEMS }, (_, i) => ({
      asset: { erpAssetId: `P-${i}`, erpModule: 'inventory', attributes: { sku: `S-${i % 5}`, ...(i % 7 === 0 ? { quantity: '12' } : {}) } },
      identifiers: [{ type: 'tag' as const, value: `tag-${i}`, erpAssetId: `P-${i}` }],
    })),
  );
  await store.commitIngest({ states: Array.from({ length: ITEMS }, (_, i) => ({ erpAssetId: `P-${i}`, doc: at(`WH-${i % 3}`, 0) })), deliveries: [], quarantine: [], accepted: 0 });
  return store;
}

/** Single-item SKUs in {@link movedFleet}: every one moving makes 2 × this many counts, over two commit chunks. */
const MOVED_ITEMS = 1200;

/** A store whose {@link MOVED_ITEMS} items were counted in WH-A (a run at `clock.t`), then all seen in WH-B. */
async function movedFleet(clock: { t: number }): Promise<SqliteStore> {
  const store = newStore();
  const items = Array.from({ length: MOVED_ITEMS }, (_, i) => i);
  await store.upsertAssets(items.map((i) => ({ asset: { erpAssetId: `Q-${i}`, erpModule: 'inventory', attributes: { sku: `SKU-${i}` } }, identifiers: [{ type: 'tag' as const, value: `q-${i}`, erpAssetId: `Q-${i}` }] })));
  await store.commitIngest({ states: items.map((i) => ({ erpAssetId: `Q-${i}`, doc: at('WH-A', 0) })), deliveries: [], quarantine: [], accepted: 0 });
  await runInventorySync(taskContext(store, clock), options);
  await store.commitIngest({ states: items.map((i) => ({ erpAssetId: `Q-${i}`, doc: at('WH-B', 1) })), deliveries: [], quarantine: [], accepted: 0 });
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
    const items = MOVED_ITEMS;
    const planned = 2 * items;
    const clock = { t: T0 + 5 * MIN };
    const stopped = await movedFleet(clock);
    const clean = await movedFleet(clock);
    clock.t += MIN;
    const parts: number[] = [];
    const loop = turnCounter();
    const commit = async (deliveries: readonly DeliveryIntent[]) => {
      parts.push(deliveries.length);
      const before = loop.turns;
      await stopped.commitIngest({ deliveries, states: [], quarantine: [], accepted: 0 });
      if (parts.length === 2) throw new Error(`stopped after the second part (${loop.turns - before} turns)`);
    };
    const turnsAtStart = loop.turns;
    await expect(runInventorySync(taskContext(stopped, clock, { commit }), options)).rejects.toThrow(/stopped after the second part/);
    loop.stop();
    expect(parts).toEqual([COMMIT_CHUNK, COMMIT_CHUNK]);
    expect(loop.turns - turnsAtStart).toBeGreaterThan(2);
    expect((await counts(stopped)).length).toBe(items + 2 * COMMIT_CHUNK); // the first run's and two parts
    expect(JSON.parse((await stopped.kvGet(INVENTORY_NS, 'planned:erp')) as string)).toEqual(expect.objectContaining({ parts: 3, count: planned }));
    // The next run commits the planned counts again (those in the outbox dropped) and plans nothing new.
    const next = await runInventorySync(taskContext(stopped, clock), options);
    expect(next.deliveries).toEqual({ erp: planned });
    await runInventorySync(taskContext(clean, clock), options);
    expect(await counts(stopped)).toEqual(await counts(clean));
    expect((await counts(stopped)).length).toBe(items + planned);
    expect(await stopped.kvGet(INVENTORY_NS, 'sent:erp')).toBe(await clean.kvGet(INVENTORY_NS, 'sent:erp'));
  });

  // At 100,000 single-item SKUs after every item moved, the write-ahead was one kv write of the record and its 200,000 counts (~80 MB): seconds of the event loop.
  it('writes ahead the counts of a run in parts, turns between them, the record last; stopped while writing parts, the record is as it was', async () => {
    const planned = 2 * MOVED_ITEMS;
    const clock = { t: T0 + 5 * MIN };
    const store = await movedFleet(clock);
    const stopped = await movedFleet(clock);
    const clean = await movedFleet(clock);
    clock.t += MIN;
    const loop = turnCounter();
    // Each kv write: its key, the counts it holds, and the turns the event loop had taken by then.
    const writes: { key: string; counts: number; turns: number }[] = [];
    const write = store.kvSet.bind(store);
    store.kvSet = (ns, key, value) => {
      const v = JSON.parse(value) as { pending?: unknown[]; deliveries?: unknown[] } | number;
      writes.push({ key, counts: typeof v === 'object' ? (v.pending?.length ?? v.deliveries?.length ?? 0) : 0, turns: loop.turns });
      return write(ns, key, value);
    };
    try {
      // Slices that never end: the turns counted are the write-ahead's own, not a slice's.
      expect((await runInventorySync(taskContext(store, clock), options, { slicer: createSlicer({ sliceMs: Number.POSITIVE_INFINITY }) })).deliveries).toEqual({ erp: planned });
    } finally {
      loop.stop();
    }
    // No write holds more than a transaction's worth of counts; the parts first, then the record naming them.
    expect(Math.max(...writes.map((w) => w.counts))).toBeLessThanOrEqual(COMMIT_CHUNK);
    const parts = writes.filter((w) => w.key.startsWith('plan:erp:'));
    expect(parts.map((w) => w.counts)).toEqual([COMMIT_CHUNK, COMMIT_CHUNK, planned - 2 * COMMIT_CHUNK]);
    expect(writes.findIndex((w) => w.key === 'sent:erp')).toBeGreaterThan(writes.indexOf(parts[2] as (typeof writes)[number]));
    // The event loop takes turns between the parts' writes, and before the record's.
    const afterParts = writes.find((w, i) => w.key === 'sent:erp' && i > writes.indexOf(parts[2] as (typeof writes)[number]));
    for (const [a, b] of [[parts[0], parts[1]], [parts[1], parts[2]], [parts[2], afterParts]]) expect((b?.turns ?? 0) - (a?.turns ?? 0)).toBeGreaterThan(0);
    // Finalised: the parts are gone.
    expect((await store.kvList(INVENTORY_NS)).map((r) => r.key).filter((k) => k.startsWith('plan:'))).toEqual([]);

    // Stopped after the second part: the record is as it was, nothing is committed, and the next run sends what a clean one does.
    const before = await stopped.kvGet(INVENTORY_NS, 'sent:erp');
    const writeStopped = stopped.kvSet.bind(stopped);
    let partsWritten = 0;
    stopped.kvSet = (ns, key, value) => {
      if (key.startsWith('plan:') && ++partsWritten === 3) return Promise.reject(new Error('stopped while writing the parts'));
      return writeStopped(ns, key, value);
    };
    await expect(runInventorySync(taskContext(stopped, clock), options)).rejects.toThrow('stopped while writing the parts');
    stopped.kvSet = writeStopped;
    expect(await stopped.kvGet(INVENTORY_NS, 'sent:erp')).toBe(before);
    expect((await counts(stopped)).length).toBe(MOVED_ITEMS);
    expect((await stopped.kvList(INVENTORY_NS)).filter((r) => r.key.startsWith('plan:'))).toHaveLength(2);
    expect((await runInventorySync(taskContext(stopped, clock), options)).deliveries).toEqual({ erp: planned });
    await runInventorySync(taskContext(clean, clock), options);
    expect(await counts(stopped)).toEqual(await counts(clean));
    expect(await stopped.kvGet(INVENTORY_NS, 'sent:erp')).toBe(await clean.kvGet(INVENTORY_NS, 'sent:erp'));
    // The parts no record named are gone too.
    expect((await stopped.kvList(INVENTORY_NS)).map((r) => r.key).filter((k) => k.startsWith('plan:'))).toEqual([]);
  });

  it('finishes a write-ahead of an older version (its counts in the record itself); one whose part is gone is taken as never sent, full counts above the revisions used', async () => {
    const store = await fleet();
    const clock = { t: T0 + 5 * MIN };
    await runInventorySync(taskContext(store, clock), options);
    const record = JSON.parse((await store.kvGet(INVENTORY_NS, 'sent:erp')) as string) as { cells: Record<string, { quantity: number; revision: number }> };
    const sent = await counts(store);
    // As an older version left it: the next cells and their counts in the record, not committed.
    const key = Object.keys(record.cells)[0] as string;
    const cell = record.cells[key] as { quantity: number; revision: number };
    const [location, sku] = key.split('\u001f') as [string, string];
    const count: DeliveryIntent = {
      destination: 'erp',
      operation: 'inventory.count',
      kind: 'fact',
      businessKey: `${location}|${sku}|r${cell.revision + 1}`,
      sequence: `${location}|${sku}`,
      erpAssetId: sku,
      eventTime: clock.t,
      payload: { location, sku, countedQuantity: cell.quantity + 1, delta: 1, previousQuantity: cell.quantity, countedAt: new Date(clock.t).toISOString(), items: 1, snapshot: false, revision: cell.revision + 1 },
    };
    await store.kvSet(INVENTORY_NS, 'sent:erp', JSON.stringify({ cells: { ...record.cells, [key]: { quantity: cell.quantity + 1, revision: cell.revision + 1 } }, pending: [count] }));
    clock.t += MIN;
    const r = await runInventorySync(taskContext(store, clock), options);
    expect(r.damagedRecords).toBeUndefined();
    // Committed, and the record taken as it said: the cell's count (one less than planned there) then goes back, at the run's time.
    expect((await counts(store)).map((d) => d.businessKey)).toEqual([...sent.map((d) => d.businessKey), count.businessKey, `${location}|${sku}|r${clock.t}`].sort((a, b) => (a < b ? -1 : 1)));

    // A record naming a part no longer there: its counts may never have been committed, so every cell is sent its full count, warned of.
    const now = JSON.parse((await store.kvGet(INVENTORY_NS, 'sent:erp')) as string) as { cells: Record<string, unknown> };
    await store.kvSet(INVENTORY_NS, 'sent:erp', JSON.stringify({ cells: now.cells, pendingParts: { id: 'gone', parts: 1, count: 1 } }));
    const missing = { erp: { record: 'missing a readable write-ahead part ("plan:erp:gone:0" is not there), of counts planned and maybe not committed' } };
    expect((await inventoryReport(store, options, clock.t)).damagedRecords).toEqual(missing); // as `inventory counts` says it
    clock.t += MIN;
    const after = await runInventorySync(taskContext(store, clock), options);
    expect(after.damagedRecords).toEqual(missing);
    expect(after.deliveries.erp).toBe(Object.keys(record.cells).length);
    expect(JSON.parse((await store.kvGet(INVENTORY_NS, 'sent:erp')) as string)).not.toHaveProperty('pendingParts');
    const full = (await counts(store)).filter((d) => d.payload.countedAt === new Date(clock.t).toISOString());
    expect(full).toHaveLength(Object.keys(record.cells).length);
    expect(full.map((d) => d.payload.delta)).toEqual(full.map((d) => d.payload.countedQuantity));
    // Above every revision handed out: a minute on, the run's time (inventory-sync-writes.test.ts has the same ms, above the highest kept).
    expect(full.map((d) => d.payload.revision)).toEqual(full.map(() => clock.t));
    expect(await store.kvGet(INVENTORY_NS, 'highestRevision:erp')).toBe(String(clock.t));
  });
});
