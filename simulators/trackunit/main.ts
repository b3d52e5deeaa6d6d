/**
 * Run the Trackunit simulator as its own process (demos, benchmarks, trying a config by hand):
 *
 *   node dist/simulators/trackunit/main.js --port 8095 --fleet-size 1000 --dialect trackunit
 *
 * Prints one JSON line with its URLs (`{"origin","isoBaseUrl","tokenUrl","tokenV2Url"}`) once it
 * listens, and stops on SIGINT/SIGTERM or when stdin closes (so a parent process that dies takes
 * it along). Options and their ranges: cli.ts (`--help`).
 * @module
 */
import { TRACKUNIT_SIMULATOR_USAGE, TrackunitCliError, parseTrackunitSimulatorArgs, type TrackunitCliResult } from './cli.js';
import { startTrackunitSimulator } from './simulator.js';

let parsed: TrackunitCliResult;
try {
  parsed = parseTrackunitSimulatorArgs(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof TrackunitCliError)) throw err;
  process.stderr.write(`trackunit simulator: ${err.message}\n`);
  process.exit(2);
}
if (parsed.help) {
  process.stdout.write(TRACKUNIT_SIMULATOR_USAGE);
  process.exit(0);
}

let sim: Awaited<ReturnType<typeof startTrackunitSimulator>>;
try {
  sim = await startTrackunitSimulator(parsed.options);
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  const hint = e.code === 'EADDRINUSE' ? ` — port ${parsed.options.port} is taken; pass --port <other> or --port 0` : '';
  process.stderr.write(`trackunit simulator: cannot start: ${e.message}${hint}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ origin: sim.origin, isoBaseUrl: sim.isoBaseUrl, tokenUrl: sim.tokenUrl, tokenV2Url: sim.tokenV2Url })}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(
    `trackunit simulator: ${sim.stats.isoRequests} ISO requests, ${sim.stats.http429} answered 429, ${sim.stats.tokenRequests} token requests\n`,
  );
  void sim.close().finally(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
