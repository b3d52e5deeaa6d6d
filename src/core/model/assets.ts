/**
 * The identity registry's records: a tracked asset as the ERP knows it, and the tracking-side
 * identifiers that point at it.
 * @module
 */
import type { IdentifierType } from './events.js';

export interface AssetRecord {
  /** The ERP's id for the asset (equipment number, asset tag, record id). */
  readonly erpAssetId: string;
  /** ERP module that owns the asset record, e.g. `fixed-assets`, `inventory`, `maintenance`. */
  readonly erpModule: string;
  /** Destination (ERP connector name) for this asset; the default destination when absent. */
  readonly destination?: string;
  /** Free-form attributes used by rules (site, sku, cost, salvage, expected units, ...). */
  readonly attributes: Readonly<Record<string, string>>;
}

export interface IdentifierRecord {
  readonly type: IdentifierType;
  /** As given; comparisons use {@link normalizeIdentifier}. */
  readonly value: string;
  readonly erpAssetId: string;
}

/** Identifiers compare trimmed and case-insensitively. */
export function normalizeIdentifier(value: string): string {
  return value.trim().toLowerCase();
}

/**
 * A PIN (ISO 10261) or VIN (ISO 3779) without the spaces and dashes people write them with for
 * reading ("WNCE-0803-PAAL-00542"): the standards allow only letters and digits, so both forms
 * name the same machine. Keyed by type (a PIN matches PINs); undefined for other types, whose
 * separators may tell two ids apart.
 */
export function compactVehicleId(type: IdentifierType, value: string): string | undefined {
  return type === 'pin' || type === 'vin' ? `${type}\u001f${normalizeIdentifier(value).replace(/[\s-]+/g, '')}` : undefined;
}
