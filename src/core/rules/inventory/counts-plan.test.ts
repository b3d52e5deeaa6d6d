import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeliveryIntent } from '../../model/delivery.js';
import { EMPTY_SENT, cellKey, discardedCountsOf, giveBackDiscarded, planInventoryCounts, type CountCell, type SentCounts } from './counts.js';

const cellsOf = (entries: readonly (readonly [string, string, number])[]): Map<string, CountCell> => {
  const m = new Map<string, CountCell>();
  for (const [location, sku, quantity] of entries) {
    const k = cellKey(location, sku);
    const prev = m.get(k);
    m.set(k, { location, sku, quantity: (prev?.quantity ?? 0) + quantity, items: (prev?.items ?? 0) + 1 });
  }
  return m;
};

describe('inventory count plans', () => {
  it('property: per cell the deltas add up to the last total sent, each total follows the previous one, keys never repeat', () => {
    const loc = fc.constantFrom('WH-A', 'WH-B', 'A|B', 'A');
    const sku = fc.constantFrom('S1', 'S2', 'B|S1', 'S1|x');
    const round = fc.array(fc.tuple(loc, sku, fc.integer({ min: 1, max: 40 })), { maxLength: 8 });
    fc.assert(
      fc.property(fc.array(fc.tuple(round, fc.boolean()), { minLength: 1, maxLength: 12 }), (rounds) => {
        let sent: SentCounts = EMPTY_SENT;
        const keys = new Set<string>();
        const byCell = new Map<string, { total: number; deltas: number }>();
        for (const [entries, full] of rounds) {
          const current = cellsOf(entries);
          const plan = planInventoryCounts('erp', current, sent, full ? 'full' : 'changes', 0);
          for (const d of plan.deliveries) {
            expect(keys.has(d.businessKey)).toBe(false);
            keys.add(d.businessKey);
            const k = cellKey(d.payload.location as string, d.payload.sku as string);
            const c = byCell.get(k) ?? { total: 0, deltas: 0 };
            expect(d.payload.previousQuantity).toBe(c.total);
            byCell.set(k, { total: d.payload.countedQuantity as number, deltas: c.deltas + (d.payload.delta as number) });
          }
          sent = plan.next;
          for (const [k, c] of current) expect(byCell.get(k)?.total).toBe(c.quantity);
        }
        for (const c of byCell.values()) expect(c.deltas).toBe(c.total);
      }),
      { numRuns: 300 },
    );
  });

  it('cells whose location or SKU hold "|" get distinct business keys', () => {
    const plan = planInventoryCounts('erp', cellsOf([['A|B', 'C', 1], ['A', 'B|C', 2]]), EMPTY_SENT, 'changes', 0);
    expect(new Set(plan.deliveries.map((d) => d.businessKey)).size).toBe(2);
    // Plain codes keep the key format they always had.
    expect(planInventoryCounts('erp', cellsOf([['1000/0001', 'PAL-40', 1]]), EMPTY_SENT, 'changes', 0).deliveries[0]?.businessKey).toBe('1000/0001|PAL-40|r1');
  });

  it('a full snapshot sends every cell ever sent, one emptied since as 0, so an ERP edited by hand is set right', () => {
    const first = planInventoryCounts('erp', cellsOf([['A', 'S1', 2]]), EMPTY_SENT, 'changes', 0);
    const emptied = planInventoryCounts('erp', new Map(), first.next, 'changes', 1);
    expect(emptied.deliveries.map((d) => d.payload.countedQuantity)).toEqual([0]);
    const snapshot = planInventoryCounts('erp', new Map(), emptied.next, 'full', 2);
    expect(snapshot.deliveries.map((d) => [d.businessKey, d.payload.countedQuantity, d.payload.delta])).toEqual([['A|S1|r3', 0, 0]]);
    // A cell never sent and empty now is nothing to send.
    expect(planInventoryCounts('erp', new Map(), EMPTY_SENT, 'full', 3).deliveries).toEqual([]);
  });

  it("a cell's revisions share one delivery sequence (sent in order); other cells have their own", () => {
    const first = planInventoryCounts('erp', cellsOf([['A|B', 'C', 1], ['A', 'B|C', 2]]), EMPTY_SENT, 'changes', 0);
    const second = planInventoryCounts('erp', cellsOf([['A|B', 'C', 3], ['A', 'B|C', 2]]), first.next, 'changes', 1);
    const a1 = first.deliveries.find((d) => d.businessKey === 'A%7CB|C|r1');
    const b1 = first.deliveries.find((d) => d.businessKey === 'A|B%7CC|r1');
    expect(a1?.sequence).toBeDefined();
    expect(a1?.sequence).not.toBe(b1?.sequence);
    expect(second.deliveries.map((d) => [d.businessKey, d.sequence])).toEqual([['A%7CB|C|r2', a1?.sequence]]);
  });

  it('property: counts given up with dlq discard are given back once, so an ERP that takes deltas and one that takes totals both end at the count', () => {
    const loc = fc.constantFrom('WH-A', 'A|B', 'A%7C');
    const sku = fc.constantFrom('S1', 'B|S1');
    const round = fc.tuple(fc.array(fc.tuple(loc, sku, fc.integer({ min: 1, max: 40 })), { maxLength: 6 }), fc.boolean(), fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), fc.boolean());
    fc.assert(
      fc.property(fc.array(round, { minLength: 1, maxLength: 10 }), (rounds) => {
        let sent: SentCounts = EMPTY_SENT;
        const outbox: { id: number; delivery: DeliveryIntent; discarded: boolean }[] = [];
        let ids = 0;
        const deltaErp = new Map<string, number>();
        const totalErp = new Map<string, number>();
        const apply = (d: DeliveryIntent) => {
          const k = cellKey(d.payload.location as string, d.payload.sku as string);
          deltaErp.set(k, (deltaErp.get(k) ?? 0) + (d.payload.delta as number));
          totalErp.set(k, d.payload.countedQuantity as number); // revisions of a cell arrive in order
        };
        const listed = () => discardedCountsOf(outbox.filter((o) => o.discarded).map((o) => ({ id: o.id, operation: o.delivery.operation, ...(o.delivery.sequence !== undefined ? { sequence: o.delivery.sequence } : {}), payload: o.delivery.payload })));
        const run = (current: Map<string, CountCell>, full: boolean, discard: readonly boolean[]) => {
          sent = giveBackDiscarded(sent, listed()).sent;
          // Given back once: the same listing again changes nothing.
          expect(giveBackDiscarded(sent, listed()).sent).toBe(sent);
          const plan = planInventoryCounts('erp', current, sent, full ? 'full' : 'changes', 0);
          plan.deliveries.forEach((delivery, i) => {
            const discarded = discard[i % discard.length] === true;
            outbox.push({ id: ++ids, delivery, discarded });
            if (!discarded) apply(delivery);
          });
          sent = plan.next;
        };
        let current = new Map<string, CountCell>();
        for (const [entries, full, discard, retention] of rounds) {
          current = cellsOf(entries);
          run(current, full, discard);
          // Retention deletes the oldest discarded row once it was given back: nothing is given twice.
          const oldest = outbox.findIndex((o) => o.discarded && sent.repaired?.includes(o.id));
          if (retention && oldest >= 0) outbox.splice(oldest, 1);
        }
        // A run in which nothing is discarded: every cell is right in both kinds of ERP.
        run(current, false, [false]);
        for (const k of new Set([...deltaErp.keys(), ...current.keys()])) {
          const want = current.get(k)?.quantity ?? 0;
          expect(deltaErp.get(k) ?? 0, `delta ERP ${k}`).toBe(want);
          expect(totalErp.get(k) ?? 0, `total ERP ${k}`).toBe(want);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a discarded count gives its change back to its cell, read from its sequence (an edited payload keeps it), once', () => {
    const first = planInventoryCounts('erp', cellsOf([['A|B', 'S%1', 5]]), EMPTY_SENT, 'changes', 0);
    const d = first.deliveries[0] as DeliveryIntent;
    const row = { id: 7, operation: d.operation, sequence: d.sequence as string, payload: { ...d.payload, location: 'EDITED' } };
    expect(discardedCountsOf([row, { id: 8, operation: 'location.update', payload: {} }])).toEqual([{ id: 7, location: 'A|B', sku: 'S%1', delta: 5 }]);
    const back = giveBackDiscarded(first.next, discardedCountsOf([row]));
    expect(back.given.map((g) => g.id)).toEqual([7]);
    expect(back.sent.repaired).toEqual([7]);
    expect(back.sent.cells[cellKey('A|B', 'S%1')]).toEqual({ quantity: 0, revision: 1 });
    // The next plan sends the change again, as a new revision.
    const again = planInventoryCounts('erp', cellsOf([['A|B', 'S%1', 5]]), back.sent, 'changes', 1);
    expect(again.deliveries.map((x) => [x.businessKey, x.payload.delta, x.payload.countedQuantity])).toEqual([['A%7CB|S%251|r2', 5, 5]]);
    expect(again.next.repaired).toEqual([7]);
    // Listed once more: nothing; no longer listed (retention): forgotten.
    expect(giveBackDiscarded(again.next, discardedCountsOf([row])).sent).toBe(again.next);
    expect(giveBackDiscarded(again.next, []).sent).toEqual({ cells: again.next.cells });
  });
});
