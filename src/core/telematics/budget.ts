/**
 * Request budgets for telematics pulls, as pure decisions over a ledger. The adapter persists the
 * ledger (so a restart cannot forget what was spent) and sleeps when told to wait; nothing here
 * does I/O or reads the clock.
 *
 * Three budgets compose (Trackunit's ISO export has all three, reference/telematics.md §1.3, §4.1):
 * - per URL: one ordinary request per `minIntervalMs`, plus a reserve pool of extra requests that
 *   each come back `reserveRefillMs` after use, spent only when the caller asks for it; a 429
 *   cools the URL down;
 * - per second: a token bucket per request class, shared by every pull of one provider;
 * - per day: an optional cap on all requests of the account (Cat).
 * @module
 */

/** Per-URL limits of one provider. */
export interface UrlBudgetPolicy {
  /** Least time between two ordinary requests to one URL; 0 = unlimited. */
  readonly minIntervalMs: number;
  /** Extra requests per URL beyond the ordinary one; 0 = no reserve. */
  readonly reserveSize: number;
  /** A reserve request becomes available again this long after it was spent. */
  readonly reserveRefillMs: number;
  /** Reserve requests never spent, kept for emergencies. @default 0 */
  readonly reserveKeep?: number;
}

/** What the ledger remembers about one URL (budget key). */
export interface UrlLedgerEntry {
  /** When the last ordinary request was sent (epoch ms). */
  readonly lastAt?: number;
  /** When reserve requests were spent, oldest first; entries older than the refill time are dropped. */
  readonly reserveUses: readonly number[];
  /** No request before this time (set by a 429). */
  readonly cooldownUntil?: number;
}

export const EMPTY_LEDGER_ENTRY: UrlLedgerEntry = { reserveUses: [] };

export type UrlDecision =
  | { readonly action: 'fetch'; readonly usesReserve: false }
  | { readonly action: 'fetch'; readonly usesReserve: true; readonly reserveLeftAfter: number }
  | {
      readonly action: 'wait';
      /** Earliest time an ordinary request is allowed. */
      readonly until: number;
      readonly reason: 'interval' | 'cooldown';
      /** Reserve requests that could be spent now (0 during a cooldown, which the reserve cannot skip). */
      readonly reserveLeft: number;
    };

function liveReserveUses(entry: UrlLedgerEntry, now: number, policy: UrlBudgetPolicy): number[] {
  return entry.reserveUses.filter((t) => t > now - policy.reserveRefillMs);
}

/** Reserve requests that may be spent on this URL at `now` (after the kept ones). */
export function reserveLeft(entry: UrlLedgerEntry, now: number, policy: UrlBudgetPolicy): number {
  const spendable = policy.reserveSize - (policy.reserveKeep ?? 0) - liveReserveUses(entry, now, policy).length;
  return Math.max(0, spendable);
}

/** When the next spent reserve request comes back, or undefined when none is spent. */
export function nextReserveRefill(entry: UrlLedgerEntry, now: number, policy: UrlBudgetPolicy): number | undefined {
  const first = liveReserveUses(entry, now, policy)[0];
  return first === undefined ? undefined : first + policy.reserveRefillMs;
}

/**
 * May this URL be requested at `now`? Ordinary slot first; the reserve only when `useReserve` and
 * some is left; a cooldown after a 429 is never skipped.
 */
export function decideUrl(entry: UrlLedgerEntry, now: number, policy: UrlBudgetPolicy, opts: { useReserve: boolean }): UrlDecision {
  if (entry.cooldownUntil !== undefined && entry.cooldownUntil > now) {
    return { action: 'wait', until: entry.cooldownUntil, reason: 'cooldown', reserveLeft: 0 };
  }
  if (entry.lastAt === undefined || policy.minIntervalMs <= 0 || now - entry.lastAt >= policy.minIntervalMs) {
    return { action: 'fetch', usesReserve: false };
  }
  const left = reserveLeft(entry, now, policy);
  if (opts.useReserve && left > 0) return { action: 'fetch', usesReserve: true, reserveLeftAfter: left - 1 };
  return { action: 'wait', until: entry.lastAt + policy.minIntervalMs, reason: 'interval', reserveLeft: left };
}

/** The ledger entry after a request was sent at `now` (ordinary or from the reserve). */
export function recordFetch(entry: UrlLedgerEntry, now: number, policy: UrlBudgetPolicy, usesReserve: boolean): UrlLedgerEntry {
  const uses = liveReserveUses(entry, now, policy);
  if (usesReserve) return { ...entry, reserveUses: [...uses, now] };
  return { ...entry, lastAt: now, reserveUses: uses };
}

/** The ledger entry after a 429: no request to this URL before `now + cooldownMs`. */
export function recordRateLimited(entry: UrlLedgerEntry, now: number, cooldownMs: number): UrlLedgerEntry {
  const until = now + Math.max(0, cooldownMs);
  return { ...entry, cooldownUntil: Math.max(until, entry.cooldownUntil ?? 0) };
}

/** True when the entry holds nothing that still limits a request at `now` (safe to forget). */
export function isLedgerEntryIdle(entry: UrlLedgerEntry, now: number, policy: UrlBudgetPolicy): boolean {
  const intervalOver = entry.lastAt === undefined || now - entry.lastAt >= policy.minIntervalMs;
  const cooled = entry.cooldownUntil === undefined || entry.cooldownUntil <= now;
  return intervalOver && cooled && liveReserveUses(entry, now, policy).length === 0;
}

/** Compact JSON for the store. */
export function serializeLedgerEntry(entry: UrlLedgerEntry): string {
  return JSON.stringify({ l: entry.lastAt, r: entry.reserveUses, c: entry.cooldownUntil });
}

/**
 * Read a stored entry. A damaged value yields a fully spent entry at `now` (wait one interval and
 * spend no reserve) rather than an empty one: forgetting spent budget is what the ledger prevents.
 */
export function parseLedgerEntry(text: string | undefined, now: number, policy: UrlBudgetPolicy): UrlLedgerEntry {
  if (text === undefined) return EMPTY_LEDGER_ENTRY;
  try {
    const raw = JSON.parse(text) as { l?: unknown; r?: unknown; c?: unknown };
    const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    const uses = Array.isArray(raw.r) ? raw.r.map(num).filter((v): v is number => v !== undefined) : undefined;
    if (uses === undefined) throw new Error('no reserve list');
    const lastAt = num(raw.l);
    const cooldownUntil = num(raw.c);
    return {
      reserveUses: uses.sort((a, b) => a - b),
      ...(lastAt === undefined ? {} : { lastAt }),
      ...(cooldownUntil === undefined ? {} : { cooldownUntil }),
    };
  } catch {
    return { lastAt: now, reserveUses: Array.from({ length: policy.reserveSize }, () => now) };
  }
}

// ---------------------------------------------------------------------------------------------
// Per-second caps: a token bucket in its GCRA form (one "theoretical arrival time"), which hands
// out future slots in order, so concurrent callers queue up instead of all retrying at once. Slots
// are exact multiples of 1000/rate, so rounding can never squeeze rate+1 requests into a second.

export interface TokenBucketState {
  /** Theoretical arrival time of the next request at the sustained rate (epoch ms, fractional). */
  readonly nextSlotAt: number;
}

export interface TokenBucketPolicy {
  /** Sustained rate, requests per second. */
  readonly ratePerSecond: number;
  /**
   * Requests that may go out back to back after an idle period. 1 spaces requests evenly, which a
   * server counting requests in any sliding second always accepts. @default 1
   */
  readonly burst?: number;
}

/**
 * Take one slot at `now`. Returns the new state and how long the caller must wait before sending
 * (0 = now; may be fractional). The slot is promised either way, so the caller must send after
 * waiting.
 */
export function takeToken(state: TokenBucketState | undefined, now: number, policy: TokenBucketPolicy): { state: TokenBucketState; waitMs: number } {
  const rate = policy.ratePerSecond;
  if (!(rate > 0) || !Number.isFinite(rate)) return { state: { nextSlotAt: now }, waitMs: 0 };
  // A nanosecond of slack per slot keeps float rounding from ever placing rate+1 slots in 1000 ms.
  const spacing = 1000 / rate + 1e-6;
  const tolerance = (Math.max(1, Math.floor(policy.burst ?? 1)) - 1) * spacing;
  const tat = state?.nextSlotAt ?? now;
  const sendAt = Math.max(now, tat - tolerance);
  return { state: { nextSlotAt: Math.max(tat, sendAt) + spacing }, waitMs: sendAt - now };
}

// ---------------------------------------------------------------------------------------------
// Daily cap (Cat: 50,000 requests per client id, reset at 00:00 GMT).

export interface DailyCount {
  /** UTC day, `YYYY-MM-DD`. */
  readonly day: string;
  readonly count: number;
}

/** UTC calendar day of an epoch-ms time. */
export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** Start of the next UTC day after `now`. */
export function nextUtcMidnight(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

/** May one more request go out today? `cap` 0 = no cap. */
export function decideDaily(count: DailyCount | undefined, now: number, cap: number): { ok: true } | { ok: false; until: number } {
  if (cap <= 0) return { ok: true };
  const today = utcDay(now);
  const used = count?.day === today ? count.count : 0;
  return used < cap ? { ok: true } : { ok: false, until: nextUtcMidnight(now) };
}

/** The count after one more request at `now`. */
export function recordDaily(count: DailyCount | undefined, now: number): DailyCount {
  const today = utcDay(now);
  return { day: today, count: count?.day === today ? count.count + 1 : 1 };
}
