import type { Command } from 'commander';
import { readRuntimeSnapshot } from '../../engine/engine.js';
import { hostname } from 'node:os';
import { currentHolder, pidAlive, pidSpace, SAME_HOST_GONE_MS, samePidSpace, STALE_MS, storedHolder, type IsAlive, type LeaseHolder } from '../../engine/store-lease.js';
import type { DestinationMetrics } from '../../engine/dispatcher.js';
import type { IngestStats } from '../../engine/ingestor.js';
import type { DestinationStats, Store } from '../../ports/store.js';
import type { RefusedSubscription } from '../../ports/source.js';
import { lastOnDemandPosting, lastPostingCheck, type OnDemandPosting, type PostingCheck } from '../../engine/tasks/usage-posting.js';
import { loadLastPull, type PullSummary } from '../../adapters/telematics/aemp/fleet-pull.js';
import { unfilteredPolls, type UnfilteredPolls } from '../../engine/tasks/work-order-feedback.js';
import { pollsWorkOrders } from '../../engine/tasks/index.js';
import type { TaskStats } from '../../engine/scheduler.js';
import { formatDuration } from '../../core/rules/maintenance/maintenance-rule.js';
import { redactedFor, waitsForOf } from '../../app.js';
import { action, isoTime, addConfigOption, table, withContext, toJson } from '../context.js';

type CheckpointSeen = NonNullable<IngestStats['lastCheckpoint']>;

/** The running service's last checkpoint of rule state: when, how many assets, how long (a spread one: over how many batches, the longest). */
export function lastCheckpointText(seen: CheckpointSeen, now: number): string {
  const took = seen.parts === undefined ? `in ${seen.ms} ms` : `over ${seen.parts} batch${seen.parts === 1 ? '' : 'es'} (the longest took ${seen.ms} ms)`;
  return `rule state: last checkpoint ${ago(now - seen.storedAt)} ago stored ${seen.assets === 1 ? "1 asset's" : `${seen.assets} assets'`} state ${took} (ingest.checkpointMs, ingest.checkpointMessages, ingest.checkpointMessagesPerAsset)\n`;
}

/**
 * The messages whose rule-state changes a service holds in memory (`running`, `stopping`, and
 * `stalled-stopping`: a stop that has not written its status lately), or that
 * a run which did not stop cleanly left in the ingest log (`stopped`): "1 message's", "3 messages'".
 */
export function heldMessagesText(n: number, service: 'running' | 'stopping' | 'stalled-stopping' | 'stopped'): string {
  const changes = n === 1 ? "1 message's changes" : `${n} messages' changes`;
  if (service === 'stopping') return `rule state: ${changes} held in memory; the stop stores them (its last checkpoint)\n`;
  if (service === 'stalled-stopping') return `rule state: ${changes} held in memory; the stop stores them if it can write the store (its last checkpoint), else the next start replays them from the ingest log\n`;
  if (service === 'running') return `rule state: ${changes} held in memory until the next checkpoint (ingest.checkpointMs)\n`;
  return `rule state: ${n} message${n === 1 ? '' : 's'} in the ingest log from a run that did not stop cleanly; the next start replays them\n`;
}

/**
 * Where `status` looks from: this host, this process's kernel boot and pid namespace
 * ({@link pidSpace}) and how a pid is checked here ({@link pidAlive}).
 */
export interface Vantage {
  readonly host: string;
  readonly pidSpace: string | undefined;
  readonly isAlive: IsAlive;
}

/** This process's {@link Vantage}. */
export function here(): Vantage {
  return { host: hostname(), pidSpace: pidSpace(), isAlive: pidAlive };
}

/**
 * Whether the lease's holder is gone, as far as can be told from `at`, as the lease verdict
 * (`leaseVerdict`) tells it to the next start. A holder in the same pid namespace
 * ({@link samePidSpace}): its pid decides (gone, or now another process's). Otherwise its pid
 * cannot be checked from here (another container given the same hostname sees other pids; a
 * holder that recorded no namespace, or a platform without /proc): its renewals decide, on this
 * host once its pid is not seen here and it has not renewed for {@link SAME_HOST_GONE_MS}, from
 * another host after {@link STALE_MS}.
 */
export function holderGone(lease: LeaseHolder, now: number, at: Vantage): boolean {
  if (samePidSpace(lease, at.host, at.pidSpace)) return !at.isAlive(lease.pid, lease.started);
  if (now - lease.heartbeat > STALE_MS) return true;
  if (lease.host !== at.host) return false;
  return !at.isAlive(lease.pid, lease.started) && now - lease.heartbeat > SAME_HOST_GONE_MS;
}

/** Why a {@link staleLease} is no holder, for the service line. */
export function staleText(lease: LeaseHolder, now: number, at: Vantage): string {
  const who = `${lease.command} (pid ${lease.pid} on ${lease.host})`;
  if (samePidSpace(lease, at.host, at.pidSpace))
    return `${who} held the store and has ended without letting go, as at a crash; pid ${lease.pid} is gone or now another process's. The next start takes the lease over`;
  if (lease.host === at.host)
    return `${who} held the store and has not renewed its lease for ${ago(now - lease.heartbeat)}, as a process that ended does not (its pid cannot be checked from here: another container with this hostname, or a process before a restart). The next start takes the lease over`;
  return `${who} held the store and has not renewed its lease for ${ago(now - lease.heartbeat)}, as a process that ended does not. The next start takes the lease over`;
}

function ago(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** What the runtime snapshot says of the process that wrote it. */
type ServiceSnap = { readonly pid: number; readonly state: string; readonly at: number };

/**
 * Whether the service is up (its last snapshot says running and is under 5 s old), still
 * starting (delivering and taking HTTP intake, a source not yet connected: a broker down at start)
 * or stopping (finishing in-flight work, as asked: the dispatch grace, the last checkpoint), and
 * who holds the store's lease. A holder that is gone ({@link holderGone}: in this pid namespace,
 * its pid is gone, as after kill -9 or the OOM killer) holds nothing (the next start takes the
 * lease over) and its fresh snapshot is no running service.
 */
export function serviceState(
  snap: ServiceSnap | undefined,
  lease: LeaseHolder | undefined,
  now: number,
  at: Vantage,
): { live: boolean; starting: boolean; stopping: boolean; holder: LeaseHolder | undefined } {
  const gone = lease !== undefined && holderGone(lease, now, at);
  const fresh = snap !== undefined && now - snap.at < 5000 && !(gone && lease.pid === snap.pid);
  return { live: fresh && snap.state === 'running', starting: fresh && snap.state === 'starting', stopping: fresh && snap.state === 'draining', holder: gone ? undefined : lease };
}

/**
 * A service whose last snapshot says it runs (or starts, or stops: `stopping`) but is too old to
 * count, while the process that wrote it still holds the store's lease and lives (is not
 * {@link holderGone}): a service that cannot write the store (a full disk, a volume made
 * read-only) writes neither its snapshot nor its lease, yet runs (or goes on with its stop), and
 * would be said to be "not running", its ingest log "from a run that did not stop cleanly", its
 * own lease "store in use by". Undefined otherwise.
 */
export function stalledService(
  snap: ServiceSnap | undefined,
  lease: LeaseHolder | undefined,
  now: number,
  at: Vantage,
): { pid: number; lastSeenMs: number; stopping: boolean } | undefined {
  if (snap === undefined || (snap.state !== 'running' && snap.state !== 'starting' && snap.state !== 'draining') || lease === undefined || lease.pid !== snap.pid) return undefined;
  return !holderGone(lease, now, at) ? { pid: snap.pid, lastSeenMs: Math.max(0, now - snap.at), stopping: snap.state === 'draining' } : undefined;
}

/**
 * The store's lease as stored when its holder is gone ({@link holderGone}): in this pid namespace,
 * its process has ended (its pid is gone, or is another process's now: one started since, as the
 * recorded start time tells where the platform says); where its pid cannot be checked, it has
 * stopped renewing. A crashed holder's (kill -9, a power loss): nothing holds the store, the next
 * start takes the lease over. Undefined otherwise.
 */
export function staleLease(lease: LeaseHolder | undefined, now: number, at: Vantage): LeaseHolder | undefined {
  return lease !== undefined && holderGone(lease, now, at) ? lease : undefined;
}

/**
 * The service running on this store now, as `status` tells it (a fresh runtime snapshot, from a
 * process not known to be dead); undefined when none runs. A command holding the lease without
 * the service (`aemp backfill`) is no running service: it runs no scheduled task.
 */
export async function runningService(store: Pick<Store, 'kvGet'>, now: number, at: Vantage = here()): Promise<{ pid: number } | undefined> {
  const snap = await readRuntimeSnapshot(store);
  return snap !== undefined && serviceState(snap, await currentHolder(store, now), now, at).live ? { pid: snap.pid } : undefined;
}

/** The running service's sources and whether each is connected (MQTT), then each subscription its broker refused; '' when none can tell. */
export function sourcesLine(
  sources: Readonly<Record<string, { readonly connected?: boolean; readonly refusedSubscriptions?: readonly Pick<RefusedSubscription, 'filter' | 'key' | 'reason'>[]; readonly connectionError?: { readonly key: string; readonly error: string } }>>,
): string {
  const entries = Object.entries(sources);
  if (entries.length === 0) return '';
  const down = entries.some(([, s]) => !s.connected);
  const each = entries.map(([name, s]) => `${name} ${s.connected ? 'connected' : `NOT CONNECTED${s.connectionError ? ` (${s.connectionError.key}: ${s.connectionError.error})` : ''}`}`).join(', ');
  const refused = entries.flatMap(([name, s]) =>
    (s.refusedSubscriptions ?? []).map((r) => `source ${name}: the broker refused the subscription to "${r.filter}" (${r.key}): ${r.reason}; nothing matching it arrives: check the broker's ACL for this source's client (the service log says more)\n`),
  );
  return `sources: ${each}${down ? ' (reconnecting every sources.mqtt[].reconnectDelayMs; the service log says why)' : ''}\n${refused.join('')}`;
}

/** Per destination whose circuit is not closed, the latest failure that keeps it so; '' when none. */
export function circuitLines(destinations: Readonly<Record<string, Pick<DestinationMetrics, 'circuit' | 'circuitError'>>>): string {
  const lines = Object.entries(destinations)
    .filter(([, m]) => m.circuit !== 'closed' && m.circuitError !== undefined)
    // Half-open stays so until a delivery tries (none may be pending): not a failure going on now.
    .map(([name, m]) => `circuit ${name} ${m.circuit}${m.circuit === 'half-open' ? ' (the next delivery tries the destination; one that succeeds closes it)' : ''}: ${m.circuitError}\n`);
  return lines.length ? `${lines.join('')}(the latest failure; 'assetbridge audit' lists every attempt)\n` : '';
}

/**
 * Per destination of the outbox that the config no longer names (renamed or removed) with
 * deliveries still pending: nothing sends them. '' when none.
 */
export function unconfiguredLines(outbox: readonly Pick<DestinationStats, 'destination' | 'pending' | 'inflight'>[], configured: ReadonlySet<string>): string {
  return outbox
    .filter((d) => !configured.has(d.destination) && d.pending + d.inflight > 0)
    .map(
      (d) =>
        `destination ${d.destination} is not in the config (destinations[].name): nothing sends its ${d.pending + d.inflight} pending deliveries. If it was renamed, put the old name back (they go to the destination of that name only)\n`,
    )
    .join('');
}

/**
 * One line per destination with deliveries held while the record they act on is being created (a
 * work order's update while its create is queued, retried or in flight): they are not late, so
 * OLDEST PENDING leaves them out, and they go once the create is delivered (or dead).
 */
export function waitingForCreateLines(outbox: readonly Pick<DestinationStats, 'destination' | 'pending' | 'waitingForCreate'>[]): string {
  return outbox
    .filter((d) => (d.waitingForCreate ?? 0) > 0)
    .map((d) => {
      const n = d.waitingForCreate ?? 0;
      return `${d.destination}: ${n} of the ${d.pending} pending ${n === 1 ? 'waits' : 'wait'} for ${n === 1 ? 'its' : 'their'} create (a work order's update while its workorder.create is queued, retried or in flight): not late, left out of OLDEST PENDING; sent once the create is delivered or dead\n`;
    })
    .join('');
}

/**
 * One line per configured telematics feed: its last fleet pull (when, complete or why it stopped,
 * what it matched), so a feed whose pulls fail or leave machines unmatched shows where people look.
 */
export function telematicsLines(feeds: readonly { readonly name: string; readonly last?: PullSummary }[]): string {
  return feeds
    .map(({ name, last }) => {
      if (!last) return `telematics ${name}: never pulled ('assetbridge aemp pull --provider ${name}', or the service's schedule)\n`;
      const when = isoTime(last.startedAt);
      const review = last.unmatched + last.ambiguous;
      const what = `${last.pages} page(s), ${last.equipment} machine(s): ${last.matched} matched${review ? `, ${review} waiting for review ('assetbridge assets unmatched')` : ''}`;
      // A stop that is no error (the hop cap) says what to change instead.
      const why = last.error ?? last.rerun?.find((l) => l.startsWith('fix first: '));
      const how = last.complete ? 'complete' : `STOPPED (${last.stop}${why ? `: ${why}` : ''}; 'assetbridge aemp budget' says where the next pull resumes)`;
      return `telematics ${name}: last pull ${when}, ${what}; ${how}\n`;
    })
    .join('');
}

/**
 * The line for an outbox with no deliveries at all. Once messages were accepted, the event-time
 * rules may still hold them: positions (without `rules.zones`) and meter readings go at once, but
 * work orders and other facts (and positions, with zones) wait until the rules decide them,
 * `rules.allowedLateness` after their events, or for an asset that falls silent `rules.idleAfter`
 * (at least the lateness; 0: its next message) after its last one, so "nothing yet" right after a
 * first message is no fault. With no lateness and no zones nothing waits: the rules decide events
 * as they arrive.
 */
export function noDeliveriesText(accepted: number, rules: { readonly allowedLateness: number; readonly idleAfter: number; readonly zones?: { readonly zones: readonly unknown[] } }): string {
  if (accepted === 0) return 'no deliveries yet\n';
  const zones = (rules.zones?.zones.length ?? 0) > 0;
  if (rules.allowedLateness === 0 && !zones) return `no deliveries yet: the ${accepted} message(s) accepted made none (the rules decide events as they arrive: rules.allowedLateness is 0)\n`;
  const silent = rules.idleAfter > 0 ? `about ${formatDuration(Math.max(rules.idleAfter, rules.allowedLateness))} after its last message` : 'at its next message (rules.idleAfter is 0)';
  const atOnce = zones ? 'meter readings go at once; positions (rules.zones is set), work orders and other facts' : 'positions and meter readings go at once; work orders and other facts';
  return `no deliveries yet: the rules may still hold the ${accepted} message(s) accepted: ${atOnce} once the rules decide them, rules.allowedLateness (${formatDuration(rules.allowedLateness)}) after their events, or for an asset that falls silent ${silent} (rules.idleAfter); deliveries follow\n`;
}

/**
 * Per scheduled task whose latest runs failed: how many in a row and the latest failure; per task
 * whose latest run stopped to go on later (a pull waiting for its budget, no failure): that it
 * will retry, and why it stopped; '' when none.
 */
export function failingTaskLines(tasks: Readonly<Record<string, TaskStats>>): string {
  return Object.entries(tasks)
    .map(([name, t]) =>
      t.failingRuns > 0
        ? `task ${name} FAILING: its last ${t.failingRuns} run(s) failed: ${t.error ?? 'unknown error'} (the service log has the first at error)\n`
        : t.retrying !== undefined
        ? `task ${name} will retry: its last run stopped before it finished (not a failure): ${t.retrying}\n`
        : '',
    )
    .join('');
}

/**
 * What the usage posting last did: the service's last check (what it queued, or that it posted
 * nothing new, and through which period every asset is posted but those held back, named with
 * why; or that it found no period to post yet), and the last `depreciation post` that queued postings (on demand, outside those checks).
 */
export function depreciationLine(check: PostingCheck | undefined, onDemand: OnDemandPosting | undefined, now: number): string {
  const parts: string[] = [];
  if (check) {
    const did =
      check.through === undefined
        ? 'found no period to post yet (none ended rules.depreciation.postAfter ago or more)'
        : check.postings === undefined
        ? `usage posted through ${check.through}`
        : check.postings > 0
          ? `queued ${check.postings} usage posting(s), posted through ${check.through}`
          : `posted nothing new (usage posted through ${check.through} already)`;
    parts.push(`the service's last check (${ago(Math.max(0, now - check.at))} ago) ${did}`);
  }
  if (onDemand) parts.push(`'depreciation post --period ${onDemand.period}' queued ${onDemand.postings} posting(s) ${ago(Math.max(0, now - onDemand.at))} ago`);
  if (!parts.length) return '';
  const head = `depreciation: ${parts.join('; ')}`;
  if (!check || check.heldCount === 0) return `${head}\n`;
  const more = check.heldCount > check.held.length ? `; and ${check.heldCount - check.held.length} more` : '';
  return `${head}; ${check.heldCount} asset(s) held back: ${check.held.join('; ')}${more} ('assetbridge depreciation preview${check.through !== undefined ? ` --period ${check.through}` : ''}' notes each)\n`;
}

/**
 * The destinations whose work-order polls list records changed well before their cursor (the ERP
 * ignores `?updatedSince=`): since when, over how many polls, and the last one's figures; '' when none.
 */
export function unfilteredPollLines(polls: Readonly<Record<string, UnfilteredPolls>>, now: number): string {
  return Object.entries(polls)
    .map(
      ([destination, u]) =>
        `work-order poll of ${destination} NOT FILTERED: ${u.polls} poll(s) since ${isoTime(u.since)} (${ago(Math.max(0, now - u.since))} ago) listed work orders changed before the time they asked from (the last: ${u.count} of the ${u.of} it listed, the oldest changed at ${isoTime(u.oldest)}, for updatedSince=${isoTime(u.cursor)}): ` +
        `the ERP ignores ?updatedSince=, so every poll reads its whole work-order list; the service log's warning says what to set\n`,
    )
    .join('');
}

export function registerStatusCommand(program: Command): void {
  addConfigOption(
    program
      .command('status')
      .description('queue depth per destination, oldest pending age, quarantine and dead-letter counts, rate-limit pauses')
      .option('--json', 'print JSON')
      .addHelpText(
        'after',
        "\nExit codes: 0 shown (dead letters or a stopped service do not fail it), 1 failed (a store it cannot read: one an older assetbridge wrote, left as it is, or a file that is no store; it says what to do), 2 bad usage or config, or no store at the config's store.path (nothing has run with that config: check --config).\n\n" +
          "Examples:\n  assetbridge status -c assetbridge.yaml\n  assetbridge status --json | jq '.outbox[] | select(.dead > 0)'",
      ),
  ).action(
    action(async (opts: { config: string; json?: boolean }) => {
      await withContext(opts.config, async ({ config, store }) => {
        const now = Date.now();
        // Deliveries held for their create (the connectors' waitsFor, read without building them): counted apart, not aging.
        const outbox = await store.outboxStats(now, (name) => {
          const d = config.destinations.find((x) => x.name === name);
          return d === undefined ? undefined : waitsForOf(d);
        });
        const configured = new Set(config.destinations.map((d) => d.name));
        const notConfigured = outbox.filter((d) => !configured.has(d.destination)).map((d) => d.destination);
        const counters = await store.counters();
        const openQuarantine = counters.quarantineOpen;
        const snap = await readRuntimeSnapshot(store);
        // Who runs the pipeline on this store now (the service, or a command such as aemp backfill).
        const at = here();
        const state = serviceState(snap, await currentHolder(store, now), now, at);
        const live = snap !== undefined && state.live;
        // A service still starting already delivers and takes HTTP intake: what it shows is now, as a running one's.
        const up = snap !== undefined && (state.live || state.starting);
        // Stopping as asked (a signal), finishing in-flight work: what its snapshot shows is still now.
        const stopping = snap !== undefined && state.stopping;
        // Running, but it has not written its status for a while (a store it cannot write): said so, not "not running".
        const stored = await storedHolder(store);
        const stalled = up || stopping ? undefined : stalledService(snap, stored, now, at);
        // A lease a crashed process left (its pid gone, or another process's since): said, not taken for a holder.
        const stale = up || stopping || stalled ? undefined : staleLease(stored, now, at);
        // Rule-state changes not yet in the stored state: held by the running service, or left in
        // the ingest log by a run that did not stop cleanly (the next start replays them).
        const heldMessages = counters.ingestLog;
        // Since the (last) run started.
        const lateEvents = snap?.ingest?.lateEvents ?? {};
        // The same events sent again (redeliveries, retries) that the rules dropped, since the run started.
        const duplicateEvents = snap?.ingest?.duplicateEvents ?? {};
        // Silent assets whose held events the service decided (rules.idleAfter), since the run started.
        const idleWatermarks = snap?.ingest?.watermarks ?? 0;
        // Event capture (capture.dir), since the run started.
        const capture = { captured: snap?.ingest?.captured ?? 0, dropped: snap?.ingest?.captureDropped ?? 0 };
        // The running service's last checkpoint of rule state (a stopped one's says nothing about now).
        const lastCheckpoint = up || stopping ? snap.ingest?.lastCheckpoint : undefined;
        const lease = state.holder;
        const holder = lease ? { command: lease.command, pid: lease.pid, host: lease.host, since: lease.since } : undefined;
        // `since` is no `…At` field: written as a time here, as toJson writes those.
        // The period-end usage posting's last check (rules.depreciation): through which period, and what it held back.
        const depreciation = config.rules.depreciation ? await lastPostingCheck(store) : undefined;
        // The last `depreciation post` that queued postings (the service's check does not see those).
        const onDemand = config.rules.depreciation ? await lastOnDemandPosting(store) : undefined;
        // The last run's start failed (its snapshot says so): not a service that was stopped as asked.
        const startFailed = !up && snap?.state === 'failed' && snap.stopFailed !== true;
        // Its last stop failed (a step of it threw, the process exited 1): not a clean stop either.
        const stopFailed = !up && snap?.state === 'failed' && snap.stopFailed === true;
        const service = live
          ? { state: 'running', pid: snap.pid }
          : up
            ? { state: 'starting', pid: snap.pid, step: snap.startStep ?? '' }
            : stopping
              ? { state: 'stopping', pid: snap.pid }
              : stalled
              ? { state: 'not answering', pid: stalled.pid, lastSeenMs: stalled.lastSeenMs, ...(stalled.stopping ? { stopping: true } : {}) }
              : { state: 'not running', ...(startFailed ? { lastStart: 'failed' } : {}), ...(stopFailed ? { lastStop: 'failed' } : {}), ...(stale ? { staleLease: { pid: stale.pid, host: stale.host } } : {}) };
        // Each configured feed's last fleet pull.
        // A pull's error may quote what the feed or its token endpoint answered: redacted as the snapshot's errors are.
        const redact = redactedFor(config);
        const telematics = await Promise.all(
          config.telematics.map(async (t) => {
            const last = await loadLastPull(store, t.name);
            return { name: t.name, last: last?.error === undefined ? last : { ...last, error: redact(last.error) } };
          }),
        );
        // Destinations whose work-order polls the ERP does not filter by ?updatedSince= (said once in the log, counted here);
        // none once the service no longer polls (what an earlier run recorded would be stale).
        const unfiltered: Record<string, UnfilteredPolls> = {};
        for (const d of pollsWorkOrders(config.rules) ? config.destinations : []) {
          const u = await unfilteredPolls(store, d.name);
          if (u !== undefined) unfiltered[d.name] = u;
        }
        const result = { service, ...(holder ? { storeInUseBy: { ...holder, since: isoTime(holder.since) } } : {}), outbox, ...(notConfigured.length ? { destinationsNotConfigured: notConfigured } : {}), counters, openQuarantine, heldMessages, lateEvents, duplicateEvents, idleWatermarks, capture, ...(lastCheckpoint ? { lastCheckpoint } : {}), ...(depreciation ? { depreciation: { ...depreciation, at: isoTime(depreciation.at) } } : {}), ...(onDemand ? { depreciationPosted: { ...onDemand, at: isoTime(onDemand.at) } } : {}), destinations: snap?.destinations ?? {}, ...(Object.keys(unfiltered).length ? { workOrderPollsUnfiltered: Object.fromEntries(Object.entries(unfiltered).map(([d, u]) => [d, { ...u, since: isoTime(u.since), oldest: isoTime(u.oldest), cursor: isoTime(u.cursor) }])) } : {}), ...(telematics.length ? { telematics: telematics.map((t) => ({ name: t.name, ...(t.last ? { lastPull: t.last } : {}) })) } : {}), ...(up ? { sources: snap.sources ?? {}, tasks: snap.tasks ?? {} } : {}) };
        if (opts.json) {
          process.stdout.write(`${toJson(result)}\n`);
          return;
        }
        const notAnswering = stalled
          ? stalled.stopping
            ? `stopping (pid ${stalled.pid}) but not answering: it has not written its status for ${ago(stalled.lastSeenMs)}, as when it cannot write the store (a full disk, a read-only volume); its log says why`
            : `running (pid ${stalled.pid}) but not answering: it has not written its status for ${ago(stalled.lastSeenMs)}, as when it cannot write the store (a full disk, a read-only volume); its log and /readyz say why`
          : undefined;
        process.stdout.write(`service: ${live ? `running (pid ${snap.pid})` : up ? `starting (pid ${snap.pid}): ${snap.startStep ?? ''}` : stopping ? `stopping (pid ${snap.pid}): finishing in-flight work (deliveries under way get shutdown.graceMs), then the last checkpoint` : (notAnswering ?? (startFailed ? 'not running: its last start failed (its log says why)' : stopFailed ? 'not running: its last stop failed (its log says why)' : stale ? `not running (stale lease: ${staleText(stale, now, at)})` : 'not running'))}\n`);
        if (holder && !((up || stopping || stalled) && holder.pid === snap?.pid)) process.stdout.write(`store in use by: ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${isoTime(holder.since)})\n`);
        if (up) process.stdout.write(sourcesLine(snap.sources ?? {}));
        if (up) process.stdout.write(failingTaskLines(snap.tasks ?? {}));
        process.stdout.write(telematicsLines(telematics));
        process.stdout.write(`messages accepted: ${counters.eventsAccepted}   quarantined: ${counters.quarantined} (${openQuarantine} still open)\n`);
        // The intake's messages above; the ERP's own work-order updates, listed by its polls, apart.
        if (counters.workOrderUpdatesPolled > 0) process.stdout.write(`work-order updates polled from the ERP (accepted, all time): ${counters.workOrderUpdatesPolled}\n`);
        process.stdout.write(unfilteredPollLines(unfiltered, now));
        const facts = Object.entries(counters.factsEnqueued);
        if (facts.length) process.stdout.write(`facts enqueued (all time): ${facts.map(([op, n]) => `${op} ${n}`).join(', ')}\n`);
        if (heldMessages > 0) process.stdout.write(heldMessagesText(heldMessages, stopping ? 'stopping' : stalled?.stopping ? 'stalled-stopping' : up || stalled ? 'running' : 'stopped'));
        if (lastCheckpoint) process.stdout.write(lastCheckpointText(lastCheckpoint, now));
        const late = Object.entries(lateEvents).filter(([, n]) => n > 0);
        if (late.length > 0) {
          process.stdout.write(
            `late events dropped by rules${up || stopping ? '' : ' (last run)'}: ${late.map(([rule, n]) => `${rule} ${n}`).join(', ')}; ` +
              'not newer than what the rule had decided on: resent after it was decided (a device repeating itself), another reading with the same time as one decided (only the first counts), or held by a sender longer than rules.allowedLateness (then raise it)' +
              `${idleWatermarks > 0 ? ' or than rules.idleAfter' : ''}\n`,
          );
        }
        const duplicates = Object.entries(duplicateEvents).filter(([, n]) => n > 0);
        if (duplicates.length > 0) process.stdout.write(`duplicate events dropped by rules${up || stopping ? '' : ' (last run)'}: ${duplicates.map(([rule, n]) => `${rule} ${n}`).join(', ')}; the same event sent again (an MQTT redelivery, a retried POST, a device repeating itself): not late, nothing delivered\n`);
        if (idleWatermarks > 0) process.stdout.write(`silent assets whose held events were decided${up || stopping ? '' : ' (last run)'}: ${idleWatermarks} (rules.idleAfter)\n`);
        process.stdout.write(depreciationLine(depreciation, onDemand, now));
        if (capture.captured + capture.dropped > 0) {
          const dir = config.capture ? ` to ${config.capture.dir}` : '';
          process.stdout.write(`events captured${dir}${up || stopping ? '' : ' (last run)'}: ${capture.captured}${capture.dropped ? `, not captured: ${capture.dropped} (see the service log; capture.maxFileMiB)` : ''}\n`);
        }
        process.stdout.write('\n');
        const rows: (string | number)[][] = [['DESTINATION', 'PENDING', 'IN FLIGHT', 'OLDEST PENDING', 'DELIVERED', 'DEAD', '429/503', 'PAUSED', 'CIRCUIT']];
        for (const d of outbox) {
          const m = snap?.destinations?.[d.destination];
          rows.push([
            configured.has(d.destination) ? d.destination : `${d.destination} (not configured)`,
            d.pending,
            d.inflight,
            // In flight counts as waiting too (as the metric has it): an ERP that does not answer holds them there.
            // Those held for their create are not (their own line below says how many).
            d.pending + d.inflight - (d.waitingForCreate ?? 0) ? ago(d.oldestPendingAgeMs) : '-',
            d.delivered,
            d.dead,
            m?.rateLimited ?? '-',
            m && (up || stopping) && m.pausedForMs > 0 ? ago(m.pausedForMs) : '-',
            m?.circuit ?? '-',
          ]);
        }
        process.stdout.write(outbox.length ? table(rows) : noDeliveriesText(counters.eventsAccepted, config.rules));
        process.stdout.write(waitingForCreateLines(outbox));
        process.stdout.write(unconfiguredLines(outbox, configured));
        process.stdout.write(circuitLines(snap?.destinations ?? {}));
        if (snap && !up && !stopping) process.stdout.write(`\n(429/503 and circuit columns are from the last run, which ended ${ago(now - snap.at)} ago)\n`);
      }, { readOnly: true });
    }),
  );
}
