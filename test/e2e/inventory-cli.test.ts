/**
 * End to end: inventory sync through `assetbridge run` (HTTP intake → zones → inventory task →
 * REST ERP simulator), read with `assetbridge inventory counts` and `inventory items`, and a full
 * snapshot asked for with `assetbridge inventory snapshot` while the service runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import { startErpService, type ErpService } from '../helpers/erp-service.js';
import type { InventoryReport } from '../../src/engine/tasks/index.js';
import { runCli, type ServiceProcess } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'intake-token-inv';
const env = { INTAKE_TOKEN: TOKEN, ERP_TOKEN: 'erp-token' };
let erp: ErpSimulator;
let svc: ServiceProcess;
let base: string;
let cfg: { path: string; dir: string };
let service: ErpService;

beforeAll(async () => {
  service = await startErpService({
    simulator: { knownAssets: ['P-1', 'P-2', 'P-3'] },
    env,
    config: {
      sources: { http: { token: '${INTAKE_TOKEN}' } },
      assets: {
        inline: [
          { erpAssetId: 'P-1', erpModule: 'inventory', attributes: { sku: 'PAL-40', quantity: '40' }, identifiers: [{ type: 'tag', value: 'tag-p1' }] },
          { erpAssetId: 'P-2', erpModule: 'inventory', attributes: { sku: 'PAL-40' }, identifiers: [{ type: 'tag', value: 'tag-p2' }] },
          { erpAssetId: 'P-3', erpModule: 'inventory', attributes: { sku: 'DRUM' }, identifiers: [{ type: 'tag', value: 'tag-p3' }] },
        ],
      },
      ingest: { checkpointMs: '200ms' },
      rules: {
        zones: { inline: [{ name: 'yard', locationCode: '1000/0001', circle: { lat: 50.1, lng: 8.68, radiusM: 300 } }] },
        inventory: { changesEvery: '500ms' },
      },
    },
  });
  ({ erp, svc, base, cfg } = service);
});

afterAll(async () => {
  expect(await service?.stop()).toBe(0); // graceful stop
});

const counts = () => erp.state().inventoryCounts.filter((c) => c.location === '1000/0001' && c.sku === 'PAL-40');

describe('inventory sync through the service and the CLI', () => {
  it('counts items seen in a zone, shows them with inventory counts, and sends a snapshot on demand', async () => {
    // Two pallets seen in the yard for two minutes (enter dwell 30 s, lateness 30 s); P-3 never seen.
    const start = Date.now() - 600_000;
    const events = ['tag-p1', 'tag-p2'].flatMap((assetId) =>
      [0, 40, 80, 120].map((s) => ({ kind: 'position', assetId, eventTime: new Date(start + s * 1000).toISOString(), lat: 50.1, lng: 8.68 })),
    );
    const res = await fetch(`${base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(events) });
    expect(res.status).toBe(202);
    await waitFor(() => counts().length > 0, `a count reaches the ERP (output: ${svc.output()})`);
    expect(counts().map((c) => [c.countedQuantity, c.delta])).toEqual([[41, 41]]);

    // The revision the ERP was sent: the time the count was made, in ms (so a restored older store never reuses one).
    const revision = counts()[0]?.revision;
    expect(revision).toBeGreaterThanOrEqual(start);
    const r = await runCli(['inventory', 'counts', '--json', '-c', cfg.path], env);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as InventoryReport;
    expect(report.destinations).toEqual([{ destination: 'erp', cells: [{ location: '1000/0001', sku: 'PAL-40', quantity: 41, items: 2, sentQuantity: 41, revision, change: 0 }] }]);
    expect(report.items).toMatchObject({ total: 3, counted: 2, unseen: 1 });
    expect(report.now as unknown).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/); // ISO 8601, as every time in --json (was epoch ms)
    const table = await runCli(['inventory', 'counts', '-c', cfg.path], env);
    expect(table.stdout).toMatch(new RegExp(`erp\\s+1000/0001\\s+PAL-40\\s+41\\s+2\\s+41\\s+${String(revision)}\\n`));
    // A typo in --location: refused (exit 1, as a zone or destination naming nothing), with the locations there are.
    const typo = await runCli(['inventory', 'counts', '--location', '1000/001', '-c', cfg.path], env);
    expect([typo.code, typo.stdout, typo.stderr]).toEqual([1, '', 'error: no count or item is at location "1000/001"; locations with counts or items: 1000/0001\n']);
    // A SKU an item has, though none of them is counted (DRUM is not seen yet): shown empty, exit 0.
    const drum = await runCli(['inventory', 'counts', '--sku', 'DRUM', '-c', cfg.path], env);
    expect([drum.code, drum.stdout]).toEqual([0, expect.stringMatching(/^no counts match: no count has SKU "DRUM"; SKUs with counts: PAL-40\n/)]);

    const snap = await runCli(['inventory', 'snapshot', '-c', cfg.path], env);
    expect(snap.code).toBe(0);
    expect(snap.stdout).toContain('full snapshot requested');
    await waitFor(() => counts().length > 1, `the snapshot reaches the ERP (output: ${svc.output()})`);
    expect(counts().map((c) => [c.countedQuantity, c.delta])).toEqual([
      [41, 41],
      [41, 0],
    ]);
    await waitFor(async () => !(await runCli(['inventory', 'counts', '-c', cfg.path], env)).stdout.includes('asked for'), 'the request is marked done');
  });

  it('inventory items lists the tags behind a count, and those left out with why', async () => {
    await waitFor(async () => (await runCli(['inventory', 'items', '--json', '-c', cfg.path], env)).stdout.includes('"counted"'), 'the sightings are checkpointed');
    const r = await runCli(['inventory', 'items', '-c', cfg.path], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^DESTINATION +ITEM +TAG +SKU +QUANTITY +LOCATION +STANDING +LAST SEEN +THERE SINCE\n/);
    expect(r.stdout).toMatch(/\nerp +P-1 +tag-p1 +PAL-40 +40 +1000\/0001 +counted +\S+Z +\S+Z\n/);
    expect(r.stdout).toMatch(/\nerp +P-3 +tag-p3 +DRUM +1 +unseen *\n/);
    expect(r.stdout).toContain('3 item(s): 2 counted (quantity 41), 0 stale (last seen over 24 h ago: rules.inventory.freshness), 0 last seen outside every location, 1 not seen yet');
    const unseen = await runCli(['inventory', 'items', '--standing', 'unseen', '--csv', '-c', cfg.path], env);
    expect(unseen.stdout).toBe('destination,item,tag,sku,quantity,location,standing,lastSeen,thereSince\r\nerp,P-3,tag-p3,DRUM,1,,unseen,,\r\n'); // RFC 4180 line ends
    const shelf = await runCli(['inventory', 'items', '--location', '1000/0001', '--sku', 'PAL-40', '--json', '-c', cfg.path], env);
    expect((JSON.parse(shelf.stdout) as { erpAssetId: string; tag: string; quantity: number }[]).map((i) => [i.erpAssetId, i.tag, i.quantity])).toEqual([
      ['P-1', 'tag-p1', 40],
      ['P-2', 'tag-p2', 1],
    ]);
    const bad = await runCli(['inventory', 'items', '--standing', 'lost', '-c', cfg.path], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--standing "lost": use one of counted, stale, unplaced, unseen');
  });

  it('says what to do when asked for a destination that is not configured', async () => {
    const r = await runCli(['inventory', 'counts', '--destination', 'nope', '-c', cfg.path], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: no destination "nope" in the config (destinations: erp)\n');
  });
});
