/**
 * Reading an ERP's work-order push: each record through the destination connector's reading of its
 * ERP's format, then held to the feedback checks (a key of our form that no rule makes is none of
 * ours; a work order changes only from the destination it was opened at, as the outbox says). The
 * webhook takes a push this way, and `quarantine replay` runs a record the webhook could not read
 * through it again, under the current config.
 * @module
 */
import type { WebhookItem } from '../ports/connector.js';
import { parseWorkOrderKey } from '../core/rules/maintenance/work-order.js';
import { feedbackEvent, foreignUpdateReason, strayUpdateReason, withoutOpenedAt } from './tasks/work-order-feedback.js';

export { withoutOpenedAt };

/** How a destination's connector reads its ERP's work-order pushes (`ErpConnector.parseWorkOrderWebhook`). */
export interface PushReader {
  /** The records a push's items hold (a list in an envelope: its records); absent: each item is one. */
  records?(items: readonly unknown[]): unknown[];
  /** The destination connector's reading of its ERP's push format. */
  parse(body: unknown): WebhookItem[];
  /**
   * Which version of a record a poll of the destination lists it as (`ErpConnector.workOrderVersion`):
   * a polled record replayed and set aside again keeps it, so the next poll listing it counts it on
   * that entry. Absent: it is told by its bytes.
   */
  version?(record: unknown): string | undefined;
}

/** One record of a push, as read: taken (its canonical feedback event), unreadable (kept with why), or ignored (why). */
export type PushedRecord =
  | { readonly index: number; readonly event: Record<string, unknown> }
  | { readonly index: number; readonly invalid: string; readonly record: unknown }
  | {
      readonly index: number;
      readonly ignored: string;
      /** For an update of a work order of ours that is not taken (no rule makes its key, or it was opened at another destination): the update, and why. */
      readonly ours?: { readonly businessKey: string; readonly status: string; readonly reason: string };
    };

/** The keys of our form that the updates read name: where their work orders were opened is looked up ({@link openedAtOf}). */
export function pushedKeys(parsed: readonly WebhookItem[]): string[] {
  return parsed.flatMap((u) => ('businessKey' in u && parseWorkOrderKey(u.businessKey) !== undefined ? [u.businessKey] : []));
}

/**
 * What becomes of each record of a push to `destination`: `parsed` is the connector's reading of
 * `records`, `openedAt` where the work orders they name were opened (the outbox). A record of ours
 * the connector cannot read is kept as the ERP sent it, without an `openedAtDestination` of its own
 * ({@link withoutOpenedAt}).
 */
export function readPushedRecords(parsed: readonly WebhookItem[], records: readonly unknown[], destination: string, openedAt: ReadonlyMap<string, string>): PushedRecord[] {
  return parsed.map((u, index) => {
    if ('ignored' in u) return { index, ignored: u.ignored };
    if ('invalid' in u) return { index, invalid: u.invalid, record: withoutOpenedAt(records[index]) };
    // A key of our form naming no work order a rule opens, or one opened at another destination:
    // not taken (its completion would reset a baseline).
    const stray = strayUpdateReason(u) ?? foreignUpdateReason(u.businessKey, destination, openedAt);
    if (stray !== undefined) return { index, ignored: `work order ${u.businessKey}: ${stray}`, ours: { businessKey: u.businessKey, status: u.status, reason: stray } };
    return { index, event: feedbackEvent(u, openedAt.get(u.businessKey)) };
  });
}
