/**
 * The usage rule's owned form (usage-rule-owned.ts) held to the pure rule (usage-rule.ts) by the
 * oracle (test/helpers/owned-oracle.ts): streams of hour and km readings with the rule's special
 * cases (resets declared in order or late, spikes, rollbacks, stalls, advances at hygiene's wall-clock limit, equal times, readings on
 * period boundaries and across periods, outside a listed calendar, pruning, re-sends, arrival
 * beyond the allowed lateness, idle watermarks, restarts, evictions, states written by older
 * versions or under another calendar), and the benchmark's stream. Also: which steps the fast
 * path takes, so the oracle is known to compare the columns and not only the fallback.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareOwned, streamSteps, type OracleStep, decodeCanonical as decode } from '../../../../test/helpers/owned-oracle.js';
import { rulesSchema } from '../../../config/rules-schema.js';
import type { AssetRecord } from '../../model/assets.js';
import type { MeterEvent } from '../../model/events.js';
import type { RawMessage } from '../../model/messages.js';
import type { AssetFilter } from '../maintenance/types.js';
import { createRules } from '../index.js';
import { flushRules, simulateRules } from '../simulate.js';
import { customCalendar, monthlyCalendar, type PeriodCalendar } from './calendar.js';
import type { OwnedRule } from '../owned.js';
import { createUsageRule, filedUnderOtherCalendar, type UsageRuleOptions, type UsageState } from './usage-rule.js';
import { ownedUsageRule, type OwnedUsageRule } from './usage-rule-owned.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Two hours before November starts in Berlin (23:00 UTC), a week after the October DST change. */
const T0 = Date.parse('2026-10-31T21:00:00Z');

const asset = (id: string, attributes: Record<string, string> = {}): AssetRecord => ({ erpAssetId: id, erpModule: 'fixed-assets', attributes: { site: 'S1', ...attributes } });
const HOURS_ASSET = asset('FA-1');
const KM_ASSET = asset('FA-2', { depreciationMeter: 'km' });
const OTHER_SITE = asset('FA-3', { site: 'S2' });
const meterOf = (a: AssetRecord) => (a.attributes.depreciationMeter === 'km' ? 'km' : 'hours');
const S1_ONLY: AssetFilter = { attributes: { site: ['S1'] } };

const CALENDARS: Record<string, PeriodCalendar> = {
  berlin: monthlyCalendar('Europe/Berlin'),
  utc: monthlyCalendar('UTC'),
  // November starts at 02:30 UTC on 1 November, and the clocks go back at 04:30 UTC that night.
  stJohns: monthlyCalendar('America/St_Johns'),
  // Days from 31 Oct (UTC) to 9 Nov: readings before and after the listed range too.
  days: customCalendar(
    'UTC',
    Array.from({ length: 10 }, (_, i) => ({ id: `D${i}`, start: new Date(Date.UTC(2026, 9, 31 + i)).toISOString().slice(0, 10) })),
    '2026-11-10',
  ),
};

function meter(a: AssetRecord, t: number, value: number | undefined, opts: { readonly km?: boolean; readonly reset?: boolean } = {}): MeterEvent {
  const field = value === undefined ? { idleHours: 1 } : opts.km ? { odometerKm: value } : { operatingHours: value };
  const reset = opts.reset ? (opts.km ? { odometerReset: true } : { declaredReset: true }) : {};
  return { kind: 'meter', source: 'test', ids: [{ type: 'erp', value: a.erpAssetId }], eventTime: t, receivedAt: t, ...field, ...reset };
}

/** One step of an asset's meter, in event time. */
type Move =
  | { readonly k: 'tick' | 'gap'; readonly dt: number; readonly rate: number }
  | { readonly k: 'boundary' | 'same' | 'equalTime' | 'noMeter' | 'otherMeter' | 'resendLast' | 'resendOld' }
  | { readonly k: 'stall'; readonly dt: number }
  | { readonly k: 'spike' | 'rollback'; readonly by: number; readonly stays: boolean }
  | { readonly k: 'reset'; readonly to: number; readonly back: number }
  | { readonly k: 'zero' }
  /** Idle, reporting live for `dt`, then `by` (possible since the idle value was first shown) 10 s later: held; it `stays` (confirmed by the next reading) or was a spike. */
  | { readonly k: 'idleJump'; readonly dt: number; readonly by: number; readonly stays: boolean }
  /** Idle for `idle` (the value shown again then), then `n` × 24 s (× 120 s on the odometer) later as much as the wall clock allows since, to the thousandth: at hygiene's limit. */
  | { readonly k: 'limit'; readonly n: number; readonly idle: number };

const moveArb: fc.Arbitrary<Move> = fc.oneof(
  { weight: 30, arbitrary: fc.record({ k: fc.constant('tick' as const), dt: fc.integer({ min: 1, max: 60 }).map((s) => s * SECOND), rate: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('gap' as const), dt: fc.integer({ min: 1, max: 40 * 24 * 60 }).map((m) => m * MINUTE), rate: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 2, arbitrary: fc.constantFrom<Move>({ k: 'boundary' }, { k: 'same' }, { k: 'resendLast' }) },
  { weight: 1, arbitrary: fc.constantFrom<Move>({ k: 'equalTime' }, { k: 'noMeter' }, { k: 'otherMeter' }, { k: 'resendOld' }, { k: 'zero' }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('stall' as const), dt: fc.integer({ min: 7 * 24, max: 9 * 24 }).map((h) => h * HOUR) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constantFrom('spike' as const, 'rollback' as const), by: fc.integer({ min: 1, max: 5000 }), stays: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('idleJump' as const), dt: fc.integer({ min: 1, max: 200 }).map((m) => m * HOUR), by: fc.double({ min: 0.2, max: 0.95, noNaN: true }), stays: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('reset' as const), to: fc.integer({ min: 0, max: 50 }), back: fc.constantFrom(0, 5 * SECOND, 45 * SECOND, 20 * MINUTE, 3 * HOUR) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('limit' as const), n: fc.integer({ min: 1, max: 200 }), idle: fc.constantFrom(0, HOUR, 30 * HOUR, 6 * DAY) }) },
);

interface Arrival {
  readonly event: MeterEvent;
  /** When it arrives (sorted on: event time plus jitter, or later for a late reset and a re-send). */
  readonly at: number;
}

const roundThousandths = (v: number): number => Math.round(v * 1000) / 1000;

/** An asset's readings from its moves, with arrival times (jitter from `rnd`). */
function readings(a: AssetRecord, km: boolean, moves: readonly Move[], calendar: PeriodCalendar, jitter: number, rnd: () => number, precise: boolean): Arrival[] {
  const scale = km ? 100 : 1;
  const round3 = precise ? (x: number) => x : roundThousandths;
  let t = T0 + Math.floor(rnd() * 20) * SECOND;
  let v = round3(1000 + rnd() * 5000);
  const out: Arrival[] = [];
  const emit = (e: MeterEvent, at = e.eventTime + rnd() * jitter): void => void out.push({ event: e, at });
  emit(meter(a, t, v, { km }));
  for (const m of moves) {
    switch (m.k) {
      case 'tick':
      case 'gap':
        t += m.dt;
        v = round3(v + (m.rate * scale * m.dt) / HOUR);
        emit(meter(a, t, v, { km }));
        break;
      case 'boundary': {
        const p = calendar.periodFrom(t);
        const next = p && p.end > t ? p.end : t + HOUR;
        v = round3(v + (0.5 * scale * (next - t)) / HOUR);
        t = next;
        emit(meter(a, t, v, { km }));
        break;
      }
      case 'same':
        t += 10 * SECOND;
        emit(meter(a, t, v, { km }));
        break;
      case 'zero':
        t += 10 * SECOND;
        emit(meter(a, t, 0, { km }));
        break;
      case 'equalTime':
        emit(meter(a, t, round3(v + 0.001 + rnd() * 0.01), { km }));
        break;
      case 'noMeter':
        t += 10 * SECOND;
        emit(meter(a, t, undefined, { km }));
        break;
      case 'otherMeter':
        t += 10 * SECOND;
        emit(meter(a, t, v, { km: !km }));
        break;
      case 'resendLast':
      case 'resendOld': {
        const pick = m.k === 'resendLast' ? out[out.length - 1] : out[Math.floor(rnd() * out.length)];
        if (pick) emit(pick.event, t + rnd() * jitter + SECOND);
        break;
      }
      case 'stall':
        t += m.dt;
        emit(meter(a, t, v, { km }));
        break;
      case 'idleJump': {
        t += m.dt;
        emit(meter(a, t, v, { km }));
        t += 10 * SECOND;
        const shown = round3(v + (m.by * scale * m.dt) / HOUR);
        if (m.stays) v = shown;
        emit(meter(a, t, shown, { km }));
        break;
      }
      case 'limit': {
        if (m.idle > 0) emit(meter(a, (t += m.idle), v, { km }));
        const dt = m.n * (km ? 120 : 24) * SECOND;
        t += dt;
        // 200 km/h or 1 h/h, × 1.05, + 1 km or 0.1 h (meter-hygiene.ts): a whole number of thousandths at these times.
        v = roundThousandths(v + Math.round(((dt / HOUR) * (km ? 200 : 1) * 1.05 + (km ? 1 : 0.1)) * 1000) / 1000);
        emit(meter(a, t, v, { km }));
        break;
      }
      case 'spike':
      case 'rollback': {
        t += 10 * SECOND;
        const shown = m.k === 'spike' ? v + m.by : v - m.by;
        if (m.stays) v = shown;
        emit(meter(a, t, shown, { km }));
        break;
      }
      case 'reset': {
        // The new meter from `back` ago, declared now (late when `back` is beyond the lateness).
        const at = t - m.back;
        emit(meter(a, at, m.to, { km, reset: true }), t + rnd() * jitter);
        v = round3(m.to + (0.5 * scale * m.back) / HOUR);
        t += 10 * SECOND;
        emit(meter(a, t, v, { km }));
        break;
      }
    }
  }
  return out;
}

/** A stored state to start from: the pure rule's after a few readings, as an older version or another configuration left it. */
type Start = 'none' | 'otherCalendar' | 'heldReleased' | 'noCal' | 'oldHygiene' | 'otherMeter' | 'pendingReset' | 'extraField' | 'morePeriods' | 'confirmedLater' | 'issueOnly';

function startState(kind: Start, a: AssetRecord, km: boolean, options: UsageRuleOptions): unknown {
  if (kind === 'none') return undefined;
  const calendar = kind === 'otherCalendar' ? (options.calendar === CALENDARS.utc ? CALENDARS.berlin : CALENDARS.utc) : options.calendar;
  // More periods than kept: written under a larger keepPeriods.
  const rule = createUsageRule({ ...options, calendar: calendar as PeriodCalendar, ...(kind === 'morePeriods' ? { keepPeriods: 36 } : {}) });
  const t = T0 - 40 * DAY;
  const events = [meter(a, t, 500, { km }), meter(a, t + 10 * DAY, 520, { km }), meter(a, t + 35 * DAY, 600, { km })];
  if (kind === 'morePeriods') events.unshift(meter(a, t - 100 * DAY, 100, { km }), meter(a, t - 70 * DAY, 200, { km }), meter(a, t - 40 * DAY, 300, { km }));
  if (kind === 'pendingReset') events.push(meter(a, t + 35 * DAY + 10 * SECOND, 3, { km, reset: true }));
  const r = simulateRules([rule], events.map((event) => ({ event, asset: a, destination: 'erp' })));
  const f = kind === 'pendingReset' ? r : flushRules([rule], r.states, new Map([[a.erpAssetId, { asset: a, destination: 'erp' }]]), 0);
  let state = f.states.get(a.erpAssetId)?.depreciation;
  if (state === undefined) return undefined;
  if (kind === 'heldReleased') {
    // Held a while under another calendar (readings counted, their usage kept), then the calendar set back: the rule files it at its next step.
    const other = createUsageRule({ ...options, calendar: (options.calendar === CALENDARS.utc ? CALENDARS.berlin : CALENDARS.utc) as PeriodCalendar });
    const held = simulateRules([other], [meter(a, t + 36 * DAY, 610, { km }), meter(a, t + 38 * DAY, 640, { km })].map((event) => ({ event, asset: a, destination: 'erp' })), { initial: new Map([[a.erpAssetId, { depreciation: state }]]) });
    state = flushRules([other], held.states, new Map([[a.erpAssetId, { asset: a, destination: 'erp' }]]), 0).states.get(a.erpAssetId)?.depreciation;
  }
  const s = JSON.parse(JSON.stringify(state)) as Record<string, unknown> & UsageState;
  const mutable = s as { cal?: string; km?: boolean; hours?: { hygiene: Record<string, unknown> }; extra?: number };
  if (kind === 'noCal') delete mutable.cal;
  if (kind === 'oldHygiene' && mutable.hours) {
    delete mutable.hours.hygiene.confirmedAt;
    delete mutable.hours.hygiene.stallFlagged;
  }
  if (kind === 'otherMeter') {
    if (km) delete mutable.km;
    else mutable.km = true;
  }
  if (kind === 'extraField') mutable.extra = 1;
  // Confirmed after the latest reading (no version wrote this: an odd input).
  if (kind === 'confirmedLater' && mutable.hours) mutable.hours.hygiene.confirmedAt = T0 + 2 * MINUTE;
  // Nothing counted yet but a reading set aside (no version wrote this either).
  if (kind === 'issueOnly') return { order: { pending: [] }, meterIssue: 'old', ...(km ? { km: true } : {}) };
  return s;
}

const scenario = fc.record({
  calendar: fc.constantFrom('berlin', 'utc', 'stJohns', 'days'),
  lateness: fc.constantFrom(0, 30 * SECOND, 10 * MINUTE),
  // Fewer than the config allows (2) too: as a program may set it.
  keepPeriods: fc.constantFrom(0, 1, 2, 2, 3, 3, 36, 36),
  filtered: fc.boolean(),
  jitter: fc.constantFrom(0, 0.5, 2),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  assets: fc.array(
    fc.record({
      which: fc.constantFrom(HOURS_ASSET, KM_ASSET, OTHER_SITE),
      start: fc.constantFrom<Start>('none', 'none', 'none', 'otherCalendar', 'heldReleased', 'noCal', 'oldHygiene', 'otherMeter', 'pendingReset', 'extraField', 'morePeriods', 'confirmedLater', 'issueOnly'),
      // Meter values in thousandths (as the benchmark's), or with more decimals than rounding keeps.
      precise: fc.boolean(),
      moves: fc.array(moveArb, { minLength: 1, maxLength: 60 }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;

/** The oracle's steps for a scenario: the assets' readings interleaved by arrival, with restarts, evictions and watermarks. */
function scenarioSteps(sc: Scenario, options: UsageRuleOptions): OracleStep[] {
  let seed = sc.seed;
  const rnd = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const steps: OracleStep[] = [];
  const all: (Arrival & { asset: AssetRecord })[] = [];
  sc.assets.forEach((spec, n) => {
    // Each asset its own record (its own id), of the kind drawn.
    const a = { ...spec.which, erpAssetId: `${spec.which.erpAssetId}-${n}` };
    const km = meterOf(a) === 'km';
    const stored = startState(spec.start, a, km, options);
    if (stored !== undefined) steps.push({ load: a, state: stored });
    for (const r of readings(a, km, spec.moves, options.calendar, sc.jitter * options.allowedLatenessMs + (sc.jitter > 1 ? 20 * SECOND : 0), rnd, spec.precise)) all.push({ ...r, asset: a });
  });
  all.sort((x, y) => x.at - y.at);
  for (const { event, asset: a } of all) {
    steps.push({ event, asset: a });
    const x = rnd();
    if (x < 0.05) steps.push({ roundTrip: a });
    else if (x < 0.1) steps.push({ evict: a });
    else if (x < 0.15) steps.push({ flush: event.eventTime + Math.floor(rnd() * 3) * options.allowedLatenessMs, asset: a });
    else if (x < 0.17) steps.push({ flush: undefined, asset: a });
  }
  for (const a of new Set(all.map((r) => r.asset))) steps.push({ flush: undefined, asset: a });
  return steps;
}

function optionsOf(sc: Scenario): UsageRuleOptions {
  return {
    calendar: CALENDARS[sc.calendar] as PeriodCalendar,
    allowedLatenessMs: sc.lateness,
    keepPeriods: sc.keepPeriods,
    meterOf,
    ...(sc.filtered ? { appliesTo: S1_ONLY } : {}),
  };
}

const ownedOf = (options: UsageRuleOptions): OwnedUsageRule => createUsageRule(options).owned?.() as OwnedUsageRule;

describe('usage rule, owned form: the pure rule is the oracle', () => {
  it('property: any stream of readings with the rule’s special cases, any arrival order, restarts, evictions and watermarks', () => {
    let fast = 0;
    let events = 0;
    fc.assert(
      fc.property(scenario, (sc) => {
        const options = optionsOf(sc);
        const steps = scenarioSteps(sc, options);
        const owned = ownedOf(options);
        compareOwned(createUsageRule(options), owned, steps);
        const n = steps.filter((s) => 'event' in s || 'flush' in s).length;
        events += n;
        fast += n - owned.fallbacks;
      }),
      // USAGE_OWNED_RUNS=5000 for a longer search.
      { numRuns: Number(process.env.USAGE_OWNED_RUNS ?? 400) },
    );
    // Plain readings are most steps: the fast path decided a good share, not only the pure rule
    // (the rest: the rare cases, a 10 min lateness filling the slot, keepPeriods under 2, …).
    expect(fast / events).toBeGreaterThan(0.3);
  });

  it('the benchmark’s stream: readings every 10 s per asset, monthly in Berlin across a month’s end, arrival beyond the lateness, re-sends', () => {
    const rule = benchRule();
    for (const seed of [1, 2, 3]) {
      const steps = streamSteps(benchMeterMessages(20_000, 200, Date.parse('2026-10-31T22:40:00Z'), seed), decode, { seed, jitterMs: 45_000 });
      const r = compareOwned(rule, rule.owned?.() as OwnedUsageRule, steps);
      expect(r.late).toBeGreaterThan(0);
    }
  });

  it('the benchmark’s stream in order within a month: every reading on the fast path', () => {
    const rule = benchRule();
    const owned = rule.owned?.() as OwnedUsageRule;
    const steps = streamSteps(benchMeterMessages(20_000, 200, Date.parse('2026-11-10T00:00:00Z'), 0), decode, { jitterMs: 25_000 });
    compareOwned(rule, owned, steps);
    expect(owned.fallbacks).toBe(0);
  });
});

/**
 * Dense readings: a meter every second or two (the MQTT benchmark's publisher: one reading per
 * asset per second), so that a lateness of 30 s keeps about 30 pending per asset — more than the
 * slot's first size, so the slot grows while other assets hold readings in theirs — and a lateness
 * of 90 s more than it may hold (the pure form, and back to the columns once fewer are pending).
 */
const dense = fc.record({
  lateness: fc.constantFrom(10 * SECOND, 30 * SECOND, 30 * SECOND, 60 * SECOND, 90 * SECOND),
  every: fc.constantFrom(SECOND, SECOND, 2 * SECOND),
  // Arrival later than event time by up to this share of the lateness (beyond it: late readings).
  jitter: fc.constantFrom(0, 0.3, 0.9, 1.5),
  assets: fc.integer({ min: 2, max: 12 }),
  readings: fc.integer({ min: 10, max: 120 }),
  // From 10 November, or across the month's end in Berlin (23:00 UTC on 30 November).
  start: fc.constantFrom(Date.parse('2026-11-10T00:00:00Z'), Date.parse('2026-11-30T22:59:00Z')),
  precise: fc.boolean(),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
});

type Dense = typeof dense extends fc.Arbitrary<infer S> ? S : never;

const denseOptions = (d: Pick<Dense, 'lateness'>): UsageRuleOptions => ({ calendar: CALENDARS.berlin as PeriodCalendar, allowedLatenessMs: d.lateness, keepPeriods: 36, meterOf });

/** The oracle's steps for dense readings of many assets interleaved by arrival, with re-sends, restarts, evictions and watermarks now and then. */
function denseSteps(d: Dense, chores = true, prefix = 'FA-D'): OracleStep[] {
  let seed = d.seed;
  const rnd = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const all: { event: MeterEvent; asset: AssetRecord; at: number }[] = [];
  for (let n = 0; n < d.assets; n++) {
    const a = asset(`${prefix}${n}`);
    let v = 200 + rnd() * 5000;
    let t = d.start + Math.floor(rnd() * 5) * SECOND;
    for (let k = 0; k < d.readings; k++) {
      v += d.every / HOUR;
      const e = meter(a, t, d.precise ? v : roundThousandths(v));
      all.push({ event: e, asset: a, at: t + rnd() * d.jitter * d.lateness });
      if (rnd() < 0.03) all.push({ event: e, asset: a, at: t + rnd() * d.lateness });
      t += d.every;
    }
  }
  all.sort((x, y) => x.at - y.at);
  const steps: OracleStep[] = [];
  for (const { event, asset: a } of all) {
    steps.push({ event, asset: a });
    if (!chores) continue;
    const x = rnd();
    if (x < 0.01) steps.push({ roundTrip: a });
    else if (x < 0.02) steps.push({ evict: a });
    else if (x < 0.03) steps.push({ flush: event.eventTime + Math.floor(rnd() * 2) * d.lateness, asset: a });
  }
  if (chores) for (const a of new Set(all.map((r) => r.asset))) steps.push({ flush: undefined, asset: a });
  return steps;
}

describe('usage rule, owned form: dense readings (more pending than the slot held at first)', () => {
  it('property: many assets reading every second or two, out of order within the lateness and beyond it, re-sends, restarts, evictions and watermarks', () => {
    fc.assert(
      fc.property(dense, (d) => {
        compareOwned(createUsageRule(denseOptions(d)), ownedOf(denseOptions(d)), denseSteps(d));
      }),
      { numRuns: Number(process.env.USAGE_OWNED_RUNS ?? 100) },
    );
  });

  const d: Dense = { lateness: 30 * SECOND, every: SECOND, jitter: 0.9, assets: 40, readings: 90, start: Date.parse('2026-11-10T00:00:00Z'), precise: false, seed: 5 };

  it('a reading a second with 30 s lateness, out of order within it: about 30 pending per asset, and every reading on the fast path', () => {
    const owned = ownedOf(denseOptions(d));
    const steps = denseSteps(d, false);
    compareOwned(createUsageRule(denseOptions(d)), owned, steps);
    expect(owned.fallbacks).toBe(0);
    const pending = (owned.save(0) as UsageState).order?.pending.length ?? 0;
    expect(pending).toBeGreaterThan(20);
  });

  it('states with many pending readings loaded into a fresh owned form (the slot grows on load) go on on the fast path', () => {
    const options = denseOptions(d);
    const rule = createUsageRule(options);
    const steps = denseSteps(d, false);
    const half = Math.floor(steps.length / 2);
    // The pure rule's states half way, stored as JSON.
    const states = new Map<string, unknown>();
    for (const s of steps.slice(0, half)) {
      if (!('event' in s)) continue;
      const id = s.asset.erpAssetId;
      states.set(id, rule.apply(states.get(id) as UsageState | undefined, s.event, { asset: s.asset, destination: 'erp', now: 0 }).state);
    }
    const loads: OracleStep[] = [];
    for (const s of steps.slice(0, half)) {
      if (!('event' in s) || !states.has(s.asset.erpAssetId)) continue;
      loads.push({ load: s.asset, state: JSON.parse(JSON.stringify(states.get(s.asset.erpAssetId))) as unknown });
      states.delete(s.asset.erpAssetId);
    }
    expect(Math.max(...loads.map((l) => ('state' in l ? ((l.state as UsageState).order?.pending.length ?? 0) : 0)))).toBeGreaterThan(20);
    const owned = ownedOf(options);
    compareOwned(rule, owned, [...loads, ...steps.slice(half)]);
    expect(owned.fallbacks).toBe(0);
  });

  it('more pending than the slot may hold (90 s lateness): the pure rule decides, and the columns take the asset back after', () => {
    const late: Dense = { ...d, assets: 10, lateness: 90 * SECOND, jitter: 0, readings: 200 };
    const steps = denseSteps(late, false);
    // Then readings 2 min apart, the meter going on from each asset's last: fewer pending again.
    const last = new Map<string, MeterEvent>();
    for (const s of steps) if ('event' in s) last.set(s.asset.erpAssetId, s.event as MeterEvent);
    const after = (k: number): OracleStep[] =>
      [...last.values()].map((e) => {
        const a = asset(e.ids[0]?.value as string);
        return { event: meter(a, e.eventTime + k * 2 * MINUTE, roundThousandths((e.operatingHours as number) + (k * 2) / 60)), asset: a };
      });
    const fallbacks = (more: number): number => {
      const owned = ownedOf(denseOptions(late));
      compareOwned(createUsageRule(denseOptions(late)), owned, [...steps, ...Array.from({ length: more }, (_, k) => after(k + 1)).flat()]);
      return owned.fallbacks;
    };
    const full = fallbacks(0);
    expect(full).toBeGreaterThan(0);
    expect(fallbacks(3)).toBeGreaterThan(full);
    expect(fallbacks(6)).toBe(fallbacks(3));
  });
});

/** The slot's first size (usage-rule-owned.ts `SLOT`) and the bytes a pending reading takes there. */
const FIRST_SLOT = 8;
const READING_BYTES = 16;

/** The owned form as `createUsageRule(options).owned` builds it, but for a budget of `budget` bytes for the pending columns. */
function ownedWithBudget(options: UsageRuleOptions, budget: number): OwnedUsageRule {
  const rule = createUsageRule(options);
  return ownedUsageRule({ rule, options, held: (s) => filedUnderOtherCalendar(s, options.calendar), kmFor: (a) => options.meterOf?.(a) === 'km', bufferBudgetBytes: budget });
}

/**
 * `owned` for the oracle, the memory bound checked after every call that can grow it (a slot
 * grown past its first size: the pending columns within `budget`); the slot's sizes pushed to `slots`.
 */
function bounded(owned: OwnedUsageRule, budget: number, slots: number[]): OwnedRule {
  const check = (): void => {
    slots.push(owned.slotSize);
    if (owned.slotSize > FIRST_SLOT && owned.pendingCells * READING_BYTES > budget) throw new Error(`pending columns of ${owned.pendingCells * READING_BYTES} bytes (slot ${owned.slotSize}) over the budget of ${budget}`);
  };
  return {
    name: owned.name,
    kinds: owned.kinds,
    load: (a, stored) => {
      owned.load(a, stored);
      check();
    },
    save: (a) => owned.save(a),
    saveJson: (a) => owned.saveJson?.(a),
    drop: (a) => owned.drop(a),
    apply: (a, event, ctx, out) => {
      const flags = owned.apply(a, event, ctx, out);
      check();
      return flags;
    },
    flush: (a, ctx, upTo, out) => {
      const flags = owned.flush(a, ctx, upTo, out);
      check();
      return flags;
    },
    holds: (a) => owned.holds(a),
  };
}

/** `x` and `y` interleaved (each in its order; assets' states are apart, so any interleaving is a stream). */
function interleave(x: readonly OracleStep[], y: readonly OracleStep[]): OracleStep[] {
  const out: OracleStep[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (j >= y.length || (i < x.length && i / x.length <= j / y.length)) out.push(x[i++] as OracleStep);
    else out.push(y[j++] as OracleStep);
  }
  return out;
}

describe('usage rule, owned form: the pending columns within the buffer budget', () => {
  const options = denseOptions({ lateness: 30 * SECOND });
  // A device reporting every second (about 30 pending at 30 s lateness) among assets reporting every two minutes (one at most).
  const chatty: Dense = { lateness: 30 * SECOND, every: SECOND, jitter: 0.9, assets: 1, readings: 240, start: Date.parse('2026-11-10T00:00:00Z'), precise: false, seed: 7 };
  const quiet = (assets: number, readings: number, seed: number): Dense => ({ ...chatty, every: 2 * MINUTE, assets, readings, seed });

  it('a slot the budget does not allow for every asset is not grown: the chatty asset runs on the pure form, the same decisions', () => {
    const steps = interleave(denseSteps(chatty, true, 'FA-C'), denseSteps(quiet(20, 8, 3), true, 'FA-Q'));
    // The form's first capacity (64 assets) at the first slot: no room to grow.
    const budget = 64 * FIRST_SLOT * READING_BYTES;
    const slots: number[] = [];
    const owned = ownedWithBudget(options, budget);
    compareOwned(createUsageRule(options), bounded(owned, budget, slots), steps);
    expect(Math.max(...slots)).toBe(FIRST_SLOT);
    expect(owned.pendingCells * READING_BYTES).toBeLessThanOrEqual(budget);
    expect(owned.fallbacks).toBeGreaterThan(100);
    // With the budget it is made for, the slot grows and the same stream stays on the columns.
    const roomy = ownedWithBudget(options, 64 * 32 * READING_BYTES);
    compareOwned(createUsageRule(options), roomy, steps);
    expect(roomy.slotSize).toBe(32);
    expect(roomy.fallbacks).toBeLessThan(owned.fallbacks / 10);
  });

  it('a slot grown while few assets were held shrinks as many more load: the chatty asset moves to the pure form, the same decisions', () => {
    const chattySteps = denseSteps(chatty, false, 'FA-C');
    const half = Math.floor(chattySteps.length / 2);
    const C = asset('FA-C0');
    // Few assets (4): the slot grows to 32, as the budget allows for 64.
    const first = interleave(chattySteps.slice(0, half), denseSteps(quiet(3, 6, 3), false, 'FA-Q'));
    // 200 more assets load (capacity 64 → 128 → 256: the slot 32 → 16 → 8), while the chatty asset holds about 30.
    const loads = denseSteps(quiet(200, 1, 4), false, 'FA-L');
    const after: OracleStep[] = [{ roundTrip: C }, ...interleave(chattySteps.slice(half), denseSteps(quiet(20, 4, 5), true, 'FA-L')), { flush: undefined, asset: C }];
    const budget = 64 * 32 * READING_BYTES;

    const before = ownedWithBudget(options, budget);
    compareOwned(createUsageRule(options), before, first);
    expect(before.slotSize).toBe(32);
    expect(before.fallbacks).toBe(0);
    expect(((before.save(0) as UsageState).order?.pending.length ?? 0)).toBeGreaterThan(16);

    const slots: number[] = [];
    const owned = ownedWithBudget(options, budget);
    compareOwned(createUsageRule(options), bounded(owned, budget, slots), [...first, ...loads, ...after]);
    const seen = slots.filter((s, k) => s !== slots[k - 1]);
    expect(seen).toEqual([8, 16, 32, 16, 8]);
    expect(owned.pendingCells).toBe(256 * FIRST_SLOT);
    // The chatty asset on the pure form after the loads (the quiet ones stay on the columns).
    expect(owned.fallbacks).toBeGreaterThan(half / 2);
  });

  it('property: dense streams under a small budget, many assets loading part way (the slot shrinking), the same decisions', () => {
    fc.assert(
      // The budget of a slot of 16 to 64 at the first capacity (64); 64 to 300 assets loading (the capacity at least doubled) a tenth to nine tenths in.
      fc.property(dense, fc.constantFrom(16, 16, 32, 64), fc.integer({ min: 64, max: 300 }), fc.integer({ min: 10, max: 90 }), (d, slot, more, at) => {
        const steps = denseSteps(d);
        const cut = Math.floor((steps.length * at) / 100);
        const loads = denseSteps(quiet(more, 1, d.seed), false, 'FA-L');
        const budget = 64 * slot * READING_BYTES;
        const slots: number[] = [];
        const owned = ownedWithBudget(denseOptions(d), budget);
        compareOwned(createUsageRule(denseOptions(d)), bounded(owned, budget, slots), [...steps.slice(0, cut), ...loads, ...steps.slice(cut)]);
      }),
      { numRuns: Number(process.env.USAGE_OWNED_RUNS ?? 50) },
    );
  });
});

describe('usage rule, owned form: an asset\'s meter changed (hours → km) while readings wait for the lateness', () => {
  // The pure rule's semantics (usage-edges.test.ts): waiting readings are counted on the meter they
  // were read from (the state's), by a watermark too; the new meter's first reading starts afresh
  // without them. The columns hold a meter per asset (`km`) and the asset's record may change under them.
  const id = 'FA-9';
  const onHours = asset(id);
  const onKm = asset(id, { depreciationMeter: 'km' });
  const both = (t: number, hours: number, km: number): MeterEvent => ({ ...meter(onHours, t, hours), odometerKm: km });
  const optionsFor = (lateness: number): UsageRuleOptions => ({ calendar: CALENDARS.utc as PeriodCalendar, allowedLatenessMs: lateness, keepPeriods: 36, meterOf });
  const t0 = Date.parse('2026-11-10T00:00:00Z');

  it('a watermark after the change counts them on hours in both forms; a km reading older than some of them starts the km count', () => {
    const options = optionsFor(HOUR);
    const hours: OracleStep[] = [0, 20, 40, 60, 80].map((m, i) => ({ event: both(t0 + m * MINUTE, 100 + i * 0.3, 5000 + i * 10), asset: onHours }));
    const owned = ownedOf(options);
    compareOwned(createUsageRule(options), owned, [...hours, { flush: t0 + 4 * HOUR, asset: onKm }, { roundTrip: onKm }, { event: both(t0 + 100 * MINUTE, 101.6, 5050), asset: onKm }, { flush: undefined, asset: onKm }]);
    // The owned form's own state as the pure rule's: hours counted up to the watermark, then afresh on km.
    const after = (steps: OracleStep[]): UsageState => {
      const o = ownedOf(options);
      compareOwned(createUsageRule(options), o, steps);
      return o.save(0) as UsageState;
    };
    expect(after([...hours, { flush: t0 + 4 * HOUR, asset: onKm }])).toMatchObject({ periods: { '2026-11': { units: 1.2, meterAtEnd: 101.2 } } });
    expect(after([...hours, { flush: t0 + 4 * HOUR, asset: onKm }]).km).toBeUndefined();
    const older = after([...hours, { event: both(t0 + 30 * MINUTE, 100.5, 5015), asset: onKm }, { event: both(t0 + 2 * HOUR, 102, 5060), asset: onKm }, { flush: undefined, asset: onKm }]);
    expect(older).toMatchObject({ km: true, first: [t0 + 30 * MINUTE, 5015], last: [t0 + 2 * HOUR, 5060], periods: { '2026-11': { units: 45, meterAtEnd: 5060 } } });
    expect(older.meterIssue).toBeUndefined();
  });

  it('property: readings of both meters, the asset\'s meter changed (and maybe set back) at any point, any arrival order, restarts, evictions and watermarks: the same decisions', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 30 * SECOND, 10 * MINUTE),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 120 }), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 2, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        (lateness, moves, changes, start) => {
          let seed = start;
          const rnd = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
          let t = t0;
          let h = 100;
          let km = 5000;
          const arrivals = moves.map(([dt, rate], i) => {
            t += dt * SECOND;
            h = roundThousandths(h + (rate * dt * SECOND) / HOUR);
            km = roundThousandths(km + (rate * 80 * dt * SECOND) / HOUR);
            return { event: both(t, h, km), at: t + rnd() * 1.5 * lateness, i };
          });
          arrivals.sort((x, y) => x.at - y.at || x.i - y.i);
          // The asset's record at each arrival: hours, switched at each change point (km, then back, …).
          const steps: OracleStep[] = [];
          arrivals.forEach(({ event }, n) => {
            const a = changes.filter((c) => c <= n).length % 2 === 1 ? onKm : onHours;
            steps.push({ event, asset: a });
            const x = rnd();
            if (x < 0.1) steps.push({ roundTrip: a });
            else if (x < 0.15) steps.push({ evict: a });
            else if (x < 0.35) steps.push({ flush: event.eventTime + Math.floor(rnd() * 3) * lateness, asset: changes.some((c) => c === n + 1) ? (a === onKm ? onHours : onKm) : a });
          });
          steps.push({ flush: undefined, asset: changes.length % 2 === 1 ? onKm : onHours });
          compareOwned(createUsageRule(optionsFor(lateness)), ownedOf(optionsFor(lateness)), steps);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('usage rule, owned form: what the pure rule decides', () => {
  const options: UsageRuleOptions = { calendar: CALENDARS.berlin as PeriodCalendar, allowedLatenessMs: 30 * SECOND, keepPeriods: 36, meterOf };
  const a = HOURS_ASSET;
  /** Rare readings, and the meter's value after them when it is another than before. */
  type Rare = { readonly events: readonly MeterEvent[]; readonly v?: number };
  /** The fallbacks of a stream. */
  const fallbacks = (steps: readonly OracleStep[]): number => {
    const owned = ownedOf(options);
    compareOwned(createUsageRule(options), owned, steps);
    return owned.fallbacks;
  };
  /**
   * The fallbacks `rare` takes after 30 plain readings 10 s apart (with the 5 readings after it
   * that release it), and those of the 40 plain readings after that.
   */
  function fallbacksOf(rare: (t: number, v: number) => Rare, start = Date.parse('2026-11-10T00:00:05Z')): { rare: number; after: number } {
    let t = start;
    let v = 1000;
    const plain = (n: number): OracleStep[] => Array.from({ length: n }, () => ({ event: meter(a, (t += 10 * SECOND), (v = roundThousandths(v + 0.002))), asset: a }));
    const before = plain(30);
    const r = rare(t, v);
    const special = r.events.map((event): OracleStep => ({ event, asset: a }));
    for (const e of r.events) t = Math.max(t, e.eventTime);
    // The meter goes on from where it is after (a new meter's reading), else as before.
    v = r.v ?? v;
    const releasing = plain(5);
    const after = plain(40);
    const plainOnly = fallbacks(before);
    expect(plainOnly).toBe(0);
    const withRare = fallbacks([...before, ...special, ...releasing]);
    return { rare: withRare - plainOnly, after: fallbacks([...before, ...special, ...releasing, ...after]) - withRare };
  }

  it('plain readings, exact re-sends and late readings never fall back; the rare cases do, and the asset is back on the fast path after', () => {
    // Within the lateness, late, sent again, a reading of another meter only, a zero advance.
    const common = (t: number, v: number): Rare => ({ events: [meter(a, t - 5 * SECOND, v), meter(a, t - 60 * SECOND, v - 0.5), meter(a, t, v), meter(a, t + 5 * SECOND, v, { km: true }), meter(a, t + 7 * SECOND, v)] });
    expect(fallbacksOf(common)).toEqual({ rare: 0, after: 0 });
    const cases: Record<string, (t: number, v: number) => Rare> = {
      spike: (t, v) => ({ events: [meter(a, t + 10 * SECOND, v + 500)] }),
      rollback: (t, v) => ({ events: [meter(a, t + 10 * SECOND, v - 1)] }),
      declaredReset: (t) => ({ events: [meter(a, t + 10 * SECOND, 0, { reset: true }), meter(a, t + 20 * SECOND, 0.002)], v: 0.002 }),
      lateReset: (t) => ({ events: [meter(a, t + 10 * SECOND, 0.002), meter(a, t + 20 * SECOND, 0.004), meter(a, t - 5 * SECOND, 0, { reset: true })], v: 0.004 }),
      equalTimes: (t, v) => ({ events: [meter(a, t + 10 * SECOND, v + 0.002), meter(a, t + 10 * SECOND, v + 0.003)], v: v + 0.003 }),
      stall: (t, v) => ({ events: [meter(a, t + 8 * DAY, v)] }),
    };
    for (const [name, rare] of Object.entries(cases)) {
      const r = fallbacksOf(rare);
      expect(r.rare, name).toBeGreaterThan(0);
      expect(r.after, name).toBe(0);
    }
  });

  it('a reading in the next period falls back once; the readings after it in that period do not', () => {
    // 10 s readings through midnight of 1 December in Berlin (23:00 UTC).
    expect(fallbacksOf((t, v) => ({ events: [meter(a, t + 10 * SECOND, v)] }), Date.parse('2026-11-30T22:54:05Z'))).toEqual({ rare: 0, after: 1 });
  });
});

// The benchmark's meter readings (bench/rules.ts `messages`): per asset a pair 10 s apart every
// 100 s, the hour meter advancing 10 s per 10 s, canonical JSON.
function benchMeterMessages(count: number, assets: number, start: number, resendSeed: number): RawMessage[] {
  let seed = 11 + resendSeed;
  const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const hours = Array.from({ length: assets }, () => 200 + rnd() * 5000);
  const out: RawMessage[] = [];
  for (let i = 0; i < count; i++) {
    const a = i % assets;
    const round = Math.floor(i / assets);
    if ((a + round) % 10 < 8) continue;
    hours[a] = (hours[a] as number) + 10 / 3600;
    const payload = JSON.stringify({ kind: 'meter', assetId: `tag-${a}`, eventTime: new Date(start + round * 10_000).toISOString(), operatingHours: Math.round((hours[a]) * 1000) / 1000 });
    out.push({ source: 'bench', channel: 'bench', payload, receivedAt: start });
    // A client's retry now and then: the same reading again (keepLast: a duplicate, not late).
    if (resendSeed > 0 && rnd() < 0.05) out.push({ source: 'bench', channel: 'bench', payload, receivedAt: start });
  }
  return out;
}


/** The benchmark's usage rule (bench/rules.ts `rulesConfig`: usage per month in Berlin, 30 s lateness). */
function benchRule() {
  const rule = createRules(rulesSchema.parse({ allowedLateness: '30s', depreciation: { timeZone: 'Europe/Berlin' } })).find((r) => r.name === 'depreciation');
  if (!rule) throw new Error('no depreciation rule');
  return rule;
}
