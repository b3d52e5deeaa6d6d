/** Fault keys: one per distinct code (one work order per fault), and safe codes keep the key they always had. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alertKey, OVERFLOW_KEY, stepAlert } from './alert.js';
import { parseWorkOrderKey, workOrderKey } from './work-order.js';

const SAFE = /^[A-Za-z0-9._:/-]{1,60}$/;

describe('alertKey', () => {
  it('a code already safe for keys (at most 60 characters of letters, digits and . _ : / -) is its own key, as before', () => {
    expect(alertKey('SPN100-FMI1', 'x')).toBe('SPN100-FMI1');
    expect(alertKey('SPN_100', 'x')).toBe('SPN_100');
    expect(alertKey('  E-17 ', 'x')).toBe('E-17');
    expect(alertKey(undefined, 'Overheat')).toBe('Overheat');
    expect(alertKey('', '')).toBe('alert');
    const sixty = 'A'.repeat(60);
    expect(alertKey(sixty, 'x')).toBe(sixty);
    fc.assert(fc.property(fc.stringMatching(SAFE), (code) => alertKey(code, 'x') === code));
  });

  it('a blank code (an empty field of the feed) is no code: faults of different texts get keys of their own', () => {
    // Was: both 'alert', one episode, so the second fault opened no work order of its own.
    expect(alertKey('', 'Door open')).toBe(alertKey(undefined, 'Door open'));
    expect(alertKey('', 'Door open')).toMatch(/^Door_open-[0-9a-f]{12}$/);
    expect(alertKey('  ', 'Coolant high')).toBe(alertKey(undefined, 'Coolant high'));
    expect(alertKey('', 'Door open')).not.toBe(alertKey('', 'Coolant high'));
  });

  it('codes that differ only in characters keys cannot hold, or past the 60th, get keys of their own', () => {
    const codes = ['SPN 100', 'SPN_100', 'SPN#100', 'SPN|100', 'SPN~100', 'SPN\u00e9100', `${'A'.repeat(60)}1`, `${'A'.repeat(60)}2`, 'A'.repeat(60), 'Engine | stop now', 'Engine _ stop now', '\uD800', '\uDC00'];
    const keys = codes.map((c) => alertKey(c, 'x'));
    expect(new Set(keys).size).toBe(codes.length);
    for (const k of keys) {
      expect(k).toMatch(SAFE);
      expect(k).not.toBe(OVERFLOW_KEY);
    }
    // The same in every process: derived from the code alone.
    expect(alertKey('SPN 100', 'other reason')).toBe(keys[0]);
    // The readable part stays.
    expect(keys[0]).toMatch(/^SPN_100-[0-9a-f]{12}$/);
    expect(keys[6]?.startsWith('A'.repeat(47))).toBe(true);
  });

  it('distinct codes, distinct keys (property), each usable in a business key', () => {
    // Few characters, some keys cannot hold, and lengths about the cut: near misses are common.
    const near = fc.tuple(fc.boolean(), fc.string({ unit: fc.constantFrom('A', '_', ' ', '#', '\u00e9'), minLength: 1, maxLength: 5 })).map(([long, s]) => (long ? 'A'.repeat(58) + s : s));
    const code = fc.oneof(fc.string({ maxLength: 80 }), near);
    fc.assert(
      fc.property(code, code, (a, b) => {
        fc.pre(a.trim() !== b.trim() && a.trim() !== '' && b.trim() !== '');
        const ka = alertKey(a, 'x');
        expect(ka).not.toBe(alertKey(b, 'x'));
        expect(ka).toMatch(SAFE);
        expect(parseWorkOrderKey(workOrderKey('EQ-7', 'faults', `${ka}@2026-10-01T08:00:00.000Z`))?.occurrence.startsWith(ka)).toBe(true);
      }),
    );
  });

  it('two faults whose codes differ only in a space and an underscore each open a work order', () => {
    const t = Date.UTC(2026, 9, 1, 8);
    const first = stepAlert(undefined, alertKey('SPN 100', 'x'), t, 3_600_000);
    const second = stepAlert(first.episodes, alertKey('SPN_100', 'x'), t + 1000, 3_600_000);
    expect([first.opens, second.opens]).toEqual([true, true]);
  });
});
