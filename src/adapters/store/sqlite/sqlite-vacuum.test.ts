/**
 * `SqliteStore.vacuum`: the file rewritten to what it holds in a worker thread, while the owner's
 * thread, free meanwhile, reports what can be seen of it (SQLite reports no progress of its own).
 */
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempStorePath } from '../../../../test/helpers/temp-store.js';
import { SqliteStore, type VacuumProgress } from './sqlite-store.js';
import { sqliteTempBytes } from './sqlite-vacuum.js';

const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

const loc = (asset: string) => ({ destination: 'erp', operation: 'location.update', kind: 'state' as const, businessKey: asset, erpAssetId: asset, eventTime: 1, payload: { note: 'x'.repeat(1000) } });

// Was: VACUUM ran on the owner's thread, which it blocked until done: `store vacuum` showed
// nothing for as long as a large store took (minutes), and looked hung.
describe('SqliteStore.vacuum', () => {
  it('runs in a worker while this thread reports the time, the file and its WAL; the file shrinks to the pages in use', async () => {
    const path = tempStorePath();
    const s = new SqliteStore({ path, commitInWorker: false });
    stores.push(s);
    await s.commitIngest({ states: [], deliveries: Array.from({ length: 3000 }, (_, i) => loc(`A${i}`)), quarantine: [], accepted: 1 });
    s.db.exec('DELETE FROM outbox WHERE id % 2 = 0');
    s.db.pragma('wal_checkpoint(TRUNCATE)');
    const before = statSync(path).size;
    // Another connection holds the write lock: the worker's VACUUM waits on it (busy_timeout) until
    // this thread has reported while it ran, which it can only while the vacuum is elsewhere.
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const seen: VacuumProgress[] = [];
    try {
      await s.vacuum({
        pollMs: 10,
        onProgress: (p) => {
          seen.push(p);
          if (seen.length === 2) other.exec('COMMIT');
        },
      });
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
    }
    const after = statSync(path).size;
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.map((p) => p.done)).toEqual([...seen.slice(0, -1).map(() => false), true]);
    expect(seen[0]).toMatchObject({ fileBytes: before, walBytes: 0 });
    const elapsed = seen.map((p) => p.elapsedMs);
    expect(elapsed).toEqual([...elapsed].sort((a, b) => a - b));
    // The pages in use: about what the file came to (VACUUM packs them a little tighter still).
    const inUse = seen[0]?.inUseBytes ?? 0;
    expect(inUse).toBeLessThan(before * 0.75);
    expect(after).toBeLessThanOrEqual(inUse);
    expect(after).toBeGreaterThan(inUse * 0.75);
    expect(seen.at(-1)).toMatchObject({ fileBytes: after, walBytes: 0 });
    expect(s.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(s.db.prepare('SELECT count(*) FROM outbox').pluck().get()).toBe(1500);
  });
});

describe('sqliteTempBytes', () => {
  it.skipIf(process.platform !== 'linux')('counts the temporary files SQLite has open in this process', () => {
    const db = new Database(tempStorePath());
    try {
      const none = sqliteTempBytes();
      // A temporary table on disk, larger than its cache: SQLite's unlinked etilqs_ file.
      db.pragma('temp_store = FILE');
      db.exec('CREATE TEMP TABLE t (v TEXT)');
      db.pragma('temp.cache_size = 5');
      db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO t SELECT hex(randomblob(500)) FROM n`);
      expect(sqliteTempBytes()).toBeGreaterThan((none ?? 0) + 1_000_000);
    } finally {
      db.close();
    }
  });

  it('is undefined where open files cannot be listed', () => {
    expect(sqliteTempBytes('/nonexistent/fd')).toBeUndefined();
  });
});
