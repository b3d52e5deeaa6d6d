/**
 * `assetbridge config check` as a user runs it (the built CLI), from a mutation audit: it prints
 * the warnings of rules nothing feeds, refuses a telematics feed without an address, exits 1 when
 * a connection fails, and never prints a secret.
 */
import { describe, expect, it } from 'vitest';
import { freePort, runCli, writeConfig } from '../../../test/helpers/cli.js';

const erp = { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' };

describe('config check', () => {
  it('prints a warning for a rule no configured input can feed, and still passes the config', async () => {
    // Mutation: the warnings not printed.
    const cfg = writeConfig({
      destinations: [erp],
      sources: { mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:1883', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 }, sensors: { engineTemp: { path: 't' } } } }] }] },
      rules: { maintenance: { thresholds: [{ name: 'hot', sensor: 'engineTempC', above: 95 }] } },
    });
    const r = await runCli(['config', 'check', '-c', cfg.path]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain(`${cfg.path} is valid: 1 destination(s), 1 MQTT source(s), HTTP intake off\n`);
    expect(r.stdout).toContain('warning: rules.maintenance.thresholds.0.sensor: no MQTT decoder maps a sensor "engineTempC" (their sensors: engineTemp), so rule hot can never fire');
  });

  it('refuses a telematics feed whose vendor has no default address and that gives none, naming telematics.N.baseUrl', async () => {
    // Mutation: the feeds' addresses left for the service's start to find.
    const cfg = writeConfig({ destinations: [erp], telematics: [{ name: 'oem', vendor: 'generic', auth: { type: 'bearer', token: 'feed-token' } }] });
    const r = await runCli(['config', 'check', '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('telematics.0.baseUrl');
  });

  it('--connect exits 1 when a destination cannot be reached, naming the key to check, and prints no secret', async () => {
    // Mutation: the exit code left 0 on a failed connection.
    const port = await freePort(); // nothing listens there
    const secret = 'tok-Secret-4711';
    const cfg = writeConfig({ destinations: [{ ...erp, baseUrl: `http://127.0.0.1:${port}`, token: '${AB_CHECK_ERP_TOKEN}', timeoutMs: '2s' }] });
    const r = await runCli(['config', 'check', '--connect', '-c', cfg.path], { AB_CHECK_ERP_TOKEN: secret });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAILED {2}destination erp: .*\(check destinations\.0\.baseUrl\)/);
    expect(`${r.stdout}${r.stderr}`).not.toContain(secret);
    // A missing secret: the key and the variable are named, exit 2.
    const empty = await runCli(['config', 'check', '-c', cfg.path], { AB_CHECK_ERP_TOKEN: '' });
    expect(empty.code).toBe(0); // set, though empty: a bearer token may be given so
    const missing = await runCli(['config', 'check', '-c', cfg.path]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('destinations.0.token: environment variable AB_CHECK_ERP_TOKEN is not set (set AB_CHECK_ERP_TOKEN or AB_CHECK_ERP_TOKEN_FILE)');
  });
});
