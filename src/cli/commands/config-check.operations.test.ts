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

describe('config check, meter.record and rules.meters', () => {
  /** `config check` of a config whose REST destinations deliver no meter.record, with `meters` (absent: meter sync on for every asset). */
  async function checkMeters(meters?: object): Promise<{ code: number | string | undefined; stdout: string; stderr: string }> {
    const cfg = writeConfig({
      store: { path: 'ab.db' },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: '${AB_OPS_CHECK_UNSET}' }],
      rules: meters ? { meters } : {},
      assets: { inline: [{ erpAssetId: 'R-1', attributes: { fleet: 'rented' }, identifiers: [{ type: 'pin', value: 'PIN-R1' }] }] },
    });
    narrowRest('meter.record');
    return cliInProcess(['config', 'check', '-c', cfg.path]);
  }

  it('is invalid with meter sync on for every asset, and says how to turn it off or limit it', async () => {
    const r = await checkMeters();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/destinations\.0 \(line \d+\): destination "erp" does not deliver meter\.record .*meter sync \(rules\.meters, on for every asset\) produces .*or set rules\.meters\.appliesTo to the assets whose meter readings are to be sent \(or rules\.meters\.enabled: false to send none\)/);
  });

  it('is valid with rules.meters.enabled: false, and only warns when its appliesTo picks none of the assets routed there', async () => {
    const off = await checkMeters({ enabled: false });
    expect(off.code).toBeUndefined();
    expect(off.stdout).not.toContain('meter.record');
    const limited = await checkMeters({ appliesTo: { attributes: { fleet: 'own' } } });
    expect(limited.code).toBeUndefined();
    expect(limited.stdout).toMatch(/warning: destinations\.0 \(line \d+\): destination "erp" does not deliver meter\.record .*which rules\.meters produces for the assets its appliesTo picks; none of the assets listed in the config routed to it \(the default destination\) is one now/);
  });
});
