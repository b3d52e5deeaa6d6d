/**
 * Dispatcher edge cases: a store that fails to claim for a moment must not leave the destination's
 * concurrency slot (or its half-open probe) taken for good, nor one that fails to record an outcome
 * leave the row in flight until a restart; calls outside delivery (work-order polls) keep to the
 * destination's limits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, RateLimitedError, RetryableError } from '../core/errors/errors.js';
import type { DeliveryIntent } from '../core/model/delivery.js';
import type { SqliteStore } from '../adapters/store/sqlite/sqlite-store.js';
import { systemClock } from '../ports/clock.js';
import type { Store } from '../ports/store.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import { ScriptedConnector } from '../../test/helpers/scripted-connector.js';
import { waitFor } from '../../test/helpers/wait.js';
import { Dispatcher, type DestinationPolicy } from './dispatcher.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const workOrder = (n: number): DeliveryIntent => ({
  destination: 'erp',
  operation: 'workorder.create',
  kind: 'fact',
  businessKey: `EQ-${n}|oil|2026-03-02T08:00:00.000Z`,
  erpAssetId: `EQ-${n}`,
  eventTime: Date.parse('2026-03-02T08:00:00.000Z'),
  payload: { title: 'Oil pressure low' },
});

/** The store, with `method` failing the next `failures` times (SQLITE_BUSY, a full disk ...). */
function flaky(store: SqliteStore, failures: { left: number }, method: 'claimDue' | 'completeAttempts' = 'claimDue'): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === method) {
        return (...args: unknown[]) => {
          if (failures.left > 0) {
            failures.left--;
            return Promise.reject(new Error('database is locked'));
          }
          return (target[method] as (...a: unknown[]) => Promise<unknown>)(...args);
        };
      }
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function dispatcherFor(store: Store, connector: ScriptedConnector, policy: Partial<DestinationPolicy> = {}): Dispatcher {
  const d = new Dispatcher({
    store,
    clock: systemClock,
    idlePollMs: 10,
    destinations: [
      {
        name: 'erp',
        connector,
        requestsPerMinute: 600_000,
        maxConcurrency: 1,
        maxAttempts: 5,
        maxAgeMs: 3_600_000,
        baseDelayMs: 5,
        maxDelayMs: 20,
        failureThreshold: 100,
        openMs: 50,
        timeoutMs: 2000,
        ...policy,
      },
    ],
  });
  cleanup.push(() => d.stop(1000));
  return d;
}

describe('dispatcher when the store cannot claim for a moment', () => {
  it('gives the concurrency slot back, so later work is still delivered', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.commitIngest({ states: [], deliveries: [workOrder(1)], quarantine: [], accepted: 1 });
    const connector = new ScriptedConnector();
    const dispatcher = dispatcherFor(flaky(store, { left: 1 }), connector);
    await dispatcher.start();
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 1, 'the work order delivered after one failed claim', 5000);
    expect(dispatcher.metrics().erp?.inFlight).toBe(0);
  });

  it('frees the half-open probe, so the circuit can close again', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.commitIngest({ states: [], deliveries: [workOrder(1)], quarantine: [], accepted: 1 });
    const connector = new ScriptedConnector();
    connector.script.push(new RetryableError('502 bad gateway', 502));
    const failures = { left: 0 };
    const dispatcher = dispatcherFor(flaky(store, failures), connector, { failureThreshold: 1, openMs: 30, maxConcurrency: 4 });
    await dispatcher.start();
    // The first attempt fails and opens the circuit; the probe's claim then fails once.
    // Counted, not read as `circuit === 'open'`: that state lasts only `openMs` and a poll can miss it.
    await waitFor(() => (dispatcher.metrics().erp?.circuitOpened ?? 0) >= 1, 'the circuit opened', 5000);
    failures.left = 1;
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 1, 'the work order delivered by a later probe', 5000);
    expect(dispatcher.metrics().erp?.circuit).toBe('closed');
  });
});

describe('dispatcher when the store cannot record an outcome for a moment', () => {
  it('records it before the next claim: delivered without a restart, sent once', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.commitIngest({ states: [], deliveries: [workOrder(1)], quarantine: [], accepted: 1 });
    const connector = new ScriptedConnector();
    const dispatcher = dispatcherFor(flaky(store, { left: 2 }, 'completeAttempts'), connector);
    await dispatcher.start();
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 1, 'the outcome recorded after two refusals', 5000);
    expect(connector.sent).toHaveLength(1);
    expect(await store.queryAudit({})).toHaveLength(1);
  });
});

describe('the resend after a credential refresh', () => {
  it('waits for a rate token like any request', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.commitIngest({ states: [], deliveries: [workOrder(1)], quarantine: [], accepted: 1 });
    const clock = { t: Date.now() + 1000, now(): number { return this.t; } }; // the delivery is due
    const connector = new ScriptedConnector();
    connector.script.push(new AuthError('401 token expired', 401));
    // 60 per minute, a burst of 1: the first attempt takes the one token there is.
    const d = new Dispatcher({
      store,
      clock,
      idlePollMs: 10,
      destinations: [{ name: 'erp', connector, requestsPerMinute: 60, maxConcurrency: 1, maxAttempts: 5, maxAgeMs: 3_600_000, baseDelayMs: 5, maxDelayMs: 20, failureThreshold: 100, openMs: 50, timeoutMs: 2000 }],
    });
    cleanup.push(() => d.stop(1000));
    await d.start();
    await waitFor(() => connector.refreshes === 1, 'the credentials refreshed', 5000);
    await new Promise((r) => setTimeout(r, 100));
    expect(connector.sent).toHaveLength(1); // the resend waits: no token until the clock moves
    clock.t += 1000;
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 1, 'the resend delivered', 5000);
    expect(connector.sent).toHaveLength(2);
  });
});

describe('calls outside delivery (work-order polls) within the destination limits', () => {
  it('a 429 answering a poll pauses the destination for its Retry-After, and the next poll waits it out', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    const clock = { t: Date.parse('2026-03-02T08:00:00.000Z'), now(): number { return this.t; } };
    const d = new Dispatcher({
      store,
      clock,
      destinations: [{ name: 'erp', connector: new ScriptedConnector(), requestsPerMinute: 600, maxConcurrency: 1, maxAttempts: 5, maxAgeMs: 3_600_000, baseDelayMs: 5, maxDelayMs: 20, failureThreshold: 100, openMs: 50, timeoutMs: 2000 }],
    });
    const signal = new AbortController().signal;
    await expect(d.withinLimits('erp', signal, () => Promise.reject(new RateLimitedError('GET /work-orders → 429', 60_000, 429)))).rejects.toBeInstanceOf(RateLimitedError);
    expect(d.metrics().erp).toMatchObject({ pauses: 1, rateLimited: 1, pausedForMs: 60_000, inFlight: 0 });

    let polled = false;
    const next = d.withinLimits('erp', signal, () => Promise.resolve((polled = true)));
    await new Promise((r) => setTimeout(r, 50));
    expect(polled).toBe(false); // paused: not sent
    clock.t += 60_001;
    await next;
    expect(polled).toBe(true);
  });

  it('further requests of one call each wait for a rate token', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    const clock = { t: 0, now(): number { return this.t; } };
    // 60 per minute, a burst of 1: the call's first request takes the one token there is.
    const d = new Dispatcher({
      store,
      clock,
      destinations: [{ name: 'erp', connector: new ScriptedConnector(), requestsPerMinute: 60, maxConcurrency: 1, maxAttempts: 5, maxAgeMs: 3_600_000, baseDelayMs: 5, maxDelayMs: 20, failureThreshold: 100, openMs: 50, timeoutMs: 2000 }],
    });
    const pages: number[] = [];
    const call = d.withinLimits('erp', new AbortController().signal, async ({ budget }) => {
      pages.push(clock.t);
      await budget?.next(new AbortController().signal);
      pages.push(clock.t);
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(pages).toEqual([0]); // the second page waits for the refill
    clock.t = 1000;
    await call;
    expect(pages).toEqual([0, 1000]);
  });
});
