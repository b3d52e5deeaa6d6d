/**
 * The running service picks up identity registry changes (`assets import`, `assets confirm`)
 * through the store's identity generation, also when one read of the registry fails.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../adapters/log/logger.js';
import { bumpIdentityGeneration, createApp, type App } from '../app.js';
import { compileConfig } from '../config/load.js';
import { tempStorePath } from '../../test/helpers/temp-store.js';
import { waitFor } from '../../test/helpers/wait.js';
import { requestJob, SUBMIT_EVENTS_JOB } from './engine.js';

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
});
