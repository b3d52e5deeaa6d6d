/**
 * An ingest log a crash left is replayed under the identity registry its messages were identified
 * with, also when the registry changed while the service was stopped: by the config's assets (at
 * the next start) or by `assets import` (the command replays it first).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createApp } from './app.js';
import { createLogger } from './adapters/log/logger.js';
import { SqliteStore } from './adapters/store/sqlite/sqlite-store.js';
import { compileConfig } from './config/load.js';
import { readRuntimeSnapshot } from './engine/engine.js';
import { currentHolder } from './engine/store-lease.js';
import { here, serviceState } from './cli/commands/status.js';
import { runCli, writeConfig } from '../test/helpers/cli.js';
import { tempStorePath } from '../test/helpers/temp-store.js';

const ERP = [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'x' }];
const fix = (tag: string, lat: number) => ({ kind: 'position', ids: [{ type: 'tag', value: tag }], eventTime: new Date().toISOString(), lat, lng: 4 });

/** Ingests `event` through a pipeline of the config's own and leaves without a checkpoint (a crash): the state is only in the ingest log. */
async function crashAfter(config: ReturnType<typeof compileConfig>, event: object): Promise<void> {
  const app = await createApp(config, { sources: false, http: false, deliver: false, logger: createLogger('silent') });
  const r = await app.ingestor.submit([{ source: 'cli', channel: 'cli', payload: JSON.stringify(event), receivedAt: Date.now() }]);
  expect(r.accepted).toBe(1);
  expect(app.ingestor.stats.logged).toBe(1);
  await app.close(); // no flush: a crash
}

async function stored(path: string): Promise<{ log: number; states: Map<string, unknown>; tag1: string | undefined }> {
  const store = new SqliteStore({ path });
  try {
    const assets = await store.listAssets();
    const tag1 = assets.find((a) => a.identifiers.some((i) => i.value === 'tag-1'))?.asset.erpAssetId;
    return { log: (await store.counters()).ingestLog, states: await store.loadStates(['EX-1', 'EX-2']), tag1 };
  } finally {
    await store.close();
  }
}

describe('a crash replay and a changed registry', () => {
  it("replays the log before the config's assets move an identifier, so its message keeps its asset", async () => {
    const path = tempStorePath();
    const before = compileConfig({ store: { path }, destinations: ERP, ingest: { checkpointMs: '1h' }, log: { level: 'silent' }, assets: { inline: [{ erpAssetId: 'EX-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }, { erpAssetId: 'EX-2', identifiers: [{ type: 'tag', value: 'tag-2' }] }] } });
    await crashAfter(before, fix('tag-1', 1));
    // Restarted with tag-1 listed under EX-2.
    const after = compileConfig({ store: { path }, destinations: ERP, ingest: { checkpointMs: '1h' }, log: { level: 'silent' }, assets: { inline: [{ erpAssetId: 'EX-1', identifiers: [{ type: 'tag', value: 'tag-9' }] }, { erpAssetId: 'EX-2', identifiers: [{ type: 'tag', value: 'tag-1' }] }] } });
    const app = await createApp(after, { sources: false, http: false, deliver: false, logger: createLogger('silent') });
    await app.ingestor.flush();
    await app.close();
    const s = await stored(path);
    expect(s.tag1).toBe('EX-2');
    expect(s.log).toBe(0);
    expect(JSON.stringify(s.states.get('EX-1'))).toContain('"lat":1');
    expect(s.states.get('EX-2')).toBeUndefined();
  });

  it('assets import with no service running replays the log first, then moves the identifier', async () => {
    const { path, dir } = writeConfig((d) => ({ store: { path: join(d, 'ab.db') }, destinations: ERP, ingest: { checkpointMs: '1h' } }));
    const seed = new SqliteStore({ path: join(dir, 'ab.db') });
    await seed.upsertAssets([
      { asset: { erpAssetId: 'EX-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EX-1' }] },
      { asset: { erpAssetId: 'EX-2', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-2', erpAssetId: 'EX-2' }] },
    ]);
    await seed.close();
    await crashAfter(compileConfig({ store: { path: join(dir, 'ab.db') }, destinations: ERP, ingest: { checkpointMs: '1h' }, log: { level: 'silent' } }), fix('tag-1', 1));
    writeFileSync(join(dir, 'move.csv'), 'identifier,id_type,erp_asset_id\ntag-1,tag,EX-2\n');
    const r = await runCli(['assets', 'import', join(dir, 'move.csv'), '-c', path]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('replaying the 1 message(s) of the ingest log a stopped service left');
    expect(r.stdout).toContain('tag tag-1 moved from asset EX-1 to EX-2');
    const s = await stored(join(dir, 'ab.db'));
    expect(s.tag1).toBe('EX-2');
    expect(s.log).toBe(0);
    expect(JSON.stringify(s.states.get('EX-1'))).toContain('"lat":1');
    expect(s.states.get('EX-2')).toBeUndefined();
    // With nothing left in the log, an import says nothing of a replay.
    writeFileSync(join(dir, 'back.csv'), 'identifier,id_type,erp_asset_id\ntag-1,tag,EX-1\n');
    const again = await runCli(['assets', 'import', join(dir, 'back.csv'), '-c', path]);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
  }, 60_000);

  it("the service replaying the log before the config's assets says it is starting (status), and once closed unstarted, no longer", async () => {
    // Was: this replay ran before the engine was made, so no snapshot said the service was starting:
    // `status` said "not running" (the log "from a run that did not stop cleanly") until it ended.
    const path = tempStorePath();
    const assets = { inline: [{ erpAssetId: 'EX-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] };
    const config = compileConfig({ store: { path }, destinations: ERP, ingest: { checkpointMs: '1h' }, log: { level: 'silent' }, assets });
    await crashAfter(config, fix('tag-1', 1));
    // What `status` says, read while the log is being replayed.
    const seen: { state: string; starting: boolean; step?: string }[] = [];
    const read = SqliteStore.prototype.readIngestLog; // eslint-disable-line @typescript-eslint/unbound-method -- called with its `this` below
    const spy = vi.spyOn(SqliteStore.prototype, 'readIngestLog').mockImplementation(async function (this: SqliteStore) {
      const now = Date.now();
      const snap = await readRuntimeSnapshot(this);
      const state = serviceState(snap, await currentHolder(this, now), now, here());
      seen.push({ state: snap?.state ?? 'none', starting: state.starting, ...(snap?.startStep !== undefined ? { step: snap.startStep } : {}) });
      return read.call(this);
    });
    try {
      // As `assetbridge run` makes it: delivering, so it can start.
      const app = await createApp(config, { sources: false, http: false, logger: createLogger('silent') });
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ state: 'starting', starting: true });
      expect(seen[0]?.step).toMatch(/^replaying the ingest log/);
      await app.close();
    } finally {
      spy.mockRestore();
    }
    const store = new SqliteStore({ path });
    try {
      expect((await readRuntimeSnapshot(store))?.state).toBe('stopped');
      expect((await store.counters()).ingestLog).toBe(0);
    } finally {
      await store.close();
    }
  });
});
