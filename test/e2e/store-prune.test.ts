/**
 * `assetbridge store prune` through the CLI: it opens the store the config names (a path relative
 * to the config file, while the CLI runs elsewhere), deletes what the retention says, keeps what
 * is unfinished, and `status` still counts the deleted deliveries as delivered.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { runCli, writeConfig } from '../helpers/cli.js';

const DAY = 86_400_000;

describe('assetbridge store prune', () => {
  it('deletes delivered updates past store.retention.delivered, except the newest of each asset, and keeps the rest', async () => {
    const { path, dir } = writeConfig({
      store: { path: 'data/ab.db', retention: { delivered: '7d' } },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
    });
    const store = new SqliteStore({ path: join(dir, 'data', 'ab.db') });
    const loc = (asset: string, eventTime: number) => ({ destination: 'erp', operation: 'location.update', kind: 'state' as const, businessKey: asset, erpAssetId: asset, eventTime, payload: { warehouseLocation: `Y${eventTime}` } });
    const deliver = async (asset: string, eventTime: number, at: number) => {
      await store.commitIngest({ states: [], deliveries: [loc(asset, eventTime)], quarantine: [], accepted: 1 });
      const claimed = await store.claimDue('erp', Date.now() + 1000, 10, new Set());
      await store.completeAttempts(claimed.map((d) => ({ id: d.id, result: 'delivered' as const })), [], at);
    };
    try {
      // A1 moved three times (two of them ten days ago), A2 once ten days ago (its newest value: kept), A3 waits.
      await deliver('A1', 1, Date.now() - 10 * DAY);
      await deliver('A1', 2, Date.now() - 10 * DAY);
      await deliver('A1', 3, Date.now() - DAY);
      await deliver('A2', 1, Date.now() - 10 * DAY);
      await store.commitIngest({ states: [], deliveries: [loc('A3', 1)], quarantine: [], accepted: 1 });
    } finally {
      await store.close();
    }

    // --json: JSON only on stdout, the retention applied in ms (0: kept) and the counts by kind.
    const dryJson = await runCli(['store', 'prune', '--dry-run', '--json', '-c', path]);
    expect(dryJson.code).toBe(0);
    expect(JSON.parse(dryJson.stdout)).toEqual({
      dryRun: true,
      retentionMs: { delivered: 7 * 86_400_000, deliveredFacts: 0, audit: 90 * 86_400_000, quarantine: 30 * 86_400_000 },
      wouldDelete: { delivered: 2, deliveredFacts: 0, audit: 0, quarantine: 0 },
    });
    const dry = await runCli(['store', 'prune', '--dry-run', '-c', path]);
    expect(dry.stdout).toContain('would delete 2 delivered state update(s), 0 delivered fact(s), 0 audit record(s), 0 closed quarantine entries (dry run: nothing deleted)');
    const r = await runCli(['store', 'prune', '-c', path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('retention: delivered 7 d, delivered facts kept, audit 90 d, closed quarantine 30 d');
    expect(r.stdout).toContain('deleted 2 delivered state update(s), 0 delivered fact(s), 0 audit record(s), 0 closed quarantine entries');

    const status = await runCli(['status', '--json', '-c', path]);
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as { outbox: unknown[] }).outbox).toEqual([{ destination: 'erp', pending: 1, inflight: 0, delivered: 4, dead: 0, oldestPendingAgeMs: expect.any(Number) as number }]);
    // Nothing left to delete.
    expect((await runCli(['store', 'prune', '-c', path])).stdout).toContain('deleted 0 delivered state update(s)');
    const again = await runCli(['store', 'prune', '--json', '-c', path]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ dryRun: false, deleted: { delivered: 0, deliveredFacts: 0, audit: 0, quarantine: 0 } });
  });

  it('inspection commands refuse a store that does not exist rather than create an empty one', async () => {
    const { path, dir } = writeConfig({ store: { path: 'nowhere/ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
    for (const args of [['status'], ['store', 'prune'], ['dlq', 'list'], ['audit', '--since', '1h']]) {
      const r = await runCli([...args, '-c', path]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`there is no store at ${join(dir, 'nowhere', 'ab.db')} (store.path in ${path}): nothing has run with this config yet`);
    }
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });
});
