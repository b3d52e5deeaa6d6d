/**
 * A store the CLI cannot use: the error names store.path and what to do, instead of SQLite's bare
 * "database is locked" or "unable to open database file".
 */
import { mkdirSync } from 'node:fs';
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
      other.exec('BEGIN EXCLUSIVE');
      const r = await runCli(['dlq', 'replay', '--all', '-c', path]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/store is locked by another process/);
      expect(r.stderr).toContain('store.path');
    } finally {
      other.close();
    }
  });
});
