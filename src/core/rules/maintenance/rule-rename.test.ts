/**
 * A rule's name is in its work orders' keys and keys its state (docs/configuration.md,
 * `rules.maintenance`): a renamed service interval counts again from the baseline attribute, so it
 * opens the service already done under the old name, unless the attribute was set to that service.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { CanonicalEvent } from '../../model/events.js';
import { simulateRules, type StateDoc } from '../simulate.js';
import { createMaintenanceRule } from './maintenance-rule.js';
import type { MaintenanceOptions, ServiceIntervalRule } from './types.js';

const T0 = Date.UTC(2026, 9, 1, 8);
const HOUR = 3_600_000;
const service: ServiceIntervalRule = { name: 'service-250h', meter: 'hours', every: 250, dueSoon: 0, baselineAttribute: 'lastServiceHours', defaultBaseline: 'zero', severity: 'warning' };
const options = (rule: ServiceIntervalRule): MaintenanceOptions => ({ thresholds: [], serviceIntervals: [rule], allowedLatenessMs: 0, siteAttribute: 'site', windows: {} });
const asset = (attributes: Record<string, string> = {}): AssetRecord => ({ erpAssetId: 'EQ-7', erpModule: 'maintenance', attributes });
const meter = (h: number, hours: number): CanonicalEvent => ({ kind: 'meter', source: 'aemp', ids: [{ type: 'tag', value: 'x' }], eventTime: T0 + h * HOUR, receivedAt: T0 + h * HOUR, operatingHours: hours });

function run(rule: ServiceIntervalRule, a: AssetRecord, events: readonly CanonicalEvent[], initial?: StateDoc) {
  const r = simulateRules([createMaintenanceRule(options(rule))], events.map((event) => ({ event, asset: a, destination: 'erp' })), initial ? { initial: new Map([['EQ-7', initial]]) } : {});
  return { keys: r.perStep.flat().map((d) => d.businessKey), doc: r.states.get('EQ-7') ?? {} };
}

describe('a renamed maintenance rule', () => {
  const opened = run(service, asset(), [meter(0, 240), meter(11, 251)]);
  const done: CanonicalEvent = { kind: 'workorder', source: 'erp-feedback', ids: [{ type: 'erp', value: 'EQ-7' }], eventTime: T0 + 12 * HOUR, receivedAt: T0 + 12 * HOUR, businessKey: 'EQ-7|service-250h|250h@b0', status: 'completed', erpWorkOrderId: 'WO-1', operatingHoursAtCompletion: 252 };
  const completed = run(service, asset(), [done, meter(13, 253)], opened.doc);
  const renamed = { ...service, name: 'pm-250h' };

  it('is a new rule: it opens the service done under the old name again', () => {
    expect(opened.keys).toEqual(['EQ-7|service-250h|250h@b0']);
    expect(completed.keys).toEqual([]);
    expect(run(renamed, asset(), [meter(14, 254)], completed.doc).keys).toEqual(['EQ-7|pm-250h|250h@b0']);
  });

  it('counts from the baseline attribute set to the last service first: nothing is opened again', () => {
    expect(run(renamed, asset({ lastServiceHours: '252' }), [meter(14, 254)], completed.doc).keys).toEqual([]);
    expect(run(renamed, asset({ lastServiceHours: '252' }), [meter(14, 254), meter(300, 503)], completed.doc).keys).toEqual(['EQ-7|pm-250h|502h@b252']);
  });
});
