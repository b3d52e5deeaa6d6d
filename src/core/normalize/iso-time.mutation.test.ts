/** ISO 8601 readings pinned by a mutation audit: month lengths, hour-only offsets, decimal commas. */
import { describe, expect, it } from 'vitest';
import { isCalendarDay, parseIsoTime } from './iso-time.js';

describe('parseIsoTime: forms and days a mutation audit found untested', () => {
  it('knows November has 30 days, like April, June and September', () => {
    // Mutation: November dropped from the 30-day months.
    expect(parseIsoTime('2026-11-31T08:00:00Z')).toBe('invalid');
    expect(parseIsoTime('2026-11-31T08:00:00+01:00')).toBe('invalid');
    expect(isCalendarDay('2026-11-31')).toBe(false);
    expect(parseIsoTime('2026-11-30T08:00:00Z')).toBe(Date.UTC(2026, 10, 30, 8));
    expect(parseIsoTime('2026-12-31T08:00:00+01:00')).toBe(Date.UTC(2026, 11, 31, 7));
  });

  it('reads an offset given in whole hours (+02, -05)', () => {
    // Mutation: `+02` passed to Date.parse without its minutes.
    expect(parseIsoTime('2026-03-01T14:00:00+02')).toBe(Date.UTC(2026, 2, 1, 12));
    expect(parseIsoTime('2026-03-01T07:00:00-05')).toBe(Date.UTC(2026, 2, 1, 12));
  });

  it('reads a decimal comma in the seconds, as ISO 8601 allows', () => {
    // Mutation: the comma not turned into a point.
    expect(parseIsoTime('2026-03-01T12:00:00,250Z')).toBe(Date.UTC(2026, 2, 1, 12, 0, 0, 250));
    expect(parseIsoTime('2026-03-01 14:00:00,5+02:00')).toBe(Date.UTC(2026, 2, 1, 12, 0, 0, 500));
  });
});
