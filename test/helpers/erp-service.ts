/**
 * The setup most service e2e tests share: an ERP simulator, `assetbridge run` on a free port with a
 * store beside its config and the simulator as destination `erp` (bearer `${ERP_TOKEN}`, quick
 * retries), ready to take requests. `config` adds the test's own sections; `webhook` also points
 * the simulator's work-order pushes at the service, signed with `${ERP_WEBHOOK_SECRET}`.
 */
import { startErpSimulator, type ErpSimulator, type ErpSimulatorOptions } from '../../simulators/erp-rest/erp-simulator.js';
import { ServiceStartError, freePort, startReadyService, writeConfig, type ServiceProcess } from './cli.js';

export interface ErpService {
  readonly erp: ErpSimulator;
  readonly svc: ServiceProcess;
  /** The service's base URL. */
  readonly base: string;
  readonly cfg: { readonly path: string; readonly dir: string };
  /** Stops the service (expecting a graceful exit code) and the simulator. */
  stop(): Promise<number | null>;
}

export async function startErpService(opts: {
  readonly simulator: ErpSimulatorOptions;
  readonly config: Record<string, unknown>;
  /** Keys of destination `erp` beside those set here (`maxWorkOrderPages: 1`). */
  readonly destination?: Record<string, unknown>;
  readonly env: NodeJS.ProcessEnv;
  readonly webhook?: boolean;
}): Promise<ErpService> {
  const erp = await startErpSimulator({ token: 'erp-token', ...opts.simulator });
  const destination = {
    name: 'erp',
    type: 'rest',
    baseUrl: erp.url,
    token: '${ERP_TOKEN}',
    retry: { baseDelayMs: '100ms', maxDelayMs: '1s' },
    ...(opts.webhook ? { webhook: { secret: '${ERP_WEBHOOK_SECRET}' } } : {}),
    ...opts.destination,
  };
  // A port freePort found free can be taken before the service listens on it: then another one.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    if (opts.webhook) erp.setWebhookUrl(`${base}/v1/webhooks/erp/work-orders`);
    // The store path is relative to the config, so it lands in the config's temp dir.
    const cfg = writeConfig({ store: { path: 'ab.db' }, destinations: [destination], ...opts.config, server: { port } });
    try {
      const svc = await startReadyService(cfg.path, port, opts.env);
      return service(erp, svc, base, cfg);
    } catch (err) {
      if (!(err instanceof ServiceStartError && err.code === 'EADDRINUSE') || attempt === 3) {
        await erp.close();
        throw err;
      }
    }
  }
}

function service(erp: ErpSimulator, svc: ServiceProcess, base: string, cfg: { readonly path: string; readonly dir: string }): ErpService {
  return {
    erp,
    svc,
    base,
    cfg,
    async stop() {
      const code = await svc.stop();
      await erp.close();
      return code;
    },
  };
}
