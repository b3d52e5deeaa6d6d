/**
 * `assetbridge run` as an operator sees it in its log: the warnings it gives about the config at
 * start name the key and its line, as `config check` does.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startService, writeConfig, type ServiceProcess } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const running: ServiceProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

/** The JSON log lines the service wrote. */
function logLines(svc: ServiceProcess): { level: number; key?: string; line?: number; msg: string }[] {
  return svc
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; key?: string; line?: number; msg: string });
}

describe('assetbridge run, warnings about the config at start', () => {
  it('name the key and its config-file line, the line config check gives for the same warning', async () => {
    // Was {"key":"rules.maintenance.thresholds.0.sensor"} with no line, where config check says "(line 17)".
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: '${AB_RUN_WARN_TOKEN}' }],
      sources: {
        mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:9', sharedGroup: 'ab', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 }, sensors: { engineTemp: { path: 't' } } } }] }],
      },
      rules: { maintenance: { thresholds: [{ name: 'hot', sensor: 'engineTempC', above: 95 }] } },
      server: { port: 0 },
    }));
    const env = { AB_RUN_WARN_TOKEN: '' };
    const check = await runCli(['config', 'check', '-c', cfg.path], env);
    expect(check.code).toBe(0);
    const lineOf = (key: string): number => {
      const m = new RegExp(`^warning: ${key.replaceAll('.', '\\.')} \\(line (\\d+)\\)`, 'm').exec(check.stdout);
      if (!m) throw new Error(`config check gave no warning for ${key}:\n${check.stdout}`);
      return Number(m[1]);
    };
    const svc = startService(cfg.path, env);
    running.push(svc);
    const keys = ['rules.maintenance.thresholds.0.sensor', 'destinations.0.token', 'sources.mqtt.0.sharedGroup'];
    const warnings = await waitFor(() => {
      const found = logLines(svc).filter((l) => l.level === 40 && keys.includes(l.key ?? ''));
      return found.length === keys.length ? found : undefined;
    }, 'the three warnings in the log');
    for (const key of keys) expect(warnings.find((w) => w.key === key)?.line, key).toBe(lineOf(key));
    expect(await svc.stop()).toBe(0);
  });
});
