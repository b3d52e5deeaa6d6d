/**
 * Usage rule behaviours that mutation testing found unpinned: how many periods an asset keeps,
 * what a set-aside reading leaves for the reader, what an idle watermark releases, and which
 * assets the rule applies to.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { MeterEvent } from '../../model/events.js';
import { monthlyCalendar, type Period } from './calendar.js';
import { createUsageRule, type UsageState } from './usage-rule.js';
import { DEFAULT_DEPRECIATION_ATTRIBUTES, usageFor } from './usage.js';

const H = 3_600_000;
const asset: AssetRecord = { erpAssetId: 'FA-1', erpModule: 'fixed-assets', attributes: {} };
const ctx = { asset, destination: 'erp', now: 0 };
const meter = (t: number, hours: number): MeterEvent => ({ kind: 'meter', source: 'test', ids: [{ type: 'erp', value: 'FA-1' }], eventTime: t, receivedAt: t, operatingHours: hours });

function applyAll(rule: ReturnType<typeof createUsageRule>, events: readonly MeterEvent[], start?: UsageState): UsageState | undefined {
  let s = start;
  for (const e of events) s = rule.apply(s, e, ctx).state;
  return s;
}

describe('usage rule: periods kept', () => {
  it('keeps the newest 36 periods by default and drops older ones', () => {
    // Kills: another default, and keeping the oldest periods instead of the newest.
    const rule = createUsageRule({ calendar: monthlyCalendar('UTC'), allowedLatenessMs: 0 });
    const readings = Array.from({ length: 40 }, (_, i) => meter(Date.UTC(2024, i, 15), 1000 + 10 * i)); // Jan 2024 → Apr 2027
    const ids = Object.keys(applyAll(rule, readings)?.periods ?? {}).sort();
    expect(ids).toHaveLength(36);
    expect(ids[0]).toBe('2024-05');
    expect(ids[35]).toBe('2027-04');
  });

  it('keeps the units of the periods it drops, so together they still add up to the meter’s advance', () => {
    const rule = createUsageRule({ calendar: monthlyCalendar('UTC'), allowedLatenessMs: 0, keepPeriods: 3 });
    const readings = Array.from({ length: 8 }, (_, i) => meter(Date.UTC(2024, i, 15), 1000 + 10 * i)); // 15 Jan → 15 Aug 2024
    const s = applyAll(rule, readings);
    expect(Object.keys(s?.periods ?? {}).sort()).toEqual(['2024-06', '2024-07', '2024-08']);
    expect(Object.keys(s?.pruned ?? {}).sort()).toEqual(['2024-01', '2024-02', '2024-03', '2024-04', '2024-05']);
    const all = [...Object.values(s?.pruned ?? {}), ...Object.values(s?.periods ?? {}).map((p) => p.units)];
    expect(all.reduce((n, u) => n + u, 0)).toBeCloseTo(70, 6);
  });
});

describe('usage rule: readings set aside', () => {
  it('records why the latest reading was set aside, and the preview says so', () => {
    // Kills: a set-aside reading leaving no trace in the state.
    const cal = monthlyCalendar('UTC');
    const rule = createUsageRule({ calendar: cal, allowedLatenessMs: 0 });
    const t0 = Date.parse('2026-10-01T00:00:00Z');
    const s = applyAll(rule, [meter(t0, 500), meter(t0 + 24 * H, 520), meter(t0 + 48 * H, 20)]); // backwards, undeclared
    expect(s?.meterIssue).toMatch(/^2026-10-03T00:00:00\.000Z: /);
    expect(s?.periods?.['2026-10']).toEqual({ units: 20, meterAtEnd: 520 });
    const line = usageFor(asset, s, cal.period('2026-10') as Period, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.parse('2026-11-05T00:00:00Z'));
    // With the asset's id in the command that declares a replaced meter.
    expect(line.notes).toContain(`meter: ${(s?.meterIssue ?? '').replace('reset-meter <asset>', 'reset-meter FA-1')}`);
    expect(line.notes.join('; ')).toContain('assetbridge assets reset-meter FA-1 --hours');
    // A good reading after it clears the issue.
    expect(applyAll(rule, [meter(t0 + 72 * H, 530)], s)?.meterIssue).toBeUndefined();
  });

  it('keeps the issue while the next reading still waits in the lateness window', () => {
    // Kills: `apply` dropping `meterIssue` when it rebuilds the state around a held reading.
    const rule = createUsageRule({ calendar: monthlyCalendar('UTC'), allowedLatenessMs: H });
    const t0 = Date.parse('2026-10-01T00:00:00Z');
    // The backwards reading at 11:00 is released when 13:00 arrives; 13:30 then arrives and nothing more is released.
    const s = applyAll(rule, [meter(t0, 500), meter(t0 + 10 * H, 509), meter(t0 + 11 * H, 20), meter(t0 + 13 * H, 511)]);
    expect(s?.meterIssue).toMatch(/^2026-10-01T11:00:00\.000Z: /);
    expect(applyAll(rule, [meter(t0 + 13.5 * H, 511.5)], s)?.meterIssue).toBe(s?.meterIssue);
  });
});

describe('usage rule: idle watermarks', () => {
  it('an idle watermark releases only the readings older than itself less the allowed lateness', () => {
    // Kills: flush(upTo) releasing everything held (as at the end of a `rules test` input).
    const rule = createUsageRule({ calendar: monthlyCalendar('UTC'), allowedLatenessMs: H });
    const t0 = Date.parse('2026-10-01T00:00:00Z');
    const s = applyAll(rule, [meter(t0, 100), meter(t0 + 5 * H, 105), meter(t0 + 5.5 * H, 105.5)]);
    const w = rule.flush(s, ctx, t0 + 6.25 * H).state; // final up to 05:15
    expect(w.last).toEqual([t0 + 5 * H, 105]);
    expect(rule.holds(w)).toBe(true);
    expect(rule.flush(w, ctx).state.last).toEqual([t0 + 5.5 * H, 105.5]);
  });
});

describe('usage rule: which assets', () => {
  it('leaves assets outside appliesTo alone', () => {
    // Kills: ignoring the asset filter.
    const rule = createUsageRule({ calendar: monthlyCalendar('UTC'), allowedLatenessMs: 0, appliesTo: { erpModules: ['fixed-assets'] } });
    const t0 = Date.parse('2026-10-01T00:00:00Z');
    expect(rule.apply(undefined, meter(t0, 100), { ...ctx, asset: { ...asset, erpModule: 'inventory' } }).state).toBeUndefined();
    expect(rule.apply(undefined, meter(t0, 100), ctx).state?.last).toEqual([t0, 100]);
  });
});
