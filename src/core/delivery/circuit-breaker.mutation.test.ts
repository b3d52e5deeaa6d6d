/**
 * Circuit breaker behaviours found unpinned by mutation testing: only consecutive failures open
 * the circuit, a failed probe does not leave the next half-open spell without its probe, and the
 * opening count (a metric) counts openings, not failures.
 */
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';

describe('circuit breaker', () => {
  // Kills: the failure count not reset by a success.
  it('opens after failureThreshold consecutive failures only: a success in between starts the count again', () => {
    const b = new CircuitBreaker({ failureThreshold: 3, openMs: 1000 });
    b.onFailure(0);
    b.onFailure(1);
    b.onSuccess();
    b.onFailure(2);
    b.onFailure(3);
    expect(b.current(4)).toBe('closed');
    b.onFailure(4);
    expect(b.current(5)).toBe('open');
  });

  // Kills: the probe slot not freed when the probe fails.
  it('after a failed probe re-opened it, the next half-open spell lets a probe through again', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, openMs: 100 });
    b.onFailure(0);
    expect(b.acquire(100)).toBe(0); // the first probe
    b.onFailure(100); // fails: open again
    expect(b.acquire(150)).toBe(50);
    expect(b.acquire(200)).toBe(0); // the second probe
    b.onSuccess();
    expect(b.current(201)).toBe('closed');
  });

  // Kills: `opened` bumped on every failure, also while already open.
  it('failures of requests still in flight when it opened do not count as more openings', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, openMs: 1000 });
    b.onFailure(0);
    b.onFailure(1);
    b.onFailure(2);
    expect(b.current(3)).toBe('open');
    expect(b.opened).toBe(1);
  });
});
