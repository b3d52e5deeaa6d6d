/**
 * Ingest benchmark: messages through real Mosquitto at QoS 1 into committed state and outbox
 * (ack after commit), against a bare mqtt.js subscriber that only parses JSON, in the same run.
 * @module
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import mqtt from 'mqtt';
import { createMqttSource } from '../src/adapters/sources/mqtt/mqtt-source.js';
import type { SqliteStore } from '../src/adapters/store/sqlite/sqlite-store.js';
import { mqttSourceSchema } from '../src/config/schema.js';
import { IdentityIndex } from '../src/core/identity/resolver.js';
import { createJsonDecoder } from '../src/core/normalize/json-decoder.js';
import { createLocationSyncRule } from '../src/core/rules/location-sync.js';
import type { Rule } from '../src/core/rules/rule.js';
import { DecoderRegistry, Ingestor } from '../src/engine/ingestor.js';
import { systemClock } from '../src/ports/clock.js';
import { fleetDecoderConfig } from '../simulators/fleet/fleet-config.js';
import { withTempStore } from '../test/helpers/temp-store.js';

let URL = 'mqtt://127.0.0.1:18831';
/** The broker the ingest benchmarks use (see bench/broker.ts). */
export function useBroker(url: string): void {
  URL = url;
}
const PUBLISHER = resolve(import.meta.dirname, 'mqtt-publisher.js');

function publish(prefix: string, count: number, assets: number): Promise<void> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [PUBLISHER, URL, prefix, String(count), String(assets)], { stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('exit', (code) => (code === 0 ? res() : rej(new Error(`publisher exited ${code}`))));
  });
}

/**
 * A bare subscriber: QoS 1, parse JSON, nothing else. Messages per second while it drains a
 * backlog of `count` messages queued for its persistent session (the publisher has finished, so
 * it does not compete for the machine's cores during the measurement).
 */
export async function benchBareSubscriber(count: number, assets: number): Promise<number> {
  const prefix = `bench-bare-${process.pid}-${Date.now()}`;
  const opts = { clientId: `bench-bare-${process.pid}-${Date.now()}`, clean: false, protocolVersion: 5 as const, properties: { sessionExpiryInterval: 3600, receiveMaximum: 5000 } };
  const setup = await mqtt.connectAsync(URL, opts);
  await setup.subscribeAsync(`${prefix}/+/telemetry`, { qos: 1 });
  await setup.endAsync();
  await publish(prefix, count, assets);
  let received = 0;
  let first = 0;
  let resolveDone: (t: number) => void = () => undefined;
  const done = new Promise<number>((res) => (resolveDone = res));
  const client = mqtt.connect(URL, { ...opts, manualConnect: true });
  client.on('message', (_topic, payload) => {
    JSON.parse(payload.toString());
    if (received++ === 0) first = performance.now();
    if (received === count) resolveDone(performance.now());
  });
  client.connect();
  const end = await done;
  await client.endAsync();
  return (count - 1) / ((end - first) / 1000);
}

export interface IngestBenchResult {
  readonly eventsPerSecond: number;
  readonly batches: number;
  readonly deliveriesEnqueued: number;
}

/** The product path: MQTT source (ack after commit) → decode → validate → identify → rules → SQLite. */
export async function benchPipelineIngest(count: number, assets: number, synchronous: 'full' | 'normal', rules: readonly Rule[] = [createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 3_600_000 })]): Promise<IngestBenchResult> {
  const prefix = `bench-ab-${process.pid}-${Date.now()}`;
  return withTempStore({ synchronous }, (store) => drainBacklog(store, prefix, count, assets, rules));
}

/** {@link benchPipelineIngest} on its store: the backlog queued while away, then its drain timed. */
async function drainBacklog(store: SqliteStore, prefix: string, count: number, assets: number, rules: readonly Rule[]): Promise<IngestBenchResult> {
  const rows = Array.from({ length: assets }, (_, a) => ({
    asset: { erpAssetId: `EQ-${a}`, erpModule: 'fixed-assets', attributes: {} },
    identifiers: [{ type: 'tag' as const, value: `tag-${a}`, erpAssetId: `EQ-${a}` }],
  }));
  await store.upsertAssets(rows);
  const identity = new IdentityIndex(await store.listAssets());
  const cfg = mqttSourceSchema.parse({ name: 'bench', url: URL, clientId: `bench-ab-${process.pid}-${Date.now()}`, ...(process.env.BENCH_INFLIGHT ? { maxInflight: Number(process.env.BENCH_INFLIGHT) } : {}), topics: [{ filter: `${prefix}/+/telemetry`, decoder: fleetDecoderConfig }] });
  const ingestor = new Ingestor({
    store,
    clock: systemClock,
    decoders: new DecoderRegistry().register('mqtt:bench', createJsonDecoder('mqtt:bench', cfg.topics)),
    rules,
    identity: () => identity,
    validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0 },
    defaultDestination: 'erp',
    ...(process.env.BENCH_MAX_BATCH ? { maxBatch: Number(process.env.BENCH_MAX_BATCH) } : {}),
    ...(process.env.BENCH_PIPELINE ? { pipelineDepth: Number(process.env.BENCH_PIPELINE) } : {}),
    maxWaitMs: 5,
  });
  // Create the persistent session, queue the backlog while we are away, then time the drain.
  const setup = createMqttSource(cfg);
  await setup.start({ submit: () => Promise.resolve({ accepted: 0, quarantined: [] }) });
  await setup.stop();
  await publish(prefix, count, assets);
  // The commit worker starts on a store's first commit: started before the clock, as in a running service.
  await store.commitIngest({ states: [], deliveries: [], quarantine: [], accepted: 0 });
  const source = createMqttSource(cfg);
  let first = 0;
  let allIn: () => void = () => undefined;
  const committed = new Promise<void>((r) => (allIn = r));
  const sink = {
    submit: async (m: Parameters<Ingestor['submit']>[0]) => {
      if (first === 0) first = performance.now();
      const r = await ingestor.submit(m);
      if (ingestor.stats.accepted + ingestor.stats.quarantined >= count) allIn();
      return r;
    },
  };
  await source.start(sink);
  await committed;
  // Timed up to the checkpoint that stores the rule state the drain left in memory (a running
  // service writes one every ingest.checkpointMs), so the result covers the state's cost too.
  await ingestor.flush();
  const end = performance.now();
  await source.stop();
  if (ingestor.stats.quarantined) throw new Error(`${ingestor.stats.quarantined} messages quarantined in the benchmark`);
  return { eventsPerSecond: (count - 1) / ((end - first) / 1000), batches: ingestor.stats.batches, deliveriesEnqueued: ingestor.stats.deliveriesEnqueued };
}
