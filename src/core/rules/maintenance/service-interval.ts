/**
 * Service intervals on a cumulative meter (operating hours, or the odometer in km): due at
 * baseline + k·N. A work order opens when the meter reaches the due point minus the "due soon"
 * lead; a jump over several due points opens one, for the latest. When the ERP reports the work
 * order completed, the baseline moves to the meter at completion and the schedule restarts there.
 * The asset's baseline attribute (`lastServiceHours`, a service done outside the ERP loop or a
 * corrected registry) moves it too, when it is the later service: on a cumulative meter that is
 * the larger value, so an attribute below the baseline in force never moves it back.
 *
 * The occurrence is the due point *and* the baseline it was computed from (`500h@b0`,
 * `15000km@b0`), so a schedule restarted by a completion never collides with a work order opened
 * before it.
 * @module
 */
import type { ServiceIntervalRule, ServiceMeter } from './types.js';

export interface ServiceState {
  /** Meter reading (hours or km) the schedule counts from. */
  readonly base: number;
  /**
   * Event time of the latest completion applied (absent before the first one); kept when the
   * baseline attribute moves the baseline past it, so an older completion still changes nothing.
   */
  readonly baseAt?: number;
  /** Latest due point a work order was opened for, under the current baseline. */
  readonly firedDue?: number;
}

export interface ServiceFire {
  readonly due: number;
  readonly base: number;
  readonly occurrence: string;
  /** True when opened ahead of the due point (within the lead). */
  readonly dueSoon: boolean;
}

/** The meter at the last service as the asset's baseline attribute holds it; undefined when absent or not a meter value. */
export function attributeBaseline(rule: ServiceIntervalRule, attributes: Readonly<Record<string, string>>): number | undefined {
  const attr = rule.baselineAttribute !== undefined ? attributes[rule.baselineAttribute] : undefined;
  const parsed = attr !== undefined && attr.trim() !== '' ? Number(attr) : NaN;
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
}

/** The baseline a schedule starts from for an asset: the attribute, else 0 or the first reading. */
export function initialBaseline(rule: ServiceIntervalRule, attributes: Readonly<Record<string, string>>, firstReading: number): number {
  return attributeBaseline(rule, attributes) ?? (rule.defaultBaseline === 'first-reading' ? firstReading : 0);
}

/** Whether baseline `a` is a later service than `b`: a larger meter value, as business keys show it (2 decimals). */
export function isLaterBaseline(a: number, b: number): boolean {
  return Math.round(a * 100) > Math.round(b * 100);
}

/**
 * The schedule in force for an asset: `s`, or a new one from the baseline attribute when that is
 * the later service. A new baseline has no due point opened yet (its keys are new); the work order
 * opened under the old one keeps its key and is never asked for again.
 */
export function withAttributeBaseline(rule: ServiceIntervalRule, s: ServiceState, attributes: Readonly<Record<string, string>>): ServiceState {
  const attr = attributeBaseline(rule, attributes);
  if (attr === undefined || !isLaterBaseline(attr, s.base)) return s;
  return s.baseAt !== undefined ? { base: attr, baseAt: s.baseAt } : { base: attr };
}

/**
 * The schedule after a completion the ERP reported at `completion` (meter) and `at` (event time):
 * it restarts there, or from the baseline attribute when that is the later service. A baseline
 * equal to the one in force (as keys show it) is the same schedule: it keeps what it opened; one
 * below it (an earlier service, closed late) leaves the schedule as it is.
 */
export function completedBaseline(rule: ServiceIntervalRule, current: ServiceState | undefined, completion: number, at: number, attributes: Readonly<Record<string, string>>): ServiceState {
  const next = withAttributeBaseline(rule, { base: completion, baseAt: at }, attributes);
  if (current === undefined || isLaterBaseline(next.base, current.base)) return next;
  // An earlier service (less on the meter than the baseline in force) closed late in the ERP: the
  // schedule stays where the later service put it.
  if (isLaterBaseline(current.base, next.base)) return current;
  return serviceState(current.base, at, current.firedDue);
}

/**
 * A schedule of one shape, every field present (`undefined` where absent; JSON drops those), not
 * `{ ...s, firedDue }`: reads of `base` and `firedDue` on schedules made by that spread missed their
 * inline cache on every reading (`--log-ic`, Node 20), once per interval and meter reading.
 */
function serviceState(base: number, baseAt: number | undefined, firedDue: number | undefined): ServiceState {
  return { base, baseAt, firedDue };
}

/** A meter reading rounded to 2 decimals, as text without trailing zeros (stable in business keys). */
export function formatReading(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** The unit as written in occurrences and texts. */
export const UNIT: Readonly<Record<ServiceMeter, string>> = { hours: 'h', km: 'km' };

export function occurrenceOf(due: number, base: number, meter: ServiceMeter = 'hours'): string {
  return `${formatReading(due)}${UNIT[meter]}@b${formatReading(base)}`;
}

/**
 * The next due point after the current baseline's last opened one: the first of the interval past
 * it, which is where {@link stepService} opens the next work order. The last opened one need not be
 * on this interval's points (it was opened before the rule's `every` was changed: 250 opened, now
 * every 300 h, the next is 300, not 600).
 */
export function nextDue(rule: ServiceIntervalRule, s: ServiceState): number {
  const k = s.firedDue === undefined ? 1 : Math.floor((s.firedDue - s.base) / rule.every + 1e-9) + 1;
  return s.base + k * rule.every;
}

/** One reading of the rule's meter (continuous, after hygiene). */
export function stepService(rule: ServiceIntervalRule, s: ServiceState, reading: number): { state: ServiceState; fire?: ServiceFire } {
  const k = Math.floor((reading + rule.dueSoon - s.base) / rule.every + 1e-9);
  if (k < 1) return { state: s };
  const due = s.base + k * rule.every;
  if (s.firedDue !== undefined && due <= s.firedDue + 1e-9) return { state: s };
  return {
    state: serviceState(s.base, s.baseAt, due),
    fire: { due, base: s.base, occurrence: occurrenceOf(due, s.base, rule.meter), dueSoon: reading < due },
  };
}
