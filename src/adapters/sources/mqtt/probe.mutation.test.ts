/**
 * `config check --connect` against real Mosquitto while the service's own session exists: the
 * probe neither takes that session over nor leaves a session of its own behind.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { MOSQUITTO_URL, requireService } from '../../../../test/helpers/services.js';
import { mqttSourceSchema } from '../../../config/schema.js';
import { probeClientId, probeMqttSource } from './probe.js';

const mosquitto = await requireService('mosquitto');
const RUN = `${process.pid}-${Date.now().toString(36)}`;
const clientIds: string[] = [];

const config = (clientId: string, protocolVersion: 4 | 5) =>
  mqttSourceSchema.parse({ name: 'probe', url: MOSQUITTO_URL, clientId, protocolVersion, topics: [{ filter: `ab-test/${RUN}/probe/+`, decoder: { assetId: { topicSegment: 3 }, meters: { operatingHours: 'h' } } }] });

afterAll(async () => {
  if (!mosquitto) return;
  for (const clientId of clientIds) await (await mqtt.connectAsync(MOSQUITTO_URL, { clientId, clean: true, protocolVersion: 4, reconnectPeriod: 0 })).endAsync();
});

describe.runIf(mosquitto)('probeMqttSource (real Mosquitto)', () => {
  for (const protocolVersion of [5, 4] as const) {
    it(`MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: connects beside a running service without taking over its session, and leaves no session behind`, async () => {
      const clientId = `ab-probe-${protocolVersion}-${RUN}`;
      const probeId = probeClientId(clientId);
      clientIds.push(clientId, probeId);
      // The running service's connection, with its persistent session.
      const service = await mqtt.connectAsync(MOSQUITTO_URL, { clientId, clean: false, protocolVersion: 4, reconnectPeriod: 0 });
      let closed = false;
      service.on('close', () => (closed = true));

      const result = await probeMqttSource(config(clientId, protocolVersion), 5_000);
      expect(result.ok).toBe(true);
      expect(result.detail).toMatch(new RegExp(`^connect to ${MOSQUITTO_URL} \\(MQTT ${protocolVersion === 5 ? '5' : '3\\.1\\.1'}\\) in \\d+ ms$`));

      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(closed).toBe(false); // not taken over
      expect(service.connected).toBe(true);
      await service.endAsync();

      // The probe's own client id has no session on the broker.
      const after = await new Promise<boolean>((resolve, reject) => {
        const c = mqtt.connect(MOSQUITTO_URL, { clientId: probeId, clean: false, protocolVersion: 4, reconnectPeriod: 0 });
        c.once('connect', (connack) => void c.endAsync().then(() => resolve(connack.sessionPresent)));
        c.once('error', reject);
      });
      expect(after).toBe(false);
    });
  }

  it('reports an unreachable broker as a failed check with the reason', async () => {
    const result = await probeMqttSource({ ...config(`ab-probe-x-${RUN}`, 5), url: 'mqtt://127.0.0.1:1' }, 2_000);
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/^connect to mqtt:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
  });
});

/**
 * A strict MQTT 3.1.1 broker: it takes only client ids of 1 to 23 bytes (all §3.1.3.1 requires),
 * refusing longer ones with CONNACK 2 (Identifier rejected); `refuseAll` refuses every id.
 */
async function strictBroker(refuseAll = false): Promise<{ url: string; ids: string[]; close(): Promise<void> }> {
  const ids: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (b) => {
      let o = 1;
      while ((b[o++] ?? 0) & 0x80); // remaining length
      o += 10; // protocol name "MQTT", level, flags, keep alive
      const id = b.subarray(o + 2, o + 2 + b.readUInt16BE(o)).toString();
      ids.push(id);
      const refused = refuseAll || Buffer.byteLength(id) > 23;
      socket.write(Buffer.from([0x20, 0x02, 0x00, refused ? 0x02 : 0x00]));
      if (refused) socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    ids,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('probeMqttSource against a strict MQTT 3.1.1 broker (23-byte client ids)', () => {
  it('connects with an id of at most 23 bytes that keeps the configured one as far as it fits', async () => {
    const broker = await strictBroker();
    try {
      // 20 bytes: the service connects with it; the check's id must fit too.
      const result = await probeMqttSource({ ...config('ab-yard-north-gate-7', 4), url: broker.url }, 2_000);
      expect(result.ok).toBe(true);
      expect(broker.ids).toHaveLength(1);
      expect(Buffer.byteLength(broker.ids[0] ?? '')).toBeLessThanOrEqual(23);
      expect(broker.ids[0]).toMatch(/^ab-yard-nort.*-check[0-9a-z]+$/); // at least 12 bytes of it with any process id
      expect(broker.ids[0]).not.toBe('ab-yard-north-gate-7');
    } finally {
      await broker.close();
    }
  });

  it('a refused client id is said to be the check\'s own, naming clientId rather than url and credentials', async () => {
    const broker = await strictBroker(true);
    try {
      const result = await probeMqttSource({ ...config('abyard', 4), url: broker.url }, 2_000);
      expect(result.ok).toBe(false);
      expect(result.key).toBe('clientId');
      expect(result.detail).toContain(`the broker refused "${broker.ids[0] ?? '?'}", the check's own client id (clientId "abyard"`);
      expect(result.detail).toMatch(/the service's own id "abyard" was not tried$/);
    } finally {
      await broker.close();
    }
  });

  it('probeClientId: letters and digits stay so; multi-byte characters are not cut in half', () => {
    expect(probeClientId('abyard', 36)).toBe('abyardcheck10');
    expect(probeClientId('ab-yard', 36)).toBe('ab-yard-check10');
    expect(probeClientId('a'.repeat(40), 4_194_304)).toMatch(/^a{13}check[0-9a-z]{5}$/);
    const id = probeClientId('ab-äöü-'.repeat(5), 36);
    expect(Buffer.byteLength(id)).toBeLessThanOrEqual(23);
    expect(id).not.toContain('\uFFFD');
    expect(id.endsWith('-check10')).toBe(true);
  });
});
