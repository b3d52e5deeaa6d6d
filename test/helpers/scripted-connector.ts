import type { DeliveryError } from '../../src/core/errors/errors.js';
import type { OutboxItem } from '../../src/core/model/delivery.js';
import type { ErpConnector, ItemResult } from '../../src/ports/connector.js';

/**
 * A connector whose answers a test scripts: each call takes the next scripted answer (an error or
 * 'ok'), and defaults to 'ok'. Records every item it was asked to send.
 */
export class ScriptedConnector implements ErpConnector {
  readonly name: string;
  readonly capabilities: { maxBatchSize: number; operations: string[]; lastWriteWins: string[]; heldWhileUnsettled: string[] };
  readonly sent: OutboxItem[] = [];
  readonly script: (DeliveryError | 'ok')[] = [];
  refreshes = 0;

  constructor(name = 'erp', maxBatchSize = 1) {
    this.name = name;
    this.capabilities = { maxBatchSize, operations: ['location.update', 'workorder.create', 'meter.record'], lastWriteWins: ['location.update'], heldWhileUnsettled: ['meter.record'] }; // as the REST connector's
  }

  send(items: readonly OutboxItem[]): Promise<ItemResult[]> {
    return Promise.resolve(
      items.map((item) => {
        this.sent.push(item);
        const next = this.script.shift() ?? 'ok';
        const exchange = { method: 'POST', url: `http://erp/${item.operation}`, requestBody: JSON.stringify(item.payload), latencyMs: 1, status: next === 'ok' ? 200 : (next.status ?? 0) };
        return next === 'ok' ? { id: item.id, ok: true as const, exchange } : { id: item.id, ok: false as const, exchange, error: next };
      }),
    );
  }

  refreshAuth(): Promise<void> {
    this.refreshes++;
    return Promise.resolve();
  }
}
