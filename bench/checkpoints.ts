/**
 * Checkpoint benchmark: ingest with the rules benchmark's rules (1,000 zones, 20 rules per asset)
 * while checkpoints fall due, with a checkpoint spread over the batches that follow it (the
 * default, `spreadCheckpointAssets`) against one stored in a single commit
 * (`spreadCheckpointAssets: 0`), in the same run, for a small and a large fleet. Reported: events
 * per second draining a backlog, and, with the messages sent at a steady half of that rate, the
 * longest a batch's oldest message waited for its commit (what an MQTT source waits for its ack:
 * a checkpoint stored in one commit holds up the batches behind it), as ratios. Runs alternate and
 * medians are compared.
 * @module
 */
import { resolve } from 'node:path';
import { rulesSchema } from '../src/config/rules-schema.js';
import { createRules } from '../src/core/rules/index.js';
import { tuneV8 } from '../src/runtime/v8-tuning.js';
import { ingestRun, median, messages, rulesConfig } from './rules.js';

export interface CheckpointFleetResult {
  readonly assets: number;
  readonly events: number;
  readonly atOnceEventsPerSecond: number;
  readonly spreadEventsPerSecond: number;
  /** spread / at once (above 1: spreading is faster). */
  readonly throughputRatio: number;
  /** The steady rate of the ack-wait runs: half the in-one-commit drain rate. */
  readonly pacedEventsPerSecond: number;
  readonly atOnceLongestWaitMs: number;
  readonly spreadLongestWaitMs: number;
  /** at once / spread, of the longest ack wait (above 1: spreading shortens it). */
  readonly waitRatio: number;
}

export async function benchCheckpointFleet(assets: number, events: number, runs = 3): Promise<CheckpointFleetResult> {
  const config = rulesSchema.parse(rulesConfig());
  const msgs = messages(events, assets, Date.now() - 2 * 86_400_000);
  // Warm-up, untimed: the JIT, and the store's page cache.
  await ingestRun(msgs.slice(0, Math.min(msgs.length, 20_000)), assets, createRules(config), { spreadCheckpointAssets: 0 });
  await ingestRun(msgs.slice(0, Math.min(msgs.length, 20_000)), assets, createRules(config));
  const once: Awaited<ReturnType<typeof ingestRun>>[] = [];
  const spread: Awaited<ReturnType<typeof ingestRun>>[] = [];
  for (let r = 0; r < runs; r++) {
    once.push(await ingestRun(msgs, assets, createRules(config), { spreadCheckpointAssets: 0 }));
    spread.push(await ingestRun(msgs, assets, createRules(config)));
  }
  const a = median(once.map((x) => x.eps));
  const b = median(spread.map((x) => x.eps));
  const pace = Math.round(a / 2);
  const paced = msgs.slice(0, Math.min(msgs.length, Math.max(60_000, pace * 4))); // ~4 s: a checkpoint or two fall due
  const waitOnce: number[] = [];
  const waitSpread: number[] = [];
  for (let r = 0; r < runs; r++) {
    waitOnce.push((await ingestRun(paced, assets, createRules(config), { spreadCheckpointAssets: 0 }, pace)).longestWaitMs);
    waitSpread.push((await ingestRun(paced, assets, createRules(config), {}, pace)).longestWaitMs);
  }
  const wa = median(waitOnce);
  const wb = median(waitSpread);
  return {
    assets,
    events,
    atOnceEventsPerSecond: Math.round(a),
    spreadEventsPerSecond: Math.round(b),
    throughputRatio: Math.round((b / a) * 1000) / 1000,
    pacedEventsPerSecond: pace,
    atOnceLongestWaitMs: Math.round(wa),
    spreadLongestWaitMs: Math.round(wb),
    waitRatio: Math.round((wa / wb) * 100) / 100,
  };
}

/** A small fleet (1,000 assets, 100,000 events) and a large one (20,000 assets, 200,000 events). */
export async function benchCheckpoints(): Promise<CheckpointFleetResult[]> {
  return [await benchCheckpointFleet(1000, 100_000), await benchCheckpointFleet(Number(process.env.BENCH_CHECKPOINT_FLEET ?? 20_000), 200_000)];
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  tuneV8();
  process.stdout.write(`${JSON.stringify(await benchCheckpoints(), null, 2)}\n`);
}
