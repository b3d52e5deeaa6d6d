/**
 * Warnings about config that runs but cannot do what was meant, from a mutation audit: the edges
 * of "within 45 days of periodsEnd" and "has ended", and telematics feeds as an input that may
 * carry any sensor or meter.
 */
import { describe, expect, it } from 'vitest';
import { compileConfig } from './load.js';
import { ruleInputWarnings } from './rule-inputs.js';

const DAY = 86_400_000;
const destinations = [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }];
const END = Date.parse('2027-01-01T00:00:00Z');
const withCalendar = compileConfig({
  destinations,
  rules: { depreciation: { periods: [{ id: 'FY26-H1', start: '2026-01-01' }, { id: 'FY26-H2', start: '2026-07-01' }], periodsEnd: '2027-01-01' } },
});

describe('a listed fiscal calendar near its end', () => {
  it('is said from 45 days before periodsEnd, not from 46', () => {
    // Mutation: `days >= 45` stays quiet on the 45th day.
    expect(ruleInputWarnings(withCalendar, END - 44.5 * DAY)).toEqual([
      { key: 'rules.depreciation.periodsEnd', message: expect.stringMatching(/^the fiscal calendar ends on 2027-01-01, in 45 day\(s\): /) as unknown },
    ]);
    expect(ruleInputWarnings(withCalendar, END - 45.5 * DAY)).toEqual([]);
  });

  it('has ended at periodsEnd itself and on the day after, not "in 0 day(s)"', () => {
    // Mutation: `days < 0` says it ends in 0 days.
    for (const now of [END, END + DAY / 2]) expect(ruleInputWarnings(withCalendar, now)[0]?.message).toMatch(/^the fiscal calendar ended on 2027-01-01: /);
    expect(ruleInputWarnings(withCalendar, END - DAY / 2)[0]?.message).toMatch(/^the fiscal calendar ends on 2027-01-01, in 1 day\(s\): /);
  });
});

describe('rules nothing configured feeds', () => {
  it('are not said when a telematics feed is configured: it may carry the sensor or meter', () => {
    // Mutation: telematics feeds not counted as an input.
    const input = {
      destinations,
      sources: { mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:1883', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 } } }] }] },
      rules: { maintenance: { thresholds: [{ name: 'hot', sensor: 'engineTempC', above: 95 }], serviceIntervals: [{ name: 'svc', everyHours: 250 }] } },
    };
    expect(ruleInputWarnings(compileConfig({ ...input, telematics: [{ name: 'tu', vendor: 'trackunit', auth: { type: 'bearer', token: 'feed-token' } }] }))).toEqual([]);
    // The same without the feed: both rules are named.
    expect(ruleInputWarnings(compileConfig(input)).map((w) => w.key)).toEqual(['rules.maintenance.thresholds.0.sensor', 'rules.maintenance.serviceIntervals.0.everyHours']);
  });
});
