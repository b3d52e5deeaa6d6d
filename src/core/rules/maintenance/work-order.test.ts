import { describe, expect, it } from 'vitest';
import { TITLE_MAX, truncate, workOrderDelivery, type SchedulingOptions, type WorkOrderSpec } from './work-order.js';

const at = (iso: string) => Date.parse(iso);
const asset = { erpAssetId: 'EX-1', erpModule: 'maintenance', attributes: {} };
const scheduling: SchedulingOptions = { siteAttribute: 'site', windows: { '*': { timeZone: 'UTC', windows: [{ days: [6], startMinute: 6 * 60, durationMinutes: 8 * 60 }] } } };
const spec = (detectedAt: number): WorkOrderSpec => ({ rule: 'hot', occurrence: new Date(detectedAt).toISOString(), severity: 'warning', title: 'hot', description: 'd', trigger: {}, detectedAt, snapshot: {} });

describe('the planned window', () => {
  it('is the next window after the reading, for work found as it happens', () => {
    const d = workOrderDelivery(spec(at('2026-10-01T08:00:00Z')), { asset, destination: 'erp', now: at('2026-10-01T08:00:05Z') }, scheduling);
    expect(d.payload).toMatchObject({ plannedStart: '2026-10-03T06:00:00.000Z', plannedEnd: '2026-10-03T14:00:00.000Z' });
  });

  it('is never in the past when the reading is processed late (a telematics backlog, a quarantine replay)', () => {
    // Found in Saturday's window, processed on Sunday: the window it fell in is over.
    const d = workOrderDelivery(spec(at('2026-10-03T13:00:00Z')), { asset, destination: 'erp', now: at('2026-10-04T09:00:00Z') }, scheduling);
    expect(d.payload).toMatchObject({ detectedAt: '2026-10-03T13:00:00.000Z', plannedStart: '2026-10-10T06:00:00.000Z', plannedEnd: '2026-10-10T14:00:00.000Z' });
  });
});

describe('the title', () => {
  it('fits the 40-character short text without splitting a character in two', () => {
    const t = truncate(`${'a'.repeat(38)}🔧🔧`, TITLE_MAX);
    expect(t.length).toBeLessThanOrEqual(TITLE_MAX);
    expect(t).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no lone high surrogate (invalid in UTF-8)
    expect(t).toBe(`${'a'.repeat(38)}…`);
    expect(truncate('short', TITLE_MAX)).toBe('short');
  });
});
