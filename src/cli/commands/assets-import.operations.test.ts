/**
 * `assets import` refuses a file that routes an asset to a destination whose connector does not
 * deliver an operation the rules produce for it (as the start and `config check` do): imported
 * while the service runs, its deliveries would only be dead letters until the next start. No
 * destination type lacks an operation yet, so the REST registration is given one without
 * `inventory.count` here, in-process, for the length of a test.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeConfig } from '../../../test/helpers/cli.js';
import { cliInProcess as cli, narrowRest, restoreRest } from '../../../test/helpers/narrowed-rest.js';

afterEach(restoreRest);

function setup(): { config: string; csv: (rows: string[]) => string } {
  const cfg = writeConfig({
    store: { path: 'ab.db' },
    destinations: [
      { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'x' },
      { name: 'sap', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'x' },
    ],
    rules: { inventory: { skuAttribute: 'sku' } },
  });
  narrowRest('inventory.count');
  let n = 0;
  return {
    config: cfg.path,
    csv: (rows) => {
      const file = join(cfg.dir, `assets-${n++}.csv`);
      writeFileSync(file, ['identifier,id_type,erp_asset_id,erp_module,destination,site,sku', ...rows, ''].join('\n'));
      return file;
    },
  };
}

describe('assets import and the operations a destination delivers', () => {
  it('refuses (exit 2, nothing imported) a file routing an inventory item to a destination without inventory.count', async () => {
    const { config, csv } = setup();
    const file = csv(['tag-a1,tag,A-1,,erp,,', 'tag-p1,tag,P-1,,sap,,PAL-1']);
    const r = await cli(['assets', 'import', file, '-c', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/destinations\.1: destination "sap" does not deliver inventory\.count .*rules\.inventory produces .*such as P-1 in .*assets-0\.csv/);
    expect(r.stderr).toContain(`nothing of ${file} was imported`);
    const exported = await cli(['assets', 'export', '-c', config]);
    expect(exported.stdout).not.toContain('A-1');
  });

  it('imports a file whose assets routed there are no inventory items, warning of what one would do', async () => {
    const { config, csv } = setup();
    const r = await cli(['assets', 'import', csv(['tag-p1,tag,P-1,,sap,,']), '-c', config]);
    expect(r.code).toBeUndefined();
    expect(r.stdout).toContain('imported 1 identifier(s) for 1 asset(s)');
    expect(r.stdout).toMatch(/warning: destinations\.1: destination "sap" does not deliver inventory\.count/);
  });
});
