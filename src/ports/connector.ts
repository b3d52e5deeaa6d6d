/**
 * The ERP connector port. A connector maps ERP-neutral operations to one system's API, classifies
 * failures into the delivery error taxonomy (core/errors), and reports each exchange for audit.
 * It never retries, sleeps or rate-limits: the dispatcher owns all of that.
 * @module
 */
import type { DeliveryError } from '../core/errors/errors.js';
import type { OutboxItem } from '../core/model/delivery.js';
import type { WorkOrderStatus } from '../core/model/events.js';

export interface ConnectorCapabilities {
  /** Largest batch `send` accepts; 1 when the ERP has no batch API. */
  readonly maxBatchSize: number;
  /** Operations this connector can deliver. */
  readonly operations: readonly string[];
  /**
   * State operations whose write replaces the ERP's current value (a location PATCH), so whichever
   * request lands last wins: an older request landing late can undo a newer one. After a request
   * of one of these had an unknown outcome, the dispatcher sends the key's newest value once more
   * when the old one can no longer land (`retry.unknownOutcomeSettleMs`). Not operations that
   * create a record per value (meter readings): a resend would add a second record. @default none
   */
  readonly lastWriteWins?: readonly string[];
  /**
   * State operations that create a record per value (a meter reading document), which an ERP
   * keeps in the order they land: after a request of one of these had an unknown outcome, a newer
   * value of its key waits until the old request can no longer land
   * (`retry.unknownOutcomeSettleMs`), so it cannot land after the newer one. The old value's own
   * retry waits as well when the operation is in `createsRecord`. @default none
   */
  readonly heldWhileUnsettled?: readonly string[];
  /**
   * Operations whose write creates a record in the ERP (a work order, a meter reading document, an
   * inventory count, a usage posting). After a request of one of these had an unknown outcome, its
   * retry waits until the old request can no longer land (`retry.unknownOutcomeSettleMs`): an ERP
   * without idempotency support is asked by a lookup before the create, which can miss a record
   * the ERP is still creating; one that honours an idempotency key usually records the key only
   * when the record commits, so it does not know the key while the first request is still running
   * and takes the retry as a new create. Either way the retry would create a second record; only
   * an ERP that locks a key while its request is in flight would catch it. @default none
   */
  readonly createsRecord?: readonly string[];
  /**
   * An operation that acts on the record another operation of the same business key creates (a
   * work order's `workorder.update` → its `workorder.create`): the first waits, not sent, while a
   * delivery of the second (a fact) to the same destination and key is pending, in flight, or
   * waiting for its old request to settle (`retry.unknownOutcomeSettleMs`). Waiting is no attempt,
   * and its max age (`retry.maxAgeMs`) counts from when that create was delivered or given up on.
   * A create in the dead letters holds it no longer: it is sent, and retried as its connector
   * answers (a `ConflictError` until the record is there) until its own retries run out; a create
   * replayed holds it again, and once that is delivered (or dead again) the wait's attempts are not
   * counted: it goes with its whole `retry.maxAttempts` and `retry.maxAgeMs`. @default none
   */
  readonly waitsFor?: Readonly<Record<string, string>>;
}

/** One request/response as it went over the wire, secrets redacted by the connector's client. */
export interface Exchange {
  readonly method: string;
  readonly url: string;
  readonly requestBody?: string;
  readonly status?: number;
  readonly responseBody?: string;
  readonly latencyMs: number;
}

export type ItemResult =
  | {
      readonly id: number;
      readonly ok: true;
      readonly exchange: Exchange;
      readonly response?: unknown;
      /**
       * Done without the write it asked for, and why (a `workorder.update` of a work order the ERP
       * lists completed or cancelled: nothing is patched): recorded on its audit row (`audit`,
       * `dlq show`), so a delivery that changed nothing in the ERP says so.
       */
      readonly note?: string;
    }
  | {
      readonly id: number;
      readonly ok: false;
      readonly exchange?: Exchange;
      readonly error: DeliveryError;
      /**
       * Not sent: the credentials could not be had (an OAuth2 token endpoint refused or failed), so
       * the dispatcher does not refresh them for an {@link AuthError}: that would only ask again.
       */
      readonly credentialsUnavailable?: true;
    };

export interface SendContext {
  /** Aborted when the grace period of a shutdown runs out, or when a request takes longer than the timeout (counted per request: from each `budget.next()` on). */
  readonly signal: AbortSignal;
  /**
   * The destination's request budget (invariant 4). The caller took one request's worth before the
   * call; a connector that makes more than one request in a call (a lookup before a create, a
   * second batch, another page) awaits `next()` before each further one, so the destination's rate
   * limit and any 429 pause hold for those too. Absent in tests and tools that run unlimited.
   */
  readonly budget?: RequestBudget;
  /**
   * Runs `work` (getting credentials: an OAuth2 token request, which has its own bound) with the
   * per-request timeout stopped, and starts that timeout afresh when `work` ends: `timeoutMs`
   * bounds the request itself, not the token request before it. `signal` still aborts on a
   * shutdown meanwhile. Absent in tests and tools without a per-request timeout: `work` runs as is.
   */
  readonly outsideTimeout?: <T>(work: () => Promise<T>) => Promise<T>;
}

/** Further requests within one connector call, paced by the destination's limiter. */
export interface RequestBudget {
  /** Resolves when one more request may go (a rate token is taken); rejects when `signal` aborts. */
  next(signal: AbortSignal): Promise<void>;
}

/** What one poll for work-order changes read. */
export interface WorkOrderPoll {
  /** Changes to work orders assetbridge opened (those carrying its business key). */
  readonly updates: readonly WorkOrderUpdate[];
  /**
   * The newest change time of every record read, the ERP's own work orders included: the next
   * poll starts there, so a busy ERP's manual work orders are not read again on every poll. It may
   * be earlier than some updates' (a record that changed while the poll paged): the cursor goes
   * no further than this.
   */
  readonly readUpTo?: number;
  /**
   * Work orders assetbridge opened that the connector could not read (a status its mapping does
   * not name, no id or time), as the ERP listed them, each with why: the poller keeps them in
   * quarantine (source `erp-feedback:<destination>`, as a push the webhook could not read), so
   * `quarantine replay` reads them again, as a push, once the destination's config is fixed. The
   * cursor moves past them like past any record, so this is the only way to say one: a record of
   * ours named without the record itself would be lost once the cursor has moved on. `version`:
   * which version of the record it is (its id, key, status and change time as read): listed again
   * at that version, however else its fields come, it is kept once (counted on its entry); absent,
   * its bytes tell it from another. `changedAt`: its change time, when that could be read (a
   * status the mapping does not name): a poll that lists it again within the time it asks again
   * (the cursor's instant, and `pollOverlap` before it) skips it, as it skips an update it took.
   */
  readonly setAside?: readonly { readonly record: unknown; readonly reason: string; readonly version?: string; readonly changedAt?: number }[];
  /**
   * The records read were listed oldest change first, and the destination asks its ERP for that
   * order: pages not read hold no change older than `readUpTo`. Absent: in no known order.
   */
  readonly ascending?: boolean;
  /** The call stopped at its page cap with pages of the list not read. */
  readonly more?: WorkOrderPollMore;
  /**
   * Records read whose change time is more than {@link LISTED_BEFORE_ALLOWANCE_MS} before `since`:
   * the ERP (or a middleware in front of it) ignores the changed-since filter, or reads it otherwise
   * (a local time, a date only), so every poll reads its whole list again. They are read as any
   * record (an update applied already changes nothing). `advice`: the keys to set, or what the ERP
   * must do, for the poll to be filtered.
   */
  readonly listedBefore?: WorkOrderPollListedBefore;
}

/**
 * How far before a poll's `since` a listed record may have changed without the list being taken as
 * unfiltered: an ERP that compares whole seconds or minutes, or a middleware that asks its ERP with an
 * overlap of a few minutes of its own, lists a few such. Past it, the ERP did not filter by `since`.
 */
export const LISTED_BEFORE_ALLOWANCE_MS = 5 * 60_000;

/** The records a work-order poll read that changed well before the time it asked from ({@link WorkOrderPoll.listedBefore}). */
export interface WorkOrderPollListedBefore {
  /** How many. */
  readonly count: number;
  /** Of how many records the call read. */
  readonly of: number;
  /** The oldest change time among them (epoch ms). */
  readonly oldest: number;
  /** What makes the ERP list only the changes since the cursor, naming the keys. */
  readonly advice: string;
}

/** Where a work-order list a call stopped reading goes on, and what would let a poll read it whole. */
export interface WorkOrderPollMore {
  /** Pass it back as `resume` (with the same `since`) to read the list on from its next page. */
  readonly resume: string;
  /** Pages the call read. */
  readonly pages: number;
  /** What to configure so a poll reads the list whole or oldest change first, naming the keys. */
  readonly advice: string;
}

export interface ErpConnector {
  readonly name: string;
  readonly capabilities: ConnectorCapabilities;
  /** Deliver up to `maxBatchSize` items; one result per item, in any order. Never throws. */
  send(items: readonly OutboxItem[], ctx: SendContext): Promise<ItemResult[]>;
  /**
   * Work orders changed in the ERP since `since` (epoch ms), for the maintenance closed loop; with
   * `resume` (a previous call's `more.resume` for the same `since`), the rest of that list.
   * Optional: connectors whose ERP pushes webhooks instead may omit it.
   */
  fetchWorkOrderUpdates?(since: number, ctx: SendContext, resume?: string): Promise<WorkOrderPoll>;
  /**
   * `config check --connect`: the work-order poll's first page for changes since `since` (now: a
   * harmless read), as {@link fetchWorkOrderUpdates} asks it; failed with the key to fix when the ERP
   * refuses it, with a `warning` when the list ignores the changed-since filter. Optional.
   */
  probeWorkOrderPoll?(since: number, ctx: SendContext): Promise<ProbeResult>;
  /**
   * Work-order changes the ERP pushed to `POST /v1/webhooks/{destination}/work-orders`, in the
   * ERP's own format: one update per item, or why an item is not one. `ignored`: not a change the
   * service tracks (a work order assetbridge did not open, a status the destination's config
   * says to ignore), and acknowledged. `invalid`: a change to a work order assetbridge opened that
   * cannot be read (a status the config does not map, no asset, id or time), quarantined with the
   * reason (invariant 6), since losing a completion would leave a service baseline unreset. Optional: without it the destination's webhook answers 404.
   */
  parseWorkOrderWebhook?(body: unknown): WebhookItem[];
  /**
   * The records a push body's items hold, for {@link parseWorkOrderWebhook}: a list in the envelope
   * the ERP lists work orders in is its records (indexes in the push's answer count them). Optional:
   * without it, each item of the body is one record.
   */
  workOrderWebhookRecords?(body: readonly unknown[]): unknown[];
  /**
   * Which version of a work-order record a poll listed it as (its `setAside[].version`): what
   * `quarantine replay` sets such a record aside again with, when it still cannot be read, so the
   * next poll that lists it counts it on that entry rather than opening another. Optional: without
   * it, such a record is told by its bytes.
   */
  workOrderVersion?(record: unknown): string | undefined;
  /**
   * The ERP's on-hand quantity of each (location, SKU) cell, one per cell in the order given: a
   * full inventory snapshot sends its deltas against these instead of what was last sent, so an
   * ERP that takes deltas and was edited by hand ends at the count. A cell the ERP does not know
   * has 0 on hand. Rejects with a classified DeliveryError when a cell cannot be read (then no
   * cell of the call counts). Requests after the first await `ctx.budget`. Never writes.
   * Optional: a destination whose connector lacks it is not reconciled.
   */
  readInventory?(cells: readonly InventoryCellRef[], ctx: SendContext): Promise<OnHandQuantity[]>;
  /**
   * Re-acquire credentials after a 401; rejects when `signal` aborts (a shutdown, the request
   * timeout) rather than wait for a token endpoint that does not answer. Optional for
   * static-credential connectors.
   */
  refreshAuth?(signal?: AbortSignal): Promise<void>;
  /**
   * A harmless read that shows the ERP is reachable and takes our credentials (`config check
   * --connect`). Never writes; never throws.
   */
  probe?(ctx: SendContext): Promise<ProbeResult>;
  close?(): Promise<void>;
}

/** One (location, SKU) inventory cell. */
export interface InventoryCellRef {
  readonly location: string;
  readonly sku: string;
}

/** What an ERP holds on hand in one cell. */
export interface OnHandQuantity extends InventoryCellRef {
  readonly quantity: number;
}

/** One item of a work-order webhook, as a connector reads it. */
export type WebhookItem = WorkOrderUpdate | { readonly ignored: string } | { readonly invalid: string };

/** What a connectivity check found: what was tried and how it went. */
export interface ProbeResult {
  readonly ok: boolean;
  /** e.g. `GET /api/v1/work-orders?externalKey=… → 200 in 12 ms`, or why it failed. */
  readonly detail: string;
  /**
   * When it failed, what to look at: the address, the credentials, the path, (no answer in time)
   * the address and the timeout, or (`cut-short`: a 2xx answer whose body ended early, the
   * connection closed or its JSON cut) the ERP and what is in front of it, not a setting.
   */
  readonly problem?: 'unreachable' | 'slow' | 'credentials' | 'path' | 'cut-short' | 'other';
  /** The destination's config key at fault when it is not the usual one for `problem` (a second path tried). */
  readonly key?: string;
  /** Said when it worked, but not as the service needs it (a list that ignores its filter): the service still runs. */
  readonly warning?: string;
}

/** A work order's state as the ERP reports it. */
export interface WorkOrderUpdate {
  readonly businessKey: string;
  readonly erpAssetId: string;
  readonly erpWorkOrderId: string;
  readonly status: WorkOrderStatus;
  /** When the ERP changed it (epoch ms). */
  readonly changedAt: number;
  readonly operatingHoursAtCompletion?: number;
  readonly odometerKmAtCompletion?: number;
}
