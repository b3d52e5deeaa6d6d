/**
 * Run the Trackunit simulator as its own process (demos, benchmarks, trying a config by hand):
 *
 *   node dist/simulators/trackunit/main.js --port 8095 --fleet-size 1000 --dialect trackunit
 *
 * Prints one JSON line with its URLs (`{"origin","isoBaseUrl","tokenUrl","tokenV2Url"}`) once it
 * listens, and stops on SIGINT/SIGTERM or when stdin closes (so a parent process that dies takes
 * it along).
 * @module
 */
import { parseArgs } from 'node:util';
import { startTrackunitSimulator, type TrackunitSimulatorOptions } from './simulator.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'fleet-size': { type: 'string', default: '250' },
    'page-size': { type: 'string', default: '100' },
    dialect: { type: 'string', default: 'trackunit' },
    'first-page': { type: 'string', default: '1' },
    'omit-next': { type: 'boolean', default: false },
    relative: { type: 'boolean', default: false },
    overlap: { type: 'string', default: '0' },
    'data-age': { type: 'string', default: '300000' },
    'fleet-rps': { type: 'string' },
    'no-limits': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'usage: trackunit-simulator [--port N] [--fleet-size N] [--page-size N] [--dialect trackunit|standard|samsara]\n' +
      '       [--first-page 0|1] [--omit-next] [--relative] [--overlap N] [--data-age MS] [--fleet-rps N] [--no-limits]\n',
  );
  process.exit(0);
}

const int = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`--${name} must be a whole number, got "${v}"\n`);
    process.exit(2);
  }
  return n;
};

const dialect = values.dialect as TrackunitSimulatorOptions['dialect'];
if (!['trackunit', 'standard', 'samsara'].includes(values.dialect)) {
  process.stderr.write(`--dialect must be trackunit, standard or samsara, got "${values.dialect}"\n`);
  process.exit(2);
}

const sim = await startTrackunitSimulator({
  port: int('port', values.port),
  fleetSize: int('fleet-size', values['fleet-size']),
  pageSize: int('page-size', values['page-size']),
  firstPage: int('first-page', values['first-page']) === 0 ? 0 : 1,
  ...(dialect ? { dialect } : {}),
  links: { omitNext: values['omit-next'], relative: values.relative },
  overlap: int('overlap', values.overlap),
  dataAgeMs: int('data-age', values['data-age']),
  limits: {
    enforce: !values['no-limits'],
    ...(values['fleet-rps'] !== undefined ? { perSecond: { fleet: int('fleet-rps', values['fleet-rps']) } } : {}),
  },
});
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
