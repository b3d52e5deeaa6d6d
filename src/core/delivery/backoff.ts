/**
 * Retry timing: exponential backoff with full jitter (AWS architecture blog's "Full Jitter"),
 * and parsing of `Retry-After` in both of its forms (RFC 9110 §10.2.3).
 * @module
 */

export interface BackoffPolicy {
  /** First retry's upper bound. */
  readonly baseDelayMs: number;
  /** Cap on any single delay. */
  readonly maxDelayMs: number;
}

/**
 * Delay before retry number `attempt` (1 = first retry): uniform in [0, min(cap, base·2^(attempt-1))].
 * `random` is injected so tests are deterministic.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * exp);
}

/**
 * `Retry-After` is either delay-seconds or an HTTP-date. Returns milliseconds from `now`, or
 * undefined when absent or unparseable. A date in the past means "now" (0).
 */
export function parseRetryAfter(header: string | null | undefined, now: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const trimmed = header.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
