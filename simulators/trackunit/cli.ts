/**
 * The Trackunit simulator's command line, parsed into `startTrackunitSimulator` options (`main.ts`
 * runs them). A number out of an option's range is refused naming the option and the range, rather
 * than started with an effect no test wants (endless empty pages, every fleet page refused).
 * @module
 */
import { parseArgs } from 'node:util';
import type { TrackunitSimulatorOptions } from './simulator.js';
import { rangeText, readWholeNumber } from '../whole-number.js';

export const TRACKUNIT_SIMULATOR_USAGE = `usage: trackunit-simulator [options]

Trackunit's auth server and ISO 15143-3 (AEMP 2.0) export API (test tooling). Prints one JSON line
with its URLs once it listens; stops on SIGINT/SIGTERM or when stdin closes.

  --port N          port on 127.0.0.1, 0 to 65535 (default 0 = any free port)
  --fleet-size N    machines in the fleet, 0 or more (default 250; 0 = an empty fleet)
  --page-size N     machines per fleet page, 1 or more (default 100)
  --dialect D       JSON key style: trackunit, standard or samsara (default trackunit)
  --first-page P    number of the first fleet page: 0 or 1 (default 1)
  --omit-next       leave the next link out (clients must follow last)
  --relative        links relative to the request instead of absolute
  --overlap N       each page repeats this many machines of the page before, 0 to page-size - 1 (default 0)
  --data-age MS     age of the latest readings in milliseconds, 0 or more (default 300000)
  --fleet-rps N     fleet pages admitted per second, 1 or more (default 50; --no-limits lifts every limit)
  --no-limits       answer every request: no per-URL, reserve or per-second limit (no 429)
  --help            this text
`;

/** A command line the simulator does not take: the message names the option and what it takes. */
export class TrackunitCliError extends Error {}

export type TrackunitCliResult = { readonly help: true } | { readonly help: false; readonly options: TrackunitSimulatorOptions & { port: number } };

/** The value of `--option` as a whole number from `min` to `max` ({@link readWholeNumber}); throws TrackunitCliError naming the option. */
function wholeNumber(option: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER, meaning = ''): number {
  const n = readWholeNumber(value, min, max);
  if (n !== undefined) return n;
  throw new TrackunitCliError(`--${option} takes a whole number, ${rangeText(min, max)}${meaning}, got "${value}"`);
}

/** The simulator options `argv` (the arguments after the script) asks for; throws TrackunitCliError. */
export function parseTrackunitSimulatorArgs(argv: readonly string[]): TrackunitCliResult {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
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
    }));
  } catch (err) {
    // An unknown option, a value missing or a stray argument: parseArgs says which.
    throw new TrackunitCliError(`${(err as Error).message} (--help lists the options)`);
  }
  if (values.help) return { help: true };

  const dialect = values.dialect;
  if (dialect !== 'trackunit' && dialect !== 'standard' && dialect !== 'samsara') {
    throw new TrackunitCliError(`--dialect takes trackunit, standard or samsara, got "${dialect}"`);
  }
  const pageSize = wholeNumber('page-size', values['page-size'], 1);
  const firstPage = wholeNumber('first-page', values['first-page'], 0, 1, ' (the number of the first fleet page)');
  return {
    help: false,
    options: {
      port: wholeNumber('port', values.port, 0, 65535, ' (0 = any free port)'),
      fleetSize: wholeNumber('fleet-size', values['fleet-size'], 0, undefined, ' (0 = an empty fleet)'),
      pageSize,
      firstPage: firstPage === 0 ? 0 : 1,
      dialect,
      links: { omitNext: values['omit-next'], relative: values.relative },
      overlap: wholeNumber('overlap', values.overlap, 0, pageSize - 1, ` (less than --page-size ${pageSize})`),
      dataAgeMs: wholeNumber('data-age', values['data-age'], 0),
      limits: {
        enforce: !values['no-limits'],
        ...(values['fleet-rps'] !== undefined ? { perSecond: { fleet: wholeNumber('fleet-rps', values['fleet-rps'], 1, undefined, ' (--no-limits lifts every limit)') } } : {}),
      },
    },
  };
}
