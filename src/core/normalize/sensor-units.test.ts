import { describe, expect, it } from 'vitest';
import { rulesSchema } from '../../config/rules-schema.js';
import type { CanonicalEvent, SensorEvent } from '../model/events.js';
import { createRules, sensorUnitsOf } from '../rules/index.js';
import { runRulesTest } from '../../cli/commands/rules-test.js';
import type { AssetRecord } from '../model/assets.js';
import { alignSensorUnits, convertsTo, mayRefuseSensorUnits, sameUnit, type SensorUnits } from './sensor-units.js';
import { validateEvent, mayBeSetAside, DEFAULT_VALIDATION } from './validate.js';

const t0 = Date.parse('2026-10-01T09:00:00Z');
const reading = (value: number, unit?: string, name = 'engineTemp'): SensorEvent => ({
  kind: 'sensor', source: 'http', ids: [{ type: 'tag', value: 'tag-1' }], eventTime: t0, receivedAt: t0,
  values: { [name]: unit === undefined ? { value } : { value, unit } },
});
const units: SensorUnits = new Map([
  ['engineTemp', [{ unit: '°C', rules: [{ name: 'engine-hot' }] }]],
  ['hydPressure', [{ unit: 'bar', rules: [{ name: 'hyd-spike' }, { name: 'hyd-low' }] }]],
]);
const asset: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: { fleet: 'cranes' } };
const valueOf = (e: CanonicalEvent, name = 'engineTemp') => (e as SensorEvent).values[name];

describe('sensor readings against their threshold rules\' unit', () => {
  it('converts temperatures and pressures exactly to the rule\'s unit', () => {
    const at = (value: number, unit: string, name = 'engineTemp') => {
      const r = alignSensorUnits(reading(value, unit, name), units, asset);
      if (!r.ok) throw new Error(r.reason);
      const v = valueOf(r.event, name);
      if (v === undefined) throw new Error(`no ${name}`);
      return v;
    };
    expect(at(212, '°F')).toEqual({ value: 100, unit: '°C' });
    expect(at(203, 'F')).toEqual({ value: 95, unit: '°C' });
    expect(at(373.15, 'K')).toEqual({ value: 100, unit: '°C' });
    expect(at(2500, 'kPa', 'hydPressure')).toEqual({ value: 25, unit: 'bar' });
    expect(at(1450.377377302092, 'psi', 'hydPressure').value).toBeCloseTo(100, 6);
    expect(at(100, 'psi', 'hydPressure')).toEqual({ value: 6.894757293, unit: 'bar' });
    // The UCUM codes, as a decoder that writes `Cel` for °C writes the others.
    expect(at(212, '[degF]')).toEqual({ value: 100, unit: '°C' });
    expect(at(100, '[psi]', 'hydPressure')).toEqual({ value: 6.894757293, unit: 'bar' });
  });

  it('leaves a reading in the rule\'s unit, however spelled, or without a unit, as it is (the same event)', () => {
    for (const e of [reading(96, 'Cel'), reading(96, 'degC'), reading(96, '°C'), reading(96), reading(5, 'mA', 'other')]) expect(alignSensorUnits(e, units, asset)).toEqual({ ok: true, event: e });
    expect(sameUnit('Cel', 'celsius')).toBe(true);
    expect(sameUnit('bar', 'kPa')).toBe(false);
    expect(sameUnit('mA', 'MA')).toBe(true);
  });

  it('refuses a reading whose unit does not convert, naming the sensor, the rule and both units, and what to do', () => {
    const r = alignSensorUnits(reading(12, 'mA', 'hydPressure'), units, asset);
    expect(r.ok).toBe(false);
    const reason = r.ok ? '' : r.reason;
    expect(reason).toContain('sensor hydPressure is in "mA"');
    expect(reason).toContain('threshold rules hyd-spike, hyd-low compare it in "bar"');
    expect(reason).toContain('send hydPressure in bar (or in kPa, Pa, mbar, psi: converted)');
    // A unit that is no text says nothing of the value.
    const odd = alignSensorUnits({ ...reading(90), values: { engineTemp: { value: 90, unit: 5 as unknown as string } } }, units, asset);
    expect(odd.ok ? '' : odd.reason).toBe('sensor engineTemp unit must be text such as "°C" (threshold rule engine-hot compares it in that unit), got 5');
    // A temperature to a pressure rule does not convert either.
    expect(alignSensorUnits(reading(90, '°F', 'hydPressure'), units, asset).ok).toBe(false);
  });

  it('is not judged by validation, which does not know the asset; a source grouping events before identity is told it may be refused', () => {
    expect(validateEvent(reading(90, 'psi'), t0, { ...DEFAULT_VALIDATION, sensorUnits: units })).toEqual({ ok: true });
    expect(mayBeSetAside(reading(90, 'psi'), t0, { ...DEFAULT_VALIDATION, sensorUnits: units })).toBe(true);
    expect(mayBeSetAside(reading(200, '°F'), t0, { ...DEFAULT_VALIDATION, sensorUnits: units })).toBe(false);
    expect(mayBeSetAside(reading(90, 'psi'), t0, DEFAULT_VALIDATION)).toBe(false);
    expect(convertsTo('degF', '°C')).toBe(true);
    expect(convertsTo('V', '°C')).toBe(false);
  });
});

describe('sensor units of threshold rules with appliesTo', () => {
  // engine-hot only on cranes; hyd-spike on every asset, hyd-low only on cranes.
  const filtered: SensorUnits = new Map([
    ['engineTemp', [{ unit: '°C', rules: [{ name: 'engine-hot', appliesTo: { attributes: { fleet: ['cranes'] } } }] }]],
    ['hydPressure', [{ unit: 'bar', rules: [{ name: 'hyd-spike' }, { name: 'hyd-low', appliesTo: { attributes: { fleet: ['cranes'] } } }] }]],
  ]);
  const truck: AssetRecord = { erpAssetId: 'EQ-2', erpModule: 'maintenance', attributes: { fleet: 'trucks' } };

  it('accepts a reading in a unit that does not convert for an asset no rule with a unit applies to, as sent', () => {
    const e = reading(12, 'mA');
    expect(alignSensorUnits(e, filtered, truck)).toEqual({ ok: true, event: e });
    // Nor is it converted there: no rule on that asset compares it.
    const f = reading(212, '°F');
    expect(alignSensorUnits(f, filtered, truck)).toEqual({ ok: true, event: f });
    const odd = { ...reading(90), values: { engineTemp: { value: 90, unit: 5 as unknown as string } } };
    expect(alignSensorUnits(odd, filtered, truck).ok).toBe(true);
    // Only for grouping: some asset's rule would refuse it.
    expect(mayRefuseSensorUnits(e, filtered)).toBe(true);
  });

  it('still refuses it for an asset a rule applies to, and converts there', () => {
    const r = alignSensorUnits(reading(12, 'mA'), filtered, asset);
    expect(r.ok ? '' : r.reason).toMatch(/^sensor engineTemp is in "mA" but threshold rule engine-hot compares it in "°C" \(the rule's unit\).*send engineTemp in °C.*then replay the message$/);
    const f = alignSensorUnits(reading(212, '°F'), filtered, asset);
    expect(f.ok ? valueOf(f.event) : undefined).toEqual({ value: 100, unit: '°C' });
  });

  it('names only the rules that apply to the asset', () => {
    const truckReason = alignSensorUnits(reading(12, 'mA', 'hydPressure'), filtered, truck);
    expect(truckReason.ok ? '' : truckReason.reason).toContain('but threshold rule hyd-spike compares it in "bar"');
    const craneReason = alignSensorUnits(reading(12, 'mA', 'hydPressure'), filtered, asset);
    expect(craneReason.ok ? '' : craneReason.reason).toContain('but threshold rules hyd-spike, hyd-low compare it in "bar"');
  });
});

describe('threshold rule `unit` in the configuration', () => {
  const config = (thresholds: unknown[]) => ({ allowedLateness: 0, maintenance: { thresholds } });

  it('gives each sensor its rules\' unit', () => {
    const rules = rulesSchema.parse(config([{ name: 'engine-hot', sensor: 'engineTemp', above: 95, unit: '°C' }, { name: 'engine-cold', sensor: 'engineTemp', below: 5, unit: 'Cel', appliesTo: { attributes: { fleet: ['cranes'] } } }, { name: 'plain', sensor: 'x', above: 1 }]));
    expect(sensorUnitsOf(rules)).toEqual(new Map([['engineTemp', [{ unit: '°C', rules: [{ name: 'engine-hot' }, { name: 'engine-cold', appliesTo: { attributes: { fleet: ['cranes'] } } }] }]]]));
  });

  it('refuses rules on one sensor in different units, naming the key', () => {
    const r = rulesSchema.safeParse(config([{ name: 'engine-hot', sensor: 'engineTemp', above: 95, unit: '°C' }, { name: 'engine-cold', sensor: 'engineTemp', below: 41, unit: '°F' }]));
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ['maintenance', 'thresholds', 1, 'unit'] });
    expect(r.error?.issues[0]?.message).toMatch(/^sensor engineTemp is compared in "°C" by rule engine-hot \(rules\.maintenance\.thresholds\.0\.unit\) but in "°F" by rule engine-cold here, and both apply to every asset: .*give these rules the same unit/);
  });
});

describe('threshold rules on one sensor in different units for different assets', () => {
  const eu = { attributes: { group: 'EU' } };
  const us = { attributes: { group: ['US'] } };
  const config = (thresholds: unknown[]) => ({ allowedLateness: 0, maintenance: { thresholds } });
  const euUs = rulesSchema.parse(config([
    { name: 'coolant-hot-eu', sensor: 'coolantTemp', above: 95, unit: 'degC', appliesTo: eu },
    { name: 'coolant-hot-us', sensor: 'coolantTemp', above: 203, unit: 'degF', appliesTo: us },
  ]));
  const euAsset: AssetRecord = { erpAssetId: 'EQ-EU', erpModule: 'maintenance', attributes: { group: 'EU' } };
  const usAsset: AssetRecord = { erpAssetId: 'EQ-US', erpModule: 'maintenance', attributes: { group: 'US' } };
  const otherAsset: AssetRecord = { erpAssetId: 'EQ-AU', erpModule: 'maintenance', attributes: { group: 'AU' } };
  const at = (value: number, unit: string, a: AssetRecord) => {
    const r = alignSensorUnits(reading(value, unit, 'coolantTemp'), sensorUnitsOf(euUs), a);
    if (!r.ok) throw new Error(r.reason);
    return valueOf(r.event, 'coolantTemp');
  };

  it('are accepted, each unit with its rules', () => {
    expect(sensorUnitsOf(euUs)).toEqual(new Map([['coolantTemp', [
      { unit: 'degC', rules: [{ name: 'coolant-hot-eu', appliesTo: { attributes: { group: ['EU'] } } }] },
      { unit: 'degF', rules: [{ name: 'coolant-hot-us', appliesTo: { attributes: { group: ['US'] } } }] },
    ]]]));
  });

  it('convert each asset\'s reading to the unit of the rules that apply to it', () => {
    expect(at(212, '°F', usAsset)).toEqual({ value: 212, unit: '°F' });
    expect(at(100, '°C', usAsset)).toEqual({ value: 212, unit: 'degF' });
    expect(at(100, '°C', euAsset)).toEqual({ value: 100, unit: '°C' });
    expect(at(212, '°F', euAsset)).toEqual({ value: 100, unit: 'degC' });
    // An asset neither applies to: as sent.
    expect(at(212, '°F', otherAsset)).toEqual({ value: 212, unit: '°F' });
  });

  it('refuse a reading that does not convert naming the rule of the asset only; grouping before identity knows it may be refused', () => {
    const refused = alignSensorUnits(reading(12, 'mA', 'coolantTemp'), sensorUnitsOf(euUs), usAsset);
    expect(refused.ok ? '' : refused.reason).toMatch(/^sensor coolantTemp is in "mA" but threshold rule coolant-hot-us compares it in "degF" \(the rule's unit\)/);
    expect(alignSensorUnits(reading(12, 'mA', 'coolantTemp'), sensorUnitsOf(euUs), otherAsset).ok).toBe(true);
    expect(mayRefuseSensorUnits(reading(12, 'mA', 'coolantTemp'), sensorUnitsOf(euUs))).toBe(true);
    expect(mayRefuseSensorUnits(reading(12, 'K', 'coolantTemp'), sensorUnitsOf(euUs))).toBe(false);
    // A unit one of them converts and the other does not: some asset's rule would refuse it.
    const mixed: SensorUnits = new Map([['x', [{ unit: '°C', rules: [{ name: 'a', appliesTo: { attributes: { group: ['EU'] } } }] }, { unit: 'mA', rules: [{ name: 'b', appliesTo: { attributes: { group: ['US'] } } }] }]]]);
    expect(mayRefuseSensorUnits(reading(1, '°F', 'x'), mixed)).toBe(true);
  });

  it('are refused where both can apply to one asset, naming both rules, both units and the key', () => {
    const refused = (a: unknown, b: unknown) => {
      const r = rulesSchema.safeParse(config([
        { name: 'coolant-hot-eu', sensor: 'coolantTemp', above: 95, unit: '°C', ...(a ? { appliesTo: a } : {}) },
        { name: 'coolant-hot-us', sensor: 'coolantTemp', above: 203, unit: '°F', ...(b ? { appliesTo: b } : {}) },
      ]));
      return r.success ? undefined : r.error.issues.map((i) => ({ path: i.path, message: i.message }));
    };
    // One without appliesTo applies to the other's assets too.
    expect(refused(undefined, us)).toEqual([{
      path: ['maintenance', 'thresholds', 1, 'unit'],
      message: 'sensor coolantTemp is compared in "°C" by rule coolant-hot-eu (rules.maintenance.thresholds.0.unit) but in "°F" by rule coolant-hot-us here, and both apply to every asset with group US: ' +
        'a reading is converted to one unit per asset, so give these rules the same unit (convert this rule\'s above/below), or appliesTo that no asset matches both of (rules on one sensor may give different units for different assets)',
    }]);
    // Filters on different attributes, or values in common: an asset can match both.
    expect(refused(eu, { attributes: { fleet: 'cranes' } })?.[0]?.message).toContain('both apply to every asset with group EU and fleet cranes');
    expect(refused({ attributes: { group: ['EU', 'UK'] } }, { erpModules: ['maintenance'], attributes: { group: ['UK', 'US'] } })?.[0]?.message).toContain('both apply to every asset with erpModule maintenance and group UK');
    // Disjoint: accepted.
    expect(refused(eu, us)).toBeUndefined();
    expect(refused({ erpModules: ['maintenance'] }, { erpModules: ['fixedAssets'] })).toBeUndefined();
    // Same unit however spelled: accepted whatever they apply to.
    expect(rulesSchema.safeParse(config([{ name: 'a', sensor: 't', above: 1, unit: '°C' }, { name: 'b', sensor: 't', above: 2, unit: 'Cel' }])).success).toBe(true);
  });

  it('in rules test: a US asset\'s reading is compared in °F and an EU asset\'s in °C', async () => {
    const assets = [
      { asset: euAsset, identifiers: [{ type: 'tag' as const, value: 'tag-eu', erpAssetId: 'EQ-EU' }] },
      { asset: usAsset, identifiers: [{ type: 'tag' as const, value: 'tag-us', erpAssetId: 'EQ-US' }] },
    ];
    const line = (tag: string, minute: number, value: number, unit: string) => JSON.stringify({ kind: 'sensor', assetId: tag, eventTime: `2026-10-01T09:0${minute}:00Z`, values: { coolantTemp: { value, unit } } });
    const report = await runRulesTest({
      // EU: 200 °F is 93.3 °C (not above 95), then 96 °C. US: 200 °F (not above 203), then 96 °C (204.8 °F).
      lines: [line('tag-eu', 0, 200, '°F'), line('tag-us', 0, 200, '°F'), line('tag-eu', 1, 96, '°C'), line('tag-us', 1, 96, '°C')],
      rules: createRules(euUs), sensorUnits: sensorUnitsOf(euUs), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z'),
    });
    expect(report.counts.accepted).toBe(4);
    const opened = report.lines.map((l) => l.deliveries.map((d) => (d.payload as { title: string }).title));
    expect(opened).toEqual([[], [], ['coolant-hot-eu: coolantTemp 96 °C'], ['coolant-hot-us: coolantTemp 204.8 degF']]);
  });
});

describe('rules test with a threshold in °C', () => {
  const assets = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }];
  const rules = rulesSchema.parse({ allowedLateness: 0, maintenance: { thresholds: [{ name: 'engine-hot', sensor: 'engineTemp', above: 95, unit: '°C' }] } });
  const line = (minute: number, value: number, unit: string) => JSON.stringify({ kind: 'sensor', assetId: 'tag-1', eventTime: `2026-10-01T09:0${minute}:00Z`, values: { engineTemp: { value, unit } } });
  const run = (lines: string[]) => runRulesTest({ lines, rules: createRules(rules), sensorUnits: sensorUnitsOf(rules), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });

  it('does not open a work order for 150 °F (65.6 °C), which as a number is above 95', async () => {
    const report = await run([line(0, 150, '°F'), line(1, 150, '°F')]);
    expect(report.counts.accepted).toBe(2);
    expect(report.lines.flatMap((l) => l.deliveries)).toEqual([]);
  });

  it('opens one for 212 °F (100 °C)', async () => {
    const report = await run([line(0, 212, '°F')]);
    expect(report.lines.flatMap((l) => l.deliveries).map((d) => d.operation)).toEqual(['workorder.create']);
  });

  it('writes the rule\'s unit in the work order of a reading sent without one', async () => {
    const report = await run([JSON.stringify({ kind: 'sensor', assetId: 'tag-1', eventTime: '2026-10-01T09:00:00Z', values: { engineTemp: { value: 97 } } })]);
    const wo = report.lines.flatMap((l) => l.deliveries)[0]?.payload as { title: string; description: string };
    expect(wo.title).toBe('engine-hot: engineTemp 97 °C');
    expect(wo.description).toMatch(/^engineTemp above 95 °C for 0 s \(since .*, peak 97 °C, now 97 °C;/);
  });

  it('rejects a reading in a unit that does not convert, naming the rule and both units', async () => {
    const report = await run([line(0, 400, 'mA')]);
    expect(report.counts.rejected).toBe(1);
    expect(report.lines[0]?.reason).toMatch(/sensor engineTemp is in "mA" but threshold rule engine-hot compares it in "°C"/);
  });

  it('accepts a reading whose unit does not convert from an asset the rule does not apply to, and rejects it from one it does, as the service', async () => {
    const twoAssets = [...assets, { asset: { erpAssetId: 'EQ-2', erpModule: 'maintenance', attributes: { fleet: 'trucks' } }, identifiers: [{ type: 'tag' as const, value: 'tag-2', erpAssetId: 'EQ-2' }] }];
    const cranesOnly = rulesSchema.parse({ allowedLateness: 0, maintenance: { thresholds: [{ name: 'engine-hot', sensor: 'engineTemp', above: 95, unit: '°C', appliesTo: { attributes: { fleet: 'cranes' } } }] } });
    const craneAssets = twoAssets.map((a) => (a.asset.erpAssetId === 'EQ-1' ? { ...a, asset: { ...a.asset, attributes: { fleet: 'cranes' } } } : a));
    const truckLine = line(0, 400, 'mA').replace('tag-1', 'tag-2');
    const report = await runRulesTest({ lines: [truckLine, line(1, 400, 'mA')], rules: createRules(cranesOnly), sensorUnits: sensorUnitsOf(cranesOnly), assets: craneAssets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    expect(report.counts).toMatchObject({ accepted: 1, rejected: 1 });
    expect(report.lines.map((l) => l.accepted)).toEqual([true, false]);
    expect(report.lines[1]?.reason).toMatch(/sensor engineTemp is in "mA" but threshold rule engine-hot compares it in "°C"/);
  });

  it('with --compare, each config\'s rules see a reading in their own units', async () => {
    const bare = rulesSchema.parse({ allowedLateness: 0, maintenance: { thresholds: [{ name: 'engine-hot', sensor: 'engineTemp', above: 95 }] } });
    // 150 °F is 65.6 °C: over 95 only as a bare number.
    const report = await runRulesTest({ lines: [line(0, 150, '°F')], rules: createRules(bare), compare: createRules(rules), compareSensorUnits: sensorUnitsOf(rules), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    expect(report.comparison?.totals).toMatchObject({ 'workorder.create (fact)': { current: 1, proposed: 0 } });
  });
});
