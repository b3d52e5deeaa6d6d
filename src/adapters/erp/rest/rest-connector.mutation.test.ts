/**
 * Exactly-once edges of the REST connector found unpinned by mutation testing: find-before-create
 * must match the `externalKey` itself (an ERP may ignore the query filter and list other work
 * orders), and a batch answer that leaves an item out must not report it delivered.
 */
import { describe, expect, it } from 'vitest';
import { RetryableError } from '../../../core/errors/errors.js';
import type { OutboxItem } from '../../../core/model/delivery.js';
import { restDestinationSchema } from '../../../config/schema.js';
import { createRestConnector } from './rest-connector.js';

const BASE = 'https://erp.example.test';
const ctx = { signal: new AbortController().signal };

interface Recorded {
  method: string;
  path: string;
  body?: unknown;
}

/** A fetch that records each request and answers from a queue of `{status, body}`. */
function recordingFetch(responses: { status: number; body: unknown }[]): { fetch: typeof fetch; recorded: Recorded[] } {
  const recorded: Recorded[] = [];
  const queue = [...responses];
  const fake = ((input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    recorded.push({ method: init?.method ?? 'GET', path: `${url.pathname}${url.search}`, ...(typeof init?.body === 'string' ? { body: JSON.parse(init.body) as unknown } : {}) });
    const next = queue.shift();
    if (!next) return Promise.reject(new Error(`unexpected request ${init?.method} ${url.pathname}`));
    return Promise.resolve(new Response(JSON.stringify(next.body), { status: next.status, headers: { 'content-type': 'application/json' } }));
  }) as typeof fetch;
  return { fetch: fake, recorded };
}

const connector = (f: typeof fetch, overrides: Record<string, unknown> = {}) =>
  createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: BASE, token: 't', ...overrides }), { fetch: f });

function workOrder(id: number, businessKey: string): OutboxItem {
  return {
    id,
    destination: 'erp',
    operation: 'workorder.create',
    kind: 'fact',
    businessKey,
    erpAssetId: 'EQ-1',
    eventTime: Date.parse('2026-03-02T08:00:00.000Z'),
    payload: { erpAssetId: 'EQ-1', title: 'Engine hot' },
    idempotencyKey: `ab1-wo-${id}`,
    status: 'inflight',
    attempts: 0,
    createdAt: 0,
    enqueuedAt: 0,
    nextAttemptAt: 0,
  };
}

describe('find-before-create (ERP without idempotency support)', () => {
  // Kills: any listed work order taken as "already created", not only one with our externalKey.
  it('creates the work order when the lookup lists only other work orders (the ERP ignored the filter)', async () => {
    const key = 'EQ-1|engine-temp|2026-03-02T08:00:00.000Z';
    const others = { items: [{ id: 'WO-1', externalKey: 'EQ-1|engine-temp|2026-02-01T08:00:00.000Z', erpAssetId: 'EQ-1', status: 'completed' }, { id: 'WO-2', erpAssetId: 'EQ-1', status: 'open' }] };
    const { fetch, recorded } = recordingFetch([
      { status: 200, body: others },
      { status: 201, body: { id: 'WO-3', externalKey: key } },
    ]);
    const [result] = await connector(fetch, { idempotencySupported: false }).send([workOrder(1, key)], ctx);
    expect(recorded.map((r) => r.method)).toEqual(['GET', 'POST']);
    expect(recorded[1]?.body).toMatchObject({ externalKey: key });
    expect(result).toMatchObject({ ok: true, response: { id: 'WO-3' } });
  });
});

describe('batches', () => {
  // Kills: an item missing from the batch answer reported delivered.
  it('an item the batch response has no entry for is a retryable failure, the others keep their answers', async () => {
    const { fetch } = recordingFetch([{ status: 200, body: { responses: [{ id: '1', status: 201, body: { id: 'WO-1' } }] } }]);
    const results = await connector(fetch, { batch: { maxSize: 10 } }).send([workOrder(1, 'EQ-1|a|1'), workOrder(2, 'EQ-1|a|2')], ctx);
    expect(results[0]).toMatchObject({ id: 1, ok: true });
    const missing = results[1];
    expect(missing?.ok).toBe(false);
    expect(missing && !missing.ok && missing.error).toBeInstanceOf(RetryableError);
    expect(missing && !missing.ok && missing.error.message).toContain('no entry for request id 2');
  });

  // The batch went through (2xx): an item it does not answer for may have been applied all the
  // same, so a state update's key stays unsettled and dlq list says "maybe", not "no".
  it('an item without an entry, and every item of an answer that cannot be read, may have been applied: the outcome is unknown', async () => {
    const items = [workOrder(1, 'EQ-1|a|1'), workOrder(2, 'EQ-1|a|2')];
    const { fetch: noEntry } = recordingFetch([{ status: 200, body: { responses: [{ id: '1', status: 201, body: { id: 'WO-1' } }] } }]);
    const [, missing] = await connector(noEntry, { batch: { maxSize: 10 } }).send(items, ctx);
    expect(missing && !missing.ok && missing.error.outcomeUnknown).toBe(true);
    const { fetch: unreadable } = recordingFetch([{ status: 200, body: { results: 'done' } }]);
    const results = await connector(unreadable, { batch: { maxSize: 10 } }).send(items, ctx);
    expect(results.map((r) => !r.ok && r.error instanceof RetryableError && r.error.outcomeUnknown)).toEqual([true, true]);
  });
});
