/**
 * `assetbridge rules test` as a user runs it (the built CLI), from a mutation audit: `--fresh`
 * over a store that holds state, the idle watermarks of captured lines, and `--exit-code`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
import { YARD_AND_DEPOT } from '../../../test/helpers/rules-stream.js';
import { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { rulesSchema } from '../../config/rules-schema.js';
import type { CanonicalEvent } from '../../core/model/events.js';
import { createRules } from '../../core/rules/index.js';
import { simulateRules } from '../../core/rules/simulate.js';
import { progressMode } from './rules.js';

const asset = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} };
const rules = { allowedLateness: '0s', location: { minDistanceM: 100 } };

function config(overrides: object = {}) {
  return writeConfig((dir) => ({
    store: { path: join(dir, 'data', 'ab.db') },
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
    assets: { inline: [{ erpAssetId: 'EQ-1', erpModule: 'maintenance', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
    rules,
    server: { port: 0 },
    ...overrides,
  }));
}

const fix = (iso: string, lat = 52.5, extra: object = {}) => JSON.stringify({ kind: 'position', assetId: 'tag-1', eventTime: iso, lat, lng: 13.4, ...extra });

describe('rules test --fresh', () => {
  it('starts from empty rule state even when the store holds some; without it, from the stored state', async () => {
    // Mutation: --fresh ignored when a store exists.
    const cfg = config();
    // The store the service left: EQ-1 synced at 08:05.
    const store = new SqliteStore({ path: join(cfg.dir, 'data', 'ab.db'), synchronous: 'normal' });
    try {
      await store.upsertAssets([{ asset, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
      const t = Date.parse('2026-10-01T08:05:00Z');
      const event: CanonicalEvent = { kind: 'position', source: 't', ids: [{ type: 'tag', value: 'tag-1' }], eventTime: t, receivedAt: t, lat: 52.5, lng: 13.4 };
      const r = simulateRules(createRules(rulesSchema.parse(rules)), [{ event, asset, destination: 'erp' }]);
      await store.commitIngest({ states: [...r.states].map(([erpAssetId, doc]) => ({ erpAssetId, doc })), deliveries: [], quarantine: [], accepted: 1 });
    } finally {
      await store.close();
    }
    const events = join(cfg.dir, 'events.jsonl');
    writeFileSync(events, `${fix('2026-10-01T08:00:00Z')}\n`);
    const stored = await runCli(['rules', 'test', '-c', cfg.path, '--events', events]);
    expect(stored.stderr).toBe('');
    expect(stored.stdout).toContain('late: dropped by location');
    const fresh = await runCli(['rules', 'test', '-c', cfg.path, '--events', events, '--fresh']);
    expect(fresh.stderr).toBe('');
    expect(fresh.stdout).toContain('location.update → erp [state] EQ-1');
    expect(fresh.stdout).not.toContain('late:');
  });
});

describe('rules test over a store whose rule state is behind its ingest log', () => {
  it('says so on stderr, with what to do (the service did not stop cleanly, or is running)', async () => {
    const cfg = config();
    const store = new SqliteStore({ path: join(cfg.dir, 'data', 'ab.db'), synchronous: 'normal' });
    try {
      await store.upsertAssets([{ asset, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
      const t = Date.parse('2026-10-01T08:05:00Z');
      // A batch whose rule-state change was only logged, as the service logs it until its next checkpoint.
      await store.commitIngest({ states: [], deliveries: [], quarantine: [], accepted: 1, log: { now: t, messages: [{ source: 'http', channel: '/v1/events', payload: fix('2026-10-01T08:05:00Z'), receivedAt: t }] } });
    } finally {
      await store.close();
    }
    const events = join(cfg.dir, 'events.jsonl');
    writeFileSync(events, `${fix('2026-10-01T08:00:00Z')}\n`);
    const r = await runCli(['rules', 'test', '-c', cfg.path, '--events', events]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      'note: the stored rule state this starts from is 1 message(s) behind: their changes are in the ingest log, not yet stored (a running service stores them every ingest.checkpointMs; one that did not stop cleanly, at its next start), so events among them may decide again here; use --fresh to start from empty state\n',
    );
    const fresh = await runCli(['rules', 'test', '-c', cfg.path, '--events', events, '--fresh']);
    expect(fresh.stderr).toBe('');
  });
});

describe('rules test on captured lines', () => {
  it('sends the idle watermarks of the config\'s rules.idleAfter in the silences the lines show', async () => {
    // Mutation: the command runs without the config's idle time.
    const cfg = config({ rules: { allowedLateness: '30s', idleAfter: '2m', location: { minDistanceM: 50 }, zones: YARD_AND_DEPOT } });
    const at = (min: number) => new Date(Date.parse('2026-11-20T08:00:00Z') + min * 60_000).toISOString();
    const line = (min: number, lat: number) => JSON.stringify({ kind: 'position', erpAssetId: 'EQ-1', eventTime: at(min), lat, lng: 10, receivedAt: at(min) });
    const events = join(cfg.dir, 'events.jsonl');
    writeFileSync(events, `${[line(0, 50.05), line(1, 50), line(60, 50.01)].join('\n')}\n`);
    const r = await runCli(['rules', 'test', '-c', cfg.path, '--events', events, '--fresh']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('  idle: EQ-1 silent since 2026-11-20T08:01:00.000Z, decided at 2026-11-20T08:03:00.000Z (rules.idleAfter)\n    location.update → erp [state] EQ-1: location Y1');
  });
});

describe('rules test --compare --exit-code', () => {
  it('exits 0 when the other config delivers the same, 1 when it does not, and is refused without --compare', async () => {
    // Mutations: the exit code never set; --exit-code taken without --compare.
    const cfg = config();
    const same = config();
    const changed = config({ rules: { ...rules, location: { enabled: false } } });
    const events = join(cfg.dir, 'events.jsonl');
    writeFileSync(events, `${fix('2026-10-01T08:00:00Z')}\n`);
    const alike = await runCli(['rules', 'test', '-c', cfg.path, '--events', events, '--fresh', '--compare', same.path, '--exit-code']);
    expect([alike.code, alike.stderr]).toEqual([0, '']);
    expect(alike.stdout).toContain('no difference: both would deliver the same');
    const differs = await runCli(['rules', 'test', '-c', cfg.path, '--events', events, '--fresh', '--compare', changed.path, '--exit-code']);
    expect([differs.code, differs.stderr]).toEqual([1, '']);
    expect(differs.stdout).toContain('state updates that would end on another value (1)');
    // Without --exit-code, a difference is not a failure.
    expect((await runCli(['rules', 'test', '-c', cfg.path, '--events', events, '--fresh', '--compare', changed.path])).code).toBe(0);
    // Input none of whose lines was accepted (an asset this run does not know): nothing compared, no pass.
    const unknown = join(cfg.dir, 'unknown.jsonl');
    writeFileSync(unknown, `${fix('2026-10-01T08:00:00Z').replace('tag-1', 'tag-9')}\n`);
    const none = await runCli(['rules', 'test', '-c', cfg.path, '--events', unknown, '--fresh', '--compare', same.path, '--exit-code']);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(
      `error: --exit-code: no event line of ${unknown} was accepted (1 read, 1 rejected), so the two configs were not compared on anything; run without --compare to see why each line is rejected (an asset unknown here: import the assets, or run where the store is)\n`,
    );
    expect((await runCli(['rules', 'test', '-c', cfg.path, '--events', unknown, '--fresh', '--compare', same.path])).code).toBe(0); // without --exit-code: shown, not failed
    const alone = await runCli(['rules', 'test', '-c', cfg.path, '--events', events, '--exit-code']);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--exit-code goes with --compare');
  });
});

describe('rules test progress on stderr', () => {
  const tty = { streaming: true, brief: false, stdoutTTY: true, stderrTTY: true, sized: true };
  it('is the printed lines themselves on a terminal, but a line now and then with --brief, which keeps most lines back (a long input would look stuck)', () => {
    expect(progressMode(tty)).toBe('none');
    expect(progressMode({ ...tty, brief: true })).toBe('lines'); // not a bar: it would tear the lines that are printed
    expect(progressMode({ ...tty, streaming: false })).toBe('bar'); // --json, --compare: nothing printed until the end
    expect(progressMode({ ...tty, stdoutTTY: false })).toBe('bar'); // the lines go to a file
    expect(progressMode({ ...tty, stdoutTTY: false, sized: false })).toBe('lines'); // standard input: no share to show
    expect(progressMode({ ...tty, stdoutTTY: false, stderrTTY: false })).toBe('lines');
  });
});
