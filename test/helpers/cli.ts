/**
 * Running the built CLI (`dist/src/cli/main.js`) as a separate process, as users and CI do.
 * `npm test` builds first; a missing build fails with the command to run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { waitFor } from './wait.js';

export const CLI = resolve(import.meta.dirname, '../../dist/src/cli/main.js');

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' (npm test does it first)`);
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `assetbridge ARGS`; `stdin`, when given, is piped to it. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, stdin?: string | Buffer): Promise<CliResult> {
  assertBuilt();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    child.stdin?.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** A long-running `assetbridge run`. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash at an arbitrary instant. */
  kill9(): Promise<void>;
}

export function startService(configPath: string, env: NodeJS.ProcessEnv = {}): ServiceProcess {
  assertBuilt();
  const child = spawn(process.execPath, [CLI, 'run', '--config', configPath], { env: { ...process.env, ASSETBRIDGE_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill9: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Ports {@link freePort} hands out: below the ephemeral range Linux (32768–60999) and macOS
 * (49152–65535) draw from for outgoing connections and `listen(0)`, so no such socket, of this
 * run or any other process, can take one between the check and the service's own listen.
 */
const PORT_RANGE = { from: 20_000, to: 32_000 } as const;
/** Ports per vitest worker (VITEST_POOL_ID), so the workers of one run never hand out the same one. */
const PORTS_PER_WORKER = 500;
/** The next port to try, as an offset in this worker's slice; random, so two runs at once seldom meet. */
let nextPortOffset = Math.floor(Math.random() * PORTS_PER_WORKER);

function canListen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

/**
 * A TCP port on 127.0.0.1 that nothing listens on, for a service that is then started on it (a
 * server under test that can listen on port 0 and say its port should do that instead). Another
 * process may still take it first (another test run picking from the same range); the service
 * then exits naming server.port, and {@link startReadyService} says so with `EADDRINUSE`.
 */
export async function freePort(): Promise<number> {
  const worker = Number(process.env.VITEST_POOL_ID ?? 1);
  const slices = Math.floor((PORT_RANGE.to - PORT_RANGE.from) / PORTS_PER_WORKER);
  const base = PORT_RANGE.from + ((Number.isInteger(worker) && worker > 0 ? worker - 1 : 0) % slices) * PORTS_PER_WORKER;
  for (let tried = 0; tried < PORTS_PER_WORKER; tried++) {
    // Never the same port twice in a worker: a service given the last one may not listen yet.
    const port = base + (nextPortOffset++ % PORTS_PER_WORKER);
    if (await canListen(port)) return port;
  }
  throw new Error(`freePort: no free port in ${base}-${base + PORTS_PER_WORKER - 1}`);
}

/**
 * Write a config object as YAML into a fresh temp dir; returns the file path. Pass a function of
 * the dir to put files beside the config (the store: `(dir) => ({ store: { path: join(dir, 'ab.db') }, … })`).
 */
export function writeConfig(config: object | ((dir: string) => object)): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ab-e2e-'));
  const path = join(dir, 'assetbridge.yaml');
  writeFileSync(path, stringify(typeof config === 'function' ? config(dir) : config));
  return { path, dir };
}

/** Why {@link startReadyService} failed: the service exited first; `code` is `EADDRINUSE` when its port was taken. */
export class ServiceStartError extends Error {
  constructor(
    message: string,
    readonly code: 'EADDRINUSE' | 'EXITED',
  ) {
    super(message);
  }
}

/**
 * `assetbridge run` on `configPath`, once its HTTP server on `port` answers /readyz. A service that
 * exits before that fails this at once ({@link ServiceStartError}), not after the wait: it is not
 * the one that would answer (its port may be another's).
 */
export async function startReadyService(configPath: string, port: number, env: NodeJS.ProcessEnv = {}): Promise<ServiceProcess> {
  const svc = startService(configPath, env);
  const exited = (): boolean => svc.child.exitCode !== null || svc.child.signalCode !== null;
  const ready = async (): Promise<boolean> => (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.ok === true;
  const state = await waitFor(async () => (exited() ? 'exited' : (await ready()) && 'ready'), `service ready on port ${port}`).catch(async (err: unknown) => {
    await svc.kill9();
    throw new Error(`${(err as Error).message} (output: ${svc.output()})`);
  });
  if (state === 'exited') {
    const inUse = svc.output().includes(`server.port ${port} `) && svc.output().includes('is in use');
    throw new ServiceStartError(`assetbridge run exited (${svc.child.exitCode ?? svc.child.signalCode}) before it was ready: ${svc.output()}`, inUse ? 'EADDRINUSE' : 'EXITED');
  }
  return svc;
}
