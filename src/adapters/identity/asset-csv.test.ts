import { describe, expect, it } from 'vitest';
import { CsvError, formatAssetCsv, parseAssetCsv } from './asset-csv.js';

describe('asset CSV', () => {
  it('parses rows, merges identifiers per asset and keeps extra columns as attributes', () => {
    const rows = parseAssetCsv('identifier,id_type,erp_asset_id,erp_module,destination,site\ntag-1,tag,A1,fixed-assets,,P1\n"PIN,1",pin,A1,fixed-assets,,P1\ntag-2,,A2,inventory,erp2,\n');
    expect(rows).toEqual([
      { asset: { erpAssetId: 'A1', erpModule: 'fixed-assets', attributes: { site: 'P1' } }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'A1' }, { type: 'pin', value: 'PIN,1', erpAssetId: 'A1' }] },
      { asset: { erpAssetId: 'A2', erpModule: 'inventory', destination: 'erp2', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-2', erpAssetId: 'A2' }] },
    ]);
    expect(parseAssetCsv(formatAssetCsv(rows))).toEqual(rows);
  });

  it('names the line and column at fault', () => {
    expect(() => parseAssetCsv('identifier,id_type,erp_asset_id\ntag-1,bogus,A1\n,tag,A2\n', 'm.csv')).toThrow(CsvError);
    try {
      parseAssetCsv('identifier,id_type,erp_asset_id\ntag-1,bogus,A1\n,tag,A2\n', 'm.csv');
    } catch (err) {
      expect((err as CsvError).problems).toEqual(['m.csv line 2: id_type "bogus" is not one of tag, tracker, pin, vin, serial, device-serial, external-ref, machine-id, unit-id, erp', 'm.csv line 3: column identifier is empty']);
    }
  });
});
