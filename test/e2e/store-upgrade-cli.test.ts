/**
 * A newer assetbridge looking at a store an older one wrote: commands that only read leave it at its
 * schema version (the older service can still open it) and say what would upgrade it; a backup
 * copies it as it is. Commands that write, and the service, upgrade it, but not while the older
 * service still runs on it.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SQLITE_MIGRATIONS } from '../../src/adapters/store/sqlite/sqlite-migrations.js';
import { runCli, writeConfig } from '../helpers/cli.js';
import { holdLeaseAsService, schemaVersionOf, storeBefore } from '../helpers/temp-store.js';

const destinations = [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'erp-token-1' }];
const newest = Math.max(...SQLITE_MIGRATIONS.map((m) => m.version));

/** A config whose store is at the schema version before this one's newest. */
function olderStore(): { path: string; db: string; dir: string } {
  const { path, dir } = writeConfig((d) => ({ store: { path: join(d, 'ab.db') }, destinations }));
  const old = storeBefore(newest);
  old.raw.close();
  copyFileSync(old.path, join(dir, 'ab.db'));
  return { path, db: join(dir, 'ab.db'), dir };
}


describe('a store an older assetbridge wrote', () => {
  it.each([['status'], ['dlq', 'list'], ['quarantine', 'list'], ['maintenance', 'status'], ['assets', 'meters'], ['audit'], ['store', 'prune', '--dry-run']])(
    '%s %s leaves it at its schema version and says which, which one this version expects, and what upgrades it (exit 1)',
    async (...args: string[]) => {
      const { path, db } = olderStore();
      const r = await runCli([...args, '-c', path]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`the store ${db} (store.path) is at schema version ${newest - 1}, and this assetbridge expects version ${newest}`);
      expect(r.stderr).toContain("'assetbridge run'");
      expect(schemaVersionOf(db)).toBe(newest - 1);
    },
  );

  it('store backup copies it as it is, not upgraded; a command that writes upgrades it', async () => {
    const { path, db, dir } = olderStore();
    const r = await runCli(['store', 'backup', join(dir, 'copy.db'), '-c', path]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`the store is at schema version ${newest - 1} (this assetbridge expects version ${newest}): copied as it is, not upgraded`);
    expect(schemaVersionOf(join(dir, 'copy.db'))).toBe(newest - 1);
    expect(schemaVersionOf(db)).toBe(newest - 1);
    expect(existsSync(join(dir, 'copy.db.partial'))).toBe(false);

    expect((await runCli(['dlq', 'replay', '--all', '-c', path])).code).toBe(0);
    expect(schemaVersionOf(db)).toBe(newest);
    const status = await runCli(['status', '-c', path]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('service: not running');
  });
});

describe('a store an older assetbridge\'s service still runs on', () => {
  const running: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of running.splice(0)) await stop();
  });

  /** The older service on the store: its connection and its lease, renewed, naming this (live) process. */
  async function olderServiceOn(db: string): Promise<void> {
    const raw = new Database(db);
    const lease = await holdLeaseAsService(raw, db, { heartbeatMs: 500 });
    running.push(async () => {
      await lease.release();
      raw.close();
    });
  }

  it.each([['dlq', 'replay', '--all'], ['dlq', 'discard', '--all'], ['quarantine', 'discard', '1'], ['store', 'prune'], ['run']])(
    '%s %s is refused (exit 2) and leaves it at its schema version, naming the service and what to do',
    async (...args: string[]) => {
      const { path, db } = olderStore();
      await olderServiceOn(db);
      const r = await runCli([...args, '-c', path]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`the store ${db} (store.path) is at schema version ${newest - 1}, and this assetbridge needs version ${newest}, but assetbridge run (pid ${process.pid} on ${hostname()}`);
      expect(r.stderr).toContain("stop that service ('assetbridge store backup FILE' first keeps a copy to go back to)");
      expect(r.stderr).toContain(args[0] === 'run' ? 'then start this one again, which upgrades the store' : 'or run this command with the version that is running');
      expect(schemaVersionOf(db)).toBe(newest - 1);
    },
  );

  it.each(['status', 'dlq list', 'audit'])(
    '%s, which only reads, fails (exit 1, not the exit 2 of a command that writes) and leaves it at its schema version',
    async (command: string) => {
      const { path, db } = olderStore();
      await olderServiceOn(db);
      const r = await runCli([...command.split(' '), '-c', path]);
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: '' });
      expect(r.stderr).toContain(`the store ${db} (store.path) is at schema version ${newest - 1}, and this assetbridge expects version ${newest}: this command only reads the store, so it leaves it as it is`);
      expect(r.stderr).toContain('once the older service is stopped');
      expect(schemaVersionOf(db)).toBe(newest - 1);
    },
  );

  it('once that service has stopped, a command that writes upgrades it', async () => {
    const { path, db } = olderStore();
    await olderServiceOn(db);
    expect((await runCli(['dlq', 'replay', '--all', '-c', path])).code).toBe(2);
    for (const stop of running.splice(0)) await stop();
    expect((await runCli(['dlq', 'replay', '--all', '-c', path])).code).toBe(0);
    expect(schemaVersionOf(db)).toBe(newest);
  });
});
