import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../model/assets.js';
import type { CanonicalEvent, MeterEvent } from '../model/events.js';
import { createMeterSyncRule, METER_RECORD, type MeterSyncState } from './meter-sync.js';
import type { RuleContext } from './rule.js';

const H = 3_600_000;
const T0 = Date.UTC(2025, 2, 1, 8);
const NOW = Date.UTC(2025, 2, 20);
const asset: AssetRecord = { erpAssetId: 'EQ-1001', erpModule: 'maintenance', attributes: {} };
const ctx: RuleContext = { asset, destination: 'erp', now: NOW };
const at = (hours: number): number => T0 + hours * H;
const iso = (hours: number): string => new Date(at(hours)).toISOString();

function meter(operatingHours: number | undefined, hours: number, extra: Partial<MeterEvent> = {}): MeterEvent {
  return {
    kind: 'meter',
    source: 'aemp:test',
    ids: [{ type: 'pin', value: 'P1' }],
    eventTime: at(hours),
    receivedAt: NOW,
    ...(operatingHours !== undefined ? { operatingHours } : {}),
    ...extra,
  };
}

/** Runs events through the rule like the engine does (state persisted as JSON between events). */
function run(events: readonly CanonicalEvent[], options = {}) {
  const rule = createMeterSyncRule(options);
  let state: MeterSyncState | undefined;
  const deliveries = [];
  for (const event of events) {
    const result = rule.apply(state === undefined ? undefined : (JSON.parse(JSON.stringify(state)) as MeterSyncState), event, ctx);
    state = result.state;
    deliveries.push(...result.deliveries);
  }
  return { state: state as MeterSyncState, deliveries };
}

const record = (operatingHours: number, hours: number, payload: Record<string, unknown> = {}) => ({
  destination: 'erp',
  operation: METER_RECORD,
  kind: 'state',
  businessKey: 'EQ-1001',
  erpAssetId: 'EQ-1001',
  eventTime: at(hours),
  payload: { erpAssetId: 'EQ-1001', operatingHours, readingTime: iso(hours), unit: 'h', ...payload },
});

describe('meter sync rule', () => {
  it('is the "meter" rule and reacts to meter events only', () => {
    const rule = createMeterSyncRule();
    expect(rule.name).toBe('meter');
    expect(rule.kinds).toEqual(['meter']);
    const position: CanonicalEvent = { kind: 'position', source: 's', ids: [], eventTime: at(0), receivedAt: NOW, lat: 1, lng: 2 };
    expect(rule.apply(undefined, position, ctx).deliveries).toEqual([]);
  });

  it('sends accepted readings as meter.record state deliveries', () => {
    const { deliveries, state } = run([meter(1000, 0, { idleHours: 300, odometerKm: 52.5 }), meter(1006.5, 8, { idleHours: 301.2 })]);
    expect(deliveries).toEqual([
      record(1000, 0, { idleHours: 300, odometerKm: 52.5 }),
      record(1006.5, 8, { idleHours: 301.2 }),
    ]);
    expect(state.acceptedUsageH).toBe(6.5);
    expect(state.synced).toEqual({ operatingHours: 1006.5, idleHours: 301.2, eventTime: at(8) });
    expect(state.flags).toEqual([]);
  });

  it('sends nothing for an unchanged reading or a replayed event', () => {
    const first = meter(1000, 0);
    const { deliveries } = run([first, meter(1000, 5), first]);
    expect(deliveries).toEqual([record(1000, 0)]);
  });

  it('sends an unchanged hour meter when the odometer moved', () => {
    const { deliveries } = run([meter(1000, 0, { odometerKm: 10 }), meter(1000, 5, { odometerKm: 12 })]);
    expect(deliveries).toEqual([record(1000, 0, { odometerKm: 10 }), record(1000, 5, { odometerKm: 12 })]);
  });

  it('never sends a late reading, and records it as out of order', () => {
    const { deliveries, state } = run([meter(1000, 0), meter(1010, 20), meter(1005, 10)]);
    expect(deliveries).toEqual([record(1000, 0), record(1010, 20)]);
    expect(state.flags).toEqual([
      {
        status: 'out-of-order',
        value: 1005,
        eventTime: at(10),
        previousValue: 1010,
        previousEventTime: at(20),
        detail: `reading 1005 at ${iso(10)} is older than the accepted reading at ${iso(20)}`,
        source: 'aemp:test',
        flaggedAt: NOW,
      },
    ]);
    expect(state.flagCounts).toEqual({ 'out-of-order': 1 });
    expect(state.acceptedUsageH).toBe(10);
  });

  it('keeps flagged readings out of usage and out of the ERP', () => {
    const { deliveries, state } = run([meter(1000, 0), meter(980, 5), meter(1100, 6), meter(1004, 10)]);
    expect(deliveries).toEqual([record(1000, 0), record(1004, 10)]);
    expect(state.flags.map((f) => f.status)).toEqual(['backwards', 'too-fast']);
    expect(state.flagCounts).toEqual({ backwards: 1, 'too-fast': 1 });
    expect(state.acceptedUsageH).toBe(4);
  });

  it('flags a stall once, however many unchanged readings follow', () => {
    const { state } = run([meter(500, 0), meter(500, 8 * 24), meter(500, 9 * 24), meter(500, 10 * 24)]);
    expect(state.flags.map((f) => f.status)).toEqual(['stalled']);
    expect(state.flagCounts).toEqual({ stalled: 1 });
  });

  it('keeps only the newest flags but counts them all', () => {
    const events = [meter(1000, 100), ...Array.from({ length: 5 }, (_, i) => meter(900 + i, 10 + i))];
    const { state } = run(events, { maxFlags: 3 });
    expect(state.flags.map((f) => f.value)).toEqual([902, 903, 904]);
    expect(state.flagCounts).toEqual({ 'out-of-order': 5 });
  });

  it('a declared reset sends the new baseline, and later readings continue from it carrying meterResetAt', () => {
    const reset = meter(0, 20, { declaredReset: true });
    const { deliveries, state } = run([meter(4000, 0), meter(4010, 12), reset, meter(980, 22), meter(3.5, 24), reset]);
    expect(deliveries).toEqual([
      record(4000, 0),
      record(4010, 12),
      record(0, 20, { meterResetAt: iso(20) }),
      record(3.5, 24, { meterResetAt: iso(20) }),
    ]);
    expect(state.lastResetAt).toBe(at(20));
    expect(state.acceptedUsageH).toBe(13.5);
    // 980 after the reset is "too fast" from the new baseline; the replayed reset changes nothing.
    expect(state.flags.map((f) => f.status)).toEqual(['too-fast']);
    expect(state.hygiene.last).toEqual({ value: 3.5, eventTime: at(24) });
  });

  it('a reset declared back in time is applied but not sent; the next reading carries it', () => {
    const { deliveries } = run([meter(4000, 0), meter(4010, 12), meter(0, 10, { declaredReset: true }), meter(1, 14)]);
    expect(deliveries).toEqual([record(4000, 0), record(4010, 12), record(1, 14, { meterResetAt: iso(10) })]);
  });

  it('a reset declared after the new meter\'s readings came sends the newest of them on the new meter, as in order, not the reset\'s value', () => {
    // The meter replaced at 13 h, declared only after it showed 5 and 12 (set aside as backwards).
    const late = run([meter(4000, 0), meter(4010, 12), meter(5, 18), meter(12, 26), meter(0, 13, { declaredReset: true })]);
    expect(late.deliveries).toEqual([record(4000, 0), record(4010, 12), record(12, 26, { meterResetAt: iso(13) })]);
    expect(late.state.synced).toEqual({ operatingHours: 12, eventTime: at(26) });
    expect(late.state.hygiene.last).toEqual({ value: 12, eventTime: at(26) });
    // The same hours as in order; the next reading continues from 12.
    const inOrder = run([meter(4000, 0), meter(4010, 12), meter(0, 13, { declaredReset: true }), meter(5, 18), meter(12, 26)]);
    expect(late.state.acceptedUsageH).toBe(inOrder.state.acceptedUsageH);
    expect(run([meter(4000, 0), meter(4010, 12), meter(5, 18), meter(12, 26), meter(0, 13, { declaredReset: true }), meter(13, 28)]).deliveries.at(-1)).toEqual(record(13, 28, { meterResetAt: iso(13) }));
    // Odometer only: the same.
    const km = (value: number, hours: number, extra: Partial<MeterEvent> = {}) => meter(undefined, hours, { odometerKm: value, ...extra });
    const odo = run([km(182_000, 0), km(182_080, 1), km(12, 3), km(90, 4), km(0, 2, { odometerReset: true })]);
    expect(odo.deliveries.at(-1)?.payload).toEqual({ erpAssetId: 'EQ-1001', odometerKm: 90, readingTime: iso(4), unit: 'km', meterResetAt: iso(2) });
    expect(odo.state.odometer?.synced).toEqual({ odometerKm: 90, eventTime: at(4) });
  });

  it('a reset declared at the very time of the reading last sent is sent: the ERP ends the same whichever arrives first', () => {
    const last = (events: CanonicalEvent[]) => run(events).deliveries.at(-1)?.payload;
    const reading = meter(4010, 12);
    const reset = meter(0, 12, { declaredReset: true });
    expect(last([meter(4000, 0), reading, reset])).toEqual(record(0, 12, { meterResetAt: iso(12) }).payload);
    expect(last([meter(4000, 0), reset, reading])).toEqual(record(0, 12, { meterResetAt: iso(12) }).payload);
  });

  it('leaves the hour meter alone for events without operating hours; fuel alone sends nothing', () => {
    const { deliveries, state } = run([meter(1000, 1), meter(undefined, 2, { fuelUsedL: 5 })]);
    expect(deliveries).toEqual([record(1000, 1)]);
    expect(state.hygiene.last).toEqual({ value: 1000, eventTime: at(1) });
  });

  it('syncs an odometer-only vehicle in km under a key of its own, with odometer hygiene', () => {
    const km = (value: number, hours: number) => meter(undefined, hours, { odometerKm: value });
    const { deliveries, state } = run([km(30_000, 0), km(30_080, 1), km(30_080, 2), km(39_000, 3), km(30_150, 4), km(30_100, 3.5), meter(1000, 5)]);
    const odo = (value: number, hours: number) => ({ ...record(0, hours), businessKey: 'EQ-1001|km', payload: { erpAssetId: 'EQ-1001', odometerKm: value, readingTime: iso(hours), unit: 'km' } });
    // Unchanged (2 h) sends nothing; 8,920 km in an hour (3 h) is set aside and flagged; a late reading (3.5 h) is not sent.
    expect(deliveries).toEqual([odo(30_000, 0), odo(30_080, 1), odo(30_150, 4), record(1000, 5)]);
    expect(state.flags.map((f) => [f.status, f.detail.startsWith('odometer: ')])).toEqual([
      ['too-fast', true],
      ['out-of-order', true],
    ]);
    // The hour meter's hygiene never saw the km.
    expect(state.hygiene.last).toEqual({ value: 1000, eventTime: at(5) });
  });

  it('a replaced odometer declared with odometerReset: its first reading is sent with meterResetAt, and later ones continue from it', () => {
    const km = (value: number, hours: number, extra: Partial<MeterEvent> = {}) => meter(undefined, hours, { odometerKm: value, ...extra });
    const odo = (value: number, hours: number, reset?: number) => ({
      ...record(0, hours),
      businessKey: 'EQ-1001|km',
      payload: { erpAssetId: 'EQ-1001', odometerKm: value, readingTime: iso(hours), unit: 'km', ...(reset !== undefined ? { meterResetAt: iso(reset) } : {}) },
    });
    const declared = run([km(182_000, 0), km(182_080, 1), km(12, 2, { odometerReset: true }), km(90, 3)]);
    expect(declared.deliveries).toEqual([odo(182_000, 0), odo(182_080, 1), odo(12, 2, 2), odo(90, 3, 2)]);
    expect(declared.state.flags).toEqual([]);
    // Undeclared, the new odometer's readings are set aside as going backwards, and the hint says what to send.
    const undeclared = run([km(182_000, 0), km(182_080, 1), km(12, 2), km(90, 3)]);
    expect(undeclared.deliveries).toEqual([odo(182_000, 0), odo(182_080, 1)]);
    expect(undeclared.state.flags[0]?.detail).toContain('assetbridge assets reset-meter <asset> --km <new reading>');
  });

  it('an odometer sent beside the hours goes through odometer hygiene: a jump is not sent, a declared replacement is', () => {
    const both = (h: number, km: number, hours: number, extra: Partial<MeterEvent> = {}) => meter(h, hours, { odometerKm: km, ...extra });
    // 8.9 million km in an hour (3 h) is set aside, the hours still go; then the odometer is replaced (4 h).
    const { deliveries, state } = run([both(1000, 30_000, 0), both(1001, 30_080, 1), both(1002, 9_000_000, 2), both(1003, 12, 3, { odometerReset: true }), both(1004, 70, 4)]);
    expect(deliveries).toEqual([
      record(1000, 0, { odometerKm: 30_000 }),
      record(1001, 1, { odometerKm: 30_080 }),
      record(1002, 2),
      record(1003, 3, { odometerKm: 12, odometerResetAt: iso(3) }),
      record(1004, 4, { odometerKm: 70, odometerResetAt: iso(3) }),
    ]);
    expect(state.flags.map((f) => [f.status, f.detail.startsWith('odometer: ')])).toEqual([['too-fast', true]]);
    // An odometer-only reading older than the km sent with the hours is out of order, not sent under `|km`.
    const late = run([both(1000, 30_000, 0), both(1001, 30_080, 2), meter(undefined, 1, { odometerKm: 30_040 })]);
    expect(late.deliveries).toEqual([record(1000, 0, { odometerKm: 30_000 }), record(1001, 2, { odometerKm: 30_080 })]);
    expect(late.state.flags.map((f) => f.status)).toEqual(['out-of-order']);
  });

  it('uses the configured hygiene thresholds', () => {
    const { state } = run([meter(10, 0), meter(10, 30)], { hygiene: { stalledAfterMs: 24 * H } });
    expect(state.flags.map((f) => f.status)).toEqual(['stalled']);
  });
});

describe('meter sync: a spike after a live idle stretch is held until the next reading tells it from a frozen feed catching up', () => {
  // 1000 live for 100 h (the machine idle), then 1100 an hour later: possible since the meter first
  // showed 1000 (101 h), not since it last showed it (1 h). One reading cannot tell a glitch from a
  // feed that froze and caught up.
  const idle = [meter(1000, 0), meter(1000, 100), meter(1100, 101)];

  it('sends nothing for it: it is held, and shown as such among the flags', () => {
    const { deliveries, state } = run([...idle, idle[2] as MeterEvent]);
    expect(deliveries).toEqual([record(1000, 0)]);
    expect(state.synced).toEqual({ operatingHours: 1000, eventTime: at(0) });
    expect(state.hygiene).toMatchObject({ jump: { value: 1100, eventTime: at(101) }, jumpHeld: true });
    // Flagged once, the same reading again (a replay) not anew.
    expect(state.flags.map((f) => [f.status, f.value])).toEqual([['too-fast', 1100]]);
    expect(state.flags[0]?.detail).toMatch(/held until the next reading/);
    expect(state.acceptedUsageH).toBe(0);
  });

  it('a next reading that does not continue from it sets it aside: nothing of it is sent, and later readings are not flagged as going backwards', () => {
    const { deliveries, state } = run([...idle, meter(1000, 102), meter(1000.8, 103), meter(1001.8, 104)]);
    expect(deliveries).toEqual([record(1000, 0), record(1000.8, 103), record(1001.8, 104)]);
    expect(state.flags.map((f) => f.status)).toEqual(['too-fast']);
    expect(state.flagCounts).toEqual({ 'too-fast': 1 });
    expect(state.hygiene.jumpHeld).toBeUndefined();
    expect(state.acceptedUsageH).toBe(1.8);
  });

  it('a next reading continuing from it confirms it: sent then, the usage counted from the first showing', () => {
    const on = run([...idle, meter(1101, 102, { idleHours: 40 })]);
    expect(on.deliveries).toEqual([record(1000, 0), record(1101, 102, { idleHours: 40 })]);
    expect(on.state.acceptedUsageH).toBe(101);
    expect(on.state.hygiene.jumpHeld).toBeUndefined();
    // The same value again (the machine stopped after catching up): the meter shows 1100, sent with that reading's time.
    const same = run([...idle, meter(1100, 150), meter(1100, 151)]);
    expect(same.deliveries).toEqual([record(1000, 0), record(1100, 150)]);
    expect(same.state.acceptedUsageH).toBe(100);
    // A backwards reading between leaves it held; the next one decides.
    expect(run([...idle, meter(990, 102), meter(1102, 103)]).deliveries).toEqual([record(1000, 0), record(1102, 103)]);
  });

  it('a reading older than the held one arriving after it (meter sync has no reorder buffer) is out of order and decides nothing', () => {
    // Taken in, it would set the held reading aside, and a real catch-up would then run ahead of it: set aside as a meter jump.
    const { deliveries, state } = run([...idle, meter(1000.5, 100.5), meter(1101, 102), meter(1102, 103)]);
    expect(deliveries).toEqual([record(1000, 0), record(1101, 102), record(1102, 103)]);
    expect(state.flags.map((f) => f.status)).toEqual(['too-fast', 'out-of-order']);
  });

  it('an odometer the same: held, then set aside or confirmed', () => {
    const odo = (value: number, hours: number) => ({ ...record(0, hours), businessKey: 'EQ-1001|km', payload: { erpAssetId: 'EQ-1001', odometerKm: value, readingTime: iso(hours), unit: 'km' } });
    const km = (value: number, hours: number) => meter(undefined, hours, { odometerKm: value });
    // 5000 km in an hour after 100 h parked: possible since 30 000 was first shown, not since it was last.
    const parked = [km(30_000, 0), km(30_000, 100), km(35_000, 101)];
    expect(run([...parked, km(30_010, 102)]).deliveries).toEqual([odo(30_000, 0), odo(30_010, 102)]);
    expect(run([...parked, km(35_050, 102)]).deliveries).toEqual([odo(30_000, 0), odo(35_050, 102)]);
    // Beside the hours: not sent with them while held.
    const both = (h: number, value: number, hours: number) => meter(h, hours, { odometerKm: value });
    expect(run([both(1000, 30_000, 0), both(1000, 30_000, 100), both(1001, 35_000, 101), both(1002, 30_020, 102)]).deliveries).toEqual([
      record(1000, 0, { odometerKm: 30_000 }),
      record(1001, 101),
      record(1002, 102, { odometerKm: 30_020 }),
    ]);
  });
});
