/**
 * Idle watermarks through the real ingestor and store: an asset that goes quiet right after the
 * reading that crosses its service point gets its work order without reporting again; the
 * watermark is logged like any message, so a crash before the next checkpoint replays it to the
 * same state; and no source can send one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { rulesSchema } from '../../config/rules-schema.js';
import { IdentityIndex } from '../../core/identity/resolver.js';
import { ENGINE_SOURCE } from '../../core/model/events.js';
import type { RawMessage } from '../../core/model/messages.js';
import { createCanonicalDecoder } from '../../core/normalize/canonical-decoder.js';
import { createRules } from '../../core/rules/index.js';
import type { TaskContext } from '../../ports/task.js';
import { tempStorePath } from '../../../test/helpers/temp-store.js';
import { DecoderRegistry, Ingestor } from '../ingestor.js';
import { createRuleTasks } from './index.js';
import { createIdleWatermarkTask, watermarkMessage } from './idle-watermark.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const T0 = Date.parse('2026-11-20T08:00:00Z');
const MIN = 60_000;
const config = rulesSchema.parse({
  allowedLateness: '30m',
  idleAfter: '1h',
  zones: { inline: [{ name: 'yard', locationCode: 'Y1', circle: { lat: 50, lng: 10, radiusM: 300 } }], enterDwellMs: 0, exitDwellMs: 0 },
  maintenance: { serviceIntervals: [{ name: 'service-250h', everyHours: 250 }] },
});

async function setup(path = tempStorePath(), stateCacheSize?: number) {
  const store = new SqliteStore({ path, synchronous: 'normal' });
  cleanup.push(() => store.close());
  await store.upsertAssets([0, 1].map((a) => ({ asset: { erpAssetId: `EQ-${a}`, erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: `tag-${a}`, erpAssetId: `EQ-${a}` }] })));
  const clock = { t: T0 };
  const ingestor = new Ingestor({
    store,
    clock: { now: () => clock.t },
    decoders: new DecoderRegistry().register('http', createCanonicalDecoder()).register(ENGINE_SOURCE, createCanonicalDecoder()),
    rules: createRules(config),
    identity: () => identity,
    validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0 },
    defaultDestination: 'erp',
    maxWaitMs: 1,
    checkpointMs: 86_400_000, // no checkpoint in between: the log holds every batch
    ...(stateCacheSize !== undefined ? { stateCacheSize } : {}),
  });
  const identity = new IdentityIndex(await store.listAssets());
  const event = (asset: number, min: number, body: object): RawMessage => ({ source: 'http', channel: '/v1/events', payload: JSON.stringify({ assetId: `tag-${asset}`, eventTime: new Date(T0 + min * MIN).toISOString(), ...body }), receivedAt: T0 + min * MIN });
  const keys = async () => (await store.listDeliveries({ limit: 1000 })).map((d) => `${d.operation} ${d.businessKey}`).sort();
  return { store, ingestor, clock, event, keys };
}

describe('idle watermarks', () => {
  it('decide what the rules of a quiet asset hold: the reading that crosses the service point, the last position', async () => {
    const { store, ingestor, clock, event, keys } = await setup();
    // EQ-0 crosses 250 h and drives into the yard, then goes quiet; EQ-1 keeps reporting.
    clock.t = T0 + 46 * MIN;
    await ingestor.submit([event(0, 0, { kind: 'meter', operatingHours: 249.5 }), event(0, 45, { kind: 'meter', operatingHours: 250.2 }), event(0, 46, { kind: 'position', lat: 50, lng: 10 })]);
    await ingestor.submit([event(1, 0, { kind: 'meter', operatingHours: 10 })]);
    expect(await keys()).toEqual([]); // the crossing and the position are held for the 30 min lateness
    clock.t = T0 + 90 * MIN;
    await ingestor.submit([event(1, 89, { kind: 'meter', operatingHours: 10.6 })]);
    expect(ingestor.idleHolding(clock.t, 60 * MIN)).toEqual([]); // nobody quiet for an hour yet

    clock.t = T0 + 110 * MIN;
    const received = ingestor.stats.received;
    expect(ingestor.idleHolding(clock.t, 60 * MIN)).toEqual(['EQ-0']); // EQ-1 was heard from 20 min ago
    expect(ingestor.idleHolding(clock.t, 60 * MIN)).toEqual([]); // not again within the hour
    const r = await ingestor.submitInternal([watermarkMessage('EQ-0', clock.t)]);
    expect(r).toEqual({ accepted: 1, quarantined: [] });
    expect(await keys()).toEqual(['location.update EQ-0', 'workorder.create EQ-0|service-250h|250h@b0']);
    // The engine's own message is not input: the counts operators compare with their sources do not move.
    expect(ingestor.stats.received).toBe(received);
    expect(ingestor.stats.watermarks).toBe(1);
    await ingestor.flush();
    expect((await store.counters()).eventsAccepted).toBe(5);
    // Nothing held any more: a later check names nobody.
    clock.t = T0 + 200 * MIN;
    expect(ingestor.idleHolding(clock.t, 60 * MIN)).toEqual(['EQ-1']);
  });

  it('is logged like any message: a crash before the checkpoint replays it to the same state and adds no delivery', async () => {
    const path = tempStorePath();
    const first = await setup(path);
    first.clock.t = T0 + 46 * MIN;
    await first.ingestor.submit([first.event(0, 0, { kind: 'meter', operatingHours: 249.5 }), first.event(0, 45, { kind: 'meter', operatingHours: 250.2 })]);
    first.clock.t = T0 + 110 * MIN;
    await first.ingestor.submitInternal([watermarkMessage('EQ-0', first.clock.t)]);
    const before = await first.keys();
    expect(before).toContain('workorder.create EQ-0|service-250h|250h@b0');
    expect((await first.store.readIngestLog()).map((m) => m.source)).toEqual(['http', 'http', ENGINE_SOURCE]);
    // "Crash": a new ingestor on the same file rebuilds its state from the stored state and the log.
    const second = await setup(path);
    await second.ingestor.flush();
    expect(await second.keys()).toEqual(before);
    const state = (await second.store.loadStates(['EQ-0'])).get('EQ-0') as { maintenance?: { order?: { pending: unknown[] }; services?: Record<string, { firedDue?: number }> } };
    expect(state.maintenance?.order?.pending).toEqual([]);
    expect(state.maintenance?.services?.['service-250h']?.firedDue).toBe(250);
  });

  it('names an asset the state cache let go of too: its watermark loads the stored state and decides what it holds', async () => {
    const { ingestor, clock, event, keys } = await setup(tempStorePath(), 1);
    clock.t = T0 + 46 * MIN;
    await ingestor.submit([event(0, 0, { kind: 'meter', operatingHours: 249.5 }), event(0, 45, { kind: 'meter', operatingHours: 250.2 })]);
    await ingestor.checkpoint(); // stored, so the cache may let it go
    clock.t = T0 + 50 * MIN;
    await ingestor.submit([event(1, 49, { kind: 'meter', operatingHours: 10 })]); // EQ-1 takes the one cache place
    await ingestor.checkpoint();
    clock.t = T0 + 110 * MIN;
    expect(await keys()).toEqual([]);
    const idle = ingestor.idleHolding(clock.t, 60 * MIN);
    expect(idle).toContain('EQ-0');
    await ingestor.submitInternal(idle.map((id) => watermarkMessage(id, clock.t)));
    expect(await keys()).toEqual(['workorder.create EQ-0|service-250h|250h@b0']);
    // Decided: neither is named again.
    clock.t = T0 + 200 * MIN;
    expect(ingestor.idleHolding(clock.t, 60 * MIN)).toEqual([]);
  });

  it('after a restart, counts silence from the start, so sources first deliver what queued while it was down', async () => {
    const path = tempStorePath();
    const first = await setup(path);
    first.clock.t = T0 + 46 * MIN;
    await first.ingestor.submit([first.event(0, 0, { kind: 'meter', operatingHours: 249.5 }), first.event(0, 45, { kind: 'meter', operatingHours: 250.2 })]);
    // Down for hours; the replay of the log knows when each message came in (08:46).
    const second = await setup(path);
    second.clock.t = T0 + 300 * MIN;
    await second.ingestor.flush();
    expect(second.ingestor.idleHolding(T0 + 330 * MIN, 60 * MIN)).toEqual([]);
    expect(second.ingestor.idleHolding(T0 + 361 * MIN, 60 * MIN)).toEqual(['EQ-0']);
  });

  it('comes from the engine only, and runs as a task when rules hold events for a lateness', async () => {
    const { ingestor, keys } = await setup();
    const forged: RawMessage = { source: 'http', channel: '/v1/events', payload: JSON.stringify({ kind: 'watermark', erpAssetId: 'EQ-0', eventTime: T0 }), receivedAt: T0 };
    const r = await ingestor.submit([forged]);
    expect(r.quarantined[0]?.reason).toMatch(/event kind "watermark" is assetbridge's own/);
    expect(await keys()).toEqual([]);

    // The task asks the ingestor (through its context) and sends one watermark per idle asset.
    const sent: RawMessage[] = [];
    const task = createIdleWatermarkTask({ idleMs: 60 * MIN, checkEveryMs: 15 * MIN });
    await task.run({
      clock: { now: () => T0 + 99 * MIN },
      idleHolding: (idleMs: number) => (idleMs === 60 * MIN ? ['EQ-0', 'EQ-1'] : []),
      submitInternal: (m: readonly RawMessage[]) => {
        sent.push(...m);
        return Promise.resolve({ accepted: m.length, quarantined: [] });
      },
    } as unknown as TaskContext);
    expect(sent.map((m) => [m.source, JSON.parse(m.payload as string)])).toEqual([
      [ENGINE_SOURCE, { kind: 'watermark', erpAssetId: 'EQ-0', eventTime: T0 + 99 * MIN }],
      [ENGINE_SOURCE, { kind: 'watermark', erpAssetId: 'EQ-1', eventTime: T0 + 99 * MIN }],
    ]);
    const names = (c: object) => createRuleTasks(rulesSchema.parse(c), { defaultDestination: 'erp', destinations: ['erp'] }).map((t) => t.name);
    expect(names({ allowedLateness: '30s' })).toContain('rule-watermarks');
    expect(names({ allowedLateness: '30s', idleAfter: 0 })).not.toContain('rule-watermarks');
    expect(names({ allowedLateness: 0 })).not.toContain('rule-watermarks');
  });
});

/**
 * Which assets the ingestor names for an idle watermark: also when a watermark and the asset's next
 * event share a batch, and after a clean restart (the held events then sit in the stored state).
 */
describe('idle watermark naming', () => {
  it('an event in the same batch as the watermark, after it, counts as the asset reporting again', async () => {
    const { ingestor, clock, event, keys } = await setup();
    clock.t = T0 + 46 * MIN;
    await ingestor.submit([event(0, 0, { kind: 'meter', operatingHours: 249.5 }), event(0, 45, { kind: 'meter', operatingHours: 250.2 })]);
    clock.t = T0 + 110 * MIN;
    expect(ingestor.idleHolding(clock.t, 60 * MIN)).toEqual(['EQ-0']);
    // The watermark decides everything EQ-0 holds; a fix it sent meanwhile lands in the same batch
    // and is held for the lateness: EQ-0 holds again, and falls silent again from now.
    await Promise.all([ingestor.submitInternal([watermarkMessage('EQ-0', clock.t)]), ingestor.submit([event(0, 109, { kind: 'position', lat: 50, lng: 10 })])]);
    expect(await keys()).toEqual(['workorder.create EQ-0|service-250h|250h@b0']);
    expect(ingestor.idleHolding(T0 + 150 * MIN, 60 * MIN)).toEqual([]);
    clock.t = T0 + 171 * MIN;
    const idle = ingestor.idleHolding(clock.t, 60 * MIN);
    expect(idle).toEqual(['EQ-0']);
    await ingestor.submitInternal(idle.map((id) => watermarkMessage(id, clock.t)));
    expect(await keys()).toEqual(['location.update EQ-0', 'workorder.create EQ-0|service-250h|250h@b0']);
  });

  it('after a clean stop (state checkpointed, log empty), an asset still holding events is named idleAfter after the start', async () => {
    const path = tempStorePath();
    const first = await setup(path);
    first.clock.t = T0 + 46 * MIN;
    await first.ingestor.submit([first.event(0, 0, { kind: 'meter', operatingHours: 249.5 }), first.event(0, 45, { kind: 'meter', operatingHours: 250.2 })]);
    await first.ingestor.flush(); // as at stop: the held reading is in the stored state
    expect(await first.store.readIngestLog()).toEqual([]);
    const second = await setup(path);
    second.clock.t = T0 + 300 * MIN;
    await second.ingestor.flush();
    expect(second.ingestor.idleHolding(T0 + 330 * MIN, 60 * MIN)).toEqual([]);
    const idle = second.ingestor.idleHolding(T0 + 361 * MIN, 60 * MIN);
    expect(idle).toEqual(['EQ-0']);
    second.clock.t = T0 + 361 * MIN;
    await second.ingestor.submitInternal(idle.map((id) => watermarkMessage(id, second.clock.t)));
    expect(await second.keys()).toEqual(['workorder.create EQ-0|service-250h|250h@b0']);
  });
});
