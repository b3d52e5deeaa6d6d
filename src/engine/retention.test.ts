import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import type { TaskContext } from '../ports/task.js';
import { createRetentionTask, cutoffsAt } from './retention.js';

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
});
