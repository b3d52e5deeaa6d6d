import { describe, expect, it } from 'vitest';
import type { DeliveryIntent } from '../core/model/delivery.js';
import { coalesceStates } from './ingestor.js';

const d = (kind: 'state' | 'fact', destination: string, operation: string, businessKey: string, eventTime: number): DeliveryIntent => ({
  kind,
  destination,
  operation,
  businessKey,
  erpAssetId: businessKey,
  eventTime,
  payload: { eventTime },
});

describe('coalesceStates', () => {
  it('keeps the newest state per (destination, operation, key) and every fact, in order', () => {
    const input = [
      d('state', 'erp', 'location.update', 'EQ-1', 2),
      d('fact', 'erp', 'workorder.create', 'EQ-1|a', 1),
      d('state', 'erp', 'location.update', 'EQ-1', 1), // older than the first: dropped
      d('state', 'erp2', 'location.update', 'EQ-1', 1), // another destination
      d('state', 'erp', 'meter.update', 'EQ-1', 1), // another operation
      d('fact', 'erp', 'workorder.create', 'EQ-1|a', 1), // facts never coalesce here
      d('state', 'erp', 'location.update', 'EQ-2', 5),
      d('state', 'erp', 'location.update', 'EQ-2', 6),
    ];
    expect(coalesceStates(input).map((x) => `${x.kind} ${x.destination} ${x.operation} ${x.businessKey} ${x.eventTime}`)).toEqual([
      'state erp location.update EQ-1 2',
      'fact erp workorder.create EQ-1|a 1',
      'state erp2 location.update EQ-1 1',
      'state erp meter.update EQ-1 1',
      'fact erp workorder.create EQ-1|a 1',
      'state erp location.update EQ-2 6',
    ]);
  });

  it('an equal event time keeps the later one; nothing to coalesce returns the input', () => {
    const a = d('state', 'erp', 'location.update', 'EQ-1', 3);
    const b = d('state', 'erp', 'location.update', 'EQ-1', 3);
    expect(coalesceStates([a, b])).toEqual([b]);
    expect(coalesceStates([a, b])[0]).toBe(b);
    const unique = [a, d('state', 'erp', 'location.update', 'EQ-2', 1)];
    expect(coalesceStates(unique)).toEqual(unique);
  });
});
