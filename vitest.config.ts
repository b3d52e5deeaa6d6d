import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'simulators/**/*.test.ts'],
    // Each test file's temporary files in a directory of its own, removed after it.
    setupFiles: ['test/setup/temp-root.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll gives up after 1 s by default: on a loaded 2-core CI machine a broker's delivery
    // or a worker's commit can take longer. As long as test/helpers/wait.ts's waitFor.
    expect: { poll: { timeout: 20_000 } },
    // 2-core machines: a few forks keep service-backed tests from starving each other.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
