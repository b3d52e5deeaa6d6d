/**
 * The rules example in `examples/rules/` stays true: `rules test` over its events prints the story
 * its comments tell (zone entry after dwell, one overheating work order planned into the
 * maintenance window, a due-soon service, a truck's oil change by the odometer, a late event
 * dropped, an unknown tag rejected, a fault code reported twice opening one work order, three
 * pressure spikes within the hour opening one).
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const dir = resolve(import.meta.dirname, '../../examples/rules');

/**
 * The example, copied as it is to a temp dir (its store lands there, not in the repository). The
 * CLI runs in another directory: the config's relative paths (zones file, store) resolve against
 * the config's own directory.
 */
function exampleConfig(): string {
  const tmp = mkdtempSync(join(tmpdir(), 'ab-example-'));
  cpSync(dir, tmp, { recursive: true });
  return join(tmp, 'assetbridge.yaml');
}

describe('examples/rules', () => {
  it('rules test tells the story of events.jsonl', async () => {
    const config = exampleConfig();
    expect((await runCli(['config', 'check', '-c', config])).code).toBe(0);
    const r = await runCli(['rules', 'test', '-c', config, '--events', join(dir, 'events.jsonl'), '--fresh']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toContain('location.update → erp [state] EX-100: location 1000/0001');
    expect(out).toContain('workorder.create → erp [fact] EX-100|engine-hot|2026-10-01T09:00:00.000Z: HIGH "Engine overheating: engineTempC 97.4 Cel" planned 2026-10-03 06:00–14:00 Europe/Amsterdam (2026-10-03T04:00:00.000Z)');
    expect(out).toContain('workorder.create → erp [fact] EX-100|service-250h|250h@b0: MEDIUM');
    expect(out).toContain('line 22: position EX-100 @ 2026-10-01T07:59:00.000Z (no deliveries)\n  late: dropped by location');
    // The 09:06 reading resent: a duplicate, not counted as late (its comment says so).
    expect(out).toMatch(/line 13: sensor EX-100 @ 2026-10-01T09:06:00\.000Z \(no deliveries\)\n(?! {2}late)/);
    expect(out).toContain('line 13: sensor EX-100 @ 2026-10-01T09:06:00.000Z (no deliveries)\n  duplicate of line 10: dropped by the rules (the same event sent again; not counted as late)\n');
    // From empty state (--fresh): the input's own earlier lines decided it, so no advice to use --fresh.
    expect(out).toContain("1 line(s) dropped as late by the rules (not newer than what they had already decided on from the input's earlier lines: more than rules.allowedLateness behind a newer event of the asset");
    expect(out).not.toContain('use --fresh');
    expect(readFileSync(join(dir, 'events.jsonl'), 'utf8')).toContain('# The 09:06 reading resent after it was decided on: a duplicate, dropped but not counted as late.');
    expect(out).toContain('line 26: rejected: no ERP mapping for tag tag-999');
    // A fault code reported twice: one work order (the second report releases the first, held for the lateness).
    // The code holds spaces: made safe for keys, with its hash.
    expect(out).toMatch(/workorder\.create → erp \[fact\] EX-100\|fault-codes\|SPN_110_FMI_0-[0-9a-f]{12}@2026-10-01T16:00:00\.000Z: HIGH "SPN 110 FMI 0: Engine coolant temperatu…"/);
    expect(out).toContain('meter.record → erp [state] TR-5|km: {"erpAssetId":"TR-5","odometerKm":30040,"readingTime":"2026-10-01T13:00:00.000Z","unit":"km"}');
    expect(out).toContain('decided at the end of the input, as the service does once an asset falls silent (events held for the allowed lateness; zone dwell under way):\n  workorder.create → erp [fact] TR-5|oil-15000km|30000km@b15000: MEDIUM "oil-15000km: 30000 km service"');
    expect(out).toContain('line 36: sensor EX-100 @ 2026-10-01T17:41:00.000Z\n  workorder.create → erp [fact] EX-100|hyd-spikes|2026-10-01T17:00:00.000Z: MEDIUM "Hydraulic pressure spikes (3× in 1 h)"');
    expect(out).toContain('would deliver: 2 × location.update (state), 5 × workorder.create (fact), 5 × meter.record (state)'); // the pallet's location is not synced (location.appliesTo); the excavator's fixes in YARD-A before its dwell is over send nothing
    // The excavator's hours filed for depreciation (the asset register's machines only: not the truck).
    expect(out).toMatch(/usage per fiscal period the events leave \(rules\.depreciation\), in the periods they changed:\n {2}ASSET +PERIOD +UNITS +METER AT END\n {2}EX-100 +2026-10 +4\.5 h +241 h\n\(usage is no delivery of an event/);
    expect(out).toContain("(calendar intervals — annual-inspection, brake-check — come due on the wall clock, not on events: the running service checks them (and the meter side of those that count hours or km too); see 'assetbridge maintenance status')");

    // The same events piped in (`--events -`), briefly: only the lines that deliver, were rejected or late.
    const piped = await runCli(['rules', 'test', '-c', config, '--events', '-', '--fresh', '--brief'], {}, readFileSync(join(dir, 'events.jsonl'), 'utf8'));
    expect(piped.code).toBe(0);
    expect(piped.stdout).toContain('would deliver: 2 × location.update (state), 5 × workorder.create (fact), 5 × meter.record (state)');
    expect(piped.stdout).toMatch(/25 event line\(s\): 24 accepted, 1 rejected \(\d+ line\(s\) without deliveries not shown\)/);
    // Late lines are kept; every other line kept delivers or was rejected.
    expect(piped.stdout).toContain('late: dropped by location');
    expect(piped.stdout).not.toMatch(/\(no deliveries\)\n(?! {2}late)/);
    // Why the overheating work order opened when it did: the excavator's state, line by line.
    const traced = await runCli(['rules', 'test', '-c', config, '--events', join(dir, 'events.jsonl'), '--fresh', '--brief', '--trace', 'tag-100']);
    expect(traced.code).toBe(0);
    expect(traced.stdout).toContain('line 9: sensor EX-100 @ 2026-10-01T09:03:00.000Z (no deliveries)\n  · maintenance.latest.engineTempC: (none) → ["2026-10-01T09:00:00.000Z",96.5,"Cel"]\n  · maintenance.thresholds.engine-hot.last: (none) → 2026-10-01T09:00:00.000Z');
    expect(traced.stdout).toContain('  · maintenance.thresholds.engine-hot.phase: pending → active');
    expect(traced.stdout).not.toContain('line 24:'); // other assets' quiet lines stay out (the pallet's)

    // A directory: its .jsonl files in name order (one here, so the same story).
    const fromDir = await runCli(['rules', 'test', '-c', config, '--events', dir, '--fresh', '--brief']);
    expect(fromDir.code).toBe(0);
    expect(fromDir.stdout).toContain('would deliver: 2 × location.update (state), 5 × workorder.create (fact), 5 × meter.record (state)');
    expect(fromDir.stdout).toContain('line 26: rejected: no ERP mapping for tag tag-999');
    // Split in two files (two days of a capture): the same story, each line named by its file.
    const days = join(dirname(config), 'days');
    mkdirSync(days);
    const all = readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n');
    writeFileSync(join(days, 'events-2026-10-01.jsonl'), all.slice(0, 20).join('\n'));
    writeFileSync(join(days, 'events-2026-10-02.jsonl'), all.slice(20).join('\n'));
    const split = await runCli(['rules', 'test', '-c', config, '--events', days, '--fresh', '--brief']);
    expect(split.code).toBe(0);
    expect(split.stdout).toContain('would deliver: 2 × location.update (state), 5 × workorder.create (fact), 5 × meter.record (state)');
    expect(split.stdout).toContain('events-2026-10-02.jsonl:6: rejected: no ERP mapping for tag tag-999'); // line 26 of the whole
    expect(split.stdout).toContain('events-2026-10-01.jsonl:11: sensor EX-100 @ 2026-10-01T09:08:00.000Z');
    const missing = await runCli(['rules', 'test', '-c', config, '--events', join(dirname(config), 'none')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
    mkdirSync(join(dirname(config), 'empty'));
    const empty = await runCli(['rules', 'test', '-c', config, '--events', join(dirname(config), 'empty')]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('holds no .jsonl (or .jsonl.gz) files; give a JSONL file, a directory of them (such as capture.dir), or - for standard input');
  });

  it('zones list --geojson writes the configured zones as a file that reads back the same', async () => {
    const config = exampleConfig();
    const out = join(dirname(config), 'all-zones.geojson');
    const written = await runCli(['zones', 'list', '-c', config, '--out', out]);
    expect(written.stdout).toBe(`wrote 2 zone(s) to ${out}\n`);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { features: { properties: Record<string, unknown> }[] };
    expect(doc.features.map((f) => f.properties)).toEqual([
      { name: 'YARD-A', locationCode: '1000/0001', site: 'ROT' },
      { name: 'WORKSHOP', locationCode: '1000/0009', site: 'ROT', radiusM: 150 },
    ]);
    const check = await runCli(['zones', 'check', out]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('2 zone(s) OK, 0 problem(s)');
    const [listed, reread] = await Promise.all([runCli(['zones', 'list', '-c', config, '--json']), runCli(['zones', 'check', out, '--json'])]);
    expect(JSON.parse(reread.stdout)).toMatchObject({ zones: JSON.parse(listed.stdout) });
  });
});

describe('examples/', () => {
  it('every example config passes config check, warning only of what it leaves out on purpose', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'ab-example-'));
    cpSync(resolve(dir, '..'), tmp, { recursive: true });
    const configs = readdirSync(tmp, { recursive: true, encoding: 'utf8' }).filter((f) => /\.ya?ml$/.test(f)).sort();
    expect(configs).toEqual(expect.arrayContaining(['assetbridge.yaml', join('rules', 'assetbridge.yaml')]));
    // The secrets the main example reads, as the service's environment would hold them.
    const env = { MQTT_PASSWORD: 'example-password', INTAKE_TOKEN: 'example-intake-token', ERP_TOKEN: 'example-erp-token' };
    for (const config of configs) {
      const r = await runCli(['config', 'check', '-c', join(tmp, config)], env);
      expect(r.code, `${config}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`${join(tmp, config)} is valid`);
      // The rules example has no input on purpose (rules test feeds it); nothing else is warned of.
      expect(r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('warning: sources: no input is configured')), config).toEqual([]);
    }
  });
});

describe('examples/assetbridge.yaml', () => {
  it("a position and a meter reading go to the ERP at once, as the README's 'config of your own' says (no rules.zones)", async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'ab-example-'));
    cpSync(resolve(dir, '..'), tmp, { recursive: true });
    const events = [
      { kind: 'meter', assetId: 'tag-7823', eventTime: '2026-10-01T10:00:00Z', operatingHours: 100 },
      { kind: 'position', assetId: 'tag-7823', eventTime: '2026-10-01T10:00:00Z', lat: 51.95, lng: 4.05 },
    ];
    const r = await runCli(['rules', 'test', '-c', join(tmp, 'assetbridge.yaml'), '--events', '-', '--fresh', '--no-flush'], {}, events.map((e) => JSON.stringify(e)).join('\n'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('line 1: meter 10004711 @ 2026-10-01T10:00:00.000Z\n  meter.record → erp');
    expect(r.stdout).toContain('line 2: position 10004711 @ 2026-10-01T10:00:00.000Z\n  location.update → erp');
    const readme = readFileSync(resolve(dir, '../../README.md'), 'utf8').replace(/\s+/g, ' ');
    expect(readme.includes('Positions and meter readings reach the ERP at once (positions after `rules.allowedLateness` with `rules.zones` configured)'), 'the README says when they reach the ERP').toBe(true);
  });
});
