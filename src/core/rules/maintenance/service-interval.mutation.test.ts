/**
 * Service-interval details the scenario tests in maintenance.test.ts leave open: a baseline
 * attribute of 0, the "due soon" flag exactly at the due point, fractional baselines in business
 * keys, and the next due point after one was opened.
 */
import { describe, expect, it } from 'vitest';
import { attributeBaseline, initialBaseline, nextDue, occurrenceOf, stepService } from './service-interval.js';
import type { ServiceIntervalRule } from './types.js';

const service250: ServiceIntervalRule = { name: 'service-250h', meter: 'hours', every: 250, dueSoon: 0, baselineAttribute: 'lastServiceHours', defaultBaseline: 'first-reading', severity: 'warning' };

describe('the baseline attribute', () => {
  it('a last service at 0 h (a new machine) is a baseline, not a missing attribute', () => {
    // Kills `parsed >= 0` → `> 0`: the schedule would count from the first reading instead.
    expect(attributeBaseline(service250, { lastServiceHours: '0' })).toBe(0);
    expect(initialBaseline(service250, { lastServiceHours: '0' }, 120)).toBe(0);
    const r = stepService(service250, { base: initialBaseline(service250, { lastServiceHours: '0' }, 120) }, 251);
    expect(r.fire?.occurrence).toBe('250h@b0');
    // Absent, blank or negative: the rule's default (here the first reading).
    expect(initialBaseline(service250, {}, 120)).toBe(120);
    expect(initialBaseline(service250, { lastServiceHours: ' ' }, 120)).toBe(120);
    expect(initialBaseline(service250, { lastServiceHours: '-5' }, 120)).toBe(120);
  });
});

describe('the due-soon flag', () => {
  it('a reading exactly at the due point is due, not due soon', () => {
    // Kills `reading < due` → `<=` (the work order would say "due soon" for a service that is due).
    const lead = { ...service250, dueSoon: 25 };
    expect(stepService(lead, { base: 0 }, 250).fire).toMatchObject({ due: 250, dueSoon: false });
    expect(stepService(lead, { base: 0 }, 249.99).fire).toMatchObject({ due: 250, dueSoon: true });
    expect(stepService(lead, { base: 0 }, 225).fire).toMatchObject({ due: 250, dueSoon: true });
    expect(stepService(lead, { base: 0 }, 224.99).fire).toBeUndefined();
  });
});

describe('occurrences', () => {
  it('keep a fractional baseline to two decimals, so a completion at 252.5 h starts keys of its own', () => {
    // Kills rounding readings in keys to whole hours: 252.5 and 253 would share keys.
    expect(occurrenceOf(502.5, 252.5)).toBe('502.5h@b252.5');
    expect(occurrenceOf(503, 253)).toBe('503h@b253');
    expect(occurrenceOf(15_000.126, 0.004, 'km')).toBe('15000.13km@b0');
    expect(stepService(service250, { base: 252.5 }, 502.6).fire?.occurrence).toBe('502.5h@b252.5');
  });
});

describe('the next due point', () => {
  it('is the one after the last opened, under the same baseline', () => {
    // Kills dropping the `+ 1` (status would show the opened, cancelled due point as the next one).
    expect(nextDue(service250, { base: 0 })).toBe(250);
    expect(nextDue(service250, { base: 0, firedDue: 250 })).toBe(500);
    expect(nextDue(service250, { base: 100, firedDue: 850 })).toBe(1100);
  });

  it('after the interval was changed in the config, is the first of the new interval past the last opened: the one the next reading opens', () => {
    // 250h@b0 was opened (and cancelled) under every: 250, then the rule became every 300 (or 500):
    // the next reading opens 300 (500), so status must not say 600 (1000).
    for (const every of [300, 500, 1000, 200]) {
      const changed = { ...service250, every };
      const next = nextDue(changed, { base: 0, firedDue: 250 });
      const opens = stepService(changed, { base: 0, firedDue: 250 }, next).fire?.due;
      expect(opens).toBe(next);
      // And no reading short of it opens anything.
      expect(stepService(changed, { base: 0, firedDue: 250 }, next - 0.01).fire).toBeUndefined();
    }
    expect(nextDue({ ...service250, every: 300 }, { base: 0, firedDue: 250 })).toBe(300);
    expect(nextDue({ ...service250, every: 500 }, { base: 0, firedDue: 250 })).toBe(500);
    expect(nextDue({ ...service250, every: 200 }, { base: 0, firedDue: 250 })).toBe(400);
  });
});
