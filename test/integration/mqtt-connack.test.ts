/**
 * The MQTT source and a real Mosquitto that refuses the connection at CONNACK: a broker that comes
 * back refusing the source (a new password file, anonymous access turned off) is retried until it
 * lets the source in again, rather than left for good while the log says "retrying". Each broker
 * is private (its own port and config), started from the `mosquitto` binary, and restarted on the
 * same port with another config.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMqttSource, type MqttSource, type SourceLogger } from '../../src/adapters/sources/mqtt/mqtt-source.js';
import { mqttSourceSchema } from '../../src/config/schema.js';
import type { IngestSink, SubmitResult } from '../../src/ports/source.js';
import { requireMosquittoBinary, startPrivateMosquitto, type PrivateMosquitto } from '../helpers/private-mosquitto.js';

const available = requireMosquittoBinary();
const brokers: PrivateMosquitto[] = [];
const running: MqttSource[] = [];

const sink: IngestSink = { submit: (messages): Promise<SubmitResult> => Promise.resolve({ accepted: messages.length, quarantined: [] }) };

afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
  for (const b of brokers.splice(0)) await b.stop();
});

async function broker(config: readonly string[], port?: number): Promise<PrivateMosquitto> {
  const b = await startPrivateMosquitto(config, {}, port);
  brokers.push(b);
  return b;
}

describe.runIf(available)('MQTT source: a broker that refuses the connection (real Mosquitto)', () => {
  it('a start refused for its credentials fails at once, naming the keys to set', async () => {
    const strict = await broker(['allow_anonymous false']);
    const cfg = mqttSourceSchema.parse({
      name: 'anon',
      url: strict.url,
      clientId: `ab-connack-anon-${process.pid}`,
      reconnectDelayMs: '100ms',
      topics: [{ filter: 'ab/+/t', decoder: { assetId: { topicSegment: 1 }, meters: { operatingHours: 'h' } } }],
    });
    const source = createMqttSource(cfg, { startTimeoutMs: 30_000, configKey: 'sources.mqtt.0' });
    running.push(source);
    await expect(source.start(sink)).rejects.toThrow(/Not authorized; the broker takes no anonymous client: set sources\.mqtt\.0\.username and password$/);
    expect(source.stats().connects).toBe(0);
    expect(source.connected()).toBe(false);
  });

  it('a broker that comes back refusing the client is tried again until it lets it in', async () => {
    // Mutation: mqtt.js left to give up after a CONNACK refusal (it does unless told reconnectOnConnackError).
    const first = await broker(['allow_anonymous true']);
    const port = Number(new URL(first.url).port);
    const errors: string[] = [];
    const log: SourceLogger = { debug() {}, info() {}, warn() {}, error: (_f, m) => errors.push(m) };
    const cfg = mqttSourceSchema.parse({
      name: 'refused',
      url: first.url,
      clientId: `ab-connack-${process.pid}`,
      protocolVersion: 5,
      reconnectDelayMs: '100ms',
      topics: [{ filter: 'ab/+/t', decoder: { assetId: { topicSegment: 1 }, meters: { operatingHours: 'h' } } }],
    });
    const source = createMqttSource(cfg, { startTimeoutMs: 5_000, logger: log, configKey: 'sources.mqtt.0' });
    running.push(source);
    await source.start(sink);
    expect(source.stats().connects).toBe(1);

    // The broker restarts without anonymous access: CONNACK 0x87 Not authorized.
    await first.stop();
    brokers.splice(brokers.indexOf(first), 1);
    const strict = await broker(['allow_anonymous false'], port);
    await expect.poll(() => source.connectionError()?.key, { timeout: 5_000 }).toBe('sources.mqtt.0.username');
    expect(errors.join('\n')).toMatch(/Not authorized.*retrying/);

    // Anonymous access back: the source connects again by itself.
    await strict.stop();
    brokers.splice(brokers.indexOf(strict), 1);
    await broker(['allow_anonymous true'], port);
    await expect.poll(() => source.stats().connects, { timeout: 5_000 }).toBe(2);
    expect(source.connected()).toBe(true);
  });
});
