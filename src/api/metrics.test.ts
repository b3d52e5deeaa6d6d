import { describe, expect, it } from 'vitest';
import type { Counters } from '../ports/store.js';
import { renderMetrics } from './metrics.js';

const counters: Counters = { eventsAccepted: 10, quarantined: 1, quarantineOpen: 1, ingestLog: 0, factsEnqueued: { 'workorder.create': 3 } };

describe('metrics', () => {
  it('exposes late events per rule as a labelled counter', () => {
    const text = renderMetrics({ ingest: { received: 10, checkpoints: 1, watermarks: 3, lateEvents: { location: 2, maintenance: 5 } } }, [], counters);
    expect(text).toContain('# TYPE assetbridge_rule_late_events_total counter\n');
    expect(text).toContain('assetbridge_rule_late_events_total{rule="location"} 2\n');
    expect(text).toContain('assetbridge_rule_late_events_total{rule="maintenance"} 5\n');
    expect(text).toContain('assetbridge_idle_watermarks_total 3\n');
    expect(renderMetrics({ ingest: { received: 0 } }, [], counters)).not.toMatch(/assetbridge_rule_late_events_total\{/);
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

  it("says in each counter's HELP what it counts from: the process's start, or the store's life (kept across restarts)", () => {
    // Values from the store (kept across restarts) are 1000 and up; those the process counts are below.
    const stored: Counters = { eventsAccepted: 1001, quarantined: 1002, quarantineOpen: 1003, ingestLog: 1004, factsEnqueued: { 'workorder.create': 1005 } };
    const m = { attempts: 1, delivered: 2, retried: 3, deadLettered: 4, rateLimited: 5, authRefreshes: 6, pauses: 7, circuit: 'closed' as const, circuitOpened: 8, inFlight: 9, pausedForMs: 0 };
    const snapshot = { ingest: { received: 11, checkpoints: 12, watermarks: 13, captured: 14, captureDropped: 15, lateEvents: { location: 16 } }, destinations: { erp: m } };
    const text = renderMetrics(snapshot, [{ destination: 'erp', pending: 1, inflight: 0, delivered: 1, dead: 1, oldestPendingAgeMs: 0 }], stored);
    const help = new Map<string, string>();
    const fromStore = new Map<string, boolean>();
    for (const line of text.trimEnd().split('\n')) {
      const h = /^# HELP (\S+) (.*)$/.exec(line);
      if (h) help.set(h[1]!, h[2]!);
      const sample = /^(\w+_total)(?:\{[^}]*\})? (\d+)$/.exec(line);
      if (sample) fromStore.set(sample[1]!, Number(sample[2]) >= 1000);
    }
    expect(fromStore.size).toBe(13);
    for (const [name, stored] of fromStore) {
      expect(help.get(name), name).toMatch(stored ? /, over the store's life \(kept across restarts\)\.$/ : /, since the process started\.$/);
    }
  });
});

