/**
 * A {@link TaskContext} for running a scheduled task by hand in a test: its store, a clock the test
 * moves, commits straight to the store, and a sink that records what the task submitted.
 */
import type { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import type { RawMessage } from '../../src/core/model/messages.js';
import type { TaskContext } from '../../src/ports/task.js';

export function taskContext(store: SqliteStore, clock: { t: number }, extra: Partial<TaskContext> = {}): TaskContext & { submitted: RawMessage[] } {
  const submitted: RawMessage[] = [];
  return {
    store,
    clock: { now: () => clock.t },
    sink: {
      submit: (m) => {
        submitted.push(...m);
        return Promise.resolve({ accepted: m.length, quarantined: [] });
      },
    },
    commit: (deliveries) => store.commitIngest({ deliveries, states: [], quarantine: [], accepted: 0 }),
    checkpoint: () => Promise.resolve(),
    idleHolding: () => [],
    submitInternal: (m) => Promise.resolve({ accepted: m.length, quarantined: [] }),
    connector: () => undefined,
    withinLimits: (_destination, call) => call({ signal: new AbortController().signal }),
    signal: new AbortController().signal,
    submitted,
    ...extra,
  };
}
