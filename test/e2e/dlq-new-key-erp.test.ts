/**
 * `assetbridge dlq replay --new-key` against an ERP that keeps its 4xx under the idempotency key
 * (the simulator's `idempotencyKeeps4xx`, as Stripe-style idempotency does): a location refused
 * 404 for an asset the ERP did not know, then created there, is refused again by a plain replay
 * (same key, the stored 404 replayed) and delivered by a replay under a new key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import { startErpService, type ErpService } from '../helpers/erp-service.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'intake-token-123';
const env = { INTAKE_TOKEN: TOKEN, ERP_TOKEN: 'erp-token' };
let service: ErpService;
let erp: ErpSimulator;

beforeAll(async () => {
  service = await startErpService({
    simulator: { knownAssets: ['EQ-1'], idempotencyKeeps4xx: true },
    env,
    config: {
      sources: { http: { token: '${INTAKE_TOKEN}' } },
      assets: { inline: [{ erpAssetId: 'EQ-404', identifiers: [{ type: 'tag', value: 'tag-404' }] }] },
    },
  });
  ({ erp } = service);
});

afterAll(async () => {
  expect(await service?.stop()).toBe(0);
});

interface DeadRow {
  id: number;
  idempotencyKey: string;
  lastError: string;
  attempts: number;
}

async function deadLetters(): Promise<DeadRow[]> {
  const r = await runCli(['dlq', 'list', '--json', '-c', service.cfg.path], env);
  return JSON.parse(r.stdout) as DeadRow[];
}

describe('dlq replay --new-key with an ERP that keeps its 4xx under the key', () => {
  it('a plain replay gets the stored 404 again after the fix; --new-key is delivered', async () => {
    const res = await fetch(`${service.base}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'position', assetId: 'tag-404', eventTime: new Date(Date.now() - 60_000).toISOString(), lat: 50.1, lng: 8.68, zone: 'YARD-A' }),
    });
    expect(res.status).toBe(202);
    const [dead] = await waitFor(async () => ((await deadLetters()).length ? deadLetters() : undefined), 'dead letter');
    if (!dead) throw new Error('no dead letter');
    expect(dead.lastError).toMatch(/404/);
    const { id, idempotencyKey: key } = dead;

    // Fixed in the ERP: the asset exists now.
    erp.setKnownAssets(['EQ-1', 'EQ-404']);

    // Same key: the ERP answers with the 404 it stored under it, and the letter is dead again.
    expect((await runCli(['dlq', 'replay', String(id), '-c', service.cfg.path], env)).code).toBe(0);
    const again = await waitFor(async () => (await deadLetters()).find((d) => d.id === id), 'dead again after a plain replay');
    expect(again).toMatchObject({ idempotencyKey: key, lastError: expect.stringMatching(/404/) as unknown });
    expect(erp.counters().duplicatesSuppressed).toBeGreaterThanOrEqual(1);
    expect(erp.state().locations['EQ-404']).toBeUndefined();

    // A new key gets past the stored 404: the location is applied.
    const r = await runCli(['dlq', 'replay', String(id), '--new-key', '-c', service.cfg.path], env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const newKey = /new idempotency key (\S+) \(was (\S+)\)/.exec(r.stdout);
    expect(newKey?.[2]).toBe(key);
    expect(newKey?.[1]).not.toBe(key);
    await waitFor(() => erp.state().locations['EQ-404'], 'EQ-404 delivered after replay --new-key');
    expect(erp.state().locations['EQ-404']).toMatchObject({ warehouseLocation: 'YARD-A' });
    expect(await deadLetters()).toEqual([]);
  });
});
