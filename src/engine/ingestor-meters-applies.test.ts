/**
 * `rules.meters` through the service's ingest (the engine runs the meter rule's owned form): meter
 * sync off, or limited by `appliesTo`, commits no `meter.record` for the assets it leaves out, while
 * a service interval on the same readings still comes due; the meter state stored is the same, so a
 * restart with meter sync on again sends the next reading.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rulesSchema, type RulesConfigInput } from '../config/rules-schema.js';
import { IdentityIndex } from '../core/identity/resolver.js';
import type { DeliveryIntent } from '../core/model/delivery.js';
import type { RawMessage } from '../core/model/messages.js';
import { createCanonicalDecoder } from '../core/normalize/canonical-decoder.js';
import { createRules, meterSyncOptionsOf } from '../core/rules/index.js';
import { createMeterSyncRule, METER_RULE } from '../core/rules/meter-sync.js';
import type { Store } from '../ports/store.js';
import { observeCommits } from '../../test/helpers/ingestor.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import { DecoderRegistry, Ingestor } from './ingestor.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const T0 = Date.parse('2026-11-20T08:00:00Z');
const MIN = 60_000;

/** A store with EQ-1 (own, tag-1) and EQ-2 (rented, tag-2), and its identity index. */
async function fleet(): Promise<{ store: Store; identity: IdentityIndex }> {
  const store = tempStore();
  cleanup.push(() => store.close());
  const fleetOf = { '1': 'own', '2': 'rented' } as const;
  await store.upsertAssets((['1', '2'] as const).map((n) => ({ asset: { erpAssetId: `EQ-${n}`, erpModule: 'maintenance', attributes: { fleet: fleetOf[n], lastServiceHours: '100' } }, identifiers: [{ type: 'tag' as const, value: `tag-${n}`, erpAssetId: `EQ-${n}` }] })));
  return { store, identity: new IdentityIndex(await store.listAssets()) };
}

/** The service's rules for `meters`, with a 10 h service interval; the deliveries it commits go to `out`. */
function start(store: Store, identity: IdentityIndex, meters: RulesConfigInput['meters'], out: DeliveryIntent[]): Ingestor {
  const rules = rulesSchema.parse({ allowedLateness: 0, location: { enabled: false }, ...(meters ? { meters } : {}), maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }] } });
  return new Ingestor({
    store: observeCommits(store, (c) => out.push(...c.deliveries)),
    clock: { now: () => T0 + 900 * MIN },
    decoders: new DecoderRegistry().register('http', createCanonicalDecoder()),
    rules: [...createRules(rules), createMeterSyncRule(meterSyncOptionsOf(rules))],
    identity: () => identity,
    validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0 },
    defaultDestination: 'erp',
    maxWaitMs: 1,
    checkpointMs: 1,
  });
}

/** `tag`'s hour meter at `hours`, `minute` minutes after T0. */
const reading = (tag: string, minute: number, hours: number): RawMessage => ({
  source: 'http',
  channel: '/v1/events',
  payload: JSON.stringify({ kind: 'meter', assetId: tag, eventTime: new Date(T0 + minute * MIN).toISOString(), operatingHours: hours }),
  receivedAt: T0 + minute * MIN,
});

const sent = (out: readonly DeliveryIntent[]) => out.map((d) => [d.operation, d.erpAssetId]);
const READINGS = ['tag-1', 'tag-2'].flatMap((tag) => [reading(tag, 0, 100), reading(tag, 300, 104), reading(tag, 720, 111)]);

describe('rules.meters in the service', () => {
  it('off: no meter.record, the service interval still due, the meter state as with it on; on again, the next reading is sent', async () => {
    const on = await fleet();
    const withOn: DeliveryIntent[] = [];
    const a = start(on.store, on.identity, undefined, withOn);
    await a.submit(READINGS);
    await a.flush();
    // The newest reading of each asset (a batch's state deliveries of one key are coalesced).
    expect(withOn.filter((d) => d.operation === 'meter.record').map((d) => [d.erpAssetId, d.payload.operatingHours])).toEqual([
      ['EQ-1', 111],
      ['EQ-2', 111],
    ]);

    const { store, identity } = await fleet();
    const out: DeliveryIntent[] = [];
    const b = start(store, identity, { enabled: false }, out);
    await b.submit(READINGS);
    await b.flush();
    expect(sent(out)).toEqual([
      ['workorder.create', 'EQ-1'],
      ['workorder.create', 'EQ-2'],
    ]);
    const stored = await store.loadRuleStates(['EQ-1', 'EQ-2'], [METER_RULE]);
    expect(stored).toEqual(await on.store.loadRuleStates(['EQ-1', 'EQ-2'], [METER_RULE]));

    // Restarted with meter sync for the own fleet only: EQ-1's next reading is sent, EQ-2's not.
    out.length = 0;
    const c = start(store, identity, { appliesTo: { attributes: { fleet: 'own' } } }, out);
    await c.submit([reading('tag-1', 780, 112), reading('tag-2', 780, 112)]);
    await c.flush();
    expect(out.map((d) => [d.operation, d.erpAssetId, d.payload.operatingHours])).toEqual([['meter.record', 'EQ-1', 112]]);
  });
});
