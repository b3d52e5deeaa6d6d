/**
 * Calendar service intervals (`maintenance.calendarIntervals`): every `calendarCheckEvery` the
 * service looks at each asset a calendar rule applies to and opens the work order for the latest
 * due date whose lead has begun — parked machines included, since this runs on the wall clock,
 * not on the asset's events. Exactly once per (asset, rule, due date and baseline): the business
 * key says which, the outbox keeps one fact per key, and the key last opened per asset and rule
 * is remembered here so a later run does not even offer it again. A completion the ERP reports
 * moves the baseline (the maintenance rule keeps it), which starts the next series of keys.
 * A whichever-first rule ("every 180 days or 250 h") has its meter side checked here too, against
 * the latest reading in the maintenance rule's state: so at most one check interval after the
 * meter gets there.
 * The marks of an (asset, rule) pair the configuration no longer has (a rule removed or renamed, an
 * `appliesTo` that no longer selects the asset) are deleted 30 days after a daily sweep first finds
 * it so (see {@link sweepCalendarMarks}); a work order already opened is not opened again if the
 * rule comes back, as its key is the same and the outbox keeps every fact's key.
 * @module
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AssetRecord } from '../../core/model/assets.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import { baselineProblem, calendarDueAt, calendarTimeZone, checkedBaseline, DAY_MS, dayIn, isoDay, openedCycle, openedStandsFor, type CalendarDue, type OpenedPoint } from '../../core/rules/maintenance/calendar-interval.js';
import { formatReading, UNIT } from '../../core/rules/maintenance/service-interval.js';
import { calendarMeterOf, calendarSnapshot, MAINTENANCE_RULE, type MaintenanceState } from '../../core/rules/maintenance/maintenance-rule.js';
import { matchesFilter, type CalendarIntervalRule } from '../../core/rules/maintenance/types.js';
import { workOrderDelivery, workOrderKey, type SchedulingOptions } from '../../core/rules/maintenance/work-order.js';
import { createSlicer, runSliced, type Due, type Slicer } from '../../core/slices.js';
import type { ScheduledTask } from '../../ports/task.js';
import type { KvSwap, Store } from '../../ports/store.js';

export const CALENDAR_TASK = 'maintenance-calendar';
/**
 * kv namespace: `first:<asset>|<rule>` (the first check, a baseline of last resort),
 * `fired:<asset>|<rule>` (the key last opened, and when; whichever-first, where it was due: its
 * due date and meter, see openedStandsFor) and `gone:<asset>|<rule>` (when a sweep
 * first found the pair no longer configured: see {@link sweepCalendarMarks}).
 */
export const CALENDAR_NS = 'maintenance-calendar';

export interface CalendarTaskOptions extends SchedulingOptions {
  readonly rules: readonly CalendarIntervalRule[];
  readonly checkEveryMs: number;
  readonly defaultDestination: string;
  /** `rules.allowedLateness`, ms: the work orders' snapshots reach this much further back. @default 0 */
  readonly allowedLatenessMs?: number;
  /** `rules.maintenance.snapshotMaxAge`, ms: how old a sensor value a work order's snapshot shows. @default 10 min */
  readonly snapshotMaxAgeMs?: number;
  /** Warns about assets whose service-date attribute is not a date; says how many marks a sweep dropped. */
  readonly logger?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
}

/** What the task remembers per asset and rule, read back for `maintenance status`. */
export interface CalendarMarks {
  readonly firstChecked?: number;
  readonly fired?: FiredMark;
}

/** The work order last opened for an asset and rule: its key, when, and (whichever-first rules) where it was due. */
export interface FiredMark extends Partial<OpenedPoint> {
  readonly key: string;
  readonly at: number;
}

/** A `fired:` mark as stored; its due point only when it holds one (marks written before it was kept do not). */
function firedMark(value: string): FiredMark {
  const m = JSON.parse(value) as { key: string; at: number; due?: unknown; dueMeter?: unknown };
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  return { key: m.key, at: m.at, ...(num(m.due) ? { due: m.due } : {}), ...(num(m.dueMeter) ? { dueMeter: m.dueMeter } : {}) };
}

const pair = (asset: string, rule: string) => `${asset}|${rule}`;

/**
 * The task's marks, by `<asset>|<rule>`: all of them, or those of `pairs` (asset, rule), read a
 * few hundred keys at a time and taken apart in turns of the event loop (the task's hourly check
 * of 50,000 assets with two calendar rules held it 0.85 s at once reading them all).
 */
export async function loadCalendarMarks(store: Store, pairs?: readonly (readonly [asset: string, rule: string])[]): Promise<Map<string, CalendarMarks>> {
  const out = new Map<string, { firstChecked?: number; fired?: FiredMark }>();
  const entries: Iterable<readonly [string, string]> = pairs
    ? await store.kvGetMany(CALENDAR_NS, pairs.flatMap(([asset, rule]) => [`first:${pair(asset, rule)}`, `fired:${pair(asset, rule)}`]))
    : (await store.kvList(CALENDAR_NS)).map((e) => [e.key, e.value] as const);
  let n = 0;
  for (const [key, value] of entries) {
    if (++n % 5000 === 0) await nextTurn();
    const [kind, ...rest] = key.split(':');
    // `gone:` is the sweep's, not a mark status or a check reads.
    if (kind !== 'first' && kind !== 'fired') continue;
    const id = rest.join(':');
    const m = out.get(id) ?? {};
    if (kind === 'first') m.firstChecked = Number(value);
    else if (kind === 'fired') m.fired = firedMark(value);
    out.set(id, m);
  }
  return out;
}

export const calendarMarksOf = (marks: ReadonlyMap<string, CalendarMarks>, asset: string, rule: string): CalendarMarks => marks.get(pair(asset, rule)) ?? {};

/**
 * The work order for a due date: trigger details, and the snapshot a fault's has (the latest
 * operating hours and odometer when known, and every sensor's latest value; see calendarSnapshot).
 */
function calendarWorkOrder(rule: CalendarIntervalRule, asset: AssetRecord, destination: string, base: number, d: CalendarDue, state: MaintenanceState | undefined, now: number, options: CalendarTaskOptions): DeliveryIntent {
  const when = d.dueSoon ? 'due soon' : 'due';
  const m = d.meter;
  const unit = m ? UNIT[m.meter] : '';
  const meterText = m ? `${formatReading(m.due)} ${unit}` : '';
  // A whichever-first rule names both sides and says which one got there.
  const what = m
    ? `service every ${rule.everyDays} days or ${formatReading(rule.orMeter?.every ?? 0)} ${unit}, whichever comes first, ${when}: ` +
      `${d.by === 'date' ? `by date, on ${isoDay(d.due)}` : `by ${m.meter === 'km' ? 'odometer' : 'meter'}, at ${meterText} (now ${formatReading(m.reading ?? 0)} ${unit})`} ` +
      `(counted from ${isoDay(base)} and ${formatReading(m.base)} ${unit}; rule ${rule.name})`
    : `service every ${rule.everyDays} days ${when}: due on ${isoDay(d.due)} (counted from ${isoDay(base)}; rule ${rule.name})`;
  const meterTrigger = m
    ? m.meter === 'km'
      ? { everyKm: rule.orMeter?.every, baselineKm: m.base, dueAtKm: m.due, ...(m.reading !== undefined ? { readingKm: m.reading } : {}), dueSoonKm: rule.orMeter?.dueSoon, dueBy: d.by }
      : { everyHours: rule.orMeter?.every, baselineHours: m.base, dueAtHours: m.due, ...(m.reading !== undefined ? { readingHours: m.reading } : {}), dueSoonHours: rule.orMeter?.dueSoon, dueBy: d.by }
    : {};
  return workOrderDelivery(
    {
      rule: rule.name,
      occurrence: d.occurrence,
      severity: rule.severity,
      title: `${rule.title ?? rule.name}: due ${isoDay(d.due)}${m ? ` or at ${meterText}` : ''}`,
      description: what,
      trigger: { type: 'calendar-interval', everyDays: rule.everyDays, baselineDate: isoDay(base), dueDate: isoDay(d.due), dueSoon: d.dueSoon, dueSoonDays: rule.dueSoonDays, ...meterTrigger },
      detectedAt: now,
      // As old as its readings, not as the check: a parked machine's may be months old.
      ...calendarSnapshot(state, { allowedLatenessMs: options.allowedLatenessMs ?? 0, ...(options.snapshotMaxAgeMs !== undefined ? { snapshotMaxAgeMs: options.snapshotMaxAgeMs } : {}) }),
      ...(rule.workOrder ? { extras: rule.workOrder } : {}),
    },
    { asset, destination, now },
    options,
  );
}

/** Whether the ERP has reported the work order `key` completed or cancelled (by the maintenance rule's record of it). */
function closedIn(state: MaintenanceState | undefined, key: string | undefined): boolean {
  const status = key === undefined ? undefined : state?.workOrders?.[key]?.status;
  return status === 'completed' || status === 'cancelled';
}

/** One check at `now`: commits the work orders coming due and returns them. */
export async function checkCalendarIntervals(
  store: Store,
  options: CalendarTaskOptions,
  now: number,
  commit: (deliveries: readonly DeliveryIntent[]) => Promise<void>,
): Promise<DeliveryIntent[]> {
  const assets = (await store.listAssetRecords()).filter((a) => options.rules.some((r) => matchesFilter(a, r.appliesTo)));
  if (assets.length === 0) return [];
  const states = await store.loadRuleStates(assets.map((a) => a.erpAssetId), [MAINTENANCE_RULE]);
  const marks = await loadCalendarMarks(store, assets.flatMap((a) => options.rules.filter((r) => matchesFilter(a, r.appliesTo)).map((r) => [a.erpAssetId, r.name] as const)));
  const out: DeliveryIntent[] = [];
  const fired: [string, string][] = [];
  const firstChecks: [string, string][] = [];
  const skipped: string[] = [];
  for (let i = 0; i < assets.length; i++) {
    // Ingest shares this thread: let it in between slices of a large fleet.
    if (i > 0 && i % 2000 === 0) await nextTurn();
    const asset = assets[i] as AssetRecord;
    const state = states.get(asset.erpAssetId)?.[MAINTENANCE_RULE] as MaintenanceState | undefined;
    for (const rule of options.rules) {
      if (!matchesFilter(asset, rule.appliesTo)) continue;
      const id = pair(asset.erpAssetId, rule.name);
      const m = marks.get(id) ?? {};
      const completed = state?.calendars?.[rule.name];
      const problem = baselineProblem(rule, asset);
      if (problem !== undefined && completed === undefined) {
        // Not counted from a guess: `maintenance status` shows why; the log, once per check.
        skipped.push(`${asset.erpAssetId} (${rule.name}): ${problem}`);
        continue;
      }
      // Days are the site's calendar days; a series opened under UTC days keeps its baseline (see checkedBaseline).
      const zone = calendarTimeZone(asset, options);
      let base = checkedBaseline(rule, asset, completed, m.firstChecked, zone, m.fired?.key);
      if (base === undefined) {
        // Nothing says when it was last serviced: count from today (status says so; set the attribute to change it).
        firstChecks.push([`first:${id}`, String(now)]);
        base = dayIn(now, zone);
      }
      const due = calendarDueAt(rule, base, now, calendarMeterOf(rule, asset, state, zone), zone);
      if (!due) continue;
      const key = workOrderKey(asset.erpAssetId, rule.name, due.occurrence);
      // Opened already, or a due point of this baseline that stands for this one is (see openedStandsFor).
      if (openedStandsFor(m.fired?.key, key, rule.everyDays * DAY_MS, closedIn(state, m.fired?.key), openedCycle(rule, m.fired, due))) continue;
      out.push(calendarWorkOrder(rule, asset, asset.destination ?? options.defaultDestination, base, due, state, now, options));
      // Whichever-first: where it is due, which its numbered key does not say once an interval changes.
      fired.push([id, JSON.stringify({ key, at: now, ...(due.meter ? { due: due.due, dueMeter: due.meter.due } : {}) })]);
    }
  }
  if (skipped.length) options.logger?.warn({ skipped: skipped.length, examples: skipped.slice(0, 5) }, `calendar intervals skipped for ${skipped.length} asset(s) whose service date is not a date: ${skipped[0] ?? ''}${skipped.length > 1 ? ', …' : ''}`);
  // One transaction for the whole fleet's first checks (a first run over 100,000 assets).
  await store.kvSetMany(CALENDAR_NS, firstChecks);
  if (out.length) await commit(out);
  // After the commit: a crash in between offers the same keys again, and the outbox adds nothing.
  await store.kvSetMany(CALENDAR_NS, fired.map(([id, value]) => [`fired:${id}`, value] as const));
  return out;
}

/** How long the marks of an (asset, rule) pair the configuration no longer has are kept after a sweep first finds it so. */
export const ORPHAN_MARKS_KEEP_MS = 30 * DAY_MS;
/** How often the task sweeps its marks: at its first check after a start, then at the first check a day after the last sweep. */
export const SWEEP_EVERY_MS = DAY_MS;
/** Marks deleted per transaction, the event loop taking a turn between two. */
const DELETE_BATCH = 500;

/** What a sweep decides from the marks it read. */
export interface MarksSweep {
  /** `gone:` marks to set: pairs found not configured for the first time. */
  readonly noted: (readonly [key: string, value: string])[];
  /** Marks to delete, each only if it still holds the value read: those of pairs not configured for longer than the keep, and the `gone:` of pairs configured again. */
  readonly deletes: KvSwap[];
  /** Pairs whose marks are deleted. */
  readonly droppedPairs: number;
  /** Pairs not configured whose marks are kept a while yet. */
  readonly keptPairs: number;
}

/**
 * The sweep over all marks (`entries`, the namespace as read), `configured` the pairs
 * (`<asset>|<rule>`) a calendar rule selects now: the marks of any other pair are kept `keepMs`
 * from the sweep that first found it not configured (its `gone:` mark), then deleted, all of them.
 * Kept meanwhile, a rule removed or an `appliesTo` narrowed by mistake and put back counts on as
 * before (its first check, the key last opened). A pair configured again loses its `gone:`.
 */
export function* sweepMarksWalk(entries: readonly { key: string; value: string }[], configured: ReadonlySet<string>, now: number, keepMs: number, due: Due): Generator<void, MarksSweep, void> {
  const orphans = new Map<string, { gone?: string; marks: { key: string; value: string }[] }>();
  const deletes: KvSwap[] = [];
  for (const e of entries) {
    if (due()) yield;
    const colon = e.key.indexOf(':');
    if (colon < 0) continue;
    const id = e.key.slice(colon + 1);
    const gone = e.key.slice(0, colon) === 'gone';
    if (configured.has(id)) {
      if (gone) deletes.push({ key: e.key, expected: e.value, next: undefined });
      continue;
    }
    const o = orphans.get(id) ?? { marks: [] };
    if (gone) o.gone = e.value;
    o.marks.push(e);
    orphans.set(id, o);
  }
  const noted: (readonly [string, string])[] = [];
  let droppedPairs = 0;
  let keptPairs = 0;
  for (const [id, o] of orphans) {
    if (due()) yield;
    const since = o.gone === undefined ? undefined : Number(o.gone);
    if (since === undefined) noted.push([`gone:${id}`, String(now)]);
    // An unreadable `gone:` counts as found now (kept its while from here).
    else if (!Number.isFinite(since)) noted.push([`gone:${id}`, String(now)]);
    if (since === undefined || !Number.isFinite(since) || now - since < keepMs) {
      keptPairs++;
      continue;
    }
    droppedPairs++;
    for (const m of o.marks) deletes.push({ key: m.key, expected: m.value, next: undefined });
  }
  return { noted, deletes, droppedPairs, keptPairs };
}

export interface MarksSwept {
  /** Pairs whose marks were deleted, and the marks deleted. */
  readonly droppedPairs: number;
  readonly deletedMarks: number;
  /** Pairs not configured, their marks kept until {@link ORPHAN_MARKS_KEEP_MS} after they were first found so. */
  readonly keptPairs: number;
  /** Of those, the pairs this sweep found not configured for the first time. */
  readonly newlyGone: number;
}

/**
 * Deletes the marks of (asset, rule) pairs the configuration no longer has (a rule removed or
 * renamed, an `appliesTo` that no longer selects the asset, an asset gone from the registry) once
 * they have been so for `keepMs` (see {@link sweepMarksWalk}); a few hundred per transaction, the
 * event loop taking turns between them and during the walk.
 */
export async function sweepCalendarMarks(
  store: Store,
  options: Pick<CalendarTaskOptions, 'rules'>,
  now: number,
  opts: { keepMs?: number; slicer?: Slicer; batch?: number; signal?: AbortSignal } = {},
): Promise<MarksSwept> {
  const slicer = opts.slicer ?? createSlicer();
  const batch = opts.batch ?? DELETE_BATCH;
  const assets = await store.listAssetRecords();
  const entries = await store.kvList(CALENDAR_NS);
  const sweep = await runSliced(function* (due) {
    const configured = new Set<string>();
    for (const a of assets) {
      if (due(options.rules.length)) yield;
      for (const r of options.rules) if (matchesFilter(a, r.appliesTo)) configured.add(pair(a.erpAssetId, r.name));
    }
    return yield* sweepMarksWalk(entries, configured, now, opts.keepMs ?? ORPHAN_MARKS_KEEP_MS, due);
  }, slicer);
  await store.kvSetMany(CALENDAR_NS, sweep.noted);
  let deletedMarks = 0;
  for (let i = 0; i < sweep.deletes.length; i += batch) {
    if (opts.signal?.aborted) break; // the next sweep deletes the rest
    if (i > 0) await slicer.pause();
    deletedMarks += (await store.kvCompareAndSetMany(CALENDAR_NS, sweep.deletes.slice(i, i + batch))).filter(Boolean).length;
  }
  return { droppedPairs: sweep.droppedPairs, deletedMarks, keptPairs: sweep.keptPairs, newlyGone: sweep.noted.length };
}

/** The first check after a start, at the latest. */
const FIRST_CHECK_AFTER_MS = 10 * 60_000;

export function createCalendarIntervalTask(options: CalendarTaskOptions): ScheduledTask {
  let sweptAt: number | undefined;
  return {
    name: CALENDAR_TASK,
    // Soon after the start too: a service restarted more often than `checkEveryMs` would never
    // check. Not at once: the first feedback poll (every 5 min by default) moves baselines first.
    schedule: { everyMs: options.checkEveryMs, firstAfterMs: Math.min(options.checkEveryMs, FIRST_CHECK_AFTER_MS) },
    async run(ctx) {
      await ctx.checkpoint(); // completions the ingestor still holds in memory move baselines too
      const now = ctx.clock.now();
      await checkCalendarIntervals(ctx.store, options, now, (d) => ctx.commit(d));
      if (sweptAt !== undefined && now - sweptAt < SWEEP_EVERY_MS) return;
      sweptAt = now;
      const r = await sweepCalendarMarks(ctx.store, options, now, { signal: ctx.signal });
      const days = ORPHAN_MARKS_KEEP_MS / DAY_MS;
      if (r.newlyGone > 0)
        options.logger?.info?.({ newlyGone: r.newlyGone, keptPairs: r.keptPairs }, `calendar intervals: ${r.newlyGone} (asset, rule) pair(s) with marks are no longer configured; their marks are deleted after ${days} days unless configured again`);
      if (r.droppedPairs > 0)
        options.logger?.info?.(
          { droppedPairs: r.droppedPairs, deletedMarks: r.deletedMarks, keptPairs: r.keptPairs },
          `calendar intervals: deleted ${r.deletedMarks} mark(s) of ${r.droppedPairs} (asset, rule) pair(s) no longer configured for ${days} days (a rule removed or renamed, an appliesTo that no longer selects the asset, an asset gone)`,
        );
    },
  };
}
