/**
 * The work-order poll's overlap (`rules.maintenance.feedback.pollOverlap`): an ERP that lists a
 * change only some time after the update time it stamps (a long transaction, a lagging read
 * replica, a batching middleware; the simulator's `updateVisibleAfterMs`) lists it with a time
 * before the cursor once the cursor has passed it. Asked from the cursor less the overlap, the poll
 * still reads it; read again on later polls, it is not submitted again; and the records listed
 * before the cursor (within the overlap) do not make it take the ERP for one that ignores
 * `?updatedSince=`.
 */
import { describe, expect, it } from 'vitest';
import { taskContext } from '../../../test/helpers/task-context.js';
import { useTempStores } from '../../../test/helpers/temp-stores.js';
import { useSimulators } from '../../../test/helpers/rest-simulator.js';
import { createRestConnector } from '../../adapters/erp/rest/rest-connector.js';
import { restDestinationSchema } from '../../config/schema.js';
import { createWorkOrderFeedbackTask, unfilteredPolls } from './work-order-feedback.js';

const sim = useSimulators();
const newStore = useTempStores();

const T0 = Date.parse('2026-03-02T08:00:00.000Z');
const MIN = 60_000;
const KEY = 'EQ-1|service-250h|250h@b0';

/**
 * Polls (every minute from T0) an ERP whose status changes are listed 8 minutes after their stamp:
 * our work order (opened 10 minutes before T0) completed at T0+1m, listed from T0+9m; the ERP's
 * own work order opened at T0+8m (listed at once) moves the cursor past the completion's stamp
 * before it is listed. Returns what each poll submitted (status per update) and the task's reports.
 */
async function pollLaggingErp(pollOverlapMs: number) {
  const clock = { t: T0 - 10 * MIN };
  const s = await sim({ now: () => clock.t, updateVisibleAfterMs: 8 * MIN });
  const create = (body: Record<string, unknown>) =>
    fetch(`${s.url}/api/v1/work-orders`, { method: 'POST', headers: { authorization: 'Bearer sim-token', 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => expect(r.status).toBe(201));
  await create({ erpAssetId: 'EQ-1', title: 'service', externalKey: KEY });
  const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: s.url, token: 'sim-token', timeoutMs: 2000 }), { configKey: 'destinations.0' });
  const st = newStore();
  const ctx = taskContext(st, clock, { connector: (n) => (n === 'erp' ? connector : undefined) });
  const task = createWorkOrderFeedbackTask({ destinations: ['erp'], pollEveryMs: MIN, initialLookbackMs: 30 * MIN, pollOverlapMs });
  const reports: string[] = [];
  const run = async () => reports.push((await task.run(ctx))?.msg ?? '');
  clock.t = T0;
  await run();
  clock.t = T0 + MIN;
  s.completeWorkOrder({ externalKey: KEY }, { operatingHoursAtCompletion: 250 });
  clock.t = T0 + 8 * MIN;
  await create({ erpAssetId: 'EQ-2', title: 'manual' });
  // The cursor moves to the ERP's own change (T0+8m): the completion, stamped T0+1m, is not listed yet.
  clock.t = T0 + 8 * MIN + 30_000;
  await run();
  // From T0+9m it is listed, changed 7 minutes before the cursor.
  for (const t of [9, 10, 11, 12]) {
    clock.t = T0 + t * MIN + 30_000;
    await run();
  }
  const statuses = ctx.submitted.map((m) => JSON.parse(String(m.payload)) as { businessKey: string; status: string; eventTime: string });
  return { statuses, reports, unfiltered: await unfilteredPolls(st, 'erp') };
}

describe('a work-order poll of an ERP that lists a change only after its stamped update time', () => {
  it('without an overlap passes over the completion for good', async () => {
    const { statuses } = await pollLaggingErp(0);
    expect(statuses.map((u) => [u.businessKey, u.status])).toEqual([[KEY, 'open']]);
  });

  it('asked from the cursor less the overlap, reads it, once: listed again it is not submitted again, nor taken for an ERP that ignores ?updatedSince=', async () => {
    const { statuses, reports, unfiltered } = await pollLaggingErp(10 * MIN);
    expect(statuses.map((u) => [u.businessKey, u.status, u.eventTime])).toEqual([
      [KEY, 'open', new Date(T0 - 10 * MIN).toISOString()],
      [KEY, 'completed', new Date(T0 + MIN).toISOString()],
    ]);
    expect(reports.filter((r) => r.includes('ignores ?updatedSince='))).toEqual([]);
    expect(unfiltered).toBeUndefined();
  });

  it('an ERP that does ignore ?updatedSince= is still told, against the time the poll asked from (the cursor less the overlap)', async () => {
    const clock = { t: T0 - 120 * MIN };
    const s = await sim({ now: () => clock.t, updatedSinceFilter: false });
    const r = await fetch(`${s.url}/api/v1/work-orders`, { method: 'POST', headers: { authorization: 'Bearer sim-token', 'content-type': 'application/json' }, body: JSON.stringify({ erpAssetId: 'EQ-1', title: 'service', externalKey: KEY }) });
    expect(r.status).toBe(201);
    clock.t = T0;
    const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: s.url, token: 'sim-token', timeoutMs: 2000 }), { configKey: 'destinations.0' });
    const st = newStore();
    const ctx = taskContext(st, clock, { connector: (n) => (n === 'erp' ? connector : undefined) });
    const report = await createWorkOrderFeedbackTask({ destinations: ['erp'], pollEveryMs: MIN, initialLookbackMs: 5 * MIN, pollOverlapMs: 2 * MIN }).run(ctx);
    const asked = T0 - 7 * MIN;
    expect(report?.msg).toContain(`changed before the time it asked from (updatedSince=${new Date(asked).toISOString()})`);
    expect(await unfilteredPolls(st, 'erp')).toMatchObject({ cursor: asked, count: 1, of: 1 });
  });
});
