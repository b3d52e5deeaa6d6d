/** Location sync's pure form folded over events, as the zone tests of location sync drive it. */
import type { DeliveryIntent } from '../../src/core/model/delivery.js';
import type { PositionEvent } from '../../src/core/model/events.js';
import type { RuleContext } from '../../src/core/rules/rule.js';
import { createLocationSyncRule, type LocationSyncOptions, type LocationSyncState } from '../../src/core/rules/location-sync.js';

/**
 * `events` through a location sync rule of `options` from `start`, then (unless `flush` is false) its
 * full flush: all it sent, the events it flagged late (and for each event whether it was), the
 * state it ends with, and the rule.
 */
export function foldLocationSync(options: LocationSyncOptions, events: readonly PositionEvent[], ctx: RuleContext, start?: LocationSyncState, flush = true) {
  const rule = createLocationSyncRule(options);
  let state = start;
  const out: DeliveryIntent[] = [];
  const late: PositionEvent[] = [];
  const lateFlags: boolean[] = [];
  for (const e of events) {
    const r = rule.apply(state, e, ctx);
    state = r.state;
    out.push(...r.deliveries);
    lateFlags.push(r.late === true);
    if (r.late) late.push(e);
  }
  if (flush) {
    const flushed = rule.flush(state, ctx);
    state = flushed.state;
    out.push(...flushed.deliveries);
  }
  return { out, late, lateFlags, state, rule };
}

/**
 * Each batch's deliveries as the ingestor writes them: the newest location update per batch
 * (coalesceStates), from a simulation's per-step deliveries cut into batches of `sizes`.
 */
export function writtenPerBatch(perStep: readonly (readonly DeliveryIntent[])[], sizes: readonly number[]): DeliveryIntent[] {
  const out: DeliveryIntent[] = [];
  let at = 0;
  for (const size of sizes) {
    let newest: DeliveryIntent | undefined;
    for (const d of perStep.slice(at, at + size).flat()) if (newest === undefined || newest.eventTime <= d.eventTime) newest = d;
    if (newest !== undefined) out.push(newest);
    at += size;
  }
  return out;
}
