/**
 * What the store's worker threads (the commit worker, the backup and vacuum workers) share: finding
 * the compiled worker file, an error as it crosses between threads, and running a one-shot worker
 * while this thread watches how far it has got.
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * An error as it crosses from a worker to its owner: an Error's own `code` (SQLite's
 * `SQLITE_FULL`, `SQLITE_BUSY`, …, which says what to do) does not survive a structured clone.
 */
export interface WorkerFailure {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

/** `err` as it can be posted to the owner ({@link WorkerFailure}). */
export function toWorkerFailure(err: unknown): WorkerFailure {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const code = (err as { code?: unknown }).code;
  return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}), ...(err.stack !== undefined ? { stack: err.stack } : {}) };
}

/** The worker's error as the owner's: its message, name, stack and SQLite code as they were. */
export function fromWorkerFailure(f: WorkerFailure): Error & { code?: string } {
  const err: Error & { code?: string } = new Error(f.message);
  err.name = f.name;
  if (f.code !== undefined) err.code = f.code;
  if (f.stack !== undefined) err.stack = f.stack;
  return err;
}

/**
 * The compiled worker `name` (e.g. `commit-worker.js`) beside this module, or (when this module
 * runs from TypeScript sources, as under vitest) in dist/; else an error naming both places,
 * `what` the worker is and `remedy`.
 */
export function workerFile(name: string, what: string, remedy = "run 'npm run build'"): string {
  const sibling = fileURLToPath(new URL(`./${name}`, import.meta.url));
  if (existsSync(sibling)) return sibling;
  const escaped = name.replace(/[.]/g, '\\.');
  const built = sibling.replace(new RegExp(`([\\\\/])src([\\\\/]adapters[\\\\/]store[\\\\/]sqlite[\\\\/]${escaped})$`), '$1dist$1src$2');
  if (existsSync(built)) return built;
  throw new Error(`the SQLite ${what} is not built (looked for ${sibling} and ${built}); ${remedy}`);
}

/**
 * The one reply of the one-shot worker `name` (the backup or vacuum worker: `what` it is, for the
 * errors) started with `workerData`, while this thread, free meanwhile, calls `tick` every `everyMs`
 * (to look at the files the worker writes), and `started` once it is started. A worker that fails or exits without replying is an
 * error saying it did so before `unfinished` (`the copy was complete`).
 */
export async function oneShotWorker<R>(
  name: string,
  what: string,
  workerData: unknown,
  opts: { readonly unfinished: string; readonly started?: (() => void) | undefined; readonly tick?: (() => void) | undefined; readonly everyMs: number },
): Promise<R> {
  const worker = new Worker(workerFile(name, what), { workerData });
  opts.started?.();
  const timer = opts.tick && setInterval(opts.tick, opts.everyMs);
  try {
    return await new Promise<R>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', (err) => reject(new Error(`SQLite ${what} failed: ${err.message}`, { cause: err })));
      worker.once('exit', (code) => reject(new Error(`SQLite ${what} exited (code ${code}) before ${opts.unfinished}`)));
    });
  } finally {
    if (timer) clearInterval(timer);
    await worker.terminate();
  }
}
