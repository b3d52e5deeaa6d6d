/**
 * Invariant 6 against a bug: a message a rule throws on is quarantined with the reason, and the
 * rest of its batch is stored as if it had not been there — one poison message never holds up its
 * source's stream (MQTT would otherwise redeliver it, and the batch with it, for ever).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IdentityIndex } from '../core/identity/resolver.js';
import type { CanonicalEvent } from '../core/model/events.js';
import type { Rule } from '../core/rules/rule.js';
import { createLocationSyncRule } from '../core/rules/location-sync.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import { locationIngestor } from '../../test/helpers/ingestor.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** Throws on a position at latitude 13.13 (a stand-in for any rule bug); else counts positions. */
const fragile: Rule<{ n: number }> = {
  name: 'fragile',
  kinds: ['position'],
  apply(state, event: CanonicalEvent) {
    if (event.kind === 'position' && event.lat === 13.13) throw new TypeError("Cannot read properties of undefined (reading 'since')");
    return { state: { n: (state?.n ?? 0) + 1 }, deliveries: [] };
  },
};

describe('a rule that throws on one message', () => {
  it('names the message by its place in its own submission when submissions share a batch', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.upsertAssets(['1', '2'].map((n) => ({ asset: { erpAssetId: `EQ-${n}`, erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: `tag-${n}`, erpAssetId: `EQ-${n}` }] })));
    // One batch of four messages: it commits once full.
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()), { rules: [fragile], maxBatch: 4, maxWaitMs: 30_000 });
    const at = new Date(Date.now() - 60_000).toISOString();
    const pos = (tag: string, lat: number) => ({ source: 'http', channel: 't', payload: JSON.stringify({ kind: 'position', assetId: tag, eventTime: at, lat, lng: 10 }), receivedAt: Date.now() });
    const [first, second] = await Promise.all([ingestor.submit([pos('tag-1', 50), pos('tag-1', 51)]), ingestor.submit([pos('tag-2', 50), pos('tag-2', 13.13)])]);
    expect(first).toEqual({ accepted: 2, quarantined: [] });
    expect(second).toEqual({ accepted: 1, quarantined: [{ index: 1, reason: expect.stringContaining('rule "fragile" failed') as unknown }] });
    await ingestor.flush();
  });

  it('quarantines that message with the rule and error named, and stores the rest of the batch', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.upsertAssets(['1', '2'].map((n) => ({ asset: { erpAssetId: `EQ-${n}`, erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: `tag-${n}`, erpAssetId: `EQ-${n}` }] })));
    const identity = new IdentityIndex(await store.listAssets());
    const ingestor = locationIngestor(store, identity, { rules: [createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 3_600_000 }), fragile] });
    const at = new Date(Date.now() - 60_000).toISOString();
    const pos = (tag: string, lat: number) => ({ source: 'http', channel: 't', payload: JSON.stringify({ kind: 'position', assetId: tag, eventTime: at, lat, lng: 10 }), receivedAt: Date.now() });
    const result = await ingestor.submit([pos('tag-1', 50), pos('tag-2', 13.13), pos('tag-2', 51)]);
    expect(result.accepted).toBe(2);
    expect(result.quarantined).toEqual([{ index: 1, reason: expect.stringContaining('rule "fragile" failed on this position event of EQ-2: Cannot read properties of undefined') as unknown }]);
    await ingestor.flush();
    // The others went through every rule: a location update each, and the fragile rule's state counts only them.
    const updates = (await store.listDeliveries({})).filter((d) => d.operation === 'location.update');
    expect(updates.map((d) => [d.erpAssetId, (d.payload.coordinates as { lat: number }).lat]).sort()).toEqual([['EQ-1', 50], ['EQ-2', 51]]);
    const states = await store.loadStates(['EQ-1', 'EQ-2']);
    expect([states.get('EQ-1')?.fragile, states.get('EQ-2')?.fragile]).toEqual([{ n: 1 }, { n: 1 }]);
    const q = await store.listQuarantine({});
    expect(q.map((r) => [r.code, JSON.parse(String(r.payload)).lat])).toEqual([['invalid', 13.13]]);
    expect(ingestor.stats).toMatchObject({ accepted: 2, quarantined: 1 });
  });

  it('throws on a logged message when the log is replayed: the replay starts over without it, so the messages before it count once', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    const identity = new IdentityIndex(await store.listAssets());
    const at = Date.now() - 60_000;
    const pos = (lat: number, s: number) => ({ source: 'http', channel: 't', payload: JSON.stringify({ kind: 'position', assetId: 'tag-1', eventTime: new Date(at + s * 1000).toISOString(), lat, lng: 10 }), receivedAt: Date.now() });
    // The same rule without the bug: the messages are logged (no checkpoint), as before a crash.
    const counting: Rule<{ n: number }> = { name: 'fragile', kinds: ['position'], apply: (state) => ({ state: { n: (state?.n ?? 0) + 1 }, deliveries: [] }) };
    const before = locationIngestor(store, identity, { rules: [counting], checkpointMs: 3_600_000 });
    expect(await before.submit([pos(50, 1), pos(13.13, 2), pos(51, 3)])).toEqual({ accepted: 3, quarantined: [] });
    // Started again with the bug: the replay of the log meets it on the second message.
    const after = locationIngestor(store, identity, { rules: [fragile] });
    await after.flush();
    expect((await store.loadStates(['EQ-1'])).get('EQ-1')?.fragile).toEqual({ n: 2 });
  });
});

describe('a message its source set aside', () => {
  it('is quarantined with the code and reason the source gave, with the rest of its submit, and never run', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()), { rules: [fragile] });
    const at = new Date(Date.now() - 60_000).toISOString();
    // Readable as it is: only the source's word keeps it out of the rules.
    const payload = JSON.stringify({ kind: 'position', assetId: 'tag-1', eventTime: at, lat: 50, lng: 10 });
    const result = await ingestor.submit([
      { source: 'http', channel: 't', payload, receivedAt: Date.now() },
      { source: 'http', channel: 't', payload, receivedAt: Date.now(), setAside: { code: 'invalid', reason: 'work order EQ-1|svc|1 needs id' } },
    ]);
    expect(result).toEqual({ accepted: 1, quarantined: [{ index: 1, reason: 'work order EQ-1|svc|1 needs id' }] });
    await ingestor.flush();
    expect((await store.listQuarantine({})).map((q) => [q.code, q.reason, q.payload])).toEqual([['invalid', 'work order EQ-1|svc|1 needs id', payload]]);
    expect((await store.loadStates(['EQ-1'])).get('EQ-1')?.fragile).toEqual({ n: 1 });
  });
});
