/**
 * Shrinking an SQLite store to what it holds (`assetbridge store vacuum`). SQLite's VACUUM builds a
 * compacted copy in a temporary file, writes it back into the store through the WAL, which is then
 * folded into the file: none of it reports how far it has got. So it runs in a worker thread on its
 * own connection ({@link vacuumInWorker}) while the owner's thread reports what can be seen of it:
 * the time taken, the temporary copy's size (where /proc lists it), the WAL's.
 * @module
 */
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { fromWorkerFailure, oneShotWorker, type WorkerFailure } from './worker-thread.js';

/** What can be seen of a vacuum under way (SQLite gives no percentage). */
export interface VacuumProgress {
  readonly elapsedMs: number;
  /** The store file's size now: it shrinks only at the end. */
  readonly fileBytes: number;
  /** The WAL's: the compacted pages are written into it, then copied into the file, and it is emptied. */
  readonly walBytes: number;
  /** SQLite's temporary compacted copy (first step), where this process's open files can be listed (Linux); 0 once gone. */
  readonly tempBytes: number | undefined;
  /** The pages in use when it started: about what the file comes to. */
  readonly inUseBytes: number;
  readonly done: boolean;
}

/** How often the owner looks at the files a vacuum writes. */
export const VACUUM_POLL_MS = 1000;

/**
 * The slowest a vacuum is taken to get through a store, in bytes of the store a second: it reads
 * the store, writes a compacted copy to a temporary file, writes that back through the WAL and
 * folds the WAL into the file, each flushed (synchronous = FULL); on a slow or busy disk (a
 * network volume, a cloud disk with burst credits spent) a few tens of MB/s, so a quarter of that.
 */
export const VACUUM_SLOWEST_BYTES_PER_S = 8 * 1_048_576;

/** What {@link vacuumLeaseMs} gives at least: opening, the checks and the flushes of a small store. */
export const VACUUM_LEASE_MIN_MS = 60_000;

/**
 * How long a vacuum of a store of `bytes` (file and WAL) may take, as a bound, for the store lease:
 * VACUUM locks the store, where the lease is kept, so the lease cannot be renewed while it runs
 * and is renewed this far ahead before it starts (`StoreLease.renewalsHeldDuring`). At
 * {@link VACUUM_SLOWEST_BYTES_PER_S}, and {@link VACUUM_LEASE_MIN_MS} at least.
 */
export function vacuumLeaseMs(bytes: number): number {
  return VACUUM_LEASE_MIN_MS + Math.ceil(Math.max(0, bytes) / VACUUM_SLOWEST_BYTES_PER_S) * 1000;
}

/** VACUUM on `db`, and the WAL it went through folded back into the file and emptied. Blocks the thread it runs on. */
export function vacuumDatabase(db: Database.Database): void {
  db.exec('VACUUM');
  db.pragma('wal_checkpoint(TRUNCATE)');
}

/**
 * Bytes of the temporary files SQLite has open in this process (its worker threads' included):
 * unlinked at once, they are seen only through `fdDir` (/proc/self/fd: `…/etilqs_… (deleted)`).
 * Undefined where that cannot be listed (not Linux).
 */
export function sqliteTempBytes(fdDir = '/proc/self/fd'): number | undefined {
  let fds: string[];
  try {
    fds = readdirSync(fdDir);
  } catch {
    return undefined;
  }
  let total = 0;
  for (const fd of fds) {
    try {
      if (!/[\\/]etilqs_[^\\/]*$/.test(readlinkSync(join(fdDir, fd)).replace(/ \(deleted\)$/, ''))) continue;
      total += statSync(join(fdDir, fd)).size;
    } catch {
      // Closed meanwhile.
    }
  }
  return total;
}

export interface VacuumWorkerData {
  readonly path: string;
}

/** `open`: the worker's connection could not be opened (the store's advice applies); `vacuum`: VACUUM failed. */
export type VacuumReply = { ok: true } | { ok: false; stage: 'open' | 'vacuum'; error: WorkerFailure };

/**
 * {@link vacuumDatabase} of the store file `path` in a worker thread with its own connection, while
 * this thread calls `onProgress` with what can be seen of it: at the start, every `pollMs`
 * ({@link VACUUM_POLL_MS}) and once done. `openError` turns a failure to open `path` into the
 * error to throw (the store's advice, naming store.path).
 */
export async function vacuumInWorker(
  path: string,
  opts: { readonly inUseBytes: number; readonly onProgress?: ((p: VacuumProgress) => void) | undefined; readonly pollMs?: number | undefined; readonly openError: (err: Error) => unknown },
): Promise<void> {
  const { onProgress, inUseBytes } = opts;
  const started = Date.now();
  const sizeOf = (file: string): number => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  const report = (done: boolean) =>
    onProgress?.({ elapsedMs: Date.now() - started, fileBytes: sizeOf(path), walBytes: sizeOf(`${path}-wal`), tempBytes: sqliteTempBytes(), inUseBytes, done });
  const reply = await oneShotWorker<VacuumReply>('vacuum-worker.js', 'vacuum worker', { path } satisfies VacuumWorkerData, {
    unfinished: 'the vacuum was complete',
    started: () => report(false),
    tick: onProgress && (() => report(false)),
    everyMs: opts.pollMs ?? VACUUM_POLL_MS,
  });
  if (!reply.ok) throw reply.stage === 'open' ? opts.openError(fromWorkerFailure(reply.error)) : fromWorkerFailure(reply.error);
  report(true);
}
