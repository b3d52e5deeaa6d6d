/**
 * Pure mapping between ERP-neutral deliveries and the generic REST API's requests and responses.
 * No I/O here, so every shape is unit-testable against the fixtures in `__fixtures__/`.
 *
 * | Operation | Request |
 * |---|---|
 * | `location.update` | `PATCH {paths.location}` `{warehouseLocation, coordinates:{lat,lng} \| null, lastSeen}` (null: a zone sighting) |
 * | `workorder.create` | `POST {paths.workOrders}` the rule's payload + `externalKey` (= business key) and `erpAssetId` |
 * | `workorder.update` | `PATCH {paths.workOrder}` (the work order found by `GET {paths.workOrders}?externalKey=`) `{priority, severity, reason, trigger, sensorSnapshot, detectedAt, ...}` |
 * | `meter.record` | `POST {paths.meterReadings}` the rule's payload; `readingAt` defaults to the event time |
 * | `inventory.count` | `POST {paths.inventoryCounts}` `{location, sku, countedQuantity, delta, countedAt}` + rest of payload |
 * | `usage.post` | `POST {paths.usagePostings}` `{period, periodUnits, lifeToDateUnits, totalExpectedUnits, unit, ...}` |
 *
 * A full inventory snapshot reads each cell's on-hand quantity with `GET {paths.inventoryOnHand}`
 * (when set), answered `{quantity}` (or `onHand`, `quantityOnHand`); a 404 is 0 on hand.
 * @module
 */
import { PermanentError } from '../../../core/errors/errors.js';
import { parseIsoTime } from '../../../core/normalize/iso-time.js';
import type { OutboxItem } from '../../../core/model/delivery.js';
import type { WorkOrderStatus } from '../../../core/model/events.js';
import { parseWorkOrderKey } from '../../../core/rules/maintenance/work-order.js';
import type { WebhookItem, WorkOrderUpdate } from '../../../ports/connector.js';

/** Operations the generic REST connector delivers. */
export const REST_OPERATIONS = [
  'location.update',
  'workorder.create',
  'workorder.update',
  'meter.record',
  'inventory.count',
  'usage.post',
] as const;
export type RestOperation = (typeof REST_OPERATIONS)[number];

/** Path templates (from config); `{erpAssetId}` (an inventory count's: its SKU, with `{location}` and `{sku}`) is substituted. */
export interface RestPaths {
  readonly location: string;
  readonly workOrders: string;
  readonly workOrder: string;
  readonly meterReadings: string;
  readonly inventoryCounts: string;
  readonly usagePostings: string;
  /** GET one cell's on-hand quantity (`{location}`, `{sku}`, `{erpAssetId}` = the SKU); unset: no reads. */
  readonly inventoryOnHand?: string;
}

/** One request to make for a delivery; `path` is relative to the destination's base URL. */
export interface PlannedRequest {
  readonly method: 'PATCH' | 'POST';
  readonly path: string;
  readonly body: Readonly<Record<string, unknown>>;
}

type Payload = Readonly<Record<string, unknown>>;

/**
 * The request for one outbox item. Throws {@link PermanentError} when the operation is unknown
 * or the payload lacks what the operation needs: no retry can fix either. A `workorder.update`
 * needs the ERP's id of its work order (`workOrderId`, which the connector looks up by business key).
 */
export function planRequest(item: OutboxItem, paths: RestPaths, workOrderId?: string): PlannedRequest {
  const payload = item.payload;
  const vars = { erpAssetId: item.erpAssetId };
  switch (item.operation) {
    case 'workorder.update':
      requireFields(item, ['priority']);
      if (workOrderId === undefined) throw new PermanentError(`workorder.update of ${item.businessKey}: the work order's id in the ERP is needed (looked up by its externalKey) and was not given`);
      return { method: 'PATCH', path: expandPath(paths.workOrder, { workOrderId, ...vars }), body: { ...payload } };
    case 'location.update':
      return { method: 'PATCH', path: expandPath(paths.location, vars), body: locationBody(item, payload) };
    case 'workorder.create':
      return {
        method: 'POST',
        path: expandPath(paths.workOrders, vars),
        body: { ...payload, externalKey: item.businessKey, erpAssetId: stringOr(payload.erpAssetId, item.erpAssetId) },
      };
    case 'meter.record':
      return {
        method: 'POST',
        path: expandPath(paths.meterReadings, vars),
        body: { ...payload, readingAt: stringOr(payload.readingAt, isoTime(item.eventTime)) },
      };
    case 'inventory.count':
      requireFields(item, ['location', 'sku', 'countedQuantity']);
      return {
        method: 'POST',
        path: expandPath(paths.inventoryCounts, { location: String(payload.location), sku: String(payload.sku), ...vars }),
        body: { ...payload, countedAt: stringOr(payload.countedAt, isoTime(item.eventTime)) },
      };
    case 'usage.post':
      requireFields(item, ['period', 'periodUnits']);
      return { method: 'POST', path: expandPath(paths.usagePostings, vars), body: { ...payload } };
    default:
      throw new PermanentError(
        `operation "${item.operation}" is not supported by the REST connector; it supports ${REST_OPERATIONS.join(', ')}`,
      );
  }
}

function locationBody(item: OutboxItem, payload: Payload): Record<string, unknown> {
  const zone = payload.warehouseLocation;
  const coords = payload.coordinates as { lat?: unknown; lng?: unknown } | null | undefined;
  // A zone sighting (a fixed reader's): the zone's location code, and no position to send.
  if (coords === null) {
    if (typeof zone !== 'string' || zone === '')
      throw new PermanentError(`location.update for asset ${item.erpAssetId} has neither coordinates nor a warehouseLocation in its payload: nothing to send`);
    return { warehouseLocation: zone, coordinates: null, lastSeen: stringOr(payload.lastSeen, isoTime(item.eventTime)) };
  }
  const lat = coords?.lat;
  const lng = coords?.lng;
  if (typeof lat !== 'number' || typeof lng !== 'number' || !Number.isFinite(lat) || !Number.isFinite(lng)) {
    throw new PermanentError(
      `location.update for asset ${item.erpAssetId} has no numeric coordinates.lat/lng in its payload (got ${JSON.stringify(payload.coordinates)})`,
    );
  }
  return {
    warehouseLocation: typeof zone === 'string' ? zone : null,
    coordinates: { lat, lng },
    lastSeen: stringOr(payload.lastSeen, isoTime(item.eventTime)),
  };
}

function requireFields(item: OutboxItem, fields: readonly string[]): void {
  const missing = fields.filter((f) => item.payload[f] === undefined || item.payload[f] === null);
  if (missing.length > 0) {
    throw new PermanentError(`${item.operation} for asset ${item.erpAssetId} is missing ${missing.join(', ')} in its payload`);
  }
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** The on-hand read of one cell, from `paths.inventoryOnHand`. */
export function onHandPath(template: string, cell: { readonly location: string; readonly sku: string }): string {
  return expandPath(template, { location: cell.location, sku: cell.sku, erpAssetId: cell.sku });
}

/** The fields an on-hand answer may hold its quantity in, read in this order. */
export const ON_HAND_FIELDS = ['quantity', 'onHand', 'quantityOnHand'] as const;

/**
 * The quantity in an on-hand answer: a JSON object with a number (or a numeric string, as OData V2
 * writes decimals) in one of {@link ON_HAND_FIELDS}, possibly under OData V2's `d`. Throws an
 * Error saying what came instead.
 */
export function parseOnHand(body: unknown): number {
  const object = (value: unknown): Readonly<Record<string, unknown>> | undefined =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  const record = object(body);
  const fields = object(record?.d) ?? record;
  if (!fields) throw new Error(`the on-hand answer is not a JSON object (got ${JSON.stringify(body)?.slice(0, 200)})`);
  for (const field of ON_HAND_FIELDS) {
    const value = fields[field];
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (Number.isFinite(n)) return n;
  }
  throw new Error(`the on-hand answer has no numeric ${ON_HAND_FIELDS.join(', ')} (got ${JSON.stringify(body).slice(0, 200)})`);
}

/**
 * Substitute `{name}` placeholders, URI-encoding each value. A placeholder without a value is a
 * configuration mistake and is reported as such.
 */
export function expandPath(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(/\{([A-Za-z]+)\}/g, (_m, name: string) => {
    const value = vars[name];
    if (value === undefined) {
      throw new PermanentError(
        `path template "${template}" uses {${name}}, which this operation cannot fill; it can use ${Object.keys(vars).map((k) => `{${k}}`).join(', ')}`,
      );
    }
    return encodeURIComponent(value);
  });
}

/** Append query parameters to a path that may already have some. */
export function withQuery(path: string, params: Readonly<Record<string, string>>): string {
  const query = new URLSearchParams(params).toString();
  if (query === '') return path;
  return `${path}${path.includes('?') ? '&' : '?'}${query}`;
}

/** The ERP's id of a listed work order (where `workOrderFields.id` says), or undefined when it has none. */
export function workOrderIdOf(raw: unknown, fields: WorkOrderFieldMap = {}): string | undefined {
  const wo = withWorkOrderFields(raw, fields);
  if (wo === null || typeof wo !== 'object') return undefined;
  const id = (wo as { id?: unknown }).id;
  return (typeof id === 'string' && id !== '') || typeof id === 'number' ? String(id) : undefined;
}

/** `GET {workOrders}?externalKey=…`: find a work order we may already have created. */
export function workOrderLookupPath(paths: RestPaths, externalKey: string): string {
  return withQuery(paths.workOrders, { externalKey });
}

/** `GET {workOrders}?updatedSince=ISO`: work orders changed at or after `since`, with the sort parameter `order` asks for. */
export function workOrderUpdatesPath(paths: RestPaths, since: number, order?: { readonly param: string; readonly value: string }): string {
  const path = withQuery(paths.workOrders, { updatedSince: isoTime(since) });
  if (order === undefined) return path;
  // A space as %20, not the form encoding's +, which OData reads as a plus; `$orderby` kept as written.
  const encode = (text: string): string => encodeURIComponent(text).replaceAll('%24', '$');
  return `${path}&${encode(order.param)}=${encode(order.value)}`;
}

/**
 * A page of a work-order list: `{items:[...], next?}`; a bare array, `{value:[...]}` (OData V4,
 * `@odata.nextLink`) and `{d:{results:[...]}}` (OData V2, `d.__next`) are accepted too.
 */
export interface WorkOrderPage {
  readonly items: readonly unknown[];
  /** Path or URL of the next page, when the ERP pages. */
  readonly next?: string;
}

/** Read a work-order list response; throws {@link PermanentError} for anything else. */
export function parseWorkOrderPage(body: unknown): WorkOrderPage {
  if (Array.isArray(body)) return { items: body };
  if (body !== null && typeof body === 'object') {
    const top = body as Record<string, unknown>;
    const o = top.d !== null && typeof top.d === 'object' && !Array.isArray(top.d) ? (top.d as Record<string, unknown>) : top;
    const items = o.items ?? o.value ?? o.workOrders ?? o.results;
    if (Array.isArray(items)) {
      const next = o.next ?? o.nextLink ?? o['@odata.nextLink'] ?? o.__next;
      return { items, ...(typeof next === 'string' && next !== '' ? { next } : {}) };
    }
  }
  throw new PermanentError(
    `the answer is not a list: a JSON array, or an object with items, value, workOrders or d.results (OData V2), was expected; got ${JSON.stringify(body)?.slice(0, 200)}`,
  );
}

const STATUS_ALIASES: Readonly<Record<string, WorkOrderStatus>> = {
  open: 'open',
  new: 'open',
  created: 'open',
  'in-progress': 'in-progress',
  inprogress: 'in-progress',
  started: 'in-progress',
  completed: 'completed',
  complete: 'completed',
  closed: 'completed',
  done: 'completed',
  cancelled: 'cancelled',
  canceled: 'cancelled',
};

/**
 * The ERP's own status values (`TECO`, `690970004`) → canonical statuses, from the destination's
 * `workOrderStatuses`; `ignore`: a status that changes nothing (`PRINTED`), passed over on purpose.
 */
export type WorkOrderStatusMap = Readonly<Record<string, WorkOrderStatus | 'ignore'>>;

/**
 * The canonical status for an ERP's status value: the destination's `workOrderStatuses` first
 * (trimmed, any case; a numeric code as its digits), then the built-in words (`In_Progress`,
 * `closed`, `canceled` ...). `ignore`: the mapping says to pass it over; undefined: no mapping
 * names it (a completion the ERP spells its own way would be lost: see {@link unknownStatusReason}).
 */
export function normalizeWorkOrderStatus(status: unknown, statuses: WorkOrderStatusMap = {}): WorkOrderStatus | 'ignore' | undefined {
  const text = typeof status === 'string' ? status.trim() : typeof status === 'number' && Number.isFinite(status) ? String(status) : undefined;
  if (text === undefined) return undefined;
  const lower = text.toLowerCase();
  for (const [value, canonical] of Object.entries(statuses)) if (value.trim().toLowerCase() === lower) return canonical;
  return STATUS_ALIASES[lower.replace(/[_\s]+/g, '-')];
}

/** A meter value as a number: JSON numbers, and decimal text (SAP and Dataverse send decimals as strings). */
function readingOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

/**
 * A number below this is a time in epoch seconds, not milliseconds: 1e11 ms is March 1973, before
 * any work order an ERP lists now, and 1e11 s is the year 5138. An ERP that sends Unix time
 * (`1790856000`) is read as it means it, not as a time in January 1970.
 */
export const EPOCH_SECONDS_BELOW = 1e11;

/** Epoch ms of a number an ERP sends as a time: epoch milliseconds, or seconds below {@link EPOCH_SECONDS_BELOW}. */
export function epochTime(value: number): number | undefined {
  if (!Number.isFinite(value)) return undefined;
  return value < EPOCH_SECONDS_BELOW ? Math.round(value * 1000) : value;
}

/** The fields a work-order record's time is read from, in this order. */
const TIME_FIELDS = ['updatedAt', 'completedAt', 'createdAt'] as const;

/** A field an ERP left blank: null, or text of spaces or nothing (absent counts as blank too). */
function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/**
 * The field a work-order record's time is read from, and its value: the first of `updatedAt`,
 * `completedAt`, `createdAt` that holds text or a number and is not blank. A blank one (`""`,
 * `null`: an ERP exporting an empty column) says nothing and is passed over; one that holds
 * something the time cannot be read from is the record's time all the same, reported as such
 * rather than guessed past (a time before it would be taken for the record's last change).
 */
export function workOrderTimeField(raw: unknown): { readonly field: (typeof TIME_FIELDS)[number]; readonly value: string | number } | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const wo = raw as Record<string, unknown>;
  for (const field of TIME_FIELDS) {
    const value = wo[field];
    if ((typeof value === 'string' || typeof value === 'number') && !isBlank(value)) return { field, value };
  }
  return undefined;
}

/**
 * When a work-order record last changed (`updatedAt`, else `completedAt`, else `createdAt`: the
 * first not blank, {@link workOrderTimeField}), whoever opened it: ISO 8601 text with `Z` or an
 * offset, OData V2's `/Date(ms)/` (SAP), or an epoch number (milliseconds; seconds below
 * {@link EPOCH_SECONDS_BELOW}).
 */
export function workOrderChangedAt(raw: unknown): number | undefined {
  const value = workOrderTimeField(raw)?.value;
  if (typeof value === 'number') return epochTime(value);
  if (typeof value !== 'string') return undefined;
  // `/Date(1700000000000)/` or `/Date(1700000000000+0060)/`: the milliseconds are UTC either way
  // (always milliseconds, as OData V2 defines them).
  const odataV2 = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(value.trim());
  if (odataV2) return Number(odataV2[1]);
  // ISO 8601 with its zone: a time without one (`2026-03-02T09:00:00`) is not guessed in this host's zone.
  const at = parseIsoTime(value);
  return typeof at === 'number' ? at : undefined;
}

/** The forms a work-order time is read in, for reasons that say what to send. */
const TIME_FORMS = 'ISO 8601 with Z or an offset, /Date(ms)/, or epoch milliseconds or seconds';

const TIME_NEEDED = `a time (updatedAt, completedAt or createdAt: ${TIME_FORMS})`;

/**
 * What a work-order record lacks for its time, for the reasons of one that cannot be read: no time
 * at all, or the one it has, quoted, with why it cannot be read (a time without a zone is not
 * guessed), so the ERP's integrator is not told a record with an `updatedAt` has none.
 */
function timeNeeded(raw: Record<string, unknown>): string {
  const at = workOrderTimeField(raw);
  if (at === undefined) {
    // Only blanks (or nothing): say which are there, empty, so the ERP's integrator looks at the export.
    const blank = TIME_FIELDS.filter((f) => raw[f] === null || typeof raw[f] === 'string');
    return blank.length === 0 ? TIME_NEEDED : `${TIME_NEEDED}, but ${blank.map((f) => `${f} is ${JSON.stringify(raw[f])}`).join(', ')}`;
  }
  const { field, value } = at;
  const why = typeof value === 'string' && parseIsoTime(value) === 'zoneless' ? 'has no zone (a time without one is not guessed: add Z or an offset)' : 'is not a time';
  return `a readable time: ${field} ${JSON.stringify(value)} ${why} (${TIME_FORMS})`;
}

/**
 * A work order as the ERP lists it → a {@link WorkOrderUpdate}. Returns undefined for work orders
 * that are not ours (no `externalKey` in the form assetbridge makes them) or that lack an id, known
 * status or time. The asset is the one its key names (the record's `erpAssetId` is not read).
 */
export function toWorkOrderUpdate(raw: unknown, statuses: WorkOrderStatusMap = {}): WorkOrderUpdate | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const wo = raw as Record<string, unknown>;
  const id = typeof wo.id === 'string' || typeof wo.id === 'number' ? String(wo.id) : undefined;
  // Ours only: a key assetbridge makes (asset|rule|occurrence); the ERP's external reference field
  // may hold another system's key, which no rule would take.
  const key = typeof wo.externalKey === 'string' ? parseWorkOrderKey(wo.externalKey) : undefined;
  const externalKey = key !== undefined ? (wo.externalKey as string) : undefined;
  // The asset of one of our work orders is the one its key names: the ERP's own equipment field may
  // be formatted otherwise (SAP's leading zeros, a number) or name another asset by mistake.
  const erpAssetId = key?.erpAssetId;
  const status = normalizeWorkOrderStatus(wo.status, statuses);
  const changedAt = workOrderChangedAt(raw);
  if (id === undefined || externalKey === undefined || erpAssetId === undefined || status === undefined || status === 'ignore' || changedAt === undefined) return undefined;
  const hours = readingOf(wo.operatingHoursAtCompletion);
  const km = readingOf(wo.odometerKmAtCompletion);
  return {
    businessKey: externalKey,
    erpAssetId,
    erpWorkOrderId: id,
    status,
    changedAt,
    ...(hours !== undefined ? { operatingHoursAtCompletion: hours } : {}),
    ...(km !== undefined ? { odometerKmAtCompletion: km } : {}),
  };
}

/** The fields of a work-order record read under other names: dotted paths (`WorkOrderId`, `meter.hours`), from the destination's `workOrderFields`. */
export type WorkOrderFieldMap = Readonly<Partial<Record<'id' | 'status' | 'updatedAt' | 'operatingHoursAtCompletion' | 'odometerKmAtCompletion', string>>>;

/** The record with each field of `fields` read from where it names (absent there: absent), for {@link toWorkOrderUpdate}. */
export function withWorkOrderFields(raw: unknown, fields: WorkOrderFieldMap = {}): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const entries = Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined);
  if (entries.length === 0) return raw;
  const out: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  for (const [name, path] of entries) out[name] = valueAt(raw, path);
  return out;
}

function valueAt(raw: unknown, path: string): unknown {
  let at: unknown = raw;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** Which destination reads a work-order record, and where the config has it (`destinations.0`), for reasons that name the key to fix. */
export interface StatusMappingPlace {
  readonly destination?: string;
  readonly configKey?: string;
}

/**
 * Why work order `externalKey`'s record, whose status no mapping names, is not read: the status,
 * the destination and the key to add it to, and what then (its record is kept in quarantine).
 */
export function unknownStatusReason(externalKey: string, status: unknown, place: StatusMappingPlace = {}, fields: WorkOrderFieldMap = {}): string {
  const of = place.destination === undefined ? 'the destination' : `destination "${place.destination}"`;
  const key = (name: string): string => (place.configKey === undefined ? `the ${name} of ${of}` : `${place.configKey}.${name} (${of})`);
  const replay = "then replay it ('assetbridge quarantine replay')";
  if (status === undefined || status === null || status === '')
    return `work order ${externalKey} has no status (field ${JSON.stringify(fields.status ?? 'status')}): set where the ERP's record holds it in ${key('workOrderFields')} ({ status: ... }), ${replay}`;
  const shown = (JSON.stringify(status) as string | undefined)?.slice(0, 100) ?? typeof status;
  return `work order ${externalKey}: unknown status ${shown}, which ${key('workOrderStatuses')} does not map: add it there with the status it means (e.g. { ${shown}: completed }, or ignore for one that changes nothing), ${replay}`;
}

/**
 * Why a listed work order that {@link toWorkOrderUpdate} could not read was passed over, when it is
 * one assetbridge opened (its `externalKey` is one of our work-order keys); undefined otherwise,
 * and for a status the mapping says to ignore.
 */
export function whyPassedOver(raw: unknown, statuses: WorkOrderStatusMap = {}, place: StatusMappingPlace = {}, fields: WorkOrderFieldMap = {}): string | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const wo = raw as Record<string, unknown>;
  if (typeof wo.externalKey !== 'string' || parseWorkOrderKey(wo.externalKey) === undefined) return undefined;
  const status = normalizeWorkOrderStatus(wo.status, statuses);
  if (status === 'ignore') return undefined;
  if (status === undefined) return unknownStatusReason(wo.externalKey, wo.status, place, fields);
  const missing = [
    typeof wo.id !== 'string' && typeof wo.id !== 'number' ? 'id' : '',
    workOrderChangedAt(raw) === undefined ? timeNeeded(wo) : '',
  ].filter(Boolean);
  return missing.length > 0 ? `work order ${wo.externalKey}: needs ${missing.join(', ')}` : undefined;
}

/**
 * Which version of a work order a listed record (its fields as workOrderFields names them) is: its
 * id, key, status and change time as read (the time fields as listed, when none can be read). The
 * same version listed again, whatever else the ERP put in it or in what order, is the same record,
 * kept once in quarantine; a new status or change time is another.
 */
export function workOrderVersion(raw: unknown): string | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const wo = raw as Record<string, unknown>;
  const at = workOrderChangedAt(raw) ?? [wo.updatedAt ?? null, wo.completedAt ?? null, wo.createdAt ?? null];
  return JSON.stringify([wo.id ?? null, wo.externalKey ?? null, wo.status ?? null, at]);
}

/**
 * The work-order records a push body holds, each item of a list alike: a list in the envelope the
 * ERP lists work orders in (`items`, `value`, `workOrders`, OData V2 `d.results`, as a poll reads
 * it: {@link parseWorkOrderPage}) is those records; anything else is one record (or not one, for
 * {@link parseWorkOrderWebhook} to say why). Without it, a push of `{"value": [...]}` was one item
 * with no key, acknowledged as ignored: the completions in it lost.
 */
export function webhookRecords(body: unknown): unknown[] {
  return (Array.isArray(body) ? body : [body]).flatMap((item) => listInEnvelope(item) ?? [item]);
}

/** The list an envelope of work orders holds, or undefined when `item` is none (a record: it has a key, an id or a `workOrder`). */
function listInEnvelope(item: unknown): unknown[] | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
  const top = item as Record<string, unknown>;
  if (['externalKey', 'businessKey', 'id', 'erpWorkOrderId', 'workOrder'].some((k) => top[k] !== undefined)) return undefined;
  const o = top.d !== null && typeof top.d === 'object' && !Array.isArray(top.d) ? (top.d as Record<string, unknown>) : top;
  const list = o.items ?? o.value ?? o.workOrders ?? o.results;
  return Array.isArray(list) ? list : undefined;
}

/**
 * A webhook body → updates: one work-order record, a list of them, or envelopes
 * `{type, occurredAt, workOrder: {...}}` (one or a list). Records use the same fields as listed
 * work orders (renamed by `fields` as polled ones are); `businessKey`, `erpWorkOrderId` and
 * `changedAt` are accepted for `externalKey`, `id` and `updatedAt`.
 */
export function parseWorkOrderWebhook(body: unknown, statuses: WorkOrderStatusMap = {}, fields: WorkOrderFieldMap = {}, place: StatusMappingPlace = {}): WebhookItem[] {
  const items = Array.isArray(body) ? (body as unknown[]) : [body];
  return items.map((item) => {
    if (item === null || typeof item !== 'object') return { ignored: 'not a JSON object' };
    const o = item as Record<string, unknown>;
    const wo = withWorkOrderFields(o.workOrder !== null && typeof o.workOrder === 'object' ? o.workOrder : o, fields) as Record<string, unknown>;
    const record = {
      ...wo,
      id: wo.id ?? wo.erpWorkOrderId,
      externalKey: wo.externalKey ?? wo.businessKey,
      // The first not blank: an empty updatedAt says nothing, and the changedAt or envelope time beside it does.
      updatedAt: [wo.updatedAt, wo.changedAt, typeof o.occurredAt === 'string' ? o.occurredAt : undefined].find((v) => !isBlank(v)) ?? wo.updatedAt,
    };
    const update = toWorkOrderUpdate(record, statuses);
    if (update) return update;
    if (typeof record.externalKey !== 'string' || record.externalKey === '') return { ignored: 'no externalKey: not a work order assetbridge opened' };
    // Another system's reference in the field: no rule would read it, and its asset may be one not tracked.
    if (parseWorkOrderKey(record.externalKey) === undefined)
      return { ignored: `externalKey ${JSON.stringify(record.externalKey.slice(0, 100))} is no work-order key assetbridge makes (asset|rule|occurrence): not a work order it opened` };
    const status = normalizeWorkOrderStatus(wo.status, statuses);
    // Passed over on purpose: the destination's workOrderStatuses maps it to ignore.
    if (status === 'ignore') return { ignored: `status ${JSON.stringify(wo.status)} is one the destination's workOrderStatuses says to ignore` };
    // A status no mapping names may be the ERP's word for completed: kept, not acknowledged as ignored (the completion lost).
    if (status === undefined) return { invalid: unknownStatusReason(record.externalKey, wo.status, place, fields) };
    // One of ours names its asset in its key.
    const missing = [record.id === undefined ? 'id' : '', workOrderChangedAt(record) === undefined ? timeNeeded(record) : ''].filter(Boolean);
    // One of ours that cannot be read: kept in quarantine, not dropped (a lost completion leaves a baseline unreset).
    return { invalid: `work order ${record.externalKey} needs ${missing.join(', ') || 'id and a time'}` };
  });
}

/** One request inside a batch. */
export interface BatchSubRequest {
  readonly id: string;
  readonly method: string;
  /** Relative to the destination's base URL, like every configured path. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** One response inside a batch response. */
export interface BatchSubResponse {
  readonly id: string;
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** `POST {batch.path}` body. */
export function buildBatchRequest(requests: readonly BatchSubRequest[]): { requests: BatchSubRequest[] } {
  return { requests: [...requests] };
}

/**
 * Read `{responses:[{id,status,headers?,body}]}` into a map by id. Throws {@link Error} with a
 * description when the shape is wrong; entries with a bad shape are skipped (their items are then
 * reported missing by the caller).
 */
export function parseBatchResponse(body: unknown): Map<string, BatchSubResponse> {
  const responses = (body as { responses?: unknown } | null)?.responses;
  if (!Array.isArray(responses)) {
    throw new Error(`batch response has no responses array: ${JSON.stringify(body)?.slice(0, 200)}`);
  }
  const byId = new Map<string, BatchSubResponse>();
  for (const entry of responses) {
    if (entry === null || typeof entry !== 'object') continue;
    const r = entry as Record<string, unknown>;
    const id = typeof r.id === 'string' || typeof r.id === 'number' ? String(r.id) : undefined;
    const status = typeof r.status === 'number' ? r.status : Number(r.status);
    if (id === undefined || !Number.isInteger(status)) continue;
    const headers = r.headers !== null && typeof r.headers === 'object' ? (r.headers as Record<string, string>) : undefined;
    byId.set(id, { id, status, ...(headers ? { headers } : {}), ...(r.body !== undefined ? { body: r.body } : {}) });
  }
  return byId;
}

/** A header from a plain header record, case-insensitively. */
export function headerValue(headers: Readonly<Record<string, string>> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return String(v);
  return undefined;
}

/**
 * A write's answer with the created record's id taken from its `Location` (or OData's
 * `OData-EntityId`) header when the body does not carry one: an ERP that answers a create with
 * 201 or 204 and only where the record is (OData's `Prefer: return=minimal`). The id is the URL's
 * last path segment, or the key inside it (`MaintenanceOrder('4000123')` → `4000123`); a body that
 * is not a JSON object is kept as `text`. Anything else is returned as it came.
 */
export function withCreatedId(body: unknown, location: string | null | undefined): unknown {
  if (location === null || location === undefined || location.trim() === '') return body;
  const object = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  if (object?.id !== undefined) return body;
  const id = idFromLocation(location);
  const rest = object ?? (typeof body === 'string' && body !== '' ? { text: body } : {});
  return { ...rest, ...(id !== undefined ? { id } : {}), location };
}

function idFromLocation(location: string): string | undefined {
  let path: string;
  try {
    path = new URL(location, 'http://erp.invalid').pathname;
  } catch {
    return undefined;
  }
  const last = path.split('/').filter((s) => s !== '').pop();
  if (last === undefined) return undefined;
  let segment: string;
  try {
    segment = decodeURIComponent(last);
  } catch {
    segment = last;
  }
  // An OData entity key: `Set('key')`, `Set(42)`; a compound key (`A='1',B='2'`) is kept whole.
  const key = /^[^(]*\((.*)\)$/.exec(segment)?.[1];
  if (key === undefined) return segment;
  const quoted = /^'(.*)'$/.exec(key);
  return quoted ? (quoted[1] as string).replace(/''/g, "'") : key || undefined;
}

