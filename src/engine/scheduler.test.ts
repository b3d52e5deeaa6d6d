/**
 * The task scheduler's timing: an interval task runs every `everyMs`, its first run after
 * `firstAfterMs` when given (hourly work in a service restarted more often than hourly).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ScheduledTask, TaskContext } from '../ports/task.js';
import { TaskScheduler } from './scheduler.js';

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
