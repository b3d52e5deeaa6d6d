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
