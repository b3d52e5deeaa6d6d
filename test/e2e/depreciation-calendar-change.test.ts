/**
 * The service started after the depreciation calendar was changed: it warns at start, naming the
 * setting, the assets whose usage was filed under the other calendar, and what to do; and
 * `depreciation refile` while it runs is done by the service, with intake held, so the readings
 * that come after are filed under the new calendar, not decided on the state the re-file replaced.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { monthlyCalendar, periodStamp } from '../../src/core/rules/depreciation/calendar.js';
import type { UsageState } from '../../src/core/rules/depreciation/usage-rule.js';
import { freePort, runCli, startReadyService, writeConfig, type ServiceProcess } from '../helpers/cli.js';
import { seedBerlinOctoberPosted } from '../helpers/usage-fixture.js';

const TOKEN = 'intake-token-123';
let svc: ServiceProcess | undefined;
afterAll(async () => {
  await svc?.stop();
});

describe('a service started after the depreciation calendar changed', () => {
  it('warns at start with the key, the assets and the calendar their usage was filed under, and of invalid inputs; re-files through the running service', async () => {
    const port = await freePort();
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'erp-token' }],
      sources: { http: { token: TOKEN } },
      assets: {
        inline: [
          { erpAssetId: 'EQ-1', attributes: { cost: '120000', expectedUnits: '10000' }, identifiers: [{ type: 'tag', value: 'tag-1' }] },
          { erpAssetId: 'EQ-2', attributes: { expectedUnits: '0' }, identifiers: [{ type: 'tag', value: 'tag-2' }] },
        ],
      },
      rules: { depreciation: { timeZone: 'UTC' } },
      server: { port },
    }));
    const path = join(cfg.dir, 'ab.db');
    const seed = new SqliteStore({ path });
    try {
      await seed.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
      await seedBerlinOctoberPosted(seed); // 1000 → 1605 h from 1 October to 30 November 12:00 UTC, filed in Berlin's months
    } finally {
      await seed.close();
    }
    svc = await startReadyService(cfg.path, port);
    const out = svc.output();
    expect(out).toContain('"key":"rules.depreciation.timeZone"');
    expect(out).toContain('is not the one the usage of 1 asset(s) was filed under: 1 under monthly Europe/Berlin (EQ-1); now monthly UTC. Their periods are held');
    expect(out).toContain('Set the calendar back to the one they were filed under');
    expect(out).toContain('"key":"rules.depreciation.attributes"');
    expect(out).toContain('1 asset(s) in the registry have invalid depreciation inputs: EQ-2: attribute \\"expectedUnits\\" (0) must be more than 0');
    expect(out).toContain('(its usage postings are held back)');

    const meter = (at: string, operatingHours: number) =>
      fetch(`http://127.0.0.1:${port}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'meter', assetId: 'tag-1', eventTime: at, operatingHours }),
      });
    // A reading while held (still waiting out the allowed lateness at the re-file), the re-file
    // through the service, then readings after it.
    expect((await meter('2026-12-01T12:00:00Z', 1615)).status).toBe(202);
    const dry = await runCli(['depreciation', 'refile', '--dry-run', '-c', cfg.path]);
    expect(dry.stderr).toContain('a running assetbridge service owns this store: asked it to show what it would re-file');
    expect(dry.stdout).toContain('EQ-1: would re-file from monthly Europe/Berlin under monthly UTC');
    const r = await runCli(['depreciation', 'refile', '-c', cfg.path]);
    expect(r.stderr).toContain('a running assetbridge service owns this store: asked it to re-file');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('EQ-1: re-filed from monthly Europe/Berlin under monthly UTC');
    expect(r.stdout).toMatch(/2026-11\s+2026-11-01T00:00:00\.000Z\s+2026-12-01T00:00:00\.000Z\s+295\s+1,605/);
    expect((await meter('2026-12-02T12:00:00Z', 1625)).status).toBe(202);
    expect((await meter('2026-12-02T12:01:00Z', 1625.1)).status).toBe(202); // releases the one before (rules.allowedLateness)
    const unknown = await runCli(['depreciation', 'refile', '--asset', 'NOPE', '-c', cfg.path]);
    expect({ code: unknown.code, stderr: unknown.stderr }).toMatchObject({ code: 1, stderr: expect.stringContaining('error: no asset "NOPE"') as unknown });
    expect(await svc.stop()).toBe(0);
    svc = undefined;

    // The reading after the re-file was filed under UTC's months on the re-filed state.
    const store = new SqliteStore({ path });
    try {
      const state = (await store.loadRuleStates(['EQ-1'], ['depreciation'])).get('EQ-1')?.depreciation as UsageState;
      expect(state.cal).toBe(periodStamp(monthlyCalendar('UTC'), Object.keys(state.periods ?? {})));
      expect(state.last).toEqual([Date.parse('2026-12-02T12:00:00Z'), 1625]);
      expect(state.periods?.['2026-12']).toEqual({ units: 15, meterAtEnd: 1625 });
    } finally {
      await store.close();
    }
  });
});
