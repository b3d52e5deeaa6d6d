/**
 * Quarantine replay edges found unpinned by mutation testing: a replay larger than one submit
 * chunk leaves no entry behind, and an entry named twice is replayed and reported once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RawMessage } from '../core/model/messages.js';
import type { IngestSink, SubmitResult } from '../ports/source.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import type { SqliteStore } from '../adapters/store/sqlite/sqlite-store.js';
import { replayQuarantine } from './replay.js';

const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

async function storeWith(n: number): Promise<SqliteStore> {
  const store = tempStore();
  stores.push(store);
  await store.commitIngest({
    states: [],
    deliveries: [],
    accepted: 0,
    quarantine: Array.from({ length: n }, (_, i) => ({ source: 'mqtt', channel: 't', payload: `m${i}`, receivedAt: 1_700_000_000_000 + i, code: 'unknown-asset' as const, reason: 'no mapping' })),
  });
  return store;
}

/** Accepts everything, committing as the ingestor does: the replayed entries close with it. */
function acceptingSink(store: SqliteStore): IngestSink & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    submit: async (messages: readonly RawMessage[]): Promise<SubmitResult> => {
      const replayed = messages.flatMap((m) => (m.replayOf !== undefined ? [m.replayOf] : []));
      await store.commitIngest({ states: [], deliveries: [], quarantine: [], accepted: messages.length, replayed });
      seen.push(...messages.map((m) => String(m.payload)));
      return { accepted: messages.length, quarantined: [] };
    },
  };
}

describe('replayQuarantine', () => {
  // Kills: a chunk boundary that skips an entry.
  it('replays every open entry when there are more than fit one submit (500)', async () => {
    const store = await storeWith(1001);
    const sink = acceptingSink(store);
    const progress: number[] = [];
    const s = await replayQuarantine(store, sink, {}, (done) => progress.push(done));
    expect(s).toMatchObject({ replayed: 1001, accepted: 1001, stillQuarantined: 0 });
    expect(new Set(sink.seen).size).toBe(1001);
    expect(progress).toEqual([500, 1000, 1001]);
    expect(await store.listQuarantine({ status: 'open' })).toEqual([]);
  });

  // Kills: the ids not replayed reported without removing repeats.
  it('an id named twice is replayed once, and a missing one named twice is reported once', async () => {
    const store = await storeWith(1);
    const [entry] = await store.listQuarantine({});
    const sink = acceptingSink(store);
    const s = await replayQuarantine(store, sink, { ids: [entry!.id, entry!.id, 999, 999] });
    expect(sink.seen).toEqual(['m0']);
    expect(s).toMatchObject({ replayed: 1, skipped: [999] });
  });
});
