/** freePort hands out ports no outgoing connection can take; startReadyService says at once why a service did not start. */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceStartError, freePort, startReadyService, writeConfig } from './cli.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function listen(port: number): Promise<Server> {
  const srv = createServer((socket) => socket.destroy()); // no HTTP: a readiness check gets no answer
  servers.push(srv);
  return new Promise((res, rej) => {
    srv.once('error', rej);
    srv.listen(port, '127.0.0.1', () => res(srv));
  });
}

describe('freePort', () => {
  it('hands out distinct ports below the ephemeral range, from a slice of its own per worker, skipping one in use', async () => {
    // Mutation: a port from listen(0), which an outgoing connection can take before the service listens.
    const first = await freePort();
    const base = first - ((first - 20_000) % 500);
    const next = first + 1 < base + 500 ? first + 1 : base;
    await listen(next);
    const ports = [first, await freePort(), await freePort()];
    expect(new Set(ports).size).toBe(3);
    expect(ports).not.toContain(next);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(base);
      expect(port).toBeLessThan(Math.min(base + 500, 32_768));
    }
    // Each is free: a service can listen on it.
    for (const port of ports) await listen(port);
  });
});

describe('startReadyService', () => {
  it('fails at once, with EADDRINUSE, when the service exits because its port was taken', async () => {
    // Mutation: waiting out the readiness timeout (or taking another process's /readyz for the service's).
    const blocker = await listen(0);
    const port = (blocker.address() as { port: number }).port;
    const cfg = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'erp-token' }], server: { port } });
    const err = await startReadyService(cfg.path, port).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceStartError);
    expect(err).toMatchObject({ code: 'EADDRINUSE', message: expect.stringContaining(`server.port ${port} on 127.0.0.1 is in use`) as unknown });
  });
});
