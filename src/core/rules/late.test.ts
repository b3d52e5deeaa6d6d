/**
 * Late events (invariant 8): every rule that orders by event time says when it dropped an event as
 * later than its allowed lateness, so the engine can count it; a duplicate is not late.
 */
import { describe, expect, it } from 'vitest';
import { rulesSchema } from '../../config/rules-schema.js';
import type { CanonicalEvent } from '../model/events.js';
import { createRules } from './index.js';
import { flushRules, simulateRules, type SimulationStep } from './simulate.js';

const T0 = Date.UTC(2026, 10, 1, 8);
const MIN = 60_000;
const rules = createRules(
  rulesSchema.parse({
    allowedLateness: '1m',
    zones: { inline: [{ name: 'yard', locationCode: 'Y', circle: { lat: 50, lng: 8, radiusM: 300 } }] },
    maintenance: { thresholds: [{ name: 'hot', sensor: 'temp', above: 95, for: '2m' }], serviceIntervals: [{ name: 'svc', everyHours: 250 }] },
    inventory: {},
    depreciation: {},
  }),
);
const asset = { erpAssetId: 'P-1', erpModule: 'inventory', attributes: { sku: 'S' } };
const base = { ids: [{ type: 'tag' as const, value: 't1' }], source: 'test', receivedAt: T0 };
const position = (min: number): CanonicalEvent => ({ ...base, kind: 'position', eventTime: T0 + min * MIN, lat: 50, lng: 8 });
const sensor = (min: number): CanonicalEvent => ({ ...base, kind: 'sensor', eventTime: T0 + min * MIN, values: { temp: { value: 50 } } });
const meter = (min: number, h: number): CanonicalEvent => ({ ...base, kind: 'meter', eventTime: T0 + min * MIN, operatingHours: h });
const steps = (events: CanonicalEvent[]): SimulationStep[] => events.map((event) => ({ event, asset, destination: 'erp' }));

describe('late events', () => {
  it('each rule that orders by event time flags an event older than its lateness allows', () => {
    // 0 and 10 are decided once 20 arrives (1 min lateness); 5 is older than what was decided.
    const events = [0, 10, 20].flatMap((m) => [position(m), sensor(m), meter(m, 100 + m / 60)]);
    const { lateByStep } = simulateRules(rules, steps([...events, position(5), sensor(5), meter(5, 100.05)]));
    expect(lateByStep.slice(0, events.length).flat()).toEqual([]);
    expect(lateByStep.slice(events.length)).toEqual([['location', 'inventory'], ['maintenance'], ['maintenance', 'depreciation']]);
  });

  it('the newest events each rule decided on, sent again (an HTTP client retrying its POST), are duplicates, not late', () => {
    // 10 is decided once 20 arrives (1 min lateness); 20 itself still waits.
    const events = [0, 10, 20].flatMap((m) => [position(m), sensor(m), meter(m, 100 + m / 60)]);
    const resent = [position(10), sensor(10), meter(10, 100 + 10 / 60)];
    const { lateByStep, duplicateByStep, perStep, states } = simulateRules(rules, steps([...events, ...resent]));
    expect(lateByStep.flat()).toEqual([]);
    // Each rule that took the event says so (what the engine counts, and `rules test` names).
    expect(duplicateByStep.slice(0, events.length).flat()).toEqual([]);
    expect(duplicateByStep.slice(events.length)).toEqual([['location', 'inventory'], ['maintenance'], ['maintenance', 'depreciation']]);
    // Nothing delivered or changed again.
    expect(perStep.slice(events.length).flat()).toEqual([]);
    expect(states).toEqual(simulateRules(rules, steps(events)).states);
    // Not quite the same event (another reading of that time) is late; so is an older one sent again, which cannot be told from a late one.
    expect(simulateRules(rules, steps([...events, meter(10, 100.2), sensor(0)])).lateByStep.slice(events.length)).toEqual([['maintenance', 'depreciation'], ['maintenance']]);
  });

  it.each([
    ['released by an idle watermark', T0 + 30 * MIN],
    ['released at the end of the input', undefined],
  ])('the newest events each rule decided on when %s, sent again, are duplicates, not late', (_how, upTo) => {
    const events = [0, 10, 20].flatMap((m) => [position(m), sensor(m), meter(m, 100 + m / 60)]);
    const held = simulateRules(rules, steps(events)).states;
    // 20 is still held; the flush decides on it.
    const flushed = flushRules(rules, held, new Map([[asset.erpAssetId, { asset, destination: 'erp' }]]), T0 + 30 * MIN, upTo);
    const resent = simulateRules(rules, steps([position(20), sensor(20), meter(20, 100 + 20 / 60)]), { initial: flushed.states });
    expect(resent.lateByStep.flat()).toEqual([]);
    expect(resent.duplicateByStep).toEqual([['location', 'inventory'], ['maintenance'], ['maintenance', 'depreciation']]);
    expect(resent.perStep.flat()).toEqual([]);
    // An older one sent again is late, as before.
    expect(simulateRules(rules, steps([meter(10, 100 + 10 / 60)]), { initial: flushed.states }).lateByStep).toEqual([['maintenance', 'depreciation']]);
  });

  it('an event within the lateness, or a duplicate, is not late', () => {
    const events = [position(0), position(10), position(9.5), position(10), sensor(10), sensor(10)];
    const r = simulateRules(rules, steps(events));
    expect(r.lateByStep.flat()).toEqual([]);
    expect(r.duplicateByStep).toEqual([[], [], [], ['location', 'inventory'], [], ['maintenance']]);
  });
});
