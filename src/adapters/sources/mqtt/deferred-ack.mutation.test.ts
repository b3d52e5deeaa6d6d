import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { deferAcks, sendPubacks } from './deferred-ack.js';

/** A client with just the private `stream` sendPubacks writes to. */
function clientWith(stream: { destroyed?: boolean; writable?: boolean } | undefined): { client: MqttClient; writes: Buffer[] } {
  const writes: Buffer[] = [];
  const s = stream && {
    ...stream,
    write(chunk: Buffer) {
      writes.push(chunk);
      return true;
    },
  };
  return { client: { stream: s } as unknown as MqttClient, writes };
}

describe('sendPubacks', () => {
  it('writes the PUBACKs of a batch as one buffer of 4-byte packets', () => {
    const { client, writes } = clientWith({ writable: true });
    expect(sendPubacks(client, [1, 300, 65535])).toBe(true);
    expect(writes).toEqual([Buffer.from([0x40, 2, 0, 1, 0x40, 2, 1, 44, 0x40, 2, 255, 255])]);
  });

  // Mutation: writing to a closed socket and reporting the acks as sent (they were not).
  it('reports false and writes nothing when the socket is destroyed, not writable, or missing', () => {
    for (const stream of [{ destroyed: true, writable: true }, { writable: false }, undefined]) {
      const { client, writes } = clientWith(stream);
      expect(sendPubacks(client, [1, 2]), JSON.stringify(stream)).toBe(false);
      expect(writes).toEqual([]);
    }
  });

  it('has nothing to write for no ids', () => {
    const { client, writes } = clientWith({ destroyed: true });
    expect(sendPubacks(client, [])).toBe(true);
    expect(writes).toEqual([]);
  });
});

describe('deferAcks', () => {
  it('hands each PUBLISH to the handler and answers mqtt.js with an error, so it sends no PUBACK itself', () => {
    const client = {} as MqttClient;
    const seen: number[] = [];
    let next: () => void = () => undefined;
    deferAcks(client, (packet, go) => {
      seen.push(packet.messageId ?? -1);
      next = go;
    });
    const answers: unknown[] = [];
    client.handleMessage({ cmd: 'publish', qos: 1, dup: false, retain: false, topic: 't', payload: Buffer.from('x'), messageId: 9 }, (err) => answers.push(err));
    expect(seen).toEqual([9]);
    expect(answers).toEqual([]); // mqtt.js waits until the handler lets it go on
    next();
    expect(answers).toHaveLength(1);
    expect(answers[0]).toBeInstanceOf(Error);
  });
});
