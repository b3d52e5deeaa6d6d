import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonDecoderSchema } from '../../config/schema.js';
import type { CanonicalEvent } from '../model/events.js';
import type { RawMessage } from '../model/messages.js';
import type { DecodeResult } from './decoder.js';
import { createJsonDecoder, type JsonTopicDecoder } from './json-decoder.js';
import { validateEvent } from './validate.js';

const RECEIVED = Date.parse('2026-03-01T12:00:05Z');
const TS = '2026-03-01T12:00:00Z';

const fleetTopic: JsonTopicDecoder = {
  filter: 'fleet/+/telemetry',
  decoder: jsonDecoderSchema.parse({
    assetId: { path: 'tagId' },
    time: { path: 'ts', format: 'iso' },
    lat: 'pos.lat',
    lng: 'pos.lng',
    zone: 'zone',
    sensors: { engineTempC: { path: 'sensors.engineTempC', unit: 'Cel' }, batteryV: { path: 'sensors.batteryV', unit: 'V' } },
    meters: { operatingHours: 'hours' },
    alert: { reason: 'alarm.text', severity: 'alarm.level', code: 'alarm.dtc' },
  }),
};

const decode = createJsonDecoder('mqtt:fleet', [fleetTopic]);

function msg(payload: unknown, channel = 'fleet/tag-0001/telemetry'): RawMessage {
  return { source: 'mqtt:fleet', channel, payload: typeof payload === 'string' || payload instanceof Uint8Array ? payload : JSON.stringify(payload), receivedAt: RECEIVED };
}

function events(result: DecodeResult): readonly CanonicalEvent[] {
  if (!result.ok) throw new Error(`expected ok, got: ${result.reason}`);
  return result.events;
}

function reason(result: DecodeResult): string {
  if (result.ok) throw new Error(`expected a failure, got ${result.events.length} events`);
  return result.reason;
}

const fleetPayload = {
  tagId: 'tag-0001',
  ts: TS,
  pos: { lat: 51.95, lng: 4.05 },
  zone: 'YARD-A',
  sensors: { engineTempC: 88.5, batteryV: 13.1 },
  hours: 1234.5,
};

describe('createJsonDecoder: the fleet payload', () => {
  it('yields a position, a sensor reading and meters that share ids and event time', () => {
    const out = events(decode(msg(fleetPayload)));
    expect(out.map((e) => e.kind)).toEqual(['position', 'sensor', 'meter']);
    for (const e of out) {
      expect(e.source).toBe('mqtt:fleet');
      expect(e.ids).toEqual([{ type: 'tag', value: 'tag-0001' }]);
      expect(e.eventTime).toBe(Date.parse(TS));
      expect(e.receivedAt).toBe(RECEIVED);
      expect(e.raw).toEqual(fleetPayload);
      expect(validateEvent(e, RECEIVED)).toEqual({ ok: true });
    }
    expect(out[0]).toMatchObject({ kind: 'position', lat: 51.95, lng: 4.05, zone: 'YARD-A' });
    expect(out[1]).toMatchObject({ kind: 'sensor', values: { engineTempC: { value: 88.5, unit: 'Cel' }, batteryV: { value: 13.1, unit: 'V' } } });
    expect(out[2]).toMatchObject({ kind: 'meter', operatingHours: 1234.5 });
  });

  it('produces an alert when the reason is present, lower-casing a known severity', () => {
    const out = events(decode(msg({ ...fleetPayload, alarm: { text: 'tamper switch open', level: 'CRITICAL' } })));
    expect(out.find((e) => e.kind === 'alert')).toMatchObject({ kind: 'alert', reason: 'tamper switch open', severity: 'critical' });
    expect(out.find((e) => e.kind === 'alert')).not.toHaveProperty('code');
    // With its fault code (what alert rules match), a number read as text.
    const dtc = events(decode(msg({ ...fleetPayload, alarm: { text: 'coolant temperature high', level: 'critical', dtc: 110 } }))).find((e) => e.kind === 'alert');
    expect(dtc).toMatchObject({ kind: 'alert', code: '110', severity: 'critical' });
  });

  it('reads a J1939 fault sent as its SPN and FMI apart as the code a feed sending them joined sends (SPN110-FMI0): one fault for the alert rules', () => {
    const j1939 = createJsonDecoder('mqtt:fleet', [{ ...fleetTopic, decoder: jsonDecoderSchema.parse({ ...fleetTopic.decoder, alert: { reason: 'alarm.text', code: 'alarm.dtc', spn: 'alarm.spn', fmi: 'alarm.fmi' } }) }]);
    const codeOf = (alarm: Record<string, unknown>) => (events(j1939(msg({ ...fleetPayload, alarm: { text: 'coolant temperature high', ...alarm } }))).find((e) => e.kind === 'alert') as { code?: string } | undefined)?.code;
    expect(codeOf({ spn: 110, fmi: 0 })).toBe('SPN110-FMI0');
    expect(codeOf({ spn: ' 110', fmi: '00' })).toBe('SPN110-FMI0');
    // A joined code, where the payload has one, is the code.
    expect(codeOf({ dtc: 'SPN100-FMI1', spn: 110, fmi: 0 })).toBe('SPN100-FMI1');
    // A blank one (the feed's empty field) is none: the SPN and FMI are the code, not the text.
    expect(codeOf({ dtc: '', spn: 110, fmi: 0 })).toBe('SPN110-FMI0');
    expect(codeOf({ dtc: '  ', spn: 110, fmi: 0 })).toBe('SPN110-FMI0');
    expect(codeOf({ dtc: '' })).toBe('');
    // Half of it, or not a number: no code (the fault keyed by its text).
    expect(codeOf({ spn: 110 })).toBeUndefined();
    expect(codeOf({ spn: 'x', fmi: 0 })).toBeUndefined();
    expect(codeOf({ spn: 1.5, fmi: 0 })).toBeUndefined();
    // Both paths or neither.
    const refused = jsonDecoderSchema.safeParse({ ...fleetTopic.decoder, alert: { reason: 'alarm.text', spn: 'alarm.spn' } });
    expect(refused.success ? [] : refused.error.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['alert.spn', expect.stringMatching(/^maps spn without fmi: a J1939 fault code is its SPN and FMI together/)]]);
  });

  it('defaults the alert severity to warning and passes an unknown one on to validation', () => {
    const noLevel = events(decode(msg({ ...fleetPayload, alarm: { text: 'door' } }))).find((e) => e.kind === 'alert');
    expect(noLevel).toMatchObject({ severity: 'warning' });
    const odd = events(decode(msg({ ...fleetPayload, alarm: { text: 'door', level: 'meh' } }))).find((e) => e.kind === 'alert');
    expect(odd && validateEvent(odd, RECEIVED)).toMatchObject({ ok: false, reason: expect.stringMatching(/severity must be info, warning or critical, got string "meh"/) });
  });

  it('reads the severity words devices use (HIGH, Minor, low) as the three the rules know', () => {
    const level = (word: string) => events(decode(msg({ ...fleetPayload, alarm: { text: 'door', level: word } }))).find((e) => e.kind === 'alert');
    expect(['HIGH', 'Major', ' alarm ', 'Minor', 'medium', 'LOW', 'notice'].map((w) => (level(w) as { severity: string }).severity)).toEqual(['critical', 'critical', 'critical', 'warning', 'warning', 'info', 'info']);
  });

  it('reads an on/off sensor (true/false) as 1/0, so a rule can compare it', () => {
    const out = events(decode(msg({ ...fleetPayload, sensors: { engineTempC: true, batteryV: false } })));
    expect(out.find((e) => e.kind === 'sensor')).toMatchObject({ values: { engineTempC: { value: 1 }, batteryV: { value: 0 } } });
    expect(validateEvent(out.find((e) => e.kind === 'sensor') as CanonicalEvent, RECEIVED)).toEqual({ ok: true });
  });

  it('emits only the events whose values are present; null counts as absent', () => {
    const out = events(decode(msg({ tagId: 'tag-0001', ts: TS, sensors: { engineTempC: 90, batteryV: null }, pos: null })));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ kind: 'sensor', values: { engineTempC: { value: 90, unit: 'Cel' } } });
    expect(Object.keys((out[0] as { values: object }).values)).toEqual(['engineTempC']);
  });

  it('turns numeric strings into numbers', () => {
    const out = events(decode(msg({ ...fleetPayload, pos: { lat: '51.95', lng: ' -4.5e0 ' }, hours: '17' })));
    expect(out[0]).toMatchObject({ lat: 51.95, lng: -4.5 });
    expect(out[2]).toMatchObject({ operatingHours: 17 });
  });

  it('passes other values through unchanged so validation names the exact problem', () => {
    const wrongType = events(decode(msg({ ...fleetPayload, pos: { lat: 'north', lng: 4.05 } })));
    expect(validateEvent(wrongType[0] as CanonicalEvent, RECEIVED)).toEqual({ ok: false, code: 'invalid', reason: 'lat must be a number, got string "north"' });
    const outOfRange = events(decode(msg({ ...fleetPayload, pos: { lat: 123.4, lng: 4.05 } })));
    expect(validateEvent(outOfRange[0] as CanonicalEvent, RECEIVED)).toMatchObject({ ok: false, reason: 'lat 123.4 is out of range [-90, 90]' });
    // Half a position: the decoder names the path that came up empty.
    expect(decode(msg({ ...fleetPayload, pos: { lat: 51.9 } }))).toEqual({ ok: false, reason: 'no lng at path pos.lng (lat is at pos.lat)' });
    const objectSensor = events(decode(msg({ ...fleetPayload, sensors: { engineTempC: { c: 1 } } })));
    expect(validateEvent(objectSensor[1] as CanonicalEvent, RECEIVED)).toMatchObject({ ok: false, reason: 'sensor engineTempC must be a number, got object' });
  });

  it('keeps a numeric asset id as a string and lets validation reject other id types', () => {
    expect(events(decode(msg({ ...fleetPayload, tagId: 4711 })))[0]?.ids).toEqual([{ type: 'tag', value: '4711' }]);
    const objectId = events(decode(msg({ ...fleetPayload, tagId: { id: 1 } })))[0] as CanonicalEvent;
    expect(validateEvent(objectId, RECEIVED)).toMatchObject({ ok: false, reason: 'asset identifier must be a non-empty string, got object' });
  });
});

describe('createJsonDecoder: input that cannot become events', () => {
  it.each<[string, RawMessage, RegExp]>([
    ['invalid JSON', msg('{"tagId": "tag-0001", "engineTempC": NaN}'), /^payload is not JSON: column 38: Unexpected token 'N'/],
    ['truncated JSON', msg('{"tagId": "tag-0'), /^payload is not JSON: /],
    ['bytes that are not UTF-8', msg(new Uint8Array([0xff, 0xfe, 0x00, 0x41])), /^payload is not UTF-8 text \(4 bytes starting ff fe 00 41\)$/],
    ['an empty payload (a retained message cleared)', msg(new Uint8Array(0)), /^payload is empty \(zero bytes\): nothing to take; an MQTT publish that clears a retained message on "fleet\/tag-0001\/telemetry" looks so: discard it/],
    ['a payload of blanks', msg(' \n'), /^payload is not JSON: Unexpected end of JSON input; the payload is empty$/],
    ['UTF-16 text', msg(Buffer.from('{"tagId": "tag-0001"}', 'utf16le')), /^payload is not JSON: .*; it has NUL characters, as UTF-16 text has: the sender must send UTF-8$/],
    ['a JSON array', msg([1, 2]), /^payload must be a JSON object, got an array$/],
    ['JSON null', msg('null'), /^payload must be a JSON object, got null$/],
    ['a JSON number', msg('42'), /^payload must be a JSON object, got number$/],
    ['an unmatched topic', msg(fleetPayload, 'other/tag-0001'), /^no decoder for topic "other\/tag-0001"; configured topic filters: fleet\/\+\/telemetry\. It came for a subscription of an earlier config, which the broker keeps in the session of this source's clientId: add a filter for the topic \(then replay\), or unsubscribe the old filter on the broker under that clientId$/],
    ['no asset id', msg({ ...fleetPayload, tagId: undefined }), /^no asset id at path tagId$/],
    ['an empty asset id', msg({ ...fleetPayload, tagId: '' }), /^no asset id at path tagId$/],
    ['no time', msg({ ...fleetPayload, ts: null }), /^no event time at path ts$/],
    ['an asset id under another spelling', msg({ ...fleetPayload, tagId: undefined, tagID: 'tag-0001' }), /^no asset id at path tagId \(the payload has "tagID" there: a path matches its key exactly; fix the path in the decoder, or the sender\)$/],
    ['a time under another spelling', msg({ ...fleetPayload, ts: undefined, Ts: TS }), /^no event time at path ts \(the payload has "Ts" there: a path matches its key exactly; fix the path in the decoder, or the sender\)$/],
    ['a time without zone', msg({ ...fleetPayload, ts: '2026-03-01T12:00:00' }), /has no time zone: "2026-03-01T12:00:00"; the sender must add Z or an offset/],
    ['a time that is not ISO', msg({ ...fleetPayload, ts: 'yesterday' }), /^event time at path ts is not an ISO 8601 date-time: "yesterday"$/],
    ['an impossible date', msg({ ...fleetPayload, ts: '2026-13-45T12:00:00Z' }), /^event time at path ts is not a valid date/],
    ['a numeric time where ISO is configured', msg({ ...fleetPayload, ts: 1772366400000 }), /must be an ISO 8601 string, got number 1772366400000 \(set time.format to epoch-ms or epoch-s/],
    ['none of the configured values', msg({ tagId: 'tag-0001', ts: TS, battery: 12 }), /^payload has none of the configured values \(pos.lat, pos.lng, sensors.engineTempC, sensors.batteryV, hours, alarm.text\)$/],
  ])('%s', (_label, message, expected) => {
    expect(reason(decode(message))).toMatch(expected);
  });
});

describe('createJsonDecoder: meters counted in other units', () => {
  const topic = (meters: object): JsonTopicDecoder => ({ filter: 'fleet/+/telemetry', decoder: jsonDecoderSchema.parse({ assetId: { path: 'tagId' }, time: { path: 'ts' }, meters }) });

  it('converts miles, minutes, seconds and gallons to km, h and L as decoded, and says what the device sent', () => {
    const d = createJsonDecoder('mqtt:fleet', [topic({ odometerKm: { path: 'odo', unit: 'mi' }, operatingHours: { path: 'engSec', unit: 's' }, idleHours: { path: 'idleMin', unit: 'min' }, fuelUsedL: { path: 'fuel', unit: 'gal' } })]);
    const r = d(msg({ tagId: 't1', ts: TS, odo: 100, engSec: 9000, idleMin: 90, fuel: '10' }));
    expect(r.ok && r.events[0]).toMatchObject({
      kind: 'meter',
      odometerKm: 160.9344,
      operatingHours: 2.5,
      idleHours: 1.5,
      fuelUsedL: 37.85411784,
      originalUnits: { odometerKm: 'mi', operatingHours: 's', idleHours: 'min', fuelUsedL: 'gal' },
    });
    expect(r.ok && validateEvent(r.events[0] as CanonicalEvent, RECEIVED)).toEqual({ ok: true });
  });

  it('leaves canonical units and plain paths as they were', () => {
    const d = createJsonDecoder('mqtt:fleet', [topic({ odometerKm: { path: 'odo', unit: 'km' }, operatingHours: 'h' })]);
    const r = d(msg({ tagId: 't1', ts: TS, odo: 100, h: 7 }));
    expect(r.ok && r.events[0]).toMatchObject({ odometerKm: 100, operatingHours: 7 });
    expect(r.ok && 'originalUnits' in (r.events[0] as object)).toBe(false);
  });

  it('refuses a unit of the wrong kind in the config, naming the meter', () => {
    const parsed = jsonDecoderSchema.safeParse({ assetId: { path: 'tagId' }, meters: { odometerKm: { path: 'odo', unit: 'gal' } } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toContainEqual(['meters.odometerKm.unit', '"gal" is not a distance unit: use km or one such as mi, m']);
  });
});

describe('createJsonDecoder: configuration options', () => {
  const base = { receivedAt: RECEIVED, source: 'mqtt:x' };

  it('reads the asset id from a topic segment and time as epoch seconds or ms', () => {
    const d = createJsonDecoder('mqtt:x', [
      { filter: 'site/+/dev/+/s', decoder: jsonDecoderSchema.parse({ assetId: { topicSegment: 3 }, idType: 'device-serial', time: { path: 't', format: 'epoch-s' }, meters: { odometerKm: 'odo' } }) },
      { filter: 'ms/#', decoder: jsonDecoderSchema.parse({ assetId: { topicSegment: 1 }, time: { path: 't', format: 'epoch-ms' }, meters: { idleHours: 'idle' } }) },
    ]);
    const s = events(d({ ...base, channel: 'site/s1/dev/SN-77/s', payload: '{"t": 1772366400.25, "odo": 10}' }));
    expect(s[0]).toMatchObject({ ids: [{ type: 'device-serial', value: 'SN-77' }], eventTime: 1772366400250, odometerKm: 10 });
    const m = events(d({ ...base, channel: 'ms/unit-9', payload: '{"t": "1772366400000", "idle": 3}' }));
    expect(m[0]).toMatchObject({ ids: [{ type: 'tag', value: 'unit-9' }], eventTime: 1772366400000, idleHours: 3 });
    expect(reason(d({ ...base, channel: 'ms', payload: '{"t": 1, "idle": 3}' }))).toBe('no asset id in topic segment 1 of "ms" (segments are counted from 0)');
    expect(reason(d({ ...base, channel: 'ms/u', payload: '{"t": "2026-01-01T00:00:00Z", "idle": 3}' }))).toBe(
      'event time at path t must be a number of milliseconds since 1970, got "2026-01-01T00:00:00Z"',
    );
  });

  it('reads array indices in both path notations and converts ISO offsets', () => {
    const d = createJsonDecoder('mqtt:x', [
      { filter: 'a', decoder: jsonDecoderSchema.parse({ assetId: { path: 'dev.ids[1]' }, time: { path: 'when' }, lat: 'fixes.0.lat', lng: 'fixes[0].lon', alt: 'fixes.0.alt', accuracy: 'fixes.0.hdop' }) },
    ]);
    const out = events(d({ ...base, channel: 'a', payload: JSON.stringify({ dev: { ids: ['x', 'T-2'] }, when: '2026-03-01T14:00:00.5+0200', fixes: [{ lat: 1.5, lon: 2.5, alt: 12, hdop: 3 }] }) }));
    expect(out[0]).toMatchObject({ kind: 'position', ids: [{ type: 'tag', value: 'T-2' }], eventTime: Date.parse('2026-03-01T12:00:00.500Z'), lat: 1.5, lng: 2.5, altM: 12, accuracyM: 3 });
  });

  it('uses the receive time when no time path is configured', () => {
    const d = createJsonDecoder('mqtt:x', [{ filter: '#', decoder: jsonDecoderSchema.parse({ assetId: { path: 'id' }, meters: { fuelUsedL: 'fuel' } }) }]);
    expect(events(d({ ...base, channel: 'x', payload: '{"id":"a","fuel":5}' }))[0]?.eventTime).toBe(RECEIVED);
  });

  it('picks the first matching filter and ignores $share prefixes', () => {
    const d = createJsonDecoder('mqtt:x', [
      { filter: '$share/g/a/special', decoder: jsonDecoderSchema.parse({ assetId: { path: 'id' }, idType: 'vin', meters: { fuelUsedL: 'v' } }) },
      { filter: 'a/#', decoder: jsonDecoderSchema.parse({ assetId: { path: 'id' }, meters: { idleHours: 'v' } }) },
    ]);
    expect(events(d({ ...base, channel: 'a/special', payload: '{"id":"1","v":2}' }))[0]).toMatchObject({ ids: [{ type: 'vin', value: '1' }], fuelUsedL: 2 });
    expect(events(d({ ...base, channel: 'a/other', payload: '{"id":"1","v":2}' }))[0]).toMatchObject({ ids: [{ type: 'tag', value: '1' }], idleHours: 2 });
  });

  it('does not read inherited properties through the path', () => {
    const d = createJsonDecoder('mqtt:x', [{ filter: '#', decoder: jsonDecoderSchema.parse({ assetId: { path: 'constructor.name' }, meters: { idleHours: '__proto__.x' } }) }]);
    expect(reason(d({ ...base, channel: 'x', payload: '{"a":1}' }))).toBe('no asset id at path constructor.name');
  });
});

describe('createJsonDecoder: arbitrary input', () => {
  it('never throws on arbitrary bytes, strings, JSON values or topics', () => {
    const payloads = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.string({ maxLength: 200 }),
      fc.json(),
      fc.anything().map((v) => {
        try {
          return JSON.stringify(v) ?? 'undefined';
        } catch {
          return 'x';
        }
      }),
      // Mutations of a valid payload: right shape, random values.
      fc.record({ tagId: fc.anything(), ts: fc.anything(), pos: fc.anything(), sensors: fc.anything(), hours: fc.anything(), alarm: fc.anything(), zone: fc.anything() }, { requiredKeys: [] }).map((o) => JSON.stringify(o) ?? '{}'),
    );
    fc.assert(
      fc.property(payloads, fc.oneof(fc.constant('fleet/tag-1/telemetry'), fc.string()), (payload, channel) => {
        const result = decode({ source: 'mqtt:fleet', channel, payload, receivedAt: RECEIVED });
        expect(typeof result.ok).toBe('boolean');
        // "decoder error" is the last-resort catch: reaching it means the decoding code itself threw.
        if (!result.ok) expect(result.reason).not.toMatch(/^decoder error|^$/);
        else for (const e of result.events) validateEvent(e, RECEIVED); // validation must cope with whatever passed through
      }),
      { numRuns: 2000 },
    );
  });
});

describe('createJsonDecoder: times and values that were misread', () => {
  it('rejects a calendar date that does not exist instead of rolling it over to the next month', () => {
    // Date.parse reads "2026-02-30" as 2 March: the event would carry a time two days off.
    for (const ts of ['2026-02-30T12:00:00Z', '2026-02-29T12:00:00.000Z', '2026-04-31T08:00:00+02:00', '2026-06-31 08:00:00Z']) {
      expect(reason(decode(msg({ ...fleetPayload, ts })))).toMatch(/^event time at path ts is not a valid date: /);
    }
    // Leap days and month ends that do exist still read.
    expect(events(decode(msg({ ...fleetPayload, ts: '2028-02-29T12:00:00Z' })))[0]?.eventTime).toBe(Date.UTC(2028, 1, 29, 12));
    expect(events(decode(msg({ ...fleetPayload, ts: '2026-01-31T23:30:00-01:00' })))[0]?.eventTime).toBe(Date.UTC(2026, 1, 1, 0, 30));
  });

  it('says which epoch format to set when seconds and milliseconds are mixed up', () => {
    const d = (format: string) =>
      createJsonDecoder('mqtt:x', [{ filter: '#', decoder: jsonDecoderSchema.parse({ assetId: { path: 'id' }, time: { path: 't', format }, meters: { idleHours: 'v' } }) }]);
    const at = (format: string, t: unknown) => d(format)({ source: 'mqtt:x', channel: 'x', payload: JSON.stringify({ id: 'a', t, v: 1 }), receivedAt: RECEIVED });
    expect(reason(at('epoch-ms', 1772366400))).toBe('event time at path t is 1772366400, which is seconds since 1970, not milliseconds: set time.format to epoch-s');
    expect(reason(at('epoch-s', 1772366400000))).toBe('event time at path t is 1772366400000, which is not seconds since 1970 (milliseconds or finer?): set time.format to epoch-ms');
    expect(reason(at('epoch-s', 1772366400000000))).toMatch(/not seconds since 1970/);
    // The right format still reads.
    expect(events(at('epoch-s', 1772366400))[0]?.eventTime).toBe(1772366400000);
    expect(events(at('epoch-ms', 1772366400000))[0]?.eventTime).toBe(1772366400000);
  });

  it('treats a blank zone like a missing one (outside every zone), not as a location named ""', () => {
    for (const zone of ['', '   ']) {
      const out = events(decode(msg({ ...fleetPayload, zone })));
      expect(out[0]).toMatchObject({ kind: 'position', lat: 51.95 });
      expect(out[0]).not.toHaveProperty('zone');
      expect(validateEvent(out[0] as CanonicalEvent, RECEIVED)).toEqual({ ok: true });
    }
  });
});

describe('createJsonDecoder: a fixed reader\'s mapping (zone, no lat/lng)', () => {
  const reader = createJsonDecoder('mqtt:gates', [
    { filter: 'gates/+/reads', decoder: jsonDecoderSchema.parse({ assetId: { path: 'epc' }, time: { path: 'ts' }, zone: 'reader.zone', sensors: { rssi: { path: 'rssi' } } }) },
  ]);
  const read = (payload: unknown) => reader({ source: 'mqtt:gates', channel: 'gates/g1/reads', payload: JSON.stringify(payload), receivedAt: RECEIVED });
  const policy = { maxFutureSkewMs: 300_000, maxAgeMs: 0, zoneNames: new Set(['DOCK-1']) };

  it('yields a zone sighting: a position with the zone and no coordinates, which validation takes for a configured zone', () => {
    const out = events(read({ epc: 'E200-1', ts: TS, reader: { zone: 'DOCK-1' }, rssi: -61 }));
    expect(out.map((e) => e.kind)).toEqual(['position', 'sensor']);
    expect(out[0]).toEqual({ kind: 'position', source: 'mqtt:gates', ids: [{ type: 'tag', value: 'E200-1' }], eventTime: Date.parse(TS), receivedAt: RECEIVED, raw: expect.any(Object), zone: 'DOCK-1' });
    expect(validateEvent(out[0] as CanonicalEvent, RECEIVED, policy)).toEqual({ ok: true });
    expect(validateEvent(events(read({ epc: 'E200-1', ts: TS, reader: { zone: 'GATE-4' } }))[0] as CanonicalEvent, RECEIVED, policy)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('unknown zone "GATE-4"'),
    });
  });

  it('reads a numeric zone id as text, and a payload with no (or a blank) zone as no sighting', () => {
    expect(events(read({ epc: 'E200-1', ts: TS, reader: { zone: 7 } }))[0]).toMatchObject({ kind: 'position', zone: '7' });
    expect(events(read({ epc: 'E200-1', ts: TS, reader: { zone: ' ' }, rssi: -70 })).map((e) => e.kind)).toEqual(['sensor']);
    expect(reason(read({ epc: 'E200-1', ts: TS }))).toBe('payload has none of the configured values (reader.zone, rssi)');
  });

  it('keeps a zone beside a fix the source\'s own: a payload of a GPS mapping without its fix has no position', () => {
    expect(events(decode(msg({ tagId: 'tag-0001', ts: TS, zone: 'YARD-A', hours: 5 }))).map((e) => e.kind)).toEqual(['meter']);
  });
});
