/**
 * The credentials of a broker url reach the broker as the URL standard reads them, through mqtt.js
 * itself (which, given the url's user-info, would split it at its last colon): a broker that
 * records what it was sent.
 */
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { connectOnce } from '../../../../test/helpers/mqtt-connect.js';
import { expect, it } from 'vitest';
import { mqttSourceSchema } from '../../../config/schema.js';
import { mqttClientOptions, redactedUrl } from './client-options.js';

it("a url's password with a percent-encoded colon reaches the broker whole, under the user name before the first colon", async () => {
  const seen: { username: string | undefined; password: string | undefined }[] = [];
  const broker = await Aedes.createBroker();
  broker.authenticate = (_client, username, password, done) => {
    seen.push({ username, password: password?.toString('utf8') });
    done(null, true);
  };
  const server = createServer((socket) => broker.handle(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `mqtt://ingest:pa%3Ass%40w0rd-9@127.0.0.1:${port}`;
  const config = mqttSourceSchema.parse({ name: 'yard', url, clientId: 'ab-url-creds', protocolVersion: 4, topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 } } }] });
  try {
    await connectOnce(config.url, mqttClientOptions(config));
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  }
  expect(seen).toEqual([{ username: 'ingest', password: 'pa:ss@w0rd-9' }]);
  // And as logged: the user shown, no part of the password.
  expect(redactedUrl(url)).toBe(`mqtt://ingest:***@127.0.0.1:${port}`);
});
