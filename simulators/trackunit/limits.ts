/**
 * The simulator's side of Trackunit's ISO export limits (reference/telematics.md §1.3): one
 * request per URL per 15 minutes plus a pool of 50 extra requests per URL, each available again
 * 30 days after use; per-second caps per customer (50 fleet pages, 500 single machines, 500 time
 * series), counted over any sliding second. Over a limit the request is refused with 429.
 * @module
 */

export type SimRequestClass = 'fleet' | 'equipment' | 'timeSeries';

export interface SimLimits {
  /** Refuse over-limit requests with 429. @default true */
  readonly enforce: boolean;
  readonly perUrlIntervalMs: number;
  readonly reserveSize: number;
  readonly reserveRefillMs: number;
  readonly perSecond: Readonly<Record<SimRequestClass, number>>;
}

export const TRACKUNIT_LIMITS: SimLimits = {
  enforce: true,
  perUrlIntervalMs: 15 * 60_000,
  reserveSize: 50,
  reserveRefillMs: 30 * 24 * 3_600_000,
  perSecond: { fleet: 50, equipment: 500, timeSeries: 500 },
};

export type LimitVerdict = { readonly ok: true; readonly usedReserve: boolean } | { readonly ok: false; readonly reason: 'per-second' | 'per-url' };

/** Limit bookkeeping for one customer. */
export class SimLimiter {
  private readonly urls = new Map<string, { lastAt: number | undefined; reserveUses: number[] }>();
  private readonly windows: Record<SimRequestClass, number[]> = { fleet: [], equipment: [], timeSeries: [] };
  private readonly heads: Record<SimRequestClass, number> = { fleet: 0, equipment: 0, timeSeries: 0 };

  constructor(private readonly limits: SimLimits) {}

  /** Admit or refuse one request to `key` at `now`; an admitted request is counted. */
  admit(cls: SimRequestClass, key: string, now: number): LimitVerdict {
    if (!this.limits.enforce) return { ok: true, usedReserve: false };
    const window = this.windows[cls];
    let head = this.heads[cls];
    while (head < window.length && window[head]! <= now - 1000) head++;
    if (head > 4096) {
      window.splice(0, head);
      head = 0;
    }
    this.heads[cls] = head;
    if (window.length - head >= this.limits.perSecond[cls]) return { ok: false, reason: 'per-second' };

    const entry = this.urls.get(key) ?? { lastAt: undefined, reserveUses: [] };
    let usedReserve = false;
    if (entry.lastAt !== undefined && now - entry.lastAt < this.limits.perUrlIntervalMs) {
      entry.reserveUses = entry.reserveUses.filter((t) => t > now - this.limits.reserveRefillMs);
      if (entry.reserveUses.length >= this.limits.reserveSize) return { ok: false, reason: 'per-url' };
      entry.reserveUses.push(now);
      usedReserve = true;
    } else {
      entry.lastAt = now;
    }
    this.urls.set(key, entry);
    window.push(now);
    return { ok: true, usedReserve };
  }

  /** Reserve requests left for `key` at `now`. */
  reserveLeft(key: string, now: number): number {
    const uses = this.urls.get(key)?.reserveUses.filter((t) => t > now - this.limits.reserveRefillMs).length ?? 0;
    return this.limits.reserveSize - uses;
  }
}
