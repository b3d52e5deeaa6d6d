/**
 * End to end through the CLI: `assetbridge run` as its own process, events in over HTTP, the ERP
 * simulator's state out; bad input quarantined with reasons and replayed after a mapping import;
 * a permanent ERP error dead-lettered and replayed; status and audit readable.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import { startErpService, type ErpService } from '../helpers/erp-service.js';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { CONTROL_NS } from '../../src/engine/engine.js';
import { runCli, writeConfig } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'intake-token-123';
let erp: ErpSimulator;
let base: string;
let cfg: { path: string; dir: string };

const post = (body: unknown, token = TOKEN) =>
  fetch(`${base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const position = (assetId: string, minute: number, lat: number, zone: string) => ({
  kind: 'position',
  assetId,
  eventTime: new Date(Date.now() - 3_600_000 + minute * 60_000).toISOString(),
  lat,
  lng: 8.68,
  zone,
});

let service: ErpService;

beforeAll(async () => {
  service = await startErpService({
    simulator: { knownAssets: ['EQ-1', 'EQ-2', 'EQ-3'] },
    env: { INTAKE_TOKEN: TOKEN, ERP_TOKEN: 'erp-token' },
    config: {
      sources: { http: { token: '${INTAKE_TOKEN}' } },
      assets: {
        inline: [
          { erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] },
          { erpAssetId: 'EQ-404', identifiers: [{ type: 'tag', value: 'tag-404' }] },
        ],
      },
    },
  });
  ({ erp, base, cfg } = service);
});

afterAll(async () => {
  expect(await service?.stop()).toBe(0); // graceful stop
});

const env = { INTAKE_TOKEN: TOKEN, ERP_TOKEN: 'erp-token' };

describe('assetbridge run (HTTP intake → REST ERP)', () => {
  it('refuses a missing or wrong token', async () => {
    expect((await post(position('tag-1', 0, 50.1, 'A'), 'wrong-token-x')).status).toBe(401);
  });

  it('accepts events with 202 after commit, and the ERP ends with the newest location', async () => {
    const res = await post([position('tag-1', 0, 50.1, 'YARD-A'), position('tag-1', 2, 50.2, 'YARD-B'), position('tag-1', 1, 50.15, 'YARD-C')]);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 3 });
    await waitFor(() => erp.state().locations['EQ-1']?.warehouseLocation === 'YARD-B', 'EQ-1 at YARD-B');
    // The late event (minute 1) never overwrote the newer state.
    await new Promise((r) => setTimeout(r, 300));
    expect(erp.state().locations['EQ-1']).toMatchObject({ warehouseLocation: 'YARD-B', coordinates: { lat: 50.2, lng: 8.68 } });
  });

  it('answers 400 with a per-item reason and quarantines bad items; good ones are still stored', async () => {
    const res = await post([position('tag-1', 3, 50.3, 'YARD-A'), { ...position('tag-1', 4, 91, 'X') }, { kind: 'position', assetId: 'tag-1', eventTime: 'not a time', lat: 1, lng: 1 }, position('tag-2', 0, 50.1, 'YARD-A')]);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { accepted: number; rejected: { index: number; reason: string }[] };
    expect(body.accepted).toBe(1);
    expect(body.rejected).toEqual([
      { index: 1, reason: 'lat 91 is out of range [-90, 90]' },
      { index: 2, reason: 'event time must be a valid timestamp, got string "not a time"; give an ISO 8601 time with a zone, e.g. 2026-10-01T08:00:00Z, or epoch milliseconds' },
      { index: 3, reason: "no ERP mapping for tag tag-2; add it with 'assetbridge assets import' then replay the quarantine" },
    ]);
    const garbage = await post('{"kind": "position", ');
    expect(garbage.status).toBe(400);
    const list = await runCli(['quarantine', 'list', '--json', '-c', cfg.path], env);
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout) as { code: string; reason: string }[];
    expect(rows.map((r) => r.code).sort()).toEqual(['invalid', 'invalid', 'undecodable', 'unknown-asset']);
  });

  it('replays quarantined events once the mapping exists (through the running service)', async () => {
    const csv = join(cfg.dir, 'more.csv');
    writeFileSync(csv, 'identifier,id_type,erp_asset_id,erp_module\ntag-2,tag,EQ-2,fixed-assets\n');
    const imp = await runCli(['assets', 'import', csv, '-c', cfg.path], env);
    expect(imp.stdout).toContain('imported 1 identifier(s) for 1 asset(s)');
    expect(imp.stdout).toContain("1 of 1 quarantined message(s) (unknown-asset) name an identifier the registry maps now: run 'assetbridge quarantine replay --code unknown-asset' to process them\n");
    // The import waits until the running service identifies events with the new mapping (not a 1.5 s sleep, which a loaded machine can outlast).
    expect(imp.stdout).toContain('identifies events with it now');
    const replay = await runCli(['quarantine', 'replay', '--code', 'unknown-asset', '-c', cfg.path], env);
    expect(replay.stdout).toContain('replayed 1: 1 accepted, 0 quarantined again');
    // The replay ran through the service (a job request and its result in the store); neither row is left behind.
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), commitInWorker: false });
    try {
      expect((await store.kvList(CONTROL_NS)).filter((r) => r.key.startsWith('job-'))).toEqual([]);
    } finally {
      await store.close();
    }
    await waitFor(() => erp.state().locations['EQ-2']?.warehouseLocation === 'YARD-A', 'EQ-2 delivered after replay');
  });

  it('assets import returns once the running service identifies events with the new mapping: an event sent right after it is taken', async () => {
    // Before: the import said "imported" and returned at once; the service swapped the registry at
    // its next tick (after a checkpoint), so an event for the new tag sent right away was
    // quarantined as unknown-asset.
    const csv = join(cfg.dir, 'third.csv');
    writeFileSync(csv, 'identifier,id_type,erp_asset_id,erp_module\ntag-3,tag,EQ-3,fixed-assets\n');
    const imp = await runCli(['assets', 'import', csv, '-c', cfg.path], env);
    expect(imp.stdout).toMatch(/imported 1 identifier\(s\) for 1 asset\(s\) from .*third\.csv\nthe running service \(pid \d+\) identifies events with it now\n/);
    const r = await post(position('tag-3', 0, 50.1, 'YARD-A'));
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ accepted: 1 });
  });

  it('dead-letters a permanent ERP error with its reason, and replays it after the fix', async () => {
    expect((await post(position('tag-404', 0, 50.1, 'YARD-A'))).status).toBe(202);
    const dead = await waitFor(async () => {
      const r = await runCli(['dlq', 'list', '--json', '-c', cfg.path], env);
      const rows = JSON.parse(r.stdout) as { id: number; lastError: string; erpAssetId: string }[];
      return rows.length ? rows : undefined;
    }, 'dead letter');
    expect(dead[0]).toMatchObject({ erpAssetId: 'EQ-404' });
    expect(dead[0]?.lastError).toMatch(/404/);
    const show = await runCli(['dlq', 'show', String(dead[0]?.id), '-c', cfg.path], env);
    expect(JSON.parse(show.stdout).history[0]).toMatchObject({ status: 404, outcome: 'dead', method: 'PATCH' });
    erp.setKnownAssets(['EQ-1', 'EQ-2', 'EQ-404']);
    expect((await runCli(['dlq', 'replay', '--all', '-c', cfg.path], env)).stdout).toBe(`1 dead letter(s) queued again; the running service (pid ${service.svc.child.pid}) sends them within a second\n`);
    await waitFor(() => erp.state().locations['EQ-404'], 'EQ-404 delivered after replay');
  });

  it('reports status and audit, with no secret in the audit trail', async () => {
    const status = await runCli(['status', '--json', '-c', cfg.path], env);
    const s = JSON.parse(status.stdout) as { service: { state: string }; storeInUseBy?: { command: string; pid: number; since: string }; outbox: { destination: string; delivered: number; dead: number }[]; openQuarantine: number; counters: { quarantined: number } };
    expect(s.service.state).toBe('running');
    expect(s.storeInUseBy).toMatchObject({ command: 'assetbridge run', pid: service.svc.child.pid });
    // Quarantined earlier: the bad items and the garbage body; one was replayed since, the rest are open.
    expect(s.openQuarantine).toBeGreaterThan(0);
    expect(s.openQuarantine).toBe(s.counters.quarantined - 1);
    expect(s.outbox[0]).toMatchObject({ destination: 'erp', dead: 0 });
    const audit = await runCli(['audit', '--asset', 'EQ-1', '--since', '1h', '--json', '-c', cfg.path], env);
    const lines = audit.stdout.trim().split('\n').map((l) => JSON.parse(l) as { at: string; outcome: string; url: string; idempotencyKey: string });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => Date.now() - Date.parse(l.at) < 3_600_000 && l.at.endsWith('Z'))).toBe(true); // ISO times in --json
    expect(lines.every((l) => l.idempotencyKey.startsWith('ab1-'))).toBe(true);
    expect(audit.stdout).not.toContain('erp-token');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/assetbridge_delivered_total\{destination="erp"\} [1-9]/);
    expect(metrics).toContain(`assetbridge_quarantine_open ${s.openQuarantine}\n`);
    // Timings and the process's own series, each family declared once across the exposition.
    expect(Number(/^assetbridge_ingest_ack_wait_seconds_count (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(/^assetbridge_delivery_attempt_seconds_count\{destination="erp",status="404"\} [1-9]/m); // the dead letter's
    expect(metrics).toMatch(/^process_resident_memory_bytes \d+$/m);
    expect(metrics).toMatch(/^nodejs_eventloop_lag_p99_seconds [\d.e-]+$/m);
    const families = [...metrics.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    expect(new Set(families).size).toBe(families.length);
  });

  it("shows the running service's last checkpoint of rule state: when, how many assets, how long", async () => {
    const seen = await waitFor(
      async () => (JSON.parse((await runCli(['status', '--json', '-c', cfg.path], env)).stdout) as { lastCheckpoint?: { storedAt: string; ms: number; assets: number } }).lastCheckpoint,
      'a checkpoint in status (every ingest.checkpointMs while events flow)',
      20_000,
    );
    expect(seen.assets).toBeGreaterThan(0);
    expect(seen.ms).toBeGreaterThanOrEqual(0);
    expect(Date.now() - Date.parse(seen.storedAt)).toBeLessThan(600_000);
    const text = await runCli(['status', '-c', cfg.path], env);
    expect(text.stdout).toMatch(/^rule state: last checkpoint .+ ago stored (?:1 asset's|\d+ assets') state in \d+ ms \(ingest\.checkpointMs, ingest\.checkpointMessages, ingest\.checkpointMessagesPerAsset\)$/m);
  });

  it('refuses a second service on the same store, naming the first, which keeps serving', async () => {
    const second = await runCli(['run', '-c', cfg.path], env);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`is in use by assetbridge run (pid ${service.svc.child.pid} on `);
    expect(second.stderr).toContain('One process at a time runs the pipeline on an embedded store');
    expect((await post(position('tag-1', 5, 50.3, 'YARD-D'))).status).toBe(202);
    await waitFor(() => erp.state().locations['EQ-1']?.warehouseLocation === 'YARD-D', 'EQ-1 at YARD-D after the refusal');
  });

  it('config check --connect reaches the ERP with the configured token while the service runs', async () => {
    const r = await runCli(['config', 'check', '--connect', '-c', cfg.path], env);
    expect(r.stdout).toMatch(/^ {2}ok {6}destination erp: GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/work-orders\?externalKey=assetbridge-connectivity-check → 200 in \d+ ms$/m);
    expect(r.code).toBe(0);
    const wrong = await runCli(['config', 'check', '--connect', '-c', cfg.path], { ...env, ERP_TOKEN: 'not-the-token' });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/FAILED {2}destination erp: .*→ 401 .*\(check destinations\.0\.token \/ auth\)/);
    expect(wrong.stdout + wrong.stderr).not.toContain('not-the-token');
  });

  it('names the config key at fault and exits 2', async () => {
    const bad = writeConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'nope' }], ingest: { maxBatch: -1 } });
    const r = await runCli(['run', '-c', bad.path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('destinations.0.baseUrl');
    expect(r.stderr).toContain('ingest.maxBatch');
  });
});
