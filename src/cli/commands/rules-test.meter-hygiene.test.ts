/**
 * `rules test` says why a meter reading delivered nothing when meter hygiene held it or set it aside
 * (a meter going backwards, a jump): on its line, without `--trace`, in `--json`'s lines, and with `--brief`.
 */
import { describe, expect, it } from 'vitest';
import { rulesSchema } from '../../config/rules-schema.js';
import { createRules } from '../../core/rules/index.js';
import { createMeterSyncRule, METER_RULE, meterHygieneNotes } from '../../core/rules/meter-sync.js';
import type { Rule } from '../../core/rules/rule.js';
import { simulateRules, type SimulationStep } from '../../core/rules/simulate.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { formatLine, formatSummary, jsonlReportWriter, runRulesTest, type RulesTestLine } from './rules-test.js';

const config = rulesSchema.parse({ allowedLateness: 0, location: { minDistanceM: 100 } });
const assets: AssetWithIdentifiers[] = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }];
const at = (hour: number) => new Date(Date.UTC(2026, 9, 1, hour)).toISOString();
const meter = (hour: number, hours: number) => JSON.stringify({ kind: 'meter', assetId: 'tag-1', eventTime: at(hour), operatingHours: hours });

const run = (lines: string[]) =>
  runRulesTest({ lines, rules: [...createRules(config), createMeterSyncRule()], assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });

describe('rules test: meter readings meter hygiene set aside', () => {
  it('says on the line of a meter going backwards why it delivered nothing, and at the end the reset-meter advice naming the asset', async () => {
    const report = await run([meter(0, 100), meter(1, 101), meter(2, 50), meter(3, 102)]);
    const [first, second, back, after] = report.lines;
    expect(first?.deliveries).toHaveLength(1);
    expect(second?.deliveries).toHaveLength(1);
    expect(back?.deliveries).toEqual([]);
    expect(back?.meterHygiene).toEqual([expect.stringMatching(/^meter hygiene set aside as backwards: meter went backwards from 101 \(.*\) to 50 .*set aside, not counted, as is every reading below 101 until the meter shows it again or a replacement is declared$/)]);
    expect(report.meterReplacementAdvice).toEqual([{ erpAssetId: 'EQ-1', meter: 'hours', readings: 1, first: 'line 3', last: 'line 3', advice: 'if the meter or ECU was replaced, declare it: assetbridge assets reset-meter EQ-1 --hours <new reading> --at <when>' }]);
    expect(formatSummary(report)).toContain(
      'meter readings set aside that a replaced meter or ECU would explain, with no replacement declared after them in the input:\n  EQ-1 hour meter: 1 reading (line 3); if the meter or ECU was replaced, declare it: assetbridge assets reset-meter EQ-1 --hours <new reading> --at <when>',
    );
    // The lines hygiene accepted say nothing of it.
    expect(first?.meterHygiene).toBeUndefined();
    expect(after?.meterHygiene).toBeUndefined();
    const text = formatLine(back as NonNullable<typeof back>);
    expect(text).toContain('line 3: meter EQ-1 @ 2026-10-01T02:00:00.000Z (no deliveries)\n  meter hygiene set aside as backwards: meter went backwards from 101');
    // --json has it on the line as well.
    expect(JSON.parse(JSON.stringify(back)).meterHygiene[0]).toMatch(/^meter hygiene set aside as backwards/);
    // --brief keeps it (something happened to the reading), with the lines that deliver; the quiet ones are counted.
    const position = (minute: number) => JSON.stringify({ kind: 'position', assetId: 'tag-1', eventTime: new Date(Date.UTC(2026, 9, 1, 0, minute)).toISOString(), lat: 52.5, lng: 13.4 });
    const brief = await runRulesTest({ lines: [position(0), meter(0, 100), position(1), meter(1, 101), meter(2, 50)], rules: [...createRules(config), createMeterSyncRule()], assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z'), brief: true });
    expect(brief.lines.map((l) => [l.line, l.deliveries.length, l.meterHygiene?.length ?? 0])).toEqual([[1, 1, 0], [2, 1, 0], [4, 1, 0], [5, 0, 1]]);
  });

  it('says a jump ahead of the wall clock was set aside as too fast, and a reading held until the next one tells', async () => {
    const report = await run([meter(0, 100), meter(1, 500)]);
    expect(report.lines[1]?.deliveries).toEqual([]);
    expect(report.lines[1]?.meterHygiene).toEqual([expect.stringMatching(/^meter hygiene set aside as too-fast: meter advanced 400 h in 1 h of wall clock/)]);
    // Possible since the meter first showed 100, not since it last showed it: held.
    const held = await run([meter(0, 100), meter(10, 100), meter(11, 105)]);
    expect(held.lines[2]?.deliveries).toEqual([]);
    expect(held.lines[2]?.meterHygiene).toEqual([expect.stringMatching(/^meter hygiene held: meter advanced 5 h in 1 h since it last showed 100/)]);
  });

  it('says nothing of a reading in a message set aside as a whole (a rule threw on another of its events)', () => {
    const asset = assets[0]?.asset as NonNullable<(typeof assets)[number]>['asset'];
    const step = (hour: number, e: object): SimulationStep => ({ event: { kind: 'meter', source: 'cli', ids: [], eventTime: Date.parse(at(hour)), receivedAt: Date.parse(at(hour)), ...e }, asset, destination: 'erp' });
    const buggy: Rule = { name: 'buggy', kinds: ['sensor'], apply: () => { throw new Error('boom'); } };
    const steps = [step(0, { operatingHours: 100 }), step(1, { operatingHours: 50 }), step(2, { kind: 'sensor', values: {} })];
    const explain = (s: SimulationStep, before: Record<string, unknown>, after: Record<string, unknown>) => meterHygieneNotes(before[METER_RULE], after[METER_RULE], s.asset.erpAssetId);
    // Alone, the backwards reading is explained; in one message with the event the buggy rule throws on, it is not (nothing of it stands).
    expect(simulateRules([createMeterSyncRule(), buggy], steps.slice(0, 2), { messages: [1, 1], explain }).notesByStep[1]).toEqual([expect.stringMatching(/^meter hygiene set aside as backwards/)]);
    const r = simulateRules([createMeterSyncRule(), buggy], steps, { messages: [1, 2], explain });
    expect(r.failed.get(1)).toMatch(/boom/);
    expect(r.notesByStep).toEqual([[], [], []]);
  });
});

// `rules test` writes each line as it is decided: advice to declare a replacement said on the line
// of a reading set aside would stand even when the input declares the replacement later. It is said
// once at the end, only for the readings no replacement declared in the input answers.
describe('rules test: the advice to declare a meter replacement, against the rest of the input', () => {
  const reset = (hour: number, hours: number) => JSON.stringify({ kind: 'meter', assetId: 'tag-1', eventTime: at(hour), operatingHours: hours, declaredReset: true });
  const odometer = (hour: number, km: number, extra: object = {}) => JSON.stringify({ kind: 'meter', assetId: 'tag-1', eventTime: at(hour), odometerKm: km, ...extra });
  const position = (hour: number, minute: number) => JSON.stringify({ kind: 'position', assetId: 'tag-1', eventTime: new Date(Date.UTC(2026, 9, 1, hour, minute)).toISOString(), lat: 52.5, lng: 13.4 });
  /** As the command streams it: each line's text as it is decided, then the summary; and `--jsonl`. */
  async function streamed(lines: string[]) {
    let text = '';
    let jsonl = '';
    const shown: RulesTestLine[] = [];
    const writer = jsonlReportWriter((t) => (jsonl += t));
    const report = await runRulesTest({
      lines,
      rules: [...createRules(config), createMeterSyncRule()],
      assets,
      defaultDestination: 'erp',
      states: new Map(),
      now: Date.parse('2026-10-02T00:00:00Z'),
      onLine: (l: RulesTestLine) => {
        shown.push(l);
        text += formatLine(l);
        writer.line(l);
      },
    });
    text += formatSummary(report);
    writer.end(report);
    const summary = jsonl.trim().split('\n').map((l) => JSON.parse(l) as { type: string; meterReplacementAdvice?: unknown }).find((o) => o.type === 'summary');
    return { report, shown, text, jsonl, summary };
  }

  it('a replacement declared later in the input: no advice to declare it, on the line nor at the end (text and --jsonl alike)', async () => {
    const { text, jsonl, summary } = await streamed([meter(0, 1000), meter(1, 1001), meter(2, 5), reset(3, 6), meter(4, 7)]);
    expect(text).toContain('line 3: meter EQ-1 @ 2026-10-01T02:00:00.000Z (no deliveries)\n  meter hygiene set aside as backwards: meter went backwards from 1001');
    expect(text).not.toContain('reset-meter');
    expect(text).not.toContain('declare it');
    expect(jsonl).not.toContain('reset-meter');
    expect(summary).toBeDefined();
    expect(summary?.meterReplacementAdvice).toBeUndefined();
  });

  it('one declared late (at a time between the reading judged against and the one set aside) answers it too, as assets meters tells it', async () => {
    const { report, shown, text } = await streamed([meter(0, 1000), meter(1, 1001), meter(3, 5), meter(4, 6), JSON.stringify({ kind: 'meter', assetId: 'tag-1', eventTime: new Date(Date.UTC(2026, 9, 1, 2)).toISOString(), operatingHours: 4, declaredReset: true })]);
    expect(shown[2]?.meterHygiene).toEqual([expect.stringMatching(/^meter hygiene set aside as backwards/)]);
    expect(report.meterReplacementAdvice).toBeUndefined();
    expect(text).not.toContain('reset-meter');
  });

  it('none declared: advised once at the end, for all the readings, with the lines of the first and last (text and --jsonl alike)', async () => {
    const { report, text, summary } = await streamed([meter(0, 1000), meter(1, 1001), meter(2, 5), meter(3, 6), position(3, 30), meter(4, 7)]);
    expect(report.meterReplacementAdvice).toEqual([{ erpAssetId: 'EQ-1', meter: 'hours', readings: 3, first: 'line 3', last: 'line 6', advice: 'if the meter or ECU was replaced, declare it: assetbridge assets reset-meter EQ-1 --hours <new reading> --at <when>' }]);
    expect(summary?.meterReplacementAdvice).toEqual(report.meterReplacementAdvice);
    // Once, at the end, after the lines.
    expect(text.split('reset-meter').length - 1).toBe(1);
    expect(text).toMatch(/\nmeter readings set aside that a replaced meter or ECU would explain, with no replacement declared after them in the input:\n {2}EQ-1 hour meter: 3 readings \(line 3 to line 6\); if the meter or ECU was replaced, declare it: assetbridge assets reset-meter EQ-1 --hours <new reading> --at <when>\n/);
  });

  it('readings set aside after the replacement declared still advise it; those before do not', async () => {
    const { report } = await streamed([meter(0, 1000), meter(1, 1001), meter(2, 5), reset(3, 6), meter(4, 7), meter(5, 2)]);
    expect(report.meterReplacementAdvice).toEqual([expect.objectContaining({ erpAssetId: 'EQ-1', meter: 'hours', readings: 1, first: 'line 6', last: 'line 6' })]);
  });

  it('a replacement of the other meter answers nothing: the odometer set aside is still advised, with --km', async () => {
    const { report, shown, text } = await streamed([odometer(0, 500), odometer(1, 501), odometer(2, 400), meter(0, 10), reset(3, 0)]);
    expect(shown[2]?.meterHygiene).toEqual([expect.stringMatching(/^meter hygiene set aside as backwards: odometer: /)]);
    expect(report.meterReplacementAdvice).toEqual([expect.objectContaining({ erpAssetId: 'EQ-1', meter: 'km', first: 'line 3', advice: 'if the meter or ECU was replaced, declare it: assetbridge assets reset-meter EQ-1 --km <new reading> --at <when>' })]);
    expect(text).toContain('  EQ-1 odometer: 1 reading (line 3); if the meter or ECU was replaced');
    // Declared for the odometer as well: answered.
    const both = await streamed([odometer(0, 500), odometer(1, 501), odometer(2, 400), odometer(3, 0, { odometerReset: true })]);
    expect(both.report.meterReplacementAdvice).toBeUndefined();
  });

  it('a replacement declared many lines (chunks) later answers a reading set aside in an earlier chunk', async () => {
    const filler = Array.from({ length: 1100 }, (_, i) => position(2, i % 60));
    const { report, text } = await streamed([meter(0, 1000), meter(1, 1001), meter(2, 5), ...filler, reset(3, 6)]);
    expect(report.lines.length).toBe(0); // all streamed
    expect(text).toContain('meter hygiene set aside as backwards');
    expect(report.meterReplacementAdvice).toBeUndefined();
    expect(text).not.toContain('reset-meter');
    const without = await streamed([meter(0, 1000), meter(1, 1001), meter(2, 5), ...filler]);
    expect(without.report.meterReplacementAdvice).toEqual([expect.objectContaining({ readings: 1, first: 'line 3' })]);
  });

  it('many readings set aside, each against another reading (spikes): all counted, from the first to the last, however many', async () => {
    // A spike every other hour (impossible: set aside as too fast), the meter counting on between them: each judged against another reading.
    const spiky = Array.from({ length: 160 }, (_, i) => meter(i, i % 2 === 0 ? 100 + i : 5000 + i));
    const { report } = await streamed(spiky);
    expect(report.meterReplacementAdvice).toEqual([expect.objectContaining({ meter: 'hours', readings: 80, first: 'line 2', last: 'line 160' })]);
    // A replacement declared after them all answers them all.
    const answered = await streamed([...spiky, reset(170, 0)]);
    expect(answered.report.meterReplacementAdvice).toBeUndefined();
  });
});
