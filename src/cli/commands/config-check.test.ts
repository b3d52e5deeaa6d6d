/**
 * `config check --connect` against the ERP simulator and an in-process MQTT broker: what works is
 * reported with what was tried, what fails names the config key to fix, and nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator } from '../../../simulators/erp-rest/erp-simulator.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../simulators/mqtt-broker/embedded-broker.js';
import { fleetMqttSourceConfig } from '../../../simulators/fleet/index.js';
import { compileConfig } from '../../config/load.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configuredAssets } from '../../app.js';
import { assetFileProblems, checkConnections, telematicsProblems } from './config-check.js';

let erp: ErpSimulator;
let broker: EmbeddedBroker;
beforeAll(async () => {
  erp = await startErpSimulator({ token: 'right-token' });
  broker = await startEmbeddedBroker();
});
afterAll(async () => {
  await erp.close();
  await broker.close();
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
    expect(problems[0]?.message).toContain('must be a whole number of units one tag stands for, 0 or more (e.g. 40), or empty for 1');
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
