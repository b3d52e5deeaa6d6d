import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from '../../src/adapters/store/sqlite/sqlite-migrations.js';
import { SqliteStore, type SqliteStoreOptions } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { createLogger } from '../../src/adapters/log/logger.js';
import { StoreLease, type LeaseOptions } from '../../src/engine/store-lease.js';

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

/** A store at a fresh temp path, `synchronous: 'normal'`; `options` override either (a `path` to reopen a store's file). */
export function tempStore(options: Partial<SqliteStoreOptions> = {}): SqliteStore {
  return new SqliteStore({ path: tempStorePath(), synchronous: 'normal', ...options });
}

/** The schema version a store file is at (its newest recorded migration). */
export function schemaVersionOf(path: string): number {
  const raw = new Database(path, { fileMustExist: true });
  try {
    return raw.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number;
  } finally {
    raw.close();
  }
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

/**
 * The store lease taken on `raw` (a store of an older version, from {@link storeBefore}) as that
 * version's live service holds it: renewed every 2 s until released. `over`: the holder's pid
 * (default this process, alive to another process; give another live pid, as `process.ppid`, for
 * a check made in this process) and the like. `raw` is put in WAL mode, as a service has it.
 */
export function holdLeaseAsService(raw: Database.Database, path: string, over: Partial<LeaseOptions> = {}): Promise<StoreLease> {
  raw.pragma('journal_mode = WAL');
  const get = raw.prepare('SELECT value FROM kv WHERE namespace = ? AND key = ?').pluck();
  const kv = {
    kvGet: (ns: string, key: string) => Promise.resolve(get.get(ns, key) as string | undefined),
    kvCompareAndSet: (ns: string, key: string, expected: string | undefined, next: string | undefined) => {
      let changes: number;
      if (expected === undefined) changes = next === undefined ? Number(get.get(ns, key) === undefined) : raw.prepare('INSERT INTO kv VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING').run(ns, key, next, Date.now()).changes;
      else if (next === undefined) changes = raw.prepare('DELETE FROM kv WHERE namespace = ? AND key = ? AND value = ?').run(ns, key, expected).changes;
      else changes = raw.prepare('UPDATE kv SET value = ?, updated_at = ? WHERE namespace = ? AND key = ? AND value = ?').run(next, Date.now(), ns, key, expected).changes;
      return Promise.resolve(changes > 0);
    },
  };
  return StoreLease.acquire(kv, { command: 'assetbridge run', path, logger: createLogger('silent'), instance: 'older-version-service', ...over });
}

/** How many messages the ingest log of the store at `path` holds (what a crash left unfolded). */
export async function ingestLogLength(path: string): Promise<number> {
  const store = new SqliteStore({ path });
  try {
    return (await store.counters()).ingestLog;
  } finally {
    await store.close();
  }
}
