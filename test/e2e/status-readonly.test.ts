/**
 * `assetbridge status` by a user who may read the store but not write its directory (another
 * user's service, a read-only volume): SQLite creates a -shm file beside a store in WAL mode even
 * to read it, which fails there.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SQLITE_MIGRATIONS } from '../../src/adapters/store/sqlite/sqlite-migrations.js';
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

/** That user reads the config and the store (beside the config), and has a temp directory of its own: returned. */
function openToOtherUser(cfgDir: string): string {
  setMode(tmpdir(), statSync(tmpdir()).mode | 0o011);
  if (asOther) letThrough(CLI);
  setMode(cfgDir, 0o755);
  const tmp = join(cfgDir, 'tmp');
  mkdirSync(tmp);
  setMode(tmp, 0o777);
  return tmp;
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
    const tmp = openToOtherUser(cfg.dir);
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

describe('a store an older assetbridge wrote, in a directory this user cannot write', () => {
  it('status names store.path (not the copy it read), and store backup copies the store as it is', async () => {
    // Was: status named the temp copy ("the store /tmp/assetbridge-read-…/ab.db (store.path) is at
    // schema version …"), and store backup failed with "cannot write the backup …: attempt to write
    // a readonly database", blaming FILE's directory.
    const cfg = writeConfig((dir) => ({ store: { path: join(dir, 'store', 'ab.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] }));
    const storeDir = join(cfg.dir, 'store');
    mkdirSync(storeDir);
    const file = join(storeDir, 'ab.db');
    const newest = Math.max(...SQLITE_MIGRATIONS.map((m) => m.version));
    const raw = new Database(file);
    raw.pragma('journal_mode = WAL');
    raw.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    for (const m of SQLITE_MIGRATIONS.filter((x) => x.version < newest)) {
      raw.exec(m.sql);
      raw.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, 0);
    }
    raw.prepare(`INSERT INTO counters (name, value) VALUES ('events_accepted', 7)`).run();
    raw.close(); // no process has it open: no -wal, no -shm beside it
    expect(readdirSync(storeDir)).toEqual(['ab.db']);
    const tmp = openToOtherUser(cfg.dir);
    const out = join(cfg.dir, 'out');
    mkdirSync(out);
    setMode(out, 0o777);
    setMode(storeDir, 0o555);

    const status = await runCliUnprivileged(['status', '-c', cfg.path], { TMPDIR: tmp });
    expect(status.code).toBe(1);
    expect(status.stderr).toContain(`the store ${file} (store.path) is at schema version ${newest - 1}, and this assetbridge expects version ${newest}`);
    expect(status.stderr).not.toContain(tmp);

    const copy = join(out, 'copy.db');
    const backup = await runCliUnprivileged(['store', 'backup', copy, '-c', cfg.path], { TMPDIR: tmp });
    expect(backup.stderr).toBe(`the store is at schema version ${newest - 1} (this assetbridge expects version ${newest}): copied as it is, not upgraded\n`);
    expect(backup.code).toBe(0);
    expect(backup.stdout).toContain(`backed up ${file} to ${copy}`);
    const check = new Database(copy, { readonly: true });
    try {
      expect(check.prepare('SELECT max(version) FROM schema_migrations').pluck().get()).toBe(newest - 1);
      expect(check.prepare(`SELECT value FROM counters WHERE name = 'events_accepted'`).pluck().get()).toBe(7);
    } finally {
      check.close();
    }
    expect(readdirSync(storeDir)).toEqual(['ab.db']);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
