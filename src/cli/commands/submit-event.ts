/**
 * Events an operator records by hand (a work-order completion, a replaced meter) go through the
 * pipeline like any other: handed to the running service, which owns the rule state, or, with none
 * running, through a pipeline of the command's own whose state is checkpointed before it exits.
 * And before a command changes the identity registry (or posts usage) with no service running, the
 * ingest log a crashed service left is replayed under the registry its messages were identified
 * with; commands that only read usage say when that log holds messages their figures lack.
 * @module
 */
import { createApp, configLogger } from '../../app.js';
import { logLevel } from '../../adapters/log/logger.js';
import type { Config } from '../../config/schema.js';
import { CHECKPOINT_JOB, SUBMIT_EVENTS_JOB, readRuntimeSnapshot, requestJob, submitEvents } from '../../engine/engine.js';
import type { SubmitResult } from '../../ports/source.js';
import type { Store } from '../../ports/store.js';
import { isoTime, withConfigContext, type StoreAccess } from '../context.js';
import { serviceIsRunning } from './quarantine.js';

/**
 * Records `event` and says how it went: `recorded` (told whether the service did it) once stored,
 * or why not, with exit code 1 (the event is kept in quarantine).
 */
export async function recordOperatorEvent(config: Config, configPath: string, event: Record<string, unknown>, command: string, recorded: (via: string) => string | Promise<string>): Promise<void> {
  const { result, viaService } = await submitOperatorEvent(config, configPath, event, command);
  const rejected = result.quarantined[0];
  if (rejected) {
    process.stdout.write(`not recorded: ${rejected.reason} (kept in quarantine)\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${await recorded(viaService ? ' through the running service' : '')}\n`);
}

export async function submitOperatorEvent(config: Config, configPath: string, event: Record<string, unknown>, command: string): Promise<{ result: SubmitResult; viaService: boolean }> {
  const viaService = await withConfigContext(config, configPath, async ({ store }) => {
    if (!(await serviceIsRunning(store))) return undefined;
    const r = await requestJob(store, SUBMIT_EVENTS_JOB, { events: [event] }, { timeoutMs: 60_000 });
    return JSON.parse(r.output) as SubmitResult;
  });
  if (viaService) return { result: viaService, viaService: true };
  const app = await createApp(config, { sources: false, http: false, deliver: false, logger: configLogger(config, logLevel('warn')), command });
  try {
    const result = await submitEvents(app.ingestor, [event], Date.now());
    await app.ingestor.flush(); // a checkpoint: the stored state has it
    return { result, viaService: false };
  } finally {
    await app.close();
  }
}

/**
 * Before a change to the identity registry (`assets import`, `assets confirm`) with no service
 * running: an ingest log a crashed service left (rule state held in memory, not yet checkpointed)
 * is replayed and stored now, so each of its messages keeps the asset it was first given; the
 * replay at the next start would identify them again under the changed registry. A running
 * service swaps the registry after a checkpoint of its own. Nothing to do without a log.
 * `depreciation post` does the same before it reads the usage state (`before` says what for).
 */
export async function replayLeftIngestLog(config: Config, configPath: string, command: string, before = 'the registry changes', access: StoreAccess = {}): Promise<void> {
  const left = await withConfigContext(config, configPath, async ({ store }) => ((await serviceIsRunning(store)) ? 0 : (await store.counters()).ingestLog), access);
  if (left === 0) return;
  process.stderr.write(`replaying the ${left} message(s) of the ingest log a stopped service left (its rule state after a crash) before ${before}…\n`);
  const app = await createApp(config, { sources: false, http: false, deliver: false, logger: configLogger(config, logLevel('warn')), command });
  try {
    await app.ingestor.flush(); // the replay, then a checkpoint: the log is empty
  } finally {
    await app.close();
  }
}

/**
 * With a service running: has it store the rule state it holds in memory (a checkpoint), as its own
 * usage-posting task does before it posts, so `command`, which then reads the stored state, lacks
 * none of what the service ingested since its last checkpoint (up to `ingest.checkpointMs`).
 */
export async function checkpointRunningService(store: Store, command: string): Promise<void> {
  if (!(await serviceIsRunning(store))) return;
  const r = await requestJob(store, CHECKPOINT_JOB, {}, { timeoutMs: 120_000 });
  if (r.exitCode !== 0) {
    throw new Error(
      `the running service did not store the rule state it holds (${r.output.trim()}), so '${command}' would miss what it ingested since its last checkpoint; nothing was done: restart the service (one started before this version cannot) and run the command again`,
    );
  }
}

/** What the stored usage state lacks while the ingest log holds messages (`depreciation preview`, `post --dry-run`). */
const USAGE_LACKS = 'their readings are not in the stored usage state yet, so units may be short';

/**
 * With no service running: the messages a run that did not stop cleanly (a crash) left in the
 * ingest log, whose changes are not in the stored rule state yet, so not in figures a command
 * that changes nothing reads from it (`depreciation preview`, `post --dry-run`; not `refile --dry-run`, whose held assets ignore readings until re-filed;
 * and through {@link warnOfLeftIngestLog} `maintenance status`, `inventory counts` / `items`,
 * `zones occupancy`). `replayedBy` says which command replays them first (undefined: only a start
 * of the service does); `lacks`, what the figures lack. Undefined when there are none, or a
 * service runs (it holds them in memory and stores them at its next checkpoint).
 */
export async function leftIngestLogWarning(store: Store, replayedBy?: string, lacks = USAGE_LACKS): Promise<string | undefined> {
  if (await serviceIsRunning(store)) return undefined;
  const left = (await store.counters()).ingestLog;
  if (left === 0) return undefined;
  return (
    `warning: ${left} message(s) in the ingest log, left by a run that did not stop cleanly, are not in these figures: ${lacks}. ` +
    (replayedBy === undefined ? "starting the service ('assetbridge run') replays them into it" : `${replayedBy}, as 'assetbridge run' does at its start`)
  );
}

/**
 * The note after the figures of a command that reads the stored rule state (`zones occupancy`,
 * `depreciation preview`, `inventory counts`): as of when they are. `lastCheckpointAt`: when the running service last
 * stored the rule state it holds (a checkpoint); undefined when none runs, or it has not said yet.
 */
export function storedRuleStateNote(lastCheckpointAt: number | undefined): string {
  if (lastCheckpointAt === undefined) return '(from the stored rule state: at most ingest.checkpointMs behind a running service)\n';
  return `(from the stored rule state, as of the running service's last checkpoint at ${isoTime(lastCheckpointAt)}: what it ingested since shows from its next one, within ingest.checkpointMs)\n`;
}

/** {@link storedRuleStateNote} for this store: the running service's last checkpoint, from its runtime snapshot. */
export async function storedRuleStateAsOf(store: Store): Promise<string> {
  const at = (await serviceIsRunning(store)) ? (await readRuntimeSnapshot(store))?.ingest?.lastCheckpoint?.storedAt : undefined;
  return storedRuleStateNote(at);
}

/** {@link leftIngestLogWarning} on stderr, for a command that only reads stored rule state (only a start replays the log). */
export async function warnOfLeftIngestLog(store: Store, lacks: string): Promise<void> {
  const left = await leftIngestLogWarning(store, undefined, lacks);
  if (left) process.stderr.write(`${left}\n`);
}
