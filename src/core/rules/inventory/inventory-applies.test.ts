/**
 * Inventory's own `appliesTo` (an asset is inventory when it has a SKU, `skuAttribute`) on the
 * watermark path: an asset that is no longer inventory (its SKU gone from its record, or
 * `skuAttribute` changed) has none of its buffered sightings released and no pending zone dwell
 * settled by an idle watermark or at the end of a `rules test` run; its rule holds nothing, so the
 * engine does not name it idle. The pure rule and the form the engine runs alike (as location
 * sync: location-sync-applies.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { PositionEvent } from '../../model/events.js';
import { ownedForm } from '../owned.js';
import { flushRules, IdleWatermarks, simulateRules } from '../simulate.js';
import { ZoneIndex, type Zone } from '../zones/index.js';
import { createInventoryRule, type InventoryItemState } from './inventory-rule.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;
const bay = (name: string, code: string, lat: number): Zone => ({ name, locationCode: code, priority: 0, shape: { type: 'circle', lat, lng: 10, radiusM: 30 } });
const zones = { index: new ZoneIndex([bay('bay-a', 'WH1-A', 50), bay('bay-b', 'WH1-B', 50.01)], { hysteresisM: 5 }), dwell: { enterDwellMs: MIN, exitDwellMs: MIN }, maxAccuracyM: 100 };
const item: AssetRecord = { erpAssetId: 'P-1', erpModule: 'inventory', attributes: { sku: 'S', article: 'A-1' } };
/** The same pallet once its SKU was taken off its record (it is no longer counted). */
const noSku: AssetRecord = { erpAssetId: 'P-1', erpModule: 'inventory', attributes: { article: 'A-1' } };
const other: AssetRecord = { erpAssetId: 'P-2', erpModule: 'inventory', attributes: { sku: 'S', article: 'A-2' } };
const ctxOf = (asset: AssetRecord) => ({ asset, destination: 'erp', now: 0 });
const seen = (asset: AssetRecord, min: number, lat: number): PositionEvent => ({ kind: 'position', source: 'test', ids: [{ type: 'tag', value: asset.erpAssetId }], eventTime: T0 + min * MIN, receivedAt: T0 + min * MIN, lat, lng: 10 });

const rule = (allowedLatenessMs: number, skuAttribute = 'sku') => createInventoryRule({ skuAttribute, allowedLatenessMs, zones });

/** The state the pallet's sightings leave (outside at 08:00, put down in bay A at 08:10), as stored (JSON). */
function storedAfter(allowedLatenessMs: number, asset: AssetRecord = item): InventoryItemState {
  const r = rule(allowedLatenessMs);
  let state: InventoryItemState | undefined;
  for (const e of [seen(asset, 0, 40), seen(asset, 10, 50)]) state = r.apply(state, e, ctxOf(asset)).state;
  return JSON.parse(JSON.stringify(state)) as InventoryItemState;
}

/** What the pure rule and the engine's form of it make of `stored` for `asset` at a watermark at `upTo` (undefined: the end of a dry run). */
function watermark(allowedLatenessMs: number, skuAttribute: string, asset: AssetRecord, stored: InventoryItemState, upTo: number | undefined) {
  const r = rule(allowedLatenessMs, skuAttribute);
  const pure = r.flush(stored, ctxOf(asset), upTo);
  const owned = ownedForm(r);
  owned.load(0, JSON.parse(JSON.stringify(stored)));
  const holds = owned.holds(0, asset);
  const flags = owned.flush(0, ctxOf(asset), upTo, []);
  const asStored = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;
  return {
    pure: { holds: r.holds(stored, asset), changed: pure.state !== stored, state: asStored(pure.state) },
    owned: { holds, changed: flags !== 0, state: asStored(owned.save(0)) },
  };
}

describe('inventory: an asset that is no longer inventory, at an idle watermark', () => {
  for (const allowedLatenessMs of [0, 2 * MIN]) {
    for (const [change, skuAttribute, asset] of [
      ['its SKU taken off its record', 'sku', noSku],
      ['skuAttribute changed to one it lacks', 'sku2', item],
    ] as const) {
      it(`releases none of its sightings and settles no dwell pending (${change}; lateness ${allowedLatenessMs / MIN} min)`, () => {
        const stored = storedAfter(allowedLatenessMs);
        expect(stored.location).toBeNull();
        for (const upTo of [T0 + 30 * MIN, undefined]) {
          // Still inventory: its watermark puts it in bay A (what it would do without the change).
          const kept = watermark(allowedLatenessMs, 'sku', item, stored, upTo);
          // (The end of a run releases what waits, and settles no dwell: with no lateness, nothing.)
          expect(kept.pure).toMatchObject(upTo !== undefined ? { holds: true, changed: true, state: { location: 'WH1-A' } } : { holds: true, changed: allowedLatenessMs > 0 });
          expect(kept.owned).toEqual(kept.pure);
          // No longer inventory: held for nothing, nothing decided, its state as stored.
          expect(rule(allowedLatenessMs, skuAttribute).holds(stored)).toBe(true); // a sighting or a dwell waits: only the record tells
          const left = watermark(allowedLatenessMs, skuAttribute, asset, stored, upTo);
          expect(left.pure).toEqual({ holds: false, changed: false, state: stored });
          expect(left.owned).toEqual(left.pure);
        }
      });
    }
  }

  it('`rules test` sends it no idle watermark for the sighting waiting in its stored state, nor decides it at the end of the run', () => {
    const stored = storedAfter(2 * MIN);
    const rules = [rule(2 * MIN)];
    const idle = new IdleWatermarks(5 * MIN);
    const watermarks: string[] = [];
    // The pallet without its SKU is seen again in bay A (not inventory: not taken), then another pallet an hour later.
    const steps = [
      { event: seen(noSku, 12, 50), asset: noSku, destination: 'erp', receivedAt: T0 + 12 * MIN },
      { event: seen(other, 72, 40), asset: other, destination: 'erp', receivedAt: T0 + 72 * MIN },
    ];
    const r = simulateRules(rules, steps, { initial: new Map([['P-1', { inventory: stored }]]), idle, onStep: (_i, id, _b, _a, at) => at !== undefined && watermarks.push(id) });
    expect(watermarks).toEqual([]);
    expect(r.states.get('P-1')).toEqual({ inventory: stored });
    const end = flushRules(rules, r.states, new Map([noSku, other].map((a) => [a.erpAssetId, { asset: a, destination: 'erp' }])), T0 + 72 * MIN);
    expect(end.states.get('P-1')).toEqual({ inventory: stored });
    expect((end.states.get('P-2')?.inventory as InventoryItemState).order?.pending ?? []).toEqual([]);
  });
});
