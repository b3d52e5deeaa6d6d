/**
 * `assetbridge depreciation refile`: after the depreciation calendar was changed on purpose
 * (rules.depreciation.timeZone, periods, periodsEnd), re-file each held asset's usage under the
 * configured calendar (core depreciation/refile.ts), so it is counted and posted again. Periods
 * covered by postings already made are not posted again. `--dry-run` shows the old and the new
 * periods and changes nothing.
 *
 * The running service keeps rule state in memory: while one runs on the store, the command asks it
 * to re-file (a job, {@link refileJob}), which it does with intake held for the moment it takes
 * (`Ingestor.exclusively`), under the calendar it runs with. Otherwise the command takes the store
 * lease, as the commands that run the pipeline themselves do.
 * @module
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Command } from 'commander';
import { createApp, configLogger } from '../../app.js';
import type { Job } from '../../engine/engine.js';
import type { Ingestor } from '../../engine/ingestor.js';
import { logLevel } from '../../adapters/log/logger.js';
import { NotFoundError, UsageError } from '../../core/errors/errors.js';
import { calendarOf } from '../../core/rules/index.js';
import { customCalendar, monthlyCalendar, stampCalendar, type PeriodCalendar } from '../../core/rules/depreciation/calendar.js';
import { parseLedger, type UsageLedger } from '../../core/rules/depreciation/posting.js';
import { filedCalendar, postedThrough, refiledLedger, refileUsage, type RefileResult } from '../../core/rules/depreciation/refile.js';
import { formatAmount } from '../../core/rules/depreciation/usage.js';
import { DEPRECIATION_RULE, filedUnderOtherCalendar, type UsageState } from '../../core/rules/depreciation/usage-rule.js';
import { matchesFilter } from '../../core/rules/maintenance/types.js';
import type { DepreciationConfig } from '../../config/rules-schema.js';
import { ledgerKey, recordedCalendars, USAGE_NS, type RecordedCalendar } from '../../engine/tasks/usage-posting.js';
import type { Store } from '../../ports/store.js';
import { action, isoTime, addConfigOption, resolveConfig, table, withConfigContext } from '../context.js';
import { serviceIsRunning } from './quarantine.js';
import { runServiceJob } from '../service-job.js';
import { rulesConfigOf } from './rules.js';
import { NO_SUCH_ASSET, resolveAssetArg } from './asset-name.js';

/** One asset's re-file: what it is and would be, or why it is not re-filed. */
export interface AssetRefile {
  readonly erpAssetId: string;
  /** Filed under the configured calendar already: nothing to do. */
  readonly notHeld?: true;
  /** Why it cannot be re-filed (and what to do). */
  readonly problem?: string;
  /** The calendar it was filed under, as a person reads it. */
  readonly was?: string;
  readonly result?: RefileResult;
  readonly ledgerRaw?: string;
  readonly ledger?: UsageLedger;
}

/**
 * The calendars a state stamped `stamp` may have been filed under: monthly in its time zone, or,
 * in its time zone, the configured periods or a list of periods this store ran with before
 * (recorded at each start: the stamp holds a hash, not the periods).
 */
function candidates(stamp: string, d: DepreciationConfig, recorded: readonly RecordedCalendar[]): PeriodCalendar[] {
  const [kind, zone] = stamp.split(' ');
  if (zone === undefined) return [];
  if (kind === 'monthly') {
    try {
      return [monthlyCalendar(zone)];
    } catch {
      return []; // a time zone the stamp names that this runtime does not know
    }
  }
  if (kind !== 'custom') return [];
  const lists = [...(d.periods !== 'monthly' && d.periodsEnd !== undefined ? [{ periods: d.periods, periodsEnd: d.periodsEnd }] : []), ...recorded];
  return lists.flatMap((l) => {
    try {
      return [customCalendar(zone, l.periods, l.periodsEnd)];
    } catch {
      return []; // a zone this runtime does not know, or a list that is no calendar there
    }
  });
}

/** The re-file of each asset the depreciation rule applies to (or `asset`), under the configured calendar. Reads only; `signal` stops it (throwing its reason). */
export async function planRefile(store: Store, d: DepreciationConfig, name?: string, signal?: AbortSignal): Promise<AssetRefile[]> {
  signal?.throwIfAborted();
  const calendar = calendarOf(d);
  let assets = (await store.listAssetRecords()).filter((a) => matchesFilter(a, d.appliesTo));
  if (name !== undefined) {
    // Named by its ERP id or any identifier the registry maps to it.
    const asset = await resolveAssetArg(store, name);
    if (asset === undefined) throw new NotFoundError(`no asset "${name}" in the registry ${NO_SUCH_ASSET}`);
    assets = assets.filter((a) => a.erpAssetId === asset);
    if (!assets.length) throw new NotFoundError(`depreciation does not apply to asset ${asset} (rules.depreciation.appliesTo)`);
  }
  const states = await store.loadRuleStates(assets.map((a) => a.erpAssetId), [DEPRECIATION_RULE]);
  const ledgers = await store.kvGetMany(USAGE_NS, assets.map((a) => ledgerKey(a.erpAssetId)));
  const recorded = await recordedCalendars(store);
  // Per kind and time zone: one calendar object each, so its month boundaries are computed once, not per asset.
  const built = new Map<string, PeriodCalendar[]>();
  const candidatesOf = (stamp: string): PeriodCalendar[] => {
    const key = stampCalendar(stamp);
    let list = built.get(key);
    if (!list) built.set(key, (list = candidates(stamp, d, recorded)));
    return list;
  };
  const out: AssetRefile[] = [];
  let planned = 0;
  for (const { erpAssetId } of [...assets].sort((a, b) => (a.erpAssetId < b.erpAssetId ? -1 : a.erpAssetId > b.erpAssetId ? 1 : 0))) {
    // A turn of the event loop now and then (about 25 µs an asset): in a running service, MQTT
    // keepalives, health checks and timers go on while a large fleet is planned.
    if (++planned % 500 === 0) {
      await nextTurn();
      signal?.throwIfAborted();
    }
    const state = states.get(erpAssetId)?.[DEPRECIATION_RULE] as UsageState | undefined;
    if (!state || !filedUnderOtherCalendar(state, calendar)) {
      out.push({ erpAssetId, notHeld: true });
      continue;
    }
    const was = stampCalendar(state.cal ?? '');
    const from = filedCalendar(state, candidatesOf(state.cal ?? ''));
    if (!from) {
      out.push({
        erpAssetId,
        was,
        problem: `the calendar its usage was filed under (${was}, other periods) cannot be rebuilt: it is not monthly, not the configured periods in another time zone, and not a list of periods this store has recorded (it records each listed calendar it runs with); set the calendar back to it to have its usage counted and posted`,
      });
      continue;
    }
    const ledgerRaw = ledgers.get(ledgerKey(erpAssetId));
    const ledger = parseLedger(ledgerRaw);
    const posted = ledger ? postedThrough(ledger, from) : undefined;
    if (ledger && !posted) {
      out.push({ erpAssetId, was, problem: `the end of its last posting (${ledger.period}) is not known: it is no period of ${was}; nothing re-filed, so nothing is posted twice` });
      continue;
    }
    const result = refileUsage(state, from, calendar, { keepPeriods: d.keepPeriods, ...(posted ? { posted } : {}) });
    out.push({ erpAssetId, was, result, ...(ledgerRaw !== undefined ? { ledgerRaw } : {}), ...(ledger ? { ledger } : {}) });
  }
  return out;
}

/**
 * Writes the re-files of `list`: each asset's moved ledger first (compare-and-set: an asset whose
 * ledger changed meanwhile is not re-filed; a state re-filed with its ledger not moved could post a
 * covered period), then the states of the others, in one commit. `forget` is told of each asset
 * whose state is written. A crash in between leaves ledgers moved and states still held: run
 * again, it makes the same re-file (the posted end is read from the ledger's last fact). Returns
 * the assets re-filed.
 */
export async function applyRefiles(store: Store, list: readonly AssetRefile[], forget: (erpAssetId: string) => void = () => undefined): Promise<Set<string>> {
  // The moved ledgers in one transaction (a commit each took one disk flush per asset with `store.synchronous: full`).
  const moves: { refile: AssetRefile; next: string }[] = [];
  for (const r of list) {
    const next = r.result && r.ledger ? refiledLedger(r.ledger, r.result) : undefined;
    if (next !== undefined && next !== r.ledger) moves.push({ refile: r, next: JSON.stringify(next) });
  }
  const moved = await store.kvCompareAndSetMany(USAGE_NS, moves.map((m) => ({ key: ledgerKey(m.refile.erpAssetId), expected: m.refile.ledgerRaw, next: m.next })));
  const refused = new Set(moves.filter((_, i) => moved[i] !== true).map((m) => m.refile));
  const ready = list.filter((r) => r.result !== undefined && !refused.has(r));
  for (const r of ready) forget(r.erpAssetId);
  if (ready.length) {
    const states = ready.map((r) => ({ erpAssetId: r.erpAssetId, doc: { [DEPRECIATION_RULE]: (r.result as RefileResult).state }, changed: [DEPRECIATION_RULE] }));
    await store.commitIngest({ states, deliveries: [], quarantine: [], accepted: 0 });
  }
  return new Set(ready.map((r) => r.erpAssetId));
}

/** The job a running service runs for `depreciation refile` (args: `{ asset?: string, calendar?: fingerprint, details?: boolean }`). */
export const REFILE_JOB = 'depreciation-refile';

/** Re-files every held asset (or `asset`), letting go of each one's cached state as it is written; which were applied. */
async function refileAll(store: Store, d: DepreciationConfig, asset: string | undefined, forget: (erpAssetId: string) => void, signal?: AbortSignal): Promise<{ list: AssetRefile[]; applied: Set<string> }> {
  const list = await planRefile(store, d, asset, signal);
  // Stopped before writing anything: the writes are one short commit, finished once begun.
  signal?.throwIfAborted();
  return { list, applied: await applyRefiles(store, list, forget) };
}

/**
 * `depreciation refile` as a job of the running service, under the calendar it runs with: with
 * intake held (messages wait, not acked), so no event of a re-filed asset is decided on the state
 * it replaces. Exit code 1 when a held asset was not re-filed or `asset` names none (said in `errors`), 2 for a usage error.
 */
export function refileJob(store: Store, ingestor: Pick<Ingestor, 'exclusively' | 'checkpoint'>, d: DepreciationConfig): Job {
  return async (args, signal) => {
    const { asset, calendar: asked, details, dryRun } = (args ?? {}) as { asset?: unknown; calendar?: unknown; details?: unknown; dryRun?: unknown };
    const only = typeof asset === 'string' ? asset : undefined;
    const fingerprint = calendarOf(d).fingerprint;
    const now = stampCalendar(fingerprint);
    // The command's config file may name another calendar than the one this service started with.
    const note =
      typeof asked === 'string' && asked !== fingerprint
        ? `note: this service runs with another depreciation calendar (${now}${stampCalendar(asked) === now ? ', other periods' : ''}) than the config file given (${stampCalendar(asked)}): it re-files under its own; restart it to run with the file's, then re-file\n`
        : '';
    try {
      if (dryRun === true) {
        // What a re-file would do now: the usage state held in memory stored first, then read.
        await ingestor.checkpoint();
        return { exitCode: 0, output: note + formatRefile(await planRefile(store, d, only, signal), now, true, only !== undefined) };
      }
      const { list, applied } = await ingestor.exclusively((forget) => refileAll(store, d, only, forget, signal));
      return { exitCode: list.some((r) => !r.notHeld && !applied.has(r.erpAssetId)) ? 1 : 0, output: note + formatRefile(list, now, false, only !== undefined, applied, details === true) };
    } catch (err) {
      if (err instanceof UsageError) return { exitCode: 2, output: `${err.message}\n` };
      // An asset that is not there: a failure (1), said on stderr as the command says it.
      if (err instanceof NotFoundError) return { exitCode: 1, output: '', errors: `error: ${err.message}\n` };
      // Ctrl-C on the command (or the service stopping) while it planned: nothing was written.
      if (signal?.aborted) return { exitCode: 1, output: `${note}interrupted before anything was re-filed: run the same command again\n` };
      throw err;
    }
  };
}

const amount = (v: number | null): string => (v === null ? '-' : formatAmount(v));

/** Held assets up to which a re-file prints each one's periods by default (`--details` for more). */
export const REFILE_DETAIL_LIMIT = 20;

const NOT_APPLIED = 'not re-filed (its state or posting record changed meanwhile: run it again)';

/**
 * Per asset: the old periods and the new ones with their units, and the notes. A re-file (not a dry
 * run) of more than {@link REFILE_DETAIL_LIMIT} held assets is summed up instead, naming only those
 * not re-filed, unless `details`.
 */
export function formatRefile(list: readonly AssetRefile[], now: string, dryRun: boolean, only: boolean, applied: ReadonlySet<string> = new Set(), details = false): string {
  const held = list.filter((r) => !r.notHeld);
  if (!held.length) return only ? `${list[0]?.erpAssetId ?? ''} is not held: its usage is filed under the configured calendar (${now}); nothing to re-file\n` : `no asset is held by a calendar change: nothing to re-file (the configured calendar is ${now})\n`;
  if (!dryRun && !only && !details && held.length > REFILE_DETAIL_LIMIT) return refileSummary(held, now, applied, list.length - held.length);
  let text = '';
  for (const r of held) {
    if (r.problem !== undefined) {
      text += `${r.erpAssetId}: not re-filed: ${r.problem}\n`;
      continue;
    }
    const res = r.result as RefileResult;
    const did = dryRun ? 'would re-file' : applied.has(r.erpAssetId) ? 're-filed' : NOT_APPLIED;
    text += `${r.erpAssetId}: ${did} from ${r.was ?? ''} under ${now}\n`;
    text += table([['OLD PERIOD', 'UNITS', 'METER AT END'], ...res.old.map((p) => [p.id, amount(p.units), amount(p.meterAtEnd)])]).replace(/^(?=.)/gm, '  ');
    text += table([
      ['NEW PERIOD', 'START', 'END', 'UNITS', 'METER AT END', 'POSTED'],
      ...res.periods.map((p) => [p.id, isoTime(p.start), isoTime(p.end), amount(p.units), amount(p.meterAtEnd), p.posted === 'covered' ? 'covered' : p.posted === 'straddles' ? 'after the last posting only' : '']),
    ]).replace(/^(?=.)/gm, '  ');
    for (const n of res.notes) text += `  note: ${n}\n`;
  }
  const notHeld = list.length - held.length;
  if (only || !notHeld) return text;
  return `${text}${notHeld} other asset(s) not held (filed under the configured calendar)\n`;
}

/** A re-file of many assets: how many were re-filed from which calendar, and each one that was not, with why. */
function refileSummary(held: readonly AssetRefile[], now: string, applied: ReadonlySet<string>, notHeld: number): string {
  const from = new Map<string, number>();
  let text = '';
  for (const r of held) {
    if (applied.has(r.erpAssetId)) from.set(r.was ?? '', (from.get(r.was ?? '') ?? 0) + 1);
    else text += `${r.erpAssetId}: ${r.problem !== undefined ? `not re-filed: ${r.problem}` : NOT_APPLIED}\n`;
  }
  const count = (n: number) => n.toLocaleString('en-US');
  const head = `re-filed ${count(applied.size)} of ${count(held.length)} held asset(s) under ${now}${from.size ? `: ${[...from].map(([was, n]) => `${count(n)} from ${was}`).join(', ')}` : ''}\n`;
  const tail = `${notHeld ? `${count(notHeld)} other asset(s) not held (filed under the configured calendar)\n` : ''}(each asset's old and new periods: --details, or --dry-run before a re-file)\n`;
  return head + text + tail;
}

export function registerRefileCommand(dep: Command, depreciationOf: (rules: ReturnType<typeof rulesConfigOf>) => DepreciationConfig): void {
  addConfigOption(
    dep
      .command('refile')
      .description('re-file the usage of assets held by a calendar change under the configured calendar (rules.depreciation.timeZone, periods, periodsEnd), so it is counted and posted again; periods covered by postings already made are not posted again')
      .option('--asset <asset>', 'one asset only, by its ERP asset id or any identifier of it (tag, PIN, ...) (default: every held asset)')
      .option('--dry-run', 'show the old periods and the new ones with their units; change nothing')
      .option('--details', `print each re-filed asset's old and new periods (the default for up to ${REFILE_DETAIL_LIMIT} held assets; more are summed up)`)
      .addHelpText(
        'after',
        '\nThe meter is interpolated in time between the first reading, the ends of the old periods and the last reading filed before the calendar change; readings counted while held are filed after it by their own times.\n' +
          'While a service runs on the store, it does the re-file (and the dry run), under the calendar it runs with (restart it after changing the calendar): it holds intake for the moment a re-file takes.\n\n' +
          'Examples:\n  assetbridge depreciation refile --dry-run\n  assetbridge depreciation refile --asset EQ-1',
      ),
  ).action(
    action(async (opts: { config: string; asset?: string; dryRun?: boolean; details?: boolean }) => {
      const { config, configPath } = resolveConfig(opts.config);
      const d = depreciationOf(rulesConfigOf(config));
      const now = stampCalendar(calendarOf(d).fingerprint);
      const only = opts.asset !== undefined;
      // The asset's ERP id (it may be named by an identifier): what the service, or the re-file here, is given.
      let asset: string | undefined;
      // A running service keeps usage state in memory: it re-files (with intake held meanwhile), or shows what it would.
      const viaService = await withConfigContext(
        config,
        configPath,
        async ({ store }) => {
          if (opts.asset !== undefined) {
            asset = await resolveAssetArg(store, opts.asset);
            if (asset === undefined) throw new NotFoundError(`no asset "${opts.asset}" in the registry ${NO_SUCH_ASSET}`);
          }
          if (!(await serviceIsRunning(store))) return undefined;
          const what = opts.dryRun ? 'show what it would re-file' : 're-file';
          process.stderr.write(`a running assetbridge service owns this store: asked it to ${what}; waiting for its result (Ctrl-C stops it)…\n`);
          const args = { ...(asset !== undefined ? { asset } : {}), calendar: calendarOf(d).fingerprint, details: opts.details === true, dryRun: opts.dryRun === true };
          return (await runServiceJob(store, REFILE_JOB, args, `depreciation refile: ${what}`, 600_000)) ?? 'withdrawn';
        },
        { existingStore: true },
      );
      if (viaService === 'withdrawn') return; // Ctrl-C before the service took it up: said so, nothing done
      if (viaService) {
        if (viaService.exitCode === 2) throw new UsageError(viaService.output.trim());
        process.stdout.write(viaService.output);
        if (viaService.errors !== undefined) process.stderr.write(viaService.errors);
        process.exitCode = viaService.exitCode;
        return;
      }
      if (opts.dryRun) {
        const list = await withConfigContext(config, configPath, ({ store }) => planRefile(store, d, asset), { readOnly: true });
        process.stdout.write(formatRefile(list, now, true, only));
        return;
      }
      // The store lease: no service or other pipeline command starts meanwhile. The ingest log is replayed first, so the state is current.
      const app = await createApp(config, { sources: false, http: false, deliver: false, logger: configLogger(config, logLevel('warn')), command: 'assetbridge depreciation refile' });
      try {
        await app.ingestor.flush();
        const { list, applied } = await refileAll(app.store, d, asset, () => undefined);
        process.stdout.write(formatRefile(list, now, false, only, applied, opts.details === true));
        if (list.some((r) => !r.notHeld && !applied.has(r.erpAssetId))) process.exitCode = 1;
      } finally {
        await app.close();
      }
    }),
  );
}
