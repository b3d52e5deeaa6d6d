/**
 * A restart with a zone's `locationCode` changed: the service's start names the assets whose
 * stored location state is in that zone idle candidates, and their watermark sends the new code,
 * once (a second restart sends nothing), dated as the update it corrects.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IdentityIndex } from '../core/identity/resolver.js';
import { ENGINE_SOURCE } from '../core/model/events.js';
import type { DeliveryIntent } from '../core/model/delivery.js';
import type { RawMessage } from '../core/model/messages.js';
import { createCanonicalDecoder } from '../core/normalize/canonical-decoder.js';
import { createLocationSyncRule } from '../core/rules/location-sync.js';
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

const yard = (locationCode: string): Zone => ({ name: 'yard', locationCode, priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } });
const fix = (tag: string, minute: number, lat: number): RawMessage => ({
  source: 'http',
  channel: '/v1/events',
  payload: JSON.stringify({ kind: 'position', assetId: tag, eventTime: new Date(T0 + minute * MIN).toISOString(), lat, lng: 13.4 }),
  receivedAt: T0 + minute * MIN,
});

/** The service started with the yard's code `code`: an ingestor on `store`, and the deliveries it commits. */
function start(store: Store, identity: IdentityIndex, code: string, clock: { t: number }) {
  const deliveries: DeliveryIntent[] = [];
  const rule = createLocationSyncRule({
    minDistanceM: 100,
    heartbeatMs: 86_400_000,
    zones: { index: new ZoneIndex([yard(code)], { hysteresisM: 25 }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 0 },
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

describe('a restart with a zone’s location code changed', () => {
  it('sends the assets in the zone the new code at their idle watermark, once, dated as the update the ERP has', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.upsertAssets(['1', '2'].map((n) => ({ asset: { erpAssetId: `EQ-${n}`, erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: `tag-${n}`, erpAssetId: `EQ-${n}` }] })));
    const identity = new IdentityIndex(await store.listAssets());
    const clock = { t: T0 + 10 * MIN };

    // Under code 1000/0001: EQ-1 parks in the yard (entered at its second fix), EQ-2 stays 2 km off.
    const first = start(store, identity, '1000/0001', clock);
    await first.ingestor.submit([fix('tag-1', 0, 52.5), fix('tag-1', 1, 52.5001), fix('tag-2', 0, 52.52)]);
    await first.ingestor.flush();
    expect(first.deliveries.filter((d) => d.erpAssetId === 'EQ-1').at(-1)?.payload.warehouseLocation).toBe('1000/0001');

    // Restarted with code 1000/0002: the start names EQ-1 (its stored state holds an old code), not EQ-2.
    clock.t = T0 + 60 * MIN;
    const second = start(store, identity, '1000/0002', clock);
    await second.ingestor.flush();
    clock.t += IDLE;
    expect(second.ingestor.idleHolding(clock.t, IDLE)).toEqual(['EQ-1']);
    await second.ingestor.submitInternal([watermarkMessage('EQ-1', clock.t)]);
    await second.ingestor.flush();
    expect(second.deliveries.map((d) => [d.erpAssetId, d.payload.warehouseLocation, d.eventTime, d.payload.lastSeen])).toEqual([['EQ-1', '1000/0002', T0 + MIN, new Date(T0 + MIN).toISOString()]]);
    // Decided: not named again.
    clock.t += IDLE;
    expect(second.ingestor.idleHolding(clock.t, IDLE)).toEqual([]);

    // A second restart with the same config: nobody named, nothing sent again, even for a watermark.
    const third = start(store, identity, '1000/0002', clock);
    await third.ingestor.flush();
    clock.t += IDLE;
    expect(third.ingestor.idleHolding(clock.t, IDLE)).toEqual([]);
    await third.ingestor.submitInternal([watermarkMessage('EQ-1', clock.t)]);
    await third.ingestor.flush();
    expect(third.deliveries).toEqual([]);
  });
});
