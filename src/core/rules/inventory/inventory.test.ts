import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { PositionEvent } from '../../model/events.js';
import { flushRules, simulateRules } from '../simulate.js';
import { ZoneIndex, type Zone } from '../zones/index.js';
import { EMPTY_SENT, countInventory, inventoryItemRows, parseQuantity, planInventoryCounts, withCurrentZoneCode, type InventoryItem } from './counts.js';
import { createInventoryRule, type InventoryItemState } from './inventory-rule.js';
import { createLocationSyncRule } from '../location-sync.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;
const bay = (name: string, code: string, lat: number): Zone => ({ name, locationCode: code, priority: 0, shape: { type: 'circle', lat, lng: 10, radiusM: 30 } });
const zones = { index: new ZoneIndex([bay('bay-a', 'WH1-A', 50), bay('bay-b', 'WH1-B', 50.01)], { hysteresisM: 5 }), dwell: { enterDwellMs: MIN, exitDwellMs: MIN }, maxAccuracyM: 0 };

const item = (id: string, sku: string, extra: Record<string, string> = {}): AssetRecord => ({ erpAssetId: id, erpModule: 'inventory', attributes: { sku, ...extra } });
const seen = (min: number, lat: number, zone?: string): PositionEvent => ({
  kind: 'position',
  source: 'test',
  ids: [{ type: 'tag', value: 'x' }],
  eventTime: T0 + min * MIN,
  receivedAt: T0 + min * MIN,
  lat,
  lng: 10,
  ...(zone ? { zone } : {}),
});

function track(asset: AssetRecord, events: PositionEvent[], opts: { withZones?: boolean; lateness?: number } = {}): InventoryItemState | undefined {
  const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: opts.lateness ?? 0, ...(opts.withZones === false ? {} : { zones }) });
  const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })));
  const f = flushRules([rule], r.states, new Map([[asset.erpAssetId, { asset, destination: 'erp' }]]), 0);
  return f.states.get(asset.erpAssetId)?.inventory as InventoryItemState | undefined;
}

describe('where items are', () => {
  it('an item is at the zone it has dwelt in, and stays there through border jitter', () => {
    const s = track(item('P-1', 'SKU-1'), [seen(0, 50), seen(2, 50), seen(3, 50.00028), seen(4, 50)]);
    expect(s).toMatchObject({ location: 'WH1-A', seenAt: T0 + 4 * MIN, since: T0 + 2 * MIN });
  });

  it('a reader-reported zone is used when no configured zone applies', () => {
    expect(track(item('P-2', 'SKU-1'), [seen(0, 40, 'DOCK-3')], { withZones: false })).toMatchObject({ location: 'DOCK-3' });
    expect(track(item('P-2', 'SKU-1'), [seen(0, 40)], { withZones: false })).toMatchObject({ location: null });
  });

  it('assets without a SKU are not tracked as inventory', () => {
    expect(track({ erpAssetId: 'EQ', erpModule: 'x', attributes: {} }, [seen(0, 50), seen(2, 50)])).toBeUndefined();
  });

  it('an item put down and not seen again counts where it was put once the dwell is over (idle watermark)', () => {
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones });
    const asset = item('P-9', 'SKU-1');
    const ctx = { asset, destination: 'erp', now: 0 };
    let s = rule.apply(undefined, seen(0, 40), ctx).state;
    s = rule.apply(s, seen(10, 50), ctx).state; // one sighting in bay A, then quiet
    expect(s).toMatchObject({ location: null });
    expect(rule.holds(s)).toBe(true);
    expect(rule.flush(s, ctx, T0 + 10.5 * MIN).state).toMatchObject({ location: null }); // not a minute yet
    const settled = rule.flush(s, ctx, T0 + 30 * MIN).state;
    expect(settled).toMatchObject({ location: 'WH1-A', seenAt: T0 + 10 * MIN, since: T0 + 11 * MIN }); // at WH1-A since its 1-minute dwell was over
    expect(rule.holds(settled)).toBe(false);
    // Seen there again, then taken away and not seen again: it leaves bay A once the exit dwell is over.
    const away = rule.apply(rule.apply(settled, seen(39.5, 50), ctx).state, seen(40, 40), ctx).state;
    expect(away).toMatchObject({ location: 'WH1-A' }); // leaving, not yet left
    expect(rule.flush(away, ctx, T0 + 60 * MIN).state).toMatchObject({ location: null, seenAt: T0 + 40 * MIN });
  });

  it('of two sightings of one time, the accurate one counts though the inaccurate one came first, with no lateness too (as location sync)', () => {
    const accurate = { ...zones, dwell: { enterDwellMs: 0, exitDwellMs: MIN }, maxAccuracyM: 50 };
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: accurate });
    const ctx = { asset: item('P-7', 'SKU-1'), destination: 'erp', now: 0 };
    const bad = { ...seen(0, 40, 'GATE-9'), accuracyM: 3000 }; // a cell-tower fallback with its tracker's own geofence
    const good = { ...seen(0, 50), accuracyM: 5 }; // in bay A
    const where = (events: PositionEvent[]) => {
      let s: InventoryItemState | undefined;
      const late = events.map((e) => {
        const r = rule.apply(s, e, ctx);
        s = r.state;
        return r.late === true;
      });
      return { late, location: s?.location, zones: s?.zones };
    };
    expect(where([good, bad])).toEqual({ late: [false, true], location: 'WH1-A', zones: { 'bay-a': { phase: 'inside', since: T0 } } });
    // It used to be late (a sighting of a time already decided), leaving the item at GATE-9.
    expect(where([bad, good])).toEqual({ late: [false, false], location: 'WH1-A', zones: { 'bay-a': { phase: 'inside', since: T0 } } });
    // Once placed: the accurate one of the time of an inaccurate one moves it, as it would have first.
    const moved = { ...seen(5, 50.01), accuracyM: 5 };
    expect(where([good, { ...bad, eventTime: T0 + 5 * MIN }, moved]).location).toBe('WH1-B');
    // Sent again, it is a duplicate; an older sighting is still late.
    expect(where([bad, good, good]).late).toEqual([false, false, false]);
    expect(where([bad, good, { ...seen(-1, 50.01), accuracyM: 5 }]).late).toEqual([false, false, true]);
  });

  it('late sightings do not move an item back', () => {
    const s = track(item('P-3', 'SKU-1'), [seen(10, 50.01), seen(12, 50.01), seen(1, 50), seen(3, 50)]);
    expect(s).toMatchObject({ location: 'WH1-B', seenAt: T0 + 12 * MIN });
  });
});

describe('an item in a zone renamed in the config (same place, same location code)', () => {
  const opts = { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 24 * 60 * MIN };
  const hall: Zone = { name: 'hall', locationCode: 'WH1', priority: 0, shape: { type: 'circle', lat: 50, lng: 10, radiusM: 2000 } };
  const renamedTo = (name: string, withHall: boolean) => ({ ...zones, index: new ZoneIndex([...(withHall ? [hall] : []), bay(name, 'WH1-A', 50), bay('bay-b', 'WH1-B', 50.01)], { hysteresisM: 5 }) });

  for (const withHall of [false, true])
    it(`stays counted under its code through the sightings that leave the old name and enter the new one${withHall ? ' (inside a larger zone)' : ''}`, () => {
      const asset = item('P-40', 'SKU-1', { quantity: '40' });
      const ctx = { asset, destination: 'erp', now: 0 };
      const before = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: withHall ? renamedTo('bay-a', true) : zones });
      let s = before.apply(undefined, seen(0, 50), ctx).state;
      s = JSON.parse(JSON.stringify(before.apply(s, seen(2, 50), ctx).state)) as InventoryItemState;
      expect(s).toMatchObject({ location: 'WH1-A', since: T0 + 2 * MIN });
      const tracking = renamedTo('bay-a-new', withHall);
      const after = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: tracking });
      const counted = (st: InventoryItemState | undefined) => [...(countInventory([{ asset, destination: 'erp', state: withCurrentZoneCode(st, tracking.index) }], T0 + 20 * MIN, opts).get('erp')?.values() ?? [])];
      // Each sighting used to count it nowhere (−40, then +40 once the new name's dwell was over: false adjustments for an ERP taking deltas).
      for (const min of [10, 10.5, 11, 11.5, 12]) {
        s = after.apply(s, seen(min, 50), ctx).state;
        expect(s).toMatchObject({ location: 'WH1-A', since: T0 + 2 * MIN });
        expect(counted(s)).toEqual([{ location: 'WH1-A', sku: 'SKU-1', quantity: 40, items: 1 }]);
      }
      expect(s.zones?.['bay-a']).toBeUndefined(); // left once the exit dwell was over
      expect(s.zones?.['bay-a-new']?.phase).toBe('inside');
      // Quiet after one sighting: the watermark that settles the dwell keeps it there too.
      const quiet = after.apply(JSON.parse(JSON.stringify(before.apply(before.apply(undefined, seen(0, 50), ctx).state, seen(2, 50), ctx).state)) as InventoryItemState, seen(10, 50), ctx).state;
      for (const at of [10.5, 11, 30]) expect(after.flush(quiet, ctx, T0 + at * MIN).state).toMatchObject({ location: 'WH1-A', since: T0 + 2 * MIN });
      // Taken away from the old name to bay B: counted there once it has left.
      let moved = after.apply(quiet, seen(20, 50.01), ctx).state;
      moved = after.apply(moved, seen(22, 50.01), ctx).state;
      expect(moved).toMatchObject({ location: 'WH1-B', since: T0 + 22 * MIN });
    });
});

describe('an item parked in a zone renamed in the config (same place, same location code), as location sync', () => {
  const hall = (name: string): Zone => ({ name, locationCode: 'WH1', priority: 0, shape: { type: 'circle', lat: 50, lng: 10, radiusM: 2000 } });
  const tracking = (names: readonly [string, string] | readonly [string]) =>
    ({ ...zones, index: new ZoneIndex([...(names.length === 2 ? [hall(names[1])] : []), bay(names[0], 'WH1-A', 50), bay('bay-b', 'WH1-B', 50.01)], { hysteresisM: 5 }) });
  const asset = item('P-46', 'SKU-1', { quantity: '40' });
  const ctx = { asset, destination: 'erp', now: 0 };
  // Put down in bay A at 0, there since 2 min; stored, and the service restarts.
  const parked = (names: readonly [string, string] | readonly [string]) => {
    const before = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: tracking(names) });
    return JSON.parse(JSON.stringify(before.apply(before.apply(undefined, seen(0, 50), ctx).state, seen(2, 50), ctx).state)) as InventoryItemState;
  };

  it('continues in the renamed bay at its first sighting: taken away to bay B, it counts in bay A until it has left it, never in no location', () => {
    const s = parked(['bay-a']);
    const after = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: tracking(['bay-a-new']) });
    let next = after.apply(s, seen(10, 50), ctx).state;
    // Was { 'bay-a': leaving since 10 min, 'bay-a-new': entering }: the old name's exit dwell timed from this sighting, in bay A.
    expect(next.zones).toEqual({ 'bay-a-new': { phase: 'inside', since: T0 + 10 * MIN } });
    expect(next).toMatchObject({ location: 'WH1-A', since: T0 + 2 * MIN });
    // Taken to bay B at 10.9 min: bay A is left, and bay B entered, a minute later (their dwells).
    const where: unknown[] = [];
    for (const min of [10.9, 11, 11.5, 11.9]) {
      next = after.apply(next, seen(min, 50.01), ctx).state;
      where.push(next.location);
    }
    // Was WH1-A, null, null, WH1-B: the old name left at 11 min, a minute after the first sighting, before bay B was entered.
    expect(where).toEqual(['WH1-A', 'WH1-A', 'WH1-A', 'WH1-B']);
  });

  it('continues in nested zones renamed together (the hall and the bay in it)', () => {
    const s = parked(['bay-a', 'hall']);
    expect(Object.keys(s.zones ?? {}).sort()).toEqual(['bay-a', 'hall']);
    const after = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: tracking(['bay-a-new', 'hall-2']) });
    const next = after.apply(s, seen(10, 50), ctx).state;
    expect(next.zones).toEqual({ 'hall-2': { phase: 'inside', since: T0 + 10 * MIN }, 'bay-a-new': { phase: 'inside', since: T0 + 10 * MIN } });
    expect(next).toMatchObject({ location: 'WH1-A', since: T0 + 2 * MIN });
  });
});

describe('an item whose sightings in a zone wait for the lateness when that zone is renamed in the config', () => {
  it('enters the zone under its new name when they are released: counted there, not in no zone', () => {
    const asset = item('P-44', 'SKU-1', { quantity: '40' });
    const ctx = { asset, destination: 'erp', now: 0 };
    const before = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 2 * MIN, zones });
    let s: InventoryItemState | undefined;
    // Seen outside every zone, then put down in bay A; the sightings in the bay still wait for the lateness.
    for (const e of [seen(0, 50.02), seen(5, 50), seen(6.5, 50)]) s = before.apply(s, e, ctx).state;
    expect(s?.order?.pending.map((p) => p.in)).toEqual([['bay-a'], ['bay-a']]);
    // Bay A is renamed in the zones file (same place, same code) and the service restarts; an idle watermark releases them.
    const renamed = new ZoneIndex([bay('bay-a-new', 'WH1-A', 50), bay('bay-b', 'WH1-B', 50.01)], { hysteresisM: 5 });
    const after = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 2 * MIN, zones: { ...zones, index: renamed } });
    const settled = after.flush(JSON.parse(JSON.stringify(s)) as InventoryItemState, ctx, T0 + 30 * MIN).state;
    // They used to count in no zone (the old name filtered out): the item unplaced in the middle of the bay.
    expect(settled).toMatchObject({ location: 'WH1-A', zones: { 'bay-a-new': { phase: 'inside', since: T0 + 5 * MIN } } });
    // A state stored before sightings kept their position still loads: the old name is left out, as before.
    const old = JSON.parse(JSON.stringify(s), (k: string, v: unknown) => (k === 'lat' || k === 'lng' ? undefined : v)) as InventoryItemState;
    expect(old.order?.pending).toEqual([{ t: T0 + 5 * MIN, in: ['bay-a'] }, { t: T0 + 6.5 * MIN, in: ['bay-a'] }]);
    expect(after.flush(old, ctx, T0 + 30 * MIN).state).toMatchObject({ location: null, zones: {} });
  });
});

describe('an item whose sightings in a zone wait for the lateness when that zone is reshaped in the config (same name)', () => {
  const round = (radiusM: number) => new ZoneIndex([{ ...bay('bay-a', 'WH1-A', 50), shape: { type: 'circle', lat: 50, lng: 10, radiusM } }, bay('bay-b', 'WH1-B', 50.01)], { hysteresisM: 5 });
  const asset = item('P-45', 'SKU-1', { quantity: '40' });
  const ctx = { asset, destination: 'erp', now: 0 };
  // Seen at the dock reader outside every zone, then put down 44 m north of bay A's centre (the reader's
  // label still reported); those sightings still wait for the lateness.
  const stored = (index: ZoneIndex) => {
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 2 * MIN, zones: { ...zones, index } });
    let s: InventoryItemState | undefined;
    for (const e of [seen(0, 50.02, 'dock'), seen(5, 50.0004, 'dock'), seen(6.5, 50.0004, 'dock')]) s = rule.apply(s, e, ctx).state;
    return JSON.parse(JSON.stringify(s)) as InventoryItemState;
  };
  const settled = (s: InventoryItemState, index: ZoneIndex) => createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 2 * MIN, zones: { ...zones, index } }).flush(s, ctx, T0 + 30 * MIN).state;

  it('shrunk: they are located again by its new shape, and the item is not counted in a bay it is outside', () => {
    const s = stored(round(60));
    expect(s.order?.pending.map((p) => p.in)).toEqual([['bay-a'], ['bay-a']]);
    // Bay A is now 30 m round: 44 m from its centre is outside it and its band. It used to enter bay A all the same.
    expect(settled(s, round(30))).toMatchObject({ location: null, zones: {} });
    // Unchanged, it is counted there, as with no restart.
    expect(settled(s, round(60))).toMatchObject({ location: 'WH1-A', zones: { 'bay-a': { phase: 'inside' } } });
  });

  it('grown: they are located again by its new shape, and the item is counted in the bay it is inside', () => {
    const s = stored(round(30));
    expect(s.order?.pending.map((p) => p.in)).toEqual([undefined, undefined]);
    // Bay A is now 60 m round. It used to stay counted at the reader's label, 44 m from the bay's centre.
    expect(settled(s, round(60))).toMatchObject({ location: 'WH1-A', zones: { 'bay-a': { phase: 'inside', since: T0 + 5 * MIN } } });
    expect(settled(s, round(30))).toMatchObject({ location: 'dock', zones: {} });
  });

  it('stored before the zones locating them were kept (no `located`): they are located again, as location sync\'s fixes', () => {
    const { located, ...legacy } = stored(round(60));
    expect(located).toBeDefined();
    expect(settled(legacy, round(30))).toMatchObject({ location: null, zones: {} });
    expect(settled(legacy, round(60))).toMatchObject({ location: 'WH1-A', zones: { 'bay-a': { phase: 'inside' } } });
  });
});

describe('an item arriving in a zone removed from the config since', () => {
  const opts = { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 24 * 60 * MIN };
  const removed = { ...zones, dwell: { enterDwellMs: MIN, exitDwellMs: 2 * MIN }, index: new ZoneIndex([bay('bay-a', 'WH1-A', 50)], { hysteresisM: 5 }) };

  it('is not placed in it by a watermark: having left its old bay, it no longer counts there', () => {
    const asset = item('P-41', 'SKU-1', { quantity: '40' });
    const ctx = { asset, destination: 'erp', now: 0 };
    const before = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: { ...removed, index: zones.index } });
    let s: InventoryItemState | undefined;
    // Counted in bay A, then carried to bay B (leaving A, entering B) and put down there.
    for (const e of [seen(0, 50), seen(2, 50), seen(3, 50.01)]) s = before.apply(s, e, ctx).state;
    expect(s).toMatchObject({ location: 'WH1-A', zones: { 'bay-a': { phase: 'leaving' }, 'bay-b': { phase: 'entering' } } });
    // Bay B is taken out of the zones file and the service restarts; the idle watermark settles the dwells.
    const after = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: removed });
    const settled = after.flush(JSON.parse(JSON.stringify(s)) as InventoryItemState, ctx, T0 + 30 * MIN).state;
    // It used to enter bay B (no longer configured) and so stay counted, 40 of them, in bay A it had left.
    expect(settled?.zones).toEqual({});
    expect(settled).toMatchObject({ location: null });
    expect(countInventory([{ asset, destination: 'erp', state: withCurrentZoneCode(settled, removed.index) }], T0 + 30 * MIN, opts).get('erp')).toBeUndefined();
  });
});

describe('an item whose sightings in a zone wait for the lateness when that zone is removed from the config', () => {
  it('does not enter it when they are released: having left its old bay, it no longer counts there', () => {
    const opts = { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 24 * 60 * MIN };
    const dwell = { enterDwellMs: MIN, exitDwellMs: 2 * MIN };
    const removed = new ZoneIndex([bay('bay-a', 'WH1-A', 50)], { hysteresisM: 5 });
    const asset = item('P-42', 'SKU-1', { quantity: '40' });
    const ctx = { asset, destination: 'erp', now: 0 };
    const before = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 2 * MIN, zones: { ...zones, dwell } });
    let s: InventoryItemState | undefined;
    // Counted in bay A, then carried to bay B and put down there; the sightings in B still wait for the lateness.
    for (const e of [seen(0, 50), seen(2, 50), seen(5, 50), seen(6, 50.01), seen(7.5, 50.01)]) s = before.apply(s, e, ctx).state;
    expect(s?.order?.pending.map((p) => p.in)).toEqual([['bay-b'], ['bay-b']]);
    // Bay B is taken out of the zones file and the service restarts; an idle watermark releases the sightings.
    const after = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 2 * MIN, zones: { ...zones, dwell, index: removed } });
    const settled = after.flush(JSON.parse(JSON.stringify(s)) as InventoryItemState, ctx, T0 + 30 * MIN).state;
    // They used to enter bay B (no longer configured), so the item stayed counted, 40 of them, in bay A it had left.
    expect(settled?.zones).toEqual({});
    expect(settled).toMatchObject({ location: null });
    expect(countInventory([{ asset, destination: 'erp', state: withCurrentZoneCode(settled, removed) }], T0 + 30 * MIN, opts).get('erp')).toBeUndefined();
  });
});

describe('an item a reader saw in a zone removed from the config while the sighting waited for the lateness', () => {
  it('stays where it was, seen: not put in the zone that is gone', () => {
    const dwell = { enterDwellMs: MIN, exitDwellMs: 2 * MIN };
    const asset = item('P-43', 'SKU-1');
    const ctx = { asset, destination: 'erp', now: 0 };
    const before = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 2 * MIN, zones: { ...zones, dwell } });
    const reader = (min: number): PositionEvent => ({ kind: 'position', source: 'test', ids: [{ type: 'tag', value: 'x' }], eventTime: T0 + min * MIN, receivedAt: T0 + min * MIN, zone: 'bay-b' });
    let s: InventoryItemState | undefined;
    // Counted in bay A; then a reader sees it in bay B, and the service stops while that sighting waits.
    for (const e of [seen(0, 50), seen(2, 50), seen(5, 50), reader(6)]) s = before.apply(s, e, ctx).state;
    expect(s?.location).toBe('WH1-A');
    expect(s?.order?.pending.at(-1)).toMatchObject({ zone: 'bay-b', reader: true });
    // Bay B is taken out of the zones file; the service restarts, and watermarks release and settle it.
    const after = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 2 * MIN, zones: { ...zones, dwell, index: new ZoneIndex([bay('bay-a', 'WH1-A', 50)], { hysteresisM: 5 }) } });
    let t = after.flush(JSON.parse(JSON.stringify(s)) as InventoryItemState, ctx, T0 + 30 * MIN).state;
    t = after.flush(t, ctx, T0 + 60 * MIN).state;
    // It used to be put in the zone that was gone (zones occupancy listed it there, no longer in bay A),
    // with the reader's zone name kept as the location to fall back to once it left it.
    expect(t).toMatchObject({ location: 'WH1-A', seenAt: T0 + 6 * MIN, zones: { 'bay-a': { phase: 'inside' } } });
    expect(Object.keys(t?.zones ?? {})).toEqual(['bay-a']);
    expect(t?.reported).toBeUndefined();
  });
});

describe('an item leaving a zone removed from the config since, for a reader outside every zone', () => {
  it('is where that reader saw it once a watermark has it leave, as location sync sends', () => {
    const asset = item('P-42', 'SKU-1');
    const ctx = { asset, destination: 'erp', now: 0 };
    const before = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones });
    const inBayA = JSON.parse(JSON.stringify(before.apply(before.apply(undefined, seen(0, 50), ctx).state, seen(2, 50), ctx).state)) as InventoryItemState;
    // Bay A is taken out of the config; the item is next seen at the dock, outside every zone, by a reader calling it DOCK-3.
    const tracking = { ...zones, index: new ZoneIndex([bay('bay-b', 'WH1-B', 50.01)], { hysteresisM: 5 }) };
    const after = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: tracking });
    const atDock = after.apply(inBayA, seen(2.5, 40, 'DOCK-3'), ctx).state;
    expect(atDock).toMatchObject({ location: 'WH1-A' }); // still leaving the removed bay: counted where it was
    // Location sync, on the same sightings, under the same configs.
    const locationBefore = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 60 * MIN, zones });
    const location = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 60 * MIN, zones: tracking });
    const synced = location.apply(locationBefore.apply(locationBefore.apply(undefined, seen(0, 50), ctx).state, seen(2, 50), ctx).state, seen(2.5, 40, 'DOCK-3'), ctx).state;
    expect(synced.last?.zone).toBe('WH1-A');
    const sent = location.flush(synced, ctx, T0 + 10 * MIN);
    // Left once the exit dwell is over: at the dock the reader named (it used to fall back to no location: unplaced, uncounted).
    expect(after.flush(atDock, ctx, T0 + 10 * MIN).state).toMatchObject({ location: 'DOCK-3', zones: {} });
    expect(sent.state.last?.zone).toBe('DOCK-3');
  });
});

describe('an item stale for a long time, seen again', () => {
  const H = 60 * MIN;
  const opts = { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 24 * H };
  const asset = item('P-4', 'SKU-4', { quantity: '40' });
  const ctx = { asset, destination: 'erp', now: 0 };
  const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones, freshnessMs: 24 * H });
  const inBayA = rule.apply(rule.apply(undefined, seen(0, 50), ctx).state, seen(2, 50), ctx).state;
  const later = 25 * 60; // minutes: stale for an hour already
  const counted = (s: InventoryItemState | undefined, at: number) => [...(countInventory([{ asset, destination: 'erp', state: s }], T0 + at * MIN, opts).get('erp')?.values() ?? [])];

  it('seen elsewhere, is no longer counted at its old location: it left that bay in the silence', () => {
    expect(counted(inBayA, later)).toEqual([]); // stale
    const once = rule.apply(inBayA, seen(later, 50.01), ctx).state; // once, 1.1 km away, in bay B
    // Before: still leaving bay A (the exit dwell of fixes starting only now): counted there, 40 of them, fresh again.
    expect(once.zones?.['bay-a']).toBeUndefined();
    expect(counted(once, later)).toEqual([]); // entering bay B, not yet counted anywhere
    expect(rule.flush(once, ctx, T0 + (later + 5) * MIN).state).toMatchObject({ location: 'WH1-B' }); // put down there: counted in bay B
    expect(counted(rule.apply(once, seen(later + 1, 50.01), ctx).state, later + 1)).toEqual([{ location: 'WH1-B', sku: 'SKU-4', quantity: 40, items: 1 }]);
  });

  it('seen where it was, is there since it was seen again, not since before it went stale', () => {
    const again = rule.apply(inBayA, seen(later, 50), ctx).state;
    expect(again).toMatchObject({ location: 'WH1-A', since: T0 + later * MIN, seenAt: T0 + later * MIN });
    // Within the freshness: there since it arrived, as before.
    expect(rule.apply(inBayA, seen(60, 50), ctx).state).toMatchObject({ location: 'WH1-A', since: T0 + 2 * MIN });
    // Seen again only by an inaccurate sighting: counted again, so there anew too.
    const rough = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: { ...zones, maxAccuracyM: 100 }, freshnessMs: 24 * H });
    expect(rough.apply(inBayA, { ...seen(later, 49.9), accuracyM: 2000 }, ctx).state).toMatchObject({ location: 'WH1-A', since: T0 + later * MIN });
  });

  it('inaccurate sightings in the silence place nothing: the silence is counted from the last sighting that placed it', () => {
    const rough = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: { ...zones, maxAccuracyM: 100 } });
    let s = rough.apply(inBayA, { ...seen(30, 40), accuracyM: 2000 }, ctx).state;
    s = rough.apply(s, seen(30.5, 50.01), ctx).state;
    expect(s.zones?.['bay-a']).toBeUndefined();
    expect(s).toMatchObject({ location: null, seenAt: T0 + 30.5 * MIN });
    expect(s.locatedAt).toBeUndefined();
  });
});

describe('an item seen again just before its freshness runs out, the sighting still in the reorder window', () => {
  const H = 60 * MIN;
  const L = 10; // minutes of reorder window
  const opts = { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 24 * H };
  const asset = item('P-6', 'SKU-6', { quantity: '40' });
  const ctx = { asset, destination: 'erp', now: 0 };
  const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: L * MIN, zones, freshnessMs: 24 * H });
  const apply = (s: InventoryItemState | undefined, ...events: PositionEvent[]) => events.reduce<InventoryItemState | undefined>((acc, e) => rule.apply(acc, e, ctx).state, s);
  const counted = (s: InventoryItemState | undefined, at: number) => [...(countInventory([{ asset, destination: 'erp', state: s }], T0 + at * MIN, opts).get('erp')?.values() ?? [])];
  const inBayA = [{ location: 'WH1-A', sku: 'SKU-6', quantity: 40, items: 1 }];
  // In bay A from minute 2 (released once minute 13 came), last released sighting at minute 13.
  const placed = apply(undefined, seen(0, 50), seen(2, 50), seen(13, 50), seen(24, 50));

  it('stays counted where it is through every run, not stale for one and back (a -40, +40 the ERP would see)', () => {
    expect(placed).toMatchObject({ location: 'WH1-A', seenAt: T0 + 13 * MIN });
    const again = 13 + 24 * 60 - 1; // a minute before the freshness of minute 13 runs out
    const waiting = apply(placed, seen(again, 50)); // minute 24 released, this one waits
    expect(waiting?.seenAt).toBe(T0 + 24 * MIN);
    const settled = apply(placed, seen(again, 50), seen(again + L, 50));
    expect(settled?.seenAt).toBe(T0 + again * MIN);
    // Runs after minute 24's freshness ran out, while the sighting waits, then after it is released.
    expect(counted(waiting, 24 + 24 * 60 + 1)).toEqual(inBayA);
    expect(counted(settled, again + L + 1)).toEqual(inBayA);
    // Without it, the item does go stale.
    expect(counted(placed, 24 + 24 * 60 + 1)).toEqual([]);
  });

  // LAST SEEN showed the newest released sighting (minute 24): counted, yet last seen more than the freshness ago.
  it('inventory items shows it last seen at the waiting sighting that keeps it counted', () => {
    const again = 13 + 24 * 60 - 1;
    const waiting = apply(placed, seen(again, 50));
    const now = T0 + (24 + 24 * 60 + 1) * MIN;
    const [row] = inventoryItemRows([{ asset, destination: 'erp', state: waiting }], now, opts);
    expect(row).toMatchObject({ standing: 'counted', location: 'WH1-A', seenAt: T0 + again * MIN });
    expect(now - (row?.seenAt ?? 0)).toBeLessThanOrEqual(opts.freshnessMs);
    // Without a waiting sighting, the released one; stale then.
    expect(inventoryItemRows([{ asset, destination: 'erp', state: placed }], now, opts)[0]).toMatchObject({ standing: 'stale', seenAt: T0 + 24 * MIN });
  });

  it('a sighting after the freshness ran out does not count it where it was before it is released (it is there anew, maybe elsewhere)', () => {
    const late = 24 + 24 * 60 + 30; // stale for half an hour already
    const waiting = apply(placed, seen(late, 50.01));
    expect(waiting?.location).toBe('WH1-A');
    expect(waiting?.order?.pending.map((p) => p.t)).toEqual([T0 + late * MIN]);
    expect(counted(waiting, late + 1)).toEqual([]);
  });
});

describe('counts and deliveries', () => {
  const opts = { skuAttribute: 'sku', quantityAttribute: 'quantity', freshnessMs: 60 * MIN };
  const at = (loc: string | null, min: number): InventoryItemState => ({ location: loc, seenAt: T0 + min * MIN, since: T0 });
  const items = (): InventoryItem[] => [
    { asset: item('P-1', 'SKU-1'), destination: 'erp', state: at('WH1-A', 50) },
    { asset: item('P-2', 'SKU-1'), destination: 'erp', state: at('WH1-A', 55) },
    { asset: item('P-3', 'SKU-1', { quantity: '40' }), destination: 'erp', state: at('WH1-B', 55) },
    { asset: item('P-4', 'SKU-2'), destination: 'erp', state: at('WH1-B', -30) }, // stale at now = 60 min
    { asset: item('P-5', 'SKU-2'), destination: 'other', state: at('WH1-B', 59) },
    { asset: item('P-6', 'SKU-2'), destination: 'erp', state: at(null, 59) },
  ];
  const now = T0 + 60 * MIN;

  it('counts fresh items per destination, location and SKU', () => {
    const counts = countInventory(items(), now, opts);
    expect([...(counts.get('erp')?.values() ?? [])]).toEqual([
      { location: 'WH1-A', sku: 'SKU-1', quantity: 2, items: 2 },
      { location: 'WH1-B', sku: 'SKU-1', quantity: 40, items: 1 },
    ]);
    expect([...(counts.get('other')?.values() ?? [])]).toEqual([{ location: 'WH1-B', sku: 'SKU-2', quantity: 1, items: 1 }]);
  });

  it('lists every item with its standing, the counted ones adding up to the counts', () => {
    const all = [...items(), { asset: item('P-7', 'SKU-2'), destination: 'erp', state: undefined }, { asset: item('X-1', ''), destination: 'erp', state: at('WH1-A', 59) }];
    const rows = inventoryItemRows(all, now, opts);
    expect(rows.map((r) => [r.destination, r.erpAssetId, r.location ?? '-', r.standing, r.quantity])).toEqual([
      ['erp', 'P-1', 'WH1-A', 'counted', 1],
      ['erp', 'P-2', 'WH1-A', 'counted', 1],
      ['erp', 'P-3', 'WH1-B', 'counted', 40],
      ['erp', 'P-4', 'WH1-B', 'stale', 1], // where it would count if seen again
      ['erp', 'P-6', '-', 'unplaced', 1],
      ['erp', 'P-7', '-', 'unseen', 1],
      ['other', 'P-5', 'WH1-B', 'counted', 1],
    ]); // X-1 has no SKU: not an inventory item
    const counts = countInventory(all, now, opts);
    for (const [destination, cells] of counts)
      for (const c of cells.values()) {
        const behind = inventoryItemRows(all, now, opts, { destination, location: c.location, sku: c.sku, standing: 'counted' });
        expect([behind.length, behind.reduce((n, r) => n + (r.quantity ?? 0), 0)]).toEqual([c.items, c.quantity]);
      }
    expect(inventoryItemRows(all, now, opts, { standing: 'stale' }).map((r) => [r.erpAssetId, r.seenAt, r.since])).toEqual([['P-4', T0 - 30 * MIN, T0]]);
    expect(inventoryItemRows(all, now, opts, { location: 'WH1-B', sku: 'SKU-2' }).map((r) => r.erpAssetId)).toEqual(['P-4', 'P-5']);
  });

  it('reads only whole numbers of 0 or more as quantities; anything else is a bad quantity, never counted as a guess', () => {
    expect(['40', ' 7 ', '0', '007', '', '  ', undefined].map(parseQuantity)).toEqual([40, 7, 0, 7, 1, 1, 1]);
    expect(['ten', '-5', '0x10', '1e3', '2.5', '+3', '40.0', 'Infinity', '99999999999999999'].map(parseQuantity)).toEqual(Array(9).fill(undefined));
    const bad = [
      { asset: item('B-1', 'SKU-1', { quantity: 'ten' }), destination: 'erp', state: at('WH1-A', 59) },
      { asset: item('B-2', 'SKU-1', { quantity: '-5' }), destination: 'erp', state: at('WH1-A', 59) },
      { asset: item('B-3', 'SKU-1', { quantity: '0x10' }), destination: 'erp', state: undefined },
    ];
    // Left out of the count (before: 1, -5 and 16 were added in), and listed with the value stored.
    expect([...(countInventory([...items(), ...bad], now, opts).get('erp')?.values() ?? [])]).toEqual([...(countInventory(items(), now, opts).get('erp')?.values() ?? [])]);
    expect(inventoryItemRows(bad, now, opts).map((r) => [r.erpAssetId, r.standing, r.quantity, r.badQuantity, r.location ?? '-'])).toEqual([
      ['B-1', 'bad-quantity', undefined, 'ten', 'WH1-A'],
      ['B-2', 'bad-quantity', undefined, '-5', 'WH1-A'],
      ['B-3', 'bad-quantity', undefined, '0x10', '-'],
    ]);
  });

  it('refuses a quantity above a billion units per tag: summed per cell it would no longer be exact', () => {
    expect(['1000000000', '1000000001', String(2 ** 52 + 1), String(Number.MAX_SAFE_INTEGER)].map(parseQuantity)).toEqual([1_000_000_000, undefined, undefined, undefined]);
    // Two tags of 2^52 + 1 would have summed to 2^53 + 2 exactly, but as numbers to a neighbour of it, sent to the ERP as the count.
    const huge = [
      { asset: item('H-1', 'SKU-9', { quantity: String(2 ** 52 + 1) }), destination: 'erp', state: at('WH1-A', 59) },
      { asset: item('H-2', 'SKU-9', { quantity: String(2 ** 52 + 1) }), destination: 'erp', state: at('WH1-A', 59) },
    ];
    expect([...(countInventory(huge, now, opts).get('erp')?.values() ?? [])]).toEqual([]);
    expect(inventoryItemRows(huge, now, opts).map((r) => [r.erpAssetId, r.standing])).toEqual([
      ['H-1', 'bad-quantity'],
      ['H-2', 'bad-quantity'],
    ]);
  });

  it('sends changes as counted totals with signed deltas, each exactly once', () => {
    const first = planInventoryCounts('erp', countInventory(items(), now, opts).get('erp') ?? new Map(), EMPTY_SENT, 'changes', now);
    // A cell's first revision is the time it was counted (ms since 1970): never one handed out before a restore of an older store.
    expect(first.deliveries.map((d) => [d.businessKey, d.payload.countedQuantity, d.payload.delta, d.kind, d.operation])).toEqual([
      [`WH1-A|SKU-1|r${now}`, 2, 2, 'fact', 'inventory.count'],
      [`WH1-B|SKU-1|r${now}`, 40, 40, 'fact', 'inventory.count'],
    ]);
    expect(first.deliveries[0]?.payload).toMatchObject({ location: 'WH1-A', sku: 'SKU-1', countedAt: new Date(now).toISOString(), previousQuantity: 0 });
    // Nothing changed: nothing to send.
    const same = planInventoryCounts('erp', countInventory(items(), now, opts).get('erp') ?? new Map(), first.next, 'changes', now);
    expect(same.deliveries).toEqual([]);
    // P-2 moves to WH1-B: A goes 2 → 1, B goes 40 → 41.
    const moved = items().map((i) => (i.asset.erpAssetId === 'P-2' ? { ...i, state: at('WH1-B', 58) } : i));
    const later = now + 5 * MIN;
    const second = planInventoryCounts('erp', countInventory(moved, later, opts).get('erp') ?? new Map(), first.next, 'changes', later);
    expect(second.deliveries.map((d) => [d.businessKey, d.payload.countedQuantity, d.payload.delta])).toEqual([
      [`WH1-A|SKU-1|r${later}`, 1, -1],
      [`WH1-B|SKU-1|r${later}`, 41, 1],
    ]);
    // Everything goes stale: counts drop to zero, then an item comes back: revisions keep rising,
    // one above the last when planned within the same ms or by a clock gone back.
    const gone = planInventoryCounts('erp', new Map(), second.next, 'changes', later);
    expect(gone.deliveries.map((d) => [d.businessKey, d.payload.countedQuantity, d.payload.delta])).toEqual([
      [`WH1-A|SKU-1|r${later + 1}`, 0, -1],
      [`WH1-B|SKU-1|r${later + 1}`, 0, -41],
    ]);
    const back = planInventoryCounts('erp', countInventory(items().slice(0, 1), now, opts).get('erp') ?? new Map(), gone.next, 'changes', now);
    expect(back.deliveries.map((d) => d.businessKey)).toEqual([`WH1-A|SKU-1|r${later + 2}`]);
  });

  it('a full snapshot sends every non-zero cell, unchanged ones with delta 0', () => {
    const cells = countInventory(items(), now, opts).get('erp') ?? new Map();
    const first = planInventoryCounts('erp', cells, EMPTY_SENT, 'changes', now);
    const full = planInventoryCounts('erp', cells, first.next, 'full', now + MIN);
    expect(full.deliveries.map((d) => [d.businessKey, d.payload.countedQuantity, d.payload.delta, d.payload.snapshot])).toEqual([
      [`WH1-A|SKU-1|r${now + MIN}`, 2, 0, true],
      [`WH1-B|SKU-1|r${now + MIN}`, 40, 0, true],
    ]);
  });

  it('is order-independent within the lateness for item locations', () => {
    const events = [seen(0, 50), seen(1, 50), seen(2, 50), seen(3, 50.01), seen(4, 50.01), seen(5, 50.01), seen(6, 50.01)];
    const shuffled = [events[1], events[0], events[3], events[2], events[5], events[4], events[6]] as PositionEvent[];
    expect(track(item('P-9', 'S'), shuffled, { lateness: 2 * MIN })).toEqual(track(item('P-9', 'S'), events, { lateness: 2 * MIN }));
  });
});
