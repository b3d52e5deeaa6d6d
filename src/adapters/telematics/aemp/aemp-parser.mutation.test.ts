/**
 * Mutation-audit tests for the AEMP parser and its block readers: event order within one time,
 * time-series payloads that name no machine, accuracy without a time, the unit of the value kept,
 * positions on the equator or the prime meridian, full tanks, negative counts, severities, and
 * wrapper elements inside an Equipment element.
 */
import { describe, expect, it } from 'vitest';
import type { CanonicalEvent } from '../../../core/model/events.js';
import { createAempEquipmentDecoder, parseAempDocument, type AempEquipment } from './aemp-parser.js';

const SOURCE = 'aemp:test';
const RECEIVED = Date.UTC(2025, 2, 4, 6, 0, 0);
const AT = '2025-03-03T10:00:00Z';

/** The one Equipment element of a fleet document holding `element` (with a PIN added). */
function equipment(element: Record<string, unknown>): AempEquipment {
  const result = parseAempDocument(JSON.stringify({ Links: [], Equipment: [{ EquipmentHeader: { PIN: 'PIN1' }, ...element }] }), { source: SOURCE, receivedAt: RECEIVED });
  if (!result.ok || result.document.kind !== 'fleet') throw new Error(`not a fleet: ${result.ok ? result.document.kind : result.reason}`);
  const [eq] = result.document.equipment;
  if (!eq) throw new Error('no equipment');
  return eq;
}

const kinds = (events: readonly CanonicalEvent[]) => events.map((e) => e.kind);
const sensors = (eq: AempEquipment) => Object.assign({}, ...eq.events.flatMap((e) => (e.kind === 'sensor' ? [e.values] : []))) as Record<string, { value: number }>;

describe('AEMP parser (mutation audit)', () => {
  // Kills: the kind order dropped from the sort of events with the same time.
  it('orders readings of one time as position, meter, sensor, alert, whatever the document order', () => {
    const eq = equipment({
      FaultCode: { datetime: AT, CodeIdentifier: 'E1', CodeSeverity: 1 },
      EngineStatus: { datetime: AT, Running: true },
      CumulativeOperatingHours: { datetime: AT, Hour: 100 },
      Location: { datetime: AT, Latitude: 50.1, Longitude: 8.6 },
    });
    expect(kinds(eq.events)).toEqual(['position', 'meter', 'sensor', 'alert']);
  });

  // Kills: the equipment decoder accepting a time-series payload that names no machine.
  it('refuses a time-series payload that names no machine, with a reason, instead of emitting unowned readings', () => {
    const decode = createAempEquipmentDecoder();
    const payload = JSON.stringify({ cumulativeOperatingHours: [{ datetime: AT, hour: 12.5 }] });
    const result = decode({ source: SOURCE, channel: 'c', payload, receivedAt: RECEIVED });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/time-series payload names no equipment/);
  });

  // Kills: an accuracy without a time attached to the first of several positions.
  it('attaches an accuracy without a time only when the element has a single position', () => {
    const many = equipment({
      Location: [
        { datetime: '2025-03-03T09:00:00Z', Latitude: 50.1, Longitude: 8.6 },
        { datetime: '2025-03-03T10:00:00Z', Latitude: 50.2, Longitude: 8.7 },
      ],
      LocationMetadata: { AccuracyRadius: 12 },
    });
    expect(many.events.filter((e) => e.kind === 'position').map((e) => e.kind === 'position' && e.accuracyM)).toEqual([undefined, undefined]);
    const one = equipment({ Location: { datetime: AT, Latitude: 50.1, Longitude: 8.6 }, LocationMetadata: { AccuracyRadius: 12 } });
    expect(one.events.find((e) => e.kind === 'position')).toMatchObject({ accuracyM: 12 });
  });

  // Kills: the unit of an earlier, replaced reading left in `originalUnits`.
  it('names only the unit of the value it kept when one time has two readings of a meter', () => {
    const eq = equipment({
      Distance: [
        { datetime: AT, Odometer: 100, OdometerUnits: 'miles' },
        { datetime: AT, Odometer: 200, OdometerUnits: 'km' },
      ],
    });
    const [meter] = eq.events.filter((e) => e.kind === 'meter');
    expect(meter).toMatchObject({ odometerKm: 200 });
    expect(meter?.kind === 'meter' && meter.originalUnits).toBeUndefined();
    expect(eq.warnings.join(' ')).toMatch(/two values for odometerKm/);
  });

  // Kills: `lat === 0 && lng === 0` → `||` (positions on the prime meridian or the equator dropped).
  it('keeps positions on the prime meridian and on the equator; only 0,0 means no fix', () => {
    const greenwich = equipment({ Location: { datetime: AT, Latitude: 51.4779, Longitude: 0 } });
    expect(greenwich.events).toMatchObject([{ kind: 'position', lat: 51.4779, lng: 0 }]);
    const equator = equipment({ Location: { datetime: AT, Latitude: 0, Longitude: 32.58 } });
    expect(equator.events).toMatchObject([{ kind: 'position', lat: 0, lng: 32.58 }]);
    expect(equipment({ Location: { datetime: AT, Latitude: 0, Longitude: 0 } }).events).toEqual([]);
  });

  // Kills: `> 100` → `>= 100` (a full tank dropped as out of range).
  it('reads a full tank (100 %) and drops only levels outside 0..100', () => {
    expect(sensors(equipment({ FuelRemaining: { datetime: AT, Percent: 100 } }))).toMatchObject({ fuelRemainingPercent: { value: 100 } });
    expect(sensors(equipment({ FuelRemaining: { datetime: AT, Percent: 100.5 } }))).toEqual({});
  });

  // Kills: a negative load count kept.
  it('drops a negative load count with a warning', () => {
    const eq = equipment({ CumulativeLoadCount: { datetime: AT, Count: -3 } });
    expect(eq.events).toEqual([]);
    expect(eq.warnings.join(' ')).toMatch(/CumulativeLoadCount: Count missing or not a non-negative number/);
    expect(sensors(equipment({ CumulativeLoadCount: { datetime: AT, Count: 0 } }))).toMatchObject({ loadCount: { value: 0 } });
  });

  // Kills: numeric severity 3 not mapped to critical (`>= 3` → `> 3`).
  it('maps numeric fault severities 1, 2 and 3 to info, warning and critical', () => {
    const severities = [1, 2, 3].map((s) => equipment({ FaultCode: { datetime: AT, CodeIdentifier: `E${s}`, CodeSeverity: s } }).events[0]);
    expect(severities.map((e) => e?.kind === 'alert' && e.severity)).toEqual(['info', 'warning', 'critical']);
  });

  // Kills: wrapper entries (`Faults: { FaultCode: [...] }`) not unwrapped inside an Equipment element.
  it('reads the entries of a wrapper element inside an Equipment element', () => {
    const eq = equipment({
      Faults: { FaultCode: [{ datetime: '2025-03-03T09:00:00Z', CodeIdentifier: 'E1' }, { datetime: AT, CodeIdentifier: 'E2' }] },
      Locations: { Location: { datetime: AT, Latitude: 50.1, Longitude: 8.6 } },
    });
    expect(eq.events.filter((e) => e.kind === 'alert').map((e) => e.kind === 'alert' && e.code)).toEqual(['E1', 'E2']);
    expect(eq.events.filter((e) => e.kind === 'position')).toHaveLength(1);
  });
});
