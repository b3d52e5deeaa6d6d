/**
 * A restart with `depreciation.appliesTo` changed to leave out some assets (site S2's), with an
 * allowed lateness: the meter readings buffered in their stored usage state do not make the service
 * name them idle, and a watermark for them counts none of those readings. The assets still
 * depreciated are decided as before. (As location sync: ingestor-location-applies.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IdentityIndex } from '../core/identity/resolver.js';
import { ENGINE_SOURCE } from '../core/model/events.js';
import type { RawMessage } from '../core/model/messages.js';
import { createCanonicalDecoder } from '../core/normalize/canonical-decoder.js';
import { monthlyCalendar } from '../core/rules/depreciation/calendar.js';
import { createUsageRule, DEPRECIATION_RULE, type UsageState } from '../core/rules/depreciation/usage-rule.js';
import type { AssetFilter } from '../core/rules/maintenance/types.js';
import type { Store } from '../ports/store.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import { DecoderRegistry, Ingestor } from './ingestor.js';
import { watermarkMessage } from './tasks/idle-watermark.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const T0 = Date.parse('2026-11-20T08:00:00Z');
const MIN = 60_000;
const IDLE = 20 * MIN;
/** Site S1 only (the change: site S2's machines are no longer depreciated here). */
const S1_ONLY: AssetFilter = { attributes: { site: ['S1'] } };

/** A store with EQ-1 at site S2 (tag-1) and EQ-2 at site S1 (tag-2), and its identity index. */
async function fleet(): Promise<{ store: Store; identity: IdentityIndex }> {
  const store = tempStore();
  cleanup.push(() => store.close());
  const siteOf = { '1': 'S2', '2': 'S1' } as const;
  await store.upsertAssets((['1', '2'] as const).map((n) => ({ asset: { erpAssetId: `EQ-${n}`, erpModule: 'fixed-assets', attributes: { site: siteOf[n] } }, identifiers: [{ type: 'tag' as const, value: `tag-${n}`, erpAssetId: `EQ-${n}` }] })));
  return { store, identity: new IdentityIndex(await store.listAssets()) };
}

/** The service with depreciation on operating hours, a 10 min lateness (and `appliesTo`). */
function start(store: Store, identity: IdentityIndex, clock: { t: number }, appliesTo?: AssetFilter): Ingestor {
  return new Ingestor({
    store,
    clock: { now: () => clock.t },
    decoders: new DecoderRegistry().register('http', createCanonicalDecoder()).register(ENGINE_SOURCE, createCanonicalDecoder()),
    rules: [createUsageRule({ calendar: monthlyCalendar('UTC'), allowedLatenessMs: 10 * MIN, ...(appliesTo ? { appliesTo } : {}) })],
    identity: () => identity,
    validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0 },
    defaultDestination: 'erp',
    maxWaitMs: 1,
    checkpointMs: 86_400_000,
  });
}

/** `tag`'s hour meter at `hours`, `minute` minutes after T0, received then. */
const reading = (tag: string, minute: number, hours: number): RawMessage => ({
  source: 'http',
  channel: '/v1/events',
  payload: JSON.stringify({ kind: 'meter', assetId: tag, eventTime: new Date(T0 + minute * MIN).toISOString(), operatingHours: hours }),
  receivedAt: T0 + minute * MIN,
});

const usageOf = async (store: Store, id: string): Promise<UsageState | undefined> => (await store.loadStates([id])).get(id)?.[DEPRECIATION_RULE] as UsageState | undefined;

describe('a restart with depreciation.appliesTo changed to leave out some assets', () => {
  it('counts none of their buffered readings: they are not named idle, and a watermark for them counts nothing', async () => {
    const { store, identity } = await fleet();
    const clock = { t: T0 + 100 * MIN };
    // Every asset depreciated: both read 100, 101, 101.75 h an hour and then 45 min apart; the
    // service stops before their idle watermark, the last reading buffered for the lateness.
    const first = start(store, identity, clock);
    await first.submit(['tag-1', 'tag-2'].flatMap((tag) => [reading(tag, 0, 100), reading(tag, 60, 101), reading(tag, 105, 101.75)]));
    await first.flush();
    const stored = await usageOf(store, 'EQ-1');
    expect(stored?.order?.pending).toEqual([{ t: T0 + 105 * MIN, h: 101.75 }]);
    expect(await usageOf(store, 'EQ-2')).toEqual(stored);

    // Restarted with site S1 only: the start names EQ-2, not EQ-1...
    clock.t = T0 + 180 * MIN;
    const second = start(store, identity, clock, S1_ONLY);
    await second.flush();
    clock.t += IDLE;
    expect(second.idleHolding(clock.t, IDLE)).toEqual(['EQ-2']);
    // ...and a watermark for each counts EQ-2's buffered reading alone.
    await second.submitInternal([watermarkMessage('EQ-1', clock.t), watermarkMessage('EQ-2', clock.t)]);
    await second.flush();
    expect((await usageOf(store, 'EQ-2'))?.order?.pending).toEqual([]);
    expect((await usageOf(store, 'EQ-2'))?.last).toEqual([T0 + 105 * MIN, 101.75]);
    expect(await usageOf(store, 'EQ-1')).toEqual(stored);
    clock.t += IDLE;
    expect(second.idleHolding(clock.t, IDLE)).toEqual([]);

    // EQ-1 reporting again (its reading is not counted) is not named idle for its buffered reading either.
    const third = start(store, identity, clock, S1_ONLY);
    expect(await third.submit([reading('tag-1', 210, 103)])).toEqual({ accepted: 1, quarantined: [] });
    await third.flush();
    clock.t += IDLE;
    expect(third.idleHolding(clock.t, IDLE)).toEqual([]);
    await third.submitInternal([watermarkMessage('EQ-1', clock.t)]);
    await third.flush();
    expect(await usageOf(store, 'EQ-1')).toEqual(stored);
  });
});
