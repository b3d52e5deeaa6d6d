/**
 * Retention (`store.retention`): the store keeps what is unfinished for good — pending, in-flight
 * and dead deliveries, open quarantine entries — and deletes finished records once they are older
 * than their retention: delivered state updates, audit records, replayed or discarded quarantine
 * entries, and, only when set, delivered facts. The service runs this every `retention.every`;
 * `assetbridge store prune` runs it on demand. Deletes go in batches, each its own short
 * transaction of one kind, so ingest and dispatch are never held up behind a large backlog.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { RetentionConfig } from '../config/schema.js';
import { WRITE_PAUSE_MS, type PruneCutoffs, type PruneResult, type Store } from '../ports/store.js';
import type { ScheduledTask } from '../ports/task.js';

export const RETENTION_TASK = 'store-retention';
/**
 * How long one batch (one transaction of one kind) should hold the event loop, ms: the batch size
 * follows what the batches before took. A fixed 5,000 rows of each kind per call held it about
 * 60 ms, and up to 300 ms when the facts' keys spread over the key space (each commit then writes
 * a page of the key index per row) or a commit folded the log (`npm run bench -- retention`).
 */
const TARGET_MS = 15;
/** The first batch's size of each kind, and the bounds the sizing keeps to. */
const FIRST = 500;
const SMALLEST = 50;
const LARGEST = 10_000;
/** Batches between folds of the store's write-ahead log ({@link Store.foldLog}), so no single commit folds tens of MiB. */
const FOLD_EVERY = 5;

/**
 * The next batch's size after one of `size` rows took `ms`: toward {@link TARGET_MS}, at most
 * halved or doubled at a step (one slow commit, a fold or a collection, does not swing it).
 */
export function nextBatchSize(size: number, ms: number): number {
  const factor = Math.min(2, Math.max(0.5, TARGET_MS / Math.max(ms, 0.1)));
  return Math.min(LARGEST, Math.max(SMALLEST, Math.round(size * factor)));
}

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
/** Each kind's cutoff and what it counts, in the order they are pruned. */
const KINDS = [
  ['deliveredBefore', 'delivered'],
  ['deliveredFactsBefore', 'deliveredFacts'],
  ['auditBefore', 'audit'],
  ['quarantineBefore', 'quarantine'],
] as const satisfies readonly (readonly [keyof PruneCutoffs, keyof PruneResult])[];

/**
 * Deletes everything past the cutoffs, one kind at a time, batch by batch, until nothing is left
 * or `signal` aborts. Each batch is sized to hold the event loop about {@link TARGET_MS} ms, going
 * by the ones before (`batch`: a fixed size instead, for tests). Between batches it pauses about as
 * long ({@link WRITE_PAUSE_MS}): ingest, dispatch, MQTT acks and HTTP answers go on, and other
 * connections get the write lock. Every few batches the store folds its write-ahead log, on the
 * commit worker's thread where one runs. `onBatch` sees the running totals after each batch
 * (progress for the CLI).
 */
export async function pruneAll(
  store: Store,
  cutoffs: PruneCutoffs,
  opts: { signal?: AbortSignal; onBatch?: (total: PruneResult) => void; batch?: number; /** ms, for the sizing (tests). */ now?: () => number; pauseMs?: number } = {},
): Promise<PruneResult> {
  const now = opts.now ?? (() => performance.now());
  let total = ZERO;
  let batches = 0;
  for (const [cutoff, counted] of KINDS) {
    const before = cutoffs[cutoff];
    if (before === undefined) continue;
    // Each kind sized afresh: an audit record costs less to delete than a fact (whose key is kept).
    let size = opts.batch ?? FIRST;
    for (;;) {
      if (opts.signal?.aborted) return total;
      if (batches > 0) await sleep(opts.pauseMs ?? WRITE_PAUSE_MS);
      const started = now();
      const r = await store.prune({ [cutoff]: before }, size);
      const took = now() - started;
      total = { delivered: total.delivered + r.delivered, deliveredFacts: total.deliveredFacts + r.deliveredFacts, audit: total.audit + r.audit, quarantine: total.quarantine + r.quarantine };
      opts.onBatch?.(total);
      if (++batches % FOLD_EVERY === 0) void store.foldLog?.();
      if (r[counted] < size) break;
      if (opts.batch === undefined) size = nextBatchSize(size, took);
    }
  }
  return total;
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
