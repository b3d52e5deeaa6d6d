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
    // A header that is no credential reads as sent.
    expect(recorded).toContain('tenant-acme');
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
