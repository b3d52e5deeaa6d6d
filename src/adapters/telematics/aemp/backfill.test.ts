import { describe, expect, it } from 'vitest';
import { machineHeader } from '../../../../simulators/trackunit/fleet.js';
import { createTrackunitSimulator, type TrackunitSimulatorOptions } from '../../../../simulators/trackunit/simulator.js';
import { FakeClock, RecordingSink, assetsForMachines, simulatorProvider, simulatorFetch } from '../../../../simulators/trackunit/test-support.js';
import { useTempStores } from '../../../../test/helpers/temp-stores.js';
import type { TelematicsConfigInput } from '../../../config/telematics-schema.js';
import { dateWindows, fetchEquipmentSnapshot, runBackfill } from './backfill.js';
import type { CanonicalEvent } from '../../../core/model/events.js';
import type { RawMessage } from '../../../core/model/messages.js';
import { validateEvent } from '../../../core/normalize/validate.js';
import { createAempEquipmentDecoder } from './aemp-parser.js';
import { runFleetPull } from './fleet-pull.js';
import { rulesSchema } from '../../../config/rules-schema.js';
import { createRules } from '../../../core/rules/index.js';
import { simulateRules } from '../../../core/rules/simulate.js';
import { DecoderRegistry, Ingestor } from '../../../engine/ingestor.js';
import { IdentityIndex } from '../../../core/identity/resolver.js';
import { DEFAULT_VALIDATION } from '../../../core/normalize/validate.js';
import { replayQuarantine } from '../../../engine/replay.js';

const T0 = Date.UTC(2025, 2, 4, 3, 0, 0);
const HOUR = 3_600_000;
const newStore = useTempStores();

function setup(simOptions: TrackunitSimulatorOptions = {}, overrides: Partial<TelematicsConfigInput> = {}) {
  const clock = new FakeClock(T0);
  const sim = createTrackunitSimulator({ fleetSize: 30, now: clock.now, dataAgeMs: 0, ...simOptions });
  const store = newStore();
  const sink = new RecordingSink();
  const built = simulatorProvider(store, clock, simulatorFetch(sim), overrides);
  const deps = { client: built.client, store, sink, clock };
  return { clock, sim, store, sink, built, deps };
}

describe('dateWindows', () => {
  it('covers the range with windows no longer than the cap', () => {
    expect(dateWindows(0, 10, 0)).toEqual([{ from: 0, to: 10 }]);
    expect(dateWindows(0, 10, 4)).toEqual([
      { from: 0, to: 4 },
      { from: 4, to: 8 },
      { from: 8, to: 10 },
    ]);
    expect(dateWindows(10, 10, 4)).toEqual([]);
  });
});

describe('backfill from the time-series endpoints', () => {
  it('asks for every matched machine with a PIN and element, and submits readings that the engine can decode and resolve', async () => {
    const t = setup();
    const mapped = [0, 1, 2, 3, 4, 5]; // machine 5 has no PIN: asked by the serial it reports (see below)
    await t.store.upsertAssets(assetsForMachines(mapped, 'machine-id'));
    await runFleetPull(t.deps);
    const summary = await runBackfill(t.deps, { from: T0 - 48 * HOUR, to: T0, elements: ['CumulativeOperatingHours', 'Locations'] });
    expect(summary).toMatchObject({ complete: true, equipment: 6, series: 12, seriesDone: 12, pages: 12, notFound: 0, http429: 0 });
    expect(summary.skipped).toHaveLength(24);
    expect(summary.skipped.filter((s) => s.reason === 'not matched to an ERP asset')).toHaveLength(24);
    expect(summary.readings).toBe(12 * 49);
    expect(t.sink.refused).toEqual([]);
    const series = t.sink.events.filter((e) => e.source === 'aemp:trackunit' && e.kind === 'meter');
    // One meter event per mapped machine from the fleet pull, plus 49 hourly readings per backfilled machine.
    expect(series.length).toBe(6 + 6 * 49);
    // Each backfilled reading names the machine by its MachineId too, so the engine resolves it like a fleet page.
    const last = t.sink.messages.at(-1)!;
    expect(String(last.payload)).toContain('"MachineId"');

    const rerun = await runBackfill(t.deps, { from: T0 - 48 * HOUR, to: T0, elements: ['CumulativeOperatingHours', 'Locations'] });
    expect(rerun).toMatchObject({ complete: true, seriesSkipped: 12, requests: 0 });
  });

  it('follows the pages of a long series, each page with its own budget key', async () => {
    const t = setup({ timeSeriesPageSize: 10 });
    await t.store.upsertAssets(assetsForMachines([0]));
    const summary = await runBackfill(t.deps, { from: T0 - 48 * HOUR, to: T0, elements: ['CumulativeIdleHours'], identifiers: [machineHeader(0).pin!] });
    expect(summary).toMatchObject({ complete: true, series: 1, pages: 5, readings: 49, http429: 0 });
    const keys = (await t.built.budget.status()).map((r) => r.key).sort();
    expect(keys).toEqual([1, 2, 3, 4, 5].map((p) => `timeseries:${machineHeader(0).pin!}/CumulativeIdleHours/page-${p}`));
  });

  it('does not buy a fresh budget with a new date window (Trackunit keys time series per equipment and element)', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0]));
    const pin = machineHeader(0).pin!;
    await runBackfill(t.deps, { from: T0 - 48 * HOUR, to: T0, elements: ['Distance'], identifiers: [pin] });
    const other = await runBackfill(t.deps, { from: T0 - 96 * HOUR, to: T0 - 48 * HOUR, elements: ['Distance'], identifiers: [pin], maxWaitMs: 60_000 });
    expect(other).toMatchObject({ complete: false, http429: 0 });
    expect(other.error).toMatch(/may not be requested before/);
    expect(t.sim.stats.http429).toBe(0);
  });

  it('skips machines that match no asset and counts series the provider does not have', async () => {
    const t = setup();
    await t.store.upsertAssets([{ asset: { erpAssetId: 'GHOST', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'pin', value: 'NOPE0000000000000', erpAssetId: 'GHOST' }] }]);
    const summary = await runBackfill(t.deps, { from: T0 - HOUR, to: T0, elements: ['Locations'], identifiers: ['NOPE0000000000000', 'UNKNOWN1'] });
    expect(summary).toMatchObject({ complete: true, series: 1, notFound: 1, seriesDone: 0 });
    expect(summary.skipped).toEqual([{ id: 'UNKNOWN1', reason: 'it matches no ERP asset; map it first' }]);
  });

  it("merges a machine's elements into event-time order, so a rule reading hours and km drops none of them as late", async () => {
    const t = setup({ timeSeriesPageSize: 7 });
    await t.store.upsertAssets(assetsForMachines([0]));
    const pin = machineHeader(0).pin!;
    const summary = await runBackfill(t.deps, { from: T0 - 48 * HOUR, to: T0, elements: ['CumulativeOperatingHours', 'Distance', 'Locations'], identifiers: [pin] });
    expect(summary).toMatchObject({ complete: true, series: 3, seriesDone: 3, readings: 3 * 49, http429: 0 });
    const times = t.sink.events.map((e) => e.eventTime);
    expect(times).toEqual([...times].sort((a, b) => a - b)); // across messages and within each
    // Interleaved, not one element's history after another's.
    const hours = t.sink.events.flatMap((e, i) => (e.kind === 'meter' && e.operatingHours !== undefined ? [i] : []));
    const km = t.sink.events.flatMap((e, i) => (e.kind === 'meter' && e.odometerKm !== undefined ? [i] : []));
    expect([hours.length, km.length]).toEqual([49, 49]);
    expect(km[0]).toBeLessThan(hours.at(-1) as number);

    // Through the rules: a truck on an hours and a km service plan keeps every reading of both.
    const asset = { erpAssetId: 'EQ-0', erpModule: 'fleet', attributes: {} };
    const rules = createRules(rulesSchema.parse({ maintenance: { serviceIntervals: [{ name: 'h', everyHours: 250 }, { name: 'k', everyKm: 15_000 }] } }));
    const run = simulateRules(rules, t.sink.events.map((event) => ({ event, asset, destination: 'erp' })));
    expect(run.lateByStep.flat()).toEqual([]);
    expect(t.sink.batches.length).toBeGreaterThan(0);
    expect(t.sink.batches[0]?.[0]?.channel).toBe(`backfill ${pin} CumulativeOperatingHours+Distance+Locations ${new Date(T0 - 48 * HOUR).toISOString()}/${new Date(T0).toISOString()}`);
  });

  it('keeps a time-series page it cannot read in the quarantine as received (secrets replaced), leaves that series unfinished and goes on with the others', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0, 1]));
    const [pin0, pin1] = [machineHeader(0).pin!, machineHeader(1).pin!];
    const bearer = (await t.built.credentials.authorization()).replace(/^Bearer\s+/i, '');
    const body = `<html>proxy error; Authorization: Bearer ${bearer}</html>`;
    t.sim.breakPage(`/Fleet/Equipment/ID/${pin0}/CumulativeOperatingHours/`, body, 'text/html');
    const elements = ['CumulativeOperatingHours', 'Distance'];
    const summary = await runBackfill(t.deps, { from: T0 - 48 * HOUR, to: T0, elements, identifiers: [pin0, pin1], concurrency: 1 });
    // The page is not asked for again (one request per series), and the three other series are done.
    expect(summary).toMatchObject({ complete: false, series: 4, seriesDone: 3, unreadable: 1, requests: 4, readings: 3 * 49, accepted: 3 * 49 });
    expect(summary.error).toBeUndefined();
    expect(summary.unreadablePages).toEqual([expect.any(Number)]);
    const [entry] = await t.store.listQuarantine({ ids: summary.unreadablePages, limit: 1 });
    expect(entry).toMatchObject({ code: 'unreadable-page', source: 'aemp:trackunit', status: 'open', channel: expect.stringContaining(`/${pin0}/CumulativeOperatingHours/`) as unknown });
    expect(Buffer.from(entry!.payload).toString()).toBe('<html>proxy error; Authorization: Bearer [REDACTED]</html>');
    expect(entry!.reason).toMatch(new RegExp(`^trackunit: time-series page \\S+/${pin0}/CumulativeOperatingHours/\\S+ \\(HTTP 200, text/html, \\d+ bytes\\) cannot be read: .*1 secret value\\(s\\) of the feed's credentials it echoed replaced by \\[REDACTED\\]$`));

    // A rerun of the range asks for that series only.
    t.clock.advance(16 * 60_000);
    const rerun = await runBackfill(t.deps, { from: T0 - 48 * HOUR, to: T0, elements, identifiers: [pin0, pin1] });
    expect(rerun).toMatchObject({ complete: true, seriesSkipped: 3, seriesDone: 1, unreadable: 0, unreadablePages: [], requests: 1, readings: 49 });
  });

  it('splits the range into windows where the vendor caps them', async () => {
    const t = setup({}, { profile: { timeSeriesWindow: '1d', perUrlInterval: 0 } });
    await t.store.upsertAssets(assetsForMachines([0]));
    const summary = await runBackfill(t.deps, { from: T0 - 72 * HOUR, to: T0, elements: ['CumulativeOperatingHours'], identifiers: [machineHeader(0).pin!] });
    // Three one-day windows, each holding both of its hourly ends: 3 × 25 readings.
    expect(summary).toMatchObject({ complete: true, pages: 3, readings: 75, http429: 0 });
  });

  it('sets a time-series block it cannot use aside in quarantine (once across reruns), takes the rest, and a replay after the fix takes that block once', async () => {
    // Bug: a block of a time-series page nothing could be taken from (here an hours reading without
    // its datetime) was only left out of the readings: nothing kept it to replay after a fix.
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0]));
    const pin0 = machineHeader(0).pin ?? '';
    const simFetch = simulatorFetch(t.sim);
    const fetchOdd = (async (input: string | URL | Request, init?: RequestInit) => {
      const r = await simFetch(input, init);
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (!url.includes('/CumulativeOperatingHours/')) return r;
      // The first reading of the page without its datetime.
      const text = (await r.text()).replace(/"datetime":"[^"]+","Hour"/, '"Hour"');
      return new Response(text, { status: r.status, headers: r.headers });
    }) as typeof fetch;
    const built = simulatorProvider(t.store, t.clock, fetchOdd);
    const decoded: CanonicalEvent[] = [];
    let fixed = false;
    const aemp = createAempEquipmentDecoder();
    const decoder = (m: RawMessage) => {
      const r = aemp(fixed ? { ...m, payload: (m.payload as string).replace('{"Hour"', '{"datetime":"2025-03-03T03:00:00Z","Hour"') } : m);
      if (r.ok) decoded.push(...r.events);
      return r;
    };
    const ingestor = new Ingestor({
      store: t.store,
      clock: t.clock,
      decoders: new DecoderRegistry().register('aemp', decoder),
      rules: [],
      identity: () => new IdentityIndex(assetsForMachines([0])),
      validation: DEFAULT_VALIDATION,
      defaultDestination: 'erp',
    });
    const deps = { client: built.client, store: t.store, sink: ingestor, clock: t.clock };
    const range = { from: T0 - 24 * HOUR, to: T0, elements: ['CumulativeOperatingHours'], identifiers: [pin0] };
    // 25 hourly readings: 24 taken, the one without its datetime set aside.
    expect(await runBackfill(deps, range)).toMatchObject({ complete: true, readings: 25, accepted: 24, quarantined: 1 });
    expect(decoded).toHaveLength(24);
    t.clock.advance(16 * 60_000);
    expect(await runBackfill(deps, { ...range, restart: true })).toMatchObject({ complete: true, readings: 25, accepted: 24, quarantined: 1 });
    const entries = await t.store.listQuarantine({ status: 'open' });
    expect(entries.map((q) => [q.code, q.repeats])).toEqual([['undecodable', 1]]);
    expect(entries[0]?.reason).toContain(`trackunit: machine ${pin0}, CumulativeOperatingHours series: cumulativeOperatingHours block: cumulativeOperatingHours: no datetime`);
    expect(entries[0]?.reason).toContain("'assetbridge quarantine replay ID'");

    // Before the fix a replay keeps it; after it the block is taken once.
    decoded.length = 0;
    expect(await replayQuarantine(t.store, ingestor, {})).toMatchObject({ replayed: 1, accepted: 0, stillQuarantined: 1 });
    fixed = true;
    expect(await replayQuarantine(t.store, ingestor, {})).toMatchObject({ replayed: 1, accepted: 1, stillQuarantined: 0 });
    expect(decoded).toEqual([expect.objectContaining({ kind: 'meter', eventTime: Date.parse('2025-03-03T03:00:00Z') })]);
    expect(await t.store.countQuarantine({ status: 'open' })).toBe(0);
  });
});

describe('single-element snapshot', () => {
  it('fetches one machine by PIN and submits it when it matches', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([3]));
    const pin = machineHeader(3).pin!;
    const snap = await fetchEquipmentSnapshot(t.deps, pin, { submit: true });
    expect(snap.url).toContain(`/Fleet/Equipment/ID/${pin}?addMetadata=true`);
    expect(snap.equipment?.header.pin).toBe(pin);
    expect(snap.match).toMatchObject({ status: 'matched', erpAssetId: 'EQ-3' });
    expect(snap.accepted).toBe(1);
    const unmatched = await fetchEquipmentSnapshot(t.deps, machineHeader(4).pin!, { submit: true });
    expect(unmatched.match).toEqual({ status: 'unmatched' });
    expect(unmatched.accepted).toBeUndefined();
  });
});

describe('single-element snapshot submitted again', () => {
  it('keeps a block it cannot use once in quarantine: submitting the same machine again counts a repeat, not another entry', async () => {
    // Bug: `aemp equipment --submit` messages were not retained (and their channel was the URL), so
    // each submit of the same machine opened new entries for the same set-aside blocks.
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([3]));
    const pin = machineHeader(3).pin ?? '';
    const simFetch = simulatorFetch(t.sim);
    const fetchOdd = (async (input: string | URL | Request, init?: RequestInit) => {
      const r = await simFetch(input, init);
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (!url.includes(`/Fleet/Equipment/ID/${pin}`)) return r;
      const doc = (await r.json()) as { equipment: Record<string, unknown>[] };
      const first = doc.equipment[0] ?? {};
      // The feed repeats the same unusable fix until the machine reports again.
      first.Location = { datetime: '2025-03-04T02:00:00Z', Latitude: 'abc', Longitude: 7.25 };
      return new Response(JSON.stringify(doc), { status: r.status, headers: r.headers });
    }) as typeof fetch;
    const built = simulatorProvider(t.store, t.clock, fetchOdd);
    const ingestor = new Ingestor({
      store: t.store,
      clock: t.clock,
      decoders: new DecoderRegistry().register('aemp', createAempEquipmentDecoder()),
      rules: [],
      identity: () => new IdentityIndex(assetsForMachines([3])),
      validation: DEFAULT_VALIDATION,
      defaultDestination: 'erp',
    });
    const deps = { client: built.client, store: t.store, sink: ingestor, clock: t.clock };
    for (let i = 0; i < 3; i++) {
      const snap = await fetchEquipmentSnapshot(deps, pin, { submit: true });
      expect(snap.match).toMatchObject({ status: 'matched', erpAssetId: 'EQ-3' });
      t.clock.advance(16 * 60_000);
    }
    const entries = await t.store.listQuarantine({});
    expect(entries.map((q) => [q.code, q.repeats])).toEqual([['undecodable', 2]]);
    expect(entries[0]?.reason).toContain(`trackunit: machine ${pin}: Location block: Location: latitude "abc" is not a number`);
  });
});

describe('single-element snapshot the provider answers with a page that cannot be read', () => {
  it('keeps the page in the quarantine as received and says which entry, instead of dropping it', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([3]));
    const pin = machineHeader(3).pin!;
    const body = '{"Equipment": [{"EquipmentHeader": {"Model": "trunc';
    t.sim.breakPage(`/Fleet/Equipment/ID/${pin}?`, body);
    const snap = await fetchEquipmentSnapshot(t.deps, pin, { submit: true });
    expect(snap).toMatchObject({ equipment: undefined, unreadable: { error: expect.stringMatching(/cannot be read/) as unknown, entry: expect.any(Number) as unknown } });
    const [entry] = await t.store.listQuarantine({ ids: [snap.unreadable!.entry!], limit: 1 });
    expect(entry).toMatchObject({ code: 'unreadable-page', channel: expect.stringContaining(`/Fleet/Equipment/ID/${pin}`) as unknown });
    expect(Buffer.from(entry!.payload).toString()).toBe(body);
    expect(entry!.reason).toMatch(/^trackunit: single-machine page \S+ \(HTTP 200, application\/json, \d+ bytes\) cannot be read: /);
    expect(t.sink.messages).toEqual([]);
  });
});

describe('backfill of machines without a PIN', () => {
  it('asks the time-series API by the SerialNumber Trackunit reports (the device serial when the machine serial is unknown)', async () => {
    const t = setup();
    // Machine 5 has no PIN: Trackunit reports its device serial in SerialNumber and asks time series by it
    // (reference sample page 1, second machine, and its Distance series at .../ID/2409317/...).
    await t.store.upsertAssets(assetsForMachines([5], 'machine-id'));
    await runFleetPull(t.deps);
    const device = machineHeader(5).telematicSerialNumber;
    const summary = await runBackfill(t.deps, { from: T0 - 48 * HOUR, to: T0, elements: ['CumulativeOperatingHours'] });
    expect(summary.skipped.filter((s) => s.reason !== 'not matched to an ERP asset')).toEqual([]);
    expect(summary).toMatchObject({ complete: true, equipment: 1, seriesDone: 1, notFound: 0, readings: 49 });
    expect([...t.sim.stats.byUrl.keys()].some((u) => u.includes(`/Fleet/Equipment/ID/${device}/CumulativeOperatingHours/`))).toBe(true);
    expect(t.sink.refused).toEqual([]);
  });

  it('readings the engine would refuse (older than ingest.maxAgeMs) go apart; the rest of their chunk gets in', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0], 'machine-id'));
    await runFleetPull(t.deps);
    // As the engine does: a message with any event that fails validation is quarantined whole.
    const validation = { maxFutureSkewMs: 5 * 60_000, maxAgeMs: 24 * HOUR };
    const decode = createAempEquipmentDecoder();
    const accepted: CanonicalEvent[] = [];
    const sink = {
      submit(messages: readonly RawMessage[]) {
        const quarantined: { index: number; reason: string }[] = [];
        messages.forEach((m, index) => {
          const r = decode(m);
          const bad = r.ok ? r.events.map((e) => validateEvent(e, t.clock.now(), validation)).find((v) => !v.ok) : undefined;
          if (r.ok && bad === undefined) accepted.push(...r.events);
          else quarantined.push({ index, reason: bad && !bad.ok ? bad.reason : 'undecodable' });
        });
        return Promise.resolve({ accepted: messages.length - quarantined.length, quarantined });
      },
    };
    const summary = await runBackfill({ ...t.deps, sink, validation }, { from: T0 - 48 * HOUR, to: T0, elements: ['CumulativeOperatingHours'] });
    // Counted in readings, as `readings` is ("49 reading(s): 1 accepted, 1 quarantined" read as 47 lost).
    expect(summary).toMatchObject({ complete: true, readings: 49, accepted: 25, quarantined: 24 });
    expect(accepted.map((e) => e.eventTime).every((time) => time >= T0 - 24 * HOUR)).toBe(true);
    expect(accepted).toHaveLength(25);
  });
});
