/**
 * Classification of REST outcomes into the delivery taxonomy (core/errors). The dispatcher acts
 * on the class only, so every HTTP status decision for the generic REST target lives here:
 *
 * | Outcome | Class |
 * |---|---|
 * | 2xx | ok (no error) |
 * | 429, 503 | {@link RateLimitedError}, `Retry-After` parsed (seconds or HTTP-date) |
 * | another 4xx whose error code is a throttling one (NetSuite RESTlets' 400 `SSS_REQUEST_LIMIT_EXCEEDED`) | {@link RateLimitedError}, as a 429 |
 * | 401 | {@link AuthError} (refresh credentials, then retry) |
 * | 423 Locked (a user holds the record) | {@link ConflictError}: retried with backoff, or after its `Retry-After` |
 * | 400, 404, 409, 410, 412, 422, 428 and any other 4xx | {@link PermanentError} with the ERP's reason (428: no If-Match ETag sent) |
 * | 409 to a write | what {@link conflictMeaning} reads it as: the record already exists (the connector looks it up: delivered), a lock or concurrent change ({@link ConflictError}, with its `Retry-After`), or permanent as above |
 * | 408, other 5xx | {@link RetryableError}; a 5xx to a write with an unknown outcome (a 500 can come after the ERP committed it, a 502/504 from a gateway that gave up while the ERP went on), a read's never (it changed nothing) |
 * | 3xx (redirects are not followed) | {@link PermanentError}: fix `baseUrl` |
 * | timeout, reset, refused, DNS, abort | {@link RetryableError}; timeout, reset, abort and other network errors of a write with an unknown outcome (a read's changed nothing) |
 * @module
 */
import { parseRetryAfter } from '../../../core/delivery/backoff.js';
import {
  AuthError,
  ConflictError,
  PermanentError,
  RateLimitedError,
  RetryableError,
  type DeliveryError,
} from '../../../core/errors/errors.js';
import type { NetworkFailure } from '../../http/http-client.js';

/**
 * A write to an ERP that ignores the idempotency key (`idempotencySupported: false`), for what the
 * error of one whose outcome is unknown says keeps its retry from applying it twice: a `create`
 * (a POST of a record) is looked up by its `externalKey` before it is created again; an `update`
 * (a PATCH) sent again sets the same values; a `batch` holds both.
 */
export type KeyIgnoredWrite = 'create' | 'update' | 'batch';

/** The write a request is, to a destination that ignores the idempotency key (else undefined: the key keeps a retry safe). */
export function keyIgnoredWrite(idempotencySupported: boolean, method: string, batch = false): KeyIgnoredWrite | undefined {
  if (idempotencySupported) return undefined;
  return batch ? 'batch' : method.toUpperCase() === 'POST' ? 'create' : 'update';
}

/** Why the retry of a write the ERP may have applied is safe, as said after its error. */
function mayHaveApplied(keyIgnored: KeyIgnoredWrite | undefined): string {
  const ignored = 'the ERP may have applied it; it ignores the idempotency key (idempotencySupported: false),';
  switch (keyIgnored) {
    case undefined:
      return '; the ERP may have applied it, the retry carries the same idempotency key';
    case 'create':
      return `; ${ignored} so the retry first looks the record up by its externalKey and does not create it again if it is there`;
    case 'update':
      return `; ${ignored} and the update sent again sets the same values`;
    case 'batch':
      return `; ${ignored} so the retry first looks up each record it creates by its externalKey (an update is sent again, setting the same values)`;
  }
}

/** Longest ERP reason quoted in an error message. */
const MAX_REASON_CHARS = 300;

/** What the classifier needs from a response; `recordedBody` is the redacted, truncated body. */
export interface ClassifiableResponse {
  readonly status: number;
  /** `Retry-After` header value, when present. */
  readonly retryAfter?: string | null;
  /** The full body, for extracting the ERP's reason. */
  readonly bodyText: string;
  /** The body as it may be stored (redacted, truncated); kept on the error for audit. */
  readonly recordedBody?: string;
}

/**
 * The error for a response, or undefined for 2xx. `context` names the request (e.g.
 * `POST /api/v1/work-orders`) and `now` is the clock for HTTP-date `Retry-After` values.
 * `scrub` removes secrets from the ERP's reason before it goes into the message. `read`: the
 * request changes nothing at the ERP (a GET, a token request), so no answer leaves its outcome unknown.
 * `keyIgnored`: a write to a destination with `idempotencySupported: false`, what kind (only the
 * message of a write whose outcome is unknown differs: what keeps its retry from applying it twice).
 */
export function classifyResponse(
  response: ClassifiableResponse,
  context: string,
  now: number,
  scrub: (text: string) => string = (t) => t,
  options: { readonly read?: boolean; readonly keyIgnored?: KeyIgnoredWrite | undefined } = {},
): DeliveryError | undefined {
  const { status } = response;
  if (status >= 200 && status < 300) return undefined;
  const reason = scrub(erpReason(response.bodyText));
  const said = reason !== '' ? `: ${reason}` : '';
  const body = response.recordedBody;

  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfter(response.retryAfter, now);
    const wait = retryAfterMs !== undefined ? `; Retry-After ${Math.ceil(retryAfterMs / 1000)} s` : '; no Retry-After given';
    const what = status === 429 ? 'rate limited' : 'unavailable';
    return new RateLimitedError(`${context} → ${status} ${what}${wait}${said}`, retryAfterMs, status, body);
  }
  if (status >= 400 && status < 500 && status !== 401 && THROTTLED_CODE.test(reason)) {
    // A throttling answer under another status: a pause and a retry, never a dead letter.
    const retryAfterMs = parseRetryAfter(response.retryAfter, now);
    const wait = retryAfterMs !== undefined ? `; Retry-After ${Math.ceil(retryAfterMs / 1000)} s` : '; no Retry-After given';
    return new RateLimitedError(`${context} → ${status} rate limited (the ERP's code says so)${wait}${said}`, retryAfterMs, status, body);
  }
  if (status === 423) {
    // WebDAV's Locked, which ERPs answer while a user holds the record open: it passes, so retried.
    const retryAfterMs = parseRetryAfter(response.retryAfter, now);
    const wait = retryAfterMs !== undefined ? ` after its Retry-After of ${Math.ceil(retryAfterMs / 1000)} s` : ' with backoff';
    return new ConflictError(
      `${context} → 423 locked${said} (the record is locked, e.g. open in a user's session: retried${wait}; after retry.maxAttempts attempts it goes to dead letters)`,
      status,
      body,
      retryAfterMs !== undefined ? { retryAfterMs } : {},
    );
  }
  if (status === 401) {
    return new AuthError(`${context} → 401 unauthorized${said}; credentials were rejected or have expired`, status, body);
  }
  if (status === 408 || status >= 500) {
    // A 5xx can come after the write took effect: an ERP whose hook or answer failed after its
    // commit, a gateway that gave up waiting on the ERP behind it (which may still apply it). A
    // 408 says the ERP did not get the whole request; a 503 (above) that it is not taking any.
    const mayHaveLanded = status >= 500 && options.read !== true;
    return new RetryableError(`${context} → ${status}${said}${mayHaveLanded ? mayHaveApplied(options.keyIgnored) : ''}`, status, body, {
      outcomeUnknown: mayHaveLanded,
    });
  }
  if (status >= 300 && status < 400) {
    return new PermanentError(
      `${context} → ${status} redirect (not followed, it would resend credentials); point baseUrl at the final address${said}`,
      status,
      body,
    );
  }
  return new PermanentError(`${context} → ${status} ${permanentHint(status)}${said}`, status, body);
}

/**
 * Error codes that say "too many requests" under a status other than 429: NetSuite answers a
 * RESTlet over the account's concurrency limit 400 `SSS_REQUEST_LIMIT_EXCEEDED`. Matched in the
 * ERP's reason (which starts with its code, `code` or `o:errorCode`), as a whole word.
 */
const THROTTLED_CODE = /\bSSS_REQUEST_LIMIT_EXCEEDED\b/;

function permanentHint(status: number): string {
  switch (status) {
    case 400:
      return 'rejected as invalid';
    case 403:
      return 'forbidden (the credentials lack permission)';
    case 404:
      return 'not found';
    case 409:
      return 'conflict';
    case 410:
      return 'gone';
    case 412:
      return 'precondition failed';
    case 428:
      // OData entities with optimistic concurrency (SAP, Dataverse) refuse a write without If-Match.
      return 'precondition required (the ERP wants an If-Match with the record\'s ETag, which the REST connector does not send: let the middleware in front of the ERP read the record and send its ETag)';
    case 422:
      return 'unprocessable';
    default:
      return 'rejected';
  }
}

/** What a 409 answer to a write means for the delivery. */
export type ConflictMeaning = 'exists' | 'retry' | 'fail';
/** A destination's `on409` setting for one path: `auto` reads the ERP's answer. */
export type On409Setting = 'auto' | ConflictMeaning;

/**
 * A lock or a concurrent change: passes once the other writer is done (Frappe's
 * `TimestampMismatchError`, "locked by user", "another request with this key is in progress").
 */
const TRANSIENT_CONFLICT = /\block(?:ed|ing)?\b|concurren|deadlock|in[ -]progress|(?:modified|changed|updated|edited) by another|being (?:processed|edited|modified|updated)|try again|retry|timestampmismatch|version (?:conflict|mismatch)/i;
/** The record is already there: a unique business key or idempotency key refused a second create. */
const ALREADY_EXISTS = /already (?:exists?|been (?:created|posted|recorded|processed)|created|posted|recorded)|exists already|duplicate|unique (?:constraint|key|index)|idempotency_error/i;

/**
 * What a 409 answer to a write means. `setting` is the destination's `on409` for the path; with
 * `auto` the ERP's reason decides: a lock or concurrent change is retried, "already exists" on a
 * create (`isCreate`) is the earlier attempt that landed, anything else fails. A lock is read first:
 * taking a lock for "exists" would count undelivered work as delivered, the other way round only
 * retries.
 */
export function conflictMeaning(bodyText: string, setting: On409Setting, isCreate: boolean, sent: readonly string[] = []): ConflictMeaning {
  if (setting !== 'auto') return setting === 'exists' && !isCreate ? 'fail' : setting;
  // The ERP's words (with its error code or exception type), not the whole body: a traceback names
  // everything; and without what the request said itself, which the ERP quotes back (a key
  // `EQ-1|door-lock|…` or a title "Hydraulic lock" is no lock).
  const reason = withoutQuoted(erpReason(bodyText), sent);
  if (TRANSIENT_CONFLICT.test(reason)) return 'retry';
  if (isCreate && ALREADY_EXISTS.test(reason)) return 'exists';
  return 'fail';
}

/**
 * `reason` without the values `sent` (what the request carried: its key, title, asset id), where
 * they stand as whole words: an ERP naming the record it refuses quotes them, and their words are
 * the request's, not the ERP's. Values shorter than 3 characters are kept (they would cut words).
 */
function withoutQuoted(reason: string, sent: readonly string[]): string {
  let out = reason;
  for (const value of [...sent].filter((v) => v.trim().length >= 3).sort((a, b) => b.length - a.length)) {
    const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out.replace(new RegExp(`(?<![\\p{L}\\p{N}_])${escaped}(?![\\p{L}\\p{N}_])`, 'gu'), ' ');
  }
  return out;
}

/**
 * A failure below HTTP. All are retryable: the request carries the same idempotency key next
 * time, so a write that did land (timeout, reset) is not applied twice (to an ERP that ignores the
 * key, `keyIgnored`: a create is looked up by its `externalKey` first, an update sets the same
 * values again). Only a refused connection, an unresolved name or a failed TLS handshake says the
 * request never reached the ERP; after any other the outcome is unknown (it may still land later).
 * `urlKey` names the setting that holds the URL (`baseUrl of destination "erp"`), for what a failed
 * TLS handshake asks to check.
 */
export function classifyNetworkFailure(
  failure: NetworkFailure,
  context: string,
  options: { readonly read?: boolean; readonly urlKey?: string; readonly keyIgnored?: KeyIgnoredWrite | undefined } = {},
): DeliveryError {
  // A read (a lookup before a create, a poll) or a token request changes nothing at the ERP, whatever became of it.
  const mayLand = options.read !== true && failure.kind !== 'connection-refused' && failure.kind !== 'dns' && failure.kind !== 'tls';
  const outcome =
    failure.kind === 'tls'
      ? `; the TLS handshake failed, so nothing was sent: the server's certificate is not trusted here or does not name the host of ${options.urlKey ?? 'the URL'} (a private CA: start the service with NODE_EXTRA_CA_CERTS=/path/to/ca.pem; an http:// server: write http:// in ${options.urlKey ?? 'the URL'})`
      : mayLand && (failure.kind === 'timeout' || failure.kind === 'connection-reset')
        ? mayHaveApplied(options.keyIgnored)
        : '';
  return new RetryableError(`${context} → ${failure.kind}: ${failure.message}${outcome}`, undefined, undefined, {
    cause: failure.cause,
    outcomeUnknown: mayLand,
  });
}

/**
 * The ERP's own words from an error body, in the shapes ERPs use: `{error:{message}}` (OData,
 * Dataverse), `{error:{message:{value}}}` (SAP V2), `{message}`, `{error:"..."}` with
 * `error_description` (OAuth), `{errors:[{message}]}`, `{detail}`/`{title}` (RFC 9457),
 * `o:errorDetails` (NetSuite, Oracle: `detail` with its `o:errorCode`), `_server_messages`/`exception` (Frappe);
 * OData V2's XML `<error>` (`code`, `message`), a SOAP fault, an HTML page's title; otherwise the text itself. Shortened to a few hundred chars.
 */
export function erpReason(bodyText: string): string {
  const text = bodyText.trim();
  if (text === '') return '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return shorten(htmlReason(text) ?? xmlReason(text) ?? text.replace(/\s+/g, ' '));
  }
  const found = reasonFrom(parsed, 0);
  return shorten(found ?? text.replace(/\s+/g, ' '));
}

function reasonFrom(value: unknown, depth: number): string | undefined {
  if (depth > 3 || value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (Array.isArray(value)) {
    const parts = value.map((v) => reasonFrom(v, depth + 1)).filter((v): v is string => v !== undefined);
    return parts.length > 0 ? parts.join('; ') : undefined;
  }
  if (typeof value !== 'object') return undefined;
  const o = value as Record<string, unknown>;
  // NetSuite and Oracle's REST framework name it `o:errorCode` (beside `detail`).
  const codeField = o.code ?? o['o:errorCode'];
  const code = typeof codeField === 'string' && codeField !== '' ? codeField : undefined;
  const withCode = (msg: string | undefined): string | undefined =>
    msg === undefined ? undefined : code !== undefined && !msg.includes(code) ? `${code}: ${msg}` : msg;

  if (typeof o.error === 'string') {
    const desc = typeof o.error_description === 'string' ? ` (${o.error_description})` : '';
    return `${o.error}${desc}`;
  }
  for (const key of ['error', 'o:errorDetails', 'errors']) {
    const nested = reasonFrom(o[key], depth + 1);
    if (nested !== undefined) return nested;
  }
  const frappe = frappeReason(o);
  if (frappe !== undefined) return frappe;
  for (const key of ['message', 'detail', 'title', 'reason', 'description']) {
    const v = o[key];
    if (typeof v === 'string' && v !== '') return withCode(v);
    if (v !== null && typeof v === 'object') {
      const nested = reasonFrom(v, depth + 1) ?? reasonFrom((v as { value?: unknown }).value, depth + 1);
      if (nested !== undefined) return withCode(nested);
    }
  }
  return undefined;
}

/**
 * Frappe/ERPNext: `_server_messages` is a JSON list of JSON-encoded `{message}` (with HTML), the
 * words the user would see; else `exception` (`frappe.exceptions.MandatoryError: …`). The body
 * also holds `exc`, a Python traceback, which is no reason to quote.
 */
function frappeReason(o: Readonly<Record<string, unknown>>): string | undefined {
  const messages: string[] = [];
  if (typeof o._server_messages === 'string') {
    try {
      const list: unknown = JSON.parse(o._server_messages);
      for (const entry of Array.isArray(list) ? list : []) {
        const parsed: unknown = typeof entry === 'string' ? JSON.parse(entry) : entry;
        const message = (parsed as { message?: unknown } | null)?.message;
        if (typeof message === 'string' && message.trim() !== '') messages.push(message.replace(/<[^>]*>/g, '').trim());
      }
    } catch {
      // not the shape Frappe writes: the exception (or the body) says it instead
    }
  }
  const type = typeof o.exc_type === 'string' && o.exc_type !== '' ? o.exc_type : undefined;
  if (messages.length > 0) return type !== undefined ? `${type}: ${messages.join('; ')}` : messages.join('; ');
  if (typeof o.exception === 'string' && o.exception !== '') return o.exception.replace(/^(?:\w+\.)+(\w+):\s*/, '$1: ');
  return undefined;
}

/**
 * An HTML page's words (a web server's, proxy's or gateway's error page where the API's answer was
 * expected: a wrong baseUrl or path, a gateway before a down ERP): its title and first heading,
 * else its text without markup, marked as a page. Its first few hundred characters as they are would be a doctype and styles.
 * Undefined for text that is no HTML page.
 */
function htmlReason(text: string): string | undefined {
  if (!/^(?:<!doctype html|<html[\s>]|<\?xml[^>]*>\s*<!doctype html)/i.test(text)) return undefined;
  const words = (html: string | undefined): string =>
    (html ?? '')
      .replace(/<[^>]*>/g, ' ')
      .replace(/&nbsp;/gi, ' ')
      .replace(/&lt;/gi, '<')
      .replace(/&gt;/gi, '>')
      .replace(/&quot;/gi, '"')
      .replace(/&#39;|&apos;/gi, "'")
      .replace(/&amp;/gi, '&')
      .replace(/\s+/g, ' ')
      .trim();
  const title = words(/<title[^>]*>([\s\S]*?)<\/title>/i.exec(text)?.[1]);
  const heading = words(/<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(text)?.[1]);
  const parts = [title, heading !== '' && !title.includes(heading) ? heading : ''].filter((p) => p !== '');
  const said = parts.length > 0 ? parts.map((p, i) => (i < parts.length - 1 ? p.replace(/[.:]+$/, '') : p)).join(': ') : words(text.replace(/<(script|style|head)[\s>][\s\S]*?<\/\1>/gi, ' '));
  // A web server's, proxy's or gateway's page: said so, as it is no answer of the ERP's API.
  return `an HTML page${said !== '' ? ` saying "${said}"` : ''}`;
}

/**
 * An XML error's code and message: OData V2's `<error><code>…</code><message xml:lang="en">…</message>`
 * (SAP Gateway answers so where JSON was not negotiated, or before it was), or a SOAP fault's
 * `<faultstring>`. Undefined for any other text.
 */
function xmlReason(text: string): string | undefined {
  if (!text.startsWith('<')) return undefined;
  const element = (name: string): string | undefined => {
    const found = new RegExp(`<(?:[\\w.-]+:)?${name}(?:\\s[^>]*)?>([^<]*)</(?:[\\w.-]+:)?${name}>`, 'i').exec(text)?.[1];
    const value = found?.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim();
    return value === '' ? undefined : value;
  };
  const message = element('message') ?? element('faultstring');
  if (message === undefined) return undefined;
  const code = element('code') ?? element('faultcode');
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}

function shorten(text: string): string {
  return text.length <= MAX_REASON_CHARS ? text : `${text.slice(0, MAX_REASON_CHARS)}…`;
}
