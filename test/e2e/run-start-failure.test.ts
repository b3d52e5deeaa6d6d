/**
 * `assetbridge run` that fails at start (its HTTP port taken): it exits with the documented code
 * and lets go of the store, so the next command or service on the store need not wait out a holder
 * that is gone.
 */
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { LEASE_KEY, LEASE_NS } from '../../src/engine/store-lease.js';
import { runCli, writeConfig } from '../helpers/cli.js';

const blockers: Server[] = [];
afterEach(async () => {
  await Promise.all(blockers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function listen(): Promise<Server> {
  const server = createServer();
  blockers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe('assetbridge run, failing at start', () => {
  it('with its server.port in use: exit 2 naming server.port, and the store lease released', async () => {
    const port = ((await listen()).address() as { port: number }).port;
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], server: { port } });
    const r = await runCli(['run', '-c', path], { ASSETBRIDGE_LOG_LEVEL: 'warn' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: server.port ${port} on 127.0.0.1 is in use by another process`);
    expect(r.stderr).not.toContain('    at ');
    const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
    try {
      expect(await store.kvGet(LEASE_NS, LEASE_KEY)).toBeUndefined();
    } finally {
      await store.close();
    }
    // So the next command that needs the store to itself does not wait for the gone holder.
    const vacuum = await runCli(['store', 'vacuum', '-c', path]);
    expect({ code: vacuum.code, stderr: vacuum.stderr }).toEqual({ code: 0, stderr: '' });
  });
});
