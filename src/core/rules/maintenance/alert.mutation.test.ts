/** The alert-episode boundary that maintenance.test.ts leaves open: a report exactly one cooldown after the last. */
import { describe, expect, it } from 'vitest';
import { stepAlert } from './alert.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const HOUR = 3_600_000;

describe('stepAlert', () => {
  it('a report exactly one cooldown after the previous report of its code starts a new episode', () => {
    // Kills `t - last < cooldown` → `<=`: "a report this long after the previous report starts a new episode".
    const first = stepAlert(undefined, 'E-17', T0, 6 * HOUR);
    expect(first.opens).toBe(true);
    const justInside = stepAlert(first.episodes, 'E-17', T0 + 6 * HOUR - 1, 6 * HOUR);
    expect(justInside).toMatchObject({ opens: false, episodes: { 'E-17': { start: T0, last: T0 + 6 * HOUR - 1 } } });
    const atCooldown = stepAlert(first.episodes, 'E-17', T0 + 6 * HOUR, 6 * HOUR);
    expect(atCooldown).toEqual({ opens: true, episodes: { 'E-17': { start: T0 + 6 * HOUR, last: T0 + 6 * HOUR } } });
  });
});
