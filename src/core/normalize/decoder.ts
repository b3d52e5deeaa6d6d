/**
 * Decoders turn a source's raw bytes into canonical events. They are pure and deterministic, so a
 * quarantined message replays to the same result once its cause is fixed. A decoder never throws
 * for bad input: it returns a reason instead (invariant 6).
 * @module
 */
import type { CanonicalEvent } from '../model/events.js';
import type { RawMessage } from '../model/messages.js';
import { jsonSyntaxErrorText } from '../json-text.js';

export type DecodeResult =
  | { readonly ok: true; readonly events: readonly CanonicalEvent[] }
  | { readonly ok: false; readonly reason: string };

export type Decoder = (message: RawMessage) => DecodeResult;

/** Bytes or string to text; UTF-8 with replacement, never throws. */
export function payloadText(payload: Uint8Array | string): string {
  return typeof payload === 'string' ? payload : new TextDecoder('utf-8').decode(payload);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A payload's text for a decoder: bytes read as UTF-8, strictly. Decoded with replacement, bytes
 * of another encoding could still parse, with U+FFFD in the ids and names; they are kept as bytes
 * in quarantine instead, with the reason (how many bytes, the first of them).
 */
export function utf8Text(payload: Uint8Array | string): { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string } {
  if (typeof payload === 'string') return { ok: true, text: payload };
  try {
    return { ok: true, text: strictUtf8.decode(payload) };
  } catch {
    const first = Array.from(payload.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    return { ok: false, reason: `payload is not UTF-8 text (${payload.byteLength} bytes starting ${first})` };
  }
}

/** How a decoder's reason for a payload that is not JSON starts. */
export const NOT_JSON = 'payload is not JSON: ';

/**
 * A decoder's reason for a payload `text` that JSON.parse refused with `err`: where (line and
 * column, {@link jsonSyntaxErrorText}), what, and the cause when it can be told ({@link notJsonHint}).
 */
export function notJsonReason(text: string, err: unknown): string {
  return `${NOT_JSON}${jsonSyntaxErrorText(text, err instanceof Error ? err.message : String(err))}${notJsonHint(text)}`;
}

/**
 * What to add to "payload is not JSON: …" when the cause can be told: UTF-16 text (a NUL beside
 * every ASCII character) or a payload with nothing in it.
 */
export function notJsonHint(text: string): string {
  if (text.trim() === '') return '; the payload is empty';
  if (text.includes('\u0000')) return '; it has NUL characters, as UTF-16 text has: the sender must send UTF-8';
  return '';
}
