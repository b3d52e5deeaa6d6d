/**
 * `assetbridge store backup FILE`: a consistent copy of the store through the CLI, also while
 * another connection is in the middle of a write (a running service), with nothing else to install.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { runCli, writeConfig } from '../helpers/cli.js';

const destinations = [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }];
const loc = (asset: string) => ({ destination: 'erp', operation: 'location.update', kind: 'state' as const, businessKey: asset, erpAssetId: asset, eventTime: 1, payload: { warehouseLocation: 'Y1' } });

describe('assetbridge store backup', () => {
  it('copies what is committed while another connection is in the middle of a write, and the copy opens as a store', async () => {
    const { path, dir } = writeConfig({ store: { path: 'data/ab.db' }, destinations });
    const store = new SqliteStore({ path: join(dir, 'data', 'ab.db') });
    await store.commitIngest({ states: [], deliveries: [loc('A1')], quarantine: [], accepted: 1 });
    await store.close();
    // A writer holding the write lock with a change not yet committed, as the service's commits do.
    const writer = new Database(join(dir, 'data', 'ab.db'));
    writer.exec('BEGIN IMMEDIATE');
    writer.prepare(`INSERT INTO counters (name, value) VALUES ('uncommitted', 1)`).run();
    const copy = join(dir, 'copy.db');
    try {
      const r = await runCli(['store', 'backup', copy, '-c', path]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`backed up ${join(dir, 'data', 'ab.db')} to ${copy}`);
      expect(r.stdout).toContain('to restore: stop the service');
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
    expect(existsSync(`${copy}.partial`)).toBe(false);
    const restored = new SqliteStore({ path: copy, commitInWorker: false });
    try {
      expect((await restored.listDeliveries({ status: 'pending' })).map((d) => d.businessKey)).toEqual(['A1']);
      expect((await restored.counters()).eventsAccepted).toBe(1);
      expect(restored.db.prepare(`SELECT count(*) FROM counters WHERE name = 'uncommitted'`).pluck().get()).toBe(0);
    } finally {
      await restored.close();
    }
  });

  it('replaces an existing FILE only with --force, and never the store itself', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations });
    await new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false }).close();
    const copy = join(dir, 'copy.db');
    writeFileSync(copy, 'last night');
    const refused = await runCli(['store', 'backup', copy, '-c', path]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${copy} exists: give another FILE, or --force to replace it`);
    expect((await runCli(['store', 'backup', copy, '--force', '-c', path])).code).toBe(0);
    const itself = await runCli(['store', 'backup', join(dir, 'ab.db'), '--force', '-c', path]);
    expect(itself.code).toBe(2);
    expect(itself.stderr).toContain('is the store itself (store.path)');
  });
});
