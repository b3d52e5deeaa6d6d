import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempStores } from '../../../test/helpers/temp-stores.js';
import type { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { rulesSchema, type RulesConfig } from '../../config/rules-schema.js';
import type { CanonicalEvent } from '../../core/model/events.js';
import { createRules, zoneTrackingOf } from '../../core/rules/index.js';
import { flushRules, simulateRules, type StateDoc } from '../../core/rules/simulate.js';
import { MAINTENANCE_RULE, type MaintenanceState } from '../../core/rules/maintenance/maintenance-rule.js';
import { textKey } from '../../core/rules/maintenance/alert.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { formatAdjustments, formatPreview, previewDepreciation, resolvePeriod } from './depreciation.js';
import { postUsage } from '../../engine/tasks/usage-posting.js';
import { checkCompletionMeter, checkKnownWorkOrder, checkNotAlreadyClosed, checkNotBeforeLastChange, completionEvent, malformedKeyHint, parseAtOption, parseMeterOption, formatMaintenanceStatus, loadMaintenanceStatus, loadWorkOrderKnowledge, maintenanceCsv, onlyDue, parseOpenWorkOrdersCell, stateCell, type AssetMaintenance } from './maintenance.js';
import type { WorkOrderRow } from '../../core/rules/maintenance/status.js';
import { parse } from 'csv-parse/sync';
import type { Config } from '../../config/schema.js';
import { describeRules, describeTiming } from './rules.js';
import { describeDelivery, formatComparison, formatRulesTest, plannedZoneOf, runRulesTest, sameOutcome, thresholdGaps } from './rules-test.js';
import { checkZonesFile, formatOccupancy, loadOccupancy, locate, occupancyCsv, unknownZoneMessage } from './zones.js';

const rules: RulesConfig = rulesSchema.parse({
  allowedLateness: '1m',
  zones: { enterDwellMs: '30s', inline: [{ name: 'yard', locationCode: '1000/0001', circle: { lat: 52.5, lng: 13.4, radiusM: 200 } }] },
  maintenance: {
    thresholds: [{ name: 'overheat', sensor: 'coolantTemp', above: 95, clearBelow: 90, for: '2m', severity: 'critical' }],
    serviceIntervals: [{ name: 'service-250h', everyHours: 250, dueSoonHours: 20 }],
  },
  depreciation: { timeZone: 'Europe/Berlin' },
});

const assets: AssetWithIdentifiers[] = [
  {
    asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: { cost: '120000', salvage: '20000', expectedUnits: '10000', usefulLifeMonths: '60' } },
    identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }],
  },
  { asset: { erpAssetId: 'EQ-2', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-2', erpAssetId: 'EQ-2' }] },
];

const jsonl = [
  '# a dry run',
  '{"kind":"position","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","lat":52.5,"lng":13.4}',
  '{"kind":"sensor","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","values":{"coolantTemp":{"value":97,"unit":"°C"}}}',
  '{"kind":"sensor","assetId":"tag-1","eventTime":"2026-10-01T08:01:00Z","values":{"coolantTemp":{"value":98,"unit":"°C"}}}',
  '{"kind":"position","assetId":"tag-1","eventTime":"2026-10-01T08:01:00Z","lat":52.5,"lng":13.4}',
  '{"kind":"sensor","assetId":"tag-1","eventTime":"2026-10-01T08:02:00Z","values":{"coolantTemp":{"value":99,"unit":"°C"}}}',
  '{"kind":"sensor","assetId":"tag-9","eventTime":"2026-10-01T08:02:00Z","values":{"coolantTemp":{"value":99}}}',
  '{"kind":"sensor","assetId":"tag-1","eventTime":"2026-10-01T08:02:00Z"}',
  'not json',
  '',
].join('\n');

describe('rules test', () => {
  it('shows the deliveries each event would produce, and what the lateness window held back', async () => {
    const report = await runRulesTest({ lines: jsonl.split('\n'), rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    expect(report.lines.map((l) => [l.line, l.accepted, l.deliveries.map((d) => d.operation)])).toEqual([
      [2, true, []],
      [3, true, []],
      [4, true, []],
      [5, true, ['location.update']], // 08:00 released once 08:01 arrived (1 min lateness)
      [6, true, []],
      [7, false, []],
      [8, false, []],
      [9, false, []],
    ]);
    expect(report.lines[5]?.reason).toMatch(/tag-9/);
    expect(report.lines[6]?.reason).toBe('sensor reading has no values');
    expect(report.lines[7]?.reason).toMatch(/payload is not JSON/);
    // Held back at the end: the 08:01 and 08:02 samples: the breach held 2 minutes; the 08:01 fix dwelt 60 s.
    expect(report.flushed.map((d) => [d.operation, d.businessKey])).toEqual([
      ['location.update', 'EQ-1'],
      ['workorder.create', 'EQ-1|overheat|2026-10-01T08:00:00.000Z'],
    ]);
    expect(report.totals).toEqual({ 'location.update (state)': 2, 'workorder.create (fact)': 1 });
    const text = formatRulesTest(report);
    expect(text).toContain('line 5: position EQ-1 @ 2026-10-01T08:01:00.000Z');
    // No window to plan it into: said, not left to a missing "planned".
    expect(text).toContain('  workorder.create → erp [fact] EQ-1|overheat|2026-10-01T08:00:00.000Z: HIGH "overheat: coolantTemp 99 °C", not planned: no maintenance window for an asset without a site (rules.maintenance.windows)');
    expect(describeDelivery({ ...report.flushed[1]!, payload: { ...report.flushed[1]!.payload, site: 'BER' } })).toMatch(/, not planned: no maintenance window for site BER \(rules.maintenance.windows\)$/);
    // A planned start in the site's time as its maintenance calendar reads it, beside the UTC the ERP gets (CEST is UTC+2).
    const planned = { ...report.flushed[1]!, payload: { ...report.flushed[1]!.payload, site: 'AMS', plannedStart: '2026-10-03T04:00:00.000Z' } };
    const calendars = { '*': { timeZone: 'UTC', windows: [] }, AMS: { timeZone: 'Europe/Amsterdam', windows: [] } };
    expect(describeDelivery(planned, [], plannedZoneOf(calendars))).toMatch(/: HIGH "overheat: coolantTemp 99 °C" planned 2026-10-03 06:00 Europe\/Amsterdam \(2026-10-03T04:00:00\.000Z\)$/);
    expect(formatRulesTest({ ...report, flushed: [planned] }, plannedZoneOf(calendars))).toContain(' planned 2026-10-03 06:00 Europe/Amsterdam (2026-10-03T04:00:00.000Z)\n');
    // Another site: the default calendar's zone; no calendars at all: the UTC alone.
    expect(describeDelivery({ ...planned, payload: { ...planned.payload, site: 'BER' } }, [], plannedZoneOf(calendars))).toMatch(/ planned 2026-10-03 04:00 UTC \(2026-10-03T04:00:00\.000Z\)$/);
    expect(describeDelivery(planned, [], plannedZoneOf(undefined))).toMatch(/ planned 2026-10-03T04:00:00\.000Z$/);
    // The end as well (was: the start alone, so a window cut short showed only in --json): on the
    // start's day by its time; on another day with its date; across a spring DST change as the
    // clocks read it; without a zone, the UTC of both.
    const windowed = (start: string, end: string, site = 'AMS') => ({ ...planned, payload: { ...planned.payload, site, plannedStart: start, plannedEnd: end } });
    const zones = plannedZoneOf({ ...calendars, NYC: { timeZone: 'America/New_York', windows: [] } });
    expect(describeDelivery(windowed('2026-10-03T04:00:00.000Z', '2026-10-03T12:00:00.000Z'), [], zones)).toMatch(/ planned 2026-10-03 06:00–14:00 Europe\/Amsterdam \(2026-10-03T04:00:00\.000Z\)$/);
    expect(describeDelivery(windowed('2026-10-03T20:00:00.000Z', '2026-10-04T00:30:00.000Z'), [], zones)).toMatch(/ planned 2026-10-03 22:00–2026-10-04 02:30 Europe\/Amsterdam \(2026-10-03T20:00:00\.000Z\)$/);
    expect(describeDelivery(windowed('2026-03-08T06:30:00.000Z', '2026-03-08T07:00:00.000Z', 'NYC'), [], zones)).toMatch(/ planned 2026-03-08 01:30–03:00 America\/New_York \(2026-03-08T06:30:00\.000Z\)$/);
    expect(describeDelivery(windowed('2026-10-03T04:00:00.000Z', '2026-10-03T12:00:00.000Z'), [], plannedZoneOf(undefined))).toMatch(/ planned 2026-10-03T04:00:00\.000Z–2026-10-03T12:00:00\.000Z$/);
    expect(text).toContain('  location.update → erp [state] EQ-1: location 1000/0001 at {"lat":52.5,"lng":13.4}');
    // A fixed reader's zone sighting carries no coordinates: said so, not "at null".
    const sighting = { ...report.flushed[0]!, payload: { ...report.flushed[0]!.payload, coordinates: null } };
    expect(describeDelivery(sighting)).toBe('location.update → erp [state] EQ-1: location 1000/0001 from a zone sighting (no coordinates)');
    expect(describeDelivery(sighting, ['2026-10-01T09:00:00.000Z'])).toMatch(/from a zone sighting \(no coordinates\), the sighting of 2026-10-01T08:01:00.000Z$/);
    // A meter reading after a declared replacement is shown whole: its meterResetAt is what tells it from a meter gone backwards.
    const replaced = { erpAssetId: 'EQ-1', operatingHours: 2.5, idleHours: 0.75, odometerKm: 30040, readingTime: '2026-10-01T11:00:00.000Z', unit: 'h', meterResetAt: '2026-10-01T09:00:00.000Z', odometerResetAt: '2026-10-01T09:00:00.000Z' };
    const reading = { destination: 'erp', operation: 'meter.record', kind: 'state' as const, businessKey: 'EQ-1', erpAssetId: 'EQ-1', eventTime: Date.parse('2026-10-01T11:00:00Z'), payload: replaced };
    expect(describeDelivery(reading)).toBe(`meter.record → erp [state] EQ-1: ${JSON.stringify(replaced)}`);
    // Any other payload past 120 characters is cut, and says so.
    expect(describeDelivery({ ...reading, operation: 'asset.update' })).toBe(`asset.update → erp [state] EQ-1: ${JSON.stringify(replaced).slice(0, 119)}…`);
    expect(text).toContain('line 9: rejected: payload is not JSON');
    expect(text).toContain('\n8 event line(s): 5 accepted, 3 rejected\n');
    expect(text.trimEnd().endsWith('nothing was stored or sent')).toBe(true);
  });

  it('says of a line sent again exactly which line it repeats, as the rules drop it as a duplicate (not late)', async () => {
    const sample = '{"kind":"sensor","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","values":{"coolantTemp":{"value":97,"unit":"°C"}}}';
    const events = [
      sample,
      '{"kind":"sensor","assetId":"tag-1","eventTime":"2026-10-01T08:03:00Z","values":{"coolantTemp":{"value":80,"unit":"°C"}}}',
      sample, // resent after it was decided on: a duplicate
      // The same time with another value: no resend, but late (not newer than what was decided on).
      '{"kind":"sensor","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","values":{"coolantTemp":{"value":96,"unit":"°C"}}}',
      `[${sample}]`, // in a list: its item 0
    ];
    const report = await runRulesTest({ lines: events, rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    expect(report.lines.map((l) => [l.line, l.item, l.duplicateOf, l.late])).toEqual([
      [1, undefined, undefined, undefined],
      [2, undefined, undefined, undefined],
      [3, undefined, 'line 1', undefined],
      [4, undefined, undefined, ['maintenance']],
      [5, 0, 'line 1', undefined],
    ]);
    const text = formatRulesTest(report);
    expect(text).toContain('line 3: sensor EQ-1 @ 2026-10-01T08:00:00.000Z (no deliveries)\n  duplicate of line 1: dropped by the rules (the same event sent again; not counted as late)\n');
    expect(text).not.toMatch(/line 4: .*\n {2}duplicate/);
    expect(report.counts.late).toBe(1);
  });

  it('names a duplicate as the rules decide it: one resent however many events back while they hold it, and not a resend they drop as late', async () => {
    // Samples 5 s apart, all within the minute of lateness: the rules hold all eleven when the first is sent again.
    const sample = (s: number, value = 80) => `{"kind":"sensor","assetId":"tag-1","eventTime":"${new Date(Date.parse('2026-10-01T08:00:00Z') + s * 1000).toISOString()}","values":{"coolantTemp":{"value":${value},"unit":"°C"}}}`;
    const held = Array.from({ length: 11 }, (_, i) => sample(i * 5, 80 + i));
    const report = await runRulesTest({ lines: [...held, held[0]!], rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    // Ten other events came between: more than the last few a command could remember by itself.
    expect(report.lines.map((l) => [l.line, l.duplicateOf, l.late])).toEqual([...held.map((_, i) => [i + 1, undefined, undefined]), [12, 'line 1', undefined]]);
    expect(formatRulesTest(report)).toContain('line 12: sensor EQ-1 @ 2026-10-01T08:00:00.000Z (no deliveries)\n  duplicate of line 1: dropped by the rules');
    // Once the minute has passed and more came, the first sample is decided and no longer the newest: sent again, it is late, not a duplicate.
    const later = await runRulesTest({ lines: [...held, sample(120), sample(130), held[0]!], rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    expect(later.lines.at(-1)).toMatchObject({ line: 14, late: ['maintenance'] });
    expect(later.lines.at(-1)?.duplicateOf).toBeUndefined();
    // An event no rule looks at (a fault, with no alert rule configured) sent twice: no rule dropped it.
    const fault = '{"kind":"alert","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","reason":"low oil","severity":"critical"}';
    const unlooked = await runRulesTest({ lines: [fault, fault], rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    expect(unlooked.lines.map((l) => [l.line, l.accepted, l.duplicateOf])).toEqual([[1, true, undefined], [2, true, undefined]]);
  });

  it('a duplicate whose original came before the input (the stored state) is named as an earlier event', async () => {
    const sample = '{"kind":"sensor","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","values":{"coolantTemp":{"value":97,"unit":"°C"}}}';
    const input = { rules: createRules(rules), assets, defaultDestination: 'erp', now: Date.parse('2026-10-02T00:00:00Z'), flush: false };
    const first = await runRulesTest({ ...input, lines: [sample], states: new Map() });
    expect(first.lines[0]?.duplicateOf).toBeUndefined();
    // The service took it (held for the lateness): the state it stored.
    const taken: CanonicalEvent = { kind: 'sensor', source: 't', ids: [{ type: 'tag', value: 'tag-1' }], eventTime: Date.parse('2026-10-01T08:00:00Z'), receivedAt: 0, values: { coolantTemp: { value: 97, unit: '°C' } } };
    const stored = simulateRules(input.rules, [{ event: taken, asset: (assets[0] as AssetWithIdentifiers).asset, destination: 'erp' }]).states;
    const again = await runRulesTest({ ...input, lines: [sample], states: stored });
    expect(again.lines.map((l) => [l.line, l.duplicateOf])).toEqual([[1, 'an earlier event']]);
  });

  it('--compare runs the same events through a second rule set and says what the change would change', async () => {
    const proposed = rulesSchema.parse({
      allowedLateness: '1m',
      zones: { enterDwellMs: '30s', inline: [{ name: 'yard', locationCode: '1000/0002', circle: { lat: 52.5, lng: 13.4, radiusM: 200 } }] },
      maintenance: {
        thresholds: [{ name: 'overheat', sensor: 'coolantTemp', above: 95, clearBelow: 90, for: '3m', severity: 'critical' }], // 3 min: the 2-min breach no longer counts
        serviceIntervals: [{ name: 'service-250h', everyHours: 250, dueSoonHours: 20 }],
      },
      depreciation: { timeZone: 'Europe/Berlin' },
    });
    const input = { lines: jsonl.split('\n'), rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z'), brief: true };
    const report = await runRulesTest({ ...input, compare: createRules(proposed) });
    expect(report.lines).toEqual([]); // only the comparison is shown: lines are counted, not kept
    expect(report.counts).toEqual({ lines: 8, accepted: 5, rejected: 3, shown: 0, late: 0 });
    const c = report.comparison;
    expect(c?.onlyCurrent.map((d) => d.businessKey)).toEqual(['EQ-1|overheat|2026-10-01T08:00:00.000Z']);
    expect(c?.onlyProposed).toEqual([]);
    expect(c?.states.map((st) => [st.businessKey, st.current?.warehouseLocation, st.proposed?.warehouseLocation])).toEqual([['EQ-1', '1000/0001', '1000/0002']]);
    expect(c?.totals['workorder.create (fact)']).toEqual({ current: 1, proposed: 0 });
    // The report of the current rules is the one a run without --compare gives.
    const alone = await runRulesTest(input);
    expect(report.totals).toEqual(alone.totals);
    expect(report.flushed).toEqual(alone.flushed);
    const text = formatComparison(report, { current: 'assetbridge.yaml', proposed: 'proposed.yaml' });
    expect(text).toContain('facts only with assetbridge.yaml (1):\n  workorder.create → erp [fact] EQ-1|overheat|2026-10-01T08:00:00.000Z: HIGH');
    expect(text).toContain('state updates that would end on another value (1):\n  location.update → erp EQ-1: warehouseLocation "1000/0001" → "1000/0002"');
    expect(text).toMatch(/workorder\.create \(fact\) +1 +0 +-1/);

    // The same rules on both sides: nothing to report.
    const same = await runRulesTest({ ...input, compare: createRules(rules) });
    expect(formatComparison(same, { current: 'a.yaml', proposed: 'b.yaml' })).toContain('no difference: both would deliver the same (1 fact(s) alike)');

    // Lines the rules drop as late (a day the stored state already decided) compare alike under any
    // rules: the summary says how many, and how to start from nothing.
    const late = jsonl.split('\n').filter((l) => l.includes('"assetId":"tag-1"') && l.includes('coolantTemp'));
    const behind = await runRulesTest({ ...input, lines: [...late, late[0]!.replace('08:00:00Z', '07:00:00Z')], compare: createRules(proposed) });
    expect(behind.counts.late).toBe(1);
    expect(formatComparison(behind, { current: 'a.yaml', proposed: 'b.yaml' })).toContain('1 line(s) dropped as late by the rules (not newer than what they had already decided on; when that is the stored state, the service ran them: use --fresh to start from empty state)');
    // Run from empty state: the input decided it, and --fresh would change nothing.
    const fresh = formatComparison(behind, { current: 'a.yaml', proposed: 'b.yaml' }, {}, { fromStoredState: false });
    expect(fresh).toContain("1 line(s) dropped as late by the rules (not newer than what they had already decided on from the input's earlier lines: more than rules.allowedLateness behind a newer event of the asset, or a repeat of one decided; each such line says by which rule)");
    expect(fresh).not.toContain('--fresh');
  });

  it('--compare names the fields of a changed work order that differ, inside its trigger too, not the same cut-off text twice', async () => {
    const withLead = (dueSoonHours: number) => createRules(rulesSchema.parse({ allowedLateness: '1m', maintenance: { serviceIntervals: [{ name: 'service-250h', everyHours: 250, dueSoonHours }] } }));
    const lines = [
      '{"kind":"meter","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","operatingHours":200}',
      '{"kind":"meter","assetId":"tag-1","eventTime":"2026-10-04T08:00:00Z","operatingHours":260}',
    ];
    const report = await runRulesTest({ lines, rules: withLead(20), compare: withLead(10), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-05T00:00:00Z'), flush: true });
    // Due (not due soon) under both: the work order differs only in the lead its trigger records.
    expect(report.comparison?.changed.map((f) => [f.current.businessKey, f.fields])).toEqual([['EQ-1|service-250h|250h@b0', ['trigger']]]);
    const text = formatComparison(report, { current: 'a.yaml', proposed: 'b.yaml' });
    expect(text).toContain('facts both would send, with another payload (1):\n  workorder.create → erp EQ-1|service-250h|250h@b0: trigger.dueSoonHours 20 → 10\n');
  });

  it('--trace shows what each line changed in one asset\'s rule state, and keeps those lines when brief', async () => {
    const input = { lines: jsonl.split('\n'), rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z'), brief: true };
    const report = await runRulesTest({ ...input, trace: 'tag-1' });
    const line = (n: number) => report.lines.find((l) => l.line === n);
    expect(line(2)?.trace).toEqual(['held for the lateness: location 1']); // the first fix waits for the lateness
    expect(line(4)?.trace).toContain('maintenance.thresholds.overheat.phase: (none) → pending');
    expect(line(4)?.deliveries).toEqual([]); // kept although brief: it shows why nothing fired yet
    expect(report.traced?.erpAssetId).toBe('EQ-1');
    expect(report.traced?.atEnd).toContain('maintenance.thresholds.overheat.phase: pending → active');
    const text = formatRulesTest(report);
    expect(text).toContain('  · maintenance.thresholds.overheat.phase: (none) → pending');
    expect(text).toContain('\nEQ-1 at the end of the input:\n');
    await expect(runRulesTest({ ...input, trace: 'nope' })).rejects.toThrow("--trace nope: no asset has that ERP id or identifier; see 'assetbridge assets list'");
    // Without --trace, nothing of it.
    expect((await runRulesTest(input)).lines.some((l) => l.trace)).toBe(false);
  });

  it('--trace says when a gap between samples longer than maxGap broke a breach (a sensor reporting every 15 min never holds one), and not when a sample that did not breach ended it', async () => {
    const input = { rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z'), trace: 'EQ-1', traceThresholds: rules.maintenance?.thresholds ?? [] };
    const temp = (t: string, v: number) => `{"kind":"sensor","assetId":"tag-1","eventTime":"2026-10-01T${t.length === 5 ? `${t}:00` : t}Z","values":{"coolantTemp":{"value":${v}}}}`;
    // Hot all along, but 15 min apart (maxGap 10 min): each sample starts the breach again, none holds 2 min.
    const slow = await runRulesTest({ ...input, lines: [temp('08:00', 97), temp('08:15', 97), temp('08:30', 97), temp('08:45', 97)] });
    expect(slow.lines.flatMap((l) => l.deliveries)).toEqual([]);
    const gaps = slow.lines.flatMap((l) => l.trace ?? []).filter((t) => t.startsWith('threshold overheat:'));
    expect(gaps[0]).toBe(
      'threshold overheat: 15 min since its previous sample (2026-10-01T08:00:00.000Z), more than maxGap (10 min): the breach since 2026-10-01T08:00:00.000Z was broken, and a breach starts anew at 2026-10-01T08:15:00.000Z; a sensor that reports less often than maxGap never holds one for `for` (2 min): raise maxGap',
    );
    expect(gaps).toHaveLength(2); // the 08:45 sample is still held for the lateness (1 min) when the input ends
    // A sample that did not breach in between, decided in the same step as the next breach (08:30 releases
    // 08:15 and 08:15:30 together): the breach since 08:00 ended at 08:15, no gap is claimed.
    const cooled = await runRulesTest({ ...input, lines: [temp('08:00', 97), temp('08:15', 80), temp('08:15:30', 97), temp('08:30', 97)] });
    expect(cooled.lines.flatMap((l) => l.trace ?? [])).toContain('maintenance.thresholds.overheat.start: 2026-10-01T08:00:00.000Z → 2026-10-01T08:15:30.000Z');
    expect(cooled.lines.flatMap((l) => l.trace ?? []).some((t) => t.startsWith('threshold overheat:'))).toBe(false);
    // A rule with no `for` (its episode ended by the gap, the new breach waiting for the cooldown): the gap, without the advice on `for`.
    const instant = { ...rules.maintenance!.thresholds[0]!, durationMs: 0 };
    const T = Date.parse('2026-10-01T08:00:00Z');
    const before = { maintenance: { thresholds: { overheat: { phase: 'active', start: T, last: T + 60_000, firedAt: T } } } };
    const after = { maintenance: { thresholds: { overheat: { phase: 'pending', start: T + 20 * 60_000, last: T + 20 * 60_000, peak: 97, firedAt: T } } } };
    expect(thresholdGaps([instant], before, after)).toEqual([
      'threshold overheat: 19 min since its previous sample (2026-10-01T08:01:00.000Z), more than maxGap (10 min): the episode since 2026-10-01T08:00:00.000Z ended, and a breach starts anew at 2026-10-01T08:20:00.000Z',
    ]);
    // Without the thresholds given, nothing of it.
    expect((await runRulesTest({ ...input, traceThresholds: undefined, lines: [temp('08:00', 97), temp('08:15', 97), temp('08:30', 97)] })).lines.flatMap((l) => l.trace ?? []).some((t) => t.startsWith('threshold'))).toBe(false);
  });

  it('--trace with the zones says where each fix of the asset is: inside which zones, in whose hysteresis band', async () => {
    const input = { rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z'), trace: 'EQ-1', traceZones: zoneTrackingOf(rules)?.index };
    const fix = (t: string, lat: number, lng: number) => `{"kind":"position","assetId":"tag-1","eventTime":"2026-10-01T${t}Z","lat":${lat},"lng":${lng}}`;
    // The yard is a 200 m circle: its centre; 210 m north of it (in the 25 m band); far away (nothing said).
    const report = await runRulesTest({ ...input, lines: [fix('08:00:00', 52.5, 13.4), fix('08:00:10', 52.50189, 13.4), fix('08:00:20', 52.6, 13.4)] });
    const traced = (n: number) => report.lines.find((l) => l.line === n)?.trace ?? [];
    expect(traced(1)).toContain("this line's fix (2026-10-01T08:00:00.000Z): inside yard");
    expect(traced(2)).toContain("this line's fix (2026-10-01T08:00:10.000Z): inside no zone; in the hysteresis band (rules.zones.hysteresisM) of yard: not left from there, nor entered");
    expect(traced(3).some((t) => t.startsWith("this line's fix"))).toBe(false);
  });

  it('shows the inventory counts the events leave, counted as the inventory task counts, with a note that they are no event delivery; --compare shows those that differ', async () => {
    const inv = (radiusM: number) =>
      rulesSchema.parse({ allowedLateness: '0s', zones: { inline: [{ name: 'yard', locationCode: '1000/0001', circle: { lat: 52.5, lng: 13.4, radiusM } }] }, inventory: { skuAttribute: 'sku' } });
    const pallet = (id: string, attributes: Record<string, string>): AssetWithIdentifiers => ({ asset: { erpAssetId: id, erpModule: 'inventory', attributes }, identifiers: [{ type: 'tag', value: `t-${id}`, erpAssetId: id }] });
    const pallets = [pallet('P-1', { sku: 'PAL-40', quantity: '40' }), pallet('P-2', { sku: 'PAL-40' }), pallet('P-3', { sku: 'PAL-40', quantity: 'ten' }), ...assets];
    const sightings = ['P-1', 'P-2', 'P-3'].map((id, i) => `{"kind":"position","assetId":"t-${id}","eventTime":"2026-10-01T08:0${i}:00Z","lat":${i === 1 ? 52.5005 : 52.5},"lng":13.4}`);
    const counting = { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 86_400_000 };
    const input = { lines: sightings, rules: createRules(inv(200)), assets: pallets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z'), inventory: counting };
    const report = await runRulesTest(input);
    // P-3's quantity is no whole number: left out, as the task leaves it out.
    expect(report.inventory).toEqual({ at: Date.parse('2026-10-01T08:02:00Z'), touched: 3, cells: [{ destination: 'erp', location: '1000/0001', sku: 'PAL-40', quantity: 41, items: 2 }] });
    const text = formatRulesTest(report);
    expect(text).toContain('inventory counts the events leave, as the inventory task would make them at the end of the input (2026-10-01T08:02:00.000Z;');
    expect(text).toMatch(/erp +1000\/0001 +PAL-40 +41 +2/);
    expect(text).toContain("(inventory counts are no delivery of an event: the running service's inventory task sends the counts that changed every rules.inventory.changesEvery");
    // Without inventory configured, or no item touched: nothing of it.
    expect((await runRulesTest({ ...input, inventory: undefined })).inventory).toBeUndefined();
    expect(formatRulesTest(await runRulesTest({ ...input, lines: [jsonl.split('\n')[1] as string] }))).not.toContain('inventory counts');
    // A zone of 20 m leaves P-2 (55 m away) outside it: one count differs, and --exit-code would say so.
    const compared = await runRulesTest({ ...input, compare: createRules(inv(20)), compareInventory: counting });
    expect(compared.inventoryComparison).toEqual({ changed: [{ destination: 'erp', location: '1000/0001', sku: 'PAL-40', current: 41, proposed: 40 }], same: 0 });
    expect(formatComparison(compared, { current: 'a.yaml', proposed: 'b.yaml' })).toContain('inventory counts the events leave that differ (counted at the end of the input) (1):\n  erp 1000/0001 PAL-40: 41 → 40');
    expect(sameOutcome(compared)).toBe(false);
    const alike = await runRulesTest({ ...input, compare: createRules(inv(200)), compareInventory: counting });
    expect(alike.inventoryComparison).toEqual({ changed: [], same: 1 });
    expect(sameOutcome(alike)).toBe(true);
  });

  it('counts the items of the stored state under their zone\'s location code as configured now, as the inventory task does; --compare of a changed code shows the move', async () => {
    const withCode = (locationCode: string) =>
      rulesSchema.parse({ allowedLateness: '0s', zones: { inline: [{ name: 'yard', locationCode, circle: { lat: 52.5, lng: 13.4, radiusM: 200 } }] }, inventory: { skuAttribute: 'sku' } });
    const old = withCode('OLD-1');
    const now = withCode('1000/0001');
    const pallet = (id: string, attributes: Record<string, string>): AssetWithIdentifiers => ({ asset: { erpAssetId: id, erpModule: 'inventory', attributes }, identifiers: [{ type: 'tag', value: `t-${id}`, erpAssetId: id }] });
    const pallets = [pallet('P-1', { sku: 'PAL-40', quantity: '40' }), pallet('P-2', { sku: 'PAL-40' })];
    // The service counted P-1 in the yard when its code was OLD-1; the code has changed since.
    const seen = { kind: 'position', source: 't', ids: [{ type: 'tag', value: 't-P-1' }], eventTime: Date.parse('2026-10-01T07:00:00Z'), receivedAt: Date.parse('2026-10-01T07:00:00Z'), lat: 52.5, lng: 13.4 } as unknown as CanonicalEvent;
    const p1 = { asset: (pallets[0] as AssetWithIdentifiers).asset, destination: 'erp' };
    const sighted = simulateRules(createRules(old), [{ event: seen, ...p1 }]).states;
    const stored = flushRules(createRules(old), sighted, new Map([['P-1', p1]]), seen.eventTime, Number.MAX_SAFE_INTEGER).states; // settled, as the service's idle watermark does
    const counting = { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 86_400_000 };
    const zonesOf = (r: RulesConfig) => zoneTrackingOf(r)?.index;
    const input = { lines: ['{"kind":"position","assetId":"t-P-2","eventTime":"2026-10-01T08:00:00Z","lat":52.5,"lng":13.4}'], assets: pallets, defaultDestination: 'erp', states: stored, now: Date.parse('2026-10-02T00:00:00Z') };
    const report = await runRulesTest({ ...input, rules: createRules(now), inventory: { ...counting, zones: zonesOf(now) } });
    expect(report.inventory?.cells).toEqual([{ destination: 'erp', location: '1000/0001', sku: 'PAL-40', quantity: 41, items: 2 }]);
    const compared = await runRulesTest({ ...input, rules: createRules(old), inventory: { ...counting, zones: zonesOf(old) }, compare: createRules(now), compareInventory: { ...counting, zones: zonesOf(now) } });
    expect(compared.inventoryComparison?.changed).toEqual([
      { destination: 'erp', location: '1000/0001', sku: 'PAL-40', current: 0, proposed: 41 },
      { destination: 'erp', location: 'OLD-1', sku: 'PAL-40', current: 41, proposed: 0 },
    ]);
  });

  it('counts an item of the stored state that the input does not touch as the service would once it is silent: what it holds is decided, its zone entry under way completes', async () => {
    const yard = rulesSchema.parse({ allowedLateness: '30s', zones: { inline: [{ name: 'yard', locationCode: '1000/0001', circle: { lat: 52.5, lng: 13.4, radiusM: 200 } }] }, inventory: { skuAttribute: 'sku' } });
    const pallet = (id: string, attributes: Record<string, string>): AssetWithIdentifiers => ({ asset: { erpAssetId: id, erpModule: 'inventory', attributes }, identifiers: [{ type: 'tag', value: `t-${id}`, erpAssetId: id }] });
    const pallets = [pallet('P-1', { sku: 'PAL-40', quantity: '40' }), pallet('P-2', { sku: 'PAL-40' })];
    // The stored state (a checkpoint of the running service) holds P-1's sighting in the yard, not yet decided.
    const seen = { kind: 'position', source: 't', ids: [{ type: 'tag', value: 't-P-1' }], eventTime: Date.parse('2026-10-01T07:59:50Z'), receivedAt: Date.parse('2026-10-01T07:59:50Z'), lat: 52.5, lng: 13.4 } as unknown as CanonicalEvent;
    const stored = simulateRules(createRules(yard), [{ event: seen, asset: (pallets[0] as AssetWithIdentifiers).asset, destination: 'erp' }]).states;
    const counting = { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 86_400_000, zones: zoneTrackingOf(yard)?.index };
    const input = { lines: ['{"kind":"position","assetId":"t-P-2","eventTime":"2026-10-01T08:00:00Z","lat":52.5,"lng":13.4}'], rules: createRules(yard), assets: pallets, defaultDestination: 'erp', states: stored, now: Date.parse('2026-10-02T00:00:00Z'), inventory: counting };
    const report = await runRulesTest(input);
    expect(report.inventory?.cells).toEqual([{ destination: 'erp', location: '1000/0001', sku: 'PAL-40', quantity: 41, items: 2 }]);
    // What deciding it delivers is not the input's doing: not among what the input would deliver.
    expect(report.flushed.every((d) => d.erpAssetId !== 'P-1')).toBe(true);
  });

  it('rules list says how the rules treat time', () => {
    expect(describeTiming(rules)).toBe('events wait 1 min of event time for late ones (rules.allowedLateness); an asset silent for 2 min has what they hold decided, zone dwell included (rules.idleAfter)');
    expect(describeTiming(rulesSchema.parse({ allowedLateness: 0 }))).toBe('events are decided as they arrive (rules.allowedLateness 0)');
    expect(describeTiming(rulesSchema.parse({ allowedLateness: '10m', idleAfter: 0 }))).toBe("events wait 10 min of event time for late ones (rules.allowedLateness); a silent asset's held events wait for its next one (rules.idleAfter 0)");
  });

  it('at the end of the input, treats each asset as the service treats one that falls silent: a zone entry under way completes', async () => {
    const parked = [
      '{"kind":"position","assetId":"tag-2","eventTime":"2026-10-01T08:00:00Z","lat":52.6,"lng":13.4}',
      '{"kind":"position","assetId":"tag-2","eventTime":"2026-10-01T08:05:00Z","lat":52.5,"lng":13.4}', // into the yard, then nothing
    ];
    const report = await runRulesTest({ lines: parked, rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    expect(report.flushed.map((d) => [d.operation, d.payload.warehouseLocation, d.payload.lastSeen])).toEqual([['location.update', '1000/0001', '2026-10-01T08:05:00.000Z']]);
    const kept = await runRulesTest({ lines: parked, rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z'), flush: false });
    expect(kept.flushed).toEqual([]);
  });

  it('decides a long input in chunks exactly as one run over it would, and --brief keeps only the lines that matter', async () => {
    // 2,500 lines (chunks of 1,000): two assets, a fix and a sensor sample a minute, engine heat
    // crossing the threshold now and then, one late fix after the first chunk, a bad line in the third.
    const start = Date.parse('2026-10-01T00:00:00Z');
    const lines: string[] = [];
    for (let i = 0; i < 1250; i++) {
      const tag = `tag-${1 + (i % 2)}`;
      const t = new Date(start + Math.floor(i / 2) * 60_000).toISOString();
      if (i % 2 === 0) lines.push(JSON.stringify({ kind: 'position', assetId: tag, eventTime: t, lat: 52.5 + (i % 50 < 25 ? 0 : 0.01), lng: 13.4 }));
      else lines.push(JSON.stringify({ kind: 'sensor', assetId: tag, eventTime: t, values: { coolantTemp: { value: i % 300 < 20 ? 99 : 80 } } }));
      lines.push(JSON.stringify({ kind: 'meter', assetId: tag, eventTime: t, operatingHours: 200 + i / 10 }));
    }
    lines.splice(1200, 0, JSON.stringify({ kind: 'position', assetId: 'tag-1', eventTime: '2026-09-30T00:00:00Z', lat: 52.5, lng: 13.4 }));
    lines.splice(2100, 0, '{"kind":');
    const now = Date.parse('2026-10-03T00:00:00Z');
    const report = await runRulesTest({ lines, rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now });
    expect(report.counts).toEqual({ lines: 2502, accepted: 2501, rejected: 1, shown: 2502, late: 1 });
    expect(report.lines).toHaveLength(2502);

    // The same events through the rules in one run, and the same flush at the end.
    const identity = assets.map((a) => a.asset);
    const steps = lines.flatMap((l) => {
      let o: { assetId: string } & Record<string, unknown>;
      try {
        o = JSON.parse(l) as typeof o;
      } catch {
        return [];
      }
      const asset = identity[Number(o.assetId.slice(4)) - 1] as (typeof identity)[number];
      const { assetId, ...rest } = o;
      const event = { ...rest, ids: { tag: assetId }, source: 'cli', receivedAt: now, eventTime: Date.parse(o.eventTime as string), raw: o } as unknown as CanonicalEvent;
      return [{ event, asset, destination: 'erp' }];
    });
    const once = simulateRules(createRules(rules), steps, { now });
    const seen = new Map(identity.map((a) => [a.erpAssetId, { asset: a, destination: 'erp' }]));
    const flushed = flushRules(createRules(rules), once.states, seen, now).deliveries;
    const keys = (ds: readonly { operation: string; businessKey: string }[]) => ds.map((d) => `${d.operation} ${d.businessKey}`);
    expect(keys(report.lines.flatMap((l) => l.deliveries))).toEqual(keys(once.perStep.flat()));
    expect(keys(report.flushed)).toEqual(keys(flushed));
    expect(once.perStep.flat().filter((d) => d.operation === 'workorder.create').length).toBeGreaterThan(1);
    expect(report.lines.find((l) => l.line === 1201)?.late).toEqual(['location']);

    const brief = await runRulesTest({ lines, rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now, brief: true });
    expect(brief.counts).toEqual({ ...report.counts, shown: brief.lines.length });
    expect(brief.totals).toEqual(report.totals);
    expect(brief.lines).toEqual(report.lines.filter((l) => !l.accepted || l.deliveries.length > 0 || l.late));
    // Printed as decided (onLine): the same lines, none kept in the report.
    const printed: typeof brief.lines[number][] = [];
    const streamed = await runRulesTest({ lines, rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now, brief: true, onLine: (l) => printed.push(l) });
    expect(printed).toEqual(brief.lines);
    expect(streamed.lines).toEqual([]);
    expect(streamed.counts).toEqual(brief.counts);
    expect(brief.lines.length).toBeLessThan(report.lines.length / 2);
    expect(formatRulesTest(brief)).toContain(`2502 event line(s): 2501 accepted, 1 rejected (${2502 - brief.lines.length} line(s) without deliveries not shown)`);
  });

  it('says which rules dropped an event as late', async () => {
    const late = [
      '{"kind":"position","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","lat":52.5,"lng":13.4}',
      '{"kind":"position","assetId":"tag-1","eventTime":"2026-10-01T08:05:00Z","lat":52.5,"lng":13.4}',
      '{"kind":"position","assetId":"tag-1","eventTime":"2026-09-30T08:00:00Z","lat":52.5,"lng":13.4}',
    ].join('\n');
    const report = await runRulesTest({ lines: late.split('\n'), rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    expect(report.lines.map((l) => l.late)).toEqual([undefined, undefined, ['location']]);
    expect(formatRulesTest(report)).toContain('line 3: position EQ-1 @ 2026-09-30T08:00:00.000Z (no deliveries)\n  late: dropped by location');
  });

  it('without flushing, shows only what was decided by the end of the input', async () => {
    const report = await runRulesTest({ lines: jsonl.split('\n'), rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), flush: false });
    expect(report.flushed).toEqual([]);
    expect(report.totals).toEqual({ 'location.update (state)': 1 });
  });

  it('lists the compiled rules', () => {
    expect(describeRules(rules).map((r) => r[0])).toEqual(['RULE', 'location', 'zones', 'overheat', 'service-250h', 'depreciation', 'meter']);
    const spikes = rulesSchema.parse({ maintenance: { thresholds: [{ name: 'spikes', sensor: 'hydPressure', above: 250, clearBelow: 240, repeat: { count: 3, within: '1h' } }] } });
    expect(describeRules(spikes).find((r) => r[0] === 'spikes')?.[2]).toBe('hydPressure above 250 for 0 s, 3 times within 1 h, clears below 240, cooldown 1 h');
  });

  it('lists meter sync, which runs whenever meters arrive: limited to the assets rules.meters.appliesTo picks, or off', () => {
    const meter = (meters?: object) => describeRules(rulesSchema.parse(meters ? { meters } : {})).find((r) => r[0] === 'meter');
    expect(meter()).toEqual(['meter', 'meter sync', 'hour meter or odometer reading changed, past meter hygiene', 'meter.record']);
    expect(meter({ appliesTo: { erpModules: ['pm'] } })?.[2]).toMatch(/^hour meter or odometer reading changed, past meter hygiene \(.*pm.*\)$/);
    expect(meter({ enabled: false })).toEqual(['meter', 'meter sync', 'off (rules.meters.enabled: false): meter hygiene still judges the readings, none is sent', '-']);
  });

  it('lists a threshold with the unit it is in', () => {
    const hot = rulesSchema.parse({ maintenance: { thresholds: [{ name: 'hot', sensor: 'engineTemp', unit: '°C', above: 95, clearBelow: 90 }] } });
    expect(describeRules(hot).find((r) => r[0] === 'hot')?.[2]).toBe('engineTemp above 95 °C for 0 s, clears below 90 °C, cooldown 1 h');
  });

  it('says which fix a location update is of, when the line that decided it is another (the lateness held it)', async () => {
    const lines = ['{"kind":"position","assetId":"tag-2","eventTime":"2026-10-01T08:00:00Z","lat":52.6,"lng":13.4}', '{"kind":"position","assetId":"tag-2","eventTime":"2026-10-01T08:01:00Z","lat":52.6,"lng":13.4}'];
    const report = await runRulesTest({ lines, rules: createRules(rules), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    const text = formatRulesTest(report);
    // Line 2 released line 1's fix (1 min lateness).
    expect(text).toContain('line 2: position EQ-2 @ 2026-10-01T08:01:00.000Z\n  location.update → erp [state] EQ-2: location (none) at {"lat":52.6,"lng":13.4}, the fix of 2026-10-01T08:00:00.000Z\n');
  });

  it('says durations in the units they are written in (h, min, s), not thousands of seconds', () => {
    const c = rulesSchema.parse({ location: { heartbeatMs: '1h' }, zones: { enterDwellMs: '30s', exitDwellMs: '2m', inline: [{ name: 'y', locationCode: 'Y', circle: { lat: 1, lng: 1, radiusM: 5 } }] }, maintenance: { alerts: [{ name: 'faults', cooldown: '24h' }] } });
    const rows = describeRules(c);
    expect(rows.find((r) => r[0] === 'location')?.[2]).toBe('moved > 100 m, zone change, or every 1 h');
    expect(rows.find((r) => r[0] === 'zones')?.[2]).toBe('1 zone(s), enter after 30 s, leave after 2 min beyond 25 m');
    expect(rows.find((r) => r[0] === 'faults')?.[2]).toBe('critical alert, any code; again after 24 h quiet');
  });

  it("names an alert rule's codeMap; rules test shows a fault two feeds spell apart as one work order, by the code as compared", async () => {
    const c = rulesSchema.parse({ maintenance: { alerts: [{ name: 'faults', minSeverity: 'warning', codes: ['SPN*'], codeMap: { P0217: 'SPN110-FMI0' } }] } });
    expect(describeRules(c).find((r) => r[0] === 'faults')?.[2]).toBe('warning or critical alert, codes SPN* (P0217 as SPN110-FMI0); again after 24 h quiet');
    const alert = (t: string, code: string) => JSON.stringify({ kind: 'alert', assetId: 'tag-1', eventTime: `2026-10-01T${t}Z`, severity: 'critical', reason: 'coolant hot', code });
    const report = await runRulesTest({ lines: [alert('08:00:00', 'spn110-fmi0'), alert('08:05:00', ' SPN110-FMI0'), alert('08:10:00', 'p0217')], rules: createRules(c), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
    const opened = report.lines.flatMap((l) => l.deliveries.map((d) => d.businessKey));
    expect(opened).toEqual(['EQ-1|faults|SPN110-FMI0@2026-10-01T08:00:00.000Z']);
    expect(formatRulesTest(report)).toContain('SPN110-FMI0: coolant hot');
  });

  it('an alert rule whose priority comes from the reports: rules list says a critical report raises it; rules test (and --trace) shows the workorder.update', async () => {
    const c = rulesSchema.parse({ maintenance: { alerts: [{ name: 'faults', minSeverity: 'warning', cooldown: '1h' }] } });
    expect(describeRules(c).find((r) => r[0] === 'faults')?.[3]).toBe('workorder.create (priority from the alert; workorder.update HIGH when it turns critical)');
    const alert = (t: string, severity: string) => JSON.stringify({ kind: 'alert', assetId: 'tag-1', eventTime: `2026-10-01T${t}Z`, severity, reason: 'oil pressure low', code: 'SPN100-FMI1' });
    const input = { lines: [alert('08:00:00', 'warning'), alert('08:05:00', 'critical'), alert('08:10:00', 'critical')], rules: createRules(c), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') };
    const report = await runRulesTest({ ...input, trace: 'tag-1' });
    const key = 'EQ-1|faults|SPN100-FMI1@2026-10-01T08:00:00.000Z';
    const all = [...report.lines.flatMap((l) => l.deliveries), ...report.flushed];
    expect(all.map((d) => [d.operation, d.businessKey, d.payload.priority])).toEqual([['workorder.create', key, 'MEDIUM'], ['workorder.update', key, 'HIGH']]);
    expect(report.byRule.faults?.deliveries).toEqual({ 'workorder.create (fact)': 1, 'workorder.update (fact)': 1 });
    const text = formatRulesTest(report);
    expect(text).toContain(`workorder.update → erp [fact] ${key}: priority raised to HIGH by the critical report of SPN100-FMI1 at 2026-10-01T08:05:00.000Z`);
    // --trace: the line that raised it shows the episode's severity change.
    const raisedOn = report.lines.find((l) => l.deliveries.some((d) => d.operation === 'workorder.update'));
    expect(raisedOn?.trace?.join('\n')).toMatch(/warning → critical/);
  });

  it('rules test: a critical report of a work order the ERP reported completed before it raises nothing, and its line says why', async () => {
    const c = rulesSchema.parse({ maintenance: { alerts: [{ name: 'faults', minSeverity: 'warning', cooldown: '1h' }] } });
    const key = 'EQ-1|faults|SPN100-FMI1@2026-10-01T08:00:00.000Z';
    const alert = (t: string, severity: string, code = 'SPN100-FMI1') => JSON.stringify({ kind: 'alert', assetId: 'tag-1', eventTime: `2026-10-01T${t}Z`, severity, reason: 'oil pressure low', code });
    const status = (t: string, st: string) => JSON.stringify({ kind: 'workorder', erpAssetId: 'EQ-1', businessKey: key, status: st, eventTime: `2026-10-01T${t}Z` });
    // Another fault at 08:02 decides the 08:00 warning (allowedLateness 30 s): its work order is sent, then completed at 08:03.
    const lines = [alert('08:00:00', 'warning'), alert('08:02:00', 'warning', 'SPN200-FMI2'), status('08:03:00', 'completed'), alert('08:05:00', 'critical')];
    const input = { lines, rules: createRules(c), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z'), alertRules: c.maintenance?.alerts };
    const report = await runRulesTest(input);
    const all = [...report.lines.flatMap((l) => l.deliveries), ...report.flushed];
    expect(all.filter((d) => d.operation === 'workorder.update')).toEqual([]);
    expect(all.filter((d) => d.operation === 'workorder.create').map((d) => d.businessKey)).toContain(key);
    const critical = report.lines.find((l) => l.events.some((e) => e.kind === 'alert' && e.eventTime === '2026-10-01T08:05:00.000Z'));
    expect(critical?.notRaised).toEqual([`priority not raised (rule faults): the ERP reported work order ${key} completed at 2026-10-01T08:03:00.000Z, at or before this report`]);
    expect(formatRulesTest(report)).toContain(`  priority not raised (rule faults): the ERP reported work order ${key} completed`);
    // Completed only after the report (08:06): raised, and no such line.
    const later = await runRulesTest({ ...input, lines: [...lines.slice(0, 2), status('08:06:00', 'completed'), lines[3] as string] });
    expect([...later.lines.flatMap((l) => l.deliveries), ...later.flushed].filter((d) => d.operation === 'workorder.update').map((d) => d.businessKey)).toEqual([key]);
    expect(later.lines.some((l) => l.notRaised !== undefined)).toBe(false);
  });

  it('rules test: a fault with no code is named by its text where its work order is (the key holds a hash of it): the priority raised, or not raised', async () => {
    const c = rulesSchema.parse({ maintenance: { alerts: [{ name: 'faults', minSeverity: 'warning', cooldown: '1h' }] } });
    const key = `EQ-1|faults|${textKey('Oil pressure low')}@2026-10-01T08:00:00.000Z`;
    const alert = (t: string, severity: string, reason = 'Oil pressure low') => JSON.stringify({ kind: 'alert', assetId: 'tag-1', eventTime: `2026-10-01T${t}Z`, severity, reason });
    const status = (t: string, st: string) => JSON.stringify({ kind: 'workorder', erpAssetId: 'EQ-1', businessKey: key, status: st, eventTime: `2026-10-01T${t}Z` });
    const input = { rules: createRules(c), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z'), alertRules: c.maintenance?.alerts };
    // Was: `… by the critical report at …`, and `work order EQ-1|faults|oil_pressure_low-<hash>@… completed`, the fault named by its key only.
    const raised = await runRulesTest({ ...input, lines: [alert('08:00:00', 'warning'), alert('08:05:00', 'critical', ' oil  PRESSURE low')] });
    expect(formatRulesTest(raised)).toContain(`workorder.update → erp [fact] ${key}: priority raised to HIGH by the critical report of "oil PRESSURE low" at 2026-10-01T08:05:00.000Z`);
    const lines = [alert('08:00:00', 'warning'), alert('08:02:00', 'warning', 'Other fault'), status('08:03:00', 'completed'), alert('08:05:00', 'critical', 'OIL PRESSURE LOW')];
    const report = await runRulesTest({ ...input, lines });
    const critical = report.lines.find((l) => l.events.some((e) => e.kind === 'alert' && e.eventTime === '2026-10-01T08:05:00.000Z'));
    expect(critical?.notRaised).toEqual([`priority not raised (rule faults): the ERP reported work order ${key} ("Oil pressure low") completed at 2026-10-01T08:03:00.000Z, at or before this report`]);
  });

  it('lists the maintenance windows work orders are planned into, per site', () => {
    const windows = rulesSchema.parse({
      maintenance: {
        serviceIntervals: [{ name: 'svc', everyHours: 250 }],
        windows: {
          timeZone: 'Europe/Berlin',
          default: [{ days: ['sat'], from: '07:00', to: '13:00' }],
          closed: ['2026-12-24', { from: '2026-12-28', to: '2026-12-31' }],
          sites: { HAM: [{ days: ['tue', 'thu'], from: '18:00', to: '22:00' }], NYC: { timeZone: 'America/New_York', slots: [{ days: ['sun'], from: '22:00', to: '04:00' }] } },
        },
      },
    });
    expect(describeRules(windows).filter((r) => r[0] === 'windows')).toEqual([
      ['windows', 'maintenance windows', 'other sites: sat 07:00–13:00 (Europe/Berlin); closed 2026-12-24, 2026-12-28 to 2026-12-31 inclusive', 'planned dates'],
      ['windows', 'maintenance windows', 'site HAM: tue, thu 18:00–22:00 (Europe/Berlin); closed 2026-12-24, 2026-12-28 to 2026-12-31 inclusive', 'planned dates'],
      ['windows', 'maintenance windows', 'site NYC: sun 22:00–04:00 (America/New_York); closed 2026-12-24, 2026-12-28 to 2026-12-31 inclusive', 'planned dates'],
    ]);
  });

  it('shows a whole-day window as its start and length, and the inventory freshness in its own unit', () => {
    const c = rulesSchema.parse({
      maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }], windows: { timeZone: 'UTC', default: [{ days: ['mon'], from: '22:00', to: '22:00' }, { days: ['sat'], from: '22:00', to: '04:00' }] } },
      inventory: { skuAttribute: 'sku', freshness: '30m' },
    });
    const rows = describeRules(c);
    expect(rows.find((r) => r[0] === 'windows')?.[2]).toBe('other sites: mon 22:00 for 24 h; sat 22:00–04:00 (UTC)');
    expect(rows.find((r) => r[0] === 'inventory')?.[2]).toBe('items with "sku", seen within 30 min');
  });

  // Kills: the cut-off of the closed days shown moved (five are shown, then how many more).
  it('shows five closed days of a site, then how many more', () => {
    const days = (n: number) => Array.from({ length: n }, (_, i) => `2026-12-${String(20 + i).padStart(2, '0')}`);
    const row = (n: number) =>
      describeRules(rulesSchema.parse({ maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }], windows: { timeZone: 'UTC', default: [{ days: ['sat'], from: '07:00', to: '13:00' }], closed: days(n) } } })).find((r) => r[0] === 'windows')?.[2];
    expect(row(5)).toBe('other sites: sat 07:00–13:00 (UTC); closed 2026-12-20, 2026-12-21, 2026-12-22, 2026-12-23, 2026-12-24');
    expect(row(6)).toBe('other sites: sat 07:00–13:00 (UTC); closed 2026-12-20, 2026-12-21, 2026-12-22, 2026-12-23, 2026-12-24, and 1 more');
  });
});

const newStore = useTempStores();

/** A store holding the assets and the state these events leave. */
async function storeAfter(events: CanonicalEvent[], config: RulesConfig = rules): Promise<SqliteStore> {
  const store = newStore();
  await store.upsertAssets(assets);
  const byId = new Map(assets.map((a) => [a.asset.erpAssetId, a.asset]));
  const r = simulateRules(
    createRules({ ...config, allowedLateness: 0 }),
    events.map((event) => ({ event, asset: byId.get(event.ids[0]?.value ?? '') ?? assets[0]!.asset, destination: 'erp' })),
  );
  await store.commitIngest({ states: [...r.states].map(([erpAssetId, doc]) => ({ erpAssetId, doc })), deliveries: r.perStep.flat(), quarantine: [], accepted: events.length });
  return store;
}

const meter = (iso: string, hours: number, id = 'EQ-1'): CanonicalEvent => ({ kind: 'meter', source: 't', ids: [{ type: 'erp', value: id }], eventTime: Date.parse(iso), receivedAt: 0, operatingHours: hours });

describe('maintenance complete', () => {
  it('builds the workorder event ERP feedback would bring, and refuses what cannot be one', () => {
    const at = Date.parse('2026-11-01T08:00:00Z');
    expect(completionEvent({ businessKey: 'EQ-1|svc|250h@b0', status: 'completed', hours: 251.5, at })).toEqual({
      kind: 'workorder',
      erpAssetId: 'EQ-1',
      businessKey: 'EQ-1|svc|250h@b0',
      status: 'completed',
      eventTime: '2026-11-01T08:00:00.000Z',
      operatingHoursAtCompletion: 251.5,
    });
    expect(() => completionEvent({ businessKey: 'EQ-1', status: 'completed', at })).toThrow(/not a work-order business key/);
    expect(() => completionEvent({ businessKey: 'EQ-1|svc|x', status: 'completed', hours: -1, at })).toThrow(/--hours/);
    expect(completionEvent({ businessKey: 'T-7|oil|30000km@b15000', status: 'completed', km: 30_120, at })).toMatchObject({ erpAssetId: 'T-7', odometerKmAtCompletion: 30_120 });
    expect(() => completionEvent({ businessKey: 'T-7|oil|x', status: 'completed', km: Number('lots'), at })).toThrow(/--km must be an odometer reading/);
    expect(() => completionEvent({ businessKey: 'EQ-1|svc|x', status: 'completed', at: Date.parse('yesterday') })).toThrow(/--at/);
    // A key of our form naming no work order a rule opens: it would reset nothing, so it is refused with why.
    expect(() => completionEvent({ businessKey: 'EQ-1|svc|garbage', status: 'completed', hours: 251.5, at })).toThrow('"EQ-1|svc|garbage": its occurrence "garbage" is none assetbridge makes');
  });

  it('--at needs its zone: a zone-less time is refused, not read in this host\'s zone', () => {
    expect(parseAtOption('2026-12-01T10:00:00Z')).toBe(Date.UTC(2026, 11, 1, 10));
    expect(parseAtOption('2026-12-01T10:00:00+01:00')).toBe(Date.UTC(2026, 11, 1, 9));
    expect(() => parseAtOption('2026-12-01T10:00:00')).toThrow('--at 2026-12-01T10:00:00 has no time zone: add Z for UTC or an offset, e.g. 2026-12-01T10:00:00Z or 2026-12-01T10:00:00+01:00');
    expect(() => parseAtOption('yesterday')).toThrow(/--at must be an ISO date-time with its zone.*got "yesterday"/);
  });

  it('--at in the future (beyond ingest.maxFutureSkewMs) is refused before anything is recorded, as the pipeline would only quarantine it', () => {
    const limits = { now: Date.UTC(2026, 11, 1, 10), maxFutureSkewMs: 5 * 60_000 };
    expect(parseAtOption('2026-12-01T10:04:00Z', limits)).toBe(Date.UTC(2026, 11, 1, 10, 4));
    expect(() => parseAtOption('2026-12-02T10:00:00Z', limits)).toThrow(
      "--at 2026-12-02T10:00:00Z is in the future (more than 5 min after this host's clock, 2026-12-01T10:00:00.000Z; ingest.maxFutureSkewMs): give the time the work was completed, or leave --at out for now",
    );
    expect(() => parseAtOption('2026-11-01T10:00:00Z', { ...limits, maxAgeMs: 86_400_000 })).toThrow(/^--at 2026-11-01T10:00:00Z is older than ingest.maxAgeMs \(24 h\)/);
  });

  it('--hours and --km take a decimal reading: blank text is not 0', () => {
    expect(parseMeterOption('--hours', '251.5')).toBe(251.5);
    expect(parseMeterOption('--km', ' 30120 ')).toBe(30_120);
    expect(() => parseMeterOption('--hours', '')).toThrow('--hours "" is not a meter reading: give the hour meter at completion as a decimal number, e.g. --hours 251.5');
    for (const text of [' ', '0x10', '1e3', '251,5', '-1', 'NaN']) expect(() => parseMeterOption('--hours', text)).toThrow(/^--hours ".*" is not a meter reading/);
    expect(() => parseMeterOption('--km', '')).toThrow(/^--km "" is not an odometer reading: give the odometer at completion in km/);
  });

  it('refuses --hours the meter cannot have shown at --at, and, without --hours, a time before the readings kept', () => {
    const H = 3_600_000;
    const t0 = Date.UTC(2026, 9, 7, 5);
    // Readings kept from 05:00 (241 h) to 06:00 (242 h).
    const state = { history: [[t0, 241], [t0 + H, 242]], hours: { hygiene: { last: { value: 242, eventTime: t0 + H } }, total: 242 } } as const;
    const key = 'EQ-1|service-250h|250h@b0';
    expect(() => checkCompletionMeter(key, rules, state, { at: t0 + 2 * H, hours: 242.5 })).not.toThrow();
    expect(() => checkCompletionMeter(key, rules, state, { at: t0 + 2 * H, hours: 2410 })).toThrow(
      '--hours 2410 h is more than the meter can have shown at 2026-10-07T07:00:00.000Z, at most 243.15 h: it read 242 h at 2026-10-07T06:00:00.000Z, and can advance 1 h per hour at most; check the value: the hour meter as it showed at the completion (--at)',
    );
    // Within the readings: from them; before them: refused, saying to pass --hours.
    expect(() => checkCompletionMeter(key, rules, state, { at: t0 + H / 2 })).not.toThrow();
    expect(() => checkCompletionMeter(key, rules, state, { at: t0 - 18 * H })).toThrow(
      `${key} at 2026-10-06T11:00:00.000Z: no h reading at completion was reported, and the meter readings kept start 2026-10-07T05:00:00.000Z, after it, so the hour meter at completion is not known; pass --hours <the reading at completion>`,
    );
    expect(() => checkCompletionMeter(key, rules, state, { at: t0 - 18 * H, hours: 240 })).not.toThrow();
    // A threshold's work order needs no meter.
    expect(() => checkCompletionMeter('EQ-1|overheat|2026-10-06T11:00:00.000Z', rules, state, { at: t0 - 18 * H })).not.toThrow();
  });

  it('says what the meter at completion was taken as without --hours, and when the reading it is is well before --at', () => {
    const H = 3_600_000;
    const t0 = Date.UTC(2026, 9, 7, 5);
    // Readings kept at 05:00 (241 h) and 06:00 (242 h); the meter was replaced before, its display 200 h behind the count.
    const state = { history: [[t0, 241], [t0 + H, 242]], hours: { hygiene: { last: { value: 42, eventTime: t0 + H } }, total: 242 } } as const;
    const key = 'EQ-1|service-250h|250h@b0';
    expect(checkCompletionMeter(key, rules, state, { at: t0 + H / 2 })).toBe(
      'the hour meter at completion taken from the readings: between 41 h at 2026-10-07T05:00:00.000Z and 42 h at 2026-10-07T06:00:00.000Z',
    );
    expect(checkCompletionMeter(key, rules, state, { at: t0 + H + 30 * 60_000 })).toBe('the hour meter at completion taken from the readings: 42 h, read at 2026-10-07T06:00:00.000Z');
    expect(checkCompletionMeter(key, rules, state, { at: t0 + 23 * H })).toBe(
      'the hour meter at completion taken from the readings: 42 h, read at 2026-10-07T06:00:00.000Z (22 h before --at: if it ran since, the next service comes due early by what it ran; give --hours next time)',
    );
    // Given, or for a work order that counts no meter: nothing to say.
    expect(checkCompletionMeter(key, rules, state, { at: t0 + 23 * H, hours: 60 })).toBeUndefined();
    expect(checkCompletionMeter('EQ-1|overheat|2026-10-06T11:00:00.000Z', rules, state, { at: t0 + 23 * H })).toBeUndefined();
  });

  it('refuses a completion dated before the latest update of the work order it holds, which the rules would pass over', () => {
    const asset = (assets[0] as AssetWithIdentifiers).asset;
    const key = 'EQ-1|service-250h|250h@b0';
    const step = (event: CanonicalEvent) => ({ event, asset, destination: 'erp' });
    const meterAt = (iso: string, hours: number) => step({ kind: 'meter', source: 't', ids: [{ type: 'erp', value: 'EQ-1' }], eventTime: Date.parse(iso), receivedAt: 0, operatingHours: hours });
    const update = (status: 'open' | 'completed', iso: string, source: string) =>
      step({ kind: 'workorder', source, ids: [{ type: 'erp', value: 'EQ-1' }], eventTime: Date.parse(iso), receivedAt: 0, businessKey: key, status, ...(status === 'completed' ? { operatingHoursAtCompletion: 245 } : {}) });
    // The service comes due at 240 h; the ERP's poll then reports the work order open.
    const due = [meterAt('2026-10-01T00:00:00Z', 200), meterAt('2026-10-03T00:00:00Z', 240), meterAt('2026-10-03T02:00:00Z', 241), update('open', '2026-10-05T00:00:00Z', 'erp-feedback:erp')];
    const known = (states: ReadonlyMap<string, StateDoc>) => ({ workOrders: (states.get('EQ-1')?.[MAINTENANCE_RULE] as MaintenanceState | undefined)?.workOrders ?? {} });
    // Every step decided, as the service's idle watermark does.
    const run = (steps: ReturnType<typeof step>[]) => flushRules(createRules(rules), simulateRules(createRules(rules), steps).states, new Map([['EQ-1', { asset, destination: 'erp' }]]), Date.parse('2026-10-06T00:00:00Z'), Number.MAX_SAFE_INTEGER).states;
    const open = run(due);
    expect(known(open).workOrders[key]?.status).toBe('open');
    // A completion dated before that changes nothing: refused, saying from when it counts.
    const early = Date.parse('2026-10-04T12:00:00Z');
    expect(known(run([...due, update('completed', '2026-10-04T12:00:00Z', 'cli')])).workOrders[key]?.status).toBe('open');
    expect(() => checkNotBeforeLastChange(key, known(open), { status: 'completed', at: early, meter: true })).toThrow(
      `--at 2026-10-04T12:00:00.000Z is before the latest update of ${key} that assetbridge has (open at 2026-10-05T00:00:00.000Z): an update dated earlier changes nothing (event time wins), so it would not be recorded as completed. Give --at at or after 2026-10-05T00:00:00.000Z`,
    );
    // One dated at or after it is recorded.
    const late = Date.parse('2026-10-05T06:00:00Z');
    expect(known(run([...due, update('completed', '2026-10-05T06:00:00Z', 'cli')])).workOrders[key]?.status).toBe('completed');
    expect(() => checkNotBeforeLastChange(key, known(open), { status: 'completed', at: late, meter: true })).not.toThrow();
    // A work order no update has come for yet (requested) takes any time.
    expect(() => checkNotBeforeLastChange(key, { workOrders: { [key]: { status: 'requested', openedAt: 0 } } }, { status: 'completed', at: early, meter: false })).not.toThrow();
  });

  it('takes a completion that did not count (no meter then) again, with the meter', () => {
    const uncounted = { status: 'completed', openedAt: 0, changedAt: Date.UTC(2026, 10, 2, 9), uncounted: true } as const;
    expect(() => checkNotAlreadyClosed('EQ-2|svc-250|250h@b0', { workOrders: { 'EQ-2|svc-250|250h@b0': uncounted } }, 'completed')).not.toThrow();
  });

  it('names the work order a key of no form assetbridge makes likely means: by the ERP number, by its time written otherwise, else the closest', () => {
    const known = [
      { businessKey: 'EQ-1|overheat|2026-10-06T13:00:00.000Z', erpWorkOrderId: 'WO-000003' },
      { businessKey: 'EQ-1|service-250h|250h@b0', erpWorkOrderId: undefined },
      { businessKey: 'EQ-2|service-250h|500h@b250', erpWorkOrderId: 'WO-000009' },
    ];
    expect(malformedKeyHint('wo-000003', known)).toBe(`"wo-000003" is the ERP's number of 'EQ-1|overheat|2026-10-06T13:00:00.000Z': give its business key (quoted, as the shell reads | as a pipe)`);
    for (const typed of ['EQ-1|overheat|2026-10-06T13:00:00Z', 'EQ-1|overheat|2026-10-06T15:00+02:00'])
      expect(malformedKeyHint(typed, known)).toBe("did you mean 'EQ-1|overheat|2026-10-06T13:00:00.000Z'? (times in keys are written as assetbridge writes them: UTC with milliseconds)");
    expect(malformedKeyHint('EQ-1|service-250h|250h', known)).toBe("the closest work orders of EQ-1: EQ-1|service-250h|250h@b0 ('assetbridge maintenance status --asset EQ-1' lists them)");
    // Nothing known to suggest: the error points to the list as before.
    expect(malformedKeyHint('WO-1', known)).toBeUndefined();
    expect(malformedKeyHint('EQ-3|service-250h|250h', known)).toBeUndefined();
    expect(() => completionEvent({ businessKey: 'WO-1', status: 'completed', at: 0 })).toThrow("\"WO-1\" is not a work-order business key (asset|rule|occurrence); 'assetbridge maintenance status' lists them");
    expect(() => completionEvent({ businessKey: 'WO-1', status: 'completed', at: 0 }, 'hint')).toThrow('"WO-1" is not a work-order business key (asset|rule|occurrence); hint');
  });

  it('refuses to record again what is already recorded as completed (or cancelled), saying when and at what meter', () => {
    const completed = { status: 'completed', openedAt: 0, changedAt: Date.UTC(2026, 10, 2, 9), hoursAtCompletion: 261 } as const;
    const known = { workOrders: { 'EQ-2|svc-250|250h@b0': completed, 'EQ-2|svc-250|500h@b0': { status: 'requested', openedAt: 0 } as const } };
    expect(() => checkNotAlreadyClosed('EQ-2|svc-250|250h@b0', known, 'completed')).toThrow(
      /^EQ-2\|svc-250\|250h@b0 is already recorded as completed on 2026-11-02T09:00:00.000Z at 261 h; recording it again would change nothing\. A service baseline moves only to a later service/,
    );
    expect(() => checkNotAlreadyClosed('EQ-2|svc-250|500h@b0', known, 'completed')).not.toThrow();
    // Cancelling a completed one is a change of status, not a repeat.
    expect(() => checkNotAlreadyClosed('EQ-2|svc-250|250h@b0', known, 'cancelled')).not.toThrow();
  });

  it('takes a key assetbridge knows; for one it does not, lists the open keys closest first (or the closed ones), or refuses the asset', () => {
    const requested = { status: 'requested', openedAt: 0 } as const;
    const workOrders = { 'EQ-1|oil|5000km@b0': requested, 'EQ-1|svc|500h@b250': requested, 'EQ-1|svc|250h@b0': { status: 'completed', openedAt: 0 } } as const;
    const known = { assetIds: ['EQ-1', 'EQ-2'], workOrders, opened: false };
    expect(() => checkKnownWorkOrder('EQ-1|svc|250h@b0', { ...known, opened: true }, false)).not.toThrow();
    expect(() => checkKnownWorkOrder('EQ-1|svc|500h@b25', known, false)).toThrow(/names no work order assetbridge knows .*; open work orders of EQ-1: EQ-1\|svc\|500h@b250, EQ-1\|oil\|5000km@b0\. Check the key with 'assetbridge maintenance status --asset EQ-1'.*add --force$/);
    expect(() => checkKnownWorkOrder('EQ-1|svc|500h@b25', known, true)).not.toThrow();
    const onlyClosed = { ...known, workOrders: { 'EQ-1|svc|250h@b0': workOrders['EQ-1|svc|250h@b0'] } };
    expect(() => checkKnownWorkOrder('EQ-1|svc|250h@b9', onlyClosed, false)).toThrow(/no open work orders of EQ-1; closest completed or cancelled: EQ-1\|svc\|250h@b0\./);
    // An asset not in the registry: refused even with --force (the pipeline could only quarantine it).
    expect(() => checkKnownWorkOrder('eq-1|svc|250h@b0', known, true)).toThrow(/^no asset "eq-1" in the registry \(the asset of "eq-1\|svc\|250h@b0"\); did you mean EQ-1, EQ-2\? /);
    expect(() => checkKnownWorkOrder('NOPE|svc|250h@b0', known, false)).toThrow(/^no asset "NOPE" in the registry .*'assetbridge assets list' the assets$/);
  });

  it('also suggests the work orders the outbox holds for the asset beyond those its state keeps (a bounded number of open ones)', async () => {
    const requested = { status: 'requested', openedAt: 0 } as const;
    // The state keeps one open work order; the outbox also holds an older one the state let go of.
    const known = { assetIds: ['EQ-1'], workOrders: { 'EQ-1|oil|5000km@b0': requested }, opened: false, outbox: ['EQ-1|oil|5000km@b0', 'EQ-1|svc|500h@b250', 'EQ-1|svc|250h@b0'] };
    expect(() => checkKnownWorkOrder('EQ-1|svc|500h@b25', known, false)).toThrow(
      /; open work orders of EQ-1: EQ-1\|oil\|5000km@b0; other work orders assetbridge opened for EQ-1 \(beyond what its maintenance state keeps\): EQ-1\|svc\|500h@b250, EQ-1\|svc\|250h@b0\. Check the key/,
    );
    expect(() => checkKnownWorkOrder('EQ-1|svc|500h@b25', { ...known, workOrders: {} }, false)).toThrow(/; no open work orders of EQ-1; other work orders assetbridge opened for EQ-1 \(beyond what its maintenance state keeps\): EQ-1\|svc\|500h@b250, /);

    // From the store: the outbox's work orders of that asset, not of another, newest first.
    const store = newStore();
    await store.upsertAssets(assets);
    const wo = (erpAssetId: string, businessKey: string, t: number) => ({ destination: 'erp', operation: 'workorder.create', kind: 'fact', businessKey, erpAssetId, eventTime: t, payload: {} }) as const;
    await store.commitIngest({ states: [], deliveries: [wo('EQ-1', 'EQ-1|svc|250h@b0', 1), wo('EQ-2', 'EQ-2|svc|250h@b0', 2), wo('EQ-1', 'EQ-1|svc|500h@b250', 3)], quarantine: [], accepted: 1 });
    const config = { assets: { inline: [], files: [] }, destinations: [], rules: {} } as unknown as Config;
    expect(await loadWorkOrderKnowledge(store, config, 'EQ-1|svc|500h@b25')).toEqual({ assetIds: ['EQ-1', 'EQ-2'], workOrders: {}, opened: false, outbox: ['EQ-1|svc|500h@b250', 'EQ-1|svc|250h@b0'] });
    expect((await loadWorkOrderKnowledge(store, config, 'EQ-1|svc|500h@b250')).opened).toBe(true);
  });
});

describe('maintenance status', () => {
  // An asset id (and so the key) may hold "; ": joined by "; ", as the cell was, one work order of asset
  // "A; B" read as two. Now a ';' or '\\' within an entry has a '\\' before it.
  it('--csv: the openWorkOrders cell reads back as the work orders it lists, whatever their keys hold', () => {
    const wo = (businessKey: string, status: 'requested' | 'open'): WorkOrderRow => ({ erpAssetId: 'A; B', businessKey, rule: 'svc', occurrence: '250h@b0', priority: 'MEDIUM', status, openedAt: 0 });
    const open = [wo('A; B|svc|250h@b0', 'open'), wo('A; B|svc|500h@b0', 'requested'), wo('A; B|svc|x\\; y', 'open')];
    const rows: AssetMaintenance[] = [{ erpAssetId: 'A; B', due: [{ erpAssetId: 'A; B', rule: 'svc', type: 'service', state: 'due' }], open, closed: [] }];
    const [row] = parse<Record<string, string>>(maintenanceCsv(rows), { columns: true });
    expect(parseOpenWorkOrdersCell(row?.openWorkOrders ?? '')).toEqual(open.map((w) => `${w.businessKey} (${w.status})`));
    expect(row?.openWorkOrders).toBe('A\\; B|svc|250h@b0 (open); A\\; B|svc|500h@b0 (requested); A\\; B|svc|x\\\\\\; y (open)');
  });

  it('--csv: the openWorkOrderDestinations cell names where each of its open work orders was opened, in the same order; the column is there with one destination too', () => {
    const wo = (businessKey: string, destination?: string): WorkOrderRow => ({ erpAssetId: 'EQ-1', businessKey, rule: 'svc', occurrence: '250h@b0', priority: 'MEDIUM', status: 'open', openedAt: 0, ...(destination !== undefined ? { destination } : {}) });
    const open = [wo('EQ-1|svc|250h@b0', 'erp2'), wo('EQ-1|svc|500h@b0'), wo('EQ-1|svc|750h@b0', 'erp; old')];
    const rows: AssetMaintenance[] = [
      { erpAssetId: 'EQ-1', due: [{ erpAssetId: 'EQ-1', rule: 'svc', type: 'service', state: 'due' }, { erpAssetId: 'EQ-1', rule: 'hot', type: 'threshold', state: 'normal' }], open, closed: [] },
    ];
    const read = parse<Record<string, string>>(maintenanceCsv(rows), { columns: true });
    expect(read.map((r) => [r.rule, parseOpenWorkOrdersCell(r.openWorkOrders ?? ''), parseOpenWorkOrdersCell(r.openWorkOrderDestinations ?? '')])).toEqual([
      ['svc', open.map((w) => `${w.businessKey} (open)`), ['erp2', '-', 'erp; old']],
      ['hot', [], []],
    ]);
    expect(parseOpenWorkOrdersCell('EQ-1|svc|250h@b0 (open); EQ-1|svc|500h@b0 (requested)')).toEqual(['EQ-1|svc|250h@b0 (open)', 'EQ-1|svc|500h@b0 (requested)']);
  });

  it('shows when an open work order is planned as rules test does: in its site\'s time, beside the UTC the ERP got', async () => {
    const windowed = rulesSchema.parse({
      maintenance: {
        serviceIntervals: [{ name: 'service-250h', everyHours: 250, dueSoonHours: 20 }],
        windows: { timeZone: 'Europe/Amsterdam', default: [{ days: ['sat'], from: '06:00', to: '14:00' }] },
      },
    });
    const store = await storeAfter([meter('2026-10-01T00:00:00Z', 200), meter('2026-10-03T00:00:00Z', 240)], windowed);
    const rows = await loadMaintenanceStatus(store, windowed);
    const open = rows.find((r) => r.erpAssetId === 'EQ-1')?.open ?? [];
    expect(open.map((w) => [w.businessKey, w.plannedStart, w.plannedEnd, w.plannedTimeZone])).toEqual([['EQ-1|service-250h|250h@b0', '2026-10-03T04:00:00.000Z', '2026-10-03T12:00:00.000Z', 'Europe/Amsterdam']]);
    const text = formatMaintenanceStatus(rows, 0);
    expect(text).toMatch(/ERP ID +PLANNED\n/);
    // OPENED in the same form as the UTC of PLANNED (with milliseconds, not '.000' dropped).
    expect(text).toMatch(/EQ-1\|service-250h\|250h@b0 +requested \(queued\) +MEDIUM +2026-10-03T00:00:00\.000Z +- +2026-10-03 06:00–14:00 Europe\/Amsterdam \(2026-10-03T04:00:00\.000Z\)\n/);
  });

  it('shows due intervals, open and completed work orders per asset', async () => {
    const store = await storeAfter([
      meter('2026-10-01T00:00:00Z', 200),
      meter('2026-10-03T00:00:00Z', 240),
      { kind: 'workorder', source: 'erp-feedback', ids: [{ type: 'erp', value: 'EQ-1' }], eventTime: Date.parse('2026-10-03T06:00:00Z'), receivedAt: 0, businessKey: 'EQ-1|service-250h|250h@b0', status: 'in-progress', erpWorkOrderId: 'WO-7' },
      meter('2026-10-01T00:00:00Z', 10, 'EQ-2'),
    ]);
    const rows = await loadMaintenanceStatus(store, rules);
    expect(rows.map((r) => [r.erpAssetId, r.due.map((d) => [d.rule, d.state, d.nextDueHours, d.remainingHours]), r.open.map((w) => [w.businessKey, w.status, w.erpWorkOrderId])])).toEqual([
      // The 250 h work order opened 20 h ahead (due soon) and is in progress: 250 h is what is due.
      ['EQ-1', [['service-250h', 'due soon, work order in-progress', 250, 10], ['overheat', 'normal', undefined, undefined]], [['EQ-1|service-250h|250h@b0', 'in-progress', 'WO-7']]],
      ['EQ-2', [['service-250h', 'ok', 250, 240], ['overheat', 'normal', undefined, undefined]], []],
    ]);
    const text = formatMaintenanceStatus(rows, 5);
    expect(text).toContain('OPEN WORK ORDERS');
    expect(text).toMatch(/EQ-1\s+EQ-1\|service-250h\|250h@b0\s+in-progress\s+MEDIUM/);
    // --csv: one line per asset and rule, the open work order beside its rule.
    const csv = maintenanceCsv(rows).split('\r\n');
    expect(csv[0]).toBe('erpAssetId,rule,type,state,hours,baselineHours,nextDueHours,remainingHours,km,baselineKm,nextDueKm,remainingKm,baselineDate,nextDueDate,remainingDays,openWorkOrders,openWorkOrderDestinations');
    expect(csv.slice(1, -1)).toEqual([
      'EQ-1,service-250h,service,"due soon, work order in-progress",240,0,250,10,,,,,,,,EQ-1|service-250h|250h@b0 (in-progress),erp',
      'EQ-1,overheat,threshold,normal,,,,,,,,,,,,,',
      'EQ-2,service-250h,service,ok,10,0,250,240,,,,,,,,,',
      'EQ-2,overheat,threshold,normal,,,,,,,,,,,,,',
    ]);
    await expect(loadMaintenanceStatus(store, rules, 'NOPE')).rejects.toThrow(/no asset "NOPE"/);
    // --due: only what needs attention (EQ-1's due-soon interval and open work order; EQ-2 is fine).
    expect(onlyDue(rows).map((r) => [r.erpAssetId, r.due.map((d) => d.rule), r.open.length])).toEqual([['EQ-1', ['service-250h'], 1]]);
    const row = (erpAssetId: string, states: [string, 'service' | 'threshold' | 'calendar', string][]) => ({ erpAssetId, due: states.map(([rule, type, state]) => ({ erpAssetId, rule, type, state })), open: [], closed: [] });
    expect(
      onlyDue([
        row('A', [['hot', 'threshold', 'pending'], ['cold', 'threshold', 'normal'], ['svc', 'service', 'ok; latest reading set aside: x']]),
        row('B', [['insp', 'calendar', 'due, work order requested'], ['svc', 'service', 'scheduled, work order open']]),
        row('C', [['svc', 'service', 'no readings']]),
      ]).map((r) => [r.erpAssetId, r.due.map((d) => d.rule)]),
    ).toEqual([
      ['A', ['hot']],
      ['B', ['insp']],
    ]);
  });

  it('says an asset\'s meter went backwards (when, that it is not counted) and the reset-meter command to run for it', async () => {
    const hours = rulesSchema.parse({ maintenance: { serviceIntervals: [{ name: 'service-250h', everyHours: 250 }] } });
    const at = (iso: string, h: number): CanonicalEvent => ({ kind: 'meter', source: 't', ids: [{ type: 'erp', value: 'EQ-1' }], eventTime: Date.parse(iso), receivedAt: 0, operatingHours: h });
    const store = await storeAfter([at('2026-10-01T00:00:00Z', 100), at('2026-10-01T10:00:00Z', 110), at('2026-10-01T11:00:00Z', 3)], hours);
    const text = formatMaintenanceStatus(await loadMaintenanceStatus(store, hours, 'EQ-1'), 5);
    expect(text).toContain(
      '[1] EQ-1 service-250h: ok; latest reading set aside: 2026-10-01T11:00:00.000Z: meter went backwards from 110 (2026-10-01T10:00:00.000Z) to 3 (2026-10-01T11:00:00.000Z): set aside, not counted, as is every reading below 110 until the meter shows it again or a replacement is declared; if the meter or ECU was replaced, declare it: assetbridge assets reset-meter EQ-1 --hours <new reading> --at <when>',
    );
  });

  it('shows odometer intervals in km beside hour intervals, and the meter at completion', async () => {
    const both = rulesSchema.parse({ maintenance: { serviceIntervals: [{ name: 'service-250h', everyHours: 250 }, { name: 'oil-15000km', everyKm: 15_000, dueSoonKm: 500 }] } });
    const odo = (iso: string, km: number, hours: number): CanonicalEvent => ({ kind: 'meter', source: 't', ids: [{ type: 'erp', value: 'EQ-1' }], eventTime: Date.parse(iso), receivedAt: 0, odometerKm: km, operatingHours: hours });
    const store = await storeAfter(
      [
        odo('2026-10-01T00:00:00Z', 14_400, 100),
        odo('2026-10-01T10:00:00Z', 14_600, 102),
        { kind: 'workorder', source: 'cli', ids: [{ type: 'erp', value: 'EQ-1' }], eventTime: Date.parse('2026-10-01T11:00:00Z'), receivedAt: 0, businessKey: 'EQ-1|oil-15000km|15000km@b0', status: 'completed', odometerKmAtCompletion: 14_650 },
        odo('2026-10-02T00:00:00Z', 15_400, 110),
        odo('2026-10-02T01:00:00Z', 19_400, 110.5), // 4,000 km in an hour: set aside
      ],
      both,
    );
    const [eq1] = await loadMaintenanceStatus(store, both, 'EQ-1');
    expect(eq1?.due.map((d) => [d.rule, d.state, d.hours ?? d.km, d.nextDueHours ?? d.nextDueKm, d.remainingHours ?? d.remainingKm])).toEqual([
      ['service-250h', 'ok', 110.5, 250, 139.5],
      ['oil-15000km', expect.stringMatching(/^ok; latest reading set aside: 2026-10-02T01:00:00.000Z: .*19400/), 15_400, 29_650, 14_250],
    ]);
    expect(eq1?.closed.map((w) => [w.businessKey, w.kmAtCompletion])).toEqual([['EQ-1|oil-15000km|15000km@b0', 14_650]]);
    // --closed 0: no completed ones at all (not every one).
    expect(formatMaintenanceStatus(eq1 ? [eq1] : [], 0)).not.toMatch(/COMPLETED OR CANCELLED|15000km@b0/);
    expect(formatMaintenanceStatus(eq1 ? [eq1] : [], 1)).toContain('EQ-1|oil-15000km|15000km@b0');
    const text = formatMaintenanceStatus(eq1 ? [eq1] : [], 5);
    // The STATE cell holds the short state; meter hygiene's whole sentence (hundreds of characters) is numbered below the table, which stays readable.
    expect(text).toMatch(/oil-15000km\s+service\s+ok \[1\]\s+15400 km\s+29650 km\s+14250 km\n/);
    expect(text).toContain('\n[1] EQ-1 oil-15000km: ok; latest reading set aside: 2026-10-02T01:00:00.000Z: meter advanced 4000 km');
    const tableRows = text.split('\n').filter((l) => l.startsWith('EQ-1   '));
    expect(Math.max(...tableRows.map((l) => l.length))).toBeLessThan(100);
    expect(text).toMatch(/EQ-1\|oil-15000km\|15000km@b0\s+completed\s+\S+\s+102 h, 14650 km/);
    expect(describeRules(both).map((r) => r.slice(0, 3))).toContainEqual(['oil-15000km', 'service interval', 'every 15000 km (odometer), 500 km ahead']);
  });
});

describe('depreciation preview', () => {
  it('computes units of production beside straight line per asset, as a table', async () => {
    // Berlin: October runs 2026-09-30T22:00Z → 2026-10-31T23:00Z.
    const store = await storeAfter([meter('2026-09-30T22:00:00Z', 1000), meter('2026-10-31T23:00:00Z', 1150), meter('2026-11-02T00:00:00Z', 1160)]);
    const lines = await previewDepreciation(store, rules, '2026-10', 'erp', Date.parse('2026-11-05T00:00:00Z'));
    expect(lines.map((l) => [l.line.erpAssetId, l.line.periodUnits, l.line.lifeToDateUnits, l.line.unitsOfProduction, l.line.straightLine])).toEqual([
      ['EQ-1', 150, 1150, 1500, 1666.67],
      ['EQ-2', 0, null, null, null],
    ]);
    const text = formatPreview(lines, { hours: 'h', km: 'km' });
    // Amounts always with 2 decimals (a column of money): 1,500.00, not 1,500 beside 1,666.67.
    expect(text).toMatch(/EQ-1\s+2026-10\s+150 h\s+1,150 h\s+10,000 h\s+120,000\.00\s+20,000\.00\s+1,500\.00\s+1,666\.67/);
    expect(text).toMatch(/TOTAL\s+1,500\.00\s+1,666\.67/);
    await expect(previewDepreciation(store, rules, 'October', 'erp', 0)).rejects.toThrow(/not a month; the calendar is monthly \(rules\.depreciation\.periods\) in \S+: write YYYY-MM/);
  });

  it('shows usage found after a period was posted as a prior-period adjustment of the next', async () => {
    const store = await storeAfter([meter('2026-10-30T00:00:00Z', 1000)]);
    const post = async (id: string, now: string) =>
      postUsage(store, (d) => store.commitIngest({ states: [], deliveries: d, quarantine: [], accepted: 0 }), await previewDepreciation(store, rules, id, 'erp', Date.parse(now)), resolvePeriod(rules.depreciation!, id));
    expect((await post('2026-10', '2026-11-02T23:00:00Z')).map((d) => [d.businessKey, d.payload.periodUnits])).toEqual([['EQ-1|usage|2026-10', 0]]);
    // A reading on 3 Nov: 19.583 of its 40 h were used in October, already posted.
    const later = await storeAfter([meter('2026-10-30T00:00:00Z', 1000), meter('2026-11-03T00:00:00Z', 1040)]);
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: (await later.loadStates(['EQ-1'])).get('EQ-1') ?? {}, changed: ['depreciation'] }], deliveries: [], quarantine: [], accepted: 0 });
    const [oct] = await previewDepreciation(store, rules, '2026-10', 'erp', Date.parse('2026-11-05T00:00:00Z'));
    expect(oct?.line).toMatchObject({ periodUnits: 0, lifeToDateUnits: 1000 });
    // Queued, not delivered (no service ran): said so, not "posted".
    expect(oct?.line.notes).toContain('decided, not delivered yet (queued for the ERP: a running service sends it); 19.583 units found since are carried into the next posting');
    const nov = await previewDepreciation(store, rules, '2026-11', 'erp', Date.parse('2026-12-05T00:00:00Z'));
    expect(nov[0]?.line).toMatchObject({ periodUnits: 40, lifeToDateUnits: 1040, adjustmentUnits: 19.583, unitsOfProduction: 400 });
    expect(formatPreview(nov, { hours: 'h', km: 'km' })).toMatch(/EQ-1\s+2026-11\s+40 h\s+1,040 h.*includes 19.583 units found after posting, from 2026-10 \(19.583\)/);
    expect(formatAdjustments(nov, { hours: 'h', km: 'km' })).toBe('  EQ-1: 2026-11 includes 19.583 h found after posting, from 2026-10 (19.583)\n');
  });
});

describe('zones commands', () => {
  it('reads the zones of a rule that tracks the asset now: not the state location sync left before it was turned off', async () => {
    const store = newStore();
    await store.upsertAssets(assets);
    const since = Date.parse('2026-10-01T08:00:00Z');
    // Location sync had EQ-1 in the yard; since it was turned off, only inventory follows it, and saw it leave.
    const doc = { location: { zones: { yard: { phase: 'inside', since } } }, inventory: { zones: {}, location: null, seenAt: since + 3_600_000 } };
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc, changed: ['location', 'inventory'] }], deliveries: [], quarantine: [], accepted: 0 });
    const inside = async (config: Record<string, unknown>) => (await loadOccupancy(store, rulesSchema.parse({ zones: { inline: [{ name: 'yard', locationCode: '1000/0001', circle: { lat: 52.5, lng: 13.4, radiusM: 200 } }] }, ...config }))).zones[0]?.inside;
    expect(await inside({ inventory: { skuAttribute: 'cost' } })).toBe(1); // location sync on: its state
    expect(await inside({ location: { enabled: false }, inventory: { skuAttribute: 'cost' } })).toBe(0);
    expect(await inside({ location: { enabled: false } })).toBe(0);
    expect(await inside({ location: { appliesTo: { erpModules: ['fleet'] } } })).toBe(0);
  });

  it('checks a GeoJSON file and locates positions in the configured zones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-zones-'));
    const file = join(dir, 'z.geojson');
    writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'a' }, geometry: { type: 'Point', coordinates: [1, 1] } }] }));
    expect(checkZonesFile(file).problems).toEqual([
      'feature 0 ("a"): property "locationCode" (the ERP location code) is missing or empty (its properties: name); if another property holds it, name that one in rules.zones.properties.locationCode',
      'feature 0 ("a"): property "radiusM" (a Point zone\'s radius in metres) is missing or empty (its properties: name); if another property holds it, name that one in rules.zones.properties.radiusM',
    ]);
    expect(() => checkZonesFile(join(dir, 'none.geojson'))).toThrow(`cannot read ${join(dir, 'none.geojson')} (no such file or directory): give the path of a GeoJSON zones file (a FeatureCollection)`);
    // A Windows export's byte order mark is read past; a syntax error says where it is.
    writeFileSync(file, `\uFEFF${JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'a', locationCode: 'A', radiusM: 5 }, geometry: { type: 'Point', coordinates: [1, 1] } }] })}`);
    expect(checkZonesFile(file)).toMatchObject({ zones: [{ name: 'a' }], problems: [] });
    // Another encoding than UTF-8 is refused naming the line (read as UTF-8, "Süd" would be mangled in the location code sent).
    writeFileSync(file, Buffer.from('{"type": "FeatureCollection", "features": [\n {"type": "Feature", "properties": {"name": "a", "locationCode": "Süd", "radiusM": 5}, "geometry": {"type": "Point", "coordinates": [1, 1]}}]}', 'latin1'));
    expect(() => checkZonesFile(file)).toThrow(`${file}: line 2 is not UTF-8 text (`);
    writeFileSync(file, '{"type": "FeatureCollection", "features": [\n  {"type": "Feature",},\n]}');
    expect(() => checkZonesFile(file)).toThrow(`${file} is not valid JSON: line 2, column 22: `);
    // An empty file (an export that failed) is said to be empty, not JSON ending too soon.
    writeFileSync(file, '');
    expect(() => checkZonesFile(file)).toThrow(`${file}: the file is empty (0 bytes): write the zones file again (an export that failed or was cut short leaves it so)`);
    expect(locate(rules, 52.5, 13.4)).toEqual({ inside: ['yard'], band: [], zone: { name: 'yard', locationCode: '1000/0001' } });
    expect(locate(rules, 52.5, 13.5)).toEqual({ inside: [], band: [] });
    // LNG LAT given for LAT LNG (GeoJSON's order): in no zone, and the zone it would be in the other way round.
    expect(locate(rules, 13.4, 52.5)).toEqual({ inside: [], band: [], swapped: { name: 'yard', locationCode: '1000/0001' } });
    expect(() => locate(rulesSchema.parse({}), 0, 0)).toThrow(/no zones are configured/);
  });

  it('shows which assets are in each zone now: entered after the dwell, arriving before it', async () => {
    const at = (iso: string, id: string): CanonicalEvent => ({ kind: 'position', source: 't', ids: [{ type: 'erp', value: id }], eventTime: Date.parse(iso), receivedAt: 0, lat: 52.5, lng: 13.4 });
    const store = await storeAfter([at('2026-10-01T08:00:00Z', 'EQ-1'), at('2026-10-01T08:00:40Z', 'EQ-1'), at('2026-10-01T08:00:00Z', 'EQ-2')]);
    const { zones: occupancy, unconfigured } = await loadOccupancy(store, rules);
    expect(unconfigured).toEqual([]);
    expect(occupancy.map((o) => [o.zone, o.inside, o.entering])).toEqual([['yard', 1, 1]]);
    expect(formatOccupancy(occupancy, undefined, unconfigured)).toMatch(/^ZONE\s+LOCATION CODE\s+INSIDE\s+ARRIVING\s+LEAVING\nyard\s+1000\/0001\s+1\s+1\s+0\n$/);
    const one = formatOccupancy(occupancy, 'yard');
    expect(one).toContain('yard (1000/0001): 1 inside, 1 arriving');
    expect(one).toMatch(/EQ-1\s+inside\s+2026-10-01T08:00:00.000Z/); // since its arrival; confirmed once the 30 s dwell had passed
    expect(one).toMatch(/EQ-2\s+arriving \(enter dwell\)\s+2026-10-01T08:00:00.000Z/);
    expect(() => formatOccupancy(occupancy, 'dock')).toThrow('no zone "dock" is configured; zones: yard');
    // Zone names compare exactly: one that differs in case (or by a typo) is suggested.
    expect(() => formatOccupancy(occupancy, 'YARD')).toThrow('no zone "YARD" is configured (did you mean yard? zone names are case-sensitive); zones: yard');
    // A thousand bays are not all listed on one line: where to see them is.
    const bays = Array.from({ length: 1000 }, (_, i) => `BAY-${String(i).padStart(3, '0')}`);
    expect(unknownZoneMessage('BAY-1000', bays)).toBe("no zone \"BAY-1000\" is configured (did you mean BAY-000 or BAY-100 or BAY-001?); 1000 zones are configured: 'assetbridge zones list' names them");
    expect(occupancyCsv(occupancy)).toBe('zone,locationCode,erpAssetId,state,since\r\nyard,1000/0001,EQ-1,inside,2026-10-01T08:00:00.000Z\r\nyard,1000/0001,EQ-2,entering,2026-10-01T08:00:00.000Z\r\n');
    await expect(loadOccupancy(store, rulesSchema.parse({}))).rejects.toThrow(/no zones are configured/);
    // The zone renamed in the config: its assets are shown under the stored name, as no longer configured.
    const renamed = rulesSchema.parse({ zones: { inline: [{ name: 'north-yard', locationCode: '1000/0001', circle: { lat: 52.5, lng: 13.4, radiusM: 200 } }] } });
    const after = await loadOccupancy(store, renamed);
    expect(after.zones.map((o) => [o.zone, o.inside, o.entering])).toEqual([['north-yard', 0, 0]]);
    // EQ-2's entry into yard, no longer configured, can never complete: it is arriving nowhere.
    expect(after.unconfigured.map((o) => [o.zone, o.inside, o.entering, o.assets.map((a) => a.erpAssetId)])).toEqual([['yard', 1, 0, ['EQ-1']]]);
    const text = formatOccupancy(after.zones, undefined, after.unconfigured);
    expect(text).toContain('zones no longer configured (renamed or removed), still named in the stored state: yard (1 inside). Each asset leaves them at its next fixes');
    expect(formatOccupancy(after.zones, 'yard', after.unconfigured)).toMatch(/^yard \(no longer configured\): 1 inside, 0 arriving; they leave it at their next fixes\nASSET\s+STATE\s+SINCE\nEQ-1\s+inside/);
  });
});

describe('maintenance status: the STATE cell', () => {
  it('keeps a short state whole, and cuts one with details or past 60 characters (the whole state then goes below the table)', () => {
    expect(stateCell('due soon')).toEqual({ cell: 'due soon' });
    expect(stateCell('ok; the meter itself shows 12 h less (replaced)')).toEqual({ cell: 'ok', whole: 'ok; the meter itself shows 12 h less (replaced)' });
    const codes = `active: ${Array.from({ length: 10 }, (_, i) => `E${i}00 since 2026-10-01T00:00:00Z`).join(', ')}`;
    expect(stateCell(codes)).toEqual({ cell: `${codes.slice(0, 59)}…`, whole: codes });
  });
});
