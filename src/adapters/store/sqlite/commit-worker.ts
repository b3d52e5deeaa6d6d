/**
 * The commit worker's thread: its own connection to the store file, applying ingest batches in
 * the order they were posted. After a failed commit it refuses every batch queued behind it
 * (they were computed on top of the failed one) until the owner says `reset`.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { applyIngestCommit, configureConnection, prepareIngestStatements, type PreparedCommit } from './sqlite-ingest.js';

export interface CommitWorkerData {
  readonly path: string;
  readonly synchronous: 'full' | 'normal' | undefined;
  readonly cacheMiB: number | undefined;
}
export type CommitRequest = { type: 'commit'; seq: number; commit: PreparedCommit; now: number } | { type: 'reset' } | { type: 'close' };
export type CommitReply = { seq: number; ok: true } | { seq: number; ok: false; error: string; refused: boolean };

const port = parentPort;
if (!port) throw new Error('commit-worker.js runs as a worker thread of the SQLite store');
const data = workerData as CommitWorkerData;
const db = new Database(data.path);
configureConnection(db, data.synchronous, data.cacheMiB);
const stmts = prepareIngestStatements(db);
let failed: string | undefined;

port.on('message', (msg: CommitRequest) => {
  if (msg.type === 'reset') {
    failed = undefined;
    return;
  }
  if (msg.type === 'close') {
    db.close();
    port.close();
    return;
  }
  if (failed !== undefined) {
    port.postMessage({ seq: msg.seq, ok: false, error: `not committed: an earlier batch failed (${failed})`, refused: true } satisfies CommitReply);
    return;
  }
  try {
    applyIngestCommit(db, stmts, msg.commit, msg.now);
    port.postMessage({ seq: msg.seq, ok: true } satisfies CommitReply);
  } catch (err) {
    failed = err instanceof Error ? err.message : String(err);
    port.postMessage({ seq: msg.seq, ok: false, error: failed, refused: false } satisfies CommitReply);
  }
});
