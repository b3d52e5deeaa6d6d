import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { MeterEvent } from '../../model/events.js';
import { createMeterSyncRule, type MeterSyncState } from '../meter-sync.js';
import { flushRules, simulateRules } from '../simulate.js';
import { customCalendar, monthlyCalendar, type Period, type PeriodCalendar } from './calendar.js';
import { parseLedger, planUsagePosting, type UsageLedger, type UsagePlan } from './posting.js';
import { DEFAULT_DEPRECIATION_ATTRIBUTES, DEFAULT_USAGE_UNITS, type PostedUnits } from './usage.js';
import { createUsageRule, type UsageState } from './usage-rule.js';

const asset: AssetRecord = { erpAssetId: 'FA-1', erpModule: 'fixed-assets', attributes: { unitsAtAcquisition: '200' } };
const H = 3_600_000;
const DAY = 24 * H;
const meter = (t: number, hours: number, receivedAt = t): MeterEvent => ({ kind: 'meter', source: 'test', ids: [{ type: 'erp', value: 'FA-1' }], eventTime: t, receivedAt, operatingHours: hours });

/** The usage rule's state after `events` (in arrival order) as the engine holds it at `now`: what an idle watermark at `now` has released. */
function stateAt(calendar: PeriodCalendar, events: readonly MeterEvent[], lateness = 0, now?: number, keepPeriods = 1000): UsageState | undefined {
  const rule = createUsageRule({ calendar, allowedLatenessMs: lateness, keepPeriods });
  const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })));
  const f = flushRules([rule], r.states, new Map([['FA-1', { asset, destination: 'erp' }]]), now ?? 0, now);
  return f.states.get('FA-1')?.depreciation as UsageState | undefined;
}

function poster(calendar: PeriodCalendar) {
  let ledger: UsageLedger | undefined;
  const facts = new Map<string, DeliveryIntent>();
  return {
    facts,
    get ledger() {
      return ledger;
    },
    /** Decides and "commits" as the task does: the ledger through JSON (the kv store), facts once per key. */
    post(state: UsageState | undefined, periodId: string, now: number): UsagePlan {
      const plan = planUsagePosting({ asset, state, ledger, period: calendar.period(periodId) as Period, calendar, attributes: DEFAULT_DEPRECIATION_ATTRIBUTES, now, destination: 'erp', units: DEFAULT_USAGE_UNITS });
      if (plan.kind === 'new' && plan.ledger) ledger = parseLedger(JSON.stringify(plan.ledger));
      for (const d of plan.kind === 'covered' || plan.kind === 'held' ? [] : plan.deliveries) if (!facts.has(d.businessKey)) facts.set(d.businessKey, d);
      return plan;
    },
  };
}
const payloads = (facts: Map<string, DeliveryIntent>) => [...facts.values()].sort((a, b) => a.eventTime - b.eventTime).map((d) => d.payload);
const rows = (facts: Map<string, DeliveryIntent>) => payloads(facts).map((x) => [x.period, x.periodUnits, x.lifeToDateUnits]);

describe('usage postings: usage found for a posted period', () => {
  const berlin = monthlyCalendar('Europe/Berlin');

  it('is carried into the next posting as a prior-period adjustment (the audit example)', () => {
    const p = poster(berlin);
    const r1 = meter(Date.parse('2026-10-30T00:00:00Z'), 1000);
    const r2 = meter(Date.parse('2026-11-03T00:00:00Z'), 1040);
    // October, posted on 2 Nov 23:00Z with nothing after 30 Oct.
    const oct = p.post(stateAt(berlin, [r1]), '2026-10', Date.parse('2026-11-02T23:00:00Z'));
    expect(oct.line).toMatchObject({ periodUnits: 0, lifeToDateUnits: 800, adjustmentUnits: 0 });
    // 3 Nov: 47 of the 96 hours since 30 Oct were October's.
    const late = Math.round(((40 * 47) / 96) * 1000) / 1000;
    const state = stateAt(berlin, [r1, r2]);
    expect(state?.periods?.['2026-10']?.units).toBeCloseTo(late, 3);
    const nov = p.post(state, '2026-11', Date.parse('2026-12-03T00:00:00Z'));
    expect(nov.line).toMatchObject({ periodUnits: 40, lifeToDateUnits: 840, adjustmentUnits: late, adjustmentPeriods: [{ period: '2026-10', units: late }] });
    expect(nov.line.notes).toContain(`includes ${late} units found after posting, from 2026-10 (${late})`);
    const [a, b] = payloads(p.facts);
    expect(a).not.toHaveProperty('adjustmentUnits');
    expect(b).toMatchObject({ period: '2026-11', periodUnits: 40, lifeToDateUnits: 840, adjustmentUnits: late, adjustmentPeriods: [{ period: '2026-10', units: late }] });
    // Posting November again (a re-run, `depreciation post`) gives the same fact, and the preview shows what was posted.
    const again = p.post(stateAt(berlin, [r1, r2, meter(Date.parse('2026-12-10T00:00:00Z'), 1100)]), '2026-11', Date.parse('2026-12-11T00:00:00Z'));
    expect(again).toMatchObject({ kind: 'decided', deliveries: [{ businessKey: 'FA-1|usage|2026-11', payload: b }] });
    expect(again.line).toMatchObject({ periodUnits: 40, lifeToDateUnits: 840, adjustmentUnits: late });
    expect(again.line.notes.some((n) => /^posted; [\d.]+ units found since are carried into the next posting$/.test(n))).toBe(true);
    // October now: a later period is posted, so nothing more for it.
    expect(p.post(stateAt(berlin, [r1, r2]), '2026-10', Date.parse('2026-12-11T00:00:00Z'))).toMatchObject({ kind: 'covered', through: '2026-11' });
  });

  it('a telematics backfill after a gap: the usage of every posted period in it, each named', () => {
    const utc = monthlyCalendar('UTC');
    const p = poster(utc);
    const r1 = meter(Date.parse('2026-08-15T00:00:00Z'), 1000);
    for (const id of ['2026-08', '2026-09', '2026-10']) p.post(stateAt(utc, [r1]), id, utc.next(utc.period(id) as Period)?.end ?? 0);
    // The unit was out of coverage from 15 Aug to 16 Nov: 93 days, 93 h.
    const nov = p.post(stateAt(utc, [r1, meter(Date.parse('2026-11-16T00:00:00Z'), 1093)]), '2026-11', Date.parse('2026-12-03T00:00:00Z'));
    expect(nov.line).toMatchObject({
      periodUnits: 93,
      adjustmentUnits: 78,
      adjustmentPeriods: [
        { period: '2026-08', units: 17 },
        { period: '2026-09', units: 30 },
        { period: '2026-10', units: 31 },
      ],
    });
    expect(payloads(p.facts).map((x) => [x.period, x.periodUnits, x.lifeToDateUnits])).toEqual([
      ['2026-08', 0, 800],
      ['2026-09', 0, 800],
      ['2026-10', 0, 800],
      ['2026-11', 93, 893],
    ]);
  });

  it('posting a period after unposted ones posts those first, each in turn', () => {
    const utc = monthlyCalendar('UTC');
    const p = poster(utc);
    const events = [meter(Date.parse('2026-08-01T00:00:00Z'), 1000), meter(Date.parse('2026-09-01T00:00:00Z'), 1031), meter(Date.parse('2026-10-01T00:00:00Z'), 1061), meter(Date.parse('2026-11-01T00:00:00Z'), 1092)];
    p.post(stateAt(utc, events.slice(0, 2)), '2026-08', Date.parse('2026-09-03T00:00:00Z'));
    const oct = p.post(stateAt(utc, events), '2026-10', Date.parse('2026-11-03T00:00:00Z'));
    expect(oct.kind === 'new' && oct.deliveries.map((d) => [d.businessKey, d.payload.periodUnits, d.payload.lifeToDateUnits])).toEqual([
      ['FA-1|usage|2026-09', 30, 861],
      ['FA-1|usage|2026-10', 31, 892],
    ]);
    expect(p.ledger).toMatchObject({ period: '2026-10', meterAtEnd: 1092, deliveries: [{ businessKey: 'FA-1|usage|2026-09' }, { businessKey: 'FA-1|usage|2026-10' }] });
  });

  it('after a last posting for a period of another calendar (re-filed since): periods ending before its end are covered, those after it posted each in turn', () => {
    const quarters = customCalendar('UTC', [{ id: 'Q0', start: '2026-06-15' }, { id: 'Q1', start: '2026-09-15' }, { id: 'Q2', start: '2026-12-15' }], '2027-03-15');
    // October posted under Berlin's months (ending 31 October 23:00 UTC) at 1309.583 h; re-filed in quarters, Q1 holding the hours after it.
    const fact = { destination: 'erp', operation: 'usage.post', kind: 'fact' as const, businessKey: 'FA-1|usage|2026-10', erpAssetId: 'FA-1', eventTime: Date.parse('2026-10-31T23:00:00Z'), payload: { period: '2026-10', periodEnd: '2026-10-31T23:00:00.000Z' } };
    const ledger: UsageLedger = { v: 1, period: '2026-10', meter: 'hours', meterAtEnd: 1309.583, readingAt: Date.parse('2026-11-10T00:00:00Z'), posted: { periodUnits: 309.583, meterAtEnd: 1309.583, adjustmentUnits: 0, adjustmentPeriods: [] }, deliveries: [fact] };
    const state: UsageState = { first: [Date.parse('2026-10-01T00:00:00Z'), 1000], last: [Date.parse('2027-03-10T00:00:00Z'), 2600], periods: { Q1: { units: 440.417, meterAtEnd: 1750 }, Q2: { units: 850, meterAtEnd: 2600 } } };
    const plan = (id: string) => planUsagePosting({ asset, state, ledger, period: quarters.period(id) as Period, calendar: quarters, attributes: DEFAULT_DEPRECIATION_ATTRIBUTES, now: Date.parse('2027-03-20T00:00:00Z'), destination: 'erp', units: DEFAULT_USAGE_UNITS });
    expect(plan('Q0')).toMatchObject({ kind: 'covered', through: '2026-10' });
    const q2 = plan('Q2');
    expect(q2.kind === 'new' && q2.deliveries.map((d) => [d.businessKey, d.payload.periodUnits, d.payload.lifeToDateUnits])).toEqual([
      ['FA-1|usage|Q1', 440.417, 1550],
      ['FA-1|usage|Q2', 850, 2400],
    ]);
  });

  it('a count started afresh on another meter is a first posting again, with nothing carried', () => {
    const utc = monthlyCalendar('UTC');
    const p = poster(utc);
    p.post(stateAt(utc, [meter(Date.parse('2026-10-01T00:00:00Z'), 1000), meter(Date.parse('2026-10-20T00:00:00Z'), 1100)]), '2026-10', Date.parse('2026-11-03T00:00:00Z'));
    const km: UsageState = { km: true, first: [Date.parse('2026-11-02T00:00:00Z'), 50_000], last: [Date.parse('2026-11-20T00:00:00Z'), 50_900], periods: { '2026-11': { units: 900, meterAtEnd: 50_900 } } };
    expect(p.post(km, '2026-11', Date.parse('2026-12-03T00:00:00Z')).line).toMatchObject({ meter: 'km', periodUnits: 900, adjustmentUnits: 0 });
  });

  it('a ledger that cannot be read is no basis (the next posting is a first one)', () => {
    expect(parseLedger('{')).toBeUndefined();
    expect(parseLedger('{"v":2}')).toBeUndefined();
    expect(parseLedger(undefined)).toBeUndefined();
  });
});

describe('usage postings: periods no longer in the kept history (depreciation.keepPeriods)', () => {
  const utc = monthlyCalendar('UTC');
  const at = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
  // One hour a day; the meter is replaced on 15 March (the old one's last reading, then the new one from 0 a minute later).
  const readings = [
    meter(at('2026-01-01'), 1000),
    meter(at('2026-02-01'), 1031),
    meter(at('2026-03-01'), 1059),
    meter(at('2026-03-15'), 1073),
    { ...meter(at('2026-03-15') + 60_000, 0), declaredReset: true },
    meter(at('2026-04-01'), 17),
    meter(at('2026-05-01'), 47),
    meter(at('2026-06-01'), 78),
    meter(at('2026-06-10'), 87),
  ];

  it('a catch-up posting after an outage posts each period’s own units and life-to-date, across a meter replacement', () => {
    const p = poster(utc);
    p.post(stateAt(utc, readings.slice(0, 2), 0, undefined, 2), '2026-01', at('2026-02-03'));
    // The poster was down from February to June while readings kept coming: only May and June are kept.
    const state = stateAt(utc, readings, 0, undefined, 2);
    expect(Object.keys(state?.periods ?? {}).sort()).toEqual(['2026-05', '2026-06']);
    p.post(state, '2026-05', at('2026-06-12'));
    expect(rows(p.facts)).toEqual([
      ['2026-01', 31, 831],
      ['2026-02', 28, 859],
      ['2026-03', 31, 890],
      ['2026-04', 30, 920],
      ['2026-05', 31, 951],
    ]);
    expect(payloads(p.facts).some((x) => 'adjustmentUnits' in x || 'incomplete' in x)).toBe(false);
  });

  it('an asset’s first posting, on demand, for a period no longer kept', () => {
    const p = poster(utc);
    expect(p.post(stateAt(utc, readings, 0, undefined, 2), '2026-03', at('2026-06-12')).line).toMatchObject({ periodUnits: 31, lifeToDateUnits: 890, meterAtEnd: 1090 });
  });

  it('usage found late for posted periods no longer kept is told apart by period', () => {
    const p = poster(utc);
    const r1 = meter(at('2026-08-15'), 1000);
    for (const id of ['2026-08', '2026-09', '2026-10']) p.post(stateAt(utc, [r1], 0, undefined, 2), id, utc.next(utc.period(id) as Period)?.end ?? 0);
    // Back in coverage on 16 November; November is posted late, when only November and December are kept.
    const state = stateAt(utc, [r1, meter(at('2026-11-16'), 1093), meter(at('2026-12-01'), 1108), meter(at('2027-01-01'), 1139)], 0, undefined, 2);
    expect(Object.keys(state?.periods ?? {}).sort()).toEqual(['2026-11', '2026-12']);
    const nov = p.post(state, '2026-11', at('2027-01-03'));
    expect(nov.line).toMatchObject({
      periodUnits: 108,
      lifeToDateUnits: 908,
      adjustmentUnits: 78,
      adjustmentPeriods: [
        { period: '2026-08', units: 17 },
        { period: '2026-09', units: 30 },
        { period: '2026-10', units: 31 },
      ],
    });
  });

  it('property: with two periods kept, postings at any times still add up and never carry a null life-to-date', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 3600, max: 45 * 86_400 }), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 1, maxLength: 25 }),
        fc.array(fc.integer({ min: 0, max: 400 * 86_400 }), { minLength: 1, maxLength: 6 }),
        (steps, runs) => {
          let t = Date.parse('2026-01-20T00:00:00Z');
          let h = 1000;
          const events = [meter(t, h)];
          for (const [dt, rate] of steps) {
            t += dt * 1000;
            h = Math.round((h + (rate * dt) / 3600) * 1000) / 1000;
            events.push(meter(t, h));
          }
          const p = poster(utc);
          // Posting on demand at sparse times: the latest ended period, with the unposted ones before it caught up on.
          const runTask = (now: number) => {
            const latest = utc.periodAt(now - 2 * DAY) as Period;
            const target = latest.end <= now - 2 * DAY ? latest : (utc.periodAt(latest.start - 1) as Period);
            p.post(stateAt(utc, events.filter((e) => e.eventTime <= now), 0, now, 2), target.id, now);
          };
          for (const offset of [...runs].sort((a, b) => a - b)) runTask(Date.parse('2026-01-20T00:00:00Z') + offset * 1000);
          runTask(t + 60 * DAY);
          const posted = payloads(p.facts);
          fc.pre(posted.length > 1);
          for (const x of posted) expect(x.lifeToDateUnits).not.toBeNull();
          for (let i = 1; i < posted.length; i++) {
            const [a, b] = [posted[i - 1], posted[i]] as Record<string, number>[];
            expect((b?.lifeToDateUnits as number) - (a?.lifeToDateUnits as number)).toBeCloseTo(b?.periodUnits as number, 3);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('usage postings: a state written by the previous version', () => {
  const utc = monthlyCalendar('UTC');
  const at = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
  // Readings on the 1st of January to May (one hour a day) and 10 May, with two periods kept: the
  // previous version dropped January to March and kept nothing of them.
  const stored =
    '{"order":{"released":1778371200000,"newest":1778371200000,"pending":[]},"hours":{"hygiene":{"last":{"value":1129,"eventTime":1778371200000},"confirmedAt":1778371200000,"stallFlagged":false},"total":1129},"first":[1767225600000,1000],"last":[1778371200000,1129],"periods":{"2026-04":{"units":30,"meterAtEnd":1120},"2026-05":{"units":9,"meterAtEnd":1129}}}';
  const old = JSON.parse(stored) as UsageState;

  it('loads, and the rule goes on counting from it', () => {
    const rule = createUsageRule({ calendar: utc, allowedLatenessMs: 0, keepPeriods: 2 });
    const next = rule.apply(old, meter(at('2026-06-02'), 1152), { asset, destination: 'erp', now: 0 }).state;
    expect(next.periods).toEqual({ '2026-05': { units: 31, meterAtEnd: 1151 }, '2026-06': { units: 1, meterAtEnd: 1152 } });
    expect(next.first).toEqual(old.first);
    expect(poster(utc).post(next, '2026-04', at('2026-06-05')).line).toMatchObject({ periodUnits: 30, lifeToDateUnits: 920 });
  });

  it('the period before the oldest kept one gets its life-to-date from the kept units; an older one says why it has none', () => {
    const p = poster(utc);
    p.post(stateAt(utc, [meter(at('2026-01-01'), 1000), meter(at('2026-02-01'), 1031)]), '2026-01', at('2026-02-03'));
    p.post(old, '2026-04', at('2026-05-12'));
    expect(rows(p.facts)).toEqual([
      ['2026-01', 31, 831],
      ['2026-02', 0, null],
      ['2026-03', 59, 890],
      ['2026-04', 30, 920],
    ]);
    const [, feb, mar] = payloads(p.facts);
    expect(feb?.incomplete).toMatch(/^usage and life-to-date of 2026-02 not known: it is no longer in the kept history \(rules\.depreciation\.keepPeriods\).*; its units are carried into the next posting$/);
    expect(mar?.incomplete).toMatch(/^units of 2026-03 not known: .*; all 59 units since the last posted life-to-date are booked in it$/);
    // The preview says so too.
    const line = p.post(old, '2026-02', at('2026-05-12')).line;
    expect(line.lifeToDateUnits).toBeNull();
    expect(line.notes).toContainEqual(expect.stringMatching(/^usage and life-to-date of 2026-02 not known: it is no longer in the kept history/));
  });

  it('a period not kept, on a meter other than the last posting’s: that posting’s reading is no basis for later ones', () => {
    const p = poster(utc);
    p.post(stateAt(utc, [meter(at('2026-01-01'), 1000), meter(at('2026-02-01'), 1031)]), '2026-01', at('2026-02-03'));
    // Counted in km since (rules.depreciation.meter changed), with February and March no longer kept.
    p.post({ ...old, km: true }, '2026-04', at('2026-05-12'));
    // March's units are not known: none are made up from January's hours reading (1031) taken as km.
    expect(payloads(p.facts).map((x) => [x.period, x.unit, x.periodUnits, x.lifeToDateUnits])).toEqual([
      ['2026-01', 'h', 31, 831],
      ['2026-02', 'km', 0, null],
      ['2026-03', 'km', 0, 890],
      ['2026-04', 'km', 30, 920],
    ]);
    expect(p.ledger).toMatchObject({ period: '2026-04', meter: 'km', meterAtEnd: 1120 });
  });

  it('an asset’s first posting for a period with no units kept says so', () => {
    const plan = poster(utc).post(old, '2026-03', at('2026-05-12'));
    expect(plan.line).toMatchObject({ periodUnits: 0, lifeToDateUnits: 890 });
    expect(plan.kind === 'new' && plan.deliveries[0]?.payload.incomplete).toMatch(/^units of 2026-03 not known: it is no longer in the kept history/);
    expect(plan.line.notes).toContain(plan.line.incomplete);
  });
});

describe('usage postings: every unit posted exactly once (property)', () => {
  it('readings arriving in any order within the lateness, postings at any times: posted units add up to the meter’s advance', () => {
    const berlin = monthlyCalendar('Europe/Berlin');
    const lateness = H;
    fc.assert(
      fc.property(
        // Steps between readings: up to 45 days (gaps of telematics coverage), at up to 1 h per hour.
        fc.array(fc.tuple(fc.integer({ min: 60, max: 45 * 86_400 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: lateness })), { minLength: 1, maxLength: 25 }),
        // When the poster runs, as offsets from the first reading.
        fc.array(fc.integer({ min: 0, max: 400 * 86_400 }), { minLength: 1, maxLength: 12 }),
        (steps, runs) => {
          let t = Date.parse('2026-01-20T00:00:00Z');
          let h = 1000;
          const events = [meter(t, h)];
          for (const [dt, rate, delay] of steps) {
            t += dt * 1000;
            h = Math.round((h + (rate * dt) / 3600) * 1000) / 1000;
            events.push(meter(t, h, t + delay));
          }
          const start = events[0]?.eventTime as number;
          const arrival = [...events].sort((a, b) => a.receivedAt - b.receivedAt || a.eventTime - b.eventTime);
          const p = poster(berlin);
          // The task: its first run posts the latest ended period, then each period in turn (postAfter 2 d).
          const runTask = (now: number) => {
            const state = stateAt(berlin, arrival.filter((e) => e.receivedAt <= now), lateness, now);
            const latest = berlin.periodAt(now - 2 * DAY) as Period;
            const target = latest.end <= now - 2 * DAY ? latest : (berlin.periodAt(latest.start - 1) as Period);
            const last = p.ledger ? (berlin.period(p.ledger.period) as Period) : undefined;
            for (let q = last ? berlin.next(last) : target; q && q.end + 2 * DAY <= now; q = berlin.next(q)) p.post(state, q.id, now);
          };
          for (const offset of [...runs].sort((a, b) => a - b)) runTask(start + offset * 1000);
          // Finally everything has arrived, and every period through the last reading's is posted.
          runTask(t + 60 * DAY);
          const posted = payloads(p.facts);
          fc.pre(posted.length > 0 && p.ledger !== undefined);
          // One fact per period, in order; each says what the meter advanced since the previous one.
          expect(new Set(posted.map((x) => x.period)).size).toBe(posted.length);
          for (let i = 1; i < posted.length; i++) {
            const [a, b] = [posted[i - 1], posted[i]] as Record<string, number>[];
            expect(b?.periodUnits).toBeGreaterThanOrEqual(0);
            expect((b?.lifeToDateUnits as number) - (a?.lifeToDateUnits as number)).toBeCloseTo(b?.periodUnits as number, 6);
            const parts = (b as unknown as { adjustmentPeriods?: { units: number }[] }).adjustmentPeriods ?? [];
            expect(parts.reduce((n, x) => n + x.units, 0)).toBeCloseTo((b as { adjustmentUnits?: number }).adjustmentUnits ?? 0, 2);
          }
          // In all: the meter's whole advance since the start of the first posted period, counted once.
          const first = posted[0] as Record<string, number>;
          const total = posted.reduce((n, x) => n + (x.periodUnits as number), 0);
          const baseline = (first.lifeToDateUnits as number) + 200 - (first.periodUnits as number);
          expect(total).toBeCloseTo(h - baseline, 3);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('usage postings: assets with invalid inputs', () => {
  const utc = monthlyCalendar('UTC');
  const plan = (attributes: Record<string, string>, periodId: string, ledger?: UsageLedger, holdBack?: boolean, heldSince?: string) =>
    planUsagePosting({
      asset: { ...asset, attributes },
      state: stateAt(utc, [meter(Date.parse('2026-09-10T00:00:00Z'), 1000), meter(Date.parse('2026-10-20T00:00:00Z'), 1100)]),
      ledger,
      period: utc.period(periodId) as Period,
      calendar: utc,
      attributes: DEFAULT_DEPRECIATION_ATTRIBUTES,
      now: Date.parse('2026-11-05T00:00:00Z'),
      destination: 'erp',
      units: DEFAULT_USAGE_UNITS,
      ...(holdBack !== undefined ? { holdBack } : {}),
      ...(heldSince !== undefined ? { heldSince } : {}),
    });

  it('are held back, deciding and recording nothing, with why on the line; posted once fixed, or when not held back', () => {
    const held = plan({ expectedUnits: '0', unitsAtAcquisition: '-5' }, '2026-10');
    expect(held).toMatchObject({ kind: 'held', periods: ['2026-10'] });
    expect(held.kind === 'held' && held.problems.map((p) => p.input)).toEqual(['totalExpectedUnits', 'unitsAtAcquisition']);
    expect(held.line.notes.at(-1)).toBe(
      'held back, not posted: attribute "expectedUnits" (0) must be more than 0: the units (h or km) the asset is expected to deliver over its life; attribute "unitsAtAcquisition" (-5) is negative: give the meter units the asset had when acquired, 0 or more (0 or empty for a new one); fix the asset\'s attribute (assets import, or the config\'s assets), or post anyway with \'depreciation post --force\' or rules.depreciation.holdBack: false',
    );
    expect(held).not.toHaveProperty('ledger');
    // Fixed: posted as if it had never been held.
    expect(plan({ expectedUnits: '10000' }, '2026-10')).toMatchObject({ kind: 'new', deliveries: [{ businessKey: 'FA-1|usage|2026-10' }] });
    // Not held back: sent with what is known (the invalid total not read).
    const forced = plan({ expectedUnits: '0' }, '2026-10', undefined, false);
    expect(forced).toMatchObject({ kind: 'new', deliveries: [{ payload: { totalExpectedUnits: null } }] });
  });

  it('units at acquisition above the tracked meter are held back, naming the asset, attribute and meter, not posted with a life-to-date of 0', () => {
    const held = plan({ expectedUnits: '10000', unitsAtAcquisition: '5000' }, '2026-10');
    expect(held).toMatchObject({ kind: 'held', periods: ['2026-10'], line: { lifeToDateUnits: null, meterAtEnd: 1100 } });
    expect(held.kind === 'held' && held.problems.map((p) => [p.input, p.attribute, p.value])).toEqual([['unitsAtAcquisition', 'unitsAtAcquisition', '5000']]);
    expect(held.line.notes.at(-1)).toMatch(/^held back, not posted: attribute "unitsAtAcquisition" \(5000\) of asset FA-1 is above its tracked meter at the end of 2026-10 \(1,100 h\): life-to-date units would be negative; .*post anyway with 'depreciation post --force'/);
    // At or below the meter: posted.
    expect(plan({ expectedUnits: '10000', unitsAtAcquisition: '1100' }, '2026-10')).toMatchObject({ kind: 'new', deliveries: [{ payload: { lifeToDateUnits: 0 } }] });
    // Not held back: sent without a life-to-date, never as 0.
    expect(plan({ expectedUnits: '10000', unitsAtAcquisition: '5000' }, '2026-10', undefined, false)).toMatchObject({ kind: 'new', deliveries: [{ payload: { lifeToDateUnits: null } }] });
  });

  it('inputs the posting does not carry (cost, salvage, useful life) are noted, not held', () => {
    const p = plan({ cost: '1,200', salvage: '-1', usefulLifeMonths: '0', expectedUnits: '10000' }, '2026-10');
    expect(p.kind).toBe('new');
    expect(p.line.notes.filter((n) => n.startsWith('invalid')).length).toBe(3);
  });

  it('an asset with earlier postings has the held periods caught up with the next one once fixed', () => {
    const sept = plan({ expectedUnits: '10000' }, '2026-09');
    const ledger = sept.kind === 'new' ? parseLedger(JSON.stringify(sept.ledger)) : undefined;
    expect(plan({ expectedUnits: 'x' }, '2026-10', ledger).kind).toBe('held');
    const nov = plan({ expectedUnits: '10000' }, '2026-11', ledger);
    expect(nov.kind === 'new' && nov.deliveries.map((d) => d.businessKey)).toEqual(['FA-1|usage|2026-10', 'FA-1|usage|2026-11']);
  });

  it('an asset with no posting yet, held back since an earlier period, has its first posting start there once fixed', () => {
    // Held back from September on (the posting side recorded it), still held in October: both periods are named.
    expect(plan({ expectedUnits: 'x' }, '2026-10', undefined, true, '2026-09')).toMatchObject({ kind: 'held', periods: ['2026-09', '2026-10'] });
    const oct = plan({ expectedUnits: '10000' }, '2026-10', undefined, true, '2026-09');
    expect(oct.kind === 'new' && oct.deliveries.map((d) => [d.payload.period, d.payload.periodUnits, d.payload.lifeToDateUnits])).toEqual([
      ['2026-09', 52.5, 1052.5],
      ['2026-10', 47.5, 1100],
    ]);
    // Not before the period asked for, and once it has a posting, its ledger decides.
    expect(plan({ expectedUnits: '10000' }, '2026-09', undefined, true, '2026-10')).toMatchObject({ kind: 'new', deliveries: [{ businessKey: 'FA-1|usage|2026-09' }] });
    const ledger = oct.kind === 'new' ? parseLedger(JSON.stringify(oct.ledger)) : undefined;
    expect(plan({ expectedUnits: '10000' }, '2026-10', ledger, true, '2026-09').kind).toBe('decided');
  });
});

// The line's note on a reading set aside is built from the meter rule's state passed in
// (`meterSync`), not rewritten afterwards by matching its text: each kind of plan says it so.
describe('usage postings: a reading set aside before a meter replacement declared since', () => {
  const utc = monthlyCalendar('UTC');
  const t0 = Date.parse('2026-10-01T00:00:00Z');
  const readings = [meter(t0, 1000), meter(t0 + H, 1001), meter(t0 + 2 * H, 5)]; // the new meter: backwards against the old one
  const reset: MeterEvent = { ...meter(t0 + 3 * H, 6), declaredReset: true }; // assets reset-meter FA-1 --hours 6 --at 03:00
  // The usage rule holds the replacement for the allowed lateness; the meter rule takes it in at once.
  const state = stateAt(utc, readings);
  const meterSyncAfter = (events: readonly MeterEvent[]) => simulateRules([createMeterSyncRule()], events.map((event) => ({ event, asset, destination: 'erp' }))).states.get('FA-1')?.meter as MeterSyncState;
  const replaced = meterSyncAfter([...readings, reset]);
  const now = Date.parse('2026-11-05T00:00:00Z');
  const plan = (periodId: string, meterSync?: MeterSyncState, ledger?: UsageLedger, postedBefore?: PostedUnits) =>
    planUsagePosting({ asset, state, ledger, period: utc.period(periodId) as Period, calendar: utc, attributes: DEFAULT_DEPRECIATION_ATTRIBUTES, now, destination: 'erp', units: DEFAULT_USAGE_UNITS, ...(meterSync ? { meterSync } : {}), ...(postedBefore ? { postedBefore } : {}) });
  const backwards = 'meter: 2026-10-01T02:00:00.000Z: meter went backwards from 1001 (2026-10-01T01:00:00.000Z) to 5 (2026-10-01T02:00:00.000Z): set aside, not counted';
  const declared = `${backwards} (before the replacement declared at 2026-10-01T03:00:00.000Z: stays set aside, the readings since count on the new meter)`;
  const advised = `${backwards}, as is every reading below 1001 until the meter shows it again or a replacement is declared; if the meter or ECU was replaced, declare it: assetbridge assets reset-meter FA-1 --hours <new reading> --at <when>`;

  it('says it without the advice to declare one, in a new, a decided and a covered plan', () => {
    const first = plan('2026-10', replaced);
    expect(first.kind).toBe('new');
    expect(first.line.notes).toContain(declared);
    expect(first.line.notes.join('\n')).not.toContain('reset-meter');
    const ledger = first.kind === 'new' ? parseLedger(JSON.stringify(first.ledger)) : undefined;
    const again = plan('2026-10', replaced, ledger);
    expect(again.kind).toBe('decided');
    expect(again.line.notes).toContain(declared);
    const nov = plan('2026-11', replaced, ledger);
    const novLedger = nov.kind === 'new' ? parseLedger(JSON.stringify(nov.ledger)) : undefined;
    const covered = plan('2026-10', replaced, novLedger, ledger?.posted);
    expect(covered.kind).toBe('covered');
    expect(covered.line.notes).toContain(declared);
  });

  it('advises declaring one when the meter rule records none since (none declared, none given, or of the other meter)', () => {
    expect(plan('2026-10').line.notes).toContain(advised);
    expect(plan('2026-10', meterSyncAfter(readings)).line.notes).toContain(advised);
    const odometerReplaced = meterSyncAfter([...readings, { kind: 'meter', source: 'test', ids: [{ type: 'erp', value: 'FA-1' }], eventTime: t0 + 3 * H, receivedAt: t0 + 3 * H, odometerKm: 0, odometerReset: true }]);
    expect(plan('2026-10', odometerReplaced).line.notes).toContain(advised);
  });
});
