/**
 * Graceful shutdown through the real engine parts: what feeds the pipeline stops before the ingest
 * queue's last flush, so a clean stop leaves the rule state stored and the ingest log empty.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../adapters/log/logger.js';
import { SqliteStore } from '../adapters/store/sqlite/sqlite-store.js';
import { IdentityIndex } from '../core/identity/resolver.js';
import { systemClock } from '../ports/clock.js';
import type { ScheduledTask, TaskContext } from '../ports/task.js';
import { tempStorePath } from '../../test/helpers/temp-store.js';
import { locationIngestor } from '../../test/helpers/ingestor.js';
import { waitFor } from '../../test/helpers/wait.js';
import { Dispatcher } from './dispatcher.js';
import { Engine, readRuntimeSnapshot } from './engine.js';
import { TaskScheduler } from './scheduler.js';
import { ReplayStoppedError } from './ingestor.js';

const logger = createLogger('silent');
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** The engine's parts over a new, empty store (closed after the test), with no task and no destination. */
function emptyEngineParts() {
  const path = tempStorePath();
  const store = new SqliteStore({ path, synchronous: 'normal' });
  cleanup.push(() => store.close());
  const identity = { current: new IdentityIndex([]) };
  const ingestor = locationIngestor(store, identity.current);
  const scheduler = new TaskScheduler([], () => ({}) as TaskContext, systemClock, logger);
  const dispatcher = new Dispatcher({ store, clock: systemClock, destinations: [], logger });
  return { path, store, identity, ingestor, scheduler, dispatcher };
}

describe('engine shutdown', () => {
  it('lets a scheduled task that was feeding the pipeline finish before the last flush: the stop is clean', async () => {
    const path = tempStorePath();
    const store = new SqliteStore({ path, synchronous: 'normal' });
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'inventory', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    const identity = { current: new IdentityIndex(await store.listAssets()) };
    const ingestor = locationIngestor(store, identity.current, { checkpointMs: 3_600_000 });
    // A task in the middle of its work when the stop begins (a telematics page on its way): the
    // page it already has goes into the pipeline, then it stops.
    let working: () => void = () => undefined;
    const started = new Promise<void>((r) => (working = r));
    const task: ScheduledTask = {
      name: 'pull',
      schedule: { everyMs: 3_600_000 },
      async run(ctx) {
        working();
        await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
        await ctx.sink.submit([{ source: 'http', channel: 'pull', payload: JSON.stringify({ kind: 'position', assetId: 'tag-1', eventTime: new Date().toISOString(), lat: 50, lng: 10 }), receivedAt: Date.now() }]);
      },
    };
    const scheduler = new TaskScheduler([task], (signal) => ({ store, clock: systemClock, sink: ingestor, signal }) as unknown as TaskContext, systemClock, logger);
    const dispatcher = new Dispatcher({ store, clock: systemClock, destinations: [], logger });
    const engine = new Engine({ store, clock: systemClock, ingestor, dispatcher, scheduler, sources: [], identity, logger, graceMs: 1000 });
    await engine.start();
    void scheduler.runNow('pull');
    await started;
    await engine.stop();
    expect(engine.state).toBe('stopped');

    const reopened = new SqliteStore({ path, synchronous: 'normal' });
    cleanup.push(() => reopened.close());
    const counters = await reopened.counters();
    expect(counters.eventsAccepted).toBe(1);
    expect(counters.ingestLog).toBe(0); // no replay needed at the next start
    expect((await reopened.loadStates(['EQ-1'])).get('EQ-1')).toBeDefined();
  });

  it('a stop a step of which failed (the ingest flush) leaves its snapshot saying it failed, not that it stopped cleanly', async () => {
    // Was `stopped` in the snapshot, so `status` said a clean stop while the process exited 1.
    const { path, store, identity, ingestor, scheduler, dispatcher } = emptyEngineParts();
    const engine = new Engine({ store, clock: systemClock, ingestor, dispatcher, scheduler, sources: [], identity, logger, graceMs: 1000 });
    await engine.start();
    ingestor.flush = () => Promise.reject(new Error('disk I/O error'));
    await expect(engine.stop()).rejects.toThrow(AggregateError);
    expect(engine.state).toBe('failed');
    const reopened = new SqliteStore({ path, synchronous: 'normal' });
    cleanup.push(() => reopened.close());
    expect(await readRuntimeSnapshot(reopened)).toMatchObject({ state: 'failed', stopFailed: true });
  });

  it("closes each destination's connector once dispatch has stopped (what a connector holds is let go)", async () => {
    const { store, identity, ingestor, scheduler, dispatcher } = emptyEngineParts();
    const steps: string[] = [];
    const stopDispatch = dispatcher.stop.bind(dispatcher);
    dispatcher.stop = async (graceMs: number) => {
      await stopDispatch(graceMs);
      steps.push('dispatch stopped');
    };
    const connectors = [
      { name: 'erp', close: () => Promise.resolve(void steps.push('erp closed')) },
      { name: 'plain' }, // no close: nothing to let go
    ];
    const engine = new Engine({ store, clock: systemClock, ingestor, dispatcher, scheduler, sources: [], identity, logger, graceMs: 1000, connectors });
    await engine.start();
    await engine.stop();
    expect(steps).toEqual(['dispatch stopped', 'erp closed']);
  });

  it('a stop that comes while the engine starts (a signal during start) leaves it stopped: no source started after, not ready', async () => {
    const { store, identity, ingestor, scheduler, dispatcher } = emptyEngineParts();
    let connect: () => void = () => undefined;
    const connecting = new Promise<void>((r) => (connect = r));
    const started: string[] = [];
    const source = (name: string, start: () => Promise<void>) => ({ name, start: async () => (await start(), void started.push(name)), stop: () => Promise.resolve() });
    let slowConnecting = false;
    const slow = () => ((slowConnecting = true), connecting);
    const engine = new Engine({ store, clock: systemClock, ingestor, dispatcher, scheduler, sources: [source('slow', slow), source('next', () => Promise.resolve())], identity, logger, graceMs: 1000 });
    const starting = engine.start().then(
      () => 'started',
      (err: unknown) => `failed: ${(err as Error).message}`,
    );
    // The stop comes while the slow source connects (not after a fixed sleep: a loaded machine can take longer to get there).
    await waitFor(() => slowConnecting, 'the slow source connecting');
    await engine.stop();
    connect();
    await starting;
    expect(started).toEqual(['slow']); // the one already connecting; the next was never started
    expect(engine.state).toBe('stopped');
  });

  it('a stop during the replay of a long ingest log at start ends the replay between chunks, leaving the log for the next start', async () => {
    // Was: the signal took effect only once the whole log had been replayed (minutes for a large one).
    const path = tempStorePath();
    const first = new SqliteStore({ path, synchronous: 'normal' });
    await first.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'inventory', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    const assets = new IdentityIndex(await first.listAssets());
    // A crash leaves 20 logged batches (each a chunk of the replay) and no checkpoint.
    const crashed = locationIngestor(first, assets, { checkpointMs: 3_600_000 });
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 20; i++) {
      const at = new Date(t0 + i * 1000).toISOString();
      await crashed.submit([{ source: 'http', channel: 'c', payload: JSON.stringify({ kind: 'position', assetId: 'tag-1', eventTime: at, lat: 50 + i * 0.01, lng: 10 }), receivedAt: Date.now() }]);
    }
    await first.close();

    const lines: { msg: string; replayed?: number; messages?: number }[] = [];
    const seen = createLogger('warn', undefined, { write: (l: string) => void lines.push(JSON.parse(l) as { msg: string }) });
    const store = new SqliteStore({ path, synchronous: 'normal' });
    expect((await store.counters()).ingestLog).toBe(20);
    const identity = { current: new IdentityIndex(await store.listAssets()) };
    const made: { engine?: Engine } = {};
    let stopping: Promise<void> | undefined;
    // The signal comes while the replay runs its first chunk (which reads EQ-1's stored state).
    const loadStates = store.loadStates.bind(store);
    store.loadStates = (ids) => ((stopping ??= made.engine?.stop()), loadStates(ids));
    const ingestor = locationIngestor(store, identity.current, { logger: seen });
    const scheduler = new TaskScheduler([], () => ({}) as TaskContext, systemClock, seen);
    const dispatcher = new Dispatcher({ store, clock: systemClock, destinations: [], logger: seen });
    const engine = (made.engine = new Engine({ store, clock: systemClock, ingestor, dispatcher, scheduler, sources: [], identity, logger: seen, graceMs: 1000 }));
    await engine.start();
    await stopping;
    expect(engine.state).toBe('stopped');
    const stopped = lines.find((l) => l.msg.startsWith('stopped replaying the ingest log'));
    expect(stopped?.msg).toBe('stopped replaying the ingest log for the stop asked for, after 1 of 20 messages: nothing is lost, the next start replays the whole log');
    // Nothing whole to store: a checkpoint asked for now (a job's) is refused, not answered as stored.
    await expect(ingestor.checkpoint()).rejects.toThrow(ReplayStoppedError);

    // Nothing lost: the whole log is still there, and the next start replays and stores it.
    const reopened = new SqliteStore({ path, synchronous: 'normal' });
    cleanup.push(() => reopened.close());
    expect((await reopened.counters()).ingestLog).toBe(20);
    expect((await reopened.loadStates(['EQ-1'])).get('EQ-1')).toBeUndefined();
    const again = locationIngestor(reopened, identity.current);
    await again.flush();
    expect((await reopened.counters()).ingestLog).toBe(0);
    expect(JSON.stringify((await reopened.loadStates(['EQ-1'])).get('EQ-1'))).toContain('50.19');
  });

  it('names what the start waits for while it is not ready (a source that cannot reach its broker)', async () => {
    const { store, identity, ingestor, scheduler, dispatcher } = emptyEngineParts();
    let connect: () => void = () => undefined;
    const connecting = new Promise<void>((r) => (connect = r));
    let connectCalled = false;
    const source = { name: 'mqtt:yard', start: () => ((connectCalled = true), connecting), stop: () => Promise.resolve() };
    const engine = new Engine({ store, clock: systemClock, ingestor, dispatcher, scheduler, sources: [source], identity, logger, graceMs: 1000 });
    expect(engine.notReadyReason()).toBe('not started yet');
    const starting = engine.start();
    await waitFor(() => connectCalled, 'the source connecting'); // not a fixed sleep: a loaded machine can take longer to get there
    expect(engine.notReadyReason()).toBe('starting: connecting source mqtt:yard (the log says why, if it cannot)');
    connect();
    await starting;
    expect(engine.notReadyReason()).toBeUndefined();
    await engine.stop();
    expect(engine.notReadyReason()).toBe('stopped');
  });

  it('names each step of the start it waits for: the ingest log replay, then delivery', async () => {
    const { store, identity, ingestor, scheduler, dispatcher } = emptyEngineParts();
    let replayed: () => void = () => undefined;
    let delivering: () => void = () => undefined;
    const flush = ingestor.flush.bind(ingestor);
    // Only the start's calls wait (stop() flushes too).
    ingestor.flush = () => ((ingestor.flush = flush), new Promise<void>((r) => (replayed = r)).then(flush));
    const startDelivery = dispatcher.start.bind(dispatcher);
    dispatcher.start = () => ((dispatcher.start = startDelivery), new Promise<void>((r) => (delivering = r)).then(startDelivery));
    const engine = new Engine({ store, clock: systemClock, ingestor, dispatcher, scheduler, sources: [], identity, logger, graceMs: 1000 });
    const starting = engine.start();
    await waitFor(() => engine.notReadyReason() === 'starting: replaying the ingest log (rule state after a crash)', 'the replay named');
    replayed();
    await waitFor(() => engine.notReadyReason() === 'starting: starting delivery', 'delivery named');
    delivering();
    await starting;
    expect(engine.notReadyReason()).toBeUndefined();
    await engine.stop();
  });

  it('writes its status snapshot (starting, replaying the ingest log) while the replay runs, for `status` and a command refused the store', async () => {
    // Was: no snapshot until the replay had ended, so `status` said "not running" and the log "from a run that did not stop cleanly".
    const { store, identity, ingestor, scheduler, dispatcher } = emptyEngineParts();
    let replayed: () => void = () => undefined;
    const flush = ingestor.flush.bind(ingestor);
    ingestor.flush = () => ((ingestor.flush = flush), new Promise<void>((r) => (replayed = r)).then(flush));
    const engine = new Engine({ store, clock: systemClock, ingestor, dispatcher, scheduler, sources: [], identity, logger, graceMs: 1000 });
    const starting = engine.start();
    const snap = await waitFor(async () => {
      const s = await readRuntimeSnapshot(store);
      return s?.state === 'starting' ? s : undefined;
    }, 'a snapshot during the replay');
    expect(snap).toMatchObject({ pid: process.pid, state: 'starting', startStep: 'replaying the ingest log (rule state after a crash)' });
    replayed();
    await starting;
    await engine.stop();
    expect(engine.state).toBe('stopped');
  });

  it.each([
    ['draining', 'stopping'],
    ['failed', 'failed: the log says why'],
  ] as const)('while %s, /readyz says %s', (state, reason) => {
    const store = new SqliteStore({ path: tempStorePath(), synchronous: 'normal' });
    cleanup.push(() => store.close());
    const identity = { current: new IdentityIndex([]) };
    const engine = new Engine({
      store,
      clock: systemClock,
      ingestor: locationIngestor(store, identity.current),
      dispatcher: new Dispatcher({ store, clock: systemClock, destinations: [], logger }),
      scheduler: new TaskScheduler([], () => ({}) as TaskContext, systemClock, logger),
      sources: [],
      identity,
      logger,
      graceMs: 1000,
    });
    engine.state = state;
    expect(engine.notReadyReason()).toBe(reason);
  });
});

describe('engine shutdown: what the snapshot says meanwhile', () => {
  // Was: the ticker stopped as the stop began, so through a long stop (the dispatch grace, a large
  // fleet's last checkpoint) the last snapshot said "running" and aged: `status` said "running but
  // not answering … as when it cannot write the store (a full disk …)" of a service stopping as asked.
  it('says draining at once and keeps saying so, fresh, until its last snapshot says stopped', async () => {
    const { path, store, identity, ingestor, scheduler, dispatcher } = emptyEngineParts();
    let finish: () => void = () => undefined;
    const stopDispatch = dispatcher.stop.bind(dispatcher);
    dispatcher.stop = (graceMs: number) => new Promise<void>((r) => (finish = r)).then(() => stopDispatch(graceMs));
    const engine = new Engine({ store, clock: systemClock, ingestor, dispatcher, scheduler, sources: [], identity, logger, graceMs: 1000 });
    await engine.start();
    const stopping = engine.stop();
    const first = await waitFor(async () => {
      const s = await readRuntimeSnapshot(store);
      return s?.state === 'draining' ? s : undefined;
    }, 'a draining snapshot');
    // Still written each second while the stop waits for dispatch.
    const later = await waitFor(async () => {
      const s = await readRuntimeSnapshot(store);
      return s !== undefined && s.at >= first.at + 1000 ? s : undefined;
    }, 'a newer snapshot');
    expect(later.state).toBe('draining');
    finish();
    await stopping;
    const reopened = new SqliteStore({ path, synchronous: 'normal' });
    cleanup.push(() => reopened.close());
    expect((await readRuntimeSnapshot(reopened))?.state).toBe('stopped');
  });

  it('a stop before the start (a signal while the HTTP server opened) leaves nothing started after it', async () => {
    const { store, identity, ingestor, scheduler, dispatcher } = emptyEngineParts();
    const started: string[] = [];
    const engine = new Engine({ store, clock: systemClock, ingestor, dispatcher, scheduler, sources: [{ name: 's', start: () => Promise.resolve(void started.push('s')), stop: () => Promise.resolve() }], identity, logger, graceMs: 1000 });
    await engine.stop();
    await engine.start();
    expect([engine.state, started]).toEqual(['stopped', []]);
  });
});
