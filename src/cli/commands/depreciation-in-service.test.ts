/**
 * The in-service date (`rules.depreciation.attributes.inServiceDate`): `config check` names an
 * invalid one by its key, and `depreciation preview` charges straight line only from the period
 * holding it, for the useful life.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';

describe('in-service date', () => {
  it('config check names an invalid one by its key; preview charges straight line from its period for the useful life', async () => {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }], attributes: { cost: '1000', inServiceDate: '15.03.2026' } }] },
      rules: { depreciation: { timeZone: 'Europe/Berlin', attributes: { inServiceDate: 'inService' } } },
      server: { port: 0 },
    }));
    const check = await runCli(['config', 'check', '-c', cfg.path]);
    expect(check.code).toBe(0);
    // The attribute the config names is the one read: `inServiceDate` is only another attribute here.
    expect(check.stdout).not.toContain('inServiceDate');
    const fixed = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }], attributes: { cost: '1000', inServiceDate: '15.03.2026' } }] },
      rules: { depreciation: { timeZone: 'Europe/Berlin' } },
      server: { port: 0 },
    }));
    const named = await runCli(['config', 'check', '-c', fixed.path]);
    expect(named.code).toBe(0);
    expect(named.stdout.split('\n').filter((l) => l.startsWith('warning: assets.')).map((l) => l.replace(/ \(line \d+\):/, ':'))).toEqual([
      'warning: assets.inline.0.attributes.inServiceDate: asset EQ-1: attribute "inServiceDate" ("15.03.2026") is not a day: write the first day the asset was in service as YYYY-MM-DD (e.g. 2026-03-15), or leave it empty',
    ]);

    const csv = join(fixed.dir, 'fleet.csv');
    writeFileSync(csv, 'identifier,id_type,erp_asset_id,erp_module,cost,salvage,usefulLifeMonths,inServiceDate\ntag-2,tag,EQ-2,fixed-assets,1300,100,3,2026-04-01\n');
    expect((await runCli(['assets', 'import', csv, '-c', fixed.path])).code).toBe(0);
    const straightLine = async (period: string) => {
      const r = await runCli(['depreciation', 'preview', '--period', period, '--asset', 'EQ-2', '--json', '-c', fixed.path]);
      expect(r.code).toBe(0);
      return (JSON.parse(r.stdout) as { straightLine: number | null }[])[0]?.straightLine;
    };
    // 2026-04-01 in Berlin begins on 2026-03-31 at 22:00 UTC: April is the first period, not March.
    expect([await straightLine('2026-03'), await straightLine('2026-04'), await straightLine('2026-06'), await straightLine('2026-07')]).toEqual([0, 400, 400, 0]);
  });
});
