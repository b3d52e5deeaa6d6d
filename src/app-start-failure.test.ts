/**
 * A service whose start fails before it runs (its HTTP port in use) lets go of the store and says
 * in its runtime snapshot that the start failed, for `status`: not that it was stopped as asked.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from './adapters/log/logger.js';
import { SqliteStore } from './adapters/store/sqlite/sqlite-store.js';
import { createApp } from './app.js';
import { compileConfig } from './config/load.js';
import { readRuntimeSnapshot } from './engine/engine.js';
import { LEASE_KEY, LEASE_NS } from './engine/store-lease.js';
import { tempStorePath } from '../test/helpers/temp-store.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('createApp, a start that fails before the service runs', () => {
  it('with its server.port in use: the snapshot says the start failed, and the store lease is released', async () => {
    // Was close() withdrawing it as `stopped` (and, with nothing announced, writing nothing), so `status` did not say the start failed.
    const blocker = createServer();
    servers.push(blocker);
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const path = tempStorePath();
    const config = compileConfig({ store: { path }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], server: { host: '127.0.0.1', port }, log: { level: 'silent' } });
    const app = await createApp(config, { logger: createLogger('silent') });
    await expect(app.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    const store = new SqliteStore({ path, commitInWorker: false });
    try {
      expect((await readRuntimeSnapshot(store))?.state).toBe('failed');
      expect(await store.kvGet(LEASE_NS, LEASE_KEY)).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
