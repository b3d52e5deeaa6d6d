/**
 * Idle watermarks: rules that hold an asset's events for `rules.allowedLateness` decide them when a
 * newer event of that asset arrives. An asset that goes quiet (parked after crossing a service
 * point, switched off in a new zone, stopped by the fault it just reported) would keep its last
 * events undecided until it reports again. So every so often the ingestor names the assets it
 * has heard nothing from for `rules.idleAfter` whose rules hold events, and this task sends each a
 * `watermark` event at the wall clock through the pipeline: the rules decide what is final by then,
 * and the message is in the ingest log like any other, so a replay after a crash repeats it.
 * @module
 */
import { ENGINE_SOURCE } from '../../core/model/events.js';
import type { RawMessage } from '../../core/model/messages.js';
import type { ScheduledTask } from '../../ports/task.js';

export const IDLE_WATERMARK_TASK = 'rule-watermarks';

export interface IdleWatermarkOptions {
  /** Silence (wall clock) after which an asset's held events are decided, ms. */
  readonly idleMs: number;
  readonly checkEveryMs: number;
  readonly logger?: { debug(obj: object, msg: string): void };
}

/** The watermark message for one asset at `now` (what the canonical decoder reads). */
export function watermarkMessage(erpAssetId: string, now: number): RawMessage {
  return { source: ENGINE_SOURCE, channel: 'watermark', payload: JSON.stringify({ kind: 'watermark', erpAssetId, eventTime: now }), receivedAt: now };
}

export function createIdleWatermarkTask(options: IdleWatermarkOptions): ScheduledTask {
  return {
    name: IDLE_WATERMARK_TASK,
    schedule: { everyMs: options.checkEveryMs },
    async run(ctx) {
      const now = ctx.clock.now();
      const ids = ctx.idleHolding(options.idleMs);
      for (let i = 0; i < ids.length; i += 500) await ctx.submitInternal(ids.slice(i, i + 500).map((id) => watermarkMessage(id, now)));
      if (ids.length) options.logger?.debug({ assets: ids.length }, 'decided the held events of idle assets');
    },
  };
}
