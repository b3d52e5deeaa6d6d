/**
 * Cumulative operating hours as the maintenance and depreciation rules need them: one continuous,
 * never-decreasing counter per asset, fed in event-time order, built on meter hygiene
 * (meter-hygiene.ts). Only accepted readings advance it; a declared reset (meter replaced)
 * continues it from where it was, so the new meter's low readings do not look like lost hours.
 * @module
 */
import {
  DEFAULT_METER_HYGIENE,
  classifyMeterReading,
  declareMeterReset,
  isFlagged,
  type MeterHygieneOptions,
  type MeterHygieneState,
} from './meter-hygiene.js';

export interface HoursState {
  readonly hygiene: MeterHygieneState;
  /** Continuous hours: the first accepted reading plus every accepted usage delta since. */
  readonly total?: number;
}

export type HoursStep =
  | {
      readonly ok: true;
      readonly state: HoursState;
      readonly hours: number;
      /** A held reading this one confirmed (meter-hygiene.ts `holdCatchUp`): `[eventTime, continuous hours]`. */
      readonly confirmed?: readonly [number, number];
      /** Why a held reading this one did not confirm was set aside. */
      readonly setAside?: string;
    }
  | {
      readonly ok: false;
      readonly state: HoursState;
      readonly reason: string;
      /**
       * Set for a stall (the meter still shows its current value, for longer than hygiene trusts):
       * the continuous hours it stands for. Usage up to it is known to be zero.
       */
      readonly unchangedHours?: number;
    };

/** Take one reading (in event-time order) and return the continuous hours it stands for. */
export function stepHours(
  state: HoursState | undefined,
  t: number,
  raw: number,
  declaredReset: boolean,
  options: MeterHygieneOptions = DEFAULT_METER_HYGIENE,
): HoursStep {
  const s: HoursState = state ?? { hygiene: {} };
  const reading = { value: raw, eventTime: t };
  const r = declaredReset ? declareMeterReset(s.hygiene, reading, options) : classifyMeterReading(s.hygiene, reading, options);
  const v = r.verdict;
  if (isFlagged(v)) {
    const state = { ...s, hygiene: r.state };
    return v.status === 'stalled' && s.total !== undefined ? { ok: false, state, reason: v.detail, unchangedHours: s.total } : { ok: false, state, reason: v.detail };
  }
  const total = s.total;
  switch (v.status) {
    case 'reset':
    case 'duplicate':
      return { ok: true, state: { hygiene: r.state, total: total ?? raw }, hours: total ?? raw };
    case 'accepted': {
      const next = total === undefined ? raw : round(total + v.usage);
      if (v.confirmed === undefined && v.setAside === undefined) return { ok: true, state: { hygiene: r.state, total: next }, hours: next };
      const held = v.confirmed !== undefined && v.previous !== undefined && total !== undefined ? ([v.confirmed.eventTime, round(total + v.confirmed.value - v.previous.value)] as const) : undefined;
      return { ok: true, state: { hygiene: r.state, total: next }, hours: next, ...(held ? { confirmed: held } : {}), ...(v.setAside !== undefined ? { setAside: v.setAside } : {}) };
    }
  }
}

/** Continuous hours for a raw meter value of the current meter (e.g. the ERP's reading at completion). */
export function continuousHours(state: HoursState | undefined, raw: number): number {
  const last = state?.hygiene.last?.value;
  if (state?.total === undefined || last === undefined) return raw;
  return round(raw + (state.total - last));
}

const round = (v: number): number => Math.round(v * 1e6) / 1e6;

/**
 * How far the continuous count is ahead of what the meter itself shows now (a declared
 * replacement, or readings hygiene set aside), to 2 decimals; undefined when they agree.
 */
export function meterOffset(state: HoursState | undefined): number | undefined {
  const last = state?.hygiene.last?.value;
  if (state?.total === undefined || last === undefined) return undefined;
  const offset = Math.round((state.total - last) * 100) / 100;
  return offset === 0 ? undefined : offset;
}
