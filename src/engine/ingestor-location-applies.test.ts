/**
 * A restart with `location.appliesTo` changed to leave out a class of assets (the pallets, counted
 * by inventory now): their stored location state (a zone dwell pending, a location sent under a
 * zone code changed since) does not make the service name them idle, and a watermark for them sends
 * no location update. The assets still synced are decided as before.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IdentityIndex } from '../core/identity/resolver.js';
import { ENGINE_SOURCE } from '../core/model/events.js';
import type { DeliveryIntent } from '../core/model/delivery.js';
import type { RawMessage } from '../core/model/messages.js';
import { createCanonicalDecoder } from '../core/normalize/canonical-decoder.js';
import { createLocationSyncRule, type LocationSyncOptions } from '../core/rules/location-sync.js';
import { ZoneIndex, type Zone } from '../core/rules/zones/index.js';
import type { Store } from '../ports/store.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import { observeCommits } from '../../test/helpers/ingestor.js';
import { DecoderRegistry, Ingestor } from './ingestor.js';
import { watermarkMessage } from './tasks/idle-watermark.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const T0 = Date.parse('2026-11-20T08:00:00Z');
const MIN = 60_000;
const IDLE = 2 * MIN;
const IN_YARD = 52.5;
const OFF = 52.52; // 2 km north of the yard

const yard = (locationCode: string): Zone => ({ name: 'yard', locationCode, priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } });
const fix = (tag: string, minute: number, lat: number): RawMessage => ({
  source: 'http',
  channel: '/v1/events',
  payload: JSON.stringify({ kind: 'position', assetId: tag, eventTime: new Date(T0 + minute * MIN).toISOString(), lat, lng: 13.4 }),
  receivedAt: T0 + minute * MIN,
});
/** Trucks only (the change: pallets are no longer synced). */
const TRUCKS: LocationSyncOptions['appliesTo'] = { attributes: { class: ['truck'] } };

/** A store with pallet EQ-1 (tag-1) and truck EQ-2 (tag-2), and its identity index. */
async function fleet(): Promise<{ store: Store; identity: IdentityIndex }> {
  const store = tempStore();
  cleanup.push(() => store.close());
  const classOf = { '1': 'pallet', '2': 'truck' } as const;
  await store.upsertAssets((['1', '2'] as const).map((n) => ({ asset: { erpAssetId: `EQ-${n}`, erpModule: 'fixed-assets', attributes: { class: classOf[n] } }, identifiers: [{ type: 'tag' as const, value: `tag-${n}`, erpAssetId: `EQ-${n}` }] })));
  return { store, identity: new IdentityIndex(await store.listAssets()) };
}

/** The service started with the yard's code `code` and `appliesTo`: an ingestor on `store`, and the deliveries it commits. */
function start(store: Store, identity: IdentityIndex, code: string, clock: { t: number }, appliesTo?: LocationSyncOptions['appliesTo']) {
  const deliveries: DeliveryIntent[] = [];
  const rule = createLocationSyncRule({
    minDistanceM: 100,
    heartbeatMs: 86_400_000,
    zones: { index: new ZoneIndex([yard(code)], { hysteresisM: 25 }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 0 },
    ...(appliesTo ? { appliesTo } : {}),
  });
  const ingestor = new Ingestor({
    store: observeCommits(store, (c) => deliveries.push(...c.deliveries)),
    clock: { now: () => clock.t },
    decoders: new DecoderRegistry().register('http', createCanonicalDecoder()).register(ENGINE_SOURCE, createCanonicalDecoder()),
    rules: [rule],
    identity: () => identity,
    validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0 },
    defaultDestination: 'erp',
    maxWaitMs: 1,
    checkpointMs: 86_400_000,
  });
  return { ingestor, deliveries };
}

const sent = (deliveries: readonly DeliveryIntent[]) => deliveries.map((d) => [d.erpAssetId, d.payload.warehouseLocation]);

describe('a restart with location.appliesTo changed to leave out some assets', () => {
  it('completes none of their pending zone dwells: they are not named idle, and a watermark for them sends nothing', async () => {
    const { store, identity } = await fleet();
    const clock = { t: T0 + 10 * MIN };
    // Every asset synced: both drive into the yard at 08:01 and go quiet; the service stops before
    // their idle watermark, with the entry's 30 s dwell pending in the stored state.
    const first = start(store, identity, '1000/0001', clock);
    await first.ingestor.submit([fix('tag-1', 0, OFF), fix('tag-2', 0, OFF), fix('tag-1', 1, IN_YARD), fix('tag-2', 1, IN_YARD)]);
    await first.ingestor.flush();
    expect(sent(first.deliveries)).toEqual([
      ['EQ-1', null],
      ['EQ-2', null],
    ]);

    // Restarted with trucks only: the start names the truck, not the pallet...
    clock.t = T0 + 60 * MIN;
    const second = start(store, identity, '1000/0001', clock, TRUCKS);
    await second.ingestor.flush();
    clock.t += IDLE;
    expect(second.ingestor.idleHolding(clock.t, IDLE)).toEqual(['EQ-2']);
    // ...and a watermark for each enters the truck alone.
    await second.ingestor.submitInternal([watermarkMessage('EQ-1', clock.t), watermarkMessage('EQ-2', clock.t)]);
    await second.ingestor.flush();
    expect(sent(second.deliveries)).toEqual([['EQ-2', '1000/0001']]);

    // The pallet reporting again (its fix is not synced) is not named idle for its pending dwell either.
    const third = start(store, identity, '1000/0001', clock, TRUCKS);
    expect(await third.ingestor.submit([fix('tag-1', 62, IN_YARD)])).toEqual({ accepted: 1, quarantined: [] });
    await third.ingestor.flush();
    clock.t += IDLE;
    expect(third.ingestor.idleHolding(clock.t, IDLE)).toEqual([]);
    await third.ingestor.submitInternal([watermarkMessage('EQ-1', clock.t)]);
    await third.ingestor.flush();
    expect(third.deliveries).toEqual([]);
  });

  it('does not send them a zone’s changed location code (a restart with the code changed too)', async () => {
    const { store, identity } = await fleet();
    const clock = { t: T0 + 10 * MIN };
    // Under code 1000/0001, every asset synced: both park in the yard (entered at their second fix).
    const first = start(store, identity, '1000/0001', clock);
    await first.ingestor.submit([fix('tag-1', 0, IN_YARD), fix('tag-2', 0, IN_YARD), fix('tag-1', 1, 52.5001), fix('tag-2', 1, 52.5001)]);
    await first.ingestor.flush();
    expect(sent(first.deliveries).filter(([, code]) => code === '1000/0001')).toEqual([
      ['EQ-1', '1000/0001'],
      ['EQ-2', '1000/0001'],
    ]);

    // Restarted with code 1000/0002 and trucks only: the truck is named and sent the new code, the pallet neither.
    clock.t = T0 + 60 * MIN;
    const second = start(store, identity, '1000/0002', clock, TRUCKS);
    await second.ingestor.flush();
    clock.t += IDLE;
    expect(second.ingestor.idleHolding(clock.t, IDLE)).toEqual(['EQ-2']);
    await second.ingestor.submitInternal([watermarkMessage('EQ-1', clock.t), watermarkMessage('EQ-2', clock.t)]);
    await second.ingestor.flush();
    expect(sent(second.deliveries)).toEqual([['EQ-2', '1000/0002']]);
    clock.t += IDLE;
    expect(second.ingestor.idleHolding(clock.t, IDLE)).toEqual([]);
  });
});
