/**
 * `workorder.update` (a work order's priority raised after it opened) through the REST connector
 * and the ERP simulator: the work order found by its business key, then `PATCH {paths.workOrder}`;
 * idempotent; held by the dispatcher while its create is queued or in flight (`waitsFor`); one the
 * ERP does not have yet (its create dead-lettered, or not listed yet) retried, not dead-lettered;
 * the simulator's faults hit the route.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, PermanentError, RetryableError } from '../../../core/errors/errors.js';
import { WORKORDER_UPDATE } from '../../../core/rules/maintenance/work-order.js';
import { REST_CREATES_RECORD, createRestConnector } from './rest-connector.js';
import { restDestinationSchema } from '../../../config/schema.js';
import { REST_OPERATIONS } from './rest-mapping.js';
import { connectorFor, ctx, errorOf, outboxItem as item, useSimulators } from '../../../../test/helpers/rest-simulator.js';

const sim = useSimulators();
const KEY = 'EQ-7|faults|SPN100-FMI1@2026-03-02T08:00:00.000Z';
const create = () => item('workorder.create', 'EQ-7', { erpAssetId: 'EQ-7', title: 'SPN100-FMI1: oil pressure low', priority: 'MEDIUM', severity: 'warning' }, { businessKey: KEY });
const update = () =>
  item(
    WORKORDER_UPDATE,
    'EQ-7',
    {
      erpAssetId: 'EQ-7',
      priority: 'HIGH',
      severity: 'critical',
      rule: 'faults',
      occurrence: 'SPN100-FMI1@2026-03-02T08:00:00.000Z',
      reason: 'critical fault SPN100-FMI1 reported at 2026-03-02T08:10:00.000Z: oil pressure very low',
      trigger: { type: 'alert', escalation: true, code: 'SPN100-FMI1', severity: 'critical', reportedAt: '2026-03-02T08:10:00.000Z' },
      sensorSnapshot: { at: '2026-03-02T08:10:00.000Z', values: { oilPressure: { value: 1.4, unit: 'bar' } } },
      detectedAt: '2026-03-02T08:10:00.000Z',
    },
    { businessKey: KEY },
  );

describe('workorder.update through the REST connector', () => {
  it('is delivered, and no create: a PATCH, never among createsRecord', () => {
    expect(REST_OPERATIONS).toContain(WORKORDER_UPDATE);
    expect(REST_CREATES_RECORD).not.toContain(WORKORDER_UPDATE);
  });

  it('waits for its work order\'s create (capabilities.waitsFor): the dispatcher holds it while that is queued, retried or in flight', async () => {
    const connector = connectorFor(await sim());
    expect(connector.capabilities.waitsFor).toEqual({ [WORKORDER_UPDATE]: 'workorder.create' });
  });

  it('finds the work order by its business key and PATCHes it at paths.workOrder: the priority raised, recorded once however often it is sent', async () => {
    const s = await sim();
    const connector = connectorFor(s);
    expect((await connector.send([create()], ctx))[0]?.ok).toBe(true);
    const [done] = await connector.send([update()], ctx);
    const id = s.state().workOrders[0]?.id as string;
    expect(done).toMatchObject({ ok: true, exchange: { method: 'PATCH', url: `${s.url}/api/v1/work-orders/${id}`, status: 200 } });
    expect(s.state().workOrders[0]).toMatchObject({ externalKey: KEY, priority: 'HIGH', severity: 'critical', status: 'open', trigger: { escalation: true, code: 'SPN100-FMI1' }, sensorSnapshot: { values: { oilPressure: { value: 1.4 } } } });
    // Idempotent: sent again (a retry after a lost answer), the priority is HIGH still, changed once.
    expect((await connector.send([update()], ctx))[0]?.ok).toBe(true);
    expect(s.state().workOrders).toHaveLength(1);
    expect(s.state().workOrders[0]?.priorityChanges).toEqual([{ from: 'MEDIUM', to: 'HIGH', at: expect.any(String) }]);
    expect(s.counters().applied).toMatchObject({ workOrders: 1, workOrderUpdates: 2 });
  });

  it('before its work order exists (its create dead-lettered, or not listed yet): retried as a ConflictError saying so, then delivered once the create landed', async () => {
    const s = await sim();
    const connector = connectorFor(s);
    const early = await connector.send([update()], ctx);
    const error = errorOf(early[0]);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toBeInstanceOf(RetryableError);
    expect(error?.message).toContain(`workorder.update of ${KEY}`);
    expect(error?.message).toContain("the ERP does not have this work order yet (an update goes only once its workorder.create is delivered or dead: is that create in the dead letters? 'assetbridge dlq list')");
    expect(early[0]?.exchange).toMatchObject({ method: 'GET', status: 200 });
    expect(s.counters().applied.workOrderUpdates).toBe(0);
    expect((await connector.send([create()], ctx))[0]?.ok).toBe(true);
    expect((await connector.send([update()], ctx))[0]?.ok).toBe(true);
    expect(s.state().workOrders[0]?.priority).toBe('HIGH');
  });

  it('in one call with its create, one by one and in a batch: the create goes first, so the update finds it', async () => {
    for (const overrides of [{}, { batch: { maxSize: 10 } }, { idempotencySupported: false }]) {
      const s = await sim();
      const results = await connectorFor(s, overrides).send([update(), create()], ctx);
      expect(results.map((r) => r.ok)).toEqual([true, true]);
      expect(s.state().workOrders).toEqual([expect.objectContaining({ externalKey: KEY, priority: 'HIGH' })]);
    }
  });

  it('of a work order the ERP lists completed or cancelled (closed after the report was raised): no PATCH; done, with a note saying the priority was not raised', async () => {
    for (const status of ['completed', 'cancelled'] as const) {
      const s = await sim();
      const connector = connectorFor(s);
      expect((await connector.send([create()], ctx))[0]?.ok).toBe(true);
      const id = s.state().workOrders[0]?.id as string;
      s.setWorkOrderStatus({ id }, status);
      const [done] = await connector.send([update()], ctx);
      // Done with the lookup only: the work order unchanged, no PATCH counted.
      expect(done).toMatchObject({ ok: true, exchange: { method: 'GET', status: 200 }, response: { id, externalKey: KEY, status } });
      expect(done?.ok === true ? done.note : undefined).toBe(
        `priority not raised to HIGH: the ERP lists work order ${id} ${status} (status "${status}"), closed after the fault report was raised; nothing was sent to it (a closed work order is not patched), so this update is done`,
      );
      expect(s.state().workOrders[0]).toMatchObject({ status, priority: 'MEDIUM', severity: 'warning' });
      expect(s.state().workOrders[0]?.priorityChanges).toBeUndefined();
      expect(s.counters().applied.workOrderUpdates).toBe(0);
    }
  });

  it("reads a closed work order's status as the work-order poll does (workOrderFields.status, workOrderStatuses): an ERP's own code for closed is no PATCH, one for open is", async () => {
    const requests: string[] = [];
    const record = (code: string) => ({ WorkOrderId: 4000123, externalKey: KEY, erpAssetId: 'EQ-7', Stat: { code }, updatedAt: '2026-03-02T09:00:00Z' });
    const fakeFor = (code: string) =>
      ((input: string | URL, init?: RequestInit) => {
        requests.push(`${init?.method ?? 'GET'} ${input.toString()}`);
        const body = (init?.method ?? 'GET') === 'GET' ? { value: [record(code)] } : record(code);
        return Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } }));
      }) as typeof fetch;
    const config = restDestinationSchema.parse({ name: 's4', type: 'rest', baseUrl: 'https://s4.example.test', workOrderStatuses: { TECO: 'completed', REL: 'in-progress' }, workOrderFields: { id: 'WorkOrderId', status: 'Stat.code' } });
    const [closed] = await createRestConnector(config, { fetch: fakeFor('TECO') }).send([update()], ctx);
    expect(closed).toMatchObject({ ok: true, note: expect.stringContaining('the ERP lists work order 4000123 completed (status "TECO")') as unknown });
    expect(requests.map((r) => r.split(' ')[0])).toEqual(['GET']);
    requests.length = 0;
    const [raised] = await createRestConnector(config, { fetch: fakeFor('REL') }).send([update()], ctx);
    expect(raised).toMatchObject({ ok: true, exchange: { method: 'PATCH' } });
    expect(raised?.ok === true ? raised.note : 'failed').toBeUndefined();
    expect(requests.map((r) => r.split(' ')[0])).toEqual(['GET', 'PATCH']);
  });

  it('of a work order closed between its lookup and its PATCH (the simulator refuses the PATCH: 409): looked up again, done with a note and the PATCH\'s exchange', async () => {
    for (const status of ['completed', 'cancelled'] as const) {
      const s = await sim();
      expect((await connectorFor(s).send([create()], ctx))[0]?.ok).toBe(true);
      const id = s.state().workOrders[0]?.id as string;
      const requests: string[] = [];
      // A planner closes it in the ERP just as the PATCH goes (after the lookup listed it open).
      const closing = ((input: string | URL, init?: RequestInit) => {
        const method = init?.method ?? 'GET';
        requests.push(method);
        if (method === 'PATCH' && s.state().workOrders[0]?.status === 'open') s.setWorkOrderStatus({ id }, status);
        return fetch(input, init);
      }) as typeof fetch;
      const config = restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, token: 'sim-token', timeoutMs: 2000 });
      const [done] = await createRestConnector(config, { fetch: closing }).send([update()], ctx);
      expect(done).toMatchObject({ ok: true, exchange: { method: 'PATCH', url: `${s.url}/api/v1/work-orders/${id}`, status: 409 }, response: { id, status } });
      expect(done?.ok === true ? done.note : undefined).toBe(
        `priority not raised to HIGH: the ERP lists work order ${id} ${status} (status "${status}"), closed after the fault report was raised; its PATCH /api/v1/work-orders/${id} was answered 409 (the work order closed between the lookup and the PATCH), so this update is done`,
      );
      expect(requests).toEqual(['GET', 'PATCH', 'GET']);
      expect(s.state().workOrders[0]).toMatchObject({ status, priority: 'MEDIUM' });
      expect(s.counters().applied.workOrderUpdates).toBe(0);
    }
  });

  it('a 409 to the PATCH of a work order still open (a lock) is handled as before: retried, the priority raised next time', async () => {
    const s = await sim();
    const connector = connectorFor(s);
    expect((await connector.send([create()], ctx))[0]?.ok).toBe(true);
    s.faults.add({ kind: 'locked', method: 'PATCH', path: '/work-orders/' });
    const [locked] = await connector.send([update()], ctx);
    expect(locked).toMatchObject({ ok: false, exchange: { method: 'PATCH', status: 409 } });
    expect(errorOf(locked)).toBeInstanceOf(ConflictError);
    expect((await connector.send([update()], ctx))[0]).toMatchObject({ ok: true, exchange: { method: 'PATCH', status: 200 } });
    expect(s.state().workOrders[0]?.priority).toBe('HIGH');
  });

  it('a 422 to the PATCH (an ERP refusing a closed order so): looked up again; listed closed now, done with a note; listed open still, sent again once, then dead-lettered', async () => {
    const requests: string[] = [];
    const record = (code: string) => ({ WorkOrderId: 4000123, externalKey: KEY, erpAssetId: 'EQ-7', Stat: { code }, updatedAt: '2026-03-02T09:00:00Z' });
    const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    // The first lookup lists it released; the PATCH is refused 422; the second lookup lists `after`.
    const fakeFor = (after: string) =>
      ((input: string | URL, init?: RequestInit) => {
        const method = init?.method ?? 'GET';
        requests.push(method);
        if (method === 'PATCH') return Promise.resolve(json(422, { error: { code: 'OrderStatus', message: 'order 4000123 has status TECO: changes are not allowed' } }));
        const gets = requests.filter((r) => r === 'GET').length;
        return Promise.resolve(json(200, { value: [record(gets === 1 ? 'REL' : after)] }));
      }) as typeof fetch;
    const config = restDestinationSchema.parse({ name: 's4', type: 'rest', baseUrl: 'https://s4.example.test', workOrderStatuses: { TECO: 'completed', REL: 'in-progress' }, workOrderFields: { id: 'WorkOrderId', status: 'Stat.code' } });
    const [closed] = await createRestConnector(config, { fetch: fakeFor('TECO') }).send([update()], ctx);
    expect(closed).toMatchObject({ ok: true, exchange: { method: 'PATCH', url: 'https://s4.example.test/api/v1/work-orders/4000123', status: 422 }, response: { WorkOrderId: 4000123 } });
    expect(closed?.ok === true ? closed.note : undefined).toBe(
      'priority not raised to HIGH: the ERP lists work order 4000123 completed (status "TECO"), closed after the fault report was raised; its PATCH /api/v1/work-orders/4000123 was answered 422 (the work order closed between the lookup and the PATCH), so this update is done',
    );
    expect(requests).toEqual(['GET', 'PATCH', 'GET']);
    requests.length = 0;
    // Listed open still on a first attempt: retried (a list may lag the closing), saying so.
    const [retried] = await createRestConnector(config, { fetch: fakeFor('REL') }).send([update()], ctx);
    expect(retried).toMatchObject({ ok: false, exchange: { method: 'PATCH', status: 422 } });
    expect(errorOf(retried)).toBeInstanceOf(ConflictError);
    expect(errorOf(retried)?.message).toContain('changes are not allowed');
    expect(errorOf(retried)?.message).toContain('the ERP lists work order 4000123 open still, but may not list a closing yet (a list that lags its writes): sent again once');
    expect(requests).toEqual(['GET', 'PATCH', 'GET']);
    // Refused so again on the next attempt: the refusal stands (a dead letter).
    requests.length = 0;
    const [refused] = await createRestConnector(config, { fetch: fakeFor('REL') }).send([{ ...update(), attempts: 1 }], ctx);
    expect(refused).toMatchObject({ ok: false, exchange: { method: 'PATCH', status: 422 } });
    expect(errorOf(refused)).toBeInstanceOf(PermanentError);
    expect(requests).toEqual(['GET', 'PATCH', 'GET']);
  });

  it('a 409 to the PATCH that names no lock dead-letters naming on409.workOrder; set to retry, it is retried; exists is refused (a PATCH creates nothing)', async () => {
    const requests: string[] = [];
    const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    // Listed open before and after the PATCH, which is refused 409 for a reason of the ERP's own.
    const erp = ((input: string | URL, init?: RequestInit) => {
      const method = init?.method ?? 'GET';
      requests.push(method);
      if (method === 'PATCH') return Promise.resolve(json(409, { error: { code: 'WF-17', message: 'order is in an approval workflow' } }));
      return Promise.resolve(json(200, { value: [{ id: 'WO-9', externalKey: KEY, erpAssetId: 'EQ-7', status: 'open', updatedAt: '2026-03-02T09:00:00Z' }] }));
    }) as typeof fetch;
    const base = { name: 's4', type: 'rest', baseUrl: 'https://s4.example.test' };
    // After its first attempt (a list lagging a closing is ruled out by then): the refusal stands.
    const [refused] = await createRestConnector(restDestinationSchema.parse(base), { fetch: erp }).send([{ ...update(), attempts: 1 }], ctx);
    expect(refused).toMatchObject({ ok: false, exchange: { method: 'PATCH', status: 409 } });
    expect(errorOf(refused)).toBeInstanceOf(PermanentError);
    expect(errorOf(refused)?.message).toContain('order is in an approval workflow');
    expect(errorOf(refused)?.message).toContain('if this ERP answers 409 on paths.workOrder while the record is locked, set it to retry with on409.workOrder of destination "s4"');
    expect(requests).toEqual(['GET', 'PATCH', 'GET']);
    const [retried] = await createRestConnector(restDestinationSchema.parse({ ...base, on409: { workOrder: 'retry' } }), { fetch: erp }).send([{ ...update(), attempts: 1 }], ctx);
    expect(errorOf(retried)).toBeInstanceOf(ConflictError);
    expect(errorOf(retried)?.message).toContain('retried as on409.workOrder of destination "s4" is retry');
    const exists = restDestinationSchema.safeParse({ ...base, on409: { workOrder: 'exists' } });
    expect(exists.error?.issues[0]?.message).toContain("\"exists\" is not allowed here: use auto, retry or fail (exists is for paths that create records; raising a work order's priority creates none)");
  });

  it('of a work order closed just before its PATCH at an ERP whose lists lag its writes: retried once, and the retry finds it closed (no dead letter, no PATCH)', async () => {
    const clock = { t: Date.parse('2026-03-02T09:00:00Z') };
    const s = await sim({ now: () => clock.t, updateVisibleAfterMs: 60_000 });
    expect((await connectorFor(s, {}, { now: () => clock.t }).send([create()], ctx))[0]?.ok).toBe(true);
    clock.t += 120_000; // the create visible in lists
    const id = s.state().workOrders[0]?.id as string;
    const requests: string[] = [];
    const closing = ((input: string | URL, init?: RequestInit) => {
      const method = init?.method ?? 'GET';
      requests.push(method);
      if (method === 'PATCH' && s.state().workOrders[0]?.status === 'open') s.setWorkOrderStatus({ id }, 'completed');
      return fetch(input, init);
    }) as typeof fetch;
    const config = restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, token: 'sim-token', timeoutMs: 2000 });
    const connector = createRestConnector(config, { fetch: closing, clock: { now: () => clock.t } });
    // The PATCH is refused (409: closed); the list still shows it open (its closing not visible for a minute).
    const [first] = await connector.send([update()], ctx);
    expect(first).toMatchObject({ ok: false, exchange: { method: 'PATCH', status: 409 } });
    expect(errorOf(first)).toBeInstanceOf(ConflictError);
    expect(requests).toEqual(['GET', 'PATCH', 'GET']);
    // The retry, after the lag: listed completed, done with the note, nothing sent.
    clock.t += 120_000;
    requests.length = 0;
    const [done] = await connector.send([{ ...update(), attempts: 1 }], ctx);
    expect(done).toMatchObject({ ok: true, exchange: { method: 'GET' } });
    expect(done?.ok === true ? done.note : undefined).toContain(`the ERP lists work order ${id} completed (status "completed"), closed after the fault report was raised; nothing was sent to it`);
    expect(requests).toEqual(['GET']);
    expect(s.state().workOrders[0]).toMatchObject({ status: 'completed', priority: 'MEDIUM' });
  });

  it('a 404 to the PATCH is retried too, naming paths.workOrder should it last; a 405 dead-letters naming it', async () => {
    const s = await sim();
    expect((await connectorFor(s).send([create()], ctx))[0]?.ok).toBe(true);
    const wrongPath = await connectorFor(s, { paths: { workOrder: '/api/v1/maintenance-orders/{workOrderId}' } }).send([update()], ctx);
    const notFound = errorOf(wrongPath[0]);
    expect(notFound).toBeInstanceOf(ConflictError);
    expect(notFound?.message).toMatch(/PATCH \/api\/v1\/maintenance-orders\/WO-\d+ → 404/);
    expect(notFound?.message).toContain('should it last, check paths.workOrder of destination "erp-sim" (now /api/v1/maintenance-orders/{workOrderId})');
    s.faults.add({ kind: 'error', status: 405, method: 'PATCH', path: '/work-orders/' });
    const refused = errorOf((await connectorFor(s).send([update()], ctx))[0]);
    expect(refused).toBeInstanceOf(PermanentError);
    expect(refused?.message).toContain('check paths.workOrder of destination "erp-sim"');
  });

  it("the simulator's faults hit the PATCH: a 503 and a lost answer are retried, and the update then lands once", async () => {
    const s = await sim();
    const connector = connectorFor(s);
    expect((await connector.send([create()], ctx))[0]?.ok).toBe(true);
    s.faults.add({ kind: 'error', status: 500, method: 'PATCH', path: '/work-orders/' });
    expect(errorOf((await connector.send([update()], ctx))[0])).toBeInstanceOf(RetryableError);
    expect(s.state().workOrders[0]?.priority).toBe('MEDIUM');
    s.faults.add({ kind: 'lost-response', method: 'PATCH', path: '/work-orders/' });
    expect(errorOf((await connector.send([update()], ctx))[0])).toBeInstanceOf(RetryableError);
    expect(s.state().workOrders[0]?.priority).toBe('HIGH');
    expect((await connector.send([update()], ctx))[0]?.ok).toBe(true);
    expect(s.state().workOrders[0]?.priorityChanges).toHaveLength(1);
  });
});

describe('the simulator: PATCH /api/v1/work-orders/{id}', () => {
  const patch = async (url: string, body: unknown) => {
    const res = await fetch(url, { method: 'PATCH', headers: { authorization: 'Bearer sim-token', 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { error?: { message: string } } & Record<string, unknown> };
  };

  it('404 for an unknown work order; 400 for a field a PATCH cannot change', async () => {
    const s = await sim();
    expect(await patch(`${s.url}/api/v1/work-orders/WO-404`, { priority: 'HIGH' })).toMatchObject({ status: 404, body: { error: { message: 'work order WO-404 does not exist' } } });
    expect((await connectorFor(s).send([create()], ctx))[0]?.ok).toBe(true);
    const id = s.state().workOrders[0]?.id as string;
    expect(await patch(`${s.url}/api/v1/work-orders/${id}`, { status: 'completed' })).toMatchObject({ status: 400, body: { error: { message: 'status cannot be changed by a PATCH' } } });
    expect(await patch(`${s.url}/api/v1/work-orders/${id}`, { priority: 'HIGH' })).toMatchObject({ status: 200, body: { id, priority: 'HIGH', status: 'open' } });
  });

  it('409 WorkOrderClosed for a work order completed or cancelled: unchanged, not counted; its 404 and 400 as before', async () => {
    for (const status of ['completed', 'cancelled'] as const) {
      const s = await sim();
      expect((await connectorFor(s).send([create()], ctx))[0]?.ok).toBe(true);
      const id = s.state().workOrders[0]?.id as string;
      s.setWorkOrderStatus({ id }, status);
      expect(await patch(`${s.url}/api/v1/work-orders/${id}`, { priority: 'HIGH' })).toMatchObject({
        status: 409,
        body: { error: { code: 'WorkOrderClosed', message: `work order ${id} is ${status}: a closed work order cannot be changed` } },
      });
      expect(s.state().workOrders[0]).toMatchObject({ status, priority: 'MEDIUM' });
      expect(s.state().workOrders[0]?.priorityChanges).toBeUndefined();
      expect(s.counters().applied.workOrderUpdates).toBe(0);
      expect(await patch(`${s.url}/api/v1/work-orders/${id}`, { status: 'open' })).toMatchObject({ status: 400, body: { error: { message: 'status cannot be changed by a PATCH' } } });
      expect(await patch(`${s.url}/api/v1/work-orders/WO-404`, { priority: 'HIGH' })).toMatchObject({ status: 404 });
    }
  });
});
