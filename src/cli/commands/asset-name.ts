/**
 * An asset named on the command line (`--asset X`, `reset-meter X`, `rules test --trace X`): by its
 * ERP asset id, or by any identifier the registry maps to exactly one asset (a tag, a PIN, a
 * serial, ...), as an operator often has the tag or PIN in hand. One resolution for every command.
 * @module
 */
import { UsageError } from '../../core/errors/errors.js';
import { normalizeIdentifier } from '../../core/model/assets.js';
import type { AssetWithIdentifiers, Store } from '../../ports/store.js';

/** The asset a name resolved to, and, when the name is not its ERP id as written, how it matched. */
export interface AssetNameMatch {
  readonly erpAssetId: string;
  /** How the name matched when it is not the ERP id exactly: `its tag`, `its pin WNCE0803PAAL00542`, `its ERP id in another case`. */
  readonly via?: string;
  /** Other assets that have the name as an identifier, when it is this asset's ERP id exactly (the ERP id wins). */
  readonly alsoIdentifierOf?: readonly string[];
}

/** A PIN or VIN without spaces and dashes, as the identity resolver compares them. */
const compact = (value: string): string => normalizeIdentifier(value).replace(/[\s-]+/g, '');

/**
 * What `name` names in the registry: the asset with that ERP id exactly; else the one asset whose
 * ERP id (in another case) or identifier (trimmed, case-insensitive) it is; else the one whose PIN or
 * VIN it is written with other spaces or dashes. Undefined when it names none; refused (a usage
 * error naming the candidates) when it names several.
 */
export function resolveAssetName(assets: readonly AssetWithIdentifiers[], name: string): AssetNameMatch | undefined {
  const key = normalizeIdentifier(name);
  const identifiersOf = (a: AssetWithIdentifiers) => a.identifiers.filter((i) => normalizeIdentifier(i.value) === key);
  const exact = assets.find((a) => a.asset.erpAssetId === name);
  if (exact) {
    const others = assets.filter((a) => a !== exact && identifiersOf(a).length > 0).map((a) => a.asset.erpAssetId);
    return { erpAssetId: exact.asset.erpAssetId, ...(others.length ? { alsoIdentifierOf: others } : {}) };
  }
  const byName = new Map<string, string>();
  for (const a of assets) {
    const ids = identifiersOf(a);
    if (normalizeIdentifier(a.asset.erpAssetId) === key) byName.set(a.asset.erpAssetId, 'its ERP id in another case');
    else if (ids.length) byName.set(a.asset.erpAssetId, `its ${[...new Set(ids.map((i) => i.type))].join(' and ')}`);
  }
  if (byName.size === 0 && key !== '') {
    const c = compact(name);
    for (const a of assets) {
      const id = a.identifiers.find((i) => (i.type === 'pin' || i.type === 'vin') && compact(i.value) === c);
      if (id) byName.set(a.asset.erpAssetId, `its ${id.type} ${id.value}`);
    }
  }
  if (byName.size > 1) {
    const candidates = [...byName].sort(([x], [y]) => (x < y ? -1 : 1)).map(([id, via]) => `${id} (${via})`);
    throw new UsageError(`"${name}" names ${byName.size} assets: ${candidates.join(', ')}; name the one meant by its ERP asset id`);
  }
  const [found] = [...byName];
  return found ? { erpAssetId: found[0], via: found[1] } : undefined;
}

/** What a command prints (on stderr) of the asset a name resolved to: which asset, when not named by its ERP id exactly. */
export function assetNameNote(name: string, match: AssetNameMatch): string {
  if (match.via !== undefined) return `asset ${match.erpAssetId} ("${name}" is ${match.via})\n`;
  if (match.alsoIdentifierOf?.length) return `asset ${match.erpAssetId}, by its ERP id ("${name}" is also an identifier of ${match.alsoIdentifierOf.join(', ')}: name that by its ERP id)\n`;
  return '';
}

/**
 * The ERP asset id a command's asset argument names, from the registry (see {@link resolveAssetName}),
 * saying on stderr which asset was meant when it was not named by its ERP id; undefined when the
 * registry has no such asset (each command says so in its own words). An ambiguous name is refused.
 */
export async function resolveAssetArg(store: Pick<Store, 'listAssets'>, name: string): Promise<string | undefined> {
  const match = resolveAssetName(await store.listAssets(), name);
  if (!match) return undefined;
  const note = assetNameNote(name, match);
  if (note) process.stderr.write(note);
  return match.erpAssetId;
}

/** The end of a "no asset" error: what a name is matched against, and where the assets are listed. */
export const NO_SUCH_ASSET = "(no ERP asset id or identifier of any asset); see 'assetbridge assets list'";
