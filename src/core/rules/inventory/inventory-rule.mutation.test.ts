/**
 * Behaviours of the inventory rule that mutation testing found unpinned: which assets are
 * inventory, which sightings may move zones, which location wins, and what an idle watermark may
 * decide (and when).
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { PositionEvent } from '../../model/events.js';
import { ZoneIndex, type Zone, type ZoneTracking } from '../zones/index.js';
import { createInventoryRule, isInventoryItem, type InventoryItemState } from './inventory-rule.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;
const bay = (name: string, code: string, lat: number): Zone => ({ name, locationCode: code, priority: 0, shape: { type: 'circle', lat, lng: 10, radiusM: 30 } });
const tracking = (maxAccuracyM: number): ZoneTracking => ({
  index: new ZoneIndex([bay('bay-a', 'WH1-A', 50), bay('bay-b', 'WH1-B', 50.01)], { hysteresisM: 5 }),
  dwell: { enterDwellMs: MIN, exitDwellMs: MIN },
  maxAccuracyM,
});
const asset: AssetRecord = { erpAssetId: 'P-1', erpModule: 'inventory', attributes: { sku: 'S' } };
const ctx = { asset, destination: 'erp', now: 0 };
const seen = (min: number, lat: number, more: { zone?: string; accuracyM?: number } = {}): PositionEvent => ({
  kind: 'position',
  source: 'test',
  ids: [{ type: 'tag', value: 'x' }],
  eventTime: T0 + min * MIN,
  receivedAt: T0 + min * MIN,
  lat,
  lng: 10,
  ...more,
});

function applyAll(rule: ReturnType<typeof createInventoryRule>, events: readonly PositionEvent[], start?: InventoryItemState): InventoryItemState | undefined {
  let s = start;
  for (const e of events) s = rule.apply(s, e, ctx).state;
  return s;
}

describe('inventory rule: which assets are inventory', () => {
  it('an asset whose SKU is only blanks is not inventory, and the rule keeps no state for it', () => {
    // Kills: isInventoryItem without the trim check.
    const blank: AssetRecord = { ...asset, attributes: { sku: '   ' } };
    expect(isInventoryItem(blank, 'sku')).toBe(false);
    expect(isInventoryItem(asset, 'sku')).toBe(true);
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: tracking(0) });
    expect(rule.apply(undefined, seen(0, 50), { ...ctx, asset: blank }).state).toBeUndefined();
  });
});

describe('inventory rule: sighting accuracy', () => {
  it('a sighting exactly as accurate as maxAccuracyM still moves zones', () => {
    // Kills: `accuracyM < maxAccuracyM` (the limit itself counted as too inaccurate).
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: tracking(100) });
    expect(applyAll(rule, [seen(0, 50, { accuracyM: 100 }), seen(2, 50, { accuracyM: 100 })])).toMatchObject({ location: 'WH1-A' });
    expect(applyAll(rule, [seen(0, 50, { accuracyM: 101 }), seen(2, 50, { accuracyM: 101 })])).toMatchObject({ location: null });
  });

  it('maxAccuracyM 0 uses every sighting, however inaccurate its source says it is', () => {
    // Kills: `maxAccuracyM < 0` as the "use all" test (0 would then refuse every fix with an accuracy).
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: tracking(0) });
    expect(applyAll(rule, [seen(0, 50, { accuracyM: 5000 }), seen(2, 50, { accuracyM: 5000 })])).toMatchObject({ location: 'WH1-A' });
  });
});

describe('inventory rule: inaccurate sightings', () => {
  it('one outside every bay neither moves the item to the zone its reader reported nor unplaces it; it was seen, though', () => {
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: tracking(100) });
    const atDock = applyAll(rule, [seen(0, 40, { zone: 'DOCK-1', accuracyM: 5 })]);
    expect(atDock).toMatchObject({ location: 'DOCK-1', since: T0 });
    const road = applyAll(rule, [seen(5, 40.03, { zone: 'ROAD', accuracyM: 2000 })], atDock); // a gateway's rough fix, 3 km off
    expect(road).toMatchObject({ location: 'DOCK-1', since: T0, seenAt: T0 + 5 * MIN });
    expect(applyAll(rule, [seen(6, 40.03, { accuracyM: 2000 })], road)).toMatchObject({ location: 'DOCK-1', since: T0, seenAt: T0 + 6 * MIN });
    // An accurate sighting moves it as usual.
    expect(applyAll(rule, [seen(7, 40.03, { zone: 'ROAD', accuracyM: 5 })], road)).toMatchObject({ location: 'ROAD', since: T0 + 7 * MIN });
  });

  it('the zone its reader reported is not where a watermark puts the item on leaving a bay: the last accurate sighting\'s is', () => {
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: tracking(100) });
    const s = applyAll(rule, [seen(0, 50), seen(2, 50), seen(2.5, 40, { zone: 'DOCK-1' }), seen(3, 40.03, { zone: 'ROAD', accuracyM: 2000 })]);
    expect(s).toMatchObject({ location: 'WH1-A' }); // leaving bay A, not yet left
    expect(rule.flush(s, ctx, T0 + 20 * MIN).state).toMatchObject({ location: 'DOCK-1', since: T0 + 3.5 * MIN });
  });
});

describe('inventory rule: which location wins', () => {
  it('an entered configured zone wins over the zone the reader reported; before the dwell that zone is not used either', () => {
    // Kills: the reader-reported zone taking precedence over an entered zone, or standing in for it while its dwell runs.
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: tracking(0) });
    const first = applyAll(rule, [seen(0, 50, { zone: 'DOCK-9' })]);
    expect(first).toMatchObject({ location: null }); // entering bay A, not yet in: not counted under the tracker's label
    expect(applyAll(rule, [seen(2, 50, { zone: 'DOCK-9' })], first)).toMatchObject({ location: 'WH1-A' });
  });
});

describe('inventory rule: idle watermarks', () => {
  it('a watermark that decides nothing keeps the location of the last sighting', () => {
    // Kills: settling to null whenever no configured zone holds the item.
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: tracking(0) });
    const s = applyAll(rule, [seen(0, 40, { zone: 'DOCK-1' }), seen(10, 50, { zone: 'DOCK-1' })]); // at DOCK-1, then entering bay A (the reader still says DOCK-1)
    expect(s).toMatchObject({ location: null }); // inside bay A the reported zone is no location: as if none was reported
    // A legacy state, stored when that sighting still counted under DOCK-1: what a watermark keeps.
    const legacy = { ...s, location: 'DOCK-1' };
    expect(rule.flush(legacy, ctx, T0 + 10.5 * MIN).state).toMatchObject({ location: 'DOCK-1', seenAt: T0 + 10 * MIN }); // dwell not over
    expect(rule.flush(legacy, ctx, T0 + 30 * MIN).state).toMatchObject({ location: 'WH1-A' }); // dwell over: the bay wins
  });

  it('a watermark that decides nothing keeps since when the item has been at its location', () => {
    // Kills: `since` re-dated to the watermark although the location did not change.
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: tracking(0) });
    const s = applyAll(rule, [seen(0, 50), seen(2, 50), seen(2.5, 40)]); // in bay A since 08:02, leaving from 08:02:30
    expect(s).toMatchObject({ location: 'WH1-A', since: T0 + 2 * MIN });
    const early = rule.flush(s, ctx, T0 + 3 * MIN).state; // exit dwell not over
    expect(early).toMatchObject({ location: 'WH1-A', since: T0 + 2 * MIN });
  });

  it('a watermark decides dwell only up to itself less the allowed lateness: a sighting within the lateness still counts', () => {
    // Kills: settling dwell at the watermark itself instead of watermark − allowedLateness.
    const lateness = 2 * MIN;
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: lateness, zones: tracking(0) });
    const s = applyAll(rule, [seen(0, 40), seen(10, 50)]); // arrives in bay A at 08:10
    const w = rule.flush(s, ctx, T0 + 12 * MIN).state; // final up to 08:10 only: the entry (due 08:11) is not decided
    expect(w).toMatchObject({ location: null });
    // Seen outside at 08:11:30, within the lateness of the 08:12 watermark: not late, and it ends the entry attempt.
    const straggler = rule.apply(w, seen(11.5, 40), ctx);
    expect(straggler.late).toBeUndefined();
    expect(rule.flush(straggler.state, ctx).state).toMatchObject({ location: null, seenAt: T0 + 11.5 * MIN });
  });

  it('an exit decided by a watermark keeps the zone the reader reported with the last sighting, as a repeat of that sighting would', () => {
    // A real bug: the reader-reported zone was lost when a configured zone's exit was settled by an idle watermark.
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones: tracking(0) });
    const s = applyAll(rule, [seen(0, 50), seen(2, 50), seen(2.5, 40, { zone: 'DOCK-1' })]); // left bay A, put down at the dock reader
    expect(s).toMatchObject({ location: 'WH1-A' }); // leaving, not yet left
    const seenAgain = rule.apply(s, seen(3.5, 40, { zone: 'DOCK-1' }), ctx).state;
    expect(seenAgain).toMatchObject({ location: 'DOCK-1' });
    const idle = rule.flush(s, ctx, T0 + 20 * MIN).state;
    expect(idle).toMatchObject({ location: 'DOCK-1', seenAt: T0 + 2.5 * MIN, since: T0 + 3.5 * MIN });
    // A reader zone of an earlier sighting does not linger: the last one had none, so the item is unplaced.
    const noReader = applyAll(rule, [seen(0, 50, { zone: 'DOCK-1' }), seen(2, 50, { zone: 'DOCK-1' }), seen(10, 40)]);
    expect(rule.flush(noReader, ctx, T0 + 20 * MIN).state).toMatchObject({ location: null });
  });
});
