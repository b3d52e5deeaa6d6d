/**
 * `rules test --jsonl`: JSON Lines written as the input is read, each line's object once it is
 * decided, a pause in the input included (not only at the end of it), and a summary object last.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { CLI, assertBuilt, runCli, writeConfig } from '../../../test/helpers/cli.js';
import { rulesSchema } from '../../config/rules-schema.js';
import { createRules } from '../../core/rules/index.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { jsonlReportWriter, runRulesTest, type FileStart, type RulesTestLine } from './rules-test.js';

const at = (minute: number) => new Date(Date.UTC(2026, 9, 1, 8, minute)).toISOString();
const position = (tag: string, minute: number, lat: number) => JSON.stringify({ kind: 'position', assetId: tag, eventTime: at(minute), lat, lng: 13.4 });
const sensor = (tag: string, minute: number, value: number) => JSON.stringify({ kind: 'sensor', assetId: tag, eventTime: at(minute), values: { coolantTemp: { value } } });

/** A config with location sync and a threshold; EQ-1 is tag-1. */
function config(): { path: string; dir: string } {
  return writeConfig((dir) => ({
    store: { path: join(dir, 'data', 'ab.db') },
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
    assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
    rules: {
      allowedLateness: '1m',
      location: { minDistanceM: 100 },
      maintenance: { thresholds: [{ name: 'coolant-hot', sensor: 'coolantTemp', above: 95, clearBelow: 90, cooldown: '0s' }], feedback: { pollEvery: 0 } },
    },
    server: { port: 0 },
  }));
}

/** A stream with deliveries, a rejection, a late line, an unknown asset and a work order held for the lateness until the end. */
const EVENTS = [position('tag-1', 0, 52.5), position('tag-1', 2, 52.6), sensor('tag-1', 3, 97), 'not json', position('tag-1', 0.5, 52.55), sensor('tag-1', 4, 85), position('tag-9', 5, 52.5), sensor('tag-1', 10, 98)];

type Out = { type: string } & Record<string, unknown>;

describe('rules test --jsonl', () => {
  it('writes a JSON object a line, each as --json has it: the lines, what the end decided, and a summary last', async () => {
    const cfg = config();
    const file = join(cfg.dir, 'events.jsonl');
    writeFileSync(file, `${EVENTS.join('\n')}\n`);
    const r = await runCli(['rules', 'test', '-c', cfg.path, '--events', file, '--fresh', '--jsonl']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('\n')).toBe(true);
    const out = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Out);
    const whole = JSON.parse((await runCli(['rules', 'test', '-c', cfg.path, '--events', file, '--fresh', '--json'])).stdout) as { lines: object[]; flushed: object[] } & Record<string, unknown>;
    const { lines, flushed, ...summary } = whole;
    expect(out.filter((o) => o.type === 'line').map(({ type: _t, ...l }) => l)).toEqual(lines);
    expect(out.filter((o) => o.type === 'flushed').map(({ type: _t, ...d }) => d)).toEqual(flushed);
    expect(out.at(-1)).toEqual({ type: 'summary', ...summary });
    expect(out.map((o) => o.type)).toEqual([...lines.map(() => 'line'), ...flushed.map(() => 'flushed'), 'summary']);
    // The stream has each kind of line: delivering, rejected, late; and the work order decided at the end.
    expect(out.find((o) => o.type === 'line' && o.accepted === false && o.line === 4)?.reason).toMatch(/not JSON/);
    expect(out.find((o) => o.type === 'line' && o.line === 5)?.late).toEqual(['location']);
    expect(out.find((o) => o.line === 6)?.deliveries).toEqual([expect.objectContaining({ operation: 'workorder.create', businessKey: 'EQ-1|coolant-hot|2026-10-01T08:03:00.000Z' })]);
    expect(flushed).toEqual(expect.arrayContaining([expect.objectContaining({ operation: 'workorder.create', businessKey: 'EQ-1|coolant-hot|2026-10-01T08:10:00.000Z' })]));
    expect(out.at(-1)).toMatchObject({ counts: { lines: 8, accepted: 6, rejected: 2 }, byRule: { 'coolant-hot': { total: 2 } } });
    // With --brief: only the lines that deliver, were rejected or late; the summary counts the rest.
    const brief = (await runCli(['rules', 'test', '-c', cfg.path, '--events', file, '--fresh', '--jsonl', '--brief'])).stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Out);
    expect(brief.filter((o) => o.type === 'line').map((o) => o.line)).toEqual([1, 2, 4, 5, 6, 7]);
    expect(brief.at(-1)).toMatchObject({ type: 'summary', counts: { shown: 6 } });
    // --trace goes with it: each line says what it changed of the asset's state.
    const traced = (await runCli(['rules', 'test', '-c', cfg.path, '--events', file, '--fresh', '--jsonl', '--trace', 'EQ-1'])).stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Out);
    expect(traced.find((o) => o.line === 1)?.trace).toEqual(expect.arrayContaining([expect.any(String)]));
    expect(traced.at(-1)).toMatchObject({ type: 'summary', traced: { erpAssetId: 'EQ-1' } });
  });

  it('refuses --json with it, and --compare, saying what to do', async () => {
    const cfg = config();
    const file = join(cfg.dir, 'events.jsonl');
    writeFileSync(file, `${EVENTS.join('\n')}\n`);
    const both = await runCli(['rules', 'test', '-c', cfg.path, '--events', file, '--json', '--jsonl']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--json and --jsonl: pick one');
    expect(both.stdout).toBe('');
    const compared = await runCli(['rules', 'test', '-c', cfg.path, '--events', file, '--jsonl', '--compare', cfg.path]);
    expect(compared.code).toBe(2);
    expect(compared.stderr).toContain('use --compare with --json');
    const help = await runCli(['rules', 'test', '--help']);
    expect(help.stdout).toContain('--jsonl');
  });

  it('writes the first line while standard input is still open, and the summary once it ends', async () => {
    assertBuilt();
    const cfg = config();
    const child = spawn(process.execPath, [CLI, 'rules', 'test', '-c', cfg.path, '--events', '-', '--fresh', '--jsonl'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const out = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    try {
      child.stdin.write(`${EVENTS[0] ?? ''}\n${EVENTS[1] ?? ''}\n`);
      // stdin stays open: the lines are decided once the input pauses, not when it ends.
      const first = await Promise.race([out.next(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no output while the input was open; stderr: ${stderr}`)), 15_000))]);
      expect(JSON.parse(first.value as string)).toMatchObject({ type: 'line', line: 1, accepted: true });
      const second = await out.next();
      expect(JSON.parse(second.value as string)).toMatchObject({ type: 'line', line: 2, deliveries: [expect.objectContaining({ operation: 'location.update' })] });
      expect(child.exitCode).toBe(null); // still reading
      child.stdin.end(`${EVENTS.slice(2).join('\n')}\n`);
      const rest: Out[] = [];
      for (let r = await out.next(); !r.done; r = await out.next()) rest.push(JSON.parse(r.value) as Out);
      expect(rest.filter((o) => o.type === 'line').map((o) => o.line)).toEqual([3, 4, 5, 6, 7, 8]);
      expect(rest.at(-1)).toMatchObject({ type: 'summary', counts: { lines: 8, accepted: 6, rejected: 2 } });
      expect(await exited).toBe(0);
    } finally {
      child.kill();
    }
  }, 60_000);
});

describe('runRulesTest with decideAfterPauseMs', () => {
  const assets: AssetWithIdentifiers[] = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }];
  const rules = () => createRules(rulesSchema.parse({ allowedLateness: '1m', location: { minDistanceM: 100 }, maintenance: { thresholds: [{ name: 'coolant-hot', sensor: 'coolantTemp', above: 95, clearBelow: 90, cooldown: '0s' }] } }));
  const base = { rules: rules(), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') };

  it('hands over the lines read before a pause while the input is still open, and decides the same as without the pause', async () => {
    const handed: RulesTestLine[] = [];
    let resume: () => void = () => undefined;
    const paused = new Promise<void>((r) => (resume = r));
    const handedBeforeResume: number[] = [];
    async function* lines(): AsyncGenerator<string | FileStart> {
      yield* EVENTS.slice(0, 3);
      await paused;
      yield* EVENTS.slice(3);
    }
    const done = runRulesTest({ ...base, lines: lines(), onLine: (l) => handed.push(l), decideAfterPauseMs: 20 });
    // Wait (at most 5 s) for the lines before the pause to be handed over, then let the input go on.
    for (let i = 0; i < 250 && handed.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    handedBeforeResume.push(...handed.map((l) => l.line));
    resume();
    const report = await done;
    expect(handedBeforeResume).toEqual([1, 2, 3]);
    // The same report as the input read whole (one chunk), lines and all.
    const whole = await runRulesTest({ ...base, lines: EVENTS });
    expect(handed).toEqual(whole.lines);
    expect({ ...report, lines: [] }).toEqual({ ...whole, counts: { ...whole.counts }, lines: [] });
  });

  it('without it, lines wait for a chunk to fill or the input to end', async () => {
    const handed: RulesTestLine[] = [];
    let resume: () => void = () => undefined;
    const paused = new Promise<void>((r) => (resume = r));
    async function* lines(): AsyncGenerator<string> {
      yield* EVENTS.slice(0, 3);
      await paused;
    }
    const done = runRulesTest({ ...base, lines: lines(), onLine: (l) => handed.push(l) });
    await new Promise((r) => setTimeout(r, 200));
    expect(handed).toEqual([]);
    resume();
    await done;
    expect(handed.map((l) => l.line)).toEqual([1, 2, 3]);
  });
});

describe('jsonlReportWriter', () => {
  it('writes what is pending on flush, each object on a line of its own', () => {
    const written: string[] = [];
    const w = jsonlReportWriter((t) => written.push(t));
    w.line({ line: 1, accepted: false, reason: 'payload is not JSON', events: [], deliveries: [] });
    expect(written).toEqual([]); // held until flushed, not a write per line
    w.flush();
    expect(written).toEqual(['{"type":"line","line":1,"accepted":false,"reason":"payload is not JSON","events":[],"deliveries":[]}\n']);
    w.end({ lines: [], flushed: [], totals: {}, byRule: {}, counts: { lines: 1, accepted: 0, rejected: 1, shown: 1, late: 0 } });
    expect(written[1]).toBe('{"type":"summary","totals":{},"byRule":{},"counts":{"lines":1,"accepted":0,"rejected":1,"shown":1,"late":0}}\n');
  });
});
