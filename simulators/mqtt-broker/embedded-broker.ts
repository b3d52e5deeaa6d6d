/**
 * An in-process MQTT 3.1.1 broker (aedes) for the demo and tests, so nothing has to be installed.
 * Test tooling, not the product: production uses a real broker (Mosquitto, EMQX, HiveMQ, ...).
 *
 * aedes speaks MQTT 3.1.1 only: sources connecting to it need `protocolVersion: 4`. Its sessions
 * and queued messages live in memory, so they survive client restarts but not a broker restart.
 * @module
 */
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBrokerOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Interface to listen on. @default 127.0.0.1 */
  readonly host?: string;
}

export interface EmbeddedBroker {
  /** `mqtt://host:port` to give clients. */
  readonly url: string;
  readonly port: number;
  /** Disconnects every client and stops listening. */
  close(): Promise<void>;
}

/** Starts an aedes broker on a TCP port. */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `mqtt://${host}:${port}`,
    port,
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await serverClosed;
        await new Promise<void>((resolve) => broker.close(() => resolve()));
      })();
      return closing;
    },
  };
}
