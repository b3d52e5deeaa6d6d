import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffDelay, parseRetryAfter } from './backoff.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { idempotencyKeyFor, stableStringify } from './idempotency.js';
import type { DeliveryIntent } from '../model/delivery.js';

const intent = (over: Partial<DeliveryIntent> = {}): DeliveryIntent => ({
  destination: 'erp',
  operation: 'location.update',
  kind: 'state',
  businessKey: 'A-1',
  erpAssetId: 'A-1',
  eventTime: 1_700_000_000_000,
  payload: { warehouseLocation: 'YARD', coordinates: { lat: 1, lng: 2 } },
  ...over,
});

describe('idempotency keys', () => {
  it('are the same for the same fact whatever the payload key order', () => {
    const a = idempotencyKeyFor(intent({ payload: { a: 1, b: { c: 2, d: 3 } } }));
    const b = idempotencyKeyFor(intent({ payload: { b: { d: 3, c: 2 }, a: 1 } }));
    expect(a).toBe(b);
    expect(a).toMatch(/^ab1-[0-9a-f]{32}$/);
  });

  it('differ for state updates with another value or event time', () => {
    const base = idempotencyKeyFor(intent());
    expect(idempotencyKeyFor(intent({ eventTime: 1_700_000_000_001 }))).not.toBe(base);
    expect(idempotencyKeyFor(intent({ payload: { warehouseLocation: 'DEPOT' } }))).not.toBe(base);
    expect(idempotencyKeyFor(intent({ destination: 'other' }))).not.toBe(base);
  });

  it('identify a fact by its business key alone', () => {
    const wo = intent({ kind: 'fact', operation: 'workorder.create', businessKey: 'A-1|temp|3' });
    expect(idempotencyKeyFor({ ...wo, eventTime: 1, payload: { x: 1 } })).toBe(idempotencyKeyFor({ ...wo, eventTime: 2, payload: { x: 2 } }));
    expect(idempotencyKeyFor({ ...wo, businessKey: 'A-1|temp|4' })).not.toBe(idempotencyKeyFor(wo));
  });

  it('stableStringify is deterministic for any JSON value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(stableStringify(v)).toBe(stableStringify(JSON.parse(JSON.stringify(v))));
      }),
    );
  });
});

describe('backoff', () => {
  const policy = { baseDelayMs: 1000, maxDelayMs: 60_000 };
  it('grows exponentially up to the cap, with full jitter', () => {
    expect(backoffDelay(policy, 1, () => 0.999)).toBe(999);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(2000);
    expect(backoffDelay(policy, 20, () => 0.5)).toBe(30_000);
    expect(backoffDelay(policy, 5, () => 0)).toBe(0);
  });
  it('never exceeds the cap (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.double({ min: 0, max: 0.9999, noNaN: true }), (attempt, r) => {
        const d = backoffDelay(policy, attempt, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(60_000);
      }),
    );
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-11-23T10:00:00Z');
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });
  it('reads an HTTP date', () => {
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });
  it('ignores absent or garbage values', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('circuit breaker', () => {
  it('opens after the threshold, probes once when half-open, closes on success', () => {
    const b = new CircuitBreaker({ failureThreshold: 3, openMs: 1000 });
    expect(b.acquire(0)).toBe(0);
    b.onFailure(0);
    b.onFailure(0);
    expect(b.current(0)).toBe('closed');
    b.onFailure(10);
    expect(b.current(10)).toBe('open');
    expect(b.acquire(500)).toBe(510);
    expect(b.current(1010)).toBe('half-open');
    expect(b.acquire(1010)).toBe(0); // the probe
    expect(b.acquire(1011)).toBeGreaterThan(0); // only one probe at a time
    b.onSuccess();
    expect(b.current(1012)).toBe('closed');
    expect(b.opened).toBe(1);
  });
  it('re-opens when the probe fails', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, openMs: 100 });
    b.onFailure(0);
    expect(b.acquire(100)).toBe(0);
    b.onFailure(100);
    expect(b.current(150)).toBe('open');
    expect(b.opened).toBe(2);
  });
});
