/**
 * createApp and the destinations' secrets: a pipeline that only enqueues (`deliver: false`) is
 * built without them and cannot start the service; by default they are required, naming the key.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from './adapters/log/logger.js';
import { createApp } from './app.js';
import { compileConfig } from './config/load.js';
import { tempStorePath } from '../test/helpers/temp-store.js';

const logger = createLogger('silent');

function configWithoutErpToken() {
  return compileConfig(
    { store: { path: tempStorePath() }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: '${AB_APP_ERP_UNSET}' }] },
    {},
    undefined,
    { deferSecrets: true },
  );
}

describe('createApp without the destinations\' secrets', () => {
  it('refuses by default, naming the key', async () => {
    await expect(createApp(configWithoutErpToken(), { sources: false, http: false, logger })).rejects.toThrow(/destinations\.0\.token: environment variable AB_APP_ERP_UNSET is not set/);
  });

  it('with deliver: false builds the pipeline (no connector) and refuses to start the service', async () => {
    const app = await createApp(configWithoutErpToken(), { sources: false, http: false, deliver: false, logger });
    try {
      expect(app.connectors.size).toBe(0);
      await expect(app.start()).rejects.toThrow(/deliver: false/);
    } finally {
      await app.close();
    }
  });
});
