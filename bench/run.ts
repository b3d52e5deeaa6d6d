/**
 * `npm run bench`: every benchmark, each reported as a ratio to a baseline measured in the same
 * run. Pick some with arguments: `npm run bench -- ingest memory aemp parser rules checkpoints inventory depreciation retention`.
 * Results go to stdout and to bench-results.json; BENCHMARKS.md records them with the machine.
 * @module
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { XMLParser } from 'fast-xml-parser';
import { benchBareSubscriber, benchPipelineIngest, useBroker } from './mqtt-ingest.js';
import { startBenchBroker } from './broker.js';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { BacklogResult } from './backlog-memory.js';
import { benchAempPull } from './aemp-pull.js';
import { benchRules, median } from './rules.js';
import { benchCheckpoints } from './checkpoints.js';
import { benchDepreciation } from './depreciation.js';
import { benchInventory } from './inventory.js';
import { benchRetention } from './retention.js';
import { benchParser, buildSyntheticFleet } from '../src/adapters/telematics/aemp/aemp-parser-bench.js';
import { tuneV8 } from '../src/runtime/v8-tuning.js';

// The service process's V8 tuning (src/cli/main.ts applies the same).
tuneV8();

const all = ['ingest', 'memory', 'aemp', 'parser', 'rules', 'checkpoints', 'inventory', 'depreciation', 'retention'] as const;
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !(all as readonly string[]).includes(w));
if (unknown.length) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${all.join(', ')}\n`);
  process.exit(2);
}
const run = (name: (typeof all)[number]) => wanted.length === 0 || wanted.includes(name);
const results: Record<string, unknown> = {
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  at: new Date().toISOString(),
};
const line = (s: string) => process.stdout.write(`${s}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

if (run('ingest')) {
  line('== ingest: MQTT QoS 1 (real Mosquitto) → committed state + outbox, ack after commit');
  const broker = await startBenchBroker();
  useBroker(broker.url);
  try {
    const count = Number(process.env.BENCH_INGEST_EVENTS ?? 200_000);
    // Runs alternate (bare, assetbridge, …) and medians are compared: single drains on this shared
    // machine swing by ±35 %.
    const runs = Math.max(1, Number(process.env.BENCH_INGEST_RUNS ?? 3));
    // One shorter round of each first, untimed: sustained rates, not the JIT's warm-up.
    const warmup = Math.min(count, 50_000);
    await benchBareSubscriber(warmup, 10_000);
    await benchPipelineIngest(warmup, 10_000, 'full');
    const bares: number[] = [];
    const fulls: Awaited<ReturnType<typeof benchPipelineIngest>>[] = [];
    for (let r = 0; r < runs; r++) {
      bares.push(await benchBareSubscriber(count, 10_000));
      fulls.push(await benchPipelineIngest(count, 10_000, 'full'));
    }
    const normal = await benchPipelineIngest(count, 10_000, 'normal');
    const baseline = median(bares);
    const full = [...fulls].sort((a, b) => a.eventsPerSecond - b.eventsPerSecond)[Math.floor(fulls.length / 2)] as (typeof fulls)[number];
    const list = (xs: number[]) => xs.map(fmt).join(', ');
    // Each fleet message carries a position, sensor values and an hour meter: three canonical events.
    line(`  ${fmt(count)} messages queued for each subscriber's session, then drained (the publisher is done before timing starts); medians of ${runs} alternating runs`);
    line(`  bare mqtt.js subscriber (parse only)      ${fmt(baseline)} msg/s (runs: ${list(bares)})`);
    line(`  assetbridge, store.synchronous=full       ${fmt(full.eventsPerSecond)} msg/s = ${fmt(full.eventsPerSecond * 3)} canonical events/s  ratio ${(full.eventsPerSecond / baseline).toFixed(2)}  (runs: ${list(fulls.map((f) => f.eventsPerSecond))})`);
    line(`  assetbridge, store.synchronous=normal     ${fmt(normal.eventsPerSecond)} msg/s = ${fmt(normal.eventsPerSecond * 3)} canonical events/s  ratio ${(normal.eventsPerSecond / baseline).toFixed(2)}  (one run)`);
    results.ingest = { count, runs, bareRuns: bares, fullRuns: fulls.map((f) => f.eventsPerSecond), bareMsgPerSecond: baseline, full, normal, ratioFull: full.eventsPerSecond / baseline, ratioNormal: normal.eventsPerSecond / baseline };
  } finally {
    await broker.stop();
  }
}

if (run('memory')) {
  const events = Number(process.env.BENCH_BACKLOG_EVENTS ?? 1_000_000);
  line(`== memory: ${fmt(events)} events of deliveries pending (facts, none coalesced) while dispatching`);
  // In its own process, so the heap of the benchmarks before it does not count.
  const r = await new Promise<BacklogResult>((res, rej) => {
    const child = spawn(process.execPath, ['--expose-gc', '--max-semi-space-size=32', resolve(import.meta.dirname, 'backlog-memory-main.js'), String(events)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? res(JSON.parse(out) as BacklogResult) : rej(new Error(`memory benchmark exited ${code}`))));
  });
  line(`  pending ${fmt(r.pending)}; RSS idle ${r.baselineRssMb.toFixed(0)} MB → peak ${r.peakRssMb.toFixed(0)} MB  ratio ${(r.peakRssMb / r.baselineRssMb).toFixed(2)}  (ingest ${r.ingestSeconds.toFixed(1)} s)`);
  results.memory = { ...r, ratio: r.peakRssMb / r.baselineRssMb };
}

if (run('aemp')) {
  const fleet = Number(process.env.BENCH_AEMP_FLEET ?? 100_000);
  line(`== telematics pull: ${fmt(fleet)} machines from the Trackunit simulator at 50 requests/s`);
  const r = await benchAempPull(fleet, 50);
  line(`  elapsed ${(r.elapsedMs / 1000).toFixed(1)} s vs bound ${(r.boundMs / 1000).toFixed(1)} s  ratio ${r.ratio.toFixed(3)}  requests ${r.requests}  429s ${r.http429}`);
  results.aemp = r;
}

if (run('parser')) {
  line('== AEMP parser: equipment elements per second, as a ratio to the bare JSON.parse / XMLParser of the same document');
  const parsed: Record<string, unknown> = {};
  for (const format of ['json', 'xml'] as const) {
    const n = 1000;
    const doc = buildSyntheticFleet(n, format);
    const ours = benchParser({ equipmentCount: n, format, minDurationMs: 1500 });
    const xml = new XMLParser({ ignoreAttributes: false });
    let iterations = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 1500) {
      if (format === 'json') JSON.parse(doc);
      else xml.parse(doc);
      iterations++;
    }
    const baseline = (iterations * n) / ((performance.now() - t0) / 1000);
    line(`  ${format.toUpperCase().padEnd(4)} ${fmt(ours.elementsPerSecond)} elements/s (${fmt(ours.eventsPerSecond)} events/s); bare parse ${fmt(baseline)}/s  ratio ${(ours.elementsPerSecond / baseline).toFixed(2)}`);
    parsed[format] = { ...ours, baselineElementsPerSecond: baseline, ratio: ours.elementsPerSecond / baseline };
  }
  results.parser = parsed;
}

if (run('rules')) {
  line('== rules: ingest with 1,000 zones and 20 rules per asset vs without rules');
  const r = await benchRules();
  line(`  without ${fmt(r.withoutRulesEventsPerSecond)} events/s, with ${fmt(r.withRulesEventsPerSecond)} events/s  ratio ${r.ratio.toFixed(2)}  (${r.workOrders} work orders, ${r.locationUpdates} location updates)`);
  line(`  default config (location sync only) ${fmt(r.defaultConfigEventsPerSecond)} events/s: with / default ${r.ratioToDefault.toFixed(2)}`);
  line(`  rules called for every event that leave their state as it is ${fmt(r.unchangedEventsPerSecond)} events/s: ratio ${r.unchangedRatio.toFixed(2)} (calling the rules and holding their state; nothing to log or checkpoint)`);
  line(`  no-op rules that change state on every event ${fmt(r.noopStatefulEventsPerSecond)} events/s: ratio ${r.noopRatio.toFixed(2)} (holding, logging and checkpointing rule state with no rule work: a ceiling for the real rules)`);
  // The same in time per event: what the rules add, against what the 0.8 target leaves them.
  const us = (eps: number) => 1e6 / eps;
  const base = us(r.withoutRulesEventsPerSecond);
  line(`  per event: ${base.toFixed(2)} µs without rules, ${us(r.withRulesEventsPerSecond).toFixed(2)} µs with; the rules add ${(us(r.withRulesEventsPerSecond) - base).toFixed(2)} µs where a ratio of 0.8 allows ${(base / 0.8 - base).toFixed(2)} µs`);
  line(`  the rules alone (folded over pre-decoded events, no store, in their owned forms as the engine runs them): ${us(r.rulesAloneEventsPerSecond).toFixed(2)} µs per event (in their pure forms: ${us(r.pureRulesAloneEventsPerSecond).toFixed(2)}); even if the engine around them cost nothing, the ratio could reach ${r.rulesAloneCeiling.toFixed(2)}`);
  const compactDeliveries = Object.entries(r.compact.deliveries).map(([op, n]) => `${n} ${op}`).join(', ');
  line(`  a compact design of the same rules (bench/rules-compact.ts, a measurement, not the product): ${r.compact.usPerEvent.toFixed(2)} µs per event (${(us(r.rulesAloneEventsPerSecond) / r.compact.usPerEvent).toFixed(1)} times less than the rules alone; ${compactDeliveries}), ${r.compact.withLogUsPerEvent.toFixed(2)} µs with each message framed into a log: ratio ${(base / (base + r.compact.withLogUsPerEvent)).toFixed(2)} if the engine around it added nothing`);
  line(`  the rules on a thread of their own (bench/rules-split.ts, a measurement, not the product: the ingest without rules hands each event to a worker running the rules): ingest thread ${r.split.ingestUs.toFixed(2)} µs per event, ratio ${r.split.ratio.toFixed(2)} to the run without rules before it; rules thread at work ${r.split.rulesThreadUs.toFixed(2)} µs per event (wall time, with the other threads sharing the cores) (${r.split.deliveries} deliveries), done ${r.split.lagMs} ms after the ingest`);
  line(`  longest event-loop hold in a run (median): ${r.longestHoldWithoutMs} ms without rules, ${r.longestHoldWithMs} ms with (MQTT, HTTP and timers wait that long)`);
  results.rules = r;
}

if (run('checkpoints')) {
  line('== checkpoints: ingest with rules while checkpoints fall due, spread over batches vs in one commit');
  const rs = await benchCheckpoints();
  for (const r of rs) {
    line(
      `  ${fmt(r.assets)} assets, ${fmt(r.events)} events: spread ${fmt(r.spreadEventsPerSecond)} events/s, in one commit ${fmt(r.atOnceEventsPerSecond)}  ratio ${r.throughputRatio.toFixed(2)}; ` +
        `at a steady ${fmt(r.pacedEventsPerSecond)} events/s the longest ack wait: spread ${fmt(r.spreadLongestWaitMs)} ms, in one commit ${fmt(r.atOnceLongestWaitMs)} ms  (in one commit / spread ${r.waitRatio.toFixed(2)})`,
    );
  }
  results.checkpoints = rs;
}

if (run('inventory')) {
  line('== inventory: one inventory run over 100,000 tagged items vs reading their states');
  const r = await benchInventory();
  line(`  a run with nothing changed ${fmt(r.unchangedRunMs)} ms (the event loop held at most ${fmt(r.longestStallMs)} ms at once), after every item moved ${fmt(r.movedRunMs)} ms (${r.countsPerMovedRun} counts sent); reading and parsing every item's state in one query ${fmt(r.bareReadMs)} ms  ratio ${r.ratio.toFixed(2)}`);
  results.inventory = r;
}

if (run('depreciation')) {
  line('== depreciation: the period-end usage posting of 50,000 assets vs reading their usage states');
  const r = await benchDepreciation();
  line(`  a period posted in ${fmt(r.postingMs)} ms (${fmt(r.postingsPerPeriod)} postings; the event loop held at most ${fmt(r.longestHoldMs)} ms at once, another process's writes waited at most ${fmt(r.otherWriterWaitMs)} ms); reading and parsing every usage state in one query ${fmt(r.bareReadMs)} ms  ratio ${r.ratio.toFixed(2)}`);
  results.depreciation = r;
}

if (run('retention')) {
  line('== retention: 300,000 delivered facts and their audit records pruned in batches vs deleted in one transaction');
  const r = await benchRetention(Number(process.env.BENCH_RETENTION_ROWS ?? 300_000));
  line(
    `  pruned in ${fmt(r.pruneMs)} ms (${fmt(r.batches)} batches; the event loop held at most ${fmt(r.longestHoldMs)} ms at once, another process's writes waited at most ${fmt(r.otherWriterWaitMs)} ms); ` +
      `in one transaction ${fmt(r.bareMs)} ms (held ${fmt(r.bareHoldMs)} ms, writes waited ${fmt(r.bareOtherWriterWaitMs)} ms)  ratio ${r.ratio.toFixed(2)}`,
  );
  results.retention = r;
}

writeFileSync('bench-results.json', `${JSON.stringify(results, null, 2)}\n`);
line('results written to bench-results.json');
