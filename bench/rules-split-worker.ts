/**
 * The rules thread of bench/rules-split.ts (a measurement, not the product): the configured rules
 * in their owned forms over the events the ingest thread hands over, packed into numbers, with two
 * checkpoints' worth of state serialised per 100,000 events, as the ingest stores them.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { rulesSchema, type RulesConfigInput } from '../src/config/rules-schema.js';
import type { AssetRecord } from '../src/core/model/assets.js';
import type { DeliveryIntent } from '../src/core/model/delivery.js';
import type { CanonicalEvent } from '../src/core/model/events.js';
import { createRules } from '../src/core/rules/index.js';
import { ownedForm, type OwnedRule } from '../src/core/rules/owned.js';
import { SPLIT_FIELDS, SPLIT_KINDS, SPLIT_SENSORS, type SplitBatch, type SplitReport } from './rules-split.js';

const port = parentPort;
if (!port) throw new Error('bench/rules-split-worker.ts runs as a worker thread');
const { config: input, assets } = workerData as { config: RulesConfigInput; assets: number };
const config = rulesSchema.parse(input);
const records: AssetRecord[] = Array.from({ length: assets }, (_, a) => ({ erpAssetId: `EQ-${a}`, erpModule: 'maintenance', attributes: { site: 'S1', cost: '100000', expectedUnits: '10000' } }));
/** Events between two checkpoints (the ingest's checkpointMessages). */
const CHECKPOINT_EVERY = 50_000;

let forms: OwnedRule[] = [];
let byKind = new Map<string, OwnedRule[]>();
let out: DeliveryIntent[] = [];
let count = 0;
let busyMs = 0;

function reset(): void {
  forms = createRules(config).map(ownedForm);
  byKind = new Map();
  for (const f of forms) for (const k of f.kinds) byKind.set(k, [...(byKind.get(k) ?? []), f]);
  for (const f of forms) for (let a = 0; a < assets; a++) f.load(a, undefined);
  out = [];
  count = 0;
  busyMs = 0;
}

/** Every asset's state serialised, as a checkpoint of the whole fleet stores it. */
function checkpoint(): number {
  let bytes = 0;
  for (const f of forms) for (let a = 0; a < assets; a++) bytes += (JSON.stringify(f.save(a)) ?? '').length;
  return bytes;
}

function apply(batch: SplitBatch): void {
  const f = new Float64Array(batch.buffer, 0, batch.events * SPLIT_FIELDS);
  const now = Date.now();
  for (let i = 0; i < batch.events; i++) {
    const o = i * SPLIT_FIELDS;
    const a = f[o] as number;
    const kind = SPLIT_KINDS[f[o + 1] as number] as 'position' | 'sensor' | 'meter';
    const t = f[o + 2] as number;
    const base = { source: 'bench', ids: [{ type: 'tag' as const, value: `tag-${a}` }], eventTime: t, receivedAt: t };
    let event: CanonicalEvent;
    if (kind === 'position') event = { ...base, kind, lat: f[o + 3] as number, lng: f[o + 4] as number };
    else if (kind === 'meter') event = { ...base, kind, operatingHours: f[o + 3] as number };
    else event = { ...base, kind, values: Object.fromEntries(SPLIT_SENSORS.map((s, k) => [s, { value: f[o + 3 + k] as number }])) };
    const list = byKind.get(kind) ?? [];
    const ctx = { asset: records[a] as AssetRecord, destination: 'erp', now };
    for (let r = 0; r < list.length; r++) (list[r] as OwnedRule).apply(a, event, ctx, out);
    if (++count % CHECKPOINT_EVERY === 0) checkpoint();
  }
}

port.on('message', (m: 'reset' | 'end' | SplitBatch) => {
  if (m === 'reset') {
    reset();
    port.postMessage('ready');
    return;
  }
  const started = performance.now();
  if (m === 'end') {
    checkpoint(); // the final flush's
    busyMs += performance.now() - started;
    port.postMessage({ busyMs, events: count, deliveries: out.length } satisfies SplitReport);
    return;
  }
  apply(m);
  busyMs += performance.now() - started;
});
port.postMessage('ready');
