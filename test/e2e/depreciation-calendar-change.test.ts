/**
 * The service started after the depreciation calendar was changed: it warns at start, naming the
 * setting, the assets whose usage was filed under the other calendar, and what to do.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { monthlyCalendar, periodStamp } from '../../src/core/rules/depreciation/calendar.js';
import type { UsageState } from '../../src/core/rules/depreciation/usage-rule.js';
import { freePort, startReadyService, writeConfig, type ServiceProcess } from '../helpers/cli.js';

let svc: ServiceProcess | undefined;
afterAll(async () => {
  await svc?.stop();
});

describe('a service started after the depreciation calendar changed', () => {
  it('warns at start with the key, the assets and the calendar their usage was filed under', async () => {
    const port = await freePort();
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'erp-token' }],
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      rules: { depreciation: { timeZone: 'UTC' } },
      server: { port },
    }));
    const seed = new SqliteStore({ path: join(cfg.dir, 'ab.db') });
    try {
      await seed.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
      const state: UsageState = { first: [Date.parse('2026-10-01T00:00:00Z'), 10], last: [Date.parse('2026-10-20T00:00:00Z'), 20], periods: { '2026-10': { units: 10, meterAtEnd: 20 } }, cal: periodStamp(monthlyCalendar('Europe/Berlin'), ['2026-10']) };
      await seed.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { depreciation: state }, changed: ['depreciation'] }], deliveries: [], quarantine: [], accepted: 0 });
    } finally {
      await seed.close();
    }
    svc = await startReadyService(cfg.path, port);
    const out = svc.output();
    expect(out).toContain('"key":"rules.depreciation.timeZone"');
    expect(out).toContain('is not the one the usage of 1 asset(s) was filed under: 1 under monthly Europe/Berlin (EQ-1); now monthly UTC. Their periods are held');
    expect(out).toContain('Set the calendar back to the one they were filed under');
  });
});
