/**
 * Counting and planning in slices (the inventory task pauses between them, so the event loop is not
 * held for the whole walk) give what counting and planning in one go give, to the byte of the record kept.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { Slicer } from '../../slices.js';
import {
  cellKey,
  countInventory,
  countInventorySliced,
  planInventoryCounts,
  planInventoryCountsSliced,
  reconcileWithOnHand,
  reconcileWithOnHandSliced,
  snapshotCells,
  snapshotCellsSliced,
  type InventoryItem,
  type SentCounts,
} from './counts.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;
const opts = { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 60 * MIN };

/** Yields at every step, counting the pauses. */
const everyStep = (): Slicer & { pauses: number } => {
  const s = { pauses: 0, due: () => true, pause: () => Promise.resolve(void s.pauses++) };
  return s;
};

const location = fc.constantFrom('WH-A', 'WH-B', 'A|B', 'WH-%', '__proto__', 'WH-C');
const sku = fc.constantFrom('S1', 'S2', 'S|1', 'constructor', 'S3');
const item = fc.record({
  sku: fc.option(sku, { nil: undefined }),
  quantity: fc.constantFrom(undefined, '', '4', '40', 'ten', '0'),
  destination: fc.constantFrom('erp', 'wms'),
  location: fc.option(location, { nil: null }),
  seenMin: fc.option(fc.integer({ min: -120, max: 60 }), { nil: undefined }),
});
const sentCell = fc.record({ location, sku, quantity: fc.integer({ min: 0, max: 50 }), revision: fc.integer({ min: 1, max: 9 }) });

type Row = { sku?: string | undefined; quantity?: string | undefined; destination: string; location: string | null; seenMin?: number | undefined };

const itemsOf = (rows: readonly Row[]): InventoryItem[] =>
  rows.map((r, i) => ({
    asset: { erpAssetId: `P-${i}`, erpModule: 'inventory', attributes: { ...(r.sku !== undefined ? { sku: r.sku } : {}), ...(r.quantity !== undefined ? { quantity: r.quantity } : {}) } } satisfies AssetRecord,
    destination: r.destination,
    state: r.seenMin === undefined ? undefined : { location: r.location, seenAt: T0 + r.seenMin * MIN, since: T0 - MIN },
  }));

describe('inventory counts and plans in slices', () => {
  it('property: the counts, plans (changes and full) and snapshot cells are those made in one go, the record kept the same text', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(item, { maxLength: 40 }),
        fc.array(sentCell, { maxLength: 12 }),
        fc.array(fc.tuple(location, sku), { maxLength: 4 }),
        fc.boolean(),
        fc.boolean(),
        async (rows, sentRows, againRows, withRepaired, edited) => {
          const items = itemsOf(rows);
          const now = T0;
          const slicer = everyStep();
          const counts = countInventory(items, now, opts);
          const sliced = await countInventorySliced(items, now, opts, slicer);
          expect(sliced).toEqual(counts);
          expect([...sliced.keys()]).toEqual([...counts.keys()]);
          for (const [d, cells] of counts) expect([...(sliced.get(d)?.keys() ?? [])]).toEqual([...cells.keys()]);
          // A record as read back from the store (JSON: an own `__proto__` stays a key).
          const cells: Record<string, { quantity: number; revision: number }> = {};
          for (const c of sentRows) cells[cellKey(c.location, c.sku)] = { quantity: c.quantity, revision: c.revision };
          const text = JSON.stringify({ cells, ...(withRepaired ? { repaired: [3] } : {}) });
          // Edited by hand: a key no cell makes, an own `__proto__` once parsed (last sent 0: kept, not planned).
          const sent = JSON.parse(edited ? text.replace('{"cells":{', `{"cells":{"__proto__":{"quantity":0,"revision":1}${sentRows.length ? ',' : ''}`) : text) as SentCounts;
          const again = new Set(againRows.map(([l, s]) => cellKey(l, s)));
          const current = counts.get('erp') ?? new Map();
          // (A full snapshot would send the key no cell makes: it fails either way.)
          for (const mode of edited ? (['changes'] as const) : (['changes', 'full'] as const)) {
            const whole = planInventoryCounts('erp', current, sent, mode, now, again);
            const inSlices = await planInventoryCountsSliced('erp', current, sent, mode, now, again, slicer);
            expect(inSlices.deliveries).toEqual(whole.deliveries);
            expect(JSON.stringify(inSlices.next)).toBe(JSON.stringify(whole.next));
            expect(inSlices.next.cells === sent.cells).toBe(whole.next.cells === sent.cells);
            // Every cell kept, in its order, the new ones after (as `{ ...sent.cells }` then the plan make them).
            expect(Object.keys(whole.next.cells).slice(0, Object.keys(sent.cells).length)).toEqual(Object.keys(sent.cells));
          }
          // On-hand quantities read for some cells (a full snapshot's, against an ERP edited by hand).
          const onHand = sentRows.filter((_, i) => i % 2 === 0).map((c) => ({ location: c.location, sku: c.sku, quantity: c.quantity + 0.5 }));
          const reconciled = reconcileWithOnHand(sent, onHand);
          expect(JSON.stringify(await reconcileWithOnHandSliced(sent, onHand, slicer))).toBe(JSON.stringify(reconciled));
          expect(Object.keys(reconciled.cells).slice(0, Object.keys(sent.cells).length)).toEqual(Object.keys(sent.cells));
          if (!edited) expect(await snapshotCellsSliced(current, sent, again, slicer)).toEqual(snapshotCells(current, sent, again));
          if (items.length > 1) expect(slicer.pauses).toBeGreaterThan(0);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a plan of thousands of cells, sorted in slices, is the plan made in one go', async () => {
    // Above one sort run (2,048 keys): the keys are sorted in runs and merged, with pauses on the way.
    const items: InventoryItem[] = Array.from({ length: 9000 }, (_, i) => ({
      asset: { erpAssetId: `P-${i}`, erpModule: 'inventory', attributes: { sku: `SKU-${(i * 7919) % 5003}` } },
      destination: 'erp',
      state: { location: `WH-${i % 3}`, seenAt: T0, since: T0 },
    }));
    const current = countInventory(items, T0, opts).get('erp') ?? new Map();
    const sent: SentCounts = { cells: Object.fromEntries([...current].filter((_, i) => i % 3 === 0).map(([k, c]) => [k, { quantity: c.quantity + 1, revision: 2 }])) };
    const slicer = everyStep();
    for (const mode of ['changes', 'full'] as const) {
      const whole = planInventoryCounts('erp', current, sent, mode, T0);
      const inSlices = await planInventoryCountsSliced('erp', current, sent, mode, T0, new Set(), slicer);
      expect(inSlices.deliveries.map((d) => d.businessKey)).toEqual(whole.deliveries.map((d) => d.businessKey));
      expect(inSlices).toEqual(whole);
    }
    expect(slicer.pauses).toBeGreaterThan(9000);
  });
});
