/**
 * Meter-hygiene boundaries meter-hygiene.test.ts leaves open: a meter going back by less than one
 * unit, a meter unchanged for exactly the stall limit, and a reset declared again at the same time
 * with a corrected value.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_METER_HYGIENE, classifyMeterReading, declareMeterReset, type MeterHygieneState, type MeterReading, type MeterVerdict } from './meter-hygiene.js';

const H = 3_600_000;
const T0 = Date.UTC(2025, 2, 1, 8);
const r = (value: number, hoursAfterT0: number): MeterReading => ({ value, eventTime: T0 + hoursAfterT0 * H });

function run(readings: readonly MeterReading[], initial: MeterHygieneState = {}): { verdicts: MeterVerdict[]; state: MeterHygieneState } {
  let state = initial;
  const verdicts: MeterVerdict[] = [];
  for (const reading of readings) {
    const result = classifyMeterReading(state, reading);
    state = result.state;
    verdicts.push(result.verdict);
  }
  return { verdicts, state };
}

describe('classifyMeterReading boundaries', () => {
  it('a meter going back by a fraction of an hour is flagged backwards, never counted as negative usage', () => {
    // Kills tolerating small drops (`delta < 0` → `delta < -0.5`): 0.2 h would be "accepted" with usage −0.2.
    const { verdicts, state } = run([r(1000, 0), r(999.8, 5), r(1001, 10)]);
    expect(verdicts[1]).toMatchObject({ status: 'backwards', previous: r(1000, 0) });
    expect(verdicts[2]).toEqual({ status: 'accepted', usage: 1, previous: r(1000, 0), reading: r(1001, 10) });
    expect(state.last).toEqual(r(1001, 10));
  });

  it('a meter unchanged for exactly the stall limit is not stalled yet; a moment longer is', () => {
    // Kills `unchanged > stalledAfter` → `>=`.
    const limit = DEFAULT_METER_HYGIENE.stalledAfterMs;
    const exactly = classifyMeterReading({ last: r(500, 0), confirmedAt: T0 }, { value: 500, eventTime: T0 + limit });
    expect(exactly.verdict).toMatchObject({ status: 'accepted', usage: 0 });
    const longer = classifyMeterReading({ last: r(500, 0), confirmedAt: T0 }, { value: 500, eventTime: T0 + limit + 1 });
    expect(longer.verdict).toMatchObject({ status: 'stalled', newFlag: true });
  });
});

describe('declareMeterReset', () => {
  it('a reset declared again for the same time with a corrected value takes the correction', () => {
    // Kills treating a same-time declaration as out of order (`<` → `<=`): a typo in
    // `assets reset-meter --hours` could then never be fixed.
    const first = declareMeterReset({ last: r(4010, 12) }, r(30, 20));
    const corrected = declareMeterReset(first.state, r(3, 20));
    expect(corrected.verdict).toMatchObject({ status: 'reset', reading: r(3, 20) });
    expect(corrected.state).toMatchObject({ last: r(3, 20), lastReset: r(3, 20) });
    // The next reading continues from the corrected value.
    expect(classifyMeterReading(corrected.state, r(5, 22)).verdict).toMatchObject({ status: 'accepted', usage: 2 });
    // An older one is still ignored.
    expect(declareMeterReset(corrected.state, r(0, 19)).verdict).toMatchObject({ status: 'out-of-order' });
  });
});
