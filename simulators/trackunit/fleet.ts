/**
 * The simulated fleet: a deterministic list of machines (machine `i` always has the same
 * identifiers) whose readings move with the simulator's clock. Shapes follow the captured-shape
 * samples in reference/samples and reference/telematics.md §1.3, §2.4: every block carries its own
 * `datetime`; some machines have no PIN, an empty Model and the device serial as SerialNumber
 * (as Trackunit does when the machine serial is unknown); some have no external reference.
 * @module
 */

export interface SimulatedMachineHeader {
  readonly oemName: string;
  readonly model: string;
  readonly equipmentId: string;
  readonly serialNumber: string;
  readonly pin?: string;
  readonly machineId: string;
  readonly unitId: string;
  readonly telematicSerialNumber: string;
  readonly externalReferenceNumber?: string;
}

const OEMS = [
  { name: 'Volvo', prefix: 'VCE', models: ['EC220E', 'L60H', 'A30G'] },
  { name: 'Kramer', prefix: 'KRA', models: ['5065', '1445'] },
  { name: 'Wacker Neuson', prefix: 'WNC', models: ['EZ17', 'DW60'] },
  { name: 'Bell', prefix: 'AEB', models: ['B30E', 'B45E'] },
  { name: 'JCB', prefix: 'JCB', models: ['3CX', '540-140'] },
  { name: 'Manitou', prefix: 'MAN', models: ['MT 1440', 'MRT 2150'] },
] as const;

/** Epoch of the simulated meters: hours grow from here. */
const METER_EPOCH = Date.UTC(2024, 0, 1);

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0').slice(-width);
}

/** Every 7th machine lacks a PIN (device serial in SerialNumber); every 10th (offset 3) lacks an external reference. */
export function machineHeader(i: number): SimulatedMachineHeader {
  const oem = OEMS[i % OEMS.length]!;
  const model = oem.models[Math.floor(i / OEMS.length) % oem.models.length]!;
  const device = String(3_000_000 + i);
  const hasPin = i % 7 !== 5;
  const pin = `${oem.prefix}${model.replace(/[^A-Z0-9]/gi, '').toUpperCase().padEnd(5, 'X').slice(0, 5)}${String(i).padStart(9, '0')}`;
  return {
    oemName: oem.name,
    model: hasPin ? model : '',
    equipmentId: `${oem.name} ${model} #${i}`,
    serialNumber: hasPin ? pin : device,
    ...(hasPin ? { pin } : {}),
    machineId: `${hex(i, 8)}-0000-4000-8000-${hex(i * 2654435761, 12)}`,
    unitId: String(1_000_000 + i),
    telematicSerialNumber: device,
    ...(i % 10 === 3 ? {} : { externalReferenceNumber: `ERP-EQ-${String(i).padStart(6, '0')}` }),
  };
}

function iso(t: number): string {
  return new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Operating hours of machine `i` at time `t` (30 % utilisation since the meter epoch). */
export function operatingHoursAt(i: number, t: number): number {
  return Math.round((500 + (i % 4000) + Math.max(0, t - METER_EPOCH) / 3_600_000 * 0.3) * 100) / 100;
}

function positionAt(i: number, t: number): { lat: number; lng: number } {
  const drift = Math.sin(t / 86_400_000 + i) * 0.01;
  return { lat: Math.round((48 + (i % 1000) / 100 + drift) * 1e6) / 1e6, lng: Math.round((6 + (i % 997) / 80 + drift) * 1e6) / 1e6 };
}

/** Time of the machine's latest readings when the simulator's clock says `now`. */
export function readingTime(i: number, now: number, dataAgeMs: number): number {
  return now - dataAgeMs - ((i * 7919) % 3600) * 1000;
}

/** One equipment element in the canonical PascalCase JSON shape (the samples' shape). */
export function equipmentElement(i: number, now: number, opts: { dataAgeMs: number; addMetadata: boolean }): Record<string, unknown> {
  const h = machineHeader(i);
  const t = readingTime(i, now, opts.dataAgeMs);
  const meterTime = t - ((i * 31) % 600) * 1000;
  const pos = positionAt(i, t);
  const hours = operatingHoursAt(i, meterTime);
  const element: Record<string, unknown> = {
    EquipmentHeader: {
      OEMName: h.oemName,
      Model: h.model,
      EquipmentID: h.equipmentId,
      SerialNumber: h.serialNumber,
      ...(h.pin !== undefined ? { PIN: h.pin } : {}),
    },
  };
  if (opts.addMetadata) {
    element.Metadata = {
      TelematicSerialNumber: h.telematicSerialNumber,
      MachineId: h.machineId,
      UnitId: h.unitId,
      ...(h.externalReferenceNumber !== undefined ? { ExternalReferenceNumber: h.externalReferenceNumber } : {}),
    };
  }
  element.Location = { datetime: iso(t), Latitude: pos.lat, Longitude: pos.lng };
  element.CumulativeOperatingHours = { datetime: iso(meterTime), Hour: hours };
  element.CumulativeIdleHours = { datetime: iso(meterTime), Hour: Math.round(hours * 0.27 * 100) / 100 };
  if (i % 3 === 0) element.Distance = { datetime: iso(meterTime), OdometerUnits: 'kilometre', Odometer: Math.round(hours * 11.5 * 10) / 10 };
  element.EngineStatus = { datetime: iso(meterTime), EngineNumber: 'N/A', Running: false };
  return element;
}

/** Time-series element names the simulator serves, and how to make one entry of each. */
export const TIME_SERIES_ELEMENTS: Readonly<Record<string, (i: number, t: number) => Record<string, unknown>>> = {
  Locations: (i, t) => {
    const p = positionAt(i, t);
    return { datetime: iso(t), Latitude: p.lat, Longitude: p.lng };
  },
  CumulativeOperatingHours: (i, t) => ({ datetime: iso(t), Hour: operatingHoursAt(i, t) }),
  CumulativeIdleHours: (i, t) => ({ datetime: iso(t), Hour: Math.round(operatingHoursAt(i, t) * 0.27 * 100) / 100 }),
  CumulativeMovingHours: (i, t) => ({ datetime: iso(t), Hour: Math.round(operatingHoursAt(i, t) * 0.4 * 100) / 100 }),
  Distance: (i, t) => ({ datetime: iso(t), OdometerUnits: 'KILOMETRE', Odometer: Math.round(operatingHoursAt(i, t) * 11.5 * 10) / 10 }),
};

/** Index of the machine whose PIN (or, without a PIN, serial number) is `id`; -1 when none. */
export function findMachine(id: string, fleetSize: number): number {
  const wanted = id.trim().toUpperCase();
  // Identifiers embed the index, so look there first, then fall back to a scan.
  const digits = /(\d+)$/.exec(wanted)?.[1];
  const guesses = digits === undefined ? [] : [Number(digits), Number(digits) - 3_000_000];
  const matches = (i: number): boolean => {
    const h = machineHeader(i);
    return (h.pin ?? h.serialNumber).toUpperCase() === wanted;
  };
  for (const g of guesses) if (Number.isInteger(g) && g >= 0 && g < fleetSize && matches(g)) return g;
  for (let i = 0; i < fleetSize; i++) if (matches(i)) return i;
  return -1;
}
