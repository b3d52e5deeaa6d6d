/**
 * A restart with `location.appliesTo` changed to leave out a class of assets (the pallets, counted
 * by inventory now): their stored location state (a zone dwell pending, a location sent under a
 * zone code changed since) does not make the service name them idle, and a watermark for them sends
 * no location update. The assets still synced are decided as before.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IdentityIndex } from '../core/identity/resolver.js';
import type { DeliveryIntent } from '../core/model/delivery.js';
import type { LocationSyncOptions } from '../core/rules/location-sync.js';
import type { Store } from '../ports/store.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import { IN_YARD, MIN, T0, startYardService as start, yardFix as fix } from '../../test/helpers/yard-service.js';
import { watermarkMessage } from './tasks/idle-watermark.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const IDLE = 2 * MIN;
const OFF = 52.52; // 2 km north of the yard
/** Trucks only (the change: pallets are no longer synced). */
const TRUCKS: LocationSyncOptions['appliesTo'] = { attributes: { class: ['truck'] } };

/** A store with pallet EQ-1 (tag-1) and truck EQ-2 (tag-2), and its identity index. */
async function fleet(): Promise<{ store: Store; identity: IdentityIndex }> {
  const store = tempStore();
  cleanup.push(() => store.close());
  const classOf = { '1': 'pallet', '2': 'truck' } as const;
  await store.upsertAssets((['1', '2'] as const).map((n) => ({ asset: { erpAssetId: `EQ-${n}`, erpModule: 'fixed-assets', attributes: { class: classOf[n] } }, identifiers: [{ type: 'tag' as const, value: `tag-${n}`, erpAssetId: `EQ-${n}` }] })));
  return { store, identity: new IdentityIndex(await store.listAssets()) };
}

const sent = (deliveries: readonly DeliveryIntent[]) => deliveries.map((d) => [d.erpAssetId, d.payload.warehouseLocation]);

describe('a restart with location.appliesTo changed to leave out some assets', () => {
  it('completes none of their pending zone dwells: they are not named idle, and a watermark for them sends nothing', async () => {
    const { store, identity } = await fleet();
    const clock = { t: T0 + 10 * MIN };
    // Every asset synced: both drive into the yard at 08:01 and go quiet; the service stops before
    // their idle watermark, with the entry's 30 s dwell pending in the stored state.
    const first = start(store, identity, '1000/0001', clock);
    await first.ingestor.submit([fix('tag-1', 0, OFF), fix('tag-2', 0, OFF), fix('tag-1', 1, IN_YARD), fix('tag-2', 1, IN_YARD)]);
    await first.ingestor.flush();
    expect(sent(first.deliveries)).toEqual([
      ['EQ-1', null],
      ['EQ-2', null],
    ]);

    // Restarted with trucks only: the start names the truck, not the pallet...
    clock.t = T0 + 60 * MIN;
    const second = start(store, identity, '1000/0001', clock, TRUCKS);
    await second.ingestor.flush();
    clock.t += IDLE;
    expect(second.ingestor.idleHolding(clock.t, IDLE)).toEqual(['EQ-2']);
    // ...and a watermark for each enters the truck alone.
    await second.ingestor.submitInternal([watermarkMessage('EQ-1', clock.t), watermarkMessage('EQ-2', clock.t)]);
    await second.ingestor.flush();
    expect(sent(second.deliveries)).toEqual([['EQ-2', '1000/0001']]);

    // The pallet reporting again (its fix is not synced) is not named idle for its pending dwell either.
    const third = start(store, identity, '1000/0001', clock, TRUCKS);
    expect(await third.ingestor.submit([fix('tag-1', 62, IN_YARD)])).toEqual({ accepted: 1, quarantined: [] });
    await third.ingestor.flush();
    clock.t += IDLE;
    expect(third.ingestor.idleHolding(clock.t, IDLE)).toEqual([]);
    await third.ingestor.submitInternal([watermarkMessage('EQ-1', clock.t)]);
    await third.ingestor.flush();
    expect(third.deliveries).toEqual([]);
  });

  it('does not send them a zone’s changed location code (a restart with the code changed too)', async () => {
    const { store, identity } = await fleet();
    const clock = { t: T0 + 10 * MIN };
    // Under code 1000/0001, every asset synced: both park in the yard (entered at their second fix).
    const first = start(store, identity, '1000/0001', clock);
    await first.ingestor.submit([fix('tag-1', 0, IN_YARD), fix('tag-2', 0, IN_YARD), fix('tag-1', 1, 52.5001), fix('tag-2', 1, 52.5001)]);
    await first.ingestor.flush();
    expect(sent(first.deliveries).filter(([, code]) => code === '1000/0001')).toEqual([
      ['EQ-1', '1000/0001'],
      ['EQ-2', '1000/0001'],
    ]);

    // Restarted with code 1000/0002 and trucks only: the truck is named and sent the new code, the pallet neither.
    clock.t = T0 + 60 * MIN;
    const second = start(store, identity, '1000/0002', clock, TRUCKS);
    await second.ingestor.flush();
    clock.t += IDLE;
    expect(second.ingestor.idleHolding(clock.t, IDLE)).toEqual(['EQ-2']);
    await second.ingestor.submitInternal([watermarkMessage('EQ-1', clock.t), watermarkMessage('EQ-2', clock.t)]);
    await second.ingestor.flush();
    expect(sent(second.deliveries)).toEqual([['EQ-2', '1000/0002']]);
    clock.t += IDLE;
    expect(second.ingestor.idleHolding(clock.t, IDLE)).toEqual([]);
  });
});
