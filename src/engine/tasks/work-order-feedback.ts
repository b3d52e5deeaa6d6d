/**
 * The maintenance closed loop, polled: asks each destination whose connector can list work orders
 * for those changed since the last poll, and feeds them into the normal durable pipeline as
 * canonical `workorder` events (source `erp-feedback:<destination>`, as a push to that destination's
 * webhook has), so the maintenance rule sees completions in
 * order with everything else. The poll cursor (the ERP's own change time) advances only after the
 * events are committed (invariant 1); re-fetching an update is harmless, the rule ignores feedback
 * it has already applied. A list longer than the connector reads in one poll (its page cap) moves
 * the cursor past no change left unread: see {@link pollOne}. ERPs that push webhooks post the same
 * events to the HTTP intake instead.
 * @module
 */
import { createHash } from 'node:crypto';
import { coerceError, PermanentError, RateLimitedError } from '../../core/errors/errors.js';
import type { WorkOrderPoll, WorkOrderUpdate } from '../../ports/connector.js';
import type { RawMessage } from '../../core/model/messages.js';
import { FEEDBACK_SOURCE, feedbackSource, foreignFeedbackReason, occurrenceProblem, parseWorkOrderKey, polledChannel, WORKORDER_CREATE } from '../../core/rules/maintenance/work-order.js';
import type { Store } from '../../ports/store.js';
import type { ScheduledTask, TaskContext, TaskReport } from '../../ports/task.js';

export const FEEDBACK_TASK = 'maintenance-feedback';
/** A change listed this far ahead of this host's clock is warned of (less is the clocks' usual skew, and only held back). */
const AHEAD_SAID_MS = 5 * 60_000;

/** kv namespace of the poll cursors, one per destination. */
export const FEEDBACK_NS = 'maintenance.feedback';
/** Source name of the submitted events (`erp-feedback:<destination>`); the canonical decoder is registered for it. */
export { FEEDBACK_SOURCE };

export interface WorkOrderFeedbackOptions {
  /** Destinations to poll (those whose connector has `fetchWorkOrderUpdates`). */
  readonly destinations: readonly string[];
  readonly pollEveryMs: number;
  /** How far back the first poll looks. */
  readonly initialLookbackMs: number;
  /**
   * Each poll asks from its cursor less this much (`rules.maintenance.feedback.pollOverlap`): a
   * change the ERP lists only after its cursor passed the change's stamped time is read still. The
   * updates read again are skipped (the seen set keeps those submitted within it). @default 0
   */
  readonly pollOverlapMs?: number;
}

/**
 * The canonical JSON event for one update (what the `erp-feedback` decoder reads); `openedAt`:
 * where the outbox says its work order was opened ({@link openedAtOf}), carried in the event
 * (`openedAtDestination`) so the maintenance rule holds the update to that destination too, also
 * for a work order it has no record of (one the calendar task opened, or one forgotten), whose
 * asset's deliveries may go elsewhere since.
 */
export function feedbackEvent(u: WorkOrderUpdate, openedAt?: string): Record<string, unknown> {
  return {
    kind: 'workorder',
    erpAssetId: u.erpAssetId,
    eventTime: new Date(u.changedAt).toISOString(),
    businessKey: u.businessKey,
    erpWorkOrderId: u.erpWorkOrderId,
    status: u.status,
    ...(u.operatingHoursAtCompletion !== undefined ? { operatingHoursAtCompletion: u.operatingHoursAtCompletion } : {}),
    ...(u.odometerKmAtCompletion !== undefined ? { odometerKmAtCompletion: u.odometerKmAtCompletion } : {}),
    ...(openedAt !== undefined ? { openedAtDestination: openedAt } : {}),
  };
}

/**
 * A work-order record the ERP sent (pushed or listed) as kept in quarantine: without
 * `openedAtDestination`, which only assetbridge sets (from the outbox, {@link feedbackEvent}). A
 * kept record is replayed under the destination's feedback source, whose events the maintenance
 * rule holds to the destination that field names: the ERP's own would let it change a work order
 * opened at another destination.
 */
export function withoutOpenedAt(item: unknown): unknown {
  if (item === null || typeof item !== 'object' || Array.isArray(item) || !Object.hasOwn(item, 'openedAtDestination')) return item;
  const { openedAtDestination: _dropped, ...rest } = item as Record<string, unknown>;
  return rest;
}

/** Keys of ignored updates (per destination) a task remembers having warned of (then it forgets them all, and may warn again). */
const MAX_WARNED = 1000;

export function createWorkOrderFeedbackTask(options: WorkOrderFeedbackOptions): ScheduledTask {
  // Keys already warned of: an ERP lists a work order again on every change (and at the cursor's instant).
  const warned = new Set<string>();
  return {
    name: FEEDBACK_TASK,
    schedule: { everyMs: options.pollEveryMs },
    async run(ctx): Promise<TaskReport | void> {
      // One destination down must not stop the others' feedback: each is polled, then failures reported.
      const failed: string[] = [];
      const notes: PollNote[] = [];
      for (const destination of options.destinations) {
        if (ctx.signal.aborted) return;
        try {
          const ignored: IgnoredUpdate[] = [];
          const kept: KeptRecords = { fresh: [], held: 0 };
          await pollOne(ctx, destination, options, notes, ignored, kept);
          if (warned.size + ignored.length > MAX_WARNED) warned.clear();
          const fresh: IgnoredUpdate[] = [];
          for (const i of ignored) {
            const id = `${destination}\u0000${i.businessKey}`;
            if (warned.has(id)) continue;
            warned.add(id);
            fresh.push(i);
          }
          if (fresh.length)
            notes.push({ level: 'warn', msg: `work-order poll of ${destination} ignored ${fresh.map((i) => `${i.businessKey} (${i.status}): ${i.reason}`).join('; ')} (not taken, so no baseline was reset; said once per key)` });
          // Kept in quarantine (once: a record listed again is counted on its entry), said once per
          // version: when it is first kept. One quarantine holds already (listed again, before a
          // restart too) is only counted, beside a record said now.
          const { fresh: keptNow, held } = kept;
          if (keptNow.length)
            notes.push({
              level: 'warn',
              msg:
                `work-order poll of ${destination} could not read ${keptNow.length} work order${keptNow.length === 1 ? '' : 's'} assetbridge opened, kept in quarantine ('assetbridge quarantine list'; replay them once the config is fixed: 'assetbridge quarantine replay'): ${keptNow.join('; ')}` +
                (held ? ` (and ${held} listed again that quarantine holds already, counted on ${held === 1 ? 'its entry' : 'their entries'})` : ''),
            });
        } catch (err) {
          // A 429 paused the destination (logged as such, once per streak), or it is still paused and was
          // not asked: the next poll asks again from the same cursor.
          if (err instanceof RateLimitedError) continue;
          failed.push(`work-order poll failed for ${destination}: ${coerceError(err).message}`);
        }
      }
      const warnings = notes.filter((n) => n.level === 'warn').map((n) => n.msg);
      if (failed.length) throw new Error([...failed, ...warnings].join('; '));
      if (notes.length) return { level: warnings.length ? 'warn' : 'info', msg: notes.map((n) => n.msg).join('; '), fields: {} };
    },
  };
}

/**
 * An update whose key has our form but names no work order a rule opens (see occurrenceProblem),
 * or names one opened at another destination (see {@link foreignUpdateReason}): not submitted.
 */
export interface IgnoredUpdate {
  readonly businessKey: string;
  readonly status: string;
  readonly reason: string;
}

/**
 * Why an update with a key of our form is about no work order a rule opens (its occurrence is none
 * a rule makes: `EQ-7|service-250h|garbage`), or undefined. Such an update is ignored (polled or
 * pushed): a completion of it must not reset a service baseline.
 */
export function strayUpdateReason(u: Pick<WorkOrderUpdate, 'businessKey'>): string | undefined {
  const key = parseWorkOrderKey(u.businessKey);
  return key === undefined ? undefined : occurrenceProblem(key.occurrence);
}

/**
 * Where each of these work orders was opened: the destination of its `workorder.create` fact in
 * the outbox (the first, should its key have been opened at two). Keys the outbox does not hold
 * (not opened here, or its delivered fact removed by `store.retention.deliveredFacts`) are left out:
 * their updates are taken, and the maintenance rule holds them to the destination it knows.
 */
export async function openedAtOf(store: Pick<Store, 'factDeliveries'>, businessKeys: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (businessKeys.length === 0) return out;
  for (const [key, fact] of await store.factDeliveries(WORKORDER_CREATE, businessKeys)) out.set(key, fact.destination);
  return out;
}

/**
 * Why an update of work order `businessKey` from destination `from` (polled from it, or pushed to
 * its webhook) is ignored: the work order was opened at another destination ({@link openedAtOf}).
 * Undefined when it is taken. Such an update is not submitted, as the maintenance rule would not
 * apply it: said as an ignored update instead, so the operator sees it.
 */
export function foreignUpdateReason(businessKey: string, from: string, openedAt: ReadonlyMap<string, string>): string | undefined {
  return foreignFeedbackReason(from, openedAt.get(businessKey));
}

/**
 * The records of ours a poll could not read, kept in quarantine: the reasons of those kept afresh
 * (a version quarantine did not hold: said), and how many it holds already (listed again, counted
 * on their entries: not said again, before a restart or after).
 */
export interface KeptRecords {
  readonly fresh: string[];
  held: number;
}

/** What a poll has to say that is no failure: a list longer than a poll reads (warn), and when it is read through (info). */
export interface PollNote {
  readonly level: 'info' | 'warn';
  readonly msg: string;
}

/**
 * A work-order list a poll stopped reading at the connector's page cap, not listed oldest change
 * first: the next polls read it on from where it stopped, the cursor held where the list started.
 */
interface UnfinishedList {
  /** The cursor the list is of (changes at or after it). */
  readonly since: number;
  /** Where the list goes on (the connector's `more.resume`). */
  readonly resume: string;
  /** The newest change its first poll read: where the cursor goes when the list is read through. */
  readonly upTo: number;
  /** The updates of ours the first poll submitted at `upTo` (not submitted again once the cursor is there). */
  readonly atUpTo: readonly string[];
  /** Every poll of it read oldest change first, as the destination asks the ERP to list. */
  readonly ascending: boolean;
  /** Polls that have read it. */
  readonly polls: number;
  /** The connector's advice, for a list that ends where it started. */
  readonly advice: string;
}

/**
 * Poll one destination; returns how many updates were submitted, adds to `notes` what an operator
 * should know of a list longer than one poll reads, and to `ignored` the updates with a key of our
 * form whose occurrence no rule makes, or whose work order was opened at another destination (not
 * submitted: a completion of one must reset no baseline). Records of ours the connector could not
 * read (a status its mapping does not name, no id or time: its `setAside`) are kept in quarantine
 * with the updates' submit, before the cursor moves past them, under the destination's feedback
 * source (so `quarantine replay` reads them as a push, once the config is fixed). One listed again
 * unchanged within the time the poll asks again (the cursor's instant, and the overlap before it;
 * one without a readable time: by the very next poll) is skipped, as a taken update is: it is the
 * same record read again, no repeat. One listed again otherwise (by an ERP that lists it on every
 * poll) is counted on its open entry, not kept twice, across restarts too: told by its version
 * when the connector gives one (id, key, status, change time), else by its bytes. The reasons of those quarantine did not hold
 * before this poll go to `kept.fresh` (to be said), the others are counted in `kept.held`.
 *
 * A poll that stops at the connector's page cap moves the cursor past no change it did not read:
 * when the list came oldest change first (as the destination asks), to the newest change read;
 * else not at all, and the next poll reads the same list on from the page where this one stopped.
 * Read through, the cursor goes to the newest change the list's first poll read: a change the
 * pages already read missed while later ones were read is newer, and listed again.
 */
export async function pollOne(ctx: TaskContext, destination: string, options: Pick<WorkOrderFeedbackOptions, 'initialLookbackMs' | 'pollOverlapMs'>, notes: PollNote[] = [], ignored: IgnoredUpdate[] = [], kept: KeptRecords = { fresh: [], held: 0 }): Promise<number> {
  const connector = ctx.connector(destination);
  if (!connector?.fetchWorkOrderUpdates) return 0;
  const fetchUpdates = connector.fetchWorkOrderUpdates.bind(connector);
  const stored = await ctx.store.kvGet(FEEDBACK_NS, destination);
  const since = stored !== undefined ? Number(stored) : ctx.clock.now() - options.initialLookbackMs;
  // The poll asks from the cursor less the overlap: a change the ERP stamped before the cursor but
  // listed only after the cursor had passed it (a transaction committed later, a read replica
  // behind) is read still. The cursor itself moves as without it.
  const overlap = Math.max(0, options.pollOverlapMs ?? 0);
  const askedFrom = since - overlap;
  // The ERP lists changes at or after the time asked, so the last poll's newest (and, with the
  // overlap, every change within it) come again: those submitted are skipped (they would only be
  // counted as input again), others are new (a change listed late, or another of that instant).
  const seen = new Set<string>(stored !== undefined ? (JSON.parse((await ctx.store.kvGet(FEEDBACK_NS, seenKey(destination))) ?? '[]') as string[]) : []);
  const list = await unfinishedList(ctx, destination, since);
  let poll: WorkOrderPoll;
  try {
    // Within the destination's rate limit, like its deliveries; a 429 pauses those too.
    poll = await ctx.withinLimits(destination, (sendCtx) => fetchUpdates(askedFrom, sendCtx, list?.resume));
  } catch (err) {
    if (list === undefined || !(err instanceof PermanentError)) throw err;
    // The ERP no longer answers the next-page link (expired, or the destination changed): start the list again.
    await ctx.store.kvDelete(FEEDBACK_NS, listKey(destination));
    throw new Error(
      `the next page of the list of work orders changed since ${iso(askedFrom)}, which an earlier poll stopped reading, could not be read (${err.message}); the next poll reads the list again from its start (the cursor has not moved); if this repeats, the cursor cannot move on: ${list.advice}`,
      { cause: err },
    );
  }
  const { updates } = poll;
  // Only work orders we opened carry our business key (`asset|rule|occurrence`), with an occurrence a rule makes.
  const keyed = updates.filter((u) => parseWorkOrderKey(u.businessKey) !== undefined);
  // Of those, the ones opened at another destination are not this ERP's to change.
  const openedAt = await openedAtOf(ctx.store, keyed.map((u) => u.businessKey));
  const ours = keyed.filter((u) => {
    const problem = strayUpdateReason(u) ?? foreignUpdateReason(u.businessKey, destination, openedAt);
    if (problem !== undefined) {
      ignored.push({ businessKey: u.businessKey, status: u.status, reason: problem });
      return false;
    }
    return !seen.has(updateId(u));
  });
  // Ours but unreadable, as listed: one a poll kept already and lists again unchanged within the
  // time it asks again (the cursor's instant, the overlap) is skipped, as a taken update is: the
  // same record read again, not the ERP sending it again, so not counted on its entry as a repeat.
  const listedUnread = (poll.setAside ?? []).map((u) => ({ ...u, id: unreadId(u) }));
  const unread = listedUnread.filter((u) => !seen.has(u.id));
  if (ours.length > 0 || unread.length > 0) {
    const receivedAt = ctx.clock.now();
    // One message per update: an update for an unknown asset is quarantined alone. Each is marked
    // as a copy the source may hand over again (a list read through again after a page-capped,
    // unsorted poll; a cursor the connector held back): one the ingestor sets aside (an unknown
    // asset) is counted on its open entry when listed again, not kept once more per poll.
    const messages: RawMessage[] = ours.map((u) => ({
      // Named by its destination, as a push is: the maintenance rule takes it only for the work orders opened there.
      source: feedbackSource(destination),
      channel: polledChannel(destination),
      payload: JSON.stringify(feedbackEvent(u, openedAt.get(u.businessKey))),
      receivedAt,
      retained: true,
    }));
    // Ours but unreadable: kept as listed (never dropped, as the cursor moves past it), in the same
    // commit. Marked as a copy the source may hand over again (as a pull's snapshot), so the same
    // record listed at a later poll is counted on its open entry instead of kept once more.
    const copies = unread.map((u) => ({ source: feedbackSource(destination), channel: polledChannel(destination), payload: JSON.stringify(withoutOpenedAt(u.record)), reason: u.reason, version: u.version }));
    for (const { reason, version, ...copy } of copies) messages.push({ ...copy, receivedAt, setAside: { code: 'invalid', reason, ...(version !== undefined ? { version } : {}) }, retained: true });
    // Those quarantine holds already (an earlier poll kept them, before a restart too): counted on
    // their entries by the commit, and not said again. Asked of the store, which keeps the entries.
    const held = await ctx.store.quarantineHolds(copies.map(({ reason: _r, version, ...copy }) => ({ ...copy, ...(version !== undefined ? { version } : {}) })));
    await ctx.sink.submit(messages);
    const said = new Set<string>();
    copies.forEach((c, i) => {
      // A version listed twice in one poll (it changed while the pages were read) is kept, and said, once.
      const id = c.version ?? c.payload;
      if (held[i] === true || said.has(id)) kept.held++;
      else {
        said.add(id);
        kept.fresh.push(c.reason);
      }
    });
  }
  // The ERP's own work orders move the cursor too, so they are not read again on every poll. The
  // connector's readUpTo is where the next poll must start (it may hold back for a record that
  // changed while the pages were read); without one, the newest update.
  // Never past this host's clock: a change time ahead of it (the ERP's clock ahead, a record
  // dated by hand, a field that is no change time) would move the cursor past every change still to
  // be made before then, and none of them would be read. Those ahead are listed again until then.
  const listedUpTo = Math.max(since, poll.readUpTo ?? Math.max(since, ...updates.map((u) => u.changedAt)));
  const now = ctx.clock.now();
  const read = Math.max(since, Math.min(listedUpTo, now));
  if (listedUpTo > now + AHEAD_SAID_MS) {
    const ahead = updates.filter((u) => u.changedAt > now);
    const newestAhead = ahead.reduce<WorkOrderUpdate | undefined>((a, u) => (a === undefined || u.changedAt > a.changedAt ? u : a), undefined);
    notes.push({
      level: 'warn',
      msg:
        `work-order poll of ${destination} listed ${ahead.length || 'changes'}${ahead.length ? ` change${ahead.length === 1 ? '' : 's'}` : ''} dated after this host's clock (${iso(now)})${newestAhead ? `, the newest ${iso(newestAhead.changedAt)} (work order ${newestAhead.erpWorkOrderId}, ${newestAhead.businessKey})` : ''}: ` +
        `the cursor moves no further than now, so no change made meanwhile is skipped, and ${ahead.length === 1 ? 'it is' : 'they are'} listed again until then; check the ERP's clock (NTP), or which field workOrderFields.updatedAt of destination "${destination}" reads`,
    });
  }
  // Judged against the time the poll asked from: the overlap lists changes before the cursor on purpose.
  await noteUnfiltered(ctx, destination, askedFrom, poll, notes);
  const newest = await moveOn(ctx, destination, since, read, poll, list, ours, notes);
  // Those the list's first poll submitted at the newest it read, when the cursor moves there now.
  const atNewest = [...(list !== undefined && poll.more === undefined && newest === list.upTo ? list.atUpTo : []), ...ours.filter((u) => u.changedAt === newest).map(updateId)];
  // A first poll fixes its cursor, also where it read nothing newer: the next reads on from where it
  // looked back to (the same list, if it stopped mid-list), not from a lookback that moves with the
  // clock, which would pass over what changed while the service was down longer than initialLookback.
  // Remembered: the updates submitted that the next poll lists again (changed at or after its cursor
  // less the overlap), so they are skipped then; older ones are not listed again and are forgotten.
  const keepFrom = Math.max(since, newest) - overlap;
  // Unreadable ones without a time to tell: remembered while each poll lists them (the ERP's own
  // time of it, which its filter reads, is still within the time asked), forgotten once one does not.
  const listedNow = new Set(listedUnread.map((u) => u.id));
  const seenNow = [...new Set([...seen, ...atNewest, ...ours.map(updateId), ...listedNow])].filter((id) => (isTimeless(id) ? listedNow.has(id) : changedAtOf(id) >= keepFrom));
  const seenChanged = seenNow.length !== seen.size || seenNow.some((id) => !seen.has(id));
  if (newest > since || stored === undefined) {
    await ctx.store.kvSet(FEEDBACK_NS, seenKey(destination), JSON.stringify(seenNow));
    await ctx.store.kvSet(FEEDBACK_NS, destination, String(newest));
  } else if (seenChanged) await ctx.store.kvSet(FEEDBACK_NS, seenKey(destination), JSON.stringify(seenNow));
  return ours.length;
}

/**
 * Where the cursor goes after a poll that read up to `read`, keeping the unfinished list (if the
 * poll stopped at the page cap) for the next poll, and noting it.
 */
async function moveOn(ctx: TaskContext, destination: string, since: number, read: number, poll: WorkOrderPoll, list: UnfinishedList | undefined, ours: readonly WorkOrderUpdate[], notes: PollNote[]): Promise<number> {
  const { more } = poll;
  const ascending = (list?.ascending ?? true) && poll.ascending === true;
  if (more !== undefined) {
    const stopped = `work-order poll of ${destination} stopped after ${more.pages} page${more.pages === 1 ? '' : 's'} (maxWorkOrderPages) with more of the list to come`;
    if (ascending && read > since) {
      // Oldest change first: the pages not read hold none older than the newest read.
      if (list !== undefined) await ctx.store.kvDelete(FEEDBACK_NS, listKey(destination));
      notes.push({ level: 'warn', msg: `${stopped}, listed oldest change first: the cursor moved to ${iso(read)} and the next poll reads on from there; ${more.advice}` });
      return read;
    }
    const atUpTo = list?.atUpTo ?? ours.filter((u) => u.changedAt === read).map(updateId);
    const next: UnfinishedList = { since, resume: more.resume, upTo: list?.upTo ?? read, atUpTo, ascending, polls: (list?.polls ?? 0) + 1, advice: more.advice };
    await ctx.store.kvSet(FEEDBACK_NS, listKey(destination), JSON.stringify(next));
    const why = ascending ? ', every change read at the cursor' : ', not listed oldest change first (the pages not read may hold older changes)';
    notes.push({ level: 'warn', msg: `${stopped}${why}: the cursor stays at ${iso(since)} and the next poll reads on from the next page (poll ${next.polls} of this list); ${more.advice}` });
    return since;
  }
  if (list === undefined) return read;
  await ctx.store.kvDelete(FEEDBACK_NS, listKey(destination));
  const upTo = ascending ? Math.max(list.upTo, read) : list.upTo;
  const polls = list.polls + 1;
  if (upTo > since) notes.push({ level: 'info', msg: `work-order poll of ${destination} read through the list it read over ${polls} polls: the cursor moved to ${iso(upTo)}` });
  else notes.push({ level: 'warn', msg: `work-order poll of ${destination} read through the list it read over ${polls} polls, but cannot move the cursor past ${iso(since)}: the changes at that instant alone are more than one poll reads, so every poll lists them again; ${list.advice}` });
  return upTo;
}

/**
 * A destination whose polls list records changed well before the cursor they ask from (the ERP
 * ignores `?updatedSince=`, {@link WorkOrderPoll.listedBefore}): since when, over how many polls,
 * and the last such poll's figures. Kept in the store (kv `unfiltered:<destination>`) while it lasts,
 * so it is said once (not on every poll, nor again after a restart), and `status` shows it.
 */
export interface UnfilteredPolls {
  /** When a poll first listed so (epoch ms). */
  readonly since: number;
  /** Polls that listed so since then. */
  readonly polls: number;
  /** The last such poll: the records changed before its cursor, of how many read, and the oldest change time. */
  readonly count: number;
  readonly of: number;
  readonly oldest: number;
  /** The cursor that poll asked from (epoch ms). */
  readonly cursor: number;
}

/** What the store says of a destination's unfiltered polls, if they are so now. */
export async function unfilteredPolls(store: Pick<Store, 'kvGet'>, destination: string): Promise<UnfilteredPolls | undefined> {
  const stored = await store.kvGet(FEEDBACK_NS, unfilteredKey(destination));
  if (stored === undefined) return undefined;
  try {
    const u = JSON.parse(stored) as UnfilteredPolls;
    return typeof u.since === 'number' && typeof u.polls === 'number' ? u : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Warns once when a destination's polls start listing records changed well before the cursor,
 * counts such polls while they go on, and says so (info) when a poll that read records lists none
 * so again; a poll that read nothing tells neither.
 */
async function noteUnfiltered(ctx: TaskContext, destination: string, since: number, poll: WorkOrderPoll, notes: PollNote[]): Promise<void> {
  const was = await unfilteredPolls(ctx.store, destination);
  const before = poll.listedBefore;
  if (before !== undefined) {
    const now: UnfilteredPolls = { since: was?.since ?? ctx.clock.now(), polls: (was?.polls ?? 0) + 1, count: before.count, of: before.of, oldest: before.oldest, cursor: since };
    await ctx.store.kvSet(FEEDBACK_NS, unfilteredKey(destination), JSON.stringify(now));
    if (was === undefined)
      notes.push({
        level: 'warn',
        msg:
          `work-order poll of ${destination} listed ${before.count} of ${before.of} work order${before.of === 1 ? '' : 's'} changed before the time it asked from (updatedSince=${iso(since)}), the oldest at ${iso(before.oldest)}: ` +
          `the ERP ignores ?updatedSince= (or reads it otherwise: a local time, a date only), so every poll reads its whole work-order list again, longer as its history grows; ${before.advice} ` +
          `(said once: 'assetbridge status' counts such polls, and a poll listed as asked is said)`,
      });
    return;
  }
  const read = poll.readUpTo !== undefined || poll.updates.length > 0 || (poll.setAside?.length ?? 0) > 0;
  if (was === undefined || !read) return;
  await ctx.store.kvDelete(FEEDBACK_NS, unfilteredKey(destination));
  notes.push({ level: 'info', msg: `work-order poll of ${destination} listed only changes since the time it asked from again, after ${was.polls} poll${was.polls === 1 ? '' : 's'} since ${iso(was.since)} that listed older ones: the ERP honours ?updatedSince= now` });
}

/** The list an earlier poll stopped reading, if it is of this cursor. */
async function unfinishedList(ctx: TaskContext, destination: string, since: number): Promise<UnfinishedList | undefined> {
  const stored = await ctx.store.kvGet(FEEDBACK_NS, listKey(destination));
  if (stored === undefined) return undefined;
  try {
    const list = JSON.parse(stored) as UnfinishedList;
    if (list.since === since && typeof list.resume === 'string' && Array.isArray(list.atUpTo)) return list;
  } catch {
    // unreadable: read the list from its start
  }
  return undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** kv key of the list a destination's poll stopped reading. */
const listKey = (destination: string): string => `unfinished-list:${destination}`;

/** kv key of a destination's polls that list records changed well before their cursor ({@link UnfilteredPolls}). */
const unfilteredKey = (destination: string): string => `unfiltered:${destination}`;

/** kv key of the updates a destination's last poll submitted at its cursor. */
const seenKey = (destination: string): string => `seen-at-cursor:${destination}`;

/** One update of one work order: its key, status and change time. */
const updateId = (u: WorkOrderUpdate): string => `${u.businessKey}|${u.status}|${u.changedAt}`;

/**
 * One version of a record of ours a poll could not read (its `setAside`): its version (else its
 * bytes, as kept), hashed, and its change time when read, else `-` (see {@link isTimeless}).
 */
const unreadId = (u: { readonly record: unknown; readonly version?: string; readonly changedAt?: number }): string =>
  `unread:${createHash('sha256').update(u.version ?? JSON.stringify(withoutOpenedAt(u.record)) ?? '').digest('hex').slice(0, 32)}|${u.changedAt ?? '-'}`;

/** An {@link unreadId} without a change time: kept in the seen set only while polls list it. */
const isTimeless = (id: string): boolean => id.startsWith('unread:') && id.endsWith('|-');

/** The change time of an {@link updateId} (its last part); NaN for an unreadable one, which is then forgotten. */
const changedAtOf = (id: string): number => Number(id.slice(id.lastIndexOf('|') + 1));
