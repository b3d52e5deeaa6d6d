import { describe, expect, it } from 'vitest';
import type { ZoneHit } from './zone-index.js';
import { currentZones, dwellDueAt, stepZones, type ZoneTrackState } from './zone-tracker.js';

const dwell = { enterDwellMs: 30_000, exitDwellMs: 60_000 };
const inside = (...names: string[]): ZoneHit => ({ inside: names, band: [] });
const band = (...names: string[]): ZoneHit => ({ inside: [], band: names });
const away: ZoneHit = { inside: [], band: [] };

/** Feed `[seconds, hit]` fixes in order; returns the final state and the enter/exit log. */
function run(fixes: readonly (readonly [number, ZoneHit])[], start?: ZoneTrackState) {
  let state = start;
  const log: string[] = [];
  for (const [s, hit] of fixes) {
    const step = stepZones(state, s * 1000, hit, dwell);
    state = step.state;
    for (const z of step.entered) log.push(`enter ${z} @${s}`);
    for (const z of step.exited) log.push(`exit ${z} @${s}`);
  }
  return { state, log };
}

describe('zone tracker: what the state says', () => {
  it('dates a confirmed entry to the first fix inside, not to when the dwell confirmed it', () => {
    // Mutation: `since: z.since` -> `since: time` on confirmation.
    const { state, log } = run([[100, inside('yard')], [115, inside('yard')], [130, inside('yard')]]);
    expect(log).toEqual(['enter yard @130']);
    expect(state?.yard).toEqual({ phase: 'inside', since: 100_000 });
  });

  it('currentZones counts a zone being left (until the exit is confirmed) but not one being entered', () => {
    // Mutation: currentZones keeps only `inside`, dropping `leaving`.
    const state: ZoneTrackState = { yard: { phase: 'leaving', since: 1 }, dock: { phase: 'inside', since: 2 }, gate: { phase: 'entering', since: 3 } };
    expect(currentZones(state)).toEqual(['dock', 'yard']);
  });
});

describe('zone tracker: the hysteresis band', () => {
  it('a fix in the band keeps an entered zone: time spent in the band does not count towards the exit dwell', () => {
    // Mutation: the `inside` phase is kept only by fixes inside (the band starts leaving).
    const entered = run([[0, inside('yard')], [30, inside('yard')]]).state;
    const inBand = run([[100, band('yard')]], entered);
    expect(inBand.state?.yard?.phase).toBe('inside');
    // 70 s after the band fix, but only the first fix beyond the band: the exit dwell starts now.
    const beyond = run([[170, away]], inBand.state);
    expect(beyond.log).toEqual([]);
    expect(beyond.state?.yard).toEqual({ phase: 'leaving', since: 170_000 });
    expect(run([[170, away], [230, away]], inBand.state).log).toEqual(['exit yard @230']);
  });
});

describe('zone tracker: when a watermark-settled decision became due (dwellDueAt)', () => {
  it('is the latest dwell end of the entries decided together', () => {
    // Mutation: Math.min instead of Math.max over the entries.
    const prev = run([[0, inside('a')], [10, inside('a', 'b')]]).state;
    const step = stepZones(prev, 100_000, inside('a', 'b'), dwell);
    expect(step.entered).toEqual(['a', 'b']);
    // a was due at 0 + 30 s, b at 10 s + 30 s: both had dwelt long enough only at 40 s.
    expect(dwellDueAt(prev, step, dwell)).toBe(40_000);
  });

  it('dates an exit with the exit dwell, not the enter dwell', () => {
    // Mutation: the exit branch adds enterDwellMs.
    const leaving = run([[0, inside('yard')], [30, inside('yard')], [100, away]]).state;
    expect(leaving?.yard).toEqual({ phase: 'leaving', since: 100_000 });
    const step = stepZones(leaving, 500_000, away, dwell);
    expect(step.exited).toEqual(['yard']);
    expect(dwellDueAt(leaving, step, dwell)).toBe(160_000);
  });

  it('is undefined when the step decided nothing', () => {
    const prev = run([[0, inside('yard')]]).state;
    expect(dwellDueAt(prev, stepZones(prev, 10_000, inside('yard'), dwell), dwell)).toBeUndefined();
  });
});

describe('zone tracker: a fix after a silence longer than the exit dwell', () => {
  const entered: ZoneTrackState = { yard: { phase: 'inside', since: 0 }, dock: { phase: 'inside', since: 0 } };

  it('leaves at once the zones it is beyond the band of: nothing said the asset stayed', () => {
    // Before: `leaving` for another exit dwell of fixes, so an item stale for a day counted in its old bay.
    const step = stepZones(entered, 25 * 3_600_000, inside('bay-b'), dwell, 60_000);
    expect(step.exited).toEqual(['dock', 'yard']);
    expect(step.state).toEqual({ 'bay-b': { phase: 'entering', since: 25 * 3_600_000 } });
    // In the band, or inside: kept, as ever.
    expect(stepZones(entered, 25 * 3_600_000, { inside: ['dock'], band: ['yard'] }, dwell, 60_000).state).toEqual(entered);
  });

  it('only past the exit dwell, only given the previous fix, and not for a zone no longer configured (nothing says the asset is beyond it)', () => {
    expect(stepZones(entered, 120_000, away, dwell, 60_000).exited).toEqual([]); // exactly the exit dwell: not more
    expect(stepZones(entered, 120_001, away, dwell, 60_000).exited).toEqual(['dock', 'yard']);
    expect(stepZones(entered, 25 * 3_600_000, away, dwell).exited).toEqual([]); // an idle watermark's step: it stayed
    const step = stepZones(entered, 25 * 3_600_000, away, dwell, 60_000, (name) => name !== 'yard');
    expect(step.exited).toEqual(['dock']);
    expect(step.state).toEqual({ yard: { phase: 'leaving', since: 25 * 3_600_000 } });
  });
});
