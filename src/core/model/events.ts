/**
 * The canonical event model: every source (MQTT, HTTP, ISO 15143-3 poller, ...) decodes its input
 * into these shapes, and everything after normalization works only with them.
 *
 * Times are epoch milliseconds (UTC). Units are canonical (hours, kilometres, litres, metres,
 * degrees); a source that reports other units converts at decode time and may keep the original
 * in `raw`.
 * @module
 */

/** Kinds of tracking-side identifiers the identity registry understands. */
export const IDENTIFIER_TYPES = [
  'tag',
  'tracker',
  'pin',
  'vin',
  'serial',
  'device-serial',
  'external-ref',
  'machine-id',
  'unit-id',
  /** The ERP asset id itself, for sources that already know it (ERP feedback, some HTTP senders). */
  'erp',
] as const;
export type IdentifierType = (typeof IDENTIFIER_TYPES)[number];

/** One identifier the source gave for the asset. */
export interface SourceIdentifier {
  readonly type: IdentifierType;
  readonly value: string;
}

export type Severity = 'info' | 'warning' | 'critical';

interface EventBase {
  /** Source name from config (e.g. `mqtt:fleet`, `http`, `aemp:trackunit`). */
  readonly source: string;
  /** Identifiers for the asset as the source gave them; identity resolves any one of them. */
  readonly ids: readonly SourceIdentifier[];
  /** When the fact happened at the asset (epoch ms, UTC). */
  readonly eventTime: number;
  /** When this service received it (epoch ms, UTC). */
  readonly receivedAt: number;
  /** The raw payload (decoded JSON or text) kept for audit and replay. */
  readonly raw?: unknown;
}

/**
 * A sighting: coordinates (a GPS fix), or a configured zone's name alone (a fixed RFID/BLE reader
 * knows the zone it stands in, not where in it). `lat` and `lng` come together or not at all;
 * without them `zone` is required and must name a configured zone (see {@link isZoneSighting}).
 */
export interface PositionEvent extends EventBase {
  readonly kind: 'position';
  /** Absent only in a zone sighting (then `lng` is absent too). */
  readonly lat?: number;
  readonly lng?: number;
  readonly altM?: number;
  readonly accuracyM?: number;
  /**
   * With coordinates: the zone or site the source reports (a tracker's own geofence), any name,
   * used where no configured zone holds the fix. Without: the configured zone the reader saw it in.
   */
  readonly zone?: string;
}

/** A position with coordinates. */
export type PositionFix = PositionEvent & { readonly lat: number; readonly lng: number };

/** A sighting by a fixed reader: a configured zone's name and no coordinates (validated so). */
export function isZoneSighting(event: PositionEvent): boolean {
  return event.lat === undefined && event.lng === undefined && event.zone !== undefined;
}

/** Cumulative meters; every field optional because sources report different subsets. */
export interface MeterEvent extends EventBase {
  readonly kind: 'meter';
  readonly operatingHours?: number;
  readonly idleHours?: number;
  readonly odometerKm?: number;
  readonly fuelUsedL?: number;
  /** Original unit per field where a conversion happened, e.g. `{ odometerKm: 'mile' }`. */
  readonly originalUnits?: Readonly<Record<string, string>>;
  /**
   * A declared meter replacement or reset: `operatingHours` is the new meter's baseline at
   * `eventTime`, and later readings continue from it. Sent by an operator, never by a feed; it
   * travels the durable pipeline like any reading so the meter rule sees it in order.
   */
  readonly declaredReset?: boolean;
  /** The same for the odometer: `odometerKm` is a replaced (or reset) odometer's first reading. */
  readonly odometerReset?: boolean;
}

export interface SensorValue {
  readonly value: number;
  readonly unit?: string;
}

export interface SensorEvent extends EventBase {
  readonly kind: 'sensor';
  readonly values: Readonly<Record<string, SensorValue>>;
}

export interface AlertEvent extends EventBase {
  readonly kind: 'alert';
  readonly reason: string;
  readonly severity: Severity;
  readonly code?: string;
}

export type WorkOrderStatus = 'open' | 'in-progress' | 'completed' | 'cancelled';

/**
 * Feedback from the ERP about a work order we opened (polled or pushed by webhook). It flows
 * through the same durable pipeline as telemetry, so the maintenance rule sees it in order.
 */
export interface WorkOrderStatusEvent extends EventBase {
  readonly kind: 'workorder';
  /** The business key the work order was created with (`asset|rule|occurrence`). */
  readonly businessKey: string;
  readonly erpWorkOrderId?: string;
  readonly status: WorkOrderStatus;
  /** Operating hours recorded at completion, when the ERP reports them. */
  readonly operatingHoursAtCompletion?: number;
  /** Odometer (km) recorded at completion, when the ERP reports it. */
  readonly odometerKmAtCompletion?: number;
  /**
   * Where the work order was opened, as the outbox said (its `workorder.create`'s destination)
   * when the push or poll took the update; set by them, never read from the ERP's body. The
   * maintenance rule holds feedback on a work order it has no record of to this destination when
   * it is the one the feedback came from, rather than to where the asset's deliveries go now.
   */
  readonly openedAtDestination?: string;
}

/** Source of the messages assetbridge writes to its own pipeline (never an input). */
export const ENGINE_SOURCE = 'engine';

/**
 * Internal, never an input: the engine's note that an asset has been silent for
 * `rules.idleAfter`. Rules that hold the asset's events for the allowed lateness decide what is
 * final at `eventTime` (the wall clock then), so the last reading before an asset goes quiet is not
 * held until it reports again. It travels the ingest log like any message, so a replay repeats it.
 */
export interface WatermarkEvent extends EventBase {
  readonly kind: 'watermark';
}

export type CanonicalEvent = PositionEvent | MeterEvent | SensorEvent | AlertEvent | WorkOrderStatusEvent | WatermarkEvent;
export type EventKind = CanonicalEvent['kind'];
