/**
 * Signatures of ERP work-order pushes: HMAC-SHA256 of the body (or, with timestamped signing, of
 * `<timestamp>.<body>`), sent as hex or base64, with or without a `sha256=` prefix, as ERPs and
 * middleware write them. Checked in constant time against every accepted secret (two while one is
 * being replaced). Pure: the caller says what time it is.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How a destination's pushes are signed (its `webhook` config). */
export interface WebhookSigning {
  /** The secret and, while it is being replaced, the previous one: a push signed with either passes. */
  readonly secrets: readonly string[];
  /** Header carrying the push's Unix time in seconds; absent: the signature covers the body alone, and no time is checked. */
  readonly timestampHeader?: string;
  /** How far the timestamp may be from this host's clock, either way. */
  readonly toleranceMs: number;
}

/** Why a push's signature is refused; the caller words it (it knows the config keys). */
export type SignatureFault =
  | { readonly fault: 'no-signature' }
  | { readonly fault: 'not-a-digest' }
  | { readonly fault: 'mismatch' }
  | { readonly fault: 'no-timestamp' }
  | { readonly fault: 'bad-timestamp'; readonly value: string; readonly milliseconds: boolean }
  | { readonly fault: 'stale' | 'future'; readonly skewMs: number };

const DIGEST_BYTES = 32;
const HEX = /^[0-9a-f]{64}$/i;
/** Standard or URL-safe alphabet, padding optional: 43 characters carry 32 bytes. */
const BASE64 = /^[A-Za-z0-9+/_-]{43}=?$/;

/** The 32-byte digest a signature header carries (`sha256=` prefix optional, hex or base64), or undefined when it carries none. */
export function signatureDigest(header: string): Buffer | undefined {
  const value = header.trim().replace(/^sha256=/i, '');
  if (HEX.test(value)) return Buffer.from(value, 'hex');
  if (BASE64.test(value)) {
    const digest = Buffer.from(value, 'base64'); // Node reads the URL-safe alphabet too
    return digest.length === DIGEST_BYTES ? digest : undefined;
  }
  return undefined;
}

/** What is signed: the body as sent, after `<timestamp>.` when pushes are timestamped. */
export function signedContent(body: string | Uint8Array, timestamp?: string): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return timestamp === undefined ? bytes : Buffer.concat([Buffer.from(`${timestamp}.`, 'utf8'), bytes]);
}

/**
 * Checks a push's signature (and, when timestamped, its age): undefined when it passes. The time
 * is judged only once the signature holds, so a stale answer describes a genuine push (a clock
 * off, or a replay) and tells a forger nothing.
 */
export function checkWebhookSignature(
  signing: WebhookSigning,
  body: string | Uint8Array,
  header: (name: string) => string | undefined,
  signatureHeader: string,
  nowMs: number,
): SignatureFault | undefined {
  const sent = header(signatureHeader);
  if (sent === undefined || sent.trim() === '') return { fault: 'no-signature' };
  let timestamp: string | undefined;
  if (signing.timestampHeader !== undefined) {
    timestamp = header(signing.timestampHeader)?.trim();
    if (timestamp === undefined || timestamp === '') return { fault: 'no-timestamp' };
    // Unix seconds; 13 digits and more are milliseconds (a year past 5000 in seconds).
    if (!/^\d{1,12}$/.test(timestamp)) return { fault: 'bad-timestamp', value: echoed(timestamp), milliseconds: /^\d{13,}$/.test(timestamp) };
  }
  const digest = signatureDigest(sent);
  if (digest === undefined) return { fault: 'not-a-digest' };
  const content = signedContent(body, timestamp);
  // Every secret is tried, whatever matched, so the time taken does not say which one did.
  let matched = false;
  for (const secret of signing.secrets) matched = timingSafeEqual(createHmac('sha256', secret).update(content).digest(), digest) || matched;
  if (!matched) return { fault: 'mismatch' };
  if (timestamp !== undefined) {
    const skewMs = nowMs - Number(timestamp) * 1000;
    if (skewMs > signing.toleranceMs) return { fault: 'stale', skewMs };
    if (-skewMs > signing.toleranceMs) return { fault: 'future', skewMs: -skewMs };
  }
  return undefined;
}

/** The longest part of a caller's timestamp quoted back (an ISO time is 24 characters). */
const ECHO_CHARS = 24;

/**
 * What the answer and the log quote of a caller's timestamp header: printable ASCII only (any other
 * character as `?`, so no control character or look-alike reaches a terminal or a log viewer), cut
 * to {@link ECHO_CHARS} with `…`.
 */
function echoed(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > ECHO_CHARS ? `${printable.slice(0, ECHO_CHARS)}…` : printable;
}
