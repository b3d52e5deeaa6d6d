/**
 * An alert rule whose priority comes from the reports (no `severity` of its own): a fault reported
 * `warning`, then `critical` within its episode, raises its open work order's priority once
 * (`workorder.update`, HIGH), whatever the arrival order and batching; a replay adds nothing; info
 * → warning and critical → warning send nothing; nor does a critical report once the ERP has reported
 * the work order completed or cancelled (at or before the report's time). In both forms of the
 * maintenance rule.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { AlertEvent, CanonicalEvent, SensorEvent, Severity, WorkOrderStatus, WorkOrderStatusEvent } from '../../model/events.js';
import type { OwnedRule } from '../owned.js';
import type { RuleContext } from '../rule.js';
import { createMaintenanceRule, type MaintenanceState } from './maintenance-rule.js';
import { maintenanceStatus } from './status.js';
import type { AlertRule, MaintenanceOptions } from './types.js';
import { WORKORDER_CREATE, WORKORDER_UPDATE } from './work-order.js';

const T0 = Date.UTC(2026, 9, 1, 9);
const MIN = 60_000;
const asset: AssetRecord = { erpAssetId: 'EQ-7', erpModule: 'maintenance', attributes: {} };
const ctx = (now: number): RuleContext => ({ asset, destination: 'erp', now });
const rule = (over: Partial<AlertRule> = {}): AlertRule => ({ name: 'faults', minSeverity: 'warning', cooldownMs: 60 * MIN, ...over });
const options = (lateness: number, r: AlertRule = rule()): MaintenanceOptions => ({ thresholds: [], serviceIntervals: [], alerts: [r], allowedLatenessMs: lateness, siteAttribute: 'site', windows: {} });
const fault = (severity: Severity, t: number, code = 'SPN100-FMI1', reason = 'oil pressure low'): AlertEvent => ({ kind: 'alert', source: 'test', ids: [{ type: 'tag', value: 'x' }], eventTime: t, receivedAt: t, severity, code, reason });
const sensor = (t: number, value: number): SensorEvent => ({ kind: 'sensor', source: 'test', ids: [{ type: 'tag', value: 'x' }], eventTime: t, receivedAt: t, values: { oilPressure: { value, unit: 'bar' } } });

const KEY = 'EQ-7|faults|SPN100-FMI1@2026-10-01T09:00:00.000Z';
/** The ERP's status of the work order of `KEY` at `t`, as its feedback (a poll or a push) brings it. */
const status = (st: WorkOrderStatus, t: number, businessKey = KEY): WorkOrderStatusEvent => ({ kind: 'workorder', source: 'erp-feedback', ids: [{ type: 'erp', value: 'EQ-7' }], eventTime: t, receivedAt: t, businessKey, erpWorkOrderId: 'WO-1', status: st });

/** The pure form: events applied one by one (flushed at the end), the deliveries and the state. */
function runPure(opts: MaintenanceOptions, events: readonly CanonicalEvent[], from?: MaintenanceState, flushEvery?: number): { out: DeliveryIntent[]; state: MaintenanceState | undefined } {
  const r = createMaintenanceRule(opts);
  let state = from;
  const out: DeliveryIntent[] = [];
  events.forEach((e, i) => {
    const step = r.apply(state, e, ctx(e.eventTime));
    out.push(...step.deliveries);
    state = step.state;
    // Another batching: a flush of what the lateness allows now, between events.
    if (flushEvery !== undefined && (i + 1) % flushEvery === 0) {
      const f = r.flush(state, ctx(e.eventTime), e.eventTime - opts.allowedLatenessMs);
      out.push(...f.deliveries);
      state = f.state;
    }
  });
  const f = r.flush(state, ctx(T0 + 24 * 60 * MIN), undefined);
  out.push(...f.deliveries);
  return { out, state: f.state };
}

/** The owned form: the same, on asset 0 (loaded from `from`), and its saved state. */
function runOwned(opts: MaintenanceOptions, events: readonly CanonicalEvent[], from?: unknown): { out: DeliveryIntent[]; state: unknown } {
  const r = createMaintenanceRule(opts).owned?.() as OwnedRule;
  if (from !== undefined) r.load(0, from);
  const out: DeliveryIntent[] = [];
  for (const e of events) r.apply(0, e, ctx(e.eventTime), out);
  r.flush(0, ctx(T0 + 24 * 60 * MIN), undefined, out);
  return { out, state: r.save(0) };
}

const forms = [
  ['pure', (o: MaintenanceOptions, e: readonly CanonicalEvent[], from?: unknown) => runPure(o, e, from as MaintenanceState | undefined)],
  ['owned', runOwned],
] as const;

const updates = (out: readonly DeliveryIntent[]) => out.filter((d) => d.operation === WORKORDER_UPDATE);
const creates = (out: readonly DeliveryIntent[]) => out.filter((d) => d.operation === WORKORDER_CREATE);

/** warning opens, warning again, critical escalates, critical again: the story. */
const story = [sensor(T0 - MIN, 2.1), fault('warning', T0), fault('warning', T0 + 5 * MIN), sensor(T0 + 8 * MIN, 1.4), fault('critical', T0 + 10 * MIN, 'SPN100-FMI1', 'oil pressure very low'), fault('critical', T0 + 15 * MIN), fault('warning', T0 + 20 * MIN)];

describe.each(forms)('alert escalation, %s form', (_name, run) => {
  it('a warning episode reported critical: one workorder.update (HIGH) under the work order\'s key, with the report and the snapshot', () => {
    const { out } = run(options(0), story);
    expect(creates(out).map((d) => [d.businessKey, d.payload.priority])).toEqual([[KEY, 'MEDIUM']]);
    const [update, ...more] = updates(out);
    expect(more).toEqual([]);
    expect(update).toMatchObject({
      destination: 'erp',
      operation: WORKORDER_UPDATE,
      kind: 'fact',
      businessKey: KEY,
      erpAssetId: 'EQ-7',
      eventTime: T0 + 10 * MIN,
      payload: {
        priority: 'HIGH',
        severity: 'critical',
        rule: 'faults',
        occurrence: 'SPN100-FMI1@2026-10-01T09:00:00.000Z',
        trigger: { type: 'alert', escalation: true, code: 'SPN100-FMI1', reason: 'oil pressure very low', severity: 'critical', reportedAt: '2026-10-01T09:10:00.000Z', firstReportedAt: '2026-10-01T09:00:00.000Z' },
        sensorSnapshot: { values: { oilPressure: { value: 1.4, unit: 'bar' } } },
        detectedAt: '2026-10-01T09:10:00.000Z',
      },
    });
    expect(update?.payload.reason).toContain('critical fault SPN100-FMI1 reported at 2026-10-01T09:10:00.000Z');
    // The create's snapshot is of its own time.
    expect(creates(out)[0]?.payload.sensorSnapshot).toMatchObject({ values: { oilPressure: { value: 2.1, unit: 'bar' } } });
  });

  it('a replay of the same events adds no update beyond the first', () => {
    const first = run(options(0), story);
    const again = run(options(0), story, first.state);
    expect(again.out).toEqual([]);
  });

  it('info → warning changes no priority (both MEDIUM): nothing sent', () => {
    const { out } = run(options(0, rule({ minSeverity: 'info' })), [fault('info', T0), fault('warning', T0 + MIN), fault('warning', T0 + 2 * MIN)]);
    expect(creates(out).map((d) => d.payload.priority)).toEqual(['MEDIUM']);
    expect(updates(out)).toEqual([]);
  });

  it('opened critical (HIGH), then warning and critical again: nothing sent (no de-escalation, no second HIGH)', () => {
    const { out } = run(options(0), [fault('critical', T0), fault('warning', T0 + MIN), fault('critical', T0 + 2 * MIN)]);
    expect(creates(out).map((d) => d.payload.priority)).toEqual(['HIGH']);
    expect(updates(out)).toEqual([]);
  });

  it('a rule with a severity of its own keeps its priority: nothing sent', () => {
    const { out } = run(options(0, rule({ severity: 'warning' })), [fault('warning', T0), fault('critical', T0 + MIN)]);
    expect(creates(out)).toHaveLength(1);
    expect(updates(out)).toEqual([]);
  });

  it('a new episode (after the cooldown) opens its own work order at its own priority; the old one is not updated', () => {
    const { out } = run(options(0), [fault('warning', T0), fault('critical', T0 + 2 * 60 * MIN)]);
    expect(creates(out).map((d) => d.payload.priority)).toEqual(['MEDIUM', 'HIGH']);
    expect(updates(out)).toEqual([]);
  });

  it('the overflow work order is raised once too, by a critical fault it takes', () => {
    // MAX_EPISODES is 500: filled with warnings, then critical reports of faults past it.
    const events: AlertEvent[] = [];
    for (let i = 0; i < 501; i++) events.push(fault('warning', T0 + i, `E-${i}`));
    events.push(fault('critical', T0 + 600, 'E-900'), fault('critical', T0 + 601, 'E-901'));
    const { out } = run(options(0), events);
    const overflow = creates(out).filter((d) => d.businessKey.includes('~overflow'));
    expect(overflow).toHaveLength(1);
    expect(updates(out).map((d) => [d.businessKey, d.payload.priority, (d.payload.trigger as { code?: string }).code])).toEqual([[overflow[0]?.businessKey, 'HIGH', 'E-900']]);
  });

  it('a late report the rule takes (beyond the lateness, within the episode) escalates; one it drops does not', () => {
    // Lateness 0: the critical at 09:10 comes after the warning at 09:20 was taken, and fits its fault's episode.
    const taken = run(options(0), [fault('warning', T0), fault('warning', T0 + 20 * MIN), fault('critical', T0 + 10 * MIN)]);
    expect(updates(taken.out).map((d) => [d.businessKey, d.eventTime])).toEqual([[KEY, T0 + 10 * MIN]]);
    // Before its fault's episode started (which it would move): refused as late, so no update either.
    const dropped = run(options(0), [fault('warning', T0), fault('warning', T0 + 20 * MIN), fault('critical', T0 - 5 * MIN)]);
    expect(creates(dropped.out)).toHaveLength(1);
    expect(updates(dropped.out)).toEqual([]);
  });

  it('state from before escalations were kept (no `s`): its episode is not raised (its priority is not known); its next episode is', () => {
    const old = { alerts: { faults: { 'SPN100-FMI1': { start: T0, last: T0 + MIN } } }, lateAlertsFrom: -8.64e15 };
    const later = T0 + 3 * 60 * MIN;
    const { out } = run(options(0), [fault('warning', T0 + 2 * MIN), fault('critical', T0 + 3 * MIN), fault('warning', later), fault('critical', later + MIN)], old);
    expect(creates(out).map((d) => d.businessKey)).toEqual([`EQ-7|faults|SPN100-FMI1@${new Date(later).toISOString()}`]);
    expect(updates(out).map((d) => d.businessKey)).toEqual([`EQ-7|faults|SPN100-FMI1@${new Date(later).toISOString()}`]);
  });

  it.each(['completed', 'cancelled'] as const)('a work order the ERP reported %s before the critical report is not raised; the episode keeps its MEDIUM', (closed) => {
    const { out, state } = run(options(0), [fault('warning', T0), status(closed, T0 + 5 * MIN), fault('critical', T0 + 10 * MIN), fault('critical', T0 + 15 * MIN)]);
    expect(creates(out).map((d) => d.payload.priority)).toEqual(['MEDIUM']);
    expect(updates(out)).toEqual([]);
    expect((state as MaintenanceState | undefined)?.alerts?.faults?.['SPN100-FMI1']).toMatchObject({ s: 'warning', w: [closed, T0 + 5 * MIN] });
  });

  it('closed at the very time of the critical report: not raised (status time ≤ report time)', () => {
    const { out } = run(options(0), [fault('warning', T0), status('completed', T0 + 10 * MIN), fault('critical', T0 + 10 * MIN)]);
    expect(updates(out)).toEqual([]);
  });

  it('open or in progress at the ERP, or closed only after the report: raised', () => {
    for (const st of ['open', 'in-progress'] as const) {
      const { out } = run(options(0), [fault('warning', T0), status(st, T0 + 5 * MIN), fault('critical', T0 + 10 * MIN)]);
      expect(updates(out).map((d) => [d.businessKey, d.payload.priority])).toEqual([[KEY, 'HIGH']]);
    }
    // Its work order sent (the warning decided), then the ERP's completion at 09:15 told before or after the
    // 09:10 report (held for the lateness): it was open at 09:10 as far as is known, so it is raised.
    const opened = run(options(30 * MIN), [fault('warning', T0)]).state;
    for (const order of [[status('completed', T0 + 15 * MIN), fault('critical', T0 + 10 * MIN)], [fault('critical', T0 + 10 * MIN), status('completed', T0 + 15 * MIN)]]) {
      const { out } = run(options(30 * MIN), order, opened);
      expect(updates(out).map((d) => [d.businessKey, d.eventTime])).toEqual([[KEY, T0 + 10 * MIN]]);
    }
  });

  it('a completion at 09:05 told before or after the 09:10 critical report (held for the lateness) leaves it unraised', () => {
    const opened = run(options(30 * MIN), [fault('warning', T0)]).state;
    for (const order of [[status('completed', T0 + 5 * MIN), fault('critical', T0 + 10 * MIN)], [fault('critical', T0 + 10 * MIN), status('completed', T0 + 5 * MIN)]]) {
      const { out } = run(options(30 * MIN), order, opened);
      expect(out).toEqual([]);
    }
  });

  it('the episode keeps the severity its work order was sent with: warning, then critical once raised', () => {
    const { state } = run(options(0), [fault('warning', T0), fault('critical', T0 + MIN)]);
    const opened = run(options(0), [fault('warning', T0)]).state;
    expect((opened as MaintenanceState | undefined)?.alerts?.faults?.['SPN100-FMI1']).toEqual({ start: T0, last: T0, s: 'warning' });
    expect((state as MaintenanceState | undefined)?.alerts?.faults?.['SPN100-FMI1']).toEqual({ start: T0, last: T0 + MIN, s: 'critical' });
  });
});

describe('alert escalation: arrival order and batching', () => {
  const events = [fault('warning', T0), fault('info', T0 + MIN), fault('critical', T0 + 2 * MIN), fault('warning', T0 + 3 * MIN), fault('critical', T0 + 4 * MIN)];
  /** Every order of `xs`. */
  const permutations = <T>(xs: readonly T[]): T[][] => (xs.length <= 1 ? [[...xs]] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])));
  const lateness = 10 * MIN;
  const want = runPure(options(lateness, rule({ minSeverity: 'info' })), events).out;

  it('the event-time order: one create (MEDIUM) and one update (HIGH, the first critical report)', () => {
    expect(want.map((d) => [d.operation, d.payload.priority, d.eventTime])).toEqual([
      [WORKORDER_CREATE, 'MEDIUM', T0],
      [WORKORDER_UPDATE, 'HIGH', T0 + 2 * MIN],
    ]);
  });

  it('every arrival order within the lateness, in both forms and in other batchings, gives the same deliveries', () => {
    for (const order of permutations(events)) {
      expect(runPure(options(lateness, rule({ minSeverity: 'info' })), order).out).toEqual(want);
      expect(runPure(options(lateness, rule({ minSeverity: 'info' })), order, undefined, 2).out).toEqual(want);
      expect(runOwned(options(lateness, rule({ minSeverity: 'info' })), order).out).toEqual(want);
    }
  });
});

describe('maintenance status after an escalation', () => {
  it('shows the open work order at priority HIGH', () => {
    const opts = options(0);
    const before = runPure(opts, story.slice(0, 4)).state;
    const after = runPure(opts, story).state;
    expect(maintenanceStatus(asset, before, opts).open.map((r) => [r.businessKey, r.priority])).toEqual([[KEY, 'MEDIUM']]);
    expect(maintenanceStatus(asset, after, opts).open.map((r) => [r.businessKey, r.priority])).toEqual([[KEY, 'HIGH']]);
  });
});
