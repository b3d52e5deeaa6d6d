/**
 * Validation boundaries pinned by a mutation audit: the edges of each accepted range are
 * accepted and one step past them is refused, and the values rules rely on are checked.
 */
import { describe, expect, it } from 'vitest';
import type { CanonicalEvent } from '../model/events.js';
import { EARLIEST_EVENT_TIME, validateEvent } from './validate.js';

const now = Date.parse('2026-11-23T12:00:00Z');
const ids = [{ type: 'tag', value: 'tag-1' }];
const event = (over: Record<string, unknown>) => ({ kind: 'position', source: 'http', ids, eventTime: now - 1000, receivedAt: now, lat: 52.1, lng: 4.3, ...over }) as unknown as CanonicalEvent;
const meter = (over: Record<string, unknown>) => event({ kind: 'meter', lat: undefined, lng: undefined, ...over });
const ok = { ok: true };

describe('validateEvent: time limits', () => {
  it('accepts an event at 2000-01-01T00:00:00Z and refuses one a millisecond before', () => {
    // Mutation: `<` made `<=`.
    expect(validateEvent(event({ eventTime: EARLIEST_EVENT_TIME }), now)).toEqual(ok);
    expect(validateEvent(event({ eventTime: EARLIEST_EVENT_TIME - 1 }), now)).toMatchObject({ ok: false, code: 'invalid', reason: 'event time 1999-12-31T23:59:59.999Z is before 2000-01-01' });
  });

  it('accepts an event exactly maxFutureSkewMs ahead and refuses one a millisecond further', () => {
    // Mutation: `>` made `>=`.
    const policy = { maxFutureSkewMs: 60_000, maxAgeMs: 0 };
    expect(validateEvent(event({ eventTime: now + 60_000 }), now, policy)).toEqual(ok);
    expect(validateEvent(event({ eventTime: now + 60_001 }), now, policy)).toMatchObject({ ok: false, code: 'invalid', reason: expect.stringContaining('is more than 60 s in the future') as unknown });
  });

  it('accepts an event exactly maxAgeMs old and marks one a millisecond older as stale', () => {
    // Mutation: `<` made `<=`.
    const policy = { maxFutureSkewMs: 0, maxAgeMs: 3_600_000 };
    expect(validateEvent(event({ eventTime: now - 3_600_000 }), now, policy)).toEqual(ok);
    expect(validateEvent(event({ eventTime: now - 3_600_001 }), now, policy)).toMatchObject({ ok: false, code: 'stale', reason: expect.stringContaining('older than the 3600 s freshness limit (ingest.maxAgeMs); if such events are wanted, raise it, restart, then replay') as unknown });
  });
});

describe('validateEvent: positions', () => {
  it('accepts the poles and the antimeridian (the ends of each range)', () => {
    // Mutation: `v > max` made `v >= max`.
    for (const [lat, lng] of [[90, 180], [-90, -180], [90, 0.5], [0.5, 180]]) expect(validateEvent(event({ lat, lng }), now)).toEqual(ok);
  });

  it('accepts a fix on the equator or on the prime meridian; only 0,0 together is a missing fix', () => {
    // Mutation: the null-island check made `lat === 0 || lng === 0`.
    expect(validateEvent(event({ lat: 0, lng: 37.9 }), now)).toEqual(ok); // Kenya
    expect(validateEvent(event({ lat: 51.48, lng: 0 }), now)).toEqual(ok); // Greenwich
    expect(validateEvent(event({ lat: 0, lng: 0 }), now)).toMatchObject({ ok: false, reason: expect.stringContaining('null island') as unknown });
  });

  it('refuses a negative accuracy', () => {
    // Mutation: accuracyM's lower bound dropped.
    expect(validateEvent(event({ accuracyM: 0 }), now)).toEqual(ok);
    expect(validateEvent(event({ accuracyM: -1 }), now)).toMatchObject({ ok: false, reason: 'accuracyM -1 is out of range [0, 1000000]' });
  });
});

describe('validateEvent: meters, sensors, alerts, work orders', () => {
  it('takes lifetime fuel past ten million litres, but not an odometer past ten million km', () => {
    // Mutation: the larger limit given to another meter field.
    expect(validateEvent(meter({ fuelUsedL: 25_000_000 }), now)).toEqual(ok);
    expect(validateEvent(meter({ odometerKm: 25_000_000 }), now)).toMatchObject({ ok: false, reason: 'odometerKm 25000000 is out of range [0, 10000000]' });
    expect(validateEvent(meter({ operatingHours: 25_000_000 }), now)).toMatchObject({ ok: false, reason: 'operatingHours 25000000 is out of range [0, 10000000]' });
  });

  it('refuses a sensor value that is missing', () => {
    // Mutation: the sensor value made optional.
    const sensor = (values: unknown) => event({ kind: 'sensor', lat: undefined, lng: undefined, values });
    expect(validateEvent(sensor({ t: { value: 1 } }), now)).toEqual(ok);
    expect(validateEvent(sensor({ t: { unit: 'Cel' } }), now)).toMatchObject({ ok: false, reason: 'sensor t must be {"value": <number>, "unit": <text, optional>}, got {"unit":"Cel"}' });
    expect(validateEvent(sensor({ t: null }), now)).toMatchObject({ ok: false, reason: 'sensor t must be {"value": <number>, "unit": <text, optional>}, got null' });
  });

  it('refuses an alert with an empty reason', () => {
    // Mutation: only a missing reason refused, not an empty one.
    const alert = (reason: unknown) => event({ kind: 'alert', lat: undefined, lng: undefined, reason, severity: 'warning' });
    expect(validateEvent(alert('coolant high'), now)).toEqual(ok);
    expect(validateEvent(alert(''), now)).toMatchObject({ ok: false, reason: 'alert needs a reason' });
  });

  it('refuses a work-order status outside the four, and negative meter readings at completion', () => {
    // Mutations: another status let through; the lower bound of operatingHoursAtCompletion dropped.
    const wo = (over: Record<string, unknown>) => event({ kind: 'workorder', lat: undefined, lng: undefined, businessKey: 'EQ-1|svc|1', status: 'completed', ...over });
    for (const status of ['open', 'in-progress', 'completed', 'cancelled']) expect(validateEvent(wo({ status }), now)).toEqual(ok);
    expect(validateEvent(wo({ status: 'closed' }), now)).toMatchObject({ ok: false, reason: 'work-order status must be open, in-progress, completed or cancelled, got string "closed"' });
    expect(validateEvent(wo({ operatingHoursAtCompletion: 0 }), now)).toEqual(ok);
    expect(validateEvent(wo({ operatingHoursAtCompletion: -5 }), now)).toMatchObject({ ok: false, reason: 'operatingHoursAtCompletion -5 is out of range [0, 10000000]' });
  });
});
