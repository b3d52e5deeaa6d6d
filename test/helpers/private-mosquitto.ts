/**
 * A private Mosquitto for tests that need a broker configured their own way (an ACL, a plugin):
 * the system's `mosquitto` binary on a free port of its own, with its own config and files in a
 * temporary directory. A test file calls {@link requireMosquittoBinary} at top level; like
 * `requireService`, it skips the tests without the binary, or under `CI=true` throws.
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceAvailable } from './services.js';

const INSTALL = "install it with 'apt-get install mosquitto' (Debian/Ubuntu) or 'brew install mosquitto' (macOS), so that `mosquitto` is on the PATH";

/** Whether the `mosquitto` binary can be run: true; false (tests skip) when not, or under `CI=true` an error. */
export function requireMosquittoBinary(): boolean {
  const run = spawnSync('mosquitto', ['-h'], { stdio: 'ignore' });
  if (run.error === undefined) return true;
  const message = `the mosquitto binary cannot be run (${run.error.message}): ${INSTALL}`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: broker-backed tests must run, not skip)`);
  console.warn(`Skipping tests that start their own Mosquitto: ${message}`);
  return false;
}

/** Where Debian/Ubuntu (any architecture), source builds and Homebrew put Mosquitto's dynamic security plugin. */
const DYNSEC_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/lib/mosquitto', '/usr/local/lib', '/opt/homebrew/lib'];

/**
 * The path of Mosquitto's dynamic security plugin (`mosquitto_dynamic_security.so`, shipped with
 * Mosquitto 2.0), which checks subscriptions against its ACLs; undefined (tests skip) when none is
 * found, or under `CI=true` an error.
 */
export function requireDynsecPlugin(): string | undefined {
  const found = DYNSEC_DIRS.map((d) => join(d, 'mosquitto_dynamic_security.so')).find((p) => existsSync(p));
  if (found !== undefined) return found;
  const message = `Mosquitto's dynamic security plugin (mosquitto_dynamic_security.so, part of Mosquitto 2.0) is in none of ${DYNSEC_DIRS.join(', ')}: ${INSTALL}`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: broker-backed tests must run, not skip)`);
  console.warn(`Skipping tests that need it: ${message}`);
  return undefined;
}

export interface PrivateMosquitto {
  readonly url: string;
  /** The directory holding its config and `files`: `${dir}/<name>`. */
  readonly dir: string;
  /** What the broker logged so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts `mosquitto` with `config` (lines after its own `listener`, without persistence). `files`
 * are written to its directory first; `{dir}` in the config and files stands for that directory.
 * `port`: listen there (a broker restarted with another config) instead of on a free port.
 */
export async function startPrivateMosquitto(config: readonly string[], files: Readonly<Record<string, string>> = {}, port?: number): Promise<PrivateMosquitto> {
  port ??= await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ab-test-mosquitto-'));
  const fill = (text: string) => text.replaceAll('{dir}', dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), fill(content));
  const conf = join(dir, 'mosquitto.conf');
  // Started as root, Mosquitto would read its ACL and plugin files as the `mosquitto` user, which
  // cannot enter this test's temporary directory (mode 0700): an unreadable dynamic-security file
  // denies everything, an unreadable acl_file stops the broker. `user` is ignored when not root.
  const asRoot = process.getuid?.() === 0 ? ['user root'] : [];
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'persistence false', 'log_dest stdout', 'log_type error', 'log_type warning', ...asRoot, ...config.map(fill), ''].join('\n'));
  let output = '';
  const child: ChildProcess = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  child.on('error', (err) => (output += `\n${err.message}`));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  for (let i = 0; i < 100 && child.exitCode === null && !(await serviceAvailable('127.0.0.1', port, 200)); i++) await new Promise((r) => setTimeout(r, 50));
  if (child.exitCode !== null || !(await serviceAvailable('127.0.0.1', port, 500))) {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mosquitto did not start on port ${port}; its output: ${output.trim() || '(none)'}`);
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    log: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
