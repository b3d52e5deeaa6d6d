/** The canonical decoder's list form, pinned by a mutation audit: one bad item refuses the message. */
import { describe, expect, it } from 'vitest';
import { createCanonicalDecoder } from './canonical-decoder.js';

const decode = createCanonicalDecoder();
const at = '2026-03-01T10:00:00Z';
const message = (payload: unknown) => ({ source: 'http', channel: '/v1/events', payload: JSON.stringify(payload), receivedAt: Date.UTC(2026, 2, 1, 12) });

describe('createCanonicalDecoder: a list of events', () => {
  it('refuses the whole message when one item is not an event, naming the item, rather than dropping that item', () => {
    // Mutation: the bad item skipped and the rest accepted (an event lost without a trace).
    const r = decode(message([{ kind: 'position', assetId: 'tag-1', eventTime: at, lat: 51, lng: 4 }, 'not an event', { kind: 'position', assetId: 'tag-2', eventTime: at, lat: 52, lng: 4 }]));
    expect(r).toEqual({ ok: false, reason: 'item 1: event must be a JSON object' });
    expect(decode(message([{ kind: 'meter', eventTime: at, operatingHours: 3 }]))).toEqual({ ok: false, reason: 'event needs "ids" (a list of {type, value}), "assetId" or "erpAssetId"' });
  });

  it('decodes every item of a good list, in order', () => {
    const r = decode(message([{ kind: 'position', assetId: 'tag-1', eventTime: at, lat: 51, lng: 4 }, { kind: 'meter', erpAssetId: 'EQ-2', eventTime: at, operatingHours: 3 }]));
    expect(r.ok && r.events.map((e) => [e.kind, e.ids])).toEqual([
      ['position', [{ type: 'tag', value: 'tag-1' }]],
      ['meter', [{ type: 'erp', value: 'EQ-2' }]],
    ]);
  });

  it('decodes one event sent alone (not in a list) as a list of that event, and names no item when it is bad', () => {
    const r = decode(message({ kind: 'meter', erpAssetId: 'EQ-2', eventTime: at, operatingHours: 3 }));
    expect(r.ok && r.events.map((e) => [e.kind, e.ids, e.eventTime])).toEqual([['meter', [{ type: 'erp', value: 'EQ-2' }], Date.UTC(2026, 2, 1, 10)]]);
    expect(decode(message({ kind: 'meter', eventTime: at, operatingHours: 3 }))).toEqual({ ok: false, reason: 'event needs "ids" (a list of {type, value}), "assetId" or "erpAssetId"' });
  });
});
