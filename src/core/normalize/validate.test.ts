import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { validateEvent } from './validate.js';
import type { CanonicalEvent } from '../model/events.js';

const now = Date.parse('2026-11-23T12:00:00Z');
const pos = (over: Record<string, unknown> = {}) =>
  ({ kind: 'position', source: 't', ids: [{ type: 'tag', value: 'tag-1' }], eventTime: now - 1000, receivedAt: now, lat: 52.1, lng: 4.3, ...over }) as unknown as CanonicalEvent;

describe('validateEvent', () => {
  it('accepts a good position', () => {
    expect(validateEvent(pos(), now)).toEqual({ ok: true });
  });

  it.each([
    [{ lat: 91 }, 'lat 91 is out of range [-90, 90]'],
    [{ lng: -180.5 }, 'lng -180.5 is out of range [-180, 180]'],
    [{ lat: Number.NaN }, 'lat must be finite, got NaN'],
    [{ lat: Number.POSITIVE_INFINITY }, 'lat must be finite'],
    [{ lat: '52.1' }, 'lat must be a number, got string "52.1"'],
    [{ lat: null }, 'lat must be a number, got null'],
    [{ lat: 0, lng: 0 }, 'null island'],
    [{ eventTime: Date.parse('1999-12-31T23:59:59Z') }, 'before 2000-01-01'],
    [{ eventTime: now + 3_600_000 }, 'in the future'],
    [{ eventTime: 'yesterday' }, 'event time must be a valid timestamp'],
    [{ ids: [] }, 'no asset identifier'],
    [{ ids: [{ type: 'tag', value: '  ' }] }, 'non-empty string'],
    [{ ids: [{ type: 'nope', value: 'x' }] }, 'unknown identifier type'],
    [{ kind: 'teleport' }, 'unknown event kind'],
  ])('rejects %j with a reason', (over, reason) => {
    const v = validateEvent(pos(over), now);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toContain(reason);
  });

  it('checks meters, sensors, alerts and work-order updates', () => {
    const base = { source: 't', ids: [{ type: 'tag', value: 'x' }], eventTime: now, receivedAt: now };
    expect(validateEvent({ ...base, kind: 'meter' } as CanonicalEvent, now)).toMatchObject({ ok: false, reason: expect.stringContaining('has none of') });
    expect(validateEvent({ ...base, kind: 'meter', operatingHours: -1 } as CanonicalEvent, now)).toMatchObject({ ok: false });
    expect(validateEvent({ ...base, kind: 'meter', operatingHours: 12.5 } as CanonicalEvent, now)).toEqual({ ok: true });
    expect(validateEvent({ ...base, kind: 'meter', operatingHours: 0, declaredReset: true } as CanonicalEvent, now)).toEqual({ ok: true });
    expect(validateEvent({ ...base, kind: 'meter', operatingHours: 0, declaredReset: 'false' } as unknown as CanonicalEvent, now)).toEqual({
      ok: false,
      code: 'invalid',
      reason: 'declaredReset must be true or false, got string "false"',
    });
    expect(validateEvent({ ...base, kind: 'meter', odometerKm: 0, odometerReset: true } as CanonicalEvent, now)).toEqual({ ok: true });
    expect(validateEvent({ ...base, kind: 'meter', odometerKm: 0, declaredReset: true } as CanonicalEvent, now)).toMatchObject({ ok: false, reason: expect.stringContaining('odometerReset for an odometer') });
    expect(validateEvent({ ...base, kind: 'meter', operatingHours: 0, odometerReset: true } as CanonicalEvent, now)).toMatchObject({ ok: false, reason: expect.stringContaining('send its first reading as odometerKm') });
    expect(validateEvent({ ...base, kind: 'sensor', values: { t: { value: Number.NaN } } } as CanonicalEvent, now)).toMatchObject({ ok: false, reason: 'sensor t must be finite, got NaN' });
    expect(validateEvent({ ...base, kind: 'sensor', values: {} } as CanonicalEvent, now)).toMatchObject({ ok: false });
    expect(validateEvent({ ...base, kind: 'alert', reason: 'x', severity: 'bad' } as unknown as CanonicalEvent, now)).toMatchObject({ ok: false });
    expect(validateEvent({ ...base, kind: 'workorder', businessKey: 'k', status: 'completed' } as CanonicalEvent, now)).toEqual({ ok: true });
    expect(validateEvent({ ...base, kind: 'workorder', businessKey: 'k', status: 'completed', odometerKmAtCompletion: 30_120 } as CanonicalEvent, now)).toEqual({ ok: true });
    expect(validateEvent({ ...base, kind: 'workorder', businessKey: 'k', status: 'completed', odometerKmAtCompletion: '30k' } as unknown as CanonicalEvent, now)).toMatchObject({
      ok: false,
      reason: 'odometerKmAtCompletion must be a number, got string "30k"',
    });
  });

  it('marks events older than maxAge as stale', () => {
    const v = validateEvent(pos({ eventTime: now - 10 * 86_400_000 }), now, { maxFutureSkewMs: 0, maxAgeMs: 86_400_000 });
    expect(v).toMatchObject({ ok: false, code: 'stale' });
  });

  it('never throws on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), (lat, eventTime, ids) => {
        expect(() => validateEvent(pos({ lat, eventTime, ids }), now)).not.toThrow();
      }),
    );
  });
});
