/**
 * The maintenance closed loop polled, end to end, from an ERP that lists work orders newest change
 * first (as many do by default) in pages of two, with `maxWorkOrderPages: 1`: every completion made
 * in the ERP reaches the maintenance rule over successive polls, none passed over by a cursor that
 * moved on past pages not read, and the poll that stopped at the cap is warned of in the log,
 * naming the key to raise and workOrderOrder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPollLoop, type PollLoop } from '../helpers/poll-loop.js';

const env = { INTAKE_TOKEN: 'intake-token-poll', ERP_TOKEN: 'erp-token' };
const ASSETS = ['EQ-1', 'EQ-2', 'EQ-3', 'EQ-4', 'EQ-5', 'EQ-6'];
let loop: PollLoop;

beforeAll(async () => {
  loop = await startPollLoop({ assets: ASSETS, env, simulator: { listOrder: 'newest-first', pageSize: 2 }, destination: { maxWorkOrderPages: 1 } });
});

afterAll(async () => {
  expect(await loop?.service.stop()).toBe(0);
});

describe('maintenance closed loop polled from an ERP listing newest first, past maxWorkOrderPages', () => {
  it('every completion resets its baseline over successive polls, and the page cap is warned of', async () => {
    const { erp, svc } = loop.service;
    await loop.openWorkOrders();

    // All completed at once: a list of six, three polls long, newest first.
    for (const wo of erp.state().workOrders) erp.completeWorkOrder({ id: wo.id }, { operatingHoursAtCompletion: 11 });
    const done = await loop.completed();
    for (const a of done) expect(a.due.find((d) => d.rule === 'svc-10h')).toMatchObject({ baselineHours: 11, nextDueHours: 21 });

    const log = svc.output();
    expect(log).toContain('work-order poll of erp stopped after 1 page (maxWorkOrderPages) with more of the list to come, not listed oldest change first');
    expect(log).toContain('raise maxWorkOrderPages of destination \\"erp\\" (now 1)');
    expect(log).toContain('workOrderOrder');
    expect(log).toMatch(/"level":"?(40|warn)"?[^\n]*stopped after 1 page/);
  });
});
