/**
 * `config check` on a service or calendar interval without `appliesTo` beside inventory: it
 * applied to the tagged pallets too (which send sightings, no meter), so `maintenance status`
 * listed each pallet with "no readings" for a service interval, a calendar interval opened a work
 * order for each pallet every N days, and the check said nothing. It warns now, naming the
 * interval's appliesTo key and its line, with a filter that leaves the pallets out.
 */
import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';

describe('config check, an interval without appliesTo with inventory items listed', () => {
  const config = () =>
    writeConfig({
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 't0k3n' }],
      assets: {
        inline: [
          { erpAssetId: 'EX-1', erpModule: 'maintenance', identifiers: [{ type: 'tracker', value: 'trk-1' }] },
          { erpAssetId: 'PAL-7', erpModule: 'inventory', identifiers: [{ type: 'tag', value: 'epc-7' }], attributes: { sku: 'S-1' } },
        ],
      },
      rules: {
        inventory: {},
        maintenance: { serviceIntervals: [{ name: 'ex-500h', everyHours: 500, appliesTo: { erpModules: ['maintenance'] } }, { name: 'svc-250h', everyHours: 250 }] },
      },
    });

  it('warns under the interval\'s appliesTo key and line, in text and JSON', async () => {
    const cfg = config();
    const text = await runCli(['config', 'check', '-c', cfg.path]);
    expect(text.code).toBe(0);
    const warnings = text.stdout.split('\n').filter((l) => l.startsWith('warning: rules.maintenance.'));
    expect(warnings).toEqual([
      expect.stringMatching(
        /^warning: rules\.maintenance\.serviceIntervals\.1\.appliesTo \(line \d+\): service interval svc-250h has no appliesTo, so it applies to every asset, 1 of the 2 asset\(s\) listed in the config being inventory items \(attribute sku, counted by rules\.inventory\): PAL-7; .* e\.g\. appliesTo: \{ erpModules: \[maintenance\] \}$/,
      ),
    ]);
    const json = await runCli(['config', 'check', '-c', cfg.path, '--json']);
    const doc = JSON.parse(json.stdout) as { warnings: { key: string; line?: number }[] };
    expect(doc.warnings.filter((w) => w.key.startsWith('rules.maintenance.')).map((w) => [w.key, typeof w.line])).toEqual([['rules.maintenance.serviceIntervals.1.appliesTo', 'number']]);
  });

  // A calendar interval without appliesTo is worse: its date side opened a real work order for each
  // pallet every N days (counted from the first check), and the check said nothing of it.
  it('warns of a calendar interval without appliesTo that it will open work orders for the items, under its appliesTo key and line', async () => {
    const cfg = writeConfig({
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 't0k3n' }],
      assets: {
        inline: [
          { erpAssetId: 'EX-1', erpModule: 'maintenance', identifiers: [{ type: 'tracker', value: 'trk-1' }] },
          { erpAssetId: 'PAL-7', erpModule: 'inventory', identifiers: [{ type: 'tag', value: 'epc-7' }], attributes: { sku: 'S-1' } },
        ],
      },
      rules: { inventory: {}, maintenance: { calendarIntervals: [{ name: 'pm-250h-6m', everyDays: 182, everyHours: 250 }] } },
    });
    const text = await runCli(['config', 'check', '-c', cfg.path]);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n').filter((l) => l.startsWith('warning: rules.maintenance.'))).toEqual([
      expect.stringMatching(
        /^warning: rules\.maintenance\.calendarIntervals\.0\.appliesTo \(line \d+\): calendar interval pm-250h-6m has no appliesTo, so it applies to every asset, 1 of the 2 asset\(s\) listed in the config being inventory items \(attribute sku, counted by rules\.inventory\): PAL-7; it counts days whether an asset reports or not, so it will open a work order for each of them every 182 days, .* e\.g\. appliesTo: \{ erpModules: \[maintenance\] \};/,
      ),
    ]);
  });
});
