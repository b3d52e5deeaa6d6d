/**
 * The state cache: a full cache lets go of assets whose state is stored, and a batch must still
 * see the state of every asset it touches, whether it was in memory or loaded for the batch.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../adapters/store/sqlite/sqlite-store.js';
import { IdentityIndex } from '../core/identity/resolver.js';
import type { RawMessage } from '../core/model/messages.js';
import type { IngestCommit, Store } from '../ports/store.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import { locationIngestor } from '../../test/helpers/ingestor.js';
import { T0, outcome, rulesIngestor, storeWithAssets, stream } from '../../test/helpers/rules-stream.js';
import type { Ingestor } from './ingestor.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
const register = (close: () => Promise<void>): void => void cleanup.push(close);

const at = (minute: number, lat: number, tag: string) => ({
  source: 'http',
  channel: '/v1/events',
  payload: JSON.stringify({ kind: 'position', assetId: tag, eventTime: new Date(T0 + minute * 60_000).toISOString(), lat, lng: 4.3 }),
  receivedAt: Date.now(),
});

describe('state cache', () => {
  it('an asset in memory that loading another one evicts within the batch keeps its state', async () => {
    const real = tempStore();
    cleanup.push(() => real.close());
    await real.upsertAssets(
      ['1', '2'].map((n) => ({ asset: { erpAssetId: `EQ-${n}`, erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: `tag-${n}`, erpAssetId: `EQ-${n}` }] })),
    );
    const identity = new IdentityIndex(await real.listAssets());
    const ingestor = locationIngestor(real, identity, { stateCacheSize: 1 });
    await ingestor.submit([at(0, 52, 'tag-1')]);
    await ingestor.flush(); // EQ-1's state is stored: the only cache place holds it, evictable
    // EQ-2 is not in memory and is loaded for this batch, which evicts EQ-1 (least recently used);
    // EQ-1 has not moved: no second update for it.
    await ingestor.submit([at(1, 40, 'tag-2'), at(1, 52, 'tag-1')]);
    await ingestor.flush();
    const eq1 = (await real.listDeliveries({})).filter((d) => d.erpAssetId === 'EQ-1').map((d) => d.eventTime);
    expect(eq1).toEqual([T0]);
  });
});





/**
 * The store as the commit worker behaves: the `failAt`-th commit fails, and every commit handed
 * over before that failure has been reported is refused (it was computed on top of it).
 */
function failingOnce(real: SqliteStore, failAt: number): Store {
  let n = 0;
  let failing: Promise<void> | undefined;
  return new Proxy(real, {
    get(target, prop, receiver) {
      if (prop !== 'commitIngest') return Reflect.get(target, prop, receiver) as unknown;
      return (commit: IngestCommit): Promise<void> => {
        if (failing) return failing.then(() => Promise.reject(new Error('ingest batch refused: a batch before it failed (disk I/O error)')));
        if (++n === failAt) {
          const failed = new Promise<void>((_, reject) => setTimeout(() => reject(new Error('disk I/O error')), 2));
          failing = failed.catch(() => undefined);
          void failing.then(() => (failing = undefined));
          return failed;
        }
        return target.commitIngest(commit);
      };
    },
  });
}

/** Submits chunks `window` at a time (pipelined); what is refused is redelivered, in order, like an MQTT reconnect. */
async function deliver(ingestor: Ingestor, msgs: readonly RawMessage[], chunk: number, window: number): Promise<void> {
  const chunks: RawMessage[][] = [];
  for (let i = 0; i < msgs.length; i += chunk) chunks.push(msgs.slice(i, i + chunk));
  while (chunks.length) {
    const now = chunks.splice(0, window);
    const results = await Promise.allSettled(now.map((c) => ingestor.submit(c)));
    const refused = now.filter((_, i) => results[i]?.status === 'rejected');
    chunks.unshift(...refused);
  }
}


describe('state cache, pipelining, failed commits and crashes together', () => {
  it('property: any cache size, pipeline depth, checkpoint rate, one failed commit and a crash end like a run without them', async () => {
    const msgs = stream(40);
    const reference = await storeWithAssets(register);
    const ref = rulesIngestor(reference, new IdentityIndex(await reference.listAssets()));
    for (let i = 0; i < msgs.length; i += 4) await ref.submit(msgs.slice(i, i + 4));
    await ref.flush();
    const expected = await outcome(reference);
    expect(expected.deliveries.some((d) => d.startsWith('workorder.create'))).toBe(true);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }), // state cache size (assets): evictions all the time
        fc.integer({ min: 1, max: 4 }), // pipeline depth
        fc.integer({ min: 1, max: 40 }), // checkpointMessages
        fc.integer({ min: 1, max: 30 }), // which commit fails
        fc.integer({ min: 1, max: msgs.length - 1 }), // messages handed over before the crash
        fc.integer({ min: 0, max: 20 }), // acknowledged ones redelivered after it
        fc.integer({ min: 1, max: 8 }), // chunk size
        async (cacheSize, depth, checkpointMessages, failAt, cut, repeated, chunk) => {
          const real = await storeWithAssets(register);
          const identity = new IdentityIndex(await real.listAssets());
          const opts = { stateCacheSize: cacheSize, pipelineDepth: depth, checkpointMessages, maxBatch: chunk };
          const first = rulesIngestor(failingOnce(real, failAt), identity, opts);
          await deliver(first, msgs.slice(0, cut), chunk, 3);
          // kill -9, then a new process on the same file; the source repeats some acknowledged messages.
          const second = rulesIngestor(real, identity, opts);
          await deliver(second, msgs.slice(Math.max(0, cut - repeated)), chunk, 3);
          await second.flush();
          expect(await outcome(real)).toEqual(expected);
        },
      ),
      { numRuns: 40 },
    );
  });
});
