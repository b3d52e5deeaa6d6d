/**
 * The vacuum worker's thread ({@link vacuumInWorker}): opens the store file on its own connection,
 * rewrites it with VACUUM, folds the WAL back into it and says how it went.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { toWorkerFailure } from './worker-thread.js';
import { vacuumDatabase, type VacuumReply, type VacuumWorkerData } from './sqlite-vacuum.js';

const data = workerData as VacuumWorkerData;

function run(): VacuumReply {
  let db: Database.Database;
  try {
    db = new Database(data.path, { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    // Whatever store.synchronous says: the rewrite of every page is flushed before it counts.
    db.pragma('synchronous = FULL');
  } catch (err) {
    return { ok: false, stage: 'open', error: toWorkerFailure(err) };
  }
  try {
    vacuumDatabase(db);
    return { ok: true };
  } catch (err) {
    return { ok: false, stage: 'vacuum', error: toWorkerFailure(err) };
  } finally {
    db.close();
  }
}

parentPort?.postMessage(run() satisfies VacuumReply);
