/**
 * `assetbridge store prune`: applies `store.retention` now, as the running service does every
 * `store.retention.every`. Safe while the service runs (short transactions, one batch at a time).
 * @module
 */
import type { Command } from 'commander';
import { cutoffsAt, describePrune, pruneAll } from '../../engine/retention.js';
import { action, addConfigOption, withContext } from '../context.js';

export function registerStoreCommand(program: Command): void {
  const store = program.command('store').description('the local store: retention of finished records');

  addConfigOption(
    store
      .command('prune')
      .description('delete finished records older than store.retention now (delivered state updates, audit records, closed quarantine entries; delivered facts only when set)')
      .option('--dry-run', 'count what would be deleted, and delete nothing')
      .addHelpText('after', '\nPending, in-flight and dead deliveries and open quarantine entries are never deleted.\n\nExample:\n  assetbridge store prune -c assetbridge.yaml'),
  ).action(
    action(async (opts: { config: string; dryRun?: boolean }) => {
      await withContext(opts.config, async ({ config, store: s }) => {
        const r = config.store.retention;
        const days = (ms: number) => (ms > 0 ? `${Math.round((ms / 86_400_000) * 10) / 10} d` : 'kept');
        process.stdout.write(`retention: delivered ${days(r.delivered)}, delivered facts ${days(r.deliveredFacts)}, audit ${days(r.audit)}, closed quarantine ${days(r.quarantine)} (store.retention)\n`);
        if (opts.dryRun) {
          process.stdout.write(`would delete ${describePrune(await s.countPrunable(cutoffsAt(r, Date.now())))} (dry run: nothing deleted)\n`);
          return;
        }
        let last = Date.now();
        const total = await pruneAll(s, cutoffsAt(r, Date.now()), {
          onBatch: (t) => {
            if (Date.now() - last < 5000) return;
            last = Date.now();
            process.stderr.write(`… ${describePrune(t)} so far\n`);
          },
        });
        process.stdout.write(`deleted ${describePrune(total)}\n`);
      }, { existingStore: true });
    }),
  );
}
