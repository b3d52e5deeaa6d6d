/**
 * Changes to many dead letters (`dlq replay`, `discard`, `mark-delivered`, new keys) go in
 * transactions of 500 with a pause between, so a running service's writes get the write lock in
 * between rather than waiting behind all of them (100,000 in one transaction held them 4 s).
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempStore } from '../../../../test/helpers/temp-store.js';
import type { SqliteStore } from './sqlite-store.js';

const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** A store holding `n` dead work orders (written straight into the outbox); their ids. */
function withDead(n: number): { store: SqliteStore; ids: number[] } {
  const store = tempStore();
  stores.push(store);
  const add = store.db.prepare(
    `INSERT INTO outbox (destination, operation, business_key, kind, erp_asset_id, event_time, payload, idempotency_key, status, attempts, created_at, updated_at, next_attempt_at, last_error)
     VALUES ('erp', 'workorder.create', ?, 'fact', 'A1', 1, '{"title":"x"}', ?, 'dead', 5, 1, 1, 0, '503 from the ERP')`,
  );
  const ids = store.db.transaction(() => Array.from({ length: n }, (_, k) => Number(add.run(`A1|hot|${k}`, `ab-${k}`).lastInsertRowid)))();
  return { store, ids };
}

const statuses = (s: SqliteStore) => Object.fromEntries(s.db.prepare('SELECT status, count(*) AS n FROM outbox GROUP BY status').all().map((r) => [(r as { status: string }).status, (r as { n: number }).n]));

describe('dead letters changed in chunks', () => {
  it('a replay of 1,200 lets go of the write lock after each 500: another connection writes in between', async () => {
    const { store } = withDead(1200);
    const replay = store.replayDead('all', Date.now());
    // The first chunk is done and its transaction committed before the call returns.
    expect(statuses(store)).toEqual({ pending: 500, dead: 700 });
    const service = new Database(store.db.name);
    try {
      service.pragma('busy_timeout = 0'); // SQLITE_BUSY at once if the lock were held
      expect(service.prepare(`INSERT INTO kv (namespace, key, value, updated_at) VALUES ('probe', 'k', 'v', 1)`).run().changes).toBe(1);
    } finally {
      service.close();
    }
    expect(await replay).toBe(1200);
    expect(statuses(store)).toEqual({ pending: 1200 });
    const attempts = store.db.prepare(`SELECT DISTINCT attempts FROM outbox`).pluck().all();
    expect(attempts).toEqual([0]); // every letter whole: pending and its attempts restarted
  });

  it('discard, mark-delivered and new keys count and list every letter across chunks', async () => {
    const a = withDead(1100);
    expect(await a.store.discardDead('all', Date.now())).toBe(1100);
    expect(statuses(a.store)).toEqual({ discarded: 1100 });

    const b = withDead(1100);
    const marked = await b.store.markDelivered(b.ids, Date.now());
    expect(marked).toEqual(b.ids);
    expect(b.store.db.prepare(`SELECT count(*) FROM audit WHERE outcome = 'marked-delivered'`).pluck().get()).toBe(1100);

    const c = withDead(1100);
    const keyed = await c.store.newKeyForDead(c.ids, Date.now());
    expect(keyed.map((k) => k.id)).toEqual(c.ids);
    expect(new Set(keyed.map((k) => k.result))).toEqual(new Set(['new-key']));
    const both = await c.store.replayDeadWithNewKey(c.ids.slice(0, 1001), Date.now(), {});
    expect(both.keyed).toHaveLength(1001);
    expect(both.moved).toBe(1001);
    expect(statuses(c.store)).toEqual({ pending: 1001, dead: 99 });
  });
});
