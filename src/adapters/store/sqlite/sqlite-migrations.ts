/**
 * Numbered migrations for the embedded store. Append only: a released migration is never edited.
 * Each runs in its own transaction and is recorded in `schema_migrations`.
 * @module
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'core',
    sql: `
CREATE TABLE assets (
  erp_asset_id TEXT PRIMARY KEY,
  erp_module   TEXT NOT NULL,
  destination  TEXT,
  attributes   TEXT NOT NULL DEFAULT '{}',
  updated_at   INTEGER NOT NULL
);
CREATE TABLE asset_identifiers (
  id_type         TEXT NOT NULL,
  identifier_norm TEXT NOT NULL,
  value           TEXT NOT NULL,
  erp_asset_id    TEXT NOT NULL REFERENCES assets(erp_asset_id) ON DELETE CASCADE,
  PRIMARY KEY (id_type, identifier_norm)
);
CREATE INDEX asset_identifiers_norm ON asset_identifiers(identifier_norm);

CREATE TABLE asset_state (
  erp_asset_id TEXT PRIMARY KEY,
  doc          TEXT NOT NULL,
  updated_at   INTEGER NOT NULL
);

CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  destination     TEXT NOT NULL,
  operation       TEXT NOT NULL,
  business_key    TEXT NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('state', 'fact')),
  erp_asset_id    TEXT NOT NULL,
  event_time      INTEGER NOT NULL,
  payload         TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  status          TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  response        TEXT
);
-- State updates coalesce: at most one pending row per key, replaced by newer event times.
CREATE UNIQUE INDEX outbox_state_pending ON outbox(destination, operation, business_key)
  WHERE kind = 'state' AND status = 'pending';
-- Facts are exactly-once: one row per key, ever (replays and duplicate events add nothing).
CREATE UNIQUE INDEX outbox_fact_key ON outbox(destination, operation, business_key) WHERE kind = 'fact';
CREATE INDEX outbox_due ON outbox(destination, status, next_attempt_at, id);
CREATE INDEX outbox_status ON outbox(status, destination);

CREATE TABLE audit (
  id              INTEGER PRIMARY KEY,
  at              INTEGER NOT NULL,
  delivery_id     INTEGER NOT NULL,
  destination     TEXT NOT NULL,
  operation       TEXT NOT NULL,
  erp_asset_id    TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  attempt         INTEGER NOT NULL,
  method          TEXT,
  url             TEXT,
  request_body    TEXT,
  status          INTEGER,
  response_body   TEXT,
  latency_ms      INTEGER NOT NULL,
  outcome         TEXT NOT NULL,
  error           TEXT
);
CREATE INDEX audit_asset ON audit(erp_asset_id, at);
CREATE INDEX audit_delivery ON audit(delivery_id);
CREATE INDEX audit_at ON audit(at);

CREATE TABLE quarantine (
  id          INTEGER PRIMARY KEY,
  source      TEXT NOT NULL,
  channel     TEXT NOT NULL,
  payload     BLOB NOT NULL,
  is_text     INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  code        TEXT NOT NULL,
  reason      TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'open',
  replays     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX quarantine_status ON quarantine(status, code);

CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);

CREATE TABLE kv (
  namespace  TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, key)
);
`,
  },
  {
    version: 2,
    name: 'rule-state-rows',
    // One row per (asset, rule), so a batch writes only the rule states that changed.
    sql: `
CREATE TABLE asset_rule_state (
  erp_asset_id TEXT NOT NULL,
  rule         TEXT NOT NULL,
  doc          TEXT NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (erp_asset_id, rule)
) WITHOUT ROWID;
INSERT INTO asset_rule_state (erp_asset_id, rule, doc, updated_at)
  SELECT s.erp_asset_id, j.key, j.value, s.updated_at FROM asset_state s, json_each(s.doc) j WHERE j.type != 'null';
DROP TABLE asset_state;
`,
  },
  {
    version: 3,
    name: 'ingest-log',
    // Messages whose rule-state changes are held in memory until the next checkpoint (replayed
    // over the stored state after a crash); emptied by every checkpoint, so it stays short.
    sql: `
CREATE TABLE ingest_log (
  seq         INTEGER PRIMARY KEY,
  now         INTEGER NOT NULL,
  source      TEXT NOT NULL,
  channel     TEXT NOT NULL,
  payload     BLOB NOT NULL,
  is_text     INTEGER NOT NULL,
  received_at INTEGER NOT NULL
);
`,
  },
  {
    version: 4,
    name: 'ingest-log-batches',
    // The ingest log as one row per batch (log-frame.ts). Rows left in `ingest_log` by an older
    // version are replayed first and cleared by the next checkpoint.
    sql: `
CREATE TABLE ingest_log_batch (
  seq      INTEGER PRIMARY KEY,
  now      INTEGER NOT NULL,
  messages INTEGER NOT NULL,
  data     BLOB NOT NULL
);
`,
  },
  {
    version: 5,
    name: 'outbox-state-key',
    // State deliveries by key and event time: whether a newer value for the key exists (a retry or
    // a replayed dead letter is superseded by it), and which delivered values retention may delete
    // (all but the newest per key, which keeps stopping older ones).
    sql: `
CREATE INDEX outbox_state_key ON outbox(destination, operation, business_key, event_time) WHERE kind = 'state';
`,
  },
  {
    version: 6,
    name: 'outbox-fact-sequence',
    // Facts that must reach the ERP in order (DeliveryIntent.sequence): a claim skips one while an
    // earlier fact of its sequence is still pending or in flight.
    sql: `
ALTER TABLE outbox ADD COLUMN sequence TEXT;
CREATE INDEX outbox_sequence ON outbox(destination, operation, sequence, id) WHERE sequence IS NOT NULL AND status IN ('pending', 'inflight');
`,
  },
  {
    version: 7,
    name: 'outbox-enqueued-at',
    // When the value now in a row was queued: a newer state value replacing a pending one sets it,
    // while created_at keeps when the key first went pending. retry.maxAgeMs counts from it.
    // Rows from before count from created_at, as they did.
    sql: `
ALTER TABLE outbox ADD COLUMN enqueued_at INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET enqueued_at = created_at;
`,
  },
  {
    version: 8,
    name: 'outbox-unknown-outcome',
    // State keys with a request of unknown outcome that may still land at the ERP until settle_at,
    // carrying a value as old as event_time at the oldest; a newer value delivered from a claim
    // before then is sent once more as a `resend` row.
    sql: `
CREATE TABLE outbox_unsettled (
  destination  TEXT NOT NULL,
  operation    TEXT NOT NULL,
  business_key TEXT NOT NULL,
  settle_at    INTEGER NOT NULL,
  event_time   INTEGER NOT NULL,
  PRIMARY KEY (destination, operation, business_key)
) WITHOUT ROWID;
ALTER TABLE outbox ADD COLUMN resend INTEGER NOT NULL DEFAULT 0;
`,
  },
  {
    version: 9,
    name: 'outbox-unsettled-order',
    // The unknown-outcome value's place in the outbox order at one event time (enqueued later:
    // a higher id, or a new value in the same row) and the key its request carried. Keys marked
    // before keep the rule they had (only a later event time is newer).
    sql: `
ALTER TABLE outbox_unsettled ADD COLUMN delivery_id INTEGER;
ALTER TABLE outbox_unsettled ADD COLUMN idempotency_key TEXT;
`,
  },
  {
    version: 10,
    name: 'outbox-counts',
    // Rows per destination and status, kept by triggers in the same transaction as every outbox
    // write: \`status\` and each /metrics scrape read them at once instead of counting the outbox
    // (a full scan that held the main thread ~0.3 s at a million rows). A coalesced state value
    // (an upsert that sets no status) and a fact enqueued twice (DO NOTHING) fire none.
    sql: `
CREATE TABLE outbox_counts (
  destination TEXT NOT NULL,
  status      TEXT NOT NULL,
  n           INTEGER NOT NULL,
  PRIMARY KEY (destination, status)
) WITHOUT ROWID;
INSERT INTO outbox_counts (destination, status, n) SELECT destination, status, COUNT(*) FROM outbox GROUP BY destination, status;
CREATE TRIGGER outbox_counts_insert AFTER INSERT ON outbox BEGIN
  INSERT INTO outbox_counts (destination, status, n) VALUES (NEW.destination, NEW.status, 1)
    ON CONFLICT (destination, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER outbox_counts_update AFTER UPDATE OF status, destination ON outbox
  WHEN OLD.status IS NOT NEW.status OR OLD.destination IS NOT NEW.destination BEGIN
  UPDATE outbox_counts SET n = n - 1 WHERE destination = OLD.destination AND status = OLD.status;
  INSERT INTO outbox_counts (destination, status, n) VALUES (NEW.destination, NEW.status, 1)
    ON CONFLICT (destination, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER outbox_counts_delete AFTER DELETE ON outbox BEGIN
  UPDATE outbox_counts SET n = n - 1 WHERE destination = OLD.destination AND status = OLD.status;
END;
`,
  },
  {
    version: 11,
    name: 'outbox-may-have-landed',
    // Set once a request of the row had an unknown outcome (timed out, connection dropped, in
    // flight at a crash): it may have reached the ERP. What `dlq list` shows, and what keeps
    // `dlq discard` from giving such an inventory count back unasked.
    sql: `ALTER TABLE outbox ADD COLUMN may_have_landed INTEGER NOT NULL DEFAULT 0;`,
  },
  {
    version: 12,
    name: 'spread-checkpoints',
    // A checkpoint spread over several batches stores some assets' rule state with each. Per
    // asset, the ingest log row its stored state includes (a replay skips its messages up to
    // there); and the log row the round in progress covers, emptied up to there when it ends.
    sql: `
CREATE TABLE rule_state_log_position (
  erp_asset_id TEXT PRIMARY KEY,
  seq          INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE ingest_checkpoint_round (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  through INTEGER NOT NULL
);
`,
  },
  {
    version: 13,
    name: 'quarantine-replay-of',
    // A replayed message set aside again opens a new entry: it names the entry it was replayed
    // from, so `quarantine show` can follow a message through its replays.
    sql: `
ALTER TABLE quarantine ADD COLUMN replay_of INTEGER;
CREATE INDEX quarantine_replay_of ON quarantine(replay_of) WHERE replay_of IS NOT NULL;
`,
  },
  {
    version: 14,
    name: 'rule-state-rowid',
    // Rule state as an ordinary (rowid) table with the same key, every row kept: its documents
    // (0.3–1.1 KB) are far over the ~200 bytes up to which SQLite finds WITHOUT ROWID pays on
    // 4 KiB pages; there the larger ones spilled to overflow pages and interior pages held whole
    // rows. A checkpoint upserting 3,000 rule states took about half the time, the file a third
    // less room, and reading states was no slower (BENCHMARKS.md, the thirty-third session).
    sql: `
CREATE TABLE asset_rule_state_rowid (
  erp_asset_id TEXT NOT NULL,
  rule         TEXT NOT NULL,
  doc          TEXT NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (erp_asset_id, rule)
);
INSERT INTO asset_rule_state_rowid (erp_asset_id, rule, doc, updated_at)
  SELECT erp_asset_id, rule, doc, updated_at FROM asset_rule_state ORDER BY erp_asset_id, rule;
DROP TABLE asset_rule_state;
ALTER TABLE asset_rule_state_rowid RENAME TO asset_rule_state;
`,
  },
  {
    version: 15,
    name: 'quarantine-repeats',
    // A retained MQTT message set aside comes again at every new subscription (each MQTT 3.1.1
    // start), a redelivered one after an ack lost with its connection: its copies are counted on
    // the entry that holds it, found by its topic.
    sql: `
ALTER TABLE quarantine ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0;
CREATE INDEX quarantine_channel ON quarantine(channel);
`,
  },
  {
    version: 16,
    name: 'quarantine-payload-hash',
    // A too-large message's entry keeps only the start of its payload: its copies are told from
    // another message that starts the same by the SHA-256 of the whole payload. Entries made
    // before have none, and are matched by the payload they hold, as they were.
    sql: `
ALTER TABLE quarantine ADD COLUMN payload_sha256 TEXT;
`,
  },
  {
    version: 17,
    name: 'pruned-fact-keys',
    // The key of each fact retention deleted (store.retention.deliveredFacts): the outbox row was
    // what kept a fact once, so without its key a replay, a rule re-run or a second
    // `depreciation post` would queue the same work order or posting again (invariant 3). Keys
    // only: the payload, response and audit go.
    sql: `
CREATE TABLE outbox_pruned_fact (
  destination  TEXT NOT NULL,
  operation    TEXT NOT NULL,
  business_key TEXT NOT NULL,
  pruned_at    INTEGER NOT NULL,
  PRIMARY KEY (destination, operation, business_key)
) WITHOUT ROWID;
`,
  },
];
