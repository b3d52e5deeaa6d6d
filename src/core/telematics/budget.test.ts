import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_LEDGER_ENTRY,
  decideDaily,
  decideUrl,
  isLedgerEntryIdle,
  nextReserveRefill,
  parseLedgerEntry,
  recordDaily,
  recordFetch,
  recordRateLimited,
  reserveLeft,
  serializeLedgerEntry,
  takeToken,
  type UrlBudgetPolicy,
  type UrlLedgerEntry,
} from './budget.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const trackunit: UrlBudgetPolicy = { minIntervalMs: 15 * MIN, reserveSize: 50, reserveRefillMs: 30 * DAY };
const T0 = Date.UTC(2025, 2, 4, 3, 0, 0);

describe('per-URL budget', () => {
  it('allows the first request and then makes the URL wait one interval', () => {
    expect(decideUrl(EMPTY_LEDGER_ENTRY, T0, trackunit, { useReserve: false })).toEqual({ action: 'fetch', usesReserve: false });
    const after = recordFetch(EMPTY_LEDGER_ENTRY, T0, trackunit, false);
    expect(decideUrl(after, T0 + 5 * MIN, trackunit, { useReserve: false })).toEqual({
      action: 'wait',
      until: T0 + 15 * MIN,
      reason: 'interval',
      reserveLeft: 50,
    });
    expect(decideUrl(after, T0 + 15 * MIN, trackunit, { useReserve: false }).action).toBe('fetch');
  });

  it('spends the reserve only when asked, and keeps the kept part', () => {
    let entry = recordFetch(EMPTY_LEDGER_ENTRY, T0, trackunit, false);
    const policy = { ...trackunit, reserveKeep: 48 };
    const first = decideUrl(entry, T0 + MIN, policy, { useReserve: true });
    expect(first).toEqual({ action: 'fetch', usesReserve: true, reserveLeftAfter: 1 });
    entry = recordFetch(entry, T0 + MIN, policy, true);
    entry = recordFetch(entry, T0 + 2 * MIN, policy, true);
    expect(reserveLeft(entry, T0 + 3 * MIN, policy)).toBe(0);
    expect(decideUrl(entry, T0 + 3 * MIN, policy, { useReserve: true })).toMatchObject({ action: 'wait', reason: 'interval' });
    // A reserve use does not move the ordinary slot.
    expect(entry.lastAt).toBe(T0);
  });

  it('refills each reserve request 30 days after it was spent', () => {
    let entry = recordFetch(EMPTY_LEDGER_ENTRY, T0, trackunit, false);
    entry = recordFetch(entry, T0 + MIN, trackunit, true);
    entry = recordFetch(entry, T0 + 2 * MIN, trackunit, true);
    expect(reserveLeft(entry, T0 + 3 * MIN, trackunit)).toBe(48);
    expect(nextReserveRefill(entry, T0 + 3 * MIN, trackunit)).toBe(T0 + MIN + 30 * DAY);
    expect(reserveLeft(entry, T0 + MIN + 30 * DAY, trackunit)).toBe(49);
    expect(reserveLeft(entry, T0 + 2 * MIN + 30 * DAY, trackunit)).toBe(50);
  });

  it('never lets the reserve skip a 429 cooldown', () => {
    const entry = recordRateLimited(recordFetch(EMPTY_LEDGER_ENTRY, T0, trackunit, false), T0 + 1000, 15 * MIN);
    expect(decideUrl(entry, T0 + 2000, trackunit, { useReserve: true })).toEqual({
      action: 'wait',
      until: T0 + 1000 + 15 * MIN,
      reason: 'cooldown',
      reserveLeft: 0,
    });
  });

  it('a later, shorter cooldown does not shorten an earlier, longer one', () => {
    const long = recordRateLimited(EMPTY_LEDGER_ENTRY, T0, 15 * MIN);
    expect(recordRateLimited(long, T0 + 1000, 1000).cooldownUntil).toBe(T0 + 15 * MIN);
  });

  it('round-trips through its stored form, and a damaged value counts as fully spent', () => {
    const entry: UrlLedgerEntry = { lastAt: T0, reserveUses: [T0 + 1, T0 + 2], cooldownUntil: T0 + 99 };
    expect(parseLedgerEntry(serializeLedgerEntry(entry), T0, trackunit)).toEqual(entry);
    const damaged = parseLedgerEntry('{not json', T0 + 5, trackunit);
    expect(decideUrl(damaged, T0 + 6, trackunit, { useReserve: true })).toMatchObject({ action: 'wait', reserveLeft: 0 });
    expect(parseLedgerEntry(undefined, T0, trackunit)).toEqual(EMPTY_LEDGER_ENTRY);
  });

  it('knows when an entry no longer limits anything', () => {
    const entry = recordFetch(EMPTY_LEDGER_ENTRY, T0, trackunit, false);
    expect(isLedgerEntryIdle(entry, T0 + MIN, trackunit)).toBe(false);
    expect(isLedgerEntryIdle(entry, T0 + 15 * MIN, trackunit)).toBe(true);
  });

  it('property: any sequence of allowed requests stays within 1 + reserve per interval and within the reserve per refill period', () => {
    const policy: UrlBudgetPolicy = { minIntervalMs: 15 * MIN, reserveSize: 3, reserveRefillMs: 2 * 3_600_000 };
    fc.assert(
      fc.property(
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 20 * MIN }), useReserve: fc.boolean() }), { maxLength: 200 }),
        (steps) => {
          let entry: UrlLedgerEntry = EMPTY_LEDGER_ENTRY;
          let now = T0;
          const ordinary: number[] = [];
          const reserve: number[] = [];
          for (const step of steps) {
            now += step.gap;
            const d = decideUrl(entry, now, policy, { useReserve: step.useReserve });
            if (d.action !== 'fetch') continue;
            (d.usesReserve ? reserve : ordinary).push(now);
            entry = recordFetch(entry, now, policy, d.usesReserve);
          }
          for (let i = 1; i < ordinary.length; i++) expect(ordinary[i]! - ordinary[i - 1]!).toBeGreaterThanOrEqual(policy.minIntervalMs);
          for (const t of reserve) {
            const inWindow = reserve.filter((u) => u > t - policy.reserveRefillMs && u <= t).length;
            expect(inWindow).toBeLessThanOrEqual(policy.reserveSize);
          }
        },
      ),
    );
  });
});

describe('token bucket', () => {
  it('spaces requests evenly at the rate, handing out future slots in order', () => {
    const policy = { ratePerSecond: 50 };
    let state = takeToken(undefined, 0, policy);
    expect(state.waitMs).toBe(0);
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      state = takeToken(state.state, 0, policy);
      waits.push(state.waitMs);
    }
    expect(waits.map((w) => Math.round(w * 1000) / 1000)).toEqual([20, 40, 60, 80, 100]);
  });

  it('lets a burst through after an idle period, then spaces again', () => {
    const policy = { ratePerSecond: 1, burst: 3 };
    let state = takeToken(undefined, 0, policy).state;
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = takeToken(state, 0, policy);
      state = r.state;
      waits.push(Math.round(r.waitMs * 1000) / 1000);
    }
    expect(waits).toEqual([0, 0, 1000, 2000]);
    expect(takeToken(state, 60_000, policy).waitMs).toBe(0);
  });

  it('property: a bucket with burst 1 never admits more than rate requests in any one-second window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 400 }), (rate, gaps) => {
        let state = undefined as ReturnType<typeof takeToken>['state'] | undefined;
        let now = 0;
        const sent: number[] = [];
        for (const gap of gaps) {
          now += gap;
          const r = takeToken(state, now, { ratePerSecond: rate });
          state = r.state;
          sent.push(now + r.waitMs);
        }
        sent.sort((a, b) => a - b);
        for (let i = 0; i < sent.length; i++) {
          const inWindow = sent.filter((t) => t > sent[i]! - 1000 && t <= sent[i]!).length;
          expect(inWindow).toBeLessThanOrEqual(rate);
        }
      }),
    );
  });
});

describe('daily cap', () => {
  it('counts per UTC day and reopens at midnight', () => {
    let count = recordDaily(undefined, T0);
    count = recordDaily(count, T0 + 1);
    expect(decideDaily(count, T0 + 2, 2)).toEqual({ ok: false, until: Date.UTC(2025, 2, 5) });
    expect(decideDaily(count, Date.UTC(2025, 2, 5), 2)).toEqual({ ok: true });
    expect(recordDaily(count, Date.UTC(2025, 2, 5))).toEqual({ day: '2025-03-05', count: 1 });
    expect(decideDaily(count, T0, 0)).toEqual({ ok: true });
  });
});
