import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringifyRuleState } from './state-json.js';

const item = fc.oneof(
  fc.record({ t: fc.integer(), k: fc.constant('s'), v: fc.dictionary(fc.string(), fc.oneof(fc.double(), fc.tuple(fc.double(), fc.string()))) }),
  fc.record({ t: fc.integer(), k: fc.constant('m'), h: fc.double(), reset: fc.option(fc.constant(true), { nil: undefined }) }),
);
const state = fc.record(
  {
    hours: fc.option(fc.record({ last: fc.double(), at: fc.integer() }), { nil: undefined }),
    order: fc.record({ released: fc.option(fc.integer(), { nil: undefined }), newest: fc.integer(), pending: fc.array(item, { maxLength: 40 }) }),
    thresholds: fc.dictionary(fc.string(), fc.jsonValue()),
    'odd "key"': fc.option(fc.string(), { nil: undefined }),
  },
  { requiredKeys: ['order'] },
);

describe('stringifyRuleState', () => {
  it('is exactly JSON.stringify, for any rule state with a reorder buffer, before and after the buffer moves on', () => {
    fc.assert(
      fc.property(state, item, (s, next) => {
        expect(stringifyRuleState(s)).toBe(JSON.stringify(s));
        // The next batch: one item released, one added; the kept items' JSON is reused.
        const moved = { ...s, order: { ...s.order, pending: [...s.order.pending.slice(1), next] } };
        expect(stringifyRuleState(moved)).toBe(JSON.stringify(moved));
      }),
    );
  });

  it('passes anything else to JSON.stringify', () => {
    for (const v of [undefined, null, 3, 'x', [1, { a: 2 }], { a: undefined, b: [undefined] }, { order: { pending: 'no' } }]) expect(stringifyRuleState(v)).toBe(JSON.stringify(v));
  });
});
