/**
 * The request-budget scheduler: decides when each URL may be fetched, waits instead of getting a
 * 429, and remembers what was spent in the store so a restart cannot break the budget. Pure
 * decisions live in `core/telematics/budget.ts`; this adapter persists the per-URL ledger
 * (`kvSet` before the request goes out, so a crash can only over-count, never under-count), sleeps,
 * and keeps the per-second windows that all pulls of one provider share (each request counted from
 * its answer's arrival, the latest moment the provider can have counted it).
 *
 * Reserve requests are spent only when the caller passes `useReserve` (a user asked for it).
 * @module
 */
import { AssetbridgeError } from '../../../core/errors/errors.js';
import { createRedactor } from '../../http/redact.js';
import {
  decideDaily,
  decideUrl,
  nextReserveRefill,
  parseLedgerEntry,
  recordDaily,
  recordFetch,
  recordRateLimited,
  reserveLeft,
  serializeLedgerEntry,
  takeRateSlot,
  type DailyCount,
  type UrlBudgetPolicy,
  type UrlLedgerEntry,
} from '../../../core/telematics/budget.js';
import type { Clock } from '../../../ports/clock.js';
import { systemClock } from '../../../ports/clock.js';
import type { Store } from '../../../ports/store.js';
import type { RequestClass, VendorProfile } from '../vendor-profiles.js';

/** The slice of the store the budget needs. */
export type BudgetStore = Pick<Store, 'kvGet' | 'kvSet' | 'kvList'>;

/** Store namespaces (one per provider account). */
export const budgetNamespace = (provider: string): string => `telematics-budget:${provider}`;
const dailyNamespace = (provider: string): string => `telematics-daily:${provider}`;

/** A wait the budget imposes, reported before sleeping (progress bars, logs). */
export interface BudgetWait {
  readonly key: string;
  readonly until: number;
  readonly reason: 'interval' | 'cooldown' | 'daily-cap';
  /** Reserve requests that could be spent instead (when the user allows it). */
  readonly reserveLeft: number;
}

export interface AcquireOptions {
  /** Spend a reserve request when the ordinary slot is taken. @default false */
  readonly useReserve?: boolean;
  /** Longest acceptable wait for this URL; longer waits throw {@link BudgetWaitTooLongError}. @default Infinity */
  readonly maxWaitMs?: number;
  readonly signal?: AbortSignal;
  /** Called before every wait longer than a second. */
  readonly onWait?: (wait: BudgetWait) => void;
}

export interface BudgetGrant {
  readonly usedReserve: boolean;
  /** Reserve requests left for this key after this grant. */
  readonly reserveLeft: number;
  /** The per-second slot; pass the grant to {@link RequestBudget.completed} when the answer arrived. */
  readonly ticket?: RateTicket;
}

/** The budget would make this request wait longer than the caller accepts. */
export class BudgetWaitTooLongError extends AssetbridgeError {
  readonly code = 'BUDGET_WAIT';
  constructor(readonly wait: BudgetWait) {
    const at = new Date(wait.until).toISOString();
    const why =
      wait.reason === 'cooldown'
        ? 'the provider answered 429 and the URL is cooling down'
        : wait.reason === 'daily-cap'
          ? "the provider's daily request cap is used up"
          : 'it was already requested within the per-URL interval';
    const reserve = wait.reason === 'interval' && wait.reserveLeft > 0 ? ` or spend one of ${wait.reserveLeft} reserve requests with --use-reserve` : '';
    super(`${createRedactor().url(wait.key)} may not be requested before ${at}: ${why}; run again after that${reserve}`);
  }
}

/** One request's place in its class's window; see {@link ProviderRateLimiter.done}. */
export interface RateTicket {
  readonly cls: RequestClass;
  /** When the request may be counted as sent: its slot, then its answer's arrival. */
  at: number;
  done: boolean;
}

/**
 * Per-second caps of one provider account, shared by every pull in the process: per request class,
 * at most `rate` requests in any second plus a guard (see `takeRateSlot`). A request counts from
 * the moment its answer arrived, the latest the server can have counted it, so server-side delays
 * (a cold start, a pause) can never squeeze one request too many into the server's second. While
 * a request is still under way it counts as "now".
 */
export class ProviderRateLimiter {
  private readonly windows = new Map<RequestClass, RateTicket[]>();

  /**
   * @param perSecond requests per second per class
   * @param guardMs added to each one-second window (timer granularity) @default 10
   */
  constructor(
    private readonly perSecond: Readonly<Record<RequestClass, number>>,
    private readonly guardMs = 10,
  ) {}

  /** Promise the next slot of `cls`; wait `waitMs`, send, then call {@link done} with the ticket. */
  take(cls: RequestClass, now: number): { waitMs: number; ticket: RateTicket } {
    const counted = (t: RateTicket): number => (t.done ? t.at : Math.max(t.at, now));
    // Answers arrive out of order: the window needs the times sorted.
    const tickets = [...(this.windows.get(cls) ?? [])].sort((a, b) => counted(a) - counted(b));
    const sent = tickets.map(counted);
    const { state, waitMs } = takeRateSlot({ sent }, now, { ratePerSecond: this.perSecond[cls], guardMs: this.guardMs });
    const ticket: RateTicket = { cls, at: now + waitMs, done: false };
    // Keep as many tickets as the pure window kept (the newest), plus the new one.
    this.windows.set(cls, [...tickets.slice(tickets.length - (state.sent.length - 1)), ticket].slice(-Math.max(1, state.sent.length)));
    return { waitMs, ticket };
  }

  /** The request's answer (or failure) arrived at `at`. */
  done(ticket: RateTicket, at: number): void {
    ticket.at = Math.max(ticket.at, at);
    ticket.done = true;
  }

  /** After a 429: no slot of `cls` for `pauseMs`. */
  pause(cls: RequestClass, now: number, pauseMs: number): void {
    const tickets = this.windows.get(cls) ?? [];
    // A ticket far enough ahead blocks the class until then (it ages out like any other).
    this.windows.set(cls, [...tickets, { cls, at: now + pauseMs, done: true }]);
  }
}

const sharedLimiters = new Map<string, ProviderRateLimiter>();

/**
 * The process-wide limiter for a provider account, created on first use with the profile's
 * per-second caps.
 */
export function sharedRateLimiter(provider: string, profile: VendorProfile, guardMs?: number): ProviderRateLimiter {
  let limiter = sharedLimiters.get(provider);
  if (!limiter) {
    limiter = new ProviderRateLimiter(profile.perSecond, guardMs);
    sharedLimiters.set(provider, limiter);
  }
  return limiter;
}

export interface RequestBudgetOptions {
  readonly store: BudgetStore;
  readonly provider: string;
  readonly profile: VendorProfile;
  /** Reserve requests per URL never spent. @default 0 */
  readonly reserveKeep?: number;
  /** Per-second limiter; default the process-wide one for `provider`. */
  readonly limiter?: ProviderRateLimiter;
  readonly clock?: Clock;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** One URL's budget as the CLI shows it. */
export interface BudgetStatusRow {
  readonly key: string;
  /** The last ordinary request (the per-URL interval counts from it). */
  readonly lastAt?: number;
  /** The last reserve request, when one is still out (not yet refilled). */
  readonly lastReserveAt?: number;
  readonly nextOrdinaryAt?: number;
  readonly reserveLeft: number;
  readonly nextReserveRefillAt?: number;
  readonly cooldownUntil?: number;
}

/** Sleep that an abort signal cuts short (rejecting with the signal's reason). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The scheduler for one provider account; see the module doc. */
export class RequestBudget {
  readonly policy: UrlBudgetPolicy;
  readonly limiter: ProviderRateLimiter;
  private readonly clock: Clock;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: RequestBudgetOptions) {
    const p = options.profile;
    this.policy = { minIntervalMs: p.perUrlIntervalMs, reserveSize: p.reserve.size, reserveRefillMs: p.reserve.refillMs, reserveKeep: options.reserveKeep ?? 0 };
    this.limiter = options.limiter ?? sharedRateLimiter(options.provider, p);
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? abortableSleep;
  }

  /**
   * Wait until `key` may be requested (per URL, per day, per second), record the request in the
   * store, and return. The caller must then send exactly one request.
   */
  async acquire(key: string, cls: RequestClass, opts: AcquireOptions = {}): Promise<BudgetGrant> {
    const grant = await this.exclusive(key, () => this.acquireUrl(key, opts));
    await this.exclusive('\u0000daily', () => this.acquireDaily(key, opts));
    const { waitMs, ticket } = this.limiter.take(cls, this.clock.now());
    try {
      if (waitMs > 0) {
        await this.sleep(waitMs, opts.signal);
        // The provider counts its per-URL interval from when the request arrives: after a 429
        // pause the per-second wait can be long, so the ordinary slot is moved to the send time
        // (not for the usual few ms of spacing, which would cost a store write per page).
        if (!grant.usedReserve && waitMs >= 1000) await this.exclusive(key, () => this.movedToSendTime(key));
      }
    } catch (err) {
      this.limiter.done(ticket, this.clock.now());
      throw err;
    }
    return { ...grant, ticket };
  }

  /**
   * Throws {@link BudgetWaitTooLongError} when `key` could not be requested within `maxWaitMs`
   * (per URL or per day), without recording anything: lets a caller that will not wait skip what
   * would precede the request (minting a token, which providers limit too).
   */
  async ensureAffordable(key: string, opts: AcquireOptions = {}): Promise<void> {
    const maxWaitMs = opts.maxWaitMs ?? Number.POSITIVE_INFINITY;
    if (maxWaitMs === Number.POSITIVE_INFINITY) return;
    const now = this.clock.now();
    const decision = decideUrl(await this.load(key, now), now, this.policy, { useReserve: opts.useReserve === true });
    if (decision.action !== 'fetch' && decision.until - now > maxWaitMs) throw new BudgetWaitTooLongError({ key, until: decision.until, reason: decision.reason, reserveLeft: decision.reserveLeft });
    const cap = this.options.profile.dailyRequestCap;
    if (cap <= 0) return;
    const stored = await this.options.store.kvGet(dailyNamespace(this.options.provider), 'count');
    const daily = decideDaily(stored === undefined ? undefined : (JSON.parse(stored) as DailyCount), now, cap);
    if (!daily.ok && daily.until - now > maxWaitMs) throw new BudgetWaitTooLongError({ key, until: daily.until, reason: 'daily-cap', reserveLeft: 0 });
  }

  /** The ledger's last ordinary request of `key` is now (never earlier than recorded). */
  private async movedToSendTime(key: string): Promise<void> {
    const now = this.clock.now();
    const entry = await this.load(key, now);
    if (entry.lastAt !== undefined && entry.lastAt < now) await this.save(key, { ...entry, lastAt: now });
  }

  /** The request of `grant` got its answer (or failed): count it from now in the per-second window. */
  completed(grant: BudgetGrant): void {
    if (grant.ticket) this.limiter.done(grant.ticket, this.clock.now());
  }

  /** The provider answered 429 for `key`: cool the URL down and pause its class for a second. */
  async rateLimited(key: string, cls: RequestClass, retryAfterMs?: number): Promise<void> {
    const now = this.clock.now();
    this.limiter.pause(cls, now, Math.min(retryAfterMs ?? 1000, 60_000));
    await this.exclusive(key, async () => {
      const entry = await this.load(key, now);
      await this.save(key, recordRateLimited(entry, now, retryAfterMs ?? this.options.profile.rateLimitCooldownMs));
    });
  }

  /** Every URL the ledger remembers, with its next ordinary slot and reserve. */
  async status(): Promise<BudgetStatusRow[]> {
    const now = this.clock.now();
    const rows = await this.options.store.kvList(budgetNamespace(this.options.provider));
    const byKey = (a: { key: string }, b: { key: string }): number => a.key.localeCompare(b.key, 'en', { numeric: true });
    return [...rows].sort(byKey).map(({ key, value }) => {
      const entry = parseLedgerEntry(value, now, this.policy);
      const next = entry.lastAt === undefined ? undefined : entry.lastAt + this.policy.minIntervalMs;
      const refill = nextReserveRefill(entry, now, this.policy);
      const lastReserveAt = entry.reserveUses.filter((t) => t > now - this.policy.reserveRefillMs).at(-1);
      return {
        key,
        ...(entry.lastAt !== undefined ? { lastAt: entry.lastAt } : {}),
        ...(lastReserveAt !== undefined ? { lastReserveAt } : {}),
        ...(next !== undefined && next > now ? { nextOrdinaryAt: next } : {}),
        reserveLeft: reserveLeft(entry, now, this.policy),
        ...(refill !== undefined ? { nextReserveRefillAt: refill } : {}),
        ...(entry.cooldownUntil !== undefined && entry.cooldownUntil > now ? { cooldownUntil: entry.cooldownUntil } : {}),
      };
    });
  }

  private async acquireUrl(key: string, opts: AcquireOptions): Promise<BudgetGrant> {
    for (;;) {
      const now = this.clock.now();
      const entry = await this.load(key, now);
      const decision = decideUrl(entry, now, this.policy, { useReserve: opts.useReserve === true });
      if (decision.action === 'fetch') {
        await this.save(key, recordFetch(entry, now, this.policy, decision.usesReserve));
        return {
          usedReserve: decision.usesReserve,
          reserveLeft: decision.usesReserve ? decision.reserveLeftAfter : reserveLeft(entry, now, this.policy),
        };
      }
      await this.waitFor({ key, until: decision.until, reason: decision.reason, reserveLeft: decision.reserveLeft }, opts);
    }
  }

  private async acquireDaily(key: string, opts: AcquireOptions): Promise<void> {
    const cap = this.options.profile.dailyRequestCap;
    if (cap <= 0) return;
    const ns = dailyNamespace(this.options.provider);
    for (;;) {
      const now = this.clock.now();
      const stored = await this.options.store.kvGet(ns, 'count');
      const count = stored === undefined ? undefined : (JSON.parse(stored) as DailyCount);
      const decision = decideDaily(count, now, cap);
      if (decision.ok) {
        await this.options.store.kvSet(ns, 'count', JSON.stringify(recordDaily(count, now)));
        return;
      }
      await this.waitFor({ key, until: decision.until, reason: 'daily-cap', reserveLeft: 0 }, opts);
    }
  }

  private async waitFor(wait: BudgetWait, opts: AcquireOptions): Promise<void> {
    const ms = wait.until - this.clock.now();
    if (ms > (opts.maxWaitMs ?? Number.POSITIVE_INFINITY)) throw new BudgetWaitTooLongError(wait);
    if (ms > 1000) opts.onWait?.(wait);
    await this.sleep(Math.max(1, ms), opts.signal);
  }

  private async load(key: string, now: number): Promise<UrlLedgerEntry> {
    return parseLedgerEntry(await this.options.store.kvGet(budgetNamespace(this.options.provider), key), now, this.policy);
  }

  private save(key: string, entry: UrlLedgerEntry): Promise<void> {
    return this.options.store.kvSet(budgetNamespace(this.options.provider), key, serializeLedgerEntry(entry));
  }

  /** Run `fn` with no other `fn` for the same key in flight (this process). */
  private async exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    }
  }
}
