/**
 * The inverse of canonical-decoder.ts: an accepted event as one line of canonical JSON, the format
 * `rules test --events` and the HTTP intake read. The event capture (`capture` in the config)
 * writes these, so a day of real input can be run through a changed rule set.
 *
 * The line names the asset by its ERP id (`erpAssetId`), as identity resolved it when the event
 * arrived, so a later change of tag mapping does not move captured events to another asset. Times
 * are ISO 8601. `source` and `receivedAt` are kept for the reader; the decoder ignores them (a
 * replay is its own source, received when it is read), and `rules test` reads `receivedAt` to send
 * the idle watermarks the service sent between lines. `"redelivered": true`, written only for an
 * event of a message its source sent again (an MQTT redelivery, `RawMessage.redelivered`), is kept
 * for the reader too: `rules test` runs the rules on it as the service did (an older event then not
 * late, a meter reading not counted as held or set aside). The source's raw payload is not kept.
 * @module
 */
import type { CanonicalEvent } from '../model/events.js';

/** Fields written in front, in this order, or not copied at all. */
const SKIP = new Set(['kind', 'ids', 'eventTime', 'source', 'receivedAt', 'redelivered', 'raw']);

/**
 * The event as a canonical JSON object that decodes back to the same event for `erpAssetId`;
 * `redelivered`: its message was sent again by its source (written as `"redelivered": true`).
 */
export function canonicalToJson(event: CanonicalEvent, erpAssetId: string, redelivered = false): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: event.kind, erpAssetId, eventTime: new Date(event.eventTime).toISOString() };
  const e = event as unknown as Record<string, unknown>;
  for (const k in e) {
    if (SKIP.has(k) || !Object.hasOwn(e, k) || e[k] === undefined) continue;
    out[k] = e[k];
  }
  out.source = event.source;
  out.receivedAt = new Date(event.receivedAt).toISOString();
  if (redelivered) out.redelivered = true;
  return out;
}

/** {@link canonicalToJson} as one JSONL line, newline included. */
export function canonicalLine(event: CanonicalEvent, erpAssetId: string, redelivered = false): string {
  return `${JSON.stringify(canonicalToJson(event, erpAssetId, redelivered))}\n`;
}
