/**
 * `rules test` lists at the end the threshold rules whose sensor no event carried (not tried at all,
 * unlike a threshold never crossed), with the sensor name carried a misspelled one likely meant.
 */
import { describe, expect, it } from 'vitest';
import { rulesSchema } from '../../config/rules-schema.js';
import { createRules } from '../../core/rules/index.js';
import { unseenThresholdSensors } from '../../core/rules/maintenance/unseen-sensors.js';
import { createMeterSyncRule } from '../../core/rules/meter-sync.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { jsonlReportWriter, formatSummary, runRulesTest } from './rules-test.js';
import { thresholdSensorsOf } from './rules.js';

const config = rulesSchema.parse({
  allowedLateness: 0,
  location: { minDistanceM: 100 },
  maintenance: {
    thresholds: [
      { name: 'coolant-hot', sensor: 'coolantTmp', above: 95, cooldown: '0s' },
      { name: 'coolant-warm', sensor: 'coolantTemp', above: 90, cooldown: '0s' },
      { name: 'oil-low', sensor: 'oilPressure', below: 10, cooldown: '0s' },
      { name: 'rpm-high', sensor: 'RPM', above: 3000, cooldown: '0s' },
    ],
  },
});
const assets: AssetWithIdentifiers[] = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }];
const sensor = (minute: number, values: Record<string, number>, tag = 'tag-1') =>
  JSON.stringify({ kind: 'sensor', assetId: tag, eventTime: new Date(Date.UTC(2026, 9, 1, 8, minute)).toISOString(), values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])) });
const position = (minute: number) => JSON.stringify({ kind: 'position', assetId: 'tag-1', eventTime: new Date(Date.UTC(2026, 9, 1, 8, minute)).toISOString(), lat: 52, lng: 4 });

const run = (lines: string[]) =>
  runRulesTest({ lines, rules: [...createRules(config), createMeterSyncRule()], thresholdSensors: thresholdSensorsOf(config), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });

describe('rules test: threshold rules whose sensor no event carried', () => {
  it('lists them per rule at the end, with the carried name a misspelling likely meant, in the text and the JSON', async () => {
    // rpm is carried only by a line rejected (unknown asset): the name is in the input, so not listed.
    const report = await run([sensor(0, { coolantTemp: 97, engineRpm: 1200 }), sensor(1, { rpm: 900 }, 'tag-404')]);
    expect(report.unseenSensors).toEqual({
      sensorsCarried: 3,
      rules: [
        { rule: 'coolant-hot', sensor: 'coolantTmp', didYouMean: 'coolantTemp' },
        { rule: 'oil-low', sensor: 'oilPressure' },
        { rule: 'rpm-high', sensor: 'RPM', didYouMean: 'rpm' },
      ],
    });
    expect(formatSummary(report)).toContain(
      'not tried: threshold rule(s) whose sensor no event of the input carried (it carried 3 other sensor name(s)); a misspelled sensor name, or a source mapping that does not map the sensor:\n' +
        '  coolant-hot: coolantTmp (did you mean coolantTemp?)\n  oil-low: oilPressure\n  rpm-high: RPM (did you mean rpm?)\nnothing was stored or sent',
    );
    let jsonl = '';
    jsonlReportWriter((t) => (jsonl += t)).end(report);
    expect(JSON.parse(jsonl.trim().split('\n').at(-1) ?? '{}').unseenSensors.rules[0]).toEqual({ rule: 'coolant-hot', sensor: 'coolantTmp', didYouMean: 'coolantTemp' });
  });

  it('says so in one line when no event carried a sensor reading, and nothing when every sensor was carried', async () => {
    const none = await run([position(0)]);
    expect(none.unseenSensors?.sensorsCarried).toBe(0);
    expect(formatSummary(none)).toContain('no event of the input carried a sensor reading: threshold rule(s) coolant-hot, coolant-warm, oil-low, rpm-high not tried\n');
    const all = await run([sensor(0, { coolantTmp: 1, coolantTemp: 1, oilPressure: 20, RPM: 800 })]);
    expect(all.unseenSensors).toBeUndefined();
    expect(formatSummary(all)).not.toContain('not tried');
  });

  it('names a carried sensor as meant only when it is a slip away', () => {
    const carried = new Set(['coolantTemp', 'fuelLevel']);
    expect(unseenThresholdSensors([{ rule: 'a', sensor: 'COOLANTTEMP' }, { rule: 'b', sensor: 'oilPressure' }, { rule: 'c', sensor: 'fuelLevl' }, { rule: 'd', sensor: 'fuel' }], carried)).toEqual([
      { rule: 'a', sensor: 'COOLANTTEMP', didYouMean: 'coolantTemp' },
      { rule: 'b', sensor: 'oilPressure' },
      { rule: 'c', sensor: 'fuelLevl', didYouMean: 'fuelLevel' },
      { rule: 'd', sensor: 'fuel' },
    ]);
  });
});
