/**
 * A second process writing the store while a benchmark runs (`bench/lock-writer.ts`): how long
 * its writes wait for the write lock, as the commit worker's ingest commits or a running
 * service's writes would (the retention and depreciation benchmarks).
 * @module
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface WriterReport {
  readonly worstMs: number;
  readonly writes: number;
  readonly failed: number;
}

/** Starts bench/lock-writer.js on `file`; `stop()` ends it with its report. */
export async function otherWriter(file: string): Promise<{ stop(): Promise<WriterReport> }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./lock-writer.js', import.meta.url)), file], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((ok, fail) => {
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`the lock writer exited (${code}) before it started`)));
    child.stdout.on('data', () => {
      if (out.includes('ready')) ok();
    });
  });
  return {
    async stop() {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.stdin.write('stop\n');
      await exited;
      const last = out.trim().split('\n').pop() ?? '';
      return JSON.parse(last) as WriterReport;
    },
  };
}
