/**
 * Retention (`store.retention`): the store keeps what is unfinished for good — pending, in-flight
 * and dead deliveries, open quarantine entries — and deletes finished records once they are older
 * than their retention: delivered state updates, audit records, replayed or discarded quarantine
 * entries, and, only when set, delivered facts. The service runs this every `retention.every`;
 * `assetbridge store prune` runs it on demand. Deletes go in batches, each its own short
 * transaction, so ingest and dispatch are never held up behind a large backlog.
 * @module
 */
import type { Logger } from 'pino';
import type { RetentionConfig } from '../config/schema.js';
import type { PruneCutoffs, PruneResult, Store } from '../ports/store.js';
import type { ScheduledTask } from '../ports/task.js';

export const RETENTION_TASK = 'store-retention';
/** Rows of each kind deleted per transaction. */
const BATCH = 5000;

/** The cutoffs at `now`: a retention of 0 keeps that kind for good. */
export function cutoffsAt(retention: RetentionConfig, now: number): PruneCutoffs {
  const before = (ms: number) => (ms > 0 ? now - ms : undefined);
  const c: { -readonly [K in keyof PruneCutoffs]: PruneCutoffs[K] } = {};
  const delivered = before(retention.delivered);
  const facts = before(retention.deliveredFacts);
  const audit = before(retention.audit);
  const quarantine = before(retention.quarantine);
  if (delivered !== undefined) c.deliveredBefore = delivered;
  if (facts !== undefined) c.deliveredFactsBefore = facts;
  if (audit !== undefined) c.auditBefore = audit;
  if (quarantine !== undefined) c.quarantineBefore = quarantine;
  return c;
}

const ZERO: PruneResult = { delivered: 0, deliveredFacts: 0, audit: 0, quarantine: 0 };

/**
 * Deletes everything past the cutoffs, batch by batch, until nothing is left or `signal` aborts.
 * `onBatch` sees the running totals after each batch (progress for the CLI).
 */
export async function pruneAll(store: Store, cutoffs: PruneCutoffs, opts: { signal?: AbortSignal; onBatch?: (total: PruneResult) => void; batch?: number } = {}): Promise<PruneResult> {
  const batch = opts.batch ?? BATCH;
  let total = ZERO;
  for (;;) {
    if (opts.signal?.aborted) return total;
    const r = await store.prune(cutoffs, batch);
    total = { delivered: total.delivered + r.delivered, deliveredFacts: total.deliveredFacts + r.deliveredFacts, audit: total.audit + r.audit, quarantine: total.quarantine + r.quarantine };
    opts.onBatch?.(total);
    if (Math.max(r.delivered, r.deliveredFacts, r.audit, r.quarantine) < batch) return total;
    // Let ingest and dispatch have the store between batches.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export function describePrune(r: PruneResult): string {
  return `${r.delivered} delivered state update(s), ${r.deliveredFacts} delivered fact(s), ${r.audit} audit record(s), ${r.quarantine} closed quarantine entr${r.quarantine === 1 ? 'y' : 'ies'}`;
}

export function createRetentionTask(retention: RetentionConfig, logger?: Logger): ScheduledTask {
  return {
    name: RETENTION_TASK,
    // Soon after the start too: a service restarted more often than `every` would never prune.
    schedule: { everyMs: retention.every, firstAfterMs: Math.min(retention.every, 5 * 60_000) },
    async run(ctx) {
      const r = await pruneAll(ctx.store, cutoffsAt(retention, ctx.clock.now()), { signal: ctx.signal });
      if (r.delivered + r.deliveredFacts + r.audit + r.quarantine > 0) logger?.info({ pruned: r }, `retention deleted ${describePrune(r)}`);
    },
  };
}
