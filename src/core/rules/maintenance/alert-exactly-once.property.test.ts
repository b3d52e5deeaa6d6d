/**
 * Alert rules, exactly once (invariants 3 and 8): whatever the arrival order within the allowed
 * lateness, duplicates, batching through JSON, a restart from a checkpoint with the ingest log
 * replayed over it, or a replay of everything, the work orders are exactly those of the fault
 * episodes the reports make in event time: one per (code, episode), keyed `<code>@<first report>`.
 * And a feed pulled behind the others, beyond the lateness: its faults judged per fault, never a
 * work order the reports do not call for, each once, the same over restarts and replays, in both forms.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { AlertEvent, CanonicalEvent, SensorEvent } from '../../model/events.js';
import type { OwnedRule } from '../owned.js';
import { flushRules, simulateRules, type StateDoc } from '../simulate.js';
import { compareOwned } from '../../../../test/helpers/owned-oracle.js';
import { LATE_FAULTS_KEPT, textKey } from './alert.js';
import { createMaintenanceRule, type MaintenanceState } from './maintenance-rule.js';
import type { MaintenanceOptions } from './types.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;
const COOLDOWN = 2 * 60 * MIN;
const asset: AssetRecord = { erpAssetId: 'EQ-7', erpModule: 'maintenance', attributes: {} };
const options = (allowedLatenessMs: number): MaintenanceOptions => ({
  thresholds: [],
  serviceIntervals: [],
  alerts: [{ name: 'faults', minSeverity: 'warning', cooldownMs: COOLDOWN }],
  allowedLatenessMs,
  siteAttribute: 'site',
  windows: {},
});
const fault = (code: string, t: number): AlertEvent => ({ kind: 'alert', source: 'test', ids: [{ type: 'tag', value: 'x' }], eventTime: t, receivedAt: t, severity: 'critical', code, reason: `fault ${code}` });

/** The work orders the reports call for: a code's report `COOLDOWN` or more after its previous one starts an episode. */
function expected(reports: readonly AlertEvent[]): string[] {
  const last = new Map<string, number>();
  const keys: string[] = [];
  for (const r of [...reports].sort((a, b) => a.eventTime - b.eventTime)) {
    const code = r.code as string;
    const before = last.get(code);
    if (before === undefined || r.eventTime - before >= COOLDOWN) keys.push(`EQ-7|faults|${code}@${new Date(r.eventTime).toISOString()}`);
    last.set(code, r.eventTime);
  }
  return keys.sort();
}

/** Run `events` over `initial`; the work orders they open, held ones decided at the end when `flush`. */
function run(rule: ReturnType<typeof createMaintenanceRule>, events: readonly CanonicalEvent[], initial: StateDoc | undefined, batchSizes: readonly number[], flush: boolean) {
  const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })), { batchSizes, ...(initial ? { initial: new Map([['EQ-7', initial]]) } : {}) });
  const keys = r.perStep.flat().map((d) => d.businessKey);
  /** Per event, whether the maintenance rule dropped it as late. */
  const late = r.lateByStep.map((rules) => rules.includes('maintenance'));
  if (!flush) return { keys, late, doc: r.states.get('EQ-7') ?? {} };
  const f = flushRules([rule], r.states, new Map([['EQ-7', { asset, destination: 'erp' }]]), 0);
  return { keys: [...keys, ...f.deliveries.map((d) => d.businessKey)], late, doc: f.states.get('EQ-7') ?? {} };
}

/** Faults of a few codes; several often share a time (one message's fault codes). */
const reportsOf = (codes: number, maxLength: number) =>
  fc.array(fc.tuple(fc.integer({ min: 0, max: codes - 1 }), fc.constantFrom(0, 0, 0, 1, 10, 40, 119, 120, 121, 300)), { minLength: 1, maxLength }).map((steps) => {
    let t = T0;
    return steps.map(([code, dt]) => fault(`E-${code}`, (t += dt * MIN)));
  });
const reportsArb = reportsOf(5, 40);

describe('alert rules: exactly one work order per fault episode', () => {
  for (const lateness of [0, 30 * MIN])
    it(`any arrival within the lateness (${lateness / MIN} min), duplicates, checkpoints, restarts and replays: the episodes' work orders, each once`, () => {
      fc.assert(
        fc.property(
          reportsArb,
          // Per report: its arrival delay (within the lateness), and whether (and how much later) it is sent again.
          fc.infiniteStream(fc.tuple(fc.double({ min: 0, max: 0.999, noNaN: true }), fc.option(fc.double({ min: 0, max: 3, noNaN: true }), { freq: 3 }))),
          fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 10 }),
          fc.nat(),
          fc.nat(),
          (reports, delays, batchSizes, cutAt, overlap) => {
            const want = expected(reports);
            // Arrival: by event time plus a delay under the lateness (ties: one message's events in any order); resends later.
            const arrivals: [number, number, AlertEvent][] = [];
            const ds = delays.take(reports.length);
            let seq = 0;
            for (const [i, d] of [...ds].entries()) {
              const r = reports[i] as AlertEvent;
              arrivals.push([r.eventTime + d[0] * lateness, seq++, r]);
              if (d[1] !== null) arrivals.push([r.eventTime + (d[0] + d[1]) * Math.max(lateness, MIN), seq++, r]);
            }
            // With no lateness, events of one time arrive in any order among themselves (the seq is random then).
            const order = arrivals.sort((a, b) => a[0] - b[0] || (lateness === 0 ? ((a[1] * 7919) % 13) - ((b[1] * 7919) % 13) || a[1] - b[1] : a[1] - b[1])).map((a) => a[2]);
            const rule = createMaintenanceRule(options(lateness));
            const whole = run(rule, order, undefined, batchSizes, true);
            expect(new Set(whole.keys).size).toBe(whole.keys.length);
            expect([...whole.keys].sort()).toEqual(want);
            // A restart: the state checkpointed after `cut` events, the ingest log replayed from a little before it.
            const cut = cutAt % (order.length + 1);
            const first = run(rule, order.slice(0, cut), undefined, batchSizes, false);
            const from = Math.max(0, cut - (overlap % 4));
            const second = run(rule, order.slice(from), first.doc, batchSizes, true);
            // The outbox keeps one fact per key: what counts is which keys, and that none is new.
            expect([...new Set([...first.keys, ...second.keys])].sort()).toEqual(want);
            // Everything again over the final state: nothing.
            expect(run(rule, order, whole.doc, batchSizes, true).keys).toEqual([]);
          },
        ),
        { numRuns: 300 },
      );
    });

  it('each feed spelling a fault its own way (a code in any case, with spaces, a codeMap alias; a fault with no code by its text in any case and spacing), any arrival within the lateness, restarts and replays: one work order per fault episode, keyed by the code or text as compared, both forms', () => {
    const lateness = 30 * MIN;
    const mapped: MaintenanceOptions = { ...options(lateness), alerts: [{ name: 'faults', minSeverity: 'warning', cooldownMs: COOLDOWN, codeMap: { 'alt-0': 'E-0', OVERHEAT: 'E-1' } }] };
    // E-3 and E-4 come with no code, only a text (E-4's reads as a code the codeMap maps: still no code).
    const texts: Readonly<Record<string, readonly string[]>> = {
      'E-3': ['Low oil pressure', 'low oil pressure', ' Low  oil pressure ', 'LOW OIL\tPRESSURE', 'Low oil\u00a0pressure'],
      'E-4': ['Overheat', 'OVERHEAT', ' overheat', 'overheat\n', 'OverHeat'],
    };
    const spell = (code: string, how: number): string => [code, code.toLowerCase(), ` ${code} `, code === 'E-0' ? 'ALT-0' : code, code === 'E-0' ? ' alt-0' : code.toLowerCase()][how] as string;
    const spelt = (r: AlertEvent, how: number): AlertEvent => {
      const code = r.code as string;
      const text = texts[code];
      if (text === undefined) return { ...r, code: spell(code, how) };
      const { code: _, ...rest } = r;
      return { ...rest, reason: text[how] as string };
    };
    const keyOf = (code: string): string => (texts[code] !== undefined ? textKey(texts[code]?.[0] ?? code) : code);
    fc.assert(
      fc.property(
        reportsArb,
        fc.infiniteStream(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.double({ min: 0, max: 0.999, noNaN: true }), fc.boolean())),
        fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 10 }),
        fc.nat(),
        (reports, how, batchSizes, cutAt) => {
          const want = expected(reports).map((k) => k.replace(/\|(E-\d)@/, (_, code: string) => `|${keyOf(code)}@`)).sort();
          const arrivals: [number, number, AlertEvent][] = [];
          let seq = 0;
          for (const [i, [spelling, delay, again]] of [...how.take(reports.length)].entries()) {
            const r = reports[i] as AlertEvent;
            arrivals.push([r.eventTime + delay * lateness, seq++, spelt(r, spelling)]);
            // Sent again by another feed, spelt as that one spells it.
            if (again) arrivals.push([r.eventTime + delay * lateness + MIN, seq++, { ...spelt(r, (spelling + 1) % 5), source: 'other' }]);
          }
          const order = arrivals.sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((a) => a[2]);
          const rule = createMaintenanceRule(mapped);
          const whole = run(rule, order, undefined, batchSizes, true);
          expect([...whole.keys].sort()).toEqual(want);
          const cut = cutAt % (order.length + 1);
          const first = run(rule, order.slice(0, cut), undefined, batchSizes, false);
          const second = run(rule, order.slice(Math.max(0, cut - 2)), first.doc, batchSizes, true);
          expect([...new Set([...first.keys, ...second.keys])].sort()).toEqual(want);
          expect(run(rule, order, whole.doc, batchSizes, true).keys).toEqual([]);
          // The owned form decides as the pure one, step by step (with a checkpoint and restart midway).
          const steps = order.map((event) => ({ event, asset }));
          compareOwned(rule, rule.owned?.() as OwnedRule, [...steps.slice(0, cut), { roundTrip: asset }, ...steps.slice(cut), { flush: undefined, asset }]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('faults behind live sensor samples (pulled from a telematics feed every few minutes) all count, each once', () => {
    const lateness = 30_000;
    const withSensors: MaintenanceOptions = {
      ...options(lateness),
      thresholds: [{ name: 'hot', sensor: 'temp', direction: 'above', threshold: 95, clearAt: 90, durationMs: 0, maxGapMs: 10 * MIN, cooldownMs: 0, severity: 'warning' }],
    };
    const temp = (t: number, value: number): SensorEvent => ({ kind: 'sensor', source: 'mqtt', ids: [{ type: 'tag', value: 'x' }], eventTime: t, receivedAt: t, values: { temp: { value } } });
    fc.assert(
      fc.property(
        reportsArb,
        // When each fault reaches the service after its time (a pull every few minutes), and whether it is sent again later.
        fc.infiniteStream(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.option(fc.integer({ min: 0, max: 30 }), { freq: 4 }))),
        fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 10 }),
        (reports, delays, batchSizes) => {
          const end = (reports[reports.length - 1] as AlertEvent).eventTime + 30 * MIN;
          // A sensor sample a minute, breaching now and then.
          const sensors: [number, number, CanonicalEvent][] = [];
          for (let t = T0, i = 0; t <= end; t += MIN, i++) sensors.push([t, i, temp(t, i % 17 === 5 ? 99 : 80)]);
          // Faults: in their own order (a feed pages them oldest first), each some minutes behind the sensors.
          const faults: [number, number, CanonicalEvent][] = [];
          let arrives = 0;
          for (const [i, [delay, again]] of [...delays.take(reports.length)].entries()) {
            const r = reports[i] as AlertEvent;
            arrives = Math.max(arrives, r.eventTime + delay * MIN);
            faults.push([arrives, 1e9 + i, r]);
            if (again !== null) faults.push([arrives + again * MIN, 2e9 + i, r]);
          }
          const order = [...sensors, ...faults].sort((x, y) => x[0] - y[0] || x[1] - y[1]).map((x) => x[2]);
          const rule = createMaintenanceRule(withSensors);
          const got = run(rule, order, undefined, batchSizes, true).keys;
          expect(new Set(got).size).toBe(got.length);
          expect(got.filter((k) => k.startsWith('EQ-7|faults|')).sort()).toEqual(expected(reports));
          // The sensors decide as they do without the faults.
          const alone = run(createMaintenanceRule(withSensors), sensors.map((x) => x[2]), undefined, [], true).keys;
          expect(got.filter((k) => k.startsWith('EQ-7|hot|'))).toEqual(alone);
        },
      ),
      { numRuns: 200 },
    );
  });

  // Five codes, and thirteen: more faults forgotten than a rule keeps late bounds of its own for (LATE_FAULTS_KEPT).
  for (const codes of [5, 13])
  it(`a feed pulled behind the others beyond the lateness (its own codes, in its own order; ${codes} codes): no work order the episodes of the reports taken do not call for, each once, restarts and replays alike, both forms; all of them while no episode is forgotten; the late bounds kept bounded`, () => {
    const lateness = 5 * MIN;
    fc.assert(
      fc.property(
        reportsOf(codes, codes === 5 ? 40 : 60),
        // Per report: how far behind its time it reaches the service (feed A, codes E-0 and E-1: within the lateness; feed B: up to 110 min), and whether it is sent again later.
        fc.infiniteStream(fc.tuple(fc.double({ min: 0, max: 0.999, noNaN: true }), fc.integer({ min: 0, max: 110 }), fc.boolean())),
        fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 10 }),
        fc.nat(),
        (reports, delays, batchSizes, cutAt) => {
          const arrivals: [number, number, AlertEvent][] = [];
          let seq = 0;
          // Each feed pages its faults oldest first.
          const arrives = { a: 0, b: 0 };
          for (const [i, [a, b, again]] of [...delays.take(reports.length)].entries()) {
            const r = reports[i] as AlertEvent;
            const feed = r.code === 'E-0' || r.code === 'E-1' ? 'a' : 'b';
            arrives[feed] = Math.max(arrives[feed], r.eventTime + (feed === 'a' ? a * lateness : b * MIN));
            arrivals.push([arrives[feed], seq++, { ...r, source: feed }]);
            if (again) arrivals.push([arrives[feed] + 3 * MIN, seq++, { ...r, source: feed }]);
          }
          const order = arrivals.sort((x, y) => x[0] - y[0] || x[1] - y[1]).map((x) => x[2]);
          const want = expected(reports);
          const rule = createMaintenanceRule(options(lateness));
          const whole = run(rule, order, undefined, batchSizes, true);
          expect(new Set(whole.keys).size).toBe(whole.keys.length);
          // Never a work order the episodes of the reports taken do not call for: a late report is taken
          // only where it decides as in event-time order, else dropped and counted late. (A report
          // dropped so can split its fault's episode in two: a later report of it, not late, starts
          // one anew. Comparing with every report's episodes, that is a work order they do not call for.)
          const taken = order.filter((_, i) => whole.late[i] !== true);
          const wantTaken = expected(taken.filter((e): e is AlertEvent => e.kind === 'alert'));
          expect(whole.keys.filter((k) => !wantTaken.includes(k))).toEqual([]);
          // Within a cooldown, no episode is forgotten: every fault, however late, has its work order.
          const span = (reports[reports.length - 1] as AlertEvent).eventTime - (reports[0] as AlertEvent).eventTime;
          if (span < COOLDOWN) expect([...whole.keys].sort()).toEqual(want);
          const cut = cutAt % (order.length + 1);
          const first = run(rule, order.slice(0, cut), undefined, batchSizes, false);
          const second = run(rule, order.slice(Math.max(0, cut - 2)), first.doc, batchSizes, true);
          expect([...new Set([...first.keys, ...second.keys])].sort()).toEqual([...whole.keys].sort());
          expect(run(rule, order, whole.doc, batchSizes, true).keys).toEqual([]);
          // The faults with a late bound of their own: a few per rule at most.
          for (const bounds of Object.values((whole.doc.maintenance as MaintenanceState | undefined)?.lateAlertFaults ?? {})) expect(Object.keys(bounds).length).toBeLessThanOrEqual(LATE_FAULTS_KEPT);
          // The owned form decides as the pure one, step by step (with a checkpoint and restart midway).
          const pure = createMaintenanceRule(options(lateness));
          const steps = order.map((event) => ({ event, asset }));
          compareOwned(pure, pure.owned?.() as OwnedRule, [...steps.slice(0, cut), { roundTrip: asset }, ...steps.slice(cut), { flush: undefined, asset }]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('two rules with their own cooldowns, ERP completions, any arrival within the lateness, restarts and replays: each rule’s episodes once, and no lapsed episode kept', () => {
    const SHORT = 30 * MIN;
    const lateness = 30 * MIN;
    const twoRules: MaintenanceOptions = {
      ...options(lateness),
      alerts: [
        { name: 'faults', minSeverity: 'warning', cooldownMs: COOLDOWN },
        { name: 'hydraulics', minSeverity: 'warning', codes: ['E-0', 'E-1'], cooldownMs: SHORT },
      ],
    };
    /** The keys `expected` gives for one rule's reports and cooldown. */
    const expectedOf = (reports: readonly AlertEvent[], rule: string, cooldown: number): string[] => {
      const last = new Map<string, number>();
      const keys: string[] = [];
      for (const r of [...reports].sort((a, b) => a.eventTime - b.eventTime)) {
        const code = r.code as string;
        const before = last.get(code);
        if (before === undefined || r.eventTime - before >= cooldown) keys.push(`EQ-7|${rule}|${code}@${new Date(r.eventTime).toISOString()}`);
        last.set(code, r.eventTime);
      }
      return keys;
    };
    /** Every episode kept can still matter: within its cooldown of the newest report taken, or the newest itself. */
    const noLapsed = (doc: StateDoc) => {
      const alerts = (doc.maintenance as MaintenanceState | undefined)?.alerts ?? {};
      const newest = Math.max(...Object.values(alerts).flatMap((episodes) => Object.values(episodes).map((e) => e.last)));
      for (const [rule, episodes] of Object.entries(alerts)) {
        const cooldown = rule === 'hydraulics' ? SHORT : COOLDOWN;
        for (const [code, e] of Object.entries(episodes)) expect([rule, code, newest - e.last < cooldown || e.last === newest]).toEqual([rule, code, true]);
      }
    };
    fc.assert(
      fc.property(
        reportsArb,
        fc.infiniteStream(fc.tuple(fc.double({ min: 0, max: 0.999, noNaN: true }), fc.option(fc.double({ min: 0, max: 3, noNaN: true }), { freq: 3 }))),
        fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 10 }),
        fc.nat(),
        (reports, delays, batchSizes, cutAt) => {
          const hyd = reports.filter((r) => r.code === 'E-0' || r.code === 'E-1');
          const want = [...expectedOf(reports, 'faults', COOLDOWN), ...expectedOf(hyd, 'hydraulics', SHORT)].sort();
          const arrivals: [number, number, CanonicalEvent][] = [];
          let seq = 0;
          for (const [i, d] of [...delays.take(reports.length)].entries()) {
            const r = reports[i] as AlertEvent;
            arrivals.push([r.eventTime + d[0] * lateness, seq++, r]);
            if (d[1] !== null) arrivals.push([r.eventTime + (d[0] + d[1]) * lateness, seq++, r]);
          }
          // The ERP closes some of the work orders (a few minutes after they open): that ends no episode.
          // Pushed or polled from erp, where they were opened (or logged before polls named theirs).
          const closing = (key: string, i: number, source: string, afterMin: number): [number, number, CanonicalEvent] => {
            const t = Date.parse(key.slice(key.lastIndexOf('@') + 1)) + afterMin * MIN;
            return [t, 1e6 + i, { kind: 'workorder', source, ids: [{ type: 'erp', value: 'EQ-7' }], eventTime: t, receivedAt: t, businessKey: key, status: 'completed' }];
          };
          const closings = want.filter((_, i) => i % 2 === 0).map((key, i) => closing(key, i, i % 3 === 0 ? 'erp-feedback' : 'erp-feedback:erp', 10));
          // Another destination's ERP closes the others (before erp does, or instead): not taken.
          const foreign = want.map((key, i) => closing(key, 2e6 + i, 'erp-feedback:erp2', i % 2 === 0 ? 5 : 10));
          const order = [...arrivals, ...closings, ...foreign].sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((a) => a[2]);
          const rule = createMaintenanceRule(twoRules);
          const whole = run(rule, order, undefined, batchSizes, true);
          expect(new Set(whole.keys).size).toBe(whole.keys.length);
          expect([...whole.keys].sort()).toEqual(want);
          noLapsed(whole.doc);
          // The completions were taken (not ignored as someone else's), and erp2's were not.
          const records = Object.values((whole.doc.maintenance as MaintenanceState | undefined)?.workOrders ?? {});
          expect(records.filter((w) => w.status === 'completed').length).toBe(Math.min(closings.length, 20));
          const completed = Object.entries((whole.doc.maintenance as MaintenanceState | undefined)?.workOrders ?? {}).filter(([, w]) => w.status === 'completed').map(([k]) => k);
          expect(completed.filter((k) => want.indexOf(k) % 2 === 1)).toEqual([]);
          const cut = cutAt % (order.length + 1);
          const first = run(rule, order.slice(0, cut), undefined, batchSizes, false);
          noLapsed(first.doc);
          const second = run(rule, order.slice(Math.max(0, cut - 2)), first.doc, batchSizes, true);
          expect([...new Set([...first.keys, ...second.keys])].sort()).toEqual(want);
          expect(run(rule, order, whole.doc, batchSizes, true).keys).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
