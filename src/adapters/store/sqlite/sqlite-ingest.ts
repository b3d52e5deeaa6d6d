/**
 * The ingest commit, shared by the store's own connection and its commit worker: one transaction
 * that writes rule state, enqueues deliveries (state updates coalesce, facts are kept once) and
 * quarantines bad input, so a batch is all stored or not at all (invariant 1).
 * @module
 */
import type Database from 'better-sqlite3';
import { idempotencyKeyFor } from '../../../core/delivery/idempotency.js';
import { stringifyRuleState } from '../../../core/rules/state-json.js';
import type { IngestCommit } from '../../../ports/store.js';

export type IngestStatements = ReturnType<typeof prepareIngestStatements>;

export function prepareIngestStatements(db: Database.Database) {
  return {
    upsertRuleState: db.prepare(
      `INSERT INTO asset_rule_state (erp_asset_id, rule, doc, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(erp_asset_id, rule) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`,
    ),
    deleteRuleState: db.prepare('DELETE FROM asset_rule_state WHERE erp_asset_id = ? AND rule = ?'),
    deleteAssetState: db.prepare('DELETE FROM asset_rule_state WHERE erp_asset_id = ?'),
    // Coalesce: a newer value replaces the pending one; an older one never does (invariant 8).
    enqueueState: db.prepare(
      `INSERT INTO outbox (destination, operation, business_key, kind, erp_asset_id, event_time, payload, idempotency_key, status, attempts, created_at, updated_at, next_attempt_at)
       VALUES (?, ?, ?, 'state', ?, ?, ?, '', 'pending', 0, ?, ?, ?)
       ON CONFLICT (destination, operation, business_key) WHERE kind = 'state' AND status = 'pending'
       DO UPDATE SET event_time = excluded.event_time, payload = excluded.payload, idempotency_key = excluded.idempotency_key,
         erp_asset_id = excluded.erp_asset_id, updated_at = excluded.updated_at
       WHERE excluded.event_time > outbox.event_time`,
    ),
    // Facts: one row per key, ever.
    enqueueFact: db.prepare(
      `INSERT INTO outbox (destination, operation, business_key, kind, erp_asset_id, event_time, payload, idempotency_key, status, attempts, created_at, updated_at, next_attempt_at)
       VALUES (?, ?, ?, 'fact', ?, ?, ?, ?, 'pending', 0, ?, ?, ?)
       ON CONFLICT (destination, operation, business_key) WHERE kind = 'fact' DO NOTHING`,
    ),
    quarantine: db.prepare(`INSERT INTO quarantine (source, channel, payload, is_text, received_at, code, reason) VALUES (?, ?, ?, ?, ?, ?, ?)`),
    bumpCounter: db.prepare(`INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value`),
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
  /** Groups of DELIVERY_FIELDS: kind, destination, operation, businessKey, erpAssetId, eventTime, payload JSON, idempotency key. */
  readonly deliveries: readonly (string | number)[];
  readonly quarantine: IngestCommit['quarantine'];
  readonly accepted: number;
}
const DELIVERY_FIELDS = 8;

export function prepareCommit(commit: IngestCommit): PreparedCommit {
  const replaceState: string[] = [];
  const stateRows: (string | null)[] = [];
  for (const s of commit.states) {
    if (!s.changed) replaceState.push(s.erpAssetId);
    for (const rule of s.changed ?? Object.keys(s.doc)) {
      const sub = s.doc[rule];
      stateRows.push(s.erpAssetId, rule, sub === undefined ? null : (stringifyRuleState(sub) ?? null));
    }
  }
  const deliveries: (string | number)[] = [];
  for (const d of commit.deliveries) {
    // State updates are often replaced before they are sent: their idempotency key is derived
    // when claimed (deterministically, from the same fields), so coalesced-away values cost no hashing.
    deliveries.push(d.kind, d.destination, d.operation, d.businessKey, d.erpAssetId, d.eventTime, JSON.stringify(d.payload), d.kind === 'fact' ? idempotencyKeyFor(d) : '');
  }
  return { replaceState, stateRows, deliveries, quarantine: commit.quarantine, accepted: commit.accepted };
}

/** Applies one prepared ingest batch in one immediate transaction. */
export function applyIngestCommit(db: Database.Database, stmts: IngestStatements, c: PreparedCommit, now: number): void {
  db.transaction(() => {
    for (const id of c.replaceState) stmts.deleteAssetState.run(id);
    const rows = c.stateRows;
    for (let i = 0; i + 2 < rows.length; i += 3) {
      const doc = rows[i + 2];
      if (doc === null || doc === undefined) stmts.deleteRuleState.run(rows[i], rows[i + 1]);
      else stmts.upsertRuleState.run(rows[i], rows[i + 1], doc, now);
    }
    const d = c.deliveries;
    for (let i = 0; i + DELIVERY_FIELDS - 1 < d.length; i += DELIVERY_FIELDS) {
      if (d[i] === 'fact') stmts.enqueueFact.run(d[i + 1], d[i + 2], d[i + 3], d[i + 4], d[i + 5], d[i + 6], d[i + 7], now, now, now);
      else stmts.enqueueState.run(d[i + 1], d[i + 2], d[i + 3], d[i + 4], d[i + 5], d[i + 6], now, now, now);
    }
    for (const q of c.quarantine) {
      const isText = typeof q.payload === 'string';
      stmts.quarantine.run(q.source, q.channel, Buffer.from(q.payload), isText ? 1 : 0, q.receivedAt, q.code, q.reason);
    }
    if (c.accepted) stmts.bumpCounter.run('events_accepted', c.accepted);
    if (c.quarantine.length) stmts.bumpCounter.run('quarantined', c.quarantine.length);
  }).immediate();
}

/** Page cache per connection, MiB (the store has two: its own and the commit worker's). */
export const DEFAULT_CACHE_MIB = 8;

/** Pragmas every connection to the store file uses. */
export function configureConnection(db: Database.Database, synchronous: 'full' | 'normal' | undefined, cacheMiB = DEFAULT_CACHE_MIB): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Negative: KiB. better-sqlite3's build default is 16 MiB per connection.
  db.pragma(`cache_size = ${-Math.round(cacheMiB * 1024)}`);
}
