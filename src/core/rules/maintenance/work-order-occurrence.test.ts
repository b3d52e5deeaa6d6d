/** Every occurrence a rule makes is one feedback is taken for; others are about no work order of ours. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alertKey, OVERFLOW_KEY } from './alert.js';
import { calendarOccurrence, cycleOccurrence } from './calendar-interval.js';
import { occurrenceOf } from './service-interval.js';
import { occurrenceProblem } from './work-order.js';

const instant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) });
const meter = fc.double({ min: 0, max: 1e7, noNaN: true });

describe('occurrenceProblem', () => {
  it('takes the occurrences of thresholds, alerts (and their overflow), service and calendar intervals', () => {
    fc.assert(
      fc.property(instant, instant, meter, meter, fc.string(), fc.integer({ min: 1, max: 1000 }), fc.constantFrom('hours' as const, 'km' as const), (t, u, a, b, code, k, m) => {
        const at = new Date(t).toISOString();
        for (const o of [at, `${alertKey(code, 'reason')}@${at}`, `${OVERFLOW_KEY}@${at}`, occurrenceOf(a, b, m), calendarOccurrence(t, u), cycleOccurrence(k, u, b, m)]) expect(occurrenceProblem(o)).toBeUndefined();
      }),
    );
  });

  it('says why for one no rule makes', () => {
    for (const o of ['garbage', '250h', '250h@bx', 'SPN 100@2026-10-01T08:00:00.000Z', '2026-10-01', '2026-10-01T08:00:00Z'])
      expect(occurrenceProblem(o)).toContain(`its occurrence ${JSON.stringify(o)} is none assetbridge makes`);
  });
});
