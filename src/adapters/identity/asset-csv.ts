/**
 * The identity registry as CSV, for spreadsheets and ERP exports:
 * `identifier,id_type,erp_asset_id,erp_module,destination,<any attribute columns...>`.
 * One row per identifier; rows for the same asset are merged. Errors name the line and column.
 * @module
 */
import { parse } from 'csv-parse/sync';
import { IDENTIFIER_TYPES, type IdentifierType } from '../../core/model/events.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import type { IdentifierRecord } from '../../core/model/assets.js';
import { csvField } from '../../core/csv.js';

const CORE_COLUMNS = ['identifier', 'id_type', 'erp_asset_id', 'erp_module', 'destination'] as const;

export class CsvError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'CsvError';
  }
}

export function parseAssetCsv(text: string, fileName = 'CSV'): AssetWithIdentifiers[] {
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), skip_empty_lines: true, trim: true, bom: true });
  } catch (err) {
    throw new CsvError([`${fileName}: not valid CSV: ${(err as Error).message}`]);
  }
  const problems: string[] = [];
  const byAsset = new Map<string, { erpModule: string; destination?: string; attributes: Record<string, string>; ids: IdentifierRecord[] }>();
  records.forEach((r, i) => {
    const line = i + 2; // header is line 1
    const identifier = r.identifier ?? '';
    const erpAssetId = r.erp_asset_id ?? '';
    const idType = (r.id_type || 'tag') as IdentifierType;
    if (!identifier) problems.push(`${fileName} line ${line}: column identifier is empty`);
    if (!erpAssetId) problems.push(`${fileName} line ${line}: column erp_asset_id is empty`);
    if (!IDENTIFIER_TYPES.includes(idType)) problems.push(`${fileName} line ${line}: id_type "${idType}" is not one of ${IDENTIFIER_TYPES.join(', ')}`);
    if (!identifier || !erpAssetId) return;
    const entry = byAsset.get(erpAssetId) ?? { erpModule: r.erp_module || 'fixed-assets', attributes: {}, ids: [] };
    if (r.destination) entry.destination = r.destination;
    for (const [k, v] of Object.entries(r)) if (!(CORE_COLUMNS as readonly string[]).includes(k) && v !== '') entry.attributes[k] = v;
    entry.ids.push({ type: idType, value: identifier, erpAssetId });
    byAsset.set(erpAssetId, entry);
  });
  if (records.length === 0) problems.push(`${fileName}: no rows; expected a header line "identifier,id_type,erp_asset_id,erp_module" and one row per identifier`);
  if (problems.length) throw new CsvError(problems);
  return [...byAsset].map(([erpAssetId, e]) => ({
    asset: { erpAssetId, erpModule: e.erpModule, ...(e.destination ? { destination: e.destination } : {}), attributes: e.attributes },
    identifiers: e.ids,
  }));
}

export function formatAssetCsv(rows: readonly AssetWithIdentifiers[]): string {
  const attrCols = [...new Set(rows.flatMap((r) => Object.keys(r.asset.attributes)))].sort();
  const lines = [[...CORE_COLUMNS, ...attrCols].join(',')];
  for (const { asset, identifiers } of rows) {
    for (const id of identifiers) {
      lines.push(
        [id.value, id.type, asset.erpAssetId, asset.erpModule, asset.destination ?? '', ...attrCols.map((c) => asset.attributes[c] ?? '')].map(csvField).join(','),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
