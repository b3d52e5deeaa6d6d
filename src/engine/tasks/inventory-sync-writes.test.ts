/**
 * What an inventory run writes, and what survives it: the `sent:` record is written once per run
 * that plans counts (its write-ahead), a stop between any two of the run's writes neither loses a
 * count nor sends one twice, and the revisions of a damaged record's cells go on above every
 * revision handed out, though retention pruned their counts from the outbox.
 */
import { describe, expect, it } from 'vitest';
import { taskContext } from '../../../test/helpers/task-context.js';
import { useTempStores } from '../../../test/helpers/temp-stores.js';
import type { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import { INVENTORY_NS, inventoryReport, runInventorySync } from './inventory-sync.js';
import { nextRevision } from '../../core/rules/inventory/counts.js';
import { MIN, T0, inventoryOptions as options, seenAt as at } from '../../../test/helpers/inventory-sync.js';

const newStore = useTempStores();

const move = (store: SqliteStore, id: string, location: string, min: number) => store.commitIngest({ states: [{ erpAssetId: id, doc: at(location, min) }], deliveries: [], quarantine: [], accepted: 0 });

/** Items `I-0`…, SKU `S-<i mod skus>`, all seen in WH-A. */
async function items(n: number, skus = n): Promise<SqliteStore> {
  const store = newStore();
  const ids = Array.from({ length: n }, (_, i) => i);
  await store.upsertAssets(ids.map((i) => ({ asset: { erpAssetId: `I-${i}`, erpModule: 'inventory', attributes: { sku: `S-${i % skus}` } }, identifiers: [{ type: 'tag' as const, value: `t-${i}`, erpAssetId: `I-${i}` }] })));
  await store.commitIngest({ states: ids.map((i) => ({ erpAssetId: `I-${i}`, doc: at('WH-A', 0) })), deliveries: [], quarantine: [], accepted: 0 });
  return store;
}

/** Every count in the outbox (any status), by key: what the ERP is (or was) sent. */
const outbox = async (store: SqliteStore) =>
  (await store.listDeliveries({ operation: 'inventory.count', limit: 10_000 }))
    .map((d) => ({ businessKey: d.businessKey, countedQuantity: d.payload.countedQuantity, delta: d.payload.delta }))
    .sort((a, b) => (a.businessKey < b.businessKey ? -1 : 1));

const pendingKeys = async (store: SqliteStore) => (await store.listDeliveries({ status: 'pending', operation: 'inventory.count', limit: 10_000 })).map((d) => d.businessKey).sort();

async function deliverAll(store: SqliteStore, now: number): Promise<void> {
  const claimed = await store.claimDue('erp', Date.now() + MIN, 10_000, new Set());
  await store.completeAttempts(claimed.map((d) => ({ id: d.id, result: 'delivered' as const })), [], now);
}

/** Each write to the inventory namespace (kv set or delete) and commit of counts, in order, through `store` and the context. */
function recorded(store: SqliteStore, clock: { t: number }, stopAt?: number) {
  const steps: string[] = [];
  const step = (name: string) => {
    if (steps.length === stopAt) throw new Error(`stopped before ${name}`);
    steps.push(name);
  };
  const kvSet = store.kvSet.bind(store);
  const kvDelete = store.kvDelete.bind(store);
  store.kvSet = (ns, key, value) => {
    if (ns === INVENTORY_NS) step(`set ${key.replace(/:[0-9a-f-]{36}:/, ':<id>:')}`);
    return kvSet(ns, key, value);
  };
  store.kvDelete = (ns, key) => {
    if (ns === INVENTORY_NS) step(`delete ${key.replace(/:[0-9a-f-]{36}:/, ':<id>:')}`);
    return kvDelete(ns, key);
  };
  const commit = (deliveries: readonly DeliveryIntent[]) => {
    step(`commit ${deliveries.length}`);
    return store.commitIngest({ deliveries, states: [], quarantine: [], accepted: 0 });
  };
  return {
    steps,
    ctx: taskContext(store, clock, { commit }),
    restore: () => {
      store.kvSet = kvSet;
      store.kvDelete = kvDelete;
    },
  };
}

describe('inventory run writes', () => {
  // ~10 MB at 100,000 SKUs, 0.1 to 0.6 s of the event loop each time: it was written ahead, then again once committed.
  it('writes the sent record once in a run that plans counts, and not at all in one that plans none', async () => {
    const store = await items(6);
    const clock = { t: T0 + MIN };
    await runInventorySync(taskContext(store, clock), options);
    for (const id of ['I-1', 'I-2', 'I-3']) await move(store, id, 'WH-B', 1);
    clock.t += MIN;
    const moved = recorded(store, clock);
    expect((await runInventorySync(moved.ctx, options)).deliveries).toEqual({ erp: 6 });
    moved.restore();
    expect(moved.steps.filter((s) => s === 'set sent:erp')).toHaveLength(1);
    // The record names no write-ahead once done: nothing is left to finish.
    expect(Object.keys(JSON.parse((await store.kvGet(INVENTORY_NS, 'sent:erp')) as string) as object)).toEqual(['cells']);
    expect((await store.kvList(INVENTORY_NS)).map((r) => r.key).filter((k) => k.startsWith('plan'))).toEqual([]);

    clock.t += MIN;
    const still = recorded(store, clock);
    expect((await runInventorySync(still.ctx, options)).deliveries).toEqual({ erp: 0 });
    still.restore();
    expect(still.steps.filter((s) => s.startsWith('set sent:'))).toEqual([]);
  });

  it('stopped before any one of its writes, the next run leaves the ERP sent what a run never stopped sends: each count once, none lost', async () => {
    const setup = async () => {
      const store = await items(4, 3);
      const clock = { t: T0 + MIN };
      await runInventorySync(taskContext(store, clock), options);
      for (const id of ['I-0', 'I-1', 'I-3']) await move(store, id, 'WH-B', 1);
      clock.t += MIN;
      return { store, clock };
    };
    const clean = await setup();
    const run = recorded(clean.store, clean.clock);
    await runInventorySync(run.ctx, options);
    run.restore();
    const steps = run.steps;
    expect(steps.filter((s) => s.startsWith('commit'))).toHaveLength(1);
    const sent = await outbox(clean.store);
    const record = await clean.store.kvGet(INVENTORY_NS, 'sent:erp');
    // Then the one after: another item moves.
    const later = async (s: { store: SqliteStore; clock: { t: number } }) => {
      await move(s.store, 'I-2', 'WH-C', 2);
      s.clock.t += MIN;
      return runInventorySync(taskContext(s.store, s.clock), options);
    };
    await later(clean);
    const sentLater = await outbox(clean.store);

    for (let stop = 0; stop < steps.length; stop++) {
      const s = await setup();
      const stopped = recorded(s.store, s.clock, stop);
      await expect(runInventorySync(stopped.ctx, options), `stopped before ${steps[stop]}`).rejects.toThrow(`stopped before ${steps[stop]}`);
      stopped.restore();
      await runInventorySync(taskContext(s.store, s.clock), options);
      expect(await outbox(s.store), `stopped before ${steps[stop]}`).toEqual(sent);
      expect(await s.store.kvGet(INVENTORY_NS, 'sent:erp'), `stopped before ${steps[stop]}`).toBe(record);
      expect((await s.store.kvList(INVENTORY_NS)).map((r) => r.key).filter((k) => k.startsWith('plan')), `stopped before ${steps[stop]}`).toEqual([]);
      await later(s);
      expect(await outbox(s.store), `stopped before ${steps[stop]}, then a change`).toEqual(sentLater);
    }

    // Stopped, and an item moves before the next run: each cell's counts add up to what is counted, its revisions rising in the order committed.
    for (let stop = 0; stop < steps.length; stop++) {
      const s = await setup();
      const stopped = recorded(s.store, s.clock, stop);
      await expect(runInventorySync(stopped.ctx, options)).rejects.toThrow(`stopped before ${steps[stop]}`);
      stopped.restore();
      await later(s);
      const cells = new Map<string, { revisions: number[]; sum: number; last: unknown }>();
      const byId = (await s.store.listDeliveries({ operation: 'inventory.count', limit: 10_000 })).sort((a, b) => a.id - b.id);
      for (const d of byId.map((x) => ({ businessKey: x.businessKey, delta: x.payload.delta, countedQuantity: x.payload.countedQuantity }))) {
        const [location, sku, revision] = d.businessKey.split('|') as [string, string, string];
        const cell = cells.get(`${location}|${sku}`) ?? { revisions: [], sum: 0, last: undefined };
        cells.set(`${location}|${sku}`, { revisions: [...cell.revisions, Number(revision.slice(1))], sum: cell.sum + (d.delta as number), last: d.countedQuantity });
      }
      const now = { 'WH-A|S-0': 0, 'WH-A|S-1': 0, 'WH-A|S-2': 0, 'WH-B|S-0': 2, 'WH-B|S-1': 1, 'WH-C|S-2': 1 };
      expect(Object.fromEntries([...cells].map(([k, c]) => [k, c.sum])), `stopped before ${steps[stop]}, a change before the next run`).toEqual(now);
      expect(Object.fromEntries([...cells].map(([k, c]) => [k, c.last])), `stopped before ${steps[stop]}, a change before the next run`).toEqual(now);
      for (const [k, c] of cells) expect(c.revisions, `${k}, stopped before ${steps[stop]}`).toEqual([...new Set(c.revisions)].sort((a, b) => a - b));
    }
  });
});

/** Three single-item SKUs counted in WH-A (revision T0 + MIN each: the run's time) and delivered, then I-0 (S-0) moved to WH-B, a minute on: the next run plans its counts. */
async function countedThenMoved(): Promise<{ store: SqliteStore; clock: { t: number } }> {
  const store = await items(3);
  const clock = { t: T0 + MIN };
  await runInventorySync(taskContext(store, clock), options);
  await deliverAll(store, clock.t);
  await move(store, 'I-0', 'WH-B', 1);
  clock.t += MIN;
  return { store, clock };
}

/** Three single-item SKUs counted in WH-A (revision T0 + MIN each), then S-0 moved to WH-B (revision T0 + 2 MIN), all delivered, and every delivered count but the newest pruned by retention. */
async function prunedAfterMoves(): Promise<{ store: SqliteStore; clock: { t: number } }> {
  const { store, clock } = await countedThenMoved();
  await runInventorySync(taskContext(store, clock), options);
  await deliverAll(store, clock.t);
  const [r1, r2] = [T0 + MIN, T0 + 2 * MIN];
  expect((await outbox(store)).map((d) => d.businessKey)).toEqual([`WH-A|S-0|r${r1}`, `WH-A|S-0|r${r2}`, `WH-A|S-1|r${r1}`, `WH-A|S-2|r${r1}`, `WH-B|S-0|r${r2}`]);
  // The newest row stays (its id is the highest); the others' keys are kept, so a count under one of them is dropped.
  expect((await store.prune({ deliveredFactsBefore: clock.t + 1 }, 1000)).deliveredFacts).toBe(4);
  expect(await outbox(store)).toHaveLength(1);
  return { store, clock };
}

describe('a damaged sent record after retention', () => {
  // The revision floor came from the outbox rows alone: a cell whose counts were pruned went on at r1, a key the outbox keeps, and its full count was dropped.
  it('sends each cell its full count above the highest revision handed out, though retention pruned the counts it was read from', async () => {
    const { store, clock } = await prunedAfterMoves();
    const highest = clock.t;
    expect(await store.kvGet(INVENTORY_NS, 'highestRevision:erp')).toBe(String(highest));
    await store.kvSet(INVENTORY_NS, 'sent:erp', '{"cells":');
    // At the same ms as the counts before (the clock alone would give their revision again): above the highest handed out.
    const r = await runInventorySync(taskContext(store, clock), options);
    expect(r.damagedRecords).toEqual({ erp: { record: expect.stringMatching(/^not valid JSON/) as unknown } });
    expect(r.deliveries).toEqual({ erp: 3 });
    expect(await pendingKeys(store)).toEqual([`WH-A|S-1|r${highest + 1}`, `WH-A|S-2|r${highest + 1}`, `WH-B|S-0|r${highest + 1}`]);
    // A cell of it counted again goes on above the floor the record keeps (a cell never sent too), not at the clock's revision.
    await deliverAll(store, clock.t);
    await move(store, 'I-1', 'WH-C', 2);
    await runInventorySync(taskContext(store, clock), options);
    expect(await pendingKeys(store)).toEqual([`WH-A|S-1|r${highest + 2}`, `WH-C|S-1|r${highest + 1}`]);
    expect(await store.kvGet(INVENTORY_NS, 'highestRevision:erp')).toBe(String(highest + 2));
  });

  it('a damaged entry goes on above it too; a store an older version wrote (none kept) has it taken from its record while intact', async () => {
    const { store, clock } = await prunedAfterMoves();
    // As an older version left the store: no highest revision kept. The next run takes it from the record, though nothing moved.
    await store.kvDelete(INVENTORY_NS, 'highestRevision:erp');
    // At the same ms as the counts before (the clock alone would give their revision again).
    const highest = clock.t;
    expect((await runInventorySync(taskContext(store, clock), options)).deliveries).toEqual({ erp: 0 });
    expect(await store.kvGet(INVENTORY_NS, 'highestRevision:erp')).toBe(String(highest));
    const record = JSON.parse((await store.kvGet(INVENTORY_NS, 'sent:erp')) as string) as { cells: Record<string, unknown> };
    await store.kvSet(INVENTORY_NS, 'sent:erp', JSON.stringify({ cells: { ...record.cells, 'WH-A\u001fS-1': { quantity: 'one', revision: 1 } } }));
    const r = await runInventorySync(taskContext(store, clock), options);
    expect(r.damagedRecords).toEqual({ erp: { entries: ['WH-A\u001fS-1'] } });
    expect(await pendingKeys(store)).toEqual([`WH-A|S-1|r${highest + 1}`]);
  });
});

describe('`inventory counts` as the run does it', () => {
  /** What `inventory counts` says the next run sends (cells with a change), as the counts it would commit: key, total, delta. */
  const shown = async (store: SqliteStore, now: number) =>
    (await inventoryReport(store, options, now)).destinations.flatMap((d) => d.cells.filter((c) => c.change !== 0).map((c) => [`${c.location}|${c.sku}|r${nextRevision(c.revision, now)}`, c.quantity, c.change]));
  const committed = async (store: SqliteStore) => (await store.listDeliveries({ status: 'pending', operation: 'inventory.count', limit: 10_000 })).map((d) => [d.businessKey, d.payload.countedQuantity, d.payload.delta]).sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));

  // It showed a damaged record's cells at revision 0 (never sent), where the run goes on above the revisions used.
  it('shows a damaged record the way the run takes it: the revision each cell goes on above', async () => {
    const { store, clock } = await prunedAfterMoves();
    await store.kvSet(INVENTORY_NS, 'sent:erp', '{"cells":');
    await move(store, 'I-2', 'WH-C', 2);
    // At the same ms as the counts before: above the highest revision handed out, not the clock's.
    const highest = clock.t;
    const report = await inventoryReport(store, options, clock.t);
    const expected = await shown(store, clock.t);
    expect(expected).toEqual([
      [`WH-A|S-1|r${highest + 1}`, 1, 1],
      [`WH-B|S-0|r${highest + 1}`, 1, 1],
      [`WH-C|S-2|r${highest + 1}`, 1, 1],
    ]);
    const r = await runInventorySync(taskContext(store, clock), options);
    expect(report.damagedRecords).toEqual(r.damagedRecords);
    expect(await committed(store)).toEqual(expected);
  });

  // It read only the parts a record named (an older version's write-ahead), not a note's.
  it('shows a write-ahead whose part is gone as the damage the run finds', async () => {
    const { store, clock } = await countedThenMoved();
    // Stopped once the record is written, before its counts are committed; then the part is deleted by hand.
    const steps = recorded(store, clock, 4);
    await expect(runInventorySync(steps.ctx, options)).rejects.toThrow('stopped before commit 2');
    steps.restore();
    expect(steps.steps).toEqual(['set plan:erp:<id>:0', 'set highestRevision:erp', 'set planned:erp', 'set sent:erp']);
    const part = (await store.kvList(INVENTORY_NS)).find((r) => r.key.startsWith('plan:erp:'));
    await store.kvDelete(INVENTORY_NS, part?.key as string);
    const report = await inventoryReport(store, options, clock.t);
    expect(report.damagedRecords).toEqual({ erp: { record: expect.stringMatching(/^missing a readable write-ahead part \("plan:erp:[0-9a-f-]+:0" is not there\)/) as unknown } });
    const expected = await shown(store, clock.t);
    const r = await runInventorySync(taskContext(store, clock), options);
    expect(r.damagedRecords).toEqual(report.damagedRecords);
    expect(await committed(store)).toEqual(expected);
    // At the same ms as the counts planned: above the revision handed out to them, not the clock's.
    expect(expected.map((c) => c[0])).toEqual([`WH-A|S-1|r${clock.t + 1}`, `WH-A|S-2|r${clock.t + 1}`, `WH-B|S-0|r${clock.t + 1}`]);
  });
});
