import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import type { PruneCutoffs, PruneResult, Store } from '../ports/store.js';
import type { TaskContext } from '../ports/task.js';
import { createRetentionTask, cutoffsAt, nextBatchSize, pruneAll } from './retention.js';

const DAY = 86_400_000;
const retentionOf = (input: Record<string, unknown>) => configSchema.parse({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:1' }], store: { retention: input } }).store.retention;

describe('retention', () => {
  it('turns the configured retention into cutoffs; 0 keeps a kind for good', () => {
    expect(cutoffsAt(retentionOf({}), 100 * DAY)).toEqual({ deliveredBefore: 93 * DAY, auditBefore: 10 * DAY, quarantineBefore: 70 * DAY });
    expect(cutoffsAt(retentionOf({ delivered: 0, audit: '1d', deliveredFacts: '365d', quarantine: 0 }), 400 * DAY)).toEqual({ auditBefore: 399 * DAY, deliveredFactsBefore: 35 * DAY });
    expect(() => retentionOf({ every: '1s' })).toThrow(/prune at most once a minute/);
  });

  it('the service task prunes the store at its clock time', async () => {
    const store = tempStore();
    try {
      const now = Date.now();
      await store.commitIngest({
        states: [],
        deliveries: [],
        accepted: 0,
        quarantine: [{ source: 'http', channel: '/v1/events', payload: 'x', receivedAt: now - 31 * DAY, code: 'invalid', reason: 'bad' }],
      });
      const [q] = await store.listQuarantine({});
      await store.markQuarantine([q!.id], 'discarded');
      // A newer entry: retention keeps the newest one whatever its age (its id is not handed out again).
      await store.commitIngest({ states: [], deliveries: [], accepted: 0, quarantine: [{ source: 'http', channel: '/v1/events', payload: 'y', receivedAt: now, code: 'invalid', reason: 'bad' }] });
      const task = createRetentionTask(retentionOf({}));
      const ctx = { store, clock: { now: () => now - 2 * DAY }, signal: new AbortController().signal } as unknown as TaskContext;
      await task.run(ctx); // two days ago the entry was only 29 days old
      expect(await store.listQuarantine({})).toHaveLength(2);
      await task.run({ ...ctx, clock: { now: () => now } });
      expect((await store.listQuarantine({})).map((e) => e.payload)).toEqual(['y']);
      expect(task.schedule).toEqual({ everyMs: 3_600_000, firstAfterMs: 300_000 }); // soon after a start too
    } finally {
      await store.close();
    }
  });

  it('sizes the next batch toward 15 ms, at most halving or doubling it at a step, within 50 to 10,000 rows', () => {
    expect(nextBatchSize(1000, 15)).toBe(1000);
    expect(nextBatchSize(1000, 20)).toBe(750);
    expect(nextBatchSize(1000, 10)).toBe(1500);
    expect(nextBatchSize(1000, 300)).toBe(500); // one slow commit (a fold, a collection) halves it, no more
    expect(nextBatchSize(1000, 0)).toBe(2000);
    expect(nextBatchSize(60, 60)).toBe(50);
    expect(nextBatchSize(8000, 1)).toBe(10_000);
  });

  /**
   * A store whose prune deletes from `left` (rows per kind), taking `msPerRow[kind]` of a fake
   * clock per row; it records each call's cutoffs and limit, and each fold asked for.
   */
  function fakeStore(left: Record<keyof PruneResult, number>, msPerRow: Partial<Record<keyof PruneResult, number>> = {}) {
    let clock = 0;
    const calls: { kinds: string[]; limit: number }[] = [];
    const events: string[] = [];
    const kindOf: Record<keyof PruneCutoffs, keyof PruneResult> = { deliveredBefore: 'delivered', deliveredFactsBefore: 'deliveredFacts', auditBefore: 'audit', quarantineBefore: 'quarantine' };
    const store = {
      prune(cutoffs: PruneCutoffs, limit: number): Promise<PruneResult> {
        const kinds = Object.keys(cutoffs) as (keyof PruneCutoffs)[];
        calls.push({ kinds, limit });
        events.push('prune');
        const r = { delivered: 0, deliveredFacts: 0, audit: 0, quarantine: 0 };
        for (const c of kinds) {
          const k = kindOf[c];
          r[k] = Math.min(limit, left[k]);
          left[k] -= r[k];
          clock += r[k] * (msPerRow[k] ?? 0.01);
        }
        return Promise.resolve(r);
      },
      foldLog() {
        events.push('fold');
        return Promise.resolve();
      },
    } as unknown as Store;
    return { store, calls, events, now: () => clock };
  }

  it('prunes one kind per batch, in turn, each until a batch comes back short', async () => {
    const f = fakeStore({ delivered: 5, deliveredFacts: 0, audit: 7, quarantine: 2 });
    const total = await pruneAll(f.store, { deliveredBefore: 1, deliveredFactsBefore: 2, auditBefore: 3, quarantineBefore: 4 }, { batch: 3 });
    expect(total).toEqual({ delivered: 5, deliveredFacts: 0, audit: 7, quarantine: 2 });
    expect(f.calls.map((c) => c.kinds.join())).toEqual(['deliveredBefore', 'deliveredBefore', 'deliveredFactsBefore', 'auditBefore', 'auditBefore', 'auditBefore', 'quarantineBefore']);
    expect(f.calls.every((c) => c.limit === 3)).toBe(true); // a fixed size when given
  });

  it('sizes batches by how long the ones before took, each kind afresh', async () => {
    // Facts at 0.06 ms a row: 250 rows make 15 ms. Audit records at 0.005 ms: 3,000.
    const f = fakeStore({ delivered: 0, deliveredFacts: 20_000, audit: 60_000, quarantine: 0 }, { deliveredFacts: 0.06, audit: 0.005 });
    const total = await pruneAll(f.store, { deliveredFactsBefore: 1, auditBefore: 1 }, { now: f.now, pauseMs: 0 });
    expect(total).toMatchObject({ deliveredFacts: 20_000, audit: 60_000 });
    const facts = f.calls.filter((c) => c.kinds[0] === 'deliveredFactsBefore').map((c) => c.limit);
    const audit = f.calls.filter((c) => c.kinds[0] === 'auditBefore').map((c) => c.limit);
    expect(facts.slice(0, 3)).toEqual([500, 250, 250]);
    expect(audit.slice(0, 4)).toEqual([500, 1000, 2000, 3000]); // from the first size again, doubling toward 3,000
    expect(new Set(audit.slice(3, -1))).toEqual(new Set([3000]));
  });

  it('asks the store to fold its log every five batches, and stops between batches once aborted', async () => {
    const f = fakeStore({ delivered: 0, deliveredFacts: 0, audit: 12, quarantine: 0 });
    await pruneAll(f.store, { auditBefore: 1 }, { batch: 1 });
    expect(f.events.join(' ')).toBe(`${'prune '.repeat(5)}fold ${'prune '.repeat(5)}fold prune prune prune`);

    const g = fakeStore({ delivered: 0, deliveredFacts: 10, audit: 0, quarantine: 0 });
    const abort = new AbortController();
    const seen: number[] = [];
    const total = await pruneAll(g.store, { deliveredFactsBefore: 1 }, {
      batch: 2,
      signal: abort.signal,
      onBatch: (t) => {
        seen.push(t.deliveredFacts);
        if (t.deliveredFacts === 4) abort.abort();
      },
    });
    expect(seen).toEqual([2, 4]);
    expect(total.deliveredFacts).toBe(4);
  });
});
