/**
 * What a real Mosquitto 2.0 answers to subscriptions its ACL does not allow, and what the MQTT
 * source makes of it; and what it does with overlapping subscriptions of one client. Each broker is
 * private (its own port and config), started from the `mosquitto` binary.
 *
 * - The dynamic security plugin checks SUBSCRIBE: it refuses with SUBACK 0x87 (MQTT 5) or 0x80
 *   (3.1.1). The source logs each refused filter with its config key and shows it in its status.
 * - An `acl_file` does not: the SUBACK grants every filter, and the broker silently drops each
 *   message the client may not read. Nothing reaches the client to tell it.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMqttSource, type MqttSource, type SourceLogger } from '../../src/adapters/sources/mqtt/mqtt-source.js';
import { mqttSourceSchema } from '../../src/config/schema.js';
import type { RawMessage } from '../../src/core/model/messages.js';
import type { IngestSink, SubmitResult } from '../../src/ports/source.js';
import { requireDynsecPlugin, requireMosquittoBinary, startPrivateMosquitto, type PrivateMosquitto } from '../helpers/private-mosquitto.js';
import { waitFor } from '../helpers/wait.js';

const available = requireMosquittoBinary();
const dynsec = available ? requireDynsecPlugin() : undefined;
const decoder = { assetId: { topicSegment: 2 }, meters: { operatingHours: 'h' } };

/** Anonymous clients may publish anything but subscribe only below ab/ok/. */
const DYNSEC = JSON.stringify({
  defaultACLAccess: { publishClientSend: true, publishClientReceive: true, subscribe: false, unsubscribe: true },
  clients: [],
  groups: [{ groupname: 'anonymous', roles: [{ rolename: 'ok-reader' }] }],
  anonymousGroup: 'anonymous',
  roles: [{ rolename: 'ok-reader', acls: [{ acltype: 'subscribePattern', topic: 'ab/ok/#', allow: true }] }],
});

class Sink implements IngestSink {
  readonly topics: string[] = [];
  submit(messages: readonly RawMessage[]): Promise<SubmitResult> {
    this.topics.push(...messages.map((m) => m.channel));
    return Promise.resolve({ accepted: messages.length, quarantined: [] });
  }
}

function logger(): SourceLogger & { errors: { fields: object; message: string }[] } {
  const errors: { fields: object; message: string }[] = [];
  return { errors, debug() {}, info() {}, warn() {}, error: (fields, message) => errors.push({ fields, message }) };
}

const running: MqttSource[] = [];
let n = 0;

function source(url: string, protocolVersion: 4 | 5, filters: readonly string[], log?: SourceLogger): MqttSource {
  const cfg = mqttSourceSchema.parse({
    name: 'yard',
    url,
    clientId: `ab-acl-${process.pid}-${n++}`,
    protocolVersion,
    sessionExpiryMs: '1m',
    reconnectDelayMs: '100ms',
    topics: filters.map((filter) => ({ filter, decoder })),
  });
  const s = createMqttSource(cfg, { startTimeoutMs: 5_000, configKey: 'sources.mqtt.0', ...(log ? { logger: log } : {}) });
  running.push(s);
  return s;
}

async function publish(url: string, topics: readonly string[]): Promise<void> {
  const pub = await mqtt.connectAsync(url, { clientId: `ab-acl-pub-${process.pid}-${n++}` });
  for (const topic of topics) await pub.publishAsync(topic, '{"h":1}', { qos: 1 });
  await pub.endAsync();
}

afterAll(async () => {
  for (const s of running.splice(0)) await s.stop();
});

describe.runIf(dynsec !== undefined)('MQTT subscriptions a Mosquitto ACL refuses (dynamic security plugin)', () => {
  let broker: PrivateMosquitto;
  beforeAll(async () => {
    broker = await startPrivateMosquitto(['allow_anonymous true', `plugin ${dynsec ?? ''}`, 'plugin_opt_config_file {dir}/dynsec.json'], { 'dynsec.json': DYNSEC });
  });
  afterAll(async () => {
    for (const s of running.splice(0)) await s.stop();
    await broker.stop();
  });

  it.each([
    [5, 0x87, 'reason code 0x87 (Not authorized)'],
    [4, 0x80, 'return code 0x80 (failure; MQTT 3.1.1 gives no reason)'],
  ] as const)('MQTT %s: starts with the filters granted, logs the refused one with its key and what to do, and shows it in its status', async (version, reasonCode, reason) => {
    const log = logger();
    const sink = new Sink();
    const s = source(broker.url, version, ['ab/ok/+', 'ab/secret/+'], log);
    await s.start(sink);
    expect(s.refusedSubscriptions()).toEqual([{ filter: 'ab/secret/+', key: 'sources.mqtt.0.topics.1.filter', reasonCode, reason }]);
    expect(log.errors).toHaveLength(1);
    expect(log.errors[0]?.fields).toMatchObject({ source: 'mqtt:yard', filter: 'ab/secret/+', key: 'sources.mqtt.0.topics.1.filter', reasonCode });
    expect(log.errors[0]?.message).toContain(`refused the subscription to "ab/secret/+" (sources.mqtt.0.topics.1.filter): ${reason}; no message matching it will arrive`);
    expect(log.errors[0]?.message).toContain("Check the broker's ACL for this client (client id \"ab-acl-");
    // The granted filter works.
    await publish(broker.url, ['ab/secret/a1', 'ab/ok/a1']);
    await waitFor(() => sink.topics.length > 0, 'the message on ab/ok/a1');
    expect(sink.topics).toEqual(['ab/ok/a1']);
  });

  it('fails start when the broker refuses every filter: nothing could ever arrive', async () => {
    const s = source(broker.url, 5, ['ab/secret/+', 'other/#']);
    await expect(s.start(new Sink())).rejects.toThrow(
      /broker mqtt:\/\/127\.0\.0\.1:\d+ refused every subscription: "ab\/secret\/\+" \(sources\.mqtt\.0\.topics\.0\.filter: reason code 0x87 \(Not authorized\)\), "other\/#" \(sources\.mqtt\.0\.topics\.1\.filter: .*\)\. Check the broker's ACL/,
    );
  });

  it('overlapping subscriptions of one client: MQTT 5 gets a copy per subscription, MQTT 3.1.1 one; such a config is refused', async () => {
    const copies = async (protocolVersion: 4 | 5) => {
      const c = await mqtt.connectAsync(broker.url, { clientId: `ab-acl-overlap-${process.pid}-${n++}`, protocolVersion });
      const got: string[] = [];
      c.on('message', (topic) => got.push(topic));
      await c.subscribeAsync({ 'ab/ok/+/position': { qos: 1 }, 'ab/ok/t1/+': { qos: 1 } });
      await publish(broker.url, ['ab/ok/t1/position', 'ab/ok/t2/position']);
      await waitFor(() => got.includes('ab/ok/t2/position'), 'the message on ab/ok/t2/position');
      await new Promise((r) => setTimeout(r, 200));
      await c.endAsync();
      return got.filter((t) => t === 'ab/ok/t1/position').length;
    };
    expect(await copies(5)).toBe(2);
    expect(await copies(4)).toBe(1);
    const parsed = mqttSourceSchema.safeParse({ name: 'yard', url: broker.url, topics: [{ filter: 'ab/ok/+/position', decoder }, { filter: 'ab/ok/t1/+', decoder }] });
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['topics.1.filter', expect.stringContaining('"ab/ok/t1/+" overlaps topics.0 ("ab/ok/+/position"): a message on a topic both match (ab/ok/t1/position) would be delivered once per subscription')],
    ]);
  });
});

describe.runIf(available)('MQTT subscriptions a Mosquitto acl_file does not allow', () => {
  let broker: PrivateMosquitto;
  beforeAll(async () => {
    broker = await startPrivateMosquitto(['allow_anonymous true', 'acl_file {dir}/acl'], { acl: 'topic read ab/ok/#\npattern write #\n' });
  });
  afterAll(async () => {
    for (const s of running.splice(0)) await s.stop();
    await broker.stop();
  });

  it.each([5, 4] as const)('MQTT %s: the broker grants the subscription and drops what the client may not read, so nothing is refused for the source to show', async (version) => {
    const log = logger();
    const sink = new Sink();
    const s = source(broker.url, version, ['ab/ok/+', 'ab/secret/+'], log);
    await s.start(sink);
    expect(s.refusedSubscriptions()).toEqual([]);
    await publish(broker.url, ['ab/secret/a1', 'ab/ok/a1']);
    await waitFor(() => sink.topics.length > 0, 'the message on ab/ok/a1');
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.topics).toEqual(['ab/ok/a1']);
    expect(log.errors).toEqual([]);
  });
});
