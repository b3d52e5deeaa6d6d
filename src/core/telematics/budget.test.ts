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
  rateWindow,
  takeRateSlot,
  type RateWindowState,
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

describe('per-second rate window', () => {
  it('lets the first `limit` requests go at twice the sustained pace, then waits for the oldest to leave the window', () => {
    const policy = { ratePerSecond: 4, guardMs: 0 };
    let state: RateWindowState | undefined;
    const sendAts: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = takeRateSlot(state, 0, policy);
      state = r.state;
      sendAts.push(r.waitMs);
    }
    expect(sendAts).toEqual([0, 125, 250, 375, 1000, 1125]);
  });

  it('makes up for a late request instead of losing its time', () => {
    const policy = { ratePerSecond: 10, guardMs: 0 };
    let state: RateWindowState | undefined;
    let t = 0;
    const sent: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = takeRateSlot(state, t, policy);
      state = r.state;
      t += r.waitMs;
      if (i === 5) t += 300; // the caller was busy and sent late
      sent.push(t);
    }
    // An evenly spaced schedule would end at 29 × 100 + 300 = 3200 ms; the window recovers most of the delay.
    expect(sent.at(-1)).toBe(2700);
  });

  it('spreads a fractional rate over a longer window', () => {
    expect(rateWindow({ ratePerSecond: 0.5, guardMs: 0 })).toMatchObject({ limit: 1, windowMs: 2000 });
    expect(rateWindow({ ratePerSecond: 50 })).toMatchObject({ limit: 50, windowMs: 1050 });
  });

  it('never lets a fractional spacing put one request too many in a window (rate 6, a burst of 8)', () => {
    const policy = { ratePerSecond: 6, guardMs: 0 };
    let state: RateWindowState | undefined;
    const sent: number[] = [];
    for (let i = 0; i < 8; i++) {
      const r = takeRateSlot(state, 0, policy);
      state = r.state;
      sent.push(r.waitMs);
    }
    for (const t of sent) expect(sent.filter((u) => u > t - 1000 && u <= t).length).toBeLessThanOrEqual(6);
  });

  it('property: never more than `limit` requests in any window, however callers arrive or send late', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 80 }), late: fc.integer({ min: 0, max: 40 }) }), { minLength: 1, maxLength: 300 }),
        (rate, steps) => {
          const policy = { ratePerSecond: rate, guardMs: 0 };
          let state: RateWindowState | undefined;
          let now = 0;
          const sent: number[] = [];
          for (const step of steps) {
            now += step.gap;
            const r = takeRateSlot(state, now, policy);
            state = { sent: r.state.sent.map((t, i, all) => (i === all.length - 1 ? t + step.late : t)) };
            sent.push(now + r.waitMs + step.late);
          }
          sent.sort((a, b) => a - b);
          for (let i = 0; i < sent.length; i++) {
            const inWindow = sent.filter((t) => t > sent[i]! - 1000 && t <= sent[i]!).length;
            expect(inWindow).toBeLessThanOrEqual(rate);
          }
        },
      ),
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
