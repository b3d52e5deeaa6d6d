/**
 * One fleet pull: walk the provider's fleet snapshot page by page, match each machine to an ERP
 * asset, submit matched machines to the pipeline (one raw message per equipment element, batched
 * per page) and put unmatched or ambiguous ones on the review list. A page's cursor is recorded only
 * after its submit resolved (invariant 1), so an interrupted pull resumes at the first page not yet
 * stored; the request budget was recorded before each request, so resuming never over-spends it.
 * @module
 */
import { createHash } from 'node:crypto';
import { createRedactor } from '../../http/redact.js';
import { coerceError } from '../../../core/errors/errors.js';
import { formatDuration } from '../../../core/rules/maintenance/maintenance-rule.js';
import type { CanonicalEvent } from '../../../core/model/events.js';
import type { RawMessage } from '../../../core/model/messages.js';
import { DEFAULT_VALIDATION, mayBeSetAside, type ValidationPolicy } from '../../../core/normalize/validate.js';
import { EquipmentMatcher } from '../../../core/telematics/equipment-match.js';
import type { Clock } from '../../../ports/clock.js';
import { systemClock } from '../../../ports/clock.js';
import type { IngestSink } from '../../../ports/source.js';
import type { Store } from '../../../ports/store.js';
import { TelematicsAuthError } from '../auth/credentials.js';
import type { AempClient } from './aemp-client.js';
import { AempRequestError, ForeignLinkError, type UnreadablePage } from './aemp-client.js';
import { resolveHref } from './aemp-links.js';
import { unusableReason, warningsOfKind, type AempEquipment, type AempLink, type UnusableBlock } from './aemp-parser.js';
import { rewriteIdentity } from './identity-rewrite.js';
import { BudgetWaitTooLongError, type BudgetWait } from './request-budget.js';
import { dropPageRecordsBefore, loadConfirmed, loadPageRecords, openReviewMap, savePageRecord, type EquipmentIndexEntry, type ReviewEntry } from './review-list.js';

/** Store namespaces of the puller. */
export const CURSOR_NAMESPACE = 'telematics-cursor';
export const PULLS_NAMESPACE = 'telematics-pulls';

/** The logging the puller needs (pino's Logger fits). */
export interface TelematicsLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Progress callbacks (the CLI draws a bar from them; the service logs). */
export interface PullProgress {
  start?(info: { provider: string; startUrl: string; resumed: boolean }): void;
  /** After each stored page; `estimatedPages` comes from the `last` link when it can be read. */
  page?(info: { pages: number; equipment: number; estimatedPages?: number }): void;
  wait?(wait: BudgetWait): void;
}

/** Where an unfinished pull goes on. */
export interface PullCursor {
  readonly startedAt: number;
  /** The first page not yet stored; absent when the pull finished. */
  readonly nextUrl?: string;
  readonly pages: number;
  readonly equipment: number;
  readonly complete: boolean;
  readonly updatedAt: number;
}

export type PullStop = 'last-page' | 'no-next' | 'repeated-href' | 'hop-cap' | 'budget-wait' | 'error' | 'aborted';

export interface PullSummary {
  readonly provider: string;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly elapsedMs: number;
  /** The pull went on from an earlier, interrupted one at this URL. */
  readonly resumedFrom?: string;
  /** Pages stored in this run. */
  readonly pages: number;
  /** Equipment elements on those pages, duplicates across pages not counted. */
  readonly equipment: number;
  readonly duplicates: number;
  readonly matched: number;
  readonly unmatched: number;
  readonly ambiguous: number;
  /** Equipment that this pull found matching after it waited on the review list. */
  readonly resolvedFromReview: number;
  /** Raw messages the pipeline stored as accepted / set aside in quarantine. */
  readonly accepted: number;
  readonly quarantined: number;
  readonly requests: number;
  readonly http429: number;
  readonly reserveUsed: number;
  /** The snapshot was read to its end (not interrupted). */
  readonly complete: boolean;
  readonly stop: PullStop;
  /** Where a rerun continues, when incomplete. */
  readonly nextUrl?: string;
  readonly error?: string;
  /**
   * The page the pull stopped at because it could not be read, kept as received in the quarantine
   * (code `unreadable-page`): this entry's id, for `quarantine show ID --payload`.
   */
  readonly unreadablePage?: number;
  /**
   * When incomplete, for people: what of the snapshot is kept, where and until when a rerun
   * resumes, and what to fix first when the page itself failed or was refused.
   */
  readonly rerun?: readonly string[];
  readonly notes: readonly string[];
}

export interface FleetPullDeps {
  readonly client: AempClient;
  readonly store: Pick<Store, 'kvGet' | 'kvSet' | 'kvList' | 'kvDelete' | 'listAssets' | 'addQuarantine'>;
  readonly sink: IngestSink;
  readonly clock?: Clock;
  readonly logger?: TelematicsLogger;
  readonly progress?: PullProgress;
  /** The engine's ingest validation (`validationPolicyOf(config)`), to keep a bad block from taking its machine's good ones into quarantine. @default DEFAULT_VALIDATION */
  readonly validation?: ValidationPolicy;
}

export interface FleetPullOptions {
  /** Spend per-URL reserve requests when a page's ordinary slot is taken. @default false */
  readonly useReserve?: boolean;
  /** Longest wait for one page's budget before stopping with a resumable cursor. @default the config's maxBudgetWait */
  readonly maxWaitMs?: number;
  /** Start at the first page even when an interrupted pull could be resumed. @default false */
  readonly restart?: boolean;
  readonly signal?: AbortSignal;
}

/** Read the saved cursor of a provider. */
export async function loadCursor(store: Pick<Store, 'kvGet'>, provider: string): Promise<PullCursor | undefined> {
  const text = await store.kvGet(CURSOR_NAMESPACE, provider);
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text) as PullCursor;
  } catch {
    return undefined;
  }
}

/** The last pull's summary of a provider. */
export async function loadLastPull(store: Pick<Store, 'kvGet'>, provider: string): Promise<PullSummary | undefined> {
  const text = await store.kvGet(PULLS_NAMESPACE, provider);
  return text ? (JSON.parse(text) as PullSummary) : undefined;
}

/** Page number in a fleet URL: its last all-digit path segment. */
function pageNumberOf(url: string | undefined): number | undefined {
  if (url === undefined) return undefined;
  try {
    const segments = new URL(url).pathname.split('/').filter((s) => /^\d+$/.test(s));
    const last = segments.at(-1);
    return last === undefined ? undefined : Number(last);
  } catch {
    return undefined;
  }
}

/**
 * The page before `pageUrl` its links point to (`first` when it is another page, else `prev`), or
 * undefined when they point to none: the snapshot starts at this page.
 */
export function earlierPage(links: readonly AempLink[], pageUrl: string): { rel: string; url: string } | undefined {
  const resolved = (rel: string): string | undefined => {
    const href = links.find((l) => l.rel === rel)?.href;
    return href === undefined ? undefined : resolveHref(href, pageUrl);
  };
  // Pages differ in their path (the page number); a link may leave out the query we sent (addMetadata).
  const place = (url: string): string => {
    const u = new URL(url);
    return u.origin + u.pathname;
  };
  const here = new Set([pageUrl, resolved('self')].filter((u): u is string => u !== undefined).map(place));
  for (const rel of ['first', 'prev', 'previous']) {
    const url = resolved(rel);
    if (url !== undefined && !here.has(place(url))) return { rel, url };
  }
  return undefined;
}

/** Links as logged and shown: a provider's signed next link may carry a key in its query. */
const redactor = createRedactor();
const shown = (url: string): string => redactor.url(url);

/**
 * The engine quarantines a message as a whole when one of its events fails validation. A snapshot
 * element holds readings of different times (a parked machine's hours from weeks ago, a DEF level
 * from last winter, one block with a device clock in the future), so one stale or bad block would
 * keep the machine's fresh location and hours out for every pull. When some events would fail and
 * some pass, the element goes as two messages: the element without the failing blocks, and the
 * header with only those (quarantined with their reason, replayable). `now` only groups; the
 * engine still decides.
 */
export function splitByValidity(message: RawMessage, raw: unknown, events: readonly CanonicalEvent[], policy: ValidationPolicy, now = message.receivedAt, drop: ReadonlySet<unknown> = new Set()): RawMessage[] {
  const bad = new Set<unknown>();
  const good = new Set<unknown>();
  for (const event of events) {
    const into = mayBeSetAside(event, now, policy) ? bad : good;
    if (event.raw !== null && typeof event.raw === 'object') for (const block of Object.values(event.raw as Record<string, unknown>)) into.add(block);
  }
  if (bad.size === 0 || good.size === 0) return [drop.size === 0 ? message : { ...message, payload: JSON.stringify(withoutBlocks(raw, drop)) }];
  return [
    { ...message, payload: JSON.stringify(withoutBlocks(raw, new Set([...bad, ...drop]))) },
    { ...message, payload: JSON.stringify(withoutBlocks(raw, new Set([...good, ...drop]))) },
  ];
}

/**
 * The channel of a fleet pull's (and `aemp equipment --submit`'s) message of a machine: the provider
 * and the machine's key, the same on whichever page of the snapshot the machine is, so the copies of
 * a block set aside from it are counted on one quarantine entry.
 */
export function fleetChannel(provider: string, key: string): string {
  return `${provider} fleet ${key}`;
}

/**
 * An element as the pull (or `aemp equipment --submit`) submits it: {@link splitByValidity}, and
 * each block nothing could be taken from (no datetime, a latitude "abc", a unit not known) set
 * aside on its own: the element's header with that one block, quarantined (code `undecodable`)
 * with a reason naming the block, the field and value, and what to do. The other messages leave
 * those blocks out, so `quarantine replay` after a parser or configuration fix takes each once and
 * nothing already taken again; one still not usable is refused by the decoder and set aside anew.
 * `who` names the machine in the reason.
 */
export function splitElement(
  message: RawMessage,
  equipment: Pick<AempEquipment, 'raw' | 'events' | 'unusable' | 'blocks'>,
  policy: ValidationPolicy,
  who: string,
  now = message.receivedAt,
): RawMessage[] {
  const unusable = new Set(equipment.unusable.map((u) => u.block));
  const out = splitByValidity(message, equipment.raw, equipment.events, policy, now, unusable);
  for (const u of equipment.unusable) {
    const others = new Set([...equipment.blocks].filter((b) => b !== u.block));
    out.push({
      ...message,
      payload: JSON.stringify(withoutBlocks(equipment.raw, others)),
      setAside: { code: 'undecodable', reason: unusableBlockReason(who, u, "the machine's other readings were taken") },
    });
  }
  return out;
}

/** Why a block nothing could be taken from was set aside (`taken` says what of the rest was), and what to do. */
export function unusableBlockReason(who: string, block: UnusableBlock, taken: string): string {
  return `${who}: ${unusableReason([block])}; the block was set aside, ${taken}. If the feed sent it wrong, have the provider fix it and discard this entry; if assetbridge should read it (a unit or spelling it does not know), fix that and run 'assetbridge quarantine replay ID', which takes it once`;
}

/** A copy of an element without the given block objects (also inside lists and wrappers, which go when emptied). */
function withoutBlocks(node: unknown, drop: ReadonlySet<unknown>): unknown {
  if (Array.isArray(node)) return node.filter((e) => !drop.has(e)).map((e) => withoutBlocks(e, drop));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (drop.has(v)) continue;
    const kept = withoutBlocks(v, drop);
    if (Array.isArray(v) && v.length > 0 && (kept as unknown[]).length === 0) continue;
    // A wrapper (`Locations: { Location: [...] }`) left empty would read as a block without a datetime.
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0 && Object.keys(kept as object).length === 0) continue;
    out[k] = kept;
  }
  return out;
}

/** Examples of left-out readings a pull's note and log carry. */
const LEFT_OUT_EXAMPLES = { note: 3, log: 20 } as const;

/** Pulls running in this process, per store and provider. */
const pullsInProgress = new WeakMap<object, Map<string, Promise<PullSummary>>>();

/**
 * Run one fleet pull; never throws for provider trouble (the summary says what stopped it). One
 * pull of a provider runs at a time on a store: one asked for while another runs (`aemp pull`
 * handed to the service during its scheduled pull) waits for it and returns its summary, rather
 * than read the same cursor and spend the provider's budget on the same pages twice.
 */
export async function runFleetPull(deps: FleetPullDeps, opts: FleetPullOptions = {}): Promise<PullSummary> {
  const name = deps.client.provider.name;
  const running = pullsInProgress.get(deps.store) ?? new Map<string, Promise<PullSummary>>();
  pullsInProgress.set(deps.store, running);
  const prior = running.get(name);
  if (prior) {
    const s = await prior;
    return { ...s, notes: [...s.notes, `a pull of ${name} was already running (the scheduled one, or another command's): this is its summary, made with its options`] };
  }
  const pull = pullOnce(deps, opts);
  running.set(name, pull);
  try {
    return await pull;
  } finally {
    running.delete(name);
  }
}

async function pullOnce(deps: FleetPullDeps, opts: FleetPullOptions): Promise<PullSummary> {
  const { client, store, sink } = deps;
  const clock = deps.clock ?? systemClock;
  const provider = client.provider;
  const name = provider.name;
  const startedAt = clock.now();
  const notes: string[] = [];
  const requestsBefore = { ...client.stats };

  const cursor = await loadCursor(store, name);
  const resumable =
    !opts.restart && cursor !== undefined && !cursor.complete && cursor.nextUrl !== undefined && startedAt - cursor.startedAt <= provider.config.resumeWithin;
  const startUrl = resumable ? cursor.nextUrl : client.fleetPageUrl();
  const pullStartedAt = resumable ? cursor.startedAt : startedAt;
  const pagesBefore = resumable ? cursor.pages : 0;
  const equipmentBefore = resumable ? cursor.equipment : 0;
  deps.progress?.start?.({ provider: name, startUrl: shown(startUrl), resumed: resumable });
  deps.logger?.info({ provider: name, startUrl: shown(startUrl), resumed: resumable }, resumable ? 'resuming an interrupted fleet pull' : 'fleet pull started');

  const matcher = new EquipmentMatcher(await store.listAssets(), await loadConfirmed(store, name));
  const pageRecords = await loadPageRecords(store, name);
  const underReview = openReviewMap(pageRecords);

  // A resumed pull's walk starts with no equipment seen: a machine its earlier runs stored that moved
  // to a later page meanwhile comes again. Counted as a duplicate, not as more equipment (the rules
  // drop the repeated reading). The page it resumes at is not among them: a run stopped after
  // storing it but before moving the cursor on reads it again.
  const earlierRuns = new Set<string>();
  /** The page resumed at was stored by the run before (it stopped before moving the cursor on): its machines were submitted then. */
  let resumedPageStored = false;
  if (resumable)
    for (const { key, record } of pageRecords) {
      if (record.pullStartedAt !== pullStartedAt) continue;
      if (key !== `${name}|${startUrl}`) for (const e of record.equipment) earlierRuns.add(e.key);
      else resumedPageStored = true;
    }

  const counts = { pages: 0, equipment: 0, duplicates: 0, matched: 0, unmatched: 0, ambiguous: 0, resolvedFromReview: 0, accepted: 0, quarantined: 0 };
  let stop: PullStop = 'error';
  let nextUrl: string | undefined = startUrl;
  let error: string | undefined;
  /** What to fix before a rerun, when the stop says: the page was refused, unreadable, or not stored. */
  let fixFirst: string | undefined;
  /** The quarantine entry holding the page the pull could not read. */
  let unreadablePage: number | undefined;
  let estimatedPages: number | undefined;
  /** The pages this run stored: the records the end of a complete pull keeps without reading. */
  const storedNow = new Set<string>();
  /** Machines with readings the parser left out, and the first few of those readings. */
  const leftOut = { machines: 0, examples: [] as string[] };
  /** A resumed pull found the page it was to resume at gone (404). */
  let resumeGone = false;
  /** The page a fresh pull starts at links to pages before it, which the walk (following `next`) never reads. */
  let startsLate = false;

  try {
    const pages = client.walkFleet(startUrl, {
      ...(opts.useReserve ? { useReserve: true } : {}),
      maxWaitMs: opts.maxWaitMs ?? provider.config.maxBudgetWait,
      lookahead: provider.config.pageLookahead,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onWait: (wait) => {
        deps.progress?.wait?.(wait);
        deps.logger?.info({ provider: name, url: shown(wait.key), until: new Date(wait.until).toISOString(), reason: wait.reason }, 'waiting for request budget');
      },
    });
    for await (const page of pages) {
      const messages: RawMessage[] = [];
      const review: ReviewEntry[] = [];
      const index: EquipmentIndexEntry[] = [];
      let seenBefore = 0;
      for (const { key: rawKey, equipment } of page.fresh) {
        const payload = JSON.stringify(equipment.raw);
        const key = rawKey === '' ? `anonymous:${createHash('sha256').update(payload).digest('hex').slice(0, 16)}` : rawKey;
        if (earlierRuns.has(key)) seenBefore++;
        // The channel names the provider and the machine, not the page: a block set aside from a
        // retained element is matched to its entry by source, channel and payload, and a machine moves
        // to another page when the fleet grows or shrinks between pulls. (Nor can it carry a signed
        // link's key: it is kept with quarantined input.)
        const message = { source: provider.source, channel: fleetChannel(name, key), payload, receivedAt: page.receivedAt };
        const who = equipment.header.pin ?? equipment.header.vin ?? equipment.header.serialNumber ?? key;
        // Readings the parser left out (not values it only noted as absent, such as an empty Model or a
        // tank capacity of 0): the pull says how many machines had any. A matched machine's blocks
        // that gave nothing go to quarantine (see splitElement); a reading lost from a block that gave
        // another (an unusable altitude of a fix) is only noted.
        const lost = warningsOfKind(equipment, 'reading-left-out');
        if (lost.length > 0) {
          leftOut.machines++;
          for (const w of lost) if (leftOut.examples.length < LEFT_OUT_EXAMPLES.log) leftOut.examples.push(`${who}: ${w}`);
        }
        const match = matcher.match(key, equipment.ids);
        if (match.status === 'matched') {
          counts.matched++;
          const ids = match.conflicting.length ? equipment.ids.filter((i) => !match.conflicting.includes(i)) : undefined;
          // Sent again as a redelivery when the run before stored this page: the rules take a reading
          // older than what they hold as most likely taken then (not flagged, not counted as late).
          const again = resumedPageStored && page.hop === 0 ? { redelivered: true as const } : {};
          // Retained: a snapshot element is the feed's stored latest report, sent again at every pull
          // (a parked machine's for weeks), as a retained MQTT message is at every subscription; a
          // block set aside from it (stale, future) is kept once in quarantine, its copies counted there.
          // A block set aside as unusable is kept once as well: a feed repeats it until the machine reports again.
          for (const m of splitElement(message, equipment, deps.validation ?? DEFAULT_VALIDATION, `${name}: machine ${who}`))
            messages.push({ ...m, ...(ids ? { payload: rewriteIdentity(m.payload as string, ids) } : {}), retained: true, ...again });
          index.push({ key, ids: ids ?? equipment.ids, erpAssetId: match.erpAssetId });
          if (underReview.has(key)) counts.resolvedFromReview++;
          continue;
        }
        index.push({ key, ids: equipment.ids });
        if (match.status === 'ambiguous') counts.ambiguous++;
        else counts.unmatched++;
        const before = underReview.get(key);
        review.push({
          provider: name,
          key,
          status: match.status,
          header: equipment.header,
          ids: equipment.ids,
          candidates: match.status === 'ambiguous' ? match.candidates : [],
          firstSeenAt: before?.firstSeenAt ?? page.receivedAt,
          lastSeenAt: page.receivedAt,
          seenCount: (before?.seenCount ?? 0) + 1,
          message,
        });
      }
      if (messages.length) {
        const result = await sink.submit(messages);
        counts.accepted += result.accepted;
        counts.quarantined += result.quarantined.length;
      }
      await savePageRecord(store, name, page.url, { pullStartedAt, storedAt: clock.now(), equipment: index, review });
      storedNow.add(page.url);
      counts.pages++;
      counts.equipment += page.fresh.length - seenBefore;
      counts.duplicates += page.duplicates + seenBefore;
      if (page.note) notes.push(`${shown(page.url)}: ${page.note}`);
      // Page numbering is the profile's guess (Trackunit 1, some feeds 0): a first page asked for
      // that links back means the pages before it (a hundred machines each) are missed every pull.
      const earlier = !resumable && page.hop === 0 ? earlierPage(page.document.links, page.url) : undefined;
      if (earlier !== undefined) {
        startsLate = true;
        const n = pageNumberOf(earlier.url);
        const note = `${shown(page.url)} links to an earlier page (${earlier.rel}: ${shown(earlier.url)}): the feed's snapshot starts before the page this pull starts at, and the pages before it were not read; set ${client.keyOf('profile.firstPage')} to ${n === undefined ? "the feed's first page number" : earlier.rel === 'first' || n === 0 ? n : `${n} (or lower, if that page links back too)`}`;
        notes.push(note);
        deps.logger?.warn({ provider: name, url: shown(page.url), [earlier.rel]: shown(earlier.url) }, note);
      }
      if (page.stop === 'hop-cap') notes.push(`stopped at the hop cap of ${provider.profile.maxPages} pages; raise ${client.keyOf('profile.maxPages')} if the fleet is really this large`);
      // The hop cap ends this run, not the snapshot: the cursor keeps the page after it, unread.
      nextUrl = page.stop === undefined || page.stop === 'hop-cap' ? page.nextUrl : undefined;
      const complete = nextUrl === undefined;
      await store.kvSet(
        CURSOR_NAMESPACE,
        name,
        JSON.stringify({ startedAt: pullStartedAt, ...(nextUrl ? { nextUrl } : {}), pages: pagesBefore + counts.pages, equipment: equipmentBefore + counts.equipment, complete, updatedAt: clock.now() } satisfies PullCursor),
      );
      const current = pageNumberOf(page.url);
      const last = pageNumberOf(page.document.links.find((l) => l.rel === 'last')?.href);
      if (current !== undefined && last !== undefined && last >= current) estimatedPages = pagesBefore + counts.pages + (last - current);
      deps.progress?.page?.({ pages: pagesBefore + counts.pages, equipment: equipmentBefore + counts.equipment, ...(estimatedPages !== undefined ? { estimatedPages } : {}) });
      if (page.stop !== undefined) stop = page.stop;
    }
  } catch (err) {
    const e = coerceError(err);
    if (opts.signal?.aborted) {
      stop = 'aborted';
      error = 'the pull was stopped; it resumes where it left off';
    } else if (e instanceof BudgetWaitTooLongError) {
      stop = 'budget-wait';
      error = e.message;
    } else if (resumable && counts.pages === 0 && e instanceof AempRequestError && e.status === 404 && e.url === startUrl) {
      // The pages its earlier runs read were there: a page that is gone now means the fleet shrank
      // since (a snapshot is not atomic). Resuming there would fail the same way until resumeWithin
      // ran out (12 h of scheduled retries), so the cursor is cleared and the next pull starts over.
      stop = 'error';
      const said = /\(HTTP 404[^)]*\)/.exec(e.message)?.[0] ?? '(HTTP 404)';
      error = `${name}: ${shown(startUrl)}, where the interrupted pull was to resume, no longer exists ${said}: the fleet has fewer pages than when it stopped`;
      resumeGone = true;
      try {
        await store.kvSet(CURSOR_NAMESPACE, name, JSON.stringify({ startedAt: pullStartedAt, pages: pagesBefore, equipment: equipmentBefore, complete: false, updatedAt: clock.now() } satisfies PullCursor));
      } catch (err) {
        deps.logger?.warn({ err: coerceError(err), provider: name }, 'could not clear the cursor of a gone page; the next pull tries to resume there again');
      }
    } else {
      stop = 'error';
      error = e.message;
      if (e instanceof AempRequestError && e.page) unreadablePage = await keepUnreadablePage(deps, e.page);
      fixFirst = fixBeforeRerun(e, unreadablePage);
      if (!(e instanceof AempRequestError) && !(e instanceof TelematicsAuthError)) deps.logger?.error({ err: e, provider: name }, 'fleet pull failed unexpectedly');
    }
  }
  if (leftOut.machines > 0) {
    notes.push(
      `${leftOut.machines} machine(s) came with readings that could not be used and were left out (${leftOut.examples.slice(0, LEFT_OUT_EXAMPLES.note).join('; ')}${leftOut.examples.length > LEFT_OUT_EXAMPLES.note ? '; …' : ''}); a matched machine's blocks that gave nothing are in quarantine (code undecodable: 'assetbridge quarantine list --code undecodable'), to replay after a fix; 'assetbridge aemp parse' on a saved page shows every one`,
    );
    deps.logger?.warn({ provider: name, machines: leftOut.machines, examples: leftOut.examples }, 'fleet pull: readings left out that the feed sent in a form the parser cannot use');
  }
  const complete = nextUrl === undefined && error === undefined;
  if (stop === 'hop-cap' && !complete)
    fixFirst = `raise ${client.keyOf('profile.maxPages')} (${provider.profile.maxPages}) above the fleet's number of pages, if the fleet is really this large: each run stops after that many pages (a rerun reads on from there, but a pull that starts over at the first page never reaches the pages after them)`;
  // Read to its end: pages this pull did not store are no longer in the snapshot (hop cap, or pages before its start: unknown).
  if (complete && stop !== 'hop-cap' && !startsLate) {
    try {
      const dropped = await dropPageRecordsBefore(store, name, pullStartedAt, storedNow);
      if (dropped > 0) notes.push(`forgot ${dropped} page record(s) from earlier pulls that this snapshot no longer has`);
    } catch (err) {
      deps.logger?.warn({ err: coerceError(err), provider: name }, 'could not forget page records of earlier pulls; the review list may show machines that left the snapshot');
    }
  }
  const finishedAt = clock.now();
  const rerun = complete
    ? undefined
    : rerunAdvice({
        name,
        // The cursor the store now holds: this run's once it stored a page, else the one it found (a --restart leaves an unfinished one in place).
        saved: counts.pages > 0 ? { startedAt: pullStartedAt, ...(nextUrl !== undefined ? { nextUrl } : {}), pages: pagesBefore + counts.pages, complete: false } : resumeGone ? undefined : cursor,
        keptNow: counts.pages,
        ...(resumeGone ? { keptBefore: pagesBefore } : {}),
        resumeWithin: provider.config.resumeWithin,
        now: finishedAt,
        ...(fixFirst !== undefined ? { fixFirst } : {}),
      });
  const summary: PullSummary = {
    provider: name,
    startedAt,
    finishedAt,
    elapsedMs: finishedAt - startedAt,
    ...(resumable ? { resumedFrom: shown(startUrl) } : {}),
    ...counts,
    requests: client.stats.requests - requestsBefore.requests,
    http429: client.stats.http429 - requestsBefore.http429,
    reserveUsed: client.stats.reserveUsed - requestsBefore.reserveUsed,
    complete,
    stop,
    ...(nextUrl !== undefined && !complete ? { nextUrl: shown(nextUrl) } : {}),
    ...(error !== undefined ? { error } : {}),
    ...(unreadablePage !== undefined ? { unreadablePage } : {}),
    ...(rerun ? { rerun } : {}),
    notes,
  };
  await store.kvSet(PULLS_NAMESPACE, name, JSON.stringify(summary));
  const level = complete ? 'info' : 'warn';
  deps.logger?.[level](
    { provider: name, pages: summary.pages, equipment: summary.equipment, matched: summary.matched, unmatched: summary.unmatched, ambiguous: summary.ambiguous, requests: summary.requests, http429: summary.http429, stop, ...(error ? { error } : {}), ...(rerun ? { rerun: rerun.join('; ') } : {}) },
    complete ? 'fleet pull finished' : 'fleet pull stopped before the end; the next run resumes',
  );
  return summary;
}


/** What {@link keepUnreadablePage} needs: the client (provider, source), a store to keep the page in, a log for when it cannot. */
export interface UnreadablePageDeps {
  readonly client: AempClient;
  readonly store: Pick<Store, 'addQuarantine'>;
  readonly logger?: TelematicsLogger;
}

/**
 * Keep a page a pull, backfill or single-machine fetch could not read in the quarantine (code
 * `unreadable-page`), as received, with its URL (a signed link's key redacted), status, content
 * type and why; `what` names the page in the reason (`fleet page`, `time-series page`, ...). Its
 * id, or undefined when it could not be stored (logged: the advice then says to fetch it again).
 */
export async function keepUnreadablePage(deps: UnreadablePageDeps, page: UnreadablePage, what = 'fleet page'): Promise<number | undefined> {
  const name = deps.client.provider.name;
  const about = [`HTTP ${page.status}`, page.contentType ?? 'no content type', `${page.body.byteLength} bytes`].join(', ');
  const replaced = page.secretsReplaced > 0 ? `; ${page.secretsReplaced} secret value(s) of the feed's credentials it echoed replaced by [REDACTED]` : '';
  try {
    return await deps.store.addQuarantine({
      source: deps.client.provider.source,
      channel: shown(page.url),
      payload: page.body,
      receivedAt: page.receivedAt,
      code: 'unreadable-page',
      reason: `${name}: ${what} ${shown(page.url)} (${about}) cannot be read: ${page.reason}${replaced}`,
    });
  } catch (err) {
    deps.logger?.warn({ err: coerceError(err), provider: name, url: shown(page.url) }, 'could not keep the unreadable page in the quarantine');
    return undefined;
  }
}

/** How to get at kept unreadable pages (quarantine entries) without a request, and see why they cannot be read. */
export function keptPageHelp(ids: number | readonly number[]): string {
  const all = typeof ids === 'number' ? [ids] : ids;
  const [only] = all;
  if (all.length === 1 && only !== undefined)
    return `kept as received as quarantine entry ${only} ('assetbridge quarantine show ${only} --payload > page' writes it out without a request; 'assetbridge aemp parse page' says why)`;
  return `kept as received as quarantine entries ${all.join(', ')} ('assetbridge quarantine show ID --payload > page' writes one out without a request; 'assetbridge aemp parse page' says why)`;
}

/**
 * What to fix before a rerun, by why the pull stopped at a page; undefined when there is nothing
 * to fix (a server error, no answer, 429s, a token endpoint that failed: the page is asked for again as it is).
 */
function fixBeforeRerun(e: Error, kept?: number): string | undefined {
  // A token endpoint that failed or could not be reached (5xx, 429, network) refused nothing: the rerun mints again.
  if (e instanceof TelematicsAuthError) return e.retryable ? undefined : "the feed's credentials (the error says what was refused; 'assetbridge config check --connect' tries them): every rerun stops here until then";
  if (e instanceof ForeignLinkError)
    return `${e.configKey}, if the feed really serves its pages at the address the link leads to (else have the provider fix its links): every rerun stops at this link until then`;
  if (e instanceof AempRequestError) {
    if (e.retryable) return undefined;
    if (kept !== undefined)
      return `the page itself, at the provider: it answered with a document that cannot be read, ${keptPageHelp(kept)}; have the provider fix it: every rerun asks for this page again and stops here until then`;
    if (e.status === 200 || e.status === undefined)
      return "the page itself, at the provider: it answered with a document that cannot be read; save it (the same URL, with the feed's credentials), see why with 'assetbridge aemp parse <file>' and have the provider fix it: every rerun asks for this page again and stops here until then";
    return 'what the error names (the page was refused): every rerun stops at this page until then';
  }
  return 'what the error names: the page was fetched but not stored (its machines not submitted), and a rerun fetches it again';
}

/** The lines a stopped pull's summary tells an operator: what is kept, when and where a rerun resumes, what to fix first. */
function rerunAdvice(a: {
  name: string;
  saved: Pick<PullCursor, 'startedAt' | 'nextUrl' | 'pages' | 'complete'> | undefined;
  keptNow: number;
  /** Pages earlier runs of this snapshot stored, when no rerun resumes after them (the page to resume at is gone). */
  keptBefore?: number;
  resumeWithin: number;
  now: number;
  fixFirst?: string;
}): string[] {
  const how = `run 'assetbridge aemp pull --provider ${a.name}' again, or leave it to the service's next scheduled pull (or its retry)`;
  const lines: string[] = [];
  const { saved } = a;
  const resumeBy = saved ? saved.startedAt + a.resumeWithin : 0;
  if (saved !== undefined && !saved.complete && saved.nextUrl !== undefined && a.now <= resumeBy) {
    const earlier = saved.pages - a.keptNow;
    lines.push(
      `kept: ${saved.pages} page(s) of this snapshot, stored with their machines submitted${earlier > 0 ? ` (${a.keptNow} by this run, ${earlier} by the run(s) before it)` : ''}, and the cursor at the first page not stored`,
      `the next pull resumes at ${shown(saved.nextUrl)} if it starts before ${new Date(resumeBy).toISOString()} (resumeWithin: ${formatDuration(a.resumeWithin)} from this snapshot's first page; later it starts over at the first page): ${how}`,
    );
  } else {
    lines.push(
      a.keptBefore !== undefined && a.keptNow === 0
        ? `kept: ${a.keptBefore} page(s) of this snapshot, stored with their machines submitted by the run(s) before`
        : a.keptNow === 0
        ? 'kept: no page of this snapshot yet'
        : `kept: ${a.keptNow} page(s) stored with their machines submitted, but this snapshot's first page is more than resumeWithin (${formatDuration(a.resumeWithin)}) ago, so no rerun resumes after them`,
      `the next pull starts at the first page: ${how}`,
    );
  }
  if (a.fixFirst !== undefined) lines.push(`fix first: ${a.fixFirst}`);
  return lines;
}
