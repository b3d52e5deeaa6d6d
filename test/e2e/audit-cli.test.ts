/**
 * `assetbridge audit` through the CLI: filters, the newest `--limit` attempts, JSON lines, and
 * options it cannot read refused with what to pass instead of an empty answer or a SQLite error.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import type { AuditRecord } from '../../src/ports/store.js';
import { runCli, writeConfig } from '../helpers/cli.js';

describe('assetbridge audit', () => {
  it('lists the attempts of an asset since a time as JSON lines, and refuses a --limit or --delivery that is not a whole number', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
    const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
    const now = Date.now();
    const attempt = (asset: string, at: number, n: number): AuditRecord => ({
      at,
      deliveryId: asset === 'A1' ? 1 : 2,
      destination: 'erp',
      operation: 'location.update',
      erpAssetId: asset,
      idempotencyKey: `k-${asset}`,
      attempt: n,
      latencyMs: 5,
      outcome: 'retry',
      method: 'POST',
      url: 'https://erp.example/api',
      requestBody: '{"note":"line 1\\nline 2"}',
    });
    try {
      await store.completeAttempts([], [attempt('A1', now - 3 * 3_600_000, 1), attempt('A1', now - 30 * 60_000, 2), attempt('A2', now - 20 * 60_000, 1), attempt('A1', now - 10 * 60_000, 3)], now);
      // Recorded late (the store was busy): a newer row for an older attempt.
      await store.completeAttempts([], [attempt('A1', now - 2 * 3_600_000, 0), attempt('A1', now - 40 * 3_600_000, 9)], now);
    } finally {
      await store.close();
    }

    const r = await runCli(['audit', '--asset', 'A1', '--since', '1h', '--json', '-c', path]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { erpAssetId: string; attempt: number; requestBody: string });
    expect(lines.map((l) => `${l.erpAssetId} ${l.attempt}`)).toEqual(['A1 2', 'A1 3']);
    expect(lines[0]?.requestBody).toBe('{"note":"line 1\\nline 2"}');
    expect((await runCli(['audit', '--asset', 'A1', '--since', '1d', '--limit', '1', '--json', '-c', path])).stdout.trim().split('\n').map((l) => (JSON.parse(l) as { attempt: number }).attempt)).toEqual([3]);
    // One delivery's whole history, however old, without --since.
    expect((await runCli(['audit', '--delivery', '1', '--json', '-c', path])).stdout.trim().split('\n').map((l) => (JSON.parse(l) as { attempt: number }).attempt)).toEqual([9, 1, 0, 2, 3]);

    for (const json of [[], ['--json']]) {
      const unknown = await runCli(['audit', '--asset', 'NOPE', ...json, '-c', path]);
      expect({ code: unknown.code, stderr: unknown.stderr.trim() }).toEqual({ code: 1, stderr: expect.stringContaining('no asset "NOPE" in the registry') as unknown });
      const nowhere = await runCli(['audit', '--destination', 'nope', ...json, '-c', path]);
      expect({ code: nowhere.code, stderr: nowhere.stderr.trim() }).toEqual({ code: 1, stderr: 'error: no destination "nope" in the config (destinations: erp)' });
    }

    for (const [args, message] of [
      [['--limit', 'abc'], '--limit "abc" is not a positive whole number'],
      [['--limit', '0'], '--limit "0" is not a positive whole number'],
      [['--limit', '99999999999999999999'], '--limit "99999999999999999999" is too large'],
      [['--delivery', 'abc'], 'delivery id "abc" is not a positive whole number'],
    ] as const) {
      const bad = await runCli(['audit', ...args, '-c', path]);
      expect(bad.stderr).toContain(message);
      expect(bad.code).toBe(2);
    }
  });

  it('shows why an attempt failed in the table (a refused connection has no status), and says when --limit left older attempts out', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
    const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
    const now = Date.now();
    const base = { deliveryId: 1, destination: 'erp', operation: 'location.update', erpAssetId: 'A1', idempotencyKey: 'k', latencyMs: 2, method: 'PATCH', url: 'http://127.0.0.1:9/api/v1/assets/A1/location' };
    try {
      await store.completeAttempts(
        [],
        [
          { ...base, at: now - 3_000, attempt: 1, outcome: 'retry', error: 'RETRYABLE: PATCH /api/v1/assets/A1/location → connection-refused: fetch failed: connect ECONNREFUSED 127.0.0.1:9' },
          { ...base, at: now - 2_000, attempt: 2, outcome: 'dead', status: 422, error: `PERMANENT: PATCH /api/v1/assets/A1/location → 422 unprocessable: ${'x'.repeat(200)}` },
          { ...base, at: now - 1_000, attempt: 1, outcome: 'delivered', status: 200 },
        ],
        now,
      );
    } finally {
      await store.close();
    }
    const all = await runCli(['audit', '-c', path]);
    expect(all.code).toBe(0);
    expect(all.stderr).toBe('');
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/OUTCOME +REQUEST +ERROR$/);
    expect(lines[1]).toMatch(/ - +2 +retry +PATCH http:\/\/127\.0\.0\.1:9\/api\/v1\/assets\/A1\/location +RETRYABLE: PATCH \/api\/v1\/assets\/A1\/location → connection-refused: fetch failed: connect/);
    expect(lines[2]).toMatch(/ 422 .* dead .*PERMANENT: PATCH .*x…$/);
    expect(lines[3]).toMatch(/ delivered +PATCH \S+$/);
    const two = await runCli(['audit', '--limit', '2', '-c', path]);
    expect(two.stdout.trimEnd().split('\n').map((l) => l.split(/ +/)[7])).toEqual(['OUTCOME', 'dead', 'delivered']);
    expect(two.stderr).toBe('more attempts than the 2 shown (the newest): --limit <n> to see more, --since, --asset, --destination or --delivery to narrow\n');
    const json = await runCli(['audit', '--limit', '2', '--json', '-c', path]);
    expect(json.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { outcome: string }).outcome)).toEqual(['dead', 'delivered']);
    expect(json.stderr).toContain('more attempts than the 2 shown');
    expect((await runCli(['audit', '--limit', '3', '-c', path])).stderr).toBe('');
  });

  it('says which window an empty answer covers: the last 24h without --since, else the time --since reads as', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
    await new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false }).close();
    expect(await runCli(['audit', '-c', path])).toEqual({ code: 0, stdout: 'no attempts in the last 24h (--since 7d, say, looks further back)\n', stderr: '' });
    expect(await runCli(['audit', '--since', '2026-01-02', '-c', path])).toEqual({ code: 0, stdout: 'no attempts since 2026-01-02T00:00:00.000Z (--since 2026-01-02)\n', stderr: '' });
  });

  it('says of a --delivery without attempts whether it exists, rather than "no attempts in that window"', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
    const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
    let id: number;
    try {
      await store.commitIngest({ states: [], quarantine: [], accepted: 1, deliveries: [{ destination: 'erp', operation: 'location.update', kind: 'state', businessKey: 'A3', erpAssetId: 'A3', eventTime: Date.now(), payload: {} }] });
      id = (await store.listDeliveries({ status: 'pending' }))[0]?.id ?? 0;
    } finally {
      await store.close();
    }
    expect(await runCli(['audit', '--delivery', String(id), '-c', path])).toEqual({ code: 0, stdout: `no attempts for delivery ${id} yet (pending)\n`, stderr: '' });
    const none = await runCli(['audit', '--delivery', String(id + 1), '-c', path]);
    expect({ code: none.code, stderr: none.stderr }).toEqual({ code: 1, stderr: `error: no delivery ${id + 1}, and no attempts for it; 'assetbridge dlq list' and 'assetbridge audit --json' show delivery ids\n` });
  });
});
