/**
 * The one place that reaches into mqtt.js internals (mqtt@5.16; pinned by
 * test/integration/mqtt-deferred-ack.test.ts against real Mosquitto).
 *
 * Why: invariant 1 says a QoS-1 PUBACK may go out only after the message is committed. mqtt.js
 * sends the PUBACK when `client.handleMessage(packet, callback)` calls back, and it parses the
 * next incoming packet only after that (the `work()` loop in client.js). Waiting in handleMessage
 * would therefore commit one message at a time. Instead we call back at once with a marker error,
 * which mqtt.js (handlers/publish.js, QoS 1 branch) treats as "done, send no PUBACK", and send the
 * PUBACK ourselves through the private `_sendPacket` once the commit has resolved. Many messages
 * are then un-acknowledged at once (bounded by the broker's inflight window, MQTT 5 receive
 * maximum), so the sink can commit them in batches.
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
  _sendPacket(packet: { cmd: 'puback'; messageId: number }, cb?: (err?: Error) => void): void;
}

/**
 * Sends the PUBACK for `messageId`. Only call it while the connection the message arrived on is
 * still up: mqtt.js would otherwise queue it for the next connection.
 */
export function sendPuback(client: MqttClient, messageId: number): void {
  (client as unknown as MqttClientInternals)._sendPacket({ cmd: 'puback', messageId });
}
