/**
 * Turns an MQTT source's config into mqtt.js client options: persistent session, QoS-1
 * subscriptions, MQTT 5 receive maximum and session expiry, TLS files. Also the subscription list
 * and a URL safe to log.
 * @module
 */
import { readFileSync } from 'node:fs';
import { formatWithOptions } from 'node:util';
import type { IClientOptions, IClientSubscribeOptions } from 'mqtt';
import type { MqttSourceConfig } from '../../../config/schema.js';
import { coveredFilters, withShareGroup } from '../../../core/normalize/topic-match.js';

/** MQTT 5 session expiry is a 32-bit number of seconds; 0xFFFFFFFF means "never expires". */
const MAX_SESSION_EXPIRY_S = 0xffff_ffff;

/**
 * mqtt.js traces every packet through the `debug` package, which costs a few per cent of ingest
 * even when nothing is printed; its tracing is kept only when `DEBUG` asks for it.
 */
export function mqttTracing(debug: string | undefined = process.env.DEBUG): boolean {
  // The `debug` package's rules: names split on commas or spaces, `*` a wildcard, `-name` excludes.
  const matches = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test('mqttjs:client');
  const patterns = (debug ?? '').split(/[\s,]+/).filter((p) => p !== '');
  return patterns.some((p) => !p.startsWith('-') && matches(p)) && !patterns.some((p) => p.startsWith('-') && matches(p.slice(1)));
}

/**
 * mqtt.js's tracing as its `debug` writes it (a line on stderr per call, `mqttjs:client` before
 * it), with the password of the CONNECT packet it traces whole (`_writePacket :: packet: %O`)
 * replaced: `DEBUG=mqttjs*` is how the protocol is traced, and the trace is pasted into reports.
 */
function tracingLog(...args: unknown[]): void {
  const shown = args.map((arg) =>
    arg !== null && typeof arg === 'object' && (arg as { password?: unknown }).password !== undefined ? { ...arg, password: '[REDACTED]' } : arg,
  );
  process.stderr.write(`${new Date().toISOString()} mqttjs:client ${formatWithOptions({ depth: 4 }, ...shown)}\n`);
}

/**
 * The credentials of a url with a password (`mqtt://user:password@broker`), read as the URL
 * standard (WHATWG) reads them: the user name to the first `:`, the password from there to the
 * last `@`, each percent-decoded on its own (`%3A` in a password is its colon, not a separator).
 * mqtt.js would decode the whole user-info and split it at its LAST colon, so a password holding a
 * colon would lose its start to the user name; its `auth` is left out, for mqtt.js to ignore. The
 * config refuses a `:` or `@` not percent-encoded there (config/url.ts), so no reader can differ.
 * They win over username and password, as in mqtt.js (see config/mqtt-credentials.ts), and the
 * password goes as bytes: mqtt-packet (the MQTT client's encoder) traces every string it writes
 * (`DEBUG=mqtt-packet:*`: `writeString: %s`), the CONNECT packet's password among them; bytes it
 * writes untraced. So the password is never handed to it as a string, whichever key it came from.
 */
export function urlCredentials(url: string): Pick<IClientOptions, 'auth' | 'username' | 'password'> {
  if (!URL.canParse(url)) return {};
  const parsed = new URL(url);
  if (parsed.password === '') return {};
  return { auth: undefined, username: decodeSafe(parsed.username), password: Buffer.from(decodeSafe(parsed.password), 'utf8') };
}

/** Percent-decoded, or as it is where it holds a `%` that starts no escape. */
function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Reads a PEM file; injected in tests. */
export type ReadPem = (path: string) => Buffer;

/** Builds mqtt.js options. Throws an Error naming the field and file when a TLS file cannot be read. */
export function mqttClientOptions(config: MqttSourceConfig, readPem: ReadPem = (p) => readFileSync(p)): IClientOptions {
  const tls: Pick<IClientOptions, 'ca' | 'cert' | 'key'> = {};
  for (const [field, option] of [
    ['caFile', 'ca'],
    ['certFile', 'cert'],
    ['keyFile', 'key'],
  ] as const) {
    const path = config[field];
    if (path === undefined) continue;
    try {
      tls[option] = readPem(path);
    } catch (err) {
      throw new Error(`MQTT source "${config.name}": cannot read ${field} ${path}: ${err instanceof Error ? err.message : String(err)}; check the path and file permissions`);
    }
  }
  if ((config.certFile === undefined) !== (config.keyFile === undefined))
    throw new Error(`MQTT source "${config.name}": certFile and keyFile go together for client-certificate authentication; set both or neither`);

  return {
    clientId: config.clientId,
    // Persistent session: the broker keeps our subscriptions and queues QoS-1 messages while we are down.
    clean: false,
    protocolVersion: config.protocolVersion,
    ...(config.protocolVersion === 5
      ? {
          properties: {
            // Without a session expiry an MQTT 5 session ends at disconnect, whatever `clean` says.
            sessionExpiryInterval: Math.min(MAX_SESSION_EXPIRY_S, Math.round(config.sessionExpiryMs / 1000)),
            // How many un-acknowledged messages the broker may send us: our commit batch window.
            receiveMaximum: config.maxInflight,
          },
        }
      : {}),
    ...(config.username !== undefined ? { username: config.username } : {}),
    ...(config.password !== undefined ? { password: Buffer.from(config.password, 'utf8') } : {}),
    ...urlCredentials(config.url),
    ...tls,
    rejectUnauthorized: config.rejectUnauthorized,
    reconnectPeriod: Math.max(1, config.reconnectDelayMs),
    // mqtt.js gives up for good after a CONNACK refusal unless told: a broker that comes back
    // refusing us (a new password file, "server unavailable" while it starts) is tried again
    // (a start the refusal makes hopeless is ended by the source itself).
    reconnectOnConnackError: true,
    connectTimeout: 30_000,
    keepalive: 60,
    // We subscribe on every connect ourselves (see subscriptions()) so a changed config takes effect.
    resubscribe: false,
    queueQoSZero: false,
    manualConnect: true,
    log: mqttTracing() ? tracingLog : () => undefined,
  };
}

/** A configured filter as subscribed: with the shared-subscription prefix when configured. */
export function subscribedAs(config: MqttSourceConfig, filter: string): string {
  return withShareGroup(filter, config.sharedGroup);
}

/** The filters as subscribed. */
function fullFilters(config: MqttSourceConfig): string[] {
  return [...new Set(config.topics.map(({ filter }) => subscribedAs(config, filter)))];
}

/**
 * The configured filters another one covers (`fleet/+/telemetry` beside `fleet/#`, in the same
 * share group): not subscribed, because an MQTT 5 broker (Mosquitto) sends a message once per
 * matching subscription, so each would be ingested twice. The decoder still picks the first
 * configured filter that matches, covered or not. Of filters covering each other, the first stays.
 * (Filters that overlap without one covering the other are refused by the config schema.)
 */
export function coveredSubscriptions(config: MqttSourceConfig): string[] {
  return [...coveredFilters(fullFilters(config))];
}

/**
 * Subscriptions to drop on connect, should an earlier config have made them: the covered filters
 * (see {@link coveredSubscriptions}), and with `sharedGroup` each filter without the group, which
 * a persistent session kept from before the group was set would still deliver in full beside the
 * group's share. Dropping one that does not exist is harmless.
 */
export function staleSubscriptions(config: MqttSourceConfig): string[] {
  const unshared = config.sharedGroup === undefined ? [] : config.topics.map((t) => t.filter).filter((f) => !f.startsWith('$share/'));
  return [...new Set([...coveredSubscriptions(config), ...unshared])];
}

/** Topic filter → subscribe options, with the shared-subscription prefix when configured; covered filters left out. */
export function subscriptions(config: MqttSourceConfig): Record<string, IClientSubscribeOptions> {
  const covered = new Set(coveredSubscriptions(config));
  const result: Record<string, IClientSubscribeOptions> = {};
  for (const full of fullFilters(config)) {
    if (covered.has(full)) continue;
    // rh 1 (MQTT 5): retained messages only when the subscription is new, not on every reconnect.
    result[full] = config.protocolVersion === 5 ? { qos: 1, rh: 1 } : { qos: 1 };
  }
  return result;
}

/** The broker URL with any password replaced, for logs and errors. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    // To the last `@` (a password may hold an `@`, `/`, `?` or `#` that made the URL unparsable), so no part of it is left.
    return url.replace(/\/\/\S*@/, '//***@');
  }
}
