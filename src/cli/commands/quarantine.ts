import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors/errors.js';
import { payloadText } from '../../core/normalize/decoder.js';
import { createApp, configLogger } from '../../app.js';
import { QUARANTINE_REPLAY_JOB, readRuntimeSnapshot } from '../../engine/engine.js';
import { runServiceJob } from '../service-job.js';
import { formatReplaySummary, quarantineStates, replayQuarantine } from '../../engine/replay.js';
import type { Store } from '../../ports/store.js';
import type { QuarantineCode } from '../../core/model/messages.js';
import { action, isoTime, addConfigOption, noneFound, parseIds, parseLimit, resolveConfig, table, withContext, toJson } from '../context.js';
import { logLevel } from '../../adapters/log/logger.js';

const CODES = ['undecodable', 'invalid', 'unknown-asset', 'stale', 'too-large', 'unreadable-page'];

/**
 * A payload for JSON output: its text, and when it is bytes that are not UTF-8 (kept as received),
 * also the bytes as base64, which the text (with replacement characters) cannot give back.
 */
function payloadFields(p: Uint8Array | string): { payload: string; payloadBase64?: string } {
  if (typeof p === 'string') return { payload: p };
  try {
    return { payload: new TextDecoder('utf-8', { fatal: true }).decode(p) };
  } catch {
    return { payload: payloadText(p), payloadBase64: Buffer.from(p).toString('base64') };
  }
}

/**
 * Text for a terminal: control characters (an ESC that starts a terminal sequence, a backspace, a
 * bell) and the marks that reverse the direction of text shown as `\x1b` / `\u202e`, so input set
 * aside cannot move the cursor, recolour or clear the operator's terminal, nor hide what it holds.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- the control characters are what this class finds
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * A payload's start for the list: its text on one line, printable; bytes that are not UTF-8 (kept
 * as received) as their count and first bytes in hex, as the reason gives them, rather than as
 * replacement characters and whatever control bytes they hold.
 */
export function payloadPreview(p: Uint8Array | string, max = 60): string {
  if (typeof p !== 'string') {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(p);
    } catch {
      const first = Buffer.from(p.subarray(0, 8)).toString('hex').replace(/(..)(?!$)/g, '$1 ');
      return `(${p.length} bytes, not UTF-8: ${first}${p.length > 8 ? ' …' : ''})`;
    }
  }
  const t = printable(payloadText(p).replace(/\s+/g, ' '));
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** True when a service is running against this store (its runtime snapshot is fresh). */
export async function serviceIsRunning(store: Store): Promise<boolean> {
  const snap = await readRuntimeSnapshot(store);
  return snap !== undefined && snap.state === 'running' && Date.now() - snap.at < 5000;
}

/**
 * When the config file was changed after the running service started: a note that the service
 * replays with the configuration it started with (a fixed decoder takes effect after a restart).
 */
async function configChangedNote(store: Store, configPath: string): Promise<string | undefined> {
  const snap = await readRuntimeSnapshot(store);
  if (!snap) return undefined;
  let modified: number;
  try {
    modified = statSync(configPath).mtimeMs;
  } catch {
    return undefined;
  }
  if (snap.startedAt === undefined || modified <= snap.startedAt) return undefined;
  return `note: ${configPath} changed since the running service started (pid ${snap.pid ?? '?'}); it replays with the configuration it started with: restart it to apply the change, then replay again\n`;
}

/** What an empty `quarantine list` found nothing of: open entries only, unless --all; one code, with --code. */
function nothingListed(opts: { code?: string; all?: boolean }): string {
  const code = opts.code ? ` with code ${opts.code}` : '';
  return opts.all ? `no quarantine entries${code}` : `no open quarantine entries${code} (--all includes replayed and discarded ones)`;
}

/** A `--code` that is no reason code: refused (2), echoing it beside the codes there are (a code is written with hyphens: unknown-asset). */
function checkCode(code: string | undefined): void {
  if (code === undefined || code === '' || CODES.includes(code)) return;
  const near = CODES.find((c) => c === code.trim().toLowerCase().replace(/[_\s]+/g, '-'));
  throw new UsageError(`--code "${code}" is not a reason code${near !== undefined ? ` (did you mean ${near}?)` : ''}; use one of ${CODES.join(', ')}`);
}

/**
 * How long `quarantine replay` waits for the running service's replay. It was 2 minutes, and a
 * large replay (the docs' million entries) went on in the service while the command failed,
 * saying it did not finish; a service that stops or dies is said within seconds anyway.
 */
export const REPLAY_WAIT_MS = 6 * 3_600_000;

export function registerQuarantineCommand(program: Command): void {
  const q = program.command('quarantine').description('input set aside as malformed, out of range, unknown asset or stale, with the reason; replay it after the fix');

  addConfigOption(
    q
      .command('list')
      .description('list open quarantine entries with their reasons')
      .option('--code <code>', `only this reason code (${CODES.join(', ')})`)
      .option('--all', 'include replayed and discarded entries')
      .option('--limit <n>', 'at most this many', '100')
      .option('--json', 'print JSON')
      .addHelpText('after', '\nExamples:\n  assetbridge quarantine list\n  assetbridge quarantine list --code unknown-asset --limit 20'),
  ).action(
    action(async (opts: { config: string; code?: string; all?: boolean; limit: string; json?: boolean }) => {
      checkCode(opts.code);
      const limit = parseLimit(opts.limit);
      await withContext(opts.config, async ({ store }) => {
        // One more than asked: whether there are more than shown (oldest first), so none go unseen.
        const rows = await store.listQuarantine({ ...(opts.all ? {} : { status: 'open' as const }), ...(opts.code ? { code: opts.code as never } : {}), limit: limit + 1 });
        if (rows.length > limit) {
          rows.length = limit;
          // How many in all, so the operator knows what --limit to give.
          const all = await store.countQuarantine({ ...(opts.all ? {} : { status: 'open' as const }), ...(opts.code ? { code: opts.code as never } : {}) });
          const shown = all > limit ? `the oldest ${limit} of ${all} entries shown, ${all - limit} left out` : `more entries than the ${limit} shown (the oldest first)`;
          process.stderr.write(`${shown}: --limit <n> to see more, --code <code> to narrow\n`);
        }
        if (opts.json) {
          process.stdout.write(`${toJson(rows.map((r) => ({ ...r, ...payloadFields(r.payload) })))}\n`);
          return;
        }
        if (!rows.length) return void process.stdout.write(`${nothingListed(opts)}\n`);
        process.stdout.write(
          table([
            ['ID', 'RECEIVED', 'SOURCE', 'CODE', 'STATUS', 'REASON', 'PAYLOAD'],
            ...rows.map((r) => [r.id, isoTime(r.receivedAt), r.source, r.code, r.replayOf !== undefined ? `${r.status} (replay of ${r.replayOf})` : r.status, printable(r.reason), payloadPreview(r.payload)]),
          ]),
        );
      }, { readOnly: true });
    }),
  );

  addConfigOption(
    q
      .command('show <id>')
      .description('one quarantine entry in full: its reason and its whole payload')
      .option('--payload', 'only the payload, exactly as it was received (bytes too: redirect it to a file)')
      .option('--json', 'print JSON (what it prints without --payload anyway; taken as the listing commands take it)')
      .addHelpText('after', '\nExamples:\n  assetbridge quarantine show 17\n  assetbridge quarantine show 17 --payload > message-17.bin'),
  ).action(
    action(async (id: string, opts: { config: string; payload?: boolean; json?: boolean }) => {
      if (opts.payload && opts.json) throw new UsageError("--payload prints the payload as received, not JSON: drop --json (without --payload the JSON has the payload, and 'payloadBase64' for bytes)");
      const [n] = parseIds([id], 'quarantine');
      await withContext(opts.config, async ({ store }) => {
        const [entry] = await store.listQuarantine({ ids: [n as number], limit: 1 });
        // An id that names nothing fails (exit 1), as in replay and discard: a fact of the store, not a usage error.
        if (!entry) return noneFound(`no quarantine entry ${id}; 'assetbridge quarantine list --all' lists them`);
        if (opts.payload) return void process.stdout.write(entry.payload);
        // Where a replay of this entry was set aside again: the entry it opened.
        const again = entry.status === 'replayed' ? (await store.listQuarantine({ replayOf: entry.id, limit: 10 })).map((r) => r.id) : [];
        process.stdout.write(`${toJson({ ...entry, ...payloadFields(entry.payload), ...(again.length ? { quarantinedAgainAs: again } : {}) })}\n`);
      }, { readOnly: true });
    }),
  );

  addConfigOption(
    q
      .command('replay [ids...]')
      .description('re-process quarantined messages through the pipeline (after adding a mapping or fixing a decoder)')
      .option('--code <code>', 'replay every open entry with this reason code')
      .option('--all', 'replay every open entry')
      .addHelpText('after', "\nNever replayed, even when named: unreadable-page entries (pages a telematics pull could not read, not messages) and too-large ones of which only the start of the payload was kept; the summary names them.")
      .addHelpText(
        'after',
        "\nA work order an ERP pushed that its webhook could not read, or one a poll listed and could not read (a status workOrderStatuses does not map, no id or time), is read again as the webhook reads it, by its destination's settings as they are now (workOrderFields, workOrderStatuses); one pushed to or polled from a destination no longer in the config stays open, and the summary says so (naming which: pushed or polled).",
      )
      .addHelpText('after', '\nExamples:\n  assetbridge quarantine replay --code unknown-asset\n  assetbridge quarantine replay 17 18'),
  ).action(
    action(async (ids: string[], opts: { config: string; code?: string; all?: boolean }) => {
      if (!ids.length && !opts.code && !opts.all) throw new UsageError(`name entry ids ('assetbridge quarantine list' lists them with their reasons), or use --code <code> (every open entry of that reason code) or --all`);
      if (ids.length && opts.all) throw new UsageError(`name entry ids or use --all, not both (--all replays every open entry; ids: only ${ids.join(', ')})`);
      checkCode(opts.code);
      const filter = { ...(ids.length ? { ids: parseIds(ids, 'quarantine') } : {}), ...(opts.code ? { code: opts.code } : {}) };
      const running = await withContext(opts.config, async ({ store, configPath }) => {
        if (!(await serviceIsRunning(store))) return false;
        // The running service owns the pipeline state: ask it to replay, and wait for its answer.
        process.stderr.write('asked the running service to replay; waiting (Ctrl-C stops it)…\n');
        // As long as the replay takes (a million entries take minutes), shown as the command's own
        // replay shows it: a service that stops or dies before it answers is said within seconds.
        let shown = false;
        const result = await runServiceJob(store, QUARANTINE_REPLAY_JOB, filter, 'quarantine replay', REPLAY_WAIT_MS, (line) => {
          if (!process.stderr.isTTY) return;
          shown = true;
          process.stderr.write(`\r${line}`);
        });
        if (shown) process.stderr.write('\n');
        if (!result) return true;
        process.stdout.write(result.output);
        const note = await configChangedNote(store, configPath);
        if (note) process.stderr.write(note);
        process.exitCode = result.exitCode;
        return true;
      }, { existingStore: true });
      if (running) return;
      const { config } = resolveConfig(opts.config);
      const app = await createApp(config, { sources: false, http: false, deliver: false, logger: configLogger(config, logLevel('warn')), command: 'assetbridge quarantine replay' });
      try {
        const summary = await replayQuarantine(
          app.store,
          app.ingestor,
          filter,
          (done, total) => {
            if (process.stderr.isTTY) process.stderr.write(`\rreplaying ${done}/${total}`);
          },
          undefined,
          app.pushReaders,
        );
        if (process.stderr.isTTY) process.stderr.write('\n');
        await app.ingestor.flush(); // store the rule state the replay changed (a checkpoint)
        process.stdout.write(formatReplaySummary(summary));
        if (summary.skipped?.length) process.exitCode = 1; // ids named that were not open
      } finally {
        await app.close();
      }
    }),
  );

  addConfigOption(
    q
      .command('discard [ids...]')
      .description('mark open entries as discarded (kept for the record, never replayed)')
      .option('--code <code>', 'with --all: every open entry with this reason code; with ids: only those of this code')
      .option('--all', `discard every open entry (but the unreadable-page ones, as replay passes them over: '--all --code unreadable-page' discards those)`)
      .addHelpText('after', '\nExamples:\n  assetbridge quarantine discard --all --code unknown-asset\n  assetbridge quarantine discard 17 18'),
  ).action(
    action(async (ids: string[], opts: { config: string; code?: string; all?: boolean }) => {
      if (!ids.length && !opts.code && !opts.all) throw new UsageError(`name entry ids ('assetbridge quarantine list' lists them with their reasons), or use --all (with --code <code> for one reason code)`);
      if (ids.length && opts.all) throw new UsageError(`name entry ids or use --all, not both (--all discards every open entry; ids: only ${ids.join(', ')})`);
      checkCode(opts.code);
      // Unlike replay, discarding cannot be undone: --code alone does not mean every entry of that code.
      if (opts.code && !ids.length && !opts.all) throw new UsageError(`--code goes with --all or with ids: every open entry of that code is 'assetbridge quarantine discard --all --code ${opts.code}'`);
      await withContext(opts.config, async ({ store }) => {
        const code = opts.code ? { code: opts.code as QuarantineCode } : {};
        if (opts.all) return void (await discardAll(store, code));
        const asked = [...new Set(parseIds(ids, 'quarantine'))];
        // With --code, only the named entries of that code (as replay does).
        const target = opts.code ? (await store.listQuarantine({ status: 'open', ...code, ids: asked, limit: asked.length })).map((r) => r.id) : asked;
        const closed = target.length ? await store.markQuarantine(target, 'discarded') : [];
        process.stdout.write(`discarded ${closed.length} entr${closed.length === 1 ? 'y' : 'ies'}\n`);
        const left = asked.filter((id) => !closed.includes(id));
        const otherCode = opts.code && left.length ? (await store.listQuarantine({ status: 'open', ids: left, limit: left.length })).map((r) => r.id) : [];
        const notOpen = left.filter((id) => !otherCode.includes(id));
        if (notOpen.length) {
          const states = await quarantineStates(store, notOpen);
          process.stderr.write(`not open: ${notOpen.map((id) => `${id} (${states[id] ?? 'no such entry'})`).join(', ')}\n`);
        }
        if (otherCode.length) process.stderr.write(`not discarded (open, but not of code ${opts.code}; name them without --code): ${otherCode.join(', ')}\n`);
        if (left.length) process.exitCode = 1;
      }, { existingStore: true });
    }),
  );
}

/** Open entries read at a time by `discard --all`. */
const DISCARD_CHUNK = 1000;

/**
 * `quarantine discard --all [--code C]`: every open entry (of that code), a chunk at a time, counted
 * by code. Without --code the unreadable-page entries stay open, as replay passes them over: pages
 * kept so they need not be fetched again, discarded when named (`--code unreadable-page`, or ids).
 */
async function discardAll(store: Store, code: { code?: QuarantineCode }): Promise<void> {
  const byCode: Record<string, number> = {};
  let pages = 0;
  let after = 0;
  for (;;) {
    const rows = await store.listQuarantine({ status: 'open', ...code, afterId: after, limit: DISCARD_CHUNK });
    const last = rows.at(-1);
    if (last === undefined) break;
    after = last.id;
    const part = code.code ? rows : rows.filter((r) => r.code !== 'unreadable-page' || (pages++, false));
    if (!part.length) continue;
    const closed = new Set(await store.markQuarantine(part.map((r) => r.id), 'discarded'));
    for (const r of part) if (closed.has(r.id)) byCode[r.code] = (byCode[r.code] ?? 0) + 1;
  }
  const n = Object.values(byCode).reduce((sum, k) => sum + k, 0);
  const pagesNote = pages ? `${pages} unreadable-page entr${pages === 1 ? 'y' : 'ies'} left open (pages a telematics pull could not read: 'assetbridge quarantine discard --all --code unreadable-page' discards them)\n` : '';
  if (n === 0) {
    const of = code.code ? ` with code ${code.code}` : '';
    process.stderr.write(`nothing discarded: no open quarantine entries${of}${pages ? ' but unreadable-page ones' : ''} ('assetbridge quarantine list --all${code.code ? ` --code ${code.code}` : ''}' shows the closed ones)\n${pagesNote}`);
    process.exitCode = 1;
    return;
  }
  const counts = Object.entries(byCode).sort((a, b) => b[1] - a[1]).map(([c, k]) => `${k} ${c}`).join(', ');
  process.stdout.write(`discarded ${n} entr${n === 1 ? 'y' : 'ies'} (${counts})\n`);
  if (pagesNote) process.stderr.write(pagesNote);
}
