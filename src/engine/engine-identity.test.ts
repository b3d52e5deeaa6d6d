/**
 * The running service picks up identity registry changes (`assets import`, `assets confirm`)
 * through the store's identity generation, also when one read of the registry fails, and only
 * once the rule state of what came before is stored.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../adapters/log/logger.js';
import { bumpIdentityGeneration, createApp, type App } from '../app.js';
import { compileConfig } from '../config/load.js';
import { tempStorePath } from '../../test/helpers/temp-store.js';
import { waitFor } from '../../test/helpers/wait.js';
import { requestJob, SUBMIT_EVENTS_JOB, submitEvents } from './engine.js';

const apps: App[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.stop();
});

describe('identity reload in the running service', () => {
  it('retries a reload whose registry read failed, instead of keeping the old mapping until the next import', async () => {
    const config = compileConfig({ store: { path: tempStorePath() }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], log: { level: 'silent' } });
    const app = await createApp(config, { sources: false, http: false, logger: createLogger('silent') });
    apps.push(app);
    await app.start();
    const listAssets = app.store.listAssets.bind(app.store);
    let failures = 0;
    app.store.listAssets = () => (failures++ === 0 ? Promise.reject(new Error('SQLITE_IOERR: disk I/O error')) : listAssets());
    await app.store.upsertAssets([{ asset: { erpAssetId: 'EX-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EX-1' }] }]);
    await bumpIdentityGeneration(app.store);
    await waitFor(() => failures >= 2, 'the reload to be tried again after the failed read', 10_000);
    const event = { kind: 'position', ids: [{ type: 'tag', value: 'tag-1' }], eventTime: new Date().toISOString(), lat: 1, lng: 2 };
    const r = await requestJob(app.store, SUBMIT_EVENTS_JOB, { events: [event] }, { timeoutMs: 10_000, pollMs: 50 });
    expect(JSON.parse(r.output)).toMatchObject({ accepted: 1 });
  });

  it('swaps the registry after a checkpoint, so the ingest log holds no message identified under the old one', async () => {
    // Rule state is held in memory and the messages that changed it are in the ingest log until a
    // checkpoint (an hour here). A replay of that log after a crash or a failed commit identifies
    // each message again, with the registry of the moment: had the registry changed under a
    // logged message, its replay would give it another asset than it was given.
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) });
    const config = compileConfig({
      store: { path: tempStorePath() },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      ingest: { checkpointMs: '1h' },
      assets: { inline: [{ erpAssetId: 'EX-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }, { erpAssetId: 'EX-2', identifiers: [{ type: 'tag', value: 'tag-2' }] }] },
      log: { level: 'info' },
    });
    const app = await createApp(config, { sources: false, http: false, logger: createLogger('info', 'assetbridge', sink) });
    apps.push(app);
    await app.start();
    const event = { kind: 'position', ids: [{ type: 'tag', value: 'tag-1' }], eventTime: new Date().toISOString(), lat: 1, lng: 2 };
    // Straight into the ingestor, as a source would (an operator's event, through a job, is checkpointed at once).
    expect(await submitEvents(app.ingestor, [event], Date.now())).toMatchObject({ accepted: 1 });
    expect(app.ingestor.stats.logged).toBe(1);
    expect((await app.store.loadStates(['EX-1'])).get('EX-1')).toBeUndefined();
    // tag-1 moves to EX-2.
    await app.store.upsertAssets([{ asset: { erpAssetId: 'EX-2', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EX-2' }] }]);
    await bumpIdentityGeneration(app.store);
    await waitFor(() => lines.some((l) => l.includes('identity registry reloaded')), 'the registry to be reloaded', 10_000);
    // EX-1's state, with the position tag-1 gave it, was stored before the swap; the log is empty.
    expect(app.ingestor.stats.logged).toBe(0);
    expect((await app.store.readIngestLog()).length).toBe(0);
    expect(JSON.stringify((await app.store.loadStates(['EX-1'])).get('EX-1'))).toContain('"lat":1');
    // And tag-1 is EX-2's now.
    const again = await requestJob(app.store, SUBMIT_EVENTS_JOB, { events: [{ ...event, eventTime: new Date(Date.now() + 1000).toISOString(), lat: 3 }] }, { timeoutMs: 10_000, pollMs: 50 });
    expect(JSON.parse(again.output)).toMatchObject({ accepted: 1 });
    await app.ingestor.checkpoint();
    expect(JSON.stringify((await app.store.loadStates(['EX-2'])).get('EX-2'))).toContain('"lat":3');
  });
});
