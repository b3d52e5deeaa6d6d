/**
 * Deliveries: what the rules ask to be written to an ERP, and the outbox's view of them.
 * @module
 */

/**
 * `state` deliveries carry the latest value of something (location, latest meter) and coalesce
 * while pending: only the newest by event time is sent. `fact` deliveries (work orders, meter
 * documents, period usage) are each sent exactly once and never coalesce (invariant 8).
 */
export type DeliveryKind = 'state' | 'fact';

/** Operations are ERP-neutral; each connector maps them to its own API. */
export type Operation =
  | 'location.update'
  | 'workorder.create'
  | 'meter.record'
  | 'inventory.count'
  | 'usage.post'
  | (string & {});

/** A delivery a rule wants made. Pure data; the outbox gives it identity and lifecycle. */
export interface DeliveryIntent {
  readonly destination: string;
  readonly operation: Operation;
  readonly kind: DeliveryKind;
  /**
   * The business key that identifies the thing being written, e.g. the ERP asset id for a
   * location update, or `asset|rule|occurrence` for a work order. With destination and operation
   * it is the outbox key.
   */
  readonly businessKey: string;
  readonly erpAssetId: string;
  /** Event time of the fact this delivery carries (epoch ms). */
  readonly eventTime: number;
  /** Connector-neutral payload; the connector maps it to the ERP's shape. */
  readonly payload: Readonly<Record<string, unknown>>;
  /**
   * Facts only: facts of one destination and operation with the same sequence reach the ERP in
   * the order they were enqueued; none is sent while an earlier one is pending or in flight. For
   * facts that each carry a newer total of one thing (an inventory count's revisions), so a retried
   * older total never lands after a newer one (invariant 8). A dead one no longer holds the rest.
   */
  readonly sequence?: string;
}

/**
 * `superseded`: a state delivery replaced by a newer value for the same key before it could be
 * sent (a retry or replay never sends an older value over a newer one). `discarded`: a dead
 * letter an operator gave up on; the row stays (a discarded fact still holds its key, so a replay
 * or a second post cannot queue it again) until retention deletes it like a delivered one.
 */
export type DeliveryStatus = 'pending' | 'inflight' | 'delivered' | 'dead' | 'superseded' | 'discarded';

/** A delivery as stored in the outbox. */
export interface OutboxItem extends DeliveryIntent {
  readonly id: number;
  /** Derived from the business fact; identical on every retry and replay (invariant 3). */
  readonly idempotencyKey: string;
  readonly status: DeliveryStatus;
  /** Attempts made so far. */
  readonly attempts: number;
  /** When the row was made: for a state update, when its key first went pending (the lag). */
  readonly createdAt: number;
  /**
   * When the value now in the row was queued: a state update's newer value replacing the pending
   * one sets it anew. `retry.maxAgeMs` counts from it.
   */
  readonly enqueuedAt: number;
  readonly nextAttemptAt: number;
  readonly lastError?: string;
  /**
   * A state value sent once more, with its own idempotency key, because an earlier request of its
   * key had an unknown outcome and could have landed after it (see {@link AttemptOutcome}).
   */
  readonly resend?: true;
  /**
   * A request of this delivery had an unknown outcome (timed out, connection dropped, answered
   * with a 5xx server error, in flight when the process died): the ERP may have taken it though
   * no attempt succeeded. `dlq list`
   * shows it; `dlq mark-delivered` records one the ERP is found to hold.
   */
  readonly mayHaveLanded?: true;
}

/** Key under which deliveries of one destination must not overlap in flight (per-key ordering). */
export function outboxKey(d: { readonly operation: string; readonly businessKey: string }): string {
  return `${d.operation}\u001f${d.businessKey}`;
}
