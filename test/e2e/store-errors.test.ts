/**
 * A store the CLI cannot use: the error names store.path and what to do, instead of SQLite's bare
 * "database is locked" or "unable to open database file".
 */
import { mkdirSync, openSync, closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { runCli, writeConfig } from '../helpers/cli.js';

const destinations = [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'erp-token-1' }];

describe('a store the CLI cannot use', () => {
  it('store.path naming a directory: run says which path and what to check (exit 1)', async () => {
    const { path, dir } = writeConfig({ store: { path: 'data' }, destinations });
    mkdirSync(join(dir, 'data'));
    const r = await runCli(['run', '-c', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot open the store ${join(dir, 'data')} (store.path)`);
  });

  it('a write lock held by another process: says so and what to do, naming store.path (exit 1)', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations });
    const dbPath = join(dir, 'ab.db');
    new SqliteStore({ path: dbPath, commitInWorker: false }).db.close();
    const other = new Database(dbPath);
    try {
      // A dead letter, so the replay has something to write (with none it writes nothing, and needs no lock).
      other
        .prepare(
          `INSERT INTO outbox (destination, operation, business_key, kind, erp_asset_id, event_time, payload, idempotency_key, status, attempts, created_at, updated_at, next_attempt_at, last_error)
           VALUES ('erp', 'workorder.create', 'EQ-1|hot|1', 'fact', 'EQ-1', 1, '{}', 'ab-1', 'dead', 5, 1, 1, 0, '503')`,
        )
        .run();
      other.exec('BEGIN EXCLUSIVE');
      const r = await runCli(['dlq', 'replay', '--all', '-c', path]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/store is locked by another process/);
      expect(r.stderr).toContain('store.path');
    } finally {
      other.close();
    }
  });
  it('a store damaged after it was written (a page that reads back malformed): names the file, says it is damaged and what to do (exit 1)', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations });
    const dbPath = join(dir, 'ab.db');
    const store = new SqliteStore({ path: dbPath, commitInWorker: false });
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    await store.close();
    const raw = new Database(dbPath);
    raw.pragma('wal_checkpoint(TRUNCATE)');
    const page = raw.prepare(`SELECT pageno FROM dbstat WHERE name = 'assets'`).pluck().get() as number;
    const pageSize = raw.pragma('page_size', { simple: true }) as number;
    raw.close();
    // The assets table's page overwritten (a disk fault): the file still opens as an assetbridge store.
    const fd = openSync(dbPath, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0xff), 0, pageSize, (page - 1) * pageSize);
    closeSync(fd);
    const r = await runCli(['assets', 'list', '-c', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: the store ${dbPath} (store.path): database disk image is malformed; the store file is damaged`);
    expect(r.stderr).toContain('keep a copy of the file and its -wal and -shm files');
    expect(r.stderr).toContain('restore the store from a backup');
  });
});
