/**
 * A small HTTP client over Node's global `fetch` for connectors: one call = one request, with a
 * per-request timeout combined with the caller's AbortSignal, measured latency, and an audit
 * {@link Exchange} with secrets redacted. It never throws for network trouble: resets, refusals,
 * DNS failures, timeouts and aborts come back as a classified {@link NetworkFailure}, so a
 * connector can map them to the delivery taxonomy. It never retries.
 * @module
 */
import type { Exchange } from '../../ports/connector.js';
import { createRedactor, truncateText, type Redactor } from './redact.js';

export interface HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Overrides the client's default timeout for this request. */
  readonly timeoutMs?: number;
  /** The caller's cancellation (shutdown); combined with the timeout. */
  readonly signal?: AbortSignal;
}

/** Why no HTTP response arrived. */
export type NetworkFailureKind =
  /** No complete response within the timeout. The server may have acted on the request. */
  | 'timeout'
  /** The caller's signal aborted the request (shutdown). */
  | 'aborted'
  /** The connection was closed or reset mid-exchange. The server may have acted on the request. */
  | 'connection-reset'
  /** Nothing listens at the address; the request was certainly not processed. */
  | 'connection-refused'
  /** The host name did not resolve. */
  | 'dns'
  /**
   * The TLS handshake failed: a certificate not trusted, expired or not naming the host, or TLS
   * spoken to a plain-HTTP port. The request was certainly not sent.
   */
  | 'tls'
  /** Anything else below HTTP (TLS, protocol errors). */
  | 'network';

export interface NetworkFailure {
  readonly kind: NetworkFailureKind;
  /** Human-readable, includes the low-level code when there is one. */
  readonly message: string;
  /** Low-level error code such as `ECONNRESET` or `UND_ERR_SOCKET`, when known. */
  readonly code?: string;
  readonly cause?: unknown;
}

export type HttpResult =
  | {
      readonly type: 'response';
      readonly status: number;
      readonly headers: Headers;
      /** The full body (not truncated, not redacted): for parsing, never for logs. */
      readonly bodyText: string;
      readonly latencyMs: number;
      /** What goes to the audit trail: redacted and truncated. */
      readonly exchange: Exchange;
    }
  | {
      readonly type: 'failure';
      readonly failure: NetworkFailure;
      readonly latencyMs: number;
      readonly exchange: Exchange;
    };

export interface HttpClientOptions {
  /** Default per-request timeout, covering headers and body. @default 15000 */
  readonly timeoutMs?: number;
  /** Body fields to redact in exchanges, on top of the built-in secret names. @default [] */
  readonly redactFields?: readonly string[];
  /** Current secret values to scrub from recorded text wherever they appear. */
  readonly secrets?: () => Iterable<string | undefined>;
  /** Longest response body kept in an exchange, in UTF-8 bytes. @default 4096 */
  readonly maxResponseBodyBytes?: number;
  /** Longest request body kept in an exchange, in UTF-8 bytes. @default 65536 */
  readonly maxRequestBodyBytes?: number;
  /** The fetch implementation; tests inject recorders. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Monotonic clock for latency, in ms. @default performance.now */
  readonly monotonicNow?: () => number;
}

export interface HttpClient {
  /** Send one request. Resolves for every outcome; never rejects. */
  request(req: HttpRequest): Promise<HttpResult>;
  /** The redactor this client records exchanges with, for callers that record derived text. */
  readonly redactor: Redactor;
  /** Redact and truncate a response body the way exchanges are recorded. */
  recordResponseBody(text: string): string;
  /** Redact and truncate a request body the way exchanges are recorded. */
  recordRequestBody(text: string): string;
}

/** Create a client; one per destination, so redaction settings and secrets are per destination. */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const timeoutDefault = options.timeoutMs ?? 15_000;
  const maxResponse = options.maxResponseBodyBytes ?? 4096;
  const maxRequest = options.maxRequestBodyBytes ?? 65_536;
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.monotonicNow ?? (() => performance.now());
  const redactor = createRedactor({
    ...(options.redactFields ? { fields: options.redactFields } : {}),
    ...(options.secrets ? { secrets: options.secrets } : {}),
  });
  const recordResponseBody = (text: string): string => truncateText(redactor.text(text), maxResponse);
  const recordRequestBody = (text: string): string => truncateText(redactor.text(text), maxRequest);

  async function request(req: HttpRequest): Promise<HttpResult> {
    const started = now();
    const timeoutMs = req.timeoutMs ?? timeoutDefault;
    const baseExchange = {
      method: req.method,
      url: redactor.url(req.url),
      ...(req.body !== undefined ? { requestBody: recordRequestBody(req.body) } : {}),
    };
    const elapsed = (): number => Math.round((now() - started) * 100) / 100;
    const fail = (failure: NetworkFailure, status?: number): HttpResult => {
      const latencyMs = elapsed();
      return {
        type: 'failure',
        failure,
        latencyMs,
        exchange: { ...baseExchange, ...(status !== undefined ? { status } : {}), latencyMs },
      };
    };

    if (req.signal?.aborted) return fail(abortedFailure(req.signal.reason));

    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DOMException(`no response within ${timeoutMs} ms`, 'TimeoutError'));
    }, timeoutMs);
    const onCallerAbort = (): void => controller.abort(req.signal?.reason);
    req.signal?.addEventListener('abort', onCallerAbort, { once: true });

    let status: number | undefined;
    try {
      const response = await doFetch(req.url, {
        method: req.method,
        ...(req.headers ? { headers: req.headers } : {}),
        ...(req.body !== undefined ? { body: req.body } : {}),
        // A redirect would re-send credentials to wherever it points; surface it instead.
        redirect: 'manual',
        signal: controller.signal,
      });
      status = response.status;
      const bodyText = await response.text();
      const latencyMs = elapsed();
      return {
        type: 'response',
        status: response.status,
        headers: response.headers,
        bodyText,
        latencyMs,
        exchange: {
          ...baseExchange,
          status: response.status,
          ...(bodyText !== '' ? { responseBody: recordResponseBody(bodyText) } : {}),
          latencyMs,
        },
      };
    } catch (err) {
      if (timedOut) return fail({ kind: 'timeout', message: `no response within ${timeoutMs} ms`, cause: err }, status);
      if (req.signal?.aborted) return fail(abortedFailure(req.signal.reason), status);
      const failure = classifyFetchError(err);
      return fail({ ...failure, message: redactor.text(failure.message) }, status);
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  return { request, redactor, recordResponseBody, recordRequestBody };
}

/** Why a request ended by its caller's signal got no answer: a timeout when the signal's reason is one, else aborted. */
export function abortedFailure(reason: unknown): NetworkFailure {
  // The caller's deadline (the dispatcher's per-request timeoutMs) is a timeout, not a cancel: the
  // request may still land, and the message says so as for this client's own timer.
  if (reason instanceof Error && reason.name === 'TimeoutError') return { kind: 'timeout', message: reason.message, cause: reason };
  const detail = reason instanceof Error ? `: ${reason.message}` : typeof reason === 'string' ? `: ${reason}` : '';
  return { kind: 'aborted', message: `request aborted by the caller${detail}`, cause: reason };
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN']);
/**
 * Failures of the TLS handshake, before any request goes: certificate checks (`DEPTH_ZERO_SELF_SIGNED_CERT`,
 * `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID` ...), and
 * `https://` to a plain-HTTP port (`ERR_SSL_WRONG_VERSION_NUMBER`). Not other TLS errors, which
 * may come after the request was sent.
 */
const TLS_HANDSHAKE_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|^ERR_SSL_WRONG_VERSION_NUMBER$|^ERR_TLS_HANDSHAKE_TIMEOUT$/;

/**
 * Map what fetch threw to a failure kind. undici wraps the real error as `cause` of a
 * `TypeError('fetch failed')` (or `'terminated'` when the body stream broke), sometimes twice.
 */
export function classifyFetchError(err: unknown): NetworkFailure {
  const chain: unknown[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && chain.length < 5; e = (e as { cause?: unknown }).cause) {
    chain.push(e);
  }
  let code: string | undefined;
  for (const e of chain) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'string') {
      code = c;
      break;
    }
  }
  const messages = chain.map((e) => (e instanceof Error ? e.message : String(e))).filter((m) => m !== '');
  const message = `${messages.join(': ')}${code !== undefined && !messages.some((m) => m.includes(code)) ? ` (${code})` : ''}`;
  const base = { message, ...(code !== undefined ? { code } : {}), cause: err };
  if (code === 'ECONNREFUSED') return { kind: 'connection-refused', ...base };
  if (code !== undefined && DNS_CODES.has(code)) return { kind: 'dns', ...base };
  if (code !== undefined && TLS_HANDSHAKE_CODE.test(code)) return { kind: 'tls', ...base };
  if (code !== undefined && TIMEOUT_CODES.has(code)) return { kind: 'timeout', ...base };
  if ((code !== undefined && RESET_CODES.has(code)) || messages.some((m) => /terminated|other side closed|socket hang up/i.test(m)))
    return { kind: 'connection-reset', ...base };
  if (chain.some((e) => e instanceof Error && e.name === 'TimeoutError')) return { kind: 'timeout', ...base };
  return { kind: 'network', ...base };
}
