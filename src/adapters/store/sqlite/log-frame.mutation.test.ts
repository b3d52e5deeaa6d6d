/**
 * Ingest log framing pinned by a mutation audit: fields repeated from the previous message, and
 * batches larger than the reused buffer has grown to, still read back exactly.
 */
import { describe, expect, it } from 'vitest';
import type { RawMessage } from '../../../core/model/messages.js';
import { decodeLogBatch, encodeLogBatch } from './log-frame.js';

const roundTrip = (messages: readonly RawMessage[]) => decodeLogBatch(encodeLogBatch(messages), messages.length);

describe('ingest log batch framing: repeated fields and buffer growth', () => {
  it('reads back source and channel of consecutive messages that repeat one or both', () => {
    // Mutations: a repeated channel copied from the source's bytes; a repeated source or channel mixed up.
    // An MQTT topic read back wrong would refuse the replayed message after a crash (no decoder for the topic).
    const messages: RawMessage[] = [
      { source: 'mqtt:fleet', channel: 'fleet/tag-1/telemetry', payload: '{"a":1}', receivedAt: 1 },
      { source: 'mqtt:fleet', channel: 'fleet/tag-1/telemetry', payload: '{"a":2}', receivedAt: 2 },
      { source: 'mqtt:fleet', channel: 'fleet/tag-2/telemetry', payload: '{"a":3}', receivedAt: 3 },
      { source: 'mqtt:yard', channel: 'fleet/tag-2/telemetry', payload: new Uint8Array([1, 2]), receivedAt: 4 },
      { source: 'mqtt:yard', channel: 'yard/gate', payload: '', receivedAt: 5 },
      { source: 'http', channel: 'yard/gate', payload: 'x', receivedAt: 6 },
    ];
    expect(roundTrip(messages)).toEqual(messages);
  });

  it('frames a batch more than twice the size of the reused buffer, and one of more than 8 MiB, exactly', () => {
    // Mutations: the reused buffer grown only to twice its size; the 8 MiB bound of the reused buffer raised.
    const medium: RawMessage[] = [{ source: 'http', channel: '/v1/events', payload: '✓'.repeat(1_000_000), receivedAt: 1 }]; // 3 MB of UTF-8
    expect(roundTrip(medium)).toEqual(medium);
    const large: RawMessage[] = [
      { source: 'http', channel: '/v1/events', payload: '✓'.repeat(3_000_000), receivedAt: 2 }, // 9 MB of UTF-8
      { source: 'http', channel: '/v1/events', payload: '{"small":true}', receivedAt: 3 },
    ];
    expect(roundTrip(large)).toEqual(large);
    expect(roundTrip(medium)).toEqual(medium);
  });
});
