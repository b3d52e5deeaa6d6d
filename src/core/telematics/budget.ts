/**
 * Request budgets for telematics pulls, as pure decisions over a ledger. The adapter persists the
 * ledger (so a restart cannot forget what was spent) and sleeps when told to wait; nothing here
 * does I/O or reads the clock.
 *
 * Three budgets compose (Trackunit's ISO export has all three, reference/telematics.md §1.3, §4.1):
 * - per URL: one ordinary request per `minIntervalMs`, plus a reserve pool of extra requests that
 *   each come back `reserveRefillMs` after use, spent only when the caller asks for it; a 429
 *   cools the URL down;
 * - per second: a token bucket per request class (tokens return one window after use), shared by
 *   every pull of one provider;
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
// Per-second caps: a token bucket whose tokens come back one window after they were spent (a
// sliding-window log). Over any window at most `limit` requests go out, which is exactly what a
// server counting requests in any sliding second checks; a request that went out late (a busy
// event loop, a GC pause) is made up for by the next ones instead of being lost, as it would be
// with an evenly spaced schedule. Slots are handed out in the future, so concurrent callers queue.

export interface RateWindowState {
  /** Send times of the last `limit` requests, oldest first (epoch ms). */
  readonly sent: readonly number[];
}

export interface RateWindowPolicy {
  /** Requests per second the provider allows. */
  readonly ratePerSecond: number;
  /**
   * Added to the window, so requests that a network delay moves closer together still fit the
   * provider's second. @default 50
   */
  readonly guardMs?: number;
}

/** The window and count a rate becomes: `limit` requests per `windowMs` (windows of at least 1 s). */
export function rateWindow(policy: RateWindowPolicy): { limit: number; windowMs: number; minSpacingMs: number } {
  const rate = policy.ratePerSecond;
  const limit = Math.max(1, Math.floor(rate));
  const windowMs = (limit / rate) * 1000 + (policy.guardMs ?? 50);
  // Catching up may go at most twice the sustained pace, never in one burst.
  return { limit, windowMs, minSpacingMs: windowMs / limit / 2 };
}

/**
 * Take the next slot at `now`. Returns the new state and how long the caller must wait before
 * sending (0 = now). The slot is promised either way, so the caller must send after waiting.
 */
export function takeRateSlot(state: RateWindowState | undefined, now: number, policy: RateWindowPolicy): { state: RateWindowState; waitMs: number } {
  if (!(policy.ratePerSecond > 0) || !Number.isFinite(policy.ratePerSecond)) return { state: { sent: [] }, waitMs: 0 };
  const { limit, windowMs, minSpacingMs } = rateWindow(policy);
  const sent = state?.sent ?? [];
  const last = sent.at(-1);
  let sendAt = now;
  if (last !== undefined) sendAt = Math.max(sendAt, last + minSpacingMs);
  // The request `limit` places back must have left the window.
  if (sent.length >= limit) sendAt = Math.max(sendAt, (sent[sent.length - limit] as number) + windowMs);
  // Whole milliseconds, rounded up: a fractional spacing (1000 / 6 / 2 ms) must not land a
  // request a rounding error inside the window it has to wait out.
  sendAt = Math.ceil(sendAt);
  const next = sent.length >= limit ? [...sent.slice(sent.length - limit + 1), sendAt] : [...sent, sendAt];
  return { state: { sent: next }, waitMs: sendAt - now };
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
