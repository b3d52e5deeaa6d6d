/**
 * Memory with a large backlog: 1,000,000 events, each producing its own delivery (a fact, so none
 * coalesce), pending in the outbox while the dispatcher works against a slow ERP. The backlog lives
 * on disk; the process should hold only what is in flight. Reported as peak RSS and as a ratio to
 * the same process's RSS with an empty outbox, measured in the same run.
 * @module
 */
import type { SqliteStore } from '../src/adapters/store/sqlite/sqlite-store.js';
import { createRestConnector } from '../src/adapters/erp/rest/rest-connector.js';
import { restDestinationSchema } from '../src/config/schema.js';
import { IdentityIndex } from '../src/core/identity/resolver.js';
import { createCanonicalDecoder } from '../src/core/normalize/canonical-decoder.js';
import type { Rule } from '../src/core/rules/rule.js';
import { Dispatcher } from '../src/engine/dispatcher.js';
import { DecoderRegistry, Ingestor } from '../src/engine/ingestor.js';
import { systemClock } from '../src/ports/clock.js';
import { startErpSimulator } from '../simulators/erp-rest/erp-simulator.js';
import { withTempStore } from '../test/helpers/temp-store.js';

/** Every position becomes a meter-document-like fact: one delivery per event, never coalesced. */
const factPerEvent: Rule = {
  name: 'bench-fact',
  kinds: ['position'],
  apply: (state, event, ctx) => ({
    state,
    deliveries: [
      {
        destination: ctx.destination,
        operation: 'meter.record',
        kind: 'fact',
        businessKey: `${ctx.asset.erpAssetId}|${event.eventTime}`,
        erpAssetId: ctx.asset.erpAssetId,
        eventTime: event.eventTime,
        payload: { erpAssetId: ctx.asset.erpAssetId, operatingHours: 1, readingAt: new Date(event.eventTime).toISOString() },
      },
    ],
  }),
};

const rssMb = () => process.memoryUsage().rss / 1_048_576;

export interface BacklogResult {
  readonly events: number;
  readonly pending: number;
  readonly baselineRssMb: number;
  readonly peakRssMb: number;
  readonly ingestSeconds: number;
}

export async function benchBacklogMemory(events = 1_000_000, onProgress?: (done: number) => void): Promise<BacklogResult> {
  const erp = await startErpSimulator({ token: 'bench', ratePerMinute: 300 });
  try {
    return await withTempStore({ synchronous: 'normal' }, (store) => ingestBacklog(store, erp.url, events, onProgress));
  } finally {
    await erp.close();
  }
}

/** {@link benchBacklogMemory} on its store, against the simulated ERP at `erpUrl`. */
async function ingestBacklog(store: SqliteStore, erpUrl: string, events: number, onProgress?: (done: number) => void): Promise<BacklogResult> {
  const assets = 10_000;
  await store.upsertAssets(
    Array.from({ length: assets }, (_, a) => ({ asset: { erpAssetId: `EQ-${a}`, erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: `t${a}`, erpAssetId: `EQ-${a}` }] })),
  );
  const identity = new IdentityIndex(await store.listAssets());
  const ingestor = new Ingestor({
    store,
    clock: systemClock,
    decoders: new DecoderRegistry().register('bench', createCanonicalDecoder()),
    rules: [factPerEvent],
    identity: () => identity,
    validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0 },
    defaultDestination: 'erp',
  });
  const connector = createRestConnector(restDestinationSchema.parse({ name: 'erp', type: 'rest', baseUrl: erpUrl, token: 'bench' }));
  const dispatcher = new Dispatcher({
    store,
    clock: systemClock,
    destinations: [{ name: 'erp', connector, requestsPerMinute: 600, maxConcurrency: 4, maxAttempts: 10, maxAgeMs: 86_400_000, baseDelayMs: 1000, maxDelayMs: 10_000, failureThreshold: 100, openMs: 1000, timeoutMs: 5000 }],
  });
  global.gc?.();
  const baselineRssMb = rssMb();
  let peak = baselineRssMb;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 100);
  await dispatcher.start();
  const t0 = Date.now() - 10 * 86_400_000;
  const started = performance.now();
  const chunk = 5000;
  for (let i = 0; i < events; i += chunk) {
    const msgs = [];
    for (let k = i; k < Math.min(events, i + chunk); k++) {
      msgs.push({ source: 'bench', channel: 'b', receivedAt: Date.now(), payload: `{"kind":"position","assetId":"t${k % assets}","eventTime":${t0 + k * 10},"lat":48.1,"lng":11.2}` });
    }
    await ingestor.submit(msgs);
    onProgress?.(Math.min(events, i + chunk));
  }
  const ingestSeconds = (performance.now() - started) / 1000;
  // Keep dispatching against the backlog for a while, sampling memory.
  await new Promise((r) => setTimeout(r, 10_000));
  clearInterval(sampler);
  peak = Math.max(peak, rssMb());
  const [stats] = await store.outboxStats(Date.now());
  await dispatcher.stop(1000);
  return { events, pending: stats?.pending ?? 0, baselineRssMb, peakRssMb: peak, ingestSeconds };
}
