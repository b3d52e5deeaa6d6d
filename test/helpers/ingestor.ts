import { createCanonicalDecoder } from '../../src/core/normalize/canonical-decoder.js';
import type { IdentityIndex } from '../../src/core/identity/resolver.js';
import { createLocationSyncRule } from '../../src/core/rules/location-sync.js';
import { DecoderRegistry, Ingestor, type IngestorOptions } from '../../src/engine/ingestor.js';
import { systemClock } from '../../src/ports/clock.js';
import type { Store } from '../../src/ports/store.js';

/** An ingestor for canonical JSON from source `http`, with the location rule (100 m, 1 h heartbeat). */
export function locationIngestor(store: Store, identity: IdentityIndex, extra: Partial<IngestorOptions> = {}): Ingestor {
  return new Ingestor({
    store,
    clock: systemClock,
    decoders: new DecoderRegistry().register('http', createCanonicalDecoder()),
    rules: [createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 3_600_000 })],
    identity: () => identity,
    validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0 },
    defaultDestination: 'erp',
    ...extra,
  });
}
