/**
 * The task scheduler's timing: an interval task runs every `everyMs`, its first run after
 * `firstAfterMs` when given (hourly work in a service restarted more often than hourly).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TaskRetryLater, type ScheduledTask, type TaskContext } from '../ports/task.js';
import { nextRun, SCHEDULER_NS, TaskScheduler } from './scheduler.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('TaskScheduler', () => {
  it('runs an interval task first after firstAfterMs, then every everyMs', async () => {
    vi.useFakeTimers();
    const runs: number[] = [];
    const task: ScheduledTask = { name: 'prune', schedule: { everyMs: 3_600_000, firstAfterMs: 300_000 }, run: () => Promise.resolve(void runs.push(Date.now())) };
    const start = Date.now();
    const s = new TaskScheduler([task], () => ({}) as TaskContext, { now: () => Date.now() });
    s.start();
    await vi.advanceTimersByTimeAsync(299_000);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs.map((t) => t - start)).toEqual([300_000]);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(runs.map((t) => t - start)).toEqual([300_000, 3_900_000]);
    await s.stop();
  });

  it('runs an interval task longer than setTimeout’s 24.8 days at its interval, not early', async () => {
    vi.useFakeTimers();
    const runs: number[] = [];
    const start = Date.now();
    const s = new TaskScheduler([{ name: 'prune', schedule: { everyMs: 30 * 86_400_000 }, run: () => Promise.resolve(void runs.push(Date.now())) }], () => ({}) as TaskContext, { now: () => Date.now() });
    s.start();
    await vi.advanceTimersByTimeAsync(29 * 86_400_000);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(runs.map((t) => t - start)).toEqual([30 * 86_400_000]);
    await s.stop();
  });

  it('without firstAfterMs, the first run is a whole interval after the start', async () => {
    vi.useFakeTimers();
    const runs: number[] = [];
    const start = Date.now();
    const s = new TaskScheduler([{ name: 'x', schedule: { everyMs: 60_000 }, run: () => Promise.resolve(void runs.push(Date.now())) }], () => ({}) as TaskContext, { now: () => Date.now() });
    s.start();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(runs.map((t) => t - start)).toEqual([60_000, 120_000]);
    await s.stop();
  });
});

describe('TaskScheduler log', () => {
  it('logs a failure once at error, its repeats at debug, a different failure at error again, the recovery at info, and a run’s report at info or its level', async () => {
    vi.useFakeTimers();
    const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
    const log = (level: string) => (fields: object, msg: string) => void lines.push({ level, fields: fields as Record<string, unknown>, msg });
    const logger = { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') } as unknown as ConstructorParameters<typeof TaskScheduler>[3];
    const outcomes = ['down', 'down', 'down', '401', 'ok', 'down', 'report', 'warning'];
    const task: ScheduledTask = {
      name: 'poll',
      schedule: { everyMs: 1_000 },
      run: () => {
        const o = outcomes.shift();
        if (o === 'report') return Promise.resolve({ msg: 'posted', fields: { postings: 3 } });
        if (o === 'warning') return Promise.resolve({ level: 'warn' as const, msg: 'stopped at the page cap', fields: { postings: 0 } });
        return o === 'ok' ? Promise.resolve() : Promise.reject(new Error(o === 'down' ? 'ECONNREFUSED 127.0.0.1:4010' : '401 unauthorized'));
      },
    };
    const s = new TaskScheduler([task], () => ({}) as TaskContext, { now: () => Date.now() }, logger);
    s.start();
    await vi.advanceTimersByTimeAsync(8_000);
    await s.stop();
    const seen = lines.filter((l) => l.msg !== 'scheduled task done').map((l) => [l.level, (l.fields.err as Error | undefined)?.message ?? l.fields.failedRuns ?? l.fields.postings]);
    expect(seen).toEqual([
      ['error', 'ECONNREFUSED 127.0.0.1:4010'],
      ['debug', 'ECONNREFUSED 127.0.0.1:4010'],
      ['debug', 'ECONNREFUSED 127.0.0.1:4010'],
      ['error', '401 unauthorized'],
      ['info', 4],
      ['error', 'ECONNREFUSED 127.0.0.1:4010'],
      // A run's report at info, then the streak's recovery (1 failed run).
      ['info', 3],
      ['info', 1],
      // A report of a run that succeeded on terms to act on: at its level.
      ['warn', 0],
    ]);
  });
});

describe('TaskScheduler stats', () => {
  it('counts each task’s runs and failures, its failing streak with the latest error, and when it last succeeded', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const outcomes = ['ok', 'down', 'down', 'ok', 'down'];
    const task: ScheduledTask = { name: 'poll', schedule: { everyMs: 1_000 }, run: () => (outcomes.shift() === 'ok' ? Promise.resolve() : Promise.reject(new Error('ECONNREFUSED'))) };
    const idle: ScheduledTask = { name: 'idle', schedule: { everyMs: 60_000 }, run: () => Promise.resolve() };
    const s = new TaskScheduler([task, idle], () => ({}) as TaskContext, { now: () => Date.now() });
    s.start();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(s.stats()).toEqual({ poll: { runs: 3, failures: 2, failingRuns: 2, error: 'ECONNREFUSED', lastSuccessAt: 1_001_000 }, idle: { runs: 0, failures: 0, failingRuns: 0 } });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(s.stats().poll).toEqual({ runs: 5, failures: 3, failingRuns: 1, error: 'ECONNREFUSED', lastSuccessAt: 1_004_000 });
    await s.stop();
  });
});

describe('TaskScheduler: a run that stops to retry later (a pull waiting for its budget)', () => {
  it('is logged at info saying it will retry, not at error, is no failure in the stats, and is retried as a failed run is', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-03-10T02:59:00Z') });
    const lines: { level: string; msg: string }[] = [];
    const log = (level: string) => (_fields: object, msg: string) => void lines.push({ level, msg });
    const logger = { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') } as unknown as ConstructorParameters<typeof TaskScheduler>[3];
    const m = new Map<string, string>();
    const store = { kvGet: (ns: string, key: string) => Promise.resolve(m.get(`${ns}/${key}`)), kvSet: (ns: string, key: string, value: string) => Promise.resolve(void m.set(`${ns}/${key}`, value)) };
    m.set(`${SCHEDULER_NS}/aemp-pull:trackunit`, String(Date.parse('2026-03-09T03:00:00Z')));
    const runs: string[] = [];
    const outcomes = ['wait', 'wait', 'ok'];
    const task: ScheduledTask = {
      name: 'aemp-pull:trackunit',
      schedule: { cron: '0 3 * * *', timeZone: 'UTC' },
      run: () => {
        runs.push(new Date(Date.now()).toISOString());
        return outcomes.shift() === 'ok' ? Promise.resolve() : Promise.reject(new TaskRetryLater('trackunit: fleet pull stopped waiting for request budget'));
      },
    };
    const s = new TaskScheduler([task], () => ({}) as TaskContext, { now: () => Date.now() }, logger, store);
    s.start();
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    expect(s.stats()['aemp-pull:trackunit']).toEqual({ runs: 1, failures: 0, failingRuns: 0, retrying: 'trackunit: fleet pull stopped waiting for request budget' });
    // Not recorded as done: a restart would run it again.
    expect(m.get(`${SCHEDULER_NS}/aemp-pull:trackunit`)).toBe(String(Date.parse('2026-03-09T03:00:00Z')));
    await vi.advanceTimersByTimeAsync(20 * 60_000);
    expect(runs).toEqual(['2026-03-10T03:00:00.000Z', '2026-03-10T03:05:00.000Z', '2026-03-10T03:15:00.000Z']);
    expect(s.stats()['aemp-pull:trackunit']).toEqual({ runs: 3, failures: 0, failingRuns: 0, lastSuccessAt: Date.parse('2026-03-10T03:15:00Z') });
    expect(lines.filter((l) => l.level !== 'debug')).toEqual([
      { level: 'info', msg: 'scheduled task stopped before it finished (not a failure); it will retry in 5 min (backing off to hourly) or at its next time, whichever comes first' },
      { level: 'info', msg: 'scheduled task stopped before it finished (not a failure); it will retry in 10 min (backing off to hourly) or at its next time, whichever comes first' },
    ]);
    await s.stop();
  });
});

describe('nextRun on a cron in a time zone', () => {
  const at = (cron: string, timeZone: string, after: string) => new Date(nextRun({ name: 't', schedule: { cron, timeZone }, run: () => Promise.resolve(undefined) }, Date.parse(after))).toISOString();

  it('follows the zone’s daylight saving time, and takes its name in any case, as the config check does', () => {
    expect(at('0 3 * * *', 'Europe/Berlin', '2026-07-01T00:00:00Z')).toBe('2026-07-01T01:00:00.000Z');
    expect(at('0 3 * * *', 'Europe/Berlin', '2026-12-01T00:00:00Z')).toBe('2026-12-01T02:00:00.000Z');
    expect(at('0 3 * * *', 'europe/berlin', '2026-07-01T00:00:00Z')).toBe('2026-07-01T01:00:00.000Z');
    // A legacy fixed-offset zone (warned of by config check) stays at UTC-05:00 in summer, in either case.
    expect(at('0 3 * * *', 'EST', '2026-07-01T00:00:00Z')).toBe('2026-07-01T08:00:00.000Z');
    expect(at('0 3 * * *', 'est', '2026-07-01T00:00:00Z')).toBe('2026-07-01T08:00:00.000Z');
    expect(at('0 3 * * *', 'America/New_York', '2026-07-01T00:00:00Z')).toBe('2026-07-01T07:00:00.000Z');
  });
});

describe('TaskScheduler cron tasks across restarts and clock changes', () => {
  const kv = () => {
    const m = new Map<string, string>();
    return {
      map: m,
      kvGet: (ns: string, key: string) => Promise.resolve(m.get(`${ns}/${key}`)),
      kvSet: (ns: string, key: string, value: string) => Promise.resolve(void m.set(`${ns}/${key}`, value)),
    };
  };
  const daily = (runs: number[], now: () => number): ScheduledTask => ({ name: 'aemp-pull:trackunit', schedule: { cron: '0 3 * * *', timeZone: 'UTC' }, run: () => Promise.resolve(void runs.push(now())) });

  it('runs a cron task whose time came while the service was down once, soon after the start (not once per missed time)', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-03-10T12:00:00Z') });
    const store = kv();
    // Last ran three days ago: three 03:00 pulls were missed.
    store.map.set(`${SCHEDULER_NS}/aemp-pull:trackunit`, String(Date.parse('2026-03-07T03:00:00Z')));
    const runs: number[] = [];
    const s = new TaskScheduler([daily(runs, Date.now)], () => ({}) as TaskContext, { now: () => Date.now() }, undefined, store);
    s.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs.map((t) => new Date(t).toISOString())).toEqual(['2026-03-10T12:00:05.000Z']);
    expect(store.map.get(`${SCHEDULER_NS}/aemp-pull:trackunit`)).toBe(String(Date.parse('2026-03-10T12:00:05Z')));
    // Then at its time again, once.
    await vi.advanceTimersByTimeAsync(16 * 3_600_000);
    expect(runs.map((t) => new Date(t).toISOString())).toEqual(['2026-03-10T12:00:05.000Z', '2026-03-11T03:00:00.000Z']);
    await s.stop();
  });

  it('does not run a cron task at the first start, nor after a restart that missed no time; a run cut short by the stop runs again', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-03-10T12:00:00Z') });
    const store = kv();
    const runs: number[] = [];
    let s = new TaskScheduler([daily(runs, Date.now)], () => ({}) as TaskContext, { now: () => Date.now() }, undefined, store);
    s.start();
    await vi.advanceTimersByTimeAsync(3_600_000);
    await s.stop();
    expect(runs).toEqual([]);
    s = new TaskScheduler([daily(runs, Date.now)], () => ({}) as TaskContext, { now: () => Date.now() }, undefined, store);
    s.start();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(runs).toEqual([]);
    await s.stop();
    // Down over 03:00; the catch-up run is stopped half way (a pull stopping with its cursor).
    vi.setSystemTime(Date.parse('2026-03-11T08:00:00Z'));
    let release: () => void = () => undefined;
    const slow: ScheduledTask = { name: 'aemp-pull:trackunit', schedule: { cron: '0 3 * * *', timeZone: 'UTC' }, run: () => new Promise<void>((r) => (release = r)) };
    s = new TaskScheduler([slow], () => ({}) as TaskContext, { now: () => Date.now() }, undefined, store);
    s.start();
    await vi.advanceTimersByTimeAsync(10_000);
    const stopping = s.stop();
    release();
    await stopping;
    s = new TaskScheduler([daily(runs, Date.now)], () => ({}) as TaskContext, { now: () => Date.now() }, undefined, store);
    s.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs.map((t) => new Date(t).toISOString())).toEqual(['2026-03-11T08:00:15.000Z']);
    await s.stop();
  });

  it('retries a failed cron run before its next time, backing off, and runs it at the next start when the service stopped before it succeeded', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-03-10T02:59:00Z') });
    const store = kv();
    store.map.set(`${SCHEDULER_NS}/aemp-pull:trackunit`, String(Date.parse('2026-03-09T03:00:00Z')));
    const runs: string[] = [];
    const outcomes = ['503', '503', '503', '503', 'ok', 'ok'];
    const task: ScheduledTask = {
      name: 'aemp-pull:trackunit',
      schedule: { cron: '0 3 * * *', timeZone: 'UTC' },
      run: () => {
        runs.push(new Date(Date.now()).toISOString());
        return outcomes.shift() === 'ok' ? Promise.resolve() : Promise.reject(new Error('fleet pull failed: 503'));
      },
    };
    let s = new TaskScheduler([task], () => ({}) as TaskContext, { now: () => Date.now() }, undefined, store);
    s.start();
    await vi.advanceTimersByTimeAsync(7 * 60_000);
    expect(runs).toEqual(['2026-03-10T03:00:00.000Z', '2026-03-10T03:05:00.000Z']);
    // Stopped (a deploy) before a run succeeded: the next start runs it once.
    await s.stop();
    s = new TaskScheduler([task], () => ({}) as TaskContext, { now: () => Date.now() }, undefined, store);
    s.start();
    await vi.advanceTimersByTimeAsync(6_000);
    expect(runs.at(-1)).toBe('2026-03-10T03:06:05.000Z');
    // Retried after 5 min, then 10 more, when it succeeds; then at its next time only.
    await vi.advanceTimersByTimeAsync(24 * 3_600_000);
    expect(runs.slice(3)).toEqual(['2026-03-10T03:11:05.000Z', '2026-03-10T03:21:05.000Z', '2026-03-11T03:00:00.000Z']);
    expect(store.map.get(`${SCHEDULER_NS}/aemp-pull:trackunit`)).toBe(String(Date.parse('2026-03-11T03:00:00Z')));
    await s.stop();
  });

  it('does not run a cron task whose time is more than 24.8 days away early (setTimeout’s limit)', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-01-02T00:00:00Z') });
    const runs: number[] = [];
    const yearly: ScheduledTask = { name: 'yearly', schedule: { cron: '0 3 1 1 *' }, run: () => Promise.resolve(void runs.push(Date.now())) };
    const s = new TaskScheduler([yearly], () => ({}) as TaskContext, { now: () => Date.now() });
    s.start();
    await vi.advanceTimersByTimeAsync(60 * 86_400_000);
    expect(runs).toEqual([]);
    await s.stop();
  });

  it('runs a cron task once at its time by the wall clock when the clock is set back before it', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-03-10T02:00:00Z') });
    let offset = 0;
    const now = () => Date.now() + offset;
    const runs: number[] = [];
    const s = new TaskScheduler([daily(runs, now)], () => ({}) as TaskContext, { now });
    s.start();
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    offset = -10 * 60_000; // NTP sets the clock back ten minutes at 02:30
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(runs.map((t) => new Date(t).toISOString())).toEqual(['2026-03-10T03:00:00.000Z']);
    await s.stop();
  });
});
