/**
 * Location sync with zones configured and a source that reports its own zone beside each GPS fix (a
 * tracker's geofence label, no ERP location): inside or in the band of a configured zone that label
 * is never sent, the enter dwell included; outside every configured zone it is. Both forms alike.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldLocationSync } from '../../../test/helpers/fold-location-sync.js';
import { compareOwned, type OracleStep } from '../../../test/helpers/owned-oracle.js';
import { asset, eastM, fix as lineFix, T0 } from '../../../test/helpers/yard-line.js';
import type { DeliveryIntent } from '../model/delivery.js';
import type { PositionEvent } from '../model/events.js';
import { createLocationSyncRule, type LocationSyncOptions, type LocationSyncState } from './location-sync.js';
import { ownedLocationSync } from './location-sync-owned.js';
import { ZoneIndex, type Zone } from './zones/index.js';

const ctx = { asset, destination: 'erp', now: 0 };

/** Yard A, 200 m round, as the fleet simulator's; the tracker calls it "YARD-A", the ERP "LOC-YARD-A". */
const yardA: Zone = { name: 'yard-a', locationCode: 'LOC-YARD-A', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } };
const tracking = { index: new ZoneIndex([yardA], { hysteresisM: 25 }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 100 };
const options = (allowedLatenessMs = 0): LocationSyncOptions => ({ minDistanceM: 100, heartbeatMs: 3_600_000, zones: tracking, allowedLatenessMs });

/** A fix `m` metres east of the yard's centre, `sec` seconds after T0, with the tracker's own zone. */
const fix = (sec: number, m: number, zone?: string): PositionEvent => ({ ...lineFix(sec, m), ...(zone !== undefined ? { zone } : {}) });

function run(events: readonly PositionEvent[], o = options(), start?: LocationSyncState) {
  const { out, late, state } = foldLocationSync(o, events, ctx, start);
  return { out, late: late.map((e) => (e.eventTime - T0) / 1000), state };
}
const sent = (ds: readonly DeliveryIntent[]) => ds.map((d) => [(d.eventTime - T0) / 1000, d.payload.warehouseLocation]);
/** The same events through the pure rule and its owned form: the same deliveries, late events and saved state, or a throw. */
const bothForms = (events: readonly PositionEvent[], o = options()) => {
  const pure = createLocationSyncRule(o);
  return compareOwned(pure, ownedLocationSync(pure, o), [...events.map((event): OracleStep => ({ event, asset })), { flush: undefined, asset }]);
};

/** Driving in from the road (no label) and parking in yard A, the tracker saying "YARD-A" from its first fix there. */
const driveIn = [fix(0, 3000), fix(10, 150, 'YARD-A'), fix(20, 120, 'YARD-A'), fix(30, 100, 'YARD-A'), fix(45, 100, 'YARD-A'), fix(60, 100, 'YARD-A')];

describe('location sync: a tracker\'s zone label beside a fix in a configured zone', () => {
  it('is not sent while the enter dwell runs: the asset keeps what it had, then the zone\'s code', () => {
    for (const lateness of [0, 30_000]) {
      const { out } = run(driveIn, options(lateness));
      // Was ['YARD-A' during the dwell, then 'LOC-YARD-A']: one write of a location the ERP does not have.
      expect(sent(out), `lateness ${lateness}`).toEqual([
        [0, null],
        // 10-30 s: moved 3 km, but into the yard, not entered yet: nothing sent (its coordinates
        // there would contradict the location it keeps)
        [45, 'LOC-YARD-A'], // inside since 10 s: the 30 s dwell is over
      ]);
      expect(out.map((d) => d.payload.warehouseLocation)).not.toContain('YARD-A');
      expect(bothForms(driveIn, options(lateness)).delivered.map((d) => d.payload.warehouseLocation)).toEqual([null, 'LOC-YARD-A']);
    }
  });

  it('is not sent for a fix in the hysteresis band of a zone not entered either; outside every zone and band it is', () => {
    // 210 m: in the 25 m band of the 200 m yard. 400 m: outside both.
    const events = [fix(0, 3000, 'ROAD'), fix(60, 210, 'YARD-A'), fix(120, 400, 'YARD-A'), fix(180, 3000, 'ROAD')];
    expect(sent(run(events).out)).toEqual([
      [0, 'ROAD'],
      [60, null],
      [120, 'YARD-A'], // the tracker's geofence is bigger than the configured zone: outside every configured one, its label is the location
      [180, 'ROAD'],
    ]);
    bothForms(events);
  });

  it('once the zone is left, the label of a fix outside every configured zone is sent again (the exit decided by fix or watermark alike)', () => {
    const events = [...driveIn, fix(100, 600, 'GATE'), fix(200, 600, 'GATE')];
    // 100 s: 500 m on, leaving (the exit dwell runs): still the yard's code, so its coordinates are not sent. 200 s: left, outside every zone.
    expect(sent(run(events).out)).toEqual([[0, null], [45, 'LOC-YARD-A'], [200, 'GATE']]);
    bothForms(events);
  });

  it('a fix inside the zone sent again, with the same label or another, is a duplicate, not late (the label is no part of it there)', () => {
    const events = [...driveIn, fix(60, 100, 'YARD-A'), fix(60, 100, 'OTHER'), fix(60, 100)];
    const { late, out } = run(events);
    expect(late).toEqual([]);
    expect(sent(out)).toEqual([[0, null], [45, 'LOC-YARD-A']]);
    // The owned form too: none of them is late (compareOwned compares the late events).
    expect(bothForms(events).late).toBe(0);
    // Outside every zone the label is the fix's: another label at the same time and place is another fix (late).
    expect(run([fix(0, 3000, 'ROAD'), fix(0, 3000, 'ROAD'), fix(0, 3000, 'GATE')]).late).toEqual([0]);
    expect(bothForms([fix(0, 3000, 'ROAD'), fix(0, 3000, 'ROAD'), fix(0, 3000, 'GATE')]).late).toBe(1);
  });

  it('a fix waiting in a state stored before labels inside zones were dropped: its label is not sent either', () => {
    const at = { lat: 52.5, lng: 13.4 };
    const stored: LocationSyncState = {
      last: { ...at, eventTime: T0 - 60_000 },
      synced: { ...at, eventTime: T0 - 60_000 },
      order: { released: T0 - 60_000, newest: T0, pending: [{ t: T0, ...at, zone: 'YARD-A', in: ['yard-a'] }] },
    };
    const { out } = run([fix(40, 0, 'YARD-A')], options(30_000), stored);
    expect(out.map((d) => d.payload.warehouseLocation)).not.toContain('YARD-A');
    const pure = createLocationSyncRule(options(30_000));
    const r = compareOwned(pure, ownedLocationSync(pure, options(30_000)), [{ load: asset, state: stored }, { event: fix(40, 0, 'YARD-A'), asset }, { event: fix(80, 0, 'YARD-A'), asset }, { flush: undefined, asset }]);
    expect(r.delivered.map((d) => d.payload.warehouseLocation)).toEqual(['LOC-YARD-A']);
  });

  it('property: with any labels, pure and owned forms agree, and no fix inside or near the zone sends its label', () => {
    const labels = ['YARD-A', 'GATE', 'LOC-YARD-A'] as const;
    const step = fc.record({
      dt: fc.constantFrom(0, 5, 10, 20, 30, 31, 61, 200),
      m: fc.constantFrom(0, 100, 190, 199, 205, 220, 230, 400, 3000),
      label: fc.option(fc.constantFrom(...labels), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), fc.constantFrom(0, 30_000), (steps, lateness) => {
        let t = 0;
        const events = steps.map((s) => fix((t += s.dt), s.m, s.label));
        const r = bothForms(events, options(lateness));
        // A delivery for a fix within 225 m (the zone and its band) says the zone's code or nothing.
        for (const d of r.delivered) {
          const at = d.payload.coordinates as { lat: number; lng: number };
          if (Math.abs(at.lng - 13.4) < eastM(225) - 13.4) expect([null, 'LOC-YARD-A']).toContain(d.payload.warehouseLocation);
        }
      }),
      { numRuns: 300 },
    );
  });
});
