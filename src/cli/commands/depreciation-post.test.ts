/**
 * `assetbridge depreciation post` as an integration engineer runs it (the built CLI): what it says
 * it would post (`--dry-run`), what it queued, and that a second run says nothing new was queued.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
import { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import type { UsageState } from '../../core/rules/depreciation/usage-rule.js';
import { monthlyCalendar, periodStamp } from '../../core/rules/depreciation/calendar.js';
import { latenessWarning } from './depreciation.js';

const ATTRIBUTES = { cost: '120000', salvage: '20000', expectedUnits: '10000', usefulLifeMonths: '60' };

/** A config with two assets and a store holding October 2026's usage of EQ-1 (EQ-2 never reported). */
async function setup(attributes = ATTRIBUTES, depreciation: object = {}, rules: object = {}): Promise<{ path: string; dir: string }> {
  const cfg = writeConfig((dir) => ({
    store: { path: join(dir, 'ab.db') },
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
    assets: {
      inline: [
        { erpAssetId: 'EQ-1', attributes, identifiers: [{ type: 'tag', value: 'tag-1' }] },
        { erpAssetId: 'EQ-2', attributes, identifiers: [{ type: 'tag', value: 'tag-2' }] },
      ],
    },
    rules: { ...rules, depreciation: { timeZone: 'UTC', ...depreciation } },
  }));
  const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
  await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
  const state: UsageState = { first: [Date.parse('2026-10-01T00:00:00Z'), 1000], last: [Date.parse('2026-10-31T12:00:00Z'), 1062.5], periods: { '2026-10': { units: 62.5, meterAtEnd: 1062.5 } } };
  await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { depreciation: state }, changed: ['depreciation'] }], deliveries: [], quarantine: [], accepted: 0 });
  await store.close();
  return cfg;
}

describe('depreciation post', () => {
  it('--dry-run lists what each asset would post, not only how many', async () => {
    const cfg = await setup();
    // EQ-2 in the registry too, with no readings: nothing to post for it.
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-2', erpModule: 'fixed-assets', attributes: ATTRIBUTES }, identifiers: [{ type: 'tag', value: 'tag-2', erpAssetId: 'EQ-2' }] }]);
    await store.close();
    const r = await runCli(['depreciation', 'post', '--period', '2026-10', '--dry-run', '-c', cfg.path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('would post usage for 1 asset(s) for 2026-10');
    expect(r.stdout).toMatch(/EQ-1\s+2026-10\s+62\.5 h\s+1,062\.5 h\s+10,000 h/);
    // The asset left out is named, with why: not silently missing from the list.
    expect(r.stdout).toContain('1 asset(s) without meter readings in or before 2026-10, so nothing to post for them: EQ-2\n');
  });

  it('--json prints what it queued (or would queue) and what it left out, as JSON only', async () => {
    const cfg = await setup();
    const dry = await runCli(['depreciation', 'post', '--period', '2026-10', '--dry-run', '--json', '-c', cfg.path]);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      period: '2026-10',
      dryRun: true,
      wouldQueue: [{ erpAssetId: 'EQ-1', destination: 'erp', businessKey: 'EQ-1|usage|2026-10', period: '2026-10', periodUnits: 62.5, periodStart: '2026-10-01T00:00:00.000Z' }],
      postedAlready: [],
      heldBack: [],
    });
    const posted = await runCli(['depreciation', 'post', '--period', '2026-10', '--json', '-c', cfg.path]);
    expect(posted.code).toBe(0);
    expect(JSON.parse(posted.stdout)).toMatchObject({ dryRun: false, queued: [{ erpAssetId: 'EQ-1', periodUnits: 62.5 }] });
    const again = await runCli(['depreciation', 'post', '--period', '2026-10', '--json', '-c', cfg.path]);
    expect(JSON.parse(again.stdout)).toMatchObject({ queued: [], postedAlready: [{ erpAssetId: 'EQ-1', delivery: { status: 'pending' } }] });
    // An unknown period is an error on stderr (exit 1), no JSON, as the other --json commands do.
    const unknown = await runCli(['depreciation', 'post', '--period', '2026-13', '--json', '-c', cfg.path]);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^error: /);
  });

  it('a second post says the period was posted already and queued nothing new', async () => {
    const cfg = await setup();
    const first = await runCli(['depreciation', 'post', '--period', '2026-10', '-c', cfg.path]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('queued usage for 1 asset(s) for 2026-10');
    expect(first.stdout).toMatch(/EQ-1\s+2026-10\s+62\.5 h/);
    const again = await runCli(['depreciation', 'post', '--period', '2026-10', '-c', cfg.path]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('queued usage for 1');
    expect(again.stdout).toContain('nothing new to post for 2026-10: 1 asset(s) posted it already (not sent again)');
    // `status` shows the on-demand posting (the service's checks never saw it); the run that queued nothing is not it.
    const status = await runCli(['status', '-c', cfg.path]);
    expect(status.stdout).toMatch(/depreciation: 'depreciation post --period 2026-10' queued 1 posting\(s\) \d+ s ago\n/);
  });

  it('warns, naming the settings and until when, that readings of a period just ended may still arrive (held for the lateness) and go into the next posting', async () => {
    // A silent asset's readings are held for rules.idleAfter: ten years here, so October 2026 has "just" ended.
    const cfg = await setup(ATTRIBUTES, {}, { idleAfter: '3650d' });
    const until = new Date(Date.parse('2026-11-01T00:00:00Z') + 3650 * 86_400_000 + 10_000).toISOString();
    const dry = await runCli(['depreciation', 'post', '--period', '2026-10', '--dry-run', '-c', cfg.path]);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toContain('warning: rules.allowedLateness, rules.idleAfter: 2026-10 ended at 2026-11-01T00:00:00.000Z');
    expect(dry.stderr).toContain(`readings of it may still arrive until about ${until}`);
    expect(dry.stderr).toContain('or until the asset has been silent for rules.idleAfter (3650d)');
    expect(dry.stderr).toContain("Those are not in what this would post: they go into each asset's next posting as a prior-period adjustment");
    const posted = await runCli(['depreciation', 'post', '--period', '2026-10', '-c', cfg.path]);
    expect(posted.stdout).toContain('queued usage for 1 asset(s) for 2026-10');
    expect(posted.stderr).toContain(`post after ${until}`);
    // Posted already: readings arriving now change nothing of it, so nothing is said.
    const again = await runCli(['depreciation', 'post', '--period', '2026-10', '-c', cfg.path]);
    expect(again.stderr).toBe('');
    // With the default lateness (30s, 2m), October has long settled: no warning (the test above checks stderr is empty too).
  });

  it('the lateness warning: until the period end plus the longest hold and two checkpoints; none after, none with nothing held', () => {
    const period = { id: '2026-10', start: Date.parse('2026-10-01T00:00:00Z'), end: Date.parse('2026-11-01T00:00:00Z') };
    const ingest = { checkpointMs: 5000 };
    const rules = { allowedLateness: 30_000, idleAfter: 120_000 };
    expect(latenessWarning(period, period.end + 60_000, rules, ingest, false)?.message).toContain('readings of it may still arrive until about 2026-11-01T00:02:10.000Z');
    expect(latenessWarning(period, period.end + 130_000, rules, ingest, false)).toBeUndefined();
    // idleAfter 0: silent assets keep theirs until their next reading (said); the window is the lateness.
    const noIdle = latenessWarning(period, period.end + 1000, { allowedLateness: 30_000, idleAfter: 0 }, ingest, false);
    expect(noIdle?.key).toBe('rules.allowedLateness');
    expect(noIdle?.message).toContain('rules.idleAfter 0: an asset silent since keeps them until its next reading');
    // No lateness: only the checkpoint; with none either, nothing is held.
    expect(latenessWarning(period, period.end + 1000, { allowedLateness: 0, idleAfter: 120_000 }, ingest, false)?.key).toBe('ingest.checkpointMs');
    expect(latenessWarning(period, period.end, { allowedLateness: 0, idleAfter: 0 }, { checkpointMs: 0 }, false)).toBeUndefined();
  });

  it('refuses a store that does not exist yet (a wrong --config), rather than create it empty and post nothing', async () => {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'none.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      rules: { depreciation: { timeZone: 'UTC' } },
    }));
    for (const extra of [[], ['--dry-run']]) {
      const r = await runCli(['depreciation', 'post', '--period', '2026-10', ...extra, '-c', cfg.path]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`error: there is no store at ${join(cfg.dir, 'none.db')} (store.path in ${cfg.path})`);
      expect(r.stderr).toContain("start the service with 'assetbridge run'");
      expect(r.stderr).toContain("'assetbridge assets import FILE' also creates it");
    }
    // A mistyped period is said first (fixing the config would only lead to that error next).
    for (const command of ['post', 'preview']) {
      const r = await runCli(['depreciation', command, '--period', '2026-13', '-c', cfg.path]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error: --period "2026-13" is not a month; the calendar is monthly \(rules\.depreciation\.periods\) in UTC: write YYYY-MM, e\.g\. \d{4}-\d\d \(the current period is \d{4}-\d\d, the last ended is \d{4}-\d\d\)\n$/);
    }
    expect(existsSync(join(cfg.dir, 'none.db'))).toBe(false);
  });
});

describe('depreciation preview with no asset to show', () => {
  it('says rules.depreciation.appliesTo selects none of the registry\'s assets, not a bare "no assets"', async () => {
    const cfg = await setup(ATTRIBUTES, { appliesTo: { erpModules: ['fleet'] } });
    const r = await runCli(['depreciation', 'preview', '--period', '2026-10', '-c', cfg.path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("no assets: rules.depreciation.appliesTo selects none of the 1 asset(s) in the registry ('assetbridge assets list' shows their modules and attributes)\n");
  });
});

describe('depreciation preview --json', () => {
  it('writes the period bounds as ISO 8601 strings, as every --json time, and meter values as numbers', async () => {
    const cfg = await setup();
    const r = await runCli(['depreciation', 'preview', '--period', '2026-10', '--asset', 'EQ-1', '--json', '-c', cfg.path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [line] = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(line).toMatchObject({ erpAssetId: 'EQ-1', period: '2026-10', periodStart: '2026-10-01T00:00:00.000Z', periodEnd: '2026-11-01T00:00:00.000Z', periodUnits: 62.5, meterAtEnd: 1062.5, lifeToDateUnits: 1062.5 });
  });
});

describe('depreciation post: an asset whose inputs are invalid', () => {
  const bad = { ...ATTRIBUTES, expectedUnits: '10,000' };

  it('is held back, named with the attribute and what to do; --force posts it; the preview notes it', async () => {
    const cfg = await setup(bad);
    const held = await runCli(['depreciation', 'post', '--period', '2026-10', '-c', cfg.path]);
    expect(held.code).toBe(0);
    // Nothing queued is said so, not as "queued usage for 0 asset(s) …; a running service delivers them".
    expect(held.stdout).toMatch(/^queued nothing for 2026-10\n/);
    expect(held.stdout).toContain("1 asset(s) held back, not posted: fix what each says and post again (an invalid attribute: with assets import or in the config's assets; or send those as they are with --force, see rules.depreciation.holdBack):");
    expect(held.stdout).toContain('  EQ-1: attribute "expectedUnits" ("10,000") is not a number');
    const preview = await runCli(['depreciation', 'preview', '--period', '2026-10', '-c', cfg.path, '--json']);
    const [line] = JSON.parse(preview.stdout) as { notes: string[] }[];
    expect(line?.notes).toContain('invalid attribute "expectedUnits" ("10,000") is not a number: write plain digits with a decimal point (e.g. 120000.50), without thousands separators, currency or units');
    expect(line?.notes.some((n) => n.startsWith('held back, not posted: attribute "expectedUnits"'))).toBe(true);
    const forced = await runCli(['depreciation', 'post', '--period', '2026-10', '--force', '-c', cfg.path]);
    expect(forced.stdout).toContain('queued usage for 1 asset(s) for 2026-10');
    expect(forced.stdout).not.toContain('held back');
  });

  it('is posted as it is with rules.depreciation.holdBack: false', async () => {
    const cfg = await setup(bad, { holdBack: false });
    const r = await runCli(['depreciation', 'post', '--period', '2026-10', '--dry-run', '-c', cfg.path]);
    expect(r.stdout).toContain('would post usage for 1 asset(s) for 2026-10');
    expect(r.stdout).not.toContain('held back');
  });
});

describe('depreciation post after the calendar changed', () => {
  it('a time zone spelt otherwise (config or stored usage) is the same calendar: posted, no warning, no refile', async () => {
    const cfg = await setup(ATTRIBUTES, { timeZone: 'europe/berlin' });
    // Filed by a version that kept the zone as typed: `monthly europe/berlin …`.
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
    const state: UsageState = { first: [Date.parse('2026-10-01T00:00:00Z'), 1000], last: [Date.parse('2026-10-31T12:00:00Z'), 1062.5], periods: { '2026-10': { units: 62.5, meterAtEnd: 1062.5 } }, cal: periodStamp(monthlyCalendar('europe/berlin'), ['2026-10']) };
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { depreciation: state }, changed: ['depreciation'] }], deliveries: [], quarantine: [], accepted: 0 });
    await store.close();
    const r = await runCli(['depreciation', 'post', '--period', '2026-10', '--dry-run', '-c', cfg.path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('would post usage for 1 asset(s) for 2026-10');
    expect(r.stdout).not.toContain('held back');
  });

  it('holds the assets whose usage was filed under another calendar, and warns naming the setting and what to do', async () => {
    const cfg = await setup();
    // EQ-1's October was filed under Berlin's months; the config now says UTC.
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
    const state: UsageState = { first: [Date.parse('2026-10-01T00:00:00Z'), 1000], last: [Date.parse('2026-10-31T12:00:00Z'), 1062.5], periods: { '2026-10': { units: 62.5, meterAtEnd: 1062.5 } }, cal: periodStamp(monthlyCalendar('Europe/Berlin'), ['2026-10']) };
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { depreciation: state }, changed: ['depreciation'] }], deliveries: [], quarantine: [], accepted: 0 });
    await store.close();
    const r = await runCli(['depreciation', 'post', '--period', '2026-10', '-c', cfg.path]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: rules.depreciation.timeZone: the depreciation calendar (rules.depreciation.timeZone, periods, periodsEnd) is not the one the usage of 1 asset(s) was filed under: 1 under monthly Europe/Berlin (EQ-1); now monthly UTC.');
    expect(r.stdout).toMatch(/^queued nothing for 2026-10\n/);
    expect(r.stdout).toContain('  EQ-1: its usage is filed in periods of another calendar (monthly Europe/Berlin) than the configured one (monthly UTC): set rules.depreciation.timeZone, periods and periodsEnd (the calendar) back');
  });
});

describe('depreciation preview: output options', () => {
  it('refuses --json with --out or --csv (a usage error, exit 2), writing no file, rather than print JSON silently', async () => {
    const cfg = await setup();
    const out = join(cfg.dir, 'f.csv');
    const withOut = await runCli(['depreciation', 'preview', '--period', '2026-10', '--out', out, '--json', '-c', cfg.path]);
    expect(withOut.code).toBe(2);
    expect(withOut.stdout).toBe('');
    expect(withOut.stderr).toBe(`error: --out writes CSV, not JSON: give --out ${out} without --json for a CSV file, or --json alone (redirect it for a JSON file: --json > ${out})\n`);
    expect(readdirSync(cfg.dir)).not.toContain('f.csv');
    const withCsv = await runCli(['depreciation', 'preview', '--period', '2026-10', '--csv', '--json', '-c', cfg.path]);
    expect(withCsv.code).toBe(2);
    expect(withCsv.stderr).toBe('error: --json and --csv ask for different output: give one of them (--csv prints CSV, --json prints JSON)\n');
    // Each alone, and --csv with --out, as before.
    const csv = await runCli(['depreciation', 'preview', '--period', '2026-10', '--csv', '--out', out, '-c', cfg.path]);
    expect([csv.code, csv.stdout, existsSync(out)]).toEqual([0, `wrote 1 row(s) to ${out}\n`, true]);
    expect((await runCli(['depreciation', 'preview', '--period', '2026-10', '--json', '-c', cfg.path])).code).toBe(0);
    // The other commands with --csv/--out (or --geojson) and --json say the same.
    for (const args of [['inventory', 'counts', '--csv', '--json'], ['inventory', 'items', '--out', out, '--json'], ['maintenance', 'status', '--csv', '--json'], ['zones', 'list', '--geojson', '--json']]) {
      const r = await runCli([...args, '-c', cfg.path]);
      expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/^error: --(json and --(csv|geojson) ask for different output|out writes CSV, not JSON)/)]);
    }
  });
});

describe('depreciation preview and post of a period posted already', () => {
  /** October and November posted (EQ-1), then the store's outbox as `claim` leaves each of them. */
  async function postedTwice(): Promise<{ path: string; dir: string }> {
    const cfg = await setup();
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
    const state: UsageState = {
      first: [Date.parse('2026-10-01T00:00:00Z'), 1000],
      last: [Date.parse('2026-12-01T00:00:00Z'), 1100],
      periods: { '2026-10': { units: 62.5, meterAtEnd: 1062.5 }, '2026-11': { units: 37.5, meterAtEnd: 1100 } },
    };
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { depreciation: state }, changed: ['depreciation'] }], deliveries: [], quarantine: [], accepted: 0 });
    await store.close();
    for (const period of ['2026-10', '2026-11']) expect((await runCli(['depreciation', 'post', '--period', period, '-c', cfg.path])).stdout).toContain(`queued usage for 1 asset(s) for ${period}`);
    return cfg;
  }

  it('shows a period posted before the last posting as posted, with the units it carried, not as "not posted"', async () => {
    const cfg = await postedTwice();
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
    const sent = await store.claimDue('erp', Date.now(), 2, new Set());
    await store.completeAttempts(sent.map((d) => ({ id: d.id, result: 'delivered' as const })), [], Date.now());
    await store.close();
    const preview = await runCli(['depreciation', 'preview', '--period', '2026-10', '--asset', 'EQ-1', '--json', '-c', cfg.path]);
    expect(preview.stderr).toBe('');
    const [line] = JSON.parse(preview.stdout) as { periodUnits: number; lifeToDateUnits: number; unitsOfProduction: number; notes: string[] }[];
    expect(line).toMatchObject({ periodUnits: 62.5, lifeToDateUnits: 1062.5, unitsOfProduction: 625 });
    expect(line?.notes).toEqual(['posted']);
    const again = await runCli(['depreciation', 'post', '--period', '2026-10', '-c', cfg.path]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing new to post for 2026-10: 1 asset(s) posted it already (not sent again)\n');
    expect(again.stdout).not.toContain('is not posted for them again');
  });

  it('an earlier period never posted (the first posting was of a later one) is said not posted, not "not posted again"', async () => {
    const cfg = await setup();
    // EQ-1 read in September and October; October posted first, as the service's first check posts only the latest period.
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
    const state: UsageState = {
      first: [Date.parse('2026-09-20T00:00:00Z'), 950],
      last: [Date.parse('2026-10-31T12:00:00Z'), 1062.5],
      periods: { '2026-09': { units: 50, meterAtEnd: 1000 }, '2026-10': { units: 62.5, meterAtEnd: 1062.5 } },
    };
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { depreciation: state }, changed: ['depreciation'] }], deliveries: [], quarantine: [], accepted: 0 });
    await store.close();
    // Before any posting, the preview says so while it can still be done, naming the command (the service's first posting is of the latest period only).
    const before = await runCli(['depreciation', 'preview', '--period', '2026-09', '--json', '-c', cfg.path]);
    const [unposted] = JSON.parse(before.stdout) as { notes: string[] }[];
    expect(unposted?.notes.at(-1)).toMatch(
      /^not posted yet, and the service's first posting is of \d{4}-\d{2}, not earlier periods: this period's units would then be in the life-to-date of later postings only; to post it as its own period, run 'assetbridge depreciation post --period 2026-09' before then \(each earlier period first, oldest first\)$/,
    );
    expect((await runCli(['depreciation', 'post', '--period', '2026-10', '-c', cfg.path])).stdout).toContain('queued usage for 1 asset(s) for 2026-10');
    const r = await runCli(['depreciation', 'post', '--period', '2026-09', '-c', cfg.path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'queued nothing for 2026-09\n' +
        '1 asset(s) have no posting of 2026-09 but one of a later period (2026-10): 2026-09 is not posted for them, as postings are made in period order, once each (its units are in the life-to-date of their later postings)\n',
    );
    // The preview says the same: its units were not "carried into the next" posting (October's carried only October's).
    const preview = await runCli(['depreciation', 'preview', '--period', '2026-09', '--json', '-c', cfg.path]);
    const [line] = JSON.parse(preview.stdout) as { periodUnits: number; notes: string[] }[];
    expect(line?.periodUnits).toBe(50);
    expect(line?.notes).toContain('not posted: postings are made in period order, once each, and this asset\'s are made through 2026-10: its units are in the life-to-date of its later postings');
    expect(line?.notes.join('|')).not.toContain('not posted yet'); // too late for the command: not named
  });

  it('says a posting the ERP refused (a dead letter) or not yet delivered is not in the ERP, with the command to replay it', async () => {
    const cfg = await postedTwice();
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
    const [october] = await store.claimDue('erp', Date.now(), 1, new Set());
    await store.completeAttempts([{ id: october!.id, result: 'dead', error: 'POST /api/v1/assets/EQ-1/usage → 422 unprocessable: PeriodClosed: period 2026-10 is closed' }], [], Date.now());
    await store.close();
    for (const [period, says] of [
      ['2026-10', `decided, not delivered: dead letter ${october!.id} (POST /api/v1/assets/EQ-1/usage → 422 unprocessable: PeriodClosed: period 2026-10 is closed); fix the cause, then 'assetbridge dlq replay ${october!.id}'`],
      ['2026-11', 'decided, not delivered yet (queued for the ERP: a running service sends it)'],
    ] as const) {
      const preview = await runCli(['depreciation', 'preview', '--period', period, '--asset', 'EQ-1', '--json', '-c', cfg.path]);
      const [line] = JSON.parse(preview.stdout) as { notes: string[] }[];
      expect(line?.notes).toEqual([says]);
    }
    const post = await runCli(['depreciation', 'post', '--period', '2026-10', '-c', cfg.path]);
    expect(post.stdout).toContain(
      `nothing new to post for 2026-10: 1 asset(s) posted it already (not sent again)\n  of those, 1 not delivered to the ERP: EQ-1 (dead letter ${october!.id}); 'depreciation preview --period 2026-10' says why; fix the cause, then 'assetbridge dlq replay ${october!.id}'\n`,
    );
  });
});
