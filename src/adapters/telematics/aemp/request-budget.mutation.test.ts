/**
 * Mutation-audit tests for the request budget: the class pause after a 429, the wait limit's
 * boundary, answers that arrive out of order, and a request given up while it waited for its slot.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock, MemoryKv } from '../../../../simulators/trackunit/test-support.js';
import { VENDOR_PROFILES, resolveVendorProfile, type VendorProfile } from '../vendor-profiles.js';
import { ProviderRateLimiter, RequestBudget } from './request-budget.js';

const T0 = Date.UTC(2025, 2, 4, 10, 0, 0);
const MIN = 60_000;

function budget(profile: VendorProfile = VENDOR_PROFILES.trackunit) {
  const clock = new FakeClock(T0);
  return { clock, budget: new RequestBudget({ store: new MemoryKv(), provider: 'p', profile, clock, sleep: clock.sleep, limiter: new ProviderRateLimiter(profile.perSecond) }) };
}

describe('RequestBudget (mutation audit)', () => {
  // Kills: the per-second class not paused after a 429 (`limiter.pause` dropped).
  it('after a 429 pauses every URL of that class for the Retry-After, not just the throttled URL', async () => {
    const { clock, budget: b } = budget(resolveVendorProfile('generic'));
    await b.acquire('u1', 'fleet');
    await b.rateLimited('u1', 'fleet', 5000);
    await b.acquire('u2', 'fleet');
    expect(clock.now() - T0).toBeGreaterThanOrEqual(5000);
    // Another class is not paused.
    const before = clock.now();
    await b.acquire('u3', 'equipment');
    expect(clock.now()).toBe(before);
  });

  // Kills: `ms > maxWaitMs` → `ms >= maxWaitMs` (a wait of exactly the limit refused).
  it('accepts a wait exactly as long as the caller allows', async () => {
    const { clock, budget: b } = budget();
    b.completed(await b.acquire('u1', 'fleet'));
    await expect(b.acquire('u1', 'fleet', { maxWaitMs: 15 * MIN })).resolves.toMatchObject({ usedReserve: false });
    expect(clock.now()).toBe(T0 + 15 * MIN);
  });

  // Kills: the per-second window not sorted by the time each request counts from.
  it('measures the per-second window from the answers, also when a slow answer arrives after faster later ones', async () => {
    const { clock, budget: b } = budget(resolveVendorProfile('generic', { perSecond: { fleet: 3 } }));
    const a = await b.acquire('a', 'fleet');
    const bb = await b.acquire('b', 'fleet');
    const c = await b.acquire('c', 'fleet');
    clock.t = T0 + 400;
    b.completed(c);
    clock.t = T0 + 500;
    b.completed(bb);
    clock.t = T0 + 2000; // the first request's answer is the last to arrive
    b.completed(a);
    await b.acquire('d', 'fleet');
    // Three answers at 400, 500 and 2000 ms: the fourth request may go once 400 + 1010 ms have passed
    // and no sooner than the catch-up spacing after the latest answer (~168 ms): at 2169 ms, not a
    // whole window after the slow answer.
    expect(clock.now() - T0).toBe(2169);
  });

  // Kills: a ticket left open when the wait for its per-second slot is aborted.
  it('does not hold a per-second slot for a request given up while waiting for it', async () => {
    const { clock, budget: b } = budget(resolveVendorProfile('generic', { perSecond: { fleet: 2 } }));
    b.completed(await b.acquire('a', 'fleet'));
    const stopped = new AbortController();
    stopped.abort(new Error('stopped'));
    await expect(b.acquire('b', 'fleet', { signal: stopped.signal })).rejects.toThrow(/stopped/);
    clock.advance(10_000);
    await b.acquire('c', 'fleet');
    expect(clock.now()).toBe(T0 + 10_000);
  });
});
