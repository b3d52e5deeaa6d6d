import { describe, expect, it } from 'vitest';
import type { Counters } from '../ports/store.js';
import { processMetrics, renderMetrics, ServiceTimings } from './metrics.js';

const counters: Counters = { eventsAccepted: 10, workOrderUpdatesPolled: 0, quarantined: 1, quarantineOpen: 1, quarantineRepeats: 4, ingestLog: 0, factsEnqueued: { 'workorder.create': 3 } };

describe('metrics', () => {
  it('exposes late events per rule as a labelled counter', () => {
    const text = renderMetrics({ ingest: { received: 10, checkpoints: 1, watermarks: 3, lateEvents: { location: 2, maintenance: 5 } } }, [], counters);
    expect(text).toContain('# TYPE assetbridge_rule_late_events_total counter\n');
    expect(text).toContain('assetbridge_rule_late_events_total{rule="location"} 2\n');
    expect(text).toContain('assetbridge_rule_late_events_total{rule="maintenance"} 5\n');
    expect(text).toContain('assetbridge_idle_watermarks_total 3\n');
    expect(renderMetrics({ ingest: { received: 0 } }, [], counters)).not.toMatch(/assetbridge_rule_late_events_total\{/);
  });

  it('exposes the events each rule dropped as duplicates as a labelled counter (a snapshot of an older version has none)', () => {
    const text = renderMetrics({ ingest: { received: 10, duplicateEvents: { location: 3, maintenance: 1 } } }, [], counters);
    expect(text).toContain('# TYPE assetbridge_rule_duplicate_events_total counter\n');
    expect(text).toContain('assetbridge_rule_duplicate_events_total{rule="location"} 3\n');
    expect(text).toContain('assetbridge_rule_duplicate_events_total{rule="maintenance"} 1\n');
    expect(renderMetrics({ ingest: { received: 0 } }, [], counters)).not.toMatch(/assetbridge_rule_duplicate_events_total\{/);
  });

  it('exposes the meter readings held and set aside by meter, with no asset label', () => {
    const text = renderMetrics({ ingest: { meterReadings: { held: { hours: 3, km: 1 }, setAside: { hours: 2, km: 0 } } } }, [], counters);
    expect(text).toContain('# TYPE assetbridge_meter_readings_held_total counter\n');
    expect(text).toContain('assetbridge_meter_readings_held_total{meter="hours"} 3\nassetbridge_meter_readings_held_total{meter="km"} 1\n');
    expect(text).toContain('# TYPE assetbridge_meter_readings_set_aside_total counter\n');
    expect(text).toContain('assetbridge_meter_readings_set_aside_total{meter="hours"} 2\nassetbridge_meter_readings_set_aside_total{meter="km"} 0\n');
  });

  it('exposes each scheduled task’s runs, failures, failing streak and last success, so a task failing run after run can be alerted on', () => {
    const text = renderMetrics(
      { tasks: { 'maintenance-feedback': { runs: 12, failures: 10, failingRuns: 10, error: 'ECONNREFUSED', lastSuccessAt: 1_767_225_600_500 }, 'store-retention': { runs: 0, failures: 0, failingRuns: 0 } } },
      [],
      counters,
    );
    expect(text).toContain('# TYPE assetbridge_task_runs_total counter\nassetbridge_task_runs_total{task="maintenance-feedback"} 12\nassetbridge_task_runs_total{task="store-retention"} 0\n');
    expect(text).toContain('# TYPE assetbridge_task_failures_total counter\nassetbridge_task_failures_total{task="maintenance-feedback"} 10\n');
    expect(text).toContain('# TYPE assetbridge_task_failing_runs gauge\nassetbridge_task_failing_runs{task="maintenance-feedback"} 10\nassetbridge_task_failing_runs{task="store-retention"} 0\n');
    // Only for tasks that succeeded since the start (no 0 that would read as 1970).
    expect(text).toContain('# TYPE assetbridge_task_last_success_timestamp_seconds gauge\nassetbridge_task_last_success_timestamp_seconds{task="maintenance-feedback"} 1767225600.5\n');
    expect(text).not.toContain('assetbridge_task_last_success_timestamp_seconds{task="store-retention"}');
  });

  it('exposes the work-order updates ERP polls listed apart from the intake messages accepted', () => {
    const text = renderMetrics({}, [], { ...counters, workOrderUpdatesPolled: 7 });
    expect(text).toContain('# TYPE assetbridge_work_order_updates_polled_total counter\nassetbridge_work_order_updates_polled_total 7\n');
    expect(text).toMatch(/^# HELP assetbridge_work_order_updates_polled_total Work-order updates ERP polls listed .*not among assetbridge_events_accepted_total/m);
    expect(text).toContain('assetbridge_events_accepted_total 10\n');
  });

  it('exposes new facts per operation (work orders opened)', () => {
    expect(renderMetrics({}, [], counters)).toContain('assetbridge_facts_enqueued_total{operation="workorder.create"} 3\n');
  });

  it('exposes whether each source is connected (1/0), so an alert can say the MQTT broker is gone', () => {
    const text = renderMetrics({ sources: { 'mqtt:yard': { connected: true }, 'mqtt:gate': { connected: false } } }, [], counters);
    expect(text).toContain('# TYPE assetbridge_source_connected gauge\n');
    expect(text).toContain('assetbridge_source_connected{source="mqtt:yard"} 1\n');
    expect(text).toContain('assetbridge_source_connected{source="mqtt:gate"} 0\n');
  });

  it('exposes per source how many of its subscriptions the broker refused, so an alert can say an ACL keeps messages out', () => {
    const refused = [{ filter: 'yard/secret/+', key: 'sources.mqtt.0.topics.1.filter', reasonCode: 0x87, reason: 'reason code 0x87 (Not authorized)' }];
    const text = renderMetrics({ sources: { 'mqtt:yard': { connected: true, refusedSubscriptions: refused }, 'mqtt:gate': { connected: false } } }, [], counters);
    expect(text).toContain('# TYPE assetbridge_source_refused_subscriptions gauge\n');
    expect(text).toContain('assetbridge_source_refused_subscriptions{source="mqtt:yard"} 1\n');
    expect(text).toContain('assetbridge_source_refused_subscriptions{source="mqtt:gate"} 0\n');
  });

  it("exposes each MQTT source's counters (QoS 0 lost, left for redelivery, failed commits, reconnects), so an alert can say messages are being lost", () => {
    const stats = { received: 120, acked: 100, inflight: 4, leftForRedelivery: 16, droppedQos0: 7, submitFailures: 2, connects: 3 };
    const text = renderMetrics({ sources: { 'mqtt:yard': { connected: true, stats }, 'http-like': { connected: false } } }, [], counters);
    expect(text).toContain('# TYPE assetbridge_source_messages_received_total counter\nassetbridge_source_messages_received_total{source="mqtt:yard"} 120\n');
    expect(text).toContain('# TYPE assetbridge_source_messages_acked_total counter\nassetbridge_source_messages_acked_total{source="mqtt:yard"} 100\n');
    expect(text).toContain('# TYPE assetbridge_source_messages_inflight gauge\nassetbridge_source_messages_inflight{source="mqtt:yard"} 4\n');
    expect(text).toContain('# TYPE assetbridge_source_messages_left_for_redelivery_total counter\nassetbridge_source_messages_left_for_redelivery_total{source="mqtt:yard"} 16\n');
    expect(text).toContain('# TYPE assetbridge_source_qos0_dropped_total counter\nassetbridge_source_qos0_dropped_total{source="mqtt:yard"} 7\n');
    expect(text).toContain('# TYPE assetbridge_source_commit_failures_total counter\nassetbridge_source_commit_failures_total{source="mqtt:yard"} 2\n');
    expect(text).toContain('# TYPE assetbridge_source_connects_total counter\nassetbridge_source_connects_total{source="mqtt:yard"} 3\n');
    // A source that keeps no counters has no series (no 0 that would read as "nothing lost").
    expect(text).not.toMatch(/assetbridge_source_qos0_dropped_total\{source="http-like"\}/);
  });

  it('escapes label values as the text format says, so two values never collapse into one series', () => {
    const text = renderMetrics({ ingest: { lateEvents: { 'a"b': 1, a_b: 2, 'c\\d\ne': 3 } } }, [], counters);
    expect(text).toContain('assetbridge_rule_late_events_total{rule="a\\"b"} 1\n');
    expect(text).toContain('assetbridge_rule_late_events_total{rule="a_b"} 2\n');
    expect(text).toContain('assetbridge_rule_late_events_total{rule="c\\\\d\\ne"} 3\n');
  });

  it('declares each family once, counters ending in _total, every sample under its declaration', () => {
    const text = renderMetrics(
      { ingest: { received: 5, lateEvents: { location: 1 } }, destinations: { erp: { attempts: 3, delivered: 2, retried: 1, deadLettered: 0, rateLimited: 1, authRefreshes: 0, pauses: 0, circuit: 'open', circuitOpened: 1, inFlight: 0, pausedForMs: 1500 } } },
      [{ destination: 'erp', pending: 2, inflight: 1, delivered: 5, dead: 1, oldestPendingAgeMs: 2500 }],
      counters,
    );
    const types = new Map<string, string>();
    for (const line of text.trimEnd().split('\n')) {
      const decl = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (decl) {
        if (decl[1] === 'TYPE') {
          expect(types.has(decl[2]!)).toBe(false);
          types.set(decl[2]!, decl[3]!);
          expect(decl[2]!.endsWith('_total')).toBe(decl[3] === 'counter');
        }
        continue;
      }
      const sample = /^([a-z_]+)(\{[^}]*\})? (-?[0-9.e+]+)$/.exec(line);
      expect(sample, line).not.toBeNull();
      expect(types.has(sample![1]!), line).toBe(true);
    }
    expect(text).toContain('assetbridge_destination_paused_seconds{destination="erp"} 1.5\n');
    expect(text).toContain('assetbridge_circuit_open{destination="erp"} 1\n');
  });

  it('exposes what status shows per destination that an alert needs: deliveries in flight, retries, circuit openings', () => {
    const text = renderMetrics(
      { destinations: { erp: { attempts: 9, delivered: 2, retried: 6, deadLettered: 0, rateLimited: 1, authRefreshes: 0, pauses: 0, circuit: 'open', circuitOpened: 2, inFlight: 3, pausedForMs: 0 } } },
      [
        { destination: 'erp', pending: 4, inflight: 3, delivered: 2, dead: 0, oldestPendingAgeMs: 2500, waitingForCreate: 2 },
        { destination: 'other', pending: 1, inflight: 0, delivered: 0, dead: 0, oldestPendingAgeMs: 100 },
      ],
      counters,
    );
    expect(text).toContain('assetbridge_outbox_pending{destination="erp"} 4\n');
    // Updates held for their create: counted apart (0 where none), as status shows them.
    expect(text).toContain('# TYPE assetbridge_outbox_waiting_for_create gauge\nassetbridge_outbox_waiting_for_create{destination="erp"} 2\nassetbridge_outbox_waiting_for_create{destination="other"} 0\n');
    expect(text).toContain('# TYPE assetbridge_outbox_inflight gauge\nassetbridge_outbox_inflight{destination="erp"} 3\n');
    expect(text).toContain('# TYPE assetbridge_delivery_retries_total counter\nassetbridge_delivery_retries_total{destination="erp"} 6\n');
    expect(text).toContain('# TYPE assetbridge_circuit_opened_total counter\nassetbridge_circuit_opened_total{destination="erp"} 2\n');
  });

  it("says in each counter's HELP what it counts from: the process's start, or the store's life (kept across restarts)", () => {
    // Values from the store (kept across restarts) are 1000 and up; those the process counts are below.
    const stored: Counters = { eventsAccepted: 1001, workOrderUpdatesPolled: 1007, quarantined: 1002, quarantineOpen: 1003, quarantineRepeats: 1006, ingestLog: 1004, factsEnqueued: { 'workorder.create': 1005 } };
    const m = { attempts: 1, delivered: 2, retried: 3, deadLettered: 4, rateLimited: 5, authRefreshes: 6, pauses: 7, circuit: 'closed' as const, circuitOpened: 8, inFlight: 9, pausedForMs: 0 };
    const snapshot = { ingest: { received: 11, checkpoints: 12, watermarks: 13, captured: 14, captureDropped: 15, lateEvents: { location: 16 }, duplicateEvents: { location: 17 } }, destinations: { erp: m } };
    const text = renderMetrics(snapshot, [{ destination: 'erp', pending: 1, inflight: 0, delivered: 1, dead: 1, oldestPendingAgeMs: 0 }], stored);
    const help = new Map<string, string>();
    const fromStore = new Map<string, boolean>();
    for (const line of text.trimEnd().split('\n')) {
      const h = /^# HELP (\S+) (.*)$/.exec(line);
      if (h) help.set(h[1]!, h[2]!);
      const sample = /^(\w+_total)(?:\{[^}]*\})? (\d+)$/.exec(line);
      if (sample) fromStore.set(sample[1]!, Number(sample[2]) >= 1000);
    }
    expect(fromStore.size).toBe(18);
    for (const [name, stored] of fromStore) {
      expect(help.get(name), name).toMatch(stored ? /, over the store's life \(kept across restarts\)\.$/ : /, since the process started\.$/);
    }
  });

  it('exposes the timings as histograms: ack waits, messages per batch, checkpoints (and the assets of the last), delivery attempts by destination and status', async () => {
    const t = new ServiceTimings();
    t.batch({ messages: 2, waitSeconds: 0.004 });
    t.batch({ messages: 0, checkpoint: { seconds: 0.3, assets: 1200 } });
    t.batch({ messages: 5, waitSeconds: 0.2, checkpoint: { seconds: 0.02, assets: 40 } });
    t.attempted({ destination: 'erp', seconds: 0.12, status: 201 });
    t.attempted({ destination: 'erp', seconds: 15 });
    const text = await t.metrics();
    expect(text).toContain('# TYPE assetbridge_ingest_ack_wait_seconds histogram\n');
    expect(text).toContain('assetbridge_ingest_ack_wait_seconds_bucket{le="0.0025"} 0\n');
    expect(text).toContain('assetbridge_ingest_ack_wait_seconds_bucket{le="0.005"} 1\n');
    expect(text).toContain('assetbridge_ingest_ack_wait_seconds_bucket{le="0.25"} 2\n');
    expect(text).toContain('assetbridge_ingest_ack_wait_seconds_count 2\n'); // the checkpoint without messages waited for nobody
    // Messages per batch: the checkpoint that carried none is not a batch of input.
    expect(text).toContain('assetbridge_ingest_batch_messages_count 2\n');
    expect(text).toContain('assetbridge_ingest_batch_messages_bucket{le="1"} 0\n');
    expect(text).toContain('assetbridge_ingest_batch_messages_bucket{le="2"} 1\n');
    expect(text).toContain('assetbridge_ingest_batch_messages_bucket{le="5"} 2\n');
    expect(text).toContain('assetbridge_ingest_batch_messages_sum 7\n');
    expect(text).toContain('assetbridge_rule_state_checkpoint_seconds_count 2\n');
    expect(text).toContain('assetbridge_rule_state_checkpoint_seconds_bucket{le="0.025"} 1\n');
    expect(text).toContain('assetbridge_rule_state_checkpoint_assets 40\n'); // the last one's
    expect(text).toContain('assetbridge_delivery_attempt_seconds_count{destination="erp",status="201"} 1\n');
    expect(text).toContain('assetbridge_delivery_attempt_seconds_bucket{le="10",destination="erp",status="none"} 0\n');
    expect(text).toContain('assetbridge_delivery_attempt_seconds_bucket{le="30",destination="erp",status="none"} 1\n');
    // One app's timings are its own.
    const fresh = await new ServiceTimings().metrics();
    expect(fresh).toContain('assetbridge_ingest_ack_wait_seconds_count 0\n');
    expect(fresh).not.toContain('assetbridge_delivery_attempt_seconds_count{');
  });

  it("exposes the process's own series (CPU, memory, heap, GC, event-loop delay) under their usual names", async () => {
    const text = await processMetrics();
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_gc_duration_seconds']) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
  });
});

describe('the period-end usage posting', () => {
  const zero: Counters = { eventsAccepted: 0, workOrderUpdatesPolled: 0, quarantined: 0, quarantineOpen: 0, quarantineRepeats: 0, factsEnqueued: {}, ingestLog: 0 };
  it('gauges the assets held back and when it last checked, only with rules.depreciation', () => {
    const text = renderMetrics({}, [], zero, { lastCheck: { at: Date.parse('2026-12-03T08:00:00Z'), heldCount: 3 } });
    expect(text).toContain('# TYPE assetbridge_depreciation_held_back_assets gauge\nassetbridge_depreciation_held_back_assets 3\n');
    expect(text).toContain(`assetbridge_depreciation_last_check_timestamp_seconds ${Date.parse('2026-12-03T08:00:00Z') / 1000}\n`);
    expect(renderMetrics({}, [], zero)).not.toContain('assetbridge_depreciation_');
  });

  // Was: both gauges absent until a first check was recorded, so `time() - assetbridge_depreciation_last_check_timestamp_seconds > 7200`
  // never fired on a store whose posting never checked (a task failing from the start).
  it('with rules.depreciation and no check recorded yet: held back 0, last check the service start, so the staleness alert fires', () => {
    const startedAt = Date.parse('2026-12-03T06:00:00Z');
    const failing = { startedAt, tasks: { 'depreciation-posting': { runs: 3, failures: 3, failingRuns: 3, error: 'SQLITE_FULL' } } };
    const text = renderMetrics(failing, [], zero, { lastCheck: undefined });
    expect(text).toContain('\nassetbridge_depreciation_held_back_assets 0\n');
    expect(text).toContain(`\nassetbridge_depreciation_last_check_timestamp_seconds ${startedAt / 1000}\n`);
    expect(text).toMatch(/# HELP assetbridge_depreciation_last_check_timestamp_seconds .*before its first check on this store, when the service started/);
  });

  it('counts a run without failing that had no period to post (none recorded) as a check, and never goes back to an older one', () => {
    const startedAt = Date.parse('2026-12-03T06:00:00Z');
    const ran = Date.parse('2026-12-03T07:00:00Z');
    const tasks = { 'depreciation-posting': { runs: 1, failures: 0, failingRuns: 0, lastSuccessAt: ran } };
    // A new store before its first period ends: the task runs fine, recording no check.
    expect(renderMetrics({ startedAt, tasks }, [], zero, { lastCheck: undefined })).toContain(`\nassetbridge_depreciation_last_check_timestamp_seconds ${ran / 1000}\n`);
    // A check recorded before this start, none since: that check (a restart does not reset the age).
    const before = Date.parse('2026-12-02T23:00:00Z');
    expect(renderMetrics({ startedAt }, [], zero, { lastCheck: { at: before, heldCount: 0 } })).toContain(`\nassetbridge_depreciation_last_check_timestamp_seconds ${before / 1000}\n`);
    // The later of the two.
    expect(renderMetrics({ startedAt, tasks }, [], zero, { lastCheck: { at: before, heldCount: 1 } })).toContain(`\nassetbridge_depreciation_last_check_timestamp_seconds ${ran / 1000}\n`);
  });
});
