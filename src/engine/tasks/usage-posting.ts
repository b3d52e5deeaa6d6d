/**
 * Period-end posting of units-of-production inputs (`usage.post`): once a fiscal period has ended
 * and the `postAfter` grace for late readings has passed, post each tracked asset's usage for it.
 * One fact per asset and period, ever (`<asset>|usage|<period>`), so a crash, a re-run or an
 * on-demand `depreciation post` for the same period adds nothing. The first run posts only the
 * latest closed period (no backfill of history nobody asked for); after that, each period in turn.
 * An asset with no posting yet gets its first one for the last posted period as soon as its usage
 * there is known, at a later run (readings that reached a new store after its first run).
 *
 * Usage found after a period was posted is carried into the asset's next posting (core
 * depreciation/posting.ts). Per asset, the kv key `posted:<asset>` records the last decision with
 * its facts, written (compare-and-set) in the same transaction as the facts are queued: the
 * record and its facts are stored together or not at all. A re-run or a concurrent
 * `depreciation post` commits the recorded facts again, never different ones.
 * @module
 */
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { meterIssueText, type MeterSyncState } from '../../core/rules/meter-sync.js';
import type { AssetRecord } from '../../core/model/assets.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import type { Period, PeriodCalendar } from '../../core/rules/depreciation/calendar.js';
import { parseLedger, planUsagePosting, postedUnitsOf, type UsagePlan } from '../../core/rules/depreciation/posting.js';
import { USAGE_POST, type DepreciationAttributes, type PostedUnits, type UsageLine, type UsageMeterKind, type UsageUnits } from '../../core/rules/depreciation/usage.js';
import { DEPRECIATION_RULE, filedUnderOtherCalendar, type UsageState } from '../../core/rules/depreciation/usage-rule.js';
import { sameCalendarName, stampCalendar } from '../../core/rules/depreciation/calendar.js';
import { canonicalTimeZone } from '../../core/rules/time-zone.js';
import { postedThrough } from '../../core/rules/depreciation/refile.js';
import { matchesFilter, type AssetFilter } from '../../core/rules/maintenance/types.js';
import type { ScheduledTask } from '../../ports/task.js';
import { WRITE_PAUSE_MS, type AssetStateDoc, type FactDelivery, type Store } from '../../ports/store.js';

export const USAGE_TASK = 'depreciation-posting';
/**
 * kv namespace; key `lastPosted` holds the last period posted by the task, `posted:<asset>` each
 * asset's ledger, `held:<asset>` the first period an asset with no posting yet was held back from.
 */
export const USAGE_NS = 'depreciation';
export const ledgerKey = (erpAssetId: string): string => `posted:${erpAssetId}`;
/** The first period an asset's postings were held back from while it had none (`heldSince` of posting.ts). */
export const heldKey = (erpAssetId: string): string => `held:${erpAssetId}`;
/** At most this many periods are posted in one run (a long outage catches up over several runs). */
const MAX_PERIODS_PER_RUN = 12;

export interface UsagePostingOptions {
  readonly calendar: PeriodCalendar;
  readonly attributes: DepreciationAttributes;
  /** The `unit` sent for usage counted in hours and in km. */
  readonly units: UsageUnits;
  /** Each asset's meter (for assets with no usage counted yet). @default hours */
  readonly meterOf?: (asset: AssetRecord) => { readonly meter: UsageMeterKind; readonly problem?: string };
  readonly postAfterMs: number;
  readonly checkEveryMs: number;
  readonly appliesTo?: AssetFilter;
  readonly defaultDestination: string;
  /** Hold back postings whose inputs are invalid (`rules.depreciation.holdBack`). @default true */
  readonly holdBack?: boolean;
  /** Where the first posting says which earlier periods it leaves out (see {@link unpostedEarlierUsage}). */
  readonly logger?: { warn(obj: object, msg: string): void };
}

export interface AssetUsageLine {
  /** The period's line: what is (or was) posted for it. */
  readonly line: UsageLine;
  readonly asset: AssetRecord;
  readonly destination: string;
  readonly plan: UsagePlan;
  /** The asset's ledger as read (the compare-and-set's expected value). */
  readonly ledgerRaw: string | undefined;
  /** The first period its postings were held back from while it had none, as read ({@link heldKey}). */
  readonly heldRaw?: string;
  /**
   * The outbox row of this period's posting, when it was made (read with `deliveries`): whether
   * the ERP has it, or it waits, or was refused (a dead letter).
   */
  readonly delivery?: FactDelivery;
  /**
   * The latest meter reading hygiene set aside for the asset's usage (went backwards, ran too fast,
   * stalled, held), with why and, for one that went backwards, the `reset-meter` command to run.
   */
  readonly meterIssue?: string;
}

export type UsageLoadOptions = Pick<UsagePostingOptions, 'calendar' | 'attributes' | 'units' | 'appliesTo' | 'defaultDestination' | 'meterOf' | 'holdBack'>;

/** Which assets {@link loadUsageLines} reads. */
export interface UsageLineSelection {
  /** Only these (of those the depreciation rule applies to). */
  readonly only?: (asset: AssetRecord) => boolean;
  /** The store's assets (`listAssetRecords`) when the caller has just read them, so they are not read again. */
  readonly listed?: readonly AssetRecord[];
  /**
   * Read the period's postings from the outbox (`depreciation preview` and `post`): a period
   * posted before an asset's last posting shows what it carried, and each posted line says where
   * its delivery stands (queued, or a dead letter the ERP refused).
   */
  readonly deliveries?: boolean;
}

/**
 * Usage lines (and what to post) for every asset the depreciation rule applies to (or those of
 * `select`), for one period. Reads only.
 */
export async function loadUsageLines(store: Store, options: UsageLoadOptions, period: Period, now: number, select: UsageLineSelection = {}): Promise<AssetUsageLine[]> {
  const { only, listed } = select;
  const assets = (listed ?? (await store.listAssetRecords())).filter((a) => matchesFilter(a, options.appliesTo) && (!only || only(a)));
  const states = await store.loadRuleStates(assets.map((a) => a.erpAssetId), [DEPRECIATION_RULE, 'meter']); // 'meter': see withMeterHint
  const ledgers = await store.kvGetMany(USAGE_NS, assets.flatMap((a) => [ledgerKey(a.erpAssetId), heldKey(a.erpAssetId)]));
  assets.sort((a, b) => (a.erpAssetId < b.erpAssetId ? -1 : a.erpAssetId > b.erpAssetId ? 1 : 0));
  const lines: AssetUsageLine[] = [];
  for (const asset of assets) {
    // A turn of the event loop every CHUNK assets: a fleet's period end is planned while ingest, MQTT
    // and HTTP go on (50,000 assets took 2 s at once).
    if (lines.length > 0 && lines.length % CHUNK === 0) await nextTurn();
    lines.push(usageLineOf(asset, states.get(asset.erpAssetId), ledgers.get(ledgerKey(asset.erpAssetId)), options, period, now, undefined, ledgers.get(heldKey(asset.erpAssetId))));
  }
  if (!select.deliveries) return lines;
  const posted = lines.filter((l) => l.plan.kind === 'decided' || l.plan.kind === 'covered');
  const facts = await store.factDeliveries(USAGE_POST, posted.map((l) => usageKey(l.asset.erpAssetId, period.id)));
  return lines.map((l) => {
    const delivery = l.plan.kind === 'decided' || l.plan.kind === 'covered' ? facts.get(usageKey(l.asset.erpAssetId, period.id)) : undefined;
    if (!delivery) return l;
    const earlier = l.plan.kind === 'covered' ? postedUnitsOf(delivery.payload, l.asset, options.attributes) : undefined;
    const line = earlier ? usageLineOf(l.asset, states.get(l.asset.erpAssetId), l.ledgerRaw, options, period, now, earlier, l.heldRaw) : l;
    return { ...line, delivery, line: withDeliveryNote(line.line, delivery) };
  });
}

const usageKey = (erpAssetId: string, period: string): string => `${erpAssetId}|usage|${period}`;

/**
 * A posted line's "posted" note, saying so only when the ERP took it: a posting still queued, or
 * one in dead letters (the ERP refused it, or it could not be sent), is not in the ERP.
 */
function withDeliveryNote(line: UsageLine, d: FactDelivery): UsageLine {
  const stand =
    d.status === 'pending' || d.status === 'inflight'
      ? 'decided, not delivered yet (queued for the ERP: a running service sends it)'
      : d.status === 'dead'
        ? `decided, not delivered: dead letter ${d.id}${d.mayHaveLanded ? ' (a request got no answer or a 5xx: the ERP may hold it)' : ''}${d.lastError ? ` (${d.lastError.length > 160 ? `${d.lastError.slice(0, 159)}…` : d.lastError})` : ''}; fix the cause, then 'assetbridge dlq replay ${d.id}'`
        : d.status === 'discarded'
          ? `decided, not delivered: dead letter ${d.id} was discarded, so the ERP does not have these units (they are not posted again)`
          : undefined;
  if (stand === undefined) return line;
  const at = line.notes.findIndex((n) => n === 'posted' || n.startsWith('posted;'));
  if (at < 0) return { ...line, notes: [...line.notes, stand] };
  return { ...line, notes: line.notes.map((n, i) => (i === at ? stand + n.slice('posted'.length) : n)) };
}

/** Assets planned, or ledgers recorded (one transaction), per turn of the event loop. */
const CHUNK = 500;
/** Chunks of postings between folds of the store's write-ahead log ({@link Store.foldLog}): some 2,500 assets' ledgers and facts. */
const FOLD_EVERY = 5;

/** One asset's usage line for `period`, with what to post, from its stored state and ledger. */
function usageLineOf(
  asset: AssetRecord,
  doc: AssetStateDoc | undefined,
  ledgerRaw: string | undefined,
  options: UsageLoadOptions,
  period: Period,
  now: number,
  postedBefore?: PostedUnits,
  heldRaw?: string,
): AssetUsageLine {
  const destination = asset.destination ?? options.defaultDestination;
  const configured = options.meterOf?.(asset);
  const meterSync = doc?.meter as MeterSyncState | undefined; // the meter sync rule's state (`name: 'meter'`)
  const plan = planUsagePosting({
    asset,
    state: doc?.[DEPRECIATION_RULE] as UsageState | undefined,
    ledger: parseLedger(ledgerRaw),
    period,
    calendar: options.calendar,
    attributes: options.attributes,
    now,
    ...(configured ? { configured } : {}),
    destination,
    units: options.units,
    ...(options.holdBack !== undefined ? { holdBack: options.holdBack } : {}),
    ...(postedBefore ? { postedBefore } : {}),
    ...(heldRaw !== undefined ? { heldSince: heldRaw } : {}),
    // Whether a replacement was declared after the reading set aside (the meter rule takes it in at
    // once; this rule holds it until rules.allowedLateness has passed): the line's note says it so.
    ...(meterSync ? { meterSync } : {}),
  });
  const issue = (doc?.[DEPRECIATION_RULE] as UsageState | undefined)?.meterIssue;
  const held = heldRaw !== undefined ? { heldRaw } : {};
  if (issue === undefined) return { asset, destination, plan, ledgerRaw, ...held, line: withMeterHint(plan.line, doc) };
  return { asset, destination, plan, ledgerRaw, ...held, line: withMeterHint(plan.line, doc), meterIssue: meterIssueText(issue, asset.erpAssetId, plan.line.meter, meterSync) };
}

/**
 * An asset counted on operating hours that reports only an odometer (a vehicle) has no usage: the
 * line says which setting counts it by distance instead of only "no meter readings".
 */
function withMeterHint(line: UsageLine, doc: Readonly<Record<string, unknown>> | undefined): UsageLine {
  if (line.tracked || line.meter !== 'hours') return line;
  const meter = doc?.meter as MeterSyncState | undefined; // the meter sync rule's state (`name: 'meter'`)
  if (meter?.odometer?.synced === undefined || meter.synced !== undefined) return line;
  return { ...line, notes: [...line.notes, `it reports an odometer only: count it in km with rules.depreciation.meter: odometerKm, or the asset attribute named by rules.depreciation.meterAttribute set to km`] };
}

/** The facts to post for `lines` (none for a covered period, an asset held back or not tracked yet). */
export function usageDeliveries(lines: readonly AssetUsageLine[]): DeliveryIntent[] {
  return lines.flatMap((l) => (l.plan.kind === 'covered' || l.plan.kind === 'held' ? [] : l.plan.deliveries));
}

/** `<asset>: <why>` for each asset whose postings are held back (invalid inputs). */
export function heldBackAssets(lines: readonly AssetUsageLine[]): string[] {
  return lines.flatMap((l) => (l.plan.kind === 'held' ? [`${l.asset.erpAssetId}: ${l.plan.reason}`] : []));
}

/**
 * Posts `lines`, 500 assets at a time: records each new decision in the asset's ledger together
 * with its facts, in one transaction (compare-and-set: of two posters, the first decides; the
 * other commits the recorded facts again, which adds nothing), so a period is never recorded as
 * posted without its facts queued. Facts of decisions recorded before (`decided`: a ledger an
 * older version wrote before a crash kept its facts from the outbox) are committed with `commit`.
 * Returns the facts of the postings this call decided: facts decided before, or by a concurrent
 * poster that won the compare-and-set, are committed again (which adds nothing) but not returned,
 * so callers count only what they queued.
 *
 * `replan`: the lines of these assets planned again from what is stored now. Given, an asset whose
 * ledger another poster moved meanwhile to another period (the task posting an earlier one while
 * `depreciation post` planned that and `period`) is planned again from it and posted once more, so
 * `period` is posted for it now, not only at the task's later check (a later period posted covers
 * it: nothing then).
 */
export async function postUsage(
  store: Store,
  commit: (deliveries: readonly DeliveryIntent[]) => Promise<void>,
  lines: readonly AssetUsageLine[],
  period: Period,
  replan?: (erpAssetIds: ReadonlySet<string>) => Promise<readonly AssetUsageLine[]>,
): Promise<DeliveryIntent[]> {
  const made: DeliveryIntent[] = [];
  const moved = new Set<string>();
  // CHUNK assets at a time, each chunk's ledgers and facts in one transaction, with a pause between
  // chunks (50,000 assets, a transaction each, held the event loop for 4 s; with `synchronous:
  // full`, 5,000 for over 1 s), long enough for other connections to take the write lock
  // (WRITE_PAUSE_MS: with only a turn of the event loop, the commit worker's could wait 1.2 s).
  for (let i = 0; i < lines.length; i += CHUNK) {
    if (i > 0) await sleep(WRITE_PAUSE_MS);
    const chunk = lines.slice(i, i + CHUNK);
    const again: DeliveryIntent[] = [];
    const decisions: { erpAssetId: string; key: string; expected: string | undefined; next: string; deliveries: readonly DeliveryIntent[] }[] = [];
    // Assets with no posting yet held back: the first period they were held back from, so that their
    // first posting, once they can be made, starts there (posting.ts `heldSince`).
    const heldFrom: { key: string; expected: undefined; next: string }[] = [];
    for (const l of chunk) {
      const plan = l.plan;
      if (plan.kind === 'decided') again.push(...plan.deliveries);
      if (plan.kind === 'new' && plan.ledger) decisions.push({ erpAssetId: l.asset.erpAssetId, key: ledgerKey(l.asset.erpAssetId), expected: l.ledgerRaw, next: JSON.stringify(plan.ledger), deliveries: plan.deliveries });
      const from = plan.kind === 'held' ? plan.periods[0] : undefined;
      if (from !== undefined && l.ledgerRaw === undefined && l.heldRaw === undefined) heldFrom.push({ key: heldKey(l.asset.erpAssetId), expected: undefined, next: from });
    }
    if (heldFrom.length) await store.kvCompareAndSetMany(USAGE_NS, heldFrom);
    const set = await store.kvCompareAndSetWithDeliveries(USAGE_NS, decisions);
    for (let k = 0; k < decisions.length; k++) {
      const d = decisions[k] as (typeof decisions)[number];
      if (set[k] === true) made.push(...d.deliveries);
      else {
        // Someone else decided meanwhile: theirs stand (committed again, which adds nothing), and
        // are theirs: not returned as made here (a `depreciation post` racing the task counted them twice).
        const theirs = parseLedger(await store.kvGet(USAGE_NS, d.key));
        if (theirs?.period === period.id) again.push(...theirs.deliveries);
        else if (theirs) moved.add(d.erpAssetId);
      }
    }
    if (again.length) await commit(again);
    // Every FOLD_EVERY chunks, the log they wrote folded (on the commit worker where one runs):
    // left to the store's own threshold, one fold of some 80 MiB held the event loop ~130 ms.
    if ((i / CHUNK) % FOLD_EVERY === FOLD_EVERY - 1) void store.foldLog?.();
  }
  // Planned again from the posting made meanwhile, once (a poster racing again decides it then).
  if (replan && moved.size) made.push(...(await postUsage(store, commit, await replan(moved), period)));
  return made;
}

/**
 * How many assets `lines` planned to post for the first time that another poster (the running
 * service's period-end task) decided meanwhile: `made` (what {@link postUsage} returned) holds none
 * of theirs. Said by `depreciation post`, which would otherwise say it queued nothing.
 */
export function decidedMeanwhile(lines: readonly AssetUsageLine[], made: readonly DeliveryIntent[]): number {
  const mine = new Set(made.map((d) => d.erpAssetId));
  return lines.filter((l) => l.plan.kind === 'new' && l.plan.deliveries.length > 0 && !mine.has(l.asset.erpAssetId)).length;
}

/** The latest period whose posting time (end + grace) has come at `now`; after a listed calendar's end, its last period. */
export function latestPostable(calendar: PeriodCalendar, now: number, postAfterMs: number): Period | undefined {
  const t = now - postAfterMs;
  const current = calendar.periodAt(t);
  if (current) return current.end <= t ? current : calendar.periodAt(current.start - 1);
  // Before a listed calendar's first period, or after its last (a monthly calendar always has one).
  let ended: Period | undefined;
  for (let p = calendar.periodFrom(Number.MIN_SAFE_INTEGER), n = 0; p && p.end <= t && n < 10_000; p = calendar.next(p), n++) ended = p;
  return ended;
}

/** Usage in periods the service's first posting leaves out: see {@link unpostedEarlierUsage}. */
export interface UnpostedEarlierUsage {
  /** The period the first check posts. */
  readonly first: string;
  /** The earlier periods with usage, oldest first. */
  readonly periods: readonly string[];
  /** Assets with usage in them and no posting yet. */
  readonly assets: number;
}

/**
 * On a store the task has not posted from yet (no `lastPosted`): the periods before `first`, the
 * one its first check posts (the latest past `postAfter`; not older history), in which assets with
 * no posting yet have usage. That check posts none of them: their units are in the life-to-date of
 * later postings only, unless `depreciation post --period` posted each before, oldest first.
 * Undefined when there are none, or once the task has posted. Asked by that first check itself,
 * before it posts, so it names the period that check posts, from the same state (not the one a
 * start some minutes before would have posted, on state the ingestor had not checkpointed yet).
 */
export async function unpostedEarlierUsage(store: Store, options: Pick<UsagePostingOptions, 'calendar' | 'appliesTo'>, first: Period): Promise<UnpostedEarlierUsage | undefined> {
  if ((await store.kvGet(USAGE_NS, 'lastPosted')) !== undefined) return undefined;
  const assets = (await store.listAssetRecords()).filter((a) => matchesFilter(a, options.appliesTo));
  const ledgers = await store.kvGetMany(USAGE_NS, assets.map((a) => ledgerKey(a.erpAssetId)));
  const unposted = assets.filter((a) => ledgers.get(ledgerKey(a.erpAssetId)) === undefined).map((a) => a.erpAssetId);
  const states = await store.loadRuleStates(unposted, [DEPRECIATION_RULE]);
  const periods = new Map<string, number>();
  let count = 0;
  for (const doc of states.values()) {
    const state = doc[DEPRECIATION_RULE] as UsageState | undefined;
    const used = [...Object.entries(state?.periods ?? {}).map(([id, u]) => [id, u.units] as const), ...Object.entries(state?.pruned ?? {})];
    let earlier = false;
    for (const [id, units] of used) {
      const p = units > 0 ? options.calendar.period(id) : undefined;
      if (p && p.start < first.start) {
        periods.set(id, p.start);
        earlier = true;
      }
    }
    if (earlier) count++;
  }
  if (count === 0) return undefined;
  return { first: first.id, periods: [...periods].sort((a, b) => a[1] - b[1]).map(([id]) => id), assets: count };
}

/** The first posting's warning of usage in earlier periods it does not post (see {@link unpostedEarlierUsage}), if any. */
async function warnEarlierUsage(store: Store, options: UsagePostingOptions, first: Period): Promise<void> {
  if (!options.logger) return;
  const earlier = await unpostedEarlierUsage(store, options, first);
  if (!earlier) return;
  const { periods } = earlier;
  options.logger.warn(
    { first: earlier.first, periods, assets: earlier.assets },
    `${earlier.assets} asset(s) have usage in periods before ${earlier.first} (${periods.length > 6 ? `${periods.length} periods, ${periods[0] ?? ''} to ${periods.at(-1) ?? ''}` : periods.join(', ')}), which the service's first period-end posting, of ${earlier.first} now, does not post: their units are in the life-to-date of later postings only ('assetbridge depreciation preview --period ${periods[0] ?? ''}' shows them). To post such periods as their own on another store, run 'assetbridge depreciation post --period <period>' for each, oldest first, before the service's first posting`,
  );
}

export function createUsagePostingTask(options: UsagePostingOptions): ScheduledTask {
  return {
    name: USAGE_TASK,
    // Soon after a start too (within 10 minutes): a service restarted more often than checkEvery would never post.
    schedule: { everyMs: options.checkEveryMs, firstAfterMs: Math.min(options.checkEveryMs, 600_000) },
    async run(ctx) {
      const now = ctx.clock.now();
      const last = await ctx.store.kvGet(USAGE_NS, 'lastPosted');
      const lastPeriod = last !== undefined ? options.calendar.period(last) : undefined;
      let period = lastPeriod ? options.calendar.next(lastPeriod) : latestPostable(options.calendar, now, options.postAfterMs);
      const periods: string[] = [];
      let postings = 0;
      let untracked = 0;
      const heldBack = new Set<string>();
      const meterSetAside = new Set<string>();
      for (let i = 0; period && period.end + options.postAfterMs <= now && i < MAX_PERIODS_PER_RUN; i++) {
        if (ctx.signal.aborted) return;
        if (i === 0) {
          await ctx.checkpoint(); // usage the ingestor still holds in memory counts too
          // The service's first posting: which earlier periods it leaves out, said as it decides (of this period, on this state).
          if (lastPeriod === undefined) await warnEarlierUsage(ctx.store, options, period);
        }
        const lines = await loadUsageLines(ctx.store, options, period, now);
        // Facts decided before (a `depreciation post` of this period ran first) are committed again,
        // which adds nothing: not counted as postings this check queued.
        const before = new Set(usageDeliveries(lines.filter((l) => l.plan.kind === 'decided')).map((x) => x.businessKey));
        postings += (await postUsage(ctx.store, (d) => ctx.commit(d), lines, period)).filter((x) => !before.has(x.businessKey)).length;
        ctx.notify?.();
        untracked += lines.filter((l) => !l.line.tracked).length;
        for (const h of heldBackAssets(lines)) heldBack.add(h);
        for (const l of lines) if (l.meterIssue !== undefined) meterSetAside.add(`${l.asset.erpAssetId}: ${l.meterIssue}`);
        await ctx.store.kvSet(USAGE_NS, 'lastPosted', period.id);
        periods.push(period.id);
        period = options.calendar.next(period);
      }
      if (periods.length) await recordCheck(ctx.store, { at: now, through: periods.at(-1), held: [...heldBack], postings });
      // `withoutReadings`: assets the rule applies to with no meter reading in or before the period.
      // `heldBack`: assets whose postings were not made, with the invalid input (fixed, they are posted at a later check).
      // `meterSetAside`: assets posted while their latest meter reading was set aside (a meter gone
      // backwards is never reset by itself: its usage stays uncounted until declared), a few named.
      if (periods.length)
        return {
          msg: 'period-end usage posted',
          fields: { periods, postings, withoutReadings: untracked, ...(heldBack.size ? { heldBack: [...heldBack] } : {}), ...(meterSetAside.size ? { meterSetAside: namedFew([...meterSetAside]) } : {}) },
        };
      if (ctx.signal.aborted) return;
      // No period posted yet, none ended to post (a new store before its first period end): a check
      // all the same, recorded so that `status` says when it ran, as the metric of the last check does.
      if (!lastPeriod) return void (await recordCheck(ctx.store, { at: now, held: [], postings: 0 }));
      // Assets with no posting yet whose usage in the last posted period became known after it was
      // posted (readings that arrived after a first run on a new store, a backfill, an asset
      // registered later): their first posting is that period, made now, not skipped for good. So
      // are assets whose postings were held back (invalid inputs, another calendar) once they can
      // be made: those with earlier postings catch up to the last posted period.
      // Once every asset is posted through it, a check reads neither the ingestor's memory nor any state.
      const assets = await ctx.store.listAssetRecords();
      const tracked = assets.filter((asset) => matchesFilter(asset, options.appliesTo));
      const ledgers = await ctx.store.kvGetMany(USAGE_NS, tracked.map((a) => ledgerKey(a.erpAssetId)));
      const behind = (asset: AssetRecord): boolean => {
        const raw = ledgers.get(ledgerKey(asset.erpAssetId));
        if (raw === undefined) return true;
        const ledger = parseLedger(raw);
        if (!ledger) return false;
        const p = options.calendar.period(ledger.period);
        if (p) return p.start < lastPeriod.start;
        // Its last posting was for a period of another calendar (re-filed, no new period covered by
        // it): behind while that posting ended before the last posted period did.
        const end = postedThrough(ledger, options.calendar)?.end;
        return end !== undefined && end < lastPeriod.end;
      };
      // Read in turns of the event loop, as the ledgers were (this runs at every check, hourly by default).
      const behindIds = new Set<string>();
      for (let i = 0; i < tracked.length; i++) {
        if (i > 0 && i % CHUNK === 0) await nextTurn();
        const asset = tracked[i] as AssetRecord;
        if (behind(asset)) behindIds.add(asset.erpAssetId);
      }
      // Every asset posted through it: none held back (an asset held back is behind).
      if (behindIds.size === 0) return void (await recordCheck(ctx.store, { at: now, through: lastPeriod.id, held: [], postings: 0 }));
      await ctx.checkpoint();
      const lines = await loadUsageLines(ctx.store, options, lastPeriod, now, { only: (a) => behindIds.has(a.erpAssetId), listed: tracked });
      const late = lines.filter((l) => l.plan.kind === 'new' && l.plan.deliveries.length > 0);
      // Those held back too: an asset with no posting yet has the period it was first held back from recorded.
      const held = lines.filter((l) => l.plan.kind === 'held');
      const made = late.length || held.length ? await postUsage(ctx.store, (d) => ctx.commit(d), [...late, ...held], lastPeriod) : [];
      await recordCheck(ctx.store, { at: now, through: lastPeriod.id, held: heldBackAssets(lines), postings: made.length });
      if (!late.length) return;
      ctx.notify?.();
      return { msg: 'usage postings made late for the last posted period (readings that came after it was posted, or an asset no longer held back)', fields: { periods: [lastPeriod.id], postings: made.length } };
    },
  };
}

/**
 * Assets whose usage was filed under another calendar than `calendar` (the configured one changed):
 * their periods are held, neither filed into nor posted (readings are counted meanwhile, their usage
 * filed at the release: usage-rule.ts `heldUsage`). One warning naming the setting, how many
 * assets and what to do; undefined when there are none. For the service's start and the
 * depreciation commands.
 */
export async function calendarChangeWarning(store: Store, calendar: PeriodCalendar, appliesTo?: AssetFilter): Promise<{ key: string; message: string } | undefined> {
  const assets = (await store.listAssetRecords()).filter((a) => matchesFilter(a, appliesTo));
  if (!assets.length) return undefined;
  const states = await store.loadRuleStates(assets.map((a) => a.erpAssetId), [DEPRECIATION_RULE]);
  const cache = new Map<string, boolean>();
  const other = new Map<string, string[]>();
  for (const a of assets) {
    const state = states.get(a.erpAssetId)?.[DEPRECIATION_RULE] as UsageState | undefined;
    if (!filedUnderOtherCalendar(state, calendar, cache)) continue;
    const was = stampCalendar(state?.cal ?? '');
    other.set(was, [...(other.get(was) ?? []), a.erpAssetId]);
  }
  if (!other.size) return undefined;
  const now = stampCalendar(calendar.fingerprint);
  const count = [...other.values()].reduce((n, ids) => n + ids.length, 0);
  const listed = [...other].map(([was, ids]) => `${ids.length} under ${sameCalendarName(was, now) ? `${was} with other periods` : was} (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''})`).join('; ');
  const timeZoneChanged = [...other.keys()].some((was) => canonicalTimeZone(was.split(' ')[1] ?? '') !== canonicalTimeZone(calendar.timeZone));
  return {
    key: timeZoneChanged ? 'rules.depreciation.timeZone' : 'rules.depreciation.periods',
    message:
      `the depreciation calendar (rules.depreciation.timeZone, periods, periodsEnd) is not the one the usage of ${count} asset(s) was filed under: ${listed}; now ${now}. ` +
      'Their periods are held: nothing is filed into them or posted with other boundaries (the readings that come meanwhile are counted, and their usage is filed when the hold ends). Set the calendar back to the one they were filed under, or keep this one and re-file their usage under it with \'assetbridge depreciation refile\' (try --dry-run first); listing more periods (a new fiscal year) is no change',
  };
}

/** kv namespace of the listed calendars this store's usage may have been filed under (key: the calendar's fingerprint). */
export const CALENDARS_NS = 'depreciation-calendars';

/** A listed calendar as configured: what `customCalendar` builds it from, in any time zone. */
export interface RecordedCalendar {
  readonly periods: readonly { readonly id: string; readonly start: string }[];
  readonly periodsEnd: string;
}

/**
 * Remembers the configured listed calendar (its periods), so that usage filed under it can be
 * re-filed after the list was edited (`depreciation refile`): a usage state keeps only a hash of
 * the periods it was filed in. Monthly calendars need no record. Written once per calendar.
 */
export async function recordCalendar(store: Store, calendar: PeriodCalendar, periods: RecordedCalendar['periods'] | 'monthly', periodsEnd: string | undefined): Promise<void> {
  if (periods === 'monthly' || periodsEnd === undefined) return;
  if ((await store.kvGet(CALENDARS_NS, calendar.fingerprint)) !== undefined) return;
  const record: RecordedCalendar = { periods: periods.map((p) => ({ id: p.id, start: p.start })), periodsEnd };
  await store.kvSet(CALENDARS_NS, calendar.fingerprint, JSON.stringify(record));
}

/** The listed calendars recorded on this store (unreadable records left out). */
export async function recordedCalendars(store: Store): Promise<RecordedCalendar[]> {
  return (await store.kvList(CALENDARS_NS)).flatMap((e) => {
    try {
      const v = JSON.parse(e.value) as Partial<RecordedCalendar> | null;
      return v && Array.isArray(v.periods) && typeof v.periodsEnd === 'string' ? [v as RecordedCalendar] : [];
    } catch {
      return [];
    }
  });
}

/** kv namespace and key of the posting task's last check (one with nothing to post yet too): what `status` shows. */
const POSTING_CHECK_NS = 'depreciation-task';
const POSTING_CHECK_KEY = 'lastCheck';
/** Assets named in a recorded check (the count is kept whole). */
const HELD_NAMED = 10;

/** The first {@link HELD_NAMED} of `list`, then how many more and where all are listed. */
function namedFew(list: readonly string[]): string[] {
  return list.length <= HELD_NAMED ? [...list] : [...list.slice(0, HELD_NAMED), `and ${list.length - HELD_NAMED} more ('assetbridge depreciation preview' and 'assetbridge assets meters --flagged' list them)`];
}

/**
 * The posting task's last check: when, the last period it has posted (each asset is posted through
 * it but those held back; absent when it had no period to post yet, none having ended), the assets
 * held back (`<asset>: <why>`), and how many postings the check itself queued (0: none, every asset
 * was posted through it already, or nothing to post yet; absent in a record an older version wrote).
 */
export interface PostingCheck {
  readonly at: number;
  readonly through?: string;
  readonly heldCount: number;
  readonly held: readonly string[];
  readonly postings?: number;
}

async function recordCheck(store: Store, check: { at: number; through?: string; held: readonly string[]; postings: number }): Promise<void> {
  const record: PostingCheck = { at: check.at, ...(check.through !== undefined ? { through: check.through } : {}), heldCount: check.held.length, held: check.held.slice(0, HELD_NAMED), postings: check.postings };
  await store.kvSet(POSTING_CHECK_NS, POSTING_CHECK_KEY, JSON.stringify(record));
}

/** The last `depreciation post` that queued postings: when, for which period, how many (of that period and earlier ones). */
export interface OnDemandPosting {
  readonly at: number;
  readonly period: string;
  readonly postings: number;
}
const ON_DEMAND_KEY = 'lastOnDemand';

/** Records a `depreciation post` that queued postings, for `status`. */
export async function recordOnDemandPosting(store: Pick<Store, 'kvSet'>, posting: OnDemandPosting): Promise<void> {
  await store.kvSet(POSTING_CHECK_NS, ON_DEMAND_KEY, JSON.stringify(posting));
}

/** The last recorded `depreciation post` that queued postings; undefined when none (or unreadable). */
export async function lastOnDemandPosting(store: Pick<Store, 'kvGet'>): Promise<OnDemandPosting | undefined> {
  const raw = await store.kvGet(POSTING_CHECK_NS, ON_DEMAND_KEY);
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<OnDemandPosting> | null;
    return v && typeof v.at === 'number' && typeof v.period === 'string' && typeof v.postings === 'number' ? (v as OnDemandPosting) : undefined;
  } catch {
    return undefined;
  }
}

/** The posting task's last recorded check; undefined when none (or unreadable). */
export async function lastPostingCheck(store: Pick<Store, 'kvGet'>): Promise<PostingCheck | undefined> {
  const raw = await store.kvGet(POSTING_CHECK_NS, POSTING_CHECK_KEY);
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<PostingCheck> | null;
    return v && typeof v.at === 'number' && (v.through === undefined || typeof v.through === 'string') && typeof v.heldCount === 'number' && Array.isArray(v.held) ? (v as PostingCheck) : undefined;
  } catch {
    return undefined;
  }
}
