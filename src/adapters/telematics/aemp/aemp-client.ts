/**
 * The ISO 15143-3 (AEMP 2.0) HTTP client: builds the fleet, single-machine and time-series URLs of
 * a vendor profile, spends the request budget before every request (waiting rather than getting a
 * 429), adds credentials (one re-mint on 401), parses the answer, and walks linked pages with a hop
 * cap, href-repeat detection and equipment de-duplication across pages. While a page is parsed the
 * next one is already requested (its link read cheaply first), and optionally a few more guessed
 * from the page numbers in `next`/`last`, each confirmed by the links before it is used.
 *
 * Retries are budget-aware: after a 429 the URL cools down and the request is tried once more only
 * if the cooldown fits in the caller's wait limit; after a 5xx or network error it is retried only
 * while the per-URL budget allows it without a long wait (Trackunit: not without the reserve). A
 * token endpoint that fails the same way is asked again as often (under the request's grant when the
 * token was due while the request was being sent).
 * @module
 */
import { AssetbridgeError } from '../../../core/errors/errors.js';
import { parseRetryAfter } from '../../../core/delivery/backoff.js';
import { equipmentKey } from '../../../core/telematics/equipment-match.js';
import { configuredHeaderSecrets } from '../../../core/harmless-headers.js';
import type { SourceIdentifier } from '../../../core/model/events.js';
import type { Clock } from '../../../ports/clock.js';
import { systemClock } from '../../../ports/clock.js';
import { createRedactor, type Redactor } from '../../http/redact.js';
import { authorizedFetch } from '../auth/authorized-fetch.js';
import { TelematicsAuthError, type TelematicsCredentials } from '../auth/credentials.js';
import type { RequestClass, ResolvedProvider } from '../vendor-profiles.js';
import { canonicalUrl, nextStep, peekJsonLinks, resolveHref, stepTowardsLast, type WalkStop } from './aemp-links.js';
import { parseAempDocument, type AempDocument, type AempEquipment, type AempLink } from './aemp-parser.js';
import { BudgetWaitTooLongError, abortableSleep, type AcquireOptions, type RequestBudget } from './request-budget.js';

/**
 * A page the provider answered (2xx) that cannot be read, as received, so a caller can keep it
 * (fetching it again costs a request of the budget). Secret values of the feed's credentials the
 * body echoed are replaced (`secretsReplaced` says how many).
 */
export interface UnreadablePage {
  readonly url: string;
  readonly status: number;
  readonly contentType?: string;
  readonly body: Uint8Array;
  readonly receivedAt: number;
  /** Why it cannot be read (as the parser says). */
  readonly reason: string;
  readonly secretsReplaced: number;
}

/** A request failed in a way the caller should report (with the URL and what to do). */
export class AempRequestError extends AssetbridgeError {
  readonly code = 'AEMP_REQUEST';
  constructor(
    message: string,
    readonly url: string,
    readonly retryable: boolean,
    readonly status?: number,
    options?: { cause?: unknown; page?: UnreadablePage },
  ) {
    super(message, options);
    if (options?.page) this.page = options.page;
  }
  /** The page itself, when it was answered but cannot be read. */
  readonly page?: UnreadablePage;
}

/** A link of the feed leads off the origin of the feed's `baseUrl`; nothing was sent there. */
export class ForeignLinkError extends AempRequestError {
  constructor(
    message: string,
    url: string,
    /** The config key to check (`telematics.0.baseUrl`). */
    readonly configKey: string,
  ) {
    super(message, url, false);
  }
}

/** Counters of one client (all its requests). */
export interface AempClientStats {
  /** HTTP requests sent to the ISO API (re-sends after a 401 included). */
  requests: number;
  http429: number;
  http5xx: number;
  /** Requests re-sent with a new token after a 401. */
  reminted: number;
  reserveUsed: number;
  bytes: number;
}

export interface FetchOptions extends AcquireOptions {
  /** Per-URL budget key; default the URL itself. */
  readonly budgetKey?: string;
  /** Identifiers for time-series pages (the document does not name its equipment). */
  readonly ids?: readonly SourceIdentifier[];
}

interface FetchedBody {
  readonly url: string;
  readonly body: string;
  /** The body's bytes as received (kept for a page that cannot be read). */
  readonly bytes: Uint8Array;
  readonly status: number;
  readonly contentType?: string;
  readonly receivedAt: number;
  readonly usedReserve: boolean;
}

export interface FetchedDocument {
  readonly url: string;
  readonly receivedAt: number;
  readonly document: AempDocument;
  readonly usedReserve: boolean;
}

export interface WalkOptions extends Omit<FetchOptions, 'budgetKey'> {
  /** Hop cap; default the profile's `maxPages`. */
  readonly maxPages?: number;
  /** Budget key of the n-th page (0-based hop) at `url`; default the URL. */
  readonly budgetKeyFor?: (url: string, hop: number) => string;
  /**
   * Pages requested ahead of the confirmed next one, guessed from the page numbers in `next` and
   * `last`, so requests need not wait for each page to be parsed. A guess the links do not confirm
   * costs one request. @default 0
   */
  readonly lookahead?: number;
}

export interface WalkedPage extends FetchedDocument {
  /** 0-based position in the walk. */
  readonly hop: number;
  /** Where the walk goes next, when it goes on. */
  readonly nextUrl?: string;
  /** Why the walk ends after this page, when it does. */
  readonly stop?: WalkStop | 'hop-cap';
  /** The next page was derived from `last` (no `next` link) or jumped to `last`. */
  readonly note?: string;
}

export interface FleetPage extends WalkedPage {
  /** Equipment of this page not already seen on an earlier page of the walk. */
  readonly fresh: readonly { readonly key: string; readonly equipment: AempEquipment }[];
  /** Elements already seen on an earlier page (a snapshot shifting while it is paged). */
  readonly duplicates: number;
}

export interface AempClientOptions {
  readonly provider: ResolvedProvider;
  /** The provider's config key (`telematics.0`), which error messages name. */
  readonly configKey?: string;
  readonly credentials: TelematicsCredentials;
  readonly budget: RequestBudget;
  readonly fetch?: typeof fetch;
  readonly clock?: Clock;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Re-sends after a 5xx or network error (each needs budget without a long wait). @default 2 */
  readonly maxServerErrorRetries?: number;
}

/** Longest budget wait a 5xx retry accepts. */
const SERVER_ERROR_RETRY_MAX_WAIT_MS = 30_000;

function isoUtc(t: number): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The ISO API client for one provider account; see the module doc. */
export class AempClient {
  readonly stats: AempClientStats = { requests: 0, http429: 0, http5xx: 0, reminted: 0, reserveUsed: 0, bytes: 0 };
  private readonly fetchImpl: typeof fetch;
  private readonly clock: Clock;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** For URLs and provider answers quoted in errors (a signed link's key, a token echoed back). */
  private readonly redactor: Redactor;

  /** A key of this provider's config entry (`telematics.0.baseUrl`), for error messages; the bare key without one. */
  keyOf(key: string): string {
    return this.options.configKey !== undefined ? `${this.options.configKey}.${key}` : key;
  }

  constructor(private readonly options: AempClientOptions) {
    this.fetchImpl = options.fetch ?? fetch;
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? abortableSleep;
    this.redactor = createRedactor({ secrets: () => [...options.credentials.secrets(), ...configuredHeaderSecrets(options.provider.config.headers)] });
  }

  /** A URL as error messages quote it: secret query parameters (a signed next link) redacted. */
  private shown(url: string): string {
    return this.redactor.url(url);
  }

  get provider(): ResolvedProvider {
    return this.options.provider;
  }

  /** URL of fleet page `page` (default the profile's first page), with `addMetadata` when configured. */
  fleetPageUrl(page = this.provider.profile.firstPage): string {
    return this.withMetadata(this.url(this.provider.profile.paths.fleet, { page: String(page) }));
  }

  /** URL of the single-element snapshot of the machine with PIN/VIN `id`. */
  equipmentUrl(id: string): string {
    return this.withMetadata(this.url(this.provider.profile.paths.equipment, { id }));
  }

  /** URL of one time-series page. */
  timeSeriesUrl(id: string, element: string, from: number, to: number, page = 1): string {
    return this.url(this.provider.profile.paths.timeSeries, { id, element, from: isoUtc(from), to: isoUtc(to), page: String(page) });
  }

  /** Budget key of a time-series page: per equipment and element (Trackunit) or per URL. */
  timeSeriesBudgetKey(url: string, id: string, element: string, hop: number): string {
    return this.provider.profile.timeSeriesBudgetKey === 'url' ? canonicalUrl(url) : `timeseries:${id.trim().toUpperCase()}/${element}/page-${hop + 1}`;
  }

  /**
   * Fetch and parse one document, spending budget first. Throws {@link AempRequestError},
   * {@link TelematicsAuthError} or the budget's `BudgetWaitTooLongError`.
   */
  async fetchDocument(url: string, cls: RequestClass, opts: FetchOptions = {}): Promise<FetchedDocument> {
    return this.parse(await this.fetchBody(url, cls, opts), cls, opts.ids);
  }

  /** Fetch one body, spending budget first; retries as the module doc says. */
  private async fetchBody(url: string, cls: RequestClass, opts: FetchOptions): Promise<FetchedBody> {
    this.ensureOwnOrigin(url);
    const key = opts.budgetKey ?? canonicalUrl(url);
    let rateLimitRetries = 1;
    let serverRetries = this.options.maxServerErrorRetries ?? 2;
    let acquire: AcquireOptions = opts;
    let retrying: Error | undefined;
    for (let attempt = 1; ; attempt++) {
      // Have a token before taking a rate slot, so minting it cannot delay the request past its slot;
      // but no token when no request could be sent within the wait allowed (providers limit logins).
      let grant;
      try {
        await this.options.budget.ensureAffordable(key, acquire);
        await this.options.credentials.authorization(opts.signal);
        grant = await this.options.budget.acquire(key, cls, acquire);
      } catch (err) {
        // A retry the budget cannot afford now: report the failure that made us retry.
        if (retrying && err instanceof BudgetWaitTooLongError) {
          throw new AempRequestError(`${retrying.message}; not retried now: ${err.message}`, url, true, (retrying as AempRequestError).status, { cause: err });
        }
        // A token endpoint that failed (5xx, 429, no answer) is asked again like a page, before any budget is spent.
        if (err instanceof TelematicsAuthError && err.retryable && !opts.signal?.aborted && serverRetries-- > 0) {
          retrying = err;
          await this.sleep(1000 * attempt, opts.signal);
          continue;
        }
        throw err;
      }
      if (grant.usedReserve) this.stats.reserveUsed++;
      let outcome;
      try {
        outcome = await this.send(url, cls, opts.signal);
        // The token, due for renewal (or re-minted after a 401), could not be had: no page was
        // answered, so it is asked for again under the same grant (as a re-send after a 401 is).
        while (outcome.kind === 'token-failed' && serverRetries-- > 0) {
          await this.sleep(1000 * attempt, opts.signal);
          outcome = await this.send(url, cls, opts.signal);
        }
      } finally {
        this.options.budget.completed(grant);
      }
      if (outcome.kind === 'token-failed') throw outcome.error;
      if (outcome.kind === 'ok') {
        return {
          url,
          body: outcome.body,
          bytes: outcome.bytes,
          status: outcome.status,
          receivedAt: outcome.receivedAt,
          usedReserve: grant.usedReserve,
          ...(outcome.contentType !== undefined ? { contentType: outcome.contentType } : {}),
        };
      }
      if (outcome.kind === 'rate-limited') {
        await this.options.budget.rateLimited(key, cls, outcome.retryAfterMs);
        if (rateLimitRetries-- <= 0) throw new AempRequestError(`${this.provider.name}: ${this.shown(url)} answered 429 twice; stopping so the budget can recover`, url, true, 429);
        continue;
      }
      if (outcome.kind === 'retryable' && serverRetries-- > 0) {
        retrying = outcome.error;
        await this.sleep(1000 * attempt, opts.signal);
        acquire = { ...opts, maxWaitMs: Math.min(opts.maxWaitMs ?? Number.POSITIVE_INFINITY, SERVER_ERROR_RETRY_MAX_WAIT_MS) };
        continue;
      }
      throw outcome.error;
    }
  }

  private parse(fetched: FetchedBody, cls: RequestClass, ids: readonly SourceIdentifier[] | undefined): FetchedDocument {
    const parsed = parseAempDocument(fetched.body, {
      source: this.provider.source,
      receivedAt: fetched.receivedAt,
      ...(fetched.contentType !== undefined ? { contentType: fetched.contentType } : {}),
      ...(ids ? { ids } : {}),
      expect: cls === 'timeSeries' ? 'timeseries' : 'fleet',
    });
    if (!parsed.ok) {
      throw new AempRequestError(`${this.provider.name}: ${this.shown(fetched.url)} answered with a document that cannot be read: ${parsed.reason}`, fetched.url, false, fetched.status, {
        page: this.unreadablePage(fetched, parsed.reason),
      });
    }
    return { url: fetched.url, receivedAt: fetched.receivedAt, document: parsed.document, usedReserve: fetched.usedReserve };
  }

  /** The page as received, but for secret values of the credentials it echoed (replaced, and counted). */
  private unreadablePage(fetched: FetchedBody, reason: string): UnreadablePage {
    const secrets = [...this.options.credentials.secrets(), ...configuredHeaderSecrets(this.provider.config.headers)].filter((v) => v.length >= 4);
    let body = fetched.bytes;
    let replaced = 0;
    if (secrets.some((v) => fetched.body.includes(v))) {
      let text = fetched.body;
      for (const v of secrets) {
        const parts = text.split(v);
        replaced += parts.length - 1;
        text = parts.join('[REDACTED]');
      }
      body = new TextEncoder().encode(text);
    }
    return {
      url: fetched.url,
      status: fetched.status,
      ...(fetched.contentType !== undefined ? { contentType: fetched.contentType } : {}),
      body,
      receivedAt: fetched.receivedAt,
      reason: this.redactor.text(reason),
      secretsReplaced: replaced,
    };
  }

  /**
   * Walk linked pages from `startUrl`: follow `next` (or step towards `last`), stop at the last
   * page, on a repeated href, or at the hop cap. The next page is fetched while the caller handles
   * the current one; the caller may stop early by breaking out of the loop.
   */
  async *walk(startUrl: string, cls: RequestClass, opts: WalkOptions = {}): AsyncGenerator<WalkedPage> {
    const maxPages = opts.maxPages ?? this.provider.profile.maxPages;
    const lookahead = Math.max(0, opts.lookahead ?? 0);
    const visited = new Set<string>();
    // Requests under way, by canonical URL: the confirmed next page and any speculative ones.
    const inflight = new Map<string, Promise<FetchedBody>>();
    // Ends requests still under way when the walk ends early: a page asked ahead and waiting for
    // budget (a 429 cooldown) must not be sent once nobody will read it.
    const ended = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, ended.signal]) : ended.signal;
    const start = (url: string, hop: number): Promise<FetchedBody> => {
      const key = canonicalUrl(url);
      let pending = inflight.get(key);
      if (!pending) {
        pending = this.fetchBody(url, cls, { ...opts, signal, budgetKey: opts.budgetKeyFor?.(url, hop) ?? key });
        // Keep a rejection from being reported as unhandled while the caller still works on a page.
        pending.catch(() => undefined);
        inflight.set(key, pending);
      }
      return pending;
    };
    let current: { url: string; pending: Promise<FetchedBody> } | undefined = { url: startUrl, pending: start(startUrl, 0) };
    visited.add(canonicalUrl(startUrl));
    try {
      for (let hop = 0; current !== undefined; hop++) {
        const fetched: FetchedBody = await current.pending;
        inflight.delete(canonicalUrl(current.url));
        current = undefined;
        // Read the links first (cheaply for JSON) and ask for the next page before parsing this one.
        const peeked = peekJsonLinks(fetched.body);
        let page: FetchedDocument | undefined = peeked === undefined ? this.parse(fetched, cls, opts.ids) : undefined;
        const links = this.followable(peeked ?? page?.document.links ?? [], fetched.url, cls);
        const step = nextStep(links, fetched.url, visited);
        const atCap = step.kind === 'next' && hop + 1 >= maxPages;
        if (step.kind === 'next' && !atCap) {
          visited.add(canonicalUrl(step.url));
          current = { url: step.url, pending: start(step.url, hop + 1) };
          // Speculate along the page numbers the links show, so requests do not wait for parsing;
          // a guess the next page's links do not confirm is dropped (its request was spent).
          const last = links.find((l) => l.rel === 'last');
          let guess = step.url;
          for (let k = 2; k <= lookahead + 1 && step.how === 'next' && last !== undefined && hop + k < maxPages; k++) {
            const following = stepTowardsLast(guess, resolveHref(last.href, fetched.url) ?? '');
            if (following === undefined || visited.has(canonicalUrl(following))) break;
            void start(following, hop + k);
            guess = following;
          }
        }
        page ??= this.parse(fetched, cls, opts.ids);
        if (step.kind === 'stop') {
          yield { ...page, hop, stop: step.reason };
          return;
        }
        if (atCap) {
          yield { ...page, hop, stop: 'hop-cap', nextUrl: step.url };
          return;
        }
        yield { ...page, hop, nextUrl: step.url, ...(step.how !== 'next' ? { note: `no next link; ${step.how === 'jump-to-last' ? 'jumped to the last page' : 'next page derived from the last link'}` } : {}) };
      }
    } finally {
      // The caller stopped early (or a page failed): stop what is under way and let it settle.
      if (inflight.size > 0) ended.abort(new Error('the walk ended before this page was needed'));
      await Promise.all([...inflight.values()].map((p) => p.catch(() => undefined)));
    }
  }

  /**
   * Walk a fleet snapshot; equipment seen on an earlier page of the same walk counts once. A walk
   * from a resumed cursor knows nothing of the pages read before it: the fleet pull counts what its
   * earlier runs stored (fleet-pull.ts).
   */
  async *walkFleet(startUrl = this.fleetPageUrl(), opts: WalkOptions = {}): AsyncGenerator<FleetPage> {
    const seen = new Set<string>();
    for await (const page of this.walk(startUrl, 'fleet', opts)) {
      if (page.document.kind !== 'fleet') {
        throw new AempRequestError(`${this.provider.name}: ${this.shown(page.url)} returned a time-series document where a fleet page was expected`, page.url, false);
      }
      const fresh: { key: string; equipment: AempEquipment }[] = [];
      let duplicates = 0;
      for (const equipment of page.document.equipment) {
        const key = equipmentKey(equipment.ids, equipment.header.equipmentId);
        if (key !== '' && seen.has(key)) {
          duplicates++;
          continue;
        }
        if (key !== '') seen.add(key);
        fresh.push({ key, equipment });
      }
      yield { ...page, fresh, duplicates };
    }
  }

  /**
   * A link the feed gave (next, last, a resumed cursor) leads elsewhere than `baseUrl`'s origin (another
   * host, port or scheme: a proxy's internal address, `http` for `https`): the feed's credentials go
   * with every request, so none is sent there (as for ERP destinations).
   */
  private ensureOwnOrigin(url: string): void {
    const base = new URL(this.provider.baseUrl).origin;
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      origin = 'no origin';
    }
    if (origin === base) return;
    throw new ForeignLinkError(
      `${this.provider.name}: the feed's link ${this.shown(url)} leads to ${origin}, not to the origin of ${this.keyOf('baseUrl')} (${base}): the feed's credentials are not sent there; if the feed really serves its pages there, set ${this.keyOf('baseUrl')} to that address`,
      url,
      this.keyOf('baseUrl'),
    );
  }

  private url(template: string, values: Record<string, string>): string {
    const path = template.replace(/\{(\w+)\}/g, (m, name: string) => {
      const v = values[name];
      return v === undefined ? m : encodeURIComponent(v);
    });
    return `${this.provider.baseUrl}${path}`;
  }

  /**
   * The links as a walk follows them. A snapshot page's href that left out `addMetadata=true` (the
   * hrefs need not carry the query we sent: telematics.md §1.3 shows `.../Fleet/3`) asks for it
   * again, or every page after the first would come without Metadata, and its machines matched by
   * MachineId or ExternalReferenceNumber would go to the review list. The other links get it as well,
   * so `self`, `last` and an href pointing back compare with the URLs the walk asked for.
   */
  private followable(links: readonly AempLink[], base: string, cls: RequestClass): readonly AempLink[] {
    if (cls === 'timeSeries' || !this.provider.addMetadata) return links;
    return links.map((link) => {
      const absolute = resolveHref(link.href, base);
      if (absolute === undefined) return link;
      const url = new URL(absolute);
      if (url.searchParams.has('addMetadata')) return link;
      url.searchParams.set('addMetadata', 'true');
      return { ...link, href: url.toString() };
    });
  }

  private withMetadata(url: string): string {
    if (!this.provider.addMetadata) return url;
    const u = new URL(url);
    u.searchParams.set('addMetadata', 'true');
    return u.toString();
  }

  private async send(
    url: string,
    cls: RequestClass,
    signal: AbortSignal | undefined,
  ): Promise<
    | { kind: 'ok'; body: string; bytes: Uint8Array; status: number; contentType?: string; receivedAt: number }
    | { kind: 'rate-limited'; retryAfterMs?: number }
    | { kind: 'retryable' | 'fatal'; error: Error }
    | { kind: 'token-failed'; error: TelematicsAuthError }
  > {
    const cfg = this.provider.config;
    const timeout = AbortSignal.timeout(cfg.timeout);
    const headers = { Accept: cfg.format === 'json' ? 'application/json' : 'application/xml', ...cfg.headers };
    this.stats.requests++;
    let response: Response;
    let body: string;
    let bytes: Uint8Array;
    let reminted = false;
    try {
      const r = await authorizedFetch(this.options.credentials, url, { method: 'GET', headers, signal: signal ? AbortSignal.any([signal, timeout]) : timeout }, this.fetchImpl);
      reminted = r.reminted;
      if (r.reminted) {
        this.stats.reminted++;
        this.stats.requests++;
      }
      response = r.response;
      // The bytes too: a page that cannot be read is kept as received.
      bytes = new Uint8Array(await response.arrayBuffer());
      body = new TextDecoder().decode(bytes);
    } catch (err) {
      if (signal?.aborted) throw err;
      if (err instanceof TelematicsAuthError) {
        if (err.retryable) return { kind: 'token-failed', error: err };
        throw err;
      }
      const reason = timeout.aborted ? `no answer within ${cfg.timeout} ms` : this.redactor.text((err as Error).message);
      return { kind: 'retryable', error: new AempRequestError(`${this.provider.name}: GET ${this.shown(url)} failed: ${reason}`, url, true, undefined, { cause: err }) };
    }
    this.stats.bytes += body.length;
    const status = response.status;
    if (status >= 200 && status < 300) {
      const contentType = response.headers.get('content-type') ?? undefined;
      return { kind: 'ok', body, bytes, status, receivedAt: this.clock.now(), ...(contentType !== undefined ? { contentType } : {}) };
    }
    if (status === 429) {
      this.stats.http429++;
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.clock.now());
      return { kind: 'rate-limited', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    }
    const detail = this.redactor.text(describeError(body));
    if (status === 401) {
      return {
        kind: 'fatal',
        error: new TelematicsAuthError(
          reminted
            ? `${this.provider.name}: ${this.shown(url)} refused a freshly minted token (HTTP 401${detail}); check that the credentials in ${this.keyOf('auth')} may use the ISO export API`
            : // Fixed credentials (an API key, Basic): nothing to mint, the values themselves were refused.
              `${this.provider.name}: ${this.shown(url)} refused the feed's credentials (HTTP 401${detail}); check the token, or username and password, in ${this.keyOf('auth')}`,
          false,
          401,
        ),
      };
    }
    if (status === 403) {
      return {
        kind: 'fatal',
        error: new AempRequestError(
          `${this.provider.name}: ${this.shown(url)} is forbidden (HTTP 403${detail}); the account may lack the subscription (Trackunit time series need the Evolve & Expand or Link, Lift & Leap package) or the token lacks a scope`,
          url,
          false,
          403,
        ),
      };
    }
    if (status >= 500) {
      this.stats.http5xx++;
      return { kind: 'retryable', error: new AempRequestError(`${this.provider.name}: ${this.shown(url)} failed on the server (HTTP ${status}${detail})`, url, true, status) };
    }
    // The templates are `profile.paths.*` (there is no `paths` key of its own); a single machine
    // that is not found is most often an identifier the provider does not know.
    const check = `check ${this.keyOf('baseUrl')} and the path templates (${this.keyOf(`profile.paths.${cls}`)})`;
    const hint = status === 404 && cls === 'equipment' ? `the provider knows no machine by this identifier: check the PIN/VIN (as the fleet pull lists it), else ${check}` : check;
    return { kind: 'fatal', error: new AempRequestError(`${this.provider.name}: ${this.shown(url)} was refused (HTTP ${status}${detail}); ${hint}`, url, false, status) };
  }
}

/** `: message` from a Trackunit/OAuth-style error body, or a clipped text body. */
function describeError(body: string): string {
  const text = body.trim();
  if (text === '') return '';
  try {
    const doc = JSON.parse(text) as Record<string, unknown>;
    const message = doc.message ?? doc.error_description ?? doc.description ?? doc.error;
    if (typeof message === 'string') return `: ${message.slice(0, 200)}`;
  } catch {
    // not JSON
  }
  return `: ${text.replace(/\s+/g, ' ').slice(0, 200)}`;
}
