/**
 * The event capture port: a copy of every accepted event, kept outside the store so real input can
 * be run through changed rules later (`rules test --events`). Best effort by design: it is not
 * part of any commit, and a full disk or a slow one never holds up or fails ingest.
 * @module
 */
import type { CanonicalEvent } from '../core/model/events.js';

export interface CapturedEvent {
  readonly event: CanonicalEvent;
  /** The ERP asset identity resolved the event to. */
  readonly erpAssetId: string;
  /**
   * Its message was sent again by its source (`RawMessage.redelivered`, an MQTT redelivery): the
   * rules ran with `RuleContext.redelivered`, so `rules test` must too (the line's `"redelivered": true`).
   */
  readonly redelivered?: true;
}

export interface EventCapture {
  /**
   * Append events accepted (and committed) at processing time `now`. Never throws; returns how many
   * were not taken (a size limit reached, the writer behind, or capture paused by an earlier write
   * error, each logged). Those taken are written afterwards: a write that then fails (a full disk)
   * loses them too, which only {@link EventCapture.counts} tells.
   */
  write(events: readonly CapturedEvent[], now: number): number;
  /**
   * Since start: events written to the capture files (their write finished), and events not kept
   * (not taken by `write`, or lost with a write that failed). Events still being written are in
   * neither. What metrics and `status` report; absent, they count from `write`'s return value.
   */
  counts?(): { readonly captured: number; readonly dropped: number };
  /** Write out what is buffered and close the file. */
  close(): Promise<void>;
}
