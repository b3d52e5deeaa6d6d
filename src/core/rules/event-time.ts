/**
 * Event-time ordering for rules whose decisions depend on the sequence of events (dwell, "above
 * 95 °C for 5 minutes", service intervals, usage per period). Events wait in a small reorder
 * buffer for `allowedLatenessMs` of *event time* and are then released oldest first, so any
 * arrival order in which no event is later than the allowed lateness yields exactly the same
 * sequence — and therefore the same decisions and deliveries (invariant 8). An event older than
 * what was already released is late: it is dropped and counted, never allowed to rewrite history.
 *
 * The watermark only moves with event time, never with the wall clock, so a backlog flushed by a
 * device that was offline for hours is processed like live data. The price: the newest
 * `allowedLatenessMs` of an asset's events are decided when a newer event arrives (or on
 * {@link FlushableRule.flush}, which `rules test` uses at the end of its input).
 *
 * The state is plain JSON (it is stored in the asset's state document) and never mutated.
 * @module
 */
import type { AssetRecord } from '../model/assets.js';
import type { Rule, RuleContext, RuleResult } from './rule.js';

/** Items carry their event time as `t`. */
export interface Timed {
  readonly t: number;
}

export interface ReorderState<T extends Timed> {
  /** Event time of the newest released item: anything at or before it is late. */
  readonly released?: number | undefined;
  /** Newest event time seen. */
  readonly newest?: number | undefined;
  /** Items waiting for the watermark, oldest first (ties in `tiebreak` order). */
  readonly pending: readonly T[];
  /**
   * The items released last (those of one time), for rules that keep them (`keepLast`): one of
   * them sent again (an HTTP client retrying its POST, a device repeating itself) is a duplicate,
   * not late. An older released item sent again cannot be told from a late one.
   */
  readonly last?: readonly T[] | undefined;
}

export interface Admission<T extends Timed> {
  readonly state: ReorderState<T>;
  /** Items now final, in event-time order. */
  readonly released: readonly T[];
  /** True when the item was dropped as late (not newer than what is already released). */
  readonly late: boolean;
  /** True when an identical item (same time and tiebreak) was already pending, or was released last (`keepLast`). */
  readonly duplicate: boolean;
}

export const EMPTY_REORDER: ReorderState<never> = { released: undefined, newest: undefined, pending: [], last: undefined };

/**
 * Nothing released: one shared array rather than a fresh `[]` per call (this runs per event).
 * Read-only by its type; not frozen, as callers iterate it with `for…of`, which V8 does not
 * inline over frozen arrays (an iterator object per loop instead: measured).
 */
const NOTHING: readonly never[] = [];

/**
 * Offer one item to the reorder buffer. Released are all pending items with
 * `t <= newest - allowedLatenessMs`; with a lateness of 0 every item is released at once and
 * anything not newer than the last released item is dropped (the plain "ignore older" rule).
 * `tiebreak` orders items with equal times (0: the same item, a duplicate); it is only called then.
 * With `keepLast`, the state keeps the items released last, so that one of them offered again is
 * a duplicate rather than late.
 */
export function admit<T extends Timed>(state: ReorderState<T> | undefined, item: T, allowedLatenessMs: number, tiebreak: (a: T, b: T) => number, keepLast = false): Admission<T> {
  const s = state ?? (EMPTY_REORDER);
  const time = item.t;
  if (s.released !== undefined && time <= s.released) {
    const again = keepLast && s.last !== undefined && s.last.some((x) => x.t === time && tiebreak(x, item) === 0);
    return { state: s, released: NOTHING, late: !again, duplicate: again };
  }
  const pending = s.pending;
  // Insertion point (pending is short: at most the events of one lateness window).
  let i = pending.length;
  while (i > 0) {
    const prev = pending[i - 1] as T;
    if (prev.t < time) break;
    if (prev.t === time) {
      const c = tiebreak(prev, item);
      if (c === 0) return { state: s, released: NOTHING, late: false, duplicate: true };
      if (c < 0) break;
    }
    i--;
  }
  const newest = s.newest === undefined || time > s.newest ? time : s.newest;
  const watermark = newest - allowedLatenessMs;
  // Fast path: in-order arrival with nothing pending and nothing to hold back.
  if (pending.length === 0 && time <= watermark) {
    const released = [item];
    return { state: reorderState(time, newest, pending, keepLast ? released : undefined), released, late: false, duplicate: false };
  }
  if (time > watermark) {
    // The new item waits; released are the pending items at or before the watermark, all of them
    // before the insertion point (one pass, no merged copy).
    let n = 0;
    while (n < i && (pending[n] as T).t <= watermark) n++;
    const rest = insertAfterRelease(pending, n, i, item);
    if (n === 0) return { state: reorderState(s.released, newest, rest, keepLast ? s.last : undefined), released: NOTHING, late: false, duplicate: false };
    // All of them (an asset reporting again after a pause): the old buffer itself, never mutated.
    const released = n === pending.length ? pending : pending.slice(0, n);
    return { state: reorderState((pending[n - 1] as T).t, newest, rest, keepLast ? newestOf(released) : undefined), released, late: false, duplicate: false };
  }
  // The new item is released too (a lateness of 0, or an item behind the watermark), with everything before it.
  const merged = i === pending.length ? [...pending, item] : [...pending.slice(0, i), item, ...pending.slice(i)];
  let m = 0;
  while (m < merged.length && (merged[m] as T).t <= watermark) m++;
  const released = merged.slice(0, m);
  return { state: reorderState((merged[m - 1] as T).t, newest, merged.slice(m), keepLast ? newestOf(released) : undefined), released, late: false, duplicate: false };
}

/**
 * A buffer's state, always of one shape: every field present, `undefined` where absent (nothing
 * released yet, `last` not kept). Every rule's buffer then shares one hidden class, so the reads in
 * {@link admit} stay monomorphic; JSON drops the `undefined` fields, so the stored JSON is as before.
 */
function reorderState<T extends Timed>(released: number | undefined, newest: number | undefined, pending: readonly T[], last: readonly T[] | undefined): ReorderState<T> {
  return { released, newest, pending, last };
}

/** The items of `released` (in event-time order, not empty) of its newest time: all of them, as a rule. */
function newestOf<T extends Timed>(released: readonly T[]): readonly T[] {
  const t = (released[released.length - 1] as T).t;
  if ((released[0] as T).t === t) return released;
  let i = released.length - 1;
  while ((released[i - 1] as T).t === t) i--;
  return released.slice(i);
}

/** `pending` without its first `n` items and with `item` inserted at index `i` (i ≥ n). */
function insertAfterRelease<T>(pending: readonly T[], n: number, i: number, item: T): T[] {
  // Sized up front: a buffer is rebuilt per admitted item, and `push` from empty reserves spare room.
  const out = new Array<T>(pending.length - n + 1);
  let j = 0;
  for (let k = n; k < i; k++) out[j++] = pending[k] as T;
  out[j++] = item;
  for (let k = i; k < pending.length; k++) out[j++] = pending[k] as T;
  return out;
}

/** A tiebreak that orders items by a string key (equal keys: duplicates). */
export function byKey<T>(key: (x: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka === kb ? 0 : ka < kb ? -1 : 1;
  };
}

/** Release everything still pending (end of a `rules test` input, or a test harness); `keepLast` as for {@link admit}. */
export function drain<T extends Timed>(state: ReorderState<T> | undefined, keepLast = false): { state: ReorderState<T>; released: readonly T[] } {
  const s = state ?? (EMPTY_REORDER);
  const last = s.pending[s.pending.length - 1];
  if (last === undefined) return { state: s, released: NOTHING };
  return { state: reorderState(last.t, s.newest, [], keepLast ? newestOf(s.pending) : s.last), released: s.pending };
}

/**
 * Move event time to `time` without an item (an idle asset's watermark) and release what is then
 * final: the pending items at or before `time - allowedLatenessMs`. Nothing pending, or nothing
 * that old: the same state back. `keepLast` as for {@link admit}.
 */
export function advance<T extends Timed>(state: ReorderState<T> | undefined, time: number, allowedLatenessMs: number, keepLast = false): { state: ReorderState<T>; released: readonly T[] } {
  const s = state ?? (EMPTY_REORDER);
  const watermark = Math.max(s.newest ?? time, time) - allowedLatenessMs;
  let n = 0;
  while (n < s.pending.length && (s.pending[n] as T).t <= watermark) n++;
  if (n === 0) return { state: s, released: NOTHING };
  const released = s.pending.slice(0, n);
  return { state: reorderState((s.pending[n - 1] as T).t, Math.max(s.newest ?? time, time), s.pending.slice(n), keepLast ? newestOf(released) : undefined), released };
}

/**
 * The buffer with everything up to event time `at` counted as released: a decision an idle
 * watermark made at `at` is final, so an item not newer is late from then on (what is pending is
 * newer: see {@link advance}).
 */
export function releasedUpTo<T extends Timed>(state: ReorderState<T> | undefined, at: number): ReorderState<T> {
  return reorderState(Math.max(state?.released ?? at, at), Math.max(state?.newest ?? at, at), state?.pending ?? [], state?.last);
}

/** Whether a reorder buffer holds anything (what an idle asset's watermark may release). */
export const holdsAny = (order: ReorderState<Timed> | undefined): boolean => (order?.pending.length ?? 0) > 0;

/**
 * A rule that holds events for the allowed lateness can be asked to decide on what it holds: all
 * of it (`rules test` at the end of its input, tests), or what is final at event time `upTo` (an
 * idle asset's watermark, through the engine). Nothing to decide: the same state back.
 */
export interface FlushableRule<S = unknown> extends Rule<S> {
  flush(state: S | undefined, ctx: RuleContext, upTo?: number): RuleResult<S>;
  /**
   * Whether the state holds events not yet decided (what an idle watermark's `flush` could decide).
   * `asset`, the asset's registry record where the caller has it: a rule that does not apply to
   * that asset (its `appliesTo`) decides nothing for it, on a watermark as on an event, so it holds nothing.
   */
  holds(state: S | undefined, asset?: AssetRecord): boolean;
}

export function isFlushable(rule: Rule): rule is FlushableRule {
  return typeof (rule as Partial<FlushableRule>).flush === 'function';
}
