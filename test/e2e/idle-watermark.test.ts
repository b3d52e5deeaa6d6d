/**
 * End to end: an excavator's last reading crosses its service point and then it falls silent. The
 * maintenance rule holds that reading for `rules.allowedLateness`; without another event nothing
 * would decide it. After `rules.idleAfter` of silence the running service decides it anyway, and
 * the work order reaches the ERP with no further input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startErpService, type ErpService } from '../helpers/erp-service.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const env = { INTAKE_TOKEN: 'intake-token-idle', ERP_TOKEN: 'erp-token' };
let service: ErpService;

beforeAll(async () => {
  service = await startErpService({
    simulator: { knownAssets: ['EQ-1'] },
    env,
    config: {
      sources: { http: { token: '${INTAKE_TOKEN}' } },
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      rules: { allowedLateness: '1s', idleAfter: '2s', maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }] } },
    },
  });
});

afterAll(async () => {
  expect(await service?.stop()).toBe(0);
});

describe('idle assets', () => {
  it('the reading that crosses the service point of a machine that then falls silent still opens its work order', async () => {
    const t0 = Date.now() - 24 * 3_600_000;
    const post = (at: number, operatingHours: number) =>
      fetch(`${service.base}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.INTAKE_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'meter', assetId: 'tag-1', eventTime: new Date(t0 + at * 3_600_000).toISOString(), operatingHours }),
      });
    expect((await post(0, 5)).status).toBe(202);
    expect((await post(6, 10.5)).status).toBe(202); // held for the lateness: no newer event will come
    await waitFor(() => service.erp.state().workOrders.length === 1, `the work order of the silent machine (output: ${service.svc.output()})`, 20_000);
    expect(service.erp.state().workOrders[0]?.externalKey).toBe('EQ-1|svc-10h|10h@b0');
    // Counted as the two readings sent, not more; the watermark is counted on its own.
    const status = async () => JSON.parse((await runCli(['status', '--json', '-c', service.cfg.path], env)).stdout) as { counters?: { eventsAccepted?: number }; idleWatermarks?: number };
    expect((await status()).counters?.eventsAccepted).toBe(2);
    await waitFor(async () => ((await status()).idleWatermarks ?? 0) >= 1, 'status counts the watermark');
    expect((await runCli(['status', '-c', service.cfg.path], env)).stdout).toMatch(/silent assets whose held events were decided: [1-9]\d* \(rules.idleAfter\)/);
  });
});
