import { describe, expect, it } from 'vitest';
import { useTempStores } from '../../../test/helpers/temp-stores.js';
import type { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { rulesSchema } from '../../config/rules-schema.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import { loadMaintenanceStatus } from '../../cli/commands/maintenance.js';
import type { TaskContext } from '../../ports/task.js';
import { CALENDAR_NS, createCalendarIntervalTask, loadCalendarMarks, ORPHAN_MARKS_KEEP_MS, sweepCalendarMarks, type CalendarTaskOptions } from './calendar-intervals.js';
import { calendarTaskOptionsOf } from './index.js';
import { withCalendarFleet } from '../../../test/helpers/calendar-fleet.js';

const newStore = useTempStores();

const at = (iso: string) => Date.parse(iso);
const DAY = 86_400_000;

/** The calendar rules of a config, as the service builds the task's options from them. */
function configured(calendarIntervals: unknown[]) {
  const rules = rulesSchema.parse({ maintenance: { calendarIntervals, windows: { timeZone: 'UTC', default: [{ days: ['sat'], from: '06:00', to: '14:00' }] } } });
  const options = calendarTaskOptionsOf(rules, 'erp') as CalendarTaskOptions;
  return { rules, options };
}

// The annual inspection first without an appliesTo (it selects the pallet too), and a second rule later removed.
const annual = { name: 'annual-inspection', everyDays: 365, dueSoonDays: 30 };
const machines = { appliesTo: { erpModules: ['maintenance'] } };
const pm = { name: 'pm-year', everyDays: 365, dueSoonDays: 30, ...machines };
const before = configured([annual, pm]);
const after = configured([{ ...annual, ...machines }]);

async function fleet(): Promise<SqliteStore> {
  const store = newStore();
  return withCalendarFleet(store);
}

/** One run of the task as the scheduler runs it, at `iso`. */
async function run(task: ReturnType<typeof createCalendarIntervalTask>, store: SqliteStore, iso: string): Promise<string[]> {
  const opened: DeliveryIntent[] = [];
  const commit = async (d: readonly DeliveryIntent[]) => {
    opened.push(...d);
    await store.commitIngest({ deliveries: d, states: [], quarantine: [], accepted: 0 });
  };
  const ctx = { checkpoint: () => Promise.resolve(), store, clock: { now: () => at(iso) }, commit, signal: new AbortController().signal };
  await task.run(ctx as unknown as TaskContext);
  return opened.map((d) => d.businessKey);
}

const keys = async (store: SqliteStore) => (await store.kvList(CALENDAR_NS)).map((e) => e.key).sort();
const workOrders = async (store: SqliteStore) => (await store.listDeliveries({})).filter((d) => d.operation === 'workorder.create').map((d) => d.businessKey).sort();

describe('calendar marks of pairs the configuration no longer has', () => {
  it('are deleted a while after the rule is removed or its appliesTo no longer selects the asset; those still selected are kept', async () => {
    const store = await fleet();
    const info: string[] = [];
    const logger = { warn: () => undefined, info: (_: object, msg: string) => void info.push(msg) };
    // CR-1's pm-year due 10 Jan 2027 opens on 15 Dec; CR-2 and the pallet are first checked.
    expect(await run(createCalendarIntervalTask({ ...before.options, logger }), store, '2026-12-15T09:00:00Z')).toEqual(['CR-1|annual-inspection|2027-01-10@b2026-01-10', 'CR-1|pm-year|2027-01-10@b2026-01-10']);
    const marked = await keys(store);
    expect(marked).toEqual(['fired:CR-1|annual-inspection', 'fired:CR-1|pm-year', 'first:CR-2|annual-inspection', 'first:CR-2|pm-year', 'first:PAL-1|annual-inspection']);

    // Restarted with pm-year removed and the annual inspection for the machines only: noted, kept a while.
    const task = createCalendarIntervalTask({ ...after.options, logger });
    await run(task, store, '2026-12-16T09:00:00Z');
    expect(await keys(store)).toEqual([...marked, 'gone:CR-1|pm-year', 'gone:CR-2|pm-year', 'gone:PAL-1|annual-inspection'].sort());
    expect(info).toEqual(['calendar intervals: 3 (asset, rule) pair(s) with marks are no longer configured; their marks are deleted after 30 days unless configured again']);
    // A day's checks later, 30 days on: still kept; then deleted, the marks still selected kept.
    await run(task, store, '2027-01-14T09:00:00Z');
    expect(await keys(store)).toContain('first:PAL-1|annual-inspection');
    await run(task, store, '2027-01-16T09:00:00Z');
    expect(await keys(store)).toEqual(['fired:CR-1|annual-inspection', 'first:CR-2|annual-inspection']);
    expect(info[1]).toBe(
      'calendar intervals: deleted 6 mark(s) of 3 (asset, rule) pair(s) no longer configured for 30 days (a rule removed or renamed, an appliesTo that no longer selects the asset, an asset gone)',
    );
    // What status reads of the pairs still configured is as before.
    const status = await loadMaintenanceStatus(store, after.rules, undefined, at('2027-01-16T10:00:00Z'));
    expect(status.flatMap((r) => r.due.map((d) => `${r.erpAssetId} ${d.rule}: ${d.state} (${d.baselineDate ?? ''})`))).toEqual([
      'CR-1 annual-inspection: due, work order requested (2026-01-10)',
      'CR-2 annual-inspection: ok (2026-12-15)',
    ]);
  });

  it('a rule brought back within the while counts on as before; its gone mark is dropped', async () => {
    const store = await fleet();
    await run(createCalendarIntervalTask(before.options), store, '2026-12-15T09:00:00Z');
    await run(createCalendarIntervalTask(after.options), store, '2026-12-16T09:00:00Z');
    // Put back after 20 days: nothing opened again, CR-2 still counts from its first check, no gone marks left.
    expect(await run(createCalendarIntervalTask(before.options), store, '2027-01-05T09:00:00Z')).toEqual([]);
    expect(await keys(store)).toEqual(['fired:CR-1|annual-inspection', 'fired:CR-1|pm-year', 'first:CR-2|annual-inspection', 'first:CR-2|pm-year', 'first:PAL-1|annual-inspection']);
    expect((await loadCalendarMarks(store, [['CR-2', 'pm-year']])).get('CR-2|pm-year')).toEqual({ firstChecked: at('2026-12-15T09:00:00Z') });
    expect(await workOrders(store)).toEqual(['CR-1|annual-inspection|2027-01-10@b2026-01-10', 'CR-1|pm-year|2027-01-10@b2026-01-10']);
    // Removed again on 10 Jan: its while starts again from then, so 20 Jan (35 days after the first removal) deletes nothing.
    const again = createCalendarIntervalTask(after.options);
    await run(again, store, '2027-01-10T09:00:00Z');
    expect(await store.kvGet(CALENDAR_NS, 'gone:CR-2|pm-year')).toBe(String(at('2027-01-10T09:00:00Z')));
    await run(again, store, '2027-01-20T09:00:00Z');
    expect(await keys(store)).toContain('first:CR-2|pm-year');
  });

  it('a rule brought back after its marks were deleted does not open a work order already opened again (the outbox keeps its key)', async () => {
    const store = await fleet();
    await run(createCalendarIntervalTask(before.options), store, '2026-12-15T09:00:00Z');
    const task = createCalendarIntervalTask(after.options);
    await run(task, store, '2026-12-16T09:00:00Z');
    await run(task, store, '2027-01-16T09:00:00Z');
    expect(await keys(store)).not.toContain('fired:CR-1|pm-year');
    // Back on 20 Jan: CR-1 counts from its lastServiceDate, so the due point is the same key, which the outbox has.
    await run(createCalendarIntervalTask(before.options), store, '2027-01-20T09:00:00Z');
    expect(await workOrders(store)).toEqual(['CR-1|annual-inspection|2027-01-10@b2026-01-10', 'CR-1|pm-year|2027-01-10@b2026-01-10']);
    const status = await loadMaintenanceStatus(store, before.rules, 'CR-1', at('2027-01-20T10:00:00Z'));
    expect(status[0]?.due.find((d) => d.rule === 'pm-year')?.state).toBe('due, work order requested');
    // CR-2, with no service date, starts a new series from the day it is checked again.
    expect((await loadCalendarMarks(store, [['CR-2', 'pm-year']])).get('CR-2|pm-year')).toEqual({ firstChecked: at('2027-01-20T09:00:00Z') });
  });

  it('deletes in transactions of a few hundred, each mark only if it still holds what was read', async () => {
    const store = await fleet();
    const now = at('2027-01-01T00:00:00Z');
    const gone = String(now - ORPHAN_MARKS_KEEP_MS - DAY);
    await store.kvSetMany(CALENDAR_NS, Array.from({ length: 7 }, (_, i) => [[`first:OLD-${i}|pm`, '1'] as const, [`gone:OLD-${i}|pm`, gone] as const]).flat());
    const swaps: number[] = [];
    const counting = Object.assign(Object.create(store) as SqliteStore, {
      kvCompareAndSetMany: async (ns: string, entries: Parameters<SqliteStore['kvCompareAndSetMany']>[1]) => {
        swaps.push(entries.length);
        // Written meanwhile (between the read and this transaction): not deleted.
        if (swaps.length === 1) await store.kvSet(CALENDAR_NS, 'first:OLD-6|pm', '2');
        return store.kvCompareAndSetMany(ns, entries);
      },
    });
    expect(await sweepCalendarMarks(counting, after.options, now, { batch: 4 })).toEqual({ droppedPairs: 7, deletedMarks: 13, keptPairs: 0, newlyGone: 0 });
    expect(swaps).toEqual([4, 4, 4, 2]);
    expect(await keys(store)).toEqual(['first:OLD-6|pm']);
  });
});
