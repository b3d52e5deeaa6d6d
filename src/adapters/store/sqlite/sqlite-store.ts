/**
 * The embedded store: one SQLite file (WAL) holding identity, state, outbox, audit, quarantine and
 * dead letters. better-sqlite3 is synchronous, so every method runs to completion without
 * interleaving; methods are async only to share the {@link Store} contract with PostgreSQL.
 * @module
 */
import { accessSync, closeSync, constants as fsConstants, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { AssetbridgeError, coerceError } from '../../../core/errors/errors.js';
import { storeErrorAdvice, storeErrorCode } from '../../../core/errors/store-errors.js';
import { normalizeIdentifier, type AssetRecord, type IdentifierRecord } from '../../../core/model/assets.js';
import { editedKeyFor, idempotencyKeyFor, replayKeyFor, resendKeyFor, stableStringify } from '../../../core/delivery/idempotency.js';
import { outboxKey, type OutboxItem } from '../../../core/model/delivery.js';
import type { IdentifierType } from '../../../core/model/events.js';
import type { QuarantineCode, QuarantineEntry, RawMessage } from '../../../core/model/messages.js';
import { payloadSha256, versionSha256 } from '../../../core/model/payload-hash.js';
import type {
  AssetStateDoc,
  AssetWithIdentifiers,
  AttemptOutcome,
  AuditQuery,
  AuditRecord,
  Counters,
  DestinationStats,
  FactDelivery,
  IngestCommit,
  KvDecision,
  KvSwap,
  LoggedMessage,
  NewKeyResult,
  PruneCutoffs,
  PruneResult,
  QuarantineRow,
  Store,
} from '../../../ports/store.js';
import { HAND_AUDIT_OUTCOMES, WRITE_PAUSE_MS } from '../../../ports/store.js';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import { backupDatabase, backupInWorker, expectedCopyBytes, type BackupProgress, type KvEntryName } from './sqlite-backup.js';
import { vacuumDatabase, vacuumInWorker, type VacuumProgress } from './sqlite-vacuum.js';

export type { BackupProgress, KvEntryName } from './sqlite-backup.js';
export type { VacuumProgress } from './sqlite-vacuum.js';
export { vacuumLeaseMs } from './sqlite-vacuum.js';
import { applyIngestCommit, configureConnection, COPY_COLUMNS, copyArgs, FACTS_COUNTER, guardHolds, latestEntryOfRow, passiveFold, POLLED_UPDATES_COUNTER, prepareCommit, prepareIngestStatements, REPEATS_COUNTER, WRITE_GUARD_CODE, type IngestStatements, type PreparedCommit, type WriteGuard } from './sqlite-ingest.js';
import { CommitWorker } from './commit-worker-client.js';
import { CommitLine } from './commit-line.js';
import { decodeLogBatch, recycleLogBuffer } from './log-frame.js';

/** Counter name prefix (then the destination) for delivered deliveries deleted by retention. */
const PRUNED_PREFIX = 'delivered_pruned:';

/**
 * Dead letters changed per transaction by a command over many (`dlq replay`, `discard`,
 * `mark-delivered`, new keys), some 20 ms each, with {@link WRITE_PAUSE_MS} between two: 100,000
 * letters replayed in one transaction made a running service's writes wait 4 s (past its 5 s
 * `busy_timeout` they fail); in these chunks at most 40 ms (with 10 ms pauses 233 ms), the replay
 * taking 7 s instead of 4.
 */
const DEAD_CHUNK = 500;

/**
 * What retention may delete (`prune`, `countPrunable`), as FROM … WHERE clauses.
 * Deliveries (params: kind, finished before): delivered, superseded or discarded ones. Superseded
 * state updates were replaced by a newer value before they went out; discarded ones are dead
 * letters an operator gave up on (facts among them go only with `deliveredFacts`, as delivered ones). The newest delivered value of each
 * state key stays, whatever its age: it is what stops an older value (a replayed dead letter) from
 * overwriting it at the ERP (`backToPending`). The row with the highest id stays too: SQLite gives
 * a new row the highest id plus one, so deleting it would hand its id (and its audit trail, kept
 * longer) to the next delivery. No ORDER BY is needed: the (status, destination) index yields each
 * destination's rows oldest first.
 */
const PRUNABLE_DELIVERIES = `FROM outbox o
  WHERE o.status IN ('delivered', 'superseded', 'discarded') AND o.kind = ? AND o.updated_at < ?
    AND o.id < (SELECT max(id) FROM outbox)
    AND (o.kind = 'fact' OR o.status != 'delivered' OR EXISTS (
      SELECT 1 FROM outbox n WHERE n.destination = o.destination AND n.operation = o.operation AND n.business_key = o.business_key
        AND n.kind = 'state' AND n.status = 'delivered' AND n.id != o.id
        AND (n.event_time > o.event_time OR (n.event_time = o.event_time AND n.id > o.id))))`;
/**
 * Audit records (param: before), except those of deliveries still pending, in flight or dead.
 * Each record's delivery is looked up by id: `NOT IN (SELECT id … pending)` listed every waiting
 * delivery for each batch (~0.4 s of the service's main thread per batch with a million backed up).
 */
export const PRUNABLE_AUDIT = `FROM audit WHERE at < ?
  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = audit.delivery_id AND o.status IN ('pending', 'inflight', 'dead'))`;
/** The audit outcomes of changes made to a dead letter by hand, which sent no request. */
const HAND_OUTCOMES = HAND_AUDIT_OUTCOMES;
/**
 * Closed quarantine entries (param: received before), but the one with the highest id: SQLite gives
 * a new row the highest id plus one, so deleting it would hand its id (which an operator may have
 * noted, and which a replay's deliveries name) to the next message set aside, as for deliveries.
 */
const PRUNABLE_QUARANTINE = `FROM quarantine WHERE status IN ('replayed', 'discarded') AND received_at < ? AND id < (SELECT max(id) FROM quarantine)`;

export interface SqliteStoreOptions {
  /** File path, or `:memory:` for tests. */
  readonly path: string;
  /**
   * `full` fsyncs the WAL at every commit (survives power loss); `normal` survives process crashes
   * (kill -9) but not power loss, and is faster. @default full
   */
  readonly synchronous?: 'full' | 'normal';
  /**
   * Run ingest commits on a worker thread with its own connection, so the SQLite work of one
   * batch overlaps the decoding and rules of the next. Ignored for `:memory:`. @default true
   */
  readonly commitInWorker?: boolean;
  /** SQLite page cache per connection, MiB. @default 8 */
  readonly cacheMiB?: number;
  /**
   * For commands that only look: the file must exist, nothing is written to it (SQLite's
   * `query_only`), no commit worker starts, and a store an older assetbridge wrote is not migrated
   * but refused with a {@link StoreOutdatedError}, so an older version can still open it. @default false
   */
  readonly readOnly?: boolean;
  /**
   * Called before the first migration of a store an older assetbridge wrote (not of a new, empty
   * one), within the write transaction that applies it, so no other process writes meanwhile; a
   * throw leaves the store as it is and fails the open. What opens a store to write uses it to
   * refuse upgrading one that a live process of the older version still runs on (its code knows
   * only the older schema, and checks it only when it opens the store).
   */
  readonly beforeUpgrade?: (store: StoreUpgrade) => void;
}

/** A store about to be upgraded, for {@link SqliteStoreOptions.beforeUpgrade}. */
export interface StoreUpgrade {
  readonly path: string;
  /** The store's schema version (the newest migration applied). */
  readonly version: number;
  /** The version this assetbridge upgrades it to. */
  readonly expected: number;
  /** A value of the store's key-value table (the store lease is one). */
  kvGet(namespace: string, key: string): string | undefined;
}

interface OutboxRow {
  id: number;
  destination: string;
  operation: string;
  business_key: string;
  kind: 'state' | 'fact';
  erp_asset_id: string;
  event_time: number;
  payload: string;
  idempotency_key: string;
  status: OutboxItem['status'];
  attempts: number;
  created_at: number;
  enqueued_at: number;
  updated_at: number;
  next_attempt_at: number;
  last_error: string | null;
  sequence: string | null;
  resend: number;
  may_have_landed: number;
}

/** The WHERE clause of an audit query (its filters, not its limit). */
function auditWhere(query: Omit<AuditQuery, 'limit'>): { where: string; args: (string | number)[] } {
  return whereOf([
    ['erp_asset_id = ?', query.erpAssetId],
    ['destination = ?', query.destination],
    ['at >= ?', query.since],
    ['delivery_id = ?', query.deliveryId],
  ]);
}

/** `WHERE a = ? AND b = ?` from the conditions whose value is given (empty when none is). */
function whereOf(conditions: readonly (readonly [string, string | number | undefined])[]): { where: string; args: (string | number)[] } {
  const given = conditions.filter((c): c is readonly [string, string | number] => c[1] !== undefined && c[1] !== '');
  return { where: given.length ? `WHERE ${given.map((c) => c[0]).join(' AND ')}` : '', args: given.map((c) => c[1]) };
}

function toItem(r: OutboxRow): OutboxItem {
  return {
    id: r.id,
    destination: r.destination,
    operation: r.operation,
    kind: r.kind,
    businessKey: r.business_key,
    erpAssetId: r.erp_asset_id,
    eventTime: r.event_time,
    payload: JSON.parse(r.payload) as Record<string, unknown>,
    idempotencyKey: r.idempotency_key,
    status: r.status,
    attempts: r.attempts,
    createdAt: r.created_at,
    enqueuedAt: r.enqueued_at,
    nextAttemptAt: r.next_attempt_at,
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    ...(r.sequence !== null ? { sequence: r.sequence } : {}),
    ...(r.resend ? { resend: true as const } : {}),
    ...(r.may_have_landed ? { mayHaveLanded: true as const } : {}),
  };
}

/**
 * The claim's candidates: a destination's due pending rows, oldest first. Facts waiting for an
 * earlier one of their sequence are left out here, not after the LIMIT: later revisions due before
 * their retried first one would otherwise fill every claim. An ordered fact waits while an earlier
 * one of its sequence is pending or in flight: left out here, so the limit counts only rows that can
 * go (two of one sequence are never both candidates). So is a row of an operation of `waits`
 * (`[operation, the fact operation it waits for]`, `ConnectorCapabilities.waitsFor`) while a fact
 * of the operation it waits for, of its destination and business key, is pending (retried, or
 * waiting for its old request to settle) or in flight. Parameters: destination, now, then each pair's
 * two operations, then the limit.
 */
function claimCandidatesSql(waits: readonly (readonly [string, string])[]): string {
  const waiting =
    waits.length === 0
      ? ''
      : `
           AND (o.operation NOT IN (${waits.map(() => '?').join(', ')}) OR NOT EXISTS (
             SELECT 1 FROM outbox c WHERE c.destination = o.destination AND c.kind = 'fact'
               AND c.operation = (CASE o.operation ${waits.map(() => 'WHEN ? THEN ?').join(' ')} END)
               AND c.business_key = o.business_key AND c.status IN ('pending', 'inflight')))`;
  return `SELECT * FROM outbox o WHERE destination = ? AND status = 'pending' AND next_attempt_at <= ?
           AND (sequence IS NULL OR NOT EXISTS (
             SELECT 1 FROM outbox e WHERE e.destination = o.destination AND e.operation = o.operation AND e.sequence = o.sequence
               AND e.id < o.id AND e.status IN ('pending', 'inflight')))${waiting}
         ORDER BY next_attempt_at, id LIMIT ?`;
}

/**
 * Whether pending row `o` is held by `waits` (`[operation, the fact operation it waits for]`), as
 * {@link claimCandidatesSql} holds it: of a waiting operation, with a fact of the operation it waits
 * for, of its destination and business key, pending or in flight. Parameters: each pair's two operations.
 */
function heldByWaitsSql(waits: readonly (readonly [string, string])[]): string {
  return `(${waits
    .map(
      () => `(o.operation = ? AND EXISTS (SELECT 1 FROM outbox c WHERE c.destination = o.destination AND c.kind = 'fact' AND c.operation = ?
               AND c.business_key = o.business_key AND c.status IN ('pending', 'inflight')))`,
    )
    .join(' OR ')})`;
}

/** A key of `outbox_unsettled`: until when, and the value of unknown outcome (see migration 9). */
interface Unsettled {
  settleAt: number;
  eventTime: number;
  /** Null for keys marked before migration 9: only a later event time counts as newer. */
  deliveryId: number | null;
  idempotencyKey: string | null;
}

/**
 * Whether a state row's value is newer than the unsettled one, in the outbox's order: a later event
 * time, or the same one enqueued later (a row made after, or a new value in the same row: the
 * ingest only replaces a row's value with a later one, and the same value keeps its key).
 */
function isNewerThanUnsettled(row: OutboxRow, u: Unsettled): boolean {
  if (row.event_time !== u.eventTime || u.deliveryId === null) return row.event_time > u.eventTime;
  return row.id > u.deliveryId || (row.id === u.deliveryId && row.idempotency_key !== u.idempotencyKey);
}

/** The store could not be opened; names the path, the store.path key and what to do. */
export class StoreOpenError extends AssetbridgeError {
  readonly code = 'STORE_OPEN';
}

/**
 * A read-only open ({@link SqliteStoreOptions.readOnly}) of a store at an older schema version:
 * left as it is, with what would upgrade it.
 */
export class StoreOutdatedError extends StoreOpenError {
  constructor(
    readonly path: string,
    readonly version: number,
    readonly expected: number,
  ) {
    super(
      `the store ${path} (store.path) is at schema version ${version}, and this assetbridge expects version ${expected}: ` +
        'this command only reads the store, so it leaves it as it is (the assetbridge that wrote it can still open it). ' +
        "Starting the service with this version ('assetbridge run') upgrades it, as does any command of this version that changes the store, once the older service is stopped; " +
        "'assetbridge store backup FILE' copies it as it is first",
    );
  }
}

/**
 * The file at store.path holds something other than an assetbridge store (not an SQLite file,
 * another program's database, or an empty file a command that only reads was pointed at): left
 * exactly as it is, nothing created or migrated in it.
 */
export class NotAStoreError extends StoreOpenError {}

/** What to do about a store.path that names the wrong file. */
const CHECK_STORE_PATH =
  "check store.path (and which --config the command was given): it should name the file the service keeps its store in, or a file that does not exist yet, where 'assetbridge run' creates a new store";

/** What to do about a store.path that names an empty file, to a command that only reads. */
const EMPTY_STORE_PATH = "nothing has run on it: check store.path (and which --config the command was given), or start the service ('assetbridge run'), which creates the store there";

/** Whether nothing is at `path` yet: no file, or an empty one (SQLite's empty database; one created to set its owner, say). */
function isNewFile(path: string): boolean {
  if (path === ':memory:') return true;
  try {
    return statSync(path).size === 0 && !existsSync(`${path}-wal`);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** The settings of a read-only connection: nothing that would write the store (its journal mode is the writer's to set). */
function configureReader(db: Database.Database, cacheMiB = 8): void {
  db.pragma('busy_timeout = 5000');
  db.pragma(`cache_size = ${-Math.round(cacheMiB * 1024)}`);
}

interface ReadableCopy {
  readonly file: string;
  remove(): void;
}

/**
 * A store in WAL mode is read through its -shm file, which SQLite creates beside it when no
 * connection has it open: in a directory this user cannot write (another user's store, a
 * read-only volume), even a read-only open fails. When `err` is that failure and no -shm file is
 * there (so no process has the store open: none is writing it), a copy of the store (and of the
 * -wal file a crashed writer left) in the temp directory is read in its place, as it was when
 * copied; undefined for any other error. A copy that cannot be made (no room in the temp
 * directory) throws an error saying why the store could not be read where it is.
 */
function readableCopy(err: unknown, path: string): ReadableCopy | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code !== 'SQLITE_READONLY_DIRECTORY' && code !== 'SQLITE_CANTOPEN' && code !== 'SQLITE_READONLY') return undefined;
  try {
    if (!statSync(path).isFile() || existsSync(`${path}-shm`)) return undefined;
    accessSync(dirname(path), fsConstants.W_OK);
    return undefined; // the directory can be written: not why it failed
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'assetbridge-read-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const file = join(dir, basename(path));
  try {
    copyFileSync(path, file);
    if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${file}-wal`);
  } catch (copyErr) {
    remove();
    throw new StoreOpenError(
      `cannot read the store ${path} (store.path): SQLite reads a store in WAL mode through a -shm file it creates beside it, and this user cannot write to ${dirname(path)}; ` +
        `copying the store to ${tmpdir()} to read it failed too (${(copyErr as Error).message}): run this command as the user that runs the service, or give this user write access to ${dirname(path)}`,
      { cause: err },
    );
  }
  return { file, remove };
}

/** Whether the file at `path` starts as every SQLite database does (its header string). */
function hasSqliteHeader(path: string): boolean {
  const head = Buffer.alloc(16);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    return readSync(fd, head, 0, 16, 0) === 16 && head.toString('latin1') === 'SQLite format 3\0';
  } catch {
    return true;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Refuses a file that is not an assetbridge store, before anything is written to it (not even the
 * journal mode): one without the migrations table that has tables of its own, or that is not
 * SQLite at all. A database with no tables yet is a store being created (by this open or another
 * process's), except to a command that only reads, for which there is nothing there yet.
 */
function checkIsStore(db: Database.Database, path: string, readOnly: boolean): void {
  let names: string[];
  try {
    names = db.prepare(`SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`).pluck().all() as string[];
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'SQLITE_NOTADB' || hasSqliteHeader(path)) throw err;
    throw new NotAStoreError(`${path} (store.path) is not an assetbridge store: it is not an SQLite file at all, and is left as it is; ${CHECK_STORE_PATH}`, { cause: err });
  }
  if (names.includes('schema_migrations')) return;
  if (names.length === 0) {
    if (!readOnly) return;
    throw new NotAStoreError(`${path} (store.path) holds no assetbridge store yet: it is an empty database, and this command only reads; ${EMPTY_STORE_PATH}`);
  }
  const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
  throw new NotAStoreError(
    `${path} (store.path) is not an assetbridge store: it is another program's SQLite database (it holds ${shown}, and no schema_migrations table), and is left as it is; ${CHECK_STORE_PATH}`,
  );
}

/** `err` from opening the store at `path`, as a {@link StoreOpenError} when there is advice for it. */
function storeError(err: unknown, path: string): unknown {
  const advice = storeErrorAdvice((err as { code?: unknown } | undefined)?.code);
  if (advice === undefined || !(err instanceof Error)) return err;
  return new StoreOpenError(`cannot open the store ${path} (store.path): ${err.message}; ${advice}`, { cause: err });
}

interface AssetRow {
  erp_asset_id: string;
  erp_module: string;
  destination: string | null;
  attributes: string;
}

function toAsset(a: AssetRow): AssetRecord {
  return {
    erpAssetId: a.erp_asset_id,
    erpModule: a.erp_module,
    ...(a.destination !== null ? { destination: a.destination } : {}),
    attributes: JSON.parse(a.attributes) as Record<string, string>,
  };
}

/** Assets per state read (SQLite takes up to 32,766 parameters). */
const STATE_CHUNK = 500;
/** Messages {@link SqliteStore.quarantineHolds} asks about in one statement (7 values each, well under SQLite's 32,766). */
const HOLDS_CHUNK = 500;
/** Logged messages decoded per turn of the event loop when the ingest log is read (5 batches of the default 1,000). */
const LOG_MESSAGES_PER_TURN = 5000;
/** Assets per page of {@link SqliteStore.listAssetRecords}. */
const ASSET_PAGE = 5000;

export class SqliteStore implements Store {
  readonly capabilities = { singleWriter: true } as const;
  /** The connection, for sibling modules of this adapter that add their own tables. */
  readonly db: Database.Database;
  private readonly stmts;
  /** Claim statements of destinations whose operations wait for others, by their SQL. */
  private readonly waitingStatements = new Map<string, Database.Statement>();
  private readonly ingest: IngestStatements;
  /** Prepared reads of a few hundred keys at once ({@link SqliteStore.stateReader}, {@link SqliteStore.kvReader}), by shape. */
  private readonly stateReaders = new Map<string, Database.Statement>();
  /** Ingest commits on their own thread and connection (file stores); undefined: on this one. */
  private readonly committer: CommitWorker | undefined;
  /** Ingest batches in the order they were made, serialised and handed to the committer or applied here. */
  private readonly line: CommitLine;
  /** The file opened (device and inode), to notice it deleted or replaced under this process; undefined for `:memory:`. */
  private readonly file: { readonly path: string; readonly dev: number; readonly ino: number } | undefined;

  /** A private copy read in place of a store whose directory this user cannot write ({@link readableCopy}); removed at close. */
  private readonly copy: ReadableCopy | undefined;
  /** Why the pipeline may commit here no more ({@link SqliteStore.refuseCommits}); undefined while it may. */
  private refused: string | undefined;
  /** What must hold for the pipeline to write ({@link writeOnlyWhile}). */
  private guard: WriteGuard | undefined;
  /** The store's path (store.path), for messages: not the file opened when that is a {@link ReadableCopy} of it. */
  private readonly storePath: string;

  constructor(options: SqliteStoreOptions) {
    this.storePath = options.path;
    const readOnly = options.readOnly === true && options.path !== ':memory:';
    let copy: ReadableCopy | undefined;
    for (;;) {
      let db: Database.Database | undefined;
      try {
        // The file opened: the store, or (read-only, its directory not writable) a copy of it.
        const at = copy?.file ?? options.path;
        if (options.path !== ':memory:' && !readOnly) mkdirSync(dirname(options.path), { recursive: true });
        const isNew = isNewFile(at);
        // Read-only, SQLite's own flag too: a read-only connection reads a store in WAL mode whose
        // -shm file it may not write (the service's, another user's), where a read-write one may not.
        db = new Database(at, readOnly ? { readonly: true, fileMustExist: true } : { fileMustExist: false });
        this.db = db;
        if (!isNew) {
          // Waits out a writer's lock as the store's own reads do; a setting of this connection only.
          db.pragma('busy_timeout = 5000');
          checkIsStore(db, options.path, readOnly);
        } else if (readOnly && existsSync(at)) throw new NotAStoreError(`${options.path} (store.path) holds no assetbridge store yet: the file is empty, and this command only reads; ${EMPTY_STORE_PATH}`);
        if (readOnly) configureReader(db, options.cacheMiB);
        else configureConnection(db, options.synchronous, options.cacheMiB);
        this.runMigrations(!readOnly, options.beforeUpgrade);
        if (readOnly) db.pragma('query_only = ON');
        break;
      } catch (err) {
        if (db?.open) db.close();
        if (copy === undefined && readOnly) {
          try {
            copy = readableCopy(err, options.path);
          } catch (copyErr) {
            throw storeError(copyErr, options.path);
          }
          if (copy !== undefined) continue;
        }
        copy?.remove();
        throw storeError(err, options.path);
      }
    }
    this.copy = copy;
    if (options.path !== ':memory:') {
      const st = statSync(options.path);
      this.file = { path: options.path, dev: st.dev, ino: st.ino };
    }
    this.stmts = this.prepare();
    this.ingest = prepareIngestStatements(this.db);
    const inWorker = (options.commitInWorker ?? true) && options.readOnly !== true;
    if (inWorker && options.path !== ':memory:') this.committer = new CommitWorker(options.path, options.synchronous, options.cacheMiB);
    const committer = this.committer;
    this.line = new CommitLine((prepared) => {
      if (this.refused !== undefined) {
        if (prepared.log) recycleLogBuffer(prepared.log.data.buffer as ArrayBuffer);
        throw new Error(this.refused);
      }
      const applied = committer ? committer.post(prepared) : this.applyHere(prepared);
      // The guard refused it: another process holds the store now, so nothing more is written here.
      return applied.catch((err: unknown) => {
        if ((err as { code?: unknown }).code === WRITE_GUARD_CODE) this.refuseCommits((err as Error).message);
        throw err;
      });
    });
  }

  /**
   * From now on the pipeline's writes — ingest batches (on the commit worker too), claims,
   * attempt outcomes, the recovery of deliveries in flight — are made only while `guard` holds,
   * checked inside each one's transaction: the store lease still names this process. Once it does
   * not, that write is refused and so is every write after it ({@link refuseCommits}). The lease's
   * own renewal notices the loss within a heartbeat; this closes the window before it, in which a
   * process that stalled past the lease's lapse could claim a delivery the new holder had already
   * recovered (and send it a second time beside it) or commit a batch on top of the new holder's state.
   */
  writeOnlyWhile(guard: WriteGuard): void {
    this.guard = guard;
    this.committer?.setGuard(guard);
  }

  /** Inside a write transaction: false (and every later write refused) when the {@link writeOnlyWhile} guard no longer holds. */
  private guarded(): boolean {
    const guard = this.guard;
    if (guard === undefined || guardHolds(this.ingest.guardRow.get(guard.namespace, guard.key), guard)) return true;
    this.refuseCommits(guard.reason);
    return false;
  }

  /**
   * From now on the pipeline commits nothing here: each ingest batch not yet handed to the
   * database is refused with `why` (its messages are not acknowledged, so their sources send them
   * again, to the process that holds the store now), no delivery is claimed (none is sent), and no
   * key-value write is made ({@link kvSet} and the others reject with `why`): the runtime snapshot,
   * a scheduled task's cursor or facts, a CLI job request are that process's now. Nor is any other
   * write made: a delivery's attempt outcome (it stays in flight for the new holder's
   * recoverInflight), a hand change to a dead letter, the quarantine, the asset register, retention's
   * deletes, a VACUUM. For a process that lost the store's lease, in the time before it exits.
   * Batches already handed on (to the commit worker) still commit, unless {@link writeOnlyWhile}'s
   * guard refuses them (another process holds the lease; not when the store's file went away). A backup ({@link backupTo}) still
   * works: it only reads the store.
   */
  refuseCommits(why: string): void {
    this.refused ??= why;
  }

  /**
   * The refusal of a write once {@link refuseCommits} was called: the process that holds the store
   * now owns what is in it (the runtime snapshot, a scheduled task's cursor or facts, a CLI job taken
   * or its result, the deliveries and their outcomes, the quarantine, the asset register, what
   * retention deletes), not to be overwritten (or taken) by this one. Undefined while writes go through.
   */
  private writeRefusal(): Promise<never> | undefined {
    return this.refused === undefined ? undefined : Promise.reject(new Error(this.refused));
  }

  /** How the store's path no longer names the file this store opened ('deleted or moved away', 'replaced by another file'); undefined while it does. */
  fileGone(): string | undefined {
    if (!this.file) return undefined;
    try {
      const st = statSync(this.file.path);
      return st.dev === this.file.dev && st.ino === this.file.ino ? undefined : 'replaced by another file';
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'deleted or moved away' : undefined;
    }
  }

  /**
   * A write transaction that takes the write lock at BEGIN (waiting up to busy_timeout), so it
   * cannot fail half-way because the commit worker's connection wrote since it began reading.
   */
  private tx<T>(fn: () => T): () => T {
    return () => this.db.transaction(fn).immediate();
  }

  /**
   * Applies the migrations not applied yet; with `migrate` false, refuses a store that has some to
   * apply (see {@link StoreOutdatedError}). `beforeUpgrade` as {@link SqliteStoreOptions.beforeUpgrade}.
   */
  private runMigrations(migrate: boolean, beforeUpgrade?: (store: StoreUpgrade) => void): void {
    const hasTable = () => this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get() !== undefined;
    if (migrate) this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const applied = new Set(
      migrate || hasTable() ? (this.db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version) : [],
    );
    const newest = Math.max(0, ...applied);
    const known = Math.max(0, ...SQLITE_MIGRATIONS.map((m) => m.version));
    this.refuseNewer(newest);
    if (!migrate && SQLITE_MIGRATIONS.some((m) => !applied.has(m.version))) throw new StoreOutdatedError(this.storePath, newest, known);
    const isApplied = this.db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
    // A new, empty store has no key-value table to read yet, and nothing runs on it.
    let check = newest > 0 ? beforeUpgrade : undefined;
    for (const m of SQLITE_MIGRATIONS) {
      if (applied.has(m.version)) continue;
      this.tx(() => {
        // Another process opening the store at the same time (the service and a `status`) may have
        // applied it while this one waited for the write lock: its tables exist now.
        if (isApplied.get(m.version) !== undefined) return;
        // Under the write lock: no lease can be taken or renewed between the check and the upgrade.
        if (check) {
          const kv = this.db.prepare('SELECT value FROM kv WHERE namespace = ? AND key = ?').pluck();
          check({ path: this.storePath, version: newest, expected: known, kvGet: (namespace, key) => kv.get(namespace, key) as string | undefined });
          check = undefined;
        }
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      })();
    }
  }

  /** Throws when the store is at a schema version newer than this code knows (`version`: as read now, else read here). */
  private refuseNewer(version?: number): void {
    const newest = version ?? ((this.db.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number | null) ?? 0);
    const known = Math.max(0, ...SQLITE_MIGRATIONS.map((m) => m.version));
    if (newest > known) {
      throw new StoreOpenError(
        `the store ${this.storePath} (store.path) was written by a newer assetbridge (schema version ${newest}; this one knows up to ${known}) and is left as it is: ` +
          'run that version or a newer one on it, or point store.path at a store of this version',
      );
    }
  }

  /**
   * Throws as opening would when a newer assetbridge has upgraded the store since this one opened
   * it: what runs the pipeline checks again once it holds the store lease (an upgrade between its
   * open and its lease was not refused, as no lease was held yet).
   */
  checkSchema(): void {
    this.refuseNewer();
  }

  private prepare() {
    const db = this.db;
    return {
      upsertAsset: db.prepare(
        `INSERT INTO assets (erp_asset_id, erp_module, destination, attributes, updated_at) VALUES (@erpAssetId, @erpModule, @destination, @attributes, @now)
         ON CONFLICT(erp_asset_id) DO UPDATE SET erp_module = excluded.erp_module, destination = excluded.destination,
           attributes = excluded.attributes, updated_at = excluded.updated_at`,
      ),
      deleteAssetIdentifiers: db.prepare('DELETE FROM asset_identifiers WHERE erp_asset_id = ?'),
      upsertIdentifier: db.prepare(
        `INSERT INTO asset_identifiers (id_type, identifier_norm, value, erp_asset_id) VALUES (?, ?, ?, ?)
         ON CONFLICT(id_type, identifier_norm) DO UPDATE SET value = excluded.value, erp_asset_id = excluded.erp_asset_id`,
      ),
      // Without operations that wait for others (see claimCandidatesSql).
      claimCandidates: db.prepare(claimCandidatesSql([])),
      // When the fact an operation waits for (`waitsFor`: its create) was last done with: its max age counts from then.
      waitedForDoneAt: db.prepare(
        `SELECT updated_at FROM outbox WHERE destination = ? AND operation = ? AND business_key = ? AND kind = 'fact' AND status IN ('delivered', 'dead')`,
      ).pluck(),
      restartWaiting: db.prepare(`UPDATE outbox SET enqueued_at = ?, attempts = 0 WHERE id = ?`),
      markInflight: db.prepare(`UPDATE outbox SET status = 'inflight', updated_at = ? WHERE id = ? AND status = 'pending'`),
      deferPending: db.prepare(`UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND status = 'pending'`),
      setKey: db.prepare(`UPDATE outbox SET idempotency_key = ? WHERE id = ?`),
      getRow: db.prepare('SELECT * FROM outbox WHERE id = ?'),
      delivered: db.prepare(
        `UPDATE outbox SET status = 'delivered', attempts = attempts + 1, updated_at = @now, last_error = NULL, response = @response WHERE id = @id`,
      ),
      dead: db.prepare(`UPDATE outbox SET status = 'dead', attempts = attempts + 1, updated_at = @now, last_error = @error WHERE id = @id`),
      // Newer: a later event time, or the same one enqueued later, as the ingest keeps the later of
      // two values at one time. Enqueued later is a higher id: a value gets a row of its own only
      // while the key's earlier row is not pending (else it replaces that row's value). A resend (a
      // delivered value sent once more) is a row made after its original, which never supersedes it.
      newerStateExists: db.prepare(
        `SELECT 1 FROM outbox WHERE destination = @destination AND operation = @operation AND business_key = @key AND kind = 'state' AND id != @id
           AND status IN ('pending', 'inflight', 'delivered') AND (event_time > @time OR (event_time = @time AND id > @id)) LIMIT 1`,
      ).pluck(),
      getUnsettled: db.prepare(
        `SELECT settle_at AS settleAt, event_time AS eventTime, delivery_id AS deliveryId, idempotency_key AS idempotencyKey
         FROM outbox_unsettled WHERE destination = ? AND operation = ? AND business_key = ?`,
      ),
      markUnsettled: db.prepare(
        `INSERT OR REPLACE INTO outbox_unsettled (destination, operation, business_key, settle_at, event_time, delivery_id, idempotency_key)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      clearUnsettled: db.prepare('DELETE FROM outbox_unsettled WHERE destination = ? AND operation = ? AND business_key = ?'),
      pendingStateExists: db.prepare(
        `SELECT 1 FROM outbox WHERE destination = ? AND operation = ? AND business_key = ? AND kind = 'state' AND status = 'pending' LIMIT 1`,
      ).pluck(),
      insertResend: db.prepare(
        `INSERT INTO outbox (destination, operation, business_key, kind, erp_asset_id, event_time, payload, idempotency_key, status, attempts, created_at, updated_at, next_attempt_at, enqueued_at, resend)
         VALUES (@destination, @operation, @key, 'state', @erpAssetId, @eventTime, @payload, @idempotencyKey, 'pending', 0, @now, @now, @dueAt, @now, 1)`,
      ),
      toPending: db.prepare(
        `UPDATE outbox SET status = 'pending', attempts = attempts + @bump, updated_at = @now, next_attempt_at = @next, last_error = COALESCE(@error, last_error) WHERE id = @id`,
      ),
      supersede: db.prepare(`UPDATE outbox SET status = 'superseded', updated_at = ? WHERE id = ?`),
      mayHaveLanded: db.prepare(`UPDATE outbox SET may_have_landed = 1 WHERE id = ? AND may_have_landed = 0`),
      // Only older ones can be left (newerStateExists found no newer one): a replayed dead letter
      // going back to pending replaces them, as a newer value replaces a pending one at ingest.
      supersedeOlderPending: db.prepare(
        `UPDATE outbox SET status = 'superseded', updated_at = ? WHERE destination = ? AND operation = ? AND business_key = ? AND kind = 'state' AND status = 'pending' AND id != ?`,
      ),
      audit: db.prepare(
        `INSERT INTO audit (at, delivery_id, destination, operation, erp_asset_id, idempotency_key, attempt, method, url, request_body, status, response_body, latency_ms, outcome, error)
         VALUES (@at, @deliveryId, @destination, @operation, @erpAssetId, @idempotencyKey, @attempt, @method, @url, @requestBody, @status, @responseBody, @latencyMs, @outcome, @error)`,
      ),
      kvGet: db.prepare('SELECT value FROM kv WHERE namespace = ? AND key = ?').pluck(),
      kvSet: db.prepare(
        `INSERT INTO kv (namespace, key, value, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      ),
      kvList: db.prepare('SELECT key, value FROM kv WHERE namespace = ? ORDER BY key'),
      kvDelete: db.prepare('DELETE FROM kv WHERE namespace = ? AND key = ?'),
      kvInsertNew: db.prepare('INSERT INTO kv (namespace, key, value, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(namespace, key) DO NOTHING'),
      kvReplaceIf: db.prepare('UPDATE kv SET value = ?, updated_at = ? WHERE namespace = ? AND key = ? AND value = ?'),
      kvDeleteIf: db.prepare('DELETE FROM kv WHERE namespace = ? AND key = ? AND value = ?'),
    };
  }

  migrate(): Promise<void> {
    // Migrations run in the constructor so no method can see an old schema; kept for the contract.
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this.line.handedOn(); // a checkpoint still being serialised is committed first
    await this.committer?.close();
    if (this.db.open) this.db.close();
    this.copy?.remove();
  }

  upsertAssets(rows: readonly AssetWithIdentifiers[], opts: { replaceIdentifiers?: boolean } = {}): Promise<{ assets: number; identifiers: number }> {
    const refused = this.writeRefusal();
    if (refused) return refused;

    const now = Date.now();
    let identifiers = 0;
    this.tx(() => {
      for (const { asset, identifiers: ids } of rows) {
        if (opts.replaceIdentifiers) this.stmts.deleteAssetIdentifiers.run(asset.erpAssetId);
        this.stmts.upsertAsset.run({
          erpAssetId: asset.erpAssetId,
          erpModule: asset.erpModule,
          destination: asset.destination ?? null,
          attributes: JSON.stringify(asset.attributes),
          now,
        });
        for (const id of ids) {
          this.stmts.upsertIdentifier.run(id.type, normalizeIdentifier(id.value), id.value.trim(), asset.erpAssetId);
          identifiers++;
        }
      }
    })();
    return Promise.resolve({ assets: rows.length, identifiers });
  }

  listAssets(): Promise<AssetWithIdentifiers[]> {
    const assets = this.db.prepare('SELECT * FROM assets ORDER BY erp_asset_id').all() as AssetRow[];
    const ids = this.db.prepare('SELECT id_type, value, erp_asset_id FROM asset_identifiers ORDER BY id_type, value').all() as {
      id_type: IdentifierType;
      value: string;
      erp_asset_id: string;
    }[];
    const byAsset = new Map<string, IdentifierRecord[]>();
    for (const i of ids) {
      const list = byAsset.get(i.erp_asset_id) ?? [];
      list.push({ type: i.id_type, value: i.value, erpAssetId: i.erp_asset_id });
      byAsset.set(i.erp_asset_id, list);
    }
    return Promise.resolve(assets.map((a) => ({ asset: toAsset(a), identifiers: byAsset.get(a.erp_asset_id) ?? [] })));
  }

  async listAssetRecords(): Promise<AssetRecord[]> {
    const columns = 'SELECT erp_asset_id, erp_module, destination, attributes FROM assets';
    const first = this.db.prepare(`${columns} ORDER BY erp_asset_id LIMIT ?`);
    const next = this.db.prepare(`${columns} WHERE erp_asset_id > ? ORDER BY erp_asset_id LIMIT ?`);
    const out: AssetRecord[] = [];
    let rows = first.all(ASSET_PAGE) as AssetRow[];
    for (;;) {
      for (const r of rows) out.push(toAsset(r));
      if (rows.length < ASSET_PAGE) return out;
      // Pages by key, the event loop taking turns between them (~0.3 s for all of 100,000 assets at once).
      await setImmediate();
      rows = next.all((rows[rows.length - 1] as AssetRow).erp_asset_id, ASSET_PAGE) as AssetRow[];
    }
  }

  loadStates(erpAssetIds: readonly string[]): Promise<Map<string, AssetStateDoc>> {
    const out = new Map<string, AssetStateDoc>();
    // A statement per chunk of ids, not per asset (100,000 assets read ~4× faster).
    for (let i = 0; i < erpAssetIds.length; i += STATE_CHUNK) this.readStates(out, erpAssetIds.slice(i, i + STATE_CHUNK), []);
    return Promise.resolve(out);
  }

  async loadRuleStates(erpAssetIds: readonly string[], rules: readonly string[]): Promise<Map<string, AssetStateDoc>> {
    const out = new Map<string, AssetStateDoc>();
    if (rules.length === 0) return out;
    for (let i = 0; i < erpAssetIds.length; i += STATE_CHUNK) {
      // Ingest and HTTP take turns between chunks (the whole read is ~0.4 s at 100,000 assets).
      if (i > 0) await setImmediate();
      this.readStates(out, erpAssetIds.slice(i, i + STATE_CHUNK), rules);
    }
    return out;
  }

  /** Adds the states of `ids` (of `rules` only, when some are named) to `out`. */
  private readStates(out: Map<string, AssetStateDoc>, ids: readonly string[], rules: readonly string[]): void {
    // Rows as arrays (id, rule, doc): no object per row.
    for (const [id, rule, json] of this.stateReader(ids.length, rules.length).all(...ids, ...rules) as [string, string, string][]) {
      let doc = out.get(id);
      if (!doc) out.set(id, (doc = {}));
      doc[rule] = JSON.parse(json);
    }
  }

  /** `SELECT` of the states of `ids` assets (of `rules` rules when > 0), prepared once per shape. */
  private stateReader(ids: number, rules: number): Database.Statement {
    const key = `state/${ids}/${rules}`;
    let stmt = this.stateReaders.get(key);
    if (!stmt) {
      const list = (n: number) => Array<string>(n).fill('?').join(', ');
      stmt = this.db.prepare(`SELECT erp_asset_id, rule, doc FROM asset_rule_state WHERE erp_asset_id IN (${list(ids)})${rules > 0 ? ` AND rule IN (${list(rules)})` : ''}`).raw(true);
      // Full chunks and the few rule lists recur; an odd-sized last chunk is kept too, up to a bound.
      if (this.stateReaders.size < 256) this.stateReaders.set(key, stmt);
    }
    return stmt;
  }

  commitIngest(commit: IngestCommit): Promise<void> {
    return this.line.commit(commit);
  }

  /** Applies a batch on this connection (no commit worker); throws if it fails, which refuses those in line behind it. */
  private applyHere(prepared: PreparedCommit): Promise<void> {
    try {
      applyIngestCommit(this.db, this.ingest, prepared, Date.now(), this.guard);
    } finally {
      if (prepared.log) recycleLogBuffer(prepared.log.data.buffer as ArrayBuffer);
    }
    return Promise.resolve();
  }

  async readIngestLog(): Promise<LoggedMessage[]> {
    // Rows an older version wrote (one per message) come first: they are older than any batch row.
    const legacy = this.db.prepare('SELECT now, source, channel, payload, is_text, received_at FROM ingest_log ORDER BY seq').all() as {
      now: number;
      source: string;
      channel: string;
      payload: Buffer | string;
      is_text: number;
      received_at: number;
    }[];
    const out: LoggedMessage[] = legacy.map((r) => ({ now: r.now, seq: 0, ...rawMessageOf(r) }));
    const batches = this.db.prepare('SELECT seq, now, messages, data FROM ingest_log_batch ORDER BY seq').all() as { seq: number; now: number; messages: number; data: Buffer }[];
    let sinceTurn = 0;
    for (const b of batches) {
      // Decoded in turns of the event loop (a full log of 50,000 messages took ~0.2 s at once):
      // after a failed commit the service reads it with intake open.
      if (sinceTurn >= LOG_MESSAGES_PER_TURN) {
        sinceTurn = 0;
        await setImmediate();
      }
      let messages;
      try {
        messages = decodeLogBatch(b.data, b.messages);
      } catch (err) {
        throw new Error(`the ingest log in ${this.storePath} (store.path) is damaged (ingest_log_batch row ${b.seq}: ${(err as Error).message}); restore the store from a backup`, { cause: err });
      }
      for (const m of messages) out.push({ now: b.now, seq: b.seq, ...m });
      sinceTurn += b.messages;
    }
    return out;
  }

  ruleStateLogPositions(): Promise<Map<string, number>> {
    const rows = this.db.prepare('SELECT erp_asset_id, seq FROM rule_state_log_position').raw(true).all() as [string, number][];
    return Promise.resolve(new Map(rows));
  }

  counters(): Promise<Counters> {
    const rows = this.db.prepare('SELECT name, value FROM counters').all() as { name: string; value: number }[];
    const get = (n: string) => rows.find((r) => r.name === n)?.value ?? 0;
    const ingestLog = this.db.prepare('SELECT (SELECT count(*) FROM ingest_log) + (SELECT coalesce(sum(messages), 0) FROM ingest_log_batch)').pluck().get() as number;
    // Counted on the (status, code) index, not by reading the entries.
    const quarantineOpen = this.db.prepare("SELECT count(*) FROM quarantine WHERE status = 'open'").pluck().get() as number;
    const factsEnqueued: Record<string, number> = {};
    for (const r of rows) if (r.name.startsWith(FACTS_COUNTER)) factsEnqueued[r.name.slice(FACTS_COUNTER.length)] = r.value;
    return Promise.resolve({ eventsAccepted: get('events_accepted'), quarantined: get('quarantined'), quarantineOpen, workOrderUpdatesPolled: get(POLLED_UPDATES_COUNTER), quarantineRepeats: get(REPEATS_COUNTER), ingestLog, factsEnqueued });
  }

  claimDue(
    destination: string,
    now: number,
    limit: number,
    busyKeys: ReadonlySet<string>,
    held?: ReadonlySet<string>,
    waitsFor?: Readonly<Record<string, string>>,
  ): Promise<OutboxItem[]> {
    const claimed: OutboxItem[] = [];
    // The store's lease is lost (refuseCommits): the process that holds it now sends them.
    if (this.refused !== undefined) return Promise.resolve(claimed);
    const waits = Object.entries(waitsFor ?? {});
    this.tx(() => {
      if (!this.guarded()) return;
      // Over-fetch a little so busy keys (an earlier value still in flight) do not starve the claim.
      const rows = (
        waits.length === 0
          ? this.stmts.claimCandidates.all(destination, now, limit * 2 + busyKeys.size)
          : this.waitingCandidates(waits).all(destination, now, ...waits.map(([op]) => op), ...waits.flat(), limit * 2 + busyKeys.size)
      ) as OutboxRow[];
      const seen = new Set<string>();
      for (const r of rows) {
        if (claimed.length >= limit) break;
        const key = outboxKey({ operation: r.operation, businessKey: r.business_key });
        if (busyKeys.has(key) || seen.has(key)) continue;
        seen.add(key);
        if (held !== undefined && r.kind === 'state' && held.has(r.operation)) {
          // A newer value than one whose request may still land waits, out of the way, until it cannot.
          const u = this.stmts.getUnsettled.get(r.destination, r.operation, r.business_key) as Unsettled | undefined;
          if (u !== undefined && u.settleAt > now && isNewerThanUnsettled(r, u)) {
            this.stmts.deferPending.run(u.settleAt, r.id);
            continue;
          }
        }
        this.stmts.markInflight.run(now, r.id);
        // It waited for its create (not a candidate while that was pending or in flight): that wait is not its age.
        // Done with since it was last claimed (a dead create replayed, then delivered or dead again;
        // or marked delivered): the attempts it spent meanwhile ("not there yet" while the create was
        // dead) are not counted either, so it has its whole retry budget, as the replayed create has.
        const waited = waitsFor?.[r.operation];
        const doneAt = waited === undefined ? undefined : (this.stmts.waitedForDoneAt.get(r.destination, waited, r.business_key) as number | undefined);
        if (doneAt !== undefined && doneAt > r.enqueued_at) {
          this.stmts.restartWaiting.run(doneAt, r.id);
          r.enqueued_at = doneAt;
          r.attempts = 0;
        }
        const item = toItem({ ...r, status: 'inflight' });
        if (r.idempotency_key === '') {
          const idempotencyKey = idempotencyKeyFor(item);
          this.stmts.setKey.run(idempotencyKey, r.id);
          claimed.push({ ...item, idempotencyKey });
        } else claimed.push(item);
      }
    })();
    return Promise.resolve(claimed);
  }

  /** The claim's candidates for a destination whose operations wait for others (`claimCandidatesSql`), prepared once per set. */
  private waitingCandidates(waits: readonly (readonly [string, string])[]): Database.Statement {
    const sql = claimCandidatesSql(waits);
    let stmt = this.waitingStatements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.waitingStatements.set(sql, stmt);
    }
    return stmt;
  }

  completeAttempts(outcomes: readonly AttemptOutcome[], audit: readonly AuditRecord[], now: number): Promise<void> {
    // After the lease is lost the outcome is not recorded: the delivery stays in flight, as the new
    // holder's recoverInflight finds it (of unknown outcome, sent again under its idempotency key),
    // neither recorded as delivered here while the new holder sends it too, nor put back to pending
    // or dead over what the new holder did with it since.
    const refused = this.writeRefusal();
    if (refused) return refused;

    this.tx(() => {
      if (!this.guarded()) return;
      for (const o of outcomes) {
        if (o.result !== 'delivered' && o.unsettledUntil !== undefined) this.markUnsettled(o.id, o.unsettledUntil);
        if (o.result !== 'delivered' && o.mayHaveLanded === true) this.stmts.mayHaveLanded.run(o.id);
        switch (o.result) {
          case 'delivered': {
            const row = this.stmts.getRow.get(o.id) as OutboxRow | undefined;
            this.stmts.delivered.run({ id: o.id, now, response: o.response === undefined ? null : JSON.stringify(o.response).slice(0, 4096) });
            if (row?.kind === 'state') this.resendIfUnsettled(row, now);
            break;
          }
          case 'dead':
            this.stmts.dead.run({ id: o.id, now, error: o.error });
            break;
          case 'retry':
            this.backToPending(o.id, now, o.nextAttemptAt, 1, o.error);
            break;
          case 'release':
            this.backToPending(o.id, now, o.nextAttemptAt, 0, null);
            break;
        }
      }
      for (const a of audit) {
        this.stmts.audit.run({
          ...a,
          method: a.method ?? null,
          url: a.url ?? null,
          requestBody: a.requestBody ?? null,
          status: a.status ?? null,
          responseBody: a.responseBody ?? null,
          error: a.error ?? null,
        });
      }
    })();
    // The guard refused it (refuseCommits): nothing was written.
    return this.writeRefusal() ?? Promise.resolve();
  }

  /**
   * A request of this state row had an unknown outcome: its key is unsettled until `until` (or a
   * later settle time it had), for the oldest value of unknown outcome it had (by the outbox order).
   */
  private markUnsettled(id: number, until: number): void {
    const row = this.stmts.getRow.get(id) as OutboxRow | undefined;
    if (row?.kind !== 'state') return;
    const key = [row.destination, row.operation, row.business_key] as const;
    const had = this.stmts.getUnsettled.get(...key) as Unsettled | undefined;
    const settleAt = Math.max(until, had?.settleAt ?? until);
    if (had && isNewerThanUnsettled(row, had)) this.stmts.markUnsettled.run(...key, settleAt, had.eventTime, had.deliveryId, had.idempotencyKey);
    else this.stmts.markUnsettled.run(...key, settleAt, row.event_time, row.id, row.idempotency_key);
  }

  /**
   * A state value was delivered (`row` as claimed: its updated_at is the claim time). When its key
   * is unsettled, the claim came before the settle time and the value is newer than one a request
   * of unknown outcome carried, that request could still land after it: the value is sent once
   * more at the settle time, with its own key. (The same value landing late changes nothing.) A
   * pending newer value goes first instead, and its delivery is checked the same way. A claim at or
   * after the settle time settles the key.
   */
  private resendIfUnsettled(row: OutboxRow, now: number): void {
    const key = [row.destination, row.operation, row.business_key] as const;
    const unsettled = this.stmts.getUnsettled.get(...key) as Unsettled | undefined;
    if (unsettled === undefined) return;
    const { settleAt } = unsettled;
    if (row.updated_at >= settleAt) {
      this.stmts.clearUnsettled.run(...key);
      return;
    }
    if (!isNewerThanUnsettled(row, unsettled) || this.stmts.pendingStateExists.get(...key)) return;
    this.stmts.insertResend.run({
      destination: row.destination,
      operation: row.operation,
      key: row.business_key,
      erpAssetId: row.erp_asset_id,
      eventTime: row.event_time,
      payload: row.payload,
      idempotencyKey: resendKeyFor(row.idempotency_key, settleAt),
      now,
      dueAt: settleAt,
    });
  }

  /**
   * A state delivery going back to pending is superseded when a newer value for the same key (a
   * later event time, or the same one enqueued later) is pending, in flight or delivered: resending
   * the old value would overwrite newer state. Else it supersedes an older pending value of its
   * key (a dead letter replayed before it): one pending value per key.
   */
  private backToPending(id: number, now: number, next: number, bump: number, error: string | null): void {
    const row = this.stmts.getRow.get(id) as OutboxRow | undefined;
    if (!row) return;
    if (row.kind === 'state') {
      if (this.stmts.newerStateExists.get({ destination: row.destination, operation: row.operation, key: row.business_key, id: row.id, time: row.event_time })) {
        this.stmts.supersede.run(now, id);
        return;
      }
      this.stmts.supersedeOlderPending.run(now, row.destination, row.operation, row.business_key, row.id);
    }
    this.stmts.toPending.run({ id, now, next, bump, error });
  }

  recoverInflight(unsettledUntil?: (item: OutboxItem) => number | undefined, dueAt?: (item: OutboxItem) => number | undefined): Promise<number> {
    const refused = this.writeRefusal();
    if (refused) return refused;

    const now = Date.now();
    let n = 0;
    this.tx(() => {
      if (!this.guarded()) return;
      const rows = this.db.prepare(`SELECT * FROM outbox WHERE status = 'inflight' ORDER BY id`).all() as OutboxRow[];
      for (const row of rows) {
        // Its request may have reached the ERP: of unknown outcome, as a timed-out one.
        const item = toItem(row);
        const until = unsettledUntil?.(item);
        if (until !== undefined) this.markUnsettled(row.id, until);
        this.stmts.mayHaveLanded.run(row.id);
        this.backToPending(row.id, now, dueAt?.(item) ?? now, 0, null);
      }
      n = rows.length;
    })();
    return this.writeRefusal() ?? Promise.resolve(n);
  }

  outboxStats(now: number, waitsFor?: (destination: string) => Readonly<Record<string, string>> | undefined): Promise<DestinationStats[]> {
    // The counts the triggers of migration 10 keep; the oldest waiting row is the one of the lowest
    // id (ids and created_at grow together; a row keeps both through retries and replays), found
    // through the status index, so nothing here grows with the outbox.
    const counts = this.db.prepare(`SELECT destination, status, n FROM outbox_counts WHERE n != 0 ORDER BY destination`).all() as { destination: string; status: string; n: number }[];
    const oldestOf = this.db.prepare(`SELECT created_at FROM outbox WHERE id = (SELECT MIN(id) FROM outbox WHERE status = ? AND destination = ?)`).pluck();
    const byDestination = new Map<string, { destination: string; pending: number; inflight: number; delivered: number; dead: number; oldest: number | null; waiting: number }>();
    for (const { destination, status, n } of counts) {
      let r = byDestination.get(destination);
      if (!r) byDestination.set(destination, (r = { destination, pending: 0, inflight: 0, delivered: 0, dead: 0, oldest: null, waiting: 0 }));
      if (status === 'pending' || status === 'inflight' || status === 'delivered' || status === 'dead') r[status] = n;
      const waits = status === 'pending' ? Object.entries(waitsFor?.(destination) ?? {}) : [];
      if (waits.length > 0) {
        // Held while the record they act on is being created (claimDue's waitsFor): not late, so
        // counted apart and left out of the oldest age. Read through the waiting operations' own rows
        // (the fact key's index; a state one's pending row) and the front of the status index, not
        // through every pending row: a backlog of others does not make it slower.
        const held = heldByWaitsSql(waits);
        r.waiting = 0;
        for (const [operation, waited] of waits) {
          for (const [kind, index] of [['fact', 'outbox_fact_key'], ['state', 'outbox_state_pending']] as const) {
            r.waiting += this.db
              .prepare(`SELECT count(*) FROM outbox o INDEXED BY ${index} WHERE o.kind = '${kind}' AND o.destination = ? AND o.operation = ? AND o.status = 'pending' AND ${heldByWaitsSql([[operation, waited]])}`)
              .pluck()
              .get(destination, operation, operation, waited) as number;
          }
        }
        const at = this.db.prepare(`SELECT created_at FROM outbox o WHERE o.status = 'pending' AND o.destination = ? AND NOT (${held}) ORDER BY o.id LIMIT 1`).pluck().get(destination, ...waits.flat()) as number | undefined;
        if (at !== undefined && (r.oldest === null || at < r.oldest)) r.oldest = at;
      } else if (status === 'pending' || status === 'inflight') {
        const at = oldestOf.get(status, destination) as number | undefined;
        if (at !== undefined && (r.oldest === null || at < r.oldest)) r.oldest = at;
      }
    }
    const rows = [...byDestination.values()];
    const pruned = new Map(
      (this.db.prepare(`SELECT substr(name, ${PRUNED_PREFIX.length + 1}) AS destination, value FROM counters WHERE name LIKE '${PRUNED_PREFIX}%'`).all() as { destination: string; value: number }[]).map(
        (r) => [r.destination, r.value],
      ),
    );
    // A destination whose rows retention deleted all of still delivered them.
    const listed = new Set(rows.map((r) => r.destination));
    for (const destination of pruned.keys()) if (!listed.has(destination)) rows.push({ destination, pending: 0, inflight: 0, delivered: 0, dead: 0, oldest: null, waiting: 0 });
    rows.sort((a, b) => (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0));
    return Promise.resolve(
      rows.map((r) => ({
        destination: r.destination,
        pending: r.pending,
        inflight: r.inflight,
        delivered: r.delivered + (pruned.get(r.destination) ?? 0),
        dead: r.dead,
        oldestPendingAgeMs: r.oldest === null ? 0 : Math.max(0, now - r.oldest),
        ...(r.waiting > 0 ? { waitingForCreate: r.waiting } : {}),
      })),
    );
  }

  prune(cutoffs: PruneCutoffs, limit: number): Promise<PruneResult> {
    const refused = this.writeRefusal();
    if (refused) return refused;

    const deliveries = (kind: 'state' | 'fact', before: number | undefined): number => {
      if (before === undefined) return 0;
      return this.tx(() => {
        const rows = this.db.prepare(`SELECT o.id, o.destination, o.status ${PRUNABLE_DELIVERIES} LIMIT ?`).all(kind, before, limit) as { id: number; destination: string; status: string }[];
        const del = this.db.prepare('DELETE FROM outbox WHERE id = ?');
        // A fact's key outlives its row, in the same transaction: the row was what kept the fact
        // from being queued again (a replay, a second post), so an interrupted prune loses neither.
        const keep = this.db.prepare(
          `INSERT OR IGNORE INTO outbox_pruned_fact (destination, operation, business_key, pruned_at) SELECT destination, operation, business_key, ? FROM outbox WHERE id = ? AND kind = 'fact'`,
        );
        const byDestination = new Map<string, number>();
        const now = Date.now();
        for (const r of rows) {
          if (kind === 'fact') keep.run(now, r.id);
          del.run(r.id);
          if (r.status === 'delivered') byDestination.set(r.destination, (byDestination.get(r.destination) ?? 0) + 1);
        }
        // The delivered count stays all-time (outboxStats adds these back).
        const bump = this.db.prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value');
        for (const [destination, n] of byDestination) bump.run(`${PRUNED_PREFIX}${destination}`, n);
        return rows.length;
      })();
    };
    // Keys whose settle time passed with the state retention's cutoff and that have nothing in
    // flight: no claim from before their settle time can still be delivered (a dead letter's key is
    // never settled by a delivery). Housekeeping, not counted.
    if (cutoffs.deliveredBefore !== undefined)
      this.db
        .prepare(
          `DELETE FROM outbox_unsettled WHERE settle_at < ? AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.destination = outbox_unsettled.destination
             AND o.operation = outbox_unsettled.operation AND o.business_key = outbox_unsettled.business_key AND o.kind = 'state' AND o.status = 'inflight')`,
        )
        .run(cutoffs.deliveredBefore);
    const delivered = deliveries('state', cutoffs.deliveredBefore);
    const deliveredFacts = deliveries('fact', cutoffs.deliveredFactsBefore);
    const audit = cutoffs.auditBefore === undefined ? 0 : this.db.prepare(`DELETE FROM audit WHERE id IN (SELECT id ${PRUNABLE_AUDIT} ORDER BY at LIMIT ?)`).run(cutoffs.auditBefore, limit).changes;
    const quarantine = cutoffs.quarantineBefore === undefined ? 0 : this.db.prepare(`DELETE FROM quarantine WHERE id IN (SELECT id ${PRUNABLE_QUARANTINE} LIMIT ?)`).run(cutoffs.quarantineBefore, limit).changes;
    return Promise.resolve({ delivered, deliveredFacts, audit, quarantine });
  }

  countPrunable(cutoffs: PruneCutoffs): Promise<PruneResult> {
    const count = (sql: string, ...params: (string | number)[]) => this.db.prepare(`SELECT count(*) ${sql}`).pluck().get(...params) as number;
    const at = <T,>(before: number | undefined, fn: (b: number) => T, none: T) => (before === undefined ? none : fn(before));
    return Promise.resolve({
      delivered: at(cutoffs.deliveredBefore, (b) => count(PRUNABLE_DELIVERIES, 'state', b), 0),
      deliveredFacts: at(cutoffs.deliveredFactsBefore, (b) => count(PRUNABLE_DELIVERIES, 'fact', b), 0),
      audit: at(cutoffs.auditBefore, (b) => count(PRUNABLE_AUDIT, b), 0),
      quarantine: at(cutoffs.quarantineBefore, (b) => count(PRUNABLE_QUARANTINE, b), 0),
    });
  }

  /**
   * A consistent copy of the store in `file`, also while the service runs: VACUUM INTO reads it in
   * one read transaction (WAL: writers go on meanwhile) and writes it compacted. Written to
   * `file.partial`, synced, then renamed, so a copy cut short (a full disk, a kill) never stands
   * as `file`. The copy runs in a worker thread on its own read-only connection, so this thread
   * stays free: `onProgress` hears how far it has got ({@link backupInWorker}). For the CLI, never
   * inside the service. `omit`: the key-value entries left out of the copy (the store lease of the
   * process running on the store, which does not run on the copy).
   */
  backupTo(file: string, opts: { readonly omit?: readonly KvEntryName[]; readonly onProgress?: (p: BackupProgress) => void } = {}): Promise<{ bytes: number }> {
    // Not refused after refuseCommits: it writes the copy only, never the store (harmless to its holder).
    if (this.file === undefined) return Promise.resolve(backupDatabase(this.db, file, opts.omit)); // :memory:: no file for a worker to open
    return backupInWorker(this.copy?.file ?? this.storePath, file, {
      omit: opts.omit,
      expected: expectedCopyBytes(this.db),
      onProgress: opts.onProgress,
      openError: (err) => storeError(err, this.storePath),
    });
  }

  /**
   * {@link SqliteStore.backupTo} of the store file at `path` as it is, whatever its schema version
   * (a store an older assetbridge wrote, copied before this version upgrades it): opened only to
   * read, and closed again.
   */
  static async backupFile(path: string, file: string, opts: { readonly omit?: readonly KvEntryName[]; readonly onProgress?: (p: BackupProgress) => void } = {}): Promise<{ bytes: number }> {
    // Read-only, as a command that only reads opens a store: in a directory this user cannot write,
    // from a copy in the temp directory ({@link readableCopy}), as a current store is read there.
    let copy: ReadableCopy | undefined;
    try {
      for (;;) {
        let db: Database.Database | undefined;
        try {
          db = new Database(copy?.file ?? path, { readonly: true, fileMustExist: true });
          db.pragma('busy_timeout = 5000');
          // Reads the WAL index: what fails where SQLite cannot make the -shm file beside the store.
          db.prepare('SELECT count(*) FROM sqlite_master').pluck().get();
        } catch (err) {
          if (db?.open) db.close();
          if (copy === undefined) {
            try {
              copy = readableCopy(err, path);
            } catch (copyErr) {
              throw storeError(copyErr, path);
            }
            if (copy !== undefined) continue;
          }
          throw storeError(err, path);
        }
        try {
          return await backupInWorker(copy?.file ?? path, file, {
            omit: opts.omit,
            expected: expectedCopyBytes(db),
            onProgress: opts.onProgress,
            openError: (err) => storeError(err, path),
          });
        } finally {
          db.close();
        }
      }
    } finally {
      copy?.remove();
    }
  }

  /**
   * Rewrites the file to what it holds (pages freed by retention are given back to the disk):
   * needs room for a second copy meanwhile, and holds the write lock throughout. Runs in a worker
   * thread on its own connection, so this thread stays free: `onProgress` hears what can be seen of
   * it ({@link vacuumInWorker}). For the CLI with no service running.
   */
  vacuum(opts: { readonly onProgress?: (p: VacuumProgress) => void; readonly pollMs?: number } = {}): Promise<void> {
    const refused = this.writeRefusal();
    if (refused) return refused;
    if (this.file === undefined) return Promise.resolve(vacuumDatabase(this.db)); // :memory:: no file for a worker to open
    return vacuumInWorker(this.storePath, {
      inUseBytes: expectedCopyBytes(this.db),
      onProgress: opts.onProgress,
      pollMs: opts.pollMs,
      openError: (err) => storeError(err, this.storePath),
    });
  }

  getDelivery(id: number): Promise<OutboxItem | undefined> {
    const row = this.stmts.getRow.get(id) as OutboxRow | undefined;
    return Promise.resolve(row ? toItem(row) : undefined);
  }

  listDeliveries(filter: { status?: OutboxItem['status'] | readonly OutboxItem['status'][]; destination?: string; operation?: string; limit?: number }): Promise<OutboxItem[]> {
    const statuses = typeof filter.status === 'string' ? [filter.status] : (filter.status ?? []);
    const { where, args } = whereOf([
      ['destination = ?', filter.destination],
      ['operation = ?', filter.operation],
    ]);
    const inStatus = statuses.length ? `status IN (${statuses.map(() => '?').join(', ')})` : '';
    const clause = inStatus === '' ? where : where === '' ? `WHERE ${inStatus}` : `${where} AND ${inStatus}`;
    const sql = `SELECT * FROM outbox ${clause} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, ...statuses, filter.limit ?? 100) as OutboxRow[];
    return Promise.resolve(rows.map(toItem));
  }

  replayDead(ids: readonly number[] | 'all', now: number, dueAt?: (item: OutboxItem, lastAttemptAt: number) => number | undefined): Promise<number> {
    const refused = this.writeRefusal();
    if (refused) return refused;
    return this.deadInChunks(ids, (chunk) => this.replayDeadRows(chunk, now, dueAt)).then((moved) => moved.reduce((a, b) => a + b, 0));
  }

  replayDeadWithNewKey(ids: readonly number[], now: number, opts: { evenIfMayHaveLanded?: boolean }, dueAt?: (item: OutboxItem, lastAttemptAt: number) => number | undefined): Promise<{ keyed: NewKeyResult[]; moved: number }> {
    const refused = this.writeRefusal();
    if (refused) return refused;
    // Each letter's new key and replay in one transaction: a crash (or a kill) between the two left
    // letters re-keyed but not replayed, and a second run then replayed them without the settle
    // wait their cleared mark called for.
    return this.deadInChunks(ids, (chunk) => {
      const keyed = this.newKeyRows(chunk, now, opts);
      const held = new Set(keyed.filter((k) => k.result === 'may-have-landed').map((k) => k.id));
      return { keyed, moved: this.replayDeadRows(chunk.filter((id) => !held.has(id)), now, dueAt) };
    }).then((parts) => ({ keyed: parts.flatMap((p) => p.keyed), moved: parts.reduce((a, p) => a + p.moved, 0) }));
  }

  /**
   * `change` over dead letters `ids` (`'all'`: those dead now), {@link DEAD_CHUNK} to a transaction
   * with a pause between, so a running service's writes are not held up behind thousands. A letter
   * is changed whole or not at all; a run cut short leaves the rest dead, for running it again.
   */
  private async deadInChunks<T>(ids: readonly number[] | 'all', change: (chunk: readonly number[]) => T): Promise<T[]> {
    const list = ids === 'all' ? (this.db.prepare(`SELECT id FROM outbox WHERE status = 'dead' ORDER BY id`).pluck().all() as number[]) : ids;
    const out: T[] = [];
    for (let i = 0; i < list.length; i += DEAD_CHUNK) {
      if (i > 0) await sleep(WRITE_PAUSE_MS);
      out.push(this.tx(() => change(list.slice(i, i + DEAD_CHUNK)))());
    }
    return out;
  }

  /** {@link SqliteStore.replayDead} within the caller's transaction. */
  private replayDeadRows(ids: readonly number[], now: number, dueAt?: (item: OutboxItem, lastAttemptAt: number) => number | undefined): number {
    let moved = 0;
    // When its last attempt ended: its newest audit row but those of changes made by hand (no
    // request). A dead letter's audit is never pruned; without one, when it went dead (or later).
    const lastAttempt = this.db.prepare(`SELECT max(at) FROM audit WHERE delivery_id = ? AND outcome NOT IN (${HAND_OUTCOMES.map(() => '?').join(', ')})`).pluck();
    const restart = this.db.prepare(`UPDATE outbox SET attempts = 0, enqueued_at = ? WHERE id = ?`);
    for (const id of ids) {
      const row = this.stmts.getRow.get(id) as OutboxRow | undefined;
      if (row?.status !== 'dead') continue;
      const due = dueAt?.(toItem(row), (lastAttempt.get(id, ...HAND_OUTCOMES) as number | null) ?? row.updated_at);
      // Attempts restart from zero, and its max age (retry.maxAgeMs) from now; the idempotency
      // key stays, so the ERP sees the same fact.
      restart.run(now, id);
      this.backToPending(id, now, due === undefined ? now : Math.max(now, due), 0, null);
      moved++;
    }
    return moved;
  }

  editDeadPayload(id: number, payload: Record<string, unknown>, now: number): Promise<boolean> {
    const refused = this.writeRefusal();
    if (refused) return refused;

    const json = JSON.stringify(payload);
    const edited = this.tx(() => {
      const row = this.stmts.getRow.get(id) as OutboxRow | undefined;
      if (row?.status !== 'dead') return false;
      // A new key only where the old one cannot be in the ERP: no request of it may have landed.
      const changed = stableStringify(payload) !== stableStringify(JSON.parse(row.payload));
      const key = changed && !row.may_have_landed ? editedKeyFor(row.idempotency_key, payload) : row.idempotency_key;
      this.db.prepare(`UPDATE outbox SET payload = ?, idempotency_key = ?, updated_at = ? WHERE id = ?`).run(json, key, now, id);
      const note =
        key === row.idempotency_key
          ? changed
            ? 'payload edited by hand for a replay, idempotency key kept: a request of it may have reached the ERP (the earlier attempts show what was sent before)'
            : 'payload edited by hand for a replay, unchanged: idempotency key kept'
          : `payload edited by hand for a replay, with a new idempotency key (was ${row.idempotency_key}; no request of it reached the ERP; the earlier attempts show what was sent before)`;
      this.handAudit({ ...row, idempotency_key: key }, now, 'edited', note, json.slice(0, 4096));
      return true;
    })();
    return Promise.resolve(edited);
  }

  newKeyForDead(ids: readonly number[], now: number, opts: { evenIfMayHaveLanded?: boolean } = {}): Promise<NewKeyResult[]> {
    const refused = this.writeRefusal();
    if (refused) return refused;
    return this.deadInChunks(ids, (chunk) => this.newKeyRows(chunk, now, opts)).then((parts) => parts.flat());
  }

  /** {@link SqliteStore.newKeyForDead} within the caller's transaction. */
  private newKeyRows(ids: readonly number[], now: number, opts: { evenIfMayHaveLanded?: boolean }): NewKeyResult[] {
    const out: NewKeyResult[] = [];
    const generations = this.db.prepare(`SELECT COUNT(*) FROM audit WHERE delivery_id = ? AND outcome = 'new-key'`).pluck();
    const set = this.db.prepare(`UPDATE outbox SET idempotency_key = ?, may_have_landed = 0, updated_at = ? WHERE id = ? AND status = 'dead'`);
    for (const id of ids) {
      const row = this.stmts.getRow.get(id) as OutboxRow | undefined;
      if (row?.status !== 'dead') continue;
      // A state update a newer value of its key overtook is superseded by the replay, not sent:
      // no new key for it (nor an audit row saying it was replayed under one).
      if (row.kind === 'state' && this.stmts.newerStateExists.get({ destination: row.destination, operation: row.operation, key: row.business_key, id: row.id, time: row.event_time })) {
        out.push({ id, result: 'superseded', key: row.idempotency_key });
        continue;
      }
      if (row.may_have_landed && !opts.evenIfMayHaveLanded) {
        out.push({ id, result: 'may-have-landed', key: row.idempotency_key });
        continue;
      }
      const key = replayKeyFor(row.idempotency_key, (generations.get(id) as number) + 1);
      set.run(key, now, id);
      const note = row.may_have_landed
        ? `replayed with a new idempotency key (was ${row.idempotency_key}), though a request of it may have reached the ERP: the operator checked that the ERP does not hold it`
        : `replayed with a new idempotency key (was ${row.idempotency_key}; no request of it reached the ERP, whose answers under the old key the replay would get again)`;
      this.handAudit({ ...row, idempotency_key: key }, now, 'new-key', note);
      out.push({ id, result: 'new-key', key, was: row.idempotency_key });
    }
    return out;
  }

  markDelivered(ids: readonly number[], now: number): Promise<number[]> {
    const refused = this.writeRefusal();
    if (refused) return refused;

    return this.deadInChunks(ids, (chunk) => {
      const moved: number[] = [];
      const mark = this.db.prepare(`UPDATE outbox SET status = 'delivered', updated_at = ?, last_error = NULL WHERE id = ? AND status = 'dead'`);
      for (const id of chunk) {
        const row = this.stmts.getRow.get(id) as OutboxRow | undefined;
        if (row?.status !== 'dead' || mark.run(now, id).changes === 0) continue;
        this.handAudit(row, now, 'marked-delivered', 'recorded as delivered by hand: the ERP holds it; no request was sent');
        moved.push(id);
      }
      return moved;
    }).then((parts) => parts.flat());
  }

  /** The audit row of a change made by hand to a dead letter (no request). */
  private handAudit(row: OutboxRow, now: number, outcome: string, note: string, requestBody: string | null = null): void {
    this.stmts.audit.run({
      at: now,
      deliveryId: row.id,
      destination: row.destination,
      operation: row.operation,
      erpAssetId: row.erp_asset_id,
      idempotencyKey: row.idempotency_key,
      attempt: row.attempts,
      method: null,
      url: null,
      requestBody,
      status: null,
      responseBody: null,
      latencyMs: 0,
      outcome,
      error: note,
    });
  }

  factDeliveries(operation: string, businessKeys: readonly string[]): Promise<Map<string, FactDelivery>> {
    const out = new Map<string, FactDelivery>();
    const keys = [...new Set(businessKeys)];
    for (let i = 0; i < keys.length; i += 500) {
      const part = keys.slice(i, i + 500);
      const rows = this.db
        .prepare(`SELECT id, destination, business_key, status, payload, last_error, response, may_have_landed FROM outbox WHERE kind = 'fact' AND operation = ? AND business_key IN (${part.map(() => '?').join(', ')}) ORDER BY id`)
        .all(operation, ...part) as { id: number; destination: string; business_key: string; status: OutboxItem['status']; payload: string; last_error: string | null; response: string | null; may_have_landed: number }[];
      for (const r of rows) {
        let response: unknown;
        try {
          response = r.response === null ? undefined : JSON.parse(r.response);
        } catch {
          response = undefined; // cut at 4 KiB: not JSON any more
        }
        if (!out.has(r.business_key))
          out.set(r.business_key, {
            id: r.id,
            destination: r.destination,
            status: r.status,
            payload: JSON.parse(r.payload) as Record<string, unknown>,
            ...(r.last_error !== null ? { lastError: r.last_error } : {}),
            ...(response !== undefined ? { response } : {}),
            ...(r.may_have_landed ? { mayHaveLanded: true as const } : {}),
          });
      }
    }
    return Promise.resolve(out);
  }

  factKeysOfAsset(operation: string, erpAssetId: string, limit: number): Promise<string[]> {
    // No index on the asset: a scan, for a refused hand completion only (never on the hot path).
    const rows = this.db
      .prepare(`SELECT business_key FROM outbox WHERE kind = 'fact' AND operation = ? AND erp_asset_id = ? GROUP BY business_key ORDER BY MAX(id) DESC LIMIT ?`)
      .all(operation, erpAssetId, limit) as { business_key: string }[];
    return Promise.resolve(rows.map((r) => r.business_key));
  }

  discardDead(ids: readonly number[] | 'all', now: number): Promise<number> {
    const refused = this.writeRefusal();
    if (refused) return refused;

    // Kept, not deleted: a discarded fact's row is what stops the same fact being queued again (the
    // outbox keeps one per key), and a deleted newest row would hand its id to the next delivery.
    return this.deadInChunks(ids, (chunk) => {
      let changes = 0;
      const discard = this.db.prepare(`UPDATE outbox SET status = 'discarded', updated_at = ? WHERE status = 'dead' AND id = ?`);
      for (const id of chunk) changes += discard.run(now, id).changes;
      return changes;
    }).then((parts) => parts.reduce((a, b) => a + b, 0));
  }

  countQuarantine(filter: { status?: QuarantineRow['status']; code?: QuarantineCode }): Promise<number> {
    const { where, args } = whereOf([
      ['status = ?', filter.status],
      ['code = ?', filter.code],
    ]);
    return Promise.resolve(this.db.prepare(`SELECT count(*) FROM quarantine ${where}`).pluck().get(...args) as number);
  }

  listQuarantine(filter: { status?: QuarantineRow['status']; code?: QuarantineCode; ids?: readonly number[]; replayOf?: number; afterId?: number; limit?: number }): Promise<QuarantineRow[]> {
    const { where, args } = whereOf([
      ['status = ?', filter.status],
      ['code = ?', filter.code],
      ['replay_of = ?', filter.replayOf],
      ['id > ?', filter.afterId],
      // One statement for any number of ids.
      ['id IN (SELECT value FROM json_each(?))', filter.ids ? JSON.stringify(filter.ids) : undefined],
    ]);
    const sql = `SELECT * FROM quarantine ${where} ORDER BY id LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, filter.limit ?? 1000) as {
      id: number;
      source: string;
      channel: string;
      payload: Buffer;
      is_text: number;
      received_at: number;
      code: QuarantineCode;
      reason: string;
      status: QuarantineRow['status'];
      replays: number;
      replay_of: number | null;
      repeats: number;
    }[];
    return Promise.resolve(
      rows.map((r) => ({
        id: r.id,
        ...rawMessageOf(r),
        code: r.code,
        reason: r.reason,
        status: r.status,
        replays: r.replays,
        ...(r.replay_of !== null ? { replayOf: r.replay_of } : {}),
        ...(r.repeats > 0 ? { repeats: r.repeats } : {}),
      })),
    );
  }

  addQuarantine(q: QuarantineEntry): Promise<number> {
    const refused = this.writeRefusal();
    if (refused) return refused;

    const r = this.db
      .prepare(`INSERT INTO quarantine (source, channel, payload, is_text, received_at, code, reason, replay_of, payload_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(q.source, q.channel, Buffer.from(q.payload), typeof q.payload === 'string' ? 1 : 0, q.receivedAt, q.code, q.reason, q.replayOf ?? null, q.version !== undefined ? versionSha256(q.version) : (q.payloadSha256 ?? payloadSha256(q.payload)));
    return Promise.resolve(Number(r.lastInsertRowid));
  }

  quarantineHolds(messages: readonly Pick<QuarantineEntry, 'source' | 'channel' | 'payload' | 'payloadSha256' | 'version'>[]): Promise<boolean[]> {
    // As the commit counts a copy on its entry (repeatResent): the latest entry of it, while held.
    // One statement per HOLDS_CHUNK messages (a poll's unreadable records), not one per message.
    const held: boolean[] = [];
    for (let start = 0; start < messages.length; start += HOLDS_CHUNK) {
      const chunk = messages.slice(start, start + HOLDS_CHUNK);
      const row = `(${new Array(COPY_COLUMNS.length + 1).fill('?').join(', ')})`;
      const sql =
        `WITH m(i, ${COPY_COLUMNS.join(', ')}) AS (VALUES ${new Array(chunk.length).fill(row).join(', ')}) ` +
        `SELECT m.i FROM m WHERE EXISTS (SELECT 1 FROM quarantine WHERE status IN ('open', 'discarded') AND id = (${latestEntryOfRow('m.')}))`;
      const hits = new Set(this.db.prepare(sql).pluck().all(chunk.flatMap((m, i) => [i, ...copyArgs(m)])) as number[]);
      for (let i = 0; i < chunk.length; i++) held.push(hits.has(i));
    }
    return Promise.resolve(held);
  }

  markQuarantine(ids: readonly number[], status: 'replayed' | 'discarded'): Promise<number[]> {
    const refused = this.writeRefusal();
    if (refused) return refused;

    // Only open entries close: a replayed entry stays replayed (its history), whatever is asked later.
    const stmt = this.db.prepare(`UPDATE quarantine SET status = ?, replays = replays + ? WHERE id = ? AND status = 'open'`);
    const closed: number[] = [];
    this.tx(() => {
      for (const id of new Set(ids)) if (stmt.run(status, status === 'replayed' ? 1 : 0, id).changes) closed.push(id);
    })();
    return Promise.resolve(closed);
  }

  countAudit(query: Omit<AuditQuery, 'limit'>): Promise<number> {
    const { where, args } = auditWhere(query);
    return Promise.resolve(this.db.prepare(`SELECT count(*) FROM audit ${where}`).pluck().get(...args) as number);
  }

  queryAudit(query: AuditQuery): Promise<AuditRecord[]> {
    const { where, args } = auditWhere(query);
    // Newest by the attempt's time: an outcome recorded late (the store was busy) has a newer id but an older time.
    const sql = `SELECT * FROM audit ${where} ORDER BY at DESC, id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, query.limit ?? 200) as Record<string, unknown>[];
    return Promise.resolve(
      rows.reverse().map((r) => ({
        at: r.at as number,
        deliveryId: r.delivery_id as number,
        destination: r.destination as string,
        operation: r.operation as string,
        erpAssetId: r.erp_asset_id as string,
        idempotencyKey: r.idempotency_key as string,
        attempt: r.attempt as number,
        latencyMs: r.latency_ms as number,
        outcome: r.outcome as string,
        ...(r.method !== null ? { method: r.method as string } : {}),
        ...(r.url !== null ? { url: r.url as string } : {}),
        ...(r.request_body !== null ? { requestBody: r.request_body as string } : {}),
        ...(r.status !== null ? { status: r.status as number } : {}),
        ...(r.response_body !== null ? { responseBody: r.response_body as string } : {}),
        ...(r.error !== null ? { error: r.error as string } : {}),
      })),
    );
  }

  kvGet(namespace: string, key: string): Promise<string | undefined> {
    return Promise.resolve(this.stmts.kvGet.get(namespace, key) as string | undefined);
  }

  kvSet(namespace: string, key: string, value: string): Promise<void> {
    const refused = this.writeRefusal();
    if (refused) return refused;
    this.stmts.kvSet.run(namespace, key, value, Date.now());
    return Promise.resolve();
  }

  kvSetMany(namespace: string, entries: readonly (readonly [key: string, value: string])[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    const refused = this.writeRefusal();
    if (refused) return refused;
    const now = Date.now();
    this.tx(() => {
      for (const [key, value] of entries) this.stmts.kvSet.run(namespace, key, value, now);
    })();
    return Promise.resolve();
  }

  async kvGetMany(namespace: string, keys: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < keys.length; i += STATE_CHUNK) {
      // As loadRuleStates: ingest and HTTP take turns between chunks (50,000 ledgers read at once held the event loop 0.3 s).
      if (i > 0) await setImmediate();
      const chunk = keys.slice(i, i + STATE_CHUNK);
      for (const [key, value] of this.kvReader(chunk.length).all(namespace, ...chunk) as [string, string][]) out.set(key, value);
    }
    return out;
  }

  /** `SELECT` of `n` keys of one namespace, prepared once per size. */
  private kvReader(n: number): Database.Statement {
    const shape = `kv/${n}`;
    let stmt = this.stateReaders.get(shape);
    if (!stmt) {
      stmt = this.db.prepare(`SELECT key, value FROM kv WHERE namespace = ? AND key IN (${Array<string>(n).fill('?').join(', ')})`).raw(true);
      if (this.stateReaders.size < 256) this.stateReaders.set(shape, stmt);
    }
    return stmt;
  }

  kvList(namespace: string): Promise<{ key: string; value: string }[]> {
    return Promise.resolve(this.stmts.kvList.all(namespace) as { key: string; value: string }[]);
  }

  kvDelete(namespace: string, key: string): Promise<boolean> {
    const refused = this.writeRefusal();
    if (refused) return refused;
    return Promise.resolve(this.stmts.kvDelete.run(namespace, key).changes > 0);
  }

  kvCompareAndSet(namespace: string, key: string, expected: string | undefined, next: string | undefined): Promise<boolean> {
    const refused = this.writeRefusal();
    if (refused) return refused;
    return Promise.resolve(this.swap(namespace, key, expected, next, Date.now()));
  }

  /**
   * {@link kvGet} at once, on this thread: for what must be read before the process exits without
   * another turn of the event loop (the store lease at a forced exit).
   */
  kvGetNow(namespace: string, key: string): string | undefined {
    return this.stmts.kvGet.get(namespace, key) as string | undefined;
  }

  /**
   * {@link kvCompareAndSet} at once, on this thread, waiting at most `waitMs` for the write lock the
   * commit worker may hold (a forced exit does not wait out a long checkpoint); false when the lock
   * was not had in time, or the value was not `expected`.
   */
  kvCompareAndSetNow(namespace: string, key: string, expected: string | undefined, next: string | undefined, waitMs = 5000): boolean {
    // After refuseCommits: nothing written, as when the lock was not had.
    if (!this.db.open || this.refused !== undefined) return false;
    const before = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma(`busy_timeout = ${Math.max(0, Math.round(waitMs))}`);
    try {
      return this.swap(namespace, key, expected, next, Date.now());
    } catch (err) {
      if (storeErrorCode(err)?.startsWith('SQLITE_BUSY')) return false;
      throw err;
    } finally {
      this.db.pragma(`busy_timeout = ${before}`);
    }
  }

  kvCompareAndSetMany(namespace: string, entries: readonly KvSwap[]): Promise<boolean[]> {
    if (entries.length === 0) return Promise.resolve([]);
    const refused = this.writeRefusal();
    if (refused) return refused;
    const now = Date.now();
    return Promise.resolve(this.tx(() => entries.map((e) => this.swap(namespace, e.key, e.expected, e.next, now)))());
  }

  /**
   * See {@link Store.foldLog}: on the commit worker's connection when it runs (a service: off the
   * event loop, after the batches posted before); else here, PASSIVE (what the writes since the
   * last fold left: a chunk's worth, a few ms), as a CLI command with no ingest of its own does.
   */
  foldLog(): Promise<{ readonly where: 'worker' | 'here' | 'none'; readonly frames: number; readonly folded: number }> {
    const none = { where: 'none', frames: 0, folded: 0 } as const;
    if (this.db.readonly || this.refused !== undefined) return Promise.resolve(none);
    const viaWorker = this.committer?.fold();
    if (viaWorker) return viaWorker.then((r) => ({ where: 'worker', frames: r.frames, folded: r.folded }));
    const here = passiveFold(this.db);
    return Promise.resolve(here ? { where: 'here', ...here } : none);
  }

  kvCompareAndSetWithDeliveries(namespace: string, entries: readonly KvDecision[]): Promise<boolean[]> {
    if (entries.length === 0) return Promise.resolve([]);
    const refused = this.writeRefusal();
    if (refused) return refused;
    const now = Date.now();
    try {
      return Promise.resolve(
        this.tx(() => {
          const set = entries.map((e) => this.swap(namespace, e.key, e.expected, e.next, now));
          const deliveries = entries.flatMap((e, i) => (set[i] ? e.deliveries : []));
          // On this connection, inside this transaction (a savepoint): the keys set and their facts
          // commit together or not at all. Facts need no order with the ingest batches in line.
          if (deliveries.length) applyIngestCommit(this.db, this.ingest, prepareCommit({ states: [], deliveries, quarantine: [], accepted: 0 }), now);
          return set;
        })(),
      );
    } catch (err) {
      return Promise.reject(coerceError(err));
    }
  }

  /** One compare-and-set: one statement each, so SQLite's write lock makes it atomic between processes. */
  private swap(namespace: string, key: string, expected: string | undefined, next: string | undefined, now: number): boolean {
    const s = this.stmts;
    let changes: number;
    if (expected === undefined) changes = next === undefined ? Number(s.kvGet.get(namespace, key) === undefined) : s.kvInsertNew.run(namespace, key, next, now).changes;
    else changes = next === undefined ? s.kvDeleteIf.run(namespace, key, expected).changes : s.kvReplaceIf.run(next, now, namespace, key, expected).changes;
    return changes > 0;
  }
}

/**
 * A stored message (quarantine, ingest log) as it was received: text stays text, bytes stay bytes.
 * (The ingest log stores text as TEXT, which reads back as a string; quarantine stores a BLOB.)
 */
function rawMessageOf(r: { source: string; channel: string; payload: Buffer | string; is_text: number; received_at: number }): RawMessage {
  const p = r.payload;
  return { source: r.source, channel: r.channel, payload: typeof p === 'string' ? p : r.is_text ? p.toString('utf8') : new Uint8Array(p), receivedAt: r.received_at };
}
