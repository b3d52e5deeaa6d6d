import { describe, expect, it } from 'vitest';
import type { RawMessage } from '../core/model/messages.js';
import type { IngestSink, SubmitResult } from '../ports/source.js';
import { useTempStores } from '../../test/helpers/temp-stores.js';
import type { SqliteStore } from '../adapters/store/sqlite/sqlite-store.js';
import { formatReplaySummary, replayQuarantine } from './replay.js';

const newStore = useTempStores();

async function storeWith(n: number): Promise<SqliteStore> {
  const store = newStore();
  await store.commitIngest({
    states: [],
    deliveries: [],
    accepted: 0,
    quarantine: Array.from({ length: n }, (_, i) => ({ source: 'mqtt', channel: 't', payload: `m${i}`, receivedAt: 1_700_000_000_000 + i, code: 'unknown-asset' as const, reason: 'no mapping' })),
  });
  return store;
}

/** Accepts everything after a pause (an ingest batch takes a while), committing as the ingestor does: the replayed entries close with it. */
function slowSink(store: SqliteStore, failCommit = false): IngestSink & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    submit: async (messages: readonly RawMessage[]): Promise<SubmitResult> => {
      await new Promise((r) => setTimeout(r, 20));
      if (failCommit) throw new Error('disk I/O error');
      const replayed = messages.flatMap((m) => (m.replayOf !== undefined ? [m.replayOf] : []));
      await store.commitIngest({ states: [], deliveries: [], quarantine: [], accepted: messages.length, replayed });
      seen.push(...messages.map((m) => String(m.payload)));
      return { accepted: messages.length, quarantined: [] };
    },
  };
}

/** Sets every message aside again, as the ingestor does when its cause is not fixed: a new entry naming the old, which closes. */
function refusingSink(store: SqliteStore): IngestSink & { seen: number[] } {
  const seen: number[] = [];
  return {
    seen,
    submit: async (messages: readonly RawMessage[]): Promise<SubmitResult> => {
      const replayed = messages.flatMap((m) => (m.replayOf !== undefined ? [m.replayOf] : []));
      seen.push(...replayed);
      const quarantine = messages.map((m) => ({ source: m.source, channel: m.channel, payload: m.payload, receivedAt: m.receivedAt, code: 'unknown-asset' as const, reason: 'still no mapping', ...(m.replayOf !== undefined ? { replayOf: m.replayOf } : {}) }));
      await store.commitIngest({ states: [], deliveries: [], quarantine, accepted: 0, replayed });
      return { accepted: 0, quarantined: messages.map((_, index) => ({ index, reason: 'still no mapping' })) };
    },
  };
}

describe('replayQuarantine', () => {
  it('reads a large quarantine a chunk at a time, and replays each entry once though each is set aside again behind it', async () => {
    // Mutation: every open entry read at once (a million, payloads and all); or entries the replay opened replayed in the same run, chunk after chunk.
    const store = await storeWith(1200);
    const original = (await store.listQuarantine({ limit: 2000 })).map((r) => r.id);
    const limits: number[] = [];
    const list = store.listQuarantine.bind(store);
    store.listQuarantine = (filter) => (limits.push(filter.limit ?? 1000), list(filter));
    const sink = refusingSink(store);
    const progress: [number, number][] = [];
    const s = await replayQuarantine(store, sink, {}, (done, total) => progress.push([done, total]));
    expect(s).toMatchObject({ replayed: 1200, accepted: 0, stillQuarantined: 1200 });
    expect(sink.seen).toEqual(original);
    expect(Math.max(...limits)).toBeLessThanOrEqual(500);
    expect(progress.at(-1)).toEqual([1200, 1200]);
    const open = await list({ status: 'open', limit: 2000 });
    expect(open).toHaveLength(1200);
    expect(new Set(open.map((r) => r.replayOf))).toEqual(new Set(original));
  });

  it('two replays at once submit each entry once', async () => {
    const store = await storeWith(3);
    const sink = slowSink(store);
    const [a, b] = await Promise.all([replayQuarantine(store, sink, {}), replayQuarantine(store, sink, { code: 'unknown-asset' })]);
    expect(sink.seen.sort()).toEqual(['m0', 'm1', 'm2']);
    expect([a.replayed, b.replayed]).toEqual([3, 0]);
    expect((await store.listQuarantine({ status: 'open' })).length).toBe(0);
  });

  it('an entry closes in the commit that stores its new outcome: a failed commit leaves it open, to replay again', async () => {
    const store = await storeWith(2);
    await expect(replayQuarantine(store, slowSink(store, true), {})).rejects.toThrow('disk I/O error');
    expect((await store.listQuarantine({ status: 'open' })).length).toBe(2);
    const s = await replayQuarantine(store, slowSink(store), {});
    expect(s).toMatchObject({ replayed: 2, accepted: 2 });
    expect((await store.listQuarantine({})).map((r) => [r.status, r.replays])).toEqual([
      ['replayed', 1],
      ['replayed', 1],
    ]);
  });

  it('replays only the entries named, and says which named ones were not open', async () => {
    const store = await storeWith(3);
    const [first, second] = (await store.listQuarantine({})).map((r) => r.id);
    await store.markQuarantine([first as number], 'discarded');
    const sink = slowSink(store);
    const s = await replayQuarantine(store, sink, { ids: [first as number, second as number, 999] });
    expect(sink.seen).toEqual(['m1']);
    expect(s).toMatchObject({ replayed: 1, accepted: 1, skipped: [first, 999] });
    expect(formatReplaySummary(s)).toContain(`not replayed (not open): ${first} (discarded), 999 (no such entry)\n`);
    expect((await store.listQuarantine({})).map((r) => r.status)).toEqual(['discarded', 'replayed', 'open']);
  });

  it('says of an id named with --code that is open under another code that it is open, not that it was replayed or discarded', async () => {
    const store = await storeWith(2); // unknown-asset
    const [first] = (await store.listQuarantine({})).map((r) => r.id);
    const sink = slowSink(store);
    const s = await replayQuarantine(store, sink, { ids: [first as number, 999], code: 'stale' });
    expect(sink.seen).toEqual([]);
    expect(s).toMatchObject({ replayed: 0, skipped: [first, 999], notOfCode: { code: 'stale', ids: [first] } });
    const text = formatReplaySummary(s);
    expect(text).toContain('not replayed (not open): 999 (no such entry)\n');
    expect(text).toContain(`not replayed (open, but not of code stale; name them without --code): ${first}\n`);
  });
});

// Found unpinned by mutation testing: a replay larger than one submit chunk leaves no entry
// behind, and an entry named twice is replayed and reported once.
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

describe('formatReplaySummary', () => {
  // A replay of 3,000 entries, each an unknown tag of its own, printed 3,001 lines.
  it('names the 20 most frequent reasons and counts the others, instead of one line per reason', () => {
    const reasons: Record<string, number> = { 'no ERP mapping for tag tag-common': 50 };
    for (let i = 0; i < 3000; i++) reasons[`no ERP mapping for tag tag-${i}`] = 1;
    const lines = formatReplaySummary({ replayed: 3050, accepted: 0, stillQuarantined: 3050, reasons }).trimEnd().split('\n');
    expect(lines).toHaveLength(22);
    expect(lines[0]).toBe('replayed 3050: 0 accepted, 3050 quarantined again');
    expect(lines[1]).toBe('  50 × no ERP mapping for tag tag-common');
    expect(lines[20]).toBe('  1 × no ERP mapping for tag tag-18');
    expect(lines[21]).toBe("  … and 2981 with 2981 other reason(s): 'assetbridge quarantine list' lists them (--code to narrow)");
  });

  it('lists every reason when there are few', () => {
    const text = formatReplaySummary({ replayed: 3, accepted: 0, stillQuarantined: 3, reasons: { a: 1, b: 2 } });
    expect(text).toBe('replayed 3: 0 accepted, 3 quarantined again\n  2 × b\n  1 × a\n');
  });

  it('names the too-large entries passed over because only the start of their payload was kept', () => {
    expect(formatReplaySummary({ replayed: 0, accepted: 0, stillQuarantined: 0, reasons: {}, prefixes: [4, 9] })).toBe(
      "replayed 0: 0 accepted, 0 quarantined again\nnot replayed (too large: only the start of each payload was kept, nothing whole to run again; 'assetbridge quarantine show ID' says what sent it: fix the sender, then discard them): 4, 9\n",
    );
  });
});
