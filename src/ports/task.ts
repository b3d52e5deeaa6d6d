/**
 * Scheduled tasks: periodic work outside the event flow (inventory snapshots, period-end usage
 * postings, polling an ERP for work-order completions). The engine runs each on its schedule, one
 * run at a time, and gives it a context whose writes are durable before `run` resolves.
 * @module
 */
import type { DeliveryIntent } from '../core/model/delivery.js';
import type { ErpConnector, SendContext } from './connector.js';
import type { Clock } from './clock.js';
import type { RawMessage } from '../core/model/messages.js';
import type { IngestSink, SubmitResult } from './source.js';
import type { Store } from './store.js';

export interface TaskContext {
  readonly store: Store;
  readonly clock: Clock;
  /** Submit raw messages (e.g. ERP feedback as canonical JSON events) through the normal pipeline. */
  readonly sink: IngestSink;
  /** Commit deliveries to the outbox in one transaction. */
  commit(deliveries: readonly DeliveryIntent[]): Promise<void>;
  /**
   * Wake the dispatcher: the task enqueued deliveries with a store call of its own (a decision
   * recorded with its facts in one transaction), not with `commit`. Absent: they wait for its poll.
   */
  readonly notify?: () => void;
  /**
   * Make the stored per-asset rule state current before reading it (`store.loadStates`): the
   * ingestor holds recent changes in memory until its next checkpoint.
   */
  checkpoint(): Promise<void>;
  /** Assets silent for `idleMs` whose rules hold events (each named once per quiet spell). */
  idleHolding(idleMs: number): readonly string[];
  /** Submit the engine's own messages (idle watermarks) through the pipeline, outside the input counts. */
  submitInternal(messages: readonly RawMessage[]): Promise<SubmitResult>;
  connector(destination: string): ErpConnector | undefined;
  /**
   * Run a connector call (a poll of the ERP) within the destination's limits, as deliveries are:
   * after a concurrency slot, a rate token and any 429 pause; a 429 answer pauses the destination.
   */
  withinLimits<T>(destination: string, call: (ctx: SendContext) => Promise<T>): Promise<T>;
  readonly signal: AbortSignal;
}

export interface ScheduledTask {
  readonly name: string;
  /**
   * A cron expression (5 fields, UTC unless `timeZone`) or a fixed interval in ms; an interval's
   * first run may come sooner after the start (`firstAfterMs`), for hourly work that a service
   * restarted more often than hourly would otherwise never do.
   */
  readonly schedule: { readonly cron: string; readonly timeZone?: string } | { readonly everyMs: number; readonly firstAfterMs?: number };
  /** Resolves with a report when the run did something an operator should see in the log (at info, or its `level`). */
  run(ctx: TaskContext): Promise<TaskReport | void>;
}

/** What a task run did, for the log: a message and its fields. */
export interface TaskReport {
  /** `warn`: the run succeeded, but on terms an operator should act on. @default info */
  readonly level?: 'info' | 'warn';
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/**
 * Thrown by a task's run that stopped before it finished for a reason that is no failure (a
 * telematics pull that would wait too long for its provider's request budget): the scheduler
 * retries it as it retries a failure (a cron task 5 min later, backing off to hourly), but logs it
 * at info, saying it will retry, and does not count it as failed (`status` shows no FAILING line).
 */
export class TaskRetryLater extends Error {
  override readonly name = 'TaskRetryLater';
}
