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
import { formatLine, runRulesTest } from './rules-test.js';

const config = rulesSchema.parse({ allowedLateness: 0, location: { minDistanceM: 100 } });
const assets: AssetWithIdentifiers[] = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }];
const at = (hour: number) => new Date(Date.UTC(2026, 9, 1, hour)).toISOString();
const meter = (hour: number, hours: number) => JSON.stringify({ kind: 'meter', assetId: 'tag-1', eventTime: at(hour), operatingHours: hours });

const run = (lines: string[]) =>
  runRulesTest({ lines, rules: [...createRules(config), createMeterSyncRule()], assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });

describe('rules test: meter readings meter hygiene set aside', () => {
  it('says on the line of a meter going backwards why it delivered nothing, with the reset-meter advice naming the asset', async () => {
    const report = await run([meter(0, 100), meter(1, 101), meter(2, 50), meter(3, 102)]);
    const [first, second, back, after] = report.lines;
    expect(first?.deliveries).toHaveLength(1);
    expect(second?.deliveries).toHaveLength(1);
    expect(back?.deliveries).toEqual([]);
    expect(back?.meterHygiene).toEqual([expect.stringMatching(/^meter hygiene set aside as backwards: meter went backwards from 101 \(.*\) to 50 .*assetbridge assets reset-meter EQ-1 --hours/)]);
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
