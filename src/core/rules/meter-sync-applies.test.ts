/**
 * `rules.meters` (meter sync off, or limited by `appliesTo`): only the `meter.record` deliveries
 * are suppressed. Meter hygiene judges every reading alike and the rule's state is the same as with
 * every reading sent (what service intervals, usage, `assets meters` and `maintenance status` read),
 * in the pure form and the owned form (the engine's) alike; a state stored with meter sync on loads
 * with it off, and back.
 */
import { describe, expect, it } from 'vitest';
import { compareOwned, type OracleStep } from '../../../test/helpers/owned-oracle.js';
import { rulesSchema } from '../../config/rules-schema.js';
import type { AssetRecord } from '../model/assets.js';
import type { MeterEvent } from '../model/events.js';
import { meterSyncOptionsOf } from './index.js';
import { createMeterSyncRule, METER_RECORD, meterSyncSends, type MeterSyncOptions, type MeterSyncState } from './meter-sync.js';
import { ownedForm } from './owned.js';
import type { RuleContext } from './rule.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 2, 8);
const NOW = Date.UTC(2026, 10, 20);
const own: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: { fleet: 'own' } };
const rented: AssetRecord = { erpAssetId: 'EQ-2', erpModule: 'maintenance', attributes: { fleet: 'rented' } };

const meter = (hours: number, at: number, extra: Partial<MeterEvent> = {}): MeterEvent => ({
  kind: 'meter',
  source: 'aemp:test',
  ids: [{ type: 'pin', value: 'P1' }],
  eventTime: T0 + at * H,
  receivedAt: NOW,
  operatingHours: hours,
  ...extra,
});

/**
 * A day of readings: accepted ones, one that goes backwards (set aside), an odometer beside the
 * hours and alone, and a declared meter replacement.
 */
const DAY: readonly MeterEvent[] = [
  meter(100, 0),
  meter(101, 1, { odometerKm: 5000 }),
  meter(99, 2),
  meter(102, 3, { idleHours: 10 }),
  meter(0, 4, { declaredReset: true }),
  meter(1, 5),
  { kind: 'meter', source: 'aemp:test', ids: [{ type: 'pin', value: 'P1' }], eventTime: T0 + 6 * H, receivedAt: NOW, odometerKm: 5040 },
];

/** Each step's deliveries and state (as stored: through JSON) for `asset`, through the pure form. */
function run(options: MeterSyncOptions, asset: AssetRecord, events: readonly MeterEvent[] = DAY, from?: MeterSyncState) {
  const rule = createMeterSyncRule(options);
  const ctx: RuleContext = { asset, destination: 'erp', now: NOW };
  let state = from;
  const steps: { deliveries: number; state: unknown }[] = [];
  for (const e of events) {
    const r = rule.apply(state === undefined ? undefined : (JSON.parse(JSON.stringify(state)) as MeterSyncState), e, ctx);
    state = r.state;
    steps.push({ deliveries: r.deliveries.length, state: JSON.parse(JSON.stringify(r.state)) as unknown });
  }
  return { steps, state: state as MeterSyncState, sent: steps.reduce((n, s) => n + s.deliveries, 0) };
}

const parse = (meters: unknown) => meterSyncOptionsOf(rulesSchema.parse({ meters }));

describe('rules.meters', () => {
  it('sends every asset\'s readings when absent, as before', () => {
    expect(parse(undefined)).toEqual({});
    expect(run(parse(undefined), own).sent).toBe(6);
  });

  it('enabled: false sends none, with meter hygiene and the state the same as when sent', () => {
    const on = run({}, own);
    const off = run(parse({ enabled: false }), own);
    expect(off.sent).toBe(0);
    expect(off.steps.map((s) => s.state)).toEqual(on.steps.map((s) => s.state));
    // Hygiene still set the backwards reading aside, and counted usage from the replaced meter on.
    expect(off.state.flagCounts).toEqual({ backwards: 1 });
    expect(off.state.acceptedUsageH).toBe(3);
    expect(off.state.lastResetAt).toBe(T0 + 4 * H);
  });

  it('appliesTo sends the readings of the assets it picks only; the others are judged and kept alike', () => {
    const options = parse({ appliesTo: { attributes: { fleet: 'own' } } });
    expect(meterSyncSends(options, own)).toBe(true);
    expect(meterSyncSends(options, rented)).toBe(false);
    expect(run(options, own).steps).toEqual(run({}, own).steps);
    const left = run(options, rented);
    expect(left.sent).toBe(0);
    expect(left.steps.map((s) => s.state)).toEqual(run({}, rented).steps.map((s) => s.state));
    // Off wins over appliesTo.
    expect(meterSyncSends({ ...options, enabled: false }, own)).toBe(false);
  });

  it('turned on again, sends the next reading that changed, with the replacement declared while off', () => {
    const off = run(parse({ enabled: false }), own);
    const again = run({}, own, [meter(1, 5), meter(2, 7)], off.state);
    expect(again.sent).toBe(1);
    const r = createMeterSyncRule().apply(off.state, meter(3, 8), { asset: own, destination: 'erp', now: NOW });
    expect(r.deliveries.map((d) => [d.operation, d.payload.operatingHours, d.payload.meterResetAt])).toEqual([[METER_RECORD, 3, new Date(T0 + 4 * H).toISOString()]]);
  });

  it('the owned form (the engine\'s) agrees with the pure form, also on a state stored under the other setting', () => {
    const steps = (asset: AssetRecord): OracleStep[] => DAY.flatMap((event, i): OracleStep[] => [{ event, asset }, ...(i === 3 ? [{ roundTrip: asset }] : [])]);
    const stored = run({}, rented, DAY.slice(0, 3)).state;
    for (const options of [parse({ enabled: false }), parse({ appliesTo: { attributes: { fleet: 'own' } } }), parse({ appliesTo: { erpModules: ['maintenance'] }, enabled: false })]) {
      const pure = createMeterSyncRule(options);
      const result = compareOwned(pure, ownedForm(pure), [{ load: rented, state: stored }, ...steps(own), ...steps(rented)]);
      const expected = meterSyncSends(options, own) ? run({}, own).sent : 0;
      expect(result.delivered.map((d) => d.erpAssetId)).toEqual(Array.from({ length: expected }, () => own.erpAssetId));
    }
  });
});
