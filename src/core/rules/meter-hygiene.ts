/**
 * Meter hygiene: decides whether a new cumulative reading (hour meter, usually) can be trusted
 * before anything counts it as usage. Real meters stall, jump, go backwards after an ECU or meter
 * swap, and arrive out of order (telematics.md §4.8). Only `accepted` readings advance the meter;
 * every other verdict leaves the state's base reading alone, so a bad reading never loses usage:
 * the next good reading's delta covers it. The exception is a meter that jumps ahead and counts on
 * from there (a meter or ECU swapped undeclared, showing more): once a reading has continued from
 * the jump while it was still too fast, readings continuing from it stay set aside as too fast,
 * however much wall clock has passed, until a reset is declared (`jump` in the state).
 *
 * Usage per period (for units-of-production depreciation) is the sum of accepted `usage` deltas;
 * each accepted verdict carries the interval it covers (`previous` → `reading`).
 * @module
 */

/** One cumulative reading at the time it was taken (epoch ms). */
export interface MeterReading {
  readonly value: number;
  readonly eventTime: number;
}

export interface MeterHygieneOptions {
  /** Flag "stalled" when the meter shows the same value for longer than this, ms. @default 7 days */
  readonly stalledAfterMs: number;
  /** How fast the meter may advance per hour of wall clock (an hour meter: 1). @default 1 */
  readonly maxRatePerHour: number;
  /** Headroom on that rate for clock skew between readings. @default 1.05 */
  readonly wallClockTolerance: number;
  /**
   * Extra allowance in meter units for display resolution: a meter shown in tenths can tick
   * 0.1 within a minute. @default 0.1
   */
  readonly resolutionSlack: number;
  /** The meter's unit, for messages. @default h */
  readonly unit?: string;
  /**
   * Hold a reading that is possible since the meter first showed its value but not since the
   * latest reading that showed it (`confirmedAt`): a feed that froze and catches up, or a spike
   * after the machine sat idle reporting live. The next reading tells: one continuing from it
   * (as much or more, within the wall clock since) confirms it, and both are accepted (the
   * usage counted from the first showing); any other sets it aside (`jump` with `jumpHeld`).
   * Off: such a reading is accepted at once as a catch-up. @default false
   */
  readonly holdCatchUp?: boolean;
}

export const DEFAULT_METER_HYGIENE: MeterHygieneOptions = {
  stalledAfterMs: 7 * 24 * 3_600_000,
  maxRatePerHour: 1,
  wallClockTolerance: 1.05,
  resolutionSlack: 0.1,
};

/**
 * For odometers (km): a vehicle covers at most ~200 km per hour of wall clock, and odometers show
 * whole km or tenths; otherwise as for hour meters.
 */
export const ODOMETER_HYGIENE: MeterHygieneOptions = { ...DEFAULT_METER_HYGIENE, maxRatePerHour: 200, resolutionSlack: 1, unit: 'km' };

/**
 * What the rules judge meters with (service intervals, meter sync, usage per period): a reading
 * ahead of the wall clock since the meter last showed its value, though possible since it first
 * showed it, is held until the next reading confirms it (a frozen feed catching up) or sets it
 * aside (a spike after a live idle stretch), so none of them acts on a spike (`holdCatchUp`).
 */
export const HELD_METER_HYGIENE: MeterHygieneOptions = { ...DEFAULT_METER_HYGIENE, holdCatchUp: true };
export const HELD_ODOMETER_HYGIENE: MeterHygieneOptions = { ...ODOMETER_HYGIENE, holdCatchUp: true };

/** What hygiene remembers per meter. Plain data, safe to persist as JSON. */
export interface MeterHygieneState {
  /** Base for the next delta: the newest accepted value and when the meter first showed it. */
  readonly last?: MeterReading;
  /** Newest event time that confirmed `last.value` (equal readings move this, not `last`). */
  readonly confirmedAt?: number;
  /** A stall of the current value has already been flagged (flag once per stall). */
  readonly stallFlagged?: boolean;
  /** The newest declared reset; readings before it belong to the old meter. */
  readonly lastReset?: MeterReading;
  /**
   * The reading that first ran ahead of the wall clock (too fast) since `last` was accepted and
   * that later too-fast readings continued from, or the latest such reading while none has
   * (absent: no too-fast reading since `last`). Cleared by a reading accepted or showing `last`
   * again (stalled), and by a reset.
   */
  readonly jump?: MeterReading;
  /**
   * A later reading continued from `jump` while still too fast against `last`: the meter now
   * counts from `jump`'s value (a meter or ECU swapped undeclared). Readings continuing from it stay
   * set aside as too fast, even once enough wall clock has passed since `last` to allow the jump,
   * until a reset is declared or a reading below `jump` is accepted.
   */
  readonly jumpSustained?: boolean;
  /**
   * `jump` is a reading held (`holdCatchUp`), not one that ran ahead of the wall clock since
   * `last`: possible since the meter first showed `last.value`, not since `confirmedAt`. The next
   * reading confirms it (it continues from it) or sets it aside.
   */
  readonly jumpHeld?: true;
}

/** Reading statuses that are flagged for review and never count as usage. */
export type MeterFlagStatus = 'backwards' | 'too-fast' | 'stalled' | 'out-of-order';

export type MeterVerdict =
  | {
      readonly status: 'accepted';
      /** Meter units added since `previous` (0 for the first reading and for an unchanged meter). */
      readonly usage: number;
      /** The base the delta was taken from; absent for the first reading (the baseline). */
      readonly previous?: MeterReading;
      readonly reading: MeterReading;
      /** The held reading (`jumpHeld`) this one continued from, so confirmed: `usage` covers it too. */
      readonly confirmed?: MeterReading;
      /** Why the held reading (`jumpHeld`) this one did not continue from was set aside. */
      readonly setAside?: string;
    }
  /** The same reading again (re-polled snapshot, replay): nothing to do, nothing to flag. */
  | { readonly status: 'duplicate'; readonly reading: MeterReading }
  | { readonly status: 'reset'; readonly reading: MeterReading; readonly previous?: MeterReading }
  | {
      readonly status: MeterFlagStatus;
      readonly reading: MeterReading;
      readonly previous: MeterReading;
      /** True for the first reading of a stall; later unchanged readings of the same stall are not new. */
      readonly newFlag: boolean;
      /** Says what was wrong, for people. */
      readonly detail: string;
    };

export type FlaggedMeterVerdict = Extract<MeterVerdict, { status: MeterFlagStatus }>;

export interface MeterHygieneResult {
  readonly state: MeterHygieneState;
  readonly verdict: MeterVerdict;
}

const HOUR_MS = 3_600_000;
const iso = (t: number): string => new Date(t).toISOString();
const round = (v: number): number => Math.round(v * 1e6) / 1e6;
/** For messages: two decimals are enough to read. */
const shown = (v: number): number => Math.round(v * 100) / 100;

export function isFlagged(verdict: MeterVerdict): verdict is FlaggedMeterVerdict {
  return verdict.status === 'backwards' || verdict.status === 'too-fast' || verdict.status === 'stalled' || verdict.status === 'out-of-order';
}

/** Classifies `reading` against `state` (readings in event-time order); pure. */
export function classifyMeterReading(
  state: MeterHygieneState,
  reading: MeterReading,
  options: MeterHygieneOptions = DEFAULT_METER_HYGIENE,
): MeterHygieneResult {
  const r = classify(state, reading, options);
  const held = state.jumpHeld === true ? state.jump : undefined;
  // Still held (the same state, a backwards or out-of-order reading), or confirmed: nothing set aside.
  if (held === undefined || r.state.jump === held || (r.verdict.status === 'accepted' && r.verdict.confirmed !== undefined)) return r;
  const why = `reading ${held.value} at ${iso(held.eventTime)}, held as ahead of the wall clock since ${state.last?.value} was last shown (${iso(state.confirmedAt ?? held.eventTime)}), set aside: the next reading, ${reading.value} at ${iso(reading.eventTime)}, does not continue from it (a spike, not a frozen feed catching up)`;
  const v = r.verdict;
  if (v.status === 'accepted') return { state: r.state, verdict: { ...v, setAside: why } };
  return isFlagged(v) ? { state: r.state, verdict: { ...v, detail: `${v.detail}; ${why}` } } : r;
}

function classify(state: MeterHygieneState, reading: MeterReading, options: MeterHygieneOptions): MeterHygieneResult {
  const last = state.last;
  if (!last) return { state: hygieneState(reading, reading.eventTime, false, state.lastReset), verdict: { status: 'accepted', usage: 0, reading } };
  const confirmedAt = state.confirmedAt ?? last.eventTime;

  if (reading.eventTime < confirmedAt || (reading.eventTime === confirmedAt && reading.value !== last.value)) {
    if (reading.value === last.value && reading.eventTime >= last.eventTime) return { state, verdict: { status: 'duplicate', reading } };
    if (state.lastReset && reading.eventTime < state.lastReset.eventTime)
      return flag(state, reading, last, 'out-of-order', `reading ${reading.value} at ${iso(reading.eventTime)} predates the meter reset declared at ${iso(state.lastReset.eventTime)}`);
    return flag(
      state,
      reading,
      last,
      'out-of-order',
      reading.eventTime === confirmedAt
        ? `reading ${reading.value} at ${iso(reading.eventTime)} has the time of the accepted reading ${last.value} but a different value`
        : `reading ${reading.value} at ${iso(reading.eventTime)} is older than the accepted reading at ${iso(confirmedAt)}`,
    );
  }
  if (reading.eventTime === confirmedAt) return { state, verdict: { status: 'duplicate', reading } };
  // Older than a reading held (`holdCatchUp`, below), or of its time with another value: out of
  // order, as it would be had the held reading been taken at once. Only a later reading decides it.
  const held = state.jumpHeld === true ? state.jump : undefined;
  if (held !== undefined && (reading.eventTime < held.eventTime || (reading.eventTime === held.eventTime && reading.value !== held.value)))
    return flag(
      state,
      reading,
      last,
      'out-of-order',
      `reading ${reading.value} at ${iso(reading.eventTime)} is ${reading.eventTime === held.eventTime ? 'of the time of' : 'older than'} the reading ${held.value} at ${iso(held.eventTime)}, held until the next reading`,
    );

  const delta = reading.value - last.value;
  if (delta < 0)
    return flag(
      state,
      reading,
      last,
      'backwards',
      // Said wherever it shows (depreciation preview, maintenance status, assets meters): it is not counted, and never reset by itself.
      `meter went backwards from ${last.value} (${iso(last.eventTime)}) to ${reading.value} (${iso(reading.eventTime)}): set aside, not counted, as is every reading below ${last.value} until the meter shows it again or a replacement is declared; ${declareReplacementAdvice(options.unit ?? 'h')}`,
    );

  if (delta === 0) {
    const unchangedMs = reading.eventTime - last.eventTime;
    if (unchangedMs > options.stalledAfterMs) {
      const days = round(unchangedMs / (24 * HOUR_MS));
      return {
        state: hygieneState(last, reading.eventTime, true, state.lastReset),
        verdict: {
          status: 'stalled',
          reading,
          previous: last,
          newFlag: state.stallFlagged !== true,
          detail: `meter has shown ${last.value} since ${iso(last.eventTime)} (${days} days); check the sensor if the machine has been working`,
        },
      };
    }
    return { state: hygieneState(last, reading.eventTime, state.stallFlagged, state.lastReset), verdict: { status: 'accepted', usage: 0, previous: last, reading } };
  }

  // Measured from when the meter first showed its value, so a feed that froze and then catches up is not flagged.
  const elapsedH = (reading.eventTime - last.eventTime) / HOUR_MS;
  const allowed = wallClockAllowance(reading.eventTime - last.eventTime, options);
  const unit = options.unit ?? 'h';
  const declare = declareReplacementAdvice(unit);
  if (delta > allowed)
    return {
      state: withJump(state, reading, options),
      verdict: {
        status: 'too-fast',
        reading,
        previous: last,
        newFlag: true,
        // A meter or ECU swapped for one showing more (from another machine) jumps up: every reading
        // after it is set aside until declared (withJump, below), so say how.
        detail: `meter advanced ${shown(delta)} ${unit} in ${shown(elapsedH)} h of wall clock (at most ${shown(allowed)} ${unit} possible), from ${last.value} to ${reading.value}; ${declare}`,
      },
    };

  // Possible since `last`, but the meter has been counting on from a value it could not have
  // shown (readings continued from it while too fast): it still does, so the whole jump would be
  // counted as usage once enough wall clock has passed. Set aside until the jump is declared.
  const jump = state.jump;
  if (state.jumpSustained === true && jump !== undefined && reading.eventTime > jump.eventTime && reading.value >= jump.value)
    return flag(
      state,
      reading,
      last,
      'too-fast',
      `meter at ${reading.value} counts on from ${jump.value} (${iso(jump.eventTime)}), which ran ahead of the wall clock from ${last.value} (${iso(last.eventTime)}), and the readings since have continued from it: set aside until the jump is declared; ${declare}`,
    );

  // A reading held (see below) that this one continues from: the meter did show it, so it was a
  // frozen feed catching up. Both are accepted: the usage from the first showing of `last`.
  if (held !== undefined && reading.eventTime > held.eventTime && continues(held, reading, options))
    return {
      state: hygieneState(reading.value === held.value ? held : reading, reading.eventTime, false, state.lastReset),
      verdict: { status: 'accepted', usage: round(delta), previous: last, reading, confirmed: held },
    };

  // Possible since the meter first showed `last.value`, but not since a reading showed it last: a
  // frozen feed catching up (the repeats were stale) or a spike after the machine sat idle,
  // reporting live. Held until the next reading tells (`holdCatchUp`).
  const sinceShownH = (reading.eventTime - confirmedAt) / HOUR_MS;
  const allowedSinceShown = wallClockAllowance(reading.eventTime - confirmedAt, options);
  if (options.holdCatchUp === true && delta > allowedSinceShown) {
    const detail = `meter advanced ${shown(delta)} ${unit} in ${shown(sinceShownH)} h since it last showed ${last.value} (${iso(confirmedAt)}; at most ${shown(allowedSinceShown)} ${unit} possible), to ${reading.value}: held until the next reading, which confirms it as a feed that froze and caught up (counted from ${iso(last.eventTime)}, when the meter first showed ${last.value}) if it continues from it, else sets it aside as a spike`;
    const again = held !== undefined && held.eventTime === reading.eventTime && held.value === reading.value;
    return { state: again ? state : jumpState(state, reading, false, true), verdict: { status: 'too-fast', reading, previous: last, newFlag: !again, detail } };
  }

  return {
    state: hygieneState(reading, reading.eventTime, false, state.lastReset),
    verdict: { status: 'accepted', usage: round(delta), previous: last, reading },
  };
}

/**
 * The most a meter can advance in `elapsedMs` of event time: `options`' rate, with its tolerance
 * and resolution slack. Every wall-clock judgement of hygiene and of the rules' owned forms asks
 * this, so both forms compute it alike.
 */
export function wallClockAllowance(elapsedMs: number, options: MeterHygieneOptions): number {
  return (elapsedMs / HOUR_MS) * options.maxRatePerHour * options.wallClockTolerance + options.resolutionSlack;
}

/**
 * Whether the meter advanced more than the wall clock allows in `elapsedMs`: `advance`, a
 * difference of two counts, taken to the millionth (what counts are rounded to), so that the float
 * noise of a continuous count offset from the meter (by a declared reset: 4331.453 − 4331.346 is
 * 0.10700000000088) decides nothing.
 */
export function beyondWallClock(advance: number, elapsedMs: number, options: MeterHygieneOptions): boolean {
  return round(advance) > wallClockAllowance(elapsedMs, options);
}

/** Whether `to` continues from `from`: as much or more, by no more than the wall clock allows since. */
function continues(from: MeterReading, to: MeterReading, options: MeterHygieneOptions): boolean {
  const possible = wallClockAllowance(to.eventTime - from.eventTime, options);
  return to.value >= from.value && to.value - from.value <= possible;
}

/**
 * A hygiene state built field by field, in one order, not as `{ ...state, last, … }`: such a
 * spread is a clone plus one own-property definition per named field, and those definitions,
 * having seen several state shapes, went megamorphic; on Node 20 (V8 11.3) they then ran in the
 * runtime on every accepted reading (`--log-ic`: all three missed, per reading and rule). These
 * are all the fields a hygiene state has; absent ones stay absent.
 */
function hygieneState(last: MeterReading, confirmedAt: number, stallFlagged: boolean | undefined, lastReset: MeterReading | undefined): MeterHygieneState {
  if (lastReset === undefined) return stallFlagged === undefined ? { last, confirmedAt } : { last, confirmedAt, stallFlagged };
  return stallFlagged === undefined ? { last, confirmedAt, lastReset } : { last, confirmedAt, stallFlagged, lastReset };
}

/**
 * `state` after the too-fast `reading`: it becomes the remembered jump when none is remembered or
 * the one remembered was never continued from and `reading` does not continue it; a reading that
 * continues the jump (later, as much or more, by no more than the wall clock allows since) or that
 * the jump continues (earlier, arriving late) makes it sustained. The same reading again changes
 * nothing.
 */
function withJump(state: MeterHygieneState, reading: MeterReading, options: MeterHygieneOptions): MeterHygieneState {
  // A held reading is no jump (it was possible since `last`): this one takes its place.
  const jump = state.jumpHeld === true ? undefined : state.jump;
  if (jump !== undefined) {
    if (reading.eventTime === jump.eventTime) return state;
    const [from, to] = reading.eventTime > jump.eventTime ? [jump, reading] : [reading, jump];
    if (continues(from, to, options)) return jumpState(state, from, true);
    if (state.jumpSustained === true) return state;
  }
  return jumpState(state, reading, false);
}

/** `state` with `jump` (fields in the order a hygiene state has them). */
function jumpState(state: MeterHygieneState, jump: MeterReading, sustained: boolean, held = false): MeterHygieneState {
  const next: { -readonly [K in keyof MeterHygieneState]: MeterHygieneState[K] } = {};
  if (state.last !== undefined) next.last = state.last;
  if (state.confirmedAt !== undefined) next.confirmedAt = state.confirmedAt;
  if (state.stallFlagged !== undefined) next.stallFlagged = state.stallFlagged;
  if (state.lastReset !== undefined) next.lastReset = state.lastReset;
  next.jump = jump;
  if (sustained) next.jumpSustained = true;
  if (held) next.jumpHeld = true;
  return next;
}

function flag(state: MeterHygieneState, reading: MeterReading, last: MeterReading, status: MeterFlagStatus, detail: string): MeterHygieneResult {
  return { state, verdict: { status, reading, previous: last, newFlag: true, detail } };
}

/**
 * The advice to declare a replaced meter of `unit` (`km`: an odometer; any other: an hour meter), as a reason
 * too fast says it (its `<asset>` filled in by {@link adviceFor}).
 */
export function declareReplacementAdvice(unit: string): string {
  return `if the meter or ECU was replaced, declare it: assetbridge assets reset-meter <asset> ${unit === 'km' ? '--km' : '--hours'} <new reading> --at <when>`;
}

/**
 * A hygiene reason with the `<asset>` of its `reset-meter` advice filled in with `erpAssetId`
 * (quoted for a shell when it holds anything but letters, digits and `._:@/+-`), for a report that
 * knows the asset: the command can be run as it is said.
 */
export function adviceFor(detail: string, erpAssetId: string): string {
  const arg = /^[\w.:@/+-]+$/.test(erpAssetId) ? erpAssetId : `'${erpAssetId.replaceAll("'", "'\\''")}'`;
  return detail.replaceAll('reset-meter <asset>', () => `reset-meter ${arg}`);
}

/**
 * Applies a declared meter replacement or reset: from `baseline.eventTime` on, readings continue
 * from `baseline.value`. Declaring the same reset again (a replayed event) changes nothing; an
 * older reset than the newest one is ignored as out of order. One older than the accepted reading
 * (declared late) leaves that reading the base when the new meter could have shown it (`options`
 * judge that); see {@link resetRebases}.
 */
export function declareMeterReset(state: MeterHygieneState, baseline: MeterReading, options: MeterHygieneOptions = DEFAULT_METER_HYGIENE): MeterHygieneResult {
  const previous = state.lastReset;
  if (previous && previous.eventTime === baseline.eventTime && previous.value === baseline.value) return { state, verdict: { status: 'duplicate', reading: baseline } };
  if (previous && baseline.eventTime < previous.eventTime)
    return {
      state,
      verdict: {
        status: 'out-of-order',
        reading: baseline,
        previous,
        newFlag: true,
        detail: `meter reset at ${iso(baseline.eventTime)} is older than the reset already declared at ${iso(previous.eventTime)}; ignored`,
      },
    };
  // Declared back in time, after a reading taken after it was accepted that the new meter could
  // have shown (as much as the reset's value or more, by no more than the time since allows: a
  // new meter set to the old one's reading, counted on from the old meter's last reading): that
  // reading stays the base, so what the new meter showed since is not counted again from the
  // reset's value. One the new meter cannot have shown is the old meter's (the reset's time is
  // a little early): the reset becomes the base, as in order.
  const last = state.last;
  if (last && baseline.eventTime < last.eventTime && classifyMeterReading({ last: baseline }, last, options).verdict.status === 'accepted')
    return { state: hygieneState(last, state.confirmedAt ?? last.eventTime, state.stallFlagged, baseline), verdict: { status: 'reset', reading: baseline, previous: last } };
  return {
    state: { last: baseline, confirmedAt: baseline.eventTime, stallFlagged: false, lastReset: baseline },
    verdict: { status: 'reset', reading: baseline, ...(state.last ? { previous: state.last } : {}) },
  };
}

/**
 * Whether a reset declared at `eventTime` would become the base readings continue from with no
 * reading after it accepted: no reset at or after it is declared already, and no reading after it
 * was accepted. Such a reset declared late makes the readings after it, set aside as backwards or
 * too fast against the old meter, countable again on the new meter.
 */
export function resetRebases(state: MeterHygieneState | undefined, eventTime: number): boolean {
  if (state?.lastReset !== undefined && state.lastReset.eventTime >= eventTime) return false;
  return state?.last === undefined || state.last.eventTime <= eventTime;
}
