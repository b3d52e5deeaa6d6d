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
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, stdin?: string): Promise<CliResult> {
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

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
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

/** `assetbridge run` on `configPath`, once its HTTP server on `port` answers /readyz. */
export async function startReadyService(configPath: string, port: number, env: NodeJS.ProcessEnv = {}): Promise<ServiceProcess> {
  const svc = startService(configPath, env);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok, `service ready (output: ${svc.output()})`);
  return svc;
}
