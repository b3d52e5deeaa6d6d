/**
 * `rules test --compare` does not pass a rule added or removed that delivered nothing on the input
 * for "no difference": it names the rule as only one config's, and says when its sensor was not even
 * in the input (a misspelling the comparison would otherwise hide).
 */
import { describe, expect, it } from 'vitest';
import { rulesSchema } from '../../config/rules-schema.js';
import { createRules } from '../../core/rules/index.js';
import { createMeterSyncRule } from '../../core/rules/meter-sync.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { changedRulesSections, deliveringRulesOf, thresholdSensorsOf } from './rules.js';
import { formatComparison, runRulesTest, sameOutcome } from './rules-test.js';

const thresholds = [
  { name: 'coolant-hot', sensor: 'coolantTemp', above: 95, cooldown: '0s' },
  { name: 'oil-low', sensor: 'oilPressure', below: 10, cooldown: '0s' },
];
const current = rulesSchema.parse({ allowedLateness: 0, location: { minDistanceM: 100 }, maintenance: { thresholds } });
// Adds a threshold that never fires on the input (its sensor misspelled), and leaves oil-low out, which never fired either.
const proposed = rulesSchema.parse({
  allowedLateness: 0,
  location: { minDistanceM: 100 },
  maintenance: { thresholds: [thresholds[0], { name: 'coolant-very-hot', sensor: 'coolantTmp', above: 110, cooldown: '0s' }] },
});
const assets: AssetWithIdentifiers[] = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }];
const sensor = (minute: number, values: Record<string, number>) =>
  JSON.stringify({ kind: 'sensor', assetId: 'tag-1', eventTime: new Date(Date.UTC(2026, 9, 1, 8, minute)).toISOString(), values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])) });

/** Both configs' rules over `lines`, as `rules test --compare` runs them (rules.ts). */
const compareOn = (a: ReturnType<typeof rulesSchema.parse>, b: ReturnType<typeof rulesSchema.parse>, lines: string[]) =>
  runRulesTest({
    lines,
    rules: [...createRules(a), createMeterSyncRule()],
    deliveringRules: deliveringRulesOf(a),
    thresholdSensors: thresholdSensorsOf(a),
    compare: [...createRules(b), createMeterSyncRule()],
    compareDeliveringRules: deliveringRulesOf(b),
    compareThresholdSensors: thresholdSensorsOf(b),
    changedSections: changedRulesSections(a, b),
    assets,
    defaultDestination: 'erp',
    states: new Map(),
    now: Date.parse('2026-10-02T00:00:00Z'),
  });
const compare = () => compareOn(current, proposed, [sensor(0, { coolantTemp: 97, oilPressure: 20 }), sensor(1, { coolantTemp: 80, oilPressure: 20 })]);

/** The comparison's text (current.yaml against proposed.yaml) names the difference in `section` and closes with `closing`, never a bare "no difference". */
function expectDifferenceNamed(report: Awaited<ReturnType<typeof runRulesTest>>, section: string, closing: string): void {
  const text = formatComparison(report, { current: 'current.yaml', proposed: 'proposed.yaml' });
  expect(text).toContain(section);
  expect(text).toContain(closing);
  expect(text).not.toContain('no difference: ');
}

describe('rules test --compare: a rule only one config has, with no deliveries', () => {
  it('names the rules added and removed that delivered nothing, instead of a bare "no difference"', async () => {
    const report = await compare();
    // The deliveries are the same (one coolant-hot work order under both).
    expect(sameOutcome(report)).toBe(true);
    expect(report.compareUnseenSensors).toEqual({ sensorsCarried: 2, rules: [{ rule: 'coolant-very-hot', sensor: 'coolantTmp', didYouMean: 'coolantTemp' }] });
    expectDifferenceNamed(
      report,
      'rules only one config has, with no deliveries on this input (2):\n' +
        '  oil-low (threshold): only in current.yaml (removed)\n' +
        '  coolant-very-hot (threshold): only in proposed.yaml (added); no event of the input carried its sensor coolantTmp (did you mean coolantTemp?)\n',
      'no difference in deliveries: both would deliver the same (1 fact(s) alike); but the configs differ in 2 rule(s) only one of them has, which delivered nothing on this input (above)\n',
    );
  });

  it('says a bare "no difference" when both configs have the same rules', async () => {
    const report = await compareOn(current, current, [sensor(0, { coolantTemp: 97 })]);
    const text = formatComparison(report, { current: 'a.yaml', proposed: 'b.yaml' });
    expect(text).toContain('no difference: both would deliver the same (1 fact(s) alike)\n');
    expect(text).not.toContain('rules only one config has');
  });
});

describe('rules test --compare: a rule both configs have, with other settings', () => {
  const settingsOf = (above: number, everyHours: number, cooldown: string) =>
    rulesSchema.parse({
      allowedLateness: 0,
      location: { minDistanceM: 100 },
      maintenance: { thresholds: [{ name: 'coolant-hot', sensor: 'coolantTemp', above, cooldown }], serviceIntervals: [{ name: 'svc-250h', everyHours }] },
    });
  // Below either threshold, no meter reading: neither rule delivers under either config.
  const run = (a: ReturnType<typeof settingsOf>, b: ReturnType<typeof settingsOf>) => compareOn(a, b, [sensor(0, { coolantTemp: 80 })]);

  it('names the rules and their changed keys, old → new, though neither delivered anything', async () => {
    const report = await run(settingsOf(95, 250, '1h'), settingsOf(97, 500, '2h'));
    expect(sameOutcome(report)).toBe(true); // --exit-code stays about deliveries
    expect(report.comparison?.changedRules).toEqual([
      {
        rule: 'coolant-hot',
        type: 'threshold',
        settings: [
          { key: 'above', current: 95, proposed: 97 },
          { key: 'clearBelow', current: 95, proposed: 97 },
          { key: 'cooldown', current: '1 h', proposed: '2 h' },
        ],
      },
      { rule: 'svc-250h', type: 'service interval', settings: [{ key: 'everyHours', current: 250, proposed: 500 }] },
    ]);
    expectDifferenceNamed(
      report,
      'rules both configs have, with other settings (2):\n' +
        '  coolant-hot (threshold): above 95 → 97; clearBelow 95 → 97; cooldown "1 h" → "2 h"\n' +
        '  svc-250h (service interval): everyHours 250 → 500\n',
      'no difference in deliveries: both would deliver the same (0 fact(s) alike); but the configs differ in the settings of 2 rule(s) both have (above)\n',
    );
  });

  it('names the sections outside the rules whose settings differ (zones, inventory, depreciation, …)', async () => {
    const zones = (radiusM: number) => ({ inline: [{ name: 'YARD', locationCode: '1000/0001', circle: { lat: 52.5, lng: 13.4, radiusM } }] });
    const a = rulesSchema.parse({ allowedLateness: 0, location: { enabled: false }, zones: zones(200), inventory: { skuAttribute: 'sku' } });
    const b = rulesSchema.parse({ allowedLateness: 0, location: { enabled: false, minDistanceM: 50 }, zones: zones(300), inventory: { skuAttribute: 'sku', freshness: '2h' }, maintenance: { siteAttribute: 'plant' } });
    expect(changedRulesSections(a, b)).toEqual(['rules.location', 'rules.zones', 'rules.maintenance.siteAttribute', 'rules.inventory']);
    expect(changedRulesSections(a, a)).toEqual([]);
    const report = await compareOn(a, b, [sensor(0, { coolantTemp: 80 })]);
    expect(report.comparison?.changedSections).toEqual(['rules.location', 'rules.zones', 'rules.maintenance.siteAttribute', 'rules.inventory']);
    const text = formatComparison(report, { current: 'a.yaml', proposed: 'b.yaml' });
    expect(text).toContain('other rules settings that differ (4):\n  rules.location differs\n  rules.zones differ\n  rules.maintenance.siteAttribute differs\n  rules.inventory differs\n');
    expect(text).toContain('; but the configs differ in rules.location, rules.zones, rules.maintenance.siteAttribute, rules.inventory (above)\n');
  });
});
