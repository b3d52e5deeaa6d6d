/**
 * The pacing every connector owes the destination's limits within one `send` call (invariant 4):
 * the caller took one request's worth before the call, so each further request (a lookup before a
 * create, a second batch, another page) waits for `ctx.budget`; and after a 429 (or a throttling
 * 503) to any request of the call, no further request goes: every item not yet answered shares it.
 * A connector asks {@link CallPacing.next} before each request and reports a throttled answer to
 * {@link CallPacing.stop}.
 * @module
 */
import { RateLimitedError, RetryableError, coerceError, type DeliveryError } from '../../core/errors/errors.js';
import type { SendContext } from '../../ports/connector.js';

export class CallPacing {
  private sent = 0;
  private throttled: RateLimitedError | undefined;

  constructor(private readonly ctx: Pick<SendContext, 'signal' | 'budget'>) {}

  /**
   * Before each request of the call: undefined when it may go now (the first at once, a further one
   * once the budget gives a request), else the error to answer with instead of sending it: the
   * call's 429, or a retryable error when the wait was cut short (a shutdown).
   */
  async next(): Promise<DeliveryError | undefined> {
    if (this.throttled) return this.throttled;
    if (this.sent++ > 0 && this.ctx.budget) {
      try {
        await this.ctx.budget.next(this.ctx.signal);
      } catch (err) {
        return new RetryableError(`stopped while waiting for the rate limit: ${coerceError(err).message}`);
      }
    }
    return undefined;
  }

  /**
   * An answer of this call (or one inside it, a batch's sub-request) said the ERP throttles this
   * caller: no further request of the call goes. Takes any error, so a connector can pass each it got.
   */
  stop(error: DeliveryError): void {
    if (error instanceof RateLimitedError) this.throttled ??= error;
  }

  /** The 429 that stopped the call, if one did. */
  get stoppedBy(): RateLimitedError | undefined {
    return this.throttled;
  }
}
