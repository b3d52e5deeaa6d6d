/**
 * The backup worker's thread ({@link backupInWorker}): opens the store file read-only on its own
 * connection, writes the copy with VACUUM INTO and says how it went.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { backupDatabase, type BackupFailure, type BackupReply, type BackupWorkerData } from './sqlite-backup.js';

const data = workerData as BackupWorkerData;

function failure(err: unknown): BackupFailure {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}), ...(e.stack !== undefined ? { stack: e.stack } : {}) };
}

function run(): BackupReply {
  let db: Database.Database;
  try {
    // Read-only, as the command that asked for the copy opened the store.
    db = new Database(data.source, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    return { ok: false, stage: 'open', error: failure(err) };
  }
  try {
    return { ok: true, ...backupDatabase(db, data.file, data.omit) };
  } catch (err) {
    return { ok: false, stage: 'copy', error: failure(err) };
  } finally {
    db.close();
  }
}

parentPort?.postMessage(run() satisfies BackupReply);
