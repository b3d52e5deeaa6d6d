/**
 * A second process writing the store as a running service does (a small write every 5 ms, waiting
 * for the write lock in SQLite's busy handler with the service's 5 s `busy_timeout`), for the
 * retention benchmark: how long its writes wait while another connection holds the lock. Prints,
 * once `stop` arrives on stdin, `{ worstMs, writes, failed }` as JSON.
 * Usage: node dist/bench/lock-writer.js STORE_FILE
 * @module
 */
import Database from 'better-sqlite3';

const file = process.argv[2];
if (!file) throw new Error('usage: lock-writer STORE_FILE');
const db = new Database(file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = FULL');
const write = db.prepare(`INSERT INTO kv (namespace, key, value, updated_at) VALUES ('bench', 'lock-writer', ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`);
let worstMs = 0;
let writes = 0;
let failed = 0;
let timer: NodeJS.Timeout | undefined;
const tick = () => {
  const t = performance.now();
  try {
    write.run(String(writes), Date.now());
    writes++;
  } catch {
    failed++;
  }
  worstMs = Math.max(worstMs, performance.now() - t);
  timer = setTimeout(tick, 5);
};
process.stdin.on('data', (d: Buffer) => {
  if (!d.toString().includes('stop')) return;
  clearTimeout(timer);
  db.close();
  process.stdout.write(`${JSON.stringify({ worstMs: Math.round(worstMs), writes, failed })}\n`);
  process.exit(0);
});
process.stdout.write('ready\n');
tick();
