import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { PositionEvent } from '../../model/events.js';
import { ZoneIndex, type Zone } from '../zones/index.js';
import { createInventoryRule, type InventoryItemState } from './inventory-rule.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;
const bay = (name: string, code: string, lat: number): Zone => ({ name, locationCode: code, priority: 0, shape: { type: 'circle', lat, lng: 10, radiusM: 30 } });
const zones = { index: new ZoneIndex([bay('bay-a', 'WH1-A', 50), bay('bay-b', 'WH1-B', 50.01)], { hysteresisM: 5 }), dwell: { enterDwellMs: MIN, exitDwellMs: MIN }, maxAccuracyM: 100 };
const asset: AssetRecord = { erpAssetId: 'P-1', erpModule: 'inventory', attributes: { sku: 'S' } };
const ctx = { asset, destination: 'erp', now: 0 };
const seen = (min: number, lat: number, accuracyM?: number): PositionEvent => ({
  kind: 'position',
  source: 'test',
  ids: [{ type: 'tag', value: 'x' }],
  eventTime: T0 + min * MIN,
  receivedAt: T0 + min * MIN,
  lat,
  lng: 10,
  ...(accuracyM !== undefined ? { accuracyM } : {}),
});

describe('inventory: entries and exits decided by an idle watermark', () => {
  for (const lateness of [0, 2 * MIN]) {
    it(`a sighting not newer than the watermark that decided is late: it cannot rewrite the decision (lateness ${lateness / MIN} min)`, () => {
      const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: lateness, zones });
      let s: InventoryItemState | undefined;
      for (const e of [seen(0, 40), seen(10, 50)]) s = rule.apply(s, e, ctx).state; // put down in bay A at 08:10, then quiet
      s = rule.flush(s, ctx, T0 + 30 * MIN + lateness).state; // the entry counts as of 08:30
      // There since its 1-minute dwell was over (not since the watermark, nor the sighting); seenAt stays the sighting.
      expect(s).toMatchObject({ location: 'WH1-A', seenAt: T0 + 10 * MIN, since: T0 + 11 * MIN });
      expect(rule.holds(s)).toBe(false);
      // The sighting that decided, sent again (a client's retry), is a duplicate, not late, and changes nothing.
      const again = rule.apply(s, seen(10, 50), ctx);
      expect(again.late).toBeUndefined();
      expect(again.state).toBe(s);
      // A gateway's backlog: a sighting outside at 08:20 arrives now. It may not start an exit dated before the entry.
      const straggler = rule.apply(s, seen(20, 40), ctx);
      expect(straggler.late).toBe(true);
      expect(straggler.state).toBe(s);
      // Newer sightings decide as usual: seen in the bay at 08:34:30, leaving from 08:35, not yet left a minute later less a second.
      for (const e of [seen(34.5, 50), seen(35, 40), seen(35.9, 40)]) s = rule.apply(s, e, ctx).state;
      s = rule.flush(s, ctx).state;
      expect(s).toMatchObject({ location: 'WH1-A', seenAt: T0 + 35.9 * MIN });
      // An exit a watermark decides is dated to the end of its dwell too (leaving from 08:35, a minute), and closes the past up to the watermark.
      s = rule.flush(s, ctx, T0 + 50 * MIN + lateness).state;
      expect(s).toMatchObject({ location: null, seenAt: T0 + 35.9 * MIN, since: T0 + 36 * MIN });
      expect(rule.apply(s, seen(45, 50), ctx).late).toBe(true);
    });
  }

  it('a watermark that decides nothing leaves later sightings as they were', () => {
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones });
    let s: InventoryItemState | undefined;
    for (const e of [seen(0, 40), seen(10, 50)]) s = rule.apply(s, e, ctx).state;
    const early = rule.flush(s, ctx, T0 + 10.5 * MIN); // the dwell is not over: nothing decided
    expect(early.state).toMatchObject({ location: null });
    expect(rule.apply(early.state, seen(10.2, 50), ctx).late).toBeUndefined();
  });

  it('keeps naming the item idle only while a watermark can still decide something', () => {
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 0, zones });
    let s: InventoryItemState | undefined;
    // Entering bay A, then a sighting too inaccurate to move zones: the tracker still says "entering".
    for (const e of [seen(0, 40), seen(10, 50), seen(10.5, 40, 500)]) s = rule.apply(s, e, ctx).state;
    expect(rule.holds(s)).toBe(true);
    // Unlike location sync (which settles on the last fix's coordinates), the item settles on the
    // tracker's phases, so a watermark decides the entry and the item is not named again.
    const settled = rule.flush(s, ctx, T0 + 30 * MIN).state;
    expect(settled).toMatchObject({ location: 'WH1-A', seenAt: T0 + 10.5 * MIN });
    expect(rule.holds(settled)).toBe(false);
  });
});

describe('inventory: sightings with equal event times', () => {
  it('give the same item state in either arrival order when only their accuracy differs', () => {
    const rule = createInventoryRule({ skuAttribute: 'sku', allowedLatenessMs: 2 * MIN, zones });
    const run = (events: PositionEvent[]) => {
      let s: InventoryItemState | undefined;
      for (const e of events) s = rule.apply(s, e, ctx).state;
      return rule.flush(s, ctx).state;
    };
    // In bay A; then the same sighting outside from two readers, one reporting it accurate, one not.
    const before = [seen(0, 50), seen(2, 50), seen(5, 50)];
    const accurate = seen(10, 40, 5);
    const inaccurate = seen(10, 40, 500);
    const after = [seen(11.5, 40, 5)];
    const a = run([...before, accurate, inaccurate, ...after]);
    const b = run([...before, inaccurate, accurate, ...after]);
    expect(b).toEqual(a);
    expect(a).toMatchObject({ location: null }); // the accurate one started the exit at 08:10
  });
});
