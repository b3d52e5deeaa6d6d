/**
 * The one place that reaches into mqtt.js internals (mqtt@5.16; pinned by
 * test/integration/mqtt-deferred-ack.test.ts against real Mosquitto).
 *
 * Why: invariant 1 says a QoS-1 PUBACK may go out only after the message is committed. mqtt.js
 * sends the PUBACK when `client.handleMessage(packet, callback)` calls back, and it parses the
 * next incoming packet only after that (the `work()` loop in client.js). Waiting in handleMessage
 * would therefore commit one message at a time. Instead we call back at once with a marker error,
 * which mqtt.js (handlers/publish.js, QoS 1 branch) treats as "done, send no PUBACK", and send the
 * PUBACKs ourselves, a batch at a time, on mqtt.js's private `stream` once the commit has
 * resolved. Many messages are then un-acknowledged at once (bounded by the broker's inflight
 * window, MQTT 5 receive maximum), so the sink can commit them in batches.
 * @module
 */
import type { IPublishPacket, MqttClient } from 'mqtt';

/** Handed to handleMessage's callback: mqtt.js then skips its automatic PUBACK. */
const PUBACK_DEFERRED = new Error('assetbridge: PUBACK deferred until the message is committed');

/**
 * Receives each PUBLISH. `next()` lets mqtt.js go on with the next incoming packet: call it at once
 * to keep many messages in flight, or later to push back on the broker.
 */
export type DeferredAckHandler = (packet: IPublishPacket, next: () => void) => void;

/** Routes every incoming PUBLISH of `client` to `onPublish` and stops mqtt.js from acknowledging it. */
export function deferAcks(client: MqttClient, onPublish: DeferredAckHandler): void {
  client.handleMessage = (packet, callback) => {
    onPublish(packet, () => callback(PUBACK_DEFERRED));
  };
}

interface MqttClientInternals {
  readonly stream?: { write(chunk: Buffer): boolean; readonly destroyed?: boolean; readonly writable?: boolean };
}

/**
 * Sends the PUBACKs for `messageIds` in one socket write. Only call it while the connection the
 * messages arrived on is still up (`client.connected`): the acks are valid only there.
 *
 * A PUBACK with reason Success and no properties is the same four bytes in MQTT 3.1.1 and 5
 * (0x40, remaining length 2, packet id; MQTT 5 §3.4.2.1 lets the reason code be omitted), so the
 * acks of a committed batch are written as one buffer straight to mqtt.js's stream, between its
 * own whole-packet writes, instead of one mqtt.js packet write per message. mqtt.js keeps no
 * state for received QoS 1 messages, so it needs no word of these acks.
 */
export function sendPubacks(client: MqttClient, messageIds: readonly number[]): boolean {
  const stream = (client as unknown as MqttClientInternals).stream;
  if (messageIds.length === 0) return true;
  if (!stream || stream.destroyed || stream.writable === false) return false;
  const buf = Buffer.allocUnsafe(4 * messageIds.length);
  let o = 0;
  for (const id of messageIds) {
    buf[o] = 0x40;
    buf[o + 1] = 0x02;
    buf.writeUInt16BE(id, o + 2);
    o += 4;
  }
  stream.write(buf);
  return true;
}
