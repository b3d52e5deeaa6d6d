/**
 * Location sync after a restart with a zone renamed or removed in the config, the asset's state
 * stored under the old zones (JSON). The coordinates sent never contradict the code sent with
 * them: while the asset is still in a zone no longer configured (its exit dwell running: no fix
 * can be inside a zone that has no shape now) its fixes send nothing, and the ERP keeps what it
 * had; a fix waiting in the reorder window over the restart is located again by the zones now
 * configured. A rename never makes a machine flap out and back in; a removed zone's machines move
 * to whatever zone (or none) their position says, after the usual dwell. Both forms alike, in any
 * batching.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { writtenPerBatch } from '../../../test/helpers/fold-location-sync.js';
import { compareOwned, type OracleStep } from '../../../test/helpers/owned-oracle.js';
import { asset, BAND_M, CENTRE, eastM, fix, RADIUS_M, T0, walkStep, where } from '../../../test/helpers/yard-line.js';
import type { DeliveryIntent } from '../model/delivery.js';
import type { PositionEvent } from '../model/events.js';
import { haversineM } from './geo.js';
import { createLocationSyncRule, type LocationSyncOptions, type LocationSyncState } from './location-sync.js';
import { ownedLocationSync } from './location-sync-owned.js';
import { simulateRules } from './simulate.js';
import { ZoneIndex, type Zone } from './zones/index.js';

const ctx = { asset, destination: 'erp', now: 0 };

const yard = (name = 'yard', locationCode = '1000/0001'): Zone => ({ name, locationCode, priority: 0, shape: { type: 'circle', ...CENTRE, radiusM: RADIUS_M } });
/** Far away from the yard (10 km east): a zone set is never empty. */
const depot: Zone = { name: 'depot', locationCode: '2000/0001', priority: 0, shape: { type: 'circle', lat: 52.5, lng: eastM(10_000), radiusM: 200 } };
const options = (zones: readonly Zone[], allowedLatenessMs = 0): LocationSyncOptions => ({
  minDistanceM: 100,
  heartbeatMs: 3_600_000,
  allowedLatenessMs,
  zones: { index: new ZoneIndex(zones, { hysteresisM: BAND_M }), dwell: { enterDwellMs: 30_000, exitDwellMs: 60_000 }, maxAccuracyM: 100 },
});

const BEFORE = [yard(), depot];
const CONFIGS = {
  removed: [depot],
  renamed: [yard('yard-north'), depot],
  'renamed and recoded': [yard('yard-north', '1000/0002'), depot],
} as const;


/** The state `events` leave under the old zones (`zones`), stored as JSON (what the restart loads). */
function storedAfter(events: readonly PositionEvent[], lateness = 0, zones: readonly Zone[] = BEFORE): { state: LocationSyncState; sent: DeliveryIntent[] } {
  const rule = createLocationSyncRule(options(zones, lateness));
  let state: LocationSyncState | undefined;
  const sent: DeliveryIntent[] = [];
  for (const e of events) {
    const r = rule.apply(state, e, ctx);
    state = r.state;
    sent.push(...r.deliveries);
  }
  return { state: JSON.parse(JSON.stringify(state)) as LocationSyncState, sent };
}

/** What the ERP is sent after the restart under `zones` for `events` in batches of `sizes` (state through JSON between them). */
function erpWrites(stored: LocationSyncState, zones: readonly Zone[], events: readonly PositionEvent[], sizes: readonly number[], lateness = 0) {
  const r = simulateRules(
    [createLocationSyncRule(options(zones, lateness))],
    events.map((event) => ({ event, asset, destination: 'erp' })),
    { batchSizes: sizes, initial: new Map([[asset.erpAssetId, { location: stored }]]) },
  );
  return writtenPerBatch(r.perStep, sizes).map(where);
}

/** Both forms from `stored` under `zones`, the state through JSON after each event, then the end of the input. */
function bothForms(stored: LocationSyncState, zones: readonly Zone[], events: readonly PositionEvent[], lateness = 0, flushAt?: number) {
  const pure = createLocationSyncRule(options(zones, lateness));
  const steps: OracleStep[] = [{ load: asset, state: stored }, ...events.flatMap((event): OracleStep[] => [{ event, asset }, { roundTrip: asset }])];
  if (flushAt !== undefined) steps.push({ flush: T0 + flushAt * 1000, asset });
  steps.push({ flush: undefined, asset });
  return compareOwned(pure, ownedLocationSync(pure, options(zones, lateness)), steps).delivered.map(where);
}
const ones = (n: number) => Array.from({ length: n }, () => 1);

/** A property's walk after the restart under `zones` from `stored`, both forms alike (a round trip through JSON where it says, idle watermarks where it has them): what they deliver. */
function resumed(stored: LocationSyncState, zones: readonly Zone[], lateness: number, arrived: readonly { readonly s: { readonly cut: boolean; readonly watermark?: number | undefined }; readonly e: PositionEvent }[]): readonly DeliveryIntent[] {
  const steps: OracleStep[] = [{ load: asset, state: stored }];
  for (const { s, e } of arrived) {
    steps.push({ event: e, asset });
    if (s.cut) steps.push({ roundTrip: asset });
    if (s.watermark !== undefined) steps.push({ flush: e.receivedAt + s.watermark * 1000, asset });
  }
  steps.push({ flush: undefined, asset });
  const pure = createLocationSyncRule(options(zones, lateness));
  return compareOwned(pure, ownedLocationSync(pure, options(zones, lateness)), steps).delivered;
}

/**
 * Whether an update's coordinates agree with its code under the zones now configured: the yard's
 * code (old or new) only within the yard and its band; no code outside the yard when the yard is
 * configured (under any name).
 */
function agrees(d: DeliveryIntent, zones: readonly Zone[]): boolean {
  const c = d.payload.coordinates as { lat: number; lng: number } | null;
  if (c === null) return true;
  const m = haversineM(CENTRE, c);
  const code = d.payload.warehouseLocation;
  if (code === '1000/0001' || code === '1000/0002') return m <= RADIUS_M + BAND_M + 1;
  return zones.some((z) => z.shape.type === 'circle' && z.shape.lat === CENTRE.lat && z.shape.lng === CENTRE.lng) ? m > RADIUS_M - 1 : true;
}

describe('location sync: an asset in a zone no longer configured (renamed or removed) after a restart', () => {
  // Parked in the yard (entered at 40 s, sent with the yard's code), stored; the service restarts.
  const parked = () => storedAfter([fix(0, 0), fix(40, 0)]);

  it('sends nothing while it is still in the old zone (the exit dwell), then where its position says: no old code with coordinates outside it', () => {
    const { state, sent } = parked();
    expect(sent.map(where)).toEqual([
      [0, null, 0],
      [40, '1000/0001', 0],
    ]);
    // Driving away after the restart: 600 m off at 610 s, still in the old zone until its exit dwell (60 s from 600 s) is over.
    const away = [fix(600, 0), fix(610, 600), fix(640, 900), fix(670, 1200), fix(700, 1300)];
    for (const zones of Object.values(CONFIGS)) {
      // Was [610, '1000/0001', 600]: the old zone's code 600 m outside it.
      const expected = [[670, null, 1200]];
      expect(erpWrites(state, zones, away, ones(away.length))).toEqual(expected);
      expect(erpWrites(state, zones, away, [2, 3])).toEqual(expected);
      expect(erpWrites(state, zones, away, [away.length])).toEqual(expected);
      expect(bothForms(state, zones, away)).toEqual(expected);
      expect(bothForms(state, zones, away, 30_000)).toEqual(expected);
      // Parked at 900 m with no further fix: the idle watermark decides the exit, dated to the end of
      // the dwell: from the first fix after the restart while it is in the old zone (nothing can be
      // inside it); renamed with the same code, from the first fix beyond the renamed zone (610 s),
      // as for any zone, the asset continuing in it (see continuedRenamed).
      expect(bothForms(state, zones, away.slice(0, 3), 0, 1200)).toEqual([[zones === CONFIGS.renamed ? 670 : 660, null, 900]]);
    }
  });

  it('renamed in place: a machine moving about in it is never sent out and back in; the code it has stands', () => {
    const { state } = parked();
    const about = [fix(600, 0), fix(610, 150), fix(640, 150), fix(670, 20), fix(700, 150)];
    // It continues in the renamed zone (same place, same code) from the first fix after the restart
    // (see continuedRenamed): each move of more than 100 m in it is sent with its code, as before the
    // restart. Was only [700, '1000/0001', 150]: its fixes held (nothing sent) until the old name was
    // left at 660 s, though the zone it was in had only a new name.
    const expected = [
      [610, '1000/0001', 150],
      [670, '1000/0001', 20],
      [700, '1000/0001', 150],
    ];
    expect(erpWrites(state, CONFIGS.renamed, about, ones(about.length))).toEqual(expected);
    expect(bothForms(state, CONFIGS.renamed, about)).toEqual(expected);
    expect(bothForms(state, CONFIGS.renamed, about, 30_000)).toEqual(expected);
    // Renamed with a new code: that code once the old name is left, never a null in between.
    expect(bothForms(state, CONFIGS['renamed and recoded'], about)).toEqual([
      [670, '1000/0002', 20],
      [700, '1000/0002', 150],
    ]);
  });

  it('renamed in place: continues in the renamed zone at the first fix after the restart; a zone of the same code elsewhere is no rename', () => {
    const { state } = parked();
    const next = createLocationSyncRule(options(CONFIGS.renamed)).apply(state, fix(600, 0), ctx).state;
    expect(next.zones).toEqual({ 'yard-north': { phase: 'inside', since: T0 + 600_000 } });
    expect(next.last).toMatchObject({ zone: '1000/0001', zoneName: 'yard-north' });
    // The yard removed, and a zone of its code 10 km north: the position it was parked at is in no
    // zone of that code, so nothing says the yard was renamed. As if it was removed.
    const elsewhere = [{ ...yard('yard-far'), shape: { type: 'circle' as const, lat: 52.59, lng: 13.4, radiusM: RADIUS_M } }, depot];
    const about = [fix(600, 0), fix(610, 150), fix(640, 150), fix(670, 20), fix(700, 150)];
    expect(bothForms(state, elsewhere, about)).toEqual(bothForms(state, CONFIGS.removed, about));
    expect(createLocationSyncRule(options(elsewhere)).apply(state, fix(600, 0), ctx).state.zones).toEqual({ yard: { phase: 'leaving', since: T0 + 600_000 } });
  });

  it('a state stored by a version that sent a stray fix under the old zone loads as it is', () => {
    const { state } = parked();
    const stray: LocationSyncState = { ...state, synced: { ...(state.synced as NonNullable<LocationSyncState['synced']>), eventTime: T0 + 600_000, lng: eastM(600) } };
    expect(bothForms(stray, CONFIGS.removed, [fix(610, 650), fix(640, 700), fix(670, 700)])).toEqual([[670, null, 700]]);
  });
});

describe('location sync: an asset parked in nested zones renamed in place after a restart', () => {
  // The bay (150 m round) in the middle of the yard (200 m round).
  const bay = (name = 'bay', locationCode = '1000/0002', priority = 0): Zone => ({ name, locationCode, priority, shape: { type: 'circle', ...CENTRE, radiusM: 150 } });
  const nested = [yard(), bay(), depot];
  // Parked in the bay (entered at 40 s, sent with the bay's code), stored; the service restarts.
  const parked = () => storedAfter([fix(0, 0), fix(40, 0)], 0, nested).state;
  const about = [fix(600, 0), fix(610, 120), fix(640, 120), fix(670, 10), fix(700, 120)];
  // Each move of more than 100 m in the bay sent with its code, as before the restart.
  const moves = [
    [610, '1000/0002', 120],
    [670, '1000/0002', 10],
    [700, '1000/0002', 120],
  ];

  it('both renamed with their codes kept: continues in both at the first fix, its moves sent, not held for the yard\'s exit dwell', () => {
    const state = parked();
    expect(state.zones).toEqual({ yard: { phase: 'inside', since: T0 }, bay: { phase: 'inside', since: T0 } });
    expect(state.last).toMatchObject({ zone: '1000/0002', zoneName: 'bay' });
    const renamed = [yard('yard-north'), bay('bay-1'), depot];
    const next = createLocationSyncRule(options(renamed)).apply(state, fix(600, 0), ctx).state;
    // Was { yard: leaving, 'bay-1': inside, 'yard-north': entering }: the yard's old name held the location until its exit dwell was over.
    expect(next.zones).toEqual({ 'yard-north': { phase: 'inside', since: T0 + 600_000 }, 'bay-1': { phase: 'inside', since: T0 + 600_000 } });
    expect(next.last).toMatchObject({ zone: '1000/0002', zoneName: 'bay-1' });
    // Was only [670, '1000/0002', 10] and [700, …]: nothing sent until the old yard was left at 660 s.
    expect(bothForms(state, renamed, about)).toEqual(moves);
    expect(bothForms(state, renamed, about, 30_000)).toEqual(moves);
    expect(erpWrites(state, renamed, about, ones(about.length))).toEqual(moves);
    // Driving out: the exit of the renamed bay and yard timed as any zone's.
    expect(bothForms(state, renamed, [fix(600, 0), fix(610, 400), fix(640, 900), fix(680, 1000)])).toEqual([[680, null, 1000]]);
  });

  it('the yard renamed alone: continues in it, the bay placing the asset as before', () => {
    const state = parked();
    const renamed = [yard('yard-north'), bay(), depot];
    expect(createLocationSyncRule(options(renamed)).apply(state, fix(600, 0), ctx).state.zones).toEqual({ 'yard-north': { phase: 'inside', since: T0 + 600_000 }, bay: { phase: 'inside', since: T0 } });
    expect(bothForms(state, renamed, about)).toEqual(moves);
  });

  it('a new zone that would place the asset in another location with no dwell is no rename: the location held until the old names are left, as before', () => {
    const state = parked();
    // The yard removed, the bay renamed, and a zone of another code that ranks first (priority 1) added over them.
    const area = (name: string): Zone => ({ name, locationCode: '3000/0001', priority: 1, shape: { type: 'circle', ...CENTRE, radiusM: 300 } });
    const changed = [area('area'), bay('bay-1'), depot];
    const next = createLocationSyncRule(options(changed)).apply(state, fix(600, 0), ctx).state;
    // Neither old name continued (the bay's was before, the yard's holding the location all the same): the same updates.
    expect(next.zones).toEqual({ yard: { phase: 'leaving', since: T0 + 600_000 }, bay: { phase: 'leaving', since: T0 + 600_000 }, 'bay-1': { phase: 'entering', since: T0 + 600_000 }, area: { phase: 'entering', since: T0 + 600_000 } });
    // The new area's code once the old names are left (their exit dwell) and it is entered (its enter dwell).
    expect(bothForms(state, changed, about)).toEqual([
      [670, '3000/0001', 10],
      [700, '3000/0001', 120],
    ]);
  });
});

describe('location sync across a restart that renamed nested zones: coordinates never contradict the code (property)', () => {
  const BAY_M = 100;
  const bay = (name = 'bay', locationCode = '1000/0002'): Zone => ({ name, locationCode, priority: 0, shape: { type: 'circle', ...CENTRE, radiusM: BAY_M } });
  const before = [yard(), bay(), depot];
  const configs: readonly (readonly Zone[])[] = [
    [yard('yard-north'), bay('bay-1'), depot],
    [yard('yard-north'), bay(), depot],
    [yard(), bay('bay-1'), depot],
    [yard('yard-north'), bay('bay-1', '1000/0003'), depot],
    [bay('bay-1'), depot],
  ];
  /** The bay's code (old or new) only within the bay and its band, the yard's within the yard and its band, none inside the yard while it is configured. */
  const agrees = (d: DeliveryIntent, zones: readonly Zone[]): boolean => {
    const c = d.payload.coordinates as { lat: number; lng: number } | null;
    if (c === null) return true;
    const m = haversineM(CENTRE, c);
    const code = d.payload.warehouseLocation;
    if (code === '1000/0002' || code === '1000/0003') return m <= BAY_M + BAND_M + 1;
    if (code === '1000/0001') return m <= RADIUS_M + BAND_M + 1;
    return zones.some((z) => z.locationCode === '1000/0001') ? m > RADIUS_M - 1 : m > BAY_M - 1;
  };

  it('for any walk, lateness, arrival order, restart point and new zone set; both forms alike', () => {
    fc.assert(
      fc.property(fc.array(walkStep, { minLength: 2, maxLength: 40 }), fc.constantFrom(0, 30_000), fc.nat(), fc.nat(configs.length - 1), (walk, lateness, restartAt, which) => {
        let t = 0;
        const timed = walk.map((x) => ({ s: x, e: fix((t += x.dt), x.m, t + (lateness > 0 ? x.delay : 0)) }));
        const arrived = [...timed].sort((x, y) => x.e.receivedAt - y.e.receivedAt);
        const cut = 1 + (restartAt % (arrived.length - 1));
        const { state, sent } = storedAfter(
          arrived.slice(0, cut).map((x) => x.e),
          lateness,
          before,
        );
        const zones = configs[which] as readonly Zone[];
        const after = resumed(state, zones, lateness, arrived.slice(cut));
        for (const d of sent.slice(1)) expect(agrees(d, before), JSON.stringify(where(d))).toBe(true);
        for (const d of sent.length === 0 ? after.slice(1) : after) expect(agrees(d, zones), JSON.stringify(where(d))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('location sync: a fix waiting in the reorder window over a restart that renamed its zone', () => {
  const bay = (name: string): Zone => ({ name, locationCode: '1000/0002', priority: 0, shape: { type: 'circle', ...CENTRE, radiusM: 100 } });
  // Driving into the bay from 0 s; the fixes of 20-40 s still wait for the 30 s lateness when the service stops.
  const before = [fix(-100, 2000), fix(-60, 2000), fix(0, 0), fix(10, 0), fix(20, 0), fix(30, 0), fix(40, 0)];
  const stored = () => {
    const rule = createLocationSyncRule(options([bay('bay')], 30_000));
    let state: LocationSyncState | undefined;
    for (const e of before) state = rule.apply(state, e, ctx).state;
    return JSON.parse(JSON.stringify(state)) as LocationSyncState;
  };

  it('is located again by the zones now configured: in the renamed zone, never sent as in no zone', () => {
    const state = stored();
    expect(state.order?.pending.map((p) => [(p.t - T0) / 1000, p.in])).toEqual([[20, ['bay']], [30, ['bay']], [40, ['bay']]]);
    const after = [50, 60, 70, 80, 90, 100].map((t) => fix(t, 0));
    // Was [20, null, 0]: no location code, its coordinates in the bay's middle.
    const expected = [[50, '1000/0002', 0]]; // entering the renamed bay since 20 s (its own dwell)
    expect(bothForms(state, [bay('bay-2')], after, 30_000)).toEqual(expected);
    expect(erpWrites(state, [bay('bay-2')], [...after, fix(200, 0)], ones(after.length + 1), 30_000)).toEqual(expected);
    expect(erpWrites(state, [bay('bay-2')], [...after, fix(200, 0)], [3, 4], 30_000)).toEqual(expected);
  });

  it('removed: the fixes waiting are in no zone, and send what their position says', () => {
    expect(bothForms(stored(), [depot], [fix(50, 0), fix(60, 0)], 30_000)).toEqual([[20, null, 0]]);
  });
});

describe('location sync: a fix waiting in the reorder window over a restart that reshaped its zone (same name)', () => {
  const bay = (radiusM: number): Zone => ({ name: 'bay', locationCode: '1000/0002', priority: 0, shape: { type: 'circle', ...CENTRE, radiusM } });
  // Driving into the bay (100 m round) and stopping 60 m from its centre; the fixes of 20-40 s still wait for the 30 s lateness when the service stops.
  const before = [fix(-100, 2000), fix(-60, 2000), fix(0, 60), fix(10, 60), fix(20, 60), fix(30, 60), fix(40, 60)];
  const stored = (radiusM: number) => {
    const rule = createLocationSyncRule(options([bay(radiusM)], 30_000));
    let state: LocationSyncState | undefined;
    for (const e of before) state = rule.apply(state, e, ctx).state;
    return JSON.parse(JSON.stringify(state)) as LocationSyncState;
  };
  const after = [50, 60, 70, 80, 90, 100].map((t) => fix(t, 60));

  it('shrunk: they are located again by its new shape, and never send its code from outside it', () => {
    const state = stored(100);
    expect(state.order?.pending.map((p) => [(p.t - T0) / 1000, p.in])).toEqual([[20, ['bay']], [30, ['bay']], [40, ['bay']]]);
    // The bay is now 30 m round (its band to 55 m): 60 m from its centre is outside it.
    // Was [30, '1000/0002', 60]: entered by the fixes located by its old shape, its code sent from 60 m, outside it.
    const expected = [[20, null, 60]];
    expect(bothForms(state, [bay(30)], after, 30_000)).toEqual(expected);
    expect(erpWrites(state, [bay(30)], [...after, fix(200, 60)], ones(after.length + 1), 30_000)).toEqual(expected);
    expect(erpWrites(state, [bay(30)], [...after, fix(200, 60)], [3, 4], 30_000)).toEqual(expected);
    // Located by the zones now configured: the state says so, and the owned form holds it in its columns again.
    const pure = createLocationSyncRule(options([bay(30)], 30_000));
    const next = pure.apply(state, fix(50, 60), ctx).state;
    expect(next.order?.pending.map((p) => p.in)).toEqual([undefined, undefined, undefined]);
    expect(next.located).toBe(options([bay(30)]).zones?.index.fingerprint);
    expect(next.located).not.toBe(state.located);
  });

  it('unchanged: the fixes waiting are taken as they were located (the same updates as with no restart)', () => {
    const state = stored(100);
    expect(state.located).toBe(options([bay(100)]).zones?.index.fingerprint);
    const expected = [[30, '1000/0002', 60]];
    expect(bothForms(state, [bay(100)], after, 30_000)).toEqual(expected);
  });

  it('a state stored before the zones locating its waiting fixes were kept: they are located again, once', () => {
    // What that version stored: the waiting fixes, with no `located`.
    const { located, ...legacy } = stored(100);
    expect(located).toBeDefined();
    expect(legacy.order?.pending.map((p) => p.in)).toEqual([['bay'], ['bay'], ['bay']]);
    // Unchanged zones: the same updates as with no restart.
    expect(bothForms(legacy, [bay(100)], after, 30_000)).toEqual([[30, '1000/0002', 60]]);
    // The bay shrunk since (30 m round: 60 m from its centre is outside it and its band): nothing enters
    // it, as for a state that says the old shape located them. Was [30, '1000/0002', 60]: the fixes taken
    // as located by the zones now configured, the bay's code sent from outside it.
    expect(bothForms(legacy, [bay(30)], after, 30_000)).toEqual([[20, null, 60]]);
    const next = createLocationSyncRule(options([bay(30)], 30_000)).apply(legacy, fix(50, 60), ctx).state;
    expect(next.order?.pending.map((p) => p.in)).toEqual([undefined, undefined, undefined]);
    expect(next.located).toBe(options([bay(30)]).zones?.index.fingerprint);
    // The owned form gives such a state to the pure rule (its columns hold waiting fixes only with `located`), once.
    const owned = ownedLocationSync(createLocationSyncRule(options([bay(30)], 30_000)), options([bay(30)], 30_000));
    owned.load(0, legacy);
    owned.apply(0, fix(50, 60), ctx, []);
    owned.apply(0, fix(60, 60), ctx, []);
    expect(owned.fallbacks).toBe(1);
    expect((owned.save(0) as LocationSyncState).located).toBe(next.located);
  });
});

describe('location sync: fixes waiting in the reorder window over a restart that only reordered the zones', () => {
  // The bay (100 m round) in the middle of the yard: fixes there are in both.
  const bay: Zone = { name: 'bay', locationCode: '1000/0002', priority: 0, shape: { type: 'circle', ...CENTRE, radiusM: 100 } };
  const before = [yard(), bay, depot];
  const reordered = [depot, bay, yard()];
  const stored = () => {
    const rule = createLocationSyncRule(options(before, 30_000));
    let state: LocationSyncState | undefined;
    for (const e of [fix(-100, 2000), fix(-60, 2000), fix(0, 0), fix(10, 0), fix(20, 0), fix(30, 0), fix(40, 0)]) state = rule.apply(state, e, ctx).state;
    return JSON.parse(JSON.stringify(state)) as LocationSyncState;
  };

  it('are taken as they were located: the order of the zones places no position', () => {
    const state = stored();
    expect(state.order?.pending.map((p) => p.in)).toEqual([['yard', 'bay'], ['yard', 'bay'], ['yard', 'bay']]);
    const next = createLocationSyncRule(options(reordered, 30_000)).apply(state, fix(50, 0), ctx).state;
    // Was located again (the names in the new order) and stored with another `located`.
    expect(next.located).toBe(state.located);
    // The fixes of 30 and 40 s as stored; the one of 50 s located on arrival, its names in the order configured now.
    expect(next.order?.pending.map((p) => p.in)).toEqual([['yard', 'bay'], ['yard', 'bay'], ['bay', 'yard']]);
    // The owned form holds the state in its columns: no fix goes to the pure rule to be located again.
    const owned = ownedLocationSync(createLocationSyncRule(options(reordered, 30_000)), options(reordered, 30_000));
    owned.load(0, state);
    owned.apply(0, fix(50, 0), ctx, []);
    expect(owned.fallbacks).toBe(0);
    // And the same updates as under the order they were stored with.
    const after = [50, 60, 70, 80, 90, 100].map((t) => fix(t, 0));
    expect(bothForms(state, reordered, after, 30_000)).toEqual(bothForms(state, before, after, 30_000));
  });
});

describe('location sync across a restart that renamed or removed a zone: coordinates never contradict the code (property)', () => {
  it('for any walk, lateness, arrival order, restart point and new zone set; both forms alike', () => {
    const step = walkStep;
    const configs = Object.values(CONFIGS);
    fc.assert(
      fc.property(fc.array(step, { minLength: 2, maxLength: 40 }), fc.constantFrom(0, 30_000), fc.nat(), fc.constantFrom(0, 1, 2), (walk, lateness, restartAt, which) => {
        let t = 0;
        const timed = walk.map((s) => ({ s, e: fix((t += s.dt), s.m, t + (lateness > 0 ? s.delay : 0)) }));
        const arrived = [...timed].sort((x, y) => x.e.receivedAt - y.e.receivedAt);
        const cut = 1 + (restartAt % (arrived.length - 1));
        // Under the old zones up to the restart (the state stored as JSON), then under the new ones.
        const old = storedAfter(
          arrived.slice(0, cut).map((x) => x.e),
          lateness,
        );
        const zones = configs[which] as readonly Zone[];
        const after = resumed(old.state, zones, lateness, arrived.slice(cut));
        // The asset's first fix is sent wherever it is (nothing to keep); every update after it agrees.
        for (const d of old.sent.slice(1)) expect(agrees(d, BEFORE), JSON.stringify(where(d))).toBe(true);
        for (const d of old.sent.length === 0 ? after.slice(1) : after) expect(agrees(d, zones), JSON.stringify(where(d))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
