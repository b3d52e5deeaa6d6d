import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { PositionEvent } from '../../model/events.js';
import { flushRules, simulateRules } from '../simulate.js';
import { ZoneIndex, type Zone } from '../zones/index.js';
import { createInventoryRule, type InventoryItemState } from './inventory-rule.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;
const bay = (name: string, code: string, lat: number): Zone => ({ name, locationCode: code, priority: 0, shape: { type: 'circle', lat, lng: 10, radiusM: 30 } });
const zones = { index: new ZoneIndex([bay('bay-a', 'WH1-A', 50), bay('bay-b', 'WH1-B', 50.01)], { hysteresisM: 5 }), dwell: { enterDwellMs: MIN, exitDwellMs: MIN }, maxAccuracyM: 0 };
const asset: AssetRecord = { erpAssetId: 'P-1', erpModule: 'inventory', attributes: { sku: 'S' } };

function track(events: PositionEvent[], lateness: number): InventoryItemState | undefined {
  const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: lateness, zones });
  const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })));
  const f = flushRules([rule], r.states, new Map([[asset.erpAssetId, { asset, destination: 'erp' }]]), 0);
  return f.states.get(asset.erpAssetId)?.inventory as InventoryItemState | undefined;
}

describe('inventory item location (property)', () => {
  it('any arrival order within the lateness, and any duplicates, give the same item state', () => {
    const L = 3 * MIN;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 5 * 60 }), fc.constantFrom(50, 50.01, 40, 50.00028), fc.option(fc.constantFrom('DOCK-1', 'DOCK-2'), { nil: undefined })), { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: L - 1 }), { minLength: 30, maxLength: 30 }),
        fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
        (steps, delays, dups) => {
          let t = T0;
          const events: PositionEvent[] = steps.map(([dt, lat, zone]) => {
            t += dt * 1000;
            return { kind: 'position', source: 'test', ids: [{ type: 'tag', value: 'x' }], eventTime: t, receivedAt: t, lat, lng: 10, ...(zone ? { zone } : {}) };
          });
          const arrival = events
            .flatMap((e, i) => (dups[i] ? [{ e, at: e.eventTime + (delays[i] ?? 0), i }, { e, at: e.eventTime + (delays[(i + 7) % 30] ?? 0), i }] : [{ e, at: e.eventTime + (delays[i] ?? 0), i }]))
            .sort((a, b) => a.at - b.at || a.i - b.i)
            .map((x) => x.e);
          expect(track(arrival, L)).toEqual(track(events, L));
        },
      ),
      { numRuns: 300 },
    );
  });
});
