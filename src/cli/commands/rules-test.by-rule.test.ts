/**
 * `rules test` counts what it would deliver by rule as well as by operation: a user tuning one
 * threshold among many sees that rule's work orders, and a rule that delivered nothing.
 */
import { describe, expect, it } from 'vitest';
import { rulesSchema } from '../../config/rules-schema.js';
import { createRules, meterSyncOptionsOf } from '../../core/rules/index.js';
import { createMeterSyncRule } from '../../core/rules/meter-sync.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { deliveringRulesOf } from './rules.js';
import { formatComparison, formatSummary, ruleOfDelivery, runRulesTest } from './rules-test.js';

/** The rules with these thresholds beside one service interval, one calendar interval and one alert. */
const withThresholds = (thresholds: unknown[]) =>
  rulesSchema.parse({
    allowedLateness: 0,
    location: { minDistanceM: 100 },
    maintenance: {
      thresholds,
      serviceIntervals: [{ name: 'service-250h', everyHours: 250 }],
      calendarIntervals: [{ name: 'annual', everyDays: 365 }],
      alerts: [{ name: 'fault-codes', minSeverity: 'critical' }],
    },
  });
const config = withThresholds([
  { name: 'coolant-hot', sensor: 'coolantTemp', above: 95, clearBelow: 90, cooldown: '0s', severity: 'critical' },
  { name: 'oil-low', sensor: 'oilPressure', below: 10, clearAbove: 12, cooldown: '0s' },
  { name: 'never-fires', sensor: 'coolantTemp', above: 200, cooldown: '0s' },
]);

const assets: AssetWithIdentifiers[] = ['1', '2'].map((n) => ({
  asset: { erpAssetId: `EQ-${n}`, erpModule: 'maintenance', attributes: { lastServiceHours: '0' } },
  identifiers: [{ type: 'tag', value: `tag-${n}`, erpAssetId: `EQ-${n}` }],
}));

const at = (minute: number) => new Date(Date.UTC(2026, 9, 1, 8, minute)).toISOString();
const sensor = (tag: string, minute: number, values: Record<string, number>) =>
  JSON.stringify({ kind: 'sensor', assetId: tag, eventTime: at(minute), values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])) });
const position = (tag: string, minute: number, lat: number) => JSON.stringify({ kind: 'position', assetId: tag, eventTime: at(minute), lat, lng: 13.4 });
const meter = (tag: string, minute: number, hours: number) => JSON.stringify({ kind: 'meter', assetId: tag, eventTime: at(minute), operatingHours: hours });
const alert = (tag: string, minute: number, code: string) => JSON.stringify({ kind: 'alert', assetId: tag, eventTime: at(minute), severity: 'critical', code, reason: 'fault' });

/** A mixed stream: three hot episodes (one on each asset, then another on EQ-1), one low-oil, a service due, two faults, fixes and meter readings. */
const stream = [
  position('tag-1', 0, 52.5),
  position('tag-1', 1, 52.6), // moved > 100 m
  position('tag-2', 1, 52.5),
  sensor('tag-1', 2, { coolantTemp: 97, oilPressure: 20 }), // coolant-hot #1
  sensor('tag-1', 3, { coolantTemp: 85, oilPressure: 5 }), // cleared; oil-low #1
  sensor('tag-1', 4, { coolantTemp: 98, oilPressure: 15 }), // coolant-hot #2; oil cleared
  sensor('tag-1', 4, { coolantTemp: 98, oilPressure: 15 }), // sent again: no second work order
  sensor('tag-2', 5, { coolantTemp: 99 }), // coolant-hot #3 (EQ-2)
  meter('tag-1', 6, 249.9),
  meter('tag-1', 30, 250.1), // service-250h due
  meter('tag-2', 7, 10),
  alert('tag-2', 31, 'SPN 1'),
  alert('tag-2', 32, 'SPN 2'),
  'not json',
];

const run = () =>
  runRulesTest({
    lines: stream,
    rules: [...createRules(config), createMeterSyncRule()],
    deliveringRules: deliveringRulesOf(config),
    assets,
    defaultDestination: 'erp',
    states: new Map(),
    now: Date.parse('2026-10-02T00:00:00Z'),
  });

describe('rules test: deliveries by rule', () => {
  it('counts each rule of a mixed stream, every configured one in rules list order, a rule that delivered nothing too', async () => {
    const report = await run();
    expect(report.byRule).toEqual({
      location: { type: 'location sync', total: 3, deliveries: { 'location.update (state)': 3 } },
      'coolant-hot': { type: 'threshold', total: 3, deliveries: { 'workorder.create (fact)': 3 } },
      'oil-low': { type: 'threshold', total: 1, deliveries: { 'workorder.create (fact)': 1 } },
      'never-fires': { type: 'threshold', total: 0, deliveries: {} },
      'service-250h': { type: 'service interval', total: 1, deliveries: { 'workorder.create (fact)': 1 } },
      annual: { type: 'calendar interval', total: 0, deliveries: {} },
      'fault-codes': { type: 'alert', total: 2, deliveries: { 'workorder.create (fact)': 2 } },
      meter: { type: 'meter sync', total: 3, deliveries: { 'meter.record (state)': 3 } },
    });
    expect(Object.keys(report.byRule)).toEqual(['location', 'coolant-hot', 'oil-low', 'never-fires', 'service-250h', 'annual', 'fault-codes', 'meter']);
    // The same deliveries as the totals by operation, only split otherwise.
    expect(report.totals).toEqual({ 'location.update (state)': 3, 'workorder.create (fact)': 7, 'meter.record (state)': 3 });
    const text = formatSummary(report);
    expect(text).toContain(
      [
        'by rule:',
        '  location (location sync): 3 × location.update (state)',
        '  coolant-hot (threshold): 3 × workorder.create (fact)',
        '  oil-low (threshold): 1 × workorder.create (fact)',
        '  never-fires (threshold): nothing',
        '  service-250h (service interval): 1 × workorder.create (fact)',
        '  annual (calendar interval): nothing',
        '  fault-codes (alert): 2 × workorder.create (fact)',
        '  meter (meter sync): 3 × meter.record (state)',
        'nothing was stored or sent',
      ].join('\n'),
    );
  });

  it('without the configured rules: those that delivered, by the rule their deliveries name', async () => {
    const { deliveringRules: _configured, ...input } = { lines: stream, rules: [...createRules(config), createMeterSyncRule()], deliveringRules: undefined, assets, defaultDestination: 'erp', states: new Map(), now: 0 };
    const report = await runRulesTest(input);
    expect(Object.entries(report.byRule).map(([name, r]) => [name, r.total])).toEqual([
      ['location', 3],
      ['coolant-hot', 3],
      ['oil-low', 1],
      ['meter', 3],
      ['service-250h', 1],
      ['fault-codes', 2],
    ]);
    expect(formatSummary(report)).toContain('\n  coolant-hot: 3 × workorder.create (fact)\n');
  });

  it('with --compare: each rule of either config under both, a rule only one of them has marked added or removed, beside the comparison by operation', async () => {
    // coolant-hot raised (only EQ-2's 99 is above 98), oil-low replaced by oil-very-low (the 5 is below 6).
    const proposed = withThresholds([
      { name: 'coolant-hot', sensor: 'coolantTemp', above: 98, clearBelow: 90, cooldown: '0s', severity: 'critical' },
      { name: 'never-fires', sensor: 'coolantTemp', above: 200, cooldown: '0s' },
      { name: 'oil-very-low', sensor: 'oilPressure', below: 6, clearAbove: 12, cooldown: '0s' },
    ]);
    const report = await runRulesTest({
      lines: stream,
      rules: [...createRules(config), createMeterSyncRule()],
      deliveringRules: deliveringRulesOf(config),
      compare: [...createRules(proposed), createMeterSyncRule()],
      compareDeliveringRules: deliveringRulesOf(proposed),
      assets,
      defaultDestination: 'erp',
      states: new Map(),
      now: Date.parse('2026-10-02T00:00:00Z'),
    });
    expect(report.comparison?.byRule).toEqual({
      location: { type: 'location sync', current: 3, proposed: 3 },
      'coolant-hot': { type: 'threshold', current: 3, proposed: 1 },
      'oil-low': { type: 'threshold', current: 1, proposed: 0, change: 'removed' },
      'never-fires': { type: 'threshold', current: 0, proposed: 0 },
      'service-250h': { type: 'service interval', current: 1, proposed: 1 },
      annual: { type: 'calendar interval', current: 0, proposed: 0 },
      'fault-codes': { type: 'alert', current: 2, proposed: 2 },
      meter: { type: 'meter sync', current: 3, proposed: 3 },
      'oil-very-low': { type: 'threshold', current: 0, proposed: 1, change: 'added' },
    });
    // The comparison by operation is kept: the same deliveries, summed otherwise.
    expect(report.comparison?.totals).toEqual({ 'location.update (state)': { current: 3, proposed: 3 }, 'workorder.create (fact)': { current: 7, proposed: 5 }, 'meter.record (state)': { current: 3, proposed: 3 } });
    const text = formatComparison(report, { current: 'current.yaml', proposed: 'proposed.yaml' });
    expect(text).toMatch(/^workorder\.create \(fact\) +7 +5 +-2$/m);
    expect(text).toContain(
      [
        'by rule:',
        '  RULE          TYPE               CURRENT  PROPOSED  CHANGE',
        '  location      location sync      3        3',
        '  coolant-hot   threshold          3        1         -2',
        '  oil-low       threshold          1        0         removed, -1',
        '  never-fires   threshold          0        0',
        '  service-250h  service interval   1        1',
        '  annual        calendar interval  0        0',
        '  fault-codes   alert              2        2',
        '  meter         meter sync         3        3',
        '  oil-very-low  threshold          0        1         added, +1',
      ].join('\n'),
    );
  });

  it('with rules.meters: meter sync off is listed so and delivers nothing, limited it delivers the readings of the assets it picks only; --compare names the setting', async () => {
    const withMeters = (meters: object) => rulesSchema.parse({ allowedLateness: 0, location: { enabled: false }, meters });
    const off = withMeters({ enabled: false });
    const own = withMeters({ appliesTo: { attributes: { fleet: 'own' } } });
    const fleet: AssetWithIdentifiers[] = assets.map((a, i) => ({ ...a, asset: { ...a.asset, attributes: { ...a.asset.attributes, fleet: i === 0 ? 'own' : 'rented' } } }));
    const test = (c: typeof off, proposed?: typeof off) =>
      runRulesTest({
        lines: stream,
        rules: [...createRules(c), createMeterSyncRule(meterSyncOptionsOf(c))],
        deliveringRules: deliveringRulesOf(c),
        ...(proposed ? { compare: [...createRules(proposed), createMeterSyncRule(meterSyncOptionsOf(proposed))], compareDeliveringRules: deliveringRulesOf(proposed) } : {}),
        assets: fleet,
        defaultDestination: 'erp',
        states: new Map(),
        now: Date.parse('2026-10-02T00:00:00Z'),
      });
    const r = await test(off);
    expect(r.byRule).toEqual({ meter: { type: 'meter sync, off', total: 0, deliveries: {} } });
    expect(formatSummary(r)).toContain('by rule:\n  meter (meter sync, off): nothing\n');
    // Meter hygiene still judged EQ-1's readings: the stored state is what it is with meter sync on.
    expect((await test(own)).byRule).toEqual({ meter: { type: 'meter sync', total: 2, deliveries: { 'meter.record (state)': 2 } } });
    const compared = await test(own, withMeters({ enabled: false, appliesTo: { attributes: { fleet: 'own' } } }));
    expect(compared.comparison?.byRule).toEqual({ meter: { type: 'meter sync → meter sync, off', current: 2, proposed: 0 } });
    expect(compared.comparison?.changedRules).toEqual([{ rule: 'meter', type: 'meter sync → meter sync, off', settings: [{ key: 'enabled', current: true, proposed: false }] }]);
  });

  it('finds a work order\'s rule in its business key, an asset id with "|" in it too', () => {
    expect(ruleOfDelivery({ operation: 'workorder.create', businessKey: 'EQ|7|coolant-hot|2026-10-01T08:02:00.000Z' })).toBe('coolant-hot');
    expect(ruleOfDelivery({ operation: 'location.update', businessKey: 'EQ-1' })).toBe('location');
    expect(ruleOfDelivery({ operation: 'meter.record', businessKey: 'EQ-1|km' })).toBe('meter');
    expect(ruleOfDelivery({ operation: 'inventory.count', businessKey: '1000|PAL|r2' })).toBe('inventory');
    expect(ruleOfDelivery({ operation: 'usage.post', businessKey: 'EQ-1|usage|2026-10' })).toBe('depreciation');
  });
});
