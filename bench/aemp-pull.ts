/**
 * AEMP pull benchmark: one fleet pull of a 100,000-machine fleet (1,000 pages of 100) from the
 * Trackunit simulator, which answers 429 above 50 fleet-page requests in any second. The result is
 * the elapsed time as a ratio to the bound that limit sets (pages / 50 per second; target ≤ 1.1)
 * and the number of 429s (target 0).
 *
 * The simulator runs in its own process (as the real API would), the puller runs the product path
 * (token, budget ledger in SQLite, paging, parsing, matching against 100,000 ERP assets, cursor),
 * and the sink only counts: ingest speed is what the ingest benchmark measures.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import type { SqliteStore } from '../src/adapters/store/sqlite/sqlite-store.js';
import { createAempProvider } from '../src/adapters/telematics/aemp/aemp-provider.js';
import { runFleetPull } from '../src/adapters/telematics/aemp/fleet-pull.js';
import type { IngestSink } from '../src/ports/source.js';
import { assetsForMachines, simulatorConfig } from '../simulators/trackunit/test-support.js';
import { withTempStore } from '../test/helpers/temp-store.js';

export interface AempPullBenchResult {
  /** Wall time of the pull, first token request to last page stored. */
  readonly elapsedMs: number;
  /** The least time the per-second limit allows: pages / limit. */
  readonly boundMs: number;
  /** elapsedMs / boundMs (target ≤ 1.1). */
  readonly ratio: number;
  readonly requests: number;
  readonly http429: number;
}

const SIMULATOR = resolve(import.meta.dirname, '../simulators/trackunit/main.js');

async function startSimulator(fleetSize: number, rps: number): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawn(process.execPath, [SIMULATOR, '--fleet-size', String(fleetSize), '--fleet-rps', String(rps)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((res, rej) => {
    lines.once('line', res);
    child.once('exit', (code) => rej(new Error(`trackunit simulator exited with code ${code} before listening`)));
  });
  lines.close();
  return { child, origin: (JSON.parse(first) as { origin: string }).origin };
}

/**
 * Pull `fleetSize` machines (default 100,000) through a simulator limited to `rps` fleet pages per
 * second (default 50), and report the ratio to the bound.
 */
export async function benchAempPull(fleetSize = 100_000, rps = 50): Promise<AempPullBenchResult> {
  const { child, origin } = await startSimulator(fleetSize, rps);
  try {
    return await withTempStore({ synchronous: 'normal' }, (store) => pullThrough(store, fleetSize, rps, origin));
  } finally {
    child.stdin?.end();
    child.kill('SIGTERM');
  }
}

/** {@link benchAempPull} into `store`: the whole fleet pulled through the simulator at `origin`, timed. */
async function pullThrough(store: SqliteStore, fleetSize: number, rps: number, origin: string): Promise<AempPullBenchResult> {
  await store.upsertAssets(assetsForMachines(Array.from({ length: fleetSize }, (_, i) => i), 'machine-id'));
  const config = simulatorConfig({ name: `bench-${process.pid}-${Date.now()}`, profile: { perSecond: { fleet: rps } } }, origin);
  const { client } = createAempProvider(config, { store });
  let submitted = 0;
  const sink: IngestSink = {
    submit: (messages) => {
      submitted += messages.length;
      return Promise.resolve({ accepted: messages.length, quarantined: [] });
    },
  };
  const started = performance.now();
  const summary = await runFleetPull({ client, store, sink });
  const elapsedMs = performance.now() - started;
  if (!summary.complete || submitted !== fleetSize) {
    throw new Error(`benchmark pull incomplete: ${summary.stop} ${summary.error ?? ''} (${summary.pages} pages, ${submitted}/${fleetSize} machines submitted)`);
  }
  const boundMs = (summary.pages / rps) * 1000;
  return { elapsedMs: Math.round(elapsedMs), boundMs, ratio: Math.round((elapsedMs / boundMs) * 1000) / 1000, requests: summary.requests, http429: summary.http429 };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const result = await benchAempPull(Number(process.env.BENCH_AEMP_FLEET ?? 100_000));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
