import { describe, expect, it } from 'vitest';
import { compileConfig } from './load.js';
import { ruleInputWarnings } from './rule-inputs.js';

const mqtt = (decoder: object) => ({ mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:1883', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { path: 'tag' }, ...decoder } }] }] });
const config = (sources: object, extra: object = {}) =>
  compileConfig({
    sources,
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
    rules: {
      maintenance: {
        thresholds: [
          { name: 'hot', sensor: 'engineTempC', above: 95 },
          { name: 'ok', sensor: 'engineTemp', above: 95 },
        ],
        serviceIntervals: [
          { name: 'svc', everyHours: 250 },
          { name: 'oil', everyKm: 15000 },
        ],
      },
    },
    ...extra,
  });

describe('rules nothing configured feeds', () => {
  it('names the threshold on a sensor no MQTT decoder maps, and the interval on a meter none reads', () => {
    const w = ruleInputWarnings(config(mqtt({ sensors: { engineTemp: { path: 't' } }, meters: { operatingHours: 'h' } })));
    expect(w.map((x) => x.key)).toEqual(['rules.maintenance.thresholds.0.sensor', 'rules.maintenance.serviceIntervals.1.everyKm']);
    expect(w[0]?.message).toBe('no MQTT decoder maps a sensor "engineTempC" (their sensors: engineTemp), so rule hot can never fire; map it in sources.mqtt[].topics[].decoder.sensors or fix the name');
  });

  it('says nothing when every input is mapped, when the HTTP intake or a telematics feed may carry anything, or with no source at all', () => {
    expect(ruleInputWarnings(config(mqtt({ sensors: { engineTemp: { path: 't' }, engineTempC: { path: 'c' } }, meters: { operatingHours: 'h', odometerKm: 'km' } })))).toEqual([]);
    expect(ruleInputWarnings(config({ ...mqtt({}), http: { token: 'a-long-token' } }))).toEqual([]);
    expect(ruleInputWarnings(config({}))).toEqual([]);
  });
});

describe('a listed fiscal calendar that ends', () => {
  const withCalendar = () =>
    compileConfig({
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      rules: { depreciation: { periods: [{ id: 'FY26-P01', start: '2026-01-01' }, { id: 'FY26-P02', start: '2026-07-01' }], periodsEnd: '2027-01-01' } },
    });
  const at = (day: string) => Date.parse(`${day}T12:00:00Z`);

  it('is said within 45 days of its end, and once it has ended, naming periodsEnd', () => {
    expect(ruleInputWarnings(withCalendar(), at('2026-11-01'))).toEqual([]);
    expect(ruleInputWarnings(withCalendar(), at('2026-12-01'))).toEqual([
      { key: 'rules.depreciation.periodsEnd', message: expect.stringMatching(/^the fiscal calendar ends on 2027-01-01, in 31 day\(s\): usage after it falls in no period/) as unknown },
    ]);
    expect(ruleInputWarnings(withCalendar(), at('2027-02-01'))[0]?.message).toMatch(/^the fiscal calendar ended on 2027-01-01: .*rules\.depreciation\.periods/);
  });

  it('a monthly calendar never ends', () => {
    const monthly = compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], rules: { depreciation: { periods: 'monthly' } } });
    expect(ruleInputWarnings(monthly, at('2040-01-01'))).toEqual([]);
  });
});

describe('an asset id from a topic level', () => {
  const withSegment = (filter: string, topicSegment: number) =>
    compileConfig({ sources: { mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:1883', topics: [{ filter, decoder: { assetId: { topicSegment } } }] }] }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
  const key = 'sources.mqtt.0.topics.0.decoder.assetId.topicSegment';

  it('is said when the level is a fixed word of the filter, or beyond it', () => {
    expect(ruleInputWarnings(withSegment('fleet/+/telemetry', 0))).toEqual([{ key, message: 'level 0 of "fleet/+/telemetry" is the fixed word "fleet": every message would be asset "fleet"; the + level is 1' }]);
    expect(ruleInputWarnings(withSegment('fleet/+/telemetry', 3))[0]?.message).toMatch(/has 3 level\(s\).*level 3 never holds an asset id/);
  });

  it('is quiet for a + level, or under a #', () => {
    expect(ruleInputWarnings(withSegment('fleet/+/telemetry', 1))).toEqual([]);
    expect(ruleInputWarnings(withSegment('$share/g/fleet/+/t', 1))).toEqual([]);
    expect(ruleInputWarnings(withSegment('fleet/#', 2))).toEqual([]);
  });
});

describe('rules.idleAfter below rules.allowedLateness', () => {
  it('says the service waits the lateness instead, and nothing when idleAfter is at least it or off', () => {
    const w = ruleInputWarnings(config({}, { rules: { allowedLateness: '30s', idleAfter: '10s' } }));
    expect(w).toEqual([{ key: 'rules.idleAfter', message: '10 s is below rules.allowedLateness (30 s): a silent asset has what its rules hold decided after 30 s; set idleAfter to at least the lateness, or lower the lateness' }]);
    expect(ruleInputWarnings(config({}, { rules: { allowedLateness: '30s', idleAfter: '30s' } }))).toEqual([]);
    expect(ruleInputWarnings(config({}, { rules: { allowedLateness: '30s', idleAfter: 0 } }))).toEqual([]);
  });
});
