/**
 * The maintenance closed loop polled from an ERP that ignores `?updatedSince=` (every poll lists its
 * whole work-order list): every completion still resets its baseline, and the service warns of the
 * unfiltered list once, naming the key, not on every poll.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssetMaintenance } from '../../src/cli/commands/maintenance.js';
import { runCli } from '../helpers/cli.js';
import { startErpService, type ErpService } from '../helpers/erp-service.js';
import { waitFor } from '../helpers/wait.js';

const env = { INTAKE_TOKEN: 'intake-token-unfiltered', ERP_TOKEN: 'erp-token' };
const ASSETS = ['EQ-1', 'EQ-2'];
const HOUR = 3_600_000;
let service: ErpService;
/** How far behind this host's clock the ERP's is: its records are stamped with it. */
let erpBehind = 2 * HOUR;

beforeAll(async () => {
  service = await startErpService({
    simulator: { updatedSinceFilter: false, now: () => Date.now() - erpBehind },
    env,
    config: {
      sources: { http: { token: '${INTAKE_TOKEN}' } },
      assets: { inline: ASSETS.map((id) => ({ erpAssetId: id, identifiers: [{ type: 'tag', value: `tag-${id}` }] })) },
      ingest: { checkpointMs: '200ms' },
      rules: { allowedLateness: '0s', maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }], feedback: { pollEvery: '300ms' } } },
    },
  });
});

afterAll(async () => {
  expect(await service?.stop()).toBe(0);
});

const t0 = Date.now() - 24 * HOUR;
const hours = (asset: string, at: number, operatingHours: number) =>
  fetch(`${service.base}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.INTAKE_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'meter', assetId: `tag-${asset}`, eventTime: new Date(t0 + at * HOUR).toISOString(), operatingHours }),
  });
const status = async (): Promise<AssetMaintenance[]> => JSON.parse((await runCli(['maintenance', 'status', '--json', '-c', service.cfg.path], env)).stdout) as AssetMaintenance[];
const WARNING = 'the ERP ignores ?updatedSince=';

describe('maintenance closed loop polled from an ERP that ignores ?updatedSince=', () => {
  it('every completion resets its baseline; the unfiltered list is warned of once', async () => {
    const { erp, svc } = service;
    for (const asset of ASSETS) for (const [at, h] of [[0, 5], [4.5, 9], [6, 10.5]] as const) expect((await hours(asset, at, h)).status).toBe(202);
    await waitFor(() => erp.state().workOrders.length === ASSETS.length, `the work orders (output: ${svc.output()})`);
    const [first, second] = erp.state().workOrders;
    // One completed two hours ago (by the ERP's clock then), one now: the cursor moves to the newer,
    // and the ERP lists the older on every poll after.
    erp.completeWorkOrder({ id: first?.id ?? '' }, { operatingHoursAtCompletion: 11 });
    erpBehind = 0;
    erp.completeWorkOrder({ id: second?.id ?? '' }, { operatingHoursAtCompletion: 11 });
    const done = await waitFor(async () => {
      const s = await status();
      return s.filter((a) => a.closed.some((w) => w.status === 'completed')).length === ASSETS.length ? s : undefined;
    }, `every completion to arrive (output: ${svc.output()})`);
    for (const a of done) expect(a.due.find((d) => d.rule === 'svc-10h')).toMatchObject({ baselineHours: 11, nextDueHours: 21 });
    await waitFor(() => svc.output().includes(WARNING), `the warning (output: ${svc.output()})`);
    // Polls go on listing the old record (every 300 ms): the warning is not said again.
    const polls = erp.counters().requests;
    await waitFor(() => erp.counters().requests >= polls + 5, 'five more polls');
    expect(svc.output().split(WARNING).length - 1).toBe(1);
    expect(svc.output()).toContain('paths.workOrders');
    const shown = await runCli(['status', '-c', service.cfg.path], env);
    expect(shown.stdout).toMatch(/work-order poll of erp NOT FILTERED: \d+ poll\(s\)/);
  });
});
