/**
 * The maintenance rule's owned form (maintenance-rule-owned.ts) decides as the pure rule: the
 * same deliveries, late flags, saved state, CHANGED flags and `holds`, step by step, with the pure
 * rule as the oracle (test/helpers/owned-oracle.ts) — on the benchmark's stream (where most events
 * take the fast path), on the fleet stream with arrival beyond the lateness, and on generated
 * configurations and streams with every case the fast path leaves to the pure rule: breaches and
 * episodes, repeats, flagged meter readings, declared resets, odometers, alerts (of several
 * rules, by code), ERP feedback, baseline attributes, filters, windows (per site), the snapshots'
 * age bound, whichever-first calendar intervals (on hours or km), messages of up to 17 values in
 * any order (the ring items widened for them), ties, duplicates, late samples, lateness 0, an
 * earlier due point completed late while a later one of the old baseline is open (it stands for
 * the new schedule's first one),
 * round trips through JSON, evictions and idle watermarks, idle stretches ending in a jump held
 * until the next reading confirms it or sets it aside (with a completion between them, applied
 * after the held reading, and feedback on another rule's work order after it, not held behind it);
 * and on states stored by older versions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rulesSchema } from '../../../config/rules-schema.js';
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { CanonicalEvent, Severity, WorkOrderStatusEvent } from '../../model/events.js';
import { maintenanceOptionsOf } from '../index.js';
import { CHANGED, LATE, type OwnedRule } from '../owned.js';
import type { RuleContext } from '../rule.js';
import { createMaintenanceRule, type MaintenanceState } from './maintenance-rule.js';
import { createOwnedMaintenanceRule, type OwnedMaintenanceRule } from './maintenance-rule-owned.js';
import type { MaintenanceOptions, ServiceIntervalRule } from './types.js';
import { compareOwned, streamSteps, type OracleStep, decodeCanonical as decode } from '../../../../test/helpers/owned-oracle.js';
import { stream, streamRulesConfig } from '../../../../test/helpers/rules-stream.js';
import { messages, rulesConfig } from '../../../../bench/rules.js';
import { thresholdRule } from '../../../../test/helpers/threshold-arbitrary.js';


/** Whether `state` holds back the completion `event` for a meter reading not newer than it still in its buffer (no meter holding one). */
function waitsForBuffered(state: MaintenanceState | undefined, event: CanonicalEvent): boolean {
  const held = (m: MaintenanceState['hours']) => m?.hygiene.jumpHeld === true;
  return event.kind === 'workorder' && state?.feedbackHeld?.includes(event) === true && !held(state.hours) && !held(state.km) && state.order?.pending.some((x) => x.k === 'm' && x.t <= event.eventTime) === true;
}

/** The rule a work-order business key names. */
const ruleOf = (e: WorkOrderStatusEvent): string | undefined => e.businessKey.split('|')[1];

/** Whether `e` is a completion of a rule restarting from a meter (a service interval, a whichever-first calendar interval): only such a completion waits for a reading. */
function countsMeter(e: WorkOrderStatusEvent, options: MaintenanceOptions): boolean {
  const rule = ruleOf(e);
  return e.status === 'completed' && (options.serviceIntervals.some((r) => r.name === rule) || (options.calendarIntervals ?? []).some((r) => r.name === rule && r.orMeter !== undefined));
}

/**
 * Whether `event` is the completion of a rule that counts no meter (a threshold, an alert, a
 * calendar interval without one) while `state` has a meter reading of its time or before still in
 * its buffer, or an hour meter holding one before it: such a completion records the meters only,
 * and waits for neither.
 */
function uncountedWithMeterPending(state: MaintenanceState | undefined, event: CanonicalEvent, options: MaintenanceOptions): boolean {
  if (event.kind !== 'workorder' || event.status !== 'completed' || countsMeter(event, options)) return false;
  const jump = state?.hours?.hygiene.jumpHeld === true ? state.hours.hygiene.jump : undefined;
  return (jump !== undefined && jump.eventTime < event.eventTime) || state?.order?.pending.some((x) => x.k === 'm' && x.t <= event.eventTime) === true;
}

/**
 * The owned form, counting the events and flushes it hands to the pure rule, the completions that
 * wait for a buffered reading, the completions of rules counting no meter that did not wait for a
 * meter reading pending (see uncountedWithMeterPending), and the feedback applied at once while
 * feedback of another rule not newer than it was held. Feedback held is a completion counting a
 * meter, or held behind feedback of its own rule.
 */
function counted(
  pure: ReturnType<typeof createMaintenanceRule>,
  options: MaintenanceOptions,
  bufferBudgetBytes?: number,
): { owned: OwnedRule; pureRuns: () => number; waited: () => number; notWaited: () => number; overtook: () => number } {
  let runs = 0;
  let waited = 0;
  let notWaited = 0;
  let overtook = 0;
  const spy = {
    ...pure,
    apply: (...args: Parameters<typeof pure.apply>) => {
      runs++;
      const r = pure.apply(...args);
      if (waitsForBuffered(r.state, args[1])) waited++;
      const e = args[1];
      if (e.kind === 'workorder') {
        const before = (args[0]?.feedbackHeld ?? []).filter((x) => x.eventTime <= e.eventTime);
        const held = r.state?.feedbackHeld?.includes(e) === true;
        const behindOwn = before.some((x) => ruleOf(x) === ruleOf(e));
        if (held) expect(behindOwn || countsMeter(e, options)).toBe(true);
        if (uncountedWithMeterPending(args[0], e, options) && !held) notWaited++;
        if (!held && before.length > 0) overtook++;
      }
      return r;
    },
    flush: (...args: Parameters<typeof pure.flush>) => {
      runs++;
      return pure.flush(...args);
    },
  };
  return {
    owned: createOwnedMaintenanceRule(spy, options, { spacingMs: 20 * 60_000, max: 12 }, bufferBudgetBytes),
    pureRuns: () => runs,
    waited: () => waited,
    notWaited: () => notWaited,
    overtook: () => overtook,
  };
}

describe('maintenance owned form: the benchmark stream', () => {
  const options = maintenanceOptionsOf(rulesSchema.parse(rulesConfig())) as MaintenanceOptions;
  const start = Date.UTC(2026, 9, 1, 8);

  it('decides as the pure rule, nearly every event on the fast path', () => {
    const steps = streamSteps(messages(24_000, 200, start), decode, { seed: 5 });
    const pure = createMaintenanceRule(options);
    const { owned, pureRuns } = counted(pure, options);
    const r = compareOwned(pure, owned, steps);
    expect(r.deliveries).toBeGreaterThanOrEqual(200); // each asset's first reading opens its service work orders
    const events = steps.filter((s) => 'event' in s && s.event.kind !== 'position').length;
    // First readings, breaches and their episodes, the final flushes: a few per cent.
    expect(pureRuns()).toBeLessThan(events * 0.05);
    expect(pureRuns()).toBeGreaterThan(0);
  });

  it('decides as the pure rule with arrival beyond the allowed lateness, and a lateness of 0', () => {
    const late = streamSteps(messages(12_000, 100, start), decode, { seed: 9, jitterMs: 45_000, every: 17 });
    expect(compareOwned(createMaintenanceRule(options), createMaintenanceRule(options).owned?.() as OwnedRule, late).late).toBeGreaterThan(0);
    const none = { ...options, allowedLatenessMs: 0 };
    const steps = streamSteps(messages(12_000, 100, start), decode, { seed: 3, jitterMs: 15_000 });
    expect(compareOwned(createMaintenanceRule(none), createMaintenanceRule(none).owned?.() as OwnedRule, steps).late).toBeGreaterThan(0);
  });

  it('decides as the pure rule with more held than the ring first holds, and more than it ever holds (pure mode)', () => {
    // 10 s apart per asset: a lateness of 5 min holds ~20 maintenance samples, 20 min ~80 (over the ring's 64).
    for (const allowedLatenessMs of [300_000, 1_200_000]) {
      const held = { ...options, allowedLatenessMs };
      const steps = streamSteps(messages(6_000, 20, start), decode, { seed: 4, jitterMs: 20_000 });
      const pure = createMaintenanceRule(held);
      const { owned, pureRuns } = counted(pure, held);
      expect(compareOwned(pure, owned, steps).deliveries).toBeGreaterThan(0);
      const events = steps.filter((s) => 'event' in s && s.event.kind !== 'position').length;
      if (allowedLatenessMs === 300_000) expect(pureRuns()).toBeLessThan(events * 0.1);
      else expect(pureRuns()).toBeGreaterThan(events * 0.5);
    }
  });

  it('within a small buffer budget: the ring does not grow for every asset, and shrinks when more assets come, the assets holding more taking the pure form', () => {
    // One chatty asset (a sample every 10 s, lateness 5 min: ~30 held) first, then 200 more assets.
    const held = { ...options, allowedLatenessMs: 300_000 };
    const values = { coolantTemp: { value: 50 }, oilPressure: { value: 40 }, hydraulicTemp: { value: 60 }, vibration: { value: 30 } };
    const sample = (tag: number, t: number) => ({ payload: JSON.stringify({ kind: 'sensor', assetId: `tag-${tag}`, eventTime: new Date(t).toISOString(), values }) });
    const reading = (tag: number, t: number) => ({ payload: JSON.stringify({ kind: 'meter', assetId: `tag-${tag}`, eventTime: new Date(t).toISOString(), operatingHours: 1000 + t / 3_600_000 - start / 3_600_000 }) });
    const chatty = (from: number, n: number) => Array.from({ length: n }, (_, i) => (i % 5 === 4 ? reading(0, start + (from + i) * 10_000) : sample(0, start + (from + i) * 10_000)));
    const others = Array.from({ length: 200 }, (_, i) => sample(i + 1, start + 400_000 + i));
    const steps = streamSteps([...chatty(0, 40), ...others, ...chatty(41, 30)], decode, { seed: 2, every: 97 });
    const events = steps.filter((s) => 'event' in s).length;

    // Unbounded: the ring grows to 32 items for every row.
    const wide = createMaintenanceRule(held).owned?.() as OwnedMaintenanceRule;
    const first = wide.bufferBytes; // 64 rows of 8 items
    compareOwned(createMaintenanceRule(held), wide, steps.slice(0, 30));
    const grown = wide.bufferBytes;
    expect(grown).toBeGreaterThan(first * 2);

    // A budget of the grown ring for 64 rows: it grows while few assets are held, then shrinks to
    // fit 256 rows; the chatty asset goes on in the pure form, deciding as the pure rule.
    const pure = createMaintenanceRule(held);
    const shrinking = counted(pure, held, grown);
    expect(compareOwned(pure, shrinking.owned, steps).deliveries).toBeGreaterThan(0);
    expect((shrinking.owned as OwnedMaintenanceRule).bufferBytes).toBeLessThanOrEqual(grown * 4);
    expect((shrinking.owned as OwnedMaintenanceRule).bufferBytes).toBeLessThan((grown / 64) * 256);
    expect(shrinking.pureRuns()).toBeGreaterThan(20);
    expect(shrinking.pureRuns()).toBeLessThan(events / 2);

    // No room to grow at all: the chatty asset is in the pure form from its ninth held sample on.
    const narrow = createMaintenanceRule(held);
    const never = counted(narrow, held, 1);
    compareOwned(narrow, never.owned, steps);
    expect((never.owned as OwnedMaintenanceRule).bufferBytes).toBe((first / 64) * 256);
    expect(never.pureRuns()).toBeGreaterThan(30);
  });

  it('decides as the pure rule on the fleet stream (episodes, work orders, late samples)', () => {
    const options = maintenanceOptionsOf(streamRulesConfig) as MaintenanceOptions;
    for (const seed of [1, 2, 3]) {
      const steps = streamSteps(stream(150), decode, { seed, jitterMs: 45_000, every: 11 });
      const r = compareOwned(createMaintenanceRule(options), createMaintenanceRule(options).owned?.() as OwnedRule, steps);
      expect(r.deliveries).toBeGreaterThan(10);
      expect(r.late).toBeGreaterThan(0);
    }
  });
});

// ---- Generated configurations and streams ----

const T0 = Date.UTC(2026, 9, 1, 8);
const ids = [{ type: 'tag' as const, value: 'x' }];

const threshold = thresholdRule(['a', 'b', 'c'], { filtered: true });

const service = fc
  .record({
    km: fc.boolean(),
    every: fc.constantFrom(0.05, 0.2, 1),
    dueSoon: fc.constantFrom(0, 0.01),
    firstReading: fc.boolean(),
    attribute: fc.boolean(),
    filtered: fc.boolean(),
  })
  .map(
    (r): Omit<ServiceIntervalRule, 'name'> => ({
      meter: r.km ? 'km' : 'hours',
      every: r.km ? r.every * 100 : r.every,
      dueSoon: r.dueSoon,
      defaultBaseline: r.firstReading ? 'first-reading' : 'zero',
      ...(r.attribute ? { baselineAttribute: 'lastService' } : {}),
      severity: 'warning',
      ...(r.filtered ? { appliesTo: { attributes: { fleet: ['y'] } } } : {}),
    }),
  );

const config = fc.record({
  thresholds: fc.array(threshold, { maxLength: 4 }),
  services: fc.array(service, { maxLength: 3 }),
  calendar: fc.constantFrom(undefined, 'hours', 'plain', 'km'),
  alerts: fc.constantFrom(0, 0, 0, 1, 1, 2),
  lateness: fc.constantFrom(0, 20_000, 30_000),
  keepClosed: fc.constantFrom(undefined, 1),
  windows: fc.constantFrom('none', 'all', 'site'),
  snapshotMaxAgeMs: fc.constantFrom(undefined, 5_000, 3_600_000),
});
type Config = typeof config extends fc.Arbitrary<infer T> ? T : never;

function optionsOf(c: Config): MaintenanceOptions {
  return {
    thresholds: c.thresholds.map((r, i) => ({ ...r, name: `t${i}` })),
    serviceIntervals: c.services.map((r, i) => ({ ...r, name: `s${i}` })),
    ...(c.calendar !== undefined
      ? {
          calendarIntervals: [
            {
              name: 'cal',
              everyDays: 1,
              dueSoonDays: 0,
              baselineAttribute: 'lastInspection',
              ...(c.calendar === 'hours' ? { orMeter: { meter: 'hours' as const, every: 0.1, dueSoon: 0, baselineAttribute: 'calHours' } } : {}),
              ...(c.calendar === 'km' ? { orMeter: { meter: 'km' as const, every: 1, dueSoon: 0, baselineAttribute: 'calKm' } } : {}),
              severity: 'warning' as const,
            },
          ],
        }
      : {}),
    // A second rule: of some codes only, the work order's severity the fault's own.
    ...(c.alerts > 0
      ? { alerts: [{ name: 'faults', minSeverity: 'warning' as const, cooldownMs: 60_000, severity: 'critical' as const }, ...(c.alerts > 1 ? [{ name: 'spn1', minSeverity: 'info' as const, codes: ['SPN1*'], cooldownMs: 0 }] : [])] }
      : {}),
    allowedLatenessMs: c.lateness,
    siteAttribute: 'site',
    windows:
      c.windows === 'none'
        ? {}
        : c.windows === 'all'
          ? { '*': { timeZone: 'UTC', windows: [{ days: [0, 1, 2, 3, 4, 5, 6], startMinute: 0, durationMinutes: 60 }] } }
          : { S1: { timeZone: 'America/New_York', windows: [{ days: [1, 2, 3], startMinute: 600, durationMinutes: 120 }] } },
    ...(c.snapshotMaxAgeMs !== undefined ? { snapshotMaxAgeMs: c.snapshotMaxAgeMs } : {}),
    ...(c.keepClosed !== undefined ? { keepClosed: c.keepClosed } : {}),
  };
}

/** Mostly quiet values (between the thresholds' 20 and 80), some on or past them. */
const value = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 35, max: 65 }) },
  { weight: 1, arbitrary: fc.constantFrom(20, 50, 80) },
  { weight: 2, arbitrary: fc.double({ min: -10, max: 110, noNaN: true }) },
);

const item = fc.record({
  kind: fc.constantFrom('sensor', 'sensor', 'sensor', 'sensor', 'meter', 'meter', 'meter', 'complete', 'alert', 'again', 'roundTrip', 'evict', 'flush', 'pause', 'registry', 'idleJump', 'solo', 'wide'),
  asset: fc.constantFrom(0, 0, 1, 2),
  step: fc.integer({ min: -7, max: 4 }),
  a: fc.option(value, { nil: undefined }),
  b: fc.option(value, { nil: undefined }),
  c: fc.option(value, { nil: undefined }),
  /** The values of the asset's sample before again (a condition that holds). */
  hold: fc.boolean(),
  unit: fc.constantFrom(undefined, '°C'),
  other: fc.constantFrom(0, 0, 0, 1, 3),
  /** `wide`: a device sending all its sensors in one message (the thresholds' among them), of this many values, in some order (the ring items grow wider for it). */
  width: fc.constantFrom(5, 9, 17),
  order: fc.constantFrom('asc', 'desc', 'rotated'),
  meter: fc.constantFrom('plain', 'plain', 'plain', 'plain', 'plain', 'same', 'jump', 'back', 'reset', 'km', 'km+h', 'none'),
  pick: fc.nat(),
  status: fc.constantFrom('completed', 'completed', 'in-progress', 'cancelled'),
  withHours: fc.boolean(),
  upTo: fc.constantFrom(undefined, 0, 30_000, 120_000),
  /** `idleJump`: hours the meter sat idle, reporting live; the jump 10 s later as a share of them (held); whether the meter stays there (confirmed by the next reading). */
  idleH: fc.integer({ min: 1, max: 150 }),
  by: fc.double({ min: 0.2, max: 0.95, noNaN: true }),
  stays: fc.boolean(),
  /** `idleJump`: the ERP completes a work order between the held reading and the next (event time wins: after the held reading, if confirmed). */
  completeAfter: fc.boolean(),
  /** `idleJump` with `completeAfter`: the ERP then reports on a work order of another rule (`status`). */
  thenOther: fc.boolean(),
});
type Item = typeof item extends fc.Arbitrary<infer T> ? T : never;

/** Asset 0 after its registry recorded a later service (its baseline attribute moves the schedules on). */
const serviced: AssetRecord = { erpAssetId: 'EQ-0', erpModule: 'maintenance', attributes: { site: 'S1', fleet: 'x', lastService: '100.5', lastInspection: '2026-09-30' } };

const assets: readonly AssetRecord[] = [
  { erpAssetId: 'EQ-0', erpModule: 'maintenance', attributes: { site: 'S1', fleet: 'x', lastService: '0.3', lastInspection: '2026-09-30' } },
  { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: { site: 'S1', fleet: 'y', lastService: 'n/a' } },
  { erpAssetId: 'EQ-2', erpModule: 'maintenance', attributes: { fleet: 'x', calHours: '100.05', calKm: '5000' } },
];

/**
 * The oracle's steps for `items` (times 10 s apart, some back in time and beyond the lateness),
 * with completions of the work orders the pure rule opened (`opened`: keys by asset, from a first
 * run of the same stream without completions).
 */
function stepsOf(items: readonly Item[], opened?: readonly string[][]): OracleStep[] {
  const steps: OracleStep[] = [];
  const hours = [100, 100, 100];
  const km = [5000, 5000, 5000];
  const before: ({ a?: number | undefined; b?: number | undefined; c?: number | undefined } | undefined)[] = [];
  const previous: (CanonicalEvent | undefined)[] = [];
  let t = T0;
  let n = 0;
  let registry = assets;
  for (const it of items) {
    const asset = registry[it.asset] as AssetRecord;
    t += Math.max(0, it.step) * 10_000;
    const eventTime = t + Math.min(0, it.step) * 10_000;
    const at = { source: 's', ids, eventTime, receivedAt: t };
    let event: CanonicalEvent | undefined;
    switch (it.kind) {
      case 'roundTrip':
        steps.push({ roundTrip: asset });
        continue;
      case 'evict':
        steps.push({ evict: asset });
        continue;
      case 'flush':
        steps.push({ flush: it.upTo === undefined ? undefined : t + it.upTo, asset, now: t });
        continue;
      case 'pause':
        // Eight days without events: an unchanged meter is then stalled, episodes are over.
        t += 8 * 24 * 3_600_000;
        continue;
      case 'registry':
        registry = [serviced, ...assets.slice(1)];
        continue;
      case 'idleJump': {
        // Idle, reporting its value live for hours, then a jump possible since it first showed it, not since it last did.
        const i = it.asset;
        t += it.idleH * 3_600_000;
        steps.push({ event: { kind: 'meter', source: 's', ids, eventTime: t, receivedAt: t, operatingHours: hours[i] as number }, asset, now: t });
        t += 10_000;
        const shown = Math.round(((hours[i] as number) + it.by * it.idleH) * 1e4) / 1e4;
        if (it.stays) hours[i] = shown;
        event = { kind: 'meter', source: 's', ids, eventTime: t, receivedAt: t, operatingHours: shown };
        if (it.completeAfter) {
          steps.push({ event, asset, now: t });
          t += 5_000;
          const keys = opened?.[i] ?? [];
          const key = keys.length > 0 ? (keys[it.pick % keys.length] as string) : `${asset.erpAssetId}|s0|0.2h@b0`;
          event = { kind: 'workorder', source: 's', ids, eventTime: t, receivedAt: t, businessKey: key, status: 'completed', ...(it.withHours ? { operatingHoursAtCompletion: shown } : {}) };
          // Then feedback on a work order of another rule (one opened, else of a rule no longer configured), while the first may still wait (not held behind it).
          const rule = key.split('|')[1];
          const other = keys.find((k, j) => j > it.pick % keys.length && k.split('|')[1] !== rule) ?? keys.find((k) => k.split('|')[1] !== rule) ?? `${asset.erpAssetId}|gone|${new Date(T0).toISOString()}`;
          if (it.thenOther) {
            steps.push({ event, asset, now: t });
            t += 5_000;
            event = { kind: 'workorder', source: 's', ids, eventTime: t, receivedAt: t, businessKey: other, status: it.status };
          }
        }
        break;
      }
      case 'again':
        event = previous[it.asset];
        break;
      case 'sensor': {
        const v = it.hold && before[it.asset] ? { ...it, ...before[it.asset] } : it;
        before[it.asset] = { a: v.a, b: v.b, c: v.c };
        const values: Record<string, { value: number; unit?: string }> = {};
        if (v.a !== undefined) values.a = it.unit !== undefined ? { value: v.a, unit: it.unit } : { value: v.a };
        if (v.b !== undefined) values.b = { value: v.b };
        if (v.c !== undefined) values.c = { value: v.c };
        // Sensors no threshold reads (their latest values go to the snapshots), changing.
        for (let k = 0; k < it.other; k++) values[`z${k}`] = { value: k + it.pick % 7 };
        event = { kind: 'sensor', ...at, values };
        break;
      }
      case 'wide': {
        const names = Array.from({ length: it.width }, (_, k) => (k < 3 ? (['a', 'b', 'c'][k] as string) : `z${k}`));
        if (it.order === 'desc') names.reverse();
        if (it.order === 'rotated') names.push(...names.splice(0, it.pick % names.length));
        const values: Record<string, { value: number; unit?: string }> = {};
        for (const [k, name] of names.entries()) {
          const v = name === 'a' ? it.a : name === 'b' ? it.b : name === 'c' ? it.c : (k * 13 + it.pick) % 97;
          values[name] = k % 4 === 1 && it.unit !== undefined ? { value: v ?? 50, unit: it.unit } : { value: v ?? 50 };
        }
        event = { kind: 'sensor', ...at, values };
        break;
      }
      case 'solo': {
        // A device sending one sensor per message (an MQTT topic per tag), all of one time.
        const solo: Record<string, { value: number; unit?: string }>[] = [];
        if (it.a !== undefined) solo.push({ a: it.unit !== undefined ? { value: it.a, unit: it.unit } : { value: it.a } });
        if (it.b !== undefined) solo.push({ b: { value: it.b } });
        for (let k = 0; k < it.other; k++) solo.push({ [`z${k}`]: { value: k + it.pick % 5 } });
        if (it.c !== undefined) solo.push({ c: { value: it.c } });
        for (const values of solo) steps.push({ event: { kind: 'sensor', ...at, values }, asset, now: t });
        continue;
      }
      case 'meter': {
        const i = it.asset;
        const m = it.meter;
        if (m === 'plain') hours[i] = Math.round(((hours[i] as number) + 0.0012 * Math.max(1, it.step)) * 1e4) / 1e4;
        if (m === 'jump') hours[i] = (hours[i] as number) + 3;
        if (m === 'back' || m === 'reset') hours[i] = Math.max(0, (hours[i] as number) - 5);
        km[i] = (km[i] as number) + 0.3;
        const h = hours[i] as number;
        event =
          m === 'km'
            ? { kind: 'meter', ...at, odometerKm: km[i] }
            : m === 'km+h'
              ? { kind: 'meter', ...at, operatingHours: h, odometerKm: km[i] }
              : m === 'none'
                ? { kind: 'meter', ...at, idleHours: 1 }
                : { kind: 'meter', ...at, operatingHours: h, ...(m === 'reset' ? { declaredReset: true } : {}) };
        break;
      }
      case 'alert': {
        // One fault, feeds spelling it apart (full-width too); or one with no code, its text with `é` composed or decomposed, full-width or in ASCII.
        const code = ['SPN0', 'SPN1', 'spn1', ' SPN0 ', 'Spn1', '\uff33\uff30\uff2e\uff11', undefined, undefined][it.pick % 8];
        const reason = code !== undefined ? 'overheat' : (['Surchauffe pr\u00e9chauffage', 'surchauffe pre\u0301chauffage ', '\uff33\uff55\uff52\uff43\uff48\uff41\uff55\uff46\uff46\uff45 pr\u00e9chauffage'][Math.floor(it.pick / 8) % 3] as string);
        event = { kind: 'alert', ...at, reason, severity: (['info', 'warning', 'critical'] as Severity[])[it.pick % 3] as Severity, ...(code !== undefined ? { code } : {}) };
        break;
      }
      case 'complete': {
        const keys = opened?.[it.asset] ?? [];
        const key = keys.length > 0 ? (keys[it.pick % keys.length] as string) : `${asset.erpAssetId}|s0|0.2h@b0`;
        event = {
          kind: 'workorder',
          ...at,
          businessKey: key,
          status: it.status,
          ...(it.withHours ? { operatingHoursAtCompletion: hours[it.asset] as number } : {}),
        };
        break;
      }
    }
    if (event === undefined) continue;
    previous[it.asset] = event;
    steps.push({ event, asset, now: t });
    if (++n % 29 === 0) steps.push({ roundTrip: asset });
  }
  for (const asset of registry) steps.push({ flush: undefined, asset, now: t });
  return steps;
}

describe('maintenance owned form: generated configurations and streams', () => {
  it('decides as the pure rule (deliveries, late flags, state, CHANGED, holds)', () => {
    let delivered = 0;
    let late = 0;
    let events = 0;
    let pureRuns = 0;
    let waited = 0;
    let notWaited = 0;
    let overtook = 0;
    let others = 0;
    let serviceSensors = 0;
    let serviceOnly = 0;
    fc.assert(
      fc.property(config, fc.array(item, { minLength: 20, maxLength: 120 }), (c, items) => {
        const options = optionsOf(c);
        // Which work orders the stream opens, for the ERP to complete.
        const first = compareOwned(createMaintenanceRule(options), createMaintenanceRule(options).owned?.() as OwnedRule, stepsOf(items));
        const opened = assets.map((a) => first.delivered.filter((d) => d.erpAssetId === a.erpAssetId).map((d) => d.businessKey));
        const pure = createMaintenanceRule(options);
        const owned = counted(pure, options);
        const steps = stepsOf(items, opened);
        const r = compareOwned(pure, owned.owned, steps);
        delivered += r.deliveries;
        late += r.late;
        events += steps.filter((s) => 'event' in s).length;
        pureRuns += owned.pureRuns();
        waited += owned.waited();
        notWaited += owned.notWaited();
        overtook += owned.overtook();
        // Snapshots holding sensors of other samples than the one that opened the work order (dated).
        for (const d of r.delivered) others += Object.values((d.payload as { sensorSnapshot: { values: Record<string, { at?: string }> } }).sensorSnapshot.values).filter((v) => v.at !== undefined).length;
        // A due service's snapshot holding sensor values, as a fault's (also where no threshold nor alert rule applies).
        for (const d of r.delivered) {
          const p = d.payload as { trigger: { type: string }; sensorSnapshot: { values: Record<string, unknown> } };
          if (p.trigger.type !== 'service-interval' || !Object.keys(p.sensorSnapshot.values).some((k) => k !== 'operatingHours' && k !== 'odometerKm')) continue;
          serviceSensors++;
          if (options.thresholds.length === 0 && (options.alerts ?? []).length === 0) serviceOnly++;
        }
      }),
      { numRuns: 300 },
    );
    expect(delivered).toBeGreaterThan(300);
    expect(late).toBeGreaterThan(50);
    // Both forms were compared: the fast path decided many events, the pure rule many others.
    expect(pureRuns).toBeGreaterThan(events * 0.2);
    expect(pureRuns).toBeLessThan(events * 0.8);
    // Completions dated after a reading still in the buffer waited for it (event time wins), in both forms.
    expect(waited).toBeGreaterThan(10);
    // Completions of thresholds, alerts and plain calendar intervals with such a reading pending applied at once (they count no meter), in both forms.
    expect(notWaited).toBeGreaterThan(10);
    // Feedback of a rule applied at once while another rule's completion waited (not held behind it).
    expect(overtook).toBeGreaterThan(10);
    // Both forms showed the latest values of other samples' sensors in the work orders (the snapshots agree: the deliveries are compared).
    expect(others).toBeGreaterThan(30);
    // And in due services' work orders, with service rules alone too (their assets keep `latest`):
    // configurations of service rules alone are few among those generated (5 to 17 such work
    // orders in twelve runs of 300), so that they occur at all is what is checked.
    expect(serviceSensors).toBeGreaterThan(30);
    expect(serviceOnly).toBeGreaterThan(0);
  });
});

describe('maintenance owned form: earlier due points completed late', () => {
  // Hour-meter service intervals alone, readings crossing several due points, and the ERP
  // completing the work orders opened, some done just past their due points and reported late: an
  // earlier one completed while a later one of the old baseline is open restarts the schedule, and
  // the open one stands for the new schedule's first due point (coveringWorkOrder), in both forms.
  const hourService = fc.record({ every: fc.constantFrom(0.05, 0.1), dueSoon: fc.constantFrom(0, 0.02), firstReading: fc.boolean() }).map(
    (r): Omit<ServiceIntervalRule, 'name'> => ({ meter: 'hours', every: r.every, dueSoon: r.dueSoon, defaultBaseline: r.firstReading ? 'first-reading' : 'zero', severity: 'warning' }),
  );
  const setup = fc.record({ services: fc.array(hourService, { minLength: 1, maxLength: 2 }), lateness: fc.constantFrom(0, 30_000) });
  const step = fc.record({
    kind: fc.constantFrom('meter', 'meter', 'meter', 'complete', 'roundTrip'),
    /** Hundredths of an hour since the last reading, 10 min ago. */
    dh: fc.integer({ min: 0, max: 6 }),
    pick: fc.nat(),
    status: fc.constantFrom('completed', 'completed', 'completed', 'cancelled'),
    /** The service done just past the work order's due point (reported late), or at the meter now. */
    doneAtDue: fc.boolean(),
  });
  type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;
  const asset = assets[2] as AssetRecord;
  const stepsFor = (items: readonly Step[], opened: readonly string[] = []): OracleStep[] => {
    const out: OracleStep[] = [];
    let t = T0;
    let hours = 100;
    for (const it of items) {
      t += 600_000;
      if (it.kind === 'roundTrip') {
        out.push({ roundTrip: asset });
        continue;
      }
      if (it.kind === 'meter') {
        hours = Math.round((hours + it.dh / 100) * 1e4) / 1e4;
        out.push({ event: { kind: 'meter', source: 's', ids, eventTime: t, receivedAt: t, operatingHours: hours }, asset, now: t });
        continue;
      }
      const key = opened.length > 0 ? (opened[it.pick % opened.length] as string) : `${asset.erpAssetId}|s0|100h@b0`;
      const due = Number(/\|(\d+(?:\.\d+)?)h@b/.exec(key)?.[1]);
      const done = it.doneAtDue ? Math.min(due + 0.01, hours) : hours;
      out.push({ event: { kind: 'workorder', source: 's', ids, eventTime: t, receivedAt: t, businessKey: key, status: it.status, operatingHoursAtCompletion: done }, asset, now: t });
    }
    out.push({ flush: undefined, asset, now: t });
    return out;
  };

  it('decides as the pure rule, the open later work order standing for the new due point', () => {
    let stood = 0;
    fc.assert(
      fc.property(setup, fc.array(step, { minLength: 10, maxLength: 60 }), (c, items) => {
        const options = optionsOf({ thresholds: [], services: c.services, calendar: undefined, alerts: 0, lateness: c.lateness, keepClosed: undefined, windows: 'none', snapshotMaxAgeMs: undefined });
        // Which work orders the readings open, for the ERP to complete.
        const opened = compareOwned(createMaintenanceRule(options), createMaintenanceRule(options).owned?.() as OwnedRule, stepsFor(items)).delivered.map((d) => d.businessKey);
        const pure = createMaintenanceRule(options);
        // The oracle, noting a reading that reached a due point past the one its schedule opened and opened none: a work order stood for it.
        let covered = false;
        const spy = {
          ...pure,
          apply: (...args: Parameters<typeof pure.apply>) => {
            const r = pure.apply(...args);
            const total = r.state?.hours?.total;
            if (args[1].kind !== 'meter' || total === undefined) return r;
            for (const rule of options.serviceIntervals) {
              const sv = r.state?.services?.[rule.name];
              const k = sv === undefined ? 0 : Math.floor((total + rule.dueSoon - sv.base) / rule.every + 1e-9);
              if (sv !== undefined && k >= 1 && sv.base + k * rule.every > (sv.firedDue ?? Number.NEGATIVE_INFINITY) + 1e-9) covered = true;
            }
            return r;
          },
        };
        compareOwned(spy, createMaintenanceRule(options).owned?.() as OwnedRule, stepsFor(items, opened));
        if (covered) stood++;
      }),
      { numRuns: 200 },
    );
    // Runs where it happened (with both forms deciding alike, compared step by step).
    expect(stood).toBeGreaterThan(5);
  });
});

describe('maintenance owned form: several readings released at once', () => {
  const options: MaintenanceOptions = {
    thresholds: [],
    serviceIntervals: [
      { name: 's', meter: 'hours', every: 250, dueSoon: 0, defaultBaseline: 'zero', severity: 'warning' },
      { name: 'big', meter: 'hours', every: 1000, dueSoon: 10, defaultBaseline: 'zero', severity: 'warning', title: 'Major' },
    ],
    allowedLatenessMs: 30_000,
    siteAttribute: 'site',
    windows: { '*': { timeZone: 'UTC', windows: [{ days: [1, 2, 3, 4, 5], startMinute: 120, durationMinutes: 240 }] } },
  };
  const asset: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: { site: 'S1' } };
  const meter = (s: number, operatingHours: number): OracleStep => ({ event: { kind: 'meter', source: 's', ids, eventTime: T0 + s * 1000, receivedAt: T0, operatingHours }, asset });
  const run = (steps: readonly OracleStep[]): { deliveries: readonly DeliveryIntent[]; pureRuns: number } => {
    const pure = createMaintenanceRule(options);
    const { owned, pureRuns } = counted(pure, options);
    return { deliveries: compareOwned(pure, owned, steps).delivered, pureRuns: pureRuns() };
  };

  it("opens a work order with every sensor's latest value released before its reading, the sensor samples released with it included (here)", () => {
    const sensor = (s: number, values: Record<string, number>): OracleStep => ({
      event: { kind: 'sensor', source: 's', ids, eventTime: T0 + s * 1000, receivedAt: T0, values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])) },
      asset,
    });
    // 249.99 h (released on its own), then in one release: rpm at 33 s, fuel at 35 s, 250 h at 40 s (due), coolant at 45 s, and fuel again at 42 s, arriving last.
    const r = run([meter(0, 249.99), sensor(31, { rpm: 800 }), sensor(33, { rpm: 900 }), sensor(35, { fuel: 40 }), meter(40, 250), sensor(45, { coolant: 80 }), sensor(42, { fuel: 39 }), sensor(90, { rpm: 950 }), { flush: undefined, asset }]);
    expect(r.deliveries.map((d) => d.businessKey)).toEqual(['EQ-1|s|250h@b0']);
    expect((r.deliveries[0]?.payload as { sensorSnapshot: unknown }).sensorSnapshot).toEqual({
      at: new Date(T0 + 40_000).toISOString(),
      values: { operatingHours: { value: 250, unit: 'h' }, rpm: { value: 900, at: new Date(T0 + 33_000).toISOString() }, fuel: { value: 40, at: new Date(T0 + 35_000).toISOString() } },
    });
    expect(r.pureRuns).toBe(0);
  });

  it('hands them all to the pure rule when a later one is not plain (the earlier ones undone)', () => {
    // 50 s and 60 s are plain, 70 s jumps 3 h in 10 s: the reading at 110 s releases all three.
    const r = run([meter(0, 100), meter(40, 100), meter(50, 100.001), meter(60, 100.002), meter(70, 103), meter(110, 103.001), { flush: undefined, asset }]);
    // The three released together (at 110 s), the end (a reading after the flagged one, with its issue to clear); the first reading (released at 40 s) is taken here.
    expect(r.pureRuns).toBe(2);
  });

  it('opens no work order for a meter swapped undeclared for one showing more, however long its readings continue (both forms)', () => {
    // 100 h; from 1 h on, a meter showing 2100 h read every 2 h for 150 days at a third of an hour a hour: past ~95 days
    // the jump alone would be possible since 100 h, and counting it would bring both intervals due.
    const hour = 3600;
    const steps: OracleStep[] = [meter(0, 100), meter(40, 100.001)];
    for (let h = 1; h <= 150 * 24; h += 2) steps.push(meter(h * hour, Math.round((2100 + (h - 1) / 3) * 100) / 100));
    steps.push({ flush: undefined, asset });
    expect(run(steps).deliveries).toEqual([]);
  });

  it('takes a first reading that opens work orders, and the readings released with it, here', () => {
    // The first reading (995.5 h) is due for both intervals (1000 h within 10 h for the larger one),
    // released with a plain one; a later one reaches 1000 h for the smaller one, released after a plain one.
    const r = run([meter(0, 995.5), meter(10, 995.501), meter(40, 995.502), meter(50, 995.503), meter(60, 995.504), meter(120, 995.505), meter(18_000, 999.95), meter(18_010, 1000), meter(18_050, 1000.001), { flush: undefined, asset }]);
    expect(r.deliveries.map((d) => d.businessKey)).toEqual(['EQ-1|s|750h@b0', 'EQ-1|big|1000h@b0', 'EQ-1|s|1000h@b0']);
    expect(r.pureRuns).toBe(0);
  });

  it('holds a jump after a live idle stretch until the next reading: the work order opens on confirmation, none on a spike (both forms)', () => {
    const hour = 3600;
    // 240 h live for 100 h, then 260 h 10 s later (past 250 h): held; the next reading decides.
    const idle = [meter(0, 240), meter(40, 240), meter(100 * hour, 240), meter(100 * hour + 10, 260)];
    const tail = (h: number) => [meter(100 * hour + 60, h), meter(100 * hour + 120, h + 0.001), { flush: undefined, asset }];
    expect(run([...idle, ...tail(260.01)]).deliveries.map((d) => d.businessKey)).toEqual(['EQ-1|s|250h@b0']);
    expect(run([...idle, ...tail(260.01)]).deliveries[0]).toMatchObject({ eventTime: T0 + (100 * hour + 10) * 1000, payload: { trigger: { readingHours: 260 } } });
    expect(run([...idle, ...tail(240.01)]).deliveries).toEqual([]);
    // Idle for 1000 h, then 1000 h more 10 s later (both intervals): confirmed by the same value.
    const long = [meter(0, 240), meter(40, 240), meter(1000 * hour, 240), meter(1000 * hour + 10, 1240), meter(1000 * hour + 60, 1240), { flush: undefined, asset }];
    expect(run(long).deliveries.map((d) => d.businessKey)).toEqual(['EQ-1|s|1000h@b0', 'EQ-1|big|1000h@b0']);
  });

  it('applies a completion after a held reading, arriving before the reading that confirms it, after the held reading: as in event-time order (both forms)', () => {
    const hour = 3600;
    const done = (s: number): OracleStep => ({ event: { kind: 'workorder', source: 's', ids, eventTime: T0 + s * 1000, receivedAt: T0, businessKey: 'EQ-1|s|250h@b0', status: 'completed', operatingHoursAtCompletion: 260 }, asset });
    // The reading released (an idle watermark past the lateness), then the service done at 260 h,
    // 40 s after it, and the next reading: the schedule restarts at 260 h (next due 510 h).
    const after = [{ flush: T0 + (100 * hour + 45) * 1000, asset }, done(100 * hour + 50), meter(100 * hour + 120, 260.01), meter(400 * hour, 510), { flush: undefined, asset }];
    // Taken at once (no idle repeat before it), and held after a live idle stretch, then confirmed.
    const live = run([meter(0, 240), meter(40, 240), meter(100 * hour + 10, 260), ...after]).deliveries;
    expect(live.map((d) => d.businessKey)).toEqual(['EQ-1|s|250h@b0', 'EQ-1|s|510h@b260']);
    const held = run([meter(0, 240), meter(40, 240), meter(100 * hour, 240), meter(100 * hour + 10, 260), ...after]).deliveries;
    expect(held).toEqual(live);
  });

  it('applies a completion dated after a reading still in the buffer once the reading is released: the meter at completion is that reading (both forms)', () => {
    const hour = 3600;
    const done: OracleStep = { event: { kind: 'workorder', source: 's', ids, eventTime: T0 + (100 * hour + 20) * 1000, receivedAt: T0, businessKey: 'EQ-1|s|250h@b0', status: 'completed' }, asset };
    // 260 h at 100 h + 10 s waits in the buffer (30 s) when the service done 10 s later is reported:
    // counted at 260 h (next due 510 h), not at 240 h, the last reading released (next due 490 h).
    const r = run([meter(0, 240), meter(40, 240.01), meter(100 * hour + 10, 260), done, meter(100 * hour + 60, 260.01), meter(349 * hour, 500), meter(349 * hour + 40, 500.01), meter(360 * hour, 510), { flush: undefined, asset }]);
    expect(r.deliveries.map((d) => d.businessKey)).toEqual(['EQ-1|s|250h@b0', 'EQ-1|s|510h@b260']);
  });

  it('opens no work order for a due point one of the schedule before the last completion stands for', () => {
    const hour = 3600;
    const complete: OracleStep = { event: { kind: 'workorder', source: 's', ids, eventTime: T0 + 20 * hour * 1000, receivedAt: T0, businessKey: 'EQ-1|s|250h@b0', status: 'completed', operatingHoursAtCompletion: 255 }, asset };
    // 250 h and 500 h open their work orders; 250 h@b0 completed late (at 255 h) restarts the
    // schedule there, and 500 h@b0, still open, stands for its 505 h: none opened for that.
    const r = run([meter(0, 250), meter(40, 250.001), meter(250 * hour, 500), meter(250 * hour + 40, 500.001), complete, meter(255 * hour, 505), meter(255 * hour + 40, 505.001), { flush: undefined, asset }]);
    expect(r.deliveries.map((d) => d.businessKey)).toEqual(['EQ-1|s|250h@b0', 'EQ-1|s|500h@b0']);
    // The completion only.
    expect(r.pureRuns).toBe(1);
  });

  it('opens the next due point when the work order of the one the schedule counts from is reopened after its completion', () => {
    const hour = 3600;
    const feedback = (at: number, status: 'completed' | 'open', hours?: number): OracleStep => ({
      event: { kind: 'workorder', source: 's', ids, eventTime: T0 + at * hour * 1000, receivedAt: T0, businessKey: 'EQ-1|big|1000h@b0', status, ...(hours !== undefined ? { operatingHoursAtCompletion: hours } : {}) },
      asset,
    });
    // 1000h@b0 opens due soon (at 990 h) and is done early, at 995 h: next due 1995 h, due soon at 1985 h.
    // The ERP reopens it: the service was done all the same, so it stands for no later due point.
    const r = run([meter(0, 0), meter(40, 0.001), meter(990 * hour, 990), meter(990 * hour + 40, 990.001), feedback(995, 'completed', 995), feedback(996, 'open'), meter(1985 * hour, 1985), meter(1985 * hour + 40, 1985.001), { flush: undefined, asset }]);
    expect(r.deliveries.map((d) => d.businessKey).filter((k) => k.includes('|big|'))).toEqual(['EQ-1|big|1000h@b0', 'EQ-1|big|1995h@b995']);
  });

  it('opens no work order twice when a reading released after the one that opens it is for the pure rule', () => {
    // The first reading opens both (here, were it alone); the one 10 s after it jumps 5 h: both go
    // to the pure rule, as does the reading that clears the issue; the ones after it are taken here.
    const r = run([meter(0, 1000), meter(10, 1005), meter(50, 1005.001), meter(3600, 1000.5), meter(3610, 1000.501), meter(3650, 1000.502), { flush: undefined, asset }]);
    expect(r.deliveries.map((d) => d.businessKey)).toEqual(['EQ-1|s|1000h@b0', 'EQ-1|big|1000h@b0']);
    expect(r.pureRuns).toBeGreaterThan(0);
  });
});

// ---- States the pure form stores (also older ones), loaded ----

describe('maintenance owned form: loading stored states', () => {
  const options = maintenanceOptionsOf(rulesSchema.parse(rulesConfig())) as MaintenanceOptions;
  const asset: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} };
  const ctx: RuleContext = { asset, destination: 'erp', now: T0 };
  const sensorAt = (dt: number, v = 50): CanonicalEvent => ({ kind: 'sensor', source: 's', ids, eventTime: T0 + dt, receivedAt: T0, values: { coolantTemp: { value: v }, oilPressure: { value: 40 } } });
  const meterAt = (dt: number, h: number): CanonicalEvent => ({ kind: 'meter', source: 's', ids, eventTime: T0 + dt, receivedAt: T0, operatingHours: h });
  const events = [sensorAt(40_000), meterAt(50_000, 1000.01), sensorAt(60_000), meterAt(70_000, 1000.02), sensorAt(80_000, 99), sensorAt(90_000), meterAt(100_000, 1000.03), meterAt(130_000, 1000.04)];
  const history = Array.from({ length: 14 }, (_, i) => [T0 - (14 - i) * 1_200_000, 990 + i * 0.3] as const);
  const stored: Record<string, unknown> = {
    'an extra field of an older version': { order: { pending: [] }, hours: { hygiene: { last: { value: 1000, eventTime: T0 } }, total: 1000 }, legacy: 1 },
    'a history longer than kept now': { hours: { hygiene: { last: { value: 1000, eventTime: T0 }, confirmedAt: T0 }, total: 1000 }, history, services: { 'service-250h': { base: 0, firedDue: 1000 }, 'service-1000h': { base: 0, firedDue: 1000 } } },
    'an empty `last`': { order: { released: T0, newest: T0, pending: [], last: [] }, releasedKinds: 's' },
    'a buffer with a fault and units': { order: { released: T0, newest: T0 + 30_000, pending: [{ t: T0 + 10_000, k: 'a', s: 'warning', r: 'x' }, { t: T0 + 20_000, k: 's', v: { coolantTemp: [50, '°C'] } }], last: [{ t: T0, k: 'm', h: 999.99 }] } },
    'a service no longer configured, a meter issue': { hours: { hygiene: { last: { value: 1000, eventTime: T0 }, stallFlagged: true }, total: 1001 }, services: { old: { base: 5 } }, meterIssue: 'x' },
    'a threshold in an episode, open work orders': {
      thresholds: { 't1-high': { phase: 'pending', start: T0, last: T0, peak: 92 } },
      hours: { hygiene: { last: { value: 1000, eventTime: T0 }, confirmedAt: T0 + 1 } },
      history: [[T0, 1000]],
      services: { 'service-250h': { base: 0, firedDue: 1000 }, 'service-1000h': { base: 0, firedDue: 1000 } },
      workOrders: { 'EQ-1|service-250h|1000h@b0': { status: 'requested', openedAt: T0 } },
    },
    'every sensor\'s latest value (units, a name JSON writes first)': {
      order: { released: T0, newest: T0, pending: [], last: [{ t: T0, k: 's', v: { coolantTemp: [50, '°C'] } }] },
      releasedKinds: 's',
      latest: { coolantTemp: [T0, 50, '°C'], fuel: [T0 - 60_000, 40], '7': [T0 - 120_000, 1, 'x'] },
    },
    'a latest of more sensors than kept': { latest: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`s${i}`, [T0, i]])) },
    nothing: {},
  };

  for (const [what, state] of Object.entries(stored)) {
    it(`takes ${what} as the pure rule does`, () => {
      const pure = createMaintenanceRule(options);
      const owned = pure.owned?.() as OwnedRule;
      owned.load(3, state);
      expect(owned.save(3)).toEqual(state);
      let s = state as MaintenanceState | undefined;
      for (const e of events) {
        const out: DeliveryIntent[] = [];
        const r = pure.apply(s, e, ctx);
        const flags = owned.apply(3, e, ctx, out);
        expect(out).toEqual(r.deliveries);
        expect((flags & LATE) !== 0).toBe(r.late === true);
        if (JSON.stringify(r.state) !== JSON.stringify(s)) expect(flags & CHANGED).toBe(CHANGED);
        s = r.state;
        expect(JSON.parse(JSON.stringify(owned.save(3) ?? null))).toEqual(JSON.parse(JSON.stringify(s ?? null)));
        expect(owned.holds(3)).toBe(pure.holds(s));
      }
    });
  }
});
