/** The Trackunit simulator's command line: numbers out of an option's range are refused, naming the option and the range. */
import { describe, expect, it } from 'vitest';
import { parseTrackunitSimulatorArgs, TrackunitCliError } from './cli.js';

/** The options the command line makes of `argv`, or the message it refuses it with. */
function parse(argv: string[]): unknown {
  try {
    const r = parseTrackunitSimulatorArgs(argv);
    return r.help ? 'help' : r.options;
  } catch (err) {
    if (err instanceof TrackunitCliError) return err.message;
    throw err;
  }
}

describe('trackunit simulator command line', () => {
  it('refuses --page-size 0 (endless empty pages) and --fleet-rps 0 (every fleet page refused), naming the range', () => {
    expect(parse(['--page-size', '0'])).toBe('--page-size takes a whole number, 1 or more, got "0"');
    expect(parse(['--fleet-rps', '0'])).toBe('--fleet-rps takes a whole number, 1 or more (--no-limits lifts every limit), got "0"');
  });

  it('refuses a --first-page other than 0 or 1 and an --overlap of a whole page or more, which it used to change silently', () => {
    expect(parse(['--first-page', '2'])).toBe('--first-page takes a whole number, from 0 to 1 (the number of the first fleet page), got "2"');
    expect(parse(['--page-size', '10', '--overlap', '10'])).toBe('--overlap takes a whole number, from 0 to 9 (less than --page-size 10), got "10"');
    expect(parse(['--page-size', '10', '--overlap', '9'])).toMatchObject({ pageSize: 10, overlap: 9 });
  });

  it('refuses a number that is negative, not whole, not a number, empty or out of range, for every numeric option', () => {
    for (const option of ['--port', '--fleet-size', '--page-size', '--first-page', '--overlap', '--data-age', '--fleet-rps']) {
      for (const value of ['-1', '1.5', 'ten', '', '1e3', '0x10', ' 5', '99999999999999999999']) {
        expect(parse([`${option}=${value}`]), `${option}=${JSON.stringify(value)}`).toMatch(new RegExp(`^${option} takes a whole number, `));
      }
    }
    expect(parse(['--port', '65536'])).toBe('--port takes a whole number, from 0 to 65535 (0 = any free port), got "65536"');
  });

  it('keeps the zeros that mean something and the defaults', () => {
    expect(parse(['--port', '0', '--fleet-size', '0', '--data-age', '0', '--first-page', '0'])).toMatchObject({ port: 0, fleetSize: 0, dataAgeMs: 0, firstPage: 0 });
    expect(parse([])).toEqual({
      port: 0,
      fleetSize: 250,
      pageSize: 100,
      firstPage: 1,
      dialect: 'trackunit',
      links: { omitNext: false, relative: false },
      overlap: 0,
      dataAgeMs: 300_000,
      limits: { enforce: true },
    });
    expect(parse(['--no-limits', '--fleet-rps', '20'])).toMatchObject({ limits: { enforce: false, perSecond: { fleet: 20 } } });
    expect(parse(['--help'])).toBe('help');
  });

  it('names an unknown option or dialect instead of failing with a stack trace', () => {
    expect(parse(['--fleet', '10'])).toMatch(/^Unknown option '--fleet'.*\(--help lists the options\)$/);
    expect(parse(['--dialect', 'geotab'])).toBe('--dialect takes trackunit, standard or samsara, got "geotab"');
  });
});
