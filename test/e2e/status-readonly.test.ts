/**
 * `assetbridge status` by a user who may read the store but not write its directory (another
 * user's service, a read-only volume): SQLite creates a -shm file beside a store in WAL mode even
 * to read it, which fails there.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { assertBuilt, CLI, writeConfig, type CliResult } from '../helpers/cli.js';

/** Root writes wherever it likes: as root, the command runs as `nobody`, whom the mode stops. */
const NOBODY = 65534;
const asOther = process.getuid?.() === 0;

/** `assetbridge ARGS` as a user who cannot write a directory of mode 0555 (nobody, when this runs as root). */
function runCliUnprivileged(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...(asOther ? { uid: NOBODY, gid: NOBODY } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Modes to put back after the test: directories made writable or traversable for that user, or read-only. */
const modes: [string, number][] = [];
function setMode(path: string, mode: number): void {
  modes.push([path, statSync(path).mode & 0o7777]);
  chmodSync(path, mode);
}
/** Lets that user through every directory above PATH (a clone in a `mktemp -d` directory is 0700). */
function letThrough(path: string): void {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode & 0o7777;
    if ((mode & 0o001) === 0) setMode(dir, mode | 0o001);
    if (dirname(dir) === dir) return;
  }
}
afterEach(() => {
  for (const [path, mode] of modes.splice(0).reverse()) chmodSync(path, mode);
});

describe('assetbridge status, on a store in a directory this user cannot write', () => {
  it('reports (as of the store, read from a copy no one writes), and leaves no copy behind', async () => {
    // Was: "error: cannot open the store …: attempt to write a readonly database" (exit 1).
    const cfg = writeConfig((dir) => ({ store: { path: join(dir, 'store', 'ab.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] }));
    const storeDir = join(cfg.dir, 'store');
    mkdirSync(storeDir);
    const seed = new SqliteStore({ path: join(storeDir, 'ab.db'), commitInWorker: false });
    await seed.commitIngest({
      states: [],
      quarantine: [],
      accepted: 3,
      deliveries: [{ destination: 'erp', operation: 'workorder.create', kind: 'fact', businessKey: 'EQ-1|hot|1', erpAssetId: 'EQ-1', eventTime: Date.now(), payload: { title: 'hot' } }],
    });
    await seed.close(); // no process has it open: no -wal, no -shm beside it
    expect(existsSync(join(storeDir, 'ab.db-shm'))).toBe(false);
    // That user reads the config and the store, and has a temp directory of its own.
    setMode(tmpdir(), statSync(tmpdir()).mode | 0o011);
    if (asOther) letThrough(CLI);
    setMode(cfg.dir, 0o755);
    const tmp = join(cfg.dir, 'tmp');
    mkdirSync(tmp);
    setMode(tmp, 0o777);
    setMode(storeDir, 0o555);
    const r = await runCliUnprivileged(['status', '-c', cfg.path], { TMPDIR: tmp });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('service: not running');
    expect(r.stdout).toContain('messages accepted: 3');
    expect(r.stdout).toMatch(/^erp +1 +0 /m);
    expect(readdirSync(storeDir)).toEqual(['ab.db']);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
