/**
 * Re-filing usage under a new calendar (`depreciation refile`): new boundaries in another time
 * zone, a 4-4-5 calendar, and postings made under the old one never posted again.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { MeterEvent } from '../../model/events.js';
import { simulateRules } from '../simulate.js';
import { customCalendar, monthlyCalendar, periodStamp, type Period, type PeriodCalendar } from './calendar.js';
import { planUsagePosting, type UsageLedger } from './posting.js';
import { filedCalendar, postedThrough, refiledLedger, refileUsage } from './refile.js';
import { DEFAULT_DEPRECIATION_ATTRIBUTES, DEFAULT_USAGE_UNITS } from './usage.js';
import { createUsageRule, filedUnderOtherCalendar, type UsageState } from './usage-rule.js';

const asset: AssetRecord = { erpAssetId: 'FA-1', erpModule: 'fixed-assets', attributes: {} };
const DAY = 86_400_000;
const meter = (t: number, hours: number): MeterEvent => ({ kind: 'meter', source: 't', ids: [{ type: 'erp', value: 'FA-1' }], eventTime: t, receivedAt: t, operatingHours: hours });
const run = (calendar: PeriodCalendar, events: readonly MeterEvent[], initial?: UsageState): UsageState => {
  const r = simulateRules([createUsageRule({ calendar, allowedLatenessMs: 0 })], events.map((event) => ({ event, asset, destination: 'erp' })), initial ? { initial: new Map([['FA-1', { depreciation: initial }]]) } : {});
  return r.states.get('FA-1')?.depreciation as UsageState;
};
/** A reading every day at noon UTC from `from` for `days` days, at `rate(day)` hours a day. */
const daily = (from: string, days: number, start: number, rate: (i: number) => number = () => 10): MeterEvent[] => {
  const out: MeterEvent[] = [];
  let h = start;
  for (let i = 0; i < days; i++) {
    out.push(meter(Date.parse(from) + i * DAY, h));
    h += rate(i);
  }
  return out;
};

const utc = monthlyCalendar('UTC');
const berlin = monthlyCalendar('Europe/Berlin');
/** A 4-4-5 fiscal year (weeks), in UTC. */
const fy445 = customCalendar(
  'UTC',
  [
    { id: 'P01', start: '2026-01-04' },
    { id: 'P02', start: '2026-02-01' },
    { id: 'P03', start: '2026-03-01' },
    { id: 'P04', start: '2026-04-05' },
    { id: 'P05', start: '2026-05-03' },
    { id: 'P06', start: '2026-05-31' },
    { id: 'P07', start: '2026-07-05' },
  ],
  '2026-08-02',
);

describe('refileUsage', () => {
  it('finds the calendar the state was filed under among candidates, by its stamp', () => {
    const s = run(berlin, daily('2026-10-01T12:00:00Z', 40, 0));
    expect(filedCalendar(s, [utc, fy445, berlin])).toBe(berlin);
    expect(filedCalendar(s, [utc])).toBeUndefined();
  });

  it('re-files usage filed in Berlin months into UTC months: boundaries at UTC midnight, stamped with the new calendar, no longer held', () => {
    // 10 h a day from 1 October 12:00 UTC to 14 November 12:00 UTC.
    const s = run(berlin, daily('2026-10-01T12:00:00Z', 45, 0));
    expect(filedUnderOtherCalendar(s, utc)).toBe(true);
    const r = refileUsage(s, berlin, utc);
    expect(r.periods.map((p) => [p.id, p.units, p.meterAtEnd])).toEqual([
      // 30.5 days to 1 November 00:00 UTC (Berlin's October ended an hour earlier).
      ['2026-10', 305, 305],
      ['2026-11', 135, 440],
    ]);
    expect(r.state.cal).toBe(periodStamp(utc, ['2026-10', '2026-11']));
    expect(filedUnderOtherCalendar(r.state, utc)).toBe(false);
    expect(r.state.first).toEqual(s.first);
    expect(r.state.last).toEqual(s.last);
    expect(r.state.hours).toEqual(s.hours);
    expect(r.old.map((p) => p.id)).toEqual(['2026-10', '2026-11']);
    // A reading after carries on under the new calendar.
    const after = run(utc, [meter(Date.parse('2026-11-20T12:00:00Z'), 500)], r.state);
    expect(after.periods?.['2026-11']).toEqual({ units: 195, meterAtEnd: 500 });
  });

  it('interpolates between the known points: the first reading, the old periods\' ends, the last reading', () => {
    // No usage in October (Berlin), 100 h in November: the UTC boundary falls in October's last Berlin hour.
    const s = run(berlin, [meter(Date.parse('2026-10-01T12:00:00Z'), 0), meter(Date.parse('2026-10-31T23:00:00Z'), 0), meter(Date.parse('2026-11-30T23:00:00Z'), 100)]);
    const r = refileUsage(s, berlin, utc);
    // The meter is known at Berlin's October end (0) and at the last reading (100): 1 hour of 30 days in UTC's October.
    expect(r.periods.map((p) => [p.id, p.units])).toEqual([
      ['2026-10', 0.138889],
      ['2026-11', 99.861111],
    ]);
  });

  it('re-files monthly usage into a 4-4-5 calendar; time before its first period gets nothing', () => {
    // 10 h a day from 1 January to 19 April 12:00 UTC.
    const s = run(utc, daily('2026-01-01T12:00:00Z', 109, 0));
    const r = refileUsage(s, utc, fy445);
    expect(r.periods.map((p) => [p.id, p.units])).toEqual([
      ['P01', 280],
      ['P02', 280],
      ['P03', 350],
      ['P04', 145],
    ]);
    expect(r.periods.at(-1)?.meterAtEnd).toBe(1080);
    expect(Object.keys(r.state.periods ?? {})).toEqual(['P01', 'P02', 'P03', 'P04']);
    expect(r.coveredThrough).toBeUndefined();
  });

  it('keeps the newest keepPeriods in full and the older ones\' units', () => {
    const s = run(utc, daily('2026-01-01T12:00:00Z', 109, 0));
    const r = refileUsage(s, utc, fy445, { keepPeriods: 2 });
    expect(Object.keys(r.state.periods ?? {})).toEqual(['P03', 'P04']);
    expect(r.state.pruned).toEqual({ P01: 280, P02: 280 });
  });

  it('postings made cover their time: periods ending by the last posted end are covered, a straddling one counts only units after it', () => {
    const s = run(utc, daily('2026-01-01T12:00:00Z', 109, 0));
    // January and February (UTC) were posted: through 1 March 00:00 UTC.
    const r = refileUsage(s, utc, customCalendar('UTC', [{ id: 'Q1', start: '2026-01-04' }, { id: 'Q2', start: '2026-02-01' }, { id: 'Q3', start: '2026-03-08' }], '2026-04-05'), {
      posted: { period: '2026-02', end: Date.parse('2026-03-01T00:00:00Z') },
    });
    expect(r.periods.map((p) => [p.id, p.units, p.posted])).toEqual([
      ['Q1', 280, 'covered'],
      ['Q2', 70, 'straddles'],
      ['Q3', 280, undefined],
    ]);
    expect(r.coveredThrough).toBe('Q1');
    expect(r.notes).toEqual([
      'Q1 end by the end of 2026-02 (2026-03-01T00:00:00.000Z), the last period posted: covered by the postings made, not posted again',
      'Q2 straddles the end of 2026-02 (2026-03-01T00:00:00.000Z), the last period posted: only its 70 units after that are counted',
    ]);
  });

  it('a straddling period with the id of one posted under the old calendar is covered: its units after are carried into the next posting', () => {
    const s = run(berlin, daily('2026-01-01T12:00:00Z', 80, 0));
    const r = refileUsage(s, berlin, utc, { posted: { period: '2026-02', end: berlin.period('2026-02')!.end } });
    expect(r.periods.map((p) => [p.id, p.posted])).toEqual([
      ['2026-01', 'covered'],
      ['2026-02', 'covered'],
      ['2026-03', undefined],
    ]);
    expect(r.coveredThrough).toBe('2026-02');
    expect(r.periods[1]?.units).toBeCloseTo(10 / 24, 5);
  });
});

/** Posts `ids` in turn as the posting task does (ledger first), keeping each fact once by its business key; the ledger after. */
function postAll(state: UsageState, calendar: PeriodCalendar, ids: readonly string[], ledger: UsageLedger | undefined, facts: Map<string, DeliveryIntent>, now: number): UsageLedger | undefined {
  let l = ledger;
  for (const id of ids) {
    const plan = planUsagePosting({ asset, state, ledger: l, period: calendar.period(id) as Period, calendar, attributes: DEFAULT_DEPRECIATION_ATTRIBUTES, now, destination: 'erp', units: DEFAULT_USAGE_UNITS });
    expect(plan.kind).not.toBe('held');
    if (plan.kind === 'new' && plan.ledger) l = plan.ledger;
    if (plan.kind === 'new' || plan.kind === 'decided') for (const d of plan.deliveries) if (!facts.has(d.businessKey)) facts.set(d.businessKey, d); // the outbox keeps a fact once
  }
  return l;
}

const postedUnits = (facts: Map<string, DeliveryIntent>) => Math.round([...facts.values()].reduce((n, d) => n + (d.payload.periodUnits as number), 0) * 1000) / 1000;

describe('refile and posting: no hour lost, none posted twice', () => {
  // Uneven use: 2, 6 or 10 h a day.
  const readings = daily('2026-01-01T12:00:00Z', 181, 500, (i) => 2 + (i % 3) * 4);
  const total = (readings.at(-1)?.operatingHours as number) - (readings[0]?.operatingHours as number);
  const split = (t: string) => [readings.filter((e) => e.eventTime < Date.parse(t)), readings.filter((e) => e.eventTime >= Date.parse(t))] as const;

  it('from monthly UTC to a 4-4-5 calendar, re-filed after March was posted', () => {
    const [before, after] = split('2026-04-10T00:00:00Z');
    const facts = new Map<string, DeliveryIntent>();
    const old = run(utc, before);
    let ledger = postAll(old, utc, ['2026-01', '2026-02', '2026-03'], undefined, facts, Date.parse('2026-04-10T00:00:00Z'));
    const through = postedThrough(ledger as UsageLedger, utc);
    expect(through).toEqual({ period: '2026-03', end: Date.parse('2026-04-01T00:00:00Z') });
    const r = refileUsage(old, utc, fy445, { posted: through! });
    // P03 ends 5 April: it straddles the end of March.
    expect(r.coveredThrough).toBe('P02');
    ledger = refiledLedger(ledger as UsageLedger, r);
    const state = run(fy445, after, r.state);
    postAll(state, fy445, ['P01', 'P02', 'P03', 'P04', 'P05', 'P06', 'P07'], ledger, facts, Date.parse('2026-08-10T00:00:00Z'));
    expect([...facts.keys()]).toEqual(['FA-1|usage|2026-01', 'FA-1|usage|2026-02', 'FA-1|usage|2026-03', 'FA-1|usage|P03', 'FA-1|usage|P04', 'FA-1|usage|P05', 'FA-1|usage|P06', 'FA-1|usage|P07']);
    expect(postedUnits(facts)).toBe(total);
  });

  it('from Berlin months to UTC months (the same period ids), re-filed after February was posted', () => {
    const [before, after] = split('2026-03-10T00:00:00Z');
    const facts = new Map<string, DeliveryIntent>();
    const old = run(berlin, before);
    let ledger = postAll(old, berlin, ['2026-01', '2026-02'], undefined, facts, Date.parse('2026-03-10T00:00:00Z'));
    const r = refileUsage(old, berlin, utc, { posted: postedThrough(ledger as UsageLedger, berlin)! });
    ledger = refiledLedger(ledger as UsageLedger, r);
    const state = run(utc, after, r.state);
    postAll(state, utc, ['2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06'], ledger, facts, Date.parse('2026-07-10T00:00:00Z'));
    expect(postedUnits(facts)).toBe(total);
    // UTC March carries the hour of February UTC after Berlin's February ended.
    expect(facts.get('FA-1|usage|2026-03')?.payload.adjustmentUnits).toBeGreaterThan(0);
  });

  it('a ledger already moved (a re-file stopped before the state was written) gives the same posted end: run again, it re-files the same', () => {
    const [before] = split('2026-04-10T00:00:00Z');
    const old = run(utc, before);
    const ledger = postAll(old, utc, ['2026-01', '2026-02', '2026-03'], undefined, new Map(), Date.parse('2026-04-10T00:00:00Z')) as UsageLedger;
    const r = refileUsage(old, utc, fy445, { posted: postedThrough(ledger, utc)! });
    const moved = refiledLedger(ledger, r);
    expect(moved.period).toBe('P02');
    expect(postedThrough(moved, utc)).toEqual(postedThrough(ledger, utc));
    expect(refiledLedger(moved, refileUsage(old, utc, fy445, { posted: postedThrough(moved, utc)! }))).toEqual(moved);
  });

  it('with the old-calendar ledger, not moved, a covered period is still not posted again: the ledger is placed by its posting’s end', () => {
    const [before] = split('2026-04-10T00:00:00Z');
    const facts = new Map<string, DeliveryIntent>();
    const old = run(utc, before);
    const ledger = postAll(old, utc, ['2026-01', '2026-02', '2026-03'], undefined, facts, Date.parse('2026-04-10T00:00:00Z'));
    const r = refileUsage(old, utc, fy445, { posted: postedThrough(ledger as UsageLedger, utc)! });
    const moved = postAll(r.state, fy445, ['P02'], refiledLedger(ledger as UsageLedger, r), new Map(), Date.parse('2026-04-10T00:00:00Z'));
    expect(moved?.period).toBe('P02');
    const again = new Map<string, DeliveryIntent>();
    postAll(r.state, fy445, ['P02'], ledger, again, Date.parse('2026-04-10T00:00:00Z'));
    expect([...again.keys()]).toEqual([]);
  });
});
