/**
 * A backup of an SQLite store (`assetbridge store backup`): SQLite's `VACUUM INTO` writes a
 * consistent, compacted copy beside the target, which is renamed to it when complete. Run in a
 * worker thread with its own read-only connection ({@link backupInWorker}), so the owner's thread
 * stays free to report how far the copy has got (the size of the file being written).
 * @module
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { fromWorkerFailure, oneShotWorker, type WorkerFailure } from './worker-thread.js';

/** A key-value entry of the store (a backup's `omit`). */
export interface KvEntryName {
  readonly namespace: string;
  readonly key: string;
}

/** How far a backup has got: bytes of the copy written so far, of about `expected` (the store's pages in use); `done` once renamed. */
export interface BackupProgress {
  readonly written: number;
  readonly expected: number;
  readonly done: boolean;
}

/** How often the owner looks at the size of the copy being written. */
export const BACKUP_POLL_MS = 500;

/**
 * A consistent, compacted copy of `db` written beside `file` and renamed to it when complete,
 * without the key-value entries `omit` names. Blocks the thread it runs on for the whole copy.
 */
export function backupDatabase(db: Database.Database, file: string, omit: readonly KvEntryName[] = []): { bytes: number } {
  const partial = `${file}.partial`;
  rmSync(partial, { force: true });
  // SQLite refuses VACUUM INTO on a query_only connection (a read-only open), though it writes only the copy.
  const queryOnly = db.pragma('query_only', { simple: true }) === 1;
  try {
    if (queryOnly) db.pragma('query_only = OFF');
    db.prepare('VACUUM INTO ?').run(partial);
    if (omit.length > 0) {
      // The copy only (in rollback-journal mode, as VACUUM INTO writes it): the store is left as it is.
      const copy = new Database(partial, { fileMustExist: true });
      try {
        const del = copy.prepare('DELETE FROM kv WHERE namespace = ? AND key = ?');
        copy.transaction(() => omit.forEach((e) => del.run(e.namespace, e.key)))();
      } finally {
        copy.close();
      }
    }
    const fd = openSync(partial, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(partial, file);
  } catch (err) {
    rmSync(partial, { force: true });
    rmSync(`${partial}-journal`, { force: true });
    throw err;
  } finally {
    if (queryOnly) db.pragma('query_only = ON');
  }
  return { bytes: statSync(file).size };
}

/** The size a copy of `db` comes to, about: its pages in use (free pages are left out of a VACUUM INTO). */
export function expectedCopyBytes(db: Database.Database): number {
  const pages = Number(db.pragma('page_count', { simple: true })) - Number(db.pragma('freelist_count', { simple: true }));
  return Math.max(0, pages) * Number(db.pragma('page_size', { simple: true }));
}

export interface BackupWorkerData {
  /** The file to open read-only and copy (the store, or the private copy read in its place). */
  readonly source: string;
  readonly file: string;
  readonly omit: readonly KvEntryName[];
}

/** `open`: the worker's connection could not be opened (the store's advice applies); `copy`: the copy failed. */
export type BackupReply = { ok: true; bytes: number } | { ok: false; stage: 'open' | 'copy'; error: WorkerFailure };

/**
 * {@link backupDatabase} of the file `source` in a worker thread with its own read-only connection,
 * while this thread calls `onProgress` with the size of the copy being written: at the start,
 * every {@link BACKUP_POLL_MS} and once done. `openError` turns a failure to open `source` into
 * the error to throw (the store's advice, naming store.path).
 */
export async function backupInWorker(
  source: string,
  file: string,
  opts: { readonly omit?: readonly KvEntryName[]; readonly expected: number; readonly onProgress?: ((p: BackupProgress) => void) | undefined; readonly openError: (err: Error) => unknown },
): Promise<{ bytes: number }> {
  const partial = `${file}.partial`;
  rmSync(partial, { force: true }); // not a copy cut short earlier counted as written
  const { onProgress, expected } = opts;
  let written = 0;
  const tick =
    onProgress &&
    (() => {
      try {
        written = statSync(partial).size;
      } catch {
        return; // not there yet, or renamed already
      }
      onProgress({ written, expected, done: false });
    });
  const reply = await oneShotWorker<BackupReply>('backup-worker.js', 'backup worker', { source, file, omit: opts.omit ?? [] } satisfies BackupWorkerData, {
    unfinished: 'the copy was complete',
    started: () => onProgress?.({ written, expected, done: false }),
    tick,
    everyMs: BACKUP_POLL_MS,
  });
  if (!reply.ok) throw reply.stage === 'open' ? opts.openError(fromWorkerFailure(reply.error)) : fromWorkerFailure(reply.error);
  onProgress?.({ written: reply.bytes, expected, done: true });
  return { bytes: reply.bytes };
}
