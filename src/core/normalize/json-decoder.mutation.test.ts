import { describe, expect, it } from 'vitest';
import { jsonDecoderSchema } from '../../config/schema.js';
import { createJsonDecoder } from './json-decoder.js';

describe('createJsonDecoder: the asset id from a topic segment', () => {
  const decode = createJsonDecoder('mqtt:fleet', [{ filter: 'fleet/+/telemetry', decoder: jsonDecoderSchema.parse({ assetId: { topicSegment: 1 }, meters: { operatingHours: 'h' } }) }]);
  const message = (channel: string) => ({ source: 'mqtt:fleet', channel, payload: '{"h": 12.5}', receivedAt: Date.UTC(2026, 2, 1) });

  // Mutation: an empty segment accepted as an asset id ("" would be looked up as an identifier).
  it('refuses an empty segment with the reason, as it refuses a missing one', () => {
    expect(decode(message('fleet//telemetry'))).toEqual({ ok: false, reason: 'no asset id in topic segment 1 of "fleet//telemetry" (segments are counted from 0)' });
  });

  it('takes the segment as it is otherwise', () => {
    const r = decode(message('fleet/T 0001/telemetry'));
    expect(r.ok && r.events.map((e) => e.ids)).toEqual([[{ type: 'tag', value: 'T 0001' }]]);
  });
});
