/**
 * Runs {@link ScheduledTask}s on their cron expression or interval, one run of a task at a time.
 * A failing run is logged and retried at the next tick; it never stops the engine. A task failing
 * the same way run after run (a poll of an ERP that is down, every few seconds) is logged once at
 * error, its repeats at debug, and its recovery at info, so the log does not fill with one cause.
 * @module
 */
import { CronExpressionParser } from 'cron-parser';
import type { Logger } from 'pino';
import { coerceError } from '../core/errors/errors.js';
import type { Clock } from '../ports/clock.js';
import type { ScheduledTask, TaskContext } from '../ports/task.js';

export function nextRun(task: ScheduledTask, after: number): number {
  if ('everyMs' in task.schedule) return after + task.schedule.everyMs;
  const expr = CronExpressionParser.parse(task.schedule.cron, {
    currentDate: new Date(after),
    ...(task.schedule.timeZone ? { tz: task.schedule.timeZone } : {}),
  });
  return expr.next().getTime();
}

export class TaskScheduler {
  private timers = new Map<string, NodeJS.Timeout>();
  private running = new Map<string, Promise<void>>();
  /** Tasks armed once already (an interval's `firstAfterMs` applies to its first run only). */
  private readonly armed = new Set<string>();
  private stopped = false;
  private readonly abort = new AbortController();
  /** Per failing task: the message of its failure and how many runs in a row failed. */
  private readonly failing = new Map<string, { message: string; runs: number }>();

  constructor(
    private readonly tasks: readonly ScheduledTask[],
    private readonly makeContext: (signal: AbortSignal) => TaskContext,
    private readonly clock: Clock,
    private readonly logger?: Logger,
  ) {}

  start(): void {
    for (const t of this.tasks) this.arm(t);
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
    const first = !this.armed.has(t.name) && 'everyMs' in t.schedule ? t.schedule.firstAfterMs : undefined;
    this.armed.add(t.name);
    const delay = Math.max(0, Math.min(first ?? nextRun(t, now) - now, 2 ** 31 - 1));
    this.timers.set(
      t.name,
      setTimeout(() => {
        void this.execute(t).finally(() => this.arm(t));
      }, delay),
    );
  }

  private async execute(t: ScheduledTask): Promise<void> {
    const prior = this.running.get(t.name);
    if (prior) return prior;
    const run = (async () => {
      const started = this.clock.now();
      try {
        const report = await t.run(this.makeContext(this.abort.signal));
        // Debug: some tasks (idle watermarks, feedback polls) run every few seconds and would fill the log.
        if (report) this.logger?.info({ task: t.name, ...report.fields, ms: this.clock.now() - started }, report.msg);
        else this.logger?.debug({ task: t.name, ms: this.clock.now() - started }, 'scheduled task done');
        const streak = this.failing.get(t.name);
        if (streak) {
          this.failing.delete(t.name);
          this.logger?.info({ task: t.name, failedRuns: streak.runs }, 'scheduled task recovered: it ran again without failing');
        }
      } catch (err) {
        const e = coerceError(err);
        const streak = this.failing.get(t.name);
        if (streak?.message === e.message) {
          streak.runs++;
          this.logger?.debug({ task: t.name, err: e, failedRuns: streak.runs }, 'scheduled task failed again the same way');
        } else {
          this.failing.set(t.name, { message: e.message, runs: (streak?.runs ?? 0) + 1 });
          this.logger?.error({ task: t.name, err: e }, 'scheduled task failed; it runs again at its next time (repeats of this failure are logged at debug until it succeeds)');
        }
      }
    })();
    this.running.set(t.name, run);
    try {
      await run;
    } finally {
      this.running.delete(t.name);
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
