/**
 * `rules test` judges each line as the running service judges its message: a line the service
 * would quarantine is rejected with the service's reason, and the lines after it still run.
 */
import { describe, expect, it } from 'vitest';
import { rulesSchema } from '../../config/rules-schema.js';
import { createRules, zoneNamesOf } from '../../core/rules/index.js';
import type { Rule } from '../../core/rules/rule.js';
import { simulateRules } from '../../core/rules/simulate.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { formatComparison, formatRulesTest, runRulesTest, sameOutcome } from './rules-test.js';

const plain = (erpAssetId: string, tag: string): AssetWithIdentifiers => ({
  asset: { erpAssetId, erpModule: 'maintenance', attributes: {} },
  identifiers: [{ type: 'tag', value: tag, erpAssetId }],
});
const position = (tag: string, iso: string, lat = 52.5, extra: object = {}) => JSON.stringify({ kind: 'position', assetId: tag, eventTime: iso, lat, lng: 13.4, ...extra });
const base = { rules: createRules(rulesSchema.parse({ allowedLateness: 0, location: { minDistanceM: 100 } })), assets: [plain('EQ-1', 'tag-1')], defaultDestination: 'erp', states: new Map() };

describe('rules test: a line over ingest.maxPayloadBytes', () => {
  it('is rejected unparsed with the reason the service quarantines it under as too-large; the lines after it run', async () => {
    const big = position('tag-1', '2026-10-01T08:00:00Z', 52.5, { note: 'x'.repeat(1_048_576) });
    const report = await runRulesTest({ ...base, lines: [big, position('tag-1', '2026-10-01T08:01:00Z')] });
    expect(report.lines[0]).toMatchObject({ accepted: false, reason: expect.stringContaining(`payload of ${Buffer.byteLength(big)} bytes exceeds ingest.maxPayloadBytes (1048576)`) });
    expect(report.lines[0]?.reason).toContain('the service quarantines such a message as too-large, unparsed');
    expect(report.lines[1]).toMatchObject({ accepted: true });
    expect(report.lines[1]?.deliveries.map((d) => d.operation)).toEqual(['location.update']);
    expect(report.counts).toMatchObject({ lines: 2, accepted: 1, rejected: 1 });
  });

  it('is judged against the configured limit, in bytes', async () => {
    const line = position('tag-1', '2026-10-01T08:00:00Z', 52.5, { note: 'é'.repeat(40) }); // 2 bytes a character
    const size = Buffer.byteLength(line);
    const over = await runRulesTest({ ...base, lines: [line], maxPayloadBytes: size - 1 });
    expect(formatRulesTest(over)).toContain(`line 1: rejected: payload of ${size} bytes exceeds ingest.maxPayloadBytes (${size - 1}); raise the limit or fix the sender`);
    const at = await runRulesTest({ ...base, lines: [line], maxPayloadBytes: size });
    expect(at.counts).toMatchObject({ accepted: 1, rejected: 0 });
  });

  it('measures a captured line as the message the service measured: without the receivedAt and source the capture wrote beside it', async () => {
    // A message of exactly the limit, as the HTTP intake measures a posted event (compact JSON); the capture adds its receivedAt and source to the line.
    const sent = { kind: 'position', erpAssetId: 'EQ-1', eventTime: '2026-10-01T08:00:00.000Z', lat: 52.5, lng: 13.4, note: 'x'.repeat(200) };
    const limit = Buffer.byteLength(JSON.stringify(sent));
    const captured = JSON.stringify({ ...sent, source: 'mqtt:fleet-tracker-eu-west-1', receivedAt: '2026-10-01T08:00:02.000Z' });
    expect(Buffer.byteLength(captured)).toBeGreaterThan(limit);
    const report = await runRulesTest({ ...base, lines: [captured], maxPayloadBytes: limit });
    expect(report.counts).toMatchObject({ accepted: 1, rejected: 0 });
    // One byte over: rejected, with the size the service measured, not the line's.
    const over = await runRulesTest({ ...base, lines: [captured], maxPayloadBytes: limit - 1 });
    expect(formatRulesTest(over)).toContain(`line 1: rejected: payload of ${limit} bytes exceeds ingest.maxPayloadBytes (${limit - 1})`);
    // A line that does not say when it was received is the message itself, whatever fields it has.
    const { receivedAt: _r, ...handWritten } = JSON.parse(captured) as Record<string, unknown>;
    const plainReport = await runRulesTest({ ...base, lines: [JSON.stringify(handWritten)], maxPayloadBytes: limit });
    expect(plainReport.counts).toMatchObject({ accepted: 0, rejected: 1 });
  });
});

/** A rule with a bug: it throws on a fix north of 60°; otherwise it counts the fixes it saw (its state) and files each as a fact. */
const buggy: Rule = {
  name: 'buggy',
  kinds: ['position'],
  apply: (state, event, ctx) => {
    if (event.kind === 'position' && (event.lat ?? 0) > 60) throw new Error('cannot place it');
    const n = ((state as number | undefined) ?? 0) + 1;
    return { state: n, deliveries: [{ destination: ctx.destination, operation: 'fix.count', kind: 'fact', businessKey: `${ctx.asset.erpAssetId}|${n}`, erpAssetId: ctx.asset.erpAssetId, eventTime: event.eventTime, payload: { n } }] };
  },
};

describe('rules test: a line a rule throws on', () => {
  const lines = [
    position('tag-1', '2026-10-01T08:00:00Z'),
    // An array: each item its own message, as POST /v1/events takes it; the rule throws on the second alone.
    `[${position('tag-1', '2026-10-01T08:01:00Z')},${position('tag-1', '2026-10-01T08:02:00Z', 61)}]`,
    position('tag-1', '2026-10-01T08:03:00Z'),
  ];

  it('is rejected with the reason the service quarantines its message under; the lines after it run on the state as before it', async () => {
    const report = await runRulesTest({ ...base, rules: [buggy], lines });
    expect(report.lines.map((l) => [l.line, l.item, l.accepted])).toEqual([
      [1, undefined, true],
      [2, 0, true],
      [2, 1, false],
      [3, undefined, true],
    ]);
    expect(report.lines[2]?.reason).toBe(
      'rule "buggy" failed on this position event of EQ-1: cannot place it (a bug: please report it; replay the message after the fix) (the service quarantines the message, with the state as before it, and goes on with the others)',
    );
    // The item before the rejected one counts; the rejected one changes nothing: the third line is the third fix counted.
    expect(report.lines[3]?.deliveries.map((d) => d.businessKey)).toEqual(['EQ-1|3']);
    expect(report.counts).toMatchObject({ lines: 3, messages: 4, accepted: 3, rejected: 1 });
    expect(report.totals).toEqual({ 'fix.count (fact)': 3 });
    expect(formatRulesTest(report)).toContain('line 2 item 1: rejected: rule "buggy" failed on this position event of EQ-1: cannot place it');
  });

  it('is the service\'s reason, word for word, as simulateRules gives it per message', () => {
    const asset = plain('EQ-1', 'tag-1').asset;
    const step = (lat: number, t: number) => ({ event: { kind: 'position' as const, source: 's', ids: [{ type: 'tag' as const, value: 'tag-1' }], eventTime: t, receivedAt: t, lat, lng: 0 }, asset, destination: 'erp' });
    const r = simulateRules([buggy], [step(1, 1), step(1, 2), step(61, 3), step(1, 4)], { messages: [1, 2, 1] });
    expect([...r.failed]).toEqual([[1, 'rule "buggy" failed on this position event of EQ-1: cannot place it (a bug: please report it; replay the message after the fix)']]);
    expect(r.perStep.map((d) => d.length)).toEqual([1, 0, 0, 1]);
    expect(r.states.get('EQ-1')).toEqual({ buggy: 2 });
    // Without messages the error is the caller's, as before.
    expect(() => simulateRules([buggy], [step(61, 1)])).toThrow('cannot place it');
  });

  it('with --compare, rejected under one config alone, is run under the other and said in the comparison', async () => {
    const report = await runRulesTest({ ...base, rules: [buggy], compare: [{ ...buggy, apply: (st, e, ctx) => buggy.apply(st, e.kind === 'position' ? { ...e, lat: 0 } : e, ctx) }], lines });
    expect(report.counts).toMatchObject({ lines: 3, messages: 4, accepted: 4, rejected: 0 });
    expect(report.rejectedByOne?.current).toEqual({ lines: 1, first: expect.stringMatching(/^line 2 item 1: rule "buggy" failed/) });
    expect(report.comparison?.onlyProposed.map((d) => d.businessKey)).toEqual(['EQ-1|4']);
    expect(formatComparison(report, { current: 'a.yaml', proposed: 'b.yaml' })).toContain('1 of them rejected under a.yaml alone (run under b.yaml), the first line 2 item 1: rule "buggy" failed');
  });
});

describe('rules test --compare of a config that adds a reader zone', () => {
  const zone = (name: string, code: string) => ({ name, locationCode: code, circle: { lat: 0, lng: 0, radiusM: 10 } });
  const current = rulesSchema.parse({ allowedLateness: 0, location: { minDistanceM: 100 }, zones: { inline: [zone('DOCK-1', 'D1')] } });
  const proposed = rulesSchema.parse({ allowedLateness: 0, location: { minDistanceM: 100 }, zones: { inline: [zone('DOCK-1', 'D1'), zone('DOCK-2', 'D2')] } });
  const sighting = (minute: number, z: string) => JSON.stringify({ kind: 'position', assetId: 'tag-1', eventTime: `2026-10-01T08:0${minute}:00Z`, zone: z });
  const lines = [sighting(0, 'DOCK-1'), sighting(1, 'DOCK-2'), sighting(2, 'DOCK-9')];

  it('accepts a sighting of the zone only the proposed config has, runs it there alone, and says so', async () => {
    const report = await runRulesTest({ ...base, rules: createRules(current), zoneNames: zoneNamesOf(current), compare: createRules(proposed), compareZoneNames: zoneNamesOf(proposed), lines });
    // DOCK-9 is in neither: rejected, as either service would quarantine it.
    expect(report.counts).toMatchObject({ lines: 3, accepted: 2, rejected: 1 });
    expect(report.rejectedByOne?.current).toEqual({ lines: 1, first: expect.stringMatching(/^line 2: zone sighting in unknown zone "DOCK-2"/) });
    expect(report.rejectedByOne?.proposed.lines).toBe(0);
    // The proposed config places the asset at D2; the current one, which quarantines that sighting, leaves it at D1.
    expect(report.comparison?.states.map((st) => [st.businessKey, st.current?.warehouseLocation, st.proposed?.warehouseLocation])).toEqual([['EQ-1', 'D1', 'D2']]);
    expect(formatComparison(report, { current: 'a.yaml', proposed: 'b.yaml' })).toContain('1 of them rejected under a.yaml alone (run under b.yaml), the first line 2: zone sighting in unknown zone "DOCK-2"');
    // A line one service would quarantine and the other run is a difference (--exit-code 1), whatever the deliveries.
    expect(sameOutcome(report)).toBe(false);
  });

  it('the other way round: a zone the proposed config removes is rejected there alone', async () => {
    const report = await runRulesTest({ ...base, rules: createRules(proposed), zoneNames: zoneNamesOf(proposed), compare: createRules(current), compareZoneNames: zoneNamesOf(current), lines: lines.slice(0, 2) });
    expect(report.counts).toMatchObject({ lines: 2, accepted: 2, rejected: 0 });
    expect(report.rejectedByOne?.proposed).toEqual({ lines: 1, first: expect.stringMatching(/^line 2: zone sighting in unknown zone "DOCK-2"/) });
    // Without --compare the line is the current config's to judge, as before.
    const alone = await runRulesTest({ ...base, rules: createRules(current), zoneNames: zoneNamesOf(current), lines: lines.slice(0, 2) });
    expect(alone.lines[1]).toMatchObject({ accepted: false, reason: expect.stringContaining('unknown zone "DOCK-2"') });
  });
});

describe('rules test --compare of a config that changes rules.depreciation', () => {
  const meter = (eventTime: string, hours: number) => JSON.stringify({ kind: 'meter', assetId: 'tag-1', eventTime, operatingHours: hours });
  const lines = [meter('2026-09-30T20:00:00Z', 100), meter('2026-10-01T04:00:00Z', 108)];
  const rulesWith = (depreciation?: object) => createRules(rulesSchema.parse({ allowedLateness: '0s', ...(depreciation ? { depreciation } : {}) }));

  it('compares the usage per period the events leave: another time zone moves hours into another month', async () => {
    const report = await runRulesTest({ ...base, rules: rulesWith({ timeZone: 'UTC' }), compare: rulesWith({ timeZone: 'Asia/Tokyo' }), lines });
    // The deliveries (meter readings) are alike; the usage the usage-posting task would post is not.
    expect(report.comparison && report.comparison.onlyCurrent.length + report.comparison.onlyProposed.length + report.comparison.changed.length + report.comparison.states.length).toBe(0);
    expect(report.usageComparison?.changed.map((x) => [x.period, x.current?.units, x.proposed?.units])).toEqual([
      ['2026-09', 4, undefined],
      ['2026-10', 4, 8],
    ]);
    expect(sameOutcome(report)).toBe(false);
    const text = formatComparison(report, { current: 'a.yaml', proposed: 'b.yaml' });
    expect(text).toContain('usage per fiscal period the events leave that differs (rules.depreciation) (2):\n  EQ-1 2026-09: 4 h (meter at end 104 h) → (none)\n  EQ-1 2026-10: 4 h (meter at end 108 h) → 8 h (meter at end 108 h)');
    expect(text).not.toContain('no difference');
  });

  it('a config that adds it files usage the other does not', async () => {
    const report = await runRulesTest({ ...base, rules: rulesWith(), compare: rulesWith({ timeZone: 'UTC' }), lines });
    expect(report.usageComparison?.changed.map((x) => [x.period, x.current, x.proposed?.units])).toEqual([
      ['2026-09', undefined, 4],
      ['2026-10', undefined, 4],
    ]);
    expect(sameOutcome(report)).toBe(false);
    // Alike under both: no difference.
    const same = await runRulesTest({ ...base, rules: rulesWith({ timeZone: 'UTC' }), compare: rulesWith({ timeZone: 'UTC' }), lines });
    expect(same.usageComparison).toEqual({ changed: [], same: 2 });
    expect(sameOutcome(same)).toBe(true);
  });
});

describe('rules test: a line of an asset the registry here lacks', () => {
  it('says what to do in this dry run (the registry is the config\'s assets over the store beside it), not only how to replay a quarantine it has not got', async () => {
    const report = await runRulesTest({ ...base, lines: [position('tag-1', '2026-10-01T08:00:00Z'), position('tag-9', '2026-10-01T08:01:00Z')] });
    expect(formatRulesTest(report)).toContain(
      "line 2: rejected: no ERP mapping for tag tag-9; add it with 'assetbridge assets import' then replay the quarantine (the service quarantines it as unknown-asset; this dry run takes the assets from the config's assets over the store beside it, if there is one: add the asset to the config's assets or import it into that store, or run where the store that has it is, then run again)\n",
    );
  });

  it('says it in full once: the lines of unknown assets after the first name the quarantine and point back', async () => {
    const report = await runRulesTest({ ...base, lines: [position('tag-9', '2026-10-01T08:00:00Z'), position('tag-1', '2026-10-01T08:01:00Z'), position('tag-9', '2026-10-01T08:02:00Z'), position('tag-8', '2026-10-01T08:03:00Z')] });
    const text = formatRulesTest(report);
    expect(text.match(/this dry run takes the assets/g)).toHaveLength(1);
    expect(text).toContain('line 1: rejected: no ERP mapping for tag tag-9; add it with');
    for (const [line, tag] of [[3, 'tag-9'], [4, 'tag-8']]) {
      expect(text).toContain(
        `line ${line}: rejected: no ERP mapping for tag ${tag}; add it with 'assetbridge assets import' then replay the quarantine (the service quarantines it as unknown-asset; what to do is said with the first such line and in the summary)\n`,
      );
    }
    // The summary names every unknown identifier.
    expect(text).toContain('3 rejected for 2 unknown asset(s) (tag tag-9, tag tag-8)');
  });
});
