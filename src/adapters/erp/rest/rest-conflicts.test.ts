/**
 * 409 answers to writes, against the ERP simulator over real HTTP: "already exists" on a create is
 * the earlier attempt that landed (delivered, with the existing record's id), a lock is retryable,
 * any other 409 stays permanent with the ERP's reason; `on409` overrides per path.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, PermanentError, RetryableError } from '../../../core/errors/errors.js';
import { restDestinationSchema } from '../../../config/schema.js';
import { connectorFor, ctx, errorOf, outboxItem as item, useSimulators } from '../../../../test/helpers/rest-simulator.js';

const sim = useSimulators();

const workOrder = (asset = 'EQ-1') => item('workorder.create', asset, { erpAssetId: asset, title: 'Engine temperature high' });
const location = (asset = 'EQ-1') => item('location.update', asset, { warehouseLocation: 'YARD-1', coordinates: { lat: 59.3, lng: 18.1 }, lastSeen: '2026-03-02T08:10:00.000Z' });
const meter = (asset = 'EQ-1') => item('meter.record', asset, { meter: 'operatingHours', operatingHours: 1200, unit: 'h' });
const retired = { error: { code: 'InvalidState', message: 'asset EQ-1 is retired: no work orders can be opened' } };

describe('a write whose idempotency key the ERP still holds (a request in progress)', () => {
  it('is retried, and once the first request is done its answer is replayed: one record', async () => {
    const s = await sim();
    // 1 s a request, not 500 ms: the retry meanwhile must get its answer within it on a loaded machine.
    const connector = connectorFor(s, { timeoutMs: 1000 });
    // The ERP takes the create and works on it past the client's timeout, its key claimed (2 s after it for the retry meanwhile).
    s.faults.add({ kind: 'latency', latencyMs: 3000, method: 'POST', path: '/work-orders', holdsKey: true });
    const wo = workOrder();
    const [first] = await connector.send([wo], ctx);
    expect(errorOf(first)).toBeInstanceOf(RetryableError);
    expect((errorOf(first) as RetryableError | undefined)?.outcomeUnknown).toBe(true);
    const [meanwhile] = await connector.send([{ ...wo, attempts: 1 }], ctx);
    expect(errorOf(meanwhile)).toBeInstanceOf(ConflictError);
    expect(errorOf(meanwhile)?.message).toContain('IdempotencyKeyInUse: a request with idempotency key');
    await expect.poll(() => s.counters().applied.workOrders).toBe(1);
    const [later] = await connector.send([{ ...wo, attempts: 2 }], ctx);
    expect(later?.ok).toBe(true);
    expect(s.state().workOrders).toHaveLength(1);
    expect(s.counters()).toMatchObject({ idempotencyKeysInUse: 1, duplicatesSuppressed: 1 });
  });
});

describe('a create answered 409 "already exists"', () => {
  it('is delivered with the id of the record an earlier attempt created, found by its externalKey', async () => {
    const s = await sim({ idempotency: false, uniqueExternalKey: true });
    const wo = workOrder();
    // The first attempt lands, but its answer is lost.
    s.faults.add({ kind: 'lost-response', method: 'POST', path: '/work-orders' });
    const connector = connectorFor(s);
    const [first] = await connector.send([wo], ctx);
    expect(errorOf(first)).toBeInstanceOf(RetryableError);

    const [second] = await connector.send([{ ...wo, attempts: 1 }], ctx);
    expect(second?.ok).toBe(true);
    const existing = s.state().workOrders[0];
    expect(s.state().workOrders).toHaveLength(1);
    expect(s.counters().duplicatesRefused).toBe(1);
    expect(second).toMatchObject({ response: { id: existing?.id, externalKey: wo.businessKey } });
    // The audit shows the write and the ERP's 409 that made it delivered.
    expect(second?.exchange).toMatchObject({ method: 'POST', status: 409 });
    expect(second?.exchange?.responseBody).toContain('DuplicateEntry');
  });

  // The ERP quotes the record's key back: a rule named door-lock made "already exists" read as a lock, retried to dead letters.
  it('is read by the ERP\'s words, not by what it quotes of the request: a key or title with "lock" in it is no lock', async () => {
    const s = await sim({ idempotency: false, uniqueExternalKey: true });
    const wo = item('workorder.create', 'EQ-1', { erpAssetId: 'EQ-1', title: 'Hydraulic lock: retry valve' }, { businessKey: 'EQ-1|door-lock|2026-03-02T08:00:00.000Z' });
    s.faults.add({ kind: 'lost-response', method: 'POST', path: '/work-orders' });
    const connector = connectorFor(s);
    expect(errorOf((await connector.send([wo], ctx))[0])).toBeInstanceOf(RetryableError);
    const [second] = await connector.send([{ ...wo, attempts: 1 }], ctx);
    expect(second?.exchange?.responseBody).toContain('already exists with externalKey EQ-1|door-lock|');
    expect(second?.ok).toBe(true);
    expect(s.state().workOrders).toHaveLength(1);
    // A lock the ERP names is still one, whatever the request carried.
    s.faults.add({ kind: 'locked', method: 'POST', path: '/work-orders' });
    const [locked] = await connector.send([item('workorder.create', 'EQ-2', { erpAssetId: 'EQ-2', title: 'Hydraulic lock' })], ctx);
    expect(errorOf(locked)).toBeInstanceOf(ConflictError);
  });

  it('inside a batch, too', async () => {
    const s = await sim();
    s.faults.add({ kind: 'already-exists', method: 'POST', path: '/work-orders', inBatch: true });
    const [a, b] = [workOrder('EQ-1'), workOrder('EQ-2')];
    const results = await connectorFor(s, { batch: { maxSize: 10 } }).send([a, b], ctx);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    const idOf = (key: string) => s.state().workOrders.find((w) => w.externalKey === key)?.id;
    expect(results[0]).toMatchObject({ response: { id: idOf(a.businessKey) }, exchange: { status: 409 } });
    expect(results[1]).toMatchObject({ response: { id: idOf(b.businessKey) }, exchange: { status: 201 } });
    expect(s.state().workOrders).toHaveLength(2);
  });

  it('that the lookup cannot confirm (no record with our key) fails, saying so: the ERP collided with another record', async () => {
    const s = await sim();
    s.faults.add({ kind: 'error', status: 409, method: 'POST', body: { error: { code: 'DuplicateEntry', message: 'a work order for EQ-1 already exists' } } });
    const wo = workOrder();
    const [result] = await connectorFor(s).send([wo], ctx);
    const error = errorOf(result);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error?.message).toContain('DuplicateEntry: a work order for EQ-1 already exists');
    expect(error?.message).toContain(`lists none with externalKey ${wo.businessKey}`);
    expect(s.state().workOrders).toHaveLength(0);
  });

  it('without an externalKey to look it up by (a meter reading, the idempotency header honoured), is delivered on the ERP\'s word', async () => {
    const s = await sim();
    s.faults.add({ kind: 'already-exists', method: 'POST', path: '/meter-readings' });
    const [result] = await connectorFor(s).send([meter()], ctx);
    expect(result?.ok).toBe(true);
    expect(result).toMatchObject({ exchange: { status: 409 }, response: { error: { code: 'DuplicateEntry' } } });
    expect(s.state().meterReadings).toHaveLength(1);
  });
});

describe('a 409 for a lock or a concurrent change', () => {
  it('is retryable, on a create and on a location update', async () => {
    const s = await sim();
    s.faults.add({ kind: 'locked', count: 2 });
    const results = await connectorFor(s).send([workOrder(), location()], ctx);
    for (const r of results) {
      // A conflict: retried, and not counted against the destination's circuit breaker.
      expect(errorOf(r)).toBeInstanceOf(ConflictError);
      expect(errorOf(r)?.message).toMatch(/409 conflict: RecordLocked: .* is locked by user PLANNER-7.*retried as the ERP names a lock or a concurrent change/);
    }
    expect(s.state().workOrders).toHaveLength(0);
  });

  it("carries the ERP's Retry-After, one by one and in a batch, so the retry waits for it as after a 429", async () => {
    const s = await sim();
    const lockedBody = { error: { code: 'RecordLocked', message: 'EQ-1 is locked by user PLANNER-7; try again later' } };
    s.faults.add({ kind: 'error', status: 409, body: lockedBody, retryAfterSeconds: 30 });
    s.faults.add({ kind: 'error', status: 409, body: lockedBody, retryAfterSeconds: 45, inBatch: true });
    const [one] = await connectorFor(s).send([location()], ctx);
    const [batched] = await connectorFor(s, { batch: { maxSize: 10 } }).send([location()], ctx);
    expect((errorOf(one) as ConflictError).retryAfterMs).toBe(30_000);
    expect(errorOf(one)?.message).toContain('(retried after its Retry-After of 30 s, as the ERP names a lock');
    expect((errorOf(batched) as ConflictError).retryAfterMs).toBe(45_000);
    // None given: the backoff decides.
    s.faults.add({ kind: 'locked' });
    const [plain] = await connectorFor(s).send([location()], ctx);
    expect(errorOf(plain)).toBeInstanceOf(ConflictError);
    expect((errorOf(plain) as ConflictError).retryAfterMs).toBeUndefined();
  });
});

describe('a 423 Locked (a user holds the record open)', () => {
  it('is retried, not dead-lettered, one by one and in a batch; nothing is applied', async () => {
    const s = await sim();
    const held = { error: { code: 'Locked', message: 'Equipment EQ-1 is being edited by PLANNER-7' } };
    s.faults.add({ kind: 'error', status: 423, body: held });
    s.faults.add({ kind: 'error', status: 423, body: held, retryAfterSeconds: 60, inBatch: true });
    const [one] = await connectorFor(s).send([location()], ctx);
    const [batched] = await connectorFor(s, { batch: { maxSize: 10 } }).send([workOrder()], ctx);
    for (const r of [one, batched]) {
      expect(errorOf(r)).toBeInstanceOf(ConflictError);
      expect(errorOf(r)?.message).toContain('423 locked: Locked: Equipment EQ-1 is being edited by PLANNER-7');
    }
    expect((errorOf(batched) as ConflictError).retryAfterMs).toBe(60_000);
    expect(s.counters().applied).toMatchObject({ location: 0, workOrders: 0 });
  });
});

describe('any other 409', () => {
  it("stays permanent with the ERP's reason, naming the key that would read it otherwise", async () => {
    const s = await sim();
    s.faults.add({ kind: 'error', status: 409, body: retired });
    const [result] = await connectorFor(s).send([workOrder()], ctx);
    const error = errorOf(result);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error?.message).toContain('409 conflict: InvalidState: asset EQ-1 is retired');
    expect(error?.message).toContain('on409.workOrders of destination "erp-sim"');
    expect(error?.message).toContain("'assetbridge dlq replay'");
  });
});

describe('on409 per path', () => {
  it('retry: any 409 on that path is retried; other paths keep reading the answer', async () => {
    const s = await sim();
    s.faults.add({ kind: 'error', status: 409, body: retired, count: 2 });
    const connector = connectorFor(s, { on409: { workOrders: 'retry' } });
    const [wo, loc] = await connector.send([workOrder(), location()], ctx);
    expect(errorOf(wo)).toBeInstanceOf(RetryableError);
    expect(errorOf(wo)?.message).toContain('on409.workOrders of destination "erp-sim" is retry');
    expect(errorOf(loc)).toBeInstanceOf(PermanentError);
  });

  it('fail: even a lock dead-letters', async () => {
    const s = await sim();
    s.faults.add({ kind: 'locked' });
    const [result] = await connectorFor(s, { on409: { location: 'fail' } }).send([location()], ctx);
    expect(errorOf(result)).toBeInstanceOf(PermanentError);
    expect(errorOf(result)?.message).toContain('(on409.location of destination "erp-sim" is fail)');
  });

  it('exists: a 409 in words the service does not know is the record already there', async () => {
    const s = await sim({ idempotency: false });
    const wo = workOrder();
    await connectorFor(s).send([wo], ctx); // the earlier attempt
    s.faults.add({ kind: 'error', status: 409, method: 'POST', body: { error: { code: 'E-4711', message: 'Auftrag vorhanden' } } });
    const [result] = await connectorFor(s, { on409: { workOrders: 'exists' } }).send([wo], ctx);
    expect(result).toMatchObject({ ok: true, response: { id: s.state().workOrders[0]?.id } });
    expect(s.state().workOrders).toHaveLength(1);
  });

  it('a location update cannot be set to exists: it creates nothing', () => {
    const parsed = restDestinationSchema.safeParse({ name: 'erp', type: 'rest', baseUrl: 'https://erp.example.com', on409: { location: 'exists' } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain('"exists" is not allowed here: use auto, retry or fail');
    expect(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: 'https://erp.example.com' }).on409).toEqual({
      location: 'auto',
      workOrders: 'auto',
      workOrder: 'auto',
      meterReadings: 'auto',
      inventoryCounts: 'auto',
      usagePostings: 'auto',
    });
  });
});
