/**
 * `depreciation preview` without `--period` was refused by commander ("required option '--period
 * <id>' not specified"), though a preview changes nothing and the period an operator looks at is
 * nearly always the one just closed. It now previews the most recent closed period of the
 * configured calendar, saying which on stderr.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../app.js';
import { createLogger } from '../../adapters/log/logger.js';
import { loadConfigFile } from '../../config/load.js';
import { rulesSchema, type DepreciationConfig } from '../../config/rules-schema.js';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
import { defaultPreviewPeriod, PERIOD_HELP, resolvePeriod, unknownPeriodText } from './depreciation.js';
import { NotFoundError, UsageError } from '../../core/errors/errors.js';

function depreciation(d: object): DepreciationConfig {
  const parsed = rulesSchema.parse({ depreciation: d }).depreciation;
  if (!parsed) throw new Error('no depreciation rules');
  return parsed;
}

describe('depreciation preview without --period', () => {
  it('takes the most recent period that has ended: the month before, or a listed calendar\'s last once it is over; none ended is refused', () => {
    const monthly = depreciation({ timeZone: 'UTC' });
    expect(defaultPreviewPeriod(monthly, Date.parse('2026-11-05T00:00:00Z')).id).toBe('2026-10');
    expect(defaultPreviewPeriod(monthly, Date.parse('2026-11-01T00:00:00Z')).id).toBe('2026-10'); // October has just ended
    expect(defaultPreviewPeriod(depreciation({ timeZone: 'Europe/Berlin' }), Date.parse('2026-10-31T23:30:00Z')).id).toBe('2026-10'); // already November in Berlin
    const listed = depreciation({ timeZone: 'UTC', periods: [{ id: 'FY27-P1', start: '2026-10-01' }, { id: 'FY27-P2', start: '2026-11-01' }], periodsEnd: '2026-12-01' });
    expect(defaultPreviewPeriod(listed, Date.parse('2026-11-15T00:00:00Z')).id).toBe('FY27-P1');
    expect(defaultPreviewPeriod(listed, Date.parse('2027-03-01T00:00:00Z')).id).toBe('FY27-P2');
    expect(() => defaultPreviewPeriod(listed, Date.parse('2026-10-15T00:00:00Z'))).toThrow('no period of the configured calendar (rules.depreciation.periods) has ended yet: give the one to preview with --period');
  });

  it('the command previews that period and says so; --help gives the default', async () => {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      log: { level: 'silent' },
      assets: { inline: [{ erpAssetId: 'EQ-1', attributes: { cost: '1000', salvage: '0', expectedUnits: '100' }, identifiers: [{ type: 'tag', value: 'dp-tag-1' }] }] },
      rules: { depreciation: { timeZone: 'UTC' } },
    }));
    const app = await createApp(loadConfigFile(cfg.path), { sources: false, http: false, deliver: false, logger: createLogger('silent') });
    await app.close(); // the store, with the asset
    const now = new Date();
    const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    const expected = `${last.getUTCFullYear()}-${String(last.getUTCMonth() + 1).padStart(2, '0')}`;
    const r = await runCli(['depreciation', 'preview', '-c', cfg.path]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: `period ${expected}: the most recent closed period of the configured calendar (--period for another)\n` });
    expect(r.stdout).toMatch(new RegExp(`EQ-1\\s+${expected}\\s`));
    const help = await runCli(['depreciation', 'preview', '--help']);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('(default: the most recent closed period of the configured calendar)');
  }, 60_000);

  // The note on the period came first, then the real error: a store that does not exist is said alone.
  it('a store that does not exist is said alone, without the note on the period', async () => {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'none.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      log: { level: 'silent' },
      rules: { depreciation: { timeZone: 'UTC' } },
    }));
    const r = await runCli(['depreciation', 'preview', '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^[^\n]*there is no store/);
    expect(r.stderr).not.toContain('the most recent closed period');
  }, 60_000);
});

describe('depreciation preview with an argument it refuses', () => {
  // The note on the period came first, then the refusal, as if the preview had started.
  it('refuses an asset not under depreciation, one not in the registry, and --out the store, alone, before saying the period', async () => {
    let store = '';
    const cfg = writeConfig((dir) => {
      store = join(dir, 'ab.db');
      return {
        store: { path: store },
        destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
        log: { level: 'silent' },
        assets: {
          inline: [
            { erpAssetId: 'EQ-1', attributes: { cost: '1000', salvage: '0', expectedUnits: '100', book: 'usage' }, identifiers: [{ type: 'tag', value: 'dp-tag-1' }] },
            { erpAssetId: 'EQ-2', attributes: { book: 'straight' }, identifiers: [{ type: 'tag', value: 'dp-tag-2' }] },
          ],
        },
        rules: { depreciation: { timeZone: 'UTC', appliesTo: { attributes: { book: ['usage'] } } } },
      };
    });
    const app = await createApp(loadConfigFile(cfg.path), { sources: false, http: false, deliver: false, logger: createLogger('silent') });
    await app.close(); // the store, with the assets
    const preview = (...args: string[]) => runCli(['depreciation', 'preview', '-c', cfg.path, ...args]);
    for (const [args, code, refusal] of [
      [['--asset', 'EQ-2'], 1, 'depreciation does not apply to asset EQ-2 (rules.depreciation.appliesTo)'],
      [['--asset', 'EQ-9'], 1, `no asset "EQ-9" in the registry (no ERP asset id or identifier of any asset); see 'assetbridge assets list'`],
      [['--out', store], 2, `--out ${store} is the store itself (store.path): give another path`],
    ] as const) {
      const r = await preview(...args);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code, stdout: '' });
      expect(r.stderr).toContain(refusal);
      expect(r.stderr).not.toContain('the most recent closed period');
    }
    // An asset it takes: named by its tag, said, then the period.
    const r = await preview('--asset', 'dp-tag-1');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^asset EQ-1 \("dp-tag-1" is its tag\)\nperiod \d{4}-\d{2}: the most recent closed period of the configured calendar \(--period for another\)\n$/);
    expect(r.stdout).toMatch(/EQ-1\s/);
    expect(r.stdout).not.toContain('EQ-2');
  }, 60_000);
});

describe('--period of a calendar that is not monthly', () => {
  const at = (t: string) => Date.parse(t);
  const fiscal = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `FY27-P${String(i + 1).padStart(2, '0')}`, start: `${2026 + Math.floor((9 + i) / 12)}-${String(((9 + i) % 12) + 1).padStart(2, '0')}-01` }));

  it('--help says what a period id is for both calendar kinds, not only months', () => {
    expect(PERIOD_HELP).toContain('with periods: monthly, a month YYYY-MM');
    expect(PERIOD_HELP).toContain('with a list of periods, one of the listed ids as written (e.g. FY27-P01)');
  });

  it('an unknown id of a monthly calendar says the form, the time zone and the current and last ended periods (a usage error)', () => {
    const monthly = depreciation({ timeZone: 'Europe/Berlin' });
    expect(() => resolvePeriod(monthly, '2026/11', at('2026-12-06T05:00:00Z'))).toThrow(UsageError);
    expect(unknownPeriodText(monthly, '2026/11', at('2026-12-06T05:00:00Z'))).toBe(
      '--period "2026/11" is not a month; the calendar is monthly (rules.depreciation.periods) in Europe/Berlin: write YYYY-MM, e.g. 2026-11 (the current period is 2026-12, the last ended is 2026-11)',
    );
  });

  // Was: 0026-10 was taken for a period "26-10" of October 1926 (a two-digit year to Date.UTC), so
  // preview refused "26-10", a value not given, and post went on for 1926.
  it('a month of a year before 1000 is no month: refused as given, not taken for another id', () => {
    const monthly = depreciation({ timeZone: 'UTC' });
    for (const id of ['0026-10', '0999-12', '0000-01']) {
      expect(() => resolvePeriod(monthly, id, at('2026-12-06T05:00:00Z'))).toThrow(UsageError);
      expect(unknownPeriodText(monthly, id, at('2026-12-06T05:00:00Z'))).toMatch(new RegExp(`^--period "${id}" is not a month`));
    }
    expect(resolvePeriod(monthly, '1000-01').id).toBe('1000-01');
  });

  it('an unknown id of a listed calendar names the ids near the current period, the one meant, and the current and last ended (names nothing: exit 1)', () => {
    const listed = depreciation({ timeZone: 'UTC', periods: fiscal(24), periodsEnd: '2028-10-01' });
    expect(() => resolvePeriod(listed, '2026-12', at('2027-09-15T00:00:00Z'))).toThrow(NotFoundError);
    const text = unknownPeriodText(listed, 'fy27 p07', at('2027-09-15T00:00:00Z'));
    expect(text).toContain('is not in the configured calendar (rules.depreciation.periods: a list of 24 period(s), named by their ids as written)');
    expect(text).toContain('did you mean "FY27-P07"?');
    // Twelve around the current one (FY27-P12), not all 24, with the calendar's range.
    expect(text).toContain('periods: …, FY27-P06, FY27-P07, ');
    expect(text).toContain(', FY27-P17, … (FY27-P01 to FY27-P24)');
    expect(text).not.toContain('FY27-P05,');
    expect(text).toContain('; the current period is FY27-P12, the last ended is FY27-P11');
    const laterNow = unknownPeriodText(listed, 'nope', at('2028-09-15T00:00:00Z'));
    expect(laterNow).toContain('periods: …, FY27-P13, ');
    expect(laterNow).toContain(', FY27-P24 (FY27-P01 to FY27-P24)');
    expect(laterNow).not.toContain('did you mean');
  });

  it('a month given to a calendar of listed periods names the periods in that month, with their local days', () => {
    // A 4-4-5 year in Amsterdam: October 2026 holds the end of P01 and the start of P02.
    const fy = depreciation({ timeZone: 'Europe/Amsterdam', periods: [{ id: 'FY27-P01', start: '2026-09-28' }, { id: 'FY27-P02', start: '2026-10-26' }, { id: 'FY27-P03', start: '2026-11-30' }], periodsEnd: '2026-12-28' });
    expect(() => resolvePeriod(fy, '2026-10', at('2026-12-06T10:00:00Z'))).toThrow(NotFoundError);
    expect(unknownPeriodText(fy, '2026-10', at('2026-12-06T10:00:00Z'))).toBe(
      '--period "2026-10" is not in the configured calendar (rules.depreciation.periods: a list of 3 period(s), named by their ids as written); ' +
        "2026-10 is a month, and the calendar's periods are not months: the periods in it are FY27-P01 (2026-09-28 to 2026-10-25), FY27-P02 (2026-10-26 to 2026-11-29); " +
        'periods: FY27-P01, FY27-P02, FY27-P03; the current period is FY27-P03, the last ended is FY27-P02',
    );
    expect(unknownPeriodText(fy, '2026-12', at('2026-12-06T10:00:00Z'))).toContain('; 2026-12 is a month, and the calendar\'s periods are not months: the period in it is FY27-P03 (2026-11-30 to 2026-12-27); periods:');
    // A month no listed period reaches: no such hint.
    expect(unknownPeriodText(fy, '2027-03', at('2026-12-06T10:00:00Z'))).not.toContain('is a month');
  });
});
