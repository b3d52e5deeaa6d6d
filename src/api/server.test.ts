import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authorizeWebhook, createHttpApp } from './server.js';

describe('work-order webhook authorization', () => {
  const body = '{"workOrder":{}}';
  const signed = (key: string) => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
  const hook = { secret: 'shared-secret-0123456789', signatureHeader: 'X-Signature-256' };

  it('with a secret: the body signature, and nothing else', () => {
    expect(authorizeWebhook('erp', hook, 'intake-token', body, signed(hook.secret), undefined)).toBeUndefined();
    expect(authorizeWebhook('erp', hook, 'intake-token', body, signed('another-secret-entirely'), undefined)?.status).toBe(401);
    expect(authorizeWebhook('erp', hook, 'intake-token', `${body} `, signed(hook.secret), undefined)?.status).toBe(401); // body changed
    expect(authorizeWebhook('erp', hook, 'intake-token', body, undefined, 'Bearer intake-token')).toMatchObject({ status: 401, error: expect.stringContaining('X-Signature-256') as unknown });
  });

  it('without a secret: the intake bearer token', () => {
    const plain = { signatureHeader: 'X-Signature-256' };
    expect(authorizeWebhook('erp', plain, 'intake-token', body, undefined, 'Bearer intake-token')).toBeUndefined();
    expect(authorizeWebhook('erp', plain, 'intake-token', body, undefined, 'Bearer intake-tokeN')?.status).toBe(401);
    expect(authorizeWebhook('erp', plain, 'intake-token', body, undefined, undefined)?.status).toBe(401);
  });

  it('with neither, refuses and names the two config keys that turn it on', () => {
    const r = authorizeWebhook('erp', { signatureHeader: 'X-Signature-256' }, undefined, body, undefined, 'Bearer x');
    expect(r?.status).toBe(403);
    expect(r?.error).toContain('webhook.secret');
    expect(r?.error).toContain('sources.http.token');
  });
});

describe('GET /v1/status', () => {
  it('gives times as ISO 8601, as status --json does', async () => {
    const app = createHttpApp({ host: '127.0.0.1', port: 0, now: () => 0, sink: { submit: () => Promise.reject(new Error('not called')) }, status: { ready: () => true, status: () => Promise.resolve({ startedAt: Date.UTC(2026, 11, 1, 8), pid: 7 }), metrics: () => Promise.resolve('') } });
    const r = await app.request('/v1/status');
    expect(r.headers.get('content-type')).toContain('application/json');
    expect(await r.json()).toEqual({ startedAt: '2026-12-01T08:00:00.000Z', pid: 7 });
  });
});

describe('HTTP intake turned off', () => {
  it('answers a POST with what to set, not a bare 404', async () => {
    const app = createHttpApp({ host: '127.0.0.1', port: 0, now: () => 0, sink: { submit: () => Promise.reject(new Error('not called')) }, status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') } });
    const r = await app.request('/v1/events', { method: 'POST', body: '[]' });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: string }).error).toContain('sources.http.token');
  });
});

describe('HTTP intake under back-pressure', () => {
  it('refuses a POST with 503 and Retry-After while the backlog is at sources.http.maxBacklog, and takes it once below', async () => {
    let backlog = 50_000;
    const submitted: unknown[] = [];
    const app = createHttpApp({
      host: '127.0.0.1',
      port: 0,
      now: () => 0,
      intake: { token: 'intake-token-1', bodyLimitBytes: 1_048_576, maxEvents: 100, maxBacklog: 50_000 },
      sink: {
        backlog: () => backlog,
        submit: (m) => {
          submitted.push(...m);
          return Promise.resolve({ accepted: m.length, quarantined: [] });
        },
      },
      status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') },
    });
    const post = () => app.request('/v1/events', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1' }, body: JSON.stringify([{ kind: 'meter' }]) });
    const refused = await post();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('Retry-After')).toBe('1');
    expect(((await refused.json()) as { error: string }).error).toContain('sources.http.maxBacklog');
    expect(submitted).toEqual([]);
    backlog = 49_999;
    expect((await post()).status).toBe(202);
    expect(submitted).toHaveLength(1);
  });
});

/** An intake (token `intake-token-1`) whose sink refuses every submit with `error`. */
const intakeApp = (error: string | Error) =>
  createHttpApp({
    host: '127.0.0.1',
    port: 0,
    now: () => 0,
    intake: { token: 'intake-token-1', bodyLimitBytes: 1_048_576, maxEvents: 100, maxBacklog: 50_000 },
    sink: { submit: () => Promise.reject(typeof error === 'string' ? new Error(error) : error) },
    status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') },
  });

describe('HTTP intake authentication', () => {
  it('says what was wrong with the Authorization header and which key holds the token, never echoing it', async () => {
    const app = intakeApp('not called');
    const post = async (headers: Record<string, string>) => {
      const r = await app.request('/v1/events', { method: 'POST', headers, body: '[]' });
      return { status: r.status, body: await r.text() };
    };
    expect(await post({})).toEqual({ status: 401, body: JSON.stringify({ error: 'missing bearer token; send Authorization: Bearer <sources.http.token>' }) });
    expect(await post({ Authorization: 'Basic dXNlcjpwYXNz' })).toEqual({ status: 400, body: JSON.stringify({ error: 'malformed Authorization header; send Authorization: Bearer <sources.http.token>' }) });
    expect(await post({ Authorization: 'Bearer intake-token-2' })).toEqual({
      status: 401,
      body: JSON.stringify({ error: 'wrong bearer token; send Authorization: Bearer <sources.http.token> (the token in the service configuration)' }),
    });
  });
});

describe('HTTP intake when the events cannot be stored', () => {
  it('answers 503 with Retry-After and the reason (nothing of the POST was taken), not a bare 500', async () => {
    const app = intakeApp('database or disk is full');
    const r = await app.request('/v1/events', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1' }, body: JSON.stringify([{ kind: 'meter' }]) });
    expect(r.status).toBe(503);
    expect(r.headers.get('Retry-After')).toBe('5');
    const { error } = (await r.json()) as { error: string };
    expect(error).toContain('database or disk is full');
    expect(error).toContain('nothing of this POST was taken');
  });

  it.each([
    ['SQLITE_FULL', 'database or disk is full', 'the disk holding the store is full'],
    ['SQLITE_READONLY', 'attempt to write a readonly database', 'a directory this user can write to'],
    ['SQLITE_BUSY', 'database is locked', 'the store is locked by another process'],
  ])('gives the advice for the store error it carries (%s), as the CLI and the log do', async (code, message, advice) => {
    const app = intakeApp(Object.assign(new Error(message), { code }));
    const r = await app.request('/v1/events', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1' }, body: JSON.stringify([{ kind: 'meter' }]) });
    expect(r.status).toBe(503);
    expect(r.headers.get('Retry-After')).toBe('5');
    const { error } = (await r.json()) as { error: string };
    expect(error).toContain(`could not store the events (${message}; `);
    expect(error).toContain(advice);
    expect(error).toContain('nothing of this POST was taken');
  });
});
