import { describe, expect, it } from 'vitest';
import { DestinationLimiter } from './limiter.js';

describe('DestinationLimiter', () => {
  it('admits requests at the configured rate', () => {
    const l = new DestinationLimiter({ requestsPerMinute: 60, maxConcurrency: 100 }, 0);
    expect(l.tryAcquire(0)).toBe(0); // burst of 1 (60/min = 1/s)
    l.release();
    expect(l.tryAcquire(0)).toBe(1000);
    expect(l.tryAcquire(1000)).toBe(0);
    l.release();
    // over a simulated minute, no more than ~60 admissions
    let admitted = 0;
    for (let t = 1000; t <= 61_000; t += 10) {
      if (l.tryAcquire(t) === 0) {
        admitted++;
        l.release();
      }
    }
    expect(admitted).toBe(60);
  });

  it('caps concurrency', () => {
    const l = new DestinationLimiter({ requestsPerMinute: 60_000, maxConcurrency: 2, burst: 10 }, 0);
    expect(l.tryAcquire(0)).toBe(0);
    expect(l.tryAcquire(0)).toBe(0);
    expect(l.tryAcquire(0)).toBe(Infinity);
    l.release();
    expect(l.tryAcquire(0)).toBe(0);
  });

  it('a pause stops everything until it ends and is never shortened', () => {
    const l = new DestinationLimiter({ requestsPerMinute: 60_000, maxConcurrency: 5, burst: 10 }, 0);
    l.pause(5000);
    l.pause(2000);
    expect(l.tryAcquire(100)).toBe(4900);
    expect(l.pausedFor(100)).toBe(4900);
    expect(l.tryAcquire(5000)).toBe(0);
    expect(l.pauses).toBe(1);
  });
});

describe('DestinationLimiter.tryTake (a call\'s further requests)', () => {
  it('takes rate tokens and honours a pause, but needs no concurrency slot', () => {
    const l = new DestinationLimiter({ requestsPerMinute: 60, maxConcurrency: 1, burst: 2 }, 0);
    expect(l.tryAcquire(0)).toBe(0); // the call's own slot and token
    expect(l.tryTake(0)).toBe(0); // its second request: the last token, no second slot needed
    expect(l.tryTake(0)).toBe(1000); // the third waits for the refill
    expect(l.tryTake(1000)).toBe(0);
    l.pause(5000);
    expect(l.tryTake(2000)).toBe(3000);
    expect(l.inFlight).toBe(1);
  });
});
