/**
 * Rules benchmark: the ingest path (canonical decode → validate → identify → rules → one SQLite
 * transaction per batch) with the business rules on — 1,000 zones, 20 rules per asset (location
 * sync with zones, 16 threshold rules, 2 service intervals, usage per period) — as a ratio to the
 * same ingest with no rules, measured in the same run (target ≥ 0.8).
 *
 * The store runs with `synchronous: normal`, so commits are cheap and the rules' share of the cost
 * shows; runs alternate (without, with, …) and the medians are compared.
 * @module
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { rulesSchema, type RulesConfigInput } from '../src/config/rules-schema.js';
import { IdentityIndex } from '../src/core/identity/resolver.js';
import type { CanonicalEvent } from '../src/core/model/events.js';
import type { RawMessage } from '../src/core/model/messages.js';
import { createCanonicalDecoder } from '../src/core/normalize/canonical-decoder.js';
import { createRules } from '../src/core/rules/index.js';
import type { Rule } from '../src/core/rules/rule.js';
import { ownedForm, type OwnedRule } from '../src/core/rules/owned.js';
import type { DeliveryIntent } from '../src/core/model/delivery.js';
import type { SimulationStep } from '../src/core/rules/simulate.js';
import type { AssetRecord } from '../src/core/model/assets.js';
import { DecoderRegistry, Ingestor, type IngestorOptions } from '../src/engine/ingestor.js';
import { systemClock } from '../src/ports/clock.js';
import { tuneV8 } from '../src/runtime/v8-tuning.js';
import { withTempStore } from '../test/helpers/temp-store.js';
import { startBenchBroker } from './broker.js';
import { watchHolds } from './event-loop-hold.js';
import { benchPipelineIngest, useBroker } from './mqtt-ingest.js';
import { CompactRules } from './rules-compact.js';
import { splitRuns } from './rules-split.js';

export interface RulesBenchOptions {
  /** Events per run. @default 100000 */
  readonly events?: number;
  /** Assets sending them. @default 1000 */
  readonly assets?: number;
  /** Runs per variant (medians are compared; the machine is noisy). @default 5 */
  readonly runs?: number;
}

export interface RulesBenchResult {
  readonly events: number;
  readonly zones: number;
  readonly rulesPerAsset: number;
  readonly withoutRulesEventsPerSecond: number;
  readonly withRulesEventsPerSecond: number;
  /** with / without (target ≥ 0.8). */
  readonly ratio: number;
  /** The default configuration: location sync on, no zones, no maintenance or depreciation rules. */
  readonly defaultConfigEventsPerSecond: number;
  /** with / default configuration. */
  readonly ratioToDefault: number;
  /**
   * Rules that do no work but change their state on every event, like the real ones (their
   * reorder buffers change with every sample): what holding, logging and checkpointing rule
   * state costs by itself. with-no-op / without is the ratio the real rules could reach at best.
   */
  readonly noopStatefulEventsPerSecond: number;
  readonly noopRatio: number;
  /**
   * Rules that are called for every event like the real ones but leave their state as it is
   * (after the first event): what calling the rules and holding their state costs, with nothing
   * logged or checkpointed. The step from this to the no-op ratio is the cost of recording a
   * state change per event (the ingest log and the checkpoints), which the real rules' reorder
   * buffers make on every event.
   */
  readonly unchangedEventsPerSecond: number;
  readonly unchangedRatio: number;
  /**
   * The same rules folded over the same events, decoded and identified beforehand, as the
   * ingestor folds them (each rule in its owned form: core/rules/owned.ts) but with no ingest
   * around them (no store, log or checkpoints): the rules' own work.
   */
  readonly rulesAloneEventsPerSecond: number;
  /** The same, with each rule in its pure form (a new sub-state per event): what the owned forms save. */
  readonly pureRulesAloneEventsPerSecond: number;
  /** without / (without + rules alone), in time per event: the best ratio if the engine around the rules cost nothing. */
  readonly rulesAloneCeiling: number;
  /**
   * A compact design of the same rules (bench/rules-compact.ts: a measurement, not the product's
   * semantics), folded over the same pre-decoded events: its µs per event, its deliveries by
   * operation (to compare with the real rules'), and the µs per event with each message's payload
   * also framed into a log buffer, as the ingest log does. What a rewrite of the rules could cost.
   */
  readonly compact: { readonly usPerEvent: number; readonly withLogUsPerEvent: number; readonly deliveries: Readonly<Record<string, number>> };
  /**
   * The rules on a thread of their own (bench/rules-split.ts: a measurement, not the product): the
   * ingest without rules plus a stand-in rule that hands every event to a worker thread running the
   * real rules, each run right after a run without rules. The ingest thread's µs per event and its
   * ratio to the run before it (medians), the rules thread's busy time per event, and whether it kept
   * up (how long after the ingest it finished, ms, median).
   */
  readonly split: { readonly ingestUs: number; readonly ratio: number; readonly rulesThreadUs: number; readonly lagMs: number; readonly deliveries: number };
  readonly workOrders: number;
  readonly locationUpdates: number;
  /** The longest the event loop was held at once in a run, ms (median over the runs): without rules, and with them. */
  readonly longestHoldWithoutMs: number;
  readonly longestHoldWithMs: number;
}

const SENSORS = ['coolantTemp', 'oilPressure', 'hydraulicTemp', 'vibration'] as const;
const ZONES = 1000;
const ORIGIN = { lat: 50, lng: 10 };

/** 1,000 zones over an area: circles and squares of 50–400 m. */
function zones(lat0 = ORIGIN.lat, lng0 = ORIGIN.lng, dLat = 0.5, dLng = 0.5): NonNullable<RulesConfigInput['zones']> {
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const inline = Array.from({ length: ZONES }, (_, i) => {
    const lat = lat0 + rnd() * dLat;
    const lng = lng0 + rnd() * dLng;
    const size = 50 + rnd() * 350;
    if (i % 2) return { name: `z${i}`, locationCode: `L${i}`, circle: { lat, lng, radiusM: size } };
    const d = size / 111_320;
    return { name: `z${i}`, locationCode: `L${i}`, polygon: [[lng - d, lat - d], [lng + d, lat - d], [lng + d, lat + d], [lng - d, lat + d]] as [number, number][] };
  });
  return { inline, enterDwellMs: '30s', exitDwellMs: '60s', hysteresisM: 20 };
}

export function rulesConfig(): RulesConfigInput {
  const thresholds = Array.from({ length: 16 }, (_, i) => {
    const sensor = SENSORS[i % SENSORS.length] as string;
    return i % 2
      ? { name: `t${i}-high`, sensor, above: 90 + i, clearBelow: 85 + i, for: '5m', severity: i % 3 ? 'warning' : 'critical', cooldown: '1h' }
      : { name: `t${i}-low`, sensor, below: 5 + i / 10, clearAbove: 6 + i / 10, for: '2m', cooldown: '1h' };
  });
  return {
    allowedLateness: process.env.BENCH_RULES_LATENESS ?? '30s',
    location: { minDistanceM: 100, heartbeatMs: '1h' },
    zones: zones(),
    maintenance: { thresholds, serviceIntervals: [{ name: 'service-250h', everyHours: 250, dueSoonHours: 10 }, { name: 'service-1000h', everyHours: 1000 }] },
    depreciation: { timeZone: 'Europe/Berlin' },
  } as RulesConfigInput;
}

/** The same stream for every run: per asset, events 10 s apart (positions, sensors, meters). */
export function messages(count: number, assets: number, start: number): RawMessage[] {
  let seed = 11;
  const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  const pos = Array.from({ length: assets }, () => ({ lat: ORIGIN.lat + rnd() * 0.5, lng: ORIGIN.lng + rnd() * 0.5, hours: 200 + rnd() * 5000 }));
  const out: RawMessage[] = [];
  for (let i = 0; i < count; i++) {
    const a = i % assets;
    const p = pos[a] as { lat: number; lng: number; hours: number };
    const round = Math.floor(i / assets);
    const eventTime = start + round * 10_000;
    const mix = (a + round) % 10;
    const kind = mix < 3 ? 'position' : mix < 8 ? 'sensor' : 'meter';
    let body: Record<string, unknown>;
    if (kind === 'position') {
      p.lat += (rnd() - 0.5) * 0.0005;
      p.lng += (rnd() - 0.5) * 0.0005;
      body = { lat: p.lat, lng: p.lng };
    } else if (kind === 'sensor') {
      // Normal operation between 20 and 85, with a rare excursion that trips a rule.
      body = { values: Object.fromEntries(SENSORS.map((s) => [s, { value: rnd() < 0.002 ? Math.round(rnd() * 1000) / 10 : 20 + Math.round(rnd() * 650) / 10 }])) };
    } else {
      p.hours += 10 / 3600;
      body = { operatingHours: Math.round(p.hours * 1000) / 1000 };
    }
    out.push({ source: 'bench', channel: 'bench', payload: JSON.stringify({ kind, assetId: `tag-${a}`, eventTime: new Date(eventTime).toISOString(), ...body }), receivedAt: eventTime });
  }
  return out;
}

/**
 * One in-process ingest of `msgs` with `rules` into a fresh store (`extra`: other ingestor
 * options): events per second, deliveries by operation, the longest event-loop hold, and the
 * longest a batch's oldest message waited for its commit (what a source waits for its ack).
 */
export async function ingestRun(
  msgs: readonly RawMessage[],
  assets: number,
  rules: readonly Rule[],
  extra: Partial<IngestorOptions> = {},
  /** Submit at this rate (a source sending steadily) rather than all at once (a backlog). */
  paceEventsPerSecond?: number,
): Promise<{ eps: number; deliveries: Map<string, number>; holdMs: number; longestWaitMs: number }> {
  return withTempStore({ synchronous: 'normal' }, async (store) => {
    await store.upsertAssets(
      Array.from({ length: assets }, (_, a) => ({
        asset: { erpAssetId: `EQ-${a}`, erpModule: 'maintenance', attributes: { site: 'S1', cost: '100000', expectedUnits: '10000' } },
        identifiers: [{ type: 'tag' as const, value: `tag-${a}`, erpAssetId: `EQ-${a}` }],
      })),
    );
    const identity = new IdentityIndex(await store.listAssets());
    let longestWait = 0;
    const ingestor = new Ingestor({
      store,
      clock: systemClock,
      decoders: new DecoderRegistry().register('bench', createCanonicalDecoder()),
      rules,
      identity: () => identity,
      validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0 },
      defaultDestination: 'erp',
      maxBatch: Number(process.env.BENCH_MAX_BATCH ?? 1000), // the config default
      maxWaitMs: 5,
      onBatch: (t) => (longestWait = Math.max(longestWait, t.waitSeconds ?? 0)),
      ...extra,
    });
    // The commit worker starts on a store's first commit: started before the clock, as a running
    // service has it (its start, ~50 ms, would otherwise count against the faster variant most).
    await store.commitIngest({ states: [], deliveries: [], quarantine: [], accepted: 0 });
    const holds = watchHolds();
    const started = performance.now();
    const pending: Promise<unknown>[] = [];
    if (paceEventsPerSecond === undefined) for (let i = 0; i < msgs.length; i += 500) pending.push(ingestor.submit(msgs.slice(i, i + 500)));
    else {
      // A source at a steady rate: 100 messages at a time, on schedule (late turns catch up).
      for (let i = 0; i < msgs.length; i += 100) {
        const due = started + (i / paceEventsPerSecond) * 1000;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        pending.push(ingestor.submit(msgs.slice(i, i + 100)));
      }
    }
    await Promise.all(pending);
    await ingestor.flush();
    const elapsed = performance.now() - started;
    const holdMs = holds.stop();
    if (ingestor.stats.quarantined) throw new Error(`${ingestor.stats.quarantined} benchmark events were quarantined`);
    const deliveries = new Map<string, number>();
    for (const d of await store.listDeliveries({ limit: 10_000_000 })) deliveries.set(d.operation, (deliveries.get(d.operation) ?? 0) + 1);
    return { eps: msgs.length / (elapsed / 1000), deliveries, holdMs, longestWaitMs: longestWait * 1000 };
  });
}

/**
 * Stand-ins for the configured rules (same names and event kinds) that do no work but return a new
 * state for every event, so every message is logged and every asset checkpointed as with the real rules.
 */
export function noopStatefulRules(real: readonly Rule[]): Rule[] {
  return real.map((r) => ({ name: r.name, kinds: r.kinds, apply: (_s: unknown, e: CanonicalEvent) => ({ state: { t: e.eventTime }, deliveries: [] }) }));
}

/**
 * Stand-ins for the configured rules that are called as they are but change their state only on an
 * asset's first event (then return the state they were given): nothing is logged or checkpointed
 * after that.
 */
export function unchangedStateRules(real: readonly Rule[]): Rule[] {
  return real.map((r) => ({ name: r.name, kinds: r.kinds, apply: (s: unknown, e: CanonicalEvent) => ({ state: s ?? { t: e.eventTime }, deliveries: [] }) }));
}

/** The messages decoded and identified once, as the steps the rules fold over. */
function decodedSteps(msgs: readonly RawMessage[], assets: number): SimulationStep[] {
  const decode = createCanonicalDecoder();
  const records = Array.from({ length: assets }, (_, a) => ({ erpAssetId: `EQ-${a}`, erpModule: 'maintenance', attributes: { site: 'S1', cost: '100000', expectedUnits: '10000' } }));
  return msgs.flatMap((m) => {
    const d = decode(m);
    if (!d.ok) throw new Error(`benchmark message did not decode: ${d.reason}`);
    return d.events.map((event) => ({ event, asset: records[Number((event.raw as { assetId: string }).assetId.slice(4))] as AssetRecord, destination: 'erp' }));
  });
}

/**
 * Rules alone, as the ingestor runs them: each rule in its owned form, each asset known to the rules
 * by a small index (looked up by id per event, as the ingestor does), deliveries collected; over
 * pre-decoded steps; events per second.
 */
function ownedAloneRun(steps: readonly SimulationStep[], rules: readonly Rule[]): number {
  const forms = rules.map(ownedForm);
  const byKind = new Map<string, OwnedRule[]>();
  for (const form of forms) for (const kind of form.kinds) byKind.set(kind, [...(byKind.get(kind) ?? []), form]);
  const index = new Map<string, number>();
  const now = Date.now();
  const out: DeliveryIntent[] = [];
  const started = performance.now();
  for (let n = 0; n < steps.length; n++) {
    const { event, asset, destination } = steps[n] as SimulationStep;
    const list = byKind.get(event.kind);
    if (!list) continue;
    let a = index.get(asset.erpAssetId);
    if (a === undefined) {
      index.set(asset.erpAssetId, (a = index.size));
      for (const form of forms) form.load(a, undefined);
    }
    const ctx = { asset, destination, now };
    for (let r = 0; r < list.length; r++) (list[r] as OwnedRule).apply(a, event, ctx, out);
  }
  const eps = steps.length / ((performance.now() - started) / 1000);
  if (out.length === 0) throw new Error('the owned rules-alone run delivered nothing: the benchmark stream is wrong');
  return eps;
}

/**
 * Rules alone in their pure form: the fold the ingestor did before owned forms (rules by event
 * kind, each asset's state document updated, deliveries collected), over pre-decoded steps; events
 * per second.
 */
function rulesAloneRun(steps: readonly SimulationStep[], rules: readonly Rule[]): number {
  const byKind = new Map<string, Rule[]>();
  for (const rule of rules) for (const kind of rule.kinds) byKind.set(kind, [...(byKind.get(kind) ?? []), rule]);
  const docs = new Map<string, Record<string, unknown>>();
  const now = Date.now();
  let deliveries = 0;
  const started = performance.now();
  for (const { event, asset, destination } of steps) {
    const list = byKind.get(event.kind);
    if (!list) continue;
    let doc = docs.get(asset.erpAssetId);
    if (!doc) docs.set(asset.erpAssetId, (doc = {}));
    const ctx = { asset, destination, now };
    for (const rule of list) {
      const r = rule.apply(doc[rule.name], event, ctx);
      doc[rule.name] = r.state;
      deliveries += r.deliveries.length;
    }
  }
  const eps = steps.length / ((performance.now() - started) / 1000);
  if (deliveries === 0) throw new Error('the rules-alone run delivered nothing: the benchmark stream is wrong');
  return eps;
}

/** The middle value (the upper one of an even count): what the benchmarks compare across alternating runs. */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function benchRules(options: RulesBenchOptions = {}): Promise<RulesBenchResult> {
  const count = options.events ?? 100_000;
  const assets = options.assets ?? 1000;
  const runs = options.runs ?? 5;
  const config = rulesSchema.parse(rulesConfig());
  const withRules = createRules(config);
  const msgs = messages(count, assets, Date.now() - 2 * 86_400_000);
  // Warm up both paths (JIT, page cache) on a slice.
  await ingestRun(msgs.slice(0, 10_000), assets, []);
  await ingestRun(msgs.slice(0, 10_000), assets, withRules);
  const defaults = rulesSchema.parse({});
  await ingestRun(msgs.slice(0, 10_000), assets, createRules(defaults));
  await ingestRun(msgs.slice(0, 10_000), assets, noopStatefulRules(withRules));
  await ingestRun(msgs.slice(0, 10_000), assets, unchangedStateRules(withRules));
  const without: number[] = [];
  const withR: number[] = [];
  const byDefault: number[] = [];
  const noop: number[] = [];
  const unchanged: number[] = [];
  const alone: number[] = [];
  const pureAlone: number[] = [];
  const holdWithout: number[] = [];
  const holdWith: number[] = [];
  const steps = decodedSteps(msgs, assets);
  rulesAloneRun(steps.slice(0, 10_000), createRules(config)); // warm-up
  ownedAloneRun(steps.slice(0, 10_000), createRules(config));
  const compactRules = new CompactRules(config);
  const assetOf = Int32Array.from(steps, (s) => Number(s.asset.erpAssetId.slice(3)));
  const logBuffer = Buffer.alloc(64 << 20); // allocated (and its pages touched) once, as the ingest log reuses its buffers
  const compactUs: number[] = [];
  const compactLogUs: number[] = [];
  let compactDeliveries = new Map<string, number>();
  compactRules.run(steps, assetOf, assets, { buffer: logBuffer, messages: msgs }); // warm-up
  let last: Map<string, number> = new Map();
  for (let r = 0; r < runs; r++) {
    const bare = await ingestRun(msgs, assets, []);
    without.push(bare.eps);
    holdWithout.push(bare.holdMs);
    byDefault.push((await ingestRun(msgs, assets, createRules(defaults))).eps);
    noop.push((await ingestRun(msgs, assets, noopStatefulRules(withRules))).eps);
    unchanged.push((await ingestRun(msgs, assets, unchangedStateRules(withRules))).eps);
    const w = await ingestRun(msgs, assets, createRules(config));
    withR.push(w.eps);
    holdWith.push(w.holdMs);
    last = w.deliveries;
    alone.push(ownedAloneRun(steps, createRules(config)));
    pureAlone.push(rulesAloneRun(steps, createRules(config)));
    const c = compactRules.run(steps, assetOf, assets);
    compactUs.push(c.usPerEvent);
    compactDeliveries = c.deliveries;
    compactLogUs.push(compactRules.run(steps, assetOf, assets, { buffer: logBuffer, messages: msgs }).usPerEvent);
  }
  // The rules on a thread of their own, each run after a run without rules (its baseline).
  const splitBase: number[] = [];
  const split = await splitRuns(rulesConfig(), msgs, assets, runs, ingestRun, async () => {
    splitBase.push((await ingestRun(msgs, assets, [])).eps);
  });
  const a = median(without);
  const b = median(withR);
  const c = median(byDefault);
  const n = median(noop);
  const r = median(alone);
  const u = median(unchanged);
  const m = config.maintenance;
  return {
    events: count,
    zones: config.zones?.zones.length ?? 0,
    rulesPerAsset: (m?.thresholds.length ?? 0) + (m?.serviceIntervals.length ?? 0) + 2,
    withoutRulesEventsPerSecond: Math.round(a),
    withRulesEventsPerSecond: Math.round(b),
    ratio: Math.round((b / a) * 1000) / 1000,
    defaultConfigEventsPerSecond: Math.round(c),
    ratioToDefault: Math.round((b / c) * 1000) / 1000,
    noopStatefulEventsPerSecond: Math.round(n),
    noopRatio: Math.round((n / a) * 1000) / 1000,
    unchangedEventsPerSecond: Math.round(u),
    unchangedRatio: Math.round((u / a) * 1000) / 1000,
    rulesAloneEventsPerSecond: Math.round(r),
    pureRulesAloneEventsPerSecond: Math.round(median(pureAlone)),
    rulesAloneCeiling: Math.round((1 / a / (1 / a + 1 / r)) * 1000) / 1000,
    compact: {
      usPerEvent: Math.round(median(compactUs) * 1000) / 1000,
      withLogUsPerEvent: Math.round(median(compactLogUs) * 1000) / 1000,
      deliveries: Object.fromEntries(compactDeliveries),
    },
    split: {
      ingestUs: Math.round(median(split.map((s) => s.ingestUs)) * 100) / 100,
      ratio: Math.round(median(split.map((s, i) => 1e6 / (splitBase[i] as number) / s.ingestUs)) * 1000) / 1000,
      rulesThreadUs: Math.round(median(split.map((s) => s.rulesUs)) * 100) / 100,
      lagMs: Math.round(median(split.map((s) => s.lagMs))),
      deliveries: split[0]?.deliveries ?? 0,
    },
    workOrders: last.get('workorder.create') ?? 0,
    locationUpdates: last.get('location.update') ?? 0,
    longestHoldWithoutMs: Math.round(median(holdWithout)),
    longestHoldWithMs: Math.round(median(holdWith)),
  };
}

/**
 * The same comparison on the product's full ingest path — a private Mosquitto (bench/broker.ts) at
 * QoS 1, ack after commit, `synchronous: full` — with the fleet payload (position + zone, two
 * sensors, hour meter per message): 1,000 zones over the fleet's area and 20 rules per asset on
 * its two sensors. Returns undefined when mosquitto cannot be started.
 */
export async function benchRulesMqtt(count = 50_000, assets = 1000): Promise<{ withoutRulesPerSecond: number; withRulesPerSecond: number; ratio: number } | undefined> {
  let broker;
  try {
    broker = await startBenchBroker(18_832);
  } catch {
    return undefined;
  }
  useBroker(broker.url);
  try {
    return await mqttComparison(count, assets);
  } finally {
    await broker.stop();
  }
}

async function mqttComparison(count: number, assets: number): Promise<{ withoutRulesPerSecond: number; withRulesPerSecond: number; ratio: number }> {
  const sensors = ['engineTempC', 'batteryV'];
  const config = rulesSchema.parse({
    ...rulesConfig(),
    zones: { ...zones(48, 11, 0.6, 0.2), enterDwellMs: '30s', exitDwellMs: '60s', hysteresisM: 20 },
    maintenance: {
      thresholds: Array.from({ length: 16 }, (_, i) =>
        i % 2 ? { name: `t${i}`, sensor: sensors[i % 2], above: 95 + i, clearBelow: 90 + i, for: '5m', cooldown: '1h' } : { name: `t${i}`, sensor: sensors[i % 2], below: 2 + i / 10, for: '2m' },
      ),
      serviceIntervals: [{ name: 'service-250h', everyHours: 250, dueSoonHours: 10 }, { name: 'service-1000h', everyHours: 1000 }],
    },
  });
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < 3; r++) {
    a.push((await benchPipelineIngest(count, assets, 'full', [])).eventsPerSecond);
    b.push((await benchPipelineIngest(count, assets, 'full', createRules(config))).eventsPerSecond);
  }
  const without = median(a);
  const withR = median(b);
  return { withoutRulesPerSecond: Math.round(without), withRulesPerSecond: Math.round(withR), ratio: Math.round((withR / without) * 1000) / 1000 };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  tuneV8(); // as the service process does (src/cli/main.ts)
  const result = await benchRules({ events: Number(process.env.BENCH_RULES_EVENTS ?? 100_000) });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`in-process ingest, rules on / off: ${result.ratio} (target >= 0.8); on / default config: ${result.ratioToDefault}; no-op stateful rules / off: ${result.noopRatio}\n`);
  const mqttMessages = Number(process.env.BENCH_RULES_MQTT_MESSAGES ?? 50_000);
  // 0 (or less) skips it: a publisher of no messages would leave the run waiting for them.
  const mqtt = mqttMessages > 0 ? await benchRulesMqtt(mqttMessages) : undefined;
  if (mqtt) process.stdout.write(`MQTT ingest (QoS 1, synchronous full), rules on / off: ${mqtt.ratio} (${JSON.stringify(mqtt)})\n`);
  else process.stdout.write(mqttMessages > 0 ? 'MQTT ingest comparison skipped: mosquitto could not be started\n' : 'MQTT ingest comparison skipped: BENCH_RULES_MQTT_MESSAGES=0\n');
}
