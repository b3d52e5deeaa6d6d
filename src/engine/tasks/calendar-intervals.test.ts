import { afterEach, describe, expect, it } from 'vitest';
import { tempStore } from '../../../test/helpers/temp-store.js';
import type { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { rulesSchema } from '../../config/rules-schema.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import type { WorkOrderStatusEvent } from '../../core/model/events.js';
import { createRules, maintenanceOptionsOf } from '../../core/rules/index.js';
import { MAINTENANCE_RULE } from '../../core/rules/maintenance/maintenance-rule.js';
import type { Rule } from '../../core/rules/rule.js';
import { loadMaintenanceStatus } from '../../cli/commands/maintenance.js';
import { checkCalendarIntervals, type CalendarTaskOptions } from './calendar-intervals.js';

const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

const at = (iso: string) => Date.parse(iso);
const rules = rulesSchema.parse({
  maintenance: {
    calendarIntervals: [{ name: 'annual-inspection', everyDays: 365, dueSoonDays: 30, severity: 'critical', appliesTo: { erpModules: ['maintenance'] } }],
    windows: { timeZone: 'UTC', default: [{ days: ['sat'], from: '06:00', to: '14:00' }] },
  },
});
const m = rules.maintenance!;
const options: CalendarTaskOptions = { rules: m.calendarIntervals, checkEveryMs: m.calendarCheckEvery, defaultDestination: 'erp', siteAttribute: m.siteAttribute, windows: m.windows };

async function fleet(): Promise<SqliteStore> {
  const store = tempStore();
  stores.push(store);
  await store.upsertAssets([
    { asset: { erpAssetId: 'CR-1', erpModule: 'maintenance', attributes: { lastServiceDate: '2026-01-10' } }, identifiers: [{ type: 'tag', value: 't1', erpAssetId: 'CR-1' }] },
    { asset: { erpAssetId: 'CR-2', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 't2', erpAssetId: 'CR-2' }] },
    { asset: { erpAssetId: 'PAL-1', erpModule: 'inventory', attributes: {} }, identifiers: [{ type: 'tag', value: 't3', erpAssetId: 'PAL-1' }] },
  ]);
  return store;
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
      'maintenance.calendarIntervals.1.dueSoonDays: must be less than everyDays (30)',
      'maintenance.calendarIntervals.0.name: rule name "svc" is used twice; names identify work orders and must be unique',
    ]);
  });
});
