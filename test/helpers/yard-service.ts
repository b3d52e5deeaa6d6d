/**
 * A service restarted under changed zone settings, for the ingestor tests of what a restart does
 * to stored location state: one zone (the yard, a 200 m circle), location sync with a 30 s enter
 * and 60 s exit dwell, canonical JSON from source `http` and the engine's idle watermarks.
 */
import { ENGINE_SOURCE } from '../../src/core/model/events.js';
import type { DeliveryIntent } from '../../src/core/model/delivery.js';
import type { RawMessage } from '../../src/core/model/messages.js';
import type { IdentityIndex } from '../../src/core/identity/resolver.js';
import { createCanonicalDecoder } from '../../src/core/normalize/canonical-decoder.js';
import { createLocationSyncRule, type LocationSyncOptions } from '../../src/core/rules/location-sync.js';
import { ZoneIndex, type Zone } from '../../src/core/rules/zones/index.js';
import { DecoderRegistry, Ingestor } from '../../src/engine/ingestor.js';
import type { Store } from '../../src/ports/store.js';
import { observeCommits } from './ingestor.js';

export const T0 = Date.parse('2026-11-20T08:00:00Z');
export const MIN = 60_000;
/** The yard's centre latitude (longitude 13.4). */
export const IN_YARD = 52.5;

export const yard = (locationCode: string): Zone => ({ name: 'yard', locationCode, priority: 0, shape: { type: 'circle', lat: IN_YARD, lng: 13.4, radiusM: 200 } });

/** A fix of `tag` at `lat` (longitude 13.4), `minute` minutes after T0, received then. */
export const yardFix = (tag: string, minute: number, lat: number): RawMessage => ({
  source: 'http',
  channel: '/v1/events',
  payload: JSON.stringify({ kind: 'position', assetId: tag, eventTime: new Date(T0 + minute * MIN).toISOString(), lat, lng: 13.4 }),
  receivedAt: T0 + minute * MIN,
});

/**
 * The service started with the yard's code `code` (and `appliesTo`): an ingestor on `store`, and the
 * deliveries it commits. `zones`: the zones configured instead of the yard alone (then `code` is not used).
 */
export function startYardService(store: Store, identity: IdentityIndex, code: string, clock: { t: number }, appliesTo?: LocationSyncOptions['appliesTo'], zones?: readonly Zone[]) {
  const deliveries: DeliveryIntent[] = [];
  const rule = createLocationSyncRule({
    minDistanceM: 100,
    heartbeatMs: 86_400_000,
    zones: { index: new ZoneIndex(zones ?? [yard(code)], { hysteresisM: 25 }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 0 },
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
