/**
 * The MQTT source against real Mosquitto with an in-memory sink: QoS-1 delivery, ack after commit,
 * redelivery after a failed commit, a persistent session across stop/start, graceful stop,
 * MQTT 3.1.1 backpressure and shared subscriptions. Each test uses its own client ids and topics.
 */
import mqtt from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createMqttSource, type MqttSource, type MqttSourceOptions, type SourceLogger } from '../../src/adapters/sources/mqtt/mqtt-source.js';
import { mqttSourceSchema, type MqttSourceConfig } from '../../src/config/schema.js';
import type { RawMessage } from '../../src/core/model/messages.js';
import type { IngestSink, SubmitResult } from '../../src/ports/source.js';
import { MOSQUITTO_URL, requireService } from '../helpers/services.js';

const mosquitto = await requireService('mosquitto');
const RUN = `${process.pid}-${Date.now().toString(36)}`;
const clientIds = new Set<string>();
const running: MqttSource[] = [];
const sinks: MemorySink[] = [];

/** An in-memory sink whose commits can be held back or made to fail. */
class MemorySink implements IngestSink {
  /** Every batch handed to submit, committed or not. */
  readonly submitted: RawMessage[][] = [];
  /** Messages whose submit resolved. */
  readonly committed: RawMessage[] = [];
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  /** Return an error to make that submit reject. */
  failWith: (batch: readonly RawMessage[], call: number) => Error | undefined = () => undefined;

  constructor() {
    sinks.push(this);
  }

  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  get received(): number {
    return this.submitted.reduce((n, b) => n + b.length, 0);
  }

  payloads(messages: readonly RawMessage[] = this.committed): string[] {
    return messages.map((m) => Buffer.from(m.payload).toString());
  }

  async submit(messages: readonly RawMessage[]): Promise<SubmitResult> {
    const call = this.submitted.push([...messages]);
    await this.gate;
    const failure = this.failWith(messages, call);
    if (failure) throw failure;
    this.committed.push(...messages);
    return { accepted: messages.length, quarantined: [] };
  }
}

function config(label: string, overrides: Record<string, unknown> = {}): MqttSourceConfig {
  const clientId = `ab-src-${label}-${RUN}`;
  clientIds.add(clientId);
  return mqttSourceSchema.parse({
    name: label,
    url: MOSQUITTO_URL,
    clientId,
    sessionExpiryMs: '5m',
    reconnectDelayMs: '100ms',
    topics: [{ filter: `ab-test/${RUN}/${label}/+`, decoder: { assetId: { topicSegment: 3 }, meters: { operatingHours: 'h' } } }],
    ...overrides,
  });
}

async function start(cfg: MqttSourceConfig, sink: IngestSink, options: MqttSourceOptions = {}): Promise<MqttSource> {
  const source = createMqttSource(cfg, { startTimeoutMs: 10_000, ...options });
  running.push(source);
  await source.start(sink);
  return source;
}

async function publish(label: string, payloads: readonly string[], asset = 'a1'): Promise<void> {
  const pub = await mqtt.connectAsync(MOSQUITTO_URL, { protocolVersion: 4, reconnectPeriod: 0 });
  for (const p of payloads) await pub.publishAsync(`ab-test/${RUN}/${label}/${asset}`, p, { qos: 1 });
  await pub.endAsync();
}

const numbered = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(async () => {
  for (const sink of sinks.splice(0)) sink.release(); // a failed test may leave commits held
  for (const s of running.splice(0)) await s.stop();
});

afterAll(async () => {
  if (!mosquitto) return;
  for (const clientId of clientIds) await (await mqtt.connectAsync(MOSQUITTO_URL, { clientId, clean: true, protocolVersion: 4, reconnectPeriod: 0 })).endAsync();
});

describe.runIf(mosquitto)('MQTT source (real Mosquitto)', () => {
  it('hands QoS-1 messages to the sink as raw messages and acknowledges them after the commit', async () => {
    const sink = new MemorySink();
    const cfg = config('basic');
    const source = await start(cfg, sink);
    expect(source.name).toBe('mqtt:basic');
    const payloads = numbered('p', 50);
    await publish('basic', payloads, 'tag-7');
    await expect.poll(() => sink.committed.length).toBe(50);
    expect(sink.payloads()).toEqual(payloads);
    const first = sink.committed[0];
    expect(first?.source).toBe('mqtt:basic');
    expect(first?.channel).toBe(`ab-test/${RUN}/basic/tag-7`);
    expect(first?.payload).toBeInstanceOf(Uint8Array);
    expect(typeof first?.receivedAt).toBe('number');
    await expect.poll(() => source.stats().acked).toBe(50);
    expect(source.stats()).toMatchObject({ received: 50, acked: 50, inflight: 0, submitFailures: 0, connected: true });
    await source.stop();

    // Everything was acknowledged: the same session gets nothing again, only what is new.
    const again = new MemorySink();
    await start(cfg, again);
    await publish('basic', ['marker']);
    await expect.poll(() => again.committed.length).toBe(1);
    expect(again.payloads()).toEqual(['marker']);
  });

  it('keeps many messages in flight at once instead of committing them one by one', async () => {
    const sink = new MemorySink();
    sink.hold();
    const source = await start(config('inflight', { maxInflight: 100 }), sink);
    await publish('inflight', numbered('i', 20));
    // All 20 were handed to the sink while none had committed: nothing waits on an earlier commit.
    await expect.poll(() => sink.received).toBe(20);
    expect(sink.committed).toHaveLength(0);
    expect(source.stats()).toMatchObject({ received: 20, acked: 0, inflight: 20 });
    sink.release();
    await expect.poll(() => source.stats().acked).toBe(20);
    expect(sink.payloads()).toEqual(numbered('i', 20));
  });

  it('does not acknowledge before the commit: a client taking over the session gets every un-committed message', async () => {
    const cfg = config('held', { maxInflight: 5, reconnectDelayMs: '1m' });
    const sink = new MemorySink();
    sink.hold();
    const warnings: string[] = [];
    const logger: SourceLogger = { debug() {}, info() {}, warn: (_fields, message) => warnings.push(message), error() {} };
    const source = await start(cfg, sink, { logger });
    await publish('held', numbered('h', 20));
    await expect.poll(() => sink.received).toBe(5);
    expect(source.stats()).toMatchObject({ received: 5, acked: 0 });

    // Same client id: Mosquitto hands the session over and disconnects the source, as after a crash.
    const taker = mqtt.connect(MOSQUITTO_URL, {
      clientId: cfg.clientId,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 300 },
      reconnectPeriod: 0,
    });
    const takenOver: string[] = [];
    taker.on('message', (_topic, payload) => takenOver.push(payload.toString()));
    await expect.poll(() => takenOver.length).toBe(20);
    expect(takenOver).toEqual(numbered('h', 20));
    await expect.poll(() => warnings.join('\n')).toMatch(/MQTT source disconnected; un-acknowledged messages will be redelivered after reconnect/);

    // Commits that resolve after their connection is gone are not acknowledged on another one.
    sink.release();
    await expect.poll(() => sink.committed.length).toBe(5);
    expect(source.stats()).toMatchObject({ acked: 0, leftForRedelivery: 5 });
    await taker.endAsync();
  });

  it('acknowledges nothing when a commit fails, reconnects, and gets the messages again', async () => {
    const sink = new MemorySink();
    sink.failWith = (_batch, call) => (call === 1 ? new Error('disk I/O error') : undefined);
    const source = await start(config('reject'), sink);
    const payloads = numbered('r', 10);
    await publish('reject', payloads);
    await expect.poll(() => new Set(sink.payloads()).size).toBe(10);
    expect(new Set(sink.payloads())).toEqual(new Set(payloads));
    // What the failed submit carried was redelivered and committed afterwards.
    const failed = sink.payloads(sink.submitted[0]);
    expect(failed.length).toBeGreaterThan(0);
    for (const p of failed) expect(sink.payloads()).toContain(p);
    // Sent again by the broker (DUP), and said so: a rule that took them before does not count them as late.
    const again = sink.submitted.slice(1).flat().filter((m) => failed.includes(Buffer.from(m.payload).toString()));
    expect(again.length).toBeGreaterThan(0);
    for (const m of again) expect(m.redelivered).toBe(true);
    expect(sink.submitted[0]!.every((m) => m.redelivered === undefined)).toBe(true);
    expect(source.stats().submitFailures).toBe(1);
    expect(source.stats().connects).toBeGreaterThanOrEqual(2);
    expect(source.stats().leftForRedelivery).toBeGreaterThanOrEqual(failed.length);
  });

  it('keeps its session across stop and start: messages published while stopped arrive after restart', async () => {
    const cfg = config('offline');
    const before = new MemorySink();
    const first = await start(cfg, before);
    await publish('offline', ['before']);
    await expect.poll(() => before.committed.length).toBe(1);
    await first.stop();

    const whileDown = numbered('down', 25);
    await publish('offline', whileDown);

    const after = new MemorySink();
    await start(cfg, after);
    await expect.poll(() => after.committed.length).toBe(25);
    expect(after.payloads()).toEqual(whileDown);
  });

  it('stop() waits for in-flight commits and acknowledges them before disconnecting', async () => {
    const cfg = config('drain');
    const sink = new MemorySink();
    sink.hold();
    const source = await start(cfg, sink);
    await publish('drain', numbered('d', 8));
    await expect.poll(() => sink.received).toBe(8);

    let stopped = false;
    const stopping = source.stop().then(() => (stopped = true));
    await settle(100);
    expect(stopped).toBe(false); // still waiting for the held commits
    sink.release();
    await stopping;
    expect(source.stats()).toMatchObject({ acked: 8, inflight: 0, connected: false });

    // The PUBACKs went out before the disconnect: nothing is redelivered.
    const again = new MemorySink();
    await start(cfg, again);
    await publish('drain', ['marker']);
    await expect.poll(() => again.committed.length).toBe(1);
    expect(again.payloads()).toEqual(['marker']);
  });

  it('MQTT 3.1.1: stops reading at maxInflight un-committed messages and resumes as commits resolve', async () => {
    const sink = new MemorySink();
    sink.hold();
    const source = await start(config('v311', { protocolVersion: 4, maxInflight: 3 }), sink);
    await publish('v311', numbered('v', 12));
    await expect.poll(() => sink.received).toBe(3);
    await settle(300);
    expect(sink.received).toBe(3); // Mosquitto would send up to 20; the source holds the rest back
    sink.release();
    await expect.poll(() => sink.committed.length).toBe(12);
    expect(sink.payloads()).toEqual(numbered('v', 12));
    await expect.poll(() => source.stats().acked).toBe(12);
  });

  it('MQTT 3.1.1: a retained message is taken once, not again at every reconnect (the protocol resends retained messages at each SUBSCRIBE)', async () => {
    // Mutation: every filter subscribed again on a reconnect that found the session.
    const topic = `ab-test/${RUN}/retained/a1`;
    const pub = await mqtt.connectAsync(MOSQUITTO_URL, { protocolVersion: 4, reconnectPeriod: 0 });
    await pub.publishAsync(topic, 'retained-1', { qos: 1, retain: true });
    try {
      const sink = new MemorySink();
      // The second batch fails: the source drops the connection and reconnects to the same session, twice.
      sink.failWith = (batch) => (batch.some((m) => Buffer.from(m.payload).toString().startsWith('fail')) && sink.submitted.length <= 3 ? new Error('disk I/O error') : undefined);
      const source = await start(config('retained', { protocolVersion: 4 }), sink);
      await expect.poll(() => sink.committed.length).toBe(1);
      await publish('retained', ['fail-1']);
      await expect.poll(() => source.stats().connects).toBeGreaterThanOrEqual(3);
      await publish('retained', ['marker']);
      await expect.poll(() => sink.payloads()).toContain('marker');
      expect(sink.payloads().filter((p) => p === 'retained-1')).toHaveLength(1);
      expect(sink.payloads()).toContain('fail-1');
    } finally {
      await pub.publishAsync(topic, '', { qos: 1, retain: true }); // clears the retained message
      await pub.endAsync();
    }
  });

  it('MQTT 3.1.1: the retained message the broker sends again at the next start is marked as redelivered, so an older reading in it is not taken for a meter fault', async () => {
    // Mutation: a retained copy resent for a subscription the session held handed over as new.
    const topic = `ab-test/${RUN}/retained-restart/a1`;
    let remembered: readonly string[] | undefined;
    const subscriptionMemory = { load: () => Promise.resolve(remembered), save: (f: readonly string[]) => Promise.resolve(void (remembered = f)) };
    const pub = await mqtt.connectAsync(MOSQUITTO_URL, { protocolVersion: 4, reconnectPeriod: 0 });
    await pub.publishAsync(topic, 'retained-1', { qos: 1, retain: true });
    try {
      const cfg = config('retained-restart', { protocolVersion: 4 });
      const first = new MemorySink();
      const source = await start(cfg, first, { subscriptionMemory });
      await expect.poll(() => first.committed.length).toBe(1);
      expect(first.committed[0]?.redelivered).toBeUndefined(); // new to the session: taken as new
      await publish('retained-restart', ['live']);
      await expect.poll(() => first.committed.length).toBe(2);
      expect(first.committed[1]?.redelivered).toBeUndefined();
      await source.stop();
      const again = new MemorySink();
      await start(cfg, again, { subscriptionMemory });
      await publish('retained-restart', ['after']);
      await expect.poll(() => again.payloads()).toEqual(['retained-1', 'after']);
      expect(again.committed.map((m) => m.redelivered)).toEqual([true, undefined]);
    } finally {
      await pub.publishAsync(topic, '', { qos: 1, retain: true }); // clears the retained message
      await pub.endAsync();
    }
  });

  it('takes a message once when a broader configured filter covers another (a broker sends a copy per matching subscription), also after a config that subscribed the narrower one', async () => {
    const decoder = { assetId: { topicSegment: 3 }, meters: { operatingHours: 'h' } };
    const narrow = { filter: `ab-test/${RUN}/overlap/+`, decoder };
    const broad = { filter: `ab-test/${RUN}/overlap/#`, decoder };
    // An earlier config subscribed only the narrow filter: the persistent session keeps it.
    const cfg = config('overlap', { topics: [narrow] });
    const before = new MemorySink();
    const first = await start(cfg, before);
    await first.stop();
    // Published while the service is down (queued under the old subscription), then the config gains the broad filter.
    await publish('overlap', ['queued']);
    const sink = new MemorySink();
    await start(config('overlap', { topics: [narrow, broad] }), sink);
    await expect.poll(() => sink.committed.length).toBe(1);
    await publish('overlap', numbered('o', 10));
    await expect.poll(() => sink.committed.length).toBe(11);
    await settle(300);
    expect(sink.payloads()).toEqual(['queued', ...numbered('o', 10)]);
  });

  it('setting sharedGroup drops the plain subscription an earlier config left in the session, so the process gets only its share', async () => {
    const topics = [{ filter: `ab-test/${RUN}/regroup/+`, decoder: { assetId: { topicSegment: 3 }, meters: { operatingHours: 'h' } } }];
    const before = await start(config('regroup', { topics }), new MemorySink());
    await before.stop();
    const sink = new MemorySink();
    await start(config('regroup', { topics, sharedGroup: `g-${RUN}` }), sink);
    await publish('regroup', numbered('g', 10));
    await expect.poll(() => sink.committed.length).toBe(10);
    await settle(300);
    expect(sink.payloads()).toEqual(numbered('g', 10));
  });

  it('drops a share group or a filter an earlier config subscribed under the client id (remembered in the store), so no message comes twice or to no decoder', async () => {
    // Mutation: the remembered subscriptions not unsubscribed (a removed sharedGroup kept its
    // $share/… subscription in the session: every message was taken twice).
    let remembered: readonly string[] | undefined;
    const subscriptionMemory = { load: () => Promise.resolve(remembered), save: (f: readonly string[]) => Promise.resolve(void (remembered = f)) };
    const decoder = { assetId: { topicSegment: 3 }, meters: { operatingHours: 'h' } };
    const kept = { filter: `ab-test/${RUN}/ungroup/+`, decoder };
    const dropped = { filter: `ab-test/${RUN}/ungroup-old/+`, decoder };
    const before = await start(config('ungroup', { topics: [kept, dropped], sharedGroup: `g-${RUN}` }), new MemorySink(), { subscriptionMemory });
    await before.stop();
    expect([...(remembered ?? [])].sort()).toEqual([`$share/g-${RUN}/${dropped.filter}`, `$share/g-${RUN}/${kept.filter}`].sort());
    const sink = new MemorySink();
    await start(config('ungroup', { topics: [kept] }), sink, { subscriptionMemory });
    expect(remembered).toEqual([kept.filter]);
    await publish('ungroup-old', ['gone']);
    await publish('ungroup', numbered('u', 10));
    await expect.poll(() => sink.committed.length).toBe(10);
    await settle(300);
    expect(sink.payloads()).toEqual(numbered('u', 10));
  });

  it('says when the broker keeps closing the connection soon after it is made, naming the clientId key: two services with one client id', async () => {
    // Mutation: only "MQTT source disconnected" at each close (Mosquitto 2.0 sends the dropped client no DISCONNECT 0x8E).
    const errors: { fields: Record<string, unknown>; message: string }[] = [];
    const logger: SourceLogger = { debug() {}, info() {}, warn() {}, error: (fields, message) => errors.push({ fields: fields as Record<string, unknown>, message }) };
    const cfg = config('twin', { reconnectDelayMs: '200ms' });
    await start(cfg, new MemorySink(), { logger, configKey: 'sources.mqtt.0' });
    await start(cfg, new MemorySink(), { logger: { ...logger, error() {} }, configKey: 'sources.mqtt.0' });
    await expect.poll(() => errors.length, { timeout: 8000 }).toBeGreaterThan(0);
    expect(errors[0]?.fields.key).toBe('sources.mqtt.0.clientId');
    expect(errors[0]?.message).toMatch(/^MQTT source: the broker closed the connection 3 times in a row, each within seconds of connecting, without saying why: .*same client id "ab-src-twin-/);
    await settle(1500);
    expect(errors).toHaveLength(1); // once per streak, not at every close
  });

  it('splits a shared subscription between two processes without losing or duplicating messages', async () => {
    const group = `g-${RUN}`;
    const sinkA = new MemorySink();
    const sinkB = new MemorySink();
    await start(config('shared-a', { sharedGroup: group, topics: [{ filter: `ab-test/${RUN}/shared/+`, decoder: { assetId: { topicSegment: 3 }, meters: { idleHours: 'h' } } }] }), sinkA);
    await start(config('shared-b', { sharedGroup: group, topics: [{ filter: `ab-test/${RUN}/shared/+`, decoder: { assetId: { topicSegment: 3 }, meters: { idleHours: 'h' } } }] }), sinkB);
    const payloads = numbered('s', 40);
    await publish('shared', payloads);
    await expect.poll(() => sinkA.committed.length + sinkB.committed.length).toBe(40);
    expect([...sinkA.payloads(), ...sinkB.payloads()].sort()).toEqual([...payloads].sort());
    expect(sinkA.committed.length).toBeGreaterThan(0);
    expect(sinkB.committed.length).toBeGreaterThan(0);
  });
});
