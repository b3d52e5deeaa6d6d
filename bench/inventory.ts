/**
 * Inventory benchmark: one inventory run (the `inventory-sync` task: every tagged item's state
 * read, counted per (location, SKU), the changed counts planned and committed) over a large tag
 * fleet, as a ratio to the least any run must do in the same process: read every item's stored
 * inventory state in one query and parse it. Items carry a location-sync state too, as they do
 * where location sync is on, so a run that read every rule's state would show.
 * @module
 */
import { resolve } from 'node:path';
import { runInventorySync, type InventorySyncOptions } from '../src/engine/tasks/inventory-sync.js';
import type { TaskContext } from '../src/ports/task.js';
import { tuneV8 } from '../src/runtime/v8-tuning.js';
import { withTempStore } from '../test/helpers/temp-store.js';
import { median } from './rules.js';
import { watchHolds } from './event-loop-hold.js';

export interface InventoryBenchResult {
  readonly items: number;
  /** ms per run with nothing changed since the last (the usual `changesEvery` run). */
  readonly unchangedRunMs: number;
  /** ms per run after every item moved (every count changes). */
  readonly movedRunMs: number;
  /** ms to read and parse every item's inventory state in one query: the floor. */
  readonly bareReadMs: number;
  /** The longest the event loop was held at once during the unchanged runs, ms (ingest and HTTP wait that long). */
  readonly longestStallMs: number;
  /** bare read / unchanged run (1 = the run costs no more than reading the states). */
  readonly ratio: number;
  readonly countsPerMovedRun: number;
}

const OPTIONS: InventorySyncOptions = { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 86_400_000, changesEveryMs: 60_000, fullSnapshotCron: '0 2 * * *', timeZone: 'UTC', defaultDestination: 'erp' };

/**
 * `skus`: how many SKUs the items share (100: a few hundred cells; `items`: one item per SKU, a
 * cell per item, as a fleet of single-item SKUs has, whose sent record is ~5 MB at 100,000).
 */
export async function benchInventory(items = 100_000, runs = 3, skus = 100): Promise<InventoryBenchResult> {
  return withTempStore({ synchronous: 'normal' }, async (store) => {
    const now = Date.now();
    await store.upsertAssets(
      Array.from({ length: items }, (_, i) => ({
        asset: { erpAssetId: `IT-${i}`, erpModule: 'inventory', attributes: { sku: `SKU-${i % skus}` } },
        identifiers: [{ type: 'tag' as const, value: `rfid-${i}`, erpAssetId: `IT-${i}` }],
      })),
    );
    // Each item at one of 200 locations; `round` moves every item to another.
    const place = async (round: number) => {
      for (let i = 0; i < items; i += 5000) {
        const states = [];
        for (let j = i; j < Math.min(items, i + 5000); j++) {
          const at = `WH-${(j * 7 + round) % 200}`;
          const location = { last: { t: now - 1000, lat: 50 + (j % 1000) / 1e4, lng: 10 + (j % 997) / 1e4, zone: at }, sent: { zone: at, t: now - 1000 }, order: { pending: [] } };
          states.push({ erpAssetId: `IT-${j}`, doc: { location, inventory: { location: at, seenAt: now - 1000 - round, since: now - 5000 } }, changed: ['location', 'inventory'] });
        }
        await store.commitIngest({ states, deliveries: [], quarantine: [], accepted: 0, checkpoint: true });
      }
    };
    const ctx = {
      store,
      clock: { now: () => Date.now() },
      commit: (deliveries) => store.commitIngest({ states: [], deliveries, quarantine: [], accepted: 0 }),
      checkpoint: () => Promise.resolve(),
      connector: () => undefined,
      signal: new AbortController().signal,
    } as Partial<TaskContext> as TaskContext;
    await place(0);
    await runInventorySync(ctx, OPTIONS); // the first run: a full snapshot, untimed
    const bare: number[] = [];
    const unchanged: number[] = [];
    const moved: number[] = [];
    let counts = 0;
    let stall = 0;
    const read = store.db.prepare(`SELECT doc FROM asset_rule_state WHERE rule = 'inventory'`).pluck();
    for (let r = 1; r <= runs; r++) {
      let t = performance.now();
      let n = 0;
      for (const doc of read.iterate() as Iterable<string>) if ((JSON.parse(doc) as { location?: string }).location !== undefined) n++;
      if (n !== items) throw new Error(`the bare read found ${n} items of ${items}`);
      bare.push(performance.now() - t);
      const holds = watchHolds();
      t = performance.now();
      await runInventorySync(ctx, OPTIONS);
      unchanged.push(performance.now() - t);
      stall = Math.max(stall, holds.stop());
      await place(r);
      t = performance.now();
      const summary = await runInventorySync(ctx, OPTIONS);
      moved.push(performance.now() - t);
      counts = summary.deliveries.erp ?? 0;
      if (counts === 0) throw new Error('a run after every item moved sent no counts: the benchmark is wrong');
    }
    const b = median(bare);
    const u = median(unchanged);
    return { items, unchangedRunMs: Math.round(u), longestStallMs: Math.round(stall), movedRunMs: Math.round(median(moved)), bareReadMs: Math.round(b), ratio: Math.round((b / u) * 1000) / 1000, countsPerMovedRun: counts };
  });
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  tuneV8();
  process.stdout.write(`${JSON.stringify(await benchInventory(Number(process.env.BENCH_INVENTORY_ITEMS ?? 100_000), 3, Number(process.env.BENCH_INVENTORY_SKUS ?? 100)), null, 2)}\n`);
}
