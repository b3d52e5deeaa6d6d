/**
 * Decoder for canonical JSON events (HTTP intake, ERP feedback, replays of `rules test` input):
 * the event model as JSON, with `eventTime` as an ISO string or epoch ms and `ids` either a list
 * of `{type, value}` or a shorthand `assetId` (a tag id) / `erpAssetId` (for work-order feedback on
 * one of our keys, the key's asset when neither is given).
 * @module
 */
import type { CanonicalEvent, SourceIdentifier } from '../model/events.js';
import type { RawMessage } from '../model/messages.js';
import { notJsonReason, utf8Text, type DecodeResult, type Decoder } from './decoder.js';
import { parseIsoTime } from './iso-time.js';
import { feedbackDestination, parseWorkOrderKey } from '../rules/maintenance/work-order.js';

/**
 * Epoch ms from an ISO 8601 date-time with a zone (strictly: no local-time guessing) or a number
 * (whole ms, as the event capture writes them back); anything else is left for validation to name.
 */
function toTime(v: unknown): unknown {
  if (typeof v === 'string') {
    const t = parseIsoTime(v);
    return typeof t === 'number' ? t : v;
  }
  return typeof v === 'number' && Number.isFinite(v) ? Math.round(v) : v;
}

/**
 * Fields the decoder sets itself (or that must never become own keys by assignment), and
 * `redelivered`, which the event capture writes beside the event for `rules test` (it reads it from
 * `raw`): a sender cannot mark its own message as sent again.
 */
const OWN_FIELDS = new Set(['ids', 'assetId', 'erpAssetId', 'idType', 'eventTime', 'source', 'receivedAt', 'redelivered', 'raw', '__proto__']);

/**
 * Where a work order was opened, as the outbox said when a push to a destination's webhook or a
 * poll of it took the update (work-order-feedback.ts): assetbridge's own, read only from those
 * (source `erp-feedback:<destination>`). From any other source (the HTTP intake, `rules test`,
 * `maintenance complete`) it is dropped: such feedback is held to no destination, and an outside
 * sender must not steer which destination's feedback changes a work order. A captured feedback
 * event carries it, and is taken all the same (without it) when posted again or run through `rules test`.
 */
const OPENED_AT = 'openedAtDestination';

/** Convert one parsed JSON object into a canonical event candidate (validation happens later). */
export function canonicalFromJson(obj: unknown, source: string, receivedAt: number): CanonicalEvent | string {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return 'event must be a JSON object';
  const o = obj as Record<string, unknown>;
  let ids = o.ids as SourceIdentifier[] | undefined;
  if (ids === undefined) {
    if (typeof o.erpAssetId === 'string') ids = [{ type: 'erp', value: o.erpAssetId }];
    else if (typeof o.assetId === 'string') ids = [{ type: (o.idType as SourceIdentifier['type'] | undefined) ?? 'tag', value: o.assetId }];
    // Numeric serials are ids too, as the MQTT decoder reads them.
    else if (typeof o.assetId === 'number' && Number.isFinite(o.assetId)) ids = [{ type: (o.idType as SourceIdentifier['type'] | undefined) ?? 'tag', value: String(o.assetId) }];
    else if (o.assetId !== undefined && o.assetId !== null) return `"assetId" must be a string (or a number), got ${Array.isArray(o.assetId) ? 'an array' : typeof o.assetId}`;
    else if (o.erpAssetId !== undefined && o.erpAssetId !== null) return `"erpAssetId" must be a string, got ${Array.isArray(o.erpAssetId) ? 'an array' : typeof o.erpAssetId}`;
    else {
      // Work-order feedback on one of our keys: the key names the asset.
      const keyAsset = o.kind === 'workorder' && typeof o.businessKey === 'string' ? parseWorkOrderKey(o.businessKey)?.erpAssetId : undefined;
      if (keyAsset === undefined) return 'event needs "ids" (a list of {type, value}), "assetId" or "erpAssetId"';
      ids = [{ type: 'erp', value: keyAsset }];
    }
  }
  // A loop rather than rest/spread: this runs for every event on the ingest hot path.
  const out: Record<string, unknown> = {};
  const vouched = o[OPENED_AT] !== undefined && feedbackDestination(source) !== undefined;
  for (const k in o) {
    if (OWN_FIELDS.has(k) || !Object.hasOwn(o, k) || (k === OPENED_AT && !vouched)) continue;
    const v = o[k];
    // A reader's sighting may spell "no coordinates" as null: read as absent, like the MQTT decoder does.
    if (v === null && (k === 'lat' || k === 'lng')) continue;
    out[k] = v;
  }
  out.ids = ids;
  out.source = source;
  out.receivedAt = receivedAt;
  out.eventTime = toTime(o.eventTime);
  out.raw = obj;
  return out as unknown as CanonicalEvent;
}

export function createCanonicalDecoder(): Decoder {
  return (message: RawMessage): DecodeResult => {
    const read = utf8Text(message.payload);
    if (!read.ok) return { ok: false, reason: `${read.reason}; send UTF-8 JSON` };
    const text = read.text;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return { ok: false, reason: notJsonReason(text, err) };
    }
    if (!Array.isArray(parsed)) {
      // One event (the usual payload): an array of exactly one, not an empty one pushed to, which reserves room for 17.
      const e = canonicalFromJson(parsed, message.source, message.receivedAt);
      return typeof e === 'string' ? { ok: false, reason: e } : { ok: true, events: [e] };
    }
    const items: unknown[] = parsed;
    const events: CanonicalEvent[] = [];
    // An index loop: `entries()` would allocate an iterator and an entry per item.
    for (let i = 0; i < items.length; i++) {
      const e = canonicalFromJson(items[i], message.source, message.receivedAt);
      if (typeof e === 'string') return { ok: false, reason: items.length > 1 ? `item ${i}: ${e}` : e };
      events.push(e);
    }
    return { ok: true, events };
  };
}
