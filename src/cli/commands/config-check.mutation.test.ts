/**
 * `assetbridge config check` as a user runs it (the built CLI), from a mutation audit: it prints
 * the warnings of rules nothing feeds, refuses a telematics feed without an address, exits 1 when
 * a connection fails, and never prints a secret.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, runCli, writeConfig } from '../../../test/helpers/cli.js';
import { DEFAULT_SIM_CREDENTIALS, startTrackunitSimulator } from '../../../simulators/trackunit/simulator.js';
import { startErpSimulator } from '../../../simulators/erp-rest/erp-simulator.js';

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
    expect(r.stdout).toMatch(/warning: rules\.maintenance\.thresholds\.0\.sensor \(line \d+\): /); // the key's line, as a problem says it
    expect(r.stdout).toContain(': no MQTT decoder maps a sensor "engineTempC" (their sensors: engineTemp), so rule hot can never fire');
  });

  it('--json prints what is configured and the warnings as JSON only; with --connect each connection, exit 1 when one fails; an invalid config is an error on stderr (exit 2)', async () => {
    const cfg = writeConfig({
      destinations: [erp],
      sources: { mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:1883', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 }, sensors: { engineTemp: { path: 't' } } } }] }] },
      rules: { maintenance: { thresholds: [{ name: 'hot', sensor: 'engineTempC', above: 95 }] } },
    });
    const r = await runCli(['config', 'check', '--json', '-c', cfg.path]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const out = JSON.parse(r.stdout) as { warnings: { key: string; line?: number; message: string }[] };
    expect(out).toMatchObject({ configPath: cfg.path, valid: true, destinations: ['erp'], mqttSources: ['yard'], httpIntake: { state: 'off' }, telematics: [] });
    expect(out.warnings).toContainEqual({ key: 'rules.maintenance.thresholds.0.sensor', line: expect.any(Number) as number, message: expect.stringContaining('no MQTT decoder maps a sensor "engineTempC"') as string });

    const down = writeConfig({ destinations: [{ ...erp, timeoutMs: '2s' }] });
    const connect = await runCli(['config', 'check', '--connect', '--json', '-c', down.path]);
    expect(connect.code).toBe(1);
    expect((JSON.parse(connect.stdout) as { connections: unknown[] }).connections).toEqual([
      { kind: 'destination', name: 'erp', status: 'failed', detail: expect.stringContaining('(check destinations.0.baseUrl') as string },
    ]);

    const bad = writeConfig({ destinations: [{ ...erp, type: 'nope' }] });
    const invalid = await runCli(['config', 'check', '--json', '-c', bad.path]);
    expect([invalid.code, invalid.stdout]).toEqual([2, '']);
    expect(invalid.stderr).toMatch(/^error: .*destinations\.0\.type/s);
  });

  it('warns of an MQTT sharedGroup, naming its key, as the service warns at its start (the store serves one process)', async () => {
    // Mutation: the warning said only by the service's start, after the config passed its check.
    const source = { name: 'yard', url: 'mqtt://127.0.0.1:1883', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 } } }] };
    const cfg = writeConfig({ destinations: [erp], sources: { mqtt: [source, { ...source, name: 'gate', clientId: 'ab-gate', sharedGroup: 'ab' }] } });
    const r = await runCli(['config', 'check', '-c', cfg.path]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/warning: sources\.mqtt\.1\.sharedGroup \(line \d+\) is set/);
    expect(r.stdout).toContain(' is set ("ab"), but the store serves one process (the scaled mode\'s shared PostgreSQL store is not built yet): ');
    expect(r.stdout).toContain('remove it and run one service per store\n');
    expect(r.stdout).not.toContain('sources.mqtt.0.sharedGroup');
  });

  // A capture.dir naming a file passed the check; the service then refused to start with "cannot create …: EEXIST".
  it('refuses a capture.dir that is an existing file, naming the key, as the service refuses to start with it', async () => {
    const cfg = writeConfig({ destinations: [erp], store: { path: 'ab.db' }, capture: { dir: 'events.jsonl' } });
    writeFileSync(join(cfg.dir, 'events.jsonl'), '');
    const said = `: ${join(cfg.dir, 'events.jsonl')} is a file, not a directory (capture writes one file a day into it): set it to a directory (created when missing), e.g. ./capture`;
    const r = await runCli(['config', 'check', '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/- capture\.dir \(line \d+\): /); // the key's line, as a problem says it
    expect(r.stderr).toContain(said);
    const run = await runCli(['run', '-c', cfg.path]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`capture.dir${said}`);
    // A directory there passes; a missing one is created at start.
    rmSync(join(cfg.dir, 'events.jsonl'));
    expect((await runCli(['config', 'check', '-c', cfg.path])).code).toBe(0);
  });

  // A capture.dir this user cannot write passed the check and the start; capture then failed with the first event.
  it.runIf(existsSync('/sys/kernel'))('refuses a capture.dir it cannot write, naming the key and what to do, as the service refuses to start with it', async () => {
    // sysfs: no one, root included, can make a file there.
    const cfg = writeConfig({ destinations: [erp], store: { path: 'ab.db' }, capture: { dir: '/sys/kernel' } });
    const r = await runCli(['config', 'check', '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/- capture\.dir \(line \d+\): \/sys\/kernel is not writable \(E[A-Z]+\): give this user write access to it, or set capture\.dir to a directory this user can write/);
    const run = await runCli(['run', '-c', cfg.path]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('capture.dir: /sys/kernel is not writable');
  });

  it('says where the HTTP intake listens, or that no server runs for it', async () => {
    const on = writeConfig({ destinations: [erp], sources: { http: { token: 'intake-token-1' } }, server: { host: '0.0.0.0', port: 8090 } });
    expect((await runCli(['config', 'check', '-c', on.path])).stdout).toContain(`${on.path} is valid: 1 destination(s), 0 MQTT source(s), HTTP intake at http://0.0.0.0:8090/v1/events\n`);
    const off = writeConfig({ destinations: [erp], sources: { http: { token: 'intake-token-1' } }, server: { port: 0 } });
    expect((await runCli(['config', 'check', '-c', off.path])).stdout).toContain('HTTP intake configured, but server.port is 0: no server runs to take events (set server.port)\n');
    // "HTTP intake at URL" (it said "HTTP intake on at URL"). An IPv6 host in brackets, as a URL writes it (was http://:::8090/v1/events, which no client reads).
    const v6 = writeConfig({ destinations: [erp], sources: { http: { token: 'intake-token-1' } }, server: { host: '::', port: 8090 } });
    expect((await runCli(['config', 'check', '-c', v6.path])).stdout).toContain('HTTP intake at http://[::]:8090/v1/events\n');
  });

  it('names the telematics feeds on the "is valid" line, with when the service pulls each, or that it does not', async () => {
    // The line listed destinations and MQTT sources only: a feed (and whether its pulls are scheduled) went unmentioned.
    const feed = { vendor: 'trackunit', auth: { type: 'bearer', token: 'feed-token' } };
    const cfg = writeConfig({ destinations: [erp], telematics: [{ ...feed, name: 'tu' }, { ...feed, name: 'tu-manual', schedule: { enabled: false } }] });
    const r = await runCli(['config', 'check', '-c', cfg.path]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain(
      `${cfg.path} is valid: 1 destination(s), 0 MQTT source(s), HTTP intake off, 2 telematics feed(s) (tu: pulled on "0 3 * * *" UTC; tu-manual: no scheduled pulls (schedule.enabled: false))\n`,
    );
  });

  it('warns (not refuses) when nothing is configured to take events in, naming what to add and what is there but takes nothing', async () => {
    // The config was said to be valid, and the service would have started and taken in nothing.
    const none = writeConfig({ destinations: [erp] });
    const r = await runCli(['config', 'check', '-c', none.path]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain(
      'warning: sources: no input is configured: the service would start and take in nothing, so nothing would reach the ERP but what a command such as `assetbridge aemp pull` hands it; add an MQTT source (sources.mqtt), the HTTP intake (sources.http.token, with server.port above 0) or a telematics feed pulled on a schedule (telematics)\n',
    );
    const idle = writeConfig({
      destinations: [erp],
      sources: { http: { token: 'intake-token-1' } },
      server: { port: 0 },
      telematics: [{ name: 'tu', vendor: 'trackunit', auth: { type: 'bearer', token: 'feed-token' }, schedule: { enabled: false } }],
    });
    const i = await runCli(['config', 'check', '-c', idle.path]);
    expect(i.code).toBe(0);
    expect(i.stdout).toMatch(
      /warning: sources \(line \d+\): no input is configured: .* \(sources\.http is set, but server\.port is 0, so no server runs for it; telematics feed\(s\) tu have no scheduled pulls \(schedule\.enabled: false\), so they are pulled only by 'assetbridge aemp pull'\)\n/,
    );
    // Any one input is enough.
    for (const config of [
      { destinations: [erp], sources: { http: { token: 'intake-token-1' } } },
      { destinations: [erp], telematics: [{ name: 'tu', vendor: 'trackunit', auth: { type: 'bearer', token: 'feed-token' } }] },
      { destinations: [erp], sources: { mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:1883', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 } } }] }] } },
    ]) {
      const ok = await runCli(['config', 'check', '-c', writeConfig(config).path]);
      expect([ok.code, ok.stdout]).toEqual([0, expect.not.stringContaining('no input is configured') as unknown]);
    }
  });

  it('warns of a webhook that can take no push: neither its secret nor the intake token, as the service\'s start does', async () => {
    const cfg = writeConfig({ destinations: [{ ...erp, webhook: { signatureHeader: 'X-Sig' } }] });
    const r = await runCli(['config', 'check', '-c', cfg.path]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(
      /warning: destinations\.0\.webhook \(line \d+\): has no secret and sources\.http is not set: every push to POST \/v1\/webhooks\/erp\/work-orders would be refused \(403\); set destinations\.0\.webhook\.secret/,
    );
  });

  it('refuses a telematics feed whose vendor has no default address and that gives none, naming telematics.N.baseUrl', async () => {
    // Mutation: the feeds' addresses left for the service's start to find.
    const cfg = writeConfig({ destinations: [erp], telematics: [{ name: 'oem', vendor: 'generic', auth: { type: 'bearer', token: 'feed-token' } }] });
    const r = await runCli(['config', 'check', '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('telematics.0.baseUrl');
  });

  it('refuses a value the schema does not take with the value given and what is allowed, not the schema library\'s words', async () => {
    const cfg = writeConfig({ store: { synchronous: 'ful' }, destinations: [{ ...erp, type: 'sap' }], server: { port: 70000 } });
    const r = await runCli(['config', 'check', '-c', cfg.path]);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toContain('store.synchronous (line 2): "ful" is not allowed here: use full or normal (did you mean full?)\n');
    expect(r.stderr).toContain('destinations.0.type (line 5): "sap" is not allowed here: use rest. This version has one ERP connector, the generic REST one (type: rest)');
    expect(r.stderr).toContain('server.port (line 8): 70000 is too large: use a whole number from 0 to 65535\n');
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
    // A missing secret: the key and the variable are named; a warning without --connect (the
    // check may run where the service's secrets are not), exit 2 with it.
    const empty = await runCli(['config', 'check', '-c', cfg.path], { AB_CHECK_ERP_TOKEN: '' });
    expect(empty.code).toBe(0); // set, though empty: a bearer token may be given so (an ERP without auth), but said
    expect(empty.stdout).toMatch(/warning: destinations\.0\.token \(line \d+\): is empty,/);
    expect(empty.stdout).toContain(': is empty, so every request to erp goes without credentials');
    expect(empty.stdout).not.toContain('is not set');
    const missing = await runCli(['config', 'check', '-c', cfg.path]);
    expect(missing.code).toBe(0);
    expect(missing.stdout).toContain('warning: destinations.0.token (line 5): environment variable AB_CHECK_ERP_TOKEN is not set (set AB_CHECK_ERP_TOKEN or AB_CHECK_ERP_TOKEN_FILE)');
    const connect = await runCli(['config', 'check', '--connect', '-c', cfg.path]);
    expect(connect.code).toBe(2);
    expect(connect.stderr).toContain('destinations.0.token (line 5): environment variable AB_CHECK_ERP_TOKEN is not set (set AB_CHECK_ERP_TOKEN or AB_CHECK_ERP_TOKEN_FILE)');
  });

  it('--connect mints each telematics feed\'s token (exit 1 on a refused one, naming telematics.N.auth, no secret), and needs the feed\'s secrets', async () => {
    // Mutations: the feeds left untried; a refused token left exit 0; their secrets not required.
    const sim = await startTrackunitSimulator({ fleetSize: 5 });
    const up = await startErpSimulator({ token: 'erp-token-1' });
    try {
      const legacy = DEFAULT_SIM_CREDENTIALS.legacy;
      const secret = 'wrong-Password-4711';
      const cfg = writeConfig({
        destinations: [{ ...erp, baseUrl: up.url, token: 'erp-token-1' }],
        telematics: [{ name: 'tu', vendor: 'trackunit', baseUrl: sim.isoBaseUrl, auth: { type: 'trackunit-password', ...legacy, password: '${AB_CHECK_TU_PASSWORD}', tokenUrl: sim.tokenUrl } }],
      });
      const wrong = await runCli(['config', 'check', '--connect', '-c', cfg.path], { AB_CHECK_TU_PASSWORD: secret });
      expect(wrong.code).toBe(1);
      expect(wrong.stdout).toMatch(/\n {2}FAILED {2}telematics tu: password token request refused \(HTTP 400: .*\); check the client id, secret, username, password and scopes in telematics\.0\.auth\n/);
      expect(`${wrong.stdout}${wrong.stderr}`).not.toContain(secret);
      const right = await runCli(['config', 'check', '--connect', '-c', cfg.path], { AB_CHECK_TU_PASSWORD: legacy.password });
      expect(right.code).toBe(0);
      expect(right.stdout).toContain(`\n  ok      telematics tu: token from ${sim.tokenUrl} in `);
      expect(`${right.stdout}${right.stderr}`).not.toContain(legacy.password);
      expect([sim.stats.tokenRequests, sim.stats.isoRequests]).toEqual([2, 0]);
      const missing = await runCli(['config', 'check', '--connect', '-c', cfg.path]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('telematics.0.auth.password (line 15): environment variable AB_CHECK_TU_PASSWORD is not set');
      const warned = await runCli(['config', 'check', '-c', cfg.path]);
      expect(warned.code).toBe(0);
      expect(warned.stdout).toContain("warning: telematics.0.auth.password (line 15): environment variable AB_CHECK_TU_PASSWORD is not set (set AB_CHECK_TU_PASSWORD or AB_CHECK_TU_PASSWORD_FILE); set it where the service runs: 'assetbridge run', 'config check --connect' and 'aemp pull', 'backfill' and 'equipment' refuse to start without it");
    } finally {
      await sim.close();
      await up.close();
    }
  });
});
