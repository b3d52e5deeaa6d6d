/**
 * The MQTT source's bookkeeping, driven step by step through a scripted stand-in for the mqtt.js
 * client (no broker): which connection a PUBACK may go out on, what happens to messages that
 * arrive while stopping or after their connection dropped, batch sizes, failed commits, stop
 * during start and the start-up errors. test/integration/mqtt-source.test.ts covers the same
 * source against real Mosquitto; the orderings pinned here are hard to produce there.
 */
import type { IClientOptions } from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mqttSourceSchema } from '../../../config/schema.js';
import type { RawMessage } from '../../../core/model/messages.js';
import type { IngestSink, SubmitResult } from '../../../ports/source.js';
import { createMqttSource, type MqttSource, type MqttSourceOptions, type SourceLogger } from './mqtt-source.js';

/** A scripted mqtt.js client: the test says when the broker answers, drops the connection, and so on. */
const fake = await vi.hoisted(async () => {
  const { EventEmitter } = await import('node:events');

  /** One socket: records the PUBACK packet ids written to it. */
  class FakeStream {
    readonly acks: number[] = [];
    destroyed = false;
    readonly writable = true;
    write(chunk: Buffer): boolean {
      for (let o = 0; o + 4 <= chunk.length; o += 4) {
        if (chunk[o] !== 0x40 || chunk[o + 1] !== 0x02) throw new Error(`not a PUBACK at byte ${o}`);
        this.acks.push(chunk.readUInt16BE(o + 2));
      }
      return true;
    }
  }

  /** What the next client's broker does, set by a test before `start()`. */
  const script: { autoConnack: boolean; connectError?: Error & { code?: string | number }; subscribeError?: Error; subackCodes?: number[]; holdSubscribe: boolean } = {
    autoConnack: true,
    holdSubscribe: false,
  };

  class FakeClient extends EventEmitter {
    connected = false;
    stream: FakeStream | undefined;
    readonly streams: FakeStream[] = [];
    handleMessage: (packet: unknown, callback: (err?: Error) => void) => void = () => undefined;
    /** `force` of every end() call. */
    readonly ends: boolean[] = [];
    reconnects = 0;
    /** Hold the callback of the next end() until the test calls it. */
    holdNextEnd = false;
    heldEnd: (() => void) | undefined;
    readonly heldSubscribes: (() => void)[] = [];

    constructor(
      readonly url: string,
      readonly options: unknown,
    ) {
      super();
    }

    connect(): this {
      this.openStream();
      const failure = script.connectError;
      if (failure) setImmediate(() => this.emit('error', failure));
      else if (script.autoConnack) setImmediate(() => this.connack(false));
      return this;
    }

    /** mqtt.js opens a new socket (and writes CONNECT); `connected` stays false until the CONNACK. */
    openStream(): void {
      this.stream = new FakeStream();
      this.streams.push(this.stream);
    }

    connack(sessionPresent: boolean): void {
      this.connected = true;
      this.emit('connect', { cmd: 'connack', sessionPresent, returnCode: 0 });
    }

    /** The filters of every subscribe() call. */
    readonly subscribes: string[][] = [];

    subscribe(subs: Record<string, unknown>, callback: (err: Error | null, granted?: { topic: string; qos: number }[], suback?: { cmd: 'suback'; granted: number[] }) => void): this {
      this.subscribes.push(Object.keys(subs));
      const codes = script.subackCodes;
      // As mqtt.js: an error when any code is 0x80 or above, with the SUBACK beside it.
      const answer = codes
        ? () => callback(codes.some((c) => c >= 0x80) ? new Error('Subscribe error: Not authorized') : null, Object.keys(subs).map((topic) => ({ topic, qos: 1 })), { cmd: 'suback', granted: codes })
        : () => callback(script.subscribeError ?? null);
      if (script.holdSubscribe) this.heldSubscribes.push(answer);
      else setImmediate(answer);
      return this;
    }

    /** The socket closes (broker gone, session taken over, or end()). */
    drop(): void {
      if (!this.stream || this.stream.destroyed) return;
      this.stream.destroyed = true;
      this.connected = false;
      this.emit('close');
    }

    end(force: boolean, callback?: () => void): this {
      this.ends.push(force);
      this.drop();
      if (this.holdNextEnd) {
        this.holdNextEnd = false;
        this.heldEnd = callback;
      } else if (callback) setImmediate(callback);
      return this;
    }

    reconnect(): this {
      this.reconnects++;
      this.openStream();
      setImmediate(() => this.connack(true));
      return this;
    }

    /** The broker sends a QoS-1 PUBLISH (`dup`: sent again; `qos` 0: no packet id); returns whether mqtt.js was let go on to the next packet. */
    deliver(messageId: number, topic = 'fleet/a1/t', dup = false, qos: 0 | 1 = 1): () => boolean {
      let released = false;
      this.handleMessage(
        { cmd: 'publish', qos, dup, retain: false, topic, payload: Buffer.from(`m${messageId}`), ...(qos === 0 ? {} : { messageId }) },
        () => (released = true),
      );
      return () => released;
    }
  }

  return { script, clients: [] as FakeClient[], FakeClient };
});

vi.mock('mqtt', () => ({
  default: {
    connect: (url: string, options: IClientOptions) => {
      const client = new fake.FakeClient(url, options);
      fake.clients.push(client);
      return client;
    },
  },
}));

type FakeClient = InstanceType<typeof fake.FakeClient>;

/** A sink whose every submit waits for the test to resolve or reject it. */
class HeldSink implements IngestSink {
  constructor() {
    sinks.push(this);
  }
  readonly calls: { messages: RawMessage[]; commit: () => void; fail: (err: Error) => void }[] = [];
  submit(messages: readonly RawMessage[]): Promise<SubmitResult> {
    return new Promise((resolve, reject) => {
      this.calls.push({ messages: [...messages], commit: () => resolve({ accepted: messages.length, quarantined: [] }), fail: reject });
    });
  }
  sizes(): number[] {
    return this.calls.map((c) => c.messages.length);
  }
}

const running: MqttSource[] = [];
const sinks: HeldSink[] = [];
afterEach(async () => {
  fake.script.autoConnack = true;
  fake.script.holdSubscribe = false;
  delete fake.script.connectError;
  delete fake.script.subscribeError;
  delete fake.script.subackCodes;
  // Commits a test left open settle, so stop() does not wait for its timeout.
  for (const sink of sinks.splice(0)) for (const call of sink.calls) call.commit();
  for (const s of running.splice(0)) await s.stop();
  fake.clients.splice(0);
});

function config(overrides: Record<string, unknown> = {}) {
  return mqttSourceSchema.parse({
    name: 'fake',
    url: 'mqtt://broker.test:1883',
    clientId: 'ab-fake',
    username: 'ingest',
    reconnectDelayMs: 20,
    topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 }, meters: { operatingHours: 'h' } } }],
    ...overrides,
  });
}

function create(overrides: Record<string, unknown> = {}, options: MqttSourceOptions = {}): MqttSource {
  const source = createMqttSource(config(overrides), { startTimeoutMs: 2_000, stopTimeoutMs: 2_000, ...options });
  running.push(source);
  return source;
}

async function started(overrides: Record<string, unknown> = {}, options: MqttSourceOptions = {}): Promise<{ source: MqttSource; sink: HeldSink; client: FakeClient }> {
  const source = create(overrides, options);
  const sink = new HeldSink();
  await source.start(sink);
  const client = fake.clients.at(-1);
  if (!client) throw new Error('no client');
  return { source, sink, client };
}

/**
 * Lets pending setImmediate flushes and promise continuations run. Resolved from a setImmediate
 * queued after the 5 ms: on a loaded machine the timer alone can fire before a flush queued
 * earlier (the loop reaches the timers phase with 5 ms gone before it reaches the check phase).
 */
const turn = (): Promise<void> => new Promise((resolve) => setTimeout(() => setImmediate(resolve), 5));

function logger(): SourceLogger & { warns: string[]; errors: string[] } {
  const warns: string[] = [];
  const errors: string[] = [];
  return { warns, errors, debug() {}, info() {}, warn: (_f, m) => warns.push(m), error: (_f, m) => errors.push(m) };
}

describe('MQTT source: a PUBACK only on the connection the message arrived on', () => {
  // Mutation: acknowledge() sending the ids of an older connection on the current one.
  it('a commit that resolves after the connection was replaced sends no PUBACK on the new connection', async () => {
    const { source, sink, client } = await started();
    client.deliver(7);
    await turn();
    expect(sink.sizes()).toEqual([1]);
    // The broker drops us and we reconnect before the commit finishes. Packet id 7 on the new
    // connection may name another message (a broker that lost the session reuses ids).
    client.drop();
    client.reconnect();
    await turn();
    expect(client.connected).toBe(true);
    sink.calls[0]?.commit();
    await turn();
    expect(client.streams.map((s) => s.acks)).toEqual([[], []]);
    expect(source.stats()).toMatchObject({ acked: 0, leftForRedelivery: 1, inflight: 0 });
  });

  // Mutation: acknowledge() without the `client.connected` check.
  it('a commit that resolves while the client reconnects (new socket, no CONNACK yet) sends no PUBACK', async () => {
    const { source, sink, client } = await started();
    client.deliver(7);
    await turn();
    client.drop();
    client.openStream(); // mqtt.js's reconnect: CONNECT written, waiting for the broker's answer
    sink.calls[0]?.commit();
    await turn();
    expect(client.streams.map((s) => s.acks)).toEqual([[], []]);
    expect(source.stats()).toMatchObject({ acked: 0, leftForRedelivery: 1 });
  });

  // Mutation: the DUP flag not passed on (a redelivered message a rule drops would count as late).
  it('marks a message the broker sent again (DUP) as redelivered, and only that one', async () => {
    const { sink, client } = await started();
    client.deliver(1);
    client.deliver(2, 'fleet/a1/t', true);
    await turn();
    expect(sink.calls[0]?.messages.map((m) => 'redelivered' in m && m.redelivered)).toEqual([false, true]);
  });

  it('acknowledges committed messages in one write on their own connection', async () => {
    const { source, sink, client } = await started();
    client.deliver(1);
    client.deliver(2);
    client.deliver(3);
    await turn();
    expect(sink.sizes()).toEqual([3]);
    expect(client.stream?.acks).toEqual([]); // nothing before the commit
    sink.calls[0]?.commit();
    await turn();
    expect(client.stream?.acks).toEqual([1, 2, 3]);
    expect(source.stats()).toMatchObject({ received: 3, acked: 3, inflight: 0, leftForRedelivery: 0 });
  });
});

describe('MQTT source: messages of a connection that is gone', () => {
  // Mutations: flush() submitting stale messages; not freeing their in-flight count; keeping them pending.
  it('are not submitted when the connection dropped before they were handed over, and free their in-flight slots', async () => {
    const { source, sink, client } = await started();
    client.deliver(1);
    client.deliver(2);
    // Before the next turn hands them to the sink, the connection drops and a new one is up.
    client.drop();
    client.openStream();
    client.connack(true);
    await turn();
    expect(sink.calls).toHaveLength(0); // the broker redelivers them on the new connection
    expect(source.stats()).toMatchObject({ received: 2, inflight: 0, leftForRedelivery: 2 });

    client.deliver(1); // the redelivery
    await turn();
    expect(sink.calls.map((c) => c.messages.map((m) => Buffer.from(m.payload).toString()))).toEqual([['m1']]);
    sink.calls[0]?.commit();
    await turn();
    expect(client.stream?.acks).toEqual([1]);
    expect(source.stats()).toMatchObject({ received: 3, acked: 1, inflight: 0, leftForRedelivery: 2 });
  });

  // Mutation: onCommitFailure() not retiring the connection.
  it('after a failed commit, messages already received on that connection are not submitted; they come back after the reconnect', async () => {
    const { source, sink, client } = await started();
    client.deliver(1);
    await turn();
    client.deliver(2);
    client.deliver(3);
    sink.calls[0]?.fail(new Error('disk I/O error')); // before 2 and 3 are handed over
    await turn();
    expect(sink.sizes()).toEqual([1]);
    expect(client.ends).toEqual([true]); // dropped at once, so the broker redelivers
    expect(source.stats()).toMatchObject({ submitFailures: 1, acked: 0, inflight: 0, leftForRedelivery: 3 });

    await expect.poll(() => client.reconnects).toBe(1); // after reconnectDelayMs
    await expect.poll(() => source.stats().connects).toBe(2);
    for (const id of [1, 2, 3]) client.deliver(id);
    await turn();
    expect(sink.sizes()).toEqual([1, 3]);
    sink.calls[1]?.commit();
    await turn();
    expect(client.streams.map((s) => s.acks)).toEqual([[], [1, 2, 3]]);
  });

  // Mutation: flush() letting a synchronous throw of submit escape (an uncaught exception).
  it('a sink that throws instead of rejecting counts as a failed commit: nothing acknowledged, the source reconnects', async () => {
    const source = create();
    let calls = 0;
    await source.start({
      submit() {
        calls++;
        throw new Error('store closed');
      },
    });
    const client = fake.clients.at(-1) as FakeClient;
    client.deliver(1);
    await turn();
    expect(calls).toBe(1);
    expect(client.ends).toEqual([true]);
    expect(source.stats()).toMatchObject({ submitFailures: 1, acked: 0, inflight: 0 });
    await expect.poll(() => client.reconnects).toBe(1);
  });

  // Mutation: the recovery timer not checking that the source is still recovering.
  it('a stop while the connection is being dropped after a failed commit is final: no reconnect afterwards', async () => {
    const { source, sink, client } = await started();
    client.deliver(1);
    await turn();
    client.holdNextEnd = true; // the forced end's callback comes late
    sink.calls[0]?.fail(new Error('disk I/O error'));
    await expect.poll(() => client.ends).toEqual([true]);
    await source.stop();
    client.heldEnd?.();
    await new Promise((resolve) => setTimeout(resolve, 100)); // well past reconnectDelayMs
    expect(client.reconnects).toBe(0);
    expect(source.stats().connected).toBe(false);
  });
});

describe('MQTT source: QoS 0 messages it cannot store', () => {
  const qos0 = (client: FakeClient, n: number) => client.deliver(n, 'fleet/a1/t', false, 0);
  const logs = () => {
    const warns: string[] = [];
    const errors: string[] = [];
    const infos: string[] = [];
    const logger: SourceLogger = { debug() {}, info: (_f, m) => infos.push(m), warn: (_f, m) => warns.push(m), error: (_f, m) => errors.push(m) };
    return { warns, errors, infos, logger };
  };

  // Mutation: QoS 0 counted as left for redelivery (a broker never redelivers it), or not said.
  it('arriving while stopping: counted as dropped, not as left for redelivery, and said once with the count', async () => {
    const log = logs();
    const { source, sink, client } = await started({}, { logger: log.logger });
    client.deliver(1);
    await turn();
    const stopping = source.stop();
    qos0(client, 2);
    qos0(client, 3);
    client.deliver(4);
    sink.calls[0]?.commit();
    await stopping;
    expect(source.stats()).toMatchObject({ received: 1, acked: 1, leftForRedelivery: 1, droppedQos0: 2 });
    expect(log.warns.filter((m) => m.includes('QoS 0'))).toEqual([
      'MQTT source: 2 QoS 0 message(s) that arrived while the source was stopping or recovering from a failed commit were not stored and are lost: QoS 0 has no acknowledgement, so the broker never redelivers it; have the devices publish at QoS 1',
    ]);
    expect(log.infos.at(-1)).toBe('MQTT source stopped (subscriptions kept: the broker queues QoS 1 messages until we return)');
  });

  // Mutation: the failed commit's QoS 0 messages counted as redelivered; those of the recovery not said.
  it('in a failed commit or arriving during the recovery: the error says the failed ones are lost, the reconnect says the others', async () => {
    const log = logs();
    // A reconnect delay no slow turn of a loaded machine outlasts: messages 3 and 4 must come while it recovers.
    const { source, sink, client } = await started({ reconnectDelayMs: 300 }, { logger: log.logger });
    client.deliver(1);
    qos0(client, 2);
    await turn();
    sink.calls[0]?.fail(new Error('disk I/O error'));
    await turn();
    expect(log.errors.at(-1)).toBe('MQTT source: storing messages failed; not acknowledging them, reconnecting so the broker redelivers (not the 1 QoS 0 message(s) among them: those are lost)');
    qos0(client, 3); // while recovering
    qos0(client, 4);
    expect(source.stats()).toMatchObject({ leftForRedelivery: 1, droppedQos0: 3 });
    await expect.poll(() => source.stats().connects).toBe(2);
    expect(log.warns.filter((m) => m.includes('QoS 0'))).toEqual([
      'MQTT source: 2 QoS 0 message(s) that arrived while the source recovered from a failed commit were not stored and are lost: QoS 0 has no acknowledgement, so the broker never redelivers it; have the devices publish at QoS 1',
    ]);
    await source.stop();
    expect(log.warns.filter((m) => m.includes('QoS 0'))).toHaveLength(1); // not said again
  });

  it('received on a connection that dropped before they were handed over: counted as dropped and said', async () => {
    const log = logs();
    const { source, sink, client } = await started({}, { logger: log.logger });
    qos0(client, 1);
    client.deliver(2);
    client.drop();
    client.openStream();
    client.connack(true);
    await turn();
    expect(sink.calls).toHaveLength(0);
    expect(source.stats()).toMatchObject({ received: 2, leftForRedelivery: 1, droppedQos0: 1, inflight: 0 });
    expect(log.warns.filter((m) => m.includes('QoS 0'))).toEqual([expect.stringMatching(/^MQTT source: 1 QoS 0 message\(s\) that arrived on a connection that dropped before they reached the store were not stored and are lost/)]);
  });
});

describe('MQTT source: graceful stop', () => {
  // Mutation: stop() not flushing what was received.
  it('hands over what was received in the same turn, and acknowledges it after its commit, before disconnecting', async () => {
    const { source, sink, client } = await started();
    client.deliver(1);
    client.deliver(2);
    const stopping = source.stop();
    expect(sink.sizes()).toEqual([2]); // handed over at once, not left for a later turn
    await turn();
    expect(client.ends).toEqual([]); // waits for the commit
    sink.calls[0]?.commit();
    await stopping;
    expect(client.streams[0]?.acks).toEqual([1, 2]);
    expect(client.ends).toEqual([false]); // a graceful end: the PUBACKs go out before DISCONNECT
    expect(source.stats()).toMatchObject({ acked: 2, inflight: 0, connected: false });
  });

  // Mutation: onPublish() accepting while stopping; not counting what it leaves for redelivery.
  it('a message that arrives while stopping is not submitted or acknowledged, and mqtt.js is let go on', async () => {
    const { source, sink, client } = await started();
    client.deliver(1);
    await turn();
    const stopping = source.stop();
    const released = client.deliver(2);
    expect(released()).toBe(true);
    await turn();
    expect(sink.sizes()).toEqual([1]);
    expect(source.stats()).toMatchObject({ received: 1, leftForRedelivery: 1 });
    sink.calls[0]?.commit();
    await stopping;
    await turn();
    expect(sink.sizes()).toEqual([1]);
    expect(client.streams[0]?.acks).toEqual([1]);
  });

  // Mutation: a commit failure while stopping dropping the connection as if running.
  it('a commit that fails while stopping does not cost the other committed messages their PUBACK', async () => {
    const { source, sink, client } = await started();
    client.deliver(1);
    await turn();
    client.deliver(2);
    await turn();
    expect(sink.sizes()).toEqual([1, 1]);
    const stopping = source.stop();
    sink.calls[0]?.fail(new Error('disk I/O error'));
    await turn();
    sink.calls[1]?.commit();
    await stopping;
    expect(client.streams[0]?.acks).toEqual([2]); // 1 comes back from the broker; 2 is not redelivered
    expect(client.reconnects).toBe(0);
    expect(source.stats()).toMatchObject({ acked: 1, submitFailures: 1, connected: false });
  });

  // Mutation: stop() not rejecting a start that is still waiting.
  it('a stop before the broker answered ends start() at once, saying it was stopped', async () => {
    fake.script.autoConnack = false;
    const source = create({}, { startTimeoutMs: 10_000 });
    const starting = source.start(new HeldSink());
    starting.catch(() => undefined);
    await turn();
    await source.stop();
    await expect(starting).rejects.toThrow('MQTT source "fake" was stopped before it connected');
  });

  // Mutation: connectionError() kept after a reconnect, or not given while the broker is away.
  it('while not connected gives the latest connection error under the key of the broker URL, and nothing once connected again', async () => {
    const { source, client } = await started({}, { logger: logger(), configKey: 'sources.mqtt.3' });
    expect(source.connectionError()).toBeUndefined();
    client.drop();
    client.emit('error', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1883'), { code: 'ECONNREFUSED' }));
    expect(source.connectionError()).toEqual({ key: 'sources.mqtt.3.url', error: 'connect ECONNREFUSED 127.0.0.1:1883' });
    client.openStream();
    client.connack(true);
    expect(source.connectionError()).toBeUndefined();
    // Dropped again with no error yet: the old one is not given as this outage's.
    client.drop();
    expect(source.connectionError()).toBeUndefined();
  });

  // Mutation: the stop's log line saying the broker keeps the subscriptions for a source that never connected.
  it("a source stopped before it ever connected does not say the broker queues its messages; one that connected does", async () => {
    fake.script.autoConnack = false;
    const infos: string[] = [];
    const quiet = { ...logger(), info: (_f: object, m: string) => infos.push(m) };
    const source = create({}, { startTimeoutMs: 10_000, logger: quiet });
    const starting = source.start(new HeldSink());
    starting.catch(() => undefined);
    await turn();
    await source.stop();
    expect(infos.filter((m) => m.startsWith('MQTT source stopped'))).toEqual(['MQTT source stopped before it connected to the broker in this run']);
    fake.script.autoConnack = true;
    infos.length = 0;
    const { source: up } = await started({}, { logger: quiet });
    await up.stop();
    expect(infos.filter((m) => m.startsWith('MQTT source stopped'))).toEqual(['MQTT source stopped (subscriptions kept: the broker queues QoS 1 messages until we return)']);
  });

  // Mutation: recovery resuming as 'running' while start() still waits for its subscription.
  it('a stop after a failed commit during start (messages of the session before the SUBACK) still ends start() at once', async () => {
    fake.script.holdSubscribe = true;
    const source = create({}, { startTimeoutMs: 10_000 });
    const sink = new HeldSink();
    const starting = source.start(sink);
    starting.catch(() => undefined);
    await expect.poll(() => fake.clients.at(-1)?.connected).toBe(true);
    const client = fake.clients.at(-1) as FakeClient;
    client.deliver(1); // queued in the persistent session: it arrives before the SUBACK
    await turn();
    sink.calls[0]?.fail(new Error('disk I/O error'));
    await expect.poll(() => source.stats().connects).toBe(2); // reconnected; the SUBACK is still outstanding
    await source.stop();
    // Not the start timeout's "could not connect" 10 s later: the stop ended it.
    await expect(starting).rejects.toThrow(/was stopped before it connected/);
  });

  // Found with a full disk (test/chaos): the failed commit dropped the connection, mqtt.js failed the
  // pending SUBSCRIBE with that, and the source said the broker refused the subscription ("check
  // the topic filters and the broker's ACL"), failing the start.
  it('a subscription cut short by the connection closing (a failed commit during start) is no refusal: start waits for the next connection', async () => {
    fake.script.holdSubscribe = true;
    const log = logger();
    const source = create({}, { startTimeoutMs: 10_000, logger: log });
    const sink = new HeldSink();
    const starting = source.start(sink);
    let outcome = 'pending';
    starting.then(() => (outcome = 'started'), (err: Error) => (outcome = err.message));
    await expect.poll(() => fake.clients.at(-1)?.connected).toBe(true);
    const client = fake.clients.at(-1) as FakeClient;
    client.deliver(1); // queued in the persistent session: it arrives before the SUBACK
    await turn();
    sink.calls[0]?.fail(new Error('database or disk is full'));
    await turn();
    // As mqtt.js does on the socket's close: the pending SUBSCRIBE fails with the connection's end.
    fake.script.subscribeError = new Error('Connection closed');
    client.heldSubscribes.shift()?.();
    await turn();
    expect(outcome).toBe('pending');
    expect(log.errors.filter((m) => m.includes('refused'))).toEqual([]);
    // The next connection subscribes again, and the broker grants it.
    delete fake.script.subscribeError;
    await expect.poll(() => client.heldSubscribes.length).toBe(1);
    client.heldSubscribes.shift()?.();
    await expect.poll(() => outcome).toBe('started');
    expect(source.refusedSubscriptions()).toEqual([]);
  });

  // Found with a full disk (test/chaos): the store's synchronous SQLITE_FULL from recording the
  // subscriptions escaped into mqtt.js, which called the SUBACK callback again with it, logged as
  // "broker … refused the subscription …: database or disk is full; check … the broker's ACL".
  it('subscriptions the store cannot record (it throws at once: a full disk) are warned of, not reported as refused', async () => {
    const log = logger();
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    const memory = {
      load: () => Promise.resolve(undefined),
      save: (): Promise<void> => {
        throw full;
      },
    };
    const { source } = await started({}, { logger: log, subscriptionMemory: memory });
    expect(source.connected()).toBe(true);
    expect(log.errors).toEqual([]);
    expect(log.warns).toEqual(['MQTT source: could not record its subscriptions in the store; a filter removed from the config later may stay subscribed']);
    expect(source.refusedSubscriptions()).toEqual([]);
  });

  it('a stop in the reconnect delay after a failed commit during start ends start() at once', async () => {
    fake.script.holdSubscribe = true;
    const source = create({ reconnectDelayMs: 5_000 }, { startTimeoutMs: 10_000 });
    const sink = new HeldSink();
    const starting = source.start(sink);
    starting.catch(() => undefined);
    await expect.poll(() => fake.clients.at(-1)?.connected).toBe(true);
    const client = fake.clients.at(-1) as FakeClient;
    client.deliver(1);
    await turn();
    sink.calls[0]?.fail(new Error('disk I/O error'));
    await turn(); // the connection is dropped; the reconnect waits reconnectDelayMs
    expect(source.stats().connects).toBe(1);
    await source.stop();
    await expect(starting).rejects.toThrow(/was stopped before it connected/);
  });
});

describe('MQTT source: what it hands over', () => {
  // Mutation: receivedAt not taken from the clock at receipt (it is the event time when a decoder has no time path).
  it('stamps each message with its topic, its bytes and the time it was received', async () => {
    let clock = Date.UTC(2026, 2, 1, 12);
    const { sink, client } = await started({}, { now: () => clock });
    client.deliver(1, 'fleet/tag-1/t');
    clock += 1_500;
    client.deliver(2, 'fleet/tag-2/t');
    await turn();
    expect(sink.calls[0]?.messages).toEqual([
      { source: 'mqtt:fake', channel: 'fleet/tag-1/t', payload: Buffer.from('m1'), receivedAt: Date.UTC(2026, 2, 1, 12) },
      { source: 'mqtt:fake', channel: 'fleet/tag-2/t', payload: Buffer.from('m2'), receivedAt: Date.UTC(2026, 2, 1, 12) + 1_500 },
    ]);
  });
});

describe('MQTT source: batches', () => {
  // Mutation: flushing at `>` maxSubmitBatch.
  it('hands a burst to the sink in batches of at most maxSubmitBatch', async () => {
    const { sink, client } = await started({}, { maxSubmitBatch: 3 });
    for (let id = 1; id <= 7; id++) client.deliver(id);
    await turn();
    expect(sink.sizes()).toEqual([3, 3, 1]);
  });

  // Mutation: another default batch size.
  it('uses batches of 500 by default', async () => {
    const { sink, client } = await started();
    for (let id = 1; id <= 1_001; id++) client.deliver(id);
    await turn();
    expect(sink.sizes()).toEqual([500, 500, 1]);
  });
});

describe('MQTT source: connection and subscription', () => {
  // Mutation: the sessionPresent test inverted.
  it('warns that messages may be lost when a reconnect finds no session on the broker, and only then', async () => {
    const log = logger();
    const { client } = await started({}, { logger: log });
    client.drop();
    client.reconnect(); // the broker kept the session
    await turn();
    expect(log.warns.filter((w) => w.includes('no session'))).toEqual([]);
    client.drop();
    client.openStream();
    client.connack(false); // the broker lost it (restart without persistence, or expiry)
    expect(log.warns.filter((w) => w.includes('no session'))).toHaveLength(1);
    expect(log.warns.at(-1)).toMatch(/messages published while it was disconnected may be lost/);
  });

  // Mutations: MQTT 3.1.1 filters subscribed again on every reconnect (the broker resends each retained message); a lost session not subscribed again.
  it('MQTT 3.1.1: a reconnect that finds the session subscribes only the filters not granted yet; one that finds no session subscribes all', async () => {
    fake.script.subackCodes = [0x01, 0x80];
    const topics = [
      { filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 }, meters: { operatingHours: 'h' } } },
      { filter: 'yard/+/t', decoder: { assetId: { topicSegment: 1 }, meters: { operatingHours: 'h' } } },
    ];
    const { source, client } = await started({ topics, protocolVersion: 4 });
    expect(client.subscribes).toEqual([['fleet/+/t', 'yard/+/t']]);
    fake.script.subackCodes = [0x01];
    client.drop();
    client.reconnect(); // the session kept
    await turn();
    expect(client.subscribes.at(-1)).toEqual(['yard/+/t']);
    expect(source.refusedSubscriptions()).toEqual([]);
    client.drop();
    client.reconnect();
    await turn();
    expect(client.subscribes).toHaveLength(2); // everything granted in the session: nothing to subscribe
    fake.script.subackCodes = [0x01, 0x01];
    client.drop();
    client.openStream();
    client.connack(false); // the broker lost the session
    await turn();
    expect(client.subscribes.at(-1)).toEqual(['fleet/+/t', 'yard/+/t']);
    // MQTT 5 subscribes every time: retain handling 1 keeps the broker from resending retained messages.
    const v5 = await started({ protocolVersion: 5 });
    v5.client.drop();
    v5.client.reconnect();
    await turn();
    expect(v5.client.subscribes).toEqual([['fleet/+/t'], ['fleet/+/t']]);
  });

  it('a session taken over by another client names clientId to fix, not sharedGroup (one process per store)', async () => {
    const log = logger();
    const { client } = await started({}, { logger: log });
    client.emit('disconnect', { cmd: 'disconnect', reasonCode: 0x8e });
    expect(log.errors.at(-1)).toMatch(/same client id .*sources\.mqtt\[\]\.clientId/);
    expect(log.errors.at(-1)).not.toContain('sharedGroup');
  });

  // Mutation: a broker shutting down (a planned restart) logged at error as a broken connection.
  it('a broker shutting down (MQTT 5 DISCONNECT 0x8B) is logged at warn, saying the source will reconnect', async () => {
    const log = logger();
    const { client } = await started({ protocolVersion: 5 }, { logger: log });
    client.emit('disconnect', { cmd: 'disconnect', reasonCode: 0x8b });
    expect(log.errors).toEqual([]);
    expect(log.warns.at(-1)).toMatch(/broker is shutting down .*will reconnect/);
  });

  // Mutation: the broker's backpressure and redirects (0x89, 0x9C, 0x9D) logged at error as a broken connection.
  it('a busy broker (MQTT 5 DISCONNECT 0x89) is logged at warn, saying the source will reconnect', async () => {
    const log = logger();
    const { client } = await started({ protocolVersion: 5 }, { logger: log });
    client.emit('disconnect', { cmd: 'disconnect', reasonCode: 0x89 });
    expect(log.errors).toEqual([]);
    expect(log.warns.at(-1)).toMatch(/busy \(DISCONNECT reason code 0x89, Server busy\).*will reconnect to mqtt:\/\/broker\.test:1883 every 20 ms/);
    expect(log.warns.at(-1)).not.toContain('.url');
  });

  it.each([
    ['0x9C', 0x9c, 'Use another server'],
    ['0x9D', 0x9d, 'Server moved'],
  ])('a broker redirecting the client (MQTT 5 DISCONNECT %s) is logged at warn with the server it names and the url key to update', async (_label, code, reason) => {
    const log = logger();
    const warned: object[] = [];
    const { client } = await started({ protocolVersion: 5 }, { logger: { ...log, warn: (f, m) => (warned.push(f), log.warns.push(m)) } });
    client.emit('disconnect', { cmd: 'disconnect', reasonCode: code, properties: { serverReference: 'mqtt-b.test:1883' } });
    expect(log.errors).toEqual([]);
    expect(log.warns.at(-1)).toContain(`reason code 0x${code.toString(16)}, ${reason}`);
    expect(log.warns.at(-1)).toMatch(/will reconnect to mqtt:\/\/broker\.test:1883 every 20 ms\. Update sources\.mqtt\[name=fake\]\.url to the server the broker names \("mqtt-b\.test:1883"\)/);
    expect(warned.at(-1)).toMatchObject({ reasonCode: code, serverReference: 'mqtt-b.test:1883', key: 'sources.mqtt[name=fake].url' });
    // Without a server reference it still names the key to update.
    client.emit('disconnect', { cmd: 'disconnect', reasonCode: code });
    expect(log.errors).toEqual([]);
    expect(log.warns.at(-1)).toMatch(/named no other server: ask its operator .*update sources\.mqtt\[name=fake\]\.url$/);
  });

  // Mutation: every failed retry logged at warn, not once per outage.
  it('logs a lost broker once per outage at warn, and the retries that follow at debug', async () => {
    const log = logger();
    const debugs: string[] = [];
    const { client } = await started({}, { logger: { ...log, debug: (_f: object, m: string) => debugs.push(m) } });
    const refused = () => client.emit('error', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1883'), { code: 'ECONNREFUSED' }));
    client.drop();
    refused();
    refused();
    refused();
    const cannot = (lines: string[]) => lines.filter((l) => l.includes('cannot connect')).length;
    expect(cannot(log.warns)).toBe(1);
    expect(cannot(debugs)).toBe(2);
    client.openStream();
    client.connack(true);
    client.drop();
    refused(); // a new outage is reported again
    expect(cannot(log.warns)).toBe(2);
  });

  it('a broker that comes back refusing the credentials (after it was unreachable) is logged at error, and status names the credential keys, not the url', async () => {
    const errors: { fields: object; message: string }[] = [];
    const debugs: string[] = [];
    const log = { ...logger(), error: (fields: object, message: string) => errors.push({ fields, message }), debug: (_f: object, m: string) => debugs.push(m) };
    const { source, client } = await started({}, { logger: log, configKey: 'sources.mqtt.0' });
    client.drop();
    client.emit('error', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1883'), { code: 'ECONNREFUSED' }));
    // The broker restarts with a new password file: every retry is refused.
    const refusal = () => client.emit('error', Object.assign(new Error('Connection refused: Not authorized'), { code: 0x87 }));
    refusal();
    refusal();
    const advice = 'check sources.mqtt.0.username and password (user "ingest"), and that the broker lets that user connect';
    expect(errors).toEqual([
      {
        fields: expect.objectContaining({ key: 'sources.mqtt.0.password', code: 0x87 }) as object,
        message: `MQTT source cannot connect to the broker mqtt://broker.test:1883: Connection refused: Not authorized; ${advice}; retrying`,
      },
    ]);
    expect(debugs.filter((m) => m.includes('cannot connect'))).toHaveLength(1); // the second refusal
    expect(source.connectionError()).toEqual({ key: 'sources.mqtt.0.password', error: `Connection refused: Not authorized; ${advice}` });
    // A TLS failure names the TLS files.
    client.emit('error', Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }));
    expect(source.connectionError()?.key).toBe('sources.mqtt.0.caFile');
    expect(errors.at(-1)?.message).toContain('check sources.mqtt.0.caFile, certFile and keyFile');
  });

  // Mutation: the subscription's error ignored.
  it('fails start with the broker refusing the subscription, naming the filters and the user for the ACL', async () => {
    fake.script.subscribeError = new Error('Subscribe error: Not authorized');
    const source = create({}, { startTimeoutMs: 5_000 });
    // The refusal itself, not the start timeout's "could not connect" later.
    await expect(source.start(new HeldSink())).rejects.toThrow(
      'MQTT source "fake": broker mqtt://broker.test:1883 refused the subscription to fleet/+/t: Subscribe error: Not authorized; check the topic filters and the broker\'s ACL for user ingest',
    );
  });

  // Mutations: refusals not read from the SUBACK; a partial refusal failing start; the list not replaced on reconnect.
  it('starts with some filters refused, logs each with its key, shows them until a later SUBACK grants them', async () => {
    const log = logger();
    const errors: object[] = [];
    fake.script.subackCodes = [0x01, 0x87];
    const topics = [
      { filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 }, meters: { operatingHours: 'h' } } },
      { filter: 'yard/+/t', decoder: { assetId: { topicSegment: 1 }, meters: { operatingHours: 'h' } } },
    ];
    const { source, client } = await started({ topics, protocolVersion: 5 }, { logger: { ...log, error: (f, m) => (errors.push(f), log.errors.push(m)) }, configKey: 'sources.mqtt.2' });
    const refused = { filter: 'yard/+/t', key: 'sources.mqtt.2.topics.1.filter', reasonCode: 0x87, reason: 'reason code 0x87 (Not authorized)' };
    expect(source.refusedSubscriptions()).toEqual([refused]);
    expect(errors).toEqual([{ source: 'mqtt:fake', url: 'mqtt://broker.test:1883', clientId: 'ab-fake', username: 'ingest', filter: 'yard/+/t', key: 'sources.mqtt.2.topics.1.filter', reasonCode: 0x87 }]);
    expect(log.errors).toEqual([
      'MQTT source: broker mqtt://broker.test:1883 refused the subscription to "yard/+/t" (sources.mqtt.2.topics.1.filter): reason code 0x87 (Not authorized); no message matching it will arrive. Check the broker\'s ACL for this client (client id "ab-fake", user "ingest"): it must allow subscribing to this filter (Mosquitto\'s dynamic security plugin: a subscribePattern ACL in one of its roles); the broker\'s log may say more. The subscription is tried again at every reconnect; restart the service once the broker allows it',
    ]);
    // After start, every filter refused is logged, not fatal: the source keeps its connection.
    fake.script.subackCodes = [0x80, 0x80];
    client.drop();
    client.reconnect();
    await turn();
    expect(source.refusedSubscriptions().map((r) => r.filter)).toEqual(['fleet/+/t', 'yard/+/t']);
    expect(log.errors).toHaveLength(3);
    expect(source.connected()).toBe(true);
    // The ACL fixed: the next connection's SUBACK grants them.
    fake.script.subackCodes = [0x01, 0x01];
    client.drop();
    client.reconnect();
    await turn();
    expect(source.refusedSubscriptions()).toEqual([]);
  });

  it('MQTT 3.1.1: a refusal says the protocol gives no reason; every filter refused at start fails the start with the key of each', async () => {
    fake.script.subackCodes = [0x80];
    const source = create({ protocolVersion: 4 }, { startTimeoutMs: 5_000, configKey: 'sources.mqtt.0' });
    await expect(source.start(new HeldSink())).rejects.toThrow(
      'MQTT source "fake": broker mqtt://broker.test:1883 refused every subscription: "fleet/+/t" (sources.mqtt.0.topics.0.filter: return code 0x80 (failure; MQTT 3.1.1 gives no reason)). Check the broker\'s ACL for this client (client id "ab-fake", user "ingest")',
    );
  });

  it('MQTT 3.1.1: a refused shared subscription also names sharedGroup (a broker without shared subscriptions refuses them so, with no reason)', async () => {
    // Mutation: only the ACL advice, when the likelier cause is the $share/… filter itself.
    fake.script.subackCodes = [0x80];
    const shared = create({ protocolVersion: 4, sharedGroup: 'ab' }, { startTimeoutMs: 5_000, configKey: 'sources.mqtt.0' });
    await expect(shared.start(new HeldSink())).rejects.toThrow(
      /refused every subscription: "\$share\/ab\/fleet\/\+\/t" .*Check the broker's ACL .* Or the broker does not support shared subscriptions \(\$share\/…, which sources\.mqtt\.0\.sharedGroup asks for; not every MQTT 3\.1\.1 broker has them\): remove sources\.mqtt\.0\.sharedGroup\.$/,
    );
    fake.script.subackCodes = [0x80];
    await expect(create({ protocolVersion: 4 }, { startTimeoutMs: 5_000 }).start(new HeldSink())).rejects.toThrow(/the broker's log may say more\.$/);
  });

  it.each([
    [0x9e, 'The broker does not support shared subscriptions: remove sources.mqtt[name=fake].sharedGroup.'],
    [0xa2, 'The broker does not allow wildcard subscriptions: list the topics without + or # (sources.mqtt[name=fake].topics).'],
    [0x97, "The broker's quota for this client is exceeded: check its limits."],
  ])('a refusal with reason code %s says what to change', async (code, advice) => {
    fake.script.subackCodes = [code];
    await expect(create({}, { startTimeoutMs: 5_000 }).start(new HeldSink())).rejects.toThrow(advice);
  });

  // Mutations: the refusal codes and TLS errors that end start() at once, and their hints.
  it.each([
    [0x84, 'Connection refused: Unsupported Protocol Version', '; the broker does not speak this MQTT version: set sources.mqtt[name=fake].protocolVersion: 4'],
    [1, 'Connection refused: Unacceptable protocol version', '; the broker does not speak this MQTT version: set sources.mqtt[name=fake].protocolVersion: 4'],
    [0x86, 'Connection refused: Bad User Name or Password', '; check sources.mqtt[name=fake].username and password (user "ingest"), and that the broker lets that user connect'],
    [0x87, 'Connection refused: Not authorized', '; check sources.mqtt[name=fake].username and password (user "ingest"), and that the broker lets that user connect'],
    [4, 'Connection refused: Bad username or password', '; check sources.mqtt[name=fake].username and password (user "ingest"), and that the broker lets that user connect'],
    [5, 'Connection refused: Not authorized', '; check sources.mqtt[name=fake].username and password (user "ingest"), and that the broker lets that user connect'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain', "; check sources.mqtt[name=fake].caFile, certFile and keyFile, and that the broker's certificate matches the host name in sources.mqtt[name=fake].url"],
    ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames", "; check sources.mqtt[name=fake].caFile, certFile and keyFile, and that the broker's certificate matches the host name in sources.mqtt[name=fake].url"],
  ])('a connection refused with %s ends start() at once with what to fix', async (code, message, hint) => {
    fake.script.connectError = Object.assign(new Error(message), { code });
    const source = create({}, { startTimeoutMs: 5_000 });
    // The refusal itself, not the start timeout's "could not connect" later.
    await expect(source.start(new HeldSink())).rejects.toThrow(`MQTT source "fake": mqtt://broker.test:1883: ${message}${hint}`);
  });

  it('credentials given in the url: a refusal names the url to fix, not "set username" (mqtt.js connects with the url\'s user)', async () => {
    fake.script.connectError = Object.assign(new Error('Connection refused: Not authorized'), { code: 0x87 });
    const source = create({ url: 'mqtt://ingest%40yard:Wr0ng-pw@broker.test:1883', username: undefined }, { startTimeoutMs: 5_000, configKey: 'sources.mqtt.0' });
    await expect(source.start(new HeldSink())).rejects.toThrow(
      'MQTT source "fake": mqtt://ingest%40yard:***@broker.test:1883: Connection refused: Not authorized; check the user name and password in sources.mqtt.0.url (user "ingest@yard"), and that the broker lets that user connect',
    );
    delete fake.script.connectError;
    fake.script.subackCodes = [0x87];
    const acl = create({ url: 'mqtt://ingest:pw@broker.test:1883', username: undefined }, { startTimeoutMs: 5_000 });
    await expect(acl.start(new HeldSink())).rejects.toThrow('(client id "ab-fake", user "ingest")');
  });

  it('mqtts:// to a port that does not speak TLS: says so and what to write in url, not to check the certificate files', async () => {
    // Node's error for a plain MQTT (or HTTP) port answering a TLS handshake, OpenSSL's trailing newline included.
    const message = 'write EPROTO 806C6A36B07F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n';
    fake.script.connectError = Object.assign(new Error(message), { code: 'EPROTO' });
    const source = create({ url: 'mqtts://broker.test:1883' }, { startTimeoutMs: 5_000, configKey: 'sources.mqtt.0' });
    await expect(source.start(new HeldSink())).rejects.toThrow(
      `MQTT source "fake": mqtts://broker.test:1883: ${message.trim()}; what answers at mqtts://broker.test:1883 does not speak TLS (a plain MQTT port?): use the broker's TLS port (8883 as a rule) in sources.mqtt.0.url, or mqtt:// (ws:// for WebSocket) if it has none`,
    );
  });

  it('a port that drops the connection (TLS on one side only, as Mosquitto answers it): the start timeout says which scheme to try', async () => {
    fake.script.connectError = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const plain = create({ url: 'mqtt://broker.test:8883' }, { startTimeoutMs: 600, configKey: 'sources.mqtt.0' });
    await expect(plain.start(new HeldSink())).rejects.toThrow(
      "MQTT source \"fake\": could not connect to mqtt://broker.test:8883 within 1 s (read ECONNRESET; if the broker's port expects TLS (8883 as a rule), use mqtts:// (wss:// for WebSocket) in sources.mqtt.0.url); check that the broker is running",
    );
    const tls = create({ url: 'mqtts://broker.test:1883' }, { startTimeoutMs: 600, configKey: 'sources.mqtt.0' });
    await expect(tls.start(new HeldSink())).rejects.toThrow(
      "(read ECONNRESET; if the broker's port does not speak TLS (1883 as a rule), use its TLS port (8883 as a rule) in sources.mqtt.0.url, or mqtt:// (ws:// for WebSocket) if it has none)",
    );
  });

  it('a broker that refuses an anonymous client: the keys to set, not "check username and password" that are not configured', async () => {
    fake.script.connectError = Object.assign(new Error('Connection refused: Not authorized'), { code: 0x87 });
    const source = create({ username: undefined, password: undefined }, { startTimeoutMs: 5_000, configKey: 'sources.mqtt.0' });
    await expect(source.start(new HeldSink())).rejects.toThrow(
      'MQTT source "fake": mqtt://broker.test:1883: Connection refused: Not authorized; the broker takes no anonymous client: set sources.mqtt.0.username and password',
    );
  });

  // Mutation: every CONNACK refusal ending the start at once.
  it('keeps trying through a broker that answers "server unavailable" or "busy" at start, and starts once it takes the client', async () => {
    for (const [protocolVersion, code, text] of [
      [4, 3, 'Server unavailable'],
      [5, 0x88, 'Server unavailable'],
      [5, 0x89, 'Server busy'],
    ] as const) {
      fake.script.connectError = Object.assign(new Error(`Connection refused: ${text}`), { code });
      const log = logger();
      const source = create({ protocolVersion }, { startTimeoutMs: 5_000, logger: log, configKey: 'sources.mqtt.0' });
      let settled = false;
      const starting = source.start(new HeldSink()).finally(() => (settled = true));
      await turn();
      expect(settled).toBe(false);
      expect(log.warns.at(-1)).toBe(
        `MQTT source cannot connect to the broker mqtt://broker.test:1883: Connection refused: ${text}; the broker takes no connections for now (starting up, busy, shutting down, or over a quota or connection rate); retrying`,
      );
      expect(source.connectionError()?.key).toBe('sources.mqtt.0.url');
      delete fake.script.connectError;
      fake.clients.at(-1)?.reconnect(); // mqtt.js's reconnect timer; the broker takes it now
      await starting;
      expect(source.connected()).toBe(true);
    }
  });

  it('a client id the broker does not take fails the start at once, naming the clientId key', async () => {
    fake.script.connectError = Object.assign(new Error('Connection refused: Identifier rejected'), { code: 2 });
    const source = create({ protocolVersion: 4 }, { startTimeoutMs: 5_000, configKey: 'sources.mqtt.0' });
    await expect(source.start(new HeldSink())).rejects.toThrow(
      'MQTT source "fake": mqtt://broker.test:1883: Connection refused: Identifier rejected; the broker does not take the client id "ab-fake": set sources.mqtt.0.clientId to one it allows',
    );
  });

  it('keeps trying through a network error at start (the broker may come up), until its start timeout', async () => {
    fake.script.connectError = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1883'), { code: 'ECONNREFUSED' });
    const source = create({}, { startTimeoutMs: 600 });
    await expect(source.start(new HeldSink())).rejects.toThrow('MQTT source "fake": could not connect to mqtt://broker.test:1883 within 1 s');
  });

  it('a start that times out names the url key, the last connection error and what to do', async () => {
    fake.script.connectError = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1883'), { code: 'ECONNREFUSED' });
    const source = create({}, { startTimeoutMs: 600, configKey: 'sources.mqtt.0' });
    await expect(source.start(new HeldSink())).rejects.toThrow(
      'MQTT source "fake": could not connect to mqtt://broker.test:1883 within 1 s (connect ECONNREFUSED 127.0.0.1:1883); check that the broker is running and reachable from here, and sources.mqtt.0.url, then start again',
    );
  });
});
