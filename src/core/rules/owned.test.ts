import { describe, expect, it } from 'vitest';
import { createRules } from './index.js';
import { CHANGED, grown, LATE, ownedForm, ownedFromPure, type OwnedRule } from './owned.js';
import { compareOwned, streamSteps, decodeCanonical as decode } from '../../../test/helpers/owned-oracle.js';
import { stream, streamRulesConfig } from '../../../test/helpers/rules-stream.js';


describe('ownedFromPure', () => {
  const steps = streamSteps(stream(120), decode, { seed: 7, jitterMs: 45_000 });

  it('decides as the pure rule it wraps, on every rule of a fleet with history (a check of the oracle itself)', () => {
    let late = 0;
    for (const rule of createRules(streamRulesConfig)) {
      const r = compareOwned(rule, ownedFromPure(rule), steps);
      expect(r.steps).toBe(steps.length);
      if (rule.name !== 'depreciation') expect(r.deliveries, rule.name).toBeGreaterThan(0);
      late += r.late;
    }
    expect(late).toBeGreaterThan(0); // the stream has events beyond the allowed lateness
  });

  it('the oracle finds an owned form that drops a delivery, misses a change or a late event', () => {
    const [location] = createRules(streamRulesConfig);
    if (!location) throw new Error('no location rule');
    const wrong = (patch: (inner: OwnedRule) => Partial<OwnedRule>): OwnedRule => {
      const inner = ownedFromPure(location);
      return { ...inner, ...patch(inner) };
    };
    const dropsSome = wrong((inner) => ({
      apply: (a, e, ctx, out) => {
        const mine: typeof out = [];
        const flags = inner.apply(a, e, ctx, mine);
        out.push(...mine.slice(1));
        return flags;
      },
    }));
    expect(() => compareOwned(location, dropsSome, steps)).toThrow(/deliveries differ/);
    expect(() => compareOwned(location, wrong((inner) => ({ apply: (a, e, ctx, out) => inner.apply(a, e, ctx, out) & ~CHANGED })), steps)).toThrow(/CHANGED flags/);
    expect(() => compareOwned(location, wrong((inner) => ({ apply: (a, e, ctx, out) => inner.apply(a, e, ctx, out) & ~LATE })), steps)).toThrow(/late flags/);
    expect(() => compareOwned(location, wrong((inner) => ({ save: (a) => ({ ...(inner.save(a) as object), extra: 1 }) })), steps)).toThrow(/states differ/);
    // A form that hands out its live state (changed in place later) instead of a fresh value.
    const live: { n: number }[] = [];
    const inPlace: OwnedRule = {
      ...ownedFromPure(location),
      load: (a) => void (live[a] = { n: 0 }),
      save: (a) => live[a],
      apply: (a) => {
        (live[a] as { n: number }).n++;
        return CHANGED;
      },
    };
    const counting = { name: 'n', kinds: location.kinds, apply: (s: { n: number } | undefined) => ({ state: { n: (s?.n ?? 0) + 1 }, deliveries: [] }) };
    expect(() => compareOwned(counting, inPlace, steps.filter((s) => 'event' in s))).toThrow(/changed after it was saved/);
  });

  it('is what the engine runs for a rule without an owned form of its own', () => {
    const [location] = createRules(streamRulesConfig);
    if (!location) throw new Error('no location rule');
    const plain = { name: location.name, kinds: location.kinds, apply: location.apply.bind(location) };
    const owned = ownedForm(plain);
    expect(owned.name).toBe('location');
    expect(owned.holds(0)).toBe(false);
    expect(owned.flush(0, { asset: { erpAssetId: 'A', erpModule: 'm', attributes: {} }, destination: 'erp', now: 0 }, undefined, [])).toBe(0);
  });
});

describe('grown columns', () => {
  it('keep their values and type, and fill the new room', () => {
    const a = grown(Int32Array.from([4, 5]), 4, -1);
    expect(a).toBeInstanceOf(Int32Array);
    expect([...a]).toEqual([4, 5, -1, -1]);
    expect([...grown(Float64Array.from([0.5]), 3)]).toEqual([0.5, 0, 0]);
  });
});

describe('owned forms of the configured rules', () => {
  it('decide as their pure forms on an index that held another asset before (load replaces everything the index held)', () => {
    const first = streamSteps(stream(90), decode, { seed: 3, jitterMs: 20_000 });
    // The same fleet's stream again, from scratch: every index the first fold used is loaded anew.
    const again = streamSteps(stream(60), decode, { seed: 11, jitterMs: 40_000 });
    let owned = 0;
    for (const rule of createRules(streamRulesConfig)) {
      const form = ownedForm(rule);
      if (rule.owned) owned++;
      compareOwned(rule, form, first);
      expect(compareOwned(rule, form, again).steps).toBe(again.length);
      form.drop(0);
      form.load(0, undefined);
      expect(form.save(0), rule.name).toBeUndefined();
    }
    expect(owned).toBe(3); // location, maintenance and usage have owned forms; inventory is not configured here
  });
});
