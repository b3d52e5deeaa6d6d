/**
 * Inventory counts per (location, SKU) from every item's state, and the `inventory.count`
 * deliveries that bring an ERP from what it was last sent to what is counted now.
 *
 * Each delivery carries both the counted total (`countedQuantity`: SAP physical inventory, Odoo
 * `inventory_quantity`, ERPNext stock reconciliation) and the signed change since the last one
 * sent (`delta`: NetSuite `adjustQtyBy`), so the connector picks what its ERP takes. They are
 * facts, never coalesced (a coalesced delta would be lost), keyed `<location>|<sku>|r<revision>`
 * (`|` and `%` in a location or SKU escaped as `%7C` and `%25`)
 * with a revision per (destination, location, SKU) that only moves forward; the sent totals and
 * revisions are kept by the inventory task (see {@link SentCounts}). A new revision is the count's
 * time (ms since 1970) or one above the cell's last, whichever is higher ({@link nextRevision}):
 * a store restored from an older copy holds the revisions of that copy, not those sent since, and
 * a count under one of those keys would be taken by the ERP as one it already has.
 * @module
 */
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { InventoryItemState } from './inventory-rule.js';
import type { ZoneIndex } from '../zones/zone-index.js';
import { HELD, zoneOfState } from '../zones/tracking.js';
import { runSliced, runWhole, sortedStrings, type Due, type Slicer } from '../../slices.js';

export const INVENTORY_COUNT = 'inventory.count';

export interface InventoryCountOptions {
  readonly skuAttribute: string;
  /** Asset attribute with the quantity one tag stands for (a tagged pallet of 40). @default quantity */
  readonly quantityAttribute: string;
  /** An item counts where it was last seen only if that was within this window, ms. */
  readonly freshnessMs: number;
}

export interface InventoryItem {
  readonly asset: AssetRecord;
  readonly destination: string;
  readonly state: InventoryItemState | undefined;
}

/**
 * An item's state with its location code as the zones configured now give it: the code is stored
 * with each sighting, so a zone whose `locationCode` was changed since would otherwise go on
 * counting its items under the old code until each is seen again. An item in a zone not known now
 * (renamed or removed) keeps what was stored until it leaves that zone.
 */
export function withCurrentZoneCode(state: InventoryItemState | undefined, zones: ZoneIndex | undefined): InventoryItemState | undefined {
  if (!zones || !state?.zones || state.location === undefined || state.location === null) return state;
  const zone = zoneOfState(zones, state.zones);
  if (zone === undefined || zone === HELD) return state; // in a zone no longer configured: as counted
  return zone.locationCode === state.location ? state : { ...state, location: zone.locationCode };
}

export interface CountCell {
  readonly location: string;
  readonly sku: string;
  readonly quantity: number;
  /** Tagged items behind the quantity. */
  readonly items: number;
}

/** Separator inside map keys; never in a location code or SKU that survives the key check. */
const SEP = '\u001f';
export const cellKey = (location: string, sku: string): string => `${location}${SEP}${sku}`;

/**
 * Whether `key` (of a sent record's cells) is a cell's key as {@link cellKey} makes it: a location
 * and a SKU, neither empty, with one separator between. A record edited by hand or written by an
 * older version may hold others: they name no cell, and are left out of what is planned, read from
 * the ERP and shown (the record keeps them as they are; see {@link malformedCellKeys}).
 */
export function isCellKey(key: string): boolean {
  const at = key.indexOf(SEP);
  return at > 0 && at < key.length - 1 && !key.includes(SEP, at + 1);
}

/** The keys of `sent.cells` that are no cell's ({@link isCellKey}), in the record's order. */
export function malformedCellKeys(sent: SentCounts): string[] {
  return runWhole((due) => malformedKeySteps(sent, due));
}

/** {@link malformedCellKeys} in slices of `slicer`'s length. */
export function malformedCellKeysSliced(sent: SentCounts, slicer: Slicer): Promise<string[]> {
  return runSliced((due) => malformedKeySteps(sent, due), slicer);
}

function* malformedKeySteps(sent: SentCounts, due: Due): Generator<void, string[], void> {
  const out: string[] = [];
  for (const key of Object.keys(sent.cells)) {
    if (due()) yield;
    if (!isCellKey(key)) out.push(key);
  }
  return out;
}

/** A location or SKU inside a business key: `|` (the key's separator) and `%` escaped, so two cells never share a key. */
const keyPart = (text: string): string => text.replace(/[%|]/g, (c) => (c === '%' ? '%25' : '%7C'));

/**
 * The most units one tag may stand for. Counts are summed per (location, SKU) as numbers, exact only
 * up to 2^53 − 1; with each tag at most a billion units a cell stays exact up to 9 million tags at
 * the cap (no site holds that many), where a cap at 2^53 − 1 let two tags make a total the ERP would
 * be sent rounded. A billion units on one tag is a typo or a misread column, not a pallet.
 */
export const MAX_TAG_QUANTITY = 1_000_000_000;

/** What a valid quantity attribute looks like, for the messages that refuse one. */
export const QUANTITY_HINT = `a whole number of units one tag stands for, from 0 to ${MAX_TAG_QUANTITY} (e.g. 40), or empty for 1`;

/**
 * What one tag stands for, from its quantity attribute: 1 when absent or blank, the number when it
 * is plain digits up to {@link MAX_TAG_QUANTITY}, else undefined (`ten`, `-5`, `0x10`, `1e3`, `2.5`:
 * counts are whole units, and a value read as something else would send the ERP a wrong total;
 * more than a billion: summed with others it would no longer be exact).
 */
export function parseQuantity(text: string | undefined): number | undefined {
  const t = text?.trim() ?? '';
  if (t === '') return 1;
  if (!/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) && n <= MAX_TAG_QUANTITY ? n : undefined;
}

/**
 * Whether an item counts now: `counted` (seen at a location within the freshness window),
 * `stale` (last seen at a location before it), `unplaced` (last seen outside every location),
 * `unseen` (never seen), `bad-quantity` (its quantity attribute is not a whole number: never
 * counted, wherever it is, rather than counted as a guess), or `no-sku`.
 */
export type ItemStanding = 'counted' | 'stale' | 'unplaced' | 'unseen' | 'bad-quantity' | 'no-sku';

export function standingOf(item: InventoryItem, now: number, options: InventoryCountOptions): ItemStanding {
  const { asset, state } = item;
  if (!asset.attributes[options.skuAttribute]?.trim()) return 'no-sku';
  if (parseQuantity(asset.attributes[options.quantityAttribute]) === undefined) return 'bad-quantity';
  if (state?.seenAt === undefined) return 'unseen';
  if (!state.location) return 'unplaced';
  return now - lastSeenAt(state.seenAt, state.order, options.freshnessMs) > options.freshnessMs ? 'stale' : 'counted';
}

/**
 * When an item seen last at `seenAt` (its newest released sighting; `order` its reorder buffer) was last seen, for its
 * freshness: sightings still waiting in the reorder window count too, each one newer than the last
 * by no more than `freshnessMs` (a re-sighting just before the freshness ran out keeps the item
 * counted where it is while it waits, rather than stale for a run and back once released: a -n, +n
 * the ERP would see). Where the item is stays the released sightings' (event time wins): one after
 * a longer gap is not taken, as once released the item is there anew from it, not still counted.
 */
export function lastSeenAt(seenAt: number, order: InventoryItemState['order'], freshnessMs: number): number {
  let last = seenAt;
  for (const waiting of order?.pending ?? []) {
    if (waiting.t <= last) continue;
    if (waiting.t - last > freshnessMs) break;
    last = waiting.t;
  }
  return last;
}

/** Counts per destination, then per (location, SKU), of items seen within the freshness window. */
export function countInventory(items: readonly InventoryItem[], now: number, options: InventoryCountOptions): Map<string, Map<string, CountCell>> {
  return runWhole((due) => countSteps(items, now, options, due));
}

/** {@link countInventory} in slices of `slicer`'s length (the same counts: the same walk, paused between slices). */
export function countInventorySliced(items: readonly InventoryItem[], now: number, options: InventoryCountOptions, slicer: Slicer): Promise<Map<string, Map<string, CountCell>>> {
  return runSliced((due) => countSteps(items, now, options, due), slicer);
}

function* countSteps(items: readonly InventoryItem[], now: number, options: InventoryCountOptions, due: Due): Generator<void, Map<string, Map<string, CountCell>>, void> {
  const out = new Map<string, Map<string, CountCell>>();
  for (const item of items) {
    if (due()) yield;
    if (standingOf(item, now, options) !== 'counted') continue;
    const { asset, destination, state } = item;
    if (!state?.location) continue; // counted items have one
    const sku = (asset.attributes[options.skuAttribute] as string).trim();
    const qty = parseQuantity(asset.attributes[options.quantityAttribute]) ?? 0; // counted: valid
    let cells = out.get(destination);
    if (!cells) out.set(destination, (cells = new Map()));
    const key = cellKey(state.location, sku);
    const prev = cells.get(key);
    cells.set(key, { location: state.location, sku, quantity: (prev?.quantity ?? 0) + qty, items: (prev?.items ?? 0) + 1 });
  }
  return out;
}

/** What one destination was last sent: total and revision per (location, SKU). Plain JSON. */
export interface SentCounts {
  readonly cells: Readonly<Record<string, { readonly quantity: number; readonly revision: number }>>;
  /**
   * Deliveries planned but maybe not yet committed (write-ahead): a task that finds these commits
   * them again (the outbox drops the ones already there) before planning anything new.
   */
  readonly pending?: readonly DeliveryIntent[];
  /**
   * The same (write-ahead deliveries planned but maybe not yet committed), kept in `parts` kv rows
   * of their own beside the record, written before it, so no one write holds the event loop for
   * every planned count (200,000 after every item moved at 100,000 single-item SKUs); `count` of
   * them in all. Rows are named by `id`, new for each plan. As an older version wrote it: this one
   * names the parts in a note of its own beside the record (see the inventory task's write-ahead),
   * so that the record, written ahead as it will be once they are committed, is not written again
   * without them.
   */
  readonly pendingParts?: PendingParts;
  /**
   * Ids of the discarded counts whose change was given back to their cell (see
   * {@link giveBackDiscarded}), so it is given back once. Ids leave once the outbox no longer
   * lists them as discarded (retention).
   */
  readonly repaired?: readonly number[];
  /**
   * Set when the record was rebuilt after damage ({@link asNeverSent}): revisions up to this one
   * may have been used by cells the record does not hold (their counts since pruned from the
   * outbox, their keys kept by it for good), so such a cell's next count goes out above it, not
   * at a revision it may have used (a key the outbox would drop as one it already has), though the
   * clock ({@link nextRevision}) is behind it.
   */
  readonly revisionFloor?: number;
}

export const EMPTY_SENT: SentCounts = { cells: {} };

/** Where a write-ahead's planned deliveries are kept, in parts (see {@link SentCounts.pendingParts}). */
export interface PendingParts {
  readonly id: string;
  readonly parts: number;
  readonly count: number;
}

/**
 * A write-ahead part's text (`{"deliveries":[…]}`) as its planned counts; undefined when it is not
 * that (cut short, edited by hand): the record it belongs to cannot be finished then.
 */
export function parsePendingPart(text: string): DeliveryIntent[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const deliveries = isObject(value) ? value.deliveries : undefined;
  return Array.isArray(deliveries) && deliveries.every(isPlannedCount) ? (deliveries as DeliveryIntent[]) : undefined;
}

/** Whether `v` is a {@link PendingParts}: `{"id", "parts", "count"}`, the numbers whole and above 0. */
function isPendingParts(v: unknown): v is PendingParts {
  return isObject(v) && typeof v.id === 'string' && [v.parts, v.count].every((n) => Number.isSafeInteger(n) && (n as number) > 0);
}

/** A write-ahead's text (`{"id", "parts", "count"}`) as where its planned counts are kept; undefined when it is not that. */
export function parsePendingParts(text: string): PendingParts | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isPendingParts(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `sent` (a destination's record as read) is the record a write-ahead of `planned` (its
 * counts) was made for, written before any of them was committed: `recorded` when each planned
 * cell is at the revision planned for it (the record was written: the counts may not all be
 * committed); `not-recorded` when none is (the record is the one before: a stop came before it was
 * written, and none was committed); `changed` otherwise (the record was changed since, by hand).
 * Cells in `damaged` (entries of the record that could not be used) tell nothing and are not looked at.
 */
export function recordOfPlan(planned: readonly DeliveryIntent[], sent: SentCounts, damaged: readonly string[] = []): 'recorded' | 'not-recorded' | 'changed' {
  const skip = new Set(damaged);
  let matched = 0;
  let unmatched = 0;
  for (const d of planned) {
    const cell = cellOfCount(d);
    const revision = revisionOf(d.businessKey);
    if (cell === undefined || revision === undefined) continue;
    const key = cellKey(cell.location, cell.sku);
    if (skip.has(key)) continue;
    const have = Object.hasOwn(sent.cells, key) ? sent.cells[key]?.revision : undefined;
    if (have === revision) matched++;
    // Below the revision planned (or no entry, a cell never sent): the record from before the plan; above it: changed since.
    else if (have !== undefined && have > revision) return 'changed';
    else unmatched++;
  }
  return matched === 0 ? 'not-recorded' : unmatched === 0 ? 'recorded' : 'changed';
}

/**
 * What was wrong with a stored sent record, found as it was read ({@link parseSentRecord}): a record
 * edited by hand, cut short, or written over by something else.
 */
export interface SentRecordDamage {
  /** Why the record as a whole could not be used (not JSON, not a record's shape): every cell of it is taken as never sent. */
  readonly record?: string;
  /** Keys of cell entries whose value is not `{ "quantity": <number>, "revision": <whole number> }`: those cells are taken as never sent. */
  readonly entries?: readonly string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v);

/** Whether `v` is a sent record's cell entry: a finite quantity and a whole, non-negative revision. */
function isSentCell(v: unknown): v is { quantity: number; revision: number } {
  return isObject(v) && typeof v.quantity === 'number' && Number.isFinite(v.quantity) && typeof v.revision === 'number' && Number.isSafeInteger(v.revision) && v.revision >= 0;
}

/** Whether `v` is a write-ahead count as {@link planInventoryCounts} plans one (enough of it to commit again). */
function isPlannedCount(v: unknown): boolean {
  return isObject(v) && v.operation === INVENTORY_COUNT && v.kind === 'fact' && typeof v.destination === 'string' && typeof v.businessKey === 'string' && typeof v.erpAssetId === 'string' && typeof v.eventTime === 'number' && isObject(v.payload);
}

/**
 * A stored sent record's text as a {@link SentCounts}, and what was wrong with it, if anything,
 * rather than an error that stops every run: a record that is not JSON, or whose `cells`, `pending`
 * or `repaired` is not what they hold, is unusable whole (its counts taken as never sent: a
 * `pending` left unread could be changes the ERP never got, a `repaired` left unread changes
 * given back twice); a cell entry that is not `{ quantity, revision }` is left out (that cell
 * taken as never sent), the rest used. A key naming no cell is not damage here ({@link malformedCellKeys}).
 */
export function parseSentRecord(text: string): { sent: SentCounts; damage?: SentRecordDamage } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { sent: EMPTY_SENT, damage: { record: `not valid JSON (${err instanceof Error ? err.message : String(err)})` } };
  }
  const whole = (record: string) => ({ sent: EMPTY_SENT, damage: { record } });
  if (!isObject(value)) return whole(`not a JSON object but ${kindOf(value)}`);
  const { cells, pending, pendingParts, repaired } = value;
  if (!isObject(cells)) return whole(`its "cells" is not an object of cells but ${kindOf(cells)}`);
  if (pending !== undefined && (!Array.isArray(pending) || !pending.every(isPlannedCount))) return whole('its "pending" (counts planned, written ahead) is not a list of inventory counts');
  if (pendingParts !== undefined && !isPendingParts(pendingParts))
    return whole('its "pendingParts" (where counts planned, written ahead, are kept) is not {"id", "parts", "count"}');
  if (repaired !== undefined && (!Array.isArray(repaired) || !repaired.every((id) => Number.isSafeInteger(id)))) return whole('its "repaired" (ids of discarded counts given back) is not a list of whole numbers');
  const { revisionFloor } = value;
  if (revisionFloor !== undefined && !(Number.isSafeInteger(revisionFloor) && (revisionFloor as number) >= 0)) return whole('its "revisionFloor" (the revision cells it does not hold go on above) is not a whole number');
  const bad = Object.keys(cells).filter((key) => !isSentCell(cells[key]));
  if (bad.length === 0) return { sent: value as unknown as SentCounts };
  const kept: Record<string, { quantity: number; revision: number }> = {};
  for (const key of Object.keys(cells)) {
    const cell = cells[key];
    if (!isSentCell(cell)) continue;
    // An own `__proto__` (a record edited by hand) stays a key, as elsewhere.
    if (key === '__proto__') Object.defineProperty(kept, key, { value: cell, enumerable: true, writable: true, configurable: true });
    else kept[key] = cell;
  }
  return { sent: { ...(value as unknown as SentCounts), cells: kept }, damage: { entries: bad } };
}

/**
 * `sent` with each damaged cell (`damage`: of the whole record, every cell the outbox has counts of;
 * else the entries named) taken as never sent, from the destination's counts in the outbox (`counts`,
 * of any status): put back at quantity 0 but at the newest revision the outbox holds a count of, so
 * its next count goes out under a revision not used yet (the outbox would drop one it already has:
 * a fact's key is kept for good); and its discarded counts taken as given back (`repaired`), their
 * change being in the full count it is sent next. Returns `sent` itself when nothing changes.
 *
 * Retention deletes delivered counts from the outbox but keeps their keys, so the outbox alone may
 * not know a revision used. `highest` (the destination's highest revision handed out, kept apart
 * from the record: see the inventory task) puts each damaged cell at that revision at least; a
 * damaged whole record, whose cells are not known, keeps it as its `revisionFloor` for every cell
 * it does not hold.
 */
export function asNeverSent(
  sent: SentCounts,
  damage: SentRecordDamage,
  counts: readonly { readonly id: number; readonly status: string; readonly operation: string; readonly sequence?: string; readonly businessKey: string }[],
  highest = 0,
): SentCounts {
  const damaged = damage.record !== undefined ? undefined : new Set(damage.entries ?? []);
  const floors = new Map<string, number>();
  const repaired = new Set(sent.repaired ?? []);
  const known = repaired.size;
  for (const item of counts) {
    const cell = cellOfCount(item);
    if (cell === undefined) continue;
    const key = cellKey(cell.location, cell.sku);
    if ((damaged !== undefined && !damaged.has(key)) || Object.hasOwn(sent.cells, key)) continue;
    if (item.status === 'discarded') repaired.add(item.id);
    const revision = revisionOf(item.businessKey);
    if (revision !== undefined) floors.set(key, Math.max(floors.get(key) ?? highest, revision));
  }
  // A damaged entry whose counts are all gone from the outbox (pruned) is still above every revision handed out.
  if (damaged !== undefined && highest > 0) for (const key of damaged) if (isCellKey(key) && !Object.hasOwn(sent.cells, key) && !floors.has(key)) floors.set(key, highest);
  const floor = damaged === undefined && highest > (sent.revisionFloor ?? 0) ? highest : undefined;
  if (floors.size === 0 && repaired.size === known && floor === undefined) return sent;
  const cells: Record<string, { quantity: number; revision: number }> = { ...sent.cells };
  for (const [key, revision] of floors) cells[key] = { quantity: 0, revision };
  return { ...sent, cells, ...(repaired.size ? { repaired: [...repaired].sort((x, y) => x - y) } : {}), ...(floor !== undefined ? { revisionFloor: floor } : {}) };
}

/** A count given up with `dlq discard`: it never reached the ERP. */
export interface DiscardedCount {
  /** Outbox id. */
  readonly id: number;
  /** The count's cell, from its sequence (which a payload edit does not change). */
  readonly location: string;
  readonly sku: string;
  /** The change it carried. */
  readonly delta: number;
}

/** A location or SKU back from {@link keyPart}. */
const unkeyPart = (text: string): string => text.replace(/%7C|%25/g, (c) => (c === '%25' ? '%' : '|'));

/**
 * The discarded `inventory.count` deliveries among `items` (an outbox listing), with the cell and
 * change each carried; rows that are not counts, or whose payload holds no numeric delta, are left out.
 */
export function discardedCountsOf(items: readonly { readonly id: number; readonly operation: string; readonly sequence?: string; readonly payload: unknown }[]): DiscardedCount[] {
  const out: DiscardedCount[] = [];
  for (const item of items) {
    const cell = cellOfCount(item);
    const delta = (item.payload as { delta?: unknown } | null)?.delta;
    if (cell === undefined || typeof delta !== 'number' || !Number.isFinite(delta)) continue;
    out.push({ id: item.id, ...cell, delta });
  }
  return out;
}

/** The cell of an `inventory.count` delivery, from its sequence (which a payload edit does not change); undefined for other rows. */
function cellOfCount(item: { readonly operation: string; readonly sequence?: string }): { location: string; sku: string } | undefined {
  if (item.operation !== INVENTORY_COUNT || item.sequence === undefined) return undefined;
  const parts = item.sequence.split('|');
  if (parts.length !== 2) return undefined;
  return { location: unkeyPart(parts[0] as string), sku: unkeyPart(parts[1] as string) };
}

/** The cells (keys as {@link cellKey} makes them) of the `inventory.count` deliveries among `items` (an outbox listing). */
export function cellsOfCounts(items: readonly { readonly operation: string; readonly sequence?: string }[]): Set<string> {
  const out = new Set<string>();
  for (const item of items) {
    const cell = cellOfCount(item);
    if (cell) out.add(cellKey(cell.location, cell.sku));
  }
  return out;
}

/** Every cell counted now or sent before, sorted (the order counts are planned, read and shown in); a sent key that is no cell ({@link isCellKey}) is left out. */
function cellKeysOf(current: ReadonlyMap<string, CountCell>, sent: SentCounts): string[] {
  return runWhole((due) => cellKeySteps(current, sent, due));
}

function* cellKeySteps(current: ReadonlyMap<string, CountCell>, sent: SentCounts, due: Due): Generator<void, string[], void> {
  const keys: string[] = [];
  for (const key of Object.keys(sent.cells)) {
    if (due()) yield;
    if (isCellKey(key)) keys.push(key);
  }
  for (const key of current.keys()) {
    if (due()) yield;
    if (!Object.hasOwn(sent.cells, key)) keys.push(key);
  }
  return yield* sortedStrings(keys, due);
}

/**
 * The cells a `changes` run sends, sorted as {@link cellKeysOf} sorts them: those whose count differs
 * from what was last sent, and those of `again` that were sent before (a sent key that is no cell
 * left out, as there). Sorts only these, not every cell.
 */
function* changedKeySteps(current: ReadonlyMap<string, CountCell>, sent: SentCounts, again: ReadonlySet<string>, due: Due): Generator<void, string[], void> {
  const out: string[] = [];
  for (const [key, cell] of current) {
    if (due()) yield;
    if (cell.quantity !== (sent.cells[key]?.quantity ?? 0) || (again.has(key) && sent.cells[key] !== undefined)) out.push(key);
  }
  for (const key of Object.keys(sent.cells)) {
    if (due()) yield;
    if (current.has(key) || !isCellKey(key)) continue;
    const before = sent.cells[key] as { readonly quantity: number };
    if (before.quantity !== 0 || again.has(key)) out.push(key);
  }
  return yield* sortedStrings(out, due);
}

/** One (location, SKU) with the quantity an ERP holds on hand there. */
export interface OnHandCell {
  readonly location: string;
  readonly sku: string;
  readonly quantity: number;
}

/**
 * The cells a full snapshot sends (see {@link planInventoryCounts}): every one counted now or sent
 * before, by key, less those in `except` (cells with a count not yet landed at the ERP).
 */
export function snapshotCells(current: ReadonlyMap<string, CountCell>, sent: SentCounts, except: ReadonlySet<string> = new Set()): { location: string; sku: string }[] {
  return runWhole((due) => snapshotCellSteps(current, sent, except, due));
}

/** {@link snapshotCells} in slices of `slicer`'s length. */
export function snapshotCellsSliced(current: ReadonlyMap<string, CountCell>, sent: SentCounts, except: ReadonlySet<string>, slicer: Slicer): Promise<{ location: string; sku: string }[]> {
  return runSliced((due) => snapshotCellSteps(current, sent, except, due), slicer);
}

function* snapshotCellSteps(current: ReadonlyMap<string, CountCell>, sent: SentCounts, except: ReadonlySet<string>, due: Due): Generator<void, { location: string; sku: string }[], void> {
  const out: { location: string; sku: string }[] = [];
  for (const key of yield* cellKeySteps(current, sent, due)) {
    if (due()) yield;
    if (except.has(key) || ((current.get(key)?.quantity ?? 0) === 0 && sent.cells[key] === undefined)) continue;
    const [location, sku] = key.split(SEP) as [string, string];
    out.push({ location, sku });
  }
  return out;
}

/**
 * The sent record with each cell read from the ERP taken as last sent at the ERP's on-hand
 * quantity (its revision kept; for a cell never sent, the record's revisionFloor, else 0), so a full snapshot planned from it sends
 * `delta` = counted − on hand: an ERP that takes deltas and was edited by hand ends at the count.
 * Only for cells whose earlier counts have all landed (none pending, in flight or dead), or a
 * change would count twice. Returns the record unchanged (the same object) when nothing was read.
 */
export function reconcileWithOnHand(sent: SentCounts, onHand: readonly OnHandCell[]): SentCounts {
  return runWhole((due) => reconcileSteps(sent, onHand, due));
}

/** {@link reconcileWithOnHand} in slices of `slicer`'s length. */
export function reconcileWithOnHandSliced(sent: SentCounts, onHand: readonly OnHandCell[], slicer: Slicer): Promise<SentCounts> {
  return runSliced((due) => reconcileSteps(sent, onHand, due), slicer);
}

function* reconcileSteps(sent: SentCounts, onHand: readonly OnHandCell[], due: Due): Generator<void, SentCounts, void> {
  if (onHand.length === 0) return sent;
  const cells = yield* copyOfCells(sent.cells, due);
  for (const read of onHand) {
    if (due()) yield;
    const key = cellKey(read.location, read.sku);
    // A cell the record does not hold goes on above its floor (a record rebuilt after damage), as
    // planning a cell never sent does: at revision 0 its count would go out as r1, a key that may be
    // used already (the outbox keeps keys for good, and drops the count as one it has).
    cells[key] = { quantity: read.quantity, revision: cells[key]?.revision ?? sent.revisionFloor ?? 0 };
  }
  return { ...sent, cells };
}

/** `{ ...cells }`, key by key (in their order: no key is an array index, each holding the separator). */
function* copyOfCells(from: SentCounts['cells'], due: Due): Generator<void, Record<string, { quantity: number; revision: number }>, void> {
  const cells: Record<string, { quantity: number; revision: number }> = {};
  for (const key of Object.keys(from)) {
    if (due()) yield;
    const value = from[key] as { quantity: number; revision: number };
    // An own `__proto__` (a record edited by hand) stays a key, as the spread keeps it.
    if (key === '__proto__') Object.defineProperty(cells, key, { value, enumerable: true, writable: true, configurable: true });
    else cells[key] = value;
  }
  return cells;
}

/**
 * The sent record with the change of each newly discarded count given back: what a destination
 * holds is then taken as the total last sent minus that change, so the next run sends it again
 * (an ERP that takes deltas gets what it missed; one that takes totals gets the current total once
 * more). `discarded` must list every discarded count of the destination the outbox still holds:
 * ids remembered as repaired and no longer listed are forgotten. Returns the record unchanged
 * (the same object) when nothing is new.
 */
export function giveBackDiscarded(sent: SentCounts, discarded: readonly DiscardedCount[]): { sent: SentCounts; given: DiscardedCount[] } {
  const done = new Set(sent.repaired ?? []);
  const fresh = discarded.filter((d) => !done.has(d.id));
  const listed = new Set(discarded.map((d) => d.id));
  const kept = (sent.repaired ?? []).filter((id) => listed.has(id));
  if (fresh.length === 0 && kept.length === (sent.repaired?.length ?? 0)) return { sent, given: [] };
  const cells: Record<string, { quantity: number; revision: number }> = { ...sent.cells };
  const given: DiscardedCount[] = [];
  for (const d of fresh) {
    const key = cellKey(d.location, d.sku);
    const cell = cells[key];
    // A cell the record no longer has (it was reset) owes nothing; a zero change gives nothing back.
    if (cell === undefined || d.delta === 0) continue;
    cells[key] = { quantity: countDifference(cell.quantity, d.delta), revision: cell.revision };
    given.push(d);
  }
  const repaired = [...kept, ...fresh.map((d) => d.id)].sort((a, b) => a - b);
  return { sent: { cells, ...(sent.pending ? { pending: sent.pending } : {}), ...(sent.pendingParts ? { pendingParts: sent.pendingParts } : {}), ...(repaired.length ? { repaired } : {}), ...floorOf(sent) }, given };
}

/** Digits after the decimal point in `x` as JavaScript writes it (`2.3`: 1, `1e-7`: 7, `40`: 0). */
function decimalsOf(x: number): number {
  const m = /^\d+(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(Math.abs(x)));
  return m ? Math.max(0, (m[1]?.length ?? 0) - Number(m[2] ?? 0)) : 0;
}

/**
 * `a − b` to the decimals of the two: counts are whole, but an on-hand quantity read from the ERP
 * may not be (2.3 kg), and the float difference (2 − 2.3 = -0.2999999999999998) would be sent as the
 * delta, which an ERP's decimal field refuses (SAP: 3 decimals) or books as an odd remainder.
 */
export function countDifference(a: number, b: number): number {
  const d = Math.min(100, Math.max(decimalsOf(a), decimalsOf(b)));
  return d === 0 ? a - b : Number((a - b).toFixed(d));
}

export interface PlannedCounts {
  readonly deliveries: DeliveryIntent[];
  /** The record to keep once the deliveries are committed. */
  readonly next: SentCounts;
}

/**
 * Plan the `inventory.count` deliveries for one destination. `changes`: only cells whose count
 * differs from what was sent, and those in `again` (keys as {@link cellKey} makes them; delta 0
 * when unchanged). `full`: every cell counted now or sent before with a non-zero
 * count (a periodic snapshot, so an ERP adjusted by hand is corrected; delta 0 when unchanged).
 */
export function planInventoryCounts(
  destination: string,
  current: ReadonlyMap<string, CountCell>,
  sent: SentCounts,
  mode: 'changes' | 'full',
  now: number,
  again: ReadonlySet<string> = new Set(),
): PlannedCounts {
  return runWhole((due) => planSteps(destination, current, sent, mode, now, again, due));
}

/**
 * {@link planInventoryCounts} in slices of `slicer`'s length: the same plan (the same walk, paused
 * between slices), as long as `current` and `sent` are not changed in place meanwhile.
 */
export function planInventoryCountsSliced(
  destination: string,
  current: ReadonlyMap<string, CountCell>,
  sent: SentCounts,
  mode: 'changes' | 'full',
  now: number,
  again: ReadonlySet<string>,
  slicer: Slicer,
): Promise<PlannedCounts> {
  return runSliced((due) => planSteps(destination, current, sent, mode, now, again, due), slicer);
}

function* planSteps(
  destination: string,
  current: ReadonlyMap<string, CountCell>,
  sent: SentCounts,
  mode: 'changes' | 'full',
  now: number,
  again: ReadonlySet<string>,
  due: Due,
): Generator<void, PlannedCounts, void> {
  const deliveries: DeliveryIntent[] = [];
  const keys = mode === 'changes' ? yield* changedKeySteps(current, sent, again, due) : yield* cellKeySteps(current, sent, due);
  // The usual run changes nothing: the record as it was, not a copy of every cell (a fleet of many SKUs has 100,000s).
  if (keys.length === 0) return { deliveries, next: { cells: sent.cells, ...(sent.repaired?.length ? { repaired: sent.repaired } : {}), ...floorOf(sent) } };
  const cells = yield* copyOfCells(sent.cells, due);
  for (const key of keys) {
    if (due()) yield;
    const cell = current.get(key);
    const before = sent.cells[key];
    const quantity = cell?.quantity ?? 0;
    const previous = before?.quantity ?? 0;
    // A full snapshot sends every cell ever sent, an empty one as 0 too (an ERP edited by hand is set
    // right); a cell never sent and empty now is nothing to send.
    if (mode === 'full' && quantity === 0 && before === undefined) continue;
    const [location, sku] = key.split(SEP) as [string, string];
    const revision = nextRevision(before?.revision ?? sent.revisionFloor ?? 0, now);
    cells[key] = { quantity, revision };
    deliveries.push({
      destination,
      operation: INVENTORY_COUNT,
      kind: 'fact',
      businessKey: `${keyPart(location)}|${keyPart(sku)}|r${revision}`,
      // A cell's revisions reach the ERP in order: an ERP that takes the total keeps the newest.
      sequence: `${keyPart(location)}|${keyPart(sku)}`,
      erpAssetId: sku,
      eventTime: now,
      payload: {
        location,
        sku,
        countedQuantity: quantity,
        delta: countDifference(quantity, previous),
        previousQuantity: previous,
        countedAt: new Date(now).toISOString(),
        items: cell?.items ?? 0,
        snapshot: mode === 'full',
        revision,
      },
    });
  }
  // Cells stay even at zero: their revision must only move forward, or a key would repeat.
  return { deliveries, next: { cells, ...(sent.repaired?.length ? { repaired: sent.repaired } : {}), ...floorOf(sent) } };
}

/**
 * The revision of a cell's next count after `previous` (its last; 0 for none), planned at `now`
 * (epoch ms): one above `previous`, or `now` when that is higher. Revisions live in the store, and
 * a store restored from an older copy (`store backup`, or a file copied by hand) holds that copy's:
 * counted on from there, a cell's next counts would go out under keys the ERP already received
 * after the copy was taken (`<location>|<sku>|r<n>`), and an ERP that keeps idempotency keys (or
 * the connector's lookup by `externalKey` before a create) would take each as one it has, never
 * applying it. From the clock, a revision is above every one handed out before the restore, as
 * long as the clock has not gone back by more than the time since the last count the copy missed
 * (and no cell was counted twice within a millisecond, which moves a cell ahead of the clock by 1).
 * A store of an older version (revisions counted up from 1) goes on from the clock too: its
 * revisions only move forward. A `now` that is not a whole number of ms is taken down to one; a
 * clock that is no time (NaN) counts up from `previous` alone.
 */
export function nextRevision(previous: number, now: number): number {
  const clock = Math.floor(now);
  return Number.isSafeInteger(clock) && clock > previous ? clock : previous + 1;
}

/** `sent`'s {@link SentCounts.revisionFloor}, to spread into a record made from it. */
export const floorOf = (sent: SentCounts): { revisionFloor?: number } => (sent.revisionFloor !== undefined ? { revisionFloor: sent.revisionFloor } : {});

/** The revision a count's business key carries (`…|r<n>`), undefined for a key without one. */
const revisionOf = (businessKey: string): number | undefined => {
  const m = /\|r(\d+)$/.exec(businessKey);
  return m ? Number(m[1]) : undefined;
};

/**
 * Cells (keys as {@link cellKey} makes them) of `replayed` (counts queued again from dead letters)
 * whose newest replayed revision is older than the newest planned (`sent`): such a count lands
 * after a newer one of its cell did (or will, as it was claimed first), and an ERP that takes
 * totals is left at its older total. The current total sent once more after it (delta 0) sets that
 * right, and is nothing to an ERP that takes deltas.
 */
export function overtakenCells(replayed: readonly { readonly operation: string; readonly sequence?: string; readonly businessKey: string }[], sent: SentCounts): Set<string> {
  const newest = new Map<string, number>();
  for (const item of replayed) {
    const cell = cellOfCount(item);
    const revision = revisionOf(item.businessKey);
    if (cell === undefined || revision === undefined) continue;
    const key = cellKey(cell.location, cell.sku);
    newest.set(key, Math.max(newest.get(key) ?? 0, revision));
  }
  const out = new Set<string>();
  for (const [key, revision] of newest) if (revision < (sent.cells[key]?.revision ?? 0)) out.add(key);
  return out;
}

/** One (location, SKU) as counted now, beside what its destination was last sent. */
export interface CountComparison {
  readonly location: string;
  readonly sku: string;
  /** Counted now (0: nothing fresh is there any more). */
  readonly quantity: number;
  /** Tagged items behind `quantity`. */
  readonly items: number;
  /** The total last sent (0 when never sent). */
  readonly sentQuantity: number;
  /**
   * Revision of the last count sent (0: never sent); the next count goes out above it ({@link nextRevision}:
   * at this + 1, or the time of the count in ms since 1970 when that is higher). For a cell of a
   * record rebuilt after damage, the revision it goes on above ({@link asNeverSent}).
   */
  readonly revision: number;
  /** What the next run sends as the delta: `quantity − sentQuantity`. */
  readonly change: number;
}

/**
 * Every (location, SKU) counted now, or last sent a non-zero total, by location then SKU: what
 * `inventory counts` shows. A full snapshot sends these and, besides, every cell last sent 0 with
 * nothing counted there now (0 again, delta 0: see {@link planInventoryCounts}), which this leaves
 * out; a snapshot's on-hand read leaves out those with a count not landed ({@link snapshotCells}).
 */
export function compareCounts(current: ReadonlyMap<string, CountCell>, sent: SentCounts): CountComparison[] {
  const out: CountComparison[] = [];
  for (const key of cellKeysOf(current, sent)) {
    const cell = current.get(key);
    const before = sent.cells[key];
    const quantity = cell?.quantity ?? 0;
    const sentQuantity = before?.quantity ?? 0;
    if (quantity === 0 && sentQuantity === 0) continue;
    const [location, sku] = key.split(SEP) as [string, string];
    out.push({ location, sku, quantity, items: cell?.items ?? 0, sentQuantity, revision: before?.revision ?? sent.revisionFloor ?? 0, change: countDifference(quantity, sentQuantity) });
  }
  return out;
}

/** One item as `inventory items` shows it: where it counts (or why it does not). */
export interface ItemRow {
  readonly erpAssetId: string;
  readonly destination: string;
  readonly sku: string;
  /** What the tag stands for (`quantityAttribute`, else 1); absent when that is not a whole number. */
  readonly quantity?: number;
  /** The quantity attribute as stored, when it is not a whole number (standing `bad-quantity`). */
  readonly badQuantity?: string;
  readonly standing: Exclude<ItemStanding, 'no-sku'>;
  /** Where it was last seen: an ERP location code (for `stale`, where it would count if seen again). */
  readonly location?: string;
  /**
   * Event time of its newest sighting, released or still waiting in the reorder window when that one
   * keeps it counted ({@link lastSeenAt}): the one its freshness is measured from, so a counted
   * item is never shown last seen longer than `freshness` ago.
   */
  readonly seenAt?: number;
  /** Since when it has been at `location`. */
  readonly since?: number;
}

export interface ItemFilter {
  readonly destination?: string;
  readonly location?: string;
  readonly sku?: string;
  readonly standing?: ItemRow['standing'];
}

/**
 * Every inventory item with its standing, for reconciling a count with the shelf: which tags make
 * up a (location, SKU) count, and which were left out as stale, seen outside every location,
 * never seen or with a quantity that is not a whole number. Sorted by destination, location, SKU and item.
 */
export function inventoryItemRows(items: readonly InventoryItem[], now: number, options: InventoryCountOptions, filter: ItemFilter = {}): ItemRow[] {
  const rows: ItemRow[] = [];
  for (const item of items) {
    const standing = standingOf(item, now, options);
    if (standing === 'no-sku') continue;
    const { asset, destination, state } = item;
    const sku = (asset.attributes[options.skuAttribute] as string).trim();
    const location = state?.location ?? undefined;
    const quantity = parseQuantity(asset.attributes[options.quantityAttribute]);
    if (filter.destination !== undefined && destination !== filter.destination) continue;
    if (filter.location !== undefined && location !== filter.location) continue;
    if (filter.sku !== undefined && sku !== filter.sku) continue;
    if (filter.standing !== undefined && standing !== filter.standing) continue;
    rows.push({
      erpAssetId: asset.erpAssetId,
      destination,
      sku,
      ...(quantity !== undefined ? { quantity } : { badQuantity: asset.attributes[options.quantityAttribute] ?? '' }),
      standing,
      ...(location !== undefined ? { location } : {}),
      // The sighting its standing counts from: a waiting one (not released yet) can keep it counted.
      ...(state?.seenAt !== undefined ? { seenAt: lastSeenAt(state.seenAt, state.order, options.freshnessMs) } : {}),
      ...(location !== undefined && state?.since !== undefined ? { since: state.since } : {}),
    });
  }
  const text = (v: string | undefined) => v ?? '\uffff'; // rows without a location last
  return rows.sort((a, b) => a.destination.localeCompare(b.destination) || text(a.location).localeCompare(text(b.location)) || a.sku.localeCompare(b.sku) || a.erpAssetId.localeCompare(b.erpAssetId));
}
