/**
 * The token check of `config check --connect` where the Trackunit simulator does not go: an
 * endpoint that fails, answers no token, echoes a secret or never answers; a secret not set. Each
 * failure names a key under telematics.<i>.auth and no secret.
 */
import { describe, expect, it } from 'vitest';
import { telematicsSchema, type TelematicsConfigInput } from '../../../config/telematics-schema.js';
import { compileConfig } from '../../../config/load.js';
import { probeTelematicsAuth } from './probe.js';

const SECRET = 'probe-Client-Secret-4711';
const feed = (overrides: Partial<TelematicsConfigInput> = {}) =>
  telematicsSchema.parse({
    name: 'cat',
    baseUrl: 'http://iso.test/aemp',
    auth: { type: 'oauth2-client-credentials', tokenUrl: 'http://auth.test/token', clientId: 'probe-client', clientSecret: SECRET },
    ...overrides,
  });

/** A fetch answering every call with `answer`, counting the calls. */
function fakeFetch(answer: (init?: RequestInit) => Promise<Response>): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  const impl: typeof fetch = (input, init) => {
    calls.push(input instanceof Request ? input.url : input.toString());
    return answer(init);
  };
  return { fetch: impl, calls };
}

describe('probeTelematicsAuth', () => {
  it('mints one token at the token URL and nothing else', async () => {
    const f = fakeFetch(() => Promise.resolve(Response.json({ access_token: 'minted-Access-Token-1', token_type: 'Bearer', expires_in: 3600 })));
    const r = await probeTelematicsAuth(feed(), 0, { fetch: f.fetch });
    expect(r).toMatchObject({ ok: true, tried: true });
    expect(r.detail).toMatch(/^token from http:\/\/auth\.test\/token in \d+ ms$/);
    expect(f.calls).toEqual(['http://auth.test/token']);
  });

  it('a failing endpoint (503) names the token URL key, and a secret it echoes is not repeated', async () => {
    const f = fakeFetch(() => Promise.resolve(Response.json({ error: 'temporarily_unavailable', error_description: `backend down for ${SECRET}` }, { status: 503 })));
    const r = await probeTelematicsAuth(feed(), 2, { fetch: f.fetch });
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^client_credentials token request refused \(HTTP 503: .*\); the token endpoint is failing; it will be retried \(check telematics\.2\.auth\.tokenUrl\)$/);
    expect(r.detail).not.toContain(SECRET);
  });

  it('an answer that is no token names the token URL key', async () => {
    const f = fakeFetch(() => Promise.resolve(new Response('<html>login page</html>', { status: 200 })));
    const r = await probeTelematicsAuth(feed(), 0, { fetch: f.fetch });
    expect(r).toMatchObject({ ok: false, tried: true });
    expect(r.detail).toMatch(/^unexpected client_credentials token response from http:\/\/auth\.test\/token: .*; check telematics\.0\.auth\.tokenUrl: it should be the provider's token endpoint$/);
  });

  it('a token answer cut short (JSON that ends early, or the connection closed mid-body) says so, retried, and blames no tokenUrl; a proxy page still does', async () => {
    const cutJson = fakeFetch(() => Promise.resolve(new Response('{"access_token":"minted-Acc', { status: 200, headers: { 'content-type': 'application/json' } })));
    const r = await probeTelematicsAuth(feed(), 0, { fetch: cutJson.fetch });
    expect(r).toMatchObject({ ok: false, tried: true, problem: 'cut-short' });
    expect(r.detail).toMatch(
      /^client_credentials token response from http:\/\/auth\.test\/token → HTTP 200, but the token response is JSON cut short \(27 characters, ending "\{\\"access_token\\":\\"minted-Acc"\); the token endpoint answered at this address, and the answer was cut short .*; it will be retried \(check the provider's status and any proxy in front of http:\/\/auth\.test\/token; then try again\)$/,
    );
    // Status and headers, part of the body, then the connection closed.
    const closed = fakeFetch(() => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"access_token":"x'));
          controller.error(new TypeError('terminated', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) }));
        },
      });
      return Promise.resolve(new Response(body, { status: 200 }));
    });
    const c = await probeTelematicsAuth(feed(), 0, { fetch: closed.fetch });
    expect(c).toMatchObject({ ok: false, tried: true, problem: 'cut-short' });
    expect(c.detail).toMatch(/^client_credentials token response from http:\/\/auth\.test\/token → HTTP 200, but the connection closed before the whole answer came \(.*\); the token endpoint answered at this address/);
    for (const detail of [r.detail, c.detail]) expect(detail).not.toMatch(/tokenUrl|not valid JSON|cannot reach/);
    // A body that is no JSON at all is another page at that address: the tokenUrl is named.
    const html = fakeFetch(() => Promise.resolve(new Response('<html>{"not":"json"}</html>', { status: 200 })));
    const h = await probeTelematicsAuth(feed(), 0, { fetch: html.fetch });
    expect(h.problem).toBeUndefined();
    expect(h.detail).toMatch(/check telematics\.0\.auth\.tokenUrl: it should be the provider's token endpoint$/);
  });

  it('a network error that quotes a secret is scrubbed', async () => {
    const f = fakeFetch(() => Promise.reject(new TypeError('fetch failed', { cause: new Error(`proxy refused client ${SECRET}`) })));
    const r = await probeTelematicsAuth(feed(), 1, { fetch: f.fetch });
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('cannot reach the token endpoint http://auth.test/token');
    expect(r.detail).toMatch(/check the network and telematics\.1\.auth\.tokenUrl$/);
    expect(r.detail).not.toContain(SECRET);
  });

  it('an endpoint that never answers is given up on after the feed timeout, naming the token URL key', async () => {
    const f = fakeFetch(
      (init) =>
        new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error), { once: true });
        }),
    );
    const started = Date.now();
    const r = await probeTelematicsAuth(feed({ timeout: 200 }), 0, { fetch: f.fetch });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^cannot reach the token endpoint http:\/\/auth\.test\/token \(.*\); check the network and telematics\.0\.auth\.tokenUrl$/);
  });

  it('a secret that is not set is named by its key, and nothing is sent', async () => {
    const config = compileConfig(
      {
        destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
        telematics: [{ name: 'cat', baseUrl: 'http://iso.test/aemp', auth: { type: 'oauth2-client-credentials', tokenUrl: 'http://auth.test/token', clientId: 'c', clientSecret: '${AB_PROBE_UNSET_SECRET}' } }],
      },
      {},
      undefined,
      { deferSecrets: true },
    );
    const f = fakeFetch(() => Promise.reject(new Error('not to be called')));
    const r = await probeTelematicsAuth(config.telematics[0]!, 0, { fetch: f.fetch });
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^telematics\.0\.auth\.clientSecret: environment variable AB_PROBE_UNSET_SECRET is not set/);
    expect(f.calls).toEqual([]);
  });

  it('static credentials are not sent', async () => {
    const f = fakeFetch(() => Promise.reject(new Error('not to be called')));
    expect(await probeTelematicsAuth(feed({ auth: { type: 'bearer', token: 'feed-Bearer-Token-1' } }), 0, { fetch: f.fetch })).toEqual({ ok: true, tried: false, detail: 'bearer credentials are sent with each request' });
    expect(f.calls).toEqual([]);
  });
});
