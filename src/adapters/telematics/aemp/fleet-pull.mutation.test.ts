/**
 * Mutation-audit tests for the fleet pull: when an interrupted pull resumes (and when it starts
 * over), what a resumed pull keeps of its first run, the page estimate, the final cursor write,
 * confirmed matches on later pulls, machines without identifiers, and a stopped pull.
 */
import { describe, expect, it } from 'vitest';
import { machineHeader } from '../../../../simulators/trackunit/fleet.js';
import { createTrackunitSimulator, type TrackunitSimulatorOptions } from '../../../../simulators/trackunit/simulator.js';
import { FakeClock, MemoryKv, RecordingSink, assetsForMachines, simulatorProvider, simulatorFetch } from '../../../../simulators/trackunit/test-support.js';
import { useTempStores } from '../../../../test/helpers/temp-stores.js';
import { telematicsSchema } from '../../../config/telematics-schema.js';
import { createAempProvider } from './aemp-provider.js';
import { CURSOR_NAMESPACE, loadCursor, runFleetPull, type FleetPullDeps, type PullProgress } from './fleet-pull.js';
import { ProviderRateLimiter } from './request-budget.js';
import { confirmReview, listReview, loadEquipmentIndex } from './review-list.js';

const T0 = Date.UTC(2025, 2, 4, 3, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const newStore = useTempStores();

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

/** A fetch served by the simulator that, like a real one, refuses to start once its signal is aborted. */
function abortableFetch(inner: typeof fetch): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) => (init?.signal?.aborted ? Promise.reject(init.signal.reason as Error) : inner(input, init)));
}

function setup(simOptions: TrackunitSimulatorOptions = {}) {
  const clock = new FakeClock(T0);
  const sim = createTrackunitSimulator({ fleetSize: 250, now: clock.now, ...simOptions });
  const store = newStore();
  const sink = new RecordingSink();
  const built = simulatorProvider(store, clock, abortableFetch(simulatorFetch(sim)));
  const pull = (opts: Parameters<typeof runFleetPull>[1] = {}, progress?: PullProgress, s: FleetPullDeps['store'] = store) =>
    runFleetPull({ client: built.client, store: s, sink, clock, ...(progress ? { progress } : {}) }, opts);
  return { clock, sim, store, sink, built, pull };
}

/** Pull once with the second page's submit failing: the cursor then points at page 2. */
async function interrupted(t: ReturnType<typeof setup>) {
  t.sink.failOnBatch = 2;
  const first = await t.pull();
  expect(first).toMatchObject({ complete: false, stop: 'error', pages: 1 });
  return first;
}

describe('fleet pull: resuming or starting over', () => {
  // Kills: the `resumeWithin` age check dropped (a day-old cursor resumed).
  it('starts over at the first page when the interrupted pull is older than resumeWithin (12 h)', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines(range(250), 'machine-id'));
    await interrupted(t);
    t.clock.advance(13 * HOUR);
    const again = await t.pull();
    expect(again.resumedFrom).toBeUndefined();
    expect(again).toMatchObject({ complete: true, pages: 3, equipment: 250 });
    expect(await loadCursor(t.store, 'trackunit')).toMatchObject({ complete: true, pages: 3, startedAt: again.startedAt });
    expect(again.startedAt).toBeGreaterThanOrEqual(T0 + 13 * HOUR);
  });

  // Kills: `--restart` ignored.
  it('starts over at the first page when asked to restart, even with a resumable cursor', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines(range(250), 'machine-id'));
    await interrupted(t);
    t.clock.advance(15 * MIN);
    const again = await t.pull({ restart: true });
    expect(again.resumedFrom).toBeUndefined();
    expect(again).toMatchObject({ complete: true, pages: 3, equipment: 250 });
    expect(t.sim.stats.byUrl.size).toBe(3);
  });

  // Kills: the finished pull forgetting page records by this run's start instead of the pull's first run.
  it('keeps the pages its first run stored when a resumed pull reads the snapshot to its end', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines(range(150), 'machine-id'));
    await interrupted(t);
    t.clock.advance(15 * MIN);
    const resumed = await t.pull();
    expect(resumed).toMatchObject({ complete: true, pages: 2, resumedFrom: expect.stringContaining('/Fleet/2') as unknown });
    expect(resumed.notes.join(' ')).not.toMatch(/forgot/);
    expect(await loadEquipmentIndex(t.store, 'trackunit')).toHaveLength(250);
    // Machines 0..149 matched (page 1 stored by the first run); the review list holds 150..249.
    const index = await loadEquipmentIndex(t.store, 'trackunit');
    expect(index.find((e) => e.ids.some((i) => i.value === machineHeader(0).machineId))?.erpAssetId).toBe('EQ-0');
    expect(await listReview(t.store)).toHaveLength(100);
  });
});

describe('fleet pull: progress, cursor and identity', () => {
  // Kills: `last >= current` → `last > current` (no estimate on the last page).
  it('estimates the page count from the last link also on the last page', async () => {
    const t = setup({ fleetSize: 40 });
    const estimates: (number | undefined)[] = [];
    await t.pull({}, { page: ({ estimatedPages }) => void estimates.push(estimatedPages) });
    expect(estimates).toEqual([1]);
  });

  // Kills: `complete` computed without the error (a pull whose final cursor write failed called complete).
  it('does not report a pull complete when its final cursor write failed', async () => {
    const t = setup({ fleetSize: 40 });
    const failing: FleetPullDeps['store'] = {
      kvGet: (ns, key) => t.store.kvGet(ns, key),
      kvList: (ns) => t.store.kvList(ns),
      kvDelete: (ns, key) => t.store.kvDelete(ns, key),
      listAssets: () => t.store.listAssets(),
      addQuarantine: (q) => t.store.addQuarantine(q),
      kvSet: (ns, key, value) => (ns === CURSOR_NAMESPACE && value.includes('"complete":true') ? Promise.reject(new Error('disk full')) : t.store.kvSet(ns, key, value)),
    };
    const summary = await t.pull({}, undefined, failing);
    expect(summary).toMatchObject({ complete: false, stop: 'error' });
    expect(summary.error).toMatch(/disk full/);
  });

  // Kills: a confirmed match whose identifiers also point at another asset submitted unchanged on later pulls.
  it('on later pulls submits a confirmed machine without the identifiers that point at another asset', async () => {
    const t = setup({ fleetSize: 20 });
    const h = machineHeader(1);
    await t.store.upsertAssets([
      { asset: { erpAssetId: 'EQ-A', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'pin', value: h.pin!, erpAssetId: 'EQ-A' }] },
      { asset: { erpAssetId: 'EQ-B', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'external-ref', value: h.externalReferenceNumber!, erpAssetId: 'EQ-B' }] },
    ]);
    await t.pull();
    await confirmReview({ store: t.store, now: t.clock.now() }, h.pin!, 'EQ-A');
    t.clock.advance(15 * MIN);
    const before = t.sink.messages.length;
    expect(await t.pull()).toMatchObject({ matched: 1, ambiguous: 0 });
    const submitted = t.sink.messages.slice(before);
    expect(submitted).toHaveLength(1);
    expect(String(submitted[0]!.payload)).toContain(h.pin!);
    expect(String(submitted[0]!.payload)).not.toContain(h.externalReferenceNumber!);
    expect(t.sink.refused).toEqual([]);
  });

  // Kills: stop 'aborted' reported as 'error'.
  it('says a stopped pull was stopped, keeps its cursor, and the next pull resumes there', async () => {
    const t = setup({ fleetSize: 1000 });
    const stop = new AbortController();
    const summary = await t.pull({ signal: stop.signal }, { page: ({ pages }) => (pages === 1 ? stop.abort(new Error('SIGINT')) : undefined) });
    expect(summary).toMatchObject({ complete: false, stop: 'aborted' });
    expect(summary.error).toMatch(/stopped; it resumes where it left off/);
    expect(summary.pages).toBeLessThan(10);
    expect(summary.nextUrl).toContain(`/Fleet/${summary.pages + 1}?`);
    expect(await loadCursor(t.store, 'trackunit')).toMatchObject({ complete: false, nextUrl: summary.nextUrl });
    t.clock.advance(15 * MIN);
    const resumed = await t.pull();
    expect(resumed).toMatchObject({ complete: true, resumedFrom: summary.nextUrl, pages: 10 - summary.pages });
  });
});

describe('fleet pull: machines that name nothing', () => {
  // Kills: every identifier-less machine keyed alike (`anonymous`), so the review list shows only one of them.
  it('keeps each machine without any identifier as its own review entry', async () => {
    const BASE = 'https://feed.example/aemp';
    const equipment = ['A', 'B', 'C'].map((model) => ({ EquipmentHeader: { OEMName: 'Acme', Model: model }, Location: { datetime: '2025-03-04T00:00:00Z', Latitude: 50, Longitude: 8 } }));
    const fetchImpl = (() => Promise.resolve(Response.json({ Links: [{ rel: 'self', href: `${BASE}/Fleet/1` }, { rel: 'last', href: `${BASE}/Fleet/1` }], Equipment: equipment }))) as unknown as typeof fetch;
    const clock = new FakeClock(T0);
    const store = newStore();
    const config = telematicsSchema.parse({ name: 'feed', vendor: 'generic', baseUrl: BASE, auth: { type: 'bearer', token: 'k-123456' } });
    const { client } = createAempProvider(config, { store: new MemoryKv(), fetch: fetchImpl, clock, sleep: clock.sleep, limiter: new ProviderRateLimiter({ fleet: 5, equipment: 5, timeSeries: 5 }) });
    const summary = await runFleetPull({ client, store, sink: new RecordingSink(), clock });
    expect(summary).toMatchObject({ complete: true, equipment: 3, unmatched: 3 });
    const review = await listReview(store);
    expect(review.map((e) => e.header.model).sort()).toEqual(['A', 'B', 'C']);
    expect(new Set(review.map((e) => e.key)).size).toBe(3);
  });
});
