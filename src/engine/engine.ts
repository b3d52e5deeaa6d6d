/**
 * The engine's lifecycle: start the stages in order, keep a runtime snapshot in the store for
 * `assetbridge status`, pick up control requests from the CLI (identity reloads, and jobs such as
 * a quarantine replay or an on-demand telematics pull), and stop gracefully: intake first, then
 * jobs and scheduled tasks, the ingest queue, dispatch (within the grace period) and finally the store.
 * `stop()` is idempotent.
 * @module
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { IdentityIndex } from '../core/identity/resolver.js';
import { coerceError } from '../core/errors/errors.js';
import { storeErrorAdvice, storeErrorCode } from '../core/errors/store-errors.js';
import type { Clock } from '../ports/clock.js';
import type { ErpConnector } from '../ports/connector.js';
import type { IngestSink, RefusedSubscription, Source, SourceStats, SubmitResult } from '../ports/source.js';
import type { Store } from '../ports/store.js';
import type { DestinationMetrics, Dispatcher } from './dispatcher.js';
import type { Ingestor, IngestStats } from './ingestor.js';
import type { TaskScheduler, TaskStats } from './scheduler.js';
import { formatReplaySummary, replayQuarantine } from './replay.js';
import type { PushReader } from './work-order-push.js';
import type { EventCapture } from '../ports/capture.js';
import { pidAlive, pidSpace, samePidSpace, storedHolder, type IsAlive } from './store-lease.js';

export type EngineState = 'idle' | 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

export const CONTROL_NS = 'control';
export const RUNTIME_NS = 'runtime';
/** `runtime/<this>`: the identity generation the running service identifies events with (see `awaitIdentityReload`). */
export const IDENTITY_LOADED_KEY = 'identity-generation-loaded';

/** What a service writes of itself each second (`runtime/snapshot`), for `status` and the CLI. */
export interface RuntimeSnapshot {
  readonly pid: number;
  readonly state: EngineState;
  /** What a starting service is doing (state `starting`). */
  readonly startStep?: string;
  /** State `failed` written by a stop that failed (a step of it, as the ingest flush, threw; the process exits 1), not by a start. */
  readonly stopFailed?: boolean;
  readonly startedAt?: number;
  /** When it was written (epoch ms): a service that stops writing is gone. */
  readonly at: number;
  readonly ingest?: Partial<IngestStats> & { readonly captured?: number; readonly captureDropped?: number };
  readonly destinations?: Readonly<Record<string, DestinationMetrics>>;
  readonly sources?: Readonly<Record<string, { readonly connected?: boolean; readonly refusedSubscriptions?: readonly RefusedSubscription[]; readonly connectionError?: { readonly key: string; readonly error: string }; readonly stats?: SourceStats }>>;
  readonly tasks?: Readonly<Record<string, TaskStats>>;
}

/**
 * The runtime snapshot a service left in the store; undefined when there is none, or none this
 * version can read (damaged, or without its pid, state and time): then no service is taken to run.
 */
export async function readRuntimeSnapshot(store: Pick<Store, 'kvGet'>): Promise<RuntimeSnapshot | undefined> {
  const raw = await store.kvGet(RUNTIME_NS, 'snapshot');
  if (raw === undefined) return undefined;
  let snap: unknown;
  try {
    snap = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof snap !== 'object' || snap === null) return undefined;
  const s = snap as Record<string, unknown>;
  return typeof s.pid === 'number' && typeof s.state === 'string' && typeof s.at === 'number' ? (snap as RuntimeSnapshot) : undefined;
}
/** The job every service runs for `assetbridge quarantine replay`; its args are the replay filter. */
export const QUARANTINE_REPLAY_JOB = 'quarantine-replay';
/** Submits canonical JSON events (args: `{ events: unknown[] }`) through the service's pipeline, as source `cli`. */
export const SUBMIT_EVENTS_JOB = 'submit-events';
/** Stores the rule state the service holds in memory (a checkpoint), for a command that then reads it (`depreciation post`). */
export const CHECKPOINT_JOB = 'checkpoint';

/** What a job run for the CLI through the service returns: its exit code and what it printed. */
export interface JobResult {
  readonly exitCode: number;
  readonly output: string;
  /** What the CLI prints on stderr (an error, progress notes), apart from `output`. */
  readonly errors?: string;
}
/** A job the CLI may ask the running service to run (it owns the store and the pipeline state). */
/**
 * A job the CLI asks the service to run. `progress` (a line such as `replaying 500/1200`) is kept
 * for the command waiting on it (`requestJob`'s `onProgress`), at most about once a second.
 */
export type Job = (args: unknown, signal: AbortSignal, progress?: (text: string) => void) => Promise<JobResult>;

/** How often a job's progress is written for the command waiting on it, at most. */
const JOB_PROGRESS_EVERY_MS = 1000;

/** Job results not collected within this are deleted by the service. */
const ORPHAN_RESULT_MS = 86_400_000;

/** When a job was requested, from its id (`<pid>-<epoch ms>-<random>`); 0 when the id is not ours. */
function jobRequestedAt(id: string): number {
  const t = Number(id.split('-')[1]);
  return Number.isFinite(t) ? t : 0;
}

/**
 * When a job's result was stored (its `storedAt`), for the orphan cleanup: not when it was asked
 * for, or the result of a job that ran longer than a day (a backfill under a tight request budget,
 * which its command waits 48 h for) would be deleted before its command read it. A result without
 * it (an older version's) goes by its request time.
 */
function jobResultStoredAt(id: string, value: string | undefined): number {
  try {
    const at = (JSON.parse(value ?? '') as { storedAt?: unknown }).storedAt;
    if (typeof at === 'number' && Number.isFinite(at)) return at;
  } catch {
    // not ours to read: by its request time
  }
  return jobRequestedAt(id);
}

/** A job withdrawn (the CLI was interrupted) before the service took it up: nothing of it was done. */
export class JobWithdrawnError extends Error {
  constructor(name: string) {
    super(`interrupted before the service started "${name}": nothing was done`);
    this.name = 'JobWithdrawnError';
  }
}

/**
 * The CLI's side: ask the running service to run `name`, and wait for its result. When `signal`
 * aborts (Ctrl-C), a request the service has not taken up yet is withdrawn ({@link JobWithdrawnError});
 * one it runs is asked to stop (its job's signal aborts), and its result, what it did until then,
 * is still waited for.
 */
export async function requestJob(
  store: Store,
  name: string,
  args: unknown,
  opts: { timeoutMs: number; pollMs?: number; signal?: AbortSignal; /** The job's progress lines, as the service writes them (a new one at most about once a second). */ onProgress?: (text: string) => void },
): Promise<JobResult> {
  const id = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  await store.kvSet(CONTROL_NS, `job-request:${id}`, JSON.stringify({ name, args }));
  const deadline = Date.now() + opts.timeoutMs;
  const pollMs = opts.pollMs ?? 250;
  let checkedAt = Date.now();
  let cancelled = false;
  // The service that takes the request: the store's lease holder (its instance) when the request
  // was last seen waiting; once it is gone (taken), the holder then. A holder that loses the store's
  // lease can store no result (its store refuses every write): when another process holds the lease
  // after the job was taken, no result comes, and the wait ends at once rather than at its timeout.
  // A request still waiting when the holder changes is the new holder's to take.
  let takenBy: { readonly instance: string | undefined } | undefined;
  let lastProgress: string | undefined;
  const resultOf = async (): Promise<JobResult | undefined> => {
    const res = await store.kvGet(CONTROL_NS, `job-result:${id}`);
    if (res === undefined) return undefined;
    await store.kvDelete(CONTROL_NS, `job-result:${id}`);
    // Without the service's own bookkeeping (when it stored it).
    const { storedAt: _storedAt, ...result } = JSON.parse(res) as JobResult & { storedAt?: number };
    return result;
  };
  for (;;) {
    if (opts.signal?.aborted && !cancelled) {
      cancelled = true;
      if (await store.kvDelete(CONTROL_NS, `job-request:${id}`)) throw new JobWithdrawnError(name);
      await store.kvSet(CONTROL_NS, `job-cancel:${id}`, '1');
    }
    const result = await resultOf();
    if (result) return result;
    if (opts.onProgress) {
      const progress = await store.kvGet(CONTROL_NS, `job-progress:${id}`);
      if (progress !== undefined && progress !== lastProgress) opts.onProgress((lastProgress = progress));
    }
    // The request read before the holder: a request gone while the holder read after is the one that
    // asked for it was taken by that holder (a new holder takes over only once the old one stopped renewing).
    const waiting = takenBy === undefined && (await store.kvGet(CONTROL_NS, `job-request:${id}`)) !== undefined;
    const holder = (await storedHolder(store))?.instance;
    if (takenBy === undefined && !waiting) takenBy = { instance: holder };
    else if (takenBy !== undefined && holder !== undefined && holder !== takenBy.instance) {
      // Stored just before the loss: still its result.
      const late = await resultOf();
      if (late) return late;
      await store.kvDelete(CONTROL_NS, `job-cancel:${id}`);
      throw new Error(
        `the service that took "${name}" lost the store (another process holds its lease now), so it cannot store the job's result; it may have done part of it: check \`assetbridge status\` and its logs, then run the command again`,
      );
    }
    // A service that stopped (or died) will not answer: say so now, not at the deadline (an `aemp pull` waits hours).
    if (Date.now() - checkedAt >= pollMs * 8) {
      checkedAt = Date.now();
      const gone = await serviceGone(store, checkedAt);
      if (gone !== undefined) {
        await store.kvDelete(CONTROL_NS, `job-request:${id}`);
        await store.kvDelete(CONTROL_NS, `job-cancel:${id}`);
        throw new Error(`the service ${gone} before it finished "${name}"; it may have done part of it: check \`assetbridge status\` and its logs, then run the command again (with no service running, the command does the work itself)`);
      }
    }
    if (Date.now() > deadline) {
      await store.kvDelete(CONTROL_NS, `job-request:${id}`);
      await store.kvDelete(CONTROL_NS, `job-cancel:${id}`);
      throw new Error(`the running service did not finish "${name}" within ${Math.round(opts.timeoutMs / 1000)} s; it may still be running: check its logs and \`assetbridge status\``);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** A running service writes its snapshot every second; one this much older has died without saying so. */
const SNAPSHOT_STALE_MS = 15_000;

/**
 * Why the service asked for a job can no longer answer (it stopped, failed, its process is gone, or
 * its snapshot is stale), else undefined. A service on this host whose pid is gone (kill -9, the
 * OOM killer) is said at once, from the store lease it held, not once its snapshot is stale.
 */
async function serviceGone(store: Store, now: number, isAlive: IsAlive = pidAlive, space: string | undefined = pidSpace()): Promise<string | undefined> {
  const snap = await readRuntimeSnapshot(store);
  if (snap === undefined) return 'is not running';
  if (snap.state === 'stopped' || snap.state === 'failed') return snap.state === 'failed' ? 'failed' : 'stopped';
  const holder = await storedHolder(store);
  // In this pid namespace only: from another container given the same hostname its pid cannot be seen.
  if (holder && holder.pid === snap.pid && samePidSpace(holder, hostname(), space) && !isAlive(holder.pid, holder.started)) return `ended (its process, pid ${snap.pid} on this host, is gone)`;
  if (now - snap.at > SNAPSHOT_STALE_MS) return `stopped answering (its status was last written ${Math.round((now - snap.at) / 1000)} s ago)`;
  return undefined;
}

/** Canonical JSON events through the pipeline (source `cli`): what the CLI submits itself or asks a running service to. */
export function submitEvents(sink: IngestSink, events: readonly unknown[], now: number): Promise<SubmitResult> {
  return sink.submit(events.map((e) => ({ source: 'cli', channel: 'cli', payload: JSON.stringify(e), receivedAt: now })));
}

export interface EngineParts {
  readonly store: Store;
  readonly clock: Clock;
  readonly ingestor: Ingestor;
  readonly dispatcher: Dispatcher;
  readonly scheduler: TaskScheduler;
  readonly sources: readonly Source[];
  readonly identity: { current: IdentityIndex };
  readonly logger: Logger;
  readonly graceMs: number;
  /**
   * The telematics feeds (config `telematics`), for the start log line: each one's name and when
   * the service pulls it (`0 3 * * * UTC`), or `off` when only `aemp pull` does.
   */
  readonly feeds?: readonly { readonly name: string; readonly schedule: string }[];
  /** The store's file (`store.path`) and the destinations delivered to, for the start log line: which service this is. */
  readonly storePath?: string;
  readonly destinations?: readonly string[];
  /** Extra edge components (HTTP server) closed after sources. */
  readonly closers?: (() => Promise<void>)[];
  /** The destinations' connectors, closed once dispatch has stopped (`ErpConnector.close`: what a connector holds). */
  readonly connectors?: readonly Pick<ErpConnector, 'name' | 'close'>[];
  /** The store lease (one pipeline per embedded store), let go just before the store closes. */
  readonly lease?: { release(): Promise<void> };
  /**
   * How each destination reads its ERP's work-order pushes (its webhook's reading), by name:
   * `quarantine replay` runs a pushed record the webhook could not read (or a polled one the poll
   * could not read) through it again.
   */
  readonly pushReaders?: ReadonlyMap<string, PushReader>;
  /**
   * The ingestor's event capture, when there is one: the snapshot's captured and not-kept counts are
   * its own, which count an event as captured only once its write finished (the ingestor counts
   * what the capture took, a write that fails later included).
   */
  readonly capture?: EventCapture;
  /**
   * An error's text as the runtime snapshot and `/readyz` record it (`status`, `/v1/status`,
   * `/metrics` read them): the composition root redacts it as a log line is (the config's secret
   * values, a URL's password, a token), for a failure's message may quote what it was given.
   * @default the text as it is
   */
  readonly redact?: (text: string) => string;
}

export class Engine {
  state: EngineState = 'idle';
  /** What `start()` is doing now (what `/readyz` names while it is not ready). */
  private startStep = '';
  readonly startedAt: number;
  private stopping: Promise<void> | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private identityGeneration = '';
  /** The generation last written as `runtime/identity-generation-loaded` (undefined: not yet). */
  private identityLoadedWritten: string | undefined;
  /** An identity registry swap under way (see {@link tick}). */
  private reloading: Promise<void> | undefined;
  /** The last reason a swap failed, so its repeats are logged at debug. */
  private reloadFailure: string | undefined;
  private ticking = false;
  /** Why this process may write the store no more ({@link halt}: its lease is lost); undefined while it may. */
  private halted: string | undefined;
  private readonly jobs = new Map<string, Job>();
  private readonly runningJobs = new Set<Promise<void>>();
  private readonly jobAbort = new AbortController();
  /** The jobs running for the CLI by request id: one the CLI asks to stop (`job-cancel:<id>`, its Ctrl-C) is aborted. */
  private readonly jobControllers = new Map<string, AbortController>();
  /** The failure of the last housekeeping tick, while they fail: logged once; a store error also makes `/readyz` 503. */
  private housekeepingFailure: { message: string; storeAdvice: string | undefined; ticks: number } | undefined;

  constructor(readonly parts: EngineParts) {
    this.startedAt = parts.clock.now();
    this.registerJob(QUARANTINE_REPLAY_JOB, async (filter, signal, progress) => {
      // Ctrl-C on the command stops it between two chunks, with what was replayed until then.
      // How far it got goes to the command (a million entries take minutes), as the command's own replay shows it.
      const summary = await replayQuarantine(parts.store, parts.ingestor, filter as { ids?: number[]; code?: string }, (done, total) => progress?.(`replaying ${done}/${total}`), signal, parts.pushReaders);
      // Ids named that were not open, or stopped part-way: 1, as `dlq replay`, `quarantine discard` and an interrupted `aemp pull` do.
      return { exitCode: summary.interrupted || summary.skipped?.length ? 1 : 0, output: formatReplaySummary(summary) };
    });
    this.registerJob(SUBMIT_EVENTS_JOB, async (args) => {
      const result = await submitEvents(parts.ingestor, (args as { events: unknown[] }).events, parts.clock.now());
      // The commands that hand an event here (`maintenance complete`, `assets reset-meter`) tell the
      // operator to look at `maintenance status` / `assets meters`, which read the stored rule
      // state: store it now, or they would show the state before the event for up to checkpointMs.
      if (result.accepted > 0) await parts.ingestor.checkpoint();
      return { exitCode: result.quarantined.length ? 1 : 0, output: JSON.stringify(result) };
    });
    this.registerJob(CHECKPOINT_JOB, async () => {
      await parts.ingestor.checkpoint();
      return { exitCode: 0, output: '' };
    });
  }

  /** Lets the CLI run `name` through this service (`requestJob`). Register before `start()`. */
  registerJob(name: string, job: Job): void {
    this.jobs.set(name, job);
  }

  /**
   * Before {@link start}, while the app is still being made (the composition root replays an ingest
   * log a crash left before the config's assets change the registry, which can take minutes): from
   * here the runtime snapshot says the service is starting and what it does (`step`), as it does
   * through the replay {@link start} runs, so `status` does not say "not running" meanwhile, nor a
   * refused command that the store's holder is no starting service. Kept up until {@link start}
   * takes over, or {@link withdraw} when the app is closed without starting.
   */
  async announce(step: string): Promise<void> {
    if (this.halted !== undefined || this.stopping !== undefined || (this.state !== 'idle' && this.state !== 'starting')) return;
    this.state = 'starting';
    this.startStep = step;
    // Unref'd until start(): an app closed without starting must not be kept alive by it.
    this.ticker ??= setInterval(() => void this.tick(), 1000).unref();
    await this.tick();
  }

  /**
   * An app {@link announce}d but closed without {@link start} (a failed or stopped start): the
   * snapshot stops saying it is starting, and says how that start ended (`failed`: its log says why).
   * `unannounced`: a service's start that failed before it announced anything (a port in use) says
   * so too; a command's app that was never the service (`idle`, the default) writes nothing.
   */
  async withdraw(outcome: 'stopped' | 'failed', unannounced = false): Promise<void> {
    if (this.halted !== undefined || this.stopping !== undefined || !(this.state === 'starting' || (unannounced && this.state === 'idle'))) return;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.state = outcome;
    await this.parts.store.kvSet(RUNTIME_NS, 'snapshot', JSON.stringify(await this.snapshot()));
  }

  /**
   * The store's lease is lost (another process took it over, or the store's file went away): from
   * now on this engine writes nothing to the store and takes no work, at once, in the time before
   * the process exits (its log line is written out first, up to 1 s). No tick (the runtime
   * snapshot would overwrite the new holder's, a CLI job meant for it would be taken here and fail),
   * the jobs running here are stopped and so are the scheduled tasks; its stop, if one comes,
   * writes no last snapshot. `/readyz` says why.
   */
  halt(why: string): void {
    if (this.halted !== undefined) return;
    this.halted = why;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.jobAbort.abort(new Error(why));
    this.parts.scheduler.stop().catch((err: unknown) => this.parts.logger.debug({ err: coerceError(err) }, 'stopping the scheduled tasks after the store lease was lost'));
  }

  async start(): Promise<void> {
    const p = this.parts;
    // Stopped before it started (a signal while the HTTP server was being opened): nothing starts.
    if (this.stopping !== undefined) return;
    // The store's lease was lost while the app was made (a long replay): the process is ending.
    if (this.halted !== undefined) throw new Error(this.halted);
    this.state = 'starting';
    // A stop() while starting (a signal during a long ingest-log replay or a slow connect) wins:
    // nothing starts after it, and a source that was starting is stopped again once it has.
    // So does a lost store lease (halt): nothing more starts, no scheduled task is armed again.
    const stopped = () => this.stopping !== undefined || this.halted !== undefined;
    try {
      this.identityGeneration = (await p.store.kvGet(CONTROL_NS, 'identity-generation')) ?? '';
      // Rule state a crash left only in the ingest log is rebuilt and stored before intake starts.
      this.startStep = 'replaying the ingest log (rule state after a crash)';
      // The snapshot from here on: through a long replay, `status` sees the service starting and
      // what it does (not "not running" with the log "from a run that did not stop cleanly"), and
      // a command refused the store is told it is starting; then delivery (and HTTP intake) while
      // a source may take long to connect (a broker down at start). Before any wait, so a stop
      // begun meanwhile finds the ticker to clear.
      // (Already ticking when the app was made announced: then it keeps the process alive from here.)
      this.ticker ??= setInterval(() => void this.tick(), 1000);
      this.ticker.ref();
      await this.tick();
      if (stopped()) return;
      await p.ingestor.flush();
      if (stopped()) return;
      this.startStep = 'starting delivery';
      await p.dispatcher.start();
      if (stopped()) return;
      for (const s of p.sources) {
        if (stopped()) return;
        this.startStep = `connecting source ${s.name} (the log says why, if it cannot)`;
        await this.tick();
        await s.start(p.ingestor);
        if (stopped()) return await s.stop();
      }
      if (stopped()) return;
      p.scheduler.start();
      this.state = 'running';
      await this.tick();
      p.logger.info(
        {
          ...(p.storePath !== undefined ? { store: p.storePath } : {}),
          destinations: p.destinations ?? [],
          sources: p.sources.map((s) => s.name),
          feeds: p.feeds ?? [],
          assets: p.identity.current.size,
        },
        'assetbridge running',
      );
    } catch (err) {
      this.state = 'failed';
      await this.stop().catch(() => undefined);
      throw err;
    }
  }

  /** Running, and the store can be written (`/readyz`). */
  ready(): boolean {
    return this.notReadyReason() === undefined;
  }

  /** Why the engine is not ready (`/readyz` answers 503 with it); undefined while it runs. */
  notReadyReason(): string | undefined {
    if (this.halted !== undefined) return this.halted;
    switch (this.state) {
      case 'idle':
        return 'not started yet';
      case 'starting':
        return `starting: ${this.startStep}`;
      case 'running': {
        // The tick writes the runtime snapshot every second: a store that refuses it (a full disk, a
        // lock held by another process) refuses ingest commits too, so the HTTP intake answers 503.
        const advice = this.housekeepingFailure?.storeAdvice;
        return advice === undefined ? undefined : `the store cannot be written (${this.shown(this.housekeepingFailure?.message ?? '')}): ${advice}`;
      }
      case 'draining':
        return 'stopping';
      case 'stopped':
        return 'stopped';
      case 'failed':
        return 'failed: the log says why';
    }
  }

  /**
   * Once a second: runtime snapshot, identity changes, control requests from the CLI (these two once
   * running). Through a stop too, until its last snapshot: `status` says the service is stopping.
   */
  private async tick(): Promise<void> {
    if (this.halted !== undefined || this.ticking || (this.state !== 'running' && this.state !== 'starting' && this.state !== 'draining')) return;
    this.ticking = true;
    const p = this.parts;
    try {
      await p.store.kvSet(RUNTIME_NS, 'snapshot', JSON.stringify(await this.snapshot()));
      if (this.state !== 'running') return;
      // The generation events are identified with, for `assets import` / `assets confirm`, which wait for it.
      if (this.identityLoadedWritten !== this.identityGeneration) {
        await p.store.kvSet(RUNTIME_NS, IDENTITY_LOADED_KEY, this.identityGeneration);
        this.identityLoadedWritten = this.identityGeneration;
      }
      const gen = (await p.store.kvGet(CONTROL_NS, 'identity-generation')) ?? '';
      if (gen !== this.identityGeneration && this.reloading === undefined) {
        // Recorded once swapped: a failed read or checkpoint is tried again next tick, not skipped until the next import.
        const next = new IdentityIndex(await p.store.listAssets());
        // Swapped with intake held, after a checkpoint: the ingest log then holds no message
        // identified under the old registry, so a replay of it (after a crash or a failed commit)
        // gives each message the asset it was first given. Apart from the tick, which goes on
        // writing the snapshot meanwhile (a large fleet's checkpoint takes seconds, and the CLI
        // takes a snapshot older than that for a service that is gone).
        this.reloading = p.ingestor
          .exclusively(() => {
            p.identity.current = next;
            return Promise.resolve();
          })
          .then(
            () => {
              this.identityGeneration = gen;
              this.reloadFailure = undefined;
              p.logger.info({ assets: p.identity.current.size }, 'identity registry reloaded');
            },
            (err: unknown) => {
              const e = coerceError(err);
              if (this.reloadFailure === e.message) return p.logger.debug({ err: e }, 'reloading the identity registry failed again the same way');
              this.reloadFailure = e.message;
              p.logger.error({ err: e }, 'reloading the identity registry failed (it needs a checkpoint of the rule state first); it is tried again each second');
            },
          )
          .finally(() => (this.reloading = undefined));
      }
      await this.pickUpJobs();
      if (this.housekeepingFailure) p.logger.info({ failedTicks: this.housekeepingFailure.ticks }, 'engine housekeeping works again');
      this.housekeepingFailure = undefined;
    } catch (err) {
      // Once a second: the same failure (a full disk) is logged once at error, its repeats at debug.
      const e = coerceError(err);
      const storeAdvice = storeErrorAdvice(storeErrorCode(err));
      const prior = this.housekeepingFailure;
      this.housekeepingFailure = { message: e.message, storeAdvice, ticks: (prior?.ticks ?? 0) + 1 };
      if (prior?.message === e.message) p.logger.debug({ err: e, failedTicks: this.housekeepingFailure.ticks }, 'engine housekeeping failed again the same way');
      else p.logger.error({ err: e }, `engine housekeeping failed${storeAdvice === undefined ? '' : `; /readyz answers 503 until the store can be written: ${storeAdvice}`} (repeats are logged at debug)`);
    } finally {
      this.ticking = false;
    }
  }

  /** Starts each job the CLI asked for; it runs apart from the tick, and its result goes to the store. */
  private async pickUpJobs(): Promise<void> {
    const p = this.parts;
    for (const { key, value } of await p.store.kvList(CONTROL_NS)) {
      // A result nobody collected (the CLI gave up waiting) goes a day after it was stored.
      if (key.startsWith('job-result:') && p.clock.now() - jobResultStoredAt(key.slice('job-result:'.length), value) > ORPHAN_RESULT_MS) {
        await p.store.kvDelete(CONTROL_NS, key);
        continue;
      }
      if (key.startsWith('job-cancel:')) {
        // The CLI waiting for it was interrupted: the job stops as at a service stop, and its result (what it did) still goes back.
        const controller = this.jobControllers.get(key.slice('job-cancel:'.length));
        if (controller && !controller.signal.aborted) {
          p.logger.info({ job: key.slice('job-cancel:'.length) }, 'stopping a job: the command that asked for it was interrupted');
          controller.abort(new Error('interrupted'));
        }
        await p.store.kvDelete(CONTROL_NS, key);
        continue;
      }
      if (!key.startsWith('job-request:') || !value) continue;
      const id = key.slice('job-request:'.length);
      // Taken by whoever deletes it (a CLI that gave up deletes it too); handshake rows do not pile up.
      if (!(await p.store.kvDelete(CONTROL_NS, key))) continue;
      const { name, args } = JSON.parse(value) as { name: string; args: unknown };
      const job = this.jobs.get(name);
      const controller = new AbortController();
      this.jobControllers.set(id, controller);
      // Its progress for the command waiting on it (a long quarantine replay), written one at a
      // time and at most once a second; removed before its result is stored.
      const progressKey = `job-progress:${id}`;
      let progressWrites = Promise.resolve();
      let progressAt = 0;
      let progressWritten = false;
      const progress = (text: string): void => {
        const now = Date.now();
        if (now - progressAt < JOB_PROGRESS_EVERY_MS) return;
        progressAt = now;
        progressWritten = true;
        progressWrites = progressWrites.then(() => p.store.kvSet(CONTROL_NS, progressKey, text)).catch(() => undefined);
      };
      const run = (async (): Promise<JobResult> => {
        if (!job) return { exitCode: 2, output: `this service has no job "${name}"; known: ${[...this.jobs.keys()].join(', ') || '(none)'}\n` };
        p.logger.info({ job: name }, 'running a job for the CLI');
        try {
          return await job(args, AbortSignal.any([this.jobAbort.signal, controller.signal]), progress);
        } catch (err) {
          return { exitCode: 1, output: `${coerceError(err).message}\n` };
        } finally {
          this.jobControllers.delete(id);
        }
      })().then(async (result) => {
        await progressWrites;
        // Best effort: the result is what the command waits for, stored whether this works or not.
        if (progressWritten) await p.store.kvDelete(CONTROL_NS, progressKey).catch(() => false);
        await p.store.kvSet(CONTROL_NS, `job-result:${id}`, JSON.stringify({ ...result, storedAt: p.clock.now() }));
        p.dispatcher.notify();
      });
      const tracked = run.catch((err: unknown) => p.logger.error({ err: coerceError(err), job: name }, 'could not store a job result')).finally(() => this.runningJobs.delete(tracked));
      this.runningJobs.add(tracked);
    }
  }

  /** An error's text as the snapshot records it (see {@link EngineParts.redact}). */
  private shown(text: string): string {
    return this.parts.redact ? this.parts.redact(text) : text;
  }

  snapshot(): Promise<RuntimeSnapshot> {
    const p = this.parts;
    // Failures' messages (a task's, a broker connection's, a circuit's) recorded redacted, once,
    // here: every reader of the snapshot (status, /v1/status, /metrics) shows them as they are kept.
    const destinations = Object.fromEntries(
      Object.entries(p.dispatcher.metrics()).map(([name, m]) => [name, m.circuitError === undefined ? m : { ...m, circuitError: this.shown(m.circuitError) }]),
    );
    const tasks = Object.fromEntries(
      Object.entries(p.scheduler.stats()).map(([name, t]) => [
        name,
        { ...t, ...(t.error !== undefined ? { error: this.shown(t.error) } : {}), ...(t.retrying !== undefined ? { retrying: this.shown(t.retrying) } : {}) },
      ]),
    );
    return Promise.resolve({
      pid: process.pid,
      state: this.state,
      ...(this.state === 'starting' ? { startStep: this.startStep } : {}),
      startedAt: this.startedAt,
      at: p.clock.now(),
      ingest: { ...p.ingestor.stats, ...captureCounts(p.capture) },
      destinations,
      sources: Object.fromEntries(
        p.sources.flatMap((s) => {
          if (!s.connected) return [];
          const refused = s.refusedSubscriptions?.() ?? [];
          const failed = s.connectionError?.();
          const connectionError = failed ? { key: failed.key, error: this.shown(failed.error) } : undefined;
          const stats = s.stats ? sourceCounters(s.stats()) : undefined;
          return [[s.name, { connected: s.connected(), ...(refused.length > 0 ? { refusedSubscriptions: refused } : {}), ...(connectionError ? { connectionError } : {}), ...(stats ? { stats } : {}) }]];
        }),
      ),
      tasks,
    });
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const p = this.parts;
    if (this.state !== 'failed') this.state = 'draining';
    // The snapshot says so at once, and stays fresh while the stop takes (the dispatch grace, a
    // large fleet's last checkpoint): `status` says the service is stopping, where an old
    // "running" snapshot read as a service that does not answer (a full disk).
    await this.tick();
    // A replay of the ingest log under way (a long one at start) stops at its next chunk rather
    // than holding the stop for its whole length: the log stays in the store for the next start.
    p.ingestor.stopReplay();
    const errors: unknown[] = [];
    const step = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
        p.logger.error({ err: coerceError(err), step: what }, 'error during shutdown; continuing');
      }
    };
    // Intake first (sources stop taking input; MQTT keeps its subscription), then the ingest queue.
    for (const s of p.sources) await step(`source ${s.name}`, () => s.stop());
    for (const c of p.closers ?? []) await step('server', c);
    // Jobs and scheduled tasks feed the pipeline too (pulls, ERP feedback, idle watermarks): stop
    // them (a pull resumes where it stopped) before the flush, so what they submit is checkpointed.
    this.jobAbort.abort(new Error('the service is stopping'));
    await step('jobs', async () => void (await Promise.allSettled([...this.runningJobs])));
    await step('tasks', () => p.scheduler.stop());
    // A registry swap under way ends with its checkpoint (its failure is logged where it happens).
    await step('identity reload', async () => void (await this.reloading));
    await step('ingest flush', () => p.ingestor.flush());
    await step('dispatch', () => p.dispatcher.stop(p.graceMs));
    for (const c of p.connectors ?? []) {
      const close = c.close?.bind(c);
      if (close) await step(`connector ${c.name}`, close);
    }
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    // Not after the lease was lost (halt): the snapshot is the new holder's now.
    if (this.halted === undefined) await step('runtime snapshot', async () => {
      const snap = await this.snapshot();
      // A start that failed says so (`status`: its last start failed), not that it stopped as asked;
      // so does a stop a step of which failed (the process exits 1: `status`, its last stop failed).
      const stopFailed = this.state !== 'failed' && errors.length > 0;
      await p.store.kvSet(RUNTIME_NS, 'snapshot', JSON.stringify({ ...snap, state: this.state === 'failed' || stopFailed ? 'failed' : 'stopped', ...(stopFailed ? { stopFailed: true } : {}) }));
    });
    const lease = p.lease;
    if (lease) await step('store lease', () => lease.release());
    await step('store', () => p.store.close());
    this.state = this.state === 'failed' || errors.length ? 'failed' : 'stopped';
    if (errors.length) throw new AggregateError(errors, 'shutdown finished with errors');
    // The last line of a clean stop: an operator (or a supervisor) can tell it finished.
    p.logger.info('assetbridge stopped');
  }
}

/** The capture's own counts, as the snapshot's `captured` and `captureDropped` (none: the ingestor's stand). */
function captureCounts(capture: EventCapture | undefined): { captured?: number; captureDropped?: number } {
  const c = capture?.counts?.();
  return c ? { captured: c.captured, captureDropped: c.dropped } : {};
}

/** A source's counters alone (an MQTT source's stats also say whether it is connected, which the snapshot has already). */
function sourceCounters(s: SourceStats): SourceStats {
  return { received: s.received, acked: s.acked, inflight: s.inflight, leftForRedelivery: s.leftForRedelivery, droppedQos0: s.droppedQos0, submitFailures: s.submitFailures, connects: s.connects };
}
