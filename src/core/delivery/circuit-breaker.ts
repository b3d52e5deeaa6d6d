/**
 * Circuit breaker per destination: after `failureThreshold` consecutive failed attempts the circuit
 * opens and nothing is sent for `openMs`; then one probe is let through (half-open). A successful
 * probe closes the circuit, a failed one opens it again. Pure: time is passed in.
 * @module
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitOptions {
  readonly failureThreshold: number;
  readonly openMs: number;
}

export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probeInFlight = false;
  /** Times the circuit has opened (for metrics). */
  opened = 0;

  constructor(private readonly options: CircuitOptions) {}

  current(now: number): CircuitState {
    if (this.state === 'open' && now - this.openedAt >= this.options.openMs) this.state = 'half-open';
    return this.state;
  }

  /** 0 when a request may go now; otherwise how long to wait, ms. Reserves the half-open probe. */
  acquire(now: number): number {
    const s = this.current(now);
    if (s === 'closed') return 0;
    if (s === 'open') return this.openedAt + this.options.openMs - now;
    if (this.probeInFlight) return Math.max(50, Math.floor(this.options.openMs / 10));
    this.probeInFlight = true;
    return 0;
  }

  onSuccess(): void {
    this.state = 'closed';
    this.failures = 0;
    this.probeInFlight = false;
  }

  onFailure(now: number): void {
    this.failures++;
    if (this.state === 'half-open' || this.failures >= this.options.failureThreshold) {
      if (this.state !== 'open') this.opened++;
      this.state = 'open';
      this.openedAt = now;
    }
    this.probeInFlight = false;
  }

  /** A request that neither succeeded nor failed (rate-limited, aborted) frees the probe slot. */
  onNeutral(): void {
    this.probeInFlight = false;
  }
}
