/**
 * One work order per fault however the feeds spell its code (issue 4): codes are compared trimmed
 * and in any case, an alert rule's `codeMap` maps other spellings to the code, and an episode kept
 * under the spelling an older version keyed it by goes on (an upgrade opens no second work order).
 * In both forms of the maintenance rule: the pure one and the owned one the ingestor runs.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { AlertEvent } from '../../model/events.js';
import type { OwnedRule } from '../owned.js';
import type { RuleContext } from '../rule.js';
import { alertKey, alertMatches, canonicalCode, canonicalText, FAULT_TEXT_MAX, faultCode, textKey } from './alert.js';
import { createMaintenanceRule, type MaintenanceState } from './maintenance-rule.js';
import { stateChanges } from '../trace.js';
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
/** A fault with no code: only its text, from feed `source`. */
const text = (reason: string, t: number, source = 'test'): AlertEvent => ({ kind: 'alert', source, ids: [{ type: 'tag', value: 'x' }], eventTime: t, receivedAt: t, severity: 'critical', reason });

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

/** The key a version before texts were compared in NFKC form gave a fault with no code: its text not normalised, trimmed, whitespace runs one space, in lower case, with its hash. */
function keyBeforeNfkc(text: string): string {
  const t = text.trim().replace(/\s+/g, ' ').toLowerCase();
  const hash = createHash('sha256').update(Buffer.from(`text:${t}`, 'utf16le')).digest('hex').slice(0, 12);
  return `${t.slice(0, 47).replace(/[^A-Za-z0-9._:/-]/g, '_')}-${hash}`;
}

describe('fault texts and codes compared in Unicode NFKC form', () => {
  const composed = 'Pression d\u2019huile basse, circuit pr\u00e9chauffage';
  const decomposed = 'Pression d\u2019huile basse, circuit pre\u0301chauffage';
  const fullWidth = '\uff2c\uff4f\uff57 \uff4f\uff49\uff4c \uff50\uff52\uff45\uff53\uff53\uff55\uff52\uff45'; // Ｌｏｗ ｏｉｌ ｐｒｅｓｓｕｒｅ

  it('canonicalText and canonicalCode: composed and decomposed, full-width and ASCII are one spelling', () => {
    expect(composed).not.toBe(decomposed);
    expect(canonicalText(decomposed)).toBe(canonicalText(composed));
    expect(textKey(decomposed)).toBe(textKey(composed));
    expect(textKey(fullWidth)).toBe(textKey('Low oil pressure'));
    // A text already in NFKC form keys as it did before (no state of it changes key on upgrade).
    expect(textKey(composed)).toBe(keyBeforeNfkc(composed));
    expect(textKey('Low oil pressure')).toBe(keyBeforeNfkc('Low oil pressure'));
    expect(canonicalCode('\uff30\uff10\uff11\uff12\uff13')).toBe('P0123');
    expect(canonicalCode(' \uff53\uff50\uff4e100-fmi1\u3000')).toBe('SPN100-FMI1');
    expect(alertMatches(rule({ codes: ['P01*'] }), 'critical', '\uff30\uff10\uff11\uff12\uff13')).toBe(true);
    expect(faultCode(rule({ codeMap: { '\uff30\uff10\uff12\uff11\uff17': 'SPN110-FMI0' } }), 'p0217')).toBe('SPN110-FMI0');
  });

  for (const [form, run] of [
    ['pure', pure],
    ['owned', owned],
  ] as const) {
    describe(`${form} form`, () => {
      it('one fault with no code reported with é composed and decomposed, or full-width and in ASCII: one work order each', () => {
        // Was: two work orders each, the texts' keys differing in their hash.
        expect(keys(run(options(), [text(composed, T0, 'aemp'), text(decomposed, T0 + MIN, 'mqtt'), text(` ${composed.toUpperCase()}`, T0 + 2 * MIN)]))).toEqual([`EQ-7|fault-codes|${textKey(composed)}@${at(T0)}`]);
        expect(keys(run(options(), [text(fullWidth, T0, 'aemp'), text('Low oil pressure', T0 + MIN, 'mqtt')]))).toEqual([`EQ-7|fault-codes|${textKey('low oil pressure')}@${at(T0)}`]);
        // The work order shows the text as first reported.
        expect((run(options(), [text(decomposed, T0), text(composed, T0 + MIN)]).deliveries[0]?.payload as { trigger: { reason: string } }).trigger.reason).toBe(decomposed);
      });

      it('one fault code reported full-width and in ASCII: one work order, keyed by the ASCII code', () => {
        // Was: EQ-7|fault-codes|P0123@… and EQ-7|fault-codes|_____-<hash>@….
        const r = run(options(), [fault('\uff30\uff10\uff11\uff12\uff13', T0), fault('P0123', T0 + MIN), fault('p0123', T0 + 2 * MIN)]);
        expect(keys(r)).toEqual([`EQ-7|fault-codes|P0123@${at(T0)}`]);
        expect((r.deliveries[0]?.payload as { trigger: { code: string } }).trigger.code).toBe('P0123');
      });

      it('after an upgrade: a fault open under the key its text or code had before NFKC opens no second work order; its next episode is keyed as compared now', () => {
        const oldText = keyBeforeNfkc(decomposed);
        expect(oldText).not.toBe(textKey(decomposed));
        const initial = {
          alerts: { 'fault-codes': { [oldText]: { start: T0, last: T0 + 10 * MIN } } },
          workOrders: { [`EQ-7|fault-codes|${oldText}@${at(T0)}`]: { status: 'requested', openedAt: T0, severity: 'critical', destination: 'erp' } },
        } as unknown as MaintenanceState;
        const r = run(options(), [text(decomposed, T0 + 20 * MIN), text(` ${decomposed} `, T0 + 30 * MIN)], initial);
        expect(keys(r)).toEqual([]);
        expect(r.state?.alerts?.['fault-codes']?.[oldText]).toMatchObject({ start: T0, last: T0 + 30 * MIN });
        const later = T0 + 30 * MIN + COOLDOWN;
        expect(keys(run(options(), [text(decomposed, later), text(composed, later + MIN)], r.state))).toEqual([`EQ-7|fault-codes|${textKey(composed)}@${at(later)}`]);
        // A full-width code in mixed case, kept under its key before NFKC (trimmed, a–z in upper case): goes on too.
        const reported = '\uff33\uff30\uff2e\uff11\uff10\uff10-fmi1';
        const oldCode = alertKey('\uff33\uff30\uff2e\uff11\uff10\uff10-FMI1', '');
        expect([oldCode, alertKey(reported, '')]).not.toContain('SPN100-FMI1');
        const code = { alerts: { 'fault-codes': { [oldCode]: { start: T0, last: T0 } } } } as unknown as MaintenanceState;
        expect(keys(run(options(), [fault(reported, T0 + MIN)], code))).toEqual([]);
        // Mapped before by a codeMap entry spelt full-width: the episode under the code it mapped to goes on as well.
        const mapped = { alerts: { 'fault-codes': { 'SPN110-FMI0': { start: T0, last: T0 } } } } as unknown as MaintenanceState;
        expect(keys(run(options(rule({ codeMap: { '\uff30\uff10\uff12\uff11\uff17': 'SPN110-FMI0' } })), [fault('\uff30\uff10\uff12\uff11\uff17', T0 + MIN), fault('P0217', T0 + 2 * MIN)], mapped))).toEqual([]);
      });
    });
  }
});

describe('faults with no code: their texts compared trimmed, whitespace runs as one space, in any case', () => {
  it('canonicalText and textKey: one key per text as compared, with its hash, never a code’s key', () => {
    expect(canonicalText('  Low \t oil\u00a0 pressure ')).toBe('low oil pressure');
    expect(new Set(['Low oil pressure', 'low oil pressure', 'Low  oil pressure ', '\tLOW OIL\nPRESSURE'].map(textKey)).size).toBe(1);
    expect(textKey('Low oil pressure')).toMatch(/^low_oil_pressure-[0-9a-f]{12}$/);
    expect(textKey('Low oil pressure')).not.toBe(textKey('Low oil level'));
    // Characters keys cannot hold are not merged: only whitespace and case are.
    expect(textKey('Low oil_pressure')).not.toBe(textKey('Low oil pressure'));
    // A one-word text is hashed too, so it is never the key of a code (as compared or as reported).
    expect(textKey('Overheat')).toMatch(/^overheat-[0-9a-f]{12}$/);
    for (const c of ['OVERHEAT', 'overheat', 'E-17', '110 0']) {
      expect(textKey(c)).not.toBe(alertKey(canonicalCode(c), ''));
      expect(textKey(c)).not.toBe(alertKey(c, ''));
    }
    expect(textKey('  ')).toBe('alert');
  });

  for (const [form, run] of [
    ['pure', pure],
    ['owned', owned],
  ] as const) {
    describe(`${form} form`, () => {
      it('one fault reported as "Low oil pressure", "low oil pressure" and "Low  oil pressure " by two feeds (one of them after a firmware update): one work order, titled by the text as first reported', () => {
        // Was: three work orders, keyed Low_oil_pressure-…, low_oil_pressure-… and Low__oil_pressure-…
        const r = run(options(), [text('Low oil pressure', T0, 'aemp'), text('low oil pressure', T0 + MIN, 'mqtt'), text('Low  oil pressure ', T0 + 2 * MIN, 'aemp'), text('LOW OIL\tPRESSURE', T0 + 3 * MIN, 'mqtt')]);
        expect(keys(r)).toEqual([`EQ-7|fault-codes|${textKey('low oil pressure')}@${at(T0)}`]);
        const payload = r.deliveries[0]?.payload as { title: string; description: string; trigger: { reason: string; code?: string } };
        expect(payload.title).toBe('Low oil pressure');
        expect(payload.trigger).toMatchObject({ reason: 'Low oil pressure' });
        expect(payload.trigger.code).toBeUndefined();
        expect(payload.description).toContain(': Low oil pressure (rule fault-codes;');
        // The first report in another spelling: the same key, its own text shown.
        const other = run(options(), [text('Low  oil pressure ', T0), text('Low oil pressure', T0 + MIN)]);
        expect(keys(other)).toEqual(keys(r));
        expect((other.deliveries[0]?.payload as { title: string }).title).toBe('Low  oil pressure ');
        // Another text is another fault.
        expect(keys(run(options(), [text('Low oil pressure', T0), text('Low oil level', T0 + MIN)]))).toHaveLength(2);
      });

      it('after an upgrade: a fault open under the key its text had before opens no second work order, and its next episode is keyed by the text as compared', () => {
        const old = alertKey(undefined, 'Low oil pressure');
        const initial: MaintenanceState = {
          alerts: { 'fault-codes': { [old]: { start: T0, last: T0 + 10 * MIN } } },
          workOrders: { [`EQ-7|fault-codes|${old}@${at(T0)}`]: { status: 'requested', openedAt: T0, severity: 'critical', destination: 'erp' } },
        } as unknown as MaintenanceState;
        const r = run(options(), [text('Low oil pressure', T0 + 20 * MIN), text('Low oil pressure ', T0 + 30 * MIN)], initial);
        expect(keys(r)).toEqual([]);
        expect(r.state?.alerts?.['fault-codes']).toEqual({ [old]: { start: T0, last: T0 + 30 * MIN } });
        const later = T0 + 30 * MIN + COOLDOWN;
        const next = run(options(), [text('low oil pressure', later), text('Low oil pressure', later + MIN)], r.state);
        expect(keys(next)).toEqual([`EQ-7|fault-codes|${textKey('Low oil pressure')}@${at(later)}`]);
        // A one-word text, kept under itself, goes on in any case.
        const word = { alerts: { 'fault-codes': { Overheat: { start: T0, last: T0 } } } } as unknown as MaintenanceState;
        expect(keys(run(options(), [text('OVERHEAT', T0 + MIN), text(' overheat', T0 + 2 * MIN)], word))).toEqual([]);
        // A code's episode is not a text's: a text spelling a code in another case opens its own work order.
        const code = { alerts: { 'fault-codes': { OVERHEAT: { start: T0, last: T0 } } } } as unknown as MaintenanceState;
        expect(keys(run(options(), [text('Overheat', T0 + MIN)], code))).toEqual([`EQ-7|fault-codes|${textKey('Overheat')}@${at(T0 + MIN)}`]);
      });

      it('codes and codeMap never take a fault with no code, whatever its text, in any arrival order', () => {
        // A `codes` list never takes a fault with no code, however its text reads.
        expect(keys(run(options(rule({ codes: ['LOW*', 'OVERHEAT'] })), [text('low oil pressure', T0), text('Overheat', T0 + MIN)]))).toEqual([]);
        // A codeMap entry whose spelling a text reads as: the text is its own fault, the code another, in either order.
        // Was: the text first, the code joined its episode (one work order); the code first, two.
        const mapped = options(rule({ codeMap: { OVERHEAT: 'SPN110-FMI0' } }));
        const want = [`EQ-7|fault-codes|${textKey('Overheat')}@${at(T0)}`, `EQ-7|fault-codes|SPN110-FMI0@${at(T0 + MIN)}`];
        expect(keys(run(mapped, [text('Overheat', T0), fault('overheat', T0 + MIN), fault('SPN110-FMI0', T0 + 2 * MIN)]))).toEqual(want);
        expect(keys(run(mapped, [text('Overheat', T0), fault('SPN110-FMI0', T0 + MIN), fault('overheat', T0 + 2 * MIN)]))).toEqual(want);
        expect(keys(run(mapped, [fault('overheat', T0), text('Overheat', T0 + MIN)]))).toEqual([`EQ-7|fault-codes|SPN110-FMI0@${at(T0)}`, `EQ-7|fault-codes|${textKey('Overheat')}@${at(T0 + MIN)}`]);
        // A text that reads as a code in another case (no map): its own fault either way.
        const first = run(options(), [text('e-17', T0), fault('E-17', T0 + MIN)]);
        const second = run(options(), [fault('E-17', T0), text('e-17', T0 + MIN)]);
        expect([keys(first).length, keys(second).length]).toEqual([2, 2]);
      });
    });
  }

  for (const [form, run] of [
    ['pure', pure],
    ['owned', owned],
  ] as const) {
    it(`${form} form: maintenance status names a fault with no code by its text as first reported (its key a hash), and rules test --trace shows its episode under its key`, () => {
      // Was: `active: low_oil_pressure-<hash> since …`.
      const o = options();
      const r = run(o, [text('Low oil pressure', T0), text('low  oil pressure', T0 + MIN), fault('SPN100-FMI1', T0 + 2 * MIN)]);
      const status = maintenanceStatus(asset, r.state, o, { now: T0 + 3 * MIN, marks: () => ({}) });
      expect(status.due.find((d) => d.rule === 'fault-codes')?.state).toBe(`active: "Low oil pressure" since ${at(T0)}, SPN100-FMI1 since ${at(T0 + 2 * MIN)}`);
      expect(status.open.map((w) => w.occurrence)).toEqual([`${textKey('Low oil pressure')}@${at(T0)}`, `SPN100-FMI1@${at(T0 + 2 * MIN)}`]);
      // Kept for the fault with no code only, once.
      expect(r.state?.alerts?.['fault-codes']).toEqual({ [textKey('Low oil pressure')]: { start: T0, last: T0 + MIN, r: 'Low oil pressure' }, 'SPN100-FMI1': { start: T0 + 2 * MIN, last: T0 + 2 * MIN } });
      // rules test --trace: the episode the first report starts, under that key, with its text.
      const one = pure(o, [text(' Low \n oil pressure', T0)]);
      const trace = stateChanges({}, { maintenance: one.state });
      expect(trace).toContain(`maintenance.alerts.fault-codes.${textKey('Low oil pressure')}.start: (none) → ${at(T0)}`);
      expect(trace.join('\n')).toContain(`maintenance.alerts.fault-codes.${textKey('Low oil pressure')}.r: (none) → `);
      expect(one.state?.alerts?.['fault-codes']?.[textKey('Low oil pressure')]?.r).toBe('Low oil pressure');
    });

    it(`${form} form: the text kept is bounded; an episode kept before the text was shows its key, and goes on without one`, () => {
      const o = options();
      const long = `Hydraulic pressure ${'very '.repeat(40)}low \u{1F6A8}`;
      const r = run(o, [text(long, T0)]);
      const kept = r.state?.alerts?.['fault-codes']?.[textKey(long)]?.r;
      expect(kept).toHaveLength(FAULT_TEXT_MAX);
      expect(kept).toBe(`${long.slice(0, FAULT_TEXT_MAX - 1)}…`);
      // Never cut within a surrogate pair.
      const emoji = `${'x'.repeat(FAULT_TEXT_MAX - 2)}\u{1F6A8}\u{1F6A8}`;
      expect(run(o, [text(emoji, T0)]).state?.alerts?.['fault-codes']?.[textKey(emoji)]?.r).toBe(`${'x'.repeat(FAULT_TEXT_MAX - 2)}…`);
      // State from before: the key, and no text added by a later report of the episode.
      const initial = { alerts: { 'fault-codes': { [textKey('Low oil pressure')]: { start: T0, last: T0 } } } } as unknown as MaintenanceState;
      const before = run(o, [text('Low oil pressure', T0 + MIN)], initial);
      expect(keys(before)).toEqual([]);
      expect(maintenanceStatus(asset, before.state, o, { now: T0 + 2 * MIN, marks: () => ({}) }).due.find((d) => d.rule === 'fault-codes')?.state).toBe(`active: ${textKey('Low oil pressure')} since ${at(T0)}`);
    });
  }
});
