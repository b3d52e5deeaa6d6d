/**
 * Mutation-audit tests for the OAuth2 token source: renewal of short-lived tokens, a throttled
 * token endpoint, and a 401 reported for a token that was already replaced.
 */
import { describe, expect, it } from 'vitest';
import { VENDOR_PROFILES } from '../vendor-profiles.js';
import { TelematicsAuthError } from './credentials.js';
import { OAuth2TokenSource } from './oauth2-token-source.js';

const T0 = Date.UTC(2025, 2, 4, 3, 0, 0);

/** A token endpoint answering each grant with `answer(grant, n)`; remembers the grants asked for. */
function endpoint(answer: (grant: string, n: number) => Response) {
  const clock = { t: T0, now: () => clock.t };
  const grants: string[] = [];
  const fetchImpl = ((_url: string, init: RequestInit) => {
    const grant = new URLSearchParams(init.body as string).get('grant_type') ?? '';
    grants.push(grant);
    return Promise.resolve(answer(grant, grants.length));
  }) as unknown as typeof fetch;
  const source = new OAuth2TokenSource({
    label: 'tu',
    tokenUrl: 'https://auth.example/token',
    grant: { type: 'password', username: 'api-user', password: 'pa55word' },
    clientId: 'client',
    clientSecret: 'secret',
    clientAuth: 'basic',
    dialect: VENDOR_PROFILES.trackunit.token,
    fetch: fetchImpl,
    clock,
  });
  return { clock, grants, source };
}

const token = (n: number, expiresIn: number, refresh?: string) =>
  Response.json({ token_type: 'Bearer', access_token: `tok-${n}`, expires_in: expiresIn, ...(refresh ? { refresh_token: refresh } : {}) });

describe('OAuth2TokenSource (mutation audit)', () => {
  // Kills: the renewal margin not capped at half the lifetime (a 60 s token renewed on every call).
  it('uses a token that lives shorter than the renewal margin for half its lifetime', async () => {
    const { clock, grants, source } = endpoint((_g, n) => token(n, 60));
    const first = await source.authorization();
    clock.t += 10_000;
    expect(await source.authorization()).toBe(first);
    expect(grants).toHaveLength(1);
    clock.t = T0 + 31_000;
    expect(await source.authorization()).not.toBe(first);
    expect(grants).toHaveLength(2);
  });

  // Kills: a 429 from the token endpoint treated as a refused grant (not retryable), which drops the
  // refresh token and repeats the password grant against a throttled endpoint.
  it('reports a throttled token endpoint as retryable and does not fall back to the password grant', async () => {
    const { clock, grants, source } = endpoint((grant, n) => (grant === 'refresh_token' ? Response.json({ error: 'slow_down' }, { status: 429 }) : token(n, 3600, 'refresh-1')));
    await source.authorization();
    clock.t += 3_600_000;
    const err = await source.authorization().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TelematicsAuthError);
    expect(err).toMatchObject({ retryable: true });
    expect((err as Error).message).toMatch(/HTTP 429.*it will be retried/);
    expect(grants).toEqual(['password', 'refresh_token']);
  });

  // Kills: `invalidate` dropping the current token when the rejected one was an older token.
  it('keeps its current token when a 401 is reported for a token it already replaced', async () => {
    const { grants, source } = endpoint((_g, n) => token(n, 3600));
    const old = await source.authorization();
    source.invalidate(old);
    const current = await source.authorization();
    expect(current).not.toBe(old);
    // A second request that was sent with the old token comes back 401 too.
    source.invalidate(old);
    expect(await source.authorization()).toBe(current);
    expect(grants).toHaveLength(2);
  });
});
