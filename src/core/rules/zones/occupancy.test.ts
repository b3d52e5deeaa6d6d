import { describe, expect, it } from 'vitest';
import type { Zone } from './geometry.js';
import { unconfiguredZoneOccupancy, zoneOccupancy } from './occupancy.js';
import { zoneOfState } from './tracking.js';
import { ZoneIndex } from './zone-index.js';
import type { ZoneTrackState } from './zone-tracker.js';

const circle = (name: string, locationCode: string, lat: number, radiusM: number, priority = 0): Zone => ({ name, locationCode, priority, shape: { type: 'circle', lat, lng: 13.4, radiusM } });
const indexOf = (zones: readonly Zone[]) => new ZoneIndex(zones, { hysteresisM: 25 });

describe('zone occupancy', () => {
  const zones = [circle('YARD-A', '1000/0001', 52.5, 200), circle('WORKSHOP', '1000/0009', 52.6, 200), circle('EMPTY', '1000/0010', 52.7, 200)];

  const tracking = new Map<string, ZoneTrackState | undefined>([
    ['EQ-2', { 'YARD-A': { phase: 'inside' as const, since: 10 } }],
    ['EQ-1', { 'YARD-A': { phase: 'leaving' as const, since: 30 }, WORKSHOP: { phase: 'entering' as const, since: 40 } }],
    ['EQ-3', { 'YARD-A': { phase: 'entering' as const, since: 50 } }],
    ['EQ-4', { GONE: { phase: 'inside' as const, since: 5 } }], // a zone no longer configured
    ['EQ-6', { GONE: { phase: 'entering' as const, since: 7 }, 'OLD-DOCK': { phase: 'leaving' as const, since: 8 } }],
    ['EQ-5', undefined],
  ]);

  it('counts confirmed entries until the confirmed exit; arrivals apart', () => {
    const occ = zoneOccupancy(indexOf(zones), tracking);
    expect(occ.map((o) => [o.zone, o.inside, o.entering, o.leaving])).toEqual([
      ['YARD-A', 2, 1, 1],
      ['WORKSHOP', 0, 1, 0],
      ['EMPTY', 0, 0, 0],
    ]);
    expect(occ[0]?.assets.map((a) => `${a.erpAssetId}:${a.phase}`)).toEqual(['EQ-2:inside', 'EQ-1:leaving', 'EQ-3:entering']);
  });

  it('zones the stored state names that are no longer configured, by name, with who is still in them', () => {
    // EQ-6 is still in OLD-DOCK (leaving it): its entry into GONE, no longer configured, can never complete.
    expect(unconfiguredZoneOccupancy(indexOf(zones), tracking).map((o) => [o.zone, o.inside, o.entering, o.leaving, o.assets.map((a) => a.erpAssetId)])).toEqual([
      ['GONE', 1, 0, 0, ['EQ-4']],
      ['OLD-DOCK', 1, 0, 1, ['EQ-6']],
    ]);
    expect(unconfiguredZoneOccupancy(indexOf([...zones, circle('GONE', 'x', 53, 100), circle('OLD-DOCK', 'y', 53.1, 100)]), tracking)).toEqual([]);
  });
});

describe('zone occupancy where zones overlap', () => {
  // WORKSHOP lies within YARD; COMPOUND holds both and outranks them by priority.
  const yard = circle('YARD', '1000/0001', 52.5, 500);
  const workshop = circle('WORKSHOP', '1000/0009', 52.5, 50);
  const compound = circle('COMPOUND', '1000/0100', 52.5, 2000, 5);
  const inside = (since: number) => ({ phase: 'inside' as const, since });

  it('counts an asset once, in the zone location sync sends (the smallest of equal priority), and lists it apart in the others', () => {
    const index = indexOf([yard, workshop]);
    const tracking = new Map<string, ZoneTrackState | undefined>([
      ['EQ-1', { YARD: inside(10), WORKSHOP: inside(20) }],
      ['EQ-2', { YARD: inside(10) }],
      // Still leaving the workshop: the ERP has it there until the exit is confirmed.
      ['EQ-3', { YARD: inside(10), WORKSHOP: { phase: 'leaving', since: 40 } }],
    ]);
    const occ = zoneOccupancy(index, tracking);
    expect(occ.map((o) => [o.zone, o.inside, o.leaving, o.assets.map((a) => a.erpAssetId), o.elsewhere.map((a) => `${a.erpAssetId}→${a.locatedIn}`)])).toEqual([
      ['YARD', 1, 0, ['EQ-2'], ['EQ-1→WORKSHOP', 'EQ-3→WORKSHOP']],
      ['WORKSHOP', 2, 1, ['EQ-1', 'EQ-3'], []],
    ]);
    // The totals count each asset once, each where zoneOfState (location sync, inventory) places it.
    expect(occ.reduce((n, o) => n + o.inside, 0)).toBe(3);
    for (const [id, state] of tracking) expect(occ.find((o) => o.assets.some((a) => a.erpAssetId === id))?.zone).toBe((zoneOfState(index, state) as Zone).name);
  });

  it('a higher priority wins over the smaller zone; an asset arriving in overlapping zones arrives in one', () => {
    const occ = zoneOccupancy(indexOf([yard, workshop, compound]), new Map<string, ZoneTrackState | undefined>([
      ['EQ-1', { YARD: inside(10), WORKSHOP: inside(20), COMPOUND: inside(5) }],
      ['EQ-2', { YARD: { phase: 'entering', since: 50 }, WORKSHOP: { phase: 'entering', since: 50 } }],
      // Inside the compound and entering the yard: it stays at the compound's code once in the yard.
      ['EQ-3', { COMPOUND: inside(5), YARD: { phase: 'entering', since: 60 } }],
    ]));
    expect(occ.map((o) => [o.zone, o.inside, o.entering, o.assets.map((a) => a.erpAssetId)])).toEqual([
      ['YARD', 0, 0, []],
      ['WORKSHOP', 0, 1, ['EQ-2']],
      ['COMPOUND', 2, 0, ['EQ-1', 'EQ-3']],
    ]);
  });

  it('an asset still in a zone no longer configured counts where its rule placed it last', () => {
    const index = indexOf([yard, workshop]);
    const tracking = new Map<string, ZoneTrackState | undefined>([['EQ-1', { 'OLD-YARD': inside(5), YARD: inside(10) }]]);
    // Location sync sent OLD-YARD and keeps it until the asset has left it.
    expect(unconfiguredZoneOccupancy(index, tracking, new Map([['EQ-1', 'OLD-YARD']])).map((o) => [o.zone, o.inside, o.elsewhere.length])).toEqual([['OLD-YARD', 1, 0]]);
    expect(zoneOccupancy(index, tracking, new Map([['EQ-1', 'OLD-YARD']])).map((o) => [o.zone, o.inside, o.elsewhere.map((a) => a.locatedIn)])).toEqual([
      ['YARD', 0, ['OLD-YARD']],
      ['WORKSHOP', 0, []],
    ]);
    // It had been sent YARD (OLD-YARD, then configured, ranked below it): it stays counted there.
    expect(zoneOccupancy(index, tracking, new Map([['EQ-1', 'YARD']])).map((o) => [o.zone, o.inside])).toEqual([
      ['YARD', 1],
      ['WORKSHOP', 0],
    ]);
  });
});
