import { describe, expect, it } from 'vitest';
import { createHttpClient } from './http-client.js';
import { ClientCredentialsTokenSource } from './oauth2.js';

/** A token endpoint that counts requests and answers with the given token fields. */
function tokenEndpoint(answer: (n: number) => { status: number; body: unknown }) {
  let calls = 0;
  const bodies: string[] = [];
  const fetch = ((_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls++;
    bodies.push(typeof init?.body === 'string' ? init.body : '');
    const { status, body } = answer(calls);
    return Promise.resolve(new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }));
  }) as typeof globalThis.fetch;
  return { fetch, calls: () => calls, bodies };
}

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const config = { tokenUrl: 'https://idp.example/token', clientId: 'app', clientSecret: 'the-secret', scope: 'erp' };

describe('ClientCredentialsTokenSource', () => {
  it('caches a token until expiry minus the margin', async () => {
    const endpoint = tokenEndpoint((n) => ({ status: 200, body: { access_token: `at-${n}`, token_type: 'bearer', expires_in: 3600 } }));
    const c = clock();
    const source = new ClientCredentialsTokenSource({ ...config, expiryMarginMs: 60_000 }, createHttpClient({ fetch: endpoint.fetch }), c);
    expect(await source.getToken()).toMatchObject({ type: 'token', accessToken: 'at-1' });
    c.advance(3_539_999);
    expect(await source.getToken()).toMatchObject({ accessToken: 'at-1' });
    c.advance(1);
    expect(await source.getToken()).toMatchObject({ accessToken: 'at-2' });
    expect(endpoint.calls()).toBe(2);
  });

  it('keeps short-lived tokens useful: the margin is at most half the lifetime', async () => {
    const endpoint = tokenEndpoint((n) => ({ status: 200, body: { access_token: `at-${n}`, expires_in: 60 } }));
    const c = clock();
    const source = new ClientCredentialsTokenSource({ ...config, expiryMarginMs: 300_000 }, createHttpClient({ fetch: endpoint.fetch }), c);
    await source.getToken();
    c.advance(29_000);
    await source.getToken();
    expect(endpoint.calls()).toBe(1);
    c.advance(1000);
    await source.getToken();
    expect(endpoint.calls()).toBe(2);
  });

  it('assumes a short lifetime when expires_in is missing', async () => {
    const endpoint = tokenEndpoint((n) => ({ status: 200, body: { access_token: `at-${n}` } }));
    const c = clock();
    const source = new ClientCredentialsTokenSource(config, createHttpClient({ fetch: endpoint.fetch }), c);
    await source.getToken();
    c.advance(240_000);
    await source.getToken();
    expect(endpoint.calls()).toBe(2);
  });

  it('refresh() re-mints even while the cached token is valid; concurrent callers share one request', async () => {
    const endpoint = tokenEndpoint((n) => ({ status: 200, body: { access_token: `at-${n}`, expires_in: 3600 } }));
    const source = new ClientCredentialsTokenSource(config, createHttpClient({ fetch: endpoint.fetch }), clock());
    const all = await Promise.all([source.getToken(), source.getToken(), source.getToken()]);
    expect(new Set(all.map((o) => (o.type === 'token' ? o.accessToken : '')))).toEqual(new Set(['at-1']));
    expect(await source.refresh()).toMatchObject({ accessToken: 'at-2' });
    expect(source.currentToken()).toBe('at-2');
  });

  it('says which token endpoint answered no token with its credentials hidden, a password or a key in its query', async () => {
    const tokenUrl = 'https://idp-user:Idp-Pa55word@idp.example/token?code=Fn-Key-S3cret&tenant=t1';
    const answering = (text: string) => (() => Promise.resolve(new Response(text, { status: 200 }))) as typeof globalThis.fetch;
    for (const [text, why] of [
      ['<html>Sign in</html>', 'without JSON'],
      ['{"token_type":"bearer"}', 'without an access_token'],
    ]) {
      const source = new ClientCredentialsTokenSource({ ...config, tokenUrl }, createHttpClient({ fetch: answering(text as string) }), clock());
      const outcome = await source.getToken();
      expect(outcome).toMatchObject({ type: 'invalid-response' });
      const message = outcome.type === 'invalid-response' ? outcome.message : '';
      expect(message).toBe(`token endpoint https://idp-user:%5BREDACTED%5D@idp.example/token?code=%5BREDACTED%5D&tenant=t1 answered 200 ${why}`);
    }
  });

  it('sends the client credentials as form fields, and never records them or the token', async () => {
    const endpoint = tokenEndpoint(() => ({ status: 200, body: { access_token: 'at-secret-value', expires_in: 3600 } }));
    const source = new ClientCredentialsTokenSource(config, createHttpClient({ fetch: endpoint.fetch }), clock());
    const outcome = await source.getToken();
    expect(Object.fromEntries(new URLSearchParams(endpoint.bodies[0]))).toEqual({
      grant_type: 'client_credentials',
      scope: 'erp',
      client_id: 'app',
      client_secret: 'the-secret',
    });
    const recorded = JSON.stringify(outcome.type === 'token' ? outcome.exchange : null);
    expect(recorded).toContain('/token');
    expect(recorded).not.toContain('the-secret');
    expect(recorded).not.toContain('at-secret-value');
  });

  it('reports a refusal and a response without a token, without caching anything', async () => {
    const refusing = tokenEndpoint(() => ({ status: 401, body: { error: 'invalid_client' } }));
    const source = new ClientCredentialsTokenSource(config, createHttpClient({ fetch: refusing.fetch }), clock());
    const refused = await source.getToken();
    expect(refused.type === 'http-error' && refused.result.type === 'response' && refused.result.status).toBe(401);
    expect(source.currentToken()).toBeUndefined();

    const empty = tokenEndpoint(() => ({ status: 200, body: { token_type: 'bearer' } }));
    const outcome = await new ClientCredentialsTokenSource(config, createHttpClient({ fetch: empty.fetch }), clock()).getToken();
    expect(outcome.type).toBe('invalid-response');
  });
});

describe('ClientCredentialsTokenSource: one token request shared by many callers', () => {
  /** A token endpoint that answers when the test says; what each request's signal did. */
  function heldEndpoint() {
    const held: { signal: AbortSignal; answer: () => void }[] = [];
    const fetch = ((_url: string | URL | Request, init?: RequestInit): Promise<Response> =>
      new Promise<Response>((resolve, reject) => {
        const signal = init?.signal as AbortSignal;
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
        held.push({ signal, answer: () => resolve(Response.json({ access_token: `at-${held.length}`, expires_in: 3600 })) });
      })) as typeof globalThis.fetch;
    const next = async () => {
      for (let i = 0; i < 100 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 1));
      const h = held[0];
      if (!h) throw new Error('no token request');
      return h;
    };
    return { fetch, next, requests: () => held.length };
  }

  // It ran under its first caller's signal: that caller's timeout (or a shutdown of its work) failed every other caller waiting on it.
  it('gives the others the token when the caller that started it gives up', async () => {
    const endpoint = heldEndpoint();
    const source = new ClientCredentialsTokenSource(config, createHttpClient({ fetch: endpoint.fetch }), clock());
    const first = new AbortController();
    const a = source.getToken(first.signal);
    const b = source.getToken(new AbortController().signal);
    const request = await endpoint.next();
    first.abort(new DOMException('no answer within 100 ms', 'TimeoutError'));
    expect(await a).toMatchObject({ type: 'http-error', result: { type: 'failure', failure: { kind: 'timeout' } } });
    expect(request.signal.aborted).toBe(false);
    request.answer();
    expect(await b).toMatchObject({ type: 'token', accessToken: 'at-1' });
    expect(endpoint.requests()).toBe(1);
  });

  it('ends the token request when every caller waiting for it gives up (a shutdown), and a later caller starts a new one', async () => {
    const endpoint = heldEndpoint();
    const source = new ClientCredentialsTokenSource(config, createHttpClient({ fetch: endpoint.fetch }), clock());
    const shutdown = new AbortController();
    const a = source.getToken(shutdown.signal);
    const b = source.getToken(shutdown.signal);
    const request = await endpoint.next();
    shutdown.abort(new Error('the service is stopping'));
    expect(await a).toMatchObject({ type: 'http-error', result: { type: 'failure', failure: { kind: 'aborted' } } });
    expect(await b).toMatchObject({ type: 'http-error', result: { type: 'failure', failure: { kind: 'aborted' } } });
    expect(request.signal.aborted).toBe(true);
    void source.getToken();
    expect(endpoint.requests()).toBe(2);
  });

  it('close() ends a token request in flight', async () => {
    const endpoint = heldEndpoint();
    const source = new ClientCredentialsTokenSource(config, createHttpClient({ fetch: endpoint.fetch }), clock());
    const a = source.getToken();
    const request = await endpoint.next();
    source.close();
    expect(request.signal.aborted).toBe(true);
    expect(await a).toMatchObject({ type: 'http-error', result: { type: 'failure' } });
  });

  it('bounds the token request by its own timeoutMs, not by the client default', async () => {
    const endpoint = heldEndpoint();
    const source = new ClientCredentialsTokenSource({ ...config, timeoutMs: 100 }, createHttpClient({ fetch: endpoint.fetch, timeoutMs: 600_000 }), clock());
    const outcome = await source.getToken();
    expect(outcome).toMatchObject({ type: 'http-error', result: { type: 'failure', failure: { kind: 'timeout', message: 'no response within 100 ms' } } });
  });
});
