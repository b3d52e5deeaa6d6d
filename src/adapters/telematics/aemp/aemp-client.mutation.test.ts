/**
 * Mutation-audit tests for the ISO client: retry counts after a 429 and a 5xx, Retry-After, the
 * 5xx retry's short budget wait, repeated hrefs in a walk, and how far ahead a walk asks.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock, MemoryKv } from '../../../../simulators/trackunit/test-support.js';
import { telematicsSchema } from '../../../config/telematics-schema.js';
import { bearerCredentials } from '../auth/static-credentials.js';
import { resolveProvider } from '../vendor-profiles.js';
import { AempClient, AempRequestError, type WalkedPage } from './aemp-client.js';
import { ProviderRateLimiter, RequestBudget } from './request-budget.js';

const BASE = 'https://feed.example/aemp';
const T0 = Date.UTC(2025, 2, 4);
const link = (rel: string, n: number) => ({ rel, href: `${BASE}/Fleet/${n}` });
const okPage = (n: number, links: { rel: string; href: string }[]) =>
  Response.json({ Links: links, Equipment: [{ EquipmentHeader: { PIN: `PIN${n}` }, Location: { datetime: '2025-03-04T00:00:00Z', Latitude: 1, Longitude: 2 } }] });

/** A feed answering each request to a path with the next of its scripted responses (the last one repeats). */
function scripted(script: Record<string, (() => Response)[]>) {
  const hits = new Map<string, number>();
  const fetchImpl = ((input: string | URL | Request) => {
    const path = new URL(input instanceof Request ? input.url : input).pathname.replace('/aemp', '');
    const n = hits.get(path) ?? 0;
    hits.set(path, n + 1);
    const answers = script[path];
    if (!answers) return Promise.resolve(Response.json({ status: 404, message: 'no such page' }, { status: 404 }));
    return Promise.resolve((answers[Math.min(n, answers.length - 1)] as () => Response)());
  }) as typeof fetch;
  return { fetchImpl, hits };
}

function client(fetchImpl: typeof fetch, vendor: 'generic' | 'trackunit' = 'generic') {
  const clock = new FakeClock(T0);
  const config = telematicsSchema.parse({ name: 'feed', vendor, baseUrl: BASE, auth: { type: 'bearer', token: 'k-123456' } });
  const provider = resolveProvider(config);
  const budget = new RequestBudget({ store: new MemoryKv(), provider: 'feed', profile: provider.profile, clock, sleep: clock.sleep, limiter: new ProviderRateLimiter(provider.profile.perSecond) });
  return { clock, budget, client: new AempClient({ provider, credentials: bearerCredentials('k-123456'), budget, fetch: fetchImpl, clock, sleep: clock.sleep }) };
}

async function collect(gen: AsyncGenerator<WalkedPage>): Promise<WalkedPage[]> {
  const pages: WalkedPage[] = [];
  for await (const p of gen) pages.push(p);
  return pages;
}

const tooMany = (headers: Record<string, string> = {}) => () => new Response('', { status: 429, headers });
const serverError = (status = 500) => () => Response.json({ status, message: 'upstream broke' }, { status });

describe('AempClient retries', () => {
  // Kills: `rateLimitRetries-- <= 0` → `< 0` (a third request after two 429s).
  it('sends a URL that answers 429 at most twice, then stops so the budget can recover', async () => {
    const feed = scripted({ '/Fleet/1': [tooMany()] });
    const { client: c } = client(feed.fetchImpl);
    const err = await c.fetchDocument(`${BASE}/Fleet/1`, 'fleet').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AempRequestError);
    expect((err as AempRequestError).message).toMatch(/answered 429 twice/);
    expect((err as AempRequestError).status).toBe(429);
    expect(feed.hits.get('/Fleet/1')).toBe(2);
  });

  // Kills: Retry-After not read (the profile's 5-minute cooldown instead of the server's 30 s).
  it("waits out the server's Retry-After instead of the profile's longer cooldown", async () => {
    const feed = scripted({ '/Fleet/1': [tooMany({ 'Retry-After': '30' }), () => okPage(1, [link('self', 1), link('last', 1)])] });
    const { client: c, clock } = client(feed.fetchImpl);
    const page = await c.fetchDocument(`${BASE}/Fleet/1`, 'fleet', { maxWaitMs: 60_000 });
    expect(page.document.kind).toBe('fleet');
    expect(feed.hits.get('/Fleet/1')).toBe(2);
    expect(clock.now() - T0).toBeGreaterThanOrEqual(30_000);
    expect(clock.now() - T0).toBeLessThan(60_000);
  });

  // Kills: `status >= 500` → `> 500` (HTTP 500 treated as fatal).
  it('retries an HTTP 500 and returns the page the retry got', async () => {
    const feed = scripted({ '/Fleet/1': [serverError(500), () => okPage(1, [link('self', 1), link('last', 1)])] });
    const { client: c } = client(feed.fetchImpl);
    const page = await c.fetchDocument(`${BASE}/Fleet/1`, 'fleet');
    expect(page.document.kind === 'fleet' && page.document.equipment).toHaveLength(1);
    expect(feed.hits.get('/Fleet/1')).toBe(2);
    expect(c.stats.http5xx).toBe(1);
  });

  // Kills: `serverRetries-- > 0` → `>= 0` (a third retry).
  it('gives up on a server that keeps failing after two retries', async () => {
    const feed = scripted({ '/Fleet/1': [serverError(503)] });
    const { client: c } = client(feed.fetchImpl);
    await expect(c.fetchDocument(`${BASE}/Fleet/1`, 'fleet')).rejects.toThrow(/failed on the server \(HTTP 503: upstream broke\)/);
    expect(feed.hits.get('/Fleet/1')).toBe(3);
  });

  // Kills: the 5xx retry waiting the whole per-URL interval (maxWaitMs not capped at 30 s), and a
  // retry that cannot get budget reporting the budget instead of the server failure.
  it('does not wait out a 15-minute per-URL interval to retry a 5xx: it reports the server failure', async () => {
    const feed = scripted({ '/Fleet/1': [serverError(502), () => okPage(1, [link('self', 1), link('last', 1)])] });
    const { client: c, clock } = client(feed.fetchImpl, 'trackunit');
    const err = await c.fetchDocument(`${BASE}/Fleet/1`, 'fleet').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AempRequestError);
    expect(err).toMatchObject({ status: 502, retryable: true });
    expect((err as Error).message).toMatch(/failed on the server \(HTTP 502.*; not retried now: .*may not be requested before/);
    expect(feed.hits.get('/Fleet/1')).toBe(1);
    expect(clock.now() - T0).toBeLessThan(15 * 60_000);
  });
});

describe('AempClient.walk links', () => {
  // Kills: the confirmed next URL not added to `visited` (a cycle back to page 2 is walked again).
  it('stops when a later page links back to a page read earlier in the walk', async () => {
    const feed = scripted({
      '/Fleet/1': [() => okPage(1, [link('self', 1), link('next', 2)])],
      '/Fleet/2': [() => okPage(2, [link('self', 2), link('next', 3)])],
      '/Fleet/3': [() => okPage(3, [link('self', 3), link('next', 2)])],
    });
    const { client: c } = client(feed.fetchImpl);
    const pages = await collect(c.walk(`${BASE}/Fleet/1`, 'fleet', { maxPages: 10 }));
    expect(pages.map((p) => p.url)).toEqual([1, 2, 3].map((n) => `${BASE}/Fleet/${n}`));
    expect(pages.at(-1)?.stop).toBe('repeated-href');
    expect(feed.hits.get('/Fleet/2')).toBe(1);
  });

  // Kills: `k <= lookahead + 1` → `k <= lookahead + 2` (one guess more than asked for).
  it('requests no more pages ahead than the lookahead asks for', async () => {
    const feed = scripted({
      '/Fleet/1': [() => okPage(1, [link('self', 1), link('next', 3), link('last', 6)])],
      '/Fleet/3': [() => okPage(3, [link('self', 3), link('next', 6), link('last', 6)])],
      '/Fleet/6': [() => okPage(6, [link('self', 6), link('last', 6)])],
    });
    const { client: c } = client(feed.fetchImpl);
    const pages = await collect(c.walk(`${BASE}/Fleet/1`, 'fleet', { lookahead: 1 }));
    expect(pages.map((p) => p.url)).toEqual([1, 3, 6].map((n) => `${BASE}/Fleet/${n}`));
    // One guess after the confirmed next page 3 (page 4), none further.
    expect(feed.hits.get('/Fleet/4')).toBe(1);
    expect(feed.hits.has('/Fleet/5')).toBe(false);
  });
});
