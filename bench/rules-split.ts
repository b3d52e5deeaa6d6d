/**
 * A measurement, not the product: whether the rules benchmark's ratio is in reach if the rules run
 * on a thread of their own, beside the ingest's decoding, rather than after it on the same thread.
 *
 * The ingest runs as it does without rules (decode, validate, identify, one transaction per batch)
 * plus one stand-in rule whose owned form packs each event into numbers (a Float64Array per 1,000
 * events, transferred) and marks the asset's state changed, so every message is framed into the
 * ingest log as with the real rules. A worker thread (bench/rules-split-worker.ts) runs the real
 * rules in their owned forms over those events and serialises the fleet's state twice per 100,000
 * events, as the ingest's checkpoints do. Not measured: the rules' deliveries and states going into
 * the ingest's transactions (in a real split they would travel back, or to the commit worker), and
 * the packing is the benchmark's own (four known sensors), not a codec for every event.
 * @module
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { RulesConfigInput } from '../src/config/rules-schema.js';
import type { CanonicalEvent } from '../src/core/model/events.js';
import type { RawMessage } from '../src/core/model/messages.js';
import { CHANGED, type OwnedRule } from '../src/core/rules/owned.js';
import type { Rule } from '../src/core/rules/rule.js';

/** Numbers per event: asset, kind, event time, up to four values. */
export const SPLIT_FIELDS = 7;
export const SPLIT_KINDS = ['position', 'sensor', 'meter'] as const;
export const SPLIT_SENSORS = ['coolantTemp', 'oilPressure', 'hydraulicTemp', 'vibration'] as const;
const BATCH = 1000;

export interface SplitBatch {
  readonly buffer: ArrayBuffer;
  readonly events: number;
}
export interface SplitReport {
  /** Time the rules thread spent on the events and checkpoints, ms. */
  readonly busyMs: number;
  readonly events: number;
  readonly deliveries: number;
}

/** The stand-in rule: hands each event to the rules thread. */
function forwarding(worker: Worker): { rule: Rule; end: () => void } {
  let buffer = new ArrayBuffer(BATCH * SPLIT_FIELDS * 8);
  let f = new Float64Array(buffer);
  let n = 0;
  const post = (): void => {
    worker.postMessage({ buffer, events: n } satisfies SplitBatch, [buffer]);
    buffer = new ArrayBuffer(BATCH * SPLIT_FIELDS * 8);
    f = new Float64Array(buffer);
    n = 0;
  };
  const kinds = [...SPLIT_KINDS];
  const owned: OwnedRule = {
    name: 'split',
    kinds,
    load() {},
    save: () => 1,
    drop() {},
    holds: () => false,
    flush: () => 0,
    apply(_a, e: CanonicalEvent) {
      const o = n * SPLIT_FIELDS;
      f[o] = Number((e.raw as { assetId: string }).assetId.slice(4));
      f[o + 1] = SPLIT_KINDS.indexOf(e.kind as (typeof SPLIT_KINDS)[number]);
      f[o + 2] = e.eventTime;
      if (e.kind === 'position') {
        f[o + 3] = e.lat ?? NaN;
        f[o + 4] = e.lng ?? NaN;
      } else if (e.kind === 'meter') f[o + 3] = e.operatingHours ?? NaN;
      else if (e.kind === 'sensor') for (let k = 0; k < SPLIT_SENSORS.length; k++) f[o + 3 + k] = e.values[SPLIT_SENSORS[k] as string]?.value ?? NaN;
      if (++n === BATCH) post();
      return CHANGED;
    },
  };
  const rule: Rule = { name: 'split', kinds, apply: (state: unknown) => ({ state, deliveries: [] }), owned: () => owned };
  return { rule, end: () => (n > 0 ? post() : undefined) };
}

export interface SplitRun {
  /** The ingest thread, µs per event (the ratio's numerator is the ingest without rules). */
  readonly ingestUs: number;
  /** The rules thread's time at work (wall time, whatever else the cores ran meanwhile), µs per event. */
  readonly rulesUs: number;
  /** How long after the ingest finished the rules thread did (ms): it kept up when near 0. */
  readonly lagMs: number;
  readonly deliveries: number;
}

/** Runs `ingest` (the benchmark's in-process ingest) with the stand-in rule, `runs` times, the rules thread beside it. */
export async function splitRuns(
  config: RulesConfigInput,
  msgs: readonly RawMessage[],
  assets: number,
  runs: number,
  ingest: (msgs: readonly RawMessage[], assets: number, rules: readonly Rule[]) => Promise<{ eps: number }>,
  /** Called before each measured run (the benchmark alternates variants). */
  between: () => Promise<void> = async () => {},
): Promise<SplitRun[]> {
  const worker = new Worker(new URL('./rules-split-worker.js', import.meta.url), { workerData: { config, assets } });
  try {
    await once(worker, 'message');
    const one = async (slice: readonly RawMessage[]): Promise<SplitRun> => {
      worker.postMessage('reset');
      await once(worker, 'message');
      const fw = forwarding(worker);
      const r = await ingest(slice, assets, [fw.rule]);
      const ingested = performance.now();
      fw.end();
      worker.postMessage('end');
      const [report] = (await once(worker, 'message')) as [SplitReport];
      if (report.events !== slice.length) throw new Error(`the rules thread saw ${report.events} events of ${slice.length}`);
      return { ingestUs: 1e6 / r.eps, rulesUs: (report.busyMs * 1000) / report.events, lagMs: performance.now() - ingested, deliveries: report.deliveries };
    };
    await one(msgs.slice(0, 10_000)); // warm-up
    const out: SplitRun[] = [];
    for (let r = 0; r < runs; r++) {
      await between();
      out.push(await one(msgs));
    }
    return out;
  } finally {
    await worker.terminate();
  }
}
