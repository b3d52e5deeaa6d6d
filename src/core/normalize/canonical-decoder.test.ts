import { describe, expect, it } from 'vitest';
import { canonicalFromJson, createCanonicalDecoder } from './canonical-decoder.js';
import { validateEvent } from './validate.js';

const NOW = Date.UTC(2026, 2, 1, 12);
const position = (eventTime: unknown) => ({ kind: 'position', assetId: 'tag-1', eventTime, lat: 51.9, lng: 4.1 });

function decoded(obj: unknown) {
  const e = canonicalFromJson(obj, 'http', NOW);
  if (typeof e === 'string') throw new Error(e);
  return e;
}

describe('canonicalFromJson: event time', () => {
  it('reads ISO times with a zone and epoch milliseconds', () => {
    expect(decoded(position('2026-03-01T10:00:00Z')).eventTime).toBe(Date.UTC(2026, 2, 1, 10));
    expect(decoded(position('2026-03-01T10:00:00.250+02:00')).eventTime).toBe(Date.UTC(2026, 2, 1, 8, 0, 0, 250));
    expect(decoded(position(Date.UTC(2026, 2, 1, 10))).eventTime).toBe(Date.UTC(2026, 2, 1, 10));
  });

  it('does not read a time without a zone as the server\'s local time, nor guess at other text', () => {
    // Date.parse reads these as local time, 1 Jan 2001, 1 Jan 2026 and 1 Mar 2026 (local).
    for (const t of ['2026-03-01T10:00:00', '1', '2026', 'March 1 2026', '2026-02-30T10:00:00Z']) {
      const e = decoded(position(t));
      expect(e.eventTime).toBe(t);
      expect(validateEvent(e, NOW)).toMatchObject({ ok: false, reason: expect.stringContaining(`event time must be a valid timestamp, got string ${JSON.stringify(t)}`) });
    }
  });

  it('keeps whole milliseconds, as the event capture writes them', () => {
    expect(decoded(position(1772359200000.6)).eventTime).toBe(1772359200001);
  });
});

describe('canonicalFromJson: zone sightings', () => {
  it('decodes a position with a zone and no coordinates, which validation accepts for a configured zone', () => {
    const e = decoded({ kind: 'position', assetId: 'tag-1', eventTime: '2026-03-01T10:00:00Z', zone: 'DOCK-1' });
    expect(e).toMatchObject({ kind: 'position', ids: [{ type: 'tag', value: 'tag-1' }], zone: 'DOCK-1' });
    expect(e).not.toHaveProperty('lat');
    expect(validateEvent(e, NOW, { maxFutureSkewMs: 0, maxAgeMs: 0, zoneNames: new Set(['DOCK-1']) })).toEqual({ ok: true });
    expect(validateEvent(e, NOW, { maxFutureSkewMs: 0, maxAgeMs: 0, zoneNames: new Set(['YARD-A']) })).toMatchObject({ ok: false, reason: expect.stringContaining('unknown zone "DOCK-1"') });
  });

  it('reads lat and lng of null as absent: a zone sighting, or without a zone a position that names what it needs', () => {
    const e = decoded({ kind: 'position', assetId: 'tag-1', eventTime: '2026-03-01T10:00:00Z', zone: 'DOCK-1', lat: null, lng: null });
    expect(e).not.toHaveProperty('lat');
    expect(e).not.toHaveProperty('lng');
    expect(validateEvent(e, NOW, { maxFutureSkewMs: 0, maxAgeMs: 0, zoneNames: new Set(['DOCK-1']) })).toEqual({ ok: true });
    const nowhere = decoded({ kind: 'position', assetId: 'tag-1', eventTime: '2026-03-01T10:00:00Z', lat: null, lng: null });
    expect(validateEvent(nowhere, NOW, { maxFutureSkewMs: 0, maxAgeMs: 0 })).toMatchObject({ ok: false, reason: expect.stringContaining('position needs lat and lng, or a zone') });
    // Other fields keep their null, for validation to name.
    expect(decoded({ kind: 'position', assetId: 'tag-1', eventTime: '2026-03-01T10:00:00Z', lat: 1, lng: 2, zone: null })).toHaveProperty('zone', null);
  });
});

describe('createCanonicalDecoder: bytes', () => {
  const decode = createCanonicalDecoder();
  const event = JSON.stringify({ kind: 'position', assetId: 'Kran-Müller-7', eventTime: '2026-03-01T10:00:00Z', lat: 51.9, lng: 4.1 });
  const message = (payload: Uint8Array) => ({ source: 'http', channel: '/v1/events', payload, receivedAt: NOW });

  it('refuses bytes that are not UTF-8 rather than reading ids with replacement characters', () => {
    expect(decode(message(Buffer.from(event, 'latin1')))).toEqual({ ok: false, reason: expect.stringContaining('payload is not UTF-8 text') as unknown });
  });

  it('reads UTF-8 bytes, with or without a byte order mark', () => {
    for (const bytes of [Buffer.from(event), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(event)])]) {
      const r = decode(message(bytes));
      expect(r.ok && r.events[0]?.ids).toEqual([{ type: 'tag', value: 'Kran-Müller-7' }]);
    }
  });
});

describe('canonicalFromJson: asset ids', () => {
  it('reads a numeric assetId (a tracker serial) as the id, as the MQTT decoder does', () => {
    expect(decoded({ ...position('2026-03-01T10:00:00Z'), assetId: 358_123_456 }).ids).toEqual([{ type: 'tag', value: '358123456' }]);
  });

  it('names the field whose type is wrong instead of saying it is missing', () => {
    expect(canonicalFromJson({ ...position('2026-03-01T10:00:00Z'), assetId: { id: 'tag-1' } }, 'http', NOW)).toBe('"assetId" must be a string (or a number), got object');
    expect(canonicalFromJson({ kind: 'meter', erpAssetId: 7, eventTime: NOW }, 'http', NOW)).toBe('"erpAssetId" must be a string, got number');
  });
});

describe('canonicalFromJson: where a work order was opened (openedAtDestination)', () => {
  const update = { kind: 'workorder', businessKey: 'EQ-1|service-250h|250h@b0', status: 'completed', eventTime: '2026-03-01T10:00:00Z', openedAtDestination: 'erp2' };
  const openedAt = (source: string) => {
    const e = canonicalFromJson(update, source, NOW);
    if (typeof e === 'string') throw new Error(e);
    return (e as { openedAtDestination?: string }).openedAtDestination;
  };

  it("reads it from a destination's feedback (its webhook or poll), which set it from the outbox", () => {
    expect(openedAt('erp-feedback:erp2')).toBe('erp2');
  });

  it('drops it from the intake, MQTT, the command line and feedback naming no destination, taking the update without it', () => {
    for (const source of ['http', 'mqtt:fleet', 'cli', 'erp-feedback', 'erp-feedback:']) expect(openedAt(source), source).toBeUndefined();
    const e = canonicalFromJson(update, 'http', NOW);
    expect(typeof e !== 'string' && validateEvent(e, NOW)).toEqual({ ok: true });
  });
});

describe('createCanonicalDecoder: a payload that is not JSON', () => {
  const decode = createCanonicalDecoder();
  const reasonOf = (payload: string | Uint8Array) => {
    const r = decode({ source: 'http', channel: '/v1/events', payload, receivedAt: NOW });
    if (r.ok) throw new Error('decoded');
    return r.reason;
  };

  it('says where, as a person finds it (column; line and column in a text of several lines), not V8\'s "at position N" from 0', () => {
    // Was: "payload is not JSON: Expected double-quoted property name in JSON at position 97" in the quarantine entry.
    const one = '{"kind":"position","assetId":"tag-1","eventTime":"2026-10-01T08:01:00Z","lat":51.95,"lng":4.05,}';
    expect(reasonOf(one)).toBe(`payload is not JSON: column ${one.length}: Expected double-quoted property name in JSON`);
    expect(reasonOf(Buffer.from(one))).toBe(`payload is not JSON: column ${one.length}: Expected double-quoted property name in JSON`);
    // Pretty-printed, with a bare word (read as a misspelt true, as V8 does): the text V8 quotes stays on the reason's one line.
    const several = '{\n  "kind": "position",\n  "assetId": tag-1\n}';
    expect(reasonOf(several)).toBe('payload is not JSON: line 3, column 15: Unexpected token \'a\', ..."ssetId": tag-1\\n}" is not valid JSON');
    for (const p of [one, several, '{"a": NaN}', '{"a"', '[1,]']) expect(reasonOf(p)).not.toMatch(/position \d+|\(line \d+ column \d+\)/);
  });

  it('says no place in a blank payload, and keeps the cause told (UTF-16 text)', () => {
    expect(reasonOf(' \n')).toBe('payload is not JSON: Unexpected end of JSON input; the payload is empty');
    expect(reasonOf('{\u0000"\u0000a')).toMatch(/^payload is not JSON: column 2: .*; it has NUL characters, as UTF-16 text has: the sender must send UTF-8$/);
  });
});
