import { describe, expect, it } from 'vitest';
import { DEFAULT_SIM_CREDENTIALS, ISO_BASE_PATH, createTrackunitSimulator } from '../../../../simulators/trackunit/simulator.js';
import { telematicsAuthSchema } from '../../../config/telematics-schema.js';
import { VENDOR_PROFILES } from '../vendor-profiles.js';
import { authorizedFetch } from './authorized-fetch.js';
import { createCredentials } from './create-credentials.js';
import { TelematicsAuthError } from './credentials.js';
import { OAuth2TokenSource } from './oauth2-token-source.js';
import { bearerCredentials } from './static-credentials.js';

const ORIGIN = 'http://sim.test';
const T0 = Date.UTC(2025, 2, 4, 3, 0, 0);

function simWithClock() {
  const clock = { t: T0, now: () => clock.t };
  const sim = createTrackunitSimulator({ fleetSize: 150, now: clock.now });
  const fetchImpl = ((input: string | URL | Request, init?: RequestInit) => sim.app.request(input, init)) as typeof fetch;
  return { sim, clock, fetchImpl };
}

const legacy = DEFAULT_SIM_CREDENTIALS.legacy;
const v2 = DEFAULT_SIM_CREDENTIALS.v2;
const fleetUrl = `${ORIGIN}${ISO_BASE_PATH}/Fleet/1`;

describe('Trackunit legacy password grant', () => {
  it('mints with Basic client auth, caches, and renews with the refresh token shortly before expiry', async () => {
    const { sim, clock, fetchImpl } = simWithClock();
    const auth = telematicsAuthSchema.parse({ type: 'trackunit-password', ...legacy, tokenUrl: `${ORIGIN}/token` });
    const creds = createCredentials(auth, { label: 'tu', dialect: VENDOR_PROFILES.trackunit.token, fetch: fetchImpl, clock });
    const first = await creds.authorization();
    expect(first).toMatch(/^Bearer legacy\./);
    clock.t += 3_000_000; // 50 min: still well inside 3600 s
    expect(await creds.authorization()).toBe(first);
    expect(sim.stats.tokenRequests).toBe(1);
    clock.t = T0 + 3_600_000 - 30_000; // 30 s before expiry: inside the renewal margin
    const renewed = await creds.authorization();
    expect(renewed).not.toBe(first);
    expect(sim.stats.tokenRequests).toBe(2);
    expect((creds as OAuth2TokenSource).stats.refreshes).toBe(1);
    const res = await fetchImpl(fleetUrl, { headers: { Authorization: renewed } });
    expect(res.status).toBe(200);
  });

  it('without offline_access there is no refresh token and renewal repeats the password grant', async () => {
    const { clock, fetchImpl } = simWithClock();
    const auth = telematicsAuthSchema.parse({ type: 'trackunit-password', ...legacy, offlineAccess: false, tokenUrl: `${ORIGIN}/token` });
    const creds = createCredentials(auth, { label: 'tu', dialect: VENDOR_PROFILES.trackunit.token, fetch: fetchImpl, clock }) as OAuth2TokenSource;
    await creds.authorization();
    clock.t += 3_600_000;
    await creds.authorization();
    expect(creds.stats).toMatchObject({ requests: 2, refreshes: 0 });
  });

  it('falls back to the password grant once when the refresh token is refused', async () => {
    const clock = { t: T0, now: () => clock.t };
    const grants: string[] = [];
    const fetchImpl = ((_url: string, init: RequestInit) => {
      const grant = new URLSearchParams(init.body as string).get('grant_type') ?? '';
      grants.push(grant);
      if (grant === 'refresh_token') return Promise.resolve(Response.json({ error: 'invalid_grant', error_description: 'Refresh token expired' }, { status: 400 }));
      return Promise.resolve(Response.json({ access_token: `t${grants.length}`, token_type: 'Bearer', expires_in: 3600, refresh_token: 'r1' }));
    }) as unknown as typeof fetch;
    const auth = telematicsAuthSchema.parse({ type: 'trackunit-password', ...legacy, tokenUrl: `${ORIGIN}/token` });
    const creds = createCredentials(auth, { label: 'tu', dialect: VENDOR_PROFILES.trackunit.token, fetch: fetchImpl, clock });
    expect(await creds.authorization()).toBe('Bearer t1');
    clock.t += 3_600_000;
    expect(await creds.authorization()).toBe('Bearer t3');
    expect(grants).toEqual(['password', 'refresh_token', 'password']);
  });

  it('reports wrong credentials with the server reason and without any secret', async () => {
    const { fetchImpl } = simWithClock();
    const auth = telematicsAuthSchema.parse({ type: 'trackunit-password', ...legacy, password: 'wrong-password-123', tokenUrl: `${ORIGIN}/token` });
    const creds = createCredentials(auth, { label: 'tu', dialect: VENDOR_PROFILES.trackunit.token, fetch: fetchImpl });
    const err = await creds.authorization().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TelematicsAuthError);
    expect((err as TelematicsAuthError).retryable).toBe(false);
    expect((err as Error).message).toContain('invalid_grant');
    expect((err as Error).message).not.toContain('wrong-password-123');
    expect((err as Error).message).not.toContain(legacy.clientSecret);
  });
});

describe('Trackunit API Tokens v2', () => {
  it('sends the client credentials in the body and gets a 1200 s token without refresh token', async () => {
    const { sim, clock, fetchImpl } = simWithClock();
    const auth = telematicsAuthSchema.parse({ type: 'trackunit-token-v2', clientId: v2.clientId, clientSecret: v2.clientSecret, scopes: ['aemp.view'], tokenUrl: `${ORIGIN}/token/v2` });
    const creds = createCredentials(auth, { label: 'tu', dialect: VENDOR_PROFILES.trackunit.token, fetch: fetchImpl, clock }) as OAuth2TokenSource;
    const token = await creds.authorization();
    expect(token).toMatch(/^Bearer v2\./);
    clock.t += 1_200_000 - 61_000;
    expect(await creds.authorization()).toBe(token);
    clock.t += 2_000;
    expect(await creds.authorization()).not.toBe(token);
    expect(creds.stats).toMatchObject({ requests: 2, refreshes: 0 });
    expect(sim.stats.tokenRequests).toBe(2);
  });

  it('explains an invalid scope', async () => {
    const { fetchImpl } = simWithClock();
    const auth = telematicsAuthSchema.parse({ type: 'trackunit-token-v2', clientId: v2.clientId, clientSecret: v2.clientSecret, scopes: ['rental.manage'], tokenUrl: `${ORIGIN}/token/v2` });
    const creds = createCredentials(auth, { label: 'tu', dialect: VENDOR_PROFILES.trackunit.token, fetch: fetchImpl });
    await expect(creds.authorization()).rejects.toThrow(/invalid_scope: Scope not allowed: rental\.manage/);
  });

  it('concurrent callers share one token request', async () => {
    const { sim, fetchImpl } = simWithClock();
    const auth = telematicsAuthSchema.parse({ type: 'trackunit-token-v2', clientId: v2.clientId, clientSecret: v2.clientSecret, tokenUrl: `${ORIGIN}/token/v2` });
    const creds = createCredentials(auth, { label: 'tu', dialect: VENDOR_PROFILES.trackunit.token, fetch: fetchImpl });
    const headers = await Promise.all([creds.authorization(), creds.authorization(), creds.authorization()]);
    expect(new Set(headers).size).toBe(1);
    expect(sim.stats.tokenRequests).toBe(1);
  });
});

describe('401 handling', () => {
  it('re-mints once when a token stops working mid-use', async () => {
    const { sim, fetchImpl } = simWithClock();
    const auth = telematicsAuthSchema.parse({ type: 'trackunit-token-v2', clientId: v2.clientId, clientSecret: v2.clientSecret, tokenUrl: `${ORIGIN}/token/v2` });
    const creds = createCredentials(auth, { label: 'tu', dialect: VENDOR_PROFILES.trackunit.token, fetch: fetchImpl });
    const ok = await authorizedFetch(creds, fleetUrl, { headers: { Accept: 'application/json' } }, fetchImpl);
    expect(ok).toMatchObject({ reminted: false });
    expect(ok.response.status).toBe(200);
    sim.expireAllTokens();
    const again = await authorizedFetch(creds, `${ORIGIN}${ISO_BASE_PATH}/Fleet/2`, { headers: { Accept: 'application/json' } }, fetchImpl);
    expect(again.reminted).toBe(true);
    expect(again.response.status).toBe(200);
    expect(sim.stats.tokenRequests).toBe(2);
  });

  it('never loops: a server that always answers 401 sees exactly two requests', async () => {
    let calls = 0;
    let tokens = 0;
    const fetchImpl = ((url: string) => {
      if (url.endsWith('/token')) {
        tokens++;
        return Promise.resolve(Response.json({ access_token: `t${tokens}`, token_type: 'Bearer', expires_in: 3600 }));
      }
      calls++;
      return Promise.resolve(new Response('{"status":401}', { status: 401 }));
    }) as typeof fetch;
    const creds = new OAuth2TokenSource({
      label: 'x',
      tokenUrl: 'http://x/token',
      grant: { type: 'client_credentials' },
      clientId: 'a',
      clientSecret: 'b',
      clientAuth: 'body',
      dialect: VENDOR_PROFILES.generic.token,
      fetch: fetchImpl,
    });
    const res = await authorizedFetch(creds, 'http://x/Fleet/1', {}, fetchImpl);
    expect(res.response.status).toBe(401);
    expect(calls).toBe(2);
    expect(tokens).toBe(2);
  });

  it('static credentials are not retried on 401', async () => {
    let calls = 0;
    const fetchImpl = (() => {
      calls++;
      return Promise.resolve(new Response('', { status: 401 }));
    }) as unknown as typeof fetch;
    const res = await authorizedFetch(bearerCredentials('api-key-1234'), 'http://x/Fleet/1', {}, fetchImpl);
    expect(res).toMatchObject({ reminted: false });
    expect(calls).toBe(1);
  });
});

describe('vendor token quirks come from the profile', () => {
  it('reads a plain-text token body (Develon)', async () => {
    const fetchImpl = (() => Promise.resolve(new Response('"eyJhbGciOi.abc.def"', { headers: { 'Content-Type': 'text/plain' } }))) as unknown as typeof fetch;
    const auth = telematicsAuthSchema.parse({ type: 'oauth2-password', tokenUrl: 'https://extapi.mydevelon.com/api/rest/aemp/2.0/token', username: 'u', password: 'p', clientId: 'c', clientSecret: 's' });
    const creds = createCredentials(auth, { label: 'develon', dialect: VENDOR_PROFILES.develon.token, fetch: fetchImpl });
    expect(await creds.authorization()).toBe('Bearer eyJhbGciOi.abc.def');
  });

  it('reads an XML error body (Proemion) and waits between logins', async () => {
    const sleeps: number[] = [];
    const clock = { t: T0, now: () => clock.t };
    const fetchImpl = (() =>
      Promise.resolve(
        new Response('<?xml version="1.0"?><error><code>invalid_grant</code><message>Bad credentials for user</message></error>', {
          status: 400,
          headers: { 'Content-Type': 'application/xml' },
        }),
      )) as unknown as typeof fetch;
    const creds = new OAuth2TokenSource({
      label: 'proemion',
      tokenUrl: 'http://p/token',
      grant: { type: 'password', username: 'u', password: 'secret-pw' },
      clientAuth: 'body',
      dialect: VENDOR_PROFILES.proemion.token,
      fetch: fetchImpl,
      clock,
      sleep: (ms) => {
        sleeps.push(ms);
        clock.t += ms;
        return Promise.resolve();
      },
    });
    await expect(creds.authorization()).rejects.toThrow(/HTTP 400: invalid_grant: Bad credentials for user/);
    await expect(creds.authorization()).rejects.toThrow(TelematicsAuthError);
    expect(sleeps).toEqual([1000]);
  });

  it('a token endpoint that echoes the request back never shows the client secret, not even inside the Basic header it was sent in', async () => {
    const echo = ((_url: string, init: RequestInit) => {
      const auth = (init.headers as Record<string, string>).Authorization ?? '';
      return Promise.resolve(Response.json({ error: 'invalid_request', error_description: `bad request ${typeof init.body === "string" ? init.body : ""} authorization=${auth}` }, { status: 400 }));
    }) as unknown as typeof fetch;
    const auth = telematicsAuthSchema.parse({ type: 'trackunit-password', username: 'api-user', password: 'pw-secret-1', clientId: 'cid-1', clientSecret: 'cs-secret-2', tokenUrl: 'http://tu/token' });
    const creds = createCredentials(auth, { label: 'tu', dialect: VENDOR_PROFILES.trackunit.token, fetch: echo });
    const basic = Buffer.from('cid-1:cs-secret-2').toString('base64');
    const err = await creds.authorization().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/HTTP 400: invalid_request: bad request .*authorization=Basic \[REDACTED\]/);
    for (const leaked of [basic, 'cs-secret-2', 'pw-secret-1']) expect(err?.message).not.toContain(leaked);
    expect(creds.secrets()).toContain(basic);
  });

  it('a token endpoint that echoes the form back never shows a password with @, + or a space in it (percent-encoded there)', async () => {
    const echo = ((_url: string, init: RequestInit) =>
      Promise.resolve(new Response(`invalid_grant: bad request ${typeof init.body === 'string' ? init.body.replace(/&/g, ' ') : ''}`, { status: 400 }))) as unknown as typeof fetch;
    const auth = telematicsAuthSchema.parse({ type: 'trackunit-password', username: 'api-user', password: 'p@ss w/S3CR3T+1', clientId: 'cid-1', clientSecret: 'c$ "S3CR3T"+2', tokenUrl: 'http://tu/token' });
    const creds = createCredentials(auth, { label: 'tu', dialect: VENDOR_PROFILES.trackunit.token, fetch: echo });
    const err = await creds.authorization().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/HTTP 400: .*bad request/);
    expect(err?.message).not.toContain('S3CR3T');
  });

  it('a plain-text body is refused where the profile expects JSON', async () => {
    const fetchImpl = (() => Promise.resolve(new Response('abc.def'))) as unknown as typeof fetch;
    const creds = new OAuth2TokenSource({ label: 'g', tokenUrl: 'http://g/token', grant: { type: 'client_credentials' }, clientAuth: 'body', dialect: VENDOR_PROFILES.generic.token, fetch: fetchImpl });
    await expect(creds.authorization()).rejects.toThrow(/expected a JSON token response/);
  });

  it('a token answer whose JSON is cut short is retryable and names no tokenUrl', async () => {
    const answer = (text: string) => (() => Promise.resolve(new Response(text, { status: 200 }))) as unknown as typeof fetch;
    const source = (fetchImpl: typeof fetch) =>
      new OAuth2TokenSource({ label: 'g', configKey: 'telematics.0.auth', tokenUrl: 'http://g/token', grant: { type: 'client_credentials' }, clientAuth: 'body', dialect: VENDOR_PROFILES.generic.token, fetch: fetchImpl });
    const cut = await source(answer('{"access_token":"abc","expires_in":36')).authorization().then(
      () => undefined,
      (e: unknown) => e as TelematicsAuthError,
    );
    expect(cut).toBeInstanceOf(TelematicsAuthError);
    expect(cut).toMatchObject({ retryable: true, cutShort: true, status: 200 });
    expect(cut?.message).toMatch(/^g: client_credentials token response from http:\/\/g\/token → HTTP 200, but the token response is JSON cut short \(37 characters, .*\); the token endpoint answered at this address, and the answer was cut short/);
    expect(cut?.message).not.toContain('tokenUrl');
  });

  it('the errors quote the tokenUrl with its credentials hidden: a password in it, a key in its query', async () => {
    const tokenUrl = 'http://gw-user:Gw-Pa55word@g/token?code=Fn-Key-S3cret&tenant=t1';
    const source = (fetchImpl: typeof fetch) =>
      new OAuth2TokenSource({ label: 'g', configKey: 'telematics.0.auth', tokenUrl, grant: { type: 'client_credentials' }, clientAuth: 'body', dialect: VENDOR_PROFILES.generic.token, fetch: fetchImpl });
    const failure = (fetchImpl: typeof fetch) => source(fetchImpl).authorization().then(() => { throw new Error('a token was had'); }, (e: unknown) => e as TelematicsAuthError);
    const answer = (text: string) => (() => Promise.resolve(new Response(text, { status: 200 }))) as unknown as typeof fetch;
    const messages = [
      (await failure(answer('<html>Sign in</html>'))).message, // no token: another page at that address
      (await failure(answer('{"access_token":"ab'))).message, // cut short
      (await failure(() => Promise.reject(new TypeError('fetch failed')))).message, // not reached
    ];
    for (const message of messages) {
      expect(message).toContain('http://gw-user:%5BREDACTED%5D@g/token?code=%5BREDACTED%5D&tenant=t1');
      expect(message).not.toMatch(/Gw-Pa55word|Fn-Key-S3cret/);
    }
  });

  it("an answer that is no token (a login page at the token URL) names the feed's tokenUrl key", async () => {
    const fetchImpl = (() => Promise.resolve(new Response('<html>Sign in</html>', { status: 200, headers: { 'content-type': 'text/html' } }))) as unknown as typeof fetch;
    const auth = telematicsAuthSchema.parse({ type: 'trackunit-password', ...legacy, tokenUrl: `${ORIGIN}/login` });
    const creds = createCredentials(auth, { label: 'tu', configKey: 'telematics.1.auth', dialect: VENDOR_PROFILES.trackunit.token, fetch: fetchImpl });
    await expect(creds.authorization()).rejects.toThrow(
      /^tu: unexpected password token response from http:\/\/sim\.test\/login: expected a JSON token response, got a body that is not JSON; check telematics\.1\.auth\.tokenUrl: it should be the provider's token endpoint$/,
    );
  });
});
