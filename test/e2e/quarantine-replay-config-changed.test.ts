/**
 * `assetbridge quarantine replay` through a running service after the config file was changed (a
 * decoder fixed): the service replays with the configuration it started with, so the command says
 * so and what to do, instead of leaving the user to wonder why the fix did not take.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { freePort, runCli, startReadyService, writeConfig, type ServiceProcess } from '../helpers/cli.js';

let svc: ServiceProcess | undefined;
afterAll(async () => {
  await svc?.stop();
});

describe('quarantine replay through a service started before the config changed', () => {
  it('replays, and says the service still runs the config it started with: restart it to apply the change', async () => {
    const port = await freePort();
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'erp-token' }],
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      server: { port },
    }));
    svc = await startReadyService(cfg.path, port);
    const seed = new SqliteStore({ path: join(cfg.dir, 'ab.db') });
    try {
      const payload = JSON.stringify({ kind: 'position', assetId: 'tag-2', eventTime: new Date(Date.now() - 60_000).toISOString(), lat: 50.1, lng: 8.68 });
      await seed.commitIngest({ states: [], deliveries: [], accepted: 0, quarantine: [{ source: 'http', channel: '/v1/events', payload, receivedAt: Date.now(), code: 'unknown-asset', reason: 'no ERP mapping for tag tag-2' }] });
    } finally {
      await seed.close();
    }

    // Unchanged config: no note.
    const before = await runCli(['quarantine', 'replay', '--all', '-c', cfg.path]);
    expect(before.stdout).toContain('replayed 1: 0 accepted, 1 quarantined again');
    expect(before.stderr).not.toContain('changed since');

    await new Promise((r) => setTimeout(r, 20)); // a later modification time than the start, on coarse clocks too
    appendFileSync(cfg.path, '# a decoder fixed\n');
    const after = await runCli(['quarantine', 'replay', '--all', '-c', cfg.path]);
    expect(after.stdout).toContain('replayed 1: 0 accepted, 1 quarantined again');
    expect(after.stderr).toContain(`${cfg.path} changed since the running service started (pid ${svc.child.pid}); it replays with the configuration it started with: restart it to apply the change, then replay again`);
  });
});
