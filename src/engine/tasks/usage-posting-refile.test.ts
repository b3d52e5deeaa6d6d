/**
 * The period-end posting task across a calendar change and `depreciation refile`: usage filed and
 * partly posted under Berlin's months, the calendar then changed (to UTC's months, or to listed
 * quarters that straddle the last posting), the task running before and after the re-file. No
 * hour is posted twice or lost: the posted period units add up to the meter's advance.
 */
import { describe, expect, it } from 'vitest';
import { taskContext } from '../../../test/helpers/task-context.js';
import { useTempStores } from '../../../test/helpers/temp-stores.js';
import { seedBerlinOctoberPosted } from '../../../test/helpers/usage-fixture.js';
import type { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { applyRefiles, planRefile } from '../../cli/commands/depreciation-refile.js';
import { rulesSchema, type RulesConfig } from '../../config/rules-schema.js';
import { createRules, isFlushable } from '../../core/rules/index.js';
import type { CanonicalEvent } from '../../core/model/events.js';
import { createRuleTasks } from './index.js';
import { USAGE_TASK } from './usage-posting.js';

const newStore = useTempStores();

const ATTRIBUTES = { cost: '120000', salvage: '20000', expectedUnits: '10000' };
const HOUR = 3_600_000;

/** EQ-1's usage filed in Berlin's months (1000 → 1605 h, 1 October to 30 November), October posted by the task. */
async function setup(): Promise<SqliteStore> {
  const store = newStore();
  await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: ATTRIBUTES }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
  await seedBerlinOctoberPosted(store, { lastPosted: true });
  return store;
}

/** The rules config with `rules.depreciation: input`. */
function depreciation(input: Record<string, unknown>): RulesConfig {
  return rulesSchema.parse({ depreciation: input });
}

/** Runs the service's period-end posting task (as `rules` configure it) at `t`. */
async function runTask(store: SqliteStore, rules: RulesConfig, t: number): Promise<unknown> {
  const task = createRuleTasks(rules, { defaultDestination: 'erp', destinations: ['erp'] }).find((x) => x.name === USAGE_TASK);
  if (!task) throw new Error('no posting task');
  return task.run(taskContext(store, { t }));
}

/** `depreciation refile` of every held asset, as the command applies it. */
async function refile(store: SqliteStore, rules: RulesConfig): Promise<void> {
  if (!rules.depreciation) throw new Error('no depreciation config');
  const list = await planRefile(store, rules.depreciation);
  expect([...(await applyRefiles(store, list))]).toEqual(list.filter((x) => !x.notHeld).map((x) => x.erpAssetId));
}

/** EQ-1's postings, oldest first: [period, period units, life-to-date]. */
async function postings(store: SqliteStore): Promise<[string, number, number][]> {
  const all = (await store.listDeliveries({ limit: 1000 })).filter((x) => x.operation === 'usage.post' && x.erpAssetId === 'EQ-1').sort((a, b) => a.eventTime - b.eventTime);
  return all.map((x) => [String(x.payload.period), Number(x.payload.periodUnits), Number(x.payload.lifeToDateUnits)]);
}

/** EQ-1 keeps using 10 h a day: a reading every day at 12:00 UTC from `from` to `to` (dates), through the configured usage rule into its stored state. */
async function readDaily(store: SqliteStore, rules: RulesConfig, from: string, to: string, hoursAtFrom: number): Promise<void> {
  const rule = createRules(rules).find((r) => r.name === 'depreciation');
  if (!rule || !isFlushable(rule)) throw new Error('no usage rule');
  const asset = (await store.listAssetRecords()).find((a) => a.erpAssetId === 'EQ-1');
  if (!asset) throw new Error('no EQ-1');
  const ctx = { asset, destination: 'erp', now: Date.now() };
  let state = (await store.loadStates(['EQ-1'])).get('EQ-1')?.depreciation;
  let hours = hoursAtFrom;
  for (let t = Date.parse(`${from}T12:00:00Z`); t <= Date.parse(`${to}T12:00:00Z`); t += 24 * HOUR, hours += 10) {
    const event = { kind: 'meter', eventTime: t, operatingHours: hours, ids: [{ type: 'tag', value: 'tag-1' }], source: 'test', receivedAt: t } as unknown as CanonicalEvent;
    state = rule.apply(state, event, ctx).state;
  }
  state = rule.flush(state, ctx).state;
  await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { depreciation: state }, changed: ['depreciation'] }], deliveries: [], quarantine: [], accepted: 0 });
}

/**
 * The task at `t` posts `period` for no one, holding EQ-1 (its usage is filed under Berlin's months,
 * of which October alone is posted); after the re-file, its check an hour later posts `period` for
 * it. EQ-1's postings then.
 */
async function heldThenPosted(store: SqliteStore, rules: RulesConfig, t: number, period: string): Promise<[string, number, number][]> {
  expect(await runTask(store, rules, t)).toMatchObject({ fields: { periods: [period], postings: 0, heldBack: [expect.stringMatching(/^EQ-1: its usage is filed in periods of another calendar/)] } });
  expect(await postings(store)).toEqual([['2026-10', 309.583, 1309.583]]);
  await refile(store, rules);
  expect(await runTask(store, rules, t + HOUR)).toMatchObject({ fields: { periods: [period], postings: 1 } });
  return postings(store);
}

const total = (list: readonly [string, number, number][]): number => Math.round(list.reduce((s, p) => s + p[1], 0) * 1000) / 1000;

describe('period-end posting after a calendar change and a re-file', () => {
  it("UTC's months: the task holds the asset until the re-file, then posts November at its next check with the hour after Berlin's October", async () => {
    const store = await setup();
    const d = depreciation({ timeZone: 'UTC' });
    const t = Date.parse('2026-12-03T12:00:00Z'); // November's grace (2 days) has passed
    const posted = await heldThenPosted(store, d, t, '2026-11');
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

  it("UTC's months, readings through December while held: counted, and after the re-file December is posted with their hours (none lost)", async () => {
    const store = await setup();
    const d = depreciation({ timeZone: 'UTC' });
    // 1 to 20 December at 10 h a day, while EQ-1 is held (its usage filed in Berlin's months).
    await readDaily(store, d, '2026-12-01', '2026-12-20', 1615);
    const afterDec = Date.parse('2027-01-03T12:00:00Z');
    expect(await runTask(store, d, afterDec)).toMatchObject({ fields: { postings: 0, heldBack: [expect.stringMatching(/^EQ-1: its usage is filed in periods of another calendar/)] } });
    await refile(store, d);
    await runTask(store, d, afterDec + HOUR);
    const posted = await postings(store);
    expect(posted).toEqual([
      ['2026-10', 309.583, 1309.583],
      ['2026-11', 300.417, 1610],
      ['2026-12', 195, 1805],
    ]);
    expect(total(posted)).toBe(805);
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

    it('re-filed, then the task first ran a quarter later (an outage): FY27-Q1 and FY27-Q2 are posted each with its own hours, not all in FY27-Q2', async () => {
      const store = await setup();
      const d = quarters();
      await refile(store, d);
      // 1 December to 20 March at 10 h a day, after the 1605 h of 30 November.
      await readDaily(store, d, '2026-12-01', '2027-03-20', 1615);
      const afterQ2 = Date.parse('2027-03-18T12:00:00Z');
      expect(await runTask(store, d, afterQ2)).toMatchObject({ fields: { periods: ['FY27-Q2'], postings: 2 } });
      const posted = await postings(store);
      // Q1 ends 15 December 00:00: 1605 h on 30 November, then 10 h a day → 1750 h at its end.
      expect(posted).toEqual([
        ['2026-10', 309.583, 1309.583],
        ['FY27-Q1', 440.417, 1750],
        ['FY27-Q2', 900, 2650],
      ]);
      expect(total(posted)).toBe(1650);
      expect(await runTask(store, d, afterQ2 + HOUR)).toBeUndefined();
      expect(total(await postings(store))).toBe(1650);
    });

    it('the task ran while the asset was held: after the re-file, the next check posts FY27-Q1 for it, not a quarter later', async () => {
      const store = await setup();
      const d = quarters();
      const posted = await heldThenPosted(store, d, afterQ1, 'FY27-Q1');
      expect(posted).toEqual([
        ['2026-10', 309.583, 1309.583],
        ['FY27-Q1', 295.417, 1605],
      ]);
      expect(await runTask(store, d, afterQ1 + 2 * HOUR)).toBeUndefined();
    });
  });
});
