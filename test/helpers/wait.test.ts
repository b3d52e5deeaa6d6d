/**
 * Waits in tests give up only after long enough for a loaded 2-core CI machine (other test files,
 * services and child processes running beside them), as waitFor (./wait.ts) does: not the 1 s of
 * vitest's expect.poll default (vitest.config.ts).
 */
import { describe, expect, it } from 'vitest';

/** True once `ms` have gone by: a condition that takes its time, as one on a busy machine does. */
const after = (ms: number): (() => boolean) => {
  const from = performance.now();
  return () => performance.now() - from >= ms;
};

describe('waits in tests', () => {
  it('expect.poll waits for a condition that takes more than a second', async () => {
    await expect.poll(after(1_500)).toBe(true);
  });
});
