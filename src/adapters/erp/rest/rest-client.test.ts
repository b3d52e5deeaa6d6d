import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../core/errors/errors.js';
import { restDestinationSchema } from '../../../config/schema.js';
import { RestClient, resolveRestAuth } from './rest-client.js';

const base = { name: 'erp', type: 'rest', baseUrl: 'https://erp.example/tenant' } as const;

describe('REST destination auth config', () => {
  it('keeps the token shorthand working and resolves it to bearer auth', () => {
    const config = restDestinationSchema.parse({ ...base, token: 'abc' });
    expect(resolveRestAuth(config)).toEqual({ type: 'bearer', token: 'abc' });
    expect(resolveRestAuth(restDestinationSchema.parse(base))).toBeUndefined();
  });

  it('fills OAuth2 defaults', () => {
    const config = restDestinationSchema.parse({
      ...base,
      auth: { type: 'oauth2-client-credentials', tokenUrl: 'https://idp.example/token', clientId: 'id', clientSecret: 's' },
    });
    expect(config.auth).toEqual({
      type: 'oauth2-client-credentials',
      tokenUrl: 'https://idp.example/token',
      clientId: 'id',
      clientSecret: 's',
      clientAuth: 'body',
      expiryMarginMs: 60_000,
    });
    expect(config.batch).toBeUndefined();
  });

  it('refuses token and auth together, naming the key', () => {
    const parsed = restDestinationSchema.safeParse({ ...base, token: 'a', auth: { type: 'bearer', token: 'b' } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['auth'], message: expect.stringContaining('either `token` or `auth`') });
  });

  it('defaults the batch endpoint when batching is switched on', () => {
    expect(restDestinationSchema.parse({ ...base, batch: {} }).batch).toEqual({ path: '/api/v1/$batch', maxSize: 50 });
    expect(restDestinationSchema.safeParse({ ...base, batch: { maxSize: 0 } }).success).toBe(false);
  });
});

describe('RestClient', () => {
  it('joins paths under the base URL', () => {
    const client = new RestClient(restDestinationSchema.parse(base));
    expect(client.urlFor('/api/v1/x')).toBe('https://erp.example/tenant/api/v1/x');
  });

  it('refuses to send credentials to another origin (e.g. a hostile next link)', async () => {
    let called = false;
    const fetch = (() => {
      called = true;
      return Promise.resolve(new Response('{}'));
    }) as typeof globalThis.fetch;
    const client = new RestClient(restDestinationSchema.parse({ ...base, token: 't' }), { fetch });
    const outcome = await client.request({ method: 'GET', url: 'https://evil.example/api/v1/work-orders' });
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error).toBeInstanceOf(PermanentError);
    expect(called).toBe(false);
  });
});

describe('REST client redaction', () => {
  it('scrubs the value of a credential header of any name the ERP echoes (X-Password, X-Client-Credential)', async () => {
    const echo = ((_url: string, init: RequestInit) => Promise.resolve(Response.json({ error: { message: `rejected ${JSON.stringify(init.headers)}` } }, { status: 400 }))) as unknown as typeof fetch;
    const config = restDestinationSchema.parse({ ...base, headers: { 'X-Password': 'hdr-pass-789', 'X-Client-Credential': 'hdr-cred-012', 'X-Tenant': 'tenant-acme' } });
    const outcome = await new RestClient(config, { fetch: echo }).request({ method: 'GET', path: '/x' });
    expect(outcome.ok).toBe(false);
    const recorded = JSON.stringify(outcome.exchange) + (outcome.ok ? '' : outcome.error.message);
    expect(recorded).not.toMatch(/hdr-pass-789|hdr-cred-012/);
  });

  it('scrubs the value of every configured header the ERP echoes whatever its name (X-Tenant), but for a harmless name (Accept-Language, User-Agent)', async () => {
    const echo = ((_url: string, init: RequestInit) => Promise.resolve(Response.json({ error: { message: `rejected ${JSON.stringify(init.headers)}` } }, { status: 400 }))) as unknown as typeof fetch;
    const headers = { 'X-Tenant': 'tenant-acme-8842', 'X-Plant': 'plant-1100-north', 'Accept-Language': 'de-DE', 'User-Agent': 'fleet-sync/2.1' };
    const outcome = await new RestClient(restDestinationSchema.parse({ ...base, headers }), { fetch: echo }).request({ method: 'GET', path: '/x' });
    expect(outcome.ok).toBe(false);
    const recorded = JSON.stringify(outcome.exchange) + (outcome.ok ? '' : outcome.error.message);
    expect(recorded).toContain('rejected');
    expect(recorded).not.toMatch(/tenant-acme-8842|plant-1100-north/);
    // A header that says how to talk reads as sent.
    expect(recorded).toContain('de-DE');
    expect(recorded).toContain('fleet-sync/2.1');
  });

  it('scrubs signature, HMAC and access-code headers the ERP echoes (X-Tenant-Sig, X-Hmac, X-Access-Code)', async () => {
    const echo = ((_url: string, init: RequestInit) => Promise.resolve(new Response(`Internal error: headers were ${JSON.stringify(init.headers)}`, { status: 500 }))) as unknown as typeof fetch;
    const headers = { 'X-Tenant-Sig': 'SIGHDR-S3CR3T-3333', 'X-Hmac': 'HMAC-S3CR3T-4444', 'X-Access-Code': 'CODE-S3CR3T-5555' };
    const outcome = await new RestClient(restDestinationSchema.parse({ ...base, headers }), { fetch: echo }).request({ method: 'GET', path: '/x' });
    expect(outcome.ok).toBe(false);
    const recorded = JSON.stringify(outcome.exchange) + (outcome.ok ? '' : outcome.error.message);
    expect(recorded).toContain('Internal error');
    expect(recorded).not.toContain('S3CR3T');
  });
});

describe('RestClient OAuth2 tokens refused by the ERP', () => {
  const oauth = {
    ...base,
    auth: { type: 'oauth2-client-credentials', tokenUrl: 'https://login.example/token', clientId: 'ab', clientSecret: 'client-secret-1' },
  } as const;

  /** A token endpoint minting at-1, at-2, …; the ERP answers each request when the test says, with the status it says. */
  function erpWithTokens() {
    let minted = 0;
    const pending: { token: string; answer: (status: number) => void }[] = [];
    const fetch = ((url: string, init: RequestInit) => {
      if (url === 'https://login.example/token') {
        minted++;
        return Promise.resolve(Response.json({ access_token: `at-${minted}`, expires_in: 3600 }));
      }
      const token = String((init.headers as Record<string, string>).Authorization).replace('Bearer ', '');
      return new Promise<Response>((resolve) => pending.push({ token, answer: (status) => resolve(Response.json(status === 200 ? { ok: true } : { error: { code: 'InvalidToken', message: 'the access token is not valid' } }, { status })) }));
    }) as unknown as typeof globalThis.fetch;
    const next = async (): Promise<{ token: string; answer: (status: number) => void }> => {
      for (let i = 0; i < 100 && pending.length === 0; i++) await new Promise((r) => setTimeout(r, 1));
      const p = pending.shift();
      if (!p) throw new Error('no request reached the ERP');
      return p;
    };
    return { fetch, next, minted: () => minted };
  }

  it('scrubs a replaced token that a late answer to a request carrying it echoes', async () => {
    let minted = 0;
    const answers: ((status: number) => void)[] = [];
    const fetch = ((url: string, init: RequestInit) => {
      if (url === 'https://login.example/token') return Promise.resolve(Response.json({ access_token: `minted-token-${++minted}`, expires_in: 3600 }));
      const authorization = String((init.headers as Record<string, string>).Authorization);
      return new Promise<Response>((resolve) => answers.push((status) => resolve(Response.json({ error: { code: 'InvalidToken', message: `token ${authorization.slice(7)} was revoked` } }, { status }))));
    }) as unknown as typeof globalThis.fetch;
    const client = new RestClient(restDestinationSchema.parse(oauth), { fetch });
    const late = client.request({ method: 'GET', path: '/a' });
    for (let i = 0; i < 100 && answers.length === 0; i++) await new Promise((r) => setTimeout(r, 1));
    await client.refreshAuth(); // another request's 401 replaced minted-token-1 meanwhile
    answers.shift()?.(401);
    const outcome = await late;
    expect(outcome.ok).toBe(false);
    const recorded = JSON.stringify(outcome.exchange) + (outcome.ok ? '' : outcome.error.message);
    expect(recorded).toContain('InvalidToken');
    expect(recorded).not.toContain('minted-token-1');
  });

  it("mints one new token for requests refused for the same old one: a late 401 of the old token does not drop the new one (a refresh each would churn tokens)", async () => {
    const erp = erpWithTokens();
    const client = new RestClient(restDestinationSchema.parse(oauth), { fetch: erp.fetch });
    // Two requests in flight with at-1, which the ERP stopped taking (revoked, rotated).
    const a = client.request({ method: 'GET', path: '/a' });
    const first = await erp.next();
    const b = client.request({ method: 'GET', path: '/b' });
    const second = await erp.next();
    expect([first.token, second.token]).toEqual(['at-1', 'at-1']);
    // b is refused first: its refresh mints at-2.
    second.answer(401);
    expect((await b).ok).toBe(false);
    await client.refreshAuth();
    expect(erp.minted()).toBe(2);
    // a's refusal of at-1 comes after: at-2 is kept, and its refresh mints nothing more.
    first.answer(401);
    expect((await a).ok).toBe(false);
    await client.refreshAuth();
    expect(erp.minted()).toBe(2);
    const c = client.request({ method: 'GET', path: '/c' });
    const third = await erp.next();
    expect(third.token).toBe('at-2');
    third.answer(200);
    expect((await c).ok).toBe(true);
    // A refusal of the token in use is a refusal still: the next refresh mints.
    const d = client.request({ method: 'GET', path: '/d' });
    (await erp.next()).answer(401);
    expect((await d).ok).toBe(false);
    await client.refreshAuth();
    expect(erp.minted()).toBe(3);
  });
});

describe('RestClient OAuth2 token request bound', () => {
  const auth = { type: 'oauth2-client-credentials', tokenUrl: 'https://login.example/token', clientId: 'ab', clientSecret: 'client-secret-1' } as const;

  it('bounds the token request by auth.timeoutMs, apart from the destination timeoutMs; refuses one too short, naming the key', async () => {
    const hang = ((_url: string, init: RequestInit) =>
      new Promise<Response>((_resolve, reject) => (init.signal as AbortSignal).addEventListener('abort', () => reject((init.signal as AbortSignal).reason as Error), { once: true }))) as unknown as typeof fetch;
    const config = restDestinationSchema.parse({ ...base, timeoutMs: '10m', auth: { ...auth, timeoutMs: '100ms' } });
    expect(config.auth).toMatchObject({ timeoutMs: 100 });
    const outcome = await new RestClient(config, { fetch: hang }).request({ method: 'GET', path: '/x' });
    expect(outcome).toMatchObject({ ok: false, tokenEndpoint: true });
    expect(!outcome.ok && outcome.error.message).toContain('no response within 100 ms');
    const short = restDestinationSchema.safeParse({ ...base, auth: { ...auth, timeoutMs: 5 } });
    expect(short.error?.issues[0]).toMatchObject({ path: ['auth', 'timeoutMs'], message: expect.stringContaining('too short for an answer to arrive') });
  });
});
