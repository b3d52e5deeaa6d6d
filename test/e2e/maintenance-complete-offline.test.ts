/**
 * `assetbridge maintenance complete` with no service running: the CLI runs the pipeline itself,
 * stores the resulting rule state, and `maintenance status` shows the reset baseline.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import type { AssetMaintenance } from '../../src/cli/commands/maintenance.js';
import { rulesSchema } from '../../src/config/rules-schema.js';
import type { CanonicalEvent } from '../../src/core/model/events.js';
import { createRules } from '../../src/core/rules/index.js';
import { simulateRules } from '../../src/core/rules/simulate.js';
import { runCli, writeConfig } from '../helpers/cli.js';

const rules = { allowedLateness: '0s', maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }], feedback: { pollEvery: 0 } } };

describe('maintenance complete without a running service', () => {
  it('records the completion through its own pipeline and stores the state', async () => {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { inline: [{ erpAssetId: 'EQ-9', identifiers: [{ type: 'tag', value: 'tag-9' }] }] },
      rules,
      server: { port: 0 },
    }));
    const dbPath = join(cfg.dir, 'ab.db');
    // The state a run left: readings up to 10.5 h and the work order they opened.
    const store = new SqliteStore({ path: dbPath });
    const asset = { erpAssetId: 'EQ-9', erpModule: 'fixed-assets', attributes: {} };
    await store.upsertAssets([{ asset, identifiers: [{ type: 'tag', value: 'tag-9', erpAssetId: 'EQ-9' }] }]);
    const t0 = Date.parse('2026-11-01T00:00:00Z');
    const meter = (h: number, at: number): CanonicalEvent => ({ kind: 'meter', source: 't', ids: [{ type: 'erp', value: 'EQ-9' }], eventTime: t0 + at * 3_600_000, receivedAt: 0, operatingHours: h });
    const sim = simulateRules(createRules(rulesSchema.parse(rules)), [meter(5, 0), meter(9, 4.5), meter(10.5, 6)].map((event) => ({ event, asset, destination: 'erp' })));
    const opened = sim.perStep.flat().filter((d) => d.operation === 'workorder.create');
    expect(opened.map((d) => d.businessKey)).toEqual(['EQ-9|svc-10h|10h@b0']);
    await store.commitIngest({ states: [...sim.states].map(([erpAssetId, doc]) => ({ erpAssetId, doc })), deliveries: opened, quarantine: [], accepted: 3 });
    await store.close();

    const r = await runCli(['maintenance', 'complete', 'EQ-9|svc-10h|10h@b0', '--hours', '11', '--at', '2026-11-01T08:00:00Z', '--erp-id', 'WO-1', '-c', cfg.path]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe("recorded EQ-9|svc-10h|10h@b0 as completed; 'assetbridge maintenance status' shows the result\n");
    const s = JSON.parse((await runCli(['maintenance', 'status', '--json', '-c', cfg.path])).stdout) as AssetMaintenance[];
    expect(s[0]?.closed.map((w) => [w.businessKey, w.status, w.hoursAtCompletion, w.erpWorkOrderId])).toEqual([['EQ-9|svc-10h|10h@b0', 'completed', 11, 'WO-1']]);
    expect(s[0]?.due.find((d) => d.rule === 'svc-10h')).toMatchObject({ baselineHours: 11, nextDueHours: 21 });

    // A key for an asset nobody registered is kept in quarantine, and says so.
    const unknown = await runCli(['maintenance', 'complete', 'EQ-404|svc-10h|10h@b0', '--hours', '1', '-c', cfg.path]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toMatch(/^not recorded: .*EQ-404.*\(kept in quarantine\)\n$/);
  });
});
