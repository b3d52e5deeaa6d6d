/**
 * The generic REST target's transport: base URL, credentials (static bearer or OAuth2 client
 * credentials), the idempotency header, JSON bodies, and classification of every outcome. One
 * call is one HTTP request; it never retries and never rejects.
 * @module
 */
import { AuthError, PermanentError, type DeliveryError } from '../../../core/errors/errors.js';
import { configuredHeaderSecrets } from '../../../core/harmless-headers.js';
import type { Clock } from '../../../ports/clock.js';
import { systemClock } from '../../../ports/clock.js';
import type { Exchange } from '../../../ports/connector.js';
import type { RestAuthConfig, RestDestinationConfig } from '../../../config/schema.js';
import { createHttpClient, type HttpClient, type HttpResult, type NetworkFailure } from '../../http/http-client.js';
import { ClientCredentialsTokenSource, type TokenOutcome } from '../../http/oauth2.js';
import { classifyNetworkFailure, classifyResponse, keyIgnoredWrite, type KeyIgnoredWrite } from './rest-errors.js';

export interface RestClientOptions {
  /** Clock for token expiry and HTTP-date `Retry-After`. @default systemClock */
  readonly clock?: Clock;
  /** fetch implementation (tests record with it). @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

export interface RestRequest {
  readonly method: string;
  /** Relative to `baseUrl` (may carry a query). Exactly one of `path` and `url`. */
  readonly path?: string;
  /** Absolute URL; must share the origin of `baseUrl` (credentials never go elsewhere). */
  readonly url?: string;
  /** Serialized as JSON. */
  readonly body?: unknown;
  /** Sent in the configured idempotency header. */
  readonly idempotencyKey?: string;
  /** A batch call (`batch.path`): its sub-requests create and update records. */
  readonly batch?: boolean;
  readonly signal?: AbortSignal;
  /** Getting the OAuth2 token runs inside it: the caller's per-request timeout does not count the token request (`SendContext.outsideTimeout`). */
  readonly outsideTimeout?: <T>(work: () => Promise<T>) => Promise<T>;
}

export type RestOutcome =
  | {
      readonly ok: true;
      readonly status: number;
      readonly headers: Headers;
      /** Parsed JSON; the text when it is not JSON; undefined when empty. */
      readonly body: unknown;
      readonly exchange: Exchange;
    }
  | {
      readonly ok: false;
      readonly error: DeliveryError;
      readonly exchange?: Exchange;
      /** The ERP's answer, when one came (a 409's says what it means and where the record is). */
      readonly answer?: { readonly status: number; readonly headers: Headers; readonly bodyText: string };
      /** The OAuth2 token endpoint failed (`exchange` is its): the request itself never went. */
      readonly tokenEndpoint?: true;
      /** No answer came: why (a timeout, a refused connection ...). */
      readonly networkFailure?: NetworkFailure['kind'];
    };

/** The auth a destination uses, with the `token:` shorthand resolved. */
export function resolveRestAuth(config: Pick<RestDestinationConfig, 'auth' | 'token'>): RestAuthConfig | undefined {
  if (config.auth) return config.auth;
  if (config.token !== undefined && config.token !== '') return { type: 'bearer', token: config.token };
  return undefined;
}


/** Transport for one REST destination. */
export class RestClient {
  readonly http: HttpClient;
  private readonly base: URL;
  private readonly baseText: string;
  private readonly clock: Clock;
  private readonly auth: RestAuthConfig | undefined;
  private readonly tokens: ClientCredentialsTokenSource | undefined;
  /** Errors of requests not sent because the token endpoint failed (see {@link failedForToken}). */
  private readonly tokenFailures = new WeakSet<DeliveryError>();
  /** The minted token each answered request carried (see {@link rejectedToken}). */
  private readonly sentWith = new WeakMap<RestOutcome, string>();
  /** The minted token the ERP refused last (401): what {@link refreshAuth} replaces. */
  private lastRejected: string | undefined;

  constructor(
    private readonly config: RestDestinationConfig,
    options: RestClientOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.base = new URL(config.baseUrl);
    this.baseText = config.baseUrl.replace(/\/+$/, '');
    this.auth = resolveRestAuth(config);
    const auth = this.auth;
    // Every configured header's value is scrubbed wherever the ERP echoes it, whatever its name
    // (X-Tenant as X-Api-Key), but for the few that say how to talk (Accept, User-Agent …).
    const configuredSecrets = configuredHeaderSecrets(config.headers);
    this.http = createHttpClient({
      timeoutMs: config.timeoutMs,
      redactFields: config.redactFields,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      secrets: () => [
        ...configuredSecrets,
        auth?.type === 'bearer' ? auth.token : undefined,
        auth?.type === 'oauth2-client-credentials' ? auth.clientSecret : undefined,
        // Those replaced too: a late answer to a request that carried one may echo it.
        ...(this.tokens?.recentTokens() ?? []),
      ],
    });
    this.tokens =
      auth?.type === 'oauth2-client-credentials'
        ? new ClientCredentialsTokenSource(
            {
              tokenUrl: auth.tokenUrl,
              clientId: auth.clientId,
              clientSecret: auth.clientSecret,
              clientAuth: auth.clientAuth,
              expiryMarginMs: auth.expiryMarginMs,
              // Its own bound: shared by every request waiting for a token, it runs under none of theirs.
              timeoutMs: auth.timeoutMs ?? config.timeoutMs,
              ...(auth.scope !== undefined ? { scope: auth.scope } : {}),
            },
            this.http,
            this.clock,
          )
        : undefined;
  }

  /** Absolute URL for a configured path. */
  urlFor(path: string): string {
    return `${this.baseText}${path.startsWith('/') ? '' : '/'}${path}`;
  }

  /** Send one request. Resolves with a classified outcome for every result; never rejects. */
  async request(req: RestRequest): Promise<RestOutcome> {
    const target = this.target(req);
    if ('error' in target) return { ok: false, error: target.error };
    const context = `${req.method} ${target.display}`;

    const headers: Record<string, string> = { Accept: 'application/json', ...this.config.headers };
    if (req.body !== undefined) headers['Content-Type'] = 'application/json';
    if (req.idempotencyKey !== undefined) headers[this.config.idempotencyHeader] = req.idempotencyKey;
    // The token request has its own bound (auth.timeoutMs): the request's timeout starts after it.
    const authorization = req.outsideTimeout && this.tokens ? await req.outsideTimeout(() => this.authorization(req.signal)) : await this.authorization(req.signal);
    if (authorization.type === 'error') {
      this.tokenFailures.add(authorization.error);
      return { ok: false, error: authorization.error, tokenEndpoint: true, ...(authorization.exchange ? { exchange: authorization.exchange } : {}) };
    }
    if (authorization.value !== undefined) headers.Authorization = authorization.value;
    const token = authorization.token;

    const result = await this.http.request({
      method: req.method,
      url: target.url,
      headers,
      ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    const read = req.method === 'GET' || req.method === 'HEAD';
    const keyIgnored = read ? undefined : this.keyIgnored(req);
    if (result.type === 'failure') {
      return { ok: false, error: classifyNetworkFailure(result.failure, context, { read, urlKey: `baseUrl of destination "${this.config.name}"`, keyIgnored }), exchange: result.exchange, networkFailure: result.failure.kind };
    }
    const error = this.classify(result, context, read, keyIgnored);
    let outcome: RestOutcome;
    if (error) {
      outcome = { ok: false, error, exchange: result.exchange, answer: { status: result.status, headers: result.headers, bodyText: result.bodyText } };
      // The token was refused: drop it so the next request (or refreshAuth) mints a new one.
      if (error instanceof AuthError && token !== undefined) this.rejected(token);
    } else outcome = { ok: true, status: result.status, headers: result.headers, body: parseBody(result.bodyText), exchange: result.exchange };
    if (token !== undefined) this.sentWith.set(outcome, token);
    return outcome;
  }

  /**
   * A request of this client answered, but refused for its credentials inside (a batch's
   * sub-request answered 401): its token is dropped, as for a request answered 401 itself.
   */
  rejectedToken(outcome: RestOutcome): void {
    const token = this.sentWith.get(outcome);
    if (token !== undefined) this.rejected(token);
  }

  /** Ends a token request in flight (the destination is closed). */
  close(): void {
    this.tokens?.close();
  }

  private rejected(token: string): void {
    this.lastRejected = token;
    this.tokens?.invalidate(token);
  }

  /**
   * A write to this destination when it ignores the idempotency key (`idempotencySupported:
   * false`): what kind, for what its error says keeps a retry from applying it twice (a POST
   * creates a record, looked up by its externalKey before a retry; a PATCH updates one).
   */
  private keyIgnored(req: RestRequest): KeyIgnoredWrite | undefined {
    return keyIgnoredWrite(this.config.idempotencySupported, req.method, req.batch === true);
  }

  /**
   * Classify a response that arrived (2xx → undefined); `read`: of a request that changes nothing
   * at the ERP; `keyIgnored`: a write the ERP takes without its idempotency key.
   */
  classify(result: Extract<HttpResult, { type: 'response' }>, context: string, read: boolean, keyIgnored?: KeyIgnoredWrite): DeliveryError | undefined {
    return classifyResponse(
      {
        status: result.status,
        retryAfter: result.headers.get('retry-after'),
        bodyText: result.bodyText,
        ...(result.exchange.responseBody !== undefined ? { recordedBody: result.exchange.responseBody } : {}),
      },
      context,
      this.clock.now(),
      (t) => this.http.redactor.text(t),
      { read, keyIgnored },
    );
  }

  /** The config keys that hold this destination's credentials, for messages. */
  get credentialKeys(): string {
    return this.auth?.type === 'bearer' ? 'token' : this.auth ? 'auth' : 'headers (API key) or auth';
  }

  /** Whether `error` is of a request this client did not send because the OAuth2 token endpoint failed. */
  failedForToken(error: DeliveryError): boolean {
    return this.tokenFailures.has(error);
  }

  /** OAuth2 client credentials: tokens are minted, and {@link refreshAuth} mints a new one. */
  get mintsTokens(): boolean {
    return this.tokens !== undefined;
  }

  /**
   * Re-acquire credentials: mints a new OAuth2 token (static tokens have nothing to refresh), unless
   * one was minted since the ERP last refused one (concurrent requests refused for the same old
   * token mint one new token, not one each). Rejects with the classified {@link DeliveryError}
   * when the token endpoint refuses.
   */
  async refreshAuth(signal?: AbortSignal): Promise<void> {
    if (!this.tokens) return;
    const outcome = await this.tokens.refresh(signal, this.lastRejected);
    if (outcome.type !== 'token') throw this.tokenError(outcome).error;
  }

  private target(req: RestRequest): { url: string; display: string } | { error: DeliveryError } {
    if (req.url !== undefined) {
      let parsed: URL;
      try {
        parsed = new URL(req.url, this.base);
      } catch {
        return { error: new PermanentError(`"${req.url}" is not a URL`) };
      }
      if (parsed.origin !== this.base.origin) {
        // Only a next-page link the ERP gave comes as a URL: one naming its own internal address
        // (a proxy in front of it that does not rewrite the links) would fail every poll or lookup.
        return {
          error: new PermanentError(
            `refusing to send credentials to ${parsed.origin}: it is not the destination's origin ${this.base.origin}, yet the ERP's next-page link names it; if it is this ERP behind a proxy that writes the ERP's own address, have the proxy rewrite the links, or set baseUrl of destination "${this.config.name}" to ${parsed.origin} if this host reaches the ERP there`,
          ),
        };
      }
      return { url: parsed.toString(), display: parsed.pathname };
    }
    const path = req.path ?? '/';
    return { url: this.urlFor(path), display: path.split('?')[0] ?? path };
  }

  private async authorization(
    signal: AbortSignal | undefined,
  ): Promise<{ type: 'ok'; value?: string; token?: string } | { type: 'error'; error: DeliveryError; exchange?: Exchange }> {
    if (this.tokens) {
      const outcome = await this.tokens.getToken(signal);
      if (outcome.type === 'token') return { type: 'ok', value: `Bearer ${outcome.accessToken}`, token: outcome.accessToken };
      return { type: 'error', ...this.tokenError(outcome) };
    }
    return this.auth?.type === 'bearer' ? { type: 'ok', value: `Bearer ${this.auth.token}` } : { type: 'ok' };
  }

  /**
   * A token endpoint failure as a delivery error. Refusals (400 invalid_client, 401) are
   * {@link AuthError}s naming the settings to check; throttling and outages classify as usual.
   */
  private tokenError(outcome: Exclude<TokenOutcome, { type: 'token' }>): { error: DeliveryError; exchange?: Exchange } {
    const tokenUrl = this.auth?.type === 'oauth2-client-credentials' ? this.auth.tokenUrl : 'token endpoint';
    const context = `POST ${this.http.redactor.url(tokenUrl)} (OAuth2 token)`;
    if (outcome.type === 'invalid-response') return { error: new AuthError(outcome.message), exchange: outcome.exchange };
    const result = outcome.result;
    if (result.type === 'failure') return { error: classifyNetworkFailure(result.failure, context, { read: true, urlKey: `auth.tokenUrl of destination "${this.config.name}"` }), exchange: result.exchange };
    const error = this.classify(result, context, true);
    if (result.status === 400 || result.status === 401 || result.status === 403) {
      return {
        error: new AuthError(
          `${error?.message ?? context}; check auth.clientId, auth.clientSecret and auth.scope of destination "${this.config.name}"`,
          result.status,
          result.exchange.responseBody,
        ),
        exchange: result.exchange,
      };
    }
    return { error: error ?? new AuthError(`${context} → ${result.status} without a token`), exchange: result.exchange };
  }
}

/** A body as JSON when it is, else its text; undefined when empty. */
export function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
