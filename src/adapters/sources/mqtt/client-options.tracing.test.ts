/**
 * mqtt.js's own tracing (`DEBUG=mqttjs*`, which docs/operations.md points to for tracing the
 * protocol) prints every packet it writes, the CONNECT packet with its password among them: the
 * password must not reach stderr. DEBUG is set before mqtt.js (and its `debug`) load.
 */
import { afterEach, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.DEBUG = 'mqttjs:client';
});

import { createRequire } from 'node:module';
import { connectOnce } from '../../../../test/helpers/mqtt-connect.js';
import { startEmbeddedBroker } from '../../../../simulators/mqtt-broker/embedded-broker.js';
import { mqttSourceSchema } from '../../../config/schema.js';
import { mqttClientOptions, mqttTracing } from './client-options.js';

afterEach(() => {
  vi.restoreAllMocks();
});

it('with mqtt.js tracing on, the CONNECT packet is traced without its password', async () => {
  expect(mqttTracing()).toBe(true);
  // The `debug` mqtt.js traces with reads DEBUG once, when first loaded (the test runner may have
  // loaded it before): turned on as DEBUG says.
  (createRequire(import.meta.url)('debug') as { enable(namespaces: string): void }).enable('mqttjs:client');
  const broker = await startEmbeddedBroker();
  const written: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  const config = mqttSourceSchema.parse({
    name: 'yard',
    url: broker.url,
    clientId: 'ab-secrets-trace',
    username: 'ingest',
    password: 'Trace-S3cret-5519',
    protocolVersion: 4,
    topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 } } }],
  });
  try {
    await connectOnce(broker.url, mqttClientOptions(config));
  } finally {
    vi.restoreAllMocks();
    await broker.close();
  }
  const trace = written.join('');
  expect(trace).toContain("cmd: 'connect'"); // the packet was traced
  expect(trace).not.toContain('Trace-S3cret-5519');
});
