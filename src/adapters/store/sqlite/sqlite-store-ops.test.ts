/**
 * The store methods the operations surface reads and prunes with: retention (`prune`), the
 * delivered counts `status` shows (`outboxStats`) and the audit trail (`queryAudit`).
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

const wo = (key: string): DeliveryIntent => ({ destination: 'erp', operation: 'workorder.create', kind: 'fact', businessKey: key, erpAssetId: 'A1', eventTime: 1, payload: { title: key } });
const commit = (s: SqliteStore, deliveries: DeliveryIntent[]) => s.commitIngest({ states: [], deliveries, quarantine: [], accepted: deliveries.length });
const auditOf = (id: number, at: number, outcome = 'delivered'): AuditRecord => ({ at, deliveryId: id, destination: 'erp', operation: 'workorder.create', erpAssetId: 'A1', idempotencyKey: `k${id}`, attempt: 1, latencyMs: 1, outcome });

describe('SqliteStore operations surface', () => {
  const now = Date.now() + DAY;
  const deliverAll = async (s: SqliteStore, when: number) => {
    const claimed = await s.claimDue('erp', now, 100, new Set());
    await s.completeAttempts(claimed.map((d) => ({ id: d.id, result: 'delivered' as const })), claimed.map((d) => auditOf(d.id, when)), when);
    return claimed;
  };

  it('keeps counting deliveries as delivered when retention deleted every row of a destination', async () => {
    const s = open();
    await commit(s, [wo('A1|hot|1'), wo('A1|hot|2')]);
    await deliverAll(s, now - 10 * DAY);
    await commit(s, [{ ...wo('A1|hot|3'), destination: 'other' }]);
    expect(await pruneAll(s, { deliveredFactsBefore: now - 7 * DAY })).toMatchObject({ deliveredFacts: 2 });
    expect(await s.outboxStats(now)).toEqual([
      { destination: 'erp', pending: 0, inflight: 0, delivered: 2, dead: 0, oldestPendingAgeMs: 0 },
      { destination: 'other', pending: 1, inflight: 0, delivered: 0, dead: 0, oldestPendingAgeMs: expect.any(Number) as number },
    ]);
  });

  it('never gives a new delivery the id of one retention deleted, so its audit trail stays its own', async () => {
    const s = open();
    await commit(s, [wo('A1|hot|1')]);
    const [old] = await deliverAll(s, now - 10 * DAY);
    await pruneAll(s, { deliveredFactsBefore: now - 7 * DAY }); // the audit row (kept 90 days) stays
    await commit(s, [wo('A1|hot|2')]);
    const [fresh] = await s.listDeliveries({});
    expect(fresh!.id).not.toBe(old!.id);
    expect(await s.queryAudit({ deliveryId: fresh!.id })).toEqual([]);
  });
});
