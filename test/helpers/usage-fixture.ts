/**
 * An asset's usage filed in Berlin's months with October posted, for the tests of a calendar change
 * and `depreciation refile`: EQ-1 used 10 h a day from 1 October to 30 November 12:00 UTC
 * (1000 → 1605 h); its October (Berlin: up to 31 October 23:00 UTC) posted with 309.583 h.
 */
import type { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { monthlyCalendar, periodStamp } from '../../src/core/rules/depreciation/calendar.js';
import type { UsageLedger } from '../../src/core/rules/depreciation/posting.js';
import type { UsageState } from '../../src/core/rules/depreciation/usage-rule.js';

/** Stores EQ-1's usage state, its October posting (the fact and the asset's ledger) and, with `lastPosted`, the posting task's mark. */
export async function seedBerlinOctoberPosted(store: SqliteStore, options: { lastPosted?: boolean } = {}): Promise<void> {
  const berlin = monthlyCalendar('Europe/Berlin');
  const octEnd = 1309.583333; // 30 days 23 hours at 10 h a day: Berlin's October ends 31 October 23:00 UTC
  const state: UsageState = {
    first: [Date.parse('2026-10-01T00:00:00Z'), 1000],
    last: [Date.parse('2026-11-30T12:00:00Z'), 1605],
    periods: { '2026-10': { units: 309.583333, meterAtEnd: octEnd }, '2026-11': { units: 295.416667, meterAtEnd: 1605 } },
    cal: periodStamp(berlin, ['2026-10', '2026-11']),
  };
  const fact = {
    destination: 'erp',
    operation: 'usage.post',
    kind: 'fact' as const,
    businessKey: 'EQ-1|usage|2026-10',
    erpAssetId: 'EQ-1',
    eventTime: Date.parse('2026-10-31T23:00:00Z'),
    payload: { erpAssetId: 'EQ-1', period: '2026-10', periodStart: '2026-09-30T22:00:00.000Z', periodEnd: '2026-10-31T23:00:00.000Z', timeZone: 'Europe/Berlin', periodUnits: 309.583, lifeToDateUnits: 1309.583, unit: 'h' },
  };
  const ledger: UsageLedger = {
    v: 1,
    period: '2026-10',
    meter: 'hours',
    meterAtEnd: 1309.583,
    readingAt: Date.parse('2026-11-10T00:00:00Z'),
    posted: { periodUnits: 309.583, meterAtEnd: 1309.583, adjustmentUnits: 0, adjustmentPeriods: [] },
    deliveries: [fact],
  };
  await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { depreciation: state }, changed: ['depreciation'] }], deliveries: [fact], quarantine: [], accepted: 0 });
  await store.kvSet('depreciation', 'posted:EQ-1', JSON.stringify(ledger));
  if (options.lastPosted) await store.kvSet('depreciation', 'lastPosted', '2026-10');
}
