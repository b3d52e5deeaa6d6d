/**
 * A small fleet with state that depends on history (zones with dwell, thresholds with durations,
 * a service interval, usage per period), its event stream, and an ingestor over the real store:
 * what the checkpoint, cache and crash properties compare runs of.
 */
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { rulesSchema } from '../../src/config/rules-schema.js';
import type { IdentityIndex } from '../../src/core/identity/resolver.js';
import type { RawMessage } from '../../src/core/model/messages.js';
import { createCanonicalDecoder } from '../../src/core/normalize/canonical-decoder.js';
import { createRules } from '../../src/core/rules/index.js';
import { DecoderRegistry, Ingestor, type IngestorOptions } from '../../src/engine/ingestor.js';
import type { Store } from '../../src/ports/store.js';
import { tempStorePath } from './temp-store.js';

export const T0 = Date.parse('2026-11-20T08:00:00Z');
export const ASSETS = 6;

/** Two zones 1.1 km apart (a yard and a depot), 30 s in and 60 s out. */
export const YARD_AND_DEPOT = {
  inline: [
    { name: 'yard', locationCode: 'Y1', circle: { lat: 50, lng: 10, radiusM: 300 } },
    { name: 'depot', locationCode: 'D1', circle: { lat: 50.01, lng: 10, radiusM: 300 } },
  ],
  enterDwellMs: '30s',
  exitDwellMs: '60s',
};

/** The configuration input of {@link streamRulesConfig} (a fresh copy), for tests that change part of it. */
export const streamRulesInput = () => ({
  allowedLateness: '30s',
  location: { minDistanceM: 50, heartbeatMs: '1h' },
  zones: { ...YARD_AND_DEPOT, hysteresisM: 20 },
  maintenance: {
    thresholds: [
      { name: 'hot', sensor: 'coolantTemp', above: 95, clearBelow: 90, for: '1m', severity: 'critical', cooldown: '10m' },
      { name: 'low-oil', sensor: 'oilPressure', below: 10, for: '30s' },
    ],
    serviceIntervals: [{ name: 'service-1h', everyHours: 1, dueSoonHours: 0.1 }],
  },
  depreciation: { timeZone: 'Europe/Berlin' },
});

export const streamRulesConfig = rulesSchema.parse(streamRulesInput());

/** Per asset, events 10 s apart: moving between the two zones, running hot now and then, hours adding up. */
export function stream(rounds: number): RawMessage[] {
  const out: RawMessage[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let a = 0; a < ASSETS; a++) {
      const eventTime = new Date(T0 + r * 10_000 + a).toISOString();
      const phase = (r + a * 7) % 40;
      const body =
        r % 3 === 0
          ? { kind: 'position', lat: phase < 20 ? 50 : 50.01, lng: 10 + a * 1e-5 }
          : r % 3 === 1
            ? { kind: 'sensor', values: { coolantTemp: { value: phase > 30 ? 99 : 70 }, oilPressure: { value: phase === 5 ? 5 : 40 } } }
            : { kind: 'meter', operatingHours: 1000 + a + r * 0.02 };
      out.push({ source: 'http', channel: '/v1/events', payload: JSON.stringify({ assetId: `tag-${a}`, eventTime, ...body }), receivedAt: T0 });
    }
  }
  return out;
}

/** A store holding the fleet's assets; `onClose` gets its closer (the test's cleanup list). */
export async function storeWithAssets(onClose: (close: () => Promise<void>) => void, path = tempStorePath()): Promise<SqliteStore> {
  const store = new SqliteStore({ path, synchronous: 'normal' });
  onClose(() => store.close());
  await store.upsertAssets(
    Array.from({ length: ASSETS }, (_, a) => ({
      asset: { erpAssetId: `EQ-${a}`, erpModule: 'maintenance', attributes: { site: 'S1', cost: '100000', expectedUnits: '10000' } },
      identifiers: [{ type: 'tag' as const, value: `tag-${a}`, erpAssetId: `EQ-${a}` }],
    })),
  );
  return store;
}

export function rulesIngestor(store: Store, identity: IdentityIndex, extra: Partial<IngestorOptions> = {}): Ingestor {
  let t = T0;
  return new Ingestor({
    store,
    clock: { now: () => (t += 1000) }, // processing time moves on; replays must reuse the logged one
    decoders: new DecoderRegistry().register('http', createCanonicalDecoder()),
    rules: createRules(streamRulesConfig),
    identity: () => identity,
    validation: { maxFutureSkewMs: 365 * 86_400_000, maxAgeMs: 0 },
    defaultDestination: 'erp',
    maxWaitMs: 1,
    checkpointMs: 3_600_000,
    ...extra,
  });
}

/** What a run left: every delivery (operation, key, payload) and every asset's rule state. */
export async function outcome(store: Store): Promise<{ deliveries: string[]; states: Awaited<ReturnType<Store['loadStates']>> }> {
  const deliveries = (await store.listDeliveries({ limit: 100_000 })).map((d) => `${d.operation} ${d.businessKey} ${JSON.stringify(d.payload)}`).sort();
  const states = await store.loadStates(Array.from({ length: ASSETS }, (_, a) => `EQ-${a}`));
  return { deliveries, states };
}
