/**
 * The maintenance rule's closed loop and bookkeeping where maintenance.test.ts does not pin it:
 * completions that arrive out of event-time order, a completed work order reported again, the
 * hours at a completion on a replaced meter or from a long history, how many closed work orders
 * are remembered, and sensor events that carry none of the rules' sensors.
 */
import { describe, expect, it } from 'vitest';
import { lowOil } from '../../../../test/helpers/maintenance-rules.js';
import type { AssetRecord } from '../../model/assets.js';
import type { CanonicalEvent, MeterEvent, SensorEvent, WorkOrderStatusEvent } from '../../model/events.js';
import { flushRules, simulateRules, type StateDoc } from '../simulate.js';
import { createMaintenanceRule, formatDuration, type MaintenanceState } from './maintenance-rule.js';
import { maintenanceStatus } from './status.js';
import { MAX_OPEN_REMEMBERED } from './work-order-memory.js';
import type { CalendarIntervalRule, MaintenanceOptions, ServiceIntervalRule } from './types.js';

const T0 = Date.UTC(2026, 9, 1, 8); // Thursday 2026-10-01 08:00Z
const MIN = 60_000;
const HOUR = 60 * MIN;
const asset: AssetRecord = { erpAssetId: 'EQ-7', erpModule: 'maintenance', attributes: { site: 'BER' } };

const service250: ServiceIntervalRule = { name: 'service-250h', meter: 'hours', every: 250, dueSoon: 0, defaultBaseline: 'zero', severity: 'warning' };
const inspection: CalendarIntervalRule = { name: 'inspection', everyDays: 365, dueSoonDays: 0, baselineAttribute: 'lastInspection', severity: 'warning' };

function options(over: Partial<MaintenanceOptions> = {}): MaintenanceOptions {
  return { thresholds: [], serviceIntervals: [service250], allowedLatenessMs: 0, siteAttribute: 'site', windows: {}, ...over };
}

const base = { source: 'test', ids: [{ type: 'tag', value: 'x' }] } as const;
/** A meter reading `at` hours after T0. */
const meter = (at: number, operatingHours: number, declaredReset?: boolean): MeterEvent => ({
  ...base,
  kind: 'meter',
  eventTime: T0 + at * HOUR,
  receivedAt: T0 + at * HOUR,
  operatingHours,
  ...(declaredReset ? { declaredReset } : {}),
});
/** Sensor values `min` minutes after T0. */
const sensor = (min: number, values: Record<string, number>): SensorEvent => ({
  ...base,
  kind: 'sensor',
  eventTime: T0 + min * MIN,
  receivedAt: T0 + min * MIN,
  values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])),
});
/** ERP feedback `at` hours after T0. */
const feedback = (at: number, businessKey: string, status: WorkOrderStatusEvent['status'], hours?: number): WorkOrderStatusEvent => ({
  kind: 'workorder',
  source: 'erp-feedback',
  ids: [{ type: 'erp', value: asset.erpAssetId }],
  eventTime: T0 + at * HOUR,
  receivedAt: T0 + at * HOUR,
  businessKey,
  status,
  ...(hours !== undefined ? { operatingHoursAtCompletion: hours } : {}),
});

function run(events: readonly CanonicalEvent[], opts = options(), initial?: StateDoc) {
  const rule = createMaintenanceRule(opts);
  const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })), initial ? { initial: new Map([[asset.erpAssetId, initial]]) } : {});
  const f = flushRules([rule], r.states, new Map([[asset.erpAssetId, { asset, destination: 'erp' }]]), 0);
  const doc = f.states.get(asset.erpAssetId) ?? {};
  return { deliveries: [...r.perStep.flat(), ...f.deliveries], doc, state: doc.maintenance as MaintenanceState | undefined };
}
const keys = (r: { deliveries: readonly { businessKey: string }[] }) => r.deliveries.map((d) => d.businessKey);

describe('completions out of event-time order (event time wins)', () => {
  // Two work orders of one rule left open: 250 h (opened at 251 h) and 500 h (at 500 h).
  const opened = () => run([meter(0, 240), meter(11, 251), meter(270, 500)]);
  const w250 = 'EQ-7|service-250h|250h@b0';
  const w500 = 'EQ-7|service-250h|500h@b0';

  it('an older completion of another work order of the rule, arriving after a newer one, never moves the baseline back', () => {
    // Kills dropping the `eventTime > baseAt` check: the late report would restart the schedule at 500 h.
    const o = opened();
    expect(keys(o)).toEqual([w250, w500]);
    // Both closed at one visit; the ERP reports the 500 h one (stamped 300 h, at 502 h) first, then
    // the 250 h one stamped an hour earlier (at 500 h).
    const done = run([feedback(300, w500, 'completed', 502), feedback(299, w250, 'completed', 500)], options(), o.doc);
    expect(done.state?.services?.['service-250h']).toEqual({ base: 502, baseAt: T0 + 300 * HOUR });
    const next = run([meter(560, 752)], options(), done.doc);
    expect(keys(next)).toEqual(['EQ-7|service-250h|752h@b502']);
  });

  it('a completion that repeats the baseline in force still counts as the latest: an older one after it changes nothing', () => {
    // Kills keeping the old `baseAt` when a completion equals the baseline: the report stamped in
    // between would then count as newer and move the baseline back.
    const o = opened();
    const w750 = 'EQ-7|service-250h|750h@b0'; // a third one the ERP closed at the same visit
    const done = run([feedback(300, w500, 'completed', 502), feedback(302, w250, 'completed', 502), feedback(301, w750, 'completed', 501)], options(), o.doc);
    expect(done.state?.services?.['service-250h']?.base).toBe(502);
    expect(keys(run([meter(560, 752)], options(), done.doc))).toEqual(['EQ-7|service-250h|752h@b502']);
  });

  it('a completed work order reported again later (an edit in the ERP) does not move the baseline', () => {
    // Kills computing the hours at completion for a work order already completed: the re-report,
    // without hours, would take the meter at its newer time (280 h) as the service.
    const o = run([meter(0, 240), meter(11, 251)]);
    const done = run([feedback(12, w250, 'completed', 252), meter(13, 253), meter(40, 280), feedback(41, w250, 'completed')], options(), o.doc);
    expect(done.state?.services?.['service-250h']?.base).toBe(252);
    expect(done.state?.workOrders?.[w250]).toMatchObject({ status: 'completed', hoursAtCompletion: 252, changedAt: T0 + 41 * HOUR });
    expect(keys(run([meter(300, 502)], options(), done.doc))).toEqual(['EQ-7|service-250h|502h@b252']);
  });

  it('a calendar interval counts from its latest completion, not from an older one reported after it', () => {
    // Kills dropping the `eventTime > baseAt` check for calendar completions.
    const opts = options({ serviceIntervals: [], calendarIntervals: [inspection] });
    const done = run([feedback(48, 'EQ-7|inspection|2027-10-03@b2026-10-03', 'completed'), feedback(24, 'EQ-7|inspection|2027-10-02@b2026-10-02', 'completed')], opts);
    expect(done.state?.calendars?.inspection).toEqual({ base: Date.UTC(2026, 9, 3), baseAt: T0 + 48 * HOUR });
    const row = maintenanceStatus(asset, done.state, opts, { now: T0 + 72 * HOUR, marks: () => ({}) }).due.find((d) => d.rule === 'inspection');
    expect(row).toMatchObject({ baselineDate: '2026-10-03', nextDueDate: '2027-10-03' });
  });

  it('a calendar work order the ERP cancels, or only starts, does not move the calendar baseline', () => {
    // Kills taking any status but "requested" as the calendar interval's completion.
    const opts = options({ serviceIntervals: [], calendarIntervals: [inspection] });
    const key = 'EQ-7|inspection|2026-10-01@b2025-10-01';
    const r = run([feedback(24, key, 'in-progress'), feedback(48, key, 'cancelled')], opts);
    expect(r.state?.calendars?.inspection).toBeUndefined();
    const done = run([feedback(72, key, 'completed')], opts, r.doc);
    expect(done.state?.calendars?.inspection).toEqual({ base: Date.UTC(2026, 9, 4), baseAt: T0 + 72 * HOUR });
  });
});

describe('the hours at a completion', () => {
  it('on a replaced meter, the ERP’s reading of the new meter continues the count', () => {
    // Kills taking the ERP's raw reading (11 h on the new meter) as the baseline: the next service
    // would be asked for at once, 261 h "after" a service at 11 h.
    const key = 'EQ-7|service-250h|250h@b0';
    const replaced = run([meter(0, 240), meter(5, 245), meter(6, 3, true), meter(20, 10)]);
    expect(keys(replaced)).toEqual([key]); // 245 + (10 − 3) = 252 continuous hours
    const done = run([feedback(21, key, 'completed', 11), meter(22, 12)], options(), replaced.doc);
    expect(done.state?.services?.['service-250h']?.base).toBe(253);
    expect(done.deliveries).toEqual([]);
    expect(keys(run([meter(300, 261)], options(), done.doc))).toEqual(['EQ-7|service-250h|503h@b253']);
  });

  it('without hours, is the meter at the completion time, also after hours of frequent readings', () => {
    // Kills the history keeping every close reading (it would then cover only the last hour and
    // fall back to a reading long after the completion).
    const every5min = Array.from({ length: 37 }, (_, i) => meter(i / 12, 249 + i / 12)); // 249 h → 252 h over 3 h
    const opened = run(every5min);
    expect(keys(opened)).toEqual(['EQ-7|service-250h|250h@b0']);
    const done = run([feedback(1.5, 'EQ-7|service-250h|250h@b0', 'completed')], options(), opened.doc);
    expect(done.state?.services?.['service-250h']?.base).toBeCloseTo(250.5, 3);
  });
});

describe('work orders remembered', () => {
  it('keeps the newest `keepClosed` of them, forgetting the oldest first', () => {
    // Kills `length <= keep` → `<` (one fewer kept) and sorting newest first (the newest forgotten).
    const opts = options({ serviceIntervals: [], thresholds: [lowOil], keepClosed: 2 });
    const key = (h: number) => `EQ-7|low-oil|${new Date(T0 + h * HOUR).toISOString()}`;
    const r = run([1, 2, 3].map((h) => feedback(h + 0.5, key(h), 'completed')), opts);
    const status = maintenanceStatus(asset, r.state, opts, { now: T0 + 4 * HOUR, marks: () => ({}) });
    expect(status.closed.map((w) => w.businessKey)).toEqual([key(2), key(3)]);
  });

  it(`keeps the newest ${MAX_OPEN_REMEMBERED} open ones, forgetting the oldest first, and counts those it forgot (status says so)`, () => {
    const opts = options({ serviceIntervals: [], thresholds: [lowOil] });
    const key = (h: number) => `EQ-7|low-oil|${new Date(T0 + h * MIN).toISOString()}`;
    const mins = Array.from({ length: MAX_OPEN_REMEMBERED + 2 }, (_, i) => i + 1);
    const r = run(mins.map((m) => ({ ...feedback(0, key(m), 'open'), eventTime: T0 + m * MIN + 30_000, receivedAt: T0 + m * MIN + 30_000 })), opts);
    expect(Object.keys(r.state?.workOrders ?? {}).sort()).toEqual(mins.slice(2).map(key).sort());
    expect(r.state?.openForgotten).toBe(2);
    const status = maintenanceStatus(asset, r.state, opts, { now: T0 + 30 * HOUR, marks: () => ({}) });
    expect(status.open).toHaveLength(MAX_OPEN_REMEMBERED);
    expect(status.openForgotten).toBe(2);
  });

  it('hundreds of fault work orders open at once: the ERP closing most of them leaves exactly the ones still open in status', () => {
    const opts = options({ serviceIntervals: [], alerts: [{ name: 'faults', minSeverity: 'warning', cooldownMs: 24 * HOUR }] });
    const at = (i: number) => T0 + i * 1000;
    const faults: CanonicalEvent[] = Array.from({ length: 300 }, (_, i) => ({ ...base, kind: 'alert', eventTime: at(i), receivedAt: at(i), severity: 'critical', code: `SPN${i}-FMI2`, reason: 'bus fault' }));
    const opened = run(faults, opts);
    expect(opened.deliveries).toHaveLength(300);
    const keyOf = (i: number) => `EQ-7|faults|SPN${i}-FMI2@${new Date(at(i)).toISOString()}`;
    // The ERP closes all but every 15th, the oldest first.
    const stillOpen = Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 15 === 0);
    const closing = Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 15 !== 0);
    const closed = run(closing.map((i) => ({ ...feedback(1, keyOf(i), 'completed'), eventTime: T0 + HOUR + i * 1000, receivedAt: T0 + HOUR + i * 1000 })), opts, opened.doc);
    const status = maintenanceStatus(asset, closed.state, opts, { now: T0 + 2 * HOUR, marks: () => ({}) });
    expect(status.open.map((w) => w.businessKey).sort()).toEqual(stillOpen.map(keyOf).sort());
    expect(status.openForgotten).toBeUndefined();
  });

  it('hundreds of fault work orders closed by the ERP while the faults are still active: the rule’s row says so for each, beyond keepClosed', () => {
    const opts = options({ serviceIntervals: [], alerts: [{ name: 'faults', minSeverity: 'warning', cooldownMs: 24 * HOUR }] });
    const at = (i: number) => T0 + i * 1000;
    const faults: CanonicalEvent[] = Array.from({ length: 300 }, (_, i) => ({ ...base, kind: 'alert', eventTime: at(i), receivedAt: at(i), severity: 'critical', code: `SPN${i}-FMI2`, reason: 'bus fault' }));
    const opened = run(faults, opts);
    const keyOf = (i: number) => `EQ-7|faults|SPN${i}-FMI2@${new Date(at(i)).toISOString()}`;
    const closing = Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 15 !== 0);
    // Closed (and one of them reported "in progress" late, with an older time: event time wins).
    const closed = run(
      [...closing.map((i) => ({ ...feedback(1, keyOf(i), 'completed'), eventTime: T0 + HOUR + i * 1000, receivedAt: T0 + HOUR + i * 1000 })), feedback(0.5, keyOf(1), 'in-progress')],
      opts,
      opened.doc,
    );
    // The faults go on being reported, within their cooldown: no work order, and still closed.
    const again = run(faults.map((f) => ({ ...f, eventTime: f.eventTime + 2 * HOUR, receivedAt: f.eventTime + 2 * HOUR })), opts, closed.doc);
    expect(again.deliveries).toEqual([]);
    const row = maintenanceStatus(asset, again.state, opts, { now: T0 + 3 * HOUR, marks: () => ({}) }).due.find((d) => d.rule === 'faults');
    const notes = row?.state.match(/SPN\d+-FMI2 since \S+ \(work order completed/g) ?? [];
    expect(notes).toHaveLength(closing.length);
    expect(row?.state).toContain(`SPN1-FMI2 since ${new Date(at(1)).toISOString()} (work order completed ${new Date(T0 + HOUR + 1000).toISOString()}`);
    expect(row?.state).toMatch(/SPN0-FMI2 since \S+(, |$)/);
    // The late "in progress" did not bring the closed work order back into the open ones.
    const open = maintenanceStatus(asset, again.state, opts, { now: T0 + 3 * HOUR, marks: () => ({}) }).open.map((w) => w.businessKey);
    expect(open).toHaveLength(20);
    expect(open).not.toContain(keyOf(1));
  });
});

describe('a work order opened after ERP feedback on it was taken (a replay, a restart with state lost)', () => {
  it('keeps the ERP status: the opening does not turn a completed work order back into a requested one', () => {
    // The fault waits in the reorder buffer (30 min lateness); the feedback applies at once.
    const opts = options({ serviceIntervals: [], thresholds: [lowOil], alerts: [{ name: 'faults', minSeverity: 'critical', cooldownMs: HOUR }], allowedLatenessMs: 30 * MIN });
    const fault: CanonicalEvent = { ...base, kind: 'alert', eventTime: T0 + HOUR, receivedAt: T0 + HOUR, severity: 'critical', code: 'E-17', reason: 'ECU fault' };
    const faultKey = 'EQ-7|faults|E-17@2026-10-01T09:00:00.000Z';
    const oilKey = 'EQ-7|low-oil|2026-10-01T09:00:00.000Z';
    const r = run([fault, sensor(60, { oilPressure: 1 }), feedback(1.2, faultKey, 'completed'), feedback(1.2, oilKey, 'completed')], opts);
    expect(keys(r).sort()).toEqual([faultKey, oilKey]);
    const status = maintenanceStatus(asset, r.state, opts, { now: T0 + 2 * HOUR, marks: () => ({}) });
    expect(status.open).toEqual([]);
    expect(status.closed.map((w) => [w.businessKey, w.status, w.priority])).toEqual([
      [faultKey, 'completed', 'HIGH'],
      [oilKey, 'completed', 'MEDIUM'],
    ]);
  });
});

describe('work orders opened by a fault code', () => {
  it('carry the latest meter readings as their sensor snapshot', () => {
    // Kills an empty snapshot for alert work orders ("work orders carry … a sensor snapshot").
    const opts = options({ alerts: [{ name: 'faults', minSeverity: 'critical', cooldownMs: HOUR }] });
    const fault: CanonicalEvent = { ...base, kind: 'alert', eventTime: T0 + 2 * HOUR, receivedAt: T0 + 2 * HOUR, severity: 'critical', code: 'E-17', reason: 'ECU fault' };
    const r = run([meter(0, 240), meter(1.5, 241.5), fault], opts);
    expect(keys(r)).toEqual(['EQ-7|faults|E-17@2026-10-01T10:00:00.000Z']);
    expect(r.deliveries[0]?.payload).toMatchObject({
      reason: expect.stringContaining('ECU fault'),
      sensorSnapshot: { at: '2026-10-01T09:30:00.000Z', values: { operatingHours: { value: 241.5, unit: 'h' } } },
    });
  });
});

describe('sensor events', () => {
  it('one without any rule’s sensor does not take the time of one that has (no allowed lateness)', () => {
    // Kills buffering every sensor event: the fuel reading would be "released" at 08:01 and the
    // oil-pressure reading of the same time then dropped as late.
    const opts = options({ serviceIntervals: [], thresholds: [lowOil] });
    const r = run([sensor(0, { oilPressure: 3 }), sensor(1, { fuelLevel: 40 }), sensor(1, { oilPressure: 1.0 })], opts);
    expect(keys(r)).toEqual(['EQ-7|low-oil|2026-10-01T08:01:00.000Z']);
  });
});

describe('a meter reset declared after the readings that showed it (assets reset-meter --at, in the past)', () => {
  // 240 h, 251 h; the meter is swapped at 30 h: it reads 3 h, then 6 h (both set aside as backwards
  // until the reset is declared); the reset is declared at 35 h for 30 h, then the next reading comes.
  for (const allowedLatenessMs of [0, 2 * MIN]) {
    it(`is applied, not dropped as late: later readings count from it (lateness ${allowedLatenessMs} ms)`, () => {
      const r = run([meter(0, 240), meter(11, 251), meter(30, 3), meter(34, 6), meter(30, 3, true), meter(40, 12)], options({ allowedLatenessMs }));
      // 251 h on the old meter, then 9 h on the new one (3 → 12).
      expect(r.state?.hours?.total).toBe(260);
      expect(r.state?.meterIssue).toBeUndefined();
    });
  }
});

describe('a declared reset of one meter after the readings that showed it, with both meters tracked', () => {
  const oil5k: ServiceIntervalRule = { name: 'oil-5000km', meter: 'km', every: 5000, dueSoon: 0, defaultBaseline: 'zero', severity: 'warning' };
  const both = options({ serviceIntervals: [service250, oil5k] });
  /** A reading of both meters `at` hours after T0; `kmReset` declares the odometer reset. */
  const reading = (at: number, operatingHours: number, odometerKm: number, kmReset?: true): MeterEvent => ({ ...meter(at, operatingHours), odometerKm, ...(kmReset ? { odometerReset: true } : {}) });

  // Kills: only a late hours reset applied (not an odometer one).
  it('a late odometer reset is applied: later readings count from it, and the hours it carries are not taken again', () => {
    // The odometer is swapped at 30 h: it reads 30 km, then 60 km; the reset is declared afterwards, then 120 km.
    const r = run([reading(0, 240, 24_000), reading(11, 251, 25_100), reading(30, 270, 30), reading(34, 274, 60), reading(30, 270, 30, true), reading(40, 280, 120)], both);
    expect(r.state?.km?.total).toBe(25_190);
    expect(r.state?.odometerIssue).toBeUndefined();
    expect(r.state?.hours?.total).toBe(280);
    expect(r.state?.meterIssue).toBeUndefined();
  });
});

describe('formatDuration (rules list, work-order texts)', () => {
  it('shows hours and minutes whole, and seconds exactly: a 1500 ms hold is not "2 s", nor a 200 ms one "0 s"', () => {
    expect([7_200_000, 300_000, 30_000, 90_000, 1500, 200, 0].map(formatDuration)).toEqual(['2 h', '5 min', '30 s', '90 s', '1.5 s', '200 ms', '0 s']);
  });
});
