/**
 * The ingestor's pipeline: the next batch is prepared while one commits, seeing its state; a failed
 * commit rejects its messages and everything computed on top of it, and later batches start again
 * from what the store holds. Each committed batch is timed once for metrics (`onBatch`): how long its
 * oldest message waited for the commit, and for a checkpoint how long it took and how many assets'
 * state it stored (the last one also in `stats`, for `status`); a failed one is not, and an observer
 * that throws never fails a batch that committed.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { IdentityIndex } from '../core/identity/resolver.js';
import type { SqliteStore } from '../adapters/store/sqlite/sqlite-store.js';
import type { Rule } from '../core/rules/rule.js';
import { createMeterSyncRule } from '../core/rules/meter-sync.js';
import type { RawMessage } from '../core/model/messages.js';
import type { IngestCommit, Store } from '../ports/store.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import { waitFor } from '../../test/helpers/wait.js';
import { locationIngestor } from '../../test/helpers/ingestor.js';
import type { BatchTiming, IngestorOptions } from './ingestor.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A store whose commits wait until the test lets each one through or fails it. */
function gated(real: SqliteStore) {
  const held: { commit: IngestCommit; pass: () => void; fail: (e: Error) => void }[] = [];
  const faults = { failNextLoad: false };
  const store = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'loadStates' && faults.failNextLoad) {
        faults.failNextLoad = false;
        return () => Promise.reject(new Error('SQLITE_IOERR: disk I/O error while reading'));
      }
      if (prop !== 'commitIngest') return Reflect.get(target, prop, receiver) as unknown;
      return (commit: IngestCommit) =>
        new Promise<void>((resolve, reject) => {
          held.push({
            commit,
            pass: () => void target.commitIngest(commit).then(resolve, reject),
            fail: (e) => reject(e),
          });
        });
    },
  }) as Store;
  return {
    store,
    held,
    faults,
    /** Fails the oldest held commit and, as the commit worker does, every one queued behind it. */
    failOldest(error = new Error('disk I/O error')): void {
      for (const h of held.splice(0)) h.fail(error);
    },
    passOldest(): void {
      held.shift()?.pass();
    },
  };
}

async function setup(extra: Partial<IngestorOptions> = {}) {
  const real = tempStore();
  cleanup.push(() => real.close());
  await real.upsertAssets(
    ['1', '2'].map((n) => ({ asset: { erpAssetId: `EQ-${n}`, erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: `tag-${n}`, erpAssetId: `EQ-${n}` }] })),
  );
  const g = gated(real);
  const identity = new IdentityIndex(await real.listAssets());
  const ingestor = locationIngestor(g.store, identity, { maxBatch: 1, maxWaitMs: 1, pipelineDepth: 2, ...extra });
  return { real, g, ingestor };
}

const at = (minute: number, lat: number, tag = 'tag-1') => ({
  source: 'http',
  channel: '/v1/events',
  payload: JSON.stringify({ kind: 'position', assetId: tag, eventTime: new Date(Date.parse('2026-11-20T08:00:00Z') + minute * 60_000).toISOString(), lat, lng: 4.3 }),
  receivedAt: Date.now(),
});

describe('ingest pipeline', () => {
  it('prepares the next batch while one commits, on top of its uncommitted state', async () => {
    const { real, g, ingestor } = await setup();
    const first = ingestor.submit([at(0, 52)]);
    const second = ingestor.submit([at(1, 52)]); // same place: no new location update
    await waitFor(() => g.held.length === 2, 'both batches handed to the store before either committed');
    expect(g.held[0]?.commit.deliveries).toHaveLength(1);
    expect(g.held[1]?.commit.deliveries).toHaveLength(0);
    // A third waits: the pipeline is two deep.
    const third = ingestor.submit([at(2, 53)]);
    await new Promise((r) => setTimeout(r, 30));
    expect(g.held).toHaveLength(2);
    g.passOldest();
    await first;
    await waitFor(() => g.held.length === 2, 'the third batch prepared once a slot freed');
    g.passOldest();
    g.passOldest();
    await Promise.all([second, third]);
    expect((await real.listDeliveries({})).map((d) => d.eventTime)).toEqual([Date.parse('2026-11-20T08:02:00Z')]);
  });

  it('gives the event loop a turn between the batches of a backlog, even where commits settle at once', async () => {
    const real = tempStore();
    cleanup.push(() => real.close());
    await real.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    // Commits settled as soon as asked (the worst case: no batch ever waits for I/O), and counted.
    let commits = 0;
    const instant = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'commitIngest')
          return (c: IngestCommit) => {
            commits++;
            return target.commitIngest(c).then(() => undefined);
          };
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Store;
    const ingestor = locationIngestor(instant, new IdentityIndex(await real.listAssets()), { maxBatch: 10 });
    const backlog = Array.from({ length: 30 }, (_, b) => ingestor.submit(Array.from({ length: 10 }, (_, i) => at(b * 10 + i, 52 + (b * 10 + i) / 1000))));
    // What a timer or a socket would see: the batches handed to the store between two of its turns.
    let most = 0;
    let before = commits;
    let draining = true;
    const probe = () => {
      most = Math.max(most, commits - before);
      before = commits;
      if (draining) setImmediate(probe);
    };
    setImmediate(probe);
    await Promise.all(backlog);
    draining = false;
    expect(commits).toBe(30);
    // Every batch in a turn of its own, not the backlog in one.
    expect(most).toBe(1);
  });

  it('counts the events each rule drops as late, not duplicates, and still accepts them', async () => {
    const real = tempStore();
    cleanup.push(() => real.close());
    await real.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    const ingestor = locationIngestor(real, new IdentityIndex(await real.listAssets()));
    await ingestor.submit([at(5, 52)]);
    const r = await ingestor.submit([at(3, 53), at(5, 52), at(4, 54)]); // two older than 08:05, one the same
    expect(r).toEqual({ accepted: 3, quarantined: [] });
    expect(ingestor.stats.lateEvents).toEqual({ location: 2 });
    // The one of the same time and place is the same event sent again: counted as a duplicate.
    expect(ingestor.stats.duplicateEvents).toEqual({ location: 1 });
  });

  it('counts the events the rules drop as duplicates, a redelivery (MQTT DUP) too, and logs each batch that had any at debug', async () => {
    const real = tempStore();
    cleanup.push(() => real.close());
    await real.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    const lines: { fields: Record<string, unknown>; msg: string }[] = [];
    const debug = (fields: object, msg: string) => void lines.push({ fields: fields as Record<string, unknown>, msg });
    const noop = () => undefined;
    const logger = { error: noop, warn: noop, info: noop, debug } as unknown as IngestorOptions['logger'];
    const ingestor = locationIngestor(real, new IdentityIndex(await real.listAssets()), { logger });
    await ingestor.submit([at(5, 52)]);
    expect(lines).toEqual([]);
    expect(ingestor.stats.duplicateEvents).toEqual({});
    // Its ack lost: the broker sends it again, marked DUP. The same event: a duplicate, not late.
    await ingestor.submit([{ ...at(5, 52), redelivered: true as const }]);
    expect(ingestor.stats.duplicateEvents).toEqual({ location: 1 });
    expect(ingestor.stats.lateEvents).toEqual({});
    // A client retrying its POST, twice in one batch.
    await ingestor.submit([at(5, 52), at(5, 52)]);
    expect(ingestor.stats.duplicateEvents).toEqual({ location: 3 });
    expect(lines.map((l) => l.fields)).toEqual([{ duplicates: { location: 1 } }, { duplicates: { location: 2 } }]);
    expect(lines[0]?.msg).toMatch(/duplicates/);
    // An older event is late, not a duplicate.
    await ingestor.submit([at(4, 52)]);
    expect(ingestor.stats.duplicateEvents).toEqual({ location: 3 });
    expect(ingestor.stats.lateEvents).toEqual({ location: 1 });
  });

  it('does not count a redelivered message (MQTT DUP) a rule drops as late: it was most likely taken before', async () => {
    const real = tempStore();
    cleanup.push(() => real.close());
    await real.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    const ingestor = locationIngestor(real, new IdentityIndex(await real.listAssets()));
    await ingestor.submit([at(3, 53), at(4, 54), at(5, 52)]);
    // The ack of that batch was lost with its connection: the broker sends it all again, marked DUP.
    const r = await ingestor.submit([at(3, 53), at(4, 54), at(5, 52)].map((m) => ({ ...m, redelivered: true as const })));
    expect(r).toEqual({ accepted: 3, quarantined: [] });
    expect(ingestor.stats.lateEvents).toEqual({});
    // A late message that is not a redelivery still counts.
    await ingestor.submit([at(4, 54)]);
    expect(ingestor.stats.lateEvents).toEqual({ location: 1 });
  });

  // Found by test/chaos/crash-compare.mjs: after a kill between commit and PUBACK, the broker sends
  // the batch again (DUP) and the meter rule flagged every reading in it as out of order, so rule
  // state (and `assets meters --flagged`) differed from a run without the crash.
  it('a redelivered meter reading already taken is set aside without a flag; one not redelivered is flagged', async () => {
    const real = tempStore();
    cleanup.push(() => real.close());
    await real.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    const ingestor = locationIngestor(real, new IdentityIndex(await real.listAssets()), { rules: [createMeterSyncRule()] });
    const reading = (minute: number, hours: number) => ({
      source: 'http',
      channel: '/v1/events',
      payload: JSON.stringify({ kind: 'meter', assetId: 'tag-1', eventTime: new Date(Date.parse('2026-11-20T08:00:00Z') + minute * 60_000).toISOString(), operatingHours: hours, odometerKm: 100 + hours }),
      receivedAt: Date.now(),
    });
    const batch = [reading(1, 10.1), reading(2, 10.2), reading(3, 10.3)];
    await ingestor.submit(batch);
    await ingestor.flush();
    const before = (await real.loadRuleStates(['EQ-1'], ['meter'])).get('EQ-1')?.meter;
    expect(before).toMatchObject({ flags: [] });
    // The PUBACK of that batch was lost (the service killed after the commit): it comes again, marked DUP.
    await ingestor.submit(batch.map((m) => ({ ...m, redelivered: true as const })));
    await ingestor.flush();
    expect((await real.loadRuleStates(['EQ-1'], ['meter'])).get('EQ-1')?.meter).toEqual(before);
    // An older reading that is not a redelivery is still flagged, hours and odometer.
    await ingestor.submit([reading(2, 10.2)]);
    await ingestor.flush();
    const after = (await real.loadRuleStates(['EQ-1'], ['meter'])).get('EQ-1')?.meter as { flags: { status: string; detail: string }[] };
    expect(after.flags.map((f) => f.status)).toEqual(['out-of-order', 'out-of-order']);
  });

  it('counts the meter readings hygiene held as a possible catch-up and those set aside, by meter, once (not a replay, not a redelivery)', async () => {
    const real = tempStore();
    cleanup.push(() => real.close());
    await real.upsertAssets(['1', '2'].map((n) => ({ asset: { erpAssetId: `EQ-${n}`, erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: `tag-${n}`, erpAssetId: `EQ-${n}` }] })));
    const ingestor = locationIngestor(real, new IdentityIndex(await real.listAssets()), { rules: [createMeterSyncRule()] });
    const T = Date.parse('2026-11-01T00:00:00Z');
    const reading = (tag: string, hour: number, fields: { operatingHours?: number; odometerKm?: number }) => ({
      source: 'http',
      channel: '/v1/events',
      payload: JSON.stringify({ kind: 'meter', assetId: tag, eventTime: new Date(T + hour * 3_600_000).toISOString(), ...fields }),
      receivedAt: Date.now(),
    });
    // EQ-1: 1000 h live for 100 h, then 1100 an hour later (held), then 1000.5 (sets it aside).
    // EQ-2: 30 000 km parked for 100 h, then 35 000 an hour later (held), then 35 050 (confirms it).
    await ingestor.submit([reading('tag-1', 0, { operatingHours: 1000 }), reading('tag-1', 100, { operatingHours: 1000 }), reading('tag-2', 0, { odometerKm: 30_000 }), reading('tag-2', 100, { odometerKm: 30_000 })]);
    expect(ingestor.stats.meterReadings).toEqual({ held: { hours: 0, km: 0 }, setAside: { hours: 0, km: 0 } });
    const held = [reading('tag-1', 101, { operatingHours: 1100 }), reading('tag-2', 101, { odometerKm: 35_000 })];
    await ingestor.submit(held);
    expect(ingestor.stats.meterReadings).toEqual({ held: { hours: 1, km: 1 }, setAside: { hours: 0, km: 0 } });
    // The same readings again (a replay), or redelivered: not held anew.
    await ingestor.submit(held);
    await ingestor.submit(held.map((m) => ({ ...m, redelivered: true as const })));
    expect(ingestor.stats.meterReadings).toEqual({ held: { hours: 1, km: 1 }, setAside: { hours: 0, km: 0 } });
    await ingestor.submit([reading('tag-1', 102, { operatingHours: 1000.5 }), reading('tag-2', 102, { odometerKm: 35_050 })]);
    expect(ingestor.stats.meterReadings).toEqual({ held: { hours: 1, km: 1 }, setAside: { hours: 1, km: 0 } });
  });

  it('after a failed commit rejects what was built on it, and starts again from the store', async () => {
    const { real, g, ingestor } = await setup();
    const first = ingestor.submit([at(0, 52)]);
    const second = ingestor.submit([at(1, 52)]);
    await waitFor(() => g.held.length === 2, 'both batches held');
    g.failOldest();
    await expect(first).rejects.toThrow(/disk I\/O/);
    await expect(second).rejects.toThrow(/disk I\/O/);
    // Redelivered by the source: computed from the store (which has nothing), so the update is produced again.
    const again = ingestor.submit([at(0, 52)]);
    await waitFor(() => g.held.length === 1, 'the redelivered batch handed to the store');
    expect(g.held[0]?.commit.deliveries).toHaveLength(1);
    g.passOldest();
    await again;
    expect(await real.listDeliveries({})).toHaveLength(1);
    expect(ingestor.stats.accepted).toBe(1);
  });

  it('does not count late events again when a failed commit has the ingest log replayed', async () => {
    const { real, g, ingestor } = await setup({ checkpointMs: 3_600_000 });
    const commit = async (message: RawMessage) => {
      const done = ingestor.submit([message]);
      await waitFor(() => g.held.length === 1, 'the batch handed to the store');
      g.passOldest();
      await done;
    };
    await commit(at(5, 52));
    // One message, two events: one older than 08:05 (late), one newer, which changes the state, so the message is logged.
    await commit({ ...at(6, 52.5), payload: JSON.stringify([JSON.parse(at(3, 53).payload) as unknown, JSON.parse(at(6, 52.5).payload) as unknown]) });
    expect(ingestor.stats.lateEvents).toEqual({ location: 1 });
    expect(await real.readIngestLog()).toHaveLength(2);
    const failing = ingestor.submit([at(7, 54)]);
    await waitFor(() => g.held.length === 1, 'the failing batch handed to the store');
    g.failOldest();
    await expect(failing).rejects.toThrow(/disk I\/O/);
    // The next batch waits for the state to be rebuilt from the store and the log (both messages replayed).
    await commit(at(7, 54));
    expect(ingestor.stats.lateEvents).toEqual({ location: 1 });
  });

  it("logs a failed commit once, with what to do about the store's error (a full disk)", async () => {
    const lines: { fields: Record<string, unknown>; msg: string }[] = [];
    const error = (fields: object, msg: string) => void lines.push({ fields: fields as Record<string, unknown>, msg });
    const noop = () => undefined;
    const { g, ingestor } = await setup({ logger: { error, warn: noop, info: noop, debug: noop } as unknown as IngestorOptions['logger'] });
    const first = ingestor.submit([at(0, 52)]);
    const second = ingestor.submit([at(1, 52)]);
    await waitFor(() => g.held.length === 2, 'both batches held');
    // As the commit worker hands it on: SQLite's message, and its code.
    g.failOldest(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }));
    await expect(first).rejects.toMatchObject({ code: 'SQLITE_FULL' });
    await expect(second).rejects.toMatchObject({ code: 'SQLITE_FULL' });
    expect(lines).toEqual([
      {
        fields: { err: expect.objectContaining({ code: 'SQLITE_FULL', message: 'database or disk is full' }) as unknown, failedInARow: 1 },
        msg: expect.stringMatching(/^ingest commit failed; .*the disk holding the store \(store\.path\) is full: free space on it/) as unknown,
      },
    ]);
  });

  it('logs a run of failed commits once per 30 s with the count, and when commits succeed again', async () => {
    // Mutation: every failed commit logged (a full disk: hundreds of lines a second, each source retrying at once).
    const lines: { level: string; msg: string }[] = [];
    const log = (level: string) => (_fields: object, msg: string) => void lines.push({ level, msg });
    const clock = { t: Date.parse('2026-11-20T09:00:00Z'), now: () => clock.t };
    const { g, ingestor } = await setup({ clock, logger: { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug') } as unknown as IngestorOptions['logger'] });
    const full = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    const attempt = async (minute: number, pass: boolean) => {
      const done = ingestor.submit([at(minute, 52 + minute / 100)]);
      await waitFor(() => g.held.length === 1, 'the batch handed to the store');
      if (pass) return void (g.passOldest(), await done);
      g.failOldest(full());
      await expect(done).rejects.toMatchObject({ code: 'SQLITE_FULL' });
    };
    await attempt(0, true); // something in the ingest log, so each failure rebuilds state from it
    for (let i = 1; i <= 3; i++) {
      await attempt(i, false);
      clock.t += 1000;
    }
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
    clock.t += 30_000;
    await attempt(4, false);
    const errors = lines.filter((l) => l.level === 'error').map((l) => l.msg);
    expect(errors).toHaveLength(2);
    expect(errors[1]).toMatch(/\(2 more commits failed since the last report\)$/);
    await attempt(5, true);
    // Rebuilt after each failure; said after the reported ones only.
    expect(lines.filter((l) => l.msg === 'rule state rebuilt from the ingest log')).toHaveLength(2);
    expect(lines.at(-1)).toEqual({ level: 'info', msg: 'ingest commits succeed again after 4 failed' });
    // A new run starts over: its first failure is logged at once.
    await attempt(6, false);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(3);
  });

  it('a batch that fails before reaching the store leaves the batches still committing alone', async () => {
    const { real, g, ingestor } = await setup();
    const first = ingestor.submit([at(0, 52)]);
    await waitFor(() => g.held.length === 1, 'the first batch handed to the store');
    g.faults.failNextLoad = true;
    await expect(ingestor.submit([at(0, 40, 'tag-2')])).rejects.toThrow(/disk I\/O/);
    // Built on the first batch's uncommitted state, which is still valid: no second update.
    const third = ingestor.submit([at(1, 52)]);
    await waitFor(() => g.held.length === 2, 'the third batch handed to the store');
    expect(g.held[1]?.commit.deliveries).toHaveLength(0);
    g.passOldest();
    g.passOldest();
    await Promise.all([first, third]);
    expect(await real.listDeliveries({})).toHaveLength(1);
  });

  it('looks up an asset with no stored state once, not every batch, and never for events no rule reads', async () => {
    const real = tempStore();
    cleanup.push(() => real.close());
    await real.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    const looked: string[][] = [];
    const store = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop !== 'loadStates') return Reflect.get(target, prop, receiver) as unknown;
        return (ids: readonly string[]) => {
          looked.push([...ids]);
          return target.loadStates(ids);
        };
      },
    }) as Store;
    // A rule that reads positions and never keeps state: the asset stays without stored state.
    const quiet: Rule = { name: 'quiet', kinds: ['position'], apply: (state) => ({ state, deliveries: [] }) };
    const ingestor = locationIngestor(store, new IdentityIndex(await real.listAssets()), { maxBatch: 1, maxWaitMs: 1, rules: [quiet] });
    const sensor = (minute: number) => ({ ...at(minute, 0), payload: JSON.stringify({ kind: 'sensor', assetId: 'tag-1', eventTime: new Date(Date.parse('2026-11-20T08:00:00Z') + minute * 60_000).toISOString(), values: { t: { value: 1 } } }) });
    await ingestor.submit([sensor(0)]);
    await ingestor.submit([sensor(1)]);
    expect(looked).toEqual([]); // no rule reads sensor events
    await ingestor.submit([at(2, 52)]);
    await ingestor.submit([at(3, 52)]);
    expect(looked).toEqual([['EQ-1']]);
    expect(ingestor.stats.accepted).toBe(4);
  });

  it('uses state it just loaded even when a tiny cache evicted it within the batch', async () => {
    const real = tempStore();
    cleanup.push(() => real.close());
    await real.upsertAssets(
      ['1', '2'].map((n) => ({ asset: { erpAssetId: `EQ-${n}`, erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: `tag-${n}`, erpAssetId: `EQ-${n}` }] })),
    );
    const identity = new IdentityIndex(await real.listAssets());
    const first = locationIngestor(real, identity);
    await first.submit([at(0, 52, 'tag-1'), at(0, 40, 'tag-2')]);
    await first.flush(); // state stored
    expect(await real.listDeliveries({})).toHaveLength(2);
    // A new process with room for one asset: both are loaded in one batch, the first is evicted
    // again at once, and must still be processed from its stored state (no movement: no update).
    const second = locationIngestor(real, identity, { stateCacheSize: 1 });
    await second.submit([at(1, 52, 'tag-1'), at(1, 40, 'tag-2')]);
    await second.flush();
    // A second update would have replaced the pending one with the newer fix (minute 1).
    const times = (await real.listDeliveries({})).map((d) => d.eventTime);
    expect(times).toEqual([Date.parse('2026-11-20T08:00:00Z'), Date.parse('2026-11-20T08:00:00Z')]);
  });
});

/** {@link setup}, with the timings of the committed batches (`onBatch`) collected. */
async function timed() {
  const timings: BatchTiming[] = [];
  return { ...(await setup({ maxBatch: 10, onBatch: (t) => timings.push(t) })), timings };
}

describe('ingest timings (onBatch)', () => {
  it('times each committed batch from its oldest message to the commit, and a checkpoint with the assets it stored', async () => {
    const { g, ingestor, timings } = await timed();
    const submitted = performance.now();
    const first = ingestor.submit([at(0, 52), at(0, 51, 'tag-2')]);
    await waitFor(() => g.held.length === 1, 'the batch handed to the store');
    const heldFrom = performance.now();
    await new Promise((r) => setTimeout(r, 40));
    expect(timings).toEqual([]); // not before its commit
    const heldFor = (performance.now() - heldFrom) / 1000;
    g.passOldest();
    await first;
    const waited = (performance.now() - submitted) / 1000;
    expect(timings).toHaveLength(1);
    const [batch] = timings;
    expect(batch?.messages).toBe(2);
    expect(batch?.checkpoint).toBeUndefined();
    // It waited at least as long as the commit was held back above, and no longer than the test did.
    expect(batch?.waitSeconds).toBeGreaterThanOrEqual(heldFor);
    expect(batch?.waitSeconds).toBeLessThanOrEqual(waited);

    // Both assets' location state changed: the checkpoint stores the two, and carries no message.
    expect(ingestor.stats.lastCheckpoint).toBeUndefined();
    const flushed = ingestor.flush();
    await waitFor(() => g.held.length === 1, 'the checkpoint handed to the store');
    expect(g.held[0]?.commit.checkpoint).toBe(true);
    g.passOldest();
    await flushed;
    expect(timings).toHaveLength(2);
    expect(timings[1]).toMatchObject({ messages: 0, checkpoint: { assets: 2 } });
    expect(timings[1]?.checkpoint?.seconds).toBeGreaterThan(0);
    expect(timings[1]).not.toHaveProperty('waitSeconds');
    // What `status` shows of it.
    expect(ingestor.stats.lastCheckpoint).toMatchObject({ assets: 2 });
    expect(ingestor.stats.lastCheckpoint?.storedAt).toBeGreaterThan(Date.now() - 60_000);
  });

  it('does not time a batch that did not commit', async () => {
    const { g, ingestor, timings } = await timed();
    const failed = ingestor.submit([at(0, 52)]);
    await waitFor(() => g.held.length === 1, 'the batch handed to the store');
    g.failOldest(new Error('SQLITE_FULL: database or disk is full'));
    await expect(failed).rejects.toThrow(/SQLITE_FULL/);
    expect(timings).toEqual([]);
  });

  it('an observer that throws does not fail a batch that committed: it is logged', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const { g, ingestor } = await setup({
      logger,
      onBatch: () => {
        throw new Error('metrics registry gone');
      },
    });
    const done = ingestor.submit([at(0, 52)]);
    await waitFor(() => g.held.length === 1, 'the batch handed to the store');
    g.passOldest();
    expect(await done).toEqual({ accepted: 1, quarantined: [] });
    expect(lines.join('')).toContain('recording ingest timings failed; the batch is committed');
    expect(lines.join('')).toContain('metrics registry gone');
  });
});
