import { describe, expect, it } from 'vitest';
import { PermanentError, RateLimitedError, RetryableError } from '../../core/errors/errors.js';
import { CallPacing } from './call-pacing.js';

function budget(opts: { reject?: boolean } = {}) {
  const taken: number[] = [];
  return {
    taken,
    next: (_signal: AbortSignal) => {
      taken.push(taken.length);
      return opts.reject ? Promise.reject(new Error('the service is stopping')) : Promise.resolve();
    },
  };
}

describe('CallPacing', () => {
  it('lets the first request of a call go at once and waits for the budget before each further one', async () => {
    const b = budget();
    const pacing = new CallPacing({ signal: new AbortController().signal, budget: b });
    expect(await pacing.next()).toBeUndefined();
    expect(b.taken).toHaveLength(0);
    expect(await pacing.next()).toBeUndefined();
    expect(await pacing.next()).toBeUndefined();
    expect(b.taken).toHaveLength(2);
  });

  it('after a 429 no further request goes: each answers with that 429, and the budget is not asked', async () => {
    const b = budget();
    const pacing = new CallPacing({ signal: new AbortController().signal, budget: b });
    await pacing.next();
    const throttled = new RateLimitedError('POST /x → 429', 7000);
    pacing.stop(new PermanentError('POST /y → 400 rejected as invalid', 400));
    expect(pacing.stoppedBy).toBeUndefined();
    pacing.stop(throttled);
    pacing.stop(new RateLimitedError('a later one', 1000));
    expect(await pacing.next()).toBe(throttled);
    expect(pacing.stoppedBy).toBe(throttled);
    expect(b.taken).toHaveLength(0);
  });

  it('a wait cut short (a shutdown) is a retryable error naming why, not a throw', async () => {
    const pacing = new CallPacing({ signal: new AbortController().signal, budget: budget({ reject: true }) });
    await pacing.next();
    const error = await pacing.next();
    expect(error).toBeInstanceOf(RetryableError);
    expect(error?.message).toBe('stopped while waiting for the rate limit: the service is stopping');
  });

  it('without a budget (tests, tools run unlimited) every request goes', async () => {
    const pacing = new CallPacing({ signal: new AbortController().signal });
    for (let i = 0; i < 3; i++) expect(await pacing.next()).toBeUndefined();
  });
});
