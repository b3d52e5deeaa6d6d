/**
 * `assetbridge run` as an operator sees it: the warnings it logs about the config at start name
 * the key and its line, as `config check` does; a SIGHUP stops it as SIGTERM does; an error
 * nothing caught is a redacted log line, not a bare stack.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { readRuntimeSnapshot } from '../../src/engine/engine.js';
import { LEASE_KEY, LEASE_NS } from '../../src/engine/store-lease.js';
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

/** The store lease left in the store at `dir/ab.db` (undefined when none is). */
async function storedLease(dir: string): Promise<string | undefined> {
  const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
  try {
    return await store.kvGet(LEASE_NS, LEASE_KEY);
  } finally {
    await store.close();
  }
}

describe('assetbridge run, warnings about the config at start', () => {
  it('name the key and its config-file line, the line config check gives for the same warning', async () => {
    // Was {"key":"rules.maintenance.thresholds.0.sensor"} with no line, where config check says "(line 17)".
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: '${AB_RUN_WARN_TOKEN}' }],
      sources: {
        // Credentials in the url and a username too (the url's are used): said under the url's key.
        mqtt: [{ name: 'yard', url: 'mqtt://yard:pw@127.0.0.1:9', username: 'svc', sharedGroup: 'ab', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 }, sensors: { engineTemp: { path: 't' } } } }] }],
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
    const keys = ['rules.maintenance.thresholds.0.sensor', 'destinations.0.token', 'sources.mqtt.0.sharedGroup', 'sources.mqtt.0.url'];
    const warnings = await waitFor(() => {
      // Not the source's own warnings that it cannot connect (under its url's key too).
      const found = logLines(svc).filter((l) => l.level === 40 && keys.includes(l.key ?? '') && !l.msg.startsWith('MQTT source'));
      return found.length === keys.length ? found : undefined;
    }, 'the four warnings in the log');
    expect(warnings.find((w) => w.key === 'sources.mqtt.0.url')?.msg).toMatch(/^sources\.mqtt\.0\.url carries credentials \(user "yard"\) and sources\.mqtt\.0\.username is set too/);
    for (const key of keys) expect(warnings.find((w) => w.key === key)?.line, key).toBe(lineOf(key));
    expect(await svc.stop()).toBe(0);
  });
});

describe('assetbridge run, on SIGHUP', () => {
  it('stops gracefully as on SIGTERM (exit 0, store lease let go, status "stopped"), saying there is no config reload', async () => {
    // Was: Node's default for SIGHUP, an instant death with nothing logged (exit by signal), the
    // lease left for the next start to wait out and the snapshot still saying "running".
    const cfg = writeConfig((dir) => ({ store: { path: join(dir, 'ab.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], server: { port: 0 } }));
    const svc = startService(cfg.path, { ASSETBRIDGE_LOG_LEVEL: 'info' });
    running.push(svc);
    await waitFor(() => logLines(svc).some((l) => l.msg === 'assetbridge running'), 'the service running');
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => svc.child.on('exit', (code, signal) => r([code, signal])));
    svc.child.kill('SIGHUP');
    expect(await exited).toEqual([0, null]);
    const msgs = logLines(svc).map((l) => l.msg);
    expect(msgs).toContain('stopping: finishing in-flight work (send the signal again to force) (SIGHUP: the config is read only at start, so there is no reload; start the service again to apply a changed config)');
    expect(msgs.at(-1)).toBe('assetbridge stopped');
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), commitInWorker: false });
    try {
      expect(await store.kvGet(LEASE_NS, LEASE_KEY)).toBeUndefined();
      expect((await readRuntimeSnapshot(store))?.state).toBe('stopped');
    } finally {
      await store.close();
    }
  });
});

describe('assetbridge run, on an error nothing caught', () => {
  it('logs it as a JSON line at fatal, redacted, and exits 1', async () => {
    // Was Node's own report: a bare stack on stderr, quoting the URL's password as the error had it.
    const cfg = writeConfig((dir) => ({ store: { path: join(dir, 'ab.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], server: { port: 0 } }));
    // A bug, stood in for by a preloaded module: once told (SIGUSR2), it throws from a callback.
    const bug = join(cfg.dir, 'bug.mjs');
    writeFileSync(bug, "process.on('SIGUSR2', () => setImmediate(() => { throw new Error('request to https://svc:pw-Secret-77@erp.example.com/api failed'); }));\n");
    const svc = startService(cfg.path, { ASSETBRIDGE_LOG_LEVEL: 'info', NODE_OPTIONS: `--import ${bug}` });
    running.push(svc);
    await waitFor(() => logLines(svc).some((l) => l.msg === 'assetbridge running'), 'the service running');
    const exited = new Promise<number | null>((r) => svc.child.on('exit', (code) => r(code)));
    svc.child.kill('SIGUSR2');
    expect(await exited).toBe(1);
    expect(svc.output()).not.toContain('pw-Secret-77');
    const fatal = logLines(svc).find((l) => l.level === 60) as { msg: string; err?: { message?: string } } | undefined;
    expect(fatal?.msg).toMatch(/^the service failed on an error nothing caught/);
    expect(fatal?.err?.message).toBe('request to https://svc:[REDACTED]@erp.example.com/api failed');
  });
});

describe('assetbridge run, failing between opening the store and starting', () => {
  it('lets go of the store lease (the start-up reads of the registry and rule state fail on a damaged row)', async () => {
    // Was: the error reported, but the lease left in the store, so the next start waited out a gone holder.
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      rules: { depreciation: { timeZone: 'UTC' } },
      server: { port: 0 },
    }));
    const seed = new SqliteStore({ path: join(cfg.dir, 'ab.db'), commitInWorker: false });
    await seed.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    await seed.close();
    // The depreciation state of EQ-1, damaged: the start's calendar check cannot read it.
    const db = new Database(join(cfg.dir, 'ab.db'));
    db.prepare('INSERT INTO asset_rule_state (erp_asset_id, rule, doc, updated_at) VALUES (?, ?, ?, ?)').run('EQ-1', 'depreciation', '{damaged', 0);
    db.close();
    const r = await runCli(['run', '-c', cfg.path], { ASSETBRIDGE_LOG_LEVEL: 'warn' });
    expect(r.code).toBe(1);
    expect(await storedLease(cfg.dir)).toBeUndefined();
  });
});

describe('assetbridge run, on SIGTERM before it runs', () => {
  it('while waiting for the store lease another host holds: stops at once (exit 0), leaving that lease as it was', async () => {
    // Was: no handler yet, so the signal killed the process outright (exit by signal, nothing logged).
    const cfg = writeConfig((dir) => ({ store: { path: join(dir, 'ab.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], server: { port: 0 } }));
    const other = JSON.stringify({ pid: 4242, host: 'another-host', instance: 'other', command: 'assetbridge run', since: Date.now(), heartbeat: Date.now() });
    const seed = new SqliteStore({ path: join(cfg.dir, 'ab.db'), commitInWorker: false });
    await seed.kvSet(LEASE_NS, LEASE_KEY, other);
    await seed.close();
    const svc = startService(cfg.path, { ASSETBRIDGE_LOG_LEVEL: 'info' });
    running.push(svc);
    await waitFor(() => logLines(svc).some((l) => l.msg.startsWith('the store lease is held by assetbridge run on another host')), 'the service waiting for the lease');
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => svc.child.on('exit', (code, signal) => r([code, signal])));
    svc.child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
    expect(logLines(svc).map((l) => l.msg).at(-1)).toBe('assetbridge stopped');
    expect(await storedLease(cfg.dir)).toBe(other);
  });
  it('once it holds the store lease (the app still being made): stops (exit 0) and lets the lease go', async () => {
    // Was: killed outright (exit by signal), the lease left in the store for the next start to wait out.
    const cfg = writeConfig((dir) => ({ store: { path: join(dir, 'ab.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], server: { port: 0 } }));
    // Stands in for a signal that comes while the app is made: sent by the process itself, once, when
    // the app reads the asset registry (after it took the lease).
    const hook = join(cfg.dir, 'signal-at-start.mjs');
    writeFileSync(
      hook,
      `import { createRequire } from 'node:module';
const Database = createRequire(${JSON.stringify(join(import.meta.dirname, '../../package.json'))})('better-sqlite3');
const prepare = Database.prototype.prepare;
let sent = false;
Database.prototype.prepare = function (sql) {
  if (!sent && sql.startsWith('SELECT * FROM assets')) { sent = true; process.kill(process.pid, 'SIGTERM'); }
  return prepare.call(this, sql);
};
`,
    );
    const svc = startService(cfg.path, { ASSETBRIDGE_LOG_LEVEL: 'info', NODE_OPTIONS: `--import ${hook}` });
    running.push(svc);
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => svc.child.on('exit', (code, signal) => r([code, signal])));
    expect(await exited).toEqual([0, null]);
    expect(logLines(svc).map((l) => l.msg).at(-1)).toBe('assetbridge stopped');
    expect(await storedLease(cfg.dir)).toBeUndefined();
  });
  it('while it waits for an MQTT broker: stops (exit 0) with no error on stderr', async () => {
    // Was: exit 0 and "assetbridge stopped", but also a bare `error: MQTT source "yard" was stopped
    // before it connected` on stderr, as if the start had failed: the start's own wait, cut short by
    // the stop the signal asked for, was reported as the command's error.
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      sources: { mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:9', clientId: 'ab-run-signal-at-start', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 } } }] }] },
      server: { port: 0 },
    }));
    const svc = startService(cfg.path, { ASSETBRIDGE_LOG_LEVEL: 'info' });
    running.push(svc);
    await waitFor(() => logLines(svc).some((l) => l.msg.startsWith('MQTT source cannot connect to the broker')), 'the service waiting for the broker');
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => svc.child.on('exit', (code, signal) => r([code, signal])));
    svc.child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
    expect(svc.output().split('\n').filter((l) => l.startsWith('error'))).toEqual([]);
    expect(logLines(svc).map((l) => l.msg).at(-1)).toBe('assetbridge stopped');
    expect(await storedLease(cfg.dir)).toBeUndefined();
  });
});

describe('assetbridge run, on a second signal', () => {
  it('exits at once (130) and lets go of the store lease, so the next start does not wait for it; the store is intact', async () => {
    // Was: exit 130 with the lease left in the store, so the next start waited for it to lapse.
    // An ERP that takes the request and never answers: the graceful stop waits for it (shutdown.graceMs).
    const sockets: Socket[] = [];
    let asked: () => void = () => undefined;
    const requested = new Promise<void>((r) => (asked = r));
    const erp = createServer((s) => (sockets.push(s), s.once('data', () => asked())));
    await new Promise<void>((r) => erp.listen(0, '127.0.0.1', r));
    try {
      const port = (erp.address() as { port: number }).port;
      const cfg = writeConfig((dir) => ({
        store: { path: join(dir, 'ab.db') },
        destinations: [{ name: 'erp', type: 'rest', baseUrl: `http://127.0.0.1:${port}`, timeoutMs: '60s' }],
        shutdown: { graceMs: '60s' },
        server: { port: 0 },
      }));
      const seed = new SqliteStore({ path: join(cfg.dir, 'ab.db'), commitInWorker: false });
      await seed.commitIngest({
        states: [],
        quarantine: [],
        accepted: 0,
        deliveries: [{ destination: 'erp', operation: 'workorder.create', kind: 'fact', businessKey: 'EQ-1|hot|1', erpAssetId: 'EQ-1', eventTime: Date.now(), payload: { title: 'hot' } }],
      });
      await seed.close();
      const svc = startService(cfg.path, { ASSETBRIDGE_LOG_LEVEL: 'info' });
      running.push(svc);
      await requested; // the work order is in flight
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => svc.child.on('exit', (code, signal) => r([code, signal])));
      svc.child.kill('SIGTERM');
      await waitFor(() => logLines(svc).some((l) => l.msg.startsWith('stopping: finishing in-flight work')), 'the graceful stop begun');
      svc.child.kill('SIGINT');
      expect(await exited).toEqual([130, null]);
      const db = new Database(join(cfg.dir, 'ab.db'));
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        db.close();
      }
      expect(await storedLease(cfg.dir)).toBeUndefined();
      expect(logLines(svc).at(-1)?.msg).toBe(
        'second signal: exiting now, as a crash would (nothing acknowledged is lost; the next start replays what was not checkpointed), letting go of the store lease',
      );
    } finally {
      for (const s of sockets) s.destroy();
      erp.close();
    }
  });
});

describe('assetbridge run, when another process takes its store lease over', () => {
  it('exits (1) once its last log line, saying why, is written out', async () => {
    // Was: process.exit at once, so on a pipe the line saying why it ended was lost now and then.
    const cfg = writeConfig((dir) => ({ store: { path: join(dir, 'ab.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], server: { port: 0 } }));
    // Stands in for a slow reader of the pipe: each write of a log line (stderr) is under way a
    // while before it is made, as one to a full pipe is, so an exit that does not wait for it loses it.
    const hook = join(cfg.dir, 'slow-stderr.mjs');
    writeFileSync(
      hook,
      `import fs from 'node:fs';
const write = fs.write;
fs.write = function (fd, ...args) {
  if (fd !== 2) return write.call(fs, fd, ...args);
  setTimeout(() => write.call(fs, fd, ...args), 200);
};
`,
    );
    const svc = startService(cfg.path, { ASSETBRIDGE_LOG_LEVEL: 'info', NODE_OPTIONS: `--import ${hook}` });
    running.push(svc);
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => svc.child.on('exit', (code, signal) => r([code, signal])));
    await waitFor(() => logLines(svc).some((l) => l.msg === 'assetbridge running'), 'the service running');
    // Another process (on another host) holds the lease now, as one that took it over would.
    const other = JSON.stringify({ pid: 1, host: 'elsewhere', instance: 'other', command: 'assetbridge run', since: Date.now(), heartbeat: Date.now() });
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), commitInWorker: false });
    try {
      await store.kvSet(LEASE_NS, LEASE_KEY, other);
    } finally {
      await store.close();
    }
    expect(await exited).toEqual([1, null]);
    expect(logLines(svc).at(-1)?.msg).toBe('another process took over the store lease (this one did not renew it in time); two pipelines on one store would overwrite each other');
  });
});
