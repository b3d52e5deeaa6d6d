/**
 * A connectivity check for an MQTT source (`config check --connect`): connect with the source's
 * URL, credentials and TLS files, then disconnect. It uses its own client id and a clean session,
 * so it neither takes over a running service's session nor leaves one behind on the broker.
 * @module
 */
import mqtt from 'mqtt';
import type { MqttSourceConfig } from '../../../config/schema.js';
import type { ProbeResult } from '../../../ports/connector.js';
import { mqttClientOptions, redactedUrl } from './client-options.js';

export async function probeMqttSource(config: MqttSourceConfig, timeoutMs = 10_000): Promise<ProbeResult> {
  const what = `connect to ${redactedUrl(config.url)}`;
  const started = performance.now();
  let client: mqtt.MqttClient | undefined;
  try {
    const base = mqttClientOptions(config);
    const { properties: _session, ...options } = base;
    client = mqtt.connect(config.url, { ...options, clientId: `${config.clientId}-check-${process.pid}`, clean: true, reconnectPeriod: 0, connectTimeout: timeoutMs, manualConnect: false });
    const c = client;
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
      c.once('close', () => reject(new Error('the broker closed the connection (no CONNACK)')));
    });
    return { ok: true, detail: `${what} (MQTT ${config.protocolVersion === 5 ? '5' : '3.1.1'}${config.username !== undefined ? `, as ${config.username}` : ''}) in ${Math.round(performance.now() - started)} ms` };
  } catch (err) {
    return { ok: false, detail: `${what}: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    await client?.endAsync(true).catch(() => undefined);
  }
}
