/**
 * The ingest stage: decode → validate → identify → rules → one transaction → ack. Messages from all
 * sources are grouped into batched transactions (group commit), and each `submit` resolves only
 * after its batch is durable, so sources ack after commit (invariant 1). Bad input is quarantined
 * with a reason, never thrown (invariant 6). Nothing here waits on an ERP (invariant 5).
 *
 * Rule state is written at checkpoints, not with every batch: a batch commits its deliveries and
 * appends the messages that changed rule state to the store's ingest log, while the state itself
 * stays in memory. A checkpoint (every `checkpointMs`, every `checkpointMessages` logged messages
 * or more with many changed assets, on `flush` and at stop) writes the changed states and empties
 * the log in one transaction. After a crash or a failed commit, the stored state plus the log, replayed through the same rules with
 * the same processing times, is exactly the state that was lost — and the deliveries it made are
 * already in the outbox, so the replay discards them.
 * @module
 */
// Renamed: `schedule` uses the global callback `setImmediate`.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Decoder } from '../core/normalize/decoder.js';
import { validateEvent, type ValidationPolicy } from '../core/normalize/validate.js';
import { alignSensorUnits } from '../core/normalize/sensor-units.js';
import type { IdentityIndex } from '../core/identity/resolver.js';
import type { AssetRecord } from '../core/model/assets.js';
import type { DeliveryIntent } from '../core/model/delivery.js';
import type { CanonicalEvent } from '../core/model/events.js';
import type { QuarantineEntry, RawMessage } from '../core/model/messages.js';
import { NO_DELIVERIES, ruleFailureReason, type Rule, type RuleContext } from '../core/rules/rule.js';
import { CHANGED, DUPLICATE, LATE, METER_FLAGS, METER_HELD_HOURS, METER_HELD_KM, METER_SET_ASIDE_HOURS, METER_SET_ASIDE_KM, type OwnedRule } from '../core/rules/owned.js';
import { RuleStates } from './rule-states.js';
import { tooLarge } from './too-large.js';
import { coerceError } from '../core/errors/errors.js';
import { FEEDBACK_SOURCE, feedbackOrigin, WORKORDER_CREATE } from '../core/rules/maintenance/work-order.js';
import { storeErrorAdvice, storeErrorCode } from '../core/errors/store-errors.js';
import type { Clock } from '../ports/clock.js';
import type { IngestSink, SubmitResult } from '../ports/source.js';
import type { CapturedEvent, EventCapture } from '../ports/capture.js';
import type { IngestCommit, LoggedMessage, Store } from '../ports/store.js';

/** Finds the decoder for a source: exact name first, then the part before the first `:`. */
export class DecoderRegistry {
  private readonly byName = new Map<string, Decoder>();
  register(sourceOrPrefix: string, decoder: Decoder): this {
    this.byName.set(sourceOrPrefix, decoder);
    return this;
  }
  get(source: string): Decoder | undefined {
    return this.byName.get(source) ?? this.byName.get(source.split(':')[0] ?? source);
  }
}

export interface IngestorOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly decoders: DecoderRegistry;
  readonly rules: readonly Rule[];
  readonly identity: () => IdentityIndex;
  readonly validation: ValidationPolicy;
  readonly defaultDestination: string;
  /** Largest batch per transaction. @default 1000 */
  readonly maxBatch?: number;
  /** Longest a message waits for its batch to fill. @default 5 */
  readonly maxWaitMs?: number;
  /**
   * Batches that may be committing at once while the next is prepared (the store commits them in
   * order). 1 prepares a batch only after the previous one has committed. @default 4
   */
  readonly pipelineDepth?: number;
  /** Larger payloads are quarantined as `too-large` without being parsed. @default 1 MiB */
  readonly maxPayloadBytes?: number;
  /** Assets whose state is kept in memory between batches. @default 200000 */
  readonly stateCacheSize?: number;
  /**
   * Longest a rule-state change is held in memory (its message in the ingest log) before a
   * checkpoint writes it; 0 writes rule state with every batch and keeps no log. @default 5000
   */
  readonly checkpointMs?: number;
  /** Messages in the ingest log that trigger a checkpoint (bounds the replay after a crash). @default 50000 */
  readonly checkpointMessages?: number;
  /**
   * With more changed assets than `checkpointMessages` / this, a checkpoint by count waits for
   * this many logged messages per changed asset, up to {@link MAX_LOG_FACTOR} × `checkpointMessages`.
   * A checkpoint stores every changed asset's state, and storing one costs several times what
   * replaying one message does (about 15 µs against 4.5 with the rules benchmark's twenty rules),
   * so a large fleet draining a backlog, each asset changed by a few messages per checkpoint,
   * spent more time storing state than ingesting (20,000 assets, 200,000 events: 14.9–18.6 µs per
   * event with a checkpoint every 50,000 messages, 12.0–14.1 at ten per asset; 2.6–3.2 without
   * rules). 0: `checkpointMessages` alone. @default 10
   */
  readonly checkpointMessagesPerAsset?: number;
  /**
   * A checkpoint due (by `checkpointMs` or `checkpointMessages`) for more changed assets than this
   * is spread over the batches that follow: each stores at least this many assets' state, and at
   * most a sixteenth of the round, with its own messages, so no one commit holds up the batches
   * behind it (a large fleet's checkpoint took a second in one transaction). 0: never spread. A
   * checkpoint asked for (`flush`, `checkpoint()`, the idle timer, stop) stores everything at once.
   * @default 100
   */
  readonly spreadCheckpointAssets?: number;
  readonly logger?: Logger;
  /** A copy of every accepted event, after its commit (`capture` in the config; best effort). */
  readonly capture?: EventCapture;
  /** Told each committed batch's timings (the service's metrics). */
  readonly onBatch?: (timing: BatchTiming) => void;
}

/** One committed batch's timings, for metrics. */
export interface BatchTiming {
  /**
   * From the arrival (`submit`) of the batch's oldest message to the commit, seconds: the longest
   * a source waited to ack. Absent for a checkpoint that carried no message.
   */
  readonly waitSeconds?: number;
  /** Messages in the batch (the engine's idle watermarks included). */
  readonly messages: number;
  /** The batch was a checkpoint, or a part of one spread over batches: from its preparation to its commit, seconds, and the assets whose rule state it stored. */
  readonly checkpoint?: { readonly seconds: number; readonly assets: number };
}

/** The assets whose rule state a batch changed (`ids`), and per asset the bits of the rules that changed it (`masks`). */
interface ChangedStates {
  readonly ids: string[];
  readonly masks: number[];
}

/** A message set aside: its quarantine code and reason, and what of its payload is kept when not all of it (too large). */
interface SetAside {
  readonly code: QuarantineEntry['code'];
  readonly reason: string;
  readonly payload?: Uint8Array | string;
  /** SHA-256 of the whole payload, when `payload` keeps only its start. */
  readonly payloadSha256?: string;
  /** Which version of a record its source lists again (`RawMessage.setAside`): its copies are told by it. */
  readonly version?: string;
}

/** A message's events, and the asset of each (in the same order). */
interface Decoded {
  readonly events: readonly CanonicalEvent[];
  readonly assets: readonly AssetRecord[];
}


/** What one message turned into; also what `rules test` prints. */
export interface MessageOutcome {
  readonly accepted: boolean;
  readonly reason?: string;
  readonly events: number;
  readonly deliveries: readonly DeliveryIntent[];
}

/** The ingest log grows to at most this many times `checkpointMessages` before a checkpoint (see {@link IngestorOptions.checkpointMessagesPerAsset}): the replay after a crash stays bounded. */
export const MAX_LOG_FACTOR = 10;

/** A spread checkpoint is stored over at most this many batches (more when it holds few assets per batch). */
const SPREAD_PARTS = 16;

/** While commits keep failing for one cause, it is logged again at most this often (with the count). */
const FAILURE_REPORT_MS = 30_000;

/**
 * A batch (or `exclusively`) that needed the rule state rebuilt after {@link Ingestor.stopReplay}:
 * the replay of the ingest log was given up for a stop, so nothing is run on a half-rebuilt state.
 */
export class ReplayStoppedError extends Error {
  constructor() {
    super('the service is stopping: the rule state was not rebuilt from the ingest log (the next start does it), so this is not taken; it will be redelivered');
    this.name = 'ReplayStoppedError';
  }
}

/**
 * A checkpoint spread over batches, in progress: the assets it stores (those changed when it
 * started), how far it got, and the messages it empties from the log when it ends (those logged
 * up to its start).
 */
interface SpreadRound {
  readonly ids: readonly string[];
  next: number;
  readonly perBatch: number;
  readonly logged: number;
  parts: number;
  stored: number;
  longestMs: number;
}

/** A rule that looks at a kind of event: its owned form, its name, and its bit in change masks. */
interface RuleEntry {
  readonly form: OwnedRule;
  readonly name: string;
  readonly bit: number;
  /** Runs the rule's `flush` up to the event's time (the engine's idle watermarks), not `apply`. */
  readonly watermark: boolean;
}

interface Pending {
  readonly messages: readonly RawMessage[];
  /** When it was submitted (`performance.now()`): what {@link BatchTiming.waitSeconds} counts from. */
  readonly at: number;
  readonly resolve: (r: SubmitResult) => void;
  readonly reject: (e: Error) => void;
  /** The engine's own messages (idle watermarks): not counted as received or accepted input. */
  readonly internal?: boolean;
  /** How many of {@link messages} are work-order updates an ERP poll listed (told once, at submit). */
  readonly polled: number;
}

export interface IngestStats {
  /** Messages handed to the pipeline since start, the work-order updates ERP polls listed among them ({@link polledReceived}). */
  received: number;
  /**
   * Of {@link received}: the work-order updates (and unreadable work-order records) ERP polls
   * handed over, accepted or not, counted as they are submitted. `received - polledReceived` is
   * what the intake (MQTT, HTTP, telematics, CLI, pushed updates) handed over.
   */
  polledReceived: number;
  /**
   * The intake's messages accepted since start (MQTT, HTTP, telematics, CLI, a pushed work-order
   * update), as the store's `events_accepted`: not the work-order updates an ERP poll listed
   * ({@link workOrderUpdatesPolled}).
   */
  accepted: number;
  /** Work-order updates ERP polls listed and the pipeline accepted, since start (not among {@link accepted}). */
  workOrderUpdatesPolled: number;
  quarantined: number;
  batches: number;
  deliveriesEnqueued: number;
  /** Checkpoints written (rule state stored, ingest log emptied). */
  checkpoints: number;
  /** Messages in the ingest log: their rule-state changes are held in memory until the next checkpoint. */
  logged: number;
  /** Events each rule dropped as later than its allowed lateness, since start (by rule name). */
  lateEvents: Record<string, number>;
  /**
   * Events each rule dropped as a duplicate (the same event as one it holds or decided on last: an
   * MQTT redelivery, a retried POST, a device repeating itself), since start (by rule name).
   */
  duplicateEvents: Record<string, number>;
  /**
   * Meter readings hygiene held as a possible catch-up (awaiting the next reading), and held ones
   * the next reading set aside (a spike), since start, by meter (as the meter rule judged them).
   */
  meterReadings: MeterReadingCounts;
  /** Idle watermarks processed since start (the engine's own messages for silent assets). */
  watermarks: number;
  /**
   * Events handed to the event capture and taken by it, since start (`capture`; 0 without). A write
   * that fails later is not subtracted: the service's status and metrics show the capture's own
   * counts (`EventCapture.counts`), which count an event once its write has finished.
   */
  captured: number;
  /** Accepted events the capture did not take (size limit, disk behind, paused after a write error), since start. */
  captureDropped: number;
  /**
   * The last checkpoint that committed: when (clock time), how long it took from its preparation
   * to its commit, and the assets whose state it stored. A spread checkpoint: its parts (batches),
   * and the longest of them.
   */
  lastCheckpoint?: { storedAt: number; ms: number; assets: number; parts?: number };
}

/** Meter readings held and set aside, by meter (see {@link IngestStats.meterReadings}). */
export interface MeterReadingCounts {
  readonly held: { hours: number; km: number };
  readonly setAside: { hours: number; km: number };
}

/** `counts` plus the readings one rule's `METER_*` flags say were held or set aside. */
function countMeterReadings(counts: MeterReadingCounts, flags: number): void {
  if ((flags & METER_HELD_HOURS) !== 0) counts.held.hours++;
  if ((flags & METER_HELD_KM) !== 0) counts.held.km++;
  if ((flags & METER_SET_ASIDE_HOURS) !== 0) counts.setAside.hours++;
  if ((flags & METER_SET_ASIDE_KM) !== 0) counts.setAside.km++;
}

export class Ingestor implements IngestSink {
  readonly stats: IngestStats = { received: 0, polledReceived: 0, accepted: 0, workOrderUpdatesPolled: 0, quarantined: 0, batches: 0, deliveriesEnqueued: 0, checkpoints: 0, logged: 0, lateEvents: {}, duplicateEvents: {}, meterReadings: { held: { hours: 0, km: 0 }, setAside: { hours: 0, km: 0 } }, watermarks: 0, captured: 0, captureDropped: 0 };
  private queue: Pending[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The next full batch, started in a turn of the event loop of its own (see `schedule`). */
  private immediate: NodeJS.Immediate | undefined;
  private flushing: Promise<void> | undefined;
  /**
   * Rule state of the assets held in memory, as of the newest batch handed to the store (committed
   * or still committing): the rules change it in place as the next batch is prepared. A failed
   * commit (or a rule throwing part way through a batch) lets it all go, and it is rebuilt from the
   * store (stored state + ingest log), so it never keeps a state the store lost.
   */
  private readonly held: RuleStates;
  /** Per held asset (by index), the rule bits whose sub-state the batch being prepared changed. */
  private batchMask = new Int32Array(1024);
  /** Per held asset (by index), the number of the batch that last touched it (its first event in a batch is told apart). */
  private batchMark = new Int32Array(1024);
  private batchNo = 0;
  /** Commits in progress (at most `pipelineDepth`). */
  private readonly committing = new Set<Promise<void>>();
  private readonly maxPipeline: number;
  /** Bumped on a failed commit: the batches built on it fail too, and only the first failure is logged. */
  private epoch = 0;
  /**
   * Commits failing in a row (a full disk, a lock): each source retries at once, so one cause fails
   * hundreds of batches a second. The first is logged, then one line per {@link FAILURE_REPORT_MS}
   * with the count, and one when commits succeed again.
   */
  private failing: { since: number; failures: number; unreported: number; reportedAt: number; reason: string } | undefined;
  private readonly maxBatch: number;
  private readonly maxWaitMs: number;
  private readonly cacheSize: number;
  /** The rules that look at each kind of event, in configured order. */
  private readonly rulesByKind = new Map<CanonicalEvent['kind'], RuleEntry[]>();
  private readonly checkpointMs: number;
  private readonly checkpointMessages: number;
  private readonly perAsset: number;
  /** Rule sub-states changed since the last checkpoint (including batches still committing), per asset: a mask of rule bits. */
  private dirty = new Map<string, number>();
  /** Assets in checkpoints still committing (count per asset): their stored state is not yet current. */
  private readonly storing = new Map<string, number>();
  /** When the oldest change in `dirty` was made (clock time). */
  private dirtySince = 0;
  /** The next batch is a checkpoint (even an empty one). */
  private checkpointWanted = false;
  private readonly spreadMin: number;
  /** A checkpoint being stored a part per batch (see {@link IngestorOptions.spreadCheckpointAssets}). */
  private round: SpreadRound | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  /** In-memory state must be rebuilt from the store (stored state + ingest log): at start and after a failed commit. */
  private needsRecovery = true;
  private recovering: Promise<void> | undefined;
  /** The assets whose stored state holds events have been named idle candidates (at the first recovery). */
  private idleSeeded = false;
  /** Set by {@link stopReplay}: a replay of the ingest log stops between two chunks, and none starts again. */
  private replayStopped = false;
  /** Set while {@link exclusively} runs: no batch of messages is prepared (they wait in the queue); resolves when it ends. */
  private paused: Promise<void> | undefined;
  /** Callers of `checkpoint()` waiting for the next checkpoint to commit. */
  private checkpointWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** When a batch last brought events for an asset (clock time): what {@link idleHolding} reads. */
  private readonly lastSeen = new Map<string, number>();
  /** When {@link idleHolding} last named an asset (clock time). */
  private readonly lastNamed = new Map<string, number>();

  constructor(private readonly opts: IngestorOptions) {
    this.maxBatch = opts.maxBatch ?? 1000;
    this.maxWaitMs = opts.maxWaitMs ?? 5;
    this.maxPipeline = Math.max(1, opts.pipelineDepth ?? 4);
    this.cacheSize = opts.stateCacheSize ?? 200_000;
    this.checkpointMs = Math.max(0, opts.checkpointMs ?? 5000);
    this.checkpointMessages = Math.max(1, opts.checkpointMessages ?? 50_000);
    this.perAsset = Math.max(0, opts.checkpointMessagesPerAsset ?? 10);
    this.spreadMin = Math.max(0, opts.spreadCheckpointAssets ?? 100);
    if (opts.rules.length > 31) throw new Error(`the ingestor takes at most 31 rules, got ${opts.rules.length}`);
    this.held = new RuleStates(opts.rules);
    const forms = this.held.forms;
    opts.rules.forEach((rule, i) => {
      for (const kind of rule.kinds) {
        const list = this.rulesByKind.get(kind) ?? [];
        if (!list.some((r) => r.bit === 1 << i)) list.push({ form: forms[i] as OwnedRule, name: rule.name, bit: 1 << i, watermark: false });
        this.rulesByKind.set(kind, list);
      }
    });
    // An idle asset's watermark asks each rule that holds events to decide what is final by then.
    const watermark = this.held.holding.map((i) => ({ form: forms[i] as OwnedRule, name: (opts.rules[i] as Rule).name, bit: 1 << i, watermark: true }));
    if (watermark.length) this.rulesByKind.set('watermark', watermark);
  }

  /**
   * Assets whose rules hold events and that no batch has brought events for since `idleMs` ago;
   * one still holding after that (a dwell longer than `idleMs`) is named again `idleMs` later.
   * An asset the state cache let go of (its state is stored) is named too: its watermark loads the
   * state like any event, and one that holds nothing is left as it was.
   */
  idleHolding(now: number, idleMs: number): string[] {
    // None while the state is cleared or being rebuilt (after a failed commit the replay takes
    // turns, and the idle task's timer can run in between): `lastSeen` then holds the replayed
    // messages' old processing times and the cache only part of the state, so a watermark named
    // now would decide held events before upstream redelivers the batch that failed, which would
    // then come in late. The recovery counts every asset's silence from its end, so a recovery
    // that took no turns would not have named anyone here either.
    if (this.needsRecovery) return [];
    const out: string[] = [];
    // Each asset's registry record: a rule that does not apply to it (`appliesTo`) holds nothing for it.
    const identity = this.opts.identity();
    for (const [id, seen] of this.lastSeen) {
      if (now - seen < idleMs) continue;
      const named = this.lastNamed.get(id);
      if (named !== undefined && named > seen && now - named < idleMs) continue;
      const a = this.held.indexOf(id);
      if (a === undefined || this.held.holds(a, identity.asset(id))) {
        out.push(id);
        this.lastNamed.set(id, now);
      } else {
        this.lastSeen.delete(id);
        this.lastNamed.delete(id);
      }
    }
    return out;
  }

  /** Submit the engine's own messages (idle watermarks): through the pipeline and its log, outside the input counts. */
  submitInternal(messages: readonly RawMessage[]): Promise<SubmitResult> {
    if (messages.length === 0) return Promise.resolve({ accepted: 0, quarantined: [] });
    return new Promise<SubmitResult>((resolve, reject) => {
      this.queue.push({ messages, at: performance.now(), resolve, reject, internal: true, polled: 0 });
      this.queued += messages.length;
      this.schedule();
    });
  }

  backlog(): number {
    return this.queued;
  }

  submit(messages: readonly RawMessage[]): Promise<SubmitResult> {
    if (messages.length === 0) return Promise.resolve({ accepted: 0, quarantined: [] });
    return new Promise<SubmitResult>((resolve, reject) => {
      let polled = 0;
      for (const m of messages) if (isPolled(m)) polled++;
      this.queue.push({ messages, at: performance.now(), resolve, reject, polled });
      this.queued += messages.length;
      this.stats.received += messages.length;
      this.stats.polledReceived += polled;
      this.schedule();
    });
  }

  /**
   * Commit everything queued so far, then write the rule state held in memory (a checkpoint), so
   * the stored state is current. At start it first replays an ingest log left by a crash.
   */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    let checkpointAsked = false;
    for (;;) {
      if (this.paused && !this.flushing && !this.checkpointWanted) await this.paused;
      else if (this.flushing) await this.flushing;
      else if ((this.queue.length || this.checkpointWanted) && this.canPrepare()) await this.runFlush();
      else if (this.committing.size) await Promise.race(this.committing);
      else if (this.needsRecovery) {
        // A replay given up for a stop: the ingest log stays in the store for the next start, and
        // there is no whole state to checkpoint. One still running ends at its next chunk.
        if (this.replayStopped && !this.recovering) return;
        await this.recover().catch((err: unknown) => {
          if (!(err instanceof ReplayStoppedError)) throw err;
        });
      } else if ((this.dirty.size || this.stats.logged) && !checkpointAsked) {
        // Everything is committed; once (a failed checkpoint is not retried here: the log keeps it).
        checkpointAsked = true;
        this.checkpointWanted = true;
      } else return;
    }
  }

  /**
   * For a stop (a signal during a long replay of the ingest log at start): a replay under way stops
   * before its next chunk, and none is started again. Nothing of it had been written (a replay
   * writes only once it is whole), so the log stays in the store as it was and the next start
   * replays all of it. Batches that would need the rebuilt state are refused (not acked: upstream
   * redelivers), and `flush()` then returns without a checkpoint.
   */
  stopReplay(): void {
    this.replayStopped = true;
  }

  /**
   * Stores the rule state held in memory now, without waiting for the queue to drain (sources keep
   * feeding it): resolves once a checkpoint asked for after this call has committed, so the stored
   * state then includes every batch committed before the call.
   */
  checkpoint(): Promise<void> {
    // A replay given up for a stop leaves nothing whole to store: its caller is told, not answered as if stored.
    if (this.needsRecovery)
      return this.flush().then(() => {
        if (this.needsRecovery) throw new ReplayStoppedError();
      });
    if (this.dirty.size === 0 && this.stats.logged === 0 && this.storing.size === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.checkpointWaiters.push({ resolve, reject });
      this.checkpointWanted = true;
      this.schedule();
    });
  }

  /**
   * Runs `fn` with intake held, for an operator command that rewrites stored rule state while the
   * service runs (`depreciation refile`). First the batch being prepared and every commit in flight
   * settle, and the rule state held in memory is stored (a checkpoint: the ingest log then holds
   * nothing to replay over what `fn` writes). Messages submitted meanwhile wait in the queue, not
   * acked, as they would behind a slow commit. `fn` calls `forget(id)` for each asset whose stored
   * state it changes: its cached state is let go, so its next event starts from what was stored.
   * One at a time.
   */
  async exclusively<T>(fn: (forget: (erpAssetId: string) => void) => Promise<T>): Promise<T> {
    while (this.paused) await this.paused;
    let release = (): void => undefined;
    this.paused = new Promise<void>((resolve) => (release = resolve));
    try {
      let asked = false;
      for (;;) {
        if (this.flushing) await this.flushing;
        else if (this.committing.size) await Promise.race(this.committing);
        // A checkpoint that failed (the store refuses writes) is not retried with intake held.
        else if (this.needsRecovery && asked) throw new Error('storing the rule state held in memory failed (the ingest commit error is logged): nothing was done; fix the store and run it again');
        else if (this.needsRecovery) await this.recover();
        else if (this.dirty.size || this.stats.logged) {
          asked = true;
          this.checkpointWanted = true;
          await this.runFlush();
        } else break;
      }
      return await fn((id) => this.held.drop(id));
    } finally {
      this.paused = undefined;
      release();
      if (this.queue.length || this.checkpointWanted) this.schedule();
    }
  }

  /** A batch may be prepared now: a pipeline slot is free, and a recovery does not wait for commits to settle. */
  private canPrepare(): boolean {
    return this.committing.size < this.maxPipeline && !(this.needsRecovery && this.committing.size > 0);
  }

  private schedule(): void {
    // The running flush, or the commit that frees a pipeline slot, picks the queue up when it ends.
    if (this.flushing || !this.canPrepare() || (this.paused && !this.checkpointWanted)) return;
    if (this.queued >= this.maxBatch || (this.checkpointWanted && this.queue.length === 0)) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      // In a turn of the event loop of its own: draining a backlog, each commit that settles
      // starts the next batch, and the commit worker's replies come in while it is prepared, so
      // batches started from there would follow one another for the whole backlog without timers,
      // sockets or HTTP requests getting a turn (measured: 50 batches, 0.7 s at once).
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        void this.runFlush();
      });
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.runFlush();
      }, this.maxWaitMs);
    }
  }

  private runFlush(): Promise<void> {
    if (this.flushing) return this.flushing;
    // While paused (`exclusively`), only a checkpoint is prepared: messages wait in the queue.
    if (!this.canPrepare() || ((this.queue.length === 0 || this.paused) && !this.checkpointWanted)) return Promise.resolve();
    const batch: Pending[] = [];
    let n = 0;
    while (this.queue.length && n < this.maxBatch && !this.paused) {
      const p = this.queue.shift() as Pending;
      batch.push(p);
      n += p.messages.length;
    }
    this.queued -= n;
    this.flushing = this.prepareBatch(batch).finally(() => {
      this.flushing = undefined;
      if (this.queue.length || this.checkpointWanted) this.schedule();
    });
    return this.flushing;
  }

  /**
   * Runs the pipeline over a batch and hands it to the store. The next batch may be prepared while
   * this one commits (the store's commit worker does the SQLite work on its own thread): it sees
   * this batch's state in the cache. Messages are settled only after their commit.
   */
  private async prepareBatch(batch: Pending[]): Promise<void> {
    const epoch = this.epoch;
    const started = performance.now();
    /** Assets whose state the batch stores, when it is a checkpoint. */
    let checkpointAssets: number | undefined;
    /** The spread checkpoint this batch stores a part of, and whether its last. */
    let part: { round: SpreadRound; end: boolean } | undefined;
    let commit: Promise<void>;
    let touched: readonly string[] = [];
    /** The rules have changed the state held in memory for this batch: a failure from here lets it go. */
    let ran = false;
    let results: SubmitResult[];
    /** Per submitter of the batch, its accepted messages that were work-order updates an ERP poll listed. */
    let polledBy: number[];
    let deliveryCount: number;
    let checkpointed: string[] = [];
    let waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
    let captured: CapturedEvent[];
    let now: number;
    try {
      if (this.needsRecovery) await this.recover();
      let messages: readonly RawMessage[];
      if (batch.length === 1) messages = (batch[0] as Pending).messages;
      else {
        let total = 0;
        for (const p of batch) total += p.messages.length;
        const all = new Array<RawMessage>(total);
        let at = 0;
        for (const p of batch) for (let k = 0; k < p.messages.length; k++) all[at++] = p.messages[k] as RawMessage;
        messages = all;
      }
      now = this.opts.clock.now();
      const result = await this.processIsolated(messages, now, epoch);
      ran = true;
      const { outcomes, changed, deliveries, quarantine, stateful, late, duplicates } = result;
      // Counted here, once per batch (a run repeated without a failed message counts once), and
      // not by the replay of the log after a crash or a failed commit: those were counted when
      // the messages first came.
      if (late) for (const name in late) this.stats.lateEvents[name] = (this.stats.lateEvents[name] ?? 0) + (late[name] ?? 0);
      if (duplicates) {
        for (const name in duplicates) this.stats.duplicateEvents[name] = (this.stats.duplicateEvents[name] ?? 0) + (duplicates[name] ?? 0);
        // Once per batch that had any (not per event): a resent batch is one line.
        this.opts.logger?.debug({ duplicates }, 'events dropped by the rules as duplicates (sent again: an MQTT redelivery, a retried POST, a device repeating itself); not late, nothing delivered');
      }
      // The same for meter readings held and set aside.
      if (result.meterReadings) {
        const m = this.stats.meterReadings;
        const r = result.meterReadings;
        m.held.hours += r.held.hours;
        m.held.km += r.held.km;
        m.setAside.hours += r.setAside.hours;
        m.setAside.km += r.setAside.km;
      }
      captured = result.captured;
      touched = result.touched;
      this.markDirty(changed, now);
      const asked = this.checkpointWanted || this.checkpointMs === 0;
      const due = !asked && this.round === undefined && (this.stats.logged + stateful.length > this.logLimit() || (this.dirty.size > 0 && now - this.dirtySince >= this.checkpointMs));
      if (due && this.spreadMin > 0 && this.dirty.size > this.spreadMin) this.startRound(now, stateful.length);
      const checkpoint = asked || (due && this.round === undefined);
      // The intake's messages accepted; the work-order updates an ERP poll listed are counted apart.
      let accepted = 0;
      let polledUpdates = 0;
      let at = 0;
      polledBy = [];
      for (const p of batch) {
        let polled = 0;
        if (!p.internal)
          for (let i = at; i < at + p.messages.length; i++) {
            if (!(outcomes[i] as MessageOutcome).accepted) continue;
            // Which message is a polled update is asked again only of a submission told to hold one.
            if (p.polled > 0 && isPolled(messages[i] as RawMessage)) polled++;
            else accepted++;
          }
        polledUpdates += polled;
        polledBy.push(polled);
        at += p.messages.length;
      }
      // Quarantine entries run again in this batch close with it (none outside a replay).
      let replayed: number[] | undefined;
      for (const m of messages) if (m.replayOf !== undefined) (replayed ??= []).push(m.replayOf);
      const base = { deliveries: coalesceStates(deliveries), quarantine, accepted, ...(polledUpdates ? { polledUpdates } : {}), ...(replayed ? { replayed } : {}) };
      const stored = checkpoint ? this.checkpointStates() : undefined;
      const spread = stored || !this.round ? undefined : this.spreadPart(this.round);
      commit = this.opts.store.commitIngest(
        stored
          ? { ...base, states: stored, checkpoint: true }
          : { ...base, states: spread?.states ?? [], log: { now, messages: stateful }, ...(spread ? { spread: { start: spread.start, end: spread.end } } : {}) },
      );
      if (stored) checkpointAssets = stored.length;
      else if (spread) checkpointAssets = spread.states.length;
      if (stored) {
        this.round = undefined;
        waiters = this.checkpointWaiters.splice(0);
        checkpointed = [...this.dirty.keys()];
        for (const id of checkpointed) this.storing.set(id, (this.storing.get(id) ?? 0) + 1);
        this.dirty = new Map();
        this.stats.logged = 0;
        this.checkpointWanted = false;
        this.stats.checkpoints++;
        if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
        this.checkpointTimer = undefined;
      } else {
        this.stats.logged += stateful.length;
        if (spread && this.round) {
          part = { round: this.round, end: spread.end };
          checkpointed = spread.states.map((st) => st.erpAssetId);
          for (const id of checkpointed) this.storing.set(id, (this.storing.get(id) ?? 0) + 1);
          if (spread.end) {
            // What the round empties from the log when it commits: the messages logged up to its start.
            this.stats.logged -= this.round.logged;
            this.stats.checkpoints++;
            this.round = undefined;
          }
        }
        this.armCheckpoint();
      }
      // What each submitter gets once committed; nothing else of the batch is kept while it commits.
      deliveryCount = deliveries.length;
      results = [];
      let offset = 0;
      for (const p of batch) {
        // A loop, not a slice and a flatMap per submitter: this runs for every message.
        const quarantined: { index: number; reason: string }[] = [];
        for (let index = 0; index < p.messages.length; index++) {
          const o = outcomes[offset + index] as MessageOutcome;
          if (!o.accepted) quarantined.push({ index, reason: o.reason ?? 'rejected' });
        }
        offset += p.messages.length;
        results.push({ accepted: p.messages.length - quarantined.length, quarantined });
      }
    } catch (err) {
      // Nothing of this batch reached the store: batches before it stay valid, and so does the
      // state in memory unless the rules ran on this batch (then it is rebuilt). A checkpoint
      // asked for is not retried in a loop: its callers hear of the failure.
      for (const w of waiters.length ? waiters : this.checkpointWaiters.splice(0)) w.reject(coerceError(err));
      this.checkpointWanted = false;
      this.fail(batch, err, epoch, ran);
      return;
    }
    for (let i = 0; i < touched.length; i++) this.remember(touched[i] as string);
    const settled: Promise<void> = commit.then(
      () => {
        if (this.failing) {
          const f = this.failing;
          this.failing = undefined;
          this.opts.logger?.info({ failed: f.failures, seconds: Math.round((this.opts.clock.now() - f.since) / 1000) }, `ingest commits succeed again after ${f.failures} failed`);
        }
        this.stats.batches++;
        this.stats.deliveriesEnqueued += deliveryCount;
        if (captured.length && this.opts.capture) {
          // After the commit, so what is captured was accepted; a capture problem never fails the batch.
          const dropped = this.opts.capture.write(captured, now);
          this.stats.captured += captured.length - dropped;
          this.stats.captureDropped += dropped;
        }
        for (const w of waiters) w.resolve();
        if (part) this.partStored(part.round, part.end, checkpointed.length, started);
        batch.forEach((p, i) => {
          const r = results[i] as SubmitResult;
          if (!p.internal) {
            // As the store counts them: the intake's messages, and the updates ERP polls listed apart.
            const polled = polledBy[i] ?? 0;
            this.stats.accepted += r.accepted - polled;
            this.stats.workOrderUpdatesPolled += polled;
            this.stats.quarantined += r.quarantined.length;
          } else this.stats.watermarks += r.accepted;
          p.resolve(r);
        });
        this.observe(batch, started, checkpointAssets, part !== undefined);
      },
      (err: unknown) => {
        for (const w of waiters) w.reject(coerceError(err));
        this.fail(batch, err, epoch, true);
      },
    );
    const tracked: Promise<void> = settled.finally(() => {
      this.committing.delete(tracked);
      for (const id of checkpointed) {
        const n = (this.storing.get(id) ?? 1) - 1;
        if (n > 0) this.storing.set(id, n);
        else this.storing.delete(id);
      }
      if (this.queue.length || this.checkpointWanted) this.schedule();
    });
    this.committing.add(tracked);
  }

  /**
   * A batch did not commit: its messages are rejected (sources do not ack; upstream redelivers).
   * When its state had been handed on (`dropState`), every state computed on top of it is dropped
   * too, so later batches start again from the store (the batches before it have committed: the
   * store commits in order).
   */
  private fail(batch: Pending[], err: unknown, epoch: number, dropState: boolean): void {
    const error = coerceError(err);
    // Refused for a stop during the replay (said once, when it stopped): no commit failed.
    if (error instanceof ReplayStoppedError) return void batch.forEach((p) => p.reject(error));
    // Batches refused because an earlier one failed were built on it: that failure was logged.
    const first = !dropState || epoch === this.epoch;
    if (dropState && first) {
      // State held in memory may include the failed batch: rebuild it from the store (stored
      // state + ingest log) once the batches queued behind it have settled.
      this.epoch++;
      this.held.dropAll();
      this.dirty = new Map();
      this.round = undefined;
      this.stats.logged = 0;
      this.needsRecovery = true;
      // Still asked for: it is written once the state is rebuilt.
      this.checkpointWanted = this.checkpointWaiters.length > 0;
    }
    if (first) this.reportFailure(error);
    for (const p of batch) p.reject(error);
  }

  /** Logs a failed commit: the first of a run, one of another cause, else one per {@link FAILURE_REPORT_MS} with how many failed since. */
  private reportFailure(error: Error): void {
    const at = this.opts.clock.now();
    const f = (this.failing ??= { since: at, failures: 0, unreported: 0, reportedAt: -Infinity, reason: '' });
    f.failures++;
    if (error.message === f.reason && at - f.reportedAt < FAILURE_REPORT_MS) {
      f.unreported++;
      return;
    }
    // SQLite's code (carried across the commit worker) says what the operator can do: a full disk, a lock.
    const advice = storeErrorAdvice(storeErrorCode(error));
    const more = f.unreported ? ` (${f.unreported} more commits failed since the last report)` : '';
    this.opts.logger?.error({ err: error, failedInARow: f.failures }, `ingest commit failed; sources will not ack and upstream will redeliver${advice === undefined ? '' : `; ${advice}`}${more}`);
    f.reason = error.message;
    f.reportedAt = at;
    f.unreported = 0;
  }

  /** Logged messages past which a checkpoint is due (see {@link IngestorOptions.checkpointMessagesPerAsset}). */
  private logLimit(): number {
    return Math.min(Math.max(this.checkpointMessages, this.perAsset * this.dirty.size), MAX_LOG_FACTOR * this.checkpointMessages);
  }

  /** Adds a batch's changed rule sub-states to those the next checkpoint writes. */
  private markDirty(changed: ChangedStates, now: number): void {
    const { ids, masks } = changed;
    if (ids.length && this.dirty.size === 0) this.dirtySince = now;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as string;
      const mask = masks[i] as number;
      const was = this.dirty.get(id);
      // Most assets changed in a batch had the same rules changed since the checkpoint: nothing to set.
      if (was === undefined || (was | mask) !== was) this.dirty.set(id, (was ?? 0) | mask);
    }
  }

  /** What a checkpoint writes: every changed sub-state since the last one, as it stands now. */
  private checkpointStates(): IngestCommit['states'] {
    const out: IngestCommit['states'][number][] = [];
    this.dirty.forEach((mask, erpAssetId) => {
      const a = this.held.indexOf(erpAssetId);
      if (a !== undefined) out.push(this.changedState(erpAssetId, mask, a)); // else not reachable: a changed asset stays in memory until its checkpoint
    });
    return out;
  }

  /** One held asset's changed sub-states (the rules of `mask`), as a checkpoint stores them: fresh values, which the rules do not change afterwards. */
  private changedState(erpAssetId: string, mask: number, a: number): IngestCommit['states'][number] {
    const { doc, changed } = this.held.save(a, mask);
    return { erpAssetId, doc, changed };
  }

  /**
   * A checkpoint is due for many assets: it is stored a part per batch from this one on (see
   * {@link IngestorOptions.spreadCheckpointAssets}). It stores the assets changed by now, so once
   * it ends, the log up to this batch holds nothing the stored state lacks.
   */
  private startRound(now: number, logging: number): void {
    const ids = [...this.dirty.keys()];
    this.round = { ids, next: 0, perBatch: Math.max(this.spreadMin, Math.ceil(ids.length / SPREAD_PARTS)), logged: this.stats.logged + logging, parts: 0, stored: 0, longestMs: 0 };
    // Changes not in this round are made from now on.
    this.dirtySince = now;
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = undefined;
  }

  /**
   * This batch's part of the spread checkpoint: the round's next assets, each with every sub-state
   * changed until now (also since the round started), which then count as stored. An asset stored
   * meanwhile by a checkpoint asked for is not changed any more, and skipped.
   */
  private spreadPart(round: SpreadRound): { states: IngestCommit['states']; start: boolean; end: boolean } {
    const start = round.next === 0;
    const states: IngestCommit['states'][number][] = [];
    while (round.next < round.ids.length && states.length < round.perBatch) {
      const id = round.ids[round.next++] as string;
      const mask = this.dirty.get(id);
      const a = this.held.indexOf(id);
      if (mask === undefined || a === undefined) continue;
      states.push(this.changedState(id, mask, a));
      this.dirty.delete(id);
    }
    return { states, start, end: round.next >= round.ids.length };
  }

  /** A part of a spread checkpoint committed; the last one records the checkpoint (`stats.lastCheckpoint`). */
  private partStored(round: SpreadRound, end: boolean, assets: number, started: number): void {
    round.parts++;
    round.stored += assets;
    round.longestMs = Math.max(round.longestMs, performance.now() - started);
    if (end) this.stats.lastCheckpoint = { storedAt: this.opts.clock.now(), ms: Math.round(round.longestMs), assets: round.stored, parts: round.parts };
  }

  /** An idle service still writes held state within `checkpointMs`. */
  private armCheckpoint(): void {
    // Also for a log alone: a spread checkpoint stores the state of messages logged after it started.
    if (this.checkpointTimer || this.checkpointMs === 0 || (this.dirty.size === 0 && this.stats.logged === 0)) return;
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = undefined;
      if (this.dirty.size === 0 && this.stats.logged === 0) return;
      this.checkpointWanted = true;
      this.schedule();
    }, this.checkpointMs);
    this.checkpointTimer.unref();
  }

  /**
   * Rebuilds in-memory state from the store: stored state plus the ingest log, replayed through
   * the same pipeline with each message's original processing time. Its deliveries and quarantine
   * were committed with the log rows, so state updates and quarantine are discarded here; its facts
   * are committed again, which adds nothing (the outbox keeps one row per fact's key) unless the
   * rules changed since the messages were logged (a restart after a crash, with a new
   * configuration): a work order the new rules open within the replayed messages is then not lost
   * to a state that says it was opened. The next checkpoint stores the rebuilt state. Runs only
   * while no batch is committing.
   *
   * The replay takes a turn of the event loop before each chunk (a full log of the rules
   * benchmark's rules held it for its whole length, 1-2 s on a busy machine), so after a failed commit, with intake open, MQTT keepalives,
   * `/healthz` and timers go on while it runs. What they can start meanwhile waits for it, since
   * `needsRecovery` stays set until the state is whole: a batch (a `submit`, an idle watermark, a
   * checkpoint asked for by `checkpoint()` or its timer) is prepared in `prepareBatch`, which awaits
   * this same recovery first, and batches are prepared one at a time in queue order, so nothing is
   * prepared or committed on a half-rebuilt state and the order of messages is kept. `flush()`
   * awaits it too, and {@link idleHolding} names nobody until it is done. No commit is in flight
   * meanwhile (it starts once they have settled, and every batch waits for it), so no second
   * commit failure can land in its middle; a failed read rejects it with `needsRecovery` still
   * set, and the next attempt starts again from a cleared cache.
   */
  private recover(): Promise<void> {
    if (this.replayStopped && !this.recovering) return Promise.reject(new ReplayStoppedError());
    this.recovering ??= (async () => {
      const log = await this.opts.store.readIngestLog();
      // Assets a spread checkpoint stored part way through the log: their messages up to there are in their stored state.
      const stored = log.length ? await this.opts.store.ruleStateLogPositions() : new Map<string, number>();
      const refused: string[] = [];
      /**
       * Messages a rule threw on in an earlier pass of this replay (by their chunk's first message):
       * the rules had changed state in place, so the replay starts over without them.
       */
      const failed = new Map<number, Map<number, string>>();
      /** The replay's facts (see above), in order. */
      let facts: DeliveryIntent[] = [];
      replay: for (;;) {
        this.held.dropAll();
        this.dirty = new Map();
        this.round = undefined;
        refused.length = 0;
        facts = [];
        for (let i = 0; i < log.length; ) {
          await nextTurn(); // before the first chunk too: the log read's last part and the first chunk would otherwise run at once
          if (this.replayStopped) {
            // A stop asked for: nothing of the replay was written, so the whole log is replayed at the next start.
            this.held.dropAll();
            this.dirty = new Map();
            this.opts.logger?.warn(
              { replayed: i, messages: log.length },
              `stopped replaying the ingest log for the stop asked for, after ${i} of ${log.length} messages: nothing is lost, the next start replays the whole log`,
            );
            throw new ReplayStoppedError();
          }
          const { now, seq } = log[i] as LoggedMessage;
          let j = i + 1;
          while (j < log.length && j - i < this.maxBatch && (log[j] as LoggedMessage).now === now && (log[j] as LoggedMessage).seq === seq) j++;
          const skip = stored.size ? (id: string) => (stored.get(id) ?? -1) >= seq : undefined;
          const chunk = log.slice(i, j);
          let result: Awaited<ReturnType<Ingestor['process']>>;
          try {
            result = await this.process(chunk, now, failed.get(i), skip);
          } catch (err) {
            if (!(err instanceof MessageFailure) || failed.get(i)?.has(err.index)) throw err;
            this.reportMessageFailure(chunk, err);
            const set = failed.get(i) ?? new Map<number, string>();
            failed.set(i, set.set(err.index, err.message));
            continue replay;
          }
          const { touched, changed, outcomes, deliveries } = result;
          for (const d of deliveries) if (d.kind === 'fact') facts.push(d);
          this.markDirty(changed, now);
          for (const id of touched) this.remember(id);
          for (const o of outcomes) if (!o.accepted && refused.length < 5) refused.push(o.reason ?? 'rejected');
          i = j;
        }
        break;
      }
      // Before the state is taken as whole: a failed commit leaves the recovery to be run again.
      if (facts.length) await this.recommitFacts(facts);
      this.stats.logged = log.length;
      // Assets whose stored state holds events (checkpointed before a stop or crash) are idle
      // candidates too, though no message of theirs is in the log.
      const holdingStored = this.idleSeeded ? [] : await this.storedHolding();
      this.idleSeeded = true;
      this.needsRecovery = false;
      // Silence counts from this start: sources get `idleAfter` to deliver what queued while it was down.
      const started = this.opts.clock.now();
      for (const id of this.lastSeen.keys()) this.lastSeen.set(id, started);
      for (const id of holdingStored) if (!this.lastSeen.has(id)) this.lastSeen.set(id, started);
      if (log.length) {
        // After each of a run of failed commits: reported with the failures (once per FAILURE_REPORT_MS), not each time.
        if (this.failing === undefined || this.failing.unreported === 0) this.opts.logger?.info({ messages: log.length, assets: this.dirty.size }, 'rule state rebuilt from the ingest log');
        // Accepted when logged, refused now: the configuration changed (a decoder or a mapping
        // removed) between the crash and this start; their state changes are not rebuilt.
        if (refused.length)
          this.opts.logger?.warn({ examples: refused }, 'some logged messages were not accepted on replay (configuration changed since they were ingested); their rule-state changes are lost');
        this.armCheckpoint();
      }
    })().finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  /**
   * The facts a replay of the ingest log decided, committed again: each one the first run
   * committed adds nothing. One the outbox did not have (the rules changed since) is enqueued, and
   * logged with how many, since it is new work at the ERP.
   */
  private async recommitFacts(all: readonly DeliveryIntent[]): Promise<void> {
    // A work order the outbox holds at another destination was opened there before the crash, and
    // its asset has been moved since (the configuration changed): it is not opened again at the new
    // one (the outbox keeps a row per destination and key, so it would be; a second work order in
    // the new ERP, and feedback on the key held to the first). It stays where it was opened.
    const creates = all.filter((d) => d.operation === WORKORDER_CREATE);
    const held = creates.length ? await this.opts.store.factDeliveries(WORKORDER_CREATE, creates.map((d) => d.businessKey)) : new Map<string, { destination: string }>();
    const moved = new Set(creates.filter((d) => (held.get(d.businessKey)?.destination ?? d.destination) !== d.destination));
    const facts = moved.size ? all.filter((d) => !moved.has(d)) : all;
    if (moved.size)
      this.opts.logger?.warn(
        { workOrders: moved.size, examples: [...moved].slice(0, 5).map((d) => ({ businessKey: d.businessKey, openedAt: held.get(d.businessKey)?.destination, routedNow: d.destination })) },
        'the replay of the ingest log did not open work orders again at the destination their assets route to now: they were opened at another before the configuration changed, and stay there (only its feedback changes them)',
      );
    const enqueued = async (): Promise<number> => Object.values((await this.opts.store.counters()).factsEnqueued).reduce((a, b) => a + b, 0);
    const before = await enqueued();
    for (let i = 0; i < facts.length; i += this.maxBatch) await this.opts.store.commitIngest({ states: [], deliveries: facts.slice(i, i + this.maxBatch), quarantine: [], accepted: 0 });
    const added = (await enqueued()) - before;
    if (added > 0) this.opts.logger?.warn({ facts: added }, 'the replay of the ingest log decided facts the first run had not (the rules changed since its messages were logged): they are enqueued');
  }

  /** At start: the assets whose stored rule state holds events (read in chunks, not cached). */
  private async storedHolding(): Promise<string[]> {
    if (this.held.holding.length === 0) return [];
    // By registry record: a rule that does not apply to an asset (`appliesTo`, changed since its state was stored) holds nothing for it.
    const records = new Map((await this.opts.store.listAssetRecords()).filter((a) => !this.lastSeen.has(a.erpAssetId)).map((a) => [a.erpAssetId, a]));
    const ids = [...records.keys()];
    const out: string[] = [];
    for (let i = 0; i < ids.length; i += 1000) {
      if (i > 0) await nextTurn(); // a large fleet's states are read in turns, as the replay's chunks
      for (const [id, doc] of await this.opts.store.loadStates(ids.slice(i, i + 1000))) if (this.held.docHolds(doc, records.get(id))) out.push(id);
    }
    return out;
  }

  /**
   * {@link process}, with a message a rule (or identification) throws on set aside: it is
   * quarantined with the reason and the batch is run again without it, so one poison message
   * cannot hold up its source's whole stream (invariant 6). Rules never throw by contract; this
   * is for a bug, and costs nothing until one happens.
   */
  private async processIsolated(messages: readonly RawMessage[], now: number, epoch: number): ReturnType<Ingestor['process']> {
    let refused: Map<number, string> | undefined;
    for (;;) {
      try {
        return await this.process(messages, now, refused);
      } catch (err) {
        if (!(err instanceof MessageFailure) || refused?.has(err.index)) throw err;
        this.reportMessageFailure(messages, err);
        (refused ??= new Map()).set(err.index, err.message);
        if (err.ranRules) await this.rebuild(epoch);
      }
    }
  }

  private reportMessageFailure(messages: readonly RawMessage[], err: MessageFailure): void {
    this.opts.logger?.error({ err: err.cause, source: messages[err.index]?.source, channel: messages[err.index]?.channel }, `${err.message}; the message is quarantined and the rest of its batch goes on`);
  }

  /**
   * A rule threw part way through a batch, having changed state in place: the state is rebuilt as
   * it stood before the batch, from the store (stored state + ingest log) once the batches before
   * it have committed. One of them failing refuses this batch too (its state is rebuilt anyway).
   */
  private async rebuild(epoch: number): Promise<void> {
    while (this.committing.size) await Promise.race(this.committing);
    if (this.epoch !== epoch) throw new Error('an earlier batch failed to commit; this batch is refused and its messages will be redelivered');
    this.held.dropAll();
    this.needsRecovery = true;
    await this.recover();
  }

  /**
   * The heart (also used to replay the ingest log): runs the pipeline over messages against the
   * state held in memory at processing time `now`. The rules change that state in place; what the
   * batch stores (deliveries, quarantine, the messages to log) is returned, not stored.
   */
  private async process(
    messages: readonly RawMessage[],
    now: number,
    /** Messages to quarantine with this reason instead of running them (see {@link processIsolated}). */
    refused?: ReadonlyMap<number, string>,
    /** In a replay of the log: the assets whose stored state already includes these messages (their events are not run again). */
    skip?: (erpAssetId: string) => boolean,
  ): Promise<{
    outcomes: MessageOutcome[];
    /** The assets the rules looked at in this batch (each once): they are the most recently used. */
    touched: string[];
    /** The assets whose rule sub-states changed in this batch, with the rules' bits (`masks`, in the same order). */
    changed: ChangedStates;
    deliveries: DeliveryIntent[];
    quarantine: QuarantineEntry[];
    /** The accepted messages that changed some rule state, in order (what the ingest log keeps). */
    stateful: RawMessage[];
    /** The accepted events, for the event capture (none without one). */
    captured: CapturedEvent[];
    /** Events the rules dropped as late, per rule (undefined: none). The caller counts them: a replay of the log does not. */
    late: Record<string, number> | undefined;
    /** Events the rules dropped as duplicates, per rule (undefined: none). Counted by the caller, as `late`. */
    duplicates: Record<string, number> | undefined;
    /** Meter readings the rules held or set aside (undefined: none); counted by the caller, as `late`. */
    meterReadings: MeterReadingCounts | undefined;
  }> {
    const identity = this.opts.identity();
    const quarantine: QuarantineEntry[] = [];
    const decoded: (Decoded | SetAside)[] = [];

    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as RawMessage;
      const reason = refused?.get(i);
      if (reason !== undefined) {
        decoded.push({ code: 'invalid', reason });
        continue;
      }
      if (m.setAside !== undefined) {
        decoded.push(m.setAside);
        continue;
      }
      try {
        decoded.push(this.decodeOne(m, now, identity));
      } catch (err) {
        throw new MessageFailure(i, `identifying the message failed: ${coerceError(err).message}`, err, false);
      }
    }
    // Load state for assets not in memory, once per batch (only where a rule will read it). Each
    // event's asset index is noted on the way (-1: not held yet), so the fold below looks up only those.
    const missing = new Set<string>();
    let total = 0;
    for (const d of decoded) if ('events' in d) total += d.events.length;
    const indexes = new Int32Array(total);
    let checked: AssetRecord | undefined;
    let checkedAt = -1;
    let k = 0;
    for (const d of decoded) {
      if (!('events' in d)) continue;
      for (let e = 0; e < d.events.length; e++, k++) {
        const asset = d.assets[e] as AssetRecord;
        if (asset === checked) {
          indexes[k] = checkedAt; // a message's events share their asset
          continue;
        }
        if (!this.rulesByKind.has((d.events[e] as CanonicalEvent).kind)) {
          indexes[k] = -1;
          continue;
        }
        checked = asset;
        const id = asset.erpAssetId;
        checkedAt = this.held.indexOf(id) ?? -1;
        indexes[k] = checkedAt;
        if (checkedAt === -1) missing.add(id);
      }
    }
    const loaded = missing.size ? await this.opts.store.loadStates([...missing]) : undefined;
    // An asset with no stored state is held as such, so it is not looked up again next batch.
    if (loaded) for (const id of missing) this.held.load(id, loaded.get(id));

    const batch = ++this.batchNo;
    const touched: string[] = [];
    /** The index of each of `touched`, in the same order. */
    const touchedAt: number[] = [];
    const deliveries: DeliveryIntent[] = [];
    const outcomes: MessageOutcome[] = [];
    const stateful: RawMessage[] = [];
    const captured: CapturedEvent[] = [];
    const capture = this.opts.capture !== undefined;
    /** A watermark came earlier in this batch: an asset's later events must count as it reporting again. */
    let watermarked = false;
    let late: Record<string, number> | undefined;
    let duplicates: Record<string, number> | undefined;
    let meterReadings: MeterReadingCounts | undefined;
    k = 0;
    for (let i = 0; i < decoded.length; i++) {
      const d = decoded[i] as Decoded | SetAside;
      const m = messages[i] as RawMessage;
      if (!('events' in d)) {
        quarantine.push({ source: m.source, channel: m.channel, payload: d.payload ?? m.payload, receivedAt: m.receivedAt, code: d.code, reason: d.reason, ...(d.payloadSha256 !== undefined ? { payloadSha256: d.payloadSha256 } : {}), ...(d.version !== undefined ? { version: d.version } : {}), ...(m.replayOf !== undefined ? { replayOf: m.replayOf } : {}), ...(m.retained || m.redelivered ? { resent: true as const } : {}) });
        outcomes.push({ accepted: false, reason: d.reason, events: 0, deliveries: [] });
        continue;
      }
      /** This message's deliveries are the batch's from here on. */
      const first = deliveries.length;
      let touchedState = false;
      const { events, assets } = d;
      for (let e = 0; e < events.length; e++, k++) {
        const event = events[e] as CanonicalEvent;
        // A redelivery marked, for `rules test` to run the rules on it as here (ctx.redelivered below).
        if (capture && event.kind !== 'watermark') captured.push(m.redelivered === true ? { event, erpAssetId: (assets[e] as AssetRecord).erpAssetId, redelivered: true } : { event, erpAssetId: (assets[e] as AssetRecord).erpAssetId });
        const rules = this.rulesByKind.get(event.kind);
        if (!rules) continue; // accepted; no rule looks at this kind of event
        const asset = assets[e] as AssetRecord;
        const id = asset.erpAssetId;
        if (skip !== undefined && skip(id)) continue;
        let a = indexes[k] as number;
        if (a === -1) a = this.held.indexOf(id) ?? this.held.load(id, undefined); // loaded above (or not reachable: not looked at above)
        if (a >= this.batchMark.length) this.growMarks(a);
        if (this.batchMark[a] !== batch) {
          this.batchMark[a] = batch;
          this.batchMask[a] = 0;
          touched.push(id);
          touchedAt.push(a);
          if (event.kind !== 'watermark') this.lastSeen.set(id, now);
        } else if (watermarked && event.kind !== 'watermark') this.lastSeen.set(id, now); // it reported after a watermark of this batch (which may have let go of it)
        const ctx: RuleContext = { asset, destination: asset.destination ?? this.opts.defaultDestination, now, redelivered: m.redelivered === true };
        let mask = 0;
        // Index loops in this fold: it runs for every event, and an iterator here showed in allocation profiles.
        for (let r = 0; r < rules.length; r++) {
          const { form, name, bit, watermark } = rules[r] as RuleEntry;
          let flags: number;
          try {
            flags = watermark ? form.flush(a, ctx, event.eventTime, deliveries) : form.apply(a, event, ctx, deliveries);
          } catch (err) {
            // A bug in a rule: the batch is run again without this message, on state rebuilt as it was before the batch.
            throw new MessageFailure(i, ruleFailureReason(name, event.kind, id, err), err, true);
          }
          if ((flags & LATE) !== 0 && m.redelivered !== true) (late ??= {})[name] = (late[name] ?? 0) + 1;
          // A redelivery counts here too: the same event sent again is what this counts.
          else if ((flags & DUPLICATE) !== 0) (duplicates ??= {})[name] = (duplicates[name] ?? 0) + 1;
          if ((flags & METER_FLAGS) !== 0 && m.redelivered !== true) countMeterReadings((meterReadings ??= { held: { hours: 0, km: 0 }, setAside: { hours: 0, km: 0 } }), flags);
          if ((flags & CHANGED) !== 0) mask |= bit;
        }
        if (mask !== 0) {
          this.batchMask[a] = (this.batchMask[a] as number) | mask;
          touchedState = true;
        }
        // A watermark after which nothing is held: the asset is not idle-checked again until it reports.
        if (event.kind === 'watermark') {
          watermarked = true;
          if (!this.held.holds(a, asset)) {
            this.lastSeen.delete(id);
            this.lastNamed.delete(id);
          }
        }
      }
      if (touchedState) stateful.push(m);
      outcomes.push({ accepted: true, events: events.length, deliveries: deliveries.length > first ? deliveries.slice(first) : NO_DELIVERIES });
    }
    // Arrays, not a map per batch: one entry per asset of the batch (a map grown to a thousand entries per batch showed in allocation profiles).
    const changed: ChangedStates = { ids: [], masks: [] };
    for (let t = 0; t < touched.length; t++) {
      const mask = this.batchMask[touchedAt[t] as number] as number;
      if (mask === 0) continue;
      changed.ids.push(touched[t] as string);
      changed.masks.push(mask);
    }
    return { outcomes, touched, changed, deliveries, quarantine, stateful, captured, late, duplicates, meterReadings };
  }

  /** Room in the per-batch marks for asset index `a`. */
  private growMarks(a: number): void {
    const size = Math.max(a + 1, this.batchMark.length * 2);
    const mark = new Int32Array(size);
    mark.set(this.batchMark);
    this.batchMark = mark;
    const mask = new Int32Array(size);
    mask.set(this.batchMask);
    this.batchMask = mask;
  }

  private decodeOne(
    m: RawMessage,
    now: number,
    identity: IdentityIndex,
  ): Decoded | SetAside {
    const size = typeof m.payload === 'string' ? Buffer.byteLength(m.payload) : m.payload.byteLength;
    const limit = this.opts.maxPayloadBytes ?? 1_048_576;
    if (size > limit) return { code: 'too-large', ...tooLarge(m.payload, size, limit) };
    const decoder = this.opts.decoders.get(m.source);
    if (!decoder) return { code: 'undecodable', reason: `no decoder configured for source "${m.source}"` };
    let result;
    try {
      result = decoder(m);
    } catch (err) {
      // Decoders must not throw; if one does, the message is still kept, not lost.
      return { code: 'undecodable', reason: `decoder failed: ${coerceError(err).message}` };
    }
    if (!result.ok) return { code: 'undecodable', reason: result.reason };
    if (result.events.length === 0) return { code: 'undecodable', reason: 'payload holds no event (no position, meter, sensor or alert values found)' };
    // Sized up front: an empty array pushed to reserves room for 17, and this is one per message.
    const assets = new Array<AssetRecord>(result.events.length);
    // The events of one message usually share their identifiers (the same array): resolved once.
    let ids: CanonicalEvent['ids'] | undefined;
    let asset: AssetRecord | undefined;
    let events: CanonicalEvent[] | undefined;
    for (let e = 0; e < result.events.length; e++) {
      const event = result.events[e] as CanonicalEvent;
      const v = validateEvent(event, now, this.opts.validation);
      if (!v.ok) return { code: v.code, reason: v.reason };
      if (event.ids !== ids || asset === undefined) {
        const r = identity.resolve(event.ids);
        if (!r.ok) return { code: 'unknown-asset', reason: r.reason };
        ids = event.ids;
        asset = r.asset;
      }
      assets[e] = asset;
      // A reading in another unit than the threshold rules that apply to its asset (°F for a rule
      // in °C) is converted; one that does not convert is refused. Judged here, once the asset is
      // known: a rule that does not apply to it refuses nothing.
      const units = this.opts.validation.sensorUnits;
      if (units !== undefined && event.kind === 'sensor') {
        const aligned = alignSensorUnits(event, units, asset);
        if (!aligned.ok) return { code: 'invalid', reason: aligned.reason };
        if (aligned.event !== event) (events ??= [...result.events])[e] = aligned.event;
      }
    }
    return { events: events ?? result.events, assets };
  }

  /**
   * A committed batch's timings: a checkpoint's in `stats`, and all to `onBatch`. A failing
   * observer is logged, never fails the batch (it has committed).
   */
  private observe(batch: readonly Pending[], started: number, checkpointAssets: number | undefined, spreadPart: boolean): void {
    const end = performance.now();
    if (checkpointAssets !== undefined && !spreadPart) this.stats.lastCheckpoint = { storedAt: this.opts.clock.now(), ms: Math.round(end - started), assets: checkpointAssets };
    if (!this.opts.onBatch) return;
    let messages = 0;
    let oldest = Infinity;
    for (const p of batch) {
      messages += p.messages.length;
      if (p.at < oldest) oldest = p.at;
    }
    try {
      this.opts.onBatch({
        messages,
        ...(batch.length ? { waitSeconds: (end - oldest) / 1000 } : {}),
        ...(checkpointAssets !== undefined ? { checkpoint: { seconds: (end - started) / 1000, assets: checkpointAssets } } : {}),
      });
    } catch (err) {
      this.opts.logger?.warn({ err: coerceError(err) }, 'recording ingest timings failed; the batch is committed');
    }
  }

  /** A held asset the batch looked at is the most recently used; a full cache lets the least recently used go. */
  private remember(id: string): void {
    // Order is kept once the cache is half full: before, nothing is evicted, and an asset used
    // since then still comes after every one that was not (one Map move per asset and batch saved).
    if (this.held.size <= this.cacheSize / 2) return;
    const a = this.held.indexOf(id);
    if (a === undefined) return;
    this.held.touch(id, a);
    if (this.held.size <= this.cacheSize) return;
    // Evict the least recently used asset whose state is stored; one whose change is held only in
    // memory (or in a checkpoint still committing) stays, and a checkpoint is asked for when those
    // crowd the cache.
    let scanned = 0;
    for (const key of this.held.ids()) {
      if (!this.dirty.has(key) && !this.storing.has(key)) {
        this.held.drop(key);
        return;
      }
      if (++scanned === 64) break;
    }
    this.checkpointWanted = true;
  }
}

/** A message of a batch that a rule (or identification) threw on: set aside by {@link Ingestor.processIsolated}. */
class MessageFailure extends Error {
  constructor(
    readonly index: number,
    message: string,
    cause: unknown,
    /** The rules had run on the batch (and may have changed state in place) when it was thrown. */
    readonly ranRules: boolean,
  ) {
    super(message, { cause });
  }
}

/**
 * Within one batch, only the newest value of each state key can matter (the store would coalesce
 * them anyway: at one event time, as here, the later value wins); dropping the rest here saves
 * their hashing and SQL. Facts are all kept, in order.
 */
export function coalesceStates(deliveries: readonly DeliveryIntent[]): readonly DeliveryIntent[] {
  // destination → operation → business key → index of the newest (no key strings built per delivery).
  const newest = new Map<string, Map<string, Map<string, number>>>();
  let replaced = false;
  deliveries.forEach((d, i) => {
    if (d.kind !== 'state') return;
    let byOperation = newest.get(d.destination);
    if (!byOperation) newest.set(d.destination, (byOperation = new Map()));
    let byKey = byOperation.get(d.operation);
    if (!byKey) byOperation.set(d.operation, (byKey = new Map()));
    const prev = byKey.get(d.businessKey);
    if (prev === undefined) byKey.set(d.businessKey, i);
    else {
      replaced = true;
      if ((deliveries[prev] as DeliveryIntent).eventTime <= d.eventTime) byKey.set(d.businessKey, i);
    }
  });
  if (!replaced) return deliveries;
  const keep = new Set<number>();
  for (const byOperation of newest.values()) for (const byKey of byOperation.values()) for (const i of byKey.values()) keep.add(i);
  return deliveries.filter((d, i) => d.kind === 'fact' || keep.has(i));
}

/** A work-order update an ERP poll listed (source `erp-feedback:<destination>`, its polled channel). Most messages are not ERP feedback: told by the prefix alone. */
function isPolled(m: RawMessage): boolean {
  return m.source.startsWith(FEEDBACK_SOURCE) && feedbackOrigin(m.source, m.channel)?.via === 'polled';
}
