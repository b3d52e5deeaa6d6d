/**
 * `config check` and the service's start say the checks of one entry (a threshold rule's clear
 * condition against its trigger) beside a refused value of the same entry, in one run: they were
 * said only once every value of the entry passed, so a config was fixed in rounds.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';

describe('config check and the start, on a rule with a refused value and an inconsistent clear condition', () => {
  const config = () =>
    writeConfig({
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 't0k3n' }],
      rules: { maintenance: { thresholds: [{ name: 'hot', sensor: 'engineTemp', above: 95, clearBelow: 100, for: '5min' }] } },
    });

  it('names both problems, each under its key and line, in one run of each', async () => {
    const cfg = config();
    for (const args of [['config', 'check', '-c', cfg.path], ['run', '-c', cfg.path]]) {
      const r = await runCli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('  - ')).map((l) => l.replace(/ \(line \d+\):/, ':'));
      expect(lines).toEqual([
        '  - rules.maintenance.thresholds.0.for: "5min" is not a duration; write 5m (units: ms, s, m, h, d)',
        '  - rules.maintenance.thresholds.0.clearBelow: clearBelow (100) must not be above the trigger (95)',
      ]);
    }
  });
});

describe('config check, on zone names differing only in case beside another problem', () => {
  it('names each pair, with where both are, beside the refused value, in one run', async () => {
    const circle = { lat: 52.5, lng: 13.4, radiusM: 50 };
    let file = '';
    const config = (forValue: string) => writeConfig((dir) => {
      file = join(dir, 'walks.geojson');
      writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'YARD-WALK', locationCode: 'W2', radiusM: 50 }, geometry: { type: 'Point', coordinates: [13.4, 52.5] } }] }));
      return {
        destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 't0k3n' }],
        rules: {
          zones: { files: [file], inline: [{ name: 'yard-walk', locationCode: 'W', circle }, { name: 'gate', locationCode: 'G', circle }, { name: 'Gate', locationCode: 'G', circle }] },
          maintenance: { thresholds: [{ name: 'hot', sensor: 'engineTemp', above: 95, for: forValue }] },
        },
      };
    });
    const check = async (forValue: string) => {
      const r = await runCli(['config', 'check', '-c', config(forValue).path]);
      expect(r.code).toBe(2);
      return r.stderr.split('\n').filter((l) => l.startsWith('  - ')).map((l) => l.replace(/ \(line \d+\):/, ':')).sort();
    };
    const why = "names must differ in more than case across files and inline (ERP users, 'zones locate' and a sighting naming its zone could not tell them apart): rename one (zones may share a location code)";
    // The zones file of the config last written.
    const zones = () => [
      `  - rules.zones.inline.2.name: zone "Gate" in rules.zones.inline.2 differs only in case from zone "gate" in rules.zones.inline.1; ${why}`,
      `  - rules.zones.files.0: zone "YARD-WALK" in rules.zones.files.0 (${file}) differs only in case from zone "yard-walk" in rules.zones.inline.0; ${why}`,
    ];
    expect(await check('5min')).toEqual(['  - rules.maintenance.thresholds.0.for: "5min" is not a duration; write 5m (units: ms, s, m, h, d)', ...zones()].sort());
    // With the duration fixed, the same two, once each.
    expect(await check('5m')).toEqual(zones().sort());
  });
});
