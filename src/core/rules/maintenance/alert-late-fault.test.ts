/**
 * Late faults are judged per fault, not per rule: a report older than the newest fault the alert
 * rules took (beyond the allowed lateness: a feed pulled late, as AEMP pulls lag) is taken when
 * it changes no decided episode — a fault with no episode near it opens its work order, keyed by
 * its own time — and dropped (counted late) only when it would move an episode of its own fault
 * (its start, so its key) or fall near an episode of its own fault forgotten to keep the state
 * bounded (past a few such faults per rule, of any fault: see LATE_FAULTS_KEPT). In both
 * forms of the maintenance rule.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { AlertEvent } from '../../model/events.js';
import { LATE, type OwnedRule } from '../owned.js';
import type { RuleContext } from '../rule.js';
import { alertKey, LATE_FAULTS_KEPT } from './alert.js';
import { createMaintenanceRule, NOTHING_FORGOTTEN, type MaintenanceState } from './maintenance-rule.js';
import type { MaintenanceOptions } from './types.js';

const MIN = 60_000;
const at = (hh: number, mm: number): number => Date.UTC(2026, 9, 1, hh, mm);
const asset: AssetRecord = { erpAssetId: 'EQ-7', erpModule: 'maintenance', attributes: {} };
const ctx = (now: number): RuleContext => ({ asset, destination: 'erp', now });
const options: MaintenanceOptions = { thresholds: [], serviceIntervals: [], alerts: [{ name: 'faults', minSeverity: 'warning', cooldownMs: 60 * MIN }], allowedLatenessMs: 5 * MIN, siteAttribute: 'site', windows: {} };
const fault = (feed: string, code: string, t: number): AlertEvent => ({ kind: 'alert', source: feed, ids: [{ type: 'tag', value: 'x' }], eventTime: t, receivedAt: t, severity: 'critical', code, reason: `fault ${code}` });
const key = (code: string, t: number): string => `EQ-7|faults|${code}@${new Date(t).toISOString()}`;

/** Each form run over `events`, flushed at the end: the work orders opened, and which events were counted late. */
const forms: Record<string, (events: readonly AlertEvent[]) => { keys: string[]; late: boolean[] }> = {
  pure: (events) => {
    const r = createMaintenanceRule(options);
    let state: MaintenanceState | undefined;
    const out: DeliveryIntent[] = [];
    const late: boolean[] = [];
    for (const e of events) {
      const step = r.apply(state, e, ctx(e.eventTime));
      out.push(...step.deliveries);
      late.push(step.late === true);
      state = step.state;
      // Through JSON, as checkpointed.
      state = JSON.parse(JSON.stringify(state)) as MaintenanceState;
    }
    out.push(...r.flush(state, ctx(at(23, 0)), undefined).deliveries);
    return { keys: out.map((d) => d.businessKey), late };
  },
  owned: (events) => {
    const r = createMaintenanceRule(options).owned?.() as OwnedRule;
    const out: DeliveryIntent[] = [];
    const late: boolean[] = [];
    for (const e of events) late.push((r.apply(0, e, ctx(e.eventTime), out) & LATE) !== 0);
    r.flush(0, ctx(at(23, 0)), undefined, out);
    return { keys: out.map((d) => d.businessKey), late };
  },
};

describe('alert rules: a late fault is judged against its own fault’s episodes', () => {
  for (const [form, run] of Object.entries(forms)) {
    it(`${form} form: another fault code reported late (a feed pulled behind) opens its work order, keyed by its own time`, () => {
      // Feed A reports SPN110-FMI0 at 10:00 (taken once 10:06 releases it); feed B, pulled late, SPN200-FMI3 at 09:40.
      const got = run([fault('a', 'SPN110-FMI0', at(10, 0)), fault('a', 'SPN110-FMI0', at(10, 6)), fault('b', 'SPN200-FMI3', at(9, 40)), fault('b', 'SPN200-FMI3', at(9, 50))]);
      // Was: SPN200-FMI3 dropped as late (no work order for a real fault).
      expect(got.keys.sort()).toEqual([key('SPN110-FMI0', at(10, 0)), key('SPN200-FMI3', at(9, 40))].sort());
      expect(got.late).toEqual([false, false, false, false]);
    });

    it(`${form} form: a late report that would move its own fault’s episode start (its key) is dropped as late`, () => {
      // SPN110-FMI0 at 09:30 would have started the episode of 10:00: its work order stands, the report is late.
      const got = run([fault('a', 'SPN110-FMI0', at(10, 0)), fault('a', 'SPN110-FMI0', at(10, 6)), fault('b', 'SPN110-FMI0', at(9, 30)), fault('b', 'SPN110-FMI0', at(10, 3))]);
      expect(got.keys).toEqual([key('SPN110-FMI0', at(10, 0))]);
      // The one within the episode changes nothing and is taken (no work order); the one before its start is late.
      expect(got.late).toEqual([false, false, true, false]);
    });

    it(`${form} form: a late report near an episode forgotten (its cooldown run out, to keep the state bounded) is dropped as late; one past it is taken`, () => {
      const got = run([
        fault('a', 'E-1', at(8, 0)),
        // E-1's episode (08:00) lapses once 09:00 is passed: forgotten when E-2 of 09:20 is taken.
        fault('a', 'E-2', at(9, 20)),
        fault('a', 'E-2', at(9, 30)),
        // E-3 at 09:05: no fault's episode forgotten within the cooldown before it: its own work order.
        fault('b', 'E-3', at(9, 5)),
        // E-2 at 09:10: would have started E-2's episode (its key): late.
        fault('b', 'E-2', at(9, 10)),
        // E-1 at 08:50: within the forgotten episode's cooldown (in event time, no work order of its own): late.
        fault('b', 'E-1', at(8, 50)),
      ]);
      expect(got.keys.sort()).toEqual([key('E-1', at(8, 0)), key('E-2', at(9, 20)), key('E-3', at(9, 5))].sort());
      expect(got.late).toEqual([false, false, false, false, true, true]);
    });

    it(`${form} form: a fault refused as late still joins its fault's episode to the reports after it: no second work order for one episode`, () => {
      const got = run([
        // E-1's episode starts 08:00; E-0 at 09:00 (cooldown 60 min run out) has it forgotten.
        fault('b', 'E-1', at(8, 0)),
        fault('a', 'E-0', at(9, 0)),
        fault('a', 'E-0', at(9, 40)),
        fault('a', 'E-0', at(9, 50)),
        // Feed B pulled behind: E-1 at 08:59 is within the forgotten episode's cooldown (late), and
        // E-1 at 09:30 within a cooldown of it: in event time one episode, 08:00 to 09:30, one work order.
        fault('b', 'E-1', at(8, 59)),
        fault('b', 'E-1', at(9, 30)),
      ]);
      // Was: a second work order, EQ-7|faults|E-1@…09:30, for the episode of 08:00.
      expect(got.keys.sort()).toEqual([key('E-1', at(8, 0)), key('E-0', at(9, 0))].sort());
      expect(got.late).toEqual([false, false, false, false, true, true]);
    });

    it(`${form} form: an episode forgotten bounds the late reports of its own fault only: another code reported late within its cooldown opens its work order`, () => {
      const got = run([
        // E-1's episode (08:00) is forgotten when E-2 of 09:20 is taken: E-1 reported before 09:00 would have been of it.
        fault('a', 'E-1', at(8, 0)),
        fault('a', 'E-2', at(9, 20)),
        fault('a', 'E-2', at(9, 30)),
        // Feed B pulled behind: E-3 at 08:50 is another fault, with no episode near it.
        fault('b', 'E-3', at(8, 50)),
        // E-1 at 08:55: of the forgotten episode in event time, late; so is E-1 at 09:12, within a cooldown of it.
        fault('b', 'E-1', at(8, 55)),
        fault('b', 'E-3', at(9, 10)),
        fault('b', 'E-1', at(9, 12)),
        // E-4 at 09:15: its own work order as well.
        fault('b', 'E-4', at(9, 15)),
      ]);
      // Was: E-3 and E-4 dropped as late (the forgotten E-1 bounded every fault's late reports until 09:00, and the refused E-1 until 09:55).
      expect(got.keys.sort()).toEqual([key('E-1', at(8, 0)), key('E-2', at(9, 20)), key('E-3', at(8, 50)), key('E-4', at(9, 15))].sort());
      expect(got.late).toEqual([false, false, false, false, true, false, true, false]);
    });

    it(`${form} form: past ${LATE_FAULTS_KEPT} faults forgotten, the rule keeps the latest bounds per fault and the others bound every fault (the state stays bounded)`, () => {
      // Twelve faults, one a minute from 08:00, all forgotten when F-1 of 09:30 is taken: bounds 09:00 to 09:11.
      const first = Array.from({ length: 12 }, (_, i) => fault('a', `C-${i}`, at(8, i)));
      const events = [
        ...first,
        fault('a', 'F-1', at(9, 30)),
        fault('a', 'F-1', at(9, 36)),
        // C-6's bound is kept (09:06): late; D-2 after 09:03 has none: taken.
        fault('b', 'C-6', at(9, 4)),
        fault('b', 'D-2', at(9, 4)),
        // C-0's own bound (09:00) was given up, with C-1's to C-3's: every fault is late before 09:03
        // (and, as such a fault may have been of any episode, every fault's within a cooldown after it).
        fault('b', 'C-0', at(8, 30)),
        fault('b', 'D-1', at(9, 2)),
      ];
      const got = run(events);
      expect(got.late.slice(first.length)).toEqual([false, false, true, false, true, true]);
      expect(got.keys.filter((k) => k.includes('|D-') || k.includes('@2026-10-01T09:0'))).toEqual([key('D-2', at(9, 4))]);
      // In the state: the eight latest bounds, C-4 to C-11, and every fault's from the last given up.
      const r = createMaintenanceRule(options);
      let state: MaintenanceState | undefined;
      for (const e of events.slice(0, first.length + 1)) state = r.apply(state, e, ctx(e.eventTime)).state;
      state = r.flush(state, ctx(at(9, 40)), undefined).state;
      expect(Object.keys(state.lateAlertFaults?.faults ?? {}).sort()).toEqual(['C-10', 'C-11', 'C-4', 'C-5', 'C-6', 'C-7', 'C-8', 'C-9']);
      expect(state.lateAlertsFrom).toBe(at(9, 3));
    });
  }

  it('a fault forgotten under the spelling an earlier version kept it by bounds its late reports however they spell it, in both forms', () => {
    // Kept by an earlier version: SPN100-FMI1 under its spelling then, and a fault with no code under its text as reported.
    const old: MaintenanceState = {
      alerts: { faults: { 'spn100-fmi1': { start: at(8, 0), last: at(8, 0) }, [alertKey(undefined, 'Low oil pressure')]: { start: at(8, 0), last: at(8, 0) } } },
      lateAlertsFrom: NOTHING_FORGOTTEN,
    };
    const text = (reason: string, t: number): AlertEvent => ({ kind: 'alert', source: 'b', ids: [{ type: 'tag', value: 'x' }], eventTime: t, receivedAt: t, severity: 'critical', reason });
    // Both forgotten when E-2 of 09:20 is taken; then, pulled behind, each reported within its cooldown: of its episode in event time, late.
    const events = [fault('a', 'E-2', at(9, 20)), fault('a', 'E-2', at(9, 30)), fault('b', 'SPN100-FMI1', at(8, 50)), text('Low oil pressure', at(8, 40)), fault('b', 'E-3', at(8, 45))];
    const pure = createMaintenanceRule(options);
    let state: MaintenanceState | undefined = old;
    const out: DeliveryIntent[] = [];
    const late: boolean[] = [];
    for (const e of events) {
      const step = pure.apply(state, e, ctx(e.eventTime));
      out.push(...step.deliveries);
      late.push(step.late === true);
      state = step.state;
    }
    out.push(...pure.flush(state, ctx(at(23, 0)), undefined).deliveries);
    expect(out.map((d) => d.businessKey).sort()).toEqual([key('E-2', at(9, 20)), key('E-3', at(8, 45))].sort());
    expect(late).toEqual([false, false, true, true, false]);
    const owned = createMaintenanceRule(options).owned?.() as OwnedRule;
    owned.load(0, JSON.parse(JSON.stringify(old)));
    const ownedOut: DeliveryIntent[] = [];
    expect(events.map((e) => (owned.apply(0, e, ctx(e.eventTime), ownedOut) & LATE) !== 0)).toEqual(late);
    owned.flush(0, ctx(at(23, 0)), undefined, ownedOut);
    expect(ownedOut.map((d) => d.businessKey).sort()).toEqual(out.map((d) => d.businessKey).sort());
  });

  it('state from before faults were judged per fault (no `lateAlertsFrom`): what it forgot is unknown, so an older fault is late, as it was, in both forms', () => {
    const r = createMaintenanceRule(options);
    let state: MaintenanceState | undefined;
    for (const e of [fault('a', 'SPN110-FMI0', at(10, 0)), fault('a', 'SPN110-FMI0', at(10, 6))]) state = r.apply(state, e, ctx(e.eventTime)).state;
    const stored = JSON.parse(JSON.stringify(state)) as Record<string, unknown>;
    expect(stored['lateAlertsFrom']).toBeDefined();
    delete stored['lateAlertsFrom'];
    const late = fault('b', 'SPN200-FMI3', at(9, 40));
    const pure = r.apply(stored, late, ctx(at(10, 7)));
    expect([pure.late, pure.deliveries.length]).toEqual([true, 0]);
    const owned = createMaintenanceRule(options).owned?.() as OwnedRule;
    owned.load(0, stored);
    const out: DeliveryIntent[] = [];
    expect(owned.apply(0, late, ctx(at(10, 7)), out) & LATE).toBe(LATE);
    expect(out).toEqual([]);
    // A newer fault is taken as ever, and from then on the state bounds late faults by the newest fault it had taken.
    const held = r.apply(stored, fault('b', 'SPN200-FMI3', at(10, 8)), ctx(at(10, 8)));
    const next = r.flush(held.state, ctx(at(23, 0)), undefined);
    expect([...held.deliveries, ...next.deliveries].map((d) => d.businessKey)).toEqual([key('SPN200-FMI3', at(10, 8))]);
    expect(next.state.lateAlertsFrom).toBe(at(10, 0));
  });
});
