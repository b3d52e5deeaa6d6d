import { describe, expect, it } from 'vitest';
import { duplicateFloor, heldEvents, stateChanges } from './trace.js';

const T = Date.UTC(2026, 9, 1, 9);

describe('rule state changes for rules test --trace', () => {
  it('names each changed value by its path, times as ISO 8601, new and gone sub-states field by field', () => {
    const before = { maintenance: { thresholds: { hot: { phase: 'pending', start: T, last: T, peak: 96.5 } } } };
    const after = { maintenance: { thresholds: { hot: { phase: 'active', start: T, last: T + 180_000, peak: 96.5, firedAt: T + 180_000 } }, services: { svc: { base: 0 } } }, location: { synced: { zone: 'Y1' } } };
    expect(stateChanges(before, after)).toEqual([
      'location.synced.zone: (none) → Y1',
      'maintenance.services.svc.base: (none) → 0',
      'maintenance.thresholds.hot.firedAt: (none) → 2026-10-01T09:03:00.000Z',
      'maintenance.thresholds.hot.last: 2026-10-01T09:00:00.000Z → 2026-10-01T09:03:00.000Z',
      'maintenance.thresholds.hot.phase: pending → active',
    ]);
    expect(stateChanges(after, before)).toContain('location.synced.zone: Y1 → (none)');
    expect(stateChanges(after, after)).toEqual([]);
  });

  it('leaves out reorder buffers and meter histories, shows arrays whole, and cuts long values', () => {
    const before = { maintenance: { order: { pending: [{ t: T }] }, history: [[T, 1]] }, depreciation: { first: [T, 236.5] } };
    const after = { maintenance: { order: { pending: [] }, history: [[T, 1], [T + 1, 2]] }, depreciation: { first: [T + 60_000, 237], note: 'x'.repeat(200) } };
    const lines = stateChanges(before, after);
    expect(lines[0]).toBe('depreciation.first: ["2026-10-01T09:00:00.000Z",236.5] → ["2026-10-01T09:01:00.000Z",237]');
    expect(lines[1]?.startsWith('depreciation.note: (none) → xxx')).toBe(true);
    expect(lines[1]?.endsWith('…')).toBe(true);
    expect(lines).toHaveLength(2);
  });

  it('counts what each rule holds for the allowed lateness', () => {
    expect(heldEvents({ location: { order: { pending: [{}, {}] } }, maintenance: { order: { pending: [] } }, meter: { last: 1 } })).toEqual({ location: 2 });
  });
});

describe('rule state changes under names of the buffers left out', () => {
  it('shows a threshold, zone or interval named like a reorder buffer or a meter history (only the rule\'s own buffers are left out)', () => {
    const before = { maintenance: { thresholds: { order: { phase: 'pending' } }, services: { history: { base: 0 } } }, location: { zones: { order: { phase: 'entering', since: T } } } };
    const after = { maintenance: { thresholds: { order: { phase: 'active' } }, services: { history: { base: 250 } } }, location: { zones: { order: { phase: 'inside', since: T } } } };
    expect(stateChanges(before, after)).toEqual([
      'location.zones.order.phase: entering → inside',
      'maintenance.services.history.base: 0 → 250',
      'maintenance.thresholds.order.phase: pending → active',
    ]);
  });

  it('the earliest event time a rule can still call a resend of a duplicate: what its buffer holds or released last, or location\'s newest fix', () => {
    expect(duplicateFloor(undefined)).toBe(Infinity);
    expect(duplicateFloor({ synced: { zone: 'Y1' } })).toBe(Infinity); // nothing held or released: nothing to repeat
    expect(duplicateFloor({ order: { pending: [{ t: T + 5 }, { t: T + 9 }] } })).toBe(T + 5);
    expect(duplicateFloor({ order: { released: T, newest: T + 9, pending: [{ t: T + 9 }], last: [{ t: T }] } })).toBe(T);
    // Location sync without lateness keeps no buffer: the newest fix processed is what a resend repeats.
    expect(duplicateFloor({ last: { eventTime: T + 3, lat: 52 } })).toBe(T + 3);
    expect(duplicateFloor({ order: { released: T + 7, pending: [] }, last: { eventTime: T + 3 } })).toBe(T + 3);
    // Usage's `last` is a reading pair, not an event.
    expect(duplicateFloor({ order: { released: T + 7, pending: [] }, last: [T, 100] })).toBe(T + 7);
  });
});
