/**
 * Calendar service intervals through `assetbridge run`: with no event from the asset at all (it is
 * parked), the service's hourly check — here every second — opens the inspection work order once
 * its lead has begun, once; the ERP simulator completes it and pushes the change by webhook; the
 * next inspection then counts from the completion day (`assetbridge maintenance status`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import { startErpService, type ErpService } from '../helpers/erp-service.js';
import type { AssetMaintenance } from '../../src/cli/commands/maintenance.js';
import { runCli, type ServiceProcess } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'whsec-calendar-0123456789';
const env = { ERP_TOKEN: 'erp-token', ERP_WEBHOOK_SECRET: SECRET };
const DAY = 86_400_000;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);
const lastService = day(Date.now() - 27 * DAY); // due in 3 days; the lead is 5
let erp: ErpSimulator;
let svc: ServiceProcess;
let cfg: { path: string; dir: string };
let service: ErpService;

beforeAll(async () => {
  service = await startErpService({
    simulator: { knownAssets: ['EQ-1'], webhookSecret: SECRET },
    env,
    webhook: true,
    config: {
      assets: { inline: [{ erpAssetId: 'EQ-1', erpModule: 'maintenance', identifiers: [{ type: 'tag', value: 'tag-1' }], attributes: { lastServiceDate: lastService } }] },
      ingest: { checkpointMs: '200ms' },
      rules: { maintenance: { calendarIntervals: [{ name: 'inspect-30d', everyDays: 30, dueSoonDays: 5 }], calendarCheckEvery: '1s', feedback: { pollEvery: 0 } } },
    },
  });
  ({ erp, svc, cfg } = service);
});

afterAll(async () => {
  expect(await service?.stop()).toBe(0); // graceful stop
});

const status = async (): Promise<AssetMaintenance | undefined> => {
  const r = await runCli(['maintenance', 'status', '--json', '-c', cfg.path], env);
  return (JSON.parse(r.stdout) as AssetMaintenance[])[0];
};

describe('calendar service intervals through the service', () => {
  it('opens the inspection once for a parked asset, and counts the next one from the completion', async () => {
    await waitFor(() => erp.state().workOrders.length === 1, `the inspection work order (output: ${svc.output()})`);
    const key = `EQ-1|inspect-30d|${day(Date.parse(lastService) + 30 * DAY)}@b${lastService}`;
    expect(erp.state().workOrders[0]?.externalKey).toBe(key);
    expect((await status())?.due).toEqual([
      expect.objectContaining({ rule: 'inspect-30d', type: 'calendar', state: 'due soon, work order requested', baselineDate: lastService }) as unknown,
    ]);
    // More checks go by: still one.
    await new Promise((r) => setTimeout(r, 2500));
    expect(erp.state().workOrders).toHaveLength(1);

    const completedOn = day(Date.now());
    erp.completeWorkOrder({ externalKey: key });
    await waitFor(async () => (await status())?.closed.some((w) => w.businessKey === key && w.status === 'completed'), `the completion to arrive (webhooks sent ${erp.counters().webhooksSent})`);
    const moved = await waitFor(async () => {
      const baseline = (await status())?.due[0]?.baselineDate;
      return baseline !== lastService ? baseline : undefined;
    }, 'the baseline to move to the completion day');
    // The completion day: today, or tomorrow when midnight (UTC) passed since the completion.
    expect([completedOn, day(Date.now())]).toContain(moved);
    expect((await status())?.due[0]).toMatchObject({ state: 'ok', nextDueDate: day(Date.parse(moved) + 30 * DAY) });
    expect(erp.state().workOrders).toHaveLength(1);
  });
});
