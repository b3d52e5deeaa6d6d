/**
 * Which assets the ingestor names for an idle watermark: every asset whose rules hold events and
 * that has been silent for `idleAfter`, also when a watermark and its next event share a batch,
 * and also after a clean restart (the held events then sit in the stored state, not in the log).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { rulesSchema } from '../../config/rules-schema.js';
import { IdentityIndex } from '../../core/identity/resolver.js';
import { ENGINE_SOURCE } from '../../core/model/events.js';
import type { RawMessage } from '../../core/model/messages.js';
import { createCanonicalDecoder } from '../../core/normalize/canonical-decoder.js';
import { createRules } from '../../core/rules/index.js';
import { tempStorePath } from '../../../test/helpers/temp-store.js';
import { DecoderRegistry, Ingestor } from '../ingestor.js';
import { watermarkMessage } from './idle-watermark.js';

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

async function setup(path = tempStorePath()) {
  const store = new SqliteStore({ path, synchronous: 'normal' });
  cleanup.push(() => store.close());
  await store.upsertAssets([0, 1].map((a) => ({ asset: { erpAssetId: `EQ-${a}`, erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: `tag-${a}`, erpAssetId: `EQ-${a}` }] })));
  const clock = { t: T0 };
  const identity = new IdentityIndex(await store.listAssets());
  const ingestor = new Ingestor({
    store,
    clock: { now: () => clock.t },
    decoders: new DecoderRegistry().register('http', createCanonicalDecoder()).register(ENGINE_SOURCE, createCanonicalDecoder()),
    rules: createRules(config),
    identity: () => identity,
    validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0 },
    defaultDestination: 'erp',
    maxWaitMs: 1,
    checkpointMs: 86_400_000,
  });
  const event = (asset: number, min: number, body: object): RawMessage => ({ source: 'http', channel: '/v1/events', payload: JSON.stringify({ assetId: `tag-${asset}`, eventTime: new Date(T0 + min * MIN).toISOString(), ...body }), receivedAt: T0 + min * MIN });
  const keys = async () => (await store.listDeliveries({ limit: 1000 })).map((d) => `${d.operation} ${d.businessKey}`).sort();
  return { store, ingestor, clock, event, keys };
}

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
