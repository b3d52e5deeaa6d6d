/**
 * The ingest commit, shared by the store's own connection and its commit worker: one transaction
 * that writes rule state (or appends to the ingest log), enqueues deliveries (state updates
 * coalesce, facts are kept once) and quarantines bad input, so a batch is all stored or not at all
 * (invariant 1).
 * @module
 */
import { setImmediate } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import { idempotencyKeyFor } from '../../../core/delivery/idempotency.js';
import { payloadSha256, versionSha256 } from '../../../core/model/payload-hash.js';
import { StateJson, type IngestCommit, type WriteGuard } from '../../../ports/store.js';
import { encodeLogBatch } from './log-frame.js';

export type { WriteGuard };
export type IngestStatements = ReturnType<typeof prepareIngestStatements>;

/** The code of the error a write refused by its {@link WriteGuard} fails with. */
export const WRITE_GUARD_CODE = 'ASSETBRIDGE_LEASE_LOST';

/** Whether the row's value `raw` still names what `guard` asks for. */
export function guardHolds(raw: unknown, guard: WriteGuard): boolean {
  if (typeof raw !== 'string') return false;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return false;
  }
  if (typeof v !== 'object' || v === null) return false;
  for (const [k, want] of Object.entries(guard.fields)) if ((v as Record<string, unknown>)[k] !== want) return false;
  return true;
}

/** The error a write refused by `guard` fails with (its code says so across the commit worker's thread). */
export function guardRefusal(guard: WriteGuard): Error & { code: string } {
  return Object.assign(new Error(guard.reason), { code: WRITE_GUARD_CODE });
}

/** Rows per multi-row upsert: one statement step for many rows costs less than one step each. */
const CHUNK = 64;

const ruleStateUpsert = (rows: number): string =>
  `INSERT INTO asset_rule_state (erp_asset_id, rule, doc, updated_at) VALUES ${Array(rows).fill('(?, ?, ?, ?)').join(', ')}
   ON CONFLICT(erp_asset_id, rule) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`;

// Coalesce: a newer value replaces the pending one; an older one never does (invariant 8). At one
// event time the later value wins, as coalesceStates keeps it in a batch, so how values are split
// into batches does not change what is sent. Rows of one statement are applied in order, as
// separate statements would be. The row keeps when its key went pending (created_at) and its
// attempts; enqueued_at is the new value's, for max age.
// A resend waiting for its settle time (not failed yet) becomes the new value, due at once: its
// delivery is checked against the settle time as the resend's would have been.
const stateEnqueue = (rows: number): string =>
  `INSERT INTO outbox (destination, operation, business_key, kind, erp_asset_id, event_time, payload, idempotency_key, status, attempts, created_at, updated_at, next_attempt_at, enqueued_at)
   VALUES ${Array(rows).fill(`(?, ?, ?, 'state', ?, ?, ?, '', 'pending', 0, ?, ?, ?, ?)`).join(', ')}
   ON CONFLICT (destination, operation, business_key) WHERE kind = 'state' AND status = 'pending'
   DO UPDATE SET event_time = excluded.event_time, payload = excluded.payload, idempotency_key = excluded.idempotency_key,
     erp_asset_id = excluded.erp_asset_id, updated_at = excluded.updated_at, enqueued_at = excluded.enqueued_at,
     next_attempt_at = CASE WHEN outbox.resend = 1 AND outbox.attempts = 0 THEN excluded.next_attempt_at ELSE outbox.next_attempt_at END, resend = 0
   WHERE excluded.event_time >= outbox.event_time`;

export function prepareIngestStatements(db: Database.Database) {
  return {
    // One row per batch (log-frame.ts); `ingest_log` holds rows written before migration 4, one per message.
    appendLog: db.prepare('INSERT INTO ingest_log_batch (now, messages, data) VALUES (?, ?, ?)'),
    clearLog: db.prepare('DELETE FROM ingest_log_batch'),
    clearLegacyLog: db.prepare('DELETE FROM ingest_log'),
    // Spread checkpoints (see PreparedCommit.spread).
    lastLogSeq: db.prepare('SELECT coalesce(max(seq), 0) FROM ingest_log_batch').pluck(),
    setLogPosition: db.prepare('INSERT INTO rule_state_log_position (erp_asset_id, seq) VALUES (?, ?) ON CONFLICT(erp_asset_id) DO UPDATE SET seq = excluded.seq'),
    clearLogPositions: db.prepare('DELETE FROM rule_state_log_position'),
    startRound: db.prepare('INSERT INTO ingest_checkpoint_round (id, through) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET through = excluded.through'),
    roundThrough: db.prepare('SELECT through FROM ingest_checkpoint_round WHERE id = 1').pluck(),
    clearRound: db.prepare('DELETE FROM ingest_checkpoint_round'),
    clearLogThrough: db.prepare('DELETE FROM ingest_log_batch WHERE seq <= ?'),
    clearLogPositionsThrough: db.prepare('DELETE FROM rule_state_log_position WHERE seq <= ?'),
    upsertRuleState: db.prepare(ruleStateUpsert(1)),
    upsertRuleStates: db.prepare(ruleStateUpsert(CHUNK)),
    deleteRuleState: db.prepare('DELETE FROM asset_rule_state WHERE erp_asset_id = ? AND rule = ?'),
    deleteAssetState: db.prepare('DELETE FROM asset_rule_state WHERE erp_asset_id = ?'),
    enqueueState: db.prepare(stateEnqueue(1)),
    enqueueStates: db.prepare(stateEnqueue(CHUNK)),
    // Facts: one row per key, ever; a key whose row retention deleted (factPruned) is never queued again.
    enqueueFact: db.prepare(
      `INSERT INTO outbox (destination, operation, business_key, kind, erp_asset_id, event_time, payload, idempotency_key, sequence, status, attempts, created_at, updated_at, next_attempt_at, enqueued_at)
       VALUES (?, ?, ?, 'fact', ?, ?, ?, ?, NULLIF(?, ''), 'pending', 0, ?, ?, ?, ?)
       ON CONFLICT (destination, operation, business_key) WHERE kind = 'fact' DO NOTHING`,
    ),
    factPruned: db.prepare('SELECT 1 FROM outbox_pruned_fact WHERE destination = ? AND operation = ? AND business_key = ?').pluck(),
    anyFactPruned: db.prepare('SELECT EXISTS (SELECT 1 FROM outbox_pruned_fact)').pluck(),
    /**
     * Whether a fact's key has been pruned, as this connection last saw it. Once so, so for good (no
     * key is ever removed); until then it is looked at again in each commit's transaction, as
     * another connection may prune meanwhile (`store prune` in another process, the owner's thread
     * beside the commit worker).
     */
    factPrunedSeen: { value: false },
    quarantine: db.prepare(`INSERT INTO quarantine (source, channel, payload, is_text, received_at, code, reason, replay_of, payload_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    // A copy sent again (retained, or redelivered) of a message set aside before: the latest entry
    // of that message (its version's hash, or the whole payload's; an entry from before migration
    // 16, by the payload it holds) counts it while still held (open, or discarded by an operator).
    // When that entry was replayed since, the copy is set aside afresh, not counted on an older
    // entry of the same bytes: that is another message, whose fate was decided apart. The entry
    // takes a copy's version (its hash): one kept by its bytes before its version was known is told by it since.
    repeatResent: db.prepare(`UPDATE quarantine SET repeats = repeats + 1, payload_sha256 = COALESCE(?, payload_sha256) WHERE status IN ('open', 'discarded') AND id = (${LATEST_ENTRY_OF_COPY})`),
    closeReplayed: db.prepare(`UPDATE quarantine SET status = 'replayed', replays = replays + 1 WHERE id = ? AND status = 'open'`),
    bumpCounter: db.prepare(`INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value`),
    guardRow: db.prepare('SELECT value FROM kv WHERE namespace = ? AND key = ?').pluck(),
  };
}

/**
 * An ingest batch flattened to strings and numbers: JSON documents already serialised, so handing
 * it to the commit worker copies flat arrays rather than cloning object graphs, and the worker
 * (the busier thread when rule state is large) does not serialise anything.
 */
export interface PreparedCommit {
  /** Assets whose whole stored state is replaced (deleted first). */
  readonly replaceState: readonly string[];
  /** Triples: erpAssetId, rule, JSON document (null: remove that rule's state). */
  readonly stateRows: readonly (string | null)[];
  /** Groups of DELIVERY_FIELDS: kind, destination, operation, businessKey, erpAssetId, eventTime, payload JSON, idempotency key, sequence ('' for none). */
  readonly deliveries: readonly (string | number)[];
  readonly quarantine: IngestCommit['quarantine'];
  readonly accepted: number;
  readonly polledUpdates: number;
  /**
   * The batch's logged messages framed in one buffer (log-frame.ts), so handing a batch to the
   * commit worker moves one buffer instead of cloning fields per message; with their processing
   * time and count. Its buffer is given back (`recycleLogBuffer`) once the batch is applied.
   */
  readonly log: { readonly now: number; readonly messages: number; readonly data: Uint8Array } | undefined;
  readonly checkpoint: boolean;
  /**
   * Part of a checkpoint spread over batches: the assets whose states it stores (all changed
   * sub-states, as of this batch) are marked as including the ingest log up to this batch's row.
   * `start`: the round's first part (the log up to here is what the round covers); `end`: its last
   * (that part of the log, and the marks within it, are emptied).
   */
  readonly spread: { readonly assets: readonly string[]; readonly start: boolean; readonly end: boolean } | undefined;
  readonly replayed: readonly number[];
}
const DELIVERY_FIELDS = 9;

export function prepareCommit(commit: IngestCommit): PreparedCommit {
  const replaceState: string[] = [];
  const stateRows: (string | null)[] = [];
  addStates(commit.states, 0, commit.states.length, replaceState, stateRows);
  return finishCommit(commit, replaceState, stateRows);
}

/** A checkpoint's states serialised per turn of the event loop, at most (assets). */
export const STATES_PER_TURN = 500;

/**
 * {@link prepareCommit} for a commit with many states (a checkpoint of a large fleet serialises
 * one whole state document per asset): `STATES_PER_TURN` assets at a time, the event loop taking
 * a turn between them as the store's fleet-wide reads do, so a checkpoint of 50,000 assets does
 * not hold it for a second (acks, HTTP answers and timers go on between chunks). The result is
 * the same. The sub-states a checkpoint stores are values the rules do not change once saved
 * (`OwnedRule.save`), so batches run in between cannot change what this commit stores.
 */
export async function prepareCommitInTurns(commit: IngestCommit): Promise<PreparedCommit> {
  const replaceState: string[] = [];
  const stateRows: (string | null)[] = [];
  for (let from = 0; from < commit.states.length; from += STATES_PER_TURN) {
    if (from > 0) await setImmediate();
    addStates(commit.states, from, Math.min(commit.states.length, from + STATES_PER_TURN), replaceState, stateRows);
  }
  return finishCommit(commit, replaceState, stateRows);
}

function addStates(states: IngestCommit['states'], from: number, to: number, replaceState: string[], stateRows: (string | null)[]): void {
  for (let i = from; i < to; i++) {
    const s = states[i] as IngestCommit['states'][number];
    if (!s.changed) replaceState.push(s.erpAssetId);
    for (const rule of s.changed ?? Object.keys(s.doc)) {
      const sub = s.doc[rule];
      stateRows.push(s.erpAssetId, rule, sub === undefined ? null : sub instanceof StateJson ? sub.text : (JSON.stringify(sub) ?? null));
    }
  }
}

function finishCommit(commit: IngestCommit, replaceState: string[], stateRows: (string | null)[]): PreparedCommit {
  const deliveries: (string | number)[] = [];
  for (const d of commit.deliveries) {
    // State updates are often replaced before they are sent: their idempotency key is derived
    // when claimed (deterministically, from the same fields), so coalesced-away values cost no hashing.
    deliveries.push(d.kind, d.destination, d.operation, d.businessKey, d.erpAssetId, d.eventTime, JSON.stringify(d.payload), d.kind === 'fact' ? idempotencyKeyFor(d) : '', d.sequence ?? '');
  }
  const log = commit.log && commit.log.messages.length > 0 ? { now: commit.log.now, messages: commit.log.messages.length, data: encodeLogBatch(commit.log.messages) } : undefined;
  const spread = commit.spread ? { assets: commit.states.map((s) => s.erpAssetId), start: commit.spread.start, end: commit.spread.end } : undefined;
  return { replaceState, stateRows, deliveries, quarantine: commit.quarantine, accepted: commit.accepted, polledUpdates: commit.polledUpdates ?? 0, log, checkpoint: commit.checkpoint === true, spread, replayed: commit.replayed ?? [] };
}

/**
 * The latest quarantine entry of a message (bound: channel, source, is_text, its hash (its
 * version's, else its whole payload's), its whole payload's hash, its payload): what a copy of it
 * sent again is counted on while that entry is held (open or discarded). The commit
 * ({@link applyIngestCommit}) and the store's `quarantineHolds` ask the same.
 */
export const LATEST_ENTRY_OF_COPY = latestEntryOf(['?', '?', '?', '?', '?', '?']);

/**
 * {@link LATEST_ENTRY_OF_COPY} with each bound value read from a column of an outer row instead
 * (`prefix`: its table's name then a dot, columns named as {@link COPY_COLUMNS}): the same entry,
 * for many messages in one statement.
 */
export function latestEntryOfRow(prefix: string): string {
  return latestEntryOf(COPY_COLUMNS.map((c) => `${prefix}${c}`) as [string, string, string, string, string, string]);
}

/** The names of {@link copyArgs}'s values, in its order, as {@link latestEntryOfRow} reads them. */
export const COPY_COLUMNS = ['channel', 'source', 'is_text', 'hash', 'whole', 'payload'] as const;

function latestEntryOf([channel, source, isText, hash, whole, payload]: readonly [string, string, string, string, string, string]): string {
  return `SELECT id FROM quarantine WHERE channel = ${channel} AND source = ${source} AND is_text = ${isText} AND (payload_sha256 IN (${hash}, ${whole}) OR (payload_sha256 IS NULL AND payload = ${payload})) ORDER BY id DESC LIMIT 1`;
}

/** The arguments {@link LATEST_ENTRY_OF_COPY} binds for a message (`version`: a polled record's, by which its copies are told). */
export function copyArgs(q: { readonly source: string; readonly channel: string; readonly payload: Uint8Array | string; readonly payloadSha256?: string; readonly version?: string }): [string, string, number, string, string, Buffer] {
  const payload = Buffer.from(q.payload);
  const whole = q.payloadSha256 ?? payloadSha256(payload);
  return [q.channel, q.source, typeof q.payload === 'string' ? 1 : 0, q.version !== undefined ? versionSha256(q.version) : whole, whole, payload];
}

/** Counter of the work-order updates ERP polls listed and the pipeline accepted (not among `events_accepted`, the intake's messages). */
export const POLLED_UPDATES_COUNTER = 'work_order_updates_polled';

/** Counter of copies sent again (retained, redelivered) of messages quarantine holds, counted on their entry. */
export const REPEATS_COUNTER = 'quarantine_repeats';

/** Counter name prefix (then the operation) for facts enqueued: work orders opened, counts and usage posted. */
export const FACTS_COUNTER = 'facts_enqueued:';

/** Applies one prepared ingest batch in one immediate transaction; refused (nothing written) when `guard` no longer holds. */
export function applyIngestCommit(db: Database.Database, stmts: IngestStatements, c: PreparedCommit, now: number, guard?: WriteGuard): void {
  db.transaction(() => {
    if (guard && !guardHolds(stmts.guardRow.get(guard.namespace, guard.key), guard)) throw guardRefusal(guard);
    // The checkpoint's states include every change the log held.
    if (c.checkpoint) {
      stmts.clearLog.run();
      stmts.clearLegacyLog.run();
      stmts.clearLogPositions.run();
      stmts.clearRound.run();
    }
    for (const id of c.replaceState) stmts.deleteAssetState.run(id);
    // Rows keep their order: a chunk's rows apply in order, and pending rows are written before a fact.
    const states = new Chunked(stmts.upsertRuleStates, stmts.upsertRuleState, 4);
    const rows = c.stateRows;
    for (let i = 0; i + 2 < rows.length; i += 3) {
      const doc = rows[i + 2];
      if (doc === null || doc === undefined) stmts.deleteRuleState.run(rows[i], rows[i + 1]);
      else states.add(rows[i] as string, rows[i + 1] as string, doc, now);
    }
    states.finish();
    const updates = new Chunked(stmts.enqueueStates, stmts.enqueueState, 10);
    const d = c.deliveries;
    let newFacts: Map<string, number> | undefined;
    // Whether the batch's facts need their keys looked up among the pruned ones: only once any
    // was pruned (retention of delivered facts is off by default). Asked inside this transaction,
    // which no prune can commit in the middle of.
    let lookUpPruned: boolean | undefined;
    for (let i = 0; i + DELIVERY_FIELDS - 1 < d.length; i += DELIVERY_FIELDS) {
      if (d[i] === 'fact') {
        updates.finish(); // keep the outbox in delivery order
        lookUpPruned ??= stmts.factPrunedSeen.value || (stmts.factPrunedSeen.value = stmts.anyFactPruned.get() === 1);
        // A fact whose key is already in the outbox, or was (retention deleted its row), adds
        // nothing; new ones are counted per operation.
        if ((!lookUpPruned || stmts.factPruned.get(d[i + 1], d[i + 2], d[i + 3]) === undefined) && stmts.enqueueFact.run(d[i + 1], d[i + 2], d[i + 3], d[i + 4], d[i + 5], d[i + 6], d[i + 7], d[i + 8], now, now, now, now).changes > 0) {
          const op = d[i + 2] as string;
          (newFacts ??= new Map()).set(op, (newFacts.get(op) ?? 0) + 1);
        }
      } else updates.add(d[i + 1] as string, d[i + 2] as string, d[i + 3] as string, d[i + 4] as string, d[i + 5] as number, d[i + 6] as string, now, now, now, now);
    }
    updates.finish();
    let quarantined = 0;
    let repeats = 0;
    for (const q of c.quarantine) {
      // A record's version (a polled work order's): its copies are told by it, whatever their bytes.
      const args = copyArgs(q);
      const [, , isText, hash, , payload] = args;
      // The broker resending a message already held (a retained copy, a redelivery), or a poll
      // listing a record again: counted on its entry, not kept again.
      if (q.resent && stmts.repeatResent.run(q.version !== undefined ? hash : null, ...args).changes > 0) repeats++;
      else {
        stmts.quarantine.run(q.source, q.channel, payload, isText, q.receivedAt, q.code, q.reason, q.replayOf ?? null, hash);
        quarantined++;
      }
    }
    for (const id of c.replayed) stmts.closeReplayed.run(id);
    if (c.log) stmts.appendLog.run(c.log.now, c.log.messages, blob(c.log.data));
    if (c.spread) applySpread(stmts, c.spread);
    if (newFacts) for (const [op, n] of newFacts) stmts.bumpCounter.run(`${FACTS_COUNTER}${op}`, n);
    if (c.accepted) stmts.bumpCounter.run('events_accepted', c.accepted);
    if (c.polledUpdates) stmts.bumpCounter.run(POLLED_UPDATES_COUNTER, c.polledUpdates);
    if (quarantined) stmts.bumpCounter.run('quarantined', quarantined);
    if (repeats) stmts.bumpCounter.run(REPEATS_COUNTER, repeats);
  }).immediate();
}

/**
 * A spread checkpoint's part, after the batch's own log row: its assets' stored state includes
 * the log up to that row (a replay skips their messages there). The round's last part empties the
 * log up to the row its first part marked: every asset changed by then has had its state stored
 * since (rows before any log row are legacy ones, older still).
 */
function applySpread(stmts: IngestStatements, spread: NonNullable<PreparedCommit['spread']>): void {
  const at = stmts.lastLogSeq.get() as number;
  for (const id of spread.assets) stmts.setLogPosition.run(id, at);
  if (spread.start) stmts.startRound.run(at);
  if (!spread.end) return;
  const through = stmts.roundThrough.get() as number | undefined;
  // No round on record (not reachable: its start committed before its end): nothing is emptied.
  if (through === undefined) return;
  stmts.clearLogThrough.run(through);
  stmts.clearLegacyLog.run();
  stmts.clearLogPositionsThrough.run(through);
  stmts.clearRound.run();
}

/** A Buffer view of the bytes (what the driver binds as a BLOB); no copy. */
function blob(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Page cache per connection, MiB (the store has two: its own and the commit worker's). */
export const DEFAULT_CACHE_MIB = 8;

/** Collects rows for a CHUNK-row statement; the rest go one by one. */
class Chunked {
  private params: (string | number | Buffer)[] = [];
  constructor(
    private readonly many: Database.Statement,
    private readonly one: Database.Statement,
    private readonly width: number,
  ) {}
  add(...row: (string | number | Buffer)[]): void {
    for (const v of row) this.params.push(v);
    if (this.params.length === CHUNK * this.width) {
      this.many.run(this.params);
      this.params = [];
    }
  }
  finish(): void {
    for (let i = 0; i < this.params.length; i += this.width) this.one.run(this.params.slice(i, i + this.width));
    this.params = [];
  }
}

/**
 * Pages of write-ahead log after which the ingest commit worker folds the log back into the file
 * (SQLite's default is 1,000, 4 MiB). The ingest writes most of the store's pages (deliveries,
 * the ingest log, checkpoints: tens of MiB per 100,000 events with rules), and each fold syncs
 * the file to disk, also with `synchronous: normal`: folding ten times less often took the commit
 * worker's commits from about 0.3 s to 0.1 s per 100,000 events on the rules benchmark (local
 * disk). The log may reach 40 MiB on disk between folds.
 */
export const INGEST_WAL_AUTOCHECKPOINT_PAGES = 10_000;
/**
 * The store's own connection (the main thread: claims, acks, commands) folds the log only past
 * twice that, so the folds run on the commit worker's thread while ingest goes on, not in a
 * turn of the event loop; with no ingest, its own writes fold the log at this size.
 */
export const MAIN_WAL_AUTOCHECKPOINT_PAGES = 2 * INGEST_WAL_AUTOCHECKPOINT_PAGES;

/**
 * Folds the write-ahead log into the file on `db`'s connection, PASSIVE (no writer waits for it):
 * the log's frames and how many are in the file now; undefined when it could not (busy, failing:
 * the connections' own folds, `wal_autocheckpoint`, still run). See `Store.foldLog`.
 */
export function passiveFold(db: Database.Database): { readonly frames: number; readonly folded: number } | undefined {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
    return r && { frames: r.log, folded: r.checkpointed };
  } catch {
    return undefined;
  }
}

/** Pragmas every connection to the store file uses (`walAutocheckpointPages`: see {@link INGEST_WAL_AUTOCHECKPOINT_PAGES}). */
export function configureConnection(db: Database.Database, synchronous: 'full' | 'normal' | undefined, cacheMiB = DEFAULT_CACHE_MIB, walAutocheckpointPages = MAIN_WAL_AUTOCHECKPOINT_PAGES): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`wal_autocheckpoint = ${walAutocheckpointPages}`);
  db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Negative: KiB. better-sqlite3's build default is 16 MiB per connection.
  db.pragma(`cache_size = ${-Math.round(cacheMiB * 1024)}`);
}
