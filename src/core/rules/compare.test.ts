import { describe, expect, it } from 'vitest';
import type { DeliveryIntent } from '../model/delivery.js';
import { compareDeliveries, stableJson } from './compare.js';

const fact = (key: string, payload: Record<string, unknown> = {}, operation = 'workorder.create'): DeliveryIntent => ({ destination: 'erp', operation, kind: 'fact', businessKey: key, erpAssetId: 'EQ-1', eventTime: 0, payload });
const state = (key: string, payload: Record<string, unknown>): DeliveryIntent => ({ destination: 'erp', operation: 'location.update', kind: 'state', businessKey: key, erpAssetId: key, eventTime: 0, payload });

describe('comparing the deliveries of two rule sets', () => {
  it('sorts facts into gained, lost, changed (with the fields that differ) and alike, by business key', () => {
    const c = compareDeliveries(
      [fact('EQ-1|hot|t1', { priority: 'HIGH', title: 'Hot' }), fact('EQ-1|svc|250h@b0', { title: 'svc' }), fact('EQ-1|fault|x', { a: 1 })],
      [fact('EQ-1|hot|t1', { title: 'Hot', priority: 'MEDIUM' }), fact('EQ-1|svc|200h@b0', { title: 'svc' }), fact('EQ-1|fault|x', { a: 1 })],
    );
    expect(c.onlyCurrent.map((d) => d.businessKey)).toEqual(['EQ-1|svc|250h@b0']);
    expect(c.onlyProposed.map((d) => d.businessKey)).toEqual(['EQ-1|svc|200h@b0']);
    expect(c.changed.map((f) => [f.current.businessKey, f.fields])).toEqual([['EQ-1|hot|t1', ['priority']]]);
    expect(c.sameFacts).toBe(1);
    expect(c.totals).toEqual({ 'workorder.create (fact)': { current: 3, proposed: 3 } });
  });

  it('counts a fact sent twice once, as the outbox does, and tells operations apart', () => {
    const c = compareDeliveries([fact('k', { n: 1 }), fact('k', { n: 2 })], [fact('k', { n: 1 }), fact('k', { n: 1 }, 'usage.post')]);
    expect(c.sameFacts).toBe(1);
    expect(c.changed).toEqual([]);
    expect(c.onlyProposed.map((d) => d.operation)).toEqual(['usage.post']);
    expect(c.totals['workorder.create (fact)']).toEqual({ current: 1, proposed: 1 }); // in the totals too: no -1 beside "no difference"
  });

  it('compares state updates by the last value of each key, not by how they got there', () => {
    const c = compareDeliveries(
      [state('EQ-1', { zone: 'A' }), state('EQ-1', { zone: 'B' }), state('EQ-2', { zone: 'A' }), state('EQ-3', { zone: 'C' })],
      [state('EQ-1', { zone: 'B' }), state('EQ-2', { zone: 'B' }), state('EQ-4', { zone: 'D' })],
    );
    expect(c.states.map((s) => [s.businessKey, s.current, s.proposed])).toEqual([
      ['EQ-2', { zone: 'A' }, { zone: 'B' }],
      ['EQ-3', { zone: 'C' }, undefined],
      ['EQ-4', undefined, { zone: 'D' }],
    ]);
    expect(c.totals['location.update (state)']).toEqual({ current: 4, proposed: 3 });
  });

  it('finds nothing to report for the same deliveries', () => {
    const ds = [fact('a', { x: [1, { y: 2 }] }), state('EQ-1', { zone: 'A' })];
    const c = compareDeliveries(ds, [...ds].reverse());
    expect([c.onlyCurrent, c.onlyProposed, c.changed, c.states]).toEqual([[], [], [], []]);
  });

  it('stableJson does not depend on key order, and leaves undefined fields out as JSON does', () => {
    expect(stableJson({ b: 1, a: { d: [1, 2], c: null } })).toBe(stableJson({ a: { c: null, d: [1, 2] }, b: 1 }));
    expect(stableJson({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(stableJson([1, 'x'])).not.toBe(stableJson(['x', 1]));
  });
});

describe('a payload field absent under one rule set and null under the other', () => {
  it('is named among the fields that differ (the payloads differ as JSON, so a change without fields would be reported)', () => {
    const c = compareDeliveries([fact('k', { title: 'x', plannedStart: null })], [fact('k', { title: 'x' })]);
    expect(c.changed.map((f) => f.fields)).toEqual([['plannedStart']]);
    const s = compareDeliveries([state('EQ-1', { warehouseLocation: null })], [state('EQ-1', {})]);
    expect(s.states).toHaveLength(1);
  });
});

