import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from '../../src/adapters/store/sqlite/sqlite-migrations.js';
import { SqliteStore, type SqliteStoreOptions } from '../../src/adapters/store/sqlite/sqlite-store.js';

/** A fresh store in its own temp directory (one file per test, cheap isolation). */
export function tempStorePath(): string {
  return join(mkdtempSync(join(tmpdir(), 'ab-store-')), 'assetbridge.db');
}

/**
 * A store in a temp directory of its own for `use`, closed and its directory removed afterwards,
 * also when `use` throws: for the benchmarks, which make many (tests' temp files go with their
 * test file's directory, test/setup/temp-root.ts).
 */
export async function withTempStore<T>(options: Omit<SqliteStoreOptions, 'path'>, use: (store: SqliteStore) => Promise<T>): Promise<T> {
  const path = tempStorePath();
  const store = new SqliteStore({ ...options, path });
  try {
    return await use(store);
  } finally {
    await store.close();
    rmSync(dirname(path), { recursive: true, force: true });
  }
}

export function tempStore(): SqliteStore {
  return new SqliteStore({ path: tempStorePath(), synchronous: 'normal' });
}

/**
 * A store file as the version before migration `version` left it (its migrations applied and
 * recorded), open as a raw connection to add rows to; close it, then open a SqliteStore on `path`
 * to run the upgrade.
 */
export function storeBefore(version: number): { path: string; raw: Database.Database } {
  const path = tempStorePath();
  const raw = new Database(path);
  raw.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  for (const m of SQLITE_MIGRATIONS.filter((x) => x.version < version)) {
    raw.exec(m.sql);
    raw.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, 0);
  }
  return { path, raw };
}
