/**
 * What every ERP connector owes the dispatcher (docs/adding-a-connector.md, step 5), as tests to run
 * against a connector and its ERP (its simulator): what it delivers, one result per item without
 * throwing, a PermanentError for an operation it does not deliver, a lost answer to a create
 * retryable with an unknown outcome and its retry making no second record, each request of a call
 * after the first within the destination's budget, a 429 a RateLimitedError with its Retry-After
 * and the call's last request.
 */
import { describe, expect, it } from 'vitest';
import { PermanentError, RateLimitedError } from '../../src/core/errors/errors.js';
import type { OutboxItem } from '../../src/core/model/delivery.js';
import type { ErpConnector, ItemResult } from '../../src/ports/connector.js';

/** A connector and the ERP it talks to, made afresh for each test. */
export interface ContractSetup {
  readonly connector: ErpConnector;
  /** An item of an operation the connector creates a record for (a work order), deliverable as it is; a new fact on each call. */
  create(): OutboxItem;
  /** The ERP applies the next create and its answer is lost (the connection dropped). */
  loseNextAnswer(): void;
  /** The ERP answers the next request 429 with `Retry-After: <seconds>`. */
  throttleNext(seconds: number): void;
  /** How many records of `create()`'s operation the ERP holds. */
  records(): number;
  /** How many requests the ERP has been sent. */
  requests(): number;
}

const ctx = { signal: new AbortController().signal };
const errorOf = (r: ItemResult | undefined): Error | undefined => (r && !r.ok ? r.error : undefined);

export function connectorContract(name: string, setup: () => Promise<ContractSetup>): void {
  describe(`${name}: the connector contract`, () => {
    it('names what it delivers: the operations that create a record and keep the last write are operations it delivers', async () => {
      const s = await setup();
      const { operations, maxBatchSize, createsRecord = [], lastWriteWins = [], heldWhileUnsettled = [] } = s.connector.capabilities;
      expect(maxBatchSize).toBeGreaterThanOrEqual(1);
      expect([...createsRecord, ...lastWriteWins, ...heldWhileUnsettled].filter((o) => !operations.includes(o))).toEqual([]);
      expect(createsRecord).toContain(s.create().operation);
    });

    it('answers each item once, without throwing: an operation it does not deliver is a PermanentError', async () => {
      const s = await setup();
      const good = s.create();
      const unknown = { ...s.create(), operation: 'contract.unknown-operation' };
      const results = await s.connector.send([unknown, good], ctx);
      expect(results.map((r) => r.id).sort()).toEqual([good.id, unknown.id].sort());
      expect(errorOf(results.find((r) => r.id === unknown.id))).toBeInstanceOf(PermanentError);
      expect(results.find((r) => r.id === good.id)?.ok).toBe(true);
      expect(s.records()).toBe(1);
    });

    it('a create whose answer was lost: retryable with an unknown outcome, and its retry makes no second record', async () => {
      const s = await setup();
      const item = s.create();
      s.loseNextAnswer();
      const [first] = await s.connector.send([item], ctx);
      const error = errorOf(first) as { retryable?: boolean; outcomeUnknown?: boolean } | undefined;
      expect(error).toMatchObject({ retryable: true, outcomeUnknown: true });
      expect(s.records()).toBe(1);
      const [retry] = await s.connector.send([{ ...item, attempts: 1 }], ctx);
      expect(retry?.ok).toBe(true);
      expect(s.records()).toBe(1);
    });

    it('awaits ctx.budget before each request of a call after the first', async () => {
      const s = await setup();
      let asked = 0;
      const budget = { next: () => Promise.resolve(void asked++) };
      const before = s.requests();
      const [r] = await s.connector.send([s.create()], { ...ctx, budget });
      expect(r?.ok).toBe(true);
      expect(asked).toBe(s.requests() - before - 1);
    });

    it("a 429: a RateLimitedError with the ERP's Retry-After, and no further request in the call", async () => {
      const s = await setup();
      s.throttleNext(7);
      const before = s.requests();
      const [r] = await s.connector.send([s.create()], ctx);
      expect(s.requests() - before).toBe(1);
      const error = errorOf(r);
      expect(error).toBeInstanceOf(RateLimitedError);
      expect((error as RateLimitedError).retryAfterMs).toBe(7000);
      expect(s.records()).toBe(0);
    });
  });
}
