/**
 * An `--out` file that cannot be written is a usage error naming `--out` and why (exit 2), as the
 * README says for every command with `--out`, not a bare ENOENT (exit 1).
 */
import { spawn } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, runCli, writeConfig } from '../../../test/helpers/cli.js';
import { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';

describe('--out into a directory that does not exist', () => {
  it('maintenance status and depreciation preview name --out and exit 2', async () => {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'data', 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      rules: { maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }], feedback: { pollEvery: 0 } }, depreciation: {} },
      server: { port: 0 },
    }));
    mkdirSync(join(cfg.dir, 'data'));
    await new SqliteStore({ path: join(cfg.dir, 'data', 'ab.db'), commitInWorker: false }).close();
    const out = join(cfg.dir, 'no-such-dir', 'x.csv');
    for (const args of [
      ['maintenance', 'status', '--csv'],
      ['depreciation', 'preview', '--period', '2026-10', '--csv'],
    ]) {
      const r = await runCli([...args, '--out', out, '-c', cfg.path]);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
      expect(r.stderr).toBe(`error: --out ${out}: cannot write the file (its directory does not exist); give a path in an existing directory you can write to\n`);
      expect(existsSync(out)).toBe(false);
    }
  });
});

describe('--out naming the store', () => {
  it('is refused (exit 2) and the store is left as it was, not replaced by the report', async () => {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      rules: { maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }], feedback: { pollEvery: 0 } } },
      server: { port: 0 },
    }));
    const store = join(cfg.dir, 'ab.db');
    await new SqliteStore({ path: store, commitInWorker: false }).close();
    const before = readFileSync(store);
    const r = await runCli(['maintenance', 'status', '--csv', '--out', store, '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: --out ${store} is the store itself (store.path): give another path\n`);
    expect(readFileSync(store).equals(before)).toBe(true);
  });
});

// Was: renamed over, a report with another hard link had the new text under the name given and
// the old one under the other name, silently.
describe.skipIf(process.platform === 'win32')('--out (and assets export FILE) naming a file with other hard links', () => {
  it('is refused (exit 2) saying what to do, every link left as it was', async () => {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      rules: { maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }], feedback: { pollEvery: 0 } } },
      server: { port: 0 },
    }));
    await new SqliteStore({ path: join(cfg.dir, 'ab.db'), commitInWorker: false }).close();
    const report = join(cfg.dir, 'report.csv');
    writeFileSync(report, 'old\n');
    linkSync(report, join(cfg.dir, 'shared.csv'));
    for (const [args, prefix] of [
      [['maintenance', 'status', '--csv', '--out', report], `error: --out ${report}`],
      [['assets', 'export', report, '--force'], `error: ${report}`],
    ] as const) {
      const r = await runCli([...args, '-c', cfg.path]);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
      expect(r.stderr.startsWith(`${prefix} has 2 hard links (other names for the same file)`), r.stderr).toBe(true);
      expect(r.stderr).toMatch(/so it is left as it was; give a path of its own, or remove the other links first/);
      expect([readFileSync(report, 'utf8'), readFileSync(join(cfg.dir, 'shared.csv'), 'utf8')]).toEqual(['old\n', 'old\n']);
    }
  });
});

/**
 * `assetbridge ARGS` under a file size limit (bash's `ulimit -f`, KiB): a write past it fails
 * (EFBIG; Node ignores SIGXFSZ), as a full disk would midway through a report. The limit is above
 * the 32 KiB the store's shared-memory file takes.
 */
function runCliLimited(args: readonly string[], limitKiB: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, reject) => {
    const child = spawn('bash', ['-c', `ulimit -f ${limitKiB} && exec "$0" "$@"`, process.execPath, CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => done({ code, stderr }));
  });
}

describe.skipIf(process.platform === 'win32')('--out cut short midway', () => {
  it('leaves the previous report as it was (no truncated file) and no temporary file beside it', async () => {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      rules: { depreciation: {} },
      server: { port: 0 },
    }));
    // Enough assets that the report is well past the limit.
    const rows = Array.from({ length: 900 }, (_, i) => `tag-${i},tag,EQUIPMENT-${String(i).padStart(4, '0')},fixed-assets,,120000,20000,10000,60`);
    const csv = join(cfg.dir, 'fleet.csv');
    writeFileSync(csv, ['identifier,id_type,erp_asset_id,erp_module,destination,cost,salvage,expectedUnits,usefulLifeMonths', ...rows].join('\n') + '\n');
    expect((await runCli(['assets', 'import', csv, '-c', cfg.path])).code).toBe(0);
    const out = join(cfg.dir, 'reports', 'preview.csv');
    mkdirSync(join(cfg.dir, 'reports'));
    const full = await runCli(['depreciation', 'preview', '--period', '2026-10', '--out', out, '-c', cfg.path]);
    expect(full.code).toBe(0);
    const report = readFileSync(out);
    expect(report.length).toBeGreaterThan(64 * 1024);
    const previous = 'erpAssetId,period\nEQ-PREVIOUS,2026-09\n';
    writeFileSync(out, previous);
    const cut = await runCliLimited(['depreciation', 'preview', '--period', '2026-10', '--out', out, '-c', cfg.path], 48);
    expect(cut.code).toBe(2);
    expect(readFileSync(out, 'utf8')).toBe(previous);
    expect(cut.stderr).toBe(`error: --out ${out}: cannot write the file (EFBIG: file too large, write); the file there is left as it was; free space on its disk (or raise the file size limit), or give a path on another disk\n`);
    expect(readdirSync(join(cfg.dir, 'reports'))).toEqual(['preview.csv']);
    // assets export FILE --force: the same.
    const exported = join(cfg.dir, 'reports', 'assets.csv');
    writeFileSync(exported, previous);
    const cutExport = await runCliLimited(['assets', 'export', exported, '--force', '-c', cfg.path], 48);
    expect([cutExport.code, cutExport.stderr]).toEqual([2, expect.stringContaining('EFBIG')]);
    expect(readFileSync(exported, 'utf8')).toBe(previous);
    expect(readdirSync(join(cfg.dir, 'reports')).sort()).toEqual(['assets.csv', 'preview.csv']);
  });
});
