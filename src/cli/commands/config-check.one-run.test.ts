/**
 * `config check` and the service's start say the checks of one entry (a threshold rule's clear
 * condition against its trigger) beside a refused value of the same entry, in one run: they were
 * said only once every value of the entry passed, so a config was fixed in rounds.
 */
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
