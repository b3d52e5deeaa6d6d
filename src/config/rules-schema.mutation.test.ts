/**
 * The `rules` section, from a mutation audit: every default docs/configuration.md states, the
 * boundaries of the checks (what is just allowed, what is just refused) and the compiled forms
 * the rules act on.
 */
import { describe, expect, it } from 'vitest';
import { zoneTrackingOf } from '../core/rules/index.js';
import { formatIssues } from './load.js';
import { rulesSchema, type RulesConfig } from './rules-schema.js';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;

function parse(input: unknown): RulesConfig {
  const r = rulesSchema.safeParse(input);
  if (!r.success) throw new Error(JSON.stringify(formatIssues(r.error.issues, rulesSchema)));
  return r.data;
}

function problems(input: unknown): { key: string; message: string }[] {
  const r = rulesSchema.safeParse(input);
  if (r.success) throw new Error('expected problems');
  return formatIssues(r.error.issues, rulesSchema);
}

describe('rules defaults as docs/configuration.md states them', () => {
  it('30 s lateness, 2 min idle, location sync on 100 m or hourly', () => {
    const c = parse({});
    expect([c.allowedLateness, c.idleAfter]).toEqual([30 * S, 2 * MIN]);
    expect(c.location).toEqual({ enabled: true, minDistanceM: 100, heartbeatMs: H });
  });

  it('zones: feature properties of the same names, 30 s in, 60 s out, a 25 m band, every fix counts', () => {
    expect(parse({ zones: {} }).zones).toEqual({
      files: [],
      properties: { name: 'name', locationCode: 'locationCode', site: 'site', priority: 'priority', radiusM: 'radiusM' },
      inline: [],
      enterDwellMs: 30 * S,
      exitDwellMs: 60 * S,
      hysteresisM: 25,
      maxAccuracyM: 0,
      zones: [],
    });
  });

  it('maintenance: thresholds (for 0 s, maxGap 10 m, cooldown 1 h, warning, clears at the trigger), alerts (critical, 24 h), intervals, and the section\'s own settings', () => {
    const m = parse({
      maintenance: {
        thresholds: [{ name: 'hot', sensor: 't', above: 95 }],
        alerts: [{ name: 'faults' }],
        serviceIntervals: [{ name: 'svc', everyHours: 250 }, { name: 'oil', everyKm: 15_000 }],
        calendarIntervals: [{ name: 'insp', everyDays: 365 }, { name: 'pm-h', everyDays: 180, everyHours: 250 }, { name: 'pm-km', everyDays: 180, everyKm: 20_000 }],
      },
    }).maintenance;
    expect(m?.thresholds).toEqual([{ name: 'hot', sensor: 't', direction: 'above', threshold: 95, clearAt: 95, durationMs: 0, maxGapMs: 10 * MIN, cooldownMs: H, severity: 'warning' }]);
    expect(m?.alerts).toEqual([{ name: 'faults', minSeverity: 'critical', cooldownMs: 24 * H }]);
    expect(m?.serviceIntervals).toEqual([
      { name: 'svc', meter: 'hours', every: 250, dueSoon: 0, baselineAttribute: 'lastServiceHours', defaultBaseline: 'zero', severity: 'warning' },
      { name: 'oil', meter: 'km', every: 15_000, dueSoon: 0, baselineAttribute: 'lastServiceKm', defaultBaseline: 'zero', severity: 'warning' },
    ]);
    expect(m?.calendarIntervals).toEqual([
      { name: 'insp', everyDays: 365, dueSoonDays: 0, baselineAttribute: 'lastServiceDate', severity: 'warning' },
      { name: 'pm-h', everyDays: 180, dueSoonDays: 0, baselineAttribute: 'lastServiceDate', orMeter: { meter: 'hours', every: 250, dueSoon: 0, baselineAttribute: 'lastServiceHours' }, severity: 'warning' },
      { name: 'pm-km', everyDays: 180, dueSoonDays: 0, baselineAttribute: 'lastServiceDate', orMeter: { meter: 'km', every: 20_000, dueSoon: 0, baselineAttribute: 'lastServiceKm' }, severity: 'warning' },
    ]);
    expect({ ...m, thresholds: undefined, alerts: undefined, serviceIntervals: undefined, calendarIntervals: undefined }).toEqual({
      thresholds: undefined,
      alerts: undefined,
      serviceIntervals: undefined,
      calendarIntervals: undefined,
      calendarCheckEvery: H,
      siteAttribute: 'site',
      windows: {},
      feedback: { pollEvery: 5 * MIN, initialLookback: D, pollOverlap: 2 * MIN },
      keepClosed: 20,
      snapshotMaxAge: 10 * MIN,
    });
  });

  it('inventory: sku and quantity attributes, 24 h freshness, changes every minute, a full snapshot at 02:00 UTC', () => {
    expect(parse({ inventory: {} }).inventory).toEqual({ skuAttribute: 'sku', quantityAttribute: 'quantity', freshness: 24 * H, changesEvery: MIN, fullSnapshotCron: '0 2 * * *', timeZone: 'UTC' });
  });

  it('depreciation: monthly UTC periods, the documented attributes, operating hours in h (km in km), posted 2 d after the period, checked hourly, 36 periods kept, postings with invalid inputs held back', () => {
    expect(parse({ depreciation: {} }).depreciation).toEqual({
      timeZone: 'UTC',
      periods: 'monthly',
      attributes: { cost: 'cost', salvage: 'salvage', totalExpectedUnits: 'expectedUnits', usefulLifePeriods: 'usefulLifeMonths', unitsAtAcquisition: 'unitsAtAcquisition', inServiceDate: 'inServiceDate' },
      meter: 'operatingHours',
      meterAttribute: 'depreciationMeter',
      unit: 'h',
      kmUnit: 'km',
      postAfter: 2 * D,
      checkEvery: H,
      keepPeriods: 36,
      holdBack: true,
    });
  });
});

describe('threshold checks at their boundaries', () => {
  it('a repeat window as long as `for` is refused (no second breach could start in it); a longer one is taken', () => {
    // Mutation: `within < for` instead of `within <= for`.
    const rule = (within: string) => ({ maintenance: { thresholds: [{ name: 'spikes', sensor: 'p', above: 250, for: '10m', repeat: { count: 2, within } }] } });
    expect(problems(rule('10m'))).toEqual([
      { key: 'maintenance.thresholds.0.repeat.within', message: 'the window (600 s) must be longer than `for` (600 s), or no second breach could start within it' },
    ]);
    expect(parse(rule('11m')).maintenance?.thresholds[0]?.repeat).toEqual({ count: 2, withinMs: 11 * MIN });
  });

  it('a clear value equal to the trigger is taken (no hysteresis), for above and below rules', () => {
    // Mutations: `clearBelow >= above` and `clearAbove <= below` refused.
    const m = parse({ maintenance: { thresholds: [{ name: 'hot', sensor: 't', above: 90, clearBelow: 90 }, { name: 'low', sensor: 'p', below: 10, clearAbove: 10 }] } }).maintenance;
    expect(m?.thresholds.map((t) => [t.direction, t.threshold, t.clearAt])).toEqual([
      ['above', 90, 90],
      ['below', 10, 10],
    ]);
    expect(problems({ maintenance: { thresholds: [{ name: 'low', sensor: 'p', below: 10, clearAbove: 9 }] } })).toEqual([
      { key: 'maintenance.thresholds.0.clearAbove', message: 'clearAbove (9) must not be below the trigger (10)' },
    ]);
  });
});

describe('calendar interval checks at their boundaries', () => {
  it('dueSoonDays equal to everyDays is refused; one day less is taken', () => {
    // Mutation: `dueSoonDays > everyDays`.
    expect(problems({ maintenance: { calendarIntervals: [{ name: 'insp', everyDays: 30, dueSoonDays: 30 }] } })).toEqual([
      { key: 'maintenance.calendarIntervals.0.dueSoonDays', message: '30 must be less than everyDays (30)' },
    ]);
    expect(parse({ maintenance: { calendarIntervals: [{ name: 'insp', everyDays: 30, dueSoonDays: 29 }] } }).maintenance?.calendarIntervals[0]?.dueSoonDays).toBe(29);
  });
});

describe('rule names', () => {
  it('are unique across thresholds, service intervals, calendar intervals and alerts', () => {
    // Mutation: calendar intervals and alerts left out of the check.
    expect(
      problems({
        maintenance: {
          thresholds: [{ name: 'a', sensor: 's', above: 1 }],
          calendarIntervals: [{ name: 'a', everyDays: 30 }],
          alerts: [{ name: 'a' }],
        },
      }),
    ).toEqual([
      { key: 'maintenance.calendarIntervals.0.name', message: 'rule name "a" is used twice (rules.maintenance.thresholds.0 has it too): give each rule its own name; it identifies the rule\'s work orders (in their business keys), so the work orders of two rules of one name would be taken for each other\'s' },
      { key: 'maintenance.alerts.0.name', message: 'rule name "a" is used twice (rules.maintenance.thresholds.0 has it too): give each rule its own name; it identifies the rule\'s work orders (in their business keys), so the work orders of two rules of one name would be taken for each other\'s' },
    ]);
  });
});

describe('maintenance windows', () => {
  it('a slot whose `to` equals its `from` lasts a whole day (to ≤ from crosses midnight)', () => {
    // Mutation: `to >= from` makes it a window of no time.
    const w = parse({ maintenance: { windows: { default: [{ days: ['sat'], from: '06:00', to: '06:00' }] } } }).maintenance?.windows;
    expect(w?.['*']?.windows).toEqual([{ days: [6], startMinute: 360, durationMinutes: 1440 }]);
  });

  it('a closed range of one day (from = to) is taken', () => {
    // Mutation: `first < last`.
    const w = parse({ maintenance: { windows: { default: [{ days: ['sat'], from: '06:00', to: '14:00' }], closed: [{ from: '2026-12-26', to: '2026-12-26' }] } } }).maintenance?.windows;
    expect(w?.['*']?.closed).toEqual([{ from: '2026-12-26', to: '2026-12-26' }]);
  });

  it('a site\'s own closed days add to the common ones, which every site keeps', () => {
    // Mutation: a site with its own list loses the common days.
    const w = parse({
      maintenance: {
        windows: {
          default: [{ days: ['sat'], from: '06:00', to: '14:00' }],
          closed: ['2026-12-25'],
          sites: {
            HAM: [{ days: ['sun'], from: '06:00', to: '14:00' }],
            NYC: { timeZone: 'America/New_York', slots: [{ days: ['sat'], from: '05:00', to: '07:00' }], closed: ['2026-11-26'] },
          },
        },
      },
    }).maintenance?.windows;
    expect(w?.['*']?.closed).toEqual([{ from: '2026-12-25', to: '2026-12-25' }]);
    expect(w?.HAM?.closed).toEqual([{ from: '2026-12-25', to: '2026-12-25' }]);
    expect(w?.NYC?.closed).toEqual([
      { from: '2026-12-25', to: '2026-12-25' },
      { from: '2026-11-26', to: '2026-11-26' },
    ]);
  });
});

describe('inline zones', () => {
  it('a polygon written without repeating its first corner still has the hysteresis band along its closing edge', () => {
    // Mutation: the ring is not closed, so the edge from the last corner back to the first is missing.
    const c = parse({ zones: { inline: [{ name: 'dock', locationCode: 'D', polygon: [[13, 52], [13.1, 52], [13.1, 52.1]] }] } });
    const index = zoneTrackingOf(c)?.index;
    // Just outside the closing edge (the diagonal from 13.1/52.1 back to 13/52), about 5 m from it.
    expect(index?.locate(52.05006, 13.05)).toEqual({ inside: [], band: ['dock'] });
    // And just inside it.
    expect(index?.locate(52.04994, 13.05).inside).toEqual(['dock']);
  });
});
