/**
 * A changed depreciation calendar: usage filed under another one is held (not counted into, not
 * posted with other boundaries) until it is restored; listing more periods is no change; state
 * written before calendars were recorded counts as filed under the configured one.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { MeterEvent } from '../../model/events.js';
import { simulateRules } from '../simulate.js';
import { customCalendar, monthlyCalendar, periodStamp, type Period, type PeriodCalendar } from './calendar.js';
import { planUsagePosting } from './posting.js';
import { DEFAULT_DEPRECIATION_ATTRIBUTES, DEFAULT_USAGE_UNITS } from './usage.js';
import { createUsageRule, filedUnderOtherCalendar, type UsageState } from './usage-rule.js';

const asset: AssetRecord = { erpAssetId: 'FA-1', erpModule: 'fixed-assets', attributes: {} };
const meter = (at: string, hours: number): MeterEvent => ({ kind: 'meter', source: 't', ids: [{ type: 'erp', value: 'FA-1' }], eventTime: Date.parse(at), receivedAt: Date.parse(at), operatingHours: hours });
const run = (calendar: PeriodCalendar, events: readonly MeterEvent[], initial?: UsageState): UsageState => {
  const r = simulateRules([createUsageRule({ calendar, allowedLatenessMs: 0 })], events.map((event) => ({ event, asset, destination: 'erp' })), initial ? { initial: new Map([['FA-1', { depreciation: initial }]]) } : {});
  return r.states.get('FA-1')?.depreciation as UsageState;
};
const plan = (state: UsageState, calendar: PeriodCalendar, id: string) =>
  planUsagePosting({ asset, state, ledger: undefined, period: calendar.period(id) as Period, calendar, attributes: DEFAULT_DEPRECIATION_ATTRIBUTES, now: Date.parse('2027-03-01T00:00:00Z'), destination: 'erp', units: DEFAULT_USAGE_UNITS });

const berlin = monthlyCalendar('Europe/Berlin');
const utc = monthlyCalendar('UTC');
const fy = (end: string, more: readonly { id: string; start: string }[] = []) =>
  customCalendar('Europe/Berlin', [{ id: 'P01', start: '2026-10-01' }, { id: 'P02', start: '2026-11-01' }, ...more], end);

describe('depreciation calendar changes', () => {
  it('usage state records the calendar its periods are filed under', () => {
    const s = run(berlin, [meter('2026-10-05T00:00:00Z', 100), meter('2026-11-05T00:00:00Z', 200)]);
    expect(s.cal).toBe(periodStamp(berlin, ['2026-10', '2026-11']));
    expect(s.cal).toMatch(/^monthly Europe\/Berlin [0-9a-f]{8}$/);
    expect(filedUnderOtherCalendar(s, berlin)).toBe(false);
    expect(filedUnderOtherCalendar(s, utc)).toBe(true);
  });

  it('under another time zone, the periods are held: a reading adds nothing to them (it is counted, its usage kept for the release), and nothing is posted', () => {
    const s = run(berlin, [meter('2026-10-05T00:00:00Z', 100), meter('2026-11-05T00:00:00Z', 200)]);
    const after = run(utc, [meter('2026-12-05T00:00:00Z', 300)], s);
    expect(after.periods).toEqual(s.periods);
    expect(after.cal).toBe(s.cal);
    expect(after.last).toEqual([Date.parse('2026-12-05T00:00:00Z'), 300]);
    expect(after.heldFrom).toEqual(s.last);
    const p = plan(after, utc, '2026-11');
    expect(p.kind).toBe('held');
    expect(p.kind === 'held' && p.reason).toBe(
      "its usage is filed in periods of another calendar (monthly Europe/Berlin) than the configured one (monthly UTC): set rules.depreciation.timeZone, periods and periodsEnd (the calendar) back to the one it was filed under, or keep this one and re-file the usage under it with 'assetbridge depreciation refile'",
    );
    // Then what was read since the hold began, as a re-file would file it (calendar-hold.test.ts).
    expect(p.line.notes.slice(-2)).toEqual([expect.stringMatching(/^held back, not posted: its usage is filed in periods of another calendar/), expect.stringMatching(/^held, pending re-file: /)]);
    // Restored: the reading after is spread from the last one filed, December's included, and posted.
    const restored = run(berlin, [meter('2026-12-05T00:00:00Z', 300)], after);
    expect(Object.keys(restored.periods ?? {}).sort()).toEqual(['2026-10', '2026-11', '2026-12']);
    expect(plan(restored, berlin, '2026-11').kind).toBe('new');
  });

  it("a held line's units-of-production charge of its held usage, capped at the expected total as a line's own: shown, never posted", () => {
    const s = run(berlin, [meter('2026-10-05T00:00:00Z', 100), meter('2026-11-05T00:00:00Z', 200)]);
    // Held since 5 November (200 h); 300 h on 5 December: 100 h over 30 days, 26 of them in UTC's November.
    const after = run(utc, [meter('2026-12-05T00:00:00Z', 300)], s);
    const heldPlan = (attributes: Record<string, string>, id: string) =>
      planUsagePosting({ asset: { ...asset, attributes }, state: after, ledger: undefined, period: utc.period(id) as Period, calendar: utc, attributes: DEFAULT_DEPRECIATION_ATTRIBUTES, now: Date.parse('2027-03-01T00:00:00Z'), destination: 'erp', units: DEFAULT_USAGE_UNITS });
    // 10 per unit: (12,000 − 2,000) ÷ 1,000 expected units.
    const inputs = { cost: '12000', salvage: '2000', expectedUnits: '1000' };
    const nov = heldPlan(inputs, '2026-11');
    expect(nov.kind).toBe('held');
    expect(nov.line.held?.units).toBe(86.667);
    expect(nov.line.held?.unitsOfProduction).toBe(866.67);
    expect(nov.line.notes.at(-1)).toMatch(/, units of production 866\.67 \(HELD UOP\), what they would depreciate once re-filed and posted; not posted until the usage is re-filed/);
    // December: nothing filed (the filed periods are Berlin's), so the line's own charge is 0; the held usage's is shown beside it.
    const dec = heldPlan(inputs, '2026-12');
    expect(dec.kind).toBe('held');
    expect(dec.line.unitsOfProduction).toBe(0);
    expect(dec.line.held).toMatchObject({ units: 13.333, lifeToDateUnits: 300, unitsOfProduction: 133.33 });
    // 290 expected units: December's held life-to-date (300) passes it, with 3.333 units left before it (10,000 × 3.333 ÷ 290).
    expect(heldPlan({ ...inputs, expectedUnits: '290' }, '2026-12').line.held).toMatchObject({ units: 13.333, unitsOfProduction: 114.93 });
    // Passed before the period: nothing left to charge.
    expect(heldPlan({ ...inputs, expectedUnits: '250' }, '2026-12').line.held?.unitsOfProduction).toBe(0);
    // Without an expected total, no charge to show (and none said in the note).
    const none = heldPlan({ cost: '12000' }, '2026-12');
    expect(none.line.held).toMatchObject({ units: 13.333, unitsOfProduction: null });
    expect(none.line.notes.at(-1)).not.toContain('HELD UOP');
  });

  it('held under a calendar with other period ids: the calendar change is the reason given, not periods dropped from the kept history', () => {
    const s = run(berlin, [meter('2026-10-05T00:00:00Z', 100), meter('2026-11-05T00:00:00Z', 200)]);
    const p = plan(s, fy('2026-12-01'), 'P02');
    expect(p.kind).toBe('held');
    expect(p.line.incomplete).toBeUndefined();
    expect(p.line.notes.filter((n) => n.includes('kept history'))).toEqual([]);
    expect(p.line.notes.at(-1)).toMatch(/^held back, not posted: its usage is filed in periods of another calendar \(monthly Europe\/Berlin\)/);
  });

  it('another spelling of the same zone is the same calendar: state filed under it (before config load canonicalised zones) is not held', () => {
    const ids = ['2026-10', '2026-11'];
    const events = [meter('2026-10-05T00:00:00Z', 100), meter('2026-11-05T00:00:00Z', 200)];
    for (const [typed, zone] of [['europe/berlin', 'Europe/Berlin'], ['Etc/UTC', 'UTC'], ['US/Eastern', 'America/New_York']] as const) {
      const s = run(monthlyCalendar(typed), events);
      expect(s.cal?.startsWith(`monthly ${typed} `)).toBe(true);
      expect(filedUnderOtherCalendar(s, monthlyCalendar(zone))).toBe(false);
      expect(plan(s, monthlyCalendar(zone), '2026-10').kind).toBe('new');
      expect(Object.keys(run(monthlyCalendar(zone), [meter('2026-12-05T00:00:00Z', 300)], s).periods ?? {}).sort()).toEqual([...ids, '2026-12']);
    }
    // A custom calendar too; another zone still is another calendar.
    const typedFy = customCalendar('europe/berlin', [{ id: 'P01', start: '2026-10-01' }, { id: 'P02', start: '2026-11-01' }], '2026-12-01');
    expect(filedUnderOtherCalendar(run(typedFy, events), fy('2026-12-01'))).toBe(false);
    expect(filedUnderOtherCalendar(run(monthlyCalendar('europe/berlin'), events), monthlyCalendar('Europe/Paris'))).toBe(true);
    // Spelt otherwise and with a moved start: said as other periods of the same calendar, not another one.
    const moved = customCalendar('Europe/Berlin', [{ id: 'P01', start: '2026-10-01' }, { id: 'P02', start: '2026-11-08' }], '2026-12-01');
    const held = plan(run(typedFy, events), moved, 'P02');
    expect(held.kind === 'held' && held.reason).toMatch(/^its usage is filed in periods of another calendar \(custom europe\/berlin, with other periods\) than the configured one \(custom Europe\/Berlin, changed\)/);
  });

  it('a custom calendar that lists more periods (a new fiscal year) is no change; a moved start is', () => {
    const s = run(fy('2026-12-01'), [meter('2026-10-05T00:00:00Z', 100), meter('2026-11-05T00:00:00Z', 200)]);
    const longer = fy('2027-01-01', [{ id: 'P03', start: '2026-12-01' }]);
    expect(filedUnderOtherCalendar(s, longer)).toBe(false);
    expect(Object.keys(run(longer, [meter('2026-12-05T00:00:00Z', 300)], s).periods ?? {}).sort()).toEqual(['P01', 'P02', 'P03']);
    const moved = customCalendar('Europe/Berlin', [{ id: 'P01', start: '2026-10-01' }, { id: 'P02', start: '2026-11-08' }], '2026-12-01');
    expect(filedUnderOtherCalendar(s, moved)).toBe(true);
    expect(plan(s, moved, 'P02').kind).toBe('held');
  });

  it('an asset with no period filed yet (readings before a listed calendar\'s first period) is held by no change', () => {
    const early = run(fy('2026-12-01'), [meter('2026-09-05T00:00:00Z', 100)]);
    expect(early.periods).toEqual({});
    expect(early.cal).toBeDefined();
    expect(filedUnderOtherCalendar(early, utc)).toBe(false);
    expect(Object.keys(run(utc, [meter('2026-10-05T00:00:00Z', 130)], early).periods ?? {})).toEqual(['2026-09', '2026-10']);
  });

  it('state written before calendars were recorded counts as filed under the configured one, and is stamped with it', () => {
    const legacy: UsageState = { first: [Date.parse('2026-10-05T00:00:00Z'), 100], last: [Date.parse('2026-11-05T00:00:00Z'), 200], periods: { '2026-10': { units: 50, meterAtEnd: 150 }, '2026-11': { units: 50, meterAtEnd: 200 } } };
    expect(filedUnderOtherCalendar(legacy, utc)).toBe(false);
    expect(plan(legacy, utc, '2026-11').kind).toBe('new');
    expect(run(utc, [meter('2026-11-20T00:00:00Z', 210)], legacy).cal).toBe(periodStamp(utc, ['2026-10', '2026-11']));
  });
});
