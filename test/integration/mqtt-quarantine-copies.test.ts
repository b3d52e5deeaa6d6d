/**
 * Malformed messages the broker sends more than once, through the MQTT source (MQTT 3.1.1, real
 * Mosquitto), the ingestor and the SQLite store: a retained one (its copy again at every start's
 * SUBSCRIBE) and a redelivered one (committed, its PUBACK lost with the connection). Quarantine
 * holds each once, counting the copies on its entry.
 */
import mqtt from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createMqttDecoder, createMqttSource, type MqttSource } from '../../src/adapters/sources/mqtt/index.js';
import type { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { mqttSourceSchema } from '../../src/config/schema.js';
import { IdentityIndex } from '../../src/core/identity/resolver.js';
import { DecoderRegistry } from '../../src/engine/ingestor.js';
import type { IngestSink } from '../../src/ports/source.js';
import { locationIngestor } from '../helpers/ingestor.js';
import { MOSQUITTO_URL, requireService } from '../helpers/services.js';
import { tempStore } from '../helpers/temp-store.js';

const mosquitto = await requireService('mosquitto');
const RUN = `${process.pid}-${Date.now().toString(36)}`;
const clientIds = [`ab-src-retained-quarantine-${RUN}`, `ab-src-redelivered-quarantine-${RUN}`];
const topic = `ab-test/${RUN}/rq/a1`;
const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

afterAll(async () => {
  if (!mosquitto) return;
  for (const clientId of clientIds) await (await mqtt.connectAsync(MOSQUITTO_URL, { clientId, clean: true, protocolVersion: 4, reconnectPeriod: 0 })).endAsync();
});

/** The source's config; each test has its own client id (its own session) and topics. */
const configOf = (clientId: string) =>
  mqttSourceSchema.parse({
    name: 'rq',
    url: MOSQUITTO_URL,
    clientId,
    protocolVersion: 4,
    reconnectDelayMs: '100ms',
    topics: [{ filter: clientId === clientIds[0] ? `ab-test/${RUN}/rq/+` : `ab-test/${RUN}/rd/+`, decoder: { assetId: { topicSegment: 3 }, meters: { operatingHours: 'h' } } }],
  });

/** One run of the service: the source started on the store, until `stop`; `sink` wraps the ingestor. */
async function run(store: SqliteStore, clientId = clientIds[0]!, sink: (ingestor: IngestSink) => IngestSink = (i) => i): Promise<MqttSource> {
  const config = configOf(clientId);
  const ingestor = locationIngestor(store, new IdentityIndex([]), { decoders: new DecoderRegistry().register('mqtt:rq', createMqttDecoder(config)) });
  const source = createMqttSource(config, { startTimeoutMs: 10_000 });
  await source.start(sink(ingestor));
  cleanup.push(() => source.stop());
  return source;
}

async function retain(payload: string): Promise<void> {
  const pub = await mqtt.connectAsync(MOSQUITTO_URL, { protocolVersion: 4, reconnectPeriod: 0 });
  await pub.publishAsync(topic, payload, { qos: 1, retain: true });
  await pub.endAsync();
}

describe.runIf(mosquitto)('malformed messages the broker sends more than once (real Mosquitto, MQTT 3.1.1)', () => {
  it('a retained one is quarantined once, its copy at each later start counted on its entry; a changed payload is a new entry', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    cleanup.push(() => retain('')); // clears the retained message
    await retain('{"h": oops');

    const first = await run(store);
    await expect.poll(() => first.stats().acked).toBe(1);
    expect(await store.listQuarantine({})).toMatchObject([{ channel: topic, payload: new Uint8Array(Buffer.from('{"h": oops')), code: 'undecodable', status: 'open' }]);
    await first.stop();

    // Two more starts: the broker resends the retained copy at each one's SUBSCRIBE.
    for (const start of [2, 3]) {
      const again = await run(store);
      await expect.poll(() => again.stats().acked).toBe(1);
      await again.stop();
      const rows = await store.listQuarantine({});
      expect(rows).toHaveLength(1);
      expect(rows[0]?.repeats).toBe(start - 1);
    }
    expect(await store.counters()).toMatchObject({ quarantined: 1, quarantineOpen: 1, quarantineRepeats: 2 });

    // A new retained payload, as bad: a new message, kept (live now, and its copy at the next start counted on it).
    const live = await run(store);
    await expect.poll(() => live.stats().acked).toBe(1);
    await retain('{"h": oops again');
    await expect.poll(() => live.stats().acked).toBe(2);
    await live.stop();
    const next = await run(store);
    await expect.poll(() => next.stats().acked).toBe(1);
    await next.stop();
    const rows = await store.listQuarantine({});
    expect(rows.map((r) => [Buffer.from(r.payload).toString(), r.repeats])).toEqual([
      ['{"h": oops', 3],
      ['{"h": oops again', 1],
    ]);
  });

  it('a redelivered copy of a message it committed (the PUBACK lost with the connection) is counted on its entry, not quarantined again', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    let lost = 0;
    // The first commit succeeds but the source hears a failure, as when the connection drops after the commit: no PUBACK goes out.
    const source = await run(store, clientIds[1], (ingestor) => ({
      submit: async (messages) => {
        const result = await ingestor.submit(messages);
        if (lost++ === 0) throw new Error('connection dropped after the commit');
        return result;
      },
    }));
    const pub = await mqtt.connectAsync(MOSQUITTO_URL, { protocolVersion: 4, reconnectPeriod: 0 });
    await pub.publishAsync(`ab-test/${RUN}/rd/a2`, '{"h": nope', { qos: 1 });
    await pub.endAsync();
    await expect.poll(() => source.stats().acked).toBe(1);
    expect(source.stats().submitFailures).toBe(1);
    const rows = await store.listQuarantine({});
    expect(rows.map((r) => [Buffer.from(r.payload).toString(), r.repeats])).toEqual([['{"h": nope', 1]]);
    expect(await store.counters()).toMatchObject({ quarantined: 1, quarantineRepeats: 1 });
  });
});
