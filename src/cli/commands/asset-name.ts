/**
 * What to tell an operator who named an asset (`--asset X`, `reset-meter X`) that has no such ERP
 * id: an operator often has the tag or PIN in hand, which the registry knows, so "no asset" alone
 * would read as if the asset were not mapped.
 * @module
 */
import { normalizeIdentifier } from '../../core/model/assets.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';

/**
 * `; "tag-1" is the tag of asset EX-1: name it by its ERP asset id, EX-1` when `name` is another
 * asset's identifier, `; did you mean EX-1? (ERP asset ids match exactly)` when it is an ERP id in
 * another case, else ''.
 */
export function assetNameHint(assets: readonly AssetWithIdentifiers[], name: string): string {
  const key = normalizeIdentifier(name);
  const byId = assets.find((a) => normalizeIdentifier(a.asset.erpAssetId) === key);
  if (byId) return `; did you mean ${byId.asset.erpAssetId}? (ERP asset ids match exactly)`;
  for (const a of assets) {
    const id = a.identifiers.find((i) => normalizeIdentifier(i.value) === key);
    if (id) return `; "${name}" is the ${id.type} of asset ${a.asset.erpAssetId}: name it by its ERP asset id, ${a.asset.erpAssetId}`;
  }
  return '';
}
