import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { createFleet } from '../fleet/fleet.js';
import { runFleet, type FleetProgress } from '../fleet/run-fleet.js';
import { startEmbeddedBroker } from './embedded-broker.js';

describe('startEmbeddedBroker', () => {
  it('routes QoS-1 messages between clients on a random port and closes cleanly', async () => {
    const broker = await startEmbeddedBroker();
    expect(broker.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(broker.port).toBeGreaterThan(0);
    const sub = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    const received = new Promise<string>((resolve) => sub.on('message', (_t, payload) => resolve(payload.toString())));
    await sub.subscribeAsync('t/+', { qos: 1 });
    const pub = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    await pub.publishAsync('t/1', 'hello', { qos: 1 });
    expect(await received).toBe('hello');
    await pub.endAsync();
    await broker.close(); // with a client still connected
    await broker.close(); // idempotent
    const closed = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 2_000 }).then(
      (c) => c.endAsync().then(() => 'connected'),
      () => 'refused',
    );
    expect(closed).toBe('refused');
    sub.end(true);
  });
});

describe('runFleet against the embedded broker', () => {
  it('publishes the fleet at QoS 1 until maxMessages and reports progress', async () => {
    const broker = await startEmbeddedBroker();
    try {
      const sub = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
      const topics: string[] = [];
      sub.on('message', (topic) => topics.push(topic));
      await sub.subscribeAsync('fleet/+/telemetry', { qos: 1 });
      const fleet = createFleet({ assets: 4, seed: 9 });
      const progress: FleetProgress[] = [];
      const result = await runFleet({ fleet, url: broker.url, ratePerSecond: 5_000, maxMessages: 300, maxInflight: 50, onProgress: (p) => progress.push(p), progressIntervalMs: 10 });
      expect(result).toMatchObject({ published: 300, acked: 300, counts: { total: 300, good: 300 } });
      expect(progress.at(-1)).toMatchObject({ published: 300, acked: 300, total: 300 });
      await expect.poll(() => topics.length).toBe(300);
      expect(new Set(topics)).toEqual(new Set(fleet.tagIds.map((t) => `fleet/${t}/telemetry`)));
      await sub.endAsync();
    } finally {
      await broker.close();
    }
  });

  it('requires a stop condition', async () => {
    await expect(runFleet({ fleet: createFleet({ assets: 1 }), url: 'mqtt://127.0.0.1:1', ratePerSecond: 1 })).rejects.toThrow(/give durationMs or maxMessages/);
  });
});
