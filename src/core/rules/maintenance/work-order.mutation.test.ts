/**
 * Work-order keys and scheduling details work-order.test.ts leaves open: asset ids that contain
 * the key separator, and a site without a calendar of its own.
 */
import { describe, expect, it } from 'vitest';
import { parseWorkOrderKey, workOrderDelivery, workOrderKey, type SchedulingOptions, type WorkOrderSpec } from './work-order.js';

const at = (iso: string) => Date.parse(iso);
const spec: WorkOrderSpec = { rule: 'hot', occurrence: '2026-10-01T08:00:00.000Z', severity: 'warning', title: 'hot', description: 'd', trigger: {}, detectedAt: at('2026-10-01T08:00:00Z'), snapshot: {} };

describe('business keys', () => {
  it('round-trip for asset ids that contain "|" (rule and occurrence never do)', () => {
    // Kills requiring exactly three parts: ERP feedback for such an asset would be ignored.
    const key = workOrderKey('PLANT-1|EQ-7', 'service-250h', '250h@b0');
    expect(parseWorkOrderKey(key)).toEqual({ erpAssetId: 'PLANT-1|EQ-7', rule: 'service-250h', occurrence: '250h@b0' });
    expect(parseWorkOrderKey('EQ-7|service-250h|250h@b0')).toEqual({ erpAssetId: 'EQ-7', rule: 'service-250h', occurrence: '250h@b0' });
    expect(parseWorkOrderKey('EQ-7|service-250h')).toBeUndefined();
    expect(parseWorkOrderKey('EQ-7||250h@b0')).toBeUndefined();
    // Blank parts (a key of spaces between the bars) name no asset: not one of ours.
    expect(parseWorkOrderKey(' | | ')).toBeUndefined();
    expect(parseWorkOrderKey(' |service-250h|250h@b0')).toBeUndefined();
  });
});

describe('the planned window', () => {
  const scheduling: SchedulingOptions = {
    siteAttribute: 'site',
    windows: {
      BER: { timeZone: 'UTC', windows: [{ days: [6], startMinute: 6 * 60, durationMinutes: 8 * 60 }] },
      '*': { timeZone: 'UTC', windows: [{ days: [0], startMinute: 10 * 60, durationMinutes: 2 * 60 }] },
    },
  };
  const plan = (attributes: Record<string, string>) =>
    workOrderDelivery(spec, { asset: { erpAssetId: 'EQ-7', erpModule: 'maintenance', attributes }, destination: 'erp', now: spec.detectedAt }, scheduling).payload;

  it('for a site without a calendar of its own is the default calendar’s ("*")', () => {
    // Kills falling back to "*" only for assets without a site.
    expect(plan({ site: 'HAM' })).toMatchObject({ site: 'HAM', plannedStart: '2026-10-04T10:00:00.000Z', plannedEnd: '2026-10-04T12:00:00.000Z' });
    expect(plan({})).toMatchObject({ site: null, plannedStart: '2026-10-04T10:00:00.000Z' });
    expect(plan({ site: 'BER' })).toMatchObject({ site: 'BER', plannedStart: '2026-10-03T06:00:00.000Z', plannedEnd: '2026-10-03T14:00:00.000Z' });
  });
});
