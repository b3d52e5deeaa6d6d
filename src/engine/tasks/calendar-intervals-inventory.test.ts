/**
 * Maintenance rules without `appliesTo` beside inventory: the tagged pallets are assets too, so a
 * rule without a filter applies to them. Through the real ingestor (the rules' owned forms), the
 * pure maintenance rule and the calendar task: a calendar interval's date side opens a real work
 * order for every pallet every N days (counted from the first check, as they have no service date),
 * a whichever-first one's too (its meter side never counts for them), and an ERP completion of one
 * starts the pallet's next series, in either form; thresholds and alerts without `appliesTo` open
 * nothing for them, as pallets send sightings, which those rules do not look at (a tag whose
 * messages carry a threshold's sensor, a BLE tag reporting its temperature, is judged by it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { loadMaintenanceStatus } from '../../cli/commands/maintenance.js';
import { rulesSchema } from '../../config/rules-schema.js';
import { IdentityIndex } from '../../core/identity/resolver.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import type { WorkOrderStatusEvent } from '../../core/model/events.js';
import type { RawMessage } from '../../core/model/messages.js';
import { createCanonicalDecoder } from '../../core/normalize/canonical-decoder.js';
import { createRules } from '../../core/rules/index.js';
import { MAINTENANCE_RULE } from '../../core/rules/maintenance/maintenance-rule.js';
import type { OwnedRule } from '../../core/rules/owned.js';
import type { Rule } from '../../core/rules/rule.js';
import { tempStorePath } from '../../../test/helpers/temp-store.js';
import { DecoderRegistry, Ingestor } from '../ingestor.js';
import { checkCalendarIntervals, type CalendarTaskOptions } from './calendar-intervals.js';
import { calendarTaskOptionsOf } from './index.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const DAY = 86_400_000;
const T0 = Date.parse('2026-12-01T09:00:00Z');
const config = rulesSchema.parse({
  allowedLateness: 0,
  inventory: {},
  maintenance: {
    calendarIntervals: [
      { name: 'inspect-90d', everyDays: 90 },
      { name: 'pm-250h-6m', everyDays: 182, everyHours: 250 },
    ],
    thresholds: [{ name: 'hot', sensor: 'temp', above: 95 }],
    alerts: [{ name: 'faults', minSeverity: 'warning' }],
  },
});
const taskOptions = calendarTaskOptionsOf(config, 'erp') as CalendarTaskOptions;

/** An excavator serviced on 1 Oct and two tagged pallets, EX-1's state and the pallets' from the ingestor (owned forms). */
async function yard() {
  const store = new SqliteStore({ path: tempStorePath(), synchronous: 'normal' });
  cleanup.push(() => store.close());
  await store.upsertAssets([
    { asset: { erpAssetId: 'EX-1', erpModule: 'maintenance', attributes: { lastServiceDate: '2026-10-01', lastServiceHours: '1000' } }, identifiers: [{ type: 'tag', value: 'trk-1', erpAssetId: 'EX-1' }] },
    { asset: { erpAssetId: 'PAL-7', erpModule: 'inventory', attributes: { sku: 'S-1' } }, identifiers: [{ type: 'tag', value: 'epc-7', erpAssetId: 'PAL-7' }] },
    { asset: { erpAssetId: 'PAL-8', erpModule: 'inventory', attributes: { sku: 'S-2', quantity: '40' } }, identifiers: [{ type: 'tag', value: 'epc-8', erpAssetId: 'PAL-8' }] },
  ]);
  const clock = { t: T0 };
  const identity = new IdentityIndex(await store.listAssets());
  const ingestor = new Ingestor({
    store,
    clock: { now: () => clock.t },
    decoders: new DecoderRegistry().register('http', createCanonicalDecoder()),
    rules: createRules(config),
    identity: () => identity,
    validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0 },
    defaultDestination: 'erp',
    maxWaitMs: 1,
  });
  const event = (tag: string, t: number, body: object): RawMessage => ({ source: 'http', channel: '/v1/events', payload: JSON.stringify({ assetId: tag, eventTime: new Date(t).toISOString(), ...body }), receivedAt: t });
  const check = async (t: number) => (await checkCalendarIntervals(store, taskOptions, t, (deliveries: readonly DeliveryIntent[]) => store.commitIngest({ deliveries, states: [], quarantine: [], accepted: 0 }))).map((d) => d.businessKey);
  const created = async () => (await store.listDeliveries({ limit: 1000 })).filter((d) => d.operation === 'workorder.create').map((d) => d.businessKey).sort();
  return { store, ingestor, clock, event, check, created };
}

describe('maintenance rules without appliesTo, with tagged inventory items in the registry', () => {
  it('a calendar interval opens a real work order for every pallet every N days; thresholds and alerts open none for them', async () => {
    const y = await yard();
    // The pallets are seen at the gate (sightings); the excavator reports its meter and temperature.
    const taken = await y.ingestor.submit([
      y.event('epc-7', T0 - 60_000, { kind: 'position', lat: 52.5, lng: 13.4 }),
      y.event('epc-8', T0 - 60_000, { kind: 'position', lat: 52.5, lng: 13.4 }),
      y.event('trk-1', T0 - 60_000, { kind: 'meter', operatingHours: 1100 }),
      y.event('trk-1', T0 - 30_000, { kind: 'sensor', values: { temp: { value: 70 } } }),
    ]);
    expect(taken).toEqual({ accepted: 4, quarantined: [] });
    await y.ingestor.flush();
    await y.ingestor.checkpoint();

    // The first check counts the pallets from today: nothing is due yet.
    expect(await y.check(T0)).toEqual([]);
    // 90 days on: one inspection per pallet, as for the excavator (due 90 days after its 1 Oct service).
    expect((await y.check(T0 + 90 * DAY)).sort()).toEqual(['EX-1|inspect-90d|2026-12-30@b2026-10-01', 'PAL-7|inspect-90d|2027-03-01@b2026-12-01', 'PAL-8|inspect-90d|2027-03-01@b2026-12-01']);
    // "250 h or 6 months": the pallets send no hour meter, but the date side opens their work orders all the same.
    const half = await y.check(T0 + 182 * DAY);
    expect(half.filter((k) => k.startsWith('PAL-') && k.includes('pm-250h-6m')).sort()).toEqual(['PAL-7|pm-250h-6m|1@b2026-12-01+0h', 'PAL-8|pm-250h-6m|1@b2026-12-01+0h']);
    const pm = (await y.store.listDeliveries({ limit: 1000 })).find((d) => d.businessKey === 'PAL-7|pm-250h-6m|1@b2026-12-01+0h');
    expect(pm?.payload).toMatchObject({ title: 'pm-250h-6m: due 2027-06-01 or at 250 h', trigger: { type: 'calendar-interval', dueBy: 'date' } });
    expect((await y.created()).filter((k) => k.startsWith('PAL-'))).toEqual([
      'PAL-7|inspect-90d|2027-03-01@b2026-12-01',
      'PAL-7|inspect-90d|2027-05-30@b2026-12-01',
      'PAL-7|pm-250h-6m|1@b2026-12-01+0h',
      'PAL-8|inspect-90d|2027-03-01@b2026-12-01',
      'PAL-8|inspect-90d|2027-05-30@b2026-12-01',
      'PAL-8|pm-250h-6m|1@b2026-12-01+0h',
    ]);

    // Thresholds and alerts without appliesTo apply to the pallets too, but look at sensor and alert
    // events only: the sightings reach neither (the ingestor's owned forms), and status says so.
    const status = (await loadMaintenanceStatus(y.store, config, 'PAL-7', T0 + 182 * DAY))[0];
    expect(status?.due.filter((r) => r.type === 'threshold' || r.type === 'alert').map((r) => [r.rule, r.state])).toEqual([
      ['hot', 'normal'],
      ['faults', 'quiet'],
    ]);
    const rule = createRules(config).find((r) => r.name === MAINTENANCE_RULE) as Rule;
    expect(rule.kinds).not.toContain('position');
  });

  it('a threshold without appliesTo does apply to a tag whose messages carry its sensor (a BLE tag reporting temp with its zone)', async () => {
    const y = await yard();
    const taken = await y.ingestor.submit([y.event('epc-7', T0, { kind: 'sensor', values: { temp: { value: 99 } } })]);
    expect(taken).toEqual({ accepted: 1, quarantined: [] });
    await y.ingestor.flush();
    expect((await y.created()).filter((k) => k.startsWith('PAL-7|hot|'))).toHaveLength(1);
  });

  it('takes the ERP completion of a pallet\'s work order in the pure and the owned form alike: the next series opens N days later', async () => {
    const y = await yard();
    await y.check(T0);
    expect(await y.check(T0 + 90 * DAY)).toContain('PAL-7|inspect-90d|2027-03-01@b2026-12-01');
    const asset = (await y.store.listAssetRecords()).find((a) => a.erpAssetId === 'PAL-7')!;
    const done: WorkOrderStatusEvent = { kind: 'workorder', source: 'erp-feedback', ids: [{ type: 'erp', value: 'PAL-7' }], eventTime: Date.parse('2027-03-02T10:00:00Z'), receivedAt: 0, businessKey: 'PAL-7|inspect-90d|2027-03-01@b2026-12-01', status: 'completed' };
    const ctx = { asset, destination: 'erp', now: T0 + 91 * DAY };
    const pure = createRules(config).find((r) => r.name === MAINTENANCE_RULE) as Rule;
    const pureState = pure.apply(undefined, done, ctx).state;
    const owned = pure.owned?.() as OwnedRule;
    owned.load(0, undefined);
    owned.apply(0, done, ctx, []);
    expect(JSON.parse(JSON.stringify(owned.save(0)))).toEqual(JSON.parse(JSON.stringify(pureState)));
    await y.store.commitIngest({ states: [{ erpAssetId: 'PAL-7', doc: { [MAINTENANCE_RULE]: owned.save(0) } }], deliveries: [], quarantine: [], accepted: 1 });
    // Counted from the completion: the pallet's next inspection 90 days after 2 Mar.
    expect((await y.check(T0 + 181 * DAY)).filter((k) => k.startsWith('PAL-7|inspect'))).toEqual(['PAL-7|inspect-90d|2027-05-31@b2027-03-02']);
  });
});
