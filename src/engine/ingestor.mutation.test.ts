/**
 * Ingestor behaviours pinned by a mutation audit: counts operators compare with their sources,
 * batching and checkpoint bounds, quarantine codes and replays, per-event identity in one message,
 * checkpoint() callers across failures, idle naming, and the state cache's LRU bound.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../adapters/store/sqlite/sqlite-store.js';
import { IdentityIndex } from '../core/identity/resolver.js';
import { ENGINE_SOURCE, type CanonicalEvent } from '../core/model/events.js';
import type { RawMessage } from '../core/model/messages.js';
import { createCanonicalDecoder } from '../core/normalize/canonical-decoder.js';
import type { FlushableRule } from '../core/rules/event-time.js';
import type { Rule } from '../core/rules/rule.js';
import type { CapturedEvent, EventCapture } from '../ports/capture.js';
import type { IngestCommit, Store } from '../ports/store.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import { locationIngestor } from '../../test/helpers/ingestor.js';
import { waitFor } from '../../test/helpers/wait.js';
import { DecoderRegistry, Ingestor, type IngestorOptions } from './ingestor.js';
import { replayQuarantine } from './replay.js';
import { watermarkMessage } from './tasks/idle-watermark.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const T0 = Date.parse('2026-11-20T08:00:00Z');
const MIN = 60_000;

async function storeWith(tags: readonly string[]): Promise<SqliteStore> {
  const store = tempStore();
  cleanup.push(() => store.close());
  await store.upsertAssets(tags.map((n) => ({ asset: { erpAssetId: `EQ-${n}`, erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: `tag-${n}`, erpAssetId: `EQ-${n}` }] })));
  return store;
}

const position = (tag: string, minute: number, lat: number, extra: object = {}) => ({ kind: 'position', assetId: tag, eventTime: new Date(T0 + minute * MIN).toISOString(), lat, lng: 4.3, ...extra });
const msg = (body: unknown): RawMessage => ({ source: 'http', channel: '/v1/events', payload: JSON.stringify(body), receivedAt: T0 });
const pos = (tag: string, minute: number, lat: number): RawMessage => msg(position(tag, minute, lat));

/** A clock the test moves; processing time for every batch. */
function testClock(start = T0 + 60 * MIN) {
  const c = { t: start, now: () => c.t };
  return c;
}

/** Resolves with 'pending' if `p` has not settled within `ms`. */
async function settledWithin<T>(p: Promise<T>, ms: number): Promise<'settled' | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([p.then(() => 'settled' as const, () => 'settled' as const), new Promise<'pending'>((res) => (timer = setTimeout(() => res('pending'), ms)))]);
  clearTimeout(timer);
  return r;
}

/** Wraps a store: every commitIngest is recorded (and may be replaced). */
function recording(real: Store, commitIngest?: (commit: IngestCommit, real: Store) => Promise<void>) {
  const commits: IngestCommit[] = [];
  const store = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop !== 'commitIngest') return Reflect.get(target, prop, receiver) as unknown;
      return (commit: IngestCommit) => {
        commits.push(commit);
        return commitIngest ? commitIngest(commit, target) : target.commitIngest(commit);
      };
    },
  });
  return { store, commits };
}

/** A store whose commits wait until the test lets each through or fails it. */
function gated(real: Store) {
  const held: { commit: IngestCommit; pass: () => void; fail: (e: Error) => void }[] = [];
  const store = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop !== 'commitIngest') return Reflect.get(target, prop, receiver) as unknown;
      return (commit: IngestCommit) =>
        new Promise<void>((resolve, reject) => {
          held.push({ commit, pass: () => void target.commitIngest(commit).then(resolve, reject), fail: reject });
        });
    },
  });
  return { store, held };
}

/**
 * A rule that holds a position at latitude 10 or more until a watermark decides it; at 20 or more
 * it still holds after the watermark (a dwell longer than the idle time).
 */
const holder: FlushableRule<{ held: boolean; sticky: boolean; n: number }> = {
  name: 'holder',
  kinds: ['position'],
  apply(state, event: CanonicalEvent) {
    const lat = event.kind === 'position' ? (event.lat ?? 0) : 0;
    return { state: { held: lat >= 10, sticky: lat >= 20, n: (state?.n ?? 0) + 1 }, deliveries: [] };
  },
  flush(state) {
    if (!state || state.sticky || !state.held) return { state: state as { held: boolean; sticky: boolean; n: number }, deliveries: [] };
    return { state: { ...state, held: false }, deliveries: [] };
  },
  holds: (state) => state?.held === true,
};

/** Creates its state at the first position and returns it unchanged ever after. */
const same: Rule = { name: 'same', kinds: ['position'], apply: (state) => ({ state: state ?? { seen: true }, deliveries: [] }) };

function holderIngestor(store: Store, identity: IdentityIndex, clock: { now: () => number }, extra: Partial<IngestorOptions> = {}): Ingestor {
  return new Ingestor({
    store,
    clock,
    decoders: new DecoderRegistry().register('http', createCanonicalDecoder()).register(ENGINE_SOURCE, createCanonicalDecoder()),
    rules: [holder],
    identity: () => identity,
    validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0 },
    defaultDestination: 'erp',
    maxWaitMs: 1,
    checkpointMs: 86_400_000,
    ...extra,
  });
}

describe('ingest counts', () => {
  it('counts every message a source submits as received, accepted or quarantined alike', async () => {
    // Mutation: `stats.received` not counted in submit (assetbridge_messages_received_total stuck at 0).
    const store = await storeWith(['1']);
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()));
    await ingestor.submit([pos('tag-1', 0, 52), pos('tag-404', 0, 52), msg('not an event')]);
    expect(ingestor.stats).toMatchObject({ received: 3, accepted: 1, quarantined: 2 });
  });

  it('counts captured events without the ones the capture dropped', async () => {
    // Mutation: stats.captured adding the whole batch, dropped ones included.
    const store = await storeWith(['1', '2', '3']);
    const capture: EventCapture = { write: (events: readonly CapturedEvent[]) => Math.min(1, events.length), close: () => Promise.resolve() };
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()), { capture });
    await ingestor.submit([pos('tag-1', 0, 52), pos('tag-2', 0, 52), pos('tag-3', 0, 52)]);
    expect(ingestor.stats).toMatchObject({ captured: 2, captureDropped: 1 });
  });
});

describe('quarantine codes and replay', () => {
  it('quarantines a stale event as stale, so it can be listed and replayed by that code', async () => {
    // Mutation: the validation code replaced by 'invalid' on its way to the quarantine.
    const store = await storeWith(['1']);
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()), { clock: testClock(T0 + 2 * 86_400_000), validation: { maxFutureSkewMs: 300_000, maxAgeMs: 86_400_000 } });
    const r = await ingestor.submit([pos('tag-1', 0, 52)]);
    expect(r.quarantined).toEqual([{ index: 0, reason: expect.stringContaining('freshness limit') as unknown }]);
    expect((await store.listQuarantine({})).map((q) => q.code)).toEqual(['stale']);
  });

  it('a replay through the ingestor closes each entry in the commit that stores its new outcome', async () => {
    // Mutation: the replayed entry ids not passed with the batch (entries stay open and replay again).
    const store = await storeWith(['1']);
    let identity = new IdentityIndex(await store.listAssets());
    const ingestor = new Ingestor({
      store,
      clock: testClock(),
      decoders: new DecoderRegistry().register('http', createCanonicalDecoder()),
      rules: [],
      identity: () => identity,
      validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0 },
      defaultDestination: 'erp',
      maxWaitMs: 1,
    });
    await ingestor.submit([pos('tag-2', 0, 52), pos('tag-3', 0, 52)]);
    expect((await store.listQuarantine({ status: 'open' })).map((q) => q.code)).toEqual(['unknown-asset', 'unknown-asset']);
    // The mapping for tag-2 is added; tag-3 is still unknown.
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-2', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-2', erpAssetId: 'EQ-2' }] }]);
    identity = new IdentityIndex(await store.listAssets());
    const summary = await replayQuarantine(store, ingestor, {});
    expect(summary).toMatchObject({ replayed: 2, accepted: 1, stillQuarantined: 1 });
    const rows = await store.listQuarantine({});
    expect(rows.map((q) => [q.status, q.replays])).toEqual([
      ['replayed', 1],
      ['replayed', 1],
      ['open', 0],
    ]);
    // The new entry names the one it was replayed from (tag-3's), and that one leads to it.
    const [, tag3, again] = rows;
    expect(again?.replayOf).toBe(tag3?.id);
    expect(rows[0]).not.toHaveProperty('replayOf');
    expect((await store.listQuarantine({ replayOf: tag3?.id })).map((q) => q.id)).toEqual([again?.id]);
    // A second replay finds only the new entry; set aside a third time, it names the second.
    expect(await replayQuarantine(store, ingestor, {})).toMatchObject({ replayed: 1, accepted: 0 });
    expect((await store.listQuarantine({ status: 'open' })).map((q) => q.replayOf)).toEqual([again?.id]);
  });

  it('quarantines a payload that holds no event at all rather than accepting it as nothing', async () => {
    // Mutation: the "no event" check dropped (an empty JSON array accepted, counted, and lost).
    const store = await storeWith(['1']);
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()));
    const r = await ingestor.submit([msg([])]);
    expect(r).toEqual({ accepted: 0, quarantined: [{ index: 0, reason: 'payload holds no event (no position, meter, sensor or alert values found)' }] });
    expect((await store.listQuarantine({})).map((q) => q.code)).toEqual(['undecodable']);
  });

  it('takes a payload of exactly maxPayloadBytes and quarantines one byte more as too-large', async () => {
    // Mutation: `size > limit` made `size >= limit`.
    const store = await storeWith(['1']);
    const body = JSON.stringify(position('tag-1', 0, 52));
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()), { maxPayloadBytes: Buffer.byteLength(body) });
    const r = await ingestor.submit([msg(position('tag-1', 0, 52)), { ...msg(null), payload: `${body} ` }]);
    expect(r.accepted).toBe(1);
    expect(r.quarantined).toEqual([{ index: 1, reason: expect.stringContaining('exceeds ingest.maxPayloadBytes') as unknown }]);
    expect((await store.listQuarantine({})).map((q) => q.code)).toEqual(['too-large']);
  });

  it('keeps only the start of a huge payload in quarantine, with its size, and a replay passes it over', async () => {
    // Mutation: the whole payload stored (a 100 MB message kept whole in the store).
    const store = await storeWith(['1']);
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()), { maxPayloadBytes: 1024 });
    const huge = new Uint8Array(5 * 1024 * 1024).fill(0x41);
    huge.set(Buffer.from('{"sender":"gw-7"'));
    const small = `${JSON.stringify(position('tag-1', 0, 52))}${' '.repeat(2000)}`; // over the limit, but kept whole
    const r = await ingestor.submit([{ source: 'mqtt:yard', channel: 'fleet/gw-7/t', payload: huge, receivedAt: T0 }, { ...msg(null), payload: small }]);
    expect(r.quarantined.map((q) => q.reason)).toEqual([
      'payload of 5242880 bytes exceeds ingest.maxPayloadBytes (1024); only its first 65536 bytes are kept here, to show what sent it, so it cannot be replayed: fix the sender (or raise the limit for the messages to come), then discard it',
      `payload of ${Buffer.byteLength(small)} bytes exceeds ingest.maxPayloadBytes (1024); raise the limit or fix the sender`,
    ]);
    const [big, whole] = await store.listQuarantine({});
    expect(big?.code).toBe('too-large');
    expect(big?.payload.length).toBe(65536);
    expect(Buffer.from(big?.payload ?? '').subarray(0, 16).toString()).toBe('{"sender":"gw-7"');
    expect(Buffer.from(whole?.payload ?? '').toString()).toBe(small);
    // A replay (after raising the limit) runs the one kept whole, and leaves the prefix open, named.
    const raised = locationIngestor(store, new IdentityIndex(await store.listAssets()), { maxPayloadBytes: 1 << 20 });
    const summary = await replayQuarantine(store, raised, {});
    expect(summary).toMatchObject({ replayed: 1, accepted: 1, prefixes: [big?.id] });
    expect((await store.listQuarantine({ status: 'open' })).map((q) => q.id)).toEqual([big?.id]);
    // Text (HTTP intake) stays text, cut between characters.
    const text = `{"note":"${'é'.repeat(40_000)}"}`;
    const t = await raised.submit([{ ...msg(null), payload: `${text}${' '.repeat(1 << 20)}` }]);
    expect(t.quarantined[0]?.reason).toMatch(/^payload of \d+ bytes exceeds ingest\.maxPayloadBytes \(1048576\); only its first 65535 bytes are kept here/);
    const kept = (await store.listQuarantine({ status: 'open' })).at(-1)?.payload;
    expect(typeof kept).toBe('string');
    expect(text.startsWith(kept as string)).toBe(true);
  });

  it('tells two too-large messages that start alike apart by their whole payload: each has its entry, and a copy the broker sends again counts on its own', async () => {
    // Bug: copies were matched by the 64 KiB kept, so a second huge message starting like the first
    // (a retained copy replaced by the sender, a gateway's dump) was counted on the first's entry,
    // its own size and arrival lost.
    const store = await storeWith(['1']);
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()), { maxPayloadBytes: 1024 });
    const huge = (tail: number): RawMessage => {
      const payload = new Uint8Array(200 * 1024).fill(0x41);
      payload[payload.length - 1] = tail;
      return { source: 'mqtt:yard', channel: 'fleet/gw-7/dump', payload, receivedAt: T0, retained: true };
    };
    await ingestor.submit([huge(1)]);
    await ingestor.submit([huge(2)]); // another message: the same first 64 KiB, another end
    await ingestor.submit([huge(1), { ...huge(2), retained: undefined, redelivered: true }, huge(2)]); // copies of each
    const rows = await store.listQuarantine({});
    expect(rows.map((q) => [q.code, q.repeats])).toEqual([
      ['too-large', 1],
      ['too-large', 2],
    ]);
    expect((await store.counters()).quarantineRepeats).toBe(3);
  });
});

describe('identity per event', () => {
  it('resolves each event of a multi-event message to its own asset, and quarantines the message if one is unknown', async () => {
    // Mutation: the asset of the first event reused for every event of the message.
    const store = await storeWith(['1', '2']);
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()));
    const r = await ingestor.submit([msg([position('tag-1', 0, 52), position('tag-2', 0, 40)]), msg([position('tag-1', 1, 50), position('tag-404', 1, 41)])]);
    expect(r.accepted).toBe(1);
    expect(r.quarantined).toEqual([{ index: 1, reason: expect.stringContaining('no ERP mapping for tag tag-404') as unknown }]);
    const updates = (await store.listDeliveries({})).map((d) => [d.erpAssetId, (d.payload.coordinates as { lat: number }).lat]);
    expect(updates.sort()).toEqual([
      ['EQ-1', 52],
      ['EQ-2', 40],
    ]);
  });
});

describe('the ingest log', () => {
  it('logs only messages that changed some rule state', async () => {
    // Mutations: every message a rule read logged, changed state or not.
    const store = await storeWith(['1']);
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()), { rules: [same] });
    await ingestor.submit([pos('tag-1', 0, 52)]); // first sighting: the state is created
    await ingestor.submit([pos('tag-1', 1, 53), pos('tag-1', 2, 54)]); // the rule returns its state unchanged
    expect((await store.readIngestLog()).map((m) => m.payload)).toEqual([JSON.stringify(position('tag-1', 0, 52))]);
    expect(ingestor.stats.logged).toBe(1);
  });
});

describe('batching', () => {
  it('commits a batch as soon as it is full, without waiting maxWaitMs', async () => {
    // Mutation: `queued >= maxBatch` made `>` (a full batch waits for the timer).
    const store = await storeWith(['1', '2']);
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()), { maxBatch: 2, maxWaitMs: 30_000 });
    expect(await settledWithin(ingestor.submit([pos('tag-1', 0, 52), pos('tag-2', 0, 40)]), 3000)).toBe('settled');
  });

  it('never puts more than maxBatch messages in one transaction', async () => {
    // Mutation: `n < maxBatch` made `<=` (one submission too many taken into a batch).
    const real = await storeWith(['1', '2', '3', '4', '5']);
    const { store, commits } = recording(real);
    const ingestor = locationIngestor(store, new IdentityIndex(await real.listAssets()), { maxBatch: 2, maxWaitMs: 5 });
    await Promise.all(['1', '2', '3', '4', '5'].map((n) => ingestor.submit([pos(`tag-${n}`, 0, 50 + Number(n))])));
    const sizes = commits.map((c) => c.accepted + c.quarantine.length).filter((n) => n > 0);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(5);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2);
  });
});

describe('checkpoints', () => {
  it('stores a change with the first batch that comes checkpointMs after it, even while input keeps changing state', async () => {
    // Mutations: the age measured from the newest change instead of the oldest; `>=` made `>`.
    const store = await storeWith(['1', '2', '3']);
    const clock = testClock();
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()), { clock, checkpointMs: 10_000 });
    await ingestor.submit([pos('tag-1', 0, 52)]);
    clock.t += 5_000;
    await ingestor.submit([pos('tag-2', 0, 40)]);
    expect((await store.readIngestLog()).length).toBe(2); // 5 s old: held in memory
    clock.t += 5_000;
    await ingestor.submit([pos('tag-3', 0, 30)]); // the first change is now 10 s old
    expect(await store.readIngestLog()).toEqual([]);
    expect([...(await store.loadStates(['EQ-1', 'EQ-2', 'EQ-3'])).keys()].sort()).toEqual(['EQ-1', 'EQ-2', 'EQ-3']);
  });

  it('after a crash, the log it replays counts toward checkpointMessages', async () => {
    // Mutation: the replayed log not counted (the log grows past its bound after a restart).
    const store = await storeWith(['1', '2', '3', '4', '5']);
    const identity = new IdentityIndex(await store.listAssets());
    await locationIngestor(store, identity, { checkpointMs: 3_600_000 }).submit([pos('tag-1', 0, 51), pos('tag-2', 0, 52), pos('tag-3', 0, 53)]);
    expect(await store.readIngestLog()).toHaveLength(3);
    // kill -9; the next process bounds the log at 4 messages.
    const next = locationIngestor(store, identity, { checkpointMessages: 4, checkpointMessagesPerAsset: 0 });
    await next.submit([pos('tag-4', 0, 54), pos('tag-5', 0, 55)]);
    expect((await store.readIngestLog()).length).toBeLessThanOrEqual(4);
    expect(next.stats.logged).toBeLessThanOrEqual(4);
  });

  it('flush after a crash whose log no longer applies still empties the log', async () => {
    // Mutation: flush checkpoints only when rebuilt state changed, not when only the log holds messages.
    const store = await storeWith(['1']);
    await locationIngestor(store, new IdentityIndex(await store.listAssets()), { checkpointMs: 3_600_000 }).submit([pos('tag-1', 0, 51)]);
    expect(await store.readIngestLog()).toHaveLength(1);
    // The mapping was removed before the restart: the logged message is refused on replay.
    const next = locationIngestor(store, new IdentityIndex([]));
    await next.flush();
    expect(await store.readIngestLog()).toEqual([]);
    expect(next.stats.logged).toBe(0);
  });

  it('a full state cache of unstored changes asks for a checkpoint', async () => {
    // Mutation: no checkpoint asked for when changes held in memory crowd the cache.
    const store = await storeWith(['1', '2', '3']);
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()), { stateCacheSize: 1, checkpointMs: 3_600_000 });
    await ingestor.submit([pos('tag-1', 0, 51)]);
    await ingestor.submit([pos('tag-2', 0, 52)]);
    await waitFor(async () => (await store.readIngestLog()).length === 0, 'a checkpoint once the cache is crowded', 3000);
    expect([...(await store.loadStates(['EQ-1', 'EQ-2'])).keys()].sort()).toEqual(['EQ-1', 'EQ-2']);
  });

  it('checkpoint() while an earlier checkpoint is still committing resolves only after it', async () => {
    // Mutation: checkpoint() resolving at once when nothing is dirty, though a checkpoint is still committing.
    const real = await storeWith(['1']);
    const g = gated(real);
    const ingestor = locationIngestor(g.store, new IdentityIndex(await real.listAssets()), { maxWaitMs: 1, checkpointMs: 3_600_000 });
    const first = ingestor.submit([pos('tag-1', 0, 51)]);
    await waitFor(() => g.held.length === 1, 'the first batch');
    g.held.shift()?.pass();
    await first;
    const one = ingestor.checkpoint();
    await waitFor(() => g.held.length === 1, 'the checkpoint handed to the store');
    expect(g.held[0]?.commit.checkpoint).toBe(true);
    const two = ingestor.checkpoint(); // nothing changed since, but the stored state is not current yet
    expect(await settledWithin(two, 50)).toBe('pending');
    g.held.shift()?.pass();
    await one;
    await waitFor(() => g.held.length === 1, 'the second checkpoint');
    g.held.shift()?.pass();
    await two;
    expect((await real.loadStates(['EQ-1'])).get('EQ-1')).toHaveProperty('location');
  });

  it('checkpoint() asked for behind a full pipeline still resolves after that commit fails and state is rebuilt', async () => {
    // Mutation: the checkpoint asked for forgotten when a commit fails.
    const real = await storeWith(['1']);
    const g = gated(real);
    const ingestor = locationIngestor(g.store, new IdentityIndex(await real.listAssets()), { maxWaitMs: 1, pipelineDepth: 1, checkpointMs: 3_600_000 });
    const a = ingestor.submit([pos('tag-1', 0, 51)]);
    await waitFor(() => g.held.length === 1, 'the first batch');
    g.held.shift()?.pass();
    await a;
    const b = ingestor.submit([pos('tag-1', 1, 40)]);
    await waitFor(() => g.held.length === 1, 'the second batch');
    const cp = ingestor.checkpoint(); // the pipeline is full: it waits
    g.held.shift()?.fail(new Error('disk I/O error'));
    await expect(b).rejects.toThrow(/disk I\/O/);
    await waitFor(() => g.held.length === 1, 'the checkpoint once state is rebuilt', 3000);
    expect(g.held[0]?.commit.checkpoint).toBe(true);
    g.held.shift()?.pass();
    await cp;
    expect((await real.loadStates(['EQ-1'])).get('EQ-1')).toMatchObject({ location: expect.anything() as unknown });
  });

  it('a checkpoint that fails before reaching the store is reported to its caller, and not retried in a loop', async () => {
    // Mutations: the waiters of a checkpoint that failed early never told; the checkpoint asked for kept and retried at once.
    const real = await storeWith(['1']);
    let failures = 0;
    const { store, commits } = recording(real, (commit, target) => {
      // As the store's own connection does when SQLite refuses the write: it throws.
      if (commit.checkpoint && failures < 5) {
        failures++;
        throw new Error('SQLITE_FULL: database or disk is full');
      }
      return target.commitIngest(commit);
    });
    const ingestor = locationIngestor(store, new IdentityIndex(await real.listAssets()), { checkpointMs: 3_600_000 });
    await ingestor.submit([pos('tag-1', 0, 51)]);
    const cp = ingestor.checkpoint();
    expect(await settledWithin(cp, 3000)).toBe('settled');
    await expect(cp).rejects.toThrow(/disk is full/);
    await new Promise((r) => setTimeout(r, 50));
    expect(commits.filter((c) => c.checkpoint)).toHaveLength(1);
    expect(await real.readIngestLog()).toHaveLength(1); // nothing lost: the log keeps the change
  });
});

describe('idle assets', () => {
  it('names an asset still holding events again exactly idleMs after it was named', async () => {
    // Mutation: `now - named < idleMs` made `<=`.
    const store = await storeWith(['1']);
    const ingestor = holderIngestor(store, new IdentityIndex(await store.listAssets()), testClock(T0));
    await ingestor.submit([pos('tag-1', 0, 25)]);
    const idle = 60 * MIN;
    expect(ingestor.idleHolding(T0 + idle, idle)).toEqual(['EQ-1']);
    expect(ingestor.idleHolding(T0 + 2 * idle - 1, idle)).toEqual([]);
    expect(ingestor.idleHolding(T0 + 2 * idle, idle)).toEqual(['EQ-1']);
  });

  it('after a watermark that leaves events held, names the asset again; after one that leaves nothing, does not', async () => {
    // Mutation: the holding check after a watermark inverted.
    const store = await storeWith(['1', '2']);
    const clock = testClock(T0);
    const ingestor = holderIngestor(store, new IdentityIndex(await store.listAssets()), clock);
    await ingestor.submit([pos('tag-1', 0, 25), pos('tag-2', 0, 15)]); // EQ-1 holds past a watermark, EQ-2 not
    const idle = 60 * MIN;
    clock.t = T0 + idle;
    const named = ingestor.idleHolding(clock.t, idle);
    expect(named.sort()).toEqual(['EQ-1', 'EQ-2']);
    expect(await ingestor.submitInternal(named.map((id) => watermarkMessage(id, clock.t)))).toEqual({ accepted: 2, quarantined: [] });
    clock.t = T0 + 2 * idle;
    expect(ingestor.idleHolding(clock.t, idle)).toEqual(['EQ-1']);
  });

  it('an asset found holding nothing is not named later when the state cache has let go of it', async () => {
    // Mutation: such an asset kept among the idle candidates (a watermark for nothing once it is evicted).
    const store = await storeWith(['1', '2']);
    const clock = testClock(T0);
    const ingestor = holderIngestor(store, new IdentityIndex(await store.listAssets()), clock, { stateCacheSize: 1 });
    await ingestor.submit([pos('tag-1', 0, 5)]); // holds nothing
    await ingestor.flush(); // stored: the cache may let go of it
    const idle = 60 * MIN;
    expect(ingestor.idleHolding(T0 + idle, idle)).toEqual([]);
    clock.t = T0 + idle;
    await ingestor.submit([pos('tag-2', 0, 5)]); // evicts EQ-1
    expect(ingestor.idleHolding(T0 + idle + 1, idle)).toEqual([]);
  });
});

describe('state cache', () => {
  it('keeps stateCacheSize assets in memory, least recently used evicted first', async () => {
    // Mutations: the cache holding one asset fewer than its size; a re-used asset not moved to the back.
    const real = await storeWith(['1', '2', '3']);
    const looked: string[] = [];
    const store = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop !== 'loadStates') return Reflect.get(target, prop, receiver) as unknown;
        return (ids: readonly string[]) => {
          looked.push(...ids);
          return target.loadStates(ids);
        };
      },
    }) as Store;
    const identity = new IdentityIndex(await real.listAssets());
    const first = locationIngestor(real, identity, { rules: [same] });
    await first.submit([pos('tag-1', 0, 51), pos('tag-2', 0, 52), pos('tag-3', 0, 53)]);
    await first.flush(); // all stored; later batches change no state, so any asset may be evicted
    const ingestor = locationIngestor(store, identity, { rules: [same], stateCacheSize: 2, maxBatch: 1, maxWaitMs: 1 });
    await ingestor.submit([pos('tag-1', 1, 51)]);
    await ingestor.submit([pos('tag-2', 1, 52)]);
    await ingestor.submit([pos('tag-1', 2, 51)]); // in memory; now the most recently used
    await ingestor.submit([pos('tag-2', 2, 52)]);
    await ingestor.submit([pos('tag-1', 3, 51)]);
    expect(looked).toEqual(['EQ-1', 'EQ-2']);
    await ingestor.submit([pos('tag-3', 1, 53)]); // evicts EQ-2, the least recently used
    await ingestor.submit([pos('tag-1', 4, 51)]);
    expect(looked).toEqual(['EQ-1', 'EQ-2', 'EQ-3']);
  });
});

describe('decoder registry', () => {
  it('finds a decoder by exact source name first, else by the part before the first colon', () => {
    // Mutation: the prefix fallback dropped (every `aemp:<name>` message quarantined as undecodable).
    const aemp = createCanonicalDecoder();
    const special = createCanonicalDecoder();
    const registry = new DecoderRegistry().register('aemp', aemp).register('mqtt:fleet', special);
    expect(registry.get('aemp:cat')).toBe(aemp);
    expect(registry.get('aemp')).toBe(aemp);
    expect(registry.get('mqtt:fleet')).toBe(special);
    expect(registry.get('mqtt:other')).toBeUndefined();
  });
});
