/**
 * The commit worker's thread: its own connection to the store file, applying ingest batches in
 * the order they were posted. After a failed commit it refuses every batch queued behind it
 * (they were computed on top of the failed one) until the owner says `reset`.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { refusedBehind } from './commit-line.js';
import { toWorkerFailure, type WorkerFailure } from './worker-thread.js';
import { applyIngestCommit, configureConnection, INGEST_WAL_AUTOCHECKPOINT_PAGES, passiveFold, prepareIngestStatements, type PreparedCommit, type WriteGuard } from './sqlite-ingest.js';

export interface CommitWorkerData {
  readonly path: string;
  readonly synchronous: 'full' | 'normal' | undefined;
  readonly cacheMiB: number | undefined;
  /** Batches commit only while it holds (the owner's {@link WriteGuard}, set before the thread started). */
  readonly guard?: WriteGuard | undefined;
}
export type CommitRequest = { type: 'commit'; seq: number; commit: PreparedCommit; now: number } | { type: 'guard'; guard: WriteGuard } | { type: 'reset' } | { type: 'fold' } | { type: 'close' };
/** `spare`: the batch's log buffer, handed back (transferred) for the owner to frame later batches in. */
export type CommitReply = ({ seq: number; ok: true } | { seq: number; ok: false; error: WorkerFailure; refused: boolean }) & { spare?: ArrayBuffer };
/** The answer to a `fold`: the write-ahead log's frames, and how many of them are in the file now (none: it could not fold). */
export interface FoldReply {
  readonly type: 'folded';
  readonly frames: number;
  readonly folded: number;
}

const port = parentPort;
if (!port) throw new Error('commit-worker.js runs as a worker thread of the SQLite store');
const data = workerData as CommitWorkerData;
const db = new Database(data.path);
configureConnection(db, data.synchronous, data.cacheMiB, INGEST_WAL_AUTOCHECKPOINT_PAGES);
const stmts = prepareIngestStatements(db);
let failed: WorkerFailure | undefined;
let guard = data.guard;

port.on('message', (msg: CommitRequest) => {
  if (msg.type === 'reset') {
    failed = undefined;
    return;
  }
  if (msg.type === 'guard') {
    guard = msg.guard;
    return;
  }
  if (msg.type === 'fold') {
    // The log the owner's own connection wrote (a period-end posting's ledgers and facts), folded
    // into the file here, off its thread (PASSIVE: no writer waits for it).
    port.postMessage({ type: 'folded', ...(passiveFold(db) ?? { frames: 0, folded: 0 }) } satisfies FoldReply);
    return;
  }
  if (msg.type === 'close') {
    db.close();
    port.close();
    return;
  }
  // Read by SQLite only while the batch is applied (bound blobs are copied): the owner may reuse it after.
  const spare = msg.commit.log?.data.buffer as ArrayBuffer | undefined;
  const handBack = spare ? [spare] : [];
  if (failed !== undefined) {
    // Refused for the failed batch's reason: its code, so the same advice is given.
    const error = { name: 'Error', message: refusedBehind(failed.message), ...(failed.code !== undefined ? { code: failed.code } : {}) };
    port.postMessage({ seq: msg.seq, ok: false, error, refused: true, spare } satisfies CommitReply, handBack);
    return;
  }
  try {
    applyIngestCommit(db, stmts, msg.commit, msg.now, guard);
    port.postMessage({ seq: msg.seq, ok: true, spare } satisfies CommitReply, handBack);
  } catch (err) {
    failed = toWorkerFailure(err);
    port.postMessage({ seq: msg.seq, ok: false, error: failed, refused: false, spare } satisfies CommitReply, handBack);
  }
});
