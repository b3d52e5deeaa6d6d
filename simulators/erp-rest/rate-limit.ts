/**
 * The simulator's request budget: N requests per minute in a fixed window (the minute on the
 * clock) or a sliding one (the last 60 s), answered with 429 and `Retry-After` in seconds, the
 * way Dataverse and most API gateways do.
 * @module
 */

export type RateWindow = 'fixed' | 'sliding';

const WINDOW_MS = 60_000;

export class RequestRateLimiter {
  private windowStart = 0;
  private windowCount = 0;
  private readonly recent: number[] = [];

  constructor(
    private perMinute: number | undefined,
    private window: RateWindow,
    private readonly now: () => number,
  ) {}

  /** Change the budget; `undefined` removes it. Counting restarts. */
  configure(perMinute: number | undefined, window: RateWindow = this.window): void {
    this.perMinute = perMinute;
    this.window = window;
    this.windowStart = 0;
    this.windowCount = 0;
    this.recent.length = 0;
  }

  get limit(): number | undefined {
    return this.perMinute;
  }

  /** Admit one request, or say how many whole seconds until one would be admitted. */
  tryAcquire(): { admitted: true } | { admitted: false; retryAfterSeconds: number } {
    const limit = this.perMinute;
    if (limit === undefined) return { admitted: true };
    const now = this.now();
    if (this.window === 'fixed') {
      const start = Math.floor(now / WINDOW_MS) * WINDOW_MS;
      if (start !== this.windowStart) {
        this.windowStart = start;
        this.windowCount = 0;
      }
      if (this.windowCount < limit) {
        this.windowCount++;
        return { admitted: true };
      }
      return { admitted: false, retryAfterSeconds: Math.max(1, Math.ceil((start + WINDOW_MS - now) / 1000)) };
    }
    while (this.recent.length > 0 && (this.recent[0] ?? 0) <= now - WINDOW_MS) this.recent.shift();
    if (this.recent.length < limit) {
      this.recent.push(now);
      return { admitted: true };
    }
    const oldest = this.recent[0] ?? now;
    return { admitted: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1000)) };
  }
}
