/**
 * `maintenance status` for a work order the ERP has not reported on yet: "requested" alone read as
 * "not sent"; the outbox says where its delivery stands, and the ERP's answer gives its id.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rulesSchema } from '../../config/rules-schema.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import type { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { tempStore } from '../../../test/helpers/temp-store.js';
import { formatMaintenanceStatus, loadMaintenanceStatus, onlyDue, parseClosedLimit } from './maintenance.js';

const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

const T = Date.parse('2026-10-01T08:00:00Z');
const order = (key: string): DeliveryIntent => ({ destination: 'erp', operation: 'workorder.create', kind: 'fact', businessKey: key, erpAssetId: 'EQ-1', eventTime: T, payload: { title: key } });

describe('maintenance status of requested work orders', () => {
  it('says whether each was queued, sent (with the ERP id from its answer) or dead-lettered, and whether a dead one may be in the ERP', async () => {
    const store = tempStore();
    stores.push(store);
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    const keys = ['EQ-1|svc|250h@b0', 'EQ-1|svc|500h@b0', 'EQ-1|svc|750h@b0', 'EQ-1|svc|1000h@b0'];
    const workOrders = Object.fromEntries(keys.map((k) => [k, { status: 'requested', openedAt: T }]));
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { maintenance: { workOrders } } }], deliveries: keys.map(order), quarantine: [], accepted: 0 });
    const [first, second, third] = await store.claimDue('erp', Date.now(), 3, new Set());
    await store.completeAttempts(
      [
        { id: first!.id, result: 'delivered', response: { id: 'WO-000017', status: 'open' } },
        { id: second!.id, result: 'dead', error: '422 unknown plant' },
        { id: third!.id, result: 'dead', error: 'timeout', mayHaveLanded: true },
      ],
      [],
      Date.now(),
    );
    const rules = rulesSchema.parse({ maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }] } });
    const [row] = await loadMaintenanceStatus(store, rules, undefined, T);
    expect(row?.open.map((w) => [w.businessKey, w.status, w.delivery, w.erpWorkOrderId])).toEqual([
      ['EQ-1|svc|250h@b0', 'requested', 'sent', 'WO-000017'],
      ['EQ-1|svc|500h@b0', 'requested', `dead letter ${second!.id}`, undefined],
      ['EQ-1|svc|750h@b0', 'requested', `dead letter ${third!.id}, may be in the ERP`, undefined],
      ['EQ-1|svc|1000h@b0', 'requested', 'queued', undefined],
    ]);
    expect(formatMaintenanceStatus(row ? [row] : [], 5)).toMatch(/EQ-1\|svc\|250h@b0 +requested \(sent\) +MEDIUM +\S+ +WO-000017/);
  });
});

describe('maintenance status when the state forgot open work orders (it keeps a bounded number)', () => {
  it('says how many, in the open work orders and with --due, rather than leaving them out silently', async () => {
    const store = tempStore();
    stores.push(store);
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { maintenance: { workOrders: {}, openForgotten: 3 } } }], deliveries: [], quarantine: [], accepted: 0 });
    const rules = rulesSchema.parse({ maintenance: { alerts: [{ name: 'faults' }] } });
    const rows = await loadMaintenanceStatus(store, rules, undefined, T);
    expect(rows.map((r) => [r.erpAssetId, r.open.length, r.openForgotten])).toEqual([['EQ-1', 0, 3]]);
    const text = formatMaintenanceStatus(onlyDue(rows), 0);
    expect(text).toContain('OPEN WORK ORDERS\nEQ-1: 3 older work order(s) forgotten while open, to keep the state bounded (it keeps the newest 1000 open ones per asset)');
    expect(text).not.toContain('OPEN WORK ORDERS\nnone');
  });
});

describe('maintenance status --closed', () => {
  it('takes a count of 0 or more; a negative or empty one is refused saying what it takes, not that -1 is not whole', () => {
    expect(parseClosedLimit('0')).toBe(0);
    expect(parseClosedLimit('12')).toBe(12);
    for (const bad of ['-1', '', 'abc', '1.5']) expect(() => parseClosedLimit(bad), bad).toThrow(`--closed "${bad}" is not a whole number of 0 or more (0: none)`);
  });
});

describe('maintenance status with no maintenance rules', () => {
  it('with no maintenance rules, names every kind of rule to add, alerts included', async () => {
    const store = tempStore();
    stores.push(store);
    await expect(loadMaintenanceStatus(store, rulesSchema.parse({}), undefined, T)).rejects.toThrow(
      'no maintenance rules are configured (add rules.maintenance.thresholds, alerts, serviceIntervals or calendarIntervals to the config)',
    );
  });
});

describe('maintenance status with more than one destination', () => {
  it('gives each work order the destination it was opened at: its record, else its create in the outbox; a column with more than one destination, the JSON field always', async () => {
    const store = tempStore();
    stores.push(store);
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    const workOrders = {
      // Recorded where it was opened.
      'EQ-1|svc|250h@b0': { status: 'requested', openedAt: T, destination: 'erp2' },
      // Recorded before records kept it: the outbox says.
      'EQ-1|svc|500h@b0': { status: 'open', openedAt: T + 1 },
      'EQ-1|svc|750h@b0': { status: 'completed', openedAt: T + 2, changedAt: T + 3 },
      // Known nowhere.
      'EQ-1|svc|1000h@b0': { status: 'cancelled', openedAt: T + 4, changedAt: T + 5 },
    };
    const at = (destination: string, key: string): DeliveryIntent => ({ ...order(key), destination });
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { maintenance: { workOrders } } }], deliveries: [at('erp2', 'EQ-1|svc|250h@b0'), at('erp', 'EQ-1|svc|500h@b0'), at('erp2', 'EQ-1|svc|750h@b0')], quarantine: [], accepted: 0 });
    const rules = rulesSchema.parse({ maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }] } });
    const rows = await loadMaintenanceStatus(store, rules, undefined, T);
    expect(rows.flatMap((r) => [...r.open, ...r.closed].map((w) => [w.businessKey, w.destination]))).toEqual([
      ['EQ-1|svc|250h@b0', 'erp2'],
      ['EQ-1|svc|500h@b0', 'erp'],
      ['EQ-1|svc|750h@b0', 'erp2'],
      ['EQ-1|svc|1000h@b0', undefined],
    ]);
    const two = formatMaintenanceStatus(rows, 5, { destinations: true });
    expect(two).toMatch(/ASSET +DESTINATION +BUSINESS KEY +STATUS +PRIORITY/);
    expect(two).toMatch(/EQ-1 +erp2 +EQ-1\|svc\|250h@b0 +requested \(queued\)/);
    expect(two).toMatch(/EQ-1 +erp +EQ-1\|svc\|500h@b0 +open/);
    expect(two).toMatch(/ASSET +DESTINATION +BUSINESS KEY +STATUS +CHANGED/);
    expect(two).toMatch(/EQ-1 +erp2 +EQ-1\|svc\|750h@b0 +completed/);
    expect(two).toMatch(/EQ-1 +- +EQ-1\|svc\|1000h@b0 +cancelled/);
    // One destination: the tables as they were.
    const one = formatMaintenanceStatus(rows, 5);
    expect(one).not.toContain('DESTINATION');
    expect(one).toMatch(/EQ-1 +EQ-1\|svc\|250h@b0 +requested \(queued\)/);
  });
});

describe('maintenance status when the record and the outbox disagree on where a work order was opened', () => {
  it('shows what the outbox says (as ERP feedback is held to it), for open and closed work orders alike', async () => {
    const store = tempStore();
    stores.push(store);
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    // Records rebuilt by a replay after a crash, with the asset moved to erp2 in the new configuration:
    // they say erp2, but the creates went to erp before the crash.
    const workOrders = {
      'EQ-1|svc|250h@b0': { status: 'open', openedAt: T, destination: 'erp2' },
      'EQ-1|svc|500h@b0': { status: 'requested', openedAt: T + 1, destination: 'erp2' },
      'EQ-1|svc|750h@b0': { status: 'completed', openedAt: T + 2, changedAt: T + 3, destination: 'erp2' },
      // Not in the outbox (its create pruned by retention): the record says.
      'EQ-1|svc|1000h@b0': { status: 'open', openedAt: T + 4, destination: 'erp2' },
    };
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { maintenance: { workOrders } } }], deliveries: [order('EQ-1|svc|250h@b0'), order('EQ-1|svc|500h@b0'), order('EQ-1|svc|750h@b0')], quarantine: [], accepted: 0 });
    const rules = rulesSchema.parse({ maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }] } });
    const rows = await loadMaintenanceStatus(store, rules, undefined, T);
    expect(rows.flatMap((r) => [...r.open, ...r.closed].map((w) => [w.businessKey, w.destination]))).toEqual([
      ['EQ-1|svc|250h@b0', 'erp'],
      ['EQ-1|svc|500h@b0', 'erp'],
      ['EQ-1|svc|1000h@b0', 'erp2'],
      ['EQ-1|svc|750h@b0', 'erp'],
    ]);
    expect(formatMaintenanceStatus(rows, 5, { destinations: true })).toMatch(/EQ-1 +erp +EQ-1\|svc\|250h@b0 +open/);
  });
});

describe('maintenance status --asset for an asset no maintenance rule applies to', () => {
  // It said "no assets with maintenance rules or work orders", as if the fleet had none.
  it('says that no rule applies to that asset, and where to see whom each applies to', async () => {
    const store = tempStore();
    stores.push(store);
    await store.upsertAssets([
      { asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] },
      { asset: { erpAssetId: 'PAL-7', erpModule: 'inventory', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-p7', erpAssetId: 'PAL-7' }] },
    ]);
    const rules = rulesSchema.parse({ maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250, appliesTo: { erpModules: ['maintenance'] } }] } });
    expect(await loadMaintenanceStatus(store, rules, 'tag-p7', T)).toEqual([]);
    const text = formatMaintenanceStatus([], 5, { asset: 'tag-p7' });
    expect(text).toContain('no maintenance rule applies to asset tag-p7 and it has no work orders');
    expect(text).toContain("'assetbridge rules list'");
    expect(formatMaintenanceStatus([], 5)).toBe('no assets with maintenance rules or work orders\n');
  });
});
