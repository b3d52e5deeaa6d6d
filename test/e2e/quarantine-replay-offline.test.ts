/**
 * `assetbridge quarantine replay` with no service running: the command runs the pipeline itself,
 * and leaves the store as a clean stop would — deliveries enqueued, rule state stored, nothing
 * left in the ingest log for the next start to replay.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { runCli, writeConfig } from '../helpers/cli.js';

const stores: SqliteStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

describe('quarantine replay without a running service', () => {
  it('replays once the mapping exists, and stores the rule state it changed', async () => {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'erp-token' }],
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
    }));
    const dbPath = join(cfg.dir, 'ab.db');
    const payload = JSON.stringify({ kind: 'position', assetId: 'tag-2', eventTime: new Date(Date.now() - 60_000).toISOString(), lat: 50.1, lng: 8.68, zone: 'YARD-A' });
    const seed = new SqliteStore({ path: dbPath });
    await seed.commitIngest({
      states: [],
      deliveries: [],
      accepted: 0,
      quarantine: [{ source: 'http', channel: '/v1/events', payload, receivedAt: Date.now(), code: 'unknown-asset', reason: 'no ERP mapping for tag tag-2' }],
    });
    await seed.close();

    const csv = join(cfg.dir, 'more.csv');
    writeFileSync(csv, 'identifier,id_type,erp_asset_id,erp_module\ntag-2,tag,EQ-2,fixed-assets\n');
    expect((await runCli(['assets', 'import', csv, '-c', cfg.path])).code).toBe(0);
    const replay = await runCli(['quarantine', 'replay', '--code', 'unknown-asset', '-c', cfg.path]);
    expect(replay.stdout).toContain('replayed 1: 1 accepted, 0 quarantined again');

    const status = JSON.parse((await runCli(['status', '--json', '-c', cfg.path])).stdout) as { heldMessages: number; outbox: { pending: number }[] };
    expect(status.heldMessages).toBe(0);
    expect(status.outbox[0]?.pending).toBe(1);
    const store = new SqliteStore({ path: dbPath });
    stores.push(store);
    expect((await store.loadStates(['EQ-2'])).get('EQ-2')).toHaveProperty('location');
    // Closed by the ingest commit that stored its outcome (RawMessage.replayOf), once.
    expect((await store.listQuarantine({})).map((r) => [r.status, r.replays])).toEqual([['replayed', 1]]);
  });
});
