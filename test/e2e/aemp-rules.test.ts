/**
 * Operating hours from a telematics feed drive the business rules: an ISO 15143-3 backfill from
 * the Trackunit simulator, through the real pipeline, opens service-interval work orders and files
 * usage per fiscal period, as hour meters reported over MQTT or HTTP do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineHeader, operatingHoursAt } from '../../simulators/trackunit/fleet.js';
import { DEFAULT_SIM_CREDENTIALS, startTrackunitSimulator, type RunningTrackunitSimulator } from '../../simulators/trackunit/simulator.js';
import { runCli, writeConfig } from '../helpers/cli.js';
import { tempStorePath } from '../helpers/temp-store.js';

let tu: RunningTrackunitSimulator;
beforeAll(async () => {
  tu = await startTrackunitSimulator({ fleetSize: 12 });
});
afterAll(async () => {
  await tu?.close();
});

const HOUR = 3_600_000;
const MACHINES = [0, 1, 2];

describe('operating hours from a telematics backfill', () => {
  it('open service-interval work orders and count as usage per period', async () => {
    const cfg = writeConfig({
      store: { path: tempStorePath() },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'erp-token' }],
      assets: { inline: MACHINES.map((i) => ({ erpAssetId: `EQ-${i}`, attributes: { cost: '100000', expectedUnits: '20000' }, identifiers: [{ type: 'pin', value: machineHeader(i).pin }] })) },
      telematics: [
        {
          name: 'trackunit',
          vendor: 'trackunit',
          baseUrl: `${tu.origin}/public/api/aemp/v2/15143/-3`,
          auth: { type: 'trackunit-password', ...DEFAULT_SIM_CREDENTIALS.legacy, tokenUrl: `${tu.origin}/token` },
        },
      ],
      rules: { maintenance: { serviceIntervals: [{ name: 'svc-5h', everyHours: 5 }] }, depreciation: { timeZone: 'UTC' } },
    });
    const now = Date.now();
    const from = new Date(now - 2 * 86_400_000).toISOString().slice(0, 10);
    // The pull matches the machines to the ERP assets (by PIN); the backfill then fetches their hour meters' history.
    const pull = await runCli(['aemp', 'pull', '-c', cfg.path]);
    expect(pull.stdout).toMatch(/matched 3, unmatched 9/);
    const backfill = await runCli(['aemp', 'backfill', '--from', from, '--element', 'CumulativeOperatingHours', '-c', cfg.path]);
    expect(backfill.code).toBe(0);
    expect(backfill.stdout).toMatch(/of CumulativeOperatingHours for 3 machine\(s\)/);
    expect(backfill.stdout).toMatch(/ 0 quarantined/);

    // Hourly readings over at least two days at 30 % use: each machine crossed several 5 h marks.
    const status = await runCli(['maintenance', 'status', '--json', '-c', cfg.path]);
    expect(status.code).toBe(0);
    const assets = JSON.parse(status.stdout) as { erpAssetId: string; open: { businessKey: string }[]; due: { rule: string; hours?: number }[] }[];
    for (const i of MACHINES) {
      const a = assets.find((x) => x.erpAssetId === `EQ-${i}`);
      expect(a?.open.filter((w) => w.businessKey.startsWith(`EQ-${i}|svc-5h|`)).length).toBeGreaterThan(0);
      // The hours the rule counts are the feed's: its latest hourly reading decided (the newest waits out the allowed lateness).
      const hours = a?.due.find((d) => d.rule === 'svc-5h')?.hours ?? Number.NaN;
      expect(Math.abs(hours - operatingHoursAt(i, now))).toBeLessThan(1);
    }

    // The period a day ago holds at least a day of the readings: its units are the meter's advance in it.
    const day = new Date(now - 24 * HOUR);
    const period = day.toISOString().slice(0, 7);
    const preview = await runCli(['depreciation', 'preview', '--period', period, '--csv', '-c', cfg.path]);
    expect(preview.code).toBe(0);
    const rows = preview.stdout.trim().split('\n');
    const header = (rows[0] ?? '').split(',');
    const col = (name: string) => header.indexOf(name);
    expect(col('periodUnits')).toBeGreaterThan(-1);
    for (const i of MACHINES) {
      const row = rows.find((r) => r.startsWith(`EQ-${i},`))?.split(',') ?? [];
      const units = Number(row[col('periodUnits')]);
      const monthStart = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), 1);
      // At most the meter's advance from the month's start (or the first reading) to now; at least a day's worth.
      expect(units).toBeGreaterThanOrEqual(Math.round(24 * 0.3 * 0.9));
      expect(units).toBeLessThanOrEqual(operatingHoursAt(i, now) - operatingHoursAt(i, Math.max(monthStart, now - 3 * 86_400_000)) + 0.01);
    }
  });
});
