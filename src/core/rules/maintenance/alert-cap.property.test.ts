/**
 * Exactly one work order per (asset, rule, fault occurrence) when more faults are active at once
 * than an asset and rule track (MAX_EPISODES): a fault past the cap is never forgotten while its
 * episode lasts, so its next report cannot open a second work order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { AlertEvent } from '../../model/events.js';
import { flushRules, simulateRules } from '../simulate.js';
import { MAX_EPISODES, OVERFLOW_KEY, stepAlert, type AlertEpisodes } from './alert.js';
import { createMaintenanceRule, type MaintenanceState } from './maintenance-rule.js';
import { maintenanceStatus } from './status.js';
import type { MaintenanceOptions } from './types.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const MIN = 60_000;
const HOUR = 60 * MIN;

/**
 * Each code's reports split into its episodes (a gap of `cooldown` or more starts one), as the
 * rule promises them: `[code, index of the episode]` per report, in report order.
 */
function groundTruth(reports: readonly (readonly [string, number])[], cooldown: number): [string, number][] {
  const last = new Map<string, number>();
  const episode = new Map<string, number>();
  return reports.map(([code, t]) => {
    const before = last.get(code);
    if (before === undefined || t - before >= cooldown) episode.set(code, (episode.get(code) ?? -1) + 1);
    last.set(code, t);
    return [code, episode.get(code) as number];
  });
}

describe('alert episodes past the cap', () => {
  it('every fault episode belongs to exactly one work order, and no work order opens twice (small caps, any schedule)', () => {
    const cooldown = 10;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 6 })), { minLength: 1, maxLength: 120 }),
        (max, steps) => {
          let t = 0;
          const reports = steps.map(([code, dt]) => [`C${code}`, (t += dt)] as const);
          let episodes: AlertEpisodes | undefined;
          const opened: string[] = [];
          const workOrderOf: string[] = [];
          for (const [code, at] of reports) {
            const step = stepAlert(episodes, code, at, cooldown, max);
            episodes = step.episodes;
            const e = episodes[step.into];
            expect(e).toBeDefined();
            const key = `${step.into}@${e?.start}`;
            if (step.opens) opened.push(key);
            // A report belongs to a work order opened by it or before it.
            expect(opened).toContain(key);
            workOrderOf.push(key);
            // Bounded: the faults told apart, and the overflow.
            expect(Object.keys(episodes).filter((k) => k !== OVERFLOW_KEY && at - (episodes?.[k]?.last ?? -Infinity) < cooldown).length).toBeLessThanOrEqual(max);
            expect(Object.keys(episodes).length).toBeLessThanOrEqual(max + 1);
          }
          // No key opened twice.
          expect(new Set(opened).size).toBe(opened.length);
          // Each fault episode's reports all belong to one work order: never a second one for it.
          const byEpisode = new Map<string, Set<string>>();
          for (const [i, [code, n]] of groundTruth(reports, cooldown).entries()) {
            const set = byEpisode.get(`${code}#${n}`) ?? new Set<string>();
            set.add(workOrderOf[i] as string);
            byEpisode.set(`${code}#${n}`, set);
          }
          for (const [episode, keys] of byEpisode) expect([episode, [...keys]]).toEqual([episode, [...keys].slice(0, 1)]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it(`${MAX_EPISODES + 100} distinct faults active at once, each reported again: no second work order for any fault episode`, () => {
    const asset: AssetRecord = { erpAssetId: 'EQ-7', erpModule: 'maintenance', attributes: {} };
    const options: MaintenanceOptions = {
      thresholds: [],
      serviceIntervals: [],
      alerts: [{ name: 'faults', minSeverity: 'warning', cooldownMs: 24 * HOUR }],
      allowedLatenessMs: 0,
      siteAttribute: 'site',
      windows: {},
    };
    const codes = Array.from({ length: MAX_EPISODES + 100 }, (_, i) => `SPN${i}-FMI2`);
    const fault = (code: string, at: number): AlertEvent => ({ kind: 'alert', source: 'test', ids: [{ type: 'tag', value: 'x' }], eventTime: at, receivedAt: at, severity: 'critical', code, reason: 'bus fault' });
    // Three rounds, an hour apart (well within the cooldown): one fault episode per code.
    const events = [0, 1, 2].flatMap((round) => codes.map((code, i) => fault(code, T0 + round * HOUR + i * 1000)));
    const rule = createMaintenanceRule(options);
    // Through JSON now and then, as the store checkpoints it.
    const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })), { batchSizes: [250, 400, 1000] });
    const f = flushRules([rule], r.states, new Map([[asset.erpAssetId, { asset, destination: 'erp' }]]), 0);
    const deliveries = [...r.perStep.flat(), ...f.deliveries];
    const keys = deliveries.map((d) => d.businessKey);
    expect(new Set(keys).size).toBe(keys.length);
    const perCode = new Map<string, number>();
    for (const d of deliveries) {
      const trigger = (d.payload as { trigger: { code?: string; overflow?: boolean } }).trigger;
      if (trigger.overflow !== true) perCode.set(trigger.code as string, (perCode.get(trigger.code as string) ?? 0) + 1);
    }
    // No code has a second work order for its one episode.
    expect([...perCode.values()].filter((n) => n > 1)).toEqual([]);
    // The first MAX_EPISODES have their own; the rest share one "too many faults" work order.
    expect(perCode.size).toBe(MAX_EPISODES);
    const overflow = deliveries.filter((d) => (d.payload as { trigger: { overflow?: boolean } }).trigger.overflow === true);
    expect(overflow.map((d) => d.businessKey)).toEqual([`EQ-7|faults|${OVERFLOW_KEY}@${new Date(T0 + MAX_EPISODES * 1000).toISOString()}`]);
    expect(overflow[0]?.payload).toMatchObject({ title: 'faults: over 500 faults active', trigger: { code: `SPN${MAX_EPISODES}-FMI2`, maxActiveFaults: MAX_EPISODES } });
    const state = f.states.get('EQ-7')?.maintenance as MaintenanceState;
    // Bounded state: the faults told apart, and the overflow counting the 100 other faults (not their 300 reports).
    expect(Object.keys(state.alerts?.faults ?? {})).toHaveLength(MAX_EPISODES + 1);
    const episode = state.alerts?.faults?.[OVERFLOW_KEY];
    expect(episode).toMatchObject({ start: T0 + MAX_EPISODES * 1000, last: T0 + 2 * HOUR + (codes.length - 1) * 1000 });
    expect(episode?.f).toHaveLength(100);
    expect(episode?.more).toBeUndefined();
    const row = maintenanceStatus(asset, state, options, { now: T0 + 3 * HOUR, marks: () => ({}) }).due.find((d) => d.rule === 'faults');
    expect(row?.state).toContain(`more than ${MAX_EPISODES} faults at once since ${new Date(T0 + MAX_EPISODES * 1000).toISOString()} (100 distinct faults not tracked on their own`);
  });

  it('the overflow counts distinct faults in bounded memory: beyond what it keeps, "at least"', () => {
    const cooldown = HOUR;
    let episodes: AlertEpisodes | undefined;
    // A cap of 2: A and B tracked; C, D, E past it, each reported three times.
    for (const [i, code] of ['A', 'B'].entries()) episodes = stepAlert(episodes, code, T0 + i, cooldown, 2).episodes;
    let t = T0 + 10;
    for (let round = 0; round < 3; round++) for (const code of ['C', 'D']) episodes = stepAlert(episodes, code, t++, cooldown, 2).episodes;
    const two = episodes?.[OVERFLOW_KEY];
    expect(two?.f).toHaveLength(2);
    expect(two?.more).toBeUndefined();
    // A third distinct fault: more than the cap keeps, so the count says "at least".
    episodes = stepAlert(episodes, 'E', t++, cooldown, 2).episodes;
    expect(episodes[OVERFLOW_KEY]?.f).toHaveLength(2);
    expect(episodes[OVERFLOW_KEY]?.more).toBe(true);
    expect(JSON.stringify(episodes).length).toBeLessThan(400);
  });

  it('status reads an overflow episode saved before faults were counted as the reports it took', () => {
    const asset: AssetRecord = { erpAssetId: 'EQ-7', erpModule: 'maintenance', attributes: {} };
    const options: MaintenanceOptions = { thresholds: [], serviceIntervals: [], alerts: [{ name: 'faults', minSeverity: 'warning', cooldownMs: HOUR }], allowedLatenessMs: 0, siteAttribute: 'site', windows: {} };
    const state: MaintenanceState = { alerts: { faults: { [OVERFLOW_KEY]: { start: T0, last: T0 + MIN, n: 7 } } } };
    const row = maintenanceStatus(asset, state, options, { now: T0 + 2 * MIN, marks: () => ({}) }).due.find((d) => d.rule === 'faults');
    expect(row?.state).toContain('(7 reports of faults not tracked on their own');
    // Joined again: the faults before are unknown, so at least the one now.
    const joined = stepAlert(state.alerts?.faults, 'X', T0 + 2 * MIN, HOUR, 2).episodes[OVERFLOW_KEY];
    expect(joined).toMatchObject({ more: true });
    expect(joined?.f).toHaveLength(1);
  });
});
