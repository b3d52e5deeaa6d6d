/**
 * End to end: the loop an integration engineer uses to change a rule safely. The running service
 * captures every accepted event (`capture.dir`); `rules test` over the captured file predicts the
 * work orders the ERP actually got; `rules test --compare` over the same file shows what a changed
 * threshold would have done instead.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startErpService } from '../helpers/erp-service.js';
import { runCli, writeConfig } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const env = { INTAKE_TOKEN: 'intake-token-capture', ERP_TOKEN: 'erp-token' };
const assets = { inline: [{ erpAssetId: 'EQ-1', erpModule: 'maintenance', identifiers: [{ type: 'tag', value: 'tag-1' }] }] };
const rules = (forMinutes: number) => ({
  allowedLateness: 0,
  idleAfter: 0,
  location: { enabled: false },
  maintenance: {
    thresholds: [{ name: 'overheat', sensor: 'coolantTemp', above: 95, clearBelow: 90, for: `${forMinutes}m`, severity: 'critical' }],
    serviceIntervals: [{ name: 'svc-250h', everyHours: 250 }],
  },
});

describe('event capture → rules test → rules test --compare', () => {
  it('the captured day replays to the work orders the ERP got, and shows what a changed rule would have done', async () => {
    const service = await startErpService({
      simulator: { knownAssets: ['EQ-1'] },
      env,
      config: { sources: { http: { token: '${INTAKE_TOKEN}' } }, assets, rules: rules(2), capture: { dir: 'capture', keepDays: 3 } },
    });
    const t0 = Date.now() - 3_600_000;
    const at = (min: number) => new Date(t0 + min * 60_000).toISOString();
    const events = [
      { kind: 'meter', assetId: 'tag-1', eventTime: at(0), operatingHours: 249.9 },
      ...[97, 98, 99, 80].map((v, i) => ({ kind: 'sensor', assetId: 'tag-1', eventTime: at(1 + i), values: { coolantTemp: { value: v } } })),
      { kind: 'meter', assetId: 'tag-1', eventTime: at(10), operatingHours: 250.05 },
      { kind: 'meter', assetId: 'tag-404', eventTime: at(11), operatingHours: 1 }, // quarantined: not captured
    ];
    let code: number | null;
    try {
      const r = await fetch(`${service.base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${env.INTAKE_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(events) });
      expect(r.status).toBe(400); // the unknown tag; the rest is accepted
      expect(((await r.json()) as { accepted: number }).accepted).toBe(6);
      await waitFor(() => service.erp.state().workOrders.length === 2, `two work orders (output: ${service.svc.output()})`, 20_000);
    } finally {
      code = await service.stop();
    }
    expect(code).toBe(0);
    const sent = service.erp.state().workOrders.map((w) => w.externalKey).sort();
    expect(sent).toEqual([`EQ-1|overheat|${at(1)}`, 'EQ-1|svc-250h|250h@b0'].sort());

    // The capture: every accepted event, in the canonical form, nothing quarantined.
    const dir = join(service.cfg.dir, 'capture');
    const files = readdirSync(dir).filter((f) => /^events-\d{4}-\d{2}-\d{2}\.jsonl$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    const captured = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('');
    const lines = captured.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; erpAssetId: string; eventTime: string; source: string });
    expect(lines.map((l) => [l.kind, l.erpAssetId, l.eventTime, l.source])).toEqual(events.slice(0, 6).map((e) => [e.kind, 'EQ-1', e.eventTime, 'http']));
    const status = await runCli(['status', '-c', service.cfg.path], env);
    expect(status.stdout).toContain(`events captured to ${dir} (last run): 6`);

    // Replayed through the same rules, the capture (the directory: every day it kept) predicts what the ERP got.
    const file = dir;
    const replay = await runCli(['rules', 'test', '-c', service.cfg.path, '--events', file, '--fresh', '--json'], env);
    expect(replay.code).toBe(0);
    const report = JSON.parse(replay.stdout) as { lines: { deliveries: { operation: string; businessKey: string }[] }[]; flushed: { operation: string; businessKey: string }[] };
    const predicted = [...report.lines.flatMap((l) => l.deliveries), ...report.flushed].filter((d) => d.operation === 'workorder.create').map((d) => d.businessKey).sort();
    expect(predicted).toEqual(sent);

    // A stricter threshold (5 minutes), tried on the same day: the overheating work order would not have been opened.
    const proposed = writeConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], rules: rules(5) });
    const compared = await runCli(['rules', 'test', '-c', service.cfg.path, '--events', file, '--fresh', '--compare', proposed.path], env);
    expect(compared.code).toBe(0);
    expect(compared.stdout).toContain(`facts only with ${service.cfg.path} (1):\n  workorder.create → erp [fact] EQ-1|overheat|`);
    expect(compared.stdout).toContain('1 fact(s) alike under both'); // the service work order
    expect(compared.stdout).not.toContain(`facts only with ${proposed.path}`);
    // As a review check: --exit-code fails on a change, passes on none.
    expect((await runCli(['rules', 'test', '-c', service.cfg.path, '--events', file, '--fresh', '--compare', proposed.path, '--exit-code'], env)).code).toBe(1);
    expect((await runCli(['rules', 'test', '-c', service.cfg.path, '--events', file, '--fresh', '--compare', service.cfg.path, '--exit-code'], env)).code).toBe(0);
    const both = await runCli(['rules', 'test', '-c', service.cfg.path, '--events', file, '--compare', proposed.path, '--trace', 'EQ-1'], env);
    expect([both.code, both.stderr]).toEqual([2, 'error: --trace shows one rule set at work: run it without --compare (and with -c on the other config to trace that one)\n']);
    const alone = await runCli(['rules', 'test', '-c', service.cfg.path, '--events', file, '--exit-code'], env);
    expect([alone.code, alone.stderr]).toEqual([2, 'error: --exit-code goes with --compare: it says whether the two configs deliver the same\n']);

    const broken = writeConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], rules: { maintenance: { thresholds: [{ name: 'x', sensor: 's' }] } } });
    const bad = await runCli(['rules', 'test', '-c', service.cfg.path, '--events', file, '--compare', broken.path], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(new RegExp(`--compare ${broken.path}: Invalid configuration:\\n {2}- rules\\.maintenance\\.thresholds\\.0`));
  });
});
