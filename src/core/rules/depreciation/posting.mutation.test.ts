/**
 * Posting decisions that mutation testing found unpinned: a catch-up longer than one decision may
 * make, a change of meter with the meter's end unknown, and ledgers of another version.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import { monthlyCalendar, type Period } from './calendar.js';
import { parseLedger, planUsagePosting, type UsageLedger } from './posting.js';
import type { UsageState } from './usage-rule.js';
import { DEFAULT_DEPRECIATION_ATTRIBUTES, DEFAULT_USAGE_UNITS } from './usage.js';

const asset: AssetRecord = { erpAssetId: 'FA-1', erpModule: 'fixed-assets', attributes: {} };
const cal = monthlyCalendar('UTC');
const ledgerAt = (period: string, meter: 'hours' | 'km', meterAtEnd: number, readingAt: string): UsageLedger => ({
  v: 1,
  period,
  meter,
  meterAtEnd,
  readingAt: Date.parse(readingAt),
  posted: { periodUnits: 0, meterAtEnd, adjustmentUnits: 0, adjustmentPeriods: [] },
  deliveries: [],
});
const post = (state: UsageState, ledger: UsageLedger, id: string, now: string) =>
  planUsagePosting({ asset, state, ledger, period: cal.period(id) as Period, calendar: cal, attributes: DEFAULT_DEPRECIATION_ATTRIBUTES, now: Date.parse(now), destination: 'erp', units: DEFAULT_USAGE_UNITS });

describe('usage postings: catching up', () => {
  it('more unposted periods than one decision catches up on: only this period is posted, carrying all usage since the last posting', () => {
    // Kills: dropping the MAX_CATCH_UP cut (one decision would post over a hundred periods at once).
    const state: UsageState = { first: [Date.parse('2012-01-15T00:00:00Z'), 100], last: [Date.parse('2026-10-20T00:00:00Z'), 1100], periods: { '2026-10': { units: 50, meterAtEnd: 1100 } } };
    const plan = post(state, ledgerAt('2012-01', 'hours', 100, '2012-01-15T00:00:00Z'), '2026-10', '2026-11-05T00:00:00Z');
    expect(plan.kind === 'new' && plan.deliveries.map((d) => [d.businessKey, d.payload.periodUnits, d.payload.lifeToDateUnits])).toEqual([['FA-1|usage|2026-10', 1000, 1100]]);
    expect(plan.line).toMatchObject({ periodUnits: 1000, adjustmentUnits: 950 });
  });

  it('a change of meter while the new meter’s end of a period is unknown carries nothing of the old meter', () => {
    // Kills: keeping the old meter's basis (hours) for a line counted on km, which would post km − hours.
    const km: UsageState = {
      km: true,
      first: [Date.parse('2026-10-05T00:00:00Z'), 50_000],
      last: [Date.parse('2026-11-20T00:00:00Z'), 50_900],
      periods: { '2026-11': { units: 900, meterAtEnd: 50_900 } }, // October's record is no longer kept
    };
    const plan = post(km, ledgerAt('2026-09', 'hours', 1100, '2026-09-28T00:00:00Z'), '2026-11', '2026-12-05T00:00:00Z');
    expect(plan.kind === 'new' && plan.deliveries.map((d) => [d.payload.period, d.payload.unit, d.payload.periodUnits])).toEqual([
      ['2026-10', 'km', 0],
      ['2026-11', 'km', 900],
    ]);
    expect(plan.kind === 'new' && plan.ledger).toMatchObject({ period: '2026-11', meter: 'km', meterAtEnd: 50_900 });
  });
});

describe('usage ledgers', () => {
  it('a ledger of another version is no basis; the current one is read back as written', () => {
    // Kills: parseLedger accepting any version.
    const ledger = ledgerAt('2026-10', 'hours', 1100, '2026-10-20T00:00:00Z');
    expect(parseLedger(JSON.stringify(ledger))).toEqual(ledger);
    expect(parseLedger(JSON.stringify({ ...ledger, v: 2 }))).toBeUndefined();
  });
});
