/**
 * Test support for pulling from the Trackunit simulator (tests and the benchmark, never product code):
 * a shared fake clock for client and simulator, a fetch that calls the simulator in-process, a
 * recording sink that decodes like the engine does, and config entries pointing at the simulator.
 * @module
 */
import { machineHeader } from './fleet.js';
import { DEFAULT_SIM_CREDENTIALS, type TrackunitSimulator } from './simulator.js';
import { telematicsSchema, type TelematicsConfig, type TelematicsConfigInput } from '../../src/config/telematics-schema.js';
import type { AssetWithIdentifiers } from '../../src/ports/store.js';
import type { IngestSink, SubmitResult } from '../../src/ports/source.js';
import type { RawMessage } from '../../src/core/model/messages.js';
import type { CanonicalEvent } from '../../src/core/model/events.js';
import { createAempEquipmentDecoder } from '../../src/adapters/telematics/aemp/aemp-parser.js';
import { createAempProvider, type AempProvider, type AempProviderDeps } from '../../src/adapters/telematics/aemp/aemp-provider.js';
import { ProviderRateLimiter } from '../../src/adapters/telematics/aemp/request-budget.js';

/** A clock whose sleeps advance time instantly; share it between client and simulator. */
export class FakeClock {
  constructor(public t: number) {}
  now = (): number => this.t;
  sleep = (ms: number, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    this.t += Math.max(0, ms);
    return Promise.resolve();
  };
  advance(ms: number): void {
    this.t += ms;
  }
}

/** `fetch` served by the simulator in-process (no socket). */
export function simulatorFetch(sim: TrackunitSimulator): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) => sim.app.request(input, init)) as typeof fetch;
}

export const SIM_ORIGIN = 'http://trackunit.sim';

/** A Trackunit config entry for the simulator at `origin` (legacy password grant unless `v2`). */
export function simulatorConfig(overrides: Partial<TelematicsConfigInput> = {}, origin = SIM_ORIGIN, v2 = false): TelematicsConfig {
  const legacy = DEFAULT_SIM_CREDENTIALS.legacy;
  const key = DEFAULT_SIM_CREDENTIALS.v2;
  return telematicsSchema.parse({
    name: 'trackunit',
    vendor: 'trackunit',
    baseUrl: `${origin}/public/api/aemp/v2/15143/-3`,
    auth: v2
      ? { type: 'trackunit-token-v2', clientId: key.clientId, clientSecret: key.clientSecret, tokenUrl: `${origin}/token/v2` }
      : { type: 'trackunit-password', ...legacy, tokenUrl: `${origin}/token` },
    ...overrides,
  });
}

/** ERP assets for simulated machines `indexes`, keyed as the ERP would know them. */
export function assetsForMachines(indexes: Iterable<number>, by: 'pin' | 'external-ref' | 'machine-id' = 'pin'): AssetWithIdentifiers[] {
  const rows: AssetWithIdentifiers[] = [];
  for (const i of indexes) {
    const h = machineHeader(i);
    const erpAssetId = `EQ-${i}`;
    const value = by === 'pin' ? h.pin : by === 'external-ref' ? h.externalReferenceNumber : h.machineId;
    if (value === undefined) continue;
    rows.push({ asset: { erpAssetId, erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: by, value, erpAssetId }] });
  }
  return rows;
}

/** A sink that decodes every message as the engine would and remembers what it got. */
export class RecordingSink implements IngestSink {
  readonly batches: RawMessage[][] = [];
  readonly events: CanonicalEvent[] = [];
  readonly refused: string[] = [];
  private readonly decode = createAempEquipmentDecoder();
  /** Throw on the n-th submit (1-based), to simulate a crash before commit. */
  failOnBatch?: number;

  submit(messages: readonly RawMessage[]): Promise<SubmitResult> {
    if (this.failOnBatch !== undefined && this.batches.length + 1 === this.failOnBatch) {
      this.failOnBatch = undefined;
      return Promise.reject(new Error('store unavailable (simulated)'));
    }
    this.batches.push([...messages]);
    const quarantined: { index: number; reason: string }[] = [];
    messages.forEach((m, index) => {
      // Set aside by its source (a block a fleet pull could not use): quarantined as the engine does, not decoded.
      if (m.setAside !== undefined) {
        quarantined.push({ index, reason: m.setAside.reason });
        this.refused.push(m.setAside.reason);
        return;
      }
      const r = this.decode(m);
      if (r.ok) this.events.push(...r.events);
      else {
        quarantined.push({ index, reason: r.reason });
        this.refused.push(r.reason);
      }
    });
    return Promise.resolve({ accepted: messages.length - quarantined.length, quarantined });
  }

  get messages(): RawMessage[] {
    return this.batches.flat();
  }
}

/** The store's key-value part in memory, for budget and client tests that need nothing else. */
export class MemoryKv {
  private readonly data = new Map<string, Map<string, string>>();
  kvGet(namespace: string, key: string): Promise<string | undefined> {
    return Promise.resolve(this.data.get(namespace)?.get(key));
  }
  kvSet(namespace: string, key: string, value: string): Promise<void> {
    const ns = this.data.get(namespace) ?? new Map<string, string>();
    ns.set(key, value);
    this.data.set(namespace, ns);
    return Promise.resolve();
  }
  kvList(namespace: string): Promise<{ key: string; value: string }[]> {
    return Promise.resolve([...(this.data.get(namespace) ?? new Map<string, string>())].sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => ({ key, value })));
  }
}

/**
 * The provider (client, budget) for the simulator behind `fetch`, on `clock`, with rate limits just
 * under the simulator's (49 fleet pages, 490 equipment and time-series requests per second).
 */
export function simulatorProvider(store: AempProviderDeps['store'], clock: FakeClock, fetch: typeof globalThis.fetch, overrides: Partial<TelematicsConfigInput> = {}): AempProvider {
  return createAempProvider(simulatorConfig(overrides), {
    store,
    fetch,
    clock,
    sleep: clock.sleep,
    limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }),
  });
}
