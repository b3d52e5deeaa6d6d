/**
 * Meter readings that arrive while an asset's usage is held by a calendar change (filed under
 * another calendar than the configured one): counted into the held state (the meter, hygiene, a
 * declared replacement, the latest reading), not filed into the held periods; at the release (a
 * re-file under the new calendar, or the calendar set back) their usage is filed, so nothing read
 * while held is lost. Both rule forms (pure and owned) run every case and must agree (the oracle).
 */
import { describe, expect, it } from 'vitest';
import { compareOwned, type OracleStep } from '../../../../test/helpers/owned-oracle.js';
import type { AssetRecord } from '../../model/assets.js';
import type { MeterEvent } from '../../model/events.js';
import { monthlyCalendar, type Period, type PeriodCalendar } from './calendar.js';
import { planUsagePosting } from './posting.js';
import { refileUsage } from './refile.js';
import { DEFAULT_DEPRECIATION_ATTRIBUTES, DEFAULT_USAGE_UNITS } from './usage.js';
import { createUsageRule, filedUnderOtherCalendar, MAX_HELD_SPREADS, type UsageState } from './usage-rule.js';
import type { OwnedUsageRule } from './usage-rule-owned.js';

const asset: AssetRecord = { erpAssetId: 'FA-1', erpModule: 'fixed-assets', attributes: {} };
const HOUR = 3_600_000;
const meter = (at: string, hours: number, reset = false): MeterEvent => ({
  kind: 'meter',
  source: 't',
  ids: [{ type: 'erp', value: 'FA-1' }],
  eventTime: Date.parse(at),
  receivedAt: Date.parse(at),
  operatingHours: hours,
  ...(reset ? { declaredReset: true } : {}),
});

const berlin = monthlyCalendar('Europe/Berlin');
const utc = monthlyCalendar('UTC');

/**
 * `events` (then a watermark at `flushAt`, when given) through both forms of the rule under
 * `calendar`, from `initial`: the oracle holds the owned form to the pure one at every step; the
 * state both end with.
 */
function run(calendar: PeriodCalendar, lateness: number, events: readonly MeterEvent[], initial?: UsageState, flushAt?: number): UsageState | undefined {
  const options = { calendar, allowedLatenessMs: lateness };
  const rule = createUsageRule(options);
  const owned = rule.owned?.() as OwnedUsageRule;
  const steps: OracleStep[] = [
    ...(initial ? [{ load: asset, state: initial }] : []),
    ...events.map((event) => ({ event, asset })),
    ...(flushAt !== undefined ? [{ flush: flushAt, asset }] : [{ flush: undefined, asset }]),
    { roundTrip: asset },
  ];
  compareOwned(rule, owned, steps);
  return owned.save(0) as UsageState | undefined;
}

const plan = (state: UsageState, calendar: PeriodCalendar, id: string) =>
  planUsagePosting({ asset, state, ledger: undefined, period: calendar.period(id) as Period, calendar, attributes: DEFAULT_DEPRECIATION_ATTRIBUTES, now: Date.parse('2027-03-01T00:00:00Z'), destination: 'erp', units: DEFAULT_USAGE_UNITS });

const units = (s: UsageState | undefined): number => Object.values(s?.periods ?? {}).reduce((n, p) => n + p.units, 0);

/** Filed under Berlin's months: 80 h on 5 October, 100 h on 5 November. */
const filed = (lateness: number) => run(berlin, lateness, [meter('2026-10-05T12:00:00Z', 80), meter('2026-11-05T12:00:00Z', 100)]) as UsageState;

describe.each([0, HOUR])('readings while held by a calendar change (allowedLateness %i ms), both rule forms', (lateness) => {
  it('readings 100 → 110 → 120 while held: counted into the held state, and filed at the re-file under the new calendar', () => {
    const before = filed(lateness);
    const held = run(utc, lateness, [meter('2026-12-05T12:00:00Z', 110), meter('2026-12-20T12:00:00Z', 120)], before) as UsageState;
    expect(filedUnderOtherCalendar(held, utc)).toBe(true);
    // The held periods are not written with other boundaries, and nothing is posted from them.
    expect(held.periods).toEqual(before.periods);
    expect(plan(held, utc, '2026-11').kind).toBe('held');
    // But the readings are counted: the latest one, the meter.
    expect(held.last).toEqual([Date.parse('2026-12-20T12:00:00Z'), 120]);
    expect(held.hours?.total).toBe(120);

    const r = refileUsage(held, berlin, utc);
    expect(filedUnderOtherCalendar(r.state, utc)).toBe(false);
    // Every hour from the first reading (80) to the newest (120) is in a period of the new calendar.
    expect(units(r.state)).toBeCloseTo(40, 6);
    expect(r.state.periods?.['2026-12']?.meterAtEnd).toBe(120);
    // November's end is read between the last reading filed (100 on 5 November) and the next (110 on 5 December), in proportion to time.
    const novEnd = 100 + (10 * (Date.parse('2026-12-01T00:00:00Z') - Date.parse('2026-11-05T12:00:00Z'))) / (Date.parse('2026-12-05T12:00:00Z') - Date.parse('2026-11-05T12:00:00Z'));
    expect(r.state.periods?.['2026-11']?.meterAtEnd).toBeCloseTo(novEnd, 5);
    // Posted after the re-file: December has its hours, all 40 add up.
    const after = run(utc, lateness, [], r.state);
    const dec = plan(after as UsageState, utc, '2026-12');
    expect(dec.kind).toBe('new');
    expect(dec.line.lifeToDateUnits).toBe(120);
    expect(dec.line.periodUnits).toBeCloseTo(120 - novEnd, 3);
  });

  it('the calendar set back instead: the readings read while held are filed in its periods, without waiting for the next reading', () => {
    const before = filed(lateness);
    const held = run(utc, lateness, [meter('2026-12-05T12:00:00Z', 110), meter('2026-12-20T12:00:00Z', 120)], before) as UsageState;
    // Posting reads the state as filed under the restored calendar: December's 120 h at its end.
    const dec = plan(held, berlin, '2026-12');
    expect(dec.kind).toBe('new');
    expect(dec.line.meterAtEnd).toBe(120);
    // From the meter at Berlin's December start, read between 100 (5 November) and 110 (5 December).
    const decStart = 100 + (10 * (Date.parse('2026-11-30T23:00:00Z') - Date.parse('2026-11-05T12:00:00Z'))) / (Date.parse('2026-12-05T12:00:00Z') - Date.parse('2026-11-05T12:00:00Z'));
    expect(dec.line.periodUnits).toBeCloseTo(120 - decStart, 3);
    // And the rule files them at its next step under it (a watermark), as the posting read them.
    const restored = run(berlin, lateness, [], held, Date.parse('2026-12-21T00:00:00Z')) as UsageState;
    expect(filedUnderOtherCalendar(restored, berlin)).toBe(false);
    expect(units(restored)).toBeCloseTo(40, 6);
    expect(restored.periods?.['2026-12']?.meterAtEnd).toBe(120);
    // A reading after: spread from the newest one read while held, not from 5 November.
    const next = run(berlin, lateness, [meter('2027-01-05T12:00:00Z', 130)], held) as UsageState;
    expect(units(next)).toBeCloseTo(50, 6);
    expect(next.periods?.['2026-12']?.meterAtEnd).toBeCloseTo(120 + (10 * (Date.parse('2026-12-31T23:00:00Z') - Date.parse('2026-12-20T12:00:00Z'))) / (Date.parse('2027-01-05T12:00:00Z') - Date.parse('2026-12-20T12:00:00Z')), 5);
  });

  it('a meter replacement declared while held is kept: the new meter’s readings count on after the re-file', () => {
    const before = filed(lateness);
    // The old meter read 110 on 5 December; replaced on 10 December (the new one at 0), reading 5 and 15 after.
    const held = run(
      utc,
      lateness,
      [meter('2026-12-05T12:00:00Z', 110), meter('2026-12-10T12:00:00Z', 0, true), meter('2026-12-15T12:00:00Z', 5), meter('2026-12-20T12:00:00Z', 15)],
      before,
    ) as UsageState;
    expect(held.meterIssue).toBeUndefined();
    expect(held.hours?.total).toBe(125);
    const r = refileUsage(held, berlin, utc);
    // A reading after the re-file, on the new meter: counted, not set aside as going backwards.
    const after = run(utc, lateness, [meter('2026-12-25T12:00:00Z', 20)], r.state) as UsageState;
    expect(after.meterIssue).toBeUndefined();
    expect(units(after)).toBeCloseTo(50, 6);
    expect(after.periods?.['2026-12']?.meterAtEnd).toBe(130);
  });
});

describe('readings while held: many, and with postings made before the change', () => {
  it('a long hold keeps at most MAX_HELD_SPREADS spreads (adjacent ones joined, within a period of the configured calendar first), and no hour is lost at the re-file', () => {
    const before = filed(0);
    // Every 2 hours from 6 November 01:00 to 25 December: 600 readings; it works in bursts (1 h per reading, three on, three off).
    const at = (k: number) => Date.parse('2026-11-06T01:00:00Z') + k * 2 * HOUR;
    const value = (k: number) => 100 + Array.from({ length: k + 1 }, (_, i) => (i % 6 < 3 ? 1 : 0)).reduce((a: number, b: number) => a + b, 0);
    const events = Array.from({ length: 600 }, (_, k) => meter(new Date(at(k)).toISOString(), value(k)));
    const held = run(utc, 0, events, before) as UsageState;
    expect(held.heldUsage?.length).toBeLessThanOrEqual(MAX_HELD_SPREADS);
    expect(held.last?.[1]).toBe(value(599));
    const r = refileUsage(held, berlin, utc);
    expect(units(r.state)).toBeCloseTo(value(599) - 80, 6);
    expect(r.state.periods?.['2026-12']?.meterAtEnd).toBe(value(599));
    // Spreads are joined within one period of the configured calendar (UTC's months) first: November's
    // end (1 December 00:00) is read between the readings on either side of it, as if none was joined.
    const novEnd = (value(299) + value(300)) / 2;
    expect(r.state.periods?.['2026-11']?.meterAtEnd).toBeCloseTo(novEnd, 6);
    expect(r.state.periods?.['2026-12']?.units).toBeCloseTo(value(599) - novEnd, 6);
  });

  it('a re-file with postings made: the periods the held readings add are posted after the last posting, not marked covered', () => {
    const before = filed(0);
    const held = run(utc, 0, [meter('2026-12-05T12:00:00Z', 110), meter('2027-01-20T12:00:00Z', 130)], before) as UsageState;
    // October was posted under Berlin's months (through 31 October 23:00 UTC).
    const r = refileUsage(held, berlin, utc, { posted: { period: '2026-10', end: Date.parse('2026-10-31T23:00:00Z') } });
    expect(r.periods.map((p) => [p.id, p.posted])).toEqual([
      ['2026-10', 'covered'],
      ['2026-11', undefined],
      ['2026-12', undefined],
      ['2027-01', undefined],
    ]);
    expect(r.periods.at(-1)?.meterAtEnd).toBe(130);
    expect(r.coveredThrough).toBe('2026-10');
  });
});

describe('what a preview shows of a held asset: the usage read while held, as a re-file would file it', () => {
  it('in a period after the hold began, its units and life-to-date as the re-file under the configured calendar gives them; nothing posted, the filed figures unchanged', () => {
    const before = filed(0);
    const held = run(utc, 0, [meter('2026-12-05T12:00:00Z', 110), meter('2026-12-20T12:00:00Z', 120), meter('2027-01-10T12:00:00Z', 130)], before) as UsageState;
    const refiled = refileUsage(held, berlin, utc).state.periods ?? {};
    const dec = plan(held, utc, '2026-12');
    expect(dec.kind).toBe('held');
    // The filed periods know nothing of December: what a posting would say is not changed.
    expect(dec.line.lifeToDateUnits).toBeNull();
    expect(dec.line.held?.units).toBeCloseTo(refiled['2026-12']?.units ?? NaN, 3);
    expect(dec.line.held?.lifeToDateUnits).toBeCloseTo(refiled['2026-12']?.meterAtEnd ?? NaN, 3);
    expect(dec.line.held?.since).toBe(Date.parse('2026-11-05T12:00:00Z'));
    expect(dec.line.notes.at(-1)).toMatch(/^held, pending re-file: [\d.]+ h read since the hold began \(2026-11-05T12:00:00\.000Z\) would file in 2026-12 under the configured calendar, life-to-date [\d.]+ h at its end; not posted until/);
    // January, still open at its latest reading: the meter then.
    expect(plan(held, utc, '2027-01').line.held).toMatchObject({ lifeToDateUnits: 130 });
    // The period the hold began in: only the units read after it, to the meter at its end under the configured calendar.
    const nov = plan(held, utc, '2026-11');
    expect(nov.line.held?.lifeToDateUnits).toBeCloseTo(refiled['2026-11']?.meterAtEnd ?? NaN, 3);
    expect(nov.line.held?.units).toBeCloseTo((refiled['2026-11']?.meterAtEnd ?? NaN) - 100, 3);
    // A period that ended before the hold began: nothing held in it.
    expect(plan(held, utc, '2026-10').line.held).toBeUndefined();
  });

  it('units at acquisition are taken off the life-to-date, as a posting counts it; an asset filed under the configured calendar has no held usage', () => {
    const before = filed(0);
    const held = run(utc, 0, [meter('2026-12-05T12:00:00Z', 110)], before) as UsageState;
    const used: AssetRecord = { ...asset, attributes: { unitsAtAcquisition: '50' } };
    const line = planUsagePosting({ asset: used, state: held, ledger: undefined, period: utc.period('2026-12') as Period, calendar: utc, attributes: DEFAULT_DEPRECIATION_ATTRIBUTES, now: Date.parse('2027-03-01T00:00:00Z'), destination: 'erp', units: DEFAULT_USAGE_UNITS }).line;
    expect(line.held?.lifeToDateUnits).toBe(60);
    expect(plan(before, berlin, '2026-11').line.held).toBeUndefined();
  });
});
