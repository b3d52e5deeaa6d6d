/**
 * What to tell an operator about an error the store gave, by its code (SQLite's `SQLITE_*`, or the
 * file system's `E*`): the CLI, the ingestor's log and the HTTP intake's 503 give the same advice.
 * @module
 */

/** What to do about a file-system or SQLite error on the store, by its code; undefined: no advice. */
export function storeErrorAdvice(code: unknown): string | undefined {
  switch (code) {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return 'the store is locked by another process that has held a write transaction on it for over 5 s (a sqlite3 shell, a backup or copy tool): end that transaction or stop that process, then try again';
    case 'SQLITE_CANTOPEN':
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
    case 'EEXIST':
    case 'ENOTDIR':
    case 'SQLITE_READONLY':
    case 'SQLITE_READONLY_DIRECTORY':
    case 'SQLITE_PERM':
      return 'check that store.path names a file (not a directory) in a directory this user can write to: SQLite also creates its -wal and -shm files beside it';
    // SQLITE_IOERR_SHMSIZE: SQLite could not give the -shm file beside the store its size (it maps
    // it in memory), on a disk with no room left: what a start on a full disk meets first.
    case 'SQLITE_FULL':
    case 'ENOSPC':
    case 'SQLITE_IOERR_SHMSIZE':
      // Not `store prune` first: deleting rows needs room in the WAL too, so it fails alike on a full disk.
      return 'the disk holding the store (store.path) is full: free space on it, or move the store to a bigger volume and point store.path there, then try again (store.retention, or store prune once there is room, keeps the store from growing without bound)';
    case 'SQLITE_NOTADB':
      return 'the file is not an assetbridge store or is damaged: check store.path, or restore the store from a backup';
    case 'SQLITE_CORRUPT':
      // Opened as a store, then a page of it could not be read: not a wrong store.path.
      return (
        'the store file is damaged (SQLite read a page of it that is not as it wrote it: a disk or file-system fault, or the file changed by another program): ' +
        'stop the service, keep a copy of the file and its -wal and -shm files (sqlite3 FILE "PRAGMA integrity_check" names the damaged tables), ' +
        'then restore the store from a backup (assetbridge store backup; docs/operations.md, Data): what was delivered since the backup is sent again with the same idempotency keys'
      );
    default:
      // Any other I/O error (SQLITE_IOERR_WRITE, _FSYNC, _READ, …): SQLite's "disk I/O error" says neither where nor what to do.
      if (typeof code === 'string' && code.startsWith('SQLITE_IOERR'))
        return 'SQLite could not read or write the store\'s files (store.path and its -wal and -shm files beside it): check that the disk holding them is not full, failing or gone (an unmounted or detached volume), and that it is a local file system (SQLite\'s locking and -shm file do not work on most network file systems), then try again';
      return undefined;
  }
}

/** The code an error from the store carries (`SQLITE_FULL`, `ENOSPC`, …), if any. */
export function storeErrorCode(err: unknown): string | undefined {
  const code = err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
