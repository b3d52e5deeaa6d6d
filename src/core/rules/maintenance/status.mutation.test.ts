/**
 * `maintenance status` rows for service intervals at their boundaries, which maintenance.test.ts
 * leaves open: a reading exactly at the due point or exactly at the start of the due-soon lead,
 * and a work order the ERP cancelled.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { AlertEvent, CanonicalEvent, MeterEvent, SensorEvent, WorkOrderStatusEvent } from '../../model/events.js';
import { simulateRules } from '../simulate.js';
import { createMaintenanceRule, type MaintenanceState } from './maintenance-rule.js';
import { maintenanceStatus } from './status.js';
import type { MaintenanceOptions, ServiceIntervalRule, ThresholdRule } from './types.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const HOUR = 3_600_000;
const asset: AssetRecord = { erpAssetId: 'EQ-7', erpModule: 'maintenance', attributes: {} };
const service250: ServiceIntervalRule = { name: 'service-250h', meter: 'hours', every: 250, dueSoon: 0, defaultBaseline: 'zero', severity: 'warning' };
const options = (rule: ServiceIntervalRule = service250): MaintenanceOptions => ({ thresholds: [], serviceIntervals: [rule], allowedLatenessMs: 0, siteAttribute: 'site', windows: {} });

const meter = (at: number, operatingHours: number, declaredReset?: true): MeterEvent => ({
  kind: 'meter',
  source: 'test',
  ids: [{ type: 'tag', value: 'x' }],
  eventTime: T0 + at * HOUR,
  receivedAt: T0 + at * HOUR,
  operatingHours,
  ...(declaredReset ? { declaredReset } : {}),
});
const feedback = (at: number, businessKey: string, status: WorkOrderStatusEvent['status']): WorkOrderStatusEvent => ({
  kind: 'workorder',
  source: 'erp-feedback',
  ids: [{ type: 'erp', value: 'EQ-7' }],
  eventTime: T0 + at * HOUR,
  receivedAt: T0 + at * HOUR,
  businessKey,
  status,
});

/** The service row of `maintenance status` after the events. */
function serviceRow(events: readonly CanonicalEvent[], opts = options()) {
  const r = simulateRules([createMaintenanceRule(opts)], events.map((event) => ({ event, asset, destination: 'erp' })));
  const state = r.states.get('EQ-7')?.maintenance as MaintenanceState | undefined;
  return { opened: r.perStep.flat().map((d) => d.businessKey), row: maintenanceStatus(asset, state, opts, { now: T0 + 400 * HOUR, marks: () => ({}) }).due.find((d) => d.type === 'service') };
}

describe('maintenance status: service rows', () => {
  it('a reading exactly at the due point is "due", not "due soon"', () => {
    // Kills `remaining <= 0` → `< 0`.
    const { opened, row } = serviceRow([meter(0, 240), meter(10, 250)]);
    expect(opened).toEqual(['EQ-7|service-250h|250h@b0']);
    expect(row).toMatchObject({ state: 'due, work order requested', hours: 250, nextDueHours: 250, remainingHours: 0 });
  });

  it('an interval added after readings were counted (by another interval) says the next reading starts it, not that there are none', () => {
    // The hours are kept for service-250h; service-500h is added to the config afterwards.
    const r = simulateRules([createMaintenanceRule(options())], [meter(0, 200), meter(10, 210)].map((event) => ({ event, asset, destination: 'erp' })));
    const state = r.states.get('EQ-7')?.maintenance as MaintenanceState | undefined;
    const added: MaintenanceOptions = { ...options(), serviceIntervals: [service250, { ...service250, name: 'service-500h', every: 500 }] };
    const row = maintenanceStatus(asset, state, added, { now: T0 + 11 * HOUR, marks: () => ({}) }).due.find((d) => d.rule === 'service-500h');
    expect(row).toMatchObject({ state: 'not counted yet: the next meter reading starts its schedule (the latest, 210 h, was read at 2026-10-01T18:00:00.000Z, before it applied)', hours: 210 });
    // With no reading at all, none.
    expect(serviceRow([]).row?.state).toBe('no readings');
  });

  it('a reading exactly at the start of the due-soon lead is "due soon"', () => {
    // Kills `remaining <= dueSoon` → `<` (the row would say "scheduled" while the rule opened the work order as due soon).
    const lead = options({ ...service250, dueSoon: 25 });
    const { opened, row } = serviceRow([meter(0, 200), meter(25, 225)], lead);
    expect(opened).toEqual(['EQ-7|service-250h|250h@b0']);
    expect(row).toMatchObject({ state: 'due soon, work order requested', hours: 225, nextDueHours: 250, remainingHours: 25 });
  });

  it('due with no work order opened for it yet (the interval shortened since the last reading) says the next reading opens it', () => {
    // Before: the row said "due" and nothing else, with no open work order and none in the ERP; the
    // work order opens only when the rule steps on the next reading.
    const { opened } = serviceRow([meter(0, 190), meter(10, 200)]);
    expect(opened).toEqual([]);
    const shorter = options({ ...service250, every: 200 });
    const r = simulateRules([createMaintenanceRule(options())], [meter(0, 190), meter(10, 200)].map((event) => ({ event, asset, destination: 'erp' })));
    const state = r.states.get('EQ-7')?.maintenance as MaintenanceState | undefined;
    const row = maintenanceStatus(asset, state, shorter, { now: T0 + 400 * HOUR, marks: () => ({}) }).due.find((d) => d.type === 'service');
    expect(row).toMatchObject({ state: 'due, work order with the next meter reading', hours: 200, nextDueHours: 200, remainingHours: 0 });
    // And the next reading, under the changed rule, opens it: the row then says so.
    const next = simulateRules([createMaintenanceRule(shorter)], [{ event: meter(11, 200.5), asset, destination: 'erp' }], { initial: r.states });
    expect(next.perStep.flat().map((d) => d.businessKey)).toEqual(['EQ-7|service-250h|200h@b0']);
    const after = maintenanceStatus(asset, next.states.get('EQ-7')?.maintenance as MaintenanceState | undefined, shorter, { now: T0 + 400 * HOUR, marks: () => ({}) }).due.find((d) => d.type === 'service');
    expect(after?.state).toBe('due, work order requested');
  });

  it('after the ERP cancels the work order for a due point, the row shows the next due point, not the cancelled one', () => {
    // Kills counting a cancelled work order as pending, and `nextDue` without its `+ 1`.
    const key = 'EQ-7|service-250h|250h@b0';
    const { opened, row } = serviceRow([meter(0, 240), meter(11, 251), feedback(12, key, 'cancelled')]);
    expect(opened).toEqual([key]);
    expect(row).toMatchObject({ state: 'ok', hours: 251, baselineHours: 0, nextDueHours: 500, remainingHours: 249 });
  });

  it('after a declared meter replacement, the row says how far the hours it counts are from what the meter itself shows', () => {
    const { row } = serviceRow([meter(0, 200), meter(40, 230), meter(41, 0, true), meter(45, 4)]);
    // 230 + 4 = 234 continuous hours; the new meter shows 4.
    expect(row).toMatchObject({ hours: 234, nextDueHours: 250, state: 'ok; the meter itself shows 230 h less (a replaced meter or readings set aside)' });
    // Without a replacement (or anything set aside) the two agree and nothing is added.
    expect(serviceRow([meter(0, 200), meter(40, 234)]).row?.state).toBe('ok');
  });
});

describe('maintenance status: repeating threshold rows', () => {
  const spikes: ThresholdRule = { name: 'pressure-spikes', sensor: 'hydPressureBar', direction: 'above', threshold: 250, clearAt: 240, durationMs: 0, maxGapMs: 10 * 60_000, cooldownMs: HOUR, severity: 'warning', repeat: { count: 3, withinMs: HOUR } };
  const opts: MaintenanceOptions = { thresholds: [spikes], serviceIntervals: [], allowedLatenessMs: 0, siteAttribute: 'site', windows: {} };
  const sample = (minute: number, value: number): SensorEvent => ({ kind: 'sensor', source: 'test', ids: [{ type: 'tag', value: 'x' }], eventTime: T0 + minute * 60_000, receivedAt: T0 + minute * 60_000, values: { hydPressureBar: { value, unit: 'bar' } } });
  const run = (values: readonly number[], now: number) => {
    const r = simulateRules([createMaintenanceRule(opts)], values.map((v, i) => ({ event: sample(i * 2, v), asset, destination: 'erp' })));
    const state = r.states.get('EQ-7')?.maintenance as MaintenanceState | undefined;
    return { opened: r.perStep.flat().map((d) => d.businessKey), row: maintenanceStatus(asset, state, opts, { now, marks: () => ({}) }).due.find((d) => d.type === 'threshold') };
  };

  it('a count reached again within the cooldown says the cooldown holds the work order, and until when', () => {
    // Before: "normal, 3 of 3 breaches counted since …" and nothing else, with no work order opening.
    const { opened, row } = run([100, 260, 230, 265, 230, 270, 230, 280, 230, 275, 230, 290, 230], T0 + 30 * 60_000);
    expect(opened).toEqual(['EQ-7|pressure-spikes|2026-10-01T08:02:00.000Z']);
    expect(row?.state).toBe(
      'normal, 3 of 3 breaches counted since 2026-10-01T08:14:00.000Z: the count is reached, but no work order opens before the cooldown after the last one (2026-10-01T08:10:00.000Z) ends 2026-10-01T09:10:00.000Z; then the next breach opens one, while 3 are counted within 60 min',
    );
    // Taken after the cooldown ended, before the next breach: that breach opens it, the cooldown is past.
    expect(run([100, 260, 230, 265, 230, 270, 230, 280, 230, 275, 230, 290, 230], T0 + 71 * 60_000).row?.state).toBe(
      'normal, 3 of 3 breaches counted since 2026-10-01T08:14:00.000Z: the count is reached, and the cooldown after the last work order (2026-10-01T08:10:00.000Z) ended 2026-10-01T09:10:00.000Z: the next breach opens one, while 3 are counted within 60 min',
    );
    // Under the count, nothing of the kind.
    expect(run([100, 260, 230, 265, 230], T0 + 30 * 60_000).row?.state).toBe('normal, 2 of 3 breaches counted since 2026-10-01T08:02:00.000Z');
  });
});

describe('maintenance status: alert rows', () => {
  const faults: MaintenanceOptions = { thresholds: [], serviceIntervals: [], alerts: [{ name: 'fault-codes', minSeverity: 'critical', cooldownMs: 24 * HOUR }], allowedLatenessMs: 0, siteAttribute: 'site', windows: {} };
  const alert = (at: number): AlertEvent => ({ kind: 'alert', source: 'test', ids: [{ type: 'tag', value: 'x' }], eventTime: T0 + at * HOUR, receivedAt: T0 + at * HOUR, reason: 'hydraulic leak', severity: 'critical', code: 'HYD-1' });

  it('a fault whose work order the ERP completed, reported again within the cooldown, says why no work order opens', () => {
    // Before: "active: HYD-1 since …" only, beside a completed work order, while the repeat report opened nothing.
    const key = 'EQ-7|fault-codes|HYD-1@2026-10-01T08:00:00.000Z';
    const r = simulateRules([createMaintenanceRule(faults)], [alert(0), feedback(2, key, 'completed'), alert(3)].map((event) => ({ event, asset, destination: 'erp' })));
    expect(r.perStep.flat().map((d) => d.businessKey)).toEqual([key]);
    const state = r.states.get('EQ-7')?.maintenance as MaintenanceState | undefined;
    const row = maintenanceStatus(asset, state, faults, { now: T0 + 4 * HOUR, marks: () => ({}) }).due.find((d) => d.type === 'alert');
    expect(row?.state).toBe(
      'active: HYD-1 since 2026-10-01T08:00:00.000Z (work order completed 2026-10-01T10:00:00.000Z; a report within 24 h of the last one, 2026-10-01T11:00:00.000Z, is still this fault and opens no work order)',
    );
    // With its work order still open, the row is as it was.
    const open = simulateRules([createMaintenanceRule(faults)], [alert(0), alert(3)].map((event) => ({ event, asset, destination: 'erp' })));
    expect(maintenanceStatus(asset, open.states.get('EQ-7')?.maintenance as MaintenanceState | undefined, faults, { now: T0 + 4 * HOUR, marks: () => ({}) }).due.find((d) => d.type === 'alert')?.state).toBe('active: HYD-1 since 2026-10-01T08:00:00.000Z');
  });
});

