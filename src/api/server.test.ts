import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/wait.js';
import type { RawMessage } from '../core/model/messages.js';
import type { IngestSink } from '../ports/source.js';
import { createCanonicalDecoder } from '../core/normalize/canonical-decoder.js';
import { parseWorkOrderWebhook } from '../adapters/erp/rest/rest-mapping.js';
import { authorizeWebhook, createHttpApp, startHttpServer, type HttpServerOptions, type RunningServer, type WebhookEndpoint } from './server.js';

/** An intake (token `intake-token-1`, 1 MiB, 100 events) whose sink is `submit`. */
const intakeWith = (submit: IngestSink['submit']) =>
  createHttpApp({
    host: '127.0.0.1',
    port: 0,
    now: () => 0,
    intake: { token: 'intake-token-1', bodyLimitBytes: 1_048_576, maxEvents: 100, maxBacklog: 50_000 },
    sink: { submit },
    status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') },
  });

/** An intake whose sink refuses every submit with `error`. */
const intakeApp = (error: string | Error) => intakeWith(() => Promise.reject(typeof error === 'string' ? new Error(error) : error));

/** Every pushed item read as the completion of work order 4711 of asset EQ-1, under `businessKey`. */
const completions = (businessKey: string) => (items: unknown) => (items as unknown[]).map(() => ({ businessKey, erpAssetId: 'EQ-1', erpWorkOrderId: '4711', status: 'completed' as const, changedAt: 0 }));

/**
 * An app with one work-order webhook, `hook`, for destination `erp` (or `options.destination`);
 * the rest from `options`, else: no intake, the clock at 0, a sink that takes every message.
 */
const webhookAppWith = (hook: WebhookEndpoint, options: Partial<Omit<HttpServerOptions, 'webhooks'>> & { readonly destination?: string } = {}) => {
  const { destination = 'erp', ...rest } = options;
  return createHttpApp({
    host: '127.0.0.1',
    port: 0,
    now: () => 0,
    sink: { submit: (m) => Promise.resolve({ accepted: m.length, quarantined: [] }) },
    status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') },
    ...rest,
    webhooks: new Map([[destination, hook]]),
  });
};

describe('work-order webhook authorization', () => {
  const body = '{"workOrder":{}}';
  const NOW = Date.UTC(2026, 5, 1, 12);
  const hmac = (key: string, content: string) => createHmac('sha256', key).update(content);
  const signed = (key: string) => `sha256=${hmac(key, body).digest('hex')}`;
  const hook = { secret: 'shared-secret-0123456789', signatureHeader: 'X-Signature-256' };
  /** A push with these headers (names in any case), received at `now`. */
  const req = (headers: Record<string, string | undefined>, now = NOW, content = body) => ({
    body: content,
    header: (name: string) => Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1],
    now,
  });
  const sig = (signature: string | undefined) => req({ 'X-Signature-256': signature });

  it('with a secret: the body signature, and nothing else', () => {
    expect(authorizeWebhook('erp', hook, 'intake-token', sig(signed(hook.secret)))).toBeUndefined();
    expect(authorizeWebhook('erp', hook, 'intake-token', sig(signed('another-secret-entirely')))?.status).toBe(401);
    expect(authorizeWebhook('erp', hook, 'intake-token', req({ 'X-Signature-256': signed(hook.secret) }, NOW, `${body} `))?.status).toBe(401); // body changed
    expect(authorizeWebhook('erp', hook, 'intake-token', req({ Authorization: 'Bearer intake-token' }))).toMatchObject({ status: 401, error: expect.stringContaining('missing X-Signature-256 header') as unknown });
  });

  it('takes the digest as hex in either case or base64 (standard or URL-safe, padded or not), with or without sha256=', () => {
    const digest = hmac(hook.secret, body).digest();
    const forms = [
      digest.toString('hex'),
      digest.toString('hex').toUpperCase(),
      `sha256=${digest.toString('hex')}`,
      `SHA256=${digest.toString('hex')}`,
      digest.toString('base64'),
      `sha256=${digest.toString('base64')}`,
      digest.toString('base64url'),
      digest.toString('base64').replace(/=+$/, ''),
      ` sha256=${digest.toString('base64')} `,
    ];
    // The URL-safe form differs from the standard one only when the digest has + or /: make sure one does.
    expect(forms[6]).not.toBe(forms[7]);
    for (const form of forms) expect(authorizeWebhook('erp', hook, undefined, sig(form)), form).toBeUndefined();
    const other = hmac('another-secret-entirely', body).digest();
    for (const form of [other.toString('hex'), other.toString('base64'), `sha256=${other.toString('base64url')}`])
      expect(authorizeWebhook('erp', hook, undefined, sig(form)), form).toMatchObject({ status: 401, error: expect.stringContaining('wrong signature in X-Signature-256') as unknown });
  });

  it('refuses a header that holds no SHA-256 digest, saying which forms are read', () => {
    const hex = hmac(hook.secret, body).digest('hex');
    for (const bad of [`sha1=${hex}`, hex.slice(0, 62), `${hex}00`, 'sha256=', `v1,${hmac(hook.secret, body).digest('base64')}`, createHmac('sha512', hook.secret).update(body).digest('base64')]) {
      const r = authorizeWebhook('erp', hook, undefined, sig(bad));
      expect(r?.status, bad).toBe(401);
      expect(r?.error, bad).toMatch(/holds no HMAC-SHA256 digest|missing X-Signature-256/);
    }
    expect(authorizeWebhook('erp', hook, undefined, sig(`sha1=${hex}`))?.error).toContain('as 64 hex digits or base64, optionally prefixed sha256=');
  });

  it('during a change of secret, the previous one is taken beside the new one; any other is not', () => {
    const rotating = { ...hook, previousSecret: 'the-old-secret-0123456789', configKey: 'destinations.0.webhook' };
    expect(authorizeWebhook('erp', rotating, undefined, sig(signed(rotating.secret)))).toBeUndefined();
    expect(authorizeWebhook('erp', rotating, undefined, sig(signed(rotating.previousSecret)))).toBeUndefined();
    const wrong = authorizeWebhook('erp', rotating, undefined, sig(signed('another-secret-entirely')));
    expect(wrong?.status).toBe(401);
    expect(wrong?.error).toContain('keyed with destinations.0.webhook.secret (or destinations.0.webhook.previousSecret) of destination "erp"');
    // Without previousSecret, the old one is refused.
    expect(authorizeWebhook('erp', hook, undefined, sig(signed(rotating.previousSecret)))?.status).toBe(401);
  });

  describe('timestamped (timestampHeader): the signature covers "<timestamp>.<body>", dated within toleranceMs', () => {
    const timed = { ...hook, timestampHeader: 'X-Signature-Timestamp', toleranceMs: 300_000, configKey: 'destinations.0.webhook' };
    const at = (ms: number) => String(Math.floor(ms / 1000));
    /** A push signed at `signedAt` (its timestamp), received at `now`. */
    const push = (signedAt: number, now = NOW, key = hook.secret) =>
      req({ 'X-Signature-256': `sha256=${hmac(key, `${at(signedAt)}.${body}`).digest('hex')}`, 'X-Signature-Timestamp': at(signedAt) }, now);

    it('takes a push dated within the tolerance either way, in any digest form', () => {
      for (const skew of [0, -299_000, 299_000]) expect(authorizeWebhook('erp', timed, undefined, push(NOW + skew)), String(skew)).toBeUndefined();
      const b64 = hmac(hook.secret, `${at(NOW)}.${body}`).digest('base64');
      expect(authorizeWebhook('erp', timed, undefined, req({ 'X-Signature-256': b64, 'X-Signature-Timestamp': at(NOW) }))).toBeUndefined();
    });

    it('refuses a stale push (a replay) and one dated ahead, naming toleranceMs and what to check', () => {
      const stale = authorizeWebhook('erp', timed, undefined, push(NOW - 301_000));
      expect(stale?.status).toBe(401);
      expect(stale?.error).toBe(
        "push refused as a possible replay: its X-Signature-Timestamp is 301s old, more than destinations.0.webhook.toleranceMs (5m) allows; a genuine push this old means the ERP's or this host's clock is off, or the ERP resent it without signing it afresh (or raise destinations.0.webhook.toleranceMs)",
      );
      const ahead = authorizeWebhook('erp', timed, undefined, push(NOW + 3_600_000));
      expect(ahead?.status).toBe(401);
      expect(ahead?.error).toBe(
        "push refused: its X-Signature-Timestamp is 1h ahead of this host's clock, more than destinations.0.webhook.toleranceMs (5m) allows; check the clocks of the ERP and this host (or raise destinations.0.webhook.toleranceMs)",
      );
    });

    it('a captured push replayed: taken again within the window (the same completion, which changes nothing), refused once outside it', () => {
      const captured = push(NOW);
      expect(authorizeWebhook('erp', timed, undefined, captured)).toBeUndefined();
      expect(authorizeWebhook('erp', timed, undefined, { ...captured, now: NOW + 299_000 })).toBeUndefined();
      expect(authorizeWebhook('erp', timed, undefined, { ...captured, now: NOW + 301_000 })?.error).toContain('possible replay');
      expect(authorizeWebhook('erp', timed, undefined, { ...captured, now: NOW + 86_400_000 })?.error).toContain('possible replay');
    });

    it('a fresh timestamp put on an old push breaks its signature', () => {
      const old = push(NOW - 3_600_000);
      const restamped = { ...old, header: (name: string) => (name === 'X-Signature-Timestamp' ? at(NOW) : old.header(name)) };
      expect(authorizeWebhook('erp', timed, undefined, restamped)?.error).toContain('wrong signature in X-Signature-256: it is not the HMAC-SHA256 of "<X-Signature-Timestamp>.<body>"');
    });

    it('refuses a push without the timestamp, with one not in seconds, or signed over the body alone', () => {
      const missing = authorizeWebhook('erp', timed, undefined, sig(signed(hook.secret)));
      expect(missing?.status).toBe(401);
      expect(missing?.error).toBe('missing X-Signature-Timestamp header: pushes to destination "erp" are timestamped (destinations.0.webhook.timestampHeader): send the Unix time in seconds there, and sign "<timestamp>.<body>"');
      const ms = authorizeWebhook('erp', timed, undefined, req({ 'X-Signature-256': signed(hook.secret), 'X-Signature-Timestamp': String(NOW) }));
      expect(ms?.error).toContain('is not a Unix time in seconds (it reads as milliseconds: send seconds)');
      expect(authorizeWebhook('erp', timed, undefined, req({ 'X-Signature-256': signed(hook.secret), 'X-Signature-Timestamp': new Date(NOW).toISOString() }))?.error).toContain('is not a Unix time in seconds (destinations.0.webhook.timestampHeader');
      expect(authorizeWebhook('erp', timed, undefined, req({ 'X-Signature-256': signed(hook.secret), 'X-Signature-Timestamp': at(NOW) }))?.error).toContain('wrong signature');
    });

    it("quotes back a bad timestamp's printable ASCII only, at most 24 characters", () => {
      const sent = `\u001b[31m17\u0007\u202eZ${'9'.repeat(60)}`;
      const bad = authorizeWebhook('erp', timed, undefined, req({ 'X-Signature-256': signed(hook.secret), 'X-Signature-Timestamp': sent }));
      expect(bad?.error).toBe('X-Signature-Timestamp header "?[31m17??Z99999999999999…" is not a Unix time in seconds (destinations.0.webhook.timestampHeader of destination "erp")');
    });

    it('without timestampHeader (configs from before it), no time is checked: a timestamp header is ignored', () => {
      expect(authorizeWebhook('erp', hook, undefined, req({ 'X-Signature-256': signed(hook.secret), 'X-Signature-Timestamp': '1' }, NOW + 10 * 365 * 86_400_000))).toBeUndefined();
    });
  });

  it('without a secret: the intake bearer token', () => {
    const plain = { signatureHeader: 'X-Signature-256' };
    expect(authorizeWebhook('erp', plain, 'intake-token', req({ Authorization: 'Bearer intake-token' }))).toBeUndefined();
    expect(authorizeWebhook('erp', plain, 'intake-token', req({ Authorization: 'Bearer intake-tokeN' }))?.status).toBe(401);
    expect(authorizeWebhook('erp', plain, 'intake-token', req({}))?.status).toBe(401);
  });

  it('challenges a 401 with WWW-Authenticate: Bearer (RFC 6750) for the token, HMAC-SHA256 naming the signature and timestamp headers for a signed push', () => {
    const plain = { signatureHeader: 'X-Signature-256' };
    expect(authorizeWebhook('erp', plain, 'intake-token', req({}))?.challenge).toBe('Bearer realm=""');
    expect(authorizeWebhook('erp', plain, 'intake-token', req({ Authorization: 'Bearer intake-tokeN' }))?.challenge).toBe('Bearer error="invalid_token"');
    expect(authorizeWebhook('erp', hook, 'intake-token', sig(undefined))?.challenge).toBe('HMAC-SHA256 header="X-Signature-256"');
    const timed = { ...hook, timestampHeader: 'X-Signature-Timestamp' };
    expect(authorizeWebhook('erp', timed, undefined, sig(signed(hook.secret)))?.challenge).toBe('HMAC-SHA256 header="X-Signature-256", timestamp="X-Signature-Timestamp"');
    // A configured name no request could carry is left out, not written into the header.
    expect(authorizeWebhook('erp', { ...hook, signatureHeader: 'X Signature' }, undefined, sig(undefined))?.challenge).toBe('HMAC-SHA256');
    // A 403 (webhooks off) is no challenge: no credential would be taken.
    expect(authorizeWebhook('erp', plain, undefined, req({}))?.challenge).toBeUndefined();
  });

  it('with neither, refuses and names the two config keys that turn it on', () => {
    const r = authorizeWebhook('erp', { signatureHeader: 'X-Signature-256' }, undefined, req({ Authorization: 'Bearer x' }));
    expect(r?.status).toBe(403);
    expect(r?.error).toContain('webhook.secret');
    expect(r?.error).toContain('sources.http.token');
  });
});

describe('signed work-order webhooks', () => {
  const secret = 'shared-secret-0123456789';
  const app = () => webhookAppWith({ secret, signatureHeader: 'X-Signature-256', parse: completions('EQ-1|svc|250h@b0') });
  const push = (bytes: Buffer, signature: string) =>
    app().request('/v1/webhooks/erp/work-orders', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Signature-256': signature }, body: bytes });
  const json = Buffer.from('{"workOrder":{"id":"4711","status":"completed"}}');

  it('checks the signature over the bytes as sent: a body with a byte order mark (.NET senders) is taken', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json]);
    const r = await push(bytes, `sha256=${createHmac('sha256', secret).update(bytes).digest('hex')}`);
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ accepted: 1 });
  });

  it('takes the signature with its hex digits in upper case', async () => {
    const r = await push(json, `sha256=${createHmac('sha256', secret).update(json).digest('hex').toUpperCase()}`);
    expect(r.status).toBe(202);
  });
});

describe('timestamped work-order webhooks over HTTP', () => {
  const secret = 'shared-secret-0123456789';
  const previousSecret = 'the-old-secret-0123456789';
  const NOW = Date.UTC(2026, 5, 1, 12);
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  let now = NOW;
  const app = webhookAppWith(
    {
      secret,
      previousSecret,
      signatureHeader: 'X-Signature-256',
      timestampHeader: 'X-Signature-Timestamp',
      toleranceMs: 300_000,
      configKey: 'destinations.0.webhook',
      parse: completions('EQ-1|svc|250h@b0'),
    },
    { now: () => now, logger: { warn: (fields, message) => warnings.push({ fields, message }) } },
  );
  const json = '{"workOrder":{"id":"4711","status":"completed"}}';
  const stamp = String(NOW / 1000);
  const digest = (key: string) => createHmac('sha256', key).update(`${stamp}.${json}`).digest();
  const push = (signature: string) =>
    app.request('/v1/webhooks/erp/work-orders', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Signature-256': signature, 'X-Signature-Timestamp': stamp }, body: json });
  afterEach(() => {
    warnings.length = 0;
    now = NOW;
  });

  it('takes a fresh push signed with either secret; refuses it replayed outside the window with 401 and a warning naming the key', async () => {
    expect((await push(digest(secret).toString('base64'))).status).toBe(202);
    expect((await push(`sha256=${digest(previousSecret).toString('hex')}`)).status).toBe(202);
    expect(warnings).toEqual([]);
    now = NOW + 301_000;
    const replayed = await push(digest(secret).toString('base64'));
    expect(replayed.status).toBe(401);
    expect(replayed.headers.get('www-authenticate')).toBe('HMAC-SHA256 header="X-Signature-256", timestamp="X-Signature-Timestamp"');
    const { error } = (await replayed.json()) as { error: string };
    expect(error).toContain('push refused as a possible replay: its X-Signature-Timestamp is 301s old, more than destinations.0.webhook.toleranceMs (5m) allows');
    expect(warnings).toEqual([{ fields: { destination: 'erp', status: 401, reason: error }, message: 'work-order push to /v1/webhooks/erp/work-orders refused' }]);
  });

  it('never puts a secret or the signature it expected in the answer or the log', async () => {
    const answers: string[] = [];
    for (const [at, signature] of [
      [NOW, 'sha256=00'],
      [NOW, digest('another-secret-entirely').toString('hex')],
      [NOW + 3_600_000, digest(secret).toString('hex')],
      [NOW - 3_600_000, digest(previousSecret).toString('base64')],
    ] as const) {
      now = at;
      const r = await push(signature);
      expect(r.status).toBe(401);
      answers.push(await r.text());
    }
    expect(warnings).toHaveLength(4);
    const seen = [...answers, JSON.stringify(warnings)].join('\n');
    for (const leak of [secret, previousSecret, ...[secret, previousSecret].flatMap((k) => [digest(k).toString('hex'), digest(k).toString('base64'), createHmac('sha256', k).update(json).digest('hex')])])
      expect(seen).not.toContain(leak);
    expect(seen).toContain('destinations.0.webhook.secret');
  });
});

describe('refused work-order pushes in the log', () => {
  it('logs each kind of refusal of a destination once a minute, with how many more were refused since, so unsigned pushes cannot flood the log', async () => {
    const secret = 'shared-secret-0123456789';
    const warnings: { fields: Record<string, unknown>; message: string }[] = [];
    let now = 0;
    const app = webhookAppWith(
      { secret, signatureHeader: 'X-Signature-256', configKey: 'destinations.0.webhook', parse: () => [] },
      { now: () => now, logger: { warn: (fields, message) => warnings.push({ fields, message }) } },
    );
    const push = (headers: Record<string, string>) => app.request('/v1/webhooks/erp/work-orders', { method: 'POST', headers, body: '[]' });
    const wrong = { 'X-Signature-256': createHmac('sha256', 'another-secret-entirely').update('[]').digest('hex') };
    for (let i = 0; i < 20; i++) expect((await push(wrong)).status).toBe(401);
    // Another reason is told at once: it may be the one the operator is after.
    expect((await push({})).status).toBe(401);
    expect(warnings.map((w) => w.fields.reason)).toEqual([expect.stringContaining('wrong signature') as unknown, expect.stringContaining('missing X-Signature-256 header') as unknown]);
    now = 30_000;
    await push(wrong);
    expect(warnings).toHaveLength(2);
    now = 60_000;
    await push(wrong);
    expect(warnings[2]?.fields).toMatchObject({ destination: 'erp', status: 401, notLogged: 20, since: '1970-01-01T00:00:00.000Z' });
    expect(warnings[2]?.message).toBe('work-order push to /v1/webhooks/erp/work-orders refused (20 more like it since 1970-01-01T00:00:00.000Z, not logged one by one)');
    // A clock set back does not hold the lines back until it catches up.
    now = 1_000;
    await push(wrong);
    expect(warnings).toHaveLength(4);
    // /metrics counts each one.
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toContain('assetbridge_webhook_pushes_refused_total{destination="erp",reason="mismatch"} 23\n');
    expect(metrics).toContain('assetbridge_webhook_pushes_refused_total{destination="erp",reason="no-signature"} 1\n');
  });
});

describe('refused requests in the log, with the client that sent them', () => {
  const servers: RunningServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close(0);
  });

  it("names the client's address (its socket's, not X-Forwarded-For, which no proxy setting says to trust) for a wrong intake token, an unknown webhook path and a refused push", async () => {
    const warnings: { fields: Record<string, unknown>; message: string }[] = [];
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      now: () => 0,
      intake: { token: 'intake-token-1', bodyLimitBytes: 1_048_576, maxEvents: 100 },
      logger: { warn: (fields, message) => warnings.push({ fields, message }) },
      sink: { submit: () => Promise.reject(new Error('not called')) },
      webhooks: new Map([['erp', { secret: 'shared-secret-0123456789', signatureHeader: 'X-Signature-256', parse: () => [] }]]),
      status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') },
    });
    servers.push(server);
    const forged = { 'X-Forwarded-For': '203.0.113.9' };
    expect((await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { ...forged, Authorization: 'Bearer stale-token-0815' }, body: '[]' })).status).toBe(401);
    expect((await fetch(`${server.url}/v1/webhooks/sap/work-orders`, { method: 'POST', headers: forged, body: '[]' })).status).toBe(404);
    expect((await fetch(`${server.url}/v1/webhooks/erp/work-orders`, { method: 'POST', headers: forged, body: '[]' })).status).toBe(401);
    expect(warnings.map((w) => [w.message, w.fields.client])).toEqual([
      ['event POST to /v1/events refused', '127.0.0.1'],
      ['work-order push to /v1/webhooks/sap/work-orders refused: no destination of that name takes work-order pushes', '127.0.0.1'],
      ['work-order push to /v1/webhooks/erp/work-orders refused', '127.0.0.1'],
    ]);
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

describe('GET /readyz', () => {
  it('says why it is not ready, so a 503 from a probe can be read without the log', async () => {
    let ready = false;
    const app = createHttpApp({ host: '127.0.0.1', port: 0, now: () => 0, sink: { submit: () => Promise.reject(new Error('not called')) }, status: { ready: () => ready, notReadyBecause: () => 'starting: connecting source mqtt:yard to its broker', status: () => Promise.resolve({}), metrics: () => Promise.resolve('') } });
    const r = await app.request('/readyz');
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({ ready: false, reason: 'starting: connecting source mqtt:yard to its broker' });
    ready = true;
    expect(await (await app.request('/readyz')).json()).toEqual({ ready: true });
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

describe('a route asked with another method', () => {
  it('answers 405 with the method it takes (Allow), not 404 as if there were no such route; an unknown path stays 404', async () => {
    const app = createHttpApp({ host: '127.0.0.1', port: 0, now: () => 0, sink: { submit: () => Promise.reject(new Error('not called')) }, status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') } });
    for (const [method, path, allow] of [
      ['GET', '/v1/events', 'POST'],
      ['PUT', '/v1/webhooks/erp/work-orders', 'POST'],
      ['POST', '/v1/status', 'GET, HEAD'],
      ['DELETE', '/metrics', 'GET, HEAD'],
    ] as const) {
      const r = await app.request(path, { method });
      expect([method, path, r.status, r.headers.get('allow')]).toEqual([method, path, 405, allow]);
      expect(((await r.json()) as { error: string }).error).toBe(`${method} is not answered at ${path}; use ${allow}`);
    }
    // OPTIONS is answered with what the route takes (OPTIONS included), not refused.
    for (const [path, allow] of [
      ['/v1/events', 'POST, OPTIONS'],
      ['/readyz', 'GET, HEAD, OPTIONS'],
    ] as const) {
      const r = await app.request(path, { method: 'OPTIONS' });
      expect([path, r.status, r.headers.get('allow')]).toEqual([path, 204, allow]);
    }
    expect((await app.request('/v1/event', { method: 'OPTIONS' })).status).toBe(404);
    const unknown = await app.request('/v1/event', { method: 'POST', body: '[]' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toBe('no route POST /v1/event');
  });

  it('answers a path with a trailing slash (POST /v1/events/) with the path without it', async () => {
    const app = intakeApp('not called');
    for (const [method, path, without] of [
      ['POST', '/v1/events/', '/v1/events'],
      ['GET', '/metrics/', '/metrics'],
      ['POST', '/v1/webhooks/erp/work-orders//', '/v1/webhooks/erp/work-orders'],
    ] as const) {
      const r = await app.request(path, { method, body: method === 'POST' ? '[]' : null });
      expect(r.status).toBe(404);
      expect(((await r.json()) as { error: string }).error).toBe(`no route ${method} ${path}; use ${without} (without the trailing slash)`);
    }
    // No route there without the slash either: nothing suggested.
    expect(((await (await app.request('/v1/event/', { method: 'POST', body: '[]' })).json()) as { error: string }).error).toBe('no route POST /v1/event/');
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

describe('HTTP intake under concurrent back-pressure', () => {
  /** A served intake (maxBacklog 10) whose store has stopped: what is submitted stays in the backlog. */
  const stalled = async () => {
    const sink = { backlog: 0, checks: 0 };
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      now: () => 0,
      intake: { token: 'intake-token-1', bodyLimitBytes: 1_048_576, maxEvents: 100, maxBacklog: 10 },
      sink: {
        backlog: () => (sink.checks++, sink.backlog),
        submit: (m) => {
          sink.backlog += m.length;
          return Promise.resolve({ accepted: m.length, quarantined: [] });
        },
      },
      status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') },
      webhooks: new Map([['erp', { signatureHeader: 'x-signature', parse: completions('EQ-1|service-250h|250h@b0') }]]),
    });
    servers.push(server);
    return { server, sink };
  };
  const body = JSON.stringify([{ kind: 'meter' }]);
  /** A POST whose headers are sent now and body when the test says: its status, or the error that cut it. */
  const slowPost = (url: string, length = body.length, path = '/v1/events') => {
    const req = httpRequest(`${url}${path}`, { method: 'POST', headers: { Authorization: 'Bearer intake-token-1', 'Content-Length': String(length) } });
    const answer = new Promise<number | string>((resolve) => {
      req.on('response', (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', (err) => resolve(err.message));
    });
    req.flushHeaders();
    return { req, answer };
  };
  const servers: RunningServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close(0);
  });

  it('takes no more than sources.http.maxBacklog from POSTs whose bodies are read together: the rest get 503 and Retry-After', async () => {
    const { server, sink } = await stalled();
    const posts = Array.from({ length: 25 }, () => slowPost(server.url));
    // Every POST has been looked at before any body arrives.
    await waitFor(() => sink.checks >= 25, 'all 25 POSTs checked against the backlog');
    for (const p of posts) p.req.end(body);
    const statuses = await Promise.all(posts.map((p) => p.answer));
    expect(statuses.filter((s) => s === 202)).toHaveLength(10);
    expect(statuses.filter((s) => s === 503)).toHaveLength(15);
    expect(sink.backlog).toBe(10);
    const refused = await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { Authorization: 'Bearer intake-token-1' }, body });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('Retry-After')).toBe('1');
  });

  it('gives back the place of a POST whose body never came whole (the sender went away)', async () => {
    const { server, sink } = await stalled();
    const cut = Array.from({ length: 10 }, () => slowPost(server.url, 1000));
    await waitFor(() => sink.checks >= 10, 'the 10 POSTs checked against the backlog');
    for (const p of cut) {
      p.req.write(body);
      p.req.destroy();
    }
    await Promise.all(cut.map((p) => p.answer));
    await waitFor(async () => (await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { Authorization: 'Bearer intake-token-1' }, body })).status === 202, 'a whole POST taken again');
    expect(sink.backlog).toBe(1);
  });

  it('answers the POSTs beyond sources.http.maxBacklog at once, before their bodies are read', async () => {
    const { server, sink } = await stalled();
    const posts = Array.from({ length: 12 }, () => slowPost(server.url));
    await waitFor(() => sink.checks >= 12, 'all 12 POSTs checked against the backlog');
    // No body has been sent: 10 POSTs hold a place each, the other 2 are refused now.
    const answered: (number | string)[] = [];
    for (const p of posts) void p.answer.then((s) => answered.push(s));
    await waitFor(() => answered.length >= 2, 'the 2 POSTs beyond the backlog answered');
    expect(answered).toEqual([503, 503]);
    for (const p of posts) p.req.end(body);
    const statuses = await Promise.all(posts.map((p) => p.answer));
    expect(statuses.filter((s) => s === 202)).toHaveLength(10);
    expect(sink.backlog).toBe(10);
  });

  it('counts work-order pushes being read as POSTs are: pushes read together take no more than sources.http.maxBacklog', async () => {
    const { server, sink } = await stalled();
    const pushes = Array.from({ length: 25 }, () => slowPost(server.url, body.length, '/v1/webhooks/erp/work-orders'));
    await waitFor(() => sink.checks >= 25, 'all 25 pushes checked against the backlog');
    for (const p of pushes) p.req.end(body);
    const statuses = await Promise.all(pushes.map((p) => p.answer));
    expect(statuses.filter((s) => s === 202)).toHaveLength(10);
    expect(statuses.filter((s) => s === 503)).toHaveLength(15);
    expect(sink.backlog).toBe(10);
  });

  it('counts pushes being read against POSTs, and POSTs being read against pushes', async () => {
    const { server, sink } = await stalled();
    const pushes = Array.from({ length: 6 }, () => slowPost(server.url, body.length, '/v1/webhooks/erp/work-orders'));
    await waitFor(() => sink.checks >= 6, 'the 6 pushes checked against the backlog');
    const posts = Array.from({ length: 6 }, () => slowPost(server.url));
    await waitFor(() => sink.checks >= 12, 'the 6 POSTs checked against the backlog');
    for (const p of [...pushes, ...posts]) p.req.end(body);
    const statuses = await Promise.all([...pushes, ...posts].map((p) => p.answer));
    expect(statuses.filter((s) => s === 202)).toHaveLength(10);
    expect(statuses.slice(0, 6)).toEqual([202, 202, 202, 202, 202, 202]);
    expect(sink.backlog).toBe(10);
  });

  it('checks the backlog again once the bodies are read: POSTs of several events each take no more than sources.http.maxBacklog', async () => {
    const { server, sink } = await stalled();
    const five = JSON.stringify(Array.from({ length: 5 }, () => ({ kind: 'meter' })));
    const posts = Array.from({ length: 5 }, () => slowPost(server.url, five.length));
    await waitFor(() => sink.checks >= 5, 'the 5 POSTs checked against the backlog');
    for (const p of posts) p.req.end(five);
    const statuses = await Promise.all(posts.map((p) => p.answer));
    expect(statuses.filter((s) => s === 202)).toHaveLength(2);
    expect(statuses.filter((s) => s === 503)).toHaveLength(3);
    expect(sink.backlog).toBe(10);
  });
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

describe('HTTP intake POSTs refused for their token, in the log and /metrics', () => {
  it('logs each reason once a minute, with how many more were refused since, never the token sent; /metrics counts every one', async () => {
    const warnings: { fields: Record<string, unknown>; message: string }[] = [];
    let now = 0;
    const app = createHttpApp({
      host: '127.0.0.1',
      port: 0,
      now: () => now,
      intake: { token: 'intake-token-1', bodyLimitBytes: 1_048_576, maxEvents: 100 },
      logger: { warn: (fields, message) => warnings.push({ fields, message }) },
      sink: { submit: () => Promise.reject(new Error('not called')) },
      status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') },
    });
    const post = (headers: Record<string, string>) => app.request('/v1/events', { method: 'POST', headers, body: '[]' });
    const wrong = { Authorization: 'Bearer stale-token-0815' };
    for (let i = 0; i < 5; i++) expect((await post(wrong)).status).toBe(401);
    expect(warnings).toEqual([
      { fields: { status: 401, reason: 'wrong bearer token; send Authorization: Bearer <sources.http.token> (the token in the service configuration)' }, message: 'event POST to /v1/events refused' },
    ]);
    // Another reason is told at once.
    expect((await post({})).status).toBe(401);
    expect((await post({ Authorization: 'Basic dXNlcjpwYXNz' })).status).toBe(400);
    expect(warnings.map((w) => w.fields.reason)).toEqual([
      expect.stringContaining('wrong bearer token') as unknown,
      expect.stringContaining('missing bearer token') as unknown,
      expect.stringContaining('malformed Authorization header') as unknown,
    ]);
    now = 60_000;
    await post(wrong);
    expect(warnings[3]).toEqual({
      fields: { status: 401, reason: expect.stringContaining('wrong bearer token') as unknown, notLogged: 4, since: '1970-01-01T00:00:00.000Z' },
      message: 'event POST to /v1/events refused (4 more like it since 1970-01-01T00:00:00.000Z, not logged one by one)',
    });
    expect(JSON.stringify(warnings)).not.toContain('stale-token');
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toContain('assetbridge_intake_posts_refused_total{reason="wrong-token"} 6\n');
    expect(metrics).toContain('assetbridge_intake_posts_refused_total{reason="no-token"} 1\n');
    expect(metrics).toContain('assetbridge_intake_posts_refused_total{reason="malformed"} 1\n');
  });
});

describe('HTTP intake with a token of any characters', () => {
  it('takes the configured token as sent, also one with characters RFC 6750 does not list (! # $ @ %), at the intake as at the webhook', async () => {
    const token = 'Zx9!k#Qm$2@pL%8&';
    const submitted: RawMessage[][] = [];
    const app = createHttpApp({
      host: '127.0.0.1',
      port: 0,
      now: () => 0,
      intake: { token, bodyLimitBytes: 1_048_576, maxEvents: 100 },
      sink: { submit: (m) => (submitted.push([...m]), Promise.resolve({ accepted: m.length, quarantined: [] })) },
      status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') },
    });
    const post = (authorization: string) => app.request('/v1/events', { method: 'POST', headers: { Authorization: authorization }, body: JSON.stringify([{ kind: 'meter' }]) });
    const r = await post(`Bearer ${token}`);
    expect([r.status, await r.json()]).toEqual([202, { accepted: 1 }]);
    expect(submitted).toHaveLength(1);
    // Still refused: another token (401, never echoed), no Bearer credential (400), none at all (401).
    const wrong = await post('Bearer Zx9!k#Qm$2@pL%8*');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(await wrong.text()).not.toContain('Zx9');
    expect((await post('Bearer ')).status).toBe(400);
    expect((await app.request('/v1/events', { method: 'POST', body: '[]' })).status).toBe(401);
    expect(submitted).toHaveLength(1);
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
    ['SQLITE_FULL', 'database or disk is full', 'the disk holding the store (store.path) is full'],
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

describe('ERP work-order webhooks when the updates cannot be stored', () => {
  /** A webhook for destination `erp` (bearer `intake-token-1`) reading every item as one completion. */
  const intake = { token: 'intake-token-1', bodyLimitBytes: 1_048_576, maxEvents: 100, maxBacklog: 10 };
  const hookApp = (sink: IngestSink) => webhookAppWith({ signatureHeader: 'x-signature', parse: completions('wo-1') }, { intake, sink });
  const push = (app: ReturnType<typeof hookApp>, body: string) => app.request('/v1/webhooks/erp/work-orders', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1' }, body });

  it.each([
    ['an update', JSON.stringify([{ id: 1 }])],
    ['a body that is no JSON (kept in quarantine)', '{not json'],
  ])('answers 503 with Retry-After and the store advice when %s cannot be stored, so the ERP pushes it again', async (_what, body) => {
    const r = await push(hookApp({ submit: () => Promise.reject(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })) }), body);
    expect(r.status).toBe(503);
    expect(r.headers.get('Retry-After')).toBe('5');
    const { error } = (await r.json()) as { error: string };
    expect(error).toContain('could not store the events (database or disk is full; ');
    expect(error).toContain('the disk holding the store (store.path) is full');
    // The ERP's delivery log reads it: a push, not a POST of events.
    expect(error).toMatch(/; nothing of this push was taken, retry later$/);
  });

  it('answers a completion whose key names no work order a rule opens (EQ-1|service-250h|garbage) as ignored, with why, and does not take it; ours it takes', async () => {
    const submitted: RawMessage[] = [];
    const keys = ['EQ-1|service-250h|garbage', 'EQ-1|service-250h|250h@b0'];
    const app = webhookAppWith(
      { signatureHeader: 'x-signature', parse: (items) => (items as { i: number }[]).map(({ i }) => ({ businessKey: keys[i] as string, erpAssetId: 'EQ-1', erpWorkOrderId: '4711', status: 'completed' as const, changedAt: 0 })) },
      { intake, sink: { submit: (m) => (submitted.push(...m), Promise.resolve({ accepted: m.length, quarantined: [] })) } },
    );
    const r = await push(app, JSON.stringify([{ i: 0 }, { i: 1 }]));
    expect(r.status).toBe(202);
    const answer = (await r.json()) as { accepted: number; ignored: { index: number; reason: string }[] };
    expect(answer.accepted).toBe(1);
    expect(answer.ignored).toHaveLength(1);
    expect(answer.ignored[0]?.index).toBe(0);
    expect(answer.ignored[0]?.reason).toContain('work order EQ-1|service-250h|garbage: its occurrence "garbage" is none assetbridge makes');
    expect(submitted.map((m) => (JSON.parse(m.payload as string) as { businessKey: string }).businessKey)).toEqual(['EQ-1|service-250h|250h@b0']);
  });

  it('answers an update of a work order opened at another destination as ignored, naming both, and does not take it; those opened here or not known it takes, with the destination in their source', async () => {
    const submitted: RawMessage[] = [];
    const keys = ['EQ-1|service-250h|250h@b0', 'EQ-1|service-250h|500h@b250', 'EQ-1|service-250h|750h@b500'];
    const opened = new Map([[keys[0] as string, 'erp'], [keys[1] as string, 'erp2']]);
    const asked: string[][] = [];
    const app = webhookAppWith(
      { signatureHeader: 'x-signature', parse: (items) => (items as { i: number }[]).map(({ i }) => ({ businessKey: keys[i] as string, erpAssetId: 'EQ-1', erpWorkOrderId: '4711', status: 'completed' as const, changedAt: 0 })) },
      { intake, destination: 'erp2', openedAt: (k) => (asked.push([...k]), Promise.resolve(opened)), sink: { submit: (m) => (submitted.push(...m), Promise.resolve({ accepted: m.length, quarantined: [] })) } },
    );
    const r = await app.request('/v1/webhooks/erp2/work-orders', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1' }, body: JSON.stringify([{ i: 0 }, { i: 1 }, { i: 2 }]) });
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({
      accepted: 2,
      ignored: [{ index: 0, reason: 'work order EQ-1|service-250h|250h@b0: it was opened at destination "erp", and an update from destination "erp2" does not change it (only updates from "erp", pushed to /v1/webhooks/erp/work-orders or polled from it, do)' }],
    });
    expect(asked).toEqual([keys]);
    expect(submitted.map((m) => [m.source, (JSON.parse(m.payload as string) as { businessKey: string }).businessKey])).toEqual([
      ['erp-feedback:erp2', keys[1]],
      ['erp-feedback:erp2', keys[2]],
    ]);
    // Where the outbox says it was opened goes with the event, for the rule to hold it to (the asset's deliveries may go elsewhere since); none where the outbox holds none.
    expect(submitted.map((m) => (JSON.parse(m.payload as string) as { openedAtDestination?: string }).openedAtDestination)).toEqual(['erp2', undefined]);
  });

  it('logs the updates it ignores as of a work order opened at another destination, as a poll does: once a minute per destination, with how many more since; not those it takes, nor a push it could not store', async () => {
    // Mutation: ignored updates said only in the answer (the operator never sees an ERP closing another's work orders); or logged once per push (a flood).
    const warnings: { fields: Record<string, unknown>; message: string }[] = [];
    let now = 0;
    const keys = ['EQ-1|service-250h|250h@b0', 'EQ-1|service-250h|500h@b250'];
    const opened = new Map([[keys[0] as string, 'erp']]);
    let store = true;
    const app = webhookAppWith(
      { signatureHeader: 'x-signature', parse: (items) => (items as { i: number }[]).map(({ i }) => ({ businessKey: keys[i] as string, erpAssetId: 'EQ-1', erpWorkOrderId: '4711', status: 'completed' as const, changedAt: 0 })) },
      {
        intake,
        destination: 'erp2',
        now: () => now,
        logger: { warn: (fields, message) => warnings.push({ fields, message }) },
        openedAt: () => Promise.resolve(opened),
        sink: { submit: (m) => (store ? Promise.resolve({ accepted: m.length, quarantined: [] }) : Promise.reject(new Error('disk I/O error'))) },
      },
    );
    const push = (items: object[]) => app.request('/v1/webhooks/erp2/work-orders', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1' }, body: JSON.stringify(items) });
    const line =
      'work-order push to erp2 ignored EQ-1|service-250h|250h@b0 (completed): it was opened at destination "erp", and an update from destination "erp2" does not change it (only updates from "erp", pushed to /v1/webhooks/erp/work-orders or polled from it, do) (not taken, so no baseline was reset)';
    // Ours only: nothing said.
    expect((await push([{ i: 1 }])).status).toBe(202);
    expect(warnings).toEqual([]);
    // Not stored (503, the ERP pushes it again): not said until it is.
    store = false;
    expect((await push([{ i: 0 }, { i: 1 }])).status).toBe(503);
    expect(warnings).toEqual([]);
    store = true;
    expect((await push([{ i: 0 }, { i: 1 }])).status).toBe(202);
    expect(warnings).toEqual([{ fields: { destination: 'erp2', ignored: 1 }, message: line }]);
    for (let n = 0; n < 3; n++) await push([{ i: 0 }]);
    expect(warnings).toHaveLength(1);
    now = 60_000;
    await push([{ i: 0 }]);
    expect(warnings[1]).toEqual({ fields: { destination: 'erp2', ignored: 1, notLogged: 3, since: '1970-01-01T00:00:00.000Z' }, message: `${line} (3 more like it since 1970-01-01T00:00:00.000Z, not logged one by one)` });
  });

  it('answers 503 with Retry-After, taking nothing, when where the work orders were opened cannot be read', async () => {
    let submits = 0;
    const app = webhookAppWith(
      { signatureHeader: 'x-signature', parse: completions('EQ-1|service-250h|250h@b0') },
      { intake, openedAt: () => Promise.reject(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })), sink: { submit: (m) => (submits++, Promise.resolve({ accepted: m.length, quarantined: [] })) } },
    );
    const r = await push(app, JSON.stringify([{ id: 1 }]));
    expect(r.status).toBe(503);
    expect(r.headers.get('Retry-After')).toBe('5');
    expect(((await r.json()) as { error: string }).error).toMatch(/^the service could not read where the pushed work orders were opened \(database is locked.*\); nothing of this push was taken, retry later$/);
    expect(submits).toBe(0);
  });

  it('hands an unreadable update to the sink set aside with its reason, in one submit with the readable ones, so one commit keeps both or neither', async () => {
    const submitted: RawMessage[][] = [];
    let fail = true;
    const app = webhookAppWith(
      {
        signatureHeader: 'x-signature',
        parse: (items) =>
          (items as { id?: number }[]).map((item) =>
            item.id === 1 ? { ignored: 'not ours' } : item.id === undefined ? { invalid: 'no work order id' } : { businessKey: 'wo-2', erpAssetId: 'EQ-1', erpWorkOrderId: '4712', status: 'completed' as const, changedAt: 0 },
          ),
      },
      {
        intake,
        sink: {
          submit: (m) => {
            submitted.push([...m]);
            if (fail) return Promise.reject(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }));
            return Promise.resolve({ accepted: 1, quarantined: [{ index: 1, reason: 'no work order id' }] });
          },
        },
      },
    );
    const body = JSON.stringify([{ id: 1 }, { id: 2 }, {}]);
    const r = await push(app, body);
    expect(r.status).toBe(503);
    expect(r.headers.get('Retry-After')).toBe('5');
    expect(((await r.json()) as { error: string }).error).toContain('database is locked; the store is locked by another process');
    expect(submitted).toHaveLength(1);
    expect(submitted[0]?.map((m) => m.setAside)).toEqual([undefined, { code: 'invalid', reason: 'no work order id' }]);
    expect(submitted[0]?.[1]?.payload).toBe('{}');
    fail = false;
    const again = await push(app, body);
    expect(again.status).toBe(400);
    // Indexes are the body's items'.
    expect(await again.json()).toEqual({
      accepted: 1,
      ignored: [{ index: 0, reason: 'not ours' }],
      rejected: [{ index: 2, reason: 'no work order id' }],
      // Its accepted update was taken: the push is not to be sent again as it is.
      note: "its 1 accepted update was taken; the rejected ones are kept in quarantine with the reason ('assetbridge quarantine list'), to replay once the cause is fixed ('assetbridge quarantine replay'): do not send this push again unchanged",
    });
  });

  it('keeps an unreadable pushed record in quarantine without an openedAtDestination of its own, so a replay under the destination cannot say where the work order was opened', async () => {
    const submitted: RawMessage[] = [];
    const app = webhookAppWith(
      { signatureHeader: 'x-signature', parse: (body) => parseWorkOrderWebhook(body) },
      { intake, destination: 'erp2', openedAt: () => Promise.resolve(new Map([['EQ-1|service-250h|250h@b0', 'erp']])), sink: { submit: (m) => (submitted.push(...m), Promise.resolve({ accepted: 0, quarantined: [{ index: 0, reason: 'needs id' }] })) } },
    );
    // Canonical in shape, but without the ERP's id: the webhook cannot read it, and keeps it.
    const item = { kind: 'workorder', businessKey: 'EQ-1|service-250h|250h@b0', status: 'completed', eventTime: '2026-10-01T10:00:00Z', operatingHoursAtCompletion: 251, openedAtDestination: 'erp2' };
    const r = await app.request('/v1/webhooks/erp2/work-orders', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1' }, body: JSON.stringify([item]) });
    expect(r.status).toBe(400);
    expect(submitted.map((m) => [m.source, m.setAside?.code])).toEqual([['erp-feedback:erp2', 'invalid']]);
    const { openedAtDestination: _ours, ...kept } = item;
    expect(JSON.parse(submitted[0]?.payload as string)).toEqual(kept);
    // Replayed, it is read under erp2's source: the work order (opened at erp) is held to where its record says, not to erp2.
    const replayed = createCanonicalDecoder()({ ...(submitted[0] as RawMessage), replayOf: 1 });
    expect(replayed.ok && replayed.events.map((e) => (e as { openedAtDestination?: string }).openedAtDestination)).toEqual([undefined]);
  });

  it('refuses a push with 503 and Retry-After while the backlog is at sources.http.maxBacklog, taking nothing', async () => {
    const submitted: RawMessage[][] = [];
    const sink: IngestSink = { submit: (m) => (submitted.push([...m]), Promise.resolve({ accepted: m.length, quarantined: [] })), backlog: () => 10 };
    const r = await push(hookApp(sink), JSON.stringify([{ id: 1 }]));
    expect(r.status).toBe(503);
    expect(r.headers.get('Retry-After')).toBe('1');
    expect(((await r.json()) as { error: string }).error).toContain('sources.http.maxBacklog is 10');
    expect(submitted).toEqual([]);
    const below = await push(hookApp({ ...sink, backlog: () => 9 }), JSON.stringify([{ id: 1 }]));
    expect(below.status).toBe(202);
  });

  it('refuses a signed push while the backlog is at the default of sources.http.maxBacklog when sources.http is not set, rather than queuing without bound', async () => {
    const secret = 'shared-secret-0123456789';
    const submitted: RawMessage[][] = [];
    let backlog = 50_000;
    const app = webhookAppWith(
      { secret, signatureHeader: 'x-signature', parse: completions('wo-1') },
      { sink: { submit: (m) => (submitted.push([...m]), Promise.resolve({ accepted: m.length, quarantined: [] })), backlog: () => backlog } },
    );
    const body = JSON.stringify([{ id: 1 }]);
    const signed = () => app.request('/v1/webhooks/erp/work-orders', { method: 'POST', headers: { 'x-signature': createHmac('sha256', secret).update(body).digest('hex') }, body });
    const r = await signed();
    expect(r.status).toBe(503);
    expect(r.headers.get('Retry-After')).toBe('1');
    expect(((await r.json()) as { error: string }).error).toBe(
      'ingest is behind: 50000 events wait to be stored (the default of sources.http.maxBacklog, 50000, as sources.http is not set); nothing of this push was taken, retry after a second',
    );
    expect(submitted).toEqual([]);
    backlog = 49_999;
    expect((await signed()).status).toBe(202);
  });
});

describe('HTTP intake of bodies in other encodings', () => {
  // The pipeline's own decoder behind the sink: what it quarantines is answered as rejected.
  const decode = createCanonicalDecoder();
  const submitted: RawMessage[] = [];
  const app = intakeWith((m) => {
    submitted.push(...m);
    const results = m.map((msg) => decode(msg));
    const quarantined = results.flatMap((r, index) => (r.ok ? [] : [{ index, code: 'undecodable' as const, reason: r.reason }]));
    return Promise.resolve({ accepted: results.filter((r) => r.ok).length, quarantined });
  });
  const event = JSON.stringify([{ kind: 'position', assetId: 'Kran-Müller-7', eventTime: '2026-03-01T10:00:00Z', lat: 51.9, lng: 4.1 }]);
  const post = (body: Uint8Array, contentType: string) => app.request('/v1/events', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1', 'Content-Type': contentType }, body });

  it('keeps a body that is not UTF-8 as the bytes it came as, quarantined with the reason, instead of taking it with U+FFFD in its ids', async () => {
    submitted.length = 0;
    const latin1 = Buffer.from(event, 'latin1');
    const r = await post(latin1, 'application/json');
    expect(r.status).toBe(400);
    const answer = (await r.json()) as { error: string; accepted: number; rejected: unknown[] };
    expect(answer.error).toContain('body is not UTF-8');
    expect(answer.error).toContain('charset=');
    expect(answer).toMatchObject({ accepted: 0, rejected: [{ index: 0, reason: expect.stringContaining('not UTF-8') as unknown }] });
    expect(submitted).toHaveLength(1);
    expect(Buffer.from(submitted[0]?.payload as Uint8Array).equals(latin1)).toBe(true);
  });

  it('reads the body in the charset its Content-Type names, and refuses one it does not know with 415', async () => {
    submitted.length = 0;
    const r = await post(Buffer.from(event, 'latin1'), 'application/json; charset=ISO-8859-1');
    expect(r.status).toBe(202);
    expect(JSON.parse(submitted[0]?.payload as string)).toMatchObject({ assetId: 'Kran-Müller-7' });
    const utf16 = await post(Buffer.from(`\uFEFF${event}`, 'utf16le'), 'application/json; charset=utf-16le');
    expect(utf16.status).toBe(202);
    const unknown = await post(Buffer.from(event), 'application/json; charset=x-klingon');
    expect(unknown.status).toBe(415);
    expect(((await unknown.json()) as { error: string }).error).toContain('charset "x-klingon"');
  });

  it('still takes UTF-8 with a byte order mark', async () => {
    const r = await post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(event)]), 'application/json');
    expect(r.status).toBe(202);
  });
});

describe('work-order pushes in other encodings', () => {
  const secret = 'shared-secret-0123456789';
  const submitted: RawMessage[] = [];
  const decode = createCanonicalDecoder();
  const app = webhookAppWith(
    {
      secret,
      signatureHeader: 'X-Signature-256',
      parse: (items) => (items as { key: string }[]).map((i) => ({ businessKey: i.key, erpAssetId: i.key.split('|')[0] ?? '', erpWorkOrderId: '4711', status: 'completed' as const, changedAt: 0 })),
    },
    {
      // The pipeline's own decoder behind the sink, as for intake.
      sink: {
        submit: (m) => {
          submitted.push(...m);
          const quarantined = m.flatMap((msg, index) => {
            const r = decode(msg);
            return r.ok ? [] : [{ index, reason: r.reason }];
          });
          return Promise.resolve({ accepted: m.length - quarantined.length, quarantined });
        },
      },
    },
  );
  const json = JSON.stringify([{ key: 'Kran-Müller-7|svc|250h@b0' }]);
  const push = (body: Uint8Array, contentType: string) =>
    app.request('/v1/webhooks/erp/work-orders', { method: 'POST', headers: { 'Content-Type': contentType, 'X-Signature-256': createHmac('sha256', secret).update(body).digest('hex') }, body });
  afterEach(() => {
    submitted.length = 0;
  });

  it('reads a push in the charset its Content-Type names, so its keys are not taken with U+FFFD', async () => {
    const r = await push(Buffer.from(json, 'latin1'), 'application/json; charset=ISO-8859-1');
    expect(r.status).toBe(202);
    expect(JSON.parse(submitted[0]?.payload as string)).toMatchObject({ erpAssetId: 'Kran-Müller-7', businessKey: 'Kran-Müller-7|svc|250h@b0' });
  });

  it('keeps a push that is not UTF-8 (and names no charset) as the bytes it came as, quarantined with the reason, answered 400', async () => {
    const latin1 = Buffer.from(json, 'latin1');
    const r = await push(latin1, 'application/json');
    expect(r.status).toBe(400);
    const answer = (await r.json()) as { error: string; accepted: number };
    expect(answer.error).toContain('body is not UTF-8');
    expect(answer.accepted).toBe(0);
    expect((answer as { note?: string }).note).toContain('the push is kept in quarantine as it came, with the reason (\'assetbridge quarantine list\'): do not send it again unchanged');
    expect(submitted).toHaveLength(1);
    expect(Buffer.from(submitted[0]?.payload as Uint8Array).equals(latin1)).toBe(true);
  });

  it('answers an empty push (signed) 400 with what to send, without an empty entry in the quarantine', async () => {
    const r = await push(Buffer.from(''), 'application/json');
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: 'the body is empty: send the work-order updates as JSON; nothing of this push was taken (there was nothing to keep)', accepted: 0 });
    expect(submitted).toEqual([]);
  });

  it('refuses a charset it does not know with 415, taking nothing', async () => {
    const r = await push(Buffer.from(json), 'application/json; charset=x-klingon');
    expect(r.status).toBe(415);
    expect(((await r.json()) as { error: string }).error).toMatch(/charset "x-klingon".*\(nothing of this push was taken\)$/);
    expect(submitted).toEqual([]);
  });
});

describe('HTTP intake of a form or an upload instead of JSON', () => {
  it('says to send the JSON as the body with Content-Type: application/json, and keeps the body in quarantine', async () => {
    const submitted: RawMessage[] = [];
    const app = intakeWith((m) => (submitted.push(...m), Promise.resolve({ accepted: 0, quarantined: m.map((_, index) => ({ index, code: 'undecodable' as const, reason: 'payload is not JSON' })) })));
    const form = new FormData();
    form.append('file', new Blob(['[{"kind":"meter"}]'], { type: 'application/json' }), 'events.json');
    const r = await app.request('/v1/events', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1' }, body: form });
    expect(r.status).toBe(400);
    const { error } = (await r.json()) as { error: string };
    expect(error).toMatch(/^body is not JSON: .*; the Content-Type is multipart\/form-data: send the JSON itself as the body with Content-Type: application\/json/);
    expect(submitted).toHaveLength(1);
    const urlencoded = await app.request('/v1/events', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1', 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'assetId=tag-1&lat=50' });
    expect(((await urlencoded.json()) as { error: string }).error).toContain('the Content-Type is application/x-www-form-urlencoded');
  });
});

describe('HTTP intake of a compressed body', () => {
  it('refuses it with 415 and what to do, taking nothing, rather than quarantining bytes no decoder reads', async () => {
    const submitted: RawMessage[] = [];
    const app = intakeWith((m) => (submitted.push(...m), Promise.resolve({ accepted: m.length, quarantined: [] })));
    const body = gzipSync(Buffer.from(JSON.stringify([{ kind: 'meter', assetId: 'tag-1', eventTime: 1, operatingHours: 3 }])));
    const r = await app.request('/v1/events', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1', 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body });
    expect(r.status).toBe(415);
    expect(await r.json()).toEqual({ error: 'Content-Encoding gzip is not read here; send the body uncompressed (nothing of this POST was taken)' });
    expect(submitted).toEqual([]);
  });
});

describe('a work-order push to a destination with no webhook', () => {
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  let now = 0;
  const fresh = () =>
    webhookAppWith(
      { signatureHeader: 'x-signature', parse: () => [] },
      {
        destination: 'sap-lager-sued',
        now: () => now,
        intake: { token: 'intake-token-1', bodyLimitBytes: 1_048_576, maxEvents: 100 },
        logger: { warn: (fields, message) => warnings.push({ fields, message }) },
        sink: { submit: () => Promise.reject(new Error('not called')) },
      },
    );
  let app = fresh();
  const push = (headers: Record<string, string>) => app.request('/v1/webhooks/erp/work-orders', { method: 'POST', headers, body: '[]' });

  afterEach(() => {
    warnings.length = 0;
    now = 0;
    app = fresh();
  });

  it("answers 404 without naming the configured destinations to a caller without the intake's token; the log names them", async () => {
    for (const headers of [{}, { Authorization: 'Bearer wrong-token' }] as Record<string, string>[]) {
      const r = await push(headers);
      expect(r.status).toBe(404);
      const { error } = (await r.json()) as { error: string };
      expect(error).toBe(`no work-order webhook for destination "erp"; check the destination's name in the path (destinations[].name); the service log names the configured webhook paths`);
    }
    // The second, to the same path within the minute, is counted, not logged (see below).
    expect(warnings.map((w) => w.fields)).toEqual([{ destination: 'erp', configured: ['/v1/webhooks/sap-lager-sued/work-orders'] }]);
  });

  it('logs a path refused again and again once a minute, with how many more were refused since, so a flood cannot flood the log', async () => {
    for (let i = 0; i < 50; i++) expect((await push({})).status).toBe(404);
    // Another path is a warning of its own.
    expect((await app.request('/v1/webhooks/sap/work-orders', { method: 'POST', body: '[]' })).status).toBe(404);
    expect(warnings.map((w) => w.fields.destination)).toEqual(['erp', 'sap']);
    now = 59_999;
    await push({});
    expect(warnings).toHaveLength(2);
    now = 60_000;
    await push({});
    expect(warnings).toHaveLength(3);
    expect(warnings[2]).toEqual({
      fields: { destination: 'erp', configured: ['/v1/webhooks/sap-lager-sued/work-orders'], notLogged: 50, since: '1970-01-01T00:00:00.000Z' },
      message: 'work-order push to /v1/webhooks/erp/work-orders refused: no destination of that name takes work-order pushes (50 more like it since 1970-01-01T00:00:00.000Z, not logged one by one)',
    });
    // Each 404 is still answered in full.
    now = 60_001;
    const r = await push({});
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: string }).error).toContain('no work-order webhook for destination "erp"');
    expect(warnings).toHaveLength(3);
    // Each counted in /metrics, not by the name in the path (a caller could make a series of each).
    expect(await (await app.request('/metrics')).text()).toContain('assetbridge_webhook_pushes_refused_total{destination="",reason="no-webhook"} 54\n');
  });

  it('tells apart at most a hundred paths; a caller varying the path shares one line a minute past them', async () => {
    for (let i = 0; i < 500; i++) await app.request(`/v1/webhooks/x${i}/work-orders`, { method: 'POST', body: '[]' });
    expect(warnings).toHaveLength(101);
    now = 60_000;
    await app.request('/v1/webhooks/y/work-orders', { method: 'POST', body: '[]' });
    expect(warnings).toHaveLength(102);
    expect(warnings[101]?.fields).toMatchObject({ destination: 'y' });
  });

  it("names the configured webhook paths to a caller with the intake's bearer token", async () => {
    const r = await push({ Authorization: 'Bearer intake-token-1' });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: string }).error).toBe('no work-order webhook for destination "erp"; configured: /v1/webhooks/sap-lager-sued/work-orders');
  });
});

describe('ERP work-order webhooks with a compressed body', () => {
  it('refuses it with 415 and what to do, taking nothing, rather than calling the signature wrong or quarantining the compressed bytes', async () => {
    const secret = 'shared-secret-0123456789';
    const submitted: RawMessage[] = [];
    const app = webhookAppWith(
      { secret, signatureHeader: 'X-Signature-256', parse: completions('EQ-1|svc|250h@b0') },
      { sink: { submit: (m) => (submitted.push(...m), Promise.resolve({ accepted: m.length, quarantined: [] })) } },
    );
    const json = Buffer.from('{"workOrder":{"id":"4711","status":"completed"}}');
    const gz = gzipSync(json);
    // Signed over the JSON (the signature checked over the compressed bytes would be "wrong"), and over the bytes as sent.
    for (const signedOver of [json, gz]) {
      const r = await app.request('/v1/webhooks/erp/work-orders', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'X-Signature-256': `sha256=${createHmac('sha256', secret).update(signedOver).digest('hex')}` },
        body: gz,
      });
      expect(r.status).toBe(415);
      expect(await r.json()).toEqual({ error: 'Content-Encoding gzip is not read here; send the body uncompressed (nothing of this push was taken)' });
    }
    expect(submitted).toEqual([]);
  });
});

describe('ERP work-order webhooks with many items passed over', () => {
  it('lists the first 50 ignored (and rejected) items by index and counts the rest, rather than answering a body of {} with a line per item', async () => {
    const app = webhookAppWith(
      { signatureHeader: 'x-signature', parse: (items) => (items as { id?: number }[]).map((item) => (item.id === undefined ? { ignored: 'no externalKey' } : { invalid: 'no erpAssetId' })) },
      {
        intake: { token: 'intake-token-1', bodyLimitBytes: 1_048_576, maxEvents: 100 },
        // Every update it is handed set aside (the unreadable ones): quarantined, as the ingestor does.
        sink: { submit: (m) => Promise.resolve({ accepted: m.filter((x) => !x.setAside).length, quarantined: m.flatMap((x, index) => (x.setAside ? [{ index, reason: x.setAside.reason }] : [])) }) },
      },
    );
    const push = (items: unknown[]) => app.request('/v1/webhooks/erp/work-orders', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1' }, body: JSON.stringify(items) });
    // Nearly 1 MiB of {}: some 200 000 items, none of them a work order of ours.
    const many = await push([...Array.from({ length: 60 }, () => ({ id: 1 })), ...Array.from({ length: 200_000 }, () => ({}))]);
    expect(many.status).toBe(400);
    const answer = (await many.json()) as { accepted: number; ignored: { index: number }[]; ignoredNotListed: number; rejected: { index: number }[]; rejectedNotListed: number };
    expect(answer.accepted).toBe(0);
    expect(answer.ignored).toHaveLength(50);
    expect(answer.ignored[0]).toEqual({ index: 60, reason: 'no externalKey' });
    expect(answer.ignored[49]).toEqual({ index: 109, reason: 'no externalKey' });
    expect(answer.ignoredNotListed).toBe(200_000 - 50);
    expect(answer.rejected).toHaveLength(50);
    expect(answer.rejected[0]).toEqual({ index: 0, reason: 'no erpAssetId' });
    expect(answer.rejectedNotListed).toBe(10);
    expect((answer as { note?: string }).note).toMatch(/^none of its updates was taken; the rejected ones are kept in quarantine .*: do not send this push again unchanged$/);
    // Up to 50, all of them and no count.
    const few = await push(Array.from({ length: 50 }, () => ({})));
    expect(few.status).toBe(202);
    const fewAnswer = (await few.json()) as { ignored: unknown[] };
    expect(fewAnswer.ignored).toHaveLength(50);
    expect(fewAnswer).not.toHaveProperty('ignoredNotListed');
  });
});

describe('ERP work-order webhooks over the body limit', () => {
  it('answers 413 naming the limit in bytes and the key that sets it', async () => {
    const app = webhookAppWith(
      { signatureHeader: 'x-signature', parse: () => [] },
      { intake: { token: 'intake-token-1', bodyLimitBytes: 100, maxEvents: 100 }, sink: { submit: () => Promise.reject(new Error('not called')) } },
    );
    const r = await app.request('/v1/webhooks/erp/work-orders', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1' }, body: `[${'{},'.repeat(60)}{}]` });
    expect(r.status).toBe(413);
    expect(await r.json()).toEqual({ error: 'body exceeds 100 bytes (sources.http.bodyLimitBytes); send fewer updates per push (nothing of this push was taken)' });
  });
});

describe('HTTP intake of a POST some of whose items are refused', () => {
  it('answers 400 listing the refused items by index and saying the others are stored, so the client does not send the POST again', async () => {
    const app = intakeWith((m) => Promise.resolve({ accepted: m.length - 1, quarantined: [{ index: 1, reason: 'no ERP mapping for tag tag-99' }] }));
    const body = JSON.stringify([1, 2, 3].map((n) => ({ kind: 'meter', assetId: `tag-${n}`, eventTime: 1, operatingHours: 3 })));
    const r = await app.request('/v1/events', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1', 'Content-Type': 'application/json' }, body });
    expect(r.status).toBe(400);
    const answer = (await r.json()) as { accepted: number; rejected: unknown; note: string };
    expect(answer).toMatchObject({ accepted: 2, rejected: [{ index: 1, reason: 'no ERP mapping for tag tag-99' }] });
    expect(answer.note).toContain('the items not listed in rejected are stored: do not send this POST again');
    expect(answer.note).toContain('assetbridge quarantine replay');
  });
});

describe('HTTP intake of events wrapped in an object ({"events": [...]})', () => {
  it('says the body is one object whose key holds the list, and to send the list itself; a single event or a list is answered as before', async () => {
    const decode = createCanonicalDecoder();
    const app = intakeWith((m) => {
      const quarantined = m.flatMap((msg, index) => {
        const r = decode(msg);
        return r.ok ? [] : [{ index, reason: r.reason }];
      });
      return Promise.resolve({ accepted: m.length - quarantined.length, quarantined });
    });
    const event = { kind: 'meter', assetId: 'tag-1', eventTime: '2026-10-01T00:00:00Z', operatingHours: 3 };
    const post = async (body: unknown) => {
      const r = await app.request('/v1/events', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1', 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, answer: (await r.json()) as { rejected?: { index: number; reason: string }[] } };
    };
    const wrapped = await post({ events: [event, event] });
    expect(wrapped.status).toBe(400);
    expect(wrapped.answer.rejected).toHaveLength(1);
    expect(wrapped.answer.rejected?.[0]?.reason).toMatch(/^event needs "ids".*; the body is one object whose "events" holds a list: send the list itself as the body \(\[\{…\}, \{…\}\]\)$/);
    // An event refused for its own fault says only that.
    const noAsset = await post({ kind: 'meter', eventTime: '2026-10-01T00:00:00Z', operatingHours: 3, tags: [{ a: 1 }] });
    expect(noAsset.answer.rejected?.[0]?.reason).not.toContain('holds a list');
    expect((await post([event])).status).toBe(202);
  });
});

describe('a handler that fails', () => {
  it('answers 500 as JSON with the reason and the store advice, logged through the service log, not a bare Internal Server Error', async () => {
    const logged: { fields: Record<string, unknown>; message: string }[] = [];
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    const app = createHttpApp({
      host: '127.0.0.1',
      port: 0,
      now: () => 0,
      sink: { submit: () => Promise.reject(new Error('not called')) },
      logger: { warn: () => undefined, error: (fields, message) => logged.push({ fields, message }) },
      status: { ready: () => true, status: () => Promise.reject(busy), metrics: () => Promise.reject(busy) },
    });
    for (const path of ['/metrics', '/v1/status']) {
      const r = await app.request(path);
      expect(r.status).toBe(500);
      expect(r.headers.get('content-type')).toContain('application/json');
      const { error } = (await r.json()) as { error: string };
      expect(error).toMatch(new RegExp(`^GET ${path} failed: database is locked; .+ \\(the service log has the details\\)$`));
    }
    expect(logged.map((l) => [l.message, l.fields.err])).toEqual([
      ['GET /metrics failed', busy],
      ['GET /v1/status failed', busy],
    ]);
  });
});

describe('an error message quoting a secret', () => {
  const secret = 'erp-client-secret-0123456789';
  const leaky = new Error(`request to https://svc-user:db-pass-42@erp.example.com/odata failed with ${secret} in the form`);
  const app = (fail: Error) =>
    createHttpApp({
      host: '127.0.0.1',
      port: 0,
      now: () => 0,
      secrets: () => [secret],
      intake: { token: 'intake-token-1', bodyLimitBytes: 1_000_000, maxEvents: 100 },
      sink: { submit: () => Promise.reject(fail) },
      logger: { warn: () => undefined, error: () => undefined },
      status: { ready: () => true, status: () => Promise.reject(fail), metrics: () => Promise.reject(fail) },
    });

  it('answers 500 with the message redacted: neither the configured secret nor the password of a URL it quotes', async () => {
    const r = await app(leaky).request('/v1/status');
    expect(r.status).toBe(500);
    const { error } = (await r.json()) as { error: string };
    expect(error).toContain('GET /v1/status failed: request to https://svc-user:');
    expect(error).not.toContain(secret);
    expect(error).not.toContain('db-pass-42');
  });

  it('answers 503 (not stored) with the message redacted too', async () => {
    const r = await app(leaky).request('/v1/events', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1' }, body: JSON.stringify([{ kind: 'meter' }]) });
    expect(r.status).toBe(503);
    const { error } = (await r.json()) as { error: string };
    expect(error).toContain('could not store the events (request to https://svc-user:');
    expect(error).not.toContain(secret);
    expect(error).not.toContain('db-pass-42');
  });
});

describe('GET /metrics', () => {
  it('names its charset (UTF-8), as the text format is, so label values such as a destination "Lager-Süd" read the same in any scraper', async () => {
    const app = createHttpApp({ host: '127.0.0.1', port: 0, now: () => 0, sink: { submit: () => Promise.reject(new Error('not called')) }, status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('assetbridge_outbox_pending{destination="Lager-Süd"} 1\n') } });
    const r = await app.request('/metrics');
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await r.text()).toContain('Lager-Süd');
  });
});

describe('a body nesting JSON deeper than any event does', () => {
  // A few thousand levels of [[[…]]] fit well within the body limit; written out again item by
  // item, they overflowed the call stack: a 500, nothing kept, and a sender that retries a 500 forever.
  const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
  const tooDeep = `[{"kind":"meter","assetId":"tag-1","eventTime":"2026-10-01T00:00:00Z","operatingHours":1,"x":${deep(200_000)}}]`;
  /** The sink sets aside what comes set aside, and takes the rest. */
  const sink = (submitted: RawMessage[]): IngestSink['submit'] => (m) => {
    submitted.push(...m);
    const quarantined = m.flatMap((msg, index) => (msg.setAside ? [{ index, reason: msg.setAside.reason }] : []));
    return Promise.resolve({ accepted: m.length - quarantined.length, quarantined });
  };

  it('at the intake: answered 400 saying so, the body kept in quarantine as it came (set aside, not decoded), not a 500', async () => {
    const submitted: RawMessage[] = [];
    const app = intakeWith(sink(submitted));
    const r = await app.request('/v1/events', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1', 'Content-Type': 'application/json' }, body: tooDeep });
    expect(r.status).toBe(400);
    const answer = (await r.json()) as { error: string; accepted: number; note: string };
    expect(answer.error).toBe('body nests JSON arrays and objects more than 1000 levels deep; no event or work order does: send the events as a JSON array of flat objects ([{…}, {…}])');
    expect(answer.accepted).toBe(0);
    expect(answer.note).toContain('its body is kept in quarantine as it came');
    expect(submitted).toHaveLength(1);
    expect(submitted[0]?.payload).toBe(tooDeep);
    expect(submitted[0]?.setAside).toEqual({ code: 'undecodable', reason: 'body nests JSON arrays and objects more than 1000 levels deep; no event or work order does' });
  });

  it('at the intake: JSON as deep as the limit is taken as before', async () => {
    const submitted: RawMessage[] = [];
    const app = intakeWith(sink(submitted));
    // The array is level 1, the event 2, its field 3 and on: 1000 in all.
    const atLimit = `[{"kind":"meter","x":${deep(998)}}]`;
    const r = await app.request('/v1/events', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1', 'Content-Type': 'application/json' }, body: atLimit });
    expect(r.status).toBe(202);
    expect(submitted.map((m) => m.setAside)).toEqual([undefined]);
    const over = await app.request('/v1/events', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1', 'Content-Type': 'application/json' }, body: `[{"kind":"meter","x":${deep(999)}}]` });
    expect(over.status).toBe(400);
  });

  it('in a work-order push: answered 400, the push kept in quarantine whole, not a 500 the ERP retries', async () => {
    const submitted: RawMessage[] = [];
    const app = webhookAppWith({ signatureHeader: 'X-Signature-256', parse: completions('EQ-1|service-250h|250h@b0') }, { intake: { token: 'intake-token-1', bodyLimitBytes: 1_048_576, maxEvents: 100 }, sink: { submit: sink(submitted) } });
    const body = `{"externalKey":"EQ-1|service-250h|250h@b0","status":"completed","x":${deep(200_000)}}`;
    const r = await app.request('/v1/webhooks/erp/work-orders', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1', 'Content-Type': 'application/json' }, body });
    expect(r.status).toBe(400);
    const answer = (await r.json()) as { error: string; note: string };
    expect(answer.error).toContain('more than 1000 levels deep');
    expect(answer.note).toContain('the push is kept in quarantine as it came');
    expect(submitted).toHaveLength(1);
    expect(submitted[0]?.payload).toBe(body);
    expect(submitted[0]?.setAside?.code).toBe('undecodable');
  });
});

describe('a request whose body never came whole (the client closed the connection)', () => {
  const servers: RunningServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close(0);
  });

  it('is a warning once a minute per path, with the client, not an error with its stack per request: anyone reaching the port can send a push and hang up', async () => {
    const warnings: { fields: Record<string, unknown>; message: string }[] = [];
    const errors: { fields: Record<string, unknown>; message: string }[] = [];
    let clock = 0;
    const submitted: RawMessage[] = [];
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      now: () => clock,
      intake: { token: 'intake-token-1', bodyLimitBytes: 1_048_576, maxEvents: 100 },
      logger: { warn: (fields, message) => warnings.push({ fields, message }), error: (fields, message) => errors.push({ fields, message }) },
      sink: { submit: (m) => (submitted.push(...m), Promise.resolve({ accepted: m.length, quarantined: [] })) },
      webhooks: new Map([['erp', { secret: 'shared-secret-0123456789', signatureHeader: 'X-Signature-256', parse: () => [] }]]),
      status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') },
    });
    servers.push(server);
    /** The cut requests /metrics counts, over every route. */
    const sumCut = async () => [...(await (await fetch(`${server.url}/metrics`)).text()).matchAll(/^assetbridge_http_bodies_cut_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    let cuts = 0;
    /** A POST that promises 1000 bytes, sends a few and hangs up; resolves once the server has dealt with it. */
    const cut = async (path: string, headers: Record<string, string> = {}) => {
      cuts++;
      const { port } = new URL(server.url);
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => undefined);
      await new Promise((r) => socket.once('connect', r));
      const head = Object.entries({ Host: '127.0.0.1', ...headers, 'Content-Type': 'application/json', 'Content-Length': '1000' }).map(([k, v]) => `${k}: ${v}\r\n`);
      socket.write(`POST ${path} HTTP/1.1\r\n${head.join('')}\r\n[{"kind":`);
      await new Promise((r) => setTimeout(r, 50));
      socket.destroy();
      await waitFor(async () => errors.length > 0 || (await sumCut()) >= cuts, `the cut POST ${cuts} to ${path} dealt with`);
    };
    await cut('/v1/webhooks/erp/work-orders');
    expect(errors).toEqual([]);
    expect(warnings.map((w) => [w.message, w.fields.client])).toEqual([
      ['POST /v1/webhooks/erp/work-orders abandoned: the client closed the connection before its body was complete; nothing of it was taken', '127.0.0.1'],
    ]);
    await cut('/v1/webhooks/erp/work-orders');
    await cut('/v1/events', { Authorization: 'Bearer intake-token-1' });
    expect(errors).toEqual([]);
    expect(warnings.map((w) => w.message)).toEqual([
      'POST /v1/webhooks/erp/work-orders abandoned: the client closed the connection before its body was complete; nothing of it was taken',
      'POST /v1/events abandoned: the client closed the connection before its body was complete; nothing of it was taken',
    ]);
    clock += 60_000;
    await cut('/v1/webhooks/erp/work-orders');
    expect(warnings[2]?.fields).toMatchObject({ notLogged: 1, path: '/v1/webhooks/erp/work-orders' });
    expect(submitted).toEqual([]);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('assetbridge_http_bodies_cut_total{route="/v1/webhooks/:destination/work-orders"} 3');
    expect(metrics).toContain('assetbridge_http_bodies_cut_total{route="/v1/events"} 1');
  });
});
