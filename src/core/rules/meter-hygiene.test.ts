import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_METER_HYGIENE,
  ODOMETER_HYGIENE,
  classifyMeterReading,
  declareMeterReset,
  isFlagged,
  type MeterHygieneState,
  type MeterReading,
  type MeterVerdict,
} from './meter-hygiene.js';

const H = 3_600_000;
const DAY = 24 * H;
const T0 = Date.UTC(2025, 2, 1, 8);
const r = (value: number, hoursAfterT0: number): MeterReading => ({ value, eventTime: T0 + hoursAfterT0 * H });

/** Feeds readings in order and returns every verdict plus the final state. */
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

describe('classifyMeterReading', () => {
  it('takes the first reading as the baseline, then counts plausible increases as usage', () => {
    const { verdicts, state } = run([r(1000, 0), r(1006.5, 8), r(1010, 24)]);
    expect(verdicts).toEqual([
      { status: 'accepted', usage: 0, reading: r(1000, 0) },
      { status: 'accepted', usage: 6.5, previous: r(1000, 0), reading: r(1006.5, 8) },
      { status: 'accepted', usage: 3.5, previous: r(1006.5, 8), reading: r(1010, 24) },
    ]);
    expect(state).toEqual({ last: r(1010, 24), confirmedAt: T0 + 24 * H, stallFlagged: false });
  });

  it('ignores the same reading again without a flag', () => {
    const { verdicts, state } = run([r(1000, 0), r(1002, 2), r(1002, 2)]);
    expect(verdicts[2]).toEqual({ status: 'duplicate', reading: r(1002, 2) });
    expect(state.last).toEqual(r(1002, 2));
  });

  it('flags a meter that goes backwards and keeps the base, so no usage is lost', () => {
    const { verdicts, state } = run([r(1000, 0), r(990, 5), r(1007, 10)]);
    expect(verdicts[1]).toMatchObject({ status: 'backwards', previous: r(1000, 0), newFlag: true });
    expect((verdicts[1] as { detail: string }).detail).toMatch(/went backwards from 1000 .* to 990 .*assetbridge assets reset-meter <asset>/);
    expect(verdicts[2]).toEqual({ status: 'accepted', usage: 7, previous: r(1000, 0), reading: r(1007, 10) });
    expect(state.last).toEqual(r(1007, 10));
  });

  it('flags a meter faster than the wall clock; a later plausible reading gets the whole delta', () => {
    const { verdicts } = run([r(1000, 0), r(1010, 2), r(1010, 12)]);
    expect(verdicts[1]).toMatchObject({ status: 'too-fast', previous: r(1000, 0) });
    expect((verdicts[1] as { detail: string }).detail).toBe(
      'meter advanced 10 h in 2 h of wall clock (at most 2.2 h possible), from 1000 to 1010; if the meter or ECU was replaced, declare it: assetbridge assets reset-meter <asset> --hours <new reading> --at <when>',
    );
    expect(verdicts[2]).toEqual({ status: 'accepted', usage: 10, previous: r(1000, 0), reading: r(1010, 12) });
  });

  it('says a too-fast odometer in km, with readable numbers', () => {
    const first = classifyMeterReading({}, r(88_000, 0), ODOMETER_HYGIENE).state;
    const { verdict } = classifyMeterReading(first, { value: 88_260, eventTime: T0 + (83.181944 / 200) * H }, ODOMETER_HYGIENE);
    expect((verdict as { detail: string }).detail).toBe('meter advanced 260 km in 0.42 h of wall clock (at most 88.34 km possible), from 88000 to 88260; if the meter or ECU was replaced, declare it: assetbridge assets reset-meter <asset> --km <new reading> --at <when>');
  });

  it('allows one resolution step within a short interval', () => {
    const { verdicts } = run([r(1000, 0), { value: 1000.1, eventTime: T0 + 60_000 }]);
    expect(verdicts[1]).toMatchObject({ status: 'accepted', usage: 0.1 });
  });

  it('an unchanged meter is accepted with zero usage until it has been unchanged too long, then flagged once per stall', () => {
    const { verdicts, state } = run([r(500, 0), r(500, 3 * 24), r(500, 8 * 24), r(500, 9 * 24), r(504, 9 * 24 + 5)]);
    expect(verdicts[1]).toEqual({ status: 'accepted', usage: 0, previous: r(500, 0), reading: r(500, 72) });
    expect(verdicts[2]).toMatchObject({ status: 'stalled', newFlag: true });
    expect((verdicts[2] as { detail: string }).detail).toMatch(/shown 500 since 2025-03-01T08:00:00.000Z \(8 days\)/);
    expect(verdicts[3]).toMatchObject({ status: 'stalled', newFlag: false });
    // The delta is measured from when the meter first showed 500, so catching up is not "too fast".
    expect(verdicts[4]).toEqual({ status: 'accepted', usage: 4, previous: r(500, 0), reading: r(504, 221) });
    expect(state.stallFlagged).toBe(false);
  });

  it('a feed that froze and catches up is not flagged as too fast', () => {
    const { verdicts } = run([r(100, 0), r(100, 24), r(100, 48), r(160, 72)]);
    expect(verdicts[3]).toMatchObject({ status: 'accepted', usage: 60 });
  });

  it('flags readings older than the newest accepted one, and conflicting values at the same time', () => {
    const { verdicts, state } = run([r(1000, 0), r(1008, 10), r(1004, 5), r(1009, 10), r(1008, 7)]);
    expect(verdicts[2]).toMatchObject({ status: 'out-of-order', previous: r(1008, 10) });
    expect((verdicts[2] as { detail: string }).detail).toMatch(/older than the accepted reading at 2025-03-01T18:00:00.000Z/);
    expect(verdicts[3]).toMatchObject({ status: 'out-of-order' });
    expect((verdicts[3] as { detail: string }).detail).toMatch(/has the time of the accepted reading 1008 but a different value/);
    expect(verdicts[4]).toMatchObject({ status: 'out-of-order' });
    expect(state.last).toEqual(r(1008, 10));
  });

  it('an older confirmation of the current value is a harmless duplicate', () => {
    const { verdicts } = run([r(1000, 0), r(1008, 10), r(1008, 20), r(1008, 15)]);
    expect(verdicts[3]).toEqual({ status: 'duplicate', reading: r(1008, 15) });
  });

  it('honours the options', () => {
    const strict = { ...DEFAULT_METER_HYGIENE, stalledAfterMs: DAY, wallClockTolerance: 1, resolutionSlack: 0 };
    const s0 = classifyMeterReading({}, r(10, 0), strict).state;
    expect(classifyMeterReading(s0, r(10, 25), strict).verdict.status).toBe('stalled');
    expect(classifyMeterReading(s0, r(11.01, 1), strict).verdict.status).toBe('too-fast');
    expect(classifyMeterReading(s0, r(11, 1), strict).verdict.status).toBe('accepted');
  });
});

describe('declareMeterReset', () => {
  it('sets a new baseline that later readings continue from; older readings belong to the old meter', () => {
    const before = run([r(4000, 0), r(4010, 12)]).state;
    const reset = declareMeterReset(before, r(0, 20));
    expect(reset.verdict).toEqual({ status: 'reset', reading: r(0, 20), previous: r(4010, 12) });
    const after = run([r(3.5, 24), r(4012, 16), r(9, 30)], reset.state);
    expect(after.verdicts[0]).toEqual({ status: 'accepted', usage: 3.5, previous: r(0, 20), reading: r(3.5, 24) });
    expect(after.verdicts[1]).toMatchObject({ status: 'out-of-order' });
    expect((after.verdicts[1] as { detail: string }).detail).toMatch(/predates the meter reset declared at 2025-03-02T04:00:00.000Z/);
    expect(after.verdicts[2]).toMatchObject({ status: 'accepted', usage: 5.5 });
  });

  it('declaring the same reset again changes nothing; an older reset is ignored', () => {
    const once = declareMeterReset({}, r(0, 20)).state;
    const advanced = run([r(5, 26)], once).state;
    expect(declareMeterReset(advanced, r(0, 20))).toEqual({ state: advanced, verdict: { status: 'duplicate', reading: r(0, 20) } });
    const older = declareMeterReset(advanced, r(2, 10));
    expect(older.state).toBe(advanced);
    expect(older.verdict).toMatchObject({ status: 'out-of-order', newFlag: true });
  });
});

describe('meter hygiene properties', () => {
  const readings = fc.array(
    fc.record({ value: fc.double({ min: 0, max: 2000, noNaN: true }), hours: fc.double({ min: 0, max: 500, noNaN: true }) }).map(({ value, hours }) => r(Math.round(value * 10) / 10, Math.round(hours * 60) / 60)),
    { maxLength: 40 },
  );

  it('accepted usage is never negative, sums to the meter advance, and respects the wall clock', () => {
    fc.assert(
      fc.property(readings, (list) => {
        const { verdicts, state } = run(list);
        let sum = 0;
        let first: number | undefined;
        for (const v of verdicts) {
          if (v.status !== 'accepted') continue;
          first ??= v.reading.value;
          expect(v.usage).toBeGreaterThanOrEqual(0);
          if (v.previous) {
            const elapsedH = (v.reading.eventTime - v.previous.eventTime) / H;
            expect(v.usage).toBeLessThanOrEqual(elapsedH * 1.05 + 0.1 + 1e-9);
          }
          sum += v.usage;
        }
        if (first !== undefined && state.last) expect(sum).toBeCloseTo(state.last.value - first, 5);
      }),
    );
  });

  it('a flagged reading never moves the base reading', () => {
    fc.assert(
      fc.property(readings, (list) => {
        let state: MeterHygieneState = {};
        for (const reading of list) {
          const result = classifyMeterReading(state, reading);
          if (isFlagged(result.verdict) || result.verdict.status === 'duplicate') expect(result.state.last).toEqual(state.last);
          state = result.state;
        }
      }),
    );
  });
});

// Boundaries found unpinned by mutation testing: a meter going back by less than one unit, a meter
// unchanged for exactly the stall limit, and a reset declared again at the same time with a
// corrected value.
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

describe('meter hygiene: persisted states', () => {
  it('a state read back from JSON (any key order, stallFlagged absent) keeps its reset and gains exactly the fields it had', () => {
    const stored: MeterHygieneState = JSON.parse(
      JSON.stringify({ lastReset: r(10, 0), confirmedAt: T0 + 2 * H, last: r(11, 1) }),
    ) as MeterHygieneState;
    // Unchanged value: confirmed later, nothing else added.
    const same = classifyMeterReading(stored, r(11, 3));
    expect(same.state).toStrictEqual({ last: r(11, 1), confirmedAt: T0 + 3 * H, lastReset: r(10, 0) });
    // Advanced: a new base, the stall flag reset, the declared reset kept.
    const advanced = classifyMeterReading(same.state, r(12, 4));
    expect(advanced.state).toStrictEqual({ last: r(12, 4), confirmedAt: T0 + 4 * H, stallFlagged: false, lastReset: r(10, 0) });
    expect(classifyMeterReading(advanced.state, r(9, 5)).verdict).toMatchObject({ status: 'backwards' });
  });
});

// A meter swapped (undeclared) for one showing many more hours: readings continue from the jumped
// value. Each was judged against the last accepted reading only, so once enough wall clock had
// passed to allow the jump, the whole jump was accepted as usage.
describe('classifyMeterReading: a sustained jump', () => {
  /** Readings every `stepH` hours from `fromH` to `toH`, from `value`, advancing `rate` h per hour. */
  const feed = (value: number, fromH: number, toH: number, stepH: number, rate: number): MeterReading[] => {
    const out: MeterReading[] = [];
    for (let h = fromH; h <= toH; h += stepH) out.push(r(Math.round((value + (h - fromH) * rate) * 100) / 100, h));
    return out;
  };

  it('stays set aside however much wall clock passes, until the reset is declared', () => {
    // 5000 h, then at 1 h a meter showing 7000 that runs a third of the time, read every 30 minutes for 150 days.
    const readings = [r(5000, 0), ...feed(7000, 1, 150 * 24, 0.5, 1 / 3)];
    const { verdicts, state } = run(readings);
    expect(verdicts.slice(1).filter((v) => v.status === 'accepted')).toEqual([]);
    expect(verdicts.slice(1).every((v) => v.status === 'too-fast')).toBe(true);
    expect(state).toMatchObject({ last: r(5000, 0), jump: r(7000, 1), jumpSustained: true });
    // Past ~116 days the jump alone would be possible: still set aside, with why.
    const last = verdicts[verdicts.length - 1] as { detail: string };
    expect(last.detail).toBe(
      'meter at 8199.67 counts on from 7000 (2025-03-01T09:00:00.000Z), which ran ahead of the wall clock from 5000 (2025-03-01T08:00:00.000Z), and the readings since have continued from it: set aside until the jump is declared; if the meter or ECU was replaced, declare it: assetbridge assets reset-meter <asset> --hours <new reading> --at <when>',
    );
    // Declared: the readings after it count on from the new meter.
    const reset = declareMeterReset(state, r(7000, 1));
    expect(reset.state).toEqual({ last: r(7000, 1), confirmedAt: T0 + H, stallFlagged: false, lastReset: r(7000, 1) });
    expect(classifyMeterReading(reset.state, r(8200, 150 * 24 + 1)).verdict).toMatchObject({ status: 'accepted', usage: 1200 });
  });

  it('a one-off spike does not hold back the readings after it, even ones above it later', () => {
    const { verdicts, state } = run([r(1000, 0), r(3000, 1), r(1001, 2), r(1001.5, 3), r(3000.5, 2000)]);
    expect(verdicts[1]).toMatchObject({ status: 'too-fast' });
    expect(verdicts[2]).toEqual({ status: 'accepted', usage: 1, previous: r(1000, 0), reading: r(1001, 2) });
    expect(verdicts[3]).toMatchObject({ status: 'accepted', usage: 0.5 });
    expect(verdicts[4]).toMatchObject({ status: 'accepted', usage: 1999 });
    expect(state.jump).toBeUndefined();
  });

  it('a few spikes that do not continue each other do not make a sustained jump', () => {
    const { verdicts, state } = run([r(1000, 0), r(3000, 1), r(9000, 2), r(2000, 3), r(1500, 1000)]);
    expect(verdicts.slice(1, 4).map((v) => v.status)).toEqual(['too-fast', 'too-fast', 'too-fast']);
    expect(verdicts[4]).toMatchObject({ status: 'accepted', usage: 500 });
    expect(state.jump).toBeUndefined();
  });

  it('the same too-fast reading again does not make it sustained', () => {
    const { verdicts } = run([r(1000, 0), r(1010, 2), r(1010, 2), r(1010, 12)]);
    expect(verdicts[3]).toEqual({ status: 'accepted', usage: 10, previous: r(1000, 0), reading: r(1010, 12) });
  });

  it('a reading of the old meter in between clears the jump', () => {
    const { verdicts, state } = run([r(1000, 0), r(1100, 1), r(1100.5, 2), r(1000, 3), r(1100.6, 200)]);
    expect(verdicts[2]).toMatchObject({ status: 'too-fast' });
    expect(verdicts[3]).toMatchObject({ status: 'accepted', usage: 0 });
    expect(verdicts[4]).toMatchObject({ status: 'accepted', usage: 100.6 });
    expect(state.jump).toBeUndefined();
  });

  it('a reading below the jump, possible since the last accepted one, is accepted (the old meter is back)', () => {
    const { verdicts, state } = run([r(1000, 0), r(1100, 1), r(1100.5, 2), r(1050, 100)]);
    expect(verdicts[3]).toEqual({ status: 'accepted', usage: 50, previous: r(1000, 0), reading: r(1050, 100) });
    expect(state.jump).toBeUndefined();
  });

  it('a reading arriving late that the jump continues from makes it sustained too (event time wins)', () => {
    const { verdicts, state } = run([r(1000, 0), r(1100.5, 2), r(1100, 1), r(1101, 200)]);
    expect(state).toMatchObject({ jump: r(1100, 1), jumpSustained: true });
    expect(verdicts[3]).toMatchObject({ status: 'too-fast' });
    expect(run([r(1000, 0), r(1100, 1), r(1100.5, 2), r(1101, 200)]).verdicts[3]).toMatchObject({ status: 'too-fast' });
  });

  it('the remembered jump survives JSON, and a state stored before it existed reads as none', () => {
    const held = run([r(1000, 0), r(1100, 1), r(1100.5, 2)]).state;
    const stored = JSON.parse(JSON.stringify(held)) as MeterHygieneState;
    expect(stored).toStrictEqual({ last: r(1000, 0), confirmedAt: T0, stallFlagged: false, jump: r(1100, 1), jumpSustained: true });
    expect(classifyMeterReading(stored, r(1101, 200)).verdict).toMatchObject({ status: 'too-fast' });
    expect(classifyMeterReading({ last: r(1000, 0), confirmedAt: T0 }, r(1101, 200)).verdict).toMatchObject({ status: 'accepted', usage: 101 });
  });
});

// After readings were set aside, the next reading is judged against the last trusted one. One
// reading ahead of the wall clock is no evidence of a swapped meter when a later reading is
// explained by the last trusted one (a spike the real meter has since passed); two readings
// ahead of it that continue each other are (a sustained jump, above). Whatever is counted stays
// within the wall clock since the last trusted reading.
describe('classifyMeterReading: the first plausible reading after readings set aside', () => {
  const usages = (readings: readonly MeterReading[]): (number | string)[] => run(readings).verdicts.map((v) => (v.status === 'accepted' ? v.usage : v.status));

  it('a spike and back to normal counts only the real usage', () => {
    expect(usages([r(1000, 0), r(5000, 1), r(1002, 3), r(1004, 5)])).toEqual([0, 'too-fast', 2, 2]);
  });

  it('a small spike that the next (daily) reading has passed: that reading counts from the last trusted one, within the wall clock', () => {
    expect(usages([r(1000, 0), r(1005, 1), r(1008, 24)])).toEqual([0, 'too-fast', 8]);
  });

  it('a jump only one reading showed, then a long quiet: counted whole, as it is within the wall clock since the last trusted reading; a second reading ahead of the wall clock continuing it holds it', () => {
    const { verdicts } = run([r(1000, 0), r(1300, 24), r(1300, 744)]);
    expect(verdicts[2]).toEqual({ status: 'accepted', usage: 300, previous: r(1000, 0), reading: r(1300, 744) });
    expect(usages([r(1000, 0), r(1300, 24), r(1300, 25), r(1300, 744)])).toEqual([0, 'too-fast', 'too-fast', 'too-fast']);
  });

  it('a spike, then a frozen feed that catches up: the catch-up counts its real usage, the spike nothing', () => {
    expect(usages([r(100, 0), r(500, 1), r(100, 24), r(160, 72)])).toEqual([0, 'too-fast', 0, 60]);
  });

  it('readings set aside as backwards, then a plausible one: counted from the last trusted reading, not from the backwards ones', () => {
    expect(usages([r(1000, 0), r(990, 5), r(995, 8), r(1003, 10)])).toEqual([0, 'backwards', 'backwards', 3]);
  });

  it('readings set aside as stalled, then a catch-up: counted from when the meter first showed the value', () => {
    expect(usages([r(500, 0), r(500, 8 * 24), r(500, 9 * 24), r(700, 9 * 24 + 1)])).toEqual([0, 'stalled', 'stalled', 200]);
  });
});

describe('classifyMeterReading: holdCatchUp (the rules\' hygiene: service intervals, meter sync, usage per period)', () => {
  const HOLD = { ...DEFAULT_METER_HYGIENE, holdCatchUp: true };
  const runHeld = (readings: readonly MeterReading[]): { verdicts: MeterVerdict[]; state: MeterHygieneState } => {
    let state: MeterHygieneState = {};
    const verdicts: MeterVerdict[] = [];
    for (const reading of readings) {
      const result = classifyMeterReading(state, reading, HOLD);
      state = result.state;
      verdicts.push(result.verdict);
    }
    return { verdicts, state };
  };
  const idle = [r(1000, 0), r(1000, 100), r(1100, 101)];

  it('holds a reading possible since the value was first shown but not since it was last shown, in `jump` with `jumpHeld`; the same reading again changes nothing', () => {
    const { verdicts, state } = runHeld([...idle, r(1100, 101)]);
    expect(verdicts[2]).toMatchObject({ status: 'too-fast', newFlag: true, previous: r(1000, 0) });
    expect((verdicts[2] as { detail: string }).detail).toMatch(/^meter advanced 100 h in 1 h since it last showed 1000 .*held until the next reading/);
    expect(verdicts[3]).toMatchObject({ status: 'too-fast', newFlag: false });
    expect(state).toEqual({ last: r(1000, 0), confirmedAt: T0 + 100 * H, stallFlagged: false, jump: r(1100, 101), jumpHeld: true });
    // Off (the default): accepted at once.
    expect(run(idle).verdicts[2]).toMatchObject({ status: 'accepted', usage: 100 });
  });

  it('a next reading continuing from it confirms it: accepted with the whole advance from the first showing', () => {
    expect(runHeld([...idle, r(1101, 102)]).verdicts[3]).toEqual({ status: 'accepted', usage: 101, previous: r(1000, 0), reading: r(1101, 102), confirmed: r(1100, 101) });
    // The same value again: confirmed, and the meter first showed 1100 when the held reading came.
    expect(runHeld([...idle, r(1100, 150)]).state).toEqual({ last: r(1100, 101), confirmedAt: T0 + 150 * H, stallFlagged: false });
  });

  it('a next reading not continuing from it sets it aside, saying so', () => {
    for (const next of [r(1000, 102), r(1001, 102), r(5000, 102)]) {
      const { verdicts, state } = runHeld([...idle, next]);
      expect(JSON.stringify(verdicts[3])).toMatch(/reading 1100 at 2025-03-05T13:00:00.000Z, held .*set aside/);
      expect(state.jumpHeld).toBeUndefined();
    }
    expect(runHeld([...idle, r(1001, 102)]).verdicts[3]).toMatchObject({ status: 'accepted', usage: 1 });
    // A reading ahead of the wall clock since the first showing after it is a jump of its own, not sustained by the held one.
    expect(runHeld([...idle, r(5000, 102)]).state).toMatchObject({ jump: r(5000, 102) });
    expect(runHeld([...idle, r(5000, 102)]).state.jumpSustained).toBeUndefined();
  });

  it('a reading older than the held one, or of its time with another value, is out of order and decides nothing, as had the held one been taken at once', () => {
    const { verdicts, state } = runHeld([...idle, r(1000.5, 100.5), r(1050, 101)]);
    expect(verdicts.slice(3).map((v) => v.status)).toEqual(['out-of-order', 'out-of-order']);
    expect((verdicts[3] as { detail: string }).detail).toMatch(/^reading 1000.5 at .* is older than the reading 1100 at .*, held until the next reading$/);
    expect(state).toMatchObject({ jump: r(1100, 101), jumpHeld: true });
    expect(run([...idle, r(1000.5, 100.5), r(1050, 101)]).verdicts.slice(3).map((v) => v.status)).toEqual(['out-of-order', 'out-of-order']);
    // The next reading in event time decides.
    expect(runHeld([...idle, r(1000.5, 100.5), r(1101, 102)]).verdicts[4]).toMatchObject({ status: 'accepted', usage: 101, confirmed: r(1100, 101) });
  });

  it('a backwards reading leaves it held; the next one decides', () => {
    const { verdicts } = runHeld([...idle, r(990, 102), r(1102, 103)]);
    expect(verdicts.slice(3).map((v) => v.status)).toEqual(['backwards', 'accepted']);
    expect(verdicts[4]).toMatchObject({ usage: 102, confirmed: r(1100, 101) });
  });
});
