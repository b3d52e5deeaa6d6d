/**
 * The maintenance closed loop polled, end to end, from an ERP that lists work orders newest change
 * first (as many do by default) in pages of two, with `maxWorkOrderPages: 1`: every completion made
 * in the ERP reaches the maintenance rule over successive polls, none passed over by a cursor that
 * moved on past pages not read, and the poll that stopped at the cap is warned of in the log,
 * naming the key to raise and workOrderOrder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssetMaintenance } from '../../src/cli/commands/maintenance.js';
import { runCli } from '../helpers/cli.js';
import { startErpService, type ErpService } from '../helpers/erp-service.js';
import { waitFor } from '../helpers/wait.js';

const env = { INTAKE_TOKEN: 'intake-token-poll', ERP_TOKEN: 'erp-token' };
const ASSETS = ['EQ-1', 'EQ-2', 'EQ-3', 'EQ-4', 'EQ-5', 'EQ-6'];
let service: ErpService;

beforeAll(async () => {
  service = await startErpService({
    simulator: { listOrder: 'newest-first', pageSize: 2 },
    destination: { maxWorkOrderPages: 1 },
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

const t0 = Date.now() - 24 * 3_600_000;
const hours = (asset: string, at: number, operatingHours: number) =>
  fetch(`${service.base}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.INTAKE_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'meter', assetId: `tag-${asset}`, eventTime: new Date(t0 + at * 3_600_000).toISOString(), operatingHours }),
  });
const status = async (): Promise<AssetMaintenance[]> => JSON.parse((await runCli(['maintenance', 'status', '--json', '-c', service.cfg.path], env)).stdout) as AssetMaintenance[];

describe('maintenance closed loop polled from an ERP listing newest first, past maxWorkOrderPages', () => {
  it('every completion resets its baseline over successive polls, and the page cap is warned of', async () => {
    const { erp, svc } = service;
    for (const asset of ASSETS) for (const [at, h] of [[0, 5], [4.5, 9], [6, 10.5]] as const) expect((await hours(asset, at, h)).status).toBe(202);
    await waitFor(() => erp.state().workOrders.length === ASSETS.length, `the work orders (output: ${svc.output()})`);

    // All completed at once: a list of six, three polls long, newest first.
    for (const wo of erp.state().workOrders) erp.completeWorkOrder({ id: wo.id }, { operatingHoursAtCompletion: 11 });
    const done = await waitFor(async () => {
      const s = await status();
      return s.filter((a) => a.closed.some((w) => w.status === 'completed')).length === ASSETS.length ? s : undefined;
    }, `every completion to arrive (output: ${svc.output()})`);
    for (const a of done) expect(a.due.find((d) => d.rule === 'svc-10h')).toMatchObject({ baselineHours: 11, nextDueHours: 21 });

    const log = svc.output();
    expect(log).toContain('work-order poll of erp stopped after 1 page (maxWorkOrderPages) with more of the list to come, not listed oldest change first');
    expect(log).toContain('raise maxWorkOrderPages of destination \\"erp\\" (now 1)');
    expect(log).toContain('workOrderOrder');
    expect(log).toMatch(/"level":"?(40|warn)"?[^\n]*stopped after 1 page/);
  });
});
