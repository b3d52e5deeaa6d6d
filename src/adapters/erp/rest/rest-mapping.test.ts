import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../core/errors/errors.js';
import type { OutboxItem } from '../../../core/model/delivery.js';
import { restDestinationSchema } from '../../../config/schema.js';
import {
  expandPath,
  normalizeWorkOrderStatus,
  onHandPath,
  parseBatchResponse,
  parseOnHand,
  parseWorkOrderPage,
  parseWorkOrderWebhook,
  planRequest,
  toWorkOrderUpdate,
  withCreatedId,
  whyPassedOver,
  withQuery,
  workOrderChangedAt,
  workOrderVersion,
} from './rest-mapping.js';

const paths = restDestinationSchema.parse({ name: 'e', type: 'rest', baseUrl: 'https://erp.example' }).paths;
const T = Date.parse('2026-03-02T08:00:00.000Z');

function item(operation: string, payload: Record<string, unknown>, erpAssetId = 'EQ 1/2'): OutboxItem {
  return {
    id: 1,
    destination: 'e',
    operation,
    kind: 'fact',
    businessKey: 'bk',
    erpAssetId,
    eventTime: T,
    payload,
    idempotencyKey: 'k',
    status: 'inflight',
    attempts: 0,
    createdAt: T,
    enqueuedAt: T,
    nextAttemptAt: T,
  };
}

describe('planRequest', () => {
  it('URI-encodes the asset id into the path', () => {
    expect(planRequest(item('location.update', { coordinates: { lat: 1, lng: 2 } }), paths).path).toBe('/api/v1/assets/EQ%201%2F2/location');
  });

  it('projects location payloads to the documented body, filling lastSeen from event time', () => {
    const plan = planRequest(item('location.update', { erpModule: 'x', coordinates: { lat: 1, lng: 2 } }), paths);
    expect(plan).toMatchObject({ method: 'PATCH' });
    expect(plan.body).toEqual({ warehouseLocation: null, coordinates: { lat: 1, lng: 2 }, lastSeen: '2026-03-02T08:00:00.000Z' });
  });

  it('rejects a location without numeric coordinates as permanent', () => {
    expect(() => planRequest(item('location.update', { coordinates: { lat: '1', lng: 2 } }), paths)).toThrow(PermanentError);
    expect(() => planRequest(item('location.update', {}), paths)).toThrow(/coordinates\.lat\/lng/);
  });

  it('sends a zone sighting\'s location code with coordinates null (a reader knows the zone, not where in it)', () => {
    const plan = planRequest(item('location.update', { warehouseLocation: '1000/0009', coordinates: null, lastSeen: '2026-03-02T07:00:00.000Z', zone: 'dock' }), paths);
    expect(plan).toEqual({ method: 'PATCH', path: '/api/v1/assets/EQ%201%2F2/location', body: { warehouseLocation: '1000/0009', coordinates: null, lastSeen: '2026-03-02T07:00:00.000Z' } });
    // Neither a position nor a location: nothing to send, and no retry can change that.
    expect(() => planRequest(item('location.update', { warehouseLocation: null, coordinates: null }), paths)).toThrow(PermanentError);
    expect(() => planRequest(item('location.update', { coordinates: null }), paths)).toThrow(/neither coordinates nor a warehouseLocation/);
  });

  it('passes work-order payloads through, adding externalKey and erpAssetId', () => {
    const plan = planRequest(item('workorder.create', { title: 't', extra: { a: 1 } }), paths);
    expect(plan).toEqual({ method: 'POST', path: '/api/v1/work-orders', body: { title: 't', extra: { a: 1 }, externalKey: 'bk', erpAssetId: 'EQ 1/2' } });
  });

  it('fills readingAt and countedAt from event time when the rule left them out', () => {
    expect(planRequest(item('meter.record', { operatingHours: 5 }), paths).body).toEqual({ operatingHours: 5, readingAt: '2026-03-02T08:00:00.000Z' });
    expect(planRequest(item('inventory.count', { location: 'L', sku: 'S', countedQuantity: 0 }), paths).body).toMatchObject({ countedAt: '2026-03-02T08:00:00.000Z' });
  });

  it('fills an inventory count\'s path with its location and SKU (a count per plant/storage location)', () => {
    const perLocation = { ...paths, inventoryCounts: '/api/v1/inventory/locations/{location}/items/{sku}/counts' };
    const counted = item('inventory.count', { location: '1000/0001', sku: 'SKU 7', countedQuantity: 3 }, 'SKU 7');
    expect(planRequest(counted, perLocation).path).toBe('/api/v1/inventory/locations/1000%2F0001/items/SKU%207/counts');
  });

  it('names missing required fields and unsupported operations', () => {
    expect(() => planRequest(item('inventory.count', { location: 'L' }), paths)).toThrow(/missing sku, countedQuantity/);
    expect(() => planRequest(item('usage.post', { period: '2026-01' }), paths)).toThrow(/missing periodUnits/);
    expect(() => planRequest(item('asset.retire', {}), paths)).toThrow(/not supported.*location\.update/);
  });
});

describe('paths', () => {
  it('reports a placeholder the operation cannot fill', () => {
    expect(() => expandPath('/wo/{workOrderId}', { erpAssetId: 'A' })).toThrow(/\{workOrderId\}.*\{erpAssetId\}/);
  });
  it('appends queries to paths with or without one', () => {
    expect(withQuery('/a', { x: 'a|b' })).toBe('/a?x=a%7Cb');
    expect(withQuery('/a?v=1', { x: '1' })).toBe('/a?v=1&x=1');
  });
});

describe('created ids from Location', () => {
  it('takes the id from the last path segment or the OData key when the body has none', () => {
    expect(withCreatedId(undefined, 'https://erp.example/api/v1/work-orders/WO-7')).toEqual({ id: 'WO-7', location: 'https://erp.example/api/v1/work-orders/WO-7' });
    expect(withCreatedId(undefined, "/sap/opu/odata/MaintenanceOrder('4000123')")).toMatchObject({ id: '4000123' });
    expect(withCreatedId(undefined, "/odata/Orders('O''Brien')")).toMatchObject({ id: "O'Brien" });
    expect(withCreatedId(undefined, '/data/msdyn_workorders(6f1b2c3d-0000-0000-0000-000000000001)')).toMatchObject({ id: '6f1b2c3d-0000-0000-0000-000000000001' });
    expect(withCreatedId(undefined, "/odata/Lines(Order='1',Line='2')")).toMatchObject({ id: "Order='1',Line='2'" });
    expect(withCreatedId(undefined, '/api/v1/work-orders/WO%2F7/')).toMatchObject({ id: 'WO/7' });
    // A body without an id keeps its fields; a text body is kept as text.
    expect(withCreatedId({ status: 'open' }, '/wo/9')).toEqual({ status: 'open', id: '9', location: '/wo/9' });
    expect(withCreatedId('Created', '/wo/9')).toEqual({ text: 'Created', id: '9', location: '/wo/9' });
  });

  it('leaves an answer alone that has an id, or comes without a Location', () => {
    const body = { id: 'WO-1', status: 'open' };
    expect(withCreatedId(body, '/wo/2')).toBe(body);
    expect(withCreatedId(body, null)).toBe(body);
    expect(withCreatedId(undefined, undefined)).toBeUndefined();
    expect(withCreatedId(undefined, '  ')).toBeUndefined();
    expect(withCreatedId(undefined, '/')).toEqual({ location: '/' });
  });
});

describe('work-order responses', () => {
  it.each([
    ['In_Progress', 'in-progress'],
    ['CLOSED', 'completed'],
    ['canceled', 'cancelled'],
    ['open', 'open'],
    ['on-hold', undefined],
    [3, undefined],
  ])('status %s → %s', (raw, expected) => {
    expect(normalizeWorkOrderStatus(raw)).toBe(expected);
  });

  it('accepts numeric ids and ignores unusable entries', () => {
    expect(toWorkOrderUpdate({ id: 7, externalKey: 'A|oil|1', erpAssetId: 'A', status: 'open', createdAt: '2026-03-02T08:00:00Z' })).toEqual({
      businessKey: 'A|oil|1',
      erpAssetId: 'A',
      erpWorkOrderId: '7',
      status: 'open',
      changedAt: T,
    });
    expect(toWorkOrderUpdate({ id: 7, externalKey: 'A|oil|1', erpAssetId: 'A', status: 'open' })).toBeUndefined();
    expect(toWorkOrderUpdate(null)).toBeUndefined();
  });

  it('reads statuses through the destination\'s workOrderStatuses first (any case; numeric codes too), then the built-in words', () => {
    const statuses = { TECO: 'completed', rel: 'in-progress', '690970004': 'completed', closed: 'cancelled' } as const;
    expect(normalizeWorkOrderStatus('teco', statuses)).toBe('completed');
    expect(normalizeWorkOrderStatus(' REL ', statuses)).toBe('in-progress');
    expect(normalizeWorkOrderStatus(690970004, statuses)).toBe('completed');
    // A configured word overrides the built-in one; the others still apply.
    expect(normalizeWorkOrderStatus('Closed', statuses)).toBe('cancelled');
    expect(normalizeWorkOrderStatus('in_progress', statuses)).toBe('in-progress');
    expect(normalizeWorkOrderStatus('CRTD', statuses)).toBeUndefined();
  });

  it('reads completion readings sent as decimal text (SAP and Dataverse serialise decimals as strings)', () => {
    const raw = { id: 'WO-1', externalKey: 'A|oil|1', erpAssetId: 'A', status: 'TECO', updatedAt: '2026-03-02T08:00:00Z', operatingHoursAtCompletion: '1250.500', odometerKmAtCompletion: ' 88000 ' };
    expect(toWorkOrderUpdate(raw, { TECO: 'completed' })).toEqual({ businessKey: 'A|oil|1', erpAssetId: 'A', erpWorkOrderId: 'WO-1', status: 'completed', changedAt: T, operatingHoursAtCompletion: 1250.5, odometerKmAtCompletion: 88000 });
    expect(toWorkOrderUpdate({ ...raw, operatingHoursAtCompletion: 'n/a', odometerKmAtCompletion: '' }, { TECO: 'completed' })).toEqual({ businessKey: 'A|oil|1', erpAssetId: 'A', erpWorkOrderId: 'WO-1', status: 'completed', changedAt: T });
    // Only a whole decimal is a reading: a unit or a second point is not read (nor read as NaN).
    expect(toWorkOrderUpdate({ ...raw, operatingHoursAtCompletion: '1250 h', odometerKmAtCompletion: '88.000.5' }, { TECO: 'completed' })).toEqual({ businessKey: 'A|oil|1', erpAssetId: 'A', erpWorkOrderId: 'WO-1', status: 'completed', changedAt: T });
    expect(parseWorkOrderWebhook({ ...raw, status: 'TECO' }, { teco: 'completed' })).toEqual([expect.objectContaining({ status: 'completed', operatingHoursAtCompletion: 1250.5 })]);
  });

  it('reads change times as ISO 8601, OData V2 /Date(ms)/ (SAP) or epoch milliseconds', () => {
    const wo = { id: 1, externalKey: 'A|oil|1', erpAssetId: 'A', status: 'open' };
    expect(workOrderChangedAt({ ...wo, updatedAt: '2026-03-02T09:00:00+01:00' })).toBe(T);
    expect(workOrderChangedAt({ ...wo, updatedAt: `/Date(${T})/` })).toBe(T);
    expect(workOrderChangedAt({ ...wo, updatedAt: `/Date(${T}+0000)/` })).toBe(T);
    // Before 1970 (a date SAP keeps for "none", say) is negative, with or without an offset.
    expect(workOrderChangedAt({ ...wo, updatedAt: '/Date(-86400000)/' })).toBe(-86_400_000);
    expect(workOrderChangedAt({ ...wo, updatedAt: '/Date(-86400000-0500)/' })).toBe(-86_400_000);
    expect(workOrderChangedAt({ ...wo, updatedAt: T })).toBe(T);
    expect(toWorkOrderUpdate({ ...wo, changedAt: undefined, createdAt: `/Date(${T})/` })?.changedAt).toBe(T);
    expect(workOrderChangedAt({ ...wo, updatedAt: 'yesterday' })).toBeUndefined();
    // No zone: not guessed in the host's time zone.
    expect(workOrderChangedAt({ ...wo, updatedAt: '2026-03-02T09:00:00' })).toBeUndefined();
    expect(workOrderChangedAt({ ...wo, updatedAt: '2026-03-02T08:00:00.000Z' })).toBe(T);
  });

  it('reads an epoch number below 1e11 as seconds (Unix time), in every time field, polled or pushed; one above as milliseconds', () => {
    // Mutation: epoch seconds read as milliseconds — 1772438400 taken for 21 January 1970, a completion dated 56 years back.
    const wo = { id: 'WO-1', externalKey: 'A|oil|1', erpAssetId: 'A', status: 'completed' };
    const seconds = T / 1000;
    expect(workOrderChangedAt({ ...wo, updatedAt: seconds })).toBe(T);
    expect(workOrderChangedAt({ ...wo, completedAt: seconds })).toBe(T);
    expect(workOrderChangedAt({ ...wo, createdAt: seconds })).toBe(T);
    expect(workOrderChangedAt({ ...wo, updatedAt: seconds + 0.25 })).toBe(T + 250);
    // Just below the line it is seconds (1e11 ms is March 1973: no change time an ERP lists now); at it, milliseconds.
    expect(workOrderChangedAt({ ...wo, updatedAt: 99_999_999_999 })).toBe(99_999_999_999_000);
    expect(workOrderChangedAt({ ...wo, updatedAt: 100_000_000_000 })).toBe(100_000_000_000);
    expect(workOrderChangedAt({ ...wo, updatedAt: T })).toBe(T);
    // The update a poll reads, and one pushed (its changedAt too), with the completion's reading.
    const completed = { businessKey: 'A|oil|1', erpAssetId: 'A', erpWorkOrderId: 'WO-1', status: 'completed', changedAt: T, operatingHoursAtCompletion: 250 };
    expect(toWorkOrderUpdate({ ...wo, completedAt: seconds, operatingHoursAtCompletion: 250 })).toEqual(completed);
    expect(parseWorkOrderWebhook({ ...wo, updatedAt: seconds, operatingHoursAtCompletion: 250 })).toEqual([completed]);
    expect(parseWorkOrderWebhook({ workOrder: { ...wo, changedAt: seconds, operatingHoursAtCompletion: '250' } })).toEqual([completed]);
    // OData V2's /Date(n)/ is milliseconds by definition, and read so.
    expect(workOrderChangedAt({ ...wo, updatedAt: `/Date(${T})/` })).toBe(T);
  });

  it('passes over a blank time field (empty, spaces, null) to the next one; a field that holds something unreadable is the problem, named, not guessed past', () => {
    // Mutation: an empty updatedAt taken for the record's time — a completion with a good completedAt quarantined as unreadable.
    const wo = { id: 'WO-1', externalKey: 'A|oil|1', erpAssetId: 'A', status: 'completed' };
    const completedAt = '2026-03-02T08:00:00Z';
    for (const blank of ['', '   ', null]) {
      expect(workOrderChangedAt({ ...wo, updatedAt: blank, completedAt }), JSON.stringify(blank)).toBe(T);
      expect(workOrderChangedAt({ ...wo, updatedAt: blank, completedAt: '', createdAt: T / 1000 }), JSON.stringify(blank)).toBe(T);
      expect(toWorkOrderUpdate({ ...wo, updatedAt: blank, completedAt })?.changedAt, JSON.stringify(blank)).toBe(T);
      expect(whyPassedOver({ ...wo, updatedAt: blank, completedAt })).toBeUndefined();
      // Pushed: a blank updatedAt gives way to the record's changedAt, or the envelope's occurredAt.
      expect(parseWorkOrderWebhook({ ...wo, updatedAt: blank, changedAt: completedAt })).toEqual([expect.objectContaining({ changedAt: T })]);
      expect(parseWorkOrderWebhook({ occurredAt: completedAt, workOrder: { ...wo, updatedAt: blank } })).toEqual([expect.objectContaining({ changedAt: T })]);
    }
    // Not blank but unreadable: that field is the record's time, and the reason names it (the completedAt beside it is not taken).
    expect(workOrderChangedAt({ ...wo, updatedAt: 'n/a', completedAt })).toBeUndefined();
    expect(whyPassedOver({ ...wo, updatedAt: 'n/a', completedAt })).toBe(
      'work order A|oil|1: needs a readable time: updatedAt "n/a" is not a time (ISO 8601 with Z or an offset, /Date(ms)/, or epoch milliseconds or seconds)',
    );
    // Only blanks: the reason says which are there, empty.
    expect(parseWorkOrderWebhook({ ...wo, updatedAt: ' ', completedAt: null })).toEqual([
      { invalid: 'work order A|oil|1 needs a time (updatedAt, completedAt or createdAt: ISO 8601 with Z or an offset, /Date(ms)/, or epoch milliseconds or seconds), but updatedAt is " ", completedAt is null' },
    ]);
    // A blank time is no time for a record's version either: the one read from completedAt is.
    expect(workOrderVersion({ ...wo, updatedAt: '', completedAt })).toBe(workOrderVersion({ ...wo, completedAt }));
  });

  it('reads list envelopes and rejects anything else', () => {
    expect(parseWorkOrderPage([1])).toEqual({ items: [1] });
    expect(parseWorkOrderPage({ value: [], '@odata.nextLink': '/n' })).toEqual({ items: [], next: '/n' });
    expect(() => parseWorkOrderPage({ data: [] })).toThrow(PermanentError);
    // OData V2 (SAP Gateway): collections in d.results, the next page in d.__next.
    expect(parseWorkOrderPage({ d: { results: [1], __next: '/n?$skiptoken=2' } })).toEqual({ items: [1], next: '/n?$skiptoken=2' });
    expect(() => parseWorkOrderPage({ data: [] })).toThrow(/^the answer is not a list: a JSON array, or an object with items, value, workOrders or d\.results \(OData V2\), was expected; got \{"data":\[\]\}$/);
  });
});

describe('parseBatchResponse', () => {
  it('indexes responses by id and skips malformed entries', () => {
    const map = parseBatchResponse({ responses: [{ id: 1, status: 201 }, { id: '2', status: '400', body: 'x' }, { status: 200 }, null] });
    expect([...map.keys()]).toEqual(['1', '2']);
    expect(map.get('2')).toEqual({ id: '2', status: 400, body: 'x' });
  });
  it('throws on a body without responses', () => {
    expect(() => parseBatchResponse({ results: [] })).toThrow(/no responses array/);
  });
});

describe('parseWorkOrderWebhook', () => {
  const record = { id: 'WO-7', externalKey: 'EQ-1|svc-10h|10h@b0', erpAssetId: 'EQ-1', title: 't', status: 'completed', updatedAt: '2026-11-01T10:00:00Z', operatingHoursAtCompletion: 11 };
  const update = { businessKey: 'EQ-1|svc-10h|10h@b0', erpAssetId: 'EQ-1', erpWorkOrderId: 'WO-7', status: 'completed', changedAt: Date.parse('2026-11-01T10:00:00Z'), operatingHoursAtCompletion: 11 };

  it('reads envelopes, bare records and lists of either', () => {
    expect(parseWorkOrderWebhook({ type: 'workorder.status-changed', occurredAt: '2026-11-01T10:00:00Z', workOrder: record })).toEqual([update]);
    expect(parseWorkOrderWebhook(record)).toEqual([update]);
    expect(parseWorkOrderWebhook([record, { workOrder: { ...record, id: 'WO-8', status: 'in_progress' } }])).toEqual([update, { ...update, erpWorkOrderId: 'WO-8', status: 'in-progress', operatingHoursAtCompletion: 11 }]);
  });

  it('takes businessKey, erpWorkOrderId and changedAt for externalKey, id and updatedAt; the envelope time when the record has none', () => {
    const { id: _id, externalKey: _k, updatedAt: _u, ...rest } = record;
    expect(parseWorkOrderWebhook({ ...rest, erpWorkOrderId: 'WO-7', businessKey: update.businessKey, changedAt: '2026-11-01T10:00:00Z' })).toEqual([update]);
    expect(parseWorkOrderWebhook({ occurredAt: '2026-11-01T10:00:00Z', workOrder: { ...rest, id: 'WO-7', externalKey: update.businessKey } })).toEqual([update]);
  });

  it('says why an item is ignored: not ours, not an object; ours but unreadable (an unknown status too) is invalid', () => {
    const { externalKey: _k, ...notOurs } = record;
    const { updatedAt: _u, ...timeless } = record;
    expect(parseWorkOrderWebhook([notOurs, { ...record, status: 'parked' }, 'x', timeless, { ...record, externalKey: 'PM-2026-17', erpAssetId: undefined }])).toEqual([
      { ignored: 'no externalKey: not a work order assetbridge opened' },
      {
        invalid:
          "work order EQ-1|svc-10h|10h@b0: unknown status \"parked\", which the workOrderStatuses of the destination does not map: add it there with the status it means (e.g. { \"parked\": completed }, or ignore for one that changes nothing), then replay it ('assetbridge quarantine replay')",
      },
      { ignored: 'not a JSON object' },
      { invalid: 'work order EQ-1|svc-10h|10h@b0 needs a time (updatedAt, completedAt or createdAt: ISO 8601 with Z or an offset, /Date(ms)/, or epoch milliseconds or seconds)' },
      // Another system's key in the same field: not ours, so not kept.
      { ignored: 'externalKey "PM-2026-17" is no work-order key assetbridge makes (asset|rule|occurrence): not a work order it opened' },
    ]);
  });

  it('one of ours is the asset its key names: without erpAssetId, with a number, with leading zeros or with another asset there', () => {
    for (const erpAssetId of [undefined, 10004711, '000000000010004711', 'EQ-2']) {
      const [item] = parseWorkOrderWebhook({ ...record, erpAssetId });
      expect(item, String(erpAssetId)).toMatchObject({ businessKey: 'EQ-1|svc-10h|10h@b0', erpAssetId: 'EQ-1', status: record.status });
    }
    // Another system's key in the field, with an asset: not a work order assetbridge opened, so
    // ignored, not taken (no rule would read it) nor quarantined for an asset it does not track.
    expect(parseWorkOrderWebhook({ ...record, externalKey: 'PM-2026-17', erpAssetId: 'EQ-2' })).toEqual([
      { ignored: 'externalKey "PM-2026-17" is no work-order key assetbridge makes (asset|rule|occurrence): not a work order it opened' },
    ]);
    expect(toWorkOrderUpdate({ ...record, externalKey: 'PM-2026-17', erpAssetId: 'EQ-2' })).toBeUndefined();
  });

  it('ours with a time it cannot read says which and why, not that it has no time', () => {
    // Before: "needs a time (updatedAt, …)" for a record whose updatedAt was there, written without a zone.
    expect(parseWorkOrderWebhook({ ...record, updatedAt: '2026-12-04T22:34:00' })).toEqual([
      { invalid: 'work order EQ-1|svc-10h|10h@b0 needs a readable time: updatedAt "2026-12-04T22:34:00" has no zone (a time without one is not guessed: add Z or an offset) (ISO 8601 with Z or an offset, /Date(ms)/, or epoch milliseconds or seconds)' },
    ]);
    expect(parseWorkOrderWebhook({ ...record, updatedAt: 'yesterday' })).toEqual([
      { invalid: 'work order EQ-1|svc-10h|10h@b0 needs a readable time: updatedAt "yesterday" is not a time (ISO 8601 with Z or an offset, /Date(ms)/, or epoch milliseconds or seconds)' },
    ]);
    // A listed one (a poll) is passed over with the same reason.
    expect(whyPassedOver({ ...record, id: 'WO-7', updatedAt: '2026-12-04T22:34:00' })).toBe(
      'work order EQ-1|svc-10h|10h@b0: needs a readable time: updatedAt "2026-12-04T22:34:00" has no zone (a time without one is not guessed: add Z or an offset) (ISO 8601 with Z or an offset, /Date(ms)/, or epoch milliseconds or seconds)',
    );
  });

  it('a status the destination does not map is kept (invalid), naming it, the destination and the key to add it to; one mapped to ignore is ignored, pushed or polled', () => {
    // Mutation: an unknown status answered ignored (the ERP's word for completed lost); or one mapped to ignore kept, or read.
    const place = { destination: 's4', configKey: 'destinations.2' };
    const reason =
      "work order EQ-1|svc-10h|10h@b0: unknown status \"Fertig\", which destinations.2.workOrderStatuses (destination \"s4\") does not map: add it there with the status it means (e.g. { \"Fertig\": completed }, or ignore for one that changes nothing), then replay it ('assetbridge quarantine replay')";
    expect(parseWorkOrderWebhook({ ...record, status: 'Fertig' }, { PRINTED: 'ignore' }, {}, place)).toEqual([{ invalid: reason }]);
    expect(whyPassedOver({ ...record, id: 'WO-7', status: 'Fertig' }, { PRINTED: 'ignore' }, place)).toBe(reason);
    expect(parseWorkOrderWebhook({ ...record, status: ' printed ' }, { PRINTED: 'ignore' }, {}, place)).toEqual([{ ignored: 'status " printed " is one the destination\'s workOrderStatuses says to ignore' }]);
    expect(whyPassedOver({ ...record, id: 'WO-7', status: 'printed' }, { PRINTED: 'ignore' }, place)).toBeUndefined();
    expect(toWorkOrderUpdate({ ...record, id: 'WO-7', status: 'printed' }, { PRINTED: 'ignore' })).toBeUndefined();
    // A mapping to ignore overrides a built-in word; without a status, the field to set is named.
    expect(normalizeWorkOrderStatus('Closed', { closed: 'ignore' })).toBe('ignore');
    const { status: _s, ...statusless } = record;
    expect(parseWorkOrderWebhook(statusless, {}, { status: 'Stat' }, place)).toEqual([
      { invalid: "work order EQ-1|svc-10h|10h@b0 has no status (field \"Stat\"): set where the ERP's record holds it in destinations.2.workOrderFields (destination \"s4\") ({ status: ... }), then replay it ('assetbridge quarantine replay')" },
    ]);
  });

  it('a status the destination maps is known: ours without a time is invalid (kept), not ignored as an unknown status', () => {
    const { updatedAt: _u, ...timeless } = record;
    expect(parseWorkOrderWebhook({ ...timeless, status: 'TECO' }, { TECO: 'completed' })).toEqual([
      { invalid: 'work order EQ-1|svc-10h|10h@b0 needs a time (updatedAt, completedAt or createdAt: ISO 8601 with Z or an offset, /Date(ms)/, or epoch milliseconds or seconds)' },
    ]);
  });
});

describe('on-hand reads', () => {
  it('fill {location} and {sku} (and {erpAssetId}, the SKU), encoded', () => {
    expect(onHandPath('/inv/on-hand?location={location}&sku={sku}', { location: 'WH 1/A', sku: 'S&1' })).toBe('/inv/on-hand?location=WH%201%2FA&sku=S%261');
    expect(onHandPath('/items/{erpAssetId}/locations/{location}', { location: 'L', sku: 'S' })).toBe('/items/S/locations/L');
  });

  it('read the quantity from quantity, onHand or quantityOnHand (a number or numeric string, under OData V2 d too), else say what came', () => {
    expect(parseOnHand({ location: 'L', sku: 'S', quantity: 4 })).toBe(4);
    expect(parseOnHand({ onHand: -2 })).toBe(-2);
    expect(parseOnHand({ quantityOnHand: '12.500' })).toBe(12.5);
    expect(parseOnHand({ d: { quantityOnHand: '3' } })).toBe(3);
    expect(parseOnHand({ quantity: null, onHand: 7 })).toBe(7);
    expect(() => parseOnHand({ quantity: 'many' })).toThrow('the on-hand answer has no numeric quantity, onHand, quantityOnHand (got {"quantity":"many"})');
    expect(() => parseOnHand([{ quantity: 1 }])).toThrow('is not a JSON object');
    expect(() => parseOnHand(undefined)).toThrow('is not a JSON object');
  });
});
