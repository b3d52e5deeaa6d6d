/**
 * `depreciation.appliesTo` on the watermark path: an asset the filter leaves out has none of its
 * buffered readings counted by an idle watermark or at the end of a `rules test` run either (the
 * config changed since they were buffered, with an allowed lateness); its rule holds nothing, so
 * the engine does not name it idle. The pure rule and its owned form alike (as location sync:
 * location-sync-applies.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { MeterEvent } from '../../model/events.js';
import type { AssetFilter } from '../maintenance/types.js';
import type { OwnedRule } from '../owned.js';
import { flushRules, IdleWatermarks, simulateRules } from '../simulate.js';
import { monthlyCalendar } from './calendar.js';
import { createUsageRule, type UsageRuleOptions, type UsageState } from './usage-rule.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2026, 9, 1, 8);
const kept: AssetRecord = { erpAssetId: 'FA-1', erpModule: 'fixed-assets', attributes: { site: 'S1' } };
const left: AssetRecord = { erpAssetId: 'FA-3', erpModule: 'fixed-assets', attributes: { site: 'S2' } };
const ctxOf = (asset: AssetRecord) => ({ asset, destination: 'erp', now: 0 });
const meter = (asset: AssetRecord, t: number, operatingHours: number, declaredReset?: true): MeterEvent => ({
  kind: 'meter',
  source: 'test',
  ids: [{ type: 'erp', value: asset.erpAssetId }],
  eventTime: t,
  receivedAt: t,
  operatingHours,
  ...(declaredReset ? { declaredReset } : {}),
});

const LATENESS = 10 * MINUTE;
const options = (appliesTo?: AssetFilter): UsageRuleOptions => ({ calendar: monthlyCalendar('UTC'), allowedLatenessMs: LATENESS, ...(appliesTo ? { appliesTo } : {}) });
/** After the change: site S1 only. */
const S1_ONLY: AssetFilter = { attributes: { site: ['S1'] } };

/** The state `readings` (hours at hours after T0) leave for `asset` under `before` (every asset depreciated), as stored (JSON). */
function storedAfter(asset: AssetRecord, readings: readonly (readonly [number, number, true?])[]): UsageState {
  const rule = createUsageRule(options());
  let state: UsageState | undefined;
  for (const [at, h, reset] of readings) state = rule.apply(state, meter(asset, T0 + at * HOUR, h, reset), ctxOf(asset)).state;
  return JSON.parse(JSON.stringify(state)) as UsageState;
}

/** What each form makes of `stored` for `asset` at a watermark at `upTo` (undefined: the end of a dry run): holds (with the record) before it, whether the state changed and the state after it (as stored). */
function watermark(asset: AssetRecord, stored: UsageState, upTo: number | undefined) {
  const rule = createUsageRule(options(S1_ONLY));
  const pure = rule.flush(stored, ctxOf(asset), upTo);
  const owned = rule.owned?.() as OwnedRule;
  owned.load(0, JSON.parse(JSON.stringify(stored)));
  const holds = owned.holds(0, asset);
  const flags = owned.flush(0, ctxOf(asset), upTo, []);
  const asStored = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;
  return {
    pure: { holds: rule.holds(stored, asset), changed: pure.state !== stored, state: asStored(pure.state) },
    owned: { holds, changed: flags !== 0, state: asStored(owned.save(0)) },
  };
}

const units = (s: unknown): number => Object.values((s as UsageState).periods ?? {}).reduce((sum, p) => sum + p.units, 0);

describe('depreciation: an asset depreciation.appliesTo leaves out, at an idle watermark', () => {
  const cases: [string, readonly (readonly [number, number, true?])[]][] = [
    // 08:00, 09:00 counted; 10:00 (0.75 h more) waits for the lateness (the columns hold the state).
    ['a reading buffered after others were counted', [[0, 100], [1, 101], [2, 101.75]]],
    // Its first reading still buffered: nothing counted yet.
    ['its first reading buffered', [[0, 100]]],
    // A declared reset waiting (a state only the pure form holds: the owned form falls back to it).
    ['a declared reset buffered', [[0, 100], [1, 101], [2, 0, true]]],
  ];
  for (const [name, readings] of cases) {
    it(`counts none of its readings still buffered when the config changed to leave it out: ${name}`, () => {
      for (const upTo of [T0 + 5 * HOUR, undefined]) {
        // The asset still depreciated: its watermark counts what is buffered (what the other's would do without the filter).
        const k = watermark(kept, storedAfter(kept, readings), upTo);
        expect(k.pure).toMatchObject({ holds: true, changed: true });
        expect((k.pure.state as UsageState).order?.pending).toEqual([]);
        expect(k.owned).toEqual(k.pure);
        // The asset left out: held for nothing, nothing counted, its state as stored.
        const stored = storedAfter(left, readings);
        expect(stored.order?.pending.length).toBe(1);
        expect(createUsageRule(options(S1_ONLY)).holds(stored)).toBe(true); // a reading is buffered: only the record tells
        const l = watermark(left, stored, upTo);
        expect(l.pure).toEqual({ holds: false, changed: false, state: stored });
        expect(l.owned).toEqual(l.pure);
      }
    });
  }

  it('the kept asset’s watermark counts the buffered hours, the left-out one’s counts none', () => {
    const readings = [[0, 100], [1, 101], [2, 101.75]] as const;
    expect(units(storedAfter(kept, readings))).toBe(1);
    expect(units(watermark(kept, storedAfter(kept, readings), T0 + 5 * HOUR).owned.state)).toBe(1.75);
    expect(units(watermark(left, storedAfter(left, readings), T0 + 5 * HOUR).owned.state)).toBe(1);
  });

  it('`rules test` sends it no idle watermark for the readings buffered in its stored state, nor counts them at the end of the run', () => {
    const stored = storedAfter(left, [[0, 100], [1, 101], [2, 101.75]]);
    const rules = [createUsageRule(options(S1_ONLY))];
    const idle = new IdleWatermarks(30 * MINUTE);
    const watermarks: string[] = [];
    // The left-out asset reports again (not counted), then the kept one, two hours later.
    const steps = [
      { event: meter(left, T0 + 3 * HOUR, 104), asset: left, destination: 'erp', receivedAt: T0 + 3 * HOUR },
      { event: meter(kept, T0 + 5 * HOUR, 10), asset: kept, destination: 'erp', receivedAt: T0 + 5 * HOUR },
    ];
    const r = simulateRules(rules, steps, { initial: new Map([['FA-3', { depreciation: stored }]]), idle, onStep: (_i, id, _b, _a, at) => at !== undefined && watermarks.push(id) });
    expect(watermarks).toEqual([]);
    expect(r.states.get('FA-3')).toEqual({ depreciation: stored });
    // The end of the run (every held reading decided): the kept asset's reading counted, none of the other's.
    const end = flushRules(rules, r.states, new Map([kept, left].map((a) => [a.erpAssetId, { asset: a, destination: 'erp' }])), T0 + 5 * HOUR);
    expect(end.states.get('FA-3')).toEqual({ depreciation: stored });
    expect((end.states.get('FA-1')?.depreciation as UsageState).order?.pending).toEqual([]);
  });
});

describe('depreciation: an asset whose periods were filed under another calendar, at an idle watermark', () => {
  it('counts its buffered reading into the held state (periods untouched, its usage kept to file at the release), then holds nothing: `rules test` names it idle once', () => {
    const readings = [[0, 100], [1, 101], [2, 101.75]] as const;
    const stored = storedAfter(kept, readings);
    expect(stored.order?.pending.length).toBe(1);
    // The calendar changed (Berlin's months, not UTC's): the periods are held, nothing filed into them.
    const berlin = createUsageRule({ ...options(), calendar: monthlyCalendar('Europe/Berlin') });
    expect(berlin.holds(stored, kept)).toBe(true);
    const flushed = berlin.flush(stored, ctxOf(kept), T0 + 5 * HOUR).state;
    expect(flushed.periods).toEqual(stored.periods);
    expect(flushed.cal).toBe(stored.cal);
    expect(flushed.order?.pending).toEqual([]);
    expect(flushed.last).toEqual([T0 + 2 * HOUR, 101.75]);
    expect(flushed.heldFrom).toEqual(stored.last);
    expect(flushed.heldUsage).toEqual([[T0 + HOUR, 101, T0 + 2 * HOUR, 101.75]]);
    expect(berlin.holds(flushed, kept)).toBe(false);
    const owned = berlin.owned?.() as OwnedRule;
    owned.load(0, JSON.parse(JSON.stringify(stored)));
    expect(owned.holds(0, kept)).toBe(true);
    expect(owned.flush(0, ctxOf(kept), T0 + 5 * HOUR, [])).not.toBe(0);
    expect(JSON.parse(JSON.stringify(owned.save(0)))).toEqual(JSON.parse(JSON.stringify(flushed)));
    expect(owned.holds(0, kept)).toBe(false);
    // Under the calendar it was filed under, the same state holds its reading too.
    expect(createUsageRule(options()).holds(stored, kept)).toBe(true);
    const watermarks: string[] = [];
    const steps = [
      { event: meter(kept, T0 + 3 * HOUR, 102), asset: kept, destination: 'erp', receivedAt: T0 + 3 * HOUR },
      { event: meter(left, T0 + 8 * HOUR, 10), asset: left, destination: 'erp', receivedAt: T0 + 8 * HOUR },
    ];
    const r = simulateRules([berlin], steps, { initial: new Map([['FA-1', { depreciation: stored }]]), idle: new IdleWatermarks(30 * MINUTE), onStep: (_i, id, _b, _a, at) => at !== undefined && watermarks.push(id) });
    expect(watermarks).toEqual(['FA-1']);
    const after = r.states.get('FA-1')?.depreciation as UsageState;
    expect(after.periods).toEqual(stored.periods);
    expect(after.last).toEqual([T0 + 3 * HOUR, 102]);
    expect(berlin.holds(after, kept)).toBe(false);
  });
});
