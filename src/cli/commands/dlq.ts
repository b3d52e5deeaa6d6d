import type { Command } from 'commander';
import { UsageError } from '../../core/errors/errors.js';
import type { OutboxItem } from '../../core/model/delivery.js';
import type { Store } from '../../ports/store.js';
import { action, addConfigOption, checkDestination, parseIds, table, withContext, toJson } from '../context.js';

/** Every dead letter's id, oldest first. */
async function deadIds(store: Store): Promise<number[]> {
  return (await store.listDeliveries({ status: 'dead', limit: Number.MAX_SAFE_INTEGER })).map((d) => d.id).reverse();
}

/** Ids named that were not dead letters: reported, and the command fails. */
function notDead(ids: readonly number[]): void {
  if (!ids.length) return;
  process.stderr.write(`not dead letters: ${ids.join(', ')} (no such delivery, or not dead: see 'assetbridge dlq list')\n`);
  process.exitCode = 1;
}

export function registerDlqCommand(program: Command): void {
  const dlq = program.command('dlq').description('dead letters: deliveries that failed permanently or ran out of attempts');

  addConfigOption(dlq.command('list').description('list dead letters').option('--destination <name>', 'only this destination').option('--limit <n>', 'at most this many', '100').option('--json', 'print JSON')).action(
    action(async (opts: { config: string; destination?: string; limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit <= 0) throw new UsageError(`--limit "${opts.limit}" is not a positive whole number`);
      await withContext(opts.config, async ({ config, store }) => {
        const rows = await store.listDeliveries({ status: 'dead', ...(opts.destination ? { destination: opts.destination } : {}), limit });
        // A typo in the name reads like "no dead letters" (one removed from the config may still have some).
        if (!rows.length && opts.destination !== undefined) checkDestination(config, opts.destination);
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
        const asked = opts.all ? await deadIds(store) : [...new Set(parseIds(ids, 'delivery'))];
        const before = await Promise.all(asked.map((id) => store.getDelivery(id)));
        const dead = asked.filter((_, i) => before[i]?.status === 'dead');
        await store.replayDead(dead, Date.now());
        // A state update that a newer value overtook is superseded, not sent: say so, not "queued".
        const after = await Promise.all(dead.map((id) => store.getDelivery(id)));
        const superseded = after.filter((d): d is OutboxItem => d?.status === 'superseded');
        process.stdout.write(`${dead.length - superseded.length} dead letter(s) queued again; a running service sends them within a second\n`);
        if (superseded.length) {
          process.stdout.write(
            `${superseded.length} not sent (superseded): a newer value of the same record was already sent or is queued, and the ERP keeps that one; nothing to do, they leave the dead letters:\n`,
          );
          for (const d of superseded) process.stdout.write(`  ${d.id}  ${d.operation} ${d.businessKey} as of ${new Date(d.eventTime).toISOString()}\n`);
        }
        notDead(asked.filter((id) => !dead.includes(id)));
      }, { existingStore: true });
    }),
  );

  addConfigOption(dlq.command('discard [ids...]').description('give up on dead letters: they leave the list and are never sent (the record and its audit stay; a discarded work order or posting cannot be queued again)').option('--all', 'discard every dead letter')).action(
    action(async (ids: string[], opts: { config: string; all?: boolean }) => {
      if (!ids.length && !opts.all) throw new UsageError('name delivery ids or use --all');
      await withContext(opts.config, async ({ store }) => {
        if (opts.all) return void process.stdout.write(`discarded ${await store.discardDead('all', Date.now())} dead letter(s)\n`);
        const asked = [...new Set(parseIds(ids, 'delivery'))];
        const before = await Promise.all(asked.map((id) => store.getDelivery(id)));
        const n = await store.discardDead(asked, Date.now());
        process.stdout.write(`discarded ${n} dead letter(s)\n`);
        notDead(asked.filter((_, i) => before[i]?.status !== 'dead'));
      }, { existingStore: true });
    }),
  );
}
