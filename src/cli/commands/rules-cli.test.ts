/**
 * The rule commands as an integration engineer runs them (the built CLI, a process per command),
 * with wrong input: what they refuse, with which message and exit code, and what they leave behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CLI, runCli, writeConfig } from '../../../test/helpers/cli.js';
import { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { rulesSchema } from '../../config/rules-schema.js';
import { createRules } from '../../core/rules/index.js';
import { monthlyCalendar, periodStamp } from '../../core/rules/depreciation/calendar.js';
import type { UsageState } from '../../core/rules/depreciation/usage-rule.js';
import { toJson } from '../context.js';
import { formatComparison, formatLine, formatSummary, INPUT_HINTS, jsonReportWriter, runRulesTest, UNKNOWN_IDS_SHOWN } from './rules-test.js';

const EVENTS = [
  '{"kind":"position","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","lat":52.5,"lng":13.4}',
  '{"kind":"meter","assetId":"tag-1","eventTime":"2026-10-01T09:00:00Z","operatingHours":12}',
].join('\n');

/** A config beside its (not yet existing) store, with a zone, a service interval and inventory. */
function config(): { path: string; dir: string; store: string } {
  const cfg = writeConfig((dir) => ({
    store: { path: join(dir, 'data', 'ab.db') },
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
    assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
    rules: {
      allowedLateness: '0s',
      zones: { inline: [{ name: 'YARD', locationCode: '1000/0001', circle: { lat: 52.5, lng: 13.4, radiusM: 200 } }] },
      maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }], feedback: { pollEvery: 0 } },
      inventory: { skuAttribute: 'sku' },
    },
    server: { port: 0 },
  }));
  writeFileSync(join(cfg.dir, 'events.jsonl'), `${EVENTS}\n`);
  return { ...cfg, store: join(cfg.dir, 'data', 'ab.db') };
}

/** A config with no assets and only the given `rules.zones` (none when left out), beside its store path. */
function zonesConfig(zones?: Record<string, unknown>): { path: string; dir: string } {
  return writeConfig((dir) => ({
    store: { path: join(dir, 'data', 'ab.db') },
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
    assets: { inline: [] },
    ...(zones === undefined ? {} : { rules: { zones } }),
    server: { port: 0 },
  }));
}

describe('rules test on a config that has not run yet', () => {
  it('is a dry run: it creates no store, so the commands that look at what ran still say nothing has', async () => {
    const cfg = config();
    const r = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'events.jsonl')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('workorder.create → erp [fact] EQ-1|svc-10h|10h@b0');
    expect(r.stdout).toContain('nothing was stored or sent');
    expect(existsSync(cfg.store)).toBe(false);
    const occupancy = await runCli(['zones', 'occupancy', '-c', cfg.path]);
    expect(occupancy.code).toBe(2);
    expect(occupancy.stderr).toContain('there is no store at');
  });
});

describe('rules list and rules test with meter sync off (rules.meters.enabled: false)', () => {
  it('say it is off; the service interval still comes due on the readings, no meter.record is sent', async () => {
    const cfg = config();
    const written = parse(readFileSync(cfg.path, 'utf8')) as { rules: object };
    writeFileSync(cfg.path, stringify({ ...written, rules: { ...written.rules, meters: { enabled: false } } }));
    const list = await runCli(['rules', 'list', '-c', cfg.path]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^meter +meter sync +off \(rules\.meters\.enabled: false\): meter hygiene still judges the readings, none is sent +-$/m);
    const text = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'events.jsonl'), '--fresh']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('workorder.create → erp [fact] EQ-1|svc-10h|10h@b0');
    expect(text.stdout).not.toContain('meter.record');
    expect(text.stdout).toContain('\n  meter (meter sync, off): nothing\n');
  });
});

describe('rules list, location sync with heartbeatMs 0', () => {
  it('says every fix is sent, not "every 0 s"', async () => {
    const cfg = config();
    const written = parse(readFileSync(cfg.path, 'utf8')) as { rules: object };
    writeFileSync(cfg.path, stringify({ ...written, rules: { ...written.rules, location: { heartbeatMs: 0 } } }));
    const list = await runCli(['rules', 'list', '-c', cfg.path]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^location +location sync +every fix \(rules\.location\.heartbeatMs 0\) +location\.update$/m);
  });
});

describe('rules list, usage per period', () => {
  it('says how long after its end a period is posted as a duration (90 s, not 0.025 h)', async () => {
    const cfg = config();
    const written = parse(readFileSync(cfg.path, 'utf8')) as { rules: object };
    writeFileSync(cfg.path, stringify({ ...written, rules: { ...written.rules, depreciation: { postAfter: '90s' } } }));
    const list = await runCli(['rules', 'list', '-c', cfg.path]);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^depreciation +usage per period +.*, posted 90 s after period end +usage\.post$/m);
  });
});

describe('rules test counts by rule', () => {
  it('in the text summary and the --json summary, each configured rule with its kind', async () => {
    const cfg = config();
    const text = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'events.jsonl'), '--fresh']);
    expect(text.stdout).toContain('\nby rule:\n');
    expect(text.stdout).toContain('\n  svc-10h (service interval): 1 × workorder.create (fact)\n');
    expect(text.stdout).toContain('\n  meter (meter sync): 1 × meter.record (state)\n');
    const json = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'events.jsonl'), '--fresh', '--json']);
    const report = JSON.parse(json.stdout) as { totals: Record<string, number>; byRule: Record<string, { type?: string; total: number; deliveries: Record<string, number> }> };
    expect(report.byRule['svc-10h']).toEqual({ type: 'service interval', total: 1, deliveries: { 'workorder.create (fact)': 1 } });
    // Every delivery is some rule's: the counts by rule add up to those by operation.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(Object.values(report.byRule).map((r) => r.total))).toBe(sum(Object.values(report.totals)));
  });
});

describe('rules test beside a store whose registry the config has changed since', () => {
  it('tests the assets as the config has them, as the service started with it would (not the stored copy of a listed asset)', async () => {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'data', 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      // Changed in the config since the service last started: the baseline, and tag-2 moved over from EQ-2.
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }, { type: 'tag', value: 'tag-2' }], attributes: { lastServiceHours: '5' } }] },
      rules: { allowedLateness: '0s', maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }], feedback: { pollEvery: 0 } } },
      server: { port: 0 },
    }));
    mkdirSync(join(cfg.dir, 'data'));
    const store = new SqliteStore({ path: join(cfg.dir, 'data', 'ab.db'), commitInWorker: false });
    await store.upsertAssets([
      { asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: { lastServiceHours: '0', site: 'S1' } }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] },
      { asset: { erpAssetId: 'EQ-2', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-2', erpAssetId: 'EQ-2' }, { type: 'tag', value: 'tag-3', erpAssetId: 'EQ-2' }] },
    ]);
    await store.close();
    writeFileSync(
      join(cfg.dir, 'events.jsonl'),
      ['{"kind":"meter","assetId":"tag-1","eventTime":"2026-10-01T09:00:00Z","operatingHours":12}', '{"kind":"meter","assetId":"tag-2","eventTime":"2026-10-01T14:00:00Z","operatingHours":16}', '{"kind":"meter","assetId":"tag-3","eventTime":"2026-10-01T09:00:00Z","operatingHours":11}', ''].join('\n'),
    );
    const r = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'events.jsonl'), '--fresh', '--json']);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { lines: { line: number; events: { erpAssetId: string }[]; deliveries: { businessKey: string; operation: string }[] }[] };
    const workOrders = (line: number) => report.lines.find((l) => l.line === line)?.deliveries.filter((d) => d.operation === 'workorder.create').map((d) => d.businessKey);
    // EQ-1 from the config's baseline (5 h: due at 15 h), not the stored one (0 h: due at 10 h).
    expect(workOrders(1)).toEqual([]);
    // tag-2 is EQ-1's now: its 16 h are past the 15 h due; tag-3 stays EQ-2's, from no baseline.
    expect(report.lines.map((l) => l.events[0]?.erpAssetId)).toEqual(['EQ-1', 'EQ-1', 'EQ-2']);
    expect(workOrders(2)).toEqual(['EQ-1|svc-10h|15h@b5']);
    expect(workOrders(3)).toEqual(['EQ-2|svc-10h|10h@b0']);
  });
});

describe('zones occupancy after a zone was renamed in the config', () => {
  it('shows the assets the stored state still tracks in the old name, as no longer configured (text and JSON)', async () => {
    const cfg = config();
    mkdirSync(join(cfg.dir, 'data'));
    const store = new SqliteStore({ path: cfg.store, commitInWorker: false });
    const since = Date.parse('2026-10-01T08:00:00Z');
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { location: { zones: { 'OLD-YARD': { phase: 'inside', since } } } }, changed: ['location'] }], deliveries: [], quarantine: [], accepted: 0 });
    await store.close();
    const text = await runCli(['zones', 'occupancy', '-c', cfg.path]);
    expect(text.stderr).toBe('');
    expect(text.stdout).toMatch(/^ZONE\s+LOCATION CODE\s+INSIDE\s+ARRIVING\s+LEAVING\nYARD\s+1000\/0001\s+0\s+0\s+0\n/);
    expect(text.stdout).toContain('zones no longer configured (renamed or removed), still named in the stored state: OLD-YARD (1 inside)');
    const json = await runCli(['zones', 'occupancy', '--json', '-c', cfg.path]);
    expect(JSON.parse(json.stdout)).toEqual([
      { zone: 'YARD', locationCode: '1000/0001', inside: 0, entering: 0, leaving: 0, assets: [], elsewhere: [] },
      { zone: 'OLD-YARD', locationCode: null, configured: false, inside: 1, entering: 0, leaving: 0, assets: [{ erpAssetId: 'EQ-1', phase: 'inside', since: '2026-10-01T08:00:00.000Z' }], elsewhere: [] },
    ]);
    const one = await runCli(['zones', 'occupancy', '--zone', 'OLD-YARD', '-c', cfg.path]);
    expect(one.stdout).toMatch(/^OLD-YARD \(no longer configured\): 1 inside, 0 arriving/);
    const csv = await runCli(['zones', 'occupancy', '--csv', '-c', cfg.path]);
    expect(csv.stdout).toBe('zone,locationCode,erpAssetId,state,since\r\nOLD-YARD,,EQ-1,inside,2026-10-01T08:00:00.000Z\r\n');
    // --out writes the same rows and counts them all (before: "wrote 0 row(s)", the old zone's row left out of the count).
    const out = await runCli(['zones', 'occupancy', '--out', join(cfg.dir, 'occ.csv'), '-c', cfg.path]);
    expect(out.stdout).toBe(`wrote 1 row(s) to ${join(cfg.dir, 'occ.csv')}\n`);
    // The file starts with the UTF-8 BOM, so Excel reads its names as UTF-8; stdout has none.
    expect(readFileSync(join(cfg.dir, 'occ.csv'), 'utf8')).toBe(`\uFEFF${csv.stdout}`);
  });
});

describe('zones occupancy where zones overlap', () => {
  it('counts each asset once, in the zone whose location code location sync sends, and names it under the other zones it is in', async () => {
    const cfg = zonesConfig({
      inline: [
        { name: 'YARD', locationCode: '1000/0001', circle: { lat: 52.5, lng: 13.4, radiusM: 500 } },
        { name: 'WORKSHOP', locationCode: '1000/0009', circle: { lat: 52.5, lng: 13.4, radiusM: 50 } }, // within YARD: the smaller wins
      ],
    });
    mkdirSync(join(cfg.dir, 'data'));
    const store = new SqliteStore({ path: join(cfg.dir, 'data', 'ab.db'), commitInWorker: false });
    const since = Date.parse('2026-10-01T08:00:00Z');
    const inside = { phase: 'inside', since };
    await store.upsertAssets(['EQ-1', 'EQ-2'].map((id) => ({ asset: { erpAssetId: id, erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: id, erpAssetId: id }] })));
    const states = [
      { erpAssetId: 'EQ-1', doc: { location: { zones: { YARD: inside, WORKSHOP: inside }, last: { eventTime: since, lat: 52.5, lng: 13.4, zone: '1000/0009', zoneName: 'WORKSHOP' } } }, changed: ['location'] },
      { erpAssetId: 'EQ-2', doc: { location: { zones: { YARD: inside }, last: { eventTime: since, lat: 52.502, lng: 13.4, zone: '1000/0001', zoneName: 'YARD' } } }, changed: ['location'] },
    ];
    await store.commitIngest({ states, deliveries: [], quarantine: [], accepted: 0 });
    await store.close();
    // Before: YARD counted 2 (EQ-1 too, which the ERP has at 1000/0009): 3 inside for 2 assets.
    const text = await runCli(['zones', 'occupancy', '-c', cfg.path]);
    expect(text.stderr).toBe('');
    expect(text.stdout).toMatch(/^ZONE\s+LOCATION CODE\s+INSIDE\s+ARRIVING\s+LEAVING\nYARD\s+1000\/0001\s+1\s+0\s+0\nWORKSHOP\s+1000\/0009\s+1\s+0\s+0\n/);
    expect(text.stdout).toContain('an asset inside overlapping zones counts once, in the zone whose location code location sync sends');
    const yard = await runCli(['zones', 'occupancy', '--zone', 'YARD', '-c', cfg.path]);
    expect(yard.stdout).toMatch(/^YARD \(1000\/0001\): 1 inside, 0 arriving\nASSET\s+STATE\s+SINCE\nEQ-2\s+inside\s+2026-10-01T08:00:00.000Z\nalso inside YARD \(counted in the overlapping zone whose location code location sync sends\): EQ-1 in WORKSHOP\n/);
    const csv = await runCli(['zones', 'occupancy', '--csv', '-c', cfg.path]);
    expect(csv.stdout).toBe('zone,locationCode,erpAssetId,state,since\r\nYARD,1000/0001,EQ-2,inside,2026-10-01T08:00:00.000Z\r\nWORKSHOP,1000/0009,EQ-1,inside,2026-10-01T08:00:00.000Z\r\n');
  });
});

describe('zones list --geojson with one property named for two fields', () => {
  it('refuses to write what would read back as other zones, naming the zone and the config key (not a file that renames C1 to 3000)', async () => {
    const cfg = zonesConfig({
      // Zones files named by their code (SLOC for both); an inline zone with a name of its own.
      properties: { name: 'SLOC', locationCode: 'SLOC' },
      inline: [
        { name: '1000', locationCode: '1000', circle: { lat: 52.5, lng: 13.4, radiusM: 100 } },
        { name: 'C1', locationCode: '3000', circle: { lat: 52.6, lng: 13.4, radiusM: 100 } },
      ],
    });
    const out = join(cfg.dir, 'all.geojson');
    const r = await runCli(['zones', 'list', '--geojson', '--out', out, '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'error: cannot write the zones as GeoJSON that reads back the same: rules.zones.properties names one property for two fields: zone "C1": its name (C1) and locationCode (3000) would both be property "SLOC". ' +
        'Give each field its own property in rules.zones.properties (a zones file that names them otherwise keeps its names in its own {path, properties} entry)\n',
    );
    expect(existsSync(out)).toBe(false);
  });
});

describe('zones list --geojson with no zones configured', () => {
  it('says on stderr that the collection is empty and no zones file yet (not a file that zones check then refuses, silently)', async () => {
    const cfg = zonesConfig();
    const r = await runCli(['zones', 'list', '--geojson', '-c', cfg.path]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ type: 'FeatureCollection', features: [] });
    expect(r.stderr).toBe('note: no zones are configured (rules.zones), so the FeatureCollection is empty; a zones file needs at least one zone before the config can name it\n');
  });
});

describe('zones list with no zones configured', () => {
  // It printed "no zones configured" alone, where zones locate and occupancy say where zones go in the config.
  it('says where zones go in the config, and how to check a zones file first', async () => {
    const cfg = zonesConfig();
    const r = await runCli(['zones', 'list', '-c', cfg.path]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({
      code: 0,
      stdout: "no zones are configured (add rules.zones.files or rules.zones.inline to the config); 'assetbridge zones check FILE' checks a zones file before the config names it\n",
    });
  });
});

describe('--out beside --json, and an --out file that cannot be written', () => {
  it('are refused as usage errors naming --out (not --out silently ignored, nor a bare ENOENT)', async () => {
    const cfg = config();
    mkdirSync(join(cfg.dir, 'data'));
    await new SqliteStore({ path: cfg.store, commitInWorker: false }).close();
    for (const args of [['zones', 'occupancy'], ['inventory', 'counts'], ['inventory', 'items'], ['zones', 'list']]) {
      const both = await runCli([...args, '--json', '--out', join(cfg.dir, 'x.csv'), '-c', cfg.path]);
      expect([args.join(' '), both.code]).toEqual([args.join(' '), 2]);
      expect(both.stderr).toMatch(/^error: --out writes (CSV|GeoJSON), not JSON: give --out \S+ without --json for a (CSV|GeoJSON) file, or --json alone/);
      expect(existsSync(join(cfg.dir, 'x.csv'))).toBe(false);
      const missing = await runCli([...args, '--out', join(cfg.dir, 'no-such-dir', 'x.csv'), '-c', cfg.path]);
      expect([args.join(' '), missing.code]).toEqual([args.join(' '), 2]);
      expect(missing.stderr).toBe(`error: --out ${join(cfg.dir, 'no-such-dir', 'x.csv')}: cannot write the file (its directory does not exist); give a path in an existing directory you can write to\n`);
    }
  });
});

describe('rules test lines', () => {
  it('rejects a line holding an empty list of events, with why (not an accepted line that shows nothing)', async () => {
    const assets = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }];
    const report = await runRulesTest({ lines: ['[]', EVENTS.split('\n')[0] ?? ''], rules: createRules(rulesSchema.parse({})), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    expect(report.counts).toEqual({ lines: 2, accepted: 1, rejected: 1, shown: 2, late: 0 });
    expect(report.lines[0] && formatLine(report.lines[0])).toBe('line 1: rejected: an empty list: no event in it\n');
  });

  it('counts the lines rejected for unknown assets in the summary and names their identifiers, so a long --brief run says which assets are missing', async () => {
    const assets = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }];
    const unknownLine = (tag: string, minute: number) => `{"kind":"meter","assetId":"${tag}","eventTime":"2026-10-01T08:${String(minute).padStart(2, '0')}:00Z","operatingHours":3}`;
    const lines = [EVENTS.split('\n')[0] ?? '', unknownLine('tag-9', 1), unknownLine('tag-9', 2), unknownLine('tag-8', 3), 'not json'];
    const report = await runRulesTest({ lines, rules: createRules(rulesSchema.parse({})), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    expect(report.counts).toMatchObject({ lines: 5, accepted: 1, rejected: 4 });
    // The not-JSON line is rejected, but not for an unknown asset.
    expect(report.unknownAssets).toEqual({ messages: 3, distinct: 2, ids: ['tag tag-9', 'tag tag-8'] });
    expect(formatSummary(report)).toContain("\n3 rejected for 2 unknown asset(s) (tag tag-9, tag tag-8): the service quarantines these as unknown-asset; add the assets to the config's assets or import them ('assetbridge assets import'), then run again\n");
    // Past the identifiers it names, it says how many more.
    const many = Array.from({ length: UNKNOWN_IDS_SHOWN + 2 }, (_, i) => unknownLine(`tag-x${i}`, i));
    const manyReport = await runRulesTest({ lines: many, rules: createRules(rulesSchema.parse({})), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    expect(manyReport.unknownAssets?.ids).toHaveLength(UNKNOWN_IDS_SHOWN);
    expect(formatSummary(manyReport)).toContain(`tag tag-x${UNKNOWN_IDS_SHOWN - 1}, and 2 more)`);
    // None unknown: no such line, no such key.
    expect((await runRulesTest({ lines: [EVENTS.split('\n')[0] ?? ''], rules: createRules(rulesSchema.parse({})), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') })).unknownAssets).toBeUndefined();
  });

  it("says a line starts with an MQTT topic ('mosquitto_sub -v' output), on each line and once for the whole input, not only 'Unexpected token'", async () => {
    const assets = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }];
    const input = (lines: string[]) => ({ lines, rules: createRules(rulesSchema.parse({})), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    const verbose = EVENTS.split('\n').map((l) => `site/a/events ${l}`);
    const report = await runRulesTest(input(verbose));
    expect(report.counts).toMatchObject({ lines: 2, accepted: 0, rejected: 2 });
    expect(report.lines[0] && formatLine(report.lines[0])).toBe(
      "line 1: rejected: payload is not JSON: it starts with the MQTT topic site/a/events before the JSON ('mosquitto_sub -v' output): give the JSON alone (subscribe without -v, or strip the topic), as a canonical event\n",
    );
    expect(report.inputHint).toBe(INPUT_HINTS.mqttTopic);
    expect(formatSummary(report)).toContain("subscribe without -v, or strip the topics (sed 's/^[^ ]* //' in.txt > events.jsonl)");
    // Text that is not JSON after a word is no topic line: the JSON Lines hint stays.
    const other = await runRulesTest(input(['assetId,eventTime', 'hello {not json']));
    expect(other.inputHint).toBe(INPUT_HINTS.notJsonLines);
    expect(other.lines[1]?.reason).toMatch(/^payload is not JSON: column /);
  });

  it('says a CSV file is CSV (each row to be written as a canonical event), not that it may be pretty-printed JSON', async () => {
    const assets = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }];
    const input = (lines: string[]) => ({ lines, rules: createRules(rulesSchema.parse({})), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    const csv = await runRulesTest(input(['assetId,eventTime,lat,lng', 'tag-1,2026-10-01T08:00:00Z,52.5,13.4']));
    expect(csv.counts).toMatchObject({ lines: 2, accepted: 0, rejected: 2 });
    expect(csv.inputHint).toBe(INPUT_HINTS.csv);
    expect(formatSummary(csv)).toContain('it reads as CSV (comma-separated columns, a spreadsheet export)');
    // A pretty-printed JSON file (some of its lines hold commas too) keeps its own hint.
    const pretty = JSON.stringify([JSON.parse(EVENTS.split('\n')[0] ?? '') as unknown], null, 2).split('\n');
    expect((await runRulesTest(input(pretty))).inputHint).toBe(INPUT_HINTS.notJsonLines);
  });

  it('says once that device payloads (no "kind") are no canonical events, rather than only "event needs ids" on every line', async () => {
    const assets = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }];
    const input = (lines: string[]) => ({ lines, rules: createRules(rulesSchema.parse({})), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    // What a tracker publishes, as the MQTT decoder of the config reads it.
    const payloads = ['{"tagId":"tag-1","ts":"2026-10-01T08:00:00Z","pos":{"lat":51.95,"lng":4.05}}', '[{"tagId":"tag-1","ts":"2026-10-01T08:01:00Z","hours":12}]'];
    const report = await runRulesTest(input(payloads));
    expect(report.counts).toMatchObject({ lines: 2, accepted: 0, rejected: 2 });
    expect(report.inputHint).toBe(INPUT_HINTS.notCanonical);
    expect(report.inputHint).toContain('not payloads as devices send them over MQTT');
    expect(formatSummary(report)).toContain(`\n${INPUT_HINTS.notCanonical}\n`);
    // One canonical line among them: the rest are bad lines of a right file, each with its reason.
    expect((await runRulesTest(input([...payloads, '{"kind":"meter","assetId":"tag-9","eventTime":"2026-10-01T08:00:00Z","operatingHours":3}']))).inputHint).toBeUndefined();
  });
});

/** util-linux `script` gives a command a terminal of its own (stdin included); Debian has it in every install. */
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

describe('rules test --events - at a terminal', () => {
  it.skipIf(!hasScript && process.env.CI !== 'true')('says it reads standard input and how to end it, rather than seeming to hang; piped input gets no such line', async () => {
    const cfg = config();
    const command = `'${process.execPath}' '${CLI}' rules test --config '${cfg.path}' --events -`;
    // `script` runs the command on a pseudo-terminal and passes the piped line, then the end of input, through it.
    const tty = spawnSync('script', ['-qec', command, '/dev/null'], { input: `${EVENTS.split('\n')[1] as string}\n`, encoding: 'utf8', timeout: 30_000 });
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/reading events from standard input, one JSON object a line; end with Ctrl-D/);
    expect(tty.stdout).toMatch(/1 event line\(s\): 1 accepted/);
    const piped = await runCli(['rules', 'test', '--config', cfg.path, '--events', '-'], {}, `${EVENTS}\n`);
    expect(piped.code).toBe(0);
    expect(piped.stdout + piped.stderr).not.toMatch(/reading events from standard input/);
    expect(piped.stdout).toMatch(/2 event line\(s\): 2 accepted/);
  });
});

describe('rules test on a file that is not JSON Lines', () => {
  // Was exit 0 ("0 event line(s) … would deliver nothing"): a capture or redirect that wrote nothing passed a script's check.
  it('exits 2 on an empty input (or blank lines only), saying the rules were tested on nothing', async () => {
    const cfg = config();
    writeFileSync(join(cfg.dir, 'empty.jsonl'), '\n\n');
    const empty = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'empty.jsonl'), '--fresh']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/empty\.jsonl held no event line \(it is empty, or blank lines only\), so the rules were tested on nothing; check what wrote it/);
    const stdin = await runCli(['rules', 'test', '-c', cfg.path, '--events', '-', '--fresh'], {}, '');
    expect(stdin.code).toBe(2);
    expect(stdin.stderr).toMatch(/^standard input held no event line/m);
    const compared = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'empty.jsonl'), '--fresh', '--compare', cfg.path, '--exit-code']);
    expect(compared.code).toBe(2);
  });

  it('says what the whole input is (pretty-printed JSON, UTF-16 text) and what to do, not only why each line is rejected', async () => {
    const cfg = config();
    const events = EVENTS.split('\n').map((l) => JSON.parse(l) as unknown);
    writeFileSync(join(cfg.dir, 'events.json'), JSON.stringify(events, null, 2));
    const pretty = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'events.json'), '--fresh', '--brief']);
    // Nothing accepted is nothing tested: a script must not take it for a pass.
    expect(pretty.code).toBe(2);
    expect(pretty.stderr).toMatch(/no event line of .*events\.json was accepted \(\d+ read, \d+ rejected\), so the rules were tested on nothing/);
    // Pointing at the summary's word on the input, not at unknown assets, which no line got as far as.
    expect(pretty.stderr).toMatch(/tested on nothing; the summary says what the input is and what to do\n$/);
    const compared = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'events.json'), '--fresh', '--compare', cfg.path, '--exit-code']);
    expect(compared.code).toBe(2);
    expect(compared.stderr).toContain(`so the two configs were not compared on anything; ${INPUT_HINTS.notJsonLines}`);
    expect(pretty.stdout).toContain(`event line(s): 0 accepted, `);
    expect(pretty.stdout).toContain(`\n${INPUT_HINTS.notJsonLines}\n`);
    // Windows PowerShell 5's `>`: UTF-16LE with a BOM.
    writeFileSync(join(cfg.dir, 'utf16.jsonl'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${EVENTS}\n`, 'utf16le')]));
    const utf16 = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'utf16.jsonl'), '--fresh', '--brief']);
    expect(utf16.stdout).toContain(`\n${INPUT_HINTS.utf16}\n`);
    // One line that is JSON and accepted: each rejected line speaks for itself, no hint about the whole.
    writeFileSync(join(cfg.dir, 'mixed.jsonl'), `${EVENTS}\nnot json\n`);
    const mixed = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'mixed.jsonl'), '--fresh', '--brief']);
    expect(mixed.code).toBe(0);
    expect(mixed.stdout).toContain('3 event line(s): 2 accepted, 1 rejected');
    expect(mixed.stdout).not.toContain('no line of the input is JSON');
  });
});

describe('rules test --json', () => {
  const assets = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }];
  const rules = () => createRules(rulesSchema.parse({ allowedLateness: '30s', zones: { inline: [{ name: 'YARD', locationCode: '1000/0001', circle: { lat: 52.5, lng: 13.4, radiusM: 200 } }] } }));
  const input = (lines: string[]) => ({ lines, rules: rules(), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z'), idleMs: 120_000, trace: 'EQ-1' });

  it('is written line by line as the input is decided, not held whole (a large capture would be more than one string can hold), and reads as the whole report would', async () => {
    const fix = (t: string, lat: number, received: string) => `{"kind":"position","assetId":"tag-1","eventTime":"${t}","lat":${lat},"lng":13.4,"receivedAt":"${received}"}`;
    const lines = [fix('2026-10-01T08:00:00Z', 52.6, '2026-10-01T08:00:01Z'), fix('2026-10-01T08:01:00Z', 52.5, '2026-10-01T08:01:01Z'), 'junk', fix('2026-10-01T09:00:00Z', 52.6, '2026-10-01T09:00:01Z'), ...EVENTS.split('\n')];
    for (const given of [lines, []]) {
      const whole = await runRulesTest(input(given));
      let text = '';
      const writer = jsonReportWriter((t) => (text += t));
      const streamed = await runRulesTest({ ...input(given), onLine: writer.line });
      expect(streamed.lines).toEqual([]); // none kept
      writer.end(streamed);
      expect(text).toBe(`${toJson(whole)}\n`);
    }
  });
});

describe('rules test --compare of a config that changes more than its rules', () => {
  it('says which settings it does not compare (both run on the current config\'s assets and ingest limits), rather than passing them for no difference', async () => {
    const cfg = config();
    const proposed = parse(readFileSync(cfg.path, 'utf8')) as { assets: { inline: { attributes?: object }[] }; ingest?: object };
    (proposed.assets.inline[0] as { attributes?: object }).attributes = { site: 'ROT' };
    proposed.ingest = { maxAgeMs: '1h' };
    const proposedPath = join(cfg.dir, 'proposed.yaml');
    writeFileSync(proposedPath, stringify(proposed));
    const r = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'events.jsonl'), '--fresh', '--compare', proposedPath]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `note: --compare ${proposedPath} differs from ${cfg.path} in assets, ingest.maxAgeMs, which --compare does not compare: only the rules are, and both run on the assets and ingest limits of ${cfg.path}; to see what ${proposedPath} does with its own, run rules test -c ${proposedPath} without --compare\n`,
    );
    // A copy that changes nothing outside its rules: no note.
    writeFileSync(proposedPath, readFileSync(cfg.path, 'utf8'));
    const same = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'events.jsonl'), '--fresh', '--compare', proposedPath]);
    expect(same.stderr).toBe('');
  });
});

describe('rules test --compare by rule', () => {
  it('compares what each rule of either config delivers, in --json and in the text, a rule only one config has marked added or removed', async () => {
    const cfg = config();
    const proposed = parse(readFileSync(cfg.path, 'utf8')) as { rules: { maintenance: { serviceIntervals: object[] } } };
    proposed.rules.maintenance.serviceIntervals = [{ name: 'svc-20h', everyHours: 20 }];
    const proposedPath = join(cfg.dir, 'proposed.yaml');
    writeFileSync(proposedPath, stringify(proposed));
    const json = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'events.jsonl'), '--fresh', '--compare', proposedPath, '--json']);
    expect(json.code).toBe(0);
    const comparison = (JSON.parse(json.stdout) as { comparison: { byRule: object; totals: object } }).comparison;
    expect(comparison.byRule).toEqual({
      location: { type: 'location sync, zones', current: 2, proposed: 2 },
      'svc-10h': { type: 'service interval', current: 1, proposed: 0, change: 'removed' },
      meter: { type: 'meter sync', current: 1, proposed: 1 },
      'svc-20h': { type: 'service interval', current: 0, proposed: 0, change: 'added' },
    });
    expect(comparison.totals).toEqual({ 'location.update (state)': { current: 2, proposed: 2 }, 'meter.record (state)': { current: 1, proposed: 1 }, 'workorder.create (fact)': { current: 1, proposed: 0 } });
    const text = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'events.jsonl'), '--fresh', '--compare', proposedPath]);
    expect(text.stdout).toMatch(/^by rule:\n +RULE +TYPE +CURRENT +PROPOSED +CHANGE\n +location +location sync, zones +2 +2\n +svc-10h +service interval +1 +0 +removed, -1\n +meter +meter sync +1 +1\n +svc-20h +service interval +0 +0 +added\n/m);
  });
});

describe('rules test --compare of changed settings', () => {
  it('names the rules both configs have with other settings and the sections that differ, in --json and in the text, also when the deliveries are the same', async () => {
    const cfg = config();
    const proposed = parse(readFileSync(cfg.path, 'utf8')) as { rules: { location?: object; zones: { inline: { circle: { radiusM: number } }[] }; inventory: object } };
    proposed.rules.location = { minDistanceM: 150 };
    (proposed.rules.zones.inline[0] as { circle: { radiusM: number } }).circle.radiusM = 300; // the position is inside either way
    proposed.rules.inventory = { skuAttribute: 'sku', freshness: '2h' };
    const proposedPath = join(cfg.dir, 'proposed.yaml');
    writeFileSync(proposedPath, stringify(proposed));
    const args = ['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'events.jsonl'), '--fresh', '--compare', proposedPath, '--exit-code'];
    const json = await runCli([...args, '--json']);
    expect(json.code).toBe(0); // --exit-code: the deliveries are the same
    const comparison = (JSON.parse(json.stdout) as { comparison: { changedRules: object; changedSections: object } }).comparison;
    expect(comparison.changedRules).toEqual([{ rule: 'location', type: 'location sync, zones', settings: [{ key: 'minDistanceM', current: 100, proposed: 150 }] }]);
    expect(comparison.changedSections).toEqual(['rules.zones', 'rules.inventory']);
    const text = await runCli(args);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('rules both configs have, with other settings (1):\n  location (location sync, zones): minDistanceM 100 → 150\n');
    expect(text.stdout).toContain('other rules settings that differ (2):\n  rules.zones differ\n  rules.inventory differs\n');
    expect(text.stdout).toContain('no difference in deliveries: both would deliver the same (1 fact(s) alike); but the configs differ in the settings of 1 rule(s) both have; in rules.zones, rules.inventory (above)\n');
  });
});

describe('rules test: events beyond ingest.maxFutureSkewMs', () => {
  const assets = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }];
  const now = Date.parse('2026-10-02T00:00:00Z');
  const at = (t: string, extra = '') => `{"kind":"meter","assetId":"tag-1","eventTime":"${t}","operatingHours":12${extra}}`;

  it('rejects them as the service quarantines them, judged against when the line was received (the capture says)', async () => {
    const lines = [
      at('2026-10-01T11:04:00Z', ',"receivedAt":"2026-10-01T11:00:00Z"'), // within the 5 minutes
      at('2026-10-01T12:00:00Z', ',"receivedAt":"2026-10-01T11:00:00Z"'), // an hour ahead of its receipt: the service quarantines it
      at('2026-10-03T00:00:00Z'), // no receipt time: taken as received when it happened (a scenario dated after the run is tried)
      at('2026-10-03T12:00:00Z', ',"receivedAt":"2026-10-03T11:58:00Z"'), // received after the run: judged against its receipt, within
    ];
    const report = await runRulesTest({ lines, rules: createRules(rulesSchema.parse({})), assets, defaultDestination: 'erp', states: new Map(), now, maxFutureSkewMs: 300_000 });
    expect(report.lines.map((l) => [l.line, l.accepted])).toEqual([
      [1, true],
      [2, false],
      [3, true],
      [4, true],
    ]);
    expect(report.lines[1] && formatLine(report.lines[1])).toBe(
      "line 2: rejected: event time 2026-10-01T12:00:00.000Z is more than 300 s in the future (ingest.maxFutureSkewMs); check the sender's clock, or raise the limit if such a skew is expected (judged at its receivedAt: the service quarantines it as invalid)\n",
    );
    const wider = await runRulesTest({ lines, rules: createRules(rulesSchema.parse({})), assets, defaultDestination: 'erp', states: new Map(), now, maxFutureSkewMs: 7_200_000 });
    expect(wider.counts.rejected).toBe(0);
  });

  it('takes the skew from the config', async () => {
    const cfg = config();
    writeFileSync(join(cfg.dir, 'future.jsonl'), `${at('2026-10-01T12:00:00Z', ',"receivedAt":"2026-10-01T11:00:00Z"')}\n`);
    const r = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'future.jsonl')]);
    expect(r.code).toBe(2); // its only line rejected: nothing tested
    expect(r.stdout).toContain('line 1: rejected: event time 2026-10-01T12:00:00.000Z is more than 300 s in the future (ingest.maxFutureSkewMs); check the sender');
    const wide = writeConfig(() => ({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] }, ingest: { maxFutureSkewMs: '2h' }, server: { port: 0 } }));
    const ok = await runCli(['rules', 'test', '-c', wide.path, '--events', join(cfg.dir, 'future.jsonl')]);
    expect(ok.stdout).toContain('1 accepted, 0 rejected');
  });
});

describe('rules test: a receivedAt that is no time', () => {
  const assets = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }];
  const at = (extra: string) => `{"kind":"meter","assetId":"tag-1","eventTime":"2026-10-01T12:00:00Z","operatingHours":12,${extra}}`;

  it('rejects the line, saying what is wrong and what to do, instead of taking it as received when it happened (no watermarks, no skew check)', async () => {
    const lines = [at('"receivedAt":"2026-10-01T11:00:00"'), at('"receivedAt":"yesterday"'), at('"receivedAt":true'), at('"receivedAt":1790856000000')];
    const report = await runRulesTest({ lines, rules: createRules(rulesSchema.parse({})), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    expect(report.lines.map((l) => [l.line, l.accepted])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, true],
    ]);
    expect(report.lines[0] && formatLine(report.lines[0])).toBe(
      'line 1: rejected: receivedAt must be an ISO 8601 time with a zone (e.g. 2026-10-01T08:00:00Z) or epoch milliseconds, got "2026-10-01T11:00:00", which has no zone: it says when the service received the event, as the capture writes it; fix it, or remove it to take the line as received when it happened\n',
    );
    expect(report.lines[1]?.reason).toContain('got "yesterday":');
    expect(report.lines[2]?.reason).toContain('got true:');
  });
});

describe('rules test with rules.depreciation', () => {
  const assets = [0, 1].map((i) => ({ asset: { erpAssetId: `EQ-${i}`, erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: `tag-${i}`, erpAssetId: `EQ-${i}` }] }));
  const meter = (i: number, eventTime: string, hours: number) => `{"kind":"meter","assetId":"tag-${i}","eventTime":"${eventTime}","operatingHours":${hours}}`;
  const rules = () => createRules(rulesSchema.parse({ allowedLateness: '0s', depreciation: { timeZone: 'UTC' } }));
  const lines = [meter(0, '2026-09-30T20:00:00Z', 100), meter(0, '2026-10-01T04:00:00Z', 108.25), meter(0, '2026-10-01T10:00:00Z', 110), meter(1, '2026-10-01T10:00:00Z', 7)];

  it('shows the usage per period the events leave, per asset (no delivery of an event: not in the totals), in text and JSON', async () => {
    const report = await runRulesTest({ lines, rules: rules(), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    expect(report.usage).toEqual([
      { erpAssetId: 'EQ-0', period: '2026-09', units: 4.125, unit: 'h', meterAtEnd: 104.125 }, // split at the month's end by the time on each side
      { erpAssetId: 'EQ-0', period: '2026-10', units: 5.875, unit: 'h', meterAtEnd: 110 },
      { erpAssetId: 'EQ-1', period: '2026-10', units: 0, unit: 'h', meterAtEnd: 7 },
    ]);
    expect(report.totals['usage.post (fact)']).toBeUndefined();
    expect(formatSummary(report)).toContain(
      'usage per fiscal period the events leave (rules.depreciation), in the periods they changed:\n  ASSET  PERIOD   UNITS    METER AT END\n  EQ-0   2026-09  4.125 h  104.125 h\n  EQ-0   2026-10  5.875 h  110 h\n  EQ-1   2026-10  0 h      7 h\n',
    );
  });
});

describe('rules test with rules.depreciation, of an asset held by a calendar change', () => {
  const assets = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }];
  const meter = (eventTime: string, hours: number) => `{"kind":"meter","assetId":"tag-1","eventTime":"${eventTime}","operatingHours":${hours}}`;
  const berlin = monthlyCalendar('Europe/Berlin');
  const utc = monthlyCalendar('UTC');
  // Filed under Berlin's months up to 1605 h on 30 November 12:00 UTC; the config now has UTC's: held.
  const start: UsageState = {
    first: [Date.parse('2026-10-01T00:00:00Z'), 1000],
    last: [Date.parse('2026-11-30T12:00:00Z'), 1605],
    periods: { '2026-10': { units: 309.583333, meterAtEnd: 1309.583333 }, '2026-11': { units: 295.416667, meterAtEnd: 1605 } },
    cal: periodStamp(berlin, ['2026-10', '2026-11']),
  };
  const states = () => new Map([['EQ-1', { depreciation: start }]]);
  const rulesUnder = (timeZone: string) => createRules(rulesSchema.parse({ allowedLateness: '0s', depreciation: { timeZone } }));
  // 10 h a day: 1625 h on 2 December 12:00, 1645 h on 4 December 12:00.
  const lines = [meter('2026-12-02T12:00:00Z', 1625), meter('2026-12-04T12:00:00Z', 1645)];
  const now = Date.parse('2026-12-05T00:00:00Z');

  it('shows the usage the readings add while held, as a re-file would file it under the configured calendar, marked held; no delivery, nothing filed', async () => {
    const report = await runRulesTest({ lines, rules: rulesUnder('UTC'), assets, defaultDestination: 'erp', states: states(), now, usageCalendar: utc });
    expect(report.counts).toMatchObject({ accepted: 2, rejected: 0 });
    expect(report.lines.flatMap((l) => l.deliveries).filter((d) => d.operation === 'usage.post')).toEqual([]);
    expect(report.totals['usage.post (fact)']).toBeUndefined();
    // Filed: nothing (the held periods are Berlin's). Held: November (UTC) from 30 November 12:00 to its end, and December.
    expect(report.usage).toBeUndefined();
    expect(report.heldUsage).toEqual([
      { erpAssetId: 'EQ-1', period: '2026-11', units: 5, unit: 'h', meterAtEnd: 1610, held: true },
      { erpAssetId: 'EQ-1', period: '2026-12', units: 35, unit: 'h', meterAtEnd: 1645, held: true },
    ]);
    const summary = formatSummary(report);
    expect(summary).toContain(
      "usage read while held by a calendar change (rules.depreciation: the asset's periods are filed under another calendar than the configured one), not filed in any period yet: per period as a re-file ('assetbridge depreciation refile') would file it under the configured calendar; filed once the usage is re-filed, or under the old calendar once that is set back, and posted by nothing before:\n" +
        '  ASSET  PERIOD   UNITS  METER AT END\n  EQ-1   2026-11  5 h    1,610 h\n  EQ-1   2026-12  35 h   1,645 h\n(usage is no delivery of an event',
    );
    expect(summary).not.toContain('usage per fiscal period the events leave (rules.depreciation), in the periods they changed');
  });

  it('--compare with the old calendar set back: the usage filed under it against the usage held under the configured one', async () => {
    const report = await runRulesTest({ lines, rules: rulesUnder('UTC'), compare: rulesUnder('Europe/Berlin'), assets, defaultDestination: 'erp', states: states(), now, usageCalendar: utc, compareUsageCalendar: berlin });
    const december = report.usageComparison?.changed.filter((x) => x.period === '2026-12');
    // Under Berlin's months December starts 30 November 23:00 UTC, an hour before UTC's: 35.417 h filed there.
    expect(december).toEqual([
      { erpAssetId: 'EQ-1', period: '2026-12', current: { erpAssetId: 'EQ-1', period: '2026-12', units: 35, unit: 'h', meterAtEnd: 1645, held: true } },
      { erpAssetId: 'EQ-1', period: '2026-12', proposed: { erpAssetId: 'EQ-1', period: '2026-12', units: 35.417, unit: 'h', meterAtEnd: 1645 } },
    ]);
    expect(formatComparison(report, { current: 'a.yaml', proposed: 'b.yaml' })).toContain('EQ-1 2026-12: 35 h (meter at end 1,645 h), held by a calendar change, not filed → (none)');
  });

  it('the command shows it, with the calendar of the config', async () => {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      rules: { allowedLateness: '0s', depreciation: { timeZone: 'UTC' } },
    }));
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' });
    await store.upsertAssets(assets);
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { depreciation: start }, changed: ['depreciation'] }], deliveries: [], quarantine: [], accepted: 0 });
    await store.close();
    writeFileSync(join(cfg.dir, 'held.jsonl'), `${lines.join('\n')}\n`);
    const r = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'held.jsonl')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/usage read while held by a calendar change .*\n {2}ASSET {2}PERIOD {3}UNITS {2}METER AT END\n {2}EQ-1 {3}2026-11 {2}5 h {4}1,610 h\n {2}EQ-1 {3}2026-12 {2}35 h {3}1,645 h\n/);
    const json = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'held.jsonl'), '--json']);
    expect((JSON.parse(json.stdout) as { heldUsage?: unknown[] }).heldUsage).toHaveLength(2);
  });
});

describe('rules test: times past the year 9999 (epoch micro- or nanoseconds)', () => {
  const assets = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }];
  const meter = (eventTime: string | number, hours: number, extra = '') => `{"kind":"meter","assetId":"tag-1","eventTime":${JSON.stringify(eventTime)},"operatingHours":${hours}${extra}}`;
  const alert = (eventTime: number) => `{"kind":"alert","assetId":"tag-1","eventTime":${eventTime},"severity":"critical","code":"X","reason":"hot"}`;
  const rules = () => [
    ...createRules(rulesSchema.parse({ maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }], alerts: [{ name: 'faults' }] }, depreciation: { timeZone: 'Europe/Berlin' } })),
  ];

  it('rejects the line, as the service does, and decides the lines after it (not a run stopped by "Invalid time value")', async () => {
    const lines = [
      meter(8_639_999_999_000_000, 5), // near the end of what a Date holds: the rules' dates past it
      alert(8_639_999_999_000_000),
      meter(1_790_000_000_000_000, 5), // epoch microseconds: the year 58692
      meter('2026-10-01T12:00:00Z', 5, ',"receivedAt":1e300'),
      meter('2026-10-01T12:00:00Z', 5, ',"receivedAt":8639999999000000'),
      meter('2026-10-01T12:00:00Z', 5, ',"receivedAt":"2026-10-01T12:00:01Z"'),
      meter('2026-10-01T22:00:00Z', 12, ',"receivedAt":"2026-10-01T22:00:01Z"'),
    ];
    const report = await runRulesTest({ lines, rules: rules(), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z'), idleMs: 120_000 });
    expect(report.lines.map((l) => [l.line, l.accepted])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, false],
      [5, false],
      [6, true],
      [7, true],
    ]);
    expect(report.lines[2]?.reason).toBe(
      'event time +058692-11-03T14:13:20.000Z is more than 300 s in the future (ingest.maxFutureSkewMs); read as microseconds since 1970 it is 2026-09-21T14:13:20.000Z: eventTime is read as epoch milliseconds: send them (microseconds ÷ 1000) or ISO 8601 text',
    );
    expect(report.lines[3]?.reason).toMatch(/^receivedAt 1e\+300 is past the year 9999, no time the service received anything at/);
    expect(report.lines[4]?.reason).toContain('receivedAt 8639999999000000 is past the year 9999');
    expect(report.totals['workorder.create (fact)']).toBe(1); // the 10 h service, at the last line
  });

  it('still tries a scenario dated in the future, up to the year 9999', async () => {
    const report = await runRulesTest({ lines: [meter('9999-06-01T00:00:00Z', 5), meter('9999-06-01T10:00:00Z', 12)], rules: rules(), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    expect(report.counts).toMatchObject({ accepted: 2, rejected: 0 });
    expect(report.totals['workorder.create (fact)']).toBe(1);
  });
});

describe('rules test: events older than ingest.maxAgeMs', () => {
  const assets = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }];
  const now = Date.parse('2026-10-02T00:00:00Z');
  const at = (t: string, extra = '') => `{"kind":"meter","assetId":"tag-1","eventTime":"${t}","operatingHours":12${extra}}`;

  it('rejects them as the service quarantines them as stale, judged against when the line was received; a line that does not say is not judged', async () => {
    const lines = [
      at('2026-10-01T10:30:00Z', ',"receivedAt":"2026-10-01T11:00:00Z"'), // half an hour old when received: within the hour
      at('2026-10-01T08:00:00Z', ',"receivedAt":"2026-10-01T11:00:00Z"'), // three hours old when received (store and forward): the service quarantines it
      at('2026-10-01T09:00:00Z'), // no receipt time: taken as received when it happened
    ];
    const report = await runRulesTest({ lines, rules: createRules(rulesSchema.parse({})), assets, defaultDestination: 'erp', states: new Map(), now, maxAgeMs: 3_600_000 });
    expect(report.lines.map((l) => [l.line, l.accepted])).toEqual([
      [1, true],
      [2, false],
      [3, true],
    ]);
    expect(report.lines[1] && formatLine(report.lines[1])).toBe(
      'line 2: rejected: event time 2026-10-01T08:00:00.000Z is older than the 3600 s freshness limit (ingest.maxAgeMs); if such events are wanted, raise it, restart, then replay (judged at its receivedAt: the service quarantines it as stale)\n',
    );
    const off = await runRulesTest({ lines, rules: createRules(rulesSchema.parse({})), assets, defaultDestination: 'erp', states: new Map(), now });
    expect(off.counts.rejected).toBe(0);
  });

  it('takes the limit from the config', async () => {
    const cfg = writeConfig(() => ({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] }, ingest: { maxAgeMs: '1h' }, server: { port: 0 } }));
    writeFileSync(join(cfg.dir, 'old.jsonl'), `${at('2026-10-01T08:00:00Z', ',"receivedAt":"2026-10-01T11:00:00Z"')}\n`);
    const r = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'old.jsonl')]);
    expect(r.code).toBe(2); // its only line rejected: nothing tested
    expect(r.stdout).toContain('line 1: rejected: event time 2026-10-01T08:00:00.000Z is older than the 3600 s freshness limit (ingest.maxAgeMs); if such events are wanted, raise it, restart, then replay (judged at its receivedAt');
  });
});

describe('rules test --events that cannot be read', () => {
  it('names the option, the path and why, and what to give instead', async () => {
    const cfg = config();
    const r = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'evnets.jsonl'), '--fresh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: --events ${join(cfg.dir, 'evnets.jsonl')}: cannot read it (no such file or directory); give a JSONL file, a directory of them (such as capture.dir), or - for standard input\n`);
  });
});

describe('rules test --events with a directory', () => {
  it('skips what is not a file, and names an entry it cannot read', async () => {
    const cfg = config();
    const days = join(cfg.dir, 'capture');
    mkdirSync(days);
    writeFileSync(join(days, 'events-2026-10-01.jsonl'), EVENTS);
    mkdirSync(join(days, 'old.jsonl')); // a directory named like a day's file
    const r = await runCli(['rules', 'test', '-c', cfg.path, '--events', days, '--fresh']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('2 event line(s): 2 accepted, 0 rejected');
    symlinkSync(join(cfg.dir, 'gone.jsonl'), join(days, 'events-2026-10-02.jsonl')); // dangling
    const broken = await runCli(['rules', 'test', '-c', cfg.path, '--events', days, '--fresh']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toBe(`error: --events ${days}: cannot read ${join(days, 'events-2026-10-02.jsonl')} in it (no such file or directory); fix or remove that file, or give the files to test one by one\n`);
  });
});

describe('maintenance complete', () => {
  it('refuses a business key whose rule is not configured, instead of recording a work order no rule opened', async () => {
    const cfg = config();
    const r = await runCli(['maintenance', 'complete', 'EQ-1|svc-10hh|10h@b0', '--hours', '11', '-c', cfg.path]);
    expect(r.code).toBe(1); // a rule the config does not name: a name that names nothing
    expect(r.stderr).toContain('"EQ-1|svc-10hh|10h@b0" names rule "svc-10hh", which is not a maintenance rule of this config (rules: svc-10h)');
    expect(r.stdout).toBe('');
    expect(existsSync(cfg.store)).toBe(false);
  });

  it('refuses a store that does not exist (nothing ran, so no work order is known) rather than create one', async () => {
    const cfg = config();
    const r = await runCli(['maintenance', 'complete', 'EQ-1|svc-10h|10h@b0', '--hours', '11', '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('there is no store at');
    expect(r.stdout).toBe('');
    expect(existsSync(cfg.store)).toBe(false);
  });
});

describe('inventory snapshot', () => {
  it('refuses a store that does not exist (a wrong --config) rather than create one', async () => {
    const cfg = config();
    const r = await runCli(['inventory', 'snapshot', '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('there is no store at');
    expect(existsSync(cfg.store)).toBe(false);
  });

  it('with no service running, says the request waits for one rather than that a running service sends it', async () => {
    const cfg = config();
    writeFileSync(join(cfg.dir, 'pallets.csv'), 'identifier,id_type,erp_asset_id,sku,quantity\nt-1,tag,P-1,S,40\n');
    expect((await runCli(['assets', 'import', join(cfg.dir, 'pallets.csv'), '-c', cfg.path])).code).toBe(0); // makes the store
    const r = await runCli(['inventory', 'snapshot', '-c', cfg.path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('not sent yet: no service is running on this store');
    expect(r.stdout).not.toContain('the running service');
    // The request is kept for the service's first run.
    expect((await runCli(['inventory', 'counts', '-c', cfg.path])).stdout).toContain('a full snapshot was asked for at');
  });
});

describe('assets import with inventory', () => {
  it('refuses a file with a quantity that is not a whole number, naming line, asset and value, and imports nothing of it', async () => {
    const cfg = config();
    writeFileSync(join(cfg.dir, 'pallets.csv'), 'identifier,id_type,erp_asset_id,sku,quantity\nt-1,tag,P-1,S,40\nt-2,tag,P-2,S,ten\n');
    const r = await runCli(['assets', 'import', join(cfg.dir, 'pallets.csv'), '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pallets.csv line 3: asset P-2 has quantity "ten": the quantity attribute (rules.inventory.quantityAttribute) must be a whole number');
    expect(existsSync(cfg.store)).toBe(false);
  });
});

describe('depreciation attributes that are not valid inputs', () => {
  /** The shared config with depreciation, an inline asset with a bad cost and a CSV with bad values. */
  function depreciationConfig() {
    const cfg = writeConfig((dir) => {
      writeFileSync(join(dir, 'fleet.csv'), 'identifier,id_type,erp_asset_id,cost,salvage,expectedUnits\nt-2,tag,EQ-2,120000,20000,10000\nt-3,tag,EQ-3,5000,8000,0\n');
      return {
        store: { path: join(dir, 'data', 'ab.db') },
        destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
        assets: { files: [join(dir, 'fleet.csv')], inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }], attributes: { cost: '120,000', expectedUnits: '10000' } }] },
        rules: { depreciation: {} },
        server: { port: 0 },
      };
    });
    return cfg;
  }

  it('config check warns of each, naming the key or file line, the asset, the attribute and what to write; the config stays valid', async () => {
    const cfg = depreciationConfig();
    const r = await runCli(['config', 'check', '-c', cfg.path]);
    expect(r.code).toBe(0);
    // Each key with its line in the config (which the YAML writer decides).
    const warnings = r.stdout.split('\n').filter((l) => l.startsWith('warning: assets.')).map((l) => l.replace(/ \(line \d+\):/, ' (line N):'));
    expect(warnings).toEqual([
      'warning: assets.inline.0.attributes.cost (line N): asset EQ-1: attribute "cost" ("120,000") is not a number: write plain digits with a decimal point (e.g. 120000.50), without thousands separators, currency or units',
      `warning: assets.files.0 (line N): ${join(cfg.dir, 'fleet.csv')} line 3: asset EQ-3: attribute "salvage" (8000) is more than cost (5000): nothing would be depreciated; lower the salvage value or correct "cost"`,
      `warning: assets.files.0 (line N): ${join(cfg.dir, 'fleet.csv')} line 3: asset EQ-3: attribute "expectedUnits" (0) must be more than 0: the units (h or km) the asset is expected to deliver over its life`,
    ]);
  });

  it('assets import imports the file and warns of each, naming line, asset and attribute (a value already stored too)', async () => {
    const cfg = depreciationConfig();
    const csv = join(cfg.dir, 'more.csv');
    writeFileSync(csv, 'identifier,id_type,erp_asset_id,cost,unitsAtAcquisition\nt-7,tag,EQ-7,-1,\nt-8,tag,EQ-8,900,-5\n');
    const r = await runCli(['assets', 'import', csv, '-c', cfg.path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('imported 2 identifier(s) for 2 asset(s)');
    expect(r.stdout).toContain(`warning: ${csv} line 2: asset EQ-7: attribute "cost" (-1) is negative: give the acquisition cost, 0 or more; fix it in the file and import it again`);
    expect(r.stdout).toContain(`warning: ${csv} line 3: asset EQ-8: attribute "unitsAtAcquisition" (-5) is negative`);
    // A stored salvage above the cost a later import gives: the stored value is named.
    writeFileSync(csv, 'identifier,id_type,erp_asset_id,cost,salvage\nt-2,tag,EQ-2,120000,20000\n');
    expect((await runCli(['assets', 'import', csv, '-c', cfg.path])).stdout).not.toContain('warning');
    writeFileSync(csv, 'identifier,id_type,erp_asset_id,cost\nt-2,tag,EQ-2,100\n');
    const again = await runCli(['assets', 'import', csv, '-c', cfg.path]);
    expect(again.stdout).toContain(`warning: ${csv} (stored value, not in the file): asset EQ-2: attribute "salvage" (20000) is more than cost (100)`);
  });
});

describe('zones locate', () => {
  it('refuses coordinates that are not decimal numbers (an empty one is not 0)', async () => {
    const cfg = config();
    for (const [lat, lng] of [['', '13.4'], ['52.5', ' '], ['0x10', '13.4']]) {
      const r = await runCli(['zones', 'locate', lat ?? '', lng ?? '', '-c', cfg.path]);
      expect(r.code, `${lat} ${lng}`).toBe(2);
      expect(r.stderr).toMatch(/is not a number between/);
    }
    const ok = await runCli(['zones', 'locate', '52.5', '13.4', '-c', cfg.path]);
    expect(ok.stdout).toBe('in zone YARD (location code 1000/0001)\n');
    const south = await runCli(['zones', 'locate', '-33.9', '-70.1', '-c', cfg.path]);
    expect(south.stdout).toBe('in no zone\n');
  });

  it('takes a position as a map copies it ("52.5, 13.4" or "52.5,13.4"), and says what to give when the longitude is missing', async () => {
    const cfg = config();
    for (const args of [['52.5,', '13.4'], ['52.5, 13.4'], ['52.5,13.4']]) {
      const r = await runCli(['zones', 'locate', ...args, '-c', cfg.path]);
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ args, code: 0, stdout: 'in zone YARD (location code 1000/0001)\n', stderr: '' });
    }
    const one = await runCli(['zones', 'locate', '52.5', '-c', cfg.path]);
    expect(one.code).toBe(2);
    expect(one.stderr).toContain(`error: give the position as latitude then longitude, e.g. 'assetbridge zones locate 51.952 4.045' (or "51.952, 4.045" as a map copies it); got only "52.5"`);
    // A decimal comma is no position copied from a map: refused, as before.
    const decimalComma = await runCli(['zones', 'locate', '52,5', '13,4', '-c', cfg.path]);
    expect(decimalComma.code).toBe(2);
    expect(decimalComma.stderr).toContain('latitude "52,5" is not a number between -90 and 90');
  });
});

describe('config check', () => {
  it('reads the asset CSVs the service imports at start: a missing or broken one is an error naming its key, file and line', async () => {
    const cfg = writeConfig(() => ({
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { files: ['./missing.csv', './mapping.csv'] },
    }));
    writeFileSync(join(cfg.dir, 'mapping.csv'), 'identifier,id_type,erp_asset_id\ntag-1,tagg,EQ-1\n');
    const r = await runCli(['config', 'check', '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    // Each under its key and the config line that names the file (line 7 and 8 of the config as written), as a problem found at load.
    expect(r.stderr).toContain(`  - assets.files.0 (line 7): cannot read the asset CSV ${join(cfg.dir, 'missing.csv')} (no such file or directory): fix the path`);
    expect(r.stderr).toContain(`  - assets.files.1 (line 8): ${join(cfg.dir, 'mapping.csv')} line 2: id_type "tagg" is not one of tag,`);
    // The service refuses to start on them in the same words.
    const run = await runCli(['run', '-c', cfg.path]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`  - assets.files.1 (line 8): ${join(cfg.dir, 'mapping.csv')} line 2: id_type "tagg" is not one of tag,`);
    writeFileSync(join(cfg.dir, 'missing.csv'), 'identifier,id_type,erp_asset_id\ntag-2,tag,EQ-2\n');
    writeFileSync(join(cfg.dir, 'mapping.csv'), 'identifier,id_type,erp_asset_id\ntag-1,tag,EQ-1\n');
    const ok = await runCli(['config', 'check', '-c', cfg.path]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });
});

describe('usage errors', () => {
  it('exit with 2 (bad configuration or usage), as documented; --help and --version with 0', async () => {
    for (const args of [['rules', 'test'], ['--bogus'], ['rules', 'frob'], ['zones', 'locate', '1']]) {
      const r = await runCli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain('error:');
    }
    expect((await runCli(['rules', 'test', '--help'])).code).toBe(0);
    expect((await runCli(['--version'])).code).toBe(0);
  });
});

describe('rules test --help', () => {
  it('says what a line may hold, that a bad line is reported and the rest go on, and the exit status a script relies on', async () => {
    const help = await runCli(['rules', 'test', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('blank lines and lines starting with # are skipped');
    expect(help.stdout).toContain('(receivedAt)');
    expect(help.stdout).toContain('reported with its number (and file) and why, and the lines after it still run');
    expect(help.stdout).toContain('Exit status: 0 when the events ran');
    expect(help.stdout).toContain('2 when no line was accepted (the rules were tested on nothing: an empty input, or every line rejected)');
  });
});

describe('zones check', () => {
  it('reads the site and priority from the properties it is told, as zones.properties does', async () => {
    const cfg = config();
    const file = join(cfg.dir, 'sites.geojson');
    const square = [[[13.4, 52.5], [13.41, 52.5], [13.41, 52.51], [13.4, 52.5]]];
    writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'DEPOT', code: 'D1', plant: 'HAM', rank: 3 }, geometry: { type: 'Polygon', coordinates: square } }] }));
    const r = await runCli(['zones', 'check', file, '--code-property', 'code', '--site-property', 'plant', '--priority-property', 'rank', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { zones: { name: string; site?: string; priority: number }[] }).zones.map((z) => [z.name, z.site, z.priority])).toEqual([['DEPOT', 'HAM', 3]]);
  });

  it('says where the zones lie, latitude first, and only where a file written [latitude, longitude] could be valid, where it would be read so', async () => {
    const cfg = config();
    const check = async (name: string, ring: number[][]) => {
      const file = join(cfg.dir, `${name}.geojson`);
      writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'DEPOT', locationCode: 'D1' }, geometry: { type: 'Polygon', coordinates: [ring] } }] }));
      const r = await runCli(['zones', 'check', file]);
      expect(r.code).toBe(0);
      // The lines after the table, before the summary.
      return r.stdout.split('\n').filter((l) => l.startsWith('the zones lie') || l.startsWith('if these zones'));
    };
    // Berlin written [lat, lng]: valid coordinates, in the Arabian Sea.
    expect(await check('swapped', [[52.5, 13.4], [52.5, 13.41], [52.51, 13.41], [52.5, 13.4]])).toEqual([
      'the zones lie within latitude 13.4 to 13.41, longitude 52.5 to 52.51',
      'if these zones should be near latitude 52.5 to 52.51, longitude 13.4 to 13.41, the file may be latitude-first: GeoJSON positions are [longitude, latitude], so swap the two numbers of every position',
    ]);
    // Tokyo: a longitude beyond ±90 is no latitude, so the file cannot be latitude-first.
    expect(await check('tokyo', [[139.7, 35.6], [139.71, 35.6], [139.71, 35.61], [139.7, 35.6]])).toEqual(['the zones lie within latitude 35.6 to 35.61, longitude 139.7 to 139.71']);
    // On the diagonal (latitude as longitude), read either way the zone is where it is.
    expect(await check('diagonal', [[10, 10], [10.01, 10], [10.01, 10.01], [10, 10]])).toEqual(['the zones lie within latitude 10 to 10.01, longitude 10 to 10.01']);
  });

  it('with --config reads the properties the config names (rules.zones.properties); an option given still wins', async () => {
    const cfg = zonesConfig({ properties: { name: 'zname', locationCode: 'erp', site: 'depot' } });
    const file = join(cfg.dir, 'depots.geojson');
    const square = [[[13.4, 52.5], [13.41, 52.5], [13.41, 52.51], [13.4, 52.5]]];
    writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { zname: 'DEPOT', erp: 'D1', depot: 'HAM', plant: 'BRE' }, geometry: { type: 'Polygon', coordinates: square } }] }));
    const r = await runCli(['zones', 'check', file, '-c', cfg.path, '--site-property', 'plant', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { zones: { name: string; locationCode: string; site?: string }[] }).zones.map((z) => [z.name, z.locationCode, z.site])).toEqual([['DEPOT', 'D1', 'BRE']]);
  });

  it('with --config reads a file the config lists as {path, properties} with its own property names', async () => {
    const cfg = zonesConfig({ properties: { site: 'depot' }, files: [{ path: 'qgis.geojson', properties: { name: 'NAME', locationCode: 'SLOC' } }] });
    const file = join(cfg.dir, 'qgis.geojson');
    const square = [[[13.4, 52.5], [13.41, 52.5], [13.41, 52.51], [13.4, 52.5]]];
    writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { NAME: 'DEPOT', SLOC: 'D1', depot: 'HAM' }, geometry: { type: 'Polygon', coordinates: square } }] }));
    const r = await runCli(['zones', 'check', file, '-c', cfg.path, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { zones: { name: string; locationCode: string; site?: string }[] }).zones.map((z) => [z.name, z.locationCode, z.site])).toEqual([['DEPOT', 'D1', 'HAM']]);
    // A property it lacks is named in the file's own entry, as config check names it (not rules.zones.properties, which that entry overrides).
    writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { NAME: 'DEPOT', CODE: 'D1' }, geometry: { type: 'Polygon', coordinates: square } }] }));
    const missing = await runCli(['zones', 'check', file, '-c', cfg.path]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      'problem: feature 0 ("DEPOT"): property "SLOC" (the ERP location code) is missing or empty (its properties: NAME, CODE); if another property holds it, name that one in rules.zones.files.0.properties.locationCode\n' +
        'the feature properties read are named by --name-property, --code-property, --radius-property, --site-property and --priority-property, or with -c <config> by its rules.zones.files.0.properties\n',
    );
  });

  it('with a --config it cannot read or parse, says why as config check does, never showing a line that may hold a credential', async () => {
    const cfg = zonesConfig();
    const file = join(cfg.dir, 'depots.geojson');
    const square = [[[13.4, 52.5], [13.41, 52.5], [13.41, 52.51], [13.4, 52.5]]];
    writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'DEPOT', locationCode: 'D1' }, geometry: { type: 'Polygon', coordinates: square } }] }));
    const hint = '-c names the config whose rules.zones.properties give the feature property names: fix it, or leave -c out to read them by their default names (or name them with the --…-property options)\n';
    const missing = join(cfg.dir, 'nope.yaml');
    const gone = await runCli(['zones', 'check', file, '-c', missing]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toBe(`error: -c ${missing}: cannot read ${missing} (no such file or directory)\n${hint}`);
    // A quote left open on a credential's line: the parser's excerpt of that line would print it.
    const broken = join(cfg.dir, 'broken.yaml');
    writeFileSync(broken, 'destinations:\n  - { name: erp, type: rest, baseUrl: "http://127.0.0.1:9", token: "S3cr3t-T0ken-value }\n');
    const r = await runCli(['zones', 'check', file, '-c', broken]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('S3cr3t');
    expect(r.stderr).toContain(`error: -c ${broken}: ${broken} is not valid YAML: `);
    expect(r.stderr).toContain('(not shown: it may hold a secret)');
    expect(r.stderr.endsWith(hint)).toBe(true);
  });

  it('fails on a file with no zones, naming it, and does not count zones of a repeated name as OK', async () => {
    const cfg = config();
    const empty = join(cfg.dir, 'empty.geojson');
    writeFileSync(empty, '{"type":"FeatureCollection","features":[]}');
    const r = await runCli(['zones', 'check', empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('problem: the FeatureCollection has no features: a zones file needs at least one zone (was the wrong layer exported?)\n');
    expect(r.stdout).toBe(`${empty}: 0 zone(s) OK, 1 problem(s)\n`);
    const twice = join(cfg.dir, 'twice.geojson');
    const yard = { type: 'Feature', properties: { name: 'yard', locationCode: 'Y', radiusM: 40 }, geometry: { type: 'Point', coordinates: [13.4, 52.5] } };
    writeFileSync(twice, JSON.stringify({ type: 'FeatureCollection', features: [yard, yard] }));
    const t = await runCli(['zones', 'check', twice]);
    expect(t.code).toBe(2);
    expect(t.stdout).toBe(`${twice}: 0 zone(s) OK, 1 problem(s)\n`);
  });

  it('says which option or config key names a property no feature has', async () => {
    const cfg = config();
    const file = join(cfg.dir, 'unnamed.geojson');
    const square = [[[13.4, 52.5], [13.41, 52.5], [13.41, 52.51], [13.4, 52.5]]];
    writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { zname: 'DEPOT', locationCode: 'D1' }, geometry: { type: 'Polygon', coordinates: square } }] }));
    const r = await runCli(['zones', 'check', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('property "name" (the zone name) is missing or empty');
    expect(r.stderr).toContain('--name-property');
    expect(r.stderr).toContain('-c');
  });
});

describe('rules test on gzip-compressed events', () => {
  // Were read as they are: every line "not JSON … it reads as UTF-16 text", exit 2, with advice to re-save from PowerShell.
  it('reads a .jsonl.gz file, a directory holding one and gzip piped to - decompressed, as the plain file', async () => {
    const cfg = config();
    const plain = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'events.jsonl'), '--fresh']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('2 event line(s): 2 accepted, 0 rejected');
    const gz = gzipSync(`${EVENTS}\n`);
    writeFileSync(join(cfg.dir, 'events.jsonl.gz'), gz);
    const file = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'events.jsonl.gz'), '--fresh']);
    expect(file.stderr).toBe('');
    expect(file.code).toBe(0);
    expect(file.stdout).toBe(plain.stdout);
    const stdin = await runCli(['rules', 'test', '-c', cfg.path, '--events', '-', '--fresh'], {}, gz);
    expect(stdin.code).toBe(0);
    expect(stdin.stdout).toBe(plain.stdout);
    // A capture directory whose older days were compressed (logrotate): those are read too, in name order.
    mkdirSync(join(cfg.dir, 'capture'));
    writeFileSync(join(cfg.dir, 'capture', 'events-2026-10-01.jsonl.gz'), gzipSync(`${EVENTS.split('\n')[0] ?? ''}\n`));
    writeFileSync(join(cfg.dir, 'capture', 'events-2026-10-02.jsonl'), `${EVENTS.split('\n')[1] ?? ''}\n`);
    const dir = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'capture'), '--fresh']);
    expect(dir.code).toBe(0);
    expect(dir.stdout).toContain('events-2026-10-01.jsonl.gz:1: position EQ-1');
    expect(dir.stdout).toContain('events-2026-10-02.jsonl:1: meter EQ-1');
    expect(dir.stdout).toContain('2 event line(s): 2 accepted, 0 rejected');
    // A day compressed beside its original (gzip -k): not each event run twice.
    writeFileSync(join(cfg.dir, 'capture', 'events-2026-10-02.jsonl.gz'), gzipSync(`${EVENTS.split('\n')[1] ?? ''}\n`));
    const both = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'capture'), '--fresh']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^error: --events .*capture: holds events-2026-10-02\.jsonl and events-2026-10-02\.jsonl\.gz, the same events twice, so each would run twice; move one of each pair out of the directory/);
  });

  it('refuses a gzip file that breaks off, naming it, rather than taking its bytes for lines', async () => {
    const cfg = config();
    const gz = gzipSync(`${EVENTS}\n`);
    writeFileSync(join(cfg.dir, 'cut.jsonl.gz'), gz.subarray(0, gz.length - 10));
    const r = await runCli(['rules', 'test', '-c', cfg.path, '--events', join(cfg.dir, 'cut.jsonl.gz'), '--fresh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --events .*cut\.jsonl\.gz: it is gzip-compressed and breaks off \(unexpected end of file\): a file still being written, or cut short\?/);
  });
});

describe('rules test --events on a pipe', () => {
  // Was refused: "--events /dev/fd/63: not a file"; so was a named pipe.
  it.skipIf(process.platform === 'win32')("reads bash's <(…) as it reads the file (a pipe, with no size, as standard input is)", () => {
    const cfg = config();
    const events = join(cfg.dir, 'events.jsonl');
    const plain = spawnSync(process.execPath, [CLI, 'rules', 'test', '-c', cfg.path, '--events', events, '--fresh'], { encoding: 'utf8' });
    expect(plain.status).toBe(0);
    const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    const piped = spawnSync('bash', ['-c', `${quote(process.execPath)} ${quote(CLI)} rules test -c ${quote(cfg.path)} --events <(cat ${quote(events)}) --fresh`], { encoding: 'utf8' });
    expect(piped.stderr).toBe('');
    expect(piped.status).toBe(0);
    expect(piped.stdout).toBe(plain.stdout);
  });
});
