import { describe, expect, it } from 'vitest';
import { mqttSourceSchema } from '../../../config/schema.js';
import { mqttClientOptions } from './client-options.js';

const parse = (extra: Record<string, unknown> = {}) =>
  mqttSourceSchema.parse({ name: 'fleet', url: 'mqtt://broker.example:1883', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { path: 'id' }, meters: { operatingHours: 'h' } } }], ...extra });

describe('mqttClientOptions: reconnecting', () => {
  // Mutation: passing reconnectDelayMs through unclamped (mqtt.js reads reconnectPeriod 0 as "never reconnect").
  it('still reconnects after a lost connection when reconnectDelayMs is 0', () => {
    // The config refuses 0 (load.mutation.test.ts); a source built without it must still reconnect.
    expect(mqttClientOptions({ ...parse(), reconnectDelayMs: 0 }).reconnectPeriod).toBeGreaterThan(0);
    expect(mqttClientOptions(parse({ reconnectDelayMs: '250ms' })).reconnectPeriod).toBe(250);
  });
});
