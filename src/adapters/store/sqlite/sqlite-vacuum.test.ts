/**
 * `SqliteStore.vacuum`: the file rewritten to what it holds in a worker thread, while the owner's
 * thread, free meanwhile, reports what can be seen of it (SQLite reports no progress of its own).
 */
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempStorePath } from '../../../../test/helpers/temp-store.js';
import { SqliteStore, type VacuumProgress } from './sqlite-store.js';
import { sqliteTempBytes, VACUUM_LEASE_MIN_MS, vacuumLeaseMs } from './sqlite-vacuum.js';
import { createLogger } from '../../log/logger.js';
import { LEASE_KEY, LEASE_NS, StoreLease, type LeaseHolder } from '../../../engine/store-lease.js';

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

// Was: the lease (a row of this same store) could not be renewed while VACUUM held the write lock,
// and nothing said for how long it would stay unrenewed: a long vacuum's lease looked lapsed.
describe('the store lease over a vacuum', () => {
  it('cannot be renewed while the vacuum holds the lock, but can be read: renewed ahead first, readers see it held', async () => {
    const path = tempStorePath();
    const s = new SqliteStore({ path, commitInWorker: false });
    stores.push(s);
    await s.commitIngest({ states: [], deliveries: Array.from({ length: 3000 }, (_, i) => loc(`A${i}`)), quarantine: [], accepted: 1 });
    const lease = await StoreLease.acquire(s, { command: 'assetbridge store vacuum', path, logger: createLogger('silent'), heartbeatMs: 60_000 });
    const holdMs = vacuumLeaseMs(statSync(path).size);
    const other = new Database(path);
    other.pragma('busy_timeout = 0');
    const during: { heartbeat: number; write: string }[] = [];
    try {
      const started = Date.now();
      await lease.renewalsHeldDuring(
        () =>
          s.vacuum({
            pollMs: 5,
            onProgress: (p) => {
              if (p.done) return;
              const row = other.prepare('SELECT value FROM kv WHERE namespace = ? AND key = ?').get(LEASE_NS, LEASE_KEY) as { value: string };
              let write = 'written';
              try {
                other.prepare('UPDATE kv SET value = value WHERE namespace = ? AND key = ?').run(LEASE_NS, LEASE_KEY);
              } catch (err) {
                write = (err as { code?: string }).code ?? 'error';
              }
              during.push({ heartbeat: (JSON.parse(row.value) as LeaseHolder).heartbeat, write });
            },
          }),
        holdMs,
      );
      expect(during.length).toBeGreaterThan(0);
      for (const d of during) expect(d.heartbeat).toBeGreaterThanOrEqual(started + holdMs);
      // While the vacuum holds the lock, the lease cannot be written (renewed) by anyone.
      expect(during.map((d) => d.write)).toContain('SQLITE_BUSY');
      expect((JSON.parse((await s.kvGet(LEASE_NS, LEASE_KEY)) ?? '{}') as LeaseHolder).heartbeat).toBeLessThanOrEqual(Date.now());
    } finally {
      other.close();
      await lease.release();
    }
  });

  it('is held ahead for at least a minute, and a minute more per 480 MiB of store', () => {
    expect(vacuumLeaseMs(0)).toBe(VACUUM_LEASE_MIN_MS);
    expect(vacuumLeaseMs(1_048_576)).toBe(VACUUM_LEASE_MIN_MS + 1000);
    expect(vacuumLeaseMs(480 * 1_048_576)).toBe(2 * 60_000);
    expect(vacuumLeaseMs(10 * 1024 * 1_048_576)).toBe(60_000 + 1280 * 1000);
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
