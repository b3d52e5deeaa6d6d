/**
 * The composition root's wiring that no other test sees: createApp and the destinations' secrets
 * (a pipeline that only enqueues, `deliver: false`, is built without them and cannot start the
 * service; by default they are required, naming the key), and what the service's parts log under.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { tempStorePath } from '../test/helpers/temp-store.js';
import { waitFor } from '../test/helpers/wait.js';
import { createLogger } from './adapters/log/logger.js';
import { buildSources, createApp } from './app.js';
import { compileConfig } from './config/load.js';

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

describe('buildSources', () => {
  it('logs each MQTT source line with its source once (a JSON line with a repeated key breaks log shippers)', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const config = compileConfig({
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'https://erp.example.com' }],
      // Nothing listens on port 1: the source logs that it cannot connect, and retries.
      sources: { mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:1', reconnectDelayMs: '1h', topics: [{ filter: 'fleet/+/telemetry', decoder: { assetId: { topicSegment: 1 } } }] }] },
    });
    const [source] = buildSources(config, logger);
    if (!source) throw new Error('no source built');
    const started = source.start({ submit: () => Promise.resolve({ accepted: 0, quarantined: [] }) }).catch(() => undefined);
    const line = await waitFor(() => lines.find((l) => l.includes('cannot connect')), 'the source to log that it cannot connect', 10_000);
    await source.stop();
    await started;
    expect(JSON.parse(line)).toMatchObject({ source: 'mqtt:yard' });
    expect(line.match(/"source":/g)).toHaveLength(1);
  });
});

describe('createApp and an intake with no server', () => {
  it('warns that sources.http takes no events while server.port is 0', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const config = compileConfig({ store: { path: tempStorePath() }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], sources: { http: { token: 'intake-token-1' } }, server: { port: 0 } });
    const app = await createApp(config, { logger });
    try {
      expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain('sources.http is configured but server.port is 0: no HTTP server runs, so the intake takes no events (set server.port)');
    } finally {
      await app.close();
    }
  });
});
