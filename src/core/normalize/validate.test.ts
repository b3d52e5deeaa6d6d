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
    // What to send instead is said (was: no more than 'event time must be a valid timestamp, got string "yesterday"').
    [{ eventTime: 'yesterday' }, 'event time must be a valid timestamp, got string "yesterday"; give an ISO 8601 time with a zone, e.g. 2026-10-01T08:00:00Z, or epoch milliseconds'],
    [{ eventTime: '01/10/2026' }, 'event time must be a valid timestamp, got string "01/10/2026"; give an ISO 8601 time with a zone, e.g. 2026-10-01T08:00:00Z, or epoch milliseconds'],
    [{ eventTime: undefined }, 'event has no eventTime: give an ISO 8601 time with a zone, e.g. 2026-10-01T08:00:00Z, or epoch milliseconds'],
    [{ ids: [] }, 'no asset identifier'],
    [{ ids: [{ type: 'tag', value: '  ' }] }, 'non-empty string'],
    [{ ids: [{ type: 'nope', value: 'x' }] }, 'unknown identifier type'],
    [{ kind: 'teleport' }, 'unknown event kind "teleport"; use position, meter, sensor, alert or workorder'],
    // Another sender's name for a kind, or a typo of one, is told which to send; a kind not text says so (was: 'unknown event kind string "location"').
    [{ kind: 'location' }, 'unknown event kind "location" (did you mean "position"?); use position, meter, sensor, alert or workorder'],
    [{ kind: 'Work-Order' }, 'unknown event kind "Work-Order" (did you mean "workorder"?)'],
    [{ kind: 'positon' }, 'unknown event kind "positon" (did you mean "position"?)'],
    [{ kind: 'Meter' }, 'unknown event kind "Meter" (did you mean "meter"?)'],
    [{ kind: 3 }, 'event kind must be text, got number; use position'],
    [{ kind: 'x'.repeat(100) }, `unknown event kind "${'x'.repeat(40)}…"; use position`],
    [{ kind: undefined }, 'event has no "kind": give one of position, meter, sensor, alert or workorder'],
  ])('rejects %j with a reason', (over, reason) => {
    const v = validateEvent(pos(over), now);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toContain(reason);
  });

  it('says when an event time out of range is a time in seconds or microseconds (eventTime takes milliseconds)', () => {
    const seconds = Math.floor(now / 1000) - 60;
    expect(validateEvent(pos({ eventTime: seconds }), now)).toEqual({
      ok: false,
      code: 'invalid',
      reason: `event time ${new Date(seconds).toISOString()} is before 2000-01-01; read as seconds since 1970 it is 2026-11-23T11:59:00.000Z: eventTime is read as epoch milliseconds: send them (seconds × 1000) or ISO 8601 text`,
    });
    const micros = (now - 60_000) * 1000;
    expect(validateEvent(pos({ eventTime: micros }), now)).toEqual({
      ok: false,
      code: 'invalid',
      reason: `event time +058865-01-27T07:20:00.000Z is more than 300 s in the future (ingest.maxFutureSkewMs); read as microseconds since 1970 it is 2026-11-23T11:59:00.000Z: eventTime is read as epoch milliseconds: send them (microseconds ÷ 1000) or ISO 8601 text`,
    });
    // A time that is wrong in milliseconds too is only said to be out of range.
    expect(validateEvent(pos({ eventTime: 5 }), now)).toMatchObject({ reason: 'event time 1970-01-01T00:00:00.005Z is before 2000-01-01' });
    expect(validateEvent(pos({ eventTime: now + 3_600_000 }), now)).toMatchObject({ reason: "event time 2026-11-23T13:00:00.000Z is more than 300 s in the future (ingest.maxFutureSkewMs); check the sender's clock, or raise the limit if such a skew is expected" });
  });

  it('names a field sent under another common name (lon, latitude, hours), which the event model does not read', () => {
    const reason = (over: Record<string, unknown>) => {
      const v = validateEvent(pos(over), now);
      return v.ok ? undefined : v.reason;
    };
    expect(reason({ lng: undefined, lon: 4.3 })).toBe('position has lat but no lng: send both, or neither with a zone for a sighting by a fixed reader; "lon" is not read: send it as lng');
    expect(reason({ lat: undefined, lng: undefined, latitude: 52.1, longitude: 4.3 })).toBe(
      'position needs lat and lng, or a zone (a configured zone name) for a sighting by a fixed reader; "latitude" is not read: send it as lat; "longitude" is not read: send it as lng',
    );
    expect(reason({ kind: 'meter', lat: undefined, lng: undefined, hours: 12 })).toBe('meter reading has none of operatingHours, idleHours, odometerKm, fuelUsedL; "hours" is not read: send it as operatingHours');
    // Nothing under another name: the reason as before.
    expect(reason({ lng: undefined })).toBe('position has lat but no lng: send both, or neither with a zone for a sighting by a fixed reader');
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

  it('names the first problem of an event: the first bad sensor value, every identifier checked', () => {
    const sensor = (values: unknown) => pos({ kind: 'sensor', lat: undefined, lng: undefined, values });
    expect(validateEvent(sensor({ a: { value: 2e9 }, b: { value: Number.NaN } }), now)).toMatchObject({ ok: false, reason: 'sensor a 2000000000 is out of range [-1000000000, 1000000000]' });
    expect(validateEvent(sensor({ a: { value: -1e9 }, b: { value: 1e9 } }), now)).toEqual({ ok: true });
    expect(validateEvent(pos({ ids: [{ type: 'tag', value: 'tag-1' }, { type: 'vin', value: ' ' }] }), now)).toMatchObject({ ok: false, reason: expect.stringContaining('non-empty string') as unknown });
  });

  it('says what shape a sensor value takes when one is sent bare or without its value', () => {
    // {"engineTempC": 97} is a number, so "must be a number, got undefined" sent people looking in the wrong place.
    const sensor = (values: unknown) => pos({ kind: 'sensor', lat: undefined, lng: undefined, values });
    expect(validateEvent(sensor({ engineTempC: 97 }), now)).toMatchObject({ ok: false, reason: 'sensor engineTempC must be {"value": <number>, "unit": <text, optional>}, got 97' });
    // Own "__proto__" key, as JSON.parse gives it.
    expect(validateEvent(sensor(JSON.parse('{"t":{"value":1},"__proto__":{"value":5,"unit":"C"}}') as Record<string, unknown>), now)).toMatchObject({
      ok: false,
      reason: '"__proto__" cannot name a sensor: the names of JavaScript\'s object properties (__proto__, constructor, toString, …) are reserved, as state keyed by them would be lost or misread; choose another name (at the source, or in the topic\'s decoder mapping)',
    });
    expect(validateEvent(sensor({ toString: { value: 1 } }), now)).toMatchObject({ ok: false });
    expect(validateEvent(sensor({ engineTempC: '97' }), now)).toMatchObject({ ok: false, reason: 'sensor engineTempC must be {"value": <number>, "unit": <text, optional>}, got "97"' });
    expect(validateEvent(sensor({ t: { unit: 'Cel' } }), now)).toMatchObject({ ok: false, reason: 'sensor t must be {"value": <number>, "unit": <text, optional>}, got {"unit":"Cel"}' });
    expect(validateEvent(sensor({ t: { value: '97' } }), now)).toMatchObject({ ok: false, reason: 'sensor t must be a number, got string "97"' });
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

describe('validateEvent: values that must not get through (or throw)', () => {
  const now = Date.UTC(2026, 2, 1, 12);
  const ev = (over: Record<string, unknown>) => ({ kind: 'position', source: 'http', ids: [{ type: 'tag', value: 't-1' }], eventTime: now - 1000, receivedAt: now, lat: 51, lng: 4, ...over }) as unknown as CanonicalEvent;

  it('rejects event times beyond what a Date can hold with a reason instead of throwing', () => {
    // E.g. epoch-s configured for a sender of microseconds: 1.77e15 s is 1.77e18 ms.
    for (const eventTime of [1.772366400e18, 1e20, -1e20, Number.MAX_VALUE]) {
      let v;
      expect(() => (v = validateEvent(ev({ eventTime }), now))).not.toThrow();
      expect(v).toMatchObject({ ok: false, code: 'invalid', reason: expect.stringMatching(/event time .* (in the future|before 2000-01-01)/) });
    }
  });

  it('rejects an alert code that is not text, which the alert rules read as a string', () => {
    const alert = (code: unknown) => ({ kind: 'alert', source: 'http', ids: [{ type: 'tag', value: 't-1' }], eventTime: now - 1000, receivedAt: now, reason: 'coolant high', severity: 'critical', code }) as unknown as CanonicalEvent;
    expect(validateEvent(alert('SPN110'), now)).toEqual({ ok: true });
    expect(validateEvent(alert(undefined), now)).toEqual({ ok: true });
    expect(validateEvent(alert(110), now)).toMatchObject({ ok: false, reason: 'alert code must be text such as "SPN110-FMI0", got number' });
    expect(validateEvent(alert(null), now)).toMatchObject({ ok: false, reason: expect.stringContaining('alert code must be text') });
  });

  it('rejects a blank zone: it would be sent to the ERP as a location named ""', () => {
    expect(validateEvent(ev({ zone: '' }), now)).toMatchObject({ ok: false, reason: 'zone must not be blank; leave zone out when the asset is in no zone' });
    expect(validateEvent(ev({ zone: 'YARD-A' }), now)).toEqual({ ok: true });
  });

  // A zone is a location code: sent to the ERP, and the location an inventory item is counted at.
  // With the unit separator in it, the item's count went out under a wrong location and SKU, and
  // the record of what was sent took it as a damaged key, so it was never taken back.
  it('rejects a zone with a control character in it, naming it escaped', () => {
    expect(validateEvent(ev({ zone: 'DOCK\u001f3' }), now)).toMatchObject({ ok: false, reason: 'zone must not contain a control character, got "DOCK\\u001f3"; send the location code as printable text' });
    expect(validateEvent(ev({ zone: 'DOCK\n3' }), now)).toMatchObject({ ok: false, reason: expect.stringContaining('zone must not contain a control character') });
    expect(validateEvent(ev({ zone: 'Lager Süd 3' }), now)).toEqual({ ok: true });
  });

  describe('zone sightings (a fixed reader: a configured zone, no lat/lng)', () => {
    const zoneNames = new Set(['DOCK-1', 'YARD-A']);
    const policy = { maxFutureSkewMs: 300_000, maxAgeMs: 0, zoneNames };
    const sighting = (over: Record<string, unknown>) => ev({ lat: undefined, lng: undefined, ...over });

    it('accepts a configured zone without coordinates', () => {
      expect(validateEvent(sighting({ zone: 'DOCK-1' }), now, policy)).toEqual({ ok: true });
    });

    it('refuses a zone no zone is configured as, naming it and the configured ones (with a hint for a slip)', () => {
      expect(validateEvent(sighting({ zone: 'GATE-7' }), now, policy)).toEqual({
        ok: false,
        code: 'invalid',
        reason: 'zone sighting in unknown zone "GATE-7": a sighting without lat/lng must name a configured zone (configured zones: "DOCK-1", "YARD-A")',
      });
      expect(validateEvent(sighting({ zone: 'dock-1' }), now, policy)).toMatchObject({ ok: false, reason: expect.stringMatching(/unknown zone "dock-1".*; did you mean "DOCK-1"\?$/) });
    });

    it('refuses every zone sighting when no zones are configured', () => {
      expect(validateEvent(sighting({ zone: 'DOCK-1' }), now)).toMatchObject({ ok: false, reason: expect.stringContaining('but no zones are configured: add the reader\'s zone to rules.zones, or send lat and lng') });
      expect(validateEvent(sighting({ zone: 'DOCK-1' }), now, { ...policy, zoneNames: new Set() })).toMatchObject({ ok: false, reason: expect.stringContaining('no zones are configured') });
    });

    it('lists at most ten configured zones', () => {
      const many = new Set(Array.from({ length: 12 }, (_, i) => `Z${String(i).padStart(2, '0')}`));
      expect(validateEvent(sighting({ zone: 'NOPE-NOPE' }), now, { ...policy, zoneNames: many })).toMatchObject({ ok: false, reason: expect.stringContaining('"Z08", "Z09" and 2 more)') });
    });

    it('needs lat and lng together, or neither with a zone', () => {
      expect(validateEvent(sighting({}), now, policy)).toMatchObject({ ok: false, reason: 'position needs lat and lng, or a zone (a configured zone name) for a sighting by a fixed reader' });
      expect(validateEvent(sighting({ lat: 51, zone: 'DOCK-1' }), now, policy)).toMatchObject({ ok: false, reason: 'position has lat but no lng: send both, or neither with a zone for a sighting by a fixed reader' });
      expect(validateEvent(sighting({ lng: 4 }), now, policy)).toMatchObject({ ok: false, reason: 'position has lng but no lat: send both, or neither with a zone for a sighting by a fixed reader' });
    });

    it('still checks a zone\'s type, blankness and the optional numbers of a sighting', () => {
      expect(validateEvent(sighting({ zone: 7 }), now, policy)).toMatchObject({ ok: false, reason: 'zone must be a string, got number' });
      expect(validateEvent(sighting({ zone: ' ' }), now, policy)).toMatchObject({ ok: false, reason: expect.stringContaining('zone must not be blank') });
      expect(validateEvent(sighting({ zone: 'DOCK-1', accuracyM: -1 }), now, policy)).toMatchObject({ ok: false, reason: 'accuracyM -1 is out of range [0, 1000000]' });
    });

    it('leaves a zone beside coordinates free (the source\'s own geofence name)', () => {
      expect(validateEvent(ev({ zone: 'TRACKER-FENCE-3' }), now, policy)).toEqual({ ok: true });
    });
  });

  it('says an ISO event time without a zone needs one', () => {
    expect(validateEvent(ev({ eventTime: '2026-03-01T10:00:00' }), now)).toMatchObject({
      ok: false,
      reason: 'event time must be a valid timestamp, got string "2026-03-01T10:00:00"; it has no time zone: add Z or an offset such as +02:00',
    });
  });
});
