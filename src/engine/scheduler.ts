/**
 * Runs {@link ScheduledTask}s on their cron expression or interval, one run of a task at a time.
 * A failing run is logged and retried at the next tick (a cron task's sooner: 5 min, backing off to
 * hourly); it never stops the engine. A task failing the same way run after run (a poll of an ERP
 * that is down, every few seconds) is logged once at error, its repeats at debug, and its recovery
 * at info, so the log does not fill with one cause. A run that stops to go on later
 * ({@link TaskRetryLater}: a pull waiting on its provider's budget) is retried the same way, but
 * logged at info as such and not counted as a failure.
 *
 * A cron task keeps the time of its last successful run in the store: one whose time came while
 * the service was down (or whose last run failed) runs once soon after the start, not once per
 * missed time, and not only at its next time, which for a daily pull is a day late. Its timer wakes
 * at least once a minute and runs it only once the wall clock has reached its time, so a timer that
 * fires early (a clock set back, a time more than setTimeout's 24.8 days away) neither runs it
 * early nor twice.
 * @module
 */
import { CronExpressionParser } from 'cron-parser';
import type { Logger } from 'pino';
import { coerceError } from '../core/errors/errors.js';
import type { Clock } from '../ports/clock.js';
import type { Store } from '../ports/store.js';
import { TaskRetryLater, type ScheduledTask, type TaskContext } from '../ports/task.js';

export function nextRun(task: ScheduledTask, after: number): number {
  if ('everyMs' in task.schedule) return after + task.schedule.everyMs;
  const expr = CronExpressionParser.parse(task.schedule.cron, {
    currentDate: new Date(after),
    ...(task.schedule.timeZone ? { tz: task.schedule.timeZone } : {}),
  });
  return expr.next().getTime();
}

/** kv namespace of the cron tasks' last runs (key: the task's name, value: epoch ms). */
export const SCHEDULER_NS = 'scheduler.last-run';
/** A cron task's timer wakes at least this often to compare its time with the wall clock. */
const CRON_WAKE_MS = 60_000;
/** A cron time missed while the service was down is caught up this long after the start (the sources connect first). */
const CATCH_UP_AFTER_MS = 5_000;

/** One task's runs since the process started, for `/metrics` and `status`. */
export interface TaskStats {
  readonly runs: number;
  readonly failures: number;
  /** Runs in a row that failed, up to the latest (0: the latest did not fail). */
  readonly failingRuns: number;
  /** The latest failure's message, while the task fails. */
  readonly error?: string;
  /** When a run last finished without failing (epoch ms). */
  readonly lastSuccessAt?: number;
  /** Why the latest run stopped before it finished, to be retried ({@link TaskRetryLater}); no failure. */
  readonly retrying?: string;
}

/** After a cron task's `streak`-th failed run in a row, its retry: 5 min, doubling, at most 1 h (its next time comes first when sooner). */
export const cronRetryMs = (streak: number): number => Math.min(3_600_000, 300_000 * 2 ** Math.min(streak - 1, 10));

/** setTimeout's longest delay: a longer one fires at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

const isCron = (t: ScheduledTask): t is ScheduledTask & { schedule: { cron: string } } => 'cron' in t.schedule;

export class TaskScheduler {
  private timers = new Map<string, NodeJS.Timeout>();
  private running = new Map<string, Promise<void>>();
  /** Tasks armed once already (an interval's `firstAfterMs` applies to its first run only). */
  private readonly armed = new Set<string>();
  private stopped = false;
  private readonly abort = new AbortController();
  /** Per failing task: the message of its failure and how many runs in a row failed. */
  private readonly failing = new Map<string, { message: string; runs: number }>();
  /** Per task whose latest runs stopped to be retried ({@link TaskRetryLater}): why, and how many runs in a row. */
  private readonly retrying = new Map<string, { message: string; runs: number }>();
  private readonly counts = new Map<string, { runs: number; failures: number; lastSuccessAt?: number }>();

  constructor(
    private readonly tasks: readonly ScheduledTask[],
    private readonly makeContext: (signal: AbortSignal) => TaskContext,
    private readonly clock: Clock,
    private readonly logger?: Logger,
    /** Where cron tasks keep their last successful run (without it, a time missed while down is not caught up). */
    private readonly runs?: Pick<Store, 'kvGet' | 'kvSet'>,
  ) {}

  /** Per task: its runs, failures and failing streak since the process started. */
  stats(): Record<string, TaskStats> {
    return Object.fromEntries(
      this.tasks.map((t) => {
        const c = this.counts.get(t.name);
        const f = this.failing.get(t.name);
        const r = this.retrying.get(t.name);
        const stats: TaskStats = {
          runs: c?.runs ?? 0,
          failures: c?.failures ?? 0,
          failingRuns: f?.runs ?? 0,
          ...(f ? { error: f.message } : {}),
          ...(c?.lastSuccessAt !== undefined ? { lastSuccessAt: c.lastSuccessAt } : {}),
          ...(r ? { retrying: r.message } : {}),
        };
        return [t.name, stats];
      }),
    );
  }

  start(): void {
    for (const t of this.tasks) {
      if (isCron(t) && this.runs) void this.armCron(t, this.runs);
      else this.arm(t);
    }
  }

  /** Arms a cron task after reading its last run: a time that passed since then is run once, soon. */
  private async armCron(t: ScheduledTask, runs: Pick<Store, 'kvGet' | 'kvSet'>): Promise<void> {
    const now = this.clock.now();
    try {
      const raw = await runs.kvGet(SCHEDULER_NS, t.name);
      const last = raw === undefined ? undefined : Number(raw);
      if (last === undefined || !Number.isFinite(last)) {
        // First start with this task: from now on a missed time can be told.
        await runs.kvSet(SCHEDULER_NS, t.name, String(now));
      } else if (nextRun(t, last) <= now) {
        this.logger?.info({ task: t.name, lastRun: new Date(last).toISOString(), missed: new Date(nextRun(t, last)).toISOString() }, 'scheduled task missed its time while the service was down (or its last run failed or was stopped): it runs once now');
        return this.wake(t, now + CATCH_UP_AFTER_MS);
      }
    } catch (err) {
      this.logger?.warn({ task: t.name, err: coerceError(err) }, 'could not read when the scheduled task last ran: it runs at its next time');
    }
    this.arm(t);
  }

  /** Run a task now (CLI "on demand"), waiting for it. */
  async runNow(name: string): Promise<void> {
    const t = this.tasks.find((x) => x.name === name);
    if (!t) throw new Error(`no scheduled task named "${name}"; known: ${this.tasks.map((x) => x.name).join(', ') || '(none)'}`);
    await this.execute(t);
  }

  private arm(t: ScheduledTask): void {
    if (this.stopped) return;
    const now = this.clock.now();
    if (!('everyMs' in t.schedule)) {
      // A failed cron run (a daily pull), or one that stopped to go on later, is retried before its next time, backing off.
      const streak = this.failing.get(t.name)?.runs ?? this.retrying.get(t.name)?.runs;
      return this.wake(t, Math.min(nextRun(t, now), streak ? now + cronRetryMs(streak) : Infinity));
    }
    const first = !this.armed.has(t.name) ? t.schedule.firstAfterMs : undefined;
    this.armed.add(t.name);
    const delay = Math.max(0, first ?? nextRun(t, now) - now);
    // Beyond setTimeout's 24.8 days (retention.every: 30d), its timer would fire then and run the task early.
    if (delay > MAX_TIMEOUT_MS) return this.wake(t, now + delay);
    this.timers.set(
      t.name,
      setTimeout(() => {
        void this.execute(t).finally(() => this.arm(t));
      }, delay),
    );
  }

  /** Runs a task at `due` by the wall clock (a cron task's time), checking it at least every {@link CRON_WAKE_MS}. */
  private wake(t: ScheduledTask, due: number): void {
    if (this.stopped) return;
    const delay = Math.max(0, Math.min(due - this.clock.now(), CRON_WAKE_MS));
    this.timers.set(
      t.name,
      setTimeout(() => {
        if (this.clock.now() < due) return this.wake(t, due);
        void this.execute(t).finally(() => this.arm(t));
      }, delay),
    );
  }

  private async execute(t: ScheduledTask): Promise<void> {
    const prior = this.running.get(t.name);
    if (prior) return prior;
    const started = this.clock.now();
    const counts = this.counts.get(t.name) ?? { runs: 0, failures: 0 };
    this.counts.set(t.name, counts);
    const run = (async () => {
      try {
        const report = await t.run(this.makeContext(this.abort.signal));
        counts.runs++;
        counts.lastSuccessAt = this.clock.now();
        // Debug: some tasks (idle watermarks, feedback polls) run every few seconds and would fill the log.
        if (report) this.logger?.[report.level ?? 'info']({ task: t.name, ...report.fields, ms: this.clock.now() - started }, report.msg);
        else this.logger?.debug({ task: t.name, ms: this.clock.now() - started }, 'scheduled task done');
        this.retrying.delete(t.name);
        const streak = this.failing.get(t.name);
        if (streak) {
          this.failing.delete(t.name);
          this.logger?.info({ task: t.name, failedRuns: streak.runs }, 'scheduled task recovered: it ran again without failing');
        }
      } catch (err) {
        counts.runs++;
        const e = coerceError(err);
        if (e instanceof TaskRetryLater) {
          // Not a failure (a pull waiting for its provider's budget): retried as one, but said as what it is.
          const runs = (this.retrying.get(t.name)?.runs ?? this.failing.get(t.name)?.runs ?? 0) + 1;
          this.failing.delete(t.name);
          this.retrying.set(t.name, { message: e.message, runs });
          const again = isCron(t) ? `it will retry in ${cronRetryMs(runs) / 60_000} min (backing off to hourly) or at its next time, whichever comes first` : 'it will retry at its next time';
          this.logger?.info({ task: t.name, reason: e.message, retryRuns: runs }, `scheduled task stopped before it finished (not a failure); ${again}`);
          return;
        }
        counts.failures++;
        this.retrying.delete(t.name);
        const streak = this.failing.get(t.name);
        if (streak?.message === e.message) {
          streak.runs++;
          this.logger?.debug({ task: t.name, err: e, failedRuns: streak.runs }, 'scheduled task failed again the same way');
        } else {
          this.failing.set(t.name, { message: e.message, runs: (streak?.runs ?? 0) + 1 });
          const again = isCron(t) ? `it is retried in ${cronRetryMs(1) / 60_000} min, backing off to hourly, until its next time` : 'it runs again at its next time';
          this.logger?.error({ task: t.name, err: e }, `scheduled task failed; ${again} (repeats of this failure are logged at debug until it succeeds)`);
        }
      }
    })();
    this.running.set(t.name, run);
    try {
      await run;
      // Only a run that succeeded is done: after one that failed, or one a stop cut short, the next
      // start runs it again (a pull resumes where it stopped), as the retry would have.
      if (isCron(t) && this.runs && !this.abort.signal.aborted && !this.failing.has(t.name) && !this.retrying.has(t.name)) await this.recordRun(t, this.runs, started);
    } finally {
      this.running.delete(t.name);
    }
  }

  /** The cron task's last run that succeeded: a restart does not repeat it. */
  private async recordRun(t: ScheduledTask, runs: Pick<Store, 'kvGet' | 'kvSet'>, at: number): Promise<void> {
    try {
      await runs.kvSet(SCHEDULER_NS, t.name, String(at));
    } catch (err) {
      this.logger?.warn({ task: t.name, err: coerceError(err) }, 'could not record when the scheduled task ran: a restart may run it again');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.abort.abort(new Error('shutdown'));
    await Promise.all(this.running.values());
  }
}
