/**
 * `assetbridge aemp pull` while `assetbridge run` owns the store: the CLI hands the pull to the
 * service (one writer, one pipeline state), waits, and prints the service's summary with its exit
 * code. Commands the service cannot run for the CLI still refuse, saying what to do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import { machineHeader } from '../../simulators/trackunit/fleet.js';
import { DEFAULT_SIM_CREDENTIALS, startTrackunitSimulator, type RunningTrackunitSimulator } from '../../simulators/trackunit/simulator.js';
import { freePort, runCli, startReadyService, writeConfig, type ServiceProcess } from '../helpers/cli.js';
import { tempStorePath } from '../helpers/temp-store.js';
import { waitFor } from '../helpers/wait.js';

let erp: ErpSimulator;
let tu: RunningTrackunitSimulator;
let svc: ServiceProcess | undefined;

beforeAll(async () => {
  erp = await startErpSimulator({ token: 'erp-token' });
  tu = await startTrackunitSimulator({ fleetSize: 120 });
});
afterAll(async () => {
  await svc?.stop();
  await erp?.close();
  await tu?.close();
});

describe('aemp pull through the running service', () => {
  it('runs the pull in the service and prints its summary; backfill still asks to stop the service', async () => {
    const port = await freePort();
    const cfg = writeConfig({
      store: { path: tempStorePath() },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token' }],
      assets: { inline: [0, 1, 2].map((i) => ({ erpAssetId: `EQ-${i}`, identifiers: [{ type: 'pin', value: machineHeader(i).pin }] })) },
      telematics: [
        {
          name: 'trackunit',
          vendor: 'trackunit',
          baseUrl: `${tu.origin}/public/api/aemp/v2/15143/-3`,
          auth: { type: 'trackunit-password', ...DEFAULT_SIM_CREDENTIALS.legacy, tokenUrl: `${tu.origin}/token` },
        },
      ],
      server: { port },
    });
    svc = await startReadyService(cfg.path, port);

    const pull = await runCli(['aemp', 'pull', '-c', cfg.path]);
    expect(pull.stderr).toMatch(/asked it to pull/);
    expect(pull.stdout).toMatch(/trackunit: 2 page\(s\), 120 machine\(s\)/);
    expect(pull.stdout).toMatch(/matched 3, unmatched 117/);
    expect(pull.code).toBe(0);
    // The service's pipeline took the data: the three matched machines reach the ERP.
    await waitFor(() => ['EQ-0', 'EQ-1', 'EQ-2'].every((id) => erp.state().locations[id] !== undefined), 'the ERP has the pulled locations', 30_000);

    // A usage error comes back as one, from the service.
    const bad = await runCli(['aemp', 'pull', '--provider', 'nope', '-c', cfg.path]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/nope/);

    const backfill = await runCli(['aemp', 'backfill', '--from', '2025-03-01', '-c', cfg.path]);
    expect(backfill.code).toBe(2);
    expect(backfill.stderr).toMatch(/is in use by assetbridge run \(pid \d+ on .*stop that one first.*aemp pull go through a running service/);
  });
});
