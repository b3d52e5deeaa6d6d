import { createCanonicalDecoder } from '../../src/core/normalize/canonical-decoder.js';
import type { IdentityIndex } from '../../src/core/identity/resolver.js';
import { createLocationSyncRule } from '../../src/core/rules/location-sync.js';
import { DecoderRegistry, Ingestor, type IngestorOptions } from '../../src/engine/ingestor.js';
import { systemClock } from '../../src/ports/clock.js';
import type { Store } from '../../src/ports/store.js';
import { canonicalLine } from '../../src/core/normalize/canonical-encoder.js';
import type { CapturedEvent, EventCapture } from '../../src/ports/capture.js';

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

/** The store, with `onCommit` told of every ingest commit before it is made (to see what a batch decided). */
export function observeCommits<S extends Store>(store: S, onCommit: (c: Parameters<Store['commitIngest']>[0]) => void): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'commitIngest')
        return (c: Parameters<Store['commitIngest']>[0]) => {
          onCommit(c);
          return target.commitIngest(c);
        };
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** An event capture that keeps the captured events as canonical JSON lines, as `rules test` reads them. */
export function captureLines(): { lines: string[]; capture: EventCapture } {
  const lines: string[] = [];
  const capture: EventCapture = {
    write: (events: readonly CapturedEvent[]) => (lines.push(...events.map((e) => canonicalLine(e.event, e.erpAssetId, e.redelivered === true).trimEnd())), 0),
    close: () => Promise.resolve(),
  };
  return { lines, capture };
}
