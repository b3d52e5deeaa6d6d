/**
 * `assetbridge store backup FILE`: a consistent copy of the store through the CLI, also while
 * another connection is in the middle of a write (a running service), with nothing else to install.
 * `assetbridge store vacuum`: the file shrunk to what it holds, never under a running service.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { runCli, writeConfig } from '../helpers/cli.js';

const destinations = [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }];
const loc = (asset: string) => ({ destination: 'erp', operation: 'location.update', kind: 'state' as const, businessKey: asset, erpAssetId: asset, eventTime: 1, payload: { warehouseLocation: 'Y1' } });

describe('assetbridge store backup', () => {
  it('copies what is committed while another connection is in the middle of a write, and the copy opens as a store', async () => {
    const { path, dir } = writeConfig({ store: { path: 'data/ab.db' }, destinations });
    const store = new SqliteStore({ path: join(dir, 'data', 'ab.db') });
    await store.commitIngest({ states: [], deliveries: [loc('A1')], quarantine: [], accepted: 1 });
    await store.close();
    // A writer holding the write lock with a change not yet committed, as the service's commits do.
    const writer = new Database(join(dir, 'data', 'ab.db'));
    writer.exec('BEGIN IMMEDIATE');
    writer.prepare(`INSERT INTO counters (name, value) VALUES ('uncommitted', 1)`).run();
    const copy = join(dir, 'copy.db');
    try {
      const r = await runCli(['store', 'backup', copy, '-c', path]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`backed up ${join(dir, 'data', 'ab.db')} to ${copy}`);
      expect(r.stdout).toContain('to restore: stop the service');
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
    expect(existsSync(`${copy}.partial`)).toBe(false);
    const restored = new SqliteStore({ path: copy, commitInWorker: false });
    try {
      expect((await restored.listDeliveries({ status: 'pending' })).map((d) => d.businessKey)).toEqual(['A1']);
      expect((await restored.counters()).eventsAccepted).toBe(1);
      expect(restored.db.prepare(`SELECT count(*) FROM counters WHERE name = 'uncommitted'`).pluck().get()).toBe(0);
    } finally {
      await restored.close();
    }
  });

  it('leaves the running service\'s store lease out of the copy: restored beside it, the copy is held by no one', async () => {
    // Was: the copy named the service as its holder, so a restore drill (or a store moved to a new
    // path) beside the running service was "in use by assetbridge run" there for as long as it ran.
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations });
    const file = join(dir, 'ab.db');
    const store = new SqliteStore({ path: file, commitInWorker: false });
    await store.commitIngest({ states: [], deliveries: [loc('A1')], quarantine: [], accepted: 1 });
    // A live service on this host holding it (this test's own process).
    const lease = JSON.stringify({ pid: process.pid, host: hostname(), instance: 'test', command: 'assetbridge run', since: Date.now(), heartbeat: Date.now() });
    await store.kvSet('runtime', 'pipeline-lease', lease);
    await store.close();
    const copies = join(dir, 'drill');
    mkdirSync(copies);
    const copy = join(copies, 'ab.db');
    const r = await runCli(['store', 'backup', copy, '-c', path]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(existsSync(`${copy}.partial`)).toBe(false);
    expect(existsSync(`${copy}.partial-journal`)).toBe(false);

    const drill = writeConfig({ store: { path: copy }, destinations });
    const status = await runCli(['status', '-c', drill.path]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^service: not running$/m);
    const restored = new SqliteStore({ path: copy, commitInWorker: false });
    try {
      expect(await restored.kvGet('runtime', 'pipeline-lease')).toBeUndefined();
      expect((await restored.listDeliveries({ status: 'pending' })).map((d) => d.businessKey)).toEqual(['A1']);
    } finally {
      await restored.close();
    }
    const original = new SqliteStore({ path: file, commitInWorker: false, readOnly: true });
    try {
      expect(await original.kvGet('runtime', 'pipeline-lease')).toBe(lease); // the store itself is left as it is
    } finally {
      await original.close();
    }
  });

  it('replaces an existing FILE only with --force, and never the store itself', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations });
    await new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false }).close();
    const copy = join(dir, 'copy.db');
    writeFileSync(copy, 'last night');
    const refused = await runCli(['store', 'backup', copy, '-c', path]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${copy} exists: give another FILE, or --force to replace it`);
    expect((await runCli(['store', 'backup', copy, '--force', '-c', path])).code).toBe(0);
    const itself = await runCli(['store', 'backup', join(dir, 'ab.db'), '--force', '-c', path]);
    expect(itself.code).toBe(2);
    expect(itself.stderr).toContain('is the store itself (store.path)');
  });

  it('refuses a FILE that is a directory, with or without --force, naming a file path to give instead', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations });
    await new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false }).close();
    const backups = join(dir, 'backups');
    mkdirSync(backups);
    for (const args of [[], ['--force']]) {
      const r = await runCli(['store', 'backup', backups, ...args, '-c', path]);
      expect({ code: r.code, stderr: r.stderr.trim() }).toEqual({ code: 2, stderr: `error: ${backups} is a directory: give FILE as a file path, e.g. ${join(backups, 'assetbridge-backup.db')}` });
    }
    expect(existsSync(`${backups}.partial`)).toBe(false);
  });
  it('shows no progress for a small store whose -wal file is large (a running service\'s): it judges the pages it copies', async () => {
    // Was: the threshold counted the store file and its -wal, so a 0.2 MiB store showed progress
    // lines while a service ran (a WAL of megabytes, which the copy does not read as such).
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations });
    const file = join(dir, 'ab.db');
    const store = new SqliteStore({ path: file, commitInWorker: false });
    // Held open as a running service holds it, its writes left in the WAL (no checkpoint).
    store.db.pragma('wal_autocheckpoint = 0');
    await store.commitIngest({ states: [], deliveries: Array.from({ length: 8000 }, (_, i) => ({ ...loc(`A${i}`), payload: { note: 'x'.repeat(500) } })), quarantine: [], accepted: 8000 });
    store.db.exec('DELETE FROM outbox');
    try {
      expect(statSync(`${file}-wal`).size).toBeGreaterThan(3 * 1_048_576);
      const copy = join(dir, 'copy.db');
      const r = await runCli(['store', 'backup', copy, '-c', path]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain(`backed up ${file} to ${copy} (`);
      expect(statSync(copy).size).toBeLessThan(1_048_576);
    } finally {
      await store.close();
    }
  });

  it('shows the progress of a large store\'s copy on stderr (never stdout), and the copy is a valid store', async () => {
    // Was: a store of 1 MiB or more printed only a note that the copy shows no progress, then nothing until it ended.
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations });
    const file = join(dir, 'ab.db');
    const store = new SqliteStore({ path: file, commitInWorker: false });
    await store.commitIngest({ states: [], deliveries: Array.from({ length: 8000 }, (_, i) => ({ ...loc(`A${i}`), payload: { note: 'x'.repeat(500) } })), quarantine: [], accepted: 8000 });
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    await store.close();
    expect(statSync(file).size).toBeGreaterThan(3 * 1_048_576);
    const copy = join(dir, 'copy.db');
    const r = await runCli(['store', 'backup', copy, '-c', path]);
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n');
    expect(lines.at(-1)).toBe('');
    const progress = lines.slice(0, -1).map((l) => l.match(/^backing up (.*) to (.*): (\d+) % \(([\d.]+) (?:MiB copied, )?of about ([\d.]+) MiB\)$/));
    for (const [i, m] of progress.entries()) {
      expect(m, lines[i]).not.toBeNull();
      expect(m?.slice(1, 3)).toEqual([file, copy]);
    }
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(Number(progress[0]?.[3])).toBe(0);
    const last = progress.at(-1);
    expect(Number(last?.[3])).toBe(100);
    expect(Number(last?.[5])).toBeGreaterThan(3);
    expect(lines.at(-2)).toContain(' MiB copied, of about ');
    // One total throughout, the last line too (was: the estimate, then the copy's size at the end).
    expect(new Set(progress.map((m) => m?.[5])).size).toBe(1);
    expect(r.stdout).toContain(`(${last?.[4]} MiB)`);
    // The percentages only go up.
    const pcts = progress.map((m) => Number(m?.[3]));
    expect(pcts).toEqual([...pcts].sort((a, b) => a - b));
    expect(r.stdout).not.toContain('%');
    expect(r.stdout).toContain(`backed up ${file} to ${copy}`);
    expect(existsSync(`${copy}.partial`)).toBe(false);
    const restored = new SqliteStore({ path: copy, commitInWorker: false, readOnly: true });
    try {
      expect(restored.db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(restored.db.prepare('SELECT count(*) FROM outbox').pluck().get()).toBe(8000);
    } finally {
      await restored.close();
    }
  });
});

describe('assetbridge store vacuum', () => {
  it('gives the pages retention freed back to the disk, and is refused while a service holds the store', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations });
    const file = join(dir, 'ab.db');
    const store = new SqliteStore({ path: file, commitInWorker: false });
    await store.commitIngest({ states: [], deliveries: Array.from({ length: 5000 }, (_, i) => ({ ...loc(`A${i}`), payload: { note: 'x'.repeat(500) } })), quarantine: [], accepted: 1 });
    store.db.exec('DELETE FROM outbox');
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    // A live process holding the lease (this test's own: alive, on this host).
    await store.kvSet('runtime', 'pipeline-lease', JSON.stringify({ pid: process.pid, host: hostname(), instance: 'test', command: 'assetbridge run', since: Date.now(), heartbeat: Date.now() }));
    await store.close();
    const before = statSync(file).size;

    const refused = await runCli(['store', 'vacuum', '-c', path]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`(store.path) is in use by assetbridge run (pid ${process.pid}`);
    expect(refused.stderr).toContain('store vacuum rewrites the whole file');
    expect(statSync(file).size).toBe(before);

    const raw = new Database(file);
    raw.prepare(`DELETE FROM kv WHERE namespace = 'runtime'`).run();
    raw.close();
    // A store of 1 MiB or more shows its progress.
    const mib = Math.round((before / 1_048_576) * 10) / 10;
    expect(mib).toBeGreaterThanOrEqual(1);
    const copy = join(dir, 'big-copy.db');
    const backup = await runCli(['store', 'backup', copy, '-c', path]);
    expect(backup.code).toBe(0);
    // A backup judges what it copies: the pages in use, under 1 MiB here (the deleted rows' are not
    // copied), so a moment's copy shows no progress (was: judged by the file, freed pages and all).
    expect(backup.stderr).toBe('');
    expect(statSync(copy).size).toBeLessThan(1_048_576);
    const r = await runCli(['store', 'vacuum', '-c', path]);
    expect(r.code).toBe(0);
    // Was: one note that SQLite's rewrite shows no progress, then nothing until it ended. Now what
    // can be seen of it (SQLite gives no percentage), on stderr, one line each (not a terminal).
    expect(r.stderr).not.toContain('\r');
    const lines = r.stderr.split('\n');
    expect(lines.at(-1)).toBe('');
    // First, that the store lease (a row of the store the vacuum locks) is renewed ahead, for a bound from the store's size.
    expect(lines.shift()).toBe(
      'the store lease cannot be renewed while the vacuum locks the store: it is held for up to 2 min ahead (should this process be killed, a process on another host can take the store over only after that)',
    );
    const start = /^vacuuming (.*): 0 s; (?:temporary copy [\d.]+ MiB, )?WAL [\d.]+ MiB, of about ([\d.]+) MiB in use \(file ([\d.]+) MiB\)$/.exec(lines[0] ?? '');
    expect(start?.slice(1)).toEqual([file, expect.any(String), String(mib)]);
    expect(Number(start?.[2])).toBeLessThan(mib / 4); // the pages in use: the deleted rows' are free
    const shrunk = statSync(file).size;
    expect(lines.at(-2)?.startsWith(`vacuuming ${file}: done in `)).toBe(true);
    expect(lines.at(-2)).toMatch(new RegExp(`: done in \\d+ s, the file is ${Math.round((shrunk / 1_048_576) * 10) / 10} MiB$`));
    expect(r.stdout).toContain(`vacuumed ${file}: ${mib} MiB → `);
    expect(shrunk).toBeLessThan(before / 4);
    const after = new SqliteStore({ path: file, commitInWorker: false });
    try {
      expect(await after.kvGet('runtime', 'pipeline-lease')).toBeUndefined(); // let go
    } finally {
      await after.close();
    }
  });
});
