/**
 * The MQTT source with the embedded (aedes, MQTT 3.1.1) broker the demo uses, the simulated fleet
 * and the fleet's decoder config; plus start-up errors that must say what to fix. No external
 * service needed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createFleet, fleetMqttSourceConfig, runFleet } from '../../simulators/fleet/index.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../simulators/mqtt-broker/embedded-broker.js';
import { createMqttDecoder, createMqttSource, type MqttSource } from '../../src/adapters/sources/mqtt/index.js';
import { mqttSourceSchema } from '../../src/config/schema.js';
import type { RawMessage } from '../../src/core/model/messages.js';
import { validateEvent } from '../../src/core/normalize/validate.js';
import type { IngestSink } from '../../src/ports/source.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function broker(): Promise<EmbeddedBroker> {
  const b = await startEmbeddedBroker();
  cleanup.push(() => b.close());
  return b;
}

function track(source: MqttSource): MqttSource {
  cleanup.push(() => source.stop());
  return source;
}

const collect = (into: RawMessage[]): IngestSink => ({
  submit(messages) {
    into.push(...messages);
    return Promise.resolve({ accepted: messages.length, quarantined: [] });
  },
});

describe('MQTT source with the embedded broker and the simulated fleet', () => {
  it('ingests the fleet; good messages decode to valid events, injected bad ones do not', async () => {
    const b = await broker();
    const received: RawMessage[] = [];
    const config = mqttSourceSchema.parse(fleetMqttSourceConfig(b.url, { reconnectDelayMs: '200ms' }));
    const source = track(createMqttSource(config));
    await source.start(collect(received));

    const fleet = createFleet({ assets: 20, seed: 4, badShare: 0.1 });
    const run = await runFleet({ fleet, url: b.url, ratePerSecond: 5_000, maxMessages: 1_000 });
    expect(run.acked).toBe(1_000);
    await expect.poll(() => received.length).toBe(1_000);
    await expect.poll(() => source.stats().acked).toBe(1_000);

    const decode = createMqttDecoder(config);
    const tags = new Set(fleet.tagIds);
    let good = 0;
    for (const m of received) {
      const result = decode(m);
      if (result.ok && result.events.every((e) => validateEvent(e, Date.now()).ok && tags.has(e.ids[0]?.value ?? ''))) good++;
    }
    expect(good).toBe(run.counts.good);
    expect(run.counts.good).toBeLessThan(1_000);
  });

  it('says whether it is connected: false once the broker is gone (what /metrics and status show)', async () => {
    const b = await startEmbeddedBroker();
    const config = mqttSourceSchema.parse(fleetMqttSourceConfig(b.url, { reconnectDelayMs: '200ms' }));
    const source = track(createMqttSource(config));
    await source.start(collect([]));
    expect(source.connected()).toBe(true);
    await b.close();
    await expect.poll(() => source.connected()).toBe(false);
  });

  it('explains that aedes needs MQTT 3.1.1 when started with protocolVersion 5', async () => {
    const b = await broker();
    const source = track(createMqttSource(mqttSourceSchema.parse(fleetMqttSourceConfig(b.url, { protocolVersion: 5 }))));
    await expect(source.start(collect([]))).rejects.toThrow(
      `MQTT source "fleet": ${b.url}: Connection refused: Unacceptable protocol version; the broker does not speak this MQTT version: set sources.mqtt[name=fleet].protocolVersion: 4`,
    );
  });

  it('says the broker is unreachable when it cannot connect in time', async () => {
    const source = track(createMqttSource(mqttSourceSchema.parse(fleetMqttSourceConfig('mqtt://127.0.0.1:1', { reconnectDelayMs: '100ms' })), { startTimeoutMs: 1_000 }));
    await expect(source.start(collect([]))).rejects.toThrow('MQTT source "fleet": could not connect to mqtt://127.0.0.1:1 within 1 s (connect ECONNREFUSED 127.0.0.1:1); check that the broker is running and reachable from here, and sources.mqtt[name=fleet].url, then start again');
  });

  it('names the TLS file it cannot read', async () => {
    const source = track(createMqttSource(mqttSourceSchema.parse(fleetMqttSourceConfig('mqtts://127.0.0.1:8883', { caFile: '/nonexistent/ca.pem' }))));
    await expect(source.start(collect([]))).rejects.toThrow(/^MQTT source "fleet": cannot read caFile \/nonexistent\/ca\.pem: ENOENT/);
  });

  it('refuses a second start', async () => {
    const b = await broker();
    const source = track(createMqttSource(mqttSourceSchema.parse(fleetMqttSourceConfig(b.url))));
    await source.start(collect([]));
    await expect(source.start(collect([]))).rejects.toThrow(/already started/);
  });
});
