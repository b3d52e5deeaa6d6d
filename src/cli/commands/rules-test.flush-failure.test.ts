/**
 * `rules test` when a rule throws while deciding what it holds (an idle watermark between captured
 * lines, the end of the input): as the service quarantines that asset's watermark, the asset is
 * left as it was and reported, the other assets are decided, the run goes on, and it exits 1.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeConfig } from '../../../test/helpers/cli.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import type { FlushableRule } from '../../core/rules/event-time.js';
import type * as App from '../../app.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { formatComparison, formatLine, formatRulesTest, runRulesTest, sameOutcome } from './rules-test.js';

/** Holds each fix until it is flushed, then files it as a fact; `buggy`: its flush throws for EQ-2. */
function holder(buggy: boolean): FlushableRule<number[]> {
  const fact = (erpAssetId: string, destination: string, t: number): DeliveryIntent => ({ destination, operation: 'fix.held', kind: 'fact', businessKey: `${erpAssetId}|${t}`, erpAssetId, eventTime: t, payload: { t } });
  return {
    name: 'holder',
    kinds: ['position'],
    apply: (state, event) => ({ state: [...(state ?? []), event.eventTime], deliveries: [] }),
    flush: (state, ctx) => {
      if (buggy && ctx.asset.erpAssetId === 'EQ-2' && (state ?? []).length) throw new Error('cannot decide it');
      return { state: [], deliveries: (state ?? []).map((t) => fact(ctx.asset.erpAssetId, ctx.destination, t)) };
    },
    holds: (state) => (state ?? []).length > 0,
  };
}

vi.mock('../../app.js', async (importOriginal) => {
  const app = await importOriginal<typeof App>();
  // The configured rules, and the holder with its bug.
  return { ...app, buildRules: (...args: Parameters<typeof app.buildRules>) => [...app.buildRules(...args), holder(true)] };
});

const asset = (erpAssetId: string, tag: string): AssetWithIdentifiers => ({ asset: { erpAssetId, erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: tag, erpAssetId }] });
const base = { assets: [asset('EQ-1', 'tag-1'), asset('EQ-2', 'tag-2')], defaultDestination: 'erp', states: new Map() };
const fix = (tag: string, iso: string, receivedAt?: string) => JSON.stringify({ kind: 'position', assetId: tag, eventTime: iso, lat: 52.5, lng: 13.4, ...(receivedAt ? { receivedAt } : {}) });
const REASON = 'rule "holder" failed on this watermark event of EQ-2: cannot decide it (a bug: please report it; replay the message after the fix)';

describe('rules test: a rule that throws at the end of the input', () => {
  const lines = [fix('tag-1', '2026-10-01T08:00:00Z'), fix('tag-2', '2026-10-01T08:01:00Z')];

  it('leaves that asset undecided and says so; the other assets are decided', async () => {
    const report = await runRulesTest({ ...base, rules: [holder(true)], lines });
    expect(report.counts).toMatchObject({ lines: 2, accepted: 2, rejected: 0 });
    expect(report.flushed.map((d) => d.businessKey)).toEqual([`EQ-1|${Date.parse('2026-10-01T08:00:00Z')}`]);
    expect(report.ruleFailures).toEqual({ lines: 0, watermarks: 0, atEnd: [{ erpAssetId: 'EQ-2', reason: expect.stringContaining(REASON) }], first: `the end of the input, EQ-2: ${REASON}` });
    const text = formatRulesTest(report);
    expect(text).toContain(`not decided at the end of the input: a rule failed on these assets (a bug), whose held events stay undecided:\n  EQ-2: ${REASON}`);
    expect(text).toContain('a rule failed (a bug: please report it, with the lines concerned; exit status 1): 1 asset(s) not decided at the end of the input');
    expect(report.totals).toEqual({ 'fix.held (fact)': 1 });
  });

  it('at an idle watermark between captured lines: the line after it runs, the watermark is reported under it', async () => {
    const captured = [fix('tag-2', '2026-10-01T08:00:00Z', '2026-10-01T08:00:00Z'), fix('tag-1', '2026-10-01T08:10:00Z', '2026-10-01T08:10:00Z'), fix('tag-1', '2026-10-01T08:20:00Z', '2026-10-01T08:20:00Z')];
    const report = await runRulesTest({ ...base, rules: [holder(true)], lines: captured, idleMs: 60_000 });
    expect(report.lines.map((l) => l.accepted)).toEqual([true, true, true]);
    expect(report.lines[1]?.idle).toEqual([{ erpAssetId: 'EQ-2', silentSince: '2026-10-01T08:00:00.000Z', at: '2026-10-01T08:01:00.000Z', deliveries: [], failed: expect.stringContaining(REASON) }]);
    expect(formatLine(report.lines[1] as never)).toContain(`  idle: EQ-2 silent since 2026-10-01T08:00:00.000Z, not decided at 2026-10-01T08:01:00.000Z (rules.idleAfter): ${REASON}`);
    // EQ-1's watermark (silent from 08:10 to 08:20) decided its fix; EQ-2 still holds its own at the end.
    expect(report.lines[2]?.idle?.[0]?.deliveries.map((d) => d.businessKey)).toEqual([`EQ-1|${Date.parse('2026-10-01T08:10:00Z')}`]);
    expect(report.ruleFailures).toMatchObject({ lines: 0, watermarks: 1, atEnd: [{ erpAssetId: 'EQ-2' }], first: `the idle watermark of EQ-2 at 2026-10-01T08:01:00.000Z: ${REASON}` });
  });

  it('with --compare, failing under one config alone is a difference', async () => {
    const report = await runRulesTest({ ...base, rules: [holder(true)], compare: [holder(false)], lines });
    expect(report.ruleFailures?.atEnd.map((a) => a.erpAssetId)).toEqual(['EQ-2']);
    expect(report.compareRuleFailures).toBeUndefined();
    expect(sameOutcome(report)).toBe(false);
    const text = formatComparison(report, { current: 'a.yaml', proposed: 'b.yaml' });
    expect(text).toContain('not decided at the end of the input under a.yaml');
    expect(text).toContain('a rule failed under a.yaml (a bug');
  });
});

describe('rules test on the command line, when a rule throws at the end of the input', () => {
  const written: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  it('prints the whole report and exits 1', async () => {
    const cfg = writeConfig(() => ({
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }, { erpAssetId: 'EQ-2', identifiers: [{ type: 'tag', value: 'tag-2' }] }] },
      rules: { allowedLateness: '0s' },
      server: { port: 0 },
    }));
    const file = join(cfg.dir, 'events.jsonl');
    writeFileSync(file, `${fix('tag-1', '2026-10-01T08:00:00Z')}\n${fix('tag-2', '2026-10-01T08:01:00Z')}\n`);
    vi.spyOn(process.stdout, 'write').mockImplementation((t) => (written.push(String(t)), true));
    const stderr: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((t) => (stderr.push(String(t)), true));
    const { buildProgram } = await import('../program.js');
    await buildProgram().parseAsync(['node', 'assetbridge', 'rules', 'test', '-c', cfg.path, '--events', file, '--fresh']);
    const out = written.join('');
    expect(out).toContain('2 event line(s): 2 accepted, 0 rejected');
    expect(out).toContain(`  EQ-2: ${REASON}`);
    expect(stderr.join('')).toContain(`a rule failed (a bug: please report it, with the lines concerned); the first, the end of the input, EQ-2: ${REASON}`);
    expect(process.exitCode).toBe(1);
  });
});
