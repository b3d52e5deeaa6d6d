/**
 * The maintenance closed loop over a polled ERP, as the poll e2e tests run it: the service with a
 * 10 h service interval (`svc-10h`) for tagged assets `tag-<asset>`, polling every 300 ms; meter
 * readings posted by hours from a day ago; a work order opened for each asset; and `maintenance
 * status --json` read until every asset has a completion.
 */
import { expect } from 'vitest';
import type { AssetMaintenance } from '../../src/cli/commands/maintenance.js';
import type { ErpSimulatorOptions } from '../../simulators/erp-rest/erp-simulator.js';
import { runCli } from './cli.js';
import { startErpService, type ErpService } from './erp-service.js';
import { waitFor } from './wait.js';

const HOUR = 3_600_000;

export interface PollLoop {
  readonly service: ErpService;
  /** Readings 0 → 5 h, 4.5 → 9 h, 6 → 10.5 h for each asset, and their work orders (one each) at the ERP. */
  openWorkOrders(): Promise<void>;
  /** The maintenance status once every asset has a completed work order. */
  completed(): Promise<AssetMaintenance[]>;
}

export async function startPollLoop(opts: { readonly assets: readonly string[]; readonly env: { INTAKE_TOKEN: string; ERP_TOKEN: string }; readonly simulator: ErpSimulatorOptions; readonly destination?: Record<string, unknown> }): Promise<PollLoop> {
  const { assets, env } = opts;
  const service = await startErpService({
    simulator: opts.simulator,
    ...(opts.destination ? { destination: opts.destination } : {}),
    env,
    config: {
      sources: { http: { token: '${INTAKE_TOKEN}' } },
      assets: { inline: assets.map((id) => ({ erpAssetId: id, identifiers: [{ type: 'tag', value: `tag-${id}` }] })) },
      ingest: { checkpointMs: '200ms' },
      rules: { allowedLateness: '0s', maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }], feedback: { pollEvery: '300ms' } } },
    },
  });
  const t0 = Date.now() - 24 * HOUR;
  const hours = (asset: string, at: number, operatingHours: number) =>
    fetch(`${service.base}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.INTAKE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'meter', assetId: `tag-${asset}`, eventTime: new Date(t0 + at * HOUR).toISOString(), operatingHours }),
    });
  const status = async (): Promise<AssetMaintenance[]> => JSON.parse((await runCli(['maintenance', 'status', '--json', '-c', service.cfg.path], env)).stdout) as AssetMaintenance[];
  return {
    service,
    async openWorkOrders() {
      for (const asset of assets) {
        for (const [at, h] of [[0, 5], [4.5, 9], [6, 10.5]] as const) {
          expect((await hours(asset, at, h)).status).toBe(202);
        }
      }
      await waitFor(() => service.erp.state().workOrders.length === assets.length, `the work orders (output: ${service.svc.output()})`);
    },
    completed: () =>
      waitFor(async () => {
        const s = await status();
        return s.filter((a) => a.closed.some((w) => w.status === 'completed')).length === assets.length ? s : undefined;
      }, `every completion to arrive (output: ${service.svc.output()})`),
  };
}
