/**
 * Service intervals on cumulative operating hours: due at baseline + k·N. A work order opens when
 * the hours reach the due point minus the "due soon" lead; a jump over several due points opens
 * one, for the latest. When the ERP reports the work order completed, the baseline moves to the
 * hours at completion and the schedule restarts from there.
 *
 * The occurrence is the due point *and* the baseline it was computed from (`500h@b0`), so a
 * schedule restarted by a completion never collides with a work order opened before it.
 * @module
 */
import type { ServiceIntervalRule } from './types.js';

export interface ServiceState {
  /** Hours the schedule counts from. */
  readonly base: number;
  /** Event time of the completion that set the baseline (absent for the initial one). */
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

/** The baseline a schedule starts from for an asset: the attribute, else 0 or the first reading. */
export function initialBaseline(rule: ServiceIntervalRule, attributes: Readonly<Record<string, string>>, firstReading: number): number {
  const attr = rule.baselineAttribute !== undefined ? attributes[rule.baselineAttribute] : undefined;
  const parsed = attr !== undefined && attr.trim() !== '' ? Number(attr) : NaN;
  if (Number.isFinite(parsed) && parsed >= 0) return parsed;
  return rule.defaultBaseline === 'first-reading' ? firstReading : 0;
}

/** Hours rounded to 2 decimals, as text without trailing zeros (stable in business keys). */
export function formatHours(h: number): string {
  return String(Math.round(h * 100) / 100);
}

export function occurrenceOf(due: number, base: number): string {
  return `${formatHours(due)}h@b${formatHours(base)}`;
}

/** The next due point after the current baseline's last opened one. */
export function nextDue(rule: ServiceIntervalRule, s: ServiceState): number {
  const k = s.firedDue === undefined ? 1 : Math.round((s.firedDue - s.base) / rule.everyHours) + 1;
  return s.base + k * rule.everyHours;
}

export function stepService(rule: ServiceIntervalRule, s: ServiceState, hours: number): { state: ServiceState; fire?: ServiceFire } {
  const k = Math.floor((hours + rule.dueSoonHours - s.base) / rule.everyHours + 1e-9);
  if (k < 1) return { state: s };
  const due = s.base + k * rule.everyHours;
  if (s.firedDue !== undefined && due <= s.firedDue + 1e-9) return { state: s };
  return {
    state: { ...s, firedDue: due },
    fire: { due, base: s.base, occurrence: occurrenceOf(due, s.base), dueSoon: hours < due },
  };
}
