/**
 * A round yard at 52.5 N 13.4 E and fixes on a line east of its centre, as the location-sync
 * tests of stray fixes and of zones changed over a restart drive it: each fix given by its
 * time after T0 and its distance from the centre, each update read back the same way.
 */
import fc from 'fast-check';
import type { AssetRecord } from '../../src/core/model/assets.js';
import type { DeliveryIntent } from '../../src/core/model/delivery.js';
import type { PositionEvent } from '../../src/core/model/events.js';
import { haversineM } from '../../src/core/rules/geo.js';

export const asset: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} };
export const T0 = Date.UTC(2026, 9, 1, 8);
export const CENTRE = { lat: 52.5, lng: 13.4 };
export const RADIUS_M = 200;
export const BAND_M = 25;

/** Longitude `m` metres east of 13.4 at latitude 52.5. */
export const eastM = (m: number): number => 13.4 + m / (111_320 * Math.cos((52.5 * Math.PI) / 180));

/** A fix `m` metres east of the yard's centre, `sec` seconds after T0 (received then, or at `receivedSec`). */
export const fix = (sec: number, m: number, receivedSec = sec): PositionEvent => ({
  kind: 'position',
  source: 'test',
  ids: [{ type: 'tag', value: 't1' }],
  eventTime: T0 + sec * 1000,
  receivedAt: T0 + receivedSec * 1000,
  lat: 52.5,
  lng: eastM(m),
});

/** A location update as `[seconds after T0, location code, metres from the centre to 10 m (null: no coordinates)]`. */
export const where = (d: DeliveryIntent): [number, unknown, number | null] => {
  const c = d.payload.coordinates as { lat: number; lng: number } | null;
  return [(d.eventTime - T0) / 1000, d.payload.warehouseLocation, c === null ? null : Math.round(haversineM(CENTRE, c) / 10) * 10];
};

/**
 * One step of a random walk along the line, for the property tests: seconds after the step before,
 * metres from the centre (inside, in the band, beyond it, far), how late it arrives, whether a batch
 * ends after it, and an idle watermark some seconds after it.
 */
export const walkStep = fc.record({
  dt: fc.constantFrom(5, 10, 10, 20, 30, 61),
  m: fc.constantFrom(0, 50, 150, 190, 210, 230, 400, 1000),
  delay: fc.constantFrom(0, 0, 0, 12, 25),
  cut: fc.boolean(),
  watermark: fc.option(fc.constantFrom(10, 40, 120), { nil: undefined, freq: 6 }),
});
