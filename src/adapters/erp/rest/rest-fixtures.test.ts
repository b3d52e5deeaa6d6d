/**
 * The connector against the captured-shape fixtures: the requests it produces must equal the
 * fixture requests, the fixture responses must parse into the documented results, and the ERP
 * simulator must accept every fixture request, so the three cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, RateLimitedError } from '../../../core/errors/errors.js';
import type { OutboxItem } from '../../../core/model/delivery.js';
import { restDestinationSchema, type RestDestinationConfig } from '../../../config/schema.js';
import { startErpSimulator, type ErpSimulator } from '../../../../simulators/erp-rest/erp-simulator.js';
import { createRestConnector } from './rest-connector.js';
import { rulesSchema } from '../../../config/rules-schema.js';
import { createRules } from '../../../core/rules/index.js';
import type { CanonicalEvent, SensorEvent } from '../../../core/model/events.js';

const BASE = 'https://erp.example.test';

interface RequestFixture {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: unknown;
  form?: Record<string, string>;
}
interface ResponseFixture {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8')) as T;
}

const items = fixture<Record<'location' | 'workOrder' | 'meter' | 'inventory' | 'usage' | 'workOrderUpdate', OutboxItem>>('items.json');

interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  bodyText?: string;
}

/** A fetch that records each request and answers from a queue of fixture responses. */
function recordingFetch(responses: ResponseFixture[]): { fetch: typeof fetch; recorded: Recorded[] } {
  const recorded: Recorded[] = [];
  const queue = [...responses];
  const fake = ((input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
    recorded.push({
      method: init?.method ?? 'GET',
      path: `${url.pathname}${url.search}`,
      headers,
      ...(typeof init?.body === 'string' ? { bodyText: init.body } : {}),
    });
    const next = queue.shift();
    if (!next) return Promise.reject(new Error(`unexpected request ${init?.method} ${url.pathname}`));
    return Promise.resolve(new Response(next.body === undefined ? null : JSON.stringify(next.body), {
      status: next.status,
      headers: { 'content-type': 'application/json', ...next.headers },
    }));
  }) as typeof fetch;
  return { fetch: fake, recorded };
}

function config(overrides: Record<string, unknown> = {}): RestDestinationConfig {
  return restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: BASE, token: 'fixture-token', ...overrides });
}

const ctx = { signal: new AbortController().signal };

/** The recorded request in fixture form: only the headers the fixture fixes, body parsed. */
function asFixture(rec: Recorded, expected: RequestFixture): RequestFixture {
  const headers = Object.fromEntries(Object.keys(expected.headers).map((k) => [k, rec.headers[k] ?? '(missing)']));
  const out: RequestFixture = { method: rec.method, path: rec.path, headers };
  if (expected.form) out.form = Object.fromEntries(new URLSearchParams(rec.bodyText ?? ''));
  else if (rec.bodyText !== undefined) out.body = JSON.parse(rec.bodyText);
  return out;
}

describe('the outbox items behind the requests', () => {
  it('hold the work order the maintenance rules produce, not a shape of their own', () => {
    const rules = rulesSchema.parse({
      allowedLateness: 0,
      maintenance: {
        thresholds: [{ name: 'engine-temp', sensor: 'engineTempC', above: 105, clearBelow: 100, severity: 'critical', title: 'Engine hot' }],
        windows: { timeZone: 'UTC', default: [{ days: ['mon'], from: '12:00', to: '18:00' }] },
      },
    });
    const maintenance = createRules(rules).find((r) => r.name === 'maintenance')!;
    const asset = { erpAssetId: 'EQ-1001', erpModule: 'maintenance', attributes: {} };
    const reading: SensorEvent = { kind: 'sensor', source: 'mqtt', ids: [{ type: 'erp', value: 'EQ-1001' }], eventTime: Date.parse('2026-03-02T08:00:00Z'), receivedAt: 0, values: { engineTempC: { value: 108.5, unit: '°C' }, oilPressureKpa: { value: 210, unit: 'kPa' } } };
    const [wo] = maintenance.apply(undefined, reading, { asset, destination: 'erp', now: Date.parse('2026-03-02T08:00:01Z') }).deliveries;
    expect(wo).toMatchObject({ operation: items.workOrder.operation, businessKey: items.workOrder.businessKey, eventTime: items.workOrder.eventTime });
    expect(items.workOrder.payload).toEqual(wo?.payload);
  });
});

describe('the outbox item behind a work order raised (workorder.update)', () => {
  it('holds the update the alert rules produce when a fault reported warning turns critical', () => {
    const rules = rulesSchema.parse({ allowedLateness: 0, maintenance: { alerts: [{ name: 'fault-codes', minSeverity: 'warning', cooldown: '1h' }] } });
    const maintenance = createRules(rules).find((r) => r.name === 'maintenance')!;
    const asset = { erpAssetId: 'EQ-1001', erpModule: 'maintenance', attributes: {} };
    const ids = [{ type: 'erp' as const, value: 'EQ-1001' }];
    const events: CanonicalEvent[] = [
      { kind: 'alert', source: 'aemp', ids, eventTime: Date.parse('2026-03-02T08:00:00Z'), receivedAt: 0, severity: 'warning', code: 'SPN110-FMI0', reason: 'Engine coolant temperature high' },
      { kind: 'sensor', source: 'mqtt', ids, eventTime: Date.parse('2026-03-02T08:09:00Z'), receivedAt: 0, values: { engineTempC: { value: 112.5, unit: '°C' } } },
      { kind: 'alert', source: 'aemp', ids, eventTime: Date.parse('2026-03-02T08:10:00Z'), receivedAt: 0, severity: 'critical', code: 'SPN110-FMI0', reason: 'Engine coolant temperature very high' },
    ];
    let state: unknown;
    const out = events.flatMap((e) => {
      const step = maintenance.apply(state, e, { asset, destination: 'erp', now: e.eventTime + 1000 });
      state = step.state;
      return step.deliveries;
    });
    const update = out.find((d) => d.operation === 'workorder.update');
    expect(update).toMatchObject({ operation: items.workOrderUpdate.operation, kind: items.workOrderUpdate.kind, businessKey: items.workOrderUpdate.businessKey, eventTime: items.workOrderUpdate.eventTime });
    expect(items.workOrderUpdate.payload).toEqual(update?.payload);
  });

  it('is found by its business key, then PATCHed at paths.workOrder with its payload', async () => {
    const lookup = fixture<ResponseFixture>('workorder-update-lookup.response.json');
    const response = fixture<ResponseFixture>('workorder-update.response.json');
    const expected = fixture<RequestFixture>('workorder-update.request.json');
    const { fetch, recorded } = recordingFetch([lookup, response]);
    const [result] = await createRestConnector(config(), { fetch }).send([items.workOrderUpdate], ctx);
    expect(recorded.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /api/v1/work-orders?externalKey=${encodeURIComponent(items.workOrderUpdate.businessKey)}`, `PATCH ${expected.path}`]);
    expect(asFixture(recorded[1]!, expected)).toEqual(expected);
    expect(result).toMatchObject({ id: items.workOrderUpdate.id, ok: true, response: response.body });
  });
});

describe('requests the connector produces', () => {
  it.each([
    ['location', 'location-update.request.json', 'location-update.response.json'],
    ['workOrder', 'workorder-create.request.json', 'workorder-create.response.json'],
    ['meter', 'meter-record.request.json', 'location-update.response.json'],
    ['inventory', 'inventory-count.request.json', 'location-update.response.json'],
    ['usage', 'usage-post.request.json', 'location-update.response.json'],
  ] as const)('%s → %s', async (itemName, requestFile, responseFile) => {
    const expected = fixture<RequestFixture>(requestFile);
    const response = fixture<ResponseFixture>(responseFile);
    const { fetch, recorded } = recordingFetch([response]);
    const [result] = await createRestConnector(config(), { fetch }).send([items[itemName]], ctx);
    expect(recorded).toHaveLength(1);
    expect(asFixture(recorded[0]!, expected)).toEqual(expected);
    expect(recorded[0]!.headers.authorization).toBe('Bearer fixture-token');
    expect(result).toMatchObject({ id: items[itemName].id, ok: true, response: response.body });
  });

  it('looks a work order up before creating it when the ERP ignores idempotency keys, and an existing one counts as delivered', async () => {
    const expected = fixture<RequestFixture>('workorder-lookup.request.json');
    const { fetch, recorded } = recordingFetch([fixture('workorder-lookup.response.json')]);
    const [result] = await createRestConnector(config({ idempotencySupported: false }), { fetch }).send([items.workOrder], ctx);
    expect(recorded).toHaveLength(1);
    expect(asFixture(recorded[0]!, expected)).toEqual(expected);
    // The idempotency key names the create, not this read (a layer keying every request would replay it).
    expect(recorded[0]!.headers['x-idempotency-key']).toBeUndefined();
    expect(result?.ok).toBe(true);
    expect(result?.ok && (result.response as { id: string }).id).toBe('WO-000017');
  });

  it('creates the work order when the lookup finds none', async () => {
    const { fetch, recorded } = recordingFetch([{ status: 200, body: { items: [] } }, fixture('workorder-create.response.json')]);
    const [result] = await createRestConnector(config({ idempotencySupported: false }), { fetch }).send([items.workOrder], ctx);
    expect(recorded.map((r) => r.method)).toEqual(['GET', 'POST']);
    expect(asFixture(recorded[1]!, fixture('workorder-create.request.json'))).toEqual(fixture('workorder-create.request.json'));
    expect(result?.ok).toBe(true);
  });

  it('mints an OAuth2 token with the documented form, then uses it', async () => {
    const expectedToken = fixture<RequestFixture>('oauth-token.request.json');
    const tokenResponse = fixture<ResponseFixture>('oauth-token.response.json');
    const { fetch, recorded } = recordingFetch([tokenResponse, fixture('location-update.response.json')]);
    const connector = createRestConnector(
      config({
        token: undefined,
        auth: { type: 'oauth2-client-credentials', tokenUrl: `${BASE}/oauth/token`, clientId: 'assetbridge', clientSecret: 'sim-secret', scope: 'erp.write' },
      }),
      { fetch },
    );
    const [result] = await connector.send([items.location], ctx);
    expect(result?.ok).toBe(true);
    expect(asFixture(recorded[0]!, expectedToken)).toEqual(expectedToken);
    expect(recorded[1]!.headers.authorization).toBe(`Bearer ${(tokenResponse.body as { access_token: string }).access_token}`);
  });

  it('sends a batch in the documented envelope and maps each answer on its own', async () => {
    const expected = fixture<RequestFixture>('batch.request.json');
    const { fetch, recorded } = recordingFetch([fixture('batch.response.json')]);
    const connector = createRestConnector(config({ batch: { path: '/api/v1/$batch', maxSize: 10 } }), { fetch });
    expect(connector.capabilities.maxBatchSize).toBe(10);
    const results = await connector.send([items.location, items.meter, items.usage], ctx);
    expect(recorded).toHaveLength(1);
    expect(asFixture(recorded[0]!, expected)).toEqual(expected);

    const byId = new Map(results.map((r) => [r.id, r]));
    expect(byId.get(101)?.ok).toBe(true);
    const meter = byId.get(103);
    expect(meter?.ok === false && meter.error).toBeInstanceOf(PermanentError);
    expect(meter?.ok === false && meter.error.message).toContain('readingAt must be an ISO 8601 date-time');
    expect(meter?.exchange).toMatchObject({ method: 'POST', url: `${BASE}/api/v1/assets/EQ-1001/meter-readings`, status: 400 });
    const usage = byId.get(105);
    expect(usage?.ok === false && usage.error).toBeInstanceOf(RateLimitedError);
    expect(usage?.ok === false && (usage.error as RateLimitedError).retryAfterMs).toBe(20_000);
  });
});

describe('responses the connector parses', () => {
  it('reads work-order updates across pages, skipping foreign and unknown-status work orders', async () => {
    const expected = fixture<RequestFixture>('workorder-updates.request.json');
    const { fetch, recorded } = recordingFetch([fixture('workorder-updates.page1.response.json'), fixture('workorder-updates.page2.response.json')]);
    const { updates } = await createRestConnector(config(), { fetch }).fetchWorkOrderUpdates(Date.parse('2026-03-02T00:00:00.000Z'), ctx);
    expect(asFixture(recorded[0]!, expected)).toEqual(expected);
    expect(recorded[1]!.path).toBe('/api/v1/work-orders?updatedSince=2026-03-02T00%3A00%3A00.000Z&offset=2&limit=2');
    expect(updates).toEqual([
      {
        businessKey: 'EQ-1001|engine-temp|2026-03-02T08:00:00.000Z',
        erpAssetId: 'EQ-1001',
        erpWorkOrderId: 'WO-000017',
        status: 'in-progress',
        changedAt: Date.parse('2026-03-02T09:30:00.000Z'),
      },
      {
        businessKey: 'EQ-3003|service-250h|1',
        erpAssetId: 'EQ-3003',
        erpWorkOrderId: 'WO-000019',
        status: 'completed',
        changedAt: Date.parse('2026-03-02T11:00:00.000Z'),
        operatingHoursAtCompletion: 251.5,
      },
    ]);
  });

  it('turns the validation error into a permanent failure quoting the ERP', async () => {
    const { fetch } = recordingFetch([fixture('validation-error.response.json')]);
    const [result] = await createRestConnector(config(), { fetch }).send([items.workOrder], ctx);
    expect(result?.ok === false && result.error).toBeInstanceOf(PermanentError);
    expect(result?.ok === false && result.error.message).toContain('ValidationError: title is required');
  });

  it('turns the rate-limit answer into a pause of its Retry-After', async () => {
    const { fetch } = recordingFetch([fixture('rate-limited.response.json')]);
    const [result] = await createRestConnector(config(), { fetch }).send([items.location], ctx);
    expect(result?.ok === false && result.error).toBeInstanceOf(RateLimitedError);
    expect(result?.ok === false && (result.error as RateLimitedError).retryAfterMs).toBe(30_000);
  });
});

describe('the simulator accepts every fixture request', () => {
  let sim: ErpSimulator;
  beforeAll(async () => {
    sim = await startErpSimulator({ token: 'fixture-token', oauthClients: [{ clientId: 'assetbridge', clientSecret: 'sim-secret' }] });
  });
  afterAll(async () => {
    await sim.close();
  });

  it.each([
    ['location-update.request.json', 'location-update.response.json'],
    ['workorder-create.request.json', 'workorder-create.response.json'],
    ['meter-record.request.json', undefined],
    ['inventory-count.request.json', undefined],
    ['usage-post.request.json', undefined],
    ['batch.request.json', undefined],
    ['workorder-lookup.request.json', 'workorder-lookup.response.json'],
    ['workorder-updates.request.json', undefined],
    ['oauth-token.request.json', 'oauth-token.response.json'],
  ] as const)('%s', async (requestFile, responseFile) => {
    const req = fixture<RequestFixture>(requestFile);
    const res = await fetch(`${sim.url}${req.path}`, {
      method: req.method,
      headers: { ...req.headers, ...(req.form ? {} : { authorization: 'Bearer fixture-token' }) },
      ...(req.form ? { body: new URLSearchParams(req.form).toString() } : req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(body)).toBeLessThan(300);
    if (responseFile !== undefined) {
      const expected = fixture<ResponseFixture>(responseFile);
      expect(res.status).toBe(expected.status);
      // Same shape: every documented top-level field is present.
      expect(Object.keys(body).sort()).toEqual(expect.arrayContaining(Object.keys(expected.body as object).sort()));
    }
    if (requestFile === 'batch.request.json') {
      expect((body.responses as { status: number }[]).map((r) => r.status)).toEqual([200, 201, 201]);
    }
  });
});
