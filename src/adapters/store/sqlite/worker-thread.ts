/**
 * What the store's worker threads (the commit worker, the backup worker) share: finding the
 * compiled worker file, and an error as it crosses between threads.
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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
