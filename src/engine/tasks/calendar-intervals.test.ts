import { afterEach, describe, expect, it, vi } from 'vitest';
import { useTempStores } from '../../../test/helpers/temp-stores.js';
import type { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { rulesSchema } from '../../config/rules-schema.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import type { CanonicalEvent, MeterEvent, SensorEvent, WorkOrderStatusEvent } from '../../core/model/events.js';
import { createRules, maintenanceOptionsOf } from '../../core/rules/index.js';
import { MAINTENANCE_RULE } from '../../core/rules/maintenance/maintenance-rule.js';
import type { Rule } from '../../core/rules/rule.js';
import { loadMaintenanceStatus } from '../../cli/commands/maintenance.js';
import { TaskScheduler } from '../scheduler.js';
import type { ScheduledTask, TaskContext } from '../../ports/task.js';
import { createRuleTasks } from './index.js';
import { CALENDAR_NS, CALENDAR_TASK, checkCalendarIntervals, createCalendarIntervalTask, loadCalendarMarks, type CalendarTaskOptions } from './calendar-intervals.js';
import { calendarTaskOptionsOf } from './index.js';
import { withCalendarFleet } from '../../../test/helpers/calendar-fleet.js';

const newStore = useTempStores();

const at = (iso: string) => Date.parse(iso);
/** The annual inspection of the maintained machines, every `everyDays` (365; changed in the config by some tests). */
const inspectionEvery = (everyDays: number) =>
  rulesSchema.parse({
    maintenance: {
      calendarIntervals: [{ name: 'annual-inspection', everyDays, dueSoonDays: 30, severity: 'critical', appliesTo: { erpModules: ['maintenance'] } }],
      windows: { timeZone: 'UTC', default: [{ days: ['sat'], from: '06:00', to: '14:00' }] },
    },
  });
const rules = inspectionEvery(365);
const options = calendarTaskOptionsOf(rules, 'erp') as CalendarTaskOptions;

async function fleet(): Promise<SqliteStore> {
  const store = newStore();
  return withCalendarFleet(store);
}

const commitTo = (store: SqliteStore) => (deliveries: readonly DeliveryIntent[]) => store.commitIngest({ deliveries, states: [], quarantine: [], accepted: 0 });
const workOrders = async (store: SqliteStore) => (await store.listDeliveries({})).filter((d) => d.operation === 'workorder.create').map((d) => d.businessKey);

describe('calendar service intervals', () => {
  it('opens one work order when the lead before the due date begins, for parked assets too, and never again for that date', async () => {
    const store = await fleet();
    // 1 Dec: CR-1 is due 10 Jan 2027 (365 days after its last service), its 30-day lead not begun.
    expect(await checkCalendarIntervals(store, options, at('2026-12-01T09:00:00Z'), commitTo(store))).toEqual([]);
    const opened = await checkCalendarIntervals(store, options, at('2026-12-15T09:00:00Z'), commitTo(store));
    expect(opened.map((d) => d.businessKey)).toEqual(['CR-1|annual-inspection|2027-01-10@b2026-01-10']);
    expect(opened[0]?.payload).toMatchObject({
      priority: 'HIGH',
      title: 'annual-inspection: due 2027-01-10',
      trigger: { type: 'calendar-interval', everyDays: 365, baselineDate: '2026-01-10', dueDate: '2027-01-10', dueSoon: true, dueSoonDays: 30 },
      plannedStart: '2026-12-19T06:00:00.000Z', // the next Saturday window
    });
    // Later checks, and a replay of the same check, add nothing.
    expect(await checkCalendarIntervals(store, options, at('2026-12-16T09:00:00Z'), commitTo(store))).toEqual([]);
    expect(await checkCalendarIntervals(store, options, at('2027-01-11T09:00:00Z'), commitTo(store))).toEqual([]);
    expect(await workOrders(store)).toEqual(['CR-1|annual-inspection|2027-01-10@b2026-01-10']);
  });

  it('an everyDays shortened while the work order for this due date is open opens no second one for the same service; the next due date opens as before', async () => {
    const store = await fleet();
    await checkCalendarIntervals(store, options, at('2026-12-15T09:00:00Z'), commitTo(store));
    // The inspection is now every 360 days: due 5 Jan 2027, a due date the opened work order (10 Jan) already stands for.
    const shorter = inspectionEvery(360);
    const changed = calendarTaskOptionsOf(shorter, 'erp') as CalendarTaskOptions;
    expect(await checkCalendarIntervals(store, changed, at('2026-12-16T09:00:00Z'), commitTo(store))).toEqual([]);
    expect(await checkCalendarIntervals(store, changed, at('2027-01-06T09:00:00Z'), commitTo(store))).toEqual([]);
    // Status says the work order opened stands for it, not that one opens at the next check.
    const [row] = await loadMaintenanceStatus(store, shorter, 'CR-1', at('2027-01-06T09:00:00Z'));
    expect(row?.due.find((d) => d.rule === 'annual-inspection')?.state).toBe('due, work order requested (CR-1|annual-inspection|2027-01-10@b2026-01-10, for a later due date of this baseline, stands for it)');
    expect(row?.open.map((w) => w.businessKey)).toEqual(['CR-1|annual-inspection|2027-01-10@b2026-01-10']);
    // Still open (no completion reported), it stands for the due date less than an interval after its own
    // (31 Dec 2027), as an open service work order does; the first a whole interval after it (25 Dec 2028) opens.
    expect(await checkCalendarIntervals(store, changed, at('2027-12-02T09:00:00Z'), commitTo(store))).not.toContainEqual(expect.objectContaining({ businessKey: expect.stringMatching(/^CR-1\|/) }));
    const next = await checkCalendarIntervals(store, changed, at('2028-11-26T09:00:00Z'), commitTo(store));
    expect(next.map((d) => d.businessKey).filter((k) => k.startsWith('CR-1|'))).toEqual(['CR-1|annual-inspection|2028-12-25@b2026-01-10']);
    expect((await workOrders(store)).filter((k) => k.startsWith('CR-1|')).sort()).toEqual(['CR-1|annual-inspection|2027-01-10@b2026-01-10', 'CR-1|annual-inspection|2028-12-25@b2026-01-10']);
  });

  it('an everyDays lengthened while the work order for this due date is open opens no second one until it is closed; cancelled, the new due date opens', async () => {
    const store = await fleet();
    await checkCalendarIntervals(store, options, at('2026-12-15T09:00:00Z'), commitTo(store));
    const longer = inspectionEvery(370);
    const changed = calendarTaskOptionsOf(longer, 'erp') as CalendarTaskOptions;
    // Due 15 Jan 2027 now, its lead begun 16 Dec: the work order for 10 Jan (open) is that service.
    const cr1 = (ds: readonly DeliveryIntent[]) => ds.map((d) => d.businessKey).filter((k) => k.startsWith('CR-1|'));
    expect(cr1(await checkCalendarIntervals(store, changed, at('2026-12-17T09:00:00Z'), commitTo(store)))).toEqual([]);
    const [row] = await loadMaintenanceStatus(store, longer, 'CR-1', at('2026-12-17T09:00:00Z'));
    expect(row?.due.find((d) => d.rule === 'annual-inspection')?.state).toBe('due soon, work order requested (CR-1|annual-inspection|2027-01-10@b2026-01-10, for an earlier due date of this baseline, stands for it)');
    // The ERP cancels it (not done after all): the due date of the new interval opens.
    const cancel: WorkOrderStatusEvent = { kind: 'workorder', source: 'erp-feedback', ids: [{ type: 'erp', value: 'CR-1' }], eventTime: at('2026-12-18T09:00:00Z'), receivedAt: at('2026-12-18T09:00:00Z'), businessKey: 'CR-1|annual-inspection|2027-01-10@b2026-01-10', status: 'cancelled' };
    const rule = createRules(longer).find((r) => r.name === MAINTENANCE_RULE) as Rule;
    const asset = (await store.listAssets()).find((a) => a.asset.erpAssetId === 'CR-1')!.asset;
    const r = rule.apply(undefined, cancel, { asset, destination: 'erp', now: 0 });
    await store.commitIngest({ states: [{ erpAssetId: 'CR-1', doc: { [MAINTENANCE_RULE]: r.state } }], deliveries: [], quarantine: [], accepted: 1 });
    expect(cr1(await checkCalendarIntervals(store, changed, at('2026-12-19T09:00:00Z'), commitTo(store)))).toEqual(['CR-1|annual-inspection|2027-01-15@b2026-01-10']);
  });

  it('reads its marks of the assets and rules it checks as it reads them all (the check reads only its own, in chunks)', async () => {
    const store = await fleet();
    await checkCalendarIntervals(store, options, at('2026-12-01T09:00:00Z'), commitTo(store));
    await checkCalendarIntervals(store, options, at('2027-11-02T00:00:00Z'), commitTo(store));
    const all = await loadCalendarMarks(store);
    expect(all.size).toBeGreaterThan(1);
    const pairs = [...all.keys()].map((id) => id.split('|') as [string, string]);
    expect(await loadCalendarMarks(store, pairs)).toEqual(all);
    expect(await loadCalendarMarks(store, pairs.slice(1))).toEqual(new Map([...all].slice(1)));
  });

  it('counts from the first check where no service date is known, and from the completion the ERP reports', async () => {
    const store = await fleet();
    await checkCalendarIntervals(store, options, at('2026-12-01T09:00:00Z'), commitTo(store)); // CR-2: baseline 1 Dec 2026
    const before = await loadMaintenanceStatus(store, rules, 'CR-2', at('2026-12-01T10:00:00Z'));
    expect(before[0]?.due).toEqual([{ erpAssetId: 'CR-2', rule: 'annual-inspection', type: 'calendar', state: 'ok', baselineDate: '2026-12-01', nextDueDate: '2027-12-01', remainingDays: 364.6 }]);
    expect(await checkCalendarIntervals(store, options, at('2027-11-02T00:00:00Z'), commitTo(store))).toHaveLength(2); // CR-1's second, CR-2's first
    expect(await workOrders(store)).toContain('CR-2|annual-inspection|2027-12-01@b2026-12-01');
    const open = await loadMaintenanceStatus(store, rules, 'CR-2', at('2027-11-02T01:00:00Z'));
    expect(open[0]?.due[0]?.state).toBe('due soon, work order requested');
    expect(open[0]?.open.map((w) => [w.businessKey, w.status, w.priority])).toEqual([['CR-2|annual-inspection|2027-12-01@b2026-12-01', 'requested', 'HIGH']]);

    // The ERP reports it completed on 20 Nov 2027, through the maintenance rule as feedback flows.
    const rule = createRules(rules).find((r) => r.name === MAINTENANCE_RULE) as Rule;
    const asset = (await store.listAssets()).find((a) => a.asset.erpAssetId === 'CR-2')!.asset;
    const feedback: WorkOrderStatusEvent = { kind: 'workorder', source: 'erp-feedback', ids: [{ type: 'erp', value: 'CR-2' }], eventTime: at('2027-11-20T15:00:00Z'), receivedAt: 0, businessKey: 'CR-2|annual-inspection|2027-12-01@b2026-12-01', status: 'completed' };
    const r = rule.apply(undefined, feedback, { asset, destination: 'erp', now: 0 });
    await store.commitIngest({ states: [{ erpAssetId: 'CR-2', doc: { [MAINTENANCE_RULE]: r.state } }], deliveries: [], quarantine: [], accepted: 1 });

    const after = await loadMaintenanceStatus(store, rules, 'CR-2', at('2027-11-21T00:00:00Z'));
    expect(after[0]?.due[0]).toMatchObject({ state: 'ok', baselineDate: '2027-11-20', nextDueDate: '2028-11-19' });
    expect(after[0]?.closed.map((w) => [w.businessKey, w.status])).toEqual([['CR-2|annual-inspection|2027-12-01@b2026-12-01', 'completed']]);
    expect(await checkCalendarIntervals(store, options, at('2027-12-02T00:00:00Z'), commitTo(store))).toEqual([]);
    const next = await checkCalendarIntervals(store, options, at('2028-10-25T00:00:00Z'), commitTo(store));
    expect(next.map((d) => d.businessKey)).toContain('CR-2|annual-inspection|2028-11-19@b2027-11-20');
  });

  it('a failed commit leaves nothing marked, so the next check opens the work order, once', async () => {
    const store = await fleet();
    const now = at('2026-12-15T09:00:00Z');
    await expect(checkCalendarIntervals(store, options, now, () => Promise.reject(new Error('disk full')))).rejects.toThrow('disk full');
    expect(await workOrders(store)).toEqual([]);
    await checkCalendarIntervals(store, options, now, commitTo(store));
    await checkCalendarIntervals(store, options, now, commitTo(store));
    expect(await workOrders(store)).toEqual(['CR-1|annual-inspection|2027-01-10@b2026-01-10']);
  });

  it('does not count from a service date it cannot read, and says why', async () => {
    const store = await fleet();
    await store.upsertAssets([{ asset: { erpAssetId: 'CR-3', erpModule: 'maintenance', attributes: { lastServiceDate: '15/03/2026' } }, identifiers: [{ type: 'tag', value: 't4', erpAssetId: 'CR-3' }] }]);
    const warnings: string[] = [];
    const logged = { ...options, logger: { warn: (_: object, msg: string) => void warnings.push(msg) } };
    expect((await checkCalendarIntervals(store, logged, at('2027-12-15T00:00:00Z'), commitTo(store))).map((d) => d.erpAssetId)).not.toContain('CR-3');
    expect(warnings).toEqual(['calendar intervals skipped for 1 asset(s) whose service date is not a date: CR-3 (annual-inspection): lastServiceDate "15/03/2026" is not a date; write YYYY-MM-DD']);
    const s = await loadMaintenanceStatus(store, rules, 'CR-3', at('2027-12-15T00:00:00Z'));
    expect(s[0]?.due).toEqual([{ erpAssetId: 'CR-3', rule: 'annual-inspection', type: 'calendar', state: 'not counted: lastServiceDate "15/03/2026" is not a date; write YYYY-MM-DD' }]);
    expect((await store.kvList('maintenance-calendar')).map((r) => r.key).filter((k) => k.includes('CR-3'))).toEqual([]);
  });

  it('validates its config: the lead shorter than the interval, names unique across all maintenance rules', () => {
    expect(maintenanceOptionsOf(rules)?.calendarIntervals?.map((c) => c.name)).toEqual(['annual-inspection']);
    const bad = rulesSchema.safeParse({
      maintenance: {
        serviceIntervals: [{ name: 'svc', everyHours: 250 }],
        calendarIntervals: [
          { name: 'svc', everyDays: 30 },
          { name: 'x', everyDays: 30, dueSoonDays: 30 },
        ],
      },
    });
    expect(bad.success ? [] : bad.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'maintenance.calendarIntervals.1.dueSoonDays: 30 must be less than everyDays (30)',
      'maintenance.calendarIntervals.0.name: rule name "svc" is used twice (rules.maintenance.serviceIntervals.0 has it too): give each rule its own name; it identifies the rule\'s work orders (in their business keys), so the work orders of two rules of one name would be taken for each other\'s',
    ]);
  });
});

/**
 * A store with one excavator, EX-1, serviced on 1 Jan 2026 at 1,000 h; `apply` runs events through
 * `pmRules`' maintenance rule and stores EX-1's state as the ingestor would keep it.
 */
async function servicedExcavator(pmRules: ReturnType<typeof rulesSchema.parse>) {
  const store = newStore();
  await store.upsertAssets([{ asset: { erpAssetId: 'EX-1', erpModule: 'maintenance', attributes: { lastServiceDate: '2026-01-01', lastServiceHours: '1000' } }, identifiers: [{ type: 'tag', value: 'x1', erpAssetId: 'EX-1' }] }]);
  const asset = (await store.listAssets())[0]!.asset;
  const rule = createRules(pmRules).find((r) => r.name === MAINTENANCE_RULE) as Rule;
  let state: unknown;
  const apply = async (events: readonly CanonicalEvent[]) => {
    for (const e of events) state = rule.apply(state, e, { asset, destination: 'erp', now: 0 }).state;
    await store.commitIngest({ states: [{ erpAssetId: 'EX-1', doc: { [MAINTENANCE_RULE]: state } }], deliveries: [], quarantine: [], accepted: events.length });
  };
  return { store, apply };
}

describe('calendar intervals with a meter: whichever comes first', () => {
  // "Every 180 days or 250 h, whichever comes first", 14 days or 10 h ahead.
  const pmRules = rulesSchema.parse({
    allowedLateness: 0, // each reading decided on arrival (the ingestor holds them for the lateness otherwise)
    maintenance: { calendarIntervals: [{ name: 'pm-a', everyDays: 180, dueSoonDays: 14, everyHours: 250, dueSoonHours: 10, severity: 'warning' }] },
  });
  const pm = pmRules.maintenance!;
  const pmOptions: CalendarTaskOptions = { rules: pm.calendarIntervals, checkEveryMs: pm.calendarCheckEvery, defaultDestination: 'erp', siteAttribute: pm.siteAttribute, windows: pm.windows };

  /** One excavator serviced on 1 Jan 2026 at 1,000 h; its rule state as the ingestor would keep it. */
  async function excavator() {
    const { store, apply } = await servicedExcavator(pmRules);
    const feed = (...events: (MeterEvent | WorkOrderStatusEvent)[]) => apply(events);
    const hours = (iso: string, operatingHours: number): MeterEvent => ({ kind: 'meter', source: 't', ids: [{ type: 'tag', value: 'x1' }], eventTime: at(iso), receivedAt: 0, operatingHours });
    const completed = (iso: string, businessKey: string, operatingHoursAtCompletion: number): WorkOrderStatusEvent => ({ kind: 'workorder', source: 'erp-feedback', ids: [{ type: 'erp', value: 'EX-1' }], eventTime: at(iso), receivedAt: 0, businessKey, status: 'completed', operatingHoursAtCompletion });
    const check = async (iso: string) => (await checkCalendarIntervals(store, pmOptions, at(iso), commitTo(store))).map((d) => d.businessKey);
    const status = async (iso: string) => (await loadMaintenanceStatus(store, pmRules, 'EX-1', at(iso)))[0];
    return { store, feed, hours, completed, check, status };
  }

  it('opens one work order per due point, by hours or by date, whichever gets there first; a completion resets both', async () => {
    const x = await excavator();
    // Hard use: 241 h in two months. With the 10 h lead, the 1,250 h point has begun; the date (30 Jun) is far.
    await x.feed(x.hours('2026-02-01T08:00:00Z', 1100), x.hours('2026-03-01T08:00:00Z', 1241));
    const first = await checkCalendarIntervals(x.store, pmOptions, at('2026-03-01T12:00:00Z'), commitTo(x.store));
    expect(first.map((d) => d.businessKey)).toEqual(['EX-1|pm-a|1@b2026-01-01+1000h']);
    expect(first[0]?.payload).toMatchObject({
      title: 'pm-a: due 2026-06-30 or at 1250 h',
      trigger: { type: 'calendar-interval', everyDays: 180, dueDate: '2026-06-30', everyHours: 250, baselineHours: 1000, dueAtHours: 1250, readingHours: 1241, dueBy: 'hours', dueSoon: true },
    });
    expect((first[0]?.payload as { description: string }).description).toContain('by meter, at 1250 h (now 1241 h)');
    expect((await x.status('2026-03-01T12:00:00Z'))?.due[0]).toMatchObject({ state: 'due soon by hours, work order requested', hours: 1241, baselineHours: 1000, nextDueHours: 1250, remainingHours: 9, nextDueDate: '2026-06-30' });

    // The date's lead begins and the hours pass the due point: the same due point, nothing new.
    await x.feed(x.hours('2026-06-01T08:00:00Z', 1262));
    expect(await x.check('2026-06-20T00:00:00Z')).toEqual([]);
    expect(await x.check('2026-07-05T00:00:00Z')).toEqual([]);

    // Serviced on 10 Jul at 1,265 h: both sides count from there (next: 6 Jan 2027 or 1,515 h).
    await x.feed(x.completed('2026-07-10T15:00:00Z', 'EX-1|pm-a|1@b2026-01-01+1000h', 1265));
    expect((await x.status('2026-07-11T00:00:00Z'))?.due[0]).toMatchObject({ state: 'ok', baselineDate: '2026-07-10', baselineHours: 1265, nextDueDate: '2027-01-06', nextDueHours: 1515 });
    expect(await x.check('2026-07-11T00:00:00Z')).toEqual([]);

    // Light use now: the date comes first (its lead begins 23 Dec).
    await x.feed(x.hours('2026-12-01T08:00:00Z', 1300));
    expect(await x.check('2026-12-22T00:00:00Z')).toEqual([]);
    const byDate = await checkCalendarIntervals(x.store, pmOptions, at('2026-12-24T00:00:00Z'), commitTo(x.store));
    expect(byDate.map((d) => d.businessKey)).toEqual(['EX-1|pm-a|1@b2026-07-10+1265h']);
    expect(byDate[0]?.payload).toMatchObject({ trigger: { dueBy: 'date', dueDate: '2027-01-06', dueAtHours: 1515 } });
    // Not serviced; the hours then reach the same point (nothing new), and the next one (a second work order).
    await x.feed(x.hours('2027-02-01T08:00:00Z', 1520));
    expect(await x.check('2027-02-01T12:00:00Z')).toEqual([]);
    await x.feed(x.hours('2027-03-01T08:00:00Z', 1760));
    expect(await x.check('2027-03-01T12:00:00Z')).toEqual(['EX-1|pm-a|2@b2026-07-10+1265h']);
    expect((await workOrders(x.store)).sort()).toEqual(['EX-1|pm-a|1@b2026-01-01+1000h', 'EX-1|pm-a|1@b2026-07-10+1265h', 'EX-1|pm-a|2@b2026-07-10+1265h']);
  });

  /** The task's options and the rules for status, with pm-a's intervals changed. */
  const changedTo = (everyDays: number, everyHours: number) => {
    const r = rulesSchema.parse({ allowedLateness: 0, maintenance: { calendarIntervals: [{ name: 'pm-a', everyDays, dueSoonDays: 14, everyHours, dueSoonHours: 10, severity: 'warning' }] } });
    const m = r.maintenance!;
    return { rules: r, options: { ...pmOptions, rules: m.calendarIntervals } };
  };

  it('an everyHours shortened while a due point is open opens no second work order for that service; the first point a whole interval past it opens', async () => {
    const x = await excavator();
    await x.feed(x.hours('2026-03-01T08:00:00Z', 1241));
    expect(await x.check('2026-03-01T12:00:00Z')).toEqual(['EX-1|pm-a|1@b2026-01-01+1000h']);
    // Now every 100 h: 1,241 h is past point 2 (1,200 h), 41 h before the open one's 1,250 h: the same service.
    const c = changedTo(180, 100);
    const check = async (iso: string) => (await checkCalendarIntervals(x.store, c.options, at(iso), commitTo(x.store))).map((d) => d.businessKey);
    expect(await check('2026-03-01T13:00:00Z')).toEqual([]);
    const [row] = await loadMaintenanceStatus(x.store, c.rules, 'EX-1', at('2026-03-01T13:00:00Z'));
    expect(row?.due[0]?.state).toBe('due by hours, work order requested (EX-1|pm-a|1@b2026-01-01+1000h, for an earlier due point of this baseline, stands for it)');
    // 1,345 h: point 3 (1,300 h), less than 100 h past 1,250 h: still that service.
    await x.feed(x.hours('2026-03-10T08:00:00Z', 1345));
    expect(await check('2026-03-10T12:00:00Z')).toEqual([]);
    // 1,391 h: point 4 (1,400 h, within its 10 h lead), a whole interval past 1,250 h: the next service.
    await x.feed(x.hours('2026-03-15T08:00:00Z', 1391));
    expect(await check('2026-03-15T12:00:00Z')).toEqual(['EX-1|pm-a|4@b2026-01-01+1000h']);
    expect(await check('2026-03-15T13:00:00Z')).toEqual([]);
  });

  it('an everyDays shortened while a due point is open opens no second work order for that service; the first point a whole interval past it opens', async () => {
    const x = await excavator();
    // Parked: the date's lead opens point 1 (30 Jun).
    expect(await x.check('2026-06-17T00:00:00Z')).toEqual(['EX-1|pm-a|1@b2026-01-01+1000h']);
    // Now every 90 days: point 2 is 30 Jun too (less than 90 days after the open one's): the same service.
    const c = changedTo(90, 250);
    const check = async (iso: string) => (await checkCalendarIntervals(x.store, c.options, at(iso), commitTo(x.store))).map((d) => d.businessKey);
    expect(await check('2026-06-18T00:00:00Z')).toEqual([]);
    expect(await check('2026-09-13T00:00:00Z')).toEqual([]);
    // Point 3 (28 Sep), 90 days after 30 Jun, its lead begun 14 Sep: the next service.
    expect(await check('2026-09-14T00:00:00Z')).toEqual(['EX-1|pm-a|3@b2026-01-01+1000h']);
  });

  it('a shortened interval opens the next point while the open one is cancelled', async () => {
    const x = await excavator();
    await x.feed(x.hours('2026-03-01T08:00:00Z', 1241));
    expect(await x.check('2026-03-01T12:00:00Z')).toEqual(['EX-1|pm-a|1@b2026-01-01+1000h']);
    await x.feed({ kind: 'workorder', source: 'erp-feedback', ids: [{ type: 'erp', value: 'EX-1' }], eventTime: at('2026-03-01T12:30:00Z'), receivedAt: 0, businessKey: 'EX-1|pm-a|1@b2026-01-01+1000h', status: 'cancelled' });
    const c = changedTo(180, 100);
    expect((await checkCalendarIntervals(x.store, c.options, at('2026-03-01T13:00:00Z'), commitTo(x.store))).map((d) => d.businessKey)).toEqual(['EX-1|pm-a|2@b2026-01-01+1000h']);
  });

  it('a completion with no known meter is not counted (as a service interval\'s): no new work order at once, until recorded with the meter', async () => {
    const x = await excavator();
    await x.feed(x.hours('2026-02-01T08:00:00Z', 1100), x.hours('2026-03-01T08:00:00Z', 1241));
    expect(await x.check('2026-03-01T12:00:00Z')).toEqual(['EX-1|pm-a|1@b2026-01-01+1000h']);
    // Serviced on 20 Jan, reported without the meter; the readings kept start after it.
    const { operatingHoursAtCompletion: _h, ...noMeter } = x.completed('2026-01-20T15:00:00Z', 'EX-1|pm-a|1@b2026-01-01+1000h', 0);
    await x.feed(noMeter);
    // Counting the hours from the attribute's 1,000 h again would make 1,241 h due at once.
    expect(await x.check('2026-03-02T00:00:00Z')).toEqual([]);
    const row = (await x.status('2026-03-02T00:00:00Z'))?.due[0];
    expect(row).toMatchObject({ baselineDate: '2026-01-01', baselineHours: 1000 });
    expect(JSON.stringify(row)).toContain("the schedule was not restarted: record the hour meter at the service with assetbridge maintenance complete 'EX-1|pm-a|1@b2026-01-01+1000h' --hours <reading>");
    // Recorded again with the meter: it counts (both sides from 20 Jan and 1,050 h).
    await x.feed(x.completed('2026-01-20T15:00:00Z', 'EX-1|pm-a|1@b2026-01-01+1000h', 1050));
    expect((await x.status('2026-03-02T00:00:00Z'))?.due[0]).toMatchObject({ state: 'ok', baselineDate: '2026-01-20', baselineHours: 1050 });
    expect(await x.check('2026-03-02T00:00:00Z')).toEqual([]);
  });

  it('keeps hours for it when no service interval counts them, and goes by the date alone before any reading', async () => {
    const x = await excavator();
    expect((await x.status('2026-03-01T00:00:00Z'))?.due[0]).toMatchObject({ state: 'ok', baselineHours: 1000, nextDueHours: 1250, nextDueDate: '2026-06-30' });
    expect((await x.status('2026-03-01T00:00:00Z'))?.due[0]).not.toHaveProperty('hours');
    expect(await x.check('2026-06-17T00:00:00Z')).toEqual(['EX-1|pm-a|1@b2026-01-01+1000h']);
    await x.feed(x.hours('2026-06-18T08:00:00Z', 1100));
    expect((await x.status('2026-06-18T09:00:00Z'))?.due[0]).toMatchObject({ state: 'due soon by date, work order requested', hours: 1100, remainingHours: 150 });
  });

  it('says where a meter side belongs in the config', () => {
    const issues = (input: unknown) => {
      const r = rulesSchema.safeParse(input);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({ maintenance: { serviceIntervals: [{ name: 'pm', everyHours: 250, everyDays: 180 }] } })).toEqual([
      'maintenance.serviceIntervals.0.everyDays: a service interval counts a meter; for "every N hours or N days, whichever comes first" move "pm" to maintenance.calendarIntervals with everyDays and everyHours (or everyKm)',
    ]);
    expect(issues({ maintenance: { calendarIntervals: [{ name: 'pm', everyDays: 180, everyHours: 250, everyKm: 10000 }] } })).toEqual([
      'maintenance.calendarIntervals.0.everyKm: a calendar interval counts days and at most one meter: give everyHours or everyKm, not both; make two rules for both',
    ]);
    expect(issues({ maintenance: { calendarIntervals: [{ name: 'pm', everyDays: 180, dueSoonHours: 10 }] } })).toEqual([
      'maintenance.calendarIntervals.0.dueSoonHours: dueSoonHours needs everyHours: the meter side of "every 180 days or N hours, whichever comes first"',
    ]);
    expect(issues({ maintenance: { calendarIntervals: [{ name: 'pm', everyDays: 180, everyKm: 15000, dueSoonKm: 15000 }] } })).toEqual(['maintenance.calendarIntervals.0.dueSoonKm: 15000 must be less than everyKm (15000)']);
    const ok = rulesSchema.parse({ maintenance: { calendarIntervals: [{ name: 'pm', everyDays: 365, everyKm: 15000 }] } });
    expect(ok.maintenance?.calendarIntervals[0]?.orMeter).toEqual({ meter: 'km', every: 15000, dueSoon: 0, baselineAttribute: 'lastServiceKm' });
  });
});

describe('the calendar task on the wall clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('checks soon after a start too: a service restarted more often than calendarCheckEvery would otherwise never check', async () => {
    vi.useFakeTimers();
    let checks = 0;
    const ctx = { checkpoint: () => Promise.resolve(void checks++), store: { listAssets: () => Promise.resolve([]) }, clock: { now: () => Date.now() } } as unknown as TaskContext;
    // Restarted every 50 minutes (a crash loop, a deploy pipeline) with the default hourly check.
    for (let start = 0; start < 5; start++) {
      const s = new TaskScheduler([createCalendarIntervalTask(options)], () => ctx, { now: () => Date.now() });
      s.start();
      await vi.advanceTimersByTimeAsync(50 * 60_000);
      await s.stop();
    }
    expect(checks).toBe(5);
  });
});

describe('the calendar work order payload', () => {
  it('dates its sensor snapshot by the readings in it, not by the check (a parked machine last read months ago)', async () => {
    const pmRules = rulesSchema.parse({ allowedLateness: 0, maintenance: { calendarIntervals: [{ name: 'pm-a', everyDays: 180, dueSoonDays: 14, everyHours: 250, dueSoonHours: 10 }] } });
    const pm = pmRules.maintenance!;
    const store = newStore();
    await store.upsertAssets([{ asset: { erpAssetId: 'EX-1', erpModule: 'maintenance', attributes: { lastServiceDate: '2026-01-01', lastServiceHours: '1000' } }, identifiers: [{ type: 'tag', value: 'x1', erpAssetId: 'EX-1' }] }]);
    const asset = (await store.listAssets())[0]!.asset;
    const rule = createRules(pmRules).find((r) => r.name === MAINTENANCE_RULE) as Rule;
    const reading: MeterEvent = { kind: 'meter', source: 't', ids: [{ type: 'tag', value: 'x1' }], eventTime: at('2026-03-01T08:00:00Z'), receivedAt: 0, operatingHours: 1100 };
    const state = rule.apply(undefined, reading, { asset, destination: 'erp', now: 0 }).state;
    await store.commitIngest({ states: [{ erpAssetId: 'EX-1', doc: { [MAINTENANCE_RULE]: state } }], deliveries: [], quarantine: [], accepted: 1 });
    const opts: CalendarTaskOptions = { rules: pm.calendarIntervals, checkEveryMs: pm.calendarCheckEvery, defaultDestination: 'erp', siteAttribute: pm.siteAttribute, windows: pm.windows };
    const [wo] = await checkCalendarIntervals(store, opts, at('2026-06-17T00:00:00Z'), commitTo(store));
    expect(wo?.payload).toMatchObject({ detectedAt: '2026-06-17T00:00:00.000Z', sensorSnapshot: { at: '2026-03-01T08:00:00.000Z', values: { operatingHours: { value: 1100, unit: 'h' } } } });
  });
});

describe('the calendar work order snapshot', () => {
  /** A calendar rule alone on EX-1, with the events applied to its state (released at once: no lateness) and stored. */
  async function parked(events: readonly CanonicalEvent[], snapshotMaxAge?: string) {
    const pmRules = rulesSchema.parse({ allowedLateness: 0, maintenance: { calendarIntervals: [{ name: 'pm-a', everyDays: 180, dueSoonDays: 14, everyHours: 250, dueSoonHours: 10 }], ...(snapshotMaxAge !== undefined ? { snapshotMaxAge } : {}) } });
    const { store, apply } = await servicedExcavator(pmRules);
    await apply(events);
    // The task as the service runs it (its options from the config).
    const task = createRuleTasks(pmRules, { defaultDestination: 'erp', destinations: [] }).find((t) => t.name === CALENDAR_TASK) as ScheduledTask;
    const opened: DeliveryIntent[] = [];
    const ctx = { checkpoint: () => Promise.resolve(), store, clock: { now: () => at('2026-06-17T00:00:00Z') }, commit: (d: readonly DeliveryIntent[]) => (opened.push(...d), commitTo(store)(d)) };
    await task.run(ctx as unknown as TaskContext);
    return (opened[0]?.payload as { sensorSnapshot?: unknown } | undefined)?.sensorSnapshot;
  }
  const ids = [{ type: 'tag' as const, value: 'x1' }];
  const sensor = (iso: string, values: Record<string, number>): SensorEvent => ({ kind: 'sensor', source: 't', ids, eventTime: at(iso), receivedAt: 0, values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, unit: k === 'coolantTemp' ? '°C' : '%' }])) });
  const reading = (iso: string, operatingHours: number): MeterEvent => ({ kind: 'meter', source: 't', ids, eventTime: at(iso), receivedAt: 0, operatingHours });
  // Parked since March: fuel read 20 minutes before the last reading, coolant a minute after it.
  const march = [sensor('2026-03-01T07:40:00Z', { fuelLevel: 35 }), reading('2026-03-01T08:00:00Z', 1100), sensor('2026-03-01T08:01:00Z', { coolantTemp: 40 })];

  it("holds the meters and every sensor's latest value, as a fault's, as old as its readings: a parked machine's last known state, dated then", async () => {
    expect(await parked(march)).toEqual({
      at: '2026-03-01T08:01:00.000Z',
      values: { operatingHours: { value: 1100, unit: 'h', at: '2026-03-01T08:00:00.000Z' }, coolantTemp: { value: 40, unit: '°C' } },
    });
  });

  it('leaves out values older than rules.maintenance.snapshotMaxAge before the newest reading', async () => {
    expect(await parked(march, '30m')).toEqual({
      at: '2026-03-01T08:01:00.000Z',
      values: { operatingHours: { value: 1100, unit: 'h', at: '2026-03-01T08:00:00.000Z' }, coolantTemp: { value: 40, unit: '°C' }, fuelLevel: { value: 35, unit: '%', at: '2026-03-01T07:40:00.000Z' } },
    });
  });

  it('is empty, dated by the check, with no reading at all', async () => {
    expect(await parked([])).toEqual({ at: '2026-06-17T00:00:00.000Z', values: {} });
  });
});

describe('calendar intervals count the days of the asset\'s site', () => {
  // New York has its own calendar; the common zone (no default slots) is Los Angeles'.
  const zoned = rulesSchema.parse({
    maintenance: {
      calendarIntervals: [
        { name: 'quarterly', everyDays: 90, severity: 'warning' },
        { name: 'weekly', everyDays: 7, severity: 'warning', appliesTo: { attributes: { weekly: 'yes' } } },
      ],
      windows: { timeZone: 'America/Los_Angeles', sites: { NYC: { timeZone: 'America/New_York', slots: [{ days: ['sat'], from: '06:00', to: '14:00' }] } } },
    },
  });
  const zm = zoned.maintenance!;
  const zoneOptions: CalendarTaskOptions = { rules: zm.calendarIntervals, checkEveryMs: zm.calendarCheckEvery, defaultDestination: 'erp', siteAttribute: zm.siteAttribute, windows: zm.windows };
  async function sites(assets: readonly { id: string; attributes: Record<string, string> }[]): Promise<SqliteStore> {
    const store = newStore();
    await store.upsertAssets(assets.map((a, i) => ({ asset: { erpAssetId: a.id, erpModule: 'maintenance', attributes: a.attributes }, identifiers: [{ type: 'tag', value: `zt${i}`, erpAssetId: a.id }] })));
    return store;
  }
  const opened = async (store: SqliteStore, now: string) => (await checkCalendarIntervals(store, zoneOptions, at(now), commitTo(store))).map((d) => d.businessKey);

  it('a completion on a New York evening (already the next day in UTC) counts from that evening\'s day, and the due date begins at local midnight', async () => {
    const store = await sites([{ id: 'NY-1', attributes: { site: 'NYC', lastServiceDate: '2026-03-01' } }]);
    const rule = createRules(zoned).find((r) => r.name === MAINTENANCE_RULE) as Rule;
    const asset = (await store.listAssets())[0]!.asset;
    // Completed 9 June, 20:30 in New York: 00:30 UTC on 10 June.
    const feedback: WorkOrderStatusEvent = { kind: 'workorder', source: 'erp-feedback', ids: [{ type: 'erp', value: 'NY-1' }], eventTime: at('2026-06-10T00:30:00Z'), receivedAt: 0, businessKey: 'NY-1|quarterly|2026-05-30@b2026-03-01', status: 'completed' };
    const r = rule.apply(undefined, feedback, { asset, destination: 'erp', now: 0 });
    await store.commitIngest({ states: [{ erpAssetId: 'NY-1', doc: { [MAINTENANCE_RULE]: r.state } }], deliveries: [], quarantine: [], accepted: 1 });
    const s = await loadMaintenanceStatus(store, zoned, 'NY-1', at('2026-09-06T16:00:00Z'));
    // 90 days after 9 June is 7 September; at noon on the 6th in New York, half a day to go.
    expect(s[0]?.due).toEqual([{ erpAssetId: 'NY-1', rule: 'quarterly', type: 'calendar', state: 'ok', baselineDate: '2026-06-09', nextDueDate: '2026-09-07', remainingDays: 0.5 }]);
    expect(await opened(store, '2026-09-07T03:30:00Z')).toEqual([]); // 23:30 on the 6th in New York
    expect(await opened(store, '2026-09-07T04:30:00Z')).toEqual(['NY-1|quarterly|2026-09-07@b2026-06-09']);
  });

  it('a week over the spring DST change is 7 calendar days (due at local midnight, an hour before 7 × 24 h)', async () => {
    // Serviced 2 March, 20:00 New York time (01:00 UTC on the 3rd); the clocks go forward on 8 March.
    const store = await sites([{ id: 'NY-2', attributes: { site: 'NYC', weekly: 'yes', lastServiceDate: '2026-03-02T20:00:00-05:00' } }]);
    const s = await loadMaintenanceStatus(store, zoned, 'NY-2', at('2026-03-08T16:00:00Z'));
    expect(s[0]?.due.find((d) => d.rule === 'weekly')).toMatchObject({ baselineDate: '2026-03-02', nextDueDate: '2026-03-09', remainingDays: 0.5 });
    expect((await opened(store, '2026-03-09T03:30:00Z')).filter((k) => k.includes('weekly'))).toEqual([]); // 23:30 EDT on the 8th
    expect((await opened(store, '2026-03-09T04:10:00Z')).filter((k) => k.includes('weekly'))).toEqual(['NY-2|weekly|2026-03-09@b2026-03-02']); // 00:10 EDT on the 9th
    expect((await opened(store, '2026-03-16T04:10:00Z')).filter((k) => k.includes('weekly'))).toEqual(['NY-2|weekly|2026-03-16@b2026-03-02']);
  });

  it('an asset at no site with a calendar counts in the common windows zone, even with no default slots', async () => {
    const store = await sites([{ id: 'LA-1', attributes: {} }]);
    expect(await opened(store, '2026-06-10T05:00:00Z')).toEqual([]); // first check: 22:00 on 9 June in Los Angeles
    const s = await loadMaintenanceStatus(store, zoned, 'LA-1', at('2026-06-10T05:00:00Z'));
    expect(s[0]?.due[0]).toMatchObject({ baselineDate: '2026-06-09', nextDueDate: '2026-09-07' });
  });

  it('upgrading keeps the key of an occurrence already opened under UTC days, and does not open an earlier one again (exactly once)', async () => {
    const store = await sites([
      { id: 'OLD-1', attributes: { site: 'NYC' } },
      { id: 'OLD-2', attributes: { site: 'NYC' } },
      { id: 'NEW-1', attributes: { site: 'NYC' } },
    ]);
    // Before the upgrade: first checked at 21:00 on 9 January in New York (10 January in UTC), so
    // UTC days counted from 10 January. OLD-1's first due point (10 April) is open; OLD-2's second
    // (9 July) was opened at 00:00 UTC on 9 July, still 8 July in New York.
    const first = String(at('2026-01-10T02:00:00Z'));
    await store.kvSetMany(CALENDAR_NS, [
      ['first:OLD-1|quarterly', first],
      ['fired:OLD-1|quarterly', JSON.stringify({ key: 'OLD-1|quarterly|2026-04-10@b2026-01-10', at: at('2026-04-10T00:00:00Z') })],
      ['first:OLD-2|quarterly', first],
      ['fired:OLD-2|quarterly', JSON.stringify({ key: 'OLD-2|quarterly|2026-07-09@b2026-01-10', at: at('2026-07-09T00:00:00Z') })],
      ['first:NEW-1|quarterly', first],
    ]);
    // NEW-1, with nothing opened yet, counts in New York days: from 9 January, due 9 April.
    expect(await opened(store, '2026-04-12T12:00:00Z')).toEqual(['NEW-1|quarterly|2026-04-09@b2026-01-09']);
    const s = await loadMaintenanceStatus(store, zoned, 'OLD-1', at('2026-04-12T12:00:00Z'));
    expect(s[0]?.due[0]).toMatchObject({ state: 'due, work order requested', baselineDate: '2026-01-10', nextDueDate: '2026-04-10' });
    // 22:00 on 8 July in New York: OLD-2's 10 April is not opened again (only NEW-1's 8 July opens).
    expect(await opened(store, '2026-07-09T02:00:00Z')).toEqual(['NEW-1|quarterly|2026-07-08@b2026-01-09']);
    // The series keeps its baseline: the next due point opens at midnight in New York.
    expect(await opened(store, '2026-07-09T04:30:00Z')).toEqual(['OLD-1|quarterly|2026-07-09@b2026-01-10']);
    expect((await workOrders(store)).filter((k) => k.startsWith('OLD'))).toEqual(['OLD-1|quarterly|2026-07-09@b2026-01-10']);

    // The site's zone changed later (to Auckland, where the first check was 10 January): NEW-1's
    // open 8 July is not opened again as 10 July; its series keeps counting from 9 January.
    const moved = rulesSchema.parse({ maintenance: { calendarIntervals: zm.calendarIntervals, windows: { sites: { NYC: { timeZone: 'Pacific/Auckland', slots: [] } } } } }).maintenance!;
    const later = await checkCalendarIntervals(store, { ...zoneOptions, windows: moved.windows }, at('2026-07-10T00:00:00Z'), commitTo(store));
    expect(later.map((d) => d.businessKey)).toEqual([]);
    expect((await opened(store, '2026-10-06T04:30:00Z')).filter((k) => k.startsWith('NEW'))).toEqual(['NEW-1|quarterly|2026-10-06@b2026-01-09']);
  });
});
