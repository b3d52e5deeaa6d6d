/**
 * A work-order poll whose ERP ignores `?updatedSince=` (every poll lists its whole list): told by
 * the records listed that changed well before the cursor, warned of once per destination (again
 * after it was listed as asked, and recurs), counted in the store for `status`, and the records
 * still read as before.
 */
import { describe, expect, it } from 'vitest';
import { taskContext } from '../../../test/helpers/task-context.js';
import { useTempStores } from '../../../test/helpers/temp-stores.js';
import { useSimulators } from '../../../test/helpers/rest-simulator.js';
import { createRestConnector } from '../../adapters/erp/rest/rest-connector.js';
import { restDestinationSchema } from '../../config/schema.js';
import { LISTED_BEFORE_ALLOWANCE_MS, type ErpConnector, type WorkOrderPoll } from '../../ports/connector.js';
import { createWorkOrderFeedbackTask, unfilteredPolls } from './work-order-feedback.js';

const sim = useSimulators();
const newStore = useTempStores();

const T0 = Date.parse('2026-03-02T08:00:00.000Z');
const MIN = 60_000;
const KEY = 'EQ-1|service-250h|250h@b0';

/** The simulator at `clock`, with a work order of ours completed 2 h before T0 and one the ERP opened itself then. */
async function erpWithHistory(clock: { t: number }, updatedSinceFilter: boolean) {
  const s = await sim({ now: () => clock.t, updatedSinceFilter });
  const at = clock.t;
  clock.t = T0 - 120 * MIN;
  const create = (body: Record<string, unknown>) =>
    fetch(`${s.url}/api/v1/work-orders`, { method: 'POST', headers: { authorization: 'Bearer sim-token', 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => expect(r.status).toBe(201));
  await create({ erpAssetId: 'EQ-1', title: 'service', externalKey: KEY });
  s.completeWorkOrder({ externalKey: KEY }, { operatingHoursAtCompletion: 250 });
  await create({ erpAssetId: 'EQ-2', title: 'manual' });
  clock.t = at;
  const config = restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: s.url, token: 'sim-token', timeoutMs: 2000 });
  return { s, connector: createRestConnector(config, { configKey: 'destinations.0' }) };
}

describe('a work-order poll whose ERP ignores ?updatedSince=', () => {
  it('lists records changed well before the cursor: the connector counts them (those at or after it, and within the allowance, not)', async () => {
    const clock = { t: T0 };
    const { connector } = await erpWithHistory(clock, false);
    const unfiltered = await connector.fetchWorkOrderUpdates(T0 - 5 * MIN, { signal: new AbortController().signal });
    expect(unfiltered.listedBefore).toMatchObject({ count: 2, of: 2, oldest: T0 - 120 * MIN });
    expect(unfiltered.listedBefore?.advice).toContain('destinations.0.paths.workOrders (destination "erp")');
    // Read as ever: the completion is an update all the same.
    expect(unfiltered.updates.map((u) => [u.businessKey, u.status])).toEqual([[KEY, 'completed']]);
    // Asked from just after the records' time (within the allowance an ERP's coarser comparison takes): no such records.
    expect((await connector.fetchWorkOrderUpdates(T0 - 120 * MIN + LISTED_BEFORE_ALLOWANCE_MS, { signal: new AbortController().signal })).listedBefore).toBeUndefined();
    const honest = await erpWithHistory({ t: T0 }, true);
    const filtered = await honest.connector.fetchWorkOrderUpdates(T0 - 5 * MIN, { signal: new AbortController().signal });
    expect(filtered).toEqual({ updates: [] });
  });

  it('tells by the update time only (workOrderFields.updatedAt): a record with only a creation time long before may have changed since', async () => {
    const created = new Date(T0 - 120 * MIN).toISOString();
    const listing = [
      { id: 'WO-1', externalKey: KEY, erpAssetId: 'EQ-1', status: 'in-progress', createdAt: created },
      { id: 'WO-2', externalKey: 'EQ-2|service-250h|250h@b0', erpAssetId: 'EQ-2', status: 'in-progress', ModifiedOn: created, createdAt: created },
    ];
    const erp = (() => Promise.resolve(new Response(JSON.stringify(listing), { status: 200, headers: { 'content-type': 'application/json' } }))) as typeof fetch;
    const poll = (fields: Record<string, string>) =>
      createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: 'https://erp.example.test', workOrderFields: fields }), { fetch: erp, configKey: 'destinations.0' }).fetchWorkOrderUpdates(T0 - 5 * MIN, { signal: new AbortController().signal });
    expect((await poll({})).listedBefore).toBeUndefined();
    const mapped = await poll({ updatedAt: 'ModifiedOn' });
    expect(mapped.listedBefore).toMatchObject({ count: 1, of: 2, oldest: T0 - 120 * MIN });
    expect(mapped.listedBefore?.advice).toContain('destinations.0.workOrderFields.updatedAt (now ModifiedOn)');
  });

  it('warns once per destination, not on every poll; still submits what it lists; counts the polls in the store', async () => {
    const clock = { t: T0 };
    const { connector } = await erpWithHistory(clock, false);
    const st = newStore();
    const ctx = taskContext(st, clock, { connector: (n) => (n === 'erp' ? connector : undefined) });
    const task = createWorkOrderFeedbackTask({ destinations: ['erp'], pollEveryMs: MIN, initialLookbackMs: 5 * MIN });
    const first = await task.run(ctx);
    expect(first).toMatchObject({ level: 'warn' });
    expect(first?.msg).toContain(`work-order poll of erp listed 2 of 2 work orders changed before the time it asked from (updatedSince=${new Date(T0 - 5 * MIN).toISOString()}), the oldest at ${new Date(T0 - 120 * MIN).toISOString()}: the ERP ignores ?updatedSince=`);
    expect(first?.msg).toContain('destinations.0.paths.workOrders');
    expect(first?.msg).toContain('rules.maintenance.feedback.pollEvery: 0');
    expect(ctx.submitted).toHaveLength(1);
    for (const n of [2, 3]) {
      clock.t += MIN;
      const again = await task.run(ctx);
      expect(again?.msg ?? '').not.toContain('ignores ?updatedSince=');
      expect(await unfilteredPolls(st, 'erp')).toMatchObject({ since: T0, polls: n, count: 2, of: 2, oldest: T0 - 120 * MIN });
    }
    // A task started afresh (a restart) does not say it again: the store remembers.
    clock.t += MIN;
    expect((await createWorkOrderFeedbackTask({ destinations: ['erp'], pollEveryMs: MIN, initialLookbackMs: 5 * MIN }).run(ctx))?.msg ?? '').not.toContain('ignores ?updatedSince=');
    // Every poll read the completion again and handed it on (the maintenance rule takes it once).
    expect(ctx.submitted.map((m) => (JSON.parse(String(m.payload)) as { businessKey: string }).businessKey)).toEqual([KEY, KEY, KEY, KEY]);
  });

  it('says so when a poll that read records lists none before its cursor, and warns again when it recurs; a poll that read nothing tells neither', async () => {
    let poll: WorkOrderPoll = { updates: [], readUpTo: T0 - MIN, listedBefore: { count: 3, of: 4, oldest: T0 - 60 * MIN, advice: 'ADVICE' } };
    const connector: ErpConnector = { name: 'erp', capabilities: { maxBatchSize: 1, operations: [] }, send: () => Promise.resolve([]), fetchWorkOrderUpdates: () => Promise.resolve(poll) };
    const clock = { t: T0 };
    const st = newStore();
    const ctx = taskContext(st, clock, { connector: () => connector });
    const task = createWorkOrderFeedbackTask({ destinations: ['erp'], pollEveryMs: MIN, initialLookbackMs: 5 * MIN });
    const warned = (r: Awaited<ReturnType<typeof task.run>>) => (r?.msg ?? '').includes('ignores ?updatedSince=');
    expect(warned(await task.run(ctx))).toBe(true);
    expect((await task.run(ctx))?.msg ?? '').toBe('');
    // Nothing listed at all: no evidence either way.
    poll = { updates: [] };
    expect(await task.run(ctx)).toBeUndefined();
    expect(await unfilteredPolls(st, 'erp')).toMatchObject({ polls: 2 });
    // Listed as asked: said (info), and forgotten.
    poll = { updates: [], readUpTo: T0 };
    expect(await task.run(ctx)).toMatchObject({ level: 'info', msg: expect.stringContaining('listed only changes since the time it asked from again, after 2 polls') });
    expect(await unfilteredPolls(st, 'erp')).toBeUndefined();
    // It recurs: warned of again.
    poll = { updates: [], readUpTo: T0, listedBefore: { count: 1, of: 1, oldest: T0 - 60 * MIN, advice: 'ADVICE' } };
    const again = await task.run(ctx);
    expect(warned(again)).toBe(true);
    expect(again?.msg).toContain('ADVICE');
  });
});
