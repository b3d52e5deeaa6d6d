/**
 * The store methods the operations surface reads and prunes with: retention (`prune`), the
 * delivered counts `status` shows (`outboxStats`) and the audit trail (`queryAudit`).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryIntent } from '../../../core/model/delivery.js';
import { storeBefore, tempStore } from '../../../../test/helpers/temp-store.js';
import type { AttemptOutcome, AuditRecord } from '../../../ports/store.js';
import { pruneAll } from '../../../engine/retention.js';
import { applyIngestCommit, prepareCommit, prepareIngestStatements } from './sqlite-ingest.js';
import { SqliteStore } from './sqlite-store.js';

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

  // Kills: outboxStats listing the zero counts the triggers leave behind (a status whose rows all went).
  it('does not list a destination whose rows retention deleted when none of them was delivered', async () => {
    const s = open();
    await commit(s, [{ ...wo('A1|hot|1'), destination: 'other' }]);
    const [d] = await s.claimDue('other', now, 1, new Set());
    await s.completeAttempts([{ id: d!.id, result: 'dead', error: '422 invalid plant' }], [], now - 10 * DAY);
    expect(await s.discardDead('all', now - 10 * DAY)).toBe(1);
    await commit(s, [wo('A1|hot|2')]); // the newest row is never pruned
    expect(await pruneAll(s, { deliveredFactsBefore: now - 7 * DAY })).toMatchObject({ deliveredFacts: 1 });
    expect(await s.outboxStats(now)).toEqual([{ destination: 'erp', pending: 1, inflight: 0, delivered: 0, dead: 0, oldestPendingAgeMs: expect.any(Number) as number }]);
  });

  it('remembers a dead letter whose request may have landed, and marks dead letters delivered by hand with an audit row, sending nothing', async () => {
    const s = open();
    await commit(s, [wo('A1|hot|1'), wo('A1|hot|2'), wo('A1|hot|3')]);
    const [a, b, c] = await s.claimDue('erp', now, 3, new Set());
    // a: timed out then refused for good (it may have landed before); b: refused only; c: still pending.
    await s.completeAttempts([{ id: a!.id, result: 'retry', nextAttemptAt: now, error: 'timeout', mayHaveLanded: true }, { id: b!.id, result: 'dead', error: '422' }, { id: c!.id, result: 'release', nextAttemptAt: now }], [], now);
    const [again] = await s.claimDue('erp', now, 1, new Set());
    expect(again!.id).toBe(a!.id);
    await s.completeAttempts([{ id: a!.id, result: 'dead', error: '422' }], [], now); // a later definite refusal does not clear it
    expect((await s.getDelivery(a!.id))?.mayHaveLanded).toBe(true);
    expect((await s.getDelivery(b!.id))?.mayHaveLanded).toBeUndefined();
    // Only dead letters move; the pending one and an unknown id are left and not returned.
    expect(await s.markDelivered([a!.id, c!.id, 999], now + 5)).toEqual([a!.id]);
    expect(await s.getDelivery(a!.id)).toMatchObject({ status: 'delivered', attempts: 2 });
    expect((await s.getDelivery(a!.id))?.lastError).toBeUndefined();
    expect((await s.getDelivery(c!.id))?.status).toBe('pending');
    expect(await s.queryAudit({ deliveryId: a!.id })).toEqual([expect.objectContaining({ at: now + 5, outcome: 'marked-delivered', attempt: 2 })]);
    expect(await s.queryAudit({ deliveryId: c!.id })).toEqual([]);
    expect(await s.markDelivered([a!.id], now + 6)).toEqual([]); // once
    expect(await s.outboxStats(now)).toEqual([{ destination: 'erp', pending: 1, inflight: 0, delivered: 1, dead: 1, oldestPendingAgeMs: expect.any(Number) as number }]);
  });

  it('counts a delivery in flight at a crash as one that may have landed', async () => {
    const s = open();
    await commit(s, [wo('A1|hot|1')]);
    const [d] = await s.claimDue('erp', now, 1, new Set());
    expect(await s.recoverInflight()).toBe(1);
    expect(await s.getDelivery(d!.id)).toMatchObject({ status: 'pending', mayHaveLanded: true });
  });

  it('factKeysOfAsset: the keys of one asset\'s facts of one operation, newest first, at most the limit', async () => {
    const s = open();
    const of = (key: string, erpAssetId: string, operation = 'workorder.create'): DeliveryIntent => ({ ...wo(key), erpAssetId, operation });
    await commit(s, [of('A1|oil|1', 'A1'), of('A2|oil|1', 'A2'), of('A1|oil|2', 'A1'), of('A1|note|1', 'A1', 'workorder.note')]);
    await commit(s, [{ ...of('A1|oil|9', 'A1'), kind: 'state' }]); // a state row of the operation: not a fact
    await commit(s, [of('A1|oil|3', 'A1')]);
    expect(await s.factKeysOfAsset('workorder.create', 'A1', 10)).toEqual(['A1|oil|3', 'A1|oil|2', 'A1|oil|1']);
    expect(await s.factKeysOfAsset('workorder.create', 'A1', 2)).toEqual(['A1|oil|3', 'A1|oil|2']);
    expect(await s.factKeysOfAsset('workorder.create', 'A9', 10)).toEqual([]);
  });

  // Invariant 3: the outbox row was what kept a fact once; deleted by retention.deliveredFacts, a
  // replay of the ingest log or a second `depreciation post` (which commit the same facts again)
  // queued the work order or posting anew, and the ERP got it twice.
  it('never queues again a fact whose row retention deleted (delivered or discarded), as a replay or a second post commits it again', async () => {
    const s = open();
    await commit(s, [wo('A1|hot|1'), wo('A1|hot|2')]);
    const [first, second] = await s.claimDue('erp', now, 2, new Set());
    await s.completeAttempts([{ id: first!.id, result: 'delivered' }, { id: second!.id, result: 'dead', error: '422 invalid plant' }], [auditOf(first!.id, now - 10 * DAY)], now - 10 * DAY);
    expect(await s.discardDead('all', now - 10 * DAY)).toBe(1);
    await commit(s, [wo('A1|hot|3')]); // the newest row is never pruned
    expect(await pruneAll(s, { deliveredFactsBefore: now - 7 * DAY })).toMatchObject({ deliveredFacts: 2 });
    const enqueued = () => s.db.prepare(`SELECT value FROM counters WHERE name = 'facts_enqueued:workorder.create'`).pluck().get();
    const before = enqueued();
    await commit(s, [wo('A1|hot|1'), wo('A1|hot|2'), wo('A1|hot|3')]);
    expect((await s.listDeliveries({})).map((d) => d.businessKey)).toEqual(['A1|hot|3']);
    expect(enqueued()).toBe(before);
    // Another key still goes.
    await commit(s, [wo('A1|hot|4')]);
    expect((await s.listDeliveries({ status: 'pending' })).map((d) => d.businessKey)).toEqual(['A1|hot|4', 'A1|hot|3']);
  });

  // `dlq replay --new-key` re-keyed letters in one transaction and replayed them in another: a crash
  // between left them re-keyed (their may-have-landed mark cleared) but dead.
  it('replayDeadWithNewKey re-keys and replays in one transaction: a failure leaves every letter as it was', async () => {
    const s = open();
    await commit(s, [wo('A1|hot|1'), wo('A1|hot|2'), wo('A1|hot|3')]);
    const [a, b, c] = await s.claimDue('erp', now, 3, new Set());
    await s.completeAttempts(
      [
        { id: a!.id, result: 'dead', error: '422' },
        { id: b!.id, result: 'dead', error: '422' },
        { id: c!.id, result: 'dead', error: 'timeout', mayHaveLanded: true },
      ],
      [],
      now,
    );
    const ids = [a!.id, b!.id, c!.id];
    const keys = async () => Promise.all(ids.map(async (id) => s.getDelivery(id).then((d) => [d?.status, d?.idempotencyKey])));
    const was = await keys();
    // The replay fails at the second letter (a crash there): the first one's new key is undone too.
    const crash = (item: { id: number }) => {
      if (item.id === b!.id) throw new Error('crash');
      return undefined;
    };
    await expect((async () => s.replayDeadWithNewKey(ids, now, {}, crash))()).rejects.toThrow('crash');
    expect(await keys()).toEqual(was);
    expect(await s.queryAudit({ deliveryId: a!.id })).toEqual([]);
    // Done whole: re-keyed and queued, but the one that may have landed, kept dead under its key.
    const r = await s.replayDeadWithNewKey(ids, now, {});
    expect(r.moved).toBe(2);
    expect(r.keyed.map((k) => [k.id, k.result])).toEqual([
      [a!.id, 'new-key'],
      [b!.id, 'new-key'],
      [c!.id, 'may-have-landed'],
    ]);
    const after = await keys();
    expect(after.map(([status]) => status)).toEqual(['pending', 'pending', 'dead']);
    expect(after[0]![1]).not.toBe(was[0]![1]);
    expect(after[2]).toEqual(was[2]);
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

/** What `outboxStats` means, counted over the whole outbox (as it was before migration 10 kept counts). */
function countedStats(s: SqliteStore, now: number) {
  const rows = s.db
    .prepare(
      `SELECT destination, SUM(status = 'pending') AS pending, SUM(status = 'inflight') AS inflight, SUM(status = 'delivered') AS delivered, SUM(status = 'dead') AS dead,
         MIN(CASE WHEN status IN ('pending', 'inflight') THEN created_at END) AS oldest
       FROM outbox GROUP BY destination ORDER BY destination`,
    )
    .all() as { destination: string; pending: number; inflight: number; delivered: number; dead: number; oldest: number | null }[];
  return rows.map(({ oldest, ...r }) => ({ ...r, oldestPendingAgeMs: oldest === null ? 0 : Math.max(0, now - oldest) }));
}

describe('SqliteStore outbox counts (migration 10)', () => {
  const step = fc.oneof(
    fc.record({ op: fc.constant('state' as const), dest: fc.constantFrom('erp', 'other'), key: fc.integer({ min: 0, max: 3 }), time: fc.integer({ min: 1, max: 50 }) }),
    fc.record({ op: fc.constant('fact' as const), dest: fc.constantFrom('erp', 'other'), key: fc.integer({ min: 0, max: 6 }) }),
    fc.record({ op: fc.constant('claim' as const), dest: fc.constantFrom('erp', 'other'), limit: fc.integer({ min: 1, max: 4 }), results: fc.array(fc.constantFrom('delivered', 'dead', 'retry', 'release', 'keep'), { minLength: 4, maxLength: 4 }) }),
    fc.record({ op: fc.constantFrom('replay' as const, 'discard' as const, 'mark' as const, 'recover' as const, 'prune' as const) }),
  );

  it('status reads the same counts and oldest waiting age as counting the outbox, through any sequence of writes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
        const s = open();
        let now = Date.now();
        for (const st of steps) {
          now += 1000;
          if (st.op === 'state') await commit(s, [{ destination: st.dest, operation: 'location.update', kind: 'state', businessKey: `A${st.key}`, erpAssetId: `A${st.key}`, eventTime: st.time, payload: { at: st.time } }]);
          else if (st.op === 'fact') await commit(s, [{ ...wo(`A1|hot|${st.key}`), destination: st.dest }]);
          else if (st.op === 'claim') {
            const claimed = await s.claimDue(st.dest, now + 10 * DAY, st.limit, new Set());
            const outcomes = claimed.flatMap((d, i): AttemptOutcome[] => {
              const r = st.results[i % st.results.length];
              if (r === 'delivered') return [{ id: d.id, result: r }];
              if (r === 'dead') return [{ id: d.id, result: r, error: 'refused' }];
              if (r === 'retry') return [{ id: d.id, result: r, nextAttemptAt: now, error: 'timeout' }];
              if (r === 'release') return [{ id: d.id, result: r, nextAttemptAt: now }];
              return []; // left in flight
            });
            await s.completeAttempts(outcomes, [], now);
          } else if (st.op === 'replay') await s.replayDead('all', now);
          else if (st.op === 'discard') await s.discardDead('all', now);
          else if (st.op === 'mark') await s.markDelivered((await s.listDeliveries({ status: 'dead', limit: 100 })).map((d) => d.id), now);
          else if (st.op === 'recover') await s.recoverInflight();
          else await pruneAll(s, { deliveredBefore: now + DAY, deliveredFactsBefore: now + DAY });
          // Retention's deleted rows stay counted as delivered (a counter of their own).
          const pruned = (destination: string) => (s.db.prepare(`SELECT value FROM counters WHERE name = ?`).pluck().get(`delivered_pruned:${destination}`) as number | undefined) ?? 0;
          const expected = countedStats(s, now).map((d) => ({ ...d, delivered: d.delivered + pruned(d.destination) }));
          const listed = await s.outboxStats(now);
          expect(listed.filter((d) => expected.some((e) => e.destination === d.destination))).toEqual(expected);
          // A destination whose every row retention deleted is still listed, with what it delivered.
          for (const d of listed.filter((x) => !expected.some((e) => e.destination === x.destination))) expect(d).toEqual({ destination: d.destination, pending: 0, inflight: 0, delivered: pruned(d.destination), dead: 0, oldestPendingAgeMs: 0 });
        }
      }),
      { numRuns: 60 },
    );
  });

  it('a store upgraded from the version before starts from the rows it holds', async () => {
    const { path, raw } = storeBefore(10);
    const row = raw.prepare(
      `INSERT INTO outbox (destination, operation, business_key, kind, erp_asset_id, event_time, payload, idempotency_key, status, created_at, updated_at, next_attempt_at)
       VALUES ('erp', 'workorder.create', ?, 'fact', 'A1', 1, '{}', ?, ?, ?, 0, 0)`,
    );
    row.run('k1', 'i1', 'delivered', 100);
    row.run('k2', 'i2', 'pending', 200);
    row.run('k3', 'i3', 'dead', 300);
    raw.close();
    const s = new SqliteStore({ path, commitInWorker: false });
    stores.push(s);
    expect(await s.outboxStats(1200)).toEqual([{ destination: 'erp', pending: 1, inflight: 0, delivered: 1, dead: 1, oldestPendingAgeMs: 1000 }]);
    await commit(s, [wo('A1|hot|9')]);
    expect(await s.outboxStats(1200)).toMatchObject([{ destination: 'erp', pending: 2 }]);
  });
});

// Was: each new fact's key was looked up among the pruned ones, also where retention of delivered
// facts is off and none ever was. Now only once one was; the ones pruned are honoured as before.
describe('facts whose keys retention pruned', () => {
  const now = Date.now() + DAY;
  const queued = (s: SqliteStore, key: string) => s.db.prepare(`SELECT count(*) FROM outbox WHERE kind = 'fact' AND business_key = ?`).pluck().get(key) as number;
  /** k1 and k2 delivered 10 days ago and pruned (k3, the newest row, stays), by `pruner`. */
  const pruneTwo = async (s: SqliteStore, pruner: SqliteStore = s) => {
    await commit(s, [wo('k1'), wo('k2')]);
    const claimed = await s.claimDue('erp', now, 100, new Set());
    await s.completeAttempts(claimed.map((d) => ({ id: d.id, result: 'delivered' as const })), [], now - 10 * DAY);
    await commit(s, [wo('k3')]);
    expect(await pruneAll(pruner, { deliveredFactsBefore: now - 7 * DAY })).toMatchObject({ deliveredFacts: 2 });
    expect([queued(s, 'k1'), queued(s, 'k2')]).toEqual([0, 0]);
  };

  it('are not queued again when pruned in this process (the commit worker\'s connection beside the pruning one)', async () => {
    const s = open();
    await pruneTwo(s);
    await commit(s, [wo('k1'), wo('k4'), wo('k2')]); // a replay, and one new fact
    expect([queued(s, 'k1'), queued(s, 'k2'), queued(s, 'k4')]).toEqual([0, 0, 1]);
  });

  it('are not queued again by a store opened with keys already pruned', async () => {
    const s = open();
    await pruneTwo(s);
    const path = s.db.name;
    await stores.splice(stores.indexOf(s), 1)[0]?.close();
    const reopened = new SqliteStore({ path, synchronous: 'normal' });
    stores.push(reopened);
    await commit(reopened, [wo('k2'), wo('k5')]);
    expect([queued(reopened, 'k2'), queued(reopened, 'k5')]).toEqual([0, 1]);
  });

  it('are not queued again when another process pruned them after this one had committed facts (store prune beside the service)', async () => {
    const service = open(); // commits its facts (pruneTwo's) while nothing is pruned yet
    const pruneCommand = new SqliteStore({ path: service.db.name, synchronous: 'normal', commitInWorker: false });
    stores.push(pruneCommand);
    await pruneTwo(service, pruneCommand);
    await commit(service, [wo('k1'), wo('k2'), wo('k6')]);
    expect([queued(service, 'k1'), queued(service, 'k2'), queued(service, 'k6')]).toEqual([0, 0, 1]);
  });

  it('are looked up only once any key was pruned: never per fact before', () => {
    const s = open();
    const stmts = prepareIngestStatements(s.db);
    let lookups = 0;
    const real = stmts.factPruned;
    Object.assign(stmts, { factPruned: { get: (...args: unknown[]) => (lookups++, real.get(...args)) } });
    const apply = (keys: string[]) => applyIngestCommit(s.db, stmts, prepareCommit({ states: [], deliveries: keys.map(wo), quarantine: [], accepted: keys.length }), now);
    apply(['n1', 'n2', 'n3']);
    expect(lookups).toBe(0);
    s.db.prepare(`INSERT INTO outbox_pruned_fact (destination, operation, business_key, pruned_at) VALUES ('erp', 'workorder.create', 'gone', 1)`).run();
    apply(['n4', 'gone', 'n5']);
    expect(lookups).toBe(3);
    expect([queued(s, 'gone'), queued(s, 'n4')]).toEqual([0, 1]);
  });
});
