/**
 * A generic REST ERP over real HTTP, for tests and the demo (test tooling, never product code).
 * It speaks the API the generic REST connector targets (see erp-store.ts) with what real ERPs
 * put in the way: bearer auth and an OAuth2 client-credentials token endpoint, a request budget
 * and a concurrency limit answered with 429 + `Retry-After`, idempotency keys with stored-response replay (of 2xx answers,
 * or with `idempotencyKeeps4xx` also of 4xx ones), body
 * validation, an optional known-asset list, a `$batch` endpoint, work-order status changes with
 * optional webhooks, and injected faults. A control API under `/__sim/` lets tests in other
 * processes drive it.
 *
 * Control API (no auth; bind to localhost):
 * - `GET /__sim/state`, `GET /__sim/counters`, `GET /__sim/faults`
 * - `POST /__sim/faults` a FaultSpec or an array → `{ids}`; `DELETE /__sim/faults`
 * - `POST /__sim/reset` clears records, counters, faults and remembered idempotency keys
 * - `POST /__sim/complete-work-order` `{id | externalKey, operatingHoursAtCompletion?, odometerKmAtCompletion?}`
 * - `POST /__sim/work-order-status` `{id | externalKey, status, operatingHoursAtCompletion?, odometerKmAtCompletion?}`
 * - `POST /__sim/token` `{token}` rotates the static bearer token; `POST /__sim/revoke-tokens`
 * - `POST /__sim/rate-limit` `{perMinute: number | null, window?: 'fixed' | 'sliding'}`
 * - `POST /__sim/known-assets` `{assets: string[] | null}`; `POST /__sim/webhook` `{url: string | null}`
 * - `POST /__sim/on-hand` `{location, sku, quantity}` edits an on-hand quantity by hand
 * @module
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import { ErpStore, SimError, errorBody, type ErpState, type SimResponse, type SimWorkOrderStatus, type WorkOrderRecord, type CompletionReadings } from './erp-store.js';
import { BATCH_KINDS, FaultInjector, type ActiveFault, type FaultKind, type FaultSpec } from './faults.js';
import { RequestRateLimiter, type RateWindow } from './rate-limit.js';
import { checkWholeNumber } from '../whole-number.js';

export interface OAuthClient {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface ErpSimulatorOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** Static bearer token accepted on `/api/*`; `null` accepts only OAuth-issued tokens. @default 'sim-token' */
  readonly token?: string | null;
  /** Clients allowed at `POST /oauth/token`. @default [{clientId:'assetbridge', clientSecret:'sim-secret'}] */
  readonly oauthClients?: readonly OAuthClient[];
  /** Lifetime of issued OAuth tokens. @default 3600 */
  readonly tokenTtlSeconds?: number;
  /** Requests per minute on `/api/*`; undefined = unlimited. @default unlimited */
  readonly ratePerMinute?: number;
  /** @default fixed */
  readonly rateWindow?: RateWindow;
  /** Honour the idempotency header (false simulates an ERP without idempotency support). @default true */
  readonly idempotency?: boolean;
  /** @default X-Idempotency-Key */
  readonly idempotencyHeader?: string;
  /**
   * `true`: a write refused with a 4xx (a validation error, an unknown asset, a duplicate) is stored
   * under its idempotency key like a 2xx, and every later request with that key and body gets that
   * same answer (`Idempotent-Replayed: true`), even once the cause is fixed in the ERP, as
   * Stripe-style idempotency middleware keeps the first answer. (A 401, a 429 and a fault's answer
   * come before the key is looked at, and are not stored.)
   * @default false (only 2xx answers are stored: a key refused with a 4xx can be sent again)
   */
  readonly idempotencyKeeps4xx?: boolean;
  /** When set, writes naming another asset get 404. @default any asset exists */
  readonly knownAssets?: readonly string[];
  /** POSTs work-order status changes here. */
  readonly webhookUrl?: string;
  /** Signs webhook bodies: `X-Signature-256: sha256=<hex HMAC>`. */
  readonly webhookSecret?: string;
  /**
   * With `webhookSecret`: timestamped signing, as a destination's `webhook.timestampHeader` expects:
   * this header carries the Unix time in seconds (from `now`) and the signature covers
   * `<timestamp>.<body>`; every attempt, retries too, is signed afresh. @default the body alone is signed
   */
  readonly webhookTimestampHeader?: string;
  /**
   * Times a webhook is sent again after a 408, 429, 5xx or no answer, as ERPs retry pushes: after
   * its `Retry-After`, else `webhookRetryDelayMs` doubling. Other answers are final. @default 5
   */
  readonly webhookRetries?: number;
  /** First wait before a webhook is sent again (without `Retry-After`). @default 1000 */
  readonly webhookRetryDelayMs?: number;
  /** @default /api/v1/$batch */
  readonly batchPath?: string;
  /** Largest batch accepted. @default 50 */
  readonly maxBatchSize?: number;
  /**
   * `true`: a batch is all-or-nothing, as Oracle's batch actions and many ERPs' batch middleware
   * are: when any request in it fails, nothing of it is applied and the whole batch is answered
   * 400 `BatchRolledBack`, naming no request. @default false (each request answered on its own)
   */
  readonly batchAtomic?: boolean;
  /**
   * How an all-or-nothing batch that failed is answered: `rolled-back`, 400 `BatchRolledBack`
   * naming no request; `failed-request`, with the status, headers and body of its first request
   * that failed (a 409 "already exists", a lock), as other batch middleware does.
   * @default rolled-back
   */
  readonly batchAtomicAnswer?: 'rolled-back' | 'failed-request';
  /** Work-order list page size. @default 100 */
  readonly pageSize?: number;
  /** Seed for probabilistic faults. @default 1 */
  readonly seed?: number;
  /** Clock for timestamps, token expiry and the rate window. @default Date.now */
  readonly now?: () => number;
  /** Largest request body. @default 1048576 */
  readonly bodyLimitBytes?: number;
  /**
   * `false` answers a work-order create with 201 and its `Location` only, no body, as ERPs do that
   * return only where the record is (OData's `Prefer: return=minimal`). @default true
   */
  readonly createdBody?: boolean;
  /**
   * What an inventory count changes on hand: `total` sets it to `countedQuantity`; `delta` adds the
   * count's `delta` (NetSuite's `adjustQtyBy`; a count without one is 400). @default total
   */
  readonly inventoryTakes?: 'total' | 'delta';
  /** `false`: work-order lists ignore `?externalKey=` and page through every work order. @default true */
  readonly externalKeyFilter?: boolean;
  /** `false`: work-order lists ignore `?updatedSince=` and list every work order, every poll. @default true */
  readonly updatedSinceFilter?: boolean;
  /**
   * Fault: a work-order status change is listed only this long after its `updatedAt` (a long
   * transaction, a lagging read replica, a batching middleware); lists show the version before it
   * until then. @default 0
   */
  readonly updateVisibleAfterMs?: number;
  /**
   * `true`: a create whose `externalKey` a record already has is 409 `DuplicateEntry` naming it
   * (a unique business key), not a second record. @default false
   */
  readonly uniqueExternalKey?: boolean;
  /** Work-order lists without `?orderBy=updatedAt asc|desc`: oldest or newest change first. @default oldest-first */
  readonly listOrder?: 'oldest-first' | 'newest-first';
  /**
   * Most `/api/*` requests in flight at once; one more is answered 429 `TooManyConcurrentRequests`
   * with `Retry-After: 1` at once, as Dataverse (52 per user) and NetSuite (per account) refuse
   * requests past their concurrency limit. @default unlimited
   */
  readonly maxConcurrent?: number;
}

export interface ErpSimCounters {
  /** HTTP requests to `/api/*` and `/oauth/*` (control API not counted). */
  readonly requests: number;
  readonly batches: number;
  /** Requests inside batches. */
  readonly subRequests: number;
  /** All-or-nothing batches (`batchAtomic`) refused whole, nothing of them applied. */
  readonly batchesRolledBack: number;
  /** Writes that took effect, per operation. */
  readonly applied: ErpStore['applied'];
  /** Writes answered from the idempotency store instead of being applied again. */
  readonly duplicatesSuppressed: number;
  /** A known idempotency key sent with a different request (answered 422). */
  readonly idempotencyConflicts: number;
  /** A write whose idempotency key a request still in progress holds (answered 409 `IdempotencyKeyInUse`). */
  readonly idempotencyKeysInUse: number;
  /** 429 responses sent by the rate limit (not by faults). */
  readonly rateLimited: number;
  /** 429 responses sent because `maxConcurrent` requests were already in flight. */
  readonly concurrencyLimited: number;
  /** The most `/api/*` requests that were in flight at once (held by the ERP, e.g. by a `latency` fault). */
  readonly maxInFlight: number;
  readonly unauthorized: number;
  /** Other 4xx answers (validation, unknown asset, unknown route). */
  readonly rejected: number;
  readonly faultsFired: Readonly<Record<FaultKind, number>>;
  readonly tokensIssued: number;
  /** Location, inventory or meter-reading writes older than the stored state (a reading: the asset's newest), sent while their client waited: the client broke event-time order. */
  readonly outOfOrderStateWrites: number;
  /**
   * Such writes that landed after their client had
   * given up on them (held by a `latency` fault past the client's timeout), as a real ERP applies
   * such a request too: the client repairs it by sending the newer value again.
   */
  readonly outOfOrderLateLandings: number;
  /** Location writes for an (asset, lastSeen) that had already taken effect: a duplicate effect. */
  readonly duplicateStateWrites: number;
  /** Work orders created with an `externalKey` a work order already had: a duplicate effect. */
  readonly duplicateWorkOrders: number;
  /** Inventory counts applied for a (location, sku, revision) already applied: a duplicate effect (a delta taken twice). */
  readonly duplicateInventoryCounts: number;
  /** Usage postings applied for an (asset, period) already posted: a duplicate effect. */
  readonly duplicateUsagePostings: number;
  /** Creates refused 409 `DuplicateEntry` (`uniqueExternalKey`); `already-exists` faults are in `faultsFired`. */
  readonly duplicatesRefused: number;
  /** Webhooks a 2xx answered (once each, however many attempts it took). */
  readonly webhooksSent: number;
  /** Webhooks given up on: a final non-2xx answer, retries used up, or the simulator closed. */
  readonly webhookFailures: number;
  /** Webhook attempts sent again after a 408, 429, 5xx or no answer. */
  readonly webhookRetries: number;
}

/** The running simulator. */
export interface ErpSimulator {
  /** Base URL, e.g. `http://127.0.0.1:53211`. */
  readonly url: string;
  readonly port: number;
  /** A deep copy of the ERP's records. */
  state(): ErpState;
  counters(): ErpSimCounters;
  readonly faults: {
    add(spec: FaultSpec): number;
    clear(id?: number): void;
    list(): ActiveFault[];
    reseed(seed: number): void;
  };
  /** Rotate the static bearer token; the old one is refused from now on. */
  setToken(token: string | null): void;
  /** Invalidate every OAuth token issued so far (a server-side revocation). */
  revokeTokens(): void;
  setRateLimit(perMinute: number | undefined, window?: RateWindow): void;
  setKnownAssets(assets: readonly string[] | undefined): void;
  setWebhookUrl(url: string | undefined): void;
  setWorkOrderStatus(ref: WorkOrderRef, status: SimWorkOrderStatus, details?: CompletionReadings): WorkOrderRecord;
  /** Shortcut for {@link setWorkOrderStatus} to `completed`. */
  completeWorkOrder(ref: WorkOrderRef, details?: CompletionReadings): WorkOrderRecord;
  /** Set a cell's on-hand quantity as someone editing the ERP by hand would (no count document). */
  setOnHand(location: string, sku: string, quantity: number): void;
  /** Clear records, counters, faults and remembered idempotency keys. */
  reset(): void;
  /** Stop listening, drop open (hanging) connections, wait for webhooks in flight. */
  close(): Promise<void>;
}

export type WorkOrderRef = { readonly id?: string; readonly externalKey?: string };

interface MutableCounters {
  requests: number;
  batches: number;
  subRequests: number;
  batchesRolledBack: number;
  duplicatesSuppressed: number;
  idempotencyConflicts: number;
  idempotencyKeysInUse: number;
  rateLimited: number;
  concurrencyLimited: number;
  maxInFlight: number;
  unauthorized: number;
  rejected: number;
  tokensIssued: number;
  webhooksSent: number;
  webhookFailures: number;
  webhookRetries: number;
}

const zeroCounters = (): MutableCounters => ({
  requests: 0,
  batches: 0,
  subRequests: 0,
  batchesRolledBack: 0,
  duplicatesSuppressed: 0,
  idempotencyConflicts: 0,
  idempotencyKeysInUse: 0,
  rateLimited: 0,
  concurrencyLimited: 0,
  maxInFlight: 0,
  unauthorized: 0,
  rejected: 0,
  tokensIssued: 0,
  webhooksSent: 0,
  webhookFailures: 0,
  webhookRetries: 0,
});

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/**
 * Refuses (RangeError, naming the option) a number the command line would refuse too (cli.ts):
 * every token expired at once, every batch refused, a limit that refuses every request, is no
 * simulator a test wants. (`ratePerMinute` and `seed` are left as given: the demo passes its
 * `--erp-rate`, which may have a fraction, and its `--seed` through.)
 */
function checkOptions(options: ErpSimulatorOptions): void {
  const name = (option: string) => `startErpSimulator: ${option}`;
  checkWholeNumber(name('port'), options.port, 0, 65535, ' (0 = any free port)');
  checkWholeNumber(name('tokenTtlSeconds'), options.tokenTtlSeconds, 1);
  checkWholeNumber(name('maxConcurrent'), options.maxConcurrent, 1, undefined, ' (leave it out for no limit)');
  checkWholeNumber(name('webhookRetries'), options.webhookRetries, 0, undefined, ' (0 = sent once, never again)');
  checkWholeNumber(name('maxBatchSize'), options.maxBatchSize, 1);
  checkWholeNumber(name('pageSize'), options.pageSize, 1);
  // Nothing to sign with: the option would have no effect.
  if (options.webhookTimestampHeader !== undefined && options.webhookSecret === undefined)
    throw new RangeError(`${name('webhookTimestampHeader')} needs webhookSecret: a timestamp is signed with the body, and without a secret pushes are not signed`);
}

/** Start the simulator; resolves once it listens. Throws a RangeError for a number out of its option's range. */
export async function startErpSimulator(options: ErpSimulatorOptions = {}): Promise<ErpSimulator> {
  checkOptions(options);
  const now = options.now ?? Date.now;
  const idempotencyHeader = (options.idempotencyHeader ?? 'X-Idempotency-Key').toLowerCase();
  const batchPath = options.batchPath ?? '/api/v1/$batch';
  const maxBatchSize = options.maxBatchSize ?? 50;
  const bodyLimit = options.bodyLimitBytes ?? 1_048_576;
  const oauthClients = options.oauthClients ?? [{ clientId: 'assetbridge', clientSecret: 'sim-secret' }];
  const tokenTtlSeconds = options.tokenTtlSeconds ?? 3600;

  let staticToken: string | null = options.token === undefined ? 'sim-token' : options.token;
  let webhookUrl = options.webhookUrl;
  const issuedTokens = new Map<string, { clientId: string; expiresAt: number }>();
  const idempotencyStore = new Map<string, { fingerprint: string; response: SimResponse }>();
  /** Keys of writes the ERP is working on (a `latency` fault with `holdsKey`). */
  const keysInProgress = new Set<string>();
  const counters = zeroCounters();
  const faults = new FaultInjector(options.seed ?? 1);
  const limiter = new RequestRateLimiter(options.ratePerMinute, options.rateWindow ?? 'fixed', now);
  const pendingWebhooks = new Set<Promise<void>>();
  /** `/api/*` requests received and not yet answered (or dropped). */
  let inFlight = 0;
  /** Aborted by close(): webhook retries waiting to be sent are given up. */
  const closing = new AbortController();

  const store = new ErpStore({
    now,
    ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
    ...(options.inventoryTakes !== undefined ? { inventoryTakes: options.inventoryTakes } : {}),
    ...(options.externalKeyFilter !== undefined ? { externalKeyFilter: options.externalKeyFilter } : {}),
    ...(options.updatedSinceFilter !== undefined ? { updatedSinceFilter: options.updatedSinceFilter } : {}),
    ...(options.updateVisibleAfterMs !== undefined ? { updateVisibleAfterMs: options.updateVisibleAfterMs } : {}),
    ...(options.uniqueExternalKey !== undefined ? { uniqueExternalKey: options.uniqueExternalKey } : {}),
    ...(options.listOrder !== undefined ? { listOrder: options.listOrder } : {}),
    onWorkOrderChanged: (wo) => sendWebhook(wo),
  });
  if (options.knownAssets) store.knownAssets = new Set(options.knownAssets);

  function sendWebhook(wo: WorkOrderRecord): void {
    const target = webhookUrl;
    if (target === undefined) return;
    const payload = JSON.stringify({ type: 'workorder.status-changed', occurredAt: wo.updatedAt, workOrder: wo });
    // One id per change, the same on every attempt: a receiver can tell a retry from a new change.
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Sim-Event-Id': randomBytes(8).toString('hex') };
    const delivery = pushWebhook(target, headers, payload).finally(() => pendingWebhooks.delete(delivery));
    pendingWebhooks.add(delivery);
  }

  /** The signature headers of one attempt (with a timestamp: the time of this attempt, signed afresh). */
  function signed(payload: string): Record<string, string> {
    const secret = options.webhookSecret;
    if (secret === undefined) return {};
    const stamp = options.webhookTimestampHeader;
    if (stamp === undefined) return { 'X-Signature-256': `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}` };
    const seconds = String(Math.floor(now() / 1000));
    return { [stamp]: seconds, 'X-Signature-256': `sha256=${createHmac('sha256', secret).update(`${seconds}.${payload}`).digest('hex')}` };
  }

  /** POST one webhook, again after a 408, 429, 5xx or no answer (a later change may overtake it, as with real pushes). */
  async function pushWebhook(target: string, headers: Record<string, string>, payload: string): Promise<void> {
    const retries = options.webhookRetries ?? 5;
    let wait = options.webhookRetryDelayMs ?? 1000;
    for (let attempt = 0; ; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const res = await fetch(target, { method: 'POST', headers: { ...headers, ...signed(payload) }, body: payload, signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        if (res.ok) {
          counters.webhooksSent++;
          return;
        }
        if (res.status !== 408 && res.status !== 429 && res.status < 500) break;
        // Seconds only; none (or a date) waits the simulator's own delay: Number(null) would be 0, a retry at once.
        const retryAfter = res.headers.get('retry-after')?.trim();
        const seconds = retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
        if (seconds !== undefined) retryAfterMs = seconds * 1000;
      } catch {
        // no answer: sent again like a 5xx
      }
      if (attempt >= retries || closing.signal.aborted) break;
      counters.webhookRetries++;
      try {
        await sleep(retryAfterMs ?? wait, undefined, { signal: closing.signal });
      } catch {
        break; // closed while waiting
      }
      wait *= 2;
    }
    counters.webhookFailures++;
  }

  function authorize(header: string | undefined): SimResponse | undefined {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    const challenge = { 'WWW-Authenticate': 'Bearer realm="erp-sim"' };
    if (!match?.[1]) {
      counters.unauthorized++;
      return { status: 401, headers: challenge, body: errorBody('Unauthorized', 'missing bearer token: send Authorization: Bearer <token>') };
    }
    const token = match[1];
    if (staticToken !== null && token === staticToken) return undefined;
    const issued = issuedTokens.get(token);
    if (issued && issued.expiresAt > now()) return undefined;
    counters.unauthorized++;
    return {
      status: 401,
      headers: { 'WWW-Authenticate': 'Bearer realm="erp-sim", error="invalid_token"' },
      body: errorBody('InvalidToken', issued ? 'the access token has expired' : 'the access token is not valid'),
    };
  }

  function issueToken(req: IncomingMessage, rawBody: string): SimResponse {
    const form = new URLSearchParams(rawBody);
    let clientId = form.get('client_id') ?? undefined;
    let clientSecret = form.get('client_secret') ?? undefined;
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      clientId = decodeURIComponent(decoded.slice(0, colon));
      clientSecret = decodeURIComponent(decoded.slice(colon + 1));
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'only grant_type=client_credentials is supported' } };
    }
    const client = oauthClients.find((c) => c.clientId === clientId && c.clientSecret === clientSecret);
    if (!client) {
      counters.unauthorized++;
      return { status: 401, body: { error: 'invalid_client', error_description: 'unknown client or wrong secret' } };
    }
    const accessToken = `sim-at-${randomBytes(16).toString('hex')}`;
    issuedTokens.set(accessToken, { clientId: client.clientId, expiresAt: now() + tokenTtlSeconds * 1000 });
    counters.tokensIssued++;
    const scope = form.get('scope');
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store' },
      body: { access_token: accessToken, token_type: 'Bearer', expires_in: tokenTtlSeconds, ...(scope ? { scope } : {}) },
    };
  }

  /** The idempotency key a write carries, when the simulator honours keys. */
  function writeKey(req: IncomingMessage, method: string): string | undefined {
    if (options.idempotency === false || !WRITE_METHODS.has(method)) return undefined;
    const header = req.headers[idempotencyHeader];
    const key = Array.isArray(header) ? header[0] : header;
    return key === undefined || key === '' ? undefined : key;
  }

  /** Whether an answer of this status is kept under its idempotency key and replayed. */
  function storesUnderKey(status: number): boolean {
    if (status >= 200 && status < 300) return true;
    return options.idempotencyKeeps4xx === true && status >= 400 && status < 500;
  }

  /** Idempotent write: the first 2xx answer for a key (with `idempotencyKeeps4xx`, also a 4xx) is stored and replayed for repeats. */
  function withIdempotency(method: string, pathWithQuery: string, body: unknown, key: string | undefined, apply: () => SimResponse): SimResponse {
    if (options.idempotency === false || key === undefined || key === '' || !WRITE_METHODS.has(method)) return apply();
    if (keysInProgress.has(key)) {
      counters.idempotencyKeysInUse++;
      return { status: 409, body: errorBody('IdempotencyKeyInUse', `a request with idempotency key ${key} is still in progress; retry later`) };
    }
    const fingerprint = `${method} ${pathWithQuery}\n${stableJson(body)}`;
    const stored = idempotencyStore.get(key);
    if (stored) {
      if (stored.fingerprint !== fingerprint) {
        counters.idempotencyConflicts++;
        return { status: 422, body: errorBody('IdempotencyKeyReused', `idempotency key ${key} was first used for a different request`) };
      }
      counters.duplicatesSuppressed++;
      return { ...stored.response, headers: { ...stored.response.headers, 'Idempotent-Replayed': 'true' } };
    }
    const response = apply();
    if (storesUnderKey(response.status)) idempotencyStore.set(key, { fingerprint, response });
    return response;
  }

  function routeApi(method: string, target: string, body: unknown, key: string | undefined): SimResponse {
    const url = new URL(target, 'http://sim');
    let response: SimResponse;
    try {
      response = withIdempotency(method, `${url.pathname}${url.search}`, body, key, () => store.route(method, url.pathname, url.searchParams, body));
    } catch (err) {
      response = { status: 400, body: errorBody('BadRequest', (err as Error).message) };
    }
    if (response.status >= 400 && response.status < 500) counters.rejected++;
    if (options.createdBody === false && response.status === 201 && response.headers?.Location !== undefined) return { status: 201, headers: response.headers };
    return response;
  }

  function runBatch(body: unknown): SimResponse {
    counters.batches++;
    const requests = (body as { requests?: unknown } | null)?.requests;
    if (!Array.isArray(requests)) return rejectWith(400, 'ValidationError', 'a batch body is {requests:[{id, method, path, headers?, body?}]}');
    if (requests.length > maxBatchSize) return rejectWith(400, 'BatchTooLarge', `a batch holds at most ${maxBatchSize} requests; got ${requests.length}`);
    // The whole envelope is read before any request in it runs, as a real batch endpoint parses its
    // body first: a malformed batch is refused 400 with nothing of it applied.
    const ids = new Set<string>();
    const subs: { id: string; method: string; path: string; headers?: unknown; body?: unknown }[] = [];
    for (const [index, raw] of requests.entries()) {
      const sub = raw as { id?: unknown; method?: unknown; path?: unknown; headers?: unknown; body?: unknown } | null;
      const id = typeof sub?.id === 'string' || typeof sub?.id === 'number' ? String(sub.id) : undefined;
      if (id === undefined || ids.has(id)) return rejectWith(400, 'ValidationError', `requests[${index}].id must be a unique string`);
      ids.add(id);
      if (typeof sub?.method !== 'string' || typeof sub.path !== 'string' || !sub.path.startsWith('/api/') || sub.path.startsWith(batchPath)) {
        return rejectWith(400, 'ValidationError', `requests[${index}] needs a method and a path under /api/ (not the batch path)`);
      }
      subs.push({ id, method: sub.method, path: sub.path, headers: sub.headers, body: sub.body });
    }
    const responses: { id: string; status: number; headers?: Readonly<Record<string, string>>; body?: unknown }[] = [];
    // All-or-nothing: what the batch changed is undone when a request in it fails.
    const rollback = options.batchAtomic === true ? store.savepoint() : undefined;
    const keysBefore = rollback ? new Set(idempotencyStore.keys()) : undefined;
    for (const sub of subs) {
      const { id } = sub;
      counters.subRequests++;
      const method = sub.method.toUpperCase();
      const fault = faults.take(BATCH_KINDS, method, sub.path, true);
      if (fault && fault.kind !== 'already-exists') {
        responses.push({ id, ...faultResponse(fault, sub.path) });
        continue;
      }
      const headers = (sub.headers ?? {}) as Record<string, unknown>;
      const keyEntry = Object.entries(headers).find(([k]) => k.toLowerCase() === idempotencyHeader);
      const key = typeof keyEntry?.[1] === 'string' ? keyEntry[1] : undefined;
      const applied = routeApi(method, sub.path, sub.body, key);
      const response = fault ? alreadyExists(fault, applied) : applied;
      responses.push({ id, status: response.status, ...(response.headers ? { headers: response.headers } : {}), ...(response.body !== undefined ? { body: response.body } : {}) });
    }
    if (rollback && responses.some((r) => r.status < 200 || r.status >= 300)) {
      rollback();
      for (const key of idempotencyStore.keys()) if (!keysBefore?.has(key)) idempotencyStore.delete(key);
      counters.batchesRolledBack++;
      const failedRequest = responses.find((r) => r.status < 200 || r.status >= 300);
      if (options.batchAtomicAnswer === 'failed-request' && failedRequest) {
        counters.rejected++;
        return { status: failedRequest.status, ...(failedRequest.headers ? { headers: failedRequest.headers } : {}), ...(failedRequest.body !== undefined ? { body: failedRequest.body } : {}) };
      }
      return rejectWith(400, 'BatchRolledBack', `the batch was rolled back: one of its ${requests.length} requests failed`);
    }
    return { status: 200, body: { responses } };
  }

  function rejectWith(status: number, code: string, message: string): SimResponse {
    counters.rejected++;
    return { status, body: errorBody(code, message) };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://sim');
    let rawBody: string;
    try {
      rawBody = await readBody(req, bodyLimit);
    } catch {
      write(res, { status: 413, body: errorBody('PayloadTooLarge', `request bodies are limited to ${bodyLimit} bytes`) });
      return;
    }
    if (url.pathname.startsWith('/__sim/')) {
      write(res, control(method, url.pathname, rawBody));
      return;
    }
    counters.requests++;
    if (url.pathname.startsWith('/api/')) {
      // Past the concurrency limit a request is refused at once, before anything else is looked at.
      if (options.maxConcurrent !== undefined && inFlight >= options.maxConcurrent) {
        counters.concurrencyLimited++;
        write(res, {
          status: 429,
          headers: { 'Retry-After': '1' },
          body: errorBody('TooManyConcurrentRequests', `at most ${options.maxConcurrent} requests may be in flight at once; retry after 1 s`),
        });
        return;
      }
      inFlight++;
      counters.maxInFlight = Math.max(counters.maxInFlight, inFlight);
      res.once('close', () => inFlight--);
    }

    const latency = faults.take(['latency'], method, url.pathname, false);
    if (latency) {
      // holdsKey: the ERP works on the write meanwhile, its idempotency key claimed (see withIdempotency).
      const key = latency.holdsKey === true ? writeKey(req, method) : undefined;
      const claimed = key !== undefined && !keysInProgress.has(key) && !idempotencyStore.has(key) ? key : undefined;
      if (claimed !== undefined) keysInProgress.add(claimed);
      try {
        await delay(latency.latencyMs ?? 200);
      } finally {
        // Released just before it is applied (synchronously, below): no other request comes between.
        if (claimed !== undefined) keysInProgress.delete(claimed);
      }
    }
    const fault = faults.take(['error', 'timeout', 'reset', 'lost-response', 'locked', 'already-exists', 'malformed', 'cut-body', 'empty-body'], method, url.pathname, false);
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'timeout') return; // never answer; close() drops the connection
    if (fault?.kind === 'error' || fault?.kind === 'locked') {
      write(res, faultResponse(fault, url.pathname));
      return;
    }

    // A client that gave up while a latency fault held its request (timed out, went away) does not
    // stop it: it is applied as a real ERP would, and told apart in the counters.
    store.clientGone = req.socket.destroyed || req.socket.readableEnded;
    let applied: SimResponse;
    try {
      applied = answer(req, method, url, rawBody);
    } finally {
      store.clientGone = false;
    }
    const response = fault?.kind === 'already-exists' ? alreadyExists(fault, applied) : applied;
    if (fault?.kind === 'lost-response') {
      // The write took effect; the client never hears about it.
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'malformed') {
      writeMalformed(res, response, fault);
      return;
    }
    if (fault?.kind === 'cut-body') {
      writeCut(res, response);
      return;
    }
    if (fault?.kind === 'empty-body') {
      writeEmpty(res, response);
      return;
    }
    write(res, response);
  }

  function answer(req: IncomingMessage, method: string, url: URL, rawBody: string): SimResponse {
    if (url.pathname === '/oauth/token') {
      return method === 'POST' ? issueToken(req, rawBody) : rejectWith(405, 'MethodNotAllowed', 'use POST /oauth/token');
    }
    if (!url.pathname.startsWith('/api/')) return rejectWith(404, 'NotFound', `no route ${method} ${url.pathname}`);
    const admission = limiter.tryAcquire();
    if (!admission.admitted) {
      counters.rateLimited++;
      return {
        status: 429,
        headers: { 'Retry-After': String(admission.retryAfterSeconds) },
        body: errorBody('TooManyRequests', `rate limit of ${limiter.limit} requests per minute exceeded; retry after ${admission.retryAfterSeconds} s`),
      };
    }
    const denied = authorize(req.headers.authorization);
    if (denied) return denied;

    let body: unknown;
    if (rawBody !== '') {
      try {
        body = JSON.parse(rawBody);
      } catch (err) {
        return rejectWith(400, 'BadRequest', `body is not valid JSON: ${(err as Error).message}`);
      }
    }
    if (url.pathname === batchPath) return method === 'POST' ? runBatch(body) : rejectWith(405, 'MethodNotAllowed', `use POST ${batchPath}`);
    const keyHeader = req.headers[idempotencyHeader];
    const key = Array.isArray(keyHeader) ? keyHeader[0] : keyHeader;
    return routeApi(method, `${url.pathname}${url.search}`, body, key);
  }

  function control(method: string, path: string, rawBody: string): SimResponse {
    let body: Record<string, unknown> = {};
    try {
      if (rawBody !== '') body = JSON.parse(rawBody) as Record<string, unknown>;
    } catch (err) {
      return { status: 400, body: errorBody('BadRequest', `body is not valid JSON: ${(err as Error).message}`) };
    }
    try {
      const route = `${method} ${path.replace(/\/+$/, '')}`;
      switch (route) {
        case 'GET /__sim/state':
          return { status: 200, body: sim.state() };
        case 'GET /__sim/counters':
          return { status: 200, body: sim.counters() };
        case 'GET /__sim/faults':
          return { status: 200, body: faults.list() };
        case 'POST /__sim/faults': {
          const specs = (Array.isArray(body) ? body : [body]) as FaultSpec[];
          // All or none: a spec refused arms none of those sent with it.
          return { status: 201, body: { ids: faults.addAll(specs) } };
        }
        case 'DELETE /__sim/faults':
          faults.clear();
          return { status: 204 };
        case 'POST /__sim/reset':
          sim.reset();
          return { status: 204 };
        case 'POST /__sim/complete-work-order':
          return { status: 200, body: sim.completeWorkOrder(workOrderRef(body), readingsOf(body)) };
        case 'POST /__sim/work-order-status': {
          const status = body.status;
          if (status !== 'in-progress' && status !== 'completed' && status !== 'cancelled') {
            throw new SimError(400, 'ValidationError', 'status must be in-progress, completed or cancelled');
          }
          return { status: 200, body: sim.setWorkOrderStatus(workOrderRef(body), status, readingsOf(body)) };
        }
        case 'POST /__sim/on-hand':
          if (typeof body.location !== 'string' || typeof body.sku !== 'string' || typeof body.quantity !== 'number')
            throw new SimError(400, 'ValidationError', 'give {location, sku, quantity}');
          sim.setOnHand(body.location, body.sku, body.quantity);
          return { status: 204 };
        case 'POST /__sim/token':
          if (body.token !== null && typeof body.token !== 'string') throw new SimError(400, 'ValidationError', 'token must be a string or null');
          sim.setToken(body.token);
          return { status: 204 };
        case 'POST /__sim/revoke-tokens':
          sim.revokeTokens();
          return { status: 204 };
        case 'POST /__sim/rate-limit': {
          const perMinute = body.perMinute;
          if (perMinute !== null && perMinute !== undefined && !(typeof perMinute === 'number' && perMinute > 0))
            throw new SimError(400, 'ValidationError', 'perMinute must be a positive number or null');
          const window = body.window === 'sliding' ? 'sliding' : 'fixed';
          sim.setRateLimit(typeof perMinute === 'number' ? perMinute : undefined, window);
          return { status: 204 };
        }
        case 'POST /__sim/known-assets': {
          const assets = body.assets;
          if (assets !== null && !(Array.isArray(assets) && assets.every((a) => typeof a === 'string')))
            throw new SimError(400, 'ValidationError', 'assets must be an array of strings or null');
          sim.setKnownAssets(assets ?? undefined);
          return { status: 204 };
        }
        case 'POST /__sim/webhook':
          if (body.url !== null && typeof body.url !== 'string') throw new SimError(400, 'ValidationError', 'url must be a string or null');
          sim.setWebhookUrl(body.url ?? undefined);
          return { status: 204 };
        default:
          return { status: 404, body: errorBody('NotFound', `no control route ${method} ${path}`) };
      }
    } catch (err) {
      if (err instanceof SimError) return { status: err.status, body: errorBody(err.code, err.message) };
      return { status: 400, body: errorBody('BadRequest', (err as Error).message) };
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) write(res, { status: 500, body: errorBody('SimulatorBug', (err as Error).message) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  const sim: ErpSimulator = {
    url: `http://${host}:${address.port}`,
    port: address.port,
    state: () => store.snapshot(),
    counters: () => ({
      ...counters,
      applied: { ...store.applied },
      faultsFired: faults.firedCounts(),
      outOfOrderStateWrites: store.outOfOrderStateWrites,
      outOfOrderLateLandings: store.outOfOrderLateLandings,
      duplicateStateWrites: store.duplicateStateWrites,
      duplicateWorkOrders: store.duplicateWorkOrders,
      duplicateInventoryCounts: store.duplicateInventoryCounts,
      duplicateUsagePostings: store.duplicateUsagePostings,
      duplicatesRefused: store.duplicatesRefused,
    }),
    faults: {
      add: (spec) => faults.add(spec),
      clear: (id) => faults.clear(id),
      list: () => faults.list(),
      reseed: (seed) => faults.reseed(seed),
    },
    setToken(token) {
      staticToken = token;
    },
    revokeTokens() {
      issuedTokens.clear();
    },
    setRateLimit(perMinute, window) {
      limiter.configure(perMinute, window);
    },
    setKnownAssets(assets) {
      store.knownAssets = assets ? new Set(assets) : undefined;
    },
    setWebhookUrl(url) {
      webhookUrl = url;
    },
    setWorkOrderStatus: (ref, status, details) => store.setWorkOrderStatus(ref, status, details),
    completeWorkOrder: (ref, details) => store.setWorkOrderStatus(ref, 'completed', details),
    setOnHand: (location, sku, quantity) => store.setOnHand(location, sku, quantity),
    reset() {
      store.reset();
      Object.assign(counters, zeroCounters());
      faults.clear();
      faults.resetCounts();
      idempotencyStore.clear();
      limiter.configure(limiter.limit);
    },
    async close() {
      closing.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.allSettled([...pendingWebhooks]);
    },
  };
  return sim;
}

function workOrderRef(body: Record<string, unknown>): WorkOrderRef {
  if (typeof body.id === 'string') return { id: body.id };
  if (typeof body.externalKey === 'string') return { externalKey: body.externalKey };
  throw new SimError(400, 'ValidationError', 'give the work order as {id} or {externalKey}');
}

/** The meter readings a completion may carry. */
function readingsOf(body: Record<string, unknown>): CompletionReadings {
  const out: { operatingHoursAtCompletion?: number; odometerKmAtCompletion?: number } = {};
  for (const field of ['operatingHoursAtCompletion', 'odometerKmAtCompletion'] as const) {
    const v = body[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new SimError(400, 'ValidationError', `${field} must be a non-negative number`);
    out[field] = v;
  }
  return out;
}

/** The answer of an `error` or `locked` fault to a request for `path`. */
function faultResponse(fault: FaultSpec, path: string): SimResponse {
  if (fault.kind === 'locked') {
    return { status: 409, body: fault.body ?? errorBody('RecordLocked', `${path} is locked by user PLANNER-7, who is editing it; try again later`) };
  }
  const status = fault.status ?? 500;
  return {
    status,
    ...(fault.retryAfterSeconds !== undefined ? { headers: { 'Retry-After': String(fault.retryAfterSeconds) } } : {}),
    body: fault.body ?? errorBody('InjectedFault', `injected ${status} fault`),
  };
}

/** An `already-exists` fault's answer once the request was applied: 409 naming the record (a failed request's own answer as it is). */
function alreadyExists(fault: FaultSpec, applied: SimResponse): SimResponse {
  if (applied.status < 200 || applied.status >= 300) return applied;
  const record = applied.body as { id?: unknown; externalKey?: unknown } | undefined;
  const which = typeof record?.id === 'string' ? ` ${record.id}` : '';
  const key = typeof record?.externalKey === 'string' ? ` with externalKey ${record.externalKey}` : '';
  return { status: 409, body: fault.body ?? errorBody('DuplicateEntry', `the record${which} already exists${key}`) };
}

function write(res: ServerResponse, response: SimResponse): void {
  if (res.destroyed) return;
  const text = response.body === undefined ? '' : JSON.stringify(response.body);
  res.writeHead(response.status, {
    ...(text !== '' ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
    'Content-Length': String(Buffer.byteLength(text)),
    ...response.headers,
  });
  res.end(text);
}

/** A `malformed` fault's answer: the response's status and headers, a body that is not the JSON it claims to be. */
function writeMalformed(res: ServerResponse, response: SimResponse, fault: FaultSpec): void {
  if (res.destroyed) return;
  const json = response.body === undefined ? '{"items":[' : JSON.stringify(response.body);
  const text = typeof fault.body === 'string' ? fault.body : json.slice(0, Math.max(1, Math.floor(json.length / 2)));
  res.writeHead(response.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)), ...response.headers });
  res.end(text);
}

/** A `cut-body` fault's answer: the status and headers of the whole body, half of it, then the connection closed. */
function writeCut(res: ServerResponse, response: SimResponse): void {
  if (res.destroyed) return;
  // An answer without a body (201 with only a Location) gets one to cut: an error body, as an ERP's gateway might send.
  const text = response.body === undefined ? JSON.stringify(errorBody('Cut', 'this answer is cut short')) : JSON.stringify(response.body);
  res.writeHead(response.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)), ...response.headers });
  res.write(text.slice(0, Math.max(1, Math.floor(text.length / 2))), () => res.destroy());
}

/** An `empty-body` fault's answer: the response's status and headers, saying JSON, and no body at all. */
function writeEmpty(res: ServerResponse, response: SimResponse): void {
  if (res.destroyed) return;
  res.writeHead(response.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': '0', ...response.headers });
  res.end();
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** JSON with sorted keys, so equal requests compare equal whatever their key order. */
function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}
