/**
 * One work order per fault however the feeds spell its code (issue 4): codes are compared trimmed
 * and in any case, an alert rule's `codeMap` maps other spellings to the code, and an episode kept
 * under the spelling an older version keyed it by goes on (an upgrade opens no second work order).
 * In both forms of the maintenance rule: the pure one and the owned one the ingestor runs.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { AlertEvent } from '../../model/events.js';
import type { OwnedRule } from '../owned.js';
import type { RuleContext } from '../rule.js';
import { alertKey, alertMatches, canonicalCode, faultCode } from './alert.js';
import { createMaintenanceRule, type MaintenanceState } from './maintenance-rule.js';
import { maintenanceStatus } from './status.js';
import type { AlertRule, MaintenanceOptions } from './types.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;
const COOLDOWN = 60 * MIN;
const asset: AssetRecord = { erpAssetId: 'EQ-7', erpModule: 'maintenance', attributes: {} };
const ctx = (now: number): RuleContext => ({ asset, destination: 'erp', now });
const rule = (extra: Partial<AlertRule> = {}): AlertRule => ({ name: 'fault-codes', minSeverity: 'warning', cooldownMs: COOLDOWN, ...extra });
const options = (r: AlertRule = rule()): MaintenanceOptions => ({ thresholds: [], serviceIntervals: [], alerts: [r], allowedLatenessMs: 0, siteAttribute: 'site', windows: {} });
const fault = (code: string, t: number): AlertEvent => ({ kind: 'alert', source: 'test', ids: [{ type: 'tag', value: 'x' }], eventTime: t, receivedAt: t, severity: 'critical', code, reason: 'coolant temperature high' });

interface Run {
  readonly deliveries: DeliveryIntent[];
  readonly state: MaintenanceState | undefined;
}

/** The reports through the pure form, from `initial`, everything held decided at the end. */
function pure(o: MaintenanceOptions, reports: readonly AlertEvent[], initial?: MaintenanceState): Run {
  const r = createMaintenanceRule(o);
  let state = initial;
  const deliveries: DeliveryIntent[] = [];
  for (const e of reports) {
    const step = r.apply(state, e, ctx(e.eventTime));
    deliveries.push(...step.deliveries);
    state = step.state;
  }
  const f = r.flush(state, ctx(T0 + 100 * COOLDOWN), undefined);
  deliveries.push(...f.deliveries);
  return { deliveries, state: f.state };
}

/** The same through the owned form. */
function owned(o: MaintenanceOptions, reports: readonly AlertEvent[], initial?: MaintenanceState): Run {
  const r = createMaintenanceRule(o).owned?.() as OwnedRule;
  if (initial !== undefined) r.load(0, JSON.parse(JSON.stringify(initial)));
  const deliveries: DeliveryIntent[] = [];
  for (const e of reports) r.apply(0, e, ctx(e.eventTime), deliveries);
  r.flush(0, ctx(T0 + 100 * COOLDOWN), undefined, deliveries);
  return { deliveries, state: r.save(0) as MaintenanceState | undefined };
}

const keys = (r: Run): string[] => r.deliveries.map((d) => d.businessKey);
const at = (t: number): string => new Date(t).toISOString();

describe('fault codes compared trimmed and in any case', () => {
  it('canonicalCode: trimmed, a-z in upper case; blank is no code', () => {
    expect(canonicalCode(' spn100-fmi1 ')).toBe('SPN100-FMI1');
    expect(canonicalCode('SPN100-FMI1')).toBe('SPN100-FMI1');
    expect(canonicalCode('  ')).toBeUndefined();
    expect(canonicalCode(undefined)).toBeUndefined();
    // A code already in upper case keys its work orders as it always did.
    expect(alertKey(canonicalCode('SPN 100'), 'x')).toBe(alertKey('SPN 100', 'x'));
  });

  for (const [form, run] of [
    ['pure', pure],
    ['owned', owned],
  ] as const) {
    describe(`${form} form`, () => {
      it('one fault reported as SPN100-FMI1, spn100-fmi1 and " SPN100-FMI1 " by three feeds: one work order, keyed and titled by SPN100-FMI1', () => {
        // Was: two work orders, EQ-7|fault-codes|SPN100-FMI1@… and EQ-7|fault-codes|spn100-fmi1@….
        const r = run(options(), [fault('SPN100-FMI1', T0), fault('spn100-fmi1', T0 + MIN), fault(' SPN100-FMI1 ', T0 + 2 * MIN), fault('Spn100-Fmi1', T0 + 3 * MIN)]);
        expect(keys(r)).toEqual([`EQ-7|fault-codes|SPN100-FMI1@${at(T0)}`]);
        // The first report in lower case: still keyed, titled and triggered by the code as compared.
        const lower = run(options(), [fault('spn100-fmi1', T0), fault('SPN100-FMI1', T0 + MIN)]);
        expect(keys(lower)).toEqual([`EQ-7|fault-codes|SPN100-FMI1@${at(T0)}`]);
        const payload = lower.deliveries[0]?.payload as { title: string; description: string; trigger: { code: string } };
        expect(payload.title).toBe('SPN100-FMI1: coolant temperature high');
        expect(payload.trigger.code).toBe('SPN100-FMI1');
        expect(payload.description).toContain('SPN100-FMI1 (reported as "spn100-fmi1")');
        expect(Object.keys(lower.state?.alerts?.['fault-codes'] ?? {})).toEqual(['SPN100-FMI1']);
      });

      it('a codeMap maps another feed’s spelling of the fault to its code: one work order', () => {
        const r = run(options(rule({ codeMap: { p0217: 'spn110-fmi0', '110-0': 'SPN110-FMI0' } })), [fault('P0217', T0), fault('SPN110-FMI0', T0 + MIN), fault(' 110-0', T0 + 2 * MIN)]);
        expect(keys(r)).toEqual([`EQ-7|fault-codes|SPN110-FMI0@${at(T0)}`]);
        // Without it they are three faults.
        expect(run(options(), [fault('P0217', T0), fault('SPN110-FMI0', T0 + MIN), fault(' 110-0', T0 + 2 * MIN)]).deliveries).toHaveLength(3);
      });

      it('after an upgrade: a fault open under the spelling it was keyed by before opens no second work order, and its next episode is keyed by the code as compared', () => {
        // State an older version kept: the episode under the code as reported, its work order requested.
        const oldKey = `EQ-7|fault-codes|spn100-fmi1@${at(T0)}`;
        const initial: MaintenanceState = {
          alerts: { 'fault-codes': { 'spn100-fmi1': { start: T0, last: T0 + 10 * MIN } } },
          workOrders: { [oldKey]: { status: 'requested', openedAt: T0, severity: 'critical', destination: 'erp' } },
        } as unknown as MaintenanceState;
        const r = run(options(), [fault('spn100-fmi1', T0 + 20 * MIN), fault('SPN100-FMI1', T0 + 30 * MIN), fault(' spn100-fmi1', T0 + 40 * MIN)], initial);
        expect(keys(r)).toEqual([]);
        expect(r.state?.alerts?.['fault-codes']).toEqual({ 'spn100-fmi1': { start: T0, last: T0 + 40 * MIN } });
        // The episode over (a cooldown without a report): the fault's next report opens one work order, keyed as compared.
        const later = T0 + 40 * MIN + COOLDOWN;
        const next = run(options(), [fault('spn100-fmi1', later), fault('SPN100-FMI1', later + MIN)], r.state);
        expect(keys(next)).toEqual([`EQ-7|fault-codes|SPN100-FMI1@${at(later)}`]);
      });

      it('after an upgrade: a code with characters keys cannot hold, kept under its hashed key, goes on too', () => {
        const old = alertKey('spn 100', 'x');
        const initial = { alerts: { 'fault-codes': { [old]: { start: T0, last: T0 } } } } as unknown as MaintenanceState;
        expect(keys(run(options(), [fault('spn 100', T0 + MIN)], initial))).toEqual([]);
      });

      it('a codeMap entry added while a fault is open under the spelling it maps: no second work order', () => {
        const initial = { alerts: { 'fault-codes': { P0217: { start: T0, last: T0 } } } } as unknown as MaintenanceState;
        const r = run(options(rule({ codeMap: { P0217: 'SPN110-FMI0' } })), [fault('SPN110-FMI0', T0 + MIN), fault('P0217', T0 + 2 * MIN)], initial);
        expect(keys(r)).toEqual([]);
      });
    });
  }

  it('maintenance status names the fault by the code as compared', () => {
    const o = options();
    const r = pure(o, [fault('spn100-fmi1', T0), fault(' SPN100-FMI1', T0 + MIN)]);
    const status = maintenanceStatus(asset, r.state, o, { now: T0 + 2 * MIN, marks: () => ({}) });
    expect(status.due.find((d) => d.rule === 'fault-codes')?.state).toBe(`active: SPN100-FMI1 since ${at(T0)}`);
  });

  it('codes are matched in any case, and as the codeMap maps them', () => {
    expect(alertMatches(rule({ codes: ['SPN100*'] }), 'critical', 'spn100-fmi1')).toBe(true);
    expect(alertMatches(rule({ codes: ['spn110-fmi0'] }), 'critical', ' SPN110-FMI0 ')).toBe(true);
    expect(alertMatches(rule({ codes: ['SPN110-FMI0'], codeMap: { P0217: 'SPN110-FMI0' } }), 'critical', 'p0217')).toBe(true);
    expect(alertMatches(rule({ codes: ['SPN110-FMI0'] }), 'critical', 'P0217')).toBe(false);
    // Listed by a spelling the map names: the fault is taken however it is spelt.
    expect(alertMatches(rule({ codes: ['P02*'], codeMap: { P0217: 'SPN110-FMI0' } }), 'critical', 'spn110-fmi0')).toBe(true);
    expect(alertMatches(rule({ codes: ['P02*'], codeMap: { P0217: 'SPN110-FMI0' } }), 'critical', 'SPN110-FMI1')).toBe(false);
    expect(alertMatches(rule({ codes: ['SPN110*'] }), 'critical', '   ')).toBe(false);
    expect(faultCode(rule({ codeMap: { a: 'b', B: 'c' } }), 'A')).toBe('B');
  });
});
