/**
 * Secrets as an operator meets them (the built CLI): commands that only read the store or the
 * config, or only enqueue deliveries for the service to send, work where the secrets live in the
 * service's environment alone; the ones that connect
 * refuse to start without theirs, naming the key and the variable; no secret is ever printed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { machineHeader } from '../../../simulators/trackunit/fleet.js';
import { DEFAULT_SIM_CREDENTIALS, createTrackunitSimulator, startTrackunitSimulator, type RunningTrackunitSimulator } from '../../../simulators/trackunit/simulator.js';
import { RecordingSink, assetsForMachines, simulatorConfig, simulatorFetch } from '../../../simulators/trackunit/test-support.js';
import { freePort, runCli, writeConfig } from '../../../test/helpers/cli.js';
import { openStore } from '../../app.js';
import { compileConfig } from '../../config/load.js';
import { aempPullCommand } from './aemp.js';

/** The lines serviceConfig writes its secrets on: each problem names its key's. */
const LINE: Readonly<Record<string, number>> = { 'sources.http.token': 5, 'sources.mqtt.0.password': 10, 'destinations.0.token': 29 };
const unset = (key: string, name: string) => `${key} (line ${LINE[key] ?? '?'}): environment variable ${name} is not set (set ${name} or ${name}_FILE)`;
const SECRETS = { AB_SC_INTAKE: 'intake-Secret-8817', AB_SC_MQTT: 'mqtt-Secret-8817', AB_SC_ERP: 'erp-Secret-8817' };

/** `extra`: keys written after all the others, so the lines above hold. */
function serviceConfig(port = 0, extra: object = {}) {
  return writeConfig((dir) => ({
    store: { path: join(dir, 'ab.db') },
    sources: {
      http: { token: '${AB_SC_INTAKE}' },
      mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:9', username: 'ab', password: '${AB_SC_MQTT}', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 }, sensors: { engineTempC: { path: 't' } } } }] }],
    },
    rules: { maintenance: { thresholds: [{ name: 'hot', sensor: 'engineTempC', above: 95 }] } },
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: '${AB_SC_ERP}', timeoutMs: '2s' }],
    server: { port },
    ...extra,
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

  it('config check names only the commands that need each secret: not --connect for the intake token, which it does not use', async () => {
    const cfg = serviceConfig();
    const r = await runCli(['config', 'check', '-c', cfg.path]);
    expect(r.stdout).toContain(`warning: ${unset('sources.http.token', 'AB_SC_INTAKE')}; set it where the service runs: 'assetbridge run' (its HTTP intake) refuses to start without it\n`);
    expect(r.stdout).toContain(`warning: ${unset('destinations.0.token', 'AB_SC_ERP')}; set it where the service runs: 'assetbridge run' and 'config check --connect' refuse to start without it\n`);
    const connect = await runCli(['config', 'check', '--connect', '-c', cfg.path], { AB_SC_MQTT: SECRETS.AB_SC_MQTT, AB_SC_ERP: SECRETS.AB_SC_ERP });
    expect(connect.stdout).toContain('connections:');
    // The pre-flight check with the service's environment: a secret it does not connect with, but
    // without which 'assetbridge run' refuses to start, is still said (it was dropped with --connect).
    expect(connect.stdout).toContain(`warning: ${unset('sources.http.token', 'AB_SC_INTAKE')}; set it where the service runs: 'assetbridge run' (its HTTP intake) refuses to start without it\n`);
    expect(connect.stdout).not.toContain('destinations.0.token');
    const short = await runCli(['config', 'check', '--connect', '-c', cfg.path], { AB_SC_MQTT: SECRETS.AB_SC_MQTT, AB_SC_ERP: SECRETS.AB_SC_ERP, AB_SC_INTAKE: 'x' });
    expect(short.stdout).toContain("warning: sources.http.token (line 5): use a token of at least 8 characters (the value of AB_SC_INTAKE); 'assetbridge run' (its HTTP intake) refuses to start until that is fixed\n");
  });

  it('config check does not tell to set a secret that is set, twice or to a file it cannot read: it says the service refuses until that is fixed', async () => {
    const cfg = serviceConfig();
    const r = await runCli(['config', 'check', '-c', cfg.path], {
      AB_SC_INTAKE: SECRETS.AB_SC_INTAKE,
      AB_SC_ERP: SECRETS.AB_SC_ERP,
      AB_SC_ERP_FILE: join(cfg.dir, 'erp-token'),
      AB_SC_MQTT_FILE: join(cfg.dir, 'no-such-file'),
    });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const lines = r.stdout.split('\n');
    const erp = lines.find((l) => l.startsWith('warning: destinations.0.token (line 29): '));
    expect(erp).toBe("warning: destinations.0.token (line 29): both AB_SC_ERP and AB_SC_ERP_FILE are set: set only one (AB_SC_ERP to the value itself, or AB_SC_ERP_FILE to the path of a file holding it); 'assetbridge run' and 'config check --connect' refuse to start until that is fixed");
    const mqtt = lines.find((l) => l.startsWith('warning: sources.mqtt.0.password (line 10): '));
    expect(mqtt).toMatch(/^warning: sources\.mqtt\.0\.password \(line 10\): cannot read \S*no-such-file, the file AB_SC_MQTT_FILE names \(it does not exist\): set AB_SC_MQTT_FILE to the path of the file holding the secret .*; 'assetbridge run' and 'config check --connect' refuse to start until that is fixed$/);
    expect(r.stdout).not.toContain('set it where the service runs');
    expect(r.stdout).not.toContain(SECRETS.AB_SC_ERP);
  });

  // Were left out of the problems of a config the schema refuses: news only on the run after those were fixed.
  // Then listed among them, where they read as a cause of the refusal: now after them, under a heading of their own.
  it('config check of a config the schema refuses says each secret it cannot resolve after its problems, apart (exit 2), as it says them of a valid one, --json the same; no secret printed', async () => {
    const cfg = serviceConfig(0, { ingest: { maxBatch: 0 } });
    const env = { AB_SC_INTAKE: SECRETS.AB_SC_INTAKE, AB_SC_MQTT_FILE: join(cfg.dir, 'no-such-file') };
    const r = await runCli(['config', 'check', '-c', cfg.path], env);
    expect([r.code, r.stdout]).toEqual([2, '']);
    const lines = r.stderr.trimEnd().split('\n');
    // What makes it invalid first, alone under "Invalid configuration".
    expect(lines[0]).toBe('error: Invalid configuration:');
    expect(lines[1]).toMatch(/^ {2}- ingest\.maxBatch \(line \d+\): 0 is too small: use a whole number of at least 1$/);
    // Then, apart, the secrets: needed before the service starts, not why the config is refused.
    expect(lines[2]).toBe('also needed before the service starts (not why the configuration is invalid): these secrets are not set or cannot be read where this runs:');
    expect(lines).toHaveLength(5);
    expect(lines.slice(3)).toContain(`  - ${unset('destinations.0.token', 'AB_SC_ERP')}; set it where the service runs: 'assetbridge run' and 'config check --connect' refuse to start without it`);
    expect(lines.slice(3).find((l) => l.startsWith('  - sources.mqtt.0.password (line 10): '))).toMatch(
      /: cannot read \S*no-such-file, the file AB_SC_MQTT_FILE names \(it does not exist\): .*; 'assetbridge run' and 'config check --connect' refuse to start until that is fixed$/,
    );
    // The one that is set is not named, and no value is printed.
    expect(r.stderr).not.toContain('sources.http.token');
    expect(r.stderr).not.toContain(SECRETS.AB_SC_INTAKE);
    // --json prints no JSON for a config it refuses: the same problems on stderr.
    expect(await runCli(['config', 'check', '--json', '-c', cfg.path], env)).toEqual(r);
  });

  it('config check --connect refuses to try anything without the secrets it connects with (exit 2), naming each key', async () => {
    const cfg = serviceConfig();
    const r = await runCli(['config', 'check', '--connect', '-c', cfg.path], { AB_SC_MQTT: SECRETS.AB_SC_MQTT });
    expect(r.code).toBe(2);
    expect(r.stdout).not.toContain('connections:');
    expect(r.stderr).toContain(unset('destinations.0.token', 'AB_SC_ERP'));
    // The file was just said to be valid: the secrets are missing here, not the config wrong.
    expect(r.stdout).toContain('is valid');
    expect(r.stderr).toContain('error: connections not tried: secrets they use are not set where this runs');
    expect(r.stderr).not.toContain('Invalid configuration');
    expect(r.stderr).not.toContain('sources.mqtt.0.password');
    expect(`${r.stdout}${r.stderr}`).not.toContain(SECRETS.AB_SC_MQTT);
    // Its help gives that exit code too.
    expect((await runCli(['config', 'check', '--help'])).stdout.replace(/\s+/g, ' ')).toContain('2 when the config is invalid or, with --connect, a secret it connects with is not set');
  });

  it('run refuses to start without a secret (exit 2), naming each missing key, before it opens the store, and prints no secret', async () => {
    const cfg = serviceConfig(await freePort());
    const r = await runCli(['run', '-c', cfg.path], { AB_SC_ERP: SECRETS.AB_SC_ERP, ASSETBRIDGE_LOG_LEVEL: 'info' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(unset('sources.http.token', 'AB_SC_INTAKE'));
    expect(r.stderr).toContain(unset('sources.mqtt.0.password', 'AB_SC_MQTT'));
    // The file is valid: what is missing is where the service runs.
    expect(r.stderr).toContain('error: not started: secrets the service connects with cannot be read where it runs (the config file itself is valid):\n  - ');
    expect(r.stderr).not.toContain('Invalid configuration');
    expect(`${r.stdout}${r.stderr}`).not.toContain(SECRETS.AB_SC_ERP);
    expect(existsSync(join(cfg.dir, 'ab.db'))).toBe(false);
  });
});

/** A config whose every secret is a variable the tests leave unset, with an asset and a service interval. */
function enqueueConfig() {
  return writeConfig((dir) => ({
    store: { path: join(dir, 'ab.db') },
    sources: {
      http: { token: '${AB_SC_INTAKE}' },
      mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:9', username: 'ab', password: '${AB_SC_MQTT}', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 }, sensors: { engineTempC: { path: 't' } } } }] }],
    },
    assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
    rules: { maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }], feedback: { pollEvery: 0 } } },
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: '${AB_SC_ERP}', timeoutMs: '2s' }],
    server: { port: 0 },
  }));
}

/** The store as the service left it: the config's asset registered, then `seed` run on it. */
async function seedStore(dir: string, seed: (store: ReturnType<typeof openStore>) => Promise<unknown> = () => Promise.resolve()): Promise<void> {
  const store = openStore(compileConfig({ store: { path: join(dir, 'ab.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] }, {}));
  try {
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    await seed(store);
  } finally {
    await store.close();
  }
}

/** Deliveries waiting in the outbox (for the service's dispatcher), per `status --json`. */
async function pending(path: string): Promise<number> {
  const status = JSON.parse((await runCli(['status', '--json', '-c', path])).stdout) as { outbox: { pending: number }[] };
  return status.outbox.reduce((n, o) => n + o.pending, 0);
}

describe('commands that run the pipeline with no service running only enqueue: they need no secret', () => {
  const ok = (r: { code: number | null; stderr: string }) => ({ code: r.code, stderr: r.stderr });

  it('quarantine replay replays, and what it produced waits in the outbox for the service', async () => {
    const cfg = enqueueConfig();
    const payload = JSON.stringify({ kind: 'meter', assetId: 'tag-1', eventTime: new Date(Date.now() - 60_000).toISOString(), operatingHours: 12 });
    await seedStore(cfg.dir, (store) =>
      store.commitIngest({ states: [], deliveries: [], accepted: 0, quarantine: [{ source: 'http', channel: '/v1/events', payload, receivedAt: Date.now(), code: 'unknown-asset', reason: 'no ERP mapping for tag tag-1' }] }),
    );
    const r = await runCli(['quarantine', 'replay', '--code', 'unknown-asset', '-c', cfg.path]);
    expect(ok(r)).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain('replayed 1: 1 accepted, 0 quarantined again');
    expect(await pending(cfg.path)).toBeGreaterThan(0);
  });

  it('maintenance complete records the completion', async () => {
    const cfg = enqueueConfig();
    await seedStore(cfg.dir);
    const r = await runCli(['maintenance', 'complete', 'EQ-1|svc-10h|10h@b0', '--hours', '11', '--force', '-c', cfg.path]);
    expect(ok(r)).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain('recorded EQ-1|svc-10h|10h@b0 as completed');
  });

  it('assets reset-meter records the new meter, its reading waiting in the outbox for the service', async () => {
    const cfg = enqueueConfig();
    await seedStore(cfg.dir);
    const at = new Date(Date.now() - 3_600_000).toISOString();
    const r = await runCli(['assets', 'reset-meter', 'EQ-1', '--hours', '0', '--at', at, '-c', cfg.path]);
    expect(ok(r)).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`recorded a new hour meter at 0 h for EQ-1 from ${at}`);
    expect(await pending(cfg.path)).toBeGreaterThan(0);
  });

  it('assets confirm registers the machine and feeds its last pulled data through the pipeline', async () => {
    const cfg = enqueueConfig();
    const [asset] = assetsForMachines([3]);
    await seedStore(cfg.dir, async (store) => {
      if (asset) await store.upsertAssets([{ ...asset, identifiers: [] }]); // in the ERP, not yet linked to the machine
      const sim = createTrackunitSimulator({ fleetSize: 5 });
      const code = await aempPullCommand({ configs: [simulatorConfig()], store, sink: new RecordingSink(), out: () => undefined, err: () => undefined, isTTY: false, fetch: simulatorFetch(sim) }, {});
      expect(code).toBe(0);
    });
    const r = await runCli(['assets', 'confirm', machineHeader(3).pin ?? '', 'EQ-3', '-c', cfg.path]);
    expect(ok(r)).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain('is now ERP asset EQ-3');
    expect(r.stdout).toContain('its last pulled data went through the pipeline: 1 accepted, 0 quarantined');
    expect(await pending(cfg.path)).toBeGreaterThan(0);
  });
});

describe('a change to the registry with no service running, after a crash', () => {
  it('assets confirm first replays the ingest log the crash left, and stores its state, before it changes the registry', async () => {
    const cfg = enqueueConfig();
    const [asset] = assetsForMachines([3]);
    const payload = JSON.stringify({ kind: 'meter', assetId: 'tag-1', eventTime: new Date(Date.now() - 60_000).toISOString(), operatingHours: 12 });
    await seedStore(cfg.dir, async (store) => {
      if (asset) await store.upsertAssets([{ ...asset, identifiers: [] }]);
      const sim = createTrackunitSimulator({ fleetSize: 5 });
      expect(await aempPullCommand({ configs: [simulatorConfig()], store, sink: new RecordingSink(), out: () => undefined, err: () => undefined, isTTY: false, fetch: simulatorFetch(sim) }, {})).toBe(0);
      // A message whose rule-state change was only in the ingest log when the service died.
      await store.commitIngest({ states: [], deliveries: [], quarantine: [], accepted: 1, log: { now: Date.now(), messages: [{ source: 'http', channel: '/v1/events', payload, receivedAt: Date.now() }] } });
    });
    const r = await runCli(['assets', 'confirm', machineHeader(3).pin ?? '', 'EQ-3', '-c', cfg.path]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('replaying the 1 message(s) of the ingest log a stopped service left');
    expect(r.stdout).toContain('is now ERP asset EQ-3');
    const status = JSON.parse((await runCli(['status', '--json', '-c', cfg.path])).stdout) as { heldMessages: number };
    expect(status.heldMessages).toBe(0);
    const store = openStore(compileConfig({ store: { path: join(cfg.dir, 'ab.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] }, {}));
    try {
      expect(JSON.stringify((await store.loadStates(['EQ-1'])).get('EQ-1'))).toContain('12');
    } finally {
      await store.close();
    }
  });
});

describe('aemp pull with no service running only enqueues too', () => {
  let tu: RunningTrackunitSimulator | undefined;
  afterAll(async () => {
    await tu?.close();
  });

  it('pulls the feed with its own credentials, not the destinations\' secrets, and its deliveries wait in the outbox', async () => {
    tu = await startTrackunitSimulator({ fleetSize: 5 });
    const origin = tu.origin;
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'pin', value: machineHeader(1).pin }] }] },
      telematics: [
        {
          name: 'trackunit',
          vendor: 'trackunit',
          baseUrl: `${origin}/public/api/aemp/v2/15143/-3`,
          auth: { type: 'trackunit-password', ...DEFAULT_SIM_CREDENTIALS.legacy, tokenUrl: `${origin}/token` },
        },
      ],
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: '${AB_SC_ERP}', timeoutMs: '2s' }],
      server: { port: 0 },
    }));
    const r = await runCli(['aemp', 'pull', '-c', cfg.path]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/error|AB_SC_ERP/); // only the pull's progress
    expect(r.stdout).toMatch(/trackunit: 1 page\(s\), 5 machine\(s\)/);
    expect(await pending(cfg.path)).toBeGreaterThan(0);
  });
});
