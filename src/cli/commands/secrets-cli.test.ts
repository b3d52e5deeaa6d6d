/**
 * Secrets as an operator meets them (the built CLI): commands that only read the store or the
 * config work where the secrets live in the service's environment alone; the ones that connect
 * refuse to start without theirs, naming the key and the variable; no secret is ever printed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, runCli, writeConfig } from '../../../test/helpers/cli.js';
import { openStore } from '../../app.js';
import { compileConfig } from '../../config/load.js';

const unset = (key: string, name: string) => `${key}: environment variable ${name} is not set (set ${name} or ${name}_FILE)`;
const SECRETS = { AB_SC_INTAKE: 'intake-Secret-8817', AB_SC_MQTT: 'mqtt-Secret-8817', AB_SC_ERP: 'erp-Secret-8817' };

function serviceConfig(port = 0) {
  return writeConfig((dir) => ({
    store: { path: join(dir, 'ab.db') },
    sources: {
      http: { token: '${AB_SC_INTAKE}' },
      mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:9', password: '${AB_SC_MQTT}', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 }, sensors: { engineTempC: { path: 't' } } } }] }],
    },
    rules: { maintenance: { thresholds: [{ name: 'hot', sensor: 'engineTempC', above: 95 }] } },
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: '${AB_SC_ERP}', timeoutMs: '2s' }],
    server: { port },
  }));
}

/** A store the service has written, as an operator finds it. */
async function withStore(dir: string): Promise<void> {
  const store = openStore(compileConfig({ store: { path: join(dir, 'ab.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] }, {}));
  await store.close();
}

describe('secrets resolved where they are used', () => {
  it('commands that only read the store or the config work with no secret set', async () => {
    const cfg = serviceConfig();
    await withStore(cfg.dir);
    for (const args of [['status'], ['audit'], ['dlq', 'list'], ['quarantine', 'list'], ['maintenance', 'status'], ['rules', 'list'], ['zones', 'list']]) {
      const r = await runCli([...args, '-c', cfg.path]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    }
  });

  it('config check without --connect passes and warns about each secret that is not set, naming the key', async () => {
    const cfg = serviceConfig();
    const r = await runCli(['config', 'check', '-c', cfg.path], { AB_SC_INTAKE: SECRETS.AB_SC_INTAKE });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain(`warning: ${unset('sources.mqtt.0.password', 'AB_SC_MQTT')}`);
    expect(r.stdout).toContain(`warning: ${unset('destinations.0.token', 'AB_SC_ERP')}`);
    expect(r.stdout).not.toContain('sources.http.token');
    expect(r.stdout).not.toContain(SECRETS.AB_SC_INTAKE);
  });

  it('config check --connect refuses to try anything without the secrets it connects with (exit 2), naming each key', async () => {
    const cfg = serviceConfig();
    const r = await runCli(['config', 'check', '--connect', '-c', cfg.path], { AB_SC_MQTT: SECRETS.AB_SC_MQTT });
    expect(r.code).toBe(2);
    expect(r.stdout).not.toContain('connections:');
    expect(r.stderr).toContain(unset('destinations.0.token', 'AB_SC_ERP'));
    expect(r.stderr).not.toContain('sources.mqtt.0.password');
    expect(`${r.stdout}${r.stderr}`).not.toContain(SECRETS.AB_SC_MQTT);
  });

  it('run refuses to start without a secret (exit 2), naming each missing key, before it opens the store, and prints no secret', async () => {
    const cfg = serviceConfig(await freePort());
    const r = await runCli(['run', '-c', cfg.path], { AB_SC_ERP: SECRETS.AB_SC_ERP, ASSETBRIDGE_LOG_LEVEL: 'info' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(unset('sources.http.token', 'AB_SC_INTAKE'));
    expect(r.stderr).toContain(unset('sources.mqtt.0.password', 'AB_SC_MQTT'));
    expect(`${r.stdout}${r.stderr}`).not.toContain(SECRETS.AB_SC_ERP);
    expect(existsSync(join(cfg.dir, 'ab.db'))).toBe(false);
  });
});
