/**
 * The engine's handling of its sources: stopped first at shutdown (their in-flight commits finish
 * before the last flush and the store's close), and stopped even when their start finishes only
 * after the stop began.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../adapters/log/logger.js';
import { SqliteStore } from '../adapters/store/sqlite/sqlite-store.js';
import { IdentityIndex } from '../core/identity/resolver.js';
import { systemClock } from '../ports/clock.js';
import type { IngestSink, Source } from '../ports/source.js';
import type { TaskContext } from '../ports/task.js';
import { locationIngestor } from '../../test/helpers/ingestor.js';
import { tempStorePath } from '../../test/helpers/temp-store.js';
import { waitFor } from '../../test/helpers/wait.js';
import { Dispatcher } from './dispatcher.js';
import { Engine, RUNTIME_NS } from './engine.js';
import { TaskScheduler } from './scheduler.js';

const logger = createLogger('silent');
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function parts(sources: Source[]) {
  const path = tempStorePath();
  const store = new SqliteStore({ path, synchronous: 'normal' });
  await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'inventory', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
  const identity = { current: new IdentityIndex(await store.listAssets()) };
  const ingestor = locationIngestor(store, identity.current, { checkpointMs: 3_600_000 });
  const scheduler = new TaskScheduler([], () => ({}) as TaskContext, systemClock, logger);
  const dispatcher = new Dispatcher({ store, clock: systemClock, destinations: [], logger });
  const engine = new Engine({ store, clock: systemClock, ingestor, dispatcher, scheduler, sources, identity, logger, graceMs: 1000 });
  return { path, store, ingestor, engine, identity };
}

const position = (lat: number) => ({ source: 'http', channel: 'feed', payload: JSON.stringify({ kind: 'position', assetId: 'tag-1', eventTime: new Date().toISOString(), lat, lng: 10 }), receivedAt: Date.now() });

describe('engine: sources at shutdown', () => {
  // Mutation: the shutdown not stopping the sources.
  it('stops each source first and lets its in-flight commit finish before the last flush; the source acknowledges it', async () => {
    const log: string[] = [];
    let sink: IngestSink | undefined;
    const inflight: Promise<void>[] = [];
    const source: Source = {
      name: 'feed',
      start: (s) => {
        sink = s;
        return Promise.resolve();
      },
      async stop() {
        log.push('source stop');
        await Promise.all(inflight);
        log.push('source stopped');
      },
    };
    const { path, store, ingestor, engine } = await parts([source]);
    const flush = ingestor.flush.bind(ingestor);
    ingestor.flush = () => (log.push('flush'), flush());
    const close = store.close.bind(store);
    store.close = () => (log.push('store close'), close());
    await engine.start();
    log.length = 0;

    // A message received just before the stop: acknowledged to its sender once committed.
    inflight.push(sink?.submit([position(50)]).then((r) => void log.push(`acked ${r.accepted}`)) ?? Promise.resolve());
    await engine.stop();
    expect(log).toEqual(['source stop', 'acked 1', 'source stopped', 'flush', 'store close']);
    expect(engine.state).toBe('stopped');

    const reopened = new SqliteStore({ path, synchronous: 'normal' });
    cleanup.push(() => reopened.close());
    const counters = await reopened.counters();
    expect(counters.eventsAccepted).toBe(1);
    expect(counters.ingestLog).toBe(0);
  });

  // Mutation: a source whose start finishes after the stop began is left running.
  it('stops a source whose start finishes only after the stop began', async () => {
    const log: string[] = [];
    let connect: () => void = () => undefined;
    const connecting = new Promise<void>((r) => (connect = r));
    const source: Source = {
      name: 'slow',
      async start() {
        log.push('start');
        await connecting;
        log.push('started');
      },
      stop() {
        log.push('stop');
        return Promise.resolve();
      },
    };
    const { engine } = await parts([source]);
    const starting = engine.start().catch(() => undefined);
    // The stop comes while the source connects (not a fixed sleep: on a loaded machine the start can take longer to get there).
    await waitFor(() => log.includes('start'), 'the source connecting');
    await engine.stop();
    connect();
    await starting;
    expect(log).toEqual(['start', 'stop', 'started', 'stop']); // stopped again once its start finished
    expect(engine.state).toBe('stopped');
  });
});

describe('engine: the runtime snapshot', () => {
  it('says per source whether it is connected now (sources that cannot tell are left out)', async () => {
    let up = true;
    const mqtt: Source = { name: 'mqtt:yard', start: () => Promise.resolve(), stop: () => Promise.resolve(), connected: () => up };
    const other: Source = { name: 'feed', start: () => Promise.resolve(), stop: () => Promise.resolve() };
    const { engine } = await parts([mqtt, other]);
    cleanup.push(() => engine.stop());
    await engine.start();
    expect((await engine.snapshot()).sources).toEqual({ 'mqtt:yard': { connected: true } });
    up = false;
    expect((await engine.snapshot()).sources).toEqual({ 'mqtt:yard': { connected: false } });
  });

  it('lists the subscriptions a source says its broker refused', async () => {
    const refused = [{ filter: 'yard/secret/+', key: 'sources.mqtt.0.topics.1.filter', reasonCode: 0x87, reason: 'reason code 0x87 (Not authorized)' }];
    const mqtt: Source = { name: 'mqtt:yard', start: () => Promise.resolve(), stop: () => Promise.resolve(), connected: () => true, refusedSubscriptions: () => refused };
    const { engine } = await parts([mqtt]);
    cleanup.push(() => engine.stop());
    await engine.start();
    expect((await engine.snapshot()).sources).toEqual({ 'mqtt:yard': { connected: true, refusedSubscriptions: refused } });
  });
});

describe('engine: the runtime snapshot of source counters', () => {
  it("carries each source's counters (for /metrics), without repeating whether it is connected", async () => {
    const stats = { received: 9, acked: 7, inflight: 1, leftForRedelivery: 1, droppedQos0: 2, submitFailures: 1, connects: 2 };
    const mqtt: Source = { name: 'mqtt:yard', start: () => Promise.resolve(), stop: () => Promise.resolve(), connected: () => true, stats: () => ({ ...stats, connected: true }) as typeof stats };
    const { engine } = await parts([mqtt]);
    cleanup.push(() => engine.stop());
    await engine.start();
    expect((await engine.snapshot()).sources).toEqual({ 'mqtt:yard': { connected: true, stats } });
  });
});

describe('engine: the runtime snapshot of failures quoting a secret', () => {
  it("records a failing task's error and a source's connection error as the composition root redacts them", async () => {
    const secret = 'erp-Token-31415926';
    const failure = `GET https://svc:db-pass-42@erp.example.com/wo failed: ${secret} refused`;
    const task = { name: 'feedback', schedule: { everyMs: 3_600_000 }, run: () => Promise.reject(new Error(failure)) };
    const scheduler = new TaskScheduler([task], () => ({}) as TaskContext, systemClock, logger);
    const source: Source = { name: 'mqtt:yard', start: () => Promise.resolve(), stop: () => Promise.resolve(), connected: () => false, connectionError: () => ({ key: 'sources.mqtt.0.url', error: failure }) };
    const { store, ingestor, identity } = await parts([]);
    const dispatcher = new Dispatcher({ store, clock: systemClock, destinations: [], logger });
    const redact = (text: string) => text.replaceAll(secret, '[REDACTED]').replaceAll('db-pass-42', '[REDACTED]');
    const engine = new Engine({ store, clock: systemClock, ingestor, dispatcher, scheduler, sources: [source], identity, logger, graceMs: 1000, redact });
    await scheduler.runNow('feedback');
    const snap = await engine.snapshot();
    expect(snap.tasks?.feedback?.error).toBe('GET https://svc:[REDACTED]@erp.example.com/wo failed: [REDACTED] refused');
    expect(snap.sources?.['mqtt:yard']?.connectionError?.error).toBe('GET https://svc:[REDACTED]@erp.example.com/wo failed: [REDACTED] refused');
    await store.close();
  });
});

describe('engine: the runtime snapshot while a source connects at start', () => {
  // A broker down at start: delivery (and HTTP intake) ran, but no snapshot was written until every
  // source had connected, so `assetbridge status` said "not running" for as long as the broker was down.
  it('is written once delivery runs, saying starting and the step, and says running once the source connected', async () => {
    let connect: () => void = () => undefined;
    const connecting = new Promise<void>((r) => (connect = r));
    const mqtt: Source = { name: 'mqtt:yard', start: () => connecting, stop: () => Promise.resolve(), connected: () => false };
    const { store, engine } = await parts([mqtt]);
    cleanup.push(() => engine.stop());
    const starting = engine.start();
    const stored = async () => JSON.parse((await store.kvGet(RUNTIME_NS, 'snapshot')) ?? '{}') as { state?: string; startStep?: string; sources?: unknown };
    await waitFor(async () => (await stored()).startStep?.startsWith('connecting'), 'the snapshot naming the connecting source');
    expect(await stored()).toMatchObject({ state: 'starting', startStep: 'connecting source mqtt:yard (the log says why, if it cannot)', sources: { 'mqtt:yard': { connected: false } } });
    connect();
    await starting;
    expect((await stored()).state).toBe('running');
    expect((await stored()).startStep).toBeUndefined();
  });
});

describe('engine: a store that cannot be written while it runs', () => {
  it('makes /readyz not ready with the advice while the tick cannot write the store (a full disk), logs it once, and is ready again when it can', async () => {
    const { store, engine } = await parts([]);
    const lines: [string, string][] = [];
    const capture = (level: string) => (_: object, msg: string) => void lines.push([level, msg]);
    Object.assign(engine.parts, { logger: { info: capture('info'), warn: capture('warn'), error: capture('error'), debug: capture('debug') } });
    await engine.start();
    cleanup.push(() => engine.stop());
    expect(engine.ready()).toBe(true);
    const kvSet = store.kvSet.bind(store);
    store.kvSet = () => Promise.reject(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }));
    // Two ticks (a second apart, later on a busy machine): the failure, then its repeat.
    await waitFor(() => lines.some(([level, msg]) => level === 'debug' && msg === 'engine housekeeping failed again the same way'), 'a second tick that cannot write the store');
    expect(engine.ready()).toBe(false);
    expect(engine.notReadyReason()).toMatch(/^the store cannot be written \(database or disk is full\): the disk holding the store \(store.path\) is full/);
    expect(lines.filter(([level]) => level === 'error')).toHaveLength(1);
    store.kvSet = kvSet;
    await waitFor(() => engine.ready(), 'a tick that writes the store again');
    expect(lines.at(-1)).toEqual(['info', 'engine housekeeping works again']);
  });
});
