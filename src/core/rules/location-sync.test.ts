import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../model/assets.js';
import type { DeliveryIntent } from '../model/delivery.js';
import type { PositionEvent } from '../model/events.js';
import { createLocationSyncRule, roundCoordinate, type LocationSyncState } from './location-sync.js';
import { flushRules, simulateRules } from './simulate.js';
import { ZoneIndex, type Zone } from './zones/index.js';

const asset: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} };
const ctx = { asset, destination: 'erp', now: 0 };
const T0 = Date.UTC(2026, 9, 1, 8);

function pos(sec: number, lat: number, lng: number, extra: Partial<PositionEvent> = {}): PositionEvent {
  return { kind: 'position', source: 'test', ids: [{ type: 'tag', value: 't1' }], eventTime: T0 + sec * 1000, receivedAt: T0 + sec * 1000, lat, lng, ...extra };
}

/** Longitude `m` metres east of 13.4 at latitude 52.5. */
const eastM = (m: number) => 13.4 + m / (111_320 * Math.cos((52.5 * Math.PI) / 180));

describe('location sync without zones', () => {
  const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 3_600_000 });
  function run(events: PositionEvent[], start?: LocationSyncState) {
    let state = start;
    const out: DeliveryIntent[] = [];
    for (const e of events) {
      const r = rule.apply(state, e, ctx);
      state = r.state;
      out.push(...r.deliveries);
    }
    return { out, state };
  }

  it('syncs the first fix, then on movement, zone change and heartbeat', () => {
    const { out } = run([
      pos(0, 52.5, 13.4, { zone: 'A' }),
      pos(60, 52.5, eastM(50), { zone: 'A' }), // 50 m: no
      pos(120, 52.5, eastM(150), { zone: 'A' }), // 150 m from the synced fix: yes
      pos(180, 52.5, eastM(150), { zone: 'B' }), // zone change: yes
      pos(3780, 52.5, eastM(150), { zone: 'B' }), // an hour later: heartbeat
    ]);
    expect(out.map((d) => [d.eventTime - T0, d.payload.warehouseLocation])).toEqual([
      [0, 'A'],
      [120_000, 'A'],
      [180_000, 'B'],
      [3_780_000, 'B'],
    ]);
    expect(out[0]).toEqual({
      destination: 'erp',
      operation: 'location.update',
      kind: 'state',
      businessKey: 'EQ-1',
      erpAssetId: 'EQ-1',
      eventTime: T0,
      payload: { erpAssetId: 'EQ-1', erpModule: 'maintenance', warehouseLocation: 'A', coordinates: { lat: 52.5, lng: 13.4 }, lastSeen: new Date(T0).toISOString() },
    });
  });

  it('ignores late and duplicate positions', () => {
    const first = run([pos(100, 52.5, 13.4)]);
    const late = run([pos(50, 52.5, eastM(5000)), pos(100, 52.5, eastM(5000))], first.state);
    expect(late.out).toEqual([]);
    expect(late.state).toBe(first.state);
  });

  it('reads state stored before reordering existed', () => {
    const legacy: LocationSyncState = { last: { lat: 52.5, lng: 13.4, eventTime: T0 + 100_000 }, synced: { lat: 52.5, lng: 13.4, eventTime: T0 + 100_000 } };
    expect(run([pos(50, 52.5, eastM(5000))], legacy).out).toEqual([]);
    expect(run([pos(150, 52.5, eastM(5000))], legacy).out).toHaveLength(1);
  });
});

describe('location sync for some assets only', () => {
  it('leaves assets outside appliesTo alone: no state, no deliveries', () => {
    const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 3_600_000, appliesTo: { erpModules: ['maintenance'] } });
    const pallet = { asset: { erpAssetId: 'PAL-1', erpModule: 'inventory', attributes: {} }, destination: 'erp', now: 0 };
    expect(rule.apply(undefined, pos(0, 52.5, 13.4), pallet)).toEqual({ state: undefined, deliveries: [] });
    expect(rule.apply(undefined, pos(0, 52.5, 13.4), ctx).deliveries).toHaveLength(1);
  });
});

describe('location sync with zones', () => {
  const yard: Zone = { name: 'yard', locationCode: '1000/0001', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } };
  const zones = { index: new ZoneIndex([yard], { hysteresisM: 25 }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 100 };

  it('reports the zone’s ERP location code once the asset has dwelt there', () => {
    const rule = createLocationSyncRule({ minDistanceM: 10_000, heartbeatMs: 86_400_000, zones });
    const events = [pos(0, 52.5, eastM(500)), pos(10, 52.5, eastM(150)), pos(20, 52.5, eastM(100)), pos(45, 52.5, eastM(100))];
    const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })));
    const ds = r.perStep.flat();
    expect(ds.map((d) => [d.eventTime - T0, d.payload.warehouseLocation, d.payload.zone])).toEqual([
      [0, null, undefined],
      [45_000, '1000/0001', 'yard'],
    ]);
  });

  it('border jitter and inaccurate fixes do not flap the location', () => {
    const rule = createLocationSyncRule({ minDistanceM: 10_000, heartbeatMs: 86_400_000, zones });
    const events = [pos(0, 52.5, eastM(100)), pos(40, 52.5, eastM(100))];
    for (let i = 0; i < 50; i++) events.push(pos(50 + i * 10, 52.5, eastM(i % 2 ? 190 : 215)));
    events.push(pos(600, 52.5, eastM(5000), { accuracyM: 2000 }), pos(700, 52.5, eastM(5000), { accuracyM: 2000 }));
    const ds = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' }))).perStep.flat();
    expect(ds.map((d) => d.payload.warehouseLocation)).toEqual([null, '1000/0001']);
  });

  it('an inaccurate fix does not move the synced position either, nor stand in for the heartbeat', () => {
    const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 600_000, zones });
    const events = [pos(0, 52.5, 13.4), pos(40, 52.5, 13.4), pos(100, 52.5, eastM(5000), { accuracyM: 2000 }), pos(700, 52.5, eastM(3000), { accuracyM: 900 }), pos(800, 52.5, eastM(400))];
    const ds = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' }))).perStep.flat();
    // In the yard (entered at 40 s), then two fixes kilometres off with accuracy worse than 100 m:
    // nothing sent; the next good fix is. Nothing placed the asset for longer than the exit dwell
    // before it (the inaccurate fixes place nothing), so it has left the yard at once.
    expect(ds.map((d) => [(d.eventTime - T0) / 1000, d.payload.warehouseLocation])).toEqual([
      [0, null],
      [40, '1000/0001'],
      [800, null],
    ]);
  });

  it('an inaccurate fix outside every zone does not send the zone its source reported, nor its coordinates', () => {
    const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 86_400_000, zones });
    const depot = (sec: number) => pos(sec, 52.5, eastM(2000), { zone: 'DEPOT', accuracyM: 5 });
    const events = [
      depot(0),
      pos(60, 52.5, eastM(5000), { zone: 'ROAD', accuracyM: 2000 }), // the tracker's own geofence, on a cell-tower fix 3 km off
      pos(90, 52.5, eastM(5000), { accuracyM: 2000 }), // no zone at all: the location is not cleared either
      depot(120),
      pos(180, 52.5, eastM(3000), { zone: 'ROAD', accuracyM: 5 }), // an accurate fix on the road does change it
    ];
    const ds = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' }))).perStep;
    expect(ds.map((step) => step.map((d) => [d.payload.warehouseLocation, d.payload.coordinates]))).toEqual([
      [['DEPOT', { lat: 52.5, lng: roundCoordinate(eastM(2000)) }]],
      [],
      [],
      [],
      [['ROAD', { lat: 52.5, lng: roundCoordinate(eastM(3000)) }]],
    ]);
    // An asset's first fix is sent however inaccurate: there is no location to keep.
    const first = simulateRules([rule], [{ event: pos(0, 52.5, eastM(5000), { zone: 'ROAD', accuracyM: 2000 }), asset, destination: 'erp' }]).perStep.flat();
    expect(first.map((d) => d.payload.warehouseLocation)).toEqual(['ROAD']);
  });

  it('inaccurate fixes change nothing the ERP is sent after the first fix: the same deliveries as without them (property)', () => {
    const fix = fc.record({
      metres: fc.constantFrom(-3000, -400, 0, 150, 215, 600, 5000),
      zone: fc.constantFrom(undefined, 'ROAD', 'DEPOT'),
      accuracyM: fc.constantFrom(undefined, 5, 500),
    });
    fc.assert(
      fc.property(fc.array(fix, { minLength: 1, maxLength: 30 }), fc.constantFrom(0, 60_000), (fixes, allowedLatenessMs) => {
        const rule = createLocationSyncRule({ minDistanceM: 150, heartbeatMs: 120_000, zones, allowedLatenessMs });
        const events = fixes.map((f, i) => pos(i * 10, 52.5, eastM(f.metres), { ...(f.zone ? { zone: f.zone } : {}), ...(f.accuracyM !== undefined ? { accuracyM: i === 0 ? 5 : f.accuracyM } : {}) }));
        const accurate = events.filter((e) => e.accuracyM === undefined || e.accuracyM <= zones.maxAccuracyM);
        expect(runAll(rule, events)).toEqual(runAll(rule, accurate));
      }),
      { numRuns: 300 },
    );
  });

  it('late positions never produce a false exit', () => {
    const rule = createLocationSyncRule({ minDistanceM: 10_000, heartbeatMs: 86_400_000, zones });
    const inYard = [0, 40, 100, 200, 300].map((s) => pos(s, 52.5, 13.4));
    // Positions from before the asset arrived, delivered late (e.g. a gateway's backlog).
    const late = [10, 20, 30, 50, 60, 70, 80, 90].map((s) => pos(s, 52.5, eastM(3000)));
    const ds = simulateRules([rule], [...inYard, ...late].map((event) => ({ event, asset, destination: 'erp' }))).perStep.flat();
    expect(ds.map((d) => d.payload.warehouseLocation)).toEqual([null, '1000/0001']);
  });

  it('the same positions in any order within the allowed lateness give the same deliveries', () => {
    const rule = createLocationSyncRule({ minDistanceM: 150, heartbeatMs: 600_000, zones, allowedLatenessMs: 60_000 });
    const offsets = fc.array(fc.integer({ min: -400, max: 600 }), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(offsets, fc.array(fc.integer({ min: 0, max: 59_999 }), { minLength: 40, maxLength: 40 }), (metres, delays) => {
        // One fix every 10 s moving along a line through the yard.
        const events = metres.map((m, i) => pos(i * 10, 52.5, eastM(m)));
        const inOrder = runAll(rule, events);
        // Arrival = event time + a delay below the lateness: a bounded shuffle.
        const shuffled = events
          .map((e, i) => ({ e, at: e.eventTime + (delays[i] ?? 0), i }))
          .sort((a, b) => a.at - b.at || a.i - b.i)
          .map((x) => x.e);
        expect(runAll(rule, shuffled)).toEqual(inOrder);
      }),
      { numRuns: 200 },
    );
  });
});

describe('location sync of an asset that falls silent (idle watermarks)', () => {
  const yard: Zone = { name: 'yard', locationCode: '1000/0001', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } };
  const zones = { index: new ZoneIndex([yard], { hysteresisM: 25 }), dwell: { enterDwellMs: 300_000, exitDwellMs: 300_000 }, maxAccuracyM: 100 };
  const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 86_400_000, zones, allowedLatenessMs: 30_000 });
  const sent = (ds: readonly DeliveryIntent[]) => ds.map((d) => [d.payload.warehouseLocation, (d.payload.lastSeen as string).slice(11, 19)]);

  it('confirms an entry or exit whose dwell has run its course by the watermark, as if the asset were seen where it parked', () => {
    let state: LocationSyncState | undefined;
    const feed = (e: PositionEvent) => (state = rule.apply(state, e, ctx).state);
    feed(pos(0, 52.5, eastM(2000)));
    feed(pos(600, 52.5, eastM(50))); // drives into the yard at 08:10 and parks: no more fixes
    expect(rule.holds(state)).toBe(true);

    // A minute later: the fix is released, but five minutes inside have not passed: it moved, but
    // in the yard, placed in no zone (its enter dwell running), it sends nothing.
    let r = rule.flush(state, ctx, T0 + 660_000);
    expect(sent(r.deliveries)).toEqual([]);
    state = r.state;
    expect(rule.holds(state)).toBe(true); // the entry still waits for its dwell
    // Ten minutes later: the entry counts, dated to the real sighting.
    r = rule.flush(state, ctx, T0 + 1_260_000);
    expect(sent(r.deliveries)).toEqual([['1000/0001', '08:10:00']]);
    state = r.state;
    expect(rule.holds(state)).toBe(false);
    expect(rule.flush(state, ctx, T0 + 2_000_000)).toEqual({ state, deliveries: [] });

    // It leaves and parks beyond the band: the exit counts after its dwell, without a further fix.
    feed(pos(3000, 52.5, eastM(1000)));
    r = rule.flush(state, ctx, T0 + 3_600_000);
    expect(sent(r.deliveries)).toEqual([[null, '08:50:00']]);
    expect(rule.holds(r.state)).toBe(false);
  });

  it('leaves an asset without location state without one (a watermark for another rule\'s sake)', () => {
    expect(rule.flush(undefined, ctx, T0)).toEqual({ state: undefined, deliveries: [] });
  });

  it('a fix inside for less than the dwell, then away, never counts as an entry', () => {
    let state: LocationSyncState | undefined;
    for (const e of [pos(0, 52.5, eastM(2000)), pos(600, 52.5, eastM(50)), pos(660, 52.5, eastM(2000))]) state = rule.apply(state, e, ctx).state;
    const r = rule.flush(state, ctx, T0 + 3_600_000);
    expect(sent(r.deliveries).map(([code]) => code)).not.toContain('1000/0001');
  });
});

describe('location sync state, as stored', () => {
  const yard: Zone = { name: 'yard', locationCode: '1000/0001', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } };
  const zones = { index: new ZoneIndex([yard], { hysteresisM: 25 }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 100 };

  // States in memory carry absent fields as `undefined` (one object shape); stored ones, and those
  // written before, leave them out. Both must decide alike, and store alike.
  it('decides the same on a state read back from its JSON before every event, and stores the same JSON (property)', () => {
    const fix = fc.record({ dt: fc.integer({ min: 0, max: 40 }), m: fc.integer({ min: -400, max: 600 }), bad: fc.boolean(), zone: fc.constantFrom(undefined, 'A', 'B'), idle: fc.boolean() });
    fc.assert(
      fc.property(fc.array(fix, { minLength: 1, maxLength: 30 }), fc.constantFrom(0, 30_000), (fixes, allowedLatenessMs) => {
        const rule = createLocationSyncRule({ minDistanceM: 150, heartbeatMs: 600_000, zones, allowedLatenessMs });
        const run = (reload: boolean) => {
          let state: LocationSyncState | undefined;
          const stored: (string | undefined)[] = [];
          const sent: DeliveryIntent[] = [];
          let sec = 0;
          for (const f of fixes) {
            sec += f.dt * 10 - 100; // mostly forward, sometimes back (late or reordered)
            const r = rule.apply(reload && state ? (JSON.parse(JSON.stringify(state)) as LocationSyncState) : state, pos(sec, 52.5, eastM(f.m), { accuracyM: f.bad ? 500 : 5, ...(f.zone ? { zone: f.zone } : {}) }), ctx);
            sent.push(...r.deliveries);
            state = r.state;
            if (f.idle) {
              const w = rule.flush(reload && state ? (JSON.parse(JSON.stringify(state)) as LocationSyncState) : state, ctx, T0 + (sec + 400) * 1000);
              sent.push(...w.deliveries);
              state = w.state;
            }
            stored.push(JSON.stringify(state));
          }
          return { sent, stored };
        };
        expect(run(true)).toEqual(run(false));
      }),
      { numRuns: 200 },
    );
  });
});

function runAll(rule: ReturnType<typeof createLocationSyncRule>, events: PositionEvent[]): DeliveryIntent[] {
  const r = simulateRules([rule], events.map((event) => ({ event, asset, destination: 'erp' })));
  const f = flushRules([rule], r.states, new Map([[asset.erpAssetId, { asset, destination: 'erp' }]]), 0);
  return [...r.perStep.flat(), ...f.deliveries];
}

describe('location sync: a resent fix (MQTT redelivery) is a duplicate, not late', () => {
  const yard: Zone = { name: 'yard', locationCode: '1000/0001', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } };
  const zones = { index: new ZoneIndex([yard], { hysteresisM: 25 }), dwell: { enterDwellMs: 300_000, exitDwellMs: 300_000 }, maxAccuracyM: 100 };

  for (const allowedLatenessMs of [0, 30_000]) {
    it(`the newest released fix sent again counts as nothing; a different fix at or before it is late (lateness ${allowedLatenessMs} ms)`, () => {
      const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 3_600_000, allowedLatenessMs });
      let state = rule.apply(undefined, pos(0, 52.5, eastM(0), { zone: 'A' }), ctx).state;
      state = rule.apply(state, pos(60, 52.5, eastM(500), { zone: 'B' }), ctx).state;
      if (allowedLatenessMs > 0) state = rule.apply(state, pos(120, 52.5, eastM(900), { zone: 'B' }), ctx).state; // releases 60
      const redelivered = rule.apply(state, pos(60, 52.5, eastM(500), { zone: 'B' }), ctx);
      expect(redelivered).toEqual({ state, deliveries: [], duplicate: true });
      // Not the same fix: at the same time elsewhere, or in another reported zone, or older.
      expect(rule.apply(state, pos(60, 52.5, eastM(800), { zone: 'B' }), ctx).late).toBe(true);
      expect(rule.apply(state, pos(60, 52.501, eastM(500), { zone: 'B' }), ctx).late).toBe(true); // only the latitude differs
      expect(rule.apply(state, pos(60, 52.5, eastM(500), { zone: 'C' }), ctx).late).toBe(true);
      expect(rule.apply(state, pos(0, 52.5, eastM(0), { zone: 'A' }), ctx).late).toBe(true);
    });
  }

  // Kills: replacesInaccurate taking an inaccurate fix too (only an accurate one replaces an inaccurate one of its time).
  it('an inaccurate fix at the time of the inaccurate one decided on, elsewhere, is late: it replaces nothing', () => {
    const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 3_600_000, zones });
    const first = rule.apply(undefined, pos(0, 52.5, eastM(2000), { accuracyM: 500 }), ctx); // sent: nothing to keep
    expect(first.deliveries).toHaveLength(1);
    const other = rule.apply(first.state, pos(0, 52.5, eastM(900), { accuracyM: 800 }), ctx);
    expect(other).toEqual({ state: first.state, deliveries: [], late: true });
  });

  it('after an idle watermark decided it (a broker down longer than rules.idleAfter), zones configured', () => {
    const rule = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 3_600_000, zones, allowedLatenessMs: 30_000 });
    let state = rule.apply(undefined, pos(0, 52.5, eastM(2000)), ctx).state;
    state = rule.apply(state, pos(600, 52.5, eastM(50), { zone: 'GATE' }), ctx).state; // parks in the yard
    state = rule.flush(state, ctx, T0 + 1_260_000).state; // the fix is final and the entry counts
    expect(state.zones?.yard?.phase).toBe('inside');
    const again = rule.apply(state, pos(600, 52.5, eastM(50), { zone: 'GATE' }), ctx);
    expect(again.late).toBeUndefined();
    expect(again.deliveries).toEqual([]);
    expect(again.state).toBe(state);
    expect(rule.apply(state, pos(600, 52.5, eastM(60), { zone: 'GATE' }), ctx).late).toBe(true);
    expect(rule.apply(state, pos(600, 52.5, eastM(50), { zone: 'GATE', accuracyM: 500 }), ctx).late).toBe(true); // reported inaccurate this time
  });
});

describe('location sync after a zone is renamed in the config (same place, same location code)', () => {
  const yard = (name: string): Zone => ({ name, locationCode: '1000/0001', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } });
  const site: Zone = { name: 'site', locationCode: '1000', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 2000 } };
  const tracking = (zs: Zone[]) => ({ index: new ZoneIndex(zs, { hysteresisM: 25 }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 0 });
  const sent = (ds: readonly DeliveryIntent[]) => ds.map((d) => [(d.payload.lastSeen as string).slice(11, 19), d.payload.warehouseLocation, d.payload.zone]);

  for (const [what, before, after] of [
    ['alone', [yard('yard')], [yard('yard-north')]],
    ['inside a larger zone', [site, yard('yard')], [site, yard('yard-north')]],
  ] as const)
    it(`a machine parked in it keeps the location sent last until it leaves the old name, with no null in between (${what})`, () => {
      let state: LocationSyncState | undefined;
      const feed = (rule: ReturnType<typeof createLocationSyncRule>, events: PositionEvent[]) =>
        events.flatMap((e) => {
          const r = rule.apply(state, e, ctx);
          state = r.state;
          return r.deliveries;
        });
      const old = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 3_600_000, zones: tracking([...before]) });
      expect(sent(feed(old, [pos(0, 52.5, 13.4), pos(40, 52.5, 13.4)])).at(-1)).toEqual(['08:00:40', '1000/0001', 'yard']);
      state = JSON.parse(JSON.stringify(state)) as LocationSyncState; // stored, then the service restarts with the renamed zone
      const renamed = createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 3_600_000, zones: tracking([...after]) });
      // The first fix after the restart used to send warehouseLocation null (the old name no longer
      // ranked), the renamed zone's code after its enter dwell. The code never changes: nothing to send.
      expect(sent(feed(renamed, [pos(600, 52.5, 13.4), pos(630, 52.5, 13.4), pos(660, 52.5, 13.4), pos(700, 52.5, 13.4)]))).toEqual([]);
      expect(state?.zones?.['yard-north']).toEqual({ phase: 'inside', since: T0 + 600_000 });
      expect(state?.zones?.yard).toBeUndefined(); // the old name left after the exit dwell
      expect(state?.last).toMatchObject({ zone: '1000/0001', zoneName: 'yard-north' });
      // A machine that falls silent after one fix: the watermark decides the same.
      const parked = JSON.parse(JSON.stringify(old.apply(old.apply(undefined, pos(0, 52.5, 13.4), ctx).state, pos(40, 52.5, 13.4), ctx).state)) as LocationSyncState;
      const r = renamed.apply(parked, pos(600, 52.5, 13.4), ctx);
      expect(r.deliveries).toEqual([]);
      const settled = renamed.flush(r.state, ctx, T0 + 700_000);
      expect(settled.deliveries).toEqual([]);
      expect(settled.state.last).toMatchObject({ zone: '1000/0001', zoneName: 'yard-north' });
    });
});

describe('location sync with fixes waiting for the lateness when the zones are changed', () => {
  const bay = (name: string): Zone => ({ name, locationCode: '1000/0002', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 100 } });
  const rule = (zs: Zone[]) =>
    createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 3_600_000, allowedLatenessMs: 30_000, zones: { index: new ZoneIndex(zs, { hysteresisM: 25 }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 0 } });

  it('a fix located by a zone no longer configured does not enter it: the renamed zone is entered after its own dwell, not held up by the old name', () => {
    let state: LocationSyncState | undefined;
    const feed = (r: ReturnType<typeof rule>, events: PositionEvent[]) =>
      events.flatMap((e) => {
        const x = r.apply(state, e, ctx);
        state = x.state;
        return x.deliveries;
      });
    const sent = (ds: readonly DeliveryIntent[]) => ds.map((d) => [(d.eventTime - T0) / 1000, d.payload.warehouseLocation, d.payload.zone]);
    // Driving in: outside, then in the bay from 0 s; the fixes of 20-40 s still wait for the lateness when the service stops.
    const old = rule([bay('bay')]);
    expect(sent(feed(old, [pos(-100, 52.5, eastM(2000)), pos(-60, 52.5, eastM(2000)), pos(0, 52.5, 13.4), pos(10, 52.5, 13.4), pos(20, 52.5, 13.4), pos(30, 52.5, 13.4), pos(40, 52.5, 13.4)]))).toEqual([
      [-100, null, undefined],
      // 0 s, 10 s: moved 2 km, but into the bay, its enter dwell running: nothing sent (in no zone, its coordinates in the bay)
    ]);
    expect(state?.order?.pending.map((p) => [(p.t - T0) / 1000, p.in])).toEqual([[20, ['bay']], [30, ['bay']], [40, ['bay']]]);
    state = JSON.parse(JSON.stringify(state)) as LocationSyncState; // stored; the service restarts with the bay renamed
    const renamed = rule([bay('bay-2')]);
    const out = sent([...feed(renamed, [50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150].map((t) => pos(t, 52.5, 13.4))), ...renamed.flush(state, ctx, undefined).deliveries]);
    // The old name is never entered. The fixes of 20-40 s, located in the old bay on arrival, are
    // located again by the zones now configured: in the renamed bay, entered after its own dwell
    // (30 s from 20 s). They used to count as in no zone: the fix of 20 s was sent with no location
    // code from the middle of the renamed bay ([20, null]), then the bay's code at 80 s.
    expect(out).toEqual([[50, '1000/0002', 'bay-2']]);
    expect(Object.keys(state?.zones ?? {})).toEqual(['bay-2']);
  });

  it('a reader sighting of a zone no longer configured places nothing: its name is never sent as the location', () => {
    const dock: Zone = { name: 'dock', locationCode: '1000/0009', priority: 0, shape: { type: 'circle', lat: 52.6, lng: 13.4, radiusM: 100 } };
    const reader = (sec: number): PositionEvent => ({ kind: 'position', source: 'test', ids: [{ type: 'tag', value: 't1' }], eventTime: T0 + sec * 1000, receivedAt: T0 + sec * 1000, zone: 'bay' });
    let state: LocationSyncState | undefined;
    for (const e of [pos(0, 52.5, eastM(2000)), pos(40, 52.5, eastM(2000)), reader(50)]) state = rule([bay('bay'), dock]).apply(state, e, ctx).state;
    expect(state?.order?.pending.at(-1)).toMatchObject({ zone: 'bay', lat: undefined });
    // Stored; the service restarts with the bay taken out of the zones.
    const after = rule([dock]);
    const r = after.flush(JSON.parse(JSON.stringify(state)) as LocationSyncState, ctx, undefined);
    // It used to send warehouseLocation "bay", the zone's name, and hold the asset in the zone that was gone.
    expect(r.deliveries).toEqual([]);
    expect(r.state.zones ?? {}).toEqual({});
    expect(r.state.synced?.eventTime).toBe(T0);
    expect(r.state.synced?.zone).toBeUndefined();
  });
});

describe('location sync after a silence longer than the exit dwell', () => {
  const yard: Zone = { name: 'yard', locationCode: '1000/0001', priority: 0, shape: { type: 'circle', lat: 52.5, lng: 13.4, radiusM: 200 } };
  const zones = { index: new ZoneIndex([yard], { hysteresisM: 25 }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 100 };
  const sent = (events: PositionEvent[], lateness = 0) =>
    simulateRules([createLocationSyncRule({ minDistanceM: 100, heartbeatMs: 86_400_000, zones, allowedLatenessMs: lateness })], events.map((event) => ({ event, asset, destination: 'erp' })))
      .perStep.flat()
      .map((d) => [(d.eventTime - T0) / 1000, d.payload.warehouseLocation]);

  it('a machine seen beyond the band after it leaves the yard at once, in any arrival order within the lateness', () => {
    // Parked in the yard, off for an hour, seen 2 km away: before, it was still in the yard until a minute of such fixes.
    const events = [pos(0, 52.5, 13.4), pos(40, 52.5, 13.4), pos(3640, 52.5, eastM(2000)), pos(3650, 52.5, eastM(2010))];
    expect(sent(events)).toEqual([
      [0, null],
      [40, '1000/0001'],
      [3640, null],
    ]);
    expect(sent([events[0], events[1], events[3], events[2]] as PositionEvent[], 30_000)).toEqual(sent(events, 30_000));
    // In the band (215 m out): not left, silence or not.
    expect(sent([pos(0, 52.5, 13.4), pos(40, 52.5, 13.4), pos(3640, 52.5, eastM(215))])).toEqual([
      [0, null],
      [40, '1000/0001'],
      [3640, '1000/0001'], // moved: sent, in the yard
    ]);
    // Fixes a minute apart or closer: the exit dwell as before.
    expect(sent([pos(0, 52.5, 13.4), pos(40, 52.5, 13.4), pos(100, 52.5, eastM(2000)), pos(130, 52.5, eastM(2000)), pos(160, 52.5, eastM(2000))])).toEqual([
      [0, null],
      [40, '1000/0001'],
      // 100 s, 130 s: moved, but beyond the band of the yard it is still in (leaving): nothing sent
      [160, null],
    ]);
  });
});
