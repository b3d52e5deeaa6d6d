/**
 * CLI for the generic REST ERP simulator (test tooling): `node dist/simulators/erp-rest/main.js
 * --port 4010 --rate-per-minute 120 --token sim-token`. Prints its URL and runs until SIGINT/SIGTERM.
 * Tests in other processes drive it through `/__sim/` (see erp-simulator.ts). Options: cli.ts.
 * @module
 */
import { parseErpSimulatorArgs } from './cli.js';
import { startErpSimulator } from './erp-simulator.js';

const options = parseErpSimulatorArgs(process.argv.slice(2));

try {
  const sim = await startErpSimulator(options);
  process.stdout.write(`ERP simulator listening on ${sim.url}\n`);
  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    sim.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`error while closing: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  const hint = e.code === 'EADDRINUSE' ? ` — port ${options.port ?? 4010} is taken; pass --port <other> or --port 0` : '';
  process.stderr.write(`cannot start the ERP simulator: ${e.message}${hint}\n`);
  process.exit(1);
}
