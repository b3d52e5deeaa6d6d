/**
 * The simulated ERP's records and its REST API's routes, without sockets: the server (and the
 * batch endpoint) call {@link ErpStore.route} with a parsed request and write what it returns.
 *
 * API (paths are the connector's defaults):
 * - `PATCH /api/v1/assets/{id}/location` `{warehouseLocation, coordinates:{lat,lng} | null, lastSeen}` → 200
 *   (`coordinates: null` with a `warehouseLocation`: a zone sighting, position unknown)
 * - `GET /api/v1/assets/{id}/location` → 200
 * - `POST /api/v1/work-orders` `{externalKey?, erpAssetId, title, ...}` → 201 + `Location`
 * - `GET /api/v1/work-orders?externalKey=&updatedSince=&erpAssetId=&status=&orderBy=&limit=&offset=` → `{items, next?}`
 *   (`orderBy=updatedAt asc|desc`; else in the `listOrder` order; `updatedSinceFilter: false` ignores `updatedSince`)
 * - `GET /api/v1/work-orders/{id}` → 200
 * - `PATCH /api/v1/work-orders/{id}` `{priority?, severity?, reason?, ...}` → 200 (the fields merged
 *   in; a priority change is recorded in the record's `priorityChanges`); 404 for an unknown work order;
 *   400 for `id`, `externalKey`, `erpAssetId` or `status` (a status moves only as a planner moves it);
 *   409 `WorkOrderClosed` for a work order completed or cancelled (a closed work order is not changed)
 * - `POST /api/v1/assets/{id}/meter-readings` `{readingAt, externalKey?, operatingHours|idleHours|odometerKm|fuelUsedL|reading|value}` → 201
 * - `GET /api/v1/assets/{id}/meter-readings?externalKey=&readingAt=` → `{items}`
 * - `POST /api/v1/inventory/counts` `{location, sku, countedQuantity, delta?, revision?, countedAt}` → 201
 * - `GET /api/v1/inventory/counts?externalKey=&location=&sku=` → `{items}`
 * - `GET /api/v1/inventory/on-hand?location=&sku=` → `{location, sku, quantity}` (0 for a cell never counted)
 * - `POST /api/v1/assets/{id}/usage` `{period, periodUnits, unit, lifeToDateUnits?, totalExpectedUnits?}` → 201
 * - `GET /api/v1/assets/{id}/usage?externalKey=&period=` → `{items}`
 *
 * Errors are `{error:{code, message}}` with 400 (validation, naming the field), 404 (unknown
 * asset or route), 405 and 409 (status transition; a PATCH of a closed work order: `WorkOrderClosed`;
 * with `uniqueExternalKey`, a create whose `externalKey` a record already has: `DuplicateEntry`).
 * @module
 */

export interface SimResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

export interface LocationRecord {
  readonly erpAssetId: string;
  readonly warehouseLocation: string | null;
  /** Null after a zone sighting (a reader knows the zone, not where in it). */
  readonly coordinates: { readonly lat: number; readonly lng: number } | null;
  readonly lastSeen: string;
  readonly updatedAt: string;
}

export type SimWorkOrderStatus = 'open' | 'in-progress' | 'completed' | 'cancelled';

export interface WorkOrderRecord {
  readonly id: string;
  readonly externalKey?: string;
  readonly erpAssetId: string;
  readonly title: string;
  readonly status: SimWorkOrderStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly completedAt?: string;
  readonly operatingHoursAtCompletion?: number;
  readonly odometerKmAtCompletion?: number;
  /** Every other field the client sent (description, priority, trigger, sensors, window ...). */
  readonly [field: string]: unknown;
}

/** Meter readings a planner records with a completion. */
export interface CompletionReadings {
  readonly operatingHoursAtCompletion?: number;
  readonly odometerKmAtCompletion?: number;
}

export interface MeterReadingRecord {
  readonly id: string;
  readonly erpAssetId: string;
  readonly readingAt: string;
  readonly [field: string]: unknown;
}

export interface InventoryCountRecord {
  readonly id: string;
  readonly location: string;
  readonly sku: string;
  readonly countedQuantity: number;
  readonly delta?: number;
  readonly countedAt: string;
  readonly [field: string]: unknown;
}

export interface UsagePostingRecord {
  readonly id: string;
  readonly erpAssetId: string;
  readonly period: string;
  readonly periodUnits: number;
  readonly unit: string;
  readonly [field: string]: unknown;
}

/** Everything the simulated ERP holds; tests read it to check the final effect. */
export interface ErpState {
  /** Location of record per asset (last write wins, like a real ERP). */
  readonly locations: Record<string, LocationRecord>;
  readonly workOrders: WorkOrderRecord[];
  readonly meterReadings: MeterReadingRecord[];
  /**
   * On-hand quantity per `location|sku`: the latest count's total, or (`inventoryTakes: delta`)
   * the sum of the counts' deltas; `editedAt` when someone last set it by hand ({@link ErpStore.setOnHand}).
   */
  readonly inventory: Record<string, { location: string; sku: string; quantity: number; countedAt?: string; editedAt?: string }>;
  /** Every count document posted. */
  readonly inventoryCounts: InventoryCountRecord[];
  readonly usagePostings: UsagePostingRecord[];
}

export interface AppliedCounters {
  location: number;
  workOrders: number;
  /** PATCHes of a work order applied. */
  workOrderUpdates: number;
  meterReadings: number;
  inventoryCounts: number;
  usagePostings: number;
}

export interface ErpStoreOptions {
  readonly now: () => number;
  /** Page size of work-order lists. @default 100 */
  readonly pageSize?: number;
  /** Called after a work order's status changed (for webhooks). */
  readonly onWorkOrderChanged?: (wo: WorkOrderRecord) => void;
  /**
   * What an inventory count changes: `total` sets on-hand to its `countedQuantity`; `delta` adds its
   * `delta` (required then), as NetSuite's `adjustQtyBy`. @default total
   */
  readonly inventoryTakes?: 'total' | 'delta';
  /**
   * `false`: work-order lists ignore `?externalKey=` and page through every work order, as some
   * ERPs (and middlewares) do with a filter they do not know. @default true
   */
  readonly externalKeyFilter?: boolean;
  /**
   * `false`: work-order lists ignore `?updatedSince=` (the value is still checked) and list every
   * work order, as an ERP (or a middleware) does with a filter it does not pass on. @default true
   */
  readonly updatedSinceFilter?: boolean;
  /**
   * `true`: `externalKey` is a unique key, as an ERP's unique business-key field is (Frappe's
   * `DuplicateEntryError`): a create whose key a record already has is 409 `DuplicateEntry` naming
   * that record, and changes nothing. @default false (a second record is created and counted)
   */
  readonly uniqueExternalKey?: boolean;
  /**
   * The order of work-order lists without `?orderBy=`: `oldest-first` by change time, or
   * `newest-first`, as many ERPs list by default. @default oldest-first
   */
  readonly listOrder?: 'oldest-first' | 'newest-first';
  /**
   * Fault: a work-order status change (`setWorkOrderStatus`) is stamped `updatedAt` when it is made,
   * but lists show it only this long after (a long transaction committing later, a read replica
   * lagging, a middleware batching): until then they show the version before it. A poller whose
   * `?updatedSince=` cursor passed that stamp meanwhile never lists the change unless it asks with
   * an overlap. @default 0 (visible at once)
   */
  readonly updateVisibleAfterMs?: number;
}

type Body = Record<string, unknown>;

const METER_FIELDS = ['operatingHours', 'idleHours', 'odometerKm', 'fuelUsedL', 'reading', 'value'];

/** The store's counters of effects: a rollback restores them, a reset clears them. */
const COUNTERS = ['outOfOrderStateWrites', 'outOfOrderLateLandings', 'duplicateWorkOrders', 'duplicateInventoryCounts', 'duplicateUsagePostings', 'duplicateStateWrites', 'duplicatesRefused'] as const;

export class ErpStore {
  private state: ErpState = emptyState();
  private seq = 0;
  readonly applied: AppliedCounters = zeroApplied();
  /** With `updateVisibleAfterMs`: the version of a work order lists show while its newest change is not visible yet. */
  private readonly shownBefore = new Map<string, WorkOrderRecord>();
  /**
   * Location, inventory or meter-reading writes older than what was stored (for readings: than the
   * asset's newest), sent while the client still waited for the answer: the client broke
   * event-time order.
   */
  outOfOrderStateWrites = 0;
  /**
   * Such writes that landed after their client had
   * given up on them (it timed out or went away while the request was held by a `latency` fault).
   * A real ERP applies such a request too; the client cannot prevent it, only repair it by sending
   * the newer value again afterwards (the dispatcher does for locations, after
   * `retry.unknownOutcomeSettleMs`; not for meter readings).
   */
  outOfOrderLateLandings = 0;
  /** Set by the server while it applies a request whose client has already gone (see {@link outOfOrderLateLandings}). */
  clientGone = false;
  /** Work orders created with an `externalKey` that already existed (a duplicate effect). */
  duplicateWorkOrders = 0;
  /**
   * Inventory counts applied for a count already applied (a duplicate effect, a delta taken twice):
   * the same `location`, `sku` and `revision` (a count without a `revision`: the same `countedAt`).
   */
  duplicateInventoryCounts = 0;
  /** Usage postings applied for an (asset, `period`) already posted: one posting per asset and period, ever (a duplicate effect). */
  duplicateUsagePostings = 0;
  /** Location writes for an (asset, lastSeen) already applied: the same fact taking effect twice. */
  duplicateStateWrites = 0;
  /** Creates refused 409 because their `externalKey` was taken (`uniqueExternalKey`). */
  duplicatesRefused = 0;
  private readonly appliedLocationFacts = new Set<string>();
  /** The key of each inventory count applied (see {@link duplicateInventoryCounts}). */
  private readonly appliedCountKeys = new Set<string>();
  /** The newest `readingAt` applied per asset (epoch ms). */
  private readonly newestReadingAt = new Map<string, number>();
  knownAssets: ReadonlySet<string> | undefined;

  constructor(private readonly options: ErpStoreOptions) {}

  /** A state write older than what was stored is being applied: counted by whether its client still waits. */
  private countOutOfOrder(): void {
    if (this.clientGone) this.outOfOrderLateLandings++;
    else this.outOfOrderStateWrites++;
  }

  snapshot(): ErpState {
    return structuredClone(this.state);
  }

  /**
   * What the store holds now, to go back to: the returned function undoes every change made since
   * (records, ids, counters), as an all-or-nothing batch rolls back.
   */
  savepoint(): () => void {
    const state = structuredClone(this.state);
    const seq = this.seq;
    const applied = { ...this.applied };
    const counters = COUNTERS.map((k) => this[k]);
    const facts = new Set(this.appliedLocationFacts);
    const countKeys = new Set(this.appliedCountKeys);
    const newest = new Map(this.newestReadingAt);
    return () => {
      this.state = state;
      this.seq = seq;
      Object.assign(this.applied, applied);
      COUNTERS.forEach((k, i) => (this[k] = counters[i] ?? 0));
      this.appliedLocationFacts.clear();
      for (const f of facts) this.appliedLocationFacts.add(f);
      this.appliedCountKeys.clear();
      for (const k of countKeys) this.appliedCountKeys.add(k);
      this.newestReadingAt.clear();
      for (const [k, v] of newest) this.newestReadingAt.set(k, v);
    };
  }

  reset(): void {
    this.state = emptyState();
    this.seq = 0;
    this.shownBefore.clear();
    Object.assign(this.applied, zeroApplied());
    for (const k of COUNTERS) this[k] = 0;
    this.appliedLocationFacts.clear();
    this.appliedCountKeys.clear();
    this.newestReadingAt.clear();
  }

  /** Answer one API request. `path` excludes the query. */
  route(method: string, path: string, query: URLSearchParams, body: unknown): SimResponse {
    const segments = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
    const [api, v1, collection, id, sub] = segments;
    if (api !== 'api' || v1 !== 'v1') return notFound(`no route ${method} ${path}`);

    if (collection === 'assets' && id !== undefined && segments.length === 5) {
      if (sub === 'location') {
        if (method === 'PATCH') return this.updateLocation(id, body);
        if (method === 'GET') return this.readLocation(id);
        return methodNotAllowed(method, path, 'GET, PATCH');
      }
      if (sub === 'meter-readings') {
        if (method === 'POST') return this.recordMeter(id, body);
        if (method === 'GET') return listed(this.state.meterReadings.filter((r) => r.erpAssetId === id), query, ['externalKey', 'readingAt']);
        return methodNotAllowed(method, path, 'GET, POST');
      }
      if (sub === 'usage') {
        if (method === 'POST') return this.postUsage(id, body);
        if (method === 'GET') return listed(this.state.usagePostings.filter((u) => u.erpAssetId === id), query, ['externalKey', 'period']);
        return methodNotAllowed(method, path, 'GET, POST');
      }
    }
    if (collection === 'work-orders' && segments.length === 3) {
      if (method === 'POST') return this.createWorkOrder(body);
      if (method === 'GET') return this.listWorkOrders(path, query);
      return methodNotAllowed(method, path, 'GET, POST');
    }
    if (collection === 'work-orders' && id !== undefined && segments.length === 4) {
      if (method === 'PATCH') return this.updateWorkOrder(id, body);
      if (method !== 'GET') return methodNotAllowed(method, path, 'GET, PATCH');
      const wo = this.state.workOrders.find((w) => w.id === id);
      return wo ? { status: 200, body: wo } : notFound(`work order ${id} does not exist`);
    }
    if (collection === 'inventory' && id === 'counts' && segments.length === 4) {
      if (method === 'POST') return this.countInventory(body);
      if (method === 'GET') return listed(this.state.inventoryCounts, query, ['externalKey', 'location', 'sku']);
      return methodNotAllowed(method, path, 'GET, POST');
    }
    if (collection === 'inventory' && id === 'on-hand' && segments.length === 4) {
      if (method !== 'GET') return methodNotAllowed(method, path, 'GET');
      const location = query.get('location');
      const sku = query.get('sku');
      if (!isNonEmptyString(location) || !isNonEmptyString(sku)) return invalid('give ?location= and ?sku=');
      return { status: 200, body: { location, sku, quantity: this.state.inventory[`${location}|${sku}`]?.quantity ?? 0 } };
    }
    return notFound(`no route ${method} ${path}`);
  }

  /**
   * Move a work order along open → in-progress → completed (or to cancelled), as a planner
   * would in the ERP. Throws when the work order is unknown or the transition is not allowed.
   */
  setWorkOrderStatus(
    ref: { id?: string; externalKey?: string },
    status: SimWorkOrderStatus,
    details: CompletionReadings = {},
  ): WorkOrderRecord {
    const index = this.state.workOrders.findIndex((w) =>
      ref.id !== undefined ? w.id === ref.id : ref.externalKey !== undefined && w.externalKey === ref.externalKey,
    );
    const current = this.state.workOrders[index];
    if (!current) throw new SimError(404, 'NotFound', `no work order with ${ref.id !== undefined ? `id ${ref.id}` : `externalKey ${ref.externalKey}`}`);
    const allowed: Record<SimWorkOrderStatus, SimWorkOrderStatus[]> = {
      open: ['in-progress', 'completed', 'cancelled'],
      'in-progress': ['completed', 'cancelled'],
      completed: [],
      cancelled: [],
    };
    if (!allowed[current.status].includes(status)) {
      throw new SimError(409, 'InvalidTransition', `work order ${current.id} is ${current.status}; it cannot become ${status}`);
    }
    const now = this.isoNow();
    const next: WorkOrderRecord = {
      ...current,
      status,
      updatedAt: now,
      ...(status === 'completed' ? { completedAt: now } : {}),
      ...(status === 'completed' && details.operatingHoursAtCompletion !== undefined
        ? { operatingHoursAtCompletion: details.operatingHoursAtCompletion }
        : {}),
      ...(status === 'completed' && details.odometerKmAtCompletion !== undefined ? { odometerKmAtCompletion: details.odometerKmAtCompletion } : {}),
    };
    // Lists go on showing the version they show now until this change is visible.
    if ((this.options.updateVisibleAfterMs ?? 0) > 0) {
      const shown = this.visible(current);
      if (shown) this.shownBefore.set(current.id, shown);
      else this.shownBefore.delete(current.id);
    }
    this.state.workOrders[index] = next;
    this.options.onWorkOrderChanged?.(structuredClone(next));
    return structuredClone(next);
  }

  /** Set a cell's on-hand quantity as someone editing the ERP by hand would (no count document). */
  setOnHand(location: string, sku: string, quantity: number): void {
    if (!isNonEmptyString(location) || !isNonEmptyString(sku)) throw new SimError(400, 'ValidationError', 'location and sku are required');
    if (!isNumberIn(quantity, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) throw new SimError(400, 'ValidationError', 'quantity must be a number');
    const key = `${location}|${sku}`;
    this.state.inventory[key] = { ...this.state.inventory[key], location, sku, quantity, editedAt: this.isoNow() };
  }

  private isoNow(): string {
    return new Date(this.options.now()).toISOString();
  }

  private nextId(prefix: string): string {
    this.seq++;
    return `${prefix}-${String(this.seq).padStart(6, '0')}`;
  }

  private unknownAsset(erpAssetId: string): SimResponse | undefined {
    if (this.knownAssets && !this.knownAssets.has(erpAssetId)) return notFound(`asset ${erpAssetId} does not exist`);
    return undefined;
  }

  private updateLocation(erpAssetId: string, raw: unknown): SimResponse {
    const body = asObject(raw);
    if (!body) return invalid('body must be a JSON object');
    const zone = body.warehouseLocation;
    if (zone !== undefined && zone !== null && typeof zone !== 'string') return invalid('warehouseLocation must be a string or null');
    const coords = asObject(body.coordinates);
    // A zone sighting: the location, and no position.
    if (body.coordinates === null && typeof zone !== 'string') return invalid('coordinates may be null only with a warehouseLocation');
    if (!coords && body.coordinates !== null) return invalid('coordinates is required: {lat, lng}, or null with a warehouseLocation');
    if (coords && !isNumberIn(coords.lat, -90, 90)) return invalid('coordinates.lat must be a number between -90 and 90');
    if (coords && !isNumberIn(coords.lng, -180, 180)) return invalid('coordinates.lng must be a number between -180 and 180');
    if (!isIsoTime(body.lastSeen)) return invalid('lastSeen must be an ISO 8601 date-time with zone');
    const missing = this.unknownAsset(erpAssetId);
    if (missing) return missing;

    const previous = this.state.locations[erpAssetId];
    if (previous && Date.parse(body.lastSeen) < Date.parse(previous.lastSeen)) this.countOutOfOrder();
    const fact = `${erpAssetId}|${Date.parse(body.lastSeen)}`;
    if (this.appliedLocationFacts.has(fact)) this.duplicateStateWrites++;
    this.appliedLocationFacts.add(fact);
    const record: LocationRecord = {
      erpAssetId,
      warehouseLocation: typeof zone === 'string' ? zone : null,
      coordinates: coords ? { lat: coords.lat as number, lng: coords.lng as number } : null,
      lastSeen: body.lastSeen,
      updatedAt: this.isoNow(),
    };
    this.state.locations[erpAssetId] = record;
    this.applied.location++;
    return { status: 200, body: record };
  }

  private readLocation(erpAssetId: string): SimResponse {
    const record = this.state.locations[erpAssetId];
    return record ? { status: 200, body: record } : notFound(`asset ${erpAssetId} has no location`);
  }

  /** With `uniqueExternalKey`: the 409 for a create whose `externalKey` a record already has. */
  private keyTaken(records: readonly { readonly id: string }[], body: Body, what: string): SimResponse | undefined {
    const key = body.externalKey;
    if (this.options.uniqueExternalKey !== true || !isNonEmptyString(key)) return undefined;
    const existing = records.find((r) => (r as Body).externalKey === key);
    if (!existing) return undefined;
    this.duplicatesRefused++;
    return { status: 409, body: errorBody('DuplicateEntry', `${what} ${existing.id} already exists with externalKey ${key}`) };
  }

  private createWorkOrder(raw: unknown): SimResponse {
    const body = asObject(raw);
    if (!body) return invalid('body must be a JSON object');
    if (!isNonEmptyString(body.erpAssetId)) return invalid('erpAssetId is required');
    if (!isNonEmptyString(body.title)) return invalid('title is required');
    if (body.title.length > 200) return invalid('title must be at most 200 characters');
    if (body.externalKey !== undefined && !isNonEmptyString(body.externalKey)) return invalid('externalKey must be a non-empty string');
    if (body.description !== undefined && typeof body.description !== 'string') return invalid('description must be a string');
    const missing = this.unknownAsset(body.erpAssetId);
    if (missing) return missing;

    const taken = this.keyTaken(this.state.workOrders, body, 'work order');
    if (taken) return taken;
    const externalKey = body.externalKey;
    if (externalKey !== undefined && this.state.workOrders.some((w) => w.externalKey === externalKey)) this.duplicateWorkOrders++;
    const now = this.isoNow();
    const { id: _id, status: _status, createdAt: _c, updatedAt: _u, completedAt: _d, ...fields } = body;
    const record: WorkOrderRecord = {
      ...fields,
      id: this.nextId('WO'),
      erpAssetId: body.erpAssetId,
      title: body.title,
      status: 'open',
      createdAt: now,
      updatedAt: now,
    };
    this.state.workOrders.push(record);
    this.applied.workOrders++;
    return { status: 201, headers: { Location: `/api/v1/work-orders/${record.id}` }, body: record };
  }

  /**
   * `PATCH /api/v1/work-orders/{id}`: the body's fields merged into the work order (a planner's
   * priority raised by the service); each priority change is kept in `priorityChanges` (`{from, to, at}`).
   * A work order completed or cancelled is refused with 409 `WorkOrderClosed`, unchanged.
   */
  private updateWorkOrder(id: string, raw: unknown): SimResponse {
    const body = asObject(raw);
    if (!body) return invalid('body must be a JSON object');
    for (const field of ['id', 'externalKey', 'status', 'createdAt', 'updatedAt', 'completedAt', 'priorityChanges'])
      if (body[field] !== undefined) return invalid(`${field} cannot be changed by a PATCH`);
    if (body.priority !== undefined && !isNonEmptyString(body.priority)) return invalid('priority must be a non-empty string');
    const index = this.state.workOrders.findIndex((w) => w.id === id);
    const current = this.state.workOrders[index];
    if (!current) return notFound(`work order ${id} does not exist`);
    if (body.erpAssetId !== undefined && body.erpAssetId !== current.erpAssetId) return invalid(`erpAssetId cannot be changed by a PATCH (work order ${id} is for ${current.erpAssetId})`);
    // As an ERP refuses changing a closed order (SAP: technically completed or closed; others a 4xx).
    if (current.status === 'completed' || current.status === 'cancelled')
      return { status: 409, body: errorBody('WorkOrderClosed', `work order ${id} is ${current.status}: a closed work order cannot be changed`) };
    const now = this.isoNow();
    const changes = Array.isArray(current.priorityChanges) ? (current.priorityChanges as unknown[]) : [];
    const changed = body.priority !== undefined && body.priority !== current.priority;
    const next: WorkOrderRecord = {
      ...current,
      ...body,
      id: current.id,
      erpAssetId: current.erpAssetId,
      title: typeof body.title === 'string' && body.title !== '' ? body.title : current.title,
      status: current.status,
      updatedAt: now,
      ...(changed ? { priorityChanges: [...changes, { from: current.priority ?? null, to: body.priority, at: now }] } : {}),
    };
    // Lists go on showing the version they show now until this change is visible.
    if ((this.options.updateVisibleAfterMs ?? 0) > 0) {
      const shown = this.visible(current);
      if (shown) this.shownBefore.set(current.id, shown);
      else this.shownBefore.delete(current.id);
    }
    this.state.workOrders[index] = next;
    this.applied.workOrderUpdates++;
    return { status: 200, body: next };
  }

  /** The version of a work order lists show now (`updateVisibleAfterMs`): its newest, or the one before a change not visible yet; none if no version is. */
  private visible(w: WorkOrderRecord): WorkOrderRecord | undefined {
    const lag = this.options.updateVisibleAfterMs ?? 0;
    if (lag <= 0 || w.updatedAt === w.createdAt || Date.parse(w.updatedAt) + lag <= this.options.now()) return w;
    const before = this.shownBefore.get(w.id);
    return before === undefined ? undefined : this.visible(before);
  }

  private listWorkOrders(path: string, query: URLSearchParams): SimResponse {
    let items = this.state.workOrders.map((w) => this.visible(w)).filter((w): w is WorkOrderRecord => w !== undefined);
    const externalKey = query.get('externalKey');
    if (externalKey !== null && this.options.externalKeyFilter !== false) items = items.filter((w) => w.externalKey === externalKey);
    const erpAssetId = query.get('erpAssetId');
    if (erpAssetId !== null) items = items.filter((w) => w.erpAssetId === erpAssetId);
    const status = query.get('status');
    if (status !== null) items = items.filter((w) => w.status === status);
    const updatedSince = query.get('updatedSince');
    if (updatedSince !== null) {
      if (!isIsoTime(updatedSince)) return invalid('updatedSince must be an ISO 8601 date-time with zone');
      const since = Date.parse(updatedSince);
      // At-or-after: a consumer polling with its last seen time gets that change again, never loses one.
      if (this.options.updatedSinceFilter !== false) items = items.filter((w) => Date.parse(w.updatedAt) >= since);
    }
    const orderBy = query.get('orderBy');
    if (orderBy !== null && orderBy !== 'updatedAt asc' && orderBy !== 'updatedAt desc') return invalid('orderBy must be "updatedAt asc" or "updatedAt desc"');
    const newestFirst = orderBy === null ? this.options.listOrder === 'newest-first' : orderBy === 'updatedAt desc';
    items.sort((a, b) => Date.parse(a.updatedAt) - Date.parse(b.updatedAt) || (a.id < b.id ? -1 : 1));
    if (newestFirst) items.reverse();
    const limit = Math.min(1000, Math.max(1, Number(query.get('limit') ?? this.options.pageSize ?? 100) || 100));
    const offset = Math.max(0, Number(query.get('offset') ?? 0) || 0);
    const page = items.slice(offset, offset + limit);
    const nextQuery = new URLSearchParams(query);
    nextQuery.set('offset', String(offset + limit));
    nextQuery.set('limit', String(limit));
    return {
      status: 200,
      body: { items: page, ...(offset + limit < items.length ? { next: `${path}?${nextQuery.toString()}` } : {}) },
    };
  }

  private recordMeter(erpAssetId: string, raw: unknown): SimResponse {
    const body = asObject(raw);
    if (!body) return invalid('body must be a JSON object');
    if (!isIsoTime(body.readingAt)) return invalid('readingAt must be an ISO 8601 date-time with zone');
    const values = METER_FIELDS.filter((f) => body[f] !== undefined);
    if (values.length === 0) return invalid(`give at least one reading: ${METER_FIELDS.join(', ')}`);
    for (const f of values) if (!isNumberIn(body[f], 0, Number.MAX_SAFE_INTEGER)) return invalid(`${f} must be a non-negative number`);
    const missing = this.unknownAsset(erpAssetId);
    if (missing) return missing;
    const taken = this.keyTaken(this.state.meterReadings, body, 'meter reading');
    if (taken) return taken;
    // Readings must come in time order per meter (ERP reference): an older one than the asset's newest is counted.
    const at = Date.parse(body.readingAt);
    const newest = this.newestReadingAt.get(erpAssetId);
    if (newest !== undefined && at < newest) this.countOutOfOrder();
    if (newest === undefined || at > newest) this.newestReadingAt.set(erpAssetId, at);
    const record: MeterReadingRecord = { ...body, id: this.nextId('MR'), erpAssetId, readingAt: body.readingAt };
    this.state.meterReadings.push(record);
    this.applied.meterReadings++;
    return { status: 201, body: record };
  }

  private countInventory(raw: unknown): SimResponse {
    const body = asObject(raw);
    if (!body) return invalid('body must be a JSON object');
    if (!isNonEmptyString(body.location)) return invalid('location is required');
    if (!isNonEmptyString(body.sku)) return invalid('sku is required');
    if (!isNumberIn(body.countedQuantity, 0, Number.MAX_SAFE_INTEGER)) return invalid('countedQuantity must be a non-negative number');
    if (body.delta !== undefined && body.delta !== null && !isNumberIn(body.delta, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER))
      return invalid('delta must be a number');
    if (!isIsoTime(body.countedAt)) return invalid('countedAt must be an ISO 8601 date-time with zone');
    const byDelta = this.options.inventoryTakes === 'delta';
    if (byDelta && typeof body.delta !== 'number') return invalid('delta is required: this ERP adjusts on-hand by it');
    const taken = this.keyTaken(this.state.inventoryCounts, body, 'inventory count');
    if (taken) return taken;
    const key = `${body.location}|${body.sku}`;
    const previous = this.state.inventory[key];
    // One count per cell and revision (a client's business key `<location>|<sku>|r<revision>`).
    const countKey = `${body.location}\u001f${body.sku}\u001f${typeof body.revision === 'number' ? `r${body.revision}` : Date.parse(body.countedAt)}`;
    if (this.appliedCountKeys.has(countKey)) this.duplicateInventoryCounts++;
    this.appliedCountKeys.add(countKey);
    if (previous?.countedAt !== undefined && Date.parse(body.countedAt) < Date.parse(previous.countedAt)) this.countOutOfOrder();
    const record: InventoryCountRecord = {
      ...body,
      id: this.nextId('IC'),
      location: body.location,
      sku: body.sku,
      countedQuantity: body.countedQuantity,
      countedAt: body.countedAt,
    };
    this.state.inventoryCounts.push(record);
    const quantity = byDelta ? (previous?.quantity ?? 0) + (body.delta as number) : body.countedQuantity;
    this.state.inventory[key] = { location: body.location, sku: body.sku, quantity, countedAt: body.countedAt };
    this.applied.inventoryCounts++;
    return { status: 201, body: record };
  }

  private postUsage(erpAssetId: string, raw: unknown): SimResponse {
    const body = asObject(raw);
    if (!body) return invalid('body must be a JSON object');
    if (!isNonEmptyString(body.period)) return invalid('period is required (e.g. 2026-03)');
    if (!isNumberIn(body.periodUnits, 0, Number.MAX_SAFE_INTEGER)) return invalid('periodUnits must be a non-negative number');
    if (!isNonEmptyString(body.unit)) return invalid('unit is required (e.g. h)');
    for (const f of ['lifeToDateUnits', 'totalExpectedUnits']) {
      if (body[f] !== undefined && body[f] !== null && !isNumberIn(body[f], 0, Number.MAX_SAFE_INTEGER)) return invalid(`${f} must be a non-negative number`);
    }
    const missing = this.unknownAsset(erpAssetId);
    if (missing) return missing;
    const taken = this.keyTaken(this.state.usagePostings, body, 'usage posting');
    if (taken) return taken;
    const period = body.period;
    if (this.state.usagePostings.some((u) => u.erpAssetId === erpAssetId && u.period === period)) this.duplicateUsagePostings++;
    const record: UsagePostingRecord = {
      ...body,
      id: this.nextId('UP'),
      erpAssetId,
      period: body.period,
      periodUnits: body.periodUnits,
      unit: body.unit,
    };
    this.state.usagePostings.push(record);
    this.applied.usagePostings++;
    return { status: 201, body: record };
  }
}

/** A control-API failure with the status to answer. */
export class SimError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** `{items}` of the records whose `fields` equal the query's values (a lookup by `externalKey` ...). */
function listed(records: readonly Readonly<Record<string, unknown>>[], query: URLSearchParams, fields: readonly string[]): SimResponse {
  const items = records.filter((r) => fields.every((f) => query.get(f) === null || r[f] === query.get(f)));
  return { status: 200, body: { items: structuredClone(items) } };
}

function invalid(message: string): SimResponse {
  return { status: 400, body: errorBody('ValidationError', message) };
}

function notFound(message: string): SimResponse {
  return { status: 404, body: errorBody('NotFound', message) };
}

function methodNotAllowed(method: string, path: string, allow: string): SimResponse {
  return { status: 405, headers: { Allow: allow }, body: errorBody('MethodNotAllowed', `${method} is not allowed on ${path}; use ${allow}`) };
}

function emptyState(): ErpState {
  return { locations: {}, workOrders: [], meterReadings: [], inventory: {}, inventoryCounts: [], usagePostings: [] };
}

function zeroApplied(): AppliedCounters {
  return { location: 0, workOrders: 0, workOrderUpdates: 0, meterReadings: 0, inventoryCounts: 0, usagePostings: 0 };
}

function asObject(value: unknown): Body | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Body) : undefined;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function isNumberIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;
}

/** ISO 8601 date-time with an explicit zone (`Z` or `±hh:mm`), as the API documents. */
function isIsoTime(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) &&
    !Number.isNaN(Date.parse(value))
  );
}
