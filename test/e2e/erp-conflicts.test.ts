/**
 * 409 answers from the ERP through the real app (outbox, dispatcher, REST connector, simulator):
 * a duplicate create is the earlier attempt that landed (delivered once, with the existing
 * record's id), a lock is retried until it passes, and any other 409 dead-letters with the ERP's
 * reason (invariants 2 and 3).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { compileConfig } from '../../src/config/load.js';
import type { DeliveryIntent } from '../../src/core/model/delivery.js';
import { createLogger } from '../../src/adapters/log/logger.js';
import { startErpSimulator, type ErpSimulator, type ErpSimulatorOptions } from '../../simulators/erp-rest/erp-simulator.js';
import { tempStorePath } from '../helpers/temp-store.js';
import { waitFor } from '../helpers/wait.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(simulator: ErpSimulatorOptions): Promise<{ app: App; erp: ErpSimulator }> {
  const erp = await startErpSimulator({ token: 't0k3n-erp', ...simulator });
  cleanup.push(() => erp.close());
  const config = compileConfig({
    store: { path: tempStorePath(), synchronous: 'normal' },
    destinations: [
      {
        name: 'erp',
        type: 'rest',
        baseUrl: erp.url,
        token: 't0k3n-erp',
        timeoutMs: '1s',
        // A create whose answer was lost is retried once it can no longer land: soon, here.
        retry: { baseDelayMs: '20ms', maxDelayMs: '100ms', maxAttempts: 5, unknownOutcomeSettleMs: '200ms' },
      },
    ],
    assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 't1' }] }] },
    server: { port: 0 },
  });
  const app = await createApp(config, { logger: createLogger('silent'), http: false });
  cleanup.push(() => app.stop());
  await app.start();
  return { app, erp };
}

const workOrder = (k: number): DeliveryIntent => ({
  destination: 'erp',
  operation: 'workorder.create',
  kind: 'fact',
  businessKey: `EQ-1|engine-temp|${k}`,
  erpAssetId: 'EQ-1',
  eventTime: Date.now() - 1000,
  payload: { erpAssetId: 'EQ-1', title: `Engine temperature high (${k})`, priority: 'HIGH' },
});

async function deliver(app: App, intents: DeliveryIntent[]): Promise<void> {
  await app.store.commitIngest({ states: [], deliveries: intents, quarantine: [], accepted: 0 });
  app.dispatcher.notify();
  await waitFor(async () => {
    const [s] = await app.store.outboxStats(Date.now());
    return s !== undefined && s.pending === 0 && s.inflight === 0;
  }, 'outbox drained', 20_000);
}

describe('409 answers through the dispatcher', () => {
  it('a duplicate create answered 409 ends delivered once, with the id of the record the lost attempt made', async () => {
    // An ERP that ignores the idempotency header but keeps externalKey unique.
    const { app, erp } = await setup({ idempotency: false, uniqueExternalKey: true });
    erp.faults.add({ kind: 'lost-response', method: 'POST', path: '/work-orders' });
    await deliver(app, [workOrder(1)]);

    const [row] = await app.store.listDeliveries({ operation: 'workorder.create' });
    expect(row).toMatchObject({ status: 'delivered', attempts: 2 });
    const records = erp.state().workOrders;
    expect(records).toHaveLength(1);
    expect(erp.counters()).toMatchObject({ duplicatesRefused: 1, duplicateWorkOrders: 0, duplicateInventoryCounts: 0, duplicateUsagePostings: 0 });
    const delivered = (await app.store.factDeliveries('workorder.create', ['EQ-1|engine-temp|1'])).get('EQ-1|engine-temp|1');
    expect(delivered?.response).toMatchObject({ id: records[0]?.id });
    const audit = await app.store.queryAudit({ deliveryId: row?.id ?? -1 });
    expect(audit.map((a) => [a.outcome, a.status])).toEqual(expect.arrayContaining([['retry', undefined], ['delivered', 409]]));
  });

  it('a lock answered 409 is retried, then succeeds', async () => {
    const { app, erp } = await setup({});
    erp.faults.add({ kind: 'locked', method: 'POST', path: '/work-orders', count: 2 });
    await deliver(app, [workOrder(2)]);

    const [row] = await app.store.listDeliveries({ operation: 'workorder.create' });
    expect(row).toMatchObject({ status: 'delivered', attempts: 3 });
    expect(erp.state().workOrders).toHaveLength(1);
    const audit = await app.store.queryAudit({ deliveryId: row?.id ?? -1 });
    expect(audit.filter((a) => a.outcome === 'retry').map((a) => a.status)).toEqual([409, 409]);
    expect(audit.find((a) => a.outcome === 'retry')?.error).toContain('is locked by user PLANNER-7');
  });

  it("any other 409 dead-letters at once with the ERP's reason", async () => {
    const { app, erp } = await setup({});
    erp.faults.add({ kind: 'error', status: 409, method: 'POST', body: { error: { code: 'InvalidState', message: 'asset EQ-1 is retired: no work orders can be opened' } } });
    await deliver(app, [workOrder(3)]);

    const [row] = await app.store.listDeliveries({ operation: 'workorder.create' });
    expect(row).toMatchObject({ status: 'dead', attempts: 1 });
    expect(row?.lastError).toContain('409 conflict: InvalidState: asset EQ-1 is retired: no work orders can be opened');
    expect(row?.lastError).toContain('on409.workOrders');
    expect(erp.state().workOrders).toHaveLength(0);
  });
});
