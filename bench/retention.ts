/**
 * Retention benchmark: the service's retention run (`pruneAll`, what the `store-retention` task and
 * `store prune` do) deleting a backlog of delivered facts and their audit records, with the
 * store's commit worker running as in a service, as a ratio to the least any prune must do in the
 * same process: the same rows deleted (and the facts' keys kept) in one transaction on a copy of the
 * same store. Also the longest the event loop was held at once while the prune ran, which is how
 * long MQTT acks, HTTP answers and timers wait behind it: what its batches are for; and the
 * longest a second process's writes (a running service's, while `store prune` runs) waited for the
 * write lock meanwhile: what the pauses between the batches are for.
 * @module
 */
import { copyFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { configureConnection } from '../src/adapters/store/sqlite/sqlite-ingest.js';
import { pruneAll } from '../src/engine/retention.js';
import { tuneV8 } from '../src/runtime/v8-tuning.js';
import { withTempStore } from '../test/helpers/temp-store.js';
import { watchHolds } from './event-loop-hold.js';
import { otherWriter } from './other-writer.js';

export interface RetentionBenchResult {
  /** Delivered facts deleted, each with one audit record. */
  readonly rows: number;
  /** ms the retention run took. */
  readonly pruneMs: number;
  /** Its batches (transactions of one kind each). */
  readonly batches: number;
  /** ms the same deletes took in one transaction: the floor. */
  readonly bareMs: number;
  /** bare / prune (1 = the batched run costs no more than deleting everything at once). */
  readonly ratio: number;
  /** The longest the event loop was held at once during the retention run, ms. */
  readonly longestHoldMs: number;
  /** The same during the one-transaction delete: what the batches spare the event loop. */
  readonly bareHoldMs: number;
  /** The longest a write of another process (every 5 ms, busy_timeout 5 s) waited during the retention run, ms. */
  readonly otherWriterWaitMs: number;
  /** The same during the one-transaction delete. */
  readonly bareOtherWriterWaitMs: number;
}

const DAY = 86_400_000;
const FILL = 10_000;

export async function benchRetention(rows = 300_000): Promise<RetentionBenchResult> {
  // The product's default `store.synchronous` (full): each batch's commit syncs the log.
  return withTempStore({ synchronous: 'full' }, async (store) => {
    const db = store.db;
    const old = Date.now() - 90 * DAY;
    const fact = db.prepare(
      `INSERT INTO outbox (destination, operation, business_key, kind, erp_asset_id, event_time, payload, idempotency_key, status, attempts, created_at, updated_at, next_attempt_at, response)
       VALUES ('erp', 'workorder.create', ?, 'fact', ?, ?, ?, ?, 'delivered', 1, ?, ?, 0, '{"id":"WO-1"}')`,
    );
    const audit = db.prepare(
      `INSERT INTO audit (at, delivery_id, destination, operation, erp_asset_id, idempotency_key, attempt, method, url, request_body, status, response_body, latency_ms, outcome)
       VALUES (?, ?, 'erp', 'workorder.create', ?, ?, 1, 'POST', 'http://127.0.0.1:8080/workorders', ?, 201, '{"id":"WO-1"}', 12, 'delivered')`,
    );
    const body = JSON.stringify({ erpAssetId: 'A-1', priority: 'HIGH', reason: 'coolant temperature above 95 °C for 5 min', snapshot: { coolantTemp: 96.5, engineHours: 1234.5 } });
    // Written straight into the tables, a delivered work order and its request's audit record
    // each, 90 days old; one newer row, which retention keeps (the highest id stays).
    for (let i = 0; i <= rows; i += FILL) {
      db.transaction(() => {
        for (let k = i; k < Math.min(rows + 1, i + FILL); k++) {
          const at = k === rows ? Date.now() : old + k;
          const id = fact.run(`A-${k % 1000}|coolant|${k}`, `A-${k % 1000}`, at, body, `ab-${k}`, at, at).lastInsertRowid;
          audit.run(at, id, `A-${k % 1000}`, `ab-${k}`, body);
        }
      })();
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
    const copy = resolve(db.name, '..', 'bare.db');
    copyFileSync(db.name, copy);

    // A service's commit worker runs from its first ingest on: the prune's folds go there.
    await store.commitIngest({ states: [{ erpAssetId: 'A-1', doc: { meter: { hours: 1 } }, changed: ['meter'] }], deliveries: [], quarantine: [], accepted: 0, checkpoint: true });
    const fold = await store.foldLog();
    if (fold.where !== 'worker') throw new Error(`the store folded its log ${fold.where}, not on its commit worker: the benchmark is not set up as a service is`);

    const cutoffs = { deliveredFactsBefore: Date.now() - 30 * DAY, auditBefore: Date.now() - 30 * DAY };
    let batches = 0;
    let writer = await otherWriter(db.name);
    let holds = watchHolds();
    let t = performance.now();
    const pruned = await pruneAll(store, cutoffs, { onBatch: () => batches++ });
    const pruneMs = performance.now() - t;
    const longestHoldMs = holds.stop();
    const other = await writer.stop();
    if (pruned.deliveredFacts !== rows || pruned.audit !== rows) throw new Error(`the prune deleted ${pruned.deliveredFacts} facts and ${pruned.audit} audit records, not ${rows} of each: the benchmark is wrong`);

    const bare = new Database(copy);
    try {
      configureConnection(bare, 'full');
      writer = await otherWriter(copy);
      holds = watchHolds();
      t = performance.now();
      const deleted = bare.transaction(() => {
        const keep = bare
          .prepare(`INSERT INTO outbox_pruned_fact (destination, operation, business_key, pruned_at) SELECT destination, operation, business_key, ? FROM outbox WHERE kind = 'fact' AND status = 'delivered' AND updated_at < ?`)
          .run(Date.now(), cutoffs.deliveredFactsBefore).changes;
        const facts = bare.prepare(`DELETE FROM outbox WHERE kind = 'fact' AND status = 'delivered' AND updated_at < ?`).run(cutoffs.deliveredFactsBefore).changes;
        const audits = bare.prepare('DELETE FROM audit WHERE at < ?').run(cutoffs.auditBefore).changes;
        return Math.min(keep, facts, audits);
      })();
      const bareMs = performance.now() - t;
      // A turn for the ticker, which sees the hold only once the transaction has let go.
      await new Promise((r) => setTimeout(r, 2));
      const bareHoldMs = holds.stop();
      const bareOther = await writer.stop();
      // In one transaction they may fail (past the 5 s busy_timeout): the worst then shows 5 s.
      if (other.failed > 0) throw new Error(`the other process's writes failed ${other.failed} time(s) during the retention run (busy_timeout 5 s): the pauses between its batches do not let them in`);
      if (deleted !== rows) throw new Error(`the bare delete removed ${deleted} rows of a kind, not ${rows}: the benchmark is wrong`);
      return { rows, pruneMs: Math.round(pruneMs), batches, bareMs: Math.round(bareMs), ratio: Math.round((bareMs / pruneMs) * 1000) / 1000, longestHoldMs: Math.round(longestHoldMs), bareHoldMs: Math.round(bareHoldMs), otherWriterWaitMs: other.worstMs, bareOtherWriterWaitMs: bareOther.worstMs };
    } finally {
      bare.close();
    }
  });
}

if (import.meta.url === `file://${resolve(process.argv[1] ?? '')}`) {
  tuneV8();
  const r = await benchRetention(Number(process.env.BENCH_RETENTION_ROWS ?? 300_000));
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
