/**
 * Parser throughput for `npm run bench`: builds a large synthetic fleet document (every equipment
 * with header, Trackunit metadata and the common blocks) and times {@link parseAempDocument} on it.
 * @module
 */
import { parseAempDocument } from './aemp-parser.js';

export interface ParserBenchOptions {
  /** Equipment elements in the synthetic document. */
  readonly equipmentCount: number;
  readonly format: 'json' | 'xml';
  /** Keep parsing until this much time was measured, ms. @default 500 */
  readonly minDurationMs?: number;
}

export interface ParserBenchResult {
  /** Equipment elements parsed per second. */
  readonly elementsPerSecond: number;
  readonly eventsPerSecond: number;
  /** Size of the document, bytes. */
  readonly bytes: number;
  /** Timed parses of the whole document. */
  readonly iterations: number;
}

const BASE_TIME = Date.UTC(2025, 2, 3, 12);
const iso = (offsetS: number): string => new Date(BASE_TIME + offsetS * 1000).toISOString().replace('.000Z', 'Z');

interface Machine {
  readonly pin: string;
  readonly serial: string;
  readonly machineId: string;
  readonly hours: string;
  readonly idle: string;
  readonly fuel: string;
  readonly km: string;
  readonly lat: string;
  readonly lng: string;
  readonly t: number;
}

function machine(i: number): Machine {
  return {
    pin: `PIN${String(i).padStart(14, '0')}`,
    serial: String(3_000_000 + i),
    machineId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    hours: (1000 + (i % 5000) + 0.25).toFixed(2),
    idle: (300 + (i % 900) + 0.5).toFixed(2),
    fuel: (20_000 + i * 3.5).toFixed(1),
    km: (500 + (i % 7000)).toFixed(1),
    lat: (48 + (i % 1000) / 1000).toFixed(6),
    lng: (9 + (i % 700) / 1000).toFixed(6),
    t: i % 3600,
  };
}

/** A fleet document with `count` equipment elements, in the standard JSON or XML shape. */
export function buildSyntheticFleet(count: number, format: 'json' | 'xml'): string {
  const machines = Array.from({ length: count }, (_, i) => machine(i));
  if (format === 'json') {
    return JSON.stringify({
      version: '20190501',
      snapshotTime: iso(7200),
      Links: [
        { rel: 'self', href: 'https://bench.example/Fleet/1' },
        { rel: 'last', href: 'https://bench.example/Fleet/1' },
      ],
      Equipment: machines.map((m) => ({
        EquipmentHeader: { OEMName: 'Bench', Model: 'B1', EquipmentID: `Bench ${m.serial}`, SerialNumber: m.pin, PIN: m.pin },
        Metadata: { TelematicSerialNumber: m.serial, MachineId: m.machineId, UnitId: m.serial, ExternalReferenceNumber: `ERP-${m.serial}` },
        Location: { datetime: iso(m.t + 60), Latitude: Number(m.lat), Longitude: Number(m.lng), Altitude: 120, AltitudeUnits: 'metre' },
        CumulativeOperatingHours: { datetime: iso(m.t), Hour: Number(m.hours) },
        CumulativeIdleHours: { datetime: iso(m.t), Hour: Number(m.idle) },
        FuelUsed: { datetime: iso(m.t), FuelUnits: 'litre', FuelConsumed: Number(m.fuel) },
        Distance: { datetime: iso(m.t), OdometerUnits: 'kilometre', Odometer: Number(m.km) },
        FuelRemaining: { datetime: iso(m.t + 5), Percent: 55.5, FuelTankCapacityUnits: 'litre', FuelTankCapacity: 400 },
        EngineStatus: { datetime: iso(m.t + 10), EngineNumber: '', Running: false },
      })),
    });
  }
  const parts = [
    `<?xml version="1.0" encoding="UTF-8"?>\n<Fleet xmlns="http://standards.iso.org/iso/15143/-3" version="20190501" snapshotTime="${iso(7200)}">`,
    '<Links><rel>self</rel><href>https://bench.example/Fleet/1</href></Links><Links><rel>last</rel><href>https://bench.example/Fleet/1</href></Links>',
  ];
  for (const m of machines) {
    parts.push(
      `<Equipment><EquipmentHeader><OEMName>Bench</OEMName><Model>B1</Model><EquipmentID>Bench ${m.serial}</EquipmentID><SerialNumber>${m.pin}</SerialNumber><PIN>${m.pin}</PIN></EquipmentHeader>` +
        `<Metadata><TelematicSerialNumber>${m.serial}</TelematicSerialNumber><MachineId>${m.machineId}</MachineId><UnitId>${m.serial}</UnitId><ExternalReferenceNumber>ERP-${m.serial}</ExternalReferenceNumber></Metadata>` +
        `<Location datetime="${iso(m.t + 60)}"><Latitude>${m.lat}</Latitude><Longitude>${m.lng}</Longitude><Altitude>120.00</Altitude><AltitudeUnits>metre</AltitudeUnits></Location>` +
        `<CumulativeOperatingHours datetime="${iso(m.t)}"><Hour>${m.hours}</Hour></CumulativeOperatingHours>` +
        `<CumulativeIdleHours datetime="${iso(m.t)}"><Hour>${m.idle}</Hour></CumulativeIdleHours>` +
        `<FuelUsed datetime="${iso(m.t)}"><FuelUnits>litre</FuelUnits><FuelConsumed>${m.fuel}</FuelConsumed></FuelUsed>` +
        `<Distance datetime="${iso(m.t)}"><OdometerUnits>kilometre</OdometerUnits><Odometer>${m.km}</Odometer></Distance>` +
        `<FuelRemaining datetime="${iso(m.t + 5)}"><Percent>55.50</Percent><FuelTankCapacityUnits>litre</FuelTankCapacityUnits><FuelTankCapacity>400</FuelTankCapacity></FuelRemaining>` +
        `<EngineStatus datetime="${iso(m.t + 10)}"><EngineNumber/><Running>false</Running></EngineStatus></Equipment>`,
    );
  }
  parts.push('</Fleet>');
  return parts.join('\n');
}

/** Times parsing a synthetic document of `equipmentCount` elements (one warm-up parse first). */
export function benchParser(options: ParserBenchOptions): ParserBenchResult {
  const body = buildSyntheticFleet(options.equipmentCount, options.format);
  const bytes = Buffer.byteLength(body, 'utf8');
  const parseOpts = { source: 'aemp:bench', receivedAt: BASE_TIME + 86_400_000, maxBytes: Math.max(bytes, 1) };
  const once = (): number => {
    const result = parseAempDocument(body, parseOpts);
    if (!result.ok || result.document.kind !== 'fleet') throw new Error(`benchmark document was not parsed as a fleet: ${result.ok ? result.document.kind : result.reason}`);
    return result.document.equipment.reduce((n, eq) => n + eq.events.length, 0);
  };
  const eventsPerDocument = once();
  const minDurationMs = options.minDurationMs ?? 500;
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    once();
    iterations++;
    elapsed = performance.now() - start;
  } while (elapsed < minDurationMs);
  const seconds = Math.max(elapsed, 1e-3) / 1000;
  return {
    elementsPerSecond: (options.equipmentCount * iterations) / seconds,
    eventsPerSecond: (eventsPerDocument * iterations) / seconds,
    bytes,
    iterations,
  };
}
