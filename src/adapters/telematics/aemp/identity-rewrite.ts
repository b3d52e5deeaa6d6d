/**
 * A copy of one equipment element (JSON) whose identity says only what it should: the header and
 * Trackunit `Metadata` are rebuilt from the identifiers kept. Used when a person confirmed a match
 * for equipment whose identifiers also point at another asset, so the engine resolves the copy to
 * the confirmed asset; the original stays in the review entry for the record.
 * @module
 */
import type { IdentifierType, SourceIdentifier } from '../../../core/model/events.js';

const HEADER_FIELD: Partial<Record<IdentifierType, string>> = { pin: 'PIN', vin: 'VIN', serial: 'SerialNumber' };
const METADATA_FIELD: Partial<Record<IdentifierType, string>> = {
  'machine-id': 'MachineId',
  'unit-id': 'UnitId',
  'device-serial': 'TelematicSerialNumber',
  'external-ref': 'ExternalReferenceNumber',
};

const IDENTITY_SECTIONS = new Set(['equipmentheader', 'header', 'metadata']);
const DESCRIPTIVE_HEADER_FIELDS = new Set(['oemname', 'make', 'manufacturer', 'model', 'unitinstalldatetime']);

const norm = (k: string): string => k.toLowerCase().replace(/[\s_.-]+/g, '');

/** Rewrite `payload` (one equipment element as JSON) to carry only the identifiers in `keep`. */
export function rewriteIdentity(payload: string, keep: readonly SourceIdentifier[]): string {
  const element = JSON.parse(payload) as Record<string, unknown>;
  const header: Record<string, unknown> = {};
  const metadata: Record<string, unknown> = {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(element)) {
    if (!IDENTITY_SECTIONS.has(norm(k))) {
      out[k] = v;
      continue;
    }
    if (norm(k) !== 'metadata' && v !== null && typeof v === 'object') {
      // Keep the descriptive header fields (make, model, install time); identity is rebuilt below.
      for (const [hk, hv] of Object.entries(v as Record<string, unknown>)) if (DESCRIPTIVE_HEADER_FIELDS.has(norm(hk))) header[hk] = hv;
    }
  }
  for (const id of keep) {
    const h = HEADER_FIELD[id.type];
    const m = METADATA_FIELD[id.type];
    if (h !== undefined) header[h] = id.value;
    else if (m !== undefined) metadata[m] = id.value;
  }
  return JSON.stringify({ EquipmentHeader: header, ...(Object.keys(metadata).length ? { Metadata: metadata } : {}), ...out });
}
