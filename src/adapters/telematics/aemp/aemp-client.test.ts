import { describe, expect, it } from 'vitest';
import { FakeClock, MemoryKv } from '../../../../simulators/trackunit/test-support.js';
import { telematicsSchema } from '../../../config/telematics-schema.js';
import { bearerCredentials } from '../auth/static-credentials.js';
import { resolveProvider } from '../vendor-profiles.js';
import { AempClient, type WalkedPage } from './aemp-client.js';
import { ProviderRateLimiter, RequestBudget } from './request-budget.js';

const BASE = 'https://feed.example/aemp';

/** A feed whose pages link as `links[n]` says; counts requests per path. */
function fakeFeed(links: Record<number, { rel: string; href: string }[]>) {
  const hits = new Map<string, number>();
  const fetchImpl = ((input: string | URL | Request) => {
    const url = new URL(input instanceof Request ? input.url : input);
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    const n = Number(url.pathname.split('/').pop());
    const pageLinks = links[n];
    if (!pageLinks) return Promise.resolve(Response.json({ status: 404, message: 'no such page' }, { status: 404 }));
    const equipment = [{ EquipmentHeader: { PIN: `PIN${n}`, OEMName: 'X' }, Location: { datetime: '2025-03-04T00:00:00Z', Latitude: 1, Longitude: 2 } }];
    return Promise.resolve(Response.json({ Links: pageLinks, Equipment: equipment }));
  }) as typeof fetch;
  return { fetchImpl, hits };
}

function client(fetchImpl: typeof fetch, overrides: Record<string, unknown> = {}) {
  const clock = new FakeClock(Date.UTC(2025, 2, 4));
  const config = telematicsSchema.parse({ name: 'feed', vendor: 'generic', baseUrl: BASE, auth: { type: 'bearer', token: 'k-123456' }, ...overrides });
  const provider = resolveProvider(config);
  const budget = new RequestBudget({ store: new MemoryKv(), provider: 'feed', profile: provider.profile, clock, sleep: clock.sleep, limiter: new ProviderRateLimiter(provider.profile.perSecond) });
  return new AempClient({ provider, credentials: bearerCredentials('k-123456'), budget, fetch: fetchImpl, clock, sleep: clock.sleep });
}

async function collect(gen: AsyncGenerator<WalkedPage>): Promise<WalkedPage[]> {
  const pages: WalkedPage[] = [];
  for await (const p of gen) pages.push(p);
  return pages;
}

const link = (rel: string, n: number) => ({ rel, href: `${BASE}/Fleet/${n}` });

describe('AempClient.walk', () => {
  it('stops when a next link points back to a page already read', async () => {
    const feed = fakeFeed({ 1: [link('self', 1), link('next', 2)], 2: [link('self', 2), link('next', 1)] });
    const pages = await collect(client(feed.fetchImpl).walk(`${BASE}/Fleet/1`, 'fleet'));
    expect(pages.map((p) => p.hop)).toEqual([0, 1]);
    expect(pages.at(-1)?.stop).toBe('repeated-href');
    expect(feed.hits.get('/aemp/Fleet/1')).toBe(1);
  });

  it('follows the links, not its guesses, when page numbers skip', async () => {
    const feed = fakeFeed({
      1: [link('self', 1), link('next', 3), link('last', 5)],
      3: [link('self', 3), link('next', 5), link('last', 5)],
      5: [link('self', 5), link('last', 5)],
    });
    const pages = await collect(client(feed.fetchImpl).walk(`${BASE}/Fleet/1`, 'fleet', { lookahead: 2 }));
    expect(pages.map((p) => p.url)).toEqual([`${BASE}/Fleet/1`, `${BASE}/Fleet/3`, `${BASE}/Fleet/5`]);
    expect(pages.at(-1)?.stop).toBe('last-page');
    // The guessed Fleet/4 cost a request (answered 404) but was never used.
    expect(feed.hits.get('/aemp/Fleet/4')).toBe(1);
  });

  it('requests ahead along consecutive page numbers without requesting any page twice', async () => {
    const links: Record<number, { rel: string; href: string }[]> = {};
    for (let n = 1; n <= 6; n++) links[n] = [link('self', n), ...(n < 6 ? [link('next', n + 1)] : []), link('last', 6)];
    const feed = fakeFeed(links);
    const pages = await collect(client(feed.fetchImpl).walk(`${BASE}/Fleet/1`, 'fleet', { lookahead: 3 }));
    expect(pages).toHaveLength(6);
    expect([...feed.hits.values()]).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('stops at the hop cap without requesting beyond it', async () => {
    const links: Record<number, { rel: string; href: string }[]> = {};
    for (let n = 1; n <= 9; n++) links[n] = [link('self', n), link('next', n + 1), link('last', 9)];
    const feed = fakeFeed(links);
    const pages = await collect(client(feed.fetchImpl).walk(`${BASE}/Fleet/1`, 'fleet', { lookahead: 2, maxPages: 3 }));
    expect(pages.map((p) => p.stop)).toEqual([undefined, undefined, 'hop-cap']);
    expect(feed.hits.size).toBe(3);
  });

  it('reports a refused page with the server message and what to check', async () => {
    const feed = fakeFeed({});
    await expect(collect(client(feed.fetchImpl).walk(`${BASE}/Fleet/1`, 'fleet'))).rejects.toThrow(/Fleet\/1 was refused \(HTTP 404: no such page\); check baseUrl/);
  });
});

describe('AempClient errors quote no credentials', () => {
  it("redacts a signed link's key and a token the provider echoes, from each kind of failure", async () => {
    const signed = `${BASE}/Fleet/2?page=2&access_token=sig-abcdef123`;
    const answers: (() => Response)[] = [
      () => Response.json({ message: 'bad request, header was Authorization: Bearer k-123456' }, { status: 400 }),
      () => Response.json({ message: 'forbidden for k-123456' }, { status: 403 }),
      () => new Response('oops', { status: 200 }),
    ];
    for (const answer of answers) {
      const err = await client(() => Promise.resolve(answer()))
        .fetchDocument(signed, 'fleet')
        .catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain('Fleet/2?page=2');
      expect((err as Error).message).not.toMatch(/sig-abcdef123|k-123456/);
    }
  });
});

describe('AempClient.walk after a failed page', () => {
  it('stops pages requested ahead that still wait for budget, instead of sending them after the walk failed', async () => {
    const clock = new FakeClock(Date.UTC(2025, 2, 4));
    // Sleeps end on a timer tick (a real wait is never instant), advancing the fake clock.
    const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
      new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason as Error);
        const timer = setTimeout(() => {
          clock.advance(Math.max(0, ms));
          resolve();
        }, 1);
        signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason as Error)), { once: true });
      });
    const hits = new Map<number, number>();
    const fetchImpl = ((input: string | URL | Request) => {
      const n = Number(new URL(input instanceof Request ? input.url : input).pathname.split('/').pop());
      hits.set(n, (hits.get(n) ?? 0) + 1);
      if (n === 2) return Promise.resolve(Response.json({ status: 403, message: 'forbidden' }, { status: 403 }));
      // Page 3, requested ahead, is throttled once: it must wait out the cooldown before a retry.
      if (n === 3 && hits.get(3) === 1) return Promise.resolve(new Response('', { status: 429 }));
      const links = [link('self', n), ...(n < 5 ? [link('next', n + 1)] : []), link('last', 5)];
      return Promise.resolve(Response.json({ Links: links, Equipment: [] }));
    }) as typeof fetch;
    const config = telematicsSchema.parse({ name: 'feed', vendor: 'trackunit', baseUrl: BASE, auth: { type: 'bearer', token: 'k-123456' } });
    const provider = resolveProvider(config);
    const budget = new RequestBudget({ store: new MemoryKv(), provider: 'feed', profile: provider.profile, clock, sleep, limiter: new ProviderRateLimiter(provider.profile.perSecond) });
    const c = new AempClient({ provider, credentials: bearerCredentials('k-123456'), budget, fetch: fetchImpl, clock, sleep });
    const pages: number[] = [];
    await expect(
      (async () => {
        for await (const p of c.walk(`${BASE}/Fleet/1`, 'fleet', { lookahead: 2, maxWaitMs: 20 * 60_000 })) pages.push(p.hop);
      })(),
    ).rejects.toThrow(/forbidden/);
    expect(pages).toEqual([0]);
    // Page 3 (asked ahead) is not retried after the cooldown: that would spend budget on a page nobody
    // reads, and hold the failed walk open for the whole cooldown.
    expect(hits.get(3) ?? 0).toBeLessThanOrEqual(1);
  });
});
