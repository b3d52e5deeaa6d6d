/**
 * How quarantine tells one message from another: by a hash of its whole payload, kept with its
 * entry, since an entry may keep only the start of a payload (too large to keep whole).
 * @module
 */
import { createHash } from 'node:crypto';

/** SHA-256 (hex) of a payload's bytes (text as UTF-8). */
export function payloadSha256(payload: Uint8Array | string): string {
  return createHash('sha256').update(payload).digest('hex');
}

/** The hash a quarantine entry keeps for a record's version (`QuarantineEntry.version`), apart from any payload's. */
export function versionSha256(version: string): string {
  return createHash('sha256').update('version\u0000').update(version).digest('hex');
}
