/**
 * Exactly-once effect at the ERP (invariant 3), with or without its idempotency support, under a random schedule
 * of the simulator's faults combined: work orders, inventory counts and usage postings go through
 * the real outbox, dispatcher and REST connector (find-before-create) to the ERP simulator, whose
 * faults (applied but the answer lost, cut short, empty or malformed; timeouts, resets, 5xx, 429,
 * locks, "already exists", a slow ERP that lands a create after its client gave up; inside a batch
 * too) fire on the creates and on the lookups before them, with a stop (or a crash) and a start of
 * the dispatcher in between, and, at an ERP that ignores the lookup's filter and pages its whole
 * list, work orders changing status all along. Whatever the schedule, each business key ends as
 * exactly one record in the ERP and its delivery as delivered. EXACTLY_ONCE_RUNS and
 * EXACTLY_ONCE_SEED run more schedules, or others.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeliveryIntent } from '../core/model/delivery.js';
import type { SqliteStore } from '../adapters/store/sqlite/sqlite-store.js';
import type { Store } from '../ports/store.js';
import { systemClock } from '../ports/clock.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import { waitFor } from '../../test/helpers/wait.js';
import { Dispatcher } from './dispatcher.js';
import { startErpSimulator, type ErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import type { FaultSpec } from '../../simulators/erp-rest/faults.js';
import { createRestConnector } from '../adapters/erp/rest/rest-connector.js';
import { restDestinationSchema } from '../config/schema.js';

const TIMEOUT_MS = 120;
const SETTLE_MS = 250;
/** A slow ERP lands the create after its client gave up (the timeout), before the settle time is over. */
const LATENCY_MS = 160;

const T0 = Date.parse('2026-03-02T08:00:00.000Z');

const intents: DeliveryIntent[] = [
  ...[1, 2, 3].map((n): DeliveryIntent => ({
    destination: 'erp',
    operation: 'workorder.create',
    kind: 'fact',
    businessKey: `EQ-${n % 2}|oil|2026-03-0${n}T08:00:00.000Z`,
    erpAssetId: `EQ-${n % 2}`,
    eventTime: T0 + n,
    payload: { title: `Oil pressure low (${n})` },
  })),
  ...[1, 2].map((n): DeliveryIntent => ({
    destination: 'erp',
    operation: 'inventory.count',
    kind: 'fact',
    businessKey: `WH-1/A-0${n}|SKU-1|r1`,
    erpAssetId: 'SKU-1',
    eventTime: T0 + n,
    payload: { location: `WH-1/A-0${n}`, sku: 'SKU-1', countedQuantity: 10 * n, delta: 10 * n, countedAt: new Date(T0).toISOString() },
  })),
  ...['2026-01', '2026-02'].map((period): DeliveryIntent => ({
    destination: 'erp',
    operation: 'usage.post',
    kind: 'fact',
    businessKey: `FA-1|usage|${period}`,
    erpAssetId: 'FA-1',
    eventTime: T0,
    payload: { period, periodUnits: 160, lifeToDateUnits: 5000, totalExpectedUnits: 20000, unit: 'h' },
  })),
];

const paths = ['/work-orders', '/inventory/counts', '/usage'] as const;
const path = fc.constantFrom(...paths);
/** A request's path, or the batch call that carries writes (its answer lost, cut short ...). */
const httpPath = fc.constantFrom(...paths, '/$batch');
const count = fc.integer({ min: 1, max: 2 });
const anyMethod = fc.constantFrom<'POST' | 'GET' | undefined>('POST', 'GET', undefined);

/** One fault on a create or a lookup before it (a fault without a method takes the lookup first). */
const fault: fc.Arbitrary<FaultSpec> = fc.oneof(
  fc.record({ kind: fc.constant('lost-response' as const), method: fc.constant('POST'), path: httpPath, count }),
  fc.record({ kind: fc.constant('timeout' as const), method: anyMethod, path: httpPath, count }),
  fc.record({ kind: fc.constant('reset' as const), method: anyMethod, path: httpPath, count }),
  fc.record({ kind: fc.constant('error' as const), method: anyMethod, path: httpPath, count, status: fc.constantFrom(500, 502, 503, 504) }),
  fc.record({ kind: fc.constant('error' as const), method: anyMethod, path: httpPath, count, status: fc.constant(429), retryAfterSeconds: fc.constantFrom(0, 1) }),
  fc.record({ kind: fc.constant('latency' as const), method: fc.constant('POST'), path: httpPath, count, latencyMs: fc.constant(LATENCY_MS), holdsKey: fc.boolean() }),
  fc.record({ kind: fc.constantFrom('cut-body' as const, 'malformed' as const, 'empty-body' as const), method: anyMethod, path: httpPath, count }),
  fc.record({ kind: fc.constantFrom('already-exists' as const, 'locked' as const), method: fc.constant('POST'), path, count }),
  fc.record({ kind: fc.constantFrom('already-exists' as const, 'locked' as const), path, count, inBatch: fc.constant(true) }),
  fc.record({ kind: fc.constant('error' as const), path, count, inBatch: fc.constant(true), status: fc.constantFrom(500, 503) }),
);

const schedule = fc.record({
  /** The ERP honours the idempotency header (and the connector relies on it), else find-before-create. */
  keyed: fc.boolean(),
  faults: fc.array(fault, { minLength: 1, maxLength: 6 }),
  /**
   * Batched, and the batch all-or-nothing (refused whole for one failed request, then sent again in
   * halves): answered 400 naming none (`atomic`) or with the failed request's own answer, a 409 too.
   */
  batch: fc.constantFrom<'none' | 'partial' | 'atomic' | 'atomic-failed-request'>('none', 'partial', 'atomic', 'atomic-failed-request'),
  maxConcurrency: fc.constantFrom(1, 3),
  uniqueExternalKey: fc.boolean(),
  /**
   * The ERP ignores the lookup's ?externalKey= filter and pages its whole work-order list (2 a page,
   * in change order), while technicians change work orders (of other keys, and ours) all along.
   */
  unfiltered: fc.option(fc.record({ listOrder: fc.constantFrom('oldest-first' as const, 'newest-first' as const), changeEveryMs: fc.constantFrom(3, 11) }), { nil: undefined }),
  /**
   * Stop the dispatcher this long after the start (grace `graceMs`) and start a new one on the store;
   * with `crash`, the process dies instead: what it sent still reaches the ERP, but no outcome of it
   * is recorded, so the new one finds those deliveries in flight.
   */
  restart: fc.option(fc.record({ afterMs: fc.integer({ min: 0, max: 300 }), graceMs: fc.constantFrom(0, 20), crash: fc.boolean() }), { nil: undefined }),
});

type Schedule = typeof schedule extends fc.Arbitrary<infer T> ? T : never;

/** The store as a process that died sees it: nothing more is claimed or recorded through it. */
function dying(store: SqliteStore, dead: { now: boolean }): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'claimDue') return (...args: Parameters<Store['claimDue']>) => (dead.now ? Promise.resolve([]) : target.claimDue(...args));
      if (prop === 'completeAttempts') return (...args: Parameters<Store['completeAttempts']>) => (dead.now ? Promise.reject(new Error('the process died')) : target.completeAttempts(...args));
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function dispatcherFor(store: Store, erp: ErpSimulator, s: Schedule): Dispatcher {
  const connector = createRestConnector(
    restDestinationSchema.parse({
      name: 'erp',
      type: 'rest',
      baseUrl: erp.url,
      token: 'erp-token',
      timeoutMs: TIMEOUT_MS,
      idempotencySupported: s.keyed,
      ...(s.batch !== 'none' ? { batch: { path: '/api/v1/$batch', maxSize: 3 } } : {}),
    }),
  );
  return new Dispatcher({
    store,
    clock: systemClock,
    idlePollMs: 10,
    random: () => 0.5,
    destinations: [
      {
        name: 'erp',
        connector,
        requestsPerMinute: 600_000,
        maxConcurrency: s.maxConcurrency,
        maxPauseMs: 50,
        maxAttempts: 1000,
        maxAgeMs: 3_600_000,
        baseDelayMs: 5,
        maxDelayMs: 20,
        failureThreshold: 1000,
        openMs: 20,
        timeoutMs: TIMEOUT_MS,
        unknownOutcomeSettleMs: SETTLE_MS,
      },
    ],
  });
}

async function run(s: Schedule): Promise<void> {
  const erp = await startErpSimulator({
    token: 'erp-token',
    idempotency: s.keyed,
    uniqueExternalKey: s.uniqueExternalKey,
    seed: 3,
    batchAtomic: s.batch === 'atomic' || s.batch === 'atomic-failed-request',
    batchAtomicAnswer: s.batch === 'atomic-failed-request' ? 'failed-request' : 'rolled-back',
    ...(s.unfiltered ? { externalKeyFilter: false, pageSize: 2, listOrder: s.unfiltered.listOrder } : {}),
  });
  const store = tempStore();
  const dead = { now: false };
  let d = dispatcherFor(dying(store, dead), erp, s);
  let changes: NodeJS.Timeout | undefined;
  try {
    if (s.unfiltered) {
      // Work orders of the ERP's own, which the unfiltered lookup pages through, and a technician
      // moving one after another through its statuses (each change moves it in the list).
      for (let n = 0; n < 5; n++) {
        const created = await fetch(`${erp.url}/api/v1/work-orders`, {
          method: 'POST',
          headers: { authorization: 'Bearer erp-token', 'content-type': 'application/json' },
          body: JSON.stringify({ erpAssetId: 'EQ-9', title: `by hand ${n}`, externalKey: `by-hand-${n}` }),
        });
        expect(created.status).toBe(201);
      }
      let turn = 0;
      changes = setInterval(() => {
        const open = erp.state().workOrders.filter((w) => w.status === 'open' || w.status === 'in-progress');
        const w = open[turn++ % Math.max(1, open.length)];
        if (w) erp.setWorkOrderStatus({ id: w.id }, w.status === 'open' ? 'in-progress' : 'completed');
      }, s.unfiltered.changeEveryMs);
    }
    for (const f of s.faults) erp.faults.add(f);
    await store.commitIngest({ states: [], deliveries: intents, quarantine: [], accepted: intents.length });
    await d.start();
    if (s.restart) {
      await new Promise((r) => setTimeout(r, s.restart?.afterMs));
      dead.now = s.restart.crash;
      // A dead process's requests run their course at the ERP; its outcomes are never recorded.
      await d.stop(s.restart.crash ? 2000 : s.restart.graceMs);
      d = dispatcherFor(store, erp, s);
      await d.start();
    }
    await waitFor(async () => {
      const [stats] = await store.outboxStats(Date.now());
      return stats !== undefined && stats.pending === 0 && stats.inflight === 0;
    }, 'the outbox drained', 8_000);
    // A create a latency fault still holds lands now, if it was going to.
    if (s.faults.some((f) => f.kind === 'latency')) await new Promise((r) => setTimeout(r, LATENCY_MS + 50));
    const rows = await store.listDeliveries({ limit: 100 });
    expect(rows.filter((r) => r.status !== 'delivered').map((r) => [r.businessKey, r.status, r.lastError])).toEqual([]);
    clearInterval(changes);
    const state = erp.state();
    const keys = (records: readonly Readonly<Record<string, unknown>>[]) => records.map((r) => String(r.externalKey)).sort();
    const want = (operation: string) => intents.filter((i) => i.operation === operation).map((i) => i.businessKey).sort();
    expect(keys(state.workOrders.filter((w) => !w.externalKey?.startsWith('by-hand-')))).toEqual(want('workorder.create'));
    // Only a create looked up first carries its key (a work order always does).
    if (s.keyed) {
      expect(state.inventoryCounts).toHaveLength(want('inventory.count').length);
      expect(state.usagePostings).toHaveLength(want('usage.post').length);
    } else {
      expect(keys(state.inventoryCounts)).toEqual(want('inventory.count'));
      expect(keys(state.usagePostings)).toEqual(want('usage.post'));
    }
  } finally {
    clearInterval(changes);
    await d.stop(0);
    await store.close();
    await erp.close();
  }
}

describe('exactly one record per business key at the ERP, under combined faults (invariant 3)', () => {
  it('holds for every schedule of faults, with or without idempotency support, batched or not, with a stop or a crash and a start in between', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, (s) => run(s)),
      { numRuns: Number(process.env.EXACTLY_ONCE_RUNS ?? 10), seed: Number(process.env.EXACTLY_ONCE_SEED ?? 20261207), endOnFailure: true },
    );
  });
});
