/**
 * A connectivity check for an MQTT source (`config check --connect`): connect with the source's
 * URL, credentials and TLS files, then disconnect. It uses its own client id and a clean session,
 * so it neither takes over a running service's session nor leaves one behind on the broker.
 * That id fits in the 23 bytes every MQTT broker must take (§3.1.3.1 of 3.1.1 and of 5), so a
 * strict broker that takes the service's id does not refuse the check's longer one.
 * @module
 */
import mqtt from 'mqtt';
import type { MqttSourceConfig } from '../../../config/schema.js';
import type { ProbeResult } from '../../../ports/connector.js';
import { mqttClientOptions, redactedUrl } from './client-options.js';

/** The most bytes of client id a broker must take (MQTT 3.1.1 and 5, §3.1.3.1). */
const SAFE_CLIENT_ID_BYTES = 23;

/**
 * The client id the check connects with: the configured one (cut short to fit) followed by
 * `check` and the process id, at most 23 bytes, in letters and digits only where the configured
 * id has no other characters (`-` before `check` otherwise).
 */
export function probeClientId(clientId: string, pid = process.pid): string {
  const alnum = /^[0-9a-zA-Z]*$/.test(clientId);
  const suffix = `${alnum ? '' : '-'}check${pid.toString(36)}`;
  const prefix = [...clientId];
  while (prefix.length > 0 && Buffer.byteLength(prefix.join('') + suffix) > SAFE_CLIENT_ID_BYTES) prefix.pop();
  return prefix.join('') + suffix;
}

/** CONNACK refusals of the client id: 2 Identifier rejected (MQTT 3.1.1), 0x85 Client Identifier not valid (MQTT 5). */
const CLIENT_ID_REFUSALS: ReadonlySet<unknown> = new Set([2, 0x85]);

export async function probeMqttSource(config: MqttSourceConfig, timeoutMs = 10_000): Promise<ProbeResult> {
  const what = `connect to ${redactedUrl(config.url)}`;
  const started = performance.now();
  let client: mqtt.MqttClient | undefined;
  const clientId = probeClientId(config.clientId);
  try {
    const base = mqttClientOptions(config);
    const { properties: _session, ...options } = base;
    client = mqtt.connect(config.url, { ...options, clientId, clean: true, reconnectPeriod: 0, connectTimeout: timeoutMs, manualConnect: false });
    const c = client;
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
      c.once('close', () => reject(new Error('the broker closed the connection (no CONNACK)')));
    });
    return { ok: true, detail: `${what} (MQTT ${config.protocolVersion === 5 ? '5' : '3.1.1'}${config.username !== undefined ? `, as ${config.username}` : ''}) in ${Math.round(performance.now() - started)} ms` };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (CLIENT_ID_REFUSALS.has((err as { code?: unknown }).code))
      return {
        ok: false,
        problem: 'other',
        key: 'clientId',
        detail:
          `${what}: ${message}: the broker refused "${clientId}", the check's own client id (clientId "${config.clientId}", cut to fit and suffixed, so as not to take over the service's session); ` +
          `the service's own id "${config.clientId}" was not tried`,
      };
    return { ok: false, detail: `${what}: ${message}` };
  } finally {
    await client?.endAsync(true).catch(() => undefined);
  }
}
