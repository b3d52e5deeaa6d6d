/**
 * The generic REST/webhook ERP connector: maps the ERP-neutral operations to a configurable REST
 * API (see rest-mapping.ts for the shapes), one request per delivery or many in one batch call.
 *
 * Exactly-once (invariant 3): every write carries the delivery's idempotency key in the
 * configured header. When the ERP ignores that header (`idempotencySupported: false`), every
 * create carries an `externalKey` and is looked up by it before it is created, and an existing one
 * counts as delivered: a fact (work order, inventory count, usage posting) by its business key, a
 * meter reading by its idempotency key. A 409 answer to a write is read as `on409` says (see
 * {@link conflictMeaning}): "already exists" on a create is the earlier attempt that landed (the
 * record is looked up by its `externalKey` and reported delivered with its id), a lock or a
 * concurrent change is retryable, any other stays permanent. The connector
 * never retries, sleeps or limits: the dispatcher does.
 * @module
 */
import { AuthError, ConflictError, DeliveryError, PermanentError, RateLimitedError, RetryableError, coerceError } from '../../../core/errors/errors.js';
import { parseRetryAfter } from '../../../core/delivery/backoff.js';
import type { OutboxItem } from '../../../core/model/delivery.js';
import { systemClock, type Clock } from '../../../ports/clock.js';
import type {
  ConnectorCapabilities,
  ErpConnector,
  Exchange,
  InventoryCellRef,
  ItemResult,
  OnHandQuantity,
  ProbeResult,
  SendContext,
  WebhookItem,
  WorkOrderPoll,
  WorkOrderPollListedBefore,
  WorkOrderUpdate,
} from '../../../ports/connector.js';
import { LISTED_BEFORE_ALLOWANCE_MS } from '../../../ports/connector.js';
import type { RestDestinationConfig } from '../../../config/schema.js';
import { emptyAnswerText, jsonCutShort } from '../../http/cut-short.js';
import { RestClient, parseBody, type RestOutcome, type RestRequest } from './rest-client.js';
import { classifyResponse, conflictMeaning, keyIgnoredWrite, type On409Setting } from './rest-errors.js';
import { CallPacing } from '../call-pacing.js';
import {
  REST_OPERATIONS,
  buildBatchRequest,
  headerValue,
  onHandPath,
  parseBatchResponse,
  parseOnHand,
  parseWorkOrderPage,
  parseWorkOrderWebhook,
  planRequest,
  webhookRecords,
  toWorkOrderUpdate,
  whyPassedOver,
  workOrderVersion,
  withCreatedId,
  withQuery,
  withWorkOrderFields,
  workOrderChangedAt,
  workOrderIdOf,
  workOrderTimeField,
  workOrderLookupPath,
  workOrderUpdatesPath,
  normalizeWorkOrderStatus,
  type BatchSubRequest,
  type PlannedRequest,
} from './rest-mapping.js';
import { WORKORDER_UPDATE } from '../../../core/rules/maintenance/work-order.js';

export interface RestConnectorOptions {
  /** Clock for token expiry and `Retry-After` dates. @default systemClock */
  readonly clock?: Clock;
  /** fetch implementation; tests inject recorders. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * Most pages the lookup before a create (`idempotencySupported: false`) follows while the record
   * is not among them. An ERP that filters by `externalKey` answers with one short page; one that
   * ignores the filter pages through everything, and a create after a partial read could add a
   * duplicate: past this, the delivery fails (permanently) saying so. @default 20
   */
  readonly maxLookupPages?: number;
  /** The destination's place in the config (`destinations.0`), for messages that name a key to fix. */
  readonly configKey?: string;
  /** Where a batch the ERP refused whole is said (once per destination). */
  readonly logger?: { warn(fields: Record<string, unknown>, message: string): void };
}

/**
 * How a `type: rest` destination reads its ERP's work-order pushes, from its config alone (no
 * client is built, no secret read): what its connector's `parseWorkOrderWebhook` and
 * `workOrderWebhookRecords` do, for `quarantine replay` without a running service.
 */
export function restPushReader(
  config: Pick<RestDestinationConfig, 'name' | 'workOrderStatuses' | 'workOrderFields'>,
  configKey?: string,
): { records(body: readonly unknown[]): unknown[]; parse(body: unknown): WebhookItem[]; version(record: unknown): string | undefined } {
  const place = { destination: config.name, ...(configKey === undefined ? {} : { configKey }) };
  return {
    records: (body) => webhookRecords(body),
    parse: (body) => parseWorkOrderWebhook(body, config.workOrderStatuses, config.workOrderFields, place),
    // As a poll tells it (fetchWorkOrderUpdates' setAside): its fields as workOrderFields names them.
    version: (record) => workOrderVersion(withWorkOrderFields(record, config.workOrderFields)),
  };
}

/** Build the connector for a `type: rest` destination. */
export function createRestConnector(config: RestDestinationConfig, options: RestConnectorOptions = {}): RestConnector {
  return new RestConnector(config, options);
}

type Planned = { readonly item: OutboxItem; readonly plan: PlannedRequest };

/** The key of the work order and the inventory cell `probe` reads: none the ERP can hold. */
const PROBE_KEY = 'assetbridge-connectivity-check';

export class RestConnector implements ErpConnector {
  readonly name: string;
  readonly capabilities: ConnectorCapabilities;
  /** The transport, exposed for tests and diagnostics. */
  readonly client: RestClient;
  /** A batch refused whole was logged: once per destination, as the halves are sent on every such batch. */
  private splitLogged = false;
  /**
   * Mint new OAuth2 credentials; rejects when the token endpoint refuses. Absent for a static
   * token: there is nothing to refresh, and a 401 resent at once with it would only fail again.
   */
  readonly refreshAuth?: (signal?: AbortSignal) => Promise<void>;
  /** On-hand quantities per (location, SKU); only with `paths.inventoryOnHand` set. */
  readonly readInventory?: (cells: readonly InventoryCellRef[], ctx: SendContext) => Promise<OnHandQuantity[]>;

  constructor(
    private readonly config: RestDestinationConfig,
    private readonly options: RestConnectorOptions = {},
  ) {
    this.name = config.name;
    // A location PATCH replaces the record; every other operation creates one.
    // A location PATCH replaces the ERP's value (resent after a late landing could undo it); a
    // meter reading adds a document, which must not land after a newer one (held instead).
    // A create's retry must not go while the old one may still land: without idempotency support
    // its lookup would miss the record, and with it the ERP may not know the key until it commits.
    this.capabilities = {
      maxBatchSize: config.batch?.maxSize ?? 1,
      operations: REST_OPERATIONS,
      lastWriteWins: ['location.update'],
      heldWhileUnsettled: ['meter.record'],
      createsRecord: REST_CREATES_RECORD,
      // A work order's update finds it by its business key: sent only once its create is done with.
      waitsFor: REST_WAITS_FOR,
    };
    this.client = new RestClient(config, {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    if (this.client.mintsTokens) this.refreshAuth = (signal) => this.client.refreshAuth(signal);
    const onHand = config.paths.inventoryOnHand;
    if (onHand !== undefined) this.readInventory = (cells, ctx) => this.readOnHand(onHand, cells, ctx);
  }

  /**
   * One `GET {paths.inventoryOnHand}` per cell, in order, each after the first within the budget.
   * A 404 is 0 on hand; any other failure rejects with its classified error (a 429 stops the call);
   * an answer that is not JSON (cut short, a proxy's page) is retryable, one without a quantity permanent.
   * A minted token the ERP stopped taking (revoked, rotated) is minted anew and the cell read
   * again, once per call, as a work-order poll does: else the snapshot would go against what was
   * last sent, though only the token had to be renewed.
   */
  private async readOnHand(template: string, cells: readonly InventoryCellRef[], ctx: SendContext): Promise<OnHandQuantity[]> {
    const call = new PacedCall(this.client, ctx);
    const out: OnHandQuantity[] = [];
    let reauthorized = false;
    for (const cell of cells) {
      let read = await readCell(call, template, cell);
      if (read.kind === 'failed' && read.error instanceof AuthError && read.tokenEndpoint !== true && this.client.mintsTokens && !reauthorized) {
        reauthorized = true;
        await this.client.refreshAuth(ctx.signal);
        read = await readCell(call, template, cell);
      }
      if (read.kind === 'failed') throw this.onHandRefused(read.error, template);
      if (read.kind === 'unreadable') {
        const what = `GET ${read.path} (the on-hand read of ${cell.location} / ${cell.sku}) → ${read.status}, but`;
        // Text that is not JSON (cut short, a proxy's page): a transport fault the next read may not
        // get, retryable as for a poll's page or a lookup. JSON without a quantity is the wrong answer.
        if (read.body === undefined) throw new RetryableError(`${what} ${emptyAnswerText('an object with a quantity')}: ${EMPTY_CAUSE}; the next snapshot reads it again`);
        if (typeof read.body === 'string') throw new RetryableError(`${what} the answer is not JSON (cut short, or a proxy's page): got ${JSON.stringify(read.body.slice(0, 200))}; the next snapshot reads it again`);
        throw new PermanentError(`${what} ${read.why}; ${this.onHandFix(template)}`);
      }
      out.push({ location: cell.location, sku: cell.sku, quantity: read.kind === 'absent' ? 0 : read.quantity });
    }
    return out;
  }

  /**
   * An on-hand read refused for good (400, 405 ...: a wrong path or query): every snapshot would
   * fail so, so the key is named. A 401 and a 403 (the credentials), and what passes, are as they are.
   */
  private onHandRefused(error: DeliveryError, template: string): DeliveryError {
    if (!(error instanceof PermanentError) || !refusedRead(error.status)) return error;
    return new PermanentError(`${error.message}; ${this.onHandFix(template)}`, error.status, error.responseBody);
  }

  /** What fixes on-hand reads: the key, and what a read must answer. */
  private onHandFix(template: string): string {
    const place = this.options.configKey;
    const key = place === undefined ? `paths.inventoryOnHand of destination "${this.name}" (now ${template})` : `${place}.paths.inventoryOnHand (destination "${this.name}", now ${template})`;
    return `check ${key} against the ERP's API: a GET per cell answered with an object holding its quantity (quantity, onHand or quantityOnHand), or 404 for none; until then snapshots send their deltas against what was last sent (unset it not to read)`;
  }

  /** Deliver the items; one result per item. Never throws. */
  async send(items: readonly OutboxItem[], ctx: SendContext): Promise<ItemResult[]> {
    const results = new Map<number, ItemResult>();
    const call = new PacedCall(this.client, ctx);
    try {
      const planned: Planned[] = [];
      // Updates after the rest: a work order created in this call is there for its update's lookup.
      const updates: OutboxItem[] = [];
      for (const item of items) {
        if (item.operation === WORKORDER_UPDATE) {
          updates.push(item);
          continue;
        }
        try {
          planned.push({ item, plan: planRequest(item, this.config.paths) });
        } catch (err) {
          results.set(item.id, failed(item, asDeliveryError(err)));
        }
      }
      const toWrite = await this.skipExistingRecords(planned, call, results);
      const batch = this.config.batch;
      if (batch && toWrite.length > 0) {
        for (let i = 0; i < toWrite.length; i += batch.maxSize) {
          for (const r of await this.sendBatch(batch.path, toWrite.slice(i, i + batch.maxSize), call)) results.set(r.id, r);
        }
      } else {
        for (const p of toWrite) results.set(p.item.id, await this.sendOne(p, call));
      }
      for (const item of updates) results.set(item.id, await this.sendUpdate(item, call));
    } catch (err) {
      // A bug, not an ERP answer: report it on every item still without a result, never throw.
      const error = new RetryableError(`REST connector ${this.name} failed unexpectedly: ${coerceError(err).message}`, undefined, undefined, { cause: err });
      for (const item of items) if (!results.has(item.id)) results.set(item.id, failed(item, error));
    }
    return items.map((item) => this.withAuthHint(this.withTokenFailure(results.get(item.id) ?? failed(item, new RetryableError(`no result for item ${item.id}`)))));
  }

  /** A request not sent because the token endpoint failed: said so, so the dispatcher does not ask it again at once. */
  private withTokenFailure(r: ItemResult): ItemResult {
    return !r.ok && this.client.failedForToken(r.error) ? { ...r, credentialsUnavailable: true } : r;
  }

  /** A 401 with static credentials: nothing to refresh, so say which key to fix and what then. */
  private withAuthHint(r: ItemResult): ItemResult {
    if (r.ok || !(r.error instanceof AuthError) || this.client.mintsTokens) return r;
    const key = this.options.configKey;
    const keys = this.client.credentialKeys;
    const what = key === undefined ? `the ${keys} of destination "${this.name}"` : `${keys === 'token' || keys === 'auth' ? `${key}.${keys}` : `${key}.headers (API key) or ${key}.auth`} (destination "${this.name}")`;
    const hint = `; check ${what}, then restart the service ('assetbridge config check --connect' tries it); deliveries are retried until then within retry.maxAttempts and retry.maxAgeMs, and those that run out go to dead letters: 'assetbridge dlq replay --all' after the fix`;
    return { ...r, error: new AuthError(`${r.error.message}${hint}`, r.error.status, r.error.responseBody) };
  }

  /**
   * Looks up a work order that cannot exist: the read the connector itself makes before creating
   * one. With `paths.inventoryOnHand`, then reads a cell that cannot exist the way a snapshot reads one.
   */
  async probe(ctx: SendContext): Promise<ProbeResult> {
    const path = workOrderLookupPath(this.config.paths, PROBE_KEY);
    const what = `GET ${this.base}${path}`;
    const outcome = await this.client.request({ method: 'GET', path, signal: ctx.signal });
    if (!outcome.ok) {
      if (outcome.tokenEndpoint) return tokenFailure(outcome.error, outcome.exchange?.status);
      const cut = connectionCut(what, outcome);
      if (cut) return cut;
      const failure = this.probeFailure(outcome.error, outcome.exchange?.status);
      // No answer in time: the address may be right and the ERP slow, or the timeout too short for it.
      return outcome.networkFailure === 'timeout' ? { ...failure, problem: 'slow' } : failure;
    }
    // The lookup before a create and the poll read this answer as a list: one they cannot read would fail every delivery.
    const cut = jsonCut(what, outcome.status, outcome.body) ?? emptyAnswer(what, outcome.status, outcome.body, 'a work-order list (at least [])');
    if (cut) return cut;
    let listed: readonly unknown[];
    try {
      listed = parseWorkOrderPage(outcome.body).items;
    } catch (err) {
      return { ok: false, detail: `${what} → ${outcome.status}, but ${coerceError(err).message}`, problem: 'path' };
    }
    const latency = `${what} → ${outcome.status} in ${Math.round(outcome.exchange.latencyMs)} ms`;
    // No work order has this key: records in the answer mean the ERP ignores the filter, and the
    // lookup before a create must page through all of them (and stops, failing, past maxLookupPages).
    const unfiltered = listed.length > 0 ? `, but listed ${listed.length} work order(s) for a key none has: the ERP ignores the externalKey filter` : '';
    if (unfiltered && !this.config.idempotencySupported)
      return {
        ok: false,
        detail: `${latency}${unfiltered}, so the lookup before each create (idempotencySupported: false) pages through every work order and fails once there are too many; set paths.workOrders to a path whose ?externalKey= filters, or idempotencySupported: true if the ERP honours ${this.config.idempotencyHeader}`,
        problem: 'path',
        key: 'paths.workOrders',
      };
    let detail = unfiltered ? `${latency} (note${unfiltered}; with idempotencySupported: true the service does not rely on it)` : latency;
    const template = this.config.paths.inventoryOnHand;
    if (template !== undefined) {
      const onHand = await this.probeOnHand(template, ctx);
      if (!onHand.ok) return onHand;
      detail = `${detail}; ${onHand.detail}`;
    }
    const batch = this.config.batch;
    if (batch === undefined) return { ok: true, detail };
    const batched = await this.probeBatch(batch.path, ctx);
    return batched.ok ? { ok: true, detail: `${detail}; ${batched.detail}` } : batched;
  }

  /**
   * An empty batch to `batch.path`: nothing in it to apply, so no side effect, and a wrong path
   * (404, 405) shows here rather than as every batched delivery's dead letter. An ERP may refuse an
   * empty batch (400, 422): the path is there all the same.
   */
  private async probeBatch(batchPath: string, ctx: SendContext): Promise<ProbeResult> {
    const key = 'batch.path';
    const what = `POST ${this.base}${batchPath} (an empty batch)`;
    const outcome = await new PacedCall(this.client, ctx).request({ method: 'POST', path: batchPath, body: buildBatchRequest([]), batch: true });
    if (!outcome.ok) {
      const status = outcome.exchange?.status;
      if (status === 400 || status === 422) return { ok: true, detail: `${what} → ${status}: an empty batch refused, so the path is there (${outcome.error.message})` };
      const cut = connectionCut(what, outcome);
      if (cut) return cut;
      return { ...this.probeFailure(outcome.error, status), ...(status === 404 || status === 405 ? { key } : {}) };
    }
    const cut = jsonCut(what, outcome.status, outcome.body) ?? emptyAnswer(what, outcome.status, outcome.body, 'a batch answer (at least {"responses":[]})', key);
    if (cut) return cut;
    try {
      parseBatchResponse(outcome.body);
    } catch (err) {
      return { ok: false, detail: `${what} → ${outcome.status}, but ${coerceError(err).message}`, problem: 'path', key };
    }
    return { ok: true, detail: `${what} → ${outcome.status} in ${Math.round(outcome.exchange.latencyMs)} ms` };
  }

  /**
   * The on-hand read of a cell that cannot exist: 404 (0 on hand) or an answer with a quantity.
   * A 404 cannot tell a wrong path from an unknown cell: said so, not failed.
   */
  private async probeOnHand(template: string, ctx: SendContext): Promise<ProbeResult> {
    const key = 'paths.inventoryOnHand';
    const read = await readCell(new PacedCall(this.client, ctx), template, { location: PROBE_KEY, sku: PROBE_KEY });
    const what = `GET ${this.base}${read.path}`;
    switch (read.kind) {
      case 'absent':
        return { ok: true, detail: `${what} → 404, read as 0 on hand (a wrong path answers so too: try it with a cell the ERP holds)` };
      case 'failed':
        return connectionCut(what, read.outcome) ?? { ...this.probeFailure(read.error, read.status), ...(read.status === 405 ? { key } : {}) };
      case 'unreadable':
        // A snapshot would take every such read as failed and send against what was last sent.
        return jsonCut(what, read.status, read.body) ?? emptyAnswer(what, read.status, read.body, 'an object with a quantity', key) ?? { ok: false, detail: `${what} → ${read.status}, but ${read.why}`, problem: 'path', key };
      case 'quantity':
        return { ok: true, detail: `${what} → ${read.status} in ${Math.round(read.latencyMs)} ms` };
    }
  }

  private probeFailure(error: Error, status: number | undefined): ProbeResult {
    const problem = status === undefined ? 'unreachable' : status === 401 || status === 403 ? 'credentials' : status === 404 || status === 405 ? 'path' : 'other';
    // The error names the request (`GET /path → 401 …`); the base URL makes it whole.
    return { ok: false, detail: `${this.base}: ${error.message}`, problem };
  }

  /** The base URL without a trailing slash: what a request's path is appended to in messages. */
  private get base(): string {
    return this.config.baseUrl.replace(/\/$/, '');
  }

  /**
   * Work orders changed at or after `since` (epoch ms), following `next` links. Rejects with a
   * classified DeliveryError when the ERP cannot be read. Work orders we did not create (no
   * `externalKey` of ours) or with unknown statuses are left out of `updates`, but their change times
   * count in `readUpTo`; those of ours it cannot read are in `setAside`, as listed, with why. A record listed twice
   * (it changed while the pages were read) holds `readUpTo` at its first change time. Past
   * `maxWorkOrderPages` pages it stops, saying in `more` where the list goes on (`resume`), and
   * `ascending` says whether what it read came oldest change first as `workOrderOrder` asks.
   */
  async fetchWorkOrderUpdates(since: number, ctx: SendContext, resume?: string): Promise<WorkOrderPoll> {
    const updates: WorkOrderUpdate[] = [];
    const setAside: { record: unknown; reason: string; version?: string; changedAt?: number }[] = [];
    const place = { destination: this.name, ...(this.options.configKey === undefined ? {} : { configKey: this.options.configKey }) };
    let readUpTo: number | undefined;
    // Records changed well before `since`: a list the ERP did not filter by it.
    const before = { count: 0, of: 0, oldest: Infinity };
    // A record read twice changed while the poll paged: with offset paging the records after it
    // moved up a place, so one at a page's edge may not have been read. Its change time is at or
    // after the moved record's first one: the next poll starts there, not past it.
    const firstSeen = new Map<string, number | undefined>();
    let movedFrom: number | undefined;
    // In the order listed, every change time at or after the one before: oldest change first.
    let ascending = true;
    let previous: number | undefined;
    const maxPages = this.config.maxWorkOrderPages;
    const call = new PacedCall(this.client, ctx);
    const first = workOrderUpdatesPath(this.config.paths, since, this.config.workOrderOrder);
    let request: { path: string } | { url: string } = resume !== undefined ? { url: resume } : { path: first };
    let pageUrl = resume ?? this.client.urlFor(first);
    let reauthorized = false;
    let more: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      let outcome = await call.request({ method: 'GET', ...request });
      // A minted token the ERP stopped taking (revoked, rotated): mint one and read the page again,
      // once, as a delivery is resent, rather than fail the poll (logged as an error) until the next.
      // Not when the token endpoint itself refused (the page was never asked for): that would only ask it again.
      if (!outcome.ok && outcome.error instanceof AuthError && outcome.tokenEndpoint !== true && this.client.mintsTokens && !reauthorized) {
        reauthorized = true;
        await this.client.refreshAuth(ctx.signal);
        outcome = await call.request({ method: 'GET', ...request });
      }
      // The list's first page refused for good: the path, or a query the ERP does not take.
      if (!outcome.ok) throw 'path' in request ? this.pollRefused(outcome.error) : outcome.error;
      // No body at all: cut short before any of it came, as likely as a page cut half way; not "not a list" (permanent).
      if (outcome.body === undefined) throw new RetryableError(`GET ${pagePath(request)} → ${outcome.status}, but ${emptyAnswerText('a work-order list (at least [])')}: ${EMPTY_CAUSE}; the next poll asks again`);
      if (typeof outcome.body === 'string') {
        // Not JSON at all: a page cut short or a proxy's page, which the next poll may not get. Not
        // permanent: a poll reading on an unfinished list would start that list again.
        throw new RetryableError(`GET ${pagePath(request)} → ${outcome.status}, but the answer is not JSON (cut short, or a proxy's page): got ${JSON.stringify(outcome.body.slice(0, 200))}; the next poll asks again`);
      }
      const { items, next } = parseWorkOrderPage(outcome.body);
      for (const listed of items) {
        const raw = withWorkOrderFields(listed, this.config.workOrderFields);
        const changedAt = workOrderChangedAt(raw);
        if (changedAt !== undefined && (readUpTo === undefined || changedAt > readUpTo)) readUpTo = changedAt;
        before.of++;
        // Only a record's update time tells: one read from its completedAt or createdAt (it has no
        // updatedAt) may have changed since all the same.
        if (changedAt !== undefined && hasUpdateTime(raw) && changedAt < since - LISTED_BEFORE_ALLOWANCE_MS) {
          before.count++;
          before.oldest = Math.min(before.oldest, changedAt);
        }
        if (changedAt !== undefined) {
          if (previous !== undefined && changedAt < previous) ascending = false;
          previous = changedAt;
        }
        const id = recordIdOf(raw);
        if (id !== undefined && !firstSeen.has(id)) firstSeen.set(id, changedAt);
        else if (id !== undefined) {
          const before = firstSeen.get(id);
          if (before !== undefined && (movedFrom === undefined || before < movedFrom)) movedFrom = before;
        }
        const update = toWorkOrderUpdate(raw, this.config.workOrderStatuses);
        if (update) updates.push(update);
        else {
          // One of ours it cannot read (a status the mapping does not name, no id or time): kept as
          // listed, for the poller to quarantine; the cursor moves past it.
          const why = whyPassedOver(raw, this.config.workOrderStatuses, place, this.config.workOrderFields);
          // Its version (id, key, status, time as read): listed again so, it is the same record, kept once.
          const version = workOrderVersion(raw);
          // Its change time, when read (a status not mapped): listed again within the poll's overlap, it is skipped.
          if (why !== undefined) setAside.push({ record: listed, reason: why, ...(version !== undefined ? { version } : {}), ...(changedAt !== undefined ? { changedAt } : {}) });
        }
      }
      more = undefined;
      if (next === undefined) break;
      pageUrl = nextPageUrl(next, pageUrl);
      request = { url: pageUrl };
      more = pageUrl;
    }
    if (readUpTo !== undefined && movedFrom !== undefined) readUpTo = Math.min(readUpTo, movedFrom);
    // Read oldest change first only counts when asked for: an ERP in no order can list a few that way by chance.
    const inOrder = ascending && this.config.workOrderOrder !== undefined;
    return {
      updates,
      ...(readUpTo !== undefined ? { readUpTo } : {}),
      ...(setAside.length > 0 ? { setAside } : {}),
      ...(inOrder ? { ascending: true } : {}),
      ...(more !== undefined ? { more: { resume: more, pages: maxPages, advice: this.pageCapAdvice(ascending) } } : {}),
      ...(before.count > 0 ? { listedBefore: { count: before.count, of: before.of, oldest: before.oldest, advice: this.unfilteredAdvice() } satisfies WorkOrderPollListedBefore } : {}),
    };
  }

  /**
   * `config check --connect`: the poll's first page of the changes since `since` (now), as a poll
   * asks it. Refused: the poll's keys, as a poll's refusal names them; records changed well before
   * `since`: a warning that the ERP ignores the filter.
   */
  async probeWorkOrderPoll(since: number, ctx: SendContext): Promise<ProbeResult> {
    const path = workOrderUpdatesPath(this.config.paths, since, this.config.workOrderOrder);
    const what = `GET ${this.base}${path} (the work-order poll, rules.maintenance.feedback.pollEvery)`;
    const key = 'paths.workOrders';
    const outcome = await this.client.request({ method: 'GET', path, signal: ctx.signal });
    if (!outcome.ok) {
      if (outcome.tokenEndpoint) return tokenFailure(outcome.error, outcome.exchange?.status);
      const cut = connectionCut(what, outcome);
      if (cut) return cut;
      const status = outcome.exchange?.status;
      // 401, 403, 429 and what passes are as for any read; a 400, 404, 405 ... is this query's.
      const refused = outcome.error instanceof PermanentError && refusedRead(status);
      // A refused query: the path, or (with workOrderOrder) the sort parameter the ERP does not take.
      const failure = this.probeFailure(refused ? this.pollRefused(outcome.error) : outcome.error, status);
      // The path, or the sort parameter the poll adds to it (the lookup before it does not).
      if (refused) return { ...failure, problem: 'path', key: this.config.workOrderOrder === undefined ? key : `${key} and workOrderOrder` };
      return outcome.networkFailure === 'timeout' ? { ...failure, problem: 'slow' } : failure;
    }
    const cut = jsonCut(what, outcome.status, outcome.body) ?? emptyAnswer(what, outcome.status, outcome.body, 'a work-order list (at least [])', key);
    if (cut) return cut;
    let listed: readonly unknown[];
    try {
      listed = parseWorkOrderPage(outcome.body).items;
    } catch (err) {
      return { ok: false, detail: `${what} → ${outcome.status}, but ${coerceError(err).message}`, problem: 'path', key };
    }
    const detail = `${what} → ${outcome.status} in ${Math.round(outcome.exchange.latencyMs)} ms`;
    const times = listed
      .map((r) => withWorkOrderFields(r, this.config.workOrderFields))
      .filter(hasUpdateTime)
      .map(workOrderChangedAt)
      .filter((t): t is number => t !== undefined);
    const older = times.filter((t) => t < since - LISTED_BEFORE_ALLOWANCE_MS);
    if (older.length === 0) return { ok: true, detail };
    return {
      ok: true,
      detail,
      warning: `the answer to the work-order poll for changes since ${new Date(since).toISOString()} (now) lists ${older.length} of its ${listed.length} work order(s) changed before then, the oldest at ${new Date(Math.min(...older)).toISOString()}: the ERP ignores ?updatedSince=, so every poll would read its whole work-order list again; ${this.unfilteredAdvice()}`,
    };
  }

  /** What makes a poll's list hold only the changes since its cursor: the query parameter's name is fixed, so the path or the ERP. */
  private unfilteredAdvice(): string {
    const place = this.options.configKey;
    const paths = place === undefined ? `paths.workOrders of destination "${this.name}"` : `${place}.paths.workOrders (destination "${this.name}")`;
    return (
      `the query parameter's name is fixed (updatedSince, an ISO 8601 UTC time; the ERP lists the work orders changed at or after it): check that ${paths} (now ${this.config.paths.workOrders}) is a list the ERP filters by it, or have the ERP (or a middleware in front of it) honour it, and that ${place === undefined ? 'workOrderFields.updatedAt' : `${place}.workOrderFields.updatedAt`} (now ${this.config.workOrderFields.updatedAt ?? 'updatedAt'}) names the change time it filters by; ` +
      `until then every record is read again on each poll (taken once: an update applied already changes nothing); or set rules.maintenance.feedback.pollEvery: 0 and have the ERP push its changes to POST /v1/webhooks/${this.name}/work-orders`
    );
  }

  /**
   * The work-order poll refused for good (400, 404, 405 ...: a wrong path, or an ERP that takes no
   * `?updatedSince=`): said to be the poll, with the keys that fix it, or turn it off for pushes.
   * A 401 (the credentials), a 403 (read rights) and what passes are as they are.
   */
  private pollRefused(error: DeliveryError): DeliveryError {
    if (!(error instanceof PermanentError) || !refusedRead(error.status)) return error;
    const place = this.options.configKey;
    const key = (name: string): string => (place === undefined ? `${name} of destination "${this.name}"` : `${place}.${name}`);
    const order = this.config.workOrderOrder;
    const query = `${this.config.paths.workOrders.includes('?') ? '&' : '?'}updatedSince=<ISO time>${order === undefined ? '' : `&${order.param}=${order.value}`}`;
    const paths = place === undefined ? `${key('paths.workOrders')} (now ${this.config.paths.workOrders})` : `${key('paths.workOrders')} (destination "${this.name}", now ${this.config.paths.workOrders})`;
    const sorted = order === undefined ? '' : ` and ${key('workOrderOrder')}`;
    return new PermanentError(
      `${error.message}; this was the work-order poll (GET ${this.config.paths.workOrders}${query}, every rules.maintenance.feedback.pollEvery): check ${paths}${sorted} against the ERP's API, so it answers with a list of the work orders changed at or after that time; if this ERP cannot list them so, set rules.maintenance.feedback.pollEvery: 0 and have the ERP push them to POST /v1/webhooks/${this.name}/work-orders (${key('webhook')})`,
      error.status,
      error.responseBody,
    );
  }

  /** What lets a poll read the work-order list whole, or move on from where it stopped: the keys to set. */
  private pageCapAdvice(ascending: boolean): string {
    const raise = `raise maxWorkOrderPages of destination "${this.name}" (now ${this.config.maxWorkOrderPages})`;
    const order = this.config.workOrderOrder;
    if (order === undefined)
      return `${raise} so a poll reads the whole list, or set its workOrderOrder to the query parameter that makes the ERP list the oldest change first (e.g. {param: $orderby, value: ChangedDateTime asc}), so each poll moves the cursor on`;
    if (!ascending)
      return `the ERP did not list the oldest change first though workOrderOrder asks it (${order.param}=${order.value}): check that parameter and the field it sorts by against the ERP's API; or ${raise} so a poll reads the whole list`;
    return `${raise} to read it in fewer polls`;
  }

  workOrderWebhookRecords(body: readonly unknown[]): unknown[] {
    return restPushReader(this.config, this.options.configKey).records(body);
  }

  parseWorkOrderWebhook(body: unknown): WebhookItem[] {
    return restPushReader(this.config, this.options.configKey).parse(body);
  }

  workOrderVersion(record: unknown): string | undefined {
    return restPushReader(this.config, this.options.configKey).version(record);
  }

  close(): Promise<void> {
    // Global fetch's connection pool is shared by the process; only a token request in flight is ours to end.
    this.client.close();
    return Promise.resolve();
  }

  /**
   * A `workorder.update`: the work order is found by its business key (`GET {paths.workOrders}?externalKey=`,
   * as the lookup before a create), then patched at `paths.workOrder` with its id. One the ERP does
   * not have yet (its create still queued or retried) is retried, as a {@link ConflictError}: the
   * ERP answered, so the circuit breaker does not count it (else updates waiting for their creates
   * could pause the destination, creates included). One the ERP lists completed or cancelled (its
   * status read as the work-order poll reads it: `workOrderFields.status`, `workOrderStatuses`) is
   * not patched: done, with a note saying so (on its audit row). So is one whose PATCH is answered
   * 409 or 422 and that a second lookup then lists closed (closed between the lookup and the
   * PATCH); any other such answer is handled as answered (a 409 as `on409` `auto` reads it), but one
   * that would be a dead letter on a first attempt is retried once (a list lagging the closing).
   */
  private async sendUpdate(item: OutboxItem, call: PacedCall): Promise<ItemResult> {
    const path = workOrderLookupPath(this.config.paths, item.businessKey);
    let found: Awaited<ReturnType<RestConnector['lookUp']>>;
    try {
      found = await this.lookUp(path, item.businessKey, item, call, 'the lookup of the work order whose priority it raises');
    } catch (err) {
      return failed(item, asDeliveryError(err));
    }
    if (found.kind === 'failed') return found.result;
    if (found.kind === 'absent') return failed(item, notThereYet(item, `GET ${path} lists no work order with externalKey ${item.businessKey}`), found.exchange);
    // Closed in the ERP since the fault report: nothing open to raise, and a PATCH could be refused
    // (a dead letter) or reopen or alter it.
    const closed = this.closedNote(item, found.record, 'nothing was sent to it (a closed work order is not patched)');
    if (closed !== undefined) return { id: item.id, ok: true, exchange: found.exchange, response: found.record, note: closed };
    const id = workOrderIdOf(found.record, this.config.workOrderFields);
    if (id === undefined) {
      const key = this.options.configKey === undefined ? `workOrderFields.id of destination "${this.name}"` : `${this.options.configKey}.workOrderFields.id (destination "${this.name}")`;
      return failed(item, new PermanentError(`workorder.update of ${item.businessKey}: GET ${path} lists the work order without an id (now read from ${this.config.workOrderFields.id ?? 'id'}): set ${key} to the field that holds it, then replay it ('assetbridge dlq replay')`), found.exchange);
    }
    let plan: PlannedRequest;
    try {
      plan = planRequest(item, this.config.paths, id);
    } catch (err) {
      return failed(item, asDeliveryError(err));
    }
    const result = await this.sendOne({ item, plan }, call);
    // Refused with 409 or 422: the work order may have been closed between the lookup and the
    // PATCH (an ERP refuses changing a closed order). Looked up once more: listed closed now, the
    // update is done as above, with the PATCH's exchange; else the refusal stands as answered.
    const refusedWith = result.ok ? undefined : result.exchange?.status;
    if (result.ok || (refusedWith !== 409 && refusedWith !== 422) || result.error instanceof RateLimitedError || result.exchange === undefined) return result;
    let again: Awaited<ReturnType<RestConnector['lookUp']>>;
    try {
      again = await this.lookUp(path, item.businessKey, item, call, `the lookup of the work order after its PATCH was answered ${refusedWith}`);
    } catch {
      return result;
    }
    if (again.kind !== 'found') return result;
    const note = this.closedNote(item, again.record, `its PATCH ${plan.path} was answered ${refusedWith} (the work order closed between the lookup and the PATCH)`);
    if (note !== undefined) return { id: item.id, ok: true, exchange: result.exchange, response: again.record, note };
    // Listed open still, but an ERP whose lists lag its writes (a replica, a search index) may not
    // list a closing yet: a refusal that would be a dead letter is sent again once, looked up first
    // then; refused again, it stands.
    if (item.attempts === 0 && result.error instanceof PermanentError) {
      return failed(
        item,
        new ConflictError(
          `${result.error.message}; the ERP lists work order ${id} open still, but may not list a closing yet (a list that lags its writes): sent again once, looked up first (listed closed then, it is done, not patched); refused again, it is a dead letter`,
          result.error.status,
          result.error.responseBody,
        ),
        result.exchange,
      );
    }
    return result;
  }

  /**
   * The note of a `workorder.update` left undone as the ERP lists its work order (`record`, as the
   * lookup lists it) completed or cancelled, its status read as the work-order poll reads it
   * (`workOrderFields.status`, `workOrderStatuses`); `undefined` for a work order not closed.
   * `sent` says what was sent to the ERP.
   */
  private closedNote(item: OutboxItem, record: unknown, sent: string): string | undefined {
    const listed = withWorkOrderFields(record, this.config.workOrderFields) as { status?: unknown; id?: unknown } | null;
    const status = normalizeWorkOrderStatus(listed?.status, this.config.workOrderStatuses);
    if (status !== 'completed' && status !== 'cancelled') return undefined;
    const id = workOrderIdOf(record, this.config.workOrderFields);
    const priority = typeof item.payload.priority === 'string' ? ` to ${item.payload.priority}` : '';
    return (
      `priority not raised${priority}: the ERP lists work order ${id ?? item.businessKey} ${status} (status ${JSON.stringify(listed?.status)}), closed after the fault report was raised; ` +
      `${sent}, so this update is done`
    );
  }

  private async sendOne({ item, plan }: Planned, call: PacedCall): Promise<ItemResult> {
    const outcome = await call.request({
      method: plan.method,
      path: plan.path,
      body: plan.body,
      idempotencyKey: item.idempotencyKey,
    });
    if (!outcome.ok) {
      const answer = outcome.answer;
      // A 409 carrying a throttling code is a throttle (a pause of the destination), not a conflict.
      if (answer?.status === 409 && outcome.exchange && !(outcome.error instanceof RateLimitedError)) return this.conflictResult({ item, plan }, answer.bodyText, (name) => answer.headers.get(name) ?? undefined, outcome.error, outcome.exchange, call);
      return failed(item, this.pathRefused(outcome.error, item), outcome.exchange);
    }
    const response = withCreatedId(outcome.body, outcome.headers.get('location') ?? outcome.headers.get('odata-entityid'));
    return { id: item.id, ok: true, exchange: outcome.exchange, ...(response !== undefined ? { response } : {}) };
  }

  /**
   * A write answered 409: as the destination's `on409` for its path says, by default as the ERP's
   * reason says (see {@link conflictMeaning}). `error` is the 409 classified as permanent.
   */
  private async conflictResult(p: Planned, bodyText: string, header: (name: string) => string | undefined, error: DeliveryError, exchange: Exchange, call: PacedCall): Promise<ItemResult> {
    const { item } = p;
    const key = ON409_KEYS[item.operation];
    const setting = this.on409Of(item);
    const where = `on409.${key ?? item.operation} of destination "${this.name}"`;
    switch (conflictMeaning(bodyText, setting, LOOKED_UP_CREATES.has(item.operation), sentValues(p))) {
      case 'retry': {
        const why = setting === 'retry' ? `${where} is retry` : 'the ERP names a lock or a concurrent change';
        // When the ERP says when the lock is gone (Retry-After), the retry waits for it, as after a 429.
        const retryAfterMs = parseRetryAfter(header('retry-after'), (this.options.clock ?? systemClock).now());
        const when = retryAfterMs !== undefined ? ` after its Retry-After of ${Math.ceil(retryAfterMs / 1000)} s,` : '';
        return failed(
          item,
          new ConflictError(`${error.message} (retried${when} as ${why}; after retry.maxAttempts attempts it goes to dead letters)`, 409, error.responseBody, retryAfterMs !== undefined ? { retryAfterMs } : {}),
          exchange,
        );
      }
      case 'fail': {
        // A location update and a priority raised create nothing: only a lock can be meant.
        const could = key === 'location' || key === 'workOrder' ? 'while the record is locked, set it to retry' : 'when the record already exists (an earlier attempt landed) or while it is locked, set it to exists or retry';
        const hint = setting === 'fail' ? ` (${where} is fail)` : `; if this ERP answers 409 on paths.${key ?? 'workOrders'} ${could} with ${where}, then replay it ('assetbridge dlq replay')`;
        return failed(item, new PermanentError(`${error.message}${hint}`, 409, error.responseBody), exchange);
      }
      case 'exists':
        return this.existingRecord(p, bodyText, header, error, exchange, call);
    }
  }

  /** The destination's `on409` for the path of `item`'s operation. */
  private on409Of(item: OutboxItem): On409Setting {
    const key = ON409_KEYS[item.operation];
    return key !== undefined ? this.config.on409[key] : 'auto';
  }

  /**
   * A create answered 409 "already exists": an earlier attempt (its answer lost) or a concurrent
   * one landed, so it is delivered, with the record's id: from the answer's `Location`, else from
   * the lookup by the `externalKey` the create carried. A lookup that lists no record with that key
   * means the ERP's unique key matched some other record: that fails, saying so. A create without
   * an `externalKey` (a meter reading, say, with `idempotencySupported: true`) is delivered on the
   * ERP's word, with its answer.
   */
  private async existingRecord(p: Planned, bodyText: string, header: (name: string) => string | undefined, error: DeliveryError, exchange: Exchange, call: PacedCall): Promise<ItemResult> {
    const { item, plan } = p;
    const location = header('location') ?? header('odata-entityid');
    const externalKey = typeof plan.body.externalKey === 'string' && plan.body.externalKey !== '' ? plan.body.externalKey : undefined;
    if (location !== undefined || externalKey === undefined) {
      const response = withCreatedId(parseBody(bodyText), location);
      return { id: item.id, ok: true, exchange, ...(response !== undefined ? { response } : {}) };
    }
    const path = withQuery(plan.path, { externalKey });
    const found = await this.lookUp(path, externalKey, item, call, 'the lookup of the record a 409 says already exists');
    if (found.kind === 'found') return { id: item.id, ok: true, exchange, response: found.record };
    if (found.kind === 'failed') return found.result;
    return failed(
      item,
      new PermanentError(
        `${error.message}: the ERP says the record already exists, but GET ${path} lists none with externalKey ${externalKey}, so what it collides with is not one an earlier attempt created; find that record in the ERP, then replay it ('assetbridge dlq replay') or discard it`,
        409,
        error.responseBody,
      ),
      exchange,
    );
  }

  /**
   * Find-before-create for ERPs that ignore the idempotency header: a record whose `externalKey`
   * already exists was created by an earlier attempt whose answer was lost, so it is reported
   * delivered (with the lookup as its exchange) instead of created again. Records not found go out
   * carrying their `externalKey`, so the next lookup finds them.
   */
  private async skipExistingRecords(planned: readonly Planned[], call: PacedCall, results: Map<number, ItemResult>): Promise<Planned[]> {
    if (this.config.idempotencySupported) return [...planned];
    const remaining: Planned[] = [];
    for (const p of planned) {
      if (!LOOKED_UP_CREATES.has(p.item.operation)) {
        remaining.push(p);
        continue;
      }
      const externalKey = externalKeyOf(p.item);
      const found = await this.lookUp(withQuery(p.plan.path, { externalKey }), externalKey, p.item, call);
      if (found.kind === 'failed') results.set(p.item.id, found.result);
      else if (found.kind === 'found') results.set(p.item.id, { id: p.item.id, ok: true, exchange: found.exchange, response: found.record });
      else remaining.push({ item: p.item, plan: { ...p.plan, body: { ...p.plan.body, externalKey } } });
    }
    return remaining;
  }

  /**
   * The record with `externalKey`, read from the lookup's answer and the pages its `next` links
   * lead to: an ERP that ignores the `?externalKey=` filter pages its whole list, and the record
   * may be on any page (a create after reading only the first would add a duplicate). Past
   * `maxLookupPages` pages the item fails, permanently: the answer cannot be read to its end.
   */
  private async lookUp(
    path: string,
    externalKey: string,
    item: OutboxItem,
    call: PacedCall,
    purpose = 'the lookup before a create, as idempotencySupported is false',
  ): Promise<{ kind: 'found'; record: unknown; exchange: Exchange } | { kind: 'absent'; exchange: Exchange } | { kind: 'failed'; result: ItemResult }> {
    const maxPages = this.options.maxLookupPages ?? 20;
    const what = `GET ${path} (${purpose})`;
    let request: { path: string } | { url: string } = { path };
    let pageUrl = this.client.urlFor(path);
    // A record listed twice: the list changed while it was paged (an ERP listing by change time
    // moves a changed record to its end), and with offset paging the records after it moved up a
    // place, so one may have slipped onto a page already read: the one looked for, maybe.
    const seen = new Map<string, number>();
    let listedTwice: { id: string; first: number; again: number } | undefined;
    for (let page = 1; ; page++) {
      // No idempotency key: it names the write, and a layer that keys every request (a gateway's)
      // would store this read's answer under it and replay it for the create: nothing created.
      const outcome = await call.request({ method: 'GET', ...request });
      if (!outcome.ok) {
        // Refused for good (no such filter, path or read right): say it was the lookup, and what to set.
        const refused = outcome.error instanceof PermanentError ? this.lookupRefused(outcome.error, page === 1 ? what : undefined, item) : outcome.error;
        return { kind: 'failed', result: failed(item, refused, outcome.exchange) };
      }
      if (outcome.body === undefined) {
        // No body at all: cut short before any of it came, which the next attempt may not be.
        const error = new RetryableError(
          `${what} → ${outcome.status}, but ${emptyAnswerText('a list (at least [])')}: ${EMPTY_CAUSE}; nothing was created, retried; should it last, ${this.lookupFix(item)}`,
        );
        return { kind: 'failed', result: failed(item, error, outcome.exchange) };
      }
      if (typeof outcome.body === 'string') {
        // Not JSON at all: an answer cut short or a proxy's page, which the next attempt may not get.
        const error = new RetryableError(
          `${what} → ${outcome.status}, but the answer is not JSON (cut short, or a proxy's page): got ${JSON.stringify(outcome.body.slice(0, 200))}; nothing was created, retried; should it last, ${this.lookupFix(item)}`,
        );
        return { kind: 'failed', result: failed(item, error, outcome.exchange) };
      }
      let listed: ReturnType<typeof parseWorkOrderPage>;
      try {
        listed = parseWorkOrderPage(outcome.body);
      } catch (err) {
        return { kind: 'failed', result: failed(item, new PermanentError(`${what} → ${outcome.status}, but ${coerceError(err).message}; ${this.lookupFix(item)}`), outcome.exchange) };
      }
      const record = listed.items.find((r) => (r as { externalKey?: unknown } | null)?.externalKey === externalKey);
      if (record !== undefined) return { kind: 'found', record, exchange: outcome.exchange };
      for (const r of listed.items) {
        // By its id only (a work order's where workOrderFields.id says): two records of one
        // externalKey (some other key's duplicate) are no move.
        const id = recordIdOf(item.operation === 'workorder.create' || item.operation === WORKORDER_UPDATE ? withWorkOrderFields(r, this.config.workOrderFields) : r);
        if (id === undefined || !id.startsWith('id:')) continue;
        const first = seen.get(id);
        if (first === undefined) seen.set(id, page);
        else listedTwice ??= { id, first, again: page };
      }
      if (listed.next === undefined) {
        if (listedTwice === undefined) return { kind: 'absent', exchange: outcome.exchange };
        const { id, first, again } = listedTwice;
        const error = new RetryableError(
          `${what}: record ${id.slice(3)} was listed twice (on page ${first} and again on page ${again}), so the list changed while it was read page by page and a record may have moved onto a page already read; ` +
            `whether ${externalKey} exists is not known, so nothing was created; retried. Should it keep happening, set paths.${PATH_KEYS[item.operation] ?? 'workOrders'} of destination "${this.name}" to a path whose ?externalKey= filters, or idempotencySupported: true if the ERP honours ${this.config.idempotencyHeader}`,
        );
        return { kind: 'failed', result: failed(item, error, outcome.exchange) };
      }
      if (page >= maxPages) {
        const error = new PermanentError(
          `${what} answered ${maxPages} pages without the record and with more to come: the ERP ignores the externalKey filter, so whether the record exists cannot be known and it was not created (a duplicate could follow); ` +
            `set paths.${PATH_KEYS[item.operation] ?? 'workOrders'} of destination "${this.name}" to a path whose ?externalKey= filters, or idempotencySupported: true if the ERP honours ${this.config.idempotencyHeader}, then replay it ('assetbridge dlq replay')`,
        );
        return { kind: 'failed', result: failed(item, error, outcome.exchange) };
      }
      pageUrl = nextPageUrl(listed.next, pageUrl);
      request = { url: pageUrl };
    }
  }

  /**
   * A lookup's permanent refusal, named as the lookup (`what`, for its first page: the error names
   * only the path), with the keys that fix it.
   */
  private lookupRefused(error: PermanentError, what: string | undefined, item: OutboxItem): PermanentError {
    const arrow = error.message.indexOf(' → ');
    const said = what !== undefined && arrow >= 0 ? `${what}${error.message.slice(arrow)}` : error.message;
    // A path under the asset answers 404 for an asset the ERP does not know, as the create would:
    // then the mapping is at fault, not the path.
    const key = PATH_KEYS[item.operation];
    const underAsset = item.operation !== 'inventory.count' && key !== undefined && this.config.paths[key].includes('{erpAssetId}');
    const asset =
      error.status === 404 && underAsset
        ? `if the ERP does not know asset ${item.erpAssetId}, create it there and replay it ('assetbridge dlq replay'), or, if its erp_asset_id in the asset mapping is wrong, correct it for what comes next ('assetbridge assets import'); if the ERP knows it, `
        : '';
    return new PermanentError(`${said}; ${asset}${this.lookupFix(item)}`, error.status, error.responseBody);
  }

  /**
   * A write answered 404 or 405: the path the destination sends it to may be wrong (405: the ERP
   * takes no such method there), or, for a path under the asset, the ERP does not know the asset.
   * Said with the config key to check; other errors as they are.
   */
  private pathRefused(error: DeliveryError, item: OutboxItem): DeliveryError {
    if (!(error instanceof PermanentError) || (error.status !== 404 && error.status !== 405)) return error;
    if (item.operation === WORKORDER_UPDATE) {
      const setting = this.options.configKey === undefined ? `paths.workOrder of destination "${this.name}"` : `${this.options.configKey}.paths.workOrder (destination "${this.name}")`;
      const check = `check ${setting} (now ${this.config.paths.workOrder}) against the ERP's API`;
      if (error.status === 404) return notThereYet(item, `${error.message}; should it last, ${check}`, error);
      return new PermanentError(`${error.message}; ${check}, then replay it ('assetbridge dlq replay')`, error.status, error.responseBody);
    }
    const key = PATH_KEYS[item.operation];
    if (key === undefined) return error;
    const setting = this.options.configKey === undefined ? `paths.${key} of destination "${this.name}"` : `${this.options.configKey}.paths.${key} (destination "${this.name}")`;
    const check = `check ${setting} (now ${this.config.paths[key]}) against the ERP's API, then replay it ('assetbridge dlq replay')`;
    // A 404 at a path under the asset, or one whose answer names the asset (a work order posted to
    // a collection for an asset the ERP does not know: "asset EX-300 does not exist"), is as likely
    // the asset as the path.
    const namesAsset =
      this.config.paths[key].includes('{erpAssetId}') ||
      (item.operation !== 'inventory.count' && item.erpAssetId !== '' && (error.responseBody ?? '').includes(item.erpAssetId));
    const asset =
      error.status === 404 && namesAsset
        ? `if the ERP does not know asset ${item.erpAssetId}, create it there and replay it ('assetbridge dlq replay'), or, if its erp_asset_id in the asset mapping is wrong, correct it for what comes next ('assetbridge assets import'); if the ERP knows it, `
        : '';
    return new PermanentError(`${error.message}; ${asset}${check}`, error.status, error.responseBody);
  }

  /** The keys that make a lookup before a create work, for its errors. */
  private lookupFix(item: OutboxItem): string {
    // An update finds its work order whatever idempotencySupported says: only the path can fix it.
    if (item.operation === WORKORDER_UPDATE)
      return `set paths.workOrders of destination "${this.name}" to a path that answers GET ?externalKey= with a list (an update finds its work order so), then replay it ('assetbridge dlq replay')`;
    return (
      `set paths.${PATH_KEYS[item.operation] ?? 'workOrders'} of destination "${this.name}" to a path that answers GET ?externalKey= with a list, ` +
      `or idempotencySupported: true if the ERP honours ${this.config.idempotencyHeader}, then replay it ('assetbridge dlq replay')`
    );
  }

  /**
   * A whole batch refused as invalid or too large (400, 413, 422), or for a conflict its requests'
   * `on409` does not read as a retry (409: no lock, or a path set to `fail` or `exists`): an all-or-nothing batch (Oracle's, many ERPs' batch middleware) is refused whole for one
   * bad or conflicting request, often naming none, and ERPs
   * cap the requests in one batch. A 4xx applied nothing of it, so its halves are sent again, each
   * request with its own idempotency key as before (exactly once holds), down to a request on its
   * own, sent to its path rather than as a batch of one, so the ERP's answer is about it: only a
   * request the ERP refuses itself fails, and the rest are delivered. Each further request waits
   * for the budget like any (invariant 4); one bad request in a batch of n costs about 2·log2(n) more.
   */
  private async splitRefusedBatch(batchPath: string, planned: readonly Planned[], call: PacedCall, refusedSize: number): Promise<ItemResult[]> {
    const half = Math.ceil(planned.length / 2);
    const out: ItemResult[] = [];
    for (const part of [planned.slice(0, half), planned.slice(half)]) {
      const [only] = part;
      if (part.length === 1 && only !== undefined) out.push(refusedAlone(await this.sendOne(only, call), refusedSize));
      else out.push(...(await this.sendBatch(batchPath, part, call, refusedSize)));
    }
    return out;
  }

  /**
   * The refused batch leaves no audit row of its own (each item's is its request sent again), so an
   * ERP that refuses every batch, or a batch.maxSize above its limit, would show only as many
   * single requests: said once per destination, with what to change.
   */
  private logRefusedBatch(batchPath: string, size: number, error: PermanentError): void {
    if (this.splitLogged || !this.options.logger) return;
    this.splitLogged = true;
    const key = this.options.configKey === undefined ? 'batch' : `${this.options.configKey}.batch`;
    this.options.logger.warn(
      { destination: this.name, status: error.status, batchSize: size, maxSize: this.config.batch?.maxSize },
      `the ERP refused a whole batch of ${size} request${size === 1 ? '' : 's'} (${error.message}); ${size === 1 ? 'its request is sent again on its own, so the ERP\'s answer to it decides' : 'it is sent again in halves, down to single requests, so each request the ERP takes is delivered'}. ${error.status === 409 ? `A 409 for the whole batch is a conflict of one of its requests (a record that already exists: each is read by ${key === 'batch' ? 'on409' : key.replace(/batch$/, 'on409')} when sent on its own); if the ERP answers every batch so, lower ${key}.maxSize to keep fewer requests together` : `If batches keep being refused, lower ${key}.maxSize (now ${this.config.batch?.maxSize ?? size}) to what the ERP takes, or check ${key}.path`} (logged once per destination)`,
    );
  }

  /** `refusedSize`: the size of the batch refused whole that this one is part of, when it is. */
  private async sendBatch(batchPath: string, planned: readonly Planned[], call: PacedCall, refusedSize?: number): Promise<ItemResult[]> {
    const subRequests: BatchSubRequest[] = planned.map(({ item, plan }) => ({
      id: String(item.id),
      method: plan.method,
      path: plan.path,
      headers: { [this.config.idempotencyHeader]: item.idempotencyKey },
      body: plan.body,
    }));
    const outcome = await call.request({ method: 'POST', path: batchPath, body: buildBatchRequest(subRequests), batch: true });
    if (!outcome.ok) {
      const conflict = outcome.answer?.status === 409 && !(outcome.error instanceof RateLimitedError) ? outcome.answer : undefined;
      // Read as each request's own 409 would be (its on409: an ERP whose "locked" means a closed
      // period is set to fail there), and without what the batch's requests carried, which the ERP
      // quotes back ("…externalKey EQ-1|door-lock|… already exists" is no lock): retried whole, such
      // a batch would only be refused again, and every item in it would go to dead letters.
      const sent = conflict ? planned.flatMap(sentValues) : [];
      if (conflict && planned.every(({ item }) => conflictMeaning(conflict.bodyText, this.on409Of(item), LOOKED_UP_CREATES.has(item.operation), sent) === 'retry')) {
        // A lock or concurrent change refused the whole batch: it passes, so every item is retried
        // (after the ERP's Retry-After), not sent again apart into the same lock.
        const retryAfterMs = parseRetryAfter(conflict.headers.get('retry-after') ?? undefined, (this.options.clock ?? systemClock).now());
        const why = planned.every(({ item }) => this.on409Of(item) === 'retry') ? `on409 of destination "${this.name}" is retry for the path of each` : 'the ERP names a lock or a concurrent change';
        const error = new ConflictError(
          `${outcome.error.message} (the whole batch of ${planned.length} request${planned.length === 1 ? '' : 's'}; retried${retryAfterMs !== undefined ? ` after its Retry-After of ${Math.ceil(retryAfterMs / 1000)} s,` : ''} as ${why}; after retry.maxAttempts attempts it goes to dead letters)`,
          409,
          outcome.error instanceof PermanentError ? outcome.error.responseBody : undefined,
          retryAfterMs !== undefined ? { retryAfterMs } : {},
        );
        return planned.map(({ item }) => failed(item, error, outcome.exchange));
      }
      if (outcome.error instanceof PermanentError && BATCH_REFUSED.has(outcome.error.status ?? 0)) {
        if (refusedSize === undefined) this.logRefusedBatch(batchPath, planned.length, outcome.error);
        if (planned.length > 1) return this.splitRefusedBatch(batchPath, planned, call, refusedSize ?? planned.length);
        // A batch of one refused whole: an all-or-nothing batch names no request, and its one request
        // may have failed for a passing reason (a lock, a 5xx, a 429 inside it), so it is sent on its
        // own, as a refused batch's halves end, and the ERP's answer to it decides.
        const [only] = planned;
        if (only !== undefined) return [refusedAlone(await this.sendOne(only, call), 1)];
      }
      // The whole batch failed (throttled, unauthorized, down): every item shares that outcome.
      return planned.map(({ item }) => failed(item, outcome.error, outcome.exchange));
    }

    let responses: ReturnType<typeof parseBatchResponse>;
    try {
      responses = parseBatchResponse(outcome.body);
    } catch (err) {
      // The ERP took the batch: its items may have been applied, whatever the answer says.
      const error = new RetryableError(`POST ${batchPath} → ${outcome.status} with an unreadable batch response: ${coerceError(err).message}`, undefined, undefined, { outcomeUnknown: true });
      return planned.map(({ item }) => failed(item, error, outcome.exchange));
    }

    // A sub-request refused for its credentials: the batch's token is dropped, so the resend after
    // the dispatcher's refreshAuth carries a new one.
    if ([...responses.values()].some((r) => r.status === 401)) this.client.rejectedToken(outcome);
    const http = this.client.http;
    const results = planned.map(({ item, plan }, index): ItemResult | { conflict: Planned; bodyText: string; headers?: Readonly<Record<string, string>>; error: DeliveryError; exchange: Exchange } => {
      const sub = responses.get(String(item.id));
      const requestExchange = {
        method: plan.method,
        url: http.redactor.url(this.client.urlFor(plan.path)),
        requestBody: http.recordRequestBody(JSON.stringify(subRequests[index]?.body ?? plan.body)),
        latencyMs: outcome.exchange.latencyMs,
      };
      if (!sub) {
        // The ERP may or may not have applied it; the retry carries the same idempotency key (ignored by the ERP: a create is looked up by its externalKey first).
        return failed(item, new RetryableError(`POST ${batchPath}: the batch response has no entry for request id ${item.id}`, undefined, undefined, { outcomeUnknown: true }), requestExchange);
      }
      const bodyText = sub.body === undefined ? '' : typeof sub.body === 'string' ? sub.body : JSON.stringify(sub.body);
      const exchange: Exchange = {
        ...requestExchange,
        status: sub.status,
        ...(bodyText !== '' ? { responseBody: http.recordResponseBody(bodyText) } : {}),
      };
      const error = classifyResponse(
        {
          status: sub.status,
          retryAfter: headerValue(sub.headers, 'retry-after') ?? null,
          bodyText,
          ...(exchange.responseBody !== undefined ? { recordedBody: exchange.responseBody } : {}),
        },
        `${plan.method} ${plan.path} (in batch)`,
        (this.options.clock ?? systemClock).now(),
        (t) => http.redactor.text(t),
        { keyIgnored: keyIgnoredWrite(this.config.idempotencySupported, plan.method) },
      );
      if (error && sub.status === 409 && !(error instanceof RateLimitedError)) return { conflict: { item, plan }, bodyText, ...(sub.headers ? { headers: sub.headers } : {}), error, exchange };
      if (error) return failed(item, this.pathRefused(error, item), exchange);
      const response = withCreatedId(sub.body, headerValue(sub.headers, 'location') ?? headerValue(sub.headers, 'odata-entityid'));
      return { id: item.id, ok: true, exchange, ...(response !== undefined ? { response } : {}) };
    });
    // A sub-request answered 429 (or 503): the ERP throttles this caller, so no further request of
    // this call goes (the lookups below, the next batch), as after a 429 to the batch itself.
    for (const r of results) if (!('conflict' in r) && !r.ok && r.error instanceof RateLimitedError) call.stop(r.error);
    // 409s after the batch: one that says the record exists is looked up, a further request each.
    const out: ItemResult[] = [];
    for (const r of results) {
      if (!('conflict' in r)) out.push(r);
      else out.push(await this.conflictResult(r.conflict, r.bodyText, (name) => headerValue(r.headers, name), r.error, r.exchange, call));
    }
    return out;
  }
}

/**
 * A read's answer that says its path or query is wrong: a 4xx but 403 (the credentials' rights). A
 * 3xx names baseUrl itself; 401, 408 and 429 are no PermanentError.
 */
function refusedRead(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 403;
}

/**
 * Answers that refuse a whole batch: as invalid or too large, or 409 for one of its requests (an
 * all-or-nothing batch answered with its failed request's conflict, "already exists" after a lost
 * answer): its parts are sent again in halves, so each request's own answer (and `on409`) decides.
 */
const BATCH_REFUSED: ReadonlySet<number> = new Set([400, 409, 413, 422]);

/**
 * A request sent on its own after the batch of `size` it was in was refused whole: when the ERP
 * refuses it too, it is the one refused, and its reason says why; said so.
 */
function refusedAlone(result: ItemResult, size: number): ItemResult {
  if (result.ok || !(result.error instanceof PermanentError)) return result;
  const { error } = result;
  const batch = size === 1 ? 'the batch that held only this request' : `the whole batch of ${size} requests this one was in`;
  const others = size === 1 ? '' : ", and the batch's other requests went apart";
  const said = `${error.message} (the ERP refused ${batch}; sent on its own, it is refused again${others}: fix what the ERP names, then replay it ('assetbridge dlq replay'))`;
  return { ...result, error: new PermanentError(said, error.status, error.responseBody) };
}

/**
 * The probe's failure when the OAuth2 token endpoint failed: the ERP was never asked, so the
 * error (which names the token URL) is the detail, and what to check is under `auth`.
 */
function tokenFailure(error: Error, status: number | undefined): ProbeResult {
  const problem = status === undefined ? 'unreachable' : status === 400 || status === 401 || status === 403 ? 'credentials' : status === 404 || status === 405 ? 'path' : 'other';
  return { ok: false, detail: error.message, problem, ...(problem === 'unreachable' || problem === 'path' ? { key: 'auth.tokenUrl' } : {}) };
}

/**
 * The probe's failure when the ERP answered 2xx and closed the connection before the whole body
 * came: the address, path and credentials were answered, and what ended the answer early is the
 * ERP or something in front of it, not a setting (`problem: 'cut-short'`). Undefined otherwise.
 */
function connectionCut(what: string, outcome: RestOutcome): ProbeResult | undefined {
  const status = outcome.ok ? undefined : outcome.exchange?.status;
  if (outcome.ok || outcome.networkFailure !== 'connection-reset' || status === undefined || status < 200 || status > 299) return undefined;
  const reason = /→ connection-reset: ([^;]*)/.exec(outcome.error.message)?.[1] ?? outcome.error.message;
  return { ok: false, detail: `${what} → ${status}, but the connection closed before the whole answer came (${reason}): the ERP answered at this address and path, and the answer was cut short`, problem: 'cut-short' };
}

/**
 * Why a 2xx read (a poll's page, a lookup, an on-hand read) may come with no body at all, where
 * JSON was expected: more often a fault in transit than a wrong path (the connectivity check, which
 * asks once, says the path first).
 */
const EMPTY_CAUSE =
  "most likely it was cut short before any of it came (by a proxy or load balancer in front of the ERP, or by the ERP), else something other than the ERP's API answers at this path";

/**
 * The probe's failure when a 2xx answer is JSON that ends early (`{"items":[{"id":"1","ext`): cut
 * short, by the ERP or something in front of it, rather than an answer of the wrong kind from a
 * wrong path. Undefined for any other body.
 */
function jsonCut(what: string, status: number, body: unknown): ProbeResult | undefined {
  // parseBody keeps as text what is not JSON: text that opens as JSON does was cut.
  const cut = typeof body === 'string' ? jsonCutShort(body) : undefined;
  if (cut === undefined) return undefined;
  return { ok: false, detail: `${what} → ${status}, but the answer is ${cut}: the ERP answered at this address and path, and the answer was cut short`, problem: 'cut-short' };
}

/**
 * The probe's failure when a 2xx answer has no body at all (`body` undefined), where `expected`
 * was: said as an empty answer, not as one of the wrong kind (`got undefined`). Something other
 * than the ERP's resource most likely answers at that path (a gateway's or web server's default
 * route), so the path (`key`, else the problem's usual one) is still the thing to look at.
 */
function emptyAnswer(what: string, status: number, body: unknown, expected: string, key?: string): ProbeResult | undefined {
  if (body !== undefined) return undefined;
  return {
    ok: false,
    detail: `${what} → ${status}, but ${emptyAnswerText(expected)}: most likely something other than the ERP's API answers at this path (a gateway's or web server's default route), else the ERP ended its answer before any of it`,
    problem: 'path',
    ...(key !== undefined ? { key } : {}),
  };
}

/** One cell's on-hand read: a quantity, none (404: 0 on hand), a failed request, or an answer without a quantity. */
type CellRead = { readonly path: string } & (
  | { readonly kind: 'quantity'; readonly quantity: number; readonly status: number; readonly latencyMs: number }
  | { readonly kind: 'absent' }
  /** `tokenEndpoint`: not sent, the OAuth2 token endpoint failed. */
  | { readonly kind: 'failed'; readonly error: DeliveryError; readonly status: number | undefined; readonly tokenEndpoint?: true; readonly outcome: RestOutcome }
  | { readonly kind: 'unreadable'; readonly why: string; readonly status: number; readonly body: unknown }
);

async function readCell(call: PacedCall, template: string, cell: InventoryCellRef): Promise<CellRead> {
  const path = onHandPath(template, cell);
  const outcome = await call.request({ method: 'GET', path });
  if (!outcome.ok) {
    const status = outcome.exchange?.status;
    return status === 404 ? { path, kind: 'absent' } : { path, kind: 'failed', error: outcome.error, status, outcome, ...(outcome.tokenEndpoint === true ? { tokenEndpoint: true as const } : {}) };
  }
  try {
    return { path, kind: 'quantity', quantity: parseOnHand(outcome.body), status: outcome.status, latencyMs: outcome.exchange.latencyMs };
  } catch (err) {
    return { path, kind: 'unreadable', why: coerceError(err).message, status: outcome.status, body: outcome.body };
  }
}

/**
 * The requests of one connector call (invariant 4). The first goes on the request the dispatcher
 * (or task) took from the destination's limiter; each further one (a lookup before a create, the
 * create after it, another batch or page) waits for the budget first. After a 429 in the call (to
 * a request, or to a sub-request of a batch) no further request goes: the rest share that answer,
 * and the caller pauses the destination.
 */
class PacedCall {
  private readonly pacing: CallPacing;

  constructor(
    private readonly client: RestClient,
    private readonly ctx: SendContext,
  ) {
    this.pacing = new CallPacing(ctx);
  }

  async request(req: Omit<RestRequest, 'signal' | 'outsideTimeout'>): Promise<RestOutcome> {
    const refused = await this.pacing.next();
    if (refused) return { ok: false, error: refused };
    const outcome = await this.client.request({ ...req, signal: this.ctx.signal, ...(this.ctx.outsideTimeout ? { outsideTimeout: this.ctx.outsideTimeout } : {}) });
    if (!outcome.ok) this.pacing.stop(outcome.error);
    return outcome;
  }

  /** The ERP throttled a request of this call (or one inside it, a batch's sub-request): no further one goes. */
  stop(error: RateLimitedError): void {
    this.pacing.stop(error);
  }
}

/**
 * Operations that create a record in the ERP: looked up by `externalKey` first when it has no
 * idempotency support. A meter reading is a state delivery (newer readings replace a pending
 * one), but each one sent still creates a record, so a retry after a lost response would add a
 * second reading.
 */
const LOOKED_UP_CREATES: ReadonlySet<string> = new Set(['workorder.create', 'inventory.count', 'usage.post', 'meter.record']);
/** The REST connector's `capabilities.createsRecord`, known without a connector (no secrets read): for the CLI. */
export const REST_CREATES_RECORD: readonly string[] = [...LOOKED_UP_CREATES];
/** The REST connector's `capabilities.waitsFor`, known without a connector: a work order's update finds it by its business key, so it is sent only once its create is done with. */
export const REST_WAITS_FOR: Readonly<Record<string, string>> = { [WORKORDER_UPDATE]: 'workorder.create' };
/** The `paths` (and `on409`) key of each operation. */
const PATH_KEYS: Readonly<Record<string, Exclude<keyof RestDestinationConfig['on409'], 'workOrder'>>> = {
  'location.update': 'location',
  'workorder.create': 'workOrders',
  'inventory.count': 'inventoryCounts',
  'usage.post': 'usagePostings',
  'meter.record': 'meterReadings',
};

/** The `on409` key (and the `paths` key it writes to) of each write: a priority raised is a PATCH at `paths.workOrder`. */
const ON409_KEYS: Readonly<Record<string, keyof RestDestinationConfig['on409']>> = { ...PATH_KEYS, [WORKORDER_UPDATE]: 'workOrder' };

/**
 * The key a created record carries for the lookup: a fact's business key (one work order per
 * asset, rule and occurrence); for a state delivery (a meter reading) its idempotency key, which
 * names this value at this event time, not just the meter.
 */
function externalKeyOf(item: OutboxItem): string {
  return item.kind === 'fact' ? item.businessKey : item.idempotencyKey;
}

/**
 * The URL of the page a list's `next` link names: a relative one (OData V2's `__next` often is:
 * `MaintenanceOrder?$skiptoken=100`) is relative to the page it came on, as any link, not to baseUrl.
 */
function nextPageUrl(next: string, page: string): string {
  try {
    return new URL(next, page).toString();
  } catch {
    return next; // not a URL: the client refuses it, saying so
  }
}

/**
 * Whether a listed record's (its fields as `workOrderFields` name them) time is its update time,
 * which {@link workOrderChangedAt} reads before the others: not when `updatedAt` is blank and the
 * time is its `completedAt` or `createdAt`.
 */
function hasUpdateTime(raw: unknown): boolean {
  return workOrderTimeField(raw)?.field === 'updatedAt';
}

/** The path of a page request, for messages (a `next` link's without its origin). */
function pagePath(request: { path: string } | { url: string }): string {
  if ('path' in request) return request.path;
  try {
    const url = new URL(request.url);
    return `${url.pathname}${url.search}`;
  } catch {
    return request.url;
  }
}

/** Which record a listed work order is, to see one listed twice in a poll: its id, else its externalKey. */
function recordIdOf(raw: unknown): string | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const { id, externalKey } = raw as { id?: unknown; externalKey?: unknown };
  if (typeof id === 'string' || typeof id === 'number') return `id:${String(id)}`;
  return typeof externalKey === 'string' && externalKey !== '' ? `key:${externalKey}` : undefined;
}

/** What a request carried (its asset id, its body's strings), which the ERP may quote back in a 409's reason. */
function sentValues({ item, plan }: Planned): string[] {
  return [item.erpAssetId, ...Object.values(plan.body).filter((v): v is string => typeof v === 'string')];
}

/**
 * A `workorder.update` of a work order the ERP does not have (yet): the dispatcher sends one only
 * once its create is delivered or dead (`capabilities.waitsFor`), so the create is in the dead
 * letters (a replay lands it), went elsewhere, or the ERP does not list it yet: retried; a
 * {@link ConflictError} (the ERP answered: the circuit breaker does not count it). `why`: what said so.
 */
function notThereYet(item: OutboxItem, why: string, error?: DeliveryError): ConflictError {
  return new ConflictError(
    `workorder.update of ${item.businessKey}: ${why}: the ERP does not have this work order yet (an update goes only once its workorder.create is delivered or dead: is that create in the dead letters? 'assetbridge dlq list'), so its priority cannot be raised yet; retried until the work order is there (after retry.maxAttempts attempts or retry.maxAgeMs it goes to dead letters: replay its create and it together ('assetbridge dlq replay'): it waits for the create)`,
    error?.status ?? 404,
    error?.responseBody,
  );
}

function failed(item: OutboxItem, error: DeliveryError, exchange?: Exchange): ItemResult {
  return { id: item.id, ok: false, error, ...(exchange ? { exchange } : {}) };
}

function asDeliveryError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  return new RetryableError(coerceError(err).message, undefined, undefined, { cause: err });
}
