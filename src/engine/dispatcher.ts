/**
 * The dispatch stage: claims due deliveries from the outbox per destination and sends them through
 * the destination's connector, within its limiter (rate + concurrency + 429 pause) and circuit
 * breaker. Every attempt is audited in the same transaction that records its outcome. Retries use
 * exponential backoff with full jitter; permanent errors and exhausted retries go to dead letters
 * with the ERP's reason; a 401 refreshes credentials once and resends at once. A state update
 * whose request had an unknown outcome (or was in flight when the process died) leaves its key
 * unsettled, so a newer value delivered while the old request could still land is sent once more
 * afterwards; for an operation that adds a record per value (a meter reading), the newer value
 * waits until then instead (invariant 8). An operation that acts on the record another creates (a
 * work order's update, `capabilities.waitsFor`) is not claimed while that create of its key is
 * pending or in flight: it waits without attempts, and its max age counts from the create's end.
 * @module
 */
import type { Logger } from 'pino';
import { backoffDelay } from '../core/delivery/backoff.js';
import { CircuitBreaker, type CircuitState } from '../core/delivery/circuit-breaker.js';
import { AuthError, ConflictError, PermanentError, RateLimitedError, RetryableError, coerceError, type DeliveryError } from '../core/errors/errors.js';
import { outboxKey, type OutboxItem } from '../core/model/delivery.js';
import { storeErrorAdvice, storeErrorCode } from '../core/errors/store-errors.js';
import type { Clock } from '../ports/clock.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ErpConnector, ItemResult, RequestBudget, SendContext } from '../ports/connector.js';
import type { AttemptOutcome, AuditRecord, Store } from '../ports/store.js';
import { DestinationLimiter } from './limiter.js';
import { durationText } from '../config/duration.js';

export interface DestinationPolicy {
  readonly name: string;
  readonly connector: ErpConnector;
  readonly requestsPerMinute: number;
  readonly maxConcurrency: number;
  /**
   * The longest one 429/503 pauses the destination, and a locked record's retry waits, whatever
   * its Retry-After asks. @default no limit
   */
  readonly maxPauseMs?: number;
  readonly maxAttempts: number;
  readonly maxAgeMs: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly failureThreshold: number;
  readonly openMs: number;
  /**
   * Per-request timeout handed to the connector through the abort signal: for each request of a
   * call, from its rate token on (the waits for tokens do not count).
   */
  readonly timeoutMs: number;
  /**
   * How long a request of unknown outcome (timed out, connection dropped) may still land at the
   * ERP. A value of its key delivered before then is sent once more then, for the connector's
   * last-write-wins operations (`capabilities.lastWriteWins`); a create (`capabilities.createsRecord`)
   * is not sent again before then. @default 0 (off)
   */
  readonly unknownOutcomeSettleMs?: number;
}

export interface DispatcherOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly destinations: readonly DestinationPolicy[];
  readonly logger?: Logger;
  /** How often an idle destination looks for due work (new work also wakes it). @default 250 */
  readonly idlePollMs?: number;
  readonly random?: () => number;
  /** Told each delivery attempt's time and status as it is audited (the service's metrics). */
  readonly onAttempt?: (attempt: AttemptTiming) => void;
  /**
   * Applied to the text a delivery's outcome stores (its error, as dead letters, `status` and the
   * audit trail show it, and the audited URL and answer): the composition root scrubs the config's
   * credential values with it, which the connector's own redaction may not know (a header of a name
   * that looks like no credential's). @default the text as it is
   */
  readonly redact?: (text: string) => string;
}

/** One delivery attempt that went out (it has an exchange in the audit trail), for metrics. */
export interface AttemptTiming {
  readonly destination: string;
  /** The time of the request that carried it (a batch request's, for each of its items). */
  readonly seconds: number;
  /** The HTTP status of its answer (its own within a batch); absent when none came (timeout, connection failure). */
  readonly status?: number;
}

export interface DestinationMetrics {
  attempts: number;
  delivered: number;
  retried: number;
  deadLettered: number;
  rateLimited: number;
  authRefreshes: number;
  pauses: number;
  circuit: CircuitState;
  circuitOpened: number;
  /** While the circuit is not closed: the latest failure that opened it or failed its probe. */
  circuitError?: string;
  inFlight: number;
  pausedForMs: number;
}

class DestinationWorker {
  readonly limiter: DestinationLimiter;
  readonly breaker: CircuitBreaker;
  readonly busy = new Set<string>();
  /** State operations whose newer value waits while an older request of its key may still land (`heldWhileUnsettled`). */
  readonly held: ReadonlySet<string>;
  readonly inflight = new Set<Promise<void>>();
  readonly metrics = { attempts: 0, delivered: 0, retried: 0, deadLettered: 0, rateLimited: 0, authRefreshes: 0 };
  /** Outcomes the store could not record yet (busy, disk full): recorded before the next claim. */
  readonly unrecorded: { outcomes: AttemptOutcome[]; audit: AuditRecord[]; at: number }[] = [];
  consecutive429 = 0;
  /** When the circuit opened after working (undefined while closed): failed probes keep it. */
  circuitOpenSince: number | undefined;
  /** While the circuit is not closed: the latest failure that opened it or failed its probe. */
  circuitError: string | undefined;
  /**
   * The store failing the loop (a claim on a full disk) or refusing outcomes again, turn after
   * turn: its message and how many turns. The first is logged at error, repeats at debug.
   */
  loopFailure: { message: string; turns: number } | undefined;
  recordFailure: { message: string; turns: number } | undefined;
  private wake: (() => void) | undefined;

  constructor(
    readonly policy: DestinationPolicy,
    now: number,
  ) {
    this.limiter = new DestinationLimiter({ requestsPerMinute: policy.requestsPerMinute, maxConcurrency: policy.maxConcurrency }, now);
    this.breaker = new CircuitBreaker({ failureThreshold: policy.failureThreshold, openMs: policy.openMs });
    this.held = new Set(policy.connector.capabilities.heldWhileUnsettled ?? []);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

/**
 * The timeout of a delivery call, per request: it runs from the start and again from each further
 * request's rate token, and stands still while the call waits for one. Aborts its signal (a
 * TimeoutError, as AbortSignal.timeout) when a request takes longer.
 */
class RequestDeadline {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {
    this.restart();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  pause(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  restart(): void {
    this.pause();
    if (this.controller.signal.aborted) return;
    this.timer = setTimeout(() => this.controller.abort(new DOMException(`no answer within ${this.ms} ms`, 'TimeoutError')), this.ms);
  }

  stop(): void {
    this.pause();
  }

  /** `SendContext.outsideTimeout`: `work` (a token request, bounded apart) does not count; the request after it has the whole timeout. */
  outside<T>(work: () => Promise<T>): Promise<T> {
    this.pause();
    return work().finally(() => this.restart());
  }
}

export class Dispatcher {
  private readonly workers = new Map<string, DestinationWorker>();
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly abort = new AbortController();
  private readonly idlePollMs: number;
  private readonly random: () => number;
  private readonly redact: (text: string) => string;

  constructor(private readonly opts: DispatcherOptions) {
    this.idlePollMs = opts.idlePollMs ?? 250;
    this.random = opts.random ?? Math.random;
    this.redact = opts.redact ?? ((text) => text);
    for (const d of opts.destinations) this.workers.set(d.name, new DestinationWorker(d, opts.clock.now()));
  }

  async start(): Promise<void> {
    if (this.running) return;
    // A request in flight when the process died may still land at the ERP: its outcome is unknown.
    const now = this.opts.clock.now();
    const recovered = await this.opts.store.recoverInflight(
      (item) => {
        const w = this.workers.get(item.destination);
        return w && this.unsettled(w, item, now, true).unsettledUntil;
      },
      (item) => {
        const w = this.workers.get(item.destination);
        return w && this.notBeforeLanded(w, item, now, true, now);
      },
    );
    if (recovered) this.opts.logger?.warn({ recovered }, 'deliveries left in flight by an earlier stop are pending again (same idempotency keys)');
    this.running = true;
    this.loops = [...this.workers.values()].map((w) => this.loop(w));
  }

  /** New work was enqueued: wake idle destinations now instead of at their next poll. */
  notify(): void {
    for (const w of this.workers.values()) w.notify();
  }

  /**
   * Stop claiming, let in-flight requests finish within `graceMs`, then abort the rest; aborted
   * deliveries return to pending with their idempotency keys, so a resend is safe.
   */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.notify();
    await Promise.all(this.loops);
    const all = [...this.workers.values()].flatMap((w) => [...w.inflight]);
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs)));
    const result = await Promise.race([Promise.all(all).then(() => 'done' as const), graceOver]);
    clearTimeout(timer);
    if (result === 'timeout') {
      // Which deliveries are cut short, per destination: the operator sees what is resent at the next start.
      const aborted = Object.fromEntries([...this.workers.values()].filter((w) => w.busy.size > 0).map((w) => [w.policy.name, w.busy.size]));
      const count = Object.values(aborted).reduce((a, b) => a + b, 0);
      this.opts.logger?.warn(
        { graceMs, aborted },
        `grace period over (shutdown.graceMs): aborting the ERP requests of ${count} delivery(ies) still in flight (${Object.entries(aborted).map(([name, n]) => `${name}: ${n}`).join(', ')}); they go back to pending and are resent at the next start with the same idempotency keys`,
      );
      this.abort.abort(new Error('shutdown'));
      await Promise.all(all);
    }
    // Outcomes still unrecorded get one more try; else their rows go back to pending at the next start.
    for (const w of this.workers.values()) await this.recordLater(w);
  }

  metrics(): Record<string, DestinationMetrics> {
    const now = this.opts.clock.now();
    const out: Record<string, DestinationMetrics> = {};
    for (const [name, w] of this.workers) {
      out[name] = {
        ...w.metrics,
        pauses: w.limiter.pauses,
        circuit: w.breaker.current(now),
        circuitOpened: w.breaker.opened,
        ...(w.circuitError !== undefined ? { circuitError: w.circuitError } : {}),
        inFlight: w.limiter.inFlight,
        pausedForMs: w.limiter.pausedFor(now),
      };
    }
    return out;
  }

  private async loop(w: DestinationWorker): Promise<void> {
    const batchSize = Math.max(1, w.policy.connector.capabilities.maxBatchSize);
    while (this.running) {
      try {
        if (w.unrecorded.length > 0 && !(await this.recordLater(w))) {
          await w.sleep(1000);
          continue;
        }
        const now = this.opts.clock.now();
        const breakerWait = w.breaker.acquire(now);
        if (breakerWait > 0) {
          await w.sleep(Math.min(breakerWait, 1000));
          continue;
        }
        const wait = w.limiter.tryAcquire(now);
        if (wait > 0) {
          w.breaker.onNeutral();
          await (wait === Infinity ? Promise.race([...w.inflight, w.sleep(this.idlePollMs)]) : w.sleep(Math.min(wait, 1000)));
          continue;
        }
        let items: OutboxItem[];
        try {
          items = await this.opts.store.claimDue(w.policy.name, now, batchSize, w.busy, w.held, w.policy.connector.capabilities.waitsFor);
        } catch (err) {
          // A failed claim (store busy) sent nothing either: without this the slot (or the
          // half-open probe) stays taken for good and the destination stops delivering.
          this.giveBack(w);
          throw err;
        }
        if (w.loopFailure) {
          this.opts.logger?.info({ destination: w.policy.name, failedTurns: w.loopFailure.turns }, 'dispatch loop works again');
          w.loopFailure = undefined;
        }
        if (items.length === 0) {
          // Nothing was sent: hand back the slot, the token and any half-open probe.
          this.giveBack(w);
          await w.sleep(this.idlePollMs);
          continue;
        }
        for (const i of items) w.busy.add(outboxKey(i));
        const p = this.send(w, items).finally(() => {
          w.limiter.release();
          for (const i of items) w.busy.delete(outboxKey(i));
          w.inflight.delete(p);
          w.notify();
        });
        w.inflight.add(p);
      } catch (err) {
        // Each second while it lasts (a full disk): the first at error, with what to do; the same again at debug.
        const e = coerceError(err);
        const prior = w.loopFailure;
        w.loopFailure = { message: e.message, turns: (prior?.turns ?? 0) + 1 };
        if (prior?.message === e.message) this.opts.logger?.debug({ err: e, destination: w.policy.name, failedTurns: w.loopFailure.turns }, 'dispatch loop failed again the same way');
        else this.opts.logger?.error({ err: e, destination: w.policy.name }, `dispatch loop error; retrying each second${adviceFor(err)} (repeats are logged at debug)`);
        await w.sleep(1000);
      }
    }
  }

  /** Hand back what a loop turn took for a request it did not send: the slot, the token, any probe. */
  private giveBack(w: DestinationWorker): void {
    w.limiter.release();
    w.limiter.refund();
    w.breaker.onNeutral();
  }

  /**
   * Run a connector call made outside delivery (polling the ERP for work-order changes) within
   * the destination's limits, as deliveries are (invariant 4): it waits for a concurrency slot and
   * a rate token, further requests of the call take their own tokens, and a 429 answer pauses the
   * destination. While the destination is paused (a 429/503) it is not sent and rejects at once
   * with a {@link RateLimitedError}: the tasks that call it go through destinations one after
   * another, and waiting out one's Retry-After (an hour's maintenance window) would hold up the
   * others. Rejects when `signal` aborts while waiting.
   */
  async withinLimits<T>(destination: string, signal: AbortSignal, call: (ctx: SendContext) => Promise<T>): Promise<T> {
    const w = this.workers.get(destination);
    if (!w) return call({ signal });
    await this.waitUntil(signal, (now) => {
      const paused = w.limiter.pausedFor(now);
      if (paused > 0)
        throw new RateLimitedError(`${destination} is paused for ${Math.ceil(paused / 1000)} s after a 429/503 answer: not asked while it is paused`, paused);
      return w.limiter.tryAcquire(now);
    });
    try {
      return await call({ signal, budget: this.budgetOf(w) });
    } catch (err) {
      if (err instanceof RateLimitedError) this.onRateLimited(w, err, this.opts.clock.now());
      throw err;
    } finally {
      w.limiter.release();
    }
  }

  /**
   * A connector call's further requests: a rate token each, after any pause. With a `deadline`,
   * the wait does not count against it, and each request granted has it afresh.
   */
  private budgetOf(w: DestinationWorker, deadline?: RequestDeadline): RequestBudget {
    return {
      next: async (signal) => {
        deadline?.pause();
        try {
          await this.waitUntil(signal, (now) => w.limiter.tryTake(now));
        } finally {
          deadline?.restart();
        }
      },
    };
  }

  /** Polls `attempt` (0 = granted, else ms to wait; Infinity = until a slot frees) until granted or aborted. */
  private async waitUntil(signal: AbortSignal, attempt: (now: number) => number): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      const wait = attempt(this.opts.clock.now());
      if (wait === 0) return;
      await sleep(Math.min(wait === Infinity ? this.idlePollMs : wait, 1000), undefined, { signal });
    }
  }

  /**
   * A 429/503 pauses the whole destination, not just one item; growing when no Retry-After is
   * given, or one that asks for no wait (`0`, or an HTTP-date already past by our clock when the
   * clocks differ): resending at once would answer throttling with a request per rate token.
   */
  private onRateLimited(w: DestinationWorker, err: RateLimitedError, now: number): void {
    w.metrics.rateLimited++; // one per response, however many items it carried
    w.consecutive429++;
    const asked = err.retryAfterMs !== undefined && err.retryAfterMs > 0 ? err.retryAfterMs : undefined;
    const wanted = asked ?? backoffDelay({ baseDelayMs: 1000, maxDelayMs: w.policy.maxDelayMs }, w.consecutive429, () => 1);
    const cap = w.policy.maxPauseMs ?? Infinity;
    const wait = Math.min(wanted, cap);
    w.limiter.pause(now + wait);
    if (asked !== undefined && asked > cap)
      this.opts.logger?.warn(
        { destination: w.policy.name, retryAfterMs: asked, waitMs: wait, key: 'rateLimit.maxPauseMs' },
        `the destination's Retry-After asks for a pause of ${durationText(asked)}, longer than destinations[].rateLimit.maxPauseMs (${durationText(cap)}): pausing ${durationText(cap)}, then one request goes first`,
      );
    // Warned once per streak (a long 503 maintenance window would warn at every Retry-After).
    const what = err.status === 503 ? 'destination is unavailable (503)' : `destination is rate limiting us (${err.status ?? 429})`;
    if (w.consecutive429 === 1)
      this.opts.logger?.warn({ destination: w.policy.name, waitMs: wait, status: err.status }, `${what}; pausing it: further pauses until a request succeeds are logged at debug, and status shows them`);
    else this.opts.logger?.debug({ destination: w.policy.name, waitMs: wait, status: err.status, pauses: w.consecutive429 }, `${what}; pausing it again`);
  }

  private async send(w: DestinationWorker, items: OutboxItem[]): Promise<void> {
    const { connector } = w.policy;
    // timeoutMs is per request: a call of several (a lookup before each create, batches, pages)
    // has it for each, counted from when the request got its rate token, not for the whole call.
    const deadline = new RequestDeadline(w.policy.timeoutMs);
    const signal = AbortSignal.any([this.abort.signal, deadline.signal]);
    const budget = this.budgetOf(w, deadline);
    let results: ItemResult[];
    try {
      results = await connector.send(items, { signal, budget, outsideTimeout: (work) => deadline.outside(work) });
    } catch (err) {
      // Connectors must not throw; treat it as a retryable failure of every item, sent or not.
      const e = new RetryableError(`connector threw: ${coerceError(err).message}`, undefined, undefined, { outcomeUnknown: true });
      results = items.map((i) => ({ id: i.id, ok: false, error: e }));
    } finally {
      deadline.stop();
    }
    // Cut short by the timeout or a shutdown: whatever the connector says, the requests may land.
    let cutShort = signal.aborted;
    // 401: refresh credentials once, resend those items at once with the same keys. Not when the
    // credentials themselves could not be had (the token endpoint refused): a refresh asks it again.
    const authFailed = results.filter((r) => !r.ok && r.error instanceof AuthError && r.credentialsUnavailable !== true);
    const audit: AuditRecord[] = [];
    const now0 = this.opts.clock.now();
    if (authFailed.length && connector.refreshAuth && !this.abort.signal.aborted) {
      w.metrics.authRefreshes++;
      let refreshed = true;
      // The token request is a request like any: a shutdown's abort and the timeout end it, so
      // neither waits on a token endpoint that does not answer.
      const refreshDeadline = new RequestDeadline(w.policy.timeoutMs);
      const refreshSignal = AbortSignal.any([this.abort.signal, refreshDeadline.signal]);
      try {
        await connector.refreshAuth(refreshSignal);
      } catch (err) {
        refreshed = false;
        if (!this.abort.signal.aborted) this.opts.logger?.error({ err: coerceError(err), destination: w.policy.name }, 'credential refresh failed');
      } finally {
        refreshDeadline.stop();
      }
      // Audited as an auth-refresh (credentials refreshed, the request resent) only when it was; a
      // refresh that failed leaves the 401 to be audited once, as the retry it is.
      if (refreshed) for (const r of authFailed) audit.push(this.auditOf(items, r, now0, 'auth-refresh'));
      if (refreshed) {
        const retryItems = items.filter((i) => authFailed.some((r) => r.id === i.id));
        let second: ItemResult[];
        const secondDeadline = new RequestDeadline(w.policy.timeoutMs);
        const secondSignal = AbortSignal.any([this.abort.signal, secondDeadline.signal]);
        try {
          // The resend is another request: it waits for a rate token like any (invariant 4).
          await this.budgetOf(w, secondDeadline).next(this.abort.signal);
          second = await connector.send(retryItems, { signal: secondSignal, budget: this.budgetOf(w, secondDeadline), outsideTimeout: (work) => secondDeadline.outside(work) });
        } catch (err) {
          const e = new RetryableError(`connector threw: ${coerceError(err).message}`, undefined, undefined, { outcomeUnknown: true });
          second = retryItems.map((i) => ({ id: i.id, ok: false, error: e }));
        } finally {
          secondDeadline.stop();
        }
        cutShort ||= secondSignal.aborted;
        results = results.filter((r) => !authFailed.includes(r)).concat(second);
      }
    }
    await this.record(w, items, results, audit, cutShort);
  }

  /**
   * For a state update of a last-write-wins operation whose request may still land at the ERP:
   * until when (its key stays unsettled so a newer value delivered meanwhile is sent again). For
   * one of a held operation (`heldWhileUnsettled`): until when a newer value of its key waits.
   */
  private unsettled(w: DestinationWorker, item: Pick<OutboxItem, 'kind' | 'operation'>, now: number, outcomeUnknown: boolean): { unsettledUntil?: number } {
    const settleMs = w.policy.unknownOutcomeSettleMs ?? 0;
    if (!outcomeUnknown || settleMs <= 0 || item.kind !== 'state') return {};
    const caps = w.policy.connector.capabilities;
    if (!(caps.lastWriteWins ?? []).includes(item.operation) && !w.held.has(item.operation)) return {};
    return { unsettledUntil: now + settleMs };
  }

  /**
   * When a failed create may be sent again: `due`, but for one whose request may still land
   * (`capabilities.createsRecord`), not before it can no longer land (`unknownOutcomeSettleMs`),
   * with or without idempotency support: a lookup before then could miss the record the ERP is
   * still creating, and an ERP that records an idempotency key when the record commits does not
   * know the key yet; either way the retry would create it twice.
   */
  private notBeforeLanded(w: DestinationWorker, item: Pick<OutboxItem, 'operation'>, now: number, outcomeUnknown: boolean, due: number): number {
    const settleMs = w.policy.unknownOutcomeSettleMs ?? 0;
    if (!outcomeUnknown || settleMs <= 0 || !(w.policy.connector.capabilities.createsRecord ?? []).includes(item.operation)) return due;
    return Math.max(due, now + settleMs);
  }

  private async record(w: DestinationWorker, items: OutboxItem[], results: ItemResult[], audit: AuditRecord[], cutShort: boolean): Promise<void> {
    const now = this.opts.clock.now();
    const p = w.policy;
    const outcomes: AttemptOutcome[] = [];
    const byId = new Map(items.map((i) => [i.id, i]));
    let anyFailure = false;
    let anySuccess = false;
    /** The last failure that counts against the destination: what the circuit warning names. */
    let failure: string | undefined;
    let rateLimited: RateLimitedError | undefined;
    for (const r of results) {
      const item = byId.get(r.id);
      if (!item) continue;
      byId.delete(r.id);
      w.metrics.attempts++;
      if (r.ok) {
        anySuccess = true;
        w.metrics.delivered++;
        outcomes.push({ id: r.id, result: 'delivered', ...(r.response !== undefined ? { response: r.response } : {}) });
        audit.push(this.auditOf(items, r, now, item.resend ? 'resent' : 'delivered'));
        continue;
      }
      const err: DeliveryError = r.error;
      // Cut short while a read was in flight (a lookup before a create): the call's writes before it
      // were answered, and the read changes nothing, so nothing of it can still land.
      const readCutShort = r.exchange?.method === 'GET' || r.exchange?.method === 'HEAD';
      const unknown = err.outcomeUnknown || (cutShort && !readCutShort);
      // May have reached the ERP: remembered on the row (`dlq list` shows it) as well as for its key.
      const uncertain = { ...this.unsettled(w, item, now, unknown), ...(unknown ? { mayHaveLanded: true as const } : {}) };
      if (this.abort.signal.aborted) {
        // Shutdown cut it short: the outcome is unknown; resend later with the same key.
        outcomes.push({ id: r.id, result: 'release', nextAttemptAt: this.notBeforeLanded(w, item, now, unknown, now), ...uncertain });
        audit.push(this.auditOf(items, r, now, 'aborted'));
        continue;
      }
      // From when this value was queued: a key's newer value replacing a failing one starts afresh.
      const tooOld = now - item.enqueuedAt >= p.maxAgeMs;
      /** Given up on: to the dead letters, with why. */
      const dead = (reason: string): void => {
        const why = this.redact(reason);
        w.metrics.deadLettered++;
        this.opts.logger?.error(
          { destination: p.name, id: r.id, operation: item.operation, businessKey: item.businessKey, error: why },
          "delivery moved to dead letters; fix the cause, then 'assetbridge dlq replay'",
        );
        outcomes.push({ id: r.id, result: 'dead', error: why, ...uncertain });
        audit.push(this.auditOf(items, r, now, 'dead'));
      };
      if (err instanceof RateLimitedError) {
        rateLimited = err;
        // A 429/503 is not an attempt against maxAttempts (the destination pauses instead), but a
        // delivery still answered so once it is retry.maxAgeMs old is given up on like any other:
        // a destination that answers 503 for days would otherwise keep it pending for good.
        if (tooOld) {
          dead(`${err.message} (gave up: still answered ${err.status ?? 429} once older than retry.maxAgeMs, ${durationText(p.maxAgeMs)}; 429/503 answers pause the destination and do not count as attempts)`);
          continue;
        }
        outcomes.push({ id: r.id, result: 'release', nextAttemptAt: now });
        audit.push(this.auditOf(items, r, now, 'rate-limited'));
        continue;
      }
      const attempt = item.attempts + 1;
      if (err instanceof PermanentError || attempt >= p.maxAttempts || tooOld) {
        if (!(err instanceof PermanentError) && !(err instanceof ConflictError)) {
          anyFailure = true;
          failure = err.message;
        }
        dead(err instanceof PermanentError ? err.message : `${err.message} (gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}${tooOld ? ' and max age' : ''})`);
        continue;
      }
      // A locked record: the ERP answered, so the circuit breaker is not told of a failure.
      if (!(err instanceof ConflictError)) {
        anyFailure = true;
        failure = err.message;
      }
      w.metrics.retried++;
      // A lock whose answer says when to try again (Retry-After): then, as a 429's pause, and as
      // bounded (rateLimit.maxPauseMs); without one, or one that asks for no wait, the backoff.
      const asked = err instanceof ConflictError && err.retryAfterMs !== undefined && err.retryAfterMs > 0 ? Math.min(err.retryAfterMs, p.maxPauseMs ?? Infinity) : undefined;
      const delay = asked ?? backoffDelay({ baseDelayMs: p.baseDelayMs, maxDelayMs: p.maxDelayMs }, attempt, this.random);
      outcomes.push({ id: r.id, result: 'retry', nextAttemptAt: this.notBeforeLanded(w, item, now, unknown, now + delay), error: this.redact(err.message), ...uncertain });
      audit.push(this.auditOf(items, r, now, 'retry'));
    }
    // Items the connector did not answer for: unknown outcome, resend later.
    for (const [id, item] of byId) outcomes.push({ id, result: 'release', nextAttemptAt: this.notBeforeLanded(w, item, now, true, now + p.baseDelayMs), ...this.unsettled(w, item, now, true), mayHaveLanded: true });

    if (rateLimited) this.onRateLimited(w, rateLimited, now);
    else if (anySuccess) w.consecutive429 = 0;
    if (anyFailure && !anySuccess) {
      const opened = w.breaker.opened;
      w.breaker.onFailure(now);
      if (w.breaker.opened !== opened) w.circuitError = failure;
      // Warned once per outage, naming the failure; each failed probe opens it again, quietly.
      if (w.breaker.opened !== opened && w.circuitOpenSince === undefined) {
        w.circuitOpenSince = now;
        this.opts.logger?.warn(
          { destination: p.name, openMs: p.openMs, error: failure },
          "circuit open: the destination keeps failing (error: the last failure; 'assetbridge audit' has every attempt); no requests for openMs, then one probe at a time until one succeeds",
        );
      } else if (w.breaker.opened !== opened) this.opts.logger?.debug({ destination: p.name, openMs: p.openMs, error: failure }, 'circuit probe failed; open again for openMs');
    } else if (anySuccess) {
      w.breaker.onSuccess();
      if (w.circuitOpenSince !== undefined) {
        this.opts.logger?.info({ destination: p.name, openForMs: now - w.circuitOpenSince }, 'circuit closed: the destination answers again');
        w.circuitOpenSince = undefined;
      }
      w.circuitError = undefined;
    } else w.breaker.onNeutral();
    // Every attempt that went out (its audit row has an exchange), the credential refresh's too.
    const onAttempt = this.opts.onAttempt;
    if (onAttempt) {
      for (const a of audit) if (a.method !== undefined) onAttempt({ destination: a.destination, seconds: a.latencyMs / 1000, ...(a.status !== undefined ? { status: a.status } : {}) });
    }
    try {
      await this.opts.store.completeAttempts(outcomes, audit, now);
    } catch (err) {
      // The attempt happened but its outcome could not be stored: the rows stay in flight (no claim
      // takes them) and the outcome is recorded again before the destination's next claim. Should
      // the process stop first, they go back to pending at the next start, and the idempotency key
      // makes the resend harmless.
      w.unrecorded.push({ outcomes, audit, at: now });
      this.opts.logger?.error({ err: coerceError(err), destination: p.name }, `could not record delivery outcomes; trying again before the next claim${adviceFor(err)}`);
    }
  }

  /** Records the outcomes the store refused earlier, oldest first; false while it still refuses. */
  private async recordLater(w: DestinationWorker): Promise<boolean> {
    while (w.unrecorded.length > 0) {
      const next = w.unrecorded[0] as (typeof w.unrecorded)[number];
      try {
        await this.opts.store.completeAttempts(next.outcomes, next.audit, next.at);
      } catch (err) {
        const e = coerceError(err);
        const prior = w.recordFailure;
        w.recordFailure = { message: e.message, turns: (prior?.turns ?? 0) + 1 };
        if (prior?.message === e.message) this.opts.logger?.debug({ err: e, destination: w.policy.name, failedTurns: w.recordFailure.turns }, 'still cannot record delivery outcomes, the same way');
        else this.opts.logger?.error({ err: e, destination: w.policy.name }, `still cannot record delivery outcomes${adviceFor(err)} (repeats are logged at debug)`);
        return false;
      }
      w.unrecorded.shift();
    }
    if (w.recordFailure) {
      this.opts.logger?.info({ destination: w.policy.name, failedTurns: w.recordFailure.turns }, 'delivery outcomes recorded again');
      w.recordFailure = undefined;
    }
    return true;
  }

  private auditOf(items: readonly OutboxItem[], r: ItemResult, at: number, outcome: string): AuditRecord {
    const item = items.find((i) => i.id === r.id) as OutboxItem;
    const x = r.exchange;
    return {
      at,
      deliveryId: item.id,
      destination: item.destination,
      operation: item.operation,
      erpAssetId: item.erpAssetId,
      idempotencyKey: item.idempotencyKey,
      attempt: item.attempts + 1,
      latencyMs: Math.round(x?.latencyMs ?? 0),
      outcome,
      ...(x ? { method: x.method, url: this.redact(x.url) } : {}),
      ...(x?.requestBody !== undefined ? { requestBody: x.requestBody } : {}),
      ...(x?.status !== undefined ? { status: x.status } : {}),
      ...(x?.responseBody !== undefined ? { responseBody: this.redact(x.responseBody) } : {}),
      // A delivery done without its write says why where a failure's error goes (as a change by hand's note).
      ...(r.ok ? (r.note !== undefined ? { error: this.redact(r.note) } : {}) : { error: this.redact(`${r.error.code}: ${r.error.message}`) }),
    };
  }
}

/** `; what to do` about a store error (a full disk, a lock), as the ingest's log says it; '' when there is no advice. */
function adviceFor(err: unknown): string {
  const advice = storeErrorAdvice(storeErrorCode(err));
  return advice === undefined ? '' : `; ${advice}`;
}
