import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRules, maintenanceOptionsOf } from '../core/rules/index.js';
import { createMaintenanceRule } from '../core/rules/maintenance/maintenance-rule.js';
import type { DeliveryIntent } from '../core/model/delivery.js';
import { simulateRules } from '../core/rules/simulate.js';
import type { CanonicalEvent } from '../core/model/events.js';
import { configIssueMessage } from './issue-messages.js';
import { formatIssues } from './load.js';
import { rulesSchema, type RulesConfig } from './rules-schema.js';

function parse(input: unknown): RulesConfig {
  const r = rulesSchema.safeParse(input);
  if (!r.success) throw new Error(JSON.stringify(formatIssues(r.error.issues, rulesSchema)));
  return r.data;
}

function problems(input: unknown): { key: string; message: string }[] {
  const r = rulesSchema.safeParse(input);
  if (r.success) throw new Error('expected problems');
  return formatIssues(r.error.issues, rulesSchema);
}

const dir = mkdtempSync(join(tmpdir(), 'ab-rules-'));
const goodFile = join(dir, 'sites.geojson');
writeFileSync(
  goodFile,
  JSON.stringify({
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', properties: { NAME: 'yard', SLOC: '1000/0001', site: 'BER' }, geometry: { type: 'Point', coordinates: [13.4, 52.5] } },
      { type: 'Feature', properties: { NAME: 'hall', SLOC: '1000/0002' }, geometry: { type: 'Polygon', coordinates: [[[13, 52], [13.1, 52], [13.1, 52.1], [13, 52]]] } },
    ].map((f) => ({ ...f, properties: { ...f.properties, radiusM: 150 } })),
  }),
);
const zonesFile = join(dir, 'zones.geojson');
writeFileSync(
  zonesFile,
  JSON.stringify({
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', properties: { name: 'yard', locationCode: '1000/0001', site: 'BER' }, geometry: { type: 'Point', coordinates: [13.4, 52.5] } },
      { type: 'Feature', properties: { name: 'gate', code: 'G' }, geometry: { type: 'Point', coordinates: [13.5, 52.5] } },
    ],
  }),
);

describe('rules config', () => {
  it('has working defaults: location sync only, 30 s lateness', () => {
    const c = parse({});
    expect(c.allowedLateness).toBe(30_000);
    expect(c.location).toEqual({ enabled: true, minDistanceM: 100, heartbeatMs: 3_600_000 });
    expect(createRules(c).map((r) => r.name)).toEqual(['location']);
  });

  it('compiles maintenance rules, windows and every section', () => {
    const c = parse({
      allowedLateness: '1m',
      zones: { inline: [{ name: 'yard', locationCode: 'Y', circle: { lat: 52.5, lng: 13.4, radiusM: 100 } }, { name: 'dock', locationCode: 'D', polygon: [[13, 52], [13.1, 52], [13.1, 52.1]] }] },
      maintenance: {
        thresholds: [{ name: 'overheat', sensor: 'coolantTemp', above: 95, clearBelow: 90, for: '5m', severity: 'critical', cooldown: '12h', workOrder: { orderType: 'PM02' }, appliesTo: { attributes: { type: 'excavator' } } }],
        serviceIntervals: [{ name: 'service-250h', everyHours: 250, dueSoonHours: 25 }, { name: 'oil-15000km', everyKm: 15_000, dueSoonKm: 500 }],
        windows: { timeZone: 'Europe/Berlin', default: [{ days: ['sat'], from: '06:00', to: '14:00' }], sites: { HAM: [{ days: ['sun'], from: '22:00', to: '04:00' }], NYC: { timeZone: 'America/New_York', slots: [{ days: ['mon', 'fri'], from: '05:00', to: '07:30' }] } } },
      },
      inventory: { freshness: '12h' },
      depreciation: { timeZone: 'Europe/Berlin' },
    });
    expect(c.maintenance?.thresholds[0]).toEqual({
      name: 'overheat',
      sensor: 'coolantTemp',
      direction: 'above',
      threshold: 95,
      clearAt: 90,
      durationMs: 300_000,
      maxGapMs: 600_000,
      cooldownMs: 43_200_000,
      severity: 'critical',
      workOrder: { orderType: 'PM02' },
      appliesTo: { attributes: { type: ['excavator'] } },
    });
    expect(c.maintenance?.serviceIntervals[0]).toMatchObject({ meter: 'hours', every: 250, dueSoon: 25, baselineAttribute: 'lastServiceHours', defaultBaseline: 'zero', severity: 'warning' });
    expect(c.maintenance?.serviceIntervals[1]).toMatchObject({ meter: 'km', every: 15_000, dueSoon: 500, baselineAttribute: 'lastServiceKm' });
    expect(c.maintenance?.windows).toEqual({
      '*': { timeZone: 'Europe/Berlin', windows: [{ days: [6], startMinute: 360, durationMinutes: 480 }] },
      HAM: { timeZone: 'Europe/Berlin', windows: [{ days: [0], startMinute: 1320, durationMinutes: 360 }] },
      NYC: { timeZone: 'America/New_York', windows: [{ days: [1, 5], startMinute: 300, durationMinutes: 150 }] },
    });
    expect(c.zones?.zones.map((z) => [z.name, z.shape.type])).toEqual([
      ['yard', 'circle'],
      ['dock', 'polygon'],
    ]);
    expect(c.inventory).toMatchObject({ skuAttribute: 'sku', freshness: 43_200_000, changesEvery: 60_000, fullSnapshotCron: '0 2 * * *' });
    expect(createRules(c).map((r) => r.name)).toEqual(['location', 'maintenance', 'inventory', 'depreciation']);
    expect(c.depreciation).toMatchObject({ meter: 'operatingHours', meterAttribute: 'depreciationMeter', unit: 'h', kmUnit: 'km' });
    expect(parse({ depreciation: { meter: 'odometerKm', kmUnit: 'KMT' } }).depreciation).toMatchObject({ meter: 'odometerKm', unit: 'h', kmUnit: 'KMT' });
  });

  it("an alert rule's codeMap: compiled as written; a blank code, two spellings of one code mapped apart, or a chain refused, saying what to write", () => {
    const alert = (codeMap: Record<string, unknown>) => ({ maintenance: { alerts: [{ name: 'f', codeMap }] } });
    expect(parse(alert({ P0217: 'SPN110-FMI0', '110-0': 'SPN110-FMI0' })).maintenance?.alerts?.[0]?.codeMap).toEqual({ P0217: 'SPN110-FMI0', '110-0': 'SPN110-FMI0' });
    // One spelling in two cases mapped to the same code (as compared) is no conflict.
    expect(parse(alert({ p0217: 'SPN110-FMI0', P0217: 'spn110-fmi0' })).maintenance?.alerts?.[0]?.codeMap).toBeDefined();
    expect(problems(alert({ ' ': 'SPN110-FMI0' }))).toEqual([{ key: 'maintenance.alerts.0.codeMap. ', message: expect.stringMatching(/^a blank code: write each spelling/) }]);
    expect(problems(alert({ P0217: ' ' }))[0]?.message).toMatch(/^a blank code for "P0217"/);
    expect(problems(alert({ p0217: 'SPN110-FMI0', P0217: 'SPN110-FMI1' }))[0]?.message).toMatch(/^"P0217" and "p0217" are one spelling \(codes are compared trimmed, in any case and in Unicode NFKC form, full-width as ASCII\) mapped to different codes/);
    // A full-width spelling is the ASCII one.
    expect(problems(alert({ '\uff30\uff10\uff12\uff11\uff17': 'SPN110-FMI0', P0217: 'SPN110-FMI1' }))[0]?.message).toMatch(/^"P0217" and "\uff30\uff10\uff12\uff11\uff17" are one spelling/);
    expect(problems(alert({ P0217: '110-0', '110-0': 'SPN110-FMI0' }))[0]?.message).toBe('"P0217" is mapped to "110-0", which is mapped to "SPN110-FMI0" in turn; the map is applied once: map "P0217" to "SPN110-FMI0"');
    expect(problems(alert({ P0217: 17 }))[0]?.key).toBe('maintenance.alerts.0.codeMap.P0217');
  });

  it('refuses work-order extras named like a field assetbridge writes (the value would be replaced), saying what to use instead', () => {
    const extras = (workOrder: Record<string, unknown>) => problems({ maintenance: { thresholds: [{ name: 'hot', sensor: 't', above: 95, workOrder }], alerts: [{ name: 'f', workOrder }] } });
    expect(extras({ priority: '1', costCenter: 'CC1' })).toEqual([
      { key: 'maintenance.thresholds.0.workOrder.priority', message: expect.stringMatching(/^"priority" is a field assetbridge writes on every work order, so this value would be replaced: the rule's `severity` decides it/) },
      { key: 'maintenance.alerts.0.workOrder.priority', message: expect.stringMatching(/^"priority" is a field/) },
    ]);
    expect(extras({ title: 'x' })[0]?.message).toMatch(/set the rule's own `title` instead$/);
    expect(extras({ externalKey: 'x' })[0]?.message).toMatch(/pick another field name$/);
    expect(parse({ maintenance: { thresholds: [{ name: 'hot', sensor: 't', above: 95, workOrder: { orderType: 'PM02', costCenter: 'CC1', urgent: true } }] } }).maintenance?.thresholds[0]?.workOrder).toEqual({ orderType: 'PM02', costCenter: 'CC1', urgent: true });
  });

  it('reads zone GeoJSON files with configured property names, beside inline zones', () => {
    const c = parse({ zones: { files: [goodFile], properties: { name: 'NAME', locationCode: 'SLOC' }, inline: [{ name: 'gate', locationCode: 'G', circle: { lat: 1, lng: 1, radiusM: 5 } }] } });
    expect(c.zones?.zones.map((z) => [z.name, z.locationCode, z.shape.type, z.site])).toEqual([
      ['gate', 'G', 'circle', undefined],
      ['yard', '1000/0001', 'circle', 'BER'],
      ['hall', '1000/0002', 'polygon', undefined],
    ]);
    // The same file twice: said once for the file, not once for each of its zones.
    expect(problems({ zones: { files: [goodFile, goodFile], properties: { name: 'NAME', locationCode: 'SLOC' } } })).toEqual([
      { key: 'zones.files.1', message: `${goodFile} is listed already, as rules.zones.files.0: list each zones file once` },
    ]);
    // Two files sharing a name: the first one defining it is named.
    const copy = join(dir, 'sites-copy.geojson');
    writeFileSync(copy, readFileSync(goodFile));
    expect(problems({ zones: { files: [goodFile, copy], properties: { name: 'NAME', locationCode: 'SLOC' } } })).toEqual(
      ['yard', 'hall'].map((name) => ({
        key: 'zones.files.1',
        message: `zone "${name}" is defined more than once (inline or in files), first in rules.zones.files.0 (${goodFile}); names must be unique across files and inline: rename one (zones may share a location code)`,
      })),
    );
  });

  it('reads each zones file with its own property names where it has them ({path, properties}), the common ones elsewhere', () => {
    // A QGIS export (NAME, SLOC) beside a geojson.io file (name, locationCode): one config, no file edited.
    const other = join(dir, 'other.geojson');
    writeFileSync(other, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'dock', locationCode: 'D' }, geometry: { type: 'Point', coordinates: [13.6, 52.5] } }].map((f) => ({ ...f, properties: { ...f.properties, radiusM: 50 } })) }));
    const c = parse({ zones: { files: [{ path: goodFile, properties: { name: 'NAME', locationCode: 'SLOC' } }, other] } });
    expect(c.zones?.zones.map((z) => [z.name, z.locationCode])).toEqual([
      ['yard', '1000/0001'],
      ['hall', '1000/0002'],
      ['dock', 'D'],
    ]);
    // A property still missing is named where the file's own names are set.
    expect(problems({ zones: { files: [{ path: goodFile, properties: { name: 'NAME' } }] } }).map((p) => p.message)[0]).toMatch(/if another property holds it, name that one in rules\.zones\.files\.0\.properties\.locationCode$/);
    expect(problems({ zones: { files: [{ file: goodFile }] } })).toEqual([
      { key: 'zones.files.0', message: expect.stringMatching(/ is not a zones file: give its path, or \{path, properties: \{name, locationCode, …\}\}/) },
    ]);
  });

  it('keeps a time zone by its canonical name (another spelling is the same calendar); a legacy fixed-offset zone as written (config check warns of it)', () => {
    const zone = (timeZone: string) => parse({ depreciation: { timeZone } }).depreciation?.timeZone;
    expect(zone('europe/berlin')).toBe('Europe/Berlin');
    expect(zone('Etc/UTC')).toBe('UTC');
    expect(zone('US/Eastern')).toBe('America/New_York');
    expect(zone('EST')).toBe('EST');
    expect(parse({ inventory: { timeZone: 'europe/berlin' } }).inventory?.timeZone).toBe('Europe/Berlin');
  });

  it('names the time zone likely meant: a misspelling, a city alone', () => {
    const hint = (timeZone: string) => problems({ depreciation: { timeZone } })[0]?.message;
    expect(hint('Europe/Berln')).toMatch(/\(did you mean Europe\/Berlin\?\)$/);
    expect(hint('berlin')).toMatch(/\(did you mean Europe\/Berlin\?\)$/);
    expect(hint('New York')).toMatch(/\(did you mean America\/New_York\?\)$/);
    expect(hint('Mars/Olympus')).toBe('"Mars/Olympus" is not a known IANA time zone; use e.g. UTC, Europe/Berlin, America/New_York');
  });

  it('says nothing of the lead when the interval itself is refused', () => {
    expect(problems({ maintenance: { serviceIntervals: [{ name: 's', everyHours: -5 }], calendarIntervals: [{ name: 'c', everyDays: 0 }] } }).map((p) => p.key)).toEqual([
      'maintenance.serviceIntervals.0.everyHours',
      'maintenance.calendarIntervals.0.everyDays',
    ]);
  });

  it('refuses a blank inline zone name or location code, as a zone file does, and trims them as it does', () => {
    const circle = { lat: 1, lng: 1, radiusM: 5 };
    // Before: " " was a zone name and a location code (sent to the ERP as the location).
    expect(problems({ zones: { inline: [{ name: ' ', locationCode: 'G', circle }, { name: 'gate', locationCode: '  ', circle }] } })).toEqual([
      { key: 'zones.inline.0.name', message: 'is empty or blank: give the zone a name (it is what zones occupancy, zone sightings and location updates name it by)' },
      { key: 'zones.inline.1.locationCode', message: 'is empty or blank: give the ERP location code the zone stands for (the warehouseLocation sent for it, and where its inventory is counted)' },
    ]);
    expect(parse({ zones: { inline: [{ name: ' gate ', locationCode: ' G ', circle }] } }).zones?.zones.map((z) => [z.name, z.locationCode])).toEqual([['gate', 'G']]);
  });

  it('names every problem with its key', () => {
    expect(
      problems({
        allowedLateness: 'soon',
        zones: { files: [zonesFile, join(dir, 'missing.geojson')], inline: [{ name: 'x', locationCode: 'X' }] },
        maintenance: {
          thresholds: [
            { name: 'a|b', sensor: 't', above: 1 },
            { name: 'both', sensor: 't', above: 1, below: 0 },
            { name: 'hyst', sensor: 't', above: 90, clearBelow: 95 },
            { name: 'dup', sensor: 't', below: 5, clearBelow: 3 },
          ],
          serviceIntervals: [{ name: 'dup', everyHours: 10, dueSoonHours: 10 }],
          windows: { timeZone: 'Mars/Olympus', default: [{ days: ['fun'], from: '25:00', to: '06:00' }] },
        },
        inventory: { fullSnapshotCron: 'every day' },
        depreciation: { periods: [{ id: 'P1', start: '2026-01-01' }] },
      }),
    ).toEqual([
      { key: 'allowedLateness', message: '"soon" is not a duration; write e.g. 30s, 5m, 1h or a number of milliseconds' },
      { key: 'zones.inline.0', message: 'give exactly one of `polygon` or `circle`' },
      // The zones files are read beside the section's other problems (they were read only once those were fixed).
      { key: 'zones.files.0', message: expect.stringMatching(/^\S+zones\.geojson: property "radiusM" \(a Point zone's radius in metres\) is missing or empty in all 2 Point features/) },
      { key: 'zones.files.0', message: expect.stringMatching(/^\S+zones\.geojson: feature 1 \("gate"\): property "locationCode" \(the ERP location code\) is missing or empty/) },
      { key: 'zones.files.1', message: `cannot read the GeoJSON zones file ${join(dir, 'missing.geojson')} (no such file or directory): fix the path (a relative one is taken from the config file's directory), or remove the entry` },
      { key: 'maintenance.thresholds.0.name', message: '"a|b" is not a rule name: use letters, digits, _ . - only (the name is part of the work-order key)' },
      { key: 'maintenance.thresholds.1', message: 'give exactly one of `above` or `below`' },
      { key: 'maintenance.thresholds.2.clearBelow', message: 'clearBelow (95) must not be above the trigger (90)' },
      { key: 'maintenance.thresholds.3.clearBelow', message: 'a `below` rule clears above a value: use `clearAbove`' },
      { key: 'maintenance.serviceIntervals.0.dueSoonHours', message: '10 must be less than everyHours (10)' },
      { key: 'maintenance.windows.timeZone', message: '"Mars/Olympus" is not a known IANA time zone; use e.g. UTC, Europe/Berlin, America/New_York' },
      { key: 'maintenance.windows.default.0.days.0', message: expect.stringMatching(/sun.*sat/) },
      { key: 'maintenance.windows.default.0.from', message: '"25:00" is not a time of day: use HH:MM (24-hour), e.g. 06:00' },
      { key: 'inventory.fullSnapshotCron', message: '"every day" is not a 5-field cron expression (e.g. "0 2 * * *" for 02:00 daily)' },
      { key: 'depreciation.periodsEnd', message: 'give the end (YYYY-MM-DD, exclusive) of the last listed period' },
    ]);
  });

  // Were said only in a later round, once every item had its start and the end was given.
  it('says the checks across a period list (an id used twice, a day not of the calendar, starts out of order) beside a missing end or a refused item, once each', () => {
    const periods = [
      { id: 'P1', start: '2026-01-01' },
      { id: 'P1', start: '2026-02-01' },
      { id: 'P3', start: '2026-01-15' },
      { id: 'P4', start: '2026-13-01' },
      { id: 'P5' },
    ];
    expect(problems({ depreciation: { periods } })).toEqual([
      { key: 'depreciation.periods.4.start', message: 'missing: give the first day of the period, YYYY-MM-DD' },
      { key: 'depreciation.periodsEnd', message: 'give the end (YYYY-MM-DD, exclusive) of the last listed period' },
      { key: 'depreciation.periods.1.id', message: '"P1" is the id of periods.0 too: give each period its own id' },
      { key: 'depreciation.periods.2.start', message: '"2026-01-15" is not after the start of the period before it (P1, 2026-02-01): list the periods in order, each starting after the one before' },
      { key: 'depreciation.periods.3.start', message: '"2026-13-01" is not a day of the calendar: write a real date (YYYY-MM-DD)' },
    ]);
    // A value refused itself is said once, not again by the checks across the items.
    const refused = problems({ depreciation: { periodsEnd: '2026/12/01', periods: [{ id: 'A|B', start: '2026-01-01' }, { id: 'A|B', start: '2026-02-01' }] } });
    expect(refused.map((p) => p.key).sort()).toEqual(['depreciation.periods.0.id', 'depreciation.periods.1.id', 'depreciation.periodsEnd']);
  });

  it('refuses a site named * (the default calendar is kept under that name: its slots replaced the default ones)', () => {
    expect(problems({ maintenance: { windows: { default: [{ days: ['sat'], from: '06:00', to: '14:00' }], sites: { '*': [{ days: ['mon'], from: '01:00', to: '02:00' }] } } } })).toEqual([
      { key: 'maintenance.windows.sites.*', message: '"*" is no site name: the windows of every site without its own go in rules.maintenance.windows.default; move these slots there' },
    ]);
  });

  it('says how to write a window to midnight when one is written to 24:00', () => {
    expect(problems({ maintenance: { windows: { default: [{ days: ['fri'], from: '18:00', to: '24:00' }] } } })).toEqual([
      { key: 'maintenance.windows.default.0.to', message: '"24:00" is not a time of day: use HH:MM (24-hour), e.g. 06:00; for a window to midnight write to: "00:00" (a to at or before from ends the next day)' },
    ]);
    expect(parse({ maintenance: { windows: { default: [{ days: ['fri'], from: '18:00', to: '00:00' }] } } }).maintenance?.windows['*']?.windows).toEqual([{ days: [5], startMinute: 1080, durationMinutes: 360 }]);
  });

  it('reads day names in any case and written in full, as their canonical short form; an unknown one lists the valid names', () => {
    const days = ['Sun', 'MON', 'Tuesday', ' wednesday ', 'THU', 'Fri', 'sat'];
    expect(parse({ maintenance: { windows: { default: [{ days, from: '06:00', to: '14:00' }] } } }).maintenance?.windows['*']?.windows).toEqual([
      { days: [0, 1, 2, 3, 4, 5, 6], startMinute: 360, durationMinutes: 480 },
    ]);
    // As config check words it (the config's error map).
    const r = rulesSchema.safeParse({ maintenance: { windows: { default: [{ days: ['Sunn'], from: '06:00', to: '14:00' }] } } }, { error: configIssueMessage() });
    expect(r.success ? [] : formatIssues(r.error.issues, rulesSchema)).toEqual([
      { key: 'maintenance.windows.default.0.days.0', message: '"Sunn" is not allowed here: use one of sun, mon, tue, wed, thu, fri, sat (did you mean sun?)' },
    ]);
  });

  it('refuses a blank depreciation attribute name (the input would always be missing) and a periodsEnd beside monthly (it would be ignored)', () => {
    expect(problems({ depreciation: { attributes: { cost: '', salvage: ' ' } } })).toEqual([
      { key: 'depreciation.attributes.cost', message: 'is empty or blank: name the asset attribute that holds this input, or leave the key out for the default (cost)' },
      { key: 'depreciation.attributes.salvage', message: 'is empty or blank: name the asset attribute that holds this input, or leave the key out for the default (salvage)' },
    ]);
    expect(problems({ depreciation: { periodsEnd: '2027-01-01' } })).toEqual([
      { key: 'depreciation.periodsEnd', message: 'is only for a list of periods; with periods: monthly it is not used: remove it, or list the periods [{ id, start: YYYY-MM-DD }] it ends' },
    ]);
    expect(problems({ depreciation: { periods: 'monthly', periodsEnd: '2027-01-01' } })[0]?.key).toBe('depreciation.periodsEnd');
    expect(parse({ depreciation: { attributes: { cost: 'acqCost' } } }).depreciation?.attributes).toMatchObject({ cost: 'acqCost', salvage: 'salvage' });
  });

  it('reports zone file problems with the file and feature', () => {
    const p = problems({ zones: { files: [zonesFile, join(dir, 'missing.geojson')] } });
    expect(p.map((x) => x.key)).toEqual(['zones.files.0', 'zones.files.0', 'zones.files.1']);
    // Missing from every Point: said once for the file, with the properties they have.
    expect(p[0]?.message).toBe(
      `${zonesFile}: property "radiusM" (a Point zone's radius in metres) is missing or empty in all 2 Point features (their properties: name, locationCode, site, code); if another property holds it, name that one in rules.zones.properties.radiusM`,
    );
    // The code is there under another name: the message lists the feature's properties and names the key to set.
    expect(p[1]?.message).toBe(
      `${zonesFile}: feature 1 ("gate"): property "locationCode" (the ERP location code) is missing or empty (its properties: name, code); if another property holds it, name that one in rules.zones.properties.locationCode`,
    );
    // Why in words and what to do, not Node's "ENOENT: no such file or directory, open '…'".
    expect(p[2]?.message).toBe(`cannot read the GeoJSON zones file ${join(dir, 'missing.geojson')} (no such file or directory): fix the path (a relative one is taken from the config file's directory), or remove the entry`);
  });

  it('reads a zone file with a byte order mark, and says the line and column of a syntax error', () => {
    const bom = join(dir, 'bom.geojson');
    const square = [[[13.4, 52.5], [13.41, 52.5], [13.41, 52.51], [13.4, 52.5]]];
    writeFileSync(bom, `\uFEFF${JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'hall', locationCode: 'H' }, geometry: { type: 'Polygon', coordinates: square } }] })}`);
    expect(parse({ zones: { files: [bom] } }).zones?.zones.map((z) => z.name)).toEqual(['hall']);
    const comma = join(dir, 'comma.geojson');
    writeFileSync(comma, '{"type": "FeatureCollection",\n "features": [],\n}\n');
    expect(problems({ zones: { files: [comma] } })).toEqual([
      { key: 'zones.files.0', message: expect.stringMatching(new RegExp(`^${comma.replace(/[.\\/]/g, '\\$&')} is not valid JSON: line 3, column 1: .*; fix it there \\(a GeoJSON file is JSON: no trailing commas, no comments\\)$`)) },
    ]);
  });

  it('says a zones file of 0 bytes or only blanks is empty (an export that failed), not that its JSON ends too soon', () => {
    const nothing = join(dir, 'nothing.geojson');
    writeFileSync(nothing, '');
    const blank = join(dir, 'blank.geojson');
    writeFileSync(blank, '\uFEFF \r\n');
    // Was "is not valid JSON: line 1, column 1: Unexpected end of JSON input; fix it there (… no trailing commas, no comments)".
    expect(problems({ zones: { files: [nothing, blank] } })).toEqual([
      { key: 'zones.files.0', message: `${nothing}: the file is empty (0 bytes): write the zones file again (an export that failed or was cut short leaves it so)` },
      { key: 'zones.files.1', message: `${blank}: the file holds only blanks: write the zones file again (an export that failed or was cut short leaves it so)` },
    ]);
  });

  it('refuses a zones file with no zones, naming the file', () => {
    const empty = join(dir, 'empty.geojson');
    writeFileSync(empty, JSON.stringify({ type: 'FeatureCollection', features: [] }));
    expect(problems({ zones: { files: [empty] } })).toEqual([
      { key: 'zones.files.0', message: `${empty}: the FeatureCollection has no features: a zones file needs at least one zone (was the wrong layer exported?)` },
    ]);
  });

  it('refuses a circle larger than half the Earth, inline and in a zones file, naming the zone and the allowed range', () => {
    const inline = (radiusM: number) => ({ zones: { inline: [{ name: 'yard', locationCode: 'Y', circle: { lat: 52.5, lng: 13.4, radiusM } }] } });
    expect(problems(inline(1e9))).toEqual([
      { key: 'zones.inline.0.circle.radiusM', message: 'zone "yard": the circle\'s radiusM must be above 0 and at most 20000000 metres (20,000 km, half the Earth\'s circumference): 1000000000 was given' },
    ]);
    expect(parse(inline(20_000_000)).zones?.inline[0]?.shape).toMatchObject({ type: 'circle', radiusM: 20_000_000 });
    const huge = join(dir, 'huge.geojson');
    writeFileSync(huge, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'yard', locationCode: 'Y', radiusM: 1e9 }, geometry: { type: 'Point', coordinates: [13.4, 52.5] } }] }));
    expect(problems({ zones: { files: [huge] } })).toEqual([
      {
        key: 'zones.files.0',
        message: `${huge}: feature 0 ("yard"): property "radiusM" (the radius in metres) must be above 0 and at most 20000000 (20,000 km, half the Earth's circumference): 1000000000 was given`,
      },
    ]);
  });

  it('reads a zones file in UTF-8 or UTF-16 with its BOM, and refuses another encoding, which would mangle the location codes sent', () => {
    const doc = { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'Lager Süd', locationCode: 'LAGER-SÜD' }, geometry: { type: 'Point', coordinates: [13.4, 52.5] } }] };
    const text = JSON.stringify({ ...doc, features: [{ ...doc.features[0], properties: { ...doc.features[0]?.properties, radiusM: 50 } }] }, null, 1);
    const utf16 = join(dir, 'utf16.geojson');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    expect(parse({ zones: { files: [utf16] } }).zones?.zones.map((z) => [z.name, z.locationCode])).toEqual([['Lager Süd', 'LAGER-SÜD']]);
    const latin1 = join(dir, 'latin1.geojson');
    writeFileSync(latin1, Buffer.from(text, 'latin1'));
    const [problem, ...more] = problems({ zones: { files: [latin1] } });
    expect(more).toEqual([]);
    expect(problem?.key).toBe('zones.files.0');
    expect(problem?.message).toBe(
      `${latin1}: line 7 is not UTF-8 text ("name": "Lager S\uFFFDd",): the file is in another encoding (Windows-1252 or Latin-1, as some editors and older GIS tools save); save the zones file as UTF-8 and try again`,
    );
    const noBom = join(dir, 'utf16-no-bom.geojson');
    writeFileSync(noBom, Buffer.from(text, 'utf16le'));
    expect(problems({ zones: { files: [noBom] } })[0]?.message).toContain('line 1, column 2: a NUL character, as UTF-16 text without its byte-order mark has');
  });

  it('reports a zone name used twice in one file once, and names where a name defined elsewhere is used again', () => {
    const twice = join(dir, 'twice.geojson');
    const yard = { type: 'Feature', properties: { name: 'yard', locationCode: 'Y', radiusM: 50 }, geometry: { type: 'Point', coordinates: [13.4, 52.5] } };
    writeFileSync(twice, JSON.stringify({ type: 'FeatureCollection', features: [yard, yard] }));
    expect(problems({ zones: { files: [twice] } })).toEqual([{ key: 'zones.files.0', message: `${twice}: zone name "yard" is used by features 0 and 1; names must be unique: they have one location code, so if they are parts of one zone, make them one feature with a MultiPolygon geometry (QGIS: Vector > Geometry Tools > Collect Geometries, or Dissolve by "name"); else give each its own "name" (zones may share a location code)` }]);
    const message = 'zone "yard" is defined more than once (inline or in files), first in rules.zones.inline.0; names must be unique across files and inline: rename one (zones may share a location code)';
    // The file's "yard"s are refused (none is good), so the name is not reported again against the inline one.
    expect(problems({ zones: { inline: [{ name: 'yard', locationCode: 'Y', circle: { lat: 1, lng: 1, radiusM: 5 } }], files: [twice] } })).toEqual([
      { key: 'zones.files.0', message: `${twice}: zone name "yard" is used by features 0 and 1; names must be unique: they have one location code, so if they are parts of one zone, make them one feature with a MultiPolygon geometry (QGIS: Vector > Geometry Tools > Collect Geometries, or Dissolve by "name"); else give each its own "name" (zones may share a location code)` },
    ]);
    const other = join(dir, 'other.geojson');
    writeFileSync(other, JSON.stringify({ type: 'FeatureCollection', features: [yard] }));
    expect(problems({ zones: { inline: [{ name: 'yard', locationCode: 'Y', circle: { lat: 1, lng: 1, radiusM: 5 } }], files: [other] } })).toEqual([{ key: 'zones.files.0', message }]);
    const inline = { name: 'gate', locationCode: 'G', circle: { lat: 1, lng: 1, radiusM: 5 } };
    expect(problems({ zones: { inline: [inline, inline] } })).toEqual([{ key: 'zones.inline.1.name', message: message.replace('yard', 'gate') }]);
  });

  it('refuses zone names differing only in case, inline or in files, naming both and where each is', () => {
    const circle = { lat: 52.5, lng: 13.4, radiusM: 50 };
    const walk = join(dir, 'walk.geojson');
    writeFileSync(walk, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'YARD-WALK', locationCode: 'W2', radiusM: 50 }, geometry: { type: 'Point', coordinates: [13.4, 52.5] } }] }));
    const alike = (name: string, at: string, firstName: string, first: string) =>
      `zone "${name}" in ${at} differs only in case from zone "${firstName}" in ${first}; names must differ in more than case across files and inline (ERP users, 'zones locate' and a sighting naming its zone could not tell them apart): rename one (zones may share a location code)`;
    expect(problems({ zones: { inline: [{ name: 'yard-walk', locationCode: 'W', circle }], files: [walk] } })).toEqual([
      { key: 'zones.files.0', message: alike('YARD-WALK', `rules.zones.files.0 (${walk})`, 'yard-walk', 'rules.zones.inline.0') },
    ]);
    // Two files.
    const lower = join(dir, 'walk-lower.geojson');
    writeFileSync(lower, readFileSync(walk, 'utf8').replace('YARD-WALK', 'yard-walk'));
    expect(problems({ zones: { files: [lower, walk] } })).toEqual([
      { key: 'zones.files.1', message: alike('YARD-WALK', `rules.zones.files.1 (${walk})`, 'yard-walk', `rules.zones.files.0 (${lower})`) },
    ]);
    // Two inline zones.
    expect(problems({ zones: { inline: [{ name: 'yard-walk', locationCode: 'W', circle }, { name: 'Yard-Walk ', locationCode: 'W2', circle }] } })).toEqual([
      { key: 'zones.inline.1.name', message: alike('Yard-Walk', 'rules.zones.inline.1', 'yard-walk', 'rules.zones.inline.0') },
    ]);
  });

  it('refuses an inline polygon across the antimeridian, as in a zone file', () => {
    // A yard on Taveuni (Fiji) across 180°: drawn with straight [lng, lat] edges it would circle the rest of the world.
    const taveuni = [[179.99, -16.8], [-179.99, -16.8], [-179.99, -16.79], [179.99, -16.79]];
    expect(problems({ zones: { inline: [{ name: 'yard', locationCode: 'Y', polygon: taveuni }] } })).toEqual([
      {
        key: 'zones.inline.0.polygon',
        message: 'spans more than 180° of longitude; a zone across the antimeridian must be split in two at ±180: put it in a zones file as a MultiPolygon, or make it two inline zones with the same locationCode',
      },
    ]);
    // Drawn across it on a web map, which writes 180.01 for -179.99: said once, with the longitude meant (not a swap, nor an error per position).
    const unwrapped = [[179.99, -16.8], [180.01, -16.8], [180.01, -16.79], [179.99, -16.79]];
    expect(problems({ zones: { inline: [{ name: 'yard', locationCode: 'Y', polygon: unwrapped }] } })).toEqual([
      {
        key: 'zones.inline.0.polygon',
        message:
          '[180.01, -16.8] has longitude 180.01, beyond ±180: it is longitude -179.99 (a web map drawing across the antimeridian writes it so); give every longitude within ±180, and split a zone across the antimeridian in two at ±180 (a MultiPolygon, or two zones with the same locationCode)',
      },
    ]);
    // Around a pole it is split at ±180 already: split at longitude 0.
    const cap = [[-180, -89], [180, -89], [180, -90], [-180, -90]];
    expect(problems({ zones: { inline: [{ name: 'station', locationCode: 'S', polygon: cap }] } })).toEqual([
      {
        key: 'zones.inline.0.polygon',
        message:
          'reaches from longitude -180 to 180 (a zone around a pole, or across the whole map); edges are straight in longitude and latitude, so no part of a zone may span more than 180° of longitude: split it at longitude 0 into two inline zones with the same locationCode (or two polygons of a MultiPolygon in a zones file), one from -180 to 0 and one from 0 to 180',
      },
    ]);
    // Up to the antimeridian, one side of it, is fine.
    const east = [[179.99, -16.8], [180, -16.8], [180, -16.79], [179.99, -16.79]];
    expect(parse({ zones: { inline: [{ name: 'yard', locationCode: 'Y', polygon: east }] } }).zones?.zones.map((z) => z.name)).toEqual(['yard']);
  });

  it('an inline polygon written [lat, lng] or as {lat, lng} mappings is told so once, and an altitude is read past as in a zone file', () => {
    const denver = [[39.7, -105.0], [39.7, -104.9], [39.8, -104.9]];
    const objects = [{ lat: 51.95, lng: 4.04 }, { lat: 51.95, lng: 4.05 }, { lat: 51.96, lng: 4.05 }];
    expect(problems({ zones: { inline: [{ name: 'yard', locationCode: 'Y', polygon: denver }, { name: 'dock', locationCode: 'D', polygon: objects }] } })).toEqual([
      {
        key: 'zones.inline.0.polygon',
        message: '[39.7, -105] has latitude -105, beyond ±90: positions are [longitude, latitude] (GeoJSON order); if the polygon is written [latitude, longitude], swap the two numbers of every position',
      },
      { key: 'zones.inline.1.polygon', message: 'positions are [longitude, latitude] pairs (GeoJSON order), not mappings: write {lat: 51.95, lng: 4.04} as [4.04, 51.95]' },
    ]);
    // A ring pasted from a GeoJSON file with altitudes ([lng, lat, 0]): read without them.
    const withAltitude = [[4.04, 51.95, 0], [4.05, 51.95, 0], [4.05, 51.96, 0]];
    expect(parse({ zones: { inline: [{ name: 'yard', locationCode: 'Y', polygon: withAltitude }] } }).zones?.zones[0]?.shape).toEqual({
      type: 'polygon',
      polygons: [[[[4.04, 51.95], [4.05, 51.95], [4.05, 51.96], [4.04, 51.95]]]],
    });
  });

  it('refuses an inline polygon that crosses itself or has under 3 distinct positions, naming the zone', () => {
    const bowtie = [[4, 52], [4.01, 52.01], [4.01, 52], [4, 52.01], [4, 52]];
    expect(problems({ zones: { inline: [{ name: 'yard', locationCode: 'Y', polygon: bowtie }, { name: 'dock', locationCode: 'D', polygon: [[4, 52], [4.01, 52], [4, 52]] }] } })).toEqual([
      {
        key: 'zones.inline.0.polygon',
        message:
          'zone "yard": the polygon crosses itself: its edge from [4, 52] to [4.01, 52.01] meets the edge from [4.01, 52] to [4, 52.01]; list the positions in order around the zone (a figure of eight must be two zones, or a MultiPolygon)',
      },
      { key: 'zones.inline.1.polygon', message: 'zone "dock": the polygon needs at least 3 distinct positions, in order around the zone (it has 2)' },
    ]);
  });

  it('says once to drop a level of brackets when an inline polygon is pasted as GeoJSON Polygon coordinates', () => {
    const ring = [[4, 52], [4.01, 52], [4.01, 52.01], [4, 52.01], [4, 52]];
    expect(problems({ zones: { inline: [{ name: 'yard', locationCode: 'Y', polygon: [ring] }, { name: 'dock', locationCode: 'D', polygon: [ring, ring] }] } })).toEqual([
      {
        key: 'zones.inline.0.polygon',
        message: 'this is a list of one ring (GeoJSON Polygon coordinates, [[[lng, lat], ...]]); an inline polygon is its outer ring alone: drop one level of brackets, [[lng, lat], ...]',
      },
      {
        key: 'zones.inline.1.polygon',
        message: 'this is a list of 2 rings (GeoJSON Polygon coordinates, [[[lng, lat], ...]]); an inline polygon is its outer ring alone: drop one level of brackets, [[lng, lat], ...] (for holes use a zones file)',
      },
    ]);
    expect(parse({ zones: { inline: [{ name: 'yard', locationCode: 'Y', polygon: ring }] } }).zones?.zones.map((z) => z.name)).toEqual(['yard']);
  });

  it('refuses task intervals under 100 ms (0 would run them without pause)', () => {
    const message = (given: string) => `${given} is too short: use at least 100ms; 0 would run the task without pause (e.g. 1m)`;
    expect(problems({ inventory: { changesEvery: 0 }, depreciation: { checkEvery: '0s' }, maintenance: { calendarCheckEvery: '50ms' } })).toEqual([
      { key: 'maintenance.calendarCheckEvery', message: message('50ms') },
      { key: 'inventory.changesEvery', message: message('0ms') },
      { key: 'depreciation.checkEvery', message: message('0ms') },
    ]);
  });

  it('refuses a rule time written in digits under 1000 (milliseconds) rather than fire a rule at once: for: 5 meant minutes', () => {
    const message = (given: string, digits: string) => `${given} would be ${digits} milliseconds (digits alone are milliseconds): write the unit, e.g. ${digits}s or ${digits}m (${digits}ms if milliseconds are meant)`;
    const threshold = { name: 't', sensor: 's', above: 1 };
    expect(
      problems({
        allowedLateness: 30,
        idleAfter: '2',
        maintenance: {
          thresholds: [{ ...threshold, for: 5, maxGap: 10, cooldown: 12, repeat: { count: 3, within: 60 } }],
          alerts: [{ name: 'a', cooldown: 24 }],
          feedback: { pollEvery: 5, initialLookback: 1, pollOverlap: 2 },
        },
        inventory: { freshness: 24 },
        depreciation: { postAfter: 2 },
      }),
    ).toEqual([
      { key: 'allowedLateness', message: message('30', '30') },
      { key: 'idleAfter', message: message('"2"', '2') },
      { key: 'maintenance.thresholds.0.for', message: message('5', '5') },
      { key: 'maintenance.thresholds.0.maxGap', message: message('10', '10') },
      { key: 'maintenance.thresholds.0.cooldown', message: message('12', '12') },
      { key: 'maintenance.thresholds.0.repeat.within', message: message('60', '60') },
      { key: 'maintenance.alerts.0.cooldown', message: message('24', '24') },
      { key: 'maintenance.feedback.pollEvery', message: message('5', '5') },
      { key: 'maintenance.feedback.initialLookback', message: message('1', '1') },
      { key: 'maintenance.feedback.pollOverlap', message: message('2', '2') },
      { key: 'inventory.freshness', message: message('24', '24') },
      { key: 'depreciation.postAfter', message: message('2', '2') },
    ]);
    // 0, a unit (milliseconds too, on purpose) and a thousand or more (digits as text too, as ${NAME} gives them) are durations as before.
    const ok = parse({ allowedLateness: 0, idleAfter: '120000', maintenance: { thresholds: [{ ...threshold, for: '500ms', cooldown: 3_600_000 }], feedback: { pollEvery: 0 } } });
    expect([ok.allowedLateness, ok.idleAfter, ok.maintenance?.thresholds[0]?.durationMs, ok.maintenance?.thresholds[0]?.cooldownMs, ok.maintenance?.feedback.pollEvery]).toEqual([0, 120_000, 500, 3_600_000, 0]);
  });

  it('maintenance.snapshotMaxAge: how old a sensor value a fault\'s, service\'s or calendar work order shows; 10m by default, into the rule\'s options', () => {
    expect(parse({ maintenance: {} }).maintenance?.snapshotMaxAge).toBe(600_000);
    const set = parse({ allowedLateness: '1m', maintenance: { snapshotMaxAge: '30m', alerts: [{ name: 'a' }] } });
    expect(set.maintenance?.snapshotMaxAge).toBe(1_800_000);
    expect(maintenanceOptionsOf(set)?.snapshotMaxAgeMs).toBe(1_800_000);
    expect(problems({ maintenance: { snapshotMaxAge: '10 minutes' } })).toEqual([{ key: 'maintenance.snapshotMaxAge', message: '"10 minutes" is not a duration; write 10m (units: ms, s, m, h, d)' }]);
    expect(problems({ maintenance: { snapshotMaxAge: '-5m' } })).toEqual([{ key: 'maintenance.snapshotMaxAge', message: '"-5m" is negative: a duration is 0 or more; write e.g. 30s, 5m, 1h or a number of milliseconds' }]);
  });

  it('refuses a threshold maxGap of 0: every breach would break at its next sample, and a rule with a `for` never fire', () => {
    const message =
      '0 would break every breach at its next sample and end every episode, so no breach could hold `for`: leave maxGap out (10m) or give the longest a sensor may go between two samples, e.g. 30m';
    const threshold = { name: 't', sensor: 's', above: 1, for: '5m' };
    expect(problems({ maintenance: { thresholds: [{ ...threshold, maxGap: 0 }, { ...threshold, name: 'u', maxGap: '0s' }] } })).toEqual([
      { key: 'maintenance.thresholds.0.maxGap', message },
      { key: 'maintenance.thresholds.1.maxGap', message },
    ]);
    expect(parse({ maintenance: { thresholds: [{ ...threshold, maxGap: '30m' }] } }).maintenance?.thresholds[0]?.maxGapMs).toBe(1_800_000);
  });

  it('refuses an inventory freshness no longer than the lateness: no item would ever count', () => {
    const message = (given: string, lateness: string) =>
      `${given} is not longer than rules.allowedLateness (${lateness}): a sighting is decided only after the lateness, so no item would ever count; give the longest an item may go unseen and still count, e.g. 24h`;
    expect(problems({ inventory: { freshness: 0 } })).toEqual([{ key: 'inventory.freshness', message: message('0ms', '30s') }]);
    expect(problems({ allowedLateness: '5m', inventory: { freshness: '5m' } })).toEqual([{ key: 'inventory.freshness', message: message('5m', '5m') }]);
    expect(parse({ allowedLateness: '5m', inventory: { freshness: '6m' } }).inventory?.freshness).toBe(360_000);
  });

  it('a service interval counts operating hours or km, and says how often', () => {
    expect(
      problems({
        maintenance: {
          serviceIntervals: [
            { name: 'both', everyHours: 250, everyKm: 15_000 },
            { name: 'none', dueSoonHours: 10 },
            { name: 'lead', everyKm: 1000, dueSoonKm: 1000 },
            { name: 'mixed', everyKm: 1000, dueSoonHours: 10 },
          ],
        },
      }),
    ).toEqual([
      { key: 'maintenance.serviceIntervals.0.everyKm', message: 'an interval counts one meter: give everyHours (operating hours) or everyKm (odometer), not both; make two intervals for both' },
      { key: 'maintenance.serviceIntervals.1.everyHours', message: 'say how often: everyHours: N (every N hours, or everyKm for the odometer)' },
      { key: 'maintenance.serviceIntervals.2.dueSoonKm', message: '1000 must be less than everyKm (1000)' },
      { key: 'maintenance.serviceIntervals.3.everyKm', message: 'an interval counts one meter: give everyHours (operating hours) or everyKm (odometer), not both; make two intervals for both' },
    ]);
  });

  it('rejects duplicate rule names across thresholds and intervals', () => {
    expect(problems({ maintenance: { thresholds: [{ name: 'x', sensor: 's', above: 1 }], serviceIntervals: [{ name: 'x', everyHours: 10 }] } })).toEqual([
      { key: 'maintenance.serviceIntervals.0.name', message: 'rule name "x" is used twice (rules.maintenance.thresholds.0 has it too): give each rule its own name; it identifies the rule\'s work orders (in their business keys), so the work orders of two rules of one name would be taken for each other\'s' },
    ]);
  });

  /** A maintenance section with one rule of each list, named in the lists' order (thresholds, service intervals, calendar intervals, alerts). */
  const oneRuleOfEachList = (threshold: string, service: string, calendar: string, alert: string) => ({
    maintenance: {
      thresholds: [{ name: threshold, sensor: 's', above: 1 }],
      serviceIntervals: [{ name: service, everyKm: 1000 }],
      calendarIntervals: [{ name: calendar, everyDays: 30 }],
      alerts: [{ name: alert }],
    },
  });

  it('refuses a maintenance rule named as a built-in rule (location, meter, …): rules test would count the two under one name', () => {
    const builtIn = (name: string, what: string) =>
      `"${name}" is the name of ${what}, a rule the service runs of itself (rules list names it so, and rules test counts its deliveries under it): give this rule another name`;
    expect(problems(oneRuleOfEachList('location', 'meter', 'inventory', 'depreciation'))).toEqual([
      { key: 'maintenance.thresholds.0.name', message: builtIn('location', 'location sync') },
      { key: 'maintenance.serviceIntervals.0.name', message: builtIn('meter', 'meter sync') },
      { key: 'maintenance.calendarIntervals.0.name', message: builtIn('inventory', 'inventory') },
      { key: 'maintenance.alerts.0.name', message: builtIn('depreciation', 'depreciation') },
    ]);
    // Names that only look alike are another rule's own.
    expect(parse({ maintenance: { thresholds: [{ name: 'Meter', sensor: 's', above: 1 }, { name: 'location-drift', sensor: 't', above: 1 }] } }).maintenance?.thresholds.map((t) => t.name)).toEqual(['Meter', 'location-drift']);
  });

  it("refuses a maintenance rule named as one of Object.prototype's properties (__proto__, constructor, …): its state, keyed by the name, would be lost or misread", () => {
    const reserved = (name: string) =>
      `"${name}" cannot name a maintenance rule: the names of JavaScript's object properties (__proto__, constructor, toString, …) are reserved, as state keyed by them would be lost or misread; choose another name`;
    expect(problems(oneRuleOfEachList('__proto__', 'constructor', 'toString', 'hasOwnProperty'))).toEqual([
      { key: 'maintenance.thresholds.0.name', message: reserved('__proto__') },
      { key: 'maintenance.serviceIntervals.0.name', message: reserved('constructor') },
      { key: 'maintenance.calendarIntervals.0.name', message: reserved('toString') },
      { key: 'maintenance.alerts.0.name', message: reserved('hasOwnProperty') },
    ]);
  });

  it('takes a maintenance rule named prototype (no property of a plain object): its owned state is saved, reloaded and opens one work order per due point', () => {
    const c = parse({ allowedLateness: 0, maintenance: { serviceIntervals: [{ name: 'hours', everyHours: 250 }, { name: 'prototype', everyKm: 1000 }], thresholds: [{ name: 'Constructor', sensor: 'temp', above: 90 }] } });
    const options = maintenanceOptionsOf(c);
    if (!options) throw new Error('no maintenance');
    const rule = createMaintenanceRule(options).owned?.();
    if (!rule) throw new Error('no owned form');
    const asset = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} };
    const t0 = Date.UTC(2026, 9, 1, 8);
    const base = { source: 't', ids: [{ type: 'tag' as const, value: 'x' }], receivedAt: t0 };
    const out: DeliveryIntent[] = [];
    rule.load(0, undefined);
    // Hours from the first reading, the odometer from the third (the other interval's state is there before this one's).
    const readings: [number, number, number?][] = [[0, 247], [1, 248], [2, 249, 990], [3, 250, 1000], [4, 251, 1010], [5, 252, 1020]];
    for (const [h, hours, km] of readings) {
      const t = t0 + h * 3_600_000;
      const event: CanonicalEvent = { ...base, kind: 'meter', eventTime: t, operatingHours: hours, ...(km !== undefined ? { odometerKm: km } : {}) };
      rule.apply(0, event, { asset, destination: 'erp', now: t }, out);
      rule.apply(0, { ...base, kind: 'sensor', eventTime: t, values: { temp: { value: h === 4 ? 95 : 50 } } }, { asset, destination: 'erp', now: t }, out);
      // Each checkpoint's JSON read back, as after a restart.
      rule.load(0, JSON.parse(rule.saveJson?.(0) ?? JSON.stringify(rule.save(0))) as unknown);
    }
    expect(out.map((d) => d.businessKey)).toEqual(['EQ-1|hours|250h@b0', 'EQ-1|prototype|1000km@b0', 'EQ-1|Constructor|2026-10-01T12:00:00.000Z']);
    expect((rule.save(0) as { services?: unknown }).services).toEqual({ hours: { base: 0, firedDue: 250 }, prototype: { base: 0, firedDue: 1000 } });
  });

  it('end to end: configured rules turn events into a zone location and one work order', () => {
    const c = parse({
      allowedLateness: 0,
      location: { minDistanceM: 1000 },
      zones: { enterDwellMs: 0, inline: [{ name: 'yard', locationCode: '1000/0001', circle: { lat: 52.5, lng: 13.4, radiusM: 100 } }] },
      maintenance: { thresholds: [{ name: 'overheat', sensor: 'temp', above: 95, for: '1m', severity: 'critical' }] },
    });
    const asset = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} };
    const base = { source: 't', ids: [{ type: 'tag' as const, value: 'x' }], receivedAt: 0 };
    const events: CanonicalEvent[] = [
      { ...base, kind: 'position', eventTime: 1_800_000_000_000, lat: 52.5, lng: 13.4 },
      { ...base, kind: 'sensor', eventTime: 1_800_000_000_000, values: { temp: { value: 99 } } },
      { ...base, kind: 'sensor', eventTime: 1_800_000_060_000, values: { temp: { value: 99 } } },
    ];
    const out = simulateRules(createRules(c), events.map((event) => ({ event, asset, destination: 'erp' }))).perStep.flat();
    expect(out.map((d) => [d.operation, d.businessKey, d.payload.warehouseLocation ?? d.payload.priority])).toEqual([
      ['location.update', 'EQ-1', '1000/0001'],
      ['workorder.create', 'EQ-1|overheat|2027-01-15T08:00:00.000Z', 'HIGH'],
    ]);
  });
});
