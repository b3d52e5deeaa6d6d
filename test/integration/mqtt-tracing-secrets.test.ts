/**
 * Tracing the MQTT client stack through `debug` (`DEBUG=mqttjs*`, `DEBUG=mqtt-packet:*`: the
 * encoder mqtt.js writes packets with traces each string it writes) against a real Mosquitto: the
 * broker password, given in `password` or in the url, never reaches stderr. Mosquitto may take an
 * anonymous client or refuse this one: the CONNECT packet is written, and traced, either way.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.DEBUG = 'mqttjs*,mqtt-packet:*';
});

import { createRequire } from 'node:module';
import mqtt from 'mqtt';
import { mqttClientOptions } from '../../src/adapters/sources/mqtt/client-options.js';
import { mqttSourceSchema } from '../../src/config/schema.js';
import { MOSQUITTO_URL, requireService } from '../helpers/services.js';

const mosquitto = await requireService('mosquitto');

afterEach(() => {
  vi.restoreAllMocks();
});

/** Connects with `extra` config (Mosquitto letting it in or not) and returns what `debug` wrote to stderr meanwhile. */
async function traced(extra: Record<string, unknown>): Promise<string> {
  // `debug` reads DEBUG once, when first loaded (the test runner may have loaded it before).
  (createRequire(import.meta.url)('debug') as { enable(namespaces: string): void }).enable('mqttjs*,mqtt-packet:*');
  const config = mqttSourceSchema.parse({
    name: 'yard',
    url: MOSQUITTO_URL,
    clientId: `ab-http-trace-${process.pid}`,
    protocolVersion: 4,
    topics: [{ filter: 'ab-http/+/t', decoder: { assetId: { topicSegment: 1 } } }],
    ...extra,
  });
  const written: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  const client = mqtt.connect(config.url, { ...mqttClientOptions(config), clean: true, manualConnect: false, reconnectPeriod: 0, connectTimeout: 5_000 });
  try {
    await new Promise<void>((resolve) => {
      client.once('connect', () => resolve());
      client.once('error', () => resolve()); // refused at CONNACK: the CONNECT was written all the same
      client.once('close', () => resolve());
    });
  } finally {
    await client.endAsync(true);
    vi.restoreAllMocks();
  }
  return written.join('');
}

describe.runIf(mosquitto)('MQTT client tracing (real Mosquitto)', () => {
  it('DEBUG=mqtt-packet:* traces the CONNECT packet without the password given in password', async () => {
    const trace = await traced({ username: 'ab-http-user', password: 'Packet-S3cret-7741' });
    expect(trace).toContain('mqtt-packet:writeToStream'); // the encoder's tracing is on
    expect(trace).toContain('ab-http-user'); // the CONNECT packet's strings were traced
    expect(trace).not.toContain('Packet-S3cret-7741');
  });

  it('nor the password given in the url', async () => {
    const url = new URL(MOSQUITTO_URL);
    url.username = 'ab-http-urluser';
    url.password = 'Url-S3cret-9913';
    const trace = await traced({ url: url.toString() });
    expect(trace).toContain('ab-http-urluser');
    expect(trace).not.toContain('Url-S3cret-9913');
  });
});
