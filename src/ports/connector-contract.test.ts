/**
 * The connector contract (test/helpers/connector-contract.ts) run against the REST connector and
 * its simulator, with and without idempotency support, and against the toy connector built as
 * docs/adding-a-connector.md says (test/helpers/toy-erp.ts).
 */
import { afterEach } from 'vitest';
import { connectorContract } from '../../test/helpers/connector-contract.js';
import { connectorFor, outboxItem, useSimulators } from '../../test/helpers/rest-simulator.js';
import { startToyErp, ToyConnector } from '../../test/helpers/toy-erp.js';

const simulator = useSimulators();
let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
});

for (const idempotencySupported of [true, false]) {
  connectorContract(`REST, idempotencySupported: ${idempotencySupported}`, async () => {
    const erp = await simulator({ token: 'sim-token', uniqueExternalKey: !idempotencySupported });
    return {
      connector: connectorFor(erp, { idempotencySupported }),
      create: () => outboxItem('workorder.create', 'EQ-1', { title: 'Oil pressure low' }),
      loseNextAnswer: () => void erp.faults.add({ kind: 'lost-response', method: 'POST', path: '/work-orders' }),
      throttleNext: (seconds) => void erp.faults.add({ kind: 'error', status: 429, retryAfterSeconds: seconds }),
      records: () => erp.counters().applied.workOrders,
      requests: () => erp.counters().requests,
    };
  });
}

connectorContract('the toy connector of docs/adding-a-connector.md', async () => {
  const erp = await startToyErp('toy-key');
  closers.push(() => erp.close());
  let n = 0;
  return {
    connector: new ToyConnector(erp.url, 'toy-key'),
    create: () => ({ ...outboxItem('workorder.create', 'EQ-1', { title: 'Oil pressure low' }), businessKey: `EQ-1|oil|${++n}` }),
    loseNextAnswer: erp.loseNextAnswer,
    throttleNext: erp.throttleNext,
    records: erp.records,
    requests: erp.requests,
  };
});
