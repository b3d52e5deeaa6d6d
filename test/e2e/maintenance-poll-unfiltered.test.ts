/**
 * The maintenance closed loop polled from an ERP that ignores `?updatedSince=` (every poll lists its
 * whole work-order list): every completion still resets its baseline, and the service warns of the
 * unfiltered list once, naming the key, not on every poll.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startPollLoop, type PollLoop } from '../helpers/poll-loop.js';
import { waitFor } from '../helpers/wait.js';

const env = { INTAKE_TOKEN: 'intake-token-unfiltered', ERP_TOKEN: 'erp-token' };
const ASSETS = ['EQ-1', 'EQ-2'];
const HOUR = 3_600_000;
let loop: PollLoop;
/** How far behind this host's clock the ERP's is: its records are stamped with it. */
let erpBehind = 2 * HOUR;

beforeAll(async () => {
  loop = await startPollLoop({ assets: ASSETS, env, simulator: { updatedSinceFilter: false, now: () => Date.now() - erpBehind } });
});

afterAll(async () => {
  expect(await loop?.service.stop()).toBe(0);
});

const WARNING = 'the ERP ignores ?updatedSince=';

describe('maintenance closed loop polled from an ERP that ignores ?updatedSince=', () => {
  it('every completion resets its baseline; the unfiltered list is warned of once', async () => {
    const { erp, svc } = loop.service;
    await loop.openWorkOrders();
    const [first, second] = erp.state().workOrders;
    // One completed two hours ago (by the ERP's clock then), one now: the cursor moves to the newer,
    // and the ERP lists the older on every poll after.
    erp.completeWorkOrder({ id: first?.id ?? '' }, { operatingHoursAtCompletion: 11 });
    erpBehind = 0;
    erp.completeWorkOrder({ id: second?.id ?? '' }, { operatingHoursAtCompletion: 11 });
    const done = await loop.completed();
    for (const a of done) expect(a.due.find((d) => d.rule === 'svc-10h')).toMatchObject({ baselineHours: 11, nextDueHours: 21 });
    await waitFor(() => svc.output().includes(WARNING), `the warning (output: ${svc.output()})`);
    // Polls go on listing the old record (every 300 ms): the warning is not said again.
    const polls = erp.counters().requests;
    await waitFor(() => erp.counters().requests >= polls + 5, 'five more polls');
    expect(svc.output().split(WARNING).length - 1).toBe(1);
    expect(svc.output()).toContain('paths.workOrders');
    const shown = await runCli(['status', '-c', loop.service.cfg.path], env);
    expect(shown.stdout).toMatch(/work-order poll of erp NOT FILTERED: \d+ poll\(s\)/);
  });
});
