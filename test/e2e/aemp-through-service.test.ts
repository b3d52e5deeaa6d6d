/**
 * `assetbridge aemp pull` while `assetbridge run` owns the store: the CLI hands the pull to the
 * service (one writer, one pipeline state), waits, and prints the service's summary with its exit
 * code; `aemp backfill` and `aemp equipment` likewise, so history can be fetched without stopping ingest.
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

describe('aemp commands through the running service', () => {
  it('runs the pull, a backfill and a single-machine fetch in the service and prints their results', async () => {
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

    // A provider the config does not have is refused at once, not after asking the service and waiting for it.
    const bad = await runCli(['aemp', 'pull', '--provider', 'nope', '-c', cfg.path]);
    expect(bad.code).toBe(1); // a name that names nothing is a failure (1)
    expect(bad.stderr).toBe('error: no telematics provider named "nope"; configured: trackunit\n');
    expect(bad.stdout).toBe('');
    const badFetch = await runCli(['aemp', 'equipment', 'PIN-1', '--provider', 'nope', '-c', cfg.path]);
    expect([badFetch.code, badFetch.stderr]).toEqual([1, 'error: no telematics provider named "nope"; configured: trackunit\n']);

    // History for the matched machines, without stopping ingest: the service runs the backfill too.
    const from = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const backfill = await runCli(['aemp', 'backfill', '--from', from, '--element', 'CumulativeOperatingHours', '-c', cfg.path]);
    expect(backfill.stderr).toMatch(/asked it to backfill/);
    expect(backfill.stdout).toMatch(/trackunit: backfill .* of CumulativeOperatingHours for 3 machine\(s\)/);
    expect(backfill.code).toBe(0);
    const bad2 = await runCli(['aemp', 'backfill', '--from', 'yesterday', '-c', cfg.path]);
    expect([bad2.code, bad2.stderr, bad2.stdout]).toEqual([2, expect.stringMatching(/error: --from "yesterday" is not a date/), '']);

    // One machine's snapshot, through the service's request budget.
    const one = await runCli(['aemp', 'equipment', machineHeader(1).pin!, '-c', cfg.path]);
    expect(one.stderr).toMatch(/asked it to fetch/);
    expect(one.stdout).toMatch(/matches: ERP asset EQ-1/);
    expect(one.code).toBe(0);
  });
});
