/**
 * Usage-based depreciation through the running service to the ERP: hour-meter readings over HTTP,
 * usage filed per fiscal period, the period-end task posting the last closed period's units to the
 * REST simulator's asset register, once; `depreciation post` for the same period while the
 * service runs adds nothing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startErpService, type ErpService } from '../helpers/erp-service.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'intake-token-123';
const env = { INTAKE_TOKEN: TOKEN, ERP_TOKEN: 'erp-token' };
let service: ErpService | undefined;
afterAll(async () => {
  expect(await service?.stop()).toBe(0);
});

describe('usage postings at period end', () => {
  it('reach the ERP once per asset and period, with the units filed and the life-to-date', async () => {
    service = await startErpService({
      simulator: { knownAssets: ['EQ-1'] },
      env,
      config: {
        sources: { http: { token: '${INTAKE_TOKEN}' } },
        assets: { inline: [{ erpAssetId: 'EQ-1', attributes: { cost: '100000', salvage: '10000', expectedUnits: '10000' }, identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
        rules: { depreciation: { timeZone: 'UTC', postAfter: '1s', checkEvery: '500ms' } },
      },
    });
    const { erp, base, cfg } = service;
    const now = new Date();
    const curStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    const prev = new Date(curStart - 1);
    const prevStart = Date.UTC(prev.getUTCFullYear(), prev.getUTCMonth(), 1);
    const period = prev.toISOString().slice(0, 7);
    const meter = (t: number, operatingHours: number) => ({ kind: 'meter', assetId: 'tag-1', eventTime: new Date(t).toISOString(), operatingHours });
    // The previous month from its first instant to the next one's: 200 h. The last reading, a minute into
    // this month (at most the allowed future skew ahead), lets the one before it out of the allowed lateness.
    const res = await fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify([meter(prevStart, 1000), meter(prevStart + 14 * 86_400_000, 1100), meter(curStart, 1200), meter(curStart + 60_000, 1200.1)]),
    });
    expect(res.status).toBe(202);

    await waitFor(() => erp.state().usagePostings.length > 0, 'the usage posting at the ERP', 20_000);
    expect(erp.state().usagePostings.map((u) => ({ ...u, id: undefined }))).toEqual([
      expect.objectContaining({ erpAssetId: 'EQ-1', period, periodUnits: 200, unit: 'h', lifeToDateUnits: 1200, totalExpectedUnits: 10000 }),
    ]);

    // Posting the same period again, on demand while the service runs, adds nothing.
    const post = await runCli(['depreciation', 'post', '--period', period, '-c', cfg.path], env);
    expect(post.code).toBe(0);
    expect(post.stdout).toBe(`nothing new to post for ${period}: 1 asset(s) posted it already (not sent again)\n`);
    await new Promise((r) => setTimeout(r, 1500)); // a few more checks of the task, and deliveries
    expect(erp.state().usagePostings).toHaveLength(1);
    expect(erp.counters().duplicateUsagePostings).toBe(0);
    const status = await runCli(['status', '-c', cfg.path], env);
    // The service's last check posted the period, or (checked again since) posted nothing new.
    expect(status.stdout).toMatch(
      new RegExp(`^depreciation: the service's last check \\(\\d+ (ms|s) ago\\) (queued 1 usage posting\\(s\\), posted through ${period}|posted nothing new \\(usage posted through ${period} already\\))`, 'm'),
    );
  });
});
