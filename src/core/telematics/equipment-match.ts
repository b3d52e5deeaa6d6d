/**
 * Matching telematics equipment to ERP assets, for the review step before pulled data enters the
 * pipeline. Equipment that matches exactly one asset is linked; equipment that matches none, or
 * whose identifiers point at two different assets, is not linked silently: it goes to a review list
 * where a person confirms the match (reference/telematics.md §4.7).
 *
 * Identifiers compare like the engine's identity index (trimmed, case-insensitive; a PIN or VIN
 * also without its spaces and dashes), so what matches here resolves there. A typed match wins (PIN ↔ PIN); otherwise an identifier may match a related
 * type when exactly one asset has it (a PIN stored in the ERP as a serial number). Pure: no I/O.
 * @module
 */
import { compactVehicleId, normalizeIdentifier } from '../model/assets.js';
import type { IdentifierType, SourceIdentifier } from '../model/events.js';

/** An ERP asset with its identifiers (the store's `AssetWithIdentifiers`, structurally). */
export interface AssetWithIdentifiersLike {
  readonly asset: { readonly erpAssetId: string };
  readonly identifiers: readonly { readonly type: IdentifierType; readonly value: string }[];
}

/** Identifier types that may stand for each other when the typed lookup finds nothing. */
const RELATED: Readonly<Partial<Record<IdentifierType, readonly IdentifierType[]>>> = {
  pin: ['vin', 'serial'],
  vin: ['pin', 'serial'],
  serial: ['pin', 'vin'],
  'device-serial': ['tracker'],
  // Not 'external-ref' → the ERP asset id itself: the engine's identity index resolves an
  // external-ref only through a registered identifier, and both must agree on every match.
  'external-ref': [],
  'unit-id': [],
  'machine-id': [],
};

/** Which identifier makes an equipment key, most stable first. */
const KEY_ORDER: readonly IdentifierType[] = ['machine-id', 'pin', 'vin', 'serial', 'device-serial', 'unit-id', 'external-ref', 'tracker', 'tag'];

/**
 * A stable key for one physical machine within a provider: its most stable identifier as
 * `type:VALUE` (upper-case). Used to de-duplicate equipment across pages and to key the review list.
 * Falls back to the free-text label, and to '' when the equipment names nothing at all.
 */
export function equipmentKey(ids: readonly SourceIdentifier[], label?: string): string {
  for (const type of KEY_ORDER) {
    const id = ids.find((i) => i.type === type && i.value.trim() !== '');
    if (id) return `${type}:${id.value.trim().toUpperCase()}`;
  }
  const first = ids.find((i) => i.value.trim() !== '');
  if (first) return `${first.type}:${first.value.trim().toUpperCase()}`;
  return label !== undefined && label.trim() !== '' ? `label:${label.trim().toUpperCase()}` : '';
}

export interface MatchCandidate {
  readonly erpAssetId: string;
  /** The equipment's identifiers that point at this asset. */
  readonly via: readonly SourceIdentifier[];
}

export type EquipmentMatch =
  | {
      readonly status: 'matched';
      readonly erpAssetId: string;
      readonly via: readonly SourceIdentifier[];
      /** A person confirmed this match (it wins over identifiers). */
      readonly confirmed: boolean;
      /** Identifiers that point at other assets (only for confirmed matches); leave them out downstream. */
      readonly conflicting: readonly SourceIdentifier[];
    }
  | { readonly status: 'ambiguous'; readonly candidates: readonly MatchCandidate[] }
  | { readonly status: 'unmatched' };

/** An index of ERP assets by identifier, plus matches a person confirmed (equipment key → asset). */
export class EquipmentMatcher {
  private readonly typed = new Map<string, Set<string>>();
  private readonly assetIds = new Map<string, string>();
  /** PINs and VINs without spaces and dashes (by type) → the assets that have them (as the identity index). */
  private readonly vehicleIds = new Map<string, Set<string>>();

  constructor(
    assets: readonly AssetWithIdentifiersLike[],
    private readonly confirmed: ReadonlyMap<string, string> = new Map(),
  ) {
    for (const { asset, identifiers } of assets) {
      this.assetIds.set(normalizeIdentifier(asset.erpAssetId), asset.erpAssetId);
      for (const id of identifiers) {
        const k = `${id.type}\u001f${normalizeIdentifier(id.value)}`;
        const set = this.typed.get(k) ?? new Set<string>();
        set.add(asset.erpAssetId);
        this.typed.set(k, set);
        const compact = compactVehicleId(id.type, id.value);
        if (compact !== undefined) this.vehicleIds.set(compact, (this.vehicleIds.get(compact) ?? new Set<string>()).add(asset.erpAssetId));
      }
    }
  }

  /** True when an asset with this ERP id exists. */
  hasAsset(erpAssetId: string): boolean {
    return this.assetIds.get(normalizeIdentifier(erpAssetId)) === erpAssetId;
  }

  /** Match one equipment by its key (for confirmed matches) and identifiers. */
  match(key: string, ids: readonly SourceIdentifier[]): EquipmentMatch {
    const pinned = this.confirmed.get(key);
    const found = this.byIdentifiers(ids);
    if (pinned !== undefined && this.hasAsset(pinned)) {
      const via = found.get(pinned) ?? [];
      const conflicting = [...found].filter(([asset]) => asset !== pinned).flatMap(([, list]) => list).filter((id) => !via.includes(id));
      return { status: 'matched', erpAssetId: pinned, via, confirmed: true, conflicting };
    }
    if (found.size === 1) {
      const [[erpAssetId, via]] = [...found] as [[string, SourceIdentifier[]]];
      return { status: 'matched', erpAssetId, via, confirmed: false, conflicting: [] };
    }
    if (found.size > 1) return { status: 'ambiguous', candidates: [...found].map(([erpAssetId, via]) => ({ erpAssetId, via })) };
    return { status: 'unmatched' };
  }

  /** ERP asset id → the identifiers that point at it. */
  private byIdentifiers(ids: readonly SourceIdentifier[]): Map<string, SourceIdentifier[]> {
    const hits = new Map<string, SourceIdentifier[]>();
    const add = (erpAssetId: string, id: SourceIdentifier): void => {
      const list = hits.get(erpAssetId) ?? [];
      if (!list.includes(id)) list.push(id);
      hits.set(erpAssetId, list);
    };
    for (const id of ids) {
      const norm = normalizeIdentifier(id.value);
      if (norm === '') continue;
      const exact = this.typed.get(`${id.type}\u001f${norm}`);
      if (exact) {
        for (const a of exact) add(a, id);
        continue;
      }
      const compact = compactVehicleId(id.type, id.value);
      const vehicle = compact === undefined ? undefined : this.vehicleIds.get(compact);
      if (vehicle?.size === 1) {
        add([...vehicle][0] as string, id);
        continue;
      }
      const related = new Set<string>();
      for (const type of RELATED[id.type] ?? []) {
        if (type === 'erp') {
          const asset = this.assetIds.get(norm);
          if (asset !== undefined) related.add(asset);
        } else {
          for (const a of this.typed.get(`${type}\u001f${norm}`) ?? []) related.add(a);
        }
      }
      // A related-type hit counts only when it is unambiguous on its own.
      if (related.size === 1) add([...related][0] as string, id);
    }
    return hits;
  }
}
