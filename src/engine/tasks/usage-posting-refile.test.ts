/**
 * The period-end posting task across a calendar change and `depreciation refile`: usage filed and
 * partly posted under Berlin's months, the calendar then changed (to UTC's months, or to listed
 * quarters that straddle the last posting), the task running before and after the re-file. No
 * hour is posted twice or lost: the posted period units add up to the meter's advance.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { tempStore } from '../../../test/helpers/temp-store.js';
import type { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { applyRefile, planRefile } from '../../cli/commands/depreciation-refile.js';
import { rulesSchema, type DepreciationConfig } from '../../config/rules-schema.js';
import { monthlyCalendar, periodStamp } from '../../core/rules/depreciation/calendar.js';
import type { UsageLedger } from '../../core/rules/depreciation/posting.js';
import type { UsageState } from '../../core/rules/depreciation/usage-rule.js';
import type { TaskContext } from '../../ports/task.js';
import { createRuleTasks } from './index.js';
import { USAGE_NS, USAGE_TASK } from './usage-posting.js';

const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

const ATTRIBUTES = { cost: '120000', salvage: '20000', expectedUnits: '10000' };
const berlin = monthlyCalendar('Europe/Berlin');
const HOUR = 3_600_000;

/** EQ-1 used 10 h a day from 1 October to 30 November 12:00 UTC (1000 → 1605 h), filed in Berlin's months; October (Berlin) posted by the task. */
async function setup(): Promise<SqliteStore> {
  const store = tempStore();
  stores.push(store);
  await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: ATTRIBUTES }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
  const octEnd = 1309.583333; // Berlin's October ends 31 October 23:00 UTC
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
  await store.kvSet(USAGE_NS, 'posted:EQ-1', JSON.stringify(ledger));
  await store.kvSet(USAGE_NS, 'lastPosted', '2026-10');
  return store;
}

function depreciation(input: Record<string, unknown>): DepreciationConfig {
  const d = rulesSchema.parse({ depreciation: input }).depreciation;
  if (!d) throw new Error('no depreciation config');
  return d;
}

/** Runs the service's period-end posting task (as configured by `d`) at `t`. */
async function runTask(store: SqliteStore, d: DepreciationConfig, t: number): Promise<unknown> {
  const config = rulesSchema.parse({ depreciation: { ...d, periods: d.periods, periodsEnd: d.periodsEnd } });
  const task = createRuleTasks(config, { defaultDestination: 'erp', destinations: ['erp'] }).find((x) => x.name === USAGE_TASK);
  if (!task) throw new Error('no posting task');
  const ctx: TaskContext = {
    store,
    clock: { now: () => t },
    sink: { submit: (m) => Promise.resolve({ accepted: m.length, quarantined: [] }) },
    commit: (deliveries) => store.commitIngest({ deliveries, states: [], quarantine: [], accepted: 0 }),
    checkpoint: () => Promise.resolve(),
    idleHolding: () => [],
    submitInternal: (m) => Promise.resolve({ accepted: m.length, quarantined: [] }),
    connector: () => undefined,
    withinLimits: (_destination, call) => call({ signal: new AbortController().signal }),
    signal: new AbortController().signal,
  };
  return task.run(ctx);
}

async function refile(store: SqliteStore, d: DepreciationConfig): Promise<void> {
  const list = await planRefile(store, d);
  for (const r of list.filter((x) => !x.notHeld)) expect(await applyRefile(store, r)).toBe(true);
}

/** EQ-1's postings, oldest first: [period, period units, life-to-date]. */
async function postings(store: SqliteStore): Promise<[string, number, number][]> {
  const all = (await store.listDeliveries({ limit: 1000 })).filter((x) => x.operation === 'usage.post' && x.erpAssetId === 'EQ-1').sort((a, b) => a.eventTime - b.eventTime);
  return all.map((x) => [String(x.payload.period), Number(x.payload.periodUnits), Number(x.payload.lifeToDateUnits)]);
}

const total = (list: readonly [string, number, number][]): number => Math.round(list.reduce((s, p) => s + p[1], 0) * 1000) / 1000;

describe('period-end posting after a calendar change and a re-file', () => {
  it("UTC's months: the task holds the asset until the re-file, then posts November at its next check with the hour after Berlin's October", async () => {
    const store = await setup();
    const d = depreciation({ timeZone: 'UTC' });
    const t = Date.parse('2026-12-03T12:00:00Z'); // November's grace (2 days) has passed
    expect(await runTask(store, d, t)).toMatchObject({ fields: { periods: ['2026-11'], postings: 0, heldBack: [expect.stringMatching(/^EQ-1: its usage is filed in periods of another calendar/)] } });
    expect(await postings(store)).toEqual([['2026-10', 309.583, 1309.583]]);
    await refile(store, d);
    expect(await runTask(store, d, t + HOUR)).toMatchObject({ fields: { periods: ['2026-11'], postings: 1 } });
    const posted = await postings(store);
    expect(posted).toEqual([
      ['2026-10', 309.583, 1309.583],
      ['2026-11', 295.417, 1605],
    ]);
    expect(total(posted)).toBe(605);
    // Nothing more at later checks; December (no reading in it) posts no hour.
    expect(await runTask(store, d, t + 2 * HOUR)).toBeUndefined();
    await runTask(store, d, Date.parse('2027-01-03T12:00:00Z'));
    expect(total(await postings(store))).toBe(605);
  });

  it('UTC’s months, re-filed before the task ran: November is posted at its period end, once', async () => {
    const store = await setup();
    const d = depreciation({ timeZone: 'UTC' });
    await refile(store, d);
    expect(await runTask(store, d, Date.parse('2026-12-02T12:00:00Z'))).toBeUndefined(); // within November's grace
    await runTask(store, d, Date.parse('2026-12-03T12:00:00Z'));
    await runTask(store, d, Date.parse('2026-12-03T13:00:00Z'));
    expect(await postings(store)).toEqual([
      ['2026-10', 309.583, 1309.583],
      ['2026-11', 295.417, 1605],
    ]);
  });

  describe('listed quarters in UTC, the first straddling the last posting (no new period is covered)', () => {
    const quarters = () =>
      depreciation({
        timeZone: 'UTC',
        periods: [
          { id: 'FY27-Q1', start: '2026-09-15' },
          { id: 'FY27-Q2', start: '2026-12-15' },
        ],
        periodsEnd: '2027-03-15',
      });
    const afterQ1 = Date.parse('2026-12-18T12:00:00Z');

    it('re-filed before the task ran: FY27-Q1 is posted with the hours after Berlin’s October only', async () => {
      const store = await setup();
      const d = quarters();
      await refile(store, d);
      await runTask(store, d, afterQ1);
      await runTask(store, d, afterQ1 + HOUR);
      const posted = await postings(store);
      expect(posted).toEqual([
        ['2026-10', 309.583, 1309.583],
        ['FY27-Q1', 295.417, 1605],
      ]);
      expect(total(posted)).toBe(605);
    });

    it('the task ran while the asset was held: after the re-file, the next check posts FY27-Q1 for it, not a quarter later', async () => {
      const store = await setup();
      const d = quarters();
      expect(await runTask(store, d, afterQ1)).toMatchObject({ fields: { periods: ['FY27-Q1'], postings: 0, heldBack: [expect.stringMatching(/^EQ-1:/)] } });
      await refile(store, d);
      expect(await runTask(store, d, afterQ1 + HOUR)).toMatchObject({ fields: { periods: ['FY27-Q1'], postings: 1 } });
      const posted = await postings(store);
      expect(posted).toEqual([
        ['2026-10', 309.583, 1309.583],
        ['FY27-Q1', 295.417, 1605],
      ]);
      expect(await runTask(store, d, afterQ1 + 2 * HOUR)).toBeUndefined();
    });
  });
});
