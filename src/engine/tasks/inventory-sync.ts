/**
 * Inventory sync to the ERP: every `changesEvery` the task recounts items per (location, SKU) from
 * all item states and sends the counts that changed since last sent; when the snapshot cron comes
 * due it sends every count (a full snapshot corrects an ERP someone adjusted by hand: one that
 * takes totals by the totals; one that takes deltas by deltas against the on-hand quantity read
 * from it first, where its connector can read it, see {@link reconcileWithOnHand}).
 *
 * Exactly once without a shared transaction between the kv store and the outbox: what was last
 * sent (total and revision per cell) lives in one kv record per destination. A run that plans
 * counts writes them ahead ({@link writeAhead}): the planned deliveries in parts (rows of their
 * own), a note naming the parts (`planned:<destination>`), then the record as it will be once they
 * are committed (written once); then it commits them, then deletes the note and parts. A crash
 * between leaves the note: the next run commits exactly those again if the record was written
 * (its planned cells at the revisions planned: the outbox drops the ones already committed, their
 * business keys being facts), or drops them if it was not ({@link recordOfPlan}). The highest
 * revision handed out is kept beside the record (`highestRevision:<destination>`), so a damaged
 * record's cells go on above every revision used, though retention pruned their counts. Both live
 * in the store, which an operator may restore from an older copy: a revision is therefore also at
 * least the run's time in ms (`nextRevision`, core/rules/inventory/counts.ts), so the counts after
 * a restore go out above those sent since the copy (which the ERP holds), not under their keys again.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as turn } from 'node:timers/promises';
import { CronExpressionParser } from 'cron-parser';
import type { AssetRecord } from '../../core/model/assets.js';
import type { DeliveryIntent, OutboxItem } from '../../core/model/delivery.js';
import { coerceError } from '../../core/errors/errors.js';
import {
  EMPTY_SENT,
  asNeverSent,
  INVENTORY_COUNT,
  cellKey,
  cellsOfCounts,
  floorOf,
  compareCounts,
  countInventory,
  countInventorySliced,
  discardedCountsOf,
  type DiscardedCount,
  giveBackDiscarded,
  malformedCellKeys,
  malformedCellKeysSliced,
  overtakenCells,
  parsePendingPart,
  parsePendingParts,
  parseSentRecord,
  recordOfPlan,
  planInventoryCountsSliced,
  reconcileWithOnHandSliced,
  snapshotCellsSliced,
  standingOf,
  withCurrentZoneCode,
  type CountCell,
  type CountComparison,
  type InventoryCountOptions,
  type InventoryItem,
  type ItemStanding,
  type SentCounts,
  type SentRecordDamage,
  type PendingParts,
} from '../../core/rules/inventory/counts.js';
import { INVENTORY_RULE, isInventoryItem, type InventoryItemState } from '../../core/rules/inventory/inventory-rule.js';
import type { OnHandQuantity } from '../../ports/connector.js';
import type { ScheduledTask, TaskContext, TaskReport } from '../../ports/task.js';
import { HAND_AUDIT_OUTCOMES, type Store } from '../../ports/store.js';
import type { ZoneIndex } from '../../core/rules/zones/zone-index.js';
import { createSlicer, jsonText, runSliced, type Due, type Slicer } from '../../core/slices.js';

export const INVENTORY_TASK = 'inventory-sync';
/**
 * kv namespace: `sent:<destination>` records, their write-ahead notes (`planned:<destination>`) and
 * parts (`plan:…`), `highestRevision:<destination>`, `lastFullAt`, `snapshotRequestedAt` and `replayed:<id>` notes.
 */
export const INVENTORY_NS = 'inventory';
/** kv key: when a full snapshot was asked for on demand (`assetbridge inventory snapshot`). */
const SNAPSHOT_REQUESTED = 'snapshotRequestedAt';
/** kv key prefix: `plan:<destination>:<id>:<part>`, a part of the deliveries a write-ahead planned (see {@link writeAhead}). */
const PLAN = 'plan:';
const planKey = (destination: string, parts: PendingParts, part: number): string => `${PLAN}${destination}:${parts.id}:${part}`;
/** kv key prefix: `planned:<destination>`, a write-ahead's note naming its parts ({@link PendingParts}; see {@link writeAhead}). */
const PLANNED = 'planned:';
const plannedKey = (destination: string): string => `${PLANNED}${destination}`;
/**
 * kv key prefix: `highestRevision:<destination>`, the highest count revision handed out to any cell
 * of the destination, written before any count under it can be committed. Apart from the record, so
 * a damaged record's cells go on above it ({@link asNeverSent}): the outbox forgets counts retention
 * pruned, though it keeps their keys (a count under one of them would be dropped as a duplicate).
 */
const HIGHEST = 'highestRevision:';
const highestKey = (destination: string): string => `${HIGHEST}${destination}`;
/** kv key prefix: `replayed:<outbox id>`, a count `dlq replay` queued again (see {@link noteReplayedCounts}). */
const REPLAYED = 'replayed:';

/**
 * Note inventory counts about to be queued again from dead letters (`dlq replay`), before they
 * are: the next inventory run sends the current total of each cell after any of them older than a
 * count of its cell sent since ({@link overtakenCells}). The service may deliver a replayed count
 * before that run, so it cannot be told by what is still queued. A note for one not replayed after
 * all costs a count with delta 0 at most.
 */
export async function noteReplayedCounts(store: Store, items: readonly Pick<OutboxItem, 'id' | 'operation'>[], now: number): Promise<void> {
  const counts = items.filter((d) => d.operation === INVENTORY_COUNT);
  if (counts.length) await store.kvSetMany(INVENTORY_NS, counts.map((d) => [`${REPLAYED}${d.id}`, String(now)] as const));
}

export interface InventorySyncOptions extends InventoryCountOptions {
  readonly changesEveryMs: number;
  /** Full snapshot schedule (5-field cron) and its time zone. */
  readonly fullSnapshotCron: string;
  readonly timeZone: string;
  readonly defaultDestination: string;
  /** The zones configured now: items are counted under their current location codes. */
  readonly zones?: ZoneIndex;
  /**
   * The destinations configured now (`destinations[].name`): counts go to these only. A destination
   * no longer configured (renamed or removed) that was sent counts before is skipped and named
   * ({@link unconfiguredDestinationsWarning}), not sent its counts again at every snapshot into a
   * queue nothing delivers. @default every destination
   */
  readonly destinations?: readonly string[];
  /**
   * Each destination's `retry.unknownOutcomeSettleMs`: a count discarded (`dlq discard --send-again`)
   * whose request may have reached the ERP has its change sent again no sooner than that long after
   * its last attempt ({@link resendableAt}). @default none (sent again at the next run)
   */
  readonly settleMs?: Readonly<Record<string, number>>;
}

export interface InventoryRunSummary {
  readonly mode: 'changes' | 'full';
  readonly items: number;
  /** Deliveries committed in this run, per destination (including recovered write-ahead ones). */
  readonly deliveries: Readonly<Record<string, number>>;
  /** Counts discarded since the last run whose change this run gave back to be sent again, per destination. */
  readonly givenBack: Readonly<Record<string, number>>;
  /**
   * A full snapshot's cells sent against the ERP's on-hand quantity (read from it) rather than
   * what was last sent, per destination whose connector reads on-hand quantities.
   */
  readonly reconciled: Readonly<Record<string, number>>;
  /** Destinations whose on-hand read failed, with the cells not read (those went against what was last sent, as without a read) and why. */
  readonly readFailed: Readonly<Record<string, { readonly cells: number; readonly error: string }>>;
  /** Items left out of every count: their quantity attribute is not a whole number. */
  readonly badQuantity: number;
  /** Destinations no longer configured that have counts (sent before, or of items naming them): skipped. */
  readonly unconfigured: readonly string[];
  /**
   * Cells whose current total was sent again (delta 0) after an older count of theirs queued again
   * (a dead letter replayed) that lands after a newer one, per destination; absent when none.
   */
  readonly resent?: Readonly<Record<string, number>>;
  /**
   * Keys of the sent records that name no cell (no separator between location and SKU: a record
   * edited by hand or written by an older version), per destination: left out of the counts, the
   * rest of the record used as ever ({@link malformedKeysWarning}); absent when none.
   */
  readonly malformedKeys?: Readonly<Record<string, readonly string[]>>;
  /**
   * Sent records that could not be used as stored, per destination: not JSON or not a record's
   * shape (every cell of it taken as never sent), or cell entries whose value is not a count (those
   * cells taken as never sent); the run sends such cells their full count and writes the record
   * anew ({@link damagedRecordsWarning}); absent when none.
   */
  readonly damagedRecords?: Readonly<Record<string, SentRecordDamage>>;
}

/**
 * What to say of sent records that could not be used as stored: which, what was wrong, what the
 * run did instead and what the operator may need to do. `run`: said by the run that replaced them;
 * else by `inventory counts`, of what the next run will do.
 */
export function damagedRecordsWarning(damaged: Readonly<Record<string, SentRecordDamage>>, run: boolean): string {
  const each = Object.entries(damaged).map(([destination, d]) => {
    const where = `record "sent:${destination}" (kv namespace "${INVENTORY_NS}")`;
    if (d.record !== undefined) return `${where} is ${d.record}: every cell of ${destination} taken as never sent`;
    const keys = d.entries ?? [];
    const shown = keys.slice(0, MALFORMED_SHOWN).map((k) => JSON.stringify(k)).join(', ');
    return `${where} has cell entries that are not {"quantity": <number>, "revision": <whole number>}: ${shown}${keys.length > MALFORMED_SHOWN ? `, … (${keys.length - MALFORMED_SHOWN} more)` : ''}; those cells taken as never sent`;
  });
  return (
    `inventory sent record damaged (edited by hand, or written over): ${each.join('; ')}. ` +
    (run
      ? 'This run sent each such cell its full count (delta from 0; above every revision handed out to the destination) and replaced the record, so nothing is lost and nothing needs resetting. '
      : 'The next inventory run sends each such cell its full count (delta from 0; above every revision handed out to the destination) and replaces the record; nothing needs resetting. ') +
    'An ERP that takes totals ends at the count. One that takes deltas (NetSuite adjustQtyBy) adds the full count to what it holds: check its quantities there; with paths.inventoryOnHand, ' +
    "'assetbridge inventory snapshot' sets them right at the next run (counted minus on hand)"
  );
}

/** Keys named in {@link malformedKeysWarning} per record, at most; the others are counted. */
const MALFORMED_SHOWN = 10;

/**
 * What to say of sent-record keys that name no cell: which (escaped, as JSON writes them), in which
 * record, and what to do. The record keeps them as they are; counting goes on without them.
 */
export function malformedKeysWarning(malformed: Readonly<Record<string, readonly string[]>>): string {
  const each = Object.entries(malformed).map(([destination, keys]) => {
    const shown = keys.slice(0, MALFORMED_SHOWN).map((k) => JSON.stringify(k)).join(', ');
    return `record "sent:${destination}" (kv namespace "${INVENTORY_NS}"): ${shown}${keys.length > MALFORMED_SHOWN ? `, … (${keys.length - MALFORMED_SHOWN} more)` : ''}`;
  });
  return (
    `inventory sent record entries left out of the counts, their keys naming no cell (a cell's key is <location>\u001f<sku>; the record was edited by hand or written by an older version): ${each.join('; ')}. ` +
    'The other entries are counted as ever. Put the separator back between the location and the SKU of each (that cell then goes on from its revision), or delete the entry'
  );
}

/**
 * What to say of destinations no longer configured that inventory counts were sent to (or items
 * name): skipped, and what to do about it.
 */
export function unconfiguredDestinationsWarning(names: readonly string[]): string {
  return (
    `inventory counts are not sent to ${names.map((n) => `"${n}"`).join(', ')}: no longer configured (destinations[].name), though counts were sent to it before or items name it. ` +
    'If it was renamed, put its old name back: what each destination was sent is recorded under its name, and under a new name counting starts from nothing sent ' +
    '(the first run sends every count as a change from 0, which an ERP taking deltas adds again). If it was removed, nothing is needed'
  );
}

/** What to say of cells sent their current total again after a replayed older count of theirs. */
function resentNote(resent: Readonly<Record<string, number>>): string {
  return `inventory counts sent again (delta 0): ${Object.entries(resent).map(([d, n]) => `${n} cell(s) of ${d}`).join(', ')} had an older count replayed from dead letters after a newer one was sent; the current total follows it, for an ERP that takes totals`;
}

/** How often a snapshot's on-hand read is logged while it goes on, at most, ms (as other long work logs its progress). */
export const SNAPSHOT_PROGRESS_EVERY_MS = 10_000;

/** The on-hand read of a full snapshot: `done` of `total` cells of `destination` read (or tried). */
export interface OnHandReadProgress {
  readonly destination: string;
  readonly done: number;
  readonly total: number;
}

/**
 * What the task logs of a snapshot's on-hand read ({@link READ_CHUNK} cells a connector call, within
 * the destination's limits; the REST connector sends a request per cell: 100,000 cells at 300
 * requests a minute take over 5 hours): a line when a read of more than one call starts, then
 * `done/total` at most every `everyMs` (by the task's clock).
 */
export function onHandProgressLog(logger: { info(obj: object, msg: string): void }, clock: { now(): number }, everyMs = SNAPSHOT_PROGRESS_EVERY_MS): (p: OnHandReadProgress) => void {
  let last: number | undefined;
  return ({ destination, done, total }) => {
    const now = clock.now();
    if (done === 0) {
      if (total <= READ_CHUNK) return; // one call: soon done
      last = now;
      logger.info({ task: INVENTORY_TASK, destination, cells: total }, `inventory snapshot: reading the on-hand quantity of ${total} cell(s) of ${destination} first`);
    } else if (last !== undefined && done < total && now - last >= everyMs) {
      last = now;
      logger.info({ task: INVENTORY_TASK, destination, done, total }, `inventory snapshot: on-hand quantity read for ${done}/${total} cell(s) of ${destination}`);
    }
  };
}

export function createInventorySyncTask(options: InventorySyncOptions, deps: { readonly logger?: { info(obj: object, msg: string): void } } = {}): ScheduledTask {
  let warned = false;
  return {
    name: INVENTORY_TASK,
    schedule: { everyMs: options.changesEveryMs },
    async run(ctx): Promise<TaskReport | void> {
      const r = await runInventorySync(ctx, options, deps.logger ? { onReadProgress: onHandProgressLog(deps.logger, ctx.clock) } : {});
      // Destinations no longer configured: said at the first run after a start and with each snapshot.
      const skipped = r.unconfigured.length > 0 && (r.mode === 'full' || !warned);
      warned ||= r.unconfigured.length > 0;
      // Keys naming no cell: said with every run (at warn) until the record is put right.
      // A damaged record: said (at warn) by the run that replaced it.
      const malformed = r.malformedKeys || r.damagedRecords ? { level: 'warn' as const } : {};
      if (r.mode !== 'full') {
        const notes = [
          ...(r.damagedRecords ? [damagedRecordsWarning(r.damagedRecords, true)] : []),
          ...(r.malformedKeys ? [malformedKeysWarning(r.malformedKeys)] : []),
          ...(r.resent ? [resentNote(r.resent)] : []),
          ...(skipped ? [unconfiguredDestinationsWarning(r.unconfigured)] : []),
        ];
        return notes.length
          ? {
              ...malformed,
              msg: notes.join('; '),
              fields: {
                ...(r.damagedRecords ? { damagedRecords: r.damagedRecords } : {}),
                ...(r.malformedKeys ? { malformedKeys: r.malformedKeys } : {}), ...(r.resent ? { resent: r.resent } : {}), ...(skipped ? { unconfiguredDestinations: r.unconfigured } : {}) },
            }
          : undefined;
      }
      // A snapshot is daily: said at info, with how its on-hand reads went.
      const failed = Object.entries(r.readFailed);
      const msg =
        (failed.length === 0
          ? 'inventory snapshot sent'
          : `inventory snapshot sent; the on-hand read failed for ${failed.map(([d, f]) => `${f.cells} cell(s) of ${d} (${f.error})`).join(', ')}, so their deltas are against what was last sent`) +
        // Said daily, not every run: the items stay out of the counts until their attribute is fixed.
        (r.badQuantity ? `; ${r.badQuantity} item(s) not counted: their quantity attribute is not a whole number ('assetbridge inventory items --standing bad-quantity')` : '') +
        (skipped ? `; ${unconfiguredDestinationsWarning(r.unconfigured)}` : '') +
        (r.malformedKeys ? `; ${malformedKeysWarning(r.malformedKeys)}` : '') +
        (r.damagedRecords ? `; ${damagedRecordsWarning(r.damagedRecords, true)}` : '');
      return {
        ...malformed,
        msg,
        fields: {
          deliveries: r.deliveries,
          reconciled: r.reconciled,
          ...(failed.length ? { readFailed: r.readFailed } : {}),
          ...(r.badQuantity ? { badQuantity: r.badQuantity } : {}),
          ...(skipped ? { unconfiguredDestinations: r.unconfigured } : {}),
          ...(r.malformedKeys ? { malformedKeys: r.malformedKeys } : {}),
          ...(r.damagedRecords ? { damagedRecords: r.damagedRecords } : {}),
        },
      };
    },
  };
}

/** Is a full snapshot due at `now`, given when the last one was made? */
export function fullSnapshotDue(lastFullAt: number | undefined, now: number, cron: string, timeZone: string): boolean {
  if (lastFullAt === undefined) return true;
  const next = CronExpressionParser.parse(cron, { currentDate: new Date(lastFullAt), tz: timeZone }).next().getTime();
  return next <= now;
}

/**
 * All inventory items with their state and destination, located by the zones configured now
 * (`zones`); the walks over every asset in slices of `slicer`'s length.
 */
export async function loadInventoryItems(store: Store, skuAttribute: string, defaultDestination: string, zones?: ZoneIndex, slicer: Slicer = createSlicer()): Promise<InventoryItem[]> {
  const all = await store.listAssetRecords();
  const assets = await runSliced(function* (due) {
    const out: AssetRecord[] = [];
    for (const a of all) {
      if (due()) yield;
      if (isInventoryItem(a, skuAttribute)) out.push(a);
    }
    return out;
  }, slicer);
  const states = await store.loadRuleStates(assets.map((a) => a.erpAssetId), [INVENTORY_RULE]);
  return runSliced(function* (due) {
    const out: InventoryItem[] = [];
    for (const asset of assets) {
      if (due()) yield;
      out.push({ asset, destination: asset.destination ?? defaultDestination, state: withCurrentZoneCode(states.get(asset.erpAssetId)?.[INVENTORY_RULE] as InventoryItemState | undefined, zones) });
    }
    return out;
  }, slicer);
}

/** When the last full snapshot was sent, and whether one was asked for since. */
async function snapshotState(store: Store): Promise<{ lastFullAt: number | undefined; requestedAt: number | undefined }> {
  const num = (text: string | undefined) => (text === undefined ? undefined : Number(text));
  const lastFullAt = num(await store.kvGet(INVENTORY_NS, 'lastFullAt'));
  const requestedAt = num(await store.kvGet(INVENTORY_NS, SNAPSHOT_REQUESTED));
  return { lastFullAt, requestedAt: requestedAt !== undefined && (lastFullAt === undefined || requestedAt >= lastFullAt) ? requestedAt : undefined };
}

/**
 * Ask for a full snapshot at the next inventory run (every `changesEvery` in a running service),
 * instead of waiting for the cron. Only a mark in the store: the run itself stays the service's,
 * so the revisions of the counts never race between two processes.
 */
export async function requestFullSnapshot(store: Store, now: number): Promise<void> {
  await store.kvSet(INVENTORY_NS, SNAPSHOT_REQUESTED, String(now));
}

/** How one inventory run goes about its work (tests change it; the service uses the defaults). */
export interface InventoryRunHooks {
  /**
   * The slices the walks over every item and cell are cut into (each ~0.1 s in one go at 100,000
   * single-item SKUs): ingest and HTTP wait for one slice, not for a walk. @default {@link createSlicer}()
   */
  readonly slicer?: Slicer;
  /** A full snapshot's on-hand read: called as it starts (`done` 0) and after each request. */
  readonly onReadProgress?: (progress: OnHandReadProgress) => void;
}

export async function runInventorySync(ctx: TaskContext, options: InventorySyncOptions, hooks: InventoryRunHooks = {}): Promise<InventoryRunSummary> {
  const slicer = hooks.slicer ?? createSlicer();
  const now = ctx.clock.now();
  const snap = await snapshotState(ctx.store);
  const mode = snap.requestedAt !== undefined || fullSnapshotDue(snap.lastFullAt, now, options.fullSnapshotCron, options.timeZone) ? 'full' : 'changes';
  await ctx.checkpoint(); // the sightings the ingestor still holds in memory count too
  // A snapshot of every item: sightings committed while the run pauses between slices count from the next run.
  const items = await loadInventoryItems(ctx.store, options.skuAttribute, options.defaultDestination, options.zones, slicer);
  // A turn of the event loop between the steps too, besides those between the slices of each.
  await turn();
  const counts = await countInventorySliced(items, now, options, slicer);
  await turn();
  const kv = await ctx.store.kvList(INVENTORY_NS);
  const records = sentRecordsOf(kv, ctx.store);
  await turn();
  // Counts `dlq replay` queued again since the last run (see noteReplayedCounts).
  const marks = kv.filter((r) => r.key.startsWith(REPLAYED));
  const replayed = (await Promise.all(marks.map((m) => ctx.store.getDelivery(Number(m.key.slice(REPLAYED.length)))))).filter((d): d is OutboxItem => d?.operation === INVENTORY_COUNT);
  const committed: Record<string, number> = {};
  const givenBack: Record<string, number> = {};
  const reconciled: Record<string, number> = {};
  const readFailed: Record<string, { cells: number; error: string }> = {};
  const resent: Record<string, number> = {};
  const malformedKeys: Record<string, string[]> = {};
  const damagedRecords: Record<string, SentRecordDamage> = {};
  const { configured, unconfigured } = destinationsOf(counts, records, options.destinations);
  for (const destination of configured) {
    const record = await recordForRun(ctx.store, kv, destination, records.get(destination));
    let sent = record.sent;
    const damage = record.damage;
    if (damage) damagedRecords[destination] = damage;
    let n = 0;
    // Keys naming no cell are left out of planning (the record keeps them): said, not a run that fails.
    const malformed = await malformedCellKeysSliced(sent, slicer);
    if (malformed.length) malformedKeys[destination] = malformed;
    // A previous run planned these (the record's `cells` already count them) and may have stopped
    // before committing them: commit them again; those already in the outbox are dropped as duplicates.
    if (record.pending?.length) {
      await commitInChunks(ctx, record.pending);
      n += record.pending.length;
    }
    if (record.older) {
      // An older version's write-ahead, in the record itself: the record without it.
      sent = { cells: sent.cells, ...(sent.repaired ? { repaired: sent.repaired } : {}), ...floorOf(sent) };
      await writeSent(ctx.store, destination, sent, slicer);
      if (record.older !== true) await deleteParts(ctx.store, destination, record.older);
    }
    if (record.planned) {
      await ctx.store.kvDelete(INVENTORY_NS, plannedKey(destination));
      if (record.planned !== true) await deleteParts(ctx.store, destination, record.planned);
    }
    // The highest revision handed out: an older version kept none, so it is taken from an intact record once.
    const highest = record.highest ?? (damage ? 0 : await runSliced((due) => highestRevisionSteps(sent, due), slicer));
    // Counts given up with `dlq discard` never reached the ERP: their change is owed again.
    const discarded = await discardedCounts(ctx.store, destination, sent, now, options.settleMs?.[destination] ?? 0);
    const back = giveBackDiscarded(sent, discarded.settled);
    if (back.given.length) givenBack[destination] = back.given.length;
    const current = counts.get(destination) ?? new Map<string, CountCell>();
    let against = back.sent;
    if (mode === 'full') {
      // An ERP edited by hand: the snapshot's deltas go against what it holds, where it can be read.
      const read = await readOnHand(ctx, destination, current, back.sent, discarded.waiting, slicer, hooks.onReadProgress);
      if (read?.onHand.length) {
        against = await reconcileWithOnHandSliced(back.sent, read.onHand, slicer);
        reconciled[destination] = read.onHand.length;
      }
      if (read?.failed) readFailed[destination] = read.failed;
    }
    // A count replayed from dead letters after a newer one of its cell was sent: the current total
    // again after it (a snapshot sends every cell's anyway).
    const again = mode === 'changes' ? overtakenCells(replayed.filter((d) => d.destination === destination), against) : new Set<string>();
    if (again.size) resent[destination] = again.size;
    await turn();
    const plan = await planInventoryCountsSliced(destination, current, against, mode, now, again, slicer);
    if (plan.deliveries.length > 0) {
      // Write ahead: the deliveries, the highest revision now handed out, and the record as it will be once they are committed (its only write).
      const top = Math.max(highest, highestPlanned(plan.deliveries));
      const parts = await writeAhead(ctx.store, destination, plan.next, plan.deliveries, top > (record.highest ?? 0) || record.highest === undefined ? top : undefined, slicer);
      await commitInChunks(ctx, plan.deliveries);
      // Committed: the record is final as written; the write-ahead is done with.
      await ctx.store.kvDelete(INVENTORY_NS, plannedKey(destination));
      await deleteParts(ctx.store, destination, parts);
      n += plan.deliveries.length;
    } else {
      if (back.sent !== sent || damage) await writeSent(ctx.store, destination, plan.next, slicer);
      if (record.highest === undefined && highest > 0) await ctx.store.kvSet(INVENTORY_NS, highestKey(destination), String(highest));
    }
    committed[destination] = n;
  }
  // Parts no record or note names (a run stopped while writing them, before its note): never used, gone; and
  // notes of destinations with no record nor count. Those of a destination no longer configured stay with its record, as it is.
  const notes = new Map(kv.filter((r) => r.key.startsWith(PLANNED)).map((r) => [r.key.slice(PLANNED.length), parsePendingParts(r.value)]));
  const kept = unconfigured
    .flatMap((d) => [records.get(d)?.sent.pendingParts, notes.get(d)].map((parts) => parts && `${PLAN}${d}:${parts.id}:`))
    .filter((p): p is string => typeof p === 'string');
  for (const r of kv) if (r.key.startsWith(PLAN) && !kept.some((p) => r.key.startsWith(p))) await ctx.store.kvDelete(INVENTORY_NS, r.key);
  for (const d of notes.keys()) if (!configured.includes(d) && !unconfigured.includes(d)) await ctx.store.kvDelete(INVENTORY_NS, plannedKey(d));
  if (mode === 'full') await ctx.store.kvSet(INVENTORY_NS, 'lastFullAt', String(now));
  // Followed by their cells' totals where needed (committed above): done with.
  for (const m of marks) await ctx.store.kvDelete(INVENTORY_NS, m.key);
  const badQuantity = await runSliced(function* (due) {
    let n = 0;
    for (const item of items) {
      if (due()) yield;
      if (standingOf(item, now, options) === 'bad-quantity') n++;
    }
    return n;
  }, slicer);
  return { mode, items: items.length, deliveries: committed, givenBack, reconciled, readFailed, badQuantity, unconfigured, ...(Object.keys(resent).length ? { resent } : {}), ...(Object.keys(malformedKeys).length ? { malformedKeys } : {}), ...(Object.keys(damagedRecords).length ? { damagedRecords } : {}) };
}

/**
 * Deliveries committed per transaction: a run after every item moved plans a count per cell, two at
 * 100,000 single-item SKUs (one leaving, one arriving), ~6 s of the event loop in one transaction.
 * Safe in parts: they are written ahead in the sent record first, and a run that stopped between
 * parts commits them all again, the outbox dropping those already in it.
 */
export const COMMIT_CHUNK = 1000;

/** Commits `deliveries` in transactions of {@link COMMIT_CHUNK}, the event loop taking a turn between them. */
async function commitInChunks(ctx: TaskContext, deliveries: readonly DeliveryIntent[]): Promise<void> {
  for (let i = 0; i < deliveries.length; i += COMMIT_CHUNK) {
    if (i > 0) await turn();
    await ctx.commit(deliveries.slice(i, i + COMMIT_CHUNK));
  }
}

/**
 * Writes ahead `next` (the record once `deliveries` are committed) and `deliveries`: the
 * deliveries first, in parts of {@link COMMIT_CHUNK} (kv rows of their own, each its own write,
 * serialised in slices, a turn of the event loop between them), then `highest` (the highest revision
 * handed out, when it moved), then the note naming the parts (`planned:<destination>`), then the
 * record itself, in one write: its only one in the run (~10 MB at 100,000 single-item SKUs, 0.1 to
 * 0.6 s of the event loop; it was written a second time once the counts were committed, to drop
 * the parts it named). A crash while the parts are written leaves the record as it was (the next
 * run plans afresh, and deletes the parts no note names); one after the note, before the record,
 * leaves a note whose cells the record does not hold at the revisions planned (dropped, as nothing
 * was committed); once the record is written, every part the note names is there. At 100,000
 * single-item SKUs after every item moved, the one write of the record and its 200,000 deliveries
 * (~80 MB) held the event loop for seconds.
 */
async function writeAhead(store: Store, destination: string, next: SentCounts, deliveries: readonly DeliveryIntent[], highest: number | undefined, slicer: Slicer): Promise<PendingParts> {
  const parts: PendingParts = { id: randomUUID(), parts: Math.ceil(deliveries.length / COMMIT_CHUNK), count: deliveries.length };
  for (let part = 0; part < parts.parts; part++) {
    const chunk = deliveries.slice(part * COMMIT_CHUNK, (part + 1) * COMMIT_CHUNK);
    await store.kvSet(INVENTORY_NS, planKey(destination, parts, part), await runSliced((due) => jsonText({ deliveries: chunk }, due), slicer));
    await turn();
  }
  if (highest !== undefined) await store.kvSet(INVENTORY_NS, highestKey(destination), String(highest));
  await store.kvSet(INVENTORY_NS, plannedKey(destination), JSON.stringify(parts));
  await writeSent(store, destination, next, slicer);
  return parts;
}

/** The highest revision among planned counts. */
function highestPlanned(deliveries: readonly DeliveryIntent[]): number {
  let top = 0;
  for (const d of deliveries) {
    const revision = d.payload.revision;
    if (typeof revision === 'number' && revision > top) top = revision;
  }
  return top;
}

/** The highest revision a record holds (of any entry, and its floor). */
function* highestRevisionSteps(sent: SentCounts, due: Due): Generator<void, number, void> {
  let top = sent.revisionFloor ?? 0;
  for (const key of Object.keys(sent.cells)) {
    if (due()) yield;
    top = Math.max(top, sent.cells[key]?.revision ?? 0);
  }
  return top;
}

/** A destination's record as a run takes it before planning ({@link recordForRun}). */
interface RecordForRun {
  /** What was last sent: the record's cells, those that could not be used taken as never sent ({@link asNeverSent}). */
  readonly sent: SentCounts;
  readonly damage?: SentRecordDamage;
  /** Counts written ahead that may not all be committed (the record counts them as sent): committed again. */
  readonly pending?: readonly DeliveryIntent[];
  /** The record holds an older version's write-ahead (its counts in it, or the parts it names): written without it once they are committed. */
  readonly older?: PendingParts | true;
  /** A write-ahead's note (`planned:<destination>`), with the parts it names when readable: deleted once done with. */
  readonly planned?: PendingParts | true;
  /** The highest revision handed out (`highestRevision:<destination>`); undefined when none is kept (or it is not a whole number). */
  readonly highest?: number;
}

/**
 * A destination's record (`read`, from {@link sentRecordsOf}) as a run takes it, from the namespace
 * as listed (`kv`): with the counts a run wrote ahead and may not have committed (of a note whose
 * record was written, {@link recordOfPlan}; or an older version's, in the record); a record that
 * cannot be used as stored (or whose write-ahead cannot be read, or was changed since) with its
 * cells taken as never sent, above the revisions the outbox holds and the highest handed out.
 * Reads only: the run and `inventory counts` ({@link inventoryReport}) take it alike.
 */
async function recordForRun(store: Store, kv: readonly { key: string; value: string }[], destination: string, read: ReadSentRecord | undefined): Promise<RecordForRun> {
  let sent = read?.sent ?? EMPTY_SENT;
  let damage = read?.damage;
  const text = kv.find((r) => r.key === highestKey(destination))?.value;
  const highest = text !== undefined && /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : undefined;
  // No record, though counts were planned for the destination: its cells at revision 1 again would
  // be keys the outbox keeps for good, and every count under them dropped as one it has. With counts
  // of it in the outbox, the record was deleted (by hand, to start over): taken as damaged whole, its
  // cells go on above the revisions used, and it is warned of. Without (a stop before the first
  // record was written, nothing committed; or every count pruned since): they go on above the highest.
  if (read === undefined && highest !== undefined && highest > 0) {
    if ((await store.listDeliveries({ destination, operation: INVENTORY_COUNT, limit: 1 })).length > 0)
      damage = { record: `missing (deleted by hand?), though counts up to revision ${highest} were planned for ${destination} ("${highestKey(destination)}")` };
    else sent = { cells: {}, revisionFloor: highest };
  }
  let pending = sent.pending;
  // An older version's write-ahead: the deliveries in parts the record names; one missing or unreadable: the record cannot be finished.
  if (sent.pendingParts) {
    const parts = await pendingPartsOf(kv, destination, sent.pendingParts);
    if (typeof parts === 'string') damage = { record: parts };
    else pending = parts;
  }
  const older = pending?.length || sent.pendingParts ? (sent.pendingParts ?? true) : undefined;
  const note = kv.find((r) => r.key === plannedKey(destination));
  const planned = note === undefined ? undefined : (parsePendingParts(note.value) ?? true);
  if (planned !== undefined && damage?.record === undefined) {
    const parts = planned === true ? `named by a write-ahead ("${plannedKey(destination)}") that is not {"id", "parts", "count"}, of counts planned and maybe not committed` : await pendingPartsOf(kv, destination, planned);
    if (typeof parts === 'string') damage = { record: parts };
    else {
      const state = recordOfPlan(parts, sent, damage?.entries);
      if (state === 'recorded') pending = [...(pending ?? []), ...parts];
      else if (state === 'changed')
        damage = { record: `changed since counts were planned for it (write-ahead "${plannedKey(destination)}": its cells are neither all at the revisions planned nor all below them), of counts planned and maybe not committed` };
    }
  }
  // A record that could not be used as stored: its cells as never sent, above the revisions used, their discards owed nothing more.
  if (damage?.record !== undefined) {
    sent = EMPTY_SENT;
    pending = undefined;
  }
  if (damage) sent = asNeverSent(sent, damage, await store.listDeliveries({ destination, operation: INVENTORY_COUNT, limit: Number.MAX_SAFE_INTEGER }), highest ?? 0);
  return {
    sent,
    ...(damage ? { damage } : {}),
    ...(pending?.length ? { pending } : {}),
    ...(older !== undefined && damage?.record === undefined ? { older } : {}),
    ...(planned !== undefined ? { planned } : {}),
    ...(highest !== undefined ? { highest } : {}),
  };
}

/** The deliveries written ahead in `parts` (from the namespace as listed), or what is wrong with them: a part missing or not counts. */
async function pendingPartsOf(kv: readonly { key: string; value: string }[], destination: string, parts: PendingParts): Promise<DeliveryIntent[] | string> {
  const rows = new Map(kv.filter((r) => r.key.startsWith(`${PLAN}${destination}:${parts.id}:`)).map((r) => [r.key, r.value]));
  const out: DeliveryIntent[] = [];
  for (let part = 0; part < parts.parts; part++) {
    const key = planKey(destination, parts, part);
    const text = rows.get(key);
    const deliveries = text === undefined ? undefined : parsePendingPart(text);
    if (deliveries === undefined) return `missing a readable write-ahead part ("${key}" is ${text === undefined ? 'not there' : 'not a list of inventory counts'}), of counts planned and maybe not committed`;
    out.push(...deliveries);
    await turn();
  }
  return out;
}

/** Deletes the parts of a write-ahead once its record is finalised (a turn between them). */
async function deleteParts(store: Store, destination: string, parts: PendingParts): Promise<void> {
  for (let part = 0; part < parts.parts; part++) {
    if (part > 0) await turn();
    await store.kvDelete(INVENTORY_NS, planKey(destination, parts, part));
  }
}

/** Cells read per connector call (see {@link readOnHand}). */
const READ_CHUNK = 20;

/** Where counts of a destination have not landed at the ERP, or may still: their change is not (or not surely) in its on-hand. */
const NOT_LANDED = ['pending', 'inflight', 'dead'] as const;

/**
 * The on-hand quantity of every cell a full snapshot sends to `destination`, within its limits;
 * undefined when its connector cannot read them (or there is no cell to read). Cells with a count
 * pending, in flight or dead there are not read, nor those with a discarded count whose change is
 * not given back yet: the ERP may not hold that change yet, and a delta against its quantity would
 * send the change a second time. A failed read is returned, not
 * thrown: the snapshot then goes against what was last sent (unless the task is stopping).
 */
async function readOnHand(
  ctx: TaskContext,
  destination: string,
  current: ReadonlyMap<string, CountCell>,
  sent: SentCounts,
  waiting: readonly DiscardedCount[],
  slicer: Slicer,
  onProgress?: (progress: OnHandReadProgress) => void,
): Promise<{ onHand: OnHandQuantity[]; failed?: { cells: number; error: string } } | undefined> {
  const connector = ctx.connector(destination);
  if (!connector?.readInventory) return undefined;
  const read = connector.readInventory.bind(connector);
  // One read of all three: a count moving between them (claimed, retried) is not missed.
  const held = await ctx.store.listDeliveries({ status: NOT_LANDED, destination, operation: INVENTORY_COUNT, limit: Number.MAX_SAFE_INTEGER });
  // A discarded count whose change was not given back yet (`waiting`: its request may still land,
  // so it waits out unknownOutcomeSettleMs) is not in the ERP's on-hand either: a delta against it
  // would send the change now, and the give-back once settled would send it again.
  const cells = await snapshotCellsSliced(current, sent, new Set([...cellsOfCounts(held), ...waiting.map((d) => cellKey(d.location, d.sku))]), slicer);
  if (cells.length === 0) return undefined;
  // In calls of a few cells each: a call holds one of the destination's concurrency slots
  // throughout, and deliveries to it take turns with the reads between calls. The first call that
  // fails ends the reading (the failure would most likely repeat): the cells read are used.
  const onHand: OnHandQuantity[] = [];
  let error: string | undefined;
  onProgress?.({ destination, done: 0, total: cells.length });
  for (let i = 0; i < cells.length && error === undefined; i += READ_CHUNK) {
    const chunk = cells.slice(i, i + READ_CHUNK);
    try {
      const answer = await ctx.withinLimits(destination, (sendCtx) => read(chunk, sendCtx));
      // One answer per cell asked, in order (a connector that answered others would reconcile the wrong cells).
      if (answer.length !== chunk.length || answer.some((o, k) => o.location !== chunk[k]?.location || o.sku !== chunk[k]?.sku || !Number.isFinite(o.quantity)))
        throw new Error(`the connector's on-hand answer does not match the ${chunk.length} cells asked for`);
      onHand.push(...answer);
    } catch (err) {
      // Shutting down: stop the run, so the snapshot (still due) goes with the next one, reading.
      if (ctx.signal.aborted) throw err;
      error = coerceError(err).message;
    }
    if (error === undefined) onProgress?.({ destination, done: Math.min(i + READ_CHUNK, cells.length), total: cells.length });
  }
  // Nothing on hand anywhere, where totals above 0 were sent and landed: far more likely a read
  // of the wrong place (a path answering 404 for every cell) than an ERP emptied by hand, and
  // taken as one, since deltas against it would send every count again in full.
  const sentSome = onHand.filter((o) => (sent.cells[cellKey(o.location, o.sku)]?.quantity ?? 0) > 0).length;
  if (sentSome > 0 && onHand.every((o) => o.quantity === 0))
    return { onHand: [], failed: { cells: cells.length, error: `every cell read 0 on hand, though ${sentSome} of them were sent a total above 0: check where the destination reads on-hand quantities (REST: paths.inventoryOnHand)` } };
  return { onHand, ...(error !== undefined ? { failed: { cells: cells.length - onHand.length, error } } : {}) };
}

/**
 * Every discarded count of a destination the outbox still holds (all of them: see {@link giveBackDiscarded}):
 * `settled`, given back already or whose request can no longer land; `waiting`, the others.
 */
async function discardedCounts(store: Store, destination: string, sent: SentCounts, now: number, settleMs: number): Promise<{ settled: DiscardedCount[]; waiting: DiscardedCount[] }> {
  const discarded = await store.listDeliveries({ status: 'discarded', destination, operation: INVENTORY_COUNT, limit: Number.MAX_SAFE_INTEGER });
  // One whose last request may still land at the ERP waits until it can no longer: a change sent
  // again before then, under a new key, could be counted twice by an ERP that takes deltas.
  const done = new Set(sent.repaired ?? []);
  const settled: OutboxItem[] = [];
  const waiting: OutboxItem[] = [];
  for (const d of discarded) (done.has(d.id) || (await resendableAt(store, d, settleMs)) <= now ? settled : waiting).push(d);
  return { settled: discardedCountsOf(settled), waiting: discardedCountsOf(waiting) };
}

/**
 * When the change of a discarded inventory count may be sent again: at once (0) unless a request of
 * it may have reached the ERP (`mayHaveLanded`), then no sooner than its last attempt's end (its
 * newest audit row but changes made by hand) + the destination's `retry.unknownOutcomeSettleMs`,
 * as `dlq replay` waits for a create. Without audit rows (pruned long after), at once.
 */
export async function resendableAt(store: Store, item: Pick<OutboxItem, 'id' | 'mayHaveLanded'>, settleMs: number): Promise<number> {
  if (!item.mayHaveLanded || settleMs <= 0) return 0;
  const rows = await store.queryAudit({ deliveryId: item.id });
  const attempts = rows.filter((r) => !HAND_AUDIT_OUTCOMES.includes(r.outcome)).map((r) => r.at);
  return attempts.length ? Math.max(...attempts) + settleMs : 0;
}

/** A `sent:<destination>` record as read: what it holds that could be used, and what could not ({@link parseSentRecord}). */
export interface ReadSentRecord {
  readonly sent: SentCounts;
  readonly damage?: SentRecordDamage;
}

/**
 * The `sent:<destination>` records this process last read or wrote, per store and key, with their
 * stored text: a record whose stored text is still that text is the same record, and is not
 * parsed again (~5 MB, ~0.15 s of the event loop at 100,000 single-item SKUs, every run). The
 * text is the record's compare-and-set token ({@link Store.kvCompareAndSet} compares values): a
 * record changed in any way by anyone (another process, a hand edit) reads as other text and is
 * parsed afresh. The records are never changed in place (each change makes a new one).
 */
const sentMemo = new WeakMap<Store, Map<string, { readonly text: string; readonly read: ReadSentRecord }>>();

/**
 * Stores `sent` as the record of `destination`, remembered as the text written (see {@link sentMemo});
 * the text, `JSON.stringify`'s, written in slices of `slicer`'s length.
 */
async function writeSent(store: Store, destination: string, sent: SentCounts, slicer: Slicer): Promise<void> {
  const key = `sent:${destination}`;
  const memo = sentMemo.get(store);
  memo?.delete(key); // not known until written: a failed write leaves it to be read again
  const text = await runSliced((due) => jsonText(sent, due), slicer);
  await store.kvSet(INVENTORY_NS, key, text);
  memoOf(store).set(key, { text, read: { sent } });
}

function memoOf(store: Store): Map<string, { readonly text: string; readonly read: ReadSentRecord }> {
  let memo = sentMemo.get(store);
  if (!memo) sentMemo.set(store, (memo = new Map()));
  return memo;
}

/**
 * What each destination was last sent (the `sent:<destination>` records), from a listing of the namespace already read; with `store`, a record whose
 * text is the one this process last read or wrote there is not parsed again (see {@link sentMemo}).
 */
export function sentRecordsOf(kv: readonly { key: string; value: string }[], store?: Store): Map<string, ReadSentRecord> {
  const out = new Map<string, ReadSentRecord>();
  const memo = store ? memoOf(store) : undefined;
  const listed = new Set<string>();
  for (const r of kv) {
    if (!r.key.startsWith('sent:') || r.value === '') continue;
    listed.add(r.key);
    const known = memo?.get(r.key);
    // Not JSON, or not a record's shape: said and worked around, not a run that fails.
    const read = known !== undefined && known.text === r.value ? known.read : parseSentRecord(r.value);
    if (memo && read !== known?.read) memo.set(r.key, { text: r.value, read });
    out.set(r.key.slice('sent:'.length), read);
  }
  // A record removed since (by hand) is forgotten.
  if (memo) for (const key of memo.keys()) if (!listed.has(key)) memo.delete(key);
  return out;
}

/**
 * Destinations with counts now or sent before, sorted: those configured (all, without `configured`),
 * and those not (renamed or removed since: skipped, or their counts would queue for a destination
 * nothing delivers to, again at every snapshot).
 */
function destinationsOf(counts: ReadonlyMap<string, unknown>, sent: ReadonlyMap<string, unknown>, configured: readonly string[] | undefined): { configured: string[]; unconfigured: string[] } {
  const all = [...new Set<string>([...counts.keys(), ...sent.keys()])].sort();
  if (configured === undefined) return { configured: all, unconfigured: [] };
  return { configured: all.filter((d) => configured.includes(d)), unconfigured: all.filter((d) => !configured.includes(d)) };
}

export interface InventoryReport {
  /** When the report was taken (epoch ms; ISO 8601 in `--json`, see core/iso-json.ts). */
  readonly now: number;
  /** Per destination (sorted): each (location, SKU) counted now or sent before with a non-zero total. */
  readonly destinations: readonly {
    readonly destination: string;
    readonly cells: readonly CountComparison[];
    /**
     * Counts of its cells in dead letters (the ERP refused them, or they ran out of attempts): not
     * in the ERP, though counted as sent until replayed or discarded. Absent when none.
     */
    readonly deadLetters?: readonly DiscardedCount[];
  }[];
  /** Inventory items (assets with a SKU) by standing; `no-sku` is always 0 here. */
  readonly items: Readonly<Record<ItemStanding, number>> & { readonly total: number };
  readonly lastFullAt?: number;
  /** When the cron makes the next full snapshot due. */
  readonly nextFullAt: number;
  /** A full snapshot was asked for on demand and has not been sent yet. */
  readonly snapshotRequestedAt?: number;
  /** Destinations no longer configured with counts (sent before, or of items naming them): not sent anything (see {@link unconfiguredDestinationsWarning}). */
  readonly unconfiguredDestinations?: readonly string[];
  /** Keys of the sent records that name no cell, per destination: not shown, nor counted by the task (see {@link malformedKeysWarning}). */
  readonly malformedKeys?: Readonly<Record<string, readonly string[]>>;
  /** Sent records that cannot be used as stored, per destination: the next run takes their cells as never sent (see {@link damagedRecordsWarning}). */
  readonly damagedRecords?: Readonly<Record<string, SentRecordDamage>>;
}

/** Which items `inventory counts --destination/--location/--sku` is about. */
export interface ItemScope {
  readonly destination?: string;
  readonly location?: string;
  readonly sku?: string;
}

/**
 * What `assetbridge inventory counts` shows, from the stored item states and the records of what
 * was sent: counted now, last sent, and the change the next run will send. Reads only. `scope`
 * limits the items counted by standing (`items`) to those of that destination, at that location
 * (where they count, or would if seen again) and with that SKU; the cells are all there.
 */
export async function inventoryReport(store: Store, options: Omit<InventorySyncOptions, 'changesEveryMs'>, now: number, scope: ItemScope = {}): Promise<InventoryReport> {
  const items = await loadInventoryItems(store, options.skuAttribute, options.defaultDestination, options.zones);
  const standing: Record<ItemStanding, number> = { counted: 0, stale: 0, unplaced: 0, unseen: 0, 'bad-quantity': 0, 'no-sku': 0 };
  const inScope = (item: InventoryItem): boolean =>
    (scope.destination === undefined || item.destination === scope.destination) &&
    (scope.location === undefined || item.state?.location === scope.location) &&
    (scope.sku === undefined || item.asset.attributes[options.skuAttribute]?.trim() === scope.sku);
  let total = 0;
  for (const item of items)
    if (inScope(item)) {
      standing[standingOf(item, now, options)]++;
      total++;
    }
  const counts = countInventory(items, now, options);
  const kv = await store.kvList(INVENTORY_NS);
  const records = sentRecordsOf(kv);
  const out: { destination: string; cells: CountComparison[]; deadLetters?: DiscardedCount[] }[] = [];
  const malformedKeys: Record<string, string[]> = {};
  const damagedRecords: Record<string, SentRecordDamage> = {};
  const { configured, unconfigured } = destinationsOf(counts, records, options.destinations);
  for (const destination of configured) {
    // As the next run will see it: a record that cannot be used (or whose write-ahead cannot be read) with its cells as never
    // sent, above the revisions used; with the change of counts discarded since given back (those whose request may still land: once it cannot).
    const read = await recordForRun(store, kv, destination, records.get(destination));
    if (read.damage) damagedRecords[destination] = read.damage;
    const record = read.sent;
    const malformed = malformedCellKeys(record);
    if (malformed.length) malformedKeys[destination] = malformed;
    const sent = giveBackDiscarded(record, (await discardedCounts(store, destination, record, now, options.settleMs?.[destination] ?? 0)).settled).sent;
    const dead = discardedCountsOf(await store.listDeliveries({ status: 'dead', destination, operation: INVENTORY_COUNT, limit: Number.MAX_SAFE_INTEGER }));
    out.push({ destination, cells: compareCounts(counts.get(destination) ?? new Map(), sent), ...(dead.length ? { deadLetters: dead.sort((a, b) => a.id - b.id) } : {}) });
  }
  const snap = await snapshotState(store);
  const from = snap.lastFullAt ?? now;
  return {
    now,
    destinations: out,
    items: { ...standing, total },
    ...(snap.lastFullAt !== undefined ? { lastFullAt: snap.lastFullAt } : {}),
    nextFullAt: snap.lastFullAt === undefined ? now : CronExpressionParser.parse(options.fullSnapshotCron, { currentDate: new Date(from), tz: options.timeZone }).next().getTime(),
    ...(snap.requestedAt !== undefined ? { snapshotRequestedAt: snap.requestedAt } : {}),
    ...(unconfigured.length > 0 ? { unconfiguredDestinations: unconfigured } : {}),
    ...(Object.keys(malformedKeys).length > 0 ? { malformedKeys } : {}),
    ...(Object.keys(damagedRecords).length > 0 ? { damagedRecords } : {}),
  };
}
