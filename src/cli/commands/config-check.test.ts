/**
 * `config check --connect` against the ERP simulator, an in-process MQTT broker and the Trackunit
 * simulator: what works is reported with what was tried, what fails names the config key to fix,
 * and nothing is written (nor any fleet request spent).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator } from '../../../simulators/erp-rest/erp-simulator.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../simulators/mqtt-broker/embedded-broker.js';
import { fleetMqttSourceConfig } from '../../../simulators/fleet/index.js';
import { startTrackunitSimulator, DEFAULT_SIM_CREDENTIALS, type RunningTrackunitSimulator } from '../../../simulators/trackunit/simulator.js';
import { simulatorConfig } from '../../../simulators/trackunit/test-support.js';
import { compileConfig } from '../../config/load.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConnector, configuredAssets } from '../../app.js';
import { probeTelematicsAuth } from '../../adapters/telematics/auth/probe.js';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
import { assetFileProblems, assetFileWarnings, checkConnections, telematicsProblems } from './config-check.js';
import type { ProbeResult } from '../../ports/connector.js';

let erp: ErpSimulator;
let broker: EmbeddedBroker;
let trackunit: RunningTrackunitSimulator;
beforeAll(async () => {
  erp = await startErpSimulator({ token: 'right-token' });
  broker = await startEmbeddedBroker();
  trackunit = await startTrackunitSimulator({ fleetSize: 10 });
});
afterAll(async () => {
  await erp.close();
  await broker.close();
  await trackunit.close();
});

const mqttSource = (name: string, url: string) => fleetMqttSourceConfig(url, { name, clientId: `ab-${name}` });

describe('config check --connect', () => {
  it('tries every destination and broker, and names the key to fix for each failure', async () => {
    const config = compileConfig({
      destinations: [
        { name: 'good', type: 'rest', baseUrl: erp.url, token: 'right-token' },
        { name: 'badtoken', type: 'rest', baseUrl: erp.url, token: 'wrong-token' },
        { name: 'badpath', type: 'rest', baseUrl: erp.url, token: 'right-token', paths: { workOrders: '/api/v1/nowhere' } },
        { name: 'down', type: 'rest', baseUrl: 'http://127.0.0.1:65533', token: 'x', timeoutMs: '2s' }, // nothing listens there
      ],
      sources: { mqtt: [mqttSource('up', broker.url), mqttSource('gone', 'mqtt://127.0.0.1:9')] },
      telematics: [],
      log: { level: 'silent' },
    });
    const before = erp.counters();
    const check = await checkConnections(config);
    expect(check.ok).toBe(false);
    const [good, badtoken, badpath, down, up, gone] = check.lines;
    if (process.env.SHOW) process.stdout.write(`${check.lines.join('\n')}\n`);
    expect(good).toMatch(new RegExp(`^  ok      destination good: GET ${erp.url}/api/v1/work-orders\\?externalKey=assetbridge-connectivity-check → 200 in \\d+ ms$`));
    expect(badtoken).toMatch(/^ {2}FAILED {2}destination badtoken: http:\/\/127\.0\.0\.1:\d+: GET \/api\/v1\/work-orders → 401 .*\(check destinations\.1\.token \/ auth\)$/);
    expect(badtoken).not.toContain('wrong-token');
    expect(badpath).toMatch(/^ {2}FAILED {2}destination badpath: http:\/\/127\.0\.0\.1:\d+: GET \/api\/v1\/nowhere → 404 .*\(check destinations\.2\.paths\.workOrders\)$/);
    expect(down).toMatch(/^ {2}FAILED {2}destination down: http:\/\/127\.0\.0\.1:65533: GET \/api\/v1\/work-orders → connection-refused: .*ECONNREFUSED.*\(check destinations\.3\.baseUrl\)$/);
    expect(up).toMatch(new RegExp(`^  ok      mqtt source up: connect to ${broker.url.replace(/[.]/g, '\\.')} \\(MQTT 3\\.1\\.1\\) in \\d+ ms$`));
    expect(gone).toMatch(/^ {2}FAILED {2}mqtt source gone: connect to mqtt:\/\/127\.0\.0\.1:9: .*ECONNREFUSED.*\(check sources\.mqtt\.1\.url, username, password and TLS files\)$/);
    // Reads only: nothing was created at the ERP.
    expect(erp.state().workOrders).toEqual([]);
    expect(erp.counters().applied).toEqual(before.applied);
  });

  it('an ERP answer that echoes a configured header is printed with the value scrubbed, whatever the header is named', async () => {
    // Every header of a destination is a credential (config check never echoes one); an ERP's
    // refusal may quote one back (`unknown tenant …`), which the probe's line must not print.
    const echoing = createServer((req, res) => {
      res.writeHead(401, { 'content-type': 'text/plain' }).end(`unknown tenant ${String(req.headers['x-erp-tenant'])}`);
    });
    await new Promise<void>((resolve) => echoing.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = echoing.address() as AddressInfo;
      const config = compileConfig({
        destinations: [{ name: 'erp', type: 'rest', baseUrl: `http://127.0.0.1:${port}`, token: 'right-token', headers: { 'X-Erp-Tenant': 'tenant-S3cret-4471' } }],
        log: { level: 'silent' },
      });
      const [line] = (await checkConnections(config)).lines;
      expect(line).toMatch(/^ {2}FAILED {2}destination erp: .* → 401 .*unknown tenant \[REDACTED\]/);
      expect(line).not.toContain('S3cret');
    } finally {
      echoing.close();
    }
  });

  it('a destination that does not answer in time says how long it waited and names timeoutMs beside baseUrl, not that the ERP may have applied a read', async () => {
    const slow = await startErpSimulator({ token: 'right-token' });
    try {
      slow.faults.add({ kind: 'timeout', method: 'GET' });
      const config = compileConfig({ destinations: [{ name: 'slow', type: 'rest', baseUrl: slow.url, token: 'right-token', timeoutMs: '300ms' }], log: { level: 'silent' } });
      const [line] = (await checkConnections(config)).lines;
      expect(line).toMatch(/^ {2}FAILED {2}destination slow: .* → timeout: no answer within 300 ms .*\(check destinations\.0\.baseUrl and destinations\.0\.timeoutMs\)$/);
      expect(line).not.toContain('may have applied');
    } finally {
      await slow.close();
    }
  });

  it('an answer cut short (JSON that ends early, or the connection closed mid-body) says so and points at the ERP and what is in front of it, not the path', async () => {
    const cutting = await startErpSimulator({ token: 'right-token' });
    // Answers 200 with the headers of a whole body, sends half of it and closes the connection.
    const closing = await startErpSimulator({ token: 'right-token' });
    closing.faults.add({ kind: 'cut-body', method: 'GET' });
    try {
      // The work-order lookup's JSON cut in half, then the empty batch's.
      cutting.faults.add({ kind: 'malformed', method: 'GET', path: '/api/v1/work-orders' });
      cutting.faults.add({ kind: 'malformed', method: 'POST', path: '/api/v1/$batch' });
      const config = compileConfig({
        destinations: [
          { name: 'cutjson', type: 'rest', baseUrl: cutting.url, token: 'right-token' },
          { name: 'cutbatch', type: 'rest', baseUrl: cutting.url, token: 'right-token', batch: { maxSize: 10 } },
          { name: 'closed', type: 'rest', baseUrl: closing.url, token: 'right-token' },
        ],
        log: { level: 'silent' },
      });
      const [cutjson, cutbatch, closed] = (await checkConnections(config)).lines;
      const hint = "(check the ERP's logs and any proxy or load balancer in front of it, whose limit on an answer's time or size may have ended it; then try again)";
      expect(cutjson).toMatch(/^ {2}FAILED {2}destination cutjson: GET .*\/api\/v1\/work-orders\?externalKey=assetbridge-connectivity-check → 200, but the answer is JSON cut short \(6 characters, ending "\{\\"item"\): the ERP answered at this address and path, and the answer was cut short /);
      expect(cutjson!.endsWith(hint)).toBe(true);
      expect(cutbatch).toMatch(/^ {2}FAILED {2}destination cutbatch: POST .*\/api\/v1\/\$batch \(an empty batch\) → 200, but the answer is JSON cut short .*: the ERP answered at this address and path, and the answer was cut short /);
      expect(cutbatch!.endsWith(hint)).toBe(true);
      expect(closed).toMatch(/^ {2}FAILED {2}destination closed: GET .*\/api\/v1\/work-orders\?externalKey=assetbridge-connectivity-check → 200, but the connection closed before the whole answer came \(.*\): the ERP answered at this address and path, and the answer was cut short /);
      expect(closed!.endsWith(hint)).toBe(true);
      for (const line of [cutjson, cutbatch, closed]) expect(line).not.toMatch(/paths\.workOrders|batch\.path|baseUrl/);
    } finally {
      await cutting.close();
      await closing.close();
    }
  });

  it('an answer with no body at all (200, empty) says it was empty and what that likely means, not "got undefined"', async () => {
    const empty = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '0' }).end());
    await new Promise<void>((resolve) => empty.listen(0, '127.0.0.1', resolve));
    try {
      const config = compileConfig({
        destinations: [{ name: 'empty', type: 'rest', baseUrl: `http://127.0.0.1:${(empty.address() as AddressInfo).port}`, token: 'x' }],
        log: { level: 'silent' },
      });
      const [line] = (await checkConnections(config)).lines;
      expect(line).toMatch(
        /^ {2}FAILED {2}destination empty: GET .*\/api\/v1\/work-orders\?externalKey=assetbridge-connectivity-check → 200, but the answer was empty \(no body at all, where a work-order list \(at least \[\]\) was expected\): most likely something other than the ERP's API answers at this path \(a gateway's or web server's default route\), else the ERP ended its answer before any of it \(check destinations\.0\.paths\.workOrders\)$/,
      );
      expect(line).not.toContain('undefined');
    } finally {
      await new Promise((resolve) => empty.close(resolve));
    }
  });

  it('tries the on-hand read too where a destination has one: a path answering without a quantity names paths.inventoryOnHand', async () => {
    const onHand = '/api/v1/inventory/on-hand?location={location}&sku={sku}';
    const config = compileConfig({
      destinations: [
        { name: 'reads', type: 'rest', baseUrl: erp.url, token: 'right-token', paths: { inventoryOnHand: onHand } },
        // The work-order list answers 200 with a list: no quantity in it.
        { name: 'misread', type: 'rest', baseUrl: erp.url, token: 'right-token', paths: { inventoryOnHand: '/api/v1/work-orders?location={location}&sku={sku}' } },
      ],
      log: { level: 'silent' },
    });
    const check = await checkConnections(config);
    const [reads, misread] = check.lines;
    expect(check.ok).toBe(false);
    expect(reads).toMatch(/^ {2}ok {6}destination reads: GET .*work-orders\?externalKey=assetbridge-connectivity-check → 200 in \d+ ms; GET .*\/inventory\/on-hand\?location=assetbridge-connectivity-check&sku=assetbridge-connectivity-check → (200 in \d+ ms|404, read as 0 on hand .*)$/);
    expect(misread).toMatch(/^ {2}FAILED {2}destination misread: GET .*\/work-orders\?location=assetbridge-connectivity-check&sku=assetbridge-connectivity-check → 200, but .*\(check destinations\.1\.paths\.inventoryOnHand\)$/);
  });

  it('mints one token per telematics feed, never asks the fleet, and names the auth key to fix without printing a secret', async () => {
    const wrongSecret = 'wrong-Client-Secret-4711';
    const legacy = DEFAULT_SIM_CREDENTIALS.legacy;
    const config = compileConfig({
      destinations: [{ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'right-token' }],
      telematics: [
        simulatorConfig({ name: 'tu' }, trackunit.origin),
        simulatorConfig({ name: 'tu-v2' }, trackunit.origin, true),
        simulatorConfig({ name: 'tu-wrong', auth: { type: 'trackunit-password', ...legacy, clientSecret: wrongSecret, tokenUrl: trackunit.tokenUrl } }, trackunit.origin),
        // Nothing listens there.
        simulatorConfig({ name: 'tu-down', timeout: '2s', auth: { type: 'trackunit-password', ...legacy, tokenUrl: 'http://127.0.0.1:65533/token' } }, trackunit.origin),
        simulatorConfig({ name: 'samsara', auth: { type: 'bearer', token: 'feed-Bearer-Token-1' } }, trackunit.origin),
      ],
      log: { level: 'silent' },
    });
    const before = { ...trackunit.stats };
    const check = await checkConnections(config);
    if (process.env.SHOW) process.stdout.write(`${check.lines.join('\n')}\n`);
    expect(check.ok).toBe(false);
    const [destination, tu, v2, wrong, down, bearer] = check.lines;
    expect(destination).toMatch(/^ {2}ok {6}destination erp: /);
    const budget = "each request spends the provider's request budget; 'assetbridge aemp equipment PIN' tries one machine";
    const ok = (name: string, url: string) => new RegExp(`^  ok      telematics ${name}: token from ${url.replace(/[.]/g, '\\.')} in \\d+ ms \\(the fleet was not asked: ${budget.replace(/[().']/g, '\\$&')}\\)$`);
    expect(tu).toMatch(ok('tu', trackunit.tokenUrl));
    expect(v2).toMatch(ok('tu-v2', trackunit.tokenV2Url));
    expect(wrong).toMatch(/^ {2}FAILED {2}telematics tu-wrong: password token request refused \(HTTP 401: .*invalid_client.*\); check the client id, secret, username, password and scopes in telematics\.2\.auth$/);
    expect(down).toMatch(/^ {2}FAILED {2}telematics tu-down: cannot reach the token endpoint http:\/\/127\.0\.0\.1:65533\/token \(.*ECONNREFUSED.*\); check the network and telematics\.3\.auth\.tokenUrl$/);
    expect(bearer).toBe(`  -       telematics samsara: bearer credentials are sent with each request; not tried (${budget})`);
    expect(check.lines).toHaveLength(6);
    for (const secret of [wrongSecret, legacy.clientSecret, legacy.password, DEFAULT_SIM_CREDENTIALS.v2.clientSecret, 'feed-Bearer-Token-1']) expect(check.lines.join('\n')).not.toContain(secret);
    // Token requests only (the right, v2 and wrong ones): no fleet or equipment request spent.
    expect(trackunit.stats.tokenRequests - before.tokenRequests).toBe(3);
    expect(trackunit.stats.isoRequests).toBe(before.isoRequests);
    expect(trackunit.stats.requests - before.requests).toBe(3);
    expect(trackunit.stats.byUrl.size).toBe(0);
  });

  it('is ok with static telematics credentials, which it does not send, and asks the injected probe for each feed', async () => {
    const basic = simulatorConfig({ name: 'basic', auth: { type: 'basic', username: 'u', password: 'feed-Basic-Password-1' } }, trackunit.origin);
    const destinations = [{ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'right-token' }];
    const config = compileConfig({ destinations, telematics: [basic, simulatorConfig({ name: 'tu' }, trackunit.origin)], log: { level: 'silent' } });
    const asked: [string, number][] = [];
    const check = await checkConnections(config, {
      connector: buildConnector,
      mqtt: () => Promise.reject(new Error('no MQTT source is configured')),
      telematics: (t, i) => {
        asked.push([t.name, i]);
        return t.auth.type === 'basic' ? probeTelematicsAuth(t, i) : Promise.resolve({ ok: false, tried: true, detail: 'refused (check telematics.1.auth)' });
      },
    });
    expect(asked).toEqual([['basic', 0], ['tu', 1]]);
    expect(check.lines.slice(1)).toEqual([
      "  -       telematics basic: basic credentials are sent with each request; not tried (each request spends the provider's request budget; 'assetbridge aemp equipment PIN' tries one machine)",
      '  FAILED  telematics tu: refused (check telematics.1.auth)',
    ]);
    expect(check.ok).toBe(false);
    const staticOnly = await checkConnections(compileConfig({ destinations, telematics: [basic], log: { level: 'silent' } }));
    expect(staticOnly.ok).toBe(true);
    expect(staticOnly.lines.join('\n')).not.toContain('feed-Basic-Password-1');
  });

  it("names the MQTT source's clientId, not its url and credentials, when the broker refused the check's client id", async () => {
    const config = compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'right-token' }], sources: { mqtt: [mqttSource('yard', 'mqtt://127.0.0.1:1883'), mqttSource('gate', 'mqtt://127.0.0.1:1883')] }, log: { level: 'silent' } });
    const check = await checkConnections(config, {
      connector: buildConnector,
      mqtt: (m) => Promise.resolve(m.name === 'yard' ? { ok: false, detail: 'refused the check\'s own client id', problem: 'other', key: 'clientId' } : { ok: false, detail: 'connect ECONNREFUSED' }),
      telematics: () => Promise.reject(new Error('no telematics feed is configured')),
    });
    expect(check.lines.slice(1)).toEqual([
      "  FAILED  mqtt source yard: refused the check's own client id (check sources.mqtt.0.clientId)",
      '  FAILED  mqtt source gate: connect ECONNREFUSED (check sources.mqtt.1.url, username, password and TLS files)',
    ]);
  });

  it("names another destination type's entry, not REST's keys, when its probe names no key of its own", async () => {
    const rest = compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'right-token' }, { name: 'erp2', type: 'rest', baseUrl: erp.url }], log: { level: 'silent' } });
    // A connector type this version does not have yet (docs/adding-a-connector.md), whose probe leaves `key` out.
    const config = { ...rest, destinations: [{ ...rest.destinations[0], type: 'sap' }, rest.destinations[1]] } as unknown as typeof rest;
    const probes: ProbeResult[] = [
      { ok: false, detail: 'GET /sap/opu/odata → 401', problem: 'credentials' },
      { ok: false, detail: 'GET /x → 401', problem: 'credentials' },
    ];
    let n = 0;
    const check = await checkConnections(config, {
      connector: (d) => ({ name: d.name, capabilities: { maxBatchSize: 1, operations: [] }, send: () => Promise.resolve([]), probe: () => Promise.resolve(probes[n++] as ProbeResult) }),
      mqtt: () => Promise.reject(new Error('no MQTT source is configured')),
      telematics: () => Promise.reject(new Error('no telematics feed is configured')),
    });
    expect(check.lines).toEqual([
      '  FAILED  destination erp: GET /sap/opu/odata → 401 (check destinations.0, its credentials)',
      '  FAILED  destination erp2: GET /x → 401 (check destinations.1.token / auth)',
    ]);
  });

  it('is all ok when everything answers', async () => {
    const config = compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: erp.url, token: 'right-token' }], sources: { mqtt: [mqttSource('up', broker.url)] }, log: { level: 'silent' } });
    const check = await checkConnections(config);
    expect(check).toMatchObject({ ok: true });
    expect(check.lines).toHaveLength(2);
  });
});

describe('asset CSVs named in the config', () => {
  it('are read as the service reads them at start: a destination that is not configured is named, with its file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-assets-'));
    const file = join(dir, 'mapping.csv');
    writeFileSync(file, 'identifier,id_type,erp_asset_id,erp_module,destination\ntag-1,tag,EQ-1,maintenance,erp\ntag-2,tag,EQ-2,maintenance,sap\n');
    const config = compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], assets: { files: [file] } });
    const problems = assetFileProblems(config);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.key).toBe('assets.files.0');
    expect(problems[0]?.message).toMatch(/line 3: .*sap/);
    // The service refuses to start on the same file, with the same words.
    expect(() => configuredAssets(config)).toThrow(/sap/);
  });

  it('one that cannot be read is named with why in words and what to do, not Node\'s ENOENT', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-assets-'));
    const config = compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], assets: { files: [join(dir, 'mapping.csv'), dir] } });
    expect(assetFileProblems(config)).toEqual([
      { key: 'assets.files.0', message: `cannot read the asset CSV ${join(dir, 'mapping.csv')} (no such file or directory): fix the path (a relative one is taken from the config file's directory), or remove the entry` },
      { key: 'assets.files.1', message: `cannot read the asset CSV ${dir} (it is a directory): name the asset CSV itself, not its directory` },
    ]);
  });

  it('codes a spreadsheet turned into dates are warned of under the file, with its line and column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-assets-'));
    const file = join(dir, 'mapping.csv');
    writeFileSync(file, 'identifier,id_type,erp_asset_id\ntag-1,tag,EQ-1\n2-Jan,serial,EQ-2\n');
    const config = compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], assets: { files: [file] } });
    expect(assetFileProblems(config)).toEqual([]);
    expect(assetFileWarnings(config)).toEqual([{ key: 'assets.files.0', message: expect.stringMatching(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 3, column identifier: "2-Jan" looks like a date a spreadsheet made of the value`)) as unknown }]);
  });
});

describe('inventory quantities of the configured assets', () => {
  it('a quantity that is not a whole number is named with its asset and key, inline or in a file; without inventory it is not read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-assets-'));
    const file = join(dir, 'pallets.csv');
    writeFileSync(file, 'identifier,id_type,erp_asset_id,sku,quantity\nt-1,tag,P-1,S,ten\nt-2,tag,P-2,S,40\nt-3,tag,P-3,S,\n');
    const base = {
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { files: [file], inline: [{ erpAssetId: 'P-9', identifiers: [{ type: 'tag', value: 't-9' }], attributes: { sku: 'S', quantity: '0x10' } }] },
    };
    const problems = assetFileProblems(compileConfig({ ...base, rules: { inventory: {} } }));
    expect(problems.map((p) => [p.key, p.message.replace(/: the quantity attribute.*?;/, ':…;')])).toEqual([
      ['assets.inline.0.attributes.quantity', 'asset P-9 has quantity "0x10":…; fix it in the config'],
      ['assets.files.0', `${file} line 2: asset P-1 has quantity "ten":…; fix the cell`],
    ]);
    expect(problems[0]?.message).toContain('must be a whole number of units one tag stands for, from 0 to 1000000000 (e.g. 40), or empty for 1');
    expect(assetFileProblems(compileConfig(base))).toEqual([]);
  });
});

describe('telematics feeds named in the config', () => {
  it('a vendor without a default address needs baseUrl, said by config check rather than at start', () => {
    const config = compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], telematics: [{ name: 'oem', vendor: 'generic', auth: { type: 'bearer', token: 'feed-token' } }] });
    expect(telematicsProblems(config)).toEqual([{ key: 'telematics.0.baseUrl', message: expect.stringContaining('set baseUrl') as unknown }]);
  });

  it('a 6-field cron (with seconds) is refused, not read as a time nobody meant', () => {
    expect(() => compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], telematics: [{ name: 'tu', vendor: 'trackunit', auth: { type: 'bearer', token: 'feed-token' }, schedule: { cron: '0 0 3 * * *' } }] })).toThrow(/not a 5-field cron/);
  });
});

describe('config check (the built CLI)', () => {
  it('refuses an ASSETBRIDGE_LOG_LEVEL that is no level, as run and every command opening the store do, naming the variable', async () => {
    const cfg = writeConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], sources: { http: { token: 'intake-token' } } });
    const bad = await runCli(['config', 'check', '-c', cfg.path], { ASSETBRIDGE_LOG_LEVEL: 'loud' });
    expect({ code: bad.code, stdout: bad.stdout }).toEqual({ code: 2, stdout: '' });
    expect(bad.stderr).toBe('error: ASSETBRIDGE_LOG_LEVEL "loud" is not a log level; use one of fatal, error, warn, info, debug, trace, silent (or unset it)\n');
    const good = await runCli(['config', 'check', '-c', cfg.path], { ASSETBRIDGE_LOG_LEVEL: 'DEBUG' });
    expect({ code: good.code, stderr: good.stderr }).toEqual({ code: 0, stderr: '' });
    expect(good.stdout).toMatch(/is valid/);
  });
});
