/**
 * Units-of-production inputs that mutation testing found unpinned: readings exactly on a period
 * boundary, default and out-of-range financial inputs, rounding noise, and the CSV and posting
 * formats.
 */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { MeterEvent } from '../../model/events.js';
import { monthlyCalendar, type Period, type PeriodCalendar } from './calendar.js';
import { planUsagePosting } from './posting.js';
import { createUsageRule, type UsageState } from './usage-rule.js';
import { csvCellValue } from '../../csv.js';
import { adjustmentPeriodsCell, DEFAULT_DEPRECIATION_ATTRIBUTES, DEFAULT_USAGE_UNITS, notesCell, parseAdjustmentPeriodsCell, parseNotesCell, usageCsv, usageFor, usagePostDelivery, type PriorPeriodUnits } from './usage.js';

const asset: AssetRecord = { erpAssetId: 'FA-1', erpModule: 'fixed-assets', attributes: { cost: '100000', salvage: '10000', expectedUnits: '10000', usefulLifeMonths: '60' } };
const meter = (iso: string, hours: number): MeterEvent => ({ kind: 'meter', source: 'test', ids: [{ type: 'erp', value: 'FA-1' }], eventTime: Date.parse(iso), receivedAt: Date.parse(iso), operatingHours: hours });

function stateAfter(calendar: PeriodCalendar, events: readonly MeterEvent[]): UsageState | undefined {
  const rule = createUsageRule({ calendar, allowedLatenessMs: 0 });
  let s: UsageState | undefined;
  for (const e of events) s = rule.apply(s, e, { asset, destination: 'erp', now: 0 }).state;
  return s;
}
const plan = (calendar: PeriodCalendar, state: UsageState | undefined, id: string, now: string) =>
  planUsagePosting({ asset, state, ledger: undefined, period: calendar.period(id) as Period, calendar, attributes: DEFAULT_DEPRECIATION_ATTRIBUTES, now: Date.parse(now), destination: 'erp', units: DEFAULT_USAGE_UNITS });

describe('usage lines: readings exactly on a period boundary', () => {
  it('an asset whose last reading is at the period’s first instant posts that period with its life-to-date (no usage since)', () => {
    // A real bug: the meter at the period's end was unknown (lifeToDateUnits null, "no usage recorded")
    // when the last reading fell exactly on local midnight of the period's first day.
    for (const [tz, midnight] of [['UTC', '2026-10-01T00:00:00Z'], ['Europe/Berlin', '2026-09-30T22:00:00Z']] as const) {
      const cal = monthlyCalendar(tz);
      const s = stateAfter(cal, [meter('2026-09-15T00:00:00Z', 1000), meter(midnight, 1100)]);
      const line = usageFor(asset, s, cal.period('2026-10') as Period, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.parse('2026-11-05T00:00:00Z'));
      expect(line).toMatchObject({ tracked: true, periodUnits: 0, meterAtEnd: 1100, lifeToDateUnits: 1100, unitsOfProduction: 0 });
      expect(line.notes).not.toContain('no usage recorded for this period in the kept history');
      const p = plan(cal, s, '2026-10', '2026-11-05T00:00:00Z');
      expect(p.kind === 'new' && p.deliveries.map((d) => [d.businessKey, d.payload.periodUnits, d.payload.lifeToDateUnits])).toEqual([['FA-1|usage|2026-10', 0, 1100]]);
    }
  });

  it('an asset first read at a period’s first instant was not tracked in the period before: nothing is posted for it', () => {
    // Kills: `tracked` taking `first <= end` (the reading at November's start would count for October).
    const cal = monthlyCalendar('Europe/Berlin');
    const s = stateAfter(cal, [meter('2026-10-31T23:00:00Z', 1000), meter('2026-11-10T00:00:00Z', 1050)]); // Berlin midnight, 1 Nov
    const october = usageFor(asset, s, cal.period('2026-10') as Period, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.parse('2026-11-05T00:00:00Z'));
    expect(october).toMatchObject({ tracked: false, lifeToDateUnits: null });
    expect(october.notes).toContain('no meter readings counted in or before this period (usage counts readings from when rules.depreciation is configured; `assetbridge assets meters` shows earlier ones)');
    expect(plan(cal, s, '2026-10', '2026-11-05T00:00:00Z')).toMatchObject({ kind: 'new', deliveries: [], ledger: undefined });
  });

  it('at the period’s end instant the period is no longer open', () => {
    // Kills: `now <= end` for "period still open" (periods are [start, end)).
    const cal = monthlyCalendar('UTC');
    const october = cal.period('2026-10') as Period;
    const s = stateAfter(cal, [meter('2026-10-01T00:00:00Z', 1000), meter('2026-10-20T00:00:00Z', 1050)]);
    expect(usageFor(asset, s, october, DEFAULT_DEPRECIATION_ATTRIBUTES, october.end - 1).notes).toContain('period still open: usage so far');
    expect(usageFor(asset, s, october, DEFAULT_DEPRECIATION_ATTRIBUTES, october.end).notes).not.toContain('period still open: usage so far');
  });

  it('a period that has not begun is said to be so, not "still open: usage so far"', () => {
    const cal = monthlyCalendar('UTC');
    const october = cal.period('2026-10') as Period;
    const s = stateAfter(cal, [meter('2026-09-01T00:00:00Z', 1000), meter('2026-09-20T00:00:00Z', 1050)]);
    const notes = usageFor(asset, s, october, DEFAULT_DEPRECIATION_ATTRIBUTES, october.start - 1).notes;
    expect(notes).toContain('period not begun yet: no usage can be known');
    expect(notes).not.toContain('period still open: usage so far');
    expect(usageFor(asset, s, october, DEFAULT_DEPRECIATION_ATTRIBUTES, october.start).notes).toContain('period still open: usage so far');
  });
});

describe('usage lines: financial inputs', () => {
  const cal = monthlyCalendar('UTC');
  const october = cal.period('2026-10') as Period;
  const s = stateAfter(cal, [meter('2026-10-01T00:00:00Z', 1000), meter('2026-10-20T00:00:00Z', 1100)]);
  const now = Date.parse('2026-11-05T00:00:00Z');

  it('without a salvage attribute the whole cost is depreciated', () => {
    // Kills: a missing salvage making both charges unknown.
    const noSalvage: AssetRecord = { ...asset, attributes: { cost: '50000', expectedUnits: '10000', usefulLifeMonths: '50' } };
    expect(usageFor(noSalvage, s, october, DEFAULT_DEPRECIATION_ATTRIBUTES, now)).toMatchObject({ salvage: 0, periodUnits: 100, unitsOfProduction: 500, straightLine: 1000 });
  });

  it('life-to-date units are never negative: units at acquisition above the meter are an invalid input, life-to-date not known', () => {
    // Kills: dropping the check of meterAtEnd − unitsAtAcquisition (posted as 0, or negative).
    const used: AssetRecord = { ...asset, attributes: { ...asset.attributes, unitsAtAcquisition: '5000' } };
    const line = usageFor(used, s, october, DEFAULT_DEPRECIATION_ATTRIBUTES, now);
    expect(line).toMatchObject({ meterAtEnd: 1100, lifeToDateUnits: null, invalidInputs: [{ input: 'unitsAtAcquisition', attribute: 'unitsAtAcquisition', value: '5000' }] });
    expect(line.notes).toContain(
      `invalid attribute "unitsAtAcquisition" (5000) of asset ${asset.erpAssetId} is above its tracked meter at the end of 2026-10 (1,100 h): life-to-date units would be negative; give the units the asset's meter showed when acquired (at most what it shows now), or reset the meter if it was replaced ('assets reset-meter')`,
    );
    const usedLess: AssetRecord = { ...asset, attributes: { ...asset.attributes, unitsAtAcquisition: '400' } };
    expect(usageFor(usedLess, s, october, DEFAULT_DEPRECIATION_ATTRIBUTES, now)).toMatchObject({ lifeToDateUnits: 700 });
  });
});

describe('usage lines: rounding noise against a posting', () => {
  const cal = monthlyCalendar('UTC');
  const november = cal.period('2026-11') as Period;
  const now = Date.parse('2026-12-05T00:00:00Z');
  // November: 100 h used, the meter 0.001 h above what October's posting plus those 100 h make.
  const state: UsageState = { first: [Date.parse('2026-10-01T00:00:00Z'), 900], last: [Date.parse('2026-11-20T00:00:00Z'), 1100.001], periods: { '2026-11': { units: 100, meterAtEnd: 1100.001 } } };

  it('a thousandth of an hour is not a prior-period adjustment', () => {
    // Kills: `adjustment < 0` as the no-adjustment test (noise would be posted as an adjustment).
    const line = usageFor(asset, state, november, DEFAULT_DEPRECIATION_ATTRIBUTES, now, undefined, { after: { period: '2026-10', meter: 'hours', meterAtEnd: 1000, readingAt: Date.parse('2026-10-31T12:00:00Z') }, calendar: cal });
    expect(line).toMatchObject({ periodUnits: 100.001, adjustmentUnits: 0, adjustmentPeriods: [] });
    expect(line.notes.some((n) => n.startsWith('includes'))).toBe(false);
    expect(usagePostDelivery(line, 'erp', 'UTC').payload).not.toHaveProperty('adjustmentUnits');
  });

  it('a posted period whose meter moved by noise only is shown as "posted", with nothing carried', () => {
    // Kills: `since > 0` for "units found since".
    const posted = { periodUnits: 100, meterAtEnd: 1100, adjustmentUnits: 0, adjustmentPeriods: [] };
    expect(usageFor(asset, state, november, DEFAULT_DEPRECIATION_ATTRIBUTES, now, undefined, { posted }).notes).toEqual(['posted', `last reading ${new Date(state.last?.[0] ?? 0).toISOString()} is before the period end: later usage is not yet known`]);
    const moved = { ...posted, meterAtEnd: 1090 };
    expect(usageFor(asset, state, november, DEFAULT_DEPRECIATION_ATTRIBUTES, now, undefined, { posted: moved }).notes).toContain('posted; 10.001 units found since are carried into the next posting');
    // Said as every amount in a note is (formatAmount): digits grouped, as the next posting's "includes 2,000 units" says it.
    const far = { ...posted, meterAtEnd: 100 };
    expect(usageFor(asset, state, november, DEFAULT_DEPRECIATION_ATTRIBUTES, now, undefined, { posted: far }).notes).toContain('posted; 1,000.001 units found since are carried into the next posting');
  });
});

describe('usage output formats', () => {
  it('CSV columns hold the values their headers name', () => {
    // Kills: two value columns swapped under the header.
    const cal = monthlyCalendar('UTC');
    const s = stateAfter(cal, [meter('2026-10-01T00:00:00Z', 1000), meter('2026-10-20T00:00:00Z', 1100)]);
    const line = usageFor(asset, s, cal.period('2026-10') as Period, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.parse('2026-11-05T00:00:00Z'));
    const [row] = parse<Record<string, string>>(usageCsv([line]), { columns: true });
    expect(row).toMatchObject({
      erpAssetId: 'FA-1',
      period: '2026-10',
      meter: 'hours',
      periodUnits: '100',
      lifeToDateUnits: '1100',
      totalExpectedUnits: '10000',
      cost: '100000',
      salvage: '10000',
      usefulLifePeriods: '60',
      unitsOfProduction: '900',
      straightLine: '1500',
      adjustmentUnits: '0',
      adjustmentPeriods: '',
    });
  });

  // Listed period ids may hold spaces and ':' (only '|' is refused): the cell was "FY 27 P1:2.5 FY 27 P2:1",
  // which splits on spaces into "FY", "27", "P1:2.5", ... and cannot be read back.
  it('the adjustmentPeriods cell reads back as the periods it lists, whatever their ids hold but "|"', () => {
    const cal = monthlyCalendar('UTC');
    const s = stateAfter(cal, [meter('2026-10-01T00:00:00Z', 1000), meter('2026-10-20T00:00:00Z', 1100)]);
    const base = usageFor(asset, s, cal.period('2026-10') as Period, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.parse('2026-11-05T00:00:00Z'));
    const periods: PriorPeriodUnits[] = [
      { period: '=P0, "q"', units: 0.125 },
      { period: 'FY 27 P1', units: 2.5 },
      { period: 'FY27:P02', units: 1 },
      { period: 'P4\nnext', units: 3 },
      { period: 'C:\\P5\\', units: 2 }, // a '\' an id holds comes back as it was (written escaped, read unescaped)
    ];
    const [row] = parse<Record<string, string>>(usageCsv([{ ...base, adjustmentUnits: 6.625, adjustmentPeriods: periods }]), { columns: true });
    expect(row?.adjustmentPeriods).toBe(`'${adjustmentPeriodsCell(periods)}`); // a leading '=' is guarded against formulas
    expect(parseAdjustmentPeriodsCell(csvCellValue(row?.adjustmentPeriods ?? ''))).toEqual(periods);
    expect(adjustmentPeriodsCell([{ period: 'FY 27 P1', units: 2.5 }, { period: 'FY27:P02', units: 1 }])).toBe('FY 27 P1:2.5|FY27:P02:1');
    expect([parseAdjustmentPeriodsCell(''), parseAdjustmentPeriodsCell('2026-10:4')]).toEqual([[], [{ period: '2026-10', units: 4 }]]);
  });

  // Notes hold "; " themselves ("posted; 3 units found since …"): joined by "; ", as the cell was, two notes could
  // not be told from one. Now '|' separates them and a '\\' escapes a '|' or '\\' a note holds.
  it('the notes cell reads back as the notes it lists, whatever they hold', () => {
    const cal = monthlyCalendar('UTC');
    const s = stateAfter(cal, [meter('2026-10-01T00:00:00Z', 1000), meter('2026-10-20T00:00:00Z', 1100)]);
    const base = usageFor(asset, s, cal.period('2026-10') as Period, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.parse('2026-11-05T00:00:00Z'));
    const notes = ['posted; 3 units found since are carried into the next posting', 'period still open: usage so far', 'meter: a|b \\ c\\|', '=x, "q"\nnext', ''];
    const [row] = parse<Record<string, string>>(usageCsv([{ ...base, notes }]), { columns: true });
    expect(parseNotesCell(csvCellValue(row?.notes ?? ''))).toEqual(notes);
    expect(notesCell(['posted; 3 units found since', 'period still open'])).toBe('posted; 3 units found since|period still open');
    expect(notesCell(['a|b\\'])).toBe('a\\|b\\\\');
    expect([parseNotesCell(''), parseNotesCell('one; two')]).toEqual([[], ['one; two']]);
  });

  it('a posting names the period in the calendar’s time zone, with its boundaries as instants', () => {
    // Kills: a fixed time zone in the payload.
    const cal = monthlyCalendar('America/New_York');
    const s = stateAfter(cal, [meter('2026-10-01T12:00:00Z', 1000), meter('2026-10-20T00:00:00Z', 1100)]);
    const p = plan(cal, s, '2026-10', '2026-11-05T00:00:00Z');
    expect(p.kind === 'new' && p.deliveries[0]?.payload).toMatchObject({ period: '2026-10', timeZone: 'America/New_York', periodStart: '2026-10-01T04:00:00.000Z', periodEnd: '2026-11-01T04:00:00.000Z' });
  });
});
