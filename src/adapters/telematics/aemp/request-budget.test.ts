import { describe, expect, it } from 'vitest';
import { FakeClock, MemoryKv } from '../../../../simulators/trackunit/test-support.js';
import { VENDOR_PROFILES, resolveVendorProfile } from '../vendor-profiles.js';
import { BudgetWaitTooLongError, ProviderRateLimiter, RequestBudget, budgetNamespace } from './request-budget.js';

const T0 = Date.UTC(2025, 2, 4, 23, 0, 0);
const MIN = 60_000;

function budget(store = new MemoryKv(), clock = new FakeClock(T0), profile = VENDOR_PROFILES.trackunit) {
  return { store, clock, budget: new RequestBudget({ store, provider: 'tu', profile, clock, sleep: clock.sleep, limiter: new ProviderRateLimiter(profile.perSecond), reserveKeep: 0 }) };
}

describe('RequestBudget', () => {
  it('writes the request to the store before it goes out, so a new instance on the same store sees it', async () => {
    const { store, clock, budget: first } = budget();
    await first.acquire('u1', 'fleet');
    expect(await store.kvGet(budgetNamespace('tu'), 'u1')).toContain(`"l":${T0}`);
    const { budget: restarted } = budget(store, clock);
    await expect(restarted.acquire('u1', 'fleet', { maxWaitMs: MIN })).rejects.toThrow(BudgetWaitTooLongError);
    const grant = await restarted.acquire('u1', 'fleet', { useReserve: true, maxWaitMs: 0 });
    expect(grant).toMatchObject({ usedReserve: true, reserveLeft: 49 });
  });

  it('waits out the interval when allowed to, and says when it waits', async () => {
    const { clock, budget: b } = budget();
    await b.acquire('u1', 'fleet');
    const waits: number[] = [];
    await b.acquire('u1', 'fleet', { onWait: (w) => waits.push(w.until) });
    expect(waits).toEqual([T0 + 15 * MIN]);
    expect(clock.now()).toBeGreaterThanOrEqual(T0 + 15 * MIN);
  });

  it('serialises concurrent requests for one URL: only one gets the ordinary slot', async () => {
    const { budget: b } = budget();
    const results = await Promise.allSettled([b.acquire('u1', 'fleet', { maxWaitMs: 0 }), b.acquire('u1', 'fleet', { maxWaitMs: 0 })]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('cools a URL down after a 429 and keeps the reserve from skipping it', async () => {
    const { budget: b } = budget();
    await b.acquire('u1', 'fleet');
    await b.rateLimited('u1', 'fleet');
    const err = await b.acquire('u1', 'fleet', { useReserve: true, maxWaitMs: MIN }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BudgetWaitTooLongError);
    expect((err as Error).message).toMatch(/answered 429 and the URL is cooling down/);
    const [row] = await b.status();
    expect(row).toMatchObject({ key: 'u1', cooldownUntil: T0 + 15 * MIN, reserveLeft: 50 });
  });

  it('counts the per-URL interval from when the request went out, not from before a per-second wait', async () => {
    const { clock, budget: b } = budget();
    await b.acquire('u1', 'fleet');
    await b.rateLimited('u1', 'fleet', 30_000); // the fleet class pauses 30 s
    await b.acquire('u2', 'fleet'); // waits those 30 s before it is sent
    const sentAt = clock.now();
    expect(sentAt).toBeGreaterThanOrEqual(T0 + 30_000);
    clock.t = T0 + 15 * MIN; // 15 minutes after u2's slot was granted, not after it was sent
    await expect(b.acquire('u2', 'fleet', { maxWaitMs: 0 })).rejects.toThrow(BudgetWaitTooLongError);
    expect((await b.status()).find((r) => r.key === 'u2')).toMatchObject({ lastAt: sentAt, nextOrdinaryAt: sentAt + 15 * MIN });
  });

  it("keeps to a vendor's daily cap across URLs and reopens at UTC midnight", async () => {
    const profile = resolveVendorProfile('cat', { dailyRequestCap: 2 });
    const { clock, budget: b } = budget(new MemoryKv(), new FakeClock(T0), profile);
    await b.acquire('a', 'fleet');
    await b.acquire('b', 'fleet');
    await expect(b.acquire('c', 'fleet', { maxWaitMs: MIN })).rejects.toThrow(/daily request cap/);
    await b.acquire('c', 'fleet');
    expect(clock.now()).toBeGreaterThanOrEqual(Date.UTC(2025, 2, 5));
  });

  it('spaces requests of one class to the per-second cap, counting each from when its answer arrived', async () => {
    const profile = resolveVendorProfile('samsara');
    const { clock, budget: b } = budget(new MemoryKv(), new FakeClock(T0), profile);
    for (let i = 0; i < 11; i++) {
      const grant = await b.acquire(`u${i}`, 'fleet');
      clock.advance(5); // the answer takes 5 ms
      b.completed(grant);
    }
    // 5 per second (+10 ms guard), each counted from its answer: the 11th leaves two windows after the first answer.
    expect(clock.now() - T0).toBeGreaterThanOrEqual(2 * 1010 + 5);
    expect(clock.now() - T0).toBeLessThan(2 * 1010 + 300);
  });

  it('counts a request that is still under way as sent now, so a slow answer holds the window', async () => {
    const profile = resolveVendorProfile('generic', { perSecond: { fleet: 1 } });
    const { clock, budget: b } = budget(new MemoryKv(), new FakeClock(T0), profile);
    const first = await b.acquire('a', 'fleet');
    clock.advance(3000); // no answer yet
    await b.acquire('b', 'fleet');
    expect(clock.now()).toBeGreaterThanOrEqual(T0 + 3000 + 1010);
    b.completed(first);
  });
});
