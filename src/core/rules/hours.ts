/**
 * Cumulative operating hours as the maintenance and depreciation rules need them: one continuous,
 * never-decreasing counter per asset, in event-time order. This is the narrow interface those
 * rules use; the meter-hygiene module (another change) is the full treatment of meter problems,
 * and this adapter is where it plugs in.
 *
 * Until then the minimal policy here: a declared reset (meter replaced) continues the counter from
 * where it was; a reading lower than the last one by more than the jitter tolerance, or rising
 * faster than `maxRate` hours per hour, is set aside (not used), and a small dip is held at the
 * last value.
 * @module
 */

export interface HoursPolicy {
  /** Largest plausible increase per elapsed hour. @default 1.2 */
  readonly maxRate: number;
  /** Dips up to this many hours are meter jitter: the reading is held at the last value. @default 0.5 */
  readonly jitterHours: number;
}

export const DEFAULT_HOURS_POLICY: HoursPolicy = { maxRate: 1.2, jitterHours: 0.5 };

export interface HoursState {
  /** Event time and raw meter value of the last accepted reading. */
  readonly t: number;
  readonly raw: number;
  /** Continuous hours = raw + offset (offset grows at each declared reset). */
  readonly offset: number;
}

export type HoursStep =
  | { readonly ok: true; readonly state: HoursState; readonly hours: number }
  | { readonly ok: false; readonly state: HoursState | undefined; readonly reason: string };

/** Take one reading (in event-time order) and return the continuous hours it stands for. */
export function stepHours(
  state: HoursState | undefined,
  t: number,
  raw: number,
  declaredReset: boolean,
  policy: HoursPolicy = DEFAULT_HOURS_POLICY,
): HoursStep {
  if (!state) return { ok: true, state: { t, raw, offset: 0 }, hours: raw };
  if (declaredReset) {
    const offset = state.raw + state.offset - raw;
    return { ok: true, state: { t, raw, offset }, hours: raw + offset };
  }
  const delta = raw - state.raw;
  if (delta < 0) {
    if (-delta <= policy.jitterHours) return { ok: true, state: { ...state, t }, hours: state.raw + state.offset };
    return { ok: false, state, reason: `operating hours went back from ${state.raw} to ${raw} without a declared reset` };
  }
  const elapsedH = (t - state.t) / 3_600_000;
  if (delta > policy.jitterHours && delta > elapsedH * policy.maxRate) {
    return { ok: false, state, reason: `operating hours rose ${round(delta)} h in ${round(elapsedH)} h of time` };
  }
  return { ok: true, state: { t, raw, offset: state.offset }, hours: raw + state.offset };
}

const round = (n: number) => Math.round(n * 100) / 100;
