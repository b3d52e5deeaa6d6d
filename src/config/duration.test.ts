import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { durationField } from './duration.js';

const problem = (v: unknown): string | undefined => z.object({ d: durationField() }).safeParse({ d: v }).error?.issues[0]?.message;

describe('a duration config field', () => {
  it('reads units and digits alone as milliseconds', () => {
    expect(z.object({ d: durationField() }).parse({ d: '5m' }).d).toBe(300_000);
    expect(z.object({ d: durationField() }).parse({ d: '250' }).d).toBe(250);
  });

  it('says a negative duration is negative, not merely "not a duration"', () => {
    expect(problem('-1m')).toBe('"-1m" is negative: a duration is 0 or more; write e.g. 30s, 5m, 1h or a number of milliseconds');
    expect(problem(-300)).toBe('-300 is negative: a duration is 0 or more; write e.g. 30s, 5m, 1h or a number of milliseconds');
  });

  it('says how to write a unit spelt out', () => {
    expect(problem('5 minutes')).toBe('"5 minutes" is not a duration; write 5m (units: ms, s, m, h, d)');
    expect(problem('2 hrs')).toBe('"2 hrs" is not a duration; write 2h (units: ms, s, m, h, d)');
    expect(problem('1 Day')).toBe('"1 Day" is not a duration; write 1d (units: ms, s, m, h, d)');
  });

  it('keeps the general message for anything else', () => {
    expect(problem('soon')).toBe('"soon" is not a duration; write e.g. 30s, 5m, 1h or a number of milliseconds');
    expect(problem('1x2h')).toBe('"1x2h" is not a duration; write e.g. 30s, 5m, 1h or a number of milliseconds');
  });

  it('says how to write a unit in capitals, weeks, or several units at once, in the one unit a duration takes', () => {
    expect(problem('5S')).toBe('"5S" is not a duration: units are lower case; write 5s (units: ms, s, m, h, d)');
    expect(problem('30M')).toBe('"30M" is not a duration: units are lower case; write 30m (units: ms, s, m, h, d)');
    expect(problem('2w')).toBe('"2w" is not a duration; write 14d (units: ms, s, m, h, d; no weeks)');
    expect(problem('1 week')).toBe('"1 week" is not a duration; write 7d (units: ms, s, m, h, d; no weeks)');
    expect(problem('1h30m')).toBe('"1h30m" is not a duration: give it in one unit; write 90m');
    expect(problem('1d2h')).toBe('"1d2h" is not a duration: give it in one unit; write 26h');
    expect(problem('1m 30s')).toBe('"1m 30s" is not a duration: give it in one unit; write 90s');
  });
});
