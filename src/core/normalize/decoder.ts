/**
 * Decoders turn a source's raw bytes into canonical events. They are pure and deterministic, so a
 * quarantined message replays to the same result once its cause is fixed. A decoder never throws
 * for bad input: it returns a reason instead (invariant 6).
 * @module
 */
import type { CanonicalEvent } from '../model/events.js';
import type { RawMessage } from '../model/messages.js';

export type DecodeResult =
  | { readonly ok: true; readonly events: readonly CanonicalEvent[] }
  | { readonly ok: false; readonly reason: string };

export type Decoder = (message: RawMessage) => DecodeResult;

/** Bytes or string to text; UTF-8 with replacement, never throws. */
export function payloadText(payload: Uint8Array | string): string {
  return typeof payload === 'string' ? payload : new TextDecoder('utf-8').decode(payload);
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
