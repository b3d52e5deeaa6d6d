/**
 * `assetbridge aemp pull | backfill | equipment | budget`: on-demand telematics pulls through the
 * ISO 15143-3 export API, with the same budget, matching and cursor as the scheduled pulls. Pulls
 * show a progress bar on a terminal (periodic log lines otherwise) and end with a summary.
 *
 * The command logic lives in plain functions (`aempPullCommand`, ...) that take their
 * dependencies, so tests drive them without a process; `registerAempCommands` wires them to
 * commander, the config file and the store.
 * @module
 */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { createAempProvider, type AempProvider } from '../../adapters/telematics/aemp/aemp-provider.js';
import { backfillNamespace, fetchEquipmentSnapshot, runBackfill, type BackfillSummary } from '../../adapters/telematics/aemp/backfill.js';
import { keptPageHelp, loadCursor, loadLastPull, runFleetPull, type PullCursor, type PullProgress, type PullSummary, type TelematicsLogger } from '../../adapters/telematics/aemp/fleet-pull.js';
import { BudgetWaitTooLongError, type BudgetWait } from '../../adapters/telematics/aemp/request-budget.js';
import { createApp, validationPolicyOf, configLogger, redactedFor } from '../../app.js';
import type { ValidationPolicy } from '../../core/normalize/validate.js';
import { parseDuration } from '../../config/duration.js';
import { formatDuration } from '../../core/rules/maintenance/maintenance-rule.js';
import type { Config } from '../../config/schema.js';
import { MAX_TIME_SERIES_CONCURRENCY, unknownElementProblem, type TelematicsConfig } from '../../config/telematics-schema.js';
import { NotFoundError, UsageError } from '../../core/errors/errors.js';
import type { CanonicalEvent } from '../../core/model/events.js';
import type { Clock } from '../../ports/clock.js';
import type { IngestSink } from '../../ports/source.js';
import type { Store } from '../../ports/store.js';
import type { Job, JobResult } from '../../engine/engine.js';
import { runServiceJob } from '../service-job.js';
import { parseIsoTime } from '../../core/normalize/iso-time.js';
import { createRedactor } from '../../adapters/http/redact.js';
import { logLevel } from '../../adapters/log/logger.js';
import { action, isoTime, addConfigOption, resolveConfig, table, withConfigContext, toJson } from '../context.js';
import { serviceIsRunning } from './quarantine.js';
import { requireSecrets } from '../../config/secrets.js';
import type { TelematicsCredentials } from '../../adapters/telematics/auth/credentials.js';

/** Exit code of a pull that stopped to respect the budget: run again later (EX_TEMPFAIL). */
export const EXIT_TRY_LATER = 75;

/** What the command functions need; the CLI builds it from the config, tests build it by hand. */
export interface AempCommandDeps {
  readonly configs: readonly TelematicsConfig[];
  readonly store: Store;
  readonly sink: IngestSink;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Draw a progress bar (stderr is a terminal). */
  readonly isTTY: boolean;
  readonly logger?: TelematicsLogger;
  readonly fetch?: typeof fetch;
  readonly clock?: Clock;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly signal?: AbortSignal;
  /** The engine's ingest validation: a machine's readings it would refuse are submitted apart. */
  readonly validation?: ValidationPolicy;
  /** A stored pull's error as `aemp budget` shows it (`redactedFor(config)`, as `status` does). @default the text as it is */
  readonly redact?: (text: string) => string;
}

/** The `telematics:` entries of a config (empty when the section is absent). */
export function telematicsConfigs(config: Config): readonly TelematicsConfig[] {
  return (config as Config & { telematics?: readonly TelematicsConfig[] }).telematics ?? [];
}

function pickProviders(configs: readonly TelematicsConfig[], name: string | undefined, all: boolean): { config: TelematicsConfig; index: number }[] {
  if (configs.length === 0) {
    throw new UsageError('no telematics provider is configured; add an entry under "telematics:" in the config (vendor, baseUrl, auth)');
  }
  const indexed = configs.map((config, index) => ({ config, index }));
  if (name !== undefined) {
    const hit = indexed.filter((p) => p.config.name === name);
    if (!hit.length) throw new NotFoundError(`no telematics provider named "${name}"; configured: ${configs.map((c) => c.name).join(', ')}`);
    return hit;
  }
  if (!all && indexed.length > 1) throw new UsageError(`several telematics providers are configured (${configs.map((c) => c.name).join(', ')}); choose one with --provider`);
  return indexed;
}

/** A provider URL as printed: a key a signed link carries in its query is redacted. */
const redactor = createRedactor();
const shownUrl = (url: string): string => redactor.url(url);

/** For `aemp budget`, which reads the store only: no credentials needed, no request made. */
const NO_REQUESTS: TelematicsCredentials = {
  kind: 'none',
  authorization: () => Promise.reject(new Error('aemp budget makes no requests')),
  invalidate: () => false,
  secrets: () => [],
};

function build(deps: AempCommandDeps, config: TelematicsConfig, index: number, credentials?: TelematicsCredentials): AempProvider {
  if (!credentials) requireSecrets(config); // the feed's credentials, before its first request
  return createAempProvider(
    config,
    {
      store: deps.store,
      ...(credentials ? { credentials } : {}),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
    },
    index,
  );
}

/** `--use-reserve` where the feed's config forbids it: refused, naming the key (`telematics.N.reserve.policy`) to change. */
function checkReserve(config: TelematicsConfig, index: number, useReserve: boolean | undefined): void {
  if (useReserve && config.reserve.policy === 'never') {
    throw new UsageError(`${config.name}: the config forbids spending reserve requests (telematics.${index}.reserve.policy: never); change it to on-request to use --use-reserve`);
  }
}

function maxWaitOf(opts: { wait?: boolean; maxWait?: string }, config: TelematicsConfig): number {
  if (opts.wait === false) return 0;
  if (opts.maxWait === undefined) return config.maxBudgetWait;
  const ms = parseDuration(opts.maxWait);
  if (ms === undefined) throw new UsageError(`--max-wait "${opts.maxWait}" is not a duration; write e.g. 30s, 5m or 20m`);
  return ms;
}

const fmt = (n: number): string => n.toLocaleString('en-US');
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The line a pull or backfill prints while it waits for the request budget: until when, for what, and the way out. */
function waitNote(label: string, wait: BudgetWait): string {
  return (
    `${label}: waiting until ${isoTime(wait.until)} for ${wait.reason === 'cooldown' ? 'a 429 cooldown' : wait.reason === 'daily-cap' ? 'the daily cap' : 'the per-URL budget'} of ${shownUrl(wait.key)}` +
    (wait.reason === 'interval' && wait.reserveLeft > 0 ? ` (or stop and rerun with --use-reserve; ${wait.reserveLeft} reserve requests left)` : '') +
    '\n'
  );
}

/**
 * Progress for one pull: a bar on a terminal, a log line every `everyMs` otherwise. Call `stop`
 * when the pull ends.
 */
export function pullProgress(deps: Pick<AempCommandDeps, 'err' | 'isTTY'>, label: string, everyMs = 10_000): PullProgress & { stop(): void } {
  let bar: cliProgress.SingleBar | undefined;
  let lastLog = 0;
  let total = 0;
  const note = (wait: BudgetWait): string => waitNote(label, wait);
  return {
    start: ({ resumed, startUrl }) => {
      if (resumed) deps.err(`${label}: resuming an interrupted pull at ${startUrl}\n`);
      if (deps.isTTY) {
        bar = new cliProgress.SingleBar(
          { format: `${label} [{bar}] {value}/{total} pages | {equipment} machines | {duration_formatted}`, stream: process.stderr, hideCursor: true, etaBuffer: 50 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(1, 0, { equipment: 0 });
      }
    },
    page: ({ pages, equipment, estimatedPages }) => {
      if (estimatedPages !== undefined && estimatedPages !== total) {
        total = estimatedPages;
        bar?.setTotal(total);
      }
      if (bar) return bar.update(pages, { equipment: fmt(equipment) });
      const now = Date.now();
      if (now - lastLog >= everyMs) {
        lastLog = now;
        deps.err(`${label}: ${fmt(pages)}${total ? `/${fmt(total)}` : ''} pages, ${fmt(equipment)} machines\n`);
      }
    },
    wait: (wait) => {
      if (bar) {
        bar.stop();
        bar = undefined;
      }
      deps.err(note(wait));
    },
    stop: () => bar?.stop(),
  };
}

/** The end-of-pull summary for people. */
export function formatPullSummary(s: PullSummary): string {
  const lines = [
    `${s.provider}: ${fmt(s.pages)} page(s), ${fmt(s.equipment)} machine(s)${s.duplicates ? ` (${fmt(s.duplicates)} seen on two pages, counted once)` : ''} in ${secs(s.elapsedMs)}${s.resumedFrom ? ` (resumed at ${s.resumedFrom})` : ''}`,
    `  matched ${fmt(s.matched)}, unmatched ${fmt(s.unmatched)}, ambiguous ${fmt(s.ambiguous)}${s.resolvedFromReview ? `, ${fmt(s.resolvedFromReview)} resolved from the review list` : ''}`,
    `  pipeline: ${fmt(s.accepted)} accepted, ${fmt(s.quarantined)} quarantined`,
    `  requests ${fmt(s.requests)}, 429 answers ${fmt(s.http429)}, reserve requests spent ${fmt(s.reserveUsed)}`,
  ];
  if (s.unmatched + s.ambiguous > 0) lines.push(`  review them with 'assetbridge assets unmatched' and confirm with 'assetbridge assets confirm <id> <erp-asset-id>'`);
  for (const note of s.notes) lines.push(`  note: ${note}`);
  if (s.complete) lines.push('  complete');
  else lines.push(`  stopped (${s.stop}): ${s.error ?? 'incomplete'}`, ...(s.rerun ?? (s.nextUrl ? [`the next pull resumes at ${s.nextUrl}`] : [])).map((l) => `  ${l}`));
  return `${lines.join('\n')}\n`;
}

/** `aemp pull`: one fleet pull per chosen provider. Returns the exit code. */
export async function aempPullCommand(
  deps: AempCommandDeps,
  opts: { provider?: string; useReserve?: boolean; restart?: boolean; wait?: boolean; maxWait?: string; json?: boolean },
): Promise<number> {
  const chosen = pickProviders(deps.configs, opts.provider, true);
  for (const { config, index } of chosen) checkReserve(config, index, opts.useReserve);
  const summaries: PullSummary[] = [];
  for (const { config, index } of chosen) {
    const { client } = build(deps, config, index);
    const progress = pullProgress(deps, config.name);
    try {
      summaries.push(
        await runFleetPull(
          { client, store: deps.store, sink: deps.sink, progress, ...(deps.clock ? { clock: deps.clock } : {}), ...(deps.logger ? { logger: deps.logger } : {}), ...(deps.validation ? { validation: deps.validation } : {}) },
          {
            ...(opts.useReserve ? { useReserve: true } : {}),
            ...(opts.restart ? { restart: true } : {}),
            maxWaitMs: maxWaitOf(opts, config),
            ...(deps.signal ? { signal: deps.signal } : {}),
          },
        ),
      );
    } finally {
      progress.stop();
    }
  }
  deps.out(opts.json ? `${toJson(summaries)}\n` : summaries.map(formatPullSummary).join(''));
  // The hop cap left pages unread: not a success, and waiting does not help (the cap is raised).
  if (summaries.some((s) => s.stop === 'error' || s.stop === 'aborted' || s.stop === 'hop-cap')) return 1;
  if (summaries.some((s) => s.stop === 'budget-wait')) return EXIT_TRY_LATER;
  return 0;
}

function parseDate(input: string | undefined, flag: string): number {
  if (input === undefined) throw new UsageError(`${flag} is required, e.g. ${flag} 2025-03-01`);
  // Strict: Date.parse rolls 30 February over to 2 March and reads a time without a zone as local time.
  const t = parseIsoTime(/^\d{4}-\d{2}-\d{2}$/.test(input.trim()) ? `${input.trim()}T00:00:00Z` : input);
  if (typeof t !== 'number') {
    // A date and time without a zone is a date all the same: say what it lacks, not that it is none.
    if (typeof parseIsoTime(`${input.trim()}Z`) === 'number')
      throw new UsageError(`${flag} "${input}" has no time zone (it could be any of 24 hours); add Z for UTC or an offset: ${input.trim()}Z, or ${input.trim()}+01:00`);
    throw new UsageError(`${flag} "${input}" is not a date; write 2025-03-01 or 2025-03-01T12:00:00Z (UTC)`);
  }
  return t;
}

/**
 * `--element` values the parser reads nothing from are refused before any request: each would
 * spend a request (a Trackunit URL's slot for 15 minutes) per machine and store nothing.
 */
export function checkElements(elements: readonly string[]): void {
  for (const e of elements) {
    const problem = unknownElementProblem(e);
    if (problem) throw new UsageError(`--element ${problem}`);
  }
}

/** A backfill that had no machine to ask for (none pulled, or all skipped): not complete, and nothing left unfinished either. */
function nothingBackfilled(s: BackfillSummary): boolean {
  return s.equipment === 0 && s.error === undefined;
}

/** The end-of-backfill summary for people. */
export function formatBackfillSummary(s: BackfillSummary): string {
  const notSubmitted = s.readings - s.accepted - s.quarantined;
  const lines = [
    `${s.provider}: backfill ${isoTime(s.from)} → ${isoTime(s.to)} of ${s.elements.join(', ')} for ${fmt(s.equipment)} machine(s) in ${secs(s.elapsedMs)}`,
    `  series ${fmt(s.seriesDone)}/${fmt(s.series)} done${s.seriesSkipped ? `, ${fmt(s.seriesSkipped)} already done earlier` : ''}${s.notFound ? `, ${fmt(s.notFound)} not offered by the provider (404)` : ''}`,
    // A stopped run fetched readings it had not submitted yet (a machine's merged chunk goes at its window's end): a rerun fetches them again.
    `  ${fmt(s.pages)} page(s), ${fmt(s.readings)} reading(s): ${fmt(s.accepted)} accepted, ${fmt(s.quarantined)} quarantined${notSubmitted > 0 ? `, ${fmt(notSubmitted)} not submitted (fetched before the run stopped; the rerun fetches them again)` : ''}`,
    `  requests ${fmt(s.requests)}, 429 answers ${fmt(s.http429)}`,
  ];
  if (s.skipped.length) {
    lines.push(`  skipped ${fmt(s.skipped.length)} machine(s):`);
    for (const k of s.skipped.slice(0, 10)) lines.push(`    ${k.id}: ${k.reason}`);
    if (s.skipped.length > 10) lines.push(`    … and ${fmt(s.skipped.length - 10)} more`);
  }
  if (s.unreadable) {
    const kept = s.unreadablePages.length ? keptPageHelp(s.unreadablePages) : 'not kept in the quarantine (the log says why)';
    lines.push(`  ${fmt(s.unreadable)} series left unfinished at a page the provider answered that cannot be read, ${kept}; have the provider fix it: a rerun asks for these series again`);
  }
  // An interrupted run's error says how to continue already.
  const hint = /run it again to continue/.test(s.error ?? '') ? '' : '; run the same command again to continue (finished series are skipped)';
  if (nothingBackfilled(s))
    lines.push(
      s.skipped.length
        ? `  nothing backfilled: every machine was skipped (the reasons above); map them ('assetbridge assets import', or 'assetbridge assets unmatched' and 'assets confirm') and run it again`
        : "  nothing backfilled: no machine to ask for; run 'assetbridge aemp pull' first or name machines with --pin",
    );
  else lines.push(s.complete ? '  complete' : s.error !== undefined ? `  stopped: ${s.error}${hint}` : `  incomplete${hint}`);
  return `${lines.join('\n')}\n`;
}

/** `aemp backfill --from --to`. Returns the exit code. */
export async function aempBackfillCommand(
  deps: AempCommandDeps,
  opts: { provider?: string; from?: string; to?: string; element?: string[]; pin?: string[]; concurrency?: string; useReserve?: boolean; restart?: boolean; wait?: boolean; maxWait?: string; json?: boolean },
): Promise<number> {
  const [{ config, index }] = pickProviders(deps.configs, opts.provider, false) as [{ config: TelematicsConfig; index: number }];
  checkReserve(config, index, opts.useReserve);
  const from = parseDate(opts.from, '--from');
  if (opts.element?.length) checkElements(opts.element);
  // Without --to the range ends now; an unfinished run with the same --from remembered its end, so
  // running the same command again continues that range (finished series are skipped by range).
  const openKey = `open-to|${new Date(from).toISOString()}`;
  const openTo = opts.to === undefined && !opts.restart ? Number(await deps.store.kvGet(backfillNamespace(config.name), openKey)) : Number.NaN;
  const continued = Number.isFinite(openTo) && openTo > from;
  const to = opts.to !== undefined ? parseDate(opts.to, '--to') : continued ? openTo : (deps.clock?.now() ?? Date.now());
  if (!(to > from)) throw new UsageError(`--to (${isoTime(to)}) must be after --from (${isoTime(from)})`);
  // A series finished for a range is not fetched again for it: one ending later than now would be
  // remembered as finished without the readings the provider has yet to get.
  const now = deps.clock?.now() ?? Date.now();
  if (opts.to !== undefined && to > now)
    throw new UsageError(`--to (${isoTime(to)}) is in the future: the provider has no readings after now, and the series would be remembered as finished for this range; leave --to out to end now`);
  if (continued) deps.err(`${config.name}: continuing the unfinished backfill from ${isoTime(from)} to ${isoTime(to)}; give --to (or --restart) to choose another end\n`);
  const concurrency = opts.concurrency === undefined ? undefined : Number(opts.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_TIME_SERIES_CONCURRENCY))
    throw new UsageError(`--concurrency "${opts.concurrency}" must be a whole number from 1 to ${MAX_TIME_SERIES_CONCURRENCY} (the most the config's timeSeries.concurrency allows); leave it out to use that`);
  const { client } = build(deps, config, index);
  // The end is remembered before the first request, not only after a run that returned: one killed
  // (kill -9, OOM, a reboot) must also be continued over the same range, not fetched again to a new end.
  if (opts.to === undefined && !continued) await deps.store.kvSet(backfillNamespace(config.name), openKey, String(to));
  let bar: cliProgress.SingleBar | undefined;
  let lastLog = 0;
  try {
    const summary = await runBackfill(
      {
        client,
        store: deps.store,
        sink: deps.sink,
        ...(deps.clock ? { clock: deps.clock } : {}),
        ...(deps.logger ? { logger: deps.logger } : {}),
        ...(deps.validation ? { validation: deps.validation } : {}),
        progress: {
          start: ({ series, equipment, skipped }) => {
            // No machine to ask for: none pulled yet, or every one skipped (its reason is in the summary).
            if (series === 0 && skipped > 0) deps.err(`${config.name}: nothing to backfill: the ${fmt(skipped)} machine(s) ${opts.pin?.length ? 'named with --pin' : 'of the last pulls'} were all skipped (the summary says why)\n`);
            else if (series === 0) deps.err(`${config.name}: nothing to backfill; run 'assetbridge aemp pull' first or name machines with --pin\n`);
            else if (deps.isTTY) {
              bar = new cliProgress.SingleBar(
                { format: `${config.name} [{bar}] {value}/{total} series | {pages} pages | ${equipment} machines | {duration_formatted}`, stream: process.stderr, hideCursor: true },
                cliProgress.Presets.shades_classic,
              );
              bar.start(series, 0, { pages: 0 });
            }
          },
          series: ({ done, total, pages }) => {
            if (bar) return bar.update(done, { pages: fmt(pages) });
            if (Date.now() - lastLog >= 10_000) {
              lastLog = Date.now();
              deps.err(`${config.name}: ${fmt(done)}/${fmt(total)} series, ${fmt(pages)} page(s)\n`);
            }
          },
          wait: (wait) => {
            // As a pull's: a line written under a live bar would be drawn over; log lines follow.
            bar?.stop();
            bar = undefined;
            deps.err(waitNote(config.name, wait));
          },
        },
      },
      {
        from,
        to,
        ...(opts.element?.length ? { elements: opts.element } : {}),
        ...(opts.pin?.length ? { identifiers: opts.pin } : {}),
        ...(concurrency !== undefined ? { concurrency } : {}),
        ...(opts.useReserve ? { useReserve: true } : {}),
        ...(opts.restart ? { restart: true } : {}),
        maxWaitMs: maxWaitOf(opts, config),
        ...(deps.signal ? { signal: deps.signal } : {}),
      },
    );
    bar?.stop();
    if (opts.to === undefined) {
      // No range was started when no machine was asked for: the next run chooses its end anew.
      if (summary.complete || nothingBackfilled(summary)) await deps.store.kvDelete(backfillNamespace(config.name), openKey);
      else await deps.store.kvSet(backfillNamespace(config.name), openKey, String(to));
    }
    deps.out(opts.json ? `${toJson({ ...summary, from: isoTime(summary.from), to: isoTime(summary.to) })}\n` : formatBackfillSummary(summary));
    if (summary.complete) return 0;
    return /may not be requested before/.test(summary.error ?? '') ? EXIT_TRY_LATER : 1;
  } finally {
    bar?.stop();
  }
}

/** `aemp equipment <pin>`: the single-element snapshot of one machine. */
export async function aempEquipmentCommand(deps: AempCommandDeps, pin: string, opts: { provider?: string; submit?: boolean; useReserve?: boolean; json?: boolean }): Promise<number> {
  const [{ config, index }] = pickProviders(deps.configs, opts.provider, false) as [{ config: TelematicsConfig; index: number }];
  checkReserve(config, index, opts.useReserve);
  const { client } = build(deps, config, index);
  let snap;
  try {
    snap = await fetchEquipmentSnapshot({ client, store: deps.store, sink: deps.sink, ...(deps.validation ? { validation: deps.validation } : {}), ...(deps.logger ? { logger: deps.logger } : {}) }, pin, {
      ...(opts.submit ? { submit: true } : {}),
      ...(opts.useReserve ? { useReserve: true } : {}),
      maxWaitMs: 0,
    });
  } catch (err) {
    // Not a failure: the budget says later, as for pull and backfill (exit 75), so a script can tell the two apart.
    if (!(err instanceof BudgetWaitTooLongError)) throw err;
    deps.err(`${config.name}: ${err.message}\n`);
    return EXIT_TRY_LATER;
  }
  if (snap.unreadable) {
    const { error, entry } = snap.unreadable;
    deps.err(`${error}; ${entry !== undefined ? keptPageHelp(entry) : 'it could not be kept in the quarantine (the log says why)'}; have the provider fix it\n`);
    if (opts.json) deps.out(`${toJson({ url: shownUrl(snap.url), error, ...(entry !== undefined ? { unreadablePage: entry } : {}) })}\n`);
    return 1;
  }
  if (opts.json) {
    deps.out(`${toJson({ url: shownUrl(snap.url), header: snap.equipment?.header, ids: snap.equipment?.ids, match: snap.match, events: snap.equipment?.events.map((e) => ({ ...e, raw: undefined })), accepted: snap.accepted })}\n`);
    return snap.equipment ? 0 : 1;
  }
  if (!snap.equipment) {
    deps.err(`${config.name}: ${shownUrl(snap.url)} returned no equipment\n`);
    return 1;
  }
  const h = snap.equipment.header;
  const m = snap.match;
  const matchText =
    m?.status === 'matched' ? `ERP asset ${m.erpAssetId}${m.confirmed ? ' (confirmed)' : ''}` : m?.status === 'ambiguous' ? `ambiguous: ${m.candidates.map((c) => c.erpAssetId).join(', ')}` : 'no ERP asset';
  deps.out(
    [
      `${h.oemName ?? '?'} ${h.model ?? ''} ${h.equipmentId ? `"${h.equipmentId}"` : ''}`.replace(/\s+/g, ' ').trim(),
      `  identifiers: ${snap.equipment.ids.map((i) => `${i.type} ${i.value}`).join(', ') || '(none)'}`,
      `  matches: ${matchText}`,
      ...snap.equipment.events.map((e) => `  ${isoTime(e.eventTime)} ${e.kind} ${describeEvent(e)}`),
      ...(snap.accepted !== undefined ? [`  submitted: ${snap.accepted} accepted`] : opts.submit ? ['  not submitted: it does not match exactly one ERP asset'] : []),
    ].join('\n') + '\n',
  );
  return 0;
}

function describeEvent(e: CanonicalEvent): string {
  switch (e.kind) {
    case 'position':
      return `${e.lat}, ${e.lng}`;
    case 'meter':
      return Object.entries({ operatingHours: e.operatingHours, idleHours: e.idleHours, odometerKm: e.odometerKm, fuelUsedL: e.fuelUsedL })
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
    case 'sensor':
      return Object.entries(e.values)
        .map(([k, v]) => `${k}=${v.value}${v.unit ? ` ${v.unit}` : ''}`)
        .join(' ');
    case 'alert':
      return `${e.severity} ${e.reason}`;
    default:
      return '';
  }
}

/**
 * What `aemp budget` says of an unfinished pull's cursor, after the last pull's summary. A pull that
 * was killed (or runs now) moved the cursor but wrote no summary, so the summary alone ("complete")
 * would say the opposite; and a cursor older than `resumeWithin` is no longer resumed from.
 */
function cursorText(cursor: PullCursor | undefined, last: PullSummary | undefined, resumeWithin: number, now: number): string {
  if (!cursor || cursor.complete || cursor.nextUrl === undefined) return '';
  const since = last === undefined || cursor.updatedAt > last.finishedAt ? `; a pull started ${isoTime(cursor.startedAt)} stored ${cursor.pages} page(s) and has not finished (it was stopped mid-pull, or it runs now)` : '';
  const resumeBy = cursor.startedAt + resumeWithin;
  return now <= resumeBy
    ? `${since}; the next pull resumes at ${shownUrl(cursor.nextUrl)} if it starts before ${isoTime(resumeBy)}`
    : `${since}; the next pull starts over at the first page (the unfinished one started more than resumeWithin, ${formatDuration(resumeWithin)}, ago)`;
}

/** The LAST REQUEST cell: the later of the last ordinary and the last reserve request, the latter marked. */
function lastRequestText(u: { lastAt?: number; lastReserveAt?: number }): string {
  if (u.lastReserveAt !== undefined && (u.lastAt === undefined || u.lastReserveAt > u.lastAt)) return `${isoTime(u.lastReserveAt)} (reserve)`;
  return u.lastAt !== undefined ? isoTime(u.lastAt) : '-';
}

/** `aemp budget`: per-URL budget, last pull and cursor of each provider. */
export async function aempBudgetCommand(deps: AempCommandDeps, opts: { provider?: string; json?: boolean }): Promise<number> {
  const chosen = pickProviders(deps.configs, opts.provider, true);
  const report = [];
  for (const { config, index } of chosen) {
    const { budget } = build(deps, config, index, NO_REQUESTS);
    // A pull's error may quote what the feed or its token endpoint answered: redacted as in `status`.
    const last = await loadLastPull(deps.store, config.name);
    const lastPull = last?.error === undefined || deps.redact === undefined ? last : { ...last, error: deps.redact(last.error) };
    report.push({ provider: config.name, urls: await budget.status(), cursor: await loadCursor(deps.store, config.name), lastPull });
  }
  if (opts.json) {
    deps.out(`${toJson(report)}\n`);
    return 0;
  }
  const now = deps.clock?.now() ?? Date.now();
  for (const r of report) {
    const last = r.lastPull;
    const resumeWithin = chosen.find((c) => c.config.name === r.provider)?.config.resumeWithin ?? 0;
    deps.out(`${r.provider}: ${last ? `last pull ${isoTime(last.startedAt)}, ${last.complete ? 'complete' : `stopped (${last.stop})`}` : 'never pulled'}${cursorText(r.cursor, last, resumeWithin, now)}\n`);
    if (!r.urls.length) continue;
    deps.out(
      table([
        ['URL', 'LAST REQUEST', 'NEXT ORDINARY', 'RESERVE LEFT', 'COOLDOWN UNTIL'],
        // A reserve request is a request too: the column showed only the last ordinary one.
        ...r.urls.map((u) => [shownUrl(u.key), lastRequestText(u), u.nextOrdinaryAt !== undefined ? isoTime(u.nextOrdinaryAt) : 'now', u.reserveLeft, u.cooldownUntil !== undefined ? isoTime(u.cooldownUntil) : '-']),
      ]),
    );
  }
  return 0;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

type PullOptions = Parameters<typeof aempPullCommand>[1];
type BackfillOptions = Parameters<typeof aempBackfillCommand>[1];
type EquipmentOptions = Parameters<typeof aempEquipmentCommand>[2] & { readonly pin: string };

/** The jobs the running service registers, so the aemp commands work while it runs (see run.ts). */
export const AEMP_PULL_JOB = 'aemp-pull';
export const AEMP_BACKFILL_JOB = 'aemp-backfill';
export const AEMP_EQUIPMENT_JOB = 'aemp-equipment';

type JobDeps = Omit<AempCommandDeps, 'out' | 'err' | 'isTTY' | 'signal'>;

/**
 * A command as a job of the running service: same work, output collected for the CLI. What the
 * command writes to stderr (progress notes, errors) comes back apart as `errors`, so the CLI prints
 * it to stderr: a `--json` answer stays JSON, and an error reads as one.
 */
function commandJob<A>(deps: JobDeps, run: (deps: AempCommandDeps, args: A) => Promise<number>): Job {
  return async (args, signal) => {
    let output = '';
    let errors = '';
    const out = (t: string): void => void (output += t);
    const err = (t: string): void => void (errors += t);
    const result = (exitCode: number): JobResult & { errors?: string } => ({ exitCode, output, ...(errors ? { errors } : {}) });
    try {
      return result(await run({ ...deps, out, err, isTTY: false, signal }, args as A));
    } catch (e) {
      // A provider the config does not name is a failure (1), as the command says it; a usage error is 2.
      if (!(e instanceof UsageError || e instanceof NotFoundError)) throw e;
      err(`error: ${e.message}\n`);
      return result(e instanceof NotFoundError ? 1 : 2);
    }
  };
}

/**
 * The aemp jobs by name. Run in the service, they share its request budget (one process guards
 * each provider's per-URL slots) and its pipeline, instead of being refused while it runs.
 */
export function aempJobs(deps: JobDeps): [string, Job][] {
  return [
    [AEMP_PULL_JOB, commandJob(deps, aempPullCommand)],
    [AEMP_BACKFILL_JOB, commandJob(deps, aempBackfillCommand)],
    [AEMP_EQUIPMENT_JOB, commandJob(deps, (d, { pin, ...opts }: EquipmentOptions) => aempEquipmentCommand(d, pin, opts))],
  ];
}

/**
 * When a service owns the store, hand the command to it and print its result (no live progress
 * bar: the service's log shows the work as it goes). Returns false when no service runs. A provider
 * the config does not have (none at all, or a mistyped `--provider`) is refused here, before the
 * store is opened (so not created for a config that never ran) and a service asked and waited for.
 */
async function throughService<A extends { readonly provider?: string }>(configPath: string | undefined, job: string, args: A, what: string, timeoutMs: number, allProviders: boolean): Promise<boolean> {
  // Before the store is opened (or created, for a config that never ran): the fault is the config's.
  const { config: checked, configPath: path } = resolveConfig(configPath);
  pickProviders(telematicsConfigs(checked), args.provider, allProviders);
  return withConfigContext(checked, path, async ({ store }) => {
    if (!(await serviceIsRunning(store))) return false;
    process.stderr.write(`a running assetbridge service owns this store: asked it to ${what}; waiting for its result (Ctrl-C stops it)…\n`);
    const result = await runServiceJob(store, job, args, what, timeoutMs);
    if (!result) return true;
    process.stdout.write(result.output);
    if (result.errors) process.stderr.write(result.errors);
    process.exitCode = result.exitCode;
    return true;
  });
}

const HOUR_MS = 3_600_000;

/** Run `fn` against the configured app (its store and ingest sink); refused while a service runs (the store lease). */
async function withPipeline(configPath: string | undefined, command: string, fn: (deps: AempCommandDeps) => Promise<number>): Promise<void> {
  const { config } = resolveConfig(configPath);
  const logger = configLogger(config, logLevel('warn'));
  // Only enqueues: the running service's dispatcher delivers, so the ERPs' secrets are not needed here.
  const app = await createApp(config, { sources: false, http: false, deliver: false, logger, command });
  const abort = new AbortController();
  const onSignal = (): void => abort.abort(new Error('interrupted'));
  // SIGTERM too (a scheduler's or container's stop): the pull ends as with Ctrl-C, its summary printed and the store let go.
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    process.exitCode = await fn({
      configs: telematicsConfigs(config),
      store: app.store,
      sink: app.ingestor,
      out: (t) => void process.stdout.write(t),
      err: (t) => void process.stderr.write(t),
      isTTY: process.stderr.isTTY === true,
      logger,
      signal: abort.signal,
      validation: validationPolicyOf(config),
    });
    await app.ingestor.flush();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await app.close();
  }
}

/** Register `aemp pull`, `aemp backfill`, `aemp equipment` and `aemp budget` under `aemp`. */
export function registerAempCommands(program: Command): Command {
  const aemp = program.commands.find((c) => c.name() === 'aemp') ?? program.command('aemp').description('ISO 15143-3 (AEMP 2.0) telematics feeds');

  addConfigOption(
    aemp
      .command('pull')
      .description('pull the fleet snapshot now (all providers, or one with --provider), within the request budget')
      .option('--provider <name>', 'only this telematics provider')
      .option('--use-reserve', "spend per-URL reserve requests when a page's ordinary slot is taken (Trackunit: 50 per URL, each back after 30 days)")
      .option('--restart', 'start at the first page even when an interrupted pull could be resumed')
      .option('--no-wait', 'stop at once instead of waiting for budget (exit code 75: try later)')
      .option('--max-wait <duration>', 'longest wait for one page\'s budget, e.g. 5m (default: the config\'s maxBudgetWait)')
      .option('--json', 'print the summary as JSON')
      .addHelpText(
        'after',
        `
Exit codes: 0 complete, 1 failed, 2 bad usage or config, 75 stopped to respect the request budget
(the next run resumes where this one stopped).

Examples:
  assetbridge aemp pull
  assetbridge aemp pull --provider trackunit --use-reserve`,
      ),
  ).action(
    action(async (opts: { config: string; provider?: string; useReserve?: boolean; restart?: boolean; wait?: boolean; maxWait?: string; json?: boolean }) => {
      const { config: configPath, ...pull } = opts;
      if (await throughService(configPath, AEMP_PULL_JOB, pull satisfies PullOptions, 'pull', 6 * HOUR_MS, true)) return;
      await withPipeline(configPath, 'assetbridge aemp pull', (deps) => aempPullCommand(deps, pull));
    }),
  );

  addConfigOption(
    aemp
      .command('backfill')
      .description('fetch history from the time-series endpoints for a date range and feed it through the pipeline')
      .option('--from <date>', 'start (required), e.g. 2025-03-01 or 2025-03-01T06:00:00Z (UTC)')
      .option('--to <date>', 'end, not later than now (default: now)')
      .option('--provider <name>', 'the telematics provider (needed when several are configured)')
      .option('--element <name>', 'data element, e.g. CumulativeOperatingHours (repeatable; default from config; one assetbridge reads nothing from is refused)', collect)
      .option('--pin <pin>', 'only this machine, by PIN/VIN (repeatable; default: every matched machine of the last pulls)', collect)
      .option('--concurrency <n>', "machines backfilled at once, each one's series a page at a time (default: the config's timeSeries.concurrency; the per-second cap still applies)")
      .option('--use-reserve', 'spend reserve requests where the ordinary slot is taken')
      .option('--restart', 'fetch series again that an earlier run of the same range finished')
      .option('--no-wait', 'stop at once instead of waiting for budget (exit code 75: try later)')
      .option('--max-wait <duration>', 'longest wait for one request\'s budget, e.g. 5m (default: the config\'s maxBudgetWait)')
      .option('--json', 'print the summary as JSON')
      .addHelpText(
        'after',
        `
Exit codes: 0 complete, 1 failed or nothing backfilled (no machine to ask for: none pulled, or all
skipped), 2 bad usage or config, 75 stopped to respect the request budget
(run the same command again later: finished series are skipped).

Example:
  assetbridge aemp backfill --from 2025-02-01 --to 2025-03-01 --element CumulativeOperatingHours --element Locations`,
      ),
  ).action(
    action(async (opts: { config: string; from?: string; to?: string; provider?: string; element?: string[]; pin?: string[]; concurrency?: string; useReserve?: boolean; restart?: boolean; wait?: boolean; maxWait?: string; json?: boolean }) => {
      const { config: configPath, ...backfill } = opts;
      if (await throughService(configPath, AEMP_BACKFILL_JOB, backfill satisfies BackfillOptions, 'backfill', 48 * HOUR_MS, false)) return;
      await withPipeline(configPath, 'assetbridge aemp backfill', (deps) => aempBackfillCommand(deps, backfill));
    }),
  );

  addConfigOption(
    aemp
      .command('equipment <pin>')
      .description('fetch the single-element snapshot of one machine by PIN/VIN and show how it matches')
      .option('--provider <name>', 'the telematics provider (needed when several are configured)')
      .option('--submit', 'also feed it through the pipeline when it matches one ERP asset')
      .option('--use-reserve', 'spend a reserve request if the URL was requested recently')
      .option('--json', 'print JSON')
      .addHelpText(
        'after',
        "\nExit codes: 0 shown, 1 failed, 2 bad usage or config, 75 the machine's URL was requested too recently (the request budget; try later, or --use-reserve).\n\n" +
          'Examples:\n  assetbridge aemp equipment VCEC220EP00312874\n  assetbridge aemp equipment VCEC220EP00312874 --provider trackunit --submit',
      ),
  ).action(
    action(async (pin: string, opts: { config: string; provider?: string; submit?: boolean; useReserve?: boolean; json?: boolean }) => {
      const { config: configPath, ...equipment } = opts;
      if (await throughService(configPath, AEMP_EQUIPMENT_JOB, { pin, ...equipment } satisfies EquipmentOptions, `fetch ${pin}`, HOUR_MS, false)) return;
      await withPipeline(configPath, 'assetbridge aemp equipment', (deps) => aempEquipmentCommand(deps, pin, equipment));
    }),
  );

  addConfigOption(
    aemp
      .command('budget')
      .description('show the request budget per URL (last request, next ordinary slot, reserve left, cooldowns) and the last pull')
      .option('--provider <name>', 'only this telematics provider')
      .option('--json', 'print JSON')
      .addHelpText('after', '\nExamples:\n  assetbridge aemp budget\n  assetbridge aemp budget --provider trackunit --json'),
  ).action(
    action(async (opts: { config: string; provider?: string; json?: boolean }) => {
      // No provider configured (or a mistyped --provider) is said first: "there is no store" read as the fault.
      const { config: checked, configPath } = resolveConfig(opts.config);
      pickProviders(telematicsConfigs(checked), opts.provider, true);
      await withConfigContext(
        checked,
        configPath,
        async ({ config, store }) => {
          const noSink: IngestSink = { submit: () => Promise.reject(new Error('aemp budget does not submit')) };
          process.exitCode = await aempBudgetCommand(
            { configs: telematicsConfigs(config), store, sink: noSink, out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t), isTTY: false, redact: redactedFor(config) },
            opts,
          );
        },
        { readOnly: true },
      );
    }),
  );
  return aemp;
}
