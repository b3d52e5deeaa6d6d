/**
 * Properties of `rules test` over arbitrary event streams: `--compare` of a rule set with itself
 * finds nothing, and a stream read as several files (a capture directory) decides and tallies
 * exactly as the same stream read as one file, each line named by its own file and number.
 */
import { YARD_AND_DEPOT } from '../../../test/helpers/rules-stream.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rulesSchema } from '../../config/rules-schema.js';
import { createRules } from '../../core/rules/index.js';
import { createMeterSyncRule } from '../../core/rules/meter-sync.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { compareDeliveries } from '../../core/rules/compare.js';
import { formatComparison, runRulesTest, sameDeliveries, type FileStart } from './rules-test.js';

const config = rulesSchema.parse({
  allowedLateness: '30s',
  location: { minDistanceM: 50, heartbeatMs: '10m' },
  zones: YARD_AND_DEPOT,
  maintenance: {
    thresholds: [{ name: 'hot', sensor: 'coolantTemp', above: 95, clearBelow: 90, for: '1m', severity: 'critical', cooldown: '10m' }],
    serviceIntervals: [{ name: 'svc-1h', everyHours: 1, dueSoonHours: 0.1 }],
  },
  depreciation: { timeZone: 'Europe/Berlin' },
});
const rules = () => [...createRules(config), createMeterSyncRule()];

const assets: AssetWithIdentifiers[] = [0, 1, 2].map((a) => ({
  asset: { erpAssetId: `EQ-${a}`, erpModule: 'maintenance', attributes: { cost: '100000', expectedUnits: '10000' } },
  identifiers: [{ type: 'tag' as const, value: `tag-${a}`, erpAssetId: `EQ-${a}` }],
}));

const T0 = Date.parse('2026-12-31T23:00:00Z');
const NOW = Date.parse('2027-01-05T00:00:00Z');

/** One JSONL line: a position, sensor sample or meter reading of one of three assets, roughly in time order (some out of it). */
const line = fc
  .record({
    asset: fc.integer({ min: 0, max: 2 }),
    step: fc.integer({ min: -2, max: 30 }),
    /** Received this many seconds after its event time (none: a hand-written line). */
    delay: fc.option(fc.integer({ min: 0, max: 400 })),
    kind: fc.constantFrom('position', 'sensor', 'meter', 'junk', 'blank'),
    where: fc.constantFrom(50, 50.01, 50.05),
    temp: fc.constantFrom(70, 92, 99),
    hours: fc.integer({ min: 0, max: 30 }),
  })
  .map((r) => ({ ...r, offset: r.step * 10_000 }));

type Item = typeof line extends fc.Arbitrary<infer T> ? T : never;

function toLines(items: readonly Item[]): string[] {
  let t = T0;
  let hours = 1000;
  return items.map((r) => {
    t += Math.max(0, r.offset);
    const eventTime = new Date(t + Math.min(0, r.offset)).toISOString();
    const assetId = `tag-${r.asset}`;
    const received = r.delay === null ? {} : { receivedAt: new Date(t + r.delay * 1000).toISOString() };
    if (r.kind === 'junk') return '{"kind":';
    if (r.kind === 'blank') return '';
    if (r.kind === 'position') return JSON.stringify({ kind: 'position', assetId, eventTime, lat: r.where, lng: 10, ...received });
    if (r.kind === 'sensor') return JSON.stringify({ kind: 'sensor', assetId, eventTime, values: { coolantTemp: { value: r.temp } }, ...received });
    hours += r.hours / 100;
    return JSON.stringify({ kind: 'meter', assetId, eventTime, operatingHours: hours, ...received });
  });
}

/** With the service's idle watermarks (2 min), as `rules test` runs a config that has them. */
const input = (lines: Iterable<string | FileStart>) => ({ lines, rules: rules(), assets, defaultDestination: 'erp', states: new Map(), now: NOW, idleMs: 120_000 });

describe('rules test over arbitrary streams', () => {
  it('--compare of a rule set with itself never reports a difference', async () => {
    let runsDelivering = 0;
    let watermarks = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 120 }), async (items) => {
        const report = await runRulesTest({ ...input(toLines(items)), compare: rules() });
        const c = report.comparison;
        if (Object.values(c?.totals ?? {}).some((t) => t.current > 0)) runsDelivering++;
        watermarks += (await runRulesTest(input(toLines(items)))).lines.filter((l) => l.idle).length; // (lines are not kept with --compare)
        expect(c && sameDeliveries(c)).toBe(true);
        for (const t of Object.values(c?.totals ?? {})) expect(t.current).toBe(t.proposed);
      }),
      { numRuns: 60 },
    );
    // The streams do deliver: about 44 of the 60 runs do (35 to 52 over 60 seeds), so 15 never
    // fails by chance. (A total of more than 100 deliveries did, once in CI: 93.)
    expect(runsDelivering).toBeGreaterThanOrEqual(15);
    expect(watermarks).toBeGreaterThan(0); // and the service's idle watermarks decide some of it
  });

  it('a stream split across files decides and tallies as one file, each line named by its file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 120 }), fc.array(fc.nat(), { maxLength: 4 }), async (items, cuts) => {
        const lines = toLines(items);
        const at = [...new Set(cuts.map((c) => c % (lines.length + 1)))].sort((a, b) => a - b);
        // Files named as the capture names its days, across a year change.
        const split: (string | FileStart)[] = [];
        const where: { file: string; line: number }[] = [];
        let file = 0;
        let n = 0;
        const name = (i: number) => `events-${new Date(T0 + i * 86_400_000).toISOString().slice(0, 10)}.jsonl`;
        split.push({ file: name(0) });
        lines.forEach((l, i) => {
          while (at.length && at[0] === i) {
            at.shift();
            split.push({ file: name(++file) });
            n = 0;
          }
          split.push(l);
          n++;
          where.push({ file: name(file), line: n });
        });
        const one = await runRulesTest(input(lines));
        const many = await runRulesTest(input(split));
        expect(many.totals).toEqual(one.totals);
        expect(many.flushed).toEqual(one.flushed);
        expect(many.counts).toEqual(one.counts);
        expect(many.lines.map(({ file: _f, line: _l, duplicateOf: _d, ...rest }) => rest)).toEqual(one.lines.map(({ file: _f, line: _l, duplicateOf: _d, ...rest }) => rest));
        // Each line is named by its own file and its number in it, and so is the line one repeats.
        many.lines.forEach((l, i) => expect({ file: l.file, line: l.line }).toEqual(where[(one.lines[i]?.line ?? 0) - 1]));
        const named = (d: string | undefined): string | undefined =>
          d?.replace(/^line (\d+)/, (_, n: string) => {
            const w = where[Number(n) - 1];
            return w === undefined ? `unknown line ${n}` : `${w.file}:${w.line}`;
          });
        expect(many.lines.map((l) => l.duplicateOf)).toEqual(one.lines.map((l) => named(l.duplicateOf)));
        const c1 = (await runRulesTest({ ...input(lines), compare: rules() })).comparison;
        const c2 = (await runRulesTest({ ...input(split), compare: rules() })).comparison;
        expect(c2).toEqual(c1);
      }),
      { numRuns: 40 },
    );
  });
});

describe('rules test --compare text', () => {
  it('tells a payload field left out from one that is null', () => {
    const fact = (payload: Record<string, unknown>) => ({ destination: 'erp', operation: 'workorder.create', kind: 'fact' as const, businessKey: 'EQ-1|hot|t', erpAssetId: 'EQ-1', eventTime: 0, payload });
    const comparison = compareDeliveries([fact({ title: 'Hot', plannedStart: null })], [fact({ title: 'Hot' })]);
    const text = formatComparison({ lines: [], flushed: [], totals: {}, byRule: {}, counts: { lines: 1, accepted: 1, rejected: 0, shown: 0, late: 0 }, comparison }, { current: 'a.yaml', proposed: 'b.yaml' });
    expect(text).toContain('workorder.create → erp EQ-1|hot|t: plannedStart null → (none)');
  });
});
