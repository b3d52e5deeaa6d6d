import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { coerceError, UsageError } from '../../core/errors/errors.js';
import type { OutboxItem } from '../../core/model/delivery.js';
import { INVENTORY_COUNT } from '../../core/rules/inventory/counts.js';
import type { Store } from '../../ports/store.js';
import { action, addConfigOption, checkDestination, parseIds, table, withContext, toJson } from '../context.js';

/** Every dead letter's id (of one destination, when named), oldest first. */
async function deadIds(store: Store, destination?: string): Promise<number[]> {
  return (await store.listDeliveries({ status: 'dead', ...(destination !== undefined ? { destination } : {}), limit: Number.MAX_SAFE_INTEGER })).map((d) => d.id).reverse();
}

/** `--destination` narrows `--all` (the cause fixed for one ERP). */
function checkAllOf(opts: { all?: boolean; destination?: string }): void {
  if (opts.destination !== undefined && !opts.all) throw new UsageError('--destination goes with --all: every dead letter of that destination');
}

/** Ids named that were not dead letters: reported, and the command fails. */
function notDead(ids: readonly number[]): void {
  if (!ids.length) return;
  process.stderr.write(`not dead letters: ${ids.join(', ')} (no such delivery, or not dead: see 'assetbridge dlq list')\n`);
  process.exitCode = 1;
}

/** The edited payload of `dlq replay ID --payload FILE`: a JSON object, from a file or `-` (stdin). */
function readPayload(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`--payload ${file} cannot be read: ${coerceError(err).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--payload ${file} is not a JSON object: ${coerceError(err).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`--payload ${file} is not a JSON object: write the payload as 'dlq show ID --payload' prints it`);
  return value as Record<string, unknown>;
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

  addConfigOption(
    dlq
      .command('show <id>')
      .description('one dead letter with its payload and full attempt history')
      .option('--payload', "only the payload, as JSON: the file to edit for 'dlq replay ID --payload FILE'"),
  ).action(
    action(async (id: string, opts: { config: string; payload?: boolean }) => {
      const [n] = parseIds([id], 'delivery');
      await withContext(opts.config, async ({ store }) => {
        const d = await store.getDelivery(n as number);
        if (!d) throw new UsageError(`no delivery ${id}`);
        if (opts.payload) return void process.stdout.write(`${JSON.stringify(d.payload, null, 2)}\n`);
        const history = await store.queryAudit({ deliveryId: d.id, limit: 1000 });
        process.stdout.write(`${toJson({ delivery: d, history })}\n`);
      }, { existingStore: true });
    }),
  );

  addConfigOption(
    dlq
      .command('replay [ids...]')
      .description('send dead letters again (same idempotency keys, attempts reset)')
      .option('--all', 'replay every dead letter')
      .option('--destination <name>', 'with --all: only the dead letters of this destination')
      .option('--payload <file>', "edit & replay one dead letter: send this JSON object as its payload instead ('-' reads standard input; start from 'dlq show ID --payload')"),
  ).action(
    action(async (ids: string[], opts: { config: string; all?: boolean; destination?: string; payload?: string }) => {
      if (!ids.length && !opts.all) throw new UsageError('name delivery ids or use --all');
      if (opts.payload !== undefined && (opts.all || new Set(ids).size !== 1)) throw new UsageError('--payload edits one dead letter: name one id (not --all)');
      checkAllOf(opts);
      const edited = opts.payload === undefined ? undefined : readPayload(opts.payload);
      await withContext(opts.config, async ({ config, store }) => {
        const asked = opts.all ? await deadIds(store, opts.destination) : [...new Set(parseIds(ids, 'delivery'))];
        // A typo in the name reads like "no dead letters" (one removed from the config may still have some).
        if (!asked.length && opts.destination !== undefined) checkDestination(config, opts.destination);
        if (edited) {
          const id = asked[0] as number;
          if (!(await store.editDeadPayload(id, edited, Date.now()))) return notDead([id]);
          process.stdout.write(`payload of ${id} replaced (the edit is in its audit: 'assetbridge audit --delivery ${id}')\n`);
        }
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

  addConfigOption(
    dlq
      .command('discard [ids...]')
      .description('give up on dead letters: they leave the list and are never sent (the record and its audit stay; a discarded work order or posting cannot be queued again)')
      .option('--all', 'discard every dead letter')
      .option('--destination <name>', 'with --all: only the dead letters of this destination'),
  ).action(
    action(async (ids: string[], opts: { config: string; all?: boolean; destination?: string }) => {
      if (!ids.length && !opts.all) throw new UsageError('name delivery ids or use --all');
      checkAllOf(opts);
      await withContext(opts.config, async ({ config, store }) => {
        // Inventory counts given up are owed again: the inventory run sends their change anew.
        const counts = (rows: readonly (OutboxItem | undefined)[]) => rows.filter((d) => d?.status === 'dead' && d.operation === INVENTORY_COUNT).length;
        const discarded = (n: number, inventory: number) =>
          process.stdout.write(`discarded ${n} dead letter(s)\n${inventory ? `${inventory} of them inventory count(s): the next inventory run sends their change again (\`assetbridge inventory counts\` shows it)\n` : ''}`);
        if (opts.destination !== undefined || opts.all) {
          const dead = await store.listDeliveries({ status: 'dead', ...(opts.destination !== undefined ? { destination: opts.destination } : {}), limit: Number.MAX_SAFE_INTEGER });
          if (opts.destination !== undefined && !dead.length) checkDestination(config, opts.destination);
          const n = await store.discardDead(opts.destination !== undefined ? dead.map((d) => d.id).reverse() : 'all', Date.now());
          return discarded(n, counts(dead));
        }
        const asked = [...new Set(parseIds(ids, 'delivery'))];
        const before = await Promise.all(asked.map((id) => store.getDelivery(id)));
        discarded(await store.discardDead(asked, Date.now()), counts(before));
        notDead(asked.filter((_, i) => before[i]?.status !== 'dead'));
      }, { existingStore: true });
    }),
  );
}
