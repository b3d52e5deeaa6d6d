/**
 * `config check --connect` against real Mosquitto while the service's own session exists: the
 * probe neither takes that session over nor leaves a session of its own behind.
 */
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { MOSQUITTO_URL, requireService } from '../../../../test/helpers/services.js';
import { mqttSourceSchema } from '../../../config/schema.js';
import { probeMqttSource } from './probe.js';

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
      const probeId = `${clientId}-check-${process.pid}`;
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
