/**
 * Exactly one effect for every record an ERP without idempotency support is sent (invariant 3):
 * not only work orders, but inventory counts, usage postings and meter readings too are looked up
 * before they are created, so a retry after a lost response adds nothing.
 */
import { describe, expect, it } from 'vitest';
import { idempotencyKeyFor } from '../../../core/delivery/idempotency.js';
import { PermanentError, RetryableError } from '../../../core/errors/errors.js';
import type { OutboxItem } from '../../../core/model/delivery.js';
import { restDestinationSchema } from '../../../config/schema.js';
import type { ErpSimulator } from '../../../../simulators/erp-rest/erp-simulator.js';
import { createRestConnector, type RestConnector } from './rest-connector.js';
import { T0, connectorFor, ctx, outboxItem, useSimulators } from '../../../../test/helpers/rest-simulator.js';

const sim = useSimulators();

async function lookupSetup(): Promise<{ s: ErpSimulator; c: RestConnector }> {
  const s = await sim({ idempotency: false });
  return { s, c: connectorFor(s, { idempotencySupported: false }) };
}

/** A fact with its business key, at T0. */
const fact = (operation: string, erpAssetId: string, businessKey: string, payload: Record<string, unknown>): OutboxItem => outboxItem(operation, erpAssetId, payload, { kind: 'fact', businessKey, eventTime: T0 });

const usage = (asset: string, period: string, units = 160) =>
  fact('usage.post', asset, `${asset}|usage|${period}`, { period, periodUnits: units, lifeToDateUnits: 5000, totalExpectedUnits: 20000, unit: 'h' });
const count = (revision: number, qty: number, delta: number) =>
  fact('inventory.count', 'WH-1/A-01', `WH-1/A-01|SKU-1|r${revision}`, { location: 'WH-1/A-01', sku: 'SKU-1', countedQuantity: qty, delta });

describe('find-before-create for facts other than work orders (ERP without idempotency support)', () => {
  it('a usage posting whose response was lost is found on the retry, not posted twice', async () => {
    const { s, c } = await lookupSetup();
    const posting = usage('FA-1', '2026-02');
    s.faults.add({ kind: 'lost-response', method: 'POST', path: '/usage' });
    expect((await c.send([posting], ctx))[0]?.ok).toBe(false);
    expect(s.state().usagePostings).toHaveLength(1); // applied although the client never heard

    const [retry] = await c.send([{ ...posting, attempts: 1 }], ctx);
    expect(retry?.ok).toBe(true);
    expect(retry?.exchange?.method).toBe('GET');
    expect(s.state().usagePostings).toHaveLength(1);
    expect(s.counters().applied.usagePostings).toBe(1);
  });

  it('an inventory count (with its delta) whose response was lost is found on the retry, not posted twice', async () => {
    const { s, c } = await lookupSetup();
    const counted = count(3, 38, -2);
    s.faults.add({ kind: 'lost-response', method: 'POST', path: '/inventory/counts' });
    expect((await c.send([counted], ctx))[0]?.ok).toBe(false);
    const [retry] = await c.send([{ ...counted, attempts: 1 }], ctx);
    expect(retry?.ok).toBe(true);
    expect(s.state().inventoryCounts).toHaveLength(1);
    expect(s.state().inventoryCounts[0]).toMatchObject({ countedQuantity: 38, delta: -2 });
  });

  it('a lookup answered with something other than a list says which request and what it must answer, and creates nothing', async () => {
    const { s, c } = await lookupSetup();
    s.faults.add({ kind: 'error', status: 200, method: 'GET', path: '/usage', body: { data: [] } });
    const [result] = await c.send([usage('FA-1', '2026-02')], ctx);
    expect(result?.ok).toBe(false);
    // Asking again gets the same answer: permanent, dead-lettered at once rather than retried to its max age.
    expect(result?.ok === false && result.error).toBeInstanceOf(PermanentError);
    expect(result?.ok === false && result.error.message).toBe(
      'GET /api/v1/assets/FA-1/usage?externalKey=FA-1%7Cusage%7C2026-02 (the lookup before a create, as idempotencySupported is false) → 200, but the answer is not a list: a JSON array, or an object with items, value, workOrders or d.results (OData V2), was expected; got {"data":[]}; ' +
        'set paths.usagePostings of destination "erp-sim" to a path that answers GET ?externalKey= with a list, or idempotencySupported: true if the ERP honours X-Idempotency-Key, then replay it (\'assetbridge dlq replay\')',
    );
    expect(s.state().usagePostings).toEqual([]);
  });

  it('a create that may have landed (a 500, a reset) says the retry looks it up by its externalKey, not that the ERP honours the idempotency key', async () => {
    // Was: "the ERP may have applied it, the retry carries the same idempotency key", which this ERP ignores.
    const { s, c } = await lookupSetup();
    s.faults.add({ kind: 'error', status: 500, method: 'POST', path: '/usage' });
    s.faults.add({ kind: 'reset', method: 'POST', path: '/usage' });
    const lookupNote = 'the ERP may have applied it; it ignores the idempotency key (idempotencySupported: false), so the retry first looks the record up by its externalKey and does not create it again if it is there';
    for (const period of ['2026-02', '2026-03']) {
      const [result] = await c.send([usage('FA-1', period)], ctx);
      expect(result?.ok === false && result.error).toBeInstanceOf(RetryableError);
      expect(result?.ok === false && result.error.outcomeUnknown).toBe(true);
      expect(result?.ok === false && result.error.message).toMatch(/^POST \/api\/v1\/assets\/FA-1\/usage → (500|connection-reset)/);
      expect(result?.ok === false && result.error.message).toContain(lookupNote);
      expect(result?.ok === false && result.error.message).not.toContain('the same idempotency key');
    }
    // The same create to an ERP that honours the key says so.
    const honoured = await sim();
    honoured.faults.add({ kind: 'error', status: 500, method: 'POST', path: '/usage' });
    const [keyed] = await connectorFor(honoured).send([usage('FA-1', '2026-02')], ctx);
    expect(keyed?.ok === false && keyed.error.message).toContain('; the ERP may have applied it, the retry carries the same idempotency key');
  });

  it('an update (a location PATCH) that may have landed says it sets the same values again; in a batch, a create there says its lookup', async () => {
    const { s, c } = await lookupSetup();
    s.faults.add({ kind: 'error', status: 502, method: 'PATCH' });
    const [patched] = await c.send([outboxItem('location.update', 'EQ-1', { erpAssetId: 'EQ-1', warehouseLocation: 'YARD-1', coordinates: { lat: 59.33, lng: 18.07 }, lastSeen: '2026-03-02T08:10:00.000Z' })], ctx);
    expect(patched?.ok === false && patched.error.message).toMatch(/→ 502: InjectedFault: injected 502 fault; the ERP may have applied it; it ignores the idempotency key \(idempotencySupported: false\), and the update sent again sets the same values$/);

    const batched = connectorFor(s, { idempotencySupported: false, batch: { maxSize: 10 } });
    s.faults.add({ kind: 'error', status: 500, method: 'POST', path: '/$batch' });
    const [inBatch] = await batched.send([usage('FA-1', '2026-04')], ctx);
    expect(inBatch?.ok === false && inBatch.error.message).toContain(
      '; the ERP may have applied it; it ignores the idempotency key (idempotencySupported: false), so the retry first looks up each record it creates by its externalKey (an update is sent again, setting the same values)',
    );
  });

  it('a lookup that times out sent no create: its error says nothing may have been applied, and the create is no unknown outcome', async () => {
    const s = await sim({ idempotency: false });
    const c = connectorFor(s, { idempotencySupported: false, timeoutMs: 300 });
    s.faults.add({ kind: 'timeout', method: 'GET', path: '/work-orders' });
    const [result] = await c.send([fact('workorder.create', 'EQ-1', 'EQ-1|oil|2026-03-02T08:00:00.000Z', { title: 'Oil' })], ctx);
    expect(result?.ok).toBe(false);
    expect(result?.ok === false && result.error.outcomeUnknown).toBe(false);
    expect(result?.ok === false && result.error.message).toMatch(/^GET \/api\/v1\/work-orders → timeout/);
    expect(result?.ok === false && result.error.message).not.toContain('may have applied');
    expect(s.state().workOrders).toEqual([]);
  });

  it('a lookup answered with text that is not JSON (cut short, a proxy\'s page) is retried, naming the key to check should it last; nothing is created meanwhile', async () => {
    const { s, c } = await lookupSetup();
    s.faults.add({ kind: 'malformed', method: 'GET', path: '/work-orders', body: '<html><body>502 Bad Gateway</body></html>' });
    const wo = fact('workorder.create', 'EQ-1', 'EQ-1|oil|2026-03-02T08:00:00.000Z', { title: 'Oil' });
    const [result] = await c.send([wo], ctx);
    expect(result?.ok).toBe(false);
    expect(result?.ok === false && result.error).toBeInstanceOf(RetryableError);
    expect(result?.ok === false && result.error.message).toContain('→ 200, but the answer is not JSON');
    expect(result?.ok === false && result.error.message).toContain('paths.workOrders of destination "erp-sim"');
    expect(s.state().workOrders).toEqual([]);
    // The next attempt reads the list: one work order.
    expect((await c.send([{ ...wo, attempts: 1 }], ctx))[0]?.ok).toBe(true);
    expect(s.state().workOrders).toHaveLength(1);
  });

  it('a lookup answered with no body at all is retried, said to be empty, naming the key to check should it last; nothing is created meanwhile', async () => {
    const { s, c } = await lookupSetup();
    s.faults.add({ kind: 'empty-body', method: 'GET', path: '/work-orders' });
    const wo = fact('workorder.create', 'EQ-1', 'EQ-1|oil|2026-03-02T08:00:00.000Z', { title: 'Oil' });
    const [result] = await c.send([wo], ctx);
    expect(result?.ok).toBe(false);
    expect(result?.ok === false && result.error).toBeInstanceOf(RetryableError);
    expect(result?.ok === false && result.error.message).toMatch(
      /^GET \/api\/v1\/work-orders\?externalKey=.* \(the lookup before a create, as idempotencySupported is false\) → 200, but the answer was empty \(no body at all, where a list \(at least \[\]\) was expected\): .*; nothing was created, retried; should it last, set paths\.workOrders of destination "erp-sim"/,
    );
    expect(s.state().workOrders).toEqual([]);
    // The next attempt reads the list: one work order.
    expect((await c.send([{ ...wo, attempts: 1 }], ctx))[0]?.ok).toBe(true);
    expect(s.state().workOrders).toHaveLength(1);
  });

  it('a lookup the ERP refuses (it knows no externalKey filter: 400) says it was the lookup and which keys to set, not only "GET … → 400"', async () => {
    const { s, c } = await lookupSetup();
    s.faults.add({ kind: 'error', status: 400, method: 'GET', path: '/usage', body: { error: { code: 'BadRequest', message: 'unknown query option externalKey' } } });
    const [result] = await c.send([usage('FA-1', '2026-02')], ctx);
    const error = result?.ok === false ? result.error : undefined;
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ status: 400 });
    expect(error?.message).toBe(
      'GET /api/v1/assets/FA-1/usage?externalKey=FA-1%7Cusage%7C2026-02 (the lookup before a create, as idempotencySupported is false) → 400 rejected as invalid: BadRequest: unknown query option externalKey; ' +
        'set paths.usagePostings of destination "erp-sim" to a path that answers GET ?externalKey= with a list, or idempotencySupported: true if the ERP honours X-Idempotency-Key, then replay it (\'assetbridge dlq replay\')',
    );
    expect(s.state().usagePostings).toEqual([]);
  });

  it('a lookup under an asset the ERP does not know (404) names the asset first, not only the path', async () => {
    const { s, c } = await lookupSetup();
    s.faults.add({ kind: 'error', status: 404, method: 'GET', path: '/usage', body: { error: { code: 'NotFound', message: 'asset FA-9 does not exist' } } });
    const [result] = await c.send([usage('FA-9', '2026-02')], ctx);
    expect(result?.ok === false && result.error.message).toBe(
      'GET /api/v1/assets/FA-9/usage?externalKey=FA-9%7Cusage%7C2026-02 (the lookup before a create, as idempotencySupported is false) → 404 not found: NotFound: asset FA-9 does not exist; ' +
        "if the ERP does not know asset FA-9, create it there and replay it ('assetbridge dlq replay'), or, if its erp_asset_id in the asset mapping is wrong, correct it for what comes next ('assetbridge assets import'); if the ERP knows it, " +
        'set paths.usagePostings of destination "erp-sim" to a path that answers GET ?externalKey= with a list, or idempotencySupported: true if the ERP honours X-Idempotency-Key, then replay it (\'assetbridge dlq replay\')',
    );
    expect(s.state().usagePostings).toEqual([]);
  });

  it('other facts of the same asset and cell are still created', async () => {
    const { s, c } = await lookupSetup();
    for (const r of await c.send([usage('FA-1', '2026-01'), usage('FA-1', '2026-02'), usage('FA-2', '2026-02')], ctx)) expect(r.ok).toBe(true);
    for (const r of await c.send([count(1, 40, 40), count(2, 38, -2)], ctx)) expect(r.ok).toBe(true);
    expect(s.state().usagePostings.map((u) => `${u.erpAssetId} ${u.period}`)).toEqual(['FA-1 2026-01', 'FA-1 2026-02', 'FA-2 2026-02']);
    expect(s.state().inventoryCounts.map((i) => i.countedQuantity)).toEqual([40, 38]);
  });
});

describe('the idempotency key is sent with writes, never with a lookup', () => {
  /**
   * An idempotency layer in front of the ERP (an API gateway's) that remembers the first answer to
   * each key, whatever the method, and replays it for the key's later requests.
   */
  function keyReplayingGateway(): { fetch: typeof fetch; keyed: string[] } {
    const answers = new Map<string, { status: number; body: string; headers: Headers }>();
    const keyed: string[] = [];
    const f = (async (url: string, init: RequestInit) => {
      const headers = new Headers(init.headers);
      const key = headers.get('X-Idempotency-Key');
      if (key !== null) keyed.push(`${init.method ?? 'GET'} ${new URL(url).pathname}`);
      const stored = key === null ? undefined : answers.get(key);
      if (stored) return new Response(stored.body, { status: stored.status, headers: stored.headers });
      const response = await fetch(url, init);
      const body = await response.text();
      if (key !== null && response.ok) answers.set(key, { status: response.status, body, headers: response.headers });
      return new Response(body, { status: response.status, headers: response.headers });
    }) as typeof fetch;
    return { fetch: f, keyed };
  }

  it('a lookup before a create carries no key: a layer that replays answers by key does not answer the create with the lookup\'s empty list', async () => {
    const s = await sim({ idempotency: false });
    const gateway = keyReplayingGateway();
    const config = restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, token: 'sim-token', idempotencySupported: false });
    const c = createRestConnector(config, { fetch: gateway.fetch });
    const [result] = await c.send([fact('workorder.create', 'EQ-1', 'EQ-1|oil|2026-03-02T08:00:00.000Z', { title: 'Oil' })], ctx);
    expect(result?.ok).toBe(true);
    expect(s.state().workOrders).toHaveLength(1);
    expect(gateway.keyed).toEqual(['POST /api/v1/work-orders']);
  });

  it('the lookup after a 409 "already exists" carries no key either, and finds the record', async () => {
    const s = await sim({ uniqueExternalKey: true });
    const wo = fact('workorder.create', 'EQ-1', 'EQ-1|oil|2026-03-02T08:00:00.000Z', { title: 'Oil' });
    s.faults.add({ kind: 'already-exists', method: 'POST', path: '/work-orders' });
    const gateway = keyReplayingGateway();
    const config = restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, token: 'sim-token', on409: { workOrders: 'exists' } });
    const c = createRestConnector(config, { fetch: gateway.fetch });
    const [result] = await c.send([wo], ctx);
    expect(result).toMatchObject({ ok: true, response: { id: s.state().workOrders[0]?.id } });
    expect(gateway.keyed).toEqual(['POST /api/v1/work-orders']);
  });
});

describe('the test helper\'s outbox items are of the kind production queues them as', () => {
  it('an inventory count is a fact (one per cell revision): its record carries its business key; a meter reading is state: its idempotency key', async () => {
    // Production: core/rules/inventory/counts.ts queues counts as facts, core/rules/meter-sync.ts readings as state.
    const counted = outboxItem('inventory.count', 'SKU-1', { location: 'WH-1/A-01', sku: 'SKU-1', countedQuantity: 40, delta: 40, revision: 1 });
    const read = outboxItem('meter.record', 'EQ-1', { meter: 'operatingHours', operatingHours: 1200, unit: 'h' });
    expect([counted.kind, read.kind, outboxItem('usage.post', 'EQ-1', {}).kind, outboxItem('location.update', 'EQ-1', {}).kind]).toEqual(['fact', 'state', 'fact', 'state']);
    const { s, c } = await lookupSetup();
    for (const r of await c.send([counted, read], ctx)) expect(r.ok).toBe(true);
    expect(s.state().inventoryCounts.map((r) => r.externalKey)).toEqual([counted.businessKey]);
    expect(s.state().meterReadings.map((r) => r.externalKey)).toEqual([read.idempotencyKey]);
  });
});

describe('find-before-create for meter readings (ERP without idempotency support)', () => {
  /** A meter reading as the meter rule queues it: a state delivery keyed by the asset. */
  const reading = (erpAssetId: string, hours: number, at: number): OutboxItem => {
    const intent = { destination: 'erp-sim', operation: 'meter.record', kind: 'state' as const, businessKey: erpAssetId, erpAssetId, eventTime: at, payload: { operatingHours: hours } };
    return outboxItem('meter.record', erpAssetId, intent.payload, { ...intent, idempotencyKey: idempotencyKeyFor(intent), createdAt: at, enqueuedAt: at, nextAttemptAt: at });
  };

  it('a reading whose response was lost is found on the retry, not recorded twice', async () => {
    const { s, c } = await lookupSetup();
    const r = reading('EQ-1', 1234.5, T0);
    s.faults.add({ kind: 'lost-response', method: 'POST', path: '/meter-readings' });
    expect((await c.send([r], ctx))[0]?.ok).toBe(false);
    expect(s.state().meterReadings).toHaveLength(1); // applied although the client never heard

    const [retry] = await c.send([{ ...r, attempts: 1 }], ctx);
    expect(retry?.ok).toBe(true);
    expect(retry?.exchange?.method).toBe('GET');
    expect(s.state().meterReadings).toHaveLength(1);
    expect(s.state().meterReadings[0]).toMatchObject({ erpAssetId: 'EQ-1', operatingHours: 1234.5, externalKey: r.idempotencyKey });
  });

  it('a newer reading of the same meter, and the same reading of another asset, are still recorded', async () => {
    const { s, c } = await lookupSetup();
    for (const r of await c.send([reading('EQ-1', 1234.5, T0)], ctx)) expect(r.ok).toBe(true);
    for (const r of await c.send([reading('EQ-1', 1235, T0 + 1_800_000), reading('EQ-2', 1234.5, T0)], ctx)) expect(r.ok).toBe(true);
    expect(s.state().meterReadings.map((m) => `${m.erpAssetId} ${String(m.operatingHours)}`)).toEqual(['EQ-1 1234.5', 'EQ-1 1235', 'EQ-2 1234.5']);
  });
});

describe('requests within one call are paced by the destination budget (invariant 4)', () => {
  /** A budget that counts what it granted, as the dispatcher's limiter would hand out tokens. */
  const budgetCtx = () => {
    const granted: number[] = [];
    return { granted, ctx: { signal: new AbortController().signal, budget: { next: () => Promise.resolve(void granted.push(1)) } } };
  };

  it('the create after its lookup, and each further item, takes a token of its own', async () => {
    const { s, c } = await lookupSetup();
    const { granted, ctx: paced } = budgetCtx();
    for (const r of await c.send([usage('FA-1', '2026-03')], paced)) expect(r.ok).toBe(true);
    // GET (on the caller's token) then POST (one more from the budget).
    expect(s.counters().requests).toBe(2);
    expect(granted).toHaveLength(1);
  });

  it('after a 429 in the call, no further request goes: every item left shares that answer', async () => {
    const { s, c } = await lookupSetup();
    const { ctx: paced } = budgetCtx();
    s.faults.add({ kind: 'error', status: 429, retryAfterSeconds: 30 });
    const results = await c.send([usage('FA-1', '2026-04'), usage('FA-2', '2026-04')], paced);
    expect(results.map((r) => !r.ok && r.error.constructor.name)).toEqual(['RateLimitedError', 'RateLimitedError']);
    expect(s.counters().requests).toBe(1);
    expect(s.state().usagePostings).toHaveLength(0);
  });
});

describe('an ERP that ignores the ?externalKey= filter of the lookup and pages its whole list', () => {
  const workOrder = (key: string) => fact('workorder.create', 'EQ-1', key, { erpAssetId: 'EQ-1', title: 'service' });
  async function unfiltered(pageSize: number, options: { maxLookupPages?: number } = {}) {
    const s = await sim({ idempotency: false, externalKeyFilter: false, pageSize });
    const config = restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, token: 'sim-token', timeoutMs: 2000, idempotencySupported: false });
    return { s, c: createRestConnector(config, options) };
  }

  it('a work order whose response was lost is found on a later page, not created twice', async () => {
    const { s, c } = await unfiltered(2);
    for (const r of await c.send([workOrder('EQ-1|hot|a'), workOrder('EQ-1|hot|b'), workOrder('EQ-1|hot|c')], ctx)) expect(r.ok).toBe(true);
    const wo = workOrder('EQ-1|hot|d');
    s.faults.add({ kind: 'lost-response', method: 'POST', path: '/work-orders' });
    expect((await c.send([wo], ctx))[0]?.ok).toBe(false);
    // Page 1 holds a and b; d is on page 2.
    const [retry] = await c.send([{ ...wo, attempts: 1 }], ctx);
    expect(retry).toMatchObject({ ok: true, response: { externalKey: 'EQ-1|hot|d' } });
    expect(s.state().workOrders.map((w) => w.externalKey)).toEqual(['EQ-1|hot|a', 'EQ-1|hot|b', 'EQ-1|hot|c', 'EQ-1|hot|d']);
    expect(s.counters().duplicateWorkOrders).toBe(0);
  });

  // The ERP lists oldest change first and pages by offset: a work order changed between two pages
  // (completed by a technician) moves to the end, and every record after it moves up a place, so
  // the first one of the next page slips onto the page already read. The record looked for may be
  // the one that slipped: its absence is not known, and a create then would make it twice.
  it('a work order that moved onto a page already read while the lookup paged (another one changed meanwhile) is not created twice', async () => {
    const s = await sim({ idempotency: false, externalKeyFilter: false, pageSize: 2 });
    let pagesRead = 0;
    const fetchBetweenPages: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const url = new URL(input instanceof Request ? input.url : String(input));
      if ((init?.method ?? 'GET') === 'GET' && url.pathname === '/api/v1/work-orders' && ++pagesRead === 1) {
        // After the first page of the lookup: a, listed on it, is completed in the ERP.
        await new Promise((r) => setTimeout(r, 5));
        s.completeWorkOrder({ externalKey: 'EQ-1|hot|a' });
      }
      return response;
    };
    const config = restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, token: 'sim-token', timeoutMs: 2000, idempotencySupported: false });
    const setup = createRestConnector(config);
    for (const r of await setup.send([workOrder('EQ-1|hot|a'), workOrder('EQ-1|hot|b')], ctx)) expect(r.ok).toBe(true);
    const wo = workOrder('EQ-1|hot|c');
    s.faults.add({ kind: 'lost-response', method: 'POST', path: '/work-orders' });
    expect((await setup.send([wo], ctx))[0]?.ok).toBe(false);
    await new Promise((r) => setTimeout(r, 5));
    // c is first on page 2 (a, b | c); a completed after page 1 is read leaves (b, c | a).
    const c = createRestConnector(config, { fetch: fetchBetweenPages });
    const [retry] = await c.send([{ ...wo, attempts: 1 }], ctx);
    expect(pagesRead).toBe(2);
    expect(s.state().workOrders.map((w) => w.externalKey)).toEqual(['EQ-1|hot|a', 'EQ-1|hot|b', 'EQ-1|hot|c']);
    expect(s.counters().duplicateWorkOrders).toBe(0);
    // Not created, and not given up on: retried, and the next lookup reads a list that stood still.
    expect(retry?.ok === false && retry.error).toBeInstanceOf(RetryableError);
    expect(retry?.ok === false && retry.error.message).toMatch(/listed twice.*changed while it was read page by page.*nothing was created/);
    const [again] = await c.send([{ ...wo, attempts: 2 }], ctx);
    expect(again).toMatchObject({ ok: true, response: { externalKey: 'EQ-1|hot|c' } });
    expect(s.state().workOrders).toHaveLength(3);
  });

  it('the move is seen by the id workOrderFields names, for an ERP whose work orders hold it under another name', async () => {
    const s = await sim({ idempotency: false, externalKeyFilter: false, pageSize: 2 });
    let pagesRead = 0;
    // The ERP's records hold their id as WorkOrderId, not id.
    const renamingIds: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const url = new URL(input instanceof Request ? input.url : String(input));
      if ((init?.method ?? 'GET') !== 'GET' || url.pathname !== '/api/v1/work-orders') return response;
      const body = (await response.json()) as { items: { id: string }[]; next?: string };
      if (++pagesRead === 1) {
        await new Promise((r) => setTimeout(r, 5));
        s.completeWorkOrder({ externalKey: 'EQ-1|hot|a' });
      }
      const items = body.items.map(({ id, ...rest }) => ({ WorkOrderId: id, ...rest }));
      return new Response(JSON.stringify({ ...body, items }), { status: response.status, headers: { 'content-type': 'application/json' } });
    };
    const config = restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, token: 'sim-token', timeoutMs: 2000, idempotencySupported: false, workOrderFields: { id: 'WorkOrderId' } });
    for (const r of await createRestConnector(config).send([workOrder('EQ-1|hot|a'), workOrder('EQ-1|hot|b')], ctx)) expect(r.ok).toBe(true);
    const wo = workOrder('EQ-1|hot|c');
    s.faults.add({ kind: 'lost-response', method: 'POST', path: '/work-orders' });
    expect((await createRestConnector(config).send([wo], ctx))[0]?.ok).toBe(false);
    await new Promise((r) => setTimeout(r, 5));
    const [retry] = await createRestConnector(config, { fetch: renamingIds }).send([{ ...wo, attempts: 1 }], ctx);
    expect(pagesRead).toBe(2);
    expect(retry?.ok === false && retry.error).toBeInstanceOf(RetryableError);
    expect(s.state().workOrders).toHaveLength(3);
  });

  it('past maxLookupPages the create is not sent: it fails permanently, naming the filter and the keys to set', async () => {
    const { s, c } = await unfiltered(1, { maxLookupPages: 2 });
    for (const r of await c.send([workOrder('EQ-1|hot|a'), workOrder('EQ-1|hot|b'), workOrder('EQ-1|hot|c')], ctx)) expect(r.ok).toBe(true);
    const [result] = await c.send([workOrder('EQ-1|hot|d')], ctx);
    expect(result?.ok === false && result.error).toBeInstanceOf(PermanentError);
    expect(result?.ok === false && result.error.message).toMatch(
      /answered 2 pages without the record and with more to come: the ERP ignores the externalKey filter.*set paths\.workOrders of destination "erp-sim" to a path whose \?externalKey= filters, or idempotencySupported: true/,
    );
    expect(s.state().workOrders).toHaveLength(3);
  });

  it('config check --connect (probe) fails naming paths.workOrders when the lookup of a key none has lists work orders', async () => {
    const { c } = await unfiltered(100);
    for (const r of await c.send([workOrder('EQ-1|hot|a')], ctx)) expect(r.ok).toBe(true);
    const probe = await c.probe(ctx);
    expect(probe).toMatchObject({ ok: false, problem: 'path', key: 'paths.workOrders' });
    expect(probe.detail).toMatch(/listed 1 work order\(s\) for a key none has: the ERP ignores the externalKey filter, .*set paths\.workOrders to a path whose \?externalKey= filters, or idempotencySupported: true/);
  });
});
