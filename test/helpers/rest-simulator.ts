/**
 * What the REST connector's tests against the ERP simulator share: simulators closed after each
 * test, a connector for one, and outbox items to send through it.
 */
import { afterEach } from 'vitest';
import type { OutboxItem } from '../../src/core/model/delivery.js';
import type { ItemResult } from '../../src/ports/connector.js';
import { restDestinationSchema } from '../../src/config/schema.js';
import { createRestConnector, type RestConnector } from '../../src/adapters/erp/rest/rest-connector.js';
import { startErpSimulator, type ErpSimulator, type ErpSimulatorOptions } from '../../simulators/erp-rest/erp-simulator.js';

export const T0 = Date.parse('2026-03-02T08:00:00.000Z');
export const ctx = { signal: new AbortController().signal };

/** Registers an `afterEach` that closes the simulators `sim` started; call at a test file's top level. */
export function useSimulators(): (options?: ErpSimulatorOptions) => Promise<ErpSimulator> {
  let sims: ErpSimulator[] = [];
  afterEach(async () => {
    await Promise.all(sims.map((s) => s.close()));
    sims = [];
  });
  return async (options = {}) => {
    const s = await startErpSimulator(options);
    sims.push(s);
    return s;
  };
}

/** A connector (destination `erp-sim`) for the simulator, with config `overrides`. */
export function connectorFor(s: ErpSimulator, overrides: Record<string, unknown> = {}, clock?: { now: () => number }): RestConnector {
  const config = restDestinationSchema.parse({ name: 'erp-sim', type: 'rest', baseUrl: s.url, token: 'sim-token', timeoutMs: 2000, ...overrides });
  return createRestConnector(config, clock ? { clock } : {});
}

let nextId = 1;
/**
 * The kind production's rules give each operation: a location update and a meter reading are state
 * (a newer value replaces a pending one), a work order, an inventory count (one per cell revision,
 * `core/rules/inventory/counts.ts`) and a usage posting are facts.
 */
const STATE_OPERATIONS: ReadonlySet<string> = new Set(['location.update', 'meter.record']);

/** An in-flight outbox item of `operation`, of the kind production gives it ({@link STATE_OPERATIONS}); ids, keys and times count up. */
export function outboxItem(operation: string, erpAssetId: string, payload: Record<string, unknown>, extra: Partial<OutboxItem> = {}): OutboxItem {
  const id = nextId++;
  return {
    id,
    destination: 'erp-sim',
    operation,
    kind: STATE_OPERATIONS.has(operation) ? 'state' : 'fact',
    businessKey: `${erpAssetId}|${operation}|${id}`,
    erpAssetId,
    eventTime: T0 + id * 1000,
    payload,
    idempotencyKey: `ab1-test-${id}`,
    status: 'inflight',
    attempts: 0,
    createdAt: T0,
    enqueuedAt: T0,
    nextAttemptAt: T0,
    ...extra,
  };
}

/** The error of a failed result (undefined for a success). */
export function errorOf(result: ItemResult | undefined): Error | undefined {
  return result && !result.ok ? result.error : undefined;
}
