/**
 * A flaky ERP (invariant 3): 5xx, resets, timeouts and "applied, but the response was lost",
 * through the real app (HTTP intake, outbox, dispatcher, REST connector). Every fact takes effect
 * exactly once: retries reuse idempotency keys, so lost responses are answered from the ERP's
 * idempotency store instead of applying twice; work orders are never duplicated, with or without
 * the ERP's idempotency support (find-before-create).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { compileConfig } from '../../src/config/load.js';
import type { DeliveryIntent } from '../../src/core/model/delivery.js';
import { createLogger } from '../../src/adapters/log/logger.js';
import { startErpSimulator, type ErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import { tempStorePath } from '../helpers/temp-store.js';
import { waitFor } from '../helpers/wait.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(idempotency: boolean): Promise<{ app: App; erp: ErpSimulator }> {
  const erp = await startErpSimulator({ token: 't0k3n-erp', idempotency, seed: 7 });
  cleanup.push(() => erp.close());
  erp.faults.add({ kind: 'lost-response', probability: 0.25 });
  erp.faults.add({ kind: 'error', status: 500, probability: 0.1 });
  erp.faults.add({ kind: 'reset', probability: 0.05 });
  erp.faults.add({ kind: 'timeout', probability: 0.03 });
  const config = compileConfig({
    store: { path: tempStorePath(), synchronous: 'normal' },
    destinations: [
      {
        name: 'erp',
        type: 'rest',
        baseUrl: erp.url,
        token: 't0k3n-erp',
        idempotencySupported: idempotency,
        timeoutMs: '400ms',
        rateLimit: { requestsPerMinute: 60_000, maxConcurrency: 4 },
        retry: { baseDelayMs: '20ms', maxDelayMs: '200ms', maxAttempts: 50, unknownOutcomeSettleMs: '300ms' },
        circuitBreaker: { failureThreshold: 50, openMs: '100ms' },
      },
    ],
    assets: { inline: Array.from({ length: 20 }, (_, i) => ({ erpAssetId: `EQ-${i}`, identifiers: [{ type: 'tag', value: `t${i}` }] })) },
    server: { port: 0 },
  });
  const app = await createApp(config, { logger: createLogger('silent'), http: false });
  cleanup.push(() => app.stop());
  await app.start();
  return { app, erp };
}

const positions = (n: number) =>
  Array.from({ length: n }, (_, k) => ({
    source: 'http',
    channel: '/v1/events',
    receivedAt: Date.now(),
    payload: JSON.stringify({ kind: 'position', assetId: `t${k % 20}`, eventTime: Date.now() - 600_000 + k * 1000, lat: 40 + k * 0.01, lng: 2, zone: `Z${k % 4}` }),
  }));

const workOrders = (n: number): DeliveryIntent[] =>
  Array.from({ length: n }, (_, k) => ({
    destination: 'erp',
    operation: 'workorder.create',
    kind: 'fact',
    businessKey: `EQ-${k % 20}|engine-temp|${k}`,
    erpAssetId: `EQ-${k % 20}`,
    eventTime: Date.now() - 1000,
    payload: { erpAssetId: `EQ-${k % 20}`, title: `Engine temperature high (${k})`, priority: 'HIGH' },
  }));

describe.each([true, false])('flaky ERP (idempotency header honoured: %s)', (idempotency) => {
  it('ends in the right state with every fact applied once', async () => {
    const { app, erp } = await setup(idempotency);
    // Location updates through the pipeline; work orders as a rule would enqueue them (twice: a replay).
    const result = await app.ingestor.submit(positions(200));
    expect(result.accepted).toBe(200);
    await app.store.commitIngest({ states: [], deliveries: workOrders(30), quarantine: [], accepted: 0 });
    await app.store.commitIngest({ states: [], deliveries: workOrders(30), quarantine: [], accepted: 0 });
    app.dispatcher.notify();

    await waitFor(async () => {
      const [s] = await app.store.outboxStats(Date.now());
      return s && s.pending === 0 && s.inflight === 0;
    }, 'outbox drained', 60_000);
    const [stats] = await app.store.outboxStats(Date.now());
    expect(stats?.dead).toBe(0);

    const c = erp.counters();
    const state = erp.state();
    const fired = Object.values(c.faultsFired).reduce((s, n) => s + n, 0);
    expect(fired).toBeGreaterThan(10); // the ERP really was flaky
    expect(state.workOrders).toHaveLength(30);
    expect(c).toMatchObject({ duplicateWorkOrders: 0, duplicateInventoryCounts: 0, duplicateUsagePostings: 0 });
    if (idempotency) {
      expect(c.duplicatesSuppressed).toBeGreaterThan(0); // lost responses were retried and de-duplicated
      // Each key applies at most once; a location applies again only as a resend after an unknown
      // outcome (its own key, so at most once each).
      const resends = (await app.store.listDeliveries({ limit: 100_000 })).filter((r) => r.resend).length;
      expect(c.duplicateStateWrites).toBeLessThanOrEqual(resends);
    }
    // Never sent older after newer. A request the client gave up on can still land late (counted apart,
    // `outOfOrderLateLandings`): the newer value sent again after `unknownOutcomeSettleMs` repairs it, as the final state shows.
    expect(c.outOfOrderStateWrites).toBe(0);
    // Each asset ends at its newest position.
    for (let a = 0; a < 20; a++) {
      const newest = 180 + a;
      expect(state.locations[`EQ-${a}`]?.coordinates?.lat).toBeCloseTo(40 + newest * 0.01, 6);
    }
  });
});
