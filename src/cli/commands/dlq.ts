import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { coerceError, UsageError } from '../../core/errors/errors.js';
import type { OutboxItem } from '../../core/model/delivery.js';
import { INVENTORY_COUNT } from '../../core/rules/inventory/counts.js';
import type { AuditRecord, Store } from '../../ports/store.js';
import { createsRecordOf } from '../../app.js';
import { noteReplayedCounts, resendableAt } from '../../engine/tasks/inventory-sync.js';
import { durationText } from '../../config/duration.js';
import { runningService } from './status.js';
import { action, isoTime, addConfigOption, checkDestination, clip, noneFound, parseIds, parseLimit, table, withContext, toJson, whyUnreadable } from '../context.js';

/** At most this many audit records in `dlq show` (the newest); it says how many older ones it left out. */
const SHOW_HISTORY = 1000;

/** Dead letters per store call of a command over many, and how often it says how far it got (stderr). */
const SLICE = 10_000;
const PROGRESS_EVERY_MS = 5000;

/**
 * `run` over `ids` a slice at a time, saying on stderr how far it got at most every 5 s: 100,000
 * letters take some 10 s (the store changes them a few hundred to a transaction, pausing between
 * so a running service's writes go on).
 */
async function inSlices<T>(ids: readonly number[], done: string, run: (slice: readonly number[]) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let said = Date.now();
  for (let i = 0; i < ids.length; i += SLICE) {
    if (i > 0 && Date.now() - said >= PROGRESS_EVERY_MS) {
      said = Date.now();
      process.stderr.write(`… ${i} of ${ids.length} dead letter(s) ${done} so far\n`);
    }
    out.push(await run(ids.slice(i, i + SLICE)));
  }
  return out;
}

/** Every dead letter (of one destination, when named), oldest first. */
async function deadLetters(store: Store, destination?: string): Promise<OutboxItem[]> {
  return (await store.listDeliveries({ status: 'dead', ...(destination !== undefined ? { destination } : {}), limit: Number.MAX_SAFE_INTEGER })).reverse();
}

/** Ids or `--all`, not both; `--destination` narrows `--all` (the cause fixed for one ERP). */
function checkAllOf(ids: readonly string[], opts: { all?: boolean; destination?: string }, verb: string): void {
  // `--destination erp` alone means every dead letter of erp: say it wants --all, not only "name ids".
  if (opts.destination !== undefined && !opts.all) throw new UsageError(`--destination goes with --all: every dead letter of that destination${ids.length ? '' : ` ('assetbridge dlq ${verb === 'replays' ? 'replay' : 'discard'} --all --destination ${opts.destination}')`}`);
  if (!ids.length && !opts.all) throw new UsageError(`name the dead letters' ids ('assetbridge dlq list' lists them) or use --all (every dead letter; with --destination D, those of D)`);
  if (ids.length && opts.all) throw new UsageError(`name delivery ids or use --all, not both (--all ${verb} every dead letter${opts.destination !== undefined ? ` of ${opts.destination}` : ''}; ids: only ${ids.join(', ')})`);
}

/** A replayed create held back: its last request may still land at the ERP until `notBefore`. */
export interface HeldReplay {
  readonly item: Pick<OutboxItem, 'id' | 'destination' | 'operation' | 'businessKey'>;
  /** When its last attempt ended (epoch ms). */
  readonly lastAttemptAt: number;
  /** The destination's `retry.unknownOutcomeSettleMs`. */
  readonly settleMs: number;
  /** When it is due: `lastAttemptAt + settleMs`. */
  readonly notBefore: number;
}

/**
 * What `dlq replay` says of the dead letters it queued: who sends them, and when; `later` are
 * those of them that wait until their last request can no longer land.
 */
export function queuedAgainText(n: number, service: { readonly pid: number } | undefined, later: readonly HeldReplay[] = []): string {
  if (n === 0) return '0 dead letter(s) queued again\n';
  const first = service
    ? `${n} dead letter(s) queued again; the running service (pid ${service.pid}) sends ${later.length ? `${n - later.length} of them within a second, ${later.length} at the time below` : 'them within a second'}\n`
    : `${n} dead letter(s) queued again; no service is running on this store: they are sent when it starts ('assetbridge run')${later.length ? `, ${later.length} of them no sooner than the time below` : ''}\n`;
  if (!later.length) return first;
  const lines = later.map(
    (h) =>
      `  ${h.item.id}  ${h.item.operation} ${h.item.businessKey}: sent no sooner than ${isoTime(h.notBefore)} (its last request ended ${isoTime(h.lastAttemptAt)}; retry.unknownOutcomeSettleMs of ${h.item.destination}: ${durationText(h.settleMs)})\n`,
  );
  return `${first}${later.length} wait until their last request can no longer land: a request of each got no answer or a 5xx, so the ERP may still be creating the record, and sent again before then it could be created twice:\n${lines.join('')}`;
}

/** What a delivery that is no dead letter is now, for the ids a dlq command was given. */
export function notDeadState(d: Pick<OutboxItem, 'status'> | undefined): string {
  switch (d?.status) {
    case undefined:
      return 'no such delivery';
    case 'pending':
      return 'pending: queued to be sent (replayed already, or not failed yet)';
    case 'inflight':
      return 'being sent now';
    case 'delivered':
      return 'delivered';
    case 'superseded':
      return 'superseded by a newer value, not sent';
    case 'discarded':
      return 'discarded';
    case 'dead':
      return 'dead';
  }
}

/** Outcomes of an audit record that delivered its delivery (sent, resent, or recorded as delivered by hand). */
const DELIVERED_OUTCOMES = new Set(['delivered', 'resent', 'marked-delivered']);

/**
 * What `dlq show` says first of a delivery that is not a dead letter: its actual status, with when
 * it was delivered (its newest audit record that delivered it) or is next tried.
 * `history`: its audit records, oldest first.
 */
export function notDeadLetterText(d: Pick<OutboxItem, 'id' | 'status' | 'nextAttemptAt'>, history: readonly Pick<AuditRecord, 'at' | 'outcome'>[]): string {
  let state = notDeadState(d);
  if (d.status === 'delivered') {
    const at = history.findLast((r) => DELIVERED_OUTCOMES.has(r.outcome))?.at;
    if (at !== undefined) state = `delivered at ${isoTime(at)}`;
  } else if (d.status === 'pending') state = `pending: queued to be sent, next attempt at ${isoTime(d.nextAttemptAt)} (replayed already, or not failed yet)`;
  return `not a dead letter: delivery ${d.id} is ${state}; shown all the same; 'assetbridge dlq list' lists the dead letters`;
}

/** Dead letters `dlq replay` keeps because the config names no destination of theirs: nothing would send them. */
export function unsendableText(kept: readonly Pick<OutboxItem, 'id' | 'destination'>[], names: readonly string[]): string {
  const byDestination = new Map<string, number[]>();
  for (const d of kept) {
    const ids = byDestination.get(d.destination) ?? [];
    ids.push(d.id);
    byDestination.set(d.destination, ids);
  }
  let out = '';
  for (const [destination, ids] of byDestination) {
    const shown = ids.length > 10 ? `${ids.slice(0, 10).join(' ')} …` : ids.join(' ');
    out += `kept as dead letters: ${ids.length} of destination ${destination} (${shown}), which is not in the config (destinations[].name: ${names.join(', ')}), so nothing would send them; if it was renamed, put the old name back and replay them, or give them up: 'assetbridge dlq discard --all --destination ${destination}'\n`;
  }
  return out;
}

/** Ids named that were not dead letters: reported with what each is now, and the command fails. */
async function notDead(store: Store, ids: readonly number[]): Promise<void> {
  if (!ids.length) return;
  // By what each is now: ids replayed twice (a script, a second --all) would repeat one state for each.
  const byState = new Map<string, number[]>();
  for (const id of ids) {
    const state = notDeadState(await store.getDelivery(id));
    const same = byState.get(state) ?? [];
    same.push(id);
    byState.set(state, same);
  }
  const now = [...byState].map(([state, same]) => `${same.length > 20 ? `${same.slice(0, 20).join(' ')} … (${same.length})` : same.join(' ')} (${state})`);
  process.stderr.write(`not dead letters: ${now.join(', ')}; 'assetbridge dlq list' lists the dead letters, 'assetbridge audit --delivery ID' one delivery's attempts\n`);
  process.exitCode = 1;
}

/** The edited payload of `dlq replay ID --payload FILE`: a JSON object, from a file or `-` (stdin). */
function readPayload(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`--payload ${file}: cannot read it (${whyUnreadable(err)}); give the file 'assetbridge dlq show ID --payload' was saved to and edited in, or - for standard input`);
  }
  let value: unknown;
  try {
    // Editors on Windows (Notepad, PowerShell's Out-File) start the file with a byte order mark.
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new UsageError(`--payload ${file} is not a JSON object: ${coerceError(err).message}; write the payload as 'dlq show ID --payload' prints it`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`--payload ${file} is not a JSON object: write the payload as 'dlq show ID --payload' prints it`);
  return value as Record<string, unknown>;
}

/**
 * An edited payload naming another asset than the dead letter's: its request still goes to the
 * dead letter's asset (a path under `{erpAssetId}`, its business key, the feedback it gets), so
 * the ERP would get a body naming one asset at another asset's path. Refused, saying what to do.
 */
function refuseAnotherAsset(edited: Record<string, unknown>, row: OutboxItem | undefined, file: string): void {
  if (row?.status !== 'dead' || !('erpAssetId' in edited) || edited.erpAssetId === row.erpAssetId) return;
  throw new UsageError(
    `--payload ${file}: its erpAssetId ${JSON.stringify(edited.erpAssetId)} is not the asset of dead letter ${row.id}, ${row.erpAssetId}, whose request it stays ` +
      `(the path it is sent to, its business key ${row.businessKey} and the ERP's feedback are ${row.erpAssetId}'s): an edit cannot move a delivery to another asset. ` +
      `Keep "erpAssetId": ${JSON.stringify(row.erpAssetId)}; if the asset mapping is wrong, correct it for what comes next ('assetbridge assets import') and give this one up ('assetbridge dlq discard ${row.id}'). Nothing was changed`,
  );
}

export function registerDlqCommand(program: Command): void {
  const dlq = program.command('dlq').description('dead letters: deliveries that failed permanently or ran out of attempts');

  addConfigOption(
    dlq
      .command('list')
      .description('list dead letters')
      .option('--destination <name>', 'only this destination')
      .option('--limit <n>', 'at most this many', '100')
      .option('--json', 'print JSON')
      .addHelpText('after', '\nExamples:\n  assetbridge dlq list\n  assetbridge dlq list --destination erp --limit 20'),
  ).action(
    action(async (opts: { config: string; destination?: string; limit: string; json?: boolean }) => {
      const limit = parseLimit(opts.limit);
      await withContext(opts.config, async ({ config, store }) => {
        // One more than asked: whether there are more than shown (newest first), so none go unseen.
        const rows = await store.listDeliveries({ status: 'dead', ...(opts.destination ? { destination: opts.destination } : {}), limit: limit + 1 });
        if (rows.length > limit) {
          rows.length = limit;
          // How many in all (the counts status shows), so the operator knows what --limit to give.
          const all = (await store.outboxStats(Date.now())).filter((s) => opts.destination === undefined || s.destination === opts.destination).reduce((n, s) => n + s.dead, 0);
          const shown = all > limit ? `the newest ${limit} of ${all} dead letters shown, ${all - limit} left out` : `more dead letters than the ${limit} shown (the newest first)`;
          process.stderr.write(`${shown}: --limit <n> to see more, --destination <name> to narrow\n`);
        }
        // A typo in the name reads like "no dead letters" (one removed from the config may still have some).
        if (!rows.length && opts.destination !== undefined) checkDestination(config, opts.destination);
        // Letters of a destination the config no longer names (renamed or removed): a replay keeps them, as status says of its pending ones.
        const names = config.destinations.map((d) => d.name);
        for (const gone of new Set(rows.map((r) => r.destination).filter((d) => !names.includes(d))))
          process.stderr.write(
            `destination ${gone} is not in the config (destinations[].name: ${names.join(', ')}): nothing would send its dead letters, so a replay keeps them; if it was renamed, put the old name back and replay them, or give them up: 'assetbridge dlq discard --all --destination ${gone}'\n`,
          );
        if (opts.json) return void process.stdout.write(`${toJson(rows)}\n`);
        if (!rows.length) return void process.stdout.write('no dead letters\n');
        process.stdout.write(
          table([
            ['ID', 'DESTINATION', 'OPERATION', 'ASSET', 'ATTEMPTS', 'MAY BE IN ERP', 'REASON'],
            ...rows.map((r) => [r.id, r.destination, r.operation, r.erpAssetId, r.attempts, r.mayHaveLanded ? 'maybe' : 'no', clip(r.lastError ?? '')]),
          ]),
        );
        if (rows.some((r) => (r.lastError ?? '').replace(/\s+/g, ' ').length > 100)) process.stdout.write("(a reason ending in … is cut: 'assetbridge dlq show ID' has it whole)\n");
        // Replaying one is safe (same idempotency key); giving one up is not, if the ERP holds it.
        if (rows.some((r) => r.mayHaveLanded))
          process.stdout.write(
            "'maybe': a request of it got no answer (timed out, connection dropped, or in flight at a crash) or a server error (5xx, which can come after the ERP applied it), so the ERP may hold it; check the ERP before discarding it, and if it does, 'assetbridge dlq mark-delivered ID'\n",
          );
      }, { readOnly: true });
    }),
  );

  addConfigOption(
    dlq
      .command('show <id>')
      .description('one dead letter with its payload and full attempt history')
      .option('--payload', "only the payload, as JSON: the file to edit for 'dlq replay ID --payload FILE'")
      .option('--json', 'print JSON (what it prints anyway; taken as the listing commands take it)')
      .addHelpText('after', '\nExamples:\n  assetbridge dlq show 42\n  assetbridge dlq show 42 --payload > payload-42.json   # edit it, then: assetbridge dlq replay 42 --payload payload-42.json'),
  ).action(
    action(async (id: string, opts: { config: string; payload?: boolean }) => {
      const [n] = parseIds([id], 'delivery');
      await withContext(opts.config, async ({ store }) => {
        const d = await store.getDelivery(n as number);
        // An id that names nothing fails (exit 1), as in replay, discard and mark-delivered: a fact of the store, not a usage error.
        if (!d) return noneFound(`no delivery ${id}; 'assetbridge dlq list' lists the dead letters, 'assetbridge audit --json' the ids of every delivery tried`);
        const history = await store.queryAudit({ deliveryId: d.id, limit: SHOW_HISTORY });
        // Shown all the same (its payload and history are what one looks for), but said first, and
        // failed (exit 1) as replay and discard fail an id that is not a dead letter.
        if (d.status !== 'dead') {
          process.stderr.write(`${notDeadLetterText(d, history)}\n`);
          process.exitCode = 1;
        }
        if (opts.payload) return void process.stdout.write(`${JSON.stringify(d.payload, null, 2)}\n`);
        // The newest are shown: say how many older ones were left out, and where they are, so none go unseen.
        const all = history.length < SHOW_HISTORY ? history.length : await store.countAudit({ deliveryId: d.id });
        const leftOut = all - history.length;
        process.stdout.write(`${toJson({ delivery: d, history, ...(leftOut > 0 ? { historyLeftOut: leftOut } : {}) })}\n`);
        if (leftOut > 0)
          process.stderr.write(`history: the newest ${history.length} of ${all} records shown, ${leftOut} older left out: 'assetbridge audit --delivery ${d.id} --limit ${all}' lists them all\n`);
      }, { readOnly: true });
    }),
  );

  addConfigOption(
    dlq
      .command('replay [ids...]')
      .description('send dead letters again (same idempotency keys, attempts reset; an edited payload, or --new-key, gets a new one unless a request of it may have reached the ERP)')
      .option('--all', 'replay every dead letter')
      .option('--destination <name>', 'with --all: only the dead letters of this destination')
      .option('--payload <file>', "edit & replay one dead letter: send this JSON object as its payload instead ('-' reads standard input; start from 'dlq show ID --payload'; its erpAssetId cannot change)")
      .option(
        '--new-key',
        "send them unchanged under a new idempotency key (derived from the old one): for an ERP that keeps its refusal (a 4xx) under the old key and answers it again; not for one a request of which may have reached the ERP (kept as a dead letter, exit 1) unless --not-in-erp",
      )
      .option('--not-in-erp', 'with --new-key: a new key for those too that may have reached the ERP, as you checked that the ERP does not hold them (else it may apply them twice)')
      .addHelpText(
        'after',
        "\nExit codes: 0 replayed, 1 when an id is no dead letter (the others are replayed), a dead letter's destination is no longer configured, or --new-key kept one that may have reached the ERP; 2 bad usage or config.\n\n" +
          'Examples:\n  assetbridge dlq replay 42 43\n  assetbridge dlq replay --all --destination erp\n  assetbridge dlq replay 42 --payload payload-42.json',
      ),
  ).action(
    action(async (ids: string[], opts: { config: string; all?: boolean; destination?: string; payload?: string; newKey?: boolean; notInErp?: boolean }) => {
      if (opts.payload !== undefined && (opts.all || new Set(ids).size !== 1)) throw new UsageError('--payload edits one dead letter: name one id (not --all)');
      if (opts.payload !== undefined && opts.newKey) throw new UsageError('--payload and --new-key: an edited payload gets a new idempotency key anyway (unless a request of it may have reached the ERP); --new-key is for a replay of the payload unchanged');
      if (opts.notInErp && !opts.newKey) throw new UsageError('--not-in-erp goes with --new-key: it lets dead letters that may have reached the ERP take a new idempotency key');
      checkAllOf(ids, opts, 'replays');
      const edited = opts.payload === undefined ? undefined : readPayload(opts.payload);
      await withContext(opts.config, async ({ config, store }) => {
        const asked = opts.all ? (await deadLetters(store, opts.destination)).map((d) => d.id) : [...new Set(parseIds(ids, 'delivery'))];
        // A typo in the name reads like "no dead letters" (one removed from the config may still have some).
        if (!asked.length && opts.destination !== undefined) checkDestination(config, opts.destination);
        const before = await Promise.all(asked.map((id) => store.getDelivery(id)));
        // A destination removed from the config (or renamed) has nothing to send to: queued, they would wait for ever.
        const names = config.destinations.map((d) => d.name);
        const unsendable = before.filter((d): d is OutboxItem => d?.status === 'dead' && !names.includes(d.destination));
        if (edited && unsendable.length) throw new UsageError(unsendableText(unsendable, names).trimEnd());
        if (edited) refuseAnotherAsset(edited, before[0], opts.payload ?? '');
        if (edited) {
          const id = asked[0] as number;
          if (!(await store.editDeadPayload(id, edited, Date.now()))) return notDead(store, [id]);
          const editedRow = await store.getDelivery(id);
          // A new key when nothing of it reached the ERP; else the key stays, so it cannot land twice.
          const key =
            editedRow === undefined || editedRow.idempotencyKey === before[0]?.idempotencyKey
              ? editedRow?.mayHaveLanded
                ? `; it keeps its idempotency key, as a request of it may have reached the ERP (an ERP that refuses a key reused with another body will refuse it: check the ERP, and if it holds the record, 'assetbridge dlq mark-delivered ${id}')`
                : ''
              : `; sent with a new idempotency key ${editedRow.idempotencyKey}, as no request of it reached the ERP`;
          process.stdout.write(`payload of ${id} replaced${key} (the edit is in its audit: 'assetbridge audit --delivery ${id}')\n`);
        }
        // Sets and maps by id: with --all, the lists run to many thousands (lookups in arrays took about 33 s of 43 for 100,000).
        const unsendableIds = new Set(unsendable.map((d) => d.id));
        const beforeById = new Map(before.flatMap((d) => (d ? [[d.id, d] as const] : [])));
        let dead = asked.filter((id, i) => before[i]?.status === 'dead' && !unsendableIds.has(id));
        let held: number[] = [];
        // A create whose last request may still land (no answer, a 5xx) waits until it can no longer
        // land, as the service's own retry does: sent at once, the ERP could be creating it twice at
        // once. Also under a new key the operator says the ERP does not hold (--not-in-erp): a
        // request still on its way is not in it yet. (`before`: read ahead of a new key's clearing.)
        const replayedAt = Date.now();
        const holds = new Map<number, HeldReplay>();
        const dueAt = (item: OutboxItem, lastAttemptAt: number): number | undefined => {
          const d = config.destinations.find((x) => x.name === item.destination);
          const settleMs = d?.retry.unknownOutcomeSettleMs ?? 0;
          if (!d || settleMs <= 0 || !beforeById.get(item.id)?.mayHaveLanded || !createsRecordOf(d).includes(item.operation)) return undefined;
          const notBefore = lastAttemptAt + settleMs;
          if (notBefore > replayedAt) holds.set(item.id, { item, lastAttemptAt, settleMs, notBefore });
          return notBefore;
        };
        // An inventory count replayed after a newer one of its cell was sent lands last: the
        // inventory task sends the cell's current total after it (an ERP taking totals keeps the last).
        const deadIds = new Set(dead);
        await noteReplayedCounts(store, before.filter((d): d is OutboxItem => d !== undefined && deadIds.has(d.id)), replayedAt);
        if (opts.newKey) {
          // Each letter's new key and replay in one transaction: a crash between them left letters
          // re-keyed (their may-have-landed mark cleared) but dead, and running this again then sent
          // them without the settle wait above.
          const keyed = (await inSlices(dead, 'replayed', (slice) => store.replayDeadWithNewKey(slice, replayedAt, { evenIfMayHaveLanded: opts.notInErp === true }, dueAt))).flatMap((r) => r.keyed);
          for (const k of keyed) if (k.result === 'new-key') process.stdout.write(`${k.id}: new idempotency key ${k.key} (was ${k.was})\n`);
          held = keyed.filter((k) => k.result === 'may-have-landed').map((k) => k.id);
          const heldIds = new Set(held);
          dead = dead.filter((id) => !heldIds.has(id));
        } else await inSlices(dead, 'replayed', (slice) => store.replayDead(slice, replayedAt, dueAt));
        // A state update that a newer value overtook is superseded, not sent: say so, not "queued".
        const after = await Promise.all(dead.map((id) => store.getDelivery(id)));
        const superseded = after.filter((d): d is OutboxItem => d?.status === 'superseded');
        const later = after.flatMap((d) => (d?.status === 'pending' && holds.has(d.id) ? [holds.get(d.id) as HeldReplay] : []));
        process.stdout.write(queuedAgainText(dead.length - superseded.length, await runningService(store, Date.now()), later));
        if (superseded.length) {
          process.stdout.write(
            `${superseded.length} not sent (superseded): a newer value of the same record was already sent or is queued, and the ERP keeps that one; nothing to do, they leave the dead letters:\n`,
          );
          for (const d of superseded) process.stdout.write(`  ${d.id}  ${d.operation} ${d.businessKey} as of ${isoTime(d.eventTime)}\n`);
        }
        if (unsendable.length) {
          process.stderr.write(unsendableText(unsendable, names));
          process.exitCode = 1;
        }
        if (held.length) {
          const list = held.join(' ');
          process.stderr.write(
            `kept as dead letters, keys unchanged: ${list} may have reached the ERP (a request of it got no answer or a 5xx), and under a new key the ERP could apply it twice; check the ERP: if it holds them, 'assetbridge dlq mark-delivered ${list}'; if it does not, 'assetbridge dlq replay ${list} --new-key --not-in-erp'; or replay them under their keys: 'assetbridge dlq replay ${list}'\n`,
          );
          process.exitCode = 1;
        }
        const settled = new Set([...dead, ...held, ...unsendableIds]);
        await notDead(store, asked.filter((id) => !settled.has(id)));
      }, { existingStore: true });
    }),
  );

  addConfigOption(
    dlq
      .command('discard [ids...]')
      .description('give up on dead letters: they leave the list and are never sent (the record and its audit stay; a discarded work order or posting cannot be queued again)')
      .option('--all', 'discard every dead letter')
      .option('--destination <name>', 'with --all: only the dead letters of this destination')
      .option('--send-again', "discard inventory counts that may have reached the ERP too (their change is sent again; without this they stay dead letters: check the ERP, then 'dlq mark-delivered' or this)")
      .addHelpText(
        'after',
        '\nExit codes: 0 discarded, 1 when an id is no dead letter (the others are discarded) or an inventory count that may have reached the ERP was kept (without --send-again); 2 bad usage or config.\n\n' +
          'Examples:\n  assetbridge dlq discard 42 43\n  assetbridge dlq discard --all --destination erp',
      ),
  ).action(
    action(async (ids: string[], opts: { config: string; all?: boolean; destination?: string; sendAgain?: boolean }) => {
      checkAllOf(ids, opts, 'discards');
      await withContext(opts.config, async ({ config, store }) => {
        let dead: OutboxItem[];
        let asked: number[] = [];
        if (opts.destination !== undefined || opts.all) {
          dead = await deadLetters(store, opts.destination);
          if (opts.destination !== undefined && !dead.length) checkDestination(config, opts.destination);
        } else {
          asked = [...new Set(parseIds(ids, 'delivery'))];
          const before = await Promise.all(asked.map((id) => store.getDelivery(id)));
          dead = before.filter((d): d is OutboxItem => d?.status === 'dead');
        }
        // Inventory counts given up are owed again: the next inventory run sends their change anew.
        // One whose request may have landed would then count twice at an ERP that takes deltas: it
        // stays, unless asked (the ERP was checked, or it takes totals).
        const held = opts.sendAgain ? [] : dead.filter((d) => d.operation === INVENTORY_COUNT && d.mayHaveLanded);
        const heldSet = new Set(held);
        const go = dead.filter((d) => !heldSet.has(d));
        const discardedAt = Date.now();
        const n = (await inSlices(go.map((d) => d.id), 'discarded', (slice) => store.discardDead(slice, discardedAt))).reduce((a, b) => a + b, 0);
        const inventory = go.filter((d) => d.operation === INVENTORY_COUNT);
        // One whose last request may still land is sent again only once it can no longer land (as a replay waits).
        const now = Date.now();
        const later: { id: number; destination: string; at: number; settleMs: number }[] = [];
        for (const d of inventory) {
          const settleMs = config.destinations.find((x) => x.name === d.destination)?.retry.unknownOutcomeSettleMs ?? 0;
          const at = await resendableAt(store, d, settleMs);
          if (at > now) later.push({ id: d.id, destination: d.destination, at, settleMs });
        }
        // Counts of a destination no longer configured: the inventory run sends none there until it is again.
        const gone = [...new Set(inventory.map((d) => d.destination).filter((name) => !config.destinations.some((x) => x.name === name)))];
        const goneCount = inventory.filter((d) => gone.includes(d.destination)).length;
        const list = gone.map((g) => `"${g}"`).join(', ');
        const itIs = gone.length === 1 ? 'it is' : 'they are';
        const again = later.length ? `the first inventory run from the time below sends the change of ${later.length} of them again, the next run that of the others` : 'the next inventory run sends their change again';
        const owed =
          goneCount === 0
            ? again
            : goneCount === inventory.length
              ? `none is sent again while ${list} ${gone.length === 1 ? 'is' : 'are'} not configured (destinations[].name); once ${itIs} again, ${again}`
              : `${again}, but the ${goneCount} to ${list} (no longer configured: destinations[].name) only once ${itIs} configured again`;
        process.stdout.write(`discarded ${n} dead letter(s)\n${inventory.length ? `${inventory.length} of them inventory count(s): ${owed} (\`assetbridge inventory counts\` shows it)\n` : ''}`);
        if (later.length)
          process.stdout.write(
            `${later.length} may have reached the ERP (a request got no answer or a 5xx): sent again before that request can no longer land, an ERP that takes deltas could count the change twice:\n` +
              later.map((h) => `  ${h.id}  sent again no sooner than ${isoTime(h.at)} (its last request ended ${isoTime(h.at - h.settleMs)}; retry.unknownOutcomeSettleMs of ${h.destination}: ${durationText(h.settleMs)})\n`).join(''),
          );
        if (held.length) {
          const list = held.map((d) => d.id).join(' ');
          process.stderr.write(
            `kept as dead letters: inventory count(s) ${list} may have reached the ERP (a request got no answer or a 5xx), and a discarded count's change is sent again; check the ERP: if it holds them, 'assetbridge dlq mark-delivered ${list}', else 'assetbridge dlq discard --send-again ${list}'\n`,
          );
          process.exitCode = 1;
        }
        const deadIds = new Set(dead.map((d) => d.id));
        await notDead(store, asked.filter((id) => !deadIds.has(id)));
      }, { existingStore: true });
    }),
  );

  addConfigOption(
    dlq
      .command('mark-delivered <ids...>')
      .description(
        'record dead letters as delivered, without sending them: the ERP holds them (a request whose answer was lost did land, or the record was keyed in by hand); an inventory count so recorded is not sent again',
      )
      .addHelpText(
        'after',
        '\nExit codes: 0 recorded, 1 when an id is no dead letter (the others are recorded); 2 bad usage or config.\n\nExample (after checking that the ERP holds them):\n  assetbridge dlq mark-delivered 42 43',
      ),
  ).action(
    action(async (ids: string[], opts: { config: string }) => {
      await withContext(opts.config, async ({ store }) => {
        const asked = [...new Set(parseIds(ids, 'delivery'))];
        const before = await Promise.all(asked.map((id) => store.getDelivery(id)));
        const markedAt = Date.now();
        const moved = (await inSlices(asked, 'recorded as delivered', (slice) => store.markDelivered(slice, markedAt))).flat();
        const movedIds = new Set(moved);
        const inventory = before.filter((d) => d !== undefined && movedIds.has(d.id) && d.operation === INVENTORY_COUNT).length;
        process.stdout.write(
          `${moved.length} dead letter(s) recorded as delivered (not sent; 'assetbridge audit --delivery ID' shows the record)\n${inventory ? `${inventory} of them inventory count(s): their change counts as sent\n` : ''}`,
        );
        await notDead(store, asked.filter((id) => !movedIds.has(id)));
      }, { existingStore: true });
    }),
  );
}
