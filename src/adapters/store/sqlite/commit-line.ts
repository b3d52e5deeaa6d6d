/**
 * The order ingest batches are handed on in, to the commit worker or to the store's own
 * connection: each batch is serialised (`prepareCommit`) and applied in the order it was made. A
 * batch with many states (a checkpoint of a large fleet) is serialised a chunk per turn of the
 * event loop (`prepareCommitInTurns`); the batches made meanwhile wait in line behind it, so none
 * is applied before one made earlier. One that fails to serialise, or fails at once when applied,
 * refuses those in line behind it: they were computed on top of it.
 * @module
 */
import { coerceError } from '../../../core/errors/errors.js';
import type { IngestCommit } from '../../../ports/store.js';
import { prepareCommit, prepareCommitInTurns, STATES_PER_TURN, type PreparedCommit } from './sqlite-ingest.js';

/**
 * Applies a serialised batch: returns a promise settled once it is committed (the commit worker),
 * or throws if it fails at once (the store's own connection), which refuses the batches in line
 * behind it as the worker refuses those queued behind a failed one.
 */
export type ApplyCommit = (prepared: PreparedCommit) => Promise<void>;

export class CommitLine {
  /** Batches waiting for a batch before them to be serialised (0: none, a batch is applied at once). */
  private waiting = 0;
  /** The last batch in line to be applied. */
  private tail: Promise<void> = Promise.resolve();
  /** A batch in line failed: those in line behind it are refused. */
  private failure: (Error & { code?: unknown }) | undefined;

  constructor(private readonly apply: ApplyCommit) {}

  /** Serialises `commit` and applies it after every batch made before it; settles when it is committed. */
  commit(commit: IngestCommit): Promise<void> {
    if (this.waiting === 0 && commit.states.length <= STATES_PER_TURN) {
      try {
        return this.apply(prepareCommit(commit));
      } catch (err) {
        return Promise.reject(coerceError(err));
      }
    }
    this.waiting++;
    let committed: Promise<void> | undefined;
    const applied = this.tail.then(async () => {
      if (this.failure) throw refusal(this.failure);
      const prepared = commit.states.length > STATES_PER_TURN ? await prepareCommitInTurns(commit) : prepareCommit(commit);
      committed = this.apply(prepared);
    });
    const settled = applied.then(
      () => undefined,
      (err: unknown) => {
        this.failure ??= coerceError(err);
      },
    );
    this.tail = settled.then(() => {
      // The line is empty: batches computed after a failure was heard may commit again.
      if (--this.waiting === 0) this.failure = undefined;
    });
    return applied.then(() => committed);
  }

  /** Settles once every batch made so far has been handed to `apply` (or refused). */
  handedOn(): Promise<void> {
    return this.tail;
  }
}

/** Why a batch is refused for the failure of one before it: the same words from the line and from the commit worker. */
export const refusedBehind = (reason: string): string => `ingest batch refused: a batch before it failed (${reason})`;

/** A batch refused for the failure of one before it, with that one's code (SQLite's), so the same advice is given. */
function refusal(failure: Error & { code?: unknown }): Error {
  const err: Error & { code?: unknown } = new Error(refusedBehind(failure.message));
  if (typeof failure.code === 'string') err.code = failure.code;
  return err;
}
