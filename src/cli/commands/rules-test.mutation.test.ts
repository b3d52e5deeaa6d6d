/**
 * `rules test`, from a mutation audit: it must produce exactly the deliveries the service produces
 * for the same events (idle watermarks, destinations, processing times included), count them as
 * the outbox keeps them, and show the lines that deliver.
 *
 * The first part runs random captures through the real ingestor (with the idle watermark task's
 * check every minute, on whole-minute arrivals, so its watermarks fall where `rules test` puts
 * them) and through `rules test`, and compares what each delivered, and when.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { YARD_AND_DEPOT } from '../../../test/helpers/rules-stream.js';
import { tempStorePath } from '../../../test/helpers/temp-store.js';
import { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { rulesSchema } from '../../config/rules-schema.js';
import { IdentityIndex } from '../../core/identity/resolver.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import type { CanonicalEvent } from '../../core/model/events.js';
import { ENGINE_SOURCE } from '../../core/model/events.js';
import { createCanonicalDecoder } from '../../core/normalize/canonical-decoder.js';
import { createRules, zoneNamesOf } from '../../core/rules/index.js';
import { simulateRules } from '../../core/rules/simulate.js';
import { createMeterSyncRule } from '../../core/rules/meter-sync.js';
import type { Rule } from '../../core/rules/rule.js';
import { DecoderRegistry, Ingestor } from '../../engine/ingestor.js';
import { watermarkMessage } from '../../engine/tasks/idle-watermark.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { captureLines, observeCommits } from '../../../test/helpers/ingestor.js';
import { formatRulesTest, runRulesTest } from './rules-test.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const T0 = Date.parse('2026-11-20T08:00:00Z');
const MIN = 60_000;
const IDLE = 2 * MIN;

/** Zone dwell longer than the idle time, so a parked asset takes several watermarks; no alert rule, so alerts reach no rule; work orders planned when decided. */
const config = rulesSchema.parse({
  allowedLateness: '30s',
  idleAfter: '2m',
  location: { minDistanceM: 50, heartbeatMs: '10m' },
  zones: { ...YARD_AND_DEPOT, enterDwellMs: '5m', exitDwellMs: '3m' },
  maintenance: {
    thresholds: [{ name: 'hot', sensor: 'coolantTemp', above: 95, clearBelow: 90, for: '1m', severity: 'critical', cooldown: '10m' }],
    serviceIntervals: [{ name: 'svc-1h', everyHours: 1, dueSoonHours: 0.1 }],
    // Always in a window: a work order is planned at the time it is decided (the service's clock).
    windows: { default: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '00:00', to: '00:00' }] },
  },
});
/** What the service runs (buildRules): the configured rules and meter sync. */
const rules = (): Rule[] => [...createRules(config), createMeterSyncRule()];

const assets: AssetWithIdentifiers[] = [0, 1, 2, 9].map((a) => ({
  asset: { erpAssetId: `EQ-${a}`, erpModule: 'maintenance', attributes: {} },
  identifiers: [{ type: 'tag' as const, value: `tag-${a}`, erpAssetId: `EQ-${a}` }],
}));

interface Decided {
  readonly how: 'line' | 'idle';
  readonly at: number;
  readonly d: DeliveryIntent;
}
const key = (x: Decided) => JSON.stringify({ how: x.how, at: new Date(x.at).toISOString(), op: x.d.operation, dest: x.d.destination, bk: x.d.businessKey, t: x.d.eventTime, p: x.d.payload });

/** The service: the real ingestor and store, its capture as lines, every delivery it committed with when and how it was decided. */
async function service() {
  const real = new SqliteStore({ path: tempStorePath(), synchronous: 'normal' });
  await real.upsertAssets(assets);
  const decided: Decided[] = [];
  const phase = { how: 'line' as Decided['how'], at: 0 };
  const store = observeCommits(real, (c) => {
    for (const d of c.deliveries) decided.push({ ...phase, d });
  });
  const { lines, capture } = captureLines();
  const clock = { t: T0 };
  const identity = new IdentityIndex(assets);
  const ingestor = new Ingestor({
    store,
    clock: { now: () => clock.t },
    decoders: new DecoderRegistry().register('http', createCanonicalDecoder()).register(ENGINE_SOURCE, createCanonicalDecoder()),
    rules: rules(),
    identity: () => identity,
    validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0 },
    defaultDestination: 'erp',
    maxWaitMs: 1,
    capture,
  });
  const close = async () => {
    await ingestor.flush();
    await real.close();
  };
  const receive = async (at: number, body: object) => {
    clock.t = at;
    Object.assign(phase, { how: 'line', at });
    await ingestor.submit([{ source: 'http', channel: '/v1/events', payload: JSON.stringify(body), receivedAt: at }]);
  };
  /** The idle watermark task's check. */
  const check = async (at: number) => {
    clock.t = at;
    Object.assign(phase, { how: 'idle', at });
    await ingestor.submitInternal(ingestor.idleHolding(at, IDLE).map((id) => watermarkMessage(id, at)));
  };
  return { receive, check, decided, lines, close };
}

/** One arrival: which asset, minutes after the previous arrival, what it reports, how old its event is. */
const arrival = fc.record({
  asset: fc.integer({ min: 0, max: 2 }),
  gap: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 4, max: 40 })),
  kind: fc.constantFrom('position', 'position', 'position', 'sensor', 'meter', 'alert'),
  where: fc.constantFrom(50, 50.01, 50.05),
  /** The tracker's own zone label beside the fix (inside a configured zone it is never sent; outside, it is). */
  label: fc.constantFrom(undefined, undefined, 'YARD-A'),
  temp: fc.constantFrom(70, 99),
  delaySec: fc.constantFrom(0, 0, 10, 40),
});
type Arrival = typeof arrival extends fc.Arbitrary<infer T> ? T : never;

function body(a: Arrival, receivedAt: number, hours: number): object {
  const base = { assetId: `tag-${a.asset}`, eventTime: new Date(receivedAt - a.delaySec * 1000).toISOString() };
  if (a.kind === 'position') return { ...base, kind: 'position', lat: a.where, lng: 10, ...(a.label !== undefined ? { zone: a.label } : {}) };
  if (a.kind === 'sensor') return { ...base, kind: 'sensor', values: { coolantTemp: { value: a.temp } } };
  if (a.kind === 'meter') return { ...base, kind: 'meter', operatingHours: hours };
  return { ...base, kind: 'alert', reason: 'hydraulic pressure low', severity: 'critical', code: 'HYD-7' };
}

/** The arrivals through the service (a watermark check every minute), then a last event an hour later (so `rules test` reaches that hour too). */
async function throughService(items: readonly Arrival[]) {
  const s = await service();
  try {
    let minute = 0;
    let hours = 1000;
    const byMinute = new Map<number, object[]>();
    for (const a of items) {
      minute += a.gap;
      hours += 0.05;
      byMinute.set(minute, [...(byMinute.get(minute) ?? []), body(a, T0 + minute * MIN, Math.round(hours * 100) / 100)]);
    }
    const end = minute + 60;
    byMinute.set(end, [{ assetId: 'tag-9', eventTime: new Date(T0 + end * MIN).toISOString(), kind: 'position', lat: 51, lng: 10 }]);
    for (let m = 0; m <= end; m++) {
      await s.check(T0 + m * MIN);
      for (const b of byMinute.get(m) ?? []) await s.receive(T0 + m * MIN, b);
    }
    return { decided: s.decided, lines: s.lines, end: T0 + end * MIN };
  } finally {
    await s.close();
  }
}

/** What `rules test` says of the same capture, before its end-of-input flush (the service's continues with the clock). */
async function throughRulesTest(lines: readonly string[], end: number): Promise<Decided[]> {
  const report = await runRulesTest({ lines, rules: rules(), assets, defaultDestination: 'erp', states: new Map(), now: end, idleMs: IDLE });
  const receivedAt = lines.map((l) => Date.parse((JSON.parse(l) as { receivedAt: string }).receivedAt));
  return report.lines.flatMap((l) => [
    ...(l.idle ?? []).flatMap((w) => w.deliveries.map((d): Decided => ({ how: 'idle', at: Date.parse(w.at), d }))),
    ...l.deliveries.map((d): Decided => ({ how: 'line', at: receivedAt[l.line - 1] ?? NaN, d })),
  ]);
}

describe('rules test over a capture, against the service that wrote it', () => {
  it('delivers what the service delivered, decided at the same line or idle watermark, for any arrivals', async () => {
    let watermarked = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(arrival, { minLength: 1, maxLength: 40 }), async (items) => {
        const svc = await throughService(items);
        const sim = await throughRulesTest(svc.lines, svc.end);
        watermarked += sim.filter((x) => x.how === 'idle').length;
        expect(sim.map(key).sort()).toEqual(svc.decided.map(key).sort());
      }),
      { numRuns: 30 },
    );
    expect(watermarked).toBeGreaterThan(0); // the idle watermarks did decide some of it
  }, 120_000);

  // The same, for cases the random arrivals may miss.
  type Step = { minute: number; asset: number; where?: Arrival['where']; kind?: Arrival['kind']; temp?: Arrival['temp']; delaySec?: Arrival['delaySec'] };
  const scenario = async (arrivals: Step[]) => {
    const items: Arrival[] = [];
    let last = 0;
    for (const a of [...arrivals].sort((x, y) => x.minute - y.minute)) {
      items.push({ asset: a.asset, gap: a.minute - last, kind: a.kind ?? 'position', where: a.where ?? 50, label: undefined, temp: a.temp ?? 70, delaySec: a.delaySec ?? 0 });
      last = a.minute;
    }
    const svc = await throughService(items);
    const sim = await throughRulesTest(svc.lines, svc.end);
    expect(sim.map(key).sort()).toEqual(svc.decided.map(key).sort());
    return svc;
  };

  it('two fixes of one time decided by one watermark deliver one location, the one the service\'s batch keeps', async () => {
    // A bug found by the property above: rules test showed (and counted) both location updates;
    // the service's batch keeps only the newest value of a state key, so the ERP is sent one.
    // (On the road and in the yard: a fix in the depot instead would send nothing, in no zone while its enter dwell runs.)
    const svc = await scenario([
      { minute: 0, asset: 0, where: 50.05 },
      { minute: 0, asset: 0, where: 50 },
    ]);
    expect(svc.decided.filter((x) => x.how === 'idle' && x.at === T0 + IDLE).map((x) => x.d.payload.coordinates)).toEqual([{ lat: 50.05, lng: 10 }]);
    // --compare counts them as the report does.
    const compared = await runRulesTest({ lines: svc.lines, rules: rules(), compare: rules(), assets, defaultDestination: 'erp', states: new Map(), now: svc.end, idleMs: IDLE });
    expect(Object.fromEntries(Object.entries(compared.comparison?.totals ?? {}).map(([op, t]) => [op, t.current]))).toEqual(compared.totals);
  });

  it('an asset parked in the yard while another keeps reporting: its entry is settled by its later watermarks, not lost when it drives off', async () => {
    // Mutations: IdleWatermarks picking the later-due asset first (and stopping there), or naming an asset again from the clock rather than its last watermark.
    const arrivals: Step[] = [
      { minute: 0, asset: 0, where: 50.05 },
      { minute: 1, asset: 0, where: 50 }, // into the yard, then quiet (entering takes 5 min: three watermarks)
      ...Array.from({ length: 46 }, (_, i): Step => ({ minute: i, asset: 1, where: 50.05 })), // on the road, every minute until after the other leaves
      { minute: 40, asset: 0, where: 50.05 }, // drives off
    ];
    const { decided } = await scenario(arrivals);
    expect(decided.filter((x) => x.d.erpAssetId === 'EQ-0').map((x) => x.d.payload.warehouseLocation)).toContain('Y1');
  });

  it('a work order released by a late-arriving sample is planned at its arrival, when the service decided it', async () => {
    // Mutation: the rules told an event was processed at its event time instead of its receive time.
    const { decided } = await scenario([
      { minute: 0, asset: 0, kind: 'sensor', temp: 99 },
      { minute: 2, asset: 0, kind: 'sensor', temp: 99 }, // the breach has held 2 min: held for the lateness
      { minute: 3, asset: 0, kind: 'sensor', temp: 99, delaySec: 10 }, // received 10 s after it happened; releases the sample above
    ]);
    expect(decided.filter((x) => x.d.operation === 'workorder.create').map((x) => [x.how, new Date(x.at).toISOString(), x.d.payload.plannedStart])).toEqual([
      ['line', '2026-11-20T08:03:00.000Z', '2026-11-20T08:03:00.000Z'],
    ]);
  });

  it('an asset that reports again after a watermark is silent from its new report, not from the watermark', async () => {
    // Mutations: a report leaves the asset among those already named, so a watermark falls early;
    // a watermark due at the very time of a report is not sent before it; an event no rule takes counts as a report.
    await scenario([
      { minute: 0, asset: 0, where: 50.05 },
      { minute: 1, asset: 0, where: 50 },
      { minute: 3, asset: 0, where: 50 }, // arrives as its watermark falls: the watermark (releasing the 08:01 fix) comes first
      { minute: 4, asset: 0, where: 50.01 }, // after the watermark at 3 (still entering the yard): silent from 4, so decided at 6, not at 5
      { minute: 5, asset: 0, kind: 'alert' }, // an alert no rule takes: not a report that ends the silence
      { minute: 30, asset: 0, where: 50.01 },
    ]);
  });
});

const plain = (erpAssetId: string, tag: string, destination?: string): AssetWithIdentifiers => ({
  asset: { erpAssetId, erpModule: 'maintenance', attributes: {}, ...(destination ? { destination } : {}) },
  identifiers: [{ type: 'tag', value: tag, erpAssetId }],
});
const position = (tag: string, iso: string, lat = 52.5, extra: object = {}) => JSON.stringify({ kind: 'position', assetId: tag, eventTime: iso, lat, lng: 13.4, ...extra });

describe('rules test deliveries', () => {
  it('go to the asset\'s own destination, the default only for assets that name none', async () => {
    // Mutation: every delivery to the default destination.
    const report = await runRulesTest({
      lines: [position('tag-1', '2026-10-01T08:00:00Z'), position('tag-2', '2026-10-01T08:00:00Z')],
      rules: createRules(rulesSchema.parse({ allowedLateness: 0 })),
      assets: [plain('EQ-1', 'tag-1', 'sap'), plain('EQ-2', 'tag-2')],
      defaultDestination: 'erp',
      states: new Map(),
    });
    expect(report.lines.flatMap((l) => l.deliveries).map((d) => [d.erpAssetId, d.destination])).toEqual([
      ['EQ-1', 'sap'],
      ['EQ-2', 'erp'],
    ]);
  });

  it('of lines that do not say when they were received are planned from the events\' times, not from when the command runs', async () => {
    // Mutations: such events processed at `now`; the end of the input decided at `now`, or at the last line's time rather than the latest.
    const c = rulesSchema.parse({
      allowedLateness: '1m',
      location: { enabled: false },
      maintenance: { thresholds: [{ name: 'hot', sensor: 't', above: 95 }], windows: { default: [{ days: ['sat'], from: '06:00', to: '14:00' }] } },
    });
    const hot = (iso: string) => JSON.stringify({ kind: 'sensor', assetId: 'tag-1', eventTime: iso, values: { t: { value: 99 } } });
    const input = { rules: createRules(c), assets: [plain('EQ-1', 'tag-1')], defaultDestination: 'erp', states: new Map(), now: Date.parse('2027-03-01T00:00:00Z') };
    // Thursday 1 Oct 2026: the next window is Saturday 3 Oct, whenever the command runs.
    const during = await runRulesTest({ ...input, lines: [hot('2026-10-01T08:00:00Z'), hot('2026-10-01T08:05:00Z')] });
    expect(during.lines.flatMap((l) => l.deliveries).map((d) => d.payload.plannedStart)).toEqual(['2026-10-03T06:00:00.000Z']);
    // Decided at the end of the input, as of the latest event (Saturday 10 Oct, 08:00, in a window: planned then), even when an older line comes last.
    const atEnd = await runRulesTest({ ...input, lines: [hot('2026-10-10T08:00:00Z'), hot('2026-10-10T07:59:50Z')] });
    expect(atEnd.flushed.map((d) => d.payload.plannedStart)).toEqual(['2026-10-10T08:00:00.000Z']);
  });

  it('of events dated after the command runs are tried too, not refused as from the future', async () => {
    // Mutation: the service's 5-minute future skew applied against the time the command runs.
    const report = await runRulesTest({
      lines: [position('tag-1', '2027-06-01T08:00:00Z')],
      rules: createRules(rulesSchema.parse({ allowedLateness: 0 })),
      assets: [plain('EQ-1', 'tag-1')],
      defaultDestination: 'erp',
      states: new Map(),
      now: Date.parse('2026-10-01T00:00:00Z'),
    });
    expect(report.counts).toMatchObject({ accepted: 1, rejected: 0 });
    expect(report.totals).toEqual({ 'location.update (state)': 1 });
  });

  it('of one line holding two fixes are one location update, the newest, as the service\'s batch keeps it (shown, counted and compared so)', async () => {
    // The bug the property above found, without the service: a line's array is one POST, its items decided in one batch.
    const c = rulesSchema.parse({ allowedLateness: 0, location: { minDistanceM: 100 } });
    const line = `[${position('tag-1', '2026-10-01T08:00:00Z', 52.5)},${position('tag-1', '2026-10-01T08:01:00Z', 52.6)}]`; // 11 km apart: each alone would be sent
    const input = { lines: [line], rules: createRules(c), assets: [plain('EQ-1', 'tag-1')], defaultDestination: 'erp', states: new Map() };
    const report = await runRulesTest(input);
    // Each item is its own message (as POST /v1/events takes it), the newest fix's update shown on its item.
    expect(report.lines.map((l) => l.deliveries.map((d) => d.payload.coordinates))).toEqual([[], [{ lat: 52.6, lng: 13.4 }]]);
    expect(report.totals).toEqual({ 'location.update (state)': 1 });
    const compared = await runRulesTest({ ...input, compare: createRules(c) });
    expect(compared.comparison?.totals).toEqual({ 'location.update (state)': { current: 1, proposed: 1 } });
    // Both held for the lateness (location sync holds fixes where zones are configured) and decided at the end of the input: the same.
    const zoned = rulesSchema.parse({ allowedLateness: '5m', location: { minDistanceM: 100 }, zones: { inline: [{ name: 'far', locationCode: 'F', circle: { lat: 0, lng: 0, radiusM: 10 } }] } });
    const held = await runRulesTest({ ...input, rules: createRules(zoned) });
    expect(held.lines.flatMap((l) => l.deliveries)).toEqual([]);
    expect(held.flushed.map((d) => d.payload.coordinates)).toEqual([{ lat: 52.6, lng: 13.4 }]);
  });

  it('of a fix less accurate than zones.maxAccuracyM are none, also when its source reports another zone (shown and counted so)', async () => {
    const c = rulesSchema.parse({ allowedLateness: 0, location: { minDistanceM: 100 }, zones: { maxAccuracyM: 50, inline: [{ name: 'far', locationCode: 'F', circle: { lat: 0, lng: 0, radiusM: 10 } }] } });
    const lines = [
      position('tag-1', '2026-10-01T08:00:00Z', 52.5, { zone: 'DEPOT', accuracyM: 5 }),
      position('tag-1', '2026-10-01T08:01:00Z', 52.53, { zone: 'ROAD', accuracyM: 2000 }), // a cell-tower fix 3 km off, the tracker's geofence says ROAD
      position('tag-1', '2026-10-01T08:02:00Z', 52.5, { zone: 'DEPOT', accuracyM: 5 }),
    ];
    const report = await runRulesTest({ lines, rules: createRules(c), assets: [plain('EQ-1', 'tag-1')], defaultDestination: 'erp', states: new Map() });
    expect(report.lines.map((l) => l.deliveries.map((d) => d.payload.warehouseLocation))).toEqual([['DEPOT'], [], []]);
    expect(report.totals).toEqual({ 'location.update (state)': 1 });
  });

  it('of fixes whose tracker names its own zone inside a configured one are the zone\'s code once entered, never the tracker\'s label', async () => {
    const c = rulesSchema.parse({ allowedLateness: 0, location: { minDistanceM: 100 }, zones: { inline: [{ name: 'yard-a', locationCode: 'LOC-YARD-A', circle: { lat: 52.5, lng: 13.4, radiusM: 200 } }] } });
    const lines = [
      position('tag-1', '2026-10-01T08:00:00Z', 52.6), // on the road, 11 km north
      position('tag-1', '2026-10-01T08:01:00Z', 52.5, { zone: 'YARD-A' }), // in the yard: the 30 s enter dwell starts
      position('tag-1', '2026-10-01T08:01:20Z', 52.5, { zone: 'YARD-A' }),
      position('tag-1', '2026-10-01T08:01:40Z', 52.5, { zone: 'YARD-A' }), // entered
    ];
    const report = await runRulesTest({ lines, rules: createRules(c), assets: [plain('EQ-1', 'tag-1')], defaultDestination: 'erp', states: new Map() });
    // In the yard while its enter dwell runs: nothing sent (in no zone, its coordinates in the yard), nor the tracker's label.
    expect(report.lines.map((l) => l.deliveries.map((d) => d.payload.warehouseLocation))).toEqual([[null], [], [], ['LOC-YARD-A']]);
    expect(report.totals).toEqual({ 'location.update (state)': 2 });
  });

  it('of a zone sighting (a reader\'s zone, no lat/lng) are its zone\'s code with coordinates null; a zone not configured is rejected, as the service quarantines it', async () => {
    const c = rulesSchema.parse({ allowedLateness: 0, location: { minDistanceM: 100 }, zones: { inline: [{ name: 'DOCK-1', locationCode: 'D1', circle: { lat: 0, lng: 0, radiusM: 10 } }] } });
    const lines = [
      JSON.stringify({ kind: 'position', assetId: 'tag-1', eventTime: '2026-10-01T08:00:00Z', zone: 'DOCK-1' }),
      JSON.stringify({ kind: 'position', assetId: 'tag-1', eventTime: '2026-10-01T08:01:00Z', zone: 'DOCK-9' }),
    ];
    const report = await runRulesTest({ lines, rules: createRules(c), zoneNames: zoneNamesOf(c), assets: [plain('EQ-1', 'tag-1')], defaultDestination: 'erp', states: new Map() });
    expect(report.lines[0]?.deliveries.map((d) => [d.payload.warehouseLocation, d.payload.coordinates])).toEqual([['D1', null]]);
    expect(report.lines[1]).toMatchObject({ accepted: false, reason: expect.stringContaining('unknown zone "DOCK-9"') });
  });

  it('count a fact a rule asks for twice once, as the outbox keeps it', async () => {
    // Mutation: every fact counted.
    const twice: Rule = {
      name: 'twice',
      kinds: ['position'],
      apply: (state, event) => {
        const d: DeliveryIntent = { destination: 'erp', operation: 'workorder.create', kind: 'fact', businessKey: 'EQ-1|r|1', erpAssetId: 'EQ-1', eventTime: event.eventTime, payload: {} };
        return { state: state ?? {}, deliveries: [d, d] };
      },
    };
    const report = await runRulesTest({ lines: [position('tag-1', '2026-10-01T08:00:00Z'), position('tag-1', '2026-10-01T08:01:00Z')], rules: [twice], assets: [plain('EQ-1', 'tag-1')], defaultDestination: 'erp', states: new Map() });
    expect(report.totals).toEqual({ 'workorder.create (fact)': 1 });
  });
});

describe('rules test over captured lines with idle watermarks', () => {
  const c = rulesSchema.parse({ allowedLateness: '30s', idleAfter: '2m', location: { minDistanceM: 50 }, zones: YARD_AND_DEPOT });
  const captured = (tag: string, minute: number, lat: number, receivedAt: (t: number) => string | number) =>
    position(tag, new Date(T0 + minute * MIN).toISOString(), lat, { lng: 10, receivedAt: receivedAt(T0 + minute * MIN) });
  const lines = (receivedAt: (t: number) => string | number) => [captured('tag-1', 0, 50.05, receivedAt), captured('tag-1', 1, 50, receivedAt), captured('tag-1', 60, 50.01, receivedAt)];
  const input = { rules: createRules(c), assets: [plain('EQ-1', 'tag-1')], defaultDestination: 'erp', states: new Map(), now: T0 + 120 * MIN, idleMs: IDLE };

  it('count and show what the watermarks delivered, also when brief', async () => {
    // Mutations: watermark deliveries left out of the totals; a line whose watermark delivers hidden by --brief.
    const report = await runRulesTest({ ...input, lines: lines((t) => new Date(t).toISOString()), brief: true });
    const line3 = report.lines.find((l) => l.line === 3);
    expect(line3?.idle?.flatMap((w) => w.deliveries).map((d) => d.payload.warehouseLocation)).toEqual(['Y1']);
    expect(report.totals['location.update (state)']).toBe(report.lines.flatMap((l) => [...(l.idle ?? []).flatMap((w) => w.deliveries), ...l.deliveries]).length + report.flushed.length);
    expect(formatRulesTest(report)).toContain('  idle: EQ-1 silent since 2026-11-20T08:01:00.000Z, decided at 2026-11-20T08:03:00.000Z (rules.idleAfter)');
  });

  it('read a receivedAt in epoch milliseconds as the ISO one', async () => {
    // Mutation: only ISO receivedAt read.
    const iso = await runRulesTest({ ...input, lines: lines((t) => new Date(t).toISOString()) });
    const ms = await runRulesTest({ ...input, lines: lines((t) => t) });
    expect(ms.lines.map((l) => l.idle)).toEqual(iso.lines.map((l) => l.idle));
    expect(ms.lines.some((l) => l.idle)).toBe(true);
  });
});

describe('rules test --compare', () => {
  it('runs the second rule set from the same stored state as the first', async () => {
    // Mutation: the proposed rules start from empty state.
    const c = rulesSchema.parse({ allowedLateness: 0, location: { minDistanceM: 100 } });
    // The stored state: the asset was synced at this very spot; the same fix again sends nothing under either rule set.
    const t = Date.parse('2026-10-01T08:00:00Z');
    const fix: CanonicalEvent = { kind: 'position', source: 't', ids: [{ type: 'tag', value: 'tag-1' }], eventTime: t, receivedAt: t, lat: 52.5, lng: 13.4 };
    const stored = simulateRules(createRules(c), [{ event: fix, asset: plain('EQ-1', 'tag-1').asset, destination: 'erp' }]).states;
    const report = await runRulesTest({ lines: [position('tag-1', '2026-10-01T08:10:00Z')], rules: createRules(c), compare: createRules(c), assets: [plain('EQ-1', 'tag-1')], defaultDestination: 'erp', states: stored });
    expect(report.comparison?.totals).toEqual({});
    expect(report.comparison?.states).toEqual([]);
  });
});
