/**
 * The threshold state machine, one sample at a time in event-time order:
 *
 *   normal ──breach──▶ pending ──breach held ≥ duration, cooldown over──▶ active ──clear──▶ normal
 *                         │ any non-breaching sample, or a gap > maxGap
 *                         ▼
 *                       normal (or a new pending episode)
 *
 * A gap > maxGap ends an active episode too: after it, a breaching sample starts a new episode.
 *
 * While pending, every sample must breach (a strict "above 95 °C for 5 minutes"). Once active,
 * only the clear condition ends the episode (hysteresis), so readings hovering around the
 * threshold open one work order, not one per crossing. An episode is identified by the time of its
 * first breaching sample: that is the occurrence in the work order's business key.
 *
 * When the ERP reports the episode's work order completed while the condition still holds, the
 * episode ends at the completion: the next breaching sample starts a new one, which opens a new
 * work order once it has held for the duration and the cooldown since the last one is over. (A
 * repeating rule's work order stands for several episodes; its completion re-arms nothing.)
 *
 * A repeating rule (`repeat: { count, within }`) counts episodes instead: each one that holds for
 * the duration becomes `active` (counted once, however long it lasts) and is remembered by its
 * start; when `count` of them started within `within`, one work order opens, keyed by the first of
 * them, and the count starts again. Intermittent faults (pressure spikes, a slipping clutch) that
 * never hold long enough for a duration rule are caught this way.
 * @module
 */
import type { ThresholdRule } from './types.js';

export interface ThresholdState {
  readonly phase: 'normal' | 'pending' | 'active';
  /** First breaching sample of the current episode. */
  readonly start?: number;
  /** Latest sample of the current episode. */
  readonly last?: number;
  /** Most extreme value of the current episode. */
  readonly peak?: number;
  /** When this rule last opened a work order (for the cooldown). */
  readonly firedAt?: number;
  /** Repeating rules: starts of the episodes counted towards the next work order, oldest first. */
  readonly hits?: readonly number[];
  /**
   * The ERP completed this episode's work order at this time: a breaching sample from then on
   * starts a new episode, so a condition that outlasts the repair opens a new work order (after
   * the cooldown).
   */
  readonly rearmAt?: number;
}

export interface ThresholdFire {
  /** The episode's first breaching sample (repeating rules: of the first episode counted): the occurrence. */
  readonly start: number;
  readonly peak: number;
  readonly value: number;
  /** Repeating rules: the starts of the episodes counted, the last one being the current episode's. */
  readonly episodes?: readonly number[];
}

const NORMAL: ThresholdState = { phase: 'normal' };

export function isBreach(rule: ThresholdRule, value: number): boolean {
  return rule.direction === 'above' ? value > rule.threshold : value < rule.threshold;
}

export function isClear(rule: ThresholdRule, value: number): boolean {
  return rule.direction === 'above' ? value < rule.clearAt : value > rule.clearAt;
}

const more = (rule: ThresholdRule, a: number, b: number) => (rule.direction === 'above' ? Math.max(a, b) : Math.min(a, b));

export function stepThreshold(rule: ThresholdRule, state: ThresholdState | undefined, t: number, value: number): { state: ThresholdState; fire?: ThresholdFire } {
  const s = state ?? NORMAL;
  const keep = kept(rule, s, t);
  switch (s.phase) {
    case 'active':
      if (isClear(rule, value)) return { state: { phase: 'normal', ...keep } };
      // No sample for longer than maxGap: the episode is over, whatever its last value (a device
      // that reports only in alarm never sends a clearing one); a breach now starts a new one.
      if (s.last !== undefined && t - s.last > rule.maxGapMs) {
        return isBreach(rule, value) ? decide(rule, { phase: 'pending', start: t, last: t, peak: value, ...keep }, t, value) : { state: { phase: 'normal', ...keep } };
      }
      // Repaired (the ERP completed its work order) but still breaching: a new episode from here
      // (a value between the clear value and the threshold is no breach: it waits for one).
      if (s.rearmAt !== undefined && t >= s.rearmAt && isBreach(rule, value)) return decide(rule, { phase: 'pending', start: t, last: t, peak: value, ...keep }, t, value);
      return { state: { ...s, last: t } };
    case 'pending': {
      const gap = s.last !== undefined && t - s.last > rule.maxGapMs;
      if (!gap && isBreach(rule, value)) {
        return decide(rule, { ...s, last: t, peak: more(rule, s.peak ?? value, value) }, t, value);
      }
      if (gap && isBreach(rule, value)) return decide(rule, { phase: 'pending', start: t, last: t, peak: value, ...keep }, t, value);
      return { state: { phase: 'normal', ...keep } };
    }
    case 'normal':
      // Quiet: the same state, unless breaches counted by a repeating rule have left its window.
      if (!isBreach(rule, value)) return keep.hits === s.hits ? { state: s } : { state: { phase: 'normal', ...keep } };
      return decide(rule, { phase: 'pending', start: t, last: t, peak: value, ...keep }, t, value);
  }
}

/**
 * What outlives an episode: when the rule last fired, and a repeating rule's count without the
 * breaches that have left its window by `t` (none left: no count, so a quiet rule keeps no state).
 */
function kept(rule: ThresholdRule, s: ThresholdState, t: number): { firedAt?: number; hits?: readonly number[] } {
  const within = rule.repeat?.withinMs ?? 0;
  const hits = s.hits?.some((h) => t - h >= within) ? s.hits.filter((h) => t - h < within) : s.hits;
  if (hits === undefined || hits.length === 0) return s.firedAt !== undefined ? { firedAt: s.firedAt } : {};
  return s.firedAt !== undefined ? { firedAt: s.firedAt, hits } : { hits };
}

function decide(rule: ThresholdRule, s: ThresholdState, t: number, value: number): { state: ThresholdState; fire?: ThresholdFire } {
  const start = s.start ?? t;
  const held = t - start >= rule.durationMs;
  const cooled = s.firedAt === undefined || t - s.firedAt >= rule.cooldownMs;
  if (rule.repeat) return held ? count(rule.repeat, s, start, t, value, cooled) : { state: s };
  if (!held || !cooled) return { state: s };
  return { state: { ...s, phase: 'active', firedAt: t }, fire: { start, peak: s.peak ?? value, value } };
}

/** A repeating rule's episode has held: it counts (once), and may complete the count. */
function count(repeat: NonNullable<ThresholdRule['repeat']>, s: ThresholdState, start: number, t: number, value: number, cooled: boolean): { state: ThresholdState; fire?: ThresholdFire } {
  const hits = (s.hits ?? []).filter((h) => start - h < repeat.withinMs);
  hits.push(start);
  const { hits: _old, ...episode } = s;
  // Counted but not enough yet, or too soon after the last work order: remembered for the next episodes.
  if (hits.length < repeat.count || !cooled) return { state: { ...episode, phase: 'active', hits } };
  return { state: { ...episode, phase: 'active', firedAt: t }, fire: { start: hits[0] as number, peak: s.peak ?? value, value, episodes: hits } };
}

/**
 * The ERP completed the work order of the episode that started at `start`: re-arm the rule at
 * `at` if that episode is still the active one (a late completion of an older work order changes
 * nothing).
 */
export function rearmThreshold(state: ThresholdState | undefined, start: number, at: number): ThresholdState | undefined {
  if (state?.phase !== 'active' || state.start !== start || (state.rearmAt !== undefined && state.rearmAt <= at)) return state;
  return { ...state, rearmAt: at };
}
