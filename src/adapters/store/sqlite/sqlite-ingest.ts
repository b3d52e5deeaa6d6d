/**
 * The ingest commit, shared by the store's own connection and its commit worker: one transaction
 * that writes rule state, enqueues deliveries (state updates coalesce, facts are kept once) and
 * quarantines bad input, so a batch is all stored or not at all (invariant 1).
 * @module
 */
import type Database from 'better-sqlite3';
import { idempotencyKeyFor } from '../../../core/delivery/idempotency.js';
import type { DeliveryIntent } from '../../../core/model/delivery.js';
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

/** Writes one delivery intent to the outbox (within the caller's transaction). */
export function enqueueDelivery(stmts: IngestStatements, d: DeliveryIntent, now: number): void {
  const payload = JSON.stringify(d.payload);
  if (d.kind === 'fact') stmts.enqueueFact.run(d.destination, d.operation, d.businessKey, d.erpAssetId, d.eventTime, payload, idempotencyKeyFor(d), now, now, now);
  // State updates are often replaced before they are sent: their idempotency key is derived when
  // claimed (deterministically, from the same fields), so coalesced-away values cost no hashing.
  else stmts.enqueueState.run(d.destination, d.operation, d.businessKey, d.erpAssetId, d.eventTime, payload, now, now, now);
}

/** Applies one ingest batch in one immediate transaction. */
export function applyIngestCommit(db: Database.Database, stmts: IngestStatements, commit: IngestCommit, now: number): void {
  db.transaction(() => {
    for (const s of commit.states) {
      if (!s.changed) stmts.deleteAssetState.run(s.erpAssetId);
      for (const rule of s.changed ?? Object.keys(s.doc)) {
        const sub = s.doc[rule];
        if (sub === undefined) stmts.deleteRuleState.run(s.erpAssetId, rule);
        else stmts.upsertRuleState.run(s.erpAssetId, rule, JSON.stringify(sub), now);
      }
    }
    for (const d of commit.deliveries) enqueueDelivery(stmts, d, now);
    for (const q of commit.quarantine) {
      const isText = typeof q.payload === 'string';
      stmts.quarantine.run(q.source, q.channel, Buffer.from(q.payload), isText ? 1 : 0, q.receivedAt, q.code, q.reason);
    }
    if (commit.accepted) stmts.bumpCounter.run('events_accepted', commit.accepted);
    if (commit.quarantine.length) stmts.bumpCounter.run('quarantined', commit.quarantine.length);
  }).immediate();
}

/** Pragmas every connection to the store file uses. */
export function configureConnection(db: Database.Database, synchronous: 'full' | 'normal' | undefined): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
}
