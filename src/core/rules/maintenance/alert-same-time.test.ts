/**
 * An alert rule with `cooldown: 0` (every report its own fault): two reports of one fault at one
 * time (two feeds, or one message's texts) are one work order, not the same business key opened
 * again. In both forms of the maintenance rule.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { AlertEvent } from '../../model/events.js';
import type { OwnedRule } from '../owned.js';
import type { RuleContext } from '../rule.js';
import { OVERFLOW_KEY, stepAlert, type AlertEpisodes } from './alert.js';
import { createMaintenanceRule } from './maintenance-rule.js';
import type { MaintenanceOptions } from './types.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const asset: AssetRecord = { erpAssetId: 'EQ-7', erpModule: 'maintenance', attributes: {} };
const ctx = (now: number): RuleContext => ({ asset, destination: 'erp', now });
const options = (allowedLatenessMs: number): MaintenanceOptions => ({ thresholds: [], serviceIntervals: [], alerts: [{ name: 'faults', minSeverity: 'info', cooldownMs: 0 }], allowedLatenessMs, siteAttribute: 'site', windows: {} });
const fault = (code: string, reason: string, t: number): AlertEvent => ({ kind: 'alert', source: 'test', ids: [{ type: 'tag', value: 'x' }], eventTime: t, receivedAt: t, severity: 'critical', code, reason });
const reports = [fault('E-1', 'coolant hot', T0), fault('E-1', 'Coolant temperature high', T0), fault('E-1', 'coolant hot', T0 + 1), fault('E-2', 'low oil', T0 + 1), fault('E-1', 'coolant hot (feed 2)', T0 + 1)];
const want = ['EQ-7|faults|E-1@2026-10-01T08:00:00.000Z', 'EQ-7|faults|E-1@2026-10-01T08:00:00.001Z', 'EQ-7|faults|E-2@2026-10-01T08:00:00.001Z'];

describe('alert rule with cooldown 0: reports of one fault at one time', () => {
  for (const lateness of [0, 60_000]) {
    it(`pure form, lateness ${lateness} ms: one work order per fault and time`, () => {
      const r = createMaintenanceRule(options(lateness));
      let state;
      const out: DeliveryIntent[] = [];
      for (const e of reports) {
        const step = r.apply(state, e, ctx(e.eventTime));
        out.push(...step.deliveries);
        state = step.state;
      }
      out.push(...r.flush(state, ctx(T0 + 3_600_000), undefined).deliveries);
      // Was: E-1@08:00:00.000Z twice.
      expect(out.map((d) => d.businessKey)).toEqual(want);
    });

    it(`owned form, lateness ${lateness} ms: one work order per fault and time`, () => {
      const r = createMaintenanceRule(options(lateness)).owned?.() as OwnedRule;
      const out: DeliveryIntent[] = [];
      for (const e of reports) r.apply(0, e, ctx(e.eventTime), out);
      r.flush(0, ctx(T0 + 3_600_000), undefined, out);
      expect(out.map((d) => d.businessKey)).toEqual(want);
    });
  }

  it('more faults at one time than the rule tells apart: the overflow work order opens once (stepAlert, which both forms run)', () => {
    let episodes: AlertEpisodes | undefined;
    const opened: string[] = [];
    for (const code of ['E-1', 'E-2', 'E-3', 'E-4', 'E-1', 'E-3']) {
      const step = stepAlert(episodes, code, T0, 0, 2);
      if (step.opens) opened.push(step.into);
      episodes = step.episodes;
    }
    // Was: the overflow opened again for E-4 (same key, ~overflow@T0), and E-1 again once E-2 had dropped it.
    expect(opened).toEqual(['E-1', 'E-2', OVERFLOW_KEY]);
  });
});
