/**
 * The REST connector against the ERP simulator over real HTTP: every operation, the failure
 * classes as they arrive on the wire, OAuth2, batches, exactly-once after lost responses, and
 * redaction of everything recorded.
 */
import { describe, expect, it } from 'vitest';
import { AuthError, ConflictError, PermanentError, RateLimitedError, RetryableError } from '../../../core/errors/errors.js';
import type { ItemResult } from '../../../ports/connector.js';
import { restDestinationSchema } from '../../../config/schema.js';
import { startErpSimulator, type ErpSimulator, type ErpSimulatorOptions } from '../../../../simulators/erp-rest/erp-simulator.js';
import { createRestConnector } from './rest-connector.js';
import { T0, connectorFor, ctx, errorOf, outboxItem as item, useSimulators } from '../../../../test/helpers/rest-simulator.js';
import { waitFor } from '../../../../test/helpers/wait.js';

const sim = useSimulators();

/** A clock shared by simulator and connector, so token expiry can be stepped over. */
function steppedClock(start = T0): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const location = (asset: string, lat = 59.33, zone: string | null = 'YARD-1') =>
  item('location.update', asset, { erpAssetId: asset, warehouseLocation: zone, coordinates: { lat, lng: 18.07 }, lastSeen: '2026-03-02T08:10:00.000Z' });
const workOrder = (asset: string, key?: string) =>
  item('workorder.create', asset, { erpAssetId: asset, title: 'Oil pressure low', priority: 'high', trigger: { sensor: 'oilPressureKpa', value: 80, threshold: 100 } }, key ? { businessKey: key } : {});
const meter = (asset: string, hours = 1200) => item('meter.record', asset, { meter: 'operatingHours', operatingHours: hours, unit: 'h' });
const inventory = (qty = 40) => item('inventory.count', 'SKU-1', { location: 'WH-1/A-01', sku: 'SKU-1', countedQuantity: qty, delta: -2 });
const usage = (asset: string) => item('usage.post', asset, { period: '2026-02', periodUnits: 160, lifeToDateUnits: 5000, totalExpectedUnits: 20000, unit: 'h' });

describe('each operation against the simulator', () => {
  it('location.update sets the location of record', async () => {
    const s = await sim();
    const [result] = await connectorFor(s).send([location('EQ-1', 60.1, 'GATE-3')], ctx);
    expect(result?.ok).toBe(true);
    expect(result?.exchange).toMatchObject({ method: 'PATCH', url: `${s.url}/api/v1/assets/EQ-1/location`, status: 200 });
    expect(s.state().locations['EQ-1']).toMatchObject({ warehouseLocation: 'GATE-3', coordinates: { lat: 60.1, lng: 18.07 }, lastSeen: '2026-03-02T08:10:00.000Z' });
  });

  it('workorder.create opens a work order carrying the business key as externalKey', async () => {
    const s = await sim();
    const wo = workOrder('EQ-2');
    const [result] = await connectorFor(s).send([wo], ctx);
    expect(result?.ok).toBe(true);
    const [created] = s.state().workOrders;
    expect(created).toMatchObject({ externalKey: wo.businessKey, erpAssetId: 'EQ-2', title: 'Oil pressure low', status: 'open', trigger: { sensor: 'oilPressureKpa' } });
    expect(result?.ok && (result.response as { id: string }).id).toBe(created?.id);
  });

  it('workorder.create answered with 201 and only a Location (no body): the id is read from it, one by one and in a batch', async () => {
    const s = await sim({ createdBody: false });
    const [one] = await connectorFor(s).send([workOrder('EQ-2')], ctx);
    const [batched] = await connectorFor(s, { batch: { maxSize: 10 } }).send([workOrder('EQ-3')], ctx);
    const [a, b] = s.state().workOrders;
    expect(one?.ok && one.response).toEqual({ id: a?.id, location: `/api/v1/work-orders/${a?.id}` });
    expect(batched?.ok && batched.response).toEqual({ id: b?.id, location: `/api/v1/work-orders/${b?.id}` });
    expect(one?.exchange).not.toHaveProperty('responseBody');
  });

  it('meter.record, inventory.count and usage.post land as documents', async () => {
    const s = await sim();
    const results = await connectorFor(s).send([meter('EQ-3', 1234.5), inventory(41), usage('EQ-3')], ctx);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    const state = s.state();
    expect(state.meterReadings).toEqual([expect.objectContaining({ erpAssetId: 'EQ-3', operatingHours: 1234.5, readingAt: expect.any(String) })]);
    expect(state.inventory['WH-1/A-01|SKU-1']).toMatchObject({ quantity: 41 });
    expect(state.usagePostings).toEqual([expect.objectContaining({ erpAssetId: 'EQ-3', period: '2026-02', periodUnits: 160, unit: 'h' })]);
    expect(s.counters().applied).toEqual({ location: 0, workOrders: 0, workOrderUpdates: 0, meterReadings: 1, inventoryCounts: 1, usagePostings: 1 });
  });

  it('sends the idempotency key in the configured header', async () => {
    const s = await sim({ idempotencyHeader: 'Idempotency-Key' });
    const c = connectorFor(s, { idempotencyHeader: 'Idempotency-Key' });
    const wo = workOrder('EQ-4');
    await c.send([wo], ctx);
    await c.send([wo], ctx);
    expect(s.state().workOrders).toHaveLength(1);
    expect(s.counters().duplicatesSuppressed).toBe(1);
  });

  it('fetchWorkOrderUpdates follows status changes made in the ERP, across pages', async () => {
    const clock = steppedClock();
    const s = await sim({ now: clock.now, pageSize: 2 });
    const c = connectorFor(s, {}, clock);
    const orders = [workOrder('EQ-5'), workOrder('EQ-6'), workOrder('EQ-7')];
    await c.send(orders, ctx);
    clock.advance(60_000);
    const since = clock.now();
    s.setWorkOrderStatus({ externalKey: orders[0]!.businessKey }, 'in-progress');
    clock.advance(1000);
    s.completeWorkOrder({ externalKey: orders[0]!.businessKey }, { operatingHoursAtCompletion: 512.5 });
    s.setWorkOrderStatus({ externalKey: orders[1]!.businessKey }, 'cancelled');
    // Through the control API too, as an e2e test in another process would.
    const res = await fetch(`${s.url}/__sim/complete-work-order`, { method: 'POST', body: JSON.stringify({ externalKey: orders[2]!.businessKey, odometerKmAtCompletion: 30_120 }) });
    expect(res.status).toBe(200);

    // A work order opened in the ERP by hand (no externalKey) is not ours, but it was read.
    clock.advance(1000);
    const manual = await c.client.request({ method: 'POST', path: '/api/v1/work-orders', body: { erpAssetId: 'EQ-8', title: 'Replace seat' } });
    expect(manual.ok).toBe(true);

    const { updates, readUpTo } = await c.fetchWorkOrderUpdates(since, ctx);
    expect(readUpTo).toBe(since + 2000);
    expect(updates.map((u) => [u.businessKey, u.status])).toEqual([
      [orders[0]!.businessKey, 'completed'],
      [orders[1]!.businessKey, 'cancelled'],
      [orders[2]!.businessKey, 'completed'],
    ]);
    expect(updates[0]).toMatchObject({ erpAssetId: 'EQ-5', operatingHoursAtCompletion: 512.5, changedAt: since + 1000 });
    expect(updates[2]).toMatchObject({ erpAssetId: 'EQ-7', odometerKmAtCompletion: 30_120 });
    expect(updates[2]?.operatingHoursAtCompletion).toBeUndefined();
    expect(s.counters().requests).toBeGreaterThanOrEqual(3); // 1 send... plus 2 pages at least
    expect(await c.fetchWorkOrderUpdates(clock.now() + 1, ctx)).toEqual({ updates: [] });
  });

  it('follows a next link relative to the page it came on (OData V2 __next beside the entity set), polled and looked up', async () => {
    // SAP Gateway style: the service under a path, its __next relative to the entity set's URL.
    const key = 'EQ-5|svc-250h|250h@b0';
    const record = { id: '4000123', externalKey: key, erpAssetId: 'EQ-5', status: 'open', updatedAt: '2026-03-02T09:00:00Z' };
    const asked: string[] = [];
    const fake = ((url: string | URL) => {
      const u = new URL(String(url));
      asked.push(`${u.pathname}${u.search}`);
      const page2 = u.searchParams.get('$skiptoken') === '1';
      const body = page2 ? { d: { results: [record] } } : { d: { results: [], __next: 'MaintenanceOrder?$skiptoken=1' } };
      return Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } }));
    }) as typeof fetch;
    const config = restDestinationSchema.parse({ name: 's4', type: 'rest', baseUrl: 'https://s4.example.test', idempotencySupported: false, paths: { workOrders: '/sap/opu/odata/sap/API_MAINTENANCEORDER/MaintenanceOrder' } });
    const c = createRestConnector(config, { fetch: fake });
    expect((await c.fetchWorkOrderUpdates(T0, ctx)).updates.map((u) => u.erpWorkOrderId)).toEqual(['4000123']);
    expect(asked[1]).toBe('/sap/opu/odata/sap/API_MAINTENANCEORDER/MaintenanceOrder?$skiptoken=1');
    const [found] = await c.send([workOrder('EQ-5', key)], ctx);
    expect(found).toMatchObject({ ok: true, response: { id: '4000123' } });
    expect(asked[3]).toBe('/sap/opu/odata/sap/API_MAINTENANCEORDER/MaintenanceOrder?$skiptoken=1');
  });

  it('a next link on another origin (a proxy in front of the ERP writing its internal address) is not followed, and the error names baseUrl, polled and looked up', async () => {
    const asked: string[] = [];
    const fake = ((url: string | URL) => {
      asked.push(String(url));
      const body = { value: [], '@odata.nextLink': 'http://erp-internal:8000/api/v1/work-orders?$skiptoken=1' };
      return Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } }));
    }) as typeof fetch;
    const config = restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: 'https://erp.example.test', token: 'secret-token', idempotencySupported: false });
    const c = createRestConnector(config, { fetch: fake });
    const polled = await c.fetchWorkOrderUpdates(T0, ctx).catch((err: unknown) => err);
    expect(polled).toBeInstanceOf(PermanentError);
    expect((polled as Error).message).toContain('refusing to send credentials to http://erp-internal:8000');
    expect((polled as Error).message).toContain('set baseUrl of destination "erp" to http://erp-internal:8000');
    // The credentials never went there.
    expect(asked.every((u) => u.startsWith('https://erp.example.test/'))).toBe(true);
    const [looked] = await c.send([workOrder('EQ-5', 'EQ-5|svc-250h|250h@b0')], ctx);
    expect(errorOf(looked)).toBeInstanceOf(PermanentError);
    expect(errorOf(looked)?.message).toContain('set baseUrl of destination "erp" to http://erp-internal:8000');
    expect(asked.every((u) => u.startsWith('https://erp.example.test/'))).toBe(true);
  });

  it('a work order changing while the poll pages (offset paging shifts the rest by one) misses no other: the cursor stays before it', async () => {
    const clock = steppedClock();
    const s = await sim({ now: clock.now, pageSize: 2 });
    const orders = ['EQ-1', 'EQ-2', 'EQ-3', 'EQ-4', 'EQ-5'].map((a) => workOrder(a));
    for (const wo of orders) {
      clock.advance(1000);
      await connectorFor(s).send([wo], ctx);
    }
    // The first work order is taken in progress in the ERP just after the poll read page 1.
    let pages = 0;
    const fetchDuring = ((input: string, init?: RequestInit) => {
      if (input.includes('/work-orders?') && pages++ === 1) {
        clock.advance(1000);
        s.setWorkOrderStatus({ externalKey: orders[0]!.businessKey }, 'in-progress');
      }
      return fetch(input, init);
    }) as typeof fetch;
    const c = createRestConnector(restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, token: 'sim-token' }), { fetch: fetchDuring });
    const first = await c.fetchWorkOrderUpdates(T0, ctx);
    // As pollOne does: the next poll asks from the cursor the first one read up to.
    const second = await c.fetchWorkOrderUpdates(first.readUpTo ?? T0, ctx);
    const seen = new Set([...first.updates, ...second.updates].map((u) => u.businessKey));
    expect([...seen].sort()).toEqual(orders.map((o) => o.businessKey).sort());
  });

  // Read as "not a list" (permanent), a page cut short made a poll reading on an unfinished list start it again.
  it('fetchWorkOrderUpdates: a page that is not JSON (cut short, a proxy\'s page) is retryable, not permanent', async () => {
    const s = await sim({ pageSize: 1 });
    const c = connectorFor(s);
    await c.send([workOrder('EQ-1'), workOrder('EQ-2')], ctx);
    const first = await c.fetchWorkOrderUpdates(T0, ctx);
    expect(first.updates).toHaveLength(2);
    s.faults.add({ kind: 'malformed', method: 'GET', path: '/work-orders' });
    const error = await c.fetchWorkOrderUpdates(T0, ctx).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).not.toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/^GET \/api\/v1\/work-orders\?updatedSince=.* → 200, but the answer is not JSON \(cut short, or a proxy's page\): got "\{/);
    // On a next page too.
    s.faults.add({ kind: 'malformed', method: 'GET', path: '/work-orders', body: '<html><body>502 Bad Gateway</body></html>' });
    const resumed = c.fetchWorkOrderUpdates(T0, ctx, `${s.url}/api/v1/work-orders?offset=1&limit=1`);
    await expect(resumed).rejects.toBeInstanceOf(RetryableError);
    await expect(resumed).rejects.toThrow('GET /api/v1/work-orders?offset=1&limit=1 → 200, but the answer is not JSON (cut short, or a proxy\'s page): got "<html><body>502 Bad Gateway</body></html>"; the next poll asks again');
  });

  // Read as "not a list" (permanent, `got undefined`), a page with no body stopped the poll as if the path were wrong.
  it('fetchWorkOrderUpdates: a page with no body at all is retryable and said to be empty, on a first or a next page', async () => {
    const s = await sim({ pageSize: 1 });
    const c = connectorFor(s);
    await c.send([workOrder('EQ-1'), workOrder('EQ-2')], ctx);
    s.faults.add({ kind: 'empty-body', method: 'GET', path: '/work-orders' });
    const error = await c.fetchWorkOrderUpdates(T0, ctx).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).not.toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(
      /^GET \/api\/v1\/work-orders\?updatedSince=.* → 200, but the answer was empty \(no body at all, where a work-order list \(at least \[\]\) was expected\): most likely it was cut short .*; the next poll asks again$/,
    );
    s.faults.add({ kind: 'empty-body', method: 'GET', path: '/work-orders' });
    const resumed = c.fetchWorkOrderUpdates(T0, ctx, `${s.url}/api/v1/work-orders?offset=1&limit=1`);
    await expect(resumed).rejects.toBeInstanceOf(RetryableError);
    await expect(resumed).rejects.toThrow(/^GET \/api\/v1\/work-orders\?offset=1&limit=1 → 200, but the answer was empty/);
    // Once it answers again, the poll reads on.
    expect((await c.fetchWorkOrderUpdates(T0, ctx)).updates).toHaveLength(2);
  });

  describe('a work-order list longer than maxWorkOrderPages', () => {
    /** Five work orders of ours, changed a second apart, in a simulator listing two per page. */
    async function fiveOrders(options: ErpSimulatorOptions) {
      const clock = steppedClock();
      const s = await sim({ now: clock.now, pageSize: 2, ...options });
      const orders = ['EQ-1', 'EQ-2', 'EQ-3', 'EQ-4', 'EQ-5'].map((a) => workOrder(a));
      for (const wo of orders) {
        clock.advance(1000);
        await connectorFor(s).send([wo], ctx);
      }
      return { s, clock, keys: orders.map((o) => o.businessKey) };
    }

    it('stops at the cap saying where the list goes on (newest first: not in order), and reads it on from there', async () => {
      const { s, keys } = await fiveOrders({ listOrder: 'newest-first' });
      const c = connectorFor(s, { maxWorkOrderPages: 2 });
      const first = await c.fetchWorkOrderUpdates(T0, ctx);
      expect(first.updates.map((u) => u.businessKey)).toEqual([keys[4], keys[3], keys[2], keys[1]]);
      expect(first.readUpTo).toBe(T0 + 5000);
      expect(first.ascending).toBeUndefined();
      expect(first.more).toMatchObject({ pages: 2, resume: expect.stringContaining('offset=4') as unknown });
      expect(first.more?.advice).toBe(
        'raise maxWorkOrderPages of destination "erp-sim" (now 2) so a poll reads the whole list, or set its workOrderOrder to the query parameter that makes the ERP list the oldest change first (e.g. {param: $orderby, value: ChangedDateTime asc}), so each poll moves the cursor on',
      );
      const rest = await c.fetchWorkOrderUpdates(T0, ctx, first.more?.resume);
      expect(rest.updates.map((u) => u.businessKey)).toEqual([keys[0]]);
      expect(rest.more).toBeUndefined();
      // Within the cap: as before.
      expect((await connectorFor(s).fetchWorkOrderUpdates(T0, ctx)).more).toBeUndefined();
    });

    it('asks for the order workOrderOrder names and says the list came in it; an ERP that ignores the parameter is not taken at its word', async () => {
      const { s, keys } = await fiveOrders({ listOrder: 'newest-first' });
      const asked: string[] = [];
      const recording = ((input: string, init?: RequestInit) => {
        asked.push(input);
        return fetch(input, init);
      }) as typeof fetch;
      const config = (order: Record<string, string>) => restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, token: 'sim-token', maxWorkOrderPages: 1, workOrderOrder: order });
      const ordered = await createRestConnector(config({ param: 'orderBy', value: 'updatedAt asc' }), { fetch: recording }).fetchWorkOrderUpdates(T0, ctx);
      expect(asked[0]).toBe(`${s.url}/api/v1/work-orders?updatedSince=2026-03-02T08%3A00%3A00.000Z&orderBy=updatedAt%20asc`);
      expect(ordered.updates.map((u) => u.businessKey)).toEqual([keys[0], keys[1]]);
      expect(ordered).toMatchObject({ ascending: true, readUpTo: T0 + 2000, more: { pages: 1, advice: 'raise maxWorkOrderPages of destination "erp-sim" (now 1) to read it in fewer polls' } });
      // A parameter the ERP does not know: it lists newest first still.
      const ignored = await createRestConnector(config({ param: '$orderby', value: 'updatedAt asc' }), { fetch: recording }).fetchWorkOrderUpdates(T0, ctx);
      expect(asked[1]).toContain('&$orderby=updatedAt%20asc');
      expect(ignored.ascending).toBeUndefined();
      expect(ignored.more?.advice).toContain('the ERP did not list the oldest change first though workOrderOrder asks it ($orderby=updatedAt asc)');
    });
  });

  it('reads an ERP\'s own status values through workOrderStatuses, polled and pushed', async () => {
    // An S/4HANA facade: TECO (technically complete), the counter reading as decimal text.
    const record = { id: '4000123', externalKey: 'EQ-5|svc-250h|250h@b0', erpAssetId: 'EQ-5', status: 'TECO', updatedAt: '2026-03-02T09:00:00Z', operatingHoursAtCompletion: '251.300' };
    const fake = (() => Promise.resolve(new Response(JSON.stringify({ value: [record] }), { status: 200, headers: { 'content-type': 'application/json' } }))) as typeof fetch;
    const config = restDestinationSchema.parse({ name: 's4', type: 'rest', baseUrl: 'https://s4.example.test', workOrderStatuses: { TECO: 'completed', REL: 'in-progress' } });
    const c = createRestConnector(config, { fetch: fake });
    const expected = { businessKey: record.externalKey, erpAssetId: 'EQ-5', erpWorkOrderId: '4000123', status: 'completed', changedAt: Date.parse(record.updatedAt), operatingHoursAtCompletion: 251.3 };
    expect((await c.fetchWorkOrderUpdates(T0, ctx)).updates).toEqual([expected]);
    expect(c.parseWorkOrderWebhook({ ...record, status: 'rel' })).toEqual([{ ...expected, status: 'in-progress' }]);
    // Without the mapping the poll gives which of ours it could not read, as listed, and why (to be
    // kept in quarantine): the status, the destination and the key to add it to; the ERP's own work orders are no concern.
    const unmapped = createRestConnector(restDestinationSchema.parse({ name: 's4', type: 'rest', baseUrl: 'https://s4.example.test' }), { fetch: fake, configKey: 'destinations.1' });
    expect(await unmapped.fetchWorkOrderUpdates(T0, ctx)).toEqual({
      updates: [],
      readUpTo: Date.parse(record.updatedAt),
      setAside: [
        {
          record,
          reason:
            "work order EQ-5|svc-250h|250h@b0: unknown status \"TECO\", which destinations.1.workOrderStatuses (destination \"s4\") does not map: add it there with the status it means (e.g. { \"TECO\": completed }, or ignore for one that changes nothing), then replay it ('assetbridge quarantine replay')",
          // Its id, key, status and change time: what makes a listing of it again the same record.
          version: JSON.stringify(['4000123', record.externalKey, 'TECO', Date.parse(record.updatedAt)]),
          // Its change time, read: the poll skips it when it lists it again within its overlap.
          changedAt: Date.parse(record.updatedAt),
        },
      ],
    });
  });

  it('reads the id, status, change time and completion readings from the fields workOrderFields names, polled and pushed', async () => {
    // A middleware that passes the ERP's own names through (Oracle-like), the hour meter nested.
    const record = { WorkOrderId: 300100, externalKey: 'EQ-5|svc-250h|250h@b0', erpAssetId: 'EQ-5', WorkOrderStatusCode: 'ORA_COMPLETED', LastUpdateDate: '2026-03-02T09:00:00Z', meter: { hours: '1200.5', km: 8800 } };
    const fake = (() => Promise.resolve(new Response(JSON.stringify({ items: [record] }), { status: 200, headers: { 'content-type': 'application/json' } }))) as typeof fetch;
    const config = restDestinationSchema.parse({
      name: 'fusion',
      type: 'rest',
      baseUrl: 'https://fusion.example.test',
      workOrderStatuses: { ORA_COMPLETED: 'completed' },
      workOrderFields: { id: 'WorkOrderId', status: 'WorkOrderStatusCode', updatedAt: 'LastUpdateDate', operatingHoursAtCompletion: 'meter.hours', odometerKmAtCompletion: 'meter.km' },
    });
    const c = createRestConnector(config, { fetch: fake });
    const expected = { businessKey: record.externalKey, erpAssetId: 'EQ-5', erpWorkOrderId: '300100', status: 'completed', changedAt: Date.parse(record.LastUpdateDate), operatingHoursAtCompletion: 1200.5, odometerKmAtCompletion: 8800 };
    expect(await c.fetchWorkOrderUpdates(T0, ctx)).toEqual({ updates: [expected], readUpTo: expected.changedAt });
    expect(c.parseWorkOrderWebhook({ type: 'changed', workOrder: record })).toEqual([expected]);
  });

  it('names what a passed-over work order of ours lacks (its status mapped), not the ERP\'s own; a nested field that is absent is absent', async () => {
    const at = '2026-03-02T09:00:00Z';
    const records = [
      // Ours, TECO mapped, but no time: it is the time that is missing, not the status that is unknown.
      { id: '4000124', externalKey: 'EQ-6|svc-250h|250h@b0', erpAssetId: 'EQ-6', status: 'TECO' },
      // The ERP's own (another system's key, a status not mapped): no concern of the poll.
      { id: '4000125', externalKey: 'PM-2026-17', erpAssetId: 'EQ-7', status: 'CRTD', updatedAt: '2026-03-02T08:30:00Z' },
      // Ours and readable, but without the object workOrderFields reads the hour meter from.
      { id: '4000126', externalKey: 'EQ-5|svc-250h|250h@b0', erpAssetId: 'EQ-5', status: 'TECO', updatedAt: at },
    ];
    const fake = (() => Promise.resolve(new Response(JSON.stringify({ value: records }), { status: 200, headers: { 'content-type': 'application/json' } }))) as typeof fetch;
    const config = restDestinationSchema.parse({ name: 's4', type: 'rest', baseUrl: 'https://s4.example.test', workOrderStatuses: { TECO: 'completed' }, workOrderFields: { operatingHoursAtCompletion: 'meter.hours' } });
    expect(await createRestConnector(config, { fetch: fake }).fetchWorkOrderUpdates(T0, ctx)).toEqual({
      updates: [{ businessKey: 'EQ-5|svc-250h|250h@b0', erpAssetId: 'EQ-5', erpWorkOrderId: '4000126', status: 'completed', changedAt: Date.parse(at) }],
      readUpTo: Date.parse(at),
      setAside: [
        {
          record: records[0],
          reason: 'work order EQ-6|svc-250h|250h@b0: needs a time (updatedAt, completedAt or createdAt: ISO 8601 with Z or an offset, /Date(ms)/, or epoch milliseconds or seconds)',
          // No time to read: the time fields as listed stand for it.
          version: JSON.stringify(['4000124', 'EQ-6|svc-250h|250h@b0', 'TECO', [null, null, null]]),
        },
      ],
    });
  });

  it('reads a listed record whose updatedAt is blank by its completedAt, and does not judge the list unfiltered by it (a completion time is no update time)', async () => {
    // Mutation: the blank updatedAt taken for the time (the completion set aside as unreadable); or,
    // read past, taken for an update time (an old completedAt warned of as a list the ERP did not filter).
    const completedAt = new Date(T0 - 60 * 60_000).toISOString();
    const record = { id: '4000127', externalKey: 'EQ-6|svc-250h|250h@b0', erpAssetId: 'EQ-6', status: 'completed', updatedAt: '', completedAt };
    const fake = (() => Promise.resolve(new Response(JSON.stringify([record, { ...record, id: '4000128', externalKey: 'EQ-7|svc-250h|250h@b0', erpAssetId: 'EQ-7', updatedAt: null }]), { status: 200, headers: { 'content-type': 'application/json' } }))) as typeof fetch;
    const c = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: 'https://erp.example.test' }), { fetch: fake });
    const polled = await c.fetchWorkOrderUpdates(T0, ctx);
    expect(polled).toEqual({
      updates: [
        { businessKey: record.externalKey, erpAssetId: 'EQ-6', erpWorkOrderId: '4000127', status: 'completed', changedAt: Date.parse(completedAt) },
        { businessKey: 'EQ-7|svc-250h|250h@b0', erpAssetId: 'EQ-7', erpWorkOrderId: '4000128', status: 'completed', changedAt: Date.parse(completedAt) },
      ],
      readUpTo: Date.parse(completedAt),
    });
  });

  it('probe reads the answer as a work-order list, so a path that answers 200 with something else fails config check --connect', async () => {
    const answering = (body: string) => createRestConnector(restDestinationSchema.parse({ name: 'e', type: 'rest', baseUrl: 'https://erp.example.test' }), {
      fetch: (() => Promise.resolve(new Response(body, { status: 200, headers: { 'content-type': 'application/json' } }))),
    });
    expect(await answering('{"d":{"results":[]}}').probe(ctx)).toMatchObject({ ok: true });
    const page = await answering('<html>Sign in</html>').probe(ctx);
    expect(page).toMatchObject({ ok: false, problem: 'path' });
    expect(page.detail).toBe(
      'GET https://erp.example.test/api/v1/work-orders?externalKey=assetbridge-connectivity-check → 200, but the answer is not a list: a JSON array, or an object with items, value, workOrders or d.results (OData V2), was expected; got "<html>Sign in</html>"',
    );
  });

  it('probe reads a cell with paths.inventoryOnHand after the work-order lookup: 404 is 0 on hand (said, not failed), a refusal names the credentials', async () => {
    const byPath = (onHand: Response) =>
      createRestConnector(restDestinationSchema.parse({ name: 'e', type: 'rest', baseUrl: 'https://erp.example.test', paths: { inventoryOnHand: '/stock/{location}/{sku}' } }), {
        fetch: ((url: string | URL) => Promise.resolve(String(url).includes('/stock/') ? onHand : new Response('[]', { status: 200, headers: { 'content-type': 'application/json' } }))) as typeof fetch,
      });
    const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    const found = await byPath(json({ quantityOnHand: '7' })).probe(ctx);
    expect(found).toMatchObject({ ok: true });
    expect(found.detail).toMatch(/work-orders\?externalKey=assetbridge-connectivity-check → 200 in \d+ ms; GET https:\/\/erp\.example\.test\/stock\/assetbridge-connectivity-check\/assetbridge-connectivity-check → 200 in \d+ ms$/);
    const unknown = await byPath(json({ error: 'no such item' }, 404)).probe(ctx);
    expect(unknown).toMatchObject({ ok: true });
    expect(unknown.detail).toContain('→ 404, read as 0 on hand (a wrong path answers so too');
    expect(await byPath(json({ error: 'no stock role' }, 403)).probe(ctx)).toMatchObject({ ok: false, problem: 'credentials' });
    expect(await byPath(json({}, 405)).probe(ctx)).toMatchObject({ ok: false, problem: 'path', key: 'paths.inventoryOnHand' });
  });

  // A wrong batch.path passed config check --connect and showed only as dead letters.
  it('probe sends an empty batch to batch.path: a wrong path fails naming batch.path, and nothing is applied', async () => {
    const s = await sim();
    const right = await connectorFor(s, { batch: { maxSize: 3 } }).probe(ctx);
    expect(right).toMatchObject({ ok: true });
    expect(right.detail).toMatch(/; POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/\$batch \(an empty batch\) → 200 in \d+ ms$/);
    const wrong = await connectorFor(s, { batch: { maxSize: 3, path: '/api/v1/batch' } }).probe(ctx);
    expect(wrong).toMatchObject({ ok: false, problem: 'path', key: 'batch.path' });
    expect(wrong.detail).toContain('POST /api/v1/batch → 404');
    expect(s.counters()).toMatchObject({ subRequests: 0, applied: { location: 0, workOrders: 0 } });
    // An ERP that refuses an empty batch still has the path.
    const refusing = createRestConnector(restDestinationSchema.parse({ name: 'e', type: 'rest', baseUrl: 'https://erp.example.test', batch: { maxSize: 3 } }), {
      fetch: ((_: string | URL, init?: RequestInit) =>
        Promise.resolve(init?.method === 'POST' ? new Response('{"error":{"code":"EmptyBatch","message":"no requests"}}', { status: 400, headers: { 'content-type': 'application/json' } }) : new Response('[]', { status: 200, headers: { 'content-type': 'application/json' } }))) as typeof fetch,
    });
    const empty = await refusing.probe(ctx);
    expect(empty).toMatchObject({ ok: true });
    expect(empty.detail).toContain('(an empty batch) → 400: an empty batch refused, so the path is there');
  });

  it('probe with OAuth2: a token endpoint it cannot reach names auth.tokenUrl, not baseUrl (the ERP was never asked)', async () => {
    const s = await sim();
    const unreachable = await connectorFor(s, { token: undefined, auth: { type: 'oauth2-client-credentials', tokenUrl: 'http://127.0.0.1:1/oauth/token', clientId: 'assetbridge', clientSecret: 'sim-secret' } }).probe(ctx);
    expect(unreachable).toMatchObject({ ok: false, problem: 'unreachable', key: 'auth.tokenUrl' });
    expect(unreachable.detail).toMatch(/^POST http:\/\/127\.0\.0\.1:1\/oauth\/token \(OAuth2 token\) → /);
    expect(s.counters().requests).toBe(0);
    // Refused there: the credentials, as a 401 from the ERP itself.
    const refused = await connectorFor(s, { token: undefined, auth: { type: 'oauth2-client-credentials', tokenUrl: `${s.url}/oauth/token`, clientId: 'assetbridge', clientSecret: 'wrong' } }).probe(ctx);
    expect(refused).toMatchObject({ ok: false, problem: 'credentials' });
  });

  it('fetchWorkOrderUpdates rejects with the classified error when the ERP cannot be read', async () => {
    const s = await sim();
    s.faults.add({ kind: 'error', status: 503, retryAfterSeconds: 5 });
    await expect(connectorFor(s).fetchWorkOrderUpdates(T0, ctx)).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('a poll the ERP refuses for good (it knows no ?updatedSince=, the path is wrong) says it was the poll and names the keys to set', async () => {
    const s = await sim();
    const placed = createRestConnector(restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, token: 'sim-token', timeoutMs: 2000 }), { configKey: 'destinations.1' });
    for (const status of [400, 404]) {
      s.faults.add({ kind: 'error', status, method: 'GET', body: { error: { code: 'BadRequest', message: 'unknown query parameter updatedSince' } } });
      const error = await placed.fetchWorkOrderUpdates(T0, ctx).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(PermanentError);
      expect((error as PermanentError).status).toBe(status);
      const message = (error as Error).message;
      expect(message).toContain(`GET /api/v1/work-orders → ${status}`);
      expect(message).toContain('unknown query parameter updatedSince');
      expect(message).toMatch(/the work-order poll \(GET \/api\/v1\/work-orders\?updatedSince=<ISO time>, every rules\.maintenance\.feedback\.pollEvery\)/);
      expect(message).toContain('check destinations.1.paths.workOrders (destination "erp-sim", now /api/v1/work-orders)');
      expect(message).toContain('rules.maintenance.feedback.pollEvery: 0 and have the ERP push them to POST /v1/webhooks/erp-sim/work-orders (destinations.1.webhook)');
    }
    // A 401 keeps its own advice (the credentials), not this one.
    s.setToken('rotated-token');
    const denied = await placed.fetchWorkOrderUpdates(T0, ctx).catch((err: unknown) => err);
    expect(denied).toBeInstanceOf(AuthError);
    expect((denied as Error).message).not.toContain('work-order poll');
  });
});

describe('on-hand reads (paths.inventoryOnHand)', () => {
  const ON_HAND = { paths: { inventoryOnHand: '/api/v1/inventory/on-hand?location={location}&sku={sku}' } };
  const cells = [
    { location: 'WH-1/A-01', sku: 'SKU-1' },
    { location: 'WH-2', sku: 'SKU 2&x' },
  ];

  it('reads each cell: the quantity counted, or 0 for one never counted; unset, nothing is read', async () => {
    const s = await sim();
    const [counted] = await connectorFor(s).send([inventory(40)], ctx);
    expect(counted?.ok).toBe(true);
    const c = connectorFor(s, ON_HAND);
    const before = s.counters().requests;
    expect(await c.readInventory?.(cells, ctx)).toEqual([
      { location: 'WH-1/A-01', sku: 'SKU-1', quantity: 40 },
      { location: 'WH-2', sku: 'SKU 2&x', quantity: 0 },
    ]);
    expect(s.counters().requests - before).toBe(2);
    expect(s.counters().applied.inventoryCounts).toBe(1); // reads write nothing
    expect(connectorFor(s).readInventory).toBeUndefined();
  });

  it('a 404 is 0 on hand; another failure rejects classified as deliveries are; an answer without a quantity is permanent', async () => {
    const s = await sim();
    const c = connectorFor(s, ON_HAND);
    s.faults.add({ kind: 'error', status: 404, path: '/inventory/on-hand' });
    await c.send([inventory(40)], ctx);
    expect(await c.readInventory?.(cells.slice(0, 1), ctx)).toEqual([{ location: 'WH-1/A-01', sku: 'SKU-1', quantity: 0 }]);
    s.faults.add({ kind: 'error', status: 500, path: '/inventory/on-hand' });
    await expect(c.readInventory?.(cells, ctx)).rejects.toBeInstanceOf(RetryableError);
    s.faults.add({ kind: 'error', status: 429, retryAfterSeconds: 7, path: '/inventory/on-hand' });
    await expect(c.readInventory?.(cells, ctx)).rejects.toBeInstanceOf(RateLimitedError);
    s.setToken('rotated');
    await expect(c.readInventory?.(cells, ctx)).rejects.toBeInstanceOf(AuthError);
    s.setToken('sim-token');
    s.faults.add({ kind: 'error', status: 200, body: { sku: 'SKU-1' }, path: '/inventory/on-hand' });
    const err = await c.readInventory?.(cells, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/on-hand read of WH-1\/A-01 \/ SKU-1\) → 200, but the on-hand answer has no numeric quantity, onHand, quantityOnHand/);
    // Each request after the first waits for the destination's budget.
    let asked = 0;
    await c.readInventory?.(cells, { signal: ctx.signal, budget: { next: () => Promise.resolve(void asked++) } });
    expect(asked).toBe(1);
  });

  it('an on-hand read refused for good (400, 405) or answered without a quantity names paths.inventoryOnHand, as every snapshot would fail so', async () => {
    const s = await sim();
    const c = createRestConnector(restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, token: 'sim-token', timeoutMs: 2000, ...ON_HAND }), { configKey: 'destinations.1' });
    const key = 'check destinations.1.paths.inventoryOnHand (destination "erp-sim", now /api/v1/inventory/on-hand?location={location}&sku={sku})';
    for (const fault of [
      { kind: 'error', status: 400, path: '/inventory/on-hand' },
      { kind: 'error', status: 405, path: '/inventory/on-hand' },
      { kind: 'error', status: 200, body: { sku: 'SKU-1' }, path: '/inventory/on-hand' },
    ] as const) {
      s.faults.add(fault);
      const err = await c.readInventory?.(cells, ctx).catch((e: unknown) => e);
      expect(err, String(fault.status)).toBeInstanceOf(PermanentError);
      expect((err as Error).message, String(fault.status)).toContain(key);
    }
    // Credentials keep their own advice.
    s.faults.add({ kind: 'error', status: 403, path: '/inventory/on-hand' });
    expect(((await c.readInventory?.(cells, ctx).catch((e: unknown) => e)) as Error).message).not.toContain('paths.inventoryOnHand');
  });
});

describe('a 2xx answer cut short is retryable on every read', () => {
  const ON_HAND = { paths: { inventoryOnHand: '/api/v1/inventory/on-hand?location={location}&sku={sku}' } };
  const cell = [{ location: 'WH-1/A-01', sku: 'SKU-1' }];

  it('an on-hand read whose JSON is cut short, or answered by a proxy page, is retried as a poll page or lookup is, not failed for good', async () => {
    const s = await sim();
    const c = connectorFor(s, ON_HAND);
    await c.send([inventory(40)], ctx);
    s.faults.add({ kind: 'malformed', method: 'GET', path: '/inventory/on-hand' });
    const cut = await c.readInventory?.(cell, ctx).catch((e: unknown) => e);
    expect(cut).toBeInstanceOf(RetryableError);
    expect(cut).not.toBeInstanceOf(PermanentError);
    expect((cut as Error).message).toMatch(/^GET \/api\/v1\/inventory\/on-hand\?.* \(the on-hand read of WH-1\/A-01 \/ SKU-1\) → 200, but the answer is not JSON \(cut short, or a proxy's page\): got "\{/);
    s.faults.add({ kind: 'malformed', method: 'GET', path: '/inventory/on-hand', body: '<html><body>502 Bad Gateway</body></html>' });
    await expect(c.readInventory?.(cell, ctx)).rejects.toBeInstanceOf(RetryableError);
    // The connection closed mid-body: retryable too, on the on-hand read and on a poll's page.
    s.faults.add({ kind: 'cut-body', method: 'GET', path: '/inventory/on-hand' });
    const closed = await c.readInventory?.(cell, ctx).catch((e: unknown) => e);
    expect(closed).toBeInstanceOf(RetryableError);
    s.faults.add({ kind: 'cut-body', method: 'GET', path: '/work-orders' });
    await expect(c.fetchWorkOrderUpdates(T0, ctx)).rejects.toBeInstanceOf(RetryableError);
    // No body at all: retryable too, said to be empty.
    s.faults.add({ kind: 'empty-body', method: 'GET', path: '/inventory/on-hand' });
    const empty = await c.readInventory?.(cell, ctx).catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(RetryableError);
    expect((empty as Error).message).toMatch(/ → 200, but the answer was empty \(no body at all, where an object with a quantity was expected\): .*; the next snapshot reads it again$/);
    // Once whole, it reads.
    expect(await c.readInventory?.(cell, ctx)).toEqual([{ location: 'WH-1/A-01', sku: 'SKU-1', quantity: 40 }]);
  });
});

describe('failure classes as they arrive over HTTP', () => {
  it('401 for a wrong token is an AuthError, and a rotated token works', async () => {
    const s = await sim();
    s.setToken('rotated-token');
    const [denied] = await connectorFor(s).send([location('EQ-1')], ctx);
    expect(errorOf(denied)).toBeInstanceOf(AuthError);
    // What to do, naming the key: a static token is fixed in the config, not refreshed.
    expect(errorOf(denied)?.message).toMatch(/check the token of destination "erp-sim", then restart the service/);
    // It ends up in a dead letter's reason too: not a promise that deliveries wait for the fix.
    expect(errorOf(denied)?.message).toMatch(/retried until then within retry\.maxAttempts and retry\.maxAgeMs, and those that run out go to dead letters: 'assetbridge dlq replay --all' after the fix$/);
    const [allowed] = await connectorFor(s, { token: 'rotated-token' }).send([location('EQ-1')], ctx);
    expect(allowed?.ok).toBe(true);
  });

  it('a 401 names the config key of the credential to fix when the service says where the destination is (destinations.1.token)', async () => {
    const s = await sim();
    s.setToken('rotated-token');
    const placed = (overrides: Record<string, unknown>) => createRestConnector(restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, timeoutMs: 2000, ...overrides }), { configKey: 'destinations.1' });
    const [denied] = await placed({ token: 'sim-token' }).send([location('EQ-1')], ctx);
    expect(errorOf(denied)?.message).toMatch(/; check destinations\.1\.token \(destination "erp-sim"\), then restart the service/);
    const [byHeader] = await placed({ headers: { 'X-Api-Key': 'sim-token' } }).send([location('EQ-1')], ctx);
    expect(errorOf(byHeader)?.message).toMatch(/; check destinations\.1\.headers \(API key\) or destinations\.1\.auth \(destination "erp-sim"\), then restart/);
  });

  it('validation (400) and unknown asset (404) are permanent, quoting the ERP', async () => {
    const s = await sim({ knownAssets: ['EQ-1'] });
    const [badBody, unknown] = await connectorFor(s).send(
      [item('workorder.create', 'EQ-1', { erpAssetId: 'EQ-1' }), location('EQ-404')],
      ctx,
    );
    expect(errorOf(badBody)).toBeInstanceOf(PermanentError);
    expect(errorOf(badBody)?.message).toContain('title is required');
    expect(errorOf(unknown)).toBeInstanceOf(PermanentError);
    expect(errorOf(unknown)?.message).toContain('asset EQ-404 does not exist');
    expect(s.state().workOrders).toHaveLength(0);
  });

  it('a write answered 404 or 405 names the paths key to check (after the asset, for a path under it), alone and in a batch', async () => {
    const s = await sim({ knownAssets: ['EQ-1'] });
    const config = (extra: Record<string, unknown> = {}) => restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, token: 'sim-token', ...extra });
    const c = createRestConnector(config({ paths: { workOrders: '/api/v1/workorders' } }), { configKey: 'destinations.1' });
    const [wrongPath, unknownAsset] = await c.send([workOrder('EQ-1'), location('EQ-404')], ctx);
    expect(errorOf(wrongPath)?.message).toMatch(/→ 404 not found.*; check destinations\.1\.paths\.workOrders \(destination "erp-sim"\) \(now \/api\/v1\/workorders\) against the ERP's API/);
    expect(errorOf(unknownAsset)?.message).toMatch(
      /asset EQ-404 does not exist; if the ERP does not know asset EQ-404, create it there.*; if the ERP knows it, check destinations\.1\.paths\.location \(destination "erp-sim"\)/,
    );
    // A work order for an asset the ERP does not know, at the right path: its answer names the
    // asset. Was: only "check destinations.1.paths.workOrders", the one thing that was right.
    const [unknownForWorkOrder] = await createRestConnector(config(), { configKey: 'destinations.1' }).send([workOrder('EQ-404')], ctx);
    expect(errorOf(unknownForWorkOrder)?.message).toMatch(
      /→ 404 not found: NotFound: asset EQ-404 does not exist; if the ERP does not know asset EQ-404, create it there.*; if the ERP knows it, check destinations\.1\.paths\.workOrders \(destination "erp-sim"\)/,
    );
    // A wrong path's 404 does not name the asset: the path alone.
    expect(errorOf(wrongPath)?.message).not.toContain('if the ERP does not know asset');
    s.faults.add({ kind: 'error', status: 405, inBatch: true });
    const [batched] = await createRestConnector(config({ batch: { maxSize: 10 } })).send([workOrder('EQ-1')], ctx);
    expect(errorOf(batched)).toBeInstanceOf(PermanentError);
    expect(errorOf(batched)?.message).toMatch(/→ 405 .*; check paths\.workOrders of destination "erp-sim" \(now \/api\/v1\/work-orders\)/);
  });

  it('the rate limit answers 429 with Retry-After, classified as RateLimitedError', async () => {
    const clock = steppedClock(Date.parse('2026-03-02T08:00:15.000Z'));
    const s = await sim({ ratePerMinute: 2, now: clock.now });
    const results = await connectorFor(s, {}, clock).send([location('EQ-1'), location('EQ-2'), location('EQ-3')], ctx);
    expect(results.map((r) => r.ok)).toEqual([true, true, false]);
    const error = errorOf(results[2]) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.retryAfterMs).toBe(45_000); // rest of the fixed minute
    expect(s.counters().rateLimited).toBe(1);
  });

  it('injected 500, reset, a hang and 503 with Retry-After classify as the dispatcher needs', async () => {
    const s = await sim();
    // 1 s a request, not 300 ms: the answered ones must answer within it on a loaded machine, or they classify as timeouts.
    const c = connectorFor(s, { timeoutMs: 1000 });
    s.faults.add({ kind: 'error', status: 500 });
    s.faults.add({ kind: 'reset' });
    s.faults.add({ kind: 'timeout' });
    s.faults.add({ kind: 'error', status: 503, retryAfterSeconds: 7 });
    const results = await c.send([location('A'), location('B'), location('C'), location('D'), location('E')], ctx);
    expect(errorOf(results[0])).toBeInstanceOf(RetryableError);
    expect(errorOf(results[0])?.message).toContain('500');
    expect(errorOf(results[1])).toBeInstanceOf(RetryableError);
    expect(errorOf(results[1])?.message).toContain('connection-reset');
    expect(errorOf(results[2])).toBeInstanceOf(RetryableError);
    expect(errorOf(results[2])?.message).toContain('timeout');
    expect(errorOf(results[3])).toBeInstanceOf(RateLimitedError);
    expect((errorOf(results[3]) as RateLimitedError).retryAfterMs).toBe(7000);
    // After the 503 nothing more goes in this call: E shares its answer (the dispatcher pauses the destination).
    expect(errorOf(results[4])).toBe(errorOf(results[3]));
    expect(s.counters().faultsFired).toMatchObject({ error: 2, reset: 1, timeout: 1 });
    expect(s.counters().requests).toBe(4);
    expect(Object.keys(s.state().locations)).toEqual([]);
  });

  it('an aborted send (shutdown) is retryable and stops waiting', async () => {
    const s = await sim();
    s.faults.add({ kind: 'timeout' });
    const controller = new AbortController();
    const pending = connectorFor(s, { timeoutMs: 10_000 }).send([location('A')], { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const [result] = await pending;
    expect(errorOf(result)).toBeInstanceOf(RetryableError);
    expect(errorOf(result)?.message).toContain('aborted');
  });

  it('never throws: a refused connection and an unknown operation each give a result per item', async () => {
    const s = await startErpSimulator(); // not sim(): closed here, not after the test
    const url = s.url;
    await s.close();
    const c = createRestConnector(restDestinationSchema.parse({ name: 'down', type: 'rest', baseUrl: url, timeoutMs: 1000 }));
    const results = await c.send([location('A'), item('asset.teleport', 'A', {})], ctx);
    expect(results).toHaveLength(2);
    expect(errorOf(results[0])).toBeInstanceOf(RetryableError);
    expect(errorOf(results[0])?.message).toContain('connection-refused');
    expect(errorOf(results[1])).toBeInstanceOf(PermanentError);
    expect(errorOf(results[1])?.message).toContain('not supported');
  });

  it("https:// to an ERP that speaks plain HTTP (or a certificate not trusted here): nothing was sent, and the error says what to check", async () => {
    const s = await sim();
    const c = connectorFor(s, { name: 'erp', baseUrl: s.url.replace('http://', 'https://') });
    const [r] = await c.send([workOrder('EQ-1')], ctx);
    const error = errorOf(r);
    expect(error).toBeInstanceOf(RetryableError);
    // Not "may have landed": a dead letter of it says the ERP was not reached, and no retry waits for it to land.
    expect(r?.ok === false && r.error.outcomeUnknown).toBe(false);
    expect(error?.message).toContain('the TLS handshake failed, so nothing was sent');
    expect(error?.message).toContain('baseUrl of destination "erp"');
    expect(error?.message).toContain('NODE_EXTRA_CA_CERTS');
    expect(s.counters().requests).toBe(0);
  });
});

describe('exactly one effect when a response is lost', () => {
  it('idempotency key: the retry is answered from the stored response', async () => {
    const s = await sim();
    const c = connectorFor(s);
    const wo = workOrder('EQ-1');
    s.faults.add({ kind: 'lost-response', path: '/work-orders' });
    const [first] = await c.send([wo], ctx);
    expect(errorOf(first)).toBeInstanceOf(RetryableError);
    expect(s.state().workOrders).toHaveLength(1); // applied although the client never heard

    const [retry] = await c.send([{ ...wo, attempts: 1 }], ctx);
    expect(retry?.ok).toBe(true);
    expect(retry?.ok && (retry.response as { id: string }).id).toBe(s.state().workOrders[0]?.id);
    expect(s.state().workOrders).toHaveLength(1);
    expect(s.counters()).toMatchObject({ duplicatesSuppressed: 1, duplicateWorkOrders: 0, applied: { workOrders: 1 } });
  });

  it('no idempotency support: find-before-create finds the work order the lost attempt made', async () => {
    const s = await sim({ idempotency: false });
    const c = connectorFor(s, { idempotencySupported: false });
    const wo = workOrder('EQ-1');
    s.faults.add({ kind: 'lost-response', method: 'POST', path: '/work-orders' });
    expect((await c.send([wo], ctx))[0]?.ok).toBe(false);
    const [retry] = await c.send([wo], ctx);
    expect(retry?.ok).toBe(true);
    expect(retry?.exchange?.method).toBe('GET');
    expect(s.state().workOrders).toHaveLength(1);
    expect(s.counters().duplicateWorkOrders).toBe(0);
  });

  it('(control) without either guard the retry creates a duplicate, and the simulator shows it', async () => {
    const s = await sim({ idempotency: false });
    const c = connectorFor(s, { idempotencySupported: true });
    const wo = workOrder('EQ-1');
    s.faults.add({ kind: 'lost-response', path: '/work-orders' });
    await c.send([wo], ctx);
    await c.send([wo], ctx);
    expect(s.state().workOrders).toHaveLength(2);
    expect(s.counters().duplicateWorkOrders).toBe(1);
  });
});

describe('OAuth2 client credentials', () => {
  const oauth = (s: ErpSimulator, extra: Record<string, unknown> = {}) => ({
    token: undefined,
    auth: { type: 'oauth2-client-credentials', tokenUrl: `${s.url}/oauth/token`, clientId: 'assetbridge', clientSecret: 'sim-secret', scope: 'erp.write', ...extra },
  });

  it('caches the token until shortly before expiry, then mints a new one', async () => {
    const clock = steppedClock();
    const s = await sim({ token: null, tokenTtlSeconds: 600, now: clock.now });
    const c = connectorFor(s, oauth(s, { expiryMarginMs: '60s' }), clock);
    expect((await c.send([location('A')], ctx))[0]?.ok).toBe(true);
    expect((await c.send([location('B')], ctx))[0]?.ok).toBe(true);
    expect(s.counters().tokensIssued).toBe(1);
    clock.advance(539_000); // 9 min - 1 s: still inside the margin
    await c.send([location('C')], ctx);
    expect(s.counters().tokensIssued).toBe(1);
    clock.advance(2000); // within 60 s of expiry: re-mint
    expect((await c.send([location('D')], ctx))[0]?.ok).toBe(true);
    expect(s.counters().tokensIssued).toBe(2);
  });

  it('mints one token for many concurrent requests', async () => {
    const s = await sim({ token: null });
    const c = connectorFor(s, oauth(s));
    const results = await Promise.all([1, 2, 3, 4].map((n) => c.send([location(`A${n}`)], ctx)));
    expect(results.flat().every((r) => r.ok)).toBe(true);
    expect(s.counters().tokensIssued).toBe(1);
  });

  it('a revoked token gives AuthError; refreshAuth re-mints and the retry succeeds', async () => {
    const s = await sim({ token: null });
    const c = connectorFor(s, oauth(s));
    await c.send([location('A')], ctx);
    s.revokeTokens();
    const [denied] = await c.send([location('B')], ctx);
    expect(errorOf(denied)).toBeInstanceOf(AuthError);
    await c.refreshAuth?.();
    expect(s.counters().tokensIssued).toBe(2);
    expect((await c.send([location('B')], ctx))[0]?.ok).toBe(true);
    expect(s.counters().tokensIssued).toBe(2);
  });

  it('a work-order poll refused with 401 mints a token and reads again, once; a static token is not sent again', async () => {
    const s = await sim({ token: null });
    const c = connectorFor(s, oauth(s));
    await c.send([workOrder('EQ-1', 'EQ-1|svc|250h@b0')], ctx);
    s.revokeTokens();
    expect((await c.fetchWorkOrderUpdates(T0, ctx)).updates.map((u) => u.businessKey)).toEqual(['EQ-1|svc|250h@b0']);
    expect(s.counters()).toMatchObject({ tokensIssued: 2, unauthorized: 1 });
    // Refused again after the new token: the poll fails with the 401 (no loop).
    s.faults.add({ kind: 'error', status: 401, count: 2, method: 'GET' });
    await expect(c.fetchWorkOrderUpdates(T0, ctx)).rejects.toBeInstanceOf(AuthError);
    expect(s.counters().tokensIssued).toBe(3);

    const fixed = await sim({ token: 'sim-token' });
    fixed.faults.add({ kind: 'error', status: 401, method: 'GET' });
    await expect(connectorFor(fixed).fetchWorkOrderUpdates(T0, ctx)).rejects.toBeInstanceOf(AuthError);
    expect(fixed.counters().requests).toBe(1);
  });

  it('an on-hand read refused with 401 (the token revoked) mints a token and reads the cell again, once a call, as a poll does', async () => {
    const s = await sim({ token: null });
    const c = connectorFor(s, { ...oauth(s), paths: { inventoryOnHand: '/api/v1/inventory/on-hand?location={location}&sku={sku}' } });
    expect((await c.send([inventory(40)], ctx))[0]?.ok).toBe(true);
    s.revokeTokens();
    expect(await c.readInventory?.([{ location: 'WH-1/A-01', sku: 'SKU-1' }], ctx)).toEqual([{ location: 'WH-1/A-01', sku: 'SKU-1', quantity: 40 }]);
    expect(s.counters()).toMatchObject({ tokensIssued: 2, unauthorized: 1 });
    // Refused again with the new token: the read fails with the 401 (no loop).
    s.faults.add({ kind: 'error', status: 401, count: 2, method: 'GET' });
    await expect(c.readInventory?.([{ location: 'WH-1/A-01', sku: 'SKU-1' }], ctx)).rejects.toBeInstanceOf(AuthError);
    expect(s.counters().tokensIssued).toBe(3);
  });

  it("a batch whose sub-request is refused 401: the batch's token is dropped, so refreshAuth mints a new one for the resend", async () => {
    const s = await sim({ token: null });
    const c = connectorFor(s, { ...oauth(s), batch: { maxSize: 10 } });
    expect((await c.send([location('A')], ctx))[0]?.ok).toBe(true);
    // A first token refused (the batch request itself) and replaced.
    s.revokeTokens();
    expect(errorOf((await c.send([location('B')], ctx))[0])).toBeInstanceOf(AuthError);
    await c.refreshAuth?.();
    expect(s.counters().tokensIssued).toBe(2);
    // Then the new one, refused inside the batch: it is no token minted since, so a third is.
    s.faults.add({ kind: 'error', status: 401, inBatch: true });
    expect(errorOf((await c.send([location('B')], ctx))[0])).toBeInstanceOf(AuthError);
    await c.refreshAuth?.();
    expect(s.counters().tokensIssued).toBe(3);
    expect((await c.send([location('B')], ctx))[0]?.ok).toBe(true);
  });

  it('a token endpoint that refuses the client: the poll fails with that refusal after asking it once, and the failed item says its request was not sent', async () => {
    const s = await sim({ token: null });
    const c = connectorFor(s, oauth(s));
    s.faults.add({ kind: 'error', path: '/oauth/token', status: 401, count: 10, body: { error: 'invalid_client' } });
    await expect(c.fetchWorkOrderUpdates(T0, ctx)).rejects.toBeInstanceOf(AuthError);
    expect(s.counters().faultsFired.error).toBe(1);
    const [r] = await c.send([workOrder('EQ-1', 'EQ-1|svc|250h@b0')], ctx);
    expect(r).toMatchObject({ ok: false, credentialsUnavailable: true });
    // A 401 from the ERP itself is no such failure: the dispatcher refreshes then.
    s.faults.clear();
    await c.send([location('A')], ctx);
    s.revokeTokens();
    const [denied] = await c.send([location('B')], ctx);
    expect(denied).toMatchObject({ ok: false });
    expect(denied).not.toHaveProperty('credentialsUnavailable');
  });

  it('a static token has nothing to refresh: no refreshAuth, so a 401 is not sent again at once with the same token', async () => {
    const s = await sim({ token: null });
    expect(connectorFor(s).refreshAuth).toBeUndefined();
    expect(connectorFor(s, oauth(s)).refreshAuth).toBeTypeOf('function');
  });

  it('client_secret_basic works too', async () => {
    const s = await sim({ token: null });
    expect((await connectorFor(s, oauth(s, { clientAuth: 'basic' })).send([location('A')], ctx))[0]?.ok).toBe(true);
  });

  it('refreshAuth ends when its signal aborts (a shutdown) rather than wait on a token endpoint that does not answer', async () => {
    const s = await sim({ token: null });
    const c = connectorFor(s, { ...oauth(s), timeoutMs: 60_000 });
    s.faults.add({ kind: 'timeout', path: '/oauth/token' });
    const shutdown = new AbortController();
    const refresh = c.refreshAuth?.(shutdown.signal);
    await waitFor(() => s.counters().faultsFired.timeout === 1, 'the token request sent');
    shutdown.abort(new Error('shutdown'));
    const ended = await Promise.race([refresh?.then(() => 'resolved', (err: unknown) => err), new Promise((r) => setTimeout(() => r('still waiting after 5 s'), 5000))]);
    expect(ended).toBeInstanceOf(RetryableError);
    expect((ended as Error).message).toContain('aborted');
  });

  it('a wrong client secret is an AuthError naming the settings to check; refreshAuth rejects', async () => {
    const s = await sim({ token: null });
    const c = connectorFor(s, oauth(s, { clientSecret: 'wrong-secret' }));
    const [result] = await c.send([location('A')], ctx);
    expect(errorOf(result)).toBeInstanceOf(AuthError);
    expect(errorOf(result)?.message).toContain('auth.clientSecret');
    expect(errorOf(result)?.message).toContain('invalid_client');
    expect(result?.exchange?.url).toBe(`${s.url}/oauth/token`);
    await expect(c.refreshAuth?.()).rejects.toBeInstanceOf(AuthError);
  });
});

describe('batches', () => {
  it('maps mixed per-item answers: applied, invalid, unknown asset, throttled sub-request', async () => {
    const s = await sim({ knownAssets: ['EQ-1', 'EQ-2'] });
    s.faults.add({ kind: 'error', inBatch: true, path: '/usage', status: 503, retryAfterSeconds: 12 });
    const c = connectorFor(s, { batch: { maxSize: 10 } });
    const ok = location('EQ-1');
    const invalid = item('meter.record', 'EQ-1', { meter: 'operatingHours', operatingHours: -5 });
    const unknown = location('EQ-999');
    const throttled = usage('EQ-2');
    const woOk = workOrder('EQ-2');
    const results = await c.send([ok, invalid, unknown, throttled, woOk], ctx);
    const byId = new Map(results.map((r) => [r.id, r]));
    expect(byId.get(ok.id)?.ok).toBe(true);
    expect(byId.get(woOk.id)?.ok).toBe(true);
    expect(errorOf(byId.get(invalid.id))).toBeInstanceOf(PermanentError);
    expect(errorOf(byId.get(invalid.id))?.message).toContain('operatingHours must be a non-negative number');
    expect(errorOf(byId.get(unknown.id))).toBeInstanceOf(PermanentError);
    expect(errorOf(byId.get(unknown.id))?.message).toContain('404');
    expect((errorOf(byId.get(throttled.id)) as RateLimitedError).retryAfterMs).toBe(12_000);
    expect(s.counters()).toMatchObject({ requests: 1, batches: 1, subRequests: 5, applied: { location: 1, workOrders: 1, usagePostings: 0 } });

    // The throttled item alone, retried in a later batch with the same key, lands once.
    const [retried] = await c.send([throttled], ctx);
    expect(retried?.ok).toBe(true);
    expect(s.state().usagePostings).toHaveLength(1);
  });

  it('splits more items than maxSize into several batches', async () => {
    const s = await sim();
    const c = connectorFor(s, { batch: { maxSize: 2 } });
    expect(c.capabilities.maxBatchSize).toBe(2);
    const results = await c.send([location('A'), location('B'), location('C'), location('D'), location('E')], ctx);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(s.counters().batches).toBe(3);
  });

  it('a batch larger than the ERP takes is sent again in halves, so every item is delivered; a batch of one refused is sent on its own', async () => {
    const s = await sim({ maxBatchSize: 2 });
    const c = connectorFor(s, { batch: { maxSize: 3 } });
    const results = await c.send([location('A'), location('B'), location('C')], ctx);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(s.counters()).toMatchObject({ batches: 2, rejected: 1, applied: { location: 3 } }); // [A, B, C] refused, then [A, B] and C on its own
    // A batch of one refused whole: its request on its own is taken.
    s.faults.add({ kind: 'error', status: 400, path: '/$batch' });
    const [taken] = await c.send([location('D')], ctx);
    expect(taken?.ok).toBe(true);
    expect(s.counters().applied.location).toBe(4);
    // Refused on its own too: its own reason, said so.
    s.faults.add({ kind: 'error', status: 400, path: '/$batch' });
    const [refused] = await c.send([item('meter.record', 'EQ-1', { meter: 'operatingHours', operatingHours: -5 })], ctx);
    expect(errorOf(refused)).toBeInstanceOf(PermanentError);
    expect(errorOf(refused)?.message).toBe(
      "POST /api/v1/assets/EQ-1/meter-readings → 400 rejected as invalid: ValidationError: operatingHours must be a non-negative number (the ERP refused the batch that held only this request; sent on its own, it is refused again: fix what the ERP names, then replay it ('assetbridge dlq replay'))",
    );
  });

  // The refused batch left no audit row and no log: an ERP refusing every batch showed only as many single requests.
  it('says once per destination, in the log, that the ERP refused a whole batch, and what to change', async () => {
    const s = await sim({ maxBatchSize: 2 });
    const warnings: { fields: Record<string, unknown>; message: string }[] = [];
    const config = restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, token: 'sim-token', timeoutMs: 2000, batch: { maxSize: 3 } });
    const c = createRestConnector(config, { configKey: 'destinations.0', logger: { warn: (fields, message) => void warnings.push({ fields, message }) } });
    expect((await c.send([location('A'), location('B'), location('C')], ctx)).every((r) => r.ok)).toBe(true);
    expect((await c.send([location('D'), location('E'), location('F')], ctx)).every((r) => r.ok)).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.fields).toMatchObject({ destination: 'erp-sim', status: 400, batchSize: 3, maxSize: 3 });
    expect(warnings[0]?.message).toBe(
      'the ERP refused a whole batch of 3 requests (POST /api/v1/$batch → 400 rejected as invalid: BatchTooLarge: a batch holds at most 2 requests; got 3); it is sent again in halves, down to single requests, so each request the ERP takes is delivered. If batches keep being refused, lower destinations.0.batch.maxSize (now 3) to what the ERP takes, or check destinations.0.batch.path (logged once per destination)',
    );
  });

  describe('an all-or-nothing batch refused whole for one bad request, naming none', () => {
    const bad = () => item('meter.record', 'EQ-1', { meter: 'operatingHours', operatingHours: -5 });

    it('delivers every other item and fails only the bad one, with the ERP\'s own reason for it', async () => {
      const s = await sim({ batchAtomic: true });
      const c = connectorFor(s, { batch: { maxSize: 10 } });
      const invalid = bad();
      const good = [location('A'), workOrder('A'), usage('A'), location('B'), meter('B'), workOrder('B'), location('C')];
      const items = [...good.slice(0, 3), invalid, ...good.slice(3)];
      const results = await c.send(items, ctx);
      const byId = new Map(results.map((r) => [r.id, r]));
      for (const g of good) expect(byId.get(g.id)?.ok).toBe(true);
      expect(errorOf(byId.get(invalid.id))).toBeInstanceOf(PermanentError);
      expect(errorOf(byId.get(invalid.id))?.message).toBe(
        "POST /api/v1/assets/EQ-1/meter-readings → 400 rejected as invalid: ValidationError: operatingHours must be a non-negative number (the ERP refused the whole batch of 8 requests this one was in; sent on its own, it is refused again, and the batch's other requests went apart: fix what the ERP names, then replay it ('assetbridge dlq replay'))",
      );
      expect(s.counters().applied).toMatchObject({ location: 3, workOrders: 2, usagePostings: 1, meterReadings: 1 });
      expect(s.counters().batchesRolledBack).toBeGreaterThan(0);
    });

    // Refused whole, a batch of one said nothing of why: a lock (or a 5xx, a 429) inside it dead-lettered an item that would pass.
    it('a batch of one rolled back for a passing failure inside it is sent on its own: a lock is retried, not dead-lettered', async () => {
      const s = await sim({ batchAtomic: true });
      const c = connectorFor(s, { batch: { maxSize: 10 } });
      s.faults.add({ kind: 'locked', inBatch: true });
      s.faults.add({ kind: 'locked', method: 'POST', path: '/work-orders' });
      const wo = workOrder('A');
      const [first] = await c.send([wo], ctx);
      expect(errorOf(first)).toBeInstanceOf(ConflictError);
      expect(s.counters()).toMatchObject({ batchesRolledBack: 1, applied: { workOrders: 0 } });
      const [retried] = await c.send([wo], ctx);
      expect(retried?.ok).toBe(true);
      expect(s.counters().applied.workOrders).toBe(1);
    });

    it('exactly once: items a refused batch carried, sent again and then replayed with the bad one fixed, each take effect once', async () => {
      const s = await sim({ batchAtomic: true });
      const c = connectorFor(s, { batch: { maxSize: 10 } });
      const invalid = bad();
      const items = [workOrder('A'), invalid, usage('A'), meter('A')];
      await c.send(items, ctx);
      // A replay of the whole batch (the good ones too, as after a lost answer): the same keys.
      const fixed = { ...invalid, payload: { ...invalid.payload, operatingHours: 5 } };
      const replayed = await c.send([items[0]!, fixed, items[2]!, items[3]!], ctx);
      expect(replayed.every((r) => r.ok)).toBe(true);
      expect(s.counters().applied).toMatchObject({ workOrders: 1, usagePostings: 1, meterReadings: 2 });
      expect(s.state().workOrders).toHaveLength(1);
    });
  });

  // A 409 to the whole batch dead-lettered every item in it, the records that already exist and the ones never sent alike.
  describe('an all-or-nothing batch answered with its failed request\'s 409', () => {
    /**
     * A work order, a usage posting the ERP answers 409 with `body` (in every batch it is in, and on
     * its own) and a location, sent in one all-or-nothing batch: each item's result, and the simulator.
     */
    async function withUsageRefused(body: object, options: Record<string, unknown> = {}) {
      const s = await sim({ batchAtomic: true, batchAtomicAnswer: 'failed-request' });
      const c = connectorFor(s, { batch: { maxSize: 10 }, ...options });
      s.faults.add({ kind: 'error', inBatch: true, count: 10, path: '/usage', status: 409, body });
      s.faults.add({ kind: 'error', path: '/usage', status: 409, body });
      const refused = usage('A');
      const good = [workOrder('A'), location('B')];
      const results = await c.send([good[0]!, refused, good[1]!], ctx);
      const byId = new Map(results.map((r) => [r.id, r]));
      return { s, good: good.map((g) => byId.get(g.id)), refused: byId.get(refused.id) };
    }

    it('"already exists" (a batch sent again after a lost answer): its parts go again apart, each delivered once', async () => {
      const s = await sim({ batchAtomic: true, batchAtomicAnswer: 'failed-request' });
      const c = connectorFor(s, { batch: { maxSize: 10 } });
      const wo = workOrder('A');
      expect((await c.send([wo], ctx))[0]?.ok).toBe(true);
      // The same work order again, in a batch with two items never sent: the ERP says it exists, for the whole batch.
      s.faults.add({ kind: 'already-exists', inBatch: true, path: '/work-orders' });
      const others = [usage('A'), location('B')];
      const results = await c.send([wo, ...others], ctx);
      expect(results.map((r) => r.ok)).toEqual([true, true, true]);
      expect(s.counters()).toMatchObject({ batchesRolledBack: 1, applied: { workOrders: 1, usagePostings: 1, location: 1 } });
      expect(s.state().workOrders).toHaveLength(1);
    });

    it('"already exists" quoting a key with a lock-like word (a rule door-lock) is no lock: split, not retried whole', async () => {
      // Was: the whole-batch 409 was read without leaving out what the requests carried, so the
      // quoted key's "lock" made it a lock: every item retried whole, refused again each time, to dead letters.
      const s = await sim({ batchAtomic: true, batchAtomicAnswer: 'failed-request' });
      const c = connectorFor(s, { batch: { maxSize: 10 } });
      const wo = workOrder('A', 'A|door-lock|2026-03-02T08:00:00.000Z');
      expect((await c.send([wo], ctx))[0]?.ok).toBe(true);
      s.faults.add({ kind: 'already-exists', inBatch: true, path: '/work-orders' });
      const results = await c.send([wo, usage('A'), location('B')], ctx);
      expect(results.map((r) => (r.ok ? 'ok' : r.error.message))).toEqual(['ok', 'ok', 'ok']);
      expect(s.counters()).toMatchObject({ batchesRolledBack: 1, applied: { workOrders: 1, usagePostings: 1, location: 1 } });
    });

    it("a \"locked\" that on409 reads as fail for its path (a closed period): split, only that one fails, not the whole batch retried", async () => {
      // Was: the whole-batch 409 was read as 'auto' whatever on409 said, so a closed period worded
      // "locked" retried the whole batch, refused again each time, every item to dead letters.
      const periodLocked = { error: { code: 'PeriodLocked', message: 'fiscal period 2026-02 is locked for postings' } };
      const { s, good, refused } = await withUsageRefused(periodLocked, { on409: { usagePostings: 'fail' } });
      for (const g of good) expect(g?.ok).toBe(true);
      expect(errorOf(refused)).toBeInstanceOf(PermanentError);
      expect(errorOf(refused)?.message).toContain('(on409.usagePostings of destination "erp-sim" is fail)');
      expect(s.counters().applied).toMatchObject({ workOrders: 1, usagePostings: 0, location: 1 });
    });

    it('a 409 carrying a throttling code (SSS_REQUEST_LIMIT_EXCEEDED, "try again later") is a throttle, alone, in a batch and for a whole batch: not a conflict', async () => {
      // Was: every 409 was read as a conflict first, so "please try again later" made it a lock
      // (ConflictError): the item retried, the destination not paused as the ERP asked.
      const limited = { error: { code: 'SSS_REQUEST_LIMIT_EXCEEDED', message: 'Request limit exceeded. Please try again later.' } };
      const throttledBy = async (fault: { path: string; inBatch?: boolean }, batched: boolean) => {
        const s = await sim();
        s.faults.add({ kind: 'error', status: 409, body: limited, retryAfterSeconds: 2, ...fault });
        const results = await connectorFor(s, batched ? { batch: { maxSize: 10 } } : {}).send([workOrder('A'), usage('A')], ctx);
        return errorOf(results[0]);
      };
      for (const [fault, batched] of [[{ path: '/work-orders' }, false], [{ path: '/work-orders', inBatch: true }, true], [{ path: '/$batch' }, true]] as const) {
        const error = await throttledBy(fault, batched);
        expect(error, JSON.stringify(fault)).toBeInstanceOf(RateLimitedError);
        expect(error?.message).toContain("rate limited (the ERP's code says so); Retry-After 2 s");
      }
    });

    it('a whole-batch 409 that on409 reads as retry for every request is retried whole, saying on409 is why', async () => {
      const s = await sim();
      const retry = { location: 'retry', workOrders: 'retry', meterReadings: 'retry', inventoryCounts: 'retry', usagePostings: 'retry' };
      const c = connectorFor(s, { batch: { maxSize: 10 }, on409: retry });
      s.faults.add({ kind: 'error', path: '/$batch', status: 409, body: { error: { code: 'Busy', message: 'the posting queue is full' } } });
      const results = await c.send([workOrder('A'), usage('A')], ctx);
      for (const r of results) {
        expect(errorOf(r)).toBeInstanceOf(ConflictError);
        expect(errorOf(r)?.message).toContain('the whole batch of 2 requests; retried as on409 of destination "erp-sim" is retry for the path of each;');
      }
      expect(s.counters()).toMatchObject({ requests: 1 });
    });

    it('the log says a 409 for the whole batch is a conflict of one of its requests, not a batch too large', async () => {
      const s = await sim({ batchAtomic: true, batchAtomicAnswer: 'failed-request' });
      const warnings: string[] = [];
      const config = restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, token: 'sim-token', timeoutMs: 2000, batch: { maxSize: 10 } });
      const c = createRestConnector(config, { configKey: 'destinations.0', logger: { warn: (_fields, message) => void warnings.push(message) } });
      const wo = workOrder('A');
      await c.send([wo], ctx);
      s.faults.add({ kind: 'already-exists', inBatch: true, path: '/work-orders' });
      expect((await c.send([wo, usage('A')], ctx)).every((r) => r.ok)).toBe(true);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('A 409 for the whole batch is a conflict of one of its requests (a record that already exists: each is read by destinations.0.on409 when sent on its own)');
      expect(warnings[0]).not.toContain('to what the ERP takes');
    });

    it('a lock: every item is retried after the ERP\'s Retry-After, none sent again apart into the lock', async () => {
      const s = await sim();
      const c = connectorFor(s, { batch: { maxSize: 10 } });
      s.faults.add({ kind: 'error', path: '/$batch', status: 409, retryAfterSeconds: 4, body: { error: { code: 'RecordLocked', message: 'EQ-7 is locked by user PLANNER-7; try again later' } } });
      const results = await c.send([workOrder('A'), usage('A'), location('B')], ctx);
      for (const r of results) {
        expect(errorOf(r)).toBeInstanceOf(ConflictError);
        expect((errorOf(r) as ConflictError).retryAfterMs).toBe(4000);
        expect(errorOf(r)?.message).toContain('the whole batch of 3 requests; retried after its Retry-After of 4 s, as the ERP names a lock');
      }
      expect(s.counters()).toMatchObject({ requests: 1, applied: { workOrders: 0, usagePostings: 0, location: 0 } });
      expect((await c.send([workOrder('A'), usage('A'), location('B')], ctx)).every((r) => r.ok)).toBe(true);
    });

    it('a conflict of one request that is no duplicate: only that one fails, with its own reason and on409 hint', async () => {
      // Refused in every batch it is in, and on its own.
      const { s, good, refused } = await withUsageRefused({ error: { code: 'PeriodClosed', message: 'fiscal period 2026-10 is closed for postings' } });
      for (const g of good) expect(g?.ok).toBe(true);
      expect(errorOf(refused)).toBeInstanceOf(PermanentError);
      expect(errorOf(refused)?.message).toContain('fiscal period 2026-10 is closed');
      expect(s.counters().applied).toMatchObject({ workOrders: 1, usagePostings: 0, location: 1 });
    });
  });

  it('a throttled batch call fails every item with the same pause', async () => {
    const s = await sim();
    s.faults.add({ kind: 'error', status: 429, retryAfterSeconds: 9 });
    const results = await connectorFor(s, { batch: {} }).send([location('A'), meter('A')], ctx);
    expect(results.map((r) => (errorOf(r) as RateLimitedError | undefined)?.retryAfterMs)).toEqual([9000, 9000]);
    expect(s.counters().applied.location).toBe(0);
  });

  it('a sub-request answered 429 stops the call: no lookup after a 409 in the same batch, no next batch; all share its pause', async () => {
    const s = await sim();
    s.faults.add({ kind: 'already-exists', inBatch: true, path: '/work-orders' });
    s.faults.add({ kind: 'error', inBatch: true, path: '/usage', status: 429, retryAfterSeconds: 7 });
    const [wo, throttled, later] = [workOrder('EQ-1'), usage('EQ-1'), location('EQ-1')];
    const results = await connectorFor(s, { batch: { maxSize: 2 } }).send([wo, throttled, later], ctx);
    for (const r of results) {
      expect(errorOf(r)).toBeInstanceOf(RateLimitedError);
      expect((errorOf(r) as RateLimitedError).retryAfterMs).toBe(7000);
    }
    // The batch alone went: neither the lookup of the work order the 409 says exists, nor the second batch.
    expect(s.counters()).toMatchObject({ requests: 1, batches: 1, subRequests: 2, applied: { location: 0 } });
  });

  it('a lost batch response is retried as a whole with no second effect', async () => {
    const s = await sim();
    const c = connectorFor(s, { batch: {} });
    const items = [workOrder('A'), meter('A'), usage('A')];
    s.faults.add({ kind: 'lost-response', path: '/$batch' });
    expect((await c.send(items, ctx)).every((r) => !r.ok)).toBe(true);
    expect((await c.send(items, ctx)).every((r) => r.ok)).toBe(true);
    expect(s.counters()).toMatchObject({ duplicatesSuppressed: 3, applied: { workOrders: 1, meterReadings: 1, usagePostings: 1 } });
  });

  it('without batch config every item is its own request', async () => {
    const s = await sim();
    const c = connectorFor(s);
    expect(c.capabilities.maxBatchSize).toBe(1);
    await c.send([location('A'), location('B')], ctx);
    expect(s.counters()).toMatchObject({ requests: 2, batches: 0 });
  });
});

describe('redaction', () => {
  it('no token, secret or access token appears in any exchange or error, even when the ERP echoes one', async () => {
    const s = await sim({ token: 'static-sim-token-123' });
    // What reaches the audit trail and logs: exchanges and errors (message and kept body).
    const recorded: string[] = [];
    const keep = (results: ItemResult[]) =>
      results.forEach((r) => recorded.push(JSON.stringify(r.exchange ?? null), r.ok ? '' : `${r.error.message} ${r.error.responseBody ?? ''}`));

    // Static bearer, with the ERP quoting the token back in an error.
    s.faults.add({ kind: 'error', status: 400, body: { error: { message: 'token static-sim-token-123 lacks scope', password: 'pw-in-body' } } });
    const bearer = connectorFor(s, { token: 'static-sim-token-123', headers: { 'X-Api-Key': 'header-key-456' }, redactFields: ['title'] });
    keep(await bearer.send([location('A'), workOrder('A')], ctx));
    const bearerText = recorded.join('\n');
    // The configured extra field is redacted, the rest of the payload kept for audit.
    expect(bearerText).not.toContain('Oil pressure low');
    expect(bearerText).toContain('oilPressureKpa');

    // OAuth2: the token response and later calls.
    const oauth = connectorFor(s, {
      token: undefined,
      auth: { type: 'oauth2-client-credentials', tokenUrl: `${s.url}/oauth/token`, clientId: 'assetbridge', clientSecret: 'sim-secret' },
    });
    keep(await oauth.send([location('B'), workOrder('B')], ctx));
    const badSecret = connectorFor(s, {
      token: undefined,
      auth: { type: 'oauth2-client-credentials', tokenUrl: `${s.url}/oauth/token`, clientId: 'assetbridge', clientSecret: 'very-wrong-secret' },
    });
    keep(await badSecret.send([location('C')], ctx));

    const text = recorded.join('\n');
    expect(text).toContain('[REDACTED]');
    expect(text).toContain('/oauth/token');
    for (const secret of ['static-sim-token-123', 'header-key-456', 'pw-in-body', 'sim-secret', 'very-wrong-secret', 'sim-at-']) {
      expect(text, `"${secret}" leaked`).not.toContain(secret);
    }
  });
});
