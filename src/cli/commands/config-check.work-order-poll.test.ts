/**
 * `config check --connect` tries the work-order poll's query too (changes since now: a harmless
 * read) for each destination the service polls (rules.maintenance.feedback.pollEvery, with
 * maintenance rules): a refusal fails, naming the key to fix; a list that ignores ?updatedSince= is
 * warned of; without polling it is not asked.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator } from '../../../simulators/erp-rest/erp-simulator.js';
import { compileConfig } from '../../config/load.js';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
import { checkConnections } from './config-check.js';

const HOUR = 3_600_000;
let honest: ErpSimulator;
let unfiltered: ErpSimulator;
beforeAll(async () => {
  honest = await startErpSimulator({ token: 'right-token' });
  // An ERP whose history holds a work order changed an hour ago, which ignores ?updatedSince=.
  let shift = HOUR;
  unfiltered = await startErpSimulator({ token: 'right-token', updatedSinceFilter: false, now: () => Date.now() - shift });
  for (const sim of [honest, unfiltered]) {
    const created = await fetch(`${sim.url}/api/v1/work-orders`, { method: 'POST', headers: { authorization: 'Bearer right-token', 'content-type': 'application/json' }, body: JSON.stringify({ erpAssetId: 'EQ-1', title: 'manual' }) });
    expect(created.status).toBe(201);
  }
  shift = 0;
});
afterAll(async () => {
  await honest.close();
  await unfiltered.close();
});

const maintenance = { serviceIntervals: [{ name: 'service-250h', everyHours: 250 }] };

describe('config check --connect and the work-order poll', () => {
  it('asks each polled destination for the changes since now: ok when filtered, failed naming the key when refused, a warning when the ERP ignores updatedSince', async () => {
    const config = compileConfig({
      destinations: [
        { name: 'filtered', type: 'rest', baseUrl: honest.url, token: 'right-token' },
        // The simulator takes orderBy=updatedAt asc|desc only: the poll's query is refused, the lookup is not.
        { name: 'badorder', type: 'rest', baseUrl: honest.url, token: 'right-token', workOrderOrder: { param: 'orderBy', value: 'title asc' } },
        { name: 'unfiltered', type: 'rest', baseUrl: unfiltered.url, token: 'right-token' },
      ],
      rules: { maintenance },
      log: { level: 'silent' },
    });
    const check = await checkConnections(config);
    const [filtered, badorder, ignores] = check.lines;
    if (process.env.SHOW) process.stdout.write(`${check.lines.join('\n')}\n`);
    expect(check.ok).toBe(false);
    expect(filtered).toMatch(new RegExp(`^  ok      destination filtered: GET ${honest.url}/api/v1/work-orders\\?externalKey=assetbridge-connectivity-check → 200 in \\d+ ms; GET ${honest.url}/api/v1/work-orders\\?updatedSince=\\S+Z \\(the work-order poll, rules\\.maintenance\\.feedback\\.pollEvery\\) → 200 in \\d+ ms$`));
    expect(badorder).toMatch(/^ {2}FAILED {2}destination badorder: GET .*externalKey=.* → 200 in \d+ ms; but http:\/\/127\.0\.0\.1:\d+: GET \/api\/v1\/work-orders → 400 .*orderBy must be.*this was the work-order poll \(GET \/api\/v1\/work-orders\?updatedSince=<ISO time>&orderBy=title asc.*\(check destinations\.1\.paths\.workOrders and workOrderOrder\)$/);
    expect(ignores).toMatch(/^ {2}ok {6}destination unfiltered: .* → 200 in \d+ ms; WARNING: the answer to the work-order poll for changes since \S+ \(now\) lists 1 of its 1 work order\(s\) changed before then, .*the ERP ignores \?updatedSince=.*paths\.workOrders.*rules\.maintenance\.feedback\.pollEvery: 0/);
    expect(check.results[2]).toMatchObject({ status: 'ok', warning: expect.stringContaining('ignores ?updatedSince=') });
  });

  it('does not ask it where the service does not poll (no maintenance rules, or pollEvery 0)', async () => {
    for (const rules of [{}, { maintenance: { ...maintenance, feedback: { pollEvery: 0 } } }]) {
      const config = compileConfig({ destinations: [{ name: 'unfiltered', type: 'rest', baseUrl: unfiltered.url, token: 'right-token' }], rules, log: { level: 'silent' } });
      const [line] = (await checkConnections(config)).lines;
      expect(line).not.toContain('updatedSince');
      expect(line).not.toContain('WARNING');
    }
  });

  it('the command says the warning and exits 0; a refused poll exits 1 naming the key', async () => {
    const warned = writeConfig((dir) => ({ store: { path: join(dir, 'ab.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: unfiltered.url, token: 'right-token' }], rules: { maintenance }, server: { port: 0 } }));
    const ok = await runCli(['config', 'check', '--connect', '-c', warned.path]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ {2}ok {6}destination erp: .*; WARNING: .*ignores \?updatedSince=/m);
    const json = await runCli(['config', 'check', '--connect', '--json', '-c', warned.path]);
    expect((JSON.parse(json.stdout) as { connections: { warning?: string }[] }).connections[0]?.warning).toContain('ignores ?updatedSince=');
    const refused = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: honest.url, token: 'right-token', workOrderOrder: { param: 'orderBy', value: 'title asc' } }],
      rules: { maintenance },
      server: { port: 0 },
    }));
    const failed = await runCli(['config', 'check', '--connect', '-c', refused.path]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^ {2}FAILED {2}destination erp: .*→ 400 .*\(check destinations\.0\.paths\.workOrders and workOrderOrder\)$/m);
  });
});
