/**
 * A payload over `ingest.maxPayloadBytes` is quarantined unparsed, but not whole: a sender gone
 * wrong (a 100 MB message, a loop that appends) would otherwise fill the store with it. The entry
 * keeps the payload's first {@link TOO_LARGE_KEPT_BYTES} bytes, enough to see what sent it, and
 * says its size; such an entry cannot be run again, so a replay passes it over.
 * @module
 */
import type { QuarantineEntry } from '../core/model/messages.js';
import { payloadSha256 } from '../core/model/payload-hash.js';

/** How many bytes of a too-large payload its quarantine entry keeps. */
export const TOO_LARGE_KEPT_BYTES = 64 * 1024;

/**
 * The quarantine entry's payload and reason for a payload of `size` bytes over `limit`; when only
 * its start is kept, the SHA-256 of all of it, which tells this message from another that begins
 * the same (a copy the broker sends again is then counted on its own entry, not on the other's).
 */
export function tooLarge(
  payload: Uint8Array | string,
  size: number,
  limit: number,
): { readonly payload: Uint8Array | string; readonly reason: string; readonly payloadSha256?: string } {
  const over = `payload of ${size} bytes exceeds ingest.maxPayloadBytes (${limit})`;
  if (size <= TOO_LARGE_KEPT_BYTES) return { payload, reason: `${over}; raise the limit or fix the sender` };
  const head = prefix(payload);
  const kept = typeof head === 'string' ? Buffer.byteLength(head) : head.byteLength;
  return {
    payload: head,
    payloadSha256: payloadSha256(payload),
    reason: `${over}; only its first ${kept} bytes are kept here, to show what sent it, so it cannot be replayed: fix the sender (or raise the limit for the messages to come), then discard it`,
  };
}

/** The payload's first {@link TOO_LARGE_KEPT_BYTES} bytes: a copy (a view would keep the whole message in memory), text kept as text, cut between characters. */
function prefix(payload: Uint8Array | string): Uint8Array | string {
  if (typeof payload !== 'string') return Uint8Array.prototype.slice.call(payload, 0, TOO_LARGE_KEPT_BYTES);
  const bytes = Buffer.from(payload.slice(0, TOO_LARGE_KEPT_BYTES), 'utf8');
  let end = Math.min(bytes.length, TOO_LARGE_KEPT_BYTES);
  // Back to the start of a character: UTF-8 continuation bytes are 10xxxxxx.
  if (end < bytes.length) while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.toString('utf8', 0, end);
}

/** Whether a `too-large` entry holds only the start of its payload (its reason names a larger size than it holds). */
export function keptOnlyPrefix(entry: Pick<QuarantineEntry, 'code' | 'reason' | 'payload'>): boolean {
  if (entry.code !== 'too-large') return false;
  const size = /^payload of (\d+) bytes/.exec(entry.reason)?.[1];
  const held = typeof entry.payload === 'string' ? Buffer.byteLength(entry.payload) : entry.payload.byteLength;
  return size !== undefined && Number(size) > held;
}
