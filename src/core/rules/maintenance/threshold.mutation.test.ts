/**
 * Boundaries of the threshold state machine that the scenario tests in maintenance.test.ts do not
 * reach: a value exactly at the threshold or the clear value, a gap exactly as long as `maxGap`,
 * a breach after a gap (pending or active), and a breach stamped exactly at the ERP's completion time.
 */
import { describe, expect, it } from 'vitest';
import { rearmThreshold, stepThreshold, type ThresholdFire, type ThresholdState } from './threshold.js';
import type { ThresholdRule } from './types.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;

/** "Coolant above 95 °C for 5 minutes", clears below 90. */
const overheat: ThresholdRule = {
  name: 'engine-overheat',
  sensor: 'coolantTemp',
  direction: 'above',
  threshold: 95,
  clearAt: 90,
  durationMs: 5 * MIN,
  maxGapMs: 10 * MIN,
  cooldownMs: 0,
  severity: 'critical',
};
/** "Oil pressure below 1.5 bar", at once, clears above 2. */
const lowOil: ThresholdRule = { ...overheat, name: 'low-oil', sensor: 'oilPressure', direction: 'below', threshold: 1.5, clearAt: 2, durationMs: 0, severity: 'warning' };

/** Feeds `[minute, value]` samples in order; returns the final state and the fires (with their minute). */
function feed(rule: ThresholdRule, samples: readonly (readonly [number, number])[], initial?: ThresholdState) {
  let state = initial;
  const fires: (ThresholdFire & { at: number })[] = [];
  for (const [m, v] of samples) {
    const r = stepThreshold(rule, state, T0 + m * MIN, v);
    state = r.state;
    if (r.fire) fires.push({ ...r.fire, at: m });
  }
  return { state, fires };
}
const starts = (fires: readonly ThresholdFire[]) => fires.map((f) => (f.start - T0) / MIN);

describe('threshold boundaries', () => {
  it('a value exactly at the threshold is no breach: "above 95" means strictly above, "below 1.5" strictly below', () => {
    // Kills `value > threshold` → `>=`.
    expect(feed(overheat, [[0, 95], [3, 95], [6, 95], [9, 95]]).fires).toEqual([]);
    expect(feed(lowOil, [[0, 1.5], [1, 1.5]]).fires).toEqual([]);
    // A hair past it is one.
    expect(starts(feed(overheat, [[0, 95.1], [5, 95.1]]).fires)).toEqual([0]);
    expect(starts(feed(lowOil, [[0, 1.49]]).fires)).toEqual([0]);
  });

  it('hysteresis: a value exactly at the clear value does not end the episode (above and below)', () => {
    // Kills `value < clearAt` → `<=` (above) and `value > clearAt` → `>=` (below): with the episode
    // wrongly ended, the next breach would open a second work order (no cooldown here).
    const hot = feed(overheat, [[0, 97], [5, 97], [6, 90], [7, 97], [12, 97]]);
    expect(starts(hot.fires)).toEqual([0]);
    expect(hot.state?.phase).toBe('active');
    const oil = feed(lowOil, [[0, 1.2], [1, 2], [2, 1.2], [3, 2], [4, 1.0]]);
    expect(starts(oil.fires)).toEqual([0]);
    // Just past the clear value it does end, and the next breach is a new episode.
    expect(starts(feed(lowOil, [[0, 1.2], [1, 2.01], [2, 1.2]]).fires)).toEqual([0, 2]);
    expect(starts(feed(overheat, [[0, 97], [5, 97], [6, 89.9], [7, 97], [12, 97]]).fires)).toEqual([0, 7]);
  });

  it('samples exactly maxGap apart still show a continuous breach', () => {
    // Kills `t - last > maxGap` → `>=`: 08:00 and 08:10 (maxGap 10 min) are one episode, held 10 min ≥ 5.
    const r = feed(overheat, [[0, 96], [10, 97]]);
    expect(r.fires.map((f) => [(f.start - T0) / MIN, f.at])).toEqual([[0, 10]]);
    // A minute more is a gap: the episode restarts at 08:11 and has not held yet.
    expect(feed(overheat, [[0, 96], [11, 97]]).fires).toEqual([]);
  });

  it('a breaching sample after a gap starts the new episode at once (its own time is the occurrence)', () => {
    // Kills dropping the "gap and breach: new pending episode" branch (the rule would fall back to
    // normal and start only at the sample after, 08:25, missing the hold that 08:20–08:25 shows).
    const r = feed(overheat, [[0, 96], [2, 97], [20, 97], [25, 97]]);
    expect(r.fires.map((f) => [(f.start - T0) / MIN, f.at])).toEqual([[20, 25]]);
  });

  it('after the ERP completes the work order, a breaching sample stamped exactly at the completion starts the new episode', () => {
    // Kills `t >= rearmAt` → `>`: "from then on" includes the completion's own time.
    // Samples every 10 minutes up to 08:35, so nothing is a gap (maxGap 10 min).
    const fired = feed(overheat, [[0, 97], [5, 97], [15, 97], [25, 97], [35, 97]]);
    expect(starts(fired.fires)).toEqual([0]);
    const rearmed = rearmThreshold(fired.state, T0, T0 + 40 * MIN);
    const after = feed(overheat, [[40, 97], [45, 97]], rearmed);
    expect(after.fires.map((f) => [(f.start - T0) / MIN, f.at])).toEqual([[40, 45]]);
    // Before the completion's time, the old episode goes on.
    expect(feed(overheat, [[39, 97], [44, 97]], rearmed).fires).toEqual([]);
  });

  it('a gap longer than maxGap ends an active episode: a device that reports only in alarm still opens the next work order', () => {
    // 97 for 5 minutes fires; 93 (between the clear value 90 and the threshold 95) ends nothing;
    // then nothing for two weeks, and 98 held for 10 minutes is a new episode.
    const twoWeeks = 14 * 24 * 60;
    const r = feed(overheat, [[0, 97], [5, 97], [6, 93], [twoWeeks, 98], [twoWeeks + 10, 98]]);
    expect(r.fires.map((f) => [(f.start - T0) / MIN, f.at])).toEqual([[0, 5], [twoWeeks, twoWeeks + 10]]);
    // A quiet value after the gap ends the episode without starting one.
    const quiet = feed(overheat, [[0, 97], [5, 97], [6, 93], [30, 93]]);
    expect(quiet.state?.phase).toBe('normal');
    // Within maxGap the active episode goes on (hysteresis): 93 again, then 98, opens nothing new.
    const held = feed(overheat, [[0, 97], [5, 97], [6, 93], [16, 98], [26, 98]]);
    expect(starts(held.fires)).toEqual([0]);
    expect(held.state?.phase).toBe('active');
  });
});
