/**
 * createRules, from a mutation audit: each setting of the compiled `rules` section reaches the
 * rule it configures, so what the config says is what the rules do.
 */
import { describe, expect, it } from 'vitest';
import { rulesSchema, type RulesConfig } from '../../config/rules-schema.js';
import type { AssetRecord } from '../model/assets.js';
import type { CanonicalEvent } from '../model/events.js';
import { createRules, maintenanceOptionsOf, zoneTrackingOf } from './index.js';
import { maintenanceStatus } from './maintenance/status.js';
import { simulateRules } from './simulate.js';

const T0 = Date.parse('2026-10-01T08:00:00Z'); // a Thursday
const MIN = 60_000;
const ids = [{ type: 'tag' as const, value: 'x' }];
const asset = (erpAssetId: string, attributes: Record<string, string> = {}, erpModule = 'maintenance'): AssetRecord => ({ erpAssetId, erpModule, attributes });
const at = (t: number, lat: number, lng: number, extra: object = {}): CanonicalEvent => ({ kind: 'position', source: 't', ids, eventTime: t, receivedAt: t, lat, lng, ...extra });

function run(config: RulesConfig, steps: { event: CanonicalEvent; asset: AssetRecord }[]) {
  return simulateRules(createRules(config), steps.map((s) => ({ ...s, destination: 'erp' })));
}

const YARD = { name: 'yard', locationCode: 'Y1', circle: { lat: 52.5, lng: 13.4, radiusM: 100 } };

describe('createRules', () => {
  it('location.enabled false: positions sync no location', () => {
    const c = rulesSchema.parse({ allowedLateness: 0, location: { enabled: false } });
    expect(run(c, [{ event: at(T0, 52.5, 13.4), asset: asset('EQ-1') }]).perStep.flat()).toEqual([]);
    expect(run(rulesSchema.parse({ allowedLateness: 0 }), [{ event: at(T0, 52.5, 13.4), asset: asset('EQ-1') }]).perStep.flat().map((d) => d.operation)).toEqual(['location.update']);
  });

  it('location.appliesTo: only the assets it names have their location synced', () => {
    const c = rulesSchema.parse({ allowedLateness: 0, location: { appliesTo: { attributes: { type: 'excavator' } } } });
    const out = run(c, [
      { event: at(T0, 52.5, 13.4), asset: asset('PALLET-1', { type: 'pallet' }) },
      { event: at(T0, 52.5, 13.4), asset: asset('EQ-1', { type: 'excavator' }) },
    ]).perStep.flat();
    expect(out.map((d) => d.erpAssetId)).toEqual(['EQ-1']);
  });

  it('maintenance with alert rules only: a critical fault opens a work order', () => {
    const c = rulesSchema.parse({ allowedLateness: 0, location: { enabled: false }, maintenance: { alerts: [{ name: 'faults' }] } });
    const alert: CanonicalEvent = { kind: 'alert', source: 't', ids, eventTime: T0, receivedAt: T0, reason: 'hydraulic pressure low', severity: 'critical', code: 'HYD-7' };
    expect(run(c, [{ event: alert, asset: asset('EQ-1') }]).perStep.flat().map((d) => [d.operation, d.payload.priority])).toEqual([['workorder.create', 'HIGH']]);
  });

  it('maintenance with calendar intervals only: the ERP\'s completions are still recorded', () => {
    const c = rulesSchema.parse({ allowedLateness: 0, location: { enabled: false }, maintenance: { calendarIntervals: [{ name: 'insp', everyDays: 365 }] } });
    const done: CanonicalEvent = { kind: 'workorder', source: 'erp-feedback', ids, eventTime: T0, receivedAt: T0, businessKey: 'EQ-1|insp|2026-10-01@b2026-07-01', status: 'completed' };
    const r = run(c, [{ event: done, asset: asset('EQ-1') }]);
    const options = maintenanceOptionsOf(c);
    expect(options && maintenanceStatus(asset('EQ-1'), r.states.get('EQ-1')?.maintenance as never, options).closed.map((w) => w.businessKey)).toEqual(['EQ-1|insp|2026-10-01@b2026-07-01']);
  });

  it('maintenance.keepClosed: only that many closed work orders are remembered per asset', () => {
    const c = rulesSchema.parse({ allowedLateness: 0, location: { enabled: false }, maintenance: { calendarIntervals: [{ name: 'insp', everyDays: 30 }], keepClosed: 1 } });
    const done = (day: string, i: number): CanonicalEvent => ({ kind: 'workorder', source: 'erp-feedback', ids, eventTime: T0 + i * MIN, receivedAt: T0 + i * MIN, businessKey: `EQ-1|insp|${day}@b2026-07-01`, status: 'completed' });
    const r = run(c, [
      { event: done('2026-08-01', 0), asset: asset('EQ-1') },
      { event: done('2026-09-01', 1), asset: asset('EQ-1') },
    ]);
    const options = maintenanceOptionsOf(c);
    expect(options && maintenanceStatus(asset('EQ-1'), r.states.get('EQ-1')?.maintenance as never, options).closed.map((w) => w.businessKey)).toEqual(['EQ-1|insp|2026-09-01@b2026-07-01']);
  });

  it('maintenance.siteAttribute: the asset attribute it names picks the site\'s window for the work order', () => {
    const c = rulesSchema.parse({
      allowedLateness: 0,
      location: { enabled: false },
      maintenance: {
        thresholds: [{ name: 'hot', sensor: 'temp', above: 95 }],
        siteAttribute: 'depot',
        windows: { default: [{ days: ['sat'], from: '06:00', to: '14:00' }], sites: { HAM: [{ days: ['sun'], from: '06:00', to: '14:00' }] } },
      },
    });
    const hot: CanonicalEvent = { kind: 'sensor', source: 't', ids, eventTime: T0, receivedAt: T0, values: { temp: { value: 99 } } };
    const [wo] = run(c, [{ event: hot, asset: asset('EQ-1', { depot: 'HAM' }) }]).perStep.flat();
    expect(wo?.payload.plannedStart).toBe('2026-10-04T06:00:00.000Z'); // Sunday, HAM's window (not Saturday's default)
  });

  it('inventory with zones: an item is counted at the zone\'s location code', () => {
    const c = rulesSchema.parse({ allowedLateness: 0, location: { enabled: false }, zones: { enterDwellMs: 0, inline: [YARD] }, inventory: {} });
    const r = run(c, [{ event: at(T0, 52.5, 13.4), asset: asset('BOX-1', { sku: 'SKU-1' }) }]);
    expect((r.states.get('BOX-1')?.inventory as { location?: string | null } | undefined)?.location).toBe('Y1');
  });

  it('depreciation.appliesTo: assets it leaves out have no usage counted', () => {
    const c = rulesSchema.parse({ allowedLateness: 0, location: { enabled: false }, depreciation: { appliesTo: { erpModules: ['fixed-assets'] } } });
    const reading = (h: number): CanonicalEvent => ({ kind: 'meter', source: 't', ids, eventTime: T0 + h * MIN, receivedAt: T0 + h * MIN, operatingHours: 100 + h });
    const r = run(c, [
      { event: reading(0), asset: asset('EQ-1', {}, 'maintenance') },
      { event: reading(0), asset: asset('FA-1', {}, 'fixed-assets') },
    ]);
    expect(r.states.get('EQ-1')?.depreciation).toBeUndefined();
    expect(r.states.get('FA-1')?.depreciation).toBeDefined();
  });

  it('depreciation.keepPeriods: only that many periods of usage are kept per asset', () => {
    const c = rulesSchema.parse({ allowedLateness: 0, location: { enabled: false }, depreciation: { keepPeriods: 2 } });
    const months = ['2026-06-15', '2026-07-15', '2026-08-15', '2026-09-15', '2026-10-15'];
    const r = run(
      c,
      months.map((d, i) => {
        const t = Date.parse(`${d}T12:00:00Z`);
        const event: CanonicalEvent = { kind: 'meter', source: 't', ids, eventTime: t, receivedAt: t, operatingHours: 100 + 10 * i };
        return { event, asset: asset('EQ-1') };
      }),
    );
    const periods = (r.states.get('EQ-1')?.depreciation as { periods?: Record<string, unknown> } | undefined)?.periods ?? {};
    expect(Object.keys(periods).sort()).toEqual(['2026-09', '2026-10']);
  });

  it('zones.maxAccuracyM: a fix less accurate than it moves neither the zone nor the position sent', () => {
    const c = rulesSchema.parse({ allowedLateness: 0, zones: { enterDwellMs: 0, exitDwellMs: 0, maxAccuracyM: 50, inline: [YARD] } });
    const out = run(c, [
      { event: at(T0, 52.5, 13.4, { accuracyM: 5 }), asset: asset('EQ-1') },
      { event: at(T0 + MIN, 52.52, 13.4, { accuracyM: 500 }), asset: asset('EQ-1') }, // 2 km off, but ±500 m
    ]).perStep;
    expect(out.map((ds) => ds.map((d) => d.payload.warehouseLocation))).toEqual([['Y1'], []]);
  });

  it('zones.maxAccuracyM with no zone configured: an inaccurate fix is not sent as the position', () => {
    const c = rulesSchema.parse({ allowedLateness: 0, zones: { maxAccuracyM: 50 } });
    const out = run(c, [
      { event: at(T0, 52.5, 13.4, { accuracyM: 5 }), asset: asset('EQ-1') },
      { event: at(T0 + MIN, 52.52, 13.4, { accuracyM: 3000 }), asset: asset('EQ-1') }, // a cell-tower fallback 2 km off
      { event: at(T0 + 2 * MIN, 52.5, 13.403, { accuracyM: 8 }), asset: asset('EQ-1') }, // 200 m east: moved
    ]).perStep;
    expect(out.map((ds) => ds.map((d) => d.payload.coordinates))).toEqual([[{ lat: 52.5, lng: 13.4 }], [], [{ lat: 52.5, lng: 13.403 }]]);
  });

  it('zones.maxAccuracyM with no zone configured: an inaccurate sighting leaves an inventory item where it was, as location sync does', () => {
    const c = rulesSchema.parse({ allowedLateness: 0, zones: { maxAccuracyM: 50 }, inventory: {} });
    const box = asset('BOX-1', { sku: 'S-1' }, 'inventory');
    const r = run(c, [
      { event: at(T0, 52.5, 13.4, { accuracyM: 5, zone: 'DOCK-3' }), asset: box },
      // A tracker's own geofence decided on a cell-tower fallback 2 km off: no location.
      { event: at(T0 + MIN, 52.52, 13.4, { accuracyM: 3000, zone: 'GATE-9' }), asset: box },
    ]);
    expect(r.perStep.map((ds) => ds.map((d) => d.payload.warehouseLocation))).toEqual([['DOCK-3'], []]);
    expect(r.states.get('BOX-1')?.inventory).toMatchObject({ location: 'DOCK-3', seenAt: T0 + MIN });
  });

  it('zones.hysteresisM: a fix within that distance outside a zone is in its band', () => {
    const c = rulesSchema.parse({ zones: { hysteresisM: 100, inline: [YARD] } });
    // About 150 m north of the centre: 50 m outside the 100 m circle.
    expect(zoneTrackingOf(c)?.index.locate(52.50135, 13.4)).toEqual({ inside: [], band: ['yard'] });
  });
});
