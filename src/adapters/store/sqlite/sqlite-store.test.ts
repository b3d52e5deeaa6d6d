import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DeliveryIntent, OutboxItem } from '../../../core/model/delivery.js';
import { schemaVersionOf, storeBefore, tempStore, tempStorePath } from '../../../../test/helpers/temp-store.js';
import type { AuditRecord } from '../../../ports/store.js';
import { pruneAll } from '../../../engine/retention.js';
import { coalesceStates } from '../../../engine/ingestor.js';
import { NotAStoreError, PRUNABLE_AUDIT, SqliteStore, StoreOutdatedError } from './sqlite-store.js';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

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

describe('SqliteStore outbox', () => {
  it('coalesces pending state updates to the newest event time, never to an older one', async () => {
    const s = open();
    await commit(s, [loc(100, 'A'), loc(300, 'C'), loc(200, 'B')]);
    const pending = await s.listDeliveries({ status: 'pending' });
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ eventTime: 300, payload: { warehouseLocation: 'C' } });
  });

  it('lists deliveries by operation', async () => {
    const s = open();
    await commit(s, [loc(100, 'A'), wo('W1'), wo('W2')]);
    expect((await s.listDeliveries({ operation: 'workorder.create' })).map((d) => d.businessKey).sort()).toEqual(['W1', 'W2']);
    expect((await s.listDeliveries({ operation: 'location.update', status: 'pending' })).map((d) => d.businessKey)).toEqual(['A1']);
    expect(await s.listDeliveries({ operation: 'usage.post' })).toEqual([]);
    // Several statuses in one read.
    const [claimed] = (await s.claimDue('erp', Date.now() + 1000, 10, new Set())).filter((d) => d.businessKey === 'W1');
    expect(claimed).toBeDefined();
    await s.completeAttempts([{ id: claimed?.id ?? 0, result: 'dead', error: '400' }], [], Date.now());
    const of = async (status: OutboxItem['status'][]) => (await s.listDeliveries({ status, operation: 'workorder.create' })).map((d) => `${d.businessKey}:${d.status}`);
    expect(await of(['pending', 'inflight', 'dead'])).toEqual(['W2:inflight', 'W1:dead']);
    expect(await of(['dead'])).toEqual(['W1:dead']);
    expect(await of(['pending', 'delivered'])).toEqual([]);
    expect(await s.listDeliveries({ status: [], operation: 'workorder.create' })).toHaveLength(2);
  });

  it('at one event time the value enqueued later wins, as an ingest batch keeps it: one commit, a commit each, or coalesced first', async () => {
    const zones = async (s: SqliteStore) => (await s.listDeliveries({ status: 'pending' })).filter((d) => d.businessKey === 'A1').map((d) => d.payload.warehouseLocation);
    const [a, b] = [loc(100, 'A'), loc(100, 'B')];
    const together = open();
    await commit(together, [a, b]);
    // Both in one multi-row statement (64 rows).
    const chunked = open();
    await commit(chunked, [a, b, ...Array.from({ length: 62 }, (_, i) => loc(1, 'X', `K${i}`))]);
    expect(await zones(chunked)).toEqual(['B']);
    const apart = open();
    await commit(apart, [a]);
    await commit(apart, [b]);
    const coalesced = open();
    await commit(coalesced, [...coalesceStates([a, b])]);
    expect(coalesceStates([a, b])).toEqual([b]);
    expect(await zones(together)).toEqual(['B']);
    expect(await zones(apart)).toEqual(['B']);
    expect(await zones(coalesced)).toEqual(['B']);
  });

  it('any split of the same state values into commits leaves the value the whole batch keeps pending (newest event time, then the later one)', async () => {
    const value = fc.record({ t: fc.integer({ min: 1, max: 3 }), zone: fc.constantFrom('A', 'B', 'C') });
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 4 }), async (values, cuts) => {
        const all = values.map((v) => loc(v.t, v.zone));
        const at = [...new Set([0, ...cuts.map((c) => c % all.length), all.length])].sort((x, y) => x - y);
        const s = new SqliteStore({ path: ':memory:' });
        try {
          for (let i = 0; i + 1 < at.length; i++) await commit(s, all.slice(at[i], at[i + 1]));
          const pending = (await s.listDeliveries({ status: 'pending' })).map((d) => [d.eventTime, d.payload]);
          expect(pending).toEqual(coalesceStates(all).map((d) => [d.eventTime, d.payload]));
        } finally {
          await s.close();
        }
      }),
      { numRuns: 100 },
    );
  });

  it('a newer value replacing a pending one sets when the row\'s value was queued; the key keeps when it went pending', async () => {
    const s = open();
    await commit(s, [loc(100, 'A')]);
    s.db.prepare('UPDATE outbox SET created_at = created_at - 60000, enqueued_at = enqueued_at - 60000').run(); // queued a minute ago
    const [first] = await s.listDeliveries({});
    const before = Date.now();
    await commit(s, [loc(50, 'older')]); // an older value replaces nothing
    expect(await s.getDelivery(first!.id)).toMatchObject({ payload: { warehouseLocation: 'A' }, enqueuedAt: first!.enqueuedAt });
    await commit(s, [loc(200, 'B')]);
    const row = await s.getDelivery(first!.id);
    expect(row).toMatchObject({ payload: { warehouseLocation: 'B' }, createdAt: first!.createdAt });
    expect(row!.enqueuedAt).toBeGreaterThanOrEqual(before);
    expect(first!.enqueuedAt).toBe(first!.createdAt);
  });

  it('never coalesces or duplicates facts', async () => {
    const s = open();
    await commit(s, [wo('A1|temp|1'), wo('A1|temp|2'), wo('A1|temp|1')]);
    await commit(s, [wo('A1|temp|1')]); // a replay
    const rows = await s.listDeliveries({});
    expect(rows.map((r) => r.businessKey).sort()).toEqual(['A1|temp|1', 'A1|temp|2']);
    // Counted once each: what went into the outbox, not what was offered.
    expect((await s.counters()).factsEnqueued).toEqual({ 'workorder.create': 2 });
  });

  it('claims skip busy keys, and a retried state update is superseded by a newer one', async () => {
    const s = open();
    await commit(s, [loc(100, 'A')]);
    const [first] = await s.claimDue('erp', Date.now(), 10, new Set());
    expect(first).toBeDefined();
    await commit(s, [loc(200, 'B')]); // arrives while the first is in flight
    expect(await s.claimDue('erp', Date.now(), 10, new Set(['location.update\u001fA1']))).toEqual([]);
    await s.completeAttempts([{ id: first!.id, result: 'retry', nextAttemptAt: 0, error: 'timeout' }], [], Date.now());
    const all = await s.listDeliveries({});
    expect(all.find((r) => r.id === first!.id)?.status).toBe('superseded');
    expect(all.filter((r) => r.status === 'pending').map((r) => r.eventTime)).toEqual([200]);
  });

  it('facts of one sequence are claimed in order: a later one waits while an earlier one is pending or in flight', async () => {
    const s = open();
    const count = (r: number, cell = 'WH-1|SKU-1'): DeliveryIntent => ({
      destination: 'erp',
      operation: 'inventory.count',
      kind: 'fact',
      businessKey: `${cell}|r${r}`,
      sequence: cell,
      erpAssetId: 'SKU-1',
      eventTime: r,
      payload: { countedQuantity: 40 - r },
    });
    await commit(s, [count(1), count(1, 'WH-2|SKU-1'), wo('A1|hot|1')]);
    const first = await s.claimDue('erp', Date.now(), 10, new Set());
    expect(first.map((i) => i.businessKey).sort()).toEqual(['A1|hot|1', 'WH-1|SKU-1|r1', 'WH-2|SKU-1|r1']);
    expect(first.find((i) => i.businessKey === 'WH-1|SKU-1|r1')?.sequence).toBe('WH-1|SKU-1');
    // r1 of WH-1 fails and waits for its retry; r2 (a newer total) is enqueued and due now.
    const r1 = first.find((i) => i.businessKey === 'WH-1|SKU-1|r1')!;
    await s.completeAttempts([{ id: r1.id, result: 'retry', nextAttemptAt: Date.now() + 60_000, error: 'timeout' }], [], Date.now());
    await commit(s, [count(2), count(2, 'WH-2|SKU-1')]);
    const now = Date.now();
    // WH-2's r1 is still in flight, WH-1's r1 is pending: neither r2 may overtake it.
    expect(await s.claimDue('erp', now, 10, new Set())).toEqual([]);
    const r1Again = await s.claimDue('erp', now + 61_000, 10, new Set());
    expect(r1Again.map((i) => i.businessKey)).toEqual(['WH-1|SKU-1|r1']);
    await s.completeAttempts([{ id: r1Again[0]!.id, result: 'delivered' }], [], now);
    expect((await s.claimDue('erp', now + 61_000, 10, new Set())).map((i) => i.businessKey)).toEqual(['WH-1|SKU-1|r2']);
    // A dead one no longer holds the rest of its sequence.
    const wh2 = first.find((i) => i.businessKey === 'WH-2|SKU-1|r1')!;
    await s.completeAttempts([{ id: wh2.id, result: 'dead', error: '422 unknown bin' }], [], now);
    expect((await s.claimDue('erp', now + 61_000, 10, new Set())).map((i) => i.businessKey)).toEqual(['WH-2|SKU-1|r2']);
  });

  it('a retried first fact of a sequence is claimed even when its later ones are due before it (claims of one)', async () => {
    const s = open();
    const count = (r: number): DeliveryIntent => ({
      destination: 'erp',
      operation: 'inventory.count',
      kind: 'fact',
      businessKey: `WH-1|SKU-1|r${r}`,
      sequence: 'WH-1|SKU-1',
      erpAssetId: 'SKU-1',
      eventTime: r,
      payload: { countedQuantity: r },
    });
    await commit(s, [count(1)]);
    const [r1] = await s.claimDue('erp', Date.now(), 1, new Set());
    const now = Date.now();
    await s.completeAttempts([{ id: r1!.id, result: 'retry', nextAttemptAt: now + 1000, error: 'timeout' }], [], now);
    await commit(s, [count(2), count(3), count(4)]); // due at once, before r1's retry
    // One at a time, as a destination without batching claims: r1 when due, then the rest in order.
    expect(await s.claimDue('erp', now + 500, 1, new Set())).toEqual([]);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const [next] = await s.claimDue('erp', now + 2000, 1, new Set());
      if (!next) break;
      order.push(next.businessKey);
      await s.completeAttempts([{ id: next.id, result: 'delivered' }], [], now);
    }
    expect(order).toEqual(['WH-1|SKU-1|r1', 'WH-1|SKU-1|r2', 'WH-1|SKU-1|r3', 'WH-1|SKU-1|r4']);
  });

  it('replaying two dead values of one state key leaves the newest pending and supersedes the older', async () => {
    const s = open();
    await commit(s, [loc(100, 'A')]);
    const [a] = await s.claimDue('erp', Date.now(), 10, new Set());
    await s.completeAttempts([{ id: a!.id, result: 'dead', error: '400' }], [], Date.now());
    await commit(s, [loc(200, 'B')]);
    const [b] = await s.claimDue('erp', Date.now(), 10, new Set());
    await s.completeAttempts([{ id: b!.id, result: 'dead', error: '400' }], [], Date.now());
    expect(await s.replayDead('all', Date.now())).toBe(2);
    const rows = await s.listDeliveries({});
    expect(rows.map((r) => [r.eventTime, r.status]).sort()).toEqual([
      [100, 'superseded'],
      [200, 'pending'],
    ]);
  });

  it('a dead value replayed at the event time of a delivered one is sent when it was enqueued after it (a batch holding both keeps it), else superseded', async () => {
    const s = open();
    const deliverThenKill = async (first: DeliveryIntent, second: DeliveryIntent) => {
      await commit(s, [first]);
      const [x] = await s.claimDue('erp', later(), 10, new Set());
      await s.completeAttempts([{ id: x!.id, result: 'delivered' }], [], Date.now());
      await commit(s, [second]);
      const [y] = await s.claimDue('erp', later(), 10, new Set());
      await s.completeAttempts([{ id: y!.id, result: 'dead', error: '400' }], [], Date.now());
      return y!.id;
    };
    const killThenDeliver = async (first: DeliveryIntent, second: DeliveryIntent) => {
      await commit(s, [first]);
      const [x] = await s.claimDue('erp', later(), 10, new Set());
      await s.completeAttempts([{ id: x!.id, result: 'dead', error: '400' }], [], Date.now());
      await commit(s, [second]);
      const [y] = await s.claimDue('erp', later(), 10, new Set());
      await s.completeAttempts([{ id: y!.id, result: 'delivered' }], [], Date.now());
      return x!.id;
    };
    const enqueuedLater = await deliverThenKill(loc(100, 'A', 'A1'), loc(100, 'B', 'A1'));
    const enqueuedEarlier = await killThenDeliver(loc(100, 'A', 'A2'), loc(100, 'B', 'A2'));
    await s.replayDead([enqueuedLater, enqueuedEarlier], Date.now());
    expect((await s.getDelivery(enqueuedLater))?.status).toBe('pending');
    expect((await s.getDelivery(enqueuedEarlier))?.status).toBe('superseded');
  });

  it('a dead state value replayed after a newer value of its key was queued is superseded; the newer one stays pending', async () => {
    const s = open();
    await commit(s, [loc(100, 'A')]);
    const [old] = await s.claimDue('erp', later(), 10, new Set());
    await s.completeAttempts([{ id: old!.id, result: 'dead', error: '422 invalid plant' }], [], Date.now());
    await commit(s, [loc(200, 'B')]); // queued after the older one died: a row of its own
    await s.replayDead([old!.id], Date.now());
    expect((await s.getDelivery(old!.id))?.status).toBe('superseded');
    expect((await s.claimDue('erp', later(), 10, new Set())).map((d) => d.payload.warehouseLocation)).toEqual(['B']);
  });

  it('recovers in-flight rows after a crash with the same idempotency key', async () => {
    const path = tempStorePath();
    const s1 = new SqliteStore({ path });
    await commit(s1, [wo('K1')]);
    const [claimed] = await s1.claimDue('erp', Date.now(), 1, new Set());
    await s1.close(); // "crash" with the row in flight
    const s2 = new SqliteStore({ path });
    stores.push(s2);
    expect(await s2.recoverInflight()).toBe(1);
    const [again] = await s2.claimDue('erp', Date.now(), 1, new Set());
    expect(again?.id).toBe(claimed?.id);
    expect(again?.idempotencyKey).toBe(claimed?.idempotencyKey);
  });

  it('dead letters replay with attempts reset and the same key; discard deletes', async () => {
    const s = open();
    await commit(s, [wo('K1'), wo('K2')]);
    const claimed = await s.claimDue('erp', Date.now(), 10, new Set());
    await s.completeAttempts(claimed.map((c) => ({ id: c.id, result: 'dead' as const, error: '422 invalid plant' })), [], Date.now());
    const dead = await s.listDeliveries({ status: 'dead' });
    expect(dead.map((d) => d.lastError)).toEqual(['422 invalid plant', '422 invalid plant']);
    const replayedAt = Date.now() + 3 * 86_400_000; // days later: older than retry.maxAgeMs by then
    expect(await s.replayDead([dead[0]!.id], replayedAt)).toBe(1);
    const replayed = await s.getDelivery(dead[0]!.id);
    // Its max age counts from the replay, so it gets its attempts, not one before giving up again.
    expect(replayed).toMatchObject({ status: 'pending', attempts: 0, idempotencyKey: dead[0]!.idempotencyKey, enqueuedAt: replayedAt, createdAt: dead[0]!.createdAt });
    expect(await s.discardDead('all', Date.now())).toBe(1);
    expect((await s.outboxStats(Date.now()))[0]).toMatchObject({ pending: 1, dead: 0 });
  });

  // A dead letter was due at the replay: one whose last request may still land could be at the ERP twice at once.
  it('replayDead: a dead letter is due when dueAt says, told when its last attempt ended (not a change made by hand), never before the replay', async () => {
    const s = open();
    await commit(s, [wo('K1'), wo('K2')]);
    const [a, b] = await s.claimDue('erp', Date.now(), 10, new Set());
    if (!a || !b) throw new Error('nothing claimed');
    const attempt = (id: number, at: number, outcome: string): AuditRecord => ({ at, deliveryId: id, destination: 'erp', operation: 'workorder.create', erpAssetId: 'A1', idempotencyKey: 'k', attempt: 1, latencyMs: 1, outcome });
    await s.completeAttempts([{ id: a.id, result: 'dead', error: 'timeout', mayHaveLanded: true }, { id: b.id, result: 'dead', error: 'timeout', mayHaveLanded: true }], [attempt(a.id, 1_000, 'retry'), attempt(a.id, 2_000, 'dead'), attempt(b.id, 1_500, 'dead')], 2_000);
    await s.editDeadPayload(a.id, { title: 'edited' }, 50_000); // by hand, later: no request
    const told: [number, number][] = [];
    expect(await s.replayDead([a.id, b.id], 60_000, (item, lastAttemptAt) => (told.push([item.id, lastAttemptAt]), item.id === a.id ? lastAttemptAt + 120_000 : lastAttemptAt + 1_000))).toBe(2);
    expect(told).toEqual([[a.id, 2_000], [b.id, 1_500]]);
    expect(await s.getDelivery(a.id)).toMatchObject({ status: 'pending', nextAttemptAt: 122_000 });
    expect(await s.getDelivery(b.id)).toMatchObject({ status: 'pending', nextAttemptAt: 60_000 }); // its time passed: due at the replay
    expect(await s.claimDue('erp', 121_999, 10, new Set())).toEqual([expect.objectContaining({ id: b.id }) as unknown]);
  });

  it('a discarded dead fact keeps its key: the same fact offered again is not queued again; retention deletes it like a delivered one', async () => {
    const s = open();
    await commit(s, [wo('A1|hot|1'), wo('A1|hot|2')]);
    const [first] = await s.claimDue('erp', Date.now(), 1, new Set());
    await s.completeAttempts([{ id: first!.id, result: 'dead', error: '422 invalid plant' }], [], Date.now());
    expect(await s.discardDead([first!.id], Date.now())).toBe(1);
    expect((await s.getDelivery(first!.id))?.status).toBe('discarded');
    await commit(s, [wo(first!.businessKey)]); // replayed by the rules, or posted again by hand
    expect((await s.listDeliveries({})).filter((d) => d.businessKey === first!.businessKey).map((d) => d.status)).toEqual(['discarded']);
    expect((await s.outboxStats(Date.now()))[0]).toMatchObject({ pending: 1, dead: 0, delivered: 0 });
    // Facts go only with deliveredFacts retention, and are not counted as delivered when they do.
    expect((await s.prune({ deliveredFactsBefore: Date.now() + 1 }, 100)).deliveredFacts).toBe(1);
    expect((await s.outboxStats(Date.now()))[0]).toMatchObject({ delivered: 0 });
  });

  it('keeps quarantined payloads byte for byte, text or binary', async () => {
    const s = open();
    const bytes = new Uint8Array([0xff, 0x00, 0xfe, 0x41]);
    await s.commitIngest({
      states: [],
      deliveries: [],
      accepted: 0,
      quarantine: [
        { source: 'mqtt:x', channel: 't/1', payload: bytes, receivedAt: 5, code: 'undecodable', reason: 'payload is not JSON' },
        { source: 'http', channel: '/v1/events', payload: '{"lat":"x"}', receivedAt: 6, code: 'invalid', reason: 'lat must be a number' },
      ],
    });
    const rows = await s.listQuarantine({ status: 'open' });
    expect(rows[0]?.payload).toEqual(bytes);
    expect(rows[1]?.payload).toBe('{"lat":"x"}');
    expect(await s.counters()).toMatchObject({ quarantined: 2, quarantineOpen: 2 });
    await s.markQuarantine([rows[0]!.id], 'replayed');
    expect(await s.listQuarantine({ status: 'open' })).toHaveLength(1);
    // The all-time count stays; the open count follows the entries.
    expect(await s.counters()).toMatchObject({ quarantined: 2, quarantineOpen: 1 });
    // Counted by status and code without reading them (`assets import` names the open unknown-asset ones).
    expect([await s.countQuarantine({}), await s.countQuarantine({ status: 'open' }), await s.countQuarantine({ status: 'open', code: 'invalid' }), await s.countQuarantine({ status: 'open', code: 'undecodable' })]).toEqual([2, 1, 1, 0]);
  });

  it('keeps a retained message set aside once: its copies the broker sends again count on its entry; a changed payload, a live message, or one replayed since is a new entry', async () => {
    const s = open();
    const bad = (payload: string | Uint8Array, extra: object = { resent: true }) => ({ source: 'mqtt:yard', channel: 'yard/a1/t', payload, receivedAt: 1, code: 'undecodable' as const, reason: 'payload is not JSON', ...extra });
    const quarantine = (...entries: ReturnType<typeof bad>[]) => s.commitIngest({ states: [], deliveries: [], accepted: 0, quarantine: entries });
    await quarantine(bad('{oops'));
    // The next two starts resend it (twice in one batch counts twice); the same bytes as binary are another message.
    await quarantine(bad('{oops'));
    await quarantine(bad('{oops'), bad('{oops'));
    await quarantine(bad(new Uint8Array(Buffer.from('{oops'))));
    let rows = await s.listQuarantine({});
    expect(rows.map((r) => [r.payload, r.repeats])).toEqual([
      ['{oops', 3],
      [new Uint8Array(Buffer.from('{oops')), undefined],
    ]);
    expect(await s.counters()).toMatchObject({ quarantined: 2, quarantineOpen: 2, quarantineRepeats: 3 });
    // Loses nothing: a changed payload, another topic, or the same bytes published live are new entries.
    await quarantine(bad('{oops2'), { ...bad('{oops'), channel: 'yard/a2/t' }, bad('{oops', {}));
    rows = await s.listQuarantine({});
    expect(rows).toHaveLength(5);
    expect(rows.slice(2).map((r) => [r.channel, r.payload, r.repeats])).toEqual([
      ['yard/a1/t', '{oops2', undefined],
      ['yard/a2/t', '{oops', undefined],
      ['yard/a1/t', '{oops', undefined],
    ]);
    // Discarded by the operator: still held, so its copy is counted there, not opened again.
    const first = rows[0]!.id;
    await s.markQuarantine(rows.filter((r) => r.channel === 'yard/a1/t' && r.payload === '{oops').map((r) => r.id), 'discarded');
    await quarantine(bad('{oops'));
    expect(await s.countQuarantine({ status: 'open' })).toBe(3);
    expect((await s.counters()).quarantineRepeats).toBe(4);
    // Replayed (and taken, after a fix): a copy set aside later is a new entry, its fate not decided yet.
    await s.markQuarantine([rows[2]!.id], 'replayed');
    await quarantine(bad('{oops2'));
    expect((await s.listQuarantine({ status: 'open' })).map((r) => r.payload)).toContain('{oops2');
    expect((await s.listQuarantine({ ids: [first] }))[0]?.repeats).toBe(3);
    expect(await s.counters()).toMatchObject({ quarantined: 6, quarantineRepeats: 4 });
  });

  it('tells a copy of a record its source lists again by its version when it has one (a polled work order): other bytes of that version count on its entry, another version is a new entry; an entry kept by its bytes takes its version at its first identical copy', async () => {
    // Mutation: copies told by their bytes alone (a polled record stamped at each listing kept again at every poll); or the version ignored for an entry kept before.
    const s = open();
    const wo = (payload: string, version?: string) => ({ source: 'erp-feedback:erp', channel: 'workorders/erp', payload, receivedAt: 1, code: 'invalid' as const, reason: 'unknown status "Fertig"', resent: true as const, ...(version !== undefined ? { version } : {}) });
    const quarantine = (...entries: ReturnType<typeof wo>[]) => s.commitIngest({ states: [], deliveries: [], accepted: 0, quarantine: entries });
    const v1 = JSON.stringify(['WO-1', 'EQ-1|svc|250h@b0', 'Fertig', 1]);
    // Kept before versions were (by its bytes); then listed again, the same bytes, with its version.
    await quarantine(wo('{"id":"WO-1","status":"Fertig"}'));
    await quarantine(wo('{"id":"WO-1","status":"Fertig"}', v1));
    // The same version in other bytes (its fields in another order, stamped when listed): counted on it too.
    await quarantine(wo('{"status":"Fertig","id":"WO-1","listedAt":"2026-12-06T02:00:00Z"}', v1), wo('{"id":"WO-1","status":"Fertig","listedAt":"2026-12-06T02:01:00Z"}', v1));
    let rows = await s.listQuarantine({});
    expect(rows.map((r) => [r.payload, r.repeats])).toEqual([['{"id":"WO-1","status":"Fertig"}', 3]]);
    // Another version (a new change time): a new entry.
    await quarantine(wo('{"id":"WO-1","status":"Fertig","at":2}', JSON.stringify(['WO-1', 'EQ-1|svc|250h@b0', 'Fertig', 2])));
    rows = await s.listQuarantine({});
    expect(rows.map((r) => r.repeats)).toEqual([3, undefined]);
  });

  it('says which messages quarantine holds as a commit would count a copy of them: by version or bytes, the latest entry open or discarded; not once it was replayed', async () => {
    // Mutation: held told otherwise than the commit counts (any entry of the bytes, a replayed one too; the version ignored).
    const s = open();
    const wo = (payload: string, version?: string) => ({ source: 'erp-feedback:erp', channel: 'workorders/erp', payload, ...(version !== undefined ? { version } : {}) });
    const keep = (...entries: ReturnType<typeof wo>[]) => s.commitIngest({ states: [], deliveries: [], accepted: 0, quarantine: entries.map((e) => ({ ...e, receivedAt: 1, code: 'invalid' as const, reason: 'unknown status "Fertig"', resent: true as const })) });
    const v1 = JSON.stringify(['WO-1', 'EQ-1|svc|250h@b0', 'Fertig', 1]);
    const listed = (at: string) => wo(`{"id":"WO-1","status":"Fertig","listedAt":"${at}"}`, v1);
    const noVersion = wo('{"status":"Fertig"}');
    expect(await s.quarantineHolds([])).toEqual([]);
    expect(await s.quarantineHolds([listed('a'), noVersion])).toEqual([false, false]);
    await keep(listed('a'), noVersion);
    // The same version in other bytes, the same bytes without one: held; another version, another channel, other bytes: not.
    expect(await s.quarantineHolds([listed('b'), noVersion, wo('{"id":"WO-1"}', JSON.stringify(['WO-1', 'EQ-1|svc|250h@b0', 'Fertig', 2])), { ...listed('b'), channel: 'workorders/erp2' }, wo('{"status":"Fertig "}')])).toEqual([true, true, false, false, false]);
    const [first, second] = await s.listQuarantine({});
    await s.markQuarantine([first?.id ?? 0], 'discarded');
    await s.markQuarantine([second?.id ?? 0], 'replayed');
    // Discarded: still held (a copy counts on it); replayed: not (a copy is kept afresh).
    expect(await s.quarantineHolds([listed('c'), noVersion])).toEqual([true, false]);
    await keep(listed('c'), noVersion);
    expect((await s.listQuarantine({})).map((r) => [r.status, r.repeats])).toEqual([
      ['discarded', 1],
      ['replayed', undefined],
      ['open', undefined],
    ]);
  });

  it('asks whether quarantine holds a poll\'s records in one statement per chunk of 500, not one per record, with the same answers', async () => {
    // Was: one query per unreadable polled record (a poll listing 2,000 of them ran 2,000).
    const s = open();
    const record = (n: number) => ({ source: 'erp-feedback:erp', channel: 'workorders/erp', payload: `{"id":"WO-${n}","status":"Fertig"}`, version: JSON.stringify([`WO-${n}`, 'EQ-1|svc|250h@b0', 'Fertig', 1]) });
    const keep = (ns: number[]) => s.commitIngest({ states: [], deliveries: [], accepted: 0, quarantine: ns.map((n) => ({ ...record(n), receivedAt: 1, code: 'invalid' as const, reason: 'unknown status "Fertig"', resent: true as const })) });
    // Every third record kept; the 300th replayed since (no longer held), the 600th discarded (still held).
    const kept = Array.from({ length: 1200 }, (_, n) => n).filter((n) => n % 3 === 0);
    await keep(kept);
    const ids = new Map((await s.listQuarantine({ limit: 5000 })).map((r) => [r.payload, r.id]));
    await s.markQuarantine([ids.get(record(300).payload) ?? 0], 'replayed');
    await s.markQuarantine([ids.get(record(600).payload) ?? 0], 'discarded');
    // Listed again in other bytes of the same version: told by it.
    const asked = Array.from({ length: 1200 }, (_, n) => ({ ...record(n), payload: `{"status":"Fertig","id":"WO-${n}","listedAt":"b"}` }));
    let statements = 0;
    const prepare = s.db.prepare.bind(s.db);
    const spy = vi.spyOn(s.db, 'prepare').mockImplementation((sql: string) => {
      const stmt = prepare(sql);
      for (const run of ['get', 'all', 'run', 'iterate'] as const) {
        const original = stmt[run].bind(stmt) as (...a: unknown[]) => unknown;
        Object.assign(stmt, { [run]: (...a: unknown[]) => (statements++, original(...a)) });
      }
      return stmt;
    });
    const held = await s.quarantineHolds(asked);
    spy.mockRestore();
    expect(statements).toBe(3); // 1,200 records: 500 + 500 + 200
    expect(held).toEqual(asked.map((_, n) => n % 3 === 0 && n !== 300));
  });

  it('counts a copy on the latest entry of its message only: when that one was replayed since, an older open entry of the same bytes (another message) does not take it', async () => {
    // Bug: the newest entry still open or discarded took the copy, so with the latest replayed, a
    // redelivery (DUP) was counted on an earlier message's entry instead of being set aside afresh.
    const s = open();
    const bad = (extra: object = { resent: true }) => ({ source: 'mqtt:yard', channel: 'yard/a1/t', payload: '{oops', receivedAt: 1, code: 'undecodable' as const, reason: 'payload is not JSON', ...extra });
    const quarantine = (...entries: ReturnType<typeof bad>[]) => s.commitIngest({ states: [], deliveries: [], accepted: 0, quarantine: entries });
    await quarantine(bad({})); // a device's message, set aside
    await quarantine(bad({})); // the same bytes published live again later: another message, its own entry
    const [older, latest] = (await s.listQuarantine({})).map((r) => r.id) as [number, number];
    await s.markQuarantine([latest], 'replayed'); // taken after a fix
    await quarantine(bad()); // the broker redelivers the later message, and it is set aside again
    const rows = await s.listQuarantine({});
    expect(rows.map((r) => [r.id === older ? 'older' : r.id === latest ? 'latest' : 'new', r.status, r.repeats])).toEqual([
      ['older', 'open', undefined],
      ['latest', 'replayed', undefined],
      ['new', 'open', undefined],
    ]);
    expect((await s.counters()).quarantineRepeats).toBe(0);
    // Its next copy counts on the new entry, the latest.
    await quarantine(bad());
    expect((await s.listQuarantine({})).map((r) => r.repeats)).toEqual([undefined, undefined, 1]);
  });

  it('reads quarantine entries by id, with the other filters', async () => {
    const s = open();
    const entry = (n: number) => ({ source: 'http', channel: '/v1/events', payload: `{"n":${n}}`, receivedAt: n, code: 'invalid' as const, reason: 'r' });
    await s.commitIngest({ states: [], deliveries: [], accepted: 0, quarantine: [entry(1), entry(2), entry(3)] });
    const [a, b, c] = (await s.listQuarantine({})).map((r) => r.id) as [number, number, number];
    expect((await s.listQuarantine({ ids: [c, a, 999] })).map((r) => r.payload)).toEqual(['{"n":1}', '{"n":3}']);
    await s.markQuarantine([a], 'discarded');
    expect((await s.listQuarantine({ status: 'open', ids: [a, b] })).map((r) => r.id)).toEqual([b]);
    expect(await s.listQuarantine({ ids: [] })).toEqual([]);
  });

  it('stores identity with identifiers and round-trips state and kv', async () => {
    const s = open();
    await s.upsertAssets([{ asset: { erpAssetId: 'A1', erpModule: 'fixed-assets', attributes: { site: 'P1' } }, identifiers: [{ type: 'tag', value: ' Tag-1 ', erpAssetId: 'A1' }] }]);
    expect(await s.listAssets()).toEqual([{ asset: { erpAssetId: 'A1', erpModule: 'fixed-assets', attributes: { site: 'P1' } }, identifiers: [{ type: 'tag', value: 'Tag-1', erpAssetId: 'A1' }] }]);
    await s.commitIngest({ states: [{ erpAssetId: 'A1', doc: { location: { z: 1 } } }], deliveries: [], quarantine: [], accepted: 1 });
    expect((await s.loadStates(['A1', 'nope'])).get('A1')).toEqual({ location: { z: 1 } });
    await s.kvSet('ns', 'k', 'v');
    expect(await s.kvGet('ns', 'k')).toBe('v');
    expect(await s.kvList('ns')).toEqual([{ key: 'k', value: 'v' }]);
  });

  it('adds identifiers by default; with replaceIdentifiers an asset keeps only those listed, and one moved from another asset stays moved', async () => {
    const s = open();
    const asset = (id: string) => ({ erpAssetId: id, erpModule: 'm', attributes: {} });
    const tag = (value: string, erpAssetId: string) => ({ type: 'tag' as const, value, erpAssetId });
    await s.upsertAssets([{ asset: asset('A1'), identifiers: [tag('t1', 'A1'), tag('t2', 'A1')] }, { asset: asset('A2'), identifiers: [tag('t3', 'A2'), tag('t4', 'A2')] }]);
    await s.upsertAssets([{ asset: asset('A1'), identifiers: [tag('t5', 'A1')] }]);
    const ids = async () => (await s.listAssets()).map((a) => [a.asset.erpAssetId, a.identifiers.map((i) => i.value)]);
    expect(await ids()).toEqual([['A1', ['t1', 't2', 't5']], ['A2', ['t3', 't4']]]);
    await s.upsertAssets([{ asset: asset('A1'), identifiers: [tag('t2', 'A1'), tag('t3', 'A1')] }, { asset: asset('A2'), identifiers: [tag('t4', 'A2')] }], { replaceIdentifiers: true });
    expect(await ids()).toEqual([['A1', ['t2', 't3']], ['A2', ['t4']]]);
  });

  it('reads many kv keys of one namespace across several reads, leaving out absent keys and other namespaces (kvGetMany)', async () => {
    const s = open();
    const keys = Array.from({ length: 1234 }, (_, i) => `k${i}`); // two full reads of 500 and a short one
    await s.kvSetMany('ns', keys.filter((_, i) => i % 3 !== 0).map((k) => [k, `v-${k}`] as const));
    await s.kvSet('other', 'k0', 'elsewhere');
    const got = await s.kvGetMany('ns', keys);
    expect(got.size).toBe(keys.filter((_, i) => i % 3 !== 0).length);
    expect(got.get('k0')).toBeUndefined();
    expect(got.get('k1')).toBe('v-k1');
    expect(got.get('k1232')).toBe('v-k1232');
    expect(await s.kvGetMany('ns', [])).toEqual(new Map());
  });

  it('compares and sets many keys in one transaction, each decided alone (kvCompareAndSetMany)', async () => {
    const s = open();
    await s.kvSet('ns', 'a', '1');
    await s.kvSet('ns', 'b', '1');
    const set = await s.kvCompareAndSetMany('ns', [
      { key: 'a', expected: '1', next: '2' }, // holds what was expected: set
      { key: 'b', expected: '0', next: '2' }, // holds something else: left
      { key: 'c', expected: undefined, next: 'new' }, // absent as expected: added
      { key: 'a', expected: '1', next: '3' }, // the first swap already changed it: left
      { key: 'b', expected: '1', next: undefined }, // removed
    ]);
    expect(set).toEqual([true, false, true, false, true]);
    expect(await s.kvList('ns')).toEqual([
      { key: 'a', value: '2' },
      { key: 'c', value: 'new' },
    ]);
    expect(await s.kvCompareAndSetMany('ns', [])).toEqual([]);
  });

  it('records decisions with their deliveries in one transaction: those set enqueue theirs, and a failed enqueue leaves no key set (kvCompareAndSetWithDeliveries)', async () => {
    const path = tempStorePath();
    const s = new SqliteStore({ path, synchronous: 'normal' });
    stores.push(s);
    await s.kvSet('ns', 'b', 'theirs');
    const set = await s.kvCompareAndSetWithDeliveries('ns', [
      { key: 'a', expected: undefined, next: 'mine', deliveries: [wo('A|1')] },
      { key: 'b', expected: undefined, next: 'mine', deliveries: [wo('B|1')] }, // decided by another: its deliveries are not enqueued
    ]);
    expect(set).toEqual([true, false]);
    expect((await s.listDeliveries({ status: 'pending' })).map((d) => d.businessKey)).toEqual(['A|1']);
    expect((await s.counters()).factsEnqueued).toEqual({ 'workorder.create': 1 });
    // The outbox write fails (a full disk, say): the key is not set either.
    const raw = new Database(path);
    raw.exec(`CREATE TRIGGER refuse BEFORE INSERT ON outbox WHEN NEW.business_key = 'C|1' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`);
    raw.close();
    await expect(s.kvCompareAndSetWithDeliveries('ns', [{ key: 'c', expected: undefined, next: 'mine', deliveries: [wo('C|1')] }])).rejects.toThrow('disk I/O error');
    expect(await s.kvGet('ns', 'c')).toBeUndefined();
    expect(await s.kvCompareAndSetWithDeliveries('ns', [])).toEqual([]);
  });

  it('loads the states of more assets than one read takes, each whole (loadStates) or only the rules asked for (loadRuleStates); lists assets without their identifiers', async () => {
    const s = open();
    const n = 1234; // two full reads of 500 and a short one
    const ids = Array.from({ length: n }, (_, i) => `A${i}`);
    await s.upsertAssets(ids.map((id, i) => ({ asset: { erpAssetId: id, erpModule: 'm', ...(i % 2 ? { destination: 'crm' } : {}), attributes: { sku: `S${i % 3}` } }, identifiers: [{ type: 'tag' as const, value: `t-${id}`, erpAssetId: id }] })));
    // Every third asset has no state; the others a location state, and every other one an inventory state too.
    const states = ids.flatMap((id, i) => (i % 3 === 0 ? [] : [{ erpAssetId: id, doc: { location: { i }, ...(i % 2 ? { inventory: { at: `L${i}` } } : {}) } }]));
    await s.commitIngest({ states, deliveries: [], quarantine: [], accepted: 0 });
    const all = await s.loadStates([...ids, 'nope']);
    expect(all.size).toBe(states.length);
    for (const st of states) expect(all.get(st.erpAssetId)).toEqual(st.doc);
    const inventory = await s.loadRuleStates(ids, ['inventory']);
    expect([...inventory.keys()].sort()).toEqual(states.filter((st) => 'inventory' in st.doc).map((st) => st.erpAssetId).sort());
    for (const [id, doc] of inventory) expect(doc).toEqual({ inventory: all.get(id)?.inventory });
    expect((await s.loadRuleStates(ids.slice(0, 10), ['inventory', 'location'])).get('A1')).toEqual({ location: { i: 1 }, inventory: { at: 'L1' } });
    expect(await s.loadStates([])).toEqual(new Map());
    expect(await s.loadRuleStates(ids, [])).toEqual(new Map());
    expect(await s.listAssetRecords()).toEqual((await s.listAssets()).map((a) => a.asset));
    // A fleet-wide read lets the event loop turn between its chunks; the ingestor's read does not.
    const turned = async (read: () => Promise<unknown>) => {
      let ticked = false;
      setImmediate(() => (ticked = true));
      await read();
      return ticked;
    };
    expect(await turned(() => s.loadRuleStates(ids, ['inventory']))).toBe(true);
    expect(await turned(() => s.loadStates(ids))).toBe(false);
    // More assets than a page of the asset list: every one, in order, in pages taking turns.
    await s.upsertAssets(Array.from({ length: 9000 }, (_, i) => ({ asset: { erpAssetId: `B${String(i).padStart(4, '0')}`, erpModule: 'm', attributes: {} }, identifiers: [] })));
    const records = await s.listAssetRecords();
    expect(records.map((a) => a.erpAssetId)).toEqual([...ids, ...Array.from({ length: 9000 }, (_, i) => `B${String(i).padStart(4, '0')}`)].sort());
    expect(await turned(() => s.listAssetRecords())).toBe(true);
  });
});

describe('SqliteStore retention', () => {
  const DAY = 86_400_000;
  const now = Date.now() + DAY; // claims need the rows due (committed at the real time)
  const auditOf = (id: number, at: number): AuditRecord => ({ at, deliveryId: id, destination: 'erp', operation: 'x', erpAssetId: 'A1', idempotencyKey: `k${id}`, attempt: 1, latencyMs: 1, outcome: 'delivered' });
  const deliverAll = async (s: SqliteStore, when: number) => {
    const claimed = await s.claimDue('erp', now, 100, new Set());
    await s.completeAttempts(claimed.map((d) => ({ id: d.id, result: 'delivered' as const })), claimed.map((d) => auditOf(d.id, when)), when);
    return claimed;
  };

  it('deletes finished records past their retention, keeps the newest value of each key and everything unfinished; delivered counts stay all-time', async () => {
    const s = open();
    // Ten days ago: A1 delivered twice (zones X then Y), A2 once, a work order; and one A3 value dead-lettered.
    await commit(s, [loc(1, 'X', 'A1'), loc(1, 'X', 'A2'), wo('A1|hot|1'), loc(1, 'old', 'A3')]);
    const first = await s.claimDue('erp', now, 100, new Set());
    const deadA3 = first.find((d) => d.businessKey === 'A3');
    await s.completeAttempts(
      first.map((d) => (d === deadA3 ? { id: d.id, result: 'dead' as const, error: '503 for two days' } : { id: d.id, result: 'delivered' as const })),
      first.map((d) => auditOf(d.id, d === deadA3 ? now - 100 * DAY : now - 10 * DAY)),
      now - 10 * DAY,
    );
    await commit(s, [loc(2, 'Y', 'A1')]);
    await deliverAll(s, now - 10 * DAY);
    // A4: a value superseded by a newer one ten days ago; the newer one still in flight.
    await commit(s, [loc(1, 'retried', 'A4')]);
    const [retried] = await s.claimDue('erp', now, 10, new Set());
    await commit(s, [loc(3, 'newer', 'A4')]);
    await s.completeAttempts([{ id: retried!.id, result: 'retry', nextAttemptAt: 0, error: 'timeout' }], [auditOf(retried!.id, now - 10 * DAY)], now - 10 * DAY);
    await s.claimDue('erp', now, 10, new Set());
    // Quarantine: one replayed and one open entry, both received 40 days ago.
    await s.commitIngest({
      states: [],
      deliveries: [],
      accepted: 0,
      quarantine: ['a', 'b'].map((p) => ({ source: 'http', channel: '/v1/events', payload: p, receivedAt: now - 40 * DAY, code: 'invalid' as const, reason: 'bad' })),
    });
    const [q1] = await s.listQuarantine({});
    await s.markQuarantine([q1!.id], 'replayed');

    const before = (await s.outboxStats(now))[0];
    expect(before).toMatchObject({ delivered: 4, dead: 1, inflight: 1 });
    const cutoffs = { deliveredBefore: now - 7 * DAY, auditBefore: now - 30 * DAY, quarantineBefore: now - 30 * DAY };
    const counted = await s.countPrunable(cutoffs);
    const total = await pruneAll(s, cutoffs, { batch: 1 });
    expect(counted).toEqual(total); // the dry run counts what the prune then deletes
    // A1's older value and A4's superseded one; the dead delivery's old audit row stays.
    expect(total).toEqual({ delivered: 2, deliveredFacts: 0, audit: 0, quarantine: 1 });
    const left = await s.listDeliveries({});
    expect(left.map((d) => `${d.businessKey} ${d.eventTime} ${d.status}`).sort()).toEqual(['A1 2 delivered', 'A1|hot|1 1 delivered', 'A2 1 delivered', 'A3 1 dead', 'A4 3 inflight']);
    expect((await s.outboxStats(now))[0]).toEqual(before); // delivered stays 4
    expect((await s.queryAudit({ deliveryId: deadA3!.id })).length).toBe(1);
    expect((await s.listQuarantine({})).map((q) => q.status)).toEqual(['open']);
    // What was kept still does its work: a replay of the work order adds nothing, and an older
    // A1 value replayed from the dead letters is superseded by the delivered one, not sent.
    await commit(s, [wo('A1|hot|1')]);
    expect((await s.listDeliveries({})).filter((d) => d.businessKey === 'A1|hot|1')).toHaveLength(1);
    await commit(s, [loc(1, 'stale', 'A1')]);
    const [stale] = (await s.claimDue('erp', now, 10, new Set())).filter((d) => d.businessKey === 'A1');
    await s.completeAttempts([{ id: stale!.id, result: 'dead', error: '503' }], [], now);
    expect(await s.replayDead([stale!.id], now)).toBe(1);
    expect((await s.getDelivery(stale!.id))?.status).toBe('superseded');

    // Audit past 7 days, and delivered facts when asked for.
    const more = await pruneAll(s, { auditBefore: now - 7 * DAY, deliveredFactsBefore: now - 7 * DAY });
    expect(more).toEqual({ delivered: 0, deliveredFacts: 1, audit: 5, quarantine: 0 });
  });
});

// Outbox behaviours found unpinned by mutation testing: claims that a busy key must not starve, the
// order claims take due rows in, the idempotency key stored at the claim, the life of a delivery's
// last error, `replayDead` touching dead letters only, and retention keeping what an unfinished or
// newest delivery still needs.
const DAY = 86_400_000;
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

describe('SqliteStore after a state request of unknown outcome', () => {
  it('holds a newer value of a held operation (a meter reading) until the settle time, out of the way of other work; the old value itself is retried at once', async () => {
    const s = open();
    const t = Date.now() + 3_600_000; // far enough ahead that a slow machine still commits before t
    const held = new Set(['meter.record']);
    const reading = (eventTime: number, hours: number): DeliveryIntent => ({ destination: 'erp', operation: 'meter.record', kind: 'state', businessKey: 'A1', erpAssetId: 'A1', eventTime, payload: { operatingHours: hours } });
    await commit(s, [reading(100, 10)]);
    const [a] = await s.claimDue('erp', t, 1, new Set(), held);
    await s.completeAttempts([{ id: a!.id, result: 'retry', nextAttemptAt: t, error: 'timeout', unsettledUntil: t + 60_000 }], [], t);
    // The same value again: it cannot land after itself, so it goes at once.
    const [again] = await s.claimDue('erp', t + 1, 1, new Set(), held);
    expect(again).toMatchObject({ id: a!.id, payload: { operatingHours: 10 } });
    await s.completeAttempts([{ id: again!.id, result: 'delivered' }], [], t + 1);
    // A newer value waits while the first request may still land, and does not block other work.
    await commit(s, [reading(200, 11), loc(300, 'B')]);
    const claimed = await s.claimDue('erp', t + 2, 10, new Set(), held);
    expect(claimed.map((c) => c.operation)).toEqual(['location.update']);
    expect((await s.listDeliveries({ status: 'pending' })).map((r) => ({ op: r.operation, due: r.nextAttemptAt }))).toEqual([{ op: 'meter.record', due: t + 60_000 }]);
    expect(await s.claimDue('erp', t + 59_999, 10, new Set(), held)).toEqual([]);
    const [late] = await s.claimDue('erp', t + 60_000, 10, new Set(), held);
    expect(late).toMatchObject({ operation: 'meter.record', payload: { operatingHours: 11 } });
    await s.completeAttempts([{ id: late!.id, result: 'delivered' }], [], t + 60_000);
    expect(await s.listDeliveries({ status: 'pending' })).toEqual([]); // settled: no resend of a held value
  });

  it('claims a newer value at once when its operation is not held (a location: sent now, resent at the settle time)', async () => {
    const s = open();
    const t = Date.now() + 3_600_000; // far enough ahead that a slow machine still commits before t
    await commit(s, [loc(100, 'A')]);
    const [a] = await s.claimDue('erp', t, 1, new Set(), new Set(['meter.record']));
    await s.completeAttempts([{ id: a!.id, result: 'retry', nextAttemptAt: t, error: 'timeout', unsettledUntil: t + 60_000 }], [], t);
    await commit(s, [loc(200, 'B')]);
    expect(await s.claimDue('erp', t + 1, 1, new Set(), new Set(['meter.record']))).toMatchObject([{ payload: { warehouseLocation: 'B' } }]);
  });

  const pending = async (s: SqliteStore) => (await s.listDeliveries({ status: 'pending' })).map((r) => ({ zone: r.payload.warehouseLocation, resend: r.resend === true, due: r.nextAttemptAt }));
  const claimOne = async (s: SqliteStore, now: number) => {
    const [item] = await s.claimDue('erp', now, 1, new Set());
    expect(item).toBeDefined();
    return item!;
  };
  /** Location A at event time 100, queued, claimed at `t` and timed out: its key unsettled for a minute. */
  const timedOutA = async (s: SqliteStore, t: number) => {
    await commit(s, [loc(100, 'A')]);
    const a = await claimOne(s, t);
    await s.completeAttempts([{ id: a.id, result: 'retry', nextAttemptAt: t, error: 'timeout', unsettledUntil: t + 60_000 }], [], t);
    return a;
  };

  it('resends the newest value delivered before the settle time, once the newer pending one has gone; a failing resend is retried, not superseded by what it resends', async () => {
    const s = open();
    const t = Date.now() + 3_600_000; // far enough ahead that a slow machine still commits before t
    await timedOutA(s, t);
    await commit(s, [loc(200, 'B')]); // replaces A in the pending row
    const b = await claimOne(s, t + 1);
    await commit(s, [loc(300, 'C')]); // queued while B is in flight
    await s.completeAttempts([{ id: b.id, result: 'delivered' }], [], t + 2);
    expect(await pending(s)).toEqual([{ zone: 'C', resend: false, due: expect.any(Number) as number }]); // C goes first, no resend of B
    const c = await claimOne(s, t + 3);
    await s.completeAttempts([{ id: c.id, result: 'delivered' }], [], t + 4);
    expect(await pending(s)).toEqual([{ zone: 'C', resend: true, due: t + 60_000 }]);

    const r = await claimOne(s, t + 60_000);
    expect(r.idempotencyKey).not.toBe(c.idempotencyKey);
    await s.completeAttempts([{ id: r.id, result: 'retry', nextAttemptAt: t + 61_000, error: '500' }], [], t + 60_000);
    expect(await pending(s)).toEqual([{ zone: 'C', resend: true, due: t + 61_000 }]);
    const r2 = await claimOne(s, t + 61_000);
    expect(r2.idempotencyKey).toBe(r.idempotencyKey); // the same resend, the same key
    await s.completeAttempts([{ id: r2.id, result: 'delivered' }], [], t + 61_000);

    // Settled: a later value is not resent.
    await commit(s, [loc(400, 'D')]);
    const d = await claimOne(s, t + 62_000);
    await s.completeAttempts([{ id: d.id, result: 'delivered' }], [], t + 62_000);
    expect(await pending(s)).toEqual([]);
  });

  it('of two values of unknown outcome, the older counts: the newer one delivered later is resent, as the older could land after it', async () => {
    const s = open();
    const t = Date.now() + 3_600_000; // far enough ahead that a slow machine still commits before t
    await timedOutA(s, t);
    await commit(s, [loc(200, 'B')]); // replaces A in the pending row
    const b = await claimOne(s, t + 1);
    await s.completeAttempts([{ id: b.id, result: 'retry', nextAttemptAt: t + 1, error: 'timeout', unsettledUntil: t + 30_000 }], [], t + 1);
    const b2 = await claimOne(s, t + 2);
    await s.completeAttempts([{ id: b2.id, result: 'delivered' }], [], t + 2);
    expect(await pending(s)).toEqual([{ zone: 'B', resend: true, due: t + 60_000 }]);
  });

  // Kills: the same row's value counted as newer than itself (id >=, or its key compared the wrong way round).
  it('the value of unknown outcome retried and delivered is not resent: it is the same value', async () => {
    const s = open();
    const t = Date.now() + 3_600_000; // far enough ahead that a slow machine still commits before t
    const a = await timedOutA(s, t);
    const a2 = await claimOne(s, t + 1);
    expect([a2.id, a2.idempotencyKey]).toEqual([a.id, a.idempotencyKey]);
    await s.completeAttempts([{ id: a2.id, result: 'delivered' }], [], t + 1);
    expect(await pending(s)).toEqual([]);
  });

  // Kills: only a higher row id counted as enqueued later, not a new value in the same row.
  it('at one event time, a new value that replaced the one of unknown outcome in its row is resent after delivery', async () => {
    const s = open();
    const t = Date.now() + 3_600_000; // far enough ahead that a slow machine still commits before t
    const a = await timedOutA(s, t);
    await commit(s, [loc(100, 'B')]); // same event time: replaces A in the pending row
    const b = await claimOne(s, t + 1);
    expect(b.id).toBe(a.id);
    expect(b.idempotencyKey).not.toBe(a.idempotencyKey);
    await s.completeAttempts([{ id: b.id, result: 'delivered' }], [], t + 1);
    expect(await pending(s)).toEqual([{ zone: 'B', resend: true, due: t + 60_000 }]);
  });

  it('at one event time, orders values as the outbox does: one queued after the unknown-outcome value is resent, one queued before it is not', async () => {
    const s = open();
    const t = Date.now() + 3_600_000; // far enough ahead that a slow machine still commits before t
    await commit(s, [loc(100, 'C')]);
    const c = await claimOne(s, t);
    await commit(s, [loc(100, 'A')]); // queued after C, while C is in flight: a row of its own
    const a = await claimOne(s, t);
    await s.completeAttempts([{ id: a.id, result: 'dead', error: 'timeout', unsettledUntil: t + 60_000 }], [], t);
    // C, queued before A, is retried and delivered: A (newer) landing late leaves the newer value.
    await s.completeAttempts([{ id: c.id, result: 'retry', nextAttemptAt: t, error: '500' }], [], t);
    const c2 = await claimOne(s, t + 1);
    expect(c2.id).toBe(c.id);
    await s.completeAttempts([{ id: c2.id, result: 'delivered' }], [], t + 1);
    expect(await pending(s)).toEqual([]);
    // B, queued after A at the same event time, is newer: A landing late would undo it.
    await commit(s, [loc(100, 'B')]);
    const b = await claimOne(s, t + 2);
    await s.completeAttempts([{ id: b.id, result: 'delivered' }], [], t + 2);
    expect(await pending(s)).toEqual([{ zone: 'B', resend: true, due: t + 60_000 }]);
  });

  it('a state row in flight at a crash leaves its key unsettled as long as recovery says; a newer value delivered meanwhile is resent', async () => {
    const path = tempStorePath();
    const s1 = new SqliteStore({ path });
    // The commits below enqueue at the real clock: due by `t` even if the machine stalls (1 s was
    // not always enough under load).
    const t = Date.now() + 60_000;
    await commit(s1, [loc(100, 'A', 'K1'), loc(100, 'A', 'K2')]);
    expect(await s1.claimDue('erp', t, 10, new Set())).toHaveLength(2);
    await s1.close(); // "crash" with both in flight
    const s2 = new SqliteStore({ path });
    stores.push(s2);
    const asked: string[] = [];
    const n = await s2.recoverInflight((item) => {
      asked.push(item.businessKey);
      return item.businessKey === 'K1' ? t + 60_000 : undefined;
    });
    expect(n).toBe(2);
    expect(asked.sort()).toEqual(['K1', 'K2']);
    await commit(s2, [loc(200, 'B', 'K1'), loc(200, 'B', 'K2')]); // replace the recovered values
    const claimed = await s2.claimDue('erp', t + 1, 10, new Set());
    await s2.completeAttempts(claimed.map((c) => ({ id: c.id, result: 'delivered' as const })), [], t + 1);
    expect((await s2.listDeliveries({ status: 'pending' })).map((r) => [r.businessKey, r.payload.warehouseLocation, r.resend, r.nextAttemptAt])).toEqual([['K1', 'B', true, t + 60_000]]);
  });
});

describe('SqliteStore retention keeps what is still needed', () => {
  it('forgets an unsettled key once its settle time is older than the state cutoff, unless a value of it is in flight', async () => {
    const s = open();
    const now = later();
    const unsettled = () => s.db.prepare('SELECT business_key FROM outbox_unsettled ORDER BY business_key').pluck().all();
    await commit(s, [loc(100, 'A', 'K1'), loc(100, 'A', 'K2')]);
    const claimed = await s.claimDue('erp', now, 10, new Set());
    // Both timed out and died, their keys unsettled until 20 days ago (a dead letter's key is never settled by a delivery).
    await s.completeAttempts(claimed.map((c) => ({ id: c.id, result: 'dead' as const, error: 'timeout', unsettledUntil: now - 20 * DAY })), [], now);
    expect(unsettled()).toEqual(['K1', 'K2']);
    await s.replayDead([claimed.find((c) => c.businessKey === 'K2')!.id], now);
    await s.claimDue('erp', now, 10, new Set()); // K2 in flight again
    await pruneAll(s, { deliveredBefore: now - 7 * DAY });
    expect(unsettled()).toEqual(['K2']);
  });

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

  it('finds prunable audit records by looking up the delivery of each, not by listing every waiting delivery', () => {
    // With a million deliveries waiting, listing them took ~0.4 s per batch of the service's main thread.
    const s = open();
    const plan = (s.db.prepare(`EXPLAIN QUERY PLAN SELECT id ${PRUNABLE_AUDIT} ORDER BY at LIMIT ?`).all(0, 1) as { detail: string }[]).map((r) => r.detail);
    expect(plan).toContain('SEARCH o USING INTEGER PRIMARY KEY (rowid=?)');
    expect(plan.join('\n')).not.toMatch(/LIST SUBQUERY|SCAN o|outbox_status/);
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

describe('SqliteStore upgrade from the first schema', () => {
  it('a store with rows in every table of version 1 goes through every migration and keeps them', async () => {
    // Guards each new migration against the data an older store holds (an index that existing rows
    // break, a column they cannot take), and the state conversion of migration 2.
    const { path, raw } = storeBefore(2);
    raw.exec(`
      INSERT INTO assets VALUES ('A1', 'maintenance', NULL, '{"site":"ROT"}', 1);
      INSERT INTO asset_identifiers VALUES ('tag', 'T1', 't1', 'A1');
      INSERT INTO asset_state VALUES ('A1', '{"location":{"last":{"lat":51.9,"lng":4}},"maintenance":{"thresholds":{"hot":{"phase":"pending","since":5}}},"gone":null}', 7);
      INSERT INTO outbox (destination, operation, business_key, kind, erp_asset_id, event_time, payload, idempotency_key, status, attempts, created_at, updated_at, next_attempt_at)
        VALUES ('erp', 'location.update', 'A1', 'state', 'A1', 100, '{"warehouseLocation":"Y1"}', '', 'delivered', 1, 10, 11, 10),
               ('erp', 'location.update', 'A1', 'state', 'A1', 200, '{"warehouseLocation":"Y2"}', '', 'pending', 2, 20, 21, 0),
               ('erp', 'workorder.create', 'A1|hot|5', 'fact', 'A1', 5, '{"title":"hot"}', 'k-wo', 'dead', 12, 30, 31, 30);
      INSERT INTO audit (at, delivery_id, destination, operation, erp_asset_id, idempotency_key, attempt, latency_ms, outcome, error) VALUES (31, 3, 'erp', 'workorder.create', 'A1', 'k-wo', 12, 40, 'dead', '422');
      INSERT INTO quarantine (source, channel, payload, is_text, received_at, code, reason) VALUES ('http', '/v1/events', X'7B7D', 1, 40, 'unknown-asset', 'no ERP mapping for tag x');
      INSERT INTO counters VALUES ('events_accepted', 3);
      INSERT INTO kv VALUES ('runtime', 'k', 'v', 1);
    `);
    raw.close();
    const s = new SqliteStore({ path, commitInWorker: false });
    stores.push(s);
    expect(s.db.prepare('SELECT max(version) FROM schema_migrations').pluck().get()).toBe(Math.max(...SQLITE_MIGRATIONS.map((m) => m.version)));
    expect((await s.loadStates(['A1'])).get('A1')).toEqual({ location: { last: { lat: 51.9, lng: 4 } }, maintenance: { thresholds: { hot: { phase: 'pending', since: 5 } } } });
    expect((await s.listAssets()).map((a) => [a.asset.attributes, a.identifiers.map((i) => i.value)])).toEqual([[{ site: 'ROT' }, ['t1']]]);
    expect(await s.outboxStats(100)).toEqual([{ destination: 'erp', pending: 1, inflight: 0, delivered: 1, dead: 1, oldestPendingAgeMs: 80 }]);
    expect((await s.claimDue('erp', 100, 10, new Set())).map((d) => [d.payload, d.enqueuedAt, d.attempts])).toEqual([[{ warehouseLocation: 'Y2' }, 20, 2]]);
    expect((await s.queryAudit({ deliveryId: 3 })).map((a) => a.outcome)).toEqual(['dead']);
    expect((await s.listQuarantine({})).map((q) => [q.code, q.payload])).toEqual([['unknown-asset', '{}']]);
    expect((await s.counters()).eventsAccepted).toBe(3);
    expect(await s.kvGet('runtime', 'k')).toBe('v');
    // The dead work order keeps its key: replayed, the ERP sees the same fact.
    expect(await s.replayDead('all', 100)).toBe(1);
    expect((await s.getDelivery(3))?.idempotencyKey).toBe('k-wo');
  });
});

describe('SqliteStore upgrade by two processes at once', () => {
  it('a migration another process applied while this one waited for the write lock is not run again', async () => {
    // The service and an `assetbridge status` started together on a store of the version before:
    // the other process applies migration 10 and commits after this one read which were applied.
    const { path, raw } = storeBefore(10);
    raw.pragma('journal_mode = WAL');
    raw.close();
    const m = SQLITE_MIGRATIONS.find((x) => x.version === 10)!;
    const other = spawn(
      process.execPath,
      ['-e', `const db = new (require('better-sqlite3'))(process.argv[1]); db.exec('BEGIN IMMEDIATE'); db.exec(process.argv[2]);
        db.prepare('INSERT INTO schema_migrations VALUES (10, ?, 0)').run(process.argv[3]); console.log('ready');
        setTimeout(() => { db.exec('COMMIT'); db.close(); }, 500);`, path, m.sql, m.name],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => other.stdout.once('data', () => resolve()));
    const s = new SqliteStore({ path, commitInWorker: false }); // waits for the other's commit
    stores.push(s);
    await new Promise((resolve) => other.once('exit', resolve));
    expect(s.db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all()).toEqual(SQLITE_MIGRATIONS.map((x) => x.version));
  });
});

describe('SqliteStore upgrade to the unsettled value order (migration 9)', () => {
  it('a key left unsettled by the version before keeps its rule: only a later event time is resent', async () => {
    const { path, raw } = storeBefore(9);
    const t = Date.now() + 3_600_000; // far enough ahead that a slow machine still commits before t
    raw.prepare(`INSERT INTO outbox_unsettled VALUES ('erp', 'location.update', 'A1', ?, 100)`).run(t + 60_000);
    raw.close();
    const s = new SqliteStore({ path, commitInWorker: false });
    stores.push(s);
    const deliver = async (eventTime: number, zone: string) => {
      await commit(s, [loc(eventTime, zone)]);
      const [item] = await s.claimDue('erp', t, 1, new Set());
      await s.completeAttempts([{ id: item!.id, result: 'delivered' }], [], t);
    };
    await deliver(100, 'B');
    expect(await s.listDeliveries({ status: 'pending' })).toEqual([]);
    await deliver(200, 'C');
    expect((await s.listDeliveries({ status: 'pending' })).map((r) => [r.payload.warehouseLocation, r.resend])).toEqual([['C', true]]);
  });
});

describe('SqliteStore upgrade to the enqueue time (migration 7)', () => {
  it('rows of an older store count their age from when they were made, as they did', async () => {
    // A store as the version before migration 7 left it, with one pending row.
    const { path, raw } = storeBefore(7);
    raw
      .prepare(
        `INSERT INTO outbox (destination, operation, business_key, kind, erp_asset_id, event_time, payload, idempotency_key, status, created_at, updated_at, next_attempt_at)
         VALUES ('erp', 'location.update', 'A1', 'state', 'A1', 100, '{}', '', 'pending', 1234, 5678, 5678)`,
      )
      .run();
    raw.close();
    const s = new SqliteStore({ path, commitInWorker: false });
    stores.push(s);
    expect((await s.listDeliveries({}))[0]).toMatchObject({ createdAt: 1234, enqueuedAt: 1234 });
  });
});

describe('SqliteStore upgrade to rule state in a rowid table (migration 14)', () => {
  it('keeps every rule-state row, makes the table an ordinary one with the same key, and reads and writes it as before', async () => {
    const { path, raw } = storeBefore(14);
    const big = JSON.stringify({ buffer: 'x'.repeat(1100) }); // larger than a WITHOUT ROWID cell holds on a 4 KiB page
    const put = raw.prepare('INSERT INTO asset_rule_state VALUES (?, ?, ?, ?)');
    put.run('A1', 'location', '{"z":1}', 11);
    put.run('A1', 'maintenance', big, 12);
    put.run('A2', 'location', '{"z":2}', 13);
    const before = raw.prepare('SELECT * FROM asset_rule_state ORDER BY erp_asset_id, rule').all();
    expect(raw.prepare(`SELECT sql FROM sqlite_master WHERE name = 'asset_rule_state'`).pluck().get()).toMatch(/WITHOUT ROWID/);
    raw.close();
    const s = new SqliteStore({ path, commitInWorker: false });
    stores.push(s);
    expect(schemaVersionOf(path)).toBe(Math.max(...SQLITE_MIGRATIONS.map((m) => m.version)));
    expect(s.db.prepare('SELECT * FROM asset_rule_state ORDER BY erp_asset_id, rule').all()).toEqual(before);
    const table = s.db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'asset_rule_state'`).pluck().get() as string;
    expect(table).not.toMatch(/WITHOUT ROWID/i);
    expect(table).toMatch(/PRIMARY KEY \(erp_asset_id, rule\)/);
    expect(s.db.prepare(`SELECT name FROM sqlite_master WHERE name LIKE 'asset_rule_state%'`).pluck().all()).toEqual(['asset_rule_state']);
    expect(await s.loadStates(['A1', 'A2'])).toEqual(
      new Map([
        ['A1', { location: { z: 1 }, maintenance: JSON.parse(big) as unknown }],
        ['A2', { location: { z: 2 } }],
      ]),
    );
    // The key still makes a rule's state one row: an upsert replaces it, a rule removed deletes it.
    await s.commitIngest({ states: [{ erpAssetId: 'A1', doc: { location: { z: 3 }, maintenance: undefined }, changed: ['location', 'maintenance'] }], deliveries: [], quarantine: [], accepted: 1 });
    expect(s.db.prepare('SELECT erp_asset_id, rule, doc FROM asset_rule_state ORDER BY erp_asset_id, rule').raw(true).all()).toEqual([
      ['A1', 'location', '{"z":3}'],
      ['A2', 'location', '{"z":2}'],
    ]);
  });
});

describe('SqliteStore upgrade to quarantine payload hashes (migration 16)', () => {
  it('an entry made before keeps taking the copies of its payload; entries made after are told apart by the hash of the whole payload', async () => {
    const { path, raw } = storeBefore(16);
    raw
      .prepare(`INSERT INTO quarantine (source, channel, payload, is_text, received_at, code, reason) VALUES ('mqtt:yard', 'yard/a1/t', ?, 1, 1, 'undecodable', 'payload is not JSON')`)
      .run(Buffer.from('{oops'));
    raw.close();
    const s = new SqliteStore({ path, commitInWorker: false });
    stores.push(s);
    const copy = (payload: string) => ({ source: 'mqtt:yard', channel: 'yard/a1/t', payload, receivedAt: 2, code: 'undecodable' as const, reason: 'payload is not JSON', resent: true as const });
    await s.commitIngest({ states: [], deliveries: [], accepted: 0, quarantine: [copy('{oops'), copy('{oops2'), copy('{oops2')] });
    expect((await s.listQuarantine({})).map((r) => [r.payload, r.repeats])).toEqual([
      ['{oops', 1],
      ['{oops2', 1],
    ]);
    expect(s.db.prepare('SELECT payload_sha256 FROM quarantine ORDER BY id').pluck().all()).toEqual([null, createHash('sha256').update('{oops2').digest('hex')]);
  });
});

describe('SqliteStore: a store that cannot be opened', () => {
  const openError = (path: string): Error => {
    try {
      stores.push(new SqliteStore({ path, synchronous: 'normal', commitInWorker: false }));
    } catch (err) {
      return err as Error;
    }
    throw new Error(`opened ${path}`);
  };

  it('names the path and store.path, and what to do, when a newer assetbridge wrote the store', () => {
    const path = tempStorePath();
    new SqliteStore({ path, commitInWorker: false }).db.close();
    const raw = new Database(path);
    raw.prepare(`INSERT INTO schema_migrations VALUES (?, 'from the future', 0)`).run(SQLITE_MIGRATIONS.length + 1);
    raw.close();
    const err = openError(path);
    expect(err.message).toContain(`the store ${path} (store.path) was written by a newer assetbridge`);
    expect(err.message).toMatch(/run that version or a newer one on it, or point store.path at a store of this version/);
  });

  it('says a file that is not an assetbridge store is not one (not "schema version 0"), with what to check, and writes nothing to it, to write or only to read', () => {
    const dir = dirname(tempStorePath());
    const text = join(dir, 'passwd');
    writeFileSync(text, 'root:x:0:0:root:/root:/bin/bash\n');
    const other = join(dir, 'other.db');
    const raw = new Database(other);
    raw.exec('CREATE TABLE invoices (id INTEGER); CREATE TABLE customers (id INTEGER)');
    raw.close();
    const before = (path: string) => [readFileSync(path), existsSync(`${path}-wal`)];
    for (const [path, says] of [
      [text, 'is not an assetbridge store: it is not an SQLite file at all'],
      [other, "is not an assetbridge store: it is another program's SQLite database (it holds customers, invoices, and no schema_migrations table)"],
    ] as const) {
      const was = before(path);
      for (const readOnly of [false, true]) {
        let err: unknown;
        try {
          stores.push(new SqliteStore({ path, readOnly, commitInWorker: false }));
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(NotAStoreError);
        expect((err as Error).message).toContain(`${path} (store.path) ${says}, and is left as it is; check store.path`);
        expect((err as Error).message).not.toMatch(/schema version|root:x/);
        expect(before(path)).toEqual(was);
      }
    }
  });

  it('a file with no database in it yet: made a store when opened to write, "no store yet" to a command that only reads', () => {
    const dir = dirname(tempStorePath());
    const empty = join(dir, 'empty.db');
    writeFileSync(empty, '');
    const blank = join(dir, 'blank.db');
    const raw = new Database(blank);
    raw.pragma('user_version = 1');
    raw.close();
    for (const path of [empty, blank]) {
      expect(() => stores.push(new SqliteStore({ path, readOnly: true }))).toThrow(new RegExp(`^${path} \\(store\\.path\\) holds no assetbridge store yet: .* this command only reads; nothing has run on it`));
      expect(existsSync(`${path}-wal`)).toBe(false);
      stores.push(new SqliteStore({ path, commitInWorker: false }));
      expect(schemaVersionOf(path)).toBe(Math.max(...SQLITE_MIGRATIONS.map((m) => m.version)));
    }
  });

  it('names the path and store.path, and what to check, when the path is a directory', () => {
    const dir = dirname(tempStorePath());
    const err = openError(dir);
    expect(err.message).toContain(`cannot open the store ${dir} (store.path)`);
    expect(err.message).toMatch(/names a file .*directory this user can write to/);
  });

  it('names the path when its directory cannot be made (a file stands in the way)', () => {
    const dir = dirname(tempStorePath());
    writeFileSync(join(dir, 'file'), '');
    const path = join(dir, 'file', 'ab.db');
    const err = openError(path);
    expect(err.message).toContain(`cannot open the store ${path} (store.path)`);
    expect(err.message).toMatch(/directory this user can write to/);
  });
});

describe('SqliteStore opened read-only (commands that only look)', () => {
  const newest = Math.max(...SQLITE_MIGRATIONS.map((m) => m.version));

  it('leaves a store an older assetbridge wrote at its version, and says which, which one it expects and what upgrades it', () => {
    const { path, raw } = storeBefore(newest);
    raw.close();
    let err: unknown;
    try {
      stores.push(new SqliteStore({ path, readOnly: true }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreOutdatedError);
    expect((err as Error).message).toContain(`the store ${path} (store.path) is at schema version ${newest - 1}, and this assetbridge expects version ${newest}`);
    expect((err as Error).message).toContain("Starting the service with this version ('assetbridge run') upgrades it");
    expect(schemaVersionOf(path)).toBe(newest - 1);
    // Opened to write, the same store is upgraded as before.
    stores.push(new SqliteStore({ path, commitInWorker: false }));
    expect(schemaVersionOf(path)).toBe(newest);
  });

  it('reads a current store and refuses to write to it', async () => {
    const path = tempStorePath();
    const w = new SqliteStore({ path, commitInWorker: false });
    await commit(w, [loc(100, 'A')]);
    await w.close();
    const s = new SqliteStore({ path, readOnly: true });
    stores.push(s);
    expect((await s.listDeliveries({})).map((d) => d.payload)).toEqual([{ warehouseLocation: 'A' }]);
    await expect((async () => s.kvSet('ns', 'k', 'v'))()).rejects.toThrow(/readonly/);
  });

  it('refuses a path with no store rather than creating one', () => {
    const path = tempStorePath();
    expect(() => stores.push(new SqliteStore({ path, readOnly: true }))).toThrow();
    expect(existsSync(path)).toBe(false);
  });

  it('backs up a current store from a read-only open, and an older store as it is (not upgraded)', async () => {
    const path = tempStorePath();
    await new SqliteStore({ path, commitInWorker: false }).close();
    const s = new SqliteStore({ path, readOnly: true });
    stores.push(s);
    const copy = join(dirname(path), 'copy.db');
    await s.backupTo(copy);
    expect(schemaVersionOf(copy)).toBe(newest);
    await expect((async () => s.kvSet('ns', 'k', 'v'))()).rejects.toThrow(/readonly/); // still read-only after the copy

    const old = storeBefore(newest);
    old.raw.close();
    const oldCopy = join(dirname(old.path), 'copy.db');
    await SqliteStore.backupFile(old.path, oldCopy);
    expect(schemaVersionOf(oldCopy)).toBe(newest - 1);
    expect(schemaVersionOf(old.path)).toBe(newest - 1);
  });
});

describe('SqliteStore upgrading a store an older version wrote (beforeUpgrade)', () => {
  const newest = Math.max(...SQLITE_MIGRATIONS.map((m) => m.version));

  it('asks first, under the write lock, with the versions and the key-value table; a refusal leaves the store as it is', () => {
    const { path, raw } = storeBefore(newest);
    raw.prepare("INSERT INTO kv VALUES ('runtime', 'pipeline-lease', 'held', 0)").run();
    raw.close();
    const seen: unknown[] = [];
    const refusal = new Error('a service runs on it');
    expect(
      () =>
        new SqliteStore({
          path,
          commitInWorker: false,
          beforeUpgrade: (u) => {
            // Another connection cannot write meanwhile: the check and the upgrade are one transaction.
            const other = new Database(path, { timeout: 0 });
            try {
              expect(() => other.prepare("INSERT INTO kv VALUES ('x', 'y', 'z', 0)").run()).toThrow(/locked|busy/i);
            } finally {
              other.close();
            }
            seen.push({ path: u.path, version: u.version, expected: u.expected, lease: u.kvGet('runtime', 'pipeline-lease') });
            throw refusal;
          },
        }),
    ).toThrow(refusal);
    expect(seen).toEqual([{ path, version: newest - 1, expected: newest, lease: 'held' }]);
    expect(schemaVersionOf(path)).toBe(newest - 1);
    // Allowed, it upgrades as before.
    stores.push(new SqliteStore({ path, commitInWorker: false, beforeUpgrade: () => undefined }));
    expect(schemaVersionOf(path)).toBe(newest);
  });

  it('does not ask for a new, empty store or one already at this version', async () => {
    const path = tempStorePath();
    const asked: number[] = [];
    await new SqliteStore({ path, commitInWorker: false, beforeUpgrade: (u) => void asked.push(u.version) }).close();
    await new SqliteStore({ path, commitInWorker: false, beforeUpgrade: (u) => void asked.push(u.version) }).close();
    expect(asked).toEqual([]);
    expect(schemaVersionOf(path)).toBe(newest);
  });

  it('checkSchema refuses a store a newer version upgraded since this one opened it', () => {
    const path = tempStorePath();
    const s = new SqliteStore({ path, commitInWorker: false });
    stores.push(s);
    expect(() => s.checkSchema()).not.toThrow();
    s.db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(newest + 1, 'from-a-newer-version', 0);
    expect(() => s.checkSchema()).toThrow(`the store ${path} (store.path) was written by a newer assetbridge (schema version ${newest + 1}; this one knows up to ${newest})`);
  });
});

// Was: refuseCommits (a process that lost the store's lease, before it exits) refused ingest
// commits and claims only: its key-value writes went through, so its runtime snapshot overwrote the
// new holder's, a scheduled task moved the new holder's cursors (or queued its facts), and a CLI
// job request meant for the new holder could be taken (deleted) here.
describe('SqliteStore.refuseCommits and key-value writes', () => {
  it('refuses every key-value write, leaving what is stored as it was; reads still work', async () => {
    const s = open();
    await s.kvSet('ns', 'a', '1');
    await s.kvSet('ns', 'b', '2');
    s.refuseCommits('the store lease is lost');
    const why = /the store lease is lost/;
    await expect(s.kvSet('ns', 'a', 'x')).rejects.toThrow(why);
    await expect(s.kvSetMany('ns', [['a', 'x'], ['c', 'x']])).rejects.toThrow(why);
    await expect(s.kvDelete('ns', 'b')).rejects.toThrow(why);
    await expect(s.kvCompareAndSet('ns', 'a', '1', 'x')).rejects.toThrow(why);
    await expect(s.kvCompareAndSetMany('ns', [{ key: 'a', expected: '1', next: 'x' }])).rejects.toThrow(why);
    await expect(s.kvCompareAndSetWithDeliveries('ns', [{ key: 'd', expected: undefined, next: 'x', deliveries: [wo('WO-1')] }])).rejects.toThrow(why);
    expect(s.kvCompareAndSetNow('ns', 'a', '1', undefined)).toBe(false);
    expect(await s.kvList('ns')).toEqual([{ key: 'a', value: '1' }, { key: 'b', value: '2' }]);
    expect(await s.kvGet('ns', 'a')).toBe('1');
    expect(await s.outboxStats(Date.now())).toEqual([]);
  });
});

// Was: after refuseCommits only ingest commits, claims and key-value writes were refused: a
// delivery outcome, a hand change to a dead letter, the quarantine, the asset register and
// retention's deletes still went through, over what the process that holds the store now does
// (a delivery in flight at the loss recorded as delivered here while the new holder sends it too).
describe('SqliteStore.refuseCommits and every other write', () => {
  it('refuses them with the same reason, changing nothing; a delivery in flight stays in flight for the new holder to send again; reads and backups go on', async () => {
    const path = tempStorePath();
    const s = new SqliteStore({ path, commitInWorker: false });
    stores.push(s);
    await s.upsertAssets([{ asset: { erpAssetId: 'A1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [] }]);
    await commit(s, [wo('W1'), wo('W2'), wo('W3')]);
    const [w1, w2] = await s.claimDue('erp', Date.now() + 1000, 2, new Set());
    const inflight = w1?.id ?? 0;
    const dead = w2?.id ?? 0;
    await s.completeAttempts([{ id: dead, result: 'dead', error: '400' }], [], Date.now());
    const q = await s.addQuarantine({ source: 'mqtt', channel: 't', payload: 'x', receivedAt: 1, code: 'invalid', reason: 'bad' });
    const before = async () => ({
      outbox: (await s.listDeliveries({})).map((d) => `${d.businessKey}:${d.status}:${d.idempotencyKey}`),
      quarantine: (await s.listQuarantine({})).map((r) => `${r.id}:${r.status}`),
      assets: (await s.listAssets()).map((a) => a.asset.erpAssetId),
      audit: await s.countAudit({}),
    });
    const was = await before();

    s.refuseCommits('the store lease is lost');
    const why = /^the store lease is lost$/;
    const now = Date.now();
    await expect(s.completeAttempts([{ id: inflight, result: 'delivered' }], [], now)).rejects.toThrow(why);
    await expect(s.completeAttempts([{ id: inflight, result: 'retry', nextAttemptAt: now, error: 'timeout' }], [], now)).rejects.toThrow(why);
    await expect(s.markDelivered([dead], now)).rejects.toThrow(why);
    await expect(s.replayDead('all', now)).rejects.toThrow(why);
    await expect(s.discardDead('all', now)).rejects.toThrow(why);
    await expect(s.discardDead([dead], now)).rejects.toThrow(why);
    await expect(s.editDeadPayload(dead, { title: 'edited' }, now)).rejects.toThrow(why);
    await expect(s.newKeyForDead([dead], now)).rejects.toThrow(why);
    await expect(s.addQuarantine({ source: 'mqtt', channel: 't', payload: 'y', receivedAt: 2, code: 'invalid', reason: 'bad' })).rejects.toThrow(why);
    await expect(s.markQuarantine([q], 'discarded')).rejects.toThrow(why);
    await expect(s.upsertAssets([{ asset: { erpAssetId: 'A2', erpModule: 'fixed-assets', attributes: {} }, identifiers: [] }])).rejects.toThrow(why);
    await expect(s.prune({ deliveredBefore: now + 1, deliveredFactsBefore: now + 1, auditBefore: now + 1, quarantineBefore: now + 1 }, 100)).rejects.toThrow(why);
    await expect(s.recoverInflight()).rejects.toThrow(why);
    await expect(s.vacuum()).rejects.toThrow(why);
    expect(await before()).toEqual(was);
    expect((await s.getDelivery(inflight))?.status).toBe('inflight');
    // A backup writes the copy only.
    expect((await s.backupTo(join(dirname(path), 'copy.db'))).bytes).toBeGreaterThan(0);

    // The new holder finds the delivery in flight, of unknown outcome, and sends it again (same key).
    const next = new SqliteStore({ path, commitInWorker: false });
    stores.push(next);
    expect(await next.recoverInflight()).toBe(1);
    expect(await next.getDelivery(inflight)).toMatchObject({ status: 'pending', mayHaveLanded: true, idempotencyKey: w1?.idempotencyKey });
  });
});

// Was: a store was told to refuse the pipeline's writes only once its lease holder noticed the
// lease taken over (refuseCommits): in between, claims, outcomes and ingest batches went through.
describe('SqliteStore.writeOnlyWhile', () => {
  const guard = { namespace: 'runtime', key: 'lease', fields: { pid: 7, instance: 'me' }, reason: 'another process holds the store lease now' };
  for (const commitInWorker of [false, true]) {
    it(`writes while the row names this process, and refuses from the first write after it does not${commitInWorker ? ' (on the commit worker)' : ''}`, async () => {
      const s = new SqliteStore({ path: tempStorePath(), commitInWorker });
      stores.push(s);
      await s.kvSet('runtime', 'lease', JSON.stringify({ pid: 7, instance: 'me', heartbeat: 1 }));
      s.writeOnlyWhile(guard);
      await commit(s, [wo('W1'), wo('W2')]);
      const [w1] = await s.claimDue('erp', Date.now(), 1, new Set());
      expect(w1?.businessKey).toBe('W1');
      await s.completeAttempts([{ id: w1?.id ?? 0, result: 'retry', nextAttemptAt: 0, error: 'timeout' }], [], Date.now());
      const [again] = await s.claimDue('erp', Date.now(), 1, new Set());
      // Another process took the lease: the next write finds out in its own transaction.
      await s.kvSet('runtime', 'lease', JSON.stringify({ pid: 7, instance: 'other', heartbeat: 2 }));
      await expect(commit(s, [wo('W3')])).rejects.toThrow('another process holds the store lease now');
      expect(await s.claimDue('erp', Date.now(), 10, new Set())).toEqual([]);
      await expect(s.completeAttempts([{ id: again?.id ?? 0, result: 'delivered' }], [], Date.now())).rejects.toThrow('another process holds the store lease now');
      await expect(s.recoverInflight()).rejects.toThrow('another process holds the store lease now');
      // Refused from then on, also when the row names this process again (it is the other's to give back).
      await expect(s.kvSet('x', 'y', 'z')).rejects.toThrow('another process holds the store lease now');
      expect((await s.listDeliveries({})).map((d) => `${d.businessKey}:${d.status}`).sort()).toEqual(['W1:inflight', 'W2:pending']);
    });
  }

  it('refuses when the row is gone (the lease let go at a forced exit)', async () => {
    const s = new SqliteStore({ path: tempStorePath(), commitInWorker: false });
    stores.push(s);
    s.writeOnlyWhile(guard);
    await expect(commit(s, [wo('W1')])).rejects.toThrow('another process holds the store lease now');
    expect(await s.listDeliveries({})).toEqual([]);
  });
});

// Was: retention could delete the quarantine entry with the highest id, and SQLite then gave that id
// to the next message set aside: `quarantine show <id>` an operator had noted named another message.
describe('SqliteStore retention of quarantine ids', () => {
  it('keeps the newest entry, closed and old, so no id is handed out twice', async () => {
    const s = open();
    const now = Date.now();
    const setAside = (p: string) => s.commitIngest({ states: [], deliveries: [], accepted: 0, quarantine: [{ source: 'http', channel: '/v1/events', payload: p, receivedAt: now - 40 * DAY, code: 'invalid', reason: 'bad' }] });
    await setAside('a');
    await setAside('b');
    const ids = (await s.listQuarantine({})).map((q) => q.id).sort((x, y) => x - y);
    await s.markQuarantine(ids, 'discarded');
    const cutoffs = { quarantineBefore: now - 30 * DAY };
    expect(await s.countPrunable(cutoffs)).toMatchObject({ quarantine: 1 });
    expect(await pruneAll(s, cutoffs)).toMatchObject({ quarantine: 1 });
    await setAside('c');
    const after = (await s.listQuarantine({})).map((q) => q.id).sort((x, y) => x - y);
    expect(after).toHaveLength(2);
    expect(after[0]).toBe(ids[1]);
    expect(after[1]).toBeGreaterThan(ids[1] as number);
  });
});
