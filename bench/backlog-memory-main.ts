/**
 * Runs the backlog-memory benchmark in a fresh process (so earlier benchmarks' heap does not
 * count) and prints its result as one JSON line. Run by bench/run.ts.
 */
import { benchBacklogMemory } from './backlog-memory.js';
import { tuneV8 } from '../src/runtime/v8-tuning.js';

// The service process's V8 tuning (src/cli/main.ts applies the same).
tuneV8();

const events = Number(process.argv[2] ?? 1_000_000);
const result = await benchBacklogMemory(events, (d) => {
  if (d % 200_000 === 0) process.stderr.write(`  ingested ${d.toLocaleString('en-US')}\n`);
});
process.stdout.write(`${JSON.stringify(result)}\n`);
