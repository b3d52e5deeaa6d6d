/**
 * The maintenance rule's owned form writes its state's JSON text itself (`saveJson`): the text must
 * be `JSON.stringify(save(a))` to the character — key order, absent fields, number and string text —
 * on states loaded with every field present or absent, with numbers of every shape, with names and
 * units needing escapes (or that JSON orders or treats apart: array indices, `__proto__`), on
 * states the fast path builds from events, and on states kept as the pure form holds them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { CanonicalEvent, SensorValue } from '../../model/events.js';
import type { OwnedRule } from '../owned.js';
import type { RuleContext } from '../rule.js';
import { createMaintenanceRule } from './maintenance-rule.js';
import type { MaintenanceOptions, ServiceIntervalRule, ThresholdRule } from './types.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const ids = [{ type: 'tag' as const, value: 'x' }];
const asset: AssetRecord = { erpAssetId: 'EQ-"1"\\é', erpModule: 'maintenance', attributes: { site: 'S1' } };
const ctx = (now = T0): RuleContext => ({ asset, destination: 'erp', now });

const threshold = (name: string, sensor: string): ThresholdRule => ({ name, sensor, direction: 'above', threshold: 80, clearAt: 75, durationMs: 0, maxGapMs: 60_000, cooldownMs: 0, severity: 'warning' });
const service = (name: string, every = 250): ServiceIntervalRule => ({ name, meter: 'hours', every, dueSoon: 0, defaultBaseline: 'zero', severity: 'warning' });

/** Names and units that need escapes in JSON, or that JSON orders (array indices) or treats (`__proto__`) apart. */
const oddNames = ['temp', 'a"b', 'back\\slash', 'nul\u0000', 'tab\t', '\u001f', 'é', '日本', '😀', 'lone\ud800', '\udc00x', '\u2028', '__proto__', '0', '12', '4294967295', '07', 'constructor', 'x'.repeat(70)];

const options = (serviceNames: readonly string[] = ['service-250h', 'service-1000h'], sensors: readonly string[] = oddNames): MaintenanceOptions => ({
  thresholds: sensors.map((s, i) => threshold(`t${i}`, s)),
  serviceIntervals: serviceNames.map((n, i) => service(n, i === 0 ? 250 : 1000)),
  allowedLatenessMs: 30_000,
  siteAttribute: 'site',
  windows: {},
});

const owned = (o = options()): OwnedRule => createMaintenanceRule(o).owned?.() as OwnedRule;

/** The text saveJson writes for asset `a` is JSON.stringify of what save returns. */
const expectJson = (rule: OwnedRule, a: number): void => {
  expect(rule.saveJson?.(a)).toBe(JSON.stringify(rule.save(a)));
};

/** Numbers of every shape a state can hold: integers, ≤3 decimals, many decimals, negative, -0, huge, tiny. */
const edgeNumbers = [0, -0, 1, -1, 7.5, 0.001, -0.05, 1114.986, 1000.0001, 0.1 + 0.2, 1 / 3, -2.5e-7, 1e-7, 5e-324, 1e21, -1e21, 2 ** 31, -(2 ** 31), 2 ** 31 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 1_796_205_680_256, 2_147_483.647, 2_147_484.5];
const number = fc.oneof(fc.constantFrom(...edgeNumbers), fc.integer(), fc.integer({ min: -3_000_000_000, max: 3_000_000_000 }).map((k) => k / 1000), fc.double({ noNaN: true, noDefaultInfinity: true }));
const text = fc.oneof(fc.constantFrom(...oddNames), fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 80 }));

const meterSample = (t: number, h: number) => ({ t, k: 'm', h });
/** A sensor sample's compact values, keys as own properties (`__proto__` too). */
const sensorSample = (t: number, values: readonly (readonly [string, number, string?])[]) => ({
  t,
  k: 's',
  v: Object.fromEntries(values.map(([name, value, unit]) => [name, unit !== undefined ? [value, unit] : value])),
});

describe('maintenance owned form: saveJson', () => {
  it('is undefined where save is (an asset never seen, one with no state, one dropped)', () => {
    const rule = owned();
    expect(rule.saveJson?.(5)).toBeUndefined();
    rule.load(2, undefined);
    expect(rule.saveJson?.(2)).toBeUndefined();
    expect(rule.saveJson?.(1)).toBeUndefined();
    rule.load(0, { releasedKinds: 'm' });
    rule.drop(0);
    expect(rule.saveJson?.(0)).toBeUndefined();
  });

  it('writes an empty state, and each field alone', () => {
    const states: unknown[] = [
      {},
      { order: { pending: [] } },
      { order: { released: T0, pending: [] } },
      { order: { newest: T0, pending: [meterSample(T0 + 1, 3)] } },
      { order: { released: T0, newest: T0 + 5, pending: [], last: [meterSample(T0, 1000.5)] } },
      { releasedKinds: 'sm' },
      { hours: { hygiene: {} } },
      { hours: { hygiene: {}, total: 12.25 } },
      { hours: { hygiene: { last: { value: 1000, eventTime: T0 } } } },
      { hours: { hygiene: { confirmedAt: T0 } } },
      { hours: { hygiene: { stallFlagged: true } } },
      { hours: { hygiene: { stallFlagged: false } } },
      { hours: { hygiene: { lastReset: { value: 0.5, eventTime: T0 - 1 } } } },
      { history: [] },
      { history: [[T0, 1000.123456]] },
      { services: {} },
      { services: { 'service-1000h': { base: 0 } } },
      { services: { 'service-250h': { base: 250, baseAt: T0 } } },
      { services: { 'service-250h': { base: 250, firedDue: 500 } } },
      { km: { hygiene: {}, total: 5 } },
      { kmHistory: [[T0, 5.5]] },
      { thresholds: { t0: { phase: 'normal' } } },
      { workOrders: { 'EQ-1|s|250h@b0': { status: 'requested', openedAt: T0 } } },
      { meterIssue: 'stalled "meter"' },
      { odometerIssue: 'x' },
      { calendars: { cal: { base: '2026-09-30' } } },
      { alerts: { faults: { last: T0 } } },
      { alerts: { faults: { last: T0 } }, lateAlertsFrom: T0 - 1 },
      { lateAlertsFrom: -8.64e15 },
      { completed: { 'EQ-1|s|250h@b0': T0 } },
    ];
    const rule = owned();
    states.forEach((state, a) => {
      rule.load(a, state);
      expectJson(rule, a);
    });
  });

  it('writes every field present, in the order save gives them', () => {
    const rule = owned();
    const state = {
      order: { released: T0, newest: T0 + 20_000, pending: [sensorSample(T0 + 10_000, [['temp', 50.5, '°C'], ['a"b', -1]]), meterSample(T0 + 20_000, 1000.25)], last: [meterSample(T0, 1000), sensorSample(T0, [['temp', 49]])] },
      releasedKinds: 'ms',
      hours: { hygiene: { last: { value: 1000, eventTime: T0 }, confirmedAt: T0, stallFlagged: false, lastReset: { value: 2, eventTime: T0 - 3_600_000 } }, total: 1001.123456 },
      history: [
        [T0 - 1_200_000, 999.9],
        [T0, 1001.123456],
      ],
      km: { hygiene: { last: { value: 5000.3, eventTime: T0 } }, total: 5000.3 },
      kmHistory: [[T0, 5000.3]],
      thresholds: { t0: { phase: 'normal' } },
      services: { 'service-250h': { base: 1000, baseAt: T0, firedDue: 1000 }, 'service-1000h': { base: 0, firedDue: 1000 } },
      workOrders: { 'EQ-1|service-250h|1000h@b0': { status: 'requested', openedAt: T0 } },
      meterIssue: 'x',
      odometerIssue: 'y',
      calendars: { cal: { base: '2026-09-30' } },
      alerts: { faults: { last: T0 } },
      lateAlertsFrom: T0 - 3_600_000,
      completed: { 'EQ-1|service-250h|750h@b0': T0 },
    };
    rule.load(0, state);
    // Held in columns (save builds a new object), not kept as given.
    expect(rule.save(0)).not.toBe(state);
    expect(JSON.parse(rule.saveJson?.(0) as string)).toEqual(state);
    expectJson(rule, 0);
  });

  it('writes numbers of every shape as JSON.stringify does', () => {
    const rule = owned();
    edgeNumbers.forEach((x, a) => {
      rule.load(a, {
        order: { released: x, newest: x, pending: [meterSample(x, x), sensorSample(x, [['temp', x], ['é', x, 'u']])] },
        hours: { hygiene: { last: { value: x, eventTime: x }, confirmedAt: x, lastReset: { value: x, eventTime: x } }, total: x },
        history: [[x, x]],
        services: { 'service-250h': { base: x, baseAt: x, firedDue: x } },
      });
      expect(rule.save(a)).toBeDefined();
      expectJson(rule, a);
    });
  });

  it('writes sensor names, units and kinds needing escapes, and names JSON orders or treats apart', () => {
    const rule = owned();
    oddNames.forEach((name, a) => {
      const values: [string, number, string?][] = [
        ['temp', 1.5],
        [name, 2, name],
        ['z', 3],
      ];
      rule.load(a, { order: { released: T0, pending: [sensorSample(T0 + 1, values), sensorSample(T0 + 2, [[name, 4]])], last: [sensorSample(T0, [['z', 0, name]])] }, releasedKinds: name });
      expectJson(rule, a);
    });
  });

  it('writes service names JSON orders or treats apart, or configured twice', () => {
    for (const names of [['b', '250'], ['b', '__proto__'], ['a"\\', 'é😀'], ['s', 's']]) {
      const rule = owned(options(names));
      rule.load(0, { services: { [names[1] as string]: { base: 1, firedDue: 250 }, [names[0] as string]: { base: 0.5, baseAt: T0 } } });
      expectJson(rule, 0);
      // The schedules the fast path starts, for every interval the first reading meets.
      rule.load(1, undefined);
      for (const [k, h] of [0, 1, 2].map((k) => [k, 1000 + k * 0.001] as const)) rule.apply(1, { kind: 'meter', source: 's', ids, eventTime: T0 + k * 40_000, receivedAt: T0, operatingHours: h }, ctx(), []);
      expect(rule.save(1)).toHaveProperty('services');
      expectJson(rule, 1);
    }
  });

  it('writes the fields kept in the pure state anew when events change them (work orders opened, completed)', () => {
    const rule = owned();
    const meter = (s: number, operatingHours: number): CanonicalEvent => ({ kind: 'meter', source: 's', ids, eventTime: T0 + s * 1000, receivedAt: T0, operatingHours });
    rule.load(0, { hours: { hygiene: { last: { value: 240, eventTime: T0 } }, total: 240 }, services: { 'service-250h': { base: 0 }, 'service-1000h': { base: 0 } }, workOrders: { 'EQ-1|x|1h@b0': { status: 'requested', openedAt: T0 } } });
    expectJson(rule, 0);
    // 250 h reached on the fast path: its work order opened beside the one loaded.
    const out: DeliveryIntent[] = [];
    for (const [s, h] of [[3600, 241], [36_000, 250], [36_040, 250.001]] as const) {
      rule.apply(0, meter(s, h), ctx(), out);
      expectJson(rule, 0);
    }
    expect(out.map((d) => d.businessKey)).toEqual([`${asset.erpAssetId}|service-250h|250h@b0`]);
    // Its completion (the pure rule): the work orders and the completions change.
    rule.apply(0, { kind: 'workorder', source: 's', ids, eventTime: T0 + 40_000_000, receivedAt: T0, businessKey: out[0]?.businessKey as string, status: 'completed', operatingHoursAtCompletion: 251 }, ctx(), []);
    expect(rule.saveJson?.(0)).toContain('"completed"');
    expectJson(rule, 0);
  });

  it('writes a state kept as the pure form holds it (what columns cannot hold)', () => {
    const rule = owned();
    const kept = [{ legacy: 1, hours: { hygiene: {} } }, { services: { unknown: { base: 1 } } }, { order: { pending: [{ t: T0, k: 'a', s: 'warning', r: 'x"y' }] } }, { history: 'not a list' }];
    kept.forEach((state, a) => {
      rule.load(a, state);
      expect(rule.save(a)).toBe(state);
      expectJson(rule, a);
    });
  });

  it('writes what events build, step by step (a fast-check property)', () => {
    const sensorEvent = fc.record({
      kind: fc.constant('sensor' as const),
      dt: fc.integer({ min: -40, max: 40 }),
      values: fc.array(fc.tuple(fc.constantFrom(...oddNames), fc.oneof(fc.integer({ min: 30, max: 70 }), number), fc.option(text, { nil: undefined })), { minLength: 1, maxLength: 4 }),
    });
    const meterEvent = fc.record({ kind: fc.constant('meter' as const), dt: fc.integer({ min: -40, max: 40 }), step: fc.oneof(fc.constantFrom(0, 0.001, 0.01, 0.5), fc.double({ min: 0, max: 0.3, noNaN: true })) });
    const flushEvent = fc.record({ kind: fc.constant('flush' as const), upTo: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 4, arbitrary: sensorEvent }, { weight: 3, arbitrary: meterEvent }, { weight: 1, arbitrary: flushEvent }), { minLength: 1, maxLength: 60 }), fc.constantFrom(0, 1, 2), (events, a) => {
        const rule = owned();
        let t = T0;
        let hours = 998 + a;
        for (const e of events) {
          const out: DeliveryIntent[] = [];
          if (e.kind === 'flush') {
            rule.flush(a, ctx(t), e.upTo === undefined ? undefined : t + e.upTo * 1000, out);
          } else {
            t += Math.max(0, e.dt) * 1000;
            const at = { source: 's', ids, eventTime: t + Math.min(0, e.dt) * 1000, receivedAt: t };
            let event: CanonicalEvent;
            if (e.kind === 'sensor') {
              const values: Record<string, SensorValue> = Object.fromEntries(e.values.map(([name, value, unit]) => [name, unit !== undefined ? { value, unit } : { value }]));
              event = { kind: 'sensor', ...at, values };
            } else {
              hours += e.step;
              event = { kind: 'meter', ...at, operatingHours: hours };
            }
            rule.apply(a, event, ctx(t), out);
          }
          expectJson(rule, a);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('writes states loaded with any field present or absent (a fast-check property)', () => {
    const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const reading = fc.record({ value: number, eventTime: number });
    const values = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...oddNames), text), number, opt(text)), { maxLength: 4 });
    const sample = fc.oneof(fc.tuple(number, number).map(([t, h]) => meterSample(t, h)), fc.tuple(number, values).map(([t, v]) => sensorSample(t, v)));
    const schedule = fc.record({ base: number, baseAt: number, firedDue: number }, { requiredKeys: ['base'] });
    const state = fc.record(
      {
        order: fc.record({ released: number, newest: number, pending: fc.array(sample, { maxLength: 5 }), last: fc.array(sample, { minLength: 1, maxLength: 3 }) }, { requiredKeys: ['pending'] }),
        releasedKinds: text,
        hours: fc.record({ hygiene: fc.record({ last: reading, confirmedAt: number, stallFlagged: fc.boolean(), lastReset: reading }, { requiredKeys: [] }), total: number }, { requiredKeys: ['hygiene'] }),
        history: fc.array(fc.tuple(number, number), { maxLength: 12 }),
        km: fc.record({ total: number }),
        thresholds: fc.dictionary(text, fc.record({ phase: fc.constantFrom('normal', 'pending'), peak: number }, { requiredKeys: ['phase'] }), { maxKeys: 2 }),
        services: fc.record({ 'service-250h': schedule, 'service-1000h': schedule }, { requiredKeys: [] }),
        workOrders: fc.dictionary(text, fc.record({ status: text, openedAt: number }), { maxKeys: 2 }),
        meterIssue: text,
        completed: fc.dictionary(text, number, { maxKeys: 2 }),
      },
      { requiredKeys: [] },
    );
    let inColumns = 0;
    fc.assert(
      fc.property(state, (s) => {
        const rule = owned();
        rule.load(1, s);
        if (rule.save(1) !== s) inColumns++;
        expectJson(rule, 1);
      }),
      { numRuns: 500 },
    );
    // Most are held in columns (the text saveJson writes itself).
    expect(inColumns).toBeGreaterThan(250);
  });
});
