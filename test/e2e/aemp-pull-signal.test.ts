/**
 * `assetbridge aemp pull` stopped by SIGTERM (a scheduler's or container's stop, `timeout`) stops
 * as Ctrl-C does: it prints its summary with where the next pull resumes, and lets go of the store.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import { DEFAULT_SIM_CREDENTIALS, startTrackunitSimulator, type RunningTrackunitSimulator } from '../../simulators/trackunit/simulator.js';
import { CLI, runCli, writeConfig } from '../helpers/cli.js';
import { tempStorePath } from '../helpers/temp-store.js';
import { waitFor } from '../helpers/wait.js';

let erp: ErpSimulator;
let tu: RunningTrackunitSimulator;

beforeAll(async () => {
  erp = await startErpSimulator({ token: 'erp-token' });
  tu = await startTrackunitSimulator({ fleetSize: 20 });
});
afterAll(async () => {
  await erp?.close();
  await tu?.close();
});

describe('aemp pull and SIGTERM', () => {
  it('stops gracefully, printing its summary and where the next pull resumes', async () => {
    const cfg = writeConfig({
      store: { path: tempStorePath() },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'erp-token' }],
      telematics: [
        {
          name: 'trackunit',
          vendor: 'trackunit',
          baseUrl: `${tu.origin}/public/api/aemp/v2/15143/-3`,
          auth: { type: 'trackunit-password', ...DEFAULT_SIM_CREDENTIALS.legacy, tokenUrl: `${tu.origin}/token` },
        },
      ],
      server: { port: 0 },
    });
    expect((await runCli(['aemp', 'pull', '-c', cfg.path])).code).toBe(0);

    // The second pull finds the fleet URL's budget spent and waits for it (up to maxBudgetWait).
    const child = spawn(process.execPath, [CLI, 'aemp', 'pull', '-c', cfg.path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await waitFor(() => stderr.includes('waiting until'), 'the pull waits for the budget');
    child.kill('SIGTERM');
    expect(await exited).toBe(1);
    expect(stdout).toContain('stopped (aborted): the pull was stopped; it resumes where it left off');
    // It stopped waiting for the first page of a new snapshot: nothing kept, the next pull starts at the first page.
    expect(stdout).toContain('  kept: no page of this snapshot yet\n');
    expect(stdout).toContain("  the next pull starts at the first page: run 'assetbridge aemp pull --provider trackunit' again");
    // It let go of the store: the next command does not take over a lease from a process that is gone.
    const next = await runCli(['aemp', 'pull', '--no-wait', '-c', cfg.path]);
    expect(next.code).toBe(75);
    expect(next.stderr).not.toContain('took over the store lease');
  });
});
