/**
 * The claim of an operation that waits for another of its business key (`waitsFor`: a work order's
 * `workorder.update` for its `workorder.create`): not claimed while that create is pending (retried,
 * or waiting for its old request to settle) or in flight; claimed once it is delivered or dead, its
 * max age then counting from that (the wait is neither an attempt nor age); a create replayed and
 * done with again gives an update that was retried meanwhile its whole retry budget again.
 */
import { describe, expect, it } from 'vitest';
import type { DeliveryIntent, OutboxItem } from '../../../core/model/delivery.js';
import { useTempStores } from '../../../../test/helpers/temp-stores.js';
import type { SqliteStore } from './sqlite-store.js';

const DAY = 86_400_000;
const newStore = useTempStores();

const KEY = 'EQ-1|oil|2026-03-02T08:00:00.000Z';
const create = (key = KEY, destination = 'erp'): DeliveryIntent => ({ destination, operation: 'workorder.create', kind: 'fact', businessKey: key, erpAssetId: 'EQ-1', eventTime: 1, payload: { priority: 'MEDIUM' } });
const raise = (key = KEY, destination = 'erp'): DeliveryIntent => ({ ...create(key, destination), operation: 'workorder.update', eventTime: 2, payload: { priority: 'HIGH' } });
const WAITS = { 'workorder.update': 'workorder.create' } as const;

async function storeWith(deliveries: DeliveryIntent[]): Promise<SqliteStore> {
  const s = newStore();
  await s.commitIngest({ states: [], deliveries, quarantine: [], accepted: deliveries.length });
  return s;
}

const ops = (items: readonly OutboxItem[]) => items.map((i) => `${i.operation} ${i.businessKey}`);

describe('claimDue with waitsFor', () => {
  const now = Date.now() + DAY;

  it('holds an update while its create is pending or in flight, and claims it once the create is delivered, its age from then', async () => {
    const s = await storeWith([create(), raise()]);
    const [queued] = (await s.listDeliveries({ operation: 'workorder.update' })).map((d) => d.enqueuedAt);
    // Pending beside it: only the create goes.
    const first = await s.claimDue('erp', now, 10, new Set(), undefined, WAITS);
    expect(ops(first)).toEqual([`workorder.create ${KEY}`]);
    // In flight: the update is not claimed.
    expect(await s.claimDue('erp', now, 10, new Set(), undefined, WAITS)).toEqual([]);
    // Of unknown outcome, waiting to settle (due only later): still held, though the update is due.
    await s.completeAttempts([{ id: first[0]!.id, result: 'retry', nextAttemptAt: now + DAY, error: 'timeout', mayHaveLanded: true }], [], now);
    expect(await s.claimDue('erp', now + DAY - 1, 10, new Set(), undefined, WAITS)).toEqual([]);
    // Its retry delivered a day later: the update goes, with no attempt counted and its age from the create's delivery.
    const [again] = await s.claimDue('erp', now + DAY, 10, new Set(), undefined, WAITS);
    expect(again?.operation).toBe('workorder.create');
    await s.completeAttempts([{ id: again!.id, result: 'delivered' }], [], now + DAY);
    const [update, ...more] = await s.claimDue('erp', now + DAY, 10, new Set(), undefined, WAITS);
    expect(more).toEqual([]);
    expect(update).toMatchObject({ operation: 'workorder.update', businessKey: KEY, attempts: 0, enqueuedAt: now + DAY });
    expect(update!.enqueuedAt).toBeGreaterThan(queued!);
    expect((await s.getDelivery(update!.id))?.enqueuedAt).toBe(now + DAY);
  });

  it('lets the update go once its create is dead (it does not wait for ever), and holds it again while the create is replayed', async () => {
    const s = await storeWith([create(), raise()]);
    const [c] = await s.claimDue('erp', now, 10, new Set(), undefined, WAITS);
    await s.completeAttempts([{ id: c!.id, result: 'dead', error: '422 invalid plant' }], [], now);
    const [u] = await s.claimDue('erp', now, 10, new Set(), undefined, WAITS);
    expect(u).toMatchObject({ operation: 'workorder.update', enqueuedAt: now });
    await s.completeAttempts([{ id: u!.id, result: 'retry', nextAttemptAt: now, error: 'the ERP does not have this work order yet' }], [], now);
    expect(await s.replayDead([c!.id], now)).toBe(1);
    expect(ops(await s.claimDue('erp', now, 10, new Set(), undefined, WAITS))).toEqual([`workorder.create ${KEY}`]);
  });

  it('gives an update retried while its create was dead its whole retry budget again once the replayed create is done with: attempts from 0, age from then', async () => {
    const s = await storeWith([create(), raise()]);
    const [c] = await s.claimDue('erp', now, 10, new Set(), undefined, WAITS);
    await s.completeAttempts([{ id: c!.id, result: 'dead', error: '422 invalid plant' }], [], now);
    // Sent while its create is dead, and retried as "not there yet", three times: those attempts count while it stays dead.
    for (let i = 0; i < 3; i++) {
      const [u] = await s.claimDue('erp', now + i, 10, new Set(), undefined, WAITS);
      expect(u).toMatchObject({ operation: 'workorder.update', attempts: i, enqueuedAt: now });
      await s.completeAttempts([{ id: u!.id, result: 'retry', nextAttemptAt: now + i + 1, error: 'the ERP does not have this work order yet' }], [], now + i);
    }
    // The operator replays the create an hour later; it lands a minute after that.
    const replayedAt = now + 3_600_000;
    expect(await s.replayDead([c!.id], replayedAt)).toBe(1);
    const [again] = await s.claimDue('erp', replayedAt, 10, new Set(), undefined, WAITS);
    expect(again?.operation).toBe('workorder.create');
    await s.completeAttempts([{ id: again!.id, result: 'delivered' }], [], replayedAt + 60_000);
    const [update, ...more] = await s.claimDue('erp', replayedAt + 60_000, 10, new Set(), undefined, WAITS);
    expect(more).toEqual([]);
    expect(update).toMatchObject({ operation: 'workorder.update', attempts: 0, enqueuedAt: replayedAt + 60_000 });
    expect(await s.getDelivery(update!.id)).toMatchObject({ attempts: 0, enqueuedAt: replayedAt + 60_000 });
    // Its attempts count from there, the create done with: a later claim resets nothing more.
    await s.completeAttempts([{ id: update!.id, result: 'retry', nextAttemptAt: replayedAt + 60_000, error: '503' }], [], replayedAt + 60_000);
    const [next] = await s.claimDue('erp', replayedAt + 60_000, 10, new Set(), undefined, WAITS);
    expect(next).toMatchObject({ id: update!.id, attempts: 1, enqueuedAt: replayedAt + 60_000 });
  });

  it('holds only the update of the same destination and business key, and nothing without waitsFor', async () => {
    const other = 'EQ-2|oil|2026-03-02T08:00:00.000Z';
    const s = await storeWith([create(), raise(), raise(other), raise(KEY, 'other')]);
    expect(ops(await s.claimDue('erp', now, 10, new Set(), undefined, WAITS)).sort()).toEqual([`workorder.create ${KEY}`, `workorder.update ${other}`]);
    expect(ops(await s.claimDue('other', now, 10, new Set(), undefined, WAITS))).toEqual([`workorder.update ${KEY}`]);
    const t = await storeWith([create(), raise()]);
    expect(ops(await t.claimDue('erp', now, 10, new Set())).sort()).toEqual([`workorder.create ${KEY}`, `workorder.update ${KEY}`]);
  });

  it('does not let held updates fill the claim: a due delivery behind them still goes', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `EQ-${i}|oil|2026-03-02T08:00:00.000Z`);
    const s = await storeWith(keys.map((k) => create(k)));
    const creates = await s.claimDue('erp', now, 100, new Set(), undefined, WAITS);
    expect(creates).toHaveLength(20);
    await s.commitIngest({ states: [], deliveries: [...keys.map((k) => raise(k)), create('EQ-99|oil|2026-03-02T08:00:00.000Z')], quarantine: [], accepted: 21 });
    expect(ops(await s.claimDue('erp', now, 1, new Set(), undefined, WAITS))).toEqual(['workorder.create EQ-99|oil|2026-03-02T08:00:00.000Z']);
  });
});

describe('outboxStats with waitsFor', () => {
  const waits = () => WAITS;
  const createdAt = async (s: SqliteStore, operation: string, key = KEY) => (await s.listDeliveries({ operation })).find((d) => d.businessKey === key)!.createdAt;

  it('counts an update held for its create apart (waitingForCreate) while the create is pending or in flight; once the create is done with, it is pending as any', async () => {
    const s = await storeWith([create(), raise()]);
    const now = (await createdAt(s, 'workorder.update')) + 600_000;
    expect(await s.outboxStats(now, waits)).toEqual([{ destination: 'erp', pending: 2, inflight: 0, delivered: 0, dead: 0, oldestPendingAgeMs: now - (await createdAt(s, 'workorder.create')), waitingForCreate: 1 }]);
    // Without the destination's waitsFor (a connector that declares none): nothing is held.
    expect((await s.outboxStats(now))[0]).not.toHaveProperty('waitingForCreate');
    // Its create in flight: still held; delivered: the update goes, pending as any other.
    const [c] = await s.claimDue('erp', now, 10, new Set(), undefined, WAITS);
    expect((await s.outboxStats(now, waits))[0]).toMatchObject({ pending: 1, inflight: 1, waitingForCreate: 1 });
    await s.completeAttempts([{ id: c!.id, result: 'delivered' }], [], now);
    const [after] = await s.outboxStats(now, waits);
    expect(after).toMatchObject({ pending: 1, inflight: 0, delivered: 1, oldestPendingAgeMs: now - (await createdAt(s, 'workorder.update')) });
    expect(after).not.toHaveProperty('waitingForCreate');
  });

  it('leaves a held update out of the oldest pending age, however old it is: the age is of what can go', async () => {
    // Queued before its create (the store takes them in any order): the oldest row, but only waiting.
    const s = await storeWith([raise()]);
    await new Promise((r) => setTimeout(r, 5));
    await s.commitIngest({ states: [], deliveries: [create()], quarantine: [], accepted: 1 });
    const now = Date.now() + DAY;
    const update = await createdAt(s, 'workorder.update');
    const created = await createdAt(s, 'workorder.create');
    expect(created).toBeGreaterThan(update);
    expect((await s.outboxStats(now))[0]?.oldestPendingAgeMs).toBe(now - update);
    expect((await s.outboxStats(now, waits))[0]).toMatchObject({ pending: 2, waitingForCreate: 1, oldestPendingAgeMs: now - created });
    // Held updates only: none of them is late (an update of another key, not held, is).
    const other = 'EQ-2|oil|2026-03-02T08:00:00.000Z';
    const t = await storeWith([raise(other), create(), raise()]);
    const [c] = await t.claimDue('erp', now, 1, new Set(), undefined, WAITS);
    expect(c?.operation).toBe('workorder.update');
    await t.completeAttempts([{ id: c!.id, result: 'delivered' }], [], now);
    expect((await t.outboxStats(now, waits))[0]).toMatchObject({ pending: 2, waitingForCreate: 1, oldestPendingAgeMs: now - (await createdAt(t, 'workorder.create')) });
  });
});
