/**
 * Runs the backlog-memory benchmark in a fresh process (so earlier benchmarks' heap does not
 * count) and prints its result as one JSON line. Run by bench/run.ts.
 */
import { benchBacklogMemory } from './backlog-memory.js';

const events = Number(process.argv[2] ?? 1_000_000);
const result = await benchBacklogMemory(events, (d) => {
  if (d % 200_000 === 0) process.stderr.write(`  ingested ${d.toLocaleString('en-US')}\n`);
});
process.stdout.write(`${JSON.stringify(result)}\n`);
