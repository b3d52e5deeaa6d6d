/**
 * An `--out` file that cannot be written is a usage error naming `--out` and why (exit 2), as the
 * README says for every command with `--out`, not a bare ENOENT (exit 1).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
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
