import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CanonicalEvent, SourceIdentifier } from '../../../core/model/events.js';
import { createAempEquipmentDecoder, parseAempDocument, warningsOfKind, type AempDocument, type AempEquipment, type AempParseOptions } from './aemp-parser.js';

const SOURCE = 'aemp:test';
const RECEIVED = Date.UTC(2025, 2, 4, 6, 0, 0);
const T = (iso: string): number => Date.parse(iso);

function fixture(name: string): Buffer {
  return readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url));
}

function parse(name: string, extra: Partial<AempParseOptions> = {}): AempDocument {
  const result = parseAempDocument(fixture(name), { source: SOURCE, receivedAt: RECEIVED, ...extra });
  if (!result.ok) throw new Error(`${name} was rejected: ${result.reason}`);
  return result.document;
}

function fleet(name: string, extra: Partial<AempParseOptions> = {}): Extract<AempDocument, { kind: 'fleet' }> {
  const doc = parse(name, extra);
  if (doc.kind !== 'fleet') throw new Error(`${name} parsed as ${doc.kind}`);
  return doc;
}

function series(name: string, extra: Partial<AempParseOptions> = {}): Extract<AempDocument, { kind: 'timeseries' }> {
  const doc = parse(name, extra);
  if (doc.kind !== 'timeseries') throw new Error(`${name} parsed as ${doc.kind}`);
  return doc;
}

function equipmentAt(doc: { equipment: AempEquipment[] }, i: number): AempEquipment {
  const eq = doc.equipment[i];
  if (!eq) throw new Error(`no equipment #${i}`);
  return eq;
}

/** Events without `raw`, which is checked separately. */
function canonical(events: readonly CanonicalEvent[]): unknown[] {
  return events.map(({ raw: _raw, ...rest }) => rest);
}

const base = (ids: readonly SourceIdentifier[], eventTime: number) => ({ source: SOURCE, receivedAt: RECEIVED, ids, eventTime });

const VOLVO_PIN = 'VCEC220EP00312874';
const VOLVO_HEADER_IDS: SourceIdentifier[] = [
  { type: 'pin', value: VOLVO_PIN },
  { type: 'serial', value: VOLVO_PIN },
];
const VOLVO_METADATA_IDS: SourceIdentifier[] = [
  { type: 'external-ref', value: 'ERP-EQ-004512' },
  { type: 'machine-id', value: '7f3c2a90-1b5e-4d2a-9c61-0e8d4b7a5f12' },
  { type: 'pin', value: VOLVO_PIN },
  { type: 'serial', value: VOLVO_PIN },
  { type: 'unit-id', value: '1204417' },
  { type: 'device-serial', value: '3318842' },
];
const VOLVO_HEADER = {
  oemName: 'Volvo',
  model: 'EC220E',
  equipmentId: 'EX-0142 Aarhus depot',
  serialNumber: VOLVO_PIN,
  pin: VOLVO_PIN,
  unitInstallTime: T('2022-09-14T08:30:00Z'),
};

/** The same Volvo excavator, as every dialect fixture reports it. Hours are older than the location. */
function volvoEvents(ids: readonly SourceIdentifier[]): unknown[] {
  return [
    { kind: 'sensor', ...base(ids, T('2025-03-03T16:41:50Z')), values: { fuelRemainingPercent: { value: 37.6, unit: '%' }, fuelTankCapacityL: { value: 400, unit: 'L' } } },
    { kind: 'meter', ...base(ids, T('2025-03-03T16:42:05Z')), operatingHours: 4871.35, idleHours: 1322.8, fuelUsedL: 61240.5 },
    { kind: 'sensor', ...base(ids, T('2025-03-03T16:42:11Z')), values: { engineRunning: { value: 0, unit: 'bool' } } },
    { kind: 'position', ...base(ids, T('2025-03-04T04:51:37Z')), lat: 56.162941, lng: 10.203814, altM: 41 },
  ];
}

describe('parseAempDocument: one machine, many dialects', () => {
  it.each([
    ['iso-fleet.xml', 'standard XML: namespace, datetime attributes, repeated <Links>'],
    ['samsara-fleet-wrapper.json', 'Samsara: Fleet wrapper, numeric strings, ms and offset timestamps'],
    ['jcb-livelink.json', 'JCB: Pin/EquipmentId/DateTime/Rel/Href, single objects for arrays'],
    ['mix-fleet.xml', 'MiX: prefixed namespace, dateTime attribute, unit-suffixed element names'],
    ['single-equipment.xml', 'single-element snapshot: Equipment at the top level'],
    ['takeuchi-fleet.xml', 'Takeuchi: datetime as a child element, zone-less times'],
  ])('%s (%s) gives the canonical events', (name) => {
    const eq = equipmentAt(fleet(name), 0);
    expect(eq.header).toEqual(VOLVO_HEADER);
    expect(eq.ids).toEqual(VOLVO_HEADER_IDS);
    expect(canonical(eq.events)).toEqual(volvoEvents(VOLVO_HEADER_IDS));
    expect(eq.warnings).toEqual([]);
  });

  it('Trackunit JSON: lower-case equipment/links at the top, Metadata ids strongest first', () => {
    const doc = fleet('trackunit-fleet-lowercase.json');
    expect(doc.version).toBe('0');
    expect(doc.snapshotTime).toBeUndefined();
    expect(doc.links).toEqual([
      { rel: 'self', href: 'https://iris.trackunit.com/public/api/aemp/v2/15143/-3/Fleet/1?addMetadata=true' },
      { rel: 'last', href: 'https://iris.trackunit.com/public/api/aemp/v2/15143/-3/Fleet/3?addMetadata=true' },
    ]);
    const eq = equipmentAt(doc, 0);
    expect(eq.header).toEqual({
      ...VOLVO_HEADER,
      telematicSerialNumber: '3318842',
      machineId: '7f3c2a90-1b5e-4d2a-9c61-0e8d4b7a5f12',
      unitId: '1204417',
      externalReferenceNumber: 'ERP-EQ-004512',
    });
    expect(eq.ids).toEqual(VOLVO_METADATA_IDS);
    expect(canonical(eq.events)).toEqual(volvoEvents(VOLVO_METADATA_IDS));
  });

  it('standard XML: links, snapshotTime and version from Fleet attributes', () => {
    const doc = fleet('iso-fleet.xml');
    expect(doc.snapshotTime).toBe(T('2025-03-04T05:00:12Z'));
    expect(doc.version).toBe('20190501');
    expect(doc.links).toEqual([
      { rel: 'self', href: 'https://aemp.example.com/Fleet/1' },
      { rel: 'next', href: 'https://aemp.example.com/Fleet/2' },
      { rel: 'last', href: 'https://aemp.example.com/Fleet/2' },
    ]);
    expect(doc.warnings).toEqual([]);
  });

  it('keeps each block as it came in raw, and the whole element in equipment.raw', () => {
    const eq = equipmentAt(fleet('iso-fleet.xml'), 0);
    const meter = eq.events.find((e) => e.kind === 'meter');
    expect(meter?.raw).toEqual({
      CumulativeOperatingHours: { datetime: '2025-03-03T16:42:05Z', Hour: '4871.35' },
      CumulativeIdleHours: { datetime: '2025-03-03T16:42:05Z', Hour: '1322.80' },
      FuelUsed: { datetime: '2025-03-03T16:42:05Z', FuelUnits: 'litre', FuelConsumed: '61240.5' },
    });
    const position = eq.events.find((e) => e.kind === 'position');
    expect(position?.raw).toEqual({ Location: { datetime: '2025-03-04T04:51:37Z', Latitude: '56.162941', Longitude: '10.203814', Altitude: '41.00', AltitudeUnits: 'metre' } });
    expect(eq.raw).toMatchObject({ EquipmentHeader: { PIN: VOLVO_PIN }, EngineStatus: { datetime: '2025-03-03T16:42:11Z', EngineNumber: '', Running: 'false' } });
  });

  it('CanTrack camelCase: *Specified flags, unit enums as numbers (assumed metric, warned), extra blocks ignored', () => {
    const eq = equipmentAt(fleet('cantrack-fleet.json'), 0);
    expect(eq.ids).toEqual(VOLVO_HEADER_IDS);
    const [fuelLevel, meter, engine, position] = volvoEvents(VOLVO_HEADER_IDS) as Record<string, unknown>[];
    expect(canonical(eq.events)).toEqual([
      { ...fuelLevel, values: { fuelRemainingPercent: { value: 37.6, unit: '%' }, fuelTankCapacityL: { value: 400, unit: 'L' }, defRemainingPercent: { value: 0, unit: '%' } } },
      meter,
      engine,
      { kind: 'sensor', ...base(VOLVO_HEADER_IDS, T('2025-03-03T23:59:59Z')), values: { maximumSpeedLast24Kmh: { value: 12.5, unit: 'km/h' } } },
      position,
    ]);
    expect(eq.warnings).toEqual([
      'location.altitude: unit given as the number 0 (an enum ordinal?); assumed m',
      'fuelUsed.fuelConsumed: unit given as the number 0 (an enum ordinal?); assumed L',
      'fuelRemaining.fuelTankCapacity: unit given as the number 0 (an enum ordinal?); assumed L',
    ]);
  });
});

describe('parseAempDocument: placeholders, identity and units', () => {
  it('Takeuchi placeholders become absent with warnings; a placeholder datetime skips only its block', () => {
    const doc = fleet('takeuchi-fleet.xml');
    expect(doc.links.map((l) => l.rel)).toEqual(['self', 'last']);
    const eq = equipmentAt(doc, 1);
    expect(eq.header).toEqual({ oemName: 'Takeuchi', equipmentId: '4962031177' });
    const ids: SourceIdentifier[] = [{ type: 'serial', value: '4962031177' }];
    expect(eq.ids).toEqual(ids);
    expect(canonical(eq.events)).toEqual([
      { kind: 'sensor', ...base(ids, T('2025-03-03T15:06:01Z')), values: { fuelRemainingPercent: { value: 92.4, unit: '%' } } },
      { kind: 'meter', ...base(ids, T('2025-03-03T15:06:02Z')), operatingHours: 352.4 },
      { kind: 'sensor', ...base(ids, T('2025-03-03T15:06:40Z')), values: { engineRunning: { value: 1, unit: 'bool' } } },
      { kind: 'position', ...base(ids, T('2025-03-04T03:10:22Z')), lat: 51.04812, lng: 13.73726 },
    ]);
    expect(eq.warnings).toEqual([
      'EquipmentHeader.Model is the placeholder "missing"; treated as absent',
      'EquipmentHeader.SerialNumber is the placeholder "missing"; treated as absent',
      'EquipmentHeader.PIN is the placeholder "missing"; treated as absent',
      'EquipmentHeader.UnitInstallDateTime "0001-01-01T00:00:00Z" is a placeholder; treated as absent',
      'no PIN, serial or Metadata id; using the free-text EquipmentID "4962031177" as serial',
      'Location: altitude 0 means unknown; treated as absent',
      'CumulativeIdleHours: datetime "0001-01-01T00:00:00Z" is a placeholder; reading skipped',
      'FuelUsed.FuelConsumed is empty; treated as absent',
      'FuelRemaining: tank capacity 0 means unknown; treated as absent',
    ]);
    // Beside each text its kind, for code that acts on warnings: only the placeholder datetime lost a reading.
    expect(eq.warningKinds).toEqual(['value-absent', 'value-absent', 'value-absent', 'value-absent', 'value-assumed', 'value-absent', 'reading-left-out', 'value-absent', 'value-absent']);
    expect(warningsOfKind(eq, 'reading-left-out')).toEqual(['CumulativeIdleHours: datetime "0001-01-01T00:00:00Z" is a placeholder; reading skipped']);
  });

  it('keeps identifiers as text (leading zeros survive) and header-only machines have no events', () => {
    const eq = equipmentAt(fleet('takeuchi-fleet.xml'), 2);
    expect(eq.ids).toEqual([
      { type: 'pin', value: '0126001994' },
      { type: 'serial', value: '126001994' },
    ]);
    expect(eq.events).toEqual([]);
  });

  it('miles, gallons, feet, mph, tons and minutes are converted; the original unit is kept on the meter', () => {
    const eq = equipmentAt(fleet('imperial-units.json'), 0);
    const ids: SourceIdentifier[] = [{ type: 'pin', value: '1DW544LXCKF712345' }];
    expect(canonical(eq.events)).toEqual([
      { kind: 'sensor', ...base(ids, T('2025-03-03T23:59:59Z')), values: { maximumSpeedLast24Kmh: { value: 33.796224, unit: 'km/h' } } },
      {
        kind: 'sensor',
        ...base(ids, T('2025-03-04T01:29:00Z')),
        values: { fuelRemainingPercent: { value: 55, unit: '%' }, fuelTankCapacityL: { value: 227.12470704, unit: 'L' }, defRemainingPercent: { value: 80, unit: '%' } },
      },
      {
        kind: 'meter',
        ...base(ids, T('2025-03-04T01:30:00Z')),
        operatingHours: 2310.5,
        idleHours: 90.5,
        odometerKm: 2011.68,
        fuelUsedL: 30283.294272,
        originalUnits: { idleHours: 'minute', odometerKm: 'mile', fuelUsedL: 'gallon' },
      },
      { kind: 'sensor', ...base(ids, T('2025-03-04T01:30:00Z')), values: { payloadTotalT: { value: 1520.5, unit: 't' } } },
      { kind: 'position', ...base(ids, T('2025-03-04T02:00:00Z')), lat: 41.5868, lng: -93.625, altM: 259.08 },
    ]);
    expect(eq.warnings).toEqual([
      'DEFRemaining.DEFTankCapacity: unknown volume unit "pints"; expected one of l, lt, ltr, litre, litres, liter, liters, gal; reading dropped',
    ]);
  });

  it('Trackunit XML page 1: device serial in SerialNumber, Metadata join keys, extended data, location accuracy', () => {
    const doc = fleet('trackunit-fleet-page1.xml');
    expect(doc.snapshotTime).toBeUndefined();
    expect(doc.version).toBe('0');
    expect(doc.links).toEqual([
      { rel: 'self', href: 'https://iris.trackunit.com/public/api/aemp/v2/15143/-3/Fleet/1?addMetadata=true&addExtendedData=true' },
      { rel: 'next', href: 'https://iris.trackunit.com/public/api/aemp/v2/15143/-3/Fleet/2?addMetadata=true&addExtendedData=true' },
      { rel: 'last', href: 'https://iris.trackunit.com/public/api/aemp/v2/15143/-3/Fleet/4?addMetadata=true&addExtendedData=true' },
    ]);
    const kramer = equipmentAt(doc, 0);
    const ids: SourceIdentifier[] = [
      { type: 'machine-id', value: '9d1c6f3e-2a7b-4c55-8e10-b4f2a9c07d31' },
      { type: 'unit-id', value: '1187300' },
      { type: 'device-serial', value: '3301245' },
    ];
    expect(kramer.ids).toEqual(ids);
    expect(canonical(kramer.events)).toEqual([
      { kind: 'meter', ...base(ids, T('2025-02-27T11:15:40Z')), operatingHours: 1937.23, odometerKm: 5220 },
      { kind: 'sensor', ...base(ids, T('2025-02-27T11:15:40Z')), values: { movingHours: { value: 402.1, unit: 'h' } } },
      {
        kind: 'sensor',
        ...base(ids, T('2025-02-27T11:16:02Z')),
        values: { engineRunning: { value: 0, unit: 'bool' }, engineCoolantTemperature: { value: 78, unit: 'celsius' } },
      },
      { kind: 'position', ...base(ids, T('2025-03-04T04:58:02Z')), lat: 50.956158333333335, lng: 12.460851666666667, accuracyM: 4.5 },
      { kind: 'sensor', ...base(ids, T('2025-03-04T04:58:02Z')), values: { batteryPotential: { value: 13.3 } } },
    ]);
    expect(kramer.warnings).toEqual([
      'EquipmentHeader.Model is empty; treated as absent',
      'Metadata.ExternalReferenceNumber is empty; treated as absent',
      'EquipmentHeader.SerialNumber "3301245" is the telematics device serial; used as device-serial only',
    ]);
    const wacker = equipmentAt(doc, 1);
    expect(wacker.ids[0]).toEqual({ type: 'external-ref', value: 'ERP-EQ-008810' });
    // Milliseconds in the DEF block's own (old) time are kept; it is not moved to the snapshot time.
    expect(wacker.events[0]).toMatchObject({ kind: 'sensor', eventTime: T('2025-01-12T08:29:39.003Z'), values: { defRemainingPercent: { value: 0, unit: '%' } } });
  });

  it('Cat-style: blocks with different datetimes become separate meter events; the hour meter never takes the Location time', () => {
    const doc = fleet('cat-fleet.xml');
    expect(doc.links.map((l) => l.rel)).toEqual(['self', 'first', 'last']);
    const loader = equipmentAt(doc, 1);
    const ids: SourceIdentifier[] = [{ type: 'serial', value: 'M5K00567' }];
    expect(canonical(loader.events)).toEqual([
      { kind: 'meter', ...base(ids, T('2025-03-02T18:20:00Z')), idleHours: 901 },
      { kind: 'meter', ...base(ids, T('2025-03-03T18:20:00Z')), operatingHours: 3310.2 },
    ]);
    const excavator = equipmentAt(doc, 0);
    const exIds: SourceIdentifier[] = [{ type: 'serial', value: 'KBF01234' }];
    expect(canonical(excavator.events)).toEqual([
      {
        kind: 'sensor',
        ...base(exIds, T('2025-03-03T00:00:00Z')),
        values: { fuelUsedLast24L: { value: 96.5, unit: 'L' }, averageLoadFactorLast24Percent: { value: 41, unit: '%' } },
      },
      { kind: 'meter', ...base(exIds, T('2025-03-03T21:58:31Z')), operatingHours: 6210.4, idleHours: 1877.15, fuelUsedL: 41820 },
      { kind: 'sensor', ...base(exIds, T('2025-03-03T21:58:31Z')), values: { defRemainingPercent: { value: 64, unit: '%' } } },
      { kind: 'sensor', ...base(exIds, T('2025-03-03T21:59:02Z')), values: { engineRunning: { value: 0, unit: 'bool' } } },
      { kind: 'position', ...base(exIds, T('2025-03-03T22:14:09Z')), lat: 43.6532, lng: -79.3832, altM: 76.2 },
    ]);
  });

  it('reference sample page 2: hauler blocks, and a header-only machine', () => {
    const doc = fleet('samples/aemp-fleet-page2.json');
    expect(doc.links.map((l) => l.rel)).toEqual(['self', 'prev', 'last']);
    const bell = equipmentAt(doc, 0);
    const ids = bell.ids;
    expect(ids.map((i) => i.type)).toEqual(['external-ref', 'machine-id', 'pin', 'serial', 'unit-id', 'device-serial']);
    expect(canonical(bell.events)).toEqual([
      { kind: 'position', ...base(ids, T('2025-03-03T17:20:44Z')), lat: 53.551086, lng: 9.993682, altM: 12 },
      { kind: 'sensor', ...base(ids, T('2025-03-03T17:20:58Z')), values: { fuelRemainingPercent: { value: 22, unit: '%' } } },
      { kind: 'meter', ...base(ids, T('2025-03-03T17:21:09Z')), operatingHours: 6210.4, idleHours: 1877.15, odometerKm: 61877.4, fuelUsedL: 118402 },
      {
        kind: 'sensor',
        ...base(ids, T('2025-03-03T17:21:09Z')),
        values: {
          idleNonOperatingHours: { value: 96.3, unit: 'h' },
          activeRegenerationHours: { value: 41.9, unit: 'h' },
          powerTakeOffHours: { value: 0, unit: 'h' },
          loadCount: { value: 9418, unit: 'count' },
          payloadTotalT: { value: 255301.87, unit: 't' },
        },
      },
      { kind: 'sensor', ...base(ids, T('2025-03-03T17:21:15Z')), values: { engineRunning: { value: 0, unit: 'bool' } } },
      {
        kind: 'sensor',
        ...base(ids, T('2025-03-03T23:59:59Z')),
        values: { averageLoadFactorLast24Percent: { value: 48.5, unit: '%' }, maximumSpeedLast24Kmh: { value: 43.2, unit: 'km/h' } },
      },
    ]);
    expect(bell.warnings).toEqual(['FuelRemaining: tank capacity 0 means unknown; treated as absent']);
    const takeuchi = equipmentAt(doc, 1);
    expect(takeuchi.events).toEqual([]);
    expect(takeuchi.ids.map((i) => i.type)).toEqual(['machine-id', 'pin', 'serial', 'unit-id', 'device-serial']);
  });

  it('reference sample page 1: a second machine whose hours are older than its location', () => {
    const doc = fleet('samples/aemp-fleet-page1.json');
    const kramer = equipmentAt(doc, 1);
    const meter = kramer.events.find((e) => e.kind === 'meter');
    const position = kramer.events.find((e) => e.kind === 'position');
    expect(meter).toMatchObject({ eventTime: T('2025-02-27T11:15:40Z'), operatingHours: 1937.23, odometerKm: 5220 });
    expect(position).toMatchObject({ eventTime: T('2025-03-04T04:58:02Z') });
    expect(kramer.ids).toEqual([
      { type: 'machine-id', value: 'c41e9d07-66a8-4f0b-8b3e-2d95f0a7c3e4' },
      { type: 'unit-id', value: '988120' },
      { type: 'device-serial', value: '2409317' },
    ]);
  });

  it('reference single-element sample parses as a fleet of one without links', () => {
    const doc = fleet('samples/aemp-equipment.json');
    expect(doc.links).toEqual([]);
    expect(doc.equipment).toHaveLength(1);
    expect(equipmentAt(doc, 0).events.find((e) => e.kind === 'meter')).toMatchObject({ operatingHours: 4871.6, idleHours: 1322.9, fuelUsedL: 61244.1 });
  });
});

describe('parseAempDocument: time series', () => {
  const pin: SourceIdentifier[] = [{ type: 'pin', value: VOLVO_PIN }];

  it('Trackunit JSON lower camelCase series, out of order in the page, comes out sorted with the caller ids', () => {
    const doc = series('ts-trackunit-operating-hours.json', { ids: pin });
    expect(doc.dataElement).toBe('CumulativeOperatingHours');
    expect(doc.ids).toEqual(pin);
    expect(doc.links.map((l) => l.rel)).toEqual(['self', 'last']);
    expect(canonical(doc.events)).toEqual([
      { kind: 'meter', ...base(pin, T('2025-03-01T17:02:11Z')), operatingHours: 4852.1 },
      { kind: 'meter', ...base(pin, T('2025-03-02T16:55:40Z')), operatingHours: 4862 },
      { kind: 'meter', ...base(pin, T('2025-03-03T16:42:05Z')), operatingHours: 4871.35 },
    ]);
    expect(doc.warnings).toEqual([]);
  });

  it('warns when neither the document nor the caller names the equipment', () => {
    const doc = series('ts-trackunit-operating-hours.json');
    expect(doc.ids).toEqual([]);
    // Said for the command's user (no internal option names), with the identifier the page's self link asked by.
    expect(doc.warnings).toEqual([
      'time-series document names no equipment; pass the identifier it was requested with (\'assetbridge aemp parse --id TYPE:VALUE\'; its self link asks by "VCEC220EP00312874": --id pin:VCEC220EP00312874, or device-serial:VCEC220EP00312874 for a machine without a PIN)',
    ]);
  });

  it('Takeuchi FuelUsedMessages root with child datetimes', () => {
    const ids: SourceIdentifier[] = [{ type: 'pin', value: '126001994' }];
    const doc = series('ts-takeuchi-fuelused.xml', { ids });
    expect(doc.dataElement).toBe('FuelUsed');
    expect(canonical(doc.events)).toEqual([
      { kind: 'meter', ...base(ids, T('2025-03-01T10:53:34Z')), fuelUsedL: 1560 },
      { kind: 'meter', ...base(ids, T('2025-03-02T11:01:12Z')), fuelUsedL: 1598 },
      { kind: 'meter', ...base(ids, T('2025-03-03T09:44:50Z')), fuelUsedL: 1631.5 },
    ]);
  });

  it('Bell CumulativeLoadCountMessages with a first link', () => {
    const ids: SourceIdentifier[] = [{ type: 'pin', value: 'AEBB830EJ04471203' }];
    const doc = series('ts-bell-loadcount.xml', { ids });
    expect(doc.dataElement).toBe('CumulativeLoadCount');
    expect(doc.links.map((l) => l.rel)).toEqual(['self', 'first', 'next', 'last']);
    expect(canonical(doc.events)).toEqual([
      { kind: 'sensor', ...base(ids, T('2025-03-03T08:00:00Z')), values: { loadCount: { value: 9401, unit: 'count' } } },
      { kind: 'sensor', ...base(ids, T('2025-03-03T12:00:00Z')), values: { loadCount: { value: 9410, unit: 'count' } } },
    ]);
  });

  it('Trackunit distance series with an upper-case unit', () => {
    const ids: SourceIdentifier[] = [{ type: 'device-serial', value: '2409317' }];
    const doc = series('ts-trackunit-distance.json', { ids });
    expect(doc.dataElement).toBe('Distance');
    expect(canonical(doc.events)).toEqual([
      { kind: 'meter', ...base(ids, T('2025-02-26T12:00:00Z')), odometerKm: 5201.5 },
      { kind: 'meter', ...base(ids, T('2025-02-27T11:15:40Z')), odometerKm: 5220 },
    ]);
  });

  it('fault codes become alerts with mapped severities; the header in the page names the machine', () => {
    const doc = series('ts-cat-faults.json');
    const ids: SourceIdentifier[] = [{ type: 'serial', value: 'KBF01234' }];
    expect(doc.dataElement).toBe('FaultCode');
    expect(doc.ids).toEqual(ids);
    expect(canonical(doc.events)).toEqual([
      { kind: 'alert', ...base(ids, T('2025-03-03T09:05:44Z')), reason: 'Electrical system voltage low', severity: 'info', code: '168-1' },
      { kind: 'alert', ...base(ids, T('2025-03-03T11:30:00Z')), reason: 'fault code E360', severity: 'warning', code: 'E360' },
      { kind: 'alert', ...base(ids, T('2025-03-03T14:22:10Z')), reason: 'DPF soot load high', severity: 'critical', code: '3719-16' },
    ]);
  });

  it('a Locations wrapper element holding Location entries', () => {
    const doc = series('ts-locations.xml', { ids: pin });
    expect(doc.dataElement).toBe('Location');
    expect(canonical(doc.events)).toEqual([
      { kind: 'position', ...base(pin, T('2025-03-03T08:00:00Z')), lat: 56.150001, lng: 10.200002 },
      { kind: 'position', ...base(pin, T('2025-03-03T12:30:00Z')), lat: 56.162941, lng: 10.203814, altM: 41 },
    ]);
  });

  it('an empty series page still names its element and links', () => {
    const doc = series('ts-empty.xml', { ids: pin });
    expect(doc.dataElement).toBe('CumulativeIdleHours');
    expect(doc.events).toEqual([]);
    expect(doc.links).toHaveLength(1);
  });

  it('expect: timeseries settles a single-entry page that carries a header', () => {
    const body = JSON.stringify({ EquipmentHeader: { PIN: 'P1' }, CumulativeOperatingHours: { datetime: '2025-03-01T00:00:00Z', Hour: 10 } });
    const asFleet = parseAempDocument(body, { source: SOURCE, receivedAt: RECEIVED });
    const asSeries = parseAempDocument(body, { source: SOURCE, receivedAt: RECEIVED, expect: 'timeseries' });
    expect(asFleet.ok && asFleet.document.kind).toBe('fleet');
    expect(asSeries.ok && asSeries.document.kind).toBe('timeseries');
    // And expect: fleet settles a bare element whose blocks are lists (a single-element snapshot).
    const lists = JSON.stringify({ EquipmentHeader: { PIN: 'P1' }, Location: [{ datetime: '2025-03-01T00:00:00Z', Latitude: 1, Longitude: 2 }, { datetime: '2025-03-01T01:00:00Z', Latitude: 1, Longitude: 3 }] });
    const listsAsFleet = parseAempDocument(lists, { source: SOURCE, receivedAt: RECEIVED, expect: 'fleet' });
    expect(listsAsFleet.ok && listsAsFleet.document.kind).toBe('fleet');
    expect(listsAsFleet.ok && listsAsFleet.document.kind === 'fleet' && listsAsFleet.document.equipment[0]?.events).toHaveLength(2);
    if (asSeries.ok && asSeries.document.kind === 'timeseries') expect(asSeries.document.ids).toEqual([{ type: 'pin', value: 'P1' }]);
  });
});

describe('parseAempDocument: tolerance details', () => {
  const one = (equipment: unknown, extra: Record<string, unknown> = {}) =>
    parseAempDocument(JSON.stringify({ Equipment: equipment, ...extra }), { source: SOURCE, receivedAt: RECEIVED });
  const firstEquipment = (r: ReturnType<typeof one>): AempEquipment => {
    if (!r.ok || r.document.kind !== 'fleet') throw new Error(JSON.stringify(r));
    return equipmentAt(r.document, 0);
  };

  it('skips a block without a datetime instead of borrowing the Location time', () => {
    const eq = firstEquipment(
      one({
        EquipmentHeader: { PIN: 'P1' },
        Location: { datetime: '2025-03-04T04:00:00Z', Latitude: 1, Longitude: 2 },
        CumulativeOperatingHours: { Hour: 100 },
      }),
    );
    expect(eq.events.map((e) => e.kind)).toEqual(['position']);
    expect(eq.warnings).toEqual(["CumulativeOperatingHours: no datetime; reading skipped (a block never borrows another block's time)"]);
  });

  it('drops a 0,0 fix, a non-numeric hour and an out-of-range percentage with warnings', () => {
    const eq = firstEquipment(
      one({
        EquipmentHeader: { PIN: 'P1' },
        Location: { datetime: '2025-03-04T04:00:00Z', Latitude: 0, Longitude: 0 },
        CumulativeOperatingHours: { datetime: '2025-03-04T04:00:00Z', Hour: 'n/a?' },
        FuelRemaining: { datetime: '2025-03-04T04:00:00Z', Percent: 140 },
      }),
    );
    expect(eq.events).toEqual([]);
    expect(eq.warnings).toEqual([
      'Location: position 0,0 means no fix; position skipped',
      'CumulativeOperatingHours.Hour "n/a?" is not a number; treated as absent',
      'FuelRemaining.Percent 140 is not a percentage in [0, 100]; treated as absent',
    ]);
    expect(eq.warningKinds).toEqual(['reading-left-out', 'reading-left-out', 'reading-left-out']);
  });

  it('gives each warning its kind whatever the feed wrote into the text: an install time in words is no reading left out', () => {
    const eq = firstEquipment(
      one({
        EquipmentHeader: { PIN: 'P1', UnitInstallDateTime: 'is not a number; reading skipped' },
        CumulativeOperatingHours: { datetime: '2025-03-04T04:00:00Z', Hour: 5, HourUnits: 3 },
        Distance: { datetime: '2025-03-04T04:00:00Z', Odometer: 1, OdometerUnits: 'furlong' },
      }),
    );
    expect(eq.warnings).toEqual([
      'EquipmentHeader.UnitInstallDateTime "is not a number; reading skipped" is not a time; treated as absent',
      'CumulativeOperatingHours.Hour: unit given as the number 3 (an enum ordinal?); assumed h',
      expect.stringMatching(/^Distance\.Odometer: unknown distance unit "furlong".*; reading dropped$/),
    ]);
    expect(eq.warningKinds).toEqual(['value-absent', 'value-assumed', 'reading-left-out']);
    expect(warningsOfKind(eq, 'reading-left-out')).toHaveLength(1);
  });

  it('accepts Links as a rel→href map and warns about unusable links', () => {
    const r = one({ EquipmentHeader: { PIN: 'P1' } }, { links: [{ next: 'https://x/Fleet/2', last: 'https://x/Fleet/9' }, { rel: 'self' }, 'junk'] });
    if (!r.ok || r.document.kind !== 'fleet') throw new Error('rejected');
    expect(r.document.links).toEqual([
      { rel: 'next', href: 'https://x/Fleet/2' },
      { rel: 'last', href: 'https://x/Fleet/9' },
    ]);
    expect(r.document.warnings).toEqual(['links: link without rel and href ({"rel":"self"}); skipped', 'links: entry "junk" is not a link object; skipped']);
    expect(r.document.warningKinds).toEqual(['entry-skipped', 'entry-skipped']);
  });

  it('a Fleet with no Equipment is an empty page, not an error', () => {
    const r = parseAempDocument('<Fleet xmlns="http://standards.iso.org/iso/15143/-3" version="0"><Links><rel>self</rel><href>/Fleet/5</href></Links></Fleet>', {
      source: SOURCE,
      receivedAt: RECEIVED,
    });
    expect(r).toEqual({ ok: true, document: { kind: 'fleet', version: '0', links: [{ rel: 'self', href: '/Fleet/5' }], equipment: [], warnings: ['document holds no Equipment elements'], warningKinds: ['no-equipment'] } });
  });

  it('warns when an equipment has no usable identifier at all', () => {
    const eq = firstEquipment(one({ EquipmentHeader: { PIN: 'missing', Model: 'X' }, CumulativeOperatingHours: { datetime: '2025-03-01T00:00:00Z', Hour: 5 } }));
    expect(eq.ids).toEqual([]);
    expect(eq.warnings.at(-1)).toMatch(/no usable identifier/);
  });

  it('reads XML converted to JSON: attributes as @datetime (Json.NET, with its ?xml and @xmlns keys) or @_datetime, text as #text', () => {
    const newtonsoft = {
      '?xml': { '@version': '1.0', '@encoding': 'utf-8' },
      Fleet: {
        '@xmlns': 'http://standards.iso.org/iso/15143/-3',
        '@version': '0',
        Links: [{ rel: 'self', href: 'https://x/Fleet/1' }],
        Equipment: {
          EquipmentHeader: { PIN: 'P1' },
          Location: { '@datetime': '2025-03-04T04:00:00Z', Latitude: '56.1', Longitude: '10.2' },
          CumulativeOperatingHours: { '@datetime': '2025-03-04T04:00:00Z', Hour: { '#text': '12.5' } },
        },
      },
    };
    const r = parseAempDocument(JSON.stringify(newtonsoft), { source: SOURCE, receivedAt: RECEIVED });
    if (!r.ok || r.document.kind !== 'fleet') throw new Error(JSON.stringify(r));
    expect(r.document).toMatchObject({ version: '0', links: [{ rel: 'self', href: 'https://x/Fleet/1' }], warnings: [] });
    const eq = equipmentAt(r.document, 0);
    expect(eq.warnings).toEqual([]);
    expect(canonical(eq.events)).toEqual([
      { kind: 'position', source: SOURCE, ids: [{ type: 'pin', value: 'P1' }], eventTime: T('2025-03-04T04:00:00Z'), receivedAt: RECEIVED, lat: 56.1, lng: 10.2 },
      { kind: 'meter', source: SOURCE, ids: [{ type: 'pin', value: 'P1' }], eventTime: T('2025-03-04T04:00:00Z'), receivedAt: RECEIVED, operatingHours: 12.5 },
    ]);
    const fxp = firstEquipment(one({ EquipmentHeader: { PIN: 'P1' }, CumulativeOperatingHours: { '@_datetime': '2025-03-04T04:00:00Z', Hour: 7 } }));
    expect(fxp.warnings).toEqual([]);
    expect(fxp.events.map((e) => e.kind)).toEqual(['meter']);
  });

  it('reads a body given as bytes with a UTF-8 BOM', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...fixture('jcb-livelink.json')]);
    const r = parseAempDocument(bytes, { source: SOURCE, receivedAt: RECEIVED });
    expect(r.ok && r.document.kind === 'fleet' && canonical(equipmentAt(r.document, 0).events)).toEqual(volvoEvents(VOLVO_HEADER_IDS));
  });
});

describe('parseAempDocument: rejections', () => {
  const reject = (body: string | Uint8Array, extra: Partial<AempParseOptions> = {}): string => {
    const r = parseAempDocument(body, { source: SOURCE, receivedAt: RECEIVED, ...extra });
    if (r.ok) throw new Error(`accepted: ${JSON.stringify(r.document).slice(0, 200)}`);
    return r.reason;
  };

  it.each([
    ['empty body', '  \n', /empty body/],
    ['plain text', 'Service Unavailable', /neither JSON nor XML.*Service Unavailable/],
    ['an HTML login page', '<!DOCTYPE html><html><body>Sign in</body></html>', /HTML page/],
    ['truncated JSON', fixture('trackunit-fleet-lowercase.json').subarray(0, 400), /invalid JSON.*truncated/],
    ['truncated XML', fixture('iso-fleet.xml').subarray(0, 900), /invalid XML at line \d+/],
    ['mismatched XML tags', '<Fleet><Equipment></Fleet>', /invalid XML/],
    ['two XML roots', '<Fleet></Fleet><Fleet></Fleet>', /invalid XML.*root/i],
    ['a billion-laughs DOCTYPE', '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><Fleet>&lol2;</Fleet>', /DOCTYPE or ENTITY/],
    ['an external entity', '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Fleet>&xxe;</Fleet>', /DOCTYPE or ENTITY/],
    ['JSON nested too deep', `${'{"a":'.repeat(100)}1${'}'.repeat(100)}`, /nested deeper than 32/],
    ['XML nested too deep', `${'<a>'.repeat(100)}${'</a>'.repeat(100)}`, /nested deeper than 32/],
    ['a Trackunit API error body', '{"status":429,"code":"too_many_requests","message":"Rate limit exceeded"}', /API error \(429\): Rate limit exceeded/],
    ['an OAuth error', '{"error":"invalid_scope","error_description":"scope not allowed"}', /API error \(invalid_scope\): scope not allowed/],
    ['unrelated JSON', '{"items":[{"id":1}],"total":1}', /not an ISO 15143-3.*"items", "total"/],
    // Read "found no keys, but no Fleet, …".
    ['an empty JSON object', '{}', /^not an ISO 15143-3 \(AEMP 2\.0\) document: it is empty \(no Fleet, Equipment or time-series element, not even an empty list\)$/],
    ['a JSON array of numbers', '[1,2,3]', /JSON array/],
    ['JSON null', 'null', /neither JSON nor XML|expected an object/],
    ['unrelated XML', '<rss><channel/></rss>', /not an ISO 15143-3/],
    ['XML with a prototype-polluting name', '<Fleet><__proto__><a>1</a></__proto__></Fleet>', /invalid XML/],
  ])('refuses %s', (_what, body, reason) => {
    expect(reject(body)).toMatch(reason);
  });

  it('refuses oversize bodies before parsing them', () => {
    expect(reject(fixture('iso-fleet.xml'), { maxBytes: 1000 })).toMatch(/over the 1000-byte limit/);
    expect(reject('{"Equipment":[]}'.padEnd(3000, ' '), { maxBytes: 2000 })).toMatch(/3000 bytes, over the 2000-byte limit/);
  });

  it('never throws, whatever the input (property)', () => {
    const opts = { source: SOURCE, receivedAt: RECEIVED };
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ Equipment: v })), fc.jsonValue().map((v) => JSON.stringify({ Fleet: { Equipment: [{ EquipmentHeader: v, Location: v, CumulativeOperatingHours: v }] } }))), (body) => {
        const r = parseAempDocument(body, opts);
        expect(typeof r.ok).toBe('boolean');
        if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on any truncation of a real fixture (property)', () => {
    const opts = { source: SOURCE, receivedAt: RECEIVED };
    const bodies = [fixture('trackunit-fleet-page1.xml').toString('utf8'), fixture('cantrack-fleet.json').toString('utf8')];
    fc.assert(
      fc.property(fc.constantFrom(...bodies), fc.nat(), (body, cut) => {
        const r = parseAempDocument(body.slice(0, cut % body.length), opts);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 200 },
    );
  });
});

describe('createAempEquipmentDecoder', () => {
  const decode = createAempEquipmentDecoder();
  const message = (payload: string | Uint8Array) => ({ source: SOURCE, channel: 'Fleet/1', payload, receivedAt: RECEIVED });

  it.each([
    'iso-fleet.xml',
    'trackunit-fleet-lowercase.json',
    'trackunit-fleet-page1.xml',
    'takeuchi-fleet.xml',
    'mix-fleet.xml',
    'cantrack-fleet.json',
    'cat-fleet.xml',
    'imperial-units.json',
    'samples/aemp-fleet-page2.json',
  ])('replays every equipment element of %s, serialised as JSON, to the same events', (name) => {
    for (const eq of fleet(name).equipment) {
      const result = decode(message(JSON.stringify(eq.raw)));
      expect(result).toEqual({ ok: true, events: eq.events });
    }
  });

  it('refuses an element with readings but no identifier, naming what was missing', () => {
    const result = decode(message(JSON.stringify({ EquipmentHeader: { PIN: 'missing' }, CumulativeOperatingHours: { datetime: '2025-03-01T00:00:00Z', Hour: 5 } })));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/no usable identifier.*PIN is the placeholder "missing"/);
  });

  it('refuses an element none of whose blocks can be used (a set-aside block replayed before the fix), naming block, field and value; a fix at 0,0 is no such block', () => {
    const header = { EquipmentHeader: { PIN: 'PIN-1' } };
    const result = decode(message(JSON.stringify({ ...header, Locations: { Location: [{ datetime: '2025-03-01T00:00:00Z', Latitude: 'abc', Longitude: 7 }] } })));
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('Location block: Location: latitude "abc" is not a number; position skipped') as unknown });
    // The feed's "no fix": nothing a fix of assetbridge would make usable, so nothing to keep for a replay.
    expect(decode(message(JSON.stringify({ ...header, Location: { datetime: '2025-03-01T00:00:00Z', Latitude: 0, Longitude: 0 } })))).toEqual({ ok: true, events: [] });
    // One usable block: its reading is taken (the fleet pull sets the other aside before it gets here).
    const both = decode(message(JSON.stringify({ ...header, Distance: { datetime: '2025-03-01T00:00:00Z', OdometerUnits: 'furlong', Odometer: 3 }, CumulativeOperatingHours: { datetime: '2025-03-01T00:00:00Z', Hour: 5 } })));
    expect(both).toMatchObject({ ok: true, events: [{ kind: 'meter', operatingHours: 5 }] });
  });

  it('passes parser rejections through as the reason', () => {
    expect(decode(message('{"EquipmentHeader": {'))).toEqual({ ok: false, reason: expect.stringMatching(/invalid JSON/) as unknown });
    expect(decode(message('{"Links": []}'))).toEqual({ ok: false, reason: 'payload holds no Equipment element' });
  });

  it('decodes an element whose blocks are lists (a time-series page re-submitted with its identity)', () => {
    const payload = JSON.stringify({
      EquipmentHeader: { PIN: 'P1' },
      CumulativeOperatingHours: [
        { datetime: '2025-03-02T00:00:00Z', Hour: 11 },
        { datetime: '2025-03-01T00:00:00Z', Hour: 10 },
      ],
    });
    const ids: SourceIdentifier[] = [{ type: 'pin', value: 'P1' }];
    const result = decode(message(payload));
    expect(result.ok && canonical(result.events)).toEqual([
      { kind: 'meter', ...base(ids, T('2025-03-01T00:00:00Z')), operatingHours: 10 },
      { kind: 'meter', ...base(ids, T('2025-03-02T00:00:00Z')), operatingHours: 11 },
    ]);
  });

  it('an element with list blocks (two FaultCodes) keeps its extension blocks, as the fleet parse does', () => {
    const xml = `<Fleet><Equipment><EquipmentHeader><PIN>P1</PIN></EquipmentHeader>
      <CumulativeOperatingHours datetime="2025-03-04T05:00:00Z"><Hour>123.5</Hour></CumulativeOperatingHours>
      <BatteryPotential datetime="2025-03-04T05:00:00Z">13.3</BatteryPotential>
      <FaultCode datetime="2025-03-04T04:00:00Z"><CodeIdentifier>F1</CodeIdentifier></FaultCode>
      <FaultCode datetime="2025-03-04T04:30:00Z"><CodeIdentifier>F2</CodeIdentifier></FaultCode>
    </Equipment></Fleet>`;
    const parsed = parseAempDocument(xml, { source: SOURCE, receivedAt: RECEIVED });
    if (!parsed.ok || parsed.document.kind !== 'fleet') throw new Error(JSON.stringify(parsed));
    const eq = equipmentAt(parsed.document, 0);
    expect(eq.events.map((e) => e.kind)).toEqual(['alert', 'alert', 'meter', 'sensor']);
    expect(decode(message(JSON.stringify(eq.raw)))).toEqual({ ok: true, events: eq.events });
  });

  it('a header-only element decodes to no events', () => {
    expect(decode(message(JSON.stringify({ EquipmentHeader: { PIN: 'X1' } })))).toEqual({ ok: true, events: [] });
  });

  it('is deterministic', () => {
    const payload = JSON.stringify(equipmentAt(fleet('trackunit-fleet-page1.xml'), 0).raw);
    expect(decode(message(payload))).toEqual(decode(message(new TextEncoder().encode(payload))));
  });
});
