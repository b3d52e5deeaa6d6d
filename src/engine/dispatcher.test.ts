/**
 * Dispatcher edge cases: a store that fails to claim for a moment must not leave the destination's
 * concurrency slot (or its half-open probe) taken for good, nor one that fails to record an outcome
 * leave the row in flight until a restart; calls outside delivery (work-order polls) keep to the
 * destination's limits; max age counts from the value now queued; a state update whose request had an
 * unknown outcome is followed by its newest value again once the old request can no longer land; a
 * work order's update waits while its create is queued, retried or in flight (no attempt, no age),
 * and one whose create is dead is sent and retried, without opening the circuit.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, ConflictError, PermanentError, RateLimitedError, RetryableError } from '../core/errors/errors.js';
import type { DeliveryIntent, OutboxItem } from '../core/model/delivery.js';
import type { SqliteStore } from '../adapters/store/sqlite/sqlite-store.js';
import type { ErpConnector, ItemResult, SendContext } from '../ports/connector.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { Store } from '../ports/store.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import { ScriptedConnector } from '../../test/helpers/scripted-connector.js';
import { waitFor } from '../../test/helpers/wait.js';
import { createLogger } from '../adapters/log/logger.js';
import { Dispatcher, type AttemptTiming, type DestinationPolicy, type DispatcherOptions } from './dispatcher.js';
import { startErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import { createRestConnector } from '../adapters/erp/rest/rest-connector.js';
import { restDestinationSchema } from '../config/schema.js';
import { createWorkOrderFeedbackTask } from './tasks/work-order-feedback.js';
import { taskContext } from '../../test/helpers/task-context.js';

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
function flaky(store: SqliteStore, failures: { left: number }, method: 'claimDue' | 'completeAttempts' = 'claimDue', error: () => Error = () => new Error('database is locked')): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === method) {
        return (...args: unknown[]) => {
          if (failures.left > 0) {
            failures.left--;
            return Promise.reject(error());
          }
          return (target[method] as (...a: unknown[]) => Promise<unknown>)(...args);
        };
      }
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function dispatcherFor(
  store: Store,
  connector: ErpConnector,
  policy: Partial<DestinationPolicy> = {},
  clock: Clock = systemClock,
  random?: () => number,
  extra: Pick<DispatcherOptions, 'logger' | 'onAttempt'> = {},
): Dispatcher {
  const d = new Dispatcher({
    store,
    clock,
    idlePollMs: 10,
    ...(random ? { random } : {}),
    ...extra,
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
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 1, 'the work order delivered after one failed claim');
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
    await waitFor(() => (dispatcher.metrics().erp?.circuitOpened ?? 0) >= 1, 'the circuit opened');
    failures.left = 1;
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 1, 'the work order delivered by a later probe');
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
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 1, 'the outcome recorded after two refusals');
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
    await waitFor(() => connector.refreshes === 1, 'the credentials refreshed');
    await new Promise((r) => setTimeout(r, 100));
    expect(connector.sent).toHaveLength(1); // the resend waits: no token until the clock moves
    clock.t += 1000;
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 1, 'the resend delivered');
    expect(connector.sent).toHaveLength(2);
  });
});

describe('a credential refresh that fails', () => {
  it("audits the 401 once, as a retry: not also as an 'auth-refresh', which says credentials were refreshed and the request resent", async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.commitIngest({ states: [], deliveries: [workOrder(1)], quarantine: [], accepted: 1 });
    const clock = { now: () => Date.now() + 1000 }; // the delivery is due
    const connector = new (class extends ScriptedConnector {
      override refreshAuth(): Promise<void> {
        this.refreshes++;
        return Promise.reject(new AuthError('POST https://login.example/token (OAuth2 token) → 503', 503));
      }
    })();
    connector.script.push(new AuthError('401 token expired', 401));
    const timed: number[] = [];
    const d = new Dispatcher({
      store,
      clock,
      idlePollMs: 10,
      destinations: [{ name: 'erp', connector, requestsPerMinute: 600, maxConcurrency: 1, maxAttempts: 5, maxAgeMs: 3_600_000, baseDelayMs: 3_600_000, maxDelayMs: 3_600_000, failureThreshold: 100, openMs: 50, timeoutMs: 2000 }],
      onAttempt: (a) => void timed.push(a.seconds),
    });
    cleanup.push(() => d.stop(1000));
    await d.start();
    await waitFor(async () => (await store.listDeliveries({ status: 'pending' }))[0]?.attempts === 1, 'the attempt recorded');
    expect(connector.refreshes).toBe(1);
    expect(connector.sent).toHaveLength(1);
    const audit = await store.queryAudit({ destination: 'erp' });
    expect(audit.map((a) => a.outcome)).toEqual(['retry']);
    // One request went: the timing histogram counts one.
    expect(timed).toHaveLength(1);
  });
});

describe('a credential refresh whose token endpoint does not answer', () => {
  // Kills: refreshAuth called without the abort signal (a stop then waits on the token endpoint for good).
  it('is ended by a stop after the grace period: the delivery goes back to pending, no attempt counted', async () => {
    const store = await storeWith([workOrder(1)]);
    let refreshSignal: AbortSignal | undefined;
    const connector = new (class extends ScriptedConnector {
      override refreshAuth(signal?: AbortSignal): Promise<void> {
        this.refreshes++;
        refreshSignal = signal;
        // A token endpoint that never answers: the refresh ends only when its signal aborts.
        return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new RetryableError('token request aborted'))));
      }
    })();
    connector.script.push(new AuthError('401 token expired', 401));
    const d = dispatcherFor(store, connector, { maxAttempts: 1, timeoutMs: 30_000 });
    await d.start();
    await waitFor(() => connector.refreshes === 1, 'the credential refresh started');
    const stopped = await Promise.race([d.stop(50).then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still stopping after 5 s'), 5000))]);
    expect(stopped).toBe('stopped');
    expect(refreshSignal?.aborted).toBe(true);
    expect(connector.sent).toHaveLength(1); // nothing resent with credentials it did not get
    const [row] = await store.listDeliveries({});
    expect(row).toMatchObject({ status: 'pending', attempts: 0 });
  });
});

describe('the timeout of a delivery call of several requests', () => {
  // timeoutMs is per request: a call that looks up each record before creating it (no idempotency
  // support) and batches the creates makes several, each waiting for its rate token first.
  it('bounds each request, not the call with its waits for rate tokens: lookups and a batch at 2 per second, each within 1 s, are delivered in one attempt', async () => {
    const erp = await startErpSimulator({ token: 'erp-token', idempotency: false });
    cleanup.push(() => erp.close());
    const connector = createRestConnector(
      restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token', timeoutMs: '1s', idempotencySupported: false, batch: { path: '/api/v1/$batch', maxSize: 5 } }),
    );
    const store = await storeWith([1, 2, 3, 4, 5].map(workOrder));
    // 5 lookups and a batch: after a burst of 2, a token every 500 ms, 2 s in all.
    const d = dispatcherFor(store, connector, { requestsPerMinute: 120, timeoutMs: 1000 });
    await d.start();
    await waitFor(async () => (await delivered(store)) === 5, 'the five work orders delivered', 10_000);
    expect((await store.queryAudit({})).map((a) => a.outcome)).toEqual(Array(5).fill('delivered'));
    expect(erp.counters().applied.workOrders).toBe(5);
  });
});

describe('calls outside delivery (work-order polls) within the destination limits', () => {
  it('a 429 answering a poll pauses the destination for its Retry-After; a poll during the pause is not sent and fails at once as rate limited', async () => {
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
    const during = d.withinLimits('erp', signal, () => Promise.resolve((polled = true)));
    await expect(during).rejects.toThrow(/erp is paused for 60 s after a 429\/503/);
    await expect(during).rejects.toBeInstanceOf(RateLimitedError);
    expect(polled).toBe(false); // paused: not sent
    // Not a 429 of its own: no further pause, no slot left taken.
    expect(d.metrics().erp).toMatchObject({ pauses: 1, rateLimited: 1, inFlight: 0 });
    clock.t += 60_001;
    await d.withinLimits('erp', signal, () => Promise.resolve((polled = true)));
    expect(polled).toBe(true);
  });

  it('a destination paused for a long Retry-After does not hold up the work-order polls of the others', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    const clock = { t: Date.parse('2026-03-02T08:00:00.000Z'), now(): number { return this.t; } };
    const policy = { requestsPerMinute: 600, maxConcurrency: 1, maxAttempts: 5, maxAgeMs: 3_600_000, baseDelayMs: 5, maxDelayMs: 20, failureThreshold: 100, openMs: 50, timeoutMs: 2000 };
    const d = new Dispatcher({
      store,
      clock,
      destinations: [
        { name: 'erp-a', connector: new ScriptedConnector(), ...policy },
        { name: 'erp-b', connector: new ScriptedConnector(), ...policy },
      ],
    });
    const abort = new AbortController();
    cleanup.push(() => Promise.resolve(abort.abort()));
    // erp-a is in a maintenance window: a 503 asking for an hour.
    await expect(d.withinLimits('erp-a', abort.signal, () => Promise.reject(new RateLimitedError('GET /work-orders → 503', 3_600_000, 503)))).rejects.toBeInstanceOf(RateLimitedError);
    const polls: string[] = [];
    const connector = (name: string): ErpConnector =>
      Object.assign(new ScriptedConnector(), {
        fetchWorkOrderUpdates: () => {
          polls.push(name);
          return Promise.resolve({ updates: [] });
        },
      });
    const task = createWorkOrderFeedbackTask({ destinations: ['erp-a', 'erp-b'], pollEveryMs: 60_000, initialLookbackMs: 60_000 });
    const run = task.run(
      taskContext(store, clock, { connector, withinLimits: (name, call) => d.withinLimits(name, abort.signal, call), signal: abort.signal }),
    );
    // Held up, the poll of erp-b would wait out erp-a's hour: 10 s tells the two apart on a loaded machine too (500 ms left it little room).
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([run.then(() => 'done'), new Promise((r) => (timer = setTimeout(() => r('still waiting'), 10_000)))]);
    clearTimeout(timer);
    expect(outcome).toBe('done');
    expect(polls).toEqual(['erp-b']);
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

// Found unpinned by mutation testing: giving up at `retry.maxAgeMs`, the growing 429 pause and its
// reset, what opens the circuit, the half-open probe while the rate limiter makes it wait,
// exponential retry delays, batching, items a connector did not answer for, the start after a
// crash and the stop after the grace period.
/** A clock the test moves by hand; it counts its reads, so a test can tell the loop has turned. */
class ManualClock implements Clock {
  reads = 0;
  constructor(public t: number) {}
  now(): number {
    this.reads++;
    return this.t;
  }
}

async function storeWith(deliveries: DeliveryIntent[]): Promise<SqliteStore> {
  const store = tempStore();
  cleanup.push(() => store.close());
  await store.commitIngest({ states: [], deliveries, quarantine: [], accepted: deliveries.length });
  return store;
}


const delivered = async (store: SqliteStore) => (await store.listDeliveries({ status: 'delivered' })).length;

describe('giving up', () => {
  // Kills: `|| tooOld` dropped from the dead-letter condition.
  it('a delivery older than retry.maxAgeMs is dead-lettered at its next failure, before maxAttempts', async () => {
    const store = await storeWith([workOrder(1)]);
    const [row] = await store.listDeliveries({});
    const clock = new ManualClock(row!.createdAt + 2 * 3_600_000); // two hours after it was queued
    const connector = new ScriptedConnector();
    connector.script.push(new RetryableError('503 service unavailable', 503));
    const d = dispatcherFor(store, connector, { maxAgeMs: 3_600_000, maxAttempts: 5 }, clock);
    await d.start();
    const [dead] = await waitFor(async () => {
      const rows = await store.listDeliveries({ status: 'dead' });
      return rows.length ? rows : undefined;
    }, 'the dead letter');
    expect(dead).toMatchObject({ attempts: 1, lastError: '503 service unavailable (gave up after 1 attempt and max age)' });
    expect(connector.sent).toHaveLength(1);
  });
});

describe('a destination answering 429/503 for longer than retry.maxAgeMs', () => {
  it('a 429/503 is no attempt, but a delivery still answered so once it is retry.maxAgeMs old goes to dead letters naming the answer and the key', async () => {
    const store = await storeWith([workOrder(1), workOrder(2)]);
    const [first, second] = await store.listDeliveries({});
    // The second was queued two hours ago, the first just now (the ERP's maintenance window began between).
    store.db.prepare('UPDATE outbox SET enqueued_at = enqueued_at - ? WHERE id = ?').run(2 * 3_600_000, second!.id);
    const clock = new ManualClock(Date.now() + 1000);
    const connector = new ScriptedConnector();
    const unavailable = () => new RateLimitedError('POST /work-orders → 503 unavailable; Retry-After 3600 s', 1, 503);
    connector.script.push(unavailable(), unavailable());
    const d = dispatcherFor(store, connector, { maxAgeMs: 3_600_000, maxAttempts: 5, maxDelayMs: 60_000 }, clock);
    await d.start();
    await waitFor(() => d.metrics().erp?.rateLimited === 1, 'the first 503');
    clock.t += 10;
    await waitFor(() => d.metrics().erp?.rateLimited === 2, 'the second 503');
    const dead = await waitFor(async () => {
      const r = await store.getDelivery(second!.id);
      return r?.status === 'dead' ? r : undefined;
    }, 'the dead letter');
    expect(dead.lastError).toBe(
      'POST /work-orders → 503 unavailable; Retry-After 3600 s (gave up: still answered 503 once older than retry.maxAgeMs, 1h; 429/503 answers pause the destination and do not count as attempts)',
    );
    // The one queued since is kept for after the pause, its attempts untouched.
    expect(await store.getDelivery(first!.id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(d.metrics().erp).toMatchObject({ deadLettered: 1, rateLimited: 2 });
  });
});

describe('max age of a coalesced state update', () => {
  const loc = (eventTime: number, zone: string): DeliveryIntent => ({
    destination: 'erp',
    operation: 'location.update',
    kind: 'state',
    businessKey: 'EQ-1',
    erpAssetId: 'EQ-1',
    eventTime,
    payload: { warehouseLocation: zone },
  });

  it('counts from when the value now in the row was queued, not from the first value that went pending', async () => {
    const store = await storeWith([loc(1000, 'A')]);
    // The first value went pending three hours ago (the ERP has been down since) ...
    store.db.prepare('UPDATE outbox SET created_at = created_at - ?').run(3 * 3_600_000);
    // ... and a newer value replaced it in the row just now.
    await store.commitIngest({ states: [], deliveries: [loc(2000, 'B')], quarantine: [], accepted: 1 });
    const [row] = await store.listDeliveries({});
    expect(row).toMatchObject({ status: 'pending', payload: { warehouseLocation: 'B' } });
    const clock = new ManualClock(Date.now() + 1000);
    const connector = new ScriptedConnector();
    connector.script.push(new RetryableError('503 service unavailable', 503));
    const d = dispatcherFor(store, connector, { maxAgeMs: 3_600_000, maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 }, clock);
    await d.start();
    await waitFor(async () => (await store.getDelivery(row!.id))?.attempts === 1, 'the failed attempt recorded');
    // A value minutes old is retried, not dead-lettered because the value it replaced was old.
    expect(await store.getDelivery(row!.id)).toMatchObject({ status: 'pending', payload: { warehouseLocation: 'B' } });
  });

  it('still gives up on a value that has itself been failing for longer than retry.maxAgeMs', async () => {
    const store = await storeWith([loc(1000, 'A')]);
    const [row] = await store.listDeliveries({});
    const clock = new ManualClock(Date.now() + 2 * 3_600_000);
    const connector = new ScriptedConnector();
    connector.script.push(new RetryableError('503 service unavailable', 503));
    const d = dispatcherFor(store, connector, { maxAgeMs: 3_600_000, maxAttempts: 5 }, clock);
    await d.start();
    const dead = await waitFor(async () => {
      const r = await store.getDelivery(row!.id);
      return r?.status === 'dead' ? r : undefined;
    }, 'the dead letter');
    expect(dead.lastError).toContain('max age');
  });
});

describe('429 without Retry-After', () => {
  // Kills: `consecutive429 = 0` after a success dropped.
  it('pauses the destination for a growing time while 429s follow each other, and from the start again after a success', async () => {
    const store = await storeWith([workOrder(1), workOrder(2)]);
    const clock = new ManualClock(Date.now() + 1000); // both due
    const connector = new ScriptedConnector();
    const throttled = () => new RateLimitedError('429 Too Many Requests', undefined, 429);
    connector.script.push(throttled(), throttled(), 'ok', throttled());
    const d = dispatcherFor(store, connector, { maxDelayMs: 60_000 }, clock);
    await d.start();
    const rateLimited = (n: number) => waitFor(() => d.metrics().erp?.rateLimited === n, `429 number ${n}`);

    await rateLimited(1);
    expect(d.metrics().erp?.pausedForMs).toBe(1000);
    clock.t += 1000;
    await rateLimited(2);
    expect(d.metrics().erp?.pausedForMs).toBe(2000); // the second in a row waits longer
    clock.t += 2001; // the pause over, and rate tokens earned since
    await rateLimited(3);
    expect(await delivered(store)).toBe(1); // a delivery went through in between
    expect(d.metrics().erp?.pausedForMs).toBe(1000); // the count started again
  });
});

describe('429 whose Retry-After asks for no wait', () => {
  it('a Retry-After of 0, or an HTTP-date already past by our clock (clock skew), pauses for the growing backoff instead of resending at once', async () => {
    const store = await storeWith([workOrder(1), workOrder(2)]);
    const clock = new ManualClock(Date.now() + 1000); // both due
    const connector = new ScriptedConnector();
    const throttled = () => new RateLimitedError('429 Too Many Requests; Retry-After 0 s', 0, 429);
    connector.script.push(throttled(), throttled(), 'ok', 'ok');
    const d = dispatcherFor(store, connector, { maxDelayMs: 60_000 }, clock);
    await d.start();
    await waitFor(() => (d.metrics().erp?.rateLimited ?? 0) >= 1, 'the first 429');
    await new Promise((r) => setTimeout(r, 50));
    expect(connector.sent).toHaveLength(1); // not sent again while the clock stands still
    expect(d.metrics().erp).toMatchObject({ rateLimited: 1, pausedForMs: 1000, pauses: 1 });
    clock.t += 1000;
    await waitFor(() => d.metrics().erp?.rateLimited === 2, '429 number 2');
    expect(d.metrics().erp?.pausedForMs).toBe(2000); // growing, as without a Retry-After
  });
});

describe('a Retry-After longer than rateLimit.maxPauseMs', () => {
  // Kills: the pause taken as the Retry-After asks, however long.
  it('pauses the destination for maxPauseMs at most, says so, then sends one request first; a shorter Retry-After is kept as asked', async () => {
    const store = await storeWith([workOrder(1), workOrder(2)]);
    const clock = new ManualClock(Date.now() + 1000); // both due
    const connector = new ScriptedConnector();
    const weeks = 14 * 86_400_000;
    connector.script.push(new RateLimitedError('503 Service Unavailable; Retry-After 1209600 s', weeks, 503), new RateLimitedError('429; Retry-After 60 s', 60_000, 429), 'ok', 'ok');
    const warns: { fields: Record<string, unknown>; msg: string }[] = [];
    const logger = { warn: (fields: Record<string, unknown>, msg: string) => warns.push({ fields, msg }), debug() {}, info() {}, error() {} } as unknown as DispatcherOptions['logger'];
    const d = dispatcherFor(store, connector, { maxPauseMs: 3_600_000 }, clock, undefined, { logger });
    await d.start();
    await waitFor(() => d.metrics().erp?.rateLimited === 1, 'the first 503');
    expect(d.metrics().erp?.pausedForMs).toBe(3_600_000);
    expect(warns.map((w) => w.msg)).toContain("the destination's Retry-After asks for a pause of 14d, longer than destinations[].rateLimit.maxPauseMs (1h): pausing 1h, then one request goes first");
    clock.t += 3_599_000;
    await new Promise((r) => setTimeout(r, 50));
    expect(connector.sent).toHaveLength(1); // still paused
    clock.t += 1000;
    await waitFor(() => d.metrics().erp?.rateLimited === 2, 'the 429 after the pause');
    expect(d.metrics().erp?.pausedForMs).toBe(60_000); // within the limit: as asked
    expect(warns.filter((w) => w.fields.key === 'rateLimit.maxPauseMs')).toHaveLength(1);
  });
});

describe('what opens the circuit', () => {
  // Kills: `if (anyFailure && !anySuccess)` weakened to `if (anyFailure)`.
  it('a batch the ERP partly accepted does not count as a failure of the destination', async () => {
    const store = await storeWith([workOrder(1), workOrder(2)]);
    const connector = new ScriptedConnector('erp', 2);
    connector.script.push('ok', new RetryableError('500 on one item', 500));
    const d = dispatcherFor(store, connector, { failureThreshold: 1, openMs: 60_000 });
    await d.start();
    await waitFor(async () => (await delivered(store)) === 2, 'both delivered');
    expect(d.metrics().erp).toMatchObject({ circuit: 'closed', circuitOpened: 0 });
  });

  // Kills: permanent errors counted as failures of the destination.
  it('permanent errors (the ERP answering 4xx) dead-letter the items but do not open the circuit', async () => {
    const store = await storeWith([workOrder(1), workOrder(2), workOrder(3)]);
    const connector = new ScriptedConnector();
    for (let i = 0; i < 3; i++) connector.script.push(new PermanentError('422: plant 9999 does not exist', 422));
    const d = dispatcherFor(store, connector, { failureThreshold: 2, openMs: 60_000 });
    await d.start();
    await waitFor(async () => (await store.listDeliveries({ status: 'dead' })).length === 3, 'three dead letters');
    expect(d.metrics().erp).toMatchObject({ circuit: 'closed', circuitOpened: 0 });
  });

  // Kills: a locked record (409 the ERP will take later) counted as a failure of the destination.
  it('a locked record is retried until the ERP takes it, and does not open the circuit: the ERP answered', async () => {
    const store = await storeWith([workOrder(1)]);
    const connector = new ScriptedConnector();
    for (let i = 0; i < 3; i++) connector.script.push(new ConflictError('409: document locked by another user', 409));
    const d = dispatcherFor(store, connector, { failureThreshold: 1, openMs: 60_000 });
    await d.start();
    await waitFor(async () => (await delivered(store)) === 1, 'delivered once the lock is gone');
    expect(d.metrics().erp).toMatchObject({ circuit: 'closed', circuitOpened: 0, retried: 3 });
  });

  // Kills: the half-open probe not handed back when the rate limiter makes the loop wait.
  it('a half-open probe that has to wait for a rate token is still sent once the token is there', async () => {
    const store = await storeWith([workOrder(1)]);
    const clock = new ManualClock(Date.now() + 1000);
    const connector = new ScriptedConnector();
    connector.script.push(new RetryableError('502 bad gateway', 502));
    // 60 per minute, a burst of 1: the failed attempt took the only token; the retry is due at once.
    const d = dispatcherFor(store, connector, { requestsPerMinute: 60, failureThreshold: 1, openMs: 100 }, clock, () => 0);
    await d.start();
    await waitFor(() => d.metrics().erp?.circuit === 'open', 'the circuit open');
    clock.t += 100; // half-open, but no token yet: the probe waits for the limiter
    const reads = clock.reads;
    await waitFor(() => clock.reads > reads, 'the loop to look again');
    clock.t += 1000; // a token
    await waitFor(async () => (await delivered(store)) === 1, 'the probe delivered');
    expect(d.metrics().erp?.circuit).toBe('closed');
  });
});

/**
 * The store's only delivery's first `n` retries, the clock moved to each as it is scheduled: how
 * long after the attempt before it each was scheduled.
 */
async function retryDelays(store: Store, clock: ManualClock, n: number): Promise<number[]> {
  const [{ id }] = (await store.listDeliveries({})) as [OutboxItem];
  const delays: number[] = [];
  for (let attempt = 1; attempt <= n; attempt++) {
    const row = await waitFor(async () => {
      const r = await store.getDelivery(id);
      return r?.status === 'pending' && r.attempts === attempt ? r : undefined;
    }, `retry ${attempt} scheduled`);
    delays.push(row.nextAttemptAt - clock.t);
    clock.t = row.nextAttemptAt;
  }
  return delays;
}

describe('retry timing', () => {
  // Kills: the retry delay computed for the first attempt every time.
  it('the delay before each retry doubles with the attempts made (exponential backoff)', async () => {
    const store = await storeWith([workOrder(1)]);
    const clock = new ManualClock(Date.now() + 1000);
    const connector = new ScriptedConnector();
    for (let i = 0; i < 3; i++) connector.script.push(new RetryableError('timeout'));
    // Full jitter drawn at its middle: half of base·2^(attempt-1).
    const d = dispatcherFor(store, connector, { baseDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: 10 }, clock, () => 0.5);
    await d.start();
    const delays = await retryDelays(store, clock, 3);
    expect(delays).toEqual([500, 1000, 2000]);
  });

  // Kills: a locked record's Retry-After ignored (the backoff's 500 ms), or taken unbounded.
  it("a locked record whose answer gives a Retry-After is retried after it, rateLimit.maxPauseMs at most, as a 429's pause", async () => {
    const store = await storeWith([workOrder(1)]);
    const clock = new ManualClock(Date.now() + 1000);
    const connector = new ScriptedConnector();
    connector.script.push(
      new ConflictError('409: locked by PLANNER-7', 409, undefined, { retryAfterMs: 30_000 }),
      new ConflictError('409: locked by PLANNER-7', 409, undefined, { retryAfterMs: 14 * 86_400_000 }),
      new ConflictError('409: locked by PLANNER-7', 409, undefined, { retryAfterMs: 0 }),
    );
    const d = dispatcherFor(store, connector, { baseDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: 10, maxAgeMs: 86_400_000, maxPauseMs: 3_600_000 }, clock, () => 0.5);
    await d.start();
    const delays = await retryDelays(store, clock, 3);
    // As asked; capped at maxPauseMs; a Retry-After of 0 asks for no wait: the backoff (half of 4 s).
    expect(delays).toEqual([30_000, 3_600_000, 2000]);
    expect(d.metrics().erp?.rateLimited).toBe(0); // the record, not the destination: nothing paused
  });
});

describe('batching', () => {
  // Kills: the claim size fixed at 1 instead of the connector's maxBatchSize.
  it('a connector that takes batches gets the due items in one call', async () => {
    const store = await storeWith([workOrder(1), workOrder(2), workOrder(3)]);
    const connector = new ScriptedConnector('erp', 10);
    const calls: number[] = [];
    const send = connector.send.bind(connector);
    connector.send = (items: readonly OutboxItem[]) => {
      calls.push(items.length);
      return send(items);
    };
    const d = dispatcherFor(store, connector);
    await d.start();
    await waitFor(async () => (await delivered(store)) === 3, 'all delivered');
    expect(calls).toEqual([3]);
  });

  it('an all-or-nothing batch the ERP refuses whole for one bad item: the others are delivered, only that one is dead-lettered, and a replay after the fix delivers it once', async () => {
    const erp = await startErpSimulator({ token: 'erp-token', batchAtomic: true });
    cleanup.push(() => erp.close());
    const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token', batch: { maxSize: 10 } }));
    const bad: DeliveryIntent = { ...workOrder(3), payload: { title: '' } }; // no title: refused
    const store = await storeWith([workOrder(1), workOrder(2), bad, workOrder(4)]);
    const d = dispatcherFor(store, connector);
    await d.start();
    await waitFor(async () => (await store.listDeliveries({ status: 'dead' })).length === 1, 'the bad one dead-lettered');
    expect(await delivered(store)).toBe(3);
    const [dead] = await store.listDeliveries({ status: 'dead' });
    expect(dead).toMatchObject({ businessKey: bad.businessKey });
    expect(dead?.mayHaveLanded).toBeFalsy(); // refused: nothing of it reached the ERP
    expect(dead?.lastError).toContain('refused the whole batch of 4 requests');
    expect(erp.state().workOrders.map((w) => w.erpAssetId).sort()).toEqual(['EQ-1', 'EQ-2', 'EQ-4']);
    // Fixed and replayed (same idempotency key): created once.
    await store.editDeadPayload(dead!.id, { title: 'Oil pressure low' }, Date.now());
    await store.replayDead([dead!.id], Date.now());
    d.notify();
    await waitFor(async () => (await delivered(store)) === 4, 'the replay delivered');
    expect(erp.state().workOrders.map((w) => w.erpAssetId).sort()).toEqual(['EQ-1', 'EQ-2', 'EQ-3', 'EQ-4']);
  });
});

describe("the ERP's concurrency limit", () => {
  // Dataverse (52 per user) and NetSuite (per account) refuse requests past their limit with 429.
  it('rateLimit.maxConcurrency within the ERP\'s limit: never more requests in flight than it takes, none refused', async () => {
    const erp = await startErpSimulator({ token: 'erp-token', maxConcurrent: 2 });
    cleanup.push(() => erp.close());
    erp.faults.add({ kind: 'latency', latencyMs: 50, probability: 1 });
    const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token' }));
    const store = await storeWith([1, 2, 3, 4, 5, 6].map(workOrder));
    const d = dispatcherFor(store, connector, { maxConcurrency: 2 });
    await d.start();
    await waitFor(async () => (await delivered(store)) === 6, 'all delivered');
    expect(erp.counters()).toMatchObject({ concurrencyLimited: 0, maxInFlight: 2, applied: { workOrders: 6 } });
  });
});

describe('nothing left behind', () => {
  // Kills: items without a result from the connector left in flight.
  it('an item the connector gave no result for goes back to pending and is delivered later, with the same key', async () => {
    const store = await storeWith([workOrder(1)]);
    const connector = new ScriptedConnector();
    const send = connector.send.bind(connector);
    const keys: string[] = [];
    let calls = 0;
    connector.send = (items: readonly OutboxItem[]): Promise<ItemResult[]> => {
      keys.push(...items.map((i) => i.idempotencyKey));
      return calls++ === 0 ? Promise.resolve([]) : send(items);
    };
    const d = dispatcherFor(store, connector);
    await d.start();
    await waitFor(async () => (await delivered(store)) === 1, 'the unanswered item delivered on a later call');
    expect(calls).toBe(2);
    expect(new Set(keys).size).toBe(1);
    expect((await store.listDeliveries({}))[0]?.attempts).toBe(1); // the unanswered call was no attempt
  });

  // Kills: start() not recovering rows an earlier process left in flight.
  it('on start, deliveries a crashed process left in flight are sent again with the same idempotency key', async () => {
    const store = await storeWith([workOrder(1)]);
    const [claimed] = await store.claimDue('erp', Date.now() + 1000, 1, new Set()); // the crashed process had claimed it
    const connector = new ScriptedConnector();
    const d = dispatcherFor(store, connector);
    await d.start();
    await waitFor(async () => (await delivered(store)) === 1, 'the recovered delivery sent');
    expect(connector.sent.map((i) => i.idempotencyKey)).toEqual([claimed!.idempotencyKey]);
  });

  // Kills: the abort after the grace period dropped (stop hangs on the request), and aborted
  // requests recorded as failed attempts (which dead-letters them at maxAttempts).
  it('a stop aborts a request still running after the grace period: the delivery goes back to pending, no attempt counted', async () => {
    const store = await storeWith([workOrder(1)]);
    const connector = new ScriptedConnector();
    let started = false;
    connector.send = (items: readonly OutboxItem[], ctx?: SendContext): Promise<ItemResult[]> =>
      new Promise((resolve) => {
        started = true;
        // An ERP that never answers: the request ends only when its signal aborts.
        ctx?.signal.addEventListener('abort', () => resolve(items.map((i) => ({ id: i.id, ok: false as const, error: new RetryableError('aborted') }))));
      });
    const lines: string[] = [];
    const logger = createLogger('warn', 'assetbridge', new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
    const d = dispatcherFor(store, connector, { maxAttempts: 1, timeoutMs: 30_000 }, systemClock, undefined, { logger });
    await d.start();
    await waitFor(() => started, 'the request sent');
    const stopped = await Promise.race([d.stop(50).then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still stopping after 5 s'), 5000))]);
    expect(stopped).toBe('stopped');
    // The log says what was cut short, and where (was: only "grace period over", with graceMs).
    const graceOver = lines.map((l) => JSON.parse(l) as { msg: string; aborted?: unknown }).find((l) => l.msg.startsWith('grace period over'));
    expect(graceOver).toMatchObject({
      aborted: { erp: 1 },
      msg: 'grace period over (shutdown.graceMs): aborting the ERP requests of 1 delivery(ies) still in flight (erp: 1); they go back to pending and are resent at the next start with the same idempotency keys',
    });
    const [row] = await store.listDeliveries({});
    expect(row).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await store.queryAudit({ deliveryId: row!.id })).map((a) => a.outcome)).toEqual(['aborted']);
  });
});

describe('rate tokens', () => {
  // Kills: the token of a loop turn that found nothing to send not given back.
  it('looking for work while idle takes no rate token from the destination', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    const clock = new ManualClock(Date.now() + 1000); // never moves: no token is refilled
    const connector = new ScriptedConnector();
    // 60 per minute, a burst of 1: one token, which the first request must find.
    const d = dispatcherFor(store, connector, { requestsPerMinute: 60 }, clock);
    await d.start();
    const reads = clock.reads;
    await waitFor(() => clock.reads >= reads + 3, 'a few idle turns of the loop');
    await store.commitIngest({ states: [], deliveries: [workOrder(1)], quarantine: [], accepted: 1 });
    d.notify();
    await waitFor(async () => (await delivered(store)) === 1, 'the delivery sent on the token idle turns left alone');
  });
});

describe('a state update whose request had an unknown outcome (invariant 8)', () => {
  const loc = (eventTime: number, zone: string, operation = 'location.update'): DeliveryIntent => ({
    destination: 'erp',
    operation,
    kind: 'state',
    businessKey: 'EQ-1',
    erpAssetId: 'EQ-1',
    eventTime,
    payload: { erpAssetId: 'EQ-1', warehouseLocation: zone, coordinates: { lat: 52, lng: 13 }, lastSeen: new Date(eventTime).toISOString() },
  });

  // The ERP applies the first location request after the connector gave up on it (a slow ERP
  // finishing a request whose client timed out): it lands after the newer value was delivered.
  it('against a real ERP protocol: the newest value is sent once more after the settle delay, so the late old request does not stay', async () => {
    const erp = await startErpSimulator({ token: 'erp-token' });
    cleanup.push(() => erp.close());
    // The first request held 2 s, timed out at 1 s (each request of a loaded machine gets 1 s: the newer
    // value's and the resend must not time out too); the resend 1.5 s after that, once the old one has landed.
    erp.faults.add({ kind: 'latency', method: 'PATCH', path: '/location', latencyMs: 2000, count: 1 });
    const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token', timeoutMs: '1s' }));
    const store = await storeWith([loc(1000, 'A')]);
    const d = dispatcherFor(store, connector, { timeoutMs: 1000, unknownOutcomeSettleMs: 1500 });
    await d.start();
    await waitFor(() => erp.counters().faultsFired.latency === 1, 'the first request at the ERP');
    // A newer value while the first request is still in flight: it goes once that one times out.
    await store.commitIngest({ states: [], deliveries: [loc(2000, 'B')], quarantine: [], accepted: 1 });
    // The old request lands late, over the newer value (counted by the ERP, not caught by polling its state:
    // the old value stands only until the resend, a window a loaded machine's poll can miss).
    await waitFor(() => erp.counters().outOfOrderLateLandings === 1, 'the old request landing late, after the newer value');
    // The resend puts the newest value back, and the audit says why it was sent.
    await waitFor(() => erp.state().locations['EQ-1']?.warehouseLocation === 'B', 'the newest value resent');
    // Recorded once the ERP's answer is in: shortly after the ERP applied it.
    const audit = await waitFor(async () => {
      const rows = await store.queryAudit({ erpAssetId: 'EQ-1' });
      return rows.length === 3 ? rows : undefined;
    }, 'the resend recorded');
    expect(audit.map((a) => a.outcome)).toEqual(['retry', 'delivered', 'resent']);
  });

  const unknown = () => new RetryableError('PATCH location → timeout: no response within 15000 ms', undefined, undefined, { outcomeUnknown: true });
  const zones = (c: ScriptedConnector) => c.sent.map((i) => i.payload.warehouseLocation);
  const SETTLE = 60_000;
  // Retries 500 ms after a failure: held while the test's clock stands still.
  const slowRetry = { baseDelayMs: 1000, maxDelayMs: 1000 };
  /** A's request (or `first`'s) times out (outcome unknown) at `t0`; the dispatcher runs on a clock standing there. */
  const afterTimedOutA = async (t0: number, first: DeliveryIntent = loc(1000, 'A')) => {
    const store = await storeWith([first]);
    const clock = new ManualClock(t0);
    const connector = new ScriptedConnector();
    connector.script.push(unknown());
    const d = dispatcherFor(store, connector, { unknownOutcomeSettleMs: SETTLE, ...slowRetry }, clock, () => 0.5);
    await d.start();
    const [row] = await store.listDeliveries({});
    await waitFor(async () => (await store.getDelivery(row!.id))?.attempts === 1, 'the timed-out attempt recorded');
    return { store, clock, connector, d, row: row! };
  };

  it('the resend is due at the settle time with its own key; a newer value meanwhile goes at once and is resent in its place', async () => {
    const t0 = Date.now() + 1000;
    const { store, clock, connector, d, row } = await afterTimedOutA(t0);
    await store.commitIngest({ states: [], deliveries: [loc(2000, 'B')], quarantine: [], accepted: 1 });
    clock.t += 1000; // the retry is due, now carrying B
    const resend = await waitFor(async () => (await store.listDeliveries({ status: 'pending' })).find((r) => r.resend), 'the resend queued');
    const deliveredB = await store.getDelivery(row.id);
    expect(deliveredB).toMatchObject({ status: 'delivered', payload: { warehouseLocation: 'B' } });
    expect(resend).toMatchObject({ resend: true, nextAttemptAt: t0 + SETTLE, payload: { warehouseLocation: 'B' }, eventTime: 2000 });
    expect(resend.idempotencyKey).not.toBe(deliveredB!.idempotencyKey); // an ERP with idempotency must apply it again
    expect(zones(connector)).toEqual(['A', 'B']);

    // A newer value does not wait for the settle time; it takes the resend's place.
    await store.commitIngest({ states: [], deliveries: [loc(3000, 'C')], quarantine: [], accepted: 1 });
    d.notify();
    await waitFor(() => connector.sent.length === 3, 'C sent at once');
    const again = await waitFor(async () => (await store.listDeliveries({ status: 'pending' })).find((r) => r.resend), 'C queued to be resent');
    expect(again).toMatchObject({ resend: true, nextAttemptAt: t0 + SETTLE, payload: { warehouseLocation: 'C' } });

    clock.t = t0 + SETTLE; // the old request can no longer land
    await waitFor(async () => (await store.getDelivery(again.id))?.status === 'delivered', 'the resend delivered');
    // Settled: the next value is sent once.
    await store.commitIngest({ states: [], deliveries: [loc(4000, 'D')], quarantine: [], accepted: 1 });
    d.notify();
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 4, 'D delivered');
    expect(zones(connector)).toEqual(['A', 'B', 'C', 'C', 'D']);
    expect(await store.listDeliveries({ status: 'pending' })).toEqual([]);
    expect((await store.queryAudit({ erpAssetId: 'EQ-1' })).map((a) => a.outcome)).toEqual(['retry', 'delivered', 'delivered', 'resent', 'delivered']);
  });

  it.each([
    ['a request that got no answer', unknown(), true],
    ['only failures that say the ERP got nothing', new RetryableError('POST /work-orders → connection-refused'), false],
  ])('a dead letter after %s is marked as one that may have reached the ERP: %s', async (_, first, landed) => {
    const store = await storeWith([workOrder(1)]);
    const connector = new ScriptedConnector();
    connector.script.push(first, new PermanentError('422: plant 9999 does not exist', 422));
    const d = dispatcherFor(store, connector, { baseDelayMs: 1, maxDelayMs: 1 });
    await d.start();
    const [dead] = await waitFor(async () => {
      const rows = await store.listDeliveries({ status: 'dead' });
      return rows.length ? rows : undefined;
    }, 'the dead letter');
    expect(connector.sent).toHaveLength(2);
    expect(dead!.mayHaveLanded === true).toBe(landed);
  });

  it.each([500, 502, 504])('a create answered %i (the ERP may have committed it first) is dead-lettered as one that may be in the ERP, so replay --new-key keeps its key', async (status) => {
    const erp = await startErpSimulator({ token: 'erp-token' });
    cleanup.push(() => erp.close());
    erp.faults.add({ kind: 'error', status, method: 'POST', path: '/work-orders' });
    const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token' }));
    const store = await storeWith([workOrder(1)]);
    const d = dispatcherFor(store, connector, { maxAttempts: 1 });
    await d.start();
    const [dead] = await waitFor(async () => {
      const rows = await store.listDeliveries({ status: 'dead' });
      return rows.length ? rows : undefined;
    }, 'the dead letter');
    expect(dead).toMatchObject({ mayHaveLanded: true, lastError: expect.stringContaining(`→ ${status}`) as unknown });
    // What `dlq replay --new-key` does without --not-in-erp: a new key could make the ERP apply it twice.
    expect(await store.newKeyForDead([dead!.id], Date.now())).toEqual([{ id: dead!.id, result: 'may-have-landed', key: dead!.idempotencyKey }]);
  });

  it('a lookup before a create answered 502 sent no create: the dead letter is not marked, and nothing waits for the settle time', async () => {
    const erp = await startErpSimulator({ token: 'erp-token', idempotency: false });
    cleanup.push(() => erp.close());
    erp.faults.add({ kind: 'error', status: 502, method: 'GET', path: '/work-orders' });
    const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token', idempotencySupported: false }));
    const store = await storeWith([workOrder(1)]);
    const d = dispatcherFor(store, connector, { maxAttempts: 1, unknownOutcomeSettleMs: 60_000 });
    await d.start();
    const [dead] = await waitFor(async () => {
      const rows = await store.listDeliveries({ status: 'dead' });
      return rows.length ? rows : undefined;
    }, 'the dead letter');
    expect(dead!.lastError).toContain('→ 502');
    expect(dead!.mayHaveLanded).toBeUndefined();
    expect(erp.state().workOrders).toEqual([]);
  });

  it('a value of the same event time queued after the timed-out one is newer, as in the outbox: it is resent too', async () => {
    const t0 = Date.now() + 1000;
    const { store, clock, connector, row } = await afterTimedOutA(t0);
    await store.commitIngest({ states: [], deliveries: [loc(1000, 'A2')], quarantine: [], accepted: 1 }); // replaces A in its row
    clock.t += 1000;
    const resend = await waitFor(async () => (await store.listDeliveries({ status: 'pending' })).find((r) => r.resend), 'the resend queued');
    expect(await store.getDelivery(row.id)).toMatchObject({ status: 'delivered', payload: { warehouseLocation: 'A2' } });
    expect(resend).toMatchObject({ nextAttemptAt: t0 + SETTLE, payload: { warehouseLocation: 'A2' }, eventTime: 1000 });
    expect(zones(connector)).toEqual(['A', 'A2']);
  });

  it('a request in flight when the process died counts as of unknown outcome: a newer location delivered after the restart is resent, a newer reading waits for the settle time', async () => {
    const meter = (eventTime: number, hours: number): DeliveryIntent => ({ ...loc(eventTime, ''), operation: 'meter.record', payload: { operatingHours: hours } });
    const store = await storeWith([loc(1000, 'A'), meter(1000, 1)]);
    const t0 = Date.now() + 1000;
    // Both requests were under way when the process died (kill -9) ...
    expect(await store.claimDue('erp', t0, 10, new Set())).toHaveLength(2);
    // ... and newer values were queued meanwhile.
    await store.commitIngest({ states: [], deliveries: [loc(2000, 'B'), meter(2000, 2)], quarantine: [], accepted: 2 });
    const clock = new ManualClock(t0);
    const connector = new ScriptedConnector();
    const d = dispatcherFor(store, connector, { unknownOutcomeSettleMs: SETTLE, ...slowRetry }, clock, () => 0.5);
    await d.start();
    const resend = await waitFor(async () => (await store.listDeliveries({ status: 'pending' })).find((r) => r.resend), 'the resend queued');
    expect(resend).toMatchObject({ operation: 'location.update', nextAttemptAt: t0 + SETTLE, payload: { warehouseLocation: 'B' } });
    await waitFor(async () => (await delivered(store)) === 1, 'the newer location delivered');
    // The newer reading would add a reading the old request could land after: it waits instead.
    const reading = (await store.listDeliveries({ status: 'pending' })).find((r) => r.operation === 'meter.record');
    expect(reading).toMatchObject({ nextAttemptAt: t0 + SETTLE, payload: { operatingHours: 2 } });
    clock.t = t0 + SETTLE;
    d.notify();
    await waitFor(async () => (await delivered(store)) === 3, 'the reading and the resend delivered');
    // The old values were superseded at recovery; meter readings are never resent.
    expect(connector.sent.map((i) => `${i.operation} ${String(i.payload.warehouseLocation ?? i.payload.operatingHours)}`).sort()).toEqual(['location.update B', 'location.update B', 'meter.record 2']);
    expect(await store.listDeliveries({ status: 'pending' })).toEqual([]);
  });

  it('a newer reading waits while a timed-out request of an older one may still land; the old one is retried meanwhile', async () => {
    const meter = (eventTime: number, hours: number): DeliveryIntent => ({ ...loc(eventTime, ''), operation: 'meter.record', payload: { operatingHours: hours } });
    const t0 = Date.now() + 1000;
    const { store, clock, connector, d, row } = await afterTimedOutA(t0, meter(1000, 1));
    clock.t += 1000; // the same reading again: it cannot land after itself
    await waitFor(async () => (await store.getDelivery(row.id))?.status === 'delivered', 'the old reading retried');
    await store.commitIngest({ states: [], deliveries: [meter(2000, 2)], quarantine: [], accepted: 1 });
    d.notify();
    await waitFor(async () => (await store.listDeliveries({ status: 'pending' })).some((r) => r.nextAttemptAt === t0 + SETTLE), 'the newer reading held');
    expect(connector.sent.map((i) => i.payload.operatingHours)).toEqual([1, 1]);
    clock.t = t0 + SETTLE;
    d.notify();
    await waitFor(async () => (await delivered(store)) === 2, 'the newer reading delivered at the settle time');
    expect(connector.sent.map((i) => i.payload.operatingHours)).toEqual([1, 1, 2]);
  });

  it('no resend when the newer value is sent after the settle time: the old request can no longer land after it', async () => {
    const { store, clock, connector, d, row } = await afterTimedOutA(Date.now() + 1000);
    await store.commitIngest({ states: [], deliveries: [loc(2000, 'B')], quarantine: [], accepted: 1 });
    clock.t += SETTLE;
    await waitFor(async () => (await store.getDelivery(row.id))?.status === 'delivered', 'B delivered');
    await store.commitIngest({ states: [], deliveries: [loc(3000, 'C')], quarantine: [], accepted: 1 });
    d.notify();
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 2, 'C delivered');
    expect(zones(connector)).toEqual(['A', 'B', 'C']);
    expect(await store.listDeliveries({ status: 'pending' })).toEqual([]);
  });

  it('no resend after a failure that says the request was not applied, nor for operations that create a record per value, nor when turned off', async () => {
    const notApplied = new RetryableError('PATCH location → connection-refused: ECONNREFUSED');
    const meter: DeliveryIntent = { ...loc(1000, 'A'), operation: 'meter.record', businessKey: 'EQ-1|h', payload: { operatingHours: 1 } };
    const cases: { intents: DeliveryIntent[]; error: RetryableError; settle: number }[] = [
      { intents: [loc(1000, 'A')], error: notApplied, settle: SETTLE },
      { intents: [meter], error: unknown(), settle: SETTLE },
      { intents: [loc(1000, 'A')], error: unknown(), settle: 0 },
    ];
    for (const c of cases) {
      const store = await storeWith(c.intents);
      const clock = new ManualClock(Date.now() + 1000);
      const connector = new ScriptedConnector();
      connector.script.push(c.error);
      const d = dispatcherFor(store, connector, { unknownOutcomeSettleMs: c.settle, ...slowRetry }, clock, () => 0.5);
      await d.start();
      const [row] = await store.listDeliveries({});
      await waitFor(async () => (await store.getDelivery(row!.id))?.attempts === 1, 'the failed attempt recorded');
      clock.t += 1000;
      await waitFor(async () => (await store.getDelivery(row!.id))?.status === 'delivered', 'the retry delivered');
      await d.stop(1000);
      expect(await store.listDeliveries({ status: 'pending' })).toEqual([]);
      expect(connector.sent).toHaveLength(2);
    }
  });

  it('a request cut short by retry.timeoutMs leaves the key unsettled whatever the connector answers; only a newer value is resent', async () => {
    const store = await storeWith([loc(1000, 'A')]);
    const clock = new ManualClock(Date.now() + 1000);
    const connector = new ScriptedConnector();
    const send = connector.send.bind(connector);
    let calls = 0;
    connector.send = (items: readonly OutboxItem[], ctx?: SendContext): Promise<ItemResult[]> =>
      calls++ > 0
        ? send(items)
        : new Promise((resolve) => {
            // A connector that reports the abort as a plain failure, not as an unknown outcome.
            ctx?.signal.addEventListener('abort', () => resolve(items.map((i) => ({ id: i.id, ok: false as const, error: new RetryableError('aborted') }))));
          });
    const d = dispatcherFor(store, connector, { unknownOutcomeSettleMs: SETTLE, timeoutMs: 50, ...slowRetry }, clock, () => 0.5);
    await d.start();
    const [row] = await store.listDeliveries({});
    await waitFor(async () => (await store.getDelivery(row!.id))?.attempts === 1, 'the timed-out attempt recorded');
    const t0 = clock.t;
    clock.t += 1000;
    // The same value retried: should the old request land late, it writes what the ERP has.
    await waitFor(async () => (await store.getDelivery(row!.id))?.status === 'delivered', 'A retried');
    expect(await store.listDeliveries({ status: 'pending' })).toEqual([]);
    // A newer value within the settle time is resent.
    await store.commitIngest({ states: [], deliveries: [loc(2000, 'B')], quarantine: [], accepted: 1 });
    d.notify();
    const resend = await waitFor(async () => (await store.listDeliveries({ status: 'pending' })).find((r) => r.resend), 'the resend queued');
    expect(resend).toMatchObject({ nextAttemptAt: t0 + SETTLE, payload: { warehouseLocation: 'B' } });
  });
});

describe('a create of unknown outcome at an ERP without idempotency support (invariant 3)', () => {
  // The ERP applies the create after the connector gave up on it (a slow ERP finishing a request
  // whose client timed out). The lookup before the retry must not run before then, or it finds
  // nothing and the retry creates a second work order.
  it('the retry waits until the old request can no longer land, so its lookup finds the work order and none is created twice', async () => {
    const erp = await startErpSimulator({ token: 'erp-token', idempotency: false });
    cleanup.push(() => erp.close());
    erp.faults.add({ kind: 'latency', method: 'POST', path: '/work-orders', latencyMs: 1200, count: 1 });
    const connector = createRestConnector(
      restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token', timeoutMs: '1s', idempotencySupported: false }),
    );
    const store = await storeWith([workOrder(1)]);
    // The create times out at 1 s, before its 1.2 s at the ERP; 1 s, not less: the lookup and create of the retry
    // must each answer within it on a loaded machine, or the retry is another unknown outcome.
    const d = dispatcherFor(store, connector, { timeoutMs: 1000, unknownOutcomeSettleMs: 1500 });
    await d.start();
    const [row] = await waitFor(async () => {
      const rows = await store.listDeliveries({ status: 'delivered' });
      return rows.length === 1 ? rows : undefined;
    }, 'the work order delivered', 10_000);
    // The first request has landed by now (1.2 s after it was sent), whichever way the retry went.
    await new Promise((r) => setTimeout(r, 1300));
    expect(erp.counters().faultsFired.latency).toBe(1);
    expect(erp.counters().duplicateWorkOrders).toBe(0);
    expect(erp.state().workOrders).toHaveLength(1);
    // The retry was not due before the settle time.
    const audit = await store.queryAudit({ deliveryId: row!.id });
    expect(audit.map((a) => a.outcome)).toEqual(['retry', 'delivered']);
    expect(audit[1]!.at - audit[0]!.at).toBeGreaterThanOrEqual(1500);
  });

  it('a create in flight when the process died is not sent again (after its lookup) before its request can no longer land', async () => {
    const store = await storeWith([workOrder(1)]);
    const t0 = Date.now() + 1000;
    await store.claimDue('erp', t0, 1, new Set()); // the crashed process had sent it
    const connector = new ScriptedConnector();
    Object.assign(connector.capabilities, { createsRecord: ['workorder.create'] });
    const clock = new ManualClock(t0);
    const d = dispatcherFor(store, connector, { unknownOutcomeSettleMs: 60_000 }, clock);
    await d.start();
    const [row] = await store.listDeliveries({ status: 'pending' });
    expect(row!.nextAttemptAt).toBeGreaterThanOrEqual(t0 + 60_000);
    expect(connector.sent).toEqual([]);
    clock.t = t0 + 60_000;
    d.notify();
    await waitFor(async () => (await delivered(store)) === 1, 'sent once its old request can no longer land');
  });

  it('a lookup that timed out sent no create: the dead letter says it did not reach the ERP, and the retry is not held back', async () => {
    const erp = await startErpSimulator({ token: 'erp-token', idempotency: false });
    cleanup.push(() => erp.close());
    erp.faults.add({ kind: 'timeout', method: 'GET', path: '/work-orders', count: 1 });
    const connector = createRestConnector(
      restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token', timeoutMs: '1s', idempotencySupported: false }),
    );
    const store = await storeWith([workOrder(1), workOrder(2)]);
    // One attempt each: the other work order's lookup and create must answer within the timeout on a loaded machine (1 s, not 300 ms).
    const d = dispatcherFor(store, connector, { timeoutMs: 1000, unknownOutcomeSettleMs: 60_000, maxAttempts: 1 });
    await d.start();
    const [dead] = await waitFor(async () => {
      const rows = await store.listDeliveries({ status: 'dead' });
      return rows.length === 1 ? rows : undefined;
    }, 'the work order whose lookup timed out dead-lettered');
    expect(dead!.mayHaveLanded).toBeUndefined();
    await waitFor(() => erp.state().workOrders.length === 1, 'the other work order created');
  });

  it('a connector that creates no record by the operation (no createsRecord) is retried after the usual backoff', async () => {
    const store = await storeWith([workOrder(1)]);
    const t0 = Date.now() + 1000;
    const clock = new ManualClock(t0);
    const connector = new ScriptedConnector();
    connector.script.push(new RetryableError('POST work-orders → timeout', undefined, undefined, { outcomeUnknown: true }));
    const d = dispatcherFor(store, connector, { unknownOutcomeSettleMs: 60_000, baseDelayMs: 1000, maxDelayMs: 1000 }, clock, () => 0.5);
    await d.start();
    const [row] = await store.listDeliveries({});
    const retried = await waitFor(async () => {
      const r = await store.getDelivery(row!.id);
      return r?.attempts === 1 ? r : undefined;
    }, 'the timed-out attempt recorded');
    expect(retried.nextAttemptAt).toBeLessThan(t0 + 60_000);
  });
});

describe('a create of unknown outcome at an ERP that honours idempotency keys (invariant 3)', () => {
  // An ERP that records the key when the record commits does not know it while the first request
  // is still being processed: a retry sent then is a second create. Only one that locks keys in
  // flight would catch it, so the keyed path waits as the lookup path does.
  it('the retry of a timed-out work order waits until the old request can no longer land', async () => {
    const erp = await startErpSimulator({ token: 'erp-token' });
    cleanup.push(() => erp.close());
    erp.faults.add({ kind: 'latency', method: 'POST', path: '/work-orders', latencyMs: 1200, count: 1 });
    const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token', timeoutMs: '1s', idempotencySupported: true }));
    expect(connector.capabilities.createsRecord).toContain('workorder.create');
    const store = await storeWith([workOrder(1)]);
    // Timed out at 1 s, before its 1.2 s at the ERP; the retry must answer within 1 s on a loaded machine.
    const d = dispatcherFor(store, connector, { timeoutMs: 1000, unknownOutcomeSettleMs: 1500 });
    await d.start();
    const [row] = await waitFor(async () => {
      const rows = await store.listDeliveries({ status: 'delivered' });
      return rows.length === 1 ? rows : undefined;
    }, 'the work order delivered', 10_000);
    const audit = await store.queryAudit({ deliveryId: row!.id });
    expect(audit.map((a) => a.outcome)).toEqual(['retry', 'delivered']);
    // Not resent at the backoff (5-20 ms) while the first request was still at the ERP (1.2 s).
    expect(audit[1]!.at - audit[0]!.at).toBeGreaterThanOrEqual(1500);
    expect(erp.state().workOrders).toHaveLength(1);
  });

  it('a keyed create in flight when the process died waits too after the restart (the unknown outcome recorded in the store)', async () => {
    const erp = await startErpSimulator({ token: 'erp-token' });
    cleanup.push(() => erp.close());
    const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token', idempotencySupported: true }));
    const store = await storeWith([workOrder(1)]);
    const t0 = Date.now() + 1000;
    await store.claimDue('erp', t0, 1, new Set()); // the crashed process had sent it
    const clock = new ManualClock(t0);
    const d = dispatcherFor(store, connector, { unknownOutcomeSettleMs: 60_000 }, clock);
    await d.start();
    const [row] = await store.listDeliveries({ status: 'pending' });
    expect(row).toMatchObject({ mayHaveLanded: true });
    expect(row!.nextAttemptAt).toBeGreaterThanOrEqual(t0 + 60_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(erp.counters().requests).toBe(0);
    clock.t = t0 + 60_000;
    d.notify();
    await waitFor(async () => (await delivered(store)) === 1, 'sent once its old request can no longer land');
    expect(erp.state().workOrders).toHaveLength(1);
  });

  it('a create cut short by a shutdown is not due again before the settle time, so a quick restart does not send it twice at once', async () => {
    const erp = await startErpSimulator({ token: 'erp-token' });
    cleanup.push(() => erp.close());
    erp.faults.add({ kind: 'timeout', method: 'POST', path: '/work-orders', count: 1 });
    const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token', idempotencySupported: true }));
    const store = await storeWith([workOrder(1)]);
    const d = dispatcherFor(store, connector, { unknownOutcomeSettleMs: 60_000, timeoutMs: 30_000 });
    await d.start();
    await waitFor(() => erp.counters().faultsFired.timeout === 1, 'the create at the ERP');
    const stoppedAt = Date.now();
    await d.stop(50);
    const [row] = await store.listDeliveries({ status: 'pending' });
    expect(row).toMatchObject({ mayHaveLanded: true });
    expect(row!.nextAttemptAt).toBeGreaterThanOrEqual(stoppedAt + 60_000);
  });
});

/** The ERP simulator, and a REST connector to it whose token comes from its OAuth2 endpoint (`destination` and `auth`: keys to add). */
async function oauthErp(destination: Record<string, unknown> = {}, auth: Record<string, unknown> = {}) {
  const erp = await startErpSimulator({ token: null });
  cleanup.push(() => erp.close());
  const connector = createRestConnector(
    restDestinationSchema.parse({
      name: 'erp',
      type: 'rest',
      baseUrl: erp.url,
      ...destination,
      auth: { type: 'oauth2-client-credentials', tokenUrl: `${erp.url}/oauth/token`, clientId: 'assetbridge', clientSecret: 'sim-secret', ...auth },
    }),
  );
  return { erp, connector };
}

describe('the timeout of a request that waits for an OAuth2 token', () => {
  // timeoutMs counted the token request before the first request: a token endpoint slower than it
  // timed the delivery out though the ERP would have answered at once.
  it('bounds the request, not the token request before it (auth.timeoutMs bounds that): delivered in one attempt', async () => {
    // 1 s a request: the one attempt's create must answer within it on a loaded machine (500 ms was tight).
    const { erp, connector } = await oauthErp({ timeoutMs: '1s' }, { timeoutMs: '10s' });
    // The token endpoint answers slower than a request may take.
    erp.faults.add({ kind: 'latency', path: '/oauth/token', latencyMs: 1500, count: 1 });
    const store = await storeWith([workOrder(1)]);
    const d = dispatcherFor(store, connector, { maxAttempts: 1, timeoutMs: 1000 });
    await d.start();
    await waitFor(async () => (await store.listDeliveries({ status: ['delivered', 'dead'] })).length === 1, 'the work order settled', 10_000);
    expect((await store.queryAudit({})).map((a) => a.outcome)).toEqual(['delivered']);
    expect(erp.counters().faultsFired.latency).toBe(1);
  });
});

describe('an OAuth2 token endpoint that refuses the client (a client secret expired mid-run)', () => {
  it('each attempt asks it once: no credential refresh follows a refusal of the token endpoint itself, and the audit says retry, then dead', async () => {
    const { erp, connector } = await oauthErp();
    erp.faults.add({ kind: 'error', path: '/oauth/token', status: 401, count: 100, body: { error: 'invalid_client', error_description: 'client secret expired' } });
    const store = await storeWith([workOrder(1)]);
    const d = dispatcherFor(store, connector, { maxAttempts: 2 });
    await d.start();
    const [row] = await waitFor(async () => {
      const rows = await store.listDeliveries({ status: 'dead' });
      return rows.length === 1 ? rows : undefined;
    }, 'the work order dead-lettered');
    expect(erp.counters().faultsFired.error).toBe(2);
    expect(d.metrics().erp?.authRefreshes).toBe(0);
    const audit = await store.queryAudit({ deliveryId: row!.id });
    expect(audit.map((a) => a.outcome)).toEqual(['retry', 'dead']);
    expect(audit[1]!.error).toContain('check auth.clientId, auth.clientSecret');
  });
});

describe('the log says what needs an operator', () => {
  type LogLine = { level: string; fields: Record<string, unknown>; msg: string };
  /** {@link dispatcherFor}, with the lines it logs kept. */
  const loggedDispatcher = (store: Store, connector: ErpConnector, policy: Partial<DestinationPolicy>) => {
    const lines: LogLine[] = [];
    const log = (level: string) => (fields: object, msg: string) => void lines.push({ level, fields: fields as Record<string, unknown>, msg });
    const logger = { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') } as unknown as DispatcherOptions['logger'];
    return { d: dispatcherFor(store, connector, policy, systemClock, undefined, { logger }), lines };
  };

  it('an outcome the store cannot record for a full disk: says what to do and names store.path', async () => {
    const store = await storeWith([workOrder(1)]);
    const full = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    const { d, lines } = loggedDispatcher(flaky(store, { left: 2 }, 'completeAttempts', full), new ScriptedConnector(), {});
    await d.start();
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 1, 'the outcome recorded after two refusals');
    const errors = lines.filter((l) => l.level === 'error').map((l) => l.msg);
    expect(errors).toHaveLength(2);
    for (const msg of errors) expect(msg).toMatch(/record delivery outcomes.*; the disk holding the store \(store\.path\) is full/);
  });

  // Found with a full disk (test/chaos): every second the loop logged 'dispatch loop error; retrying
  // shortly' at error, with a stack and no advice, for as long as the disk stayed full.
  it('a claim the store refuses turn after turn (a full disk): one error saying what to do, repeats at debug, recovery at info', async () => {
    const store = await storeWith([workOrder(1)]);
    const full = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    const { d, lines } = loggedDispatcher(flaky(store, { left: 2 }, 'claimDue', full), new ScriptedConnector(), {});
    await d.start();
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 1, 'delivered once the store takes the claim', 10_000);
    const loop = lines.filter((l) => l.msg.includes('dispatch loop'));
    expect(loop.map((l) => [l.level, l.msg])).toEqual([
      ['error', expect.stringMatching(/^dispatch loop error; retrying each second; the disk holding the store \(store\.path\) is full: .* \(repeats are logged at debug\)$/) as unknown],
      ['debug', 'dispatch loop failed again the same way'],
      ['info', 'dispatch loop works again'],
    ]);
    expect(loop[2]?.fields).toEqual({ destination: 'erp', failedTurns: 2 });
  });

  // Kills (threshold 3, so failures that do not open it come first): a warning on every failure rather than on the opening.
  it('a dead letter (error, with its id, operation, key and the reason) and the circuit opening (warn, once)', async () => {
    const store = await storeWith([workOrder(1), workOrder(2), workOrder(3)]);
    const connector = new ScriptedConnector();
    connector.script.push(new PermanentError('422: plant 9999 does not exist', 422));
    for (let i = 0; i < 4; i++) connector.script.push(new RetryableError('502 bad gateway', 502));
    const { d, lines } = loggedDispatcher(store, connector, { failureThreshold: 3, openMs: 60_000 });
    await d.start();
    await waitFor(() => d.metrics().erp?.circuit === 'open', 'the circuit open');
    const [dead] = await store.listDeliveries({ status: 'dead' });
    expect(lines.filter((l) => l.level === 'error')).toEqual([
      { level: 'error', fields: { destination: 'erp', id: dead!.id, operation: 'workorder.create', businessKey: dead!.businessKey, error: '422: plant 9999 does not exist' }, msg: expect.stringContaining('dead letter') as unknown },
    ]);
    expect(lines.filter((l) => l.level === 'warn' && l.msg.includes('circuit'))).toEqual([
      { level: 'warn', fields: { destination: 'erp', openMs: 60_000, error: '502 bad gateway' }, msg: expect.stringContaining('circuit open') as unknown },
    ]);
  });

  it('a pause for 429/503 is warned once per streak, saying which it was; the pauses after it in the streak are debug', async () => {
    const store = await storeWith([workOrder(1)]);
    const connector = new ScriptedConnector();
    connector.script.push(new RateLimitedError('503 service unavailable', 5, 503), new RateLimitedError('503 service unavailable', 5, 503), new RateLimitedError('429 too many requests', 5, 429));
    const { d, lines } = loggedDispatcher(store, connector, {});
    await d.start();
    await waitFor(async () => (await delivered(store)) === 1, 'delivered after the pauses');
    expect(lines.filter((l) => l.level === 'warn')).toEqual([
      { level: 'warn', fields: { destination: 'erp', waitMs: 5, status: 503 }, msg: 'destination is unavailable (503); pausing it: further pauses until a request succeeds are logged at debug, and status shows them' },
    ]);
    expect(lines.filter((l) => l.level === 'debug' && l.msg.startsWith('destination'))).toHaveLength(2);
  });

  it('while the circuit is not closed, the metrics (and so status) carry the latest failure', async () => {
    const store = await storeWith([workOrder(1)]);
    const connector = new ScriptedConnector();
    connector.script.push(new RetryableError('PATCH /x → 401 unauthorized; credentials were rejected or have expired', 401));
    const d = dispatcherFor(store, connector, { failureThreshold: 1, openMs: 60_000 });
    await d.start();
    await waitFor(() => d.metrics().erp?.circuit === 'open', 'the circuit open');
    expect(d.metrics().erp?.circuitError).toBe('PATCH /x → 401 unauthorized; credentials were rejected or have expired');
  });

  it('an outage: the circuit opening is warned once, with the error that opened it; failed probes are not; recovery is logged', async () => {
    const store = await storeWith([workOrder(1)]);
    const connector = new ScriptedConnector();
    connector.script.push(new RetryableError('500 internal server error', 500));
    // The probes fail with another error: the warning names the one that opened the circuit.
    for (let i = 0; i < 4; i++) connector.script.push(new RetryableError('503 service unavailable', 503));
    const { d, lines } = loggedDispatcher(store, connector, { maxAttempts: 50, baseDelayMs: 1, maxDelayMs: 2, failureThreshold: 1, openMs: 5 });
    await d.start();
    await waitFor(async () => (await delivered(store)) === 1, 'delivered after the outage');
    expect(connector.sent).toHaveLength(6);
    expect(d.metrics().erp?.circuitOpened).toBe(5); // opened, then four failed probes
    expect(d.metrics().erp).not.toHaveProperty('circuitError'); // closed again
    const circuit = lines.filter((l) => l.msg.includes('circuit') && l.level !== 'debug');
    expect(circuit).toEqual([
      { level: 'warn', fields: { destination: 'erp', openMs: 5, error: '500 internal server error' }, msg: expect.stringContaining('circuit open') as unknown },
      { level: 'info', fields: { destination: 'erp', openForMs: expect.any(Number) as unknown }, msg: expect.stringContaining('circuit closed') as unknown },
    ]);
  });
});

describe('delivery attempt timings (onAttempt)', () => {
  it('tells each attempt at the ERP once, with its destination, time and status, as audited', async () => {
    const erp = await startErpSimulator({ token: 't' });
    cleanup.push(() => erp.close());
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.commitIngest({ states: [], deliveries: [workOrder(1), workOrder(2)], quarantine: [], accepted: 2 });
    const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 't' }));
    const told: AttemptTiming[] = [];
    const dispatcher = dispatcherFor(store, connector, {}, systemClock, undefined, { onAttempt: (a) => told.push(a) });
    await dispatcher.start();
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 2, 'both work orders delivered');
    const audited = await store.queryAudit({ destination: 'erp' });
    expect(audited.length).toBeGreaterThanOrEqual(2);
    expect(told).toHaveLength(audited.length);
    for (const t of told) {
      expect(t.destination).toBe('erp');
      expect(t.seconds).toBeGreaterThanOrEqual(0);
    }
    expect(told.map((t) => t.status).sort()).toEqual(audited.map((a) => a.status).sort());
  });

  it("tells each item of a batch request with the batch's time, and an attempt without an answer without a status", async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.commitIngest({ states: [], deliveries: [workOrder(1), workOrder(2), workOrder(3)], quarantine: [], accepted: 3 });
    let calls = 0;
    const connector: ErpConnector = {
      name: 'erp',
      capabilities: { maxBatchSize: 3, operations: ['workorder.create'] },
      send: (items) => {
        calls++;
        // The first call: one batch request for all, then no answer (a timeout); later ones: delivered.
        const latencyMs = calls === 1 ? 2500 : 40;
        return Promise.resolve(
          items.map((i): ItemResult => {
            const exchange = { method: 'POST', url: 'http://erp/batch', latencyMs, ...(calls === 1 ? {} : { status: 201 }) };
            return calls === 1 ? { id: i.id, ok: false, exchange, error: new RetryableError('timed out', undefined, undefined, { outcomeUnknown: true }) } : { id: i.id, ok: true, exchange };
          }),
        );
      },
    };
    const told: AttemptTiming[] = [];
    const dispatcher = dispatcherFor(store, connector, {}, systemClock, undefined, { onAttempt: (a) => told.push(a) });
    await dispatcher.start();
    await waitFor(async () => (await store.listDeliveries({ status: 'delivered' })).length === 3, 'the batch delivered on its retry');
    // Three attempts in the batch that got no answer, then one per item delivered (in one request or several).
    expect(told.slice(0, 3)).toEqual(Array.from({ length: 3 }, () => ({ destination: 'erp', seconds: 2.5 })));
    expect(told.slice(3)).toEqual(Array.from({ length: 3 }, () => ({ destination: 'erp', seconds: 0.04, status: 201 })));
  });
});

describe('a work order raised (workorder.update) before its create has landed', () => {
  const raiseOf = (create: DeliveryIntent): DeliveryIntent => ({ ...create, operation: 'workorder.update', eventTime: create.eventTime + 60_000, payload: { erpAssetId: 'EQ-1', priority: 'HIGH', severity: 'critical' } });
  const medium = (create: DeliveryIntent): DeliveryIntent => ({ ...create, payload: { erpAssetId: 'EQ-1', title: 'Oil pressure low', priority: 'MEDIUM' } });

  it('waits while its create is retried and settles (no attempt, no age), then lands once: not dead-lettered beside a late create', async () => {
    const erp = await startErpSimulator({ token: 'erp-token' });
    cleanup.push(() => erp.close());
    const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token' }));
    const create = workOrder(1);
    const store = await storeWith([medium(create), raiseOf(create)]);
    // The create's first request fails with an unknown outcome (a 500 to a write): its retry waits 1.5 s to settle.
    erp.faults.add({ kind: 'error', status: 500, method: 'POST', path: '/work-orders' });
    // Once raised, the update's first PATCH fails too: it is retried, not given up for its age (its wait was none).
    erp.faults.add({ kind: 'error', status: 500, method: 'PATCH' });
    // Two attempts and 1 s of age at most, less than the create's settle wait: an update sent beside the create would be
    // dead within a few ms, and one whose age counted its wait dead at its first failure. (The create's own first attempt
    // must fail within that 1 s of its queueing to be retried: ample on a loaded machine, where 200 ms was not.)
    const d = dispatcherFor(store, connector, { maxConcurrency: 2, maxAttempts: 2, maxAgeMs: 1_000, unknownOutcomeSettleMs: 1_500 });
    await d.start();
    await waitFor(async () => (await delivered(store)) === 2 || (await store.listDeliveries({ status: 'dead' })).length > 0, 'the create and the update done with', 10_000);
    expect(await store.listDeliveries({ status: 'dead' })).toEqual([]);
    const audit = await store.queryAudit({});
    const updates = audit.filter((a) => a.operation === 'workorder.update');
    // Sent only after the create was delivered; its one failure was the PATCH's 500, never "not there yet".
    const createdAt = audit.find((a) => a.operation === 'workorder.create' && a.outcome === 'delivered')?.at ?? Infinity;
    expect(updates.map((a) => a.outcome)).toEqual(['retry', 'delivered']);
    expect(updates.every((a) => a.at >= createdAt)).toBe(true);
    expect(updates.some((a) => (a.error ?? '').includes('does not have this work order yet'))).toBe(false);
    expect(erp.state().workOrders).toEqual([expect.objectContaining({ externalKey: create.businessKey, priority: 'HIGH' })]);
  });

  /** A dispatcher for `connector` that has delivered one work order's create (the work order an update then raises). */
  async function createDelivered(connector: ErpConnector) {
    const create = workOrder(1);
    const store = await storeWith([medium(create)]);
    const d = dispatcherFor(store, connector);
    await d.start();
    await waitFor(async () => (await delivered(store)) === 1, 'the create delivered', 10_000);
    return { create, store, d };
  }

  it('of a work order the ERP has completed since the report: nothing patched, delivered, and its audit row says the priority was not raised and why', async () => {
    const erp = await startErpSimulator({ token: 'erp-token' });
    cleanup.push(() => erp.close());
    const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token' }));
    const { create, store, d } = await createDelivered(connector);
    // A planner completes it in the ERP; then the critical report (raised before that) is delivered.
    const closed = erp.setWorkOrderStatus({ externalKey: create.businessKey }, 'completed');
    await store.commitIngest({ states: [], deliveries: [raiseOf(create)], quarantine: [], accepted: 1 });
    d.notify();
    await waitFor(async () => (await delivered(store)) === 2 || (await store.listDeliveries({ status: 'dead' })).length > 0, 'the update done with', 10_000);
    expect(await store.listDeliveries({ status: 'dead' })).toEqual([]);
    const updates = (await store.queryAudit({})).filter((a) => a.operation === 'workorder.update');
    expect(updates).toEqual([expect.objectContaining({ outcome: 'delivered', method: 'GET', status: 200 })]);
    expect(updates[0]?.error).toBe(
      `priority not raised to HIGH: the ERP lists work order ${closed.id} completed (status "completed"), closed after the fault report was raised; nothing was sent to it (a closed work order is not patched), so this update is done`,
    );
    expect(erp.state().workOrders).toEqual([expect.objectContaining({ externalKey: create.businessKey, status: 'completed', priority: 'MEDIUM' })]);
    expect(erp.state().workOrders[0]?.priorityChanges).toBeUndefined();
  });

  it('of a work order closed between its lookup and its PATCH (refused 409): looked up again, delivered, its audit row the PATCH\'s with the note, no dead letter', async () => {
    const erp = await startErpSimulator({ token: 'erp-token' });
    cleanup.push(() => erp.close());
    let closeOnPatch = false;
    // A planner completes it in the ERP just as the PATCH goes, after the lookup listed it open.
    const closing = ((input: string | URL, init?: RequestInit) => {
      if (closeOnPatch && init?.method === 'PATCH' && erp.state().workOrders[0]?.status === 'open') erp.setWorkOrderStatus({ id: erp.state().workOrders[0]?.id }, 'completed');
      return fetch(input, init);
    }) as typeof fetch;
    const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token' }), { fetch: closing });
    const { create, store, d } = await createDelivered(connector);
    closeOnPatch = true;
    await store.commitIngest({ states: [], deliveries: [raiseOf(create)], quarantine: [], accepted: 1 });
    d.notify();
    await waitFor(async () => (await delivered(store)) === 2 || (await store.listDeliveries({ status: 'dead' })).length > 0, 'the update done with', 10_000);
    expect(await store.listDeliveries({ status: 'dead' })).toEqual([]);
    const id = erp.state().workOrders[0]?.id as string;
    const updates = (await store.queryAudit({})).filter((a) => a.operation === 'workorder.update');
    expect(updates).toEqual([expect.objectContaining({ outcome: 'delivered', method: 'PATCH', status: 409 })]);
    expect(updates[0]?.error).toBe(
      `priority not raised to HIGH: the ERP lists work order ${id} completed (status "completed"), closed after the fault report was raised; its PATCH /api/v1/work-orders/${id} was answered 409 (the work order closed between the lookup and the PATCH), so this update is done`,
    );
    expect(erp.state().workOrders).toEqual([expect.objectContaining({ externalKey: create.businessKey, status: 'completed', priority: 'MEDIUM' })]);
  });

  it('of a work order closed just before its PATCH at an ERP whose lists lag its writes: the refusal retried once, the retry finds it closed, no dead letter', async () => {
    const clock = { t: Date.now() };
    const erp = await startErpSimulator({ token: 'erp-token', now: () => clock.t, updateVisibleAfterMs: 60_000 });
    cleanup.push(() => erp.close());
    let closeOnPatch = false;
    let afterPatch = false;
    const requests: string[] = [];
    // A planner completes it just as the PATCH goes; the list shows that a minute later (the sim's clock moves on after the lookup that follows the refused PATCH).
    const closing = (async (input: string | URL, init?: RequestInit) => {
      const method = init?.method ?? 'GET';
      if (closeOnPatch) requests.push(method);
      if (closeOnPatch && method === 'PATCH' && erp.state().workOrders[0]?.status === 'open') {
        erp.setWorkOrderStatus({ id: erp.state().workOrders[0]?.id }, 'completed');
        afterPatch = true;
      }
      const response = await fetch(input, init);
      if (afterPatch && method === 'GET') {
        afterPatch = false;
        clock.t += 120_000;
      }
      return response;
    }) as typeof fetch;
    const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token' }), { fetch: closing });
    const { create, store, d } = await createDelivered(connector);
    clock.t += 120_000; // the create visible in lists
    closeOnPatch = true;
    await store.commitIngest({ states: [], deliveries: [raiseOf(create)], quarantine: [], accepted: 1 });
    d.notify();
    await waitFor(async () => (await delivered(store)) === 2 || (await store.listDeliveries({ status: 'dead' })).length > 0, 'the update done with', 20_000);
    expect(await store.listDeliveries({ status: 'dead' })).toEqual([]);
    // The PATCH refused 409, the lookup after it listing it open still; the retry's lookup lists it completed: nothing sent.
    expect(requests).toEqual(['GET', 'PATCH', 'GET', 'GET']);
    const updates = (await store.queryAudit({})).filter((a) => a.operation === 'workorder.update');
    expect(updates.map((a) => [a.outcome, a.method, a.status])).toEqual([
      ['retry', 'PATCH', 409],
      ['delivered', 'GET', 200],
    ]);
    expect(updates[0]?.error).toContain('may not list a closing yet (a list that lags its writes): sent again once');
    expect(updates[1]?.error).toContain('closed after the fault report was raised; nothing was sent to it (a closed work order is not patched), so this update is done');
    expect(erp.state().workOrders).toEqual([expect.objectContaining({ externalKey: create.businessKey, status: 'completed', priority: 'MEDIUM' })]);
  });

  it('whose create is in the dead letters goes, retried as "not there yet" without opening the circuit, and lands once the create is replayed', async () => {
    const erp = await startErpSimulator({ token: 'erp-token' });
    cleanup.push(() => erp.close());
    const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token' }));
    const create = workOrder(1);
    const store = await storeWith([medium(create), raiseOf(create)]);
    // The ERP refuses the create (a 422: for good, to the dead letters); the update does not wait for it for ever.
    erp.faults.add({ kind: 'error', status: 422, method: 'POST', path: '/work-orders' });
    // Retries every 50-100 ms, 40 at most; one failure would open the circuit for a minute.
    const d = dispatcherFor(store, connector, { maxConcurrency: 2, failureThreshold: 1, openMs: 60_000, baseDelayMs: 50, maxDelayMs: 100, maxAttempts: 40 });
    await d.start();
    const updateOutcomes = async () => (await store.queryAudit({})).filter((a) => a.operation === 'workorder.update').map((a) => [a.outcome, a.error ?? '']);
    await waitFor(async () => (await updateOutcomes()).length > 0, 'the update sent after its create died', 10_000);
    const [first] = await updateOutcomes();
    expect(first?.[0]).toBe('retry');
    expect(first?.[1]).toContain('the ERP does not have this work order yet');
    // The operator fixes the cause and replays the create: it lands, and so does the update.
    const [dead] = await store.listDeliveries({ status: 'dead' });
    expect(dead?.operation).toBe('workorder.create');
    await store.replayDead([dead!.id], Date.now());
    d.notify();
    await waitFor(async () => (await delivered(store)) === 2, 'the create and the update delivered', 10_000);
    expect((await updateOutcomes()).at(-1)?.[0]).toBe('delivered');
    // Retried as a conflict: the circuit (one failure opens it here, for a minute) never opened.
    expect(d.metrics().erp?.circuitOpened ?? 0).toBe(0);
    expect(erp.state().workOrders).toEqual([expect.objectContaining({ externalKey: create.businessKey, priority: 'HIGH' })]);
  });
});
