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

describe('assets import, meter.record and rules.meters', () => {
  it('refuses a file routing an asset rules.meters.appliesTo picks to a destination without meter.record, not one it leaves out', async () => {
    const cfg = writeConfig({
      store: { path: 'ab.db' },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'x' }],
      rules: { meters: { appliesTo: { attributes: { site: 'OWN' } } } },
    });
    narrowRest('meter.record');
    const file = (name: string, rows: string[]) => {
      const path = join(cfg.dir, name);
      writeFileSync(path, ['identifier,id_type,erp_asset_id,erp_module,destination,site', ...rows, ''].join('\n'));
      return path;
    };
    const refused = await cli(['assets', 'import', file('own.csv', ['pin-o1,pin,O-1,,,OWN']), '-c', cfg.path]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/destinations\.0: destination "erp" does not deliver meter\.record .*rules\.meters produces .*such as O-1 in .*own\.csv/);
    const taken = await cli(['assets', 'import', file('rented.csv', ['pin-r1,pin,R-1,,,RENTED']), '-c', cfg.path]);
    expect(taken.code).toBeUndefined();
    expect(taken.stdout).toContain('imported 1 identifier(s) for 1 asset(s)');
    expect(taken.stdout).toMatch(/warning: destinations\.0: destination "erp" does not deliver meter\.record/);
  });
});
