/**
 * Prometheus text exposition. The engine's counters and the outbox's gauges are read from a
 * snapshot at each scrape and written directly ({@link renderMetrics}); timings are histograms
 * observed as they happen ({@link ServiceTimings}), and the process's own series (CPU, memory,
 * heap, garbage-collection pauses, event-loop delay) are prom-client's default Node.js metrics.
 * @module
 */
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Counters, DestinationStats } from '../ports/store.js';
import type { AttemptTiming, DestinationMetrics } from '../engine/dispatcher.js';
import type { BatchTiming } from '../engine/ingestor.js';
import type { RuntimeSnapshot } from '../engine/engine.js';
import type { SourceStats } from '../ports/source.js';
import { USAGE_TASK } from '../engine/tasks/usage-posting.js';

/**
 * The service's timings, one set per app: how long sources wait for their ack, how many messages
 * each commit carries, checkpoints of rule state, and delivery attempts per destination.
 */
export class ServiceTimings {
  private readonly registry = new Registry();
  private readonly ackWait = new Histogram({
    name: 'assetbridge_ingest_ack_wait_seconds',
    help: 'Per committed batch, how long its oldest message waited from its arrival to the commit (sources ack after it): batching (ingest.maxWaitMs), queueing behind commits, the rules and the transaction.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly batchSize = new Histogram({
    name: 'assetbridge_ingest_batch_messages',
    help: 'Messages per committed ingest batch (group commit; the engine\'s idle watermarks included): mostly 1 under load means each message pays a transaction of its own (ingest.maxWaitMs, ingest.maxBatch).',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
    registers: [this.registry],
  });
  private readonly checkpoint = new Histogram({
    name: 'assetbridge_rule_state_checkpoint_seconds',
    help: 'Commits that stored rule state (a checkpoint, or one part of a checkpoint spread over batches), from their preparation to their commit (ingest.checkpointMs, ingest.checkpointMessages, ingest.checkpointMessagesPerAsset).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly checkpointAssets = new Gauge({
    name: 'assetbridge_rule_state_checkpoint_assets',
    help: 'Assets whose rule state the last commit that stored rule state stored (a checkpoint: those changed since the one before; a part of a spread one: its share).',
    registers: [this.registry],
  });
  private readonly attempt = new Histogram({
    name: 'assetbridge_delivery_attempt_seconds',
    help: 'Delivery attempts that went out, per destination, by the HTTP status of their answer ("none": no answer, such as a timeout or a failed connection): the time of the request that carried each (a batch request\'s for each of its items), as audited.',
    labelNames: ['destination', 'status'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  /** For the ingestor's `onBatch`. */
  readonly batch = (t: BatchTiming): void => {
    if (t.waitSeconds !== undefined) this.ackWait.observe(t.waitSeconds);
    // A checkpoint alone carried no message: not a batch of input.
    if (t.messages > 0) this.batchSize.observe(t.messages);
    if (t.checkpoint) {
      this.checkpoint.observe(t.checkpoint.seconds);
      this.checkpointAssets.set(t.checkpoint.assets);
    }
  };

  /** For the dispatcher's `onAttempt`. */
  readonly attempted = (r: AttemptTiming): void => {
    this.attempt.observe({ destination: r.destination, status: r.status === undefined ? 'none' : String(r.status) }, r.seconds);
  };

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

/** prom-client's default metrics describe the process, so one registry serves every app in it (tests make many). */
let processRegistry: Registry | undefined;

function processRegistryOf(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Starts observing the process (garbage-collection pauses and event-loop delay are watched from then on, not from the first scrape). */
export function startProcessMetrics(): void {
  processRegistryOf();
}

/** The process's series: CPU, resident memory, heap, garbage-collection pauses, event-loop delay, handles. */
export function processMetrics(): Promise<string> {
  return processRegistryOf().metrics();
}

/** A label value as the text format writes it: backslash, double quote and newline escaped. */
function escapeLabel(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** The period-end usage posting's last check recorded in the store, for its gauges. */
export interface DepreciationCheckMetrics {
  readonly at: number;
  readonly heldCount: number;
}

/**
 * The period-end usage posting's gauges, with rules.depreciation configured (else none):
 * `lastCheck`, its last check recorded in the store (undefined: none yet, as on a new store).
 */
export interface DepreciationMetrics {
  readonly lastCheck: DepreciationCheckMetrics | undefined;
}

/**
 * When the period-end usage posting last checked (epoch ms): the later of its check recorded in
 * the store (kept across restarts; a run with no period to post yet records one too) and its last
 * run without failing since the service started; with neither, when the service started, so that
 * `time()` minus it is how long it has gone without a check. Undefined only with none of these.
 */
function lastDepreciationCheck(snapshot: Partial<RuntimeSnapshot>, recorded: DepreciationCheckMetrics | undefined): number | undefined {
  const ran = snapshot.tasks?.[USAGE_TASK]?.lastSuccessAt;
  const checked = [recorded?.at, ran].filter((t): t is number => t !== undefined);
  return checked.length > 0 ? Math.max(...checked) : snapshot.startedAt;
}

export function renderMetrics(snapshot: Partial<RuntimeSnapshot>, outbox: readonly DestinationStats[], counters: Counters, depreciation?: DepreciationMetrics): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [Record<string, string>, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(',');
      lines.push(`${name}${l ? `{${l}}` : ''} ${value}`);
    }
  };
  const ingest = snapshot.ingest ?? {};
  metric('assetbridge_messages_received_total', 'counter', 'Messages handed to the pipeline (MQTT, HTTP, telematics pulls, ERP feedback, and CLI requests such as quarantine replays), since the process started.', [[{}, ingest.received ?? 0]]);
  metric('assetbridge_rule_state_checkpoints_total', 'counter', 'Checkpoints that stored rule state, since the process started.', [[{}, ingest.checkpoints ?? 0]]);
  metric(
    'assetbridge_rule_late_events_total',
    'counter',
    'Events a rule dropped as late, by rule: not newer than what it had decided on (held longer than rules.allowedLateness, resent after it was decided, or another reading with the same time as one decided), since the process started.',
    Object.entries(ingest.lateEvents ?? {}).map(([rule, n]) => [{ rule }, n]),
  );
  metric(
    'assetbridge_rule_duplicate_events_total',
    'counter',
    'Events a rule dropped as duplicates, by rule: the same as one it held or had decided on last (an MQTT redelivery, a retried HTTP POST, a device repeating itself; not counted as late, nothing delivered), since the process started.',
    Object.entries(ingest.duplicateEvents ?? {}).map(([rule, n]) => [{ rule }, n]),
  );
  // Meter hygiene's held catch-ups (a frozen feed catching up, or a spike after a live idle stretch): by meter, never by asset ('assets meters' names those).
  const meters = ingest.meterReadings;
  metric(
    'assetbridge_meter_readings_held_total',
    'counter',
    "Meter readings held by meter hygiene, by meter (hours, km): ahead of the wall clock since the meter last showed its value, though possible since it first showed it; neither counted nor sent until the asset's next reading confirms them (a feed that froze and caught up) or sets them aside (assetbridge_meter_readings_set_aside_total), since the process started. 'assetbridge assets meters' names the assets.",
    meters ? [[{ meter: 'hours' }, meters.held.hours], [{ meter: 'km' }, meters.held.km]] : [],
  );
  metric(
    'assetbridge_meter_readings_set_aside_total',
    'counter',
    "Held meter readings (assetbridge_meter_readings_held_total) the asset's next reading did not continue from, so set aside as a spike and never counted, by meter (hours, km), since the process started. 'assetbridge assets meters --flagged' names the assets.",
    meters ? [[{ meter: 'hours' }, meters.setAside.hours], [{ meter: 'km' }, meters.setAside.km]] : [],
  );
  metric('assetbridge_idle_watermarks_total', 'counter', 'Idle watermarks: silent assets whose held events were decided (rules.idleAfter), since the process started.', [[{}, ingest.watermarks ?? 0]]);
  metric('assetbridge_captured_events_total', 'counter', 'Accepted events written to the event capture files (capture.dir), since the process started.', [[{}, ingest.captured ?? 0]]);
  metric('assetbridge_capture_dropped_total', 'counter', 'Accepted events the event capture did not keep (capture.maxFileMiB reached, disk behind, write error), since the process started.', [[{}, ingest.captureDropped ?? 0]]);
  metric('assetbridge_ingest_log_messages', 'gauge', 'Messages in the ingest log: their rule-state changes are not in the stored rule state until the next checkpoint.', [[{}, counters.ingestLog]]);
  metric('assetbridge_events_accepted_total', 'counter', "Intake messages accepted (stored and run through the rules): MQTT, HTTP, telematics, CLI, not the work-order updates ERP polls list, over the store's life (kept across restarts).", [[{}, counters.eventsAccepted]]);
  metric(
    'assetbridge_work_order_updates_polled_total',
    'counter',
    "Work-order updates ERP polls listed (rules.maintenance.feedback.pollEvery) and the pipeline accepted (stored and run through the rules; not among assetbridge_events_accepted_total), over the store's life (kept across restarts).",
    [[{}, counters.workOrderUpdatesPolled]],
  );
  metric(
    'assetbridge_facts_enqueued_total',
    'counter',
    "New facts put in the outbox, by operation (work orders opened, inventory counts and usage posted; a replay adds none), over the store's life (kept across restarts).",
    Object.entries(counters.factsEnqueued).map(([operation, n]) => [{ operation }, n]),
  );
  metric('assetbridge_quarantined_total', 'counter', "Messages quarantined (a replay quarantined again counts again), over the store's life (kept across restarts).", [[{}, counters.quarantined]]);
  metric(
    'assetbridge_quarantine_repeats_total',
    'counter',
    "Messages quarantine already held (open or discarded) that their MQTT broker sent again (a retained copy at a new subscription, each MQTT 3.1.1 start; a redelivery after an ack lost with its connection): counted on their entry, not quarantined again, over the store's life (kept across restarts).",
    [[{}, counters.quarantineRepeats]],
  );
  metric('assetbridge_quarantine_open', 'gauge', 'Quarantine entries still open (neither replayed nor discarded).', [[{}, counters.quarantineOpen]]);
  metric('assetbridge_outbox_pending', 'gauge', 'Deliveries waiting per destination.', outbox.map((d) => [{ destination: d.destination }, d.pending]));
  metric('assetbridge_outbox_inflight', 'gauge', 'Deliveries claimed and being sent per destination (not counted in assetbridge_outbox_pending).', outbox.map((d) => [{ destination: d.destination }, d.inflight]));
  metric('assetbridge_outbox_dead', 'gauge', 'Dead letters per destination.', outbox.map((d) => [{ destination: d.destination }, d.dead]));
  metric(
    'assetbridge_outbox_oldest_pending_seconds',
    'gauge',
    'Age of the oldest delivery pending or in flight per destination (work-order updates waiting for their create are not counted: see assetbridge_outbox_waiting_for_create).',
    outbox.map((d) => [{ destination: d.destination }, d.oldestPendingAgeMs / 1000]),
  );
  metric(
    'assetbridge_outbox_waiting_for_create',
    'gauge',
    'Deliveries pending per destination that wait for their create (a workorder.update whose workorder.create is queued, retried or in flight; counted in assetbridge_outbox_pending).',
    outbox.map((d) => [{ destination: d.destination }, d.waitingForCreate ?? 0]),
  );
  const dest = snapshot.destinations ?? {};
  const per = (f: keyof DestinationMetrics) => Object.entries(dest).map(([k, m]): [Record<string, string>, number] => [{ destination: k }, Number(m[f]) || 0]);
  metric('assetbridge_delivery_attempts_total', 'counter', 'Delivery attempts (one per item sent), since the process started.', per('attempts'));
  metric('assetbridge_delivered_total', 'counter', 'Deliveries confirmed by the ERP, since the process started.', per('delivered'));
  metric('assetbridge_delivery_retries_total', 'counter', 'Deliveries put back to be tried again after a failed attempt (a timeout, a 5xx, a locked record; 429/503 answers are counted in assetbridge_rate_limited_total), since the process started.', per('retried'));
  metric('assetbridge_rate_limited_total', 'counter', '429/503 answers from the destination (each pauses it), since the process started.', per('rateLimited'));
  metric('assetbridge_dead_lettered_total', 'counter', 'Deliveries sent to dead letters, since the process started.', per('deadLettered'));
  metric('assetbridge_destination_paused_seconds', 'gauge', 'Remaining rate-limit pause per destination.', per('pausedForMs').map(([l, v]) => [l, v / 1000]));
  const sources = snapshot.sources ?? {};
  metric('assetbridge_source_connected', 'gauge', '1 while the source is connected to its MQTT broker, 0 while it is not (it reconnects by itself every reconnectDelayMs).', Object.entries(sources).map(([source, s]) => [{ source }, s.connected ? 1 : 0]));
  metric('assetbridge_source_refused_subscriptions', 'gauge', 'Topic filters the MQTT broker refused to subscribe (its ACL, as a rule): nothing matching them arrives. `assetbridge status` and the service log name them.', Object.entries(sources).map(([source, s]) => [{ source }, s.refusedSubscriptions?.length ?? 0]));
  // What each MQTT source counted since it started: messages lost (QoS 0) or left to the broker to redeliver, failed commits, reconnects.
  const counted = Object.entries(sources).flatMap(([source, s]) => (s.stats ? [[source, s.stats] as const] : []));
  const perSource = (f: keyof SourceStats) => counted.map(([source, s]): [Record<string, string>, number] => [{ source }, s[f]]);
  metric('assetbridge_source_messages_received_total', 'counter', 'Messages the MQTT source received and handed to the pipeline, since the process started.', perSource('received'));
  metric('assetbridge_source_messages_acked_total', 'counter', 'Messages the MQTT source acknowledged to its broker (PUBACK) after their commit, since the process started.', perSource('acked'));
  metric('assetbridge_source_messages_inflight', 'gauge', 'Messages the MQTT source received and whose commit has not settled yet (un-acknowledged; bounded by maxInflight).', perSource('inflight'));
  metric(
    'assetbridge_source_messages_left_for_redelivery_total',
    'counter',
    'QoS 1/2 messages the MQTT source left un-acknowledged for its broker to redeliver (they arrived while it stopped or recovered from a failed commit, or their connection dropped before their commit), since the process started: not lost, but taken again.',
    perSource('leftForRedelivery'),
  );
  metric(
    'assetbridge_source_qos0_dropped_total',
    'counter',
    'QoS 0 messages the MQTT source could not store (they arrived while it stopped or recovered from a failed commit, their connection dropped, or their commit failed), since the process started: a broker never redelivers QoS 0, so they are lost; have the devices publish at QoS 1.',
    perSource('droppedQos0'),
  );
  metric('assetbridge_source_commit_failures_total', 'counter', "Commits of the MQTT source's messages that failed (the store down or full); each made it reconnect so the broker redelivers, since the process started.", perSource('submitFailures'));
  metric('assetbridge_source_connects_total', 'counter', 'Connections the MQTT source made to its broker (1 + reconnects), since the process started.', perSource('connects'));
  metric('assetbridge_circuit_open', 'gauge', '1 when the destination\'s circuit breaker is open (0 while closed, and while half-open: one probe request goes out).', Object.entries(dest).map(([k, m]) => [{ destination: k }, m.circuit === 'open' ? 1 : 0]));
  metric('assetbridge_circuit_opened_total', 'counter', "Times the destination's circuit breaker opened (failures in a row reached circuitBreaker.failureThreshold, or its probe failed), since the process started.", per('circuitOpened'));
  // Scheduled tasks (feedback polls, pulls, postings, retention): a task failing run after run is logged once, so alert on these.
  const tasks = Object.entries(snapshot.tasks ?? {});
  metric('assetbridge_task_runs_total', 'counter', 'Runs of each scheduled task, failed or not, since the process started.', tasks.map(([task, t]) => [{ task }, t.runs]));
  metric('assetbridge_task_failures_total', 'counter', 'Runs of each scheduled task that failed (the first of a streak is logged at error, its repeats at debug), since the process started.', tasks.map(([task, t]) => [{ task }, t.failures]));
  metric('assetbridge_task_failing_runs', 'gauge', "Runs in a row up to the latest that failed, per scheduled task (0: its latest run did not fail); 'assetbridge status' shows the failure.", tasks.map(([task, t]) => [{ task }, t.failingRuns]));
  metric(
    'assetbridge_task_last_success_timestamp_seconds',
    'gauge',
    'When each scheduled task last finished a run without failing (Unix time), for those that did since the process started.',
    tasks.flatMap(([task, t]): [Record<string, string>, number][] => (t.lastSuccessAt !== undefined ? [[{ task }, t.lastSuccessAt / 1000]] : [])),
  );
  // With rules.depreciation, from the service's start: a store whose posting never checked is alertable too.
  if (depreciation) {
    metric(
      'assetbridge_depreciation_held_back_assets',
      'gauge',
      "Assets whose usage postings the period-end task held back at its last recorded check (invalid inputs, or usage filed under another calendar; 0 before its first); 'assetbridge status' names them.",
      [[{}, depreciation.lastCheck?.heldCount ?? 0]],
    );
    const at = lastDepreciationCheck(snapshot, depreciation.lastCheck);
    metric(
      'assetbridge_depreciation_last_check_timestamp_seconds',
      'gauge',
      'When the period-end usage posting last checked (Unix time): its last check recorded in the store, or its last run without failing since the service started, whichever is later; before its first check on this store, when the service started (the time since is how long it has gone without one).',
      at !== undefined ? [[{}, Math.round(at / 1000)]] : [],
    );
  }
  return `${lines.join('\n')}\n`;
}
