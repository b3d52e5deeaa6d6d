/**
 * Outbox behaviours of the SQLite store found unpinned by mutation testing: claims that a busy key
 * must not starve, the order claims take due rows in, the idempotency key stored at the claim,
 * the life of a delivery's last error, `replayDead` touching dead letters only, and retention
 * keeping what an unfinished or newest delivery still needs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryIntent } from '../../../core/model/delivery.js';
import { tempStore } from '../../../../test/helpers/temp-store.js';
import type { AuditRecord } from '../../../ports/store.js';
import { pruneAll } from '../../../engine/retention.js';
import type { SqliteStore } from './sqlite-store.js';

const DAY = 86_400_000;
const stores: SqliteStore[] = [];
const open = () => {
  const s = tempStore();
  stores.push(s);
  return s;
};
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

const loc = (eventTime: number, zone: string, key = 'A1'): DeliveryIntent => ({
  destination: 'erp',
  operation: 'location.update',
  kind: 'state',
  businessKey: key,
  erpAssetId: key,
  eventTime,
  payload: { warehouseLocation: zone },
});
const wo = (key: string): DeliveryIntent => ({ destination: 'erp', operation: 'workorder.create', kind: 'fact', businessKey: key, erpAssetId: 'A1', eventTime: 1, payload: { title: key } });
const commit = (s: SqliteStore, deliveries: DeliveryIntent[]) => s.commitIngest({ states: [], deliveries, quarantine: [], accepted: deliveries.length });
const auditOf = (id: number, at: number, outcome: string): AuditRecord => ({ at, deliveryId: id, destination: 'erp', operation: 'x', erpAssetId: 'A1', idempotencyKey: `k${id}`, attempt: 1, latencyMs: 1, outcome });
const later = () => Date.now() + DAY; // every row committed so far is due

describe('SqliteStore claims', () => {
  // Kills: the candidate query fetching only `limit` rows (no over-fetch past busy keys).
  it('a key still in flight does not starve a claim: other due rows are claimed past its newer value', async () => {
    const s = open();
    await commit(s, [loc(100, 'A', 'A1')]);
    const [first] = await s.claimDue('erp', later(), 1, new Set());
    await commit(s, [loc(200, 'B', 'A1'), loc(100, 'A', 'A2')]); // A1's newer value comes first
    const busy = new Set([`location.update\u001fA1`]);
    const claimed = await s.claimDue('erp', later(), 1, busy);
    expect(first?.businessKey).toBe('A1');
    expect(claimed.map((c) => c.businessKey)).toEqual(['A2']);
  });

  // Kills: claims ordered by id instead of by due time.
  it('takes the longest-due row first, whatever order the rows were queued in', async () => {
    const s = open();
    await commit(s, [wo('A1|hot|1'), wo('A1|hot|2')]);
    const [a, b] = await s.claimDue('erp', later(), 10, new Set());
    const now = Date.now();
    await s.completeAttempts(
      [
        { id: a!.id, result: 'retry', nextAttemptAt: now + 2000, error: 'timeout' },
        { id: b!.id, result: 'retry', nextAttemptAt: now + 1000, error: 'timeout' },
      ],
      [],
      now,
    );
    expect((await s.claimDue('erp', now + 3000, 1, new Set())).map((c) => c.id)).toEqual([b!.id]);
  });

  // Kills: the idempotency key derived at the claim not stored with the row.
  it('stores the idempotency key a state update is given at its claim, so the record shows the key sent', async () => {
    const s = open();
    await commit(s, [loc(100, 'A')]);
    const [claimed] = await s.claimDue('erp', later(), 1, new Set());
    expect(claimed?.idempotencyKey).toMatch(/^ab1-/);
    expect((await s.getDelivery(claimed!.id))?.idempotencyKey).toBe(claimed?.idempotencyKey);
  });
});

describe('SqliteStore delivery outcomes', () => {
  // Kills: a release (429, shutdown) wiping the last error; a delivery keeping it.
  it('a release keeps the last error, a delivery clears it', async () => {
    const s = open();
    await commit(s, [wo('A1|hot|1')]);
    const now = later();
    const [d] = await s.claimDue('erp', now, 1, new Set());
    await s.completeAttempts([{ id: d!.id, result: 'retry', nextAttemptAt: now, error: '502 bad gateway' }], [], now);
    await s.claimDue('erp', now, 1, new Set());
    await s.completeAttempts([{ id: d!.id, result: 'release', nextAttemptAt: now }], [], now); // a 429: not an attempt
    expect(await s.getDelivery(d!.id)).toMatchObject({ status: 'pending', attempts: 1, lastError: '502 bad gateway' });
    await s.claimDue('erp', now, 1, new Set());
    await s.completeAttempts([{ id: d!.id, result: 'delivered' }], [], now);
    const done = await s.getDelivery(d!.id);
    expect(done).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(done?.lastError).toBeUndefined();
  });

  // Kills: replayDead not checking that the row is a dead letter.
  it('replayDead moves dead letters only: a delivered or pending delivery named with them is left alone', async () => {
    const s = open();
    await commit(s, [wo('A1|hot|1'), wo('A1|hot|2'), wo('A1|hot|3')]);
    const now = later();
    const [done, dead] = await s.claimDue('erp', now, 2, new Set());
    const [pending] = await s.listDeliveries({ status: 'pending' });
    await s.completeAttempts(
      [
        { id: done!.id, result: 'delivered' },
        { id: dead!.id, result: 'dead', error: '422 invalid plant' },
      ],
      [],
      now,
    );
    expect(await s.replayDead([done!.id, dead!.id, pending!.id], now)).toBe(1);
    expect((await s.getDelivery(done!.id))?.status).toBe('delivered');
    expect((await s.getDelivery(dead!.id))?.status).toBe('pending');
    expect(await s.getDelivery(pending!.id)).toMatchObject({ status: 'pending', attempts: 0 });
  });
});

describe('SqliteStore retention keeps what is still needed', () => {
  // Kills: the "newest delivered value" test in PRUNABLE_DELIVERIES weakened to >= on event time.
  it('of two delivered values of one key with the same event time, one stays', async () => {
    const s = open();
    const now = later();
    await commit(s, [loc(100, 'A')]);
    const [a] = await s.claimDue('erp', now, 1, new Set());
    await s.completeAttempts([{ id: a!.id, result: 'delivered' }], [], now - 10 * DAY);
    await commit(s, [loc(100, 'B')]);
    const [b] = await s.claimDue('erp', now, 1, new Set());
    await s.completeAttempts([{ id: b!.id, result: 'delivered' }], [], now - 10 * DAY);
    await commit(s, [wo('A9|hot|1')]); // a newer row, so neither is the highest id
    expect(await pruneAll(s, { deliveredBefore: now - 7 * DAY })).toMatchObject({ delivered: 1 });
    expect((await s.listDeliveries({ status: 'delivered' })).map((d) => d.id)).toEqual([b!.id]);
  });

  // Kills: PRUNABLE_AUDIT not excluding deliveries in flight.
  it('keeps the old audit rows of a delivery in flight: its history stays whole if it then dies', async () => {
    const s = open();
    const now = later();
    await commit(s, [wo('A1|hot|1')]);
    const [d] = await s.claimDue('erp', now, 1, new Set());
    await s.completeAttempts([{ id: d!.id, result: 'retry', nextAttemptAt: now - 40 * DAY, error: 'timeout' }], [auditOf(d!.id, now - 40 * DAY, 'retry')], now - 40 * DAY);
    await s.claimDue('erp', now, 1, new Set()); // in flight again
    expect(await pruneAll(s, { auditBefore: now - 30 * DAY })).toMatchObject({ audit: 0 });
    expect((await s.queryAudit({ deliveryId: d!.id })).map((a) => a.outcome)).toEqual(['retry']);
  });
});
