/**
 * Decoder for canonical JSON events (HTTP intake, ERP feedback, replays of `rules test` input):
 * the event model as JSON, with `eventTime` as an ISO string or epoch ms and `ids` either a list
 * of `{type, value}` or a shorthand `assetId` (a tag id) / `erpAssetId`.
 * @module
 */
import type { CanonicalEvent, SourceIdentifier } from '../model/events.js';
import type { RawMessage } from '../model/messages.js';
import { payloadText, type DecodeResult, type Decoder } from './decoder.js';

function toTime(v: unknown): unknown {
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? v : t;
  }
  return v;
}

/** Convert one parsed JSON object into a canonical event candidate (validation happens later). */
export function canonicalFromJson(obj: unknown, source: string, receivedAt: number): CanonicalEvent | string {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return 'event must be a JSON object';
  const o = obj as Record<string, unknown>;
  let ids = o.ids as SourceIdentifier[] | undefined;
  if (ids === undefined) {
    if (typeof o.erpAssetId === 'string') ids = [{ type: 'erp', value: o.erpAssetId }];
    else if (typeof o.assetId === 'string') ids = [{ type: (o.idType as SourceIdentifier['type'] | undefined) ?? 'tag', value: o.assetId }];
    else return 'event needs "ids" (a list of {type, value}), "assetId" or "erpAssetId"';
  }
  const { ids: _i, assetId: _a, erpAssetId: _e, idType: _t, eventTime, ...rest } = o;
  return { ...rest, ids, source, receivedAt, eventTime: toTime(eventTime), raw: obj } as unknown as CanonicalEvent;
}

export function createCanonicalDecoder(): Decoder {
  return (message: RawMessage): DecodeResult => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payloadText(message.payload));
    } catch (err) {
      return { ok: false, reason: `payload is not JSON: ${(err as Error).message}` };
    }
    const items = Array.isArray(parsed) ? parsed : [parsed];
    const events: CanonicalEvent[] = [];
    for (const [i, item] of items.entries()) {
      const e = canonicalFromJson(item, message.source, message.receivedAt);
      if (typeof e === 'string') return { ok: false, reason: items.length > 1 ? `item ${i}: ${e}` : e };
      events.push(e);
    }
    return { ok: true, events };
  };
}
