/**
 * `assetbridge status` shows a destination whose work-order polls the ERP does not filter by
 * `?updatedSince=` (recorded by the poll), while the service polls it.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
import { taskContext } from '../../../test/helpers/task-context.js';
import { useSimulators } from '../../../test/helpers/rest-simulator.js';
import { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { createRestConnector } from '../../adapters/erp/rest/rest-connector.js';
import { restDestinationSchema } from '../../config/schema.js';
import { pollOne } from '../../engine/tasks/work-order-feedback.js';

const sim = useSimulators();

describe('status: a work-order poll the ERP does not filter', () => {
  it('is shown, with its polls, while the service polls; not once polling is off', async () => {
    let shift = 3_600_000;
    const erp = await sim({ updatedSinceFilter: false, now: () => Date.now() - shift });
    const created = await fetch(`${erp.url}/api/v1/work-orders`, { method: 'POST', headers: { authorization: 'Bearer sim-token', 'content-type': 'application/json' }, body: JSON.stringify({ erpAssetId: 'EQ-1', title: 'manual' }) });
    expect(created.status).toBe(201);
    shift = 0;
    const config = (pollEvery: string) => (dir: string) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'sim-token' }],
      rules: { maintenance: { serviceIntervals: [{ name: 'svc-250h', everyHours: 250 }], feedback: { pollEvery } } },
      log: { level: 'silent' },
    });
    const cfg = writeConfig(config('5m'));
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), commitInWorker: false });
    try {
      const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'sim-token' }), { configKey: 'destinations.0' });
      const ctx = taskContext(store, { t: Date.now() }, { connector: () => connector });
      await pollOne(ctx, 'erp', { initialLookbackMs: 60_000 });
      await pollOne(ctx, 'erp', { initialLookbackMs: 60_000 });
    } finally {
      await store.close();
    }
    const status = await runCli(['status', '-c', cfg.path]);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^work-order poll of erp NOT FILTERED: 2 poll\(s\) since \S+ \(.* ago\) listed work orders changed before the time they asked from \(the last: 1 of the 1 it listed, .*\): the ERP ignores \?updatedSince=/m);
    const json = JSON.parse((await runCli(['status', '--json', '-c', cfg.path])).stdout) as { workOrderPollsUnfiltered?: Record<string, { polls: number }> };
    expect(json.workOrderPollsUnfiltered?.erp?.polls).toBe(2);
    // Polling turned off since: what the store recorded is stale, not shown.
    const off = writeConfig(config('0'));
    copyFileSync(join(cfg.dir, 'ab.db'), join(off.dir, 'ab.db'));
    const quiet = await runCli(['status', '-c', off.path]);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toContain('messages accepted');
    expect(quiet.stdout).not.toContain('NOT FILTERED');
  }, 60_000);
});
