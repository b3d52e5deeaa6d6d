/**
 * A private Mosquitto for benchmarks: the same broker binary as production, on its own port, with
 * an unbounded per-client queue. The system broker's default `max_queued_messages 1000` would
 * drop QoS 1 messages whenever the publisher runs ahead of the subscriber, which is exactly what
 * a throughput benchmark does.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceAvailable } from '../test/helpers/services.js';

export interface BenchBroker {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startBenchBroker(port = 18_831): Promise<BenchBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'ab-bench-broker-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'max_queued_messages 0', 'max_inflight_messages 0', 'persistence false', ''].join('\n'));
  let child: ChildProcess;
  try {
    child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`cannot start mosquitto for the benchmark (${(err as Error).message}); install it with 'apt-get install mosquitto'`);
  }
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  child.on('error', () => undefined);
  for (let i = 0; i < 100 && !(await serviceAvailable('127.0.0.1', port, 200)); i++) await new Promise((r) => setTimeout(r, 50));
  if (!(await serviceAvailable('127.0.0.1', port, 500))) throw new Error(`mosquitto did not start on port ${port}; is the binary installed and the port free?`);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
