/**
 * The commit worker: ingest batches commit on their own thread and connection, in order; after a
 * failed batch, the ones queued behind it are refused (they were computed on top of it) and later
 * ones commit again; the store's other writes wait for the worker instead of failing. A large
 * checkpoint is serialised over turns of the event loop, with or without the worker, and the
 * batches made meanwhile keep their order behind it.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { DeliveryIntent } from '../../../core/model/delivery.js';
import { tempStorePath } from '../../../../test/helpers/temp-store.js';
import { useTempStores } from '../../../../test/helpers/temp-stores.js';
import { StateJson } from '../../../ports/store.js';
import { STATES_PER_TURN } from './sqlite-ingest.js';
import { SqliteStore } from './sqlite-store.js';

const newStore = useTempStores();
const open = (path = tempStorePath(), commitInWorker = true) => newStore({ path, commitInWorker });

const fact = (key: string, destination = 'erp'): DeliveryIntent => ({
  destination,
  operation: 'workorder.create',
  kind: 'fact',
  businessKey: key,
  erpAssetId: 'A1',
  eventTime: 1,
  payload: { title: key },
});
const batch = (deliveries: DeliveryIntent[]) => ({ states: [], deliveries, quarantine: [], accepted: deliveries.length });
const keys = async (s: SqliteStore) => (await s.listDeliveries({ limit: 100_000 })).map((d) => d.businessKey).sort();

describe('SQLite commit worker', () => {
  it.each([true, false])('keeps the ingest log in order, text and bytes as they came, until a checkpoint empties it (worker: %s)', async (worker) => {
    const s = open(tempStorePath(), worker);
    const bytes = new Uint8Array([0, 255, 1, 128, 10]);
    // Two batches, one row each in the log; unicode text and bytes round-trip as they came.
    const text = Array.from({ length: 70 }, (_, i) => ({ source: 'http', channel: '/v1/events', payload: `{"n":${i},"site":"Köln-Süd ✓"}`, receivedAt: i }));
    await s.commitIngest({ ...batch([]), log: { now: 5, messages: text.slice(0, 40) } });
    await s.commitIngest({ ...batch([]), log: { now: 6, messages: [...text.slice(40), { source: 'mqtt:a', channel: 'x/y', payload: bytes, receivedAt: 99 }] } });
    const log = await s.readIngestLog();
    expect(log.map((m) => m.payload)).toEqual([...text.map((m) => m.payload), bytes]);
    expect(log.map((m) => m.now)).toEqual([...Array(40).fill(5), ...Array(31).fill(6)]);
    // Each message names its batch's log row.
    expect(log.map((m) => m.seq)).toEqual([...Array(40).fill(1), ...Array(31).fill(2)]);
    expect(log.at(-1)).toEqual({ now: 6, seq: 2, source: 'mqtt:a', channel: 'x/y', payload: bytes, receivedAt: 99 });
    expect((await s.counters()).ingestLog).toBe(71);
    await s.commitIngest({ states: [{ erpAssetId: 'A1', doc: { location: { at: 1 } }, changed: ['location'] }], deliveries: [], quarantine: [], accepted: 0, checkpoint: true });
    expect(await s.readIngestLog()).toEqual([]);
    expect((await s.loadStates(['A1'])).get('A1')).toEqual({ location: { at: 1 } });
  });

  it.each([true, false])('a spread checkpoint marks the log row each part includes, and its last part empties the log up to its first (worker: %s)', async (worker) => {
    const s = open(tempStorePath(), worker);
    const msg = (n: number) => ({ source: 'http', channel: '/v1/events', payload: `{"n":${n}}`, receivedAt: n });
    const state = (id: string, at: number) => ({ erpAssetId: id, doc: { location: { at } }, changed: ['location'] });
    await s.commitIngest({ ...batch([]), log: { now: 1, messages: [msg(1)] } }); // row 1
    // The round's first part (row 2) stores A1; a part between (row 3) B1; the last (row 4) C1.
    await s.commitIngest({ ...batch([]), states: [state('A1', 2)], log: { now: 2, messages: [msg(2)] }, spread: { start: true, end: false } });
    await s.commitIngest({ ...batch([]), states: [state('B1', 3)], log: { now: 3, messages: [msg(3)] }, spread: { start: false, end: false } });
    expect(await s.ruleStateLogPositions()).toEqual(new Map([['A1', 2], ['B1', 3]]));
    expect((await s.readIngestLog()).map((m) => m.seq)).toEqual([1, 2, 3]);
    await s.commitIngest({ ...batch([]), states: [state('C1', 4)], log: { now: 4, messages: [msg(4)] }, spread: { start: false, end: true } });
    // Rows up to the round's start are emptied, with the marks within them; what came after stays.
    expect((await s.readIngestLog()).map((m) => [m.seq, m.payload])).toEqual([[3, '{"n":3}'], [4, '{"n":4}']]);
    expect(await s.ruleStateLogPositions()).toEqual(new Map([['B1', 3], ['C1', 4]]));
    expect((await s.counters()).ingestLog).toBe(2);
    expect((await s.loadStates(['A1', 'B1', 'C1'])).get('C1')).toEqual({ location: { at: 4 } });
    // A part without a log row of its own includes the log up to the newest row.
    await s.commitIngest({ ...batch([]), states: [state('D1', 5)], spread: { start: true, end: false } });
    expect((await s.ruleStateLogPositions()).get('D1')).toBe(4);
    // A checkpoint stores everything: the log, the marks and the round are emptied.
    await s.commitIngest({ ...batch([]), states: [], checkpoint: true });
    expect(await s.readIngestLog()).toEqual([]);
    expect(await s.ruleStateLogPositions()).toEqual(new Map());
    // A round whose end comes after a checkpoint emptied its start has nothing on record: the log after it stays.
    await s.commitIngest({ ...batch([]), log: { now: 6, messages: [msg(6)] } });
    await s.commitIngest({ ...batch([]), states: [state('E1', 6)], spread: { start: false, end: true } });
    expect((await s.readIngestLog()).map((m) => m.payload)).toEqual(['{"n":6}']);
  });

  it.each([true, false])('stores a sub-state given as JSON text as it is, beside ones given as values (worker: %s)', async (worker) => {
    const path = tempStorePath();
    const s = open(path, worker);
    // Text as the form wrote it (spaces, a number's own digits): stored, not serialised again.
    const text = '{"z": 1, "a": [1.50, "x"]}';
    await s.commitIngest({ states: [{ erpAssetId: 'A1', doc: { location: new StateJson(text), other: { at: 2 }, gone: undefined }, changed: ['location', 'other', 'gone'] }], deliveries: [], quarantine: [], accepted: 0, checkpoint: true });
    const doc = (await s.loadStates(['A1'])).get('A1');
    expect(doc).toEqual({ location: { z: 1, a: [1.5, 'x'] }, other: { at: 2 } });
    expect(Object.keys(doc?.location as object)).toEqual(['z', 'a']);
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.prepare("SELECT doc FROM asset_rule_state WHERE erp_asset_id = 'A1' AND rule = 'location'").pluck().get()).toBe(text);
    } finally {
      raw.close();
    }
    // A document holding one serialises as the sub-state itself.
    expect(JSON.stringify({ location: new StateJson(text) })).toBe('{"location":{"z":1,"a":[1.5,"x"]}}');
  });

  it('commits batches in the order they were posted, visible to the store right after', async () => {
    const s = open();
    const posted = Array.from({ length: 20 }, (_, i) => s.commitIngest(batch([fact(`k${i}`)])));
    await posted[19];
    // The last one settled, so all before it have committed too.
    expect(await keys(s)).toHaveLength(20);
    await Promise.all(posted);
    expect((await s.counters()).eventsAccepted).toBe(20);
  });

  it('refuses the batches queued behind a failed one, then commits new ones again', async () => {
    const s = open();
    const good = s.commitIngest(batch([fact('before')]));
    // A NOT NULL column left null: SQLite refuses the whole batch.
    const bad = s.commitIngest(batch([fact('bad-1'), fact('bad-2', null as unknown as string)]));
    const behind = s.commitIngest(batch([fact('behind')]));
    await expect(good).resolves.toBeUndefined();
    await expect(bad).rejects.toThrow(/NOT NULL/);
    await expect(behind).rejects.toThrow(/batch before it failed/);
    await s.commitIngest(batch([fact('after')]));
    // Nothing of the failed batch (it was one transaction) and nothing computed on top of it.
    expect(await keys(s)).toEqual(['after', 'before']);
  });

  it.each([true, false])("a failed commit keeps SQLite's code, message and stack, so its advice can be given (worker: %s)", async (worker) => {
    const s = open(tempStorePath(), worker);
    // Rejected, not thrown, on either connection.
    const error = await s.commitIngest(batch([fact('bad', null as unknown as string)])).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: unknown },
    );
    expect(error?.code).toBe('SQLITE_CONSTRAINT_NOTNULL');
    expect(error?.message).toMatch(/NOT NULL constraint failed: outbox\.destination/);
    expect(error?.name).toBe('SqliteError');
    // Where SQLite threw (in the worker, when there is one), not where the owner was told.
    expect(error?.stack).toMatch(/NOT NULL[\s\S]*\bat [\s\S]*sqlite-ingest/);
  });

  it('gives the batches refused behind a failed one its code too', async () => {
    const s = open();
    const bad = s.commitIngest(batch([fact('bad', null as unknown as string)]));
    const behind = s.commitIngest(batch([fact('behind')]));
    await Promise.allSettled([bad, behind]);
    await expect(bad).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_NOTNULL' });
    await expect(behind).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_NOTNULL', message: expect.stringMatching(/batch before it failed/) as unknown });
  });

  it('close() waits for queued batches, so nothing posted before it is lost', async () => {
    const path = tempStorePath();
    const s = new SqliteStore({ path, synchronous: 'normal' });
    const posted = Array.from({ length: 5 }, (_, i) => s.commitIngest(batch(Array.from({ length: 500 }, (_, j) => fact(`k${i}-${j}`)))));
    await s.close();
    await Promise.all(posted);
    const again = open(path);
    expect(await keys(again)).toHaveLength(2500);
  });

  it("does not let the store's own writes fail while the worker holds the write lock", async () => {
    const s = open();
    // One delivery already due, so the first claim below has something to claim whenever the
    // worker's commits land (they may all land between two turns of the loop).
    await s.commitIngest(batch([fact('due')]));
    const big = (n: number) => batch(Array.from({ length: 3000 }, (_, j) => fact(`b${n}-${j}`)));
    const commits = Array.from({ length: 10 }, (_, n) => s.commitIngest(big(n)));
    // Meanwhile, on the store's connection: claims and dead-letter edits (immediate transactions).
    let done = false;
    const all = Promise.all(commits).finally(() => (done = true));
    let claimed = 0;
    let writes = 0;
    while (!done) {
      claimed += (await s.claimDue('erp', Date.now(), 100, new Set())).length;
      await s.kvSet('test', `k${writes++}`, 'v');
      await new Promise((r) => setImmediate(r));
    }
    await all;
    // How many turns the loop gets while the worker commits depends on the machine (a write may
    // wait out the whole queue), so the counts are checked, not the overlap: every write took,
    // and every delivery was claimed exactly once, by the claims made meanwhile or by one after.
    expect(writes).toBeGreaterThan(0);
    expect(claimed).toBeGreaterThan(0);
    expect(await s.kvList('test')).toHaveLength(writes);
    claimed += (await s.claimDue('erp', Date.now(), 100_000, new Set())).length;
    expect(claimed).toBe(30_001);
    expect(await keys(s)).toHaveLength(30_001);
  });

  /** A checkpoint of `n` assets; each state counts its serialisation in `serialised`. */
  const checkpointOf = (n: number, serialised: { count: number }, poison?: number) => ({
    states: Array.from({ length: n }, (_, i) => ({
      erpAssetId: `A${i}`,
      doc: { location: i === poison ? { n: BigInt(i) } : { n: i, toJSON: () => (serialised.count++, { n: i }) } },
      changed: ['location'],
    })),
    deliveries: [],
    quarantine: [],
    accepted: 0,
    checkpoint: true,
  });

  it.each([true, false])('serialises a checkpoint of many assets over turns of the event loop, in order with the batches made meanwhile (worker: %s)', async (worker) => {
    const s = open(tempStorePath(), worker);
    await s.commitIngest(batch([fact('warm-up')]));
    const serialised = { count: 0 };
    const big = s.commitIngest(checkpointOf(3 * STATES_PER_TURN + 100, serialised));
    // A batch made after it (as the ingestor prepares the next one) changes an asset it holds.
    const after = s.commitIngest({ states: [{ erpAssetId: 'A0', doc: { location: { n: 'after' } }, changed: ['location'] }], deliveries: [fact('after')], quarantine: [], accepted: 1 });
    // The next turn of the event loop comes after one chunk, not after the whole checkpoint.
    const seen = await new Promise<number>((resolve) => setImmediate(() => resolve(serialised.count)));
    expect(seen).toBe(STATES_PER_TURN);
    await Promise.all([big, after]);
    expect(serialised.count).toBe(3 * STATES_PER_TURN + 100);
    const states = await s.loadStates(['A0', 'A1', `A${3 * STATES_PER_TURN + 99}`]);
    expect(states.get('A0')).toEqual({ location: { n: 'after' } });
    expect(states.get('A1')).toEqual({ location: { n: 1 } });
    expect(states.get(`A${3 * STATES_PER_TURN + 99}`)).toEqual({ location: { n: 3 * STATES_PER_TURN + 99 } });
    expect(await keys(s)).toEqual(['after', 'warm-up']);
  });

  it.each([true, false])('refuses the batches in line behind a checkpoint that cannot be serialised, and commits later ones (worker: %s)', async (worker) => {
    const s = open(tempStorePath(), worker);
    const bad = s.commitIngest(checkpointOf(2 * STATES_PER_TURN + 10, { count: 0 }, STATES_PER_TURN + 3));
    const behind = s.commitIngest(batch([fact('behind')]));
    await expect(bad).rejects.toThrow(/BigInt/);
    await expect(behind).rejects.toThrow(/refused: a batch before it failed/);
    await s.commitIngest(batch([fact('later')]));
    expect(await keys(s)).toEqual(['later']);
    expect(await s.loadStates(['A0'])).toEqual(new Map());
  });

  it.each([true, false])('refuses the batches in line behind a checkpoint that SQLite refuses, with its code (worker: %s)', async (worker) => {
    const s = open(tempStorePath(), worker);
    // Serialised in turns, then refused whole: a delivery's NOT NULL column left null.
    const bad = s.commitIngest({ ...checkpointOf(2 * STATES_PER_TURN + 10, { count: 0 }), deliveries: [fact('bad', null as unknown as string)] });
    const behind = s.commitIngest(batch([fact('behind')]));
    await Promise.allSettled([bad, behind]);
    await expect(bad).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_NOTNULL' });
    await expect(behind).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_NOTNULL', message: expect.stringMatching(/batch( before it)? failed/) as unknown });
    await s.commitIngest(batch([fact('later')]));
    expect(await keys(s)).toEqual(['later']);
    expect(await s.loadStates(['A0'])).toEqual(new Map());
  });

  it.each([true, false])('commits a checkpoint still being serialised before it closes (worker: %s)', async (worker) => {
    const path = tempStorePath();
    const s = new SqliteStore({ path, synchronous: 'normal', commitInWorker: worker });
    let committed = false;
    const big = s.commitIngest(checkpointOf(2 * STATES_PER_TURN + 1, { count: 0 })).then(() => (committed = true));
    await s.close();
    expect(committed).toBe(true);
    await big;
    const again = open(path);
    expect((await again.loadStates([`A${2 * STATES_PER_TURN}`])).get(`A${2 * STATES_PER_TURN}`)).toEqual({ location: { n: 2 * STATES_PER_TURN } });
  });

  it('gives the same result on the store connection (commitInWorker: false)', async () => {
    const a = open(tempStorePath(), false);
    const b = open(tempStorePath(), true);
    for (const s of [a, b]) {
      await s.commitIngest({ ...batch([fact('x')]), states: [{ erpAssetId: 'A1', doc: { location: { z: 1 }, other: { y: 2 } }, changed: ['location'] }] });
    }
    expect(await a.loadStates(['A1'])).toEqual(await b.loadStates(['A1']));
    expect(await keys(a)).toEqual(await keys(b));
  });
});

describe('multi-row writes', () => {
  it('coalesce and order as row-by-row writes would, across chunk boundaries', async () => {
    const a = open(tempStorePath(), true);
    const b = open(tempStorePath(), false);
    // 300 state updates over 7 keys in a scrambled time order, with facts in between, and rule
    // state for 150 assets: more than one 64-row chunk of each.
    const deliveries: DeliveryIntent[] = [];
    for (let i = 0; i < 300; i++) {
      const t = (i * 37) % 301;
      deliveries.push({ destination: 'erp', operation: 'location.update', kind: 'state', businessKey: `K${i % 7}`, erpAssetId: `K${i % 7}`, eventTime: t, payload: { t } });
      if (i % 50 === 0) deliveries.push(fact(`wo-${i}`));
    }
    const states = Array.from({ length: 150 }, (_, i) => ({ erpAssetId: `A${i}`, doc: { location: { n: i } }, changed: ['location'] }));
    await a.commitIngest({ states, deliveries, quarantine: [], accepted: 1 });
    // The reference: the same writes one row per commit (single-row statements only).
    for (const d of deliveries) await b.commitIngest({ states: [], deliveries: [d], quarantine: [], accepted: 0 });
    for (const st of states) await b.commitIngest({ states: [st], deliveries: [], quarantine: [], accepted: 0 });
    const rows = async (s: SqliteStore) => (await s.listDeliveries({ limit: 1000 })).map((d) => [d.id, d.operation, d.businessKey, d.eventTime]);
    expect(await rows(a)).toEqual(await rows(b));
    expect(await a.loadStates(states.map((x) => x.erpAssetId))).toEqual(await b.loadStates(states.map((x) => x.erpAssetId)));
    // The newest time per key won (row by row it would be the max of each key's times).
    const newest = new Map<string, number>();
    for (const d of deliveries) if (d.kind === 'state') newest.set(d.businessKey, Math.max(newest.get(d.businessKey) ?? -1, d.eventTime));
    for (const d of await a.listDeliveries({ status: 'pending', limit: 1000 })) if (d.operation === 'location.update') expect(d.eventTime).toBe(newest.get(d.businessKey));
    expect((await a.loadStates(['A0', 'A149'])).get('A149')).toEqual({ location: { n: 149 } });
  });
});

describe('folding the write-ahead log (foldLog, a period-end posting between its chunks)', () => {
  const ledgers = (n: number, from = 0) => Array.from({ length: n }, (_, i) => [`ledger:FA-${from + i}`, JSON.stringify({ period: '2026-10', units: i, note: 'x'.repeat(200) })] as const);

  it('on the commit worker once it runs (off this thread), on this connection before: what this connection wrote is in the file', async () => {
    const s = open();
    await s.kvSetMany('usage', ledgers(2_000));
    // Nothing ingested yet: no worker, so here.
    const here = await s.foldLog();
    expect(here.where).toBe('here');
    expect(here.frames).toBeGreaterThan(0);
    expect(here.folded).toBe(here.frames);
    await s.commitIngest(batch([fact('A1|hot|1')])); // the worker starts
    await s.kvSetMany('usage', ledgers(2_000, 2_000)); // this connection's writes, not the worker's
    const there = await s.foldLog();
    expect(there.where).toBe('worker');
    expect(there.folded).toBe(there.frames);
    expect(there.frames).toBeGreaterThan(0);
    // Asked for again while one is under way: joins it.
    const [a, b] = await Promise.all([s.foldLog(), s.foldLog()]);
    expect(a).toEqual(b);
  });

  it('a read-only store folds nothing', async () => {
    const path = tempStorePath();
    const w = open(path);
    await w.kvSetMany('usage', ledgers(10));
    const r = newStore({ path, readOnly: true });
    expect(await r.foldLog()).toEqual({ where: 'none', frames: 0, folded: 0 });
  });

  it('a fold still under way when the store closes: the process waits for the worker to end, not exiting half-closed', () => {
    // In a process of its own: with the worker unreferenced by the fold's answer while close() waits
    // for it to end, Node exited with 13 (an unsettled await) before the connection was closed.
    const store = pathToFileURL(resolve(import.meta.dirname, '../../../../dist/src/adapters/store/sqlite/sqlite-store.js')).href;
    // A fold of some 20 MB, so that its answer comes while close() waits; three times, as the
    // worker's end could come before the process looked (it exited so in two runs of three).
    const script = `
      const { SqliteStore } = await import(${JSON.stringify(store)});
      for (const path of ${JSON.stringify([tempStorePath(), tempStorePath(), tempStorePath()])}) {
        const s = new SqliteStore({ path, synchronous: 'normal' });
        await s.commitIngest({ states: [], deliveries: [], quarantine: [], accepted: 0, log: { now: 1, messages: [{ source: 'http', channel: 'c', payload: '{}', receivedAt: 1 }] } });
        await s.kvSetMany('usage', Array.from({ length: 20000 }, (_, i) => ['k' + i, 'v'.repeat(1000)]));
        void s.foldLog();
        await s.close();
        process.stdout.write('closed ');
      }
    `;
    // A file, not -e: the worker thread would inherit --input-type and refuse to start.
    const file = join(dirname(tempStorePath()), 'close-while-folding.mjs');
    writeFileSync(file, script);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('closed closed closed ');
  });
});
