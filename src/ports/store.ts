/**
 * The store port: everything durable (identity, per-asset state, outbox, audit, quarantine, dead
 * letters, small component state). The embedded SQLite adapter implements it; the scaled mode's
 * PostgreSQL adapter, not built yet, is to implement the same contract. No driver types cross
 * this interface.
 * @module
 */
import type { AssetRecord, IdentifierRecord } from '../core/model/assets.js';
import type { DeliveryIntent, OutboxItem } from '../core/model/delivery.js';
import type { QuarantineCode, QuarantineEntry, RawMessage } from '../core/model/messages.js';

export interface StoreCapabilities {
  /** Only one process may write (SQLite). The dispatcher then keeps in-flight keys in memory. */
  readonly singleWriter: boolean;
}

/** Per-asset state document: one sub-document per rule, opaque to the store. */
export type AssetStateDoc = Record<string, unknown>;

/**
 * A sub-state given to `commitIngest` as its JSON text already (a rule's owned form writes it
 * from its columns: `OwnedRule.saveJson`): the store stores the text as it is, where it would
 * serialise any other sub-state. `JSON.stringify` of a document holding one gives the sub-state.
 */
export class StateJson {
  constructor(readonly text: string) {}

  toJSON(): unknown {
    return JSON.parse(this.text) as unknown;
  }
}

export interface AssetWithIdentifiers {
  readonly asset: AssetRecord;
  readonly identifiers: readonly IdentifierRecord[];
}

/**
 * A message in the ingest log: accepted, its deliveries committed, but its effect on rule state
 * held in memory until the next checkpoint. `now` is the processing time it was decided at, so
 * replaying it after a crash decides exactly as the first time.
 */
export interface LoggedMessage extends RawMessage {
  readonly now: number;
  /**
   * The log row it is in (rows only grow; 0 for rows an older version wrote): an asset whose
   * stored state includes this row ({@link Store.ruleStateLogPositions}) skips it in a replay.
   */
  readonly seq: number;
}

/**
 * Writes of the pipeline are made only while the key-value row at (`namespace`, `key`) is a JSON
 * object with these `fields`: the store lease naming this process. Checked inside each write's own
 * transaction, so a process that lost the lease (stalled past its lapse while another took over)
 * and has not noticed yet cannot claim, settle or commit anything after the new holder started.
 */
export interface WriteGuard {
  readonly namespace: string;
  readonly key: string;
  readonly fields: Readonly<Record<string, string | number>>;
  /** The error's message when the row names someone else (or is gone). */
  readonly reason: string;
}

/** Everything one ingest batch changes, committed in a single transaction before any ack. */
export interface IngestCommit {
  /**
   * New per-asset state. With `changed`, only those rules' sub-states are written (an undefined
   * sub-state is removed); without it the whole document replaces the stored one.
   */
  readonly states: readonly { erpAssetId: string; doc: AssetStateDoc; changed?: readonly string[] }[];
  readonly deliveries: readonly DeliveryIntent[];
  readonly quarantine: readonly QuarantineEntry[];
  /**
   * Intake messages (MQTT, HTTP, telematics, CLI) accepted by the pipeline in this batch (for
   * counters; one message may hold several events). Work-order updates an ERP poll listed are not
   * among them: they are `polledUpdates`.
   */
  readonly accepted: number;
  /** Work-order updates listed by an ERP poll (`assetbridge status`: apart from the messages accepted) and accepted in this batch. */
  readonly polledUpdates?: number;
  /**
   * Messages to append to the ingest log, in order, decided at processing time `now`: their
   * rule-state changes are not in `states` (the ingestor keeps them in memory and writes them at a
   * checkpoint). Stored state plus the log, replayed in order, is the current state.
   */
  readonly log?: { readonly now: number; readonly messages: readonly RawMessage[] };
  /** A checkpoint: `states` bring the stored state up to date, so the ingest log is emptied first. */
  readonly checkpoint?: boolean;
  /**
   * Part of a checkpoint spread over batches: `states` are some assets' changed sub-states as of
   * this batch, which is logged as usual; the store marks each of those assets' state as including
   * the log up to this batch. `start`: the round's first part, whose log position the round
   * covers; `end`: its last, after which every asset changed up to that position has its state
   * stored, so the log is emptied up to there.
   */
  readonly spread?: { readonly start: boolean; readonly end: boolean };
  /** Quarantine entries this batch ran again (`RawMessage.replayOf`): closed as replayed with it. */
  readonly replayed?: readonly number[];
}

/** Where one fact's delivery stands. */
export interface FactDelivery {
  readonly id: number;
  readonly destination: string;
  readonly status: OutboxItem['status'];
  /** The ERP's answer to the delivery, when delivered (parsed JSON, cut at 4 KiB). */
  readonly response?: unknown;
  /** A request of it got no answer or a 5xx: the ERP may hold it (see `OutboxItem.mayHaveLanded`). */
  readonly mayHaveLanded?: true;
  /** What it carries (as last edited, for a dead letter replayed with an edited payload). */
  readonly payload: Record<string, unknown>;
  /** Why its last attempt failed (a dead letter's reason). */
  readonly lastError?: string;
}

/**
 * How long a long run of write transactions on a store's own connection (retention, changes to
 * many dead letters, a period-end posting) pauses between two, ms. Other connections waiting for
 * the write lock (the commit worker's ingest commits; a running service's writes while a command
 * runs) wait in SQLite's busy handler, which looks again after 1, 2, 5 … up to 100 ms: a turn of
 * the event loop frees the lock for microseconds only, and they waited behind the whole run
 * (2.4 s behind a prune of 300,000 facts, 1.2 s behind a posting of 50,000 assets, 4 s behind
 * 100,000 dead letters replayed at once; BENCHMARKS.md).
 */
export const WRITE_PAUSE_MS = 20;

/** The audit outcomes of changes made to a dead letter by hand, which sent no request (see {@link AuditRecord.outcome}). */
export const HAND_AUDIT_OUTCOMES: readonly string[] = ['edited', 'new-key', 'marked-delivered'];

/** One HTTP exchange (or equivalent) for the audit trail; secrets already redacted. */
export interface AuditRecord {
  readonly at: number;
  readonly deliveryId: number;
  readonly destination: string;
  readonly operation: string;
  readonly erpAssetId: string;
  readonly idempotencyKey: string;
  readonly attempt: number;
  readonly method?: string;
  readonly url?: string;
  readonly requestBody?: string;
  readonly status?: number;
  readonly responseBody?: string;
  readonly latencyMs: number;
  /** `delivered`, `resent` (a resend delivered), `retry`, `rate-limited`, `auth-refresh`, `dead`, `aborted`; `edited` (a dead letter's payload replaced by hand, no request); `marked-delivered` (a dead letter recorded as delivered by hand, no request). */
  readonly outcome: string;
  /** A failed attempt's error; on a `delivered` one, a note when it was done without its write (`ItemResult.note`); on a change by hand, what was done. */
  readonly error?: string;
}

/**
 * A state delivery of a last-write-wins operation whose request had an unknown outcome: it may
 * still land at the ERP until `unsettledUntil` (epoch ms). The store remembers this per key; a
 * newer value of the key (a later event time, or the same one enqueued later, as the outbox orders
 * values) delivered from a claim made before then is sent once more (a `resend` row, due
 * then, unless a newer value is pending, whose delivery is checked the same way), so the newest
 * value is what the ERP keeps when a late request lands.
 */
interface Unsettled {
  readonly unsettledUntil?: number;
}

/** What `Store.newKeyForDead` did with one dead letter. */
export type NewKeyResult =
  | { readonly id: number; readonly result: 'new-key'; readonly key: string; readonly was: string }
  /** Kept its key: a request of it may have reached the ERP. */
  | { readonly id: number; readonly result: 'may-have-landed'; readonly key: string }
  /** Kept its key: a state update a newer value of its key overtook, which the replay supersedes instead of sending. */
  | { readonly id: number; readonly result: 'superseded'; readonly key: string };

/** A failed attempt whose request may have reached the ERP all the same (see `OutboxItem.mayHaveLanded`). */
interface Unknown {
  readonly mayHaveLanded?: true;
}

/** What happened to one claimed delivery after an attempt. */
export type AttemptOutcome =
  | { readonly id: number; readonly result: 'delivered'; readonly response?: unknown }
  | ({ readonly id: number; readonly result: 'retry'; readonly nextAttemptAt: number; readonly error: string } & Unsettled & Unknown)
  | ({ readonly id: number; readonly result: 'dead'; readonly error: string } & Unsettled & Unknown)
  /** Released without counting an attempt (destination paused or shutting down). */
  | ({ readonly id: number; readonly result: 'release'; readonly nextAttemptAt: number } & Unsettled & Unknown);

export interface DestinationStats {
  readonly destination: string;
  readonly pending: number;
  readonly inflight: number;
  readonly delivered: number;
  readonly dead: number;
  /**
   * Age of the oldest pending (or in-flight) delivery at `now`, ms; 0 when none. One held only
   * because the record it acts on is still being created (`ConnectorCapabilities.waitsFor`, as
   * given to {@link Store.outboxStats}) is left out: it is not late.
   */
  readonly oldestPendingAgeMs: number;
  /** Of `pending`, those held while the record they act on is being created (a work order's update while its create is pending or in flight); absent when none. */
  readonly waitingForCreate?: number;
}

export interface QuarantineRow extends QuarantineEntry {
  readonly id: number;
  readonly status: 'open' | 'replayed' | 'discarded';
  readonly replays: number;
  /** Times its source sent this message again after it was set aside (a retained copy at a new subscription, an MQTT redelivery), counted here instead of opening another entry; absent: none. */
  readonly repeats?: number;
}

export interface AuditQuery {
  readonly erpAssetId?: string;
  readonly destination?: string;
  readonly since?: number;
  readonly deliveryId?: number;
  readonly limit?: number;
}

export interface Counters {
  /** Intake messages accepted (all time): MQTT, HTTP, telematics, CLI; not the work-order updates ERP polls list. */
  readonly eventsAccepted: number;
  /** Work-order updates listed by ERP polls and accepted (all time), counted apart from {@link eventsAccepted}. */
  readonly workOrderUpdatesPolled: number;
  readonly quarantined: number;
  /** Quarantine entries still open (not replayed or discarded). */
  readonly quarantineOpen: number;
  /** Copies of messages quarantine holds that their source sent again (retained at a new subscription, MQTT redeliveries), counted on their entry, not quarantined again (all time). */
  readonly quarantineRepeats: number;
  /** Messages in the ingest log: their rule-state changes are not in the stored state yet (next checkpoint, or replay at start). */
  readonly ingestLog: number;
  /** New facts put in the outbox (all time), by operation: work orders opened, counts and usage posted. Replays add nothing. */
  readonly factsEnqueued: Readonly<Record<string, number>>;
}

/** What {@link Store.prune} deletes: records finished before each cutoff (epoch ms); absent: kept. */
export interface PruneCutoffs {
  /**
   * Delivered (or superseded) state updates, by when they finished; the newest delivered value of
   * each key is kept, so an older one can still never overwrite it.
   */
  readonly deliveredBefore?: number;
  /** Delivered facts, by delivery time (their rows keep replays from sending them again). */
  readonly deliveredFactsBefore?: number;
  /** Audit records, except those of deliveries still pending, in flight or dead. */
  readonly auditBefore?: number;
  /** Replayed or discarded quarantine entries, by receive time. */
  readonly quarantineBefore?: number;
}

/** Rows deleted by one {@link Store.prune} call, per kind. */
export interface PruneResult {
  readonly delivered: number;
  readonly deliveredFacts: number;
  readonly audit: number;
  readonly quarantine: number;
}

export interface Store {
  readonly capabilities: StoreCapabilities;
  /** Apply pending migrations. Safe to call at every start. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  // identity
  /**
   * Add or update assets and give them their identifiers (moving any that another asset had).
   * With `replaceIdentifiers`, each row's asset keeps only the identifiers the row lists, in the
   * same transaction (a running service never sees the asset without them).
   */
  upsertAssets(rows: readonly AssetWithIdentifiers[], opts?: { replaceIdentifiers?: boolean }): Promise<{ assets: number; identifiers: number }>;
  listAssets(): Promise<AssetWithIdentifiers[]>;
  /**
   * The assets without their identifiers, by ERP id: what the tasks that read every asset's state
   * need (half the work of {@link listAssets}); read in pages, taking turns with the event loop.
   */
  listAssetRecords(): Promise<AssetRecord[]>;

  // state and ingest
  /**
   * The stored rule state of these assets (an asset with none is absent), read at once: the
   * ingestor's read, which nothing may interleave with.
   */
  loadStates(erpAssetIds: readonly string[]): Promise<Map<string, AssetStateDoc>>;
  /**
   * Only these rules' sub-states of these assets: the read of a task or command that looks at the
   * whole fleet. It parses no other rule's state, and takes turns with the event loop between
   * chunks of assets, so ingest and HTTP are not held for all of it.
   */
  loadRuleStates(erpAssetIds: readonly string[], rules: readonly string[]): Promise<Map<string, AssetStateDoc>>;
  commitIngest(commit: IngestCommit): Promise<void>;
  /** The ingest log (messages since the last checkpoint whose state changes are not stored), oldest first. */
  readIngestLog(): Promise<LoggedMessage[]>;
  /** Per asset, the ingest log row its stored state includes (set by spread checkpoints; absent: none). */
  ruleStateLogPositions(): Promise<Map<string, number>>;
  counters(): Promise<Counters>;

  // outbox
  /**
   * Claim due pending deliveries for a destination, oldest first, skipping busy business keys. A
   * state value of an operation in `held` whose key is unsettled (a request of an older value had
   * an unknown outcome and may still land) is not claimed: it is due again at the settle time. A
   * delivery of an operation `waitsFor` names is not claimed while a fact of the operation it names,
   * of the same destination and business key, is pending or in flight (`ConnectorCapabilities.waitsFor`);
   * claimed, its `enqueuedAt` (its max age) is from when that fact was last delivered or dead, where later,
   * and its attempts start from 0 when that fact was done with since it was last claimed (a dead
   * create replayed: the attempts spent while it was dead are not counted).
   */
  claimDue(
    destination: string,
    now: number,
    limit: number,
    busyKeys: ReadonlySet<string>,
    held?: ReadonlySet<string>,
    waitsFor?: Readonly<Record<string, string>>,
  ): Promise<OutboxItem[]>;
  /** Record attempt outcomes and their audit rows in one transaction. */
  completeAttempts(outcomes: readonly AttemptOutcome[], audit: readonly AuditRecord[], now: number): Promise<void>;
  /**
   * On start: deliveries left in flight by a crash go back to pending (same idempotency key). Their
   * requests may have reached the ERP: a state delivery for which `unsettledUntil` gives a time
   * leaves its key unsettled until then, as after a request of unknown outcome (see `Unsettled`).
   * One for which `dueAt` gives a time is not due before then (a create found by a lookup before it
   * is sent again must wait until its old request can no longer land); the others are due at once.
   */
  recoverInflight(unsettledUntil?: (item: OutboxItem) => number | undefined, dueAt?: (item: OutboxItem) => number | undefined): Promise<number>;
  /**
   * Per destination. `waitsFor`: a destination's `ConnectorCapabilities.waitsFor`, so deliveries it
   * holds for their create are counted apart (`waitingForCreate`) and left out of the oldest age.
   */
  outboxStats(now: number, waitsFor?: (destination: string) => Readonly<Record<string, string>> | undefined): Promise<DestinationStats[]>;
  getDelivery(id: number): Promise<OutboxItem | undefined>;
  /** Newest first. `status` may name several (one read: a row moving between them is seen once). */
  listDeliveries(filter: { status?: OutboxItem['status'] | readonly OutboxItem['status'][]; destination?: string; operation?: string; limit?: number }): Promise<OutboxItem[]>;
  /**
   * Dead → pending, attempts reset, idempotency key kept. Each is due at `now`, or at the later
   * time `dueAt` gives for it, told when its last attempt ended (its newest audit row of a request):
   * a create whose last request may still land is not sent before it can no longer land
   * (`retry.unknownOutcomeSettleMs` after it). Returns how many moved. These changes to dead
   * letters (this, new keys, discard, mark delivered) go in transactions of some hundreds, so a
   * running service's writes are not held behind thousands: a crash leaves each letter changed
   * whole or not at all, the rest still dead.
   */
  replayDead(ids: readonly number[] | 'all', now: number, dueAt?: (item: OutboxItem, lastAttemptAt: number) => number | undefined): Promise<number>;
  /**
   * Replace a dead letter's payload (edit before a replay), with an `edited` audit row holding the
   * new payload (the earlier attempts hold what was sent before). A payload that changed gets a new
   * idempotency key (`editedKeyFor`) unless the row `mayHaveLanded`: the ERP cannot hold the old
   * key's record, and may keep a refusal under it. False when `id` is not dead.
   */
  editDeadPayload(id: number, payload: Record<string, unknown>, now: number): Promise<boolean>;
  /**
   * Give dead letters a new idempotency key for a replay of the same payload (`replayKeyFor`, from
   * the old key and how many times the delivery was so re-keyed), with a `new-key` audit row each:
   * an ERP that keeps its answer (a 4xx too) under the old key would refuse the replay for ever.
   * One that `mayHaveLanded` keeps its key (a new one could make the ERP apply it twice) unless
   * `evenIfMayHaveLanded` (the operator checked the ERP holds none of it; the mark is cleared).
   * A state update that a newer value of its key overtook keeps its key too (`superseded`): a
   * replay supersedes it, and it is never sent. Returns what each id named got; ids not dead are
   * left out.
   */
  newKeyForDead(ids: readonly number[], now: number, opts?: { evenIfMayHaveLanded?: boolean }): Promise<NewKeyResult[]>;
  /**
   * {@link Store.newKeyForDead}, then {@link Store.replayDead} of those not kept for a request that
   * may have landed, each letter's both in one transaction (`dlq replay --new-key`): a crash leaves
   * a letter with both done or neither.
   */
  replayDeadWithNewKey(ids: readonly number[], now: number, opts: { evenIfMayHaveLanded?: boolean }, dueAt?: (item: OutboxItem, lastAttemptAt: number) => number | undefined): Promise<{ keyed: NewKeyResult[]; moved: number }>;
  /**
   * The outbox rows of these facts (one operation), by business key: where each stands and what
   * the ERP answered when it was delivered (what `maintenance status` shows of a work order the
   * ERP has not reported on yet).
   */
  factDeliveries(operation: string, businessKeys: readonly string[]): Promise<Map<string, FactDelivery>>;
  /**
   * The business keys of one asset's facts of one operation in the outbox, newest first, at most
   * `limit` (the work orders `maintenance complete` suggests for a key it does not know).
   */
  factKeysOfAsset(operation: string, erpAssetId: string, limit: number): Promise<string[]>;
  /** Dead → discarded (the row and its audit stay; see `DeliveryStatus`). Returns how many moved. */
  discardDead(ids: readonly number[] | 'all', now: number): Promise<number>;
  /**
   * Dead → delivered, by hand: the operator found the ERP holds them (a request whose answer was
   * lost did land, or the record was keyed in). Nothing is sent; each gets a `marked-delivered`
   * audit row. Returns the ids moved (those named that were dead).
   */
  markDelivered(ids: readonly number[], now: number): Promise<number[]>;

  /**
   * Retention: deletes at most `limit` rows of each kind past its cutoff, oldest first, so a caller
   * prunes a large backlog in short transactions. Delivered counts in {@link outboxStats} stay
   * all-time. Pending, in-flight and dead deliveries and open quarantine entries are never deleted.
   */
  prune(cutoffs: PruneCutoffs, limit: number): Promise<PruneResult>;
  /** How many rows {@link prune} would delete, in all (`store prune --dry-run`). */
  countPrunable(cutoffs: PruneCutoffs): Promise<PruneResult>;

  // quarantine
  /**
   * Oldest first; `ids`: only those entries (read by id, not found among all of them);
   * `replayOf`: the entries a replay of that entry opened (it was set aside again); `afterId`:
   * only entries after that one (to page through many).
   */
  /** How many entries match, without reading them (an import's hint may face a million). */
  countQuarantine(filter: { status?: QuarantineRow['status']; code?: QuarantineCode }): Promise<number>;
  listQuarantine(filter: { status?: QuarantineRow['status']; code?: QuarantineCode; ids?: readonly number[]; replayOf?: number; afterId?: number; limit?: number }): Promise<QuarantineRow[]>;
  /** Sets one entry aside outside an ingest batch (a page a telematics pull could not read); returns its id. */
  addQuarantine(entry: QuarantineEntry): Promise<number>;
  /**
   * For each message, whether quarantine holds it already: a copy of it ({@link QuarantineEntry.resent},
   * told by its `version` when it has one, else by its whole payload) committed now would be counted
   * on that entry, open or discarded, rather than kept afresh. What a poll asks before it keeps a
   * record it could not read, to say it once per version, across restarts too.
   */
  quarantineHolds(messages: readonly Pick<QuarantineEntry, 'source' | 'channel' | 'payload' | 'payloadSha256' | 'version'>[]): Promise<boolean[]>;
  /** Closes the open entries among `ids` (others stay as they are); returns the ids it closed. */
  markQuarantine(ids: readonly number[], status: 'replayed' | 'discarded'): Promise<number[]>;

  // audit
  queryAudit(query: AuditQuery): Promise<AuditRecord[]>;
  /** How many audit records match (`limit` aside), without reading them: what a limited {@link queryAudit} left out. */
  countAudit(query: Omit<AuditQuery, 'limit'>): Promise<number>;

  // small durable component state (poll cursors, request budgets, scheduler marks)
  kvGet(namespace: string, key: string): Promise<string | undefined>;
  /** The values of `keys` in one namespace (absent keys are left out), read a few hundred at a time with turns of the event loop between. */
  kvGetMany(namespace: string, keys: readonly string[]): Promise<Map<string, string>>;
  kvSet(namespace: string, key: string, value: string): Promise<void>;
  kvList(namespace: string): Promise<{ key: string; value: string }[]>;
  /** Several keys of one namespace in one transaction. */
  kvSetMany(namespace: string, entries: readonly (readonly [key: string, value: string])[]): Promise<void>;
  /** Removes a key; true when it was there (so of two callers, exactly one sees true). */
  kvDelete(namespace: string, key: string): Promise<boolean>;
  /**
   * Sets (or with `next` undefined, removes) a key only if it still holds `expected` (undefined:
   * absent), atomically, across processes; true when it did. Leases are built on this.
   */
  kvCompareAndSet(namespace: string, key: string, expected: string | undefined, next: string | undefined): Promise<boolean>;
  /**
   * {@link kvCompareAndSet} for several keys of one namespace in one transaction (one commit, not
   * one per key: with `store.synchronous: full` each is a disk flush); each is decided alone, and
   * the result says, in order, which were set.
   */
  kvCompareAndSetMany(namespace: string, entries: readonly KvSwap[]): Promise<boolean[]>;
  /**
   * Decisions recorded with their deliveries, all in one transaction: each key compare-and-set as
   * {@link kvCompareAndSetMany} does and, for each one set, its deliveries enqueued as
   * {@link commitIngest} enqueues them (a fact's key once, ever). So a decision is never stored
   * without its facts (a crash in between, a failed write): both are, or neither. The result says,
   * in order, which were set (the deliveries of the others are not enqueued).
   */
  kvCompareAndSetWithDeliveries(namespace: string, entries: readonly KvDecision[]): Promise<boolean[]>;
  /**
   * Between the transactions of a long run of writes of the caller's own (a period-end posting's
   * ledgers and facts for a whole fleet): folds the write-ahead log into the file now, away from
   * the caller's thread where it can, so the log never grows to a size whose fold, at the write
   * that reaches it, holds the event loop (SQLite: its own connection folds at 20,000 pages, some
   * 80 MiB, about 130 ms at once). Resolves once folded (with how far it got: for tests); callers
   * need not wait. Optional: a store with no such log has none.
   */
  foldLog?(): Promise<unknown>;
}

/** One key's compare-and-set with the deliveries it decides, in {@link Store.kvCompareAndSetWithDeliveries}. */
export interface KvDecision extends KvSwap {
  readonly deliveries: readonly DeliveryIntent[];
}

/** One key's compare-and-set in {@link Store.kvCompareAndSetMany}. */
export interface KvSwap {
  readonly key: string;
  readonly expected: string | undefined;
  readonly next: string | undefined;
}
