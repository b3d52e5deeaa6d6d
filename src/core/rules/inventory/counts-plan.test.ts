import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeliveryIntent } from '../../model/delivery.js';
import { EMPTY_SENT, asNeverSent, cellKey, cellsOfCounts, compareCounts, discardedCountsOf, giveBackDiscarded, overtakenCells, parsePendingParts, nextRevision, parseSentRecord, planInventoryCounts, reconcileWithOnHand, recordOfPlan, snapshotCells, type CountCell, type SentCounts } from './counts.js';

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
  it('what inventory counts shows is what a full snapshot sends, less the cells last sent 0 with nothing counted now', () => {
    // WH-A was sent 40 then 0 (emptied); WH-B is sent 5; WH-C is counted, never sent.
    const sent: SentCounts = { cells: { [cellKey('WH-A', 'S')]: { quantity: 0, revision: 2 }, [cellKey('WH-B', 'S')]: { quantity: 5, revision: 1 } } };
    const current = cellsOf([['WH-B', 'S', 5], ['WH-C', 'S', 3]]);
    const shown = compareCounts(current, sent).map((c) => c.location);
    const snapshot = planInventoryCounts('erp', current, sent, 'full', 0).deliveries.map((d) => d.payload.location);
    expect(shown).toEqual(['WH-B', 'WH-C']);
    expect(snapshot).toEqual(['WH-A', 'WH-B', 'WH-C']); // not "exactly the cells" inventory counts shows, as its doc said
  });


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

  it("a cell's next revision is the count's time (ms since 1970), or one above its last when that is higher", () => {
    const T = Date.UTC(2026, 11, 1);
    expect(nextRevision(0, T)).toBe(T);
    expect(nextRevision(3, T)).toBe(T); // a store an older version wrote (revisions from 1): on from the clock
    expect(nextRevision(T, T)).toBe(T + 1); // counted again within the same ms
    expect(nextRevision(T + 5, T)).toBe(T + 6); // the clock gone back: still forward
    expect(nextRevision(4, 0)).toBe(5); // no clock to go by (the pure tests' 0)
    expect(nextRevision(4, T + 0.7)).toBe(T);
    expect(nextRevision(4, Number.NaN)).toBe(5);
    // In a plan: the record's revision (or floor) against the time planned.
    const sent: SentCounts = { cells: { [cellKey('WH-A', 'S')]: { quantity: 1, revision: 2 } }, revisionFloor: T + 10 };
    const plan = planInventoryCounts('erp', cellsOf([['WH-A', 'S', 2], ['WH-B', 'S', 1]]), sent, 'changes', T);
    expect(plan.deliveries.map((d) => [d.businessKey, d.payload.revision])).toEqual([
      [`WH-A|S|r${T}`, T],
      [`WH-B|S|r${T + 11}`, T + 11],
    ]);
    expect(plan.next.cells).toEqual({ [cellKey('WH-A', 'S')]: { quantity: 2, revision: T }, [cellKey('WH-B', 'S')]: { quantity: 1, revision: T + 11 } });
  });

  // Revisions were counted up from the record alone: a store restored from an older copy handed out
  // again the revisions sent since the copy, and an ERP that keeps keys took those counts as ones it had.
  it('property: with the record rolled back to an older one (a store restored from a copy), keys never repeat and the ERP that dedupes by key ends at the count', () => {
    const loc = fc.constantFrom('WH-A', 'WH-B');
    const round = fc.record({
      entries: fc.array(fc.tuple(loc, fc.constantFrom('S1', 'S2'), fc.integer({ min: 1, max: 9 })), { maxLength: 5 }),
      full: fc.boolean(),
      // ms since the last run: runs are a minute or more apart (changesEvery), a restore takes longer still
      after: fc.integer({ min: 1, max: 3_600_000 }),
      // restore the record as it was before this many runs back (0: none)
      restore: fc.nat({ max: 4 }),
    });
    fc.assert(
      fc.property(fc.array(round, { minLength: 1, maxLength: 12 }), (rounds) => {
        let now = Date.UTC(2026, 11, 1);
        let sent: SentCounts = EMPTY_SENT;
        const history: SentCounts[] = [];
        const erp = new Map<string, number>(); // a cell's total at an ERP that takes totals
        const keys = new Set<string>();
        for (const r of rounds) {
          now += r.after;
          if (r.restore > 0 && history.length >= r.restore) sent = history[history.length - r.restore] as SentCounts;
          history.push(sent);
          const current = cellsOf(r.entries);
          const plan = planInventoryCounts('erp', current, sent, r.full ? 'full' : 'changes', now);
          for (const d of plan.deliveries) {
            // The ERP takes a key it has as a count it applied, and leaves its total as it is.
            if (!keys.has(d.businessKey)) erp.set(cellKey(d.payload.location as string, d.payload.sku as string), d.payload.countedQuantity as number);
            keys.add(d.businessKey);
          }
          // Each count sent in this run is the total the ERP holds for its cell.
          for (const d of plan.deliveries) expect(erp.get(cellKey(d.payload.location as string, d.payload.sku as string))).toBe(d.payload.countedQuantity);
          sent = plan.next;
        }
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

  it('a changes run that changes nothing keeps the record as it was, not a copy of every cell (the run each minute, over 100,000s of cells with many SKUs)', () => {
    const current = new Map([[cellKey('A', 'S'), { location: 'A', sku: 'S', quantity: 3, items: 3 }]]);
    const sent: SentCounts = { cells: { [cellKey('A', 'S')]: { quantity: 3, revision: 2 }, [cellKey('B', 'S')]: { quantity: 0, revision: 4 } }, repaired: [7] };
    const plan = planInventoryCounts('erp', current, sent, 'changes', 0);
    expect(plan.deliveries).toEqual([]);
    expect(plan.next).toEqual({ cells: sent.cells, repaired: [7] });
    expect(plan.next.cells).toBe(sent.cells);
    // A change: only that cell is planned, the others kept.
    const moved = planInventoryCounts('erp', new Map(), sent, 'changes', 0);
    expect(moved.deliveries.map((d) => [d.businessKey, d.payload.countedQuantity, d.payload.delta])).toEqual([['A|S|r3', 0, -3]]);
    expect(moved.next.cells).toEqual({ [cellKey('A', 'S')]: { quantity: 0, revision: 3 }, [cellKey('B', 'S')]: { quantity: 0, revision: 4 } });
  });

  it('replayed counts older than the newest revision of their cell have its total sent again, delta 0; a replay of the newest one does not', () => {
    const sent: SentCounts = { cells: { [cellKey('A', 'S')]: { quantity: 7, revision: 3 }, [cellKey('B', 'S')]: { quantity: 2, revision: 2 } } };
    const count = (cell: string, r: number) => ({ operation: 'inventory.count', sequence: cell, businessKey: `${cell}|r${r}` });
    // A's r1 was overtaken by r3; B's r1 and r2 were both replayed, r2 the newest: it lands last.
    const again = overtakenCells([count('A|S', 1), count('B|S', 1), count('B|S', 2), { operation: 'location.update', businessKey: 'EQ-1' }], sent);
    expect([...again]).toEqual([cellKey('A', 'S')]);
    const plan = planInventoryCounts('erp', new Map([[cellKey('A', 'S'), { location: 'A', sku: 'S', quantity: 7, items: 7 }], [cellKey('B', 'S'), { location: 'B', sku: 'S', quantity: 2, items: 2 }]]), sent, 'changes', 0, again);
    expect(plan.deliveries.map((d) => [d.businessKey, d.payload.countedQuantity, d.payload.delta])).toEqual([['A|S|r4', 7, 0]]);
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

  it('a delta against a fractional on-hand quantity has its decimals, not float noise (2 − 2.3 is -0.3, not -0.2999999999999998)', () => {
    const current = cellsOf([['WH-A', 'S1', 2], ['WH-B', 'S1', 3], ['WH-C', 'S1', 1]]);
    const against = reconcileWithOnHand(EMPTY_SENT, [
      { location: 'WH-A', sku: 'S1', quantity: 2.3 },
      { location: 'WH-B', sku: 'S1', quantity: 2.7 },
      { location: 'WH-C', sku: 'S1', quantity: 1.0000001 },
    ]);
    const plan = planInventoryCounts('erp', current, against, 'full', 0);
    expect(plan.deliveries.map((d) => d.payload.delta)).toEqual([-0.3, 0.3, -1e-7]);
    expect(plan.deliveries.map((d) => d.payload.countedQuantity)).toEqual([2, 3, 1]);
    // Such a count discarded gives its change back as exactly what the ERP held, and the next run sends it again unchanged.
    const [a] = plan.deliveries;
    const back = giveBackDiscarded(plan.next, [{ id: 1, location: 'WH-A', sku: 'S1', delta: a?.payload.delta as number }]);
    expect(back.sent.cells[cellKey('WH-A', 'S1')]?.quantity).toBe(2.3);
    expect(compareCounts(current, back.sent).find((c) => c.location === 'WH-A')?.change).toBe(-0.3);
  });

  it('a snapshot against the on-hand read sends counted − on hand as its delta and the count as its total; cells never sent start at revision 1', () => {
    const first = planInventoryCounts('erp', cellsOf([['WH-A', 'S1', 10], ['WH-B', 'S1', 4]]), EMPTY_SENT, 'changes', 0);
    // Someone set WH-A to 7 by hand; WH-C holds 3 the service never sent, and 2 are counted there now.
    const current = cellsOf([['WH-A', 'S1', 10], ['WH-B', 'S1', 4], ['WH-C', 'S1', 2]]);
    const cells = snapshotCells(current, first.next);
    expect(cells).toEqual([{ location: 'WH-A', sku: 'S1' }, { location: 'WH-B', sku: 'S1' }, { location: 'WH-C', sku: 'S1' }]);
    const against = reconcileWithOnHand(first.next, [{ location: 'WH-A', sku: 'S1', quantity: 7 }, { location: 'WH-C', sku: 'S1', quantity: 3 }]);
    expect(against.cells[cellKey('WH-A', 'S1')]).toEqual({ quantity: 7, revision: 1 });
    const plan = planInventoryCounts('erp', current, against, 'full', 1);
    expect(plan.deliveries.map((d) => [d.businessKey, d.payload.countedQuantity, d.payload.delta, d.payload.previousQuantity])).toEqual([
      ['WH-A|S1|r2', 10, 3, 7],
      ['WH-B|S1|r2', 4, 0, 4],
      ['WH-C|S1|r1', 2, -1, 3],
    ]);
    expect(plan.next.cells).toEqual({ [cellKey('WH-A', 'S1')]: { quantity: 10, revision: 2 }, [cellKey('WH-B', 'S1')]: { quantity: 4, revision: 2 }, [cellKey('WH-C', 'S1')]: { quantity: 2, revision: 1 } });
    // Nothing read: the same record; cells with a count not landed are left out of the read.
    expect(reconcileWithOnHand(first.next, [])).toBe(first.next);
    const held = cellsOfCounts([{ operation: 'inventory.count', sequence: first.deliveries[0]?.sequence }, { operation: 'location.update', sequence: 'x|y' }]);
    expect([...held]).toEqual([cellKey('WH-A', 'S1')]);
    expect(snapshotCells(current, first.next, held).map((c) => c.location)).toEqual(['WH-B', 'WH-C']);
    // A cell never sent and empty now is not sent, so not read; one sent and empty now is.
    expect(snapshotCells(cellsOf([['WH-A', 'S1', 1]]), EMPTY_SENT).map((c) => c.location)).toEqual(['WH-A']);
    expect(snapshotCells(new Map(), first.next).map((c) => c.location)).toEqual(['WH-A', 'WH-B']);
  });

  it('property: after edits by hand, a snapshot against the on-hand read (counts not landed left out) brings an ERP that takes deltas and one that takes totals to the count', () => {
    const loc = fc.constantFrom('WH-A', 'A|B');
    const sku = fc.constantFrom('S1', 'B|S1');
    const edit = fc.tuple(loc, sku, fc.integer({ min: -5, max: 50 }));
    // Per round: the counts, a full snapshot or not, edits by hand before it, and which new deliveries stay in the outbox a round longer.
    const round = fc.tuple(fc.array(fc.tuple(loc, sku, fc.integer({ min: 1, max: 40 })), { maxLength: 6 }), fc.boolean(), fc.array(edit, { maxLength: 3 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }));
    fc.assert(
      fc.property(fc.array(round, { minLength: 1, maxLength: 10 }), (rounds) => {
        for (const takes of ['delta', 'total'] as const) {
          let sent: SentCounts = EMPTY_SENT;
          const erp = new Map<string, number>();
          // What edits by hand left in each cell and no snapshot has read since (an ERP that takes deltas keeps it).
          const unfixed = new Map<string, number>();
          let held: DeliveryIntent[] = [];
          const apply = (d: DeliveryIntent) => {
            const k = cellKey(d.payload.location as string, d.payload.sku as string);
            erp.set(k, takes === 'delta' ? (erp.get(k) ?? 0) + (d.payload.delta as number) : (d.payload.countedQuantity as number));
            if (takes === 'total') unfixed.delete(k);
          };
          const run = (current: Map<string, CountCell>, full: boolean, hold: readonly boolean[]) => {
            let against = sent;
            if (full) {
              const cells = snapshotCells(current, sent, cellsOfCounts(held));
              against = reconcileWithOnHand(sent, cells.map((c) => ({ ...c, quantity: erp.get(cellKey(c.location, c.sku)) ?? 0 })));
              for (const c of cells) unfixed.delete(cellKey(c.location, c.sku));
            }
            const plan = planInventoryCounts('erp', current, against, full ? 'full' : 'changes', 0);
            sent = plan.next;
            // The outbox: those held before land now, in order, then the new ones (a cell's later revision waits for its earlier one).
            const before = held;
            const waiting = cellsOfCounts(before);
            held = [];
            for (const d of before) apply(d);
            plan.deliveries.forEach((d, i) => {
              if (hold[i % hold.length] === true && !waiting.has(cellKey(d.payload.location as string, d.payload.sku as string))) held.push(d);
              else apply(d);
            });
          };
          let current = new Map<string, CountCell>();
          for (const [entries, full, edits, hold] of rounds) {
            for (const [l, s, q] of edits) {
              const k = cellKey(l, s);
              unfixed.set(k, (unfixed.get(k) ?? 0) + q - (erp.get(k) ?? 0));
              erp.set(k, q);
            }
            current = cellsOf(entries);
            run(current, full, hold);
          }
          run(current, false, [false]); // everything lands
          // Off by exactly the edits no snapshot read: a count not landed was never read (its change would count twice).
          for (const k of new Set([...erp.keys(), ...current.keys()])) {
            if (takes === 'delta') expect(erp.get(k) ?? 0, `${takes} ERP ${k} before`).toBe((current.get(k)?.quantity ?? 0) + (unfixed.get(k) ?? 0));
          }
          run(current, true, [false]);
          for (const k of new Set([...erp.keys(), ...current.keys()])) {
            // A cell only edited by hand (never counted, never sent) is nothing the service sends.
            if (current.has(k) || sent.cells[k] !== undefined) expect(erp.get(k) ?? 0, `${takes} ERP ${k}`).toBe(current.get(k)?.quantity ?? 0);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('damaged sent records', () => {
  const count = (id: number, location: string, revision: number, status: string, delta = 1) => ({ id, status, operation: 'inventory.count', sequence: `${location}|S`, businessKey: `${location}|S|r${revision}`, payload: { delta } });

  it('reads what it can and says what it could not', () => {
    expect(parseSentRecord('{"cells":{')).toMatchObject({ sent: EMPTY_SENT, damage: { record: expect.stringMatching(/^not valid JSON \(/) as unknown } });
    expect(parseSentRecord('null').damage).toEqual({ record: 'not a JSON object but null' });
    expect(parseSentRecord('{"cells":{},"repaired":["7"]}').damage).toEqual({ record: 'its "repaired" (ids of discarded counts given back) is not a list of whole numbers' });
    const ok = { cells: { [cellKey('WH-A', 'S')]: { quantity: 2, revision: 3 } }, repaired: [4] };
    expect(parseSentRecord(JSON.stringify(ok))).toEqual({ sent: ok });
    const bad = { cells: { ...ok.cells, [cellKey('WH-B', 'S')]: { quantity: 2 }, [cellKey('WH-C', 'S')]: { quantity: 1, revision: -1 }, [cellKey('WH-D', 'S')]: 5 } };
    expect(parseSentRecord(JSON.stringify(bad))).toEqual({ sent: { cells: ok.cells }, damage: { entries: [cellKey('WH-B', 'S'), cellKey('WH-C', 'S'), cellKey('WH-D', 'S')] } });
  });

  it('a damaged cell goes on above the newest revision in the outbox, its discarded counts owed nothing more (its full count carries them)', () => {
    const outbox = [count(1, 'WH-A', 1, 'delivered'), count(2, 'WH-A', 2, 'discarded', 3), count(3, 'WH-B', 4, 'delivered'), count(4, 'WH-B', 5, 'discarded', 2)];
    const sent: SentCounts = { cells: { [cellKey('WH-B', 'S')]: { quantity: 7, revision: 5 } } };
    // WH-A's entry was damaged; WH-B's is sound and stays as it is.
    const fixed = asNeverSent(sent, { entries: [cellKey('WH-A', 'S')] }, outbox);
    expect(fixed).toEqual({ cells: { [cellKey('WH-B', 'S')]: { quantity: 7, revision: 5 }, [cellKey('WH-A', 'S')]: { quantity: 0, revision: 2 } }, repaired: [2] });
    const back = giveBackDiscarded(fixed, discardedCountsOf(outbox.filter((d) => d.status === 'discarded')));
    expect(back.given.map((d) => d.id)).toEqual([4]); // WH-B's discard only
    const plan = planInventoryCounts('erp', cellsOf([['WH-A', 'S', 4], ['WH-B', 'S', 7]]), back.sent, 'changes', 0);
    expect(plan.deliveries.map((d) => [d.businessKey, d.payload.delta])).toEqual([
      ['WH-A|S|r3', 4],
      ['WH-B|S|r6', 2],
    ]);
    // The whole record: every cell the outbox has counts of.
    expect(asNeverSent(EMPTY_SENT, { record: 'not valid JSON' }, outbox)).toEqual({ cells: { [cellKey('WH-A', 'S')]: { quantity: 0, revision: 2 }, [cellKey('WH-B', 'S')]: { quantity: 0, revision: 5 } }, repaired: [2, 4] });
    expect(asNeverSent(sent, { entries: [] }, outbox)).toBe(sent);
  });

  // Retention deletes delivered counts but keeps their keys: a revision read from the outbox alone could be one already used.
  it('goes on above the highest revision handed out (kept apart from the record), where the outbox no longer holds the counts', () => {
    const outbox = [count(3, 'WH-B', 4, 'delivered')];
    // The whole record: the cells the outbox has counts of at that revision at least, and every other cell above it (its floor).
    const whole = asNeverSent(EMPTY_SENT, { record: 'not valid JSON' }, outbox, 6);
    expect(whole).toEqual({ cells: { [cellKey('WH-B', 'S')]: { quantity: 0, revision: 6 } }, revisionFloor: 6 });
    const plan = planInventoryCounts('erp', cellsOf([['WH-A', 'S', 2], ['WH-B', 'S', 1]]), whole, 'changes', 0);
    expect(plan.deliveries.map((d) => d.businessKey)).toEqual(['WH-A|S|r7', 'WH-B|S|r7']);
    expect(plan.next.revisionFloor).toBe(6);
    expect(compareCounts(cellsOf([['WH-C', 'S', 1]]), whole).map((c) => [c.location, c.revision])).toEqual([['WH-C', 6]]);
    expect(parseSentRecord(JSON.stringify(plan.next))).toEqual({ sent: plan.next });
    expect(parseSentRecord('{"cells":{},"revisionFloor":-1}').damage).toEqual({ record: 'its "revisionFloor" (the revision cells it does not hold go on above) is not a whole number' });
    // A full snapshot that read the ERP's on-hand quantities goes on above it too: a cell the record
    // does not hold read at revision 0 went out as r1, a key the outbox keeps and drops (the count lost).
    const read = reconcileWithOnHand(whole, [{ location: 'WH-A', sku: 'S', quantity: 5 }, { location: 'WH-B', sku: 'S', quantity: 3 }]);
    const snapshot = planInventoryCounts('erp', cellsOf([['WH-A', 'S', 2], ['WH-B', 'S', 1]]), read, 'full', 0);
    expect(snapshot.deliveries.map((d) => [d.businessKey, d.payload.delta])).toEqual([
      ['WH-A|S|r7', -3],
      ['WH-B|S|r7', -2],
    ]);
    // Damaged entries: each at that revision at least, whether or not the outbox still holds a count of it.
    const sent: SentCounts = { cells: { [cellKey('WH-C', 'S')]: { quantity: 7, revision: 9 } } };
    expect(asNeverSent(sent, { entries: [cellKey('WH-A', 'S'), cellKey('WH-B', 'S'), 'no separator'] }, outbox, 5)).toEqual({
      cells: { [cellKey('WH-C', 'S')]: { quantity: 7, revision: 9 }, [cellKey('WH-B', 'S')]: { quantity: 0, revision: 5 }, [cellKey('WH-A', 'S')]: { quantity: 0, revision: 5 } },
    });
  });
});

describe('a write-ahead and its record', () => {
  const planned = planInventoryCounts('erp', cellsOf([['WH-A', 'S', 2], ['WH-B', 'S', 1]]), { cells: { [cellKey('WH-A', 'S')]: { quantity: 1, revision: 3 } } }, 'changes', 0);

  it('tells the record written for it from the one before, and from one changed since', () => {
    const before: SentCounts = { cells: { [cellKey('WH-A', 'S')]: { quantity: 1, revision: 3 } } };
    expect(planned.deliveries.map((d) => d.businessKey)).toEqual(['WH-A|S|r4', 'WH-B|S|r1']);
    expect(recordOfPlan(planned.deliveries, planned.next)).toBe('recorded');
    expect(recordOfPlan(planned.deliveries, before)).toBe('not-recorded');
    expect(recordOfPlan(planned.deliveries, EMPTY_SENT)).toBe('not-recorded');
    // One cell as planned, one not; or one beyond the plan: changed by hand.
    expect(recordOfPlan(planned.deliveries, { cells: { ...planned.next.cells, [cellKey('WH-B', 'S')]: { quantity: 0, revision: 0 } } })).toBe('changed');
    expect(recordOfPlan(planned.deliveries, { cells: { ...before.cells, [cellKey('WH-A', 'S')]: { quantity: 1, revision: 5 } } })).toBe('changed');
    // A damaged entry tells nothing.
    const { [cellKey('WH-B', 'S')]: _gone, ...rest } = planned.next.cells;
    expect(recordOfPlan(planned.deliveries, { cells: rest }, [cellKey('WH-B', 'S')])).toBe('recorded');
    expect(parsePendingParts('{"id":"x","parts":1,"count":2}')).toEqual({ id: 'x', parts: 1, count: 2 });
    for (const text of ['{"id":"x","parts":0,"count":2}', '{"parts":1,"count":1}', '{', '[]']) expect(parsePendingParts(text)).toBeUndefined();
  });
});
