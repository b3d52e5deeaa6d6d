/**
 * The backup worker's thread ({@link backupInWorker}): opens the store file read-only on its own
 * connection, writes the copy with VACUUM INTO and says how it went.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { toWorkerFailure } from './worker-thread.js';
import { backupDatabase, type BackupReply, type BackupWorkerData } from './sqlite-backup.js';

const data = workerData as BackupWorkerData;

function run(): BackupReply {
  let db: Database.Database;
  try {
    // Read-only, as the command that asked for the copy opened the store.
    db = new Database(data.source, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    return { ok: false, stage: 'open', error: toWorkerFailure(err) };
  }
  try {
    return { ok: true, ...backupDatabase(db, data.file, data.omit) };
  } catch (err) {
    return { ok: false, stage: 'copy', error: toWorkerFailure(err) };
  } finally {
    db.close();
  }
}

parentPort?.postMessage(run() satisfies BackupReply);
