/**
 * mqtt-packet's parser, which the embedded broker (aedes) reads packets with, traces the bytes of
 * every packet with `DEBUG=mqtt-packet:*`: a CONNECT packet's password must not reach stderr.
 * DEBUG is set before the packages (and their `debug`) load.
 */
import { afterEach, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.DEBUG = 'mqtt-packet:parser';
});

import { createRequire } from 'node:module';
import mqtt from 'mqtt';
import { REDACTED_CONNECT, startEmbeddedBroker } from './embedded-broker.js';

afterEach(() => {
  vi.restoreAllMocks();
});

it('with the packet parser traced, the broker traces a CONNECT packet without its password; other packets as they are', async () => {
  // `debug` reads DEBUG once, when first loaded (the test runner may have loaded it before).
  (createRequire(import.meta.url)('debug') as { enable(namespaces: string): void }).enable('mqtt-packet:parser');
  const password = 'Brk-S3cret-7731';
  const broker = await startEmbeddedBroker();
  const written: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    // The password as bytes: the client's own encoder then never traces it (client-options.ts).
    const client = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0, clientId: 'c1', username: 'u', password: Buffer.from(password) });
    await client.publishAsync('t/1', 'payload-7731', { qos: 1 });
    await client.endAsync();
  } finally {
    vi.restoreAllMocks();
    await broker.close();
  }
  const trace = written.join('');
  expect(trace).toContain('_parseConnect: packet.username: u'); // the CONNECT packet was traced
  const hex = Buffer.from(password).toString('hex');
  for (const form of [password, hex, hex.match(/../g)?.join(' ') ?? hex, hex.slice(0, 12).match(/../g)?.join(' ') ?? hex]) expect(trace).not.toContain(form);
  expect(trace).toContain(REDACTED_CONNECT);
  // A PUBLISH's bytes are still traced.
  expect(trace).toContain(Buffer.from('payload-7731').toString('hex').slice(0, 12).match(/../g)?.join(' '));
});
