/**
 * `assetbridge run` that fails at start (its HTTP port taken, its MQTT broker's TLS failing): it
 * exits with the documented code and lets go of the store, so the next command or service on the
 * store need not wait out a holder that is gone, and a supervisor can start it again.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { readRuntimeSnapshot } from '../../src/engine/engine.js';
import { LEASE_KEY, LEASE_NS } from '../../src/engine/store-lease.js';
import { runCli, startService, writeConfig } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const blockers: Server[] = [];
afterEach(async () => {
  await Promise.all(blockers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function listen(onConnection?: (socket: Socket) => void): Promise<Server> {
  const server = createServer(onConnection);
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

  it('with TLS to its MQTT broker failing (mqtts:// to a port that does not speak TLS): exit 1 naming the keys, not reconnecting for ever', async () => {
    // Answers every connection as an HTTP server would: no TLS handshake can succeed.
    const sockets: Socket[] = [];
    const server = await listen((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    const port = (server.address() as { port: number }).port;
    const topics = [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 }, meters: { operatingHours: 'h' } } }];
    const { path, dir } = writeConfig({
      store: { path: 'ab.db' },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      sources: { mqtt: [{ name: 'yard', url: `mqtts://127.0.0.1:${port}`, clientId: 'ab-tls-fail', reconnectDelayMs: '50ms', topics }] },
    });
    const svc = startService(path, { ASSETBRIDGE_LOG_LEVEL: 'warn' });
    try {
      // Before the fix the process printed the error and then went on connecting every 50 ms, never exiting.
      await waitFor(() => svc.child.exitCode !== null, 'assetbridge run to exit after its start failed', 30_000);
    } finally {
      if (svc.child.exitCode === null) await svc.kill9();
      for (const s of sockets) s.destroy();
    }
    expect(svc.child.exitCode).toBe(1);
    expect(svc.output()).toMatch(/error: MQTT source "yard": mqtts:\/\/127\.0\.0\.1:\d+: [\s\S]*sources\.mqtt\.0\.url/);
    // It does not say it retries: it stops.
    expect(svc.output()).not.toContain('retrying');
    expect(sockets).toHaveLength(1);
    // Its status says the start failed: was "stopped" in the snapshot, as after a stop that was asked for.
    const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
    try {
      expect((await readRuntimeSnapshot(store))?.state).toBe('failed');
    } finally {
      await store.close();
    }
    const status = await runCli(['status', '-c', path]);
    expect(status.stdout).toContain('service: not running: its last start failed (its log says why)\n');
    const json = await runCli(['status', '--json', '-c', path]);
    expect((JSON.parse(json.stdout) as { service: unknown }).service).toEqual({ state: 'not running', lastStart: 'failed' });
  });
});
