/**
 * Commands that take an asset (`--asset X`, `reset-meter X`) read it as the ERP asset id. An
 * operator with the tag in hand was told `no asset "tag-1" in the registry`, as if the tag were not
 * mapped; the error now names the asset the identifier belongs to.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rulesSchema } from '../../config/rules-schema.js';
import type { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { tempStore } from '../../../test/helpers/temp-store.js';
import { assetNameHint } from './asset-name.js';
import { previewDepreciation } from './depreciation.js';
import { planRefile } from './depreciation-refile.js';
import { loadMaintenanceStatus } from './maintenance.js';
import { loadMeterReport } from './meters.js';

const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

const assets = [
  { asset: { erpAssetId: 'EX-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'nc-tag-1', erpAssetId: 'EX-1' }] },
  { asset: { erpAssetId: 'EX-2', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'pin' as const, value: 'WNCE0803PAAL00542', erpAssetId: 'EX-2' }] },
];
const TAG_HINT = 'no asset "nc-tag-1" in the registry; "nc-tag-1" is the tag of asset EX-1: name it by its ERP asset id, EX-1';

describe('an asset named by an identifier or in another case', () => {
  it('is pointed to its ERP asset id; a name nothing has gets no hint', () => {
    expect(assetNameHint(assets, ' NC-TAG-1 ')).toBe('; " NC-TAG-1 " is the tag of asset EX-1: name it by its ERP asset id, EX-1');
    expect(assetNameHint(assets, 'wnce0803paal00542')).toBe('; "wnce0803paal00542" is the pin of asset EX-2: name it by its ERP asset id, EX-2');
    expect(assetNameHint(assets, 'ex-2')).toBe('; did you mean EX-2? (ERP asset ids match exactly)');
    expect(assetNameHint(assets, 'EX-404')).toBe('');
  });

  it('maintenance status, assets meters and depreciation preview and refile name the asset the identifier belongs to', async () => {
    const store = tempStore();
    stores.push(store);
    await store.upsertAssets(assets);
    const rules = rulesSchema.parse({ maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }] }, depreciation: { timeZone: 'UTC' } });
    await expect(loadMaintenanceStatus(store, rules, 'nc-tag-1')).rejects.toThrow(TAG_HINT);
    await expect(loadMeterReport(store, { asset: 'nc-tag-1' })).rejects.toThrow(TAG_HINT);
    await expect(previewDepreciation(store, rules, '2026-10', 'erp', Date.parse('2026-11-05T00:00:00Z'), 'nc-tag-1')).rejects.toThrow(
      'no asset "nc-tag-1" (or depreciation does not apply to it); "nc-tag-1" is the tag of asset EX-1: name it by its ERP asset id, EX-1',
    );
    const depreciation = rules.depreciation;
    if (!depreciation) throw new Error('no depreciation rules');
    await expect(planRefile(store, depreciation, 'nc-tag-1')).rejects.toThrow('"nc-tag-1" is the tag of asset EX-1: name it by its ERP asset id, EX-1');
    // A name that is nothing's still points to the list.
    await expect(loadMeterReport(store, { asset: 'EX-404' })).rejects.toThrow(`no asset "EX-404" in the registry; see 'assetbridge assets list'`);
  });
});
