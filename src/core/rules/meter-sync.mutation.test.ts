/**
 * Meter-sync cases meter-sync.test.ts leaves open: a reset declared at the very time of the last
 * reading sent (sent too), a replaced meter set to the old meter's reading, and idle hours that moved while
 * operating hours did not.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../model/assets.js';
import type { CanonicalEvent, MeterEvent } from '../model/events.js';
import { createMeterSyncRule, type MeterSyncState } from './meter-sync.js';
import type { RuleContext } from './rule.js';

const H = 3_600_000;
const T0 = Date.UTC(2025, 2, 1, 8);
const NOW = Date.UTC(2025, 2, 20);
const asset: AssetRecord = { erpAssetId: 'EQ-1001', erpModule: 'maintenance', attributes: {} };
const ctx: RuleContext = { asset, destination: 'erp', now: NOW };
const at = (hours: number): number => T0 + hours * H;
const iso = (hours: number): string => new Date(at(hours)).toISOString();

const meter = (operatingHours: number | undefined, hours: number, extra: Partial<MeterEvent> = {}): MeterEvent => ({
  kind: 'meter',
  source: 'aemp:test',
  ids: [{ type: 'pin', value: 'P1' }],
  eventTime: at(hours),
  receivedAt: NOW,
  ...(operatingHours !== undefined ? { operatingHours } : {}),
  ...extra,
});
const km = (value: number, hours: number, extra: Partial<MeterEvent> = {}) => meter(undefined, hours, { odometerKm: value, ...extra });

/** Runs events through the rule like the engine does (state persisted as JSON between events); the payloads sent. */
function sent(events: readonly CanonicalEvent[]) {
  const rule = createMeterSyncRule();
  let state: MeterSyncState | undefined;
  const payloads: Record<string, unknown>[] = [];
  for (const event of events) {
    const result = rule.apply(state === undefined ? undefined : (JSON.parse(JSON.stringify(state)) as MeterSyncState), event, ctx);
    state = result.state;
    payloads.push(...result.deliveries.map((d) => d.payload));
  }
  return payloads;
}

describe('meter sync', () => {
  it('a reset declared at the very time of the last reading sent is sent (the meter was replaced after that reading), and the next reading carries it', () => {
    // Kills `eventTime < synced.eventTime` → `<=` for a reset, for the hour meter and for the odometer.
    const hours = sent([meter(4000, 0), meter(4010, 12), meter(0, 12, { declaredReset: true }), meter(1, 14)]);
    expect(hours.map((p) => [p.operatingHours, p.readingTime, p.meterResetAt])).toEqual([
      [4000, iso(0), undefined],
      [4010, iso(12), undefined],
      [0, iso(12), iso(12)],
      [1, iso(14), iso(12)],
    ]);
    const odo = sent([km(182_000, 0), km(182_080, 1), km(12, 1, { odometerReset: true }), km(90, 3)]);
    expect(odo.map((p) => [p.odometerKm, p.readingTime, p.meterResetAt])).toEqual([
      [182_000, iso(0), undefined],
      [182_080, iso(1), undefined],
      [12, iso(1), iso(1)],
      [90, iso(3), iso(1)],
    ]);
  });

  it('a replaced meter set to the old meter’s reading is sent at once, with meterResetAt', () => {
    // Kills dropping `verdict.status === 'reset'` from "changed" (hours) and from the odometer's unchanged check.
    const hours = sent([meter(4010, 12), meter(4010, 14, { declaredReset: true })]);
    expect(hours.map((p) => [p.operatingHours, p.readingTime, p.meterResetAt])).toEqual([
      [4010, iso(12), undefined],
      [4010, iso(14), iso(14)],
    ]);
    const odo = sent([km(182_080, 1), km(182_080, 2, { odometerReset: true })]);
    expect(odo.map((p) => [p.odometerKm, p.readingTime, p.meterResetAt])).toEqual([
      [182_080, iso(1), undefined],
      [182_080, iso(2), iso(2)],
    ]);
  });

  it('sends an unchanged hour meter when the idle hours moved', () => {
    // Kills dropping the idle-hours comparison from "changed".
    const payloads = sent([meter(1000, 0, { idleHours: 300 }), meter(1000, 5, { idleHours: 300 }), meter(1000, 6, { idleHours: 300.4 })]);
    expect(payloads.map((p) => [p.operatingHours, p.idleHours, p.readingTime])).toEqual([
      [1000, 300, iso(0)],
      [1000, 300.4, iso(6)],
    ]);
  });
});
