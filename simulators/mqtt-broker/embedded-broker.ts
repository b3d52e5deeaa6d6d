/**
 * An in-process MQTT 3.1.1 broker (aedes) for the demo and tests, so nothing has to be installed.
 * Test tooling, not the product: production uses a real broker (Mosquitto, EMQX, HiveMQ, ...).
 *
 * With `DEBUG=mqtt-packet:*` the bytes of each CONNECT packet it reads are traced redacted (they
 * hold the password); see redactConnectTracing.
 *
 * aedes speaks MQTT 3.1.1 only: sources connecting to it need `protocolVersion: 4`. Its sessions
 * and queued messages live in memory, so they survive client restarts but not a broker restart.
 * @module
 */
import { createRequire } from 'node:module';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';

/** What a traced CONNECT packet's bytes are shown as. */
export const REDACTED_CONNECT = '[REDACTED: CONNECT packet bytes, password among them]';

type Formatter = (this: { namespace?: string }, value: unknown) => string;

let connectTracingRedacted = false;

/**
 * aedes parses with mqtt-packet, whose parser traces through `debug` (`DEBUG=mqtt-packet:*`) the
 * bytes of every packet it reads (`_parsePayload: payload %O`) and every binary field
 * (`_parseBuffer: result: %o`): for a CONNECT packet, the password (and MQTT 5 authentication
 * data). The demo's broker is this one, and its traces get pasted into reports. So while the
 * parser reads a CONNECT packet, whatever its trace would show with `%o` or `%O` (those bytes) is
 * shown as {@link REDACTED_CONNECT}; its strings (client id, user name) are still traced, and the
 * other packets as they are. Done once, on the copies of mqtt-packet and debug aedes loads.
 */
function redactConnectTracing(): void {
  if (connectTracingRedacted) return;
  connectTracingRedacted = true;
  const fromAedes = createRequire(createRequire(import.meta.url).resolve('aedes'));
  const packetPath = fromAedes.resolve('mqtt-packet');
  const mqttPacket = fromAedes(packetPath) as { parser(): object };
  const debug = createRequire(packetPath)('debug') as { formatters: Record<string, Formatter | undefined> };
  type Parsing = { packet?: { cmd?: string } };
  const parser = Object.getPrototypeOf(mqttPacket.parser()) as { _parsePayload: (this: Parsing) => unknown };
  let inConnect = false;
  const parsePayload = parser._parsePayload;
  parser._parsePayload = function (this: Parsing) {
    if (this.packet?.cmd !== 'connect') return parsePayload.call(this);
    inConnect = true;
    try {
      return parsePayload.call(this);
    } finally {
      inConnect = false;
    }
  };
  for (const format of ['o', 'O']) {
    const shown = debug.formatters[format];
    if (shown === undefined) continue;
    debug.formatters[format] = function (value) {
      return inConnect && this.namespace === 'mqtt-packet:parser' ? REDACTED_CONNECT : shown.call(this, value);
    };
  }
}

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
  redactConnectTracing();
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
