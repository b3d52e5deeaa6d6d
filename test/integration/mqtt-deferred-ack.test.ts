/**
 * Pins the one mqtt.js internal the MQTT source relies on (src/adapters/sources/mqtt/deferred-ack.ts)
 * against real Mosquitto: mqtt.js sends no PUBACK by itself, many messages are in flight at once,
 * un-acknowledged messages are redelivered after reconnect and acknowledged ones are not.
 * If an mqtt.js upgrade breaks this, this file fails.
 */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { deferAcks, sendPubacks } from '../../src/adapters/sources/mqtt/deferred-ack.js';
import { MOSQUITTO_URL, requireService } from '../helpers/services.js';

const mosquitto = await requireService('mosquitto');
const RUN = `${process.pid}-${Date.now().toString(36)}`;
const clientIds: string[] = [];

function sessionClient(clientId: string, options: IClientOptions): MqttClient {
  return mqtt.connect(MOSQUITTO_URL, { clientId, clean: false, manualConnect: true, reconnectPeriod: 0, ...options });
}

async function connectCollecting(client: MqttClient): Promise<{ packets: IPublishPacket[]; pubacksSent: number[] }> {
  const packets: IPublishPacket[] = [];
  const pubacksSent: number[] = [];
  client.on('packetsend', (p) => {
    if (p.cmd === 'puback' && p.messageId !== undefined) pubacksSent.push(p.messageId);
  });
  deferAcks(client, (packet, next) => {
    packets.push(packet);
    next();
  });
  const connected = new Promise((resolve) => client.once('connect', resolve));
  client.connect();
  await connected;
  return { packets, pubacksSent };
}

async function publish(topic: string, payloads: readonly string[]): Promise<void> {
  const pub = await mqtt.connectAsync(MOSQUITTO_URL, { protocolVersion: 4, reconnectPeriod: 0 });
  for (const p of payloads) await pub.publishAsync(topic, p, { qos: 1 });
  await pub.endAsync();
}

afterAll(async () => {
  if (!mosquitto) return;
  // Drop the persistent sessions these tests created.
  for (const clientId of clientIds) await (await mqtt.connectAsync(MOSQUITTO_URL, { clientId, clean: true, protocolVersion: 4, reconnectPeriod: 0 })).endAsync();
});

describe.runIf(mosquitto)('deferred PUBACK through mqtt.js internals (real Mosquitto)', () => {
  for (const protocolVersion of [5, 4] as const) {
    it(`MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: nothing is acknowledged until sendPubacks; un-acked messages come back after reconnect, acked ones do not`, async () => {
      const clientId = `ab-pin-${protocolVersion}-${RUN}`;
      clientIds.push(clientId);
      const topic = `ab-test/${RUN}/pin-${protocolVersion}`;
      const v5 = protocolVersion === 5 ? { properties: { sessionExpiryInterval: 300, receiveMaximum: 100 } } : {};

      const first = sessionClient(clientId, { protocolVersion, ...v5 });
      const a = await connectCollecting(first);
      await first.subscribeAsync(topic, { qos: 1 });
      const payloads = Array.from({ length: 10 }, (_, i) => `m${i}`);
      await publish(topic, payloads);

      // (c) All ten are handed over without any being acknowledged: delivery is not serialised on the ack.
      await expect.poll(() => a.packets.length).toBe(10);
      expect(a.packets.map((p) => p.payload.toString())).toEqual(payloads);
      expect(a.pubacksSent).toEqual([]);

      const ackedIds = a.packets.slice(0, 4).map((p) => p.messageId ?? -1);
      expect(sendPubacks(first, ackedIds)).toBe(true);
      // mqtt.js itself still sent none (ours go straight to its stream).
      expect(a.pubacksSent).toEqual([]);
      await first.endAsync(); // graceful: DISCONNECT goes out after the PUBACKs

      const second = sessionClient(clientId, { protocolVersion, ...v5 });
      const b = await connectCollecting(second);
      // (a) the six un-acknowledged messages are redelivered; (b) the four acknowledged ones are not.
      await expect.poll(() => b.packets.length).toBe(6);
      // A marker published now arrives after any redelivery, so nothing else was pending.
      await publish(topic, ['marker']);
      await expect.poll(() => b.packets.length).toBe(7);
      expect(b.packets.map((p) => p.payload.toString())).toEqual([...payloads.slice(4), 'marker']);
      expect(b.packets.slice(0, 6).every((p) => p.dup)).toBe(true);
      sendPubacks(second, b.packets.map((p) => p.messageId ?? -1));
      await second.endAsync();
    });
  }
});
