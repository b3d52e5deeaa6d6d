/**
 * End to end: a sent record holding a key with no separator between location and SKU (edited by
 * hand, or written by an older version) made every inventory run throw; `inventory counts` leaves
 * it out of the table and says so on stderr, naming the record and the key, as the run does.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { INVENTORY_NS } from '../../src/engine/tasks/index.js';
import { runCli, writeConfig } from '../helpers/cli.js';

/** A config whose store has one pallet (P-1, SKU PAL-40) and `text` as the `sent:erp` record; its path. */
async function withSentRecord(text: string): Promise<string> {
  const { path, dir } = writeConfig((d) => ({
    store: { path: join(d, 'ab.db') },
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
    rules: { inventory: { skuAttribute: 'sku' } },
  }));
  const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
  await store.upsertAssets([{ asset: { erpAssetId: 'P-1', erpModule: 'inventory', attributes: { sku: 'PAL-40' } }, identifiers: [{ type: 'tag', value: 'tag-p1', erpAssetId: 'P-1' }] }]);
  await store.kvSet(INVENTORY_NS, 'sent:erp', text);
  await store.close();
  return path;
}

describe('inventory counts with a malformed key in the sent record', () => {
  it('shows the other cells, exit 0, warning on stderr of the key it left out', async () => {
    const path = await withSentRecord(JSON.stringify({ cells: { '1000/0001\u001fPAL-40': { quantity: 2, revision: 1 }, '1000/0001PAL-40': { quantity: 3, revision: 4 } } }));
    const r = await runCli(['inventory', 'counts', '-c', path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^DESTINATION .*\nerp +1000\/0001 +PAL-40 +0 +0 +2 +1 +-2\n\n/);
    expect(r.stderr).toContain('warning: inventory sent record entries left out of the counts');
    expect(r.stderr).toContain('record "sent:erp" (kv namespace "inventory"): "1000/0001PAL-40"');
    const json = await runCli(['inventory', 'counts', '--json', '-c', path]);
    expect((JSON.parse(json.stdout) as { malformedKeys?: unknown }).malformedKeys).toEqual({ erp: ['1000/0001PAL-40'] });
  }, 60_000);

  // A record that was not JSON made `inventory counts` (and every run) throw.
  it('with a record that is not JSON: the cells as never sent, exit 0, warning on stderr of the record and what the next run does', async () => {
    const path = await withSentRecord('{"cells":{"1000/0001\\u001fPAL-40":{"quan');
    const r = await runCli(['inventory', 'counts', '-c', path]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: inventory sent record damaged (edited by hand, or written over): record "sent:erp" (kv namespace "inventory") is not valid JSON');
    expect(r.stderr).toContain('The next inventory run sends each such cell its full count');
    const json = await runCli(['inventory', 'counts', '--json', '-c', path]);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { damagedRecords?: { erp?: { record?: string } } }).damagedRecords?.erp?.record).toMatch(/^not valid JSON/);
  }, 60_000);
});
