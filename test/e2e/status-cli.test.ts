/**
 * `assetbridge status` through the CLI against a store another process holds: the holder and its
 * start time as the rest of `--json` writes times (ISO 8601), and the counts as the store has them.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/log/logger.js';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { LEASE_KEY, LEASE_NS, pidSpace, StoreLease } from '../../src/engine/store-lease.js';
import { RUNTIME_NS } from '../../src/engine/engine.js';
import { PULLS_NAMESPACE } from '../../src/adapters/telematics/aemp/fleet-pull.js';
import { runCli, writeConfig } from '../helpers/cli.js';

describe('assetbridge status', () => {
  it('names the process holding the store, with its start time in ISO 8601 like every time in --json', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
    const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
    const lease = await StoreLease.acquire(store, { command: 'assetbridge aemp backfill', path: join(dir, 'ab.db'), logger: createLogger('silent') });
    try {
      await store.commitIngest({ states: [], deliveries: [{ destination: 'erp', operation: 'location.update', kind: 'state', businessKey: 'A1', erpAssetId: 'A1', eventTime: 1, payload: {} }], quarantine: [], accepted: 1 });
      const r = await runCli(['status', '--json', '-c', path]);
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout) as { service: unknown; storeInUseBy: { command: string; pid: number; since: unknown }; outbox: unknown[] };
      expect(s.service).toEqual({ state: 'not running' });
      expect(s.storeInUseBy).toMatchObject({ command: 'assetbridge aemp backfill', pid: process.pid });
      expect(s.storeInUseBy.since).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(s.outbox).toEqual([{ destination: 'erp', pending: 1, inflight: 0, delivered: 0, dead: 0, oldestPendingAgeMs: expect.any(Number) as number }]);
      const text = await runCli(['status', '-c', path]);
      expect(text.stderr).toBe('');
      expect(text.stdout).toContain(`store in use by: assetbridge aemp backfill (pid ${process.pid} on `);
    } finally {
      await lease.release();
      await store.close();
    }
  });

  it('says a service that runs but has not written its status for a while (a store it cannot write) is not answering, not that it is not running', async () => {
    // Was "service: not running", with its ingest log "from a run that did not stop cleanly", while it ran on a full disk.
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
    const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
    const lastSeen = Date.now() - 60_000;
    try {
      // What a service left before its store could no longer be written: its process (this one)
      // lives, in this pid namespace (so its pid, not its lease's renewals, says it is not gone).
      await store.kvSet(RUNTIME_NS, 'snapshot', JSON.stringify({ pid: process.pid, state: 'running', startedAt: lastSeen - 60_000, at: lastSeen }));
      await store.kvSet(LEASE_NS, LEASE_KEY, JSON.stringify({ pid: process.pid, host: hostname(), instance: 'svc', command: 'assetbridge run', since: lastSeen - 60_000, heartbeat: lastSeen, pidSpace: pidSpace() }));
      const text = await runCli(['status', '-c', path]);
      expect(text.code).toBe(0);
      expect(text.stdout.split('\n')[0]).toMatch(
        new RegExp(`^service: running \\(pid ${process.pid}\\) but not answering: it has not written its status for 6\\d s, as when it cannot write the store \\(a full disk, a read-only volume\\); its log and /readyz say why$`),
      );
      expect(text.stdout).not.toContain('store in use by');
      const json = JSON.parse((await runCli(['status', '--json', '-c', path])).stdout) as { service: { state: string; pid: number } };
      expect(json.service).toMatchObject({ state: 'not answering', pid: process.pid });
    } finally {
      await store.close();
    }
  });

  it('says a service whose stop has not written its status for a while (a store it cannot write) is stopping but not answering, not that it is not running', async () => {
    // Was "service: not running", then "store in use by" the very process that was stopping.
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
    const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
    const lastSeen = Date.now() - 60_000;
    try {
      // What a stopping service left before its store could no longer be written: its process (this one) lives.
      await store.kvSet(RUNTIME_NS, 'snapshot', JSON.stringify({ pid: process.pid, state: 'draining', startedAt: lastSeen - 60_000, at: lastSeen }));
      await store.kvSet(LEASE_NS, LEASE_KEY, JSON.stringify({ pid: process.pid, host: hostname(), instance: 'svc', command: 'assetbridge run', since: lastSeen - 60_000, heartbeat: lastSeen, pidSpace: pidSpace() }));
      const text = await runCli(['status', '-c', path]);
      expect(text.code).toBe(0);
      expect(text.stdout.split('\n')[0]).toMatch(
        new RegExp(`^service: stopping \\(pid ${process.pid}\\) but not answering: it has not written its status for 6\\d s, as when it cannot write the store \\(a full disk, a read-only volume\\); its log says why$`),
      );
      expect(text.stdout).not.toContain('store in use by');
      const json = JSON.parse((await runCli(['status', '--json', '-c', path])).stdout) as { service: unknown };
      expect(json.service).toEqual({ state: 'not answering', pid: process.pid, lastSeenMs: expect.any(Number) as number, stopping: true });
    } finally {
      await store.close();
    }
  });

  // A request the ERP does not answer keeps its delivery in flight: its age showed as '-'.
  it('says the last stop failed (a step of it threw, exit 1), not that the service stopped cleanly', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
    const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
    try {
      await store.kvSet(RUNTIME_NS, 'snapshot', JSON.stringify({ pid: 999_999, state: 'failed', stopFailed: true, at: Date.now() - 60_000 }));
    } finally {
      await store.close();
    }
    const text = await runCli(['status', '-c', path]);
    expect(text.stdout.split('\n')[0]).toBe('service: not running: its last stop failed (its log says why)');
    const json = await runCli(['status', '--json', '-c', path]);
    expect((JSON.parse(json.stdout) as { service: unknown }).service).toEqual({ state: 'not running', lastStop: 'failed' });
  });

  it('shows the age of the oldest delivery in flight when none is pending', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
    const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
    try {
      await store.commitIngest({ states: [], deliveries: [{ destination: 'erp', operation: 'location.update', kind: 'state', businessKey: 'A1', erpAssetId: 'A1', eventTime: 1, payload: {} }], quarantine: [], accepted: 1 });
      expect(await store.claimDue('erp', Date.now() + 1000, 10, new Set())).toHaveLength(1);
    } finally {
      await store.close();
    }
    const text = await runCli(['status', '-c', path]);
    expect(text.stdout).toMatch(/\nerp +0 +1 +\d+ (ms|s) +0 +0 /);
  });

  // Renamed in the config, the destination's pending deliveries showed as an ordinary row: nothing sends them.
  it('marks a destination the config no longer names, and says that nothing sends its pending deliveries', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp-new', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
    const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
    try {
      await store.commitIngest({ states: [], deliveries: [{ destination: 'erp', operation: 'location.update', kind: 'state', businessKey: 'A1', erpAssetId: 'A1', eventTime: 1, payload: {} }], quarantine: [], accepted: 1 });
    } finally {
      await store.close();
    }
    const text = await runCli(['status', '-c', path]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/\nerp \(not configured\) +1 +0 /);
    expect(text.stdout).toContain(
      'destination erp is not in the config (destinations[].name): nothing sends its 1 pending deliveries. If it was renamed, put the old name back (they go to the destination of that name only)\n',
    );
    const json = JSON.parse((await runCli(['status', '--json', '-c', path])).stdout) as { destinationsNotConfigured?: string[] };
    expect(json.destinationsNotConfigured).toEqual(['erp']);
  });

  // A pull stopped by an error quoting the feed's credentials showed them in status and status --json.
  it("redacts a telematics feed's last pull error with the config's secrets, as the rest of status", async () => {
    const secret = 'tu-token-s3cr3t-998877';
    const { path, dir } = writeConfig({
      store: { path: 'ab.db' },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      telematics: [{ name: 'trackunit', vendor: 'trackunit', baseUrl: 'http://127.0.0.1:9/iso', auth: { type: 'bearer', token: secret } }],
    });
    const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
    try {
      const last = {
        provider: 'trackunit', startedAt: 1_700_000_000_000, finishedAt: 1_700_000_001_000, elapsedMs: 1000, pages: 0, equipment: 0, duplicates: 0, matched: 0, unmatched: 0, ambiguous: 0,
        resolvedFromReview: 0, accepted: 0, quarantined: 0, requests: 1, http429: 0, reserveUsed: 0, complete: false, stop: 'error', notes: [],
        error: `fleet request refused (HTTP 401): invalid token ${secret}`,
      };
      await store.kvSet(PULLS_NAMESPACE, 'trackunit', JSON.stringify(last));
      const text = await runCli(['status', '-c', path]);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain('telematics trackunit: last pull');
      expect(text.stdout).toContain('fleet request refused (HTTP 401): invalid token');
      expect(text.stdout).not.toContain(secret);
      const json = await runCli(['status', '--json', '-c', path]);
      expect(json.code).toBe(0);
      const s = JSON.parse(json.stdout) as { telematics: { name: string; lastPull: { error: string } }[] };
      expect(s.telematics[0]?.lastPull.error).toContain('fleet request refused (HTTP 401): invalid token');
      expect(json.stdout).not.toContain(secret);
      // aemp budget --json shows the same stored summary.
      const budget = await runCli(['aemp', 'budget', '--json', '-c', path]);
      expect(budget.code).toBe(0);
      expect(budget.stdout).toContain('fleet request refused (HTTP 401): invalid token');
      expect(budget.stdout).not.toContain(secret);
    } finally {
      await store.close();
    }
  });
});
