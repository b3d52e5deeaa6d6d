import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyNetworkFailure } from '../erp/rest/rest-errors.js';
import { classifyFetchError, createHttpClient } from './http-client.js';

/** A server whose paths each misbehave in one way. */
let server: Server;
let base: string;
const seen: { headers: Record<string, unknown>; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      switch (req.url?.split('?')[0]) {
        case '/ok':
          res.writeHead(200, { 'Content-Type': 'application/json', 'X-Echo': 'yes' });
          res.end(JSON.stringify({ access_token: 'tok-from-server', name: 'x' }));
          return;
        case '/big':
          res.writeHead(500);
          res.end('x'.repeat(10_000));
          return;
        case '/reset':
          req.socket.destroy();
          return;
        case '/hang':
          return; // never answers
        case '/half-body':
          res.writeHead(200, { 'Content-Length': '100' });
          res.write('partial');
          setTimeout(() => req.socket.destroy(), 20);
          return;
        case '/redirect':
          res.writeHead(302, { Location: 'http://elsewhere.example/' });
          res.end();
          return;
        default:
          res.writeHead(404);
          res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('createHttpClient', () => {
  it('returns status, headers, full body and latency, and records a redacted exchange', async () => {
    const client = createHttpClient({ timeoutMs: 2000, secrets: () => ['s3cr3t-value'] });
    const result = await client.request({
      method: 'POST',
      url: `${base}/ok?api_key=querysecret`,
      headers: { Authorization: 'Bearer s3cr3t-value', 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: 'hunter2', note: 'token is s3cr3t-value', title: 'ok' }),
    });
    expect(result.type).toBe('response');
    if (result.type !== 'response') return;
    expect(result.status).toBe(200);
    expect(result.headers.get('x-echo')).toBe('yes');
    expect(JSON.parse(result.bodyText).access_token).toBe('tok-from-server');
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    // The server did get the real credentials...
    expect(seen.at(-1)?.headers.authorization).toBe('Bearer s3cr3t-value');
    // ...but the exchange holds none of them.
    const recorded = JSON.stringify(result.exchange);
    for (const secret of ['s3cr3t-value', 'hunter2', 'tok-from-server', 'querysecret']) expect(recorded).not.toContain(secret);
    expect(result.exchange.requestBody).toContain('"title":"ok"');
    expect(result.exchange.status).toBe(200);
    expect(result.exchange.latencyMs).toBe(result.latencyMs);
  });

  it('truncates recorded response bodies but returns the full body', async () => {
    const client = createHttpClient({ maxResponseBodyBytes: 4096 });
    const result = await client.request({ method: 'GET', url: `${base}/big` });
    expect(result.type).toBe('response');
    if (result.type !== 'response') return;
    expect(result.bodyText).toHaveLength(10_000);
    expect(result.exchange.responseBody?.length).toBeLessThan(4200);
    expect(result.exchange.responseBody).toContain('[truncated 5904 bytes]');
  });

  it('classifies a connection destroyed before the response as connection-reset', async () => {
    const result = await createHttpClient().request({ method: 'POST', url: `${base}/reset`, body: '{}' });
    expect(result.type).toBe('failure');
    if (result.type !== 'failure') return;
    expect(result.failure.kind).toBe('connection-reset');
    expect(result.exchange.status).toBeUndefined();
  });

  it('classifies a body cut off mid-stream as connection-reset, keeping the status it saw', async () => {
    const result = await createHttpClient().request({ method: 'GET', url: `${base}/half-body` });
    expect(result.type).toBe('failure');
    if (result.type !== 'failure') return;
    expect(result.failure.kind).toBe('connection-reset');
    expect(result.exchange.status).toBe(200);
  });

  it('times out a request that gets no answer', async () => {
    const result = await createHttpClient({ timeoutMs: 5000 }).request({ method: 'GET', url: `${base}/hang`, timeoutMs: 150 });
    expect(result.type).toBe('failure');
    if (result.type !== 'failure') return;
    expect(result.failure.kind).toBe('timeout');
    expect(result.failure.message).toContain('150 ms');
  });

  it("stops when the caller's signal aborts, and reports it as aborted (not a timeout)", async () => {
    const controller = new AbortController();
    const pending = createHttpClient({ timeoutMs: 5000 }).request({ method: 'GET', url: `${base}/hang`, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('shutting down')), 50);
    const result = await pending;
    expect(result.type).toBe('failure');
    if (result.type !== 'failure') return;
    expect(result.failure.kind).toBe('aborted');
    expect(result.failure.message).toContain('shutting down');
  });

  // The dispatcher's per-request deadline aborts the caller's signal with a TimeoutError: audited and
  // dead-lettered as 'aborted: request aborted by the caller', as if someone had cancelled it.
  it("reports the caller's deadline (a TimeoutError reason) as a timeout, not as aborted", async () => {
    const controller = new AbortController();
    const pending = createHttpClient({ timeoutMs: 5000 }).request({ method: 'GET', url: `${base}/hang`, signal: controller.signal });
    setTimeout(() => controller.abort(new DOMException('no answer within 50 ms', 'TimeoutError')), 50);
    const result = await pending;
    expect(result.type).toBe('failure');
    if (result.type !== 'failure') return;
    expect(result.failure).toMatchObject({ kind: 'timeout', message: 'no answer within 50 ms' });
    expect(classifyNetworkFailure(result.failure, 'PATCH /x').message).toBe('PATCH /x → timeout: no answer within 50 ms; the ERP may have applied it, the retry carries the same idempotency key');
  });

  it('does not send at all when the signal is already aborted', async () => {
    const before = seen.length;
    const result = await createHttpClient().request({ method: 'POST', url: `${base}/ok`, body: '{}', signal: AbortSignal.abort() });
    expect(result.type).toBe('failure');
    expect(seen.length).toBe(before);
  });

  it('classifies a refused connection', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const result = await createHttpClient().request({ method: 'GET', url: `http://127.0.0.1:${port}/` });
    expect(result.type === 'failure' && result.failure.kind).toBe('connection-refused');
  });

  it('classifies https:// to a plain-HTTP server as a TLS failure: nothing was sent', async () => {
    const before = seen.length;
    const result = await createHttpClient().request({ method: 'POST', url: `${base.replace('http://', 'https://')}/ok`, body: '{}' });
    expect(result.type === 'failure' && result.failure.kind).toBe('tls');
    expect(seen.length).toBe(before);
  });

  it('a URL with user:password@ fails without the password in the failure or the exchange', async () => {
    // fetch refuses such a URL with a message that quotes it whole.
    const result = await createHttpClient().request({ method: 'GET', url: base.replace('http://', 'http://erpuser:TopSecretPw99@') });
    expect(result.type).toBe('failure');
    expect(JSON.stringify(result.type === 'failure' ? [result.failure.message, result.exchange] : result)).not.toContain('TopSecretPw99');
  });

  it('does not follow redirects (they would resend credentials elsewhere)', async () => {
    const result = await createHttpClient().request({ method: 'GET', url: `${base}/redirect`, headers: { Authorization: 'Bearer x' } });
    expect(result.type === 'response' && result.status).toBe(302);
  });
});

describe('classifyFetchError', () => {
  it('reads codes through nested causes', () => {
    const wrapped = new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
    expect(classifyFetchError(wrapped)).toMatchObject({ kind: 'connection-reset', code: 'ECONNRESET' });
    const dns = new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND erp'), { code: 'ENOTFOUND' }) });
    expect(classifyFetchError(dns).kind).toBe('dns');
    const connectTimeout = new TypeError('fetch failed', { cause: Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }) });
    expect(classifyFetchError(connectTimeout).kind).toBe('timeout');
    expect(classifyFetchError(new Error('certificate has expired')).kind).toBe('network');
    // The TLS handshake's certificate checks: an untrusted (private CA, self-signed), expired or wrongly named certificate.
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
      const tls = new TypeError('fetch failed', { cause: Object.assign(new Error('certificate check failed'), { code }) });
      expect(classifyFetchError(tls)).toMatchObject({ kind: 'tls', code });
    }
  });
});
