/**
 * `assetbridge depreciation refile` on a store (the built CLI): an asset held since the calendar
 * changed from Berlin's months to UTC's, with October posted under Berlin's, is re-filed and posted
 * again, without its October hours posted twice.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
import { seedBerlinOctoberPosted } from '../../../test/helpers/usage-fixture.js';
import { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { formatRefile, REFILE_DETAIL_LIMIT, refileJob, type AssetRefile } from './depreciation-refile.js';
import { rulesSchema, type DepreciationConfig } from '../../config/rules-schema.js';
import { customCalendar, monthlyCalendar, periodStamp } from '../../core/rules/depreciation/calendar.js';
import { createUsageRule, type UsageState } from '../../core/rules/depreciation/usage-rule.js';
import { CALENDARS_NS, recordCalendar } from '../../engine/tasks/usage-posting.js';

const ATTRIBUTES = { cost: '120000', salvage: '20000', expectedUnits: '10000', usefulLifeMonths: '60' };

/** EQ-1 used 10 h a day from 1 October to 30 November 12:00 UTC, filed in Berlin's months; its October (Berlin) posted. EQ-2 has no usage. */
async function setup(): Promise<{ path: string; dir: string }> {
  const cfg = writeConfig((dir) => ({
    store: { path: join(dir, 'ab.db') },
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
    assets: {
      inline: [
        { erpAssetId: 'EQ-1', attributes: ATTRIBUTES, identifiers: [{ type: 'tag', value: 'tag-1' }] },
        { erpAssetId: 'EQ-2', attributes: ATTRIBUTES, identifiers: [{ type: 'tag', value: 'tag-2' }] },
      ],
    },
    rules: { depreciation: { timeZone: 'UTC' } },
  }));
  const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
  await store.upsertAssets(['EQ-1', 'EQ-2'].map((id, i) => ({ asset: { erpAssetId: id, erpModule: 'fixed-assets', attributes: ATTRIBUTES }, identifiers: [{ type: 'tag', value: `tag-${i + 1}`, erpAssetId: id }] })));
  await seedBerlinOctoberPosted(store);
  await store.close();
  return cfg;
}

describe('depreciation refile', () => {
  it('--dry-run shows the old and the new periods, and changes nothing', async () => {
    const cfg = await setup();
    const r = await runCli(['depreciation', 'refile', '--dry-run', '-c', cfg.path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('EQ-1: would re-file from monthly Europe/Berlin under monthly UTC');
    expect(r.stdout).toMatch(/OLD PERIOD\s+UNITS\s+METER AT END\n\s+2026-10\s+309\.583\s+1,309\.583\n\s+2026-11\s+295\.417\s+1,605/);
    expect(r.stdout).toMatch(/2026-10\s+2026-10-01T00:00:00\.000Z\s+2026-11-01T00:00:00\.000Z\s+0\.417\s+1,310\s+covered/);
    expect(r.stdout).toMatch(/2026-11\s+2026-11-01T00:00:00\.000Z\s+2026-12-01T00:00:00\.000Z\s+295\s+1,605\s*\n/);
    expect(r.stdout).toContain('note: 2026-10 straddles the end of 2026-10 (2026-10-31T23:00:00.000Z), the last period posted, and a period of that id was posted under the old calendar: its 0.417 units after that are carried into the next posting');
    expect(r.stdout).toContain('1 other asset(s) not held');
    const post = await runCli(['depreciation', 'post', '--period', '2026-11', '--dry-run', '-c', cfg.path]);
    expect(post.stdout).toContain('  EQ-1: its usage is filed in periods of another calendar (monthly Europe/Berlin)');
  });

  it('re-files the held asset; November is then posted with the hours after the October posting, none twice', async () => {
    const cfg = await setup();
    const r = await runCli(['depreciation', 'refile', '-c', cfg.path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('EQ-1: re-filed from monthly Europe/Berlin under monthly UTC');
    const post = await runCli(['depreciation', 'post', '--period', '2026-11', '--dry-run', '-c', cfg.path]);
    expect(post.stderr).toBe('');
    expect(post.stdout).toContain('would post usage for 1 asset(s) for 2026-11');
    // 1605 − 1309.583 posted through Berlin's October: November's 295 h and October's last UTC hour.
    expect(post.stdout).toMatch(/EQ-1\s+2026-11\s+295\.417 h\s+1,605 h/);
    expect(post.stdout).toContain('  EQ-1: 2026-11 includes 0.417 h found after posting, from 2026-10 (0.417)');
    expect(post.stdout).not.toMatch(/EQ-1\s+2026-10\s/);
    const again = await runCli(['depreciation', 'refile', '-c', cfg.path]);
    expect(again.stdout).toBe('no asset is held by a calendar change: nothing to re-file (the configured calendar is monthly UTC)\n');
  });

  it('usage filed under a list of periods the config no longer has is not re-filed, and says what to do', async () => {
    const cfg = await setup();
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
    const [doc] = [...(await store.loadRuleStates(['EQ-1'], ['depreciation'])).values()];
    const state = { ...(doc?.depreciation as UsageState), cal: 'custom UTC 0badcafe' };
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { depreciation: state }, changed: ['depreciation'] }], deliveries: [], quarantine: [], accepted: 0 });
    await store.close();
    const r = await runCli(['depreciation', 'refile', '--asset', 'EQ-1', '-c', cfg.path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('EQ-1: not re-filed: the calendar its usage was filed under (custom UTC, other periods) cannot be rebuilt: it is not monthly');
  });

  it('an asset not held says so', async () => {
    const cfg = await setup();
    const r = await runCli(['depreciation', 'refile', '--asset', 'EQ-2', '-c', cfg.path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('EQ-2 is not held: its usage is filed under the configured calendar (monthly UTC); nothing to re-file\n');
  });
});

describe('depreciation preview of an asset held by the calendar change, before the re-file', () => {
  /** The setup, and EQ-1 read twice since the change, under UTC's months: 1625 h on 2 December 12:00, 1645 h on 4 December 12:00 (10 h a day). */
  async function setupHeld(): Promise<{ path: string; dir: string }> {
    const cfg = await setup();
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
    try {
      const rule = createUsageRule({ calendar: monthlyCalendar('UTC'), allowedLatenessMs: 0 });
      const [doc] = [...(await store.loadRuleStates(['EQ-1'], ['depreciation'])).values()];
      let state = doc?.depreciation as UsageState;
      const asset = { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: ATTRIBUTES };
      for (const [at, hours] of [['2026-12-02T12:00:00Z', 1625], ['2026-12-04T12:00:00Z', 1645]] as const) {
        const t = Date.parse(at);
        state = rule.apply(state, { kind: 'meter', source: 't', ids: [{ type: 'erp', value: 'EQ-1' }], eventTime: t, receivedAt: t, operatingHours: hours }, { asset, destination: 'erp', now: t }).state;
      }
      expect(state.heldUsage).toHaveLength(2); // held, not filed: what the preview read as nothing before
      await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { depreciation: state }, changed: ['depreciation'] }], deliveries: [], quarantine: [], accepted: 0 });
    } finally {
      await store.close();
    }
    return cfg;
  }

  it('shows the usage read while held as a re-file would file it under the configured calendar, in the table, CSV (last columns) and JSON; posts nothing of it', async () => {
    const cfg = await setupHeld();
    const table = await runCli(['depreciation', 'preview', '--period', '2026-12', '-c', cfg.path]);
    expect(table.code).toBe(0);
    // Filed: nothing in December (the held periods are Berlin's); held: 15 h of the first spread (1 December 00:00 to 2 December 12:00) and 20 h.
    expect(table.stdout).toMatch(/^ASSET\s+PERIOD\s+UNITS\s+LIFE TO DATE\s+HELD UNITS\s+HELD LIFE TO DATE\s+EXPECTED\s/);
    expect(table.stdout).toMatch(/\nEQ-1\s+2026-12\s+0 h\s+-\s+35 h\s+1,645 h\s+10,000 h\s/);
    expect(table.stdout).toMatch(/\nEQ-2\s+2026-12\s+0 h\s+-\s+10,000 h\s/);
    // Beside the line's own units-of-production charge (nothing filed: 0.00), the held 35 h's: 100,000 × 35 ÷ 10,000; none for EQ-2; totalled (what a re-file adds).
    expect(table.stdout).toMatch(/\sUNITS OF PRODUCTION\s+HELD UOP\s+STRAIGHT LINE\s/);
    expect(table.stdout).toMatch(/\nEQ-1\s+2026-12\s.*\s20,000\.00\s+0\.00\s+350\.00\s+1,666\.67\s/);
    expect(table.stdout).toMatch(/\nEQ-2\s+2026-12\s.*\s20,000\.00\s+0\.00\s+1,666\.67\s/);
    expect(table.stdout).toMatch(/\nTOTAL\s+0\.00\s+350\.00\s+3,333\.34\s*\n/);
    expect(table.stdout).toContain(
      "held, pending re-file: 35 h read since the hold began (2026-11-30T12:00:00.000Z) would file in 2026-12 under the configured calendar, life-to-date 1,645 h at its end, units of production 350.00 (HELD UOP), what they would depreciate once re-filed and posted; not posted until the usage is re-filed ('assetbridge depreciation refile')",
    );
    const csv = await runCli(['depreciation', 'preview', '--period', '2026-11', '--csv', '-c', cfg.path]);
    const [header, eq1, eq2] = csv.stdout.split('\r\n');
    // The held units-of-production charge last: the columns before keep their positions.
    expect(header).toBe('erpAssetId,period,meter,periodUnits,lifeToDateUnits,totalExpectedUnits,cost,salvage,usefulLifePeriods,unitsOfProduction,straightLine,notes,adjustmentUnits,adjustmentPeriods,heldUnits,heldLifeToDateUnits,heldUnitsOfProduction');
    // November (UTC), the period the hold began in: the 5 h read after 30 November 12:00, to the meter at 1 December 00:00 (100,000 × 5 ÷ 10,000).
    expect(eq1).toMatch(/^EQ-1,2026-11,.*,5,1610,50$/);
    expect(eq2).toMatch(/^EQ-2,2026-11,.*,,,$/);
    const json = await runCli(['depreciation', 'preview', '--period', '2026-12', '--json', '--asset', 'EQ-1', '-c', cfg.path]);
    expect((JSON.parse(json.stdout) as { held?: unknown }[])[0]?.held).toEqual({ units: 35, lifeToDateUnits: 1645, since: '2026-11-30T12:00:00.000Z', unitsOfProduction: 350 });
    // The preview only: a posting is as it was, held back.
    const post = await runCli(['depreciation', 'post', '--period', '2026-11', '--dry-run', '--json', '-c', cfg.path]);
    const planned = JSON.parse(post.stdout) as { wouldQueue: { erpAssetId: string }[]; heldBack: { erpAssetId: string }[] };
    expect(planned.wouldQueue.filter((x) => x.erpAssetId === 'EQ-1')).toEqual([]);
    expect(planned.heldBack.map((x) => x.erpAssetId)).toEqual(['EQ-1']);
  });
});

describe('depreciation refile from a list of periods that was edited since', () => {
  const before = [
    { id: 'FY27-P01', start: '2026-09-01' },
    { id: 'FY27-P02', start: '2026-10-05' },
    { id: 'FY27-P03', start: '2026-11-02' },
  ];
  // FY27-P02 now starts on 1 October: the usage filed in P01 and P02 is held.
  const after = [
    { id: 'FY27-P01', start: '2026-09-01' },
    { id: 'FY27-P02', start: '2026-10-01' },
    { id: 'FY27-P03', start: '2026-11-02' },
  ];
  const END = '2026-12-07';

  async function setupListed(recorded: boolean): Promise<{ path: string; dir: string }> {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { inline: [{ erpAssetId: 'EQ-1', attributes: ATTRIBUTES, identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      rules: { depreciation: { timeZone: 'UTC', periods: after, periodsEnd: END } },
    }));
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
    const old = customCalendar('UTC', before, END);
    // 10 h a day from 20 September to 20 October, filed under the old list (P01 to 5 October).
    const state: UsageState = {
      first: [Date.parse('2026-09-20T00:00:00Z'), 1000],
      last: [Date.parse('2026-10-20T00:00:00Z'), 1300],
      periods: { 'FY27-P01': { units: 150, meterAtEnd: 1150 }, 'FY27-P02': { units: 150, meterAtEnd: 1300 } },
      cal: periodStamp(old, ['FY27-P01', 'FY27-P02']),
    };
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: ATTRIBUTES }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { depreciation: state }, changed: ['depreciation'] }], deliveries: [], quarantine: [], accepted: 0 });
    if (recorded) await recordCalendar(store, old, before, END); // as the service did when it ran with the old list
    await store.close();
    return cfg;
  }

  it('re-files from the old list when the store recorded it (a service ran with it), and records the new one', async () => {
    const cfg = await setupListed(true);
    const r = await runCli(['depreciation', 'refile', '-c', cfg.path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('EQ-1: re-filed from custom UTC under custom UTC');
    // The meter's advance across the new boundaries: 11 days to 1 October, 19 days to the last reading.
    expect(r.stdout).toMatch(/FY27-P01\s+2026-09-01T00:00:00\.000Z\s+2026-10-01T00:00:00\.000Z\s+110\s+1,110/);
    expect(r.stdout).toMatch(/FY27-P02\s+2026-10-01T00:00:00\.000Z\s+2026-11-02T00:00:00\.000Z\s+190\s+1,300/);
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
    try {
      const fingerprints = (await store.kvList(CALENDARS_NS)).map((e) => e.key).sort();
      expect(fingerprints).toEqual([customCalendar('UTC', after, END).fingerprint, customCalendar('UTC', before, END).fingerprint].sort());
    } finally {
      await store.close();
    }
  });

  it('without that record, says it cannot be rebuilt and what to do', async () => {
    const cfg = await setupListed(false);
    const r = await runCli(['depreciation', 'refile', '--dry-run', '-c', cfg.path]);
    expect(r.stdout).toContain('EQ-1: not re-filed: the calendar its usage was filed under (custom UTC, other periods) cannot be rebuilt: it is not monthly, not the configured periods in another time zone, and not a list of periods this store has recorded (it records each listed calendar it runs with); set the calendar back to it');
  });
});

describe('the re-file as a job of the running service', () => {
  const d = rulesSchema.parse({ depreciation: { timeZone: 'UTC' } }).depreciation as DepreciationConfig;
  const inline = { exclusively: <T>(fn: (forget: (id: string) => void) => Promise<T>) => fn(() => undefined), checkpoint: () => Promise.resolve() };

  it('re-files under the service’s calendar, with a note when the command’s config file names another; an unknown asset is a failure (1), said on stderr', async () => {
    const cfg = await setup();
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
    try {
      const job = refileJob(store, inline, d);
      const dry = await job({ dryRun: true }, new AbortController().signal);
      expect(dry.exitCode).toBe(0);
      expect(dry.output).toMatch(/^EQ-1: would re-file from monthly Europe\/Berlin under monthly UTC\n/);
      expect((await job({ dryRun: true }, new AbortController().signal)).output).toBe(dry.output); // it changed nothing
      const unknown = await job({ asset: 'NOPE' }, new AbortController().signal);
      expect(unknown).toEqual({ exitCode: 1, output: '', errors: expect.stringMatching(/^error: no asset "NOPE"/) as unknown });
      const r = await job({ calendar: monthlyCalendar('Europe/Berlin').fingerprint }, new AbortController().signal);
      expect(r.exitCode).toBe(0);
      expect(r.output).toMatch(/^note: this service runs with another depreciation calendar \(monthly UTC\) than the config file given \(monthly Europe\/Berlin\): it re-files under its own; restart it to run with the file's, then re-file\nEQ-1: re-filed from monthly Europe\/Berlin under monthly UTC\n/);
      const again = await job({ calendar: monthlyCalendar('UTC').fingerprint }, new AbortController().signal);
      expect(again.output).toBe('no asset is held by a calendar change: nothing to re-file (the configured calendar is monthly UTC)\n');
    } finally {
      await store.close();
    }
  });
});

describe('the re-file job stopped by the command (Ctrl-C)', () => {
  const d = rulesSchema.parse({ depreciation: { timeZone: 'UTC' } }).depreciation as DepreciationConfig;
  const inline = { exclusively: <T>(fn: (forget: (id: string) => void) => Promise<T>) => fn(() => undefined), checkpoint: () => Promise.resolve() };

  it('writes nothing once stopped while it plans, and says so; run again, it re-files', async () => {
    // Mutation: the job ignores its signal (the re-file went on in the service, with intake held, its result collected by nobody).
    const cfg = await setup();
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
    try {
      const job = refileJob(store, inline, d);
      const stop = new AbortController();
      stop.abort(new Error('interrupted'));
      expect(await job({}, stop.signal)).toEqual({ exitCode: 1, output: 'interrupted before anything was re-filed: run the same command again\n' });
      expect(await job({ dryRun: true }, stop.signal)).toEqual({ exitCode: 1, output: 'interrupted before anything was re-filed: run the same command again\n' });
      expect((await job({}, new AbortController().signal)).output).toMatch(/^EQ-1: re-filed from monthly Europe\/Berlin under monthly UTC\n/);
    } finally {
      await store.close();
    }
  });
});

describe('the output of a re-file of many assets', () => {
  const result = { state: {}, old: [], periods: [], notes: [] };
  const list: AssetRefile[] = [
    ...Array.from({ length: 20 }, (_, i) => ({ erpAssetId: `EQ-${i}`, was: i < 15 ? 'monthly Europe/Berlin' : 'monthly UTC', result })),
    { erpAssetId: 'EQ-20', was: 'custom UTC', problem: 'the calendar … cannot be rebuilt' },
    { erpAssetId: 'EQ-21', was: 'monthly Europe/Berlin', result },
    ...Array.from({ length: 3 }, (_, i) => ({ erpAssetId: `EQ-${30 + i}`, notHeld: true as const })),
  ];
  const applied = new Set(Array.from({ length: 20 }, (_, i) => `EQ-${i}`));

  it('is summed up past 20 held assets, naming those not re-filed; --details, --asset and --dry-run give every asset', () => {
    expect(formatRefile(list, 'custom Europe/Berlin', false, false, applied)).toBe(
      're-filed 20 of 22 held asset(s) under custom Europe/Berlin: 15 from monthly Europe/Berlin, 5 from monthly UTC\n' +
        'EQ-20: not re-filed: the calendar … cannot be rebuilt\n' +
        'EQ-21: not re-filed (its state or posting record changed meanwhile: run it again)\n' +
        '3 other asset(s) not held (filed under the configured calendar)\n' +
        "(each asset's old and new periods: --details, or --dry-run before a re-file)\n",
    );
    const full = formatRefile(list, 'custom Europe/Berlin', false, false, applied, true);
    expect(full.match(/^EQ-\d+: re-filed from /gm)).toHaveLength(20);
    expect(formatRefile(list, 'custom Europe/Berlin', true, false).match(/^EQ-\d+: would re-file from /gm)).toHaveLength(21);
    expect(formatRefile(list.slice(0, REFILE_DETAIL_LIMIT), 'custom Europe/Berlin', false, false, applied)).toMatch(/^EQ-0: re-filed from monthly Europe\/Berlin under custom Europe\/Berlin\n/);
  });
});
