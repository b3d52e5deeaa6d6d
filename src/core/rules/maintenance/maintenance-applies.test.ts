/**
 * Maintenance rules' `appliesTo` on the watermark path: samples buffered (allowed lateness) before a
 * restart that narrowed a threshold's or service interval's `appliesTo` open no work order of that
 * rule for an asset it now leaves out, at an idle watermark or at the end of a `rules test` run,
 * while an asset it still takes gets them. Unlike location sync, depreciation and inventory, the
 * maintenance rule still releases what it holds for such an asset (each of its rules filters the
 * samples released, and completions held behind a buffered reading wait on their release): so the
 * rule holds them. The pure rule and its owned form alike.
 */
import { describe, expect, it } from 'vitest';
import { lowOil } from '../../../../test/helpers/maintenance-rules.js';
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { CanonicalEvent } from '../../model/events.js';
import type { OwnedRule } from '../owned.js';
import { createMaintenanceRule, type MaintenanceState } from './maintenance-rule.js';
import type { AssetFilter, MaintenanceOptions, ServiceIntervalRule } from './types.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 9, 1, 8);
const kept: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: { site: 'S1' } };
const left: AssetRecord = { erpAssetId: 'EQ-3', erpModule: 'maintenance', attributes: { site: 'S2' } };
const ctxOf = (asset: AssetRecord) => ({ asset, destination: 'erp', now: T0 });
const S1_ONLY: AssetFilter = { attributes: { site: ['S1'] } };
const svc: ServiceIntervalRule = { name: 'svc', meter: 'hours', every: 250, dueSoon: 0, defaultBaseline: 'zero', severity: 'warning' };
const options = (appliesTo?: AssetFilter): MaintenanceOptions => ({
  thresholds: [{ ...lowOil, ...(appliesTo ? { appliesTo } : {}) }],
  serviceIntervals: [{ ...svc, ...(appliesTo ? { appliesTo } : {}) }],
  allowedLatenessMs: 10 * MIN,
  siteAttribute: 'site',
  windows: {},
});

const at = (asset: AssetRecord, min: number, e: { kind: 'sensor'; values: Record<string, { value: number }> } | { kind: 'meter'; operatingHours: number }): CanonicalEvent =>
  ({ source: 'test', ids: [{ type: 'erp', value: asset.erpAssetId }], eventTime: T0 + min * MIN, receivedAt: T0 + min * MIN, ...e });

/** Oil pressure normal then low, the hour meter crossing 250 h: all still buffered (as stored, JSON), under every rule applying to every asset. */
function storedAfter(asset: AssetRecord): MaintenanceState {
  const rule = createMaintenanceRule(options());
  let state: MaintenanceState | undefined;
  const events = [at(asset, 0, { kind: 'sensor', values: { oilPressure: { value: 3 } } }), at(asset, 0, { kind: 'meter', operatingHours: 249.99 }), at(asset, 1, { kind: 'sensor', values: { oilPressure: { value: 1 } } }), at(asset, 2, { kind: 'meter', operatingHours: 250.01 })];
  for (const e of events) state = rule.apply(state, e, ctxOf(asset)).state;
  return JSON.parse(JSON.stringify(state)) as MaintenanceState;
}

/** The work orders each form opens for `asset` at a watermark at `upTo` (undefined: the end of a dry run), whether it holds before it, and the state after it. */
function watermark(appliesTo: AssetFilter | undefined, asset: AssetRecord, stored: MaintenanceState, upTo: number | undefined) {
  const rule = createMaintenanceRule(options(appliesTo));
  const pure = rule.flush(stored, ctxOf(asset), upTo);
  const owned = rule.owned?.() as OwnedRule;
  owned.load(0, JSON.parse(JSON.stringify(stored)));
  const holds = owned.holds(0, asset);
  const out: DeliveryIntent[] = [];
  owned.flush(0, ctxOf(asset), upTo, out);
  const rules = (ds: readonly DeliveryIntent[]) => ds.map((d) => String(d.payload.title));
  const asStored = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;
  return {
    pure: { holds: rule.holds(stored, asset), opened: rules(pure.deliveries), state: asStored(pure.state) },
    owned: { holds, opened: rules(out), state: asStored(owned.save(0)) },
  };
}

describe('maintenance: rules whose appliesTo now leaves an asset out, at an idle watermark', () => {
  for (const upTo of [T0 + 60 * MIN, undefined]) {
    it(`open no work order from the samples it had buffered (${upTo === undefined ? 'the end of a dry run' : 'a watermark'})`, () => {
      const opened = ['low-oil: oilPressure 1', 'svc: 250 h service'];
      // Before the change, and for the asset still taken: both rules open theirs.
      const before = watermark(undefined, left, storedAfter(left), upTo);
      expect(before.pure.opened).toEqual(opened);
      expect(before.owned).toEqual(before.pure);
      const still = watermark(S1_ONLY, kept, storedAfter(kept), upTo);
      expect(still.pure.opened).toEqual(opened);
      expect(still.owned).toEqual(still.pure);
      // The asset left out: nothing opened; what was buffered is released all the same.
      const out = watermark(S1_ONLY, left, storedAfter(left), upTo);
      expect(out.pure).toMatchObject({ holds: true, opened: [] });
      expect((out.pure.state as MaintenanceState).order?.pending).toEqual([]);
      expect(out.owned).toEqual(out.pure);
    });
  }
});
