/**
 * What one event changed in an asset's rule state, as lines a person can follow: the answer to
 * "why did this rule not fire (yet)?" in `rules test --trace`. A generic difference of the state
 * documents, leaf by leaf (`maintenance.thresholds.engine-hot.phase: pending → active`), with
 * times shown as ISO 8601, the reorder buffers summarised as how many events each rule holds for
 * the allowed lateness, and the meter histories (kept for completions) left out.
 * @module
 */
import { stableJson } from './compare.js';
import type { StateDoc } from './simulate.js';

/**
 * A rule sub-state's own keys left out of the difference: reorder buffers (summarised) and their
 * bookkeeping (`located`: the zones the positions they hold were located by), meter histories, and
 * the bounds below which late faults are dropped (`lateAlertsFrom`, a number until an episode is
 * forgotten, and `lateAlertFaults`, those of single faults).
 * Only at that level: deeper down the keys are names (a threshold, interval or zone may be called `order`).
 */
const SKIP = new Set(['order', 'located', 'releasedKinds', 'history', 'kmHistory', 'lateAlertsFrom', 'lateAlertFaults']);
/** Whole milliseconds between 2000 and 2100 are times. */
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2100, 0, 1);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function readable(v: unknown): unknown {
  if (typeof v === 'number' && Number.isInteger(v) && v >= EARLIEST && v < LATEST) return new Date(v).toISOString();
  if (Array.isArray(v)) return v.map(readable);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, readable(x)]));
  return v;
}

function show(v: unknown): string {
  if (v === undefined) return '(none)';
  const r = readable(v);
  const text = typeof r === 'string' ? r : JSON.stringify(r);
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

function diff(path: string, a: unknown, b: unknown, out: string[], depth = 0): void {
  // Objects (one of them maybe new or gone) field by field, so each line names one value.
  if ((isObject(a) || a === undefined) && (isObject(b) || b === undefined)) {
    const x = a ?? {};
    const y = b ?? {};
    for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
      // Depth 1: the keys of a rule's sub-state.
      if (depth !== 1 || !SKIP.has(k)) diff(path === '' ? k : `${path}.${k}`, x[k], y[k], out, depth + 1);
    }
    return;
  }
  if (stableJson(a) !== stableJson(b)) out.push(`${path}: ${show(a)} → ${show(b)}`);
}

/** How many events each rule holds for the allowed lateness in a state document (rules holding none left out). */
export function heldEvents(doc: StateDoc): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [rule, sub] of Object.entries(doc)) {
    const pending = isObject(sub) && isObject(sub.order) && Array.isArray(sub.order.pending) ? sub.order.pending.length : 0;
    if (pending > 0) out[rule] = pending;
  }
  return out;
}

/**
 * The earliest event time a rule could still drop an event of as a duplicate, from its sub-state:
 * the rules do so only for an event the same as one their reorder buffer holds (`order.pending`)
 * or released last (`order.last`, at `order.released`), or as the newest fix processed (location's
 * `last`). Infinity: none (no sub-state, nothing held or released).
 */
export function duplicateFloor(sub: unknown): number {
  if (!isObject(sub)) return Infinity;
  let floor = Infinity;
  const order = sub.order;
  if (isObject(order)) {
    if (typeof order.released === 'number') floor = Math.min(floor, order.released);
    for (const items of [order.pending, order.last]) {
      const t: unknown = Array.isArray(items) && isObject(items[0]) ? items[0].t : undefined;
      if (typeof t === 'number') floor = Math.min(floor, t);
    }
  }
  if (isObject(sub.last) && typeof sub.last.eventTime === 'number') floor = Math.min(floor, sub.last.eventTime);
  return floor;
}

/** The changes from `before` to `after`, one line each, by rule (sorted). */
export function stateChanges(before: StateDoc, after: StateDoc): string[] {
  const out: string[] = [];
  diff('', before, after, out);
  return out;
}
