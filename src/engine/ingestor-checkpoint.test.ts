/**
 * Rule state between checkpoints: batches log the messages that changed rule state and keep the
 * state in memory; a checkpoint stores it and empties the log. A crash (or a failed commit) loses
 * only memory: stored state plus the log, replayed, is the same state, so the rest of the stream
 * makes the same deliveries as a run that never crashed.
 */
import { setImmediate } from 'node:timers/promises';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { IdentityIndex } from '../core/identity/resolver.js';
import { ENGINE_SOURCE } from '../core/model/events.js';
import type { RawMessage } from '../core/model/messages.js';
import { createCanonicalDecoder } from '../core/normalize/canonical-decoder.js';
import type { IngestCommit, Store } from '../ports/store.js';
import { tempStorePath } from '../../test/helpers/temp-store.js';
import { locationIngestor, observeCommits } from '../../test/helpers/ingestor.js';
import { ASSETS, T0, outcome, rulesIngestor, storeWithAssets, stream, streamRulesInput } from '../../test/helpers/rules-stream.js';
import { rulesSchema } from '../config/rules-schema.js';
import { createRules } from '../core/rules/index.js';
import { waitFor } from '../../test/helpers/wait.js';
import { DecoderRegistry, MAX_LOG_FACTOR, type Ingestor } from './ingestor.js';
import { watermarkMessage } from './tasks/idle-watermark.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
const register = (close: () => Promise<void>): void => void cleanup.push(close);
/** The stream's 'hot' threshold, as configured. */
const hot = () => ({ ...(streamRulesInput().maintenance.thresholds[0] as object) }) as { name: string; sensor: string; above: number; clearBelow: number; for: string; severity: string; cooldown: string };

async function submitAll(ingestor: Ingestor, msgs: readonly RawMessage[], chunk: number): Promise<void> {
  for (let i = 0; i < msgs.length; i += chunk) await ingestor.submit(msgs.slice(i, i + chunk));
}

/** What a run that never crashed stores: the deliveries and state the crash runs must end with. */
async function uncrashed(msgs: readonly RawMessage[], chunk: number): Promise<Awaited<ReturnType<typeof outcome>>> {
  const reference = await storeWithAssets(register);
  const ref = rulesIngestor(reference, new IdentityIndex(await reference.listAssets()));
  await submitAll(ref, msgs, chunk);
  await ref.flush();
  return outcome(reference);
}

describe('rule state checkpoints', () => {
  it('logs the messages that changed rule state and stores the state at a checkpoint', async () => {
    const store = await storeWithAssets(register);
    const ingestor = rulesIngestor(store, new IdentityIndex(await store.listAssets()));
    const msgs = stream(3);
    const unknown = { ...(msgs[0] as RawMessage), payload: JSON.stringify({ kind: 'position', assetId: 'tag-404', eventTime: new Date(T0).toISOString(), lat: 50, lng: 10 }) };
    await ingestor.submit([...msgs, unknown]);
    // Every accepted message here changed some rule state (the reorder buffers hold them); the quarantined one is not logged.
    expect((await store.readIngestLog()).map((m) => m.payload)).toEqual(msgs.map((m) => m.payload));
    expect(await store.loadStates(['EQ-0'])).toEqual(new Map());
    expect(ingestor.stats.logged).toBe(msgs.length);
    await ingestor.flush();
    expect(await store.readIngestLog()).toEqual([]);
    expect(Object.keys((await store.loadStates(['EQ-0'])).get('EQ-0') ?? {}).sort()).toEqual(['depreciation', 'location', 'maintenance']);
    expect(ingestor.stats).toMatchObject({ logged: 0, checkpoints: 1 });
  });

  it('a damaged ingest log stops the start (flush) with an error naming the store row, and keeps the log', async () => {
    const path = tempStorePath();
    const store = await storeWithAssets(register, path);
    const identity = new IdentityIndex(await store.listAssets());
    await rulesIngestor(store, identity).submit(stream(2)); // logged, never checkpointed: a crash
    const raw = new Database(path);
    raw.prepare('UPDATE ingest_log_batch SET data = substr(data, 1, 20)').run();
    raw.close();
    const next = rulesIngestor(store, identity);
    await expect(next.flush()).rejects.toThrow(/ingest log in .* is damaged \(ingest_log_batch row \d+: ingest log batch is truncated\); restore the store from a backup/);
    expect((await store.counters()).ingestLog).toBe(stream(2).length);
  });

  it('with checkpointMs 0 stores rule state with every batch and keeps no log', async () => {
    const store = await storeWithAssets(register);
    const ingestor = rulesIngestor(store, new IdentityIndex(await store.listAssets()), { checkpointMs: 0 });
    await ingestor.submit(stream(2));
    expect(await store.readIngestLog()).toEqual([]);
    expect((await store.loadStates(['EQ-1'])).get('EQ-1')).toHaveProperty('maintenance');
  });

  it('checkpoints when the log reaches checkpointMessages', async () => {
    const store = await storeWithAssets(register);
    const ingestor = rulesIngestor(store, new IdentityIndex(await store.listAssets()), { checkpointMessages: 10, checkpointMessagesPerAsset: 0 });
    const msgs = stream(10);
    let longest = 0;
    for (let i = 0; i < msgs.length; i += 4) {
      await ingestor.submit(msgs.slice(i, i + 4));
      longest = Math.max(longest, (await store.readIngestLog()).length);
    }
    expect(longest).toBeLessThanOrEqual(10);
    expect(ingestor.stats.checkpoints).toBeGreaterThanOrEqual(5);
  });

  /** The longest the ingest log grew, and the checkpoints made, over `msgs` submitted `chunk` at a time. */
  async function logBound(ingestor: Ingestor, store: Store, msgs: readonly RawMessage[], chunk: number): Promise<{ longest: number; checkpoints: number }> {
    let longest = 0;
    for (let i = 0; i < msgs.length; i += chunk) {
      await ingestor.submit(msgs.slice(i, i + chunk));
      longest = Math.max(longest, (await store.readIngestLog()).length);
    }
    return { longest, checkpoints: ingestor.stats.checkpoints };
  }

  it('with many changed assets, a checkpoint by count waits for checkpointMessagesPerAsset logged messages per changed asset', async () => {
    const store = await storeWithAssets(register);
    // Six assets, each changed by every round: past 10 messages, but not past 3 per changed asset (18), no checkpoint.
    const ingestor = rulesIngestor(store, new IdentityIndex(await store.listAssets()), { checkpointMessages: 10, checkpointMessagesPerAsset: 3, spreadCheckpointAssets: 0 });
    const { longest, checkpoints } = await logBound(ingestor, store, stream(10), 6);
    expect(longest).toBeGreaterThan(10);
    expect(longest).toBeLessThanOrEqual(18);
    expect(checkpoints).toBeGreaterThanOrEqual(2);
  });

  it(`waits for checkpointMessagesPerAsset per changed asset only up to ${MAX_LOG_FACTOR} × checkpointMessages`, async () => {
    const store = await storeWithAssets(register);
    const ingestor = rulesIngestor(store, new IdentityIndex(await store.listAssets()), { checkpointMessages: 1, checkpointMessagesPerAsset: 100, spreadCheckpointAssets: 0 });
    const { longest, checkpoints } = await logBound(ingestor, store, stream(10), 6);
    expect(longest).toBeGreaterThan(1);
    expect(longest).toBeLessThanOrEqual(MAX_LOG_FACTOR);
    expect(checkpoints).toBeGreaterThanOrEqual(3);
  });

  it('checkpoint() stores what was committed before it without waiting for the queue to drain', async () => {
    const store = await storeWithAssets(register);
    const ingestor = rulesIngestor(store, new IdentityIndex(await store.listAssets()), { maxBatch: 6 });
    const msgs = stream(60);
    await ingestor.submit(msgs.slice(0, 60)); // committed: held in memory, logged
    // Sources keep feeding the queue while the checkpoint is asked for.
    const rest = Array.from({ length: 50 }, (_, i) => ingestor.submit(msgs.slice(60 + i * 6, 66 + i * 6)));
    await ingestor.checkpoint();
    expect(ingestor.stats.accepted).toBeLessThan(msgs.length); // resolved before the queue drained
    const stored = (await store.loadStates(['EQ-0'])).get('EQ-0') as { maintenance?: unknown } | undefined;
    expect(stored?.maintenance).toBeDefined();
    await Promise.all(rest);
    await ingestor.flush();
    expect(await store.readIngestLog()).toEqual([]);
    // Nothing held: resolves at once.
    await ingestor.checkpoint();
    expect(ingestor.stats.checkpoints).toBeGreaterThanOrEqual(2);
  });

  it('an idle ingestor writes held state within checkpointMs', async () => {
    const store = await storeWithAssets(register);
    const ingestor = rulesIngestor(store, new IdentityIndex(await store.listAssets()), { checkpointMs: 50 });
    await ingestor.submit(stream(1));
    await waitFor(async () => (await store.readIngestLog()).length === 0, 'the timer checkpoint');
    expect((await store.loadStates(['EQ-0'])).get('EQ-0')).toHaveProperty('location');
  });

  it.each([7, 20, 33])('after a crash at round %i, the rebuilt state makes the same deliveries and state as a run without the crash', async (crashRound) => {
    const msgs = stream(45);
    const expected = await uncrashed(msgs, 5);
    expect(expected.deliveries.some((d) => d.startsWith('workorder.create'))).toBe(true);
    expect(expected.deliveries.some((d) => d.startsWith('location.update'))).toBe(true);

    const store = await storeWithAssets(register);
    const identity = new IdentityIndex(await store.listAssets());
    const first = rulesIngestor(store, identity);
    const cut = crashRound * ASSETS;
    await submitAll(first, msgs.slice(0, Math.floor(cut / 2)), 5);
    await first.flush(); // a checkpoint halfway: the rest of the state is only in the log
    await submitAll(first, msgs.slice(Math.floor(cut / 2), cut), 5);
    expect((await store.readIngestLog()).length).toBeGreaterThan(0);
    // kill -9: `first` is dropped with its memory. A new ingestor takes over the same store.
    const second = rulesIngestor(store, identity);
    await submitAll(second, msgs.slice(cut), 3);
    await second.flush();
    expect(await outcome(store)).toEqual(expected);
  });

  it('property: a crash anywhere, then redelivery that repeats some acknowledged messages, ends with the same deliveries and state as a run without it', async () => {
    const msgs = stream(40);
    const expected = await uncrashed(msgs, 4);
    expect(expected.deliveries.some((d) => d.startsWith('workorder.create'))).toBe(true);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: msgs.length - 1 }), // messages committed (and acknowledged) before the crash
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 30 })), // of those, how many the source redelivers anyway (acks lost with the process)
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.boolean(), // a checkpoint somewhere before the crash, or only the ingest log
        async (cut, repeated, before, after, checkpoint) => {
          const store = await storeWithAssets(register);
          const identity = new IdentityIndex(await store.listAssets());
          const first = rulesIngestor(store, identity);
          const half = Math.floor(cut / 2);
          await submitAll(first, msgs.slice(0, half), before);
          if (checkpoint) await first.checkpoint();
          await submitAll(first, msgs.slice(half, cut), before);
          // kill -9: a new ingestor on the same store; the source sends from before where the acks got to.
          const second = rulesIngestor(store, identity);
          await submitAll(second, msgs.slice(Math.max(0, cut - repeated)), after);
          await second.flush();
          expect(await outcome(store)).toEqual(expected);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('a checkpoint of more assets than spreadCheckpointAssets is stored a part per batch, and its last part empties the log up to where it started', async () => {
    const real = await storeWithAssets(register);
    const commits: IngestCommit[] = [];
    const store = observeCommits(real, (c) => commits.push(c));
    const ingestor = rulesIngestor(store, new IdentityIndex(await real.listAssets()), { checkpointMessages: 12, checkpointMessagesPerAsset: 0, spreadCheckpointAssets: 2 });
    const msgs = stream(6); // 6 assets: one message each per round
    await submitAll(ingestor, msgs.slice(0, 12), 6); // 12 logged: not over the limit yet
    expect(commits.every((c) => c.spread === undefined && c.checkpoint !== true)).toBe(true);
    for (let i = 12; i < 30; i += 6) await ingestor.submit(msgs.slice(i, i + 6));
    const parts = commits.filter((c) => c.spread);
    // Six changed assets, two per batch: three parts, the first starting the round, the last ending it.
    expect(parts.map((c) => [c.spread?.start, c.spread?.end, c.states.length])).toEqual([
      [true, false, 2],
      [false, false, 2],
      [false, true, 2],
    ]);
    expect(new Set(parts.flatMap((c) => c.states.map((st) => st.erpAssetId))).size).toBe(6);
    // Each part logs its own batch as usual; no batch was a whole checkpoint.
    expect(parts.every((c) => (c.log?.messages.length ?? 0) > 0)).toBe(true);
    expect(commits.some((c) => c.checkpoint)).toBe(false);
    // The log now holds what came after the round started: the two batches after its first part.
    expect((await real.readIngestLog()).length).toBe(12);
    expect(ingestor.stats).toMatchObject({ logged: 12, checkpoints: 1, lastCheckpoint: { assets: 6, parts: 3 } });
    // The stored state of an asset its first part stored includes the log up to that part.
    const positions = await real.ruleStateLogPositions();
    expect(positions.size).toBe(4); // the two of the first part were emptied with the log up to it
    await ingestor.flush();
    expect(await real.readIngestLog()).toEqual([]);
    expect(await real.ruleStateLogPositions()).toEqual(new Map());
  });

  it('property: with checkpoints spread over batches, a crash anywhere ends with the same deliveries and state as a run without it', async () => {
    const msgs = stream(40);
    const expected = await uncrashed(msgs, 4);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: msgs.length - 1 }),
        fc.integer({ min: 1, max: 12 }), // messages per submit (and batch)
        fc.integer({ min: 1, max: 40 }), // checkpointMessages
        fc.integer({ min: 1, max: 5 }), // spreadCheckpointAssets
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 30 })), // acknowledged messages the source redelivers anyway
        async (cut, size, checkpointMessages, spreadCheckpointAssets, repeated) => {
          const store = await storeWithAssets(register);
          const identity = new IdentityIndex(await store.listAssets());
          const first = rulesIngestor(store, identity, { checkpointMessages, spreadCheckpointAssets, maxBatch: size });
          await submitAll(first, msgs.slice(0, cut), size);
          // kill -9 (mid-round, as a rule): the replay skips what each asset's stored state includes.
          const second = rulesIngestor(store, identity, { checkpointMessages, spreadCheckpointAssets, maxBatch: size });
          await submitAll(second, msgs.slice(Math.max(0, cut - repeated)), size);
          await second.flush();
          expect(await outcome(store)).toEqual(expected);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('a replay does not run again what a spread checkpoint already stored of an asset (a rule that counts events would count them twice)', async () => {
    // Unlike the real rules (whose reorder buffers take an event seen before as late or a
    // duplicate), this one counts every event it is given: only skipping what each asset's stored
    // state includes rebuilds the count.
    const counting = { name: 'count', kinds: ['meter' as const], apply: (s: number | undefined) => ({ state: (s ?? 0) + 1, deliveries: [] }) };
    const store = await storeWithAssets(register);
    const identity = new IdentityIndex(await store.listAssets());
    const options = { rules: [counting], checkpointMessages: 12, checkpointMessagesPerAsset: 0, spreadCheckpointAssets: 2, maxBatch: 6 };
    const meters = stream(30).filter((m) => (m.payload as string).includes('"meter"')); // 10 readings per asset
    const first = rulesIngestor(store, identity, options);
    await submitAll(first, meters, 6);
    // Mid-round as a rule: some assets' counts are stored part way through the log.
    expect((await store.ruleStateLogPositions()).size).toBeGreaterThan(0);
    const second = rulesIngestor(store, identity, options); // kill -9, and a new start
    await second.flush();
    const states = await store.loadStates(Array.from({ length: ASSETS }, (_, a) => `EQ-${a}`));
    expect([...states.values()].map((d) => d.count)).toEqual(Array<number>(ASSETS).fill(10));
  });

  it('a replay under changed rules enqueues the work orders they open within the logged messages; under the same rules it adds nothing', async () => {
    // The first run's rules never open 'hot' (above 120); the configuration after the crash does
    // (above 95). The replay rebuilds state under the new rules: without its facts, the state
    // would say the work order was opened and none would ever be sent.
    const cooler = createRules(rulesSchema.parse({ ...streamRulesInput(), maintenance: { ...streamRulesInput().maintenance, thresholds: [{ ...hot(), above: 120, clearBelow: 110 }] } }));
    const hotter = createRules(rulesSchema.parse({ ...streamRulesInput(), maintenance: { ...streamRulesInput().maintenance, thresholds: [hot()] } }));
    const hotOrders = async (s: Store) => (await s.listDeliveries({ limit: 100_000 })).filter((d) => d.businessKey.includes('|hot|')).map((d) => d.businessKey).sort();
    const msgs = stream(60);
    // What the new rules open over these messages, run without a crash.
    const reference = await storeWithAssets(register);
    const ref = rulesIngestor(reference, new IdentityIndex(await reference.listAssets()), { rules: hotter });
    await ref.submit(msgs);
    await ref.flush();
    const expected = await hotOrders(reference);
    expect(expected.length).toBeGreaterThan(0);

    const store = await storeWithAssets(register);
    const identity = new IdentityIndex(await store.listAssets());
    await rulesIngestor(store, identity, { rules: cooler }).submit(msgs); // logged, never checkpointed: a crash
    expect(await hotOrders(store)).toEqual([]);
    const restarted = rulesIngestor(store, identity, { rules: hotter });
    await restarted.flush();
    expect(await hotOrders(store)).toEqual(expected);

    // A crash and a replay under the same rules: the facts committed again add nothing.
    const same = await storeWithAssets(register);
    await rulesIngestor(same, identity, { rules: hotter }).submit(msgs);
    const before = await same.counters();
    const deliveries = (await same.listDeliveries({ limit: 100_000 })).length;
    expect(Object.values(before.factsEnqueued).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    await rulesIngestor(same, identity, { rules: hotter }).flush();
    expect((await same.counters()).factsEnqueued).toEqual(before.factsEnqueued);
    expect((await same.listDeliveries({ limit: 100_000 })).length).toBe(deliveries);
  });

  it('a replay after the assets were moved to another destination (the configuration changed) does not open their work orders again there: one business key, one destination', async () => {
    const creates = async (s: Store) => (await s.listDeliveries({ limit: 100_000 })).filter((d) => d.operation === 'workorder.create').map((d) => `${d.destination} ${d.businessKey}`).sort();
    const msgs = stream(60);
    const store = await storeWithAssets(register);
    const identity = new IdentityIndex(await store.listAssets());
    await rulesIngestor(store, identity).submit(msgs); // logged, never checkpointed: a crash
    const opened = await creates(store);
    expect(opened.length).toBeGreaterThan(0);
    expect(opened.every((c) => c.startsWith('erp '))).toBe(true);
    // Restarted with the assets routed to erp2.
    await rulesIngestor(store, identity, { defaultDestination: 'erp2' }).flush();
    expect(await creates(store)).toEqual(opened);
  });

  it('after a failed commit, state is rebuilt from the stored state and the log', async () => {
    const real = await storeWithAssets(register);
    const held: { commit: IngestCommit; pass: () => void; fail: (e: Error) => void }[] = [];
    const store = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop !== 'commitIngest') return Reflect.get(target, prop, receiver) as unknown;
        return (commit: IngestCommit) =>
          new Promise<void>((resolve, reject) => {
            held.push({ commit, pass: () => void target.commitIngest(commit).then(resolve, reject), fail: reject });
          });
      },
    }) as Store;
    const identity = new IdentityIndex(await real.listAssets());
    const ingestor = locationIngestor(store, identity, { maxBatch: 1, maxWaitMs: 1, checkpointMs: 3_600_000 });
    const at = (minute: number, lat: number) => ({
      source: 'http',
      channel: '/v1/events',
      payload: JSON.stringify({ kind: 'position', assetId: 'tag-1', eventTime: new Date(T0 + minute * 60_000).toISOString(), lat, lng: 4.3 }),
      receivedAt: Date.now(),
    });
    const a = ingestor.submit([at(0, 52)]);
    await waitFor(() => held.length === 1, 'first batch');
    held.shift()?.pass();
    await a; // committed: its delivery, and its message in the log (the state is not stored)
    const b = ingestor.submit([at(1, 53)]); // 111 km away: an update, but its commit fails
    await waitFor(() => held.length === 1, 'second batch');
    held.shift()?.fail(new Error('disk I/O error'));
    await expect(b).rejects.toThrow(/disk I\/O/);
    // 11 m from the first fix: no update, if (and only if) the state is the first batch's — a
    // lost state would make this a first sighting, a kept failed batch would make it 111 km.
    const c = ingestor.submit([at(2, 52.0001)]);
    await waitFor(() => held.length === 1, 'third batch');
    expect(held[0]?.commit.deliveries).toEqual([]);
    held.shift()?.pass();
    await c;
    expect(await real.readIngestLog()).toHaveLength(2);
  });
});

/**
 * The replay of the ingest log takes turns of the event loop between chunks (after a failed commit
 * intake is open meanwhile). What runs in those turns must not see the half-rebuilt state: batches
 * wait for the recovery, in the order they came, and the idle check names nobody.
 */
describe('recovery between turns of the event loop', () => {
  /** Replay chunks: the log's runs of one processing time (each logged batch has its own here). */
  const chunksOf = (log: readonly { now: number }[]) => log.filter((m, i) => i === 0 || (log[i - 1] as { now: number }).now !== m.now).length;
  const decoders = () => new DecoderRegistry().register('http', createCanonicalDecoder()).register(ENGINE_SOURCE, createCanonicalDecoder());

  it('lets the event loop take turns between chunks of the replay, and rebuilds the same state', async () => {
    const msgs = stream(45);
    const expected = await uncrashed(msgs, 5);

    const store = await storeWithAssets(register);
    const identity = new IdentityIndex(await store.listAssets());
    const cut = 30 * ASSETS;
    await submitAll(rulesIngestor(store, identity), msgs.slice(0, cut), 5); // then kill -9
    const chunks = chunksOf(await store.readIngestLog());
    expect(chunks).toBeGreaterThan(10);
    // Each run of the pipeline asks for the identity index once: how many chunks were replayed.
    let runs = 0;
    const second = rulesIngestor(store, identity, { identity: () => (runs++, identity) });
    let done = false;
    const starting = second.flush().finally(() => (done = true));
    const seen: number[] = [];
    while (!done) {
      await setImmediate(); // what a timer or a socket gets: a turn
      seen.push(runs);
    }
    await starting;
    // Turns came between chunks, not only before the first and after the last (all at once, before).
    expect(seen.filter((n) => n > 0 && n < chunks).length).toBeGreaterThan(chunks / 2);
    await submitAll(second, msgs.slice(cut), 3);
    await second.flush();
    expect(await outcome(store)).toEqual(expected);
  });

  it('after a failed commit, a watermark and a submit that come mid-recovery run after it, in order, on the rebuilt state; no asset is named idle meanwhile', async () => {
    const msgs = stream(22);
    const cut = 21 * ASSETS;
    // EQ-0's position of round 21: 1.1 km from its last one (the yard to the depot), held for the lateness.
    const ev = msgs[cut] as RawMessage;
    const mark = watermarkMessage('EQ-0', T0 + 600_000); // decides all EQ-0 holds: ev after it is late
    const run = async (order: 'mark first' | 'event first') => {
      const reference = await storeWithAssets(register);
      const ref = rulesIngestor(reference, new IdentityIndex(await reference.listAssets()), { decoders: decoders() });
      await submitAll(ref, msgs.slice(0, cut), 5);
      if (order === 'mark first') await Promise.all([ref.submitInternal([mark]), ref.submit([ev])]);
      else await Promise.all([ref.submit([ev]), ref.submitInternal([mark])]);
      await ref.flush();
      return outcome(reference);
    };
    const expected = await run('mark first');
    expect(await run('event first')).not.toEqual(expected); // the order shows in the outcome

    const real = await storeWithAssets(register);
    let failNext = false;
    let runs = 0;
    // Runs of the pipeline (one per chunk or batch): a commit before the replay's last chunk has
    // run would be a batch prepared on a half-rebuilt state.
    let replayed = 0;
    let recoveryStart = Infinity;
    const early: number[] = [];
    const store = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop !== 'commitIngest') {
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        }
        return (commit: IngestCommit) => {
          // The replay's own commit of the facts it decided (nothing logged, no state) is no batch.
          const replayFacts = commit.log === undefined && commit.states.length === 0 && commit.accepted === 0 && commit.deliveries.every((d) => d.kind === 'fact');
          if (!replayFacts && runs > recoveryStart && runs <= recoveryStart + replayed) early.push(runs - recoveryStart);
          if (!failNext) return target.commitIngest(commit);
          failNext = false;
          return Promise.reject(new Error('disk I/O error'));
        };
      },
    }) as Store;
    const identity = new IdentityIndex(await real.listAssets());
    const ingestor = rulesIngestor(store, identity, { decoders: decoders(), identity: () => (runs++, identity) });
    await submitAll(ingestor, msgs.slice(0, cut), 5);
    replayed = chunksOf(await real.readIngestLog());
    expect(replayed).toBeGreaterThan(10);
    failNext = true;
    await expect(ingestor.submit([ev])).rejects.toThrow(/disk I\/O/); // upstream redelivers it
    // A task asks for a checkpoint: the state is rebuilt first, in turns.
    recoveryStart = runs;
    let done = false;
    const checkpointed = ingestor.checkpoint().finally(() => (done = true));
    while (!done && !(runs > recoveryStart && runs < recoveryStart + replayed)) await setImmediate();
    expect(done).toBe(false); // caught in the middle of the replay
    // The idle task's turn: the replayed messages' old times and a half-rebuilt cache name nobody.
    expect(ingestor.idleHolding(T0 + 3_600_000, 60_000)).toEqual([]);
    const marked = ingestor.submitInternal([mark]);
    const redelivered = ingestor.submit([ev]);
    await checkpointed;
    expect(await marked).toEqual({ accepted: 1, quarantined: [] });
    expect(await redelivered).toEqual({ accepted: 1, quarantined: [] });
    expect(early).toEqual([]);
    await ingestor.flush();
    expect(await outcome(real)).toEqual(expected);
  });
});
