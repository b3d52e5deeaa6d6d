/**
 * History from the time-series endpoints (`Locations`, `CumulativeOperatingHours`,
 * `CumulativeIdleHours`, `Distance`, …) for a date range, and the single-element snapshot of one
 * machine. Backfill asks for each matched machine and data element in windows no longer than the
 * vendor allows (Trackunit documents no cap, so one window spends the least per-URL budget) and
 * follows each window's pages. A machine's elements are merged into one stream in event-time order
 * (the rules hold a machine's readings in one reorder buffer: hours first and km after would drop
 * the km as late) and submitted in chunks, each as one equipment element naming the machine, so the
 * engine decodes it with the same equipment decoder as fleet pages. Finished series are remembered
 * in the store, so a rerun of the same range skips them.
 * @module
 */
import { coerceError } from '../../../core/errors/errors.js';
import type { CanonicalEvent, SourceIdentifier } from '../../../core/model/events.js';
import { DEFAULT_VALIDATION, mayBeSetAside, type ValidationPolicy } from '../../../core/normalize/validate.js';
import { EquipmentMatcher, equipmentKey, type EquipmentMatch } from '../../../core/telematics/equipment-match.js';
import type { Clock } from '../../../ports/clock.js';
import { systemClock } from '../../../ports/clock.js';
import type { IngestSink } from '../../../ports/source.js';
import type { Store } from '../../../ports/store.js';
import { TelematicsAuthError } from '../auth/credentials.js';
import { AempRequestError, type AempClient, type WalkedPage } from './aemp-client.js';
import { oldestFirst, type AempEquipment, type UnusableBlock } from './aemp-parser.js';
import { fleetChannel, keepUnreadablePage, splitElement, unusableBlockReason, type TelematicsLogger } from './fleet-pull.js';
import { rewriteIdentity } from './identity-rewrite.js';
import { BudgetWaitTooLongError, type BudgetWait } from './request-budget.js';
import { loadConfirmed, loadEquipmentIndex } from './review-list.js';

export const backfillNamespace = (provider: string): string => `telematics-backfill:${provider}`;

/** Readings per submitted message: a machine's merged series go to the engine in chunks this size. */
const SUBMIT_READINGS = 500;

export interface BackfillOptions {
  readonly from: number;
  readonly to: number;
  /** Data elements (URL segments); default the config's `timeSeries.elements`. */
  readonly elements?: readonly string[];
  /** Only these machines (PIN/VIN); default every matched machine seen by earlier fleet pulls. */
  readonly identifiers?: readonly string[];
  /** Machines fetched at once (each one's series one request at a time); default the config's `timeSeries.concurrency`. */
  readonly concurrency?: number;
  readonly useReserve?: boolean;
  readonly maxWaitMs?: number;
  /** Fetch series again even when an earlier run of the same range finished them. @default false */
  readonly restart?: boolean;
  readonly signal?: AbortSignal;
}

export interface BackfillProgress {
  /** `skipped`: machines left out (unmatched, or nothing to ask the time-series API by). */
  start?(info: { series: number; equipment: number; skipped: number }): void;
  /** After each page fetched and each machine finished. */
  series?(info: { done: number; total: number; pages: number }): void;
  wait?(wait: BudgetWait): void;
}

export interface BackfillSummary {
  readonly provider: string;
  readonly from: number;
  readonly to: number;
  readonly elements: readonly string[];
  readonly equipment: number;
  /** Machines left out: no PIN/VIN to ask by, or not matched to an ERP asset. */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
  readonly series: number;
  readonly seriesDone: number;
  /** Series an earlier run of the same range already finished. */
  readonly seriesSkipped: number;
  readonly pages: number;
  /** Readings fetched (with the blocks a page sent that gave none: see `quarantined`). */
  readonly readings: number;
  /**
   * Readings the pipeline stored as accepted / set aside in quarantine (not messages: one carries
   * many). A block of a page nothing could be taken from (set aside on its own, code `undecodable`,
   * to replay after a fix) counts as one reading fetched and quarantined.
   */
  readonly accepted: number;
  readonly quarantined: number;
  /** Series the provider does not have (404): machine gone or element not offered. */
  readonly notFound: number;
  /**
   * Series left unfinished at a page the provider answered that cannot be read (a rerun asks for
   * them again); each such page is kept as received in the quarantine (code `unreadable-page`).
   */
  readonly unreadable: number;
  /** Those pages' quarantine entries, for `quarantine show ID --payload` (one that could not be stored is logged). */
  readonly unreadablePages: readonly number[];
  readonly requests: number;
  readonly http429: number;
  readonly elapsedMs: number;
  /** Every series of every machine asked for finished (false when there was no machine to ask for). */
  readonly complete: boolean;
  readonly error?: string;
}

export interface BackfillDeps {
  readonly client: AempClient;
  readonly store: Pick<Store, 'kvGet' | 'kvSet' | 'kvList' | 'listAssets' | 'addQuarantine'>;
  readonly sink: IngestSink;
  readonly clock?: Clock;
  readonly logger?: TelematicsLogger;
  readonly progress?: BackfillProgress;
  /** The engine's ingest validation, so one bad reading does not take its chunk into quarantine. @default DEFAULT_VALIDATION */
  readonly validation?: ValidationPolicy;
}

/** A reading taken from a series, with the element (URL segment) of that series. */
interface Taken {
  readonly element: string;
  readonly reading: CanonicalEvent;
}

interface Target {
  /** The PIN/VIN the time-series URLs ask by. */
  readonly id: string;
  /** Every identifier known for the machine, for the submitted payload. */
  readonly ids: readonly SourceIdentifier[];
}

/** Date windows covering [from, to], none longer than `maxMs` (0 = one window). */
export function dateWindows(from: number, to: number, maxMs: number): { from: number; to: number }[] {
  if (!(to > from)) return [];
  if (maxMs <= 0) return [{ from, to }];
  const windows: { from: number; to: number }[] = [];
  for (let start = from; start < to; start += maxMs) windows.push({ from: start, to: Math.min(to, start + maxMs) });
  return windows;
}

/**
 * One equipment element (JSON) holding a time-series page's entries, named by `ids`: the shape
 * the engine's AEMP equipment decoder reads. Entries come from the parsed events' raw blocks.
 */
export function seriesPayload(events: readonly CanonicalEvent[], ids: readonly SourceIdentifier[]): string {
  const blocks = new Map<string, unknown[]>();
  const seen = new Set<unknown>();
  for (const event of events) {
    const raw = event.raw;
    if (raw === null || typeof raw !== 'object') continue;
    for (const [key, block] of Object.entries(raw as Record<string, unknown>)) {
      if (seen.has(block)) continue;
      seen.add(block);
      const list = blocks.get(key) ?? [];
      list.push(block);
      blocks.set(key, list);
    }
  }
  return rewriteIdentity(JSON.stringify(Object.fromEntries(blocks)), ids);
}

/**
 * The identifier a machine's time series are asked by: its PIN or VIN, else the SerialNumber the
 * feed reports for it. Trackunit's "Serial Number (VIN)" is the ISO identifier, and when the machine
 * serial is unknown it reports the device serial there (the parser then keeps it as `device-serial`
 * only), which is what its time-series URLs take (telematics.md §1.3).
 */
function seriesIdentifier(ids: readonly SourceIdentifier[]): SourceIdentifier | undefined {
  for (const type of ['pin', 'vin', 'serial', 'device-serial'] as const) {
    const id = ids.find((i) => i.type === type && i.value.trim() !== '');
    if (id) return id;
  }
  return undefined;
}

async function targetsOf(deps: BackfillDeps, opts: BackfillOptions, skipped: { id: string; reason: string }[]): Promise<Target[]> {
  const name = deps.client.provider.name;
  if (opts.identifiers?.length) {
    const matcher = new EquipmentMatcher(await deps.store.listAssets(), await loadConfirmed(deps.store, name));
    const known = new Map((await loadEquipmentIndex(deps.store, name)).flatMap((e) => e.ids.map((i) => [i.value.trim().toUpperCase(), e] as const)));
    const targets: Target[] = [];
    for (const raw of opts.identifiers) {
      const id = raw.trim();
      const entry = known.get(id.toUpperCase());
      const ids = entry?.ids ?? [{ type: 'pin' as const, value: id }];
      const match: EquipmentMatch = matcher.match(entry?.key ?? equipmentKey(ids), ids);
      if (match.status !== 'matched') {
        skipped.push({ id, reason: match.status === 'ambiguous' ? 'its identifiers point at more than one ERP asset; confirm it first' : 'it matches no ERP asset; map it first' });
        continue;
      }
      targets.push({ id, ids: match.conflicting.length ? ids.filter((i) => !match.conflicting.includes(i)) : ids });
    }
    return targets;
  }
  const index = await loadEquipmentIndex(deps.store, name);
  if (index.length === 0) return [];
  const targets: Target[] = [];
  for (const entry of index) {
    const pin = seriesIdentifier(entry.ids);
    if (entry.erpAssetId === undefined) skipped.push({ id: pin?.value ?? entry.key, reason: 'not matched to an ERP asset' });
    else if (!pin) skipped.push({ id: entry.key, reason: 'no PIN, VIN or serial number to ask the time-series API by' });
    else targets.push({ id: pin.value, ids: entry.ids });
  }
  return targets;
}

/** Run a backfill; never throws for provider trouble (the summary says what stopped it). */
export async function runBackfill(deps: BackfillDeps, opts: BackfillOptions): Promise<BackfillSummary> {
  const { client, store, sink } = deps;
  const clock = deps.clock ?? systemClock;
  const provider = client.provider;
  const started = clock.now();
  const elements = opts.elements?.length ? [...opts.elements] : [...provider.config.timeSeries.elements];
  const skipped: { id: string; reason: string }[] = [];
  const targets = await targetsOf(deps, opts, skipped);
  const windows = dateWindows(opts.from, opts.to, provider.profile.timeSeriesWindowMs);
  const statsBefore = { ...client.stats };
  const counts = { seriesDone: 0, seriesSkipped: 0, pages: 0, readings: 0, accepted: 0, quarantined: 0, notFound: 0 };
  const total = targets.length * elements.length;
  deps.progress?.start?.({ series: total, equipment: targets.length, skipped: skipped.length });
  const rangeKey = `${new Date(opts.from).toISOString()}|${new Date(opts.to).toISOString()}`;
  let error: string | undefined;
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;

  /** One element's series in one window, a page at a time, each page's readings oldest first. */
  interface Stream {
    readonly element: string;
    readonly pages: AsyncIterator<WalkedPage>;
    readings: readonly CanonicalEvent[];
    at: number;
    done: boolean;
  }
  const notFound = new Set<string>();
  /** Series stopped at a page that cannot be read, and the quarantine entries keeping those pages. */
  const unreadable = new Set<string>();
  const unreadablePages: number[] = [];
  // After each page too, not only each machine: one machine's long range is most of some runs.
  const reportProgress = (): void => deps.progress?.series?.({ done: counts.seriesDone + counts.seriesSkipped + counts.notFound + unreadable.size, total, pages: counts.pages });
  const pull = async (target: Target, s: Stream): Promise<void> => {
    while (!s.done && s.at >= s.readings.length) {
      let next: IteratorResult<WalkedPage>;
      try {
        next = await s.pages.next();
      } catch (err) {
        if (err instanceof AempRequestError && err.page && !signal.aborted) {
          // As a fleet pull does: kept as received (no request to fetch it again), and the series
          // stops there (its next link is in that page); the other series and machines go on.
          const kept = await keepUnreadablePage(deps, err.page, 'time-series page');
          if (kept !== undefined) unreadablePages.push(kept);
          unreadable.add(`${target.id}|${s.element}`);
          s.done = true;
          return;
        }
        if (!(err instanceof AempRequestError && err.status === 404)) throw err;
        notFound.add(`${target.id}|${s.element}`);
        s.done = true;
        return;
      }
      if (next.done) {
        s.done = true;
        return;
      }
      counts.pages++;
      reportProgress();
      const page = next.value;
      const events = page.document.kind === 'timeseries' ? page.document.events : page.document.equipment.flatMap((e: AempEquipment) => e.events);
      const unusable = page.document.kind === 'timeseries' ? page.document.unusable : page.document.equipment.flatMap((e: AempEquipment) => e.unusable);
      if (unusable.length > 0) await setAside(target, s.element, unusable, page.receivedAt);
      counts.readings += events.length;
      s.readings = oldestFirst(events);
      s.at = 0;
    }
  };
  /**
   * A page's blocks nothing could be taken from (no datetime, a latitude "abc", a unit not known):
   * each set aside on its own (code `undecodable`), the machine's identifiers with that one block,
   * so `quarantine replay` after a fix takes it once. Retained, on a channel naming the machine and
   * element (not the window or range): a rerun that reads the page again counts its copy on the
   * same entry (`repeats`).
   */
  const setAside = async (target: Target, element: string, blocks: readonly UnusableBlock[], receivedAt: number): Promise<void> => {
    const who = `${provider.name}: machine ${target.id}, ${element} series`;
    const result = await sink.submit(
      blocks.map((u) => ({
        source: provider.source,
        channel: `${provider.name} backfill ${target.id.toUpperCase()} ${element}`,
        payload: rewriteIdentity(JSON.stringify({ [u.key]: u.block }), target.ids),
        receivedAt,
        retained: true as const,
        setAside: { code: 'undecodable' as const, reason: unusableBlockReason(who, u, "the series' other readings were taken") },
      })),
    );
    // Counted as readings fetched too, so readings = accepted + quarantined + not submitted holds.
    counts.readings += blocks.length;
    counts.quarantined += result.quarantined.length;
  };
  const submit = async (target: Target, chunk: readonly Taken[], channel: string, through: Map<string, number>): Promise<void> => {
    // The engine quarantines a message whole: readings it would refuse (future, stale) go apart.
    const receivedAt = clock.now();
    const policy = deps.validation ?? DEFAULT_VALIDATION;
    // A series an earlier run left unfinished is asked again from its first page: readings up to
    // the newest that run stored go as a redelivery, which the rules take as most likely taken
    // already (an older meter reading set aside without a flag, not counted as late).
    const again = chunk.filter((r) => r.reading.eventTime <= (through.get(r.element) ?? Number.NEGATIVE_INFINITY)).map((r) => r.reading);
    const fresh = again.length === 0 ? chunk.map((r) => r.reading) : chunk.filter((r) => r.reading.eventTime > (through.get(r.element) ?? Number.NEGATIVE_INFINITY)).map((r) => r.reading);
    const parts: { readings: CanonicalEvent[]; redelivered: boolean }[] = [];
    // The older ones first, keeping the event-time order the chunk has.
    for (const [readings, redelivered] of [
      [again, true],
      [fresh, false],
    ] as const) {
      const bad = readings.filter((e) => mayBeSetAside(e, receivedAt, policy));
      const good = bad.length === 0 ? readings : readings.filter((e) => !bad.includes(e));
      for (const part of [good, bad]) if (part.length > 0) parts.push({ readings: part, redelivered });
    }
    const result = await sink.submit(
      parts.map((part) => ({ source: provider.source, channel, payload: seriesPayload(part.readings, target.ids), receivedAt, ...(part.redelivered ? { redelivered: true as const } : {}) })),
    );
    // Counted in readings, as `readings` is: a message carries up to SUBMIT_READINGS of them.
    const refused = new Set(result.quarantined.map((q) => q.index));
    parts.forEach((part, i) => {
      if (refused.has(i)) counts.quarantined += part.readings.length;
      else counts.accepted += part.readings.length;
    });
    // Stored (accepted or quarantined): the newest reading of each series, for a rerun after an interruption.
    const newest = new Map<string, number>();
    for (const r of chunk) if (r.reading.eventTime > (newest.get(r.element) ?? Number.NEGATIVE_INFINITY)) newest.set(r.element, r.reading.eventTime);
    for (const [element, at] of newest)
      if (at > (through.get(element) ?? Number.NEGATIVE_INFINITY)) {
        through.set(element, at);
        await store.kvSet(backfillNamespace(provider.name), throughKey(target, element), String(at));
      }
  };
  const throughKey = (target: Target, element: string): string => `${rangeKey}|${target.id.toUpperCase()}|${element}|through`;

  /**
   * One machine: per window, its elements' series merged into one stream in event-time order and
   * submitted in chunks. Series submitted one after another would put all of one element's history
   * before the next element's, and a rule that reads both (hours and km for one service plan) would
   * drop the second as late.
   */
  const runMachine = async (target: Target): Promise<void> => {
    const wanted: string[] = [];
    for (const element of elements) {
      if (!opts.restart && (await store.kvGet(backfillNamespace(provider.name), `${rangeKey}|${target.id.toUpperCase()}|${element}`)) === 'done') counts.seriesSkipped++;
      else wanted.push(element);
    }
    /** Per element, the newest reading of this range an earlier run (or this one) stored. */
    const through = new Map<string, number>();
    for (const element of wanted) {
      const at = Number(await store.kvGet(backfillNamespace(provider.name), throughKey(target, element)));
      if (Number.isFinite(at)) through.set(element, at);
    }
    for (const window of windows) {
      const streams: Stream[] = wanted
        .filter((element) => !notFound.has(`${target.id}|${element}`) && !unreadable.has(`${target.id}|${element}`))
        .map((element) => ({
          element,
          pages: client.walk(client.timeSeriesUrl(target.id, element, window.from, window.to), 'timeSeries', {
            ...(opts.useReserve ? { useReserve: true } : {}),
            maxWaitMs: opts.maxWaitMs ?? provider.config.maxBudgetWait,
            signal,
            ids: target.ids,
            // Trackunit: keyed per equipment, element and page, so a later window shares the budget.
            budgetKeyFor: (url, hop) => client.timeSeriesBudgetKey(url, target.id, element, hop),
            onWait: (wait) => deps.progress?.wait?.(wait),
          }),
          readings: [],
          at: 0,
          done: false,
        }));
      // Where a quarantined chunk came from (`quarantine list` shows it).
      const channel = `backfill ${target.id} ${streams.map((x) => x.element).join('+')} ${new Date(window.from).toISOString()}/${new Date(window.to).toISOString()}`;
      for (const x of streams) await pull(target, x);
      let chunk: Taken[] = [];
      for (;;) {
        // The stream whose next reading is oldest (ties: in element order).
        let first: Stream | undefined;
        for (const x of streams) if (x.at < x.readings.length && (!first || (x.readings[x.at] as CanonicalEvent).eventTime < (first.readings[first.at] as CanonicalEvent).eventTime)) first = x;
        if (!first) break;
        chunk.push({ element: first.element, reading: first.readings[first.at++] as CanonicalEvent });
        if (chunk.length >= SUBMIT_READINGS) {
          await submit(target, chunk, channel, through);
          chunk = [];
        }
        if (first.at >= first.readings.length) await pull(target, first);
      }
      if (chunk.length) await submit(target, chunk, channel, through);
    }
    for (const element of wanted) {
      if (notFound.has(`${target.id}|${element}`)) {
        counts.notFound++;
        continue;
      }
      if (unreadable.has(`${target.id}|${element}`)) continue;
      await store.kvSet(backfillNamespace(provider.name), `${rangeKey}|${target.id.toUpperCase()}|${element}`, 'done');
      counts.seriesDone++;
    }
  };

  const concurrency = Math.max(1, opts.concurrency ?? provider.config.timeSeries.concurrency);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (error === undefined && next < targets.length && !signal.aborted) {
      const target = targets[next++];
      if (!target) break;
      try {
        await runMachine(target);
      } catch (err) {
        const e = coerceError(err);
        error ??= opts.signal?.aborted ? 'the backfill was stopped; run it again to continue (finished series are skipped)' : e.message;
        if (!(e instanceof AempRequestError || e instanceof TelematicsAuthError || e instanceof BudgetWaitTooLongError || opts.signal?.aborted)) {
          deps.logger?.error({ err: e, provider: provider.name }, 'backfill failed unexpectedly');
        }
        stop.abort(e);
        return;
      }
      reportProgress();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, targets.length)) }, worker));

  const summary: BackfillSummary = {
    provider: provider.name,
    from: opts.from,
    to: opts.to,
    elements,
    equipment: targets.length,
    skipped,
    series: total,
    ...counts,
    unreadable: unreadable.size,
    unreadablePages,
    requests: client.stats.requests - statsBefore.requests,
    http429: client.stats.http429 - statsBefore.http429,
    elapsedMs: clock.now() - started,
    // No machine to ask for (none pulled, or every one skipped): nothing was backfilled, which is no complete run.
    complete: error === undefined && unreadable.size === 0 && targets.length > 0,
    ...(error !== undefined ? { error } : {}),
  };
  deps.logger?.[summary.complete ? 'info' : 'warn']({ ...summary, skipped: skipped.length }, summary.complete ? 'backfill finished' : error !== undefined ? 'backfill stopped' : targets.length === 0 ? 'backfill found no machine to ask for: nothing backfilled' : 'backfill finished with series left unfinished');
  return summary;
}

export interface EquipmentSnapshot {
  readonly url: string;
  readonly equipment: AempEquipment | undefined;
  readonly match: EquipmentMatch | undefined;
  /** Set when the snapshot was submitted to the pipeline. */
  readonly accepted?: number;
  /**
   * The provider answered with a page that cannot be read: why, and the quarantine entry keeping
   * it as received (code `unreadable-page`; absent when it could not be stored, which is logged).
   */
  readonly unreadable?: { readonly error: string; readonly entry?: number };
}

/**
 * Fetch the single-element snapshot of one machine by PIN/VIN; submit it when it matches one ERP
 * asset and `submit` is set.
 */
export async function fetchEquipmentSnapshot(
  deps: Pick<BackfillDeps, 'client' | 'store' | 'sink' | 'validation' | 'logger'>,
  id: string,
  opts: { submit?: boolean; useReserve?: boolean; maxWaitMs?: number; signal?: AbortSignal } = {},
): Promise<EquipmentSnapshot> {
  const { client } = deps;
  const url = client.equipmentUrl(id);
  let fetched;
  try {
    fetched = await client.fetchDocument(url, 'equipment', {
      ...(opts.useReserve ? { useReserve: true } : {}),
      ...(opts.maxWaitMs !== undefined ? { maxWaitMs: opts.maxWaitMs } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    if (!(err instanceof AempRequestError && err.page)) throw err;
    // As a fleet pull does: kept as received, so seeing what the provider sent costs no request.
    const entry = await keepUnreadablePage(deps, err.page, 'single-machine page');
    return { url, equipment: undefined, match: undefined, unreadable: { error: err.message, ...(entry !== undefined ? { entry } : {}) } };
  }
  const equipment = fetched.document.kind === 'fleet' ? fetched.document.equipment[0] : undefined;
  if (!equipment) return { url, equipment: undefined, match: undefined };
  const key = equipmentKey(equipment.ids, equipment.header.equipmentId);
  const matcher = new EquipmentMatcher(await deps.store.listAssets(), await loadConfirmed(deps.store, client.provider.name));
  const match = matcher.match(key, equipment.ids);
  if (!opts.submit || match.status !== 'matched') return { url, equipment, match };
  const payload = JSON.stringify(equipment.raw);
  const ids = match.conflicting.length ? equipment.ids.filter((i) => !match.conflicting.includes(i)) : undefined;
  // As a fleet pull's: the machine's channel and retained (the feed's latest report of it, the same
  // until it reports again), so a block set aside from it is kept once however often it is submitted.
  const message = { source: client.provider.source, channel: fleetChannel(client.provider.name, key), payload, receivedAt: fetched.receivedAt };
  const who = equipment.header.pin ?? equipment.header.vin ?? equipment.header.serialNumber ?? key;
  const parts = splitElement(message, equipment, deps.validation ?? DEFAULT_VALIDATION, `${client.provider.name}: machine ${who}`);
  const result = await deps.sink.submit(parts.map((m) => ({ ...m, ...(ids ? { payload: rewriteIdentity(m.payload as string, ids) } : {}), retained: true as const })));
  return { url, equipment, match, accepted: result.accepted };
}
