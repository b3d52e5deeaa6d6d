/**
 * A restart with a zone's `locationCode` changed: the service's start names the assets whose
 * stored location state is in that zone idle candidates, and their watermark sends the new code,
 * once (a second restart sends nothing), dated as the update it corrects.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IdentityIndex } from '../core/identity/resolver.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import type { Zone } from '../core/rules/zones/index.js';
import { IN_YARD, MIN, T0, startYardService as start, yard, yardFix as fix } from '../../test/helpers/yard-service.js';
import { watermarkMessage } from './tasks/idle-watermark.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const IDLE = 2 * MIN;

describe('a restart with a zone’s location code changed', () => {
  it('sends the assets in the zone the new code at their idle watermark, once, dated as the update the ERP has', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.upsertAssets(['1', '2'].map((n) => ({ asset: { erpAssetId: `EQ-${n}`, erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: `tag-${n}`, erpAssetId: `EQ-${n}` }] })));
    const identity = new IdentityIndex(await store.listAssets());
    const clock = { t: T0 + 10 * MIN };

    // Under code 1000/0001: EQ-1 parks in the yard (entered at its second fix), EQ-2 stays 2 km off.
    const first = start(store, identity, '1000/0001', clock);
    await first.ingestor.submit([fix('tag-1', 0, 52.5), fix('tag-1', 1, 52.5001), fix('tag-2', 0, 52.52)]);
    await first.ingestor.flush();
    expect(first.deliveries.filter((d) => d.erpAssetId === 'EQ-1').at(-1)?.payload.warehouseLocation).toBe('1000/0001');

    // Restarted with code 1000/0002: the start names EQ-1 (its stored state holds an old code), not EQ-2.
    clock.t = T0 + 60 * MIN;
    const second = start(store, identity, '1000/0002', clock);
    await second.ingestor.flush();
    clock.t += IDLE;
    expect(second.ingestor.idleHolding(clock.t, IDLE)).toEqual(['EQ-1']);
    await second.ingestor.submitInternal([watermarkMessage('EQ-1', clock.t)]);
    await second.ingestor.flush();
    expect(second.deliveries.map((d) => [d.erpAssetId, d.payload.warehouseLocation, d.eventTime, d.payload.lastSeen])).toEqual([['EQ-1', '1000/0002', T0 + MIN, new Date(T0 + MIN).toISOString()]]);
    // Decided: not named again.
    clock.t += IDLE;
    expect(second.ingestor.idleHolding(clock.t, IDLE)).toEqual([]);

    // A second restart with the same config: nobody named, nothing sent again, even for a watermark.
    const third = start(store, identity, '1000/0002', clock);
    await third.ingestor.flush();
    clock.t += IDLE;
    expect(third.ingestor.idleHolding(clock.t, IDLE)).toEqual([]);
    await third.ingestor.submitInternal([watermarkMessage('EQ-1', clock.t)]);
    await third.ingestor.flush();
    expect(third.deliveries).toEqual([]);
  });

  it('sends, after a restart that ranks the zones an asset is in otherwise, the code of the zone that ranks first now, once', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    const identity = new IdentityIndex(await store.listAssets());
    const clock = { t: T0 + 10 * MIN };
    // A 50 m bay in the middle of the yard; the yard ranked first by its priority, then not (the config changed).
    const bay = (priority: number): Zone[] => [{ ...yard('1000/0001'), priority }, { name: 'bay', locationCode: '1000/0009', priority: 0, shape: { type: 'circle', lat: IN_YARD, lng: 13.4, radiusM: 50 } }];
    const first = start(store, identity, '', clock, undefined, bay(1));
    await first.ingestor.submit([fix('tag-1', 0, IN_YARD), fix('tag-1', 1, IN_YARD + 0.0000001)]);
    await first.ingestor.flush();
    expect(first.deliveries.at(-1)?.payload.warehouseLocation).toBe('1000/0001');

    // Restarted with the yard's priority 0: the bay (the smaller) ranks first where the asset is parked.
    clock.t = T0 + 60 * MIN;
    const second = start(store, identity, '', clock, undefined, bay(0));
    await second.ingestor.flush();
    clock.t += IDLE;
    expect(second.ingestor.idleHolding(clock.t, IDLE)).toEqual(['EQ-1']);
    await second.ingestor.submitInternal([watermarkMessage('EQ-1', clock.t)]);
    await second.ingestor.flush();
    expect(second.deliveries.map((d) => [d.erpAssetId, d.payload.warehouseLocation, d.payload.zone, d.eventTime])).toEqual([['EQ-1', '1000/0009', 'bay', T0 + MIN]]);
    clock.t += IDLE;
    expect(second.ingestor.idleHolding(clock.t, IDLE)).toEqual([]);
    // Its next fix there sends nothing more.
    await second.ingestor.submit([fix('tag-1', 64, IN_YARD)]);
    expect(second.ingestor.idleHolding(clock.t, IDLE)).toEqual([]);
    await second.ingestor.flush();
    expect(second.deliveries).toHaveLength(1);
  });
});
