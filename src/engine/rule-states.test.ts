import { describe, expect, it } from 'vitest';
import type { CanonicalEvent } from '../core/model/events.js';
import { CHANGED, ownedFromPure } from '../core/rules/owned.js';
import { StateJson } from '../ports/store.js';
import type { Rule, RuleContext } from '../core/rules/rule.js';
import type { FlushableRule } from '../core/rules/event-time.js';
import { RuleStates } from './rule-states.js';

const ctx: RuleContext = { asset: { erpAssetId: 'A', erpModule: 'm', attributes: {} }, destination: 'erp', now: 0 };
const event = { kind: 'position', source: 's', ids: [], eventTime: 1, receivedAt: 1, lat: 1, lng: 1 } as CanonicalEvent;
/** Adds `by` to the sub-state `n`. */
const adding = (name: string, by: number): Rule<{ n: number }> => ({ name, kinds: ['position'], apply: (s) => ({ state: { n: (s?.n ?? 0) + by }, deliveries: [] }) });
const holding: FlushableRule<{ held: boolean }> = {
  name: 'held',
  kinds: ['position'],
  apply: () => ({ state: { held: true }, deliveries: [] }),
  flush: (s) => ({ state: s ?? { held: false }, deliveries: [] }),
  holds: (s) => s?.held === true,
};

describe('rule state held in memory', () => {
  it('rules of one name share their sub-state, as they shared a key of the state document', () => {
    const held = new RuleStates([adding('count', 1), adding('count', 10), adding('other', 100)]);
    const a = held.load('A', { count: { n: 5 } });
    for (const form of held.forms) expect(form.apply(a, event, ctx, []) & CHANGED).toBe(CHANGED);
    expect(held.save(a, 0b111)).toEqual({ doc: { count: { n: 16 }, other: { n: 100 } }, changed: ['count', 'other'] });
    expect(held.save(a, 0b010)).toEqual({ doc: { count: { n: 16 } }, changed: ['count'] });
  });

  it('takes the sub-state of a form that writes its JSON as that text, and the pure sub-state of one that does not', () => {
    const written: Rule<{ n: number }> = {
      ...adding('written', 1),
      // Text a little different from what save gives, so that the test sees which of the two was used.
      owned: () => ({ ...ownedFromPure(written), saveJson: (a) => (a === 0 ? '{"n":"text"}' : undefined) }),
    };
    const held = new RuleStates([written, adding('plain', 2)]);
    const a = held.load('A', { written: { n: 1 }, plain: { n: 1 } });
    const { doc, changed } = held.save(a, 0b11);
    expect(changed).toEqual(['written', 'plain']);
    expect(doc['written']).toBeInstanceOf(StateJson);
    expect((doc['written'] as StateJson).text).toBe('{"n":"text"}');
    expect(doc['plain']).toEqual({ n: 1 });
    // Serialised as a whole document, the text stands for the sub-state.
    expect(JSON.parse(JSON.stringify(doc))).toEqual({ written: { n: 'text' }, plain: { n: 1 } });
    // No text: no sub-state.
    const b = held.load('B', undefined);
    expect(held.save(b, 0b01).doc).toEqual({ written: undefined });
  });

  it('gives a dropped asset index to the next asset loaded, with that asset state and nothing of the old one', () => {
    const held = new RuleStates([adding('count', 1)]);
    const a = held.load('A', { count: { n: 5 } });
    const b = held.load('B', undefined);
    expect(b).not.toBe(a);
    held.drop('A');
    expect(held.indexOf('A')).toBeUndefined();
    const c = held.load('C', undefined);
    expect(c).toBe(a);
    expect(held.save(c, 1).doc).toEqual({ count: undefined });
    held.dropAll();
    expect(held.size).toBe(0);
    expect(held.load('D', undefined)).toBe(0);
  });

  it('keeps assets least recently used first', () => {
    const held = new RuleStates([adding('count', 1)]);
    for (const id of ['A', 'B', 'C']) held.load(id, undefined);
    held.touch('A', held.indexOf('A') as number);
    expect([...held.ids()]).toEqual(['B', 'C', 'A']);
  });

  it('tells whether a held asset, or a stored document, holds events', () => {
    const held = new RuleStates([adding('count', 1), holding]);
    const a = held.load('A', undefined);
    expect(held.holds(a, undefined)).toBe(false);
    (held.forms[1] as (typeof held.forms)[number]).apply(a, event, ctx, []);
    expect(held.holds(a, undefined)).toBe(true);
    expect(held.docHolds({ held: { held: true } }, undefined)).toBe(true);
    expect(held.docHolds({ count: { n: 1 } }, undefined)).toBe(false);
    expect(held.docHolds(undefined, undefined)).toBe(false);
  });
});
