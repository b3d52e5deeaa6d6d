/**
 * `config check` judges the operations the configured rules produce against what each destination
 * the listed assets are routed to delivers, by its registration (`CONNECTORS` in src/app.ts: no
 * connector is built, no secret read). No destination type lacks an operation yet, so the REST
 * registration is given one without `inventory.count` here, in-process, for the length of a test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { writeConfig } from '../../../test/helpers/cli.js';
import { cliInProcess, narrowRest, restoreRest } from '../../../test/helpers/narrowed-rest.js';

afterEach(restoreRest);

async function check(sapAsset: Record<string, string>): Promise<{ code: number | string | undefined; stdout: string; stderr: string }> {
  const cfg = writeConfig({
    store: { path: 'ab.db' },
    destinations: [
      { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: '${AB_OPS_CHECK_UNSET}' },
      { name: 'sap', type: 'rest', baseUrl: 'http://127.0.0.1:9' },
    ],
    rules: { inventory: { skuAttribute: 'sku' } },
    assets: { inline: [{ erpAssetId: 'P-1', destination: 'sap', attributes: sapAsset, identifiers: [{ type: 'tag', value: 'tag-p1' }] }] },
  });
  narrowRest('inventory.count');
  return cliInProcess(['config', 'check', '-c', cfg.path]);
}

describe('config check and the operations a destination delivers', () => {
  it('is invalid (exit 2) when an inventory item listed in the config is routed to a destination without inventory.count', async () => {
    const r = await check({ sku: 'PAL-1' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/destinations\.1 \(line \d+\): destination "sap" does not deliver inventory\.count .*rules\.inventory produces .*such as P-1 listed in the config/);
  });

  it('warns, under the destination key, when none of the assets routed there is an inventory item', async () => {
    const r = await check({ site: 'BER' });
    expect(r.code).toBeUndefined();
    expect(r.stdout).toMatch(/warning: destinations\.1 \(line \d+\): destination "sap" does not deliver inventory\.count/);
  });
});
