/**
 * `assetbridge assets reset-meter` with no service running: a replaced meter declared by hand goes
 * through the pipeline, so the new meter's readings are counted and sent instead of set aside.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import type { MeterRow } from '../../src/cli/commands/meters.js';
import { runCli, writeConfig } from '../helpers/cli.js';

describe('assets reset-meter', () => {
  it('declares a replaced odometer (sent as its first reading, nothing set aside), and refuses what it cannot read', async () => {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { inline: [{ erpAssetId: 'TRUCK-7', identifiers: [{ type: 'tag', value: 'tag-7' }] }] },
      sources: { http: { token: 'intake-token-123' } },
      server: { port: 0 },
    }));
    const dbPath = join(cfg.dir, 'ab.db');
    const store = new SqliteStore({ path: dbPath });
    await store.upsertAssets([{ asset: { erpAssetId: 'TRUCK-7', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-7', erpAssetId: 'TRUCK-7' }] }]);
    await store.close();
    const replaced = new Date(Date.now() - 5 * 3_600_000).toISOString();

    const r = await runCli(['assets', 'reset-meter', 'TRUCK-7', '--km', '12', '--at', replaced, '-c', cfg.path]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`recorded a new odometer at 12 km for TRUCK-7 from ${replaced}`);
    const meters = JSON.parse((await runCli(['assets', 'meters', '--json', '-c', cfg.path])).stdout) as MeterRow[];
    expect(meters[0]?.odometer).toMatchObject({ value: 12 });
    expect(meters[0]?.setAside).toEqual({});

    // Run again (now, 5 h later): the km read in between would count on both odometers.
    const twice = await runCli(['assets', 'reset-meter', 'TRUCK-7', '--km', '12', '-c', cfg.path]);
    expect({ code: twice.code, stderr: twice.stderr }).toEqual({ code: 2, stderr: expect.stringContaining(`a replaced odometer of TRUCK-7 was already declared at ${replaced}`) as unknown });
    expect(twice.stderr).toContain('add --again');
    // Another meter's replacement is not a repeat, and --again declares a second replacement.
    expect((await runCli(['assets', 'reset-meter', 'TRUCK-7', '--hours', '0', '-c', cfg.path])).code).toBe(0);
    const again = await runCli(['assets', 'reset-meter', 'TRUCK-7', '--km', '3', '--again', '-c', cfg.path]);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: '' });
    expect((JSON.parse((await runCli(['assets', 'meters', '--json', '-c', cfg.path])).stdout) as MeterRow[])[0]?.odometer).toMatchObject({ value: 3 });

    for (const [args, message] of [
      [['TRUCK-7'], 'give the new meter'],
      [['TRUCK-7', '--hours', '1', '--km', '2'], 'one of them'],
      [['TRUCK-7', '--km', 'x'], 'is not a reading'],
      [['TRUCK-7', '--km', '1', '--at', 'yesterday'], 'is not a date and time with a zone'],
      [['TRUCK-7', '--km', '1', '--at', '2099-01-01T00:00:00Z'], 'is in the future'],
    ] as const) {
      const bad = await runCli(['assets', 'reset-meter', ...args, '-c', cfg.path]);
      expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 2, stderr: expect.stringContaining(message) as unknown });
    }
    // An asset that is not there: a failure (1), as every name that names nothing is.
    const unknown = await runCli(['assets', 'reset-meter', 'NOPE', '--km', '1', '-c', cfg.path]);
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({ code: 1, stderr: expect.stringContaining('no asset "NOPE" in the registry') as unknown });
  });
});
