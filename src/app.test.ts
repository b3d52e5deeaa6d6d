/**
 * The composition root's wiring that no other test sees: createApp and the destinations' secrets
 * (a pipeline that only enqueues, `deliver: false`, is built without them and cannot start the
 * service; by default they are required, naming the key), and what the service's parts log under.
 */
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { freePort, runCli, writeConfig } from '../test/helpers/cli.js';
import { tempStorePath } from '../test/helpers/temp-store.js';
import { waitFor } from '../test/helpers/wait.js';
import { captureFileName } from './adapters/capture/jsonl-capture.js';
import { applyAssetUpdates, readAssetCsv } from './adapters/identity/asset-csv.js';
import { createLogger } from './adapters/log/logger.js';
import { SqliteStore } from './adapters/store/sqlite/sqlite-store.js';
import type { Source } from './ports/source.js';
import type { AssetWithIdentifiers } from './ports/store.js';
import { createHttpApp } from './api/server.js';
import { buildConnector, buildSources, configuredAssets, createApp, pushReadersOf, webhookEndpoints, type AppOptions } from './app.js';
import { compileConfig, loadConfigFile } from './config/load.js';
import { ConfigError } from './core/errors/errors.js';
import { QUARANTINE_REPLAY_JOB, requestJob } from './engine/engine.js';

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

describe("the service's stop", () => {
  it("closes each destination's connector (ErpConnector.close) once it has stopped sending", async () => {
    const config = compileConfig({ store: { path: tempStorePath() }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] }, {});
    let closed = 0;
    const erp = Object.assign(buildConnector(config.destinations[0]!, logger), { close: () => Promise.resolve(void closed++) });
    const app = await createApp(config, { sources: false, http: false, logger, connectors: new Map([['erp', erp]]) });
    await app.start();
    await app.stop();
    expect(closed).toBe(1);
  });
});

describe('createApp and sources.mqtt[].sharedGroup', () => {
  it('warns of the group, naming its key, where the sources run, and not in a command that runs no source', async () => {
    // Mutation: the warning given by every command that builds the pipeline (quarantine replay, assets confirm, …).
    const config = compileConfig({
      store: { path: tempStorePath() },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      sources: { mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:1', sharedGroup: 'ab', topics: [{ filter: 'fleet/+/telemetry', decoder: { assetId: { topicSegment: 1 } } }] }] },
      server: { port: 0 },
    });
    const warned = async (sources: boolean): Promise<string[]> => {
      const lines: string[] = [];
      const app = await createApp(config, { sources, http: false, deliver: false, logger: pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }) });
      await app.close();
      return lines.filter((l) => l.includes('sharedGroup')).map((l) => (JSON.parse(l) as { key: string }).key);
    };
    expect(await warned(true)).toEqual(['sources.mqtt.0.sharedGroup']);
    expect(await warned(false)).toEqual([]);
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

describe('webhookEndpoints', () => {
  it('tells a polled record\'s version as the poll does, a service\'s replay as a command\'s (pushReadersOf): set aside again, it keeps the entry its next listing counts on', () => {
    // Mutation: the service's readers without the connector's version — its replay of a polled record opens one more entry at the next poll.
    const config = compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'https://erp.example.com', workOrderFields: { status: 'Stat' } }] });
    const connectors = new Map(config.destinations.map((d) => [d.name, buildConnector(d, logger)]));
    const record = { externalKey: 'EQ-1|svc|250h@b0', id: 'WO-1', Stat: 'Fertig', updatedAt: '2026-03-02T09:00:00Z', listedAt: 'each listing its own' };
    const version = JSON.stringify(['WO-1', record.externalKey, 'Fertig', Date.parse(record.updatedAt)]);
    expect(webhookEndpoints(config.destinations, connectors).get('erp')?.version?.(record)).toBe(version);
    expect(pushReadersOf(config.destinations).get('erp')?.version?.(record)).toBe(version);
  });

  it('takes each destination\'s webhook settings, secrets by reference: a stale push is refused and logged by its key, without the secret', async () => {
    const secret = 'shared-secret-0123456789';
    const old = 'the-old-secret-0123456789';
    const config = compileConfig(
      {
        destinations: [
          { name: 'sap', type: 'rest', baseUrl: 'https://sap.example.com' },
          { name: 'erp', type: 'rest', baseUrl: 'https://erp.example.com', webhook: { secret: '${AB_APP_HOOK}', previousSecret: '${AB_APP_HOOK_OLD}', timestampHeader: 'X-Timestamp', toleranceMs: '1m' } },
        ],
      },
      { AB_APP_HOOK: secret, AB_APP_HOOK_OLD: old },
    );
    const connectors = new Map(config.destinations.map((d) => [d.name, buildConnector(d, logger)]));
    const hooks = webhookEndpoints(config.destinations, connectors);
    expect(hooks.get('sap')).toMatchObject({ signatureHeader: 'X-Signature-256', configKey: 'destinations.0.webhook' });
    expect(hooks.get('sap')?.secret).toBeUndefined();
    expect(hooks.get('erp')).toMatchObject({ secret, previousSecret: old, signatureHeader: 'X-Signature-256', timestampHeader: 'X-Timestamp', toleranceMs: 60_000, configKey: 'destinations.1.webhook' });

    const lines: string[] = [];
    const now = Date.UTC(2026, 5, 1, 12);
    const http = createHttpApp({
      host: '127.0.0.1',
      port: 0,
      now: () => now,
      logger: createLogger('warn', 'assetbridge', { write: (line: string) => void lines.push(line) }),
      webhooks: hooks,
      sink: { submit: (m) => Promise.resolve({ accepted: m.length, quarantined: [] }) },
      status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') },
    });
    const body = JSON.stringify({ workOrder: { id: '4711', status: 'completed' } });
    const push = (at: number) => {
      const stamp = String(at / 1000);
      const signature = createHmac('sha256', old).update(`${stamp}.${body}`).digest('base64');
      return http.request('/v1/webhooks/erp/work-orders', { method: 'POST', headers: { 'X-Signature-256': signature, 'X-Timestamp': stamp }, body });
    };
    expect((await push(now - 30_000)).status).toBe(202);
    const stale = await push(now - 61_000);
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { error: string }).error).toContain('more than destinations.1.webhook.toleranceMs (1m) allows');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ level: 40, destination: 'erp', status: 401, reason: expect.stringContaining('destinations.1.webhook.toleranceMs') as unknown });
    expect(lines[0]).not.toContain(secret);
    expect(lines[0]).not.toContain(old);
    // A destination with no secret and no intake token: refused, and the logged reason reads as answered.
    const off = await http.request('/v1/webhooks/sap/work-orders', { method: 'POST', body });
    expect(off.status).toBe(403);
    expect(JSON.parse(lines[1] ?? '')).toMatchObject({ reason: ((await off.json()) as { error: string }).error });
    expect(lines[1]).toContain('sources.http.token (bearer token)');
  });
});

describe('a work-order push in the envelope the ERP lists work orders in', () => {
  // {"value": [...]} (OData), {"items": [...]}, {"workOrders": [...]}, {"d": {"results": [...]}}: a poll
  // reads these; a push of one was a single item with no key, answered 202 as ignored, its completions lost.
  it('takes the records of the list, as a poll reads them; indexes in the answer count the records', async () => {
    const config = compileConfig({ sources: { http: { token: 'intake-token-1' } }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'https://erp.example.com' }] });
    const connectors = new Map(config.destinations.map((d) => [d.name, buildConnector(d, logger)]));
    const submitted: string[] = [];
    const http = createHttpApp({
      host: '127.0.0.1',
      port: 0,
      now: () => 0,
      intake: { token: 'intake-token-1', bodyLimitBytes: 1_048_576, maxEvents: 100 },
      webhooks: webhookEndpoints(config.destinations, connectors),
      sink: { submit: (m) => (submitted.push(...m.map((x) => String(x.payload))), Promise.resolve({ accepted: m.length, quarantined: [] })) },
      status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') },
    });
    const completed = { id: 'WO-9', externalKey: 'EQ-1|svc-250h|250h@b0', status: 'completed', updatedAt: '2026-06-01T10:00:00Z', operatingHoursAtCompletion: 251 };
    const erpOwn = { id: 'WO-10', status: 'completed', updatedAt: '2026-06-01T10:00:00Z' };
    const push = async (body: unknown) => {
      submitted.length = 0;
      const r = await http.request('/v1/webhooks/erp/work-orders', { method: 'POST', headers: { Authorization: 'Bearer intake-token-1', 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, answer: (await r.json()) as Record<string, unknown>, keys: submitted.map((p) => (JSON.parse(p) as { businessKey?: string }).businessKey) };
    };
    for (const envelope of [{ value: [erpOwn, completed] }, { items: [erpOwn, completed] }, { workOrders: [erpOwn, completed] }, { d: { results: [erpOwn, completed] } }, [{ value: [erpOwn, completed] }]]) {
      expect(await push(envelope), JSON.stringify(envelope)).toEqual({
        status: 202,
        answer: { accepted: 1, ignored: [{ index: 0, reason: 'no externalKey: not a work order assetbridge opened' }] },
        keys: ['EQ-1|svc-250h|250h@b0'],
      });
    }
    // A record, bare, in a list or in its change envelope, reads as before.
    for (const body of [completed, [completed], { type: 'changed', workOrder: completed }]) expect((await push(body)).keys).toEqual(['EQ-1|svc-250h|250h@b0']);
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

describe('createApp and a config with no input', () => {
  it('warns, as config check does, that the service takes nothing in; not where a command runs no source nor once an input is set', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const erp = { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' };
    const warned = async (input: Record<string, unknown>, options: Omit<AppOptions, 'logger'> = {}) => {
      lines.length = 0;
      const app = await createApp(compileConfig({ store: { path: tempStorePath() }, destinations: [erp], ...input }), { logger, ...options });
      await app.close();
      return lines.map((l) => JSON.parse(l) as { key?: string; msg: string }).filter((l) => l.key === 'sources');
    };
    expect(await warned({})).toEqual([expect.objectContaining({ key: 'sources', msg: expect.stringMatching(/^no input is configured: the service would start and take in nothing/) as unknown })]);
    // A command that runs no source (quarantine replay, submit-event) says nothing of it.
    expect(await warned({}, { sources: false, http: false, deliver: false })).toEqual([]);
    expect(await warned({ sources: { http: { token: 'intake-token-1' } } })).toEqual([]);
  });
});

describe('createApp and a webhook that can take no push', () => {
  it('warns, under the webhook\'s key, of one with neither a secret nor the intake token, and of one with no server', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const erp = { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' };
    const warned = async (input: Record<string, unknown>) => {
      lines.length = 0;
      const app = await createApp(compileConfig({ store: { path: tempStorePath() }, ...input }), { logger });
      await app.close();
      return lines.map((l) => JSON.parse(l) as { key?: string; msg: string }).filter((l) => l.key?.endsWith('.webhook'));
    };
    expect(await warned({ destinations: [erp, { ...erp, name: 'sap', webhook: { signatureHeader: 'X-Sig' } }] })).toEqual([
      expect.objectContaining({
        key: 'destinations.1.webhook',
        msg: 'destinations.1.webhook has no secret and sources.http is not set: every push to POST /v1/webhooks/sap/work-orders would be refused (403); set destinations.1.webhook.secret (signed pushes) or sources.http.token (pushes with it as a bearer token)',
      }),
    ]);
    expect(await warned({ destinations: [{ ...erp, webhook: { secret: '0123456789abcdef' } }], server: { port: 0 } })).toEqual([
      expect.objectContaining({ key: 'destinations.0.webhook', msg: "destinations.0.webhook is set, but server.port is 0: no server runs to take the ERP's pushes to POST /v1/webhooks/erp/work-orders (set server.port)" }),
    ]);
    // Either a secret or the intake token, with a server: nothing to say.
    expect(await warned({ destinations: [{ ...erp, webhook: { secret: '0123456789abcdef' } }] })).toEqual([]);
    expect(await warned({ destinations: [{ ...erp, webhook: {} }], sources: { http: { token: 'intake-token-1' } } })).toEqual([]);
  });
});

describe('createApp and deliveries of a destination no longer configured', () => {
  it('warns that nothing sends them, naming the destination and how many, and what to do', async () => {
    const path = tempStorePath();
    const seed = new SqliteStore({ path, commitInWorker: false });
    await seed.commitIngest({ states: [], deliveries: [{ destination: 'erp', operation: 'location.update', kind: 'state', businessKey: 'A1', erpAssetId: 'A1', eventTime: 1, payload: {} }], quarantine: [], accepted: 1 });
    await seed.close();
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const app = await createApp(compileConfig({ store: { path }, destinations: [{ name: 'erp-new', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] }), { sources: false, http: false, logger });
    try {
      const warned = lines.map((l) => JSON.parse(l) as { msg: string; destinations?: unknown }).find((l) => l.msg.startsWith('deliveries are pending for'));
      expect(warned).toMatchObject({
        destinations: { erp: 1 },
        msg: 'deliveries are pending for "erp", no longer configured (destinations[].name): nothing sends them. If the destination was renamed, put the old name back; they are sent to the destination of that name only',
      });
    } finally {
      await app.close();
    }
  });
});

describe('createApp and the assets the config lists', () => {
  it('applies them over the stored registry: what `assets import` set and the config does not name survives a restart', async () => {
    const path = tempStorePath();
    const dir = dirname(path);
    writeFileSync(join(dir, 'map.csv'), 'identifier,id_type,erp_asset_id,site\ntag-1,tag,A1,P1\ntag-2,tag,A2,P2\n');
    // A second file updates what the first said of A2; inline A3 names its destination and one attribute.
    writeFileSync(join(dir, 'more.csv'), 'identifier,id_type,erp_asset_id,site\nPIN-2,pin,A2,P9\n');
    const raw = {
      store: { path },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }, { name: 'crm', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { files: [join(dir, 'map.csv'), join(dir, 'more.csv')], inline: [{ erpAssetId: 'A3', destination: 'crm', identifiers: [{ type: 'tag', value: 'tag-3' }], attributes: { site: 'P3' } }] },
    };
    const start = async (): Promise<AssetWithIdentifiers[]> => {
      const app = await createApp(compileConfig(raw), { sources: false, http: false, deliver: false, logger });
      try {
        return await app.store.listAssets();
      } finally {
        await app.close();
      }
    };
    await start();
    // `assets import` of a depreciation sheet: module, destination and cost of A1, cost of A3.
    const store = new SqliteStore({ path });
    const sheet = readAssetCsv('identifier,id_type,erp_asset_id,erp_module,destination,cost\ntag-1,tag,A1,maintenance,crm,1000\ntag-3,tag,A3,fixed-assets,crm,300\n');
    await store.upsertAssets(applyAssetUpdates(await store.listAssets(), sheet));
    await store.close();
    const byId = new Map((await start()).map((r) => [r.asset.erpAssetId, r]));
    expect(byId.get('A1')?.asset).toEqual({ erpAssetId: 'A1', erpModule: 'maintenance', destination: 'crm', attributes: { site: 'P1', cost: '1000' } });
    expect(byId.get('A2')?.asset).toEqual({ erpAssetId: 'A2', erpModule: 'fixed-assets', attributes: { site: 'P9' } });
    expect(byId.get('A2')?.identifiers.map((i) => i.value)).toEqual(['PIN-2', 'tag-2']);
    expect(byId.get('A3')?.asset).toEqual({ erpAssetId: 'A3', erpModule: 'fixed-assets', destination: 'crm', attributes: { site: 'P3', cost: '300' } });
  });

  it('warns at start of an identifier in a CSV that reads like a date a spreadsheet made of it, as config check does; not in a command that runs no source', async () => {
    const path = tempStorePath();
    const dir = dirname(path);
    writeFileSync(join(dir, 'excel.csv'), 'identifier,id_type,erp_asset_id\ntag-1,tag,A1\n2-Jan,tag,A2\n');
    const config = compileConfig({ store: { path }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], server: { port: 0 }, assets: { files: [join(dir, 'excel.csv')] } });
    const warned = async (options: Omit<AppOptions, 'logger'>) => {
      const lines: string[] = [];
      const app = await createApp(config, { ...options, logger: pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }) });
      await app.close();
      return lines.map((l) => JSON.parse(l) as { key?: string; msg: string }).filter((l) => l.key === 'assets.files.0');
    };
    expect(await warned({})).toEqual([
      expect.objectContaining({ key: 'assets.files.0', msg: expect.stringMatching(/excel\.csv line 3, column identifier: "2-Jan" looks like a date a spreadsheet made of the value/) as unknown }),
    ]);
    expect(await warned({ sources: false, http: false, deliver: false })).toEqual([]);
  });

  it('refuses one identifier given to two assets by two lists, naming both, as it does two rows of one file', () => {
    const dir = dirname(tempStorePath());
    writeFileSync(join(dir, 'site-b.csv'), 'identifier,id_type,erp_asset_id\ntag-b,tag,B\nTAG-1 ,tag,B\n');
    const config = compileConfig({
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { files: [join(dir, 'site-b.csv')], inline: [{ erpAssetId: 'A', identifiers: [{ type: 'tag', value: 'tag-1' }, { type: 'pin', value: 'tag-b' }] }] },
    });
    expect(() => configuredAssets(config)).toThrow(ConfigError);
    expect(() => configuredAssets(config)).toThrow('assets.files.0: tag "TAG-1" is given to asset B here but to A in assets.inline.0; an identifier can name only one asset');
  });

  it('lists the first 50 problems of a listed CSV with one on every row, and counts the rest, instead of one line per row', () => {
    const dir = dirname(tempStorePath());
    const rows = Array.from({ length: 120 }, (_, i) => `tag-${i},tga,A${i}`);
    writeFileSync(join(dir, 'typo.csv'), `identifier,id_type,erp_asset_id\n${rows.join('\n')}\n`);
    const config = compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], assets: { files: [join(dir, 'typo.csv')] } });
    let problems: readonly { key: string; message: string }[] = [];
    try {
      configuredAssets(config);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems = err.problems;
    }
    expect(problems).toHaveLength(51);
    expect(problems.every((p) => p.key === 'assets.files.0')).toBe(true);
    expect(problems[0]?.message).toContain('typo.csv line 2');
    expect(problems[49]?.message).toContain('typo.csv line 51');
    expect(problems[50]?.message).toBe('… and 70 more problem(s) not shown (120 in all): fix those above, which are often the same mistake on every row, and read the file again');
  });
});

describe('createApp with event capture', () => {
  // /dev/full: Linux, as CI.
  it.skipIf(!existsSync('/dev/full'))('the service counts an event as captured once its write finished: one lost with a failed write (a full disk) counts as not captured', async () => {
    const path = tempStorePath();
    const dir = join(dirname(path), 'capture');
    const now = Date.UTC(2026, 10, 30, 12);
    mkdirSync(dir);
    // Every write to /dev/full fails with ENOSPC, after the capture took the event.
    symlinkSync('/dev/full', join(dir, captureFileName(now)));
    const raw = {
      store: { path },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { inline: [{ erpAssetId: 'A1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      capture: { dir },
    };
    const app = await createApp(compileConfig(raw), { sources: false, http: false, deliver: false, logger, clock: { now: () => now } });
    try {
      const payload = JSON.stringify({ kind: 'meter', assetId: 'tag-1', eventTime: new Date(now - 60_000).toISOString(), operatingHours: 12 });
      const r = await app.ingestor.submit([{ source: 'http', channel: '/v1/events', payload, receivedAt: now }]);
      expect(r.accepted).toBe(1);
      const ingest = await waitFor(async () => {
        const s = (await app.engine.snapshot()).ingest as { captured: number; captureDropped: number };
        return s.captured + s.captureDropped > 0 ? s : undefined;
      }, 'the capture write settled');
      expect(ingest).toMatchObject({ captured: 0, captureDropped: 1 });
    } finally {
      await app.close();
    }
  });
});

describe('status of a running service whose failure quotes a secret', () => {
  it("shows a source's connection error redacted in /v1/status and 'status --json': neither a configured secret nor a URL's password", async () => {
    const secret = 'erp-Token-31415926';
    const port = await freePort();
    const cfg = writeConfig((dir) => ({ store: { path: join(dir, 'ab.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: secret }], server: { port } }));
    const broker: Source = {
      name: 'mqtt:yard',
      start: () => Promise.resolve(),
      stop: () => Promise.resolve(),
      connected: () => false,
      connectionError: () => ({ key: 'sources.mqtt.0.url', error: `mqtt://yard:broker-pass-2718@10.0.0.5:1883 refused the client: token ${secret} not valid` }),
    };
    const app = await createApp(loadConfigFile(cfg.path), { logger, sources: false, extraSources: [broker] });
    try {
      await app.start();
      const http = await (await fetch(`http://127.0.0.1:${port}/v1/status`)).text();
      // The CLI reads what the service wrote of itself (once a second).
      const cli = await waitFor(async () => {
        const r = await runCli(['status', '--json', '-c', cfg.path]);
        return r.stdout.includes('mqtt:yard') && r.stdout;
      }, 'status --json showing the source');
      for (const shown of [http, cli]) {
        expect(shown).toContain('mqtt://yard:[REDACTED]@10.0.0.5:1883 refused the client: token [REDACTED] not valid');
        expect(shown).not.toContain(secret);
        expect(shown).not.toContain('broker-pass-2718');
      }
    } finally {
      await app.stop();
    }
  });
});

describe('a work-order push retried after its commit failed', () => {
  it('keeps its unreadable work order in quarantine once, not once per attempt', async () => {
    const port = await freePort();
    const config = compileConfig({
      store: { path: tempStorePath() },
      server: { port },
      sources: { http: { token: 'intake-token-1' } },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { inline: [{ erpAssetId: 'A1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
    });
    const app = await createApp(config, { logger, sources: false });
    // The store refuses the first commit that takes an update (a disk full for a moment).
    const commit = app.store.commitIngest.bind(app.store);
    let failed = 0;
    app.store.commitIngest = (batch) => {
      if (batch.accepted > 0 && failed === 0) {
        failed++;
        return Promise.reject(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }));
      }
      return commit(batch);
    };
    const at = new Date(Date.now() - 60_000).toISOString();
    // The first is readable; the second is one of ours without its id (unreadable: quarantined).
    const body = JSON.stringify([
      { externalKey: 'A1|svc-10h|10h@b0', id: 'WO-1', status: 'completed', updatedAt: at },
      { externalKey: 'A1|svc-10h|20h@b10', status: 'completed', updatedAt: at },
    ]);
    const push = () => fetch(`http://127.0.0.1:${port}/v1/webhooks/erp/work-orders`, { method: 'POST', headers: { Authorization: 'Bearer intake-token-1', 'Content-Type': 'application/json' }, body });
    try {
      await app.start();
      const first = await push();
      expect(first.status).toBe(503);
      expect(((await first.json()) as { error: string }).error).toContain('nothing of this push was taken, retry later');
      // The ERP pushes it again, as told.
      const again = await push();
      expect(again.status).toBe(400);
      expect(await again.json()).toEqual({ accepted: 1, rejected: [{ index: 1, reason: 'work order A1|svc-10h|20h@b10 needs id' }], note: expect.stringContaining('do not send this push again unchanged') as unknown });
      const kept = await app.store.listQuarantine({});
      expect(kept.map((q) => [q.code, q.reason])).toEqual([['invalid', 'work order A1|svc-10h|20h@b10 needs id']]);
    } finally {
      await app.stop();
    }
  });
});

describe('dead letters of an ERP answer that echoes a configured credential', () => {
  it("store the delivery's error and audit without the value of a destination header whose name looks like no credential's", async () => {
    // A header value is a credential to the config (config check never echoes it), whatever its name.
    const tenant = 'tenant-Secret-27182818';
    const erp = createServer((req, res) => {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'UnknownTenant', message: `tenant ${String(req.headers['x-erp-tenant'])} has no asset EQ-1` } }));
    });
    await new Promise<void>((resolve) => erp.listen(0, '127.0.0.1', resolve));
    const { port } = erp.address() as AddressInfo;
    const config = compileConfig({
      store: { path: tempStorePath() },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: `http://127.0.0.1:${port}`, token: 'erp-token-1234', headers: { 'X-Erp-Tenant': tenant } }],
    });
    const app = await createApp(config, { logger, sources: false, http: false });
    try {
      await app.store.commitIngest({
        deliveries: [{ destination: 'erp', operation: 'location.update', kind: 'state', businessKey: 'EQ-1', erpAssetId: 'EQ-1', eventTime: Date.now(), payload: { warehouseLocation: 'YARD', coordinates: { lat: 1, lng: 2 } } }],
        states: [],
        quarantine: [],
        accepted: 0,
      });
      await app.start();
      const dead = await waitFor(async () => (await app.store.listDeliveries({ status: 'dead' }))[0], 'the delivery in dead letters');
      expect(dead.lastError).toContain('UnknownTenant: tenant [REDACTED] has no asset EQ-1');
      const audit = await app.store.queryAudit({ destination: 'erp' });
      expect(audit.length).toBeGreaterThan(0);
      const stored = JSON.stringify({ dead, audit });
      expect(stored).not.toContain(tenant);
    } finally {
      await app.stop();
      await new Promise((resolve) => erp.close(resolve));
    }
  });
});

// Was: a signal while the HTTP server was being opened ran engine.stop() before the server's closer
// was pushed (that came once it listened), so the stop never closed it: the port stayed taken,
// its intake answering, by a service that had stopped.
describe('createApp: a stop while the HTTP server opens', () => {
  it('closes the server once it listens', async () => {
    const port = await freePort();
    const config = compileConfig({ store: { path: tempStorePath() }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'x' }], server: { host: '127.0.0.1', port } });
    const app = await createApp(config, { sources: false, logger });
    const starting = app.start();
    await app.stop();
    await starting;
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    // A start after the stop opens nothing.
    await app.start();
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});

/**
 * A service with two destinations, `erp` and `erp2`, one asset (EQ-1) routed to `assetDestination`
 * with a 250 h service interval, and what the work-order push tests use: its key, a push of its
 * completion (at `hoursAtCompletion`) to a destination's webhook, and the maintenance state.
 */
/**
 * The service `fixed` (started, with the destination's config fixed) replays the one open quarantine
 * entry: accepted, work order `key` of EQ-1 completed, its `svc` baseline reset to 251 h, nothing left open.
 */
async function expectReplayCompletes(fixed: Awaited<ReturnType<typeof createApp>>, key: string): Promise<void> {
      const result = await requestJob(fixed.store, QUARANTINE_REPLAY_JOB, {}, { timeoutMs: 60_000, pollMs: 20 });
      expect(result).toEqual({ exitCode: 0, output: 'replayed 1: 1 accepted, 0 quarantined again\n' });
      await fixed.ingestor.checkpoint();
      const state = (await fixed.store.loadRuleStates(['EQ-1'], ['maintenance'])).get('EQ-1')?.maintenance as { services?: Record<string, { base: number }>; workOrders?: Record<string, { status: string }> } | undefined;
      expect(state?.workOrders?.[key]?.status).toBe('completed');
      expect(state?.services?.svc?.base).toBe(251);
      expect(await fixed.store.countQuarantine({ status: 'open' })).toBe(0);
}

async function twoDestinationApp(assetDestination: string, hoursAtCompletion: number) {
  const port = await freePort();
  const config = compileConfig({
    store: { path: tempStorePath() },
    server: { port },
    sources: { http: { token: 'intake-token-1' } },
    destinations: [
      { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' },
      { name: 'erp2', type: 'rest', baseUrl: 'http://127.0.0.1:9' },
    ],
    assets: { inline: [{ erpAssetId: 'EQ-1', erpModule: 'maintenance', destination: assetDestination, identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
    rules: { allowedLateness: '0s', maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }], feedback: { pollEvery: 0 } } },
  });
  const app = await createApp(config, { logger, sources: false });
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  const headers = { Authorization: 'Bearer intake-token-1', 'Content-Type': 'application/json' };
  const hour = 3_600_000;
  const t0 = Date.now() - 4 * hour;
  const key = 'EQ-1|svc|250h@b0';
  const state = async () => {
    await app.ingestor.checkpoint();
    return (await app.store.loadRuleStates(['EQ-1'], ['maintenance'])).get('EQ-1')?.maintenance as { services?: Record<string, { base: number }>; workOrders?: Record<string, { status: string; destination?: string }> } | undefined;
  };
  const push = async (destination: string) => {
    const body = JSON.stringify([{ externalKey: key, id: 'WO-1', status: 'completed', updatedAt: new Date(t0 + 2 * hour).toISOString(), operatingHoursAtCompletion: hoursAtCompletion }]);
    const r = await fetch(url(`/v1/webhooks/${destination}/work-orders`), { method: 'POST', headers, body });
    return { status: r.status, answer: (await r.json()) as { accepted: number; ignored?: { index: number; reason: string }[] } };
  };
  return { app, url, headers, hour, t0, key, state, push };
}

describe('a work-order push to another destination than the one the work order was opened at', () => {
  it('is answered as ignored, naming both destinations, and changes neither its status nor the baseline; the same push to its own destination does', async () => {
    const { app, url, headers, hour, t0, key, state, push } = await twoDestinationApp('erp', 251);
    try {
      await app.start();
      const meters = [249.5, 250.5].map((h, i) => ({ kind: 'meter', erpAssetId: 'EQ-1', eventTime: new Date(t0 + i * hour).toISOString(), operatingHours: h }));
      expect((await fetch(url('/v1/events'), { method: 'POST', headers, body: JSON.stringify(meters) })).status).toBe(202);
      // Opened at erp, where the asset's deliveries go.
      const opened = await app.store.factDeliveries('workorder.create', [key]);
      expect(opened.get(key)?.destination).toBe('erp');
      expect((await state())?.workOrders?.[key]).toMatchObject({ status: 'requested', destination: 'erp' });

      const foreign = await push('erp2');
      expect(foreign.status).toBe(202);
      expect(foreign.answer.accepted).toBe(0);
      expect(foreign.answer.ignored).toEqual([{ index: 0, reason: expect.stringContaining(`work order ${key}: it was opened at destination "erp", and an update from destination "erp2" does not change it`) as unknown }]);
      const after = await state();
      expect(after?.workOrders?.[key]?.status).toBe('requested');
      expect(after?.services?.svc?.base).toBe(0);

      const own = await push('erp');
      expect(own).toEqual({ status: 202, answer: { accepted: 1 } });
      const done = await state();
      expect(done?.workOrders?.[key]).toMatchObject({ status: 'completed', destination: 'erp' });
      expect(done?.services?.svc?.base).toBe(251);
    } finally {
      await app.stop();
    }
  });
});

describe('a work-order push for a work order of an asset moved to another destination since it was opened', () => {
  it('is taken from the destination the outbox says it was opened at, also when the rule has no record of it (the calendar task opened it, or it was forgotten); not from the one the asset routes to now', async () => {
    // Moved to erp2 since its work order was opened at erp.
    const { app, url, headers, hour, t0, key, state, push } = await twoDestinationApp('erp2', 240.5);
    try {
      await app.start();
      // The work order's create went to erp; the rule keeps no record of it.
      await app.store.commitIngest({ states: [], deliveries: [{ destination: 'erp', operation: 'workorder.create', kind: 'fact', businessKey: key, erpAssetId: 'EQ-1', eventTime: t0, payload: {} }], quarantine: [], accepted: 0 });
      const meters = [239.5, 240].map((h, i) => ({ kind: 'meter', erpAssetId: 'EQ-1', eventTime: new Date(t0 + i * hour).toISOString(), operatingHours: h }));
      expect((await fetch(url('/v1/events'), { method: 'POST', headers, body: JSON.stringify(meters) })).status).toBe(202);
      expect((await state())?.workOrders?.[key]).toBeUndefined();

      // From erp2, where the asset routes now: not its work order.
      const foreign = await push('erp2');
      expect(foreign.answer).toEqual({ accepted: 0, ignored: [{ index: 0, reason: expect.stringContaining(`work order ${key}: it was opened at destination "erp", and an update from destination "erp2" does not change it`) as unknown }] });
      expect((await state())?.services?.svc?.base).toBe(0);

      // From erp, where it was opened: taken, and applied.
      const own = await push('erp');
      expect(own).toEqual({ status: 202, answer: { accepted: 1 } });
      const done = await state();
      expect(done?.workOrders?.[key]).toMatchObject({ status: 'completed', destination: 'erp' });
      expect(done?.services?.svc?.base).toBe(240.5);
    } finally {
      await app.stop();
    }
  });
});

describe('quarantine replay of a work-order push the webhook could not read', () => {
  const hour = 3_600_000;
  const key = 'EQ-1|svc|250h@b0';
  /** A service on the store at `path`, its destinations as given, one asset (EQ-1) routed to erp with a 250 h service interval. */
  const serviceConfig = (path: string, port: number, destinations: object[]) =>
    compileConfig({
      store: { path },
      server: { port },
      sources: { http: { token: 'intake-token-1' } },
      destinations,
      assets: { inline: [{ erpAssetId: 'EQ-1', erpModule: 'maintenance', destination: 'erp', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      rules: { allowedLateness: '0s', maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }], feedback: { pollEvery: 0 } } },
    });

  it('reads it again as the webhook does, under the config fixed since: the work order completes and its baseline resets', async () => {
    // Mutation: replayed through the canonical decoder (set aside again, "no kind", for good).
    const path = tempStorePath();
    const port = await freePort();
    const erp = { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' };
    const headers = { Authorization: 'Bearer intake-token-1', 'Content-Type': 'application/json' };
    const t0 = Date.now() - 4 * hour;
    // The ERP names the work order's id WorkOrderNo, which the destination does not map yet.
    const record = { externalKey: key, WorkOrderNo: 'WO-1', status: 'completed', updatedAt: new Date(t0 + 2 * hour).toISOString(), operatingHoursAtCompletion: 251 };
    const app = await createApp(serviceConfig(path, port, [erp]), { logger, sources: false });
    try {
      await app.start();
      const meters = [249.5, 250.5].map((h, i) => ({ kind: 'meter', erpAssetId: 'EQ-1', eventTime: new Date(t0 + i * hour).toISOString(), operatingHours: h }));
      expect((await fetch(`http://127.0.0.1:${port}/v1/events`, { method: 'POST', headers, body: JSON.stringify(meters) })).status).toBe(202);
      const r = await fetch(`http://127.0.0.1:${port}/v1/webhooks/erp/work-orders`, { method: 'POST', headers, body: JSON.stringify([record]) });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { rejected: { reason: string }[] }).rejected[0]?.reason).toContain(`work order ${key} needs id`);
      const kept = await app.store.listQuarantine({ status: 'open' });
      expect(kept.map((q) => [q.source, JSON.parse(String(q.payload))])).toEqual([['erp-feedback:erp', record]]);
    } finally {
      await app.stop();
    }

    // The config fixed: the destination reads the id from WorkOrderNo.
    const fixed = await createApp(serviceConfig(path, port, [{ ...erp, workOrderFields: { id: 'WorkOrderNo' } }]), { logger, sources: false, http: false });
    try {
      await fixed.start();
      await expectReplayCompletes(fixed, key);
    } finally {
      await fixed.stop();
    }
  });

  it('with no service running: keeps a work order opened at another destination from changing, and leaves open, saying so, what was pushed to a destination no longer configured', async () => {
    // Mutation: the ERP's record taken without the outbox's check (completing a work order opened elsewhere); or the entries of a gone destination replayed (set aside again) or passed over unsaid.
    const { path: configPath, dir } = writeConfig((d) => ({
      store: { path: join(d, 'ab.db') },
      destinations: [
        { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: '${AB_PUSHQ_UNSET_TOKEN}', workOrderFields: { id: 'WorkOrderNo' } },
        { name: 'erp2', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: '${AB_PUSHQ_UNSET_TOKEN}' },
      ],
      assets: { inline: [{ erpAssetId: 'EQ-1', erpModule: 'maintenance', destination: 'erp', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      rules: { maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }], feedback: { pollEvery: 0 } } },
    }));
    const t0 = Date.now() - 4 * hour;
    const other = 'EQ-1|svc|500h@b0';
    const record = (k: string, more: object = {}) => ({ externalKey: k, WorkOrderNo: 'WO-1', status: 'completed', updatedAt: new Date(t0).toISOString(), ...more });
    const pushed = (destination: string, payload: object) => ({ source: `erp-feedback:${destination}`, channel: `/v1/webhooks/${destination}/work-orders`, payload: JSON.stringify(payload), receivedAt: t0, code: 'invalid' as const, reason: `work order ${key} needs id` });
    const seed = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      // Opened at erp2; pushed to erp, naming erp as where it was opened (the ERP's word, not the outbox's).
      await seed.commitIngest({ states: [], deliveries: [{ destination: 'erp2', operation: 'workorder.create', kind: 'fact', businessKey: other, erpAssetId: 'EQ-1', eventTime: t0, payload: {} }], quarantine: [], accepted: 0 });
      await seed.commitIngest({ states: [], deliveries: [], accepted: 0, quarantine: [pushed('erp', record(other, { openedAtDestination: 'erp' })), pushed('erp-old', record(key))] });
    } finally {
      await seed.close();
    }
    const r = await runCli(['quarantine', 'replay', '--all', '-c', configPath]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      'replayed 1: 0 accepted, 1 quarantined again\n' +
        `  1 × not taken as pushed to destination "erp": work order ${other}: it was opened at destination "erp2", and an update from destination "erp" does not change it (only updates from "erp2", pushed to /v1/webhooks/erp2/work-orders or polled from it, do)\n` +
        'not replayed (work orders pushed to destination "erp-old", which is no longer in the config or takes no work-order pushes, so nothing reads them: put the destination back under its old name (destinations[].name) and replay them, or discard them): 2\n',
    );
    expect(r.code).toBe(0);
    const store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      const rows = await store.listQuarantine({ limit: 10 });
      expect(rows.map((q) => [q.id, q.status, q.source, q.replayOf])).toEqual([
        [1, 'replayed', 'erp-feedback:erp', undefined],
        [2, 'open', 'erp-feedback:erp-old', undefined],
        [3, 'open', 'erp-feedback:erp', 1],
      ]);
      // Kept again as the ERP sent it, but without its own word on where the work order was opened.
      expect(JSON.parse(String(rows[2]?.payload))).toEqual(record(other));
    } finally {
      await store.close();
    }
  });
});

describe('quarantine replay of a work-order record a poll could not read', () => {
  it('says where it came from: polled from its destination, not pushed (not taken, and left open with its destination gone); set aside again, it still says so', async () => {
    // Mutation: a polled record described as pushed ('not taken as pushed to destination', 'work orders pushed to destination').
    const { path: configPath, dir } = writeConfig((d) => ({
      store: { path: join(d, 'ab.db') },
      destinations: [
        { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: '${AB_POLLQ_UNSET_TOKEN}', workOrderFields: { id: 'WorkOrderNo' } },
        { name: 'erp2', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: '${AB_POLLQ_UNSET_TOKEN}' },
      ],
      assets: { inline: [{ erpAssetId: 'EQ-1', erpModule: 'maintenance', destination: 'erp', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      rules: { maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }], feedback: { pollEvery: 0 } } },
    }));
    const t0 = Date.now() - 4 * 3_600_000;
    const key = 'EQ-1|svc|250h@b0';
    const other = 'EQ-1|svc|500h@b0';
    const record = (k: string) => ({ externalKey: k, WorkOrderNo: 'WO-1', status: 'completed', updatedAt: new Date(t0).toISOString() });
    // As the poll keeps them: channel workorders/<destination>.
    const polled = (destination: string, payload: object) => ({ source: `erp-feedback:${destination}`, channel: `workorders/${destination}`, payload: JSON.stringify(payload), receivedAt: t0, code: 'invalid' as const, reason: `work order ${key} needs id` });
    const seed = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      await seed.commitIngest({ states: [], deliveries: [{ destination: 'erp2', operation: 'workorder.create', kind: 'fact', businessKey: other, erpAssetId: 'EQ-1', eventTime: t0, payload: {} }], quarantine: [], accepted: 0 });
      await seed.commitIngest({ states: [], deliveries: [], accepted: 0, quarantine: [polled('erp', record(other)), polled('erp-old', record(key))] });
    } finally {
      await seed.close();
    }
    const notTaken = `not taken as polled from destination "erp": work order ${other}: it was opened at destination "erp2", and an update from destination "erp" does not change it (only updates from "erp2", pushed to /v1/webhooks/erp2/work-orders or polled from it, do)`;
    const gone = 'not replayed (work orders polled from destination "erp-old", which is no longer in the config or reads no work orders, so nothing reads them: put the destination back under its old name (destinations[].name) and replay them, or discard them): ';
    const r = await runCli(['quarantine', 'replay', '--all', '-c', configPath]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`replayed 1: 0 accepted, 1 quarantined again\n  1 × ${notTaken}\n${gone}2\n`);
    expect(r.code).toBe(0);
    // Set aside again as polled (its channel kept): the next replay says so too.
    const again = await runCli(['quarantine', 'replay', '--all', '-c', configPath]);
    expect(again.stdout).toBe(`replayed 1: 0 accepted, 1 quarantined again\n  1 × ${notTaken}\n${gone}2\n`);
    const store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      const rows = await store.listQuarantine({ limit: 10 });
      expect(rows.map((q) => [q.id, q.status, q.channel, q.reason])).toEqual([
        [1, 'replayed', 'workorders/erp', `work order ${key} needs id`],
        [2, 'open', 'workorders/erp-old', `work order ${key} needs id`],
        [3, 'replayed', 'workorders/erp', notTaken],
        [4, 'open', 'workorders/erp', notTaken],
      ]);
    } finally {
      await store.close();
    }
  });
});

describe('a work order of ours in a status the destination does not map (workOrderStatuses)', () => {
  const hour = 3_600_000;
  const key = 'EQ-1|svc|250h@b0';
  const headers = { Authorization: 'Bearer intake-token-1', 'Content-Type': 'application/json' };
  /** A service on the store at `path`, destination erp at `baseUrl` with `statuses`, one asset (EQ-1) with a 250 h service interval, polled every `pollEvery`. */
  const serviceConfig = (path: string, port: number, baseUrl: string, statuses: Record<string, string>, pollEvery: string | number) =>
    compileConfig({
      store: { path },
      server: { port },
      sources: { http: { token: 'intake-token-1' } },
      destinations: [{ name: 'erp', type: 'rest', baseUrl, workOrderStatuses: statuses }],
      assets: { inline: [{ erpAssetId: 'EQ-1', erpModule: 'maintenance', destination: 'erp', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      rules: { allowedLateness: '0s', maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }], feedback: { pollEvery } } },
    });
  const meters = (port: number, t0: number) =>
    fetch(`http://127.0.0.1:${port}/v1/events`, { method: 'POST', headers, body: JSON.stringify([249.5, 250.5].map((h, i) => ({ kind: 'meter', erpAssetId: 'EQ-1', eventTime: new Date(t0 + i * hour).toISOString(), operatingHours: h }))) });
  /** Replays the open quarantine with the mapping fixed (no poll, no HTTP): the work order completes and its baseline resets. */
  const replayFixed = async (path: string, port: number, baseUrl: string) => {
    const fixed = await createApp(serviceConfig(path, port, baseUrl, { Fertig: 'completed' }, 0), { logger, sources: false, http: false });
    try {
      await fixed.start();
      await expectReplayCompletes(fixed, key);
    } finally {
      await fixed.stop();
    }
  };
  const reasonParts = ['work order EQ-1|svc|250h@b0: unknown status "Fertig"', 'destinations.0.workOrderStatuses (destination "erp")', "'assetbridge quarantine replay'"];

  it('pushed: rejected (400) and kept in quarantine with the status, destination and key to add it to; replayed once mapped, the work order completes', async () => {
    // Mutation: an unknown status answered ignored (202) and kept nowhere: the completion lost.
    const path = tempStorePath();
    const port = await freePort();
    const baseUrl = 'http://127.0.0.1:9';
    const t0 = Date.now() - 4 * hour;
    const record = { externalKey: key, id: 'WO-1', status: 'Fertig', updatedAt: new Date(t0 + 2 * hour).toISOString(), operatingHoursAtCompletion: 251 };
    const app = await createApp(serviceConfig(path, port, baseUrl, {}, 0), { logger, sources: false });
    try {
      await app.start();
      expect((await meters(port, t0)).status).toBe(202);
      const r = await fetch(`http://127.0.0.1:${port}/v1/webhooks/erp/work-orders`, { method: 'POST', headers, body: JSON.stringify([record]) });
      expect(r.status).toBe(400);
      const answer = (await r.json()) as { accepted: number; rejected: { index: number; reason: string }[]; ignored?: unknown };
      expect(answer.accepted).toBe(0);
      expect(answer.ignored).toBeUndefined();
      expect(answer.rejected).toHaveLength(1);
      for (const part of reasonParts) expect(answer.rejected[0]?.reason).toContain(part);
      const kept = await app.store.listQuarantine({ status: 'open' });
      expect(kept.map((q) => [q.source, q.code, JSON.parse(String(q.payload))])).toEqual([['erp-feedback:erp', 'invalid', record]]);
      expect(kept[0]?.reason).toBe(answer.rejected[0]?.reason);
    } finally {
      await app.stop();
    }
    await replayFixed(path, port, baseUrl);
  });

  it('pushed in a status mapped to ignore: acknowledged as ignored, nothing kept, nothing changed', async () => {
    // Mutation: a status mapped to ignore kept in quarantine (or refused by the config, or read as a status).
    const path = tempStorePath();
    const port = await freePort();
    const t0 = Date.now() - 4 * hour;
    const app = await createApp(serviceConfig(path, port, 'http://127.0.0.1:9', { PRINTED: 'ignore' }, 0), { logger, sources: false });
    try {
      await app.start();
      expect((await meters(port, t0)).status).toBe(202);
      const record = { externalKey: key, id: 'WO-1', status: 'printed', updatedAt: new Date(t0 + 2 * hour).toISOString() };
      const r = await fetch(`http://127.0.0.1:${port}/v1/webhooks/erp/work-orders`, { method: 'POST', headers, body: JSON.stringify([record]) });
      expect(r.status).toBe(202);
      expect(await r.json()).toEqual({ accepted: 0, ignored: [{ index: 0, reason: 'status "printed" is one the destination\'s workOrderStatuses says to ignore' }] });
      expect(await app.store.countQuarantine({})).toBe(0);
      await app.ingestor.checkpoint();
      const state = (await app.store.loadRuleStates(['EQ-1'], ['maintenance'])).get('EQ-1')?.maintenance as { workOrders?: Record<string, { status: string }> } | undefined;
      expect(state?.workOrders?.[key]?.status).toBe('requested');
    } finally {
      await app.stop();
    }
  });

  it('polled: kept in quarantine once (not again at every poll that lists it), the cursor moves past it; replayed once mapped, the work order completes', async () => {
    // Mutation: passed over (logged) and the cursor moved past it: the completion lost for good; or kept again at every poll.
    const t0 = Date.now() - 4 * hour;
    const record = { externalKey: key, id: 'WO-1', status: 'Fertig', updatedAt: new Date(t0 + 2 * hour).toISOString(), operatingHoursAtCompletion: 251 };
    // The ERP lists the record at every poll (at or after the cursor, its change time), once the meters are in.
    let listed: object[] = [];
    let polls = 0;
    const erp = createServer((req, res) => {
      if (req.method === 'GET' && req.url?.includes('updatedSince')) polls++;
      res.writeHead(req.method === 'GET' ? 200 : 201, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.method === 'GET' ? (req.url?.includes('updatedSince') ? listed : []) : { id: 'WO-1' }));
    });
    await new Promise<void>((resolve) => erp.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(erp.address() as AddressInfo).port}`;
    const path = tempStorePath();
    const port = await freePort();
    try {
      const app = await createApp(serviceConfig(path, port, baseUrl, {}, '50ms'), { logger, sources: false });
      try {
        await app.start();
        expect((await meters(port, t0)).status).toBe(202);
        await app.ingestor.checkpoint();
        listed = [record];
        const kept = await waitFor(async () => {
          const rows = await app.store.listQuarantine({ status: 'open' });
          return rows.length > 0 ? rows : undefined;
        }, 'the polled record in quarantine');
        expect(kept.map((q) => [q.source, q.code, JSON.parse(String(q.payload))])).toEqual([['erp-feedback:erp', 'invalid', record]]);
        for (const part of reasonParts) expect(kept[0]?.reason).toContain(part);
        // Listed again at the next polls, at the cursor's instant (within the time each asks again:
        // the cursor less pollOverlap): the same record read again, skipped, so still one entry and
        // no repeat counted on it (two polls at least have read it again by the third's request).
        const after = polls;
        await waitFor(() => polls >= after + 3, 'three more polls');
        expect((await app.store.listQuarantine({})).map((q) => q.repeats ?? 0)).toEqual([0]);
        expect(await app.store.kvGet('maintenance.feedback', 'erp')).toBe(String(t0 + 2 * hour));
      } finally {
        await app.stop();
      }
      await replayFixed(path, port, baseUrl);
    } finally {
      await new Promise((resolve) => erp.close(resolve));
    }
  });
});

describe('a work order of ours a poll cannot read, listed again and again', () => {
  const hour = 3_600_000;
  it('is kept in quarantine once per version (destination, record, status and time), for an unmapped status and an unreadable record alike, however the ERP orders its fields or stamps each listing; across a restart too, and said once (not again by the service started again)', async () => {
    // Mutation: copies told apart by their bytes (a field the ERP fills at each read, its fields in another order): a new entry at every poll.
    // Mutation: "could not read" said again after every restart for the records quarantine holds (told by the task's memory, not by their entries).
    const t0 = Date.now() - 4 * hour;
    const at = new Date(t0 + 2 * hour).toISOString();
    // An unmapped status, and one with no id: both of ours, neither readable.
    const unmapped = { externalKey: 'EQ-1|svc|250h@b0', id: 'WO-1', status: 'Fertig', updatedAt: at, operatingHoursAtCompletion: 251 };
    const noId = { externalKey: 'EQ-1|svc|500h@b0', status: 'completed', updatedAt: at };
    let listing = false;
    let listings = 0;
    // The ERP lists both at every poll, stamped with when it listed them, its fields in another order
    // each time; with a work order of its own changed after them, which moves the cursor past them:
    // each poll after the first lists them though it asks from after their time (no overlap's re-read).
    const own = { id: 'PM-1', status: 'open', updatedAt: new Date(t0 + 3 * hour).toISOString() };
    const listed = () => {
      listings++;
      return [...[unmapped, noId].map((r) => {
        const fields = Object.entries({ ...r, listedAt: new Date().toISOString() });
        return Object.fromEntries(listings % 2 === 0 ? fields.reverse() : fields);
      }), own];
    };
    const erp = createServer((req, res) => {
      const poll = req.method === 'GET' && req.url?.includes('updatedSince') === true;
      res.writeHead(req.method === 'GET' ? 200 : 201, { 'content-type': 'application/json' });
      res.end(JSON.stringify(poll ? (listing ? listed() : []) : req.method === 'GET' ? [] : { id: 'WO-1' }));
    });
    await new Promise<void>((resolve) => erp.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(erp.address() as AddressInfo).port}`;
    const path = tempStorePath();
    const config = async () =>
      compileConfig({
        store: { path },
        server: { port: await freePort() },
        sources: { http: { token: 'intake-token-1' } },
        destinations: [{ name: 'erp', type: 'rest', baseUrl }],
        assets: { inline: [{ erpAssetId: 'EQ-1', erpModule: 'maintenance', destination: 'erp', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
        rules: { maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }], feedback: { pollEvery: '50ms' } } },
      });
    /** Waits until the store holds `n` listings of each (entries and the copies counted on them), then says what it holds. */
    const kept = async (store: Pick<SqliteStore, 'listQuarantine'>, n: number) => {
      const rows = await waitFor(async () => {
        const all = await store.listQuarantine({ limit: 100 });
        return all.reduce((sum, q) => sum + 1 + (q.repeats ?? 0), 0) >= 2 * n ? all : undefined;
      }, `${n} listings of each kept`);
      return rows.map((q) => [q.status, q.channel, JSON.parse(String(q.payload)) as { externalKey: string }]).map(([status, channel, p]) => [status, channel, (p as { externalKey: string }).externalKey]);
    };
    // The service's log: what its polls said of the records they could not read.
    const lines: string[] = [];
    const logs = createLogger('debug', 'assetbridge', { write: (line: string) => void lines.push(line) });
    const couldNotRead = () => lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.msg.includes('could not read'));
    try {
      const app = await createApp(await config(), { logger: logs, sources: false });
      try {
        await app.start();
        listing = true;
        // Three polls list them: one entry each, the other listings counted on it.
        expect(await kept(app.store, 3)).toEqual([
          ['open', 'workorders/erp', unmapped.externalKey],
          ['open', 'workorders/erp', noId.externalKey],
        ]);
      } finally {
        await app.stop();
      }
      // Said once, by the poll that kept them: not by those that listed them again.
      expect(couldNotRead().map((l) => [l.level, l.msg.slice(0, l.msg.indexOf(','))])).toEqual([[40, 'work-order poll of erp could not read 2 work orders assetbridge opened']]);
      lines.length = 0;
      const before = listings;
      // The service started again (the task's memory gone): three more polls list them, still one entry each, and say nothing of them.
      const again = await createApp(await config(), { logger: logs, sources: false });
      try {
        await again.start();
        await waitFor(() => listings >= before + 3, 'three more polls');
        expect(await kept(again.store, 6)).toHaveLength(2);
        expect(await again.store.countQuarantine({})).toBe(2);
      } finally {
        await again.stop();
      }
      expect(couldNotRead()).toEqual([]);
    } finally {
      await new Promise((resolve) => erp.close(resolve));
    }
  });
});

describe('createApp and usage of periods before the first posting', () => {
  it('says nothing of them at its start: the first period-end posting says it, of the period it posts (usage-posting task)', async () => {
    const path = tempStorePath();
    const attributes = { expectedUnits: '10000' };
    const store = new SqliteStore({ path, synchronous: 'normal' });
    await store.upsertAssets(['EQ-1'].map((id) => ({ asset: { erpAssetId: id, erpModule: 'maintenance', attributes }, identifiers: [{ type: 'tag' as const, value: `tag-${id}`, erpAssetId: id }] })));
    const periods = { '2026-09': { units: 50, meterAtEnd: 1000 }, '2026-10': { units: 62.5, meterAtEnd: 1062.5 }, '2026-11': { units: 10, meterAtEnd: 1072.5 } };
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { depreciation: { first: [Date.UTC(2026, 8, 20), 950], last: [Date.UTC(2026, 10, 30), 1072.5], periods } }, changed: ['depreciation'] }], deliveries: [], quarantine: [], accepted: 0 });
    await store.close();
    const config = compileConfig({
      store: { path },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      rules: { depreciation: { timeZone: 'UTC', postAfter: '2d' } },
    });
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    // 2 December 23:55: October is the latest postable now, November by the time the first check runs.
    const app = await createApp(config, { http: false, deliver: false, logger, clock: { now: () => Date.UTC(2026, 11, 2, 23, 55) } });
    await app.close();
    expect(lines.map((l) => JSON.parse(l) as { msg: string }).filter((l) => /periods before/.test(l.msg))).toEqual([]);
  });
});
