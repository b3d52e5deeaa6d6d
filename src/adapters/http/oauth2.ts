/**
 * OAuth 2.0 client-credentials tokens (RFC 6749 §4.4) for headless connectors: one token per
 * destination, cached until shortly before it expires, minted once even when many requests need
 * it at the same moment, and re-minted on demand after a 401.
 * @module
 */
import type { Clock } from '../../ports/clock.js';
import type { Exchange } from '../../ports/connector.js';
import { abortedFailure, type HttpClient, type HttpResult } from './http-client.js';

export interface ClientCredentialsConfig {
  /** Token endpoint, e.g. `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`. */
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Space-separated scopes, e.g. `https://org.crm.dynamics.com/.default`. */
  readonly scope?: string;
  /**
   * How the client authenticates: `body` sends client_id/client_secret as form fields
   * (client_secret_post), `basic` uses an HTTP Basic header (client_secret_basic). @default body
   */
  readonly clientAuth?: 'body' | 'basic';
  /** Mint a new token this long before the current one expires. @default 60000 */
  readonly expiryMarginMs?: number;
  /**
   * The token request's own timeout, apart from any caller's (it is shared by every request
   * waiting for a token). @default the HTTP client's
   */
  readonly timeoutMs?: number;
}

/** Tokens remembered for scrubbing after they are replaced (see `recentTokens`): requests in flight carry at most a few. */
const RECENT_TOKENS = 4;

/** Lifetime assumed when the server omits `expires_in`: short, so a wrong guess costs little. */
const DEFAULT_TTL_MS = 300_000;

export type TokenOutcome =
  | { readonly type: 'token'; readonly accessToken: string; readonly tokenType: string; readonly exchange?: Exchange }
  /** The token endpoint answered with an error status, or could not be reached. */
  | { readonly type: 'http-error'; readonly result: HttpResult }
  /** The token endpoint answered 2xx with something that is not a token response. */
  | { readonly type: 'invalid-response'; readonly message: string; readonly exchange: Exchange };

interface CachedToken {
  readonly accessToken: string;
  readonly tokenType: string;
  /** Clock time after which the token is not used any more (expiry minus margin). */
  readonly refreshAt: number;
}

/** The token request in flight, shared by every caller waiting for it. */
interface Minting {
  readonly outcome: Promise<TokenOutcome>;
  /** Ends the request: when no caller waits for it any more (a shutdown aborts them all), or at close. */
  readonly controller: AbortController;
  /** Callers waiting for it: each of them may give up (its signal aborts) without ending it for the others. */
  waiting: number;
}

/** Caches and mints client-credentials tokens. One instance per destination. */
export class ClientCredentialsTokenSource {
  private cached: CachedToken | undefined;
  private minting: Minting | undefined;
  /** See {@link recentTokens}. */
  private recent: string[] = [];

  constructor(
    private readonly config: ClientCredentialsConfig,
    private readonly http: HttpClient,
    private readonly clock: Clock,
  ) {}

  /** The token in use, if any; for scrubbing it from recorded text. */
  currentToken(): string | undefined {
    return this.cached?.accessToken;
  }

  /**
   * The tokens minted last, newest first, the one in use among them: for scrubbing from recorded
   * text, as an answer to a request sent with one replaced since (a late 401) may echo it.
   */
  recentTokens(): readonly string[] {
    return this.recent;
  }

  /** A valid token: the cached one, or a freshly minted one. Never rejects. */
  async getToken(signal?: AbortSignal): Promise<TokenOutcome> {
    const cached = this.cached;
    if (cached && this.clock.now() < cached.refreshAt)
      return { type: 'token', accessToken: cached.accessToken, tokenType: cached.tokenType };
    return this.mint(signal);
  }

  /**
   * Forget the cached token (after a 401), so the next request mints a new one. With `rejected`
   * (the token the refused request carried), only while that one is cached: a request sent before
   * another minted a newer token is refused for its old one, and must not drop the new one.
   */
  invalidate(rejected?: string): void {
    if (rejected !== undefined && this.cached?.accessToken !== rejected) return;
    this.cached = undefined;
  }

  /**
   * Forget the cached token and mint a new one now. With `rejected` (the token last refused),
   * a valid cached token other than it was minted since, by a concurrent refresh: it is the new
   * one, and no other is minted. Never rejects.
   */
  async refresh(signal?: AbortSignal, rejected?: string): Promise<TokenOutcome> {
    const cached = this.cached;
    if (rejected !== undefined && cached && cached.accessToken !== rejected && this.clock.now() < cached.refreshAt)
      return { type: 'token', accessToken: cached.accessToken, tokenType: cached.tokenType };
    this.invalidate();
    return this.mint(signal);
  }

  /** Ends a token request in flight (the destination is closed); callers waiting get it as aborted. */
  close(): void {
    const m = this.minting;
    this.minting = undefined;
    m?.controller.abort(new Error('the destination is closed'));
  }

  /**
   * Single flight: concurrent requests that all found the cache empty share one token request. It
   * runs under its own timeout, not under any one caller's signal: a caller whose signal aborts
   * (its request's timeout, a shutdown) gets an aborted outcome at once, and the others still get
   * the token. It is ended only when every caller waiting for it has given up (a shutdown).
   */
  private mint(signal?: AbortSignal): Promise<TokenOutcome> {
    if (signal?.aborted) return Promise.resolve(this.abortedOutcome(signal.reason));
    let m = this.minting;
    if (!m) {
      const controller = new AbortController();
      const started: Minting = {
        controller,
        waiting: 0,
        outcome: this.requestToken(controller.signal).finally(() => {
          if (this.minting === started) this.minting = undefined;
        }),
      };
      this.minting = m = started;
    }
    const shared = m;
    shared.waiting++;
    return new Promise<TokenOutcome>((resolve) => {
      let settled = false;
      const settle = (outcome: TokenOutcome): void => {
        if (settled) return;
        settled = true;
        shared.waiting--;
        signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const onAbort = (): void => {
        settle(this.abortedOutcome(signal?.reason));
        if (shared.waiting > 0) return;
        // Nobody waits for it any more: end it, and let a later caller start afresh.
        if (this.minting === shared) this.minting = undefined;
        shared.controller.abort(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      void shared.outcome.then(settle);
    });
  }

  /** What a caller whose signal aborted while it waited for a token gets: the token request's failure, as the HTTP client words one. */
  private abortedOutcome(reason: unknown): TokenOutcome {
    return { type: 'http-error', result: { type: 'failure', failure: abortedFailure(reason), latencyMs: 0, exchange: { method: 'POST', url: this.http.redactor.url(this.config.tokenUrl), latencyMs: 0 } } };
  }

  private async requestToken(signal: AbortSignal): Promise<TokenOutcome> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.config.scope !== undefined && this.config.scope !== '') form.set('scope', this.config.scope);
    const headers: Record<string, string> = {
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    };
    if ((this.config.clientAuth ?? 'body') === 'basic') {
      // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
      const pair = `${encodeURIComponent(this.config.clientId)}:${encodeURIComponent(this.config.clientSecret)}`;
      headers.Authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    } else {
      form.set('client_id', this.config.clientId);
      form.set('client_secret', this.config.clientSecret);
    }
    const requestedAt = this.clock.now();
    const result = await this.http.request({
      method: 'POST',
      url: this.config.tokenUrl,
      headers,
      body: form.toString(),
      signal,
      ...(this.config.timeoutMs !== undefined ? { timeoutMs: this.config.timeoutMs } : {}),
    });
    if (result.type === 'failure' || result.status < 200 || result.status >= 300) return { type: 'http-error', result };

    let parsed: unknown;
    try {
      parsed = JSON.parse(result.bodyText);
    } catch {
      return { type: 'invalid-response', message: `token endpoint ${this.http.redactor.url(this.config.tokenUrl)} answered ${result.status} without JSON`, exchange: result.exchange };
    }
    const body = (parsed ?? {}) as { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      return { type: 'invalid-response', message: `token endpoint ${this.http.redactor.url(this.config.tokenUrl)} answered ${result.status} without an access_token`, exchange: result.exchange };
    }
    const expiresIn = Number(body.expires_in);
    const ttlMs = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : DEFAULT_TTL_MS;
    const margin = Math.min(this.config.expiryMarginMs ?? 60_000, ttlMs / 2);
    const tokenType = typeof body.token_type === 'string' && body.token_type !== '' ? body.token_type : 'Bearer';
    this.cached = { accessToken: body.access_token, tokenType, refreshAt: requestedAt + ttlMs - margin };
    this.recent = [body.access_token, ...this.recent].slice(0, RECENT_TOKENS);
    return { type: 'token', accessToken: body.access_token, tokenType, exchange: result.exchange };
  }
}
