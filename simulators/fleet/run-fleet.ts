/**
 * Publishes a simulated fleet's telemetry to an MQTT broker at QoS 1, paced to a target rate, and
 * reports progress. Resolves when the run is over and the broker has acknowledged every message.
 * @module
 */
import mqtt from 'mqtt';
import type { Fleet, FleetCounts } from './fleet.js';

export interface FleetProgress {
  readonly published: number;
  /** Acknowledged by the broker (PUBACK). */
  readonly acked: number;
  readonly elapsedMs: number;
  /** Known when `maxMessages` is set. */
  readonly total?: number;
}

export interface RunFleetOptions {
  readonly fleet: Fleet;
  /** Broker URL, `mqtt://host:port`. */
  readonly url: string;
  /** Messages per second across the whole fleet. */
  readonly ratePerSecond: number;
  /** Stop publishing after this long. At least one of durationMs and maxMessages is needed. */
  readonly durationMs?: number;
  /** Stop publishing after this many messages. */
  readonly maxMessages?: number;
  /** Called every `progressIntervalMs` and once at the end. */
  readonly onProgress?: (progress: FleetProgress) => void;
  /** @default 250 */
  readonly progressIntervalMs?: number;
  /** Publishes waiting for their PUBACK at once. @default 500 */
  readonly maxInflight?: number;
  /** 3.1.1 works with every broker, including the embedded aedes one. @default 4 */
  readonly protocolVersion?: 4 | 5;
  /** @default a random `fleet-sim-...` id */
  readonly clientId?: string;
  /** Stops publishing early; what was published is still awaited. */
  readonly signal?: AbortSignal;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface FleetRunResult {
  readonly published: number;
  readonly acked: number;
  readonly elapsedMs: number;
  /** Good and bad messages by kind, from the fleet. */
  readonly counts: FleetCounts;
}

/** Publishes the fleet's messages until `durationMs` or `maxMessages`, then waits for all PUBACKs. */
export async function runFleet(options: RunFleetOptions): Promise<FleetRunResult> {
  const { fleet, ratePerSecond } = options;
  if (!(ratePerSecond > 0)) throw new Error(`ratePerSecond must be positive, got ${ratePerSecond}`);
  if (options.durationMs === undefined && options.maxMessages === undefined) throw new Error('give durationMs or maxMessages (or both)');
  const now = options.now ?? Date.now;
  const maxInflight = options.maxInflight ?? 500;
  const client = await mqtt.connectAsync(options.url, {
    clientId: options.clientId ?? `fleet-sim-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    protocolVersion: options.protocolVersion ?? 4,
    clean: true,
    reconnectPeriod: 1_000,
  });

  const started = now();
  let published = 0;
  let acked = 0;
  let failure: Error | undefined;
  const progress = (): FleetProgress => ({
    published,
    acked,
    elapsedMs: now() - started,
    ...(options.maxMessages !== undefined ? { total: options.maxMessages } : {}),
  });
  const progressTimer = options.onProgress ? setInterval(() => options.onProgress?.(progress()), options.progressIntervalMs ?? 250) : undefined;

  try {
    await new Promise<void>((resolve, reject) => {
      let wake: (() => void) | undefined;
      const publishingOver = (): boolean =>
        options.signal?.aborted === true ||
        (options.maxMessages !== undefined && published >= options.maxMessages) ||
        (options.durationMs !== undefined && now() - started >= options.durationMs);

      const tick = (): void => {
        if (failure) return reject(failure);
        if (publishingOver()) {
          if (acked >= published) return resolve();
          wake = tick; // the last PUBACK wakes us
          return;
        }
        const due = Math.floor(((now() - started) * ratePerSecond) / 1000) + 1;
        const limit = Math.min(due, options.maxMessages ?? Infinity);
        while (published < limit && published - acked < maxInflight && !failure) {
          const message = fleet.next(now());
          published++;
          client.publish(message.topic, message.payload, { qos: 1 }, (err) => {
            if (err) failure ??= err;
            acked++;
            const w = wake;
            wake = undefined;
            w?.();
          });
        }
        if (published - acked >= maxInflight) wake = tick; // window full: resume on the next PUBACK
        else setTimeout(tick, Math.max(1, Math.min(20, 1000 / ratePerSecond)));
      };
      tick();
    });
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    await client.endAsync();
  }
  options.onProgress?.(progress());
  return { published, acked, elapsedMs: now() - started, counts: fleet.counts() };
}
