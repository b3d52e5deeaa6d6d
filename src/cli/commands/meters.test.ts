import { describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import type { CanonicalEvent } from '../../core/model/events.js';
import { createMeterSyncRule } from '../../core/rules/meter-sync.js';
import { simulateRules } from '../../core/rules/simulate.js';
import { useTempStores } from '../../../test/helpers/temp-stores.js';
import { toJson } from '../context.js';
import { formatMeterReport, loadMeterReport, meterResetEvent } from './meters.js';

const newStore = useTempStores();

const H = 3_600_000;
const T0 = Date.parse('2026-10-01T00:00:00Z');
const meter = (id: string, h: number, fields: { operatingHours?: number; odometerKm?: number }): CanonicalEvent => ({ kind: 'meter', source: 'aemp:trackunit', ids: [{ type: 'erp', value: id }], eventTime: T0 + h * H, receivedAt: 0, ...fields });

async function storeAfter(events: CanonicalEvent[]): Promise<SqliteStore> {
  const store = newStore();
  await store.upsertAssets(['EQ-1', 'TR-5', 'EQ-9'].map((id) => ({ asset: { erpAssetId: id, erpModule: 'fleet', attributes: {} }, identifiers: [{ type: 'erp' as const, value: id, erpAssetId: id }] })));
  const assets = new Map((await store.listAssets()).map((a) => [a.asset.erpAssetId, a.asset]));
  const r = simulateRules([createMeterSyncRule()], events.map((event) => ({ event, asset: assets.get(event.ids[0]?.value ?? '')!, destination: 'erp' })));
  await store.commitIngest({ states: [...r.states].map(([erpAssetId, doc]) => ({ erpAssetId, doc })), deliveries: r.perStep.flat(), quarantine: [], accepted: events.length });
  return store;
}

describe('assets meters', () => {
  it('shows the readings last sent and the ones set aside, with why', async () => {
    const store = await storeAfter([
      meter('EQ-1', 0, { operatingHours: 1000, odometerKm: 500 }),
      meter('EQ-1', 1, { operatingHours: 1001 }),
      meter('EQ-1', 2, { operatingHours: 900 }), // went backwards: set aside
      meter('TR-5', 0, { odometerKm: 30_000 }),
      meter('TR-5', 1, { odometerKm: 30_080 }),
    ]);
    const rows = await loadMeterReport(store);
    expect(rows.map((r) => [r.erpAssetId, r.hours?.value, r.odometer?.value, r.setAside])).toEqual([
      ['EQ-1', 1001, undefined, { backwards: 1 }],
      ['TR-5', undefined, 30_080, {}],
    ]);
    expect(rows[0]?.recent).toEqual([{ status: 'backwards', detail: expect.stringMatching(/went backwards from 1001/), at: T0 + 2 * H, source: 'aemp:trackunit' }]);
    const text = formatMeterReport(rows);
    expect(text).toMatch(/EQ-1\s+1001 h\s+-\s+2026-10-01T01:00:00.000Z\s+1 \(backwards 1\)\s+2026-10-01T02:00:00.000Z .*went backwards from 1001/);
    // That it is not counted, and the command to run for this asset (never reset by itself).
    expect(text).toContain('to 900 (2026-10-01T02:00:00.000Z): set aside, not counted, as is every reading below 1001 until the meter shows it again or a replacement is declared; if the meter or ECU was replaced, declare it: assetbridge assets reset-meter EQ-1 --hours');
    expect(text).toMatch(/TR-5\s+-\s+30080 km\s+2026-10-01T01:00:00.000Z\s+0\s+-/);
    expect((await loadMeterReport(store, { flagged: true })).map((r) => r.erpAssetId)).toEqual(['EQ-1']);
    expect((await loadMeterReport(store, { asset: 'TR-5' })).map((r) => r.erpAssetId)).toEqual(['TR-5']);
    await expect(loadMeterReport(store, { asset: 'NOPE' })).rejects.toThrow(/no asset "NOPE"/);
  });
  it('marks the readings of an asset rules.meters sends none of now as not sent (off, or left out by its appliesTo)', async () => {
    const store = await storeAfter([meter('EQ-1', 0, { operatingHours: 1000 }), meter('TR-5', 0, { odometerKm: 30_000 })]);
    await store.upsertAssets([{ asset: { erpAssetId: 'TR-5', erpModule: 'trucks', attributes: {} }, identifiers: [] }]);
    expect((await loadMeterReport(store, { meters: { enabled: true } })).map((r) => r.notSent)).toEqual([undefined, undefined]);
    const off = await loadMeterReport(store, { meters: { enabled: false } });
    expect(off.map((r) => [r.erpAssetId, r.notSent])).toEqual([
      ['EQ-1', 'rules.meters.enabled is false'],
      ['TR-5', 'rules.meters.enabled is false'],
    ]);
    expect(formatMeterReport(off)).toMatch(/EQ-1\s+1000 h \(not sent\)\s+-/);
    expect(formatMeterReport(off)).toContain('\n(not sent): meter sync sends no readings of any asset now (rules.meters.enabled is false): these are the newest readings meter hygiene accepted, which the ERP may not have\n');
    const fleet = await loadMeterReport(store, { meters: { enabled: true, appliesTo: { erpModules: ['fleet'] } } });
    expect(fleet.map((r) => [r.erpAssetId, r.notSent])).toEqual([
      ['EQ-1', undefined],
      ['TR-5', 'rules.meters.appliesTo leaves it out'],
    ]);
    const text = formatMeterReport(fleet);
    expect(text).toMatch(/TR-5\s+-\s+30000 km \(not sent\)/);
    expect(text).toMatch(/EQ-1\s+1000 h\s+-/);
    expect(text).toContain('(not sent): meter sync sends no readings of TR-5 now (rules.meters.appliesTo leaves it out)');
  });

  it('says a reading set aside before a late-declared replacement (reset-meter --at in the past) is explained by it, not to declare it', async () => {
    const store = await storeAfter([
      meter('EQ-1', 0, { operatingHours: 1000 }),
      meter('EQ-1', 1, { operatingHours: 1001 }),
      meter('EQ-1', 3, { operatingHours: 0.5 }), // the new meter's reading: went backwards against the old one
      { ...meter('EQ-1', 2, { operatingHours: 0 }), declaredReset: true } as CanonicalEvent, // assets reset-meter EQ-1 --hours 0 --at (hour 2)
      meter('EQ-1', 4, { operatingHours: 500 }), // ran too fast on the new meter: not explained
    ]);
    const [row] = await loadMeterReport(store);
    expect(row?.recent.map((r) => [r.at, r.explainedByResetAt])).toEqual([
      [T0 + 3 * H, T0 + 2 * H],
      [T0 + 4 * H, undefined],
    ]);
    // It counts on the new meter now (the ERP was sent 0.5 h).
    expect(row?.hours).toMatchObject({ value: 0.5, at: T0 + 3 * H });
    const explained = formatMeterReport([{ ...row!, recent: row!.recent.slice(0, 1) }]);
    expect(explained).toContain('2026-10-01T03:00:00.000Z meter went backwards from 1001 (2026-10-01T01:00:00.000Z) to 0.5 (2026-10-01T03:00:00.000Z) (set aside before the replacement at 2026-10-01T02:00:00.000Z was declared: the replacement explains it)');
    expect(explained).not.toContain('declare it:');
    // Nor in the JSON (was: the advice stayed in its detail there).
    expect(row?.recent[0]?.detail).toBe('meter went backwards from 1001 (2026-10-01T01:00:00.000Z) to 0.5 (2026-10-01T03:00:00.000Z): set aside, not counted');
    expect(formatMeterReport([row!])).toMatch(/2026-10-01T04:00:00.000Z meter advanced .*declare it: assetbridge assets reset-meter/);
  });

  it('once a replacement is declared after a reading set aside, no longer advises declaring one: not in the table, --flagged or JSON', async () => {
    // Was: "… if the meter or ECU was replaced, declare it: assetbridge assets reset-meter EQ-1 …" after reset-meter EQ-1 had been run.
    const store = await storeAfter([
      meter('EQ-1', 0, { operatingHours: 1000 }),
      meter('EQ-1', 1, { operatingHours: 1001 }),
      meter('EQ-1', 2, { operatingHours: 5 }), // the new meter: went backwards against the old one, set aside
      { ...meter('EQ-1', 3, { operatingHours: 6 }), declaredReset: true } as CanonicalEvent, // assets reset-meter EQ-1 --hours 6 (now: after that reading)
      meter('EQ-1', 4, { operatingHours: 7 }),
      meter('EQ-9', 0, { odometerKm: 500 }),
      meter('EQ-9', 1, { odometerKm: 400 }), // the odometer went backwards: set aside
      { ...meter('EQ-9', 3, { operatingHours: 0 }), declaredReset: true } as CanonicalEvent, // the hour meter replaced, not the odometer
    ]);
    for (const flagged of [false, true]) {
      const rows = await loadMeterReport(store, { flagged });
      const [eq1, eq9] = rows;
      expect(rows.map((r) => r.erpAssetId)).toEqual(['EQ-1', 'EQ-9']);
      expect(eq1?.hours).toMatchObject({ value: 7 });
      expect(eq1?.setAside).toEqual({ backwards: 1 });
      expect(eq1?.recent).toEqual([{ status: 'backwards', detail: 'meter went backwards from 1001 (2026-10-01T01:00:00.000Z) to 5 (2026-10-01T02:00:00.000Z): set aside, not counted', at: T0 + 2 * H, source: 'aemp:trackunit', replacedAfterAt: T0 + 3 * H }]);
      const text = formatMeterReport(rows, flagged);
      expect(text).toContain('2026-10-01T02:00:00.000Z meter went backwards from 1001 (2026-10-01T01:00:00.000Z) to 5 (2026-10-01T02:00:00.000Z): set aside, not counted (before the replacement declared at 2026-10-01T03:00:00.000Z: stays set aside, the readings since count on the new meter)');
      expect(text).not.toContain('reset-meter EQ-1');
      expect(toJson(rows)).not.toContain('reset-meter EQ-1');
      // The odometer was not declared replaced: its advice stays.
      expect(eq9?.recent.map((r) => r.replacedAfterAt)).toEqual([undefined]);
      expect(text).toContain('declare it: assetbridge assets reset-meter EQ-9');
    }
  });

  it('shows a held reading the next reading confirmed as a confirmed catch-up, not as set aside; one set aside stays flagged', async () => {
    // 1000 shown live for 100 h, then 1100 an hour later: held (possible since 1000 was first shown, not since it was last).
    const idle = (id: string) => [meter(id, 0, { operatingHours: 1000 }), meter(id, 100, { operatingHours: 1000 }), meter(id, 101, { operatingHours: 1100 })];
    const km = [meter('TR-5', 0, { odometerKm: 30_000 }), meter('TR-5', 100, { odometerKm: 30_000 }), meter('TR-5', 101, { odometerKm: 35_000 }), meter('TR-5', 102, { odometerKm: 35_050 })];
    const store = await storeAfter([...idle('EQ-1'), meter('EQ-1', 102, { operatingHours: 1101 }), ...idle('EQ-9'), meter('EQ-9', 102, { operatingHours: 1000.5 }), ...km]);
    const rows = await loadMeterReport(store);
    const [eq1, eq9, tr5] = rows;
    expect(eq1?.hours).toMatchObject({ value: 1101 });
    expect(eq1?.setAside).toEqual({});
    expect(eq1?.recent).toEqual([{ status: 'confirmed catch-up', detail: expect.stringMatching(/^reading 1100 h, .*held until the next reading, which continued from it .*counted and sent from 1000 h .*not set aside$/), at: T0 + 101 * H, source: 'aemp:trackunit' }]);
    // The odometer the same.
    expect(tr5?.setAside).toEqual({});
    expect(tr5?.recent.map((r) => [r.status, r.detail.startsWith('odometer: reading 35000 km')])).toEqual([['confirmed catch-up', true]]);
    // Refuted by the next reading: set aside, still flagged.
    expect(eq9?.setAside).toEqual({ 'too-fast': 1 });
    expect(eq9?.recent.map((r) => r.status)).toEqual(['too-fast']);
    const text = formatMeterReport(rows);
    expect(text).toMatch(/EQ-1\s+1101 h\s+-\s+2026-10-05T06:00:00.000Z\s+0\s+-\n/);
    expect(text).toMatch(/EQ-9\s+1000.5 h\s+-\s+2026-10-05T06:00:00.000Z\s+1 \(too-fast 1\)\s+2026-10-05T05:00:00.000Z meter advanced 100 h/);
    expect((await loadMeterReport(store, { flagged: true })).map((r) => r.erpAssetId)).toEqual(['EQ-9']);
  });

  it('shows a reading still held (awaiting the next reading) as held: not set aside, listed by --flagged as held', async () => {
    // 1000 shown live for 100 h, then 1100 an hour later: held, and no reading after it yet. TR-5's odometer the same.
    const store = await storeAfter([
      meter('EQ-1', 0, { operatingHours: 1000 }),
      meter('EQ-1', 100, { operatingHours: 1000 }),
      meter('EQ-1', 101, { operatingHours: 1100 }),
      meter('TR-5', 0, { odometerKm: 30_000 }),
      meter('TR-5', 100, { odometerKm: 30_000 }),
      meter('TR-5', 101, { odometerKm: 35_000 }),
    ]);
    const rows = await loadMeterReport(store);
    const [eq1, tr5] = rows;
    expect(eq1?.setAside).toEqual({});
    expect(eq1?.recent).toEqual([{ status: 'held', detail: expect.stringMatching(/^meter advanced 100 h /), at: T0 + 101 * H, source: 'aemp:trackunit' }]);
    expect(tr5?.setAside).toEqual({});
    expect(tr5?.recent.map((r) => [r.status, r.detail.startsWith('odometer: ')])).toEqual([['held', true]]);
    const text = formatMeterReport(rows);
    expect(text).toMatch(/EQ-1\s+1000 h\s+-\s+2026-10-01T00:00:00.000Z\s+0, 1 held\s+held, awaiting the next reading: 2026-10-05T05:00:00.000Z meter advanced 100 h/);
    expect(text).toMatch(/TR-5\s+-\s+30000 km\s+2026-10-01T00:00:00.000Z\s+0, 1 held\s+held, awaiting the next reading: 2026-10-05T05:00:00.000Z odometer: /);
    expect(text).not.toContain('too-fast');
    // Listed by --flagged: an operator may want to see it, held, not set aside.
    expect((await loadMeterReport(store, { flagged: true })).map((r) => r.erpAssetId)).toEqual(['EQ-1', 'TR-5']);
    expect(formatMeterReport([], true)).toBe('no meter reading was set aside or is held\n');
  });

  it('shows the newer odometer: one sent beside the hours after a replacement declared alone', async () => {
    const store = await storeAfter([
      meter('EQ-9', 0, { operatingHours: 1000, odometerKm: 182_000 }),
      { ...meter('EQ-9', 1, { odometerKm: 12 }), odometerReset: true } as CanonicalEvent, // assets reset-meter EQ-9 --km 12
      meter('EQ-9', 2, { operatingHours: 1001, odometerKm: 70 }),
    ]);
    expect(formatMeterReport(await loadMeterReport(store))).toMatch(/EQ-9\s+1001 h\s+70 km\s+2026-10-01T02:00:00.000Z/);
  });
});

describe('assets reset-meter', () => {
  it('reads the new reading as a plain decimal: empty, hexadecimal or formatted text is refused, naming the option', () => {
    const at = '2026-10-01T00:00:00Z';
    expect(meterResetEvent('EQ-1', { hours: '0', at })).toMatchObject({ operatingHours: 0, declaredReset: true });
    expect(meterResetEvent('TR-5', { km: ' 12.5 ', at })).toMatchObject({ odometerKm: 12.5, odometerReset: true });
    expect(() => meterResetEvent('EQ-1', { hours: '', at })).toThrow("--hours is empty: give the new meter's first reading, a number, 0 or more (e.g. --hours 0)");
    expect(() => meterResetEvent('EQ-1', { km: '  ', at })).toThrow(/^--km is empty/);
    for (const v of ['0x10', '1e3', '1,200', 'ten', '-5', 'Infinity'])
      expect(() => meterResetEvent('EQ-1', { hours: v, at })).toThrow(`--hours "${v}" is not a reading: give a plain decimal number, 0 or more (e.g. --hours 12.5)`);
  });
});
