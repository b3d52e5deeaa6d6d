/**
 * `assetbridge run` when its HTTP server cannot listen: the message names the config key to fix
 * and how, from the error a real listen gives (not only a port in use).
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { listenProblem } from './run.js';

/** The error a real listen on host:port gives (undefined when it listens). */
function listenError(host: string, port = 0): Promise<unknown> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', resolve);
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
}

describe('run: the HTTP server cannot listen', () => {
  it('a port in use names server.port', async () => {
    const held = createServer();
    await new Promise<void>((r) => held.listen(0, '127.0.0.1', r));
    const port = (held.address() as { port: number }).port;
    try {
      expect(listenProblem(await listenError('127.0.0.1', port), { host: '127.0.0.1', port }, 'ab.yaml')).toBe(
        `server.port ${port} on 127.0.0.1 is in use by another process (another assetbridge run?): stop it, or set server.port in ab.yaml to a free port (0 turns the HTTP server off)`,
      );
    } finally {
      held.close();
    }
  });

  // Was the bare "listen EADDRNOTAVAIL: address not available 192.0.2.1:8080", exit 1.
  it('a host that is no address of this machine names server.host and what to set it to', async () => {
    const err = await listenError('192.0.2.1'); // TEST-NET-1: assigned to no machine
    expect(listenProblem(err, { host: '192.0.2.1', port: 8080 }, 'ab.yaml')).toBe(
      'server.host 192.0.2.1 is no address of this machine, so the HTTP server cannot listen there: set server.host in ab.yaml to one of its addresses, 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)',
    );
  });

  // Was the bare "getaddrinfo ENOTFOUND admin.invalid", exit 1.
  it('a host name that does not resolve names server.host', async () => {
    const err = await listenError('admin.invalid');
    expect(listenProblem(err, { host: 'admin.invalid', port: 8080 }, 'ab.yaml')).toMatch(/^server\.host admin\.invalid does not resolve to an address: set server\.host in ab\.yaml/);
  });

  it('a privileged port names server.port; any other error is left as it is', () => {
    const eacces = Object.assign(new Error('listen EACCES: permission denied 127.0.0.1:80'), { code: 'EACCES', syscall: 'listen' });
    expect(listenProblem(eacces, { host: '127.0.0.1', port: 80 }, 'ab.yaml')).toMatch(/^server\.port 80 on 127\.0\.0\.1 needs privileges this process lacks/);
    expect(listenProblem(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }), { host: '127.0.0.1', port: 8080 }, 'ab.yaml')).toBeUndefined();
    // A name the service looks up elsewhere (not the listen address) is no server.host problem.
    const other = Object.assign(new Error('getaddrinfo ENOTFOUND erp.example.com'), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'erp.example.com' });
    expect(listenProblem(other, { host: '127.0.0.1', port: 8080 }, 'ab.yaml')).toBeUndefined();
  });
});
