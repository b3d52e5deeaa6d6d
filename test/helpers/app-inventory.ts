/**
 * One inventory run through a real app, as its scheduled task makes it: the app's store, the
 * dispatcher told of what the run commits, the destination's limits; for e2e tests whose service
 * runs are too far apart to wait for.
 */
import type { App } from '../../src/app.js';
import type { TaskContext } from '../../src/ports/task.js';
import { runInventorySync, type InventoryRunSummary, type InventorySyncOptions } from '../../src/engine/tasks/inventory-sync.js';
import { inventorySyncOptionsOf } from '../../src/engine/tasks/index.js';

/** The inventory options of the app's config for destination `erp`; throws when it configures none. */
export function appInventoryOptions(app: App): InventorySyncOptions {
  const options = inventorySyncOptionsOf(app.config.rules, 'erp');
  if (!options) throw new Error('inventory not configured');
  return options;
}

/** One inventory run of the app (a snapshot when one was asked for or is due, else changes). */
export function appInventoryRun(app: App): Promise<InventoryRunSummary> {
  const signal = new AbortController().signal;
  const ctx = {
    store: app.store,
    clock: { now: () => Date.now() },
    commit: async (deliveries) => {
      await app.store.commitIngest({ states: [], deliveries, quarantine: [], accepted: 0 });
      app.dispatcher.notify();
    },
    checkpoint: () => Promise.resolve(),
    connector: (name) => app.connectors.get(name),
    withinLimits: (name, call) => app.dispatcher.withinLimits(name, signal, call),
    signal,
  } as Pick<TaskContext, 'store' | 'clock' | 'commit' | 'checkpoint' | 'connector' | 'withinLimits' | 'signal'> as TaskContext;
  return runInventorySync(ctx, appInventoryOptions(app));
}
