/**
 * Mutation-audit tests for backfill: a series counts as done only once its readings were stored,
 * series the provider lacks are asked again, refusals are not mistaken for missing series, a failure
 * stops the other machines, `restart`, confirmed identities, and pages listed newest first.
 */
import { describe, expect, it } from 'vitest';
import { machineHeader } from '../../../../simulators/trackunit/fleet.js';
import { createTrackunitSimulator } from '../../../../simulators/trackunit/simulator.js';
import { FakeClock, MemoryKv, RecordingSink, assetsForMachines, simulatorProvider, simulatorFetch } from '../../../../simulators/trackunit/test-support.js';
import { useTempStores } from '../../../../test/helpers/temp-stores.js';
import { telematicsSchema } from '../../../config/telematics-schema.js';
import { createAempProvider } from './aemp-provider.js';
import { runBackfill } from './backfill.js';
import { runFleetPull } from './fleet-pull.js';
import { ProviderRateLimiter } from './request-budget.js';
import { confirmReview } from './review-list.js';

const T0 = Date.UTC(2025, 2, 4, 3, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const openStore = useTempStores();

/** The simulator behind `wrap`, which may answer some requests itself. */
function setup(wrap: (inner: typeof fetch) => typeof fetch = (f) => f) {
  const clock = new FakeClock(T0);
  const sim = createTrackunitSimulator({ fleetSize: 30, now: clock.now, dataAgeMs: 0 });
  const store = openStore();
  const sink = new RecordingSink();
  const built = simulatorProvider(store, clock, wrap(simulatorFetch(sim)));
  return { clock, sim, store, sink, built, deps: { client: built.client, store, sink, clock } };
}

const urlOf = (input: string | URL | Request): string => (input instanceof Request ? input.url : String(input));
const pin0 = machineHeader(0).pin!;
const pin1 = machineHeader(1).pin!;
const hours = { from: T0 - 48 * HOUR, to: T0, elements: ['CumulativeOperatingHours'] };

describe('backfill: what a rerun asks again', () => {
  // Kills: series marked done before their readings were submitted (a failed submit lost them for good).
  it('asks a series again when its readings could not be stored', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0]));
    t.sink.failOnBatch = 1;
    const failed = await runBackfill(t.deps, { ...hours, identifiers: [pin0] });
    expect(failed).toMatchObject({ complete: false, seriesDone: 0 });
    expect(failed.error).toMatch(/store unavailable/);
    t.clock.advance(15 * MIN);
    const rerun = await runBackfill(t.deps, { ...hours, identifiers: [pin0] });
    expect(rerun).toMatchObject({ complete: true, seriesSkipped: 0, seriesDone: 1, readings: 49 });
    expect(t.sink.events.filter((e) => e.kind === 'meter')).toHaveLength(49);
  });

  it('a rerun after an interruption sends the readings an earlier run stored again only as a redelivery, so the rules do not flag them as out of order', async () => {
    // Bug: an unfinished series is asked again from its first page and every reading the earlier
    // run stored came again as new: older than the meter's accepted reading, each was flagged
    // out-of-order (assets meters --flagged) and counted as a late event.
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0]));
    const month = { from: T0 - 30 * 24 * HOUR, to: T0, elements: ['CumulativeOperatingHours'], identifiers: [pin0] };
    t.sink.failOnBatch = 2; // the first 500 readings stored, the rest not
    expect(await runBackfill(t.deps, month)).toMatchObject({ complete: false, accepted: 500 });
    const stored = t.sink.events.map((e) => e.eventTime);
    t.clock.advance(15 * MIN);
    const rerun = await runBackfill(t.deps, month);
    expect(rerun).toMatchObject({ complete: true, readings: 721, accepted: 721 });
    // The first 500 again (one chunk, a redelivery), then the 221 the first run did not store.
    expect(t.sink.batches.slice(1).map((b) => b.map((m) => m.redelivered ?? false))).toEqual([[true], [false]]);
    const decoded = t.sink.events.slice(stored.length);
    expect(decoded.slice(0, 500).map((e) => e.eventTime)).toEqual(stored);
    expect(Math.min(...decoded.slice(500).map((e) => e.eventTime))).toBeGreaterThan(Math.max(...stored));
  });

  // Kills: series the provider does not have (404) remembered as done.
  it('asks again for a series the provider did not have, instead of remembering it as done', async () => {
    const t = setup();
    await t.store.upsertAssets([{ asset: { erpAssetId: 'GHOST', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'pin', value: 'NOPE0000000000000', erpAssetId: 'GHOST' }] }]);
    const opts = { ...hours, identifiers: ['NOPE0000000000000'] };
    expect(await runBackfill(t.deps, opts)).toMatchObject({ complete: true, notFound: 1, seriesDone: 0 });
    t.clock.advance(15 * MIN);
    const rerun = await runBackfill(t.deps, opts);
    expect(rerun).toMatchObject({ complete: true, notFound: 1, seriesSkipped: 0, requests: 1 });
  });

  // Kills: `restart` ignored (finished series skipped anyway).
  it('fetches finished series again when asked to restart', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0]));
    expect(await runBackfill(t.deps, { ...hours, identifiers: [pin0] })).toMatchObject({ complete: true, seriesDone: 1 });
    t.clock.advance(15 * MIN);
    const again = await runBackfill(t.deps, { ...hours, identifiers: [pin0], restart: true });
    expect(again).toMatchObject({ complete: true, seriesSkipped: 0, seriesDone: 1, readings: 49, requests: 1 });
  });
});

describe('backfill: failures', () => {
  // Kills: every request error counted as "not offered" (a 403 hidden as a 404 and the backfill called complete).
  it('stops with the reason when the provider refuses a series, rather than counting it as not offered', async () => {
    const t = setup((inner) => ((input: string | URL | Request, init?: RequestInit) =>
      urlOf(input).includes('/CumulativeOperatingHours/')
        ? Promise.resolve(Response.json({ status: 403, code: 'forbidden', message: 'package required' }, { status: 403 }))
        : inner(input, init)));
    await t.store.upsertAssets(assetsForMachines([0]));
    const summary = await runBackfill(t.deps, { ...hours, identifiers: [pin0] });
    expect(summary).toMatchObject({ complete: false, notFound: 0, seriesDone: 0 });
    expect(summary.error).toMatch(/forbidden \(HTTP 403: package required\).*Evolve & Expand/);
  });

  // Kills: a failing machine not ending the requests of the others still under way (`stop.abort` dropped).
  it("ends the other machines' requests still under way when one machine fails", async () => {
    const t = setup((inner) => ((input: string | URL | Request, init?: RequestInit) => {
      const url = urlOf(input);
      if (url.includes(`/ID/${pin0}/`)) return Promise.resolve(Response.json({ status: 403, message: 'package required' }, { status: 403 }));
      if (url.includes(`/ID/${pin1}/`)) {
        // Never answers; only the request's own signal ends it.
        return new Promise<Response>((_resolve, reject) => {
          const signal = init?.signal;
          if (signal?.aborted) return reject(signal.reason as Error);
          signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
        });
      }
      return inner(input, init);
    }));
    await t.store.upsertAssets(assetsForMachines([0, 1]));
    const summary = await runBackfill(t.deps, { ...hours, identifiers: [pin0, pin1], concurrency: 2 });
    expect(summary).toMatchObject({ complete: false, seriesDone: 0 });
    expect(summary.error).toMatch(/HTTP 403/);
  }, 4000);
});

describe('backfill: what is submitted', () => {
  // Kills: a confirmed machine backfilled with the identifiers that point at another asset.
  it('submits a confirmed machine without the identifiers that point at another asset', async () => {
    const t = setup();
    const h = machineHeader(1);
    await t.store.upsertAssets([
      { asset: { erpAssetId: 'EQ-A', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'pin', value: h.pin!, erpAssetId: 'EQ-A' }] },
      { asset: { erpAssetId: 'EQ-B', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'external-ref', value: h.externalReferenceNumber!, erpAssetId: 'EQ-B' }] },
    ]);
    await runFleetPull(t.deps);
    await confirmReview({ store: t.store, now: t.clock.now() }, h.pin!, 'EQ-A');
    const before = t.sink.messages.length;
    const summary = await runBackfill(t.deps, { ...hours, identifiers: [h.pin!] });
    expect(summary).toMatchObject({ complete: true, seriesDone: 1, readings: 49 });
    const submitted = t.sink.messages.slice(before);
    expect(submitted.length).toBeGreaterThan(0);
    for (const m of submitted) {
      expect(String(m.payload)).toContain(h.pin!);
      expect(String(m.payload)).not.toContain(h.externalReferenceNumber!);
    }
  });

  // A long page listed newest first reaches the engine oldest first, also across the messages it is
  // split into (the parser and the merge both order readings; this fails only if neither does).
  it('submits a long page listed newest first in event-time order, across messages too', async () => {
    const BASE = 'https://feed.example/aemp';
    const entries = Array.from({ length: 600 }, (_, i) => ({ datetime: new Date(T0 - (i + 1) * HOUR).toISOString(), hour: 5000 - i }));
    const fetchImpl = ((input: string | URL | Request) =>
      Promise.resolve(Response.json({ links: [{ rel: 'self', href: urlOf(input) }], cumulativeOperatingHours: entries }))) as typeof fetch;
    const clock = new FakeClock(T0);
    const store = openStore();
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-X', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'pin', value: 'PINX', erpAssetId: 'EQ-X' }] }]);
    const config = telematicsSchema.parse({ name: 'feed', vendor: 'generic', baseUrl: BASE, auth: { type: 'bearer', token: 'k-123456' }, profile: { timeSeriesWindow: 0 } });
    const { client } = createAempProvider(config, { store: new MemoryKv(), fetch: fetchImpl, clock, sleep: clock.sleep, limiter: new ProviderRateLimiter({ fleet: 5, equipment: 5, timeSeries: 5 }) });
    const sink = new RecordingSink();
    const summary = await runBackfill({ client, store, sink, clock }, { from: T0 - 30 * 24 * HOUR, to: T0, elements: ['CumulativeOperatingHours'], identifiers: ['PINX'] });
    expect(summary).toMatchObject({ complete: true, readings: 600 });
    expect(sink.batches.length).toBeGreaterThan(1);
    const times = sink.events.map((e) => e.eventTime);
    expect(times).toHaveLength(600);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });
});
