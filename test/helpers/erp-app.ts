/**
 * The app in process against the ERP simulator, as the e2e tests of location and inventory run it:
 * destination `erp` with quick retries and no rate limit to speak of, checkpoints at every batch,
 * no lateness; `rules` adds to those, `assets` replaces the two tagged machines.
 */
import { createApp, type App } from '../../src/app.js';
import { compileConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/adapters/log/logger.js';
import { startErpSimulator, type ErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import { tempStorePath } from './temp-store.js';

export interface ErpApp {
  readonly app: App;
  readonly erp: ErpSimulator;
}

export interface ErpAppOptions {
  readonly idempotency?: boolean;
  readonly rules?: Record<string, unknown>;
  readonly assets?: unknown[];
  readonly timeoutMs?: string;
  readonly maxAttempts?: number;
  readonly storePath?: string;
  /** An ERP simulator already running (a restart of the app against it); else one is started, closed by `cleanup`. */
  readonly erp?: ErpSimulator;
  readonly paths?: Record<string, string>;
}

/** The app (no HTTP server, silent) against an ERP simulator as destination `erp`; `cleanup` gets what stops them. */
export async function startErpApp(cleanup: (() => Promise<void>)[], options: ErpAppOptions = {}): Promise<ErpApp> {
  const erp = options.erp ?? (await startErpSimulator({ token: 'erp-token', idempotency: options.idempotency ?? true, seed: 3 }));
  if (!options.erp) cleanup.push(() => erp.close());
  const config = compileConfig({
    store: { path: options.storePath ?? tempStorePath(), synchronous: 'normal' },
    shutdown: { graceMs: '50ms' },
    destinations: [
      {
        name: 'erp',
        type: 'rest',
        baseUrl: erp.url,
        token: 'erp-token',
        idempotencySupported: options.idempotency ?? true,
        ...(options.paths ? { paths: options.paths } : {}),
        timeoutMs: options.timeoutMs ?? '2s',
        rateLimit: { requestsPerMinute: 60_000, maxConcurrency: 4 },
        // A request the simulator did not answer in time never lands later: resends need not wait long.
        retry: { baseDelayMs: '10ms', maxDelayMs: '50ms', maxAttempts: options.maxAttempts ?? 20, unknownOutcomeSettleMs: '300ms' },
        circuitBreaker: { failureThreshold: 1000, openMs: '100ms' },
      },
    ],
    assets: {
      inline: options.assets ?? [
        { erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 't1' }] },
        { erpAssetId: 'EQ-2', identifiers: [{ type: 'tag', value: 't2' }] },
      ],
    },
    ingest: { checkpointMs: 0 },
    rules: { allowedLateness: 0, ...(options.rules ?? {}) },
    server: { port: 0 },
  });
  const app = await createApp(config, { logger: createLogger('silent'), http: false });
  cleanup.push(() => app.stop());
  await app.start();
  return { app, erp };
}

