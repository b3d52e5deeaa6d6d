/**
 * `maintenance status` and `depreciation preview` say a reading set aside before a meter replacement
 * declared since as `assets meters` does: without advising to declare one (the maintenance and
 * depreciation rules hold the replacement until `rules.allowedLateness` has passed, the meter rule
 * takes it in at once).
 */
import { describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { rulesSchema } from '../../config/rules-schema.js';
import type { CanonicalEvent } from '../../core/model/events.js';
import { createRules } from '../../core/rules/index.js';
import { createMeterSyncRule } from '../../core/rules/meter-sync.js';
import { simulateRules } from '../../core/rules/simulate.js';
import { useTempStores } from '../../../test/helpers/temp-stores.js';
import { previewDepreciation } from './depreciation.js';
import { loadMaintenanceStatus } from './maintenance.js';
import { loadMeterReport } from './meters.js';

const newStore = useTempStores();

const H = 3_600_000;
const T0 = Date.parse('2026-10-01T00:00:00Z');
const NOW = Date.parse('2026-11-05T00:00:00Z');
const meter = (id: string, h: number, fields: Partial<CanonicalEvent & { kind: 'meter' }>): CanonicalEvent =>
  ({ kind: 'meter', source: 'aemp:trackunit', ids: [{ type: 'erp', value: id }], eventTime: T0 + h * H, receivedAt: T0 + h * H, ...fields });
// The default rules.allowedLateness (30 s): the other rules hold the replacement, the newest event, until then.
const rules = rulesSchema.parse({ maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }, { name: 'oil', everyKm: 15000 }] }, depreciation: { timeZone: 'UTC' } });

async function storeAfter(events: CanonicalEvent[]): Promise<SqliteStore> {
  const store = newStore();
  await store.upsertAssets(['EQ-1', 'EQ-9'].map((id) => ({ asset: { erpAssetId: id, erpModule: 'fleet', attributes: {} }, identifiers: [{ type: 'erp' as const, value: id, erpAssetId: id }] })));
  const assets = new Map((await store.listAssets()).map((a) => [a.asset.erpAssetId, a.asset]));
  const r = simulateRules([...createRules(rules), createMeterSyncRule()], events.map((event) => ({ event, asset: assets.get(event.ids[0]?.value ?? '')!, destination: 'erp' })));
  await store.commitIngest({ states: [...r.states].map(([erpAssetId, doc]) => ({ erpAssetId, doc })), deliveries: r.perStep.flat(), quarantine: [], accepted: events.length });
  return store;
}

// Was: "… if the meter or ECU was replaced, declare it: assetbridge assets reset-meter EQ-1 …" right after 'assets reset-meter EQ-1'.
describe('a reading set aside before a meter replacement declared since', () => {
  const events = [
    meter('EQ-1', 0, { operatingHours: 1000 }),
    meter('EQ-1', 1, { operatingHours: 1001 }),
    meter('EQ-1', 2, { operatingHours: 5 }), // the new meter: went backwards against the old one, set aside
    meter('EQ-1', 3, { operatingHours: 6, declaredReset: true }), // assets reset-meter EQ-1 --hours 6
    meter('EQ-9', 0, { odometerKm: 500, operatingHours: 10 }),
    meter('EQ-9', 1, { odometerKm: 400, operatingHours: 11 }), // the odometer went backwards: set aside
    meter('EQ-9', 3, { operatingHours: 0, declaredReset: true }), // the hour meter replaced, not the odometer
  ];
  const said = '(before the replacement declared at 2026-10-01T03:00:00.000Z: stays set aside, the readings since count on the new meter)';

  it('maintenance status: no advice to declare it, as assets meters; per meter', async () => {
    const store = await storeAfter(events);
    // assets meters says so already (766de9f5).
    expect((await loadMeterReport(store, { asset: 'EQ-1' }))[0]?.recent[0]?.replacedAfterAt).toBe(T0 + 3 * H);
    const [eq1, eq9] = await loadMaintenanceStatus(store, rules, undefined, NOW);
    const svc = eq1?.due.find((d) => d.rule === 'svc')?.state;
    expect(svc).toContain('; latest reading set aside: 2026-10-01T02:00:00.000Z: meter went backwards from 1001 (2026-10-01T01:00:00.000Z) to 5 (2026-10-01T02:00:00.000Z): set aside, not counted ' + said);
    expect(svc).not.toContain('reset-meter');
    // The odometer was not declared replaced: its advice stays.
    expect(eq9?.due.find((d) => d.rule === 'oil')?.state).toContain('declare it: assetbridge assets reset-meter EQ-9 --km <new reading>');
  });

  it('depreciation preview: no advice to declare it in the notes', async () => {
    const store = await storeAfter(events);
    const [eq1] = await previewDepreciation(store, rules, '2026-10', 'erp', NOW, 'EQ-1');
    expect(eq1?.line.notes).toContain('meter: 2026-10-01T02:00:00.000Z: meter went backwards from 1001 (2026-10-01T01:00:00.000Z) to 5 (2026-10-01T02:00:00.000Z): set aside, not counted ' + said);
    expect(eq1?.meterIssue).not.toContain('reset-meter');
    expect(eq1?.line.notes.join('\n')).not.toContain('reset-meter');
  });
});
