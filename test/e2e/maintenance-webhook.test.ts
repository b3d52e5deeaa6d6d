/**
 * The maintenance closed loop pushed by webhook, end to end: `assetbridge run` opens a service
 * work order from meter readings (HTTP intake), the ERP simulator completes it and pushes the
 * change to `POST /v1/webhooks/erp/work-orders` signed with the shared secret, the service
 * baseline resets to the hours at completion (`assetbridge maintenance status`), and the next
 * work order comes due from there. The same for a truck's odometer interval, with the odometer
 * reading itself synced; and a fault code reported many times opens one work order per episode.
 * Polling is off, so the push is the only way back.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import { startErpService, type ErpService } from '../helpers/erp-service.js';
import type { AssetMaintenance } from '../../src/cli/commands/maintenance.js';
import { runCli, type ServiceProcess } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'whsec-0123456789abcdef';
const env = { INTAKE_TOKEN: 'intake-token-wh', ERP_TOKEN: 'erp-token', ERP_WEBHOOK_SECRET: SECRET };
let erp: ErpSimulator;
let svc: ServiceProcess;
let base: string;
let cfg: { path: string; dir: string };
let service: ErpService;

beforeAll(async () => {
  service = await startErpService({
    simulator: { knownAssets: ['EQ-1', 'TR-5'], webhookSecret: SECRET },
    env,
    webhook: true,
    config: {
      sources: { http: { token: '${INTAKE_TOKEN}' } },
      assets: {
        inline: [
          { erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] },
          { erpAssetId: 'TR-5', erpModule: 'fleet', identifiers: [{ type: 'tag', value: 'tag-t5' }], attributes: { lastServiceKm: '0' } },
        ],
      },
      ingest: { checkpointMs: '200ms' },
      rules: {
        allowedLateness: '0s',
        maintenance: {
          serviceIntervals: [
            { name: 'svc-10h', everyHours: 10, appliesTo: { erpModules: ['fixed-assets'] } },
            { name: 'oil-15000km', everyKm: 15_000, appliesTo: { erpModules: ['fleet'] } },
          ],
          alerts: [
            { name: 'faults', cooldown: '1h' },
            { name: 'hydraulics', minSeverity: 'warning', codes: ['HYD-*'], cooldown: '1h' },
          ],
          feedback: { pollEvery: 0 },
        },
      },
    },
  });
  ({ erp, svc, base, cfg } = service);
});

afterAll(async () => {
  expect(await service?.stop()).toBe(0); // graceful stop
});

const t0 = Date.now() - 24 * 3_600_000;
/** A reading `at` hours after t0 (meter hygiene refuses meters that run faster than time). */
const hours = (at: number, operatingHours: number) =>
  fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.INTAKE_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'meter', assetId: 'tag-1', eventTime: new Date(t0 + at * 3_600_000).toISOString(), operatingHours }),
  });
const status = async (asset = 'EQ-1'): Promise<AssetMaintenance | undefined> => {
  const r = await runCli(['maintenance', 'status', '--asset', asset, '--json', '-c', cfg.path], env);
  return (JSON.parse(r.stdout) as AssetMaintenance[])[0];
};
/** An odometer-only reading from the truck `at` hours after t0. */
const odometer = (at: number, odometerKm: number) =>
  fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.INTAKE_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'meter', assetId: 'tag-t5', eventTime: new Date(t0 + at * 3_600_000).toISOString(), odometerKm }),
  });
const push = (body: string, headers: Record<string, string>) => fetch(`${base}/v1/webhooks/erp/work-orders`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('maintenance closed loop by webhook', () => {
  it('a signed completion push resets the service baseline; the next work order counts from there', async () => {
    for (const [at, h] of [[0, 5], [4.5, 9], [6, 10.5]] as const) expect((await hours(at, h)).status).toBe(202);
    await waitFor(() => erp.state().workOrders.length === 1, `the first work order (output: ${svc.output()})`);
    const first = erp.state().workOrders[0];
    expect(first?.externalKey).toBe('EQ-1|svc-10h|10h@b0');

    erp.completeWorkOrder({ externalKey: first?.externalKey }, { operatingHoursAtCompletion: 11 });
    await waitFor(async () => (await status())?.closed.some((w) => w.status === 'completed'), `the completion to arrive (webhooks sent ${erp.counters().webhooksSent}, failed ${erp.counters().webhookFailures})`);
    expect(erp.counters().webhookFailures).toBe(0);
    const s = await status();
    expect(s?.closed.map((w) => [w.businessKey, w.status, w.hoursAtCompletion])).toEqual([['EQ-1|svc-10h|10h@b0', 'completed', 11]]);
    expect(s?.due.find((d) => d.rule === 'svc-10h')).toMatchObject({ baselineHours: 11, nextDueHours: 21 });

    // 20.5 h was due under the old baseline (20 h); from 11 h it is not.
    expect((await hours(16, 20.5)).status).toBe(202);
    expect((await hours(17, 21.2)).status).toBe(202);
    await waitFor(() => erp.state().workOrders.length === 2, 'the next work order');
    expect(erp.state().workOrders[1]?.externalKey).toBe('EQ-1|svc-10h|21h@b11');

    // An ERP that reports nothing: the planner records the completion by hand, through the service.
    const done = await runCli(['maintenance', 'complete', 'EQ-1|svc-10h|21h@b11', '--hours', '22', '-c', cfg.path], env);
    expect(done.stdout).toContain('recorded EQ-1|svc-10h|21h@b11 as completed through the running service');
    await waitFor(async () => (await status())?.closed.length === 2, 'the completion recorded by hand');
    expect((await status())?.due.find((d) => d.rule === 'svc-10h')).toMatchObject({ baselineHours: 22, nextDueHours: 32 });
    const bad = await runCli(['maintenance', 'complete', 'not-a-key', '-c', cfg.path], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"not-a-key" is not a work-order business key');
  });

  it('the same loop by the odometer: a truck\'s km interval opens its work order; the completion km moves the baseline', async () => {
    for (const [at, km] of [[0, 14_900], [2, 15_050]] as const) expect((await odometer(at, km)).status).toBe(202);
    await waitFor(() => erp.state().workOrders.some((w) => w.erpAssetId === 'TR-5'), `the truck's work order (output: ${svc.output()})`);
    const wo = erp.state().workOrders.find((w) => w.erpAssetId === 'TR-5');
    expect(wo?.externalKey).toBe('TR-5|oil-15000km|15000km@b0');
    // The odometer itself reaches the ERP (the truck has no hour meter).
    await waitFor(() => erp.state().meterReadings.some((m) => m.erpAssetId === 'TR-5' && m.odometerKm === 15_050), 'the odometer reading at the ERP');

    erp.completeWorkOrder({ externalKey: wo?.externalKey }, { odometerKmAtCompletion: 15_100 });
    await waitFor(async () => (await status('TR-5'))?.closed.some((w) => w.status === 'completed'), 'the truck\'s completion to arrive');
    const s = await status('TR-5');
    expect(s?.closed.map((w) => [w.businessKey, w.kmAtCompletion])).toEqual([['TR-5|oil-15000km|15000km@b0', 15_100]]);
    expect(s?.due.find((d) => d.rule === 'oil-15000km')).toMatchObject({ km: 15_050, baselineKm: 15_100, nextDueKm: 30_100 });
  });

  it('a fault code reported again and again opens one work order; reported after a quiet hour, another', async () => {
    // After the first test's readings (17 h after t0): with no allowed lateness, anything older would be late.
    const fault = (at: number) =>
      fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.INTAKE_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'alert', assetId: 'tag-1', eventTime: new Date(t0 + at * 3_600_000).toISOString(), severity: 'critical', code: 'SPN 110 FMI 0', reason: 'Engine coolant temperature high' }),
      });
    const faultOrders = () => erp.state().workOrders.filter((w) => w.externalKey?.startsWith('EQ-1|faults|')).map((w) => w.externalKey);
    for (const at of [18, 18.25, 18.5, 19.25]) expect((await fault(at)).status).toBe(202);
    await waitFor(() => faultOrders().length === 1, `the fault's work order (output: ${svc.output()})`);
    expect((await fault(20.5)).status).toBe(202); // 1 h 15 min after the last report: a new episode
    await waitFor(() => faultOrders().length === 2, 'the second episode\'s work order');
    const iso = (at: number) => new Date(t0 + at * 3_600_000).toISOString();
    // The code holds spaces: made safe for keys, with its hash (the same for both episodes).
    const key = (at: number) => expect.stringMatching(new RegExp(`^EQ-1\\|faults\\|SPN_110_FMI_0-[0-9a-f]{12}@${iso(at).replace(/\./g, '\\.')}$`)) as unknown;
    expect(faultOrders()).toEqual([key(18), key(20.5)]);
    expect(new Set(faultOrders().map((k) => k?.split('@')[0])).size).toBe(1);
    const s = await status();
    expect(s?.open.filter((w) => w.rule === 'faults').map((w) => [w.businessKey, w.priority])).toEqual([
      [key(18), 'HIGH'],
      [key(20.5), 'HIGH'],
    ]);
    expect(s?.due.find((d) => d.rule === 'faults')).toMatchObject({ type: 'alert', state: 'quiet' }); // hours ago, by the wall clock
  });

  it('a fault reported warning, then critical in the same episode: its open work order is raised to HIGH in the ERP (one PATCH), and status shows HIGH', async () => {
    const report = (at: number, severity: string) =>
      fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.INTAKE_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'alert', assetId: 'tag-1', eventTime: new Date(t0 + at * 3_600_000).toISOString(), severity, code: 'HYD-7', reason: 'hydraulic oil temperature high' }),
      });
    const orders = () => erp.state().workOrders.filter((w) => w.externalKey?.startsWith('EQ-1|hydraulics|'));
    expect((await report(21, 'warning')).status).toBe(202);
    await waitFor(() => orders().length === 1, `the hydraulics work order (output: ${svc.output()})`);
    expect(orders()[0]).toMatchObject({ priority: 'MEDIUM', severity: 'warning' });
    for (const at of [21.25, 21.5]) expect((await report(at, 'critical')).status).toBe(202);
    await waitFor(() => orders()[0]?.priority === 'HIGH', `the work order's priority raised (output: ${svc.output()})`);
    const key = `EQ-1|hydraulics|HYD-7@${new Date(t0 + 21 * 3_600_000).toISOString()}`;
    expect(orders()).toEqual([expect.objectContaining({ externalKey: key, priority: 'HIGH', severity: 'critical', trigger: expect.objectContaining({ escalation: true, code: 'HYD-7', reportedAt: new Date(t0 + 21.25 * 3_600_000).toISOString() }) })]);
    expect(orders()[0]?.priorityChanges).toEqual([{ from: 'MEDIUM', to: 'HIGH', at: expect.any(String) }]);
    await waitFor(async () => (await status())?.open.some((w) => w.businessKey === key && w.priority === 'HIGH'), 'maintenance status to show HIGH');
  });

  it('refuses unsigned or wrongly signed pushes and names what to send; ignores work orders it did not open', async () => {
    const body = JSON.stringify({ workOrder: { id: 'X-1', erpAssetId: 'EQ-1', status: 'completed', updatedAt: new Date().toISOString() } });
    const unsigned = await push(body, {});
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { error: string }).error).toContain('X-Signature-256');
    const wrong = await push(body, { 'X-Signature-256': `sha256=${createHmac('sha256', 'not-the-secret-at-all').update(body).digest('hex')}` });
    expect(wrong.status).toBe(401);
    const signed = await push(body, { 'X-Signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` });
    expect(signed.status).toBe(202);
    expect(await signed.json()).toEqual({ accepted: 0, ignored: [{ index: 0, reason: 'no externalKey: not a work order assetbridge opened' }] });
    // A signed body that is not JSON: 400 with the reason, and kept in quarantine.
    const garbled = '{"workOrder": ';
    const bad = await push(garbled, { 'X-Signature-256': `sha256=${createHmac('sha256', SECRET).update(garbled).digest('hex')}` });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('body is not JSON');
    // One of ours that cannot be read (no work-order id): kept with the reason, refused with 400; the rest of the push is taken.
    const partly = JSON.stringify([
      { workOrder: { id: 'X-1', erpAssetId: 'EQ-1', status: 'completed', updatedAt: new Date().toISOString() } },
      { workOrder: { externalKey: 'EQ-1|service-250h|250h@b0', status: 'completed', updatedAt: new Date().toISOString() } },
    ]);
    const unreadable = await push(partly, { 'X-Signature-256': `sha256=${createHmac('sha256', SECRET).update(partly).digest('hex')}` });
    expect(unreadable.status).toBe(400);
    expect(await unreadable.json()).toEqual({
      accepted: 0,
      ignored: [{ index: 0, reason: 'no externalKey: not a work order assetbridge opened' }],
      rejected: [{ index: 1, reason: 'work order EQ-1|service-250h|250h@b0 needs id' }],
      note: expect.stringMatching(/^none of its updates was taken; the rejected ones are kept in quarantine .*: do not send this push again unchanged$/) as unknown,
    });
    // The ERP sends the same push again (its answer lost, or a push delivered at least once): the
    // record quarantine holds is counted on its entry, not kept a second time.
    const resent = await push(partly, { 'X-Signature-256': `sha256=${createHmac('sha256', SECRET).update(partly).digest('hex')}` });
    expect(resent.status).toBe(400);
    const q = await runCli(['quarantine', 'list', '--json', '-c', cfg.path], env);
    expect(q.stdout).toContain('erp-feedback:erp');
    const kept = (JSON.parse(q.stdout) as { reason: string; repeats?: number }[]).filter((e) => e.reason === 'work order EQ-1|service-250h|250h@b0 needs id');
    expect(kept.map((e) => e.repeats)).toEqual([1]);
    const unknown = await fetch(`${base}/v1/webhooks/sap/work-orders`, { method: 'POST', body });
    expect(unknown.status).toBe(404);
    // Whoever reaches the port is not told the destinations' names; the service log is.
    const told = ((await unknown.json()) as { error: string }).error;
    expect(told).toContain("check the destination's name in the path (destinations[].name)");
    expect(told).not.toContain('/v1/webhooks/erp/work-orders');
  });
});
