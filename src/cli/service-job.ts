/**
 * A command the running service does for the CLI (a job, `requestJob`), and Ctrl-C on it: the aemp
 * commands, `quarantine replay` and `depreciation refile` stop it in the service the same way.
 * @module
 */
import { JobWithdrawnError, requestJob, type JobResult } from '../engine/engine.js';
import type { Store } from '../ports/store.js';

/**
 * Asks the running service for job `name` and waits for its result, Ctrl-C asking it to stop
 * ({@link interruptJob}). Undefined when it was withdrawn before the service took it up (said on
 * stderr, exit code 130): nothing of it was done.
 */
export async function runServiceJob(
  store: Store,
  name: string,
  args: unknown,
  what: string,
  timeoutMs: number,
  onProgress?: (text: string) => void,
): Promise<(JobResult & { errors?: string }) | undefined> {
  const stop = interruptJob(what);
  try {
    return await requestJob(store, name, args, { timeoutMs, signal: stop.signal, ...(onProgress ? { onProgress } : {}) });
  } catch (err) {
    if (!(err instanceof JobWithdrawnError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 130;
    return undefined;
  } finally {
    stop.release();
  }
}

/**
 * Ctrl-C (or SIGTERM) while the service does the work: the first asks it to stop the job as the
 * command would stop itself (a pull or backfill ends with its summary and resumes at the next run);
 * a second leaves it running in the service and exits at once (130).
 */
export function interruptJob(what: string, write: (t: string) => void = (t) => void process.stderr.write(t), exit: (code: number) => void = (code) => process.exit(code)): { signal: AbortSignal; release: () => void } {
  const abort = new AbortController();
  const onSignal = (): void => {
    if (!abort.signal.aborted) {
      write(`interrupted: asking the service to stop (${what}); it prints what was done. Ctrl-C again leaves it running in the service\n`);
      abort.abort(new Error('interrupted'));
      return;
    }
    write(`left running in the service (${what}); its log shows how it goes\n`);
    exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: abort.signal,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
