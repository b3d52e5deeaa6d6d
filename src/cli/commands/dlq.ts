import type { Command } from 'commander';
import { UsageError } from '../../core/errors/errors.js';
import { action, addConfigOption, parseIds, table, withContext, toJson } from '../context.js';

export function registerDlqCommand(program: Command): void {
  const dlq = program.command('dlq').description('dead letters: deliveries that failed permanently or ran out of attempts');

  addConfigOption(dlq.command('list').description('list dead letters').option('--destination <name>').option('--limit <n>', 'at most this many', '100').option('--json', 'print JSON')).action(
    action(async (opts: { config: string; destination?: string; limit: string; json?: boolean }) => {
      await withContext(opts.config, async ({ store }) => {
        const rows = await store.listDeliveries({ status: 'dead', ...(opts.destination ? { destination: opts.destination } : {}), limit: Number(opts.limit) });
        if (opts.json) return void process.stdout.write(`${toJson(rows)}\n`);
        if (!rows.length) return void process.stdout.write('no dead letters\n');
        process.stdout.write(
          table([
            ['ID', 'DESTINATION', 'OPERATION', 'ASSET', 'ATTEMPTS', 'REASON'],
            ...rows.map((r) => [r.id, r.destination, r.operation, r.erpAssetId, r.attempts, (r.lastError ?? '').slice(0, 100)]),
          ]),
        );
      }, { existingStore: true });
    }),
  );

  addConfigOption(dlq.command('show <id>').description('one dead letter with its payload and full attempt history')).action(
    action(async (id: string, opts: { config: string }) => {
      const [n] = parseIds([id], 'delivery');
      await withContext(opts.config, async ({ store }) => {
        const d = await store.getDelivery(n as number);
        if (!d) throw new UsageError(`no delivery ${id}`);
        const history = await store.queryAudit({ deliveryId: d.id, limit: 1000 });
        process.stdout.write(`${toJson({ delivery: d, history })}\n`);
      }, { existingStore: true });
    }),
  );

  addConfigOption(dlq.command('replay [ids...]').description('send dead letters again (same idempotency keys, attempts reset)').option('--all', 'replay every dead letter')).action(
    action(async (ids: string[], opts: { config: string; all?: boolean }) => {
      if (!ids.length && !opts.all) throw new UsageError('name delivery ids or use --all');
      await withContext(opts.config, async ({ store }) => {
        const n = await store.replayDead(opts.all ? 'all' : parseIds(ids, 'delivery'), Date.now());
        process.stdout.write(`${n} dead letter(s) queued again; a running service sends them within a second\n`);
      }, { existingStore: true });
    }),
  );

  addConfigOption(dlq.command('discard [ids...]').description('delete dead letters for good').option('--all', 'discard every dead letter')).action(
    action(async (ids: string[], opts: { config: string; all?: boolean }) => {
      if (!ids.length && !opts.all) throw new UsageError('name delivery ids or use --all');
      await withContext(opts.config, async ({ store }) => {
        const n = await store.discardDead(opts.all ? 'all' : parseIds(ids, 'delivery'));
        process.stdout.write(`discarded ${n} dead letter(s)\n`);
      }, { existingStore: true });
    }),
  );
}
