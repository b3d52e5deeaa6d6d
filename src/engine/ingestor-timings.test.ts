/**
 * The ingestor's timings for metrics (`onBatch`): each committed batch once, with how long its
 * oldest message waited for the commit, and for a checkpoint how long it took and how many assets'
 * state it stored (the last one also in `stats`, for `status`). A batch that did not commit is not timed; an observer that throws never fails
 * a batch that committed.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { IdentityIndex } from '../core/identity/resolver.js';
import type { IngestCommit, Store } from '../ports/store.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import { waitFor } from '../../test/helpers/wait.js';
import { locationIngestor } from '../../test/helpers/ingestor.js';
import type { BatchTiming, IngestorOptions } from './ingestor.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A store whose commits wait until the test passes or fails them, oldest first. */
async function setup(extra: Partial<IngestorOptions> = {}) {
  const real = tempStore();
  cleanup.push(() => real.close());
  await real.upsertAssets(
    ['1', '2'].map((n) => ({ asset: { erpAssetId: `EQ-${n}`, erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: `tag-${n}`, erpAssetId: `EQ-${n}` }] })),
  );
  const held: { commit: IngestCommit; pass: () => void; fail: (e: Error) => void }[] = [];
  const store = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop !== 'commitIngest') return Reflect.get(target, prop, receiver) as unknown;
      return (commit: IngestCommit) =>
        new Promise<void>((resolve, reject) => held.push({ commit, pass: () => void target.commitIngest(commit).then(resolve, reject), fail: reject }));
    },
  }) as Store;
  const timings: BatchTiming[] = [];
  const ingestor = locationIngestor(store, new IdentityIndex(await real.listAssets()), { maxBatch: 10, maxWaitMs: 1, onBatch: (t) => timings.push(t), ...extra });
  return { held, timings, ingestor };
}

const at = (minute: number, lat: number, tag = 'tag-1') => ({
  source: 'http',
  channel: '/v1/events',
  payload: JSON.stringify({ kind: 'position', assetId: tag, eventTime: new Date(Date.parse('2026-11-20T08:00:00Z') + minute * 60_000).toISOString(), lat, lng: 4.3 }),
  receivedAt: Date.now(),
});

describe('ingest timings (onBatch)', () => {
  it('times each committed batch from its oldest message to the commit, and a checkpoint with the assets it stored', async () => {
    const { held, timings, ingestor } = await setup();
    const submitted = performance.now();
    const first = ingestor.submit([at(0, 52), at(0, 51, 'tag-2')]);
    await waitFor(() => held.length === 1, 'the batch handed to the store');
    await new Promise((r) => setTimeout(r, 40));
    expect(timings).toEqual([]); // not before its commit
    held.shift()?.pass();
    await first;
    const waited = (performance.now() - submitted) / 1000;
    expect(timings).toHaveLength(1);
    const [batch] = timings;
    expect(batch?.messages).toBe(2);
    expect(batch?.checkpoint).toBeUndefined();
    // It waited for the commit held back above (at least 40 ms), and no longer than the test did.
    expect(batch?.waitSeconds).toBeGreaterThanOrEqual(0.04);
    expect(batch?.waitSeconds).toBeLessThanOrEqual(waited);

    // Both assets' location state changed: the checkpoint stores the two, and carries no message.
    expect(ingestor.stats.lastCheckpoint).toBeUndefined();
    const flushed = ingestor.flush();
    await waitFor(() => held.length === 1, 'the checkpoint handed to the store');
    expect(held[0]?.commit.checkpoint).toBe(true);
    held.shift()?.pass();
    await flushed;
    expect(timings).toHaveLength(2);
    expect(timings[1]).toMatchObject({ messages: 0, checkpoint: { assets: 2 } });
    expect(timings[1]?.checkpoint?.seconds).toBeGreaterThan(0);
    expect(timings[1]).not.toHaveProperty('waitSeconds');
    // What `status` shows of it.
    expect(ingestor.stats.lastCheckpoint).toMatchObject({ assets: 2 });
    expect(ingestor.stats.lastCheckpoint?.storedAt).toBeGreaterThan(Date.now() - 60_000);
  });

  it('does not time a batch that did not commit', async () => {
    const { held, timings, ingestor } = await setup();
    const failed = ingestor.submit([at(0, 52)]);
    await waitFor(() => held.length === 1, 'the batch handed to the store');
    held.shift()?.fail(new Error('SQLITE_FULL: database or disk is full'));
    await expect(failed).rejects.toThrow(/SQLITE_FULL/);
    expect(timings).toEqual([]);
  });

  it('an observer that throws does not fail a batch that committed: it is logged', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const { held, ingestor } = await setup({
      logger,
      onBatch: () => {
        throw new Error('metrics registry gone');
      },
    });
    const done = ingestor.submit([at(0, 52)]);
    await waitFor(() => held.length === 1, 'the batch handed to the store');
    held.shift()?.pass();
    expect(await done).toEqual({ accepted: 1, quarantined: [] });
    expect(lines.join('')).toContain('recording ingest timings failed; the batch is committed');
    expect(lines.join('')).toContain('metrics registry gone');
  });
});
