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
});
