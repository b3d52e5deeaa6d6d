/**
 * The limiter's bucket size (`burst`) bounds how many requests go back to back after a long idle
 * spell, and a 429 pause ends with one request, not a burst (invariant 4: no retry storms). Found
 * unpinned by mutation testing; the second was a bug (tokens accrued during the pause).
 */
import { describe, expect, it } from 'vitest';
import { DestinationLimiter } from './limiter.js';

/** Requests admitted back to back at `now` (each released at once, so only tokens count). */
function backToBack(l: DestinationLimiter, now: number): number {
  let n = 0;
  while (n < 1000 && l.tryAcquire(now) === 0) {
    l.release();
    n++;
  }
  return n;
}

describe('DestinationLimiter burst', () => {
  // Kills: the refill not capped at the bucket size.
  it('after an idle spell no more than the burst goes back to back', () => {
    const l = new DestinationLimiter({ requestsPerMinute: 600, maxConcurrency: 100, burst: 3 }, 0);
    expect(backToBack(l, 0)).toBe(3);
    expect(backToBack(l, 3_600_000)).toBe(3); // an hour idle earns no more than the bucket holds
    expect(l.tryAcquire(3_600_000)).toBe(100); // the next waits for the refill (10 per second)
  });

  // Kills: the pause not emptying the bucket down to one token. Failed before the fix in
  // limiter.ts: the bucket refilled during the pause, so a pause longer than burst/rate ended in a burst.
  it('when a 429 pause ends, one request goes first, not a burst', () => {
    const l = new DestinationLimiter({ requestsPerMinute: 600, maxConcurrency: 100, burst: 10 }, 0);
    l.pause(5000);
    expect(l.tryAcquire(4999)).toBe(1);
    expect(backToBack(l, 5000)).toBe(1);
    expect(l.tryAcquire(5000)).toBeGreaterThan(0);
  });
});
