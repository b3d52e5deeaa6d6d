/**
 * The maintenance closed loop, polled: asks each destination whose connector can list work orders
 * for those changed since the last poll, and feeds them into the normal durable pipeline as
 * canonical `workorder` events (source `erp-feedback`), so the maintenance rule sees completions in
 * order with everything else. The poll cursor (the ERP's own change time) advances only after the
 * events are committed (invariant 1); re-fetching an update is harmless, the rule ignores feedback
 * it has already applied. ERPs that push webhooks post the same events to the HTTP intake instead.
 * @module
 */
import { coerceError, RateLimitedError } from '../../core/errors/errors.js';
import type { WorkOrderUpdate } from '../../ports/connector.js';
import type { RawMessage } from '../../core/model/messages.js';
import { parseWorkOrderKey } from '../../core/rules/maintenance/work-order.js';
import type { ScheduledTask, TaskContext } from '../../ports/task.js';

export const FEEDBACK_TASK = 'maintenance-feedback';
/** kv namespace of the poll cursors, one per destination. */
export const FEEDBACK_NS = 'maintenance.feedback';
/** Source name of the submitted events; the canonical decoder is registered for it. */
export const FEEDBACK_SOURCE = 'erp-feedback';

export interface WorkOrderFeedbackOptions {
  /** Destinations to poll (those whose connector has `fetchWorkOrderUpdates`). */
  readonly destinations: readonly string[];
  readonly pollEveryMs: number;
  /** How far back the first poll looks. */
  readonly initialLookbackMs: number;
}

/** The canonical JSON event for one update (what the `erp-feedback` decoder reads). */
export function feedbackEvent(u: WorkOrderUpdate): Record<string, unknown> {
  return {
    kind: 'workorder',
    erpAssetId: u.erpAssetId,
    eventTime: new Date(u.changedAt).toISOString(),
    businessKey: u.businessKey,
    erpWorkOrderId: u.erpWorkOrderId,
    status: u.status,
    ...(u.operatingHoursAtCompletion !== undefined ? { operatingHoursAtCompletion: u.operatingHoursAtCompletion } : {}),
    ...(u.odometerKmAtCompletion !== undefined ? { odometerKmAtCompletion: u.odometerKmAtCompletion } : {}),
  };
}

export function createWorkOrderFeedbackTask(options: WorkOrderFeedbackOptions): ScheduledTask {
  return {
    name: FEEDBACK_TASK,
    schedule: { everyMs: options.pollEveryMs },
    async run(ctx) {
      // One destination down must not stop the others' feedback: each is polled, then failures reported.
      const failed: string[] = [];
      for (const destination of options.destinations) {
        if (ctx.signal.aborted) return;
        try {
          const passedOver: string[] = [];
          await pollOne(ctx, destination, options, passedOver);
          // Taken past (the cursor moved), but a completion among them never resets its baseline: said as a failure, so it is logged.
          if (passedOver.length) failed.push(`work-order poll of ${destination} passed over ${passedOver.length} work order${passedOver.length === 1 ? '' : 's'} assetbridge opened: ${passedOver.join('; ')}`);
        } catch (err) {
          // A 429 paused the destination (logged as such, once per streak), or it is still paused and was
          // not asked: the next poll asks again from the same cursor.
          if (err instanceof RateLimitedError) continue;
          failed.push(`work-order poll failed for ${destination}: ${coerceError(err).message}`);
        }
      }
      if (failed.length) throw new Error(failed.join('; '));
    },
  };
}

/** Poll one destination; returns how many updates were submitted, and adds to `passedOver` the connector's reasons for work orders of ours it could not read. */
export async function pollOne(ctx: TaskContext, destination: string, options: Pick<WorkOrderFeedbackOptions, 'initialLookbackMs'>, passedOver: string[] = []): Promise<number> {
  const connector = ctx.connector(destination);
  if (!connector?.fetchWorkOrderUpdates) return 0;
  const fetchUpdates = connector.fetchWorkOrderUpdates.bind(connector);
  const stored = await ctx.store.kvGet(FEEDBACK_NS, destination);
  const since = stored !== undefined ? Number(stored) : ctx.clock.now() - options.initialLookbackMs;
  // The ERP lists changes at or after the cursor, so the last poll's newest come again: those it
  // submitted are skipped (they would only be counted as input again), others of that instant are new.
  const seenAtCursor = new Set<string>(stored !== undefined ? (JSON.parse((await ctx.store.kvGet(FEEDBACK_NS, seenKey(destination))) ?? '[]') as string[]) : []);
  // Within the destination's rate limit, like its deliveries; a 429 pauses those too.
  const poll = await ctx.withinLimits(destination, (sendCtx) => fetchUpdates(since, sendCtx));
  const { updates } = poll;
  passedOver.push(...(poll.passedOver ?? []));
  // Only work orders we opened carry our business key (`asset|rule|occurrence`).
  const ours = updates.filter((u) => parseWorkOrderKey(u.businessKey) !== undefined && !(u.changedAt === since && seenAtCursor.has(updateId(u))));
  if (ours.length > 0) {
    const receivedAt = ctx.clock.now();
    // One message per update: an update for an unknown asset is quarantined alone.
    const messages: RawMessage[] = ours.map((u) => ({
      source: FEEDBACK_SOURCE,
      channel: `workorders/${destination}`,
      payload: JSON.stringify(feedbackEvent(u)),
      receivedAt,
    }));
    await ctx.sink.submit(messages);
  }
  // The ERP's own work orders move the cursor too, so they are not read again on every poll. The
  // connector's readUpTo is where the next poll must start (it may hold back for a record that
  // changed while the pages were read); without one, the newest update.
  const newest = Math.max(since, poll.readUpTo ?? Math.max(since, ...updates.map((u) => u.changedAt)));
  const atNewest = ours.filter((u) => u.changedAt === newest).map(updateId);
  if (newest > since) {
    await ctx.store.kvSet(FEEDBACK_NS, seenKey(destination), JSON.stringify(atNewest));
    await ctx.store.kvSet(FEEDBACK_NS, destination, String(newest));
  } else if (atNewest.length) await ctx.store.kvSet(FEEDBACK_NS, seenKey(destination), JSON.stringify([...seenAtCursor, ...atNewest]));
  return ours.length;
}

/** kv key of the updates a destination's last poll submitted at its cursor. */
const seenKey = (destination: string): string => `seen-at-cursor:${destination}`;

/** One update of one work order: its key, status and change time. */
const updateId = (u: WorkOrderUpdate): string => `${u.businessKey}|${u.status}|${u.changedAt}`;
