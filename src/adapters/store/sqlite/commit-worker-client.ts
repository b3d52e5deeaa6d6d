/**
 * The store's side of the commit worker: posts serialised ingest batches to a worker thread that
 * owns its own connection, and settles each batch's promise when the worker has committed it (or
 * not). Batches commit in the order they were posted. The thread starts on the first commit, so
 * commands that never ingest never start it, and it does not keep the process alive while idle.
 * @module
 */
import { Worker } from 'node:worker_threads';
import type { CommitReply, CommitRequest, CommitWorkerData, FoldReply } from './commit-worker.js';
import { recycleLogBuffer } from './log-frame.js';
import type { PreparedCommit, WriteGuard } from './sqlite-ingest.js';
import { fromWorkerFailure, workerFile } from './worker-thread.js';

export class CommitWorker {
  private worker: Worker | undefined;
  private exited: Promise<void> | undefined;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private guard: WriteGuard | undefined;

  constructor(
    private readonly path: string,
    private readonly synchronous: 'full' | 'normal' | undefined,
    private readonly cacheMiB?: number,
  ) {}

  /** Posts a serialised batch (the store's commit line, commit-line.ts, posts them in order); settles when the worker has committed it. */
  post(prepared: PreparedCommit): Promise<void> {
    const worker = this.worker ?? this.start();
    const seq = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      try {
        const transfer = prepared.log ? [prepared.log.data.buffer as ArrayBuffer] : [];
        worker.postMessage({ type: 'commit', seq, commit: prepared, now: Date.now() } satisfies CommitRequest, transfer);
      } catch (err) {
        this.settle(seq, err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** From now on the worker commits a batch only while `guard` holds (checked in the batch's transaction). */
  setGuard(guard: WriteGuard): void {
    this.guard = guard;
    this.worker?.postMessage({ type: 'guard', guard } satisfies CommitRequest);
  }

  /** Callers of {@link fold} waiting for the fold under way: one at a time. */
  private folding: ((r: FoldReply) => void)[] | undefined;

  /**
   * Has the worker fold the write-ahead log into the file (after the commits posted before), off
   * this thread; resolves with how far it got. Undefined when the worker is not running (nothing
   * ingested yet): the caller folds on its own connection, or not at all. A fold asked for while
   * one is under way joins it.
   */
  fold(): Promise<FoldReply> | undefined {
    const worker = this.worker;
    if (!worker) return undefined;
    if (this.folding) {
      const waiting = this.folding;
      return new Promise((r) => waiting.push(r));
    }
    const waiting: ((r: FoldReply) => void)[] = [];
    this.folding = waiting;
    const done = new Promise<FoldReply>((r) => waiting.push(r));
    worker.ref(); // a caller awaiting it keeps the process alive until it answers
    worker.postMessage({ type: 'fold' } satisfies CommitRequest);
    return done;
  }

  /** Waits for posted commits, then closes the worker's connection and ends its thread. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    if (this.pending.size) await new Promise<void>((r) => this.idle.push(r));
    this.closing = true;
    worker.ref(); // keep the process alive until the thread has closed its connection (a fold's answer does not unref it)
    worker.postMessage({ type: 'close' } satisfies CommitRequest);
    await this.exited;
    this.worker = undefined;
    this.closing = false;
  }

  /** Between {@link close}'s last wait for commits and the thread's end: nothing unrefs the worker. */
  private closing = false;

  /** Called once no commit is pending. */
  private idle: (() => void)[] = [];

  private settle(seq: number, error?: Error): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    if (error) p.reject(error);
    else p.resolve();
    if (this.pending.size === 0) {
      if (!this.folding && !this.closing) this.worker?.unref();
      const idle = this.idle;
      this.idle = [];
      for (const f of idle) f();
    }
  }

  private folded(r: FoldReply): void {
    const waiting = this.folding ?? [];
    this.folding = undefined;
    if (this.pending.size === 0 && !this.closing) this.worker?.unref();
    for (const f of waiting) f(r);
  }

  private start(): Worker {
    const worker = new Worker(workerFile('commit-worker.js', 'commit worker', "run 'npm run build', or set store.commitInWorker: false"), { workerData: { path: this.path, synchronous: this.synchronous, cacheMiB: this.cacheMiB, guard: this.guard } satisfies CommitWorkerData });
    worker.unref();
    worker.on('message', (r: CommitReply | FoldReply) => {
      if ('type' in r) return this.folded(r);
      if (r.spare) recycleLogBuffer(r.spare);
      if (r.ok) return this.settle(r.seq);
      // Batches already queued behind a failed one are refused by the worker; new ones, computed
      // after the owner has seen this failure, may commit again. Refusals do not reset.
      if (!r.refused) worker.postMessage({ type: 'reset' } satisfies CommitRequest);
      this.settle(r.seq, fromWorkerFailure(r.error));
    });
    const gone = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      this.folded({ type: 'folded', frames: 0, folded: 0 });
      for (const seq of [...this.pending.keys()]) this.settle(seq, err);
    };
    worker.on('error', (err) => gone(new Error(`SQLite commit worker failed: ${err.message}`)));
    this.exited = new Promise<void>((r) =>
      worker.once('exit', (code) => {
        gone(new Error(`SQLite commit worker exited (code ${code})`));
        r();
      }),
    );
    this.worker = worker;
    return worker;
  }
}
