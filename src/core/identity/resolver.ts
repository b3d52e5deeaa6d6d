/**
 * Identity: tracking-side identifiers → the ERP asset. Pure over an in-memory index that the engine
 * builds from the store. Identifiers compare trimmed and case-insensitively; a typed match wins,
 * then a PIN or VIN written with other spaces or dashes, then an untyped match, each used only
 * when it is unambiguous.
 * @module
 */
import { compactVehicleId, normalizeIdentifier, type AssetRecord, type IdentifierRecord } from '../model/assets.js';
import type { SourceIdentifier } from '../model/events.js';

export type Resolution = { readonly ok: true; readonly asset: AssetRecord } | { readonly ok: false; readonly reason: string };

export class IdentityIndex {
  private readonly assets = new Map<string, AssetRecord>();
  private readonly typed = new Map<string, string>();
  private readonly untyped = new Map<string, Set<string>>();
  private readonly erpIds = new Map<string, string>();
  /** PINs and VINs without spaces and dashes (by type) → the assets that have them. */
  private readonly vehicleIds = new Map<string, Set<string>>();
  /** Memo of successful single-identifier resolutions by exact value (the index never shrinks). */
  private readonly resolved = new Map<string, Map<string, Resolution>>();

  constructor(rows: readonly { asset: AssetRecord; identifiers: readonly IdentifierRecord[] }[] = []) {
    for (const r of rows) this.add(r.asset, r.identifiers);
  }

  get size(): number {
    return this.assets.size;
  }

  add(asset: AssetRecord, identifiers: readonly IdentifierRecord[]): void {
    this.resolved.clear(); // a new identifier can make an earlier untyped match ambiguous
    this.assets.set(asset.erpAssetId, asset);
    this.erpIds.set(normalizeIdentifier(asset.erpAssetId), asset.erpAssetId);
    for (const id of identifiers) {
      const norm = normalizeIdentifier(id.value);
      this.typed.set(`${id.type}\u001f${norm}`, asset.erpAssetId);
      const set = this.untyped.get(norm) ?? new Set<string>();
      set.add(asset.erpAssetId);
      this.untyped.set(norm, set);
      const compact = compactVehicleId(id.type, id.value);
      if (compact !== undefined) {
        const owners = this.vehicleIds.get(compact) ?? new Set<string>();
        owners.add(asset.erpAssetId);
        this.vehicleIds.set(compact, owners);
      }
    }
  }

  asset(erpAssetId: string): AssetRecord | undefined {
    return this.assets.get(erpAssetId);
  }

  resolve(ids: readonly SourceIdentifier[]): Resolution {
    // Fast path: one typed identifier that maps directly (the common case on the ingest hot path).
    const only = ids.length === 1 ? ids[0] : undefined;
    if (only && only.type !== 'erp') {
      const hit = this.resolved.get(only.type)?.get(only.value);
      if (hit) return hit;
    }
    const found = new Map<string, string>(); // erpAssetId → identifier that matched
    const ambiguous: string[] = [];
    for (const id of ids) {
      const norm = normalizeIdentifier(id.value);
      let match: string | undefined;
      if (id.type === 'erp') {
        match = this.erpIds.get(norm);
      } else {
        match = this.typed.get(`${id.type}\u001f${norm}`);
        if (match === undefined) match = this.vehicleId(id);
        if (match === undefined) {
          const candidates = this.untyped.get(norm);
          if (candidates?.size === 1) match = [...candidates][0];
          else if (candidates && candidates.size > 1) {
            ambiguous.push(`${id.type} ${id.value} is no ${id.type} of any asset, and as another type it names several (${[...candidates].sort().join(', ')})`);
          }
        }
      }
      if (match !== undefined && !found.has(match)) found.set(match, id.value);
    }
    if (found.size === 1) {
      const [erpAssetId] = [...found.keys()];
      const asset = erpAssetId === undefined ? undefined : this.assets.get(erpAssetId);
      if (asset) {
        const hit: Resolution = { ok: true, asset };
        if (only && only.type !== 'erp') {
          const byValue = this.resolved.get(only.type) ?? new Map<string, Resolution>();
          byValue.set(only.value, hit);
          this.resolved.set(only.type, byValue);
        }
        return hit;
      }
    }
    if (found.size > 1) {
      const detail = [...found].map(([asset, id]) => `${id} → ${asset}`).join(', ');
      return { ok: false, reason: `identifiers point at different ERP assets (${detail}); fix the mapping so they agree` };
    }
    if (ambiguous.length) return { ok: false, reason: `${ambiguous.join('; ')}; give the identifier its type in the mapping ('assetbridge assets import') then replay the quarantine` };
    const shown = ids.map((i) => `${i.type} ${i.value}`).join(', ') || '(none)';
    return { ok: false, reason: `no ERP mapping for ${shown}; add it with 'assetbridge assets import' then replay the quarantine` };
  }

  /** The one asset with this PIN or VIN written with other spaces or dashes. */
  private vehicleId(id: SourceIdentifier): string | undefined {
    const compact = compactVehicleId(id.type, id.value);
    const owners = compact === undefined ? undefined : this.vehicleIds.get(compact);
    return owners?.size === 1 ? [...owners][0] : undefined;
  }

}
