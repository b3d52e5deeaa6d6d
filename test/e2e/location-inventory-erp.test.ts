/**
 * What reaches the ERP for location sync, meter readings and inventory counts, through the real
 * app (HTTP intake shape → rules → outbox → dispatcher → REST connector → ERP simulator) with the
 * simulator's faults: dead letters and their replay, coalescing while the ERP lags, and count
 * revisions around failures.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { inventoryReport, type InventoryRunSummary } from '../../src/engine/tasks/inventory-sync.js';
import { appInventoryOptions, appInventoryRun } from '../helpers/app-inventory.js';
import { startErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import { startErpApp, type ErpApp, type ErpAppOptions } from '../helpers/erp-app.js';
import { tempStorePath } from '../helpers/temp-store.js';
import { waitFor } from '../helpers/wait.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const setup = (options: ErpAppOptions = {}): Promise<ErpApp> => startErpApp(cleanup, options);

const T0 = Date.now() - 3_600_000;

function position(tag: string, secondsAfterT0: number, lat: number, zone?: string) {
  return {
    source: 'http',
    channel: '/v1/events',
    receivedAt: Date.now(),
    payload: JSON.stringify({ kind: 'position', assetId: tag, eventTime: T0 + secondsAfterT0 * 1000, lat, lng: 8, ...(zone !== undefined ? { zone } : {}) }),
  };
}

async function drained(app: App): Promise<void> {
  await waitFor(async () => {
    const [s] = await app.store.outboxStats(Date.now());
    return s !== undefined && s.pending === 0 && s.inflight === 0;
  }, 'outbox drained');
}

describe('location and meter updates at the ERP', () => {
  it('replaying every dead letter of one asset sends its newest location once (two dead updates of one key)', async () => {
    const { app, erp } = await setup();
    // The ERP refuses location writes for a while: both updates of EQ-1 end dead.
    const refuse = erp.faults.add({ kind: 'error', status: 400, probability: 1, path: '/location' });
    expect((await app.ingestor.submit([position('t1', 0, 50, 'A')])).accepted).toBe(1);
    await waitFor(async () => (await app.store.listDeliveries({ status: 'dead' })).length === 1, 'first update dead');
    expect((await app.ingestor.submit([position('t1', 60, 51, 'B')])).accepted).toBe(1);
    await waitFor(async () => (await app.store.listDeliveries({ status: 'dead' })).length === 2, 'second update dead');
    erp.faults.clear(refuse);

    // The operator fixed the ERP and replays every dead letter.
    await app.store.replayDead('all', Date.now());
    app.dispatcher.notify();
    await drained(app);
    const state = erp.state();
    expect(state.locations['EQ-1']).toMatchObject({ warehouseLocation: 'B', coordinates: { lat: 51, lng: 8 } });
    expect(erp.counters().outOfOrderStateWrites).toBe(0);
    expect(erp.counters().applied.location).toBe(1); // the older replayed value was superseded, not sent
  });

  it('a lagging, flaky ERP and a restart with updates in flight end at each asset\'s newest location and meter, never going back', async () => {
    const storePath = tempStorePath();
    // Attempts 10-50 ms apart: 20 of them fit in a second, which a loaded CI machine can stall for
    // (every request then times out, and a delivery ran out of attempts: dead, once, under load).
    const first = await setup({ storePath, timeoutMs: '250ms', maxAttempts: 1000 });
    const erp = first.erp;
    erp.faults.add({ kind: 'latency', latencyMs: 40, probability: 0.5 });
    erp.faults.add({ kind: 'lost-response', probability: 0.2 });
    erp.faults.add({ kind: 'error', status: 429, retryAfterSeconds: 0, probability: 0.1 });
    erp.faults.add({ kind: 'timeout', probability: 0.05 });
    const meter = (tag: string, s: number, hours: number) => ({
      source: 'http',
      channel: '/v1/events',
      receivedAt: Date.now(),
      payload: JSON.stringify({ kind: 'meter', assetId: tag, eventTime: T0 + s * 1000, operatingHours: hours }),
    });
    // Each step moves both assets 1 km (a sync each) and adds 0.01 h.
    const step = (k: number) => ['t1', 't2'].flatMap((tag) => [position(tag, k * 10, 50 + k * 0.01, `Z${k % 3}`), meter(tag, k * 10, 100 + k * 0.01)]);
    for (let k = 1; k <= 20; k++) expect((await first.app.ingestor.submit(step(k))).accepted).toBe(4);
    // Stop with deliveries in flight (a hanging request is aborted after the grace), then start again on the same store.
    await first.app.stop();
    const second = await setup({ storePath, timeoutMs: '250ms', maxAttempts: 1000, erp });
    for (let k = 21; k <= 40; k++) expect((await second.app.ingestor.submit(step(k))).accepted).toBe(4);
    await drained(second.app);
    const [stats] = await second.app.store.outboxStats(Date.now());
    expect(stats?.dead).toBe(0);
    // Never sent older after newer. A request the client gave up on can still land late (counted apart,
    // `outOfOrderLateLandings`): the newer value sent again after `unknownOutcomeSettleMs` repairs it, as the final state shows.
    expect(erp.counters().outOfOrderStateWrites).toBe(0);
    const state = erp.state();
    for (const id of ['EQ-1', 'EQ-2']) {
      expect(state.locations[id]).toMatchObject({ warehouseLocation: 'Z1', coordinates: { lat: 50.4, lng: 8 }, lastSeen: new Date(T0 + 400_000).toISOString() });
      const readings = state.meterReadings.filter((r) => r.erpAssetId === id);
      expect(readings.at(-1)).toMatchObject({ operatingHours: 100.4, readingAt: new Date(T0 + 400_000).toISOString() });
      // Sent oldest first (ERP reference: readings must be sent in time order per meter): the
      // simulator counts an older reading sent while its client waited in outOfOrderStateWrites (0, above).
    }
  }, 60_000);

});

const ITEMS = Array.from({ length: 6 }, (_, i) => ({ erpAssetId: `P-${i}`, erpModule: 'inventory', attributes: { sku: i < 4 ? 'PAL' : 'DRUM' }, identifiers: [{ type: 'tag', value: `p${i}` }] }));

/** One inventory run, as the scheduled task makes it (the service's own runs are an hour apart here). */
async function inventoryRun(app: App, full = false): Promise<InventoryRunSummary> {
  if (full) await app.store.kvSet('inventory', 'snapshotRequestedAt', String(Date.now()));
  else await app.store.kvSet('inventory', 'lastFullAt', String(Date.now())); // no cron snapshot in between
  return appInventoryRun(app);
}

const inventoryRules = { inventory: { changesEvery: '1h', freshness: '30d' }, location: { enabled: false } };

describe('zone sightings from fixed readers (a configured zone, no lat/lng)', () => {
  const zones = { inline: [{ name: 'DOCK-1', locationCode: 'D1', circle: { lat: 50, lng: 8, radiusM: 30 } }, { name: 'YARD', locationCode: 'Y1', circle: { lat: 50.1, lng: 8, radiusM: 300 } }] };
  const sighting = (tag: string, secondsAfterT0: number, zone: string) => ({
    source: 'http',
    channel: '/v1/events',
    receivedAt: Date.now(),
    payload: JSON.stringify({ kind: 'position', assetId: tag, eventTime: T0 + secondsAfterT0 * 1000, zone }),
  });

  it('move an asset to its zone\'s location at the ERP (coordinates null) and count an item there; an older one moves nothing back; an unknown zone is quarantined', async () => {
    const { app, erp } = await setup({ rules: { zones, inventory: { changesEvery: '1h', freshness: '30d' } }, assets: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 't1' }] }, ITEMS[0]] });
    expect(await app.ingestor.submit([sighting('t1', 60, 'DOCK-1'), sighting('p0', 60, 'DOCK-1')])).toEqual({ accepted: 2, quarantined: [] });
    await drained(app);
    expect(erp.state().locations['EQ-1']).toMatchObject({ warehouseLocation: 'D1', coordinates: null, lastSeen: new Date(T0 + 60_000).toISOString() });

    // A reader's backlog: a sighting from before, in the yard. Late: the ERP stays at the dock.
    expect((await app.ingestor.submit([sighting('t1', 30, 'YARD')])).accepted).toBe(1);
    // A reader whose zone is not configured: quarantined with the zone and the configured ones named.
    const unknown = await app.ingestor.submit([sighting('t1', 90, 'GATE-7')]);
    expect(unknown.quarantined).toEqual([{ index: 0, reason: 'zone sighting in unknown zone "GATE-7": a sighting without lat/lng must name a configured zone (configured zones: "DOCK-1", "YARD")' }]);
    expect(await app.store.listQuarantine({ status: 'open' })).toMatchObject([{ code: 'invalid', reason: expect.stringContaining('"GATE-7"') }]);
    await drained(app);
    expect(erp.state().locations['EQ-1']).toMatchObject({ warehouseLocation: 'D1', coordinates: null });
    expect(erp.counters().applied.location).toBe(2); // EQ-1's and the pallet's (location sync applies to all assets here), once each

    await inventoryRun(app);
    await drained(app);
    expect(erp.state().inventory['D1|PAL']?.quantity).toBe(1);
  });
});

describe('inventory counts through faults', () => {
  it('every revision of a cell reaches the ERP once and in order; totals and deltas agree with the ERP (flaky ERP, with and without idempotency)', async () => {
    for (const idempotency of [true, false]) {
      const { app, erp } = await setup({ idempotency, rules: inventoryRules, assets: ITEMS, timeoutMs: '300ms', maxAttempts: 1000 });
      erp.faults.add({ kind: 'lost-response', probability: 0.25 });
      erp.faults.add({ kind: 'error', status: 503, probability: 0.1 });
      erp.faults.add({ kind: 'reset', probability: 0.05 });
      erp.faults.add({ kind: 'timeout', probability: 0.05 });
      let second = 0;
      const zones = ['WH-1', 'WH-2', 'WH-3'];
      for (let round = 0; round < 12; round++) {
        const moves = ITEMS.filter((_, i) => (i + round) % 3 !== 0).map((item, k) => position(item.identifiers[0]!.value, ++second, 50, zones[(round + k) % zones.length]));
        expect((await app.ingestor.submit(moves)).accepted).toBe(moves.length);
        await inventoryRun(app, round % 5 === 4);
        await new Promise((r) => setTimeout(r, 30));
      }
      try {
        await drained(app);
      } catch (err) {
        const rows = await app.store.listDeliveries({ limit: 1000 });
        console.log(JSON.stringify(await app.store.outboxStats(Date.now())), rows.filter((r) => r.status !== 'delivered').map((r) => [r.id, r.status, r.businessKey, r.attempts, r.nextAttemptAt - Date.now(), r.lastError]));
        console.log(JSON.stringify(app.dispatcher.metrics()), JSON.stringify(erp.counters()));
        throw err;
      }
      const [stats] = await app.store.outboxStats(Date.now());
      expect(stats?.dead).toBe(0);
      const state = erp.state();
      // Each cell: the ERP's total is what was counted last, and its documents' deltas add up to it.
      const report = await app.store.kvGet('inventory', 'sent:erp');
      const sent = JSON.parse(report ?? '{}') as { cells: Record<string, { quantity: number; revision: number }> };
      const queued = (await app.store.listDeliveries({ operation: 'inventory.count', limit: 10_000 })).sort((x, y) => x.id - y.id);
      for (const [key, cell] of Object.entries(sent.cells)) {
        const [location, sku] = key.split('\u001f') as [string, string];
        const docs = state.inventoryCounts.filter((c) => c.location === location && c.sku === sku);
        // Every revision queued for the cell, once each, in the order queued (rising, up to the last one sent).
        const revisions = queued.filter((d) => d.payload.location === location && d.payload.sku === sku).map((d) => d.payload.revision as number);
        expect(revisions.at(-1)).toBe(cell.revision);
        expect(revisions).toEqual([...new Set(revisions)].sort((x, y) => x - y));
        expect(docs.map((d) => d.revision), `${location}/${sku} revisions (idempotency ${idempotency})`).toEqual(revisions);
        expect(docs.reduce((n, d) => n + (d.delta ?? 0), 0)).toBe(cell.quantity);
        expect(state.inventory[`${location}|${sku}`]?.quantity ?? 0).toBe(cell.quantity);
      }
      expect(erp.counters()).toMatchObject({ outOfOrderStateWrites: 0, duplicateInventoryCounts: 0 });
      for (const c of cleanup.splice(0).reverse()) await c();
    }
  }, 60_000);

  it('a count given up with dlq discard is sent again by the next run: the deltas the ERP applied add up to the count', async () => {
    const { app, erp } = await setup({ rules: inventoryRules, assets: ITEMS });
    const deltas = (location: string, sku: string) => erp.state().inventoryCounts.filter((c) => c.location === location && c.sku === sku).reduce((n, c) => n + (c.delta ?? 0), 0);
    // Four pallets at WH-1; the ERP refuses the count (a 400: dead at once), and the operator gives up on it.
    expect((await app.ingestor.submit(ITEMS.slice(0, 4).map((item, k) => position(item.identifiers[0]!.value, k + 1, 50, 'WH-1')))).accepted).toBe(4);
    const refuse = erp.faults.add({ kind: 'error', status: 400, probability: 1, path: '/inventory/counts' });
    await inventoryRun(app);
    await waitFor(async () => (await app.store.listDeliveries({ status: 'dead' })).length === 1, 'count dead');
    erp.faults.clear(refuse);
    const [dead] = await app.store.listDeliveries({ status: 'dead' });
    expect(dead?.payload).toMatchObject({ location: 'WH-1', sku: 'PAL', countedQuantity: 4, delta: 4 });
    expect(await app.store.discardDead([dead!.id], Date.now())).toBe(1);
    // One pallet leaves for WH-2 meanwhile; `inventory counts` already shows what the next run sends.
    expect((await app.ingestor.submit([position('p0', 10, 50, 'WH-2')])).accepted).toBe(1);
    const report = await inventoryReport(app.store, appInventoryOptions(app), Date.now());
    expect(report.destinations[0]?.cells.map((c) => [c.location, c.quantity, c.sentQuantity, c.change])).toEqual([
      ['WH-1', 3, 0, 3],
      ['WH-2', 1, 0, 1],
    ]);
    await inventoryRun(app);
    await drained(app);
    expect(deltas('WH-1', 'PAL')).toBe(3);
    expect(deltas('WH-2', 'PAL')).toBe(1);
    expect(erp.state().inventory['WH-1|PAL']?.quantity).toBe(3);
    // Given back once: a later run with nothing new sends nothing.
    const before = erp.state().inventoryCounts.length;
    await inventoryRun(app);
    await drained(app);
    expect(erp.state().inventoryCounts.length).toBe(before);
  }, 30_000);

  it('a count whose answer was lost is a dead letter that may have landed; recorded as delivered, its change is not sent again', async () => {
    const erp = await startErpSimulator({ token: 'erp-token', seed: 3, inventoryTakes: 'delta' });
    cleanup.push(() => erp.close());
    const { app } = await setup({ erp, rules: inventoryRules, assets: ITEMS, maxAttempts: 1 });
    const onHand = () => erp.state().inventory['WH-1|PAL']?.quantity;
    // Four pallets at WH-1; the ERP applies the count, but its answer never arrives (one attempt: dead at once).
    expect((await app.ingestor.submit(ITEMS.slice(0, 4).map((item, k) => position(item.identifiers[0]!.value, k + 1, 50, 'WH-1')))).accepted).toBe(4);
    const lose = erp.faults.add({ kind: 'lost-response', probability: 1, path: '/inventory/counts' });
    await inventoryRun(app);
    const [dead] = await waitFor(async () => {
      const rows = await app.store.listDeliveries({ status: 'dead' });
      return rows.length ? rows : undefined;
    }, 'count dead');
    erp.faults.clear(lose);
    expect(dead).toMatchObject({ mayHaveLanded: true, payload: { countedQuantity: 4, delta: 4 } });
    expect(onHand()).toBe(4); // it did land
    // The operator finds it in the ERP and records it as delivered; one pallet leaves for WH-2.
    expect(await app.store.markDelivered([dead!.id], Date.now())).toEqual([dead!.id]);
    expect((await app.ingestor.submit([position('p0', 10, 50, 'WH-2')])).accepted).toBe(1);
    const report = await inventoryReport(app.store, appInventoryOptions(app), Date.now());
    expect(report.destinations[0]?.cells.map((c) => [c.location, c.quantity, c.sentQuantity, c.change])).toEqual([
      ['WH-1', 3, 4, -1],
      ['WH-2', 1, 0, 1],
    ]);
    await inventoryRun(app);
    await drained(app);
    // Only the change since: a discard would have sent the four again (seven at an ERP that takes deltas).
    expect(onHand()).toBe(3);
    expect(erp.state().inventory['WH-2|PAL']?.quantity).toBe(1);
  }, 30_000);

  it('a snapshot corrects an ERP that takes deltas after a quantity was edited there by hand, reading its on-hand first; a cell with a dead count is not read', async () => {
    const erp = await startErpSimulator({ token: 'erp-token', seed: 3, inventoryTakes: 'delta' });
    cleanup.push(() => erp.close());
    const { app } = await setup({ erp, rules: inventoryRules, assets: ITEMS, paths: { inventoryOnHand: '/api/v1/inventory/on-hand?location={location}&sku={sku}' } });
    const onHand = (location: string, sku: string) => erp.state().inventory[`${location}|${sku}`]?.quantity;
    // Four pallets at WH-1, a drum at WH-2: sent and applied as deltas.
    expect((await app.ingestor.submit([...ITEMS.slice(0, 5).map((item, k) => position(item.identifiers[0]!.value, k + 1, 50, item.attributes.sku === 'PAL' ? 'WH-1' : 'WH-2'))])).accepted).toBe(5);
    expect((await inventoryRun(app)).reconciled).toEqual({}); // changes runs read nothing
    await drained(app);
    expect([onHand('WH-1', 'PAL'), onHand('WH-2', 'DRUM')]).toEqual([4, 1]);
    // A second drum arrives at WH-2; the ERP refuses that count (dead: its +1 has not landed).
    expect((await app.ingestor.submit([position('p5', 10, 50, 'WH-2')])).accepted).toBe(1);
    const refuse = erp.faults.add({ kind: 'error', status: 400, probability: 1, path: '/inventory/counts' });
    await inventoryRun(app);
    await waitFor(async () => (await app.store.listDeliveries({ status: 'dead' })).length === 1, 'count dead');
    erp.faults.clear(refuse);
    // Someone edits both cells in the ERP by hand.
    erp.setOnHand('WH-1', 'PAL', 9);
    erp.setOnHand('WH-2', 'DRUM', 7);
    const snapshot = await inventoryRun(app, true);
    expect(snapshot).toMatchObject({ mode: 'full', reconciled: { erp: 1 }, readFailed: {}, badQuantity: 0 });
    await drained(app);
    const last = (location: string, sku: string) => erp.state().inventoryCounts.filter((c) => c.location === location && c.sku === sku).at(-1);
    // WH-1 was read (9 on hand): the snapshot's delta is 4 − 9, and the ERP holds the count again.
    expect(last('WH-1', 'PAL')).toMatchObject({ countedQuantity: 4, delta: -5, previousQuantity: 9, snapshot: true });
    expect(onHand('WH-1', 'PAL')).toBe(4);
    // WH-2 was not read (its dead count's change may still be replayed): its delta is against what was sent.
    expect(last('WH-2', 'DRUM')).toMatchObject({ countedQuantity: 2, delta: 0, previousQuantity: 2, snapshot: true });
    expect(onHand('WH-2', 'DRUM')).toBe(7);
    // Once the dead count is given up, the next snapshot reads WH-2 too and sets it right.
    const [dead] = await app.store.listDeliveries({ status: 'dead' });
    expect(await app.store.discardDead([dead!.id], Date.now())).toBe(1);
    expect(await inventoryRun(app, true)).toMatchObject({ mode: 'full', reconciled: { erp: 2 }, givenBack: { erp: 1 } });
    await drained(app);
    expect([onHand('WH-1', 'PAL'), onHand('WH-2', 'DRUM')]).toEqual([4, 2]);
  }, 30_000);
});
