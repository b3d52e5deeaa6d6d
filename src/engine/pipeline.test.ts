import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, PermanentError, RateLimitedError, RetryableError } from '../core/errors/errors.js';
import { IdentityIndex } from '../core/identity/resolver.js';
import type { SqliteStore } from '../adapters/store/sqlite/sqlite-store.js';
import { systemClock } from '../ports/clock.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import { ScriptedConnector } from '../../test/helpers/scripted-connector.js';
import { waitFor } from '../../test/helpers/wait.js';
import { locationIngestor } from '../../test/helpers/ingestor.js';
import { Dispatcher, type DestinationPolicy } from './dispatcher.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(opts: { policy?: Partial<DestinationPolicy>; connector?: ScriptedConnector } = {}) {
  const store: SqliteStore = tempStore();
  cleanup.push(() => store.close());
  await store.upsertAssets([
    { asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] },
    { asset: { erpAssetId: 'EQ-2', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-2', erpAssetId: 'EQ-2' }] },
  ]);
  const identity = new IdentityIndex(await store.listAssets());
  const ingestor = locationIngestor(store, identity, { maxWaitMs: 2 });
  const connector = opts.connector ?? new ScriptedConnector();
  const dispatcher = new Dispatcher({
    store,
    clock: systemClock,
    idlePollMs: 10,
    destinations: [
      {
        name: 'erp',
        connector,
        requestsPerMinute: 600_000,
        maxConcurrency: 4,
        maxAttempts: 5,
        maxAgeMs: 3_600_000,
        baseDelayMs: 5,
        maxDelayMs: 20,
        failureThreshold: 100,
        openMs: 50,
        timeoutMs: 2000,
        ...opts.policy,
      },
    ],
  });
  cleanup.push(() => dispatcher.stop(1000));
  return { store, ingestor, connector, dispatcher };
}

const ev = (tag: string, minute: number, lat: number, zone: string) =>
  JSON.stringify({ kind: 'position', assetId: tag, eventTime: new Date(Date.parse('2026-11-20T08:00:00Z') + minute * 60_000).toISOString(), lat, lng: 4.3, zone });
const msg = (payload: string) => ({ source: 'http', channel: '/v1/events', payload, receivedAt: Date.now() });

describe('ingest', () => {
  it('commits state and outbox before submit resolves, and quarantines bad input with reasons', async () => {
    const { store, ingestor } = await setup();
    const result = await ingestor.submit([
      msg(ev('tag-1', 0, 52.1, 'A')),
      msg('\u0000\u00ff garbage'),
      msg(ev('tag-404', 0, 52.1, 'A')),
      msg(JSON.stringify({ kind: 'position', assetId: 'tag-2', eventTime: '2026-11-20T08:00:00Z', lat: 'north', lng: 4 })),
    ]);
    expect(result.accepted).toBe(1);
    expect(result.quarantined.map((q) => q.index)).toEqual([1, 2, 3]);
    expect(result.quarantined[1]?.reason).toContain('no ERP mapping for tag tag-404');
    expect(result.quarantined[2]?.reason).toBe('lat must be a number, got string "north"');
    // Durable at this point: the store already holds everything.
    expect((await store.listDeliveries({ status: 'pending' })).map((d) => d.erpAssetId)).toEqual(['EQ-1']);
    expect((await store.listQuarantine({ status: 'open' })).map((q) => q.code)).toEqual(['undecodable', 'unknown-asset', 'invalid']);
    // Its rule state is held in memory; the message that changed it is in the ingest log…
    expect((await store.readIngestLog()).map((m) => m.payload)).toEqual([ev('tag-1', 0, 52.1, 'A')]);
    expect(await store.loadStates(['EQ-1'])).toEqual(new Map());
    // …until a checkpoint stores the state and empties the log.
    await ingestor.flush();
    expect((await store.loadStates(['EQ-1'])).get('EQ-1')).toHaveProperty('location');
    expect(await store.readIngestLog()).toEqual([]);
  });

  it('gives the same deliveries whatever the batching (state survives across batches)', async () => {
    const events = [ev('tag-1', 0, 52.1, 'A'), ev('tag-1', 1, 52.1, 'A'), ev('tag-1', 2, 52.1, 'B'), ev('tag-1', 1, 52.1, 'C'), ev('tag-2', 3, 52.2, 'A')];
    const one = await setup();
    await one.ingestor.submit(events.map(msg));
    const many = await setup();
    for (const e of events) await many.ingestor.submit([msg(e)]);
    const key = async (s: SqliteStore) => (await s.listDeliveries({})).map((d) => `${d.erpAssetId}:${d.eventTime}:${d.idempotencyKey}`).sort();
    expect(await key(one.store)).toEqual(await key(many.store));
    expect(await key(one.store)).toHaveLength(2); // EQ-1 coalesced to its zone-B update, EQ-2 once
  });
});

describe('dispatch', () => {
  it('delivers and audits every attempt', async () => {
    const { store, ingestor, dispatcher, connector } = await setup();
    await ingestor.submit([msg(ev('tag-1', 0, 52.1, 'A'))]);
    await dispatcher.start();
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 1, 'delivery');
    expect(connector.sent).toHaveLength(1);
    const audit = await store.queryAudit({ erpAssetId: 'EQ-1' });
    expect(audit).toMatchObject([{ outcome: 'delivered', attempt: 1, status: 200, method: 'POST', idempotencyKey: connector.sent[0]?.idempotencyKey }]);
  });

  it('retries retryable errors with the same idempotency key, then dead-letters after max attempts', async () => {
    const c = new ScriptedConnector();
    c.script.push(new RetryableError('socket hang up'), new RetryableError('502 bad gateway', 502));
    const { store, ingestor, dispatcher } = await setup({ connector: c, policy: { maxAttempts: 3 } });
    await ingestor.submit([msg(ev('tag-1', 0, 52.1, 'A')), msg(ev('tag-2', 0, 52.1, 'A'))]);
    await dispatcher.start();
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 2, 'both delivered');
    const keys = new Map<number, Set<string>>();
    for (const s of c.sent) keys.set(s.id, (keys.get(s.id) ?? new Set()).add(s.idempotencyKey));
    for (const k of keys.values()) expect(k.size).toBe(1);
    expect(c.sent.length).toBe(4);

    c.script.push(new RetryableError('timeout'), new RetryableError('timeout'), new RetryableError('timeout'));
    await ingestor.submit([msg(ev('tag-1', 5, 53, 'Z'))]);
    dispatcher.notify();
    const [dead] = await waitFor(async () => {
      const d = await store.listDeliveries({ status: 'dead' });
      return d.length ? d : undefined;
    }, 'dead letter');
    expect(dead?.lastError).toBe('timeout (gave up after 3 attempts)');
    expect((await store.queryAudit({ deliveryId: dead!.id })).map((a) => a.outcome)).toEqual(['retry', 'retry', 'dead']);
  });

  it('sends permanent errors straight to dead letters with the ERP reason', async () => {
    const c = new ScriptedConnector();
    c.script.push(new PermanentError('422: plant 9999 does not exist', 422));
    const { store, ingestor, dispatcher } = await setup({ connector: c });
    await ingestor.submit([msg(ev('tag-1', 0, 52.1, 'A'))]);
    await dispatcher.start();
    const [dead] = await waitFor(async () => {
      const d = await store.listDeliveries({ status: 'dead' });
      return d.length ? d : undefined;
    }, 'dead letter');
    expect(dead).toMatchObject({ attempts: 1, lastError: '422: plant 9999 does not exist' });
    expect(c.sent).toHaveLength(1);
  });

  it('a 429 pauses the whole destination for Retry-After and does not count as an attempt', async () => {
    const c = new ScriptedConnector();
    c.script.push(new RateLimitedError('429 Too Many Requests', 300, 429));
    const { store, ingestor, dispatcher } = await setup({ connector: c, policy: { maxConcurrency: 1 } });
    await ingestor.submit([msg(ev('tag-1', 0, 52.1, 'A')), msg(ev('tag-2', 0, 52.1, 'A'))]);
    await dispatcher.start();
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 2, 'both delivered');
    // After the 429 nothing went out until the pause (Retry-After 300 ms) ended, for either item.
    const audit = await store.queryAudit({});
    const limitedAt = audit.find((a) => a.outcome === 'rate-limited')?.at ?? Infinity;
    for (const a of audit.filter((x) => x.outcome === 'delivered')) expect(a.at - limitedAt).toBeGreaterThanOrEqual(300);
    expect(c.sent).toHaveLength(3);
    expect(dispatcher.metrics().erp).toMatchObject({ rateLimited: 1, pauses: 1 });
    const first = (await store.listDeliveries({ status: 'delivered' })).find((d) => d.id === c.sent[0]?.id);
    expect(first?.attempts).toBe(1); // the 429 was released, not counted
  });

  it('on 401 refreshes credentials once and resends at once', async () => {
    const c = new ScriptedConnector();
    c.script.push(new AuthError('401 token expired', 401));
    const { store, ingestor, dispatcher } = await setup({ connector: c });
    await ingestor.submit([msg(ev('tag-1', 0, 52.1, 'A'))]);
    await dispatcher.start();
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 1, 'delivery');
    expect(c.refreshes).toBe(1);
    expect(c.sent.map((s) => s.idempotencyKey)).toEqual([c.sent[0]?.idempotencyKey, c.sent[0]?.idempotencyKey]);
    const outcomes = (await store.queryAudit({ erpAssetId: 'EQ-1' })).map((a) => a.outcome);
    expect(outcomes).toEqual(['auth-refresh', 'delivered']);
  });

  it('opens the circuit after repeated failures and probes before sending more', async () => {
    const c = new ScriptedConnector();
    c.script.push(new RetryableError('503'), new RetryableError('503'));
    const { store, ingestor, dispatcher } = await setup({ connector: c, policy: { failureThreshold: 2, openMs: 200, maxConcurrency: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    await ingestor.submit([msg(ev('tag-1', 0, 52.1, 'A')), msg(ev('tag-2', 0, 52.1, 'A'))]);
    await dispatcher.start();
    await waitFor(() => dispatcher.metrics().erp?.circuit === 'open', 'circuit open');
    const sentWhenOpened = c.sent.length;
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 2, 'recovery');
    expect(sentWhenOpened).toBe(2);
    expect(dispatcher.metrics().erp).toMatchObject({ circuit: 'closed', circuitOpened: 1 });
  });
});
