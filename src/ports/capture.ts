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
}

export interface EventCapture {
  /**
   * Append events accepted (and committed) at processing time `now`. Never throws; returns how many
   * were not captured (a size limit reached, the writer behind, or a write error, each logged).
   */
  write(events: readonly CapturedEvent[], now: number): number;
  /** Write out what is buffered and close the file. */
  close(): Promise<void>;
}
