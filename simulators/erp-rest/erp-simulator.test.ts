import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { waitFor } from '../../test/helpers/wait.js';
import { startErpSimulator, type ErpSimulator, type ErpSimulatorOptions } from './erp-simulator.js';
import { RequestRateLimiter } from './rate-limit.js';
import { checkWebhookSignature } from '../../src/api/webhook-signature.js';

let sims: ErpSimulator[] = [];
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});

async function start(options: ErpSimulatorOptions = {}): Promise<ErpSimulator> {
  const s = await startErpSimulator(options);
  sims.push(s);
  return s;
}

async function call(
  s: ErpSimulator,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read response bodies loosely
): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { Authorization: 'Bearer sim-token', 'Content-Type': 'application/json', ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}

const loc = { warehouseLocation: 'Y', coordinates: { lat: 1, lng: 2 }, lastSeen: '2026-03-02T08:00:00Z' };

describe('options', () => {
  it('refuses a number out of its option\'s range, as the command line does, naming the option, before it listens', async () => {
    for (const [option, value, range] of [
      ['tokenTtlSeconds', 0, '1 or more'],
      ['tokenTtlSeconds', 1.5, '1 or more'],
      ['tokenTtlSeconds', Number.NaN, '1 or more'],
      ['maxBatchSize', 0, '1 or more'],
      ['maxBatchSize', -1, '1 or more'],
      ['maxBatchSize', Number.POSITIVE_INFINITY, '1 or more'],
      ['pageSize', 0, '1 or more'],
      ['webhookRetries', -1, '0 or more (0 = sent once, never again)'],
      ['port', 65536, 'from 0 to 65535 (0 = any free port)'],
      ['maxConcurrent', 0, '1 or more (leave it out for no limit)'],
    ] as const) {
      await expect(start({ [option]: value }), `${option} ${value}`).rejects.toThrow(new RangeError(`startErpSimulator: ${option} takes a whole number, ${range}, got ${String(value)}`));
    }
    expect(sims).toEqual([]);
    // The ends of each range are taken.
    const s = await start({ tokenTtlSeconds: 1, maxBatchSize: 1, pageSize: 1, webhookRetries: 0, port: 0, maxConcurrent: 1 });
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('auth', () => {
  it('refuses a missing or wrong token with 401 and a challenge; rotation via the control API', async () => {
    const s = await start();
    expect((await call(s, 'GET', '/api/v1/work-orders', undefined, { Authorization: '' })).status).toBe(401);
    const wrong = await call(s, 'GET', '/api/v1/work-orders', undefined, { Authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('invalid_token');
    expect((await call(s, 'POST', '/__sim/token', { token: 'new-one' })).status).toBe(204);
    expect((await call(s, 'GET', '/api/v1/work-orders')).status).toBe(401);
    expect((await call(s, 'GET', '/api/v1/work-orders', undefined, { Authorization: 'Bearer new-one' })).status).toBe(200);
    expect(s.counters().unauthorized).toBe(3);
  });

  it('issues expiring OAuth2 tokens for known clients only', async () => {
    let now = Date.parse('2026-03-02T08:00:00Z');
    const s = await start({ token: null, tokenTtlSeconds: 60, now: () => now });
    const form = (secret: string) =>
      fetch(`${s.url}/oauth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'assetbridge', client_secret: secret }).toString(),
      });
    expect((await form('wrong')).status).toBe(401);
    const res = await form('sim-secret');
    const token = (await res.json()) as { access_token: string; expires_in: number; token_type: string };
    expect(token).toMatchObject({ token_type: 'Bearer', expires_in: 60 });
    const bearer = { Authorization: `Bearer ${token.access_token}` };
    expect((await call(s, 'GET', '/api/v1/work-orders', undefined, bearer)).status).toBe(200);
    now += 60_000;
    const expired = await call(s, 'GET', '/api/v1/work-orders', undefined, bearer);
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toContain('expired');
  });
});

describe('rate limit', () => {
  it('fixed window: 429 with Retry-After until the minute turns', async () => {
    let now = Date.parse('2026-03-02T08:00:50Z');
    const s = await start({ ratePerMinute: 2, now: () => now });
    expect((await call(s, 'GET', '/api/v1/work-orders')).status).toBe(200);
    expect((await call(s, 'GET', '/api/v1/work-orders')).status).toBe(200);
    const limited = await call(s, 'GET', '/api/v1/work-orders');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('10');
    now += 10_000;
    expect((await call(s, 'GET', '/api/v1/work-orders')).status).toBe(200);
    expect(s.counters().rateLimited).toBe(1);
  });

  it('sliding window: waits for the oldest request to leave the last 60 s', () => {
    let now = 0;
    const limiter = new RequestRateLimiter(2, 'sliding', () => now);
    expect(limiter.tryAcquire().admitted).toBe(true);
    now = 30_000;
    expect(limiter.tryAcquire().admitted).toBe(true);
    now = 45_000;
    expect(limiter.tryAcquire()).toEqual({ admitted: false, retryAfterSeconds: 15 });
    now = 60_000;
    expect(limiter.tryAcquire().admitted).toBe(true);
    expect(limiter.tryAcquire()).toEqual({ admitted: false, retryAfterSeconds: 30 });
  });

  it('maxConcurrent: a request past the limit in flight is refused 429 with Retry-After at once; the held ones are answered', async () => {
    const s = await start({ maxConcurrent: 2 });
    s.faults.add({ kind: 'latency', latencyMs: 300, count: 2 });
    const held = [call(s, 'GET', '/api/v1/work-orders'), call(s, 'GET', '/api/v1/work-orders')];
    await waitFor(() => s.counters().maxInFlight === 2, 'two requests held');
    const refused = await call(s, 'GET', '/api/v1/work-orders');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body.error.code).toBe('TooManyConcurrentRequests');
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
    // Answered, they are no longer in flight; a request dropped (reset) is not either.
    s.faults.add({ kind: 'reset' });
    await expect(call(s, 'GET', '/api/v1/work-orders')).rejects.toThrow();
    expect((await call(s, 'GET', '/api/v1/work-orders')).status).toBe(200);
    expect((await call(s, 'GET', '/api/v1/work-orders')).status).toBe(200);
    expect(s.counters()).toMatchObject({ concurrencyLimited: 1, maxInFlight: 2, rateLimited: 0 });
  });

  it('can be changed at run time through the control API', async () => {
    const s = await start();
    await call(s, 'POST', '/__sim/rate-limit', { perMinute: 1, window: 'sliding' });
    await call(s, 'GET', '/api/v1/work-orders');
    expect((await call(s, 'GET', '/api/v1/work-orders')).status).toBe(429);
    await call(s, 'POST', '/__sim/rate-limit', { perMinute: null });
    expect((await call(s, 'GET', '/api/v1/work-orders')).status).toBe(200);
  });
});

describe('idempotency', () => {
  it('replays the first answer for a repeated key with no second effect', async () => {
    const s = await start();
    const wo = { erpAssetId: 'A', title: 'T', externalKey: 'k1' };
    const first = await call(s, 'POST', '/api/v1/work-orders', wo, { 'X-Idempotency-Key': 'key-1' });
    const again = await call(s, 'POST', '/api/v1/work-orders', { title: 'T', externalKey: 'k1', erpAssetId: 'A' }, { 'X-Idempotency-Key': 'key-1' });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(s.state().workOrders).toHaveLength(1);
    expect(s.counters()).toMatchObject({ duplicatesSuppressed: 1, applied: { workOrders: 1 } });
  });

  it('a write the ERP is still working on (latency with holdsKey) holds its key: the same key meanwhile is 409 IdempotencyKeyInUse, then replayed', async () => {
    const s = await start();
    s.faults.add({ kind: 'latency', latencyMs: 300, method: 'POST', holdsKey: true });
    const wo = { erpAssetId: 'A', title: 'T' };
    const first = call(s, 'POST', '/api/v1/work-orders', wo, { 'X-Idempotency-Key': 'k1' });
    await waitFor(() => s.counters().maxInFlight === 1, 'the first create held');
    const meanwhile = await call(s, 'POST', '/api/v1/work-orders', wo, { 'X-Idempotency-Key': 'k1' });
    expect(meanwhile.status).toBe(409);
    expect(meanwhile.body.error).toEqual({ code: 'IdempotencyKeyInUse', message: 'a request with idempotency key k1 is still in progress; retry later' });
    // In a batch too; another key is not held.
    const batch = await call(s, 'POST', '/api/v1/$batch', { requests: [{ id: '1', method: 'POST', path: '/api/v1/work-orders', headers: { 'X-Idempotency-Key': 'k1' }, body: wo }] });
    expect(batch.body.responses[0]).toMatchObject({ status: 409, body: { error: { code: 'IdempotencyKeyInUse' } } });
    expect((await call(s, 'POST', '/api/v1/work-orders', wo, { 'X-Idempotency-Key': 'k2' })).status).toBe(201);
    expect((await first).status).toBe(201);
    const after = await call(s, 'POST', '/api/v1/work-orders', wo, { 'X-Idempotency-Key': 'k1' });
    expect(after.status).toBe(201);
    expect(after.headers.get('idempotent-replayed')).toBe('true');
    expect(s.counters()).toMatchObject({ idempotencyKeysInUse: 2, duplicatesSuppressed: 1, applied: { workOrders: 2 } });
    expect(() => s.faults.add({ kind: 'error', holdsKey: true })).toThrow('holdsKey is for latency faults');
  });

  it('refuses a key reused for a different request with 422', async () => {
    const s = await start();
    await call(s, 'POST', '/api/v1/work-orders', { erpAssetId: 'A', title: 'T' }, { 'X-Idempotency-Key': 'key-2' });
    const reused = await call(s, 'POST', '/api/v1/work-orders', { erpAssetId: 'B', title: 'T' }, { 'X-Idempotency-Key': 'key-2' });
    expect(reused.status).toBe(422);
    expect(s.counters().idempotencyConflicts).toBe(1);
  });

  it('does not store failures: a corrected request with the same key is applied', async () => {
    const s = await start({ knownAssets: [] });
    expect((await call(s, 'PATCH', '/api/v1/assets/A/location', loc, { 'X-Idempotency-Key': 'key-3' })).status).toBe(404);
    await call(s, 'POST', '/__sim/known-assets', { assets: ['A'] });
    expect((await call(s, 'PATCH', '/api/v1/assets/A/location', loc, { 'X-Idempotency-Key': 'key-3' })).status).toBe(200);
  });

  it('with idempotencyKeeps4xx stores a 4xx under its key and replays it after the cause is fixed; a new key is applied', async () => {
    const s = await start({ knownAssets: [], idempotencyKeeps4xx: true });
    const first = await call(s, 'PATCH', '/api/v1/assets/A/location', loc, { 'X-Idempotency-Key': 'key-4' });
    expect(first.status).toBe(404);
    await call(s, 'POST', '/__sim/known-assets', { assets: ['A'] });
    const again = await call(s, 'PATCH', '/api/v1/assets/A/location', loc, { 'X-Idempotency-Key': 'key-4' });
    expect(again.status).toBe(404);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(s.state().locations).toEqual({});
    expect(s.counters()).toMatchObject({ duplicatesSuppressed: 1, applied: { location: 0 } });
    // The same key with another body is still a conflict, not the stored 404.
    expect((await call(s, 'PATCH', '/api/v1/assets/A/location', { ...loc, warehouseLocation: 'Z' }, { 'X-Idempotency-Key': 'key-4' })).status).toBe(422);
    expect((await call(s, 'PATCH', '/api/v1/assets/A/location', loc, { 'X-Idempotency-Key': 'key-5' })).status).toBe(200);
    expect(s.state().locations.A).toMatchObject({ warehouseLocation: 'Y' });
  });

  it('with idempotencyKeeps4xx drops the 4xx of a sub-request rolled back with its all-or-nothing batch', async () => {
    const s = await start({ idempotencyKeeps4xx: true, batchAtomic: true, knownAssets: [] });
    const batch = { requests: [{ id: '1', method: 'PATCH', path: '/api/v1/assets/A/location', headers: { 'X-Idempotency-Key': 'key-6' }, body: loc }] };
    expect((await call(s, 'POST', '/api/v1/$batch', batch)).status).toBe(400);
    s.setKnownAssets(['A']);
    const ok = await call(s, 'POST', '/api/v1/$batch', batch);
    expect(ok.body.responses[0].status).toBe(200);
    expect(s.state().locations.A).toMatchObject({ warehouseLocation: 'Y' });
  });

  it('with idempotencyKeeps4xx stores a 4xx of a batch sub-request under its key', async () => {
    const s = await start({ idempotencyKeeps4xx: true, knownAssets: [] });
    const batch = { requests: [{ id: '1', method: 'PATCH', path: '/api/v1/assets/A/location', headers: { 'X-Idempotency-Key': 'key-8' }, body: loc }] };
    expect((await call(s, 'POST', '/api/v1/$batch', batch)).body.responses[0].status).toBe(404);
    s.setKnownAssets(['A']);
    const again = await call(s, 'POST', '/api/v1/$batch', batch);
    expect(again.body.responses[0]).toMatchObject({ status: 404, headers: { 'Idempotent-Replayed': 'true' } });
    expect(s.state().locations).toEqual({});
  });
});

describe('validation and routes', () => {
  it.each([
    ['PATCH', '/api/v1/assets/A/location', { ...loc, coordinates: { lat: 91, lng: 0 } }, 'coordinates.lat'],
    ['PATCH', '/api/v1/assets/A/location', { ...loc, lastSeen: '2026-03-02 08:00' }, 'lastSeen'],
    ['PATCH', '/api/v1/assets/A/location', { ...loc, warehouseLocation: null, coordinates: null }, 'coordinates may be null only with a warehouseLocation'],
    ['PATCH', '/api/v1/assets/A/location', { warehouseLocation: 'Y', lastSeen: loc.lastSeen }, 'coordinates is required'],
    ['POST', '/api/v1/work-orders', { erpAssetId: 'A' }, 'title is required'],
    ['POST', '/api/v1/assets/A/meter-readings', { readingAt: '2026-03-02T08:00:00Z' }, 'at least one reading'],
    ['POST', '/api/v1/inventory/counts', { location: 'L', sku: 'S', countedQuantity: -1, countedAt: '2026-03-02T08:00:00Z' }, 'countedQuantity'],
    ['POST', '/api/v1/assets/A/usage', { period: '2026-02', periodUnits: 3 }, 'unit is required'],
    ['POST', '/api/v1/work-orders', '{"title":', 'not valid JSON'],
  ])('%s %s → 400 naming the problem (%#)', async (method, path, body, reason) => {
    const s = await start();
    const res = await call(s, method, path, body);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(reason);
    expect(s.counters().rejected).toBe(1);
  });

  it('answers 404 for unknown routes and 405 with Allow for wrong methods', async () => {
    const s = await start();
    expect((await call(s, 'GET', '/api/v2/nothing')).status).toBe(404);
    const wrong = await call(s, 'DELETE', '/api/v1/work-orders');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, POST');
  });

  it('pages work-order lists with a next link', async () => {
    const s = await start({ pageSize: 2 });
    for (const n of [1, 2, 3]) await call(s, 'POST', '/api/v1/work-orders', { erpAssetId: 'A', title: `T${n}`, externalKey: `k${n}` });
    const first = await call(s, 'GET', '/api/v1/work-orders?updatedSince=2000-01-01T00:00:00Z');
    expect(first.body.items).toHaveLength(2);
    const second = await call(s, 'GET', first.body.next);
    expect(second.body.items.map((w: { externalKey: string }) => w.externalKey)).toEqual(['k3']);
    expect(second.body.next).toBeUndefined();
    expect((await call(s, 'GET', '/api/v1/work-orders?externalKey=k2')).body.items).toHaveLength(1);
  });

  it('lists work orders newest change first with listOrder newest-first, and in the order ?orderBy= asks either way', async () => {
    let now = Date.parse('2026-03-02T08:00:00Z');
    const s = await start({ pageSize: 2, listOrder: 'newest-first', now: () => now });
    for (const n of [1, 2, 3]) {
      now += 1000;
      await call(s, 'POST', '/api/v1/work-orders', { erpAssetId: 'A', title: `T${n}`, externalKey: `k${n}` });
    }
    const keys = (body: { items: { externalKey: string }[] }) => body.items.map((w) => w.externalKey);
    const first = await call(s, 'GET', '/api/v1/work-orders?updatedSince=2000-01-01T00:00:00Z');
    expect(keys(first.body)).toEqual(['k3', 'k2']);
    expect(keys((await call(s, 'GET', first.body.next)).body)).toEqual(['k1']);
    const asc = await call(s, 'GET', '/api/v1/work-orders?updatedSince=2000-01-01T00:00:00Z&orderBy=updatedAt%20asc');
    expect(keys(asc.body)).toEqual(['k1', 'k2']);
    expect(keys((await call(s, 'GET', asc.body.next)).body)).toEqual(['k3']);
    const bad = await call(s, 'GET', '/api/v1/work-orders?orderBy=title');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('orderBy must be "updatedAt asc" or "updatedAt desc"');
  });

  it('lists only the work orders changed at or after ?updatedSince=, and every one with updatedSinceFilter: false (still refusing a value that is no time)', async () => {
    for (const updatedSinceFilter of [undefined, false] as const) {
      let now = Date.parse('2026-03-02T08:00:00Z');
      const s = await start({ now: () => now, ...(updatedSinceFilter === undefined ? {} : { updatedSinceFilter }) });
      for (const n of [1, 2, 3]) {
        now += 60_000;
        await call(s, 'POST', '/api/v1/work-orders', { erpAssetId: 'A', title: `T${n}`, externalKey: `k${n}` });
      }
      const listed = await call(s, 'GET', '/api/v1/work-orders?updatedSince=2026-03-02T08:02:00Z');
      expect(listed.body.items.map((w: { externalKey: string }) => w.externalKey)).toEqual(updatedSinceFilter === false ? ['k1', 'k2', 'k3'] : ['k2', 'k3']);
      const bad = await call(s, 'GET', '/api/v1/work-orders?updatedSince=yesterday');
      expect(bad.status).toBe(400);
    }
  });

  it('takes a zone sighting\'s location: a warehouseLocation with coordinates null', async () => {
    const s = await start();
    expect((await call(s, 'PATCH', '/api/v1/assets/A/location', { ...loc, warehouseLocation: '1000/0009', coordinates: null })).status).toBe(200);
    expect(s.state().locations.A).toMatchObject({ warehouseLocation: '1000/0009', coordinates: null });
  });

  it('counts out-of-order location writes (last write still wins, as in a real ERP)', async () => {
    const s = await start();
    await call(s, 'PATCH', '/api/v1/assets/A/location', { ...loc, lastSeen: '2026-03-02T09:00:00Z' });
    await call(s, 'PATCH', '/api/v1/assets/A/location', { ...loc, lastSeen: '2026-03-02T08:00:00Z' });
    expect(s.counters().outOfOrderStateWrites).toBe(1);
    expect(s.state().locations.A?.lastSeen).toBe('2026-03-02T08:00:00Z');
  });

  it('counts a meter reading older than the asset\'s newest as out of order (readings must come in time order per meter)', async () => {
    const s = await start();
    const reading = (readingAt: string) => ({ operatingHours: 10, readingAt });
    await call(s, 'POST', '/api/v1/assets/A/meter-readings', reading('2026-03-02T09:00:00Z'));
    await call(s, 'POST', '/api/v1/assets/B/meter-readings', reading('2026-03-02T08:00:00Z')); // another asset's
    expect(s.counters().outOfOrderStateWrites).toBe(0);
    await call(s, 'POST', '/api/v1/assets/A/meter-readings', reading('2026-03-02T08:30:00Z'));
    expect(s.counters().outOfOrderStateWrites).toBe(1);
    expect(s.counters().applied.meterReadings).toBe(3);
  });

  it('applies a write whose client gave up while a latency fault held it, and counts it as a late landing, not as the client\'s disorder', async () => {
    const s = await start();
    s.faults.add({ kind: 'latency', latencyMs: 500, count: 1 });
    // The client gives up on the older write while the fault holds it, and sends the newer one, which lands first.
    const gaveUp = new AbortController();
    const older = fetch(`${s.url}/api/v1/assets/A/location`, {
      method: 'PATCH',
      headers: { Authorization: 'Bearer sim-token', 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...loc, lastSeen: '2026-03-02T08:00:00Z' }),
      signal: gaveUp.signal,
    });
    await vi.waitFor(() => expect(s.counters().faultsFired.latency).toBe(1), { timeout: 5000 });
    gaveUp.abort();
    await expect(older).rejects.toThrow();
    expect((await call(s, 'PATCH', '/api/v1/assets/A/location', { ...loc, lastSeen: '2026-03-02T09:00:00Z' })).status).toBe(200);
    await vi.waitFor(() => expect(s.counters().applied.location).toBe(2), { timeout: 5000 });
    // Applied as a real ERP would: the stored state went back, which only a resend can repair.
    expect(s.state().locations.A?.lastSeen).toBe('2026-03-02T08:00:00Z');
    expect(s.counters()).toMatchObject({ outOfOrderStateWrites: 0, outOfOrderLateLandings: 1 });
  });
});

describe('inventory on hand', () => {
  const count = (countedQuantity: number, delta?: number, countedAt = '2026-03-02T08:00:00Z') => ({ location: 'WH 1', sku: 'S&1', countedQuantity, ...(delta !== undefined ? { delta } : {}), countedAt });
  const onHand = async (s: ErpSimulator) => (await call(s, 'GET', `/api/v1/inventory/on-hand?${new URLSearchParams({ location: 'WH 1', sku: 'S&1' }).toString()}`)).body as unknown;

  it('takes totals by default: on hand is the latest count; a cell never counted has 0; an edit by hand sets it', async () => {
    const s = await start();
    expect(await onHand(s)).toEqual({ location: 'WH 1', sku: 'S&1', quantity: 0 });
    expect((await call(s, 'POST', '/api/v1/inventory/counts', count(5, 5))).status).toBe(201);
    expect((await call(s, 'POST', '/api/v1/inventory/counts', count(3, 9, '2026-03-02T09:00:00Z'))).status).toBe(201);
    expect(await onHand(s)).toMatchObject({ quantity: 3 });
    s.setOnHand('WH 1', 'S&1', 11);
    expect(await onHand(s)).toMatchObject({ quantity: 11 });
    expect((await call(s, 'GET', '/api/v1/inventory/on-hand?location=WH')).status).toBe(400);
    expect((await call(s, 'POST', '/api/v1/inventory/on-hand')).status).toBe(405);
  });

  it('takes deltas with inventoryTakes: delta (NetSuite adjustQtyBy): a count adds its delta to what is there, edited by hand or not', async () => {
    const s = await start({ inventoryTakes: 'delta' });
    await call(s, 'POST', '/api/v1/inventory/counts', count(5, 5));
    expect(await onHand(s)).toMatchObject({ quantity: 5 });
    const edit = await fetch(`${s.url}/__sim/on-hand`, { method: 'POST', body: JSON.stringify({ location: 'WH 1', sku: 'S&1', quantity: 2 }) });
    expect(edit.status).toBe(204);
    await call(s, 'POST', '/api/v1/inventory/counts', count(4, -1, '2026-03-02T09:00:00Z'));
    expect(await onHand(s)).toMatchObject({ quantity: 1 });
    expect(s.state().inventory['WH 1|S&1']).toMatchObject({ quantity: 1, countedAt: '2026-03-02T09:00:00Z' });
    const noDelta = await call(s, 'POST', '/api/v1/inventory/counts', count(4, undefined, '2026-03-02T10:00:00Z'));
    expect(noDelta.status).toBe(400);
    expect(noDelta.body.error.message).toContain('delta is required');
    expect((await fetch(`${s.url}/__sim/on-hand`, { method: 'POST', body: JSON.stringify({ location: 'WH 1', sku: 'S&1' }) })).status).toBe(400);
    expect(s.counters().outOfOrderStateWrites).toBe(0);
  });
});

describe('work-order lifecycle and webhooks', () => {
  it('moves open → in-progress → completed, refuses going back, and pushes signed webhooks', async () => {
    const received: { body: string; signature: string | undefined }[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ body: Buffer.concat(chunks).toString(), signature: req.headers['x-signature-256'] as string | undefined });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      const s = await start({ webhookUrl: hook, webhookSecret: 'whsec' });
      await call(s, 'POST', '/api/v1/work-orders', { erpAssetId: 'A', title: 'T', externalKey: 'k' });
      expect((await call(s, 'POST', '/__sim/work-order-status', { externalKey: 'k', status: 'in-progress' })).body.status).toBe('in-progress');
      const done = await call(s, 'POST', '/__sim/complete-work-order', { externalKey: 'k', operatingHoursAtCompletion: 250.5 });
      expect(done.body).toMatchObject({ status: 'completed', operatingHoursAtCompletion: 250.5, completedAt: expect.any(String) });
      expect((await call(s, 'POST', '/__sim/work-order-status', { externalKey: 'k', status: 'in-progress' })).status).toBe(409);
      expect((await call(s, 'POST', '/__sim/complete-work-order', { id: 'WO-404' })).status).toBe(404);

      await s.close(); // waits for webhooks in flight
      sims = [];
      expect(received.map((r) => JSON.parse(r.body).workOrder.status)).toEqual(['in-progress', 'completed']);
      for (const r of received) expect(r.signature).toBe(`sha256=${createHmac('sha256', 'whsec').update(r.body).digest('hex')}`);
      expect(s.counters()).toMatchObject({ webhooksSent: 2, webhookFailures: 0 });
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});

describe('timestamped webhook signing (webhookTimestampHeader)', () => {
  it('signs "<timestamp>.<body>" with the time in seconds in that header, as webhook.timestampHeader checks it; a retry is signed afresh', async () => {
    let clock = Date.parse('2026-03-02T08:00:00Z');
    const received: { body: string; header: (name: string) => string | undefined; at: number }[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers = { ...req.headers };
        received.push({ body: Buffer.concat(chunks).toString(), header: (name) => headers[name.toLowerCase()] as string | undefined, at: clock });
        // The first attempt refused; the ERP's retry comes ten minutes later (past a 5 min tolerance).
        if (received.length === 1) clock += 600_000;
        res.writeHead(received.length === 1 ? 503 : 202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const s = await start({ now: () => clock, webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, webhookSecret: 'whsec-0123456789abcdef', webhookTimestampHeader: 'X-Signature-Timestamp', webhookRetryDelayMs: 10 });
      await call(s, 'POST', '/api/v1/work-orders', { erpAssetId: 'A', title: 'T', externalKey: 'k' });
      await call(s, 'POST', '/__sim/complete-work-order', { externalKey: 'k' });
      await waitFor(() => received.length === 2, 'the push and its retry', 5000);
      const signing = { secrets: ['whsec-0123456789abcdef'], timestampHeader: 'X-Signature-Timestamp', toleranceMs: 300_000 };
      for (const r of received) expect(checkWebhookSignature(signing, r.body, r.header, 'X-Signature-256', r.at)).toBeUndefined();
      const [first, retry] = received as [(typeof received)[0], (typeof received)[0]];
      expect(Number(retry.header('X-Signature-Timestamp')) - Number(first.header('X-Signature-Timestamp'))).toBe(600);
      // The first attempt's headers replayed now would be refused as stale.
      expect(checkWebhookSignature(signing, first.body, first.header, 'X-Signature-256', retry.at)).toMatchObject({ fault: 'stale' });
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('is refused without webhookSecret, naming both options', async () => {
    await expect(startErpSimulator({ webhookTimestampHeader: 'X-Signature-Timestamp' })).rejects.toThrow('webhookTimestampHeader needs webhookSecret');
  });
});

describe('webhook retries', () => {
  it('sends a push again after a 503 (honouring Retry-After) or no answer, with the same event id; a 4xx is final', async () => {
    const received: { status: string; eventId: string | undefined; answered: number }[] = [];
    const answers = [503, 202, 400];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answered = answers.shift() ?? 202;
        received.push({ status: (JSON.parse(Buffer.concat(chunks).toString()) as { workOrder: { status: string } }).workOrder.status, eventId: req.headers['x-sim-event-id'] as string | undefined, answered });
        res.writeHead(answered, answered === 503 ? { 'Retry-After': '0' } : {}).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const s = await start({ webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, webhookRetryDelayMs: 10 });
      await call(s, 'POST', '/api/v1/work-orders', { erpAssetId: 'A', title: 'T', externalKey: 'k' });
      await call(s, 'POST', '/__sim/work-order-status', { externalKey: 'k', status: 'in-progress' });
      await waitFor(() => received.length === 2, 'the push and its retry', 5000);
      await call(s, 'POST', '/__sim/complete-work-order', { externalKey: 'k' });
      await waitFor(() => received.length === 3, 'the completion push', 5000);
      expect(received.map((r) => [r.status, r.answered])).toEqual([['in-progress', 503], ['in-progress', 202], ['completed', 400]]);
      expect(received[1]?.eventId).toBe(received[0]?.eventId);
      expect(received[2]?.eventId).not.toBe(received[0]?.eventId);
      expect(s.counters()).toMatchObject({ webhooksSent: 1, webhookRetries: 1, webhookFailures: 1 });

      // Nothing listening: sent again until the retries are used up.
      const down = await start({ webhookUrl: 'http://127.0.0.1:1/hook', webhookRetries: 2, webhookRetryDelayMs: 5 });
      await call(down, 'POST', '/api/v1/work-orders', { erpAssetId: 'A', title: 'T', externalKey: 'k' });
      await call(down, 'POST', '/__sim/complete-work-order', { externalKey: 'k' });
      await waitFor(() => down.counters().webhookFailures === 1, 'the push given up', 5000);
      expect(down.counters()).toMatchObject({ webhooksSent: 0, webhookRetries: 2 });
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('a 503 without Retry-After is sent again after webhookRetryDelayMs, doubling, not at once', async () => {
    const at: number[] = [];
    const receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        at.push(Date.now());
        // No Retry-After: the simulator waits its own delay before each retry.
        res.writeHead(at.length < 3 ? 503 : 202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const s = await start({ webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, webhookRetryDelayMs: 150 });
      await call(s, 'POST', '/api/v1/work-orders', { erpAssetId: 'A', title: 'T', externalKey: 'k' });
      await call(s, 'POST', '/__sim/complete-work-order', { externalKey: 'k' });
      await waitFor(() => at.length === 3, 'the push and its two retries', 5000);
      const [first, second, third] = at as [number, number, number];
      expect(second - first).toBeGreaterThanOrEqual(140);
      expect(third - second).toBeGreaterThanOrEqual(290);
      expect(s.counters()).toMatchObject({ webhooksSent: 1, webhookRetries: 2, webhookFailures: 0 });
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});

describe('faults', () => {
  it('count-limited faults fire exactly that often', async () => {
    const s = await start();
    s.faults.add({ kind: 'error', status: 502, count: 2, path: '/work-orders' });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(s, 'GET', '/api/v1/work-orders')).status);
    expect(statuses).toEqual([502, 502, 200]);
    expect(s.counters().faultsFired.error).toBe(2);
  });

  it('probabilistic faults repeat the same sequence for the same seed', async () => {
    const run = async (seed: number) => {
      const s = await start({ seed });
      s.faults.add({ kind: 'error', status: 503, probability: 0.5 });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await call(s, 'GET', '/api/v1/work-orders')).status);
      return statuses;
    };
    const a = await run(42);
    expect(await run(42)).toEqual(a);
    expect(a).toContain(503);
    expect(a).toContain(200);
  });

  it('lost-response applies the write but never answers', async () => {
    const s = await start();
    s.faults.add({ kind: 'lost-response' });
    await expect(call(s, 'PATCH', '/api/v1/assets/A/location', loc)).rejects.toThrow();
    expect(s.state().locations.A).toBeDefined();
    expect(s.counters().faultsFired['lost-response']).toBe(1);
  });

  it('cut-body applies the request, sends its status and half its body, and closes the connection mid-body', async () => {
    const s = await start();
    s.faults.add({ kind: 'cut-body', method: 'POST' });
    const res = await fetch(`${s.url}/api/v1/work-orders`, {
      method: 'POST',
      headers: { Authorization: 'Bearer sim-token', 'Content-Type': 'application/json' },
      body: JSON.stringify({ erpAssetId: 'A', title: 'Oil', externalKey: 'A|oil|1' }),
    });
    expect(res.status).toBe(201);
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(2);
    await expect(res.text()).rejects.toThrow(/terminated/);
    expect(s.state().workOrders).toHaveLength(1);
    expect(s.counters().faultsFired['cut-body']).toBe(1);
    // Over the control API too.
    expect((await call(s, 'POST', '/__sim/faults', { kind: 'cut-body', method: 'GET' })).status).toBe(201);
  });

  it('empty-body applies the request and answers its status and headers with no body at all', async () => {
    const s = await start();
    s.faults.add({ kind: 'empty-body', method: 'POST' });
    const res = await fetch(`${s.url}/api/v1/work-orders`, {
      method: 'POST',
      headers: { Authorization: 'Bearer sim-token', 'Content-Type': 'application/json' },
      body: JSON.stringify({ erpAssetId: 'A', title: 'Oil', externalKey: 'A|oil|1' }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('content-length')).toBe('0');
    expect(res.headers.get('location')).toContain('/work-orders/');
    expect(await res.text()).toBe('');
    expect(s.state().workOrders).toHaveLength(1);
    expect((await call(s, 'POST', '/__sim/faults', { kind: 'empty-body', method: 'GET' })).status).toBe(201);
    const list = await fetch(`${s.url}/api/v1/work-orders?externalKey=A%7Coil%7C1`, { headers: { Authorization: 'Bearer sim-token' } });
    expect(list.status).toBe(200);
    expect(await list.text()).toBe('');
    expect(s.counters().faultsFired['empty-body']).toBe(2);
  });

  it('malformed applies the request and answers its status with a body that is not JSON: cut in half, or the text given', async () => {
    const s = await start();
    s.faults.add({ kind: 'malformed', method: 'POST' });
    const res = await fetch(`${s.url}/api/v1/work-orders`, {
      method: 'POST',
      headers: { Authorization: 'Bearer sim-token', 'Content-Type': 'application/json' },
      body: JSON.stringify({ erpAssetId: 'A', title: 'Oil', externalKey: 'A|oil|1' }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('location')).toContain('/work-orders/');
    const text = await res.text();
    expect(() => JSON.parse(text) as unknown).toThrow();
    expect(text.startsWith('{')).toBe(true);
    expect(s.state().workOrders).toHaveLength(1);
    s.faults.add({ kind: 'malformed', method: 'GET', body: '<html>502 Bad Gateway</html>' });
    const list = await fetch(`${s.url}/api/v1/work-orders?externalKey=A%7Coil%7C1`, { headers: { Authorization: 'Bearer sim-token' } });
    expect(list.status).toBe(200);
    expect(await list.text()).toBe('<html>502 Bad Gateway</html>');
    expect(s.counters().faultsFired.malformed).toBe(2);
    expect(() => s.faults.add({ kind: 'malformed', body: { not: 'text' } })).toThrow(/give a string/);
  });

  it('reset drops the connection without applying', async () => {
    const s = await start();
    s.faults.add({ kind: 'reset' });
    await expect(call(s, 'PATCH', '/api/v1/assets/A/location', loc)).rejects.toThrow();
    expect(s.state().locations.A).toBeUndefined();
  });

  it('locked answers 409 RecordLocked and applies nothing', async () => {
    const s = await start();
    s.faults.add({ kind: 'locked' });
    const res = await call(s, 'PATCH', '/api/v1/assets/A/location', loc);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'RecordLocked', message: expect.stringContaining('/api/v1/assets/A/location is locked by user') });
    expect(s.state().locations.A).toBeUndefined();
    expect(s.counters().faultsFired.locked).toBe(1);
  });

  it('already-exists applies the create, then answers 409 DuplicateEntry naming the record; in a batch too', async () => {
    const s = await start();
    s.faults.add({ kind: 'already-exists', method: 'POST' });
    const res = await call(s, 'POST', '/api/v1/work-orders', { erpAssetId: 'A', title: 'T', externalKey: 'K1' });
    expect(res.status).toBe(409);
    expect(res.body.error).toEqual({ code: 'DuplicateEntry', message: `the record ${s.state().workOrders[0]?.id} already exists with externalKey K1` });
    s.faults.add({ kind: 'already-exists', inBatch: true });
    const batch = await call(s, 'POST', '/api/v1/$batch', { requests: [{ id: '1', method: 'POST', path: '/api/v1/work-orders', body: { erpAssetId: 'A', title: 'T', externalKey: 'K2' } }] });
    expect(batch.body.responses[0]).toMatchObject({ status: 409, body: { error: { code: 'DuplicateEntry' } } });
    expect(s.state().workOrders.map((w) => w.externalKey)).toEqual(['K1', 'K2']);
    // A request that fails gets its own answer.
    s.faults.add({ kind: 'already-exists', method: 'POST' });
    expect((await call(s, 'POST', '/api/v1/work-orders', { erpAssetId: 'A' })).status).toBe(400);
  });

  it('batchAtomic: one failing request rolls the whole batch back, answered 400 naming none; the same keys resent without it apply once', async () => {
    const s = await start({ batchAtomic: true });
    const good = { id: '1', method: 'POST', path: '/api/v1/work-orders', headers: { 'X-Idempotency-Key': 'k-good' }, body: { erpAssetId: 'A', title: 'T', externalKey: 'K1' } };
    const bad = { id: '2', method: 'POST', path: '/api/v1/work-orders', headers: { 'X-Idempotency-Key': 'k-bad' }, body: { erpAssetId: 'A' } };
    const refused = await call(s, 'POST', '/api/v1/$batch', { requests: [good, bad] });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toEqual({ code: 'BatchRolledBack', message: 'the batch was rolled back: one of its 2 requests failed' });
    expect(s.state().workOrders).toEqual([]);
    expect(s.counters()).toMatchObject({ batchesRolledBack: 1, applied: { workOrders: 0 } });
    // The rolled-back request's key was not kept: sent again, it is applied (once).
    const alone = await call(s, 'POST', '/api/v1/$batch', { requests: [good] });
    expect(alone.body.responses[0]).toMatchObject({ status: 201 });
    await call(s, 'POST', '/api/v1/$batch', { requests: [good] });
    expect(s.state().workOrders.map((w) => w.externalKey)).toEqual(['K1']);
    expect(s.counters()).toMatchObject({ duplicatesSuppressed: 1, applied: { workOrders: 1 } });
  });

  it("batchAtomicAnswer failed-request: a rolled-back batch is answered with its first failed request's status and body", async () => {
    const s = await start({ batchAtomic: true, batchAtomicAnswer: 'failed-request' });
    const good = { id: '1', method: 'POST', path: '/api/v1/work-orders', headers: { 'X-Idempotency-Key': 'k-good' }, body: { erpAssetId: 'A', title: 'T', externalKey: 'K1' } };
    const bad = { id: '2', method: 'POST', path: '/api/v1/work-orders', headers: { 'X-Idempotency-Key': 'k-bad' }, body: { erpAssetId: 'A' } };
    s.faults.add({ kind: 'locked', inBatch: true, path: '/work-orders' });
    const locked = await call(s, 'POST', '/api/v1/$batch', { requests: [good, bad] });
    expect(locked.status).toBe(409);
    expect(locked.body.error.code).toBe('RecordLocked');
    const refused = await call(s, 'POST', '/api/v1/$batch', { requests: [good, bad] });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('ValidationError');
    expect(s.state().workOrders).toEqual([]);
    expect(s.counters()).toMatchObject({ batchesRolledBack: 2, applied: { workOrders: 0 } });
  });

  it('refuses a malformed batch 400 before running any of its requests, atomic or not', async () => {
    for (const batchAtomic of [false, true]) {
      const s = await start({ batchAtomic });
      const create = (id: string, key: string) => ({ id, method: 'POST', path: '/api/v1/work-orders', body: { erpAssetId: 'A', title: 'T', externalKey: key } });
      const duplicateId = await call(s, 'POST', '/api/v1/$batch', { requests: [create('1', 'K1'), create('1', 'K2')] });
      expect(duplicateId.status).toBe(400);
      expect(duplicateId.body.error.message).toBe('requests[1].id must be a unique string');
      const noPath = await call(s, 'POST', '/api/v1/$batch', { requests: [create('1', 'K1'), { id: '2', method: 'POST' }] });
      expect(noPath.status).toBe(400);
      // The requests before the malformed one were not applied: a 400 to the batch changed nothing.
      expect(s.state().workOrders).toEqual([]);
      expect(s.counters()).toMatchObject({ subRequests: 0, applied: { workOrders: 0 } });
    }
  });

  it('uniqueExternalKey refuses a second create with the same externalKey with 409, for every kind of record', async () => {
    const s = await start({ uniqueExternalKey: true });
    const creates: [string, Record<string, unknown>][] = [
      ['/api/v1/work-orders', { erpAssetId: 'A', title: 'T' }],
      ['/api/v1/assets/A/meter-readings', { readingAt: '2026-03-02T08:00:00Z', operatingHours: 5 }],
      ['/api/v1/inventory/counts', { location: 'L', sku: 'S', countedQuantity: 1, countedAt: '2026-03-02T08:00:00Z' }],
      ['/api/v1/assets/A/usage', { period: '2026-02', periodUnits: 1, unit: 'h' }],
    ];
    for (const [path, body] of creates) {
      expect((await call(s, 'POST', path, { ...body, externalKey: 'K' })).status).toBe(201);
      const again = await call(s, 'POST', path, { ...body, externalKey: 'K' });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('DuplicateEntry');
      expect(again.body.error.message).toMatch(/ already exists with externalKey K$/);
      expect((await call(s, 'POST', path, body)).status).toBe(201); // no key: nothing to collide with
    }
    expect(s.counters()).toMatchObject({ duplicatesRefused: 4, duplicateWorkOrders: 0, applied: { workOrders: 2, meterReadings: 2, inventoryCounts: 2, usagePostings: 2 } });
  });

  it('faults can be armed, listed and cleared over HTTP; bad specs are refused with a reason', async () => {
    const s = await start();
    const armed = await call(s, 'POST', '/__sim/faults', [{ kind: 'latency', latencyMs: 1 }, { kind: 'error', status: 500 }]);
    expect(armed.body.ids).toHaveLength(2);
    expect((await call(s, 'GET', '/__sim/faults')).body).toHaveLength(2);
    const bad = await call(s, 'POST', '/__sim/faults', { kind: 'meteor' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('unknown fault kind');
    // A list with one bad spec arms none of it: a test told 400 expects no fault to fire.
    const mixed = await call(s, 'POST', '/__sim/faults', [{ kind: 'reset' }, { kind: 'error', status: 999 }]);
    expect(mixed.status).toBe(400);
    expect(mixed.body.error.message).toContain('fault status must be an HTTP status');
    expect((await call(s, 'GET', '/__sim/faults')).body).toHaveLength(2);
    expect((await call(s, 'DELETE', '/__sim/faults')).status).toBe(204);
    expect((await call(s, 'GET', '/api/v1/work-orders')).status).toBe(200);
  });

  it('a latency or Retry-After that is no delay, or given to a kind that does not use it, is refused rather than armed to no effect', async () => {
    const s = await start();
    for (const [spec, message] of [
      [{ kind: 'latency', latencyMs: 'slow' }, 'fault latencyMs must be a number of milliseconds, 0 or more; got "slow"'],
      [{ kind: 'latency', latencyMs: -100 }, 'fault latencyMs must be a number of milliseconds, 0 or more; got -100'],
      [{ kind: 'error', status: 503, retryAfterSeconds: -5 }, 'fault retryAfterSeconds must be a whole number of seconds, 0 or more (Retry-After takes no other); got -5'],
      [{ kind: 'error', status: 429, retryAfterSeconds: 1.5 }, 'fault retryAfterSeconds must be a whole number of seconds, 0 or more (Retry-After takes no other); got 1.5'],
      [{ kind: 'locked', retryAfterSeconds: 30 }, 'retryAfterSeconds is for error faults (a 429 or 503 with Retry-After)'],
      [{ kind: 'timeout', latencyMs: 500 }, 'latencyMs is for latency faults'],
    ] as const) {
      const refused = await call(s, 'POST', '/__sim/faults', spec);
      expect(refused.status, JSON.stringify(spec)).toBe(400);
      expect(refused.body.error.message).toBe(message);
    }
    expect((await call(s, 'GET', '/__sim/faults')).body).toEqual([]);
    expect((await call(s, 'POST', '/__sim/faults', [{ kind: 'latency', latencyMs: 0 }, { kind: 'error', status: 429, retryAfterSeconds: 0 }])).status).toBe(201);
  });

  it('counts a second inventory count of a cell revision and a second usage posting of an asset and period as duplicates, as it does work orders', async () => {
    const s = await start({ idempotency: false });
    const count = (revision: number, delta: number) => ({ location: 'L', sku: 'S', countedQuantity: 3, delta, revision, countedAt: '2026-03-02T08:00:00Z' });
    const usage = { period: '2026-02', periodUnits: 1, unit: 'h' };
    for (const body of [count(1, 3), count(2, 0), count(1, 3)]) expect((await call(s, 'POST', '/api/v1/inventory/counts', body)).status).toBe(201);
    // Without a revision, a count is told apart by its countedAt.
    const plain = { location: 'L', sku: 'S', countedQuantity: 4, countedAt: '2026-03-02T09:00:00Z' };
    expect((await call(s, 'POST', '/api/v1/inventory/counts', plain)).status).toBe(201);
    expect((await call(s, 'POST', '/api/v1/inventory/counts', { ...plain, countedAt: '2026-03-02T10:00:00Z' })).status).toBe(201);
    expect((await call(s, 'POST', '/api/v1/inventory/counts', plain)).status).toBe(201);
    for (const path of ['/api/v1/assets/A/usage', '/api/v1/assets/B/usage', '/api/v1/assets/A/usage']) expect((await call(s, 'POST', path, usage)).status).toBe(201);
    expect((await call(s, 'POST', '/api/v1/assets/A/usage', { ...usage, period: '2026-03' })).status).toBe(201);
    const expected = { duplicateInventoryCounts: 2, duplicateUsagePostings: 1, duplicateWorkOrders: 0, applied: { inventoryCounts: 6, usagePostings: 4 } };
    expect(s.counters()).toMatchObject(expected);
    expect((await call(s, 'GET', '/__sim/counters')).body).toMatchObject(expected);

    // A rolled-back batch takes its duplicates back with its records; a reset clears them.
    const atomic = await start({ batchAtomic: true, idempotency: false });
    expect((await call(atomic, 'POST', '/api/v1/inventory/counts', count(2, 0))).status).toBe(201);
    const batch = await call(atomic, 'POST', '/api/v1/$batch', {
      requests: [
        { id: '1', method: 'POST', path: '/api/v1/inventory/counts', body: count(1, 3) },
        { id: '2', method: 'POST', path: '/api/v1/inventory/counts', body: count(1, 3) },
        { id: '3', method: 'POST', path: '/api/v1/assets/A/usage', body: usage },
        { id: '4', method: 'POST', path: '/api/v1/assets/A/usage', body: usage },
        { id: '5', method: 'POST', path: '/api/v1/assets/A/usage', body: {} },
      ],
    });
    expect(batch.status).toBe(400);
    expect(atomic.counters()).toMatchObject({ duplicateInventoryCounts: 0, duplicateUsagePostings: 0 });
    expect((await call(atomic, 'POST', '/api/v1/inventory/counts', count(1, 3))).status).toBe(201);
    expect((await call(atomic, 'POST', '/api/v1/assets/A/usage', usage)).status).toBe(201);
    expect(atomic.counters()).toMatchObject({ duplicateInventoryCounts: 0, duplicateUsagePostings: 0 });
    expect((await call(atomic, 'POST', '/api/v1/inventory/counts', count(2, 0))).status).toBe(201); // applied before the batch: still known
    expect(atomic.counters()).toMatchObject({ duplicateInventoryCounts: 1, duplicateUsagePostings: 0 });
    await call(s, 'POST', '/__sim/reset');
    expect(s.counters()).toMatchObject({ duplicateInventoryCounts: 0, duplicateUsagePostings: 0 });
    expect((await call(s, 'POST', '/api/v1/inventory/counts', count(1, 3))).status).toBe(201);
    expect((await call(s, 'POST', '/api/v1/assets/A/usage', usage)).status).toBe(201);
    expect(s.counters()).toMatchObject({ duplicateInventoryCounts: 0, duplicateUsagePostings: 0 });
  });

  it('reset clears records, counters and remembered keys', async () => {
    const s = await start();
    await call(s, 'POST', '/api/v1/work-orders', { erpAssetId: 'A', title: 'T' }, { 'X-Idempotency-Key': 'k' });
    await call(s, 'POST', '/__sim/reset');
    const state = (await call(s, 'GET', '/__sim/state')).body;
    expect(state.workOrders).toEqual([]);
    expect((await call(s, 'GET', '/__sim/counters')).body).toMatchObject({ requests: 0, applied: { workOrders: 0 } });
    await call(s, 'POST', '/api/v1/work-orders', { erpAssetId: 'A', title: 'T' }, { 'X-Idempotency-Key': 'k' });
    expect(s.counters().applied.workOrders).toBe(1);
  });
});
