/**
 * Per-destination limiter: a token bucket for the request rate, a concurrency cap, and a pause
 * that a 429/503 sets for the whole destination. In the embedded mode every worker of the process
 * shares one instance; the scaled mode substitutes a store-backed implementation of the same shape.
 * @module
 */
export interface LimiterOptions {
  readonly requestsPerMinute: number;
  readonly maxConcurrency: number;
  /** Bucket size: how many requests may go back to back after an idle spell. @default rate per second, at least 1 */
  readonly burst?: number;
}

export class DestinationLimiter {
  private tokens: number;
  private last: number;
  private readonly ratePerMs: number;
  private readonly capacity: number;
  private pausedUntil = 0;
  inFlight = 0;
  /** Times a 429/503 paused this destination (for metrics and status). */
  pauses = 0;

  constructor(
    private readonly options: LimiterOptions,
    now: number,
  ) {
    this.ratePerMs = options.requestsPerMinute / 60_000;
    this.capacity = options.burst ?? Math.max(1, Math.floor(options.requestsPerMinute / 60));
    this.tokens = this.capacity;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      // Nothing accrues during a 429 pause: the bucket it left at one token refills from its end.
      const from = Math.max(this.last, Math.min(this.pausedUntil, now));
      this.tokens = Math.min(this.capacity, this.tokens + (now - from) * this.ratePerMs);
      this.last = now;
    }
  }

  /** 0 if a request may start now (and takes a token and a slot); else ms to wait. `Infinity` = wait for a slot. */
  tryAcquire(now: number): number {
    if (now < this.pausedUntil) return this.pausedUntil - now;
    if (this.inFlight >= this.options.maxConcurrency) return Infinity;
    this.refill(now);
    if (this.tokens < 1) return Math.ceil((1 - this.tokens) / this.ratePerMs);
    this.tokens -= 1;
    this.inFlight++;
    return 0;
  }

  /**
   * 0 if one more request of a call already holding a slot may go now (takes a token, no slot);
   * else ms to wait (the pause, or the token refill).
   */
  tryTake(now: number): number {
    if (now < this.pausedUntil) return this.pausedUntil - now;
    this.refill(now);
    if (this.tokens < 1) return Math.ceil((1 - this.tokens) / this.ratePerMs);
    this.tokens -= 1;
    return 0;
  }

  /** Give back a token taken for a request that was not sent after all. */
  refund(): void {
    this.tokens = Math.min(this.capacity, this.tokens + 1);
  }

  release(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  /** Pause the whole destination until `until` (never shortens an existing pause). */
  pause(until: number): void {
    if (until > this.pausedUntil) {
      this.pausedUntil = until;
      this.pauses++;
    }
    // Nothing may burst out the moment the pause ends.
    this.tokens = Math.min(this.tokens, 1);
  }

  pausedFor(now: number): number {
    return Math.max(0, this.pausedUntil - now);
  }
}
