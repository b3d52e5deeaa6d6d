/**
 * Local services for integration tests. A test file that needs one calls {@link requireService}
 * at top level: it resolves true when the service is reachable; when it is not, it resolves false
 * (the file skips its tests) or, under CI (`CI=true`), throws an error that says how to start it.
 *
 * ```ts
 * const mosquitto = await requireService('mosquitto');
 * describe.runIf(mosquitto)('MQTT source', () => { ... });
 * ```
 * @module
 */
import { Socket } from 'node:net';

export interface ServiceSpec {
  /** Human name used in messages. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Shell command that starts it on the development machine. */
  readonly startCommand: string;
}

/** The services integration tests use, at their default local addresses. */
export const SERVICES = {
  mosquitto: { name: 'Mosquitto (MQTT)', host: '127.0.0.1', port: 1883, startCommand: 'mosquitto -d -c /etc/mosquitto/mosquitto.conf' },
  postgres: {
    name: 'PostgreSQL',
    host: '127.0.0.1',
    port: 5432,
    startCommand: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  },
  rabbitmq: { name: 'RabbitMQ (AMQP)', host: '127.0.0.1', port: 5672, startCommand: 'rabbitmq-server -detached' },
} as const satisfies Record<string, ServiceSpec>;

export type ServiceName = keyof typeof SERVICES;

/** The URL of the local Mosquitto broker used by the MQTT integration tests. */
export const MOSQUITTO_URL = `mqtt://${SERVICES.mosquitto.host}:${SERVICES.mosquitto.port}`;

/** Whether a TCP connection to host:port succeeds within `timeoutMs`. Never rejects. */
export function serviceAvailable(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (up: boolean): void => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

/**
 * Checks that a service a test file needs is reachable. Resolves true when it is; false when it
 * is not and we are not in CI (skip the tests); throws under `CI=true`, with the start command.
 */
export async function requireService(service: ServiceName | ServiceSpec): Promise<boolean> {
  const spec: ServiceSpec = typeof service === 'string' ? SERVICES[service] : service;
  if (await serviceAvailable(spec.host, spec.port)) return true;
  const message = `${spec.name} is not reachable at ${spec.host}:${spec.port}. Start it with: ${spec.startCommand}`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: service-backed tests must run, not skip)`);
  console.warn(`Skipping tests that need ${spec.name}: ${message}`);
  return false;
}
