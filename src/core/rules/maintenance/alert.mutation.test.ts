/** The alert-episode boundary that maintenance.test.ts leaves open: a report exactly one cooldown after the last. */
import { describe, expect, it } from 'vitest';
import { MAX_EPISODES, OVERFLOW_KEY, pruneLapsed, stepAlert, type AlertEpisodes } from './alert.js';

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
    expect(atCooldown).toEqual({ opens: true, into: 'E-17', episodes: { 'E-17': { start: T0 + 6 * HOUR, last: T0 + 6 * HOUR } } });
  });

  it('many faults active at once: each keeps its episode (no second work order) while within its cooldown', () => {
    // A bus fault raising 100 codes in a row, then each reported again: one work order per code.
    const cooldown = 24 * HOUR;
    let episodes: AlertEpisodes | undefined;
    let opened = 0;
    const codes = Array.from({ length: 100 }, (_, i) => `SPN${i}-FMI2`);
    for (const [round, at] of [T0, T0 + 6 * HOUR].entries())
      for (const [i, code] of codes.entries()) {
        const step = stepAlert(episodes, code, at + i * 1000, cooldown);
        episodes = step.episodes;
        if (step.opens) opened++;
        else expect(round).toBe(1);
      }
    expect(opened).toBe(codes.length);
  });

  it('keeps at most MAX_EPISODES, dropping those past their cooldown, never one within it: the faults past the cap share the overflow', () => {
    const cooldown = HOUR;
    let episodes: AlertEpisodes | undefined;
    // Old faults, long quiet by the time the new ones come.
    for (let i = 0; i < MAX_EPISODES; i++) episodes = stepAlert(episodes, `OLD-${i}`, T0 + i, cooldown).episodes;
    const later = T0 + 10 * HOUR;
    episodes = stepAlert(episodes, 'NEW-0', later, cooldown).episodes;
    expect(Object.keys(episodes)).toEqual(['NEW-0']);
    for (let i = 1; i < MAX_EPISODES; i++) {
      const step = stepAlert(episodes, `NEW-${i}`, later + i, cooldown);
      expect(step).toMatchObject({ opens: true, into: `NEW-${i}` });
      episodes = step.episodes;
    }
    // One too many: the overflow opens, and the faults within their cooldown all stay.
    const over = stepAlert(episodes, 'MORE-0', later + MAX_EPISODES, cooldown);
    expect(over).toMatchObject({ opens: true, into: OVERFLOW_KEY });
    episodes = over.episodes;
    expect(episodes['NEW-0']).toEqual({ start: later, last: later });
    expect(episodes['MORE-0']).toBeUndefined();
    expect(episodes[OVERFLOW_KEY]).toMatchObject({ start: later + MAX_EPISODES, last: later + MAX_EPISODES });
    expect(episodes[OVERFLOW_KEY]?.f).toHaveLength(1);
    // More of them join it (opening nothing), the tracked ones go on as before.
    const more = stepAlert(episodes, 'MORE-1', later + MAX_EPISODES + 1, cooldown);
    expect(more).toMatchObject({ opens: false, into: OVERFLOW_KEY });
    expect(more.episodes[OVERFLOW_KEY]).toMatchObject({ start: later + MAX_EPISODES, last: later + MAX_EPISODES + 1 });
    expect(more.episodes[OVERFLOW_KEY]?.f).toHaveLength(2);
    expect(stepAlert(more.episodes, 'NEW-0', later + MAX_EPISODES + 2, cooldown)).toMatchObject({ opens: false, into: 'NEW-0' });
    expect(Object.keys(more.episodes)).toHaveLength(MAX_EPISODES + 1);
    // A fault new while the overflow lasts joins it even with room (every NEW-* is past its cooldown by
    // then): it may be one the overflow took, forgotten as a key.
    const end = later + MAX_EPISODES + 1 + HOUR;
    const joins = stepAlert(more.episodes, 'MORE-0', end - 1, cooldown);
    expect(joins).toMatchObject({ opens: false, into: OVERFLOW_KEY });
    expect(joins.episodes[OVERFLOW_KEY]).toMatchObject({ start: later + MAX_EPISODES, last: end - 1 });
    // MORE-0 again: the same fault, counted once.
    expect(joins.episodes[OVERFLOW_KEY]?.f).toHaveLength(2);
    // Once no fault past the cap has been reported for the cooldown, the overflow is over: room again.
    const after = stepAlert(more.episodes, 'MORE-0', end, cooldown);
    expect(after).toMatchObject({ opens: true, into: 'MORE-0' });
    expect(Object.keys(after.episodes)).toEqual(['MORE-0']);
  });
});

describe('pruneLapsed', () => {
  it('drops an episode exactly one cooldown before the newest report, keeps one just within it, and always the newest', () => {
    const episodes: AlertEpisodes = { A: { start: T0, last: T0 }, B: { start: T0, last: T0 + 1 }, C: { start: T0, last: T0 + HOUR } };
    expect(Object.keys(pruneLapsed(episodes, T0 + HOUR, HOUR))).toEqual(['B', 'C']);
    // Nothing lapsed: the same object (no copy per report).
    expect(pruneLapsed(episodes, T0 + HOUR - 1, HOUR)).toBe(episodes);
    // A cooldown of 0: every episode is past it, but the newest one stays (it refuses older reports).
    expect(Object.keys(pruneLapsed(episodes, T0 + HOUR, 0))).toEqual(['C']);
  });
});
