/**
 * The MQTT JSON decoder pinned by a mutation audit: whole milliseconds from epoch times, rounded
 * unit conversions, numeric zones, an empty alert text, inherited properties, and the boundaries
 * at which seconds and milliseconds are told apart.
 */
import { describe, expect, it } from 'vitest';
import { jsonDecoderSchema } from '../../config/schema.js';
import type { RawMessage } from '../model/messages.js';
import type { DecodeResult } from './decoder.js';
import { createJsonDecoder } from './json-decoder.js';

const RECEIVED = Date.parse('2026-03-01T12:00:05Z');
const decoderFor = (config: object) => createJsonDecoder('mqtt:x', [{ filter: '#', decoder: jsonDecoderSchema.parse(config) }]);
const msg = (payload: object): RawMessage => ({ source: 'mqtt:x', channel: 'fleet/1', payload: JSON.stringify(payload), receivedAt: RECEIVED });

function events(result: DecodeResult) {
  if (!result.ok) throw new Error(`expected ok, got: ${result.reason}`);
  return result.events;
}
function reason(result: DecodeResult): string {
  if (result.ok) throw new Error(`expected a failure, got ${result.events.length} events`);
  return result.reason;
}

describe('createJsonDecoder: values a mutation audit found unpinned', () => {
  it('gives epoch times in whole milliseconds, whichever unit the device sends', () => {
    // Mutation: the epoch time not rounded to whole milliseconds.
    const at = (format: string, t: unknown) => events(decoderFor({ assetId: { path: 'id' }, time: { path: 't', format }, meters: { idleHours: 'v' } })(msg({ id: 'a', t, v: 1 })))[0]?.eventTime;
    expect(at('epoch-s', 1772366400.0004)).toBe(1772366400000);
    expect(at('epoch-s', '1772366400.2506')).toBe(1772366400251);
    expect(at('epoch-ms', 1772366400000.6)).toBe(1772366400001);
  });

  it('tells seconds and milliseconds apart at the exact boundaries', () => {
    // Mutations: `>=` made `>` at 1e11 s and at 2000-01-01 in seconds; `<` made `<=` at 1e11 ms.
    const at = (format: string, t: number) => decoderFor({ assetId: { path: 'id' }, time: { path: 't', format }, meters: { idleHours: 'v' } })(msg({ id: 'a', t, v: 1 }));
    expect(reason(at('epoch-s', 1e11))).toMatch(/^event time at path t is 100000000000, which is not seconds since 1970/);
    expect(events(at('epoch-s', 1e11 - 1))[0]?.eventTime).toBe((1e11 - 1) * 1000);
    const y2000s = Date.UTC(2000, 0, 1) / 1000;
    expect(reason(at('epoch-ms', y2000s))).toBe(`event time at path t is ${y2000s}, which is seconds since 1970, not milliseconds: set time.format to epoch-s`);
    // 1e11 ms is 1973: not seconds (that would be the year 5138), so it is read as milliseconds and left to validation.
    expect(events(at('epoch-ms', 1e11))[0]?.eventTime).toBe(1e11);
  });

  it('rounds converted meter readings to 9 decimals, without binary noise', () => {
    // Mutation: the converted value not rounded (33 mi × 1.609344 = 53.108352000000004 in floating point).
    const d = decoderFor({ assetId: { path: 'id' }, meters: { odometerKm: { path: 'odo', unit: 'mi' }, fuelUsedL: { path: 'fuel', unit: 'gal' } } });
    const meter = events(d(msg({ id: 'a', odo: 33, fuel: 3 })))[0] as unknown as Record<string, unknown>;
    expect([meter.odometerKm, meter.fuelUsedL]).toEqual([53.108352, 11.356235352]);
  });

  it('keeps a numeric zone id as text', () => {
    // Mutation: the number passed on (validation would quarantine the whole message).
    const d = decoderFor({ assetId: { path: 'id' }, lat: 'lat', lng: 'lng', zone: 'zone' });
    expect(events(d(msg({ id: 'a', lat: 51, lng: 4, zone: 7 })))[0]).toMatchObject({ kind: 'position', zone: '7' });
  });

  it('reads an empty alert text as no alert, keeping the rest of the message', () => {
    // Mutation: an alert with reason "" made (validation would then quarantine the position with it).
    const d = decoderFor({ assetId: { path: 'id' }, lat: 'lat', lng: 'lng', alert: { reason: 'alarm' } });
    expect(events(d(msg({ id: 'a', lat: 51, lng: 4, alarm: '' }))).map((e) => e.kind)).toEqual(['position']);
  });

  it('reads nothing from a path that names an inherited property the payload does not have', () => {
    // Mutation: the own-property check dropped (Object.prototype.toString read as an alert text).
    const d = decoderFor({ assetId: { path: 'id' }, meters: { idleHours: 'v' }, alert: { reason: 'toString' } });
    expect(events(d(msg({ id: 'a', v: 1 }))).map((e) => e.kind)).toEqual(['meter']);
  });
});
