/**
 * OAuth2 access tokens for telematics APIs: the password grant (Trackunit's legacy API user, with
 * an optional refresh token) and client credentials (Trackunit API Tokens v2, Cat, Takeuchi).
 * Tokens are cached in memory and renewed shortly before they expire; concurrent callers share one
 * token request; a rejected token is dropped so the next call re-mints. Vendor quirks (plain-text
 * token bodies, XML errors, a login rate) come from the profile's token dialect.
 * @module
 */
import type { Clock } from '../../../ports/clock.js';
import { systemClock } from '../../../ports/clock.js';
import { classifyFetchError } from '../../http/http-client.js';
import { createRedactor, scrubSecretValues } from '../../http/redact.js';
import type { TokenEndpointDialect } from '../vendor-profiles.js';
import { TelematicsAuthError, type TelematicsCredentials } from './credentials.js';
import { describeTokenError, parseTokenResponse, type ParsedToken } from './token-response.js';

/** What an answer cut short says instead of a key: the address answered, and something ended the answer early. */
const CUT_SHORT_HINT =
  "the token endpoint answered at this address, and the answer was cut short (by the provider, or a proxy or load balancer in front of it, whose limit on an answer's time or size may have ended it); it will be retried";

export type OAuth2Grant =
  | { readonly type: 'password'; readonly username: string; readonly password: string }
  | { readonly type: 'client_credentials' };

export interface OAuth2TokenSourceOptions {
  /** Provider name, for error messages. */
  readonly label: string;
  /** The config key of these credentials (`telematics.0.auth`), which error messages name. @default 'the telematics auth config' */
  readonly configKey?: string;
  readonly tokenUrl: string;
  readonly grant: OAuth2Grant;
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** Client credentials as HTTP Basic (Trackunit legacy) or in the form body (Trackunit v2). */
  readonly clientAuth: 'basic' | 'body';
  /** Space-separated scopes; omitted from the request when empty. */
  readonly scope?: string;
  /** Renew with a returned refresh token instead of repeating the grant. @default true */
  readonly useRefreshToken?: boolean;
  readonly dialect: TokenEndpointDialect;
  /** Renew this long before expiry (capped at half the token's lifetime). @default 60000 */
  readonly renewBeforeMs?: number;
  /** @default 30000 */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly clock?: Clock;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

interface CachedToken {
  readonly header: string;
  readonly accessToken: string;
  /** Renew at or after this time. */
  readonly renewAt: number;
  readonly refreshToken?: string;
}

/** Counters for tests and metrics. */
export interface TokenSourceStats {
  /** Token requests sent (grants and refreshes). */
  readonly requests: number;
  readonly refreshes: number;
  readonly invalidations: number;
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    }, { once: true });
  });

/** An OAuth2 token source; see the module doc. */
export class OAuth2TokenSource implements TelematicsCredentials {
  readonly kind: string;
  private cached: CachedToken | undefined;
  private refreshToken: string | undefined;
  private inflight: Promise<CachedToken> | undefined;
  private lastLoginAt = Number.NEGATIVE_INFINITY;
  private counters = { requests: 0, refreshes: 0, invalidations: 0 };
  private readonly fetchImpl: typeof fetch;
  private readonly clock: Clock;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly options: OAuth2TokenSourceOptions) {
    this.kind = `oauth2-${options.grant.type === 'password' ? 'password' : 'client-credentials'}`;
    this.fetchImpl = options.fetch ?? fetch;
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? defaultSleep;
  }

  get stats(): TokenSourceStats {
    return { ...this.counters };
  }

  async authorization(signal?: AbortSignal): Promise<string> {
    const cached = this.cached;
    if (cached && this.clock.now() < cached.renewAt) return cached.header;
    this.inflight ??= this.mint(signal).finally(() => {
      this.inflight = undefined;
    });
    return (await this.inflight).header;
  }

  invalidate(rejected: string): boolean {
    if (this.cached?.header === rejected) {
      this.cached = undefined;
      this.counters.invalidations++;
    }
    return true;
  }

  secrets(): string[] {
    const o = this.options;
    // The Basic header carries the client secret base64-encoded: a token endpoint that echoes the
    // request (into an error it returns) would otherwise show it in that form.
    const basic = o.clientId !== undefined && o.clientAuth === 'basic' && o.clientSecret ? Buffer.from(`${o.clientId}:${o.clientSecret}`).toString('base64') : undefined;
    const list = [this.cached?.accessToken, this.refreshToken, o.clientSecret, o.grant.type === 'password' ? o.grant.password : undefined, basic];
    return list.filter((s): s is string => s !== undefined && s !== '');
  }

  private async mint(signal?: AbortSignal): Promise<CachedToken> {
    let token: ParsedToken | undefined;
    if (this.refreshToken !== undefined && this.options.useRefreshToken !== false) {
      try {
        token = await this.request({ grant_type: 'refresh_token', refresh_token: this.refreshToken }, signal);
        this.counters.refreshes++;
      } catch (err) {
        // An expired or revoked refresh token: fall back to the full grant, once.
        if (!(err instanceof TelematicsAuthError) || err.retryable) throw err;
        this.refreshToken = undefined;
      }
    }
    token ??= await this.request(this.grantParams(), signal);
    if (token.refreshToken !== undefined) this.refreshToken = token.refreshToken;
    const now = this.clock.now();
    const ttl = token.expiresInMs ?? this.options.dialect.assumedTtlMs;
    const renewBefore = Math.min(this.options.renewBeforeMs ?? 60_000, ttl / 2);
    this.cached = { header: `Bearer ${token.accessToken}`, accessToken: token.accessToken, renewAt: now + ttl - renewBefore };
    return this.cached;
  }

  private grantParams(): Record<string, string> {
    const { grant, scope } = this.options;
    const params: Record<string, string> =
      grant.type === 'password' ? { grant_type: 'password', username: grant.username, password: grant.password } : { grant_type: 'client_credentials' };
    if (scope !== undefined && scope.trim() !== '') params.scope = scope.trim();
    return params;
  }

  private async request(params: Record<string, string>, signal?: AbortSignal): Promise<ParsedToken> {
    const o = this.options;
    const wait = this.lastLoginAt + o.dialect.minLoginIntervalMs - this.clock.now();
    if (wait > 0) await this.sleep(wait, signal);
    this.lastLoginAt = this.clock.now();
    this.counters.requests++;

    const body = new URLSearchParams(params);
    const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json, text/plain, */*' };
    if (o.clientId !== undefined) {
      if (o.clientAuth === 'basic') {
        headers.Authorization = `Basic ${Buffer.from(`${o.clientId}:${o.clientSecret ?? ''}`).toString('base64')}`;
      } else {
        body.set('client_id', o.clientId);
        if (o.clientSecret !== undefined) body.set('client_secret', o.clientSecret);
      }
    }
    const timeout = AbortSignal.timeout(o.timeoutMs ?? 30_000);
    const grant = params.grant_type ?? 'token';
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(o.tokenUrl, {
        method: 'POST',
        headers,
        body: body.toString(),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      // undici's own words are 'fetch failed'; the cause says why (ECONNREFUSED, ENOTFOUND, a timeout).
      throw new TelematicsAuthError(`${o.label}: cannot reach the token endpoint ${this.shownTokenUrl()} (${classifyFetchError(err).message}); check the network and ${o.configKey !== undefined ? `${o.configKey}.tokenUrl` : 'tokenUrl'}`, true, undefined, { cause: err });
    }
    try {
      text = await response.text();
    } catch (err) {
      if (signal?.aborted) throw err;
      // The status and headers came, then the connection closed mid-body: the address answered.
      const why = `the connection closed before the whole answer came (${classifyFetchError(err).message})`;
      throw new TelematicsAuthError(`${o.label}: ${grant} token response from ${this.shownTokenUrl()} → HTTP ${response.status}, but ${why}; ${CUT_SHORT_HINT}`, true, response.status, { cause: err, cutShort: true });
    }
    if (!response.ok) {
      const reason = this.scrub(describeTokenError(text, o.dialect));
      const retryable = response.status >= 500 || response.status === 429;
      const hint = retryable
        ? 'the token endpoint is failing; it will be retried'
        : grant === 'refresh_token'
          ? 'the refresh token was refused'
          : `check the client id, secret, username, password and scopes in ${o.configKey ?? 'the telematics auth config'}`;
      throw new TelematicsAuthError(`${o.label}: ${grant} token request refused (HTTP ${response.status}: ${reason}); ${hint}`, retryable, response.status);
    }
    const parsed = parseTokenResponse(text, o.dialect);
    if (!parsed.ok && parsed.cutShort === true) {
      throw new TelematicsAuthError(`${o.label}: ${grant} token response from ${this.shownTokenUrl()} → HTTP ${response.status}, but ${parsed.reason}; ${CUT_SHORT_HINT}`, true, response.status, { cutShort: true });
    }
    if (!parsed.ok) {
      // A 2xx that is no token is most often another page at that address (a login form, a portal).
      throw new TelematicsAuthError(
        `${o.label}: unexpected ${grant} token response from ${this.shownTokenUrl()}: ${parsed.reason}; check ${o.configKey !== undefined ? `${o.configKey}.tokenUrl` : 'tokenUrl'}: it should be the provider's token endpoint`,
        false,
        response.status,
      );
    }
    return parsed.token;
  }

  /**
   * The token endpoint as the errors quote it: without a password (`https://user:pw@…`) or a
   * credential in its query (`?key=…`), so the message is safe wherever it goes.
   */
  private shownTokenUrl(): string {
    return createRedactor({ secrets: () => this.secrets() }).url(this.options.tokenUrl);
  }

  private scrub(text: string): string {
    return scrubSecretValues(text, this.secrets());
  }
}
