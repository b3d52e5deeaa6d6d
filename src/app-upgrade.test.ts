/**
 * A newer assetbridge opening to write a store that an older version's service still runs on:
 * upgrading it would change the schema under that service (which checks the version only when it
 * opens the store), so it is left as it is, and the open says what to do. With nobody on it, it
 * is upgraded as before.
 */
import { hostname } from 'node:os';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { holdLeaseAsService, schemaVersionOf, storeBefore } from '../test/helpers/temp-store.js';
import { createLogger } from './adapters/log/logger.js';
import { SQLITE_MIGRATIONS } from './adapters/store/sqlite/sqlite-migrations.js';
import { createApp, openStore } from './app.js';
import { compileConfig } from './config/load.js';
import { StoreUpgradeBusyError, type StoreLease } from './engine/store-lease.js';

const logger = createLogger('silent');
const newest = Math.max(...SQLITE_MIGRATIONS.map((m) => m.version));
const configOf = (path: string) => compileConfig({ store: { path }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'erp-token-1' }] });

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/**
 * A store at the schema version before migration `before`, and the older version's service on it:
 * its connection (with a statement it prepared at start) and its lease, renewed, naming a live
 * process of this host (this process's parent: the check runs in this process).
 */
async function olderServiceOn(before: number): Promise<{ path: string; raw: Database.Database; lease: StoreLease }> {
  const { path, raw } = storeBefore(before);
  const lease = await holdLeaseAsService(raw, path, { pid: process.ppid, heartbeatMs: 200 });
  cleanup.push(() => void raw.close(), () => lease.release());
  return { path, raw, lease };
}

describe('a newer version opening to write a store an older service runs on', () => {
  it('a command leaves it as it is and names the versions, the service and what to do; the service goes on', async () => {
    const { path, raw } = await olderServiceOn(newest);
    const ingest = raw.prepare("INSERT INTO kv VALUES ('older', ?, 'v', 0)"); // the older service writes on

    let err: unknown;
    try {
      const store = openStore(configOf(path));
      cleanup.push(() => store.close());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreUpgradeBusyError);
    const message = (err as Error).message;
    expect(message).toContain(`the store ${path} (store.path) is at schema version ${newest - 1}, and this assetbridge needs version ${newest}`);
    expect(message).toContain(`assetbridge run (pid ${process.ppid} on ${hostname()}`);
    expect(message).toContain("stop that service ('assetbridge store backup FILE' first keeps a copy to go back to), then start this version's service ('assetbridge run'), which upgrades the store");
    expect(message).toContain('or run this command with the version that is running');
    expect(schemaVersionOf(path)).toBe(newest - 1);
    expect(ingest.run('after').changes).toBe(1);
  });

  it('a statement the older service prepared still works: the table it writes is not dropped under it', async () => {
    // Migration 2 replaces asset_state by asset_rule_state: upgraded, the older service's next write failed with "no such table".
    const { path, raw } = await olderServiceOn(2);
    const putState = raw.prepare("INSERT OR REPLACE INTO asset_state VALUES ('A-1', '{}', 1)");
    expect(() => openStore(configOf(path))).toThrow(StoreUpgradeBusyError);
    expect(putState.run().changes).toBe(1);
    expect(schemaVersionOf(path)).toBe(1);
  });

  it('the service (assetbridge run) is refused before it upgrades anything, and told to start again once the other is stopped', async () => {
    const { path } = await olderServiceOn(newest);
    const err = await createApp(configOf(path), { sources: false, http: false, logger }).then(
      async (app) => {
        await app.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreUpgradeBusyError);
    expect((err as Error).message).toContain(`is at schema version ${newest - 1}, and this assetbridge needs version ${newest}`);
    expect((err as Error).message).toContain('then start this one again, which upgrades the store');
    expect((err as Error).message).not.toContain('run this command with the version');
    expect(schemaVersionOf(path)).toBe(newest - 1);
  });

  it('upgrades it once the older service has stopped (let go of its lease)', async () => {
    const { path, raw, lease } = await olderServiceOn(newest);
    await lease.release();
    raw.close();
    await openStore(configOf(path)).close();
    expect(schemaVersionOf(path)).toBe(newest);
  });
});
