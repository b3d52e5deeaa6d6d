/**
 * The MQTT source: subscribes at QoS 1 on a persistent session and hands messages to the ingest
 * sink, acknowledging each one (PUBACK) only after the sink has committed it (invariant 1).
 *
 * Messages are not processed one at a time: mqtt.js is told not to acknowledge (deferred-ack.ts),
 * every message is submitted at once (grouped per event-loop turn), and its PUBACK goes out when
 * its submit resolves. The broker bounds how many are un-acknowledged at once (MQTT 5 receive
 * maximum = `maxInflight`); with MQTT 3.1.1 the source itself stops reading at `maxInflight`.
 *
 * A failed submit (store down) acknowledges nothing: the connection is dropped and re-opened after
 * `reconnectDelayMs`, and the broker redelivers everything not acknowledged. A PUBACK is only sent
 * on the connection the message arrived on; after a reconnect the broker redelivers instead, so a
 * message may be submitted twice but is never acknowledged before it is stored.
 * @module
 */
import mqtt, { type ClientSubscribeCallback, type IConnackPacket, type IPublishPacket, type ISubscriptionGrant, type MqttClient } from 'mqtt';
import type { MqttSourceConfig } from '../../../config/schema.js';
import type { RawMessage } from '../../../core/model/messages.js';
import type { IngestSink, RefusedSubscription, Source, SourceStats } from '../../../ports/source.js';
import { mqttClientOptions, redactedUrl, staleSubscriptions, subscribedAs, subscriptions, type ReadPem } from './client-options.js';
import { compileTopicFilter, type TopicMatcher } from '../../../core/normalize/topic-match.js';
import { deferAcks, sendPubacks } from './deferred-ack.js';

/** Structured logger; pino's methods have this shape. */
export interface SourceLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface MqttSourceOptions {
  /** @default no logging */
  readonly logger?: SourceLogger;
  /** How long `start()` waits for the first connection and subscription. @default 30 s */
  readonly startTimeoutMs?: number;
  /**
   * How long `stop()` waits for in-flight commits. After it, the connection is closed anyway and
   * those messages stay un-acknowledged (the broker redelivers them). @default 30 s
   */
  readonly stopTimeoutMs?: number;
  /** Largest number of messages handed to the sink in one `submit`. @default 500 */
  readonly maxSubmitBatch?: number;
  /** Time source for `receivedAt`. @default Date.now */
  readonly now?: () => number;
  /** Reads TLS PEM files. @default fs.readFileSync */
  readonly readPem?: ReadPem;
  /** The config key of this source, for messages that name the key to fix. @default `sources.mqtt[name=<name>]` */
  readonly configKey?: string;
  /**
   * Where the filters subscribed under this client id are remembered (the store): those an earlier
   * config subscribed and this one does not (a removed filter, a `sharedGroup` removed or renamed)
   * stay in the broker's persistent session, and are dropped on connect. @default not remembered
   */
  readonly subscriptionMemory?: SubscriptionMemory;
}

/** The filters a source subscribed under its client id on its broker, kept across runs. */
export interface SubscriptionMemory {
  load(): Promise<readonly string[] | undefined>;
  save(filters: readonly string[]): Promise<void>;
}

/** A connection the broker closes within this (plus twice the reconnect delay) of its making counts as a quick close. */
const QUICK_CLOSE_BASE_MS = 10_000;
/** Quick closes in a row after which the source says what most likely causes them. */
const QUICK_CLOSES_SAID = 3;

/** Counters for metrics and health. */
export interface MqttSourceStats extends SourceStats {
  readonly connected: boolean;
}

export interface MqttSource extends Source {
  stats(): MqttSourceStats;
  connected(): boolean;
  /** The filters the broker refused at the latest SUBACK (empty when all were granted). */
  refusedSubscriptions(): readonly RefusedSubscription[];
  /** While not connected, the latest connection error and the key of the broker's URL. */
  connectionError(): { readonly key: string; readonly error: string } | undefined;
}

type State = 'idle' | 'starting' | 'running' | 'recovering' | 'stopping' | 'stopped';

interface Received {
  readonly packet: IPublishPacket;
  readonly raw: RawMessage;
  /** The connection it arrived on; its PUBACK is valid only there. */
  readonly connection: number;
}

/** The SUBACK refusals MQTT 5 defines (§3.9.3). */
const SUBACK_REASONS: Readonly<Record<number, string>> = {
  0x80: 'Unspecified error',
  0x83: 'Implementation specific error',
  0x87: 'Not authorized',
  0x8f: 'Topic Filter invalid',
  0x91: 'Packet Identifier in use',
  0x97: 'Quota exceeded',
  0x9e: 'Shared Subscriptions not supported',
  0xa1: 'Subscription Identifiers not supported',
  0xa2: 'Wildcard Subscriptions not supported',
};

/** TLS failures that retrying will not fix. */
const TLS_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/;

/**
 * CONNACK refusals that pass by themselves: 3 Server unavailable (MQTT 3.1.1); 0x88 Server
 * unavailable, 0x89 Server busy, 0x8B Server shutting down, 0x97 Quota exceeded, 0x9F Connection
 * rate exceeded (MQTT 5). Every other refusal (bad credentials, not authorized, banned, a protocol
 * the broker does not speak) ends a start at once.
 */
const TRANSIENT_REFUSALS: ReadonlySet<number> = new Set([3, 0x88, 0x89, 0x8b, 0x97, 0x9f]);

/** Creates an MQTT source for one `sources.mqtt[]` entry. Its name is `mqtt:<config.name>`. */
export function createMqttSource(config: MqttSourceConfig, options: MqttSourceOptions = {}): MqttSource {
  const name = `mqtt:${config.name}`;
  const url = redactedUrl(config.url);
  const log = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const maxSubmitBatch = Math.max(1, options.maxSubmitBatch ?? 500);
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;

  let state: State = 'idle';
  let client: MqttClient | undefined;
  let sink: IngestSink | undefined;
  /** Increments on every connection and on a commit failure; acks for older numbers are not sent. */
  let connection = 0;
  let pending: Received[] = [];
  let flushScheduled = false;
  /** Received and not yet settled (pending + submitted). */
  let inflight = 0;
  /** mqtt.js continuations held back while `inflight` is at `maxInflight` (MQTT 3.1.1 backpressure). */
  let held: (() => void)[] = [];
  const submits = new Set<Promise<void>>();
  let recoverTimer: NodeJS.Timeout | undefined;
  let startWaiter: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** Whether the connection that just closed had been up (log an outage once, not every retry). */
  let connectedBefore = false;
  /** When the current connection was made, and the broker's closes in a row that came soon after one was made. */
  let connectedAt = 0;
  let quickCloses = 0;
  /** Whether the broker said why it closed the connection (an MQTT 5 DISCONNECT), already logged. */
  let closeExplained = false;
  /** The filters subscribed in this client id's session by an earlier run (or connection), from `subscriptionMemory`. */
  let earlier: string[] = [];
  /** The code of the connection error last logged at warn/error in this outage (null: none yet). */
  let outageErrorLogged: string | number | undefined | null = null;
  /** The latest connection error (with what to do, when the config is at fault) and the key at fault, for the start timeout's message and `connectionError()`. */
  let lastError: { readonly key: string; readonly error: string } | undefined;
  const counts = { received: 0, acked: 0, leftForRedelivery: 0, droppedQos0: 0, submitFailures: 0, connects: 0 };
  /** QoS 0 messages dropped since the last time the log said so. */
  let qos0Unsaid = 0;
  const configKey = options.configKey ?? `sources.mqtt[name=${config.name}]`;
  /** The user named in the URL (`mqtt://user:password@host`): mqtt.js connects with the URL's credentials, before `username` and `password`. */
  const urlUser = userOfUrl(config.url);
  /** The user the broker sees, for messages about its ACL; undefined: anonymous. */
  const user = urlUser ?? config.username;
  /** The filters refused at the latest SUBACK. */
  let refusedFilters: readonly RefusedSubscription[] = [];
  /** The filters the broker granted in this run, in the session it still holds (MQTT 3.1.1: not subscribed again after a reconnect). */
  const grantedInSession = new Set<string>();
  /** MQTT 3.1.1: the filters (subscribed again on this connection) whose retained messages come a second time, marked as redelivered. */
  let resentRetained: TopicMatcher[] = [];

  const accepting = (): boolean => state === 'running' || state === 'starting';

  function onPublish(packet: IPublishPacket, next: () => void): void {
    if (!accepting()) {
      // Not acknowledged: the broker redelivers it to our session later; QoS 0 it never does.
      leave(packet.qos === 0 ? 1 : 0, packet.qos === 0 ? 0 : 1);
      next();
      return;
    }
    counts.received++;
    inflight++;
    // DUP: the broker sent it on an earlier connection and no acknowledgement reached it. A
    // retained copy MQTT 3.1.1 resends for a subscription the session held (at a start) was most
    // likely taken before too: an older meter reading in it is then no meter fault.
    // RETAIN on a delivery: the broker's stored copy, sent for a subscription made (again at every
    // new one); quarantine keeps a malformed one once.
    const raw: RawMessage = packet.retain
      ? resentRetained.some((matches) => matches(packet.topic)) || packet.dup
        ? { source: name, channel: packet.topic, payload: packet.payload, receivedAt: now(), redelivered: true, retained: true }
        : { source: name, channel: packet.topic, payload: packet.payload, receivedAt: now(), retained: true }
      : packet.dup
        ? { source: name, channel: packet.topic, payload: packet.payload, receivedAt: now(), redelivered: true }
        : { source: name, channel: packet.topic, payload: packet.payload, receivedAt: now() };
    pending.push({ packet, raw, connection });
    if (pending.length >= maxSubmitBatch) flush();
    else if (!flushScheduled) {
      flushScheduled = true;
      // Packets of one socket read are handled on consecutive ticks; setImmediate runs after them all.
      setImmediate(flush);
    }
    if (inflight >= config.maxInflight) held.push(next);
    else next();
  }

  function flush(): void {
    flushScheduled = false;
    if (pending.length === 0 || !sink) return;
    // Messages from a connection that is gone will be redelivered; submitting them too only makes duplicates.
    const batch = pending.filter((r) => r.connection === connection);
    const stale = pending.length - batch.length;
    const staleQos0 = pending.filter((r) => r.connection !== connection && r.packet.qos === 0).length;
    pending = [];
    if (stale > 0) {
      leave(staleQos0, stale - staleQos0);
      // While recovering, said at the reconnect with those that arrive meanwhile.
      if (accepting()) sayDroppedQos0('that arrived on a connection that dropped before they reached the store');
      inflight -= stale;
      releaseHeld();
    }
    if (batch.length === 0) return;
    let submitted: Promise<unknown>;
    try {
      submitted = sink.submit(batch.map((r) => r.raw));
    } catch (err) {
      submitted = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const settled = submitted.then(
      () => acknowledge(batch),
      (err: unknown) => {
        const qos0 = batch.filter((r) => r.packet.qos === 0).length;
        leave(qos0, batch.length - qos0);
        onCommitFailure(err, qos0);
      },
    );
    const tracked = settled.finally(() => {
      inflight -= batch.length;
      submits.delete(tracked);
      releaseHeld();
    });
    submits.add(tracked);
  }

  /** Counts messages not stored or acknowledged: QoS 0 ones are lost, the others redelivered by the broker. */
  function leave(qos0: number, redelivered: number): void {
    counts.droppedQos0 += qos0;
    qos0Unsaid += qos0;
    counts.leftForRedelivery += redelivered;
  }

  /** Says once how many QoS 0 messages were dropped since it last said so. */
  function sayDroppedQos0(when: string): void {
    if (qos0Unsaid === 0) return;
    log.warn(
      { source: name, droppedQos0: qos0Unsaid },
      `MQTT source: ${qos0Unsaid} QoS 0 message(s) ${when} were not stored and are lost: QoS 0 has no acknowledgement, so the broker never redelivers it; have the devices publish at QoS 1`,
    );
    qos0Unsaid = 0;
  }

  function acknowledge(batch: readonly Received[]): void {
    const ids: number[] = [];
    let stale = 0;
    for (const r of batch) {
      if (r.packet.qos === 0 || r.packet.messageId === undefined) continue; // QoS 0 has no acknowledgement
      if (r.connection === connection) ids.push(r.packet.messageId);
      else stale++;
    }
    // One write for the batch's PUBACKs, on the connection the messages arrived on, if still up.
    if (ids.length > 0 && client?.connected && sendPubacks(client, ids)) counts.acked += ids.length;
    else stale += ids.length;
    counts.leftForRedelivery += stale;
  }

  function releaseHeld(): void {
    while (held.length > 0 && (inflight < config.maxInflight || !accepting())) held.shift()?.();
  }

  function onCommitFailure(err: unknown, qos0: number): void {
    counts.submitFailures++;
    if (!accepting() || !client) return; // already recovering or stopping
    const resumeAs = state; // 'starting' until start() has seen its first subscription succeed
    state = 'recovering';
    connection++; // nothing more is acknowledged on this connection
    qos0Unsaid -= qos0; // said here
    log.error(
      { source: name, err: errorMessage(err), retryInMs: config.reconnectDelayMs, droppedQos0: qos0 },
      `MQTT source: storing messages failed; not acknowledging them, reconnecting so the broker redelivers${qos0 > 0 ? ` (not the ${qos0} QoS 0 message(s) among them: those are lost)` : ''}`,
    );
    const c = client;
    c.end(true, () => {
      releaseHeld();
      recoverTimer = setTimeout(() => {
        recoverTimer = undefined;
        if (state !== 'recovering') return;
        state = resumeAs;
        c.reconnect();
      }, config.reconnectDelayMs);
    });
  }

  function onConnect(connack: IConnackPacket): void {
    connection++;
    counts.connects++;
    connectedBefore = true;
    connectedAt = Date.now();
    closeExplained = false;
    lastError = undefined;
    outageErrorLogged = null;
    sayDroppedQos0('that arrived while the source recovered from a failed commit');
    const c = client;
    if (!c) return;
    if (counts.connects > 1 && !connack.sessionPresent)
      log.warn(
        { source: name, url, clientId: config.clientId },
        'MQTT source: the broker had no session for this client id; messages published while it was disconnected may be lost (session expired, or the broker restarted without persistence)',
      );
    else log.info({ source: name, url, clientId: config.clientId, sessionPresent: connack.sessionPresent }, 'MQTT source connected');
    const subs = subscriptions(config);
    // What an earlier config subscribed in this session and this one does not is dropped too.
    const stale = [...new Set([...staleSubscriptions(config), ...earlier.filter((f) => !Object.hasOwn(subs, f))])];
    const on = connection;
    // MQTT 3.1.1 sends every retained message again at each SUBSCRIBE, even of a subscription the
    // session holds (MQTT 5's retain handling 1 asks not to): after a reconnect that found the
    // session, the filters it granted in this run are not subscribed again, so a retained message
    // is not ingested once more per reconnect. A session the broker lost is subscribed in full.
    if (!connack.sessionPresent) grantedInSession.clear();
    const toSubscribe = config.protocolVersion === 5 ? subs : Object.fromEntries(Object.entries(subs).filter(([f]) => !grantedInSession.has(f)));
    // The retained messages the broker sends again for filters an earlier run subscribed in this session.
    resentRetained = config.protocolVersion !== 5 && connack.sessionPresent ? Object.keys(toSubscribe).filter((f) => earlier.includes(f)).map(compileTopicFilter) : [];
    if (Object.keys(toSubscribe).length === 0) {
      log.debug({ source: name, url }, 'MQTT source: the session kept its subscriptions; not subscribing again (MQTT 3.1.1 would resend every retained message)');
      subscribed(c, subs, stale, [], false);
      return;
    }
    c.subscribe(toSubscribe, (err, granted, suback) => {
      const answered = err ? refusals(granted, suback) : [];
      if (err && answered === undefined && (on !== connection || !c.connected)) {
        // No SUBACK: the connection closed before the broker answered (a failed commit drops it on
        // purpose, or the broker went away), and mqtt.js failed the request with that. Nothing was
        // refused: the next connection subscribes again, and a start waits for that one.
        log.debug({ source: name, url, err: err.message }, 'MQTT source: the connection closed before the broker answered the subscription; subscribing again at the next connection');
        return;
      }
      if (err && answered === undefined) {
        const message = `broker ${url} refused the subscription to ${Object.keys(toSubscribe).join(', ')}: ${err.message}; check the topic filters and the broker's ACL for user ${user ?? '(anonymous)'}`;
        if (startWaiter) failStart(new Error(`MQTT source "${config.name}": ${message}`));
        else log.error({ source: name }, `MQTT source: ${message}`);
        return;
      }
      const refused = answered ?? [];
      for (const f of Object.keys(toSubscribe)) if (!refused.some((r) => r.filter === f)) grantedInSession.add(f);
      subscribed(c, subs, stale, refused, true);
    });
  }

  /**
   * After the SUBACK (or with nothing to subscribe again): the refusals logged (a start fails when
   * every filter is refused), the subscriptions of an earlier config dropped and the filters
   * remembered; then a start waiting for this connection goes on.
   */
  function subscribed(c: MqttClient, subs: Record<string, unknown>, stale: string[], refused: readonly RefusedSubscription[], answered: boolean): void {
    if (answered) refusedFilters = refused;
    if (refused.length > 0 && refused.length === Object.keys(subs).length && startWaiter) {
      // Nothing could ever arrive: fail the start, as a wrong password does, rather than run idle.
      failStart(new Error(`MQTT source "${config.name}": broker ${url} refused every subscription: ${refused.map((r) => `"${r.filter}" (${r.key}: ${r.reason})`).join(', ')}. ${refusalAdvice(refused[0]?.reasonCode ?? 0x80)}`));
      return;
    }
    // Some granted: their messages keep coming, so the source runs on, saying what is missing.
    for (const r of refused)
      log.error(
        { source: name, url, clientId: config.clientId, username: user, filter: r.filter, key: r.key, reasonCode: r.reasonCode },
        `MQTT source: broker ${url} refused the subscription to "${r.filter}" (${r.key}): ${r.reason}; no message matching it will arrive. ${refusalAdvice(r.reasonCode)} The subscription is tried again at every reconnect; restart the service once the broker allows it`,
      );
    const ready = () => {
      startWaiter?.resolve();
      startWaiter = undefined;
    };
    const remember = (dropped: boolean) => {
      const current = Object.keys(subs);
      // Filters that could not be dropped are kept in mind, to be tried again at the next connect.
      earlier = dropped ? current : [...new Set([...current, ...earlier])];
      const memory = options.subscriptionMemory;
      if (!memory) return ready();
      // A store that throws at once (a full disk, SQLite's synchronous driver) must not throw into
      // mqtt.js's SUBACK handler: it calls this callback again with that error, read as a refusal.
      let saved: Promise<void>;
      try {
        saved = memory.save(earlier);
      } catch (err) {
        saved = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      saved.then(ready, (saveErr: unknown) => {
        log.warn({ source: name, err: (saveErr as Error).message }, 'MQTT source: could not record its subscriptions in the store; a filter removed from the config later may stay subscribed');
        ready();
      });
    };
    if (stale.length === 0) return remember(true);
    // A covered filter, one without the share group, or one an earlier config had (another share
    // group, a removed filter) stays in the persistent session and would deliver its messages a
    // second time (or to no decoder); queued ones stay queued.
    c.unsubscribe(stale, (unsubErr) => {
      if (unsubErr) log.warn({ source: name, filters: stale, err: unsubErr.message }, 'MQTT source: could not drop subscriptions an earlier config may have left in the session; their messages may arrive twice');
      else if (earlier.some((f) => stale.includes(f))) log.info({ source: name, filters: earlier.filter((f) => stale.includes(f)) }, 'MQTT source: dropped the subscriptions an earlier config made under this client id');
      remember(!unsubErr);
    });
  }

  /**
   * The filters a SUBACK refused (reason code 0x80 or above), each with its config key; undefined
   * when the error carried no SUBACK to read (the connection closed first, say).
   */
  function refusals(granted: readonly ISubscriptionGrant[] | undefined, suback: Parameters<ClientSubscribeCallback>[2]): RefusedSubscription[] | undefined {
    const codes = suback?.granted;
    if (!granted || !codes || codes.length !== granted.length) return undefined;
    const out: RefusedSubscription[] = [];
    granted.forEach(({ topic }, i) => {
      const code = codes[i];
      if (typeof code !== 'number' || code < 0x80) return;
      const index = config.topics.findIndex((t) => subscribedAs(config, t.filter) === topic);
      const reason =
        config.protocolVersion === 5
          ? `reason code 0x${code.toString(16)} (${SUBACK_REASONS[code] ?? 'not one MQTT 5 defines'})`
          : `return code 0x${code.toString(16)} (failure; MQTT 3.1.1 gives no reason)`;
      out.push({ filter: topic, key: `${configKey}.topics.${index}.filter`, reasonCode: code, reason });
    });
    return out;
  }

  function refusalAdvice(code: number): string {
    const who = `client id "${config.clientId}", ${user === undefined ? 'anonymous' : `user "${user}"`}`;
    switch (code) {
      case 0x9e:
        return `The broker does not support shared subscriptions: remove ${configKey}.sharedGroup.`;
      case 0xa2:
        return `The broker does not allow wildcard subscriptions: list the topics without + or # (${configKey}.topics).`;
      case 0x97:
        return "The broker's quota for this client is exceeded: check its limits.";
      default: {
        // 0x80 (all MQTT 3.1.1 refusals) and 0x87 Not authorized: an ACL, as a rule.
        const acl = `Check the broker's ACL for this client (${who}): it must allow subscribing to this filter (Mosquitto's dynamic security plugin: a subscribePattern ACL in one of its roles); the broker's log may say more.`;
        // A refusal that gives no reason (all of MQTT 3.1.1's, an MQTT 5 "unspecified error") may be a broker without shared subscriptions.
        return config.sharedGroup !== undefined && (code === 0x80 || code === 0x83)
          ? `${acl} Or the broker does not support shared subscriptions ($share/…, which ${configKey}.sharedGroup asks for; not every MQTT 3.1.1 broker has them): remove ${configKey}.sharedGroup.`
          : acl;
      }
    }
  }

  /**
   * What a connection error says is wrong with the config: the key to fix and what to do, and
   * whether it ends a start at once (the broker refused us, or TLS failed: retrying will not help).
   * A network error (the broker down or unreachable) names the url and may pass by itself.
   */
  function diagnose(err: Error & { code?: string | number }): { readonly key: string; readonly hint: string; readonly final: boolean } {
    const code = err.code;
    const tlsUrl = /^(mqtts|wss):/i.test(config.url);
    // OpenSSL's "wrong version number": what answered is no TLS server (a plain MQTT or HTTP port).
    if (tlsUrl && /wrong version number/i.test(err.message))
      return {
        key: `${configKey}.url`,
        hint: `; what answers at ${url} does not speak TLS (a plain MQTT port?): use the broker's TLS port (8883 as a rule) in ${configKey}.url, or mqtt:// (ws:// for WebSocket) if it has none`,
        final: true,
      };
    // Mosquitto drops a connection so when one side speaks TLS and the other does not (as may a broker at its connection limit).
    if (code === 'ECONNRESET')
      return {
        key: `${configKey}.url`,
        hint: tlsUrl
          ? `; if the broker's port does not speak TLS (1883 as a rule), use its TLS port (8883 as a rule) in ${configKey}.url, or mqtt:// (ws:// for WebSocket) if it has none`
          : `; if the broker's port expects TLS (8883 as a rule), use mqtts:// (wss:// for WebSocket) in ${configKey}.url`,
        final: false,
      };
    if (typeof code === 'string' && TLS_ERRORS.test(code))
      return { key: `${configKey}.caFile`, hint: `; check ${configKey}.caFile, certFile and keyFile, and that the broker's certificate matches the host name in ${configKey}.url`, final: true };
    if (typeof code !== 'number') return { key: `${configKey}.url`, hint: '', final: false };
    // The broker is there but takes no client for now (starting up, overloaded, shutting down, over
    // a quota or connection rate): a passing condition, retried like a broker that is unreachable.
    if (TRANSIENT_REFUSALS.has(code))
      return { key: `${configKey}.url`, hint: '; the broker takes no connections for now (starting up, busy, shutting down, or over a quota or connection rate)', final: false };
    if (code === 2 || code === 0x85)
      return {
        key: `${configKey}.clientId`,
        hint: `; the broker does not take the client id "${config.clientId}": set ${configKey}.clientId to one it allows (an MQTT 3.1.1 broker need only take 1 to 23 letters and digits)`,
        final: true,
      };
    if (code === 1 || code === 0x84) return { key: `${configKey}.protocolVersion`, hint: `; the broker does not speak this MQTT version: set ${configKey}.protocolVersion: 4`, final: true };
    if (code === 4 || code === 5 || code === 0x86 || code === 0x87)
      return urlUser !== undefined
        ? { key: `${configKey}.url`, hint: `; check the user name and password in ${configKey}.url (user "${urlUser}"), and that the broker lets that user connect`, final: true }
        : config.username === undefined
        ? { key: `${configKey}.username`, hint: `; the broker takes no anonymous client: set ${configKey}.username and password`, final: true }
        : { key: `${configKey}.password`, hint: `; check ${configKey}.username and password (user "${config.username}"), and that the broker lets that user connect`, final: true };
    return { key: `${configKey}.url`, hint: '', final: true };
  }

  function onError(err: Error & { code?: string | number }): void {
    // After a failed start: mqtt.js reports the same failure again as its socket closes; nothing retries.
    if (state === 'stopped') return;
    const { key, hint, final } = diagnose(err);
    if (startWaiter && final) {
      failStart(new Error(`MQTT source "${config.name}": ${url}: ${err.message.trim()}${hint}`));
      return;
    }
    // Once per outage and kind of error at warn/error (a broker that comes back refusing our
    // credentials, after it was unreachable, is said too); the retries that follow at debug.
    const level = outageErrorLogged === err.code ? 'debug' : final ? 'error' : 'warn';
    outageErrorLogged = err.code;
    lastError = { key, error: `${err.message.trim()}${hint}` };
    log[level](
      { source: name, url, key, err: err.message, code: err.code, retryEveryMs: config.reconnectDelayMs },
      `MQTT source cannot connect to the broker ${url}: ${err.message.trim()}${hint}; retrying`,
    );
  }

  /**
   * A broker that closes each connection soon after it is made, without saying why: most often
   * another client taking the session with the same client id (Mosquitto 2.0 sends no DISCONNECT
   * to the client it drops, so the MQTT 5 reason 0x8E never comes). Said once per streak.
   */
  function noteBrokerClose(lastedMs: number): void {
    if (closeExplained || lastedMs >= QUICK_CLOSE_BASE_MS + 2 * config.reconnectDelayMs) {
      quickCloses = 0;
      return;
    }
    quickCloses++;
    if (quickCloses !== QUICK_CLOSES_SAID) return;
    log.error(
      { source: name, url, clientId: config.clientId, key: `${configKey}.clientId`, closes: quickCloses },
      `MQTT source: the broker closed the connection ${quickCloses} times in a row, each within seconds of connecting, without saying why: ` +
        `most often another client (a second service started with a copy of this config) connecting with the same client id "${config.clientId}" and taking the session in turn, ` +
        `so that each gets only part of the messages; give every service its own ${configKey}.clientId (and its own store), or check the broker's log for why it drops this client`,
    );
  }

  function failStart(err: Error): void {
    const waiter = startWaiter;
    startWaiter = undefined;
    state = 'stopped';
    if (client) endForGood(client, true);
    waiter?.reject(err);
  }

  return {
    name,

    async start(target: IngestSink): Promise<void> {
      if (state !== 'idle') throw new Error(`MQTT source "${config.name}" was already started; create a new source to start again`);
      state = 'starting';
      sink = target;
      earlier = [
        ...((await options.subscriptionMemory?.load().catch((err: unknown) => {
          log.warn({ source: name, err: errorMessage(err) }, 'MQTT source: could not read the subscriptions it made before from the store; a filter removed from the config may stay subscribed');
          return undefined;
        })) ?? []),
      ];
      const c = mqtt.connect(config.url, mqttClientOptions(config, options.readPem));
      client = c;
      deferAcks(c, onPublish);
      c.on('connect', onConnect);
      c.on('error', onError);
      c.on('disconnect', (packet) => {
        // MQTT 5 brokers say why they close the connection.
        const takenOver = packet.reasonCode === 0x8e;
        closeExplained = true;
        // 0x8B Server shutting down: a planned restart as a rule; the source reconnects by itself.
        if (packet.reasonCode === 0x8b) {
          log.warn(
            { source: name, url, clientId: config.clientId, reasonCode: packet.reasonCode, reason: packet.properties?.reasonString, retryEveryMs: config.reconnectDelayMs },
            `MQTT source: the broker is shutting down (reason code 0x8b, a planned restart as a rule); the source will reconnect every ${config.reconnectDelayMs} ms until it is back`,
          );
          return;
        }
        // 0x89 Server busy, 0x9C Use another server, 0x9D Server moved: the broker's backpressure
        // and redirects, not a fault of this service; it reconnects by itself (to the url configured).
        const redirect = redirectOf(packet.reasonCode, packet.properties?.serverReference);
        if (redirect) {
          log.warn(
            {
              source: name,
              url,
              clientId: config.clientId,
              reasonCode: packet.reasonCode,
              reason: packet.properties?.reasonString,
              ...(packet.properties?.serverReference !== undefined ? { serverReference: packet.properties.serverReference } : {}),
              key: `${configKey}.url`,
              retryEveryMs: config.reconnectDelayMs,
            },
            `MQTT source: ${redirect.said}; the source will reconnect to ${url} every ${config.reconnectDelayMs} ms${redirect.moved ? `. ${redirect.advice(`${configKey}.url`)}` : ''}`,
          );
          return;
        }
        log.error(
          { source: name, url, clientId: config.clientId, reasonCode: packet.reasonCode, reason: packet.properties?.reasonString },
          takenOver
            ? 'MQTT source: another client connected with the same client id and took over the session; give every service (and any other client of this broker) its own sources.mqtt[].clientId'
            : 'MQTT source: the broker closed the connection',
        );
      });
      c.on('close', () => {
        if (connectedBefore && accepting()) {
          log.warn({ source: name, url }, 'MQTT source disconnected; un-acknowledged messages will be redelivered after reconnect');
          noteBrokerClose(Date.now() - connectedAt);
        }
        connectedBefore = false;
        // Continuations of a closed connection only let mqtt.js discard its remaining packets.
        const stale = held;
        held = [];
        for (const next of stale) next();
      });
      const ready = new Promise<void>((resolve, reject) => (startWaiter = { resolve, reject }));
      const timer = setTimeout(
        () =>
          failStart(
            new Error(
              `MQTT source "${config.name}": could not connect to ${url} within ${Math.round(startTimeoutMs / 1000)} s${lastError === undefined ? '' : ` (${lastError.error})`}; ` +
                `check that the broker is running and reachable from here, and ${configKey}.url, then start again`,
            ),
          ),
        startTimeoutMs,
      );
      c.connect();
      try {
        await ready;
      } finally {
        clearTimeout(timer);
      }
      if (state === 'starting') state = 'running';
    },

    async stop(): Promise<void> {
      if (state === 'idle' || state === 'stopped' || state === 'stopping') return;
      state = 'stopping';
      if (recoverTimer) clearTimeout(recoverTimer);
      // Still starting (also in the reconnect delay after a commit failed during start): end it now.
      if (startWaiter) {
        const waiter = startWaiter;
        startWaiter = undefined;
        waiter.reject(new Error(`MQTT source "${config.name}" was stopped before it connected`));
      }
      // Hand over what has been received, then wait until every submit has settled and its PUBACKs are written.
      flush();
      releaseHeld();
      const drained = await waitUntilSettled(submits, stopTimeoutMs);
      if (!drained)
        log.warn(
          { source: name, inflight, waitedMs: stopTimeoutMs },
          'MQTT source: commits still pending at stop; closing without acknowledging them (the broker will redeliver)',
        );
      const c = client;
      if (c) await endClient(c);
      state = 'stopped';
      sayDroppedQos0('that arrived while the source was stopping or recovering from a failed commit');
      log.info(
        { source: name, ...counts },
        counts.connects > 0 ? 'MQTT source stopped (subscriptions kept: the broker queues QoS 1 messages until we return)' : 'MQTT source stopped before it connected to the broker in this run',
      );
    },

    stats(): MqttSourceStats {
      return { ...counts, inflight, connected: client?.connected ?? false };
    },

    connected(): boolean {
      return client?.connected ?? false;
    },

    refusedSubscriptions(): readonly RefusedSubscription[] {
      return refusedFilters;
    },

    connectionError(): { key: string; error: string } | undefined {
      return client?.connected ? undefined : lastError;
    },
  };
}

/**
 * What an MQTT 5 DISCONNECT that is the broker's backpressure or redirect says (0x89 Server busy,
 * 0x9C Use another server, 0x9D Server moved), with what to change for a redirect; undefined for
 * other reason codes. mqtt.js does not follow a server reference: the source reconnects to its url.
 */
function redirectOf(reasonCode: number | undefined, serverReference: string | undefined): { readonly said: string; readonly moved: boolean; advice(key: string): string } | undefined {
  const to = serverReference === undefined || serverReference === '' ? undefined : serverReference;
  const advice = (key: string): string =>
    to === undefined
      ? `The broker named no other server: ask its operator where this client is to connect and update ${key}`
      : `Update ${key} to the server the broker names ("${to}") to connect there`;
  switch (reasonCode) {
    case 0x89:
      return { said: 'the broker is busy (DISCONNECT reason code 0x89, Server busy) and closed the connection', moved: false, advice };
    case 0x9c:
      return { said: `the broker asks this client to use another server for now (DISCONNECT reason code 0x9c, Use another server${to === undefined ? '' : `: "${to}"`})`, moved: true, advice };
    case 0x9d:
      return { said: `the broker says it has moved for good (DISCONNECT reason code 0x9d, Server moved${to === undefined ? '' : `: to "${to}"`})`, moved: true, advice };
    default:
      return undefined;
  }
}

/** The user name of a URL's user-info, decoded as mqtt.js decodes it; undefined without one. */
function userOfUrl(url: string): string | undefined {
  try {
    const name = new URL(url).username;
    return name === '' ? undefined : decodeURIComponent(name);
  } catch {
    return undefined;
  }
}

/** Waits until every tracked submit has settled (new ones may be added meanwhile); false on timeout. */
async function waitUntilSettled(submits: ReadonlySet<Promise<void>>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    while (submits.size > 0) if ((await Promise.race([Promise.allSettled([...submits]), timeout])) === false) return false;
    return true;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Ends the connection without unsubscribing, so the broker keeps queuing for our session. A
 * graceful end writes DISCONNECT after the PUBACKs already queued on the socket.
 */
function endClient(client: MqttClient): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => endForGood(client, true, () => resolve()), 5_000);
    endForGood(client, !client.connected, () => {
      clearTimeout(force);
      resolve();
    });
  });
}

/**
 * Ends the client for good. With `manualConnect` (see client-options.ts), mqtt.js makes an ended
 * client connectable again once its stores are closed; a socket that closes only after that (a TLS
 * handshake that failed, ended from its own error) then starts mqtt.js's reconnect timer, which
 * keeps the process alive, connecting every `reconnectDelayMs`, after the source has stopped.
 * Without a reconnect period mqtt.js sets no timer.
 */
function endForGood(client: MqttClient, force: boolean, callback?: () => void): void {
  client.options.reconnectPeriod = 0;
  client.end(force, () => callback?.());
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const silentLogger: SourceLogger = { debug() {}, info() {}, warn() {}, error() {} };
